//! The HomomorphicEncryption.org bounds (DESIGN.md §4), enforced: the check function over the
//! whole table at the real-valued boundary, the exact count of `log2(Q·P)`, and both scheme
//! builders from their smallest supported degree at every classical level.
//!
//! The table below is DESIGN.md §4 (the standard for N = 2^10 … 2^15, OpenFHE's
//! `stdlatticeparms.cpp` at commit f387eaf05bdbcf7a970622fdd48aec443363a0e8 for 2^16 and 2^17),
//! written out again here so that a change to `params.rs` cannot move both sides at once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use migrationfhe::math::primes::is_prime;
use migrationfhe::params::{
    check_security, log2_qp, log_qp, max_log_qp, SecretDistribution, SecurityLevel,
};
use migrationfhe::{bfv, ckks, Error};
use num_bigint::BigUint;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use SecretDistribution::{Gaussian, Ternary};
use SecurityLevel::{Classic128, Classic192, Classic256, InsecureForTesting, Quantum128};

/// `(N, 128-bit, 192-bit, 256-bit)` classical, ternary secret: DESIGN.md §4.
const TABLE: [(usize, u32, u32, u32); 8] = [
    (1024, 27, 19, 14),
    (2048, 54, 37, 29),
    (4096, 109, 75, 58),
    (8192, 218, 152, 118),
    (16384, 438, 305, 237),
    (32768, 881, 611, 476),
    (65536, 1747, 1199, 929),
    (131072, 3523, 2411, 1866),
];

/// Gaussian secret, 128-bit classical, N = 2^10 … 2^15 (DESIGN.md §4).
const GAUSSIAN_128: [u32; 6] = [29, 56, 111, 220, 440, 883];

/// 128-bit quantum, ternary: the standard (2^10 … 2^15) and OpenFHE (2^16, 2^17).
const QUANTUM_128: [u32; 8] = [25, 51, 101, 202, 411, 827, 1663, 3348];

fn rows() -> impl Iterator<Item = (usize, SecurityLevel, u32)> {
    TABLE
        .iter()
        .flat_map(|&(n, a, b, c)| [(n, Classic128, a), (n, Classic192, b), (n, Classic256, c)])
}

/// Factors (each below 2^64) whose product is `2^e`.
fn pow2(e: u32) -> Vec<u64> {
    let mut v = vec![1u64 << 62; (e / 62) as usize];
    if !e.is_multiple_of(62) {
        v.push(1 << (e % 62));
    }
    v
}

/// Factors whose product is `f · 2^e`.
fn times_pow2(f: u64, e: u32) -> Vec<u64> {
    let mut v = pow2(e);
    v.push(f);
    v
}

fn check(n: usize, moduli: &[u64], level: SecurityLevel) -> Result<(), Error> {
    check_security(n, moduli, level, Ternary)
}

#[test]
fn table_is_design_section_4() {
    for (n, level, max) in rows() {
        assert_eq!(max_log_qp(n, level, Ternary), Some(max), "N = {n}, {level}");
    }
    for (i, &(n, ..)) in TABLE.iter().enumerate() {
        assert_eq!(max_log_qp(n, Quantum128, Ternary), Some(QUANTUM_128[i]));
        let gaussian = GAUSSIAN_128.get(i).copied().unwrap_or(TABLE[i].1);
        assert_eq!(max_log_qp(n, Classic128, Gaussian), Some(gaussian));
    }
}

#[test]
fn check_function_at_the_real_valued_boundary_over_the_whole_table() {
    for (n, level, max) in rows().chain(
        TABLE
            .iter()
            .zip(QUANTUM_128)
            .map(|(&(n, ..), m)| (n, Quantum128, m)),
    ) {
        let refused = |moduli: &[u64], what: &str| {
            assert_eq!(
                check(n, moduli, level),
                Err(Error::InsecureParameters {
                    degree: n,
                    log_qp: log_qp(moduli),
                    max_log_qp: max,
                    security: level,
                }),
                "N = {n}, {level}: {what} must be refused"
            );
        };
        // At the bound exactly: Q·P = 2^max, log2 = max.
        let at = pow2(max);
        assert_eq!(log_qp(&at), max);
        assert!(check(n, &at, level).is_ok(), "N = {n}, {level}: 2^max");
        // Just below and just above: (2^k ∓ 1)·2^(max-k), log2 = max ∓ 2^-k/ln 2 (k = 62 for
        // every bound but the smallest ones, where k = max).
        let k = max.min(62);
        let below = times_pow2((1 << k) - 1, max - k);
        assert_eq!(log_qp(&below), max);
        assert!(check(n, &below, level).is_ok(), "N = {n}, {level}: below");
        let above = times_pow2((1 << k) + 1, max - k);
        assert_eq!(log_qp(&above), max + 1);
        refused(&above, "2^max + 2^(max-k)");
        // Half a bit either side: ⌊2^13.5⌋·2^(max-13) and ⌊2^12.5⌋·2^(max-13).
        let (s135, s125) = (11_585u64, 5_792u64);
        assert!((log2_qp(&[s135]) - 13.5).abs() < 1e-3);
        assert!((log2_qp(&[s125]) - 12.5).abs() < 1e-3);
        refused(&times_pow2(s135, max - 13), "2^(max + 0.5)");
        assert!(check(n, &times_pow2(s125, max - 13), level).is_ok());
        // One bit more: (2^k - 1)·2^(max+1-k), just under 2^(max+1), and 2^(max+1).
        let k = (max + 1).min(62);
        refused(
            &times_pow2((1 << k) - 1, max + 1 - k),
            "just under one bit more",
        );
        refused(&pow2(max + 1), "one bit more");
        // Everything goes with the explicit escape hatch.
        assert!(check(n, &pow2(max + 100), InsecureForTesting).is_ok());
    }
}

