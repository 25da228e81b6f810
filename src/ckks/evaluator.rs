//! Homomorphic operations on CKKS ciphertexts.
//!
//! ## Levels and scales
//! Binary operations first bring both operands to the lower of their levels. When the operand
//! that is lowered has a spare level and a different scale, it is multiplied by the integer
//! `k = round(Δ_target·q / Δ)` and rescaled by the prime `q` it would have dropped anyway, which
//! lands it on the other operand's scale up to a relative `1/(2k)` (OpenFHE's `FLEXIBLEAUTO`
//! adjustment). Additions then need scales equal within a relative [`SCALE_TOLERANCE`]; when
//! the scales of operands at one level differ by an integer factor (such as `Δ^2` against `Δ`
//! before a rescale), the smaller one is multiplied by that integer, which costs no level. Any
//! other mismatch is an [`CkksError::ScaleMismatch`] that says what to do.
//!
//! ## Rescaling in the NTT domain
//! `RS(c) = round(c / q_{l-1})` over the remaining primes (Cheon, Han, Kim, Kim, Song, "A Full
//! RNS Variant of Approximate Homomorphic Encryption", SAC 2018): the last limb goes back to
//! coefficients once, its centred residue `r` (rounded: `r = [c + ⌊q/2⌋]_q - ⌊q/2⌋`) is reduced
//! modulo each remaining prime and transformed forward, and `(c_j - r_j)·q^{-1}` is taken slot by
//! slot; `l` transforms per polynomial instead of `2l` for a round trip through coefficients.

use super::ciphertext::{Ciphertext, NoiseEstimate, Plaintext};
use super::encoding::Complex;
use super::encrypt::GaloisKeys;
use super::Parameters;
use crate::error::{CkksError, Error, Result};
use crate::math::modulus::csub;
use crate::math::poly::{Ntt, Poly};
use crate::rlwe::{GaloisKey, KeySwitchingKey, RelinearizationKey};
use std::sync::Arc;

/// Largest relative difference `|Δ_a/Δ_b - 1|` between the scales of two summands; the sum
/// then carries an extra error of at most that fraction of the second operand's values
/// (included in the noise estimate).
pub const SCALE_TOLERANCE: f64 = 1.0 / 68_719_476_736.0; // 2^-36

/// `t[i] = (x[i] mod q) - h mod q` for `x[i] < 4q`, `h < q` (the rescale's centred last limb
/// reduced modulo another prime), branch-free, vectorised by `multiversion`.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
fn lift_last(t: &mut [u64], x: &[u64], h: u64, q: u64) {
    for (o, &v) in t.iter_mut().zip(x) {
        debug_assert!(v < 4 * q);
        let r = v.min(v.wrapping_sub(2 * q));
        let r = r.min(r.wrapping_sub(q));
        let d = r + q - h;
        *o = d.min(d.wrapping_sub(q));
    }
}

fn scales_match(a: f64, b: f64) -> bool {
    (a / b - 1.0).abs() <= SCALE_TOLERANCE
}

