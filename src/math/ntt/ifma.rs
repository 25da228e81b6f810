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
//! ## Layout of the work
//! * Stages whose butterfly distance is at least 8 words act on whole vectors ("vertical"
//!   stages). They run in passes of up to four stages (radix 16): sixteen vectors are loaded,
//!   go through the four stages in registers and are stored once. Twiddles are broadcast.
//! * The last stages run on groups of eight vectors (64 words) in registers: three vertical
//!   stages, then the three stages whose butterflies lie inside one vector. For those, each pair
//!   of vectors is rearranged by a perfect shuffle (`vpermt2q`) before each stage, so that the
//!   twiddles of a stage are one 128-bit broadcast, one 256-bit broadcast or one full vector
//!   read straight from the twiddle table in its natural order; the fourth shuffle restores the
//!   natural order before the store. The inverse transform mirrors this with the inverse
//!   shuffle.
//! * The forward transform's last stage returns canonical values; the inverse folds `1/n` into
//!   its last stage (`(x + y)·n^-1` and `(x - y)·(w·n^-1)`).
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
    /// `n^-1` and `inv[1]·n^-1` with their 52-bit companions (last inverse stage).
    n_inv: [u64; 2],
    last_w: [u64; 2],
}

impl IfmaTables {
    /// Builds the tables for `t` (which must have `q < 2^50`).
    pub(crate) fn new(token: Ifma, t: &Tables) -> Self {
        let q = t.q.value();
        debug_assert!(q < 1 << 50);
        let fwd52: Vec<u64> = t.fwd.iter().map(|&w| shoup52(w, q)).collect();
        let inv52: Vec<u64> = t.inv.iter().map(|&w| shoup52(w, q)).collect();
        let w1 = if t.n >= 2 { t.inv[1] } else { 1 };
        let lw = t.q.mul(w1, t.n_inv);
        Self {
            _token: token,
            fwd: Aligned::new(&t.fwd),
            fwd52: Aligned::new(&fwd52),
            inv: Aligned::new(&t.inv),
            inv52: Aligned::new(&inv52),
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
        let n = t.n;
        let (v, _) = a.as_chunks_mut::<8>();
        let nv = v.len();
        debug_assert_eq!(nv * 8, n);
        let w = self.fwd.as_slice();
        let ws = self.fwd52.as_slice();
        let vec_tail = nv.min(8);
        let tail_stages = 3 + vec_tail.trailing_zeros();
        let mut m = 1;
        let mut first = true;
        for k in split_passes(t.n.trailing_zeros() - tail_stages) {
            match (k, first) {
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
            first = false;
        }
        match (vec_tail, first) {
            (2, _) => fwd_tail::<2, true>(&c, v, w, ws),
            (4, _) => fwd_tail::<4, true>(&c, v, w, ws),
            (_, true) => fwd_tail::<8, true>(&c, v, w, ws),
            _ => fwd_tail::<8, false>(&c, v, w, ws),
        }
    }

    #[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
    fn inverse_impl(&self, t: &Tables, a: &mut [u64]) {
        let c = Consts::new(t.q.value());
        let last = LastConsts::new(self.n_inv, self.last_w);
        let n = t.n;
        let (v, _) = a.as_chunks_mut::<8>();
        let nv = v.len();
        debug_assert_eq!(nv * 8, n);
        let w = self.inv.as_slice();
        let ws = self.inv52.as_slice();
        let vec_head = nv.min(8);
        let head_stages = 3 + vec_head.trailing_zeros();
        let passes = split_passes(t.n.trailing_zeros() - head_stages);
        let only_head = passes.is_empty();
        match (vec_head, only_head) {
            (2, _) => inv_head::<2, true>(&c, &last, v, w, ws),
            (4, _) => inv_head::<4, true>(&c, &last, v, w, ws),
            (_, true) => inv_head::<8, true>(&c, &last, v, w, ws),
            _ => inv_head::<8, false>(&c, &last, v, w, ws),
        }
        // Level (number of blocks) of the last stage done so far.
        let mut m = nv / vec_head;
        let count = passes.len();
        for (idx, k) in passes.into_iter().rev().enumerate() {
            m >>= k;
            let is_last = idx + 1 == count;
            match (k, is_last) {
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

/// Splits `stages` vertical stages into passes of at most four, largest first.
fn split_passes(stages: u32) -> Vec<u32> {
    let count = stages.div_ceil(4);
    (0..count)
        .map(|i| stages / count + u32::from(i < stages % count))
        .collect()
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
    /// `vpermt2q` indices of the perfect shuffle: `[x0 y0 x1 y1 x2 y2 x3 y3]` and
    /// `[x4 y4 … x7 y7]`.
    zip_lo: __m512i,
    zip_hi: __m512i,
    /// Its inverse: `[x0 x2 x4 x6 y0 y2 y4 y6]` and `[x1 x3 … y7]`.
    unzip_even: __m512i,
    unzip_odd: __m512i,
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
            zip_lo: _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11),
            zip_hi: _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15),
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
    let qe = _mm512_madd52hi_epu64(c.zero, y, ws);
    let lo = _mm512_madd52lo_epu64(c.zero, y, w);
    _mm512_and_si512(_mm512_madd52lo_epu64(lo, qe, c.neg_q), c.mask52)
}

/// Debug check that every lane is below `bound`.
#[inline]
#[target_feature(enable = "avx512f")]
fn debug_below(x: __m512i, bound: __m512i) {
    if cfg!(debug_assertions) {
        debug_assert_eq!(_mm512_cmpge_epu64_mask(x, bound), 0, "lazy range violated");
    }
}

/// Cooley–Tukey butterfly: `x, y` in `[0, 4q)` (`[0, q)` when `FIRST`); returns `x + y·w` and
/// `x - y·w + 2q`, both in `[0, 4q)`.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn fwd_bf<const FIRST: bool>(
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
    let t = mul_lazy(c, y, w, ws);
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

/// Gentleman–Sande butterfly: `x, y` in `[0, 2q)` (`[0, q)` when `FIRST`); returns `x + y` and
/// `(x - y)·w`, both in `[0, 2q)`.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn inv_bf<const FIRST: bool>(
    c: &Consts,
    x: __m512i,
    y: __m512i,
    w: __m512i,
    ws: __m512i,
) -> (__m512i, __m512i) {
    let bound = if FIRST { c.q } else { c.two_q };
    debug_below(x, bound);
    debug_below(y, bound);
    let s = _mm512_add_epi64(x, y);
    let s = if FIRST { s } else { csub(s, c.two_q) };
    // d in (0, 2 bound) <= 4q < 2^52.
    let d = _mm512_sub_epi64(_mm512_add_epi64(x, bound), y);
    (s, mul_lazy(c, d, w, ws))
}

/// Last Gentleman–Sande butterfly with `1/n` folded in: `x, y` in `[0, 2q)`; returns
/// `(x + y)·n^-1` and `(x - y)·w·n^-1`, canonical.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn inv_bf_last(c: &Consts, l: &LastConsts, x: __m512i, y: __m512i) -> (__m512i, __m512i) {
    debug_below(x, c.two_q);
    debug_below(y, c.two_q);
    // Both multiplicands are below 4q < 2^52.
    let s = _mm512_add_epi64(x, y);
    let d = _mm512_sub_epi64(_mm512_add_epi64(x, c.two_q), y);
    (
        csub(mul_lazy(c, s, l.n_inv, l.n_inv52), c.q),
        csub(mul_lazy(c, d, l.w, l.w52), c.q),
    )
}

/// `K = log2 R` forward stages on `R` vectors held in registers. Stage `l` pairs vectors at
/// distance `R / 2^(l+1)`; its block `b` uses `tw[2^l - 1 + b]` (`[w, w']`).
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn fwd_vertical<const R: usize, const FIRST: bool>(
    c: &Consts,
    v: &mut [__m512i; R],
    tw: &[[u64; 2]; R],
) {
    let mut half = R / 2;
    let mut idx = 0;
    let mut stage = 0;
    while half >= 1 {
        let blocks = R / (2 * half);
        for b in 0..blocks {
            let w = splat(tw[idx + b][0]);
            let ws = splat(tw[idx + b][1]);
            for k in 0..half {
                let x = 2 * half * b + k;
                let y = x + half;
                (v[x], v[y]) = if FIRST && stage == 0 {
                    fwd_bf::<true>(c, v[x], v[y], w, ws)
                } else {
                    fwd_bf::<false>(c, v[x], v[y], w, ws)
                };
            }
        }
        idx += blocks;
        half /= 2;
        stage += 1;
    }
}

/// `K = log2 R` inverse stages on `R` vectors in registers: stage `l` pairs vectors at distance
/// `2^l`; its block `b` uses `tw[R - 2^(K-l) + b]`. With `LAST`, the final stage is the one with
/// a single block and `1/n` folded in (`tw` unused for it).
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn inv_vertical<const R: usize, const LAST: bool>(
    c: &Consts,
    l: &LastConsts,
    v: &mut [__m512i; R],
    tw: &[[u64; 2]; R],
) {
    let mut half = 1;
    let mut idx = 0;
    while half < R {
        let blocks = R / (2 * half);
        if LAST && blocks == 1 {
            for k in 0..half {
                (v[k], v[k + half]) = inv_bf_last(c, l, v[k], v[k + half]);
            }
        } else {
            for b in 0..blocks {
                let w = splat(tw[idx + b][0]);
                let ws = splat(tw[idx + b][1]);
                for k in 0..half {
                    let x = 2 * half * b + k;
                    let y = x + half;
                    (v[x], v[y]) = inv_bf::<false>(c, v[x], v[y], w, ws);
                }
            }
        }
        idx += blocks;
        half *= 2;
    }
}

/// Gathers the twiddles of `log2 R` consecutive stages for super-block `i`: the stage with
/// `2^l` blocks per super-block is at level `m_l` (blocks in the whole transform), block `b` at
/// index `m_l + 2^l·i + b`. `levels[l]` is `m_l`; entries are in `fwd_vertical` order for the
/// forward transform (`descending = false`) and `inv_vertical` order for the inverse.
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
        // Stage s (in execution order) has `per` blocks per super-block.
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

/// One pass of `log2 R` forward stages over the whole array, starting at level `m` (`m`
/// super-blocks of `nv / m` vectors, stride `nv / (m R)` vectors).
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
            fwd_vertical::<R, FIRST>(c, &mut v, &tw);
            for (r, x) in v.iter().enumerate() {
                store(&mut blk[j + r * stride], *x);
            }
        }
    }
}

