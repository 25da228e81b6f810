//! Polynomials of `R_Q = Z_Q[X]/(X^N + 1)` in RNS form, with their representation in the type.
//!
//! A [`Context`] owns the ring degree `N`, the primes `q_0, …, q_{L-1}` and one [`NttPlan`] per
//! prime; it is shared through `Arc`. A [`Poly<R>`] stores its residues **limb-major**: limb `i`
//! (the residues modulo `q_i`) is `data[i*N .. (i+1)*N]`, every value canonical in `[0, q_i)`. A
//! polynomial may use a prefix `q_0, …, q_{l-1}` of its context's primes (`l` = [`Poly::limbs`]),
//! which is how levels are represented once primes are dropped.
//!
//! The representation is a type parameter: [`Coeff`] (coefficients) or [`Ntt`] (evaluations in
//! the bit-reversed order of [`NttPlan::forward`]). Pointwise multiplication exists only on
//! `Poly<Ntt>`, so a product in the wrong domain does not compile. Automorphisms `X -> X^k`
//! (`k` odd) work in both: in coefficients they permute with sign (`X^i -> ±X^(ik mod N)`), in
//! evaluations they permute slots (slot `i` holds `a(psi^(2 brv(i) + 1))`, and
//! `a(X^k)(psi^e) = a(psi^(ek))`).
//!
//! Operations on polynomials of different contexts (different `N` or primes) return
//! [`Error::ContextMismatch`].

use crate::error::{Error, Result};
use crate::math::arith;
use crate::math::modulus::Modulus;
use crate::math::ntt::{bit_reverse, NttPlan};
use core::fmt;
use core::marker::PhantomData;
use std::sync::Arc;
use zeroize::Zeroize;

/// Largest number of primes in one context.
pub const MAX_PRIMES: usize = 128;

