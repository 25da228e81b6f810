#![allow(unsafe_code)]
//! AVX2 NTT kernels: four 64-bit lanes, any prime `q < 2^62`; the fallback on CPUs without
//! AVX-512.
//!
//! The transform, the lazy-range classes and the schedule are those of the AVX-512 kernels
//! (`avx512.rs`, whose module docs give the derivations): Harvey's butterflies with Shoup
//! twiddles (Harvey, "Faster arithmetic for number-theoretic transforms", J. Symb. Comp. 2014)
//! on the merged negacyclic Cooley–Tukey / Gentleman–Sande transforms (Longa and Naehrig, CANS
//! 2016, Algorithms 1 and 2), with every output fully reduced, so the result is bit-identical
//! to [`super::scalar`]. What AVX2 lacks is made up as follows:
//! * no 64-bit low product (`vpmullq`): `y w - quot q mod 2^64` is assembled from six
//!   32×32→64 `vpmuludq` products ([`mul_lazy`]);
//! * no unsigned 64-bit minimum: the conditional subtraction selects on the sign of `x - c`
//!   with `vblendvpd`, which is exact for `x < 2c <= 2^64` ([`csub`]);
//! * sixteen registers: leaves of 4 vectors (16 coefficients: two vector-apart stages and the
//!   two in-vector stages `half = 2, 1`) and radix-4 register passes.
//!
//! Transforms shorter than 8 coefficients use the scalar kernels.

use super::{scalar, Tables};
use core::arch::x86_64::*;

/// Coefficients per vector.
const LANES: usize = 4;
/// Smallest transform done with vectors: one pair of vectors.
const MIN_N: usize = 2 * LANES;
/// Vectors per leaf.
const LEAF_VECS: usize = 4;
/// Moduli below this bound use the wide class (lazy bound `4q`, values below `8q < 2^63`).
const WIDE_LIMIT: u64 = 1 << 60;

/// Zero-sized proof that the CPU has AVX2.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2(());

impl Avx2 {
    /// Returns the token if the CPU supports AVX2.
    pub(crate) fn detect() -> Option<Self> {
        is_x86_feature_detected!("avx2").then_some(Self(()))
    }
}

/// A twiddle `w` for broadcasting: `w`, its Shoup companion `ws = floor(w 2^e / q)` (`e = 64`
/// in the general class, `63` in the wide one), `ws >> 32` and `2 (ws >> 32)`; 32 bytes.
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

/// Per-lane twiddles `(w, ws, ws >> 32)` of one in-vector stage for one pair of vectors,
/// 32-byte aligned; layouts at [`packet_index`].
#[derive(Clone, Copy, Debug)]
#[repr(C, align(32))]
struct Packet {
    w: [u64; LANES],
    ws: [u64; LANES],
    ws_hi: [u64; LANES],
}

/// The per-lane twiddles of the in-vector stages, one packet per pair of vectors and stage.
#[derive(Clone, Debug, Default)]
struct LaneTables {
    h1: Vec<Packet>,
    h2: Vec<Packet>,
}

/// Twiddle indices (into `Tables::fwd`/`inv`) of the packets of pair `p`: `half = 2`, then `1`.
///
/// With `A`, `B` the two vectors (groups `g = 2p`, `g + 1`):
/// * `half = 2`: `[A0 A1 B0 B1]` against `[A2 A3 B2 B3]`: twiddles `[a a b b]`;
/// * `half = 1`: `[A0 A2 B0 B2]` against `[A1 A3 B1 B3]`: four distinct.
fn packet_index(n: usize, p: usize) -> [[usize; LANES]; 2] {
    let g = 2 * p;
    [
        [g, g, g + 1, g + 1].map(|k| n / 4 + k),
        [0, 1, 2, 3].map(|k| n / 2 + 2 * g + k),
    ]
}

impl LaneTables {
    /// Packets of the `n / 8` pairs from the twiddles `tw` (`Tables::fwd` or `inv`).
    fn new(n: usize, q: u64, wide: bool, tw: &[u64]) -> Self {
        let packet = |k: [usize; LANES]| {
            let w = k.map(|k| tw[k]);
            let ws = w.map(|w| companion(q, wide, w));
            Packet {
                w,
                ws,
                ws_hi: ws.map(|x| x >> 32),
            }
        };
        let mut t = Self::default();
        for p in 0..n / 8 {
            let [k2, k1] = packet_index(n, p);
            t.h2.push(packet(k2));
            t.h1.push(packet(k1));
        }
        t
    }
}

