#![allow(unsafe_code)]
//! AVX-512F/DQ NTT kernels: eight 64-bit lanes, any prime `q < 2^62`.
//!
//! The transform is the one of [`super::scalar`]: the merged negacyclic Cooley–Tukey forward
//! and Gentleman–Sande inverse transforms (Longa and Naehrig, "Speeding up the Number
//! Theoretic Transform for Faster Ideal Lattice-Based Cryptography", CANS 2016, Algorithms 1
//! and 2) with Harvey's lazy butterflies and Shoup's precomputed-quotient multiplication
//! (Harvey, "Faster arithmetic for number-theoretic transforms", J. Symb. Comp. 2014). Only the
//! lazy ranges and the schedule differ; every output is fully reduced, so the result is
//! bit-identical to the scalar one.
//!
//! ## Shoup products without a 64×64→128 multiplier
//! AVX-512F has no high half of a 64-bit product. The Shoup quotient `floor(y ws / 2^e)` is
//! estimated from three of the four 32×32→64 partial products (`vpmuludq`); the low product
//! is dropped, so the estimate may fall up to 3 short and the remainder `y w - quot q` (two
//! `vpmullq`, AVX-512DQ) lies in `[0, 4q)` instead of `[0, 2q)`. [`mul_lazy`] has the proof.
//! That saves a fifth of the vector operations of an exact emulation.
//!
//! ## Two range classes
//! * **Wide** (`q < 2^60`, [`WIDE_LIMIT`]): lazy bound `b = 4q`; the forward keeps values in
//!   `[0, 8q)`, the inverse in `[0, 4q)`, all below `2^63`. The product range `[0, 4q)` fits
//!   as is, and with `y < 2^63` the companion can be scaled by `2^63`, which lets one 64-bit
//!   addition replace a shift and an addition in the quotient.
//! * **General** (`q < 2^62`): lazy bound `b = 2q` (Harvey's `[0, 4q)` forward, `[0, 2q)`
//!   inverse); each product gets one conditional subtraction back to `[0, 2q)`.
//!
//! The butterflies ([`fwd_bfly`], [`inv_bfly`]) state the ranges and check them with
//! `debug_assert!`. On AMD Zen 4, which executes 512-bit operations in two halves, the
//! throughput is close to two vector operations per cycle whatever their kind, so the design
//! counts operations: 15 per forward butterfly in the wide class (3 `vpmuludq`, 2 `vpmullq`,
//! 1 `vpminuq`, 9 additions, subtractions and shifts).
//!
//! ## Schedule
//! * Stages whose butterflies are at least one vector apart run as *register passes*
//!   ([`fwd_pass`]): `N = 2^k` vectors `stride` apart (`k <= 4`, at most 3 when the stride is a
//!   multiple of 4 KiB, which would map all of them to one L1 set) go through `k` stages in
//!   registers with broadcast twiddles. Passes recurse depth first, so a block that fits in L1
//!   stays there for the rest of its stages.
//! * A *leaf* ([`fwd_leaf`]) takes 16 vectors (128 coefficients) through their last four
//!   vector-apart stages and the three stages inside a vector, depth first so that few
//!   registers are live. The in-vector stages work on pairs of vectors interleaved lane by lane
//!   (two shuffles per stage and pair); their per-lane twiddles need no duplication, are
//!   stored in consumption order and aligned to their load size ([`LaneTables`], 14 bytes per
//!   coefficient). The forward leaf also reduces the result to `[0, q)`.
//! * The inverse's last stage (`half = n/2`) is fused with the factor `1/n`:
//!   `(x + y) n^-1` and `(x - y) (w n^-1)`, then the reduction to `[0, q)`.
//!
//! Transforms shorter than 16 coefficients use the scalar kernels.

use super::{scalar, Tables};
use core::arch::x86_64::*;

/// Coefficients per vector.
const LANES: usize = 8;
/// Smallest transform done with vectors: one pair of vectors.
const MIN_N: usize = 2 * LANES;
/// Vectors per leaf (16 vectors: 4 vector-apart stages and the 3 in-vector stages).
const LEAF_VECS: usize = 16;

/// Zero-sized proof that the CPU has AVX-512F and AVX-512DQ.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512(());

impl Avx512 {
    /// Returns the token if the CPU supports AVX-512F and AVX-512DQ.
    pub(crate) fn detect() -> Option<Self> {
        (is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512dq"))
            .then_some(Self(()))
    }
}

/// A twiddle `w` for broadcasting: `w`, its Shoup companion `ws = floor(w 2^e / q)` (`e = 64`
/// in the general class, `63` in the wide one, see [`mul_lazy`]), `ws >> 32` and `2 (ws >> 32)`;
/// 32 bytes, so one never straddles a cache line.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(32))]
struct Twiddle {
    w: u64,
    ws: u64,
    ws_hi: u64,
    ws_hi2: u64,
}

impl Twiddle {
    fn new(q: u64, wide: bool, w: u64) -> Self {
        let ws = companion(q, wide, w);
        Self {
            w,
            ws,
            ws_hi: ws >> 32,
            ws_hi2: (ws >> 32) << 1,
        }
    }
}

/// `floor(w 2^e / q)`, `e = 63` (wide) or `64`; below `2^e` since `w < q`.
fn companion(q: u64, wide: bool, w: u64) -> u64 {
    debug_assert!(w < q);
    let e = if wide { 63 } else { 64 };
    u64::try_from((u128::from(w) << e) / u128::from(q)).unwrap_or(u64::MAX)
}

/// Moduli below this bound use the wide class (lazy bound `4q`, values below `8q < 2^63`).
const WIDE_LIMIT: u64 = 1 << 60;

/// Per-lane twiddles `(w, ws)` of one in-vector stage for one pair of vectors:
/// `L` distinct twiddles (8 for `half = 1`, 4 for `half = 2`, 2 for `half = 4`), aligned to
/// their size so that each loads (or broadcast-loads) as one piece. Layouts at
/// [`packet_index`].
#[derive(Clone, Copy, Debug)]
#[repr(C)]
struct Packet<const L: usize> {
    w: [u64; L],
    ws: [u64; L],
}

/// [`Packet`] for `half = 1`, 64-byte aligned.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Packet1(Packet<8>);
/// [`Packet`] for `half = 2`, 32-byte aligned.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(32))]
struct Packet2(Packet<4>);
/// [`Packet`] for `half = 4`, 16-byte aligned.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(16))]
struct Packet4(Packet<2>);

/// The per-lane twiddles of the in-vector stages, one packet per pair of vectors and stage
/// (14 bytes per coefficient, no duplicates; `ws >> 32` is recomputed, on a shift port that
/// the multiplications leave idle, rather than streamed from memory).
#[derive(Clone, Debug, Default)]
struct LaneTables {
    h1: Vec<Packet1>,
    h2: Vec<Packet2>,
    h4: Vec<Packet4>,
}

impl LaneTables {
    /// Packets of the `n / 16` pairs from the twiddles `tw` (`Tables::fwd` or `inv`).
    fn new(n: usize, q: u64, wide: bool, tw: &[u64]) -> Self {
        fn packet<const L: usize>(q: u64, wide: bool, tw: &[u64], k: [usize; L]) -> Packet<L> {
            let w = k.map(|k| tw[k]);
            Packet {
                w,
                ws: w.map(|w| companion(q, wide, w)),
            }
        }
        let pairs = n / 16;
        let mut t = Self::default();
        for p in 0..pairs {
            let [k4, k2, k1] = packet_index(n, p);
            t.h4.push(Packet4(packet(q, wide, tw, [k4[0], k4[1]])));
            t.h2.push(Packet2(packet(q, wide, tw, [k2[0], k2[1], k2[2], k2[3]])));
            t.h1.push(Packet1(packet(q, wide, tw, k1)));
        }
        t
    }

