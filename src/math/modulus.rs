//! Arithmetic modulo a word-size prime `q < 2^62`.
//!
//! [`Modulus`] stores `q` together with the constants of Barrett reduction (Barrett, CRYPTO 1986;
//! the 128-bit-ratio form used by SEAL) and offers Shoup's precomputed-operand multiplication
//! (Shoup, NTL; analysed for NTTs by Harvey, "Faster arithmetic for number-theoretic transforms",
//! J. Symb. Comp. 2014). Every operation is branch-free: the final conditional subtraction is a
//! mask, so the running time does not depend on the operands (the compiler may still emit
//! `cmov`; no secret-dependent branches or table look-ups are written here).
//!
//! ## Ranges
//!
//! Unless a function says otherwise, inputs and outputs are canonical, in `[0, q)`. The *lazy*
//! variants accept and return the wider ranges written in their docs; those ranges are checked
//! with `debug_assert!`. The bound `q < 2^62` lets the NTT keep values in `[0, 4q)` without
//! overflowing a `u64`.

// Casts between u64, u128 and i64 here take the low word of a product or reinterpret a
// two's-complement value on purpose; each site's range argument is written next to it.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use crate::error::{Error, ModulusError, Result};

/// Largest bit size of a modulus: `q < 2^MAX_MODULUS_BITS`.
pub const MAX_MODULUS_BITS: u32 = 62;

/// A prime modulus `q < 2^62` with its precomputed reduction constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Modulus {
    q: u64,
    /// `floor(2^128 / q)`, high word.
    ratio_hi: u64,
    /// `floor(2^128 / q)`, low word.
    ratio_lo: u64,
    /// `floor(2^64 / q)`: Barrett constant for single words.
    ratio64: u64,
    bits: u32,
}

#[inline(always)]
fn mul_hi(a: u64, b: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) >> 64) as u64
}

/// Returns `x - q` if `x >= q`, else `x`, without branching. Requires `x < 2^63` and `q < 2^63`.
#[inline(always)]
pub(crate) fn csub(x: u64, q: u64) -> u64 {
    let t = x.wrapping_sub(q);
    // Top bit of t is set exactly when x < q (both below 2^63).
    let mask = 0u64.wrapping_sub(t >> 63);
    t.wrapping_add(q & mask)
}

impl Modulus {
    /// Builds the modulus `q`.
    ///
    /// # Errors
    /// [`Error::InvalidModulus`] if `q < 2`, `q >= 2^62`, or `q` is not prime.
    pub fn new(q: u64) -> Result<Self> {
        let reason = if q < 2 {
            Some(ModulusError::TooSmall)
        } else if q >> MAX_MODULUS_BITS != 0 {
            Some(ModulusError::TooLarge)
        } else if !crate::math::primes::is_prime(q) {
            Some(ModulusError::NotPrime)
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(Error::InvalidModulus { modulus: q, reason });
        }
        // floor((2^128 - 1)/q): equal to floor(2^128/q) for every q that is not a power of two,
        // and one less for q = 2; the error analysis in `barrett128` covers both.
        let ratio = u128::MAX / u128::from(q);
        Ok(Self {
            q,
            ratio_hi: (ratio >> 64) as u64,
            ratio_lo: ratio as u64,
            ratio64: u64::MAX / q,
            bits: 64 - q.leading_zeros(),
        })
    }

    /// The modulus `q`.
    #[inline(always)]
    pub const fn value(&self) -> u64 {
        self.q
    }

    /// Bit length of `q` (`ceil(log2(q + 1))`).
    #[inline(always)]
    pub const fn bits(&self) -> u32 {
        self.bits
    }

    /// `(a + b) mod q` for `a, b` in `[0, q)`.
    #[inline(always)]
    pub fn add(&self, a: u64, b: u64) -> u64 {
        debug_assert!(a < self.q && b < self.q);
        csub(a + b, self.q)
    }

    /// `(a - b) mod q` for `a, b` in `[0, q)`.
    #[inline(always)]
    pub fn sub(&self, a: u64, b: u64) -> u64 {
        debug_assert!(a < self.q && b < self.q);
        csub(a + self.q - b, self.q)
    }

