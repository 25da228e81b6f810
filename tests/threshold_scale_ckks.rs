//! Scale (CKKS): collective public and relinearisation keys with 196 parties at N = 2^14
//! (`n16384_depth5_scale40`): a product decrypts correctly
//! at lambda = 40, and the noise measured through an unsmudged collective decryption (the ideal
//! key is never formed) stays within the public collective estimate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

mod threshold_support;

use migrationfhe::ckks;
use migrationfhe::threshold::{CkksDecryption, DecryptionPolicy};
use threshold_support::LeanGroup;

const PARTIES: u32 = 196;

#[test]
fn ckks_196_parties_n16384() {
    let params = ckks::Parameters::preset(ckks::Preset::N16384Depth5Scale40).unwrap();
    let mut g = LeanGroup::new(params.rlwe(), PARTIES, 1960);
    let set = g.all();
    let t0 = std::time::Instant::now();
    let pk = ckks::PublicKey::from_rlwe(&g.public_key(b"scale/pk"));
    let t1 = std::time::Instant::now();
    let rlk = g.relin_key(b"scale/rlk");
    eprintln!("ckks 196: pk {:?} rlk {:?}", t1 - t0, t1.elapsed());
    let slots = params.slots();
    let x: Vec<f64> = (0..slots)
        .map(|j| ((j * 37) % 101) as f64 / 101.0 - 0.5)
        .collect();
    let y: Vec<f64> = (0..slots)
        .map(|j| ((j * 11) % 89) as f64 / 89.0 - 0.5)
        .collect();
    let cx = ckks::encrypt(
        &params,
        &pk,
        &params.encode_real_top(&x).unwrap(),
        &mut g.rng,
    )
    .unwrap();
    let cy = ckks::encrypt(
        &params,
        &pk,
        &params.encode_real_top(&y).unwrap(),
        &mut g.rng,
    )
    .unwrap();
    let ev = ckks::Evaluator::new(&params);
    let prod = ev.mul_relin_rescale(&cx, &cy, &rlk).unwrap();
    let want: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a * b).collect();
    for (ct, w) in [(&cx, &x), (&prod, &want)] {
        let dec = CkksDecryption::new(
            &params,
            ct,
            &set,
            &DecryptionPolicy::insecure_no_smudging_for_testing(),
        )
        .unwrap();
        let shares = g.decryption_shares(dec.input());
        let got = params.decode(&dec.combine(&set, &shares).unwrap()).unwrap();
        let err = got
            .iter()
            .zip(w)
            .map(|(a, b)| (a.re - b).abs())
            .fold(0.0, f64::max);
        let bound = dec.output_estimate().max_error(slots);
        eprintln!(
            "ckks 196 parties: measured error 2^{:.1}, estimate 2^{:.1}",
            err.log2(),
            bound.log2()
        );
        assert!(err <= bound, "error {err} above the estimate {bound}");
        assert!(err < 1e-3);
    }
}
