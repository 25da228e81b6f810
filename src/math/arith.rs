//! Element-wise arithmetic on slices of residues modulo one prime.
//!
//! These are the loops behind polynomial addition, subtraction, negation and pointwise
//! products. They are written once, in safe Rust, and compiled by `multiversion` for AVX-512,
//! AVX2 and the baseline; the best version is picked at run time. Every version computes the
//! same canonical result in `[0, q)` (inputs must be canonical), so results are bit-identical on
//! every CPU. All loops are branch-free (minimum-based conditional subtraction), so they are
//! constant time with respect to the values.

use crate::math::modulus::Modulus;
use multiversion::multiversion;

/// `a[i] = (a[i] + b[i]) mod q`.
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
pub(crate) fn add_assign(a: &mut [u64], b: &[u64], q: u64) {
    debug_assert_eq!(a.len(), b.len());
    for (x, &y) in a.iter_mut().zip(b) {
        let s = *x + y;
        *x = s.min(s.wrapping_sub(q));
    }
}

/// `a[i] = (a[i] - b[i]) mod q`.
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
pub(crate) fn sub_assign(a: &mut [u64], b: &[u64], q: u64) {
    debug_assert_eq!(a.len(), b.len());
    for (x, &y) in a.iter_mut().zip(b) {
        let s = *x + q - y;
        *x = s.min(s.wrapping_sub(q));
    }
}

/// `a[i] = (b[i] - a[i]) mod q` (reverse subtraction, saves a copy in `x - y` with `y` in place).
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
pub(crate) fn rsub_assign(a: &mut [u64], b: &[u64], q: u64) {
    debug_assert_eq!(a.len(), b.len());
    for (x, &y) in a.iter_mut().zip(b) {
        let s = y + q - *x;
        *x = s.min(s.wrapping_sub(q));
    }
}

/// `a[i] = -a[i] mod q`.
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
pub(crate) fn neg_assign(a: &mut [u64], q: u64) {
    for x in a.iter_mut() {
        let s = q - *x;
        *x = s.min(s.wrapping_sub(q));
    }
}

/// `a[i] = a[i] * w mod q` with `w` in `[0, q)` and `w_shoup = q.shoup(w)` (Shoup).
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
pub(crate) fn mul_scalar_assign(a: &mut [u64], w: u64, w_shoup: u64, q: u64) {
    for x in a.iter_mut() {
        let est = ((u128::from(*x) * u128::from(w_shoup)) >> 64) as u64;
        let r = x.wrapping_mul(w).wrapping_sub(est.wrapping_mul(q));
        *x = r.min(r.wrapping_sub(q));
    }
}

/// `out[i] = c[i] mod q` for small signed values `|c[i]| < q` (errors, ternary secrets):
/// `c + q` when `c < 0`, selected with the sign mask (branch-free, constant time).
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
pub(crate) fn lift_small(out: &mut [u64], c: &[i64], q: u64) {
    debug_assert_eq!(out.len(), c.len());
    for (o, &x) in out.iter_mut().zip(c) {
        debug_assert!(x.unsigned_abs() < q);
        let neg = x.cast_unsigned() >> 63;
        *o = x.cast_unsigned().wrapping_add(q & 0u64.wrapping_sub(neg));
    }
}

/// `x[i] = (x[i] - y[i]) · w mod q` with `x[i], y[i], w` in `[0, q)` and `w_shoup = q.shoup(w)`
/// (the last step of a division by a special prime).
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
pub(crate) fn sub_mul_scalar_assign(x: &mut [u64], y: &[u64], w: u64, w_shoup: u64, q: u64) {
    debug_assert_eq!(x.len(), y.len());
    for (a, &b) in x.iter_mut().zip(y) {
        let d = a.wrapping_sub(b);
        let d = d.min(d.wrapping_add(q));
        let est = ((u128::from(d) * u128::from(w_shoup)) >> 64) as u64;
        let r = d.wrapping_mul(w).wrapping_sub(est.wrapping_mul(q));
        *a = r.min(r.wrapping_sub(q));
    }
}

