//! CKKS encoding: the canonical embedding through the special FFT.
//!
//! A plaintext is a polynomial `m` of degree below `N` with integer coefficients. Its `N/2` slots
//! are the values `m(ζ^(5^j mod 2N)) / Δ`, `j = 0 … N/2 - 1`, with `ζ = exp(iπ/N)` and `Δ` the
//! scale (Cheon, Kim, Kim, Song, "Homomorphic Encryption for Arithmetic of Approximate Numbers",
//! ASIACRYPT 2017). The automorphism `X -> X^(5^k)` rotates the slots left by `k`, and
//! `X -> X^(2N-1)` conjugates them. Encoding inverts the embedding with the `O(N log N)` "special
//! FFT" of Cheon, Han, Kim, Kim, Song ("Bootstrapping for Approximate Homomorphic Encryption",
//! EUROCRYPT 2018, the `fftSpecialInv` of HEAAN): `u = σ^-1(z)` and `m_j = round(Δ·Re u_j)`,
//! `m_(j+N/2) = round(Δ·Im u_j)`.
//!
//! ## Bit-identical on every platform
//! Only correctly rounded IEEE-754 operations (`+ - * /`, `round`) are used at run time: no
//! `sin`/`cos`/`exp` from the platform's maths library (whose last bits vary between libms). The
//! roots of unity come from fixed Taylor polynomials evaluated by Horner's rule on `[0, π/4]`
//! and the exact symmetries of the circle; Rust never contracts `a*b + c` into a fused multiply-add
//! on its own. An encoding is therefore the same bits on every CPU and operating system.

use crate::error::{Error, Result};
use core::ops::{Add, Mul, Sub};

/// A complex number in `f64` (only what the encoder needs).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Complex {
    /// Real part.
    pub re: f64,
    /// Imaginary part.
    pub im: f64,
}

impl Complex {
    /// `re + i·im`.
    pub const fn new(re: f64, im: f64) -> Self {
        Self { re, im }
    }

    /// Complex conjugate.
    pub fn conj(self) -> Self {
        Self::new(self.re, -self.im)
    }

    /// `|z|` (computed with one correctly rounded square root).
    pub fn abs(self) -> f64 {
        (self.re * self.re + self.im * self.im).sqrt()
    }
}

impl Add for Complex {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self::new(self.re + o.re, self.im + o.im)
    }
}
impl Sub for Complex {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        Self::new(self.re - o.re, self.im - o.im)
    }
}
impl Mul for Complex {
    type Output = Self;
    fn mul(self, o: Self) -> Self {
        Self::new(
            self.re * o.re - self.im * o.im,
            self.re * o.im + self.im * o.re,
        )
    }
}

/// `(cos x, sin x)` for `x` in `[0, π/4]` from Taylor polynomials of degree 22 and 23 (the
/// truncation error is below `(π/4)^24 / 24! < 10^-25`, far under one ulp).
fn cos_sin_first_octant(x: f64) -> (f64, f64) {
    let x2 = x * x;
    // cos x = sum (-1)^k x^(2k) / (2k)!,  sin x = x · sum (-1)^k x^(2k) / (2k+1)!.
    let mut c = 0.0f64;
    let mut s = 0.0f64;
    for k in (0..12u32).rev() {
        let kf = f64::from(k);
        // 1/(2k)! and 1/(2k+1)! built from exact-enough quotients: Horner form
        // c = 1 - x2/(1·2) (1 - x2/(3·4) (1 - ...)).
        c = 1.0 - x2 / ((2.0 * kf + 1.0) * (2.0 * kf + 2.0)) * c;
        s = 1.0 - x2 / ((2.0 * kf + 2.0) * (2.0 * kf + 3.0)) * s;
    }
    (c, x * s)
}