    /// The packets of pairs `p0 ..`.
    fn at(&self, p0: usize) -> LaneSlice<'_> {
        LaneSlice {
            h1: &self.h1[p0..],
            h2: &self.h2[p0..],
            h4: &self.h4[p0..],
        }
    }
}

/// Borrowed [`LaneTables`] from some pair on.
#[derive(Clone, Copy)]
struct LaneSlice<'a> {
    h1: &'a [Packet1],
    h2: &'a [Packet2],
    h4: &'a [Packet4],
}

/// AVX-512 precomputation: twiddles re-laid out in the order the kernels read them.
#[derive(Clone, Debug)]
pub(crate) struct Avx512Tables {
    _token: Avx512,
    /// `q < 2^60`: the wide class (see [`fwd_bfly`]).
    wide: bool,
    /// `fwd_b[k]` = `Tables::fwd[k]` for the vector-apart stages (`k < n/8`).
    fwd_b: Vec<Twiddle>,
    /// Same for `Tables::inv`.
    inv_b: Vec<Twiddle>,
    /// Per-lane twiddles of the in-vector stages, from `Tables::fwd`.
    fwd_l: LaneTables,
    /// Same from `Tables::inv`.
    inv_l: LaneTables,
    /// `n^-1` and `inv[1] n^-1`, for the fused last inverse stage.
    last: (Twiddle, Twiddle),
}

/// Twiddle indices (into `Tables::fwd`/`inv`) of the packets of pair `p`: `half = 4`, `2`, `1`.
///
/// With `A`, `B` the two vectors (groups `g = 2p`, `g + 1`), the in-vector stages interleave
/// them so that lane `l` always holds `A` for even `l` and `B` for odd `l`:
/// * `half = 4`: `[A0 B0 A1 B1 A2 B2 A3 B3]` against `[A4 B4 .. A7 B7]`: twiddles
///   `[a b a b ..]` (`a, b` = the groups' twiddles), a 128-bit broadcast;
/// * `half = 2`: `[A0 B0 A4 B4 A1 B1 A5 B5]` against `[A2 B2 A6 B6 A3 B3 A7 B7]`: twiddles
///   `[a0 b0 a1 b1]` twice (`a0, a1` = the sub-blocks of `A`), a 256-bit broadcast;
/// * `half = 1`: `[A0 B0 A4 B4 A2 B2 A6 B6]` against `[A1 B1 A5 B5 A3 B3 A7 B7]`: eight distinct.
fn packet_index(n: usize, p: usize) -> [[usize; 8]; 3] {
    let g = 2 * p;
    let h4 = [n / 8 + g, n / 8 + g + 1];
    let h2 = [2 * g, 2 * g + 2, 2 * g + 1, 2 * g + 3].map(|k| n / 4 + k);
    let h1 = [0, 4, 2, 6, 1, 5, 3, 7].map(|k| n / 2 + 4 * g + k);
    [
        [h4[0], h4[1], 0, 0, 0, 0, 0, 0],
        [h2[0], h2[1], h2[2], h2[3], 0, 0, 0, 0],
        h1,
    ]
}

impl Avx512Tables {
    /// Re-lays out the twiddles of `t` for the AVX-512 kernels.
    pub(crate) fn new(token: Avx512, t: &Tables) -> Self {
        let n = t.n;
        let q = t.q.value();
        let wide = q < WIDE_LIMIT;
        let (fwd_b, inv_b, fwd_l, inv_l) = if n >= MIN_N {
            // Stage s has 2^s blocks of half-length n/2^(s+1) >= 8, so 2^s <= n/16 and the
            // indices 2^s + i stay below n/8.
            let fwd_b = (0..n / 8)
                .map(|k| Twiddle::new(q, wide, t.fwd[k]))
                .collect();
            let inv_b = (0..n / 8)
                .map(|k| Twiddle::new(q, wide, t.inv[k]))
                .collect();
            (
                fwd_b,
                inv_b,
                LaneTables::new(n, q, wide, &t.fwd),
                LaneTables::new(n, q, wide, &t.inv),
            )
        } else {
            (
                Vec::new(),
                Vec::new(),
                LaneTables::default(),
                LaneTables::default(),
            )
        };
        Self {
            _token: token,
            wide,
            fwd_b,
            inv_b,
            fwd_l,
            inv_l,
            last: (
                Twiddle::new(q, wide, t.n_inv),
                Twiddle::new(q, wide, t.q.mul(t.inv[1], t.n_inv)),
            ),
        }
    }

    /// Forward transform; same contract as [`scalar::forward`].
    pub(crate) fn forward(&self, t: &Tables, a: &mut [u64]) {
        debug_assert_eq!(a.len(), t.n);
        if t.n < MIN_N {
            return scalar::forward(t, a);
        }
        if self.wide {
            // SAFETY: an `Avx512` token exists only if `detect` saw AVX-512F and AVX-512DQ,
            // the features `forward` enables.
            unsafe { forward::<true>(self, t, a) }
        } else {
            // SAFETY: as above.
            unsafe { forward::<false>(self, t, a) }
        }
    }

    /// Inverse transform, `1/n` included; same contract as [`scalar::inverse`].
    pub(crate) fn inverse(&self, t: &Tables, a: &mut [u64]) {
        debug_assert_eq!(a.len(), t.n);
        if t.n < MIN_N {
            return scalar::inverse(t, a);
        }
        if self.wide {
            // SAFETY: an `Avx512` token exists only if `detect` saw AVX-512F and AVX-512DQ,
            // the features `inverse` enables.
            unsafe { inverse::<true>(self, t, a) }
        } else {
            // SAFETY: as above.
            unsafe { inverse::<false>(self, t, a) }
        }
    }
}

/// Constants kept in registers.
#[derive(Clone, Copy)]
struct Ctx {
    q: __m512i,
    q2: __m512i,
    /// The lazy bound `b` of the class: `2q` (general) or `4q` (wide); see [`fwd_bfly`].
    b: __m512i,
}

/// A twiddle in registers (broadcast or per lane); fields as in [`Twiddle`].
#[derive(Clone, Copy)]
struct Tw {
    w: __m512i,
    ws: __m512i,
    ws_hi: __m512i,
    ws_hi2: __m512i,
}

#[inline]
#[target_feature(enable = "avx512f")]
fn splat(x: u64) -> __m512i {
    _mm512_set1_epi64(x.cast_signed())
}