/// Ring degree, primes and NTT plans shared by polynomials.
pub struct Context {
    n: usize,
    moduli: Vec<Modulus>,
    plans: Vec<NttPlan>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("n", &self.n)
            .field(
                "moduli",
                &self.moduli.iter().map(Modulus::value).collect::<Vec<_>>(),
            )
            .field(
                "backends",
                &self.plans.iter().map(NttPlan::backend).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl PartialEq for Context {
    /// Two contexts are interchangeable when they have the same degree and primes (the backends
    /// may differ: they compute identical results).
    fn eq(&self, other: &Self) -> bool {
        self.n == other.n && self.moduli == other.moduli
    }
}
impl Eq for Context {}

impl Context {
    /// A context for degree `n` over the distinct NTT-friendly primes `moduli`.
    ///
    /// # Errors
    /// [`Error::InvalidBasis`] if `moduli` is empty, longer than [`MAX_PRIMES`] or repeats a
    /// prime; the errors of [`NttPlan::new`] for a bad degree or a prime that is not `1 mod 2n`.
    pub fn new(n: usize, moduli: &[u64]) -> Result<Arc<Self>> {
        if moduli.is_empty() {
            return Err(Error::InvalidBasis {
                reason: "no primes",
            });
        }
        if moduli.len() > MAX_PRIMES {
            return Err(Error::InvalidBasis {
                reason: "more than 128 primes",
            });
        }
        for (i, q) in moduli.iter().enumerate() {
            if moduli[..i].contains(q) {
                return Err(Error::InvalidBasis {
                    reason: "repeated prime",
                });
            }
        }
        let plans = moduli
            .iter()
            .map(|&q| NttPlan::new(n, q))
            .collect::<Result<Vec<_>>>()?;
        let moduli = plans.iter().map(|p| *p.modulus()).collect();
        Ok(Arc::new(Self { n, moduli, plans }))
    }

    /// Ring degree `N`.
    pub fn degree(&self) -> usize {
        self.n
    }

    /// The primes.
    pub fn moduli(&self) -> &[Modulus] {
        &self.moduli
    }

    /// The NTT plans, one per prime.
    pub fn plans(&self) -> &[NttPlan] {
        &self.plans
    }

    /// Number of primes.
    pub fn len(&self) -> usize {
        self.moduli.len()
    }

    /// Always `false`: a context has at least one prime.
    pub fn is_empty(&self) -> bool {
        self.moduli.is_empty()
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A polynomial representation: [`Coeff`] or [`Ntt`].
pub trait Representation:
    sealed::Sealed + Clone + Copy + fmt::Debug + Send + Sync + 'static
{
    /// Name used in `Debug` output.
    const NAME: &'static str;
}

/// Coefficient representation (natural order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coeff;
/// Evaluation (NTT) representation, bit-reversed slot order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ntt;
impl sealed::Sealed for Coeff {}
impl sealed::Sealed for Ntt {}
impl Representation for Coeff {
    const NAME: &'static str = "Coeff";
}
impl Representation for Ntt {
    const NAME: &'static str = "Ntt";
}

/// A polynomial over the first [`limbs`](Poly::limbs) primes of its context.
pub struct Poly<R: Representation> {
    ctx: Arc<Context>,
    limbs: usize,
    data: Vec<u64>,
    _repr: PhantomData<R>,
}

impl<R: Representation> Clone for Poly<R> {
    /// A copy in a recycled buffer when one is free (`math::pool`; every value overwritten).
    fn clone(&self) -> Self {
        // Without a recycled buffer, a plain copy (no zeroing pass before it).
        let data = match super::pool::take_recycled(self.data.len()) {
            Some(mut v) => {
                v.copy_from_slice(&self.data);
                v
            }
            None => self.data.clone(),
        };
        Self {
            ctx: Arc::clone(&self.ctx),
            limbs: self.limbs,
            data,
            _repr: PhantomData,
        }
    }
}

impl<R: Representation> Poly<R> {
    /// Hands the buffer of a polynomial that holds **public** data (a ciphertext's or a public
    /// key's) to the per-thread pool (`math::pool`) instead of freeing it.
    pub(crate) fn recycle(self) {
        super::pool::give(self.data);
    }
}

impl<R: Representation> fmt::Debug for Poly<R> {
    /// Prints the shape only, never the coefficients (a polynomial may be secret).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Poly")
            .field("repr", &R::NAME)
            .field("n", &self.ctx.n)
            .field("limbs", &self.limbs)
            .finish_non_exhaustive()
    }
}

impl<R: Representation> PartialEq for Poly<R> {
    fn eq(&self, other: &Self) -> bool {
        *self.ctx == *other.ctx && self.limbs == other.limbs && self.data == other.data
    }
}
impl<R: Representation> Eq for Poly<R> {}

impl<R: Representation> Zeroize for Poly<R> {
    fn zeroize(&mut self) {
        self.data.zeroize();
    }
}

impl<R: Representation> Poly<R> {
    /// The zero polynomial over all primes of `ctx`.
    pub fn zero(ctx: &Arc<Context>) -> Self {
        Self::zero_at(ctx, ctx.len()).unwrap_or_else(|_| unreachable_zero())
    }

    /// The zero polynomial over the first `limbs` primes of `ctx`.
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] if `limbs` is 0 or exceeds the context's primes.
    pub fn zero_at(ctx: &Arc<Context>, limbs: usize) -> Result<Self> {
        if limbs == 0 || limbs > ctx.len() {
            return Err(Error::InvalidOperation {
                reason: "number of primes outside the context",
            });
        }
        Ok(Self {
            ctx: Arc::clone(ctx),
            limbs,
            data: super::pool::take(limbs * ctx.n),
            _repr: PhantomData,
        })
    }

    /// Builds a polynomial from limb-major residues (`limbs * N` values, each `< q_i`).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if the length is not a multiple of `N` covering 1 to all primes;
    /// [`Error::ValueOutOfRange`] if a residue is not below its prime.
    pub fn from_residues(ctx: &Arc<Context>, data: Vec<u64>) -> Result<Self> {
        let n = ctx.n;
        if data.is_empty() || !data.len().is_multiple_of(n) || data.len() / n > ctx.len() {
            return Err(Error::LengthMismatch {
                expected: ctx.len() * n,
                found: data.len(),
            });
        }
        let limbs = data.len() / n;
        for (chunk, q) in data.chunks_exact(n).zip(&ctx.moduli) {
            if chunk.iter().any(|&x| x >= q.value()) {
                return Err(Error::ValueOutOfRange {
                    what: "residue not below its prime",
                });
            }
        }
        Ok(Self {
            ctx: Arc::clone(ctx),
            limbs,
            data,
            _repr: PhantomData,
        })
    }

    /// The context.
    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// Number of primes this polynomial uses (a prefix of the context's primes).
    pub fn limbs(&self) -> usize {
        self.limbs
    }

    /// Limb-major residues.
    pub fn residues(&self) -> &[u64] {
        &self.data
    }

    /// The residues modulo `q_i`.
    ///
    /// # Panics
    /// If `i >= self.limbs()`.
    pub fn limb(&self, i: usize) -> &[u64] {
        let n = self.ctx.n;
        &self.data[i * n..(i + 1) * n]
    }

    /// Mutable limb-major residues; callers keep every value below its prime.
    pub(crate) fn residues_mut(&mut self) -> &mut [u64] {
        &mut self.data
    }

    /// Builds a polynomial from limb-major residues that the caller guarantees to be canonical
    /// and `limbs * N` long (checked in debug builds).
    pub(crate) fn from_raw(ctx: &Arc<Context>, limbs: usize, data: Vec<u64>) -> Self {
        debug_assert!(limbs >= 1 && limbs <= ctx.len() && data.len() == limbs * ctx.n);
        debug_assert!(data
            .chunks_exact(ctx.n)
            .zip(&ctx.moduli)
            .all(|(c, q)| c.iter().all(|&x| x < q.value())));
        Self {
            ctx: Arc::clone(ctx),
            limbs,
            data,
            _repr: PhantomData,
        }
    }

    /// Moves the residues out (limb-major).
    pub(crate) fn into_residues(mut self) -> Vec<u64> {
        core::mem::take(&mut self.data)
    }

    /// A copy restricted to the first `limbs` primes.
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] if `limbs` is 0 or more than this polynomial uses.
    pub fn prefix(&self, limbs: usize) -> Result<Self> {
        if limbs == 0 || limbs > self.limbs {
            return Err(Error::InvalidOperation {
                reason: "prefix longer than the polynomial",
            });
        }
        Ok(Self::from_raw(
            &self.ctx,
            limbs,
            self.data[..limbs * self.ctx.n].to_vec(),
        ))
    }

    /// Applies `f` (a forward or inverse transform) to every limb and retypes the result.
    fn transform<S: Representation>(self, f: fn(&NttPlan, &mut [u64]) -> Result<()>) -> Poly<S> {
        let Poly {
            ctx,
            limbs,
            mut data,
            ..
        } = self;
        for (a, plan) in data.chunks_exact_mut(ctx.n).zip(&ctx.plans) {
            // Every limb is exactly N long by construction, the only error `f` can return.
            let done = f(plan, a);
            debug_assert!(done.is_ok());
        }
        Poly {
            ctx,
            limbs,
            data,
            _repr: PhantomData,
        }
    }

    fn check(&self, other: &Self) -> Result<()> {
        if !Arc::ptr_eq(&self.ctx, &other.ctx) && *self.ctx != *other.ctx {
            return Err(Error::ContextMismatch);
        }
        if self.limbs != other.limbs {
            return Err(Error::InvalidOperation {
                reason: "operands use different numbers of primes",
            });
        }
        Ok(())
    }

    /// Limbs with their prime and NTT plan (whose IFMA kernels, when present, serve the
    /// element-wise products).
    fn limbs_plans_mut(&mut self) -> impl Iterator<Item = (&mut [u64], &Modulus, &NttPlan)> {
        let n = self.ctx.n;
        let ctx = &*self.ctx;
        self.data
            .chunks_exact_mut(n)
            .zip(ctx.moduli.iter().zip(ctx.plans.iter()))
            .map(|(a, (q, p))| (a, q, p))
    }

    fn limbs_mut(&mut self) -> impl Iterator<Item = (&mut [u64], &Modulus)> {
        let n = self.ctx.n;
        self.data.chunks_exact_mut(n).zip(self.ctx.moduli.iter())
    }

    /// `self += other`.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] or [`Error::InvalidOperation`] if the operands do not match.
    pub fn add_assign(&mut self, other: &Self) -> Result<()> {
        self.check(other)?;
        let n = self.ctx.n;
        for ((a, q), b) in self.limbs_mut().zip(other.data.chunks_exact(n)) {
            arith::add_assign(a, b, q.value());
        }
        Ok(())
    }

    /// `self -= other`.
    ///
    /// # Errors
    /// As [`Poly::add_assign`].
    pub fn sub_assign(&mut self, other: &Self) -> Result<()> {
        self.check(other)?;
        let n = self.ctx.n;
        for ((a, q), b) in self.limbs_mut().zip(other.data.chunks_exact(n)) {
            arith::sub_assign(a, b, q.value());
        }
        Ok(())
    }

    /// `self = -self`.
    pub fn neg_assign(&mut self) {
        for (a, q) in self.limbs_mut() {
            arith::neg_assign(a, q.value());
        }
    }

    /// `self + other`.
    ///
    /// # Errors
    /// As [`Poly::add_assign`].
    pub fn add(&self, other: &Self) -> Result<Self> {
        let mut r = self.clone();
        r.add_assign(other)?;
        Ok(r)
    }

    /// `self - other`.
    ///
    /// # Errors
    /// As [`Poly::add_assign`].
    pub fn sub(&self, other: &Self) -> Result<Self> {
        let mut r = self.clone();
        r.sub_assign(other)?;
        Ok(r)
    }

    /// `-self`.
    pub fn neg(&self) -> Self {
        let mut r = self.clone();
        r.neg_assign();
        r
    }

    /// Multiplies by an integer scalar `c` (reduced modulo each prime). Valid in both
    /// representations because the transforms are linear.
    pub fn mul_scalar_assign(&mut self, c: u64) {
        for (a, q, plan) in self.limbs_plans_mut() {
            let w = q.reduce(c);
            match plan.lanes() {
                Some(l) => l.mul_const_assign(a, w, l.companion(w)),
                None => arith::mul_scalar_assign(a, w, q.shoup(w), q.value()),
            }
        }
    }

    /// Multiplies limb `i` by `c[i]` (an RNS scalar, one residue per prime used).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `c.len() != self.limbs()`; [`Error::ValueOutOfRange`] if
    /// `c[i] >= q_i`.
    pub fn mul_rns_scalar_assign(&mut self, c: &[u64]) -> Result<()> {
        if c.len() != self.limbs {
            return Err(Error::LengthMismatch {
                expected: self.limbs,
                found: c.len(),
            });
        }
        if c.iter().zip(&self.ctx.moduli).any(|(&w, q)| w >= q.value()) {
            return Err(Error::ValueOutOfRange {
                what: "RNS scalar residue not below its prime",
            });
        }
        for ((a, q, plan), &w) in self.limbs_plans_mut().zip(c) {
            match plan.lanes() {
                Some(l) => l.mul_const_assign(a, w, l.companion(w)),
                None => arith::mul_scalar_assign(a, w, q.shoup(w), q.value()),
            }
        }
        Ok(())
    }

    /// Drops the last prime in use (no rescaling: the residues modulo the remaining primes are
    /// kept as they are).
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] if only one prime is left.
    pub fn drop_last_prime(&mut self) -> Result<()> {
        if self.limbs <= 1 {
            return Err(Error::InvalidOperation {
                reason: "cannot drop the last remaining prime",
            });
        }
        self.limbs -= 1;
        self.data.truncate(self.limbs * self.ctx.n);
        Ok(())
    }

