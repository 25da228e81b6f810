//! Entry points for the cargo-fuzz targets in `fuzz/` (and for `tests/fuzz_replay.rs`, which
//! replays the seed corpus in the ordinary test run). Not part of the stable API.
//!
//! Each function takes arbitrary bytes, must never panic on them except through the `assert!`s
//! that state the property being fuzzed, and returns nothing. The wire targets first
//! [`reseal`] their input (recompute the checksum), so that mutations reach the payload checks.

use crate::math::ntt::{Backend, NttPlan};
use crate::math::primes::largest_ntt_prime;
use crate::math::Modulus;
use crate::params::SecurityLevel;
use crate::rlwe::{GaloisKey, PublicKey, RelinearizationKey, RlweParams, SecretKey};
use crate::wire::ParameterLimits;
use crate::{bfv, ckks};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::sync::{Arc, OnceLock};

mod threshold;
pub use threshold::*;

fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let k = bytes.len().min(8);
    w[..k].copy_from_slice(&bytes[..k]);
    u64::from_le_bytes(w)
}

/// Modulus construction on an arbitrary `u64`, then every operation against `u128` arithmetic.
///
/// # Panics
/// If an operation disagrees with the `u128` reference (a bug).
pub fn modulus_ops(data: &[u8]) {
    let Some((head, rest)) = data.split_first_chunk::<8>() else {
        return;
    };
    let Ok(m) = Modulus::new(u64::from_le_bytes(*head)) else {
        return;
    };
    let q = m.value();
    let q128 = u128::from(q);
    for chunk in rest.chunks(16) {
        let (a, b) = (word(chunk) % q, word(chunk.get(8..).unwrap_or(&[])) % q);
        let (a128, b128) = (u128::from(a), u128::from(b));
        assert_eq!(u128::from(m.add(a, b)), (a128 + b128) % q128);
        assert_eq!(u128::from(m.sub(a, b)), (a128 + q128 - b128) % q128);
        assert_eq!(u128::from(m.mul(a, b)), a128 * b128 % q128);
        assert_eq!(
            u128::from(m.mul_shoup(word(chunk), b, m.shoup(b))),
            u128::from(word(chunk)) * b128 % q128
        );
        if a != 0 {
            let inv = m.inv(a).unwrap_or(0);
            assert_eq!(m.mul(a, inv), 1);
        }
    }
}

/// An NTT on every backend this CPU offers: same bits as scalar, and `inverse(forward(x)) = x`.
/// Byte 0 picks `log2 n` (1 to 12), byte 1 the prime (largest below 2^30, 2^50, 2^51, 2^61 or
/// 2^62); the rest fills the coefficients (reduced mod q).
///
/// # Panics
/// If two backends disagree or the round trip fails (a bug).
pub fn ntt_roundtrip(data: &[u8]) {
    let [log_n, which, rest @ ..] = data else {
        return;
    };
    let n = 1usize << (1 + log_n % 12);
    let bits = [30, 50, 51, 61, 62][usize::from(*which) % 5];
    let Ok(q) = largest_ntt_prime(bits, 1 << 17) else {
        return;
    };
    let input: Vec<u64> = (0..n)
        .map(|i| word(rest.get(8 * i..).unwrap_or(&[])) % q)
        .collect();
    let Ok(m) = Modulus::new(q) else { return };
    let mut reference: Option<Vec<u64>> = None;
    for b in Backend::available(&m) {
        let Ok(plan) = NttPlan::with_backend(n, q, b) else {
            continue;
        };
        let mut a = input.clone();
        assert!(plan.forward(&mut a).is_ok());
        match &reference {
            None => reference = Some(a.clone()),
            Some(r) => assert_eq!(r, &a, "backend {b} disagrees with scalar"),
        }
        assert!(plan.inverse(&mut a).is_ok());
        assert_eq!(a, input, "backend {b}: inverse(forward(x)) != x");
    }
}

// ---------------------------------------------------------------------------------------------
// Wire-format decoders (`wire/`). Tiny insecure parameter sets keep objects a few hundred bytes
// long, so libFuzzer mutates whole objects; the decoders' checks do not depend on the size.
// ---------------------------------------------------------------------------------------------