#[inline]
#[target_feature(enable = "avx512f")]
fn ctx<const WIDE: bool>(q: u64) -> Ctx {
    Ctx {
        q: splat(q),
        q2: splat(2 * q),
        b: splat(if WIDE { 4 * q } else { 2 * q }),
    }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn bcast(t: &Twiddle) -> Tw {
    Tw {
        w: splat(t.w),
        ws: splat(t.ws),
        ws_hi: splat(t.ws_hi),
        ws_hi2: splat(t.ws_hi2),
    }
}

/// Per-lane twiddle of a `half = 1` packet.
#[inline]
#[target_feature(enable = "avx512f")]
fn lane_tw1(p: &Packet1) -> Tw {
    // SAFETY: each field is 64 readable bytes, 64-byte aligned (`Packet1` is 64-byte aligned
    // and its fields are 64 bytes long).
    let (w, ws) = unsafe {
        (
            _mm512_load_si512(p.0.w.as_ptr().cast()),
            _mm512_load_si512(p.0.ws.as_ptr().cast()),
        )
    };
    lane_tw(w, ws)
}

/// Per-lane twiddle of a `half = 2` packet: each 256-bit field broadcast to both halves.
#[inline]
#[target_feature(enable = "avx512f")]
fn lane_tw2(p: &Packet2) -> Tw {
    // SAFETY: each field is 32 readable bytes, 32-byte aligned.
    let (w, ws) = unsafe {
        (
            _mm256_load_si256(p.0.w.as_ptr().cast()),
            _mm256_load_si256(p.0.ws.as_ptr().cast()),
        )
    };
    lane_tw(_mm512_broadcast_i64x4(w), _mm512_broadcast_i64x4(ws))
}

/// Per-lane twiddle of a `half = 4` packet: each 128-bit field broadcast to all four lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn lane_tw4(p: &Packet4) -> Tw {
    // SAFETY: each field is 16 readable bytes, 16-byte aligned.
    let (w, ws) = unsafe {
        (
            _mm_load_si128(p.0.w.as_ptr().cast()),
            _mm_load_si128(p.0.ws.as_ptr().cast()),
        )
    };
    lane_tw(_mm512_broadcast_i64x2(w), _mm512_broadcast_i64x2(ws))
}

