#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss
)]
//! CHECK at real encryption: Pearson r between ln GDP per capita 2005 and the Abel–Sander net
//! migration rate 2005–2010 per 1,000 = 0.3356 over 179 countries, within 1e-3: through the
//! Chebyshev inverse square root (n32768_depth15_scale40; only r is decrypted) and through the
//! blinded depth-4 protocol of `analytics::correlation` (n16384_depth5_scale40; only the
//! blinded variance and r are decrypted).

use ed25519_dalek::SigningKey;
use migrationfhe::analytics::correlation;
use migrationfhe::analytics::data::{AbelSander, Indicator, Wdi};
use migrationfhe::analytics::stats::{self, StatOutput, StatsResults, StatsSpec};
use migrationfhe::analytics::{
    CkksBackend, CkksEncryptor, CkksSecretKeyDecryptor, Encryptor, PlainReal, SlotBackend,
    Submission,
};
use migrationfhe::ckks::{self, Parameters, Preset};
use migrationfhe::rlwe::{RelinearizationKey, SecretKey};
use rand_core::SeedableRng;
use std::path::PathBuf;
use std::sync::Arc;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
}

fn spec(d: &AbelSander, w: &Wdi) -> StatsSpec {
    StatsSpec::abel_sander_wdi(
        "test stats 2005-2010",
        d,
        w,
        3,
        &[Indicator::UrbanPopulation],
        (300.0, 30_000.0),
    )
}

fn submit<B: SlotBackend<Value = f64>, E: Encryptor<B>>(
    be: &B,
    enc: &E,
    s: &StatsSpec,
    flows: &[u64],
) -> Vec<Submission<B::Ct>> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let mut subs = Vec::new();
    for a in 0..s.agencies.len() {
        let key = SigningKey::from_bytes(&[a as u8 + 40; 32]);
        let f = stats::flow_contribution(s, a, flows).unwrap();
        let r = stats::regressor_contribution(s, a).unwrap();
        for (label, v) in [(stats::flow_label(s), f), (stats::regressor_label(s), r)] {
            let ct = enc.encrypt(&v, &mut rng).unwrap();
            subs.push(Submission::sign(
                be,
                &s.analysis,
                &s.agencies[a].0,
                &label,
                vec![ct],
                &key,
            ));
        }
    }
    subs
}

fn ckks_setup(
    preset: Preset,
    plan: impl FnOnce(&PlainReal),
) -> (
    Arc<Parameters>,
    CkksBackend,
    CkksEncryptor,
    CkksSecretKeyDecryptor,
) {
    let params = Parameters::preset(preset).unwrap();
    let plain = PlainReal::new(params.slots());
    plan(&plain);
    let steps: Vec<i64> = plain
        .counter()
        .rotation_steps()
        .iter()
        .map(|&k| k as i64)
        .collect();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(17);
    let sk = SecretKey::generate(params.rlwe(), &mut rng).unwrap();
    let pk = ckks::PublicKey::generate(&sk, &mut rng).unwrap();
    let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
    let gk = ckks::GaloisKeys::generate(&params, &sk, &steps, false, &mut rng).unwrap();
    let be = CkksBackend::new(&params, gk, Some(rlk));
    let enc = CkksEncryptor::new(&params, pk);
    let dec = CkksSecretKeyDecryptor::new(&params, sk);
    (params, be, enc, dec)
}

#[test]
fn correlation_ckks_depth15() {
    let d = AbelSander::load(&dir()).unwrap();
    let w = Wdi::load(&dir()).unwrap();
    let s = spec(&d, &w);
    let outs = [StatOutput::Correlation];
    let (_, be, enc, dec) = ckks_setup(Preset::N32768Depth15Scale40, |plain| {
        let subs = submit(plain, plain, &s, &d.flows[3]);
        stats::evaluate(plain, &s, &outs, &subs).unwrap();
    });
    let subs = submit(&be, &enc, &s, &d.flows[3]);
    let t = std::time::Instant::now();
    let eval = stats::evaluate(&be, &s, &outs, &subs).unwrap();
    println!(
        "ckks depth15 correlation {:?}: {}",
        t.elapsed(),
        eval.counts
    );
    let res = StatsResults::open(&be, &dec, &s, &eval).unwrap();
    let r = res.correlation.unwrap();
    println!("encrypted r = {r:.6}");
    assert!((r - 0.3356).abs() < 1e-3, "r = {r}");
}

