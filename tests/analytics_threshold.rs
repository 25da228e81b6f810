#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    clippy::cast_possible_wrap
)]
//! The analytics on the real threshold path: three parties with additive shares generate the
//! collective public, relinearisation and Galois keys at the composite-scaling preset
//! `n32768_depth5_scale104`, ten agencies submit (encrypt under the collective key, sign), the
//! node runs the blinded correlation protocol (`analytics::correlation`, depth 4), and each
//! declared output (`u = ρ²V`, then `r`) is decrypted collectively with λ = 40 smudging:
//! r = 0.3356 within 1e-3 (the data README's figure), released with at least 10 bits of
//! public precision estimate (made before any share).

mod threshold_support;

use ed25519_dalek::SigningKey;
use migrationfhe::analytics::correlation;
use migrationfhe::analytics::data::{AbelSander, Indicator, Wdi};
use migrationfhe::analytics::stats::{self, StatsSpec};
use migrationfhe::analytics::{CkksBackend, CkksEncryptor, Decryptor, Encryptor, Submission};
use migrationfhe::ckks::{self, Preset};
use migrationfhe::threshold::{CkksDecryption, DecryptionPolicy};
use rand_core::SeedableRng;
use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;
use threshold_support::Group;

struct Collective {
    params: Arc<ckks::Parameters>,
    group: RefCell<Group>,
    precision: RefCell<Vec<f64>>,
}

impl Decryptor<CkksBackend> for Collective {
    fn decrypt(&self, ct: &ckks::Ciphertext) -> migrationfhe::Result<Vec<f64>> {
        let mut g = self.group.borrow_mut();
        let set = g.all();
        // λ = 40; no precision floor here (u is large: its absolute error is large, its
        // relative error small), the test checks r's estimate below.
        let policy = DecryptionPolicy::default().with_min_precision_bits(f64::NEG_INFINITY);
        let dec = CkksDecryption::new(&self.params, ct, &set, &policy)?;
        self.precision
            .borrow_mut()
            .push(dec.estimated_precision_bits());
        let mut shares = Vec::new();
        for i in 0..g.secrets.len() {
            let a = g.secrets[i].active(&set)?;
            let Group { logs, rng, .. } = &mut *g;
            shares.push(a.decryption_share(dec.input(), &mut logs[i], rng)?);
        }
        let pt = dec.combine(&set, &shares)?;
        Ok(self.params.decode(&pt)?.iter().map(|z| z.re).collect())
    }
}

#[test]
fn blinded_correlation_threshold_composite_preset() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data");
    let d = AbelSander::load(&dir).unwrap();
    let w = Wdi::load(&dir).unwrap();
    let s = StatsSpec::abel_sander_wdi(
        "threshold test 2005-2010",
        &d,
        &w,
        3,
        &[Indicator::UrbanPopulation],
        (300.0, 30_000.0),
    );
    let params = ckks::Parameters::preset(Preset::N32768Depth5Scale104).unwrap();
    assert!(params.depth() >= correlation::DEPTH);
    let mut g = Group::new(params.rlwe(), 3, 7);
    let set = g.all();
    let pk = ckks::PublicKey::from_rlwe(&g.public_key(&set, b"analytics/pk"));
    let rlk = g.relin_key(&set, b"analytics/rlk");
    let mut galois = ckks::GaloisKeys::default();
    for k in correlation::plan_rotations(&s, params.slots()).unwrap() {
        let e = params.rotation_element(k as i64);
        galois.insert(g.galois_key(&set, e, b"analytics/galois"));
    }
    let be = CkksBackend::new(&params, galois, Some(rlk));
    let enc = CkksEncryptor::new(&params, pk);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
    let mut subs = Vec::new();
    for a in 0..s.agencies.len() {
        let key = SigningKey::from_bytes(&[a as u8 + 7; 32]);
        let rho = correlation::blinding_value(&mut rng);
        for (label, v) in [
            (
                stats::flow_label(&s),
                stats::flow_contribution(&s, a, &d.flows[3]).unwrap(),
            ),
            (
                correlation::blinding_label(&s),
                correlation::blinding_contribution(rho),
            ),
        ] {
            let ct = enc.encrypt(&v, &mut rng).unwrap();
            subs.push(Submission::sign(
                &be,
                &s.analysis,
                &s.agencies[a].0,
                &label,
                vec![ct],
                &key,
            ));
        }
    }
    let dec = Collective {
        params: Arc::clone(&params),
        group: RefCell::new(g),
        precision: RefCell::new(Vec::new()),
    };
    let (res, p) = correlation::run(&be, &dec, &s, &subs).unwrap();
    let plain = stats::plain_stats(&s, &d.flows[3]).unwrap();
    println!(
        "threshold (3 parties) blinded correlation: r = {:.6} (plain {:.6}), estimated precision of u and r: {:?} bits",
        res.r,
        plain.correlation,
        dec.precision.borrow()
    );
    assert!((res.r - 0.3356).abs() < 1e-3, "r = {}", res.r);
    assert!((res.r - plain.correlation).abs() < 1e-3, "r = {}", res.r);
    // r is decrypted with at least 10 bits of public precision.
    assert!(dec.precision.borrow()[1] >= 10.0, "{:?}", dec.precision);
    correlation::verify(&be, &s, &subs, res.blinded_variance, &p.transcript).unwrap();
    // The node cannot get anything else decrypted: a ciphertext that is not a declared output
    // of the transcript is refused before any share is made.
    let mut forged = p.correlation.clone().unwrap();
    forged.name = "correlation/other".into();
    assert!(migrationfhe::analytics::open_output(&be, &dec, &p.transcript, &forged).is_err());
}