#[inline]
#[target_feature(enable = "avx512f")]
fn lane_tw(w: __m512i, ws: __m512i) -> Tw {
    let ws_hi = _mm512_srli_epi64::<32>(ws);
    Tw {
        w,
        ws,
        ws_hi,
        ws_hi2: _mm512_add_epi64(ws_hi, ws_hi),
    }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn load(v: &[u64; LANES]) -> __m512i {
    // SAFETY: `v` is 64 readable bytes; the unaligned load has no alignment requirement.
    unsafe { _mm512_loadu_si512(v.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn store(v: &mut [u64; LANES], x: __m512i) {
    // SAFETY: `v` is 64 writable bytes, exclusively borrowed; the store is unaligned.
    unsafe { _mm512_storeu_si512(v.as_mut_ptr().cast(), x) }
}

/// Every lane of `x` is below `k q` (debug checks only).
#[inline]
#[target_feature(enable = "avx512f")]
fn below(c: Ctx, x: __m512i, k: u64) -> bool {
    let mut bound = _mm512_setzero_si512();
    for _ in 0..k {
        bound = _mm512_add_epi64(bound, c.q);
    }
    _mm512_cmplt_epu64_mask(x, bound) == 0xff
}

/// `x - c` where `x >= c`, else `x`, for any `x` and `c` (unsigned lanes): if `x < c` the
/// wrapped difference exceeds `x`, so the minimum picks `x`.
#[inline]
#[target_feature(enable = "avx512f")]
fn csub(x: __m512i, c: __m512i) -> __m512i {
    _mm512_min_epu64(x, _mm512_sub_epi64(x, c))
}

/// Shoup product up to three `q`: returns `y w - quot q` in `[0, 4q)`, congruent to `y w`,
/// where `quot` underestimates `floor(y w / q)` by at most 3. Needs `y < 2^64` (general) or
/// `y < 2^63` (wide).
///
/// Write `y = yh 2^32 + yl` and the companion `W = Wh 2^32 + Wl` (the [`Twiddle`] scaling:
/// `W = floor(w 2^e / q)` with `e = 64`, or `e = 63` in the wide class), so that
/// `y W = hh 2^64 + (lh + hl) 2^32 + ll` with `hh = yh Wh`, `lh = yl Wh`, `hl = yh Wl`,
/// `ll = yl Wl`, four `vpmuludq` products. The low product `ll` is never formed:
/// * general (`e = 64`): `quot = hh + floor(lh / 2^32) + floor(hl / 2^32)` falls short of
///   `y W / 2^64` by the two dropped fractions and `ll / 2^64`, less than 3 in all;
/// * wide (`e = 63`, `y < 2^63`, so `yh, Wh < 2^31` and `lh, hl < 2^63`: their sum does not
///   overflow): `quot = 2 hh + floor((lh + hl) / 2^31)` (with `2 Wh < 2^32` precomputed) falls
///   short of `y W / 2^63` by one dropped fraction and `ll / 2^63 < 2`, less than 3.
///
/// Shoup's own error adds less than 1: `y w / q - y W / 2^e < y / 2^e <= 1`. So
/// `0 <= y w / q - quot < 4`, the remainder `y w - quot q` lies in `[0, 4q)` and, being below
/// `2^64`, is exact when computed with wrapping `vpmullq` products.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn mul_lazy<const WIDE: bool>(c: Ctx, y: __m512i, t: Tw) -> __m512i {
    debug_assert!(!WIDE || _mm512_movepi64_mask(y) == 0, "wide: y < 2^63");
    let yh = _mm512_srli_epi64::<32>(y);
    let lh = _mm512_mul_epu32(y, t.ws_hi);
    let hl = _mm512_mul_epu32(yh, t.ws);
    let quot = if WIDE {
        let hh2 = _mm512_mul_epu32(yh, t.ws_hi2);
        _mm512_add_epi64(hh2, _mm512_srli_epi64::<31>(_mm512_add_epi64(lh, hl)))
    } else {
        let hh = _mm512_mul_epu32(yh, t.ws_hi);
        _mm512_add_epi64(
            _mm512_add_epi64(hh, _mm512_srli_epi64::<32>(lh)),
            _mm512_srli_epi64::<32>(hl),
        )
    };
    let r = _mm512_sub_epi64(_mm512_mullo_epi64(y, t.w), _mm512_mullo_epi64(quot, c.q));
    debug_assert!(below(c, r, 4));
    r
}

/// Shoup product reduced into the class's product range: `[0, 4q)` (wide, where the lazy
/// bound `b = 4q` absorbs it) or `[0, 2q)` (general, one conditional subtraction).
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn mul_b<const WIDE: bool>(c: Ctx, y: __m512i, t: Tw) -> __m512i {
    let r = mul_lazy::<WIDE>(c, y, t);
    if WIDE {
        r
    } else {
        csub(r, c.q2)
    }
}

/// Forward (Cooley–Tukey) butterfly with lazy bound `b` (`2q` general, `4q` wide).
/// Ranges: `x, y` in `[0, 2b)` in; `u = x mod b` in `[0, b)`; `v = y w` in `[0, b)`
/// ([`mul_b`]); `u + v` and `u - v + b` in `[0, 2b)` out. `2b = 8q < 2^63` in the wide class
/// (`q < 2^60`), `2b = 4q < 2^64` in the general one.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn fwd_bfly<const WIDE: bool>(c: Ctx, x: __m512i, y: __m512i, t: Tw) -> (__m512i, __m512i) {
    let k = if WIDE { 8 } else { 4 };
    debug_assert!(below(c, x, k) && below(c, y, k));
    let u = csub(x, c.b);
    let v = mul_b::<WIDE>(c, y, t);
    (
        _mm512_add_epi64(u, v),
        _mm512_sub_epi64(_mm512_add_epi64(u, c.b), v),
    )
}

/// Inverse (Gentleman–Sande) butterfly with lazy bound `b`. Ranges: `x, y` in `[0, b)` in;
/// `x + y` in `[0, 2b)` reduced to `[0, b)`; `x - y + b` in `(0, 2b)` times `w` in `[0, b)`
/// ([`mul_b`]; `2b < 2^63` when wide).
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn inv_bfly<const WIDE: bool>(c: Ctx, x: __m512i, y: __m512i, t: Tw) -> (__m512i, __m512i) {
    let k = if WIDE { 4 } else { 2 };
    debug_assert!(below(c, x, k) && below(c, y, k));
    let s = csub(_mm512_add_epi64(x, y), c.b);
    let d = _mm512_sub_epi64(_mm512_add_epi64(x, c.b), y);
    (s, mul_b::<WIDE>(c, d, t))
}

/// `x` in `[0, 4q)` to `[0, q)`.
#[inline]
#[target_feature(enable = "avx512f")]
fn reduce_4q(c: Ctx, x: __m512i) -> __m512i {
    csub(csub(x, c.q2), c.q)
}

/// Last inverse butterfly (`half = n/2`) fused with the factor `1/n`: `x, y` in `[0, b)` in;
/// `(x + y) n^-1` and `(x - y + b) (w n^-1)`, Shoup products of inputs below `2b`, in
/// `[0, 4q)` ([`mul_lazy`]), then reduced: canonical out.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn inv_last_bfly<const WIDE: bool>(
    c: Ctx,
    x: __m512i,
    y: __m512i,
    tn: Tw,
    tw: Tw,
) -> (__m512i, __m512i) {
    let k = if WIDE { 4 } else { 2 };
    debug_assert!(below(c, x, k) && below(c, y, k));
    let s = _mm512_add_epi64(x, y);
    let d = _mm512_sub_epi64(_mm512_add_epi64(x, c.b), y);
    (
        reduce_4q(c, mul_lazy::<WIDE>(c, s, tn)),
        reduce_4q(c, mul_lazy::<WIDE>(c, d, tw)),
    )
}

/// Broadcast twiddle of stage `s + t`, sub-block `b` of the block `(s, i)` (stage `s`, block
/// index `i`): `Tables` index `2^(s+t) + i 2^t + b`.
macro_rules! btw {
    ($tb:expr, $s:expr, $i:expr, $t:expr, $b:expr) => {
        bcast(&$tb[(1usize << ($s + $t)) + ($i << $t) + $b])
    };
}

/// `log2 N` forward stages on the register array `$x` (`[__m512i; N]`) of the block `(s, i)`,
/// butterflies `N/2`, `N/4`, ... registers apart. A macro rather than a function so that the
/// array stays in registers: `#[inline(always)]` is not allowed on target-feature functions
/// and LLVM declines to inline a body this large on its own.
macro_rules! fwd_regs {
    ($wide:expr, $c:expr, $x:expr, $tb:expr, $s:expr, $i:expr) => {{
        let n = $x.len();
        let k = n.trailing_zeros() as usize;
        for t in 0..k {
            let h = n >> (t + 1);
            for b in 0..(1usize << t) {
                let w = btw!($tb, $s, $i, t, b);
                for r in 2 * h * b..2 * h * b + h {
                    ($x[r], $x[r + h]) = fwd_bfly::<$wide>($c, $x[r], $x[r + h], w);
                }
            }
        }
    }};
}

/// The inverse of [`fwd_regs`]: stages in reverse order. With `$last = Some(&(n^-1, w n^-1))`
/// the final stage (`t = 0`, the transform's `half = n/2`) is fused with the factor `1/n`.
macro_rules! inv_regs {
    ($wide:expr, $c:expr, $x:expr, $tb:expr, $s:expr, $i:expr, $last:expr) => {{
        let n = $x.len();
        let k = n.trailing_zeros() as usize;
        for t in (1..k).rev() {
            let h = n >> (t + 1);
            for b in 0..(1usize << t) {
                let w = btw!($tb, $s, $i, t, b);
                for r in 2 * h * b..2 * h * b + h {
                    ($x[r], $x[r + h]) = inv_bfly::<$wide>($c, $x[r], $x[r + h], w);
                }
            }
        }
        let h = n / 2;
        if let Some(last) = $last {
            let (tn, tw1) = (bcast(&last.0), bcast(&last.1));
            for r in 0..h {
                ($x[r], $x[r + h]) = inv_last_bfly::<$wide>($c, $x[r], $x[r + h], tn, tw1);
            }
        } else {
            let w = btw!($tb, $s, $i, 0, 0);
            for r in 0..h {
                ($x[r], $x[r + h]) = inv_bfly::<$wide>($c, $x[r], $x[r + h], w);
            }
        }
    }};
}

/// Loads (`$op = load`) or stores (`$op = store`) the registers `$x` of step `$j` of a register
/// pass over the block at `$p` (`$x.len() * $stride` vectors): register `r` is vector
/// `$j + r $stride`. Raw addressing instead of slice indexing: the bounds checks of `N` indices
/// per step cost more scalar work than the pass body leaves room for.
macro_rules! pass_io {
    (load, $p:expr, $x:expr, $j:expr, $stride:expr) => {
        for r in 0..$x.len() {
            // SAFETY: `$j < $stride` and `r < N`, so vector `$j + r $stride` lies inside the
            // block of `N $stride` vectors that `$p` points to (callers check the length).
            $x[r] = unsafe { _mm512_loadu_si512($p.add(($j + r * $stride) * LANES).cast()) };
        }
    };
    (store, $p:expr, $x:expr, $j:expr, $stride:expr) => {
        for r in 0..$x.len() {
            // SAFETY: as for `load`; the block is exclusively borrowed by the caller.
            unsafe { _mm512_storeu_si512($p.add(($j + r * $stride) * LANES).cast(), $x[r]) };
        }
    };
}

/// One forward register pass: stages `s .. s + log2 N` of the block `v` (index `i`).
#[target_feature(enable = "avx512f,avx512dq")]
fn fwd_pass<const WIDE: bool, const N: usize>(
    c: Ctx,
    v: &mut [[u64; LANES]],
    tb: &[Twiddle],
    s: usize,
    i: usize,
) {
    let stride = v.len() / N;
    assert_eq!(stride * N, v.len());
    let p = v.as_mut_ptr().cast::<u64>();
    for j in 0..stride {
        let mut x = [_mm512_setzero_si512(); N];
        pass_io!(load, p, x, j, stride);
        fwd_regs!(WIDE, c, x, tb, s, i);
        pass_io!(store, p, x, j, stride);
    }
}

/// One inverse register pass: stages `s + log2 N - 1` down to `s` of the block `v`; with
/// `last`, stage `s = 0` is the transform's last, fused with `1/n`.
#[target_feature(enable = "avx512f,avx512dq")]
fn inv_pass<const WIDE: bool, const N: usize>(
    c: Ctx,
    v: &mut [[u64; LANES]],
    tb: &[Twiddle],
    s: usize,
    i: usize,
    last: Option<&(Twiddle, Twiddle)>,
) {
    let stride = v.len() / N;
    assert_eq!(stride * N, v.len());
    let p = v.as_mut_ptr().cast::<u64>();
    // Two loops, so that the choice is made once and not per step.
    match last {
        Some(last) => {
            for j in 0..stride {
                let mut x = [_mm512_setzero_si512(); N];
                pass_io!(load, p, x, j, stride);
                inv_regs!(WIDE, c, x, tb, s, i, Some(last));
                pass_io!(store, p, x, j, stride);
            }
        }
        None => {
            for j in 0..stride {
                let mut x = [_mm512_setzero_si512(); N];
                pass_io!(load, p, x, j, stride);
                inv_regs!(WIDE, c, x, tb, s, i, None::<&(Twiddle, Twiddle)>);
                pass_io!(store, p, x, j, stride);
            }
        }
    }
}

/// Index vector for `vpermt2q`.
#[inline]
#[target_feature(enable = "avx512f")]
fn idx(i: [i64; LANES]) -> __m512i {
    _mm512_setr_epi64(i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7])
}

