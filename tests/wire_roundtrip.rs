//! Round trips of every public object through the wire format (`docs/FORMAT.md`): decoding the
//! encoding gives the same object (and the same bytes again), for random keys and messages at
//! small insecure parameter sets, at every level and degree the evaluators produce; and, at the
//! real preset `n16384_depth5_scale40`, the sizes the format promises.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

use migrationfhe::ckks::{self, Preset};
use migrationfhe::rlwe::{GaloisKey, PublicKey, RelinearizationKey, RlweParams, SecretKey};
use migrationfhe::wire::ParameterLimits;
use migrationfhe::{bfv, fuzzing};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

const MIB: f64 = 1024.0 * 1024.0;

fn bfv_params() -> std::sync::Arc<bfv::Parameters> {
    std::sync::Arc::clone(&fuzzing::wire_fixture().bfv)
}

fn ckks_params() -> std::sync::Arc<ckks::Parameters> {
    std::sync::Arc::clone(&fuzzing::wire_fixture().ckks)
}

#[test]
fn parameters_round_trip() {
    let limits = ParameterLimits::default();
    for p in [
        bfv::Parameters::insecure_for_testing(16, 97, 3).unwrap(),
        bfv::Parameters::n8192_logq218_t20bit().unwrap(),
    ] {
        let bytes = p.to_bytes();
        let q = bfv::Parameters::from_bytes(&bytes, &limits).unwrap();
        assert_eq!(*p, *q);
        assert_eq!(q.to_bytes(), bytes);
        let ring = p.ring().to_bytes();
        let r = RlweParams::from_bytes(&ring, &limits).unwrap();
        assert_eq!(**p.ring(), *r);
        assert_eq!(r.to_bytes(), ring);
    }
    for preset in [
        Preset::InsecureN1024Depth4Scale30,
        Preset::N16384Depth5Scale40,
    ] {
        let p = ckks::Parameters::preset(preset).unwrap();
        let bytes = p.to_bytes();
        let q = ckks::Parameters::from_bytes(&bytes, &limits).unwrap();
        assert_eq!(*p, *q);
        assert_eq!(q.to_bytes(), bytes);
        assert_eq!(
            q.scale_at(q.max_level()).unwrap(),
            p.scale_at(p.max_level()).unwrap()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Keys and BFV objects for random key material and messages.
    #[test]
    fn bfv_objects_round_trip(seed in any::<u64>(), values in proptest::collection::vec(0u64..97, 1..16)) {
        let params = bfv_params();
        let ring = params.ring();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let sk = SecretKey::generate(ring, &mut rng).unwrap();
        let sk_bytes = sk.to_bytes();
        let sk2 = SecretKey::from_bytes(ring, &sk_bytes).unwrap();
        prop_assert_eq!(&*sk2.to_bytes(), &*sk_bytes);

        let pk = PublicKey::generate(&sk, &mut rng).unwrap();
        let b = pk.to_bytes(ring).unwrap();
        prop_assert_eq!(&PublicKey::from_bytes(ring, &b).unwrap(), &pk);

        let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
        let b = rlk.to_bytes(ring).unwrap();
        prop_assert_eq!(&RelinearizationKey::from_bytes(ring, &b).unwrap(), &rlk);

        let gk = GaloisKey::generate(&sk, 2 * (rng.next_u64() % 16) + 1, &mut rng).unwrap();
        let b = gk.to_bytes(ring).unwrap();
        prop_assert_eq!(&GaloisKey::from_bytes(ring, &b).unwrap(), &gk);

        let gks = bfv::GaloisKeys::for_rotations(&sk, &[1, 3], true, &mut rng).unwrap();
        let b = gks.to_bytes(&params).unwrap();
        prop_assert_eq!(&bfv::GaloisKeys::from_bytes(&params, &b).unwrap(), &gks);

        let pt = bfv::Plaintext::encode(&params, &values).unwrap();
        let b = pt.to_bytes();
        prop_assert_eq!(&bfv::Plaintext::from_bytes(&params, &b).unwrap(), &pt);

        let ev = bfv::Evaluator::new(&params);
        let ct_sk = bfv::Ciphertext::encrypt_sk(&sk, &pt, &mut rng).unwrap();
        let ct_pk = bfv::Ciphertext::encrypt_pk(&pk, &pt, &mut rng).unwrap();
        let deg2 = ev.multiply(&ct_sk, &ct_pk).unwrap();
        let low = ev.mod_switch_to_level(&ct_pk, 1).unwrap();
        for ct in [&ct_sk, &ct_pk, &deg2, &low] {
            let b = ct.to_bytes();
            let back = bfv::Ciphertext::from_bytes(&params, &b).unwrap();
            prop_assert_eq!(&back, ct);
            prop_assert_eq!(back.noise_estimate(), ct.noise_estimate());
            prop_assert_eq!(back.to_bytes(), b);
            // The decoded secret key decrypts what the original encrypted.
            prop_assert_eq!(back.decrypt(&sk2).unwrap(), ct.decrypt(&sk).unwrap());
        }
        // A fresh secret-key ciphertext sends its seed instead of c_1.
        let c1_len: usize = ring
            .q_moduli()
            .iter()
            .map(|&q| 16 * migrationfhe::wire::bits_for(q) as usize / 8)
            .sum();
        prop_assert_eq!(ct_pk.to_bytes().len() - ct_sk.to_bytes().len(), c1_len - 32);
    }

    /// CKKS objects for random keys and messages, at every level and degree.
    #[test]
    fn ckks_objects_round_trip(seed in any::<u64>(), values in proptest::collection::vec(-1.0f64..1.0, 1..16)) {
        let params = ckks_params();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let sk = SecretKey::generate(params.rlwe(), &mut rng).unwrap();
        let pk = ckks::PublicKey::generate(&sk, &mut rng).unwrap();
        let b = pk.to_bytes(&params).unwrap();
        prop_assert_eq!(&ckks::PublicKey::from_bytes(&params, &b).unwrap(), &pk);
        let pk_q = ckks::PublicKey::from_rlwe(&PublicKey::generate(&sk, &mut rng).unwrap());
        let b = pk_q.to_bytes(&params).unwrap();
        prop_assert_eq!(&ckks::PublicKey::from_bytes(&params, &b).unwrap(), &pk_q);

        let gks = ckks::GaloisKeys::generate(&params, &sk, &[1, -2], true, &mut rng).unwrap();
        let b = gks.to_bytes(&params).unwrap();
        prop_assert_eq!(&ckks::GaloisKeys::from_bytes(&params, &b).unwrap(), &gks);

        let pt = params.encode_real_top(&values).unwrap();
        let b = pt.to_bytes(&params).unwrap();
        prop_assert_eq!(&ckks::Plaintext::from_bytes(&params, &b).unwrap(), &pt);

        let ev = ckks::Evaluator::new(&params);
        let sym = ckks::encrypt_symmetric(&params, &sk, &pt, &mut rng).unwrap();
        let low_pt = params.encode_real(&values, 1, params.scale_at(1).unwrap()).unwrap();
        let sym_low = ckks::encrypt_symmetric(&params, &sk, &low_pt, &mut rng).unwrap();
        let ct = ckks::encrypt(&params, &pk, &pt, &mut rng).unwrap();
        let deg2 = ev.mul(&ct, &sym).unwrap();
        let dropped = ev.drop_to_level(&ct, 1).unwrap();
        for c in [&sym, &sym_low, &ct, &deg2, &dropped] {
            let b = c.to_bytes(&params).unwrap();
            let back = ckks::Ciphertext::from_bytes(&params, &b).unwrap();
            prop_assert_eq!(&back, c);
            prop_assert_eq!(back.seed(), c.seed());
            prop_assert_eq!(back.to_bytes(&params).unwrap(), b);
        }
    }
}

/// Sizes at `n16384_depth5_scale40` (N = 2^14, log Q = 260 in six primes, three 50-bit special
/// primes, dnum = 2), against SEAL/OpenFHE's 1.50 MiB per fresh ciphertext and OpenFHE's
/// 6.0 MiB relinearisation key (issue 5). Recorded in `docs/FORMAT.md`.
#[test]
fn sizes_at_n16384_depth5_scale40() {
    let params = ckks::Parameters::preset(Preset::N16384Depth5Scale40).unwrap();
    let ring = params.rlwe();
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let sk = SecretKey::generate(ring, &mut rng).unwrap();
    let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
    let pk = ckks::PublicKey::generate(&sk, &mut rng).unwrap();
    let values: Vec<f64> = (0..params.slots()).map(|i| (i as f64).sin()).collect();
    let pt = params.encode_real_top(&values).unwrap();
    let sym = ckks::encrypt_symmetric(&params, &sk, &pt, &mut rng).unwrap();
    let asym = ckks::encrypt(&params, &pk, &pt, &mut rng).unwrap();
    let ev = ckks::Evaluator::new(&params);
    let low = ev.drop_to_level(&asym, 1).unwrap();

    let n = params.degree();
    let bits_q: usize = params
        .q_moduli()
        .iter()
        .map(|&q| migrationfhe::wire::bits_for(q) as usize)
        .sum();
    let bits_p: usize = params
        .p_moduli()
        .iter()
        .map(|&q| migrationfhe::wire::bits_for(q) as usize)
        .sum();
    let frame = 48 + 32;

    let sym_b = sym.to_bytes(&params).unwrap();
    let asym_b = asym.to_bytes(&params).unwrap();
    let low_b = low.to_bytes(&params).unwrap();
    let rlk_b = rlk.to_bytes(ring).unwrap();
    let sk_b = sk.to_bytes();
    let pk_b = pk.to_bytes(&params).unwrap();
    // Exact sizes: frame + fixed fields + packed polynomials.
    assert_eq!(sym_b.len(), frame + 6 + 24 + 32 + n * bits_q / 8);
    assert_eq!(asym_b.len(), frame + 6 + 24 + 2 * n * bits_q / 8);
    let bits_q0 = migrationfhe::wire::bits_for(params.q_moduli()[0]) as usize;
    assert_eq!(low_b.len(), frame + 6 + 24 + 2 * n * bits_q0 / 8);
    assert_eq!(
        rlk_b.len(),
        frame + 1 + 32 + 1 + 2 * n * (bits_q + bits_p) / 8
    );
    assert_eq!(sk_b.len(), frame + 1 + n * 2 / 8);
    assert_eq!(pk_b.len(), frame + 1 + 32 + n * (bits_q + bits_p) / 8);
    // The targets of issue 5.
    assert!(sym_b.len() as f64 / MIB <= 0.6, "{} bytes", sym_b.len());
    assert!(rlk_b.len() as f64 / MIB <= 3.0, "{} bytes", rlk_b.len());
    println!(
        "n16384_depth5_scale40 (log Q = {bits_q} packed bits, log P = {bits_p}): secret-key ciphertext {} B ({:.3} MiB), public-key ciphertext {} B ({:.3} MiB), at level 1 {} B ({:.3} MiB), relinearisation key {} B ({:.3} MiB), public key {} B, secret key {} B",
        sym_b.len(), sym_b.len() as f64 / MIB, asym_b.len(), asym_b.len() as f64 / MIB,
        low_b.len(), low_b.len() as f64 / MIB, rlk_b.len(), rlk_b.len() as f64 / MIB,
        pk_b.len(), sk_b.len()
    );
    // And they decode, at the real preset.
    let back = ckks::Ciphertext::from_bytes(&params, &sym_b).unwrap();
    assert_eq!(back, sym);
    assert_eq!(RelinearizationKey::from_bytes(ring, &rlk_b).unwrap(), rlk);
    let sk2 = SecretKey::from_bytes(ring, &sk_b).unwrap();
    let out = params
        .decode(&ckks::decrypt(&params, &sk2, &back).unwrap())
        .unwrap();
    assert!((out[3].re - 3f64.sin()).abs() < 1e-6);
}