    fn galois_exponent(&self, k: u64) -> Result<usize> {
        let two_n = 2 * self.ctx.n as u64;
        if k.is_multiple_of(2) {
            return Err(Error::InvalidOperation {
                reason: "automorphism exponent must be odd",
            });
        }
        // k mod 2N < 2N <= 2^18 fits any usize.
        Ok(usize::try_from(k % two_n).unwrap_or(0))
    }
}

#[cold]
fn unreachable_zero<T>() -> T {
    // `zero_at(ctx, ctx.len())` cannot fail: a context has between 1 and MAX_PRIMES primes.
    unreachable!("a context always has at least one prime")
}

impl Poly<Coeff> {
    /// Lifts one integer polynomial with small signed coefficients (`n` values) into every prime
    /// of `ctx`. Constant time in the coefficient values.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `coeffs.len() != N`.
    pub fn from_signed(ctx: &Arc<Context>, coeffs: &[i64]) -> Result<Self> {
        let n = ctx.n;
        if coeffs.len() != n {
            return Err(Error::LengthMismatch {
                expected: n,
                found: coeffs.len(),
            });
        }
        let mut p = Self::zero(ctx);
        for (a, q) in p.limbs_mut() {
            for (x, &c) in a.iter_mut().zip(coeffs) {
                *x = q.reduce_i64(c);
            }
        }
        Ok(p)
    }

