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
use crate::math::ntt::{automorphism_coeff, NttPlan};
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
    let n = params.degree();
    let (mut r0, mut r1) = (vec![0; level * n], vec![0; level * n]);
    key_switch_into(params, d, None, key, (&mut r0, false), (&mut r1, false))?;
    Ok((
        Poly::from_raw(ctx_q, level, r0),
        Poly::from_raw(ctx_q, level, r1),
    ))
}

/// Key switching of `d(X^g)` (`galois = Some(g)`, `g` odd) or of `d`: the result `(c0, c1)`
/// over `Q_l` (coefficient form, limb-major) is written into (`false`) or added to (`true`)
/// `out0` and `out1`, each `l·N` values (ModDown writes straight into them: no intermediate
/// result, no separate addition).
///
/// # Errors
/// [`Error::ContextMismatch`] for a polynomial over other primes or a key with too few digits;
/// [`Error::InvalidOperation`] for an even `g`; [`Error::LengthMismatch`] for outputs of
/// another length.
pub(crate) fn key_switch_into(
    params: &Parameters,
    d: &Poly<Coeff>,
    galois: Option<u64>,
    key: &KeySwitchingKey,
    out0: (&mut [u64], bool),
    out1: (&mut [u64], bool),
) -> Result<()> {
    let ring = params.ring();
    if **d.context() != **ring.ctx_q() {
        return Err(Error::ContextMismatch);
    }
    let level = d.limbs();
    let n = params.degree();
    if key.digits.len() < ring.digits_at(level).len() {
        return Err(Error::ContextMismatch);
    }
    for o in [&out0.0, &out1.0] {
        if o.len() != level * n {
            return Err(Error::LengthMismatch {
                expected: level * n,
                found: o.len(),
            });
        }
    }
    SCRATCH.with(|cell| {
        let mut guard = cell.borrow_mut();
        let sc = &mut *guard;
        let mut input = core::mem::take(&mut sc.input);
        let src = match galois {
            Some(g) => {
                if g.is_multiple_of(2) {
                    return Err(Error::InvalidOperation {
                        reason: "automorphism exponent must be odd",
                    });
                }
                input.resize(d.residues().len(), 0);
                for ((dst, limb), q) in input
                    .chunks_exact_mut(n)
                    .zip(d.residues().chunks_exact(n))
                    .zip(ring.ctx_q().moduli())
                {
                    automorphism_coeff(dst, limb, g, q.value(), false);
                }
                &input[..]
            }
            None => d.residues(),
        };
        let r = switch_into(params, src, key, sc, level);
        sc.input = input;
        r?;
        mod_down_into(params, sc, level, out0, out1)
    })
}

/// `σ_g(c)` over `Q_l` (coefficient form), in a pooled buffer: the rotated `c_0` to which the
/// key switch of `c_1` is then added.
pub(crate) fn automorphism_pooled(
    params: &Parameters,
    c: &Poly<Coeff>,
    g: u64,
) -> Result<Vec<u64>> {
    if g.is_multiple_of(2) {
        return Err(Error::InvalidOperation {
            reason: "automorphism exponent must be odd",
        });
    }
    let n = params.degree();
    let mut out = crate::math::pool::take_dirty(c.residues().len());
    for ((dst, limb), q) in out
        .chunks_exact_mut(n)
        .zip(c.residues().chunks_exact(n))
        .zip(c.context().moduli())
    {
        automorphism_coeff(dst, limb, g, q.value(), false);
    }
    Ok(out)
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
    /// The result, when ModDown cannot write into the output directly.
    r0: Vec<u64>,
    r1: Vec<u64>,
    /// ModDown constants `(q, p, [p^-1]_q, its 52-bit companion, [h·p^-1 - 1]_q)` per output
    /// prime `q` and special prime `p` met so far (see `Lanes::rescale`).
    rescale: Vec<(u64, u64, [u64; 3])>,
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
        ..
    } = sc;
    out0.resize(total * n, 0);
    out1.resize(total * n, 0);
    // The out-of-place transforms read `src` and write `dig` with the same large power-of-two
    // strides: were both at the same address modulo 4 KiB, their streams would share L1 sets
    // (more than its 8 ways) and every store would alias the next load. `dig` starts 2 KiB
    // away from `src` modulo 4 KiB (a shift of fewer than 512 words).
    dig.resize(ndig * n + 512, 0);
    let shift = {
        // Addresses only, to pick the offset; both are multiples of 8.
        let (s, d) = (src.as_ptr() as usize, dig.as_ptr() as usize);
        ((s + 2048).wrapping_sub(d) % 4096) / 8
    };
    let dig = &mut dig[shift..shift + ndig * n];
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
            match source(i, j) {
                // Canonical residues: transformed straight from the input (out of place).
                Source::Own => {
                    plan.forward_lazy_from(&src[i * n..(i + 1) * n], &mut dig[j * n..(j + 1) * n])?;
                }
                Source::Reduce => {
                    let dst = &mut dig[j * n..(j + 1) * n];
                    let limb = &src[*start * n..*end * n];
                    let qj = ctx_q.moduli()[*start].value();
                    if qj <= 4 * m.value() {
                        // Values below q_j <= 4p: the lazy transform reduces them itself.
                        plan.forward_lazy_from(limb, dst)?;
                    } else {
                        extend_limb(dst, limb, qj, m);
                        plan.forward(dst)?;
                    }
                }
                Source::Ext(r) => plan.forward(&mut ext[r * n..(r + 1) * n])?,
            }
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
    Ok(())
}