/// `x[i] = x[i] - y[i] · w mod q` with `x[i], w` in `[0, q)`, any `y[i] < 2^64` and
/// `w_shoup = q.shoup(w)`.
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
pub(crate) fn sub_scaled_assign(x: &mut [u64], y: &[u64], w: u64, w_shoup: u64, q: u64) {
    debug_assert_eq!(x.len(), y.len());
    for (a, &b) in x.iter_mut().zip(y) {
        let est = ((u128::from(b) * u128::from(w_shoup)) >> 64) as u64;
        let t = b.wrapping_mul(w).wrapping_sub(est.wrapping_mul(q));
        let t = t.min(t.wrapping_sub(q));
        let d = a.wrapping_sub(t);
        *a = d.min(d.wrapping_add(q));
    }
}

/// `y[i] = y[i] + e[i] mod p` for small signed `|e[i]| < p` (an error added to residues).
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
pub(crate) fn add_small_assign(y: &mut [u64], e: &[i64], p: u64) {
    debug_assert_eq!(y.len(), e.len());
    for (a, &x) in y.iter_mut().zip(e) {
        let lifted = x
            .cast_unsigned()
            .wrapping_add(p & (x >> 63).cast_unsigned());
        let s = a.wrapping_add(lifted);
        *a = s.min(s.wrapping_sub(p));
    }
}

/// `out[i] = (centre_p(y[i]) - e[i]) mod q`, `centre_p` taking a residue `y[i]` in `[0, p)` to
/// `(-p/2, p/2]`, for small signed `|e[i]| < 2^40`, `p < 2^62` and a prime `2^12 < q < 2^62`
/// (the rounding term of a division by the special prime `p`, moved to the prime `q`).
#[multiversion(targets("x86_64+avx512f+avx512dq+avx512vl", "x86_64+avx2+fma"))]
pub(crate) fn centred_sub_reduce(out: &mut [u64], y: &[u64], e: &[i64], p: u64, q: u64) {
    debug_assert!(out.len() == y.len() && y.len() == e.len());
    let half = p / 2;
    let (pi, qi) = (p.cast_signed(), q.cast_signed());
    #[allow(clippy::cast_precision_loss)]
    let inv = 1.0 / q as f64;
    for ((o, &a), &x) in out.iter_mut().zip(y).zip(e) {
        let above = -i64::from(a > half);
        *o = reduce_i64_f64(a.cast_signed() - (pi & above) - x, qi, inv);
    }
}

/// `out[i] = c[i] mod q` for any `i64` values and a prime `2^12 < q < 2^62` (the quotient's
/// `f64` estimate is off by at most one: its relative error is below `2^-51` and
/// `|c/q| < 2^51`). Branch-free; the same residues as [`Modulus::reduce_i64`].
#[multiversion(targets("x86_64+avx512f+avx512dq+avx512vl", "x86_64+avx2+fma"))]
pub(crate) fn reduce_i64_slice(out: &mut [u64], c: &[i64], q: u64) {
    debug_assert!(q > 1 << 12 && q < 1 << 62);
    debug_assert_eq!(out.len(), c.len());
    let qi = q.cast_signed();
    #[allow(clippy::cast_precision_loss)]
    let inv = 1.0 / q as f64;
    for (o, &x) in out.iter_mut().zip(c) {
        *o = reduce_i64_f64(x, qi, inv);
    }
}

/// `x mod q` for `q = qi` (a prime `2^12 < q < 2^62`) and `inv = 1/q` in `f64`: the quotient
/// estimated in `f64` (off by at most one), the remainder exact in wrapping `i64` arithmetic,
/// corrected into `[0, q)` with sign masks. Inlined into the vectorised loops.
#[inline(always)]
fn reduce_i64_f64(x: i64, qi: i64, inv: f64) -> u64 {
    // `k + 1.5·2^52` holds the integer `k` (|k| < 2^51) in its low mantissa bits: subtracting
    // the bits of the constant gives `k` without a saturating float-to-int conversion.
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    #[allow(clippy::cast_precision_loss)]
    let kf = ((x as f64) * inv).floor();
    let k = (kf + MAGIC)
        .to_bits()
        .cast_signed()
        .wrapping_sub(MAGIC.to_bits().cast_signed());
    let mut r = x.wrapping_sub(k.wrapping_mul(qi));
    r += qi & (r >> 63);
    r -= qi & ((qi - 1 - r) >> 63);
    r.cast_unsigned()
}