    /// Lifts small signed coefficients (`|c| < q_i` for every prime used, e.g. errors and
    /// ternary values) into the first `limbs` primes of `ctx`, branch-free (the same residues as
    /// [`Poly::from_signed`], vectorised).
    pub(crate) fn from_small(ctx: &Arc<Context>, limbs: usize, coeffs: &[i64]) -> Self {
        let n = ctx.n;
        debug_assert!(coeffs.len() == n && limbs >= 1 && limbs <= ctx.len());
        let mut data = super::pool::take_dirty(limbs * n);
        for (limb, q) in data.chunks_exact_mut(n).zip(&ctx.moduli) {
            arith::lift_small(limb, coeffs, q.value());
        }
        Self::from_raw(ctx, limbs, data)
    }

    /// `self += c` for small signed coefficients `c` (`|c| < q_i`), branch-free.
    pub(crate) fn add_small_assign(&mut self, coeffs: &[i64]) {
        debug_assert_eq!(coeffs.len(), self.ctx.n);
        // One fused pass per limb: no lifted copy of the (secret) values is written anywhere.
        for (a, q) in self.limbs_mut() {
            arith::add_small_assign(a, coeffs, q.value());
        }
    }

    /// Forward NTT of every limb.
    pub fn into_ntt(self) -> Poly<Ntt> {
        self.transform(NttPlan::forward)
    }

