//! AVX-512 IFMA52 NTT kernels for moduli `q < 2^50`.
//!
//! The butterflies are Harvey's lazy ones (Harvey, "Faster arithmetic for number-theoretic
//! transforms", J. Symb. Comp. 2014) with a 52-bit Shoup twiddle `w' = floor(w·2^52 / q)`, the
//! form Intel HEXL uses with `vpmadd52huq`/`vpmadd52luq` (Boemer et al., "Intel HEXL:
//! Accelerating Homomorphic Encryption with Intel AVX512-IFMA52", WAHC 2021). For `y < 2^52`
//! (any lazy value, since `4q < 2^52`):
//!
//! ```text
//! qe = hi52(y · w')                    vpmadd52huq
//! r  = lo52(y · w) + lo52(qe · (2^52 - q))   two vpmadd52luq
//! r  = r mod 2^52                      vpandq
//! ```
//! `qe` is `floor(y·w/q)` or one less (`y·w'/2^52 > y·w/q - y/2^52 > y·w/q - 1`), so the true
//! remainder `y·w - qe·q` lies in `[0, 2q)`; it is congruent to `r` modulo `2^52` and below
//! `2^52`, so the mask recovers it exactly.
//!
//! When a product is next used only as a multiplicand (IFMA reads just the low 52 bits of its
//! operands), the mask is skipped ([`mul_raw`]): in the forward passes both outputs of a
//! butterfly have the same role in the next stage, so half the butterflies skip it; in the
//! inverse passes a butterfly whose inputs are both unmasked products masks their sum instead
//! (one mask instead of two).
//!
//! ## Layout of the work
//! * Stages whose butterfly distance is at least 16 words act on whole vectors. They run in
//!   passes of up to four stages (radix 8 or 16, see [`pass_plan`]): the `R` vectors of a group
//!   are loaded, go through the stages in registers and are stored once; twiddles are
//!   broadcast.
//! * The last four stages (the first four of the inverse) run on groups of two vectors (16
//!   words), eight groups per loop iteration so that the processor has independent dependency
//!   chains to overlap: the stage pairing the two vectors, then the three stages inside the
//!   vectors. Before each in-vector stage the pair is rearranged with in-lane or 128-bit-granular
//!   shuffles (`vinserti64x4`, `vshufi64x2`, `vpunpck*qdq`, which do not compete with the
//!   multipliers), into layouts chosen by a search so that each stage's twiddles are one vector
//!   load, one broadcast or one `vpermq` of a table line; a final `vpermt2q` restores natural
//!   order (see `fwd_in_vectors!` and `inv_in_vectors!`).
//! * The forward transform's last stage returns canonical values; the inverse folds `1/n` into
//!   its last stage (`(x + y)·n^-1` and `(x - y)·(w·n^-1)`).
//!
//! ## Performance notes (AMD Zen 4)
//! `vpmadd52*q`, `vpminuq` and `vpermt2q` share two of the four vector pipes; adds, logic and
//! most shuffles use the others. A butterfly costs 3 IFMA + 1 `vpminuq` + 4 or 5 simple
//! operations, about 4.5 cycles per eight butterflies at best. Radix 16 is only used where its 16
//! streams are less than 4 KiB apart (otherwise they fall into one or two 8-way L1 sets).
//!
//! Lengths below 16 go to the scalar kernels.

#![allow(unsafe_code)]

use super::Tables;
use core::arch::x86_64::*;

/// Zero-sized proof that the CPU has AVX-512F, AVX-512DQ and AVX-512 IFMA.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ifma(());

impl Ifma {
    /// The token, if this CPU has the instructions the kernels use.
    pub(crate) fn detect() -> Option<Self> {
        let ok = is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512ifma");
        ok.then_some(Self(()))
    }
}

/// One cache line of words; a `Vec<Line>` is 64-byte aligned.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Line([u64; 8]);

/// A table of words starting on a 64-byte boundary.
#[derive(Clone, Debug)]
struct Aligned {
    lines: Vec<Line>,
    len: usize,
}

impl Aligned {
    fn new(words: &[u64]) -> Self {
        let mut lines = vec![Line([0; 8]); words.len().div_ceil(8)];
        for (line, chunk) in lines.iter_mut().zip(words.chunks(8)) {
            line.0[..chunk.len()].copy_from_slice(chunk);
        }
        Self {
            lines,
            len: words.len(),
        }
    }

    fn as_slice(&self) -> &[u64] {
        // SAFETY: `Line` is `repr(C)` around `[u64; 8]` (size 64, no padding), so the vector's
        // buffer holds `8 * lines.len() >= len` initialised, contiguous `u64`s, borrowed here for
        // the lifetime of `&self`.
        unsafe { core::slice::from_raw_parts(self.lines.as_ptr().cast::<u64>(), self.len) }
    }
}

/// Reorders every group of `order.len()` consecutive words: new `g[i]` = old `g[order[i]]`.
fn permute_groups(words: &mut [u64], order: &[usize]) {
    for g in words.chunks_exact_mut(order.len()) {
        let old = g.to_vec();
        for (dst, &src) in g.iter_mut().zip(order) {
            *dst = old[src];
        }
    }
}

/// `floor(w · 2^52 / q)`: the 52-bit Shoup companion of `w < q < 2^50`.
fn shoup52(w: u64, q: u64) -> u64 {
    debug_assert!(w < q && q < 1 << 50);
    let ws = (u128::from(w) << 52) / u128::from(q);
    // w < q, so ws < 2^52.
    u64::try_from(ws).unwrap_or(u64::MAX)
}

/// Backend-specific precomputation: twiddles in 64-byte aligned tables with their 52-bit Shoup
/// companions (same indexing as [`Tables`]).
#[derive(Clone, Debug)]
pub(crate) struct IfmaTables {
    _token: Ifma,
    fwd: Aligned,
    fwd52: Aligned,
    inv: Aligned,
    inv52: Aligned,
    /// Radix (`log2`) of each whole-vector pass, in forward order; see [`pass_plan`] and
    /// [`inv_pass_plan`].
    plan: Vec<u32>,
    inv_plan: Vec<u32>,
    /// `n^-1` and `inv[1]·n^-1` with their 52-bit companions (last inverse stage).
    n_inv: [u64; 2],
    last_w: [u64; 2],
}

