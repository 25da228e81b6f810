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
//! Every sampler reads the generator as a sequence of 64-bit words `w_0, w_1, …`: the output
//! bytes cut into 8-byte little-endian words. The polynomial samplers fetch them in batches with
//! [`RngCore::fill_bytes`] (at most 256 words a call), the single-value functions
//! ([`uniform_mod`], [`DiscreteGaussian::sample`], [`smudging_noise`]) with
//! [`RngCore::next_u64`]. For `ChaCha20Rng` (and every `rand_core` block generator) both read the
//! same keystream in the same order, so the words are the keystream's whatever the call; the
//! tests check this. A batch never holds more words than the procedure below is certain to use,
//! so batching changes nothing in what is consumed. An RNS sampler draws the integer for
//! coefficient `j` once (coefficients in order `j = 0, …, n-1`) and writes its residue into
//! every limb; the exception is the uniform sampler, which draws limb by limb (all of limb 0,
//! then all of limb 1, …), see [`uniform_poly`].
//! - [`uniform_mod`]: one word per attempt, masked to `bits(q)` low bits, rejected if `>= q`.
//! - [`ternary`]: one word per 32 two-bit chunks, least significant chunk first; chunk `c = 3` is
//!   rejected, `c ∈ {0, 1, 2}` gives `c - 1`; the chunks left in the last word are discarded.
//! - [`DiscreteGaussian::sample`]: one word `w` per sample: `u = w >> 1` (63 bits) is looked up
//!   in the table of `|X|`, bit 0 of `w` is the sign.
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
//!   distribution table of `|X|` (CDT; Peikert, "An efficient and parallel Gaussian sampler for
//!   lattices", CRYPTO 2010) and a uniform sign, the table scanned in full with branch-free
//!   comparisons, as in FrodoKEM (Bos et al., "Frodo", CCS 2016) and the constant-time CDT of
//!   Micciancio and Walter ("Gaussian sampling over the integers: efficient, generic,
//!   constant-time", CRYPTO 2017). See [`DiscreteGaussian`] for the precision argument: the
//!   statistical distance to the tail-cut distribution is at most `t·2^-63` (`2^-58.7` for the
//!   default).
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
//! no branch and no memory index depends on an output value; the secret samplers contain no
//! data-dependent branch at all, only loops whose trip counts are public.
//! - **Gaussian**: every `u` is compared with *every* table entry (a full scan, no early exit);
//!   a comparison is the borrow bit of a 64-bit subtraction, the bits are summed, and the sign
//!   is applied as `(a ⊕ -s) + s`. The scan runs on eight samples at once (vectorised,
//!   `multiversion` for AVX-512 and AVX2, the same integer operations everywhere, so the
//!   output is identical on every CPU).
//! - **Ternary and uniform** reject some draws. The rejection decision is about a draw that is
//!   then *discarded*, and the pattern of rejections is independent of the values accepted:
//!   conditioned on any pattern, every accepted draw is still uniform on its accepted set. The
//!   samplers compact the accepted values without branching: each candidate is stored at the
//!   current position and the position advances by the comparison bit (`i += (c != 3)`), so the
//!   memory index is the *number* of values accepted so far, which is independent of their
//!   values. The number of words drawn depends only on the rejections.
//! - **Smudging** noise is assembled and reduced with masks and Barrett reduction only.
//! - **Residues** of the sampled small values are `e + (q & (e >> 63))`, element-wise and
//!   vectorised; [`lift_signed`] (arbitrary `i64` input) uses the branch-free
//!   [`Modulus::reduce_i64`].
//!
//! The claims are about the code as written; the compiler is trusted not to turn branch-free
//! arithmetic into branches (the same assumption every constant-time Rust library makes).

use std::sync::OnceLock;

use multiversion::multiversion;
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

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

/// Largest number of words fetched by one [`RngCore::fill_bytes`] call (a 2 KiB buffer).
const BATCH_WORDS: usize = 256;

