//! Public noise estimation for BFV ciphertexts (no secret key involved).
//!
//! # What is tracked
//! For a ciphertext `c` at level `l` (modulus `Q = Q_l`) encrypting `m`, write the phase
//! `φ = c_0 + c_1 s + c_2 s^2 + …` over the integers (centered coefficients) and
//! `t·φ = Q·m + ν + t·Q·a` with `ν` the **scaled invariant noise** (Bajard et al. / the SEAL
//! manual's invariant noise `v = ν / Q`). Decryption `round(t·φ/Q) mod t` is correct exactly when
//! `‖ν‖∞ < Q/2`, and the secret-key measurement
//! [`noise_budget_vartime`](super::Ciphertext::noise_budget_vartime) reads
//! `log2(Q) - log2‖ν‖∞ - 1` bits.
//!
//! The estimator keeps `σ`, a bound on the standard deviation of each coefficient of `ν`, and
//! reports the high-probability bound `B = k·σ` with `k = sqrt(2 (ln(2N) + λ ln 2))`: for a
//! (sub-)Gaussian coefficient `P(|ν_i| > kσ) <= 2 exp(-k²/2)`, and the union over the `N`
//! coefficients gives failure probability at most `2^-λ` (λ = 40 in
//! [`estimated_budget`](super::Ciphertext::estimated_budget)). This is the average-case
//! (central-limit) heuristic of Costache, Laine and Player, "Evaluating the effectiveness of
//! heuristic worst-case noise analysis in FHE" (ESORICS 2020), with one deliberate
//! pessimism: the standard deviations of **added** noises are summed (`std(X+Y) <= std X +
//! std Y` for any correlation), so adding a ciphertext to itself or to a rotation of itself is
//! covered.
//!
//! # Rules (σ² of polynomial products: `Var((a·b)_i) = N·Var(a)·Var(b)` for independent
//! coefficients; `Var(s) = 2/3` for the ternary secret; errors `σ_e = 3.2`)
//! - fresh, secret key: `ν = t(e + r)`, `|r| <= 1/2` (rounding of `Q·m/t`): `σ = t(σ_e + 1/2)`;
//! - fresh, public key: `e = e_0 + e_1 s + e u`: `σ = t(σ_e sqrt(1 + 4N/3) + 1/2)`;
//! - add/sub: `σ_1 + σ_2`; plaintext add: `σ + t/2`; negation, automorphism: unchanged;
//! - scalar `k` (centered mod `t`): `|k| σ`; plaintext `m` (centered): `‖m‖_2 σ`;
//! - multiplication (`ν = m_1ν_2 + m_2ν_1 + ν_1ν_2/Q + t(a_1ν_2 + a_2ν_1) + t r`, the terms of
//!   `t²φ_1φ_2/Q` plus the rounding `r = r_0 + r_1 s + r_2 s²` of the scaling, where
//!   `a_i ≈ φ_i/Q`; `m_i` in `[0, t)`; `E[a_i²] <= (1 + 2N/3)/4` from `|c| <= Q/2` alone — the
//!   uniform-ciphertext value `(1 + 2N/3)/12` underestimated the measured growth of repeated
//!   squarings by about 0.65 bit per product, since successive products are correlated):
//!   `σ = sqrt(N) t (σ_1+σ_2) + sqrt(N)σ_1σ_2/Q + t sqrt(N E[a²])(σ_1+σ_2) + t sqrt(Var(r))`
//!   with `Var(r) = (1 + 2N/3 + 4N²/9)/12`, times a calibrated model margin `√2`;
//! - key switching (relinearisation, rotation) adds `t·e_ks` with
//!   `Var(e_ks) = Σ_j N E[d_j²] σ_e² / P² + (1 + 2N/3)/12`, `E[d_j²] <= α_j² D_j² / 3` for a
//!   digit of `α_j` primes with product `D_j` (ModUp may add up to `α_j - 1` multiples of `D_j`);
//! - modulus switching `Q -> Q'`: `σ Q'/Q + t sqrt((1 + 2N/3)/12)`.
//!
//! # Decryption level
//! [`Ciphertext::decrypt`](super::Ciphertext::decrypt) first switches a ciphertext down to
//! the lowest level the estimate allows (`decrypt_level`): there the phase costs `k`
//! transforms per polynomial instead of `L`. That choice combines the estimate with a
//! **worst-case** bound on the switch's rounding (`switch_worst_log2`), so a wrong estimate
//! can only matter for a ciphertext within `0.003` bit of an exhausted budget.

