//! AVX-512 IFMA52 kernels for the ring's element-wise work modulo one prime `q < 2^50`:
//! pointwise products, multiply-accumulate and the RNS dot products of base conversion and
//! key switching. A SIMD kernel file (with `avx2.rs`, `avx512.rs` and `ifma.rs`, one of the
//! only files allowed `unsafe`).
//!
//! ## Lazy two-word accumulation
//! For `x, w < 2^50` the product `x·w < 2^100` is split by `vpmadd52luq`/`vpmadd52huq` into
//! `lo52(x·w) < 2^52` and `hi52(x·w) < 2^48`, each added to its own 64-bit accumulator with no
//! reduction (as in Intel HEXL's dot products; Boemer et al., WAHC 2021). An accumulator pair
//! `(lo, hi)` stands for `lo + 2^52·hi`. Starting from `lo < 2^50`, `hi = 0`, up to
//! [`LAZY_TERMS`] `= 16` products keep `lo < 2^50 + 16·2^52 < 2^57` and
//! `hi <= 16·(2^48 - 1)`; longer sums are reduced every 16 terms (the reduced value restarts
//! `lo`).
//!
//! ## Reduction of `lo + 2^52·hi`
//! Carry `lo >> 52` into `hi` (now `hi < 2^52`) and keep `l = lo mod 2^52`. Then
//! `lo + 2^52·hi ≡ l·1 + h·R (mod q)` with `R = 2^52 mod q`, and both terms are 52-bit Shoup
//! products (`w' = floor(w·2^52/q)`, `qe = hi52(y·w')`, `r = lo52(y·w) + lo52(qe·(2^52 - q))
//! mod 2^52`; proof of `r in [0, 2q)` in `ifma.rs`): their sum is below `4q` and two
//! conditional subtractions make it canonical. Every kernel therefore returns the exact
//! canonical residue, the same value as the scalar `u128` code it replaces, so results are
//! bit-identical whichever path runs (tests in this file and `tests/backends.rs`).
//!
//! Inputs must be below `2^50` (canonical residues modulo primes below `2^50`); debug builds
//! check the scalar tails, the vector loops rely on the callers' invariants.

#![allow(unsafe_code)]

use super::ifma::Ifma;
use core::arch::x86_64::*;

/// Products that one accumulator pair takes before it must be reduced (module docs).
const LAZY_TERMS: usize = 16;

const MASK52: u64 = (1 << 52) - 1;

/// `x mod q` (scalar tails).
#[allow(clippy::cast_possible_truncation)] // The remainder is below q < 2^64.
fn rem(x: u128, q: u64) -> u64 {
    (x % u128::from(q)) as u64
}

/// `floor(w · 2^52 / q)` for `w < q < 2^50` (or `w = 1`).
fn shoup52(w: u64, q: u64) -> u64 {
    let ws = (u128::from(w) << 52) / u128::from(q);
    u64::try_from(ws).unwrap_or(u64::MAX)
}

/// IFMA element-wise kernels for one prime `q < 2^50`, with the constants of the reduction of
/// `lo + 2^52·hi` (module docs). Built only from an [`Ifma`] token.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lanes {
    _token: Ifma,
    q: u64,
    /// `2^52 mod q` and its 52-bit Shoup companion.
    r52: u64,
    r52_shoup: u64,
    /// `floor(2^52 / q)`: the companion of `1`.
    one_shoup: u64,
}

/// Broadcast constants of one kernel call.
#[derive(Clone, Copy)]
struct Consts {
    q: __m512i,
    two_q: __m512i,
    neg_q: __m512i,
    mask: __m512i,
    r52: __m512i,
    r52_shoup: __m512i,
    one_shoup: __m512i,
    zero: __m512i,
}

#[inline]
#[target_feature(enable = "avx512f")]
fn splat(x: u64) -> __m512i {
    _mm512_set1_epi64(x.cast_signed())
}

/// Eight words from the start of `p` (which must hold at least eight).
#[inline]
#[target_feature(enable = "avx512f")]
fn load(p: &[u64]) -> __m512i {
    let p = &p[..8];
    // SAFETY: `p` has exactly 8 readable words (the slice above is bounds-checked); `loadu`
    // has no alignment requirement.
    unsafe { _mm512_loadu_si512(p.as_ptr().cast()) }
}

/// Stores eight words at the start of `p` (which must hold at least eight).
#[inline]
#[target_feature(enable = "avx512f")]
fn store(p: &mut [u64], x: __m512i) {
    let p = &mut p[..8];
    // SAFETY: `p` has exactly 8 writable words, exclusively borrowed; `storeu` has no
    // alignment requirement.
    unsafe { _mm512_storeu_si512(p.as_mut_ptr().cast(), x) }
}

