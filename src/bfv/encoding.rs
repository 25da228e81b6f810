//! BFV plaintext encodings: batching (SIMD slots) and coefficients.
//!
//! **Batching** (Smart and Vercauteren, "Fully homomorphic SIMD operations", DCC 2014; the
//! layout of SEAL's `BatchEncoder`). When the plaintext modulus `t` is a prime with
//! `t = 1 (mod 2N)`, `Z_t[X]/(X^N + 1)` splits into `N` copies of `Z_t`: a plaintext polynomial `m`
//! holds the `N` values `m(ζ^e)` for the odd exponents `e`, `ζ` the smallest primitive `2N`-th
//! root of unity mod `t`. The slots form a `2 × N/2` matrix:
//!
//! - slot `(0, j)` holds `m(ζ^(3^j mod 2N))`, slot `(1, j)` holds `m(ζ^(-3^j mod 2N))`,
//!   `j = 0 … N/2 - 1`; the flat slot index is `r·N/2 + j`.
//!
//! The Galois automorphism `X -> X^(3^k)` then rotates both rows left by `k` columns, and
//! `X -> X^(2N-1)` swaps the rows. Adding or multiplying plaintexts adds or multiplies the slots
//! component-wise modulo `t`.
//!
//! **Coefficient encoding** puts the values straight into the coefficients of `m`; products
//! are then negacyclic convolutions.
//!
//! Signed values `v` in `(-t/2, t/2]` are stored as `v mod t` and decoded to the centred
//! representative.

use crate::error::{Error, Result};
use crate::math::modulus::Modulus;
use crate::math::ntt::{bit_reverse, NttPlan};

/// Generator of the column rotations: `3` has order `N/2` modulo `2N` for every power-of-two `N`.
pub const ROW_GENERATOR: usize = 3;

/// Encodes `N` values modulo a batching prime `t` into a plaintext polynomial and back.
#[derive(Clone, Debug)]
pub struct BatchEncoder {
    plan: NttPlan,
    /// `slot_to_ntt[s]` is the index, in the bit-reversed order of [`NttPlan::forward`], of the
    /// evaluation that holds slot `s`.
    slot_to_ntt: Vec<usize>,
}

impl BatchEncoder {
    /// An encoder for degree `n` and plaintext modulus `t`.
    ///
    /// # Errors
    /// [`Error::InvalidModulus`] if `t` is not a prime `= 1 (mod 2n)` below `2^62`;
    /// [`Error::InvalidDegree`] if `n` is not a power of two in `[4, 2^17]`.
    pub fn new(n: usize, t: u64) -> Result<Self> {
        if n < 4 {
            return Err(Error::InvalidDegree {
                degree: n,
                min: 4,
                max: crate::math::ntt::MAX_DEGREE,
            });
        }
        let plan = NttPlan::new(n, t)?;
        let two_n = 2 * n;
        let log_n = n.trailing_zeros();
        let half = n / 2;
        let mut slot_to_ntt = vec![0usize; n];
        let mut e = 1usize;
        for j in 0..half {
            // NTT index i holds the evaluation at zeta^(2 brv(i) + 1).
            slot_to_ntt[j] = bit_reverse((e - 1) / 2, log_n);
            slot_to_ntt[half + j] = bit_reverse((two_n - e - 1) / 2, log_n);
            e = (e * ROW_GENERATOR) % two_n;
        }
        Ok(Self { plan, slot_to_ntt })
    }

    /// Number of slots (`N`).
    pub fn slots(&self) -> usize {
        self.slot_to_ntt.len()
    }

    /// The plaintext modulus.
    pub fn plaintext_modulus(&self) -> &Modulus {
        self.plan.modulus()
    }

    /// Encodes up to `N` values in `[0, t)` (missing slots are zero) into the coefficients of a
    /// plaintext polynomial, in `[0, t)`.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] for more than `N` values; [`Error::ValueOutOfRange`] for a value
    /// `>= t` (reduce it first, or use [`BatchEncoder::encode_signed`]).
    pub fn encode(&self, values: &[u64]) -> Result<Vec<u64>> {
        let t = self.plan.modulus().value();
        if values.len() > self.slots() {
            return Err(Error::LengthMismatch {
                expected: self.slots(),
                found: values.len(),
            });
        }
        if values.iter().any(|&v| v >= t) {
            return Err(Error::ValueOutOfRange {
                what: "slot value not below the plaintext modulus t",
            });
        }
        let mut evals = vec![0u64; self.slots()];
        for (&v, &i) in values.iter().zip(&self.slot_to_ntt) {
            evals[i] = v;
        }
        self.plan.inverse(&mut evals)?;
        Ok(evals)
    }

