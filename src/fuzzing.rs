//! Entry points for the cargo-fuzz targets in `fuzz/` (and for `tests/fuzz_replay.rs`, which
//! replays the seed corpus in the ordinary test run). Not part of the stable API.
//!
//! Each function takes arbitrary bytes, must never panic on them except through the `assert!`s
//! that state the property being fuzzed, and returns nothing.

use crate::math::ntt::{Backend, NttPlan};
use crate::math::primes::largest_ntt_prime;
use crate::math::Modulus;

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