/// The fixed objects the wire targets decode against (tiny, insecure, deterministic).
pub struct WireFixture {
    /// BFV: N = 16, t = 97, three 50-bit ciphertext primes, one special prime.
    pub bfv: Arc<bfv::Parameters>,
    /// CKKS: N = 32, primes of 30 + 2 × 25 bits, one 30-bit special prime, dnum = 3.
    pub ckks: Arc<ckks::Parameters>,
    /// Secret key of the BFV ring.
    pub bfv_sk: SecretKey,
    /// Relinearisation key of the BFV ring.
    pub bfv_rlk: RelinearizationKey,
    /// BFV row-rotation keys (power-of-two steps and the row swap).
    pub bfv_gk: bfv::GaloisKeys,
    /// Secret key of the CKKS ring.
    pub ckks_sk: SecretKey,
    /// Relinearisation key of the CKKS ring.
    pub ckks_rlk: RelinearizationKey,
    /// CKKS rotation keys (power-of-two steps and conjugation).
    pub ckks_gk: ckks::GaloisKeys,
}

fn build_fixture() -> crate::Result<WireFixture> {
    let bfv = bfv::Parameters::insecure_for_testing(16, 97, 3)?;
    let ckks = ckks::Parameters::builder()
        .degree(32)
        .first_prime_bits(30)
        .scale_bits(25)
        .levels(2)
        .special_prime_bits(30)
        .special_primes(1)
        .dnum(3)
        .security(SecurityLevel::InsecureForTesting)
        .build()?;
    let mut rng = ChaCha20Rng::seed_from_u64(0x5EED_F022);
    let bfv_sk = SecretKey::generate(bfv.ring(), &mut rng)?;
    let bfv_rlk = RelinearizationKey::generate(&bfv_sk, &mut rng)?;
    let bfv_gk = bfv::GaloisKeys::power_of_two(&bfv_sk, &mut rng)?;
    let ckks_sk = SecretKey::generate(ckks.rlwe(), &mut rng)?;
    let ckks_rlk = RelinearizationKey::generate(&ckks_sk, &mut rng)?;
    let ckks_gk = ckks::GaloisKeys::generate_power_of_two(&ckks, &ckks_sk, &mut rng)?;
    Ok(WireFixture {
        bfv,
        ckks,
        bfv_sk,
        bfv_rlk,
        bfv_gk,
        ckks_sk,
        ckks_rlk,
        ckks_gk,
    })
}

/// The fixture, built once.
///
/// # Panics
/// If the fixed parameters cannot be built (a bug).
#[allow(clippy::expect_used)]
pub fn wire_fixture() -> &'static WireFixture {
    static F: OnceLock<WireFixture> = OnceLock::new();
    F.get_or_init(|| build_fixture().expect("fuzz fixture parameters"))
}

/// Limits for decoded parameter sets in the fuzz targets (keeps each input cheap).
pub const FUZZ_LIMITS: ParameterLimits = ParameterLimits {
    max_degree: 1 << 8,
    max_primes: 6,
};

/// Replaces the last 32 bytes of a frame-sized input by the SHA-256 of the rest, so that the
/// fuzzer's mutations reach the payload decoders instead of stopping at the checksum (which the
/// tests exercise directly). Inputs shorter than a frame are returned as they are.
pub fn reseal(data: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    use sha2::Digest;
    let min = crate::wire::HEADER_LEN + crate::wire::CHECKSUM_LEN;
    if data.len() < min {
        return std::borrow::Cow::Borrowed(data);
    }
    let body = data.len() - crate::wire::CHECKSUM_LEN;
    let mut v = data.to_vec();
    let sum = sha2::Sha256::digest(&v[..body]);
    v[body..].copy_from_slice(&sum);
    std::borrow::Cow::Owned(v)
}