use super::params::Parameters;

/// Standard deviation of the error distribution (`math::sampling::DEFAULT_SIGMA`).
const SIGMA: f64 = crate::math::sampling::DEFAULT_SIGMA;

/// A public bound on a ciphertext's noise (see the [module docs](self)): `log2` of the
/// standard deviation `σ` of the scaled invariant noise `ν`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoiseEstimate {
    log2_std: f64,
}

impl NoiseEstimate {
    pub(crate) fn from_log2(log2_std: f64) -> Self {
        Self { log2_std }
    }

    /// `log2 σ`.
    pub fn log2_std(&self) -> f64 {
        self.log2_std
    }

    /// `log2 B` with `B = k σ` a bound on `‖ν‖∞` that fails with probability at most
    /// `2^-lambda` (ring degree `n`).
    pub fn log2_bound(&self, n: usize, lambda: u32) -> f64 {
        self.log2_std + tail_factor(n, lambda).log2()
    }

    /// `log2` of a bound on the noise of the **phase** `φ` itself (not scaled by `t`):
    /// `B / t`, what threshold decryption sizes its smudging noise from (failure probability
    /// `2^-lambda`).
    pub fn log2_phase_bound(&self, n: usize, t: u64, lambda: u32) -> f64 {
        self.log2_bound(n, lambda) - (t as f64).log2()
    }
}

/// `k = sqrt(2 (ln(2n) + λ ln 2))`.
pub(crate) fn tail_factor(n: usize, lambda: u32) -> f64 {
    (2.0 * ((2.0 * n as f64).ln() + f64::from(lambda) * core::f64::consts::LN_2)).sqrt()
}

/// `log2(2^a + 2^b)`; `+∞` when either is `+∞` (an estimate that overflowed `f64` stays
/// unbounded instead of turning into `NaN` through `∞ - ∞`).
pub(crate) fn log2_add(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY || hi == f64::INFINITY {
        return hi;
    }
    hi + (1.0 + (lo - hi).exp2()).log2()
}

fn n_f(p: &Parameters) -> f64 {
    p.degree() as f64
}

fn log2_t(p: &Parameters) -> f64 {
    (p.plaintext_modulus() as f64).log2()
}

/// Fresh secret-key encryption.
pub(crate) fn fresh_sk(p: &Parameters) -> NoiseEstimate {
    NoiseEstimate::from_log2(log2_t(p) + (SIGMA + 0.5).log2())
}

/// Fresh public-key encryption.
pub(crate) fn fresh_pk(p: &Parameters) -> NoiseEstimate {
    let e = SIGMA * (1.0 + 4.0 * n_f(p) / 3.0).sqrt() + 0.5;
    NoiseEstimate::from_log2(log2_t(p) + e.log2())
}

/// Sum of two noises.
pub(crate) fn add(a: NoiseEstimate, b: NoiseEstimate) -> NoiseEstimate {
    NoiseEstimate::from_log2(log2_add(a.log2_std, b.log2_std))
}

/// Plaintext addition: `+ t/2`.
pub(crate) fn add_plain(p: &Parameters, a: NoiseEstimate) -> NoiseEstimate {
    NoiseEstimate::from_log2(log2_add(a.log2_std, log2_t(p) - 1.0))
}

/// Multiplication by a factor of magnitude `2^log2_factor`.
pub(crate) fn scale(a: NoiseEstimate, log2_factor: f64) -> NoiseEstimate {
    NoiseEstimate::from_log2(a.log2_std + log2_factor)
}