impl IfmaTables {
    /// Builds the tables for `t` (which must have `q < 2^50`).
    ///
    /// The copies differ from `t.fwd`/`t.inv` in the in-vector levels, whose entries are stored
    /// in the lane order the kernels consume them (so that each is one vector load or
    /// broadcast): forward level `n/2` in groups of eight as `[0 1 4 5 2 3 6 7]`; inverse level
    /// `n/2` as `[0 4 1 5 2 6 3 7]` and level `n/4` in groups of four as `[0 2 1 3]`.
    pub(crate) fn new(token: Ifma, t: &Tables) -> Self {
        let q = t.q.value();
        debug_assert!(q < 1 << 50);
        let n = t.n;
        let mut fwd = t.fwd.clone();
        let mut inv = t.inv.clone();
        if n >= 16 {
            permute_groups(&mut fwd[n / 2..], &[0, 1, 4, 5, 2, 3, 6, 7]);
            permute_groups(&mut inv[n / 2..], &[0, 4, 1, 5, 2, 6, 3, 7]);
            permute_groups(&mut inv[n / 4..n / 2], &[0, 2, 1, 3]);
        }
        let fwd52: Vec<u64> = fwd.iter().map(|&w| shoup52(w, q)).collect();
        let inv52: Vec<u64> = inv.iter().map(|&w| shoup52(w, q)).collect();
        let w1 = if n >= 2 { t.inv[1] } else { 1 };
        let lw = t.q.mul(w1, t.n_inv);
        Self {
            _token: token,
            fwd: Aligned::new(&fwd),
            fwd52: Aligned::new(&fwd52),
            inv: Aligned::new(&inv),
            inv52: Aligned::new(&inv52),
            plan: pass_plan(t.log_n.saturating_sub(4)),
            inv_plan: inv_pass_plan(t.log_n.saturating_sub(4)),
            n_inv: [t.n_inv, shoup52(t.n_inv, q)],
            last_w: [lw, shoup52(lw, q)],
        }
    }

    /// Forward transform (contract of [`super::NttPlan::forward`]).
    pub(crate) fn forward(&self, t: &Tables, a: &mut [u64]) {
        if t.n < 16 {
            return super::scalar::forward(t, a);
        }
        // SAFETY: the token in `self` was obtained from `Ifma::detect`, so the CPU has every
        // feature `forward_impl` is compiled for.
        unsafe { self.forward_impl(t, a) }
    }

    /// Forward transform of `src` into `dst` for inputs in `[0, 4q)`, not necessarily reduced
    /// (contract of [`super::NttPlan::forward_lazy_from`]): the first pass reads `src` and
    /// writes `dst`, with the lazy first stage (no csub skipped), so neither a copy nor a
    /// reduction pass comes first. Returns `false` (nothing done) for lengths without a
    /// whole-vector pass (`n < 32`), which the caller handles.
    pub(crate) fn forward_lazy_from(&self, t: &Tables, src: &[u64], dst: &mut [u64]) -> bool {
        if t.n < 32 || self.plan.is_empty() || src.len() != t.n || dst.len() != t.n {
            return false;
        }
        // SAFETY: as in `forward`.
        unsafe { self.forward_from_impl(t, src, dst) }
        true
    }

    #[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
    fn forward_from_impl(&self, t: &Tables, src: &[u64], dst: &mut [u64]) {
        let c = Consts::new(t.q.value());
        let (v, _) = dst.as_chunks_mut::<8>();
        let (s, _) = src.as_chunks::<8>();
        debug_assert!(v.len() * 8 == t.n && s.len() == v.len());
        let (w, ws) = (self.fwd.as_slice(), self.fwd52.as_slice());
        let mut m = 1;
        for (p, &k) in self.plan.iter().enumerate() {
            if p == 0 {
                match k {
                    1 => fwd_pass_from::<2>(&c, v, s, w, ws),
                    2 => fwd_pass_from::<4>(&c, v, s, w, ws),
                    3 => fwd_pass_from::<8>(&c, v, s, w, ws),
                    _ => fwd_pass_from::<16>(&c, v, s, w, ws),
                }
            } else {
                match k {
                    1 => fwd_pass::<2, false>(&c, v, m, w, ws),
                    2 => fwd_pass::<4, false>(&c, v, m, w, ws),
                    3 => fwd_pass::<8, false>(&c, v, m, w, ws),
                    _ => fwd_pass::<16, false>(&c, v, m, w, ws),
                }
            }
            m <<= k;
        }
        debug_assert_eq!(m, t.n / 16);
        match v.len() {
            4 => fwd_tail::<4, false>(&c, v, w, ws),
            8 => fwd_tail::<8, false>(&c, v, w, ws),
            _ => fwd_tail::<16, false>(&c, v, w, ws),
        }
    }

    /// Inverse transform (contract of [`super::NttPlan::inverse`]).
    pub(crate) fn inverse(&self, t: &Tables, a: &mut [u64]) {
        if t.n < 16 {
            return super::scalar::inverse(t, a);
        }
        // SAFETY: as in `forward`.
        unsafe { self.inverse_impl(t, a) }
    }

    #[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
    fn forward_impl(&self, t: &Tables, a: &mut [u64]) {
        let c = Consts::new(t.q.value());
        let (v, _) = a.as_chunks_mut::<8>();
        debug_assert!(v.len() * 8 == t.n && t.n >= 16);
        let (w, ws) = (self.fwd.as_slice(), self.fwd52.as_slice());
        // `m`: number of blocks of the next stage.
        let mut m = 1;
        for &k in &self.plan {
            match (k, m == 1) {
                (1, true) => fwd_pass::<2, true>(&c, v, m, w, ws),
                (1, false) => fwd_pass::<2, false>(&c, v, m, w, ws),
                (2, true) => fwd_pass::<4, true>(&c, v, m, w, ws),
                (2, false) => fwd_pass::<4, false>(&c, v, m, w, ws),
                (3, true) => fwd_pass::<8, true>(&c, v, m, w, ws),
                (3, false) => fwd_pass::<8, false>(&c, v, m, w, ws),
                (4, true) => fwd_pass::<16, true>(&c, v, m, w, ws),
                _ => fwd_pass::<16, false>(&c, v, m, w, ws),
            }
            m <<= k;
        }
        debug_assert_eq!(m, t.n / 16);
        match v.len() {
            2 => fwd_tail::<2, true>(&c, v, w, ws),
            4 => fwd_tail::<4, false>(&c, v, w, ws),
            8 => fwd_tail::<8, false>(&c, v, w, ws),
            _ => fwd_tail::<16, false>(&c, v, w, ws),
        }
    }