thread_local! {
    static DECODED: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// Whether the last wire target run on this thread decoded its input (both inputs for the
/// evaluator targets); clears the flag. Lets the replay test check that seeds are valid.
pub fn last_input_decoded() -> bool {
    DECODED.with(|d| d.replace(false))
}

/// Asserts that a decoded object re-encodes to exactly the input (the encoding is canonical).
fn canonical(data: &[u8], again: &[u8]) {
    DECODED.with(|d| d.set(true));
    assert!(data == again, "decoded object re-encodes to other bytes");
}

/// Ring parameters decoder.
///
/// # Panics
/// If a decoded object does not re-encode to the input (a bug).
pub fn decode_ring_parameters(data: &[u8]) {
    let data = &*reseal(data);
    if let Ok(p) = RlweParams::from_bytes(data, &FUZZ_LIMITS) {
        canonical(data, &p.to_bytes());
    }
}

/// BFV parameters decoder.
///
/// # Panics
/// As [`decode_ring_parameters`].
pub fn decode_bfv_parameters(data: &[u8]) {
    let data = &*reseal(data);
    if let Ok(p) = bfv::Parameters::from_bytes(data, &FUZZ_LIMITS) {
        canonical(data, &p.to_bytes());
    }
}

/// CKKS parameters decoder.
///
/// # Panics
/// As [`decode_ring_parameters`].
pub fn decode_ckks_parameters(data: &[u8]) {
    let data = &*reseal(data);
    if let Ok(p) = ckks::Parameters::from_bytes(data, &FUZZ_LIMITS) {
        canonical(data, &p.to_bytes());
    }
}

/// BFV plaintext decoder; a decoded plaintext is also decoded into slots.
///
/// # Panics
/// As [`decode_ring_parameters`].
pub fn decode_bfv_plaintext(data: &[u8]) {
    let data = &*reseal(data);
    let f = wire_fixture();
    if let Ok(pt) = bfv::Plaintext::from_bytes(&f.bfv, data) {
        canonical(data, &pt.to_bytes());
        let _ = pt.decode();
    }
}

/// BFV ciphertext decoder; a decoded ciphertext is also decrypted.
///
/// # Panics
/// As [`decode_ring_parameters`].
pub fn decode_bfv_ciphertext(data: &[u8]) {
    let data = &*reseal(data);
    let f = wire_fixture();
    if let Ok(ct) = bfv::Ciphertext::from_bytes(&f.bfv, data) {
        canonical(data, &ct.to_bytes());
        let _ = ct.decrypt(&f.bfv_sk);
        let _ = ct.estimated_budget();
    }
}

/// BFV Galois key set decoder.
///
/// # Panics
/// As [`decode_ring_parameters`].
pub fn decode_bfv_galois_keys(data: &[u8]) {
    let data = &*reseal(data);
    let f = wire_fixture();
    if let Ok(k) = bfv::GaloisKeys::from_bytes(&f.bfv, data) {
        canonical(data, &k.to_bytes(&f.bfv).unwrap_or_default());
    }
}

/// CKKS plaintext decoder; a decoded plaintext is also decoded into slots.
///
/// # Panics
/// As [`decode_ring_parameters`].
pub fn decode_ckks_plaintext(data: &[u8]) {
    let data = &*reseal(data);
    let f = wire_fixture();
    if let Ok(pt) = ckks::Plaintext::from_bytes(&f.ckks, data) {
        canonical(data, &pt.to_bytes(&f.ckks).unwrap_or_default());
        let _ = f.ckks.decode(&pt);
    }
}

/// CKKS ciphertext decoder; a decoded ciphertext is also decrypted and decoded.
///
/// # Panics
/// As [`decode_ring_parameters`].
pub fn decode_ckks_ciphertext(data: &[u8]) {
    let data = &*reseal(data);
    let f = wire_fixture();
    if let Ok(ct) = ckks::Ciphertext::from_bytes(&f.ckks, data) {
        canonical(data, &ct.to_bytes(&f.ckks).unwrap_or_default());
        if let Ok(pt) = ckks::decrypt(&f.ckks, &f.ckks_sk, &ct) {
            let _ = f.ckks.decode(&pt);
        }
    }
}

/// CKKS public key decoder; a decoded key also encrypts.
///
/// # Panics
/// As [`decode_ring_parameters`].
pub fn decode_ckks_public_key(data: &[u8]) {
    let data = &*reseal(data);
    let f = wire_fixture();
    if let Ok(pk) = ckks::PublicKey::from_bytes(&f.ckks, data) {
        canonical(data, &pk.to_bytes(&f.ckks).unwrap_or_default());
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        if let Ok(pt) = f.ckks.encode_real_top(&[0.5, -0.25]) {
            let _ = ckks::encrypt(&f.ckks, &pk, &pt, &mut rng);
        }
    }
}

/// CKKS Galois key set decoder.
///
/// # Panics
/// As [`decode_ring_parameters`].
pub fn decode_ckks_galois_keys(data: &[u8]) {
    let data = &*reseal(data);
    let f = wire_fixture();
    if let Ok(k) = ckks::GaloisKeys::from_bytes(&f.ckks, data) {
        canonical(data, &k.to_bytes(&f.ckks).unwrap_or_default());
    }
}

/// Secret key decoder (BFV ring).
///
/// # Panics
/// As [`decode_ring_parameters`].
pub fn decode_secret_key(data: &[u8]) {
    let data = &*reseal(data);
    let f = wire_fixture();
    if let Ok(sk) = SecretKey::from_bytes(f.bfv.ring(), data) {
        canonical(data, &sk.to_bytes());
    }
}

/// Public key decoder (BFV ring); a decoded key also encrypts.
///
/// # Panics
/// As [`decode_ring_parameters`].
pub fn decode_public_key(data: &[u8]) {
    let data = &*reseal(data);
    let f = wire_fixture();
    if let Ok(pk) = PublicKey::from_bytes(f.bfv.ring(), data) {
        canonical(data, &pk.to_bytes(f.bfv.ring()).unwrap_or_default());
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        if let Ok(pt) = bfv::Plaintext::encode(&f.bfv, &[1, 2, 3]) {
            let _ = bfv::Ciphertext::encrypt_pk(&pk, &pt, &mut rng);
        }
    }
}

/// Relinearisation key decoder (BFV ring).
///
/// # Panics
/// As [`decode_ring_parameters`].
pub fn decode_relinearization_key(data: &[u8]) {
    let data = &*reseal(data);
    let f = wire_fixture();
    if let Ok(k) = RelinearizationKey::from_bytes(f.bfv.ring(), data) {
        canonical(data, &k.to_bytes(f.bfv.ring()).unwrap_or_default());
    }
}

/// Galois key decoder (BFV ring).
///
/// # Panics
/// As [`decode_ring_parameters`].
pub fn decode_galois_key(data: &[u8]) {
    let data = &*reseal(data);
    let f = wire_fixture();
    if let Ok(k) = GaloisKey::from_bytes(f.bfv.ring(), data) {
        canonical(data, &k.to_bytes(f.bfv.ring()).unwrap_or_default());
    }
}

/// Splits `data` as `len (u16 LE) ‖ first[len] ‖ second`.
fn split_two(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = data.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_le_bytes(*len));
    (len <= rest.len()).then(|| rest.split_at(len))
}

