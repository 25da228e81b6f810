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
use multiversion::multiversion;

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
#[derive(Clone)]
pub struct Encoder {
    n: usize,
    /// Twiddles of the evaluation ([`Encoder::fft_special`]), one table per butterfly stage:
    /// the stage of half-length `h` uses entries `h - 1 .. 2h - 1`, entry `h - 1 + j` being
    /// `exp(2πi·(5^j mod 8h)/8h)`. Real and imaginary parts apart, so the butterflies run on
    /// contiguous lanes.
    fwd_re: Vec<f64>,
    fwd_im: Vec<f64>,
    /// Twiddles of the interpolation ([`Encoder::fft_special_inv`]), same layout:
    /// `exp(2πi·(8h - 5^j mod 8h)/8h)`.
    inv_re: Vec<f64>,
    inv_im: Vec<f64>,
}

impl core::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Encoder").field("n", &self.n).finish()
    }
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
        let size = n / 2;
        let mut rot_group = Vec::with_capacity(size);
        let mut g = 1usize;
        for _ in 0..size {
            rot_group.push(g);
            g = g * SLOT_GENERATOR % m;
        }
        let cap = size.saturating_sub(1);
        let (mut fwd_re, mut fwd_im) = (Vec::with_capacity(cap), Vec::with_capacity(cap));
        let (mut inv_re, mut inv_im) = (Vec::with_capacity(cap), Vec::with_capacity(cap));
        let mut h = 1;
        while h < size {
            let lenq = 8 * h;
            let gap = m / lenq;
            for &r in &rot_group[..h] {
                let r = r % lenq;
                let w = root_of_unity(r * gap, m);
                fwd_re.push(w.re);
                fwd_im.push(w.im);
                let w = root_of_unity((lenq - r) * gap, m);
                inv_re.push(w.re);
                inv_im.push(w.im);
            }
            h *= 2;
        }
        Ok(Self {
            n,
            fwd_re,
            fwd_im,
            inv_re,
            inv_im,
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

    fn bit_reverse(re: &mut [f64], im: &mut [f64]) {
        let bits = re.len().trailing_zeros();
        for i in 0..re.len() {
            let j = crate::math::ntt::bit_reverse(i, bits);
            if i < j {
                re.swap(i, j);
                im.swap(i, j);
            }
        }
    }

    /// Evaluates: `u` (the `N/2` complex numbers `m_j + i·m_(j+N/2)`, real and imaginary parts
    /// apart) to the slot values, in place.
    fn fft_special(&self, re: &mut [f64], im: &mut [f64]) {
        let size = re.len();
        Self::bit_reverse(re, im);
        let mut h = 1;
        while h < size {
            let wr = &self.fwd_re[h - 1..2 * h - 1];
            let wi = &self.fwd_im[h - 1..2 * h - 1];
            for (br, bi) in re.chunks_exact_mut(2 * h).zip(im.chunks_exact_mut(2 * h)) {
                let (r0, r1) = br.split_at_mut(h);
                let (i0, i1) = bi.split_at_mut(h);
                forward_stage(r0, i0, r1, i1, wr, wi);
            }
            h *= 2;
        }
    }

    /// The inverse of [`Encoder::fft_special`], the factor `1/(N/2)` included.
    fn fft_special_inv(&self, re: &mut [f64], im: &mut [f64]) {
        let size = re.len();
        let mut h = size / 2;
        while h >= 1 {
            let wr = &self.inv_re[h - 1..2 * h - 1];
            let wi = &self.inv_im[h - 1..2 * h - 1];
            for (br, bi) in re.chunks_exact_mut(2 * h).zip(im.chunks_exact_mut(2 * h)) {
                let (r0, r1) = br.split_at_mut(h);
                let (i0, i1) = bi.split_at_mut(h);
                inverse_stage(r0, i0, r1, i1, wr, wi);
            }
            h /= 2;
        }
        Self::bit_reverse(re, im);
        #[allow(clippy::cast_precision_loss)] // size <= 2^16: exact
        let inv = 1.0 / size as f64;
        for v in re.iter_mut().chain(im.iter_mut()) {
            *v *= inv;
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
        // Real parts in the first half, imaginary parts in the second: the layout of the
        // coefficients, so the transform runs in place in the output.
        let half = self.slots();
        let mut coeffs = vec![0.0f64; self.n];
        let (re, im) = coeffs.split_at_mut(half);
        for ((r, i), z) in re.iter_mut().zip(im.iter_mut()).zip(values) {
            *r = z.re;
            *i = z.im;
        }
        self.fft_special_inv(re, im);
        round_scaled(&mut coeffs, scale);
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
        let mut re: Vec<f64> = coeffs[..half].iter().map(|&c| c * inv).collect();
        let mut im: Vec<f64> = coeffs[half..].iter().map(|&c| c * inv).collect();
        self.fft_special(&mut re, &mut im);
        Ok(re
            .into_iter()
            .zip(im)
            .map(|(r, i)| Complex::new(r, i))
            .collect())
    }
}

/// One block of a forward stage: `v = b·w`, then `(a, b) = (a + v, a - v)`, with the
/// operations of `Complex` in their order (so the result is the same bits in any lane width).
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
fn forward_stage(
    r0: &mut [f64],
    i0: &mut [f64],
    r1: &mut [f64],
    i1: &mut [f64],
    wr: &[f64],
    wi: &[f64],
) {
    let h = r0.len();
    let (i0, r1, i1, wr, wi) = (&mut i0[..h], &mut r1[..h], &mut i1[..h], &wr[..h], &wi[..h]);
    for j in 0..h {
        let vr = r1[j] * wr[j] - i1[j] * wi[j];
        let vi = r1[j] * wi[j] + i1[j] * wr[j];
        let (ur, ui) = (r0[j], i0[j]);
        r0[j] = ur + vr;
        i0[j] = ui + vi;
        r1[j] = ur - vr;
        i1[j] = ui - vi;
    }
}

/// One block of an inverse stage: `(a, b) = (a + b, (a - b)·w)`, as [`forward_stage`].
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
fn inverse_stage(
    r0: &mut [f64],
    i0: &mut [f64],
    r1: &mut [f64],
    i1: &mut [f64],
    wr: &[f64],
    wi: &[f64],
) {
    let h = r0.len();
    let (i0, r1, i1, wr, wi) = (&mut i0[..h], &mut r1[..h], &mut i1[..h], &wr[..h], &wi[..h]);
    for j in 0..h {
        let (sr, si) = (r0[j] - r1[j], i0[j] - i1[j]);
        r0[j] += r1[j];
        i0[j] += i1[j];
        r1[j] = sr * wr[j] - si * wi[j];
        i1[j] = sr * wi[j] + si * wr[j];
    }
}

/// `x[i] = round(x[i]·Δ)`, halves away from zero: bit for bit `f64::round`, written with
/// `trunc` (exact, and a vector instruction) and one exact correction, so the loop vectorises
/// instead of calling the platform's `round`.
#[multiversion(targets("x86_64+avx512f+avx512dq+avx512vl", "x86_64+avx2+fma"))]
fn round_scaled(x: &mut [f64], scale: f64) {
    for v in x.iter_mut() {
        let y = *v * scale;
        let t = y.trunc();
        // y - t is exact; for |y| >= 2^52, y is an integer and t = y.
        // (Selecting `t` itself keeps the sign of a zero, as `round` does.)
        *v = if (y - t).abs() >= 0.5 {
            t + 1.0f64.copysign(y)
        } else {
            t
        };
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

    /// The textbook special FFT (HEAAN's `fftSpecial`/`fftSpecialInv` on complex numbers, the
    /// twiddle index computed per butterfly), as the encoder had it before its table-driven form.
    fn reference_transform(n: usize, vals: &mut [Complex], inverse: bool) {
        let m = 2 * n;
        let size = vals.len();
        let rot: Vec<usize> = (0..size)
            .scan(1usize, |g, _| {
                let r = *g;
                *g = *g * 5 % m;
                Some(r)
            })
            .collect();
        let brv = |v: &mut [Complex]| {
            let bits = size.trailing_zeros();
            for i in 0..size {
                let j = crate::math::ntt::bit_reverse(i, bits);
                if i < j {
                    v.swap(i, j);
                }
            }
        };
        if inverse {
            let mut len = size;
            while len >= 2 {
                let (lenh, lenq) = (len / 2, len * 4);
                for i in (0..size).step_by(len) {
                    for j in 0..lenh {
                        let w = root_of_unity((lenq - rot[j] % lenq) * (m / lenq), m);
                        let u = vals[i + j] + vals[i + j + lenh];
                        let v = (vals[i + j] - vals[i + j + lenh]) * w;
                        vals[i + j] = u;
                        vals[i + j + lenh] = v;
                    }
                }
                len /= 2;
            }
            brv(vals);
            let inv = 1.0 / size as f64;
            for v in vals.iter_mut() {
                v.re *= inv;
                v.im *= inv;
            }
        } else {
            brv(vals);
            let mut len = 2;
            while len <= size {
                let (lenh, lenq) = (len / 2, len * 4);
                for i in (0..size).step_by(len) {
                    for j in 0..lenh {
                        let w = root_of_unity((rot[j] % lenq) * (m / lenq), m);
                        let u = vals[i + j];
                        let v = vals[i + j + lenh] * w;
                        vals[i + j] = u + v;
                        vals[i + j + lenh] = u - v;
                    }
                }
                len *= 2;
            }
        }
    }

    /// The table-driven transforms give the textbook transform's bits exactly (encodings and the
    /// known-answer vectors depend on it).
    #[test]
    fn table_driven_transform_is_bit_identical_to_the_textbook_one() {
        for log_n in [3u32, 4, 7, 12] {
            let n = 1usize << log_n;
            let enc = Encoder::new(n).unwrap();
            let mut s = u64::from(log_n);
            let mut next = || {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            };
            let z: Vec<Complex> = (0..n / 2).map(|_| Complex::new(next(), next())).collect();
            let scale = 2f64.powi(40);
            let mut want = z.clone();
            reference_transform(n, &mut want, true);
            let got = enc.encode(&z, scale).unwrap();
            for (j, w) in want.iter().enumerate() {
                assert_eq!(
                    got[j].to_bits(),
                    (w.re * scale).round().to_bits(),
                    "n={n} re {j}"
                );
                assert_eq!(
                    got[j + n / 2].to_bits(),
                    (w.im * scale).round().to_bits(),
                    "n={n} im {j}"
                );
            }
            // decode multiplies by 1/Δ: do the same.
            let inv = 1.0 / scale;
            let mut want: Vec<Complex> = (0..n / 2)
                .map(|j| Complex::new(got[j] * inv, got[j + n / 2] * inv))
                .collect();
            reference_transform(n, &mut want, false);
            let back = enc.decode(&got, scale).unwrap();
            for (a, b) in back.iter().zip(&want) {
                assert_eq!(
                    (a.re.to_bits(), a.im.to_bits()),
                    (b.re.to_bits(), b.im.to_bits())
                );
            }
        }
    }

    #[test]
    fn round_scaled_is_f64_round() {
        let mut xs = vec![
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            0.49999999999999994,
            -0.49999999999999994,
            0.0,
            -0.0,
            4503599627370495.5,
            -4503599627370495.5,
            4503599627370497.0,
            1e300,
            -1e300,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            123456.75,
            -987654.25,
        ];
        let mut s = 7u64;
        for _ in 0..4096 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let mag = f64::from((s >> 58) as u32);
            xs.push((((s >> 11) as f64) / (1u64 << 53) as f64 - 0.5) * mag.exp2());
        }
        for scale in [1.0, 2f64.powi(40), 0.5] {
            let mut got = xs.clone();
            round_scaled(&mut got, scale);
            for (&x, g) in xs.iter().zip(&got) {
                assert_eq!(
                    g.to_bits(),
                    (x * scale).round().to_bits(),
                    "x={x:e} scale={scale}"
                );
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
