//! Residue number system (RNS) arithmetic over a basis of word-size primes.
//!
//! An [`RnsBasis`] is a list of distinct primes `q_0, …, q_{k-1}` (each a [`Modulus`], so
//! `q_i < 2^62`) with product `Q`. By the Chinese remainder theorem an integer `x` in `[0, Q)` is
//! the same thing as its residues `x_i = x mod q_i`. An RNS polynomial of degree `n` is stored
//! **limb-major**: a flat `[u64]` of length `k*n` whose limb `i` (the residues mod `q_i`) is
//! `[i*n .. (i+1)*n]`, every value canonical in `[0, q_i)`. This is the layout of
//! `math::poly`, and every slice-taking function here uses it.
//!
//! # What is here
//!
//! * **CRT** ([`RnsBasis::decompose`], [`RnsBasis::compose`] and the centered variants): the
//!   textbook formula `x = sum_i [x_i (Q/q_i)^{-1}]_{q_i} (Q/q_i) mod Q` on little-endian `u64`
//!   words, with small multi-word helpers of our own. Used off the hot path (tests, noise
//!   measurement, CKKS decoding at low levels).
//! * **Fast base extension** ([`BaseConverter`]): from a basis `Q = {q_i}` to another basis
//!   `P = {p_j}`.
//!   - [`BaseConverter::convert_approx`] is `FastBconv` of Bajard, Eynard, Hasan and Zucca, "A Full
//!     RNS Variant of FV like Somewhat Homomorphic Encryption Schemes" (SAC 2016):
//!     `y_i = [x_i (Q/q_i)^{-1}]_{q_i}`, then `sum_i y_i (Q/q_i) mod p_j`. The integer
//!     `sum_i y_i (Q/q_i)` equals `x + u Q` with `u = floor(sum_i y_i / q_i)`, `0 <= u < k`.
//!   - [`BaseConverter::convert_exact`] is the floating-point correction of Halevi, Polyakov and
//!     Shoup, "An Improved RNS Variant of the BFV Homomorphic Encryption Scheme" (CT-RSA 2019):
//!     `v = round(sum_i y_i / q_i)` is computed in `f64` and `v Q` subtracted, which yields the
//!     **centered** representative of `x mod Q` (in `(-Q/2, Q/2)`), reduced mod each `p_j`. The
//!     `f64` sum is off by at most [`BaseConverter::exact_error_bound`] `= δ`, so the result is
//!     exact whenever `|x/Q - 1/2| > δ`; inside that window (a fraction `2δ < 2^-38` of all
//!     `x`, around `±Q/2`) it is one of the two representatives `x` or `x - Q`, both congruent to
//!     `x` mod `Q`. BFV's multiplication never comes near the window (its values are far below
//!     `Q/2`).
//! * **Divide and round** ([`ScaleDown`]): with `P` the product of the *last* `l` primes of the
//!   basis and `Q' = Q/P` the product of the others, maps `x` in `[0, Q)` to `round(x / P)`
//!   reduced mod each prime of `Q'`: the CKKS rescale (`l = 1`; Cheon, Han, Kim, Kim and Song, "A
//!   Full RNS Variant of Approximate Homomorphic Encryption", SAC 2018, `RS`), modulus switching,
//!   and BFV scaling. Rounding is made exact by adding `h = floor(P/2)` first
//!   (`round(x/P) = floor((x + h)/P)`, as in Kim, Polyakov and Zucca, "Revisiting Homomorphic
//!   Encryption Schemes for Finite Fields", ASIACRYPT 2021), and the floor
//!   `(z - [z]_P)/P` is computed with the **mixed-radix** (Garner) digits of `[z]_P`
//!   (H. L. Garner, "The Residue Number System", IRE Trans. Electronic Computers, 1959), which
//!   are exact integers: no floating point, no approximate step, so the result is exactly
//!   `round(x/P)` for *every* `x` in `[0, Q)`. Ties (`x/P` an odd multiple of `1/2`) can only occur
//!   when `P` is even, i.e. when `2` is one of the dropped primes; they round **up**.
//!
//! # Kernels and their bounds
//!
//! Base extension and divide-and-round both form, for each coefficient and each output prime
//! `p`, a dot product `c + sum_t a_t w_t mod p` with constant weights `w_t < p` and arbitrary
//! `a_t < 2^64` (`y_i < q_i`, mixed-radix digits, the correction `v <= k`). Each term is a lazy
//! Shoup product ([`Modulus::mul_shoup_lazy`], in `[0, 2p)`, the companion `floor(w 2^64 / p)`
//! precomputed), and the running sum is kept in `[0, 2p)` by `s = min(s, s - 2p)` after each
//! addition (`s < 4p < 2^64`); one `min(s, s - p)` at the end makes it canonical. This never
//! overflows for any number of terms and any `p < 2^62`, so no reduction schedule is needed.
//!
//! The loops run limb-major over blocks of `BLOCK` coefficients (each term adds one row of the
//! block to an accumulator row), so they are element-wise and `multiversion` compiles them for
//! AVX-512 (`vpmullq`, `vpminuq`, the high product by `mulx`) and AVX2. A `u128`
//! multiply-accumulate with one Barrett reduction per output (four coefficients interleaved)
//! does not vectorise: on the development machine (AMD EPYC with AVX-512; shared, so timings
//! are noisy) this kernel was about 1.8 times faster for `8 -> 9` primes at `N = 2^14` with
//! AVX-512, 1.15 times with AVX2 only, and 1.5 times *slower* in a baseline `x86_64` build.
//! Every version returns the same canonical values.
//!
//! # Timing
//! Base extension, divide-and-round and [`RnsBasis::compose`] are branch-free in the values
//! (masked conditional subtractions). Constructors, [`RnsBasis::decompose`]'s range check and the
//! `f64`/`i128` conversions work on public data or return the value itself.

use crate::error::{Error, Result};
use crate::math::modulus::Modulus;
use crate::math::ntt::{lanes_for, Lanes};
use core::cmp::Ordering;
use core::fmt;
use multiversion::multiversion;

/// Largest number of primes in an [`RnsBasis`] (the same bound as `math::poly::MAX_PRIMES`).
///
/// It bounds the stack buffers of the centered compositions and keeps the error of the `f64`
/// correction of [`BaseConverter::convert_exact`] below `2^-39`.
pub const MAX_BASIS_LEN: usize = 128;

/// Coefficients processed together by the base-extension and divide-and-round kernels. The
/// per-block scratch (`(k + 1) * BLOCK` words) stays in L1 for the usual `k <= 16`.
const BLOCK: usize = 128;

/// `2^64` as an `f64` (exact).
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

// ---------------------------------------------------------------------------------------------
// Multi-word helpers: little-endian u64 words, used by the constructors and the CRT.
// ---------------------------------------------------------------------------------------------

/// Low word of a `u128`.
#[inline(always)]
#[allow(clippy::cast_possible_truncation)] // Truncation to the low word is the intent.
const fn lo(x: u128) -> u64 {
    x as u64
}

/// High word of a `u128`.
#[inline(always)]
const fn hi(x: u128) -> u64 {
    lo(x >> 64)
}

/// `a *= y` in place; returns the carry-out word.
fn words_mul_small_assign(a: &mut [u64], y: u64) -> u64 {
    let mut carry = 0u64;
    for w in a.iter_mut() {
        // w * y + carry <= (2^64 - 1)^2 + 2^64 - 1 < 2^128.
        let t = u128::from(*w) * u128::from(y) + u128::from(carry);
        *w = lo(t);
        carry = hi(t);
    }
    carry
}

/// `acc += b * y` (`b` shorter or equal to `acc`, missing words are zero); returns the carry-out.
fn words_mac(acc: &mut [u64], b: &[u64], y: u64) -> u64 {
    debug_assert!(b.len() <= acc.len());
    let mut carry = 0u64;
    for (i, a) in acc.iter_mut().enumerate() {
        let bi = b.get(i).copied().unwrap_or(0);
        // a + bi * y + carry <= 2 (2^64 - 1) + (2^64 - 1)^2 = 2^128 - 1.
        let t = u128::from(*a) + u128::from(bi) * u128::from(y) + u128::from(carry);
        *a = lo(t);
        carry = hi(t);
    }
    carry
}

/// `out = a - b` over `a.len()` words (`b` padded with zeros); returns the borrow (0 or 1).
fn words_sub(a: &[u64], b: &[u64], out: &mut [u64]) -> u64 {
    debug_assert!(b.len() <= a.len() && out.len() == a.len());
    let mut borrow = 0u64;
    for (i, (o, &x)) in out.iter_mut().zip(a).enumerate() {
        let y = b.get(i).copied().unwrap_or(0);
        let (d1, b1) = x.overflowing_sub(y);
        let (d2, b2) = d1.overflowing_sub(borrow);
        *o = d2;
        borrow = u64::from(b1 | b2);
    }
    borrow
}

/// `a = mask ? b : a` word by word, where `mask` is all ones or all zeros.
fn words_select_assign(a: &mut [u64], b: &[u64], mask: u64) {
    for (x, &y) in a.iter_mut().zip(b) {
        *x = (y & mask) | (*x & !mask);
    }
}