/// The three in-vector forward stages on the pair `$a, $b` with the pair's twiddles `$p`
/// (a [`LaneSlice`] starting at the pair; lane layouts at [`packet_index`]), then the
/// reduction to `[0, q)`.
macro_rules! fwd_in_vector {
    ($wide:expr, $c:expr, $a:expr, $b:expr, $p:expr) => {{
        let (c, p) = ($c, $p);
        let (x, y) = (
            _mm512_permutex2var_epi64($a, idx([0, 8, 1, 9, 2, 10, 3, 11]), $b),
            _mm512_permutex2var_epi64($a, idx([4, 12, 5, 13, 6, 14, 7, 15]), $b),
        );
        let (x, y) = fwd_bfly::<$wide>(c, x, y, lane_tw4(&p.h4[0]));
        let (x, y) = (
            _mm512_permutex2var_epi64(x, idx([0, 1, 8, 9, 2, 3, 10, 11]), y),
            _mm512_permutex2var_epi64(x, idx([4, 5, 12, 13, 6, 7, 14, 15]), y),
        );
        let (x, y) = fwd_bfly::<$wide>(c, x, y, lane_tw2(&p.h2[0]));
        let (x, y) = (
            _mm512_shuffle_i64x2::<0x44>(x, y),
            _mm512_shuffle_i64x2::<0xee>(x, y),
        );
        let (x, y) = fwd_bfly::<$wide>(c, x, y, lane_tw1(&p.h1[0]));
        // [0, 2b) to [0, q): one more conditional subtraction when b = 4q.
        let (x, y) = if $wide {
            (csub(x, c.b), csub(y, c.b))
        } else {
            (x, y)
        };
        let (x, y) = (reduce_4q(c, x), reduce_4q(c, y));
        $a = _mm512_permutex2var_epi64(x, idx([0, 8, 4, 12, 2, 10, 6, 14]), y);
        $b = _mm512_permutex2var_epi64(x, idx([1, 9, 5, 13, 3, 11, 7, 15]), y);
    }};
}

/// The three in-vector inverse stages on the pair `$a, $b`: the mirror of [`fwd_in_vector`].
macro_rules! inv_in_vector {
    ($wide:expr, $c:expr, $a:expr, $b:expr, $p:expr) => {{
        let (c, p) = ($c, $p);
        let (x, y) = (
            _mm512_permutex2var_epi64($a, idx([0, 8, 4, 12, 2, 10, 6, 14]), $b),
            _mm512_permutex2var_epi64($a, idx([1, 9, 5, 13, 3, 11, 7, 15]), $b),
        );
        let (x, y) = inv_bfly::<$wide>(c, x, y, lane_tw1(&p.h1[0]));
        let (x, y) = (
            _mm512_shuffle_i64x2::<0x44>(x, y),
            _mm512_shuffle_i64x2::<0xee>(x, y),
        );
        let (x, y) = inv_bfly::<$wide>(c, x, y, lane_tw2(&p.h2[0]));
        let (x, y) = (
            _mm512_shuffle_i64x2::<0x88>(x, y),
            _mm512_shuffle_i64x2::<0xdd>(x, y),
        );
        let (x, y) = inv_bfly::<$wide>(c, x, y, lane_tw4(&p.h4[0]));
        $a = _mm512_permutex2var_epi64(x, idx([0, 2, 4, 6, 8, 10, 12, 14]), y);
        $b = _mm512_permutex2var_epi64(x, idx([1, 3, 5, 7, 9, 11, 13, 15]), y);
    }};
}

/// The depth-first schedule of a leaf of (up to) 16 registers: `$stage!(lo, size)` applies the
/// vector-apart stage to registers `lo .. lo + size` (butterflies `size / 2` apart), `$pair!(j)`
/// the in-vector stages to registers `2j, 2j + 1`. Forward order: each block is finished
/// before its sibling is started, so few registers are live at once (a stage-by-stage order
/// keeps all 16 live and spills).
macro_rules! fwd_schedule {
    ($stage:ident, $pair:ident) => {
        $stage!(0, 16);
        $stage!(0, 8);
        $stage!(0, 4);
        $stage!(0, 2);
        $pair!(0);
        $stage!(2, 2);
        $pair!(1);
        $stage!(4, 4);
        $stage!(4, 2);
        $pair!(2);
        $stage!(6, 2);
        $pair!(3);
        $stage!(8, 8);
        $stage!(8, 4);
        $stage!(8, 2);
        $pair!(4);
        $stage!(10, 2);
        $pair!(5);
        $stage!(12, 4);
        $stage!(12, 2);
        $pair!(6);
        $stage!(14, 2);
        $pair!(7);
    };
}

/// The reverse of [`fwd_schedule`], for the inverse leaf.
macro_rules! inv_schedule {
    ($stage:ident, $pair:ident) => {
        $pair!(0);
        $stage!(0, 2);
        $pair!(1);
        $stage!(2, 2);
        $stage!(0, 4);
        $pair!(2);
        $stage!(4, 2);
        $pair!(3);
        $stage!(6, 2);
        $stage!(4, 4);
        $stage!(0, 8);
        $pair!(4);
        $stage!(8, 2);
        $pair!(5);
        $stage!(10, 2);
        $stage!(8, 4);
        $pair!(6);
        $stage!(12, 2);
        $pair!(7);
        $stage!(14, 2);
        $stage!(12, 4);
        $stage!(8, 8);
        $stage!(0, 16);
    };
}

