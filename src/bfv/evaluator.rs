//! Homomorphic operations on BFV ciphertexts.
//!
//! # Multiplication (full RNS, exact scaling)
//! The product of `c = (c_0, c_1)` and `c' = (c'_0, c'_1)` at level `l` (`Q = Q_l`) is
//! `round(t/Q · c ⊗ c') mod Q` with `c ⊗ c' = (c_0c'_0, c_0c'_1 + c_1c'_0, c_1c'_1)` over the
//! integers, on the centered lifts of the coefficients. As in Halevi, Polyakov and Shoup, "An
//! Improved RNS Variant of the BFV Homomorphic Encryption Scheme" (CT-RSA 2019, §4), the integer
//! tensor is computed in RNS over `Q ∪ R` with an auxiliary basis `R`, then scaled back:
//! 1. **extend** each input polynomial from `Q` to `R` exactly (HPS's floating-point corrected
//!    base extension, [`BaseConverter::convert_exact`](crate::math::rns::BaseConverter)), which
//!    yields the centered lift `|c| <= Q/2`;
//! 2. **tensor** in NTT form over `Q` and over `R`, back to coefficients;
//! 3. **scale**: multiply by `t`, then divide by `Q` and round exactly on the basis `R ∪ Q`
//!    (`Q` last; [`ScaleDown`](crate::math::rns::ScaleDown), mixed-radix, no floating point),
//!    leaving `round(t·d/Q)` modulo the primes of `R`;
//! 4. **extend back** from `R` to `Q` exactly (`convert_exact`, centered).
//!
//! Size of `R`: the tensor coefficients satisfy `|d_k| <= 2·N·(Q/2)^2 = N Q²/2`, so
//! `|t d_k| <= t N Q²/2`; step 3 is exact on centered values when `R Q > t N Q²`, i.e.
//! `R > t N Q`, and step 4 needs `|round(t d/Q)| <= t N Q/2 + 1/2 < R/2 (1 - 2δ)`. Choosing
//! primes with `Σ (bits(r_j) - 1) >= bits(t) + log2 N + bits(Q) + 1` gives `R >= 2 t N Q`,
//! enough for both. The result is therefore **exactly** `round(t/Q · c ⊗ c') mod Q` (tested
//! against a big-integer reference in `tests/bfv_props.rs`); HPS's own scaling step uses
//! floating point and is exact only up to a rounding that this variant does not have.
//!
//! # Relinearisation, rotations
//! Hybrid key switching of the `rlwe` layer: `c_2` (relinearisation) or `c_1(X^g)` (Galois
//! element `g`) is switched to `s`. Rows of the `2 × N/2` slot matrix rotate by `X -> X^(3^k)`
//! and swap by `X -> X^(2N-1)`; a rotation without its own key is composed of power-of-two
//! rotations. Several rotations of one ciphertext share one decomposition
//! ([`Evaluator::rotate_rows_hoisted`]).
//!
//! # Lazy relinearisation
//! Products stay at degree 2 until [`Evaluator::relinearize`]; degree-2 ciphertexts add, so a
//! sum of products costs one relinearisation ([`Evaluator::mul_then_add`]).
//! [`Evaluator::inner_product`] goes further: it sums the integer tensors `t·d_i` over `R ∪ Q`
//! and scales once. The bound above becomes `|Σ t d_i| <= k t N Q²/2` for `k` products, exact
//! while `R > 2 k t N Q`; the primes of `R` give `slack = Σ(bits(r_j) - 1) - (bits(t) + log2 N +
//! bits(Q) + 1)` spare bits (17 at `n16384_logq438_t20bit`), so up to `2^slack` products share
//! one scaling and one conversion back to `Q`.
//!
//! # Modulus switching
//! `c -> round(Q'/Q · c)` drops the last primes (exact divide-and-round per prime); the phase
//! keeps `round(t φ / Q')` semantics with rounding noise `(1 + ‖s‖)/2` (module [`super::noise`]).

use super::ciphertext::{Ciphertext, Plaintext};
use super::noise::{self, NoiseEstimate};
use super::params::Parameters;
use crate::error::{Error, Result};
use crate::math::poly::{Coeff, Ntt, Poly};
use crate::rlwe::{GaloisKey, RelinearizationKey, SecretKey};
use rand_core::{CryptoRng, RngCore};
use std::collections::BTreeMap;