/// AVX2 precomputation: twiddles re-laid out in the order the kernels read them.
#[derive(Clone, Debug)]
pub(crate) struct Avx2Tables {
    _token: Avx2,
    /// `q < 2^60`: the wide class.
    wide: bool,
    /// `fwd_b[k]` = `Tables::fwd[k]` for the vector-apart stages (`k < n/4`).
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

impl Avx2Tables {
    /// Re-lays out the twiddles of `t` for the AVX2 kernels.
    pub(crate) fn new(token: Avx2, t: &Tables) -> Self {
        let n = t.n;
        let q = t.q.value();
        let wide = q < WIDE_LIMIT;
        let (fwd_b, inv_b, fwd_l, inv_l) = if n >= MIN_N {
            // Stage s has 2^s blocks of half-length n/2^(s+1) >= 4, so the indices 2^s + i stay
            // below n/4.
            let b = |tw: &[u64]| (0..n / 4).map(|k| Twiddle::new(q, wide, tw[k])).collect();
            (
                b(&t.fwd),
                b(&t.inv),
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
            // SAFETY: an `Avx2` token exists only if `detect` saw AVX2, the feature `forward`
            // enables.
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
            // SAFETY: an `Avx2` token exists only if `detect` saw AVX2, the feature `inverse`
            // enables.
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
    q: __m256i,
    q_hi: __m256i,
    q2: __m256i,
    /// The lazy bound `b` of the class: `2q` (general) or `4q` (wide).
    b: __m256i,
}

/// A twiddle in registers (broadcast or per lane): [`Twiddle`]'s fields and `w >> 32`.
#[derive(Clone, Copy)]
struct Tw {
    w: __m256i,
    w_hi: __m256i,
    ws: __m256i,
    ws_hi: __m256i,
    ws_hi2: __m256i,
}

#[inline]
#[target_feature(enable = "avx2")]
fn splat(x: u64) -> __m256i {
    _mm256_set1_epi64x(x.cast_signed())
}

#[inline]
#[target_feature(enable = "avx2")]
fn ctx<const WIDE: bool>(q: u64) -> Ctx {
    Ctx {
        q: splat(q),
        q_hi: splat(q >> 32),
        q2: splat(2 * q),
        b: splat(if WIDE { 4 * q } else { 2 * q }),
    }
}

#[inline]
#[target_feature(enable = "avx2")]
fn bcast(t: &Twiddle) -> Tw {
    Tw {
        w: splat(t.w),
        w_hi: splat(t.w >> 32),
        ws: splat(t.ws),
        ws_hi: splat(t.ws_hi),
        ws_hi2: splat(t.ws_hi2),
    }
}

/// Per-lane twiddle of a packet.
#[inline]
#[target_feature(enable = "avx2")]
fn lane_tw(p: &Packet) -> Tw {
    // SAFETY: each field is 32 readable bytes, 32-byte aligned (`Packet` is 32-byte aligned
    // and its fields are 32 bytes long).
    let (w, ws, ws_hi) = unsafe {
        (
            _mm256_load_si256(p.w.as_ptr().cast()),
            _mm256_load_si256(p.ws.as_ptr().cast()),
            _mm256_load_si256(p.ws_hi.as_ptr().cast()),
        )
    };
    Tw {
        w,
        w_hi: _mm256_srli_epi64::<32>(w),
        ws,
        ws_hi,
        ws_hi2: _mm256_add_epi64(ws_hi, ws_hi),
    }
}

#[inline]
#[target_feature(enable = "avx2")]
fn load(v: &[u64; LANES]) -> __m256i {
    // SAFETY: `v` is 32 readable bytes; the unaligned load has no alignment requirement.
    unsafe { _mm256_loadu_si256(v.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx2")]
fn store(v: &mut [u64; LANES], x: __m256i) {
    // SAFETY: `v` is 32 writable bytes, exclusively borrowed; the store is unaligned.
    unsafe { _mm256_storeu_si256(v.as_mut_ptr().cast(), x) }
}

/// Every lane of `x` is below `k q` (debug checks only).
#[inline]
#[target_feature(enable = "avx2")]
fn below(c: Ctx, x: __m256i, k: u64) -> bool {
    let mut lanes = [0u64; LANES];
    let mut q = [0u64; LANES];
    store(&mut lanes, x);
    store(&mut q, c.q);
    lanes
        .iter()
        .all(|&l| u128::from(l) < u128::from(k) * u128::from(q[0]))
}

/// `x - c` where `x >= c`, else `x`, for lanes `x < 2c` with `c <= 2^63`: then `x - c` is
/// negative as a signed number exactly when `x < c` (if `x >= c` it lies in `[0, c)`, below
/// `2^63`; if `x < c` it wraps to `[2^64 - c, 2^64)`, at least `2^63`), and `vblendvpd`
/// selects on that sign bit.
#[inline]
#[target_feature(enable = "avx2")]
fn csub(x: __m256i, c: __m256i) -> __m256i {
    let t = _mm256_sub_epi64(x, c);
    _mm256_castpd_si256(_mm256_blendv_pd(
        _mm256_castsi256_pd(t),
        _mm256_castsi256_pd(x),
        _mm256_castsi256_pd(t),
    ))
}

/// Shoup product up to three `q`: returns `y w - quot q` in `[0, 4q)`, congruent to `y w`,
/// for `y < 2^64` (general) or `y < 2^63` (wide). The quotient estimate `quot` is the one of
/// `avx512::mul_lazy` (three of the four 32-bit partial products of `y ws`, at most 3 below
/// `floor(y w / q)`); the remainder, exact modulo `2^64` because it is below `4q < 2^64`, is
/// assembled from 32-bit halves, `u = uh 2^32 + ul`:
/// `y w - quot q = (yl wl - ql' ql) + (yh wl + yl wh - qh' ql - ql' qh) 2^32 (mod 2^64)`,
/// with `ql', qh'` the halves of `quot`.
#[inline]
#[target_feature(enable = "avx2")]
fn mul_lazy<const WIDE: bool>(c: Ctx, y: __m256i, t: Tw) -> __m256i {
    debug_assert!(!WIDE || _mm256_movemask_pd(_mm256_castsi256_pd(y)) == 0);
    let yh = _mm256_srli_epi64::<32>(y);
    let lh = _mm256_mul_epu32(y, t.ws_hi);
    let hl = _mm256_mul_epu32(yh, t.ws);
    let quot = if WIDE {
        let hh2 = _mm256_mul_epu32(yh, t.ws_hi2);
        _mm256_add_epi64(hh2, _mm256_srli_epi64::<31>(_mm256_add_epi64(lh, hl)))
    } else {
        let hh = _mm256_mul_epu32(yh, t.ws_hi);
        _mm256_add_epi64(
            _mm256_add_epi64(hh, _mm256_srli_epi64::<32>(lh)),
            _mm256_srli_epi64::<32>(hl),
        )
    };
    let quot_hi = _mm256_srli_epi64::<32>(quot);
    let low = _mm256_sub_epi64(_mm256_mul_epu32(y, t.w), _mm256_mul_epu32(quot, c.q));
    let cross = _mm256_sub_epi64(
        _mm256_add_epi64(_mm256_mul_epu32(yh, t.w), _mm256_mul_epu32(y, t.w_hi)),
        _mm256_add_epi64(
            _mm256_mul_epu32(quot_hi, c.q),
            _mm256_mul_epu32(quot, c.q_hi),
        ),
    );
    let r = _mm256_add_epi64(low, _mm256_slli_epi64::<32>(cross));
    debug_assert!(below(c, r, 4));
    r
}

/// Shoup product in the class's product range: `[0, 4q)` (wide) or `[0, 2q)` (general).
#[inline]
#[target_feature(enable = "avx2")]
fn mul_b<const WIDE: bool>(c: Ctx, y: __m256i, t: Tw) -> __m256i {
    let r = mul_lazy::<WIDE>(c, y, t);
    if WIDE {
        r
    } else {
        csub(r, c.q2)
    }
}

/// Forward butterfly with lazy bound `b`: `x, y` in `[0, 2b)` in; `u = x mod b` and
/// `v = y w` in `[0, b)`; `u + v` and `u - v + b` in `[0, 2b)` out.
#[inline]
#[target_feature(enable = "avx2")]
fn fwd_bfly<const WIDE: bool>(c: Ctx, x: __m256i, y: __m256i, t: Tw) -> (__m256i, __m256i) {
    let k = if WIDE { 8 } else { 4 };
    debug_assert!(below(c, x, k) && below(c, y, k));
    let u = csub(x, c.b);
    let v = mul_b::<WIDE>(c, y, t);
    (
        _mm256_add_epi64(u, v),
        _mm256_sub_epi64(_mm256_add_epi64(u, c.b), v),
    )
}

/// Inverse butterfly with lazy bound `b`: `x, y` in `[0, b)` in; `x + y` reduced to `[0, b)`;
/// `(x - y + b) w` in `[0, b)`.
#[inline]
#[target_feature(enable = "avx2")]
fn inv_bfly<const WIDE: bool>(c: Ctx, x: __m256i, y: __m256i, t: Tw) -> (__m256i, __m256i) {
    let k = if WIDE { 4 } else { 2 };
    debug_assert!(below(c, x, k) && below(c, y, k));
    let s = csub(_mm256_add_epi64(x, y), c.b);
    let d = _mm256_sub_epi64(_mm256_add_epi64(x, c.b), y);
    (s, mul_b::<WIDE>(c, d, t))
}

/// `x` in `[0, 4q)` to `[0, q)`.
#[inline]
#[target_feature(enable = "avx2")]
fn reduce_4q(c: Ctx, x: __m256i) -> __m256i {
    csub(csub(x, c.q2), c.q)
}

/// Last inverse butterfly fused with `1/n`: `x, y` in `[0, b)` in; `(x + y) n^-1` and
/// `(x - y + b) (w n^-1)` in `[0, 4q)`, reduced: canonical out.
#[inline]
#[target_feature(enable = "avx2")]
fn inv_last_bfly<const WIDE: bool>(
    c: Ctx,
    x: __m256i,
    y: __m256i,
    tn: Tw,
    tw: Tw,
) -> (__m256i, __m256i) {
    let k = if WIDE { 4 } else { 2 };
    debug_assert!(below(c, x, k) && below(c, y, k));
    let s = _mm256_add_epi64(x, y);
    let d = _mm256_sub_epi64(_mm256_add_epi64(x, c.b), y);
    (
        reduce_4q(c, mul_lazy::<WIDE>(c, s, tn)),
        reduce_4q(c, mul_lazy::<WIDE>(c, d, tw)),
    )
}

/// Broadcast twiddle of stage `s + t`, sub-block `b` of the block `(s, i)`: `Tables` index
/// `2^(s+t) + i 2^t + b`.
macro_rules! btw {
    ($tb:expr, $s:expr, $i:expr, $t:expr, $b:expr) => {
        bcast(&$tb[(1usize << ($s + $t)) + ($i << $t) + $b])
    };
}

/// One forward register pass: stages `s .. s + log2 N` of the block `v` (index `i`): `N`
/// vectors `v.len() / N` apart per step, butterflies `N/2`, `N/4`, ... registers apart.
#[target_feature(enable = "avx2")]
fn fwd_pass<const WIDE: bool, const N: usize>(
    c: Ctx,
    v: &mut [[u64; LANES]],
    tb: &[Twiddle],
    s: usize,
    i: usize,
) {
    let stride = v.len() / N;
    let k = N.trailing_zeros() as usize;
    for j in 0..stride {
        let mut x = [_mm256_setzero_si256(); N];
        for (r, xr) in x.iter_mut().enumerate() {
            *xr = load(&v[j + r * stride]);
        }
        for t in 0..k {
            let h = N >> (t + 1);
            for b in 0..(1usize << t) {
                let w = btw!(tb, s, i, t, b);
                for r in 2 * h * b..2 * h * b + h {
                    (x[r], x[r + h]) = fwd_bfly::<WIDE>(c, x[r], x[r + h], w);
                }
            }
        }
        for (r, &xr) in x.iter().enumerate() {
            store(&mut v[j + r * stride], xr);
        }
    }
}

/// One inverse register pass: stages `s + log2 N - 1` down to `s` of the block `v`; with
/// `last`, stage `s = 0` is the transform's last, fused with `1/n`.
#[target_feature(enable = "avx2")]
fn inv_pass<const WIDE: bool, const N: usize>(
    c: Ctx,
    v: &mut [[u64; LANES]],
    tb: &[Twiddle],
    s: usize,
    i: usize,
    last: Option<&(Twiddle, Twiddle)>,
) {
    let stride = v.len() / N;
    let k = N.trailing_zeros() as usize;
    for j in 0..stride {
        let mut x = [_mm256_setzero_si256(); N];
        for (r, xr) in x.iter_mut().enumerate() {
            *xr = load(&v[j + r * stride]);
        }
        for t in (1..k).rev() {
            let h = N >> (t + 1);
            for b in 0..(1usize << t) {
                let w = btw!(tb, s, i, t, b);
                for r in 2 * h * b..2 * h * b + h {
                    (x[r], x[r + h]) = inv_bfly::<WIDE>(c, x[r], x[r + h], w);
                }
            }
        }
        let h = N / 2;
        if let Some(last) = last {
            let (tn, tw1) = (bcast(&last.0), bcast(&last.1));
            for r in 0..h {
                (x[r], x[r + h]) = inv_last_bfly::<WIDE>(c, x[r], x[r + h], tn, tw1);
            }
        } else {
            let w = btw!(tb, s, i, 0, 0);
            for r in 0..h {
                (x[r], x[r + h]) = inv_bfly::<WIDE>(c, x[r], x[r + h], w);
            }
        }
        for (r, &xr) in x.iter().enumerate() {
            store(&mut v[j + r * stride], xr);
        }
    }
}

/// The two in-vector forward stages on the pair `$a, $b` (packets `$h2`, `$h1`, layouts at
/// [`packet_index`]), then the reduction to `[0, q)`.
macro_rules! fwd_in_vector {
    ($wide:expr, $c:expr, $a:expr, $b:expr, $h2:expr, $h1:expr) => {{
        let c = $c;
        let (x, y) = (
            _mm256_permute2x128_si256::<0x20>($a, $b),
            _mm256_permute2x128_si256::<0x31>($a, $b),
        );
        let (x, y) = fwd_bfly::<$wide>(c, x, y, lane_tw($h2));
        let (x, y) = (_mm256_unpacklo_epi64(x, y), _mm256_unpackhi_epi64(x, y));
        let (x, y) = fwd_bfly::<$wide>(c, x, y, lane_tw($h1));
        // [0, 2b) to [0, q): one more conditional subtraction when b = 4q.
        let (x, y) = if $wide {
            (csub(x, c.b), csub(y, c.b))
        } else {
            (x, y)
        };
        let (x, y) = (reduce_4q(c, x), reduce_4q(c, y));
        let (lo, hi) = (_mm256_unpacklo_epi64(x, y), _mm256_unpackhi_epi64(x, y));
        $a = _mm256_permute2x128_si256::<0x20>(lo, hi);
        $b = _mm256_permute2x128_si256::<0x31>(lo, hi);
    }};
}

/// The two in-vector inverse stages on the pair `$a, $b`: the mirror of [`fwd_in_vector`].
macro_rules! inv_in_vector {
    ($wide:expr, $c:expr, $a:expr, $b:expr, $h2:expr, $h1:expr) => {{
        let c = $c;
        let (lo, hi) = (
            _mm256_permute2x128_si256::<0x20>($a, $b),
            _mm256_permute2x128_si256::<0x31>($a, $b),
        );
        let (x, y) = (_mm256_unpacklo_epi64(lo, hi), _mm256_unpackhi_epi64(lo, hi));
        let (x, y) = inv_bfly::<$wide>(c, x, y, lane_tw($h1));
        let (x, y) = (_mm256_unpacklo_epi64(x, y), _mm256_unpackhi_epi64(x, y));
        let (x, y) = inv_bfly::<$wide>(c, x, y, lane_tw($h2));
        $a = _mm256_permute2x128_si256::<0x20>(x, y);
        $b = _mm256_permute2x128_si256::<0x31>(x, y);
    }};
}

/// Depth-first schedule of a leaf of up to 8 registers (see `avx512.rs`): `$stage!(lo, size)`
/// applies the vector-apart stage to registers `lo .. lo + size`, `$pair!(j)` the in-vector
/// stages to registers `2j, 2j + 1`.
macro_rules! fwd_schedule {
    ($stage:ident, $pair:ident) => {
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
    };
}

/// The reverse of [`fwd_schedule`].
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
    };
}

/// Forward leaf: the block `v` of `N` vectors (`N <= 8`) at stage `s`, index `i`, with the
/// packets `h2`, `h1` of its pairs. Output canonical.
#[target_feature(enable = "avx2")]
fn fwd_leaf<const WIDE: bool, const N: usize>(
    c: Ctx,
    v: &mut [[u64; LANES]],
    tb: &[Twiddle],
    (h2, h1): (&[Packet], &[Packet]),
    s: usize,
    i: usize,
) {
    let v = &mut v[..N];
    let mut x = [_mm256_setzero_si256(); N];
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
                fwd_in_vector!(WIDE, c, x[2 * $j], x[2 * $j + 1], &h2[$j], &h1[$j]);
                store(&mut v[2 * $j], x[2 * $j]);
                store(&mut v[2 * $j + 1], x[2 * $j + 1]);
            }
        };
    }
    fwd_schedule!(stage, pair);
}

/// Inverse leaf: the mirror of [`fwd_leaf`]; `last` when the leaf is the whole transform.
#[target_feature(enable = "avx2")]
fn inv_leaf<const WIDE: bool, const N: usize>(
    c: Ctx,
    v: &mut [[u64; LANES]],
    tb: &[Twiddle],
    (h2, h1): (&[Packet], &[Packet]),
    s: usize,
    i: usize,
    last: Option<&(Twiddle, Twiddle)>,
) {
    let v = &mut v[..N];
    let mut x = [_mm256_setzero_si256(); N];
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
                x[2 * $j] = load(&v[2 * $j]);
                x[2 * $j + 1] = load(&v[2 * $j + 1]);
                inv_in_vector!(WIDE, c, x[2 * $j], x[2 * $j + 1], &h2[$j], &h1[$j]);
            }
        };
    }
    inv_schedule!(stage, pair);
    for (vr, &xr) in v.iter_mut().zip(x.iter()) {
        store(vr, xr);
    }
}

