//! Plaintexts, ciphertexts, the public noise estimate and the precision report.

use super::encoding::Complex;
use crate::math::poly::{Ntt, Poly};

/// An encoded message: a polynomial in NTT form at a level (its number of primes) and a scale.
#[derive(Clone, Debug, PartialEq)]
pub struct Plaintext {
    pub(crate) poly: Poly<Ntt>,
    pub(crate) scale: f64,
    /// Public bound on the slot magnitudes (a power of two at least the largest encoded value).
    pub(crate) bound: f64,
}

impl Plaintext {
    /// The level (number of primes in use).
    pub fn level(&self) -> usize {
        self.poly.limbs()
    }

    /// The scale `Δ`.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The public bound on the slot magnitudes recorded at encoding (the smallest power of two
    /// at least the largest `|value|`).
    pub fn bound(&self) -> f64 {
        self.bound
    }

    /// The polynomial (NTT form).
    pub fn poly(&self) -> &Poly<Ntt> {
        &self.poly
    }
}

/// A public a-priori estimate of a ciphertext's error, computed from the parameters and the
/// operations applied only (never from a secret key or a decryption).
///
/// The model is the usual central-limit heuristic (Costache, Curtis, Hales, Murphy, Ogilvie,
/// Player, "On the precision loss in approximate homomorphic encryption", SAC 2023): error
/// polynomials have independent coefficients, a coefficient variance `v` becomes a slot variance
/// `N·v` in the canonical embedding, and products of independent terms multiply variances.
/// `variance` is that of the slot error in message units (after division by the scale);
/// `bound` is a public bound on the slot magnitudes, used for the `m·e` terms of products.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoiseEstimate {
    pub(crate) variance: f64,
    pub(crate) bound: f64,
}

impl NoiseEstimate {
    /// An estimate with the given slot-error variance and message bound.
    pub fn new(variance: f64, bound: f64) -> Self {
        Self { variance, bound }
    }

    /// Standard deviation of one slot's error (message units).
    pub fn std_dev(&self) -> f64 {
        self.variance.sqrt()
    }

    /// Public bound on the slot magnitudes.
    pub fn message_bound(&self) -> f64 {
        self.bound
    }

    /// A high-probability bound on the largest error over `slots` slots:
    /// `sqrt(2 ln(2·slots))·sqrt(ln slots)·σ + bound·log2(2·slots)·2^-51`. The first factor
    /// is the Gaussian maximum; the second covers the terms `e·s` whose slot variance follows
    /// `|s(ζ_j)|^2` for the fixed secret `s`, itself largest by about `sqrt(ln slots)` times
    /// its mean at the worst slot. The last term is the `f64` arithmetic of encoding and
    /// decoding (two special FFTs of `log2 N` stages, relative error `2^-53` per operation,
    /// with a factor 2 of margin): a property of the message, not of the secret, so it is not
    /// part of `σ` (threshold decryption sizes its smudging from `σ` only). It matters only at
    /// composite scales: at N = 2^15 a round trip loses at most `2^-50.4` on values in
    /// `[-1, 1]` (`tests/ckks_composite.rs`) against `2^-47.1` here, while the ciphertext noise
    /// at scales up to `2^60` is above `2^-46`.
    pub fn max_error(&self, slots: usize) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let n = slots.max(3) as f64;
        let t = (2.0 * (2.0 * n).ln()).sqrt() * n.ln().sqrt();
        let float = self.bound * (2.0 * n).log2() * (-51.0f64).exp2();
        t * self.std_dev() + float
    }

    /// A bound on every coefficient of the phase error `e` (in `c_0 + c_1·s + … = Δ·m + e`,
    /// integer units) at `scale`, for ring degree `n`, that holds except with probability about
    /// `2^-lambda`: the slot variance in message units is `N·v/Δ^2` for a coefficient variance
    /// `v` (type docs), so `σ_coef = Δ·σ/√N`, and a union bound over the `n` coefficients of a
    /// Gaussian tail gives the factor `sqrt(2·(λ·ln 2 + ln 2n))`. This is the public bound `B`
    /// that threshold decryption sizes its smudging noise from (`σ_smudge >= 2^λ·B`). It is a
    /// heuristic (central-limit) bound like the whole estimate, not a worst case over all
    /// secrets.
    pub fn coefficient_bound(&self, n: usize, scale: f64, lambda: u32) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let nf = n.max(1) as f64;
        let tail = (2.0 * (f64::from(lambda) * core::f64::consts::LN_2 + (2.0 * nf).ln())).sqrt();
        tail * scale * self.std_dev() / nf.sqrt()
    }

    /// Estimated precision in bits, `-log2(max_error(slots))`.
    pub fn precision_bits(&self, slots: usize) -> f64 {
        -self.max_error(slots).log2()
    }

    /// The estimate after adding an independent error of variance `v`.
    pub(crate) fn plus(self, v: f64) -> Self {
        Self {
            variance: self.variance + v,
            bound: self.bound,
        }
    }
}