/// `exp(2πi·k/m)` for `m` a power of two `>= 8`, using only correctly rounded operations.
pub(crate) fn root_of_unity(k: usize, m: usize) -> Complex {
    let k = k % m;
    let eighth = m / 8;
    let octant = k / eighth;
    let r = k % eighth;
    // Angle inside the octant, measured so that it lies in [0, π/4].
    let (a, mirrored) = if octant.is_multiple_of(2) {
        (r, false)
    } else {
        (eighth - r, true)
    };
    #[allow(clippy::cast_precision_loss)] // a < m/8 <= 2^15: exact
    let x = (a as f64) * (2.0 * core::f64::consts::PI / (m as f64));
    let (c, s) = cos_sin_first_octant(x);
    // For odd octants the angle is π/2·⌈o/2⌉ - x: swap cos and sin.
    let (c, s) = if mirrored { (s, c) } else { (c, s) };
    match octant {
        0 | 1 => Complex::new(c, s),
        2 | 3 => Complex::new(-s, c),
        4 | 5 => Complex::new(-c, -s),
        _ => Complex::new(s, -c),
    }
}

/// The CKKS encoder for ring degree `N`: `N/2` complex slots.
#[derive(Clone, Debug)]
pub struct Encoder {
    n: usize,
    /// `roots[k] = exp(2πi k / 2N)`, `k` in `[0, 2N]`.
    roots: Vec<Complex>,
    /// `rot_group[j] = 5^j mod 2N`.
    rot_group: Vec<usize>,
}

/// Generator of the slot rotations: `X -> X^(5^k)` rotates the slots left by `k`.
pub const SLOT_GENERATOR: usize = 5;

impl Encoder {
    /// An encoder for degree `n` (a power of two, `8 <= n <= 2^17`).
    ///
    /// # Errors
    /// [`Error::InvalidDegree`] otherwise.
    pub fn new(n: usize) -> Result<Self> {
        if !n.is_power_of_two() || !(8..=crate::math::ntt::MAX_DEGREE).contains(&n) {
            return Err(Error::InvalidDegree {
                degree: n,
                min: 8,
                max: crate::math::ntt::MAX_DEGREE,
            });
        }
        let m = 2 * n;
        let roots = (0..=m).map(|k| root_of_unity(k, m)).collect();
        let mut rot_group = Vec::with_capacity(n / 2);
        let mut g = 1usize;
        for _ in 0..n / 2 {
            rot_group.push(g);
            g = g * SLOT_GENERATOR % m;
        }
        Ok(Self {
            n,
            roots,
            rot_group,
        })
    }

    /// Number of complex slots (`N/2`).
    pub fn slots(&self) -> usize {
        self.n / 2
    }

    /// Ring degree `N`.
    pub fn degree(&self) -> usize {
        self.n
    }

    fn bit_reverse(vals: &mut [Complex]) {
        let bits = vals.len().trailing_zeros();
        for i in 0..vals.len() {
            let j = crate::math::ntt::bit_reverse(i, bits);
            if i < j {
                vals.swap(i, j);
            }
        }
    }

    /// Evaluates: `u` (the `N/2` complex numbers `m_j + i·m_(j+N/2)`) to the slot values.
    fn fft_special(&self, vals: &mut [Complex]) {
        let size = vals.len();
        let m = 2 * self.n;
        Self::bit_reverse(vals);
        let mut len = 2;
        while len <= size {
            let lenh = len / 2;
            let lenq = len * 4;
            let gap = m / lenq;
            for i in (0..size).step_by(len) {
                for j in 0..lenh {
                    let idx = (self.rot_group[j] % lenq) * gap;
                    let u = vals[i + j];
                    let v = vals[i + j + lenh] * self.roots[idx];
                    vals[i + j] = u + v;
                    vals[i + j + lenh] = u - v;
                }
            }
            len *= 2;
        }
    }