/// Ciphertext multiplication at a level with `log2 Q = log_q`.
pub(crate) fn mul(p: &Parameters, log_q: f64, a: NoiseEstimate, b: NoiseEstimate) -> NoiseEstimate {
    let n = n_f(p);
    let lt = log2_t(p);
    let half_log_n = 0.5 * n.log2();
    let sum = log2_add(a.log2_std, b.log2_std);
    // E[a²] with |c| <= Q/2 (no uniformity assumed: successive products correlate).
    let var_a = (1.0 + 2.0 * n / 3.0) / 4.0;
    let var_r = (1.0 + 2.0 * n / 3.0 + 4.0 * n * n / 9.0) / 12.0;
    let terms = [
        half_log_n + lt + sum,
        half_log_n + a.log2_std + b.log2_std - log_q,
        lt + 0.5 * (n * var_a).log2() + sum,
        lt + 0.5 * var_r.log2(),
    ];
    NoiseEstimate::from_log2(
        terms.into_iter().fold(f64::NEG_INFINITY, log2_add) + MUL_MODEL_MARGIN_LOG2,
    )
}

/// Model margin of a product, in bits: repeated squarings at `N = 2^11 … 2^15`
/// (`tests/bfv_depth.rs` prints them) lose up to about 0.45 bit per product more than the
/// independent-coefficient model predicts (iterated products have heavier tails and the
/// successive `a_i` are not independent), so each product's `σ` is multiplied by `√2`.
const MUL_MODEL_MARGIN_LOG2: f64 = 0.5;

/// `log2` of the standard deviation (scaled by `t`) added by one key switching at `level`.
pub(crate) fn key_switch_log2(p: &Parameters, level: usize) -> f64 {
    let ring = p.ring();
    let n = n_f(p);
    let moduli = ring.ctx_q().moduli();
    let log_p: f64 = ring
        .ctx_p()
        .moduli()
        .iter()
        .map(|q| (q.value() as f64).log2())
        .sum();
    let mut var = (1.0 + 2.0 * n / 3.0) / 12.0;
    for (start, end) in ring.digits_at(level) {
        let alpha = (end - start) as f64;
        let log_d: f64 = moduli[start..end]
            .iter()
            .map(|q| (q.value() as f64).log2())
            .sum();
        // N α² D² σ² / (3 P²), in log2 to avoid overflow.
        let log_term = n.log2() + 2.0 * alpha.log2() + 2.0 * (log_d - log_p) + 2.0 * SIGMA.log2()
            - 3f64.log2();
        var += log_term.exp2();
    }
    log2_t(p) + 0.5 * var.log2()
}

/// Noise after a key switching at `level`.
pub(crate) fn key_switch(p: &Parameters, level: usize, a: NoiseEstimate) -> NoiseEstimate {
    NoiseEstimate::from_log2(log2_add(a.log2_std, key_switch_log2(p, level)))
}

/// `log2` of the rounding noise (scaled by `t`) of a modulus switch of a degree-`degree`
/// ciphertext.
pub(crate) fn switch_rounding_log2(p: &Parameters, degree: usize) -> f64 {
    let n = n_f(p);
    let mut var = 1.0;
    let mut s_pow = 1.0;
    for _ in 0..degree {
        s_pow *= 2.0 * n / 3.0;
        var += s_pow;
    }
    log2_t(p) + 0.5 * (var / 12.0).log2()
}

/// Modulus switching that divides `Q` by `2^log2_dropped`.
pub(crate) fn mod_switch(
    p: &Parameters,
    degree: usize,
    log2_dropped: f64,
    a: NoiseEstimate,
) -> NoiseEstimate {
    NoiseEstimate::from_log2(log2_add(
        a.log2_std - log2_dropped,
        switch_rounding_log2(p, degree),
    ))
}

/// Largest worst-case growth `δ_k` of the relative noise `‖ν‖∞/Q` that decryption accepts
/// when it goes through a lower level (`2^-10`: at most `0.003` bit of noise budget).
const DECRYPT_SWITCH_MAX_LOG2: f64 = -10.0;