    #[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
    fn inverse_impl(&self, t: &Tables, a: &mut [u64]) {
        let c = Consts::new(t.q.value());
        let last = LastConsts::new(self.n_inv, self.last_w);
        let (v, _) = a.as_chunks_mut::<8>();
        debug_assert!(v.len() * 8 == t.n && t.n >= 16);
        let (w, ws) = (self.inv.as_slice(), self.inv52.as_slice());
        match v.len() {
            2 => inv_head::<2, true>(&c, &last, v, w, ws),
            4 => inv_head::<4, false>(&c, &last, v, w, ws),
            8 => inv_head::<8, false>(&c, &last, v, w, ws),
            _ => inv_head::<16, false>(&c, &last, v, w, ws),
        }
        // `m`: number of blocks of the last stage done so far.
        let mut m = t.n / 16;
        for &k in self.inv_plan.iter().rev() {
            m >>= k;
            match (k, m == 1) {
                (1, true) => inv_pass::<2, true>(&c, &last, v, m, w, ws),
                (1, false) => inv_pass::<2, false>(&c, &last, v, m, w, ws),
                (2, true) => inv_pass::<4, true>(&c, &last, v, m, w, ws),
                (2, false) => inv_pass::<4, false>(&c, &last, v, m, w, ws),
                (3, true) => inv_pass::<8, true>(&c, &last, v, m, w, ws),
                (3, false) => inv_pass::<8, false>(&c, &last, v, m, w, ws),
                (4, true) => inv_pass::<16, true>(&c, &last, v, m, w, ws),
                _ => inv_pass::<16, false>(&c, &last, v, m, w, ws),
            }
        }
        debug_assert_eq!(m, 1);
    }
}

/// How the `stages` whole-vector stages (all but the last four) are grouped into passes of
/// radix `2^k`, first pass first (the inverse runs the list backwards).
///
/// Measured on AMD Zen 4 (see `benches/ntt.rs`): radix 8 wherever the `R` streams of a pass lie
/// 4 KiB or more apart (radix 16 there maps its 16 lines to one or two L1 sets, more than the
/// cache's 8 ways), radix 16 in one pass with short strides where that saves a pass.
fn pass_plan(stages: u32) -> Vec<u32> {
    match stages {
        0 => vec![],
        1..=3 => vec![stages],
        4 => vec![2, 2],
        5 => vec![2, 3],
        6 => vec![3, 3],
        7 => vec![4, 3],
        8 => vec![3, 2, 3],
        9 => vec![3, 3, 3],
        10 => vec![3, 4, 3],
        11 => vec![3, 2, 3, 3],
        12 => vec![3, 3, 3, 3],
        _ => {
            // 13 (n = 2^17) and anything larger: radix 8, one radix-16 pass near the end.
            let mut plan = vec![3; (stages / 3) as usize];
            match stages % 3 {
                1 => plan[(stages / 3) as usize - 2] = 4,
                2 => plan.push(2),
                _ => {}
            }
            plan
        }
    }
}

/// The inverse transform's passes (listed in forward order, run backwards). Radix 16 is avoided:
/// its Gentleman–Sande kernel needs more than the 32 vector registers and spills (measured
/// slower than two smaller passes).
fn inv_pass_plan(stages: u32) -> Vec<u32> {
    match stages {
        7 => vec![2, 2, 3],
        8 => vec![2, 3, 3],
        9 => vec![3, 2, 2, 2],
        10 => vec![3, 3, 2, 2],
        11 => vec![3, 3, 2, 3],
        13 => vec![3, 3, 2, 2, 3],
        _ => pass_plan(stages),
    }
}

/// Broadcast constants of one transform.
#[derive(Clone, Copy)]
struct Consts {
    q: __m512i,
    two_q: __m512i,
    /// `2^64 - q`: its low 52 bits are `2^52 - q`.
    neg_q: __m512i,
    mask52: __m512i,
    zero: __m512i,
    /// `vpermt2q` indices restoring natural order after the forward in-vector stages.
    fwd_out_a: __m512i,
    fwd_out_b: __m512i,
    /// `vpermt2q` indices `[x0 x2 x4 x6 y0 y2 y4 y6]` and `[x1 x3 … y7]` (inverse stages).
    unzip_even: __m512i,
    unzip_odd: __m512i,
    /// `vpermq` indices `[0 0 2 2 1 1 3 3]`.
    dup4: __m512i,
}

impl Consts {
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn new(q: u64) -> Self {
        Self {
            q: splat(q),
            two_q: splat(2 * q),
            neg_q: splat(q.wrapping_neg()),
            mask52: splat((1 << 52) - 1),
            zero: _mm512_setzero_si512(),
            fwd_out_a: _mm512_setr_epi64(0, 8, 1, 9, 4, 12, 5, 13),
            fwd_out_b: _mm512_setr_epi64(2, 10, 3, 11, 6, 14, 7, 15),
            dup4: _mm512_setr_epi64(0, 0, 2, 2, 1, 1, 3, 3),
            unzip_even: _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14),
            unzip_odd: _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15),
        }
    }
}

/// Constants of the last inverse stage: `n^-1` and `w·n^-1` (`w = inv[1]`) with companions.
#[derive(Clone, Copy)]
struct LastConsts {
    n_inv: __m512i,
    n_inv52: __m512i,
    w: __m512i,
    w52: __m512i,
}