    /// The automorphism `a(X) -> a(X^k)` for odd `k` (taken modulo `2N`).
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] if `k` is even.
    pub fn automorphism(&self, k: u64) -> Result<Self> {
        let mut data = super::pool::take_dirty(self.data.len());
        self.automorphism_into(k, &mut data)?;
        Ok(Self {
            ctx: Arc::clone(&self.ctx),
            limbs: self.limbs,
            data,
            _repr: PhantomData,
        })
    }

    /// [`automorphism`](Self::automorphism) written into `out` (limb-major, this polynomial's
    /// length), for callers that reuse a buffer.
    ///
    /// # Errors
    /// As [`automorphism`](Self::automorphism); [`Error::LengthMismatch`] if `out` has
    /// another length.
    pub(crate) fn automorphism_into(&self, k: u64, out: &mut [u64]) -> Result<()> {
        let k = self.galois_exponent(k)?;
        let n = self.ctx.n;
        if out.len() != self.data.len() {
            return Err(Error::LengthMismatch {
                expected: self.data.len(),
                found: out.len(),
            });
        }
        let mask = 2 * n - 1;
        for ((dst, q), src) in out
            .chunks_exact_mut(n)
            .zip(&self.ctx.moduli)
            .zip(self.data.chunks_exact(n))
        {
            // j = i·k mod 2N, stepped by k (no division per coefficient); i -> i·k is a
            // bijection on odd k, so every output value is written. Branch-free: the sign
            // (j >= N) follows no pattern the predictor could learn.
            let qv = q.value();
            let mut j = 0usize;
            for &c in src {
                let neg = u64::from(j >= n);
                // c or q - c, and 0 stays 0: (q - c) for c != 0.
                let flip = neg & u64::from(c != 0);
                let v = c ^ (flip.wrapping_neg() & (c ^ (qv - c)));
                dst[j & (n - 1)] = v;
                j = (j + k) & mask;
            }
        }
        Ok(())
    }
}

impl Poly<Ntt> {
    /// Inverse NTT of every limb.
    pub fn into_coeff(self) -> Poly<Coeff> {
        self.transform(NttPlan::inverse)
    }

    /// `self *= other` slot by slot (the negacyclic product of the underlying polynomials).
    ///
    /// # Errors
    /// As [`Poly::add_assign`].
    pub fn mul_assign(&mut self, other: &Self) -> Result<()> {
        self.check(other)?;
        let n = self.ctx.n;
        for ((a, q, plan), b) in self.limbs_plans_mut().zip(other.data.chunks_exact(n)) {
            match plan.lanes() {
                Some(l) => l.mul_assign(a, b),
                None => arith::mul_assign(a, b, q),
            }
        }
        Ok(())
    }