    /// `-a mod q` for `a` in `[0, q)`.
    #[inline(always)]
    pub fn neg(&self, a: u64) -> u64 {
        debug_assert!(a < self.q);
        csub(self.q - a, self.q)
    }

    /// `a * b mod q` for `a, b` in `[0, q)` (Barrett reduction of the 128-bit product).
    #[inline(always)]
    pub fn mul(&self, a: u64, b: u64) -> u64 {
        debug_assert!(a < self.q && b < self.q);
        // a * b < q^2 < 2^124, so one conditional subtraction suffices.
        csub(self.reduce_u128_lazy(u128::from(a) * u128::from(b)), self.q)
    }

    /// `x mod q` for any `x < 2^128` (Barrett with the 128-bit ratio `floor(2^128/q)`).
    #[inline(always)]
    pub fn reduce_u128(&self, x: u128) -> u64 {
        csub(csub(self.barrett128(x), self.q), self.q)
    }

    /// `x mod q` up to one multiple of `q`: returns a value in `[0, 2q)` congruent to `x`, for
    /// `x < 2^127`.
    #[inline(always)]
    pub fn reduce_u128_lazy(&self, x: u128) -> u64 {
        debug_assert!(x >> 127 == 0);
        let r = self.barrett128(x);
        debug_assert!(r < 2 * self.q);
        r
    }

    /// Barrett quotient estimate with the 128-bit ratio. Returns a value congruent to `x` in
    /// `[0, 3q)` for every `x < 2^128`, and in `[0, 2q)` for `x < 2^127`.
    ///
    /// Range: with `ratio = 2^128/q - f`, `0 <= f <= 1`, the exact quotient estimate
    /// `x ratio / 2^128` falls short of `x/q` by `x f / 2^128 < 1` (`< 1/2` when `x < 2^127`);
    /// dropping the low word of `x_lo * ratio_lo` costs below `2^-64` more. The floor of the
    /// estimate is then `floor(x/q)` minus at most 2 (at most 1 when `x < 2^127`).
    #[inline(always)]
    fn barrett128(&self, x: u128) -> u64 {
        let x_lo = x as u64;
        let x_hi = (x >> 64) as u64;
        let lo_hi = u128::from(x_lo) * u128::from(self.ratio_hi);
        let hi_lo = u128::from(x_hi) * u128::from(self.ratio_lo);
        let carry = mul_hi(x_lo, self.ratio_lo);
        let mid =
            (lo_hi & u128::from(u64::MAX)) + (hi_lo & u128::from(u64::MAX)) + u128::from(carry);
        let quot = x_hi
            .wrapping_mul(self.ratio_hi)
            .wrapping_add((lo_hi >> 64) as u64)
            .wrapping_add((hi_lo >> 64) as u64)
            .wrapping_add((mid >> 64) as u64);
        // The true remainder is below 3q < 2^64, so wrapping arithmetic is exact.
        x_lo.wrapping_sub(quot.wrapping_mul(self.q))
    }

    /// `x mod q` for any `x < 2^64`.
    #[inline(always)]
    pub fn reduce(&self, x: u64) -> u64 {
        csub(self.reduce_lazy(x), self.q)
    }

    /// Barrett reduction of one word up to one multiple of `q`: any `x < 2^64` in, `[0, 2q)` out.
    #[inline(always)]
    pub fn reduce_lazy(&self, x: u64) -> u64 {
        // quot = floor(x * floor(2^64/q) / 2^64) is floor(x/q) or one less.
        let r = x.wrapping_sub(mul_hi(x, self.ratio64).wrapping_mul(self.q));
        debug_assert!(r < 2 * self.q);
        r
    }

    /// Shoup companion of `w` in `[0, q)`: `floor(w * 2^64 / q)`.
    #[inline(always)]
    pub fn shoup(&self, w: u64) -> u64 {
        debug_assert!(w < self.q);
        ((u128::from(w) << 64) / u128::from(self.q)) as u64
    }

    /// `a * w mod q` with `w` in `[0, q)` and `w_shoup = self.shoup(w)`; any `a < 2^64`.
    #[inline(always)]
    pub fn mul_shoup(&self, a: u64, w: u64, w_shoup: u64) -> u64 {
        csub(self.mul_shoup_lazy(a, w, w_shoup), self.q)
    }