impl LastConsts {
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn new(n_inv: [u64; 2], w: [u64; 2]) -> Self {
        Self {
            n_inv: splat(n_inv[0]),
            n_inv52: splat(n_inv[1]),
            w: splat(w[0]),
            w52: splat(w[1]),
        }
    }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn splat(x: u64) -> __m512i {
    _mm512_set1_epi64(x.cast_signed())
}

#[inline]
#[target_feature(enable = "avx512f")]
fn load(p: &[u64; 8]) -> __m512i {
    // SAFETY: `p` refers to 64 readable bytes; `loadu` has no alignment requirement.
    unsafe { _mm512_loadu_si512(p.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn store(p: &mut [u64; 8], x: __m512i) {
    // SAFETY: `p` refers to 64 writable bytes, exclusively borrowed; `storeu` has no alignment
    // requirement.
    unsafe { _mm512_storeu_si512(p.as_mut_ptr().cast(), x) }
}

/// `[p0 p1 p0 p1 p0 p1 p0 p1]`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn broadcast2(p: &[u64; 2]) -> __m512i {
    // SAFETY: `p` refers to 16 readable bytes; `loadu` has no alignment requirement.
    let x = unsafe { _mm_loadu_si128(p.as_ptr().cast()) };
    _mm512_broadcast_i64x2(x)
}

/// `[p0 p0 p0 p0 p1 p1 p1 p1]`.
#[inline]
#[target_feature(enable = "avx512f")]
fn halves(p: &[u64; 2]) -> __m512i {
    _mm512_inserti64x4::<1>(splat(p[0]), _mm256_set1_epi64x(p[1].cast_signed()))
}

/// `[p0 p1 p2 p3 ? ? ? ?]` (upper half unspecified).
#[inline]
#[target_feature(enable = "avx512f")]
fn load4(p: &[u64; 4]) -> __m512i {
    // SAFETY: `p` refers to 32 readable bytes; `loadu` has no alignment requirement.
    _mm512_castsi256_si512(unsafe { _mm256_loadu_si256(p.as_ptr().cast()) })
}

/// `[p0 p1 p2 p3 p0 p1 p2 p3]`.
#[inline]
#[target_feature(enable = "avx512f")]
fn broadcast4(p: &[u64; 4]) -> __m512i {
    // SAFETY: `p` refers to 32 readable bytes; `loadu` has no alignment requirement.
    let x = unsafe { _mm256_loadu_si256(p.as_ptr().cast()) };
    _mm512_broadcast_i64x4(x)
}

/// `x - m` if `x >= m`, else `x` (lane-wise; `x < 2^63`).
#[inline]
#[target_feature(enable = "avx512f")]
fn csub(x: __m512i, m: __m512i) -> __m512i {
    _mm512_min_epu64(x, _mm512_sub_epi64(x, m))
}

/// Shoup product: any `y < 2^52`, `w < q`, `ws = floor(w·2^52/q)`; returns `y·w mod q` up to one
/// multiple of `q`, in `[0, 2q)` (module docs).
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn mul_lazy(c: &Consts, y: __m512i, w: __m512i, ws: __m512i) -> __m512i {
    _mm512_and_si512(mul_raw(c, y, w, ws), c.mask52)
}

/// [`mul_lazy`] without the final mask: the result is `y·w mod q` in `[0, 2q)` **plus possibly
/// `2^52`**, so only its low 52 bits are meaningful. Good enough for a value whose next use is
/// as a multiplicand (IFMA reads only the low 52 bits of its operands).
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn mul_raw(c: &Consts, y: __m512i, w: __m512i, ws: __m512i) -> __m512i {
    let qe = _mm512_madd52hi_epu64(c.zero, y, ws);
    let lo = _mm512_madd52lo_epu64(c.zero, y, w);
    _mm512_madd52lo_epu64(lo, qe, c.neg_q)
}

/// Debug check that every lane is below `bound`.
#[inline]
#[target_feature(enable = "avx512f")]
fn debug_below(x: __m512i, bound: __m512i) {
    if cfg!(debug_assertions) {
        debug_assert_eq!(_mm512_cmpge_epu64_mask(x, bound), 0, "lazy range violated");
    }
}

/// Cooley–Tukey butterfly: `x` in `[0, 4q)` (`[0, q)` when `FIRST`), `y` any value whose low 52
/// bits are in `[0, 4q)`; returns `x + y·w` and `x - y·w + 2q`, both in `[0, 4q)`. Without
/// `EXACT` the two outputs may be off by `±2^52` (their low 52 bits are right): allowed when both
/// are next used as multiplicands (`y` of the following stage).
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn fwd_bf<const FIRST: bool, const EXACT: bool>(
    c: &Consts,
    x: __m512i,
    y: __m512i,
    w: __m512i,
    ws: __m512i,
) -> (__m512i, __m512i) {
    debug_below(
        x,
        if FIRST {
            c.q
        } else {
            _mm512_add_epi64(c.two_q, c.two_q)
        },
    );
    // u in [0, 2q); t in [0, 2q).
    let u = if FIRST { x } else { csub(x, c.two_q) };
    let t = if EXACT {
        mul_lazy(c, y, w, ws)
    } else {
        mul_raw(c, y, w, ws)
    };
    (
        _mm512_add_epi64(u, t),
        _mm512_sub_epi64(_mm512_add_epi64(u, c.two_q), t),
    )
}

/// Last Cooley–Tukey butterfly: `x, y` in `[0, 4q)`; returns `x + y·w` and `x - y·w`, canonical.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn fwd_bf_last(c: &Consts, x: __m512i, y: __m512i, w: __m512i, ws: __m512i) -> (__m512i, __m512i) {
    debug_below(x, _mm512_add_epi64(c.two_q, c.two_q));
    // u, t in [0, q).
    let u = csub(csub(x, c.two_q), c.q);
    let t = csub(mul_lazy(c, y, w, ws), c.q);
    let s = csub(_mm512_add_epi64(u, t), c.q);
    // u - t wraps below zero exactly when u < t; then adding q gives the smaller lane.
    let d = _mm512_sub_epi64(u, t);
    let d = _mm512_min_epu64(d, _mm512_add_epi64(d, c.q));
    (s, d)
}

/// Gentleman–Sande butterfly: `x, y` in `[0, 2q)` (`[0, q)` when `FIRST`); returns `x + y` in
/// `[0, 2q)` and `(x - y)·w` in `[0, 2q)`.
///
/// With `RAW_IN`, only the low 52 bits of `x` and `y` are right (both are unmasked products of
/// the previous stage, see [`mul_raw`]): the sum is masked before its reduction, the difference
/// needs no mask since it is only multiplied. Without `EXACT_OUT` the product is returned
/// unmasked (only its low 52 bits are right); the next stage then takes it with `RAW_IN`.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn inv_bf<const FIRST: bool, const RAW_IN: bool, const EXACT_OUT: bool>(
    c: &Consts,
    x: __m512i,
    y: __m512i,
    w: __m512i,
    ws: __m512i,
) -> (__m512i, __m512i) {
    let bound = if FIRST { c.q } else { c.two_q };
    debug_below(_mm512_and_si512(x, c.mask52), bound);
    debug_below(_mm512_and_si512(y, c.mask52), bound);
    let s = _mm512_add_epi64(x, y);
    let s = if RAW_IN {
        _mm512_and_si512(s, c.mask52)
    } else {
        s
    };
    let s = if FIRST { s } else { csub(s, c.two_q) };
    // d in (0, 2 bound) <= 4q < 2^52 (in its low 52 bits when RAW_IN).
    let d = _mm512_sub_epi64(_mm512_add_epi64(x, bound), y);
    let t = if EXACT_OUT {
        mul_lazy(c, d, w, ws)
    } else {
        mul_raw(c, d, w, ws)
    };
    (s, t)
}

/// Last Gentleman–Sande butterfly with `1/n` folded in: `x, y` in `[0, 2q)` (low 52 bits); returns
/// `(x + y)·n^-1` and `(x - y)·w·n^-1`, canonical.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn inv_bf_last(c: &Consts, l: &LastConsts, x: __m512i, y: __m512i) -> (__m512i, __m512i) {
    debug_below(_mm512_and_si512(x, c.mask52), c.two_q);
    debug_below(_mm512_and_si512(y, c.mask52), c.two_q);
    // Both multiplicands are below 4q < 2^52 in their low 52 bits, all IFMA reads (inputs may be
    // unmasked products).
    let s = _mm512_add_epi64(x, y);
    let d = _mm512_sub_epi64(_mm512_add_epi64(x, c.two_q), y);
    (
        csub(mul_lazy(c, s, l.n_inv, l.n_inv52), c.q),
        csub(mul_lazy(c, d, l.w, l.w52), c.q),
    )
}