/// Two BFV ciphertexts (`len ‖ first ‖ second`): when both decode, they are added, subtracted,
/// multiplied, relinearised, rotated, switched down and decrypted. Every operation may refuse
/// (an `Error`); none may panic.
pub fn bfv_evaluate(data: &[u8]) {
    let f = wire_fixture();
    let Some((x, y)) = split_two(data) else {
        return;
    };
    let (Ok(a), Ok(b)) = (
        bfv::Ciphertext::from_bytes(&f.bfv, &reseal(x)),
        bfv::Ciphertext::from_bytes(&f.bfv, &reseal(y)),
    ) else {
        return;
    };
    DECODED.with(|d| d.set(true));
    let ev = bfv::Evaluator::new(&f.bfv);
    let _ = ev.add(&a, &b);
    let _ = ev.sub(&a, &b);
    let _ = ev.mul_scalar(&a, 3);
    if let Ok(prod) = ev.multiply(&a, &b) {
        if let Ok(r) = ev.relinearize(&prod, &f.bfv_rlk) {
            let _ = r.decrypt(&f.bfv_sk);
        }
    }
    if let Ok(r) = ev.rotate_rows(&a, 1, &f.bfv_gk) {
        let _ = r.decrypt(&f.bfv_sk);
    }
    let _ = ev.rotate_columns(&b, &f.bfv_gk);
    if let Ok(s) = ev.mod_switch_to_next(&a) {
        let _ = s.decrypt(&f.bfv_sk);
    }
}