    /// Shoup multiplication up to one multiple of `q`: any `a < 2^64`, `w` in `[0, q)`; returns a
    /// value in `[0, 2q)` congruent to `a * w`.
    ///
    /// Proof of the range: with `w' = floor(w 2^64 / q)`, `a w' / 2^64 > a w / q - a / 2^64 >
    /// a w / q - 1`, so the quotient estimate `floor(a w' / 2^64)` is `floor(a w / q)` or one
    /// less, and the remainder `a w - est * q` lies in `[0, 2q)`. The subtraction is computed
    /// modulo `2^64`, which is exact because the true remainder is below `2q < 2^63`.
    #[inline(always)]
    pub fn mul_shoup_lazy(&self, a: u64, w: u64, w_shoup: u64) -> u64 {
        debug_assert!(w < self.q);
        let est = mul_hi(a, w_shoup);
        let r = a.wrapping_mul(w).wrapping_sub(est.wrapping_mul(self.q));
        debug_assert!(r < 2 * self.q);
        r
    }

    /// `a + b` reduced into `[0, 2q)` for `a, b` in `[0, 2q)` (lazy addition).
    #[inline(always)]
    pub fn add_lazy(&self, a: u64, b: u64) -> u64 {
        debug_assert!(a < 2 * self.q && b < 2 * self.q);
        csub(a + b, 2 * self.q)
    }

    /// `a^e mod q` for `a` in `[0, q)`. Square-and-multiply over all 64 bits of `e` with a masked
    /// select, so the running time depends on neither `a` nor `e`.
    pub fn pow(&self, a: u64, e: u64) -> u64 {
        debug_assert!(a < self.q);
        let mut result = csub(1, self.q);
        let mut base = a;
        for i in 0..64 {
            let bit = (e >> i) & 1;
            let mask = 0u64.wrapping_sub(bit);
            let prod = self.mul(result, base);
            result = (prod & mask) | (result & !mask);
            base = self.mul(base, base);
        }
        result
    }

    /// `a^{-1} mod q` (Fermat: `a^{q-2}`), constant time.
    ///
    /// # Errors
    /// [`Error::NotInvertible`] if `a = 0 mod q`.
    pub fn inv(&self, a: u64) -> Result<u64> {
        let a = self.reduce(a);
        if a == 0 {
            return Err(Error::NotInvertible { modulus: self.q });
        }
        Ok(self.pow(a, self.q - 2))
    }

    /// Centered representative of `a` in `[0, q)`: a signed value in `(-q/2, q/2]`.
    #[inline(always)]
    pub fn center(&self, a: u64) -> i64 {
        debug_assert!(a < self.q);
        let half = self.q >> 1;
        // a > half  <=>  half - a underflows.
        let mask = 0u64.wrapping_sub(half.wrapping_sub(a) >> 63);
        (a as i64).wrapping_sub((self.q & mask) as i64)
    }

