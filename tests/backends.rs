//! Every NTT backend the CPU offers against the scalar reference, bit for bit, on the largest
//! NTT-friendly prime below each backend's bound; and the negacyclic product on every backend
//! against a schoolbook `u128` product.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

mod common;

use common::random_vec;
use migrationfhe::math::ntt::{Backend, NttPlan};
use migrationfhe::math::primes::largest_ntt_prime;
use migrationfhe::math::Modulus;
use proptest::prelude::*;

/// Largest primes `q = 1 mod 2^18` below 2^30, 2^50 (IFMA bound), 2^51, 2^61 and 2^62
/// (AVX2/AVX-512 bound), where lazy ranges and Barrett estimates are tightest.
fn test_primes() -> Vec<u64> {
    [30, 50, 51, 61, 62]
        .iter()
        .map(|&b| largest_ntt_prime(b, 1 << 17).unwrap())
        .collect()
}

fn run(backend: Backend, q: u64, input: &[u64]) -> (Vec<u64>, Vec<u64>) {
    let plan = NttPlan::with_backend(input.len(), q, backend).unwrap();
    assert_eq!(plan.backend(), backend);
    let mut f = input.to_vec();
    plan.forward(&mut f).unwrap();
    let mut i = input.to_vec();
    plan.inverse(&mut i).unwrap();
    (f, i)
}

fn edge_inputs(n: usize, q: u64) -> Vec<Vec<u64>> {
    let mut v = vec![vec![0; n], vec![q - 1; n]];
    for pos in [0, n / 2, n - 1] {
        let mut one = vec![0; n];
        one[pos] = 1;
        v.push(one);
        let mut big = vec![0; n];
        big[pos] = q - 1;
        v.push(big);
    }
    v
}

#[test]
fn backends_ran() {
    let mut all = std::collections::BTreeSet::new();
    for q in test_primes() {
        let avail = Backend::available(&Modulus::new(q).unwrap());
        println!(
            "q = {q} ({} bits): backends {avail:?}",
            64 - q.leading_zeros()
        );
        all.extend(avail);
    }
    println!("backends available on this CPU: {all:?}");
    if let Ok(req) = std::env::var("MIGRATIONFHE_REQUIRE_BACKENDS") {
        for name in req.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let b: Backend = name.parse().unwrap();
            assert!(
                all.contains(&b),
                "MIGRATIONFHE_REQUIRE_BACKENDS lists `{name}` but it did not run"
            );
        }
    }
}

#[test]
fn every_backend_matches_scalar_on_edge_and_random_inputs() {
    for q in test_primes() {
        let backends = Backend::available(&Modulus::new(q).unwrap());
        for log_n in 1..=16 {
            let n = 1usize << log_n;
            let mut inputs = edge_inputs(n, q);
            inputs.push(random_vec(log_n as u64, n, q));
            for input in &inputs {
                let want = run(Backend::Scalar, q, input);
                for &b in &backends[1..] {
                    assert!(
                        run(b, q, input) == want,
                        "backend {b} differs from scalar: q={q} n={n}"
                    );
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn every_backend_matches_scalar(seed: u64, log_n in 1u32..=13, qi in 0usize..5) {
        let q = test_primes()[qi];
        let n = 1usize << log_n;
        let a = random_vec(seed, n, q);
        let want = run(Backend::Scalar, q, &a);
        for b in Backend::available(&Modulus::new(q).unwrap()) {
            prop_assert!(run(b, q, &a) == want, "backend {:?}", b);
        }
    }
}

fn schoolbook(a: &[u64], b: &[u64], q: u64) -> Vec<u64> {
    let n = a.len();
    let q128 = u128::from(q);
    let mut c = vec![0u128; n];
    for i in 0..n {
        for j in 0..n {
            let p = u128::from(a[i]) * u128::from(b[j]) % q128;
            if i + j < n {
                c[i + j] += p;
            } else {
                c[i + j - n] += q128 - p;
            }
        }
        if i % 64 == 63 {
            c.iter_mut().for_each(|x| *x %= q128);
        }
    }
    c.into_iter().map(|x| (x % q128) as u64).collect()
}

#[test]
fn negacyclic_product_on_every_backend_matches_schoolbook() {
    let primes = test_primes();
    for (qi, &q) in primes.iter().enumerate() {
        let m = Modulus::new(q).unwrap();
        for log_n in [1u32, 3, 5, 8, 11] {
            let n = 1usize << log_n;
            let a = random_vec(100 + qi as u64, n, q);
            let b = random_vec(200 + log_n as u64, n, q);
            let want = schoolbook(&a, &b, q);
            for backend in Backend::available(&m) {
                let plan = NttPlan::with_backend(n, q, backend).unwrap();
                let (mut fa, mut fb) = (a.clone(), b.clone());
                plan.forward(&mut fa).unwrap();
                plan.forward(&mut fb).unwrap();
                let mut c: Vec<u64> = fa.iter().zip(&fb).map(|(&x, &y)| m.mul(x, y)).collect();
                plan.inverse(&mut c).unwrap();
                assert_eq!(c, want, "backend {backend} q={q} n={n}");
            }
        }
    }
}

#[test]
fn forced_backend_errors_are_explicit() {
    let q60 = largest_ntt_prime(60, 1 << 17).unwrap();
    let m = Modulus::new(q60).unwrap();
    // IFMA never serves moduli of 50 bits or more, whatever the CPU.
    assert!(NttPlan::with_backend(1024, q60, Backend::Ifma).is_err());
    assert!(!Backend::available(&m).contains(&Backend::Ifma));
    for b in Backend::ALL {
        let ok = b.check(&m).is_ok();
        assert_eq!(NttPlan::with_backend(16, q60, b).is_ok(), ok, "{b}");
    }
}
