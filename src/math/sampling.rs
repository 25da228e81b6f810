//! Randomness for the ring `R_Q = Z_Q[X]/(X^n + 1)`: uniform residues, ternary and
//! discrete-Gaussian secrets and errors, seeded expansion of public polynomials (the `a` of
//! seeded ciphertexts and keys, the threshold common reference string), and wide smudging noise.
//!
//! # Layout and API shape
//!
//! A polynomial over the primes `q_0, …, q_{k-1}` is a flat `[u64]` of length `k·n`,
//! **limb-major**: limb `i` (the residues modulo `q_i`) is `[i·n .. (i+1)·n]`, canonical values
//! in `[0, q_i)`. A sampler that produces a small integer polynomial reduces the *same* integer
//! modulo every prime, so the limbs represent one integer polynomial.
//!
//! Every sampler returns an owned buffer, allocated once at its final size:
//! - public outputs ([`uniform_poly`], [`expand_seed`]) are a plain `Vec<u64>`;
//! - secret outputs are wrapped in [`Zeroizing`], so they are wiped when dropped: signed
//!   coefficients as `Zeroizing<Vec<i64>>` ([`ternary`], [`gaussian`],
//!   [`DiscreteGaussian::sample_poly`]) and RNS forms as `Zeroizing<Vec<u64>>`
//!   ([`ternary_rns`], [`gaussian_rns`], [`DiscreteGaussian::sample_rns`], [`smudging_noise`],
//!   [`lift_signed`]).
//!
//! Every randomized function takes `rng: &mut (impl RngCore + CryptoRng)`. The degree `n` must
//! be a power of two in `[MIN_DEGREE, MAX_DEGREE]` (the ring degrees of
//! [`crate::math::ntt`]); a basis must be non-empty and free of repeated primes.
//!
//! # Randomness consumed (stable: seeded key vectors depend on it)
//!
//! All words are taken with [`RngCore::next_u64`]. An RNS sampler draws the integer for
//! coefficient `j` once (coefficients in order `j = 0, …, n-1`) and writes its residue into
//! every limb; the exception is the uniform sampler, which draws limb by limb (all of limb 0,
//! then all of limb 1, …), see [`uniform_poly`].
//! - [`uniform_mod`]: one word per attempt, masked to `bits(q)` low bits, rejected if `>= q`.
//! - [`ternary`]: one word per 32 two-bit chunks, least significant chunk first; chunk `c = 3` is
//!   rejected, `c ∈ {0, 1, 2}` gives `c - 1`; the chunks left in the last word are discarded.
//! - [`DiscreteGaussian::sample`]: two words per sample, the first the low half of a 128-bit
//!   uniform `u`.
//! - [`smudging_noise`]: `bits/64 + 1` words per coefficient, least significant first.
//!
//! # Distributions and their references
//!
//! - **Uniform mod q**: the "simple discard" method (NIST SP 800-90A Rev. 1, Appendix A.5.1):
//!   exactly uniform. Uniform over `R_Q` samples every residue independently; by the Chinese
//!   remainder theorem `Z_Q ≅ Z_{q_0} × … × Z_{q_{k-1}}` for distinct primes, so a uniform tuple
//!   of residues *is* a uniform element of `Z_Q`: this is exact, not an approximation, and
//!   cheaper than drawing a multi-word integer below `Q` and reducing it.
//! - **Ternary**: uniform on `{-1, 0, 1}`, exactly (rejection of one of four two-bit values).
//! - **Discrete Gaussian** `D_{Z,σ}`, `ρ(x) = exp(-x²/(2σ²))` (σ the standard-deviation
//!   parameter, 3.2 by default as in the HomomorphicEncryption.org standard, Albrecht et al.
//!   2018), tail-cut to `[-t, t]` and renormalised. Sampled by inversion of a cumulative
//!   distribution table (CDT; Peikert, "An efficient and parallel Gaussian sampler for lattices",
//!   CRYPTO 2010) scanned in full with branch-free comparisons, as in FrodoKEM (Bos et al.,
//!   "Frodo", CCS 2016). See [`DiscreteGaussian`] for the precision argument.
//! - **Smudging** (noise flooding; Asharov et al., "Multiparty computation with low
//!   communication, computation and interaction via threshold FHE", EUROCRYPT 2012; Mouchet et
//!   al., "Multiparty homomorphic encryption from ring-learning-with-errors", PETS 2021): uniform
//!   on `[-2^bits, 2^bits)`, see [`smudging_noise`].
//! - **Seeded expansion**: ChaCha20 (Bernstein, "ChaCha, a variant of Salsa20", 2008) through
//!   `rand_chacha`; the exact byte-level procedure is in [`expand_seed`].
//!
//! # Timing
//!
//! Where the output is secret (ternary, Gaussian, smudging, and uniform values used as secrets)
//! no branch and no memory index depends on an output value. Two samplers loop on a rejection
//! (uniform, ternary). The rejection decision is about a draw that is then *discarded*, and the
//! number of rejections is independent of the values accepted: conditioned on any pattern of
//! rejections, every accepted draw is still uniform on its accepted set. So their running time
//! reveals nothing about their outputs. The Gaussian sampler compares `u` with *every* table
//! entry (a full scan, no early exit) and sums the comparison bits computed with integer
//! arithmetic; smudging noise is assembled and reduced with masks and Barrett reduction only.
//! Residues of signed values use [`Modulus::reduce_i64`], which is branch-free.

use std::sync::OnceLock;

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::math::modulus::Modulus;
use crate::math::ntt::{MAX_DEGREE, MIN_DEGREE};

/// Standard deviation of the default error distribution (HomomorphicEncryption.org standard).
pub const DEFAULT_SIGMA: f64 = 3.2;
/// Tail cut of the default error distribution: `floor(6σ) = 19`, so errors satisfy `|e| <= 19`.
///
/// `6σ = 19.2`, so `|e| = 20` (= `ceil(6σ)`) is already excluded. The probability mass removed,
/// `Pr[|X| >= 20]` for `X ~ D_{Z,3.2}`, is `9.474e-10 ≈ 2^-29.98` (computed with 60-digit
/// decimal arithmetic); the sampler renormalises the remaining mass.
pub const DEFAULT_TAIL: u32 = 19;
/// Smallest σ accepted by [`DiscreteGaussian::new`].
pub const MIN_GAUSSIAN_SIGMA: f64 = 0.5;
/// Largest σ accepted by [`DiscreteGaussian::new`] (its table then has `2·floor(6σ) = 1536`
/// entries, all scanned for every sample). Wider noise is smudging, see [`smudging_noise`].
pub const MAX_GAUSSIAN_SIGMA: f64 = 128.0;
/// Largest tail cut accepted by [`DiscreteGaussian::with_tail`].
pub const MAX_GAUSSIAN_TAIL: u32 = 1024;
/// Largest `bits` accepted by [`smudging_noise`] (noise below `2^1023` in absolute value).
pub const MAX_SMUDGING_BITS: u32 = 1023;
/// Words drawn for one smudging coefficient at [`MAX_SMUDGING_BITS`].
const MAX_SMUDGING_WORDS: usize = (MAX_SMUDGING_BITS as usize) / 64 + 1;

// ---------------------------------------------------------------------------------------------
// Input validation
// ---------------------------------------------------------------------------------------------

fn check_degree(n: usize) -> Result<()> {
    if n.is_power_of_two() && (MIN_DEGREE..=MAX_DEGREE).contains(&n) {
        Ok(())
    } else {
        Err(Error::InvalidDegree {
            degree: n,
            min: MIN_DEGREE,
            max: MAX_DEGREE,
        })
    }
}

fn check_moduli(moduli: &[Modulus]) -> Result<()> {
    if moduli.is_empty() {
        return Err(Error::InvalidBasis {
            reason: "no moduli",
        });
    }
    for (i, a) in moduli.iter().enumerate() {
        if moduli[..i].iter().any(|b| b.value() == a.value()) {
            return Err(Error::InvalidBasis {
                reason: "repeated modulus",
            });
        }
    }
    Ok(())
}

/// Validates `n` and `moduli` and returns `k·n`.
fn check_rns(moduli: &[Modulus], n: usize) -> Result<usize> {
    check_degree(n)?;
    check_moduli(moduli)?;
    moduli.len().checked_mul(n).ok_or(Error::InvalidBasis {
        reason: "basis too large",
    })
}

