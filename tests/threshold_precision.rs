//! CKKS precision after threshold decryption at scales 2^40 and 2^50 (N = 2^14, 3 and 10
//! parties, fresh encryptions under the collective key, 8192 values uniform in [-1, 1]):
//! measured and publicly estimated, at the default lambda = 40 and, for context, with the
//! explicitly insecure lambda = 0 and without smudging. The figures are printed (run with
//! `--nocapture`) and recorded in docs/THRESHOLD.md; the test checks that every measured error
//! stays within the public estimate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

mod threshold_support;

use migrationfhe::ckks;
use migrationfhe::error::{Error, ThresholdError};
use migrationfhe::params::SecurityLevel;
use migrationfhe::threshold::{CkksDecryption, DecryptionPolicy};
use std::sync::Arc;
use threshold_support::Group;

fn scale50() -> Arc<ckks::Parameters> {
    ckks::Parameters::builder()
        .degree(1 << 14)
        .first_prime_bits(60)
        .scale_bits(50)
        .levels(4)
        .special_prime_bits(60)
        .special_primes(2)
        .dnum(3)
        .security(SecurityLevel::Classic128)
        .build()
        .unwrap()
}

fn run(params: &Arc<ckks::Parameters>, parties: u32) {
    let mut g = Group::new(params.rlwe(), parties, 4000 + u64::from(parties));
    let set = g.all();
    let pk = ckks::PublicKey::from_rlwe(&g.public_key(&set, b"prec/pk"));
    let slots = params.slots();
    let x: Vec<f64> = (0..slots)
        .map(|j| ((j as u64 * 2_654_435_761) % 1_000_003) as f64 / 500_001.5 - 1.0)
        .collect();
    // The default policy refuses: no precision would be left.
    let ct = ckks::encrypt(
        params,
        &pk,
        &params.encode_real_top(&x).unwrap(),
        &mut g.rng,
    )
    .unwrap();
    assert!(matches!(
        CkksDecryption::new(params, &ct, &set, &DecryptionPolicy::default()),
        Err(Error::Threshold(ThresholdError::PrecisionLost { .. }))
    ));
    let policies = [
        ("lambda 40", DecryptionPolicy::default()),
        (
            "lambda 0 (insecure)",
            DecryptionPolicy::insecure_for_testing(0),
        ),
        (
            "no smudging (insecure)",
            DecryptionPolicy::insecure_no_smudging_for_testing(),
        ),
    ];
    for (name, policy) in policies {
        let policy = policy.with_min_precision_bits(f64::NEG_INFINITY);
        let ct = ckks::encrypt(
            params,
            &pk,
            &params.encode_real_top(&x).unwrap(),
            &mut g.rng,
        )
        .unwrap();
        let dec = CkksDecryption::new(params, &ct, &set, &policy).unwrap();
        let shares: Vec<_> = (0..parties as usize)
            .map(|i| {
                g.secrets[i]
                    .active(&set)
                    .unwrap()
                    .decryption_share(dec.input(), &mut g.logs[i], &mut g.rng)
                    .unwrap()
            })
            .collect();
        let got = params.decode(&dec.combine(&set, &shares).unwrap()).unwrap();
        let err = got
            .iter()
            .zip(&x)
            .map(|(a, b)| (a.re - b).abs())
            .fold(0.0, f64::max);
        let bound = dec.output_estimate().max_error(slots);
        eprintln!(
            "scale 2^{} parties {parties} {name}: level {}, smudging {} bits, precision measured {:.1} bits, estimated {:.1} bits",
            params.scale_bits(),
            dec.input().level(),
            dec.input().smudging_bits(),
            -err.log2(),
            dec.estimated_precision_bits()
        );
        assert!(
            err <= bound,
            "{name}: error {err} above the estimate {bound}"
        );
    }
}

#[test]
fn precision_scale40() {
    let params = ckks::Parameters::preset(ckks::Preset::N16384Depth5Scale40).unwrap();
    run(&params, 3);
    run(&params, 10);
}

#[test]
fn precision_scale50() {
    let params = scale50();
    run(&params, 3);
    run(&params, 10);
}
