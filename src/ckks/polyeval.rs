//! Polynomial evaluation in the Chebyshev basis, and Newton iterations for `1/x` and `1/√x`.
//!
//! ## Chebyshev approximations
//! [`chebyshev_coefficients`] interpolates `f` on `[a, b]` at `M` Chebyshev nodes, `M` the
//! power of two at least `d + 1` (Trefethen, *Approximation Theory and Approximation Practice*,
//! ch. 3–4): `c_j = (2/M) Σ_k f(x_k) T_j(t_k)` (`c_0` halved), truncated to degree `d`. The
//! nodes `t_k = cos(π(2k+1)/(2M))` come from the encoder's libm-free roots of unity, so the
//! coefficients are the same bits on every platform for a given `f`.
//!
//! [`Evaluator::evaluate_chebyshev`] maps `x` to `t = (2x - a - b)/(b - a)` (one level, skipped
//! for `[-1, 1]`), builds `T_1 … T_d` with `T_{2i} = 2T_i^2 - 1` and
//! `T_{2i+1} = 2T_{i+1}T_i - T_1`, so that `T_i` sits at depth `⌈log2 i⌉`, then sums `c_j T_j`
//! (one more level for the constant multiplications). Depth: `⌈log2 d⌉ + 1`, plus one for the
//! interval map. The number of non-scalar multiplications is `d - 1` (a baby-step giant-step
//! evaluation would need `O(√d)`; not done yet).
//!
//! Degrees for `[1, 64]` (measured in `tests/ckks_polyeval.rs` at scale 2^40): degree 63
//! (depth 8 with the interval map) gives about 20 bits of relative precision for `1/x` and 23
//! for `1/√x`. The error of an interpolant of a function analytic inside the Bernstein ellipse
//! of parameter `ρ` decays like `ρ^-d`; for `1/x` and `1/√x` on `[a, b]`,
//! `ρ = κ + √(κ^2 - 1)` with `κ = (b + a)/(b - a)`, so the degree for a given precision grows
//! like `√(b/a)`: `[1, 4]` needs a quarter of the degree of `[1, 64]`, `[1, 256]` twice it.
//!
//! ## Newton iterations
//! [`Evaluator::newton_inverse`]: `y ← y(2 - x y)`, two levels per iteration, the relative
//! error squares each time. [`Evaluator::newton_inv_sqrt`]: `y ← 1.5 y - (x y/2)·y^2`, two
//! levels per iteration (plus one, once, for `x/2`). Both need an initial `y_0` with relative
//! error below 1, typically a low-degree Chebyshev approximation.

use super::ciphertext::Ciphertext;
use super::encoding::root_of_unity;
use super::Evaluator;
use crate::error::{Error, Result};
use crate::rlwe::RelinearizationKey;

/// A closed interval `[lo, hi]` of the real line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

impl Interval {
    /// `[lo, hi]`.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] unless `lo < hi`, both finite.
    pub fn new(lo: f64, hi: f64) -> Result<Self> {
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(Error::ValueOutOfRange {
                what: "interval must have finite ends with lo < hi",
            });
        }
        Ok(Self { lo, hi })
    }
}

/// Chebyshev coefficients `c_0 … c_d` of the interpolant of `f` on `interval` (module docs).
///
/// # Errors
/// [`Error::ValueOutOfRange`] for a degree above 2^14 or a non-finite value of `f` at a node.
pub fn chebyshev_coefficients(
    f: impl Fn(f64) -> f64,
    interval: Interval,
    degree: usize,
) -> Result<Vec<f64>> {
    if degree > 1 << 14 {
        return Err(Error::ValueOutOfRange {
            what: "Chebyshev degree above 2^14",
        });
    }
    let m = (degree + 1).next_power_of_two().max(8);
    let (a, b) = (interval.lo, interval.hi);
    let nodes: Vec<f64> = (0..m).map(|k| root_of_unity(2 * k + 1, 4 * m).re).collect();
    let values: Vec<f64> = nodes
        .iter()
        .map(|&t| f(0.5 * (b - a) * t + 0.5 * (b + a)))
        .collect();
    if values.iter().any(|v| !v.is_finite()) {
        return Err(Error::ValueOutOfRange {
            what: "function not finite at a Chebyshev node",
        });
    }
    #[allow(clippy::cast_precision_loss)]
    let scale = 2.0 / m as f64;
    let mut coeffs = Vec::with_capacity(degree + 1);
    for j in 0..=degree {
        // T_j(t_k) = cos(j·π(2k+1)/(2M)) = Re ω^(j(2k+1)) with ω = exp(2πi/(4M)).
        let s: f64 = values
            .iter()
            .enumerate()
            .map(|(k, &v)| v * root_of_unity(j * (2 * k + 1) % (4 * m), 4 * m).re)
            .sum();
        coeffs.push(if j == 0 { 0.5 * scale * s } else { scale * s });
    }
    Ok(coeffs)
}