/// Data shared by the recursive drivers.
struct Run<'a> {
    c: Ctx,
    tb: &'a [Twiddle],
    tl: &'a LaneTables,
    last: Option<&'a (Twiddle, Twiddle)>,
}

impl Run<'_> {
    /// The packets of the leaf with index `i`.
    fn packets(&self, i: usize) -> (&[Packet], &[Packet]) {
        let p = i * LEAF_VECS / 2;
        (&self.tl.h2[p..], &self.tl.h1[p..])
    }
}

/// Forward transform of the block `v` (stage `s`, index `i`), depth first: radix-4 (or a final
/// radix-2) register passes until the block is one leaf.
#[target_feature(enable = "avx2")]
fn fwd_block<const WIDE: bool>(r: &Run<'_>, v: &mut [[u64; LANES]], s: usize, i: usize) {
    if v.len() == LEAF_VECS {
        return fwd_leaf::<WIDE, LEAF_VECS>(r.c, v, r.tb, r.packets(i), s, i);
    }
    let k = if v.len() == 2 * LEAF_VECS { 1 } else { 2 };
    if k == 1 {
        fwd_pass::<WIDE, 2>(r.c, v, r.tb, s, i);
    } else {
        fwd_pass::<WIDE, 4>(r.c, v, r.tb, s, i);
    }
    let sub = v.len() >> k;
    for (ch, block) in v.chunks_exact_mut(sub).enumerate() {
        fwd_block::<WIDE>(r, block, s + k, (i << k) + ch);
    }
}

