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

use ed25519_dalek::SigningKey;
use migrationfhe::analytics::data::AbelSander;
use migrationfhe::analytics::graph::{self, DiagonalLayout, PageRankResults, PageRankSpec};
use migrationfhe::analytics::{Encryptor, PlainReal, SlotBackend, Submission};
use rand_core::SeedableRng;
use std::path::PathBuf;

fn data() -> AbelSander {
    AbelSander::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")).unwrap()
}

fn spec(d: &AbelSander, iterations: usize) -> PageRankSpec {
    let regions = d.region_of();
    PageRankSpec {
        analysis: "test pagerank".into(),
        label: "2005-2010".into(),
        n: d.n(),
        agencies: (0..10)
            .map(|r| {
                (
                    format!("agency-{r}"),
                    (0..d.n()).filter(|&i| regions[i] == r).collect(),
                )
            })
            .collect(),
        damping: 0.85,
        iterations,
    }
}

fn submit<B: SlotBackend<Value = f64>, E: Encryptor<B>>(
    be: &B,
    enc: &E,
    spec: &PageRankSpec,
    flows: &[u64],
) -> Vec<Submission<B::Ct>> {
    let layout = DiagonalLayout::new(spec.n, be.slots()).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
    (0..spec.agencies.len())
        .map(|a| {
            let v = graph::contribution(spec, &layout, a, flows).unwrap();
            let cts = v
                .iter()
                .map(|x| enc.encrypt(x, &mut rng).unwrap())
                .collect();
            Submission::sign(
                be,
                &spec.analysis,
                &spec.agencies[a].0,
                &graph::contribution_label(spec),
                cts,
                &SigningKey::from_bytes(&[a as u8 + 11; 32]),
            )
        })
        .collect()
}

fn top10(scores: &[f64]) -> Vec<usize> {
    let mut r: Vec<usize> = (0..scores.len()).collect();
    r.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    r.truncate(10);
    r
}

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