/// One forward stage on `R` vectors in registers: pairs at distance `HALF`, block `b` (of
/// `R / (2 HALF)`) using `tw[off + b]`. Constant bounds, so the loops unroll and `v` stays in
/// registers.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn fwd_stage<const R: usize, const HALF: usize, const FIRST: bool, const NEXT_Y: bool>(
    c: &Consts,
    v: &mut [__m512i; R],
    tw: &[[u64; 2]; R],
    off: usize,
) {
    for b in 0..R / (2 * HALF) {
        let w = splat(tw[off + b][0]);
        let ws = splat(tw[off + b][1]);
        for k in 0..HALF {
            let x = 2 * HALF * b + k;
            // Both outputs of this butterfly have the same role in the next stage: within the
            // group, the one of bit `HALF/2` of `k`; after the group's last stage, `NEXT_Y`.
            let next_y = if HALF > 1 {
                k & (HALF / 2) != 0
            } else {
                NEXT_Y
            };
            (v[x], v[x + HALF]) = if next_y {
                fwd_bf::<FIRST, false>(c, v[x], v[x + HALF], w, ws)
            } else {
                fwd_bf::<FIRST, true>(c, v[x], v[x + HALF], w, ws)
            };
        }
    }
}

/// `log2 R` forward stages on `R` vectors held in registers. Stage `l` pairs vectors at distance
/// `R / 2^(l+1)`; its block `b` uses `tw[2^l - 1 + b]` (`[w, w']`).
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn fwd_vertical<const R: usize, const FIRST: bool, const NEXT_Y: bool>(
    c: &Consts,
    v: &mut [__m512i; R],
    tw: &[[u64; 2]; R],
) {
    match R {
        2 => fwd_stage::<R, 1, FIRST, NEXT_Y>(c, v, tw, 0),
        4 => {
            fwd_stage::<R, 2, FIRST, NEXT_Y>(c, v, tw, 0);
            fwd_stage::<R, 1, false, NEXT_Y>(c, v, tw, 1);
        }
        8 => {
            fwd_stage::<R, 4, FIRST, NEXT_Y>(c, v, tw, 0);
            fwd_stage::<R, 2, false, NEXT_Y>(c, v, tw, 1);
            fwd_stage::<R, 1, false, NEXT_Y>(c, v, tw, 3);
        }
        _ => {
            debug_assert_eq!(R, 16);
            fwd_stage::<R, 8, FIRST, NEXT_Y>(c, v, tw, 0);
            fwd_stage::<R, 4, false, NEXT_Y>(c, v, tw, 1);
            fwd_stage::<R, 2, false, NEXT_Y>(c, v, tw, 3);
            fwd_stage::<R, 1, false, NEXT_Y>(c, v, tw, 7);
        }
    }
}

/// One inverse stage on `R` vectors: pairs at distance `HALF`, block `b` using `tw[off + b]`;
/// with `LAST` (a single block), the final stage with `1/n` folded in.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn inv_stage<const R: usize, const HALF: usize, const LAST: bool, const RAW_FIRST: bool>(
    c: &Consts,
    l: &LastConsts,
    v: &mut [__m512i; R],
    tw: &[[u64; 2]; R],
    off: usize,
) {
    if LAST {
        debug_assert_eq!(2 * HALF, R);
        for k in 0..HALF {
            (v[k], v[k + HALF]) = inv_bf_last(c, l, v[k], v[k + HALF]);
        }
        return;
    }
    for b in 0..R / (2 * HALF) {
        let w = splat(tw[off + b][0]);
        let ws = splat(tw[off + b][1]);
        for k in 0..HALF {
            let x = 2 * HALF * b + k;
            // Both inputs come from the same side of the previous stage: its (unmasked)
            // products when bit `HALF/2` of `k` is set; for the group's first stage, `RAW_FIRST`.
            let raw = if HALF > 1 {
                k & (HALF / 2) != 0
            } else {
                RAW_FIRST
            };
            (v[x], v[x + HALF]) = if raw {
                inv_bf::<false, true, false>(c, v[x], v[x + HALF], w, ws)
            } else {
                inv_bf::<false, false, false>(c, v[x], v[x + HALF], w, ws)
            };
        }
    }
}

/// `log2 R` inverse stages on `R` vectors in registers: stage `l` pairs vectors at distance
/// `2^l`; its block `b` uses `tw[R - 2^(K-l) + b]` (`K = log2 R`). With `LAST`, the final stage
/// (one block) is the transform's last, with `1/n` folded in.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn inv_vertical<const R: usize, const LAST: bool, const RAW_FIRST: bool>(
    c: &Consts,
    l: &LastConsts,
    v: &mut [__m512i; R],
    tw: &[[u64; 2]; R],
) {
    match R {
        2 => inv_stage::<R, 1, LAST, RAW_FIRST>(c, l, v, tw, 0),
        4 => {
            inv_stage::<R, 1, false, RAW_FIRST>(c, l, v, tw, 0);
            inv_stage::<R, 2, LAST, RAW_FIRST>(c, l, v, tw, 2);
        }
        8 => {
            inv_stage::<R, 1, false, RAW_FIRST>(c, l, v, tw, 0);
            inv_stage::<R, 2, false, RAW_FIRST>(c, l, v, tw, 4);
            inv_stage::<R, 4, LAST, RAW_FIRST>(c, l, v, tw, 6);
        }
        _ => {
            debug_assert_eq!(R, 16);
            inv_stage::<R, 1, false, RAW_FIRST>(c, l, v, tw, 0);
            inv_stage::<R, 2, false, RAW_FIRST>(c, l, v, tw, 8);
            inv_stage::<R, 4, false, RAW_FIRST>(c, l, v, tw, 12);
            inv_stage::<R, 8, LAST, RAW_FIRST>(c, l, v, tw, 14);
        }
    }
}