/// Forward leaf: the block `v` of `N` vectors (`N <= 16`) at stage `s`, index `i`: its
/// `log2 N` vector-apart stages and the three in-vector stages, in the order of
/// [`fwd_schedule`]; `tl` holds the packets of its `N/2` pairs. Output canonical.
#[target_feature(enable = "avx512f,avx512dq")]
fn fwd_leaf<const WIDE: bool, const N: usize>(
    c: Ctx,
    v: &mut [[u64; LANES]],
    tb: &[Twiddle],
    tl: LaneSlice<'_>,
    s: usize,
    i: usize,
) {
    let v = &mut v[..N];
    let mut x = [_mm512_setzero_si512(); N];
    for (xr, vr) in x.iter_mut().zip(v.iter()) {
        *xr = load(vr);
    }
    macro_rules! stage {
        ($lo:expr, $size:expr) => {
            if $lo + $size <= N {
                let (lo, h) = ($lo, $size / 2);
                let t = (N / $size).trailing_zeros() as usize;
                let w = btw!(tb, s, i, t, lo / $size);
                for r in lo..lo + h {
                    (x[r], x[r + h]) = fwd_bfly::<WIDE>(c, x[r], x[r + h], w);
                }
            }
        };
    }
    macro_rules! pair {
        ($j:expr) => {
            if 2 * $j < N {
                let p = LaneSlice {
                    h1: &tl.h1[$j..],
                    h2: &tl.h2[$j..],
                    h4: &tl.h4[$j..],
                };
                fwd_in_vector!(WIDE, c, x[2 * $j], x[2 * $j + 1], p);
                store(&mut v[2 * $j], x[2 * $j]);
                store(&mut v[2 * $j + 1], x[2 * $j + 1]);
            }
        };
    }
    fwd_schedule!(stage, pair);
}

/// Inverse leaf: the mirror of [`fwd_leaf`] ([`inv_schedule`]); `last` when the leaf is the
/// whole transform (its final stage then carries the factor `1/n`).
#[target_feature(enable = "avx512f,avx512dq")]
fn inv_leaf<const WIDE: bool, const N: usize>(
    c: Ctx,
    v: &mut [[u64; LANES]],
    tb: &[Twiddle],
    tl: LaneSlice<'_>,
    s: usize,
    i: usize,
    last: Option<&(Twiddle, Twiddle)>,
) {
    let v = &mut v[..N];
    let mut x = [_mm512_setzero_si512(); N];
    macro_rules! stage {
        ($lo:expr, $size:expr) => {
            if $lo + $size <= N {
                let (lo, h) = ($lo, $size / 2);
                let t = (N / $size).trailing_zeros() as usize;
                match last {
                    Some(last) if $size == N => {
                        let (tn, tw1) = (bcast(&last.0), bcast(&last.1));
                        for r in lo..lo + h {
                            (x[r], x[r + h]) = inv_last_bfly::<WIDE>(c, x[r], x[r + h], tn, tw1);
                        }
                    }
                    _ => {
                        let w = btw!(tb, s, i, t, lo / $size);
                        for r in lo..lo + h {
                            (x[r], x[r + h]) = inv_bfly::<WIDE>(c, x[r], x[r + h], w);
                        }
                    }
                }
            }
        };
    }
    macro_rules! pair {
        ($j:expr) => {
            if 2 * $j < N {
                let p = LaneSlice {
                    h1: &tl.h1[$j..],
                    h2: &tl.h2[$j..],
                    h4: &tl.h4[$j..],
                };
                x[2 * $j] = load(&v[2 * $j]);
                x[2 * $j + 1] = load(&v[2 * $j + 1]);
                inv_in_vector!(WIDE, c, x[2 * $j], x[2 * $j + 1], p);
            }
        };
    }
    inv_schedule!(stage, pair);
    for (vr, &xr) in v.iter_mut().zip(x.iter()) {
        store(vr, xr);
    }
}

/// Number of stages one register pass takes when `rem` vector-apart stages remain above the
/// leaves of a block of `vecs` vectors.
///
/// A pass touches `2^k` lines `vecs / 2^k` vectors apart; when that stride is a multiple of
/// 4 KiB all of them fall into one set of the (8-way) L1 data cache, so such passes take at
/// most 3 stages. Otherwise 4 stages (16 registers) where that finishes the block evenly.
fn pass_stages(rem: u32, vecs: usize) -> u32 {
    let max = if (vecs >> 4) * 64 >= 4096 { 3 } else { 4 };
    let k = match rem {
        0..=4 => rem,
        5 | 6 => 3,
        7 => 4,
        _ => 3,
    };
    k.min(max)
}

/// Data shared by the recursive drivers.
#[derive(Clone, Copy)]
struct Run<'a> {
    c: Ctx,
    tb: &'a [Twiddle],
    tl: &'a LaneTables,
    last: Option<&'a (Twiddle, Twiddle)>,
}

/// Forward transform of the block `v` (stage `s`, index `i`), depth first: register passes
/// until the block is one leaf of [`LEAF_VECS`] vectors.
#[target_feature(enable = "avx512f,avx512dq")]
fn fwd_block<const WIDE: bool>(r: &Run<'_>, v: &mut [[u64; LANES]], s: usize, i: usize) {
    let rem = (v.len() / LEAF_VECS).trailing_zeros();
    if rem == 0 {
        let tl = r.tl.at(i * LEAF_VECS / 2);
        return fwd_leaf::<WIDE, LEAF_VECS>(r.c, v, r.tb, tl, s, i);
    }
    let k = pass_stages(rem, v.len());
    match k {
        1 => fwd_pass::<WIDE, 2>(r.c, v, r.tb, s, i),
        2 => fwd_pass::<WIDE, 4>(r.c, v, r.tb, s, i),
        3 => fwd_pass::<WIDE, 8>(r.c, v, r.tb, s, i),
        _ => fwd_pass::<WIDE, 16>(r.c, v, r.tb, s, i),
    }
    let k = k as usize;
    let sub = v.len() >> k;
    for (ch, block) in v.chunks_exact_mut(sub).enumerate() {
        fwd_block::<WIDE>(r, block, s + k, (i << k) + ch);
    }
}

/// Inverse transform of the block `v`: the mirror of [`fwd_block`] (children first).
#[target_feature(enable = "avx512f,avx512dq")]
fn inv_block<const WIDE: bool>(r: &Run<'_>, v: &mut [[u64; LANES]], s: usize, i: usize) {
    let last = if s == 0 { r.last } else { None };
    let rem = (v.len() / LEAF_VECS).trailing_zeros();
    if rem == 0 {
        let tl = r.tl.at(i * LEAF_VECS / 2);
        return inv_leaf::<WIDE, LEAF_VECS>(r.c, v, r.tb, tl, s, i, last);
    }
    let k = pass_stages(rem, v.len()) as usize;
    let sub = v.len() >> k;
    for (ch, block) in v.chunks_exact_mut(sub).enumerate() {
        inv_block::<WIDE>(r, block, s + k, (i << k) + ch);
    }
    match k {
        1 => inv_pass::<WIDE, 2>(r.c, v, r.tb, s, i, last),
        2 => inv_pass::<WIDE, 4>(r.c, v, r.tb, s, i, last),
        3 => inv_pass::<WIDE, 8>(r.c, v, r.tb, s, i, last),
        _ => inv_pass::<WIDE, 16>(r.c, v, r.tb, s, i, last),
    }
}