    /// The tensor of `(a0, a1)` and `(b0, b1)` in place, in one pass over the slots:
    /// `a0 <- a0·b0`, `b0 <- a0·b1 + a1·b0`, `a1 <- a1·b1`.
    ///
    /// # Errors
    /// As [`Poly::add_assign`], for any pair of operands.
    pub(crate) fn tensor_assign(
        a0: &mut Self,
        a1: &mut Self,
        b0: &mut Self,
        b1: &Self,
    ) -> Result<()> {
        a0.check(a1)?;
        a0.check(b0)?;
        a0.check(b1)?;
        let n = a0.ctx.n;
        let ctx = Arc::clone(&a0.ctx);
        for ((((x0, x1), y0), y1), (q, plan)) in a0
            .data
            .chunks_exact_mut(n)
            .zip(a1.data.chunks_exact_mut(n))
            .zip(b0.data.chunks_exact_mut(n))
            .zip(b1.data.chunks_exact(n))
            .zip(ctx.moduli.iter().zip(&ctx.plans))
        {
            match plan.lanes() {
                Some(l) => l.tensor_assign(x0, x1, y0, y1),
                None => {
                    for (((u0, u1), v0), &v1) in
                        x0.iter_mut().zip(x1.iter_mut()).zip(y0.iter_mut()).zip(y1)
                    {
                        let d1 = q.add(q.mul(*u0, v1), q.mul(*u1, *v0));
                        *u0 = q.mul(*u0, *v0);
                        *u1 = q.mul(*u1, v1);
                        *v0 = d1;
                    }
                }
            }
        }
        Ok(())
    }

    /// `self * other` slot by slot.
    ///
    /// # Errors
    /// As [`Poly::add_assign`].
    pub fn mul(&self, other: &Self) -> Result<Self> {
        let mut r = self.clone();
        r.mul_assign(other)?;
        Ok(r)
    }

    /// `self += a * b` slot by slot (multiply-accumulate, for sums of products).
    ///
    /// # Errors
    /// As [`Poly::add_assign`].
    pub fn mul_add_assign(&mut self, a: &Self, b: &Self) -> Result<()> {
        self.check(a)?;
        self.check(b)?;
        let n = self.ctx.n;
        for (((acc, q, plan), x), y) in self
            .limbs_plans_mut()
            .zip(a.data.chunks_exact(n))
            .zip(b.data.chunks_exact(n))
        {
            match plan.lanes() {
                Some(l) => l.mul_add_assign(acc, x, y),
                None => arith::mul_add_assign(acc, x, y, q),
            }
        }
        Ok(())
    }

    /// `self += a * b` slot by slot over the primes `self` uses, reading only the first
    /// `self.limbs()` limbs of `a` and `b` (which may use more primes of the same context).
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] for another context; [`Error::InvalidOperation`] if `a` or `b`
    /// uses fewer primes than `self`.
    pub fn mul_add_assign_prefix(&mut self, a: &Self, b: &Self) -> Result<()> {
        for x in [a, b] {
            if !Arc::ptr_eq(&self.ctx, &x.ctx) && *self.ctx != *x.ctx {
                return Err(Error::ContextMismatch);
            }
            if x.limbs < self.limbs {
                return Err(Error::InvalidOperation {
                    reason: "operand uses fewer primes than the accumulator",
                });
            }
        }
        let n = self.ctx.n;
        for (((acc, q, plan), x), y) in self
            .limbs_plans_mut()
            .zip(a.data.chunks_exact(n))
            .zip(b.data.chunks_exact(n))
        {
            match plan.lanes() {
                Some(l) => l.mul_add_assign(acc, x, y),
                None => arith::mul_add_assign(acc, x, y, q),
            }
        }
        Ok(())
    }

    /// The automorphism `a(X) -> a(X^k)` for odd `k`, as a permutation of evaluation slots.
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] if `k` is even.
    pub fn automorphism(&self, k: u64) -> Result<Self> {
        let k = self.galois_exponent(k)?;
        let n = self.ctx.n;
        let perm = ntt_automorphism_permutation(n, k);
        // Gathered straight into the output (no copy of `self` first).
        let mut data = super::pool::take_dirty(self.data.len());
        for (dst, src) in data.chunks_exact_mut(n).zip(self.data.chunks_exact(n)) {
            for (d, &p) in dst.iter_mut().zip(perm.iter()) {
                *d = src[p as usize];
            }
        }
        Ok(Self {
            ctx: Arc::clone(&self.ctx),
            limbs: self.limbs,
            data,
            _repr: PhantomData,
        })
    }

    /// The slot permutation of `X -> X^k` (output slot `i` takes input slot `perm[i]`, cached
    /// per `(N, k)`), for callers that fuse the automorphism into another pass
    /// (`math::ntt::permute_slots`).
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] if `k` is even.
    pub(crate) fn automorphism_permutation(&self, k: u64) -> Result<Arc<[u32]>> {
        let k = self.galois_exponent(k)?;
        Ok(ntt_automorphism_permutation(self.ctx.n, k))
    }
}

