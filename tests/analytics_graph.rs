#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss
)]
//! PageRank of the Abel–Sander 2005–2010 flows: plaintext stand-in (7 iterations) and real
//! CKKS (2 iterations at n16384_depth5_scale40), against plain f64.

mod pagerank_support;

use migrationfhe::analytics::graph::{self, DiagonalLayout, PageRankResults, PageRankSpec};
use migrationfhe::analytics::PlainReal;
use pagerank_support::{data, spec, submit, top10};
use rand_core::SeedableRng;

#[test]
fn pagerank_plain_one_and_two_iterations() {
    let d = data();
    for it in 1..=2 {
        let s = spec(&d, it);
        let be = PlainReal::new(1 << 13);
        let subs = submit(&be, &be, &s, &d.flows[3]);
        let eval = graph::evaluate(&be, &s, &subs).unwrap();
        let res = PageRankResults::open(&be, &be, &eval).unwrap();
        let want = graph::plain_pagerank(&d.flows[3], d.n(), 0.85, it);
        let err = res
            .scores
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-12, "iterations {it}: max error {err}");
    }
}

#[test]
fn pagerank_plain_stand_in_matches_f64() {
    let d = data();
    let s = spec(&d, 7);
    let be = PlainReal::new(1 << 13);
    let subs = submit(&be, &be, &s, &d.flows[3]);
    let eval = graph::evaluate(&be, &s, &subs).unwrap();
    let res = PageRankResults::open(&be, &be, &eval).unwrap();
    let want = graph::plain_pagerank(&d.flows[3], d.n(), 0.85, 7);
    let err = res
        .scores
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(err < 1e-12, "max error {err}");
    assert_eq!(res.ranking[..10], top10(&want)[..]);
    graph::verify(&be, &s, &subs, &eval.transcript).unwrap();
    let conv = graph::plain_pagerank(&d.flows[3], d.n(), 0.85, 200);
    let dist = want
        .iter()
        .zip(&conv)
        .map(|(a, b)| (a - b).abs())
        .sum::<f64>();
    println!(
        "stand-in: {}; L1 distance of 7 iterations to converged: {dist:.3e}; top 10: {:?}",
        eval.counts,
        res.ranking[..10]
            .iter()
            .map(|&i| d.countries[i].iso3.as_str())
            .collect::<Vec<_>>()
    );
}

#[test]
fn pagerank_ckks_depth5_two_iterations() {
    use migrationfhe::analytics::{CkksBackend, CkksEncryptor, CkksSecretKeyDecryptor};
    use migrationfhe::ckks::{self, Parameters, Preset};
    use migrationfhe::rlwe::{RelinearizationKey, SecretKey};
    let d = data();
    let s = spec(&d, 2);
    let params = Parameters::preset(Preset::N16384Depth5Scale40).unwrap();
    let steps: Vec<i64> = graph::plan_rotations(&s, params.slots())
        .unwrap()
        .iter()
        .map(|&k| k as i64)
        .collect();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    let sk = SecretKey::generate(params.rlwe(), &mut rng).unwrap();
    let pk = ckks::PublicKey::generate(&sk, &mut rng).unwrap();
    let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
    let t = std::time::Instant::now();
    let gk = ckks::GaloisKeys::generate(&params, &sk, &steps, false, &mut rng).unwrap();
    println!("{} rotation keys in {:?}", steps.len(), t.elapsed());
    let be = CkksBackend::new(&params, gk, Some(rlk));
    let enc = CkksEncryptor::new(&params, pk);
    let subs = submit(&be, &enc, &s, &d.flows[3]);
    let t = std::time::Instant::now();
    let eval = graph::evaluate(&be, &s, &subs).unwrap();
    println!("ckks evaluate {:?}: {}", t.elapsed(), eval.counts);
    let dec = CkksSecretKeyDecryptor::new(&params, sk);
    let res = PageRankResults::open(&be, &dec, &eval).unwrap();
    let want = graph::plain_pagerank(&d.flows[3], d.n(), 0.85, 2);
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
}

#[test]
fn pagerank_small_many_ciphertexts() {
    let n = 7;
    let flows: Vec<u64> = (0..n * n)
        .map(|k| {
            if k / n == k % n {
                0
            } else {
                ((k * 37) % 11) as u64
            }
        })
        .collect();
    let s = PageRankSpec {
        analysis: "dbg".into(),
        label: "x".into(),
        n,
        agencies: vec![("a".into(), (0..n).collect())],
        damping: 0.85,
        iterations: 2,
    };
    let be = PlainReal::new(32);
    let subs = submit(&be, &be, &s, &flows);
    let eval = graph::evaluate(&be, &s, &subs).unwrap();
    let res = PageRankResults::open(&be, &be, &eval).unwrap();
    let want = graph::plain_pagerank(&flows, n, 0.85, 2);
    assert_eq!(DiagonalLayout::new(n, 32).unwrap().cts, 4);
    for (a, b) in res.scores.iter().zip(&want) {
        assert!((a - b).abs() < 1e-12);
    }
}