#[target_feature(enable = "avx512f,avx512dq")]
fn forward<const WIDE: bool>(k: &Avx512Tables, t: &Tables, a: &mut [u64]) {
    let c = ctx::<WIDE>(t.q.value());
    let (v, rest) = a.as_chunks_mut::<LANES>();
    debug_assert!(rest.is_empty());
    let (tb, tl) = (&k.fwd_b[..], &k.fwd_l);
    match v.len() {
        2 => fwd_leaf::<WIDE, 2>(c, v, tb, tl.at(0), 0, 0),
        4 => fwd_leaf::<WIDE, 4>(c, v, tb, tl.at(0), 0, 0),
        8 => fwd_leaf::<WIDE, 8>(c, v, tb, tl.at(0), 0, 0),
        _ => fwd_block::<WIDE>(
            &Run {
                c,
                tb,
                tl,
                last: None,
            },
            v,
            0,
            0,
        ),
    }
}

#[target_feature(enable = "avx512f,avx512dq")]
fn inverse<const WIDE: bool>(k: &Avx512Tables, t: &Tables, a: &mut [u64]) {
    let c = ctx::<WIDE>(t.q.value());
    let (v, rest) = a.as_chunks_mut::<LANES>();
    debug_assert!(rest.is_empty());
    let (tb, tl) = (&k.inv_b[..], &k.inv_l);
    let last = Some(&k.last);
    match v.len() {
        2 => inv_leaf::<WIDE, 2>(c, v, tb, tl.at(0), 0, 0, last),
        4 => inv_leaf::<WIDE, 4>(c, v, tb, tl.at(0), 0, 0, last),
        8 => inv_leaf::<WIDE, 8>(c, v, tb, tl.at(0), 0, 0, last),
        _ => inv_block::<WIDE>(&Run { c, tb, tl, last }, v, 0, 0),
    }
}

// ---------------------------------------------------------------------------------------------
// Slot permutations of NTT-form automorphisms
// ---------------------------------------------------------------------------------------------

impl Avx512 {
    /// `dst[i] = src[perm[i]]` (`add = None`) or `dst[i] = (dst[i] + src[perm[i]]) mod q`
    /// (`add = Some(q)`, canonical inputs), for a permutation that maps every aligned block of
    /// eight slots of `dst` into one aligned block of `src` (true of the automorphisms in
    /// bit-reversed NTT order, see `super::permute_slots`): one load, one `vpermq` and one store
    /// per eight slots. A tail shorter than eight slots is gathered one by one.
    pub(crate) fn permute_blocks(
        self,
        dst: &mut [u64],
        src: &[u64],
        perm: &[u32],
        add: Option<u64>,
    ) {
        // SAFETY: the token proves AVX-512F (`detect`); every memory access in the kernel goes
        // through a bounds-checked slice.
        unsafe { permute_blocks_impl(dst, src, perm, add) }
    }
}

#[target_feature(enable = "avx512f")]
fn permute_blocks_impl(dst: &mut [u64], src: &[u64], perm: &[u32], add: Option<u64>) {
    let len = dst.len().min(perm.len());
    let full = len / 8 * 8;
    let q = _mm512_set1_epi64(add.unwrap_or(0).cast_signed());
    for (d, p) in dst[..full]
        .chunks_exact_mut(8)
        .zip(perm[..full].chunks_exact(8))
    {
        let base = (p[0] as usize) & !7;
        let s = &src[base..base + 8];
        // SAFETY: `p` holds exactly 8 readable `u32` (32 bytes), `s` 8 readable words; `loadu`
        // has no alignment requirement.
        let (idx, v) = unsafe {
            (
                _mm512_cvtepu32_epi64(_mm256_loadu_si256(p.as_ptr().cast())),
                _mm512_loadu_si512(s.as_ptr().cast()),
            )
        };
        // `vpermq` reads the low three bits of each index: the lane within the block.
        let mut v = _mm512_permutexvar_epi64(idx, v);
        if add.is_some() {
            // SAFETY: `d` holds exactly 8 readable words.
            let x = unsafe { _mm512_loadu_si512(d.as_ptr().cast()) };
            let s = _mm512_add_epi64(x, v);
            v = _mm512_min_epu64(s, _mm512_sub_epi64(s, q));
        }
        // SAFETY: `d` holds exactly 8 writable words, exclusively borrowed.
        unsafe { _mm512_storeu_si512(d.as_mut_ptr().cast(), v) }
    }
    for i in full..len {
        let v = src[perm[i] as usize];
        dst[i] = match add {
            Some(q) => {
                let s = dst[i] + v;
                s.min(s.wrapping_sub(q))
            }
            None => v,
        };
    }
}

impl Avx512 {
    /// The automorphism `X -> X^k` of one limb in coefficient form, as a gather with sequential
    /// stores: `dst[j] = ±src[e mod n]` for `e = j·k_inv mod 2n` (minus, i.e. `q - x` for
    /// `x != 0`, when `e >= n`), or `dst[j] = [dst[j] ± src[e mod n]]_q` with `add`. `src`
    /// and `dst` have the same power-of-two length `n >= 8`, `k_inv` is odd, values canonical.
    pub(crate) fn automorphism_coeff(
        self,
        dst: &mut [u64],
        src: &[u64],
        k_inv: usize,
        q: u64,
        add: bool,
    ) {
        assert!(src.len() == dst.len() && src.len().is_power_of_two() && src.len() >= 8);
        // SAFETY: the token proves AVX-512F (`detect`); the gather indices are masked below
        // `src.len()` (asserted a power of two), other accesses go through checked slices.
        unsafe { automorphism_coeff_impl(dst, src, k_inv, q, add) }
    }
}