/// Inverse transform of the block `v`: the mirror of [`fwd_block`] (children first).
#[target_feature(enable = "avx2")]
fn inv_block<const WIDE: bool>(r: &Run<'_>, v: &mut [[u64; LANES]], s: usize, i: usize) {
    let last = if s == 0 { r.last } else { None };
    if v.len() == LEAF_VECS {
        return inv_leaf::<WIDE, LEAF_VECS>(r.c, v, r.tb, r.packets(i), s, i, last);
    }
    let k = if v.len() == 2 * LEAF_VECS { 1 } else { 2 };
    let sub = v.len() >> k;
    for (ch, block) in v.chunks_exact_mut(sub).enumerate() {
        inv_block::<WIDE>(r, block, s + k, (i << k) + ch);
    }
    if k == 1 {
        inv_pass::<WIDE, 2>(r.c, v, r.tb, s, i, last);
    } else {
        inv_pass::<WIDE, 4>(r.c, v, r.tb, s, i, last);
    }
}

#[target_feature(enable = "avx2")]
fn forward<const WIDE: bool>(k: &Avx2Tables, t: &Tables, a: &mut [u64]) {
    let c = ctx::<WIDE>(t.q.value());
    let (v, rest) = a.as_chunks_mut::<LANES>();
    debug_assert!(rest.is_empty());
    let run = Run {
        c,
        tb: &k.fwd_b,
        tl: &k.fwd_l,
        last: None,
    };
    if v.len() == 2 {
        fwd_leaf::<WIDE, 2>(c, v, run.tb, run.packets(0), 0, 0);
    } else {
        fwd_block::<WIDE>(&run, v, 0, 0);
    }
}

