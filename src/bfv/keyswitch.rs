//! A limb-by-limb hybrid key switching for one-prime digits (`α = 1`, the presets' `dnum = L`).
//!
//! It computes exactly what [`RlweParams::key_switch`](crate::rlwe::RlweParams::key_switch)
//! computes (same ModUp values, same inner product, same ModDown; the tests compare them bit
//! for bit), in another loop order: for each output prime `p` of `Q_l ∪ P`, every digit
//! `d_j = [d]_{q_j}` is reduced modulo `p` (a one-prime "base conversion" is a reduction: the
//! digit's value is below `q_j`), transformed, and multiplied into two `u128` accumulators, which
//! are reduced once at the end (lazy accumulation: `l` products below `p²` each, with an
//! intermediate reduction only if `l·(p-1)²` could reach `2^128`). The working set is a few
//! limbs instead of the `l·(l + K)` limbs of a stored decomposition.

use super::params::Parameters;
use crate::error::{Error, Result};
use crate::math::modulus::{csub, Modulus};
use crate::math::ntt::NttPlan;
use crate::math::poly::{Coeff, Poly};
use crate::rlwe::KeySwitchingKey;

/// `(c0, c1)` over `Q_l` (coefficient form) with `c0 + c1·s ≈ d·s'` for the key `s' -> s`.
pub(crate) fn key_switch(
    params: &Parameters,
    d: &Poly<Coeff>,
    key: &KeySwitchingKey,
) -> Result<(Poly<Coeff>, Poly<Coeff>)> {
    let ring = params.ring();
    let level = d.limbs();
    let digits = ring.digits_at(level);
    if digits.iter().any(|&(s, e)| e != s + 1) || **d.context() != **ring.ctx_q() {
        return ring.key_switch(d, key);
    }
    if key.digits.len() < level {
        return Err(Error::ContextMismatch);
    }
    let n = params.degree();
    let kp = ring.ctx_p().len();
    let total = level + kp;
    SCRATCH.with(|cell| {
        let mut guard = cell.borrow_mut();
        let sc = &mut *guard;
        sc.out0.resize(total * n, 0);
        sc.out1.resize(total * n, 0);
        sc.tmp.resize(n, 0);
        sc.acc0.resize(n, 0);
        sc.acc1.resize(n, 0);
        switch_into(params, d, key, sc, level, kp)
    })
}

/// Buffers reused across calls on one thread (public, ciphertext-derived data only), so that a
/// key switch does not map and fault in megabytes of fresh pages each time.
#[derive(Default)]
struct Scratch {
    out0: Vec<u64>,
    out1: Vec<u64>,
    tmp: Vec<u64>,
    acc0: Vec<u128>,
    acc1: Vec<u128>,
    /// The digits extended to one prime, NTT form (IFMA path).
    digits: Vec<u64>,
}

thread_local! {
    static SCRATCH: core::cell::RefCell<Scratch> = core::cell::RefCell::new(Scratch::default());
}

