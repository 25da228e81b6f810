//! Hybrid key switching kept in the NTT domain (the shared `rlwe` keys, a faster pipeline).
//!
//! The `rlwe` layer's [`key_switch`](crate::rlwe::RlweParams::key_switch) works on coefficient
//! polynomials and divides by `P` on coefficients. CKKS ciphertexts live in NTT form, so here
//! (as in SEAL and Lattigo):
//! * **ModUp** reuses the digit's own limbs, already in NTT form, and transforms only the limbs
//!   produced by base conversion: `Σ_j (l - α_j + K)` forward transforms instead of
//!   `dnum·(l + K)`;
//! * **ModDown** transforms only the `K` special limbs back to coefficients, extends their
//!   centred value `[x]_P` exactly to `Q_l` (Halevi–Polyakov–Shoup base extension), transforms
//!   it forward and takes `(x - [x]_P)·P^{-1} = round(x / P)` slot by slot: `K + l` transforms
//!   per polynomial instead of `2l + K`. The result is the same exact rounding as
//!   `math::rns::ScaleDown` (outside a window of relative width `2^-30` around `±P/2`, where it
//!   may be off by one).
//!
//! (Public-key encryption modulo `Q·p_0`, module `encrypt`, divides by `p_0` on coefficients
//! instead: its error and message are added before the division, which one prime makes cheap.)

use super::Parameters;
use crate::error::Result;
use crate::math::modulus::Modulus;
use crate::math::ntt::permute_slots;
use crate::math::poly::{Ntt, Poly};
use crate::math::rns::{BaseConverter, RnsBasis};
use crate::rlwe::{KeySwitchingKey, PolyQP};

thread_local! {
    /// Recycled limb buffers: key switching allocates several megabytes per call, which the
    /// allocator would otherwise return to the system and fault back in (zeroed) every time.
    static POOL: core::cell::RefCell<Vec<Vec<u64>>> = const { core::cell::RefCell::new(Vec::new()) };
    /// The `u128` accumulators of the inner product.
    static ACC: core::cell::RefCell<Vec<u128>> = const { core::cell::RefCell::new(Vec::new()) };
}

/// Buffers kept per thread at most.
const POOL_LIMIT: usize = 48;
/// Words kept per thread at most (64 MiB).
const POOL_WORDS: usize = 1 << 23;

/// A buffer of `len` words with unspecified contents (recycled public data or zeros), for
/// callers that overwrite every value: no clearing pass.
pub(crate) fn take_dirty(len: usize) -> Vec<u64> {
    // Best fit: the smallest buffer that holds `len` words (else the largest, grown), so that a
    // small buffer is not reallocated (copied, cleared) where a large one was free.
    let mut v = POOL
        .with(|p| {
            let mut p = p.borrow_mut();
            let best = p
                .iter()
                .enumerate()
                .min_by_key(|(_, v)| {
                    let c = v.capacity();
                    if c >= len {
                        (0, c)
                    } else {
                        (1, usize::MAX - c)
                    }
                })
                .map(|(i, _)| i);
            best.map(|i| p.swap_remove(i))
        })
        .unwrap_or_default();
    if v.len() >= len {
        v.truncate(len);
    } else {
        v.resize(len, 0);
    }
    v
}

/// Returns a buffer holding only public data (ciphertext-derived values) to the pool.
pub(crate) fn give(v: Vec<u64>) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let words: usize = p.iter().map(Vec::capacity).sum();
        if p.len() < POOL_LIMIT && words + v.capacity() <= POOL_WORDS {
            p.push(v);
        }
    });
}

/// Returns the buffers of a polynomial to the pool.
pub(crate) fn give_poly<R: crate::math::poly::Representation>(p: Poly<R>) {
    give(p.into_residues());
}

impl Digits {
    /// Returns the digits' buffers to the pool.
    pub(crate) fn recycle(self) {
        for d in self.digits {
            give_poly(d.q);
            give_poly(d.p);
        }
    }
}

/// Selects the `b` (`false`) or `a` (`true`) half of a key digit, in its `Q` or `P` part.
type KeyPart = dyn Fn(&(PolyQP, PolyQP), bool) -> &Poly<Ntt>;

/// ModDown constants at one level: the exact converter `P -> Q_l` and `P^{-1} mod q_j`.
#[derive(Debug)]
pub(crate) struct ModDownTable {
    conv: BaseConverter,
    p_inv: Vec<(u64, u64)>,
}

