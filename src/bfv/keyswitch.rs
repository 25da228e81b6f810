//! A limb-by-limb hybrid key switching for coefficient-form ciphertexts (any digit size).
//!
//! It computes exactly what [`RlweParams::key_switch`](crate::rlwe::RlweParams::key_switch)
//! computes (same ModUp values, same inner product, same ModDown; the tests compare them bit
//! for bit), in another loop order. ModUp first converts every digit of more than one prime to
//! the other primes of `Q_l ∪ P` (the same approximate base conversion as `rlwe`, coefficient
//! form, into a reused buffer); a one-prime digit needs no conversion (its values are below
//! `q_j`: a reduction). Then, for each output prime `p`, every digit's limb modulo `p` is
//! transformed (in place when it is a converted limb) and multiplied into the two
//! accumulators, which are reduced once at the end (lazy accumulation: IFMA two-word dot
//! products, or `u128` sums with an intermediate reduction only if `l·(p-1)²` could reach
//! `2^128`). The working set per output prime is a few limbs instead of the `dnum·(l + K)`
//! limbs of a stored decomposition.

use super::params::Parameters;
use crate::error::{Error, Result};
use crate::math::modulus::{csub, Modulus};
use crate::math::ntt::NttPlan;
use crate::math::poly::{Coeff, Poly};
use crate::rlwe::KeySwitchingKey;

/// `(c0, c1)` over `Q_l` (coefficient form) with `c0 + c1·s ≈ d·s'` for the key `s' -> s`.
#[cfg(test)]
pub(crate) fn key_switch(
    params: &Parameters,
    d: &Poly<Coeff>,
    key: &KeySwitchingKey,
) -> Result<(Poly<Coeff>, Poly<Coeff>)> {
    let ctx_q = params.ring().ctx_q();
    let level = d.limbs();
    key_switch_then(params, d, None, key, |r0, r1| {
        Ok((
            Poly::from_raw(ctx_q, level, r0.to_vec()),
            Poly::from_raw(ctx_q, level, r1.to_vec()),
        ))
    })
}

/// Key switching of `d(X^g)` (`galois = Some(g)`) or of `d`, handing the result `(c0, c1)`
/// over `Q_l` (coefficient form, limb-major, in reused per-thread buffers) to `f`.
pub(crate) fn key_switch_then<T>(
    params: &Parameters,
    d: &Poly<Coeff>,
    galois: Option<u64>,
    key: &KeySwitchingKey,
    f: impl FnOnce(&[u64], &[u64]) -> Result<T>,
) -> Result<T> {
    let ring = params.ring();
    if **d.context() != **ring.ctx_q() {
        return Err(Error::ContextMismatch);
    }
    let level = d.limbs();
    if key.digits.len() < ring.digits_at(level).len() {
        return Err(Error::ContextMismatch);
    }
    SCRATCH.with(|cell| {
        let mut guard = cell.borrow_mut();
        let sc = &mut *guard;
        let mut input = core::mem::take(&mut sc.input);
        let src = match galois {
            Some(g) => {
                input.resize(d.residues().len(), 0);
                d.automorphism_into(g, &mut input)?;
                &input[..]
            }
            None => d.residues(),
        };
        let r = switch_into(params, src, key, sc, level);
        sc.input = input;
        r?;
        f(&sc.r0, &sc.r1)
    })
}

/// Buffers reused across calls on one thread (public, ciphertext-derived data only), so that a
/// key switch does not map and fault in megabytes of fresh pages each time.
#[derive(Default)]
struct Scratch {
    out0: Vec<u64>,
    out1: Vec<u64>,
    acc0: Vec<u128>,
    acc1: Vec<u128>,
    /// One-prime digits reduced to the current output prime, NTT form.
    digits: Vec<u64>,
    /// The automorphism's image of the input.
    input: Vec<u64>,
    /// The result.
    r0: Vec<u64>,
    r1: Vec<u64>,
    /// Multi-prime digits converted to the other primes (coefficient form, then transformed
    /// in place as each output prime is reached).
    ext: Vec<u64>,
}