fn submit_blinded<B: SlotBackend<Value = f64>, E: Encryptor<B>>(
    be: &B,
    enc: &E,
    s: &StatsSpec,
    flows: &[u64],
) -> Vec<Submission<B::Ct>> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(21);
    let mut subs = Vec::new();
    for a in 0..s.agencies.len() {
        let key = SigningKey::from_bytes(&[a as u8 + 40; 32]);
        let f = stats::flow_contribution(s, a, flows).unwrap();
        let rho = correlation::blinding_value(&mut rng);
        assert!((1.0..(correlation::BLINDING_EXPONENT).exp2()).contains(&rho));
        let b = correlation::blinding_contribution(rho);
        for (label, v) in [
            (stats::flow_label(s), f),
            (correlation::blinding_label(s), b),
        ] {
            let ct = enc.encrypt(&v, &mut rng).unwrap();
            subs.push(Submission::sign(
                be,
                &s.analysis,
                &s.agencies[a].0,
                &label,
                vec![ct],
                &key,
            ));
        }
    }
    subs
}

#[test]
fn blinded_correlation_plain_standin_matches_plain_r() {
    let d = AbelSander::load(&dir()).unwrap();
    let w = Wdi::load(&dir()).unwrap();
    let s = spec(&d, &w);
    let be = PlainReal::new(16384);
    let subs = submit_blinded(&be, &be, &s, &d.flows[3]);
    let (res, p) = correlation::run(&be, &be, &s, &subs).unwrap();
    let plain = stats::plain_stats(&s, &d.flows[3]).unwrap();
    assert!((res.r - plain.correlation).abs() < 1e-9, "{res:?}");
    assert!((res.r - 0.3356).abs() < 1e-3, "{res:?}");
    // u = ρ²V with ρ >= 10 (ten agencies, each ρ_a >= 1): never the variance itself.
    let v = plain.moments.1;
    assert!(res.blinded_variance >= 100.0 * v * (1.0 - 1e-9), "{res:?}");
    // Exactly two outputs are declared: the blinded variance, then r.
    let outs = p.transcript.outputs();
    assert_eq!(
        outs,
        vec![
            ("corr_blinded_variance/2005-2010".to_owned(), 1),
            ("correlation/2005-2010".to_owned(), 1)
        ]
    );
    correlation::verify(&be, &s, &subs, res.blinded_variance, &p.transcript).unwrap();
    // Another u (e.g. a node that lies about the decryption) does not verify.
    assert!(
        correlation::verify(&be, &s, &subs, res.blinded_variance * 2.0, &p.transcript).is_err()
    );
    // A missing blinding submission is refused.
    let no_blind: Vec<_> = subs
        .iter()
        .filter(|x| !(x.agency == s.agencies[0].0 && x.label.ends_with("blinding")))
        .cloned()
        .collect();
    assert!(correlation::evaluate_blinded(&be, &s, &no_blind).is_err());
}

#[test]
fn blinded_correlation_ckks_depth5() {
    let d = AbelSander::load(&dir()).unwrap();
    let w = Wdi::load(&dir()).unwrap();
    let s = spec(&d, &w);
    let (params, be, enc, dec) = ckks_setup(Preset::N16384Depth5Scale40, |plain| {
        let steps = correlation::plan_rotations(&s, plain.slots()).unwrap();
        for k in steps {
            plain.rotate(&plain.encode(&[]).unwrap(), k).unwrap();
        }
    });
    assert_eq!(params.depth(), 5);
    let subs = submit_blinded(&be, &enc, &s, &d.flows[3]);
    let (res, p) = correlation::run(&be, &dec, &s, &subs).unwrap();
    println!(
        "blinded correlation at depth 5: r = {:.6} ({})",
        res.r, p.counts
    );
    assert!((res.r - 0.3356).abs() < 1e-3, "r = {}", res.r);
    let plain = stats::plain_stats(&s, &d.flows[3]).unwrap();
    // At scale 2^40 the public g = u^(-1/2) (about 2^-25) is encoded with about 15 bits.
    assert!(
        (res.r - plain.correlation).abs() < 3e-4,
        "r = {}, plain {}",
        res.r,
        plain.correlation
    );
    correlation::verify(&be, &s, &subs, res.blinded_variance, &p.transcript).unwrap();
}