/// A CKKS ciphertext: `degree + 1` polynomials in NTT form at one level, with its scale and
/// public noise estimate. `c_0 + c_1·s + … ≈ Δ·m`.
#[derive(Clone, Debug, PartialEq)]
pub struct Ciphertext {
    pub(crate) parts: Vec<Poly<Ntt>>,
    pub(crate) scale: f64,
    pub(crate) estimate: NoiseEstimate,
    /// For a fresh secret-key encryption: the seed `c_1` was expanded from.
    pub(crate) seed: Option<[u8; 32]>,
}

impl Ciphertext {
    /// The level (number of primes in use).
    pub fn level(&self) -> usize {
        self.parts[0].limbs()
    }

    /// The degree (1 after relinearisation, 2 after a multiplication).
    pub fn degree(&self) -> usize {
        self.parts.len() - 1
    }

    /// The scale `Δ`.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The public noise estimate.
    pub fn estimate(&self) -> NoiseEstimate {
        self.estimate
    }

    /// The polynomials `c_0, c_1, …` (NTT form).
    pub fn parts(&self) -> &[Poly<Ntt>] {
        &self.parts
    }

    /// For a fresh secret-key encryption, the seed of `c_1` (so `c_1` can be sent as 32
    /// bytes); `None` once the ciphertext has been operated on.
    pub fn seed(&self) -> Option<&[u8; 32]> {
        self.seed.as_ref()
    }

    /// Overrides the public message bound used by the noise estimate (for example after a
    /// function whose output range is known).
    pub fn set_message_bound(&mut self, bound: f64) {
        self.estimate.bound = bound;
    }
}

/// Bits of precision of computed values against expected ones: per slot `-log2 |got - want|`
/// (capped at 64 bits for exact slots). Measured from decrypted values, it is secret-key-holder
/// information, like BFV's `noise_budget_vartime`: see [`precision`]. The public counterpart is
/// [`NoiseEstimate::precision_bits`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PrecisionReport {
    /// The worst slot: `-log2(max |error|)`.
    pub min_bits: f64,
    /// Mean over the slots of `-log2 |error|`.
    pub mean_bits: f64,
    /// The best slot.
    pub max_bits: f64,
    /// `max |error|`.
    pub max_error: f64,
}

impl core::fmt::Display for PrecisionReport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "precision bits: min {:.2}, mean {:.2}, max {:.2}",
            self.min_bits, self.mean_bits, self.max_bits
        )
    }
}

/// Compares `got` with `want` slot by slot (the shorter length is used); complex distance.
///
/// # Security
/// A diagnostic for the secret-key holder. When `got` is a decryption, the report measures
/// the decryption error, which depends on the secret key (Li and Micciancio, EUROCRYPT 2021):
/// it must not be sent to anyone who does not hold the key (see `SECURITY.md`).
///
/// # Timing
/// Variable time: floating-point logarithms and comparisons on the (secret) decrypted values.
pub fn precision(want: &[Complex], got: &[Complex]) -> PrecisionReport {
    let bits = |e: f64| (-e.log2()).min(64.0);
    let mut max_error = 0.0f64;
    let mut sum = 0.0;
    let mut best = f64::NEG_INFINITY;
    let mut count = 0usize;
    for (a, b) in want.iter().zip(got) {
        let e = (*a - *b).abs();
        max_error = max_error.max(e);
        sum += bits(e);
        best = best.max(bits(e));
        count += 1;
    }
    #[allow(clippy::cast_precision_loss)]
    let mean = if count == 0 { 0.0 } else { sum / count as f64 };
    PrecisionReport {
        min_bits: bits(max_error),
        mean_bits: mean,
        max_bits: if count == 0 { 0.0 } else { best },
        max_error,
    }
}

/// [`precision`] for real values: compares the real parts only (the imaginary parts of a
/// decoded real vector are discarded, as SEAL's and OpenFHE's real decoders do).
///
/// # Security
/// As [`precision`]: secret-key holder only.
///
/// # Timing
/// Variable time, as [`precision`].
pub fn precision_real(want: &[f64], got: &[Complex]) -> PrecisionReport {
    let w: Vec<Complex> = want.iter().map(|&x| Complex::new(x, 0.0)).collect();
    let g: Vec<Complex> = got.iter().map(|z| Complex::new(z.re, 0.0)).collect();
    precision(&w, &g)
}