/// A polynomial decomposed for key switching: per digit, its extension to `Q_l ∪ P` (NTT).
#[derive(Clone, Debug)]
pub(crate) struct Digits {
    pub(crate) digits: Vec<PolyQP>,
}

impl Digits {
    /// The decomposition of `d(X^g)` from that of `d` (hoisting): every limb permuted by the
    /// automorphism's slot permutation ([`permute_slots`], pooled buffers).
    pub(crate) fn automorphism(&self, g: u64) -> Result<Self> {
        let permuted = |x: &Poly<Ntt>, perm: &[u32]| {
            let n = perm.len();
            let mut out = take_dirty(x.residues().len());
            for (dst, src) in out.chunks_exact_mut(n).zip(x.residues().chunks_exact(n)) {
                permute_slots(dst, src, perm, None);
            }
            Poly::from_raw(x.context(), x.limbs(), out)
        };
        let digits = self
            .digits
            .iter()
            .map(|d| {
                let perm = d.q.automorphism_permutation(g)?;
                Ok(PolyQP {
                    q: permuted(&d.q, &perm),
                    p: permuted(&d.p, &perm),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { digits })
    }
}

/// `acc += x(X^g)` slot by slot, for `perm = x.automorphism_permutation(g)` (one fused pass:
/// the rotated `c_0` added to the key switch's `k_0`).
pub(crate) fn add_permuted(acc: &mut Poly<Ntt>, x: &Poly<Ntt>, perm: &[u32]) -> Result<()> {
    if acc.limbs() != x.limbs() || **acc.context() != **x.context() {
        return Err(crate::error::Error::ContextMismatch);
    }
    let n = perm.len();
    let moduli: Vec<u64> = acc.context().moduli().iter().map(Modulus::value).collect();
    for ((dst, src), q) in acc
        .residues_mut()
        .chunks_exact_mut(n)
        .zip(x.residues().chunks_exact(n))
        .zip(moduli)
    {
        permute_slots(dst, src, perm, Some(q));
    }
    Ok(())
}

/// `x[i] = (x[i] - c[i])·w mod q` (Shoup, `w_shoup = floor(w 2^64 / q)`), for canonical
/// `x[i], c[i] < q`; element-wise, vectorised by `multiversion`.
///
/// Range: `x + q - c < 2q < 2^63`; the lazy Shoup product lies in `[0, 2q)` (proof at
/// [`Modulus::mul_shoup_lazy`]) and one conditional subtraction (`min(r, r - q)`, which wraps
/// for `r < q`) makes it canonical.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+bmi2", "x86_64+avx2+bmi2"))]
pub(crate) fn sub_mul_shoup(x: &mut [u64], c: &[u64], w: u64, w_shoup: u64, q: u64) {
    for (y, &t) in x.iter_mut().zip(c) {
        debug_assert!(*y < q && t < q);
        let a = *y + q - t;
        #[allow(clippy::cast_possible_truncation)]
        let est = ((u128::from(a) * u128::from(w_shoup)) >> 64) as u64;
        let r = a.wrapping_mul(w).wrapping_sub(est.wrapping_mul(q));
        *y = r.min(r.wrapping_sub(q));
    }
}

fn sub_mul_limb(x: &mut [u64], c: &[u64], q: &Modulus, w: u64, ws: u64) {
    sub_mul_shoup(x, c, w, ws, q.value());
}

impl Parameters {
    fn moddown_table(&self, level: usize) -> Result<&ModDownTable> {
        self.check_level(level)?;
        if let Some(t) = self.moddown[level - 1].get() {
            return Ok(t);
        }
        let q = self.q_moduli();
        let p = self.p_moduli();
        let conv = BaseConverter::new(&RnsBasis::new(&p)?, &RnsBasis::new(&q[..level])?)?;
        let p_inv = self.moduli()[..level]
            .iter()
            .map(|m| {
                let pm = p
                    .iter()
                    .fold(m.reduce(1), |acc, &x| m.mul(acc, m.reduce(x)));
                let w = m.inv(pm)?;
                Ok((w, m.shoup(w)))
            })
            .collect::<Result<Vec<_>>>()?;
        let t = ModDownTable { conv, p_inv };
        Ok(self.moddown[level - 1].get_or_init(|| t))
    }

    /// ModUp of `d` (NTT form, level `l`): one [`PolyQP`] per digit in use.
    pub(crate) fn decompose_ntt(&self, d: &Poly<Ntt>) -> Result<Digits> {
        self.decompose_ntt_permuted(d, None)
    }

    /// ModUp of `d(X^g)` for `perm = d.automorphism_permutation(g)` (or of `d` for `None`):
    /// the automorphism's slot permutation is applied while the limbs are read (into the
    /// inverse transforms' input and the digits' own limbs), never as a pass of its own.
    pub(crate) fn decompose_ntt_permuted(
        &self,
        d: &Poly<Ntt>,
        perm: Option<&[u32]>,
    ) -> Result<Digits> {
        let level = d.limbs();
        let n = self.degree();
        let rl = self.rlwe();
        let (cq, cp) = (rl.ctx_q(), rl.ctx_p());
        let k_p = cp.len();
        let tables = rl.level_tables(level)?;
        // The digits' Q parts; each one's own limbs are filled while the input is read.
        let mut qs: Vec<Vec<u64>> = (0..tables.modup.len())
            .map(|_| take_dirty(level * n))
            .collect();
        let owner = |i: usize| {
            tables
                .modup
                .iter()
                .position(|(s, e, _)| (*s..*e).contains(&i))
        };
        let mut src = take_dirty(level * n);
        for (i, (limb, plan)) in src.chunks_exact_mut(n).zip(cq.plans()).enumerate() {
            // Limb `i` of the (permuted) input, NTT form.
            let x = &d.residues()[i * n..(i + 1) * n];
            match perm {
                Some(p) => permute_slots(limb, x, p, None),
                None => limb.copy_from_slice(x),
            }
            if let Some(j) = owner(i) {
                qs[j][i * n..(i + 1) * n].copy_from_slice(limb);
            }
            plan.inverse(limb)?;
        }
        let mut digits = Vec::with_capacity(tables.modup.len());
        // The converted limbs are transformed out of place into the digits (no copy). Their
        // buffer starts 2 KiB away from the digits' modulo 4 KiB, so that the transforms'
        // reads and writes at power-of-two strides do not share L1 sets (see `bfv::keyswitch`).
        let mut ext_all = take_dirty((level + k_p) * n + 512);
        for ((start, end, conv), mut q) in tables.modup.iter().zip(qs) {
            let (start, end) = (*start, *end);
            let others = level - (end - start);
            let shift = {
                // Addresses only, to pick the offset; both are multiples of 8.
                let (a, b) = (q.as_ptr() as usize, ext_all.as_ptr() as usize);
                ((a + 2048).wrapping_sub(b) % 4096) / 8
            };
            let ext = &mut ext_all[shift..shift + (others + k_p) * n];
            conv.convert_approx(&src[start * n..end * n], ext)?;
            for i in (0..level).filter(|i| !(start..end).contains(i)) {
                let e = if i < start { i } else { i - (end - start) };
                cq.plans()[i]
                    .forward_lazy_from(&ext[e * n..(e + 1) * n], &mut q[i * n..(i + 1) * n])?;
            }
            let mut p = take_dirty(k_p * n);
            for (t, (limb, plan)) in p.chunks_exact_mut(n).zip(cp.plans()).enumerate() {
                plan.forward_lazy_from(&ext[(others + t) * n..(others + t + 1) * n], limb)?;
            }
            digits.push(PolyQP {
                q: Poly::from_raw(cq, level, q),
                p: Poly::from_raw(cp, k_p, p),
            });
        }
        let ext = ext_all;
        give(src);
        give(ext);
        Ok(Digits { digits })
    }

    /// Inner product with the key and ModDown: `(k_0, k_1)` over `Q_l`, NTT form, with
    /// `k_0 + k_1·s ≈ d·s'`.
    pub(crate) fn key_switch_digits(
        &self,
        dig: &Digits,
        key: &KeySwitchingKey,
        level: usize,
    ) -> Result<(Poly<Ntt>, Poly<Ntt>)> {
        let rl = self.rlwe();
        let n = self.degree();
        let k_p = rl.ctx_p().len();
        let used = dig.digits.len().min(key.digits.len());
        // Lazy inner product: per value, Σ_j d_j·b_j and Σ_j d_j·a_j accumulate in u128 and are
        // reduced once. Each term is below q^2 < 2^124 (primes below 2^62), so 8 terms stay
        // below 2^127; longer sums are reduced every 8 digits.
        let inner = |limbs: usize,
                     plans: &[crate::math::ntt::NttPlan],
                     moduli: &[Modulus],
                     part: &dyn Fn(&PolyQP) -> &Poly<Ntt>,
                     key_part: &KeyPart|
         -> (Vec<u64>, Vec<u64>) {
            // Every value is written below (first chunk of digits) before it is read.
            let mut out0 = take_dirty(limbs * n);
            let mut out1 = take_dirty(limbs * n);
            let mut acc = ACC.with(|a| core::mem::take(&mut *a.borrow_mut()));
            acc.resize(2 * n, 0);
            let (acc0, acc1) = acc.split_at_mut(n);
            let digits: Vec<usize> = (0..used).collect();
            if digits.is_empty() {
                out0.fill(0);
                out1.fill(0);
            }
            for (j, m) in moduli.iter().enumerate().take(limbs) {
                let r = j * n..(j + 1) * n;
                let (o0, o1) = (&mut out0[r.clone()], &mut out1[r.clone()]);
                if let Some(lanes) = plans[j].lanes() {
                    // IFMA: a lazy two-word dot product over the digits (`math::ntt::lanes`).
                    let xs: Vec<&[u64]> = digits
                        .iter()
                        .map(|&d| &part(&dig.digits[d]).residues()[r.clone()])
                        .collect();
                    let bs: Vec<&[u64]> = digits
                        .iter()
                        .map(|&d| &key_part(&key.digits[d], false).residues()[r.clone()])
                        .collect();
                    let as_: Vec<&[u64]> = digits
                        .iter()
                        .map(|&d| &key_part(&key.digits[d], true).residues()[r.clone()])
                        .collect();
                    lanes.dot2(o0, o1, &xs, &bs, &as_);
                    continue;
                }
                for (c, chunk) in digits.chunks(8).enumerate() {
                    for (t, &d) in chunk.iter().enumerate() {
                        let x = &part(&dig.digits[d]).residues()[r.clone()];
                        let b = &key_part(&key.digits[d], false).residues()[r.clone()];
                        let a = &key_part(&key.digits[d], true).residues()[r.clone()];
                        if t == 0 {
                            // The chunk's first term initialises the accumulators.
                            for i in 0..n {
                                let xi = u128::from(x[i]);
                                acc0[i] = xi * u128::from(b[i]);
                                acc1[i] = xi * u128::from(a[i]);
                            }
                        } else {
                            for i in 0..n {
                                let xi = u128::from(x[i]);
                                acc0[i] += xi * u128::from(b[i]);
                                acc1[i] += xi * u128::from(a[i]);
                            }
                        }
                    }
                    for i in 0..n {
                        debug_assert!(acc0[i] >> 127 == 0 && acc1[i] >> 127 == 0);
                        let (r0, r1) = (m.reduce_u128(acc0[i]), m.reduce_u128(acc1[i]));
                        if c == 0 {
                            o0[i] = r0;
                            o1[i] = r1;
                        } else {
                            o0[i] = m.add(o0[i], r0);
                            o1[i] = m.add(o1[i], r1);
                        }
                    }
                }
            }
            ACC.with(|a| *a.borrow_mut() = acc);
            (out0, out1)
        };
        let (q0, q1) = inner(
            level,
            rl.ctx_q().plans(),
            self.moduli(),
            &|d: &PolyQP| &d.q,
            &|k: &(PolyQP, PolyQP), a: bool| if a { &k.1.q } else { &k.0.q },
        );
        let (p0, p1) = inner(
            k_p,
            rl.ctx_p().plans(),
            rl.ctx_p().moduli(),
            &|d: &PolyQP| &d.p,
            &|k: &(PolyQP, PolyQP), a: bool| if a { &k.1.p } else { &k.0.p },
        );
        let acc = [
            (
                Poly::from_raw(rl.ctx_q(), level, q0),
                Poly::from_raw(rl.ctx_p(), k_p, p0),
            ),
            (
                Poly::from_raw(rl.ctx_q(), level, q1),
                Poly::from_raw(rl.ctx_p(), k_p, p1),
            ),
        ];
        let [(q0, p0), (q1, p1)] = acc;
        Ok((self.mod_down_switch(q0, p0)?, self.mod_down_switch(q1, p1)?))
    }

    /// ModDown for key switching: `round(x / P)` over `Q_l` in NTT form, for `x` given by its
    /// NTT-form parts over `Q_l` and `P`; the last step (`(x - [x]_P)·P^-1`) runs on the SIMD
    /// kernels where the prime allows (`Lanes::sub_mul_const_assign`).
    fn mod_down_switch(&self, x_q: Poly<Ntt>, x_p: Poly<Ntt>) -> Result<Poly<Ntt>> {
        let level = x_q.limbs();
        let n = self.degree();
        let rl = self.rlwe();
        let t = self.moddown_table(level)?;
        let xp = x_p.into_coeff().into_residues();
        let mut conv = take_dirty(level * n);
        t.conv.convert_exact(&xp, &mut conv)?;
        let moduli = self.moduli();
        let plans = rl.ctx_q().plans();
        let mut xq = x_q.into_residues();
        for j in 0..level {
            let c = &mut conv[j * n..(j + 1) * n];
            plans[j].forward(c)?;
            let (w, ws) = t.p_inv[j];
            let x = &mut xq[j * n..(j + 1) * n];
            match plans[j].lanes() {
                Some(l) => l.sub_mul_const_assign(x, c, w, l.companion(w)),
                None => sub_mul_limb(x, c, &moduli[j], w, ws),
            }
        }
        give(conv);
        give(xp);
        Ok(Poly::from_raw(rl.ctx_q(), level, xq))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::{encrypt_symmetric, Evaluator, GaloisKeys, Parameters, Preset};
    use crate::math::poly::Poly;
    use crate::rlwe::SecretKey;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// The fused rotations (automorphism folded into ModUp's reads and into the addition of
    /// `c_0`, hoisted digits permuted block-wise) return exactly the ciphertext of the unfused
    /// composition: permute `c_0` and `c_1`, decompose, switch, add.
    #[test]
    fn fused_rotations_equal_the_unfused_composition() {
        let params = Parameters::preset(Preset::InsecureN1024Depth4Scale30).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        let sk = SecretKey::generate(params.rlwe(), &mut rng).unwrap();
        let steps = [1i64, 3, -2];
        let gks = GaloisKeys::generate(&params, &sk, &steps, true, &mut rng).unwrap();
        let ev = Evaluator::new(&params);
        let values: Vec<f64> = (0..params.slots())
            .map(|i| (i % 17) as f64 / 17.0)
            .collect();
        let pt = params.encode_real_top(&values).unwrap();
        let mut ct = encrypt_symmetric(&params, &sk, &pt, &mut rng).unwrap();
        loop {
            let level = ct.parts[0].limbs();
            let hoisted = ev.rotate_hoisted(&ct, &steps, &gks).unwrap();
            let dec = params.decompose_ntt(&ct.parts[1]).unwrap();
            for (&k, h) in steps.iter().zip(&hoisted) {
                let key = gks.get(params.rotation_element(k)).unwrap();
                let g = key.element();
                let c1: Poly<_> = ct.parts[1].automorphism(g).unwrap();
                let dig = params.decompose_ntt(&c1).unwrap();
                let (k0, k1) = params.key_switch_digits(&dig, key.key(), level).unwrap();
                let mut c0 = ct.parts[0].automorphism(g).unwrap();
                c0.add_assign(&k0).unwrap();
                let got = ev.rotate(&ct, k, &gks).unwrap();
                assert_eq!(got.parts, vec![c0.clone(), k1], "rotate {k}, level {level}");
                // Hoisted: the permuted decomposition, limb by limb.
                let perm_dec = super::Digits {
                    digits: dec
                        .digits
                        .iter()
                        .map(|d| crate::rlwe::PolyQP {
                            q: d.q.automorphism(g).unwrap(),
                            p: d.p.automorphism(g).unwrap(),
                        })
                        .collect(),
                };
                assert_eq!(perm_dec.digits, dec.automorphism(g).unwrap().digits);
                let (k0, k1) = params
                    .key_switch_digits(&perm_dec, key.key(), level)
                    .unwrap();
                let mut c0 = ct.parts[0].automorphism(g).unwrap();
                c0.add_assign(&k0).unwrap();
                assert_eq!(h.parts, vec![c0, k1], "hoisted {k}, level {level}");
            }
            if level <= 2 {
                break;
            }
            ct = ev.rescale(&ct).unwrap();
        }
    }
}