/// A small thread-local pool of buffers for the multiplication's intermediate polynomials
/// (public, ciphertext-derived data), so that large allocations are not mapped and faulted in
/// afresh on every product.
mod pool {
    use core::cell::RefCell;

    thread_local! {
        static POOL: RefCell<Vec<Vec<u64>>> = const { RefCell::new(Vec::new()) };
    }

    /// A zeroed buffer of `len` words.
    pub(super) fn take(len: usize) -> Vec<u64> {
        let mut v = POOL.with(|p| p.borrow_mut().pop()).unwrap_or_default();
        v.clear();
        v.resize(len, 0);
        v
    }

    /// A buffer of `len` words whose contents are unspecified (recycled public data, or
    /// zeros): for callers that overwrite every value.
    pub(super) fn take_dirty(len: usize) -> Vec<u64> {
        let mut v = POOL.with(|p| p.borrow_mut().pop()).unwrap_or_default();
        if v.len() >= len {
            v.truncate(len);
        } else {
            v.resize(len, 0);
        }
        v
    }

    /// Returns a buffer to the pool (at most 8 are kept).
    pub(super) fn give(v: Vec<u64>) {
        POOL.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < 8 {
                p.push(v);
            }
        });
    }
}
use std::sync::Arc;

/// `x` as `i64` (degrees and steps are far below `2^63`).
fn as_i64(x: usize) -> i64 {
    i64::try_from(x).unwrap_or(i64::MAX)
}

/// The Galois element rotating both rows left by `steps` columns: `3^(steps mod N/2) mod 2N`.
pub fn rotation_element(n: usize, steps: i64) -> u64 {
    let half = as_i64(n / 2);
    let k = steps.rem_euclid(half.max(1)) as u64;
    let two_n = 2 * n as u64;
    let mut g = 1u64;
    for _ in 0..k {
        g = g * super::ROW_GENERATOR as u64 % two_n;
    }
    g
}

/// The Galois element swapping the two rows: `2N - 1`.
pub fn row_swap_element(n: usize) -> u64 {
    2 * n as u64 - 1
}

/// A set of Galois keys, indexed by Galois element.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GaloisKeys {
    keys: BTreeMap<u64, GaloisKey>,
}

impl GaloisKeys {
    /// Keys for the given Galois elements (odd, taken modulo `2N`).
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] for an even element.
    pub fn generate(
        sk: &SecretKey,
        elements: &[u64],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        let mut keys = BTreeMap::new();
        let two_n = 2 * sk.params().degree() as u64;
        for &g in elements {
            let g = g % two_n;
            if g == 1 || keys.contains_key(&g) {
                continue;
            }
            keys.insert(g, GaloisKey::generate(sk, g, rng)?);
        }
        Ok(Self { keys })
    }

    /// Keys for row rotations by each of `steps` (negative: right) and, if `row_swap`, for
    /// swapping the rows.
    ///
    /// # Errors
    /// Not expected for valid keys.
    pub fn for_rotations(
        sk: &SecretKey,
        steps: &[i64],
        row_swap: bool,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        let n = sk.params().degree();
        let mut elements: Vec<u64> = steps.iter().map(|&s| rotation_element(n, s)).collect();
        if row_swap {
            elements.push(row_swap_element(n));
        }
        Self::generate(sk, &elements, rng)
    }

    /// Keys for left rotations by every power of two below `N/2` and for the row swap: any
    /// rotation and [`Evaluator::sum_slots`] then work (`log2 N` keys).
    ///
    /// # Errors
    /// Not expected for valid keys.
    pub fn power_of_two(sk: &SecretKey, rng: &mut (impl RngCore + CryptoRng)) -> Result<Self> {
        let n = sk.params().degree();
        let mut steps = Vec::new();
        let mut s = 1;
        while s < n / 2 {
            steps.push(as_i64(s));
            s *= 2;
        }
        Self::for_rotations(sk, &steps, true, rng)
    }

    /// The key of Galois element `g`, if present.
    pub fn get(&self, g: u64) -> Option<&GaloisKey> {
        self.keys.get(&g)
    }

    /// The Galois elements with a key.
    pub fn elements(&self) -> impl Iterator<Item = u64> + '_ {
        self.keys.keys().copied()
    }

    /// Adds a key.
    pub fn insert(&mut self, key: GaloisKey) {
        self.keys.insert(key.element(), key);
    }
}