/// Gathers the twiddles of `log2 R` consecutive stages for super-block `i`. A stage with `per`
/// blocks per super-block sits at level `top·per` (blocks in the whole transform) and its block
/// `b` has index `top·per + per·i + b`. Entries come in execution order: `per = 1, 2, 4, …` for
/// the forward transform, `R/2, R/4, …, 1` for the inverse (`top` is then the level of the last
/// stage).
#[inline]
fn gather<const R: usize>(
    w: &[u64],
    ws: &[u64],
    i: usize,
    top: usize,
    inverse: bool,
) -> [[u64; 2]; R] {
    let k = R.trailing_zeros();
    let mut tw = [[0u64; 2]; R];
    let mut idx = 0;
    for s in 0..k {
        let per = if inverse { R >> (s + 1) } else { 1 << s };
        let level = top * per;
        for b in 0..per {
            let t = level + per * i + b;
            tw[idx] = [w[t], ws[t]];
            idx += 1;
        }
    }
    tw
}

/// The first pass of [`IfmaTables::forward_lazy_from`]: `log2 R` forward stages from level 1,
/// reading `src` (values in `[0, 4q)`, the lazy first stage) and writing `dst`.
#[inline(never)]
#[target_feature(enable = "avx512f,avx512ifma")]
fn fwd_pass_from<const R: usize>(
    c: &Consts,
    dst: &mut [[u64; 8]],
    src: &[[u64; 8]],
    w: &[u64],
    ws: &[u64],
) {
    let stride = dst.len() / R;
    debug_assert!(stride >= 1 && stride * R == dst.len() && src.len() == dst.len());
    let tw = gather::<R>(w, ws, 0, 1, false);
    for j in 0..stride {
        let mut v = [c.zero; R];
        for (r, x) in v.iter_mut().enumerate() {
            *x = load(&src[j + r * stride]);
        }
        if j & (stride / 2) != 0 {
            fwd_vertical::<R, false, true>(c, &mut v, &tw);
        } else {
            fwd_vertical::<R, false, false>(c, &mut v, &tw);
        }
        for (r, x) in v.iter().enumerate() {
            store(&mut dst[j + r * stride], *x);
        }
    }
}

/// One pass of `log2 R` forward stages over the whole array, starting at level `m` (`m`
/// super-blocks of `nv / m` vectors, stride `nv / (m R)` vectors).
#[inline(never)]
#[target_feature(enable = "avx512f,avx512ifma")]
fn fwd_pass<const R: usize, const FIRST: bool>(
    c: &Consts,
    a: &mut [[u64; 8]],
    m: usize,
    w: &[u64],
    ws: &[u64],
) {
    let group = a.len() / m;
    let stride = group / R;
    debug_assert!(stride >= 1 && stride * R * m == a.len());
    for (i, blk) in a.chunks_exact_mut(group).enumerate() {
        let tw = gather::<R>(w, ws, i, m, false);
        for j in 0..stride {
            let mut v = [c.zero; R];
            for (r, x) in v.iter_mut().enumerate() {
                *x = load(&blk[j + r * stride]);
            }
            // The stage after this pass pairs vectors `stride / 2` apart: these outputs are its
            // multiplicands exactly when bit `stride / 2` of `j` is set.
            if j & (stride / 2) != 0 {
                fwd_vertical::<R, FIRST, true>(c, &mut v, &tw);
            } else {
                fwd_vertical::<R, FIRST, false>(c, &mut v, &tw);
            }
            for (r, x) in v.iter().enumerate() {
                store(&mut blk[j + r * stride], *x);
            }
        }
    }
}

/// One pass of `log2 R` inverse stages whose last stage is at level `m`.
#[inline(never)]
#[target_feature(enable = "avx512f,avx512ifma")]
fn inv_pass<const R: usize, const LAST: bool>(
    c: &Consts,
    l: &LastConsts,
    a: &mut [[u64; 8]],
    m: usize,
    w: &[u64],
    ws: &[u64],
) {
    let group = a.len() / m;
    let stride = group / R;
    debug_assert!(stride >= 1 && stride * R * m == a.len());
    for (i, blk) in a.chunks_exact_mut(group).enumerate() {
        let tw = gather::<R>(w, ws, i, m, true);
        for j in 0..stride {
            let mut v = [c.zero; R];
            for (r, x) in v.iter_mut().enumerate() {
                *x = load(&blk[j + r * stride]);
            }
            // The previous stage paired vectors `stride / 2` apart; these inputs are its
            // (unmasked) products exactly when bit `stride / 2` of `j` is set.
            if j & (stride / 2) != 0 {
                inv_vertical::<R, LAST, true>(c, l, &mut v, &tw);
            } else {
                inv_vertical::<R, LAST, false>(c, l, &mut v, &tw);
            }
            for (r, x) in v.iter().enumerate() {
                store(&mut blk[j + r * stride], *x);
            }
        }
    }
}

/// The three in-vector twiddle tables of a transform (blocks of 8, 4 and 2 words), chunked per
/// pair of vectors: pair `p` (words `16p .. 16p + 16`) uses `w8[p]`, `w4[p]` and `w2[p]`.
struct InVectorTables<'a> {
    w8: &'a [[u64; 2]],
    ws8: &'a [[u64; 2]],
    w4: &'a [[u64; 4]],
    ws4: &'a [[u64; 4]],
    w2: &'a [[u64; 8]],
    ws2: &'a [[u64; 8]],
}

impl<'a> InVectorTables<'a> {
    fn new(w: &'a [u64], ws: &'a [u64]) -> Self {
        let n = w.len();
        Self {
            w8: w[n / 8..n / 4].as_chunks::<2>().0,
            ws8: ws[n / 8..n / 4].as_chunks::<2>().0,
            w4: w[n / 4..n / 2].as_chunks::<4>().0,
            ws4: ws[n / 4..n / 2].as_chunks::<4>().0,
            w2: w[n / 2..].as_chunks::<8>().0,
            ws2: ws[n / 2..].as_chunks::<8>().0,
        }
    }
}