/// One pass of `log2 R` inverse stages whose last stage is at level `m`.
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
            inv_vertical::<R, LAST>(c, l, &mut v, &tw);
            for (r, x) in v.iter().enumerate() {
                store(&mut blk[j + r * stride], *x);
            }
        }
    }
}

/// Twiddles of the three in-vector stages for one pair of vectors (16 words): the stage with
/// blocks of 8, 4 and 2 words.
struct InVector<'a> {
    w8: &'a [u64; 2],
    ws8: &'a [u64; 2],
    w4: &'a [u64; 4],
    ws4: &'a [u64; 4],
    w2: &'a [u64; 8],
    ws2: &'a [u64; 8],
}

/// The three in-vector twiddle tables of a transform, chunked per pair of vectors.
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

    #[inline]
    fn pair(&self, p: usize) -> InVector<'a> {
        InVector {
            w8: &self.w8[p],
            ws8: &self.ws8[p],
            w4: &self.w4[p],
            ws4: &self.ws4[p],
            w2: &self.w2[p],
            ws2: &self.ws2[p],
        }
    }
}

/// The three forward stages inside the vectors `a = [a0..a7]`, `b = [b0..b7]` (words `16p ..
/// 16p + 16` of the transform), returning canonical values in natural order.
///
/// Before each stage the pair is perfect-shuffled (`zip`): first to `[a0 b0 a1 b1 a2 b2 a3 b3]`
/// / `[a4 b4 …]`, pairing words 4 apart with twiddles `[wa wb]` repeated; then to
/// `[a0 a4 b0 b4 a1 a5 b1 b5]` / `[a2 a6 b2 b6 a3 a7 b3 b7]`, pairing words 2 apart with the
/// four twiddles of the pair's 4-word blocks repeated; then to `[a0 a2 a4 a6 b0 b2 b4 b6]` /
/// `[a1 a3 …]`, pairing neighbours with the eight twiddles in table order. A fourth shuffle
/// restores `[a0..a7]`, `[b0..b7]`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn fwd_in_vector(c: &Consts, a: __m512i, b: __m512i, tw: &InVector<'_>) -> (__m512i, __m512i) {
    let zip = |x, y| {
        (
            _mm512_permutex2var_epi64(x, c.zip_lo, y),
            _mm512_permutex2var_epi64(x, c.zip_hi, y),
        )
    };
    let (x, y) = zip(a, b);
    let (x, y) = fwd_bf::<false>(c, x, y, broadcast2(tw.w8), broadcast2(tw.ws8));
    let (x, y) = zip(x, y);
    let (x, y) = fwd_bf::<false>(c, x, y, broadcast4(tw.w4), broadcast4(tw.ws4));
    let (x, y) = zip(x, y);
    let (x, y) = fwd_bf_last(c, x, y, load(tw.w2), load(tw.ws2));
    zip(x, y)
}