#[test]
fn gaussian_secrets_get_their_two_bits() {
    for (i, &(n, ternary, ..)) in TABLE.iter().enumerate() {
        let max = GAUSSIAN_128.get(i).copied().unwrap_or(ternary);
        let ok = check_security(n, &pow2(max), Classic128, Gaussian);
        assert!(ok.is_ok(), "N = {n}");
        let over = check_security(
            n,
            &times_pow2((1 << 20) + 1, max - 20),
            Classic128,
            Gaussian,
        );
        assert!(
            matches!(over, Err(Error::InsecureParameters { .. })),
            "N = {n}"
        );
    }
}

#[test]
fn degrees_without_a_row_are_refused_with_a_clear_message() {
    for n in [0, 1, 512, 1000, 3000, 1 << 18] {
        for level in [Classic128, Classic192, Classic256, Quantum128] {
            let e = check(n, &[65537], level).unwrap_err();
            assert_eq!(
                e,
                Error::InsecureParameters {
                    degree: n,
                    log_qp: 17,
                    max_log_qp: 0,
                    security: level,
                }
            );
            let msg = e.to_string();
            assert!(msg.contains(&format!("N = {n}")) && msg.contains(&level.to_string()));
            assert!(msg.contains("rates no modulus"), "{msg}");
        }
    }
}

#[test]
fn log_qp_is_the_exact_ceiling_of_the_real_log2() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    for round in 0..300 {
        let count = 1 + (rng.next_u64() % 70) as usize;
        let moduli: Vec<u64> = (0..count)
            .map(|_| {
                let bits = 2 + rng.next_u64() % 62; // 2 ..= 63 bits
                (rng.next_u64() >> (64 - bits)) | (1 << (bits - 1))
            })
            .collect();
        let product: BigUint = moduli.iter().map(|&q| BigUint::from(q)).product();
        // ⌈log2 X⌉ = bits(X - 1).
        let want = (product.clone() - 1u32).bits() as u32;
        assert_eq!(log_qp(&moduli), want, "round {round}");
        // The real value: within 1e-9 of log2 X (from the top 64 bits of the product).
        let shift = product.bits().saturating_sub(64);
        let top = (&product >> shift).iter_u64_digits().next().unwrap() as f64;
        let real = top.log2() + shift as f64;
        assert!((log2_qp(&moduli) - real).abs() < 1e-9, "round {round}");
        assert!(log2_qp(&moduli) <= f64::from(want) + 1e-9);
    }
    assert_eq!(log_qp(&[]), 0);
    assert_eq!(log_qp(&[1, 1]), 0);
    assert_eq!(log_qp(&[2]), 1);
    assert_eq!(log_qp(&[3]), 2);
    assert_eq!(log_qp(&[u64::MAX, u64::MAX]), 128);
}

/// The error a builder must return for a set above the bound, and its message.
fn assert_refused(r: Result<(), Error>, n: usize, level: SecurityLevel, max: u32, at_least: u32) {
    match r {
        Err(
            ref e @ Error::InsecureParameters {
                degree,
                log_qp,
                max_log_qp,
                security,
            },
        ) => {
            assert_eq!((degree, max_log_qp, security), (n, max, level));
            assert!(log_qp > max && log_qp >= at_least, "{e}");
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("N = {n}"))
                    && msg.contains(&level.to_string())
                    && msg.contains(&format!("{max} bits")),
                "{msg}"
            );
        }
        other => panic!("N = {n}, {level}: expected InsecureParameters, got {other:?}"),
    }
}

/// `total` bits as `count` sizes differing by at most one, largest first.
fn spread(total: u32, count: u32) -> Vec<u32> {
    (0..count)
        .map(|i| total / count + u32::from(i < total % count))
        .collect()
}