/// `x - m` if `x >= m`, else `x` (lane-wise, `x < 2^63`).
#[inline]
#[target_feature(enable = "avx512f")]
fn csub(x: __m512i, m: __m512i) -> __m512i {
    _mm512_min_epu64(x, _mm512_sub_epi64(x, m))
}

/// `(lo, hi) += x·w` split at bit 52.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn mac(lo: &mut __m512i, hi: &mut __m512i, x: __m512i, w: __m512i) {
    *lo = _mm512_madd52lo_epu64(*lo, x, w);
    *hi = _mm512_madd52hi_epu64(*hi, x, w);
}

/// The broadcast constants of ModDown's divide-and-round by one prime `p` ([`Lanes::rescale`]).
#[derive(Clone, Copy)]
struct RescaleConsts {
    p: __m512i,
    h: __m512i,
    w: __m512i,
    w_shoup: __m512i,
    c: __m512i,
}

impl RescaleConsts {
    /// From `[p, w, w_shoup, c]` as [`Lanes::rescale`] takes them.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn new(k: [u64; 4]) -> Self {
        let [p, w, w_shoup, c] = k;
        Self {
            p: splat(p),
            h: splat(p / 2),
            w: splat(w),
            w_shoup: splat(w_shoup),
            c: splat(c),
        }
    }

    /// `round(x / p) mod q`, canonical, for eight coefficients given by `x mod q` and `x mod p`:
    /// `d = [x_p + h]_p`, `a = x_q + p - d`, `[[a·w]_q + c]_q`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn apply(&self, c: &Consts, x_q: __m512i, x_p: __m512i) -> __m512i {
        let d = csub(_mm512_add_epi64(x_p, self.h), self.p);
        let a = _mm512_sub_epi64(_mm512_add_epi64(x_q, self.p), d);
        // a·w mod q in [0, 2q) (52-bit Shoup product, `ifma.rs`), then canonical.
        let qe = _mm512_madd52hi_epu64(c.zero, a, self.w_shoup);
        let r = _mm512_madd52lo_epu64(c.zero, a, self.w);
        let r = _mm512_and_si512(_mm512_madd52lo_epu64(r, qe, c.neg_q), c.mask);
        csub(_mm512_add_epi64(csub(r, c.q), self.c), c.q)
    }
}

impl Consts {
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn new(l: &Lanes) -> Self {
        Self {
            q: splat(l.q),
            two_q: splat(2 * l.q),
            neg_q: splat((1 << 52) - l.q),
            mask: splat(MASK52),
            r52: splat(l.r52),
            r52_shoup: splat(l.r52_shoup),
            one_shoup: splat(l.one_shoup),
            zero: _mm512_setzero_si512(),
        }
    }

    /// `y·w mod q`, canonical, for `y < 2^52` and `w_shoup` the 52-bit companion of `w < q`
    /// (the Shoup product of [`Lanes::mul_const`]).
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn mul_const(&self, y: __m512i, w: __m512i, w_shoup: __m512i) -> __m512i {
        let qe = _mm512_madd52hi_epu64(self.zero, y, w_shoup);
        let r = _mm512_madd52lo_epu64(self.zero, y, w);
        let r = _mm512_and_si512(_mm512_madd52lo_epu64(r, qe, self.neg_q), self.mask);
        csub(r, self.q)
    }

    /// `(lo + 2^52·hi) mod q`, canonical, for `lo < 2^63` with `hi + (lo >> 52) < 2^52`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn reduce(&self, lo: __m512i, hi: __m512i) -> __m512i {
        let h = _mm512_add_epi64(hi, _mm512_srli_epi64::<52>(lo));
        let l = _mm512_and_si512(lo, self.mask);
        // h·R mod q in [0, 2q).
        let qe = _mm512_madd52hi_epu64(self.zero, h, self.r52_shoup);
        let r1 = _mm512_madd52lo_epu64(self.zero, h, self.r52);
        let r1 = _mm512_and_si512(_mm512_madd52lo_epu64(r1, qe, self.neg_q), self.mask);
        // l mod q in [0, 2q).
        let qe = _mm512_madd52hi_epu64(self.zero, l, self.one_shoup);
        let r2 = _mm512_and_si512(_mm512_madd52lo_epu64(l, qe, self.neg_q), self.mask);
        csub(csub(_mm512_add_epi64(r1, r2), self.two_q), self.q)
    }
}

impl Lanes {
    /// The kernels for `q` (which must be below `2^50`), on a CPU proven by `token`.
    pub(crate) fn new(token: Ifma, q: u64) -> Self {
        debug_assert!((2..1 << 50).contains(&q));
        let r52 = rem(1 << 52, q);
        Self {
            _token: token,
            q,
            r52,
            r52_shoup: shoup52(r52, q),
            one_shoup: shoup52(1, q),
        }
    }