/// The three inverse stages inside a pair of vectors (inputs canonical, natural order), the
/// mirror image of [`fwd_in_vector`] with the inverse shuffle; outputs in `[0, 2q)`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn inv_in_vector(c: &Consts, a: __m512i, b: __m512i, tw: &InVector<'_>) -> (__m512i, __m512i) {
    let unzip = |x, y| {
        (
            _mm512_permutex2var_epi64(x, c.unzip_even, y),
            _mm512_permutex2var_epi64(x, c.unzip_odd, y),
        )
    };
    let (x, y) = unzip(a, b);
    let (x, y) = inv_bf::<true>(c, x, y, load(tw.w2), load(tw.ws2));
    let (x, y) = unzip(x, y);
    let (x, y) = inv_bf::<false>(c, x, y, broadcast4(tw.w4), broadcast4(tw.ws4));
    let (x, y) = unzip(x, y);
    let (x, y) = inv_bf::<false>(c, x, y, broadcast2(tw.w8), broadcast2(tw.ws8));
    unzip(x, y)
}

/// The last `log2 V + 3` forward stages, on groups of `V` vectors: `log2 V` vertical stages,
/// then the three in-vector stages on each pair. Outputs canonical.
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn fwd_tail<const V: usize, const FIRST: bool>(
    c: &Consts,
    a: &mut [[u64; 8]],
    w: &[u64],
    ws: &[u64],
) {
    let groups = a.len() / V;
    let inner = InVectorTables::new(w, ws);
    for (g, blk) in a.as_chunks_mut::<V>().0.iter_mut().enumerate() {
        let tw = gather::<V>(w, ws, g, groups, false);
        let mut v = [c.zero; V];
        for (x, src) in v.iter_mut().zip(blk.iter()) {
            *x = load(src);
        }
        fwd_vertical::<V, FIRST>(c, &mut v, &tw);
        for p in 0..V / 2 {
            let tw = inner.pair(g * V / 2 + p);
            (v[2 * p], v[2 * p + 1]) = fwd_in_vector(c, v[2 * p], v[2 * p + 1], &tw);
        }
        for (x, dst) in v.iter().zip(blk.iter_mut()) {
            store(dst, *x);
        }
    }
}

/// The first `log2 V + 3` inverse stages, on groups of `V` vectors: the three in-vector stages
/// on each pair, then `log2 V` vertical stages (the last one with `1/n` when `LAST`).
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn inv_head<const V: usize, const LAST: bool>(
    c: &Consts,
    l: &LastConsts,
    a: &mut [[u64; 8]],
    w: &[u64],
    ws: &[u64],
) {
    let groups = a.len() / V;
    let inner = InVectorTables::new(w, ws);
    for (g, blk) in a.as_chunks_mut::<V>().0.iter_mut().enumerate() {
        let tw = gather::<V>(w, ws, g, groups, true);
        let mut v = [c.zero; V];
        for (x, src) in v.iter_mut().zip(blk.iter()) {
            *x = load(src);
        }
        for p in 0..V / 2 {
            let tw = inner.pair(g * V / 2 + p);
            (v[2 * p], v[2 * p + 1]) = inv_in_vector(c, v[2 * p], v[2 * p + 1], &tw);
        }
        inv_vertical::<V, LAST>(c, l, &mut v, &tw);
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
