//! The variances of the public noise model (see [`NoiseEstimate`](super::NoiseEstimate)).
//!
//! Coefficient variances (integer units) of the error terms, from the distributions of
//! `math::sampling`: Gaussian errors `σ = 3.2`, ternary secrets and `u` uniform on `{-1, 0, 1}`
//! (variance 2/3), rounding errors uniform on `[-1/2, 1/2]` (variance 1/12). A product of a
//! polynomial with coefficient variance `a` and one with `b` has coefficient variance `N·a·b`.

use super::Parameters;

/// Variance of the Gaussian error.
pub(crate) const SIGMA2: f64 =
    crate::math::sampling::DEFAULT_SIGMA * crate::math::sampling::DEFAULT_SIGMA;
/// Variance of a ternary coefficient.
pub(crate) const TERNARY: f64 = 2.0 / 3.0;
/// Variance of a rounding error.
pub(crate) const ROUND: f64 = 1.0 / 12.0;

impl Parameters {
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn n_f64(&self) -> f64 {
        self.degree() as f64
    }

    /// Coefficient variance of `r_0 + r_1·s + … + r_d·s^d` for rounding errors `r_i`: the
    /// error of a rescale or of a division by `P` of a degree-`d` ciphertext.
    pub(crate) fn rounding_variance(&self, degree: usize) -> f64 {
        let n = self.n_f64();
        let mut v = ROUND;
        let mut s_pow = 1.0;
        for _ in 0..degree {
            s_pow *= n * TERNARY;
            v += ROUND * s_pow;
        }
        v
    }

    /// Coefficient variance of a fresh encryption: `e` (secret key), or
    /// `e_0 + e_1·s + e·u` (public key), divided with rounding by a special modulus of
    /// `special_log2` bits when the public key is defined modulo `Q` times that modulus.
    pub(crate) fn fresh_variance(&self, public: bool, special_log2: Option<f64>) -> f64 {
        let n = self.n_f64();
        if !public {
            return SIGMA2;
        }
        let v = SIGMA2 * (1.0 + 2.0 * n * TERNARY);
        match special_log2 {
            Some(bits) => v / (2.0 * bits).exp2() + self.rounding_variance(1),
            None => v,
        }
    }

    /// `log2 P`.
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn p_log2(&self) -> f64 {
        self.p_moduli().iter().map(|&p| (p as f64).log2()).sum()
    }

    /// Coefficient variance added by a key switch at `level`: `Σ_j d_j e_j / P` plus the
    /// rounding of the division by `P`. The digits of the approximate ModUp are below
    /// `(α + 1)·D_j`; they are modelled as uniform on that range.
    pub(crate) fn key_switch_variance(&self, level: usize) -> f64 {
        let n = self.n_f64();
        let q = self.q_moduli();
        let dnum = self.rlwe().dnum();
        let alpha = q.len().div_ceil(dnum);
        let mut v = 0.0;
        for digit in q[..level].chunks(alpha) {
            #[allow(clippy::cast_precision_loss)]
            let d_log2: f64 = digit.iter().map(|&x| (x as f64).log2()).sum();
            #[allow(clippy::cast_precision_loss)]
            let a1 = (digit.len() + 1) as f64;
            v += n * SIGMA2 * a1 * a1 * ROUND * (2.0 * (d_log2 - self.p_log2())).exp2();
        }
        v + self.rounding_variance(1)
    }

    /// Converts a coefficient variance at `scale` into a slot variance in message units.
    pub(crate) fn slot_variance(&self, coeff_variance: f64, scale: f64) -> f64 {
        self.n_f64() * coeff_variance / (scale * scale)
    }
}
