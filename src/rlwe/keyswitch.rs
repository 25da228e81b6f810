//! Hybrid key switching: ModUp (decomposition), inner product with the key, ModDown.
//!
//! Two forms compute the same values (the tests compare them bit for bit):
//! * [`RlweParams::decompose`] and [`RlweParams::key_switch_decomposed`] store the whole
//!   decomposition (`dnum·(l + K)` limbs, NTT form): it can be reused for several keys
//!   (hoisted rotations); [`RlweParams::key_switch`] is their composition.
//! * `RlweParams::key_switch_into`, the fast path BFV relinearises and rotates with, goes limb
//!   by limb. ModUp first converts every digit of more than one prime to the other primes of
//!   `Q_l ∪ P` (the same approximate base conversion, coefficient form, into a reused buffer);
//!   a one-prime digit needs no conversion (its values are below `q_j`). Then, for each output
//!   prime `p`, every digit's limb modulo `p` is transformed (a digit's own residues and a
//!   one-prime digit's values below `4p` straight from the input, `NttPlan::forward_lazy_from`:
//!   no copy, no reduction pass) and multiplied into the two accumulators, which are reduced
//!   once at the end (lazy accumulation: IFMA two-word dot products, or `u128` sums with an
//!   intermediate reduction only if `l·(p-1)²` could reach `2^128`). The working set per output
//!   prime is a few limbs instead of a stored decomposition. A Galois automorphism is applied
//!   to the input on the way in (a gather, `math::ntt::automorphism_coeff`), and ModDown writes
//!   into (or adds to) the caller's output (one IFMA pass per limb with one special prime); for
//!   a rotation that pass also gathers and adds the rotated `c_0` (`RlweParams::rotate_into`).
//!
//! CKKS keeps its ciphertexts in NTT form and switches them with the NTT-domain variant of
//! this pipeline in `ckks::keyswitch` (own limbs reused in NTT form, ModDown in NTT form), on
//! the same keys and kernels.
//!
//! Hybrid key switching as in Han and Ki, "Better Bootstrapping for Approximate Homomorphic
//! Encryption" (CT-RSA 2020), with the RNS base conversions of Bajard, Eynard, Hasan and
//! Zucca (SAC 2016) and Halevi, Polyakov and Shoup (CT-RSA 2019).

use super::{KeySwitchingKey, PolyQP, RlweParams};
use crate::error::{Error, Result};
use crate::math::modulus::{csub, Modulus};
use crate::math::ntt::{automorphism_coeff, galois_inverse, NttPlan};
use crate::math::poly::{Coeff, Poly};

/// A polynomial decomposed for key switching: one [`PolyQP`] (NTT form) per digit in use at its
/// level. Computed once by [`RlweParams::decompose`], it can be switched under several keys, and
/// [`Decomposed::automorphism`] maps it to the decomposition of `d(X^k)` (hoisted rotations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decomposed {
    level: usize,
    digits: Vec<PolyQP>,
}

impl Decomposed {
    /// The level (number of ciphertext primes) of the decomposed polynomial.
    pub fn level(&self) -> usize {
        self.level
    }