thread_local! {
    static SCRATCH: core::cell::RefCell<Scratch> = core::cell::RefCell::new(Scratch::default());
}

/// Where digit `j`'s limb modulo output prime `i` comes from.
#[derive(Clone, Copy)]
enum Source {
    /// The digit's own residues (`i` is one of its primes): a copy.
    Own,
    /// A one-prime digit, reduced modulo `p_i`.
    Reduce,
    /// Row `r` of the digit's converted block in `ext`.
    Ext(usize),
}

#[allow(clippy::too_many_lines)]
fn switch_into(
    params: &Parameters,
    src: &[u64],
    key: &KeySwitchingKey,
    sc: &mut Scratch,
    level: usize,
) -> Result<()> {
    let ring = params.ring();
    let n = params.degree();
    let ctx_q = ring.ctx_q();
    let ctx_p = ring.ctx_p();
    let kp = ctx_p.len();
    let total = level + kp;
    let tables = ring.level_tables(level)?;
    let ndig = tables.modup.len();
    let Scratch {
        out0,
        out1,
        acc0,
        acc1,
        digits: dig,
        ext,
        input: _,
        r0,
        r1,
    } = sc;
    out0.resize(total * n, 0);
    out1.resize(total * n, 0);
    dig.resize(ndig * n, 0);
    // ModUp of the multi-prime digits: `offsets[j]` is the first row of digit j's block.
    let mut offsets = Vec::with_capacity(ndig);
    let mut rows = 0;
    for (start, end, _) in &tables.modup {
        offsets.push(rows);
        if end - start > 1 {
            rows += total - (end - start);
        }
    }
    ext.resize(rows * n, 0);
    for ((start, end, conv), &off) in tables.modup.iter().zip(&offsets) {
        let (start, end) = (*start, *end);
        if end - start > 1 {
            let others = total - (end - start);
            conv.convert_approx(
                &src[start * n..end * n],
                &mut ext[off * n..(off + others) * n],
            )?;
        }
    }
    let source = |i: usize, j: usize| -> Source {
        let (start, end, _) = &tables.modup[j];
        let (start, end) = (*start, *end);
        if (start..end).contains(&i) {
            Source::Own
        } else if end - start == 1 {
            Source::Reduce
        } else if i < start {
            Source::Ext(offsets[j] + i)
        } else {
            Source::Ext(offsets[j] + i - (end - start))
        }
    };
    for i in 0..total {
        let (m, plan): (&Modulus, &NttPlan) = if i < level {
            (&ctx_q.moduli()[i], &ctx_q.plans()[i])
        } else {
            (&ctx_p.moduli()[i - level], &ctx_p.plans()[i - level])
        };
        // Every digit's limb modulo this prime, in NTT form.
        for j in 0..ndig {
            let (start, end, _) = &tables.modup[j];
            let dst = match source(i, j) {
                Source::Own => {
                    let dst = &mut dig[j * n..(j + 1) * n];
                    dst.copy_from_slice(&src[i * n..(i + 1) * n]);
                    dst
                }
                Source::Reduce => {
                    let dst = &mut dig[j * n..(j + 1) * n];
                    let qj = ctx_q.moduli()[*start].value();
                    extend_limb(dst, &src[*start * n..*end * n], qj, m);
                    dst
                }
                Source::Ext(r) => &mut ext[r * n..(r + 1) * n],
            };
            plan.forward(dst)?;
        }
        let xs: Vec<&[u64]> = (0..ndig)
            .map(|j| match source(i, j) {
                Source::Own | Source::Reduce => &dig[j * n..(j + 1) * n],
                Source::Ext(r) => &ext[r * n..(r + 1) * n],
            })
            .collect();
        let kb_of = |j: usize| -> (&[u64], &[u64]) {
            let (b, a) = &key.digits[j];
            if i < level {
                (b.q.limb(i), a.q.limb(i))
            } else {
                (b.p.limb(i - level), a.p.limb(i - level))
            }
        };
        let (o0, o1) = (&mut out0[i * n..(i + 1) * n], &mut out1[i * n..(i + 1) * n]);
        if let Some(lanes) = plan.lanes() {
            // IFMA: one lazy two-word dot product per output value (`math::ntt::lanes`).
            let keys: Vec<(&[u64], &[u64])> = (0..ndig).map(kb_of).collect();
            let bs: Vec<&[u64]> = keys.iter().map(|k| k.0).collect();
            let as_: Vec<&[u64]> = keys.iter().map(|k| k.1).collect();
            lanes.dot2(o0, o1, &xs, &bs, &as_);
        } else {
            acc0.resize(n, 0);
            acc1.resize(n, 0);
            let mv = u128::from(m.value() - 1);
            // Products below (p-1)^2; `chunk` of them fit a u128 next to a reduced value.
            let chunk = usize::try_from((u128::MAX - mv) / (mv * mv).max(1))
                .unwrap_or(usize::MAX)
                .max(1);
            acc0.fill(0);
            acc1.fill(0);
            for (j, x) in xs.iter().enumerate() {
                let (kb, ka) = kb_of(j);
                if j > 0 && j % chunk == 0 {
                    for (x0, x1) in acc0.iter_mut().zip(acc1.iter_mut()) {
                        *x0 = u128::from(m.reduce_u128(*x0));
                        *x1 = u128::from(m.reduce_u128(*x1));
                    }
                }
                mac(acc0, acc1, x, kb, ka);
            }
            for ((y0, y1), (&x0, &x1)) in o0
                .iter_mut()
                .zip(o1.iter_mut())
                .zip(acc0.iter().zip(acc1.iter()))
            {
                *y0 = m.reduce_u128(x0);
                *y1 = m.reduce_u128(x1);
            }
        }
        plan.inverse(o0)?;
        plan.inverse(o1)?;
    }
    // ModDown: divide by P with rounding on the basis Q_l ∪ P.
    let moddown = &tables.moddown;
    r0.resize(level * n, 0);
    r1.resize(level * n, 0);
    moddown.divide_round(&out0[..total * n], &mut r0[..])?;
    moddown.divide_round(&out1[..total * n], &mut r1[..])?;
    Ok(())
}