/// Two CKKS ciphertexts (`len ‖ first ‖ second`): when both decode, they are added,
/// multiplied, relinearised, rescaled, rotated, conjugated and decrypted. Every operation may
/// refuse (an `Error`); none may panic.
pub fn ckks_evaluate(data: &[u8]) {
    let f = wire_fixture();
    let Some((x, y)) = split_two(data) else {
        return;
    };
    let (Ok(a), Ok(b)) = (
        ckks::Ciphertext::from_bytes(&f.ckks, &reseal(x)),
        ckks::Ciphertext::from_bytes(&f.ckks, &reseal(y)),
    ) else {
        return;
    };
    DECODED.with(|d| d.set(true));
    let ev = ckks::Evaluator::new(&f.ckks);
    let _ = ev.add(&a, &b);
    let _ = ev.sub(&a, &b);
    let _ = ev.mul_const(&a, 1.5);
    if let Ok(prod) = ev.mul(&a, &b) {
        if let Ok(r) = ev.relinearize(&prod, &f.ckks_rlk) {
            if let Ok(r) = ev.rescale(&r) {
                if let Ok(pt) = ckks::decrypt(&f.ckks, &f.ckks_sk, &r) {
                    let _ = f.ckks.decode(&pt);
                }
            }
        }
    }
    let _ = ev.rotate(&a, 1, &f.ckks_gk);
    let _ = ev.conjugate(&b, &f.ckks_gk);
    let _ = ev.drop_to_level(&a, 1);
}