impl Evaluator {
    /// `Σ_j coeffs[j]·T_j(t)` with `t = (2x - a - b)/(b - a)`, for slot values `x` in
    /// `interval` (module docs for the depth).
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] for no coefficients; [`CkksError::LevelExhausted`] if the
    /// ciphertext has too few levels; the errors of the operations used.
    ///
    /// [`CkksError::LevelExhausted`]: crate::error::CkksError::LevelExhausted
    pub fn evaluate_chebyshev(
        &self,
        ct: &Ciphertext,
        coeffs: &[f64],
        interval: Interval,
        rlk: &RelinearizationKey,
    ) -> Result<Ciphertext> {
        let d = coeffs.len().checked_sub(1).ok_or(Error::InvalidOperation {
            reason: "polynomial without coefficients",
        })?;
        let (a, b) = (interval.lo, interval.hi);
        let alpha = 2.0 / (b - a);
        let beta = -(a + b) / (b - a);
        let mut t = if alpha == 1.0 && beta == 0.0 {
            ct.clone()
        } else {
            let s = self.mul_const_rescale(ct, alpha)?;
            self.add_const(&s, beta)?
        };
        t.set_message_bound(1.0);
        let mut powers: Vec<Option<Ciphertext>> = vec![None; d + 1];
        if d >= 1 {
            powers[1] = Some(t.clone());
        }
        for i in 2..=d {
            let hi = i.div_ceil(2);
            let lo = i / 2;
            let (x, y) = match (&powers[hi], &powers[lo]) {
                (Some(x), Some(y)) => (x, y),
                _ => {
                    return Err(Error::InvalidOperation {
                        reason: "internal: Chebyshev power missing",
                    })
                }
            };
            let p = if hi == lo {
                let sq = self.relinearize(&self.square(x)?, rlk)?;
                self.rescale(&sq)?
            } else {
                self.mul_relin_rescale(x, y, rlk)?
            };
            let p2 = self.mul_int(&p, 2)?;
            let mut ti = if hi == lo {
                self.add_const(&p2, -1.0)?
            } else {
                self.sub(&p2, &t)?
            };
            ti.set_message_bound(1.0);
            powers[i] = Some(ti);
        }
        let mut acc: Option<Ciphertext> = None;
        for (j, &c) in coeffs.iter().enumerate().skip(1) {
            if c == 0.0 {
                continue;
            }
            let Some(tj) = &powers[j] else { continue };
            let term = self.mul_const_rescale(tj, c)?;
            acc = Some(match acc {
                None => term,
                Some(s) => self.add(&s, &term)?,
            });
        }
        match acc {
            Some(s) => self.add_const(&s, coeffs[0]),
            None => {
                // A constant polynomial: c_0 (+ 0·t to keep the ciphertext's shape).
                let z = self.mul_const_rescale(&t, 0.0)?;
                self.add_const(&z, coeffs[0])
            }
        }
    }

    /// Approximates `f` on `interval` by its degree-`degree` Chebyshev interpolant and
    /// evaluates it ([`chebyshev_coefficients`], [`evaluate_chebyshev`](Self::evaluate_chebyshev)).
    ///
    /// # Errors
    /// As those two.
    pub fn evaluate_function(
        &self,
        ct: &Ciphertext,
        f: impl Fn(f64) -> f64,
        interval: Interval,
        degree: usize,
        rlk: &RelinearizationKey,
    ) -> Result<Ciphertext> {
        let c = chebyshev_coefficients(f, interval, degree)?;
        self.evaluate_chebyshev(ct, &c, interval, rlk)
    }

    /// `iterations` Newton steps `y ← y(2 - x y)` towards `1/x` from the initial
    /// approximation `y0` (relative error below 1 required; module docs).
    ///
    /// # Errors
    /// The errors of the operations used (levels run out after `iterations` steps of depth 2).
    pub fn newton_inverse(
        &self,
        x: &Ciphertext,
        y0: &Ciphertext,
        iterations: usize,
        rlk: &RelinearizationKey,
    ) -> Result<Ciphertext> {
        let mut y = y0.clone();
        let bound = y0.estimate().message_bound();
        for _ in 0..iterations {
            let mut xy = self.mul_relin_rescale(x, &y, rlk)?;
            xy.set_message_bound(1.0);
            let two_minus = self.add_const(&self.negate(&xy), 2.0)?;
            y = self.mul_relin_rescale(&y, &two_minus, rlk)?;
            y.set_message_bound(bound);
        }
        Ok(y)
    }

    /// `iterations` Newton steps `y ← 1.5·y - (x·y/2)·y^2` towards `1/√x` from `y0`.
    ///
    /// # Errors
    /// As [`newton_inverse`](Self::newton_inverse).
    pub fn newton_inv_sqrt(
        &self,
        x: &Ciphertext,
        y0: &Ciphertext,
        iterations: usize,
        rlk: &RelinearizationKey,
    ) -> Result<Ciphertext> {
        let half_x = self.mul_const_rescale(x, 0.5)?;
        let mut y = y0.clone();
        let bound = y0.estimate().message_bound();
        for _ in 0..iterations {
            let mut hxy = self.mul_relin_rescale(&half_x, &y, rlk)?;
            hxy.set_message_bound(bound * half_x.estimate().message_bound());
            let y2 = self.rescale(&self.relinearize(&self.square(&y)?, rlk)?)?;
            let prod = self.mul_relin_rescale(&hxy, &y2, rlk)?;
            let lin = self.mul_const_rescale(&y, 1.5)?;
            y = self.sub(&lin, &prod)?;
            y.set_message_bound(bound);
        }
        Ok(y)
    }
}