    /// The decomposition of `d(X^k)` from that of `d` (a permutation of every digit's slots).
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] if `k` is even.
    pub fn automorphism(&self, k: u64) -> Result<Self> {
        let digits = self
            .digits
            .iter()
            .map(|d| {
                Ok(PolyQP {
                    q: d.q.automorphism(k)?,
                    p: d.p.automorphism(k)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            level: self.level,
            digits,
        })
    }
}

impl RlweParams {
    /// ModUp: extends each digit of `d` (coefficient form, level `l`) to `Q_l ∪ P` and
    /// transforms it to NTT form.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if `d` is not over these parameters' ciphertext primes.
    pub fn decompose(&self, d: &Poly<Coeff>) -> Result<Decomposed> {
        if **d.context() != **self.ctx_q() {
            return Err(Error::ContextMismatch);
        }
        let level = d.limbs();
        let tables = self.level_tables(level)?;
        let n = self.degree();
        let k_p = self.ctx_p().len();
        let src = d.residues();
        let mut digits = Vec::with_capacity(tables.modup.len());
        for (start, end, conv) in &tables.modup {
            let (start, end) = (*start, *end);
            let others = level - (end - start);
            let mut ext = vec![0u64; (others + k_p) * n];
            conv.convert_approx(&src[start * n..end * n], &mut ext)?;
            // Reassemble Q_l in prime order: converted limbs before the digit, the digit's own
            // residues, converted limbs after it; then the P limbs.
            let mut q = Vec::with_capacity(level * n);
            q.extend_from_slice(&ext[..start * n]);
            q.extend_from_slice(&src[start * n..end * n]);
            q.extend_from_slice(&ext[start * n..others * n]);
            let p = ext[others * n..].to_vec();
            digits.push(PolyQP {
                q: Poly::from_raw(self.ctx_q(), level, q).into_ntt(),
                p: Poly::from_raw(self.ctx_p(), k_p, p).into_ntt(),
            });
        }
        Ok(Decomposed { level, digits })
    }

    /// Inner product of a decomposition with a key switching key, then ModDown: returns
    /// `(c0, c1)` over `Q_l` in coefficient form with `c0 + c1·s ≈ d·s'`.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if the key has another number of digits than these
    /// parameters use.
    pub fn key_switch_decomposed(
        &self,
        dec: &Decomposed,
        key: &KeySwitchingKey,
    ) -> Result<(Poly<Coeff>, Poly<Coeff>)> {
        let level = dec.level;
        if key.digits.len() < dec.digits.len() {
            return Err(Error::ContextMismatch);
        }
        let mut acc0 = PolyQP::zero(self, level)?;
        let mut acc1 = PolyQP::zero(self, level)?;
        for (d, (b, a)) in dec.digits.iter().zip(&key.digits) {
            acc0.q.mul_add_assign_prefix(&d.q, &b.q)?;
            acc0.p.mul_add_assign_prefix(&d.p, &b.p)?;
            acc1.q.mul_add_assign_prefix(&d.q, &a.q)?;
            acc1.p.mul_add_assign_prefix(&d.p, &a.p)?;
        }
        Ok((self.mod_down(acc0, level)?, self.mod_down(acc1, level)?))
    }

    /// Key switching of `d` (coefficient form): [`decompose`](Self::decompose) then
    /// [`key_switch_decomposed`](Self::key_switch_decomposed).
    ///
    /// # Errors
    /// As those two.
    pub fn key_switch(
        &self,
        d: &Poly<Coeff>,
        key: &KeySwitchingKey,
    ) -> Result<(Poly<Coeff>, Poly<Coeff>)> {
        self.key_switch_decomposed(&self.decompose(d)?, key)
    }

    /// The fast path (module docs), the same values as [`key_switch`](Self::key_switch) of
    /// `d(X^g)` or `d`.
    ///
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
        &self,
        d: &Poly<Coeff>,
        galois: Option<u64>,
        key: &KeySwitchingKey,
        out0: (&mut [u64], bool),
        out1: (&mut [u64], bool),
    ) -> Result<()> {
        self.switch_impl(d, galois, key, out0, out1, None)
    }

    /// A rotation in one pass over its outputs: `out0 = c_0(X^g) + k_0` and `out1 = k_1`, for
    /// `(k_0, k_1)` the key switch of `c_1(X^g)` (the same values as rotating `c_0` and adding
    /// [`key_switch_into`](Self::key_switch_into) of `c_1` with `galois = Some(g)`); ModDown's
    /// last pass gathers `c_0(X^g)` itself where it runs on IFMA
    /// (`Lanes::rescale_galois`), so the rotated `c_0` is never written on its own.
    ///
    /// # Errors
    /// As [`key_switch_into`](Self::key_switch_into); [`Error::ContextMismatch`] if `c_0` and
    /// `c_1` differ in level or parameters.
    pub(crate) fn rotate_into(
        &self,
        c0: &Poly<Coeff>,
        c1: &Poly<Coeff>,
        g: u64,
        key: &KeySwitchingKey,
        out0: &mut [u64],
        out1: &mut [u64],
    ) -> Result<()> {
        if **c0.context() != **c1.context() || c0.limbs() != c1.limbs() {
            return Err(Error::ContextMismatch);
        }
        self.switch_impl(
            c1,
            Some(g),
            key,
            (out0, false),
            (out1, false),
            Some(c0.residues()),
        )
    }

    fn switch_impl(
        &self,
        d: &Poly<Coeff>,
        galois: Option<u64>,
        key: &KeySwitchingKey,
        out0: (&mut [u64], bool),
        out1: (&mut [u64], bool),
        rot0: Option<&[u64]>,
    ) -> Result<()> {
        let ring = self;
        if **d.context() != **ring.ctx_q() {
            return Err(Error::ContextMismatch);
        }
        let level = d.limbs();
        let n = self.degree();
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
            let r = switch_into(self, src, key, sc, level);
            sc.input = input;
            r?;
            // `rot0` comes with `galois` only (`rotate_into`).
            let rot0 = rot0.zip(galois);
            mod_down_into(self, sc, level, out0, out1, rot0)
        })
    }

    /// Divides a `Q_l ∪ P` polynomial by `P` with rounding, returning it over `Q_l`.
    fn mod_down(&self, x: PolyQP, level: usize) -> Result<Poly<Coeff>> {
        let n = self.degree();
        let mut all = x.q.into_coeff().into_residues();
        all.extend_from_slice(x.p.into_coeff().residues());
        let mut out = vec![0u64; level * n];
        self.level_tables(level)?
            .moddown
            .divide_round(&all, &mut out)?;
        Ok(Poly::from_raw(self.ctx_q(), level, out))
    }
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
    ring: &RlweParams,
    src: &[u64],
    key: &KeySwitchingKey,
    sc: &mut Scratch,
    level: usize,
) -> Result<()> {
    let n = ring.degree();
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
    ring: &RlweParams,
    sc: &mut Scratch,
    level: usize,
    out0: (&mut [u64], bool),
    out1: (&mut [u64], bool),
    rot0: Option<(&[u64], u64)>,
) -> Result<()> {
    let n = ring.degree();
    let ctx_q = ring.ctx_q();
    let ctx_p = ring.ctx_p();
    let kp = ctx_p.len();
    let total = level + kp;
    if let Some((c0, _)) = rot0 {
        if c0.len() != level * n {
            return Err(Error::LengthMismatch {
                expected: level * n,
                found: c0.len(),
            });
        }
    }
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
            let xp = level * n..total * n;
            match rot0 {
                // c_0(X^g) + k_0, the automorphism gathered inside the pass.
                Some((c0, g)) => lanes.rescale_galois(
                    &mut out0.0[r.clone()],
                    &x0[r.clone()],
                    &x0[xp.clone()],
                    [p, k[0], k[1], k[2]],
                    &c0[r.clone()],
                    galois_inverse(g, n),
                ),
                None => lanes.rescale(
                    &mut out0.0[r.clone()],
                    &x0[r.clone()],
                    &x0[xp.clone()],
                    p,
                    k[0],
                    k[1],
                    k[2],
                    out0.1,
                ),
            }
            lanes.rescale(
                &mut out1.0[r.clone()],
                &x1[r],
                &x1[xp],
                p,
                k[0],
                k[1],
                k[2],
                out1.1,
            );
        }
        return Ok(());
    }
    // Portable path: the rotated c_0 first, then the switch added to it.
    let out0 = match rot0 {
        Some((c0, g)) => {
            for ((dst, limb), q) in out0
                .0
                .chunks_exact_mut(n)
                .zip(c0.chunks_exact(n))
                .zip(ctx_q.moduli())
            {
                automorphism_coeff(dst, limb, g, q.value(), false);
            }
            (out0.0, true)
        }
        None => out0,
    };
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::math::poly::Ntt;
    use crate::math::primes::ntt_primes;
    use crate::math::sampling::{gaussian_rns, seeded_rng, uniform_poly, Domain};
    use crate::params::SecurityLevel;
    use crate::rlwe::{RelinearizationKey, SecretKey, DOMAIN_KEY_SWITCH};
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};

    /// Key-switching keys are the textbook `b_j = -a_j s + e_j + P·T_j·s'` with `a_j` and
    /// `e_j` drawn exactly as before the generation was optimised (uniform `a_j` from the seed,
    /// `e_j` from `gaussian_rns` over `Q ∪ P`): same randomness, same residues.
    #[test]
    fn key_generation_matches_the_reference() {
        for (l, k, dnum) in [(4, 1, 4), (5, 2, 2), (3, 1, 1)] {
            let primes = ntt_primes(50, 256, l + k).unwrap();
            let params = RlweParams::new(
                256,
                &primes[..l],
                &primes[l..],
                dnum,
                SecurityLevel::InsecureForTesting,
            )
            .unwrap();
            let mut rng = ChaCha20Rng::seed_from_u64(11);
            let sk = SecretKey::generate(&params, &mut rng).unwrap();
            let mut r2 = rng.clone();
            let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
            // Reference.
            let s2 = sk.s_q().mul(sk.s_q()).unwrap();
            let mut seed = [0u8; 32];
            r2.fill_bytes(&mut seed);
            assert_eq!(&seed, rlk.key().seed());
            let n = 256;
            let all: Vec<_> = params
                .ctx_q()
                .moduli()
                .iter()
                .chain(params.ctx_p().moduli())
                .copied()
                .collect();
            for (j, (start, end)) in params.digits_at(l).into_iter().enumerate() {
                let mut ra = seeded_rng(
                    &seed,
                    Domain::new(DOMAIN_KEY_SWITCH, u32::try_from(j).unwrap()),
                );
                let aq = uniform_poly(&mut ra, params.ctx_q().moduli(), n).unwrap();
                let ap = uniform_poly(&mut ra, params.ctx_p().moduli(), n).unwrap();
                let e = gaussian_rns(&mut r2, &all, n).unwrap();
                let aq = Poly::<Ntt>::from_raw(params.ctx_q(), l, aq);
                let ap = Poly::<Ntt>::from_raw(params.ctx_p(), k, ap);
                let mut bq =
                    Poly::<Coeff>::from_raw(params.ctx_q(), l, e[..l * n].to_vec()).into_ntt();
                let mut bp =
                    Poly::<Coeff>::from_raw(params.ctx_p(), k, e[l * n..].to_vec()).into_ntt();
                bq.sub_assign(&aq.mul(sk.s_q()).unwrap()).unwrap();
                bp.sub_assign(&ap.mul(sk.s_p()).unwrap()).unwrap();
                let data = bq.residues_mut();
                for i in start..end {
                    let q = &params.ctx_q().moduli()[i];
                    let w = params.p_mod_q()[i];
                    for c in 0..n {
                        let x = &mut data[i * n + c];
                        *x = q.add(*x, q.mul(s2.residues()[i * n + c], w));
                    }
                }
                let (b, a) = &rlk.key().digits[j];
                assert_eq!((&a.q, &a.p), (&aq, &ap));
                assert_eq!((&b.q, &b.p), (&bq, &bp), "digit {j}");
            }
        }
    }
}