    /// Encodes signed values `|v| <= (t-1)/2` (stored as `v mod t`).
    ///
    /// # Errors
    /// As [`BatchEncoder::encode`]; [`Error::ValueOutOfRange`] if `|v| > (t-1)/2`.
    pub fn encode_signed(&self, values: &[i64]) -> Result<Vec<u64>> {
        let t = self.plan.modulus();
        let half = (t.value() - 1) / 2;
        if values.iter().any(|v| v.unsigned_abs() > half) {
            return Err(Error::ValueOutOfRange {
                what: "signed slot value beyond (t-1)/2 in magnitude",
            });
        }
        let reduced: Vec<u64> = values.iter().map(|&v| t.reduce_i64(v)).collect();
        self.encode(&reduced)
    }

    /// Decodes the `N` slot values in `[0, t)` of a plaintext polynomial.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `coeffs.len() != N`; [`Error::ValueOutOfRange`] for a
    /// coefficient `>= t`.
    pub fn decode(&self, coeffs: &[u64]) -> Result<Vec<u64>> {
        let t = self.plan.modulus().value();
        if coeffs.len() != self.slots() {
            return Err(Error::LengthMismatch {
                expected: self.slots(),
                found: coeffs.len(),
            });
        }
        // The largest value, without an early exit (a reduction that vectorises).
        if coeffs.iter().fold(0, |m, &c| m.max(c)) >= t {
            return Err(Error::ValueOutOfRange {
                what: "plaintext coefficient not below t",
            });
        }
        let mut evals = coeffs.to_vec();
        self.plan.forward(&mut evals)?;
        Ok(self.slot_to_ntt.iter().map(|&i| evals[i]).collect())
    }

    /// Decodes to centred values in `(-t/2, t/2]`.
    ///
    /// # Errors
    /// As [`BatchEncoder::decode`].
    pub fn decode_signed(&self, coeffs: &[u64]) -> Result<Vec<i64>> {
        let t = self.plan.modulus();
        Ok(self
            .decode(coeffs)?
            .into_iter()
            .map(|v| t.center(v))
            .collect())
    }
}

/// Places values directly in the coefficients of a plaintext polynomial modulo `t`.
#[derive(Clone, Copy, Debug)]
pub struct CoefficientEncoder {
    n: usize,
    t: Modulus,
}

impl CoefficientEncoder {
    /// An encoder for degree `n` and plaintext modulus `t` (any prime below `2^62`).
    ///
    /// # Errors
    /// [`Error::InvalidModulus`] for a bad `t`; [`Error::InvalidDegree`] for a bad `n`.
    pub fn new(n: usize, t: u64) -> Result<Self> {
        if !n.is_power_of_two() || !(2..=crate::math::ntt::MAX_DEGREE).contains(&n) {
            return Err(Error::InvalidDegree {
                degree: n,
                min: 2,
                max: crate::math::ntt::MAX_DEGREE,
            });
        }
        Ok(Self {
            n,
            t: Modulus::new(t)?,
        })
    }

    /// Up to `N` values in `[0, t)` as coefficients (the rest zero).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] for more than `N` values; [`Error::ValueOutOfRange`] for `v >= t`.
    pub fn encode(&self, values: &[u64]) -> Result<Vec<u64>> {
        if values.len() > self.n {
            return Err(Error::LengthMismatch {
                expected: self.n,
                found: values.len(),
            });
        }
        if values.iter().any(|&v| v >= self.t.value()) {
            return Err(Error::ValueOutOfRange {
                what: "coefficient not below the plaintext modulus t",
            });
        }
        let mut c = values.to_vec();
        c.resize(self.n, 0);
        Ok(c)
    }

    /// Signed values `|v| <= (t-1)/2` as coefficients.
    ///
    /// # Errors
    /// As [`CoefficientEncoder::encode`].
    pub fn encode_signed(&self, values: &[i64]) -> Result<Vec<u64>> {
        let half = (self.t.value() - 1) / 2;
        if values.iter().any(|v| v.unsigned_abs() > half) {
            return Err(Error::ValueOutOfRange {
                what: "signed coefficient beyond (t-1)/2 in magnitude",
            });
        }
        self.encode(
            &values
                .iter()
                .map(|&v| self.t.reduce_i64(v))
                .collect::<Vec<_>>(),
        )
    }