const NO_KEY: Error = Error::InvalidOperation {
    reason: "no Galois key for this rotation: generate it (GaloisKeys::for_rotations) or the power-of-two keys (GaloisKeys::power_of_two)",
};

/// Homomorphic operations over one parameter set.
#[derive(Clone, Debug)]
pub struct Evaluator {
    params: Arc<Parameters>,
}

impl Evaluator {
    /// An evaluator for `params`.
    pub fn new(params: &Arc<Parameters>) -> Self {
        Self {
            params: Arc::clone(params),
        }
    }

    /// The parameters.
    pub fn params(&self) -> &Arc<Parameters> {
        &self.params
    }

    fn check(&self, ct: &Ciphertext) -> Result<()> {
        self.params.check_same(&ct.params)
    }

    fn check_pair(&self, a: &Ciphertext, b: &Ciphertext) -> Result<()> {
        self.check(a)?;
        self.check(b)?;
        if a.level() != b.level() {
            return Err(Error::InvalidOperation {
                reason: "ciphertexts at different levels: switch the higher one down first (mod_switch_to_level)",
            });
        }
        Ok(())
    }

    fn check_plain(&self, pt: &Plaintext) -> Result<()> {
        self.params.check_same(pt.params())
    }

    /// `a + b` (degrees may differ; the result has the larger degree).
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] for other parameters; [`Error::InvalidOperation`] for
    /// different levels.
    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        let mut r = a.clone();
        self.add_assign(&mut r, b)?;
        Ok(r)
    }

    /// `a += b`.
    ///
    /// # Errors
    /// As [`Evaluator::add`].
    pub fn add_assign(&self, a: &mut Ciphertext, b: &Ciphertext) -> Result<()> {
        self.combine(a, b, false)
    }

    /// `a - b`.
    ///
    /// # Errors
    /// As [`Evaluator::add`].
    pub fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        let mut r = a.clone();
        self.sub_assign(&mut r, b)?;
        Ok(r)
    }

    /// `a -= b`.
    ///
    /// # Errors
    /// As [`Evaluator::add`].
    pub fn sub_assign(&self, a: &mut Ciphertext, b: &Ciphertext) -> Result<()> {
        self.combine(a, b, true)
    }

    fn combine(&self, a: &mut Ciphertext, b: &Ciphertext, subtract: bool) -> Result<()> {
        self.check_pair(a, b)?;
        let level = a.level();
        while a.polys.len() < b.polys.len() {
            a.polys
                .push(Poly::zero_at(self.params.ring().ctx_q(), level)?);
        }
        for (x, y) in a.polys.iter_mut().zip(&b.polys) {
            if subtract {
                x.sub_assign(y)?;
            } else {
                x.add_assign(y)?;
            }
        }
        a.seed = None;
        a.noise = noise::add(a.noise, b.noise);
        Ok(())
    }

    /// `-a`.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] for other parameters.
    pub fn neg(&self, a: &Ciphertext) -> Result<Ciphertext> {
        self.check(a)?;
        let mut r = a.clone();
        for p in &mut r.polys {
            p.neg_assign();
        }
        r.seed = None;
        Ok(r)
    }

    /// `a + m` for a plaintext `m`.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] for other parameters.
    pub fn add_plain(&self, a: &Ciphertext, m: &Plaintext) -> Result<Ciphertext> {
        self.plain_add_sub(a, m, false)
    }

    /// `a - m` for a plaintext `m`.
    ///
    /// # Errors
    /// As [`Evaluator::add_plain`].
    pub fn sub_plain(&self, a: &Ciphertext, m: &Plaintext) -> Result<Ciphertext> {
        self.plain_add_sub(a, m, true)
    }

    fn plain_add_sub(&self, a: &Ciphertext, m: &Plaintext, subtract: bool) -> Result<Ciphertext> {
        self.check(a)?;
        self.check_plain(m)?;
        let mut r = a.clone();
        let scaled = m.scaled(a.level())?;
        if subtract {
            r.polys[0].sub_assign(&scaled)?;
        } else {
            r.polys[0].add_assign(&scaled)?;
        }
        r.noise = noise::add_plain(&self.params, a.noise);
        Ok(r)
    }

    /// `a · m` for a plaintext `m` (slot-wise product under batching).
    ///
    /// # Errors
    /// As [`Evaluator::add_plain`].
    pub fn mul_plain(&self, a: &Ciphertext, m: &Plaintext) -> Result<Ciphertext> {
        self.check(a)?;
        self.check_plain(m)?;
        let level = a.level();
        let mn = m.lifted_ntt(level)?;
        let polys = a
            .polys
            .iter()
            .map(|p| {
                let mut x = p.clone().into_ntt();
                x.mul_assign(&mn)?;
                Ok(x.into_coeff())
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Ciphertext {
            params: Arc::clone(&self.params),
            polys,
            seed: None,
            noise: noise::scale(a.noise, m.log2_norm2()),
        })
    }

    /// `a + k` for an integer `k` in `[0, t)` (added to every slot under batching, to the
    /// constant coefficient otherwise).
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] if `k >= t`.
    pub fn add_scalar(&self, a: &Ciphertext, k: u64) -> Result<Ciphertext> {
        let mut c = vec![0u64; self.params.degree()];
        c[0] = k;
        self.add_plain(a, &Plaintext::from_coefficients(&self.params, c)?)
    }

    /// `a · k` for an integer `k` in `[0, t)` (every slot, or every coefficient, times `k`).
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] if `k >= t`; [`Error::ContextMismatch`] for other parameters.
    pub fn mul_scalar(&self, a: &Ciphertext, k: u64) -> Result<Ciphertext> {
        self.check(a)?;
        let t = self.params.t();
        if k >= t.value() {
            return Err(Error::ValueOutOfRange {
                what: "scalar not below the plaintext modulus t: reduce it modulo t",
            });
        }
        let kc = t.center(k);
        let level = a.level();
        let rns: Vec<u64> = self.params.ring().ctx_q().moduli()[..level]
            .iter()
            .map(|q| q.reduce_i64(kc))
            .collect();
        let mut r = a.clone();
        for p in &mut r.polys {
            p.mul_rns_scalar_assign(&rns)?;
        }
        r.seed = None;
        r.noise = noise::scale(a.noise, (kc.unsigned_abs().max(1) as f64).log2());
        Ok(r)
    }

    /// `a · b` as a degree-2 ciphertext (see the [module docs](self)); relinearise it, or add
    /// more products to it first.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] for other parameters; [`Error::InvalidOperation`] for
    /// different levels, an operand of degree above 1 (relinearise it first) or an operand
    /// whose public noise estimate says its budget is exhausted.
    pub fn multiply(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        self.check_pair(a, b)?;
        self.tensor(a, Some(b))
    }

    /// `a²` as a degree-2 ciphertext (three products instead of four).
    ///
    /// # Errors
    /// As [`Evaluator::multiply`].
    pub fn square(&self, a: &Ciphertext) -> Result<Ciphertext> {
        self.check(a)?;
        self.tensor(a, None)
    }

    /// `a · b` relinearised.
    ///
    /// # Errors
    /// As [`Evaluator::multiply`] and [`Evaluator::relinearize`].
    pub fn multiply_relin(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
        rlk: &RelinearizationKey,
    ) -> Result<Ciphertext> {
        let mut p = self.multiply(a, b)?;
        self.relinearize_assign(&mut p, rlk)?;
        Ok(p)
    }

    /// `acc += a · b` without relinearising (lazy relinearisation: relinearise `acc` once at
    /// the end).
    ///
    /// # Errors
    /// As [`Evaluator::multiply`] and [`Evaluator::add`].
    pub fn mul_then_add(&self, acc: &mut Ciphertext, a: &Ciphertext, b: &Ciphertext) -> Result<()> {
        let p = self.multiply(a, b)?;
        self.add_assign(acc, &p)
    }

    /// `Σ a_i · b_i`, relinearised once. The tensor products are summed **before** the
    /// scaling by `t/Q` (over `R ∪ Q`, exact while the sum fits the auxiliary basis: up to
    /// `2^slack` products, see the [module docs](self); longer lists are cut into such groups),
    /// so each extra pair costs its extensions and products only, and the sum carries one
    /// rounding instead of one per product.
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] for an empty list; as [`Evaluator::multiply_relin`].
    pub fn inner_product(
        &self,
        pairs: &[(&Ciphertext, &Ciphertext)],
        rlk: &RelinearizationKey,
    ) -> Result<Ciphertext> {
        let (first, _) = pairs.split_first().ok_or(Error::InvalidOperation {
            reason: "inner product of an empty list",
        })?;
        let level = first.0.level();
        for (a, b) in pairs {
            self.check_pair(a, b)?;
            self.check_pair(first.0, a)?;
            self.check_factors(a, Some(b))?;
        }
        let group = self.params.mul_tables(level)?.max_terms.max(1);
        let log_q = self.params.log2_q(level)?;
        let mut total: Option<Ciphertext> = None;
        for chunk in pairs.chunks(group) {
            let mut acc: Option<[Poly<Ntt>; 3]> = None;
            let mut noise: Option<NoiseEstimate> = None;
            for (a, b) in chunk {
                let p = self.tensor_ntt(a, Some(b))?;
                let nz = noise::mul(&self.params, log_q, a.noise, b.noise);
                noise = Some(noise.map_or(nz, |x| noise::add(x, nz)));
                acc = Some(match acc {
                    None => p,
                    Some(mut s) => {
                        for (x, y) in s.iter_mut().zip(p) {
                            x.add_assign(&y)?;
                            pool::give(y.into_residues());
                        }
                        s
                    }
                });
            }
            let (Some(acc), Some(noise)) = (acc, noise) else {
                continue;
            };
            let ct = Ciphertext {
                params: Arc::clone(&self.params),
                polys: self.scale_products(acc, level)?,
                seed: None,
                noise,
            };
            total = Some(match total {
                None => ct,
                Some(mut t) => {
                    self.add_assign(&mut t, &ct)?;
                    t
                }
            });
        }
        let mut acc = total.ok_or(Error::InvalidOperation {
            reason: "inner product of an empty list",
        })?;
        self.relinearize_assign(&mut acc, rlk)?;
        Ok(acc)
    }

    fn check_factors(&self, a: &Ciphertext, b: Option<&Ciphertext>) -> Result<()> {
        for x in core::iter::once(a).chain(b) {
            if x.degree() != 1 {
                return Err(Error::InvalidOperation {
                    reason: "multiplication needs degree-1 operands: relinearise first",
                });
            }
            if x.estimated_budget() <= 0.0 {
                return Err(Error::InvalidOperation {
                    reason: "noise budget exhausted (public estimate): the product would not decrypt; use a larger Q, a smaller t or fewer multiplications",
                });
            }
        }
        Ok(())
    }

    fn tensor(&self, a: &Ciphertext, b: Option<&Ciphertext>) -> Result<Ciphertext> {
        self.check_factors(a, b)?;
        let prods = self.tensor_ntt(a, b)?;
        let polys = self.scale_products(prods, a.level())?;
        let params = &self.params;
        let level = a.level();
        let log_q = params.log2_q(level)?;
        let nb = b.map_or(a.noise, |b| b.noise);
        Ok(Ciphertext {
            params: Arc::clone(params),
            polys,
            seed: None,
            noise: noise::mul(params, log_q, a.noise, nb),
        })
    }

    /// `t·(a ⊗ b)` over `R ∪ Q_l`, NTT form (`b = None`: `a ⊗ a`).
    fn tensor_ntt(&self, a: &Ciphertext, b: Option<&Ciphertext>) -> Result<[Poly<Ntt>; 3]> {
        let params = &self.params;
        let level = a.level();
        let n = params.degree();
        let mt = params.mul_tables(level)?;
        let k = mt.k;
        let ctx_rq = params.aux_context();
        // Each input over R ∪ Q_l (one polynomial of the R ∪ Q context), NTT form.
        let len = (k + level) * n;
        let extend = |p: &Poly<Coeff>| -> Result<Poly<Ntt>> {
            // Every value is overwritten below: a recycled buffer need not be cleared.
            let mut data = pool::take_dirty(len);
            let (r, q) = data.split_at_mut(k * n);
            mt.q_to_r.convert_exact(p.residues(), r)?;
            q.copy_from_slice(p.residues());
            Ok(Poly::from_raw(ctx_rq, k + level, data).into_ntt())
        };
        let zero = || Poly::<Ntt>::from_raw(ctx_rq, k + level, pool::take(len));
        let t = params.plaintext_modulus();
        let mut a0 = extend(&a.polys[0])?;
        let mut a1 = extend(&a.polys[1])?;
        // t·(c ⊗ c'): t folded into the products (the scaling below divides t·d by Q). Products
        // are formed in place or in pooled buffers (no fresh pages per multiplication).
        let prods: [Poly<Ntt>; 3] = match b {
            Some(b) => {
                let mut b0 = extend(&b.polys[0])?;
                let b1 = extend(&b.polys[1])?;
                a0.mul_scalar_assign(t);
                a1.mul_scalar_assign(t);
                // One pass: a0 <- a0 b0, b0 <- a0 b1 + a1 b0, a1 <- a1 b1.
                Poly::tensor_assign(&mut a0, &mut a1, &mut b0, &b1)?;
                pool::give(b1.into_residues());
                [a0, b0, a1]
            }
            None => {
                let mut d0 = zero();
                d0.mul_add_assign(&a0, &a0)?;
                let mut d2 = zero();
                d2.mul_add_assign(&a1, &a1)?;
                a0.mul_assign(&a1)?;
                pool::give(a1.into_residues());
                d0.mul_scalar_assign(t);
                d2.mul_scalar_assign(t);
                // 2t < 2^61 < 2^64: reduced modulo each prime by `mul_scalar_assign`.
                a0.mul_scalar_assign(2 * t);
                [d0, a0, d2]
            }
        };
        Ok(prods)
    }

    /// `round(d / Q_l)` for each `d` over `R ∪ Q_l` (NTT form), returned over `Q_l`.
    fn scale_products(&self, prods: [Poly<Ntt>; 3], level: usize) -> Result<Vec<Poly<Coeff>>> {
        let params = &self.params;
        let n = params.degree();
        let mt = params.mul_tables(level)?;
        let k = mt.k;
        let ctx_q = params.ring().ctx_q();
        let mut polys = Vec::with_capacity(3);
        let mut scaled_r = pool::take_dirty(k * n);
        for d in prods {
            // round(t·d / Q_l) on R (exact), then back to Q_l (exact, centered).
            let d = d.into_coeff();
            mt.scale.divide_round(d.residues(), &mut scaled_r)?;
            pool::give(d.into_residues());
            // Every value is written by the conversion; the buffer comes from (and the
            // ciphertext returns it to) the general pool.
            let mut out = crate::math::pool::take_dirty(level * n);
            mt.r_to_q.convert_exact(&scaled_r, &mut out)?;
            polys.push(Poly::from_raw(ctx_q, level, out));
        }
        pool::give(scaled_r);
        Ok(polys)
    }

    /// Relinearises a degree-2 ciphertext to degree 1 (a degree-1 one is returned unchanged).
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] for another parameter set or key; [`Error::InvalidOperation`]
    /// for a degree above 2.
    pub fn relinearize(&self, a: &Ciphertext, rlk: &RelinearizationKey) -> Result<Ciphertext> {
        let mut r = a.clone();
        self.relinearize_assign(&mut r, rlk)?;
        Ok(r)
    }

    /// In-place [`relinearize`](Self::relinearize).
    ///
    /// # Errors
    /// As [`Evaluator::relinearize`].
    pub fn relinearize_assign(&self, a: &mut Ciphertext, rlk: &RelinearizationKey) -> Result<()> {
        self.check(a)?;
        match a.degree() {
            1 => return Ok(()),
            2 => {}
            _ => {
                return Err(Error::InvalidOperation {
                    reason: "relinearisation handles degree 2 only",
                })
            }
        }
        let c2 = a.polys.pop().ok_or(Error::InvalidOperation {
            reason: "empty ciphertext",
        })?;
        let [c0, c1] = &mut a.polys[..] else {
            return Err(Error::InvalidOperation {
                reason: "empty ciphertext",
            });
        };
        super::keyswitch::key_switch_into(
            &self.params,
            &c2,
            None,
            rlk.key(),
            (c0.residues_mut(), true),
            (c1.residues_mut(), true),
        )?;
        c2.recycle();
        a.seed = None;
        a.noise = noise::key_switch(&self.params, a.level(), a.noise);
        Ok(())
    }

    /// Applies the Galois automorphism of `key` (`X -> X^g`) to a degree-1 ciphertext.
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] for a degree other than 1; [`Error::ContextMismatch`] for
    /// other parameters.
    pub fn apply_galois(&self, a: &Ciphertext, key: &GaloisKey) -> Result<Ciphertext> {
        self.check(a)?;
        if a.degree() != 1 {
            return Err(Error::InvalidOperation {
                reason: "rotations need a degree-1 ciphertext: relinearise first",
            });
        }
        let g = key.element();
        // c0(X^g) + k0 and k1, ModDown writing straight into the new ciphertext's buffers
        // (and gathering c0(X^g) itself).
        let len = a.polys[0].residues().len();
        let mut c0 = crate::math::pool::take_dirty(len);
        let mut c1 = crate::math::pool::take_dirty(len);
        super::keyswitch::rotate_into(
            &self.params,
            &a.polys[0],
            &a.polys[1],
            g,
            key.key(),
            &mut c0,
            &mut c1,
        )?;
        let ctx = self.params.ring().ctx_q();
        let level = a.polys[0].limbs();
        let (c0, c1) = (
            Poly::from_raw(ctx, level, c0),
            Poly::from_raw(ctx, level, c1),
        );
        Ok(Ciphertext {
            params: Arc::clone(&self.params),
            polys: vec![c0, c1],
            seed: None,
            noise: noise::key_switch(&self.params, a.level(), a.noise),
        })
    }

    /// Rotates both rows of the slot matrix left by `steps` columns (right for negative
    /// `steps`), with the direct key when present, else through power-of-two rotations.
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] when a needed key is missing, or as
    /// [`Evaluator::apply_galois`].
    pub fn rotate_rows(&self, a: &Ciphertext, steps: i64, keys: &GaloisKeys) -> Result<Ciphertext> {
        let n = self.params.degree();
        let half = as_i64(n / 2);
        let r = steps.rem_euclid(half);
        if r == 0 {
            self.check(a)?;
            return Ok(a.clone());
        }
        if let Some(k) = keys.get(rotation_element(n, r)) {
            return self.apply_galois(a, k);
        }
        // Left rotations by the set bits of r.
        let mut needed = Vec::new();
        for bit in 0..63 {
            if (r >> bit) & 1 == 1 {
                needed.push(keys.get(rotation_element(n, 1 << bit)).ok_or(NO_KEY)?);
            }
        }
        let mut out = self.apply_galois(a, needed[0])?;
        for k in &needed[1..] {
            out = self.apply_galois(&out, k)?;
        }
        Ok(out)
    }

    /// Swaps the two rows of the slot matrix.
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] without the row-swap key; as [`Evaluator::apply_galois`].
    pub fn rotate_columns(&self, a: &Ciphertext, keys: &GaloisKeys) -> Result<Ciphertext> {
        let k = keys
            .get(row_swap_element(self.params.degree()))
            .ok_or(NO_KEY)?;
        self.apply_galois(a, k)
    }

    /// Several row rotations of one ciphertext sharing one decomposition of `c_1` (hoisting);
    /// each step needs its own key.
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] when a key is missing; as [`Evaluator::apply_galois`].
    pub fn rotate_rows_hoisted(
        &self,
        a: &Ciphertext,
        steps: &[i64],
        keys: &GaloisKeys,
    ) -> Result<Vec<Ciphertext>> {
        self.check(a)?;
        if a.degree() != 1 {
            return Err(Error::InvalidOperation {
                reason: "rotations need a degree-1 ciphertext: relinearise first",
            });
        }
        let n = self.params.degree();
        let ring = self.params.ring();
        let dec = ring.decompose(&a.polys[1])?;
        steps
            .iter()
            .map(|&s| {
                let g = rotation_element(n, s);
                if g == 1 {
                    return Ok(a.clone());
                }
                let key = keys.get(g).ok_or(NO_KEY)?;
                let (k0, k1) = ring.key_switch_decomposed(&dec.automorphism(g)?, key.key())?;
                let mut c0 = a.polys[0].automorphism(g)?;
                c0.add_assign(&k0)?;
                Ok(Ciphertext {
                    params: Arc::clone(&self.params),
                    polys: vec![c0, k1],
                    seed: None,
                    noise: noise::key_switch(&self.params, a.level(), a.noise),
                })
            })
            .collect()
    }

    /// Every slot receives the sum of all `N` slots (`log2(N/2)` row rotations by powers of
    /// two and one row swap; keys from [`GaloisKeys::power_of_two`]).
    ///
    /// # Errors
    /// As [`Evaluator::rotate_rows`].
    pub fn sum_slots(&self, a: &Ciphertext, keys: &GaloisKeys) -> Result<Ciphertext> {
        let n = self.params.degree();
        let mut acc = a.clone();
        let mut s = 1usize;
        while s < n / 2 {
            let key = keys.get(rotation_element(n, as_i64(s))).ok_or(NO_KEY)?;
            let r = self.apply_galois(&acc, key)?;
            self.add_assign(&mut acc, &r)?;
            s *= 2;
        }
        let r = self.rotate_columns(&acc, keys)?;
        self.add_assign(&mut acc, &r)?;
        Ok(acc)
    }

    /// Drops the last prime: `c -> round(c / q_{l-1})` (so `round(Q'/Q · c)` with
    /// `Q' = Q / q_{l-1}`).
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] at level 1; [`Error::ContextMismatch`] for other parameters.
    pub fn mod_switch_to_next(&self, a: &Ciphertext) -> Result<Ciphertext> {
        self.check(a)?;
        let level = a.level();
        let lt = self.params.level(level)?;
        let sd = lt.switch.as_ref().ok_or(Error::InvalidOperation {
            reason: "already at the lowest level: no prime left to drop",
        })?;
        let n = self.params.degree();
        let ctx = self.params.ring().ctx_q();
        let polys = a
            .polys
            .iter()
            .map(|p| {
                let mut out = vec![0u64; (level - 1) * n];
                sd.divide_round(p.residues(), &mut out)?;
                Ok(Poly::from_raw(ctx, level - 1, out))
            })
            .collect::<Result<Vec<_>>>()?;
        let dropped = (ctx.moduli()[level - 1].value() as f64).log2();
        Ok(Ciphertext {
            params: Arc::clone(&self.params),
            polys,
            seed: None,
            noise: noise::mod_switch(&self.params, a.degree(), dropped, a.noise),
        })
    }

    /// Switches `a` down to the lowest level that still leaves `lambda + log2(parties)` bits
    /// of headroom for threshold smudging noise ([`Parameters::threshold_level`], from `a`'s
    /// public noise estimate): the cheapest ciphertext to decrypt collectively.
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] when even `a`'s own level lacks the headroom.
    pub fn mod_switch_for_threshold(
        &self,
        a: &Ciphertext,
        lambda: u32,
        parties: u32,
    ) -> Result<Ciphertext> {
        self.check(a)?;
        let level = self
            .params
            .threshold_level(a.noise, a.level(), lambda, parties)?;
        self.mod_switch_to_level(a, level)
    }

    /// Switches down to `level` primes (one exact divide-and-round per dropped prime).
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] if `level` is 0 or above the ciphertext's level.
    pub fn mod_switch_to_level(&self, a: &Ciphertext, level: usize) -> Result<Ciphertext> {
        self.check(a)?;
        if level == 0 || level > a.level() {
            return Err(Error::InvalidOperation {
                reason: "target level must be between 1 and the ciphertext's level",
            });
        }
        let mut r = a.clone();
        while r.level() > level {
            r = self.mod_switch_to_next(&r)?;
        }
        Ok(r)
    }
}