#[target_feature(enable = "avx2")]
fn inverse<const WIDE: bool>(k: &Avx2Tables, t: &Tables, a: &mut [u64]) {
    let c = ctx::<WIDE>(t.q.value());
    let (v, rest) = a.as_chunks_mut::<LANES>();
    debug_assert!(rest.is_empty());
    let run = Run {
        c,
        tb: &k.inv_b,
        tl: &k.inv_l,
        last: Some(&k.last),
    };
    if v.len() == 2 {
        inv_leaf::<WIDE, 2>(c, v, run.tb, run.packets(0), 0, 0, run.last);
    } else {
        inv_block::<WIDE>(&run, v, 0, 0);
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
    fn avx2_mul_lazy_bound() -> Result<()> {
        if Avx2::detect().is_none() {
            println!("skipped: this CPU lacks AVX2");
            return Ok(());
        }
        #[target_feature(enable = "avx2")]
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
                for y in [
                    [0, 1, y_max, y_max - 1],
                    [
                        y_max - q,
                        rng[(k + 1) % rng.len()] | (y_max >> 1),
                        y_max / 3,
                        4 * q - 1,
                    ],
                ] {
                    let got = if wide {
                        // SAFETY: `detect` saw AVX2 above.
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
        }
        Ok(())
    }

    /// The class boundary: `q < 2^60` is wide, larger moduli are general.
    #[test]
    fn avx2_class_boundary() -> Result<()> {
        let Some(token) = Avx2::detect() else {
            println!("skipped: this CPU lacks AVX2");
            return Ok(());
        };
        for (bits, wide) in [(60, true), (61, false), (62, false), (30, true)] {
            let q = largest_ntt_prime(bits, 1 << 17)?;
            let tables = super::super::Tables::new(16, crate::math::modulus::Modulus::new(q)?)?;
            assert_eq!(Avx2Tables::new(token, &tables).wide, wide, "bits={bits}");
        }
        Ok(())
    }

    #[test]
    fn avx2_matches_scalar_bit_for_bit() -> Result<()> {
        if Avx2::detect().is_none() {
            println!("skipped: this CPU lacks AVX2");
            return Ok(());
        }
        for q in primes()? {
            for log_n in 1u32..=16 {
                let n = 1usize << log_n;
                let scalar = NttPlan::with_backend(n, q, Backend::Scalar)?;
                let simd = NttPlan::with_backend(n, q, Backend::Avx2)?;
                assert_eq!(simd.backend(), Backend::Avx2);
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
    fn avx2_roundtrip() -> Result<()> {
        if Avx2::detect().is_none() {
            println!("skipped: this CPU lacks AVX2");
            return Ok(());
        }
        for q in primes()? {
            for log_n in 1u32..=17 {
                let n = 1usize << log_n;
                let plan = NttPlan::with_backend(n, q, Backend::Avx2)?;
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