/// `a[i] = a[i] * b[i] mod q` (Barrett on the 128-bit product).
pub(crate) fn mul_assign(a: &mut [u64], b: &[u64], q: &Modulus) {
    debug_assert_eq!(a.len(), b.len());
    for (x, &y) in a.iter_mut().zip(b) {
        *x = q.mul(*x, y);
    }
}

/// `acc[i] = (acc[i] + a[i] * b[i]) mod q`.
pub(crate) fn mul_add_assign(acc: &mut [u64], a: &[u64], b: &[u64], q: &Modulus) {
    debug_assert!(acc.len() == a.len() && a.len() == b.len());
    for ((z, &x), &y) in acc.iter_mut().zip(a).zip(b) {
        *z = q.add(*z, q.mul(x, y));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PRIMES: [u64; 4] = [
        (1 << 30) - 35,
        (1 << 50) - 27,
        (1 << 61) - 1,
        (1 << 62) - 57,
    ];

    /// Small signed coefficients (`|c| < q` for every prime) in limb-major RNS form over `moduli`
    /// ([`lift_small`] per limb): the same residues as `math::sampling::lift_signed`, vectorised.
    fn lift_small_rns(c: &[i64], moduli: &[Modulus]) -> zeroize::Zeroizing<Vec<u64>> {
        let n = c.len();
        let mut out = zeroize::Zeroizing::new(vec![0u64; n * moduli.len()]);
        for (limb, q) in out.chunks_exact_mut(n.max(1)).zip(moduli) {
            lift_small(limb, c, q.value());
        }
        out
    }

    #[test]
    fn lift_matches_the_rns_samplers() {
        use crate::math::sampling::{gaussian, gaussian_rns, ternary, ternary_rns};
        use rand_chacha::ChaCha20Rng;
        use rand_core::SeedableRng;
        let moduli: Vec<Modulus> = PRIMES.iter().map(|&q| Modulus::new(q).unwrap()).collect();
        let n = 1024;
        let mut r1 = ChaCha20Rng::seed_from_u64(7);
        let mut r2 = ChaCha20Rng::seed_from_u64(7);
        assert_eq!(
            *gaussian_rns(&mut r1, &moduli, n).unwrap(),
            *lift_small_rns(&gaussian(&mut r2, n).unwrap(), &moduli)
        );
        assert_eq!(
            *ternary_rns(&mut r1, &moduli, n).unwrap(),
            *lift_small_rns(&ternary(&mut r2, n).unwrap(), &moduli)
        );
    }

    proptest! {
        #[test]
        fn slices_match_u128(qi in 0..PRIMES.len(), raw in proptest::collection::vec((any::<u64>(), any::<u64>(), any::<u64>()), 0..70), w in any::<u64>()) {
            let q = PRIMES[qi];
            let m = Modulus::new(q).unwrap();
            let a: Vec<u64> = raw.iter().map(|t| t.0 % q).collect();
            let b: Vec<u64> = raw.iter().map(|t| t.1 % q).collect();
            let c: Vec<u64> = raw.iter().map(|t| t.2 % q).collect();
            let w = w % q;
            let q128 = u128::from(q);
            let mut x = a.clone(); add_assign(&mut x, &b, q);
            for i in 0..a.len() { prop_assert_eq!(u128::from(x[i]), (u128::from(a[i]) + u128::from(b[i])) % q128); }
            let mut x = a.clone(); sub_assign(&mut x, &b, q);
            for i in 0..a.len() { prop_assert_eq!(u128::from(x[i]), (u128::from(a[i]) + q128 - u128::from(b[i])) % q128); }
            let mut x = a.clone(); rsub_assign(&mut x, &b, q);
            for i in 0..a.len() { prop_assert_eq!(u128::from(x[i]), (u128::from(b[i]) + q128 - u128::from(a[i])) % q128); }
            let mut x = a.clone(); neg_assign(&mut x, q);
            for i in 0..a.len() { prop_assert_eq!(u128::from(x[i]), (q128 - u128::from(a[i])) % q128); }
            let mut x = a.clone(); mul_scalar_assign(&mut x, w, m.shoup(w), q);
            for i in 0..a.len() { prop_assert_eq!(u128::from(x[i]), u128::from(a[i]) * u128::from(w) % q128); }
            let mut x = a.clone(); mul_assign(&mut x, &b, &m);
            for i in 0..a.len() { prop_assert_eq!(u128::from(x[i]), u128::from(a[i]) * u128::from(b[i]) % q128); }
            let mut x = c.clone(); mul_add_assign(&mut x, &a, &b, &m);
            for i in 0..a.len() { prop_assert_eq!(u128::from(x[i]), (u128::from(c[i]) + u128::from(a[i]) * u128::from(b[i])) % q128); }
            let small: Vec<i64> = raw.iter().map(|t| (t.0 % 41).cast_signed() - 20).collect();
            let mut x = vec![0u64; small.len()]; lift_small(&mut x, &small, q);
            for i in 0..small.len() { prop_assert_eq!(x[i], m.reduce_i64(small[i])); }
        }
    }

    proptest! {
        #[test]
        fn reduce_i64_slice_matches_modulus(
            xs in proptest::collection::vec(any::<i64>(), 1..64),
            small in proptest::collection::vec(-(1i64 << 50)..(1i64 << 50), 1..64),
        ) {
            // Primes from 14 to 61 bits, and the extremes of i64.
            for q in [12289u64, (1 << 30) - 35, (1 << 50) - 27, (1 << 61) - 1] {
                let m = Modulus::new(q).unwrap();
                let mut all = xs.clone();
                all.extend_from_slice(&small);
                all.extend_from_slice(&[i64::MIN, i64::MAX, 0, -1, 1, q.cast_signed(), -q.cast_signed()]);
                let mut out = vec![0u64; all.len()];
                reduce_i64_slice(&mut out, &all, q);
                for (&x, &r) in all.iter().zip(&out) {
                    prop_assert_eq!(r, m.reduce_i64(x), "q={} x={}", q, x);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn sub_mul_kernels_match_modulus(
            xs in proptest::collection::vec(any::<u64>(), 1..40),
            ys in proptest::collection::vec(any::<u64>(), 1..40),
            w in any::<u64>(),
        ) {
            for q in [(1u64 << 30) - 35, (1 << 50) - 27, (1 << 61) - 1, (1 << 62) - 57] {
                let m = Modulus::new(q).unwrap();
                let len = xs.len().min(ys.len());
                let x: Vec<u64> = xs[..len].iter().map(|&v| v % q).collect();
                let y: Vec<u64> = ys[..len].iter().map(|&v| v % q).collect();
                let w = w % q;
                let ws = m.shoup(w);
                let mut got = x.clone();
                sub_mul_scalar_assign(&mut got, &y, w, ws, q);
                for ((&a, &b), &g) in x.iter().zip(&y).zip(&got) {
                    prop_assert_eq!(g, m.mul(m.sub(a, b), w));
                }
                let mut got = x.clone();
                sub_scaled_assign(&mut got, &ys[..len], w, ws, q);
                for ((&a, &b), &g) in x.iter().zip(&ys[..len]).zip(&got) {
                    prop_assert_eq!(g, m.sub(a, m.mul(m.reduce(b), w)));
                }
            }
        }
    }

    proptest! {
        #[test]
        fn centred_kernels_match_modulus(
            ys in proptest::collection::vec(any::<u64>(), 1..40),
            es in proptest::collection::vec(-1000i64..1000, 40),
        ) {
            for p in [(1u64 << 50) - 27, (1 << 61) - 1] {
                let mp = Modulus::new(p).unwrap();
                let y: Vec<u64> = ys.iter().map(|&v| v % p).collect();
                let e = &es[..y.len()];
                let mut s = y.clone();
                add_small_assign(&mut s, e, p);
                for ((&a, &x), &g) in y.iter().zip(e).zip(&s) {
                    prop_assert_eq!(g, mp.add(a, mp.reduce_i64(x)));
                }
                for q in [(1u64 << 30) - 35, (1 << 40) - 87, (1 << 62) - 57] {
                    let mq = Modulus::new(q).unwrap();
                    let mut out = vec![0u64; y.len()];
                    centred_sub_reduce(&mut out, &s, e, p, q);
                    for ((&a, &x), &g) in s.iter().zip(e).zip(&out) {
                        prop_assert_eq!(g, mq.reduce_i64(mp.center(a) - x));
                    }
                }
            }
        }
    }
}