#[target_feature(enable = "avx512f")]
fn automorphism_coeff_impl(dst: &mut [u64], src: &[u64], k_inv: usize, q: u64, add: bool) {
    let n = src.len();
    let mask2n = _mm512_set1_epi64(((2 * n - 1) as u64).cast_signed());
    let mask_n = _mm512_set1_epi64(((n - 1) as u64).cast_signed());
    let nv = _mm512_set1_epi64((n as u64).cast_signed());
    let qv = _mm512_set1_epi64(q.cast_signed());
    let zero = _mm512_setzero_si512();
    let k = k_inv & (2 * n - 1);
    let first: [u64; 8] = core::array::from_fn(|i| ((i * k) & (2 * n - 1)) as u64);
    // SAFETY: `first` is 8 readable words.
    let mut e = unsafe { _mm512_loadu_si512(first.as_ptr().cast()) };
    let step = _mm512_set1_epi64((((8 * k) & (2 * n - 1)) as u64).cast_signed());
    for d in dst.chunks_exact_mut(8) {
        let idx = _mm512_and_si512(e, mask_n);
        // SAFETY: every lane of `idx` is below `n = src.len()` (masked with `n - 1`, `n` a
        // power of two), so the gather reads only `src`.
        let x = unsafe { _mm512_i64gather_epi64::<8>(idx, src.as_ptr().cast()) };
        let neg = _mm512_cmpge_epu64_mask(e, nv) & _mm512_cmpneq_epu64_mask(x, zero);
        let mut v = _mm512_mask_sub_epi64(x, neg, qv, x);
        if add {
            // SAFETY: `d` holds exactly 8 readable words.
            let y = unsafe { _mm512_loadu_si512(d.as_ptr().cast()) };
            let s = _mm512_add_epi64(y, v);
            v = _mm512_min_epu64(s, _mm512_sub_epi64(s, qv));
        }
        // SAFETY: `d` holds exactly 8 writable words, exclusively borrowed.
        unsafe { _mm512_storeu_si512(d.as_mut_ptr().cast(), v) }
        e = _mm512_and_si512(_mm512_add_epi64(e, step), mask2n);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::random_vec;
    use super::*;
    use crate::math::ntt::{Backend, NttPlan};
    use crate::math::primes::largest_ntt_prime;
    use crate::Result;

    /// Largest NTT primes (`q = 1 mod 2^18`) below 2^62, 2^61, 2^60 (the top of the wide
    /// class), 2^51, 2^50 and 2^30: where the lazy ranges are tightest.
    fn primes() -> Result<Vec<u64>> {
        [62, 61, 60, 51, 50, 30]
            .into_iter()
            .map(|bits| largest_ntt_prime(bits, 1 << 17))
            .collect()
    }

    /// Random, all zeros, all `q - 1`, and two one-hot vectors.
    fn inputs(n: usize, q: u64, seed: u64) -> Vec<Vec<u64>> {
        let mut one_hot = vec![0u64; n];
        one_hot[(7919 * n / 3 + 1) % n] = 1 + seed % (q - 1);
        let mut last_hot = vec![0u64; n];
        last_hot[n - 1] = q - 1;
        vec![
            random_vec(seed, n, q),
            vec![0; n],
            vec![q - 1; n],
            one_hot,
            last_hot,
        ]
    }

    /// `mul_lazy` on adversarial operands: the result is congruent to `y w` and below `4q`,
    /// for both classes, at the largest `y` each class admits.
    #[test]
    fn avx512_mul_lazy_bound() -> Result<()> {
        if Avx512::detect().is_none() {
            println!("skipped: this CPU lacks AVX-512F/DQ");
            return Ok(());
        }
        #[target_feature(enable = "avx512f,avx512dq")]
        fn run<const WIDE: bool>(q: u64, y: [u64; LANES], t: &Twiddle) -> [u64; LANES] {
            let mut out = [0u64; LANES];
            store(
                &mut out,
                mul_lazy::<WIDE>(ctx::<WIDE>(q), load(&y), bcast(t)),
            );
            out
        }
        for q in primes()? {
            let wide = q < WIDE_LIMIT;
            let y_max = if wide { (1u64 << 63) - 1 } else { u64::MAX };
            let mut rng = random_vec(q, 64, q);
            rng.extend([0, 1, q - 1, q, 2 * q - 1]);
            for (k, &w) in rng.iter().enumerate() {
                let w = w % q;
                let t = Twiddle::new(q, wide, w);
                let y = [
                    0,
                    1,
                    y_max,
                    y_max - 1,
                    y_max - q,
                    rng[(k + 1) % rng.len()] | (y_max >> 1),
                    y_max / 3,
                    4 * q - 1,
                ];
                let got = if wide {
                    // SAFETY: `detect` saw AVX-512F and AVX-512DQ above.
                    unsafe { run::<true>(q, y, &t) }
                } else {
                    // SAFETY: as above.
                    unsafe { run::<false>(q, y, &t) }
                };
                for (&y, &r) in y.iter().zip(&got) {
                    let want = u128::from(y) * u128::from(w) % u128::from(q);
                    assert!(u128::from(r) < 4 * u128::from(q), "q={q} w={w} y={y}");
                    assert_eq!(u128::from(r) % u128::from(q), want, "q={q} w={w} y={y}");
                }
            }
        }
        Ok(())
    }

    /// The class boundary: `q < 2^60` is wide, larger moduli are general.
    #[test]
    fn avx512_class_boundary() -> Result<()> {
        let Some(token) = Avx512::detect() else {
            println!("skipped: this CPU lacks AVX-512F/DQ");
            return Ok(());
        };
        for (bits, wide) in [(60, true), (61, false), (62, false), (30, true)] {
            let q = largest_ntt_prime(bits, 1 << 17)?;
            let tables = super::super::Tables::new(16, crate::math::modulus::Modulus::new(q)?)?;
            assert_eq!(Avx512Tables::new(token, &tables).wide, wide, "bits={bits}");
        }
        Ok(())
    }

    #[test]
    fn avx512_matches_scalar_bit_for_bit() -> Result<()> {
        if Avx512::detect().is_none() {
            println!("skipped: this CPU lacks AVX-512F/DQ");
            return Ok(());
        }
        for q in primes()? {
            for log_n in 1u32..=16 {
                let n = 1usize << log_n;
                let scalar = NttPlan::with_backend(n, q, Backend::Scalar)?;
                let simd = NttPlan::with_backend(n, q, Backend::Avx512)?;
                assert_eq!(simd.backend(), Backend::Avx512);
                for (case, a) in inputs(n, q, u64::from(log_n)).into_iter().enumerate() {
                    let mut want = a.clone();
                    let mut got = a.clone();
                    scalar.forward(&mut want)?;
                    simd.forward(&mut got)?;
                    assert_eq!(got, want, "forward q={q} n={n} case={case}");
                    // Inverse of arbitrary canonical input, then of the forward output.
                    for b in [a.clone(), want] {
                        let mut want = b.clone();
                        let mut got = b;
                        scalar.inverse(&mut want)?;
                        simd.inverse(&mut got)?;
                        assert_eq!(got, want, "inverse q={q} n={n} case={case}");
                    }
                }
            }
        }
        Ok(())
    }

    #[test]
    fn avx512_roundtrip() -> Result<()> {
        if Avx512::detect().is_none() {
            println!("skipped: this CPU lacks AVX-512F/DQ");
            return Ok(());
        }
        for q in primes()? {
            for log_n in 1u32..=17 {
                let n = 1usize << log_n;
                let plan = NttPlan::with_backend(n, q, Backend::Avx512)?;
                let a = random_vec(99 + u64::from(log_n), n, q);
                let mut b = a.clone();
                plan.forward(&mut b)?;
                assert!(b.iter().all(|&x| x < q));
                plan.inverse(&mut b)?;
                assert_eq!(b, a, "q={q} n={n}");
            }
        }
        Ok(())
    }
}
