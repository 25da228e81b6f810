//! Scale (BFV) at N = 2^15: collective public and relinearisation keys with 196 parties at the
//! threshold-ready count preset `n32768_count_t45bit` (17 ciphertext primes, one special prime,
//! 17 key-switching digits): a product decrypts correctly at lambda = 40, and the noise
//! measured through an unsmudged collective decryption (the ideal key is never formed) stays
//! within the public collective estimate. The parties keep their states serialised and the
//! shares stream into one aggregator (`threshold_support::LeanGroup`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

mod threshold_support;

use migrationfhe::bfv;
use migrationfhe::threshold::{BfvDecryption, DecryptionPolicy};
use threshold_support::LeanGroup;

const PARTIES: u32 = 196;

#[test]
fn bfv_196_parties_n32768() {
    let params = bfv::Parameters::n32768_count_t45bit().unwrap();
    let t = params.plaintext_modulus();
    let t0 = std::time::Instant::now();
    let mut g = LeanGroup::new(params.ring(), PARTIES, 32768);
    let set = g.all();
    let t1 = std::time::Instant::now();
    let pk = g.public_key(b"scale/pk");
    let t2 = std::time::Instant::now();
    let rlk = g.relin_key(b"scale/rlk");
    eprintln!(
        "bfv 196 parties, N = 2^15: secrets {:?}, pk {:?}, rlk {:?}",
        t1 - t0,
        t2 - t1,
        t2.elapsed()
    );
    let n = params.degree();
    let x: Vec<u64> = (0..n as u64).map(|j| (j * 7919) % 1_000_000).collect();
    let y: Vec<u64> = (0..n as u64)
        .map(|j| (j * 104_729 + 5) % 1_000_000)
        .collect();
    let enc = |v: &[u64], g: &mut LeanGroup| {
        bfv::Ciphertext::encrypt_pk(
            &pk,
            &bfv::Plaintext::encode(&params, v).unwrap(),
            &mut g.rng,
        )
        .unwrap()
    };
    let (cx, cy) = (enc(&x, &mut g), enc(&y, &mut g));
    let ev = bfv::Evaluator::new(&params);
    let prod = ev.multiply_relin(&cx, &cy, &rlk).unwrap();
    let want: Vec<u64> = x
        .iter()
        .zip(&y)
        .map(|(a, b)| ((u128::from(*a) * u128::from(*b)) % u128::from(t)) as u64)
        .collect();
    // Noise under the collective key, measured without smudging at the ciphertext's own level,
    // within the estimate.
    for (ct, m) in [
        (&cx, bfv::Plaintext::encode(&params, &x).unwrap()),
        (&prod, bfv::Plaintext::encode(&params, &want).unwrap()),
    ] {
        let policy =
            DecryptionPolicy::insecure_no_smudging_for_testing().with_min_level(ct.level());
        let dec = BfvDecryption::new(ct, &set, &policy).unwrap();
        let shares = g.decryption_shares(dec.input());
        let measured = dec.combined_noise_log2_vartime(&set, &shares, &m).unwrap();
        let bound = dec.noise_bound_log2();
        eprintln!(
            "bfv 196 parties, N = 2^15: level {} measured log2|nu| = {measured:.1}, bound {bound:.1}",
            dec.input().level()
        );
        assert!(
            measured <= bound,
            "measured {measured} above the bound {bound}"
        );
    }
    // Decryption at lambda = 40 of another product (the parties refuse to share `prod` again).
    let cx2 = enc(&x, &mut g);
    let prod2 = ev.multiply_relin(&cx2, &cy, &rlk).unwrap();
    let dec = BfvDecryption::new(&prod2, &set, &DecryptionPolicy::default()).unwrap();
    eprintln!(
        "bfv 196 parties, N = 2^15: lambda 40 decrypts at level {} of {} with {}-bit smudging",
        dec.input().level(),
        prod2.level(),
        dec.input().smudging_bits()
    );
    let shares = g.decryption_shares(dec.input());
    assert_eq!(dec.combine(&set, &shares).unwrap().decode().unwrap(), want);
    eprintln!("bfv 196 parties, N = 2^15: total {:?}", t0.elapsed());
}