/// The slot permutation of `X -> X^k` in NTT (bit-reversed) order, `k` odd and below `2N`:
/// output slot `i` takes input slot `perm[i]`. Built once per `(N, k)` and shared (a rotation
/// applies it to every limb of several polynomials; building it costs as much as a gather).
fn ntt_automorphism_permutation(n: usize, k: usize) -> Arc<[u32]> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock, PoisonError};
    /// Distinct `(N, k)` kept at most (rotation sets are small; the cache restarts beyond).
    const CACHED: usize = 256;
    type Cache = Mutex<HashMap<(usize, usize), Arc<[u32]>>>;
    static PERMS: OnceLock<Cache> = OnceLock::new();
    let cache = PERMS.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(p) = cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&(n, k))
    {
        return Arc::clone(p);
    }
    let log_n = n.trailing_zeros();
    let mask = 2 * n - 1;
    // Slot i holds the evaluation at psi^(2 brv(i) + 1); the image takes it from the slot
    // whose exponent is (2 brv(i) + 1) k mod 2N. N <= 2^17, so indices fit u32.
    let perm: Arc<[u32]> = (0..n)
        .map(|i| {
            let e = 2 * bit_reverse(i, log_n) + 1;
            let src = ((e * k) & mask) >> 1;
            u32::try_from(bit_reverse(src, log_n)).unwrap_or(0)
        })
        .collect();
    let mut map = cache.lock().unwrap_or_else(PoisonError::into_inner);
    if map.len() >= CACHED {
        map.clear();
    }
    map.insert((n, k), Arc::clone(&perm));
    perm
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::primes::ntt_primes;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};

    fn ctx(n: usize, k: usize) -> Arc<Context> {
        let mut ps = ntt_primes(50, n, k - 1).unwrap();
        ps.push(ntt_primes(60, n, 1).unwrap()[0]);
        Context::new(n, &ps).unwrap()
    }

    fn random(ctx: &Arc<Context>, seed: u64) -> Poly<Coeff> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let n = ctx.degree();
        let data = ctx
            .moduli()
            .iter()
            .flat_map(|q| {
                (0..n)
                    .map(|_| rng.next_u64() % q.value())
                    .collect::<Vec<_>>()
            })
            .collect();
        Poly::from_residues(ctx, data).unwrap()
    }

    /// Schoolbook negacyclic product modulo one prime.
    fn schoolbook(a: &[u64], b: &[u64], q: &Modulus) -> Vec<u64> {
        let n = a.len();
        let mut c = vec![0u64; n];
        for i in 0..n {
            for j in 0..n {
                let p = q.mul(a[i], b[j]);
                if i + j < n {
                    c[i + j] = q.add(c[i + j], p);
                } else {
                    c[i + j - n] = q.sub(c[i + j - n], p);
                }
            }
        }
        c
    }

    #[test]
    fn ring_operations_match_schoolbook() {
        let c = ctx(64, 3);
        let a = random(&c, 1);
        let b = random(&c, 2);
        let prod = a
            .clone()
            .into_ntt()
            .mul(&b.clone().into_ntt())
            .unwrap()
            .into_coeff();
        for i in 0..3 {
            assert_eq!(
                prod.limb(i),
                schoolbook(a.limb(i), b.limb(i), &c.moduli()[i]).as_slice()
            );
        }
        // Ring axioms through both representations.
        let sum = a.add(&b).unwrap();
        assert_eq!(sum.sub(&b).unwrap(), a);
        assert_eq!(a.add(&a.neg()).unwrap(), Poly::zero(&c));
        let sum_ntt = a.clone().into_ntt().add(&b.clone().into_ntt()).unwrap();
        assert_eq!(sum_ntt.into_coeff(), sum);
        let mut acc = Poly::<Ntt>::zero(&c);
        acc.mul_add_assign(&a.clone().into_ntt(), &b.clone().into_ntt())
            .unwrap();
        acc.mul_add_assign(&a.clone().into_ntt(), &b.clone().into_ntt())
            .unwrap();
        let mut twice = prod.clone();
        twice.mul_scalar_assign(2);
        assert_eq!(acc.into_coeff(), twice);
        let mut s = a.clone();
        let rns: Vec<u64> = c.moduli().iter().map(|q| q.reduce(7)).collect();
        s.mul_rns_scalar_assign(&rns).unwrap();
        let mut t = a.clone();
        t.mul_scalar_assign(7);
        assert_eq!(s, t);
    }

    #[test]
    fn automorphisms_agree_in_both_representations() {
        let c = ctx(32, 2);
        let a = random(&c, 3);
        for k in [1u64, 3, 5, 25, 63, 2 * 32 - 1, 5u64.pow(7)] {
            let coeff = a.automorphism(k).unwrap();
            let ntt = a.clone().into_ntt().automorphism(k).unwrap().into_coeff();
            assert_eq!(coeff, ntt, "k={k}");
        }
        // X -> X^3 maps X^1 to X^3, X^11 to X^33 = -X^1 and X^31 to X^93 = X^29 (X^64 = 1).
        let mut x = vec![0i64; 32];
        x[1] = 1;
        x[11] = 2;
        x[31] = 4;
        let p = Poly::from_signed(&c, &x).unwrap().automorphism(3).unwrap();
        let mut want = vec![0i64; 32];
        want[3] = 1;
        want[1] = -2;
        want[29] = 4;
        assert_eq!(p, Poly::from_signed(&c, &want).unwrap());
        assert!(a.automorphism(4).is_err());
        // Composition: sigma_k o sigma_l = sigma_{kl}.
        let kl = a.automorphism(3).unwrap().automorphism(5).unwrap();
        assert_eq!(kl, a.automorphism(15).unwrap());
    }

    #[test]
    fn drop_prime_and_errors() {
        let c = ctx(16, 3);
        let mut a = random(&c, 4);
        let full = a.clone();
        a.drop_last_prime().unwrap();
        assert_eq!(a.limbs(), 2);
        assert_eq!(a.residues(), &full.residues()[..32]);
        assert!(matches!(a.add(&full), Err(Error::InvalidOperation { .. })));
        a.drop_last_prime().unwrap();
        assert!(a.drop_last_prime().is_err());
        let other = ctx(16, 2);
        let b = random(&other, 5);
        let a2 = random(&c, 6);
        assert_eq!(a2.add(&Poly::zero(&c)).unwrap(), a2);
        let mut x = Poly::<Coeff>::zero_at(&c, 2).unwrap();
        let y = Poly::<Coeff>::zero_at(&other, 2).unwrap();
        assert!(
            x.add_assign(&y).is_ok() || matches!(x.add_assign(&y), Err(Error::ContextMismatch))
        );
        assert_eq!(b.add(&a2), Err(Error::ContextMismatch));
        assert!(Poly::<Coeff>::from_residues(&c, vec![0; 15]).is_err());
        assert!(Poly::<Coeff>::from_residues(&c, vec![u64::MAX; 16]).is_err());
        assert!(Poly::from_signed(&c, &[0; 3]).is_err());
        assert!(Context::new(16, &[]).is_err());
        let q = c.moduli()[0].value();
        assert_eq!(
            Context::new(16, &[q, q]).unwrap_err(),
            Error::InvalidBasis {
                reason: "repeated prime"
            }
        );
        assert!(format!("{a:?}").starts_with("Poly { repr: \"Coeff\""));
    }
}