/// ModDown of the two results of [`switch_into`] (coefficient form over `Q_l ∪ P` in
/// `sc.out0`, `sc.out1`): `round(x / P)` over `Q_l`, written into or added to the outputs.
///
/// With one special prime below `2^51` and IFMA kernels for every output prime, each output
/// limb is one `Lanes::rescale` pass straight into the output (the same values as
/// `ScaleDown::divide_round`, which is the `l = 1` formula written out); otherwise
/// `divide_round` into scratch, then a copy or an addition.
fn mod_down_into(
    params: &Parameters,
    sc: &mut Scratch,
    level: usize,
    out0: (&mut [u64], bool),
    out1: (&mut [u64], bool),
) -> Result<()> {
    let ring = params.ring();
    let n = params.degree();
    let ctx_q = ring.ctx_q();
    let ctx_p = ring.ctx_p();
    let kp = ctx_p.len();
    let total = level + kp;
    let p = ctx_p.moduli()[0].value();
    let fast =
        kp == 1 && p < 1 << 51 && ctx_q.plans()[..level].iter().all(|pl| pl.lanes().is_some());
    if fast {
        let Scratch {
            out0: x0,
            out1: x1,
            rescale,
            ..
        } = sc;
        for (j, (qm, plan)) in ctx_q.moduli()[..level]
            .iter()
            .zip(ctx_q.plans())
            .enumerate()
        {
            let Some(lanes) = plan.lanes() else {
                return Err(Error::ContextMismatch);
            };
            let q = qm.value();
            let k = match rescale.iter().find(|e| e.0 == q && e.1 == p) {
                Some(e) => e.2,
                None => {
                    // [p^-1]_q, its companion, [floor(p/2)·p^-1 - 1]_q.
                    let w = qm.inv(qm.reduce(p))?;
                    let c = qm.sub(qm.mul(qm.reduce(p / 2), w), 1 % q);
                    let k = [w, lanes.companion(w), c];
                    rescale.push((q, p, k));
                    k
                }
            };
            let r = j * n..(j + 1) * n;
            for (x, (o, add)) in [
                (&x0[..], (&mut *out0.0, out0.1)),
                (&x1[..], (&mut *out1.0, out1.1)),
            ] {
                lanes.rescale(
                    &mut o[r.clone()],
                    &x[r.clone()],
                    &x[level * n..total * n],
                    p,
                    k[0],
                    k[1],
                    k[2],
                    add,
                );
            }
        }
        return Ok(());
    }
    let moddown = &ring.level_tables(level)?.moddown;
    let Scratch {
        out0: x0,
        out1: x1,
        r0,
        r1,
        ..
    } = sc;
    r0.resize(level * n, 0);
    r1.resize(level * n, 0);
    moddown.divide_round(&x0[..total * n], &mut r0[..])?;
    moddown.divide_round(&x1[..total * n], &mut r1[..])?;
    for (r, (o, add)) in [(&r0[..], out0), (&r1[..], out1)] {
        if add {
            for ((y, v), qm) in o
                .chunks_exact_mut(n)
                .zip(r.chunks_exact(n))
                .zip(ctx_q.moduli())
            {
                crate::math::arith::add_assign(y, v, qm.value());
            }
        } else {
            o.copy_from_slice(r);
        }
    }
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
                // The automorphism applied while switching, with the results written into or
                // added to the outputs: the same as rotating first, then switching, then adding.
                let n = 64;
                let base = crate::math::sampling::uniform_poly(
                    &mut rng,
                    &ring.ctx_q().moduli()[..level],
                    n,
                )
                .unwrap();
                let base = Poly::<Coeff>::from_residues(ring.ctx_q(), base).unwrap();
                for g in [3u64, 5, 2 * 64 - 1, 3 + 2 * 64] {
                    let (w0, w1) = ring
                        .key_switch(&d.automorphism(g).unwrap(), gk.key())
                        .unwrap();
                    let mut want0 = base.clone();
                    want0.add_assign(&w0).unwrap();
                    let mut got0 = base.residues().to_vec();
                    let mut got1 = vec![7u64; level * n];
                    key_switch_into(
                        &params,
                        &d,
                        Some(g),
                        gk.key(),
                        (&mut got0, true),
                        (&mut got1, false),
                    )
                    .unwrap();
                    assert_eq!(got0, want0.residues(), "g {g}, level {level}");
                    assert_eq!(got1, w1.residues(), "g {g}, level {level}");
                    assert_eq!(
                        automorphism_pooled(&params, &base, g).unwrap(),
                        base.automorphism(g).unwrap().residues()
                    );
                }
                assert!(key_switch_into(
                    &params,
                    &d,
                    Some(4),
                    gk.key(),
                    (&mut vec![0; level * 64], false),
                    (&mut vec![0; level * 64], false),
                )
                .is_err());
            }
        }
    }
}
