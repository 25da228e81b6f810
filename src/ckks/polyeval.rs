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
//! `T_{2i+1} = 2T_{i+1}T_i - T_1` up to the baby step `k ≈ √d` (a power of two), and the
//! giant steps `T_{2k}, T_{4k}, …` by squaring, then evaluates by baby-step giant-step
//! division in the Chebyshev basis (`Evaluator::chebyshev_bsgs`): about `k + log2(d/k) + d/k`
//! non-scalar multiplications instead of `d - 1`. Depth: `⌈log2(d + 1)⌉ + 1`, plus one for the
//! interval map (degree 63: 7 + 1).
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
//!
//! ## Goldschmidt iterations
//! [`Evaluator::goldschmidt_inverse`] (Goldschmidt 1964; in CKKS, Cheon, Kim, Kim, Lee and Lee,
//! "Numerical method for comparison on homomorphically encrypted numbers", Asiacrypt 2019,
//! Alg. 1): with `e_0 = 1 - x·y_0`, the identity
//! `1/x = y_0/(1 - e_0) = y_0 (1 + e_0)(1 + e_0^2)(1 + e_0^4) …` gives the updates
//! `y ← y(1 + e)`, `e ← e^2`, which are independent, so each iteration costs **one** level
//! (Newton's costs two) and after `k` of them the relative error is `e_0^(2^k)`. Depth
//! `1 + k` from `y_0`. [`Evaluator::goldschmidt_inverse_on`] starts from the constant
//! `y_0 = 2/(lo + hi)`, for which `|e_0| <= (hi - lo)/(hi + lo)` on `[lo, hi]`: on `[1, 4]`,
//! `|e_0| <= 0.6` and 5 iterations give `0.6^32 ≈ 2^-23`; on `[1, 64]`, `|e_0| <= 0.97` and
//! 9 iterations (depth 10) give `2^-12`, so a Chebyshev start is better on wide intervals.

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
        if d == 0 {
            let z = self.mul_const_rescale(&t, 0.0)?;
            return self.add_const(&z, coeffs[0]);
        }
        // Baby steps T_1 … T_k (k a power of two near √(d+1)), giant steps T_k, T_2k, T_4k, …
        // up to below d + 1.
        let log_total = usize::BITS - d.leading_zeros(); // ⌈log2(d + 1)⌉
        let k = 1usize << log_total.div_ceil(2);
        let k = k.min(d.next_power_of_two());
        let mut baby: Vec<Option<Ciphertext>> = vec![None; k + 1];
        baby[1] = Some(t.clone());
        for i in 2..=k {
            let (hi, lo) = (i.div_ceil(2), i / 2);
            let ti = self.chebyshev_product(&baby[hi], &baby[lo], hi == lo, &t, rlk)?;
            baby[i] = Some(ti);
        }
        let baby: Vec<Ciphertext> = baby.into_iter().flatten().collect(); // T_1 … T_k
        let mut giants: Vec<(usize, Ciphertext)> = vec![(k, baby[k - 1].clone())];
        while giants.last().map_or(0, |g| 2 * g.0) <= d {
            let (m, tm) = giants.last().cloned().ok_or(Error::InvalidOperation {
                reason: "internal: no giant step",
            })?;
            let sq = Some(tm);
            let t2m = self.chebyshev_product(&sq, &sq, true, &t, rlk)?;
            giants.push((2 * m, t2m));
        }
        self.chebyshev_bsgs(coeffs, &baby, &giants, rlk)
    }

    /// `T_{a+b}` from `T_a` and `T_b` (`a - b` is 0 or 1): `2T_a^2 - 1` or `2T_aT_b - T_1`.
    fn chebyshev_product(
        &self,
        x: &Option<Ciphertext>,
        y: &Option<Ciphertext>,
        square: bool,
        t1: &Ciphertext,
        rlk: &RelinearizationKey,
    ) -> Result<Ciphertext> {
        let (Some(x), Some(y)) = (x, y) else {
            return Err(Error::InvalidOperation {
                reason: "internal: Chebyshev power missing",
            });
        };
        let p = if square {
            self.rescale(&self.relinearize(&self.square(x)?, rlk)?)?
        } else {
            self.mul_relin_rescale(x, y, rlk)?
        };
        let p2 = self.mul_int(&p, 2)?;
        let mut ti = if square {
            self.add_const(&p2, -1.0)?
        } else {
            self.sub(&p2, t1)?
        };
        ti.set_message_bound(1.0);
        Ok(ti)
    }

    /// Baby-step giant-step evaluation of `Σ c_i T_i` (Han and Ki, "Better Bootstrapping for
    /// Approximate Homomorphic Encryption", CT-RSA 2020, Algorithm 2, in the Chebyshev basis):
    /// with `T_m` the largest giant step at most the degree, `p = q·T_m + r` where, from
    /// `T_i = 2T_{i-m}T_m - T_{2m-i}`, `q = c_m + Σ_{i>m} 2c_i T_{i-m}` and
    /// `r = Σ_{i<m} c_i T_i - Σ_{i>m} c_i T_{2m-i}`; below the baby-step degree the sum is
    /// taken directly with constant multiplications.
    fn chebyshev_bsgs(
        &self,
        c: &[f64],
        baby: &[Ciphertext],
        giants: &[(usize, Ciphertext)],
        rlk: &RelinearizationKey,
    ) -> Result<Ciphertext> {
        let d = c.len() - 1;
        if d <= baby.len() {
            let mut acc: Option<Ciphertext> = None;
            for (j, &cj) in c.iter().enumerate().skip(1) {
                if cj == 0.0 {
                    continue;
                }
                let term = self.mul_const_rescale(&baby[j - 1], cj)?;
                acc = Some(match acc {
                    None => term,
                    Some(s) => self.add(&s, &term)?,
                });
            }
            let acc = match acc {
                Some(a) => a,
                None => self.mul_const_rescale(&baby[0], 0.0)?,
            };
            return self.add_const(&acc, c[0]);
        }
        let (m, tm) = giants
            .iter()
            .rev()
            .find(|g| g.0 <= d)
            .ok_or(Error::InvalidOperation {
                reason: "internal: no giant step below the degree",
            })?;
        let m = *m;
        let mut q = vec![0.0; d - m + 1];
        let mut r: Vec<f64> = c[..m].to_vec();
        q[0] = c[m];
        for i in m + 1..=d {
            q[i - m] = 2.0 * c[i];
            r[2 * m - i] -= c[i];
        }
        let qc = self.chebyshev_bsgs(&q, baby, giants, rlk)?;
        let rc = self.chebyshev_bsgs(&r, baby, giants, rlk)?;
        let prod = self.mul_relin_rescale(&qc, tm, rlk)?;
        self.add(&prod, &rc)
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

    /// `1/x` for slot values in `interval` (`0 < lo < hi`) to about `bits` bits of relative
    /// precision, by a Chebyshev interpolant of degree `2^k - 1` chosen from the convergence
    /// rate `ρ = κ + √(κ^2 - 1)`, `κ = (hi + lo)/(hi - lo)` (module docs): the smallest `d` with
    /// `ρ^-d·(hi/lo)·4 <= 2^-bits`. Depth `⌈log2(d + 1)⌉ + 2`; on `[1, 64]` at 12 bits, degree 63
    /// and depth 8. The result is also limited by the ciphertext's own precision.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] unless `0 < lo` and `bits` is in `1..=40`; the errors of
    /// [`evaluate_chebyshev`](Self::evaluate_chebyshev).
    pub fn inverse(
        &self,
        ct: &Ciphertext,
        interval: Interval,
        bits: u32,
        rlk: &RelinearizationKey,
    ) -> Result<Ciphertext> {
        let d = inverse_degree(interval, bits)?;
        self.evaluate_function(ct, |x| 1.0 / x, interval, d, rlk)
    }

    /// `1/√x` for slot values in `interval` (`0 < lo < hi`), as [`inverse`](Self::inverse)
    /// (the same degree bound holds: `1/√x` has the same singularity at 0, a weaker one).
    ///
    /// # Errors
    /// As [`inverse`](Self::inverse).
    pub fn inverse_sqrt(
        &self,
        ct: &Ciphertext,
        interval: Interval,
        bits: u32,
        rlk: &RelinearizationKey,
    ) -> Result<Ciphertext> {
        let d = inverse_degree(interval, bits)?;
        self.evaluate_function(ct, |x| 1.0 / x.sqrt(), interval, d, rlk)
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

impl Evaluator {
    /// `iterations` Goldschmidt steps towards `1/x` from the initial approximation `y0`
    /// (module docs): `e = 1 - x·y0`, then `y ← y(1 + e)`, `e ← e^2`, one level each.
    ///
    /// `e0_bound` is a **public** bound on `|1 - x·y0|` over the slots (from the interval and
    /// how `y0` was made, never from decrypted data); it sets the message bounds that the noise
    /// estimate uses, and the relative error of the result is about `e0_bound^(2^iterations)`
    /// plus the ciphertexts' own noise.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] unless `0 <= e0_bound < 1`; the errors of the operations
    /// used (levels run out after `1 + iterations` levels).
    pub fn goldschmidt_inverse(
        &self,
        x: &Ciphertext,
        y0: &Ciphertext,
        e0_bound: f64,
        iterations: usize,
        rlk: &RelinearizationKey,
    ) -> Result<Ciphertext> {
        if !(0.0..1.0).contains(&e0_bound) {
            return Err(Error::ValueOutOfRange {
                what: "Goldschmidt needs a public bound 0 <= |1 - x*y0| < 1",
            });
        }
        let y_bound = y0.estimate().message_bound() / (1.0 - e0_bound);
        let mut e = self.mul_relin_rescale(x, y0, rlk)?;
        e = self.add_const(&self.negate(&e), 1.0)?;
        e.set_message_bound(e0_bound);
        self.goldschmidt_steps(y0.clone(), e, e0_bound, y_bound, iterations, rlk)
    }

    /// `1/x` for slot values in `interval` (`0 < lo < hi`) by `iterations` Goldschmidt steps
    /// from the constant start `y0 = 2/(lo + hi)` (module docs), depth `1 + iterations`.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] unless `0 < lo`; as
    /// [`goldschmidt_inverse`](Self::goldschmidt_inverse).
    pub fn goldschmidt_inverse_on(
        &self,
        x: &Ciphertext,
        interval: Interval,
        iterations: usize,
        rlk: &RelinearizationKey,
    ) -> Result<Ciphertext> {
        let (lo, hi) = (interval.lo, interval.hi);
        if lo <= 0.0 {
            return Err(Error::ValueOutOfRange {
                what: "Goldschmidt inverse needs an interval of positive numbers",
            });
        }
        let c = 2.0 / (lo + hi);
        let e0_bound = (hi - lo) / (hi + lo);
        // e0 = 1 - c·x (one level); y1 = c·(1 + e0) is computed by the first step below from
        // y0 = c, which as a plaintext constant costs the same level as e0.
        let mut e = self.mul_const_rescale(x, -c)?;
        e = self.add_const(&e, 1.0)?;
        e.set_message_bound(e0_bound);
        let mut y = self.add_const(&self.mul_const_rescale(&e, c)?, c)?;
        let y_bound = c / (1.0 - e0_bound);
        y.set_message_bound(y_bound);
        if iterations == 0 {
            return Ok(y);
        }
        let mut e2 = self.rescale(&self.relinearize(&self.square(&e)?, rlk)?)?;
        let e2_bound = e0_bound * e0_bound;
        e2.set_message_bound(e2_bound);
        self.goldschmidt_steps(y, e2, e2_bound, y_bound, iterations - 1, rlk)
    }

    fn goldschmidt_steps(
        &self,
        mut y: Ciphertext,
        mut e: Ciphertext,
        mut e_bound: f64,
        y_bound: f64,
        iterations: usize,
        rlk: &RelinearizationKey,
    ) -> Result<Ciphertext> {
        for i in 0..iterations {
            let one_plus = self.add_const(&e, 1.0)?;
            y = self.mul_relin_rescale(&y, &one_plus, rlk)?;
            y.set_message_bound(y_bound);
            if i + 1 < iterations {
                e = self.rescale(&self.relinearize(&self.square(&e)?, rlk)?)?;
                e_bound *= e_bound;
                e.set_message_bound(e_bound);
            }
        }
        Ok(y)
    }
}

/// Degree `2^k - 1` for `1/x` (or `1/√x`) on `interval` at `bits` bits of relative precision.
fn inverse_degree(interval: Interval, bits: u32) -> Result<usize> {
    let (a, b) = (interval.lo, interval.hi);
    if a <= 0.0 || !(1..=40).contains(&bits) {
        return Err(Error::ValueOutOfRange {
            what: "inverse needs an interval of positive numbers and 1 to 40 bits",
        });
    }
    let kappa = (b + a) / (b - a);
    let rho = kappa + (kappa * kappa - 1.0).sqrt();
    let need = (f64::from(bits) + (b / a).log2() + 2.0) * core::f64::consts::LN_2 / rho.ln();
    if !(need.is_finite() && need < 16_384.0) {
        return Err(Error::ValueOutOfRange {
            what: "interval too wide for a Chebyshev inverse (degree above 2^14)",
        });
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let d = need.ceil().max(1.0) as usize;
    Ok((d + 1).next_power_of_two() - 1)
}