    /// `a[i] = a[i]·b[i] mod q` for canonical `a[i], b[i] < q`.
    pub(crate) fn mul_assign(&self, a: &mut [u64], b: &[u64]) {
        debug_assert_eq!(a.len(), b.len());
        // SAFETY: the token in `self` comes from `Ifma::detect`, so the CPU has the features.
        unsafe { self.mul_assign_impl(a, b) }
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn mul_assign_impl(&self, a: &mut [u64], b: &[u64]) {
        let c = Consts::new(self);
        let full = a.len().min(b.len()) / 8 * 8;
        let (av, at) = a.split_at_mut(full);
        let (bv, bt) = b.split_at(full);
        for (x, y) in av.chunks_exact_mut(8).zip(bv.chunks_exact(8)) {
            let (xv, yv) = (load(x), load(y));
            let lo = _mm512_madd52lo_epu64(c.zero, xv, yv);
            let hi = _mm512_madd52hi_epu64(c.zero, xv, yv);
            store(x, c.reduce(lo, hi));
        }
        for (x, &y) in at.iter_mut().zip(bt) {
            debug_assert!(*x < self.q && y < self.q);
            *x = rem(u128::from(*x) * u128::from(y), self.q);
        }
    }

    /// The 52-bit Shoup companion `floor(w·2^52/q)` of a constant `w < q` (for
    /// [`mul_const`](Self::mul_const)).
    pub(crate) fn companion(&self, w: u64) -> u64 {
        debug_assert!(w < self.q);
        shoup52(w, self.q)
    }

    /// `out[i] = x[i]·w mod q`, canonical, for any `x[i] < 2^52`, `w < q` and
    /// `w_shoup = self.companion(w)` (a 52-bit Shoup product, `ifma.rs`, then one conditional
    /// subtraction). `out` and `x` have the same length.
    pub(crate) fn mul_const(&self, out: &mut [u64], x: &[u64], w: u64, w_shoup: u64) {
        debug_assert_eq!(out.len(), x.len());
        // SAFETY: as in `mul_assign`.
        unsafe { self.mul_const_impl(out, Some(x), w, w_shoup) }
    }

    /// In-place [`mul_const`](Self::mul_const): `a[i] = a[i]·w mod q`.
    pub(crate) fn mul_const_assign(&self, a: &mut [u64], w: u64, w_shoup: u64) {
        // SAFETY: as in `mul_assign`.
        unsafe { self.mul_const_impl(a, None, w, w_shoup) }
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn mul_const_impl(&self, out: &mut [u64], x: Option<&[u64]>, w: u64, w_shoup: u64) {
        let c = Consts::new(self);
        let (wv, wsv) = (splat(w), splat(w_shoup));
        let len = x.map_or(out.len(), |x| x.len().min(out.len()));
        let full = len / 8 * 8;
        // Two loops rather than one choosing its source per vector: a closure there was not
        // inlined into this `target_feature` function (a call and a `vzeroupper` per vector).
        match x {
            Some(x) => {
                for (o, y) in out[..full]
                    .chunks_exact_mut(8)
                    .zip(x[..full].chunks_exact(8))
                {
                    store(o, c.mul_const(load(y), wv, wsv));
                }
            }
            None => {
                for o in out[..full].chunks_exact_mut(8) {
                    let y = load(o);
                    store(o, c.mul_const(y, wv, wsv));
                }
            }
        }
        for i in full..len {
            let y = x.map_or(out[i], |x| x[i]);
            debug_assert!(y < 1 << 52);
            out[i] = rem(u128::from(y) * u128::from(w), self.q);
        }
    }

    /// The tensor of two degree-1 ciphertexts in one pass, in place: `a0 <- a0·b0`,
    /// `b0 <- a0·b1 + a1·b0`, `a1 <- a1·b1` (canonical inputs and outputs, equal lengths).
    pub(crate) fn tensor_assign(&self, a0: &mut [u64], a1: &mut [u64], b0: &mut [u64], b1: &[u64]) {
        // SAFETY: as in `mul_assign`.
        unsafe { self.tensor_impl(a0, a1, b0, b1) }
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn tensor_impl(&self, a0: &mut [u64], a1: &mut [u64], b0: &mut [u64], b1: &[u64]) {
        let c = Consts::new(self);
        let len = a0.len().min(a1.len()).min(b0.len()).min(b1.len());
        let full = len / 8 * 8;
        for i in (0..full).step_by(8) {
            let (x0, x1, y0, y1) = (
                load(&a0[i..]),
                load(&a1[i..]),
                load(&b0[i..]),
                load(&b1[i..]),
            );
            let (mut l0, mut h0) = (c.zero, c.zero);
            mac(&mut l0, &mut h0, x0, y0);
            let (mut l1, mut h1) = (c.zero, c.zero);
            mac(&mut l1, &mut h1, x0, y1);
            mac(&mut l1, &mut h1, x1, y0);
            let (mut l2, mut h2) = (c.zero, c.zero);
            mac(&mut l2, &mut h2, x1, y1);
            store(&mut a0[i..], c.reduce(l0, h0));
            store(&mut b0[i..], c.reduce(l1, h1));
            store(&mut a1[i..], c.reduce(l2, h2));
        }
        for i in full..len {
            let (x0, x1, y0, y1) = (
                u128::from(a0[i]),
                u128::from(a1[i]),
                u128::from(b0[i]),
                u128::from(b1[i]),
            );
            a0[i] = rem(x0 * y0, self.q);
            b0[i] = rem(x0 * y1 + x1 * y0, self.q);
            a1[i] = rem(x1 * y1, self.q);
        }
    }

    /// `acc[i] = (acc[i] + a[i]·b[i]) mod q` for canonical inputs.
    pub(crate) fn mul_add_assign(&self, acc: &mut [u64], a: &[u64], b: &[u64]) {
        debug_assert!(acc.len() == a.len() && a.len() == b.len());
        // SAFETY: as in `mul_assign`.
        unsafe { self.mul_add_assign_impl(acc, a, b) }
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn mul_add_assign_impl(&self, acc: &mut [u64], a: &[u64], b: &[u64]) {
        let c = Consts::new(self);
        let full = acc.len().min(a.len()).min(b.len()) / 8 * 8;
        let (zv, zt) = acc.split_at_mut(full);
        for ((z, x), y) in zv
            .chunks_exact_mut(8)
            .zip(a[..full].chunks_exact(8))
            .zip(b[..full].chunks_exact(8))
        {
            let mut lo = load(z);
            let mut hi = c.zero;
            mac(&mut lo, &mut hi, load(x), load(y));
            store(z, c.reduce(lo, hi));
        }
        for ((z, &x), &y) in zt.iter_mut().zip(&a[full..]).zip(&b[full..]) {
            debug_assert!(*z < self.q && x < self.q && y < self.q);
            let s = u128::from(*z) + u128::from(x) * u128::from(y);
            *z = rem(s, self.q);
        }
    }

    /// `out[c] = [cst + Σ_t rows[t·stride + c]·w[t]]_q` for `c < out.len()`: the dot products
    /// of base conversion. `cst < q`, `w[t] < q`, row entries below `2^50`.
    pub(crate) fn dot(&self, out: &mut [u64], rows: &[u64], stride: usize, w: &[u64], cst: u64) {
        debug_assert!(cst < self.q && w.iter().all(|&x| x < self.q));
        debug_assert!(w.is_empty() || rows.len() >= (w.len() - 1) * stride + out.len());
        // SAFETY: as in `mul_assign`.
        unsafe { self.dot_impl(out, rows, stride, w, cst) }
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn dot_impl(&self, out: &mut [u64], rows: &[u64], stride: usize, w: &[u64], cst: u64) {
        let c = Consts::new(self);
        let len = out.len();
        let cst_v = splat(cst);
        let mut c0 = 0;
        // Four vectors at a time: eight independent accumulator chains hide the IFMA latency.
        while c0 + 32 <= len {
            let mut lo = [cst_v; 4];
            let mut hi = [c.zero; 4];
            for (chunk_idx, chunk) in w.chunks(LAZY_TERMS).enumerate() {
                if chunk_idx > 0 {
                    for v in 0..4 {
                        lo[v] = c.reduce(lo[v], hi[v]);
                        hi[v] = c.zero;
                    }
                }
                for (i, &wt) in chunk.iter().enumerate() {
                    let t = chunk_idx * LAZY_TERMS + i;
                    let wv = splat(wt);
                    let row = &rows[t * stride + c0..];
                    for v in 0..4 {
                        mac(&mut lo[v], &mut hi[v], load(&row[8 * v..]), wv);
                    }
                }
            }
            for v in 0..4 {
                store(&mut out[c0 + 8 * v..], c.reduce(lo[v], hi[v]));
            }
            c0 += 32;
        }
        while c0 + 8 <= len {
            let mut lo = cst_v;
            let mut hi = c.zero;
            for (t, &wt) in w.iter().enumerate() {
                if t > 0 && t % LAZY_TERMS == 0 {
                    lo = c.reduce(lo, hi);
                    hi = c.zero;
                }
                mac(&mut lo, &mut hi, load(&rows[t * stride + c0..]), splat(wt));
            }
            store(&mut out[c0..], c.reduce(lo, hi));
            c0 += 8;
        }
        for (i, o) in out.iter_mut().enumerate().skip(c0) {
            let mut s = u128::from(cst);
            for (t, &wt) in w.iter().enumerate() {
                let x = rows[t * stride + i];
                debug_assert!(x < 1 << 50);
                s += u128::from(x) * u128::from(wt);
            }
            *o = rem(s, self.q);
        }
    }

    /// `x[i] = (x[i] - c[i])·w mod q`, canonical, for canonical `x[i], c[i] < q`, `w < q` and
    /// `w_shoup = self.companion(w)`: the last step of ModDown in NTT form (`x - [x]_P`, times
    /// `P^-1`). `x + q - c < 2q < 2^51` is a valid IFMA operand.
    pub(crate) fn sub_mul_const_assign(&self, x: &mut [u64], c: &[u64], w: u64, w_shoup: u64) {
        debug_assert!(w < self.q && x.len() <= c.len());
        // SAFETY: as in `mul_assign`.
        unsafe { self.sub_mul_const_impl(x, c, w, w_shoup) }
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn sub_mul_const_impl(&self, x: &mut [u64], c: &[u64], w: u64, w_shoup: u64) {
        let k = Consts::new(self);
        let (wv, wsv) = (splat(w), splat(w_shoup));
        let len = x.len().min(c.len());
        let full = len / 8 * 8;
        for i in (0..full).step_by(8) {
            let a = _mm512_sub_epi64(_mm512_add_epi64(load(&x[i..]), k.q), load(&c[i..]));
            let qe = _mm512_madd52hi_epu64(k.zero, a, wsv);
            let r = _mm512_madd52lo_epu64(k.zero, a, wv);
            let r = _mm512_and_si512(_mm512_madd52lo_epu64(r, qe, k.neg_q), k.mask);
            store(&mut x[i..], csub(r, k.q));
        }
        for i in full..len {
            debug_assert!(x[i] < self.q && c[i] < self.q);
            x[i] = rem(u128::from(x[i] + self.q - c[i]) * u128::from(w), self.q);
        }
    }

    /// The divide-and-round by one prime `p` of ModDown, for one output limb:
    /// `out[c] = round(x / p) mod q` from `x_q[c] = x mod q` and `x_p[c] = x mod p` (canonical),
    /// exactly as `math::rns::ScaleDown` computes it for one dropped prime: `d = [x_p + h]_p`,
    /// `a = x_q + p - d`, `out = [[a·w]_q + c]_q` with `h = floor(p/2)`, `w = [p^-1]_q`,
    /// `w_shoup = self.companion(w)` and `c = [h·p^-1 - 1]_q`. Needs `p < 2^51` (so that
    /// `a < q + p < 2^52`, an IFMA operand). With `add`, `out[c] = [out[c] + that]_q` instead
    /// (`out` canonical).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn rescale(
        &self,
        out: &mut [u64],
        x_q: &[u64],
        x_p: &[u64],
        p: u64,
        w: u64,
        w_shoup: u64,
        c: u64,
        add: bool,
    ) {
        debug_assert!(p < 1 << 51 && w < self.q && c < self.q);
        debug_assert!(out.len() <= x_q.len() && out.len() <= x_p.len());
        // SAFETY: as in `mul_assign`.
        unsafe { self.rescale_impl(out, x_q, x_p, [p, w, w_shoup, c], add) }
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn rescale_impl(&self, out: &mut [u64], x_q: &[u64], x_p: &[u64], k: [u64; 4], add: bool) {
        let [p, w, _, cst] = k;
        let h = p / 2;
        let c = Consts::new(self);
        let rc = RescaleConsts::new(k);
        let len = out.len().min(x_q.len()).min(x_p.len());
        let full = len / 8 * 8;
        for i in (0..full).step_by(8) {
            let mut r = rc.apply(&c, load(&x_q[i..]), load(&x_p[i..]));
            if add {
                r = csub(_mm512_add_epi64(r, load(&out[i..])), c.q);
            }
            store(&mut out[i..], r);
        }
        for i in full..len {
            let s = x_p[i] + h;
            let d = s.min(s.wrapping_sub(p));
            let a = x_q[i] + (p - d);
            let r = rem(u128::from(a) * u128::from(w), self.q) + cst;
            let mut r = r.min(r.wrapping_sub(self.q));
            if add {
                let s = r + out[i];
                r = s.min(s.wrapping_sub(self.q));
            }
            out[i] = r;
        }
    }

    /// [`rescale`](Self::rescale) added to the image of another limb under an automorphism:
    /// `out[j] = [round(x / p) + σ(src)[j]]_q`, where `σ(src)[j] = src[e mod n]` for
    /// `e = j·k_inv mod 2n`, negated (`q - x` for `x != 0`) when `e >= n` (the coefficient
    /// automorphism `X -> X^k`, `k_inv` the inverse of `k` modulo `2n`, exactly as
    /// `math::ntt::automorphism_coeff`). A rotation's `c_0(X^g) + k_0` in one pass over the
    /// output. `out` and `src` have the same power-of-two length `n >= 8`; `src` canonical.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn rescale_galois(
        &self,
        out: &mut [u64],
        x_q: &[u64],
        x_p: &[u64],
        k: [u64; 4],
        src: &[u64],
        k_inv: usize,
    ) {
        let n = src.len();
        // Memory safety of the gathers rests on these (indices are masked with `n - 1`).
        assert!(n == out.len() && n.is_power_of_two() && n >= 8);
        assert!(x_q.len() >= n && x_p.len() >= n);
        debug_assert!(k[0] < 1 << 51 && k[1] < self.q && k[3] < self.q);
        // SAFETY: as in `mul_assign`; the lengths are asserted above.
        unsafe { self.rescale_galois_impl(out, x_q, x_p, k, src, k_inv) }
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn rescale_galois_impl(
        &self,
        out: &mut [u64],
        x_q: &[u64],
        x_p: &[u64],
        k: [u64; 4],
        src: &[u64],
        k_inv: usize,
    ) {
        let n = src.len();
        let c = Consts::new(self);
        let rc = RescaleConsts::new(k);
        let mask2n = splat((2 * n - 1) as u64);
        let mask_n = splat((n - 1) as u64);
        let nv = splat(n as u64);
        let kk = k_inv & (2 * n - 1);
        let first: [u64; 8] = core::array::from_fn(|i| ((i * kk) & (2 * n - 1)) as u64);
        let mut e = load(&first[..]);
        let step = splat(((8 * kk) & (2 * n - 1)) as u64);
        for i in (0..n).step_by(8) {
            let r = rc.apply(&c, load(&x_q[i..]), load(&x_p[i..]));
            let idx = _mm512_and_si512(e, mask_n);
            // SAFETY: every lane of `idx` is below `n = src.len()` (masked with `n - 1`, `n` a
            // power of two, asserted by the caller), so the gather reads only `src`.
            let x = unsafe { _mm512_i64gather_epi64::<8>(idx, src.as_ptr().cast()) };
            let neg = _mm512_cmpge_epu64_mask(e, nv) & _mm512_cmpneq_epu64_mask(x, c.zero);
            let v = _mm512_mask_sub_epi64(x, neg, c.q, x);
            store(&mut out[i..], csub(_mm512_add_epi64(r, v), c.q));
            e = _mm512_and_si512(_mm512_add_epi64(e, step), mask2n);
        }
    }

    /// Two dot products over the same terms: `out0[c] = [Σ_t x_t[c]·b_t[c]]_q` and
    /// `out1[c] = [Σ_t x_t[c]·a_t[c]]_q` (the inner product of key switching: digits `x_t`,
    /// key parts `b_t`, `a_t`), every input canonical. `xs`, `bs` and `as_` have one slice
    /// per term, each at least `out0.len()` long.
    pub(crate) fn dot2(
        &self,
        out0: &mut [u64],
        out1: &mut [u64],
        xs: &[&[u64]],
        bs: &[&[u64]],
        as_: &[&[u64]],
    ) {
        debug_assert!(xs.len() == bs.len() && bs.len() == as_.len());
        debug_assert_eq!(out0.len(), out1.len());
        // SAFETY: as in `mul_assign`.
        unsafe { self.dot2_impl(out0, out1, xs, bs, as_) }
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn dot2_impl(
        &self,
        out0: &mut [u64],
        out1: &mut [u64],
        xs: &[&[u64]],
        bs: &[&[u64]],
        as_: &[&[u64]],
    ) {
        let c = Consts::new(self);
        let len = out0.len().min(out1.len());
        let terms = xs.len().min(bs.len()).min(as_.len());
        let mut c0 = 0;
        // Two vectors at a time: eight accumulator chains.
        while c0 + 16 <= len {
            let (mut lo0, mut hi0, mut lo1, mut hi1) =
                ([c.zero; 2], [c.zero; 2], [c.zero; 2], [c.zero; 2]);
            for t in 0..terms {
                if t > 0 && t % LAZY_TERMS == 0 {
                    for v in 0..2 {
                        lo0[v] = c.reduce(lo0[v], hi0[v]);
                        lo1[v] = c.reduce(lo1[v], hi1[v]);
                        hi0[v] = c.zero;
                        hi1[v] = c.zero;
                    }
                }
                let (x, b, a) = (&xs[t][c0..], &bs[t][c0..], &as_[t][c0..]);
                for v in 0..2 {
                    let xv = load(&x[8 * v..]);
                    mac(&mut lo0[v], &mut hi0[v], xv, load(&b[8 * v..]));
                    mac(&mut lo1[v], &mut hi1[v], xv, load(&a[8 * v..]));
                }
            }
            for v in 0..2 {
                store(&mut out0[c0 + 8 * v..], c.reduce(lo0[v], hi0[v]));
                store(&mut out1[c0 + 8 * v..], c.reduce(lo1[v], hi1[v]));
            }
            c0 += 16;
        }
        for i in c0..len {
            let (mut s0, mut s1) = (0u128, 0u128);
            for t in 0..terms {
                let x = u128::from(xs[t][i]);
                s0 += x * u128::from(bs[t][i]);
                s1 += x * u128::from(as_[t][i]);
            }
            out0[i] = rem(s0, self.q);
            out1[i] = rem(s1, self.q);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::math::primes::largest_ntt_prime;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};

    /// The largest NTT primes below 2^50 (the bound), 2^49 and 2^40, and a small one.
    fn primes() -> Vec<u64> {
        [50, 49, 40, 20]
            .iter()
            .map(|&b| largest_ntt_prime(b, 1 << 10).unwrap())
            .collect()
    }

    fn vecs(q: u64, len: usize, seed: u64) -> Vec<u64> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        (0..len)
            .map(|i| match i % 7 {
                0 => q - 1,
                1 => 0,
                _ => rng.next_u64() % q,
            })
            .collect()
    }

    #[test]
    fn lanes_match_u128_on_the_largest_primes() {
        let required = std::env::var("MIGRATIONFHE_REQUIRE_BACKENDS").unwrap_or_default();
        let Some(token) = Ifma::detect() else {
            assert!(
                !required.split(',').any(|b| b.trim() == "ifma"),
                "MIGRATIONFHE_REQUIRE_BACKENDS lists `ifma` but this CPU lacks it"
            );
            println!("lanes: IFMA not available on this CPU, kernels not exercised");
            return;
        };
        println!("lanes: IFMA kernels exercised");
        for q in primes() {
            let l = Lanes::new(token, q);
            let q128 = u128::from(q);
            for len in [0, 1, 7, 8, 15, 16, 31, 32, 33, 100, 128] {
                let a = vecs(q, len, 1);
                let b = vecs(q, len, 2);
                let z = vecs(q, len, 3);
                let mut m = a.clone();
                l.mul_assign(&mut m, &b);
                let mut s = z.clone();
                l.mul_add_assign(&mut s, &a, &b);
                let w = q - 2;
                let mut k = vec![0; len];
                let big: Vec<u64> = a.iter().map(|&x| x | (1 << 51)).collect();
                l.mul_const(&mut k, &big, w, l.companion(w));
                let mut k2 = big.clone();
                l.mul_const_assign(&mut k2, w, l.companion(w));
                for i in 0..len {
                    let want = u128::from(big[i]) * u128::from(w) % q128;
                    assert_eq!(u128::from(k[i]), want);
                    assert_eq!(u128::from(k2[i]), want);
                }
                let w = q / 3;
                let mut x = a.clone();
                l.sub_mul_const_assign(&mut x, &b, w, l.companion(w));
                for i in 0..len {
                    let want = (u128::from(a[i]) + q128 - u128::from(b[i])) * u128::from(w) % q128;
                    assert_eq!(u128::from(x[i]), want);
                }
                // ModDown's divide-and-round by p against the exact rounding (p below and
                // above q, up to 2^51).
                for p in [
                    largest_ntt_prime(48, 1 << 10).unwrap(),
                    largest_ntt_prime(51, 1 << 10).unwrap(),
                    97,
                ] {
                    let pm = crate::math::modulus::Modulus::new(p).unwrap();
                    if p == q || pm.bits() > 51 {
                        continue;
                    }
                    let qm = crate::math::modulus::Modulus::new(q).unwrap();
                    let w = qm.inv(qm.reduce(p)).unwrap();
                    let h = p / 2;
                    let cst = qm.sub(qm.mul(qm.reduce(h), w), 1);
                    let xp: Vec<u64> = vecs(p, len, 21);
                    let xq = vecs(q, len, 22);
                    let base = vecs(q, len, 23);
                    for add in [false, true] {
                        let mut out = base.clone();
                        l.rescale(&mut out, &xq, &xp, p, w, l.companion(w), cst, add);
                        for i in 0..len {
                            // x = the CRT lift of (xq, xp) mod qp, round(x / p) mod q.
                            let (qb, pb) = (u128::from(q), u128::from(p));
                            let pinv = u128::from(qm.inv(qm.reduce(p)).unwrap());
                            let diff = (u128::from(xq[i]) + qb - u128::from(xp[i]) % qb) % qb;
                            let x = u128::from(xp[i]) + pb * (diff * pinv % qb);
                            let r = ((x + u128::from(h)) / pb) % qb;
                            let want = if add {
                                (r + u128::from(base[i])) % qb
                            } else {
                                r
                            };
                            assert_eq!(u128::from(out[i]), want, "q={q} p={p} i={i}");
                        }
                    }
                    // With a rotated limb gathered in: the divide-and-round plus the portable
                    // automorphism, bit for bit, for several exponents (identity, 5, -1, ...).
                    if len >= 8 && len.is_power_of_two() {
                        let src = vecs(q, len, 24);
                        let mut plain = vec![0u64; len];
                        l.rescale(&mut plain, &xq, &xp, p, w, l.companion(w), cst, false);
                        for g in [1u64, 5, 3, 2 * len as u64 - 1, 25] {
                            let k_inv = super::super::galois_inverse(g, len);
                            let mut want = plain.clone();
                            super::super::automorphism_coeff_scalar(
                                &mut want, &src, k_inv, q, true,
                            );
                            let mut got = vec![1u64; len];
                            let k = [p, w, l.companion(w), cst];
                            l.rescale_galois(&mut got, &xq, &xp, k, &src, k_inv);
                            assert_eq!(got, want, "q={q} p={p} g={g} len={len}");
                        }
                    }
                }
                let (mut t0, mut t1, mut u0) = (a.clone(), z.clone(), b.clone());
                let u1 = vecs(q, len, 11);
                l.tensor_assign(&mut t0, &mut t1, &mut u0, &u1);
                for i in 0..len {
                    let (x0, x1, y0, y1) = (
                        u128::from(a[i]),
                        u128::from(z[i]),
                        u128::from(b[i]),
                        u128::from(u1[i]),
                    );
                    assert_eq!(u128::from(t0[i]), x0 * y0 % q128);
                    assert_eq!(u128::from(u0[i]), (x0 * y1 + x1 * y0) % q128);
                    assert_eq!(u128::from(t1[i]), x1 * y1 % q128);
                }
                for i in 0..len {
                    let p = u128::from(a[i]) * u128::from(b[i]);
                    assert_eq!(u128::from(m[i]), p % q128);
                    assert_eq!(u128::from(s[i]), (p + u128::from(z[i])) % q128);
                }
                // Dot products with 1 to 40 terms (crossing the lazy limit twice), all-maximal
                // entries included.
                for terms in [1, 2, 15, 16, 17, 33, 40] {
                    let stride = len + 3;
                    let mut rows = vecs(q, terms * stride, 4 + terms as u64);
                    if terms == 40 {
                        rows.fill(q - 1);
                    }
                    let w = vecs(q, terms, 5);
                    let w = if terms == 40 { vec![q - 1; terms] } else { w };
                    let cst = q - 1;
                    let mut out = vec![0; len];
                    l.dot(&mut out, &rows, stride, &w, cst);
                    for c in 0..len {
                        let mut want = u128::from(cst);
                        for t in 0..terms {
                            want += u128::from(rows[t * stride + c]) * u128::from(w[t]);
                        }
                        assert_eq!(u128::from(out[c]), want % q128, "q={q} len={len} t={terms}");
                    }
                    let xs: Vec<Vec<u64>> =
                        (0..terms).map(|t| vecs(q, len, 50 + t as u64)).collect();
                    let bs: Vec<Vec<u64>> =
                        (0..terms).map(|t| vecs(q, len, 90 + t as u64)).collect();
                    let as_: Vec<Vec<u64>> = (0..terms)
                        .map(|t| {
                            vec![q - 1; len]
                                .iter()
                                .map(|&x| x - (t as u64 % 2))
                                .collect()
                        })
                        .collect();
                    let xr: Vec<&[u64]> = xs.iter().map(Vec::as_slice).collect();
                    let br: Vec<&[u64]> = bs.iter().map(Vec::as_slice).collect();
                    let ar: Vec<&[u64]> = as_.iter().map(Vec::as_slice).collect();
                    let (mut o0, mut o1) = (vec![0; len], vec![0; len]);
                    l.dot2(&mut o0, &mut o1, &xr, &br, &ar);
                    for c in 0..len {
                        let (mut s0, mut s1) = (0u128, 0u128);
                        for t in 0..terms {
                            s0 += u128::from(xs[t][c]) * u128::from(bs[t][c]);
                            s1 += u128::from(xs[t][c]) * u128::from(as_[t][c]);
                        }
                        assert_eq!(u128::from(o0[c]), s0 % q128);
                        assert_eq!(u128::from(o1[c]), s1 % q128);
                    }
                }
            }
        }
    }
}