    /// Centred coefficients in `(-t/2, t/2]`.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] or [`Error::ValueOutOfRange`] for a malformed plaintext.
    pub fn decode_signed(&self, coeffs: &[u64]) -> Result<Vec<i64>> {
        if coeffs.len() != self.n {
            return Err(Error::LengthMismatch {
                expected: self.n,
                found: coeffs.len(),
            });
        }
        if coeffs.iter().any(|&c| c >= self.t.value()) {
            return Err(Error::ValueOutOfRange {
                what: "plaintext coefficient not below t",
            });
        }
        Ok(coeffs.iter().map(|&c| self.t.center(c)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::primes::ntt_primes;
    use proptest::prelude::*;

    fn negacyclic_mul(a: &[u64], b: &[u64], t: &Modulus) -> Vec<u64> {
        let n = a.len();
        let mut c = vec![0u64; n];
        for (i, &x) in a.iter().enumerate() {
            for (j, &y) in b.iter().enumerate() {
                let p = t.mul(x, y);
                if i + j < n {
                    c[i + j] = t.add(c[i + j], p);
                } else {
                    c[i + j - n] = t.sub(c[i + j - n], p);
                }
            }
        }
        c
    }

    /// `m(X) -> m(X^k)` on coefficients modulo t.
    fn automorphism(m: &[u64], k: usize, t: &Modulus) -> Vec<u64> {
        let n = m.len();
        let mut out = vec![0u64; n];
        for (i, &c) in m.iter().enumerate() {
            let j = (i * k) % (2 * n);
            if j < n {
                out[j] = c;
            } else {
                out[j - n] = t.neg(c);
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn slots_multiply_and_rotate(seed in any::<u64>(), log_n in 2u32..=7, k in 0usize..64) {
            let n = 1usize << log_n;
            let t = ntt_primes(30, n, 1).unwrap()[0];
            let enc = BatchEncoder::new(n, t).unwrap();
            let tm = *enc.plaintext_modulus();
            let mut s = seed;
            let mut next = || { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (s >> 16) % t };
            let a: Vec<u64> = (0..n).map(|_| next()).collect();
            let b: Vec<u64> = (0..n).map(|_| next()).collect();
            let (pa, pb) = (enc.encode(&a).unwrap(), enc.encode(&b).unwrap());
            prop_assert_eq!(enc.decode(&pa).unwrap(), a.clone());
            // Slot-wise product.
            let prod = enc.decode(&negacyclic_mul(&pa, &pb, &tm)).unwrap();
            for i in 0..n { prop_assert_eq!(prod[i], tm.mul(a[i], b[i])); }
            // X -> X^(3^k) rotates each row left by k.
            let half = n / 2;
            let k = k % half;
            let g = (0..k).fold(1usize, |g, _| g * 3 % (2 * n));
            let rot = enc.decode(&automorphism(&pa, g, &tm)).unwrap();
            for r in 0..2 { for j in 0..half {
                prop_assert_eq!(rot[r * half + j], a[r * half + (j + k) % half]);
            }}
            // X -> X^(2N-1) swaps the rows.
            let sw = enc.decode(&automorphism(&pa, 2 * n - 1, &tm)).unwrap();
            for j in 0..half {
                prop_assert_eq!(sw[j], a[half + j]);
                prop_assert_eq!(sw[half + j], a[j]);
            }
        }
    }

    #[test]
    fn signed_values_and_errors() {
        let n = 16;
        let t = ntt_primes(20, n, 1).unwrap()[0];
        let enc = BatchEncoder::new(n, t).unwrap();
        let half = i64::try_from((t - 1) / 2).unwrap();
        let v: Vec<i64> = vec![-1, 0, 1, half, -half, 42, -42_000, 7];
        let mut want = v.clone();
        want.resize(n, 0);
        assert_eq!(
            enc.decode_signed(&enc.encode_signed(&v).unwrap()).unwrap(),
            want
        );
        assert!(enc.encode_signed(&[half + 1]).is_err());
        assert!(enc.encode(&[t]).is_err());
        assert!(enc.encode(&[0; 17]).is_err());
        assert!(enc.decode(&[0; 15]).is_err());
        assert!(BatchEncoder::new(16, 113).is_err()); // 113 = 17 mod 32
        let ce = CoefficientEncoder::new(n, t).unwrap();
        assert_eq!(
            ce.decode_signed(&ce.encode_signed(&v).unwrap()).unwrap(),
            want
        );
        assert!(ce.encode(&[t]).is_err());
    }
}
