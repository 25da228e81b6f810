#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss
)]
//! PageRank of the Abel–Sander 2005–2010 flows, 7 encrypted power iterations at
//! n32768_depth15_scale40 against plain f64 (absolute tolerance 1e-6, same top 10).

mod pagerank_support;

use migrationfhe::analytics::graph::{self, PageRankResults};
use migrationfhe::analytics::PlainReal;
use migrationfhe::analytics::SlotBackend;
use pagerank_support::{data, spec, submit, top10};
use rand_core::SeedableRng;

/// Seven iterations at n32768_depth15_scale40 (2 levels per iteration).
#[test]
fn pagerank_ckks_depth15_seven_iterations() {
    use migrationfhe::analytics::{CkksBackend, CkksEncryptor, CkksSecretKeyDecryptor};
    use migrationfhe::ckks::{self, Parameters, Preset};
    use migrationfhe::rlwe::{RelinearizationKey, SecretKey};
    let d = data();
    let s = spec(&d, 7);
    let params = Parameters::preset(Preset::N32768Depth15Scale40).unwrap();
    let plain = PlainReal::new(params.slots());
    graph::evaluate(&plain, &s, &submit(&plain, &plain, &s, &d.flows[3])).unwrap();
    let steps: Vec<i64> = plain
        .counter()
        .rotation_steps()
        .iter()
        .map(|&k| k as i64)
        .collect();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(6);
    let sk = SecretKey::generate(params.rlwe(), &mut rng).unwrap();
    let pk = ckks::PublicKey::generate(&sk, &mut rng).unwrap();
    let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
    let gk = ckks::GaloisKeys::generate(&params, &sk, &steps, false, &mut rng).unwrap();
    let be = CkksBackend::new(&params, gk, Some(rlk));
    let subs = submit(&be, &CkksEncryptor::new(&params, pk), &s, &d.flows[3]);
    let t = std::time::Instant::now();
    let eval = graph::evaluate(&be, &s, &subs).unwrap();
    println!("depth15 7 iterations {:?}: {}", t.elapsed(), eval.counts);
    let res = PageRankResults::open(&be, &CkksSecretKeyDecryptor::new(&params, sk), &eval).unwrap();
    let want = graph::plain_pagerank(&d.flows[3], d.n(), 0.85, 7);
    let err = res
        .scores
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    // Stated tolerance: absolute 1e-6 on every score (scores sum to 1, each >= 0.15/196).
    println!("max absolute error {err:.3e}");
    assert!(err < 1e-6, "max absolute error {err}");
    assert_eq!(res.ranking[..10], top10(&want)[..]);
    // One more iteration than the levels allow is refused.
    let s8 = spec(&d, 8);
    let e = graph::evaluate(&be, &s8, &subs);
    assert!(e.unwrap_err().to_string().contains("levels"));
}
