#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss
)]
//! CHECK at real encryption: Pearson r between ln GDP per capita 2005 and the Abel–Sander net
//! migration rate 2005–2010 per 1,000 = 0.3356 over 179 countries, within 1e-3
//! (n32768_depth15_scale40; only r is decrypted).

use ed25519_dalek::SigningKey;
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