fn switch_into(
    params: &Parameters,
    d: &Poly<Coeff>,
    key: &KeySwitchingKey,
    sc: &mut Scratch,
    level: usize,
    kp: usize,
) -> Result<(Poly<Coeff>, Poly<Coeff>)> {
    let ring = params.ring();
    let n = params.degree();
    let ctx_q = ring.ctx_q();
    let ctx_p = ring.ctx_p();
    let total = level + kp;
    let Scratch {
        out0,
        out1,
        tmp,
        acc0,
        acc1,
        digits: dig,
    } = sc;
    let src = d.residues();
    for i in 0..total {
        let (m, plan): (&Modulus, &NttPlan) = if i < level {
            (&ctx_q.moduli()[i], &ctx_q.plans()[i])
        } else {
            (&ctx_p.moduli()[i - level], &ctx_p.plans()[i - level])
        };
        let kb_of = |j: usize| -> (&[u64], &[u64]) {
            let (b, a) = &key.digits[j];
            if i < level {
                (b.q.limb(i), a.q.limb(i))
            } else {
                (b.p.limb(i - level), a.p.limb(i - level))
            }
        };
        if let Some(lanes) = plan.lanes() {
            // IFMA: every digit's extension to this prime, transformed, then one lazy
            // two-word dot product per output value (`math::ntt::lanes`).
            dig.resize(level * n, 0);
            for (j, dst) in dig.chunks_exact_mut(n).enumerate() {
                let limb = &src[j * n..(j + 1) * n];
                extend_limb(dst, limb, i == j, ctx_q.moduli()[j].value(), m);
                plan.forward(dst)?;
            }
            let xs: Vec<&[u64]> = dig.chunks_exact(n).collect();
            let keys: Vec<(&[u64], &[u64])> = (0..level).map(kb_of).collect();
            let bs: Vec<&[u64]> = keys.iter().map(|k| k.0).collect();
            let as_: Vec<&[u64]> = keys.iter().map(|k| k.1).collect();
            let (o0, o1) = (&mut out0[i * n..(i + 1) * n], &mut out1[i * n..(i + 1) * n]);
            lanes.dot2(o0, o1, &xs, &bs, &as_);
            plan.inverse(o0)?;
            plan.inverse(o1)?;
            continue;
        }
        let mv = u128::from(m.value() - 1);
        // Products below (p-1)^2; `chunk` of them fit a u128 next to a reduced value.
        let chunk = usize::try_from((u128::MAX - mv) / (mv * mv).max(1))
            .unwrap_or(usize::MAX)
            .max(1);
        acc0.fill(0);
        acc1.fill(0);
        for (j, (b, a)) in key.digits.iter().take(level).enumerate() {
            let limb = &src[j * n..(j + 1) * n];
            let qj = ctx_q.moduli()[j].value();
            if i == j {
                tmp.copy_from_slice(limb);
            } else if qj <= 4 * m.value() {
                // x < q_j <= 4p: two conditional subtractions (vectorised).
                reduce_small(tmp, limb, m.value());
            } else {
                for (t, &x) in tmp.iter_mut().zip(limb) {
                    *t = m.reduce(x);
                }
            }
            plan.forward(tmp)?;
            let (kb, ka) = if i < level {
                (b.q.limb(i), a.q.limb(i))
            } else {
                (b.p.limb(i - level), a.p.limb(i - level))
            };
            if j > 0 && j % chunk == 0 {
                for (x0, x1) in acc0.iter_mut().zip(acc1.iter_mut()) {
                    *x0 = u128::from(m.reduce_u128(*x0));
                    *x1 = u128::from(m.reduce_u128(*x1));
                }
            }
            mac(acc0, acc1, tmp, kb, ka);
        }
        let (o0, o1) = (&mut out0[i * n..(i + 1) * n], &mut out1[i * n..(i + 1) * n]);
        for ((y0, y1), (&x0, &x1)) in o0
            .iter_mut()
            .zip(o1.iter_mut())
            .zip(acc0.iter().zip(acc1.iter()))
        {
            *y0 = m.reduce_u128(x0);
            *y1 = m.reduce_u128(x1);
        }
        plan.inverse(o0)?;
        plan.inverse(o1)?;
    }
    // ModDown: divide by P with rounding on the basis Q_l ∪ P.
    let moddown = &ring.level_tables(level)?.moddown;
    let mut r0 = vec![0u64; level * n];
    let mut r1 = vec![0u64; level * n];
    moddown.divide_round(out0, &mut r0)?;
    moddown.divide_round(out1, &mut r1)?;
    Ok((
        Poly::from_raw(ctx_q, level, r0),
        Poly::from_raw(ctx_q, level, r1),
    ))
}

/// `dst = [limb]_p` for a limb of residues modulo `q_j` (`own`: the limb's own prime).
fn extend_limb(dst: &mut [u64], limb: &[u64], own: bool, qj: u64, m: &Modulus) {
    if own {
        dst.copy_from_slice(limb);
    } else if qj <= 4 * m.value() {
        reduce_small(dst, limb, m.value());
    } else {
        for (t, &x) in dst.iter_mut().zip(limb) {
            *t = m.reduce(x);
        }
    }
}

/// `out[i] = x[i] mod p` for `x[i] < 4p`.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
fn reduce_small(out: &mut [u64], x: &[u64], p: u64) {
    for (o, &v) in out.iter_mut().zip(x) {
        debug_assert!(v < 4 * p);
        *o = csub(csub(v, 2 * p), p);
    }
}

/// `acc0 += x·b`, `acc1 += x·a` element-wise in `u128` (no reduction; the caller bounds the
/// number of terms).
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx512dq", "x86_64+avx2"))]
fn mac(acc0: &mut [u128], acc1: &mut [u128], x: &[u64], b: &[u64], a: &[u64]) {
    for ((((s0, s1), &xv), &bv), &av) in acc0.iter_mut().zip(acc1.iter_mut()).zip(x).zip(b).zip(a) {
        let xv = u128::from(xv);
        *s0 += xv * u128::from(bv);
        *s1 += xv * u128::from(av);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rlwe::{GaloisKey, RelinearizationKey, SecretKey};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn identical_to_the_rlwe_key_switch_at_every_level() {
        let params = Parameters::insecure_for_testing(64, 257, 4).unwrap();
        let ring = params.ring();
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let sk = SecretKey::generate(ring, &mut rng).unwrap();
        let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
        let gk = GaloisKey::generate(&sk, 3, &mut rng).unwrap();
        for level in 1..=4 {
            let data =
                crate::math::sampling::uniform_poly(&mut rng, &ring.ctx_q().moduli()[..level], 64)
                    .unwrap();
            let d = Poly::<Coeff>::from_residues(ring.ctx_q(), data).unwrap();
            for key in [rlk.key(), gk.key()] {
                assert_eq!(
                    key_switch(&params, &d, key).unwrap(),
                    ring.key_switch(&d, key).unwrap()
                );
            }
        }
    }
}