/// A reusable batch of generator output: [`fill`](Self::fill) reads up to [`BATCH_WORDS`]
/// words with one `fill_bytes` call. Both buffers are wiped once, on drop (not after every
/// call: volatile wiping of 2 KiB per batch would cost as much as the sampling itself).
#[derive(Zeroize, ZeroizeOnDrop)]
struct WordBatch {
    bytes: [u8; 8 * BATCH_WORDS],
    words: [u64; BATCH_WORDS],
}

impl WordBatch {
    fn new() -> Self {
        Self {
            bytes: [0; 8 * BATCH_WORDS],
            words: [0; BATCH_WORDS],
        }
    }

    /// The next `count` (at most [`BATCH_WORDS`]) 64-bit little-endian words of `rng`.
    fn fill(&mut self, rng: &mut (impl RngCore + CryptoRng), count: usize) -> &[u64] {
        let count = count.min(BATCH_WORDS);
        let buf = &mut self.bytes[..8 * count];
        rng.fill_bytes(buf);
        for (w, b) in self.words.iter_mut().zip(buf.chunks_exact(8)) {
            let mut le = [0u8; 8];
            le.copy_from_slice(b);
            *w = u64::from_le_bytes(le);
        }
        &self.words[..count]
    }
}

/// `out[j] = e[j] mod q` for `|e[j]| < q`: `e + (q & (e >> 63))`, element-wise and branch-free.
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
fn lift_small(out: &mut [u64], signed: &[i64], q: u64) {
    for (o, &e) in out.iter_mut().zip(signed) {
        *o = e
            .cast_unsigned()
            .wrapping_add(q & (e >> 63).cast_unsigned());
    }
}