    /// The inverse of [`Encoder::fft_special`], the factor `1/(N/2)` included.
    fn fft_special_inv(&self, vals: &mut [Complex]) {
        let size = vals.len();
        let m = 2 * self.n;
        let mut len = size;
        while len >= 2 {
            let lenh = len / 2;
            let lenq = len * 4;
            let gap = m / lenq;
            for i in (0..size).step_by(len) {
                for j in 0..lenh {
                    let idx = (lenq - self.rot_group[j] % lenq) * gap;
                    let u = vals[i + j] + vals[i + j + lenh];
                    let v = (vals[i + j] - vals[i + j + lenh]) * self.roots[idx];
                    vals[i + j] = u;
                    vals[i + j + lenh] = v;
                }
            }
            len /= 2;
        }
        Self::bit_reverse(vals);
        #[allow(clippy::cast_precision_loss)] // size <= 2^16: exact
        let inv = 1.0 / size as f64;
        for v in vals.iter_mut() {
            v.re *= inv;
            v.im *= inv;
        }
    }

    /// Encodes up to `N/2` complex values (missing slots are zero) at scale `Δ` into the `N`
    /// integer coefficients of a plaintext, as `f64` holding exact integers.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] for more than `N/2` values; [`Error::ValueOutOfRange`] if a value
    /// is not finite, the scale is not a finite positive number, or a coefficient would reach
    /// `2^120` in magnitude (lower the scale or the values).
    pub fn encode(&self, values: &[Complex], scale: f64) -> Result<Vec<f64>> {
        if values.len() > self.slots() {
            return Err(Error::LengthMismatch {
                expected: self.slots(),
                found: values.len(),
            });
        }
        if !(scale.is_finite() && scale > 0.0) {
            return Err(Error::ValueOutOfRange {
                what: "CKKS scale must be finite and positive",
            });
        }
        if values
            .iter()
            .any(|z| !(z.re.is_finite() && z.im.is_finite()))
        {
            return Err(Error::ValueOutOfRange {
                what: "CKKS slot value is not finite",
            });
        }
        let mut u = values.to_vec();
        u.resize(self.slots(), Complex::default());
        self.fft_special_inv(&mut u);
        let half = self.slots();
        let mut coeffs = vec![0.0f64; self.n];
        for (j, z) in u.iter().enumerate() {
            coeffs[j] = (z.re * scale).round();
            coeffs[j + half] = (z.im * scale).round();
        }
        if coeffs.iter().any(|c| c.abs() >= MAX_COEFF || c.is_nan()) {
            return Err(Error::ValueOutOfRange {
                what: "CKKS coefficient reaches 2^120: the values are too large for this scale",
            });
        }
        Ok(coeffs)
    }

    /// Encodes real values (imaginary parts zero).
    ///
    /// # Errors
    /// As [`Encoder::encode`].
    pub fn encode_real(&self, values: &[f64], scale: f64) -> Result<Vec<f64>> {
        let z: Vec<Complex> = values.iter().map(|&x| Complex::new(x, 0.0)).collect();
        self.encode(&z, scale)
    }

    /// Decodes `N` (centred, real-valued) coefficients at scale `Δ` to the `N/2` slot values.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `coeffs.len() != N`; [`Error::ValueOutOfRange`] for a bad
    /// scale.
    pub fn decode(&self, coeffs: &[f64], scale: f64) -> Result<Vec<Complex>> {
        if coeffs.len() != self.n {
            return Err(Error::LengthMismatch {
                expected: self.n,
                found: coeffs.len(),
            });
        }
        if !(scale.is_finite() && scale > 0.0) {
            return Err(Error::ValueOutOfRange {
                what: "CKKS scale must be finite and positive",
            });
        }
        let half = self.slots();
        let inv = 1.0 / scale;
        let mut u: Vec<Complex> = (0..half)
            .map(|j| Complex::new(coeffs[j] * inv, coeffs[j + half] * inv))
            .collect();
        self.fft_special(&mut u);
        Ok(u)
    }
}

