//! Scale (CKKS) at N = 2^15: collective public and relinearisation keys with 196 parties at
//! the threshold-ready composite-scale preset `n32768_depth5_scale104` (scale 2^104 on two
//! primes per level, 4 special primes, 3 key-switching digits): the error measured through an
//! unsmudged collective decryption (the ideal key is never formed) stays within the public
//! collective estimate, and a product decrypts under the default policy (`λ = 40` smudging from
//! all 196 parties) with at least the public precision estimate. The
//! parties keep their states serialised and the shares stream into one aggregator
//! (`threshold_support::LeanGroup`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

mod threshold_support;

use migrationfhe::ckks;
use migrationfhe::threshold::{CkksDecryption, DecryptionPolicy};
use threshold_support::LeanGroup;

const PARTIES: u32 = 196;

#[test]
fn ckks_196_parties_n32768() {
    let params = ckks::Parameters::preset(ckks::Preset::N32768Depth5Scale104).unwrap();
    let t0 = std::time::Instant::now();
    let mut g = LeanGroup::new(params.rlwe(), PARTIES, 32769);
    let set = g.all();
    let t1 = std::time::Instant::now();
    let pk = ckks::PublicKey::from_rlwe(&g.public_key(b"scale/pk"));
    let t2 = std::time::Instant::now();
    let rlk = g.relin_key(b"scale/rlk");
    eprintln!(
        "ckks 196 parties, N = 2^15: secrets {:?}, pk {:?}, rlk {:?}",
        t1 - t0,
        t2 - t1,
        t2.elapsed()
    );
    let slots = params.slots();
    let x: Vec<f64> = (0..slots)
        .map(|j| ((j * 37) % 101) as f64 / 101.0 - 0.5)
        .collect();
    let y: Vec<f64> = (0..slots)
        .map(|j| ((j * 11) % 89) as f64 / 89.0 - 0.5)
        .collect();
    let enc = |v: &[f64], g: &mut LeanGroup| {
        ckks::encrypt(
            &params,
            &pk,
            &params.encode_real_top(v).unwrap(),
            &mut g.rng,
        )
        .unwrap()
    };
    let (cx, cy) = (enc(&x, &mut g), enc(&y, &mut g));
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
            "ckks 196 parties, N = 2^15: measured error 2^{:.1}, estimate 2^{:.1}",
            err.log2(),
            bound.log2()
        );
        assert!(err <= bound, "error {err} above the estimate {bound}");
        assert!(err < 1e-3);
    }
    // The real path: λ = 40 smudging from every party, accepted by the default policy. The
    // share logs refuse a second share for `prod`, so this decrypts another product, x·x.
    let square = ev.mul_relin_rescale(&cx, &cx, &rlk).unwrap();
    let want: Vec<f64> = x.iter().map(|a| a * a).collect();
    let dec = CkksDecryption::new(&params, &square, &set, &DecryptionPolicy::default()).unwrap();
    let estimate = dec.estimated_precision_bits();
    let shares = g.decryption_shares(dec.input());
    let got = params.decode(&dec.combine(&set, &shares).unwrap()).unwrap();
    let bits = ckks::precision_real(&want, &got).min_bits;
    eprintln!(
        "ckks 196 parties, N = 2^15, lambda 40: product precision {bits:.1} bits (estimate {estimate:.1})"
    );
    assert!(
        bits >= estimate,
        "{bits} bits below the estimate {estimate}"
    );
    assert!(estimate >= 12.0, "estimate {estimate} bits");
    eprintln!("ckks 196 parties, N = 2^15: total {:?}", t0.elapsed());
}