/// Compares two little-endian numbers of any lengths.
fn words_cmp(a: &[u64], b: &[u64]) -> Ordering {
    let len = a.len().max(b.len());
    for i in (0..len).rev() {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        match x.cmp(&y) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    Ordering::Equal
}

/// `a mod q` (Horner from the top word; every step reduces `r 2^64 + w < 2^126`).
fn words_mod(a: &[u64], q: &Modulus) -> u64 {
    a.iter().rev().fold(0u64, |r, &w| {
        q.reduce_u128((u128::from(r) << 64) | u128::from(w))
    })
}

/// `floor(a / 2)`.
fn words_shr1(a: &[u64]) -> Vec<u64> {
    let mut out = vec![0u64; a.len()];
    for i in 0..a.len() {
        let next = a.get(i + 1).copied().unwrap_or(0);
        out[i] = (a[i] >> 1) | (next << 63);
    }
    out
}

/// Bit length of `a` (0 for zero).
fn words_bits(a: &[u64]) -> u32 {
    for i in (0..a.len()).rev() {
        if a[i] != 0 {
            // i < MAX_BASIS_LEN + a few, so the product fits a u32.
            let base = u32::try_from(i).unwrap_or(u32::MAX / 64) * 64;
            return base + 64 - a[i].leading_zeros();
        }
    }
    0
}

/// The nearest `f64` to `magnitude` (within one unit in the last place; `inf` at `2^1024`).
fn words_to_f64(magnitude: &[u64]) -> f64 {
    let Some(top) = magnitude.iter().rposition(|&w| w != 0) else {
        return 0.0;
    };
    if top == 0 {
        return magnitude[0] as f64;
    }
    // The top two words hold at least 65 significant bits; dropping the rest moves the value by
    // less than 2^(64 (top - 1)), far below one ulp (>= 2^(64 top - 52)).
    let head = (u128::from(magnitude[top]) << 64) | u128::from(magnitude[top - 1]);
    let mut v = head as f64;
    for _ in 1..top {
        v *= TWO_POW_64;
    }
    v
}

/// `±magnitude` as an `i128` when it fits.
fn words_to_i128(negative: bool, magnitude: &[u64]) -> Option<i128> {
    if magnitude.iter().skip(2).any(|&w| w != 0) {
        return None;
    }
    let m = u128::from(magnitude.first().copied().unwrap_or(0))
        | (u128::from(magnitude.get(1).copied().unwrap_or(0)) << 64);
    if negative {
        0i128.checked_sub_unsigned(m)
    } else {
        i128::try_from(m).ok()
    }
}

/// Product of `values` modulo `q`, each value reduced first.
fn product_mod(values: impl IntoIterator<Item = u64>, q: &Modulus) -> u64 {
    values
        .into_iter()
        .fold(q.reduce(1), |acc, v| q.mul(acc, q.reduce(v)))
}

/// Shoup product up to one multiple of `q`: `a w mod q` in `[0, 2q)` for any `a < 2^64`, with
/// `w < q` and `w_shoup = floor(w 2^64 / q)` (the range proof is at [`Modulus::mul_shoup_lazy`]).
#[inline(always)]
fn shoup_lazy(a: u64, w: u64, w_shoup: u64, q: u64) -> u64 {
    let est = hi(u128::from(a) * u128::from(w_shoup));
    a.wrapping_mul(w).wrapping_sub(est.wrapping_mul(q))
}

/// `out[c] = x[c] w mod q`, canonical (Shoup), for any `x[c] < 2^64`.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+bmi2", "x86_64+avx2+bmi2"))]
fn mul_shoup_block(out: &mut [u64], x: &[u64], w: u64, w_shoup: u64, q: u64) {
    for (o, &a) in out.iter_mut().zip(x) {
        let r = shoup_lazy(a, w, w_shoup, q);
        *o = r.min(r.wrapping_sub(q));
    }
}

/// `out[c] = [cst + sum_t rows[t * stride + c] w[t]]_q` for `c < out.len()`, canonical.
///
/// `cst < q`, every `w[t] < q` with Shoup companion `w_shoup[t]`, row entries any `u64`. The
/// accumulator (kept in `out`) stays in `[0, 2q)`: adding a lazy product in `[0, 2q)` gives a
/// value below `4q < 2^64`, and `min(s, s - 2q)` brings it back (module docs).
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+bmi2", "x86_64+avx2+bmi2"))]
fn dot_block(
    out: &mut [u64],
    rows: &[u64],
    stride: usize,
    w: &[u64],
    w_shoup: &[u64],
    cst: u64,
    q: u64,
) {
    let len = out.len();
    let two_q = 2 * q;
    out.fill(cst);
    for (t, (&wt, &wst)) in w.iter().zip(w_shoup).enumerate() {
        let row = &rows[t * stride..t * stride + len];
        for (acc, &a) in out.iter_mut().zip(row) {
            let s = *acc + shoup_lazy(a, wt, wst, q);
            *acc = s.min(s.wrapping_sub(two_q));
        }
    }
    for acc in out.iter_mut() {
        *acc = (*acc).min(acc.wrapping_sub(q));
    }
}

/// The correction of Halevi, Polyakov and Shoup: `v[c] = round(sum_i y_i[c] / q_i)` with
/// `y_i = rows[i * stride ..]` and `inv_q[i] = 1/q_i` in `f64`, clamped to `[0, k]`. The sum is
/// formed term by term in the order of `i`, as the error bound of [`BaseConverter::new`]
/// assumes.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+bmi2", "x86_64+avx2+bmi2"))]
fn hps_correction(v: &mut [u64], rows: &[u64], stride: usize, inv_q: &[f64]) {
    /// Coefficients summed together, in registers (one AVX-512 vector).
    const LANES: usize = 8;
    let len = v.len();
    let k = inv_q.len() as u64;
    // Eight coefficients at a time, every term added in the order of `i` (the same sums,
    // rounding for rounding, as a row-by-row pass; Rust never fuses the multiply and add).
    let full = len / LANES * LANES;
    let mut c = 0;
    while c < full {
        let mut acc = [0.0f64; LANES];
        for (i, &inv) in inv_q.iter().enumerate() {
            let row = &rows[i * stride + c..i * stride + c + LANES];
            for (a, &y) in acc.iter_mut().zip(row) {
                *a += y as f64 * inv;
            }
        }
        for (o, &a) in v[c..c + LANES].iter_mut().zip(&acc) {
            *o = round_correction(a, k);
        }
        c += LANES;
    }
    for (j, o) in v.iter_mut().enumerate().skip(full) {
        let mut a = 0.0f64;
        for (i, &inv) in inv_q.iter().enumerate() {
            a += rows[i * stride + j] as f64 * inv;
        }
        *o = round_correction(a, k);
    }
}

/// `min(round(acc), k)` for `0 <= acc < k + δ` (`k <= MAX_BASIS_LEN`): `floor(acc + 1/2)`,
/// the same value as `(acc + 0.5) as u64` for every such `acc`, computed so that it
/// vectorises (the saturating cast does not) and without a `floor` call (a libm call,
/// branching on the value, where SSE4.1 is missing): for `a` in `[0, 2^52)`, `a + 2^52` is
/// `rint(a) + 2^52` exactly, its mantissa is `rint(a)`, and `rint(a) - 1` is the floor
/// exactly when `rint(a) > a`.
#[inline(always)]
fn round_correction(acc: f64, k: u64) -> u64 {
    const TWO_POW_52: f64 = 4_503_599_627_370_496.0;
    let a = acc + 0.5;
    let m = a + TWO_POW_52;
    let r = (m.to_bits() - TWO_POW_52.to_bits()) - u64::from(m - TWO_POW_52 > a);
    r.min(k)
}

/// Constants of the `l = 1` divide-and-round for one output prime `q` (see [`ScaleDown`]).
#[derive(Clone, Copy)]
struct RescaleConsts {
    /// The dropped prime `p`.
    p: u64,
    /// `floor(p / 2)`.
    h: u64,
    /// The output prime `q`.
    q: u64,
    /// `[p^{-1}]_q` and its Shoup companion.
    w: u64,
    w_shoup: u64,
    /// `[h p^{-1} - 1]_q`.
    c: u64,
}

impl RescaleConsts {
    /// `round(x / p) mod q` from `x_q = x mod q` and `x_p = x mod p`, both canonical.
    ///
    /// `d = (x_p + h) mod p`; `a = x_q + p - d < q + p < 2^63`; `a p^{-1} = (x_q - d) p^{-1} + 1`,
    /// so `[a p^{-1}]_q + c = [(x_q + h - d) p^{-1}]_q = floor((x + h) / p) mod q`. The
    /// conditional subtractions are `min(s, s - q)`, which vectorises.
    #[inline(always)]
    fn apply(self, x_q: u64, x_p: u64) -> u64 {
        let s = x_p + self.h;
        let d = s.min(s.wrapping_sub(self.p));
        let a = x_q + (self.p - d);
        let est = hi(u128::from(a) * u128::from(self.w_shoup));
        // Shoup: r in [0, 2q).
        let r = a
            .wrapping_mul(self.w)
            .wrapping_sub(est.wrapping_mul(self.q));
        let r = r.min(r.wrapping_sub(self.q));
        let s = r + self.c;
        s.min(s.wrapping_sub(self.q))
    }
}

/// `out[c] = k.apply(x_q[c], x_p[c])` (the `l = 1` divide-and-round of one limb).
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+bmi2", "x86_64+avx2+bmi2"))]
fn rescale_limb(out: &mut [u64], x_q: &[u64], x_p: &[u64], k: RescaleConsts) {
    for ((o, &xq), &xp) in out.iter_mut().zip(x_q).zip(x_p) {
        *o = k.apply(xq, xp);
    }
}

/// In-place [`rescale_limb`]: `x_q[c] = k.apply(x_q[c], x_p[c])`.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+bmi2", "x86_64+avx2+bmi2"))]
fn rescale_limb_in_place(x_q: &mut [u64], x_p: &[u64], k: RescaleConsts) {
    for (o, &xp) in x_q.iter_mut().zip(x_p) {
        *o = k.apply(*o, xp);
    }
}

/// The number of coefficients `n` of a limb-major slice over `limbs` primes.
fn coeff_count(len: usize, limbs: usize) -> Result<usize> {
    if !len.is_multiple_of(limbs) {
        return Err(Error::LengthMismatch {
            expected: (len / limbs + 1) * limbs,
            found: len,
        });
    }
    Ok(len / limbs)
}

fn check_len(found: usize, expected: usize) -> Result<()> {
    if found != expected {
        return Err(Error::LengthMismatch { expected, found });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// RnsBasis
// ---------------------------------------------------------------------------------------------

/// A basis of distinct primes `q_0, …, q_{k-1}` with product `Q`, and the constants of the CRT.
#[derive(Clone, PartialEq, Eq)]
pub struct RnsBasis {
    moduli: Vec<Modulus>,
    /// `Q`, exactly `k` little-endian words (`Q < 2^(62 k)`).
    product: Vec<u64>,
    /// `floor(Q / 2)`, `k` words.
    half: Vec<u64>,
    /// Row `i` (`k` words): `Q / q_i`.
    qhat: Vec<u64>,
    /// `(Q / q_i)^{-1} mod q_i`.
    qhat_inv: Vec<u64>,
    /// Shoup companions of `qhat_inv`.
    qhat_inv_shoup: Vec<u64>,
}

impl fmt::Debug for RnsBasis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RnsBasis")
            .field(
                "moduli",
                &self.moduli.iter().map(Modulus::value).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// A signed multi-word integer: a sign and a little-endian magnitude. Returned by
/// [`RnsBasis::compose_centered`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedWords {
    /// `true` when the value is negative (never set for zero).
    pub negative: bool,
    /// `|value|` as little-endian `u64` words.
    pub magnitude: Vec<u64>,
}

impl SignedWords {
    /// The value as an `i128`, or `None` when it does not fit.
    pub fn to_i128(&self) -> Option<i128> {
        words_to_i128(self.negative, &self.magnitude)
    }

    /// The nearest `f64` (within one unit in the last place); `±inf` from `2^1024` on.
    pub fn to_f64(&self) -> f64 {
        let v = words_to_f64(&self.magnitude);
        if self.negative {
            -v
        } else {
            v
        }
    }

    /// Bit length of `|value|` (0 for zero): the size of a noise term, for example.
    pub fn bits(&self) -> u32 {
        words_bits(&self.magnitude)
    }
}

impl RnsBasis {
    /// Builds the basis of the distinct primes `moduli` and precomputes `Q`, `Q/q_i` and
    /// `(Q/q_i)^{-1} mod q_i` (with its Shoup companion).
    ///
    /// The primes need not be NTT-friendly and may come in any order; the order is the limb
    /// order.
    ///
    /// # Errors
    /// [`Error::InvalidBasis`] if `moduli` is empty, longer than [`MAX_BASIS_LEN`] or repeats a
    /// prime; [`Error::InvalidModulus`] (naming it) for a value that [`Modulus::new`] refuses
    /// (composite, `< 2`, `>= 2^62`).
    pub fn new(moduli: &[u64]) -> Result<Self> {
        if moduli.is_empty() {
            return Err(Error::InvalidBasis {
                reason: "no primes",
            });
        }
        if moduli.len() > MAX_BASIS_LEN {
            return Err(Error::InvalidBasis {
                reason: "more than 128 primes",
            });
        }
        let moduli = moduli
            .iter()
            .map(|&q| Modulus::new(q))
            .collect::<Result<Vec<_>>>()?;
        for (i, q) in moduli.iter().enumerate() {
            if moduli[..i].contains(q) {
                return Err(Error::InvalidBasis {
                    reason: "repeated prime",
                });
            }
        }
        let k = moduli.len();
        let mut product = vec![0u64; k];
        product[0] = 1;
        for q in &moduli {
            // Q < 2^(62 k) fits in k words.
            let carry = words_mul_small_assign(&mut product, q.value());
            debug_assert_eq!(carry, 0);
        }
        let mut qhat = vec![0u64; k * k];
        let mut qhat_inv = Vec::with_capacity(k);
        let mut qhat_inv_shoup = Vec::with_capacity(k);
        for (i, qi) in moduli.iter().enumerate() {
            let row = &mut qhat[i * k..(i + 1) * k];
            row[0] = 1;
            for (j, qj) in moduli.iter().enumerate() {
                if j != i {
                    let carry = words_mul_small_assign(row, qj.value());
                    debug_assert_eq!(carry, 0);
                }
            }
            // Q/q_i is a product of primes other than q_i, hence invertible mod q_i.
            let inv = qi.inv(words_mod(row, qi))?;
            qhat_inv.push(inv);
            qhat_inv_shoup.push(qi.shoup(inv));
        }
        let half = words_shr1(&product);
        Ok(Self {
            moduli,
            product,
            half,
            qhat,
            qhat_inv,
            qhat_inv_shoup,
        })
    }

    /// The primes, in limb order.
    pub fn moduli(&self) -> &[Modulus] {
        &self.moduli
    }

    /// Number of primes `k`.
    pub fn len(&self) -> usize {
        self.moduli.len()
    }

    /// Always `false`: a basis has at least one prime.
    pub fn is_empty(&self) -> bool {
        self.moduli.is_empty()
    }

    /// `Q`, the product of the primes, as exactly [`len`](Self::len) little-endian `u64` words
    /// (the top ones may be zero).
    pub fn product_words(&self) -> &[u64] {
        &self.product
    }

    /// Bit length of `Q`.
    pub fn product_bits(&self) -> u32 {
        words_bits(&self.product)
    }

    /// The basis of the first `len` primes (a lower CKKS level, or the `Q` part of `Q ∪ P`).
    ///
    /// # Errors
    /// [`Error::InvalidBasis`] if `len` is 0 or larger than [`len`](Self::len).
    pub fn prefix(&self, len: usize) -> Result<Self> {
        if len == 0 || len > self.len() {
            return Err(Error::InvalidBasis {
                reason: "a prefix must keep between 1 and all of the primes",
            });
        }
        Self::new(&self.values()[..len])
    }

    /// The basis of these primes followed by those of `other` (for example `Q ∪ P`).
    ///
    /// # Errors
    /// As [`RnsBasis::new`]: a prime in both, or more than [`MAX_BASIS_LEN`] in all.
    pub fn concat(&self, other: &Self) -> Result<Self> {
        let mut all = self.values();
        all.extend(other.values());
        Self::new(&all)
    }

    fn values(&self) -> Vec<u64> {
        self.moduli.iter().map(Modulus::value).collect()
    }

    fn check_residues(&self, residues: &[u64]) -> Result<()> {
        check_len(residues.len(), self.len())?;
        if residues
            .iter()
            .zip(&self.moduli)
            .any(|(&r, q)| r >= q.value())
        {
            return Err(Error::ValueOutOfRange {
                what: "residue not below its prime",
            });
        }
        Ok(())
    }

    /// Residues `x mod q_i` of the integer `x` given as little-endian `u64` words (any number of
    /// words, high zero words allowed).
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] if `x >= Q`.
    pub fn decompose(&self, x: &[u64]) -> Result<Vec<u64>> {
        let mut out = vec![0u64; self.len()];
        self.decompose_into(x, &mut out)?;
        Ok(out)
    }

    /// [`decompose`](Self::decompose) into `out` (length [`len`](Self::len)).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] for a wrong `out`; [`Error::ValueOutOfRange`] if `x >= Q`.
    pub fn decompose_into(&self, x: &[u64], out: &mut [u64]) -> Result<()> {
        check_len(out.len(), self.len())?;
        if words_cmp(x, &self.product) != Ordering::Less {
            return Err(Error::ValueOutOfRange {
                what: "integer not below the basis product",
            });
        }
        for (o, q) in out.iter_mut().zip(&self.moduli) {
            *o = words_mod(x, q);
        }
        Ok(())
    }

    /// The integer `x` in `[0, Q)` with `x = residues[i] mod q_i`, as [`len`](Self::len)
    /// little-endian `u64` words.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `residues.len() != len()`; [`Error::ValueOutOfRange`] if a
    /// residue is not below its prime.
    pub fn compose(&self, residues: &[u64]) -> Result<Vec<u64>> {
        let mut out = vec![0u64; self.len()];
        self.compose_into(residues, &mut out)?;
        Ok(out)
    }

    /// [`compose`](Self::compose) into `out` (length [`len`](Self::len)); allocates nothing.
    ///
    /// # Errors
    /// As [`compose`](Self::compose), and [`Error::LengthMismatch`] for a wrong `out`.
    pub fn compose_into(&self, residues: &[u64], out: &mut [u64]) -> Result<()> {
        self.check_residues(residues)?;
        check_len(out.len(), self.len())?;
        let k = self.len();
        out.fill(0);
        for (i, (&r, q)) in residues.iter().zip(&self.moduli).enumerate() {
            let y = q.mul_shoup(r, self.qhat_inv[i], self.qhat_inv_shoup[i]);
            // The sum stays below k Q < 2^(62 k + 7) <= 2^(64 k): no carry out of k words.
            let carry = words_mac(out, &self.qhat[i * k..(i + 1) * k], y);
            debug_assert_eq!(carry, 0);
        }
        // out = sum_i y_i Q/q_i < k Q: k - 1 masked conditional subtractions of Q.
        let mut tmp = [0u64; MAX_BASIS_LEN];
        let tmp = &mut tmp[..k];
        for _ in 1..k {
            let borrow = words_sub(out, &self.product, tmp);
            // borrow = 0 <=> out >= Q: take the difference.
            words_select_assign(out, tmp, borrow.wrapping_sub(1));
        }
        debug_assert!(words_cmp(out, &self.product) == Ordering::Less);
        Ok(())
    }

    /// The centered representative of `residues`: the integer `x` in `(-Q/2, Q/2]` with
    /// `x = residues[i] mod q_i`, as sign and magnitude (`magnitude` has [`len`](Self::len)
    /// words). This is what decryption needs to read a noisy value or a CKKS coefficient.
    ///
    /// # Errors
    /// As [`compose`](Self::compose).
    pub fn compose_centered(&self, residues: &[u64]) -> Result<SignedWords> {
        let mut magnitude = vec![0u64; self.len()];
        let negative = self.compose_centered_into(residues, &mut magnitude)?;
        Ok(SignedWords {
            negative,
            magnitude,
        })
    }

    /// [`compose_centered`](Self::compose_centered) into `magnitude` (length
    /// [`len`](Self::len)); returns the sign (`true` for negative). Allocates nothing.
    ///
    /// # Errors
    /// As [`compose_into`](Self::compose_into).
    pub fn compose_centered_into(&self, residues: &[u64], magnitude: &mut [u64]) -> Result<bool> {
        self.compose_into(residues, magnitude)?;
        let k = self.len();
        let mut tmp = [0u64; MAX_BASIS_LEN];
        let tmp = &mut tmp[..k];
        // floor(Q/2) - x borrows exactly when x > floor(Q/2): then x - Q < 0, magnitude Q - x.
        let negative = words_sub(&self.half, magnitude, tmp);
        let borrow = words_sub(&self.product, magnitude, tmp);
        debug_assert_eq!(borrow, 0);
        words_select_assign(magnitude, tmp, 0u64.wrapping_sub(negative));
        Ok(negative == 1)
    }

    /// The centered representative (as in [`compose_centered`](Self::compose_centered)) as an
    /// `i128`, or `None` when it does not fit. Allocates nothing.
    ///
    /// # Errors
    /// As [`compose`](Self::compose).
    pub fn compose_centered_i128(&self, residues: &[u64]) -> Result<Option<i128>> {
        let mut buf = [0u64; MAX_BASIS_LEN];
        let magnitude = &mut buf[..self.len()];
        let negative = self.compose_centered_into(residues, magnitude)?;
        Ok(words_to_i128(negative, magnitude))
    }

    /// The centered representative (as in [`compose_centered`](Self::compose_centered)) rounded
    /// to the nearest `f64` (within one ulp; `±inf` from `2^1024` on): CKKS decoding. Allocates
    /// nothing.
    ///
    /// # Errors
    /// As [`compose`](Self::compose).
    pub fn compose_centered_f64(&self, residues: &[u64]) -> Result<f64> {
        let mut buf = [0u64; MAX_BASIS_LEN];
        let magnitude = &mut buf[..self.len()];
        let negative = self.compose_centered_into(residues, magnitude)?;
        let v = words_to_f64(magnitude);
        Ok(if negative { -v } else { v })
    }
}

// ---------------------------------------------------------------------------------------------
// Base extension
// ---------------------------------------------------------------------------------------------

/// Fast base extension from a basis `Q = {q_0, …, q_{k-1}}` to a basis `P = {p_0, …, p_{m-1}}`
/// (Bajard et al. 2016; Halevi, Polyakov and Shoup 2019; see the [module docs](self)).
///
/// The two bases may share primes (a shared prime just receives `x mod p`).
#[derive(Clone, Debug)]
pub struct BaseConverter {
    from: RnsBasis,
    to: RnsBasis,
    /// Row `j` (stride `k + 1`): `(Q/q_i) mod p_j` for `i < k`, then `(-Q) mod p_j`.
    weights: Vec<u64>,
    /// Shoup companions of `weights` (each modulo its `p_j`).
    weights_shoup: Vec<u64>,
    /// `1 / q_i` rounded to `f64`.
    inv_q: Vec<f64>,
    /// Bound on the error of the `f64` sum in `convert_exact`.
    exact_error: f64,
    /// Per target prime: the IFMA dot-product kernel, when this target is below `2^50` and the
    /// IFMA backend is chosen for it (`math::ntt::lanes_for`).
    lanes: Vec<Option<Lanes>>,
    /// Source primes of 51 bits or more (indices): their rows `y_i` are split for the IFMA
    /// kernel into `y_i mod 2^50` (weight `w_i`) and `y_i >> 50` (weight `w_i·2^50 mod p_j`).
    big: Vec<usize>,
    /// Per target prime with lanes (stride `k + 1 + big.len()`): the weights of the split rows
    /// `y_0 … y_{k-1}, v, hi(y_big…)` (`v`'s weight is 0 in approximate mode: `lanes_w_approx`).
    lanes_w: Vec<u64>,
    lanes_w_approx: Vec<u64>,
    /// Per source prime: its IFMA kernels (when every source prime is below `2^50`) and the
    /// 52-bit companion of `(Q/q_i)^{-1}`, for the first step `y_i = [x_i (Q/q_i)^{-1}]_{q_i}`.
    from_lanes: Vec<Option<(Lanes, u64)>>,
}

impl BaseConverter {
    /// Precomputes the conversion from `from` to `to`: `(Q/q_i) mod p_j` and `-Q mod p_j`
    /// with their Shoup companions, and `1/q_i` in `f64`.
    ///
    /// The `f64` correction of [`convert_exact`](Self::convert_exact) is off by at most
    /// `δ = (k(k+1)/2 + 5k + 2) 2^-53` (each `y_i/q_i < 1` carries three roundings, the running
    /// sums stay below `k + 1`, and adding `1/2` rounds once more); it is checked here that
    /// `δ < 2^-30`, which holds for every `k <= MAX_BASIS_LEN`.
    ///
    /// # Errors
    /// [`Error::InvalidBasis`] if the `f64` error bound is not met (not reachable with bases
    /// built by [`RnsBasis::new`]).
    pub fn new(from: &RnsBasis, to: &RnsBasis) -> Result<Self> {
        let k = from.len();
        let stride = k + 1;
        let mut weights = vec![0u64; to.len() * stride];
        let mut weights_shoup = vec![0u64; to.len() * stride];
        for (j, p) in to.moduli.iter().enumerate() {
            let row = &mut weights[j * stride..(j + 1) * stride];
            for (i, r) in row.iter_mut().enumerate().take(k) {
                *r = product_mod(
                    from.moduli
                        .iter()
                        .enumerate()
                        .filter(|&(t, _)| t != i)
                        .map(|(_, q)| q.value()),
                    p,
                );
            }
            let q_mod_p = product_mod(from.moduli.iter().map(Modulus::value), p);
            row[k] = p.neg(q_mod_p);
            for (ws, &w) in weights_shoup[j * stride..(j + 1) * stride]
                .iter_mut()
                .zip(&*row)
            {
                *ws = p.shoup(w);
            }
        }
        let inv_q = from.moduli.iter().map(|q| 1.0 / q.value() as f64).collect();
        let k_f = k as f64;
        let exact_error = (k_f * (k_f + 1.0) / 2.0 + 5.0 * k_f + 2.0) * f64::EPSILON / 2.0;
        if exact_error >= 1.0 / f64::from(1u32 << 30) {
            return Err(Error::InvalidBasis {
                reason: "too many primes for the floating-point correction",
            });
        }
        let from_lanes = from
            .moduli
            .iter()
            .zip(&from.qhat_inv)
            .map(|(q, &w)| {
                let l = if q.bits() <= 50 { lanes_for(q) } else { None }?;
                Some((l, l.companion(w)))
            })
            .collect();
        let big: Vec<usize> = (0..k).filter(|&i| from.moduli[i].bits() > 50).collect();
        let lstride = stride + big.len();
        let mut lanes_w = vec![0u64; to.len() * lstride];
        let mut lanes_w_approx = vec![0u64; to.len() * lstride];
        for (j, p) in to.moduli.iter().enumerate() {
            let row = &weights[j * stride..(j + 1) * stride];
            let two50 = p.reduce(1 << 50);
            let lw = &mut lanes_w[j * lstride..(j + 1) * lstride];
            lw[..stride].copy_from_slice(row);
            for (b, &i) in big.iter().enumerate() {
                lw[stride + b] = p.mul(row[i], two50);
            }
            let la = &mut lanes_w_approx[j * lstride..(j + 1) * lstride];
            la.copy_from_slice(lw);
            la[k] = 0;
        }
        let lanes = to
            .moduli
            .iter()
            .map(|p| if p.bits() <= 50 { lanes_for(p) } else { None })
            .collect();
        Ok(Self {
            from: from.clone(),
            to: to.clone(),
            weights,
            weights_shoup,
            inv_q,
            exact_error,
            lanes,
            big,
            lanes_w,
            lanes_w_approx,
            from_lanes,
        })
    }

    /// The source basis `Q`.
    pub fn from_basis(&self) -> &RnsBasis {
        &self.from
    }

    /// The target basis `P`.
    pub fn to_basis(&self) -> &RnsBasis {
        &self.to
    }

    /// `δ`: [`convert_exact`](Self::convert_exact) returns the centered representative of `x`
    /// whenever `|x/Q - 1/2| > δ` (see [`new`](Self::new)).
    pub fn exact_error_bound(&self) -> f64 {
        self.exact_error
    }

    fn check(&self, input: &[u64], output: &[u64]) -> Result<usize> {
        let n = coeff_count(input.len(), self.from.len())?;
        check_len(output.len(), self.to.len() * n)?;
        Ok(n)
    }

    /// Approximate base extension (`FastBconv`): for each coefficient `x` (limb-major
    /// `input`, `from.len() * n` values), writes `(x + u Q) mod p_j` to limb `j` of `output`
    /// (`to.len() * n` values), where `u = floor(sum_i y_i / q_i)` with
    /// `y_i = [x_i (Q/q_i)^{-1}]_{q_i}`, so `0 <= u < k = from.len()`. `u` depends on `x` and is
    /// not returned; use [`convert_exact`](Self::convert_exact) when it must be removed.
    ///
    /// Inputs must be canonical (`< q_i`; debug builds assert); outputs are canonical.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `input.len()` is not a multiple of `k` or `output.len()` is
    /// not `to.len() * n`.
    pub fn convert_approx(&self, input: &[u64], output: &mut [u64]) -> Result<()> {
        let n = self.check(input, output)?;
        self.convert(input, output, n, false);
        Ok(())
    }

    /// Exact base extension (Halevi–Polyakov–Shoup): writes the **centered** representative
    /// `x_c` of each coefficient (`x_c = x` if `x < Q/2`, else `x - Q`) reduced mod each `p_j`,
    /// i.e. `[x_c]_{p_j}` in `[0, p_j)`. Exact whenever `|x/Q - 1/2| > δ`
    /// ([`exact_error_bound`](Self::exact_error_bound)); otherwise the result is `x` or `x - Q`
    /// mod `p_j`. Layout and ranges as [`convert_approx`](Self::convert_approx).
    ///
    /// # Errors
    /// As [`convert_approx`](Self::convert_approx).
    pub fn convert_exact(&self, input: &[u64], output: &mut [u64]) -> Result<()> {
        let n = self.check(input, output)?;
        self.convert(input, output, n, true);
        Ok(())
    }

    /// The kernel, one block of coefficients at a time. The scratch `y` holds the block
    /// limb-major: row `i < k` is `y_i = [x_i (Q/q_i)^{-1}]_{q_i}`, row `k` the correction `v`
    /// (exact mode); each output limb is then a [`dot_block`] over these rows.
    fn convert(&self, input: &[u64], output: &mut [u64], n: usize, exact: bool) {
        let k = self.from.len();
        let stride = k + 1;
        let terms = if exact { stride } else { k };
        let lstride = stride + self.big.len();
        // Rows y_0 … y_{k-1}, v, then the high parts of the big rows (IFMA kernel only); the v
        // row stays zero in approximate mode.
        let mut y = vec![0u64; lstride * BLOCK];
        let mut c0 = 0;
        while c0 < n {
            let len = BLOCK.min(n - c0);
            for (i, q) in self.from.moduli.iter().enumerate() {
                let limb = &input[i * n + c0..i * n + c0 + len];
                debug_assert!(limb.iter().all(|&x| x < q.value()));
                let yi = &mut y[i * BLOCK..i * BLOCK + len];
                match &self.from_lanes[i] {
                    Some((l, ws)) => l.mul_const(yi, limb, self.from.qhat_inv[i], *ws),
                    None => mul_shoup_block(
                        yi,
                        limb,
                        self.from.qhat_inv[i],
                        self.from.qhat_inv_shoup[i],
                        q.value(),
                    ),
                }
            }
            if exact {
                let (ys, v) = y.split_at_mut(k * BLOCK);
                hps_correction(&mut v[..len], ys, BLOCK, &self.inv_q);
            }
            // Portable kernel first, on the unsplit rows.
            for (j, p) in self.to.moduli.iter().enumerate() {
                if self.lanes[j].is_some() {
                    continue;
                }
                let row = j * stride..j * stride + terms;
                dot_block(
                    &mut output[j * n + c0..j * n + c0 + len],
                    &y,
                    BLOCK,
                    &self.weights[row.clone()],
                    &self.weights_shoup[row],
                    0,
                    p.value(),
                );
            }
            if self.lanes.iter().any(Option::is_some) {
                // Every row below 2^50 for IFMA: y_i < q_i, v <= k, big rows split at bit 50.
                for (b, &i) in self.big.iter().enumerate() {
                    let (lo, hi) = y.split_at_mut((stride + b) * BLOCK);
                    for (l, h) in lo[i * BLOCK..i * BLOCK + len]
                        .iter_mut()
                        .zip(&mut hi[..len])
                    {
                        *h = *l >> 50;
                        *l &= (1 << 50) - 1;
                    }
                }
                let w = if exact {
                    &self.lanes_w
                } else {
                    &self.lanes_w_approx
                };
                // Without big rows, approximate mode stops before the (zero) v row.
                let wlen = if !exact && self.big.is_empty() {
                    k
                } else {
                    lstride
                };
                for (j, l) in self.lanes.iter().enumerate() {
                    if let Some(l) = l {
                        l.dot(
                            &mut output[j * n + c0..j * n + c0 + len],
                            &y,
                            BLOCK,
                            &w[j * lstride..j * lstride + wlen],
                            0,
                        );
                    }
                }
            }
            c0 += len;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Divide and round
// ---------------------------------------------------------------------------------------------

/// Exact `x -> round(x / P)` from a basis `Q` to its first `k - l` primes, where `P` is the
/// product of the last `l` primes (see the [module docs](self) for the algorithm and the
/// citations).
///
/// For each coefficient `x` in `[0, Q)` the output is `floor(x/P + 1/2)` (ties up, possible only
/// when `2` is among the dropped primes) reduced mod each remaining prime. Because
/// `round((x - Q)/P) = round(x/P) - Q/P` and `Q/P` vanishes mod the remaining primes, the same
/// output is `round(x_c/P)` for the centered representative `x_c`; CKKS rescaling needs nothing
/// more. BFV's `round(t x / Q)` is this map after multiplying by `t` in the basis `Q ∪ P`, with
/// `Q` placed last.
///
/// Algorithm (per coefficient, `p_s = q_{k-l+s}`, `M_s = p_0 ⋯ p_{s-1}`):
/// 1. `z = x + h` with `h = floor(P/2)`, residue by residue (a wrap mod `Q` only shifts the
///    quotient by `Q/P`, which vanishes mod every remaining prime);
/// 2. mixed-radix digits of `[z]_P = sum_s d_s M_s`, `d_s in [0, p_s)`:
///    `d_s = [z_s M_s^{-1} - sum_{t<s} d_t M_t M_s^{-1}]_{p_s}`;
/// 3. `floor(z / P) = (z - [z]_P) / P`, i.e. for each remaining `q_j`:
///    `[x_j P^{-1} + h P^{-1} - sum_s d_s M_s P^{-1}]_{q_j}`.
///
/// `l = 1` takes a shorter path: `[(x_j + p - d_0) P^{-1} + (h P^{-1} - 1)]_{q_j}` with one Shoup
/// multiplication per value (`(x_j + p - d_0) P^{-1} = (x_j - d_0) P^{-1} + 1`).
#[derive(Clone, Debug)]
pub struct ScaleDown {
    input: RnsBasis,
    output: RnsBasis,
    l: usize,
    /// `[h]_{p_s}`, `h = floor(P/2)`.
    half_p: Vec<u64>,
    /// Garner row `s` (stride `l`): `[-M_t M_s^{-1}]_{p_s}` for `t < s`, then `[M_s^{-1}]_{p_s}`.
    garner: Vec<u64>,
    /// Shoup companions of `garner`.
    garner_shoup: Vec<u64>,
    /// Output row `j` (stride `l + 1`): `[-M_s P^{-1}]_{q_j}` for `s < l`, then `[P^{-1}]_{q_j}`.
    out_w: Vec<u64>,
    /// Shoup companions of `out_w`.
    out_w_shoup: Vec<u64>,
    /// `[h P^{-1}]_{q_j}`.
    out_c: Vec<u64>,
    /// `[P^{-1}]_{q_j}`.
    p_inv: Vec<u64>,
    /// Shoup companions of `p_inv`.
    p_inv_shoup: Vec<u64>,
    /// `l = 1` path: `[h P^{-1} - 1]_{q_j}`.
    c_minus_one: Vec<u64>,
    /// IFMA dot-product kernels (`math::ntt::lanes_for`) for the Garner digits (per dropped
    /// prime) and the outputs (per remaining prime), when every dropped prime and the prime
    /// concerned are below `2^50`.
    garner_lanes: Vec<Option<Lanes>>,
    out_lanes: Vec<Option<Lanes>>,
}

/// The number of primes kept and their basis, for a division by the last `l` primes of
/// `basis`.
///
/// # Errors
/// [`Error::InvalidBasis`] unless `1 <= l < basis.len()` (at least one prime must remain).
fn split_for_division(basis: &RnsBasis, l: usize) -> Result<(usize, RnsBasis)> {
    let k = basis.len();
    if l == 0 || l >= k {
        return Err(Error::InvalidBasis {
            reason: "divide by at least one prime and keep at least one",
        });
    }
    let keep = k - l;
    Ok((keep, basis.prefix(keep)?))
}

impl ScaleDown {
    /// Precomputes division by the product `P` of the last `l` primes of `basis`.
    ///
    /// # Errors
    /// [`Error::InvalidBasis`] unless `1 <= l < basis.len()` (at least one prime must remain).
    pub fn new(basis: &RnsBasis, l: usize) -> Result<Self> {
        let (keep, output) = split_for_division(basis, l)?;
        let dropped = &basis.moduli[keep..];
        let mut p_words = vec![0u64; l];
        p_words[0] = 1;
        for p in dropped {
            let carry = words_mul_small_assign(&mut p_words, p.value());
            debug_assert_eq!(carry, 0);
        }
        let h = words_shr1(&p_words);
        let half_p = dropped.iter().map(|p| words_mod(&h, p)).collect();
        // M_t mod m for t <= s, as products of the dropped primes.
        let m_mod = |t: usize, m: &Modulus| product_mod(dropped[..t].iter().map(|p| p.value()), m);
        let mut garner = vec![0u64; l * l];
        let mut garner_shoup = vec![0u64; l * l];
        for (s, ps) in dropped.iter().enumerate() {
            let ms_inv = ps.inv(m_mod(s, ps))?;
            let row = &mut garner[s * l..(s + 1) * l];
            for (t, r) in row.iter_mut().enumerate().take(s) {
                *r = ps.neg(ps.mul(m_mod(t, ps), ms_inv));
            }
            row[s] = ms_inv;
            for (ws, &w) in garner_shoup[s * l..=s * l + s].iter_mut().zip(&row[..=s]) {
                *ws = ps.shoup(w);
            }
        }
        let stride = l + 1;
        let mut out_w = vec![0u64; keep * stride];
        let mut out_w_shoup = vec![0u64; keep * stride];
        let mut out_c = Vec::with_capacity(keep);
        let mut p_inv = Vec::with_capacity(keep);
        let mut p_inv_shoup = Vec::with_capacity(keep);
        let mut c_minus_one = Vec::with_capacity(keep);
        for (j, q) in output.moduli.iter().enumerate() {
            let inv = q.inv(m_mod(l, q))?;
            let row = &mut out_w[j * stride..(j + 1) * stride];
            for (s, r) in row.iter_mut().enumerate().take(l) {
                *r = q.neg(q.mul(m_mod(s, q), inv));
            }
            row[l] = inv;
            for (ws, &w) in out_w_shoup[j * stride..(j + 1) * stride]
                .iter_mut()
                .zip(&*row)
            {
                *ws = q.shoup(w);
            }
            let c = q.mul(words_mod(&h, q), inv);
            out_c.push(c);
            p_inv.push(inv);
            p_inv_shoup.push(q.shoup(inv));
            c_minus_one.push(q.sub(c, q.reduce(1)));
        }
        let small = dropped.iter().all(|p| p.bits() <= 50);
        let pick = |q: &Modulus| if small { lanes_for(q) } else { None };
        let garner_lanes = dropped.iter().map(pick).collect();
        let out_lanes = output.moduli.iter().map(pick).collect();
        Ok(Self {
            garner_lanes,
            out_lanes,
            input: basis.clone(),
            output,
            l,
            half_p,
            garner,
            garner_shoup,
            out_w,
            out_w_shoup,
            out_c,
            p_inv,
            p_inv_shoup,
            c_minus_one,
        })
    }

    /// The input basis `Q`.
    pub fn input_basis(&self) -> &RnsBasis {
        &self.input
    }

    /// The output basis `Q/P` (the first `k - l` primes).
    pub fn output_basis(&self) -> &RnsBasis {
        &self.output
    }

    /// `l`, the number of primes divided out.
    pub fn dropped(&self) -> usize {
        self.l
    }

    /// `round(x / P)` for every coefficient of `input` (limb-major, `k * n` values, canonical)
    /// into `output` (limb-major over the first `k - l` primes, `(k - l) * n` values).
    ///
    /// Inputs must be canonical (`< q_i`); debug builds assert it, and a non-canonical input
    /// gives an unspecified result.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `input.len()` is not a multiple of `k` or `output.len()` is
    /// not `(k - l) * n`.
    pub fn divide_round(&self, input: &[u64], output: &mut [u64]) -> Result<()> {
        let k = self.input.len();
        let n = coeff_count(input.len(), k)?;
        let keep = k - self.l;
        check_len(output.len(), keep * n)?;
        let (q_part, p_part) = input.split_at(keep * n);
        self.run(p_part, n, Rows::Copy(q_part, output));
        Ok(())
    }

    /// In-place [`divide_round`](Self::divide_round): `data` holds `k * n` values; afterwards
    /// its first `(k - l) * n` values are the result (the last `l` limbs are left unchanged, and
    /// the caller typically truncates them away).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `data.len()` is not a multiple of `k`.
    pub fn divide_round_in_place(&self, data: &mut [u64]) -> Result<()> {
        let k = self.input.len();
        let n = coeff_count(data.len(), k)?;
        let keep = k - self.l;
        let (q_part, p_part) = data.split_at_mut(keep * n);
        self.run(p_part, n, Rows::InPlace(q_part));
        Ok(())
    }

    fn run(&self, p_part: &[u64], n: usize, mut rows: Rows<'_>) {
        if self.l == 1 {
            self.run_single(p_part, &mut rows);
        } else {
            self.run_general(p_part, n, &mut rows);
        }
    }

    /// `l = 1`: an element-wise map of two limbs per output limb, one Shoup multiplication per
    /// value ([`RescaleConsts::apply`]), vectorised by `multiversion`.
    fn run_single(&self, x_p: &[u64], rows: &mut Rows<'_>) {
        let p = &self.input.moduli[self.input.len() - 1];
        let n = x_p.len();
        debug_assert!(x_p.iter().all(|&x| x < p.value()));
        for (j, q) in self.output.moduli.iter().enumerate() {
            let consts = RescaleConsts {
                p: p.value(),
                h: self.half_p[0],
                q: q.value(),
                w: self.p_inv[j],
                w_shoup: self.p_inv_shoup[j],
                c: self.c_minus_one[j],
            };
            match rows {
                Rows::Copy(src, dst) => {
                    let x_q = &src[j * n..(j + 1) * n];
                    debug_assert!(x_q.iter().all(|&x| x < q.value()));
                    rescale_limb(&mut dst[j * n..(j + 1) * n], x_q, x_p, consts);
                }
                Rows::InPlace(data) => {
                    let x_q = &mut data[j * n..(j + 1) * n];
                    debug_assert!(x_q.iter().all(|&x| x < q.value()));
                    rescale_limb_in_place(x_q, x_p, consts);
                }
            }
        }
    }

    /// General `l`: mixed-radix digits, then one [`dot_block`] per output limb. The block
    /// scratch holds `l + 1` rows: row `s < l` receives `z_s` and then the digit `d_s`, row `l`
    /// a copy of `x_j` while output limb `j` is formed.
    fn run_general(&self, p_part: &[u64], n: usize, rows: &mut Rows<'_>) {
        let keep = self.output.len();
        let l = self.l;
        let dropped = &self.input.moduli[keep..];
        let mut buf = vec![0u64; (l + 1) * BLOCK];
        let mut digit = [0u64; BLOCK];
        let mut c0 = 0;
        while c0 < n {
            let len = BLOCK.min(n - c0);
            for (s, ps) in dropped.iter().enumerate() {
                let (pv, h) = (ps.value(), self.half_p[s]);
                let limb = &p_part[s * n + c0..s * n + c0 + len];
                debug_assert!(limb.iter().all(|&x| x < pv));
                for (z, &x) in buf[s * BLOCK..s * BLOCK + len].iter_mut().zip(limb) {
                    // z_s = (x + h) mod p_s, with x, h < p_s.
                    let t = x + h;
                    *z = t.min(t.wrapping_sub(pv));
                }
                // d_s = [sum_{t<s} d_t B_{s,t} + z_s A_s]_{p_s}.
                let g = s * l..=s * l + s;
                match &self.garner_lanes[s] {
                    Some(lanes) => lanes.dot(&mut digit[..len], &buf, BLOCK, &self.garner[g], 0),
                    None => dot_block(
                        &mut digit[..len],
                        &buf,
                        BLOCK,
                        &self.garner[g.clone()],
                        &self.garner_shoup[g],
                        0,
                        pv,
                    ),
                }
                buf[s * BLOCK..s * BLOCK + len].copy_from_slice(&digit[..len]);
            }
            let stride = l + 1;
            for (j, q) in self.output.moduli.iter().enumerate() {
                let range = j * n + c0..j * n + c0 + len;
                let x = match rows {
                    Rows::Copy(src, _) => &src[range.clone()],
                    Rows::InPlace(data) => &data[range.clone()],
                };
                debug_assert!(x.iter().all(|&v| v < q.value()));
                buf[l * BLOCK..l * BLOCK + len].copy_from_slice(x);
                let out = match rows {
                    Rows::Copy(_, dst) => &mut dst[range],
                    Rows::InPlace(data) => &mut data[range],
                };
                // [h P^{-1} + sum_s d_s (-M_s P^{-1}) + x_j P^{-1}]_{q_j}.
                let w = j * stride..(j + 1) * stride;
                match &self.out_lanes[j] {
                    Some(lanes) => lanes.dot(out, &buf, BLOCK, &self.out_w[w], self.out_c[j]),
                    None => dot_block(
                        out,
                        &buf,
                        BLOCK,
                        &self.out_w[w.clone()],
                        &self.out_w_shoup[w],
                        self.out_c[j],
                        q.value(),
                    ),
                }
            }
            c0 += len;
        }
    }
}

/// `x -> round(x / P)` as [`ScaleDown`] (`P` the product of the last `l` primes), with the
/// residue `[x]_P` taken by the exact base extension of Halevi, Polyakov and Shoup
/// ([`BaseConverter::convert_exact`]) instead of mixed-radix digits: `l` products and an
/// `f64` sum per coefficient instead of `l(l+1)/2` products, then one dot product of `l + 2`
/// terms per output prime. For BFV decryption's switch to a lower level, where the rounding
/// error only has to be bounded (`bfv::noise`).
///
/// With `y_s = [x_s (P/p_s)^{-1}]_{p_s}` and `v = round(Σ_s y_s/p_s)`, the centered residue
/// of `x` mod `P` is `x_c = Σ_s y_s P/p_s - v P`, and `(x - x_c)/P` reduces mod `q_j` to
/// `[x_j P^{-1} - Σ_s y_s p_s^{-1} + v]_{q_j}`. That is `round(x/P)` whenever
/// `[x]_P / P` is farther than `δ` ([`BaseConverter::exact_error_bound`], `< 2^-30`) from
/// `1/2`; within that window it may be the neighbour on the other side, so in every case
/// `|x/P - out| <= 1/2 + δ` (over the integers, before the reduction mod `q_j`).
#[derive(Clone, Debug)]
pub struct ScaleDownHps {
    /// The extension from the dropped primes (its first step and `f64` correction).
    conv: BaseConverter,
    /// The remaining primes.
    output: RnsBasis,
    /// Row `j` (stride `l + 2`): `[-p_s^{-1}]_{q_j}` for `s < l`, then `1` (for `v`), then
    /// `[P^{-1}]_{q_j}` (for `x_j`).
    w: Vec<u64>,
    /// Shoup companions of `w`.
    w_shoup: Vec<u64>,
    /// IFMA dot products per output prime, when every dropped prime and the output prime are
    /// below `2^50` (every row entry is then below `2^50`).
    out_lanes: Vec<Option<Lanes>>,
}

impl ScaleDownHps {
    /// Precomputes division by the product `P` of the last `l` primes of `basis`.
    ///
    /// # Errors
    /// [`Error::InvalidBasis`] unless `1 <= l < basis.len()`, or if the `f64` error bound of
    /// [`BaseConverter::new`] is not met.
    pub fn new(basis: &RnsBasis, l: usize) -> Result<Self> {
        let (keep, output) = split_for_division(basis, l)?;
        let dropped_values: Vec<u64> = basis.moduli[keep..].iter().map(Modulus::value).collect();
        let dropped = RnsBasis::new(&dropped_values)?;
        let conv = BaseConverter::new(&dropped, &output)?;
        let stride = l + 2;
        let mut w = vec![0u64; keep * stride];
        let mut w_shoup = vec![0u64; keep * stride];
        for (j, q) in output.moduli.iter().enumerate() {
            let row = &mut w[j * stride..(j + 1) * stride];
            for (r, &p) in row.iter_mut().zip(&dropped_values) {
                *r = q.neg(q.inv(q.reduce(p))?);
            }
            row[l] = q.reduce(1);
            row[l + 1] = q.inv(product_mod(dropped_values.iter().copied(), q))?;
            for (ws, &x) in w_shoup[j * stride..(j + 1) * stride].iter_mut().zip(&*row) {
                *ws = q.shoup(x);
            }
        }
        let small = dropped.moduli.iter().all(|p| p.bits() <= 50);
        let out_lanes = output
            .moduli
            .iter()
            .map(|q| {
                if small && q.bits() <= 50 {
                    lanes_for(q)
                } else {
                    None
                }
            })
            .collect();
        Ok(Self {
            conv,
            output,
            w,
            w_shoup,
            out_lanes,
        })
    }

    /// The output basis `Q/P` (the first `k - l` primes).
    pub fn output_basis(&self) -> &RnsBasis {
        &self.output
    }

    /// `round(x / P)` (within the window above) for every coefficient of `input` (limb-major,
    /// `k * n` canonical values) into `output` (limb-major, `(k - l) * n` values, canonical).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `input.len()` is not a multiple of `k` or `output.len()` is
    /// not `(k - l) * n`.
    pub fn divide_round(&self, input: &[u64], output: &mut [u64]) -> Result<()> {
        let keep = self.output.len();
        let l = self.conv.from.len();
        let n = coeff_count(input.len(), keep + l)?;
        check_len(output.len(), keep * n)?;
        let (kept, dropped) = input.split_at(keep * n);
        let stride = l + 2;
        // Rows y_0 … y_{l-1}, v, x_j of one block.
        let mut buf = vec![0u64; stride * BLOCK];
        let mut c0 = 0;
        while c0 < n {
            let len = BLOCK.min(n - c0);
            for (s, p) in self.conv.from.moduli.iter().enumerate() {
                let limb = &dropped[s * n + c0..s * n + c0 + len];
                debug_assert!(limb.iter().all(|&x| x < p.value()));
                let ys = &mut buf[s * BLOCK..s * BLOCK + len];
                match &self.conv.from_lanes[s] {
                    Some((lanes, ws)) => lanes.mul_const(ys, limb, self.conv.from.qhat_inv[s], *ws),
                    None => mul_shoup_block(
                        ys,
                        limb,
                        self.conv.from.qhat_inv[s],
                        self.conv.from.qhat_inv_shoup[s],
                        p.value(),
                    ),
                }
            }
            {
                let (ys, v) = buf.split_at_mut(l * BLOCK);
                hps_correction(&mut v[..len], ys, BLOCK, &self.conv.inv_q);
            }
            for (j, q) in self.output.moduli.iter().enumerate() {
                let x = &kept[j * n + c0..j * n + c0 + len];
                debug_assert!(x.iter().all(|&v| v < q.value()));
                buf[(l + 1) * BLOCK..(l + 1) * BLOCK + len].copy_from_slice(x);
                let out = &mut output[j * n + c0..j * n + c0 + len];
                let w = j * stride..(j + 1) * stride;
                match &self.out_lanes[j] {
                    Some(lanes) => lanes.dot(out, &buf, BLOCK, &self.w[w], 0),
                    None => dot_block(
                        out,
                        &buf,
                        BLOCK,
                        &self.w[w.clone()],
                        &self.w_shoup[w],
                        0,
                        q.value(),
                    ),
                }
            }
            c0 += len;
        }
        Ok(())
    }
}

/// Where the remaining limbs are read from and written to.
enum Rows<'a> {
    /// Read `x_j` from the first slice, write the second.
    Copy(&'a [u64], &'a mut [u64]),
    /// Read and overwrite in place.
    InPlace(&'a mut [u64]),
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::math::primes::ntt_primes;
    use num_bigint::BigUint;
    use num_traits::{FromPrimitive, One, ToPrimitive, Zero};
    use proptest::prelude::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};

    const BITS: [u32; 4] = [30, 50, 60, 61];
    const DEG: usize = 1 << 16;

    fn primes(bits: u32, count: usize) -> Vec<u64> {
        ntt_primes(bits, DEG, count).unwrap()
    }

    fn big(words: &[u64]) -> BigUint {
        let mut v = BigUint::zero();
        for &w in words.iter().rev() {
            v = (v << 64u32) + BigUint::from(w);
        }
        v
    }

    fn to_words(v: &BigUint, len: usize) -> Vec<u64> {
        let mut w = v.to_u64_digits();
        assert!(w.len() <= len);
        w.resize(len, 0);
        w
    }

    fn big_product(moduli: &[u64]) -> BigUint {
        moduli.iter().fold(BigUint::one(), |a, &q| a * q)
    }

    /// Reference CRT: sum_i r_i M_i (M_i^{-1} mod q_i) mod Q, inverses by Fermat.
    fn big_crt(moduli: &[u64], residues: &[u64]) -> BigUint {
        let q = big_product(moduli);
        let mut acc = BigUint::zero();
        for (&qi, &ri) in moduli.iter().zip(residues) {
            let mi = &q / qi;
            let qi_big = BigUint::from(qi);
            let inv = (&mi % &qi_big).modpow(&BigUint::from(qi - 2), &qi_big);
            acc += BigUint::from(ri) * &mi * inv;
        }
        acc % q
    }

    fn big_mod(x: &BigUint, p: u64) -> u64 {
        (x % p).to_u64().unwrap()
    }

    /// A uniform-ish integer below `q` from random words.
    fn random_below(seed: u64, q: &BigUint) -> BigUint {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let words: Vec<u64> = (0..q.to_u64_digits().len() + 2)
            .map(|_| rng.next_u64())
            .collect();
        big(&words) % q
    }

    /// Limb-major residues of `xs` over `moduli`.
    fn limb_major(xs: &[BigUint], moduli: &[u64]) -> Vec<u64> {
        moduli
            .iter()
            .flat_map(|&q| xs.iter().map(move |x| big_mod(x, q)))
            .collect()
    }

    /// Integers that stress the edges of `q`, plus random ones.
    fn samples(q: &BigUint, seed: u64, random: usize) -> Vec<BigUint> {
        let one = BigUint::one();
        let half = q >> 1u32;
        let mut xs = vec![
            BigUint::zero(),
            one.clone(),
            q - &one,
            half.clone(),
            &half + &one,
            &half - if half.is_zero() { BigUint::zero() } else { one },
        ];
        xs.extend((0..random).map(|i| random_below(seed.wrapping_add(i as u64), q)));
        xs.retain(|x| x < q);
        xs
    }

    fn arb_bits() -> impl Strategy<Value = u32> {
        (0..BITS.len()).prop_map(|i| BITS[i])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn decompose_compose_roundtrip(bits in arb_bits(), k in 1usize..=10, seed: u64) {
            let moduli = primes(bits, k);
            let basis = RnsBasis::new(&moduli).unwrap();
            let q = big_product(&moduli);
            prop_assert_eq!(big(basis.product_words()), q.clone());
            prop_assert_eq!(basis.product_words().len(), k);
            prop_assert_eq!(u64::from(basis.product_bits()), q.bits());
            for x in samples(&q, seed, 8) {
                let words = to_words(&x, k);
                let residues = basis.decompose(&words).unwrap();
                for (&r, &qi) in residues.iter().zip(&moduli) {
                    prop_assert_eq!(r, big_mod(&x, qi));
                }
                prop_assert_eq!(basis.compose(&residues).unwrap(), words.clone());
                // Extra high zero words are accepted.
                let mut longer = words.clone();
                longer.extend([0, 0]);
                prop_assert_eq!(basis.decompose(&longer).unwrap(), residues);
            }
        }

        #[test]
        fn compose_matches_biguint_crt(bits in arb_bits(), k in 1usize..=10, seed: u64) {
            let moduli = primes(bits, k);
            let basis = RnsBasis::new(&moduli).unwrap();
            let q = big_product(&moduli);
            let half = &q >> 1u32;
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            for _ in 0..8 {
                let residues: Vec<u64> = moduli.iter().map(|&qi| rng.next_u64() % qi).collect();
                let want = big_crt(&moduli, &residues);
                let got = basis.compose(&residues).unwrap();
                prop_assert_eq!(big(&got), want.clone());
                // Centered: x if x <= floor(Q/2), else x - Q.
                let (neg, mag) = if want > half { (true, &q - &want) } else { (false, want.clone()) };
                let c = basis.compose_centered(&residues).unwrap();
                prop_assert_eq!(c.negative, neg);
                prop_assert_eq!(big(&c.magnitude), mag.clone());
                prop_assert_eq!(u64::from(c.bits()), mag.bits());
                let want_i128 = mag.to_i128().map(|m| if neg { -m } else { m });
                prop_assert_eq!(basis.compose_centered_i128(&residues).unwrap(), want_i128);
                prop_assert_eq!(c.to_i128(), want_i128);
                let mag_f = mag.to_f64().unwrap();
                let want_f = if neg { -mag_f } else { mag_f };
                let got_f = basis.compose_centered_f64(&residues).unwrap();
                prop_assert!((got_f - want_f).abs() <= want_f.abs() * f64::EPSILON,
                    "{} vs {}", got_f, want_f);
                prop_assert_eq!(c.to_f64(), got_f);
            }
        }

        #[test]
        fn convert_approx_is_x_plus_u_q(
            from_bits in arb_bits(), to_bits in arb_bits(),
            k in 1usize..=10, m in 1usize..=10, seed: u64,
        ) {
            // Disjoint bases even when the bit sizes agree.
            let all = primes(from_bits, k + if from_bits == to_bits { m } else { 0 });
            let from_m = all[..k].to_vec();
            let to_m = if from_bits == to_bits { all[k..].to_vec() } else { primes(to_bits, m) };
            let from = RnsBasis::new(&from_m).unwrap();
            let to = RnsBasis::new(&to_m).unwrap();
            let conv = BaseConverter::new(&from, &to).unwrap();
            let q = big_product(&from_m);
            let xs = samples(&q, seed, 10);
            let n = xs.len();
            let input = limb_major(&xs, &from_m);
            let mut out = vec![0u64; m * n];
            conv.convert_approx(&input, &mut out).unwrap();
            let mut max_u = 0u64;
            for (c, x) in xs.iter().enumerate() {
                // Reference: V = sum_i y_i Q/q_i computed with BigUint; V = x + u Q.
                let mut v = BigUint::zero();
                for &qi in &from_m {
                    let qi_big = BigUint::from(qi);
                    let mi = &q / qi;
                    let inv = (&mi % &qi_big).modpow(&BigUint::from(qi - 2), &qi_big);
                    let yi = (x % &qi_big) * inv % &qi_big;
                    v += yi * mi;
                }
                prop_assert!(v >= *x);
                let diff = &v - x;
                prop_assert!((&diff % &q).is_zero());
                let u = (diff / &q).to_u64().unwrap();
                prop_assert!(u < k as u64, "u = {} for k = {}", u, k);
                max_u = max_u.max(u);
                for (j, &p) in to_m.iter().enumerate() {
                    prop_assert_eq!(out[j * n + c], big_mod(&v, p));
                }
            }
            // The edges (Q - 1 in particular) reach u > 0 once k > 1.
            if k > 1 {
                prop_assert!(max_u > 0);
            }
        }

        /// Source bases mixing primes above and below 2^50 (the IFMA kernel splits the rows
        /// of the large ones), exact mode away from the window, against big integers.
        #[test]
        fn convert_exact_mixed_sizes(seed: u64, m in 1usize..=4) {
            let mut from_m = primes(60, 2);
            from_m.extend(primes(50, 2));
            from_m.extend(primes(30, 1));
            let to_m: Vec<u64> = primes(50, 6)[2..2 + m].to_vec();
            let from = RnsBasis::new(&from_m).unwrap();
            let to = RnsBasis::new(&to_m).unwrap();
            let conv = BaseConverter::new(&from, &to).unwrap();
            let q = big_product(&from_m);
            let xs: Vec<BigUint> = samples(&q, seed, 40).into_iter().map(|x| x >> 8u32).collect();
            let n = xs.len();
            let input = limb_major(&xs, &from_m);
            let mut out = vec![0u64; m * n];
            conv.convert_exact(&input, &mut out).unwrap();
            for (c, x) in xs.iter().enumerate() {
                for (j, &p) in to_m.iter().enumerate() {
                    prop_assert_eq!(out[j * n + c], big_mod(x, p));
                }
            }
            conv.convert_approx(&input, &mut out).unwrap();
            for (c, x) in xs.iter().enumerate() {
                for (j, &p) in to_m.iter().enumerate() {
                    // x + u Q with 0 <= u < k.
                    let got = out[j * n + c];
                    let ok = (0..from_m.len() as u64).any(|u| big_mod(&(x + &q * u), p) == got);
                    prop_assert!(ok);
                }
            }
        }

        #[test]
        fn convert_exact_is_centered(
            from_bits in arb_bits(), to_bits in arb_bits(),
            k in 1usize..=10, m in 1usize..=10, seed: u64,
        ) {
            let all = primes(from_bits, k + if from_bits == to_bits { m } else { 0 });
            let from_m = all[..k].to_vec();
            let to_m = if from_bits == to_bits { all[k..].to_vec() } else { primes(to_bits, m) };
            let from = RnsBasis::new(&from_m).unwrap();
            let to = RnsBasis::new(&to_m).unwrap();
            let conv = BaseConverter::new(&from, &to).unwrap();
            let q = big_product(&from_m);
            let half = &q >> 1u32;
            let mut xs = samples(&q, seed, 10);
            // Just outside the δ-window around Q/2, where the result must still be exact.
            let delta = conv.exact_error_bound();
            let scaled = (BigUint::from_f64((delta * TWO_POW_64).ceil()).unwrap() + 1u32) * &q;
            let window = (scaled >> 64u32) + 1u32;
            if window < half {
                xs.push(&half - &window);
                xs.push(&half + &window + 1u32);
            }
            let n = xs.len();
            let input = limb_major(&xs, &from_m);
            let mut out = vec![0u64; m * n];
            conv.convert_exact(&input, &mut out).unwrap();
            for (c, x) in xs.iter().enumerate() {
                let dist = if *x > half { x - &half } else { &half - x };
                let exact_required = dist > window;
                for (j, &p) in to_m.iter().enumerate() {
                    let pos = big_mod(x, p);
                    // (x - Q) mod p.
                    let neg = (pos + p - big_mod(&q, p)) % p;
                    let want = if *x > half { neg } else { pos };
                    let got = out[j * n + c];
                    if exact_required {
                        prop_assert_eq!(got, want, "x = {}", x);
                    } else {
                        prop_assert!(got == pos || got == neg);
                    }
                }
            }
        }

        #[test]
        fn divide_round_matches_biguint(
            bits in arb_bits(), l in 1usize..=3, extra in 1usize..=7, seed: u64,
        ) {
            let k = l + extra;
            let moduli = primes(bits, k);
            let basis = RnsBasis::new(&moduli).unwrap();
            let sd = ScaleDown::new(&basis, l).unwrap();
            prop_assert_eq!(sd.dropped(), l);
            prop_assert_eq!(sd.output_basis().moduli(), &basis.moduli()[..extra]);
            check_divide_round(&moduli, l, seed);
        }
    }

    /// Reference `round(x / P)`: quotient plus one when the remainder is at least `P/2`.
    fn big_round_div(x: &BigUint, p: &BigUint) -> BigUint {
        let (quot, rem) = (x / p, x % p);
        if rem * 2u32 >= *p {
            quot + 1u32
        } else {
            quot
        }
    }

    /// Checks `divide_round` and its in-place form on edges (0, Q - 1, multiples of P and the
    /// P/2 boundaries around them) and random values.
    fn check_divide_round(moduli: &[u64], l: usize, seed: u64) {
        let k = moduli.len();
        let keep = k - l;
        let basis = RnsBasis::new(moduli).unwrap();
        let sd = ScaleDown::new(&basis, l).unwrap();
        let q = big_product(moduli);
        let p = big_product(&moduli[keep..]);
        let p_half = &p >> 1u32;
        let q_over_p = &q / &p;
        let mut xs = samples(&q, seed, 16);
        for mult in [
            BigUint::zero(),
            BigUint::one(),
            random_below(seed ^ 1, &q_over_p),
            &q_over_p - 1u32,
        ] {
            let base = mult * &p;
            for off in [
                BigUint::zero(),
                BigUint::one(),
                p_half.clone(),
                &p_half + 1u32,
                &p - 1u32,
            ] {
                xs.push(&base + &off);
                if base >= off && !off.is_zero() {
                    xs.push(&base - &off);
                }
            }
        }
        xs.retain(|x| *x < q);
        let n = xs.len();
        let input = limb_major(&xs, moduli);
        let mut out = vec![0u64; keep * n];
        sd.divide_round(&input, &mut out).unwrap();
        let mut in_place = input.clone();
        sd.divide_round_in_place(&mut in_place).unwrap();
        assert_eq!(&in_place[..keep * n], &out[..]);
        assert_eq!(&in_place[keep * n..], &input[keep * n..]);
        for (c, x) in xs.iter().enumerate() {
            let want = big_round_div(x, &p);
            for (j, &qj) in moduli[..keep].iter().enumerate() {
                assert_eq!(
                    out[j * n + c],
                    big_mod(&want, qj),
                    "x = {x}, P = {p}, j = {j}"
                );
            }
        }
    }

    /// Exhaustive checks over tiny bases, where every `x < Q` can be tried; the prime 2 makes
    /// `P` even and exercises ties.
    #[test]
    fn small_bases_exhaustive() {
        for moduli in [
            &[3u64, 5, 7][..],
            &[7, 5, 3, 2],
            &[2, 3],
            &[13, 11, 2, 3],
            &[5, 2, 7, 3, 11],
        ] {
            let basis = RnsBasis::new(moduli).unwrap();
            let q = big_product(moduli).to_u64().unwrap();
            let k = moduli.len();
            for x in 0..q {
                let r = basis.decompose(&[x]).unwrap();
                assert_eq!(basis.compose(&r).unwrap()[0], x);
                let centered = if x > q / 2 {
                    i128::from(x) - i128::from(q)
                } else {
                    i128::from(x)
                };
                assert_eq!(basis.compose_centered_i128(&r).unwrap(), Some(centered));
            }
            // Divide and round for every l, every x at once.
            let xs: Vec<BigUint> = (0..q).map(BigUint::from).collect();
            let input = limb_major(&xs, moduli);
            let n = xs.len();
            for l in 1..k {
                let sd = ScaleDown::new(&basis, l).unwrap();
                let p: u64 = moduli[k - l..].iter().product();
                let mut out = vec![0u64; (k - l) * n];
                sd.divide_round(&input, &mut out).unwrap();
                for x in 0..q {
                    // Ties up: floor(x/P + 1/2) = floor((2x + P) / 2P).
                    let want = (2 * x + p) / (2 * p);
                    for (j, &qj) in moduli[..k - l].iter().enumerate() {
                        let c = usize::try_from(x).unwrap();
                        assert_eq!(out[j * n + c], want % qj, "{moduli:?} l = {l} x = {x}");
                    }
                }
            }
            // Base extension to primes outside the basis.
            let to_m = [17u64, 19, 23];
            let to = RnsBasis::new(&to_m).unwrap();
            let conv = BaseConverter::new(&basis, &to).unwrap();
            let mut approx = vec![0u64; 3 * n];
            let mut exact = vec![0u64; 3 * n];
            conv.convert_approx(&input, &mut approx).unwrap();
            conv.convert_exact(&input, &mut exact).unwrap();
            let q_i = i128::from(q);
            for x in 0..q {
                let c = usize::try_from(x).unwrap();
                let xi = i128::from(x);
                let centered = if x > q / 2 { xi - q_i } else { xi };
                for (j, &p) in to_m.iter().enumerate() {
                    let p_i = i128::from(p);
                    let got = i128::from(approx[j * n + c]);
                    assert!(
                        (0..i128::try_from(k).unwrap()).any(|u| (xi + u * q_i - got) % p_i == 0)
                    );
                    let got = i128::from(exact[j * n + c]);
                    // Q even and x = Q/2 is a true tie: either representative is right.
                    if 2 * x == q {
                        assert!(got == xi % p_i || got == (xi - q_i).rem_euclid(p_i));
                    } else {
                        assert_eq!(got, centered.rem_euclid(p_i), "{moduli:?} x = {x}");
                    }
                }
            }
        }
    }

    /// Larger `k` than the property tests, with the largest primes below `2^62`, where the lazy
    /// accumulators come closest to `2^64` (`4p`).
    #[test]
    fn long_bases_largest_primes() {
        let moduli: Vec<u64> = crate::math::primes::NttPrimes::new(62, 2)
            .unwrap()
            .take(40)
            .collect();
        let (from_m, to_m) = moduli.split_at(34);
        let from = RnsBasis::new(from_m).unwrap();
        let to = RnsBasis::new(to_m).unwrap();
        let conv = BaseConverter::new(&from, &to).unwrap();
        let q = big_product(from_m);
        let half = &q >> 1u32;
        let xs = samples(&q, 7, 6);
        let n = xs.len();
        let input = limb_major(&xs, from_m);
        let mut out = vec![0u64; to_m.len() * n];
        conv.convert_exact(&input, &mut out).unwrap();
        for (c, x) in xs.iter().enumerate() {
            for (j, &p) in to_m.iter().enumerate() {
                let pos = big_mod(x, p);
                let neg = (pos + p - big_mod(&q, p)) % p;
                let want = if *x > half { neg } else { pos };
                let near_half = (x == &half) || (*x == &half + 1u32) || (*x == &half - 1u32);
                if near_half {
                    assert!(out[j * n + c] == pos || out[j * n + c] == neg);
                } else {
                    assert_eq!(out[j * n + c], want);
                }
            }
        }
        for l in [1, 5, 20, 39] {
            check_divide_round(&moduli, l, 11);
        }
    }

    #[test]
    fn errors() {
        assert_eq!(
            RnsBasis::new(&[]),
            Err(Error::InvalidBasis {
                reason: "no primes"
            })
        );
        let ps = primes(50, 3);
        assert_eq!(
            RnsBasis::new(&[ps[0], ps[1], ps[0]]),
            Err(Error::InvalidBasis {
                reason: "repeated prime"
            })
        );
        assert_eq!(
            RnsBasis::new(&[ps[0], 91]),
            Err(Error::InvalidModulus {
                modulus: 91,
                reason: crate::error::ModulusError::NotPrime
            })
        );
        let many: Vec<u64> = crate::math::primes::NttPrimes::new(40, 2)
            .unwrap()
            .take(MAX_BASIS_LEN + 1)
            .collect();
        assert!(RnsBasis::new(&many[..MAX_BASIS_LEN]).is_ok());
        assert_eq!(
            RnsBasis::new(&many),
            Err(Error::InvalidBasis {
                reason: "more than 128 primes"
            })
        );

        let basis = RnsBasis::new(&ps).unwrap();
        let q = big_product(&ps);
        // decompose: x = Q and x = Q + 1 are refused, Q - 1 accepted.
        assert_eq!(
            basis.decompose(&to_words(&q, 4)),
            Err(Error::ValueOutOfRange {
                what: "integer not below the basis product"
            })
        );
        assert!(basis.decompose(&to_words(&(&q + 1u32), 4)).is_err());
        assert!(basis.decompose(&to_words(&(&q - 1u32), 3)).is_ok());
        assert_eq!(
            basis.decompose_into(&[1], &mut [0; 2]),
            Err(Error::LengthMismatch {
                expected: 3,
                found: 2
            })
        );
        // compose: wrong length, residue out of range.
        assert_eq!(
            basis.compose(&[1, 2]),
            Err(Error::LengthMismatch {
                expected: 3,
                found: 2
            })
        );
        assert_eq!(
            basis.compose(&[1, ps[1], 2]),
            Err(Error::ValueOutOfRange {
                what: "residue not below its prime"
            })
        );
        assert!(basis.compose_into(&[1, 2, 3], &mut [0; 4]).is_err());
        assert!(basis.compose_centered_i128(&[1, 2]).is_err());
        assert!(basis.compose_centered_f64(&[ps[0], 0, 0]).is_err());
        assert!(basis.prefix(0).is_err() && basis.prefix(4).is_err());
        assert_eq!(basis.prefix(2).unwrap().moduli(), &basis.moduli()[..2]);
        assert!(basis.concat(&basis).is_err());

        // Base converter: input not a multiple of k, output of the wrong size.
        let to = RnsBasis::new(&primes(30, 2)).unwrap();
        let conv = BaseConverter::new(&basis, &to).unwrap();
        assert_eq!(conv.from_basis(), &basis);
        assert_eq!(conv.to_basis(), &to);
        assert_eq!(
            conv.convert_approx(&[0; 7], &mut [0; 4]),
            Err(Error::LengthMismatch {
                expected: 9,
                found: 7
            })
        );
        assert_eq!(
            conv.convert_exact(&[0; 6], &mut [0; 5]),
            Err(Error::LengthMismatch {
                expected: 4,
                found: 5
            })
        );

        // Scale down: l out of range, lengths.
        for l in [0, 3, 4] {
            assert_eq!(
                ScaleDown::new(&basis, l).unwrap_err(),
                Error::InvalidBasis {
                    reason: "divide by at least one prime and keep at least one"
                }
            );
        }
        let sd = ScaleDown::new(&basis, 2).unwrap();
        assert_eq!(sd.input_basis(), &basis);
        assert_eq!(
            sd.divide_round(&[0; 6], &mut [0; 3]),
            Err(Error::LengthMismatch {
                expected: 2,
                found: 3
            })
        );
        assert!(sd.divide_round(&[0; 5], &mut [0; 2]).is_err());
        assert!(sd.divide_round_in_place(&mut [0; 4]).is_err());
    }

    /// Polynomial-sized run (n = 2^12) on the benchmark's shape, against BigUint coefficient by
    /// coefficient on a sample, so the blocked loops are checked across block boundaries.
    #[test]
    fn polynomial_sized_inputs() {
        let n = 4096 + 17;
        let all = primes(50, 17);
        let (from_m, to_m) = all.split_at(8);
        let from = RnsBasis::new(from_m).unwrap();
        let to = RnsBasis::new(to_m).unwrap();
        let conv = BaseConverter::new(&from, &to).unwrap();
        let q = big_product(from_m);
        let xs: Vec<BigUint> = (0..n).map(|i| random_below(1000 + i as u64, &q)).collect();
        let input = limb_major(&xs, from_m);
        let mut out = vec![0u64; 9 * n];
        conv.convert_exact(&input, &mut out).unwrap();
        let half = &q >> 1u32;
        for c in (0..n).step_by(7) {
            for (j, &p) in to_m.iter().enumerate() {
                let pos = big_mod(&xs[c], p);
                let want = if xs[c] > half {
                    (pos + p - big_mod(&q, p)) % p
                } else {
                    pos
                };
                assert_eq!(out[j * n + c], want);
            }
        }
        let basis9 = RnsBasis::new(&all[..9]).unwrap();
        let q9 = big_product(&all[..9]);
        let xs: Vec<BigUint> = (0..n).map(|i| random_below(5000 + i as u64, &q9)).collect();
        let input = limb_major(&xs, &all[..9]);
        for l in [1, 3] {
            let sd = ScaleDown::new(&basis9, l).unwrap();
            let mut out = vec![0u64; (9 - l) * n];
            sd.divide_round(&input, &mut out).unwrap();
            let p = big_product(&all[9 - l..9]);
            for c in (0..n).step_by(5) {
                let want = big_round_div(&xs[c], &p);
                for (j, &qj) in all[..9 - l].iter().enumerate() {
                    assert_eq!(out[j * n + c], big_mod(&want, qj));
                }
            }
        }
    }

    /// The vectorised rounding of the HPS correction is the saturating cast it replaces, on
    /// integers, exact halves and their neighbours, and random sums up to `k`.
    #[test]
    fn correction_rounding_matches_the_cast() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let k = MAX_BASIS_LEN as u64;
        let check = |a: f64| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let want = ((a + 0.5) as u64).min(k);
            assert_eq!(round_correction(a, k), want, "{a:e}");
        };
        for i in 0..=(2 * k + 2) {
            let h = i as f64 / 2.0;
            for a in [h, h.next_up(), h.next_down().max(0.0)] {
                check(a);
            }
        }
        for _ in 0..100_000 {
            check((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * (k + 1) as f64);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// `ScaleDownHps` is `round(x / P)` outside a window of relative width `2^-30` around
        /// the ties, and one of the two neighbours inside it (random values, multiples of `P`
        /// and the `P/2` boundaries, where the window is hit).
        #[test]
        fn hps_divide_round_matches_biguint(
            bits in arb_bits(), l in 1usize..=8, keep in 1usize..=3, seed: u64,
        ) {
            let k = l + keep;
            let moduli = primes(bits, k);
            let basis = RnsBasis::new(&moduli).unwrap();
            let sd = ScaleDownHps::new(&basis, l).unwrap();
            prop_assert_eq!(sd.output_basis().moduli(), &basis.moduli()[..keep]);
            let q = big_product(&moduli);
            let p = big_product(&moduli[keep..]);
            let p_half = &p >> 1u32;
            let q_over_p = &q / &p;
            let mut xs = samples(&q, seed, 64);
            for mult in [BigUint::zero(), random_below(seed ^ 3, &q_over_p), &q_over_p - 1u32] {
                let base = mult * &p;
                for off in [BigUint::zero(), BigUint::one(), &p_half - 1u32, p_half.clone(),
                            &p_half + 1u32, &p_half + 2u32, &p - 1u32] {
                    xs.push(&base + &off);
                }
            }
            xs.retain(|x| *x < q);
            let n = xs.len();
            let input = limb_major(&xs, &moduli);
            let mut out = vec![0u64; keep * n];
            sd.divide_round(&input, &mut out).unwrap();
            for (c, x) in xs.iter().enumerate() {
                let (quot, rem) = (x / &p, x % &p);
                let up = &rem * 2u32 >= p;
                let (want, other) = if up { (&quot + 1u32, quot.clone()) } else { (quot.clone(), &quot + 1u32) };
                // |2 rem - P| <= 2^-29 P: inside the window around the tie.
                let dist = if &rem * 2u32 >= p { &rem * 2u32 - &p } else { &p - &rem * 2u32 };
                let in_window = (dist << 29u32) <= p;
                for (j, &qj) in moduli[..keep].iter().enumerate() {
                    let got = out[j * n + c];
                    prop_assert!(
                        got == big_mod(&want, qj) || (in_window && got == big_mod(&other, qj)),
                        "x = {}, P = {}, j = {}", x, p, j
                    );
                }
            }
        }
    }
}