/// Largest coefficient magnitude an encoding may produce (`2^120`).
pub const MAX_COEFF: f64 = 1.329_227_995_784_916e36;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn roots_match_libm_closely_and_are_exact_at_symmetries() {
        let m = 1 << 12;
        for k in 0..m {
            let r = root_of_unity(k, m);
            let t = 2.0 * core::f64::consts::PI * k as f64 / m as f64;
            // libm's reference is evaluated at the rounded angle t (up to 2π, so off by up to
            // half an ulp of 2π = 4.4e-16), hence the 1e-15 tolerance; ours reduces first.
            let err = (r.re - t.cos()).abs().max((r.im - t.sin()).abs());
            assert!(err < 1e-15, "k={k}: {err:e}");
            assert!((r.abs() - 1.0).abs() < 4e-16, "k={k}: |root| = {}", r.abs());
        }
        assert_eq!(root_of_unity(0, 64), Complex::new(1.0, 0.0));
        assert_eq!(root_of_unity(16, 64), Complex::new(0.0, 1.0));
        assert_eq!(root_of_unity(32, 64), Complex::new(-1.0, 0.0));
        assert_eq!(MAX_COEFF, 2f64.powi(120));
    }

    /// Direct evaluation of m(ζ^(5^j)) / Δ.
    fn evaluate(coeffs: &[f64], j: usize, scale: f64) -> Complex {
        let n = coeffs.len();
        let e = (0..j).fold(1usize, |g, _| g * 5 % (2 * n));
        let mut acc = Complex::default();
        for (k, &c) in coeffs.iter().enumerate() {
            let t = core::f64::consts::PI * ((e * k) % (2 * n)) as f64 / n as f64;
            acc = acc + Complex::new(c * t.cos(), c * t.sin());
        }
        Complex::new(acc.re / scale, acc.im / scale)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn encode_is_the_inverse_canonical_embedding(seed in any::<u64>(), log_n in 3u32..=8) {
            let n = 1usize << log_n;
            let enc = Encoder::new(n).unwrap();
            let mut s = seed;
            let mut next = || { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0 };
            let z: Vec<Complex> = (0..n / 2).map(|_| Complex::new(next(), next())).collect();
            let scale = 2f64.powi(40);
            let coeffs = enc.encode(&z, scale).unwrap();
            prop_assert!(coeffs.iter().all(|c| c.fract() == 0.0));
            // Rounding to integers moves each slot by at most N/2 · 0.5 · sqrt(2) / Δ.
            let bound = n as f64 / scale;
            for (j, want) in z.iter().enumerate() {
                let got = evaluate(&coeffs, j, scale);
                prop_assert!((got - *want).abs() < bound + 1e-9, "slot {}", j);
            }
            let back = enc.decode(&coeffs, scale).unwrap();
            for (a, b) in back.iter().zip(&z) {
                prop_assert!((*a - *b).abs() < bound + 1e-12);
            }
        }
    }

    #[test]
    fn automorphisms_rotate_and_conjugate() {
        let n = 64;
        let enc = Encoder::new(n).unwrap();
        let z: Vec<Complex> = (0..n / 2)
            .map(|j| Complex::new(j as f64 / 7.0, -(j as f64) / 3.0))
            .collect();
        let scale = 2f64.powi(30);
        let m = enc.encode(&z, scale).unwrap();
        let apply = |k: usize| {
            let mut out = vec![0.0; n];
            for (i, &c) in m.iter().enumerate() {
                let j = i * k % (2 * n);
                if j < n {
                    out[j] = c
                } else {
                    out[j - n] = -c
                }
            }
            enc.decode(&out, scale).unwrap()
        };
        let rot = apply(5 * 5 % (2 * n));
        for j in 0..n / 2 {
            assert!((rot[j] - z[(j + 2) % (n / 2)]).abs() < 1e-6);
        }
        let conj = apply(2 * n - 1);
        for j in 0..n / 2 {
            assert!((conj[j] - z[j].conj()).abs() < 1e-6);
        }
    }

    #[test]
    fn bad_input() {
        let enc = Encoder::new(16).unwrap();
        assert!(Encoder::new(4).is_err());
        assert!(enc.encode(&[Complex::default(); 9], 1.0).is_err());
        assert!(enc.encode_real(&[f64::NAN], 1.0).is_err());
        assert!(enc.encode_real(&[1.0], 0.0).is_err());
        assert!(enc.encode_real(&[1e30], 2f64.powi(100)).is_err());
        assert!(enc.decode(&[0.0; 15], 1.0).is_err());
    }
}
