//! Scale: collective public and relinearisation keys with 196 parties at N = 2^14 (BFV count
//! preset with threshold headroom, CKKS `n16384_depth5_scale40`): a product decrypts correctly
//! at lambda = 40, and the noise measured through an unsmudged collective decryption (the ideal
//! key is never formed) stays within the public collective estimate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

mod threshold_support;

use migrationfhe::bfv;
use migrationfhe::ckks;
use migrationfhe::threshold::{
    ActiveSet, BfvDecryption, CkksDecryption, DecryptionPolicy, DecryptionShare,
};
use threshold_support::Group;

const PARTIES: u32 = 196;

fn shares_of(
    g: &mut Group,
    set: &ActiveSet,
    input: &migrationfhe::threshold::DecryptionInput,
) -> Vec<DecryptionShare> {
    set.ids()
        .iter()
        .map(|&id| {
            let i = g.index(id);
            g.secrets[i]
                .active(set)
                .unwrap()
                .decryption_share(input, &mut g.logs[i], &mut g.rng)
                .unwrap()
        })
        .collect()
}

#[test]
fn bfv_196_parties_n16384() {
    let params = bfv::Parameters::n16384_count_t31bit().unwrap();
    let t = params.plaintext_modulus();
    let mut g = Group::new(params.ring(), PARTIES, 196);
    let set = g.all();
    let t0 = std::time::Instant::now();
    let pk = g.public_key(&set, b"scale/pk");
    let t1 = std::time::Instant::now();
    let rlk = g.relin_key(&set, b"scale/rlk");
    eprintln!("bfv 196: pk {:?} rlk {:?}", t1 - t0, t1.elapsed());
    let n = params.degree();
    let x: Vec<u64> = (0..n as u64).map(|j| (j * 7919) % 40_000).collect();
    let y: Vec<u64> = (0..n as u64).map(|j| (j * 104_729 + 5) % 40_000).collect();
    let enc = |v: &[u64], g: &mut Group| {
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
    let want: Vec<u64> = x.iter().zip(&y).map(|(a, b)| a * b % t).collect();
    let want_pt = bfv::Plaintext::encode(&params, &want).unwrap();
    // Noise under the collective key, measured without smudging, within the estimate.
    for (ct, m) in [
        (&cx, bfv::Plaintext::encode(&params, &x).unwrap()),
        (&prod, want_pt.clone()),
    ] {
        // Measured at the ciphertext's own level (below it the switch's rounding dominates).
        let policy =
            DecryptionPolicy::insecure_no_smudging_for_testing().with_min_level(ct.level());
        let dec = BfvDecryption::new(ct, &set, &policy).unwrap();
        let shares = shares_of(&mut g, &set, dec.input());
        let measured = dec.combined_noise_log2_vartime(&set, &shares, &m).unwrap();
        let bound = dec.noise_bound_log2();
        eprintln!(
            "bfv 196 parties: level {} measured log2|nu| = {measured:.1}, bound {bound:.1}",
            dec.input().level()
        );
        assert!(
            measured <= bound,
            "measured {measured} above the bound {bound}"
        );
    }
    // Decryption at lambda = 40 (a fresh product: its c1 was not shared yet).
    let prod2 = ev.multiply_relin(&cy, &cx, &rlk).unwrap();
    let dec = BfvDecryption::new(&prod2, &set, &DecryptionPolicy::default()).unwrap();
    eprintln!(
        "bfv 196 parties: lambda 40 decrypts at level {} of {} with {}-bit smudging",
        dec.input().level(),
        prod2.level(),
        dec.input().smudging_bits()
    );
    let shares = shares_of(&mut g, &set, dec.input());
    assert_eq!(dec.combine(&set, &shares).unwrap().decode().unwrap(), want);
}

#[test]
fn ckks_196_parties_n16384() {
    let params = ckks::Parameters::preset(ckks::Preset::N16384Depth5Scale40).unwrap();
    let mut g = Group::new(params.rlwe(), PARTIES, 1960);
    let set = g.all();
    let t0 = std::time::Instant::now();
    let pk = ckks::PublicKey::from_rlwe(&g.public_key(&set, b"scale/pk"));
    let t1 = std::time::Instant::now();
    let rlk = g.relin_key(&set, b"scale/rlk");
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
        let shares = shares_of(&mut g, &set, dec.input());
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
