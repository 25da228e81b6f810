//! Portable NTT kernels: the reference for every SIMD backend.
//!
//! Harvey's lazy butterflies with Shoup twiddles (module docs of [`super`]).

use super::Tables;
use crate::math::modulus::csub;

/// Forward negacyclic NTT (Cooley–Tukey, natural order in, bit-reversed order out).
///
/// Ranges: inputs in `[0, q)`; between stages every value is in `[0, 4q)`: the butterfly takes
/// `x, y` in `[0, 4q)`, reduces `x` to `[0, 2q)`, forms `t = y·w` in `[0, 2q)` (Shoup, any `y`) and
/// writes `x + t` and `x - t + 2q`, both in `[0, 4q)`. Two conditional subtractions at the end
/// make the output canonical.
pub(crate) fn forward(t: &Tables, a: &mut [u64]) {
    let q = t.q.value();
    let two_q = 2 * q;
    let n = t.n;
    let mut m = 1;
    let mut half = n / 2;
    while m < n {
        for i in 0..m {
            let w = t.fwd[m + i];
            let ws = t.fwd_shoup[m + i];
            let block = &mut a[2 * i * half..2 * (i + 1) * half];
            let (lo, hi) = block.split_at_mut(half);
            for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                debug_assert!(*x < 4 * q && *y < 4 * q);
                let u = csub(*x, two_q);
                let v = t.q.mul_shoup_lazy(*y, w, ws);
                *x = u + v;
                *y = u + two_q - v;
            }
        }
        m <<= 1;
        half >>= 1;
    }
    for x in a.iter_mut() {
        *x = csub(csub(*x, two_q), q);
    }
}

/// Inverse negacyclic NTT (Gentleman–Sande, bit-reversed order in, natural order out), `1/n`
/// included.
///
/// Ranges: inputs in `[0, q)`; between stages every value is in `[0, 2q)`: the butterfly takes
/// `x, y` in `[0, 2q)`, writes `x + y` reduced to `[0, 2q)` and `(x - y + 2q)·w` in `[0, 2q)`
/// (Shoup). The final multiplication by `n^-1` (Shoup, full reduction) makes the output canonical.
pub(crate) fn inverse(t: &Tables, a: &mut [u64]) {
    let q = t.q.value();
    let two_q = 2 * q;
    let n = t.n;
    let mut m = n / 2;
    let mut half = 1;
    while m >= 1 {
        for i in 0..m {
            let w = t.inv[m + i];
            let ws = t.inv_shoup[m + i];
            let block = &mut a[2 * i * half..2 * (i + 1) * half];
            let (lo, hi) = block.split_at_mut(half);
            for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                debug_assert!(*x < two_q && *y < two_q);
                let u = *x;
                let v = *y;
                *x = csub(u + v, two_q);
                *y = t.q.mul_shoup_lazy(u + two_q - v, w, ws);
            }
        }
        m >>= 1;
        half <<= 1;
    }
    for x in a.iter_mut() {
        *x = t.q.mul_shoup(*x, t.n_inv, t.n_inv_shoup);
    }
}