    /// Reduces a signed value into `[0, q)`.
    #[inline(always)]
    pub fn reduce_i64(&self, a: i64) -> u64 {
        let abs = a.unsigned_abs();
        let r = self.reduce(abs);
        let neg = 0u64.wrapping_sub((a as u64) >> 63);
        let negated = csub(self.q - r, self.q);
        (negated & neg) | (r & !neg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Largest primes below 2^30, 2^50, 2^51, 2^61 and 2^62.
    const PRIMES: [u64; 5] = [
        (1 << 30) - 35,
        (1 << 50) - 27,
        (1 << 51) - 129,
        (1 << 61) - 1,
        (1 << 62) - 57,
    ];

    #[test]
    fn constructor_checks() {
        for p in PRIMES {
            assert!(Modulus::new(p).is_ok(), "{p}");
        }
        assert_eq!(
            Modulus::new(0),
            Err(Error::InvalidModulus {
                modulus: 0,
                reason: ModulusError::TooSmall
            })
        );
        assert_eq!(
            Modulus::new(1 << 62).unwrap_err(),
            Error::InvalidModulus {
                modulus: 1 << 62,
                reason: ModulusError::TooLarge
            }
        );
        assert_eq!(
            Modulus::new((1 << 62) + 135).unwrap_err(),
            Error::InvalidModulus {
                modulus: (1 << 62) + 135,
                reason: ModulusError::TooLarge
            }
        );
        assert_eq!(
            Modulus::new(91).unwrap_err(),
            Error::InvalidModulus {
                modulus: 91,
                reason: ModulusError::NotPrime
            }
        );
        assert!(Modulus::new(2).is_ok());
        assert!(Modulus::new(3).is_ok());
    }

    #[test]
    fn edges() {
        for p in PRIMES {
            let m = Modulus::new(p).unwrap();
            assert_eq!(m.add(p - 1, p - 1), p - 2);
            assert_eq!(m.sub(0, p - 1), 1);
            assert_eq!(m.neg(0), 0);
            assert_eq!(m.mul(p - 1, p - 1), 1);
            assert_eq!(m.reduce_u128(u128::MAX), (u128::MAX % u128::from(p)) as u64);
            assert_eq!(m.reduce(u64::MAX), u64::MAX % p);
            assert_eq!(m.pow(p - 1, 0), 1);
            assert_eq!(m.inv(0), Err(Error::NotInvertible { modulus: p }));
            assert_eq!(m.center(p - 1), -1);
            assert_eq!(m.center(0), 0);
            assert_eq!(m.reduce_i64(-1), p - 1);
            assert_eq!(m.reduce_i64(i64::MIN), (p - (1u64 << 63) % p) % p);
        }
    }

    fn arb_case() -> impl Strategy<Value = (u64, u64, u64, u64)> {
        (0..PRIMES.len(), any::<u64>(), any::<u64>(), any::<u64>())
            .prop_map(|(i, a, b, e)| (PRIMES[i], a % PRIMES[i], b % PRIMES[i], e))
    }

    proptest! {
        #[test]
        fn ops_match_u128((p, a, b, e) in arb_case(), x in any::<u128>(), y in any::<u64>()) {
            let m = Modulus::new(p).unwrap();
            let (p128, a128, b128) = (u128::from(p), u128::from(a), u128::from(b));
            prop_assert_eq!(u128::from(m.add(a, b)), (a128 + b128) % p128);
            prop_assert_eq!(u128::from(m.sub(a, b)), (a128 + p128 - b128) % p128);
            prop_assert_eq!(u128::from(m.neg(a)), (p128 - a128) % p128);
            prop_assert_eq!(u128::from(m.mul(a, b)), a128 * b128 % p128);
            prop_assert_eq!(u128::from(m.reduce_u128(x)), x % p128);
            let half = x >> 1;
            let lazy = m.reduce_u128_lazy(half);
            prop_assert!(lazy < 2 * p && u128::from(lazy) % p128 == half % p128);
            prop_assert_eq!(m.reduce(y), y % p);
            let lazy = m.reduce_lazy(y);
            prop_assert!(lazy < 2 * p && lazy % p == y % p);
            let ws = m.shoup(b);
            prop_assert_eq!(u128::from(m.mul_shoup(y, b, ws)), u128::from(y) * b128 % p128);
            let lazy = m.mul_shoup_lazy(y, b, ws);
            prop_assert!(lazy < 2 * p);
            prop_assert_eq!(u128::from(lazy) % p128, u128::from(y) * b128 % p128);
            // pow against repeated squaring in u128.
            let mut want = 1u128;
            let mut base = a128;
            let mut k = e;
            while k > 0 {
                if k & 1 == 1 { want = want * base % p128; }
                base = base * base % p128;
                k >>= 1;
            }
            prop_assert_eq!(u128::from(m.pow(a, e)), want % p128);
            if a != 0 {
                let inv = m.inv(a).unwrap();
                prop_assert_eq!(m.mul(a, inv), 1);
            }
            let c = m.center(a);
            prop_assert!(c > -((p / 2) as i64) - 1 && c <= (p / 2) as i64);
            prop_assert_eq!(m.reduce_i64(c), a);
            let s = y as i64;
            prop_assert_eq!(u128::from(m.reduce_i64(s)), (i128::from(s).rem_euclid(p as i128)) as u128);
        }
    }
}