/// The three forward stages inside the vectors, on every pair `(v[2p], v[2p+1]) = ([a0..a7],
/// [b0..b7])` (words `16(p0 + p) ..` of the transform), returning canonical values in natural
/// order. Stage-major, so that the pairs' independent chains interleave.
///
/// Layouts (`x` register / `y` register) and twiddles, chosen so that all but the last shuffle
/// are cheap in-lane or 128-bit-granular ones (`vinserti64x4`, `vshufi64x2`, `vpunpck*qdq`):
/// * words 4 apart: `[a0 a1 a2 a3 b0 b1 b2 b3]` / `[a4 … b7]`, twiddles `[wa ×4, wb ×4]` built
///   from two broadcasts;
/// * words 2 apart: `[a0 a1 b0 b1 a4 a5 b4 b5]` / `[a2 a3 b2 b3 a6 a7 b6 b7]`, the four twiddles
///   `t0..t3` of the pair as `[t0 t0 t2 t2 t1 t1 t3 t3]` (one `vpermq`);
/// * neighbours: `[a0 a2 b0 b2 a4 a6 b4 b6]` / `[a1 a3 b1 b3 …]`, the eight twiddles read as one
///   vector from a table stored in that lane order (see [`IfmaTables::new`]);
/// * then one two-source permutation (`vpermt2q`) per register restores natural order.
macro_rules! fwd_in_vectors {
    ($c:expr, $v:expr, $t:expr, $p0:expr, $V:expr) => {{
        let (c, t, p0): (&Consts, &InVectorTables<'_>, usize) = ($c, $t, $p0);
        let mut v = $v;
        for p in 0..$V / 2 {
            let (x, y) = (v[2 * p], v[2 * p + 1]);
            v[2 * p] = _mm512_inserti64x4::<1>(x, _mm512_castsi512_si256(y));
            v[2 * p + 1] = _mm512_shuffle_i64x2::<0xee>(x, y);
        }
        for p in 0..$V / 2 {
            let (w, ws) = (halves(&t.w8[p0 + p]), halves(&t.ws8[p0 + p]));
            (v[2 * p], v[2 * p + 1]) = fwd_bf::<false, true>(c, v[2 * p], v[2 * p + 1], w, ws);
        }
        for p in 0..$V / 2 {
            let (x, y) = (v[2 * p], v[2 * p + 1]);
            v[2 * p] = _mm512_shuffle_i64x2::<0x88>(x, y);
            v[2 * p + 1] = _mm512_shuffle_i64x2::<0xdd>(x, y);
        }
        for p in 0..$V / 2 {
            let w = _mm512_permutexvar_epi64(c.dup4, load4(&t.w4[p0 + p]));
            let ws = _mm512_permutexvar_epi64(c.dup4, load4(&t.ws4[p0 + p]));
            (v[2 * p], v[2 * p + 1]) = fwd_bf::<false, true>(c, v[2 * p], v[2 * p + 1], w, ws);
        }
        for p in 0..$V / 2 {
            let (x, y) = (v[2 * p], v[2 * p + 1]);
            v[2 * p] = _mm512_unpacklo_epi64(x, y);
            v[2 * p + 1] = _mm512_unpackhi_epi64(x, y);
        }
        for p in 0..$V / 2 {
            let (w, ws) = (load(&t.w2[p0 + p]), load(&t.ws2[p0 + p]));
            (v[2 * p], v[2 * p + 1]) = fwd_bf_last(c, v[2 * p], v[2 * p + 1], w, ws);
        }
        for p in 0..$V / 2 {
            let (x, y) = (v[2 * p], v[2 * p + 1]);
            v[2 * p] = _mm512_permutex2var_epi64(x, c.fwd_out_a, y);
            v[2 * p + 1] = _mm512_permutex2var_epi64(x, c.fwd_out_b, y);
        }
        v
    }};
}

/// The three inverse stages inside the vectors (inputs canonical, natural order); outputs in
/// `[0, 2q)`. Layouts and twiddles:
/// * neighbours: `[a0 b0 a2 b2 a4 b4 a6 b6]` / `[a1 b1 a3 b3 …]` (`vpunpck*qdq`), the eight
///   twiddles read as one vector from a table stored in that lane order;
/// * words 2 apart: `[a0 b0 a4 b4 a1 b1 a5 b5]` / `[a2 b2 a6 b6 a3 b3 a7 b7]` (`vshufi64x2`),
///   twiddles `[t0 t2 t1 t3]` repeated, a 256-bit broadcast of a table stored in that order;
/// * words 4 apart: `[a0 b0 a1 b1 a2 b2 a3 b3]` / `[a4 b4 …]` (`vshufi64x2`), twiddles
///   `[wa wb]` repeated, a 128-bit broadcast of the natural table;
/// * then `vpermt2q` restores natural order.
macro_rules! inv_in_vectors {
    ($c:expr, $v:expr, $t:expr, $p0:expr, $V:expr) => {{
        let (c, t, p0): (&Consts, &InVectorTables<'_>, usize) = ($c, $t, $p0);
        let mut v = $v;
        for p in 0..$V / 2 {
            let (x, y) = (v[2 * p], v[2 * p + 1]);
            v[2 * p] = _mm512_unpacklo_epi64(x, y);
            v[2 * p + 1] = _mm512_unpackhi_epi64(x, y);
        }
        for p in 0..$V / 2 {
            let (w, ws) = (load(&t.w2[p0 + p]), load(&t.ws2[p0 + p]));
            (v[2 * p], v[2 * p + 1]) =
                inv_bf::<true, false, true>(c, v[2 * p], v[2 * p + 1], w, ws);
        }
        for p in 0..$V / 2 {
            let (x, y) = (v[2 * p], v[2 * p + 1]);
            v[2 * p] = _mm512_shuffle_i64x2::<0x88>(x, y);
            v[2 * p + 1] = _mm512_shuffle_i64x2::<0xdd>(x, y);
        }
        for p in 0..$V / 2 {
            let (w, ws) = (broadcast4(&t.w4[p0 + p]), broadcast4(&t.ws4[p0 + p]));
            (v[2 * p], v[2 * p + 1]) =
                inv_bf::<false, false, true>(c, v[2 * p], v[2 * p + 1], w, ws);
        }
        for p in 0..$V / 2 {
            let (x, y) = (v[2 * p], v[2 * p + 1]);
            v[2 * p] = _mm512_shuffle_i64x2::<0x88>(x, y);
            v[2 * p + 1] = _mm512_shuffle_i64x2::<0xdd>(x, y);
        }
        for p in 0..$V / 2 {
            let (w, ws) = (broadcast2(&t.w8[p0 + p]), broadcast2(&t.ws8[p0 + p]));
            (v[2 * p], v[2 * p + 1]) =
                inv_bf::<false, false, true>(c, v[2 * p], v[2 * p + 1], w, ws);
        }
        for p in 0..$V / 2 {
            let (x, y) = (v[2 * p], v[2 * p + 1]);
            v[2 * p] = _mm512_permutex2var_epi64(x, c.unzip_even, y);
            v[2 * p + 1] = _mm512_permutex2var_epi64(x, c.unzip_odd, y);
        }
        v
    }};
}

/// The last four forward stages, on `V / 2` independent groups of two vectors (16 words) at a
/// time: the stage pairing the two vectors of a group (blocks of 16 words, twiddle level
/// `n / 16`), then the three in-vector stages. Outputs canonical. Several groups per iteration
/// give the processor independent dependency chains to overlap.
#[inline(never)]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn fwd_tail<const V: usize, const FIRST: bool>(
    c: &Consts,
    a: &mut [[u64; 8]],
    w: &[u64],
    ws: &[u64],
) {
    let n = w.len();
    let inner = InVectorTables::new(w, ws);
    let (w16, ws16) = (&w[n / 16..n / 8], &ws[n / 16..n / 8]);
    for (g, blk) in a.as_chunks_mut::<V>().0.iter_mut().enumerate() {
        let mut v = [c.zero; V];
        for (x, src) in v.iter_mut().zip(blk.iter()) {
            *x = load(src);
        }
        for p in 0..V / 2 {
            let i = g * V / 2 + p;
            let (tw, tws) = (splat(w16[i]), splat(ws16[i]));
            (v[2 * p], v[2 * p + 1]) = fwd_bf::<FIRST, true>(c, v[2 * p], v[2 * p + 1], tw, tws);
        }
        v = fwd_in_vectors!(c, v, &inner, g * V / 2, V);
        for (x, dst) in v.iter().zip(blk.iter_mut()) {
            store(dst, *x);
        }
    }
}

/// The first four inverse stages, on `V / 2` independent groups of two vectors at a time: the
/// three in-vector stages, then the stage pairing the two vectors (the transform's last, with
/// `1/n`, when `LAST`, i.e. `n = 16`).
#[inline(never)]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn inv_head<const V: usize, const LAST: bool>(
    c: &Consts,
    l: &LastConsts,
    a: &mut [[u64; 8]],
    w: &[u64],
    ws: &[u64],
) {
    let n = w.len();
    let inner = InVectorTables::new(w, ws);
    let (w16, ws16) = (&w[n / 16..n / 8], &ws[n / 16..n / 8]);
    for (g, blk) in a.as_chunks_mut::<V>().0.iter_mut().enumerate() {
        let mut v = [c.zero; V];
        for (x, src) in v.iter_mut().zip(blk.iter()) {
            *x = load(src);
        }
        v = inv_in_vectors!(c, v, &inner, g * V / 2, V);
        for p in 0..V / 2 {
            let i = g * V / 2 + p;
            (v[2 * p], v[2 * p + 1]) = if LAST {
                inv_bf_last(c, l, v[2 * p], v[2 * p + 1])
            } else {
                let (tw, tws) = (splat(w16[i]), splat(ws16[i]));
                inv_bf::<false, false, false>(c, v[2 * p], v[2 * p + 1], tw, tws)
            };
        }
        for (x, dst) in v.iter().zip(blk.iter_mut()) {
            store(dst, *x);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::{Backend, NttPlan};
    use crate::math::primes::{largest_ntt_prime, ntt_primes};
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};

    /// The primes the IFMA kernels are checked on: the largest one below `2^50` (the bound of
    /// this backend), and 40-, 30- and 20-bit ones, all `1 mod 2^18`.
    fn primes() -> Vec<u64> {
        let mut ps = vec![largest_ntt_prime(50, 1 << 17).unwrap()];
        // The second largest 50-bit prime too, so that more than one q near 2^50 is covered.
        ps.push(ntt_primes(50, 1 << 17, 2).unwrap()[1]);
        for bits in [40, 30, 20] {
            ps.push(largest_ntt_prime(bits, 1 << 17).unwrap());
        }
        ps
    }

    fn ifma_available() -> bool {
        if super::Ifma::detect().is_none() {
            println!("skipped: this CPU lacks AVX-512F/DQ/IFMA, the IFMA kernels cannot run");
            return false;
        }
        true
    }

    /// Inputs for one length: random, all zeros, all `q - 1`, and one-hot vectors.
    fn inputs(n: usize, q: u64, seed: u64) -> Vec<Vec<u64>> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut out = vec![
            (0..n).map(|_| rng.next_u64() % q).collect(),
            vec![0; n],
            vec![q - 1; n],
        ];
        for pos in [0, 1, n / 2, n - 1] {
            let mut v = vec![0; n];
            v[pos] = 1 + rng.next_u64() % (q - 1);
            out.push(v);
        }
        out
    }

    fn check_length(q: u64, n: usize, seed: u64) {
        let ifma = NttPlan::with_backend(n, q, Backend::Ifma).unwrap();
        let scalar = NttPlan::with_backend(n, q, Backend::Scalar).unwrap();
        for (k, input) in inputs(n, q, seed).into_iter().enumerate() {
            let mut f_ifma = input.clone();
            let mut f_scalar = input.clone();
            ifma.forward(&mut f_ifma).unwrap();
            scalar.forward(&mut f_scalar).unwrap();
            assert!(
                f_ifma == f_scalar,
                "forward differs: q={q} n={n} input #{k}"
            );
            // The inverse on the same canonical input (not only on transforms).
            let mut i_ifma = input.clone();
            let mut i_scalar = input.clone();
            ifma.inverse(&mut i_ifma).unwrap();
            scalar.inverse(&mut i_scalar).unwrap();
            assert!(
                i_ifma == i_scalar,
                "inverse differs: q={q} n={n} input #{k}"
            );
            ifma.inverse(&mut f_ifma).unwrap();
            assert!(f_ifma == input, "roundtrip fails: q={q} n={n} input #{k}");
        }
    }

    #[test]
    fn ifma_matches_scalar_for_every_length() {
        if !ifma_available() {
            return;
        }
        for (i, q) in (0usize..).zip(primes()) {
            for log_n in 1..=16 {
                check_length(q, 1 << log_n, (i << 8 | log_n) as u64);
            }
        }
    }

    #[test]
    fn ifma_matches_scalar_at_the_largest_length() {
        if !ifma_available() {
            return;
        }
        let q = largest_ntt_prime(50, 1 << 17).unwrap();
        check_length(q, 1 << 17, 17);
    }

    #[test]
    fn ifma_is_chosen_below_2_50() {
        if !ifma_available() {
            return;
        }
        let q = largest_ntt_prime(50, 1 << 17).unwrap();
        assert!(Backend::available(&crate::math::Modulus::new(q).unwrap()).contains(&Backend::Ifma));
        let big = largest_ntt_prime(51, 1 << 17).unwrap();
        assert!(NttPlan::with_backend(1 << 10, big, Backend::Ifma).is_err());
    }
}