/// Evaluates operations over one parameter set. Cheap to clone.
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

    fn mismatch(level: usize, a: f64, b: f64) -> Error {
        CkksError::ScaleMismatch {
            level,
            left_log2: a.log2(),
            right_log2: b.log2(),
        }
        .into()
    }

    // -----------------------------------------------------------------------------------------
    // Levels and scales
    // -----------------------------------------------------------------------------------------

    /// Drops primes (no rescaling) until `ct` is at `level`.
    ///
    /// # Errors
    /// [`CkksError::LevelExhausted`] if `level` is 0 or above the ciphertext's level.
    pub fn drop_to_level(&self, ct: &Ciphertext, level: usize) -> Result<Ciphertext> {
        if level == 0 || level > ct.level() {
            return Err(CkksError::LevelExhausted {
                level: ct.level(),
                needed: level,
            }
            .into());
        }
        let parts = ct
            .parts
            .iter()
            .map(|p| p.prefix(level))
            .collect::<Result<Vec<_>>>()?;
        Ok(Ciphertext {
            parts,
            scale: ct.scale,
            estimate: ct.estimate,
            seed: None,
        })
    }

    /// Rescales in place: divides by the primes of the top level with rounding, dropping them
    /// (one prime, or `k` with composite scaling: see
    /// [`Parameters::rescale_level`]); the scale is divided by their product
    /// ([`Parameters::rescale_divisor`]).
    ///
    /// # Errors
    /// [`CkksError::LevelExhausted`] at the levels of the first modulus (level 1 with one
    /// prime per level); [`Error::ContextMismatch`] for another parameter set's ciphertext.
    pub fn rescale_assign(&self, ct: &mut Ciphertext) -> Result<()> {
        self.params.check_ct(ct)?;
        let l = ct.level();
        let divisor = self.params.rescale_divisor(l)?;
        // Ciphertext-derived (public) scratch, recycled: a fresh 2^14-word buffer would be
        // mapped and faulted in on every call.
        let mut tmp = crate::math::pool::take_dirty(self.params.degree());
        let r = ct
            .parts
            .iter_mut()
            .try_for_each(|p| self.rescale_poly(p, &mut tmp));
        crate::math::pool::give(tmp);
        r?;
        ct.scale /= divisor;
        ct.seed = None;
        let v = self
            .params
            .slot_variance(self.params.rounding_variance(ct.degree()), ct.scale);
        ct.estimate = ct.estimate.plus(v);
        Ok(())
    }

    /// A rescaled copy (see [`rescale_assign`](Self::rescale_assign)).
    ///
    /// # Errors
    /// As [`rescale_assign`](Self::rescale_assign).
    pub fn rescale(&self, ct: &Ciphertext) -> Result<Ciphertext> {
        let mut c = ct.clone();
        self.rescale_assign(&mut c)?;
        Ok(c)
    }

    fn rescale_poly(&self, p: &mut Poly<Ntt>, tmp: &mut [u64]) -> Result<()> {
        let l = p.limbs();
        if self.params.rescale[l - 1].drop >= 2 {
            return self.rescale_poly_composite(p, tmp);
        }
        let n = self.params.degree();
        let ctx = Arc::clone(p.context());
        let moduli = ctx.moduli();
        let plans = ctx.plans();
        let table = &self.params.rescale[l - 1];
        let data = p.residues_mut();
        let (keep, last) = data.split_at_mut((l - 1) * n);
        let last = &mut last[..n];
        plans[l - 1].inverse(last)?;
        let ql = moduli[l - 1].value();
        let h = ql / 2;
        for x in last.iter_mut() {
            // [x + h]_q in [0, q): x < q and h < q, so one conditional subtraction.
            *x = csub(*x + h, ql);
        }
        for (j, (limb, q)) in keep.chunks_exact_mut(n).zip(moduli).enumerate() {
            let hj = table.half[j];
            let (w, ws) = table.inv[j];
            if ql <= 4 * q.value() {
                // x < q_l <= 4 q_j: two conditional subtractions (vectorised).
                lift_last(tmp, last, hj, q.value());
            } else {
                for (t, &x) in tmp.iter_mut().zip(last.iter()) {
                    // r = [x + h]_q - h, reduced mod q_j.
                    *t = q.sub(q.reduce(x), hj);
                }
            }
            plans[j].forward(tmp)?;
            match plans[j].lanes() {
                Some(lanes) => lanes.sub_mul_const_assign(limb, tmp, w, lanes.companion(w)),
                None => super::keyswitch::sub_mul_shoup(limb, tmp, w, ws, q.value()),
            }
        }
        p.drop_last_prime()
    }

    /// Composite rescale: divides by the product `D = p_0 ⋯ p_{d-1}` of the top `d` primes in
    /// one rounding (Agrawal, Chevallier-Mames, Cho, Joye, Kim, Lee, Lee, Lee, Paterson,
    /// "High-precision RNS-CKKS on fixed but smaller word-size architectures", 2023). The
    /// dropped limbs go back to coefficients, `[c + ⌊D/2⌋]_D` is rebuilt exactly in mixed radix
    /// `y_0 + y_1 p_0 + y_2 p_0 p_1 + …` (Garner), reduced modulo each kept prime and
    /// transformed forward; then `(c_j - ([c + ⌊D/2⌋]_D - ⌊D/2⌋))·D^{-1}` slot by slot, which
    /// is `⌊(c + ⌊D/2⌋)/D⌋`, the rounded quotient.
    fn rescale_poly_composite(&self, p: &mut Poly<Ntt>, tmp: &mut [u64]) -> Result<()> {
        let n = self.params.degree();
        let l = p.limbs();
        let ctx = Arc::clone(p.context());
        let moduli = ctx.moduli();
        let plans = ctx.plans();
        let table = &self.params.rescale[l - 1];
        let d = table.drop;
        let kept = l - d;
        let data = p.residues_mut();
        let (keep, last) = data.split_at_mut(kept * n);
        let last = &mut last[..d * n];
        // Residues of c + ⌊D/2⌋ modulo each dropped prime, in coefficient form.
        for (i, limb) in last.chunks_exact_mut(n).enumerate() {
            let pi = &moduli[kept + i];
            plans[kept + i].inverse(limb)?;
            let h = table.dropped_half[i];
            for x in limb.iter_mut() {
                *x = pi.add(*x, h);
            }
        }
        // Garner: limb i becomes the mixed-radix digit y_i < p_i.
        for i in 1..d {
            let pi = &moduli[kept + i];
            let (weights, inv) = &table.garner[i];
            let inv_s = pi.shoup(*inv);
            let (done, rest) = last.split_at_mut(i * n);
            let xi = &mut rest[..n];
            for (c, x) in xi.iter_mut().enumerate() {
                let mut acc = *x;
                for (m, &w) in weights.iter().enumerate() {
                    acc = pi.sub(acc, pi.mul(pi.reduce(done[m * n + c]), w));
                }
                *x = pi.mul_shoup(acc, *inv, inv_s);
            }
        }
        for (j, (limb, q)) in keep.chunks_exact_mut(n).zip(moduli).enumerate() {
            let row = &table.radix[j];
            let hj = table.half[j];
            for (c, t) in tmp.iter_mut().enumerate() {
                let mut acc = q.neg(hj);
                for (i, &w) in row.iter().enumerate() {
                    acc = q.add(acc, q.mul(q.reduce(last[i * n + c]), w));
                }
                *t = acc;
            }
            plans[j].forward(tmp)?;
            let (w, ws) = table.inv[j];
            match plans[j].lanes() {
                Some(lanes) => lanes.sub_mul_const_assign(limb, tmp, w, lanes.companion(w)),
                None => super::keyswitch::sub_mul_shoup(limb, tmp, w, ws, q.value()),
            }
        }
        for _ in 0..d {
            p.drop_last_prime()?;
        }
        Ok(())
    }

    /// Brings `ct` down to `level`, and (when it has a level to spare and the scales differ)
    /// to `scale` up to a relative `1/(2k)`, with the integer multiply-and-rescale of the
    /// module docs.
    fn lower_to(&self, ct: &Ciphertext, level: usize, scale: f64) -> Result<Ciphertext> {
        if ct.level() <= level || scales_match(ct.scale, scale) {
            return self.drop_to_level(ct, level.min(ct.level()));
        }
        // The level whose rescale lands on `level` (level + k at the levels of a composite
        // chain); without one, the primes are only dropped.
        let above = level + self.params.scale_primes();
        if above > ct.level() || self.params.rescale_level(above).ok() != Some(level) {
            return self.drop_to_level(ct, level);
        }
        let q = self.params.rescale_divisor(above)?;
        let k = (scale * q / ct.scale).round();
        if self.params.scale_primes() == 1 {
            if !(1.0..4.0e18).contains(&k) {
                return self.drop_to_level(ct, level);
            }
            let mut c = self.drop_to_level(ct, above)?;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let ku = k as u64;
            for p in &mut c.parts {
                p.mul_scalar_assign(ku);
            }
            c.scale *= k;
            self.rescale_assign(&mut c)?;
            return Ok(c);
        }
        // Composite: k is up to about D = 2^(k·bits), an integer held exactly in an f64.
        if !(1.0..1.0e36).contains(&k) {
            return self.drop_to_level(ct, level);
        }
        let mut c = self.drop_to_level(ct, above)?;
        let n = self.params.degree();
        let moduli = self.params.moduli();
        for p in &mut c.parts {
            for (j, limb) in p.residues_mut().chunks_exact_mut(n).enumerate() {
                let q = &moduli[j];
                let w = self.params.reduce_f64(k, j);
                let ws = q.shoup(w);
                for y in limb.iter_mut() {
                    *y = q.mul_shoup(*y, w, ws);
                }
            }
        }
        c.scale *= k;
        self.rescale_assign(&mut c)?;
        Ok(c)
    }

    /// Both operands at one level (the lower), the lowered one at the other's scale when
    /// possible.
    fn align_levels(&self, a: &Ciphertext, b: &Ciphertext) -> Result<(Ciphertext, Ciphertext)> {
        use core::cmp::Ordering::*;
        Ok(match a.level().cmp(&b.level()) {
            Equal => (a.clone(), b.clone()),
            Greater => (self.lower_to(a, b.level(), b.scale)?, b.clone()),
            Less => (a.clone(), self.lower_to(b, a.level(), a.scale)?),
        })
    }

    /// Makes `b`'s scale match `a`'s at the same level by an integer factor if one does.
    fn match_scale(&self, a_scale: f64, b: &mut Ciphertext) -> Result<()> {
        if scales_match(a_scale, b.scale) {
            return Ok(());
        }
        let k = (a_scale / b.scale).round();
        if (2.0..4.0e18).contains(&k) && scales_match(a_scale, b.scale * k) {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            self.mul_int_assign(b, k as u64, k);
            return Ok(());
        }
        Err(Self::mismatch(b.level(), a_scale, b.scale))
    }

    // -----------------------------------------------------------------------------------------
    // Addition
    // -----------------------------------------------------------------------------------------

    fn add_sub(&self, a: &Ciphertext, b: &Ciphertext, sub: bool) -> Result<Ciphertext> {
        self.params.check_ct(a)?;
        self.params.check_ct(b)?;
        if a.level() == b.level() && scales_match(a.scale, b.scale) {
            return Self::add_sub_same(a, b, sub);
        }
        let (mut a2, mut b2) = self.align_levels(a, b)?;
        if a2.scale >= b2.scale {
            self.match_scale(a2.scale, &mut b2)?;
        } else {
            self.match_scale(b2.scale, &mut a2)?;
        }
        Self::add_sub_same(&a2, &b2, sub)
    }

    fn add_sub_same(a: &Ciphertext, b: &Ciphertext, sub: bool) -> Result<Ciphertext> {
        let (long, short) = if a.parts.len() >= b.parts.len() {
            (a, b)
        } else {
            (b, a)
        };
        let mut parts = long.parts.clone();
        if sub && core::ptr::eq(long, b) {
            for p in &mut parts {
                p.neg_assign();
            }
            for (p, q) in parts.iter_mut().zip(&short.parts) {
                p.add_assign(q)?;
            }
        } else if sub {
            for (p, q) in parts.iter_mut().zip(&short.parts) {
                p.sub_assign(q)?;
            }
        } else {
            for (p, q) in parts.iter_mut().zip(&short.parts) {
                p.add_assign(q)?;
            }
        }
        let rel = (b.scale / a.scale - 1.0).abs();
        let mismatch = b.estimate.bound * rel;
        Ok(Ciphertext {
            parts,
            scale: a.scale,
            estimate: NoiseEstimate::new(
                a.estimate.variance + b.estimate.variance + mismatch * mismatch,
                a.estimate.bound + b.estimate.bound,
            ),
            seed: None,
        })
    }

    /// `a + b` (any degrees), after level and scale alignment (module docs).
    ///
    /// # Errors
    /// [`CkksError::ScaleMismatch`] when the scales cannot be aligned;
    /// [`Error::ContextMismatch`] for ciphertexts of other parameters.
    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        self.add_sub(a, b, false)
    }

    /// `a - b`.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        self.add_sub(a, b, true)
    }

    /// The sum of several ciphertexts (lazy: degree-2 products may be summed and relinearised
    /// once).
    ///
    /// # Errors
    /// As [`add`](Self::add); [`Error::InvalidOperation`] for an empty list.
    pub fn add_many(&self, cts: &[Ciphertext]) -> Result<Ciphertext> {
        let (first, rest) = cts.split_first().ok_or(Error::InvalidOperation {
            reason: "sum of no ciphertexts",
        })?;
        let mut acc = first.clone();
        for c in rest {
            acc = self.add(&acc, c)?;
        }
        Ok(acc)
    }

    /// `-ct`.
    pub fn negate(&self, ct: &Ciphertext) -> Ciphertext {
        let mut c = ct.clone();
        for p in &mut c.parts {
            p.neg_assign();
        }
        c.seed = None;
        c
    }

    /// Plaintext at the ciphertext's level (dropping primes of whichever is higher).
    fn plain_at(&self, ct: &Ciphertext, pt: &Plaintext) -> Result<(Ciphertext, Poly<Ntt>)> {
        let l = ct.level().min(pt.level());
        Ok((self.drop_to_level(ct, l)?, pt.poly.prefix(l)?))
    }

    fn add_sub_plain(&self, ct: &Ciphertext, pt: &Plaintext, sub: bool) -> Result<Ciphertext> {
        self.params.check_ct(ct)?;
        let (mut c, p) = self.plain_at(ct, pt)?;
        if !scales_match(c.scale, pt.scale) {
            return Err(Self::mismatch(c.level(), c.scale, pt.scale));
        }
        if sub {
            c.parts[0].sub_assign(&p)?;
        } else {
            c.parts[0].add_assign(&p)?;
        }
        let enc = self.params.slot_variance(super::noise::ROUND, pt.scale);
        c.estimate = NoiseEstimate::new(c.estimate.variance + enc, c.estimate.bound + pt.bound);
        Ok(c)
    }

    /// `ct + pt`; the plaintext must have the ciphertext's scale (encode it at
    /// [`Ciphertext::scale`]).
    ///
    /// # Errors
    /// [`CkksError::ScaleMismatch`] for another scale; [`Error::ContextMismatch`].
    pub fn add_plain(&self, ct: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext> {
        self.add_sub_plain(ct, pt, false)
    }

    /// `ct - pt`.
    ///
    /// # Errors
    /// As [`add_plain`](Self::add_plain).
    pub fn sub_plain(&self, ct: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext> {
        self.add_sub_plain(ct, pt, true)
    }

    /// Adds the complex constant `c` to every slot (no level consumed).
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] for a non-finite constant; [`CkksError::ValueTooLarge`] if
    /// `|c|·Δ` does not fit the level.
    pub fn add_const_complex(&self, ct: &Ciphertext, c: Complex) -> Result<Ciphertext> {
        self.params.check_ct(ct)?;
        let (re, im) = self.scaled_const(ct, c, ct.scale)?;
        let mut out = ct.clone();
        out.seed = None;
        let n = self.params.degree();
        let xh = self.params.x_half.residues();
        let moduli = self.params.moduli();
        for (j, limb) in out.parts[0].residues_mut().chunks_exact_mut(n).enumerate() {
            let q = &moduli[j];
            let a = self.params.reduce_f64(re, j);
            let b = self.params.reduce_f64(im, j);
            let bs = q.shoup(b);
            for (y, &x) in limb.iter_mut().zip(&xh[j * n..(j + 1) * n]) {
                *y = q.add(*y, q.add(a, q.mul_shoup(x, b, bs)));
            }
        }
        let r = 0.5 / ct.scale;
        out.estimate = NoiseEstimate::new(
            out.estimate.variance + 2.0 * r * r,
            ct.estimate.bound + c.abs(),
        );
        Ok(out)
    }

    /// Adds the real constant `c` to every slot.
    ///
    /// # Errors
    /// As [`add_const_complex`](Self::add_const_complex).
    pub fn add_const(&self, ct: &Ciphertext, c: f64) -> Result<Ciphertext> {
        self.add_const_complex(ct, Complex::new(c, 0.0))
    }

    /// `round(c·s)` for both parts, checked against the level's capacity.
    fn scaled_const(&self, ct: &Ciphertext, c: Complex, s: f64) -> Result<(f64, f64)> {
        if !(c.re.is_finite() && c.im.is_finite()) {
            return Err(Error::ValueOutOfRange {
                what: "CKKS constant is not finite",
            });
        }
        let re = (c.re * s).round();
        let im = (c.im * s).round();
        let m = re.abs().max(im.abs());
        let cap = self.params.log_q_at(ct.level())? - 1.0;
        if m > 0.0 && (m.log2() >= cap || m.log2() >= 127.0) {
            return Err(CkksError::ValueTooLarge {
                level: ct.level(),
                scale_log2: s.log2(),
                coeff_log2: m.log2(),
                capacity_log2: cap,
            }
            .into());
        }
        Ok((re, im))
    }

    // -----------------------------------------------------------------------------------------
    // Multiplication
    // -----------------------------------------------------------------------------------------

    fn check_scale_fits(&self, level: usize, scale: f64) -> Result<()> {
        let cap = self.params.log_q_at(level)? - 1.0;
        if scale.log2() >= cap {
            return Err(CkksError::ValueTooLarge {
                level,
                scale_log2: scale.log2(),
                coeff_log2: scale.log2(),
                capacity_log2: cap,
            }
            .into());
        }
        Ok(())
    }

    /// `a · b` as a degree-2 ciphertext (relinearise later, possibly after summing several
    /// products). Operands are brought to one level first; scales multiply.
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] unless both operands have degree 1;
    /// [`CkksError::ValueTooLarge`] if the product's scale exceeds the level's modulus (rescale
    /// the operands first); [`Error::ContextMismatch`].
    pub fn mul(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        self.params.check_ct(a)?;
        self.params.check_ct(b)?;
        if a.degree() != 1 || b.degree() != 1 {
            return Err(Error::InvalidOperation {
                reason: "CKKS multiplication needs degree-1 operands: relinearise first",
            });
        }
        let (a, b) = if a.level() == b.level() {
            (std::borrow::Cow::Borrowed(a), std::borrow::Cow::Borrowed(b))
        } else {
            let (x, y) = self.align_levels(a, b)?;
            (std::borrow::Cow::Owned(x), std::borrow::Cow::Owned(y))
        };
        let scale = a.scale * b.scale;
        self.check_scale_fits(a.level(), scale)?;
        // Copies of a0, a1, b0 (pooled buffers), then the tensor in one pass over the slots.
        let copy = |p: &Poly<Ntt>| {
            let mut v = super::keyswitch::take_dirty(p.residues().len());
            v.copy_from_slice(p.residues());
            Poly::<Ntt>::from_raw(p.context(), p.limbs(), v)
        };
        let (mut d0, mut d2, mut d1) = (copy(&a.parts[0]), copy(&a.parts[1]), copy(&b.parts[0]));
        // d0 <- a0 b0, d1 <- a0 b1 + a1 b0, d2 <- a1 b1.
        Poly::tensor_assign(&mut d0, &mut d2, &mut d1, &b.parts[1])?;
        let (ea, eb) = (a.estimate, b.estimate);
        Ok(Ciphertext {
            parts: vec![d0, d1, d2],
            scale,
            estimate: NoiseEstimate::new(
                ea.bound * ea.bound * eb.variance
                    + eb.bound * eb.bound * ea.variance
                    + ea.variance * eb.variance,
                ea.bound * eb.bound,
            ),
            seed: None,
        })
    }

    /// `a^2` as a degree-2 ciphertext.
    ///
    /// # Errors
    /// As [`mul`](Self::mul).
    pub fn square(&self, a: &Ciphertext) -> Result<Ciphertext> {
        self.params.check_ct(a)?;
        if a.degree() != 1 {
            return Err(Error::InvalidOperation {
                reason: "CKKS multiplication needs degree-1 operands: relinearise first",
            });
        }
        let scale = a.scale * a.scale;
        self.check_scale_fits(a.level(), scale)?;
        let d0 = a.parts[0].mul(&a.parts[0])?;
        let mut d1 = a.parts[0].mul(&a.parts[1])?;
        let d1c = d1.clone();
        d1.add_assign(&d1c)?;
        let d2 = a.parts[1].mul(&a.parts[1])?;
        let e = a.estimate;
        Ok(Ciphertext {
            parts: vec![d0, d1, d2],
            scale,
            estimate: NoiseEstimate::new(
                2.0 * e.bound * e.bound * e.variance + e.variance * e.variance,
                e.bound * e.bound,
            ),
            seed: None,
        })
    }

    /// Key switching of an NTT-form polynomial: `(k_0, k_1)` in NTT form with
    /// `k_0 + k_1·s ≈ d·s'`.
    fn key_switch(&self, d: &Poly<Ntt>, key: &KeySwitchingKey) -> Result<(Poly<Ntt>, Poly<Ntt>)> {
        let dig = self.params.decompose_ntt(d)?;
        let out = self.params.key_switch_digits(&dig, key, d.limbs());
        dig.recycle();
        out
    }

    /// Relinearises a degree-2 ciphertext to degree 1 (a degree-1 one is returned as is).
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] for degree above 2; [`Error::ContextMismatch`].
    pub fn relinearize(&self, ct: &Ciphertext, rlk: &RelinearizationKey) -> Result<Ciphertext> {
        self.relinearize_owned(ct.clone(), rlk)
    }

    /// [`relinearize`](Self::relinearize) reusing the ciphertext's buffers.
    fn relinearize_owned(
        &self,
        mut ct: Ciphertext,
        rlk: &RelinearizationKey,
    ) -> Result<Ciphertext> {
        self.params.check_ct(&ct)?;
        match ct.degree() {
            1 => Ok(ct),
            2 => {
                let c2 = ct.parts.pop().ok_or(Error::InvalidOperation {
                    reason: "internal: missing ciphertext part",
                })?;
                let (k0, k1) = self.key_switch(&c2, rlk.key())?;
                ct.parts[0].add_assign(&k0)?;
                ct.parts[1].add_assign(&k1)?;
                for p in [c2, k0] {
                    super::keyswitch::give_poly(p);
                }
                super::keyswitch::give_poly(k1);
                let v = self
                    .params
                    .slot_variance(self.params.key_switch_variance(ct.level()), ct.scale);
                ct.estimate = ct.estimate.plus(v);
                ct.seed = None;
                Ok(ct)
            }
            _ => Err(Error::InvalidOperation {
                reason: "only degree-2 ciphertexts can be relinearised",
            }),
        }
    }

    /// `a · b`, relinearised.
    ///
    /// # Errors
    /// As [`mul`](Self::mul).
    pub fn mul_relin(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
        rlk: &RelinearizationKey,
    ) -> Result<Ciphertext> {
        self.relinearize_owned(self.mul(a, b)?, rlk)
    }

    /// `a · b`, relinearised and rescaled.
    ///
    /// # Errors
    /// As [`mul`](Self::mul) and [`rescale`](Self::rescale).
    pub fn mul_relin_rescale(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
        rlk: &RelinearizationKey,
    ) -> Result<Ciphertext> {
        let mut c = self.mul_relin(a, b, rlk)?;
        self.rescale_assign(&mut c)?;
        Ok(c)
    }

    /// `ct · pt` (scales multiply; rescale afterwards).
    ///
    /// # Errors
    /// [`CkksError::ValueTooLarge`] if the product's scale exceeds the level's modulus;
    /// [`Error::ContextMismatch`].
    pub fn mul_plain(&self, ct: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext> {
        self.params.check_ct(ct)?;
        let (mut c, p) = self.plain_at(ct, pt)?;
        let scale = c.scale * pt.scale;
        self.check_scale_fits(c.level(), scale)?;
        for x in &mut c.parts {
            x.mul_assign(&p)?;
        }
        c.scale = scale;
        let enc = self.params.slot_variance(super::noise::ROUND, pt.scale);
        let e = c.estimate;
        c.estimate = NoiseEstimate::new(
            pt.bound * pt.bound * e.variance + e.bound * e.bound * enc,
            e.bound * pt.bound,
        );
        Ok(c)
    }

    /// `ct · c` for a complex constant, without rescaling: the constant is scaled by a factor
    /// `s_c` chosen so that the following [`rescale`](Self::rescale) lands on the canonical
    /// scale of the next level (about `q_{l-1}`), and the ciphertext's scale is multiplied by
    /// `s_c`.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] for a non-finite constant; [`CkksError::ValueTooLarge`] if
    /// the scaled constant does not fit.
    pub fn mul_const_complex(&self, ct: &Ciphertext, c: Complex) -> Result<Ciphertext> {
        self.params.check_ct(ct)?;
        let l = ct.level();
        // The factor that makes the next rescale land on the canonical scale of the level below
        // (about the rescale divisor: q_{l-1}, or the product of a composite level's primes).
        let (mut s_c, divisor) = match self.params.rescale_level(l) {
            Ok(below) => {
                let d = self.params.rescale_divisor(l)?;
                (self.params.scale_at(below)? * d / ct.scale, d)
            }
            Err(_) => (0.0, self.params.q_f64(l - 1)),
        };
        let upper = if self.params.scale_primes() == 1 {
            9.0e15
        } else {
            divisor * 1024.0
        };
        if !(1.0..=upper).contains(&s_c) {
            s_c = divisor;
        }
        let (re, im) = self.scaled_const(ct, c, s_c)?;
        let n = self.params.degree();
        let xh = self.params.x_half.residues();
        let moduli = self.params.moduli();
        // w = re + im·X^(N/2) in NTT form, limb by limb.
        let mut out = ct.clone();
        out.seed = None;
        let mut w = vec![0u64; n];
        for j in 0..l {
            let q = &moduli[j];
            let a = self.params.reduce_f64(re, j);
            let b = self.params.reduce_f64(im, j);
            let bs = q.shoup(b);
            for (wi, &x) in w.iter_mut().zip(&xh[j * n..(j + 1) * n]) {
                *wi = q.add(a, q.mul_shoup(x, b, bs));
            }
            for p in &mut out.parts {
                let limb = &mut p.residues_mut()[j * n..(j + 1) * n];
                for (y, &wi) in limb.iter_mut().zip(&w) {
                    *y = q.mul(*y, wi);
                }
            }
        }
        out.scale = ct.scale * s_c;
        let e = ct.estimate;
        let r = e.bound * 0.5 / s_c;
        let a2 = c.re * c.re + c.im * c.im;
        out.estimate = NoiseEstimate::new(a2 * e.variance + 2.0 * r * r, e.bound * c.abs());
        Ok(out)
    }

    /// `ct · c` for a real constant (see [`mul_const_complex`](Self::mul_const_complex)).
    ///
    /// # Errors
    /// As [`mul_const_complex`](Self::mul_const_complex).
    pub fn mul_const(&self, ct: &Ciphertext, c: f64) -> Result<Ciphertext> {
        self.mul_const_complex(ct, Complex::new(c, 0.0))
    }

    /// `ct · c`, rescaled.
    ///
    /// # Errors
    /// As [`mul_const`](Self::mul_const) and [`rescale`](Self::rescale).
    pub fn mul_const_rescale(&self, ct: &Ciphertext, c: f64) -> Result<Ciphertext> {
        let mut out = self.mul_const(ct, c)?;
        self.rescale_assign(&mut out)?;
        Ok(out)
    }

    fn mul_int_assign(&self, ct: &mut Ciphertext, k: u64, kf: f64) {
        for p in &mut ct.parts {
            p.mul_scalar_assign(k);
        }
        ct.scale *= kf;
        ct.seed = None;
    }

    /// `ct · k` for an integer `k`: no level consumed, the scale unchanged.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`].
    pub fn mul_int(&self, ct: &Ciphertext, k: i64) -> Result<Ciphertext> {
        self.params.check_ct(ct)?;
        let mut out = ct.clone();
        let n = self.params.degree();
        let moduli = self.params.moduli();
        for p in &mut out.parts {
            for (limb, q) in p.residues_mut().chunks_exact_mut(n).zip(moduli) {
                let w = q.reduce_i64(k);
                let ws = q.shoup(w);
                for y in limb.iter_mut() {
                    *y = q.mul_shoup(*y, w, ws);
                }
            }
        }
        out.seed = None;
        #[allow(clippy::cast_precision_loss)]
        let kf = k.unsigned_abs() as f64;
        out.estimate = NoiseEstimate::new(kf * kf * ct.estimate.variance, kf * ct.estimate.bound);
        Ok(out)
    }

    /// `ct · i` (the imaginary unit, `X^(N/2)` in every slot): exact, no level consumed.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`].
    pub fn mul_i(&self, ct: &Ciphertext) -> Result<Ciphertext> {
        self.params.check_ct(ct)?;
        let x = self.params.x_half.prefix(ct.level())?;
        let mut out = ct.clone();
        for p in &mut out.parts {
            p.mul_assign(&x)?;
        }
        out.seed = None;
        Ok(out)
    }

    // -----------------------------------------------------------------------------------------
    // Rotations
    // -----------------------------------------------------------------------------------------

    fn apply_galois(&self, ct: &Ciphertext, key: &GaloisKey) -> Result<Ciphertext> {
        if ct.degree() != 1 {
            return Err(Error::InvalidOperation {
                reason: "rotate a relinearised (degree-1) ciphertext",
            });
        }
        let g = key.element();
        // The automorphism is fused into the key switch's reads of c_1 and into the addition
        // of c_0 (a slot permutation in NTT form, never a pass of its own).
        let perm = ct.parts[1].automorphism_permutation(g)?;
        let dig = self
            .params
            .decompose_ntt_permuted(&ct.parts[1], Some(&perm))?;
        let out = self
            .params
            .key_switch_digits(&dig, key.key(), ct.parts[1].limbs());
        dig.recycle();
        let (mut c0, k1) = out?;
        super::keyswitch::add_permuted(&mut c0, &ct.parts[0], &perm)?;
        let v = self
            .params
            .slot_variance(self.params.key_switch_variance(ct.level()), ct.scale);
        Ok(Ciphertext {
            parts: vec![c0, k1],
            scale: ct.scale,
            estimate: ct.estimate.plus(v),
            seed: None,
        })
    }

    /// Rotates the slots left by `k` (right for negative `k`). Uses the key for `5^k` if
    /// present, otherwise a sequence of power-of-two rotations whose keys are present.
    ///
    /// # Errors
    /// [`CkksError::MissingRotationKey`] if neither is available;
    /// [`Error::InvalidOperation`] for a degree-2 ciphertext; [`Error::ContextMismatch`].
    pub fn rotate(&self, ct: &Ciphertext, k: i64, keys: &GaloisKeys) -> Result<Ciphertext> {
        self.params.check_ct(ct)?;
        #[allow(clippy::cast_possible_wrap)]
        let slots = self.params.slots() as i64;
        let k = k.rem_euclid(slots);
        if k == 0 {
            return Ok(ct.clone());
        }
        let g = self.params.rotation_element(k);
        if let Some(key) = keys.get(g) {
            return self.apply_galois(ct, key);
        }
        for (target, sign) in [(k, 1i64), (slots - k, -1)] {
            let steps: Vec<i64> = (0..63)
                .filter(|i| target >> i & 1 == 1)
                .map(|i| sign * (1i64 << i))
                .collect();
            let found: Option<Vec<&GaloisKey>> = steps
                .iter()
                .map(|&s| keys.get(self.params.rotation_element(s)))
                .collect();
            if let Some(found) = found {
                let mut c = ct.clone();
                for key in found {
                    c = self.apply_galois(&c, key)?;
                }
                return Ok(c);
            }
        }
        Err(CkksError::MissingRotationKey {
            step: k,
            element: g,
        }
        .into())
    }

    /// Rotations of one ciphertext by each of `steps`, hoisted: the decomposition of `c_1` for
    /// key switching is computed once and permuted for each rotation (Halevi and Shoup,
    /// "Faster Homomorphic Linear Transformations in HElib", CRYPTO 2018). Every step needs
    /// its own key (no power-of-two fallback).
    ///
    /// # Errors
    /// [`CkksError::MissingRotationKey`] naming the first step without a key;
    /// [`Error::InvalidOperation`] for a degree-2 ciphertext; [`Error::ContextMismatch`].
    pub fn rotate_hoisted(
        &self,
        ct: &Ciphertext,
        steps: &[i64],
        keys: &GaloisKeys,
    ) -> Result<Vec<Ciphertext>> {
        self.params.check_ct(ct)?;
        if ct.degree() != 1 {
            return Err(Error::InvalidOperation {
                reason: "rotate a relinearised (degree-1) ciphertext",
            });
        }
        #[allow(clippy::cast_possible_wrap)]
        let slots = self.params.slots() as i64;
        let mut wanted = Vec::with_capacity(steps.len());
        for &k in steps {
            let k = k.rem_euclid(slots);
            let g = self.params.rotation_element(k);
            if k == 0 {
                wanted.push(None);
            } else {
                let key = keys.get(g).ok_or(CkksError::MissingRotationKey {
                    step: k,
                    element: g,
                })?;
                wanted.push(Some(key));
            }
        }
        let dec = self.params.decompose_ntt(&ct.parts[1])?;
        let level = ct.level();
        let v = self
            .params
            .slot_variance(self.params.key_switch_variance(ct.level()), ct.scale);
        let out = wanted
            .into_iter()
            .map(|key| {
                let Some(key) = key else {
                    return Ok(ct.clone());
                };
                let g = key.element();
                let (k0, k1) =
                    self.params
                        .key_switch_digits(&dec.automorphism(g)?, key.key(), level)?;
                let mut c0 = k0;
                let perm = ct.parts[0].automorphism_permutation(g)?;
                super::keyswitch::add_permuted(&mut c0, &ct.parts[0], &perm)?;
                Ok(Ciphertext {
                    parts: vec![c0, k1],
                    scale: ct.scale,
                    estimate: ct.estimate.plus(v),
                    seed: None,
                })
            })
            .collect();
        dec.recycle();
        out
    }

    /// Complex conjugation of every slot.
    ///
    /// # Errors
    /// [`CkksError::MissingRotationKey`] (step 0) without the conjugation key; as
    /// [`rotate`](Self::rotate) otherwise.
    pub fn conjugate(&self, ct: &Ciphertext, keys: &GaloisKeys) -> Result<Ciphertext> {
        self.params.check_ct(ct)?;
        let g = self.params.conjugation_element();
        let key = keys.get(g).ok_or(CkksError::MissingRotationKey {
            step: 0,
            element: g,
        })?;
        self.apply_galois(ct, key)
    }

    /// Every slot receives the sum of all slots (`log2(N/2)` rotations by powers of two).
    ///
    /// # Errors
    /// As [`rotate`](Self::rotate).
    pub fn sum_slots(&self, ct: &Ciphertext, keys: &GaloisKeys) -> Result<Ciphertext> {
        let mut acc = ct.clone();
        let mut k = 1i64;
        #[allow(clippy::cast_possible_wrap)]
        let slots = self.params.slots() as i64;
        while k < slots {
            let r = self.rotate(&acc, k, keys)?;
            acc = self.add(&acc, &r)?;
            k *= 2;
        }
        Ok(acc)
    }

    /// The inner product `Σ_i a_i b_i` of the slot vectors, in every slot: multiply,
    /// relinearise, rescale, sum the slots.
    ///
    /// # Errors
    /// As [`mul_relin_rescale`](Self::mul_relin_rescale) and [`sum_slots`](Self::sum_slots).
    pub fn inner_product(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
        rlk: &RelinearizationKey,
        keys: &GaloisKeys,
    ) -> Result<Ciphertext> {
        let p = self.mul_relin_rescale(a, b, rlk)?;
        self.sum_slots(&p, keys)
    }
}