/// Writes the residues of the signed integers produced by `next` (one per coefficient, in
/// order) into every limb of a fresh limb-major buffer. Branch-free per value.
fn signed_to_rns(
    moduli: &[Modulus],
    n: usize,
    mut next: impl FnMut() -> i64,
) -> Result<Zeroizing<Vec<u64>>> {
    let len = check_rns(moduli, n)?;
    let mut out = Zeroizing::new(vec![0u64; len]);
    for j in 0..n {
        let mut e = next();
        for (limb, q) in out.chunks_exact_mut(n).zip(moduli) {
            limb[j] = q.reduce_i64(e);
        }
        e.zeroize();
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Uniform
// ---------------------------------------------------------------------------------------------

/// Uniform value in `[0, q)`, without modulo bias.
///
/// Draws `w = next_u64()` masked to the `bits(q)` low bits and returns it if `w < q`, else
/// draws again (at most two draws on average, since `q >= 2^(bits(q)-1)`).
///
/// # Timing
/// The number of draws depends only on the rejected draws, which are discarded; it is
/// independent of the value returned, so the value may be used as a secret (Shamir shares,
/// masks). The loop ends with probability 1.
pub fn uniform_mod(rng: &mut (impl RngCore + CryptoRng), q: &Modulus) -> u64 {
    // bits(q) is in [2, 62], so the shift is in [2, 62].
    let mask = u64::MAX >> (64 - q.bits());
    loop {
        let w = rng.next_u64() & mask;
        if w < q.value() {
            return w;
        }
    }
}

/// Uniform polynomial of `R_Q`, `Q = q_0 ⋯ q_{k-1}`, in limb-major RNS form.
///
/// Every residue is drawn independently with [`uniform_mod`], limb by limb (`q_0` for
/// coefficients `0..n`, then `q_1`, …). Since the primes are distinct, the CRT map
/// `Z_Q → Z_{q_0} × … × Z_{q_{k-1}}` is a bijection, so independent uniform residues give
/// coefficients *exactly* uniform modulo `Q` (and modulo `Q·P` when the special primes are in
/// `moduli`). The result is equally uniform read as coefficients or as NTT evaluations.
///
/// # Errors
/// [`Error::InvalidDegree`] if `n` is not a power of two in `[MIN_DEGREE, MAX_DEGREE]`;
/// [`Error::InvalidBasis`] if `moduli` is empty or repeats a prime.
///
/// # Timing
/// As [`uniform_mod`]: the running time is independent of the output.
pub fn uniform_poly(
    rng: &mut (impl RngCore + CryptoRng),
    moduli: &[Modulus],
    n: usize,
) -> Result<Vec<u64>> {
    let len = check_rns(moduli, n)?;
    let mut out = vec![0u64; len];
    for (limb, q) in out.chunks_exact_mut(n).zip(moduli) {
        for x in limb.iter_mut() {
            *x = uniform_mod(rng, q);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Seeded expansion
// ---------------------------------------------------------------------------------------------

/// Domain-separation label of a seeded expansion: the 64-bit ChaCha20 stream (nonce) it reads.
///
/// Different labels under one seed select different ChaCha20 nonces, hence disjoint keystreams
/// that are computationally independent (ChaCha20 is a PRF of the nonce and block counter under
/// the seed as key). No hash is involved: the label *is* the nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Domain(u64);

impl Domain {
    /// Label from a four-byte tag naming the kind of object (e.g. `*b"CRPK"`) and an index
    /// among objects of that kind (a digit, a Galois element, a polynomial number).
    ///
    /// The stream is `u32::from_le_bytes(tag) + 2^32 · index`, so the 8-byte ChaCha20 nonce is
    /// `tag ‖ index.to_le_bytes()`.
    pub const fn new(tag: [u8; 4], index: u32) -> Self {
        Self(u32::from_le_bytes(tag) as u64 | ((index as u64) << 32))
    }

    /// Label from a raw 64-bit stream number.
    pub const fn from_stream(stream: u64) -> Self {
        Self(stream)
    }

    /// The ChaCha20 stream number (`rand_chacha`'s `set_stream` argument).
    pub const fn stream(self) -> u64 {
        self.0
    }

    /// The 8-byte ChaCha20 nonce: `stream().to_le_bytes()`.
    pub const fn nonce_bytes(self) -> [u8; 8] {
        self.0.to_le_bytes()
    }
}

/// The ChaCha20 generator that [`expand_seed`] reads: `seed` as key, stream `domain`.
///
/// Useful to draw several objects from one domain, or for deterministic tests; the words it
/// yields are those described in [`expand_seed`].
pub fn seeded_rng(seed: &[u8; 32], domain: Domain) -> ChaCha20Rng {
    let mut rng = ChaCha20Rng::from_seed(*seed);
    rng.set_stream(domain.stream());
    rng
}

/// Expands a public 32-byte seed into a uniform polynomial of `R_Q` (limb-major), for the `a`
/// of seeded ciphertexts and keys and the threshold common reference string.
///
/// Deterministic and platform-independent. Byte-level procedure (what `docs/FORMAT.md` cites):
/// 1. ChaCha20 with 20 rounds in Bernstein's original layout (the `rand_chacha` 0.3
///    `ChaCha20Rng`): the 16-word state is the constants `"expand 32-byte k"`, the 32-byte
///    `seed` read as eight little-endian `u32` key words, a 64-bit block counter starting at
///    0 (words 12–13, low word first), and the 64-bit nonce `domain.stream()` (words 14–15,
///    low word first; as bytes, [`Domain::nonce_bytes`]). Keystream block `b` is the state with
///    counter `b` after the 20 rounds and the feed-forward addition, serialised as 16
///    little-endian words; blocks are concatenated for `b = 0, 1, 2, …`.
/// 2. The keystream is cut into consecutive 8-byte little-endian words `w_0, w_1, …`.
/// 3. For each limb `i = 0..k` in order and each coefficient `j = 0..n` in order: take the next
///    word `w`, let `x = w mod 2^bits(q_i)` (its low `bits(q_i)` bits); if `x < q_i` output
///    `x` as coefficient `j` of limb `i`, else discard it and take the next word.
///
/// With an all-zero seed and stream 0 the keystream is that of the ChaCha20 test vectors of
/// draft-nir-cfrg-chacha20-poly1305-04 (vector 1), which the tests use as a known answer.
///
/// # Errors
/// As [`uniform_poly`].
pub fn expand_seed(
    seed: &[u8; 32],
    domain: Domain,
    moduli: &[Modulus],
    n: usize,
) -> Result<Vec<u64>> {
    uniform_poly(&mut seeded_rng(seed, domain), moduli, n)
}

// ---------------------------------------------------------------------------------------------
// Ternary
// ---------------------------------------------------------------------------------------------

/// Fills `out` with values uniform on `{-1, 0, 1}` (see [`ternary`] for the procedure).
fn fill_ternary(rng: &mut (impl RngCore + CryptoRng), out: &mut [i64]) {
    let mut i = 0;
    while i < out.len() {
        let mut word = rng.next_u64();
        for _ in 0..32 {
            let c = word & 3;
            word >>= 2;
            // Rejection of the discarded chunk c = 3: public, see the module's `# Timing`.
            if c != 3 {
                // c in {0, 1, 2} -> c - 1 in {-1, 0, 1}, without a branch on c.
                out[i] = c.cast_signed().wrapping_sub(1);
                i += 1;
                if i == out.len() {
                    break;
                }
            }
        }
        word.zeroize();
    }
}

/// `n` coefficients uniform on `{-1, 0, 1}` (the ternary secret distribution).
///
/// Each `next_u64` word gives 32 two-bit chunks `c`, least significant first; `c = 3` is
/// rejected and `c ∈ {0, 1, 2}` gives `c - 1`. Each accepted chunk is uniform on `{0, 1, 2}`,
/// so the output is exactly uniform on `{-1, 0, 1}`.
///
/// # Errors
/// [`Error::InvalidDegree`] if `n` is not a power of two in `[MIN_DEGREE, MAX_DEGREE]`.
///
/// # Timing
/// The only branch is the rejection of `c = 3`, a chunk that is discarded; which chunks are
/// rejected is independent of the accepted values (see the module's `# Timing`). The mapping
/// `c -> c - 1` is arithmetic.
pub fn ternary(rng: &mut (impl RngCore + CryptoRng), n: usize) -> Result<Zeroizing<Vec<i64>>> {
    check_degree(n)?;
    let mut out = Zeroizing::new(vec![0i64; n]);
    fill_ternary(rng, &mut out);
    Ok(out)
}

/// A ternary polynomial (as [`ternary`], same randomness consumed) in limb-major RNS form.
///
/// # Errors
/// [`Error::InvalidDegree`] for a bad `n`; [`Error::InvalidBasis`] if `moduli` is empty or
/// repeats a prime.
///
/// # Timing
/// As [`ternary`]; residues are computed with the branch-free [`Modulus::reduce_i64`].
pub fn ternary_rns(
    rng: &mut (impl RngCore + CryptoRng),
    moduli: &[Modulus],
    n: usize,
) -> Result<Zeroizing<Vec<u64>>> {
    check_rns(moduli, n)?;
    let signed = ternary(rng, n)?;
    lift_signed(&signed, moduli)
}

/// Lifts small signed coefficients (`n = coeffs.len()`) into limb-major RNS form: coefficient
/// `j` of limb `i` is `coeffs[j] mod q_i` in `[0, q_i)`.
///
/// # Errors
/// [`Error::InvalidDegree`] if `coeffs.len()` is not a power of two in
/// `[MIN_DEGREE, MAX_DEGREE]`; [`Error::InvalidBasis`] if `moduli` is empty or repeats a prime.
///
/// # Timing
/// Branch-free in the coefficient values ([`Modulus::reduce_i64`]).
pub fn lift_signed(coeffs: &[i64], moduli: &[Modulus]) -> Result<Zeroizing<Vec<u64>>> {
    let mut it = coeffs.iter();
    signed_to_rns(moduli, coeffs.len(), || it.next().copied().unwrap_or(0))
}

// ---------------------------------------------------------------------------------------------
// Discrete Gaussian
// ---------------------------------------------------------------------------------------------

/// Branch-free `a >= b` on 128-bit values given as `(low, high)` words: returns 1 or 0.
///
/// The borrow out of `x - y - c` is the top bit of `(!x & y) | (!(x ^ y) & (x - y - c))`
/// (Warren, *Hacker's Delight*, 2nd ed., section 2-13); applied to the low then the high word.
#[inline(always)]
fn ge_u128(a: (u64, u64), b: (u64, u64)) -> u64 {
    let d0 = a.0.wrapping_sub(b.0);
    let borrow0 = ((!a.0 & b.0) | (!(a.0 ^ b.0) & d0)) >> 63;
    let d1 = a.1.wrapping_sub(b.1).wrapping_sub(borrow0);
    let borrow1 = ((!a.1 & b.1) | (!(a.1 ^ b.1) & d1)) >> 63;
    borrow1 ^ 1
}

/// Splits a 128-bit value into its `(low, high)` words.
#[allow(clippy::cast_possible_truncation)] // intentional: keeps the low 64 bits of each half
fn split_u128(x: u128) -> (u64, u64) {
    (x as u64, (x >> 64) as u64)
}

/// A constant-time sampler of the discrete Gaussian `D_{Z,σ}` tail-cut to `[-t, t]`.
///
/// # Distribution
/// `Pr[X = x] ∝ exp(-x²/(2σ²))` for `|x| <= t`, renormalised; σ is the exact `f64` passed (for
/// 3.2 this is `3.2 + 1.8·10^-16`). The tail cut removes `Pr[|X| > t]` of the untruncated
/// distribution: `≈ 2^-29.98` for the default `σ = 3.2, t = 19` (see [`DEFAULT_TAIL`]).
///
/// # Algorithm and precision
/// The table holds `T_j ≈ 2^128 · Pr[X <= -t + j]` for `j = 0..2t`; a sample draws a uniform
/// 128-bit `u` and returns `-t + #{j : u >= T_j}` (inversion sampling, Peikert CRYPTO 2010).
/// The entries are computed once, in double-double arithmetic (about 104 significant bits):
/// `exp(-x)` as `(e^-1)^⌊x⌋ · exp(-(x - ⌊x⌋))` with Taylor series. Entries for values up to
/// `-1` come from the partial sums of the small tail weights; the others are set by symmetry,
/// `T_{2t-1-j} = 2^128 - T_j`, so the sampled distribution is exactly symmetric. The test
/// `gaussian_table_matches_bigint_reference` recomputes every entry with 768-bit fixed-point
/// arithmetic and checks `|T_j - 2^128 · Pr[X <= -t + j]| <= 2^28`, i.e. each cumulative
/// probability is within `ε = 2^-100`, for σ from 0.5 to 128 and cuts up to 768 (the largest
/// error seen there is about `2^-106`). The same holds for every accepted σ and cut: a weight
/// `e^-x` is computed with a relative error of about `(x + 40)·2^-104`, and `x·e^-x <= 1/e`,
/// so no weight is off by much more than `2^-100` of the total mass. The probability of each
/// output value is then within `2ε`, and the statistical distance between the sampler and the
/// truncated distribution is at most `(2t + 1)·ε`: below `2^-94` for the default `t = 19`,
/// below `2^-89` for every accepted `t <= 1024`.
///
/// # Timing
/// [`sample`](Self::sample) compares `u` with all `2t` entries (no early exit) using integer
/// borrow arithmetic and adds up the results; no branch or memory index depends on `u` or on
/// the output.
#[derive(Clone)]
pub struct DiscreteGaussian {
    sigma: f64,
    tail: u32,
    /// `(low, high)` words of `T_0 <= T_1 <= … <= T_{2t-1}`.
    table: Vec<(u64, u64)>,
}

impl core::fmt::Debug for DiscreteGaussian {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DiscreteGaussian")
            .field("sigma", &self.sigma)
            .field("tail", &self.tail)
            .finish_non_exhaustive()
    }
}

static STANDARD_GAUSSIAN: OnceLock<DiscreteGaussian> = OnceLock::new();

impl DiscreteGaussian {
    /// Sampler for `σ` with the tail cut at `floor(6σ)`.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] if `σ` is not in `[MIN_GAUSSIAN_SIGMA, MAX_GAUSSIAN_SIGMA]`
    /// (NaN included).
    pub fn new(sigma: f64) -> Result<Self> {
        Self::check_sigma(sigma)?;
        // sigma in [0.5, 128]: 6σ in [3, 768], exact as a u32 after floor.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let tail = (6.0 * sigma).floor() as u32;
        Ok(Self::build(sigma, tail))
    }

    /// Sampler for `σ` with support `[-tail, tail]`.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] if `σ` is not in `[MIN_GAUSSIAN_SIGMA, MAX_GAUSSIAN_SIGMA]` or
    /// `tail` is not in `[1, MAX_GAUSSIAN_TAIL]`.
    pub fn with_tail(sigma: f64, tail: u32) -> Result<Self> {
        Self::check_sigma(sigma)?;
        if !(1..=MAX_GAUSSIAN_TAIL).contains(&tail) {
            return Err(Error::ValueOutOfRange {
                what: "Gaussian tail cut must be in [1, 1024]",
            });
        }
        Ok(Self::build(sigma, tail))
    }

    /// The default error distribution: `σ = 3.2`, `|e| <= 19`. Built once per process.
    pub fn standard() -> &'static Self {
        STANDARD_GAUSSIAN.get_or_init(|| Self::build(DEFAULT_SIGMA, DEFAULT_TAIL))
    }

    /// The standard deviation parameter σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// The tail cut `t`: every sample lies in `[-t, t]`.
    pub fn tail(&self) -> u32 {
        self.tail
    }

    fn check_sigma(sigma: f64) -> Result<()> {
        if (MIN_GAUSSIAN_SIGMA..=MAX_GAUSSIAN_SIGMA).contains(&sigma) {
            Ok(())
        } else {
            Err(Error::ValueOutOfRange {
                what: "Gaussian sigma must be in [0.5, 128]",
            })
        }
    }

    /// Builds the table; `sigma` and `tail` are already validated.
    fn build(sigma: f64, tail: u32) -> Self {
        let t = tail as usize;
        // Weights w_k = exp(-k²/(2σ²)) for k = 0..=t; 2σ² is exact in double-double.
        let two_sigma_sq = dd::Dd::mul_exact(sigma, sigma).scale(2.0);
        let weights: Vec<dd::Dd> = (0..=tail)
            .map(|k| {
                let k2 = f64::from(k) * f64::from(k); // exact: k <= 1024
                dd::exp_neg(dd::Dd::new(k2).div(two_sigma_sq))
            })
            .collect();
        // Total mass W = w_0 + 2 Σ_{k>=1} w_k, summed from the smallest weight.
        let mut tail_sum = dd::Dd::ZERO;
        for w in weights[1..].iter().rev() {
            tail_sum = tail_sum.add(*w);
        }
        let total = weights[0].add(tail_sum.scale(2.0));
        // Lower half: T_j = 2^128 · (w_t + … + w_{t-j}) / W for j = 0..t, value -t + j.
        let mut table = vec![0u128; 2 * t];
        let mut partial = dd::Dd::ZERO;
        let mut prev = 0u128;
        for j in 0..t {
            partial = partial.add(weights[t - j]);
            let c = partial.div(total); // in [0, 1/2)
            let mut entry = dd::to_u128_scaled(c);
            // Keep the table monotone and the lower half below 2^127 (so the mirrored upper
            // half stays above it); both hold in exact arithmetic.
            entry = entry.max(prev).min(1u128 << 127);
            table[j] = entry;
            prev = entry;
        }
        // Upper half by symmetry: Pr[X <= v] = 1 - Pr[X <= -v-1], i.e. T_{2t-1-j} = 2^128 - T_j.
        // An entry T_j = 0 (a probability below 2^-129) would mirror to 2^128; saturate it.
        for j in 0..t {
            table[2 * t - 1 - j] = match table[j] {
                0 => u128::MAX,
                x => x.wrapping_neg(),
            };
        }
        Self {
            sigma,
            tail,
            table: table.into_iter().map(split_u128).collect(),
        }
    }

    /// One sample in `[-t, t]`; two `next_u64` words (low half of `u` first).
    ///
    /// # Timing
    /// Constant time: a full scan of the table with branch-free comparisons.
    pub fn sample(&self, rng: &mut (impl RngCore + CryptoRng)) -> i64 {
        let mut u = (rng.next_u64(), rng.next_u64());
        let mut count = 0u64;
        for &entry in &self.table {
            // count <= 2t <= 2048: no overflow; wrapping keeps overflow-check branches out.
            count = count.wrapping_add(ge_u128(u, entry));
        }
        u.0.zeroize();
        u.1.zeroize();
        debug_assert!(count <= 2 * u64::from(self.tail));
        count.cast_signed().wrapping_sub(i64::from(self.tail))
    }

    /// `n` independent samples (the coefficients of an error polynomial).
    ///
    /// # Errors
    /// [`Error::InvalidDegree`] if `n` is not a power of two in `[MIN_DEGREE, MAX_DEGREE]`.
    ///
    /// # Timing
    /// As [`sample`](Self::sample).
    pub fn sample_poly(
        &self,
        rng: &mut (impl RngCore + CryptoRng),
        n: usize,
    ) -> Result<Zeroizing<Vec<i64>>> {
        check_degree(n)?;
        let mut out = Zeroizing::new(vec![0i64; n]);
        for x in out.iter_mut() {
            *x = self.sample(rng);
        }
        Ok(out)
    }

    /// An error polynomial in limb-major RNS form (the same randomness as
    /// [`sample_poly`](Self::sample_poly): coefficient `j` is drawn once, reduced into every
    /// limb).
    ///
    /// # Errors
    /// [`Error::InvalidDegree`] for a bad `n`; [`Error::InvalidBasis`] if `moduli` is empty or
    /// repeats a prime.
    ///
    /// # Timing
    /// As [`sample`](Self::sample); residues by the branch-free [`Modulus::reduce_i64`].
    pub fn sample_rns(
        &self,
        rng: &mut (impl RngCore + CryptoRng),
        moduli: &[Modulus],
        n: usize,
    ) -> Result<Zeroizing<Vec<u64>>> {
        signed_to_rns(moduli, n, || self.sample(rng))
    }
}

/// `n` coefficients from the default error distribution (`σ = 3.2`, `|e| <= 19`).
///
/// # Errors
/// [`Error::InvalidDegree`] if `n` is not a power of two in `[MIN_DEGREE, MAX_DEGREE]`.
///
/// # Timing
/// Constant time, see [`DiscreteGaussian`].
pub fn gaussian(rng: &mut (impl RngCore + CryptoRng), n: usize) -> Result<Zeroizing<Vec<i64>>> {
    DiscreteGaussian::standard().sample_poly(rng, n)
}

/// An error polynomial from the default distribution (`σ = 3.2`, `|e| <= 19`) in limb-major
/// RNS form.
///
/// # Errors
/// [`Error::InvalidDegree`] for a bad `n`; [`Error::InvalidBasis`] if `moduli` is empty or
/// repeats a prime.
///
/// # Timing
/// Constant time, see [`DiscreteGaussian`].
pub fn gaussian_rns(
    rng: &mut (impl RngCore + CryptoRng),
    moduli: &[Modulus],
    n: usize,
) -> Result<Zeroizing<Vec<u64>>> {
    DiscreteGaussian::standard().sample_rns(rng, moduli, n)
}

// ---------------------------------------------------------------------------------------------
// Smudging
// ---------------------------------------------------------------------------------------------

/// Smudging (noise-flooding) polynomial with coefficients uniform on `[-2^bits, 2^bits)`, in
/// limb-major RNS form.
///
/// # Distribution
/// Each coefficient is `e = u - 2^bits` with `u` uniform on `[0, 2^(bits+1))`: exactly uniform
/// on the `2^(bits+1)` integers `-2^bits, …, 2^bits - 1` (mean `-1/2`, variance
/// `(2^(2(bits+1)) - 1)/12 ≈ 2^(2·bits)/3`). `u` is `bits/64 + 1` words from `next_u64`, least
/// significant first, the top word masked to its `(bits + 1) mod 64` low bits (all 64 if that is
/// 0). For a uniform bound `B` on the noise being flooded, `bits = λ + log2(B)` makes the
/// statistical distance between `x + e` and `e` at most `B / 2^bits = 2^-λ` for every `|x| <= B`.
/// The residues are correct only if the basis product exceeds `2^(bits+1)`; the caller chooses
/// `bits` accordingly (it is not checked here, a smaller `Q` simply reduces the noise mod `Q`).
///
/// # Errors
/// [`Error::ValueOutOfRange`] if `bits` is not in `[1, MAX_SMUDGING_BITS]`;
/// [`Error::InvalidDegree`] for a bad `n`; [`Error::InvalidBasis`] if `moduli` is empty or
/// repeats a prime.
///
/// # Timing
/// Constant time: a fixed number of words per coefficient, the top one masked with a public
/// mask; `u mod q_i` by Horner's rule on the words with [`Modulus::reduce_u128`], then the
/// public constant `2^bits mod q_i` is subtracted with a branch-free [`Modulus::sub`]. The words
/// are wiped after use.
pub fn smudging_noise(
    rng: &mut (impl RngCore + CryptoRng),
    bits: u32,
    moduli: &[Modulus],
    n: usize,
) -> Result<Zeroizing<Vec<u64>>> {
    if !(1..=MAX_SMUDGING_BITS).contains(&bits) {
        return Err(Error::ValueOutOfRange {
            what: "smudging bits must be in [1, 1023]",
        });
    }
    let len = check_rns(moduli, n)?;
    // u has bits + 1 bits: `words` words, the top one holding `top_bits` of them.
    let words = bits as usize / 64 + 1;
    let top_bits = (bits + 1) % 64;
    let top_mask = if top_bits == 0 {
        u64::MAX
    } else {
        (1u64 << top_bits) - 1
    };
    // 2^bits mod q_i (public).
    let offsets: Vec<u64> = moduli
        .iter()
        .map(|q| q.pow(q.reduce(2), u64::from(bits)))
        .collect();
    let mut out = Zeroizing::new(vec![0u64; len]);
    let mut u = [0u64; MAX_SMUDGING_WORDS];
    for j in 0..n {
        for w in u[..words].iter_mut() {
            *w = rng.next_u64();
        }
        u[words - 1] &= top_mask;
        for ((limb, q), &off) in out.chunks_exact_mut(n).zip(moduli).zip(&offsets) {
            // Horner from the top word: r < q < 2^62, so (r << 64) | w < 2^126.
            let mut r = 0u64;
            for &w in u[..words].iter().rev() {
                r = q.reduce_u128((u128::from(r) << 64) | u128::from(w));
            }
            limb[j] = q.sub(r, off);
        }
    }
    u.zeroize();
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Double-double arithmetic for the Gaussian table
// ---------------------------------------------------------------------------------------------

/// Double-double floating point (an unevaluated sum `hi + lo` of two `f64`, about 104
/// significant bits), after Dekker (1971) and the QD library of Hida, Li and Bailey (2001).
/// Used only to build the Gaussian table, on public parameters.
mod dd {
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub(super) struct Dd {
        pub(super) hi: f64,
        pub(super) lo: f64,
    }

    /// `a + b` exactly, as `s + e` (Knuth's TwoSum).
    #[inline]
    fn two_sum(a: f64, b: f64) -> Dd {
        let s = a + b;
        let bb = s - a;
        let e = (a - (s - bb)) + (b - bb);
        Dd { hi: s, lo: e }
    }

    /// `a + b` exactly when `|a| >= |b|` (Dekker's FastTwoSum).
    #[inline]
    fn quick_two_sum(a: f64, b: f64) -> Dd {
        let s = a + b;
        let e = b - (s - a);
        Dd { hi: s, lo: e }
    }

    impl Dd {
        pub(super) const ZERO: Dd = Dd { hi: 0.0, lo: 0.0 };
        pub(super) const ONE: Dd = Dd { hi: 1.0, lo: 0.0 };

        pub(super) const fn new(x: f64) -> Dd {
            Dd { hi: x, lo: 0.0 }
        }

        /// `a · b` exactly (the rounding error of the product recovered with a fused
        /// multiply-add).
        pub(super) fn mul_exact(a: f64, b: f64) -> Dd {
            let p = a * b;
            Dd {
                hi: p,
                lo: a.mul_add(b, -p),
            }
        }

        /// Multiplication by a power of two (exact barring underflow).
        pub(super) fn scale(self, pow2: f64) -> Dd {
            Dd {
                hi: self.hi * pow2,
                lo: self.lo * pow2,
            }
        }

        pub(super) fn neg(self) -> Dd {
            Dd {
                hi: -self.hi,
                lo: -self.lo,
            }
        }

        /// Accurate addition (QD's `ieee_add`).
        pub(super) fn add(self, o: Dd) -> Dd {
            let s = two_sum(self.hi, o.hi);
            let t = two_sum(self.lo, o.lo);
            let u = quick_two_sum(s.hi, s.lo + t.hi);
            quick_two_sum(u.hi, u.lo + t.lo)
        }

        pub(super) fn mul(self, o: Dd) -> Dd {
            let p = Dd::mul_exact(self.hi, o.hi);
            quick_two_sum(p.hi, p.lo + (self.hi * o.lo + self.lo * o.hi))
        }

        /// Long division with three quotient digits (QD's accurate division).
        pub(super) fn div(self, o: Dd) -> Dd {
            let q1 = self.hi / o.hi;
            let r = self.add(o.mul(Dd::new(q1)).neg());
            let q2 = r.hi / o.hi;
            let r = r.add(o.mul(Dd::new(q2)).neg());
            let q3 = r.hi / o.hi;
            quick_two_sum(q1, q2).add(Dd::new(q3))
        }
    }

    /// `Σ_{i<=40} (-f)^i / i!`: `exp(-f)` for `|f| <= 1` (the first omitted term is below
    /// `1/41! < 2^-165`).
    fn exp_neg_taylor(f: Dd) -> Dd {
        let minus_f = f.neg();
        let mut term = Dd::ONE;
        let mut sum = Dd::ONE;
        for i in 1..=40u32 {
            term = term.mul(minus_f).div(Dd::new(f64::from(i)));
            sum = sum.add(term);
        }
        sum
    }

    /// `exp(-x)` for `x >= 0`: `(e^-1)^m · exp(-(x - m))` with `m = floor(x.hi)`; zero once the
    /// value is below `e^-700 < 2^-1000`, far under the table's resolution.
    pub(super) fn exp_neg(x: Dd) -> Dd {
        debug_assert!(x.hi >= 0.0);
        if x.hi > 700.0 {
            return Dd::ZERO;
        }
        let m = x.hi.floor();
        let frac = x.add(Dd::new(-m)); // in (-2^-52, 1)
                                       // m is an integer in [0, 700].
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let mut e = m as u32;
        let mut base = exp_neg_taylor(Dd::ONE);
        let mut power = Dd::ONE;
        while e > 0 {
            if e & 1 == 1 {
                power = power.mul(base);
            }
            base = base.mul(base);
            e >>= 1;
        }
        power.mul(exp_neg_taylor(frac))
    }

    /// `c · 2^128` truncated to an integer, for `c` in `[0, 1)`.
    pub(super) fn to_u128_scaled(c: Dd) -> u128 {
        const TWO_128: f64 = 340_282_366_920_938_463_463_374_607_431_768_211_456.0;
        // hi · 2^128 < 2^128 is an integer once hi >= 2^-76 (53-bit mantissa); below that the
        // lost fraction is under one unit. lo is at most half an ulp of hi, so |lo · 2^128|
        // stays far below 2^127. Float-to-integer `as` casts truncate toward zero and saturate.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let hi = (c.hi * TWO_128) as u128;
        #[allow(clippy::cast_possible_truncation)]
        let lo = (c.lo * TWO_128) as i128;
        hi.wrapping_add_signed(lo)
    }
}

#[cfg(test)]
// Tests unwrap freely, convert counts and moments to f64 and pack test vectors; the casts are
// deliberate.
#[allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss
)]
mod tests {
    use super::*;
    use crate::math::primes::ntt_primes;
    use num_bigint::{BigInt, BigUint};
    use num_traits::{One, Signed, ToPrimitive, Zero};

    // ---- Statistical thresholds ---------------------------------------------------------------
    //
    // Every statistical check is allowed a false-failure probability of at most DELTA = 1e-9
    // (the tests are seeded, so a run is reproducible; the thresholds are derived, not tuned).

    const DELTA: f64 = 1e-9;

    fn rng(seed: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(seed)
    }

    /// Hoeffding (1963): for `n` i.i.d. variables in an interval of width `range`,
    /// `Pr[|mean - μ| >= r] <= 2 exp(-2 n r² / range²)`. Setting this to δ gives
    /// `r = range · sqrt(ln(2/δ) / (2n))`.
    fn hoeffding_radius(n: usize, range: f64) -> f64 {
        range * ((2.0 / DELTA).ln() / (2.0 * n as f64)).sqrt()
    }

    /// Bernstein: for `n` i.i.d. variables with `|X - μ| <= m` and `Var X <= v`,
    /// `Pr[|mean - μ| >= r] <= 2 exp(-n r² / (2v + 2mr/3))`. Setting this to δ, with
    /// `L = ln(2/δ)`: `n r² - (2mL/3) r - 2vL = 0`, whose positive root is returned.
    fn bernstein_radius(n: usize, v: f64, m: f64) -> f64 {
        let l = (2.0 / DELTA).ln();
        let b = 2.0 * m * l / 3.0;
        let n = n as f64;
        (b + (b * b + 8.0 * n * v * l).sqrt()) / (2.0 * n)
    }

    /// Laurent and Massart (2000), Lemma 1: for `χ²` with `k` degrees of freedom,
    /// `Pr[χ² >= k + 2 sqrt(k x) + 2x] <= e^-x`; `x = ln(1/δ)`. Pearson's statistic tends to
    /// `χ²_{bins-1}`; every test keeps the expected counts of its bins in the hundreds at least,
    /// where that approximation is accurate.
    fn chi2_critical(dof: usize) -> f64 {
        let x = (1.0 / DELTA).ln();
        let k = dof as f64;
        k + 2.0 * (k * x).sqrt() + 2.0 * x
    }

    /// Pearson's statistic of `observed` counts against probabilities `p`.
    fn chi2(observed: &[u64], p: &[f64]) -> f64 {
        assert_eq!(observed.len(), p.len());
        let total: u64 = observed.iter().sum();
        observed
            .iter()
            .zip(p)
            .map(|(&o, &p)| {
                let e = p * total as f64;
                assert!(
                    e >= 100.0,
                    "expected count {e} too small for the χ² approximation"
                );
                (o as f64 - e).powi(2) / e
            })
            .sum()
    }

    fn moduli(values: &[u64]) -> Vec<Modulus> {
        values.iter().map(|&q| Modulus::new(q).unwrap()).collect()
    }

    /// An RNG that counts the words drawn (to observe rejections).
    struct Counting {
        inner: ChaCha20Rng,
        words: u64,
    }
    impl RngCore for Counting {
        fn next_u32(&mut self) -> u32 {
            self.words += 1;
            self.inner.next_u32()
        }
        fn next_u64(&mut self) -> u64 {
            self.words += 1;
            self.inner.next_u64()
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            self.inner.fill_bytes(dest);
        }
        fn try_fill_bytes(
            &mut self,
            dest: &mut [u8],
        ) -> core::result::Result<(), rand_core::Error> {
            self.inner.try_fill_bytes(dest)
        }
    }
    impl CryptoRng for Counting {}

    // ---- Input validation -----------------------------------------------------------------------

    #[test]
    fn rejects_bad_input() {
        let qs = moduli(&[17, 97]);
        let mut r = rng(0);
        for n in [0, 1, 3, 1000, MAX_DEGREE * 2] {
            let want = Error::InvalidDegree {
                degree: n,
                min: MIN_DEGREE,
                max: MAX_DEGREE,
            };
            assert_eq!(uniform_poly(&mut r, &qs, n).unwrap_err(), want);
            assert_eq!(ternary(&mut r, n).unwrap_err(), want);
            assert_eq!(gaussian(&mut r, n).unwrap_err(), want);
            assert_eq!(smudging_noise(&mut r, 10, &qs, n).unwrap_err(), want);
            assert_eq!(
                expand_seed(&[0; 32], Domain::from_stream(0), &qs, n).unwrap_err(),
                want
            );
            assert_eq!(lift_signed(&vec![0; n], &qs).unwrap_err(), want);
        }
        let empty = Error::InvalidBasis {
            reason: "no moduli",
        };
        let repeated = Error::InvalidBasis {
            reason: "repeated modulus",
        };
        assert_eq!(uniform_poly(&mut r, &[], 16).unwrap_err(), empty);
        assert_eq!(ternary_rns(&mut r, &[], 16).unwrap_err(), empty);
        assert_eq!(gaussian_rns(&mut r, &[], 16).unwrap_err(), empty);
        let dup = moduli(&[17, 97, 17]);
        assert_eq!(uniform_poly(&mut r, &dup, 16).unwrap_err(), repeated);
        assert_eq!(smudging_noise(&mut r, 8, &dup, 16).unwrap_err(), repeated);
        assert_eq!(lift_signed(&[0; 16], &dup).unwrap_err(), repeated);
        for bits in [0, MAX_SMUDGING_BITS + 1] {
            assert!(matches!(
                smudging_noise(&mut r, bits, &qs, 16),
                Err(Error::ValueOutOfRange { .. })
            ));
        }
        for sigma in [f64::NAN, 0.0, 0.49, 128.5, f64::INFINITY, -3.2] {
            assert!(matches!(
                DiscreteGaussian::new(sigma),
                Err(Error::ValueOutOfRange { .. })
            ));
        }
        for tail in [0, MAX_GAUSSIAN_TAIL + 1] {
            assert!(matches!(
                DiscreteGaussian::with_tail(3.2, tail),
                Err(Error::ValueOutOfRange { .. })
            ));
        }
        assert_eq!(
            DiscreteGaussian::new(MAX_GAUSSIAN_SIGMA).unwrap().tail(),
            768
        );
        assert_eq!(DiscreteGaussian::new(MIN_GAUSSIAN_SIGMA).unwrap().tail(), 3);
    }

    // ---- Uniform --------------------------------------------------------------------------------

    #[test]
    fn uniform_mod_small_q_chi_square() {
        let q = Modulus::new(17).unwrap();
        let mut r = rng(1);
        let draws = 17 * (1 << 14);
        let mut counts = [0u64; 17];
        for _ in 0..draws {
            counts[uniform_mod(&mut r, &q) as usize] += 1;
        }
        let stat = chi2(&counts, &[1.0 / 17.0; 17]);
        assert!(stat < chi2_critical(16), "χ² = {stat}");
    }

    #[test]
    fn uniform_mod_large_q_range_mean_buckets() {
        for (seed, p) in [
            (1u64 << 62) - 57,
            (1 << 61) - 1,
            (1 << 50) - 27,
            (1 << 30) - 35,
        ]
        .into_iter()
        .enumerate()
        {
            let q = Modulus::new(p).unwrap();
            let mut r = rng(100 + seed as u64);
            let draws = 1usize << 18;
            let mut sum = 0.0;
            let mut counts = [0u64; 16];
            for _ in 0..draws {
                let x = uniform_mod(&mut r, &q);
                assert!(x < p);
                sum += x as f64 / p as f64;
                counts[((u128::from(x) * 16) / u128::from(p)) as usize] += 1;
            }
            // E[x/q] = (q-1)/(2q); x/q lies in [0, 1).
            let mean = sum / draws as f64;
            let want = (p - 1) as f64 / (2.0 * p as f64);
            assert!(
                (mean - want).abs() < hoeffding_radius(draws, 1.0),
                "{p}: mean {mean}"
            );
            // Bucket b = floor(16x/q) holds the x in [ceil(bq/16), ceil((b+1)q/16)).
            let ceil16 = |b: u128| (b * u128::from(p)).div_ceil(16);
            let probs: Vec<f64> = (0..16u128)
                .map(|b| (ceil16(b + 1) - ceil16(b)) as f64 / p as f64)
                .collect();
            let stat = chi2(&counts, &probs);
            assert!(stat < chi2_critical(15), "{p}: χ² = {stat}");
        }
    }

    #[test]
    fn uniform_mod_rejection_path_is_taken() {
        // q = 65537 = 2^16 + 1 has 17 bits: a draw is accepted with probability
        // 65537/131072 ≈ 1/2, so 10 000 samples without any rejection have probability 2^-10000.
        let q = Modulus::new(65537).unwrap();
        let mut r = Counting {
            inner: rng(2),
            words: 0,
        };
        for _ in 0..10_000 {
            assert!(uniform_mod(&mut r, &q) < 65537);
        }
        assert!(r.words > 10_000, "no rejection observed");
    }

    #[test]
    fn uniform_poly_is_limb_major_and_uniform_mod_q() {
        let qs = moduli(&[17, 97]);
        let n = MAX_DEGREE;
        // Consumption order: all of limb 0, then all of limb 1.
        let poly = uniform_poly(&mut rng(3), &qs, n).unwrap();
        let mut r = rng(3);
        let manual: Vec<u64> = qs
            .iter()
            .flat_map(|q| (0..n).map(|_| uniform_mod(&mut r, q)).collect::<Vec<_>>())
            .collect();
        assert_eq!(poly, manual);
        // Uniform modulo Q = 17·97 = 1649: the pair of residues (a, b) ↔ a·97 + b is a bijection
        // onto Z_1649 (CRT), so the 1649 pairs must be equally likely.
        let mut counts = vec![0u64; 17 * 97];
        let mut r = rng(4);
        for _ in 0..8 {
            let p = uniform_poly(&mut r, &qs, n).unwrap();
            for j in 0..n {
                counts[(p[j] * 97 + p[n + j]) as usize] += 1;
            }
        }
        let stat = chi2(&counts, &vec![1.0 / 1649.0; 1649]);
        assert!(stat < chi2_critical(1648), "χ² = {stat}");
    }

    // ---- Ternary --------------------------------------------------------------------------------

    #[test]
    fn ternary_distribution() {
        let mut r = rng(5);
        let mut counts = [0u64; 3];
        let mut sum = 0i64;
        let mut total = 0usize;
        for _ in 0..4 {
            let s = ternary(&mut r, MAX_DEGREE).unwrap();
            for &x in s.iter() {
                assert!((-1..=1).contains(&x));
                counts[(x + 1) as usize] += 1;
                sum += x;
            }
            total += s.len();
        }
        let stat = chi2(&counts, &[1.0 / 3.0; 3]);
        // Two degrees of freedom: the exact χ²_2 tail is e^{-c/2}, and Laurent–Massart is looser.
        assert!(stat < chi2_critical(2), "χ² = {stat}");
        let mean = sum as f64 / total as f64;
        assert!(mean.abs() < hoeffding_radius(total, 2.0), "mean {mean}");
    }

    #[test]
    fn ternary_consumes_two_bit_chunks() {
        // Recompute the documented procedure from the raw words.
        let n = 1024;
        let s = ternary(&mut rng(6), n).unwrap();
        let mut r = rng(6);
        let mut want = Vec::new();
        while want.len() < n {
            let w = r.next_u64();
            for c in 0..32 {
                let chunk = (w >> (2 * c)) & 3;
                if chunk != 3 && want.len() < n {
                    want.push(chunk as i64 - 1);
                }
            }
        }
        assert_eq!(&s[..], &want[..]);
    }

    #[test]
    fn rns_forms_match_signed_forms() {
        let qs = moduli(&ntt_primes(50, 1024, 3).unwrap());
        let n = 1024;
        let t = ternary_rns(&mut rng(7), &qs, n).unwrap();
        let ts = ternary(&mut rng(7), n).unwrap();
        assert_eq!(*t, *lift_signed(&ts, &qs).unwrap());
        let g = gaussian_rns(&mut rng(8), &qs, n).unwrap();
        let gs = gaussian(&mut rng(8), n).unwrap();
        assert_eq!(*g, *lift_signed(&gs, &qs).unwrap());
        // lift_signed against i128 arithmetic.
        for (i, q) in qs.iter().enumerate() {
            for j in 0..n {
                let want = i128::from(gs[j]).rem_euclid(i128::from(q.value())) as u64;
                assert_eq!(g[i * n + j], want);
                assert!(t[i * n + j] < q.value());
            }
        }
    }

    // ---- Discrete Gaussian ----------------------------------------------------------------------

    /// Exact probabilities of the truncated distribution in f64 (for statistics only).
    fn gaussian_probs(sigma: f64, tail: i64) -> Vec<f64> {
        let w: Vec<f64> = (-tail..=tail)
            .map(|k| (-((k * k) as f64) / (2.0 * sigma * sigma)).exp())
            .collect();
        let total: f64 = w.iter().sum();
        w.iter().map(|x| x / total).collect()
    }

    /// `floor(2^128 · Pr[X <= -t + j])` for `j = 0..2t`, from weights computed with 768-bit
    /// fixed-point integers: `exp(-x)` by its Taylor series with `x = k²/(2σ²)` an exact
    /// rational (σ is the dyadic value of the f64).
    fn reference_cdt(sigma: f64, tail: u32) -> Vec<BigUint> {
        const FRAC: u32 = 768;
        let bits = sigma.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as i64 - 1075;
        let mant = (bits & ((1 << 52) - 1)) | (1 << 52);
        assert!(exp < 0 && sigma > 0.0);
        // x = k² / (2 m² 2^(2e)) = k² 2^(-2e) / (2 m²).
        let den = BigInt::from(2u8) * BigInt::from(mant) * BigInt::from(mant);
        let one = BigInt::one() << FRAC;
        let weight = |k: u32| -> BigInt {
            let num = BigInt::from(u64::from(k) * u64::from(k)) << ((-2 * exp) as usize);
            // Guard against inputs whose Taylor terms would exceed the working precision.
            assert!(
                (&num / &den) <= BigInt::from(100u8),
                "x too large for the reference"
            );
            let mut term = one.clone();
            let mut sum = one.clone();
            let mut i = 1u32;
            while !term.is_zero() {
                term = -(term * &num) / (&den * BigInt::from(i));
                sum += &term;
                i += 1;
            }
            sum.max(BigInt::zero())
        };
        let w: Vec<BigInt> = (0..=tail).map(weight).collect();
        let total: BigInt = &w[0] + BigInt::from(2u8) * w[1..].iter().sum::<BigInt>();
        let t = tail as usize;
        let mut out = Vec::with_capacity(2 * t);
        let mut partial = BigInt::zero();
        for j in 0..2 * t {
            // value -t + j has |value| = |t - j|
            partial += &w[(t as i64 - j as i64).unsigned_abs() as usize];
            out.push(((&partial << 128usize) / &total).to_biguint().unwrap());
        }
        out
    }

    #[test]
    fn gaussian_table_matches_bigint_reference() {
        let tolerance = BigInt::one() << 28; // 2^-100 of probability: the documented bound
        let mut worst = 0f64;
        for (sigma, tail) in [
            (DEFAULT_SIGMA, DEFAULT_TAIL),
            (0.5, 3),
            (1.0, 6),
            (1.0, 14),
            (3.2, 40),
            (8.0, 48),
            (19.2, 115),
            (128.0, 768),
        ] {
            let g = DiscreteGaussian::with_tail(sigma, tail).unwrap();
            let want = reference_cdt(sigma, tail);
            assert_eq!(g.table.len(), want.len());
            for (j, (&(lo, hi), w)) in g.table.iter().zip(&want).enumerate() {
                let got = BigInt::from((u128::from(hi) << 64) | u128::from(lo));
                let diff = (&got - BigInt::from(w.clone())).abs();
                worst = worst.max(diff.to_f64().unwrap());
                assert!(diff <= tolerance, "σ={sigma} t={tail} j={j}: off by {diff}");
            }
            // Monotone and symmetric.
            for j in 1..g.table.len() {
                assert!(ge_u128(g.table[j], g.table[j - 1]) == 1);
            }
        }
        eprintln!("largest table error: 2^{:.1} units of 2^-128", worst.log2());
    }

    #[test]
    fn ge_u128_matches_comparison() {
        let mut r = rng(9);
        let edge = [
            0u128,
            1,
            u64::MAX as u128,
            1 << 64,
            (1 << 64) + 1,
            u128::MAX - 1,
            u128::MAX,
        ];
        let mut values: Vec<u128> = edge.to_vec();
        for _ in 0..200 {
            let x = (u128::from(r.next_u64()) << 64) | u128::from(r.next_u64());
            values.push(x);
            values.push(x ^ 1);
            values.push(x & (u128::MAX << 64));
        }
        for &a in &values {
            for &b in &values {
                assert_eq!(ge_u128(split_u128(a), split_u128(b)), u64::from(a >= b));
            }
        }
    }

    #[test]
    fn standard_gaussian_parameters() {
        assert_eq!(DEFAULT_TAIL, (6.0 * DEFAULT_SIGMA).floor() as u32);
        let g = DiscreteGaussian::new(DEFAULT_SIGMA).unwrap();
        assert_eq!(g.tail(), 19);
        assert_eq!(g.sigma(), 3.2);
        assert_eq!(g.table, DiscreteGaussian::standard().table);
        assert_eq!(
            format!("{g:?}"),
            "DiscreteGaussian { sigma: 3.2, tail: 19, .. }"
        );
        // The documented tail mass Pr[|X| >= 20] = 9.474e-10 (f64 sums are ample here).
        let w = |k: i64| (-((k * k) as f64) / (2.0 * 3.2 * 3.2)).exp();
        let total: f64 = (-200..=200).map(w).sum();
        let cut: f64 = 2.0 * (20..=200).map(w).sum::<f64>() / total;
        assert!((cut / 9.474e-10 - 1.0).abs() < 1e-3, "tail mass {cut}");
        assert!((cut.log2() + 29.98).abs() < 0.01);
    }

    /// Range, mean, second moment and a χ² of the histogram for `n` samples of `g`.
    fn check_gaussian(g: &DiscreteGaussian, seed: u64, samples: usize, merge_from: i64) {
        let t = i64::from(g.tail());
        let probs = gaussian_probs(g.sigma(), t);
        let m2: f64 = (-t..=t).zip(&probs).map(|(k, p)| (k * k) as f64 * p).sum();
        let m4: f64 = (-t..=t)
            .zip(&probs)
            .map(|(k, p)| (k * k * k * k) as f64 * p)
            .sum();
        let mut r = rng(seed);
        let mut hist = vec![0u64; 2 * t as usize + 1];
        let (mut sum, mut sum_sq) = (0.0, 0.0);
        let mut drawn = 0;
        while drawn < samples {
            let e = g.sample_poly(&mut r, MAX_DEGREE.min(samples)).unwrap();
            for &x in e.iter() {
                assert!(x.abs() <= t, "sample {x} outside the tail cut");
                hist[(x + t) as usize] += 1;
                sum += x as f64;
                sum_sq += (x * x) as f64;
            }
            drawn += e.len();
        }
        // Mean 0 (the distribution is symmetric): Bernstein with Var X = m2, |X| <= t.
        let mean = sum / drawn as f64;
        assert!(
            mean.abs() < bernstein_radius(drawn, m2, t as f64),
            "mean {mean}"
        );
        // E[X²] = m2: Bernstein on Y = X², Var Y = m4 - m2², |Y - m2| <= t².
        let second = sum_sq / drawn as f64;
        let r2 = bernstein_radius(drawn, m4 - m2 * m2, (t * t) as f64);
        assert!((second - m2).abs() < r2, "E[X²] {second}, want {m2} ± {r2}");
        // χ²: single values for |x| < merge_from, the two tails merged.
        let mut obs = Vec::new();
        let mut exp = Vec::new();
        let bin = |x: i64| x.clamp(-merge_from, merge_from);
        for b in -merge_from..=merge_from {
            let pick = |k: &i64| bin(*k) == b;
            obs.push((-t..=t).filter(pick).map(|k| hist[(k + t) as usize]).sum());
            exp.push((-t..=t).filter(pick).map(|k| probs[(k + t) as usize]).sum());
        }
        let stat = chi2(&obs, &exp);
        assert!(stat < chi2_critical(obs.len() - 1), "χ² = {stat}");
    }

    #[test]
    fn gaussian_default_statistics() {
        // The untruncated variance is σ² = 10.24 (to 1e-15); the cut at 19 removes the mass
        // Pr[|X| >= 20] ≈ 9.5e-10 at x² >= 400, lowering it by about 4e-7.
        let probs = gaussian_probs(3.2, 19);
        let m2: f64 = (-19i64..=19)
            .zip(&probs)
            .map(|(k, p)| (k * k) as f64 * p)
            .sum();
        assert!(m2 < 10.24 && 10.24 - m2 < 1e-6, "truncated variance {m2}");
        check_gaussian(DiscreteGaussian::standard(), 10, 1 << 20, 10);
    }

    #[test]
    fn gaussian_other_parameters_statistics() {
        check_gaussian(&DiscreteGaussian::new(1.0).unwrap(), 11, 1 << 18, 3);
        check_gaussian(&DiscreteGaussian::new(12.0).unwrap(), 12, 1 << 19, 30);
        // A tail cut well inside the bulk: the renormalised mass piles up nowhere.
        check_gaussian(
            &DiscreteGaussian::with_tail(3.2, 4).unwrap(),
            13,
            1 << 18,
            4,
        );
    }

    // ---- Seeded expansion -----------------------------------------------------------------------

    /// ChaCha20 block function written from Bernstein's specification (independent of
    /// rand_chacha): constants, 8 key words, 64-bit counter (words 12–13), 64-bit nonce
    /// (words 14–15), 10 double rounds, feed-forward.
    fn chacha20_block(key: &[u8; 32], counter: u64, nonce: u64) -> [u32; 16] {
        fn qr(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
            x[a] = x[a].wrapping_add(x[b]);
            x[d] = (x[d] ^ x[a]).rotate_left(16);
            x[c] = x[c].wrapping_add(x[d]);
            x[b] = (x[b] ^ x[c]).rotate_left(12);
            x[a] = x[a].wrapping_add(x[b]);
            x[d] = (x[d] ^ x[a]).rotate_left(8);
            x[c] = x[c].wrapping_add(x[d]);
            x[b] = (x[b] ^ x[c]).rotate_left(7);
        }
        let mut s = [0u32; 16];
        s[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
        for i in 0..8 {
            s[4 + i] = u32::from_le_bytes(key[4 * i..4 * i + 4].try_into().unwrap());
        }
        s[12] = counter as u32;
        s[13] = (counter >> 32) as u32;
        s[14] = nonce as u32;
        s[15] = (nonce >> 32) as u32;
        let mut x = s;
        for _ in 0..10 {
            qr(&mut x, 0, 4, 8, 12);
            qr(&mut x, 1, 5, 9, 13);
            qr(&mut x, 2, 6, 10, 14);
            qr(&mut x, 3, 7, 11, 15);
            qr(&mut x, 0, 5, 10, 15);
            qr(&mut x, 1, 6, 11, 12);
            qr(&mut x, 2, 7, 8, 13);
            qr(&mut x, 3, 4, 9, 14);
        }
        for (xi, si) in x.iter_mut().zip(&s) {
            *xi = xi.wrapping_add(*si);
        }
        x
    }

    /// Keystream block 0 of ChaCha20 with an all-zero key and nonce: test vector 1 of
    /// draft-nir-cfrg-chacha20-poly1305-04, section 7.1 (as little-endian words).
    const KAT_ZERO_BLOCK0: [u32; 16] = [
        0xade0b876, 0x903df1a0, 0xe56a5d40, 0x28bd8653, 0xb819d2bd, 0x1aed8da0, 0xccef36a8,
        0xc70d778b, 0x7c5941da, 0x8d485751, 0x3fe02477, 0x374ad8b8, 0xf4b8436a, 0x1ca11815,
        0x69b687c3, 0x8665eeb2,
    ];

    #[test]
    fn reference_chacha_matches_published_vectors() {
        assert_eq!(chacha20_block(&[0; 32], 0, 0), KAT_ZERO_BLOCK0);
        // Test vector 5 of the same draft: zero key, the 96-bit nonce 00…0002, counter 0. In the
        // 64-bit-nonce layout that is word 15 = 0x02000000, i.e. stream 2^57.
        let tv5 = [
            0x374dc6c2, 0x3736d58c, 0xb904e24a, 0xcd3f93ef, 0x88228b1a, 0x96a4dfb3, 0x5b76ab72,
            0xc727ee54, 0x0e0e978a, 0xf3145c95, 0x1b748ea8, 0xf786c297, 0x99c28f5f, 0x628314e8,
            0x398a19fa, 0x6ded1b53,
        ];
        assert_eq!(chacha20_block(&[0; 32], 0, 2 << 56), tv5);
        assert_eq!(
            Domain::new([0, 0, 0, 0], 0x0200_0000).stream(),
            2 << 56,
            "nonce bytes 00 00 00 00 00 00 00 02"
        );
    }

    /// The documented expansion, recomputed from the reference block function.
    fn reference_expand(seed: &[u8; 32], stream: u64, qs: &[Modulus], n: usize) -> Vec<u64> {
        let mut block = 0u64;
        let mut buf: Vec<u32> = Vec::new();
        let mut pos = 0;
        let mut next_word = || {
            if pos == buf.len() {
                buf = chacha20_block(seed, block, stream).to_vec();
                block += 1;
                pos = 0;
            }
            let w = u64::from(buf[pos]) | (u64::from(buf[pos + 1]) << 32);
            pos += 2;
            w
        };
        let mut out = Vec::new();
        for q in qs {
            let mask = (1u64 << q.bits()) - 1;
            for _ in 0..n {
                loop {
                    let x = next_word() & mask;
                    if x < q.value() {
                        out.push(x);
                        break;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn expand_seed_matches_reference_chacha() {
        let mut qs_values = vec![65537, (1 << 61) - 1];
        qs_values.extend(ntt_primes(50, 1024, 2).unwrap());
        let qs = moduli(&qs_values);
        let seeds: [[u8; 32]; 2] = [[0; 32], core::array::from_fn(|i| i as u8 + 1)];
        let domains = [
            Domain::from_stream(0),
            Domain::new(*b"CRPK", 0),
            Domain::new(*b"RLK0", 3),
            Domain::from_stream(u64::MAX),
        ];
        for seed in &seeds {
            for d in domains {
                let got = expand_seed(seed, d, &qs, 1024).unwrap();
                assert_eq!(got, reference_expand(seed, d.stream(), &qs, 1024));
            }
        }
    }

    #[test]
    fn expand_seed_known_answer() {
        // Zero seed, stream 0, q = 65537 (17 bits): the words of draft-nir-cfrg test vector 1,
        // low 17 bits of each u64 = the low 17 bits of its even-indexed u32 word.
        let qs = moduli(&[65537]);
        let got = expand_seed(&[0; 32], Domain::from_stream(0), &qs, 2).unwrap();
        let low17 = |w: u32| u64::from(w) & 0x1ffff;
        assert_eq!(got, [low17(KAT_ZERO_BLOCK0[0]), low17(KAT_ZERO_BLOCK0[2])]);
        assert_eq!(got, [47222, 23872]);
        // Coefficients 2.. : words 4, 6, 8 give 119485, 79528, 82394 >= 65537 and are rejected.
        let got = expand_seed(&[0; 32], Domain::from_stream(0), &qs, 8).unwrap();
        for i in [4, 6, 8] {
            assert!(low17(KAT_ZERO_BLOCK0[i]) >= 65537);
        }
        let want: Vec<u64> = [0, 2, 10, 12, 14]
            .iter()
            .map(|&i| low17(KAT_ZERO_BLOCK0[i]))
            .collect();
        assert_eq!(&got[..5], &want[..]);
        assert_eq!(&got[..5], &[47222, 23872, 9335, 17258, 34755]);
    }

    #[test]
    fn expand_seed_deterministic_and_domain_separated() {
        let qs = moduli(&ntt_primes(50, 4096, 2).unwrap());
        let seed = [7u8; 32];
        let a = expand_seed(&seed, Domain::new(*b"CRPK", 0), &qs, 4096).unwrap();
        assert_eq!(
            a,
            expand_seed(&seed, Domain::new(*b"CRPK", 0), &qs, 4096).unwrap()
        );
        // Different index, tag or seed: equal outputs would mean 8192 equal 50-bit residues.
        for other in [
            expand_seed(&seed, Domain::new(*b"CRPK", 1), &qs, 4096).unwrap(),
            expand_seed(&seed, Domain::new(*b"GALK", 0), &qs, 4096).unwrap(),
            expand_seed(&[8u8; 32], Domain::new(*b"CRPK", 0), &qs, 4096).unwrap(),
        ] {
            let same = a.iter().zip(&other).filter(|(x, y)| x == y).count();
            assert!(same <= 1, "{same} equal residues");
        }
        // seeded_rng is the generator expand_seed reads.
        let mut r = seeded_rng(&seed, Domain::new(*b"CRPK", 0));
        assert_eq!(a, uniform_poly(&mut r, &qs, 4096).unwrap());
        assert_eq!(
            Domain::new(*b"CRPK", 7).nonce_bytes(),
            [b'C', b'R', b'P', b'K', 7, 0, 0, 0]
        );
        assert_eq!(Domain::from_stream(42).stream(), 42);
    }

    // ---- Smudging -------------------------------------------------------------------------------

    /// Centered CRT composition over a basis (test oracle).
    struct Crt {
        q: BigUint,
        terms: Vec<BigUint>,
    }
    impl Crt {
        fn new(qs: &[Modulus]) -> Self {
            let q: BigUint = qs.iter().map(|m| BigUint::from(m.value())).product();
            let terms = qs
                .iter()
                .map(|m| {
                    let hat = &q / m.value();
                    let hat_mod = (&hat % m.value()).to_u64().unwrap();
                    hat * m.inv(hat_mod).unwrap()
                })
                .collect();
            Self { q, terms }
        }
        fn centered(&self, residues: impl Iterator<Item = u64>) -> BigInt {
            let x: BigUint = residues
                .zip(&self.terms)
                .map(|(r, t)| t * r)
                .sum::<BigUint>()
                % &self.q;
            if &x << 1 > self.q {
                BigInt::from(x) - BigInt::from(self.q.clone())
            } else {
                BigInt::from(x)
            }
        }
    }

    #[test]
    fn smudging_range_and_top_bits_every_word_boundary() {
        let n = 4096;
        let qs = moduli(&ntt_primes(50, n, 5).unwrap()); // Q ≈ 2^250
        let crt = Crt::new(&qs);
        let mut r = rng(20);
        for bits in [
            1u32, 2, 5, 62, 63, 64, 65, 100, 126, 127, 128, 129, 191, 200,
        ] {
            let e = smudging_noise(&mut r, bits, &qs, n).unwrap();
            let bound = BigInt::one() << bits;
            // Top five bits of u = e + 2^bits (all of u when bits + 1 < 5) are uniform.
            let bucket_bits = (bits + 1).min(5);
            let mut counts = vec![0u64; 1 << bucket_bits];
            for j in 0..n {
                let v = crt.centered((0..qs.len()).map(|i| e[i * n + j]));
                assert!(v >= -&bound && v < bound, "bits {bits}: {v} out of range");
                let u = (v + &bound).to_biguint().unwrap();
                counts[(u >> (bits + 1 - bucket_bits)).to_usize().unwrap()] += 1;
            }
            let p = vec![1.0 / counts.len() as f64; counts.len()];
            let stat = chi2(&counts, &p);
            assert!(
                stat < chi2_critical(counts.len() - 1),
                "bits {bits}: χ² = {stat}"
            );
        }
    }

    #[test]
    fn smudging_100_bits_moments() {
        let n = 4096;
        let qs = moduli(&ntt_primes(50, n, 3).unwrap()); // Q ≈ 2^150 > 2^101
        let crt = Crt::new(&qs);
        let mut r = rng(21);
        let scale = 2f64.powi(100);
        let (mut sum, mut sum_sq, mut count) = (0.0, 0.0, 0usize);
        for _ in 0..4 {
            let e = smudging_noise(&mut r, 100, &qs, n).unwrap();
            for j in 0..n {
                let v = crt.centered((0..3).map(|i| e[i * n + j]));
                assert!(v.bits() <= 101);
                let y = v.to_f64().unwrap() / scale; // in [-1, 1)
                sum += y;
                sum_sq += y * y;
                count += 1;
            }
        }
        // E[y] = -2^-101 ≈ 0 for y in [-1, 1): Hoeffding with width 2.
        let mean = sum / count as f64;
        assert!(mean.abs() < hoeffding_radius(count, 2.0), "mean {mean}");
        // E[y²] = (Σ_{j=-B}^{B-1} j²)/(2B·B²) = 1/3 + 1/(6B²): Hoeffding on y² in [0, 1].
        let second = sum_sq / count as f64;
        assert!(
            (second - 1.0 / 3.0).abs() < hoeffding_radius(count, 1.0),
            "E[y²] {second}"
        );
    }
}