/// `dst = [limb]_p` for a limb of residues modulo another prime `q_j`.
fn extend_limb(dst: &mut [u64], limb: &[u64], qj: u64, m: &Modulus) {
    if qj <= 4 * m.value() {
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
        // One-prime digits, two-prime digits (the last one shorter at odd levels), three-prime
        // digits with two special primes.
        for (q_primes, p_primes, dnum) in [(4, 1, 4), (5, 1, 3), (5, 2, 2), (4, 1, 1)] {
            let params = Parameters::builder()
                .degree(64)
                .plaintext_modulus(257)
                .ciphertext_moduli_bits(&vec![50; q_primes])
                .special_moduli_bits(&vec![50; p_primes])
                .dnum(dnum)
                .security(crate::params::SecurityLevel::InsecureForTesting)
                .allow_small_degree_for_testing()
                .build()
                .unwrap();
            let ring = params.ring();
            let mut rng = ChaCha20Rng::seed_from_u64(5);
            let sk = SecretKey::generate(ring, &mut rng).unwrap();
            let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
            let gk = GaloisKey::generate(&sk, 3, &mut rng).unwrap();
            for level in 1..=q_primes {
                let data = crate::math::sampling::uniform_poly(
                    &mut rng,
                    &ring.ctx_q().moduli()[..level],
                    64,
                )
                .unwrap();
                let d = Poly::<Coeff>::from_residues(ring.ctx_q(), data).unwrap();
                for key in [rlk.key(), gk.key()] {
                    assert_eq!(
                        key_switch(&params, &d, key).unwrap(),
                        ring.key_switch(&d, key).unwrap(),
                        "{q_primes} primes, dnum {dnum}, level {level}"
                    );
                }
            }
        }
    }
}