/// The seed corpus of the wire targets: `(target, file name, bytes)`, valid objects at the
/// fixture's parameters (and parameter objects of tiny sets), generated deterministically.
/// `tests/fuzz_replay.rs` checks they decode and, with `MIGRATIONFHE_WRITE_CORPUS=1`, writes
/// them to `fuzz/corpus/<target>/`.
///
/// # Errors
/// Only if the fixture cannot encrypt (a bug).
pub fn wire_corpus() -> crate::Result<Vec<(&'static str, String, Vec<u8>)>> {
    let f = wire_fixture();
    let mut rng = ChaCha20Rng::seed_from_u64(0xC0_4905);
    let mut out: Vec<(&'static str, String, Vec<u8>)> = Vec::new();
    let mut push = |t: &'static str, name: &str, b: Vec<u8>| out.push((t, name.to_string(), b));

    push(
        "decode_ring_parameters",
        "bfv_ring",
        f.bfv.ring().to_bytes(),
    );
    push(
        "decode_ring_parameters",
        "ckks_ring",
        f.ckks.rlwe().to_bytes(),
    );
    push("decode_bfv_parameters", "n16_t97", f.bfv.to_bytes());
    push("decode_ckks_parameters", "n32_scale25", f.ckks.to_bytes());

    let pt = bfv::Plaintext::encode(&f.bfv, &[1, 2, 3, 96])?;
    push("decode_bfv_plaintext", "batch", pt.to_bytes());
    let pk = PublicKey::generate(&f.bfv_sk, &mut rng)?;
    let ct_sk = bfv::Ciphertext::encrypt_sk(&f.bfv_sk, &pt, &mut rng)?;
    let ct_pk = bfv::Ciphertext::encrypt_pk(&pk, &pt, &mut rng)?;
    let ev = bfv::Evaluator::new(&f.bfv);
    let ct_deg2 = ev.multiply(&ct_pk, &ct_pk)?;
    let ct_low = ev.mod_switch_to_level(&ct_pk, 1)?;
    push("decode_bfv_ciphertext", "seeded", ct_sk.to_bytes());
    push("decode_bfv_ciphertext", "public_key", ct_pk.to_bytes());
    push("decode_bfv_ciphertext", "degree2", ct_deg2.to_bytes());
    push("decode_bfv_ciphertext", "level1", ct_low.to_bytes());
    let mut pair = Vec::new();
    let first = ct_sk.to_bytes();
    pair.extend_from_slice(&u16::try_from(first.len()).unwrap_or(0).to_le_bytes());
    pair.extend_from_slice(&first);
    pair.extend_from_slice(&ct_pk.to_bytes());
    push("bfv_evaluate", "sk_pk", pair);
    push(
        "decode_bfv_galois_keys",
        "power_of_two",
        f.bfv_gk.to_bytes(&f.bfv)?,
    );
    push("decode_secret_key", "ternary", f.bfv_sk.to_bytes().to_vec());
    push("decode_public_key", "seeded", pk.to_bytes(f.bfv.ring())?);
    push(
        "decode_relinearization_key",
        "seeded",
        f.bfv_rlk.to_bytes(f.bfv.ring())?,
    );
    // Keys whose `a` is not their seed's expansion (as a protocol may build) travel explicitly.
    let pk_explicit = PublicKey {
        b: pk.b.clone(),
        a: pk.a.clone(),
        seed: [7; 32],
    };
    push(
        "decode_public_key",
        "explicit",
        pk_explicit.to_bytes(f.bfv.ring())?,
    );
    let rlk_explicit = RelinearizationKey(crate::rlwe::KeySwitchingKey {
        digits: f.bfv_rlk.0.digits.clone(),
        seed: [9; 32],
    });
    push(
        "decode_relinearization_key",
        "explicit",
        rlk_explicit.to_bytes(f.bfv.ring())?,
    );
    let gk = GaloisKey::generate(&f.bfv_sk, 3, &mut rng)?;
    push("decode_galois_key", "element3", gk.to_bytes(f.bfv.ring())?);

    let x = f.ckks.encode_real_top(&[0.5, -0.25, 0.125])?;
    push("decode_ckks_plaintext", "top", x.to_bytes(&f.ckks)?);
    let cpk = ckks::PublicKey::generate(&f.ckks_sk, &mut rng)?;
    push("decode_ckks_public_key", "over_qp", cpk.to_bytes(&f.ckks)?);
    let (b_q, a_q, p_part) = cpk.wire_parts();
    let cpk_explicit =
        ckks::PublicKey::from_wire_parts(b_q.clone(), a_q.clone(), p_part.cloned(), [5; 32]);
    push(
        "decode_ckks_public_key",
        "explicit",
        cpk_explicit.to_bytes(&f.ckks)?,
    );
    let rpk = ckks::PublicKey::from_rlwe(&PublicKey::generate(&f.ckks_sk, &mut rng)?);
    push("decode_ckks_public_key", "over_q", rpk.to_bytes(&f.ckks)?);
    let c_sym = ckks::encrypt_symmetric(&f.ckks, &f.ckks_sk, &x, &mut rng)?;
    let c_pk = ckks::encrypt(&f.ckks, &cpk, &x, &mut rng)?;
    let cev = ckks::Evaluator::new(&f.ckks);
    let c_deg2 = cev.mul(&c_pk, &c_pk)?;
    let c_low = cev.drop_to_level(&c_pk, 1)?;
    push("decode_ckks_ciphertext", "seeded", c_sym.to_bytes(&f.ckks)?);
    push(
        "decode_ckks_ciphertext",
        "public_key",
        c_pk.to_bytes(&f.ckks)?,
    );
    push(
        "decode_ckks_ciphertext",
        "degree2",
        c_deg2.to_bytes(&f.ckks)?,
    );
    push("decode_ckks_ciphertext", "level1", c_low.to_bytes(&f.ckks)?);
    let mut pair = Vec::new();
    let first = c_sym.to_bytes(&f.ckks)?;
    pair.extend_from_slice(&u16::try_from(first.len()).unwrap_or(0).to_le_bytes());
    pair.extend_from_slice(&first);
    pair.extend_from_slice(&c_pk.to_bytes(&f.ckks)?);
    push("ckks_evaluate", "sym_pk", pair);
    push(
        "decode_ckks_galois_keys",
        "power_of_two",
        f.ckks_gk.to_bytes(&f.ckks)?,
    );
    Ok(out)
}

/// A fuzz target's entry point.
pub type Target = fn(&[u8]);

/// Every wire target: `(name, entry point)`.
pub const WIRE_TARGETS: [(&str, Target); 16] = [
    ("decode_ring_parameters", decode_ring_parameters),
    ("decode_bfv_parameters", decode_bfv_parameters),
    ("decode_ckks_parameters", decode_ckks_parameters),
    ("decode_bfv_plaintext", decode_bfv_plaintext),
    ("decode_bfv_ciphertext", decode_bfv_ciphertext),
    ("decode_bfv_galois_keys", decode_bfv_galois_keys),
    ("decode_ckks_plaintext", decode_ckks_plaintext),
    ("decode_ckks_ciphertext", decode_ckks_ciphertext),
    ("decode_ckks_public_key", decode_ckks_public_key),
    ("decode_ckks_galois_keys", decode_ckks_galois_keys),
    ("decode_secret_key", decode_secret_key),
    ("decode_public_key", decode_public_key),
    ("decode_relinearization_key", decode_relinearization_key),
    ("decode_galois_key", decode_galois_key),
    ("bfv_evaluate", bfv_evaluate),
    ("ckks_evaluate", ckks_evaluate),
];
