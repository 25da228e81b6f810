//! Handling of secrets: the secret key's `Debug` prints nothing of it, keys are compared in
//! constant time through `subtle` (and have no `PartialEq` or `Clone` that could be used
//! instead), and the key wipes itself on drop (`ZeroizeOnDrop`; the wiping itself is tested
//! in `rlwe::keys`). Error messages carry no secret data.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use migrationfhe::math::ntt::NttPlan;
use migrationfhe::math::primes::ntt_primes;
use migrationfhe::params::SecurityLevel;
use migrationfhe::rlwe::{RlweParams, SecretKey};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use zeroize::ZeroizeOnDrop;

const N: usize = 1024;

fn params() -> Arc<RlweParams> {
    let primes = ntt_primes(50, N, 3).unwrap();
    RlweParams::new(
        N,
        &primes[..2],
        &primes[2..],
        2,
        SecurityLevel::InsecureForTesting,
    )
    .unwrap()
}

fn ternary(rng: &mut ChaCha20Rng) -> Vec<i64> {
    (0..N).map(|_| (rng.next_u32() % 3) as i64 - 1).collect()
}

/// The key's residues modulo `q` in NTT form (what the key stores), recomputed here.
fn ntt_residues(coeffs: &[i64], q: u64) -> Vec<u64> {
    let mut r: Vec<u64> = coeffs
        .iter()
        .map(|&c| i128::from(c).rem_euclid(i128::from(q)) as u64)
        .collect();
    NttPlan::new(N, q).unwrap().forward(&mut r).unwrap();
    r
}

#[test]
fn debug_prints_no_secret() {
    let p = params();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let coeffs = ternary(&mut rng);
    let sk = SecretKey::from_coefficients(&p, &coeffs).unwrap();
    let generated = SecretKey::generate(&p, &mut rng).unwrap();
    let q0 = p.q_moduli()[0];
    let residues = ntt_residues(&coeffs, q0);
    for text in [
        format!("{sk:?}"),
        format!("{sk:#?}"),
        format!("{generated:?}"),
        format!("{:?}", Some(&sk)),
    ] {
        assert!(text.contains("SecretKey"), "{text}");
        // No number at all: neither the coefficients (-1, 0, 1) nor any residue.
        assert!(!text.chars().any(|c| c.is_ascii_digit()), "{text}");
        assert!(residues.iter().all(|r| !text.contains(&r.to_string())));
        assert!(!text.contains("-1"));
    }
}

#[test]
fn constant_time_comparison() {
    let p = params();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let coeffs = ternary(&mut rng);
    let a = SecretKey::from_coefficients(&p, &coeffs).unwrap();
    let b = SecretKey::from_coefficients(&p, &coeffs).unwrap();
    assert!(bool::from(a.ct_eq(&b)));
    // One coefficient changed, anywhere: not equal.
    for j in [0, 1, N / 2, N - 1] {
        let mut other = coeffs.clone();
        other[j] = if other[j] == 1 { -1 } else { other[j] + 1 };
        let c = SecretKey::from_coefficients(&p, &other).unwrap();
        assert!(!bool::from(a.ct_eq(&c)), "coefficient {j}");
    }
    let fresh = SecretKey::generate(&p, &mut rng).unwrap();
    assert!(!bool::from(a.ct_eq(&fresh)));
}

/// Compiles only if `T` does *not* implement the trait probed by `$probe` (the ambiguity trick
/// of the `static_assertions` crate: with the trait implemented, two blanket impls apply and
/// the call is ambiguous).
macro_rules! assert_not_impl {
    ($t:ty, $trait_:path) => {{
        trait AmbiguousIfImpl<A> {
            fn some_item() {}
        }
        impl<T: ?Sized> AmbiguousIfImpl<()> for T {}
        #[allow(dead_code)]
        struct Invalid;
        impl<T: ?Sized + $trait_> AmbiguousIfImpl<Invalid> for T {}
        let _ = <$t as AmbiguousIfImpl<_>>::some_item;
    }};
}

#[test]
fn secret_key_has_no_variable_time_equality_and_no_copies() {
    fn zeroize_on_drop<T: ZeroizeOnDrop>() {}
    zeroize_on_drop::<SecretKey>();
    assert_not_impl!(SecretKey, PartialEq);
    assert_not_impl!(SecretKey, Clone);
    assert_not_impl!(SecretKey, Copy);
}

#[test]
fn errors_about_keys_carry_no_secret() {
    let p = params();
    let coeffs = ternary(&mut ChaCha20Rng::seed_from_u64(3));
    // Wrong length: the error names the lengths only.
    let e = SecretKey::from_coefficients(&p, &coeffs[..N - 1]).unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(text.contains(&N.to_string()) && text.contains(&(N - 1).to_string()));
    let q0 = p.q_moduli()[0];
    let residues = ntt_residues(&coeffs, q0);
    assert!(residues.iter().all(|r| !text.contains(&r.to_string())));
}
