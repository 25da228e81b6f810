//! Reproducibility: with a seeded ChaCha20 RNG, key generation, encryption and evaluation give
//! bit-identical coefficients under every NTT backend this CPU runs (forced through
//! `MIGRATIONFHE_BACKEND`; its own test binary, because it changes the process environment).

#![allow(clippy::unwrap_used)]

use migrationfhe::bfv::{
    Ciphertext, Evaluator, GaloisKeys, Parameters, Plaintext, PublicKey, RelinearizationKey,
    SecretKey,
};
use migrationfhe::math::ntt::{Backend, BACKEND_ENV};
use migrationfhe::math::Modulus;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};

fn run(expect: Option<Backend>) -> [u8; 32] {
    let params = Parameters::insecure_for_testing(1024, 12289, 3).unwrap();
    if let Some(b) = expect {
        for plan in params.ring().ctx_q().plans() {
            assert_eq!(plan.backend(), b);
        }
    }
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let sk = SecretKey::generate(params.ring(), &mut rng).unwrap();
    let pk = PublicKey::generate(&sk, &mut rng).unwrap();
    let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
    let gks = GaloisKeys::for_rotations(&sk, &[1], true, &mut rng).unwrap();
    let values: Vec<u64> = (0..1024u64).map(|i| i * i % 12289).collect();
    let pt = Plaintext::encode(&params, &values).unwrap();
    let a = Ciphertext::encrypt_pk(&pk, &pt, &mut rng).unwrap();
    let b = Ciphertext::encrypt_sk(&sk, &pt, &mut rng).unwrap();
    let ev = Evaluator::new(&params);
    let prod = ev.multiply_relin(&a, &b, &rlk).unwrap();
    let rot = ev.rotate_rows(&prod, 1, &gks).unwrap();
    let swapped = ev.rotate_columns(&a, &gks).unwrap();
    let mut h = Sha256::new();
    for ct in [&a, &b, &prod, &rot, &swapped] {
        for p in ct.polys() {
            for x in p.residues() {
                h.update(x.to_le_bytes());
            }
        }
    }
    for x in rot.decrypt(&sk).unwrap().coefficients() {
        h.update(x.to_le_bytes());
    }
    h.finalize().into()
}

#[test]
fn seeded_keys_and_ciphertexts_are_identical_under_every_backend() {
    // Every prime of the test parameters is below 2^50, so every backend qualifies.
    let q = Modulus::new(migrationfhe::math::primes::largest_ntt_prime(50, 1024).unwrap()).unwrap();
    let backends = Backend::available(&q);
    let mut hashes = Vec::new();
    for b in &backends {
        std::env::set_var(BACKEND_ENV, b.name());
        hashes.push(run(Some(*b)));
    }
    std::env::remove_var(BACKEND_ENV);
    eprintln!("backends compared: {backends:?}");
    assert!(!backends.is_empty());
    for (b, h) in backends.iter().zip(&hashes) {
        assert_eq!(h, &hashes[0], "backend {b} differs from {}", backends[0]);
    }
    assert_eq!(run(None), hashes[0]);
}
