//! NTT-friendly primes and primitive roots of unity.
//!
//! A prime `q` supports a negacyclic NTT of length `n` when `q = 1 (mod 2n)`: then `Z_q^*`
//! contains a primitive `2n`-th root of unity `psi`. [`is_prime`] is a deterministic Miller–Rabin
//! test for every `u64` (the first twelve primes as bases are a proven witness set below
//! `3.3 * 10^24`; Sorenson and Webster, Math. Comp. 2017). [`NttPrimes`] enumerates primes of a
//! given bit size downwards, and [`minimal_primitive_root`] returns the *smallest* primitive
//! `2n`-th root, the canonical choice that makes independently built NTTs agree (as SEAL and
//! Swift HE do).
//!
//! # Timing
//! Everything here works on public values (moduli, degrees) and is variable time.

use crate::error::{Error, ModulusError, Result};
use crate::math::modulus::{Modulus, MAX_MODULUS_BITS};

#[allow(clippy::cast_possible_truncation)] // the remainder is below m < 2^64
fn mul_mod(a: u64, b: u64, m: u64) -> u64 {
    (u128::from(a) * u128::from(b) % u128::from(m)) as u64
}

fn pow_mod(mut a: u64, mut e: u64, m: u64) -> u64 {
    let mut r = 1 % m;
    a %= m;
    while e > 0 {
        if e & 1 == 1 {
            r = mul_mod(r, a, m);
        }
        a = mul_mod(a, a, m);
        e >>= 1;
    }
    r
}