/// Probability exponent of the noise bound that decides a decryption level (`2^-40`, as in
/// [`estimated_budget`](super::Ciphertext::estimated_budget)).
const DECRYPT_SWITCH_LAMBDA: u32 = 40;

/// `log2 δ_k` with `δ_k = t·R_d / Q_k`: a **worst-case** (deterministic) bound on how much
/// switching a degree-`d` ciphertext to `Q_k` adds to its relative noise `‖ν‖∞/Q`.
///
/// Switching `c_j -> c_j' = (c_j - x_j)/D` (`D = Q/Q_k`, `x_j` the centered residue of `c_j`
/// mod `D`, so `c_j' = c_j/D - r_j` with `|r_j| <= 1/2 + 2^-30`, the last term the window of
/// `math::rns::ScaleDownHps`) turns the phase into
/// `φ' = φ/D - Σ_j r_j s^j`, hence `ν' = ν/D - t Σ_j r_j s^j` and
/// `‖ν'‖∞/Q_k <= ‖ν‖∞/Q + t R_d/Q_k` with `R_d = (1/2 + 2^-30) Σ_{j<=d} N^j`
/// (`‖r_j s^j‖∞ <= ‖r_j‖∞ ‖s‖_1^j` and `‖s‖_1 <= N` for any ternary secret).
pub(crate) fn switch_worst_log2(p: &Parameters, degree: usize, log2_qk: f64) -> f64 {
    let n = n_f(p);
    let mut sum = 0.0;
    let mut pow = 1.0;
    for _ in 0..=degree {
        sum += pow;
        pow *= n;
    }
    log2_t(p) + ((0.5 + (-30f64).exp2()) * sum).log2() - log2_qk
}

/// The level decryption runs at: the lowest `k <= level` such that
/// - the worst-case growth `δ_k` ([`switch_worst_log2`]) is at most `2^-10`, and
/// - the public estimate still decrypts there: `B/Q + δ_k < 1/2`, with `B` the noise bound of
///   failure probability `2^-40`;
///
/// or `level` itself when no lower level qualifies (an exhausted or unbounded estimate, a
/// degree too high for the switch to be small).
///
/// Decrypting at level `k` gives exactly the plaintext that decryption at `level` gives
/// whenever `‖ν‖∞ < Q (1/2 - δ_k)`: always when the estimate holds (it bounds `‖ν‖∞` by
/// `B`), and otherwise for every ciphertext whose measured noise budget exceeds
/// `log2(1/(1 - 2 δ_k)) < 0.003` bit. Only public values enter the choice (the parameters,
/// the degree, the estimate), so it reveals nothing about the secret key.
pub(crate) fn decrypt_level(
    p: &Parameters,
    level: usize,
    degree: usize,
    noise: NoiseEstimate,
) -> usize {
    let Ok(log_q) = p.log2_q(level) else {
        return level;
    };
    let rel = (noise.log2_bound(p.degree(), DECRYPT_SWITCH_LAMBDA) - log_q).exp2();
    for k in 1..level {
        let Ok(log_qk) = p.log2_q(k) else {
            return level;
        };
        let log_delta = switch_worst_log2(p, degree, log_qk);
        if log_delta <= DECRYPT_SWITCH_MAX_LOG2 && rel + log_delta.exp2() < 0.5 {
            return k;
        }
    }
    level
}

#[cfg(test)]
mod tests {
    use super::log2_add;

    #[test]
    fn log2_add_of_infinite_estimates_is_infinite_not_nan() {
        assert!((log2_add(3.0, 3.0) - 4.0).abs() < 1e-12);
        assert_eq!(log2_add(f64::NEG_INFINITY, 5.0), 5.0);
        assert_eq!(log2_add(f64::INFINITY, f64::INFINITY), f64::INFINITY);
        assert_eq!(log2_add(f64::INFINITY, 7.0), f64::INFINITY);
        assert_eq!(log2_add(7.0, f64::INFINITY), f64::INFINITY);
    }
}