/// Writes the residues of `signed` (one integer per coefficient, `n = signed.len()`) into every
/// limb of a fresh limb-major buffer. `bound` is a public bound on `|signed[j]|`: limbs whose
/// prime exceeds it take the vectorised [`lift_small`], the others the branch-free
/// [`Modulus::reduce_i64`]. The choice depends on public values only.
fn signed_to_rns(moduli: &[Modulus], signed: &[i64], bound: u64) -> Result<Zeroizing<Vec<u64>>> {
    let n = signed.len();
    let len = check_rns(moduli, n)?;
    let mut out = Zeroizing::new(vec![0u64; len]);
    for (limb, q) in out.chunks_exact_mut(n).zip(moduli) {
        if bound < q.value() {
            lift_small(limb, signed, q.value());
        } else {
            for (o, &e) in limb.iter_mut().zip(signed) {
                *o = q.reduce_i64(e);
            }
        }
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
/// Every residue is drawn independently as [`uniform_mod`] draws it (one word per attempt,
/// masked to `bits(q_i)` low bits, rejected if `>= q_i`), limb by limb (`q_0` for coefficients
/// `0..n`, then `q_1`, …). Since the primes are distinct, the CRT map
/// `Z_Q → Z_{q_0} × … × Z_{q_{k-1}}` is a bijection, so independent uniform residues give
/// coefficients *exactly* uniform modulo `Q` (and modulo `Q·P` when the special primes are in
/// `moduli`). The result is equally uniform read as coefficients or as NTT evaluations.
///
/// The words are fetched in batches of `min(256, coefficients still missing in the limb)`:
/// each word yields at most one coefficient, so every word of a batch is used, and the words
/// consumed are those of one [`uniform_mod`] call per coefficient.
///
/// # Errors
/// [`Error::InvalidDegree`] if `n` is not a power of two in `[MIN_DEGREE, MAX_DEGREE]`;
/// [`Error::InvalidBasis`] if `moduli` is empty or repeats a prime.
///
/// # Timing
/// As [`uniform_mod`]: the running time is independent of the output. Accepted values are
/// compacted without a branch (see the module's `# Timing`).
pub fn uniform_poly(
    rng: &mut (impl RngCore + CryptoRng),
    moduli: &[Modulus],
    n: usize,
) -> Result<Vec<u64>> {
    let len = check_rns(moduli, n)?;
    // Every value is written below (each limb is filled to `n`).
    let mut out = super::pool::take_dirty(len);
    let mut batch = WordBatch::new();
    for (limb, q) in out.chunks_exact_mut(n).zip(moduli) {
        // bits(q) is in [2, 62], so the shift is in [2, 62].
        let mask = u64::MAX >> (64 - q.bits());
        let mut filled = 0;
        while filled < n {
            let words = batch.fill(rng, n - filled);
            filled = compact_below(limb, filled, words, mask, q.value());
        }
    }
    Ok(out)
}

/// Stores `w & mask` for each word at `out[filled]`, advancing `filled` when the value is below
/// `q`; returns the new `filled`. Requires `words.len() <= out.len() - filled`, so every store
/// is in bounds (at the `m`-th word, `filled` has grown by at most `m`).
fn compact_below(out: &mut [u64], mut filled: usize, words: &[u64], mask: u64, q: u64) -> usize {
    debug_assert!(words.len() <= out.len() - filled);
    let last = out.len() - 1;
    for &w in words {
        let x = w & mask;
        // filled <= last here (see above); `min` keeps the index check out of the loop.
        out[filled.min(last)] = x;
        filled += usize::from(x < q);
    }
    filled
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

/// Splits `w` into its 32 two-bit chunks (least significant first) and compacts the accepted
/// ones (`c != 3`) as `c - 1` into `scratch[..count]`; returns `count`. Branch-free: every chunk
/// is stored at the current position, which then advances by the acceptance bit.
#[inline(always)]
fn split_ternary_word(mut w: u64, scratch: &mut [i64; 32]) -> usize {
    let mut count = 0usize;
    for _ in 0..32 {
        let c = w & 3;
        // count <= chunks seen so far <= 31 at this store, so `& 31` changes nothing.
        scratch[count & 31] = c.cast_signed().wrapping_sub(1);
        count += usize::from(c != 3);
        w >>= 2;
    }
    count
}

/// Fills `out` with values uniform on `{-1, 0, 1}` (see [`ternary`] for the procedure).
///
/// Words come in batches of `min(256, ⌈missing/32⌉)`: a word yields at most 32 values, so all of
/// them are needed, and only the last word of a batch can complete `out` (its remaining chunks
/// are then discarded, as the procedure says).
fn fill_ternary(rng: &mut (impl RngCore + CryptoRng), out: &mut [i64]) {
    let n = out.len();
    let mut batch = WordBatch::new();
    let mut scratch = [0i64; 32];
    let mut filled = 0;
    while filled < n {
        for &w in batch.fill(rng, (n - filled).div_ceil(32)) {
            let take = split_ternary_word(w, &mut scratch).min(n - filled);
            out[filled..filled + take].copy_from_slice(&scratch[..take]);
            filled += take;
        }
    }
    scratch.zeroize();
}

/// `n` coefficients uniform on `{-1, 0, 1}` (the ternary secret distribution).
///
/// Each 64-bit word gives 32 two-bit chunks `c`, least significant first; `c = 3` is
/// rejected and `c ∈ {0, 1, 2}` gives `c - 1`. Each accepted chunk is uniform on `{0, 1, 2}`,
/// so the output is exactly uniform on `{-1, 0, 1}`. The chunks left in the word that completes
/// the polynomial are discarded.
///
/// # Errors
/// [`Error::InvalidDegree`] if `n` is not a power of two in `[MIN_DEGREE, MAX_DEGREE]`.
///
/// # Timing
/// Branch-free: the chunks are compacted by advancing the write position by the acceptance bit;
/// positions and word counts depend only on which chunks were rejected, which is independent of
/// the accepted values (see the module's `# Timing`). The mapping `c -> c - 1` is arithmetic.
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
/// As [`ternary`]; residues by the branch-free `e + (q & (e >> 63))`.
pub fn ternary_rns(
    rng: &mut (impl RngCore + CryptoRng),
    moduli: &[Modulus],
    n: usize,
) -> Result<Zeroizing<Vec<u64>>> {
    check_rns(moduli, n)?;
    let signed = ternary(rng, n)?;
    signed_to_rns(moduli, &signed, 1)
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
    // Bound u64::MAX: no prime exceeds it, so every limb takes `reduce_i64` (any i64 input).
    signed_to_rns(moduli, coeffs, u64::MAX)
}

// ---------------------------------------------------------------------------------------------
// Discrete Gaussian
// ---------------------------------------------------------------------------------------------

/// One sample from the word `w`: `|x| = #{j : (w >> 1) >= T_j}`, sign from bit 0 of `w`.
///
/// `u = w >> 1` and every entry are at most `2^63`, so `u - T_j` wraps (top bit set) exactly
/// when `u < T_j`; the sum of those bits is `t - |x|`. The sign `s` is applied as
/// `(a ⊕ -s) + s`, which maps `0` to `0` for either sign. No branch, no secret index.
#[inline(always)]
fn cdt_sample(cdt: &[u64], tail: u64, w: u64) -> i64 {
    let u = w >> 1;
    let mut below = 0u64;
    for &t in cdt {
        below = below.wrapping_add(u.wrapping_sub(t) >> 63);
    }
    apply_sign(tail.wrapping_sub(below), w & 1)
}

/// `a` if `s = 0`, `-a` if `s = 1`, without a branch (`a <= 1024`, `s ∈ {0, 1}`).
#[inline(always)]
fn apply_sign(a: u64, s: u64) -> i64 {
    let (a, s) = (a.cast_signed(), s.cast_signed());
    (a ^ s.wrapping_neg()).wrapping_add(s)
}

/// Working arrays of [`cdt_batch`] (the `u` and the counts of a batch), wiped on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
struct CdtScratch {
    u: [u64; BATCH_WORDS],
    below: [u64; BATCH_WORDS],
}

impl CdtScratch {
    fn new() -> Self {
        Self {
            u: [0; BATCH_WORDS],
            below: [0; BATCH_WORDS],
        }
    }
}

/// `out[k] = cdt_sample(cdt, tail, words[k])` for a batch of at most [`BATCH_WORDS`] words:
/// the table is scanned once, each entry compared with every `u` of the batch in a loop the
/// compiler vectorises across samples (eight per AVX-512 register, four per AVX2 register).
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
fn cdt_batch(cdt: &[u64], tail: u64, words: &[u64], out: &mut [i64], scratch: &mut CdtScratch) {
    debug_assert!(words.len() <= BATCH_WORDS && out.len() == words.len());
    let len = words.len().min(BATCH_WORDS);
    let (u, below) = (&mut scratch.u[..len], &mut scratch.below[..len]);
    below.fill(0);
    for (uk, &wk) in u.iter_mut().zip(words) {
        *uk = wk >> 1;
    }
    for &t in cdt {
        for (b, &uk) in below.iter_mut().zip(u.iter()) {
            *b = b.wrapping_add(uk.wrapping_sub(t) >> 63);
        }
    }
    for ((ok, &b), &wk) in out.iter_mut().zip(below.iter()).zip(words) {
        *ok = apply_sign(tail.wrapping_sub(b), wk & 1);
    }
}

/// A constant-time sampler of the discrete Gaussian `D_{Z,σ}` tail-cut to `[-t, t]`.
///
/// # Distribution
/// `Pr[X = x] ∝ exp(-x²/(2σ²))` for `|x| <= t`, renormalised; σ is the exact `f64` passed (for
/// 3.2 this is `3.2 + 1.8·10^-16`). The tail cut removes `Pr[|X| > t]` of the untruncated
/// distribution: `≈ 2^-29.98` for the default `σ = 3.2, t = 19` (see [`DEFAULT_TAIL`]).
///
/// # Algorithm
/// Inversion of the cumulative table of `|X|` (Peikert CRYPTO 2010) with a uniform sign, the
/// layout of FrodoKEM's sampler (Bos et al., CCS 2016). The table holds
/// `T_j = round(2^63 · Pr[|X| <= j])` for `j = 0..t`; a sample takes one 64-bit word `w`, sets
/// `u = w >> 1` (uniform on `[0, 2^63)`) and `a = #{j : u >= T_j}`, so `Pr[a = k] =
/// (T_k - T_{k-1}) / 2^63` (with `T_{-1} = 0`, `T_t = 2^63`), and returns `a` or `-a` by bit 0
/// of `w`. For `a = 0` both signs give 0, so `Pr[x = 0] = Pr[a = 0]` and
/// `Pr[x = ±k] = Pr[a = k] / 2`, exactly the symmetric split of `Pr[|X| = k]`.
///
/// # Precision and statistical distance
/// The entries are computed once in double-double arithmetic (about 104 significant bits):
/// weights `exp(-k²/(2σ²))` as `(e^-1)^⌊x⌋ · exp(-(x - ⌊x⌋))` with Taylor series, the tail
/// masses `Pr[|X| > j]` summed from the smallest weight, then `T_j = 2^63 - round(2^63 ·
/// Pr[|X| > j])`. The double-double error (a relative `(x + 40)·2^-104` per weight, and
/// `x·e^-x <= 1/e`) is far below one unit of `2^-63`, so each entry is the correctly rounded
/// `2^63 · Pr[|X| <= j]` up to rare ties: within one unit, which the test
/// `gaussian_table_matches_bigint_reference` checks against 768-bit fixed-point integers for σ
/// from 0.5 to 128 and cuts up to 768. With entries within one unit, `Pr[a = k]` is within
/// `2·2^-63` of its exact value (`2^-63` for `k = 0` and `k = t`), so `Pr[x = 0]` and every
/// `Pr[x = ±k]` are within `2^-63`, and the statistical distance to the tail-cut distribution,
/// `½ Σ_v |ΔPr[x = v]| <= ½ (2 + 2(t - 1))·2^-63`, is at most `t·2^-63`: `2^-58.7` for the
/// default `t = 19`, at most `2^-53` for every accepted `t <= 1024`. Both are far below the
/// `2^-29.98` moved by the 6σ tail cut itself (the convention SEAL also follows). The relative
/// error of the smallest probability (`Pr[x = ±19] ≈ 2^-28.4` for σ = 3.2) is below `2^-34`,
/// which the Rényi-divergence arguments of Prest (ASIACRYPT 2017) and Micciancio–Walter
/// (CRYPTO 2017) turn into a negligible loss for any realistic number of samples.
///
/// # Timing
/// [`sample`](Self::sample) and [`sample_poly`](Self::sample_poly) compare every `u` with all
/// `t` entries (no early exit) by the borrow bit of a subtraction, add up the bits, and apply
/// the sign arithmetically; no branch or memory index depends on `u` or on the output. One
/// word a sample, fetched in batches of 256.
#[derive(Clone)]
pub struct DiscreteGaussian {
    sigma: f64,
    tail: u32,
    /// `T_0 <= T_1 <= … <= T_{t-1}`, each in `[0, 2^63]`.
    cdt: Vec<u64>,
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
        // above[j] = w_j + … + w_t for j = 1..=t, summed from the smallest weight.
        let mut above = vec![dd::Dd::ZERO; t + 2];
        for k in (1..=t).rev() {
            above[k] = above[k + 1].add(weights[k]);
        }
        // Total mass W = w_0 + 2 Σ_{k>=1} w_k.
        let total = weights[0].add(above[1].scale(2.0));
        // T_j = 2^63 - round(2^63 · Pr[|X| > j]), Pr[|X| > j] = 2·above[j+1] / W.
        let mut cdt = Vec::with_capacity(t);
        let mut prev = 0u64;
        for j in 0..t {
            let upper = above[j + 1].scale(2.0).div(total); // in (0, 1)
            let entry = (dd::TWO_63 - dd::round_scaled_63(upper)).max(prev);
            cdt.push(entry);
            prev = entry;
        }
        Self { sigma, tail, cdt }
    }

    /// One sample in `[-t, t]`; one `next_u64` word.
    ///
    /// # Timing
    /// Constant time: a full scan of the table with branch-free comparisons.
    pub fn sample(&self, rng: &mut (impl RngCore + CryptoRng)) -> i64 {
        let mut w = rng.next_u64();
        let x = cdt_sample(&self.cdt, u64::from(self.tail), w);
        w.zeroize();
        x
    }

    /// `n` independent samples (the coefficients of an error polynomial): the words are those
    /// of `n` calls to [`sample`](Self::sample), fetched 256 at a time.
    ///
    /// # Errors
    /// [`Error::InvalidDegree`] if `n` is not a power of two in `[MIN_DEGREE, MAX_DEGREE]`.
    ///
    /// # Timing
    /// As [`sample`](Self::sample), eight samples at a time.
    pub fn sample_poly(
        &self,
        rng: &mut (impl RngCore + CryptoRng),
        n: usize,
    ) -> Result<Zeroizing<Vec<i64>>> {
        check_degree(n)?;
        let mut out = Zeroizing::new(vec![0i64; n]);
        let mut batch = WordBatch::new();
        let mut scratch = CdtScratch::new();
        for block in out.chunks_mut(BATCH_WORDS) {
            let words = batch.fill(rng, block.len());
            cdt_batch(&self.cdt, u64::from(self.tail), words, block, &mut scratch);
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
    /// As [`sample`](Self::sample); residues by the branch-free `e + (q & (e >> 63))` (or
    /// [`Modulus::reduce_i64`] for a prime not above the tail cut).
    pub fn sample_rns(
        &self,
        rng: &mut (impl RngCore + CryptoRng),
        moduli: &[Modulus],
        n: usize,
    ) -> Result<Zeroizing<Vec<u64>>> {
        check_rns(moduli, n)?;
        let signed = self.sample_poly(rng, n)?;
        signed_to_rns(moduli, &signed, u64::from(self.tail))
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

    /// `2^63` as an integer (the scale of the Gaussian table).
    pub(super) const TWO_63: u64 = 1 << 63;

    /// `round(c · 2^63)` (to nearest) for `c` in `[0, 1]`, clamped to `[0, 2^63]`.
    pub(super) fn round_scaled_63(c: Dd) -> u64 {
        #[allow(clippy::cast_precision_loss)] // 2^63 is exact in f64
        let scale = TWO_63 as f64;
        // Scaling by a power of two is exact. s.hi is an integer once it is >= 2^52; below,
        // s.hi - floor(s.hi) is exact (the fraction bits of s.hi), and |s.lo| <= ulp(s.hi)/2.
        let s = c.scale(scale);
        let int = s.hi.clamp(0.0, scale).floor();
        let frac = (s.hi - int) + s.lo;
        // int in [0, 2^63] and frac.round() in {-1, 0, 1, 2}: both exact as i128.
        #[allow(clippy::cast_possible_truncation)]
        let v = int as i128 + frac.round() as i128;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let r = v.clamp(0, i128::from(TWO_63)) as u64;
        r
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
    fn ternary_batches_consume_exactly_the_documented_words() {
        // Several batch rounds (n up to 2^17), a misaligned stream, and the word after.
        for n in [2, 32, 1024, 1 << 14, MAX_DEGREE] {
            let mut r = rng(60 + n as u64);
            r.next_u32();
            let s = ternary(&mut r, n).unwrap();
            let after = r.next_u64();
            let mut r2 = rng(60 + n as u64);
            r2.next_u32();
            let mut want = Vec::new();
            while want.len() < n {
                let w = r2.next_u64();
                for c in 0..32 {
                    let chunk = (w >> (2 * c)) & 3;
                    if chunk != 3 && want.len() < n {
                        want.push(chunk as i64 - 1);
                    }
                }
            }
            assert_eq!(&s[..], &want[..], "n = {n}");
            assert_eq!(after, r2.next_u64(), "n = {n}: words consumed");
        }
    }

    #[test]
    fn split_ternary_word_compacts() {
        let mut scratch = [0i64; 32];
        assert_eq!(split_ternary_word(u64::MAX, &mut scratch), 0);
        assert_eq!(split_ternary_word(0, &mut scratch), 32);
        assert_eq!(scratch, [-1; 32]);
        // Chunks 2, 3, 1, 0, 3, … (least significant first), then all 3.
        let w = u64::MAX << 10 | 0b00_01_11_10 | (0b11 << 8);
        assert_eq!(split_ternary_word(w, &mut scratch), 3);
        assert_eq!(&scratch[..3], &[1, 0, -1]);
    }

    #[test]
    fn uniform_poly_misaligned_stream() {
        // Batches through fill_bytes read the words one uniform_mod call per attempt reads.
        let qs = moduli(&[65537, (1 << 50) - 27, 17]);
        for n in [2, 256, 4096] {
            let mut r = rng(70);
            r.next_u32();
            let got = uniform_poly(&mut r, &qs, n).unwrap();
            let after = r.next_u64();
            let mut r2 = rng(70);
            r2.next_u32();
            let want: Vec<u64> = qs
                .iter()
                .flat_map(|q| (0..n).map(|_| uniform_mod(&mut r2, q)).collect::<Vec<_>>())
                .collect();
            assert_eq!(got, want);
            assert_eq!(after, r2.next_u64());
        }
    }

    #[test]
    fn small_primes_take_the_reduction_path() {
        // 2, 3 and 17 do not exceed the Gaussian tail 19 (reduce_i64 limbs), 97 and the 50-bit
        // prime do (lift_small limbs); for ternary values every prime takes lift_small.
        let qs = moduli(&[17, 2, 3, 97, (1 << 50) - 27]);
        let n = 4096;
        let g = gaussian_rns(&mut rng(80), &qs, n).unwrap();
        let gs = gaussian(&mut rng(80), n).unwrap();
        let t = ternary_rns(&mut rng(81), &qs, n).unwrap();
        let ts = ternary(&mut rng(81), n).unwrap();
        for (i, q) in qs.iter().enumerate() {
            for j in 0..n {
                let m = i128::from(q.value());
                assert_eq!(g[i * n + j], i128::from(gs[j]).rem_euclid(m) as u64);
                assert_eq!(t[i * n + j], i128::from(ts[j]).rem_euclid(m) as u64);
            }
        }
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

    /// `round(2^63 · Pr[|X| <= j])` for `j = 0..t`, from weights computed with 768-bit
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
        // T_j = round(2^63 · (w_0 + 2(w_1 + … + w_j)) / W) = floor((2^64 · partial + W) / 2W).
        let mut out = Vec::with_capacity(tail as usize);
        let mut partial = w[0].clone();
        for (j, wj) in w[..tail as usize].iter().enumerate() {
            if j > 0 {
                partial += BigInt::from(2u8) * wj;
            }
            let num = (&partial << 64usize) + &total;
            let den = BigInt::from(2u8) * &total;
            out.push((num / den).to_biguint().unwrap());
        }
        out
    }

    #[test]
    fn gaussian_table_matches_bigint_reference() {
        // Every entry within one unit of the correctly rounded 2^63 · Pr[|X| <= j]: the bound the
        // documented statistical distance t·2^-63 rests on.
        let mut off_by_one = 0;
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
            assert_eq!(g.cdt.len(), want.len());
            for (j, (&got, w)) in g.cdt.iter().zip(&want).enumerate() {
                let diff = (BigInt::from(got) - BigInt::from(w.clone())).abs();
                assert!(
                    diff <= BigInt::one(),
                    "σ={sigma} t={tail} j={j}: off by {diff}"
                );
                off_by_one += usize::from(!diff.is_zero());
                assert!(got <= 1 << 63);
            }
            // Monotone.
            assert!(g.cdt.windows(2).all(|p| p[0] <= p[1]));
        }
        eprintln!("table entries off by one unit from the exact rounding: {off_by_one}");
    }

    /// The documented procedure, one `next_u64` word a sample, written with `u128`/`i64`
    /// comparisons instead of borrow bits.
    fn reference_gaussian(g: &DiscreteGaussian, r: &mut impl RngCore, n: usize) -> Vec<i64> {
        (0..n)
            .map(|_| {
                let w = r.next_u64();
                let u = w >> 1;
                let a = g.cdt.iter().filter(|&&t| u >= t).count() as i64;
                if w & 1 == 1 {
                    -a
                } else {
                    a
                }
            })
            .collect()
    }

    #[test]
    fn gaussian_consumes_one_word_per_sample() {
        for g in [
            DiscreteGaussian::standard().clone(),
            DiscreteGaussian::new(0.5).unwrap(),
            DiscreteGaussian::new(40.0).unwrap(),
        ] {
            for n in [2, 4, 16, 256, 1024, 4096] {
                let mut r = rng(30 + n as u64);
                // Misalign the stream (an odd 32-bit word offset) before and after.
                r.next_u32();
                let got = g.sample_poly(&mut r, n).unwrap();
                let after = r.next_u64();
                let mut r2 = rng(30 + n as u64);
                r2.next_u32();
                let want = reference_gaussian(&g, &mut r2, n);
                assert_eq!(&got[..], &want[..], "σ={} n={n}", g.sigma());
                assert_eq!(after, r2.next_u64(), "words consumed");
                // The single-sample path agrees.
                let mut r3 = rng(30 + n as u64);
                r3.next_u32();
                let single: Vec<i64> = (0..n).map(|_| g.sample(&mut r3)).collect();
                assert_eq!(single, want);
            }
        }
    }

    #[test]
    fn cdt_sample_edges() {
        // u at and around every entry, with both signs: a = #{j : u >= T_j}.
        let g = DiscreteGaussian::standard();
        let tail = u64::from(g.tail());
        for (j, &t) in g.cdt.iter().enumerate() {
            for u in [t.saturating_sub(1), t, (t + 1).min((1 << 63) - 1)] {
                let a = g.cdt.iter().filter(|&&x| u >= x).count() as i64;
                for s in [0u64, 1] {
                    let w = (u << 1) | s;
                    let want = if s == 1 { -a } else { a };
                    assert_eq!(cdt_sample(&g.cdt, tail, w), want, "entry {j}, u {u}");
                    let mut out = [0i64; 9];
                    cdt_batch(&g.cdt, tail, &[w; 9], &mut out, &mut CdtScratch::new());
                    assert_eq!(out, [want; 9]);
                }
            }
        }
        // Extremes: u = 0 gives 0 (both signs), u = 2^63 - 1 gives ±t.
        assert_eq!(cdt_sample(&g.cdt, tail, 0), 0);
        assert_eq!(cdt_sample(&g.cdt, tail, 1), 0);
        assert_eq!(cdt_sample(&g.cdt, tail, u64::MAX - 1), 19);
        assert_eq!(cdt_sample(&g.cdt, tail, u64::MAX), -19);
    }

    #[test]
    fn standard_gaussian_parameters() {
        assert_eq!(DEFAULT_TAIL, (6.0 * DEFAULT_SIGMA).floor() as u32);
        let g = DiscreteGaussian::new(DEFAULT_SIGMA).unwrap();
        assert_eq!(g.tail(), 19);
        assert_eq!(g.sigma(), 3.2);
        assert_eq!(g.cdt, DiscreteGaussian::standard().cdt);
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