/// Deterministic primality test for any `u64` (Miller–Rabin with the first twelve prime bases).
///
/// # Timing
/// Variable time; use it on public values only.
pub fn is_prime(n: u64) -> bool {
    const BASES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    if n < 2 {
        return false;
    }
    for p in BASES {
        if n.is_multiple_of(p) {
            return n == p;
        }
    }
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    'bases: for a in BASES {
        let mut x = pow_mod(a, d, n);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mul_mod(x, x, n);
            if x == n - 1 {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

fn check_degree(n: usize) -> Result<()> {
    if !n.is_power_of_two() || !(2..=crate::math::ntt::MAX_DEGREE).contains(&n) {
        return Err(Error::InvalidDegree {
            degree: n,
            min: 2,
            max: crate::math::ntt::MAX_DEGREE,
        });
    }
    Ok(())
}

/// Iterator over the primes `q = 1 (mod 2n)` with exactly `bits` bits (`2^(bits-1) < q < 2^bits`),
/// largest first.
#[derive(Clone, Debug)]
pub struct NttPrimes {
    next: u64,
    step: u64,
    floor: u64,
}

impl NttPrimes {
    /// Primes of `bits` bits (`bits` in `[log2(2n) + 2, 62]`) that are `1 mod 2n`.
    ///
    /// # Errors
    /// [`Error::InvalidDegree`] for a bad `n`; [`Error::InvalidModulus`] if `bits > 62`;
    /// [`Error::NotEnoughPrimes`] if `bits` is too small to hold any such prime.
    pub fn new(bits: u32, n: usize) -> Result<Self> {
        check_degree(n)?;
        let step = 2 * n as u64;
        if bits > MAX_MODULUS_BITS {
            return Err(Error::InvalidModulus {
                modulus: u64::MAX,
                reason: ModulusError::TooLarge,
            });
        }
        if bits <= step.trailing_zeros() + 1 {
            return Err(Error::NotEnoughPrimes {
                bits,
                degree: n,
                requested: 1,
                found: 0,
            });
        }
        let top = 1u64 << bits;
        // Largest value below 2^bits that is 1 mod 2n.
        Ok(Self {
            next: top - step + 1,
            step,
            floor: 1u64 << (bits - 1),
        })
    }
}

impl Iterator for NttPrimes {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        while self.next > self.floor {
            let c = self.next;
            self.next -= self.step;
            if is_prime(c) {
                return Some(c);
            }
        }
        None
    }
}

/// The `count` largest distinct primes of `bits` bits with `q = 1 (mod 2n)`, largest first.
///
/// # Errors
/// As [`NttPrimes::new`], and [`Error::NotEnoughPrimes`] if fewer than `count` exist.
pub fn ntt_primes(bits: u32, n: usize, count: usize) -> Result<Vec<u64>> {
    let found: Vec<u64> = NttPrimes::new(bits, n)?.take(count).collect();
    if found.len() < count {
        return Err(Error::NotEnoughPrimes {
            bits,
            degree: n,
            requested: count,
            found: found.len(),
        });
    }
    Ok(found)
}

/// The largest prime below `2^bits` with `q = 1 (mod 2n)` (the test primes at each SIMD bound).
///
/// # Errors
/// As [`ntt_primes`].
pub fn largest_ntt_prime(bits: u32, n: usize) -> Result<u64> {
    Ok(ntt_primes(bits, n, 1)?[0])
}

/// The smallest primitive `2n`-th root of unity modulo the prime `q`.
///
/// All primitive `2n`-th roots are the odd powers `g^k` of any one of them, so this finds one and
/// takes the minimum over the `n` odd powers.
///
/// # Errors
/// [`Error::InvalidDegree`] for a bad `n`; [`Error::InvalidModulus`] if `q` is not a prime below
/// `2^62` or not `1 mod 2n`.
pub fn minimal_primitive_root(n: usize, q: u64) -> Result<u64> {
    check_degree(n)?;
    let m = Modulus::new(q)?;
    let two_n = 2 * n as u64;
    if !(q - 1).is_multiple_of(two_n) {
        return Err(Error::InvalidModulus {
            modulus: q,
            reason: ModulusError::NotNttFriendly { degree: n },
        });
    }
    let cofactor = (q - 1) / two_n;
    // x^((q-1)/2n) has order dividing 2n; it is primitive exactly when its n-th power is -1.
    let mut g = 0;
    for x in 2..q {
        let r = m.pow(x, cofactor);
        if m.pow(r, n as u64) == q - 1 {
            g = r;
            break;
        }
    }
    debug_assert!(g != 0, "a prime q = 1 mod 2n has a primitive 2n-th root");
    let g2 = m.mul(g, g);
    let mut cur = g;
    let mut best = g;
    for _ in 1..n {
        cur = m.mul(cur, g2);
        best = best.min(cur);
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primality_matches_trial_division() {
        fn trial(n: u64) -> bool {
            n >= 2
                && (2..)
                    .take_while(|d| d * d <= n)
                    .all(|d| !n.is_multiple_of(d))
        }
        for n in 0..20_000u64 {
            assert_eq!(is_prime(n), trial(n), "{n}");
        }
        // Strong pseudoprimes: 3215031751 to bases 2, 3, 5, 7; 3825123056546413051 to every
        // prime base up to 23 (the classic witnesses that need base 29 or 31 or 37).
        assert!(!is_prime(3_215_031_751));
        assert!(!is_prime(3_825_123_056_546_413_051));
        assert!(is_prime((1 << 61) - 1));
        assert!(is_prime(18_446_744_073_709_551_557)); // largest u64 prime
        assert!(!is_prime(u64::MAX));
    }

    #[test]
    fn generated_primes_are_ntt_friendly() {
        for (bits, n) in [
            (30, 1 << 12),
            (50, 1 << 16),
            (60, 1 << 17),
            (62, 1 << 17),
            (20, 1 << 4),
        ] {
            let ps = ntt_primes(bits, n, 5).unwrap();
            let mut sorted = ps.clone();
            sorted.dedup();
            assert_eq!(sorted.len(), 5);
            for q in ps {
                assert!(is_prime(q));
                assert_eq!(q % (2 * n as u64), 1, "{q}");
                assert_eq!(64 - q.leading_zeros(), bits);
            }
        }
        assert!(matches!(
            ntt_primes(20, 1 << 16, 100),
            Err(Error::NotEnoughPrimes { .. })
        ));
        assert!(matches!(
            NttPrimes::new(63, 16),
            Err(Error::InvalidModulus { .. })
        ));
        assert!(matches!(
            NttPrimes::new(40, 3),
            Err(Error::InvalidDegree { .. })
        ));
    }

    #[test]
    fn minimal_root_is_primitive_and_smallest() {
        for (q, n) in [(17u64, 8usize), (97, 16), (12289, 1024), (7681, 256)] {
            let psi = minimal_primitive_root(n, q).unwrap();
            let m = Modulus::new(q).unwrap();
            assert_eq!(m.pow(psi, n as u64), q - 1);
            // Brute force: no smaller value is a primitive 2n-th root.
            let smallest = (2..q).find(|&x| m.pow(x, n as u64) == q - 1).unwrap();
            assert_eq!(psi, smallest);
        }
        assert!(matches!(
            minimal_primitive_root(16, 19),
            Err(Error::InvalidModulus { .. })
        ));
        assert!(matches!(
            minimal_primitive_root(16, 21),
            Err(Error::InvalidModulus { .. })
        ));
    }
}