/// BFV: from the smallest supported degree (2^11) to the largest (2^16), at each classical
/// level, the largest bit sizes that fit are accepted (with `⌈log2 Q·P⌉ = max`), one bit more
/// on one prime is refused, and where no two primes of 25 bits fit the builder says so.
#[test]
fn bfv_builder_bounds_from_the_smallest_degree() {
    const T: u64 = 17; // a small prime plaintext modulus: Q needs only 16 bits more
    let build = |n: usize, level, q: &[u32], p: &[u32]| {
        bfv::Parameters::builder()
            .degree(n)
            .plaintext_modulus(T)
            .ciphertext_moduli_bits(q)
            .special_moduli_bits(p)
            .security(level)
            .build()
    };
    for (n, level, max) in rows().filter(|r| r.0 >= 2048 && r.0 <= 65536) {
        if max < 50 {
            // Two primes of 25 bits do not fit: 2^11 at 192 and 256 bits.
            let r = build(n, level, &[25], &[25]).map(|_| ());
            assert_refused(r, n, level, max, 50);
            continue;
        }
        let count = max.div_ceil(50).max(2);
        let bits = spread(max, count);
        let (p, q) = bits.split_last().unwrap();
        let params = build(n, level, q, &[*p]).unwrap();
        let mut all = params.ring().q_moduli();
        all.extend(params.ring().p_moduli());
        assert_eq!(log_qp(&all), max, "N = {n}, {level}");
        assert!(log2_qp(&all) <= f64::from(max));
        // One bit more on the first prime.
        let mut q_more = q.to_vec();
        q_more[0] += 1;
        assert_refused(
            build(n, level, &q_more, &[*p]).map(|_| ()),
            n,
            level,
            max,
            max + 1,
        );
    }
    // Below 2^11 BFV refuses the degree itself (only the insecure test mode allows it).
    assert!(matches!(
        build(1024, Classic128, &[14], &[13]),
        Err(Error::InvalidDegree { .. })
    ));
}

/// The count is the real log2, not the sum of bit lengths: primes just above a power of two
/// whose bit lengths add up to more than the bound are accepted when their product fits.
#[test]
fn bfv_builder_counts_the_real_log2() {
    let n = 8192;
    let two_n = 2 * n as u64;
    // Five primes just above 2^43 = 1 mod 2N: 44 bits each (220 > 218), log2 ≈ 215.
    let mut primes = Vec::new();
    let mut c = (1u64 << 43) + 1;
    while primes.len() < 5 {
        if is_prime(c) {
            primes.push(c);
        }
        c += two_n;
    }
    assert!(primes.iter().all(|&q| q >> 43 == 1));
    let params = bfv::Parameters::builder()
        .degree(n)
        .plaintext_modulus(65537)
        .ciphertext_moduli(&primes[..4])
        .special_moduli(&primes[4..])
        .build()
        .unwrap();
    let mut all = params.ring().q_moduli();
    all.extend(params.ring().p_moduli());
    assert!(log2_qp(&all) < 215.01);
    assert_eq!(log_qp(&all), 216);
}

/// CKKS: from 2^10 (the table's first row) to 2^17, at each classical level, a chain as long
/// as fits within one bit of the bound is accepted; more levels are refused; where even
/// three primes of 20 bits exceed the bound the builder says so.
#[test]
fn ckks_builder_bounds_from_the_smallest_degree() {
    let build = |n: usize, level, s: u32, levels: usize| {
        ckks::Parameters::builder()
            .degree(n)
            .scale_bits(s)
            .first_prime_bits(s)
            .special_prime_bits(s)
            .special_primes(1)
            .levels(levels)
            .dnum(levels + 1)
            .security(level)
            .build()
    };
    for (n, level, max) in rows() {
        if max < 61 {
            // The smallest chain (first prime, one level, one special prime, 20 bits each).
            let r = build(n, level, 20, 1).map(|_| ());
            assert_refused(r, n, level, max, 60);
            continue;
        }
        // Scale bits with plenty of NTT primes near 2^s for this N (2N must be small next to it).
        let s = if n <= 4096 {
            20
        } else if n <= 16384 {
            30
        } else {
            40
        };
        // (levels + 2)·s <= max - 1: one bit of slack for primes just above 2^s.
        let levels = ((max - 1) / s - 2) as usize;
        let params = build(n, level, s, levels).unwrap();
        let log = log2_qp(
            &params
                .q_moduli()
                .into_iter()
                .chain(params.p_moduli())
                .collect::<Vec<_>>(),
        );
        assert!(
            log <= f64::from(max) && log > f64::from(max - s - 1),
            "N = {n}, {level}: {log}"
        );
        assert!(params.log_qp() <= max);
        // Enough levels more to pass the bound by at least one bit.
        let extra = (max + 2 - (levels as u32 + 2) * s).div_ceil(s) as usize;
        assert_refused(
            build(n, level, s, levels + extra).map(|_| ()),
            n,
            level,
            max,
            max + 1,
        );
    }
    // Below the table: no row, whatever the modulus.
    let r = build(512, Classic128, 20, 1).map(|_| ());
    assert!(matches!(
        r,
        Err(Error::InsecureParameters { max_log_qp: 0, .. })
    ));
}
