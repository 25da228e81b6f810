//! Plaintexts, ciphertexts, encryption and decryption.

use super::noise::{self, NoiseEstimate};
use super::params::Parameters;
use crate::error::{Error, Result};
use crate::math::poly::{Coeff, Ntt, Poly};
use crate::math::rns::ScaleDownHps;
use crate::math::sampling::{expand_seed, gaussian, ternary, Domain};
use crate::rlwe::{PublicKey, SecretKey, DOMAIN_CIPHERTEXT};
use multiversion::multiversion;
use rand_core::{CryptoRng, RngCore};
use std::sync::Arc;

/// A plaintext: a polynomial of `Z_t[X]/(X^N + 1)`, coefficients in `[0, t)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plaintext {
    params: Arc<Parameters>,
    coeffs: Vec<u64>,
}

impl Plaintext {
    /// A plaintext with the given coefficients (`N` values in `[0, t)`).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if there are not `N` coefficients; [`Error::ValueOutOfRange`]
    /// for a coefficient `>= t` (reduce it modulo `t` first).
    pub fn from_coefficients(params: &Arc<Parameters>, coeffs: Vec<u64>) -> Result<Self> {
        if coeffs.len() != params.degree() {
            return Err(Error::LengthMismatch {
                expected: params.degree(),
                found: coeffs.len(),
            });
        }
        // The largest value, without an early exit (a reduction that vectorises).
        if coeffs.iter().fold(0, |m, &c| m.max(c)) >= params.plaintext_modulus() {
            return Err(Error::ValueOutOfRange {
                what: "plaintext coefficient not below t: reduce it modulo t",
            });
        }
        Ok(Self {
            params: Arc::clone(params),
            coeffs,
        })
    }

    /// Batch-encodes up to `N` values in `[0, t)` (slot `r·N/2 + j` is row `r`, column `j`).
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] if `t` does not allow batching; the errors of
    /// [`BatchEncoder::encode`](super::BatchEncoder::encode) (a value `>= t`, too many values).
    pub fn encode(params: &Arc<Parameters>, values: &[u64]) -> Result<Self> {
        let coeffs = params.batch_encoder()?.encode(values)?;
        Self::from_coefficients(params, coeffs)
    }

    /// Batch-encodes signed values `|v| <= (t-1)/2`.
    ///
    /// # Errors
    /// As [`Plaintext::encode`].
    pub fn encode_signed(params: &Arc<Parameters>, values: &[i64]) -> Result<Self> {
        let coeffs = params.batch_encoder()?.encode_signed(values)?;
        Self::from_coefficients(params, coeffs)
    }

    /// Coefficient-encodes up to `N` values in `[0, t)`.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] for a value `>= t`; [`Error::LengthMismatch`] for more than `N`.
    pub fn encode_coefficients(params: &Arc<Parameters>, values: &[u64]) -> Result<Self> {
        let coeffs = params.coefficient_encoder().encode(values)?;
        Self::from_coefficients(params, coeffs)
    }

    /// Coefficient-encodes signed values `|v| <= (t-1)/2`.
    ///
    /// # Errors
    /// As [`Plaintext::encode_coefficients`].
    pub fn encode_coefficients_signed(params: &Arc<Parameters>, values: &[i64]) -> Result<Self> {
        let coeffs = params.coefficient_encoder().encode_signed(values)?;
        Self::from_coefficients(params, coeffs)
    }

    /// The `N` slot values in `[0, t)`.
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] if `t` does not allow batching.
    pub fn decode(&self) -> Result<Vec<u64>> {
        self.params.batch_encoder()?.decode(&self.coeffs)
    }

    /// The `N` slot values, centered in `(-t/2, t/2]`.
    ///
    /// # Errors
    /// As [`Plaintext::decode`].
    pub fn decode_signed(&self) -> Result<Vec<i64>> {
        self.params.batch_encoder()?.decode_signed(&self.coeffs)
    }

    /// The coefficients, centered in `(-t/2, t/2]`.
    ///
    /// # Errors
    /// Not expected (the coefficients are validated on construction).
    pub fn decode_coefficients_signed(&self) -> Result<Vec<i64>> {
        self.params
            .coefficient_encoder()
            .decode_signed(&self.coeffs)
    }

    /// The coefficients in `[0, t)`.
    pub fn coefficients(&self) -> &[u64] {
        &self.coeffs
    }

    /// The parameters.
    pub fn params(&self) -> &Arc<Parameters> {
        &self.params
    }

    /// `round(Q_l·m/t)` over the first `level` ciphertext primes (coefficient form): the
    /// encoding of `m` inside a ciphertext. `round(Q m / t) = floor(Q/t)·m + round((Q mod t)·m/t)`,
    /// the second term computed with a Shoup quotient (no division on the hot path).
    pub(crate) fn scaled(&self, level: usize) -> Result<Poly<Coeff>> {
        let params = &self.params;
        let lt = params.level(level)?;
        let t = params.t();
        let tv = t.value();
        let n = params.degree();
        // r_j = round((Q mod t) m_j / t) = floor((a m_j + floor(t/2)) / t), a = Q mod t.
        let a = lt.q_mod_t;
        let a_shoup = t.shoup(a);
        let half = tv / 2;
        let r: Vec<u64> = self
            .coeffs
            .iter()
            .map(|&m| {
                // Shoup: est = floor(m a' / 2^64) is floor(a m / t) or one less; the remainder
                // a m - est t then lies in [0, 2t).
                let mut quot = ((u128::from(m) * u128::from(a_shoup)) >> 64) as u64;
                let mut rem = a.wrapping_mul(m).wrapping_sub(quot.wrapping_mul(tv));
                if rem >= tv {
                    rem -= tv;
                    quot += 1;
                }
                debug_assert!(rem < tv);
                quot + u64::from(rem + half >= tv)
            })
            .collect();
        let ctx = params.ring().ctx_q();
        let mut data = vec![0u64; level * n];
        for ((limb, q), &(d, ds)) in data.chunks_exact_mut(n).zip(ctx.moduli()).zip(&lt.delta) {
            for ((x, &m), &rj) in limb.iter_mut().zip(&self.coeffs).zip(&r) {
                *x = q.add(q.mul_shoup(m, d, ds), q.reduce(rj));
            }
        }
        Ok(Poly::from_raw(ctx, level, data))
    }

    /// `c += round(Q_l·m/t)` in place (as [`scaled`](Self::scaled), without the temporary).
    pub(crate) fn add_scaled_to(&self, c: &mut Poly<Coeff>) -> Result<()> {
        let params = &self.params;
        let level = c.limbs();
        let lt = params.level(level)?;
        let t = params.t();
        let tv = t.value();
        let n = params.degree();
        if **c.context() != **params.ring().ctx_q() {
            return Err(Error::ContextMismatch);
        }
        let a = lt.q_mod_t;
        let a_shoup = t.shoup(a);
        let half = tv / 2;
        // r_j = round((Q mod t) m_j / t), as in `scaled`.
        let r: Vec<u64> = self
            .coeffs
            .iter()
            .map(|&m| {
                // Shoup quotient, corrected once (branch-free; see `scaled`).
                let mut q = ((u128::from(m) * u128::from(a_shoup)) >> 64) as u64;
                let mut rem = a.wrapping_mul(m).wrapping_sub(q.wrapping_mul(tv));
                let fix = u64::from(rem >= tv);
                rem -= fix * tv;
                q += fix;
                q + u64::from(rem + half >= tv)
            })
            .collect();
        let ctx = Arc::clone(params.ring().ctx_q());
        let mut tmp = Vec::new();
        for (((limb, q), &(d, ds)), plan) in c
            .residues_mut()
            .chunks_exact_mut(n)
            .zip(ctx.moduli())
            .zip(&lt.delta)
            .zip(ctx.plans())
        {
            match plan.lanes() {
                // IFMA: m·Δ_i as a constant product (m < t < 2^52), then two canonical
                // additions (r_j <= t - 1 < q_i). The same values as the scalar loop.
                Some(lanes) if tv <= q.value() && tv < 1 << 52 => {
                    tmp.resize(n, 0);
                    lanes.mul_const(&mut tmp, &self.coeffs, d, lanes.companion(d));
                    crate::math::arith::add_assign(&mut tmp, &r, q.value());
                    crate::math::arith::add_assign(limb, &tmp, q.value());
                }
                _ => {
                    for ((x, &m), &rj) in limb.iter_mut().zip(&self.coeffs).zip(&r) {
                        *x = q.add(*x, q.add(q.mul_shoup(m, d, ds), q.reduce(rj)));
                    }
                }
            }
        }
        Ok(())
    }

    /// The centered lift of `m` over the first `level` ciphertext primes, NTT form.
    pub(crate) fn lifted_ntt(&self, level: usize) -> Result<Poly<Ntt>> {
        let ctx = self.params.ring().ctx_q();
        let t = self.params.t();
        let n = self.params.degree();
        let mut data = vec![0u64; level * n];
        for (limb, q) in data.chunks_exact_mut(n).zip(&ctx.moduli()[..level]) {
            for (x, &m) in limb.iter_mut().zip(&self.coeffs) {
                *x = q.reduce_i64(t.center(m));
            }
        }
        Ok(Poly::from_raw(ctx, level, data).into_ntt())
    }

    /// `log2 ‖m‖_2` of the centered coefficients (for the noise estimate of a product).
    pub(crate) fn log2_norm2(&self) -> f64 {
        let t = self.params.t();
        let s: f64 = self
            .coeffs
            .iter()
            .map(|&m| {
                let c = t.center(m) as f64;
                c * c
            })
            .sum();
        0.5 * s.max(1.0).log2()
    }
}

/// A BFV ciphertext: `degree + 1` polynomials over the first `level` ciphertext primes, in
/// coefficient form (as SEAL keeps BFV), with its public [`NoiseEstimate`].
#[derive(Clone, Debug)]
pub struct Ciphertext {
    pub(crate) params: Arc<Parameters>,
    pub(crate) polys: Vec<Poly<Coeff>>,
    /// Seed of `c_1` for a fresh secret-key encryption (until `c_1` changes).
    pub(crate) seed: Option<[u8; 32]>,
    pub(crate) noise: NoiseEstimate,
}

impl Drop for Ciphertext {
    /// A ciphertext is public: its buffers go back to the per-thread pool (`math::pool`).
    fn drop(&mut self) {
        for p in self.polys.drain(..) {
            p.recycle();
        }
    }
}

impl PartialEq for Ciphertext {
    fn eq(&self, other: &Self) -> bool {
        *self.params == *other.params && self.polys == other.polys && self.seed == other.seed
    }
}
impl Eq for Ciphertext {}

impl Ciphertext {
    /// Encrypts `pt` under the public key: `(b u + e_0 + round(Q m/t), a u + e_1)`.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if `pk` belongs to other parameters.
    pub fn encrypt_pk(
        pk: &PublicKey,
        pt: &Plaintext,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        let params = &pt.params;
        if **pk_context(pk) != **params.ring().ctx_q() {
            return Err(Error::ContextMismatch);
        }
        // (b u + e_0 + round(Q m/t), a u + e_1): u in NTT form (L transforms), two products,
        // back to coefficients (2L), errors and message added in coefficient form; the same
        // values as `rlwe::encrypt_zero_pk` plus the message, with 3L transforms instead of 5L.
        let ctx = params.ring().ctx_q();
        let n = params.degree();
        let level = params.max_level();
        // Small values (ternary u, Gaussian errors) are drawn once as signed integers (the
        // same randomness as the `_rns` samplers) and lifted into every prime branch-free.
        let u = ternary(rng, n)?;
        let mut c0 = Poly::<Coeff>::from_small(ctx, level, &u).into_ntt();
        let e0 = gaussian(rng, n)?;
        let e1 = gaussian(rng, n)?;
        let mut c1 = c0.clone();
        c0.mul_assign(&pk.b)?;
        c1.mul_assign(&pk.a)?;
        let mut c0 = c0.into_coeff();
        let mut c1 = c1.into_coeff();
        c0.add_small_assign(&e0);
        c1.add_small_assign(&e1);
        pt.add_scaled_to(&mut c0)?;
        Ok(Self {
            params: Arc::clone(params),
            polys: vec![c0, c1],
            seed: None,
            noise: noise::fresh_pk(params),
        })
    }

    /// Encrypts `pt` under the secret key: `(-a s + e + round(Q m/t), a)` with `a` expanded from
    /// a fresh 32-byte seed (kept in [`seed`](Self::seed), so `c_1` can be sent as the seed).
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if `sk` belongs to other parameters.
    pub fn encrypt_sk(
        sk: &SecretKey,
        pt: &Plaintext,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        let params = &pt.params;
        if **sk.params() != **params.ring() {
            return Err(Error::ContextMismatch);
        }
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        // (-a s + e + round(Q m/t), a), a expanded from the seed as in `rlwe::encrypt_zero_sk`
        // (same values), with 2L transforms.
        let ctx = params.ring().ctx_q();
        let n = params.degree();
        let level = params.max_level();
        let a_data = expand_seed(&seed, Domain::new(DOMAIN_CIPHERTEXT, 0), ctx.moduli(), n)?;
        let a = Poly::<Ntt>::from_raw(ctx, level, a_data);
        let e = gaussian(rng, n)?;
        let mut as_ = a.mul(sk.s_q())?;
        as_.neg_assign();
        let mut c0 = as_.into_coeff();
        c0.add_small_assign(&e);
        pt.add_scaled_to(&mut c0)?;
        Ok(Self {
            params: Arc::clone(params),
            polys: vec![c0, a.into_coeff()],
            seed: Some(seed),
            noise: noise::fresh_sk(params),
        })
    }

    /// Builds a ciphertext from its polynomials (coefficient form, all at one level), e.g.
    /// after deserialisation. The noise estimate must be supplied by the caller (the sender's).
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] for fewer than two polynomials or polynomials at different
    /// levels; [`Error::ContextMismatch`] for polynomials of another ring.
    pub fn from_polys(
        params: &Arc<Parameters>,
        polys: Vec<Poly<Coeff>>,
        noise: NoiseEstimate,
    ) -> Result<Self> {
        let first = polys.first().ok_or(Error::InvalidOperation {
            reason: "a ciphertext has at least two polynomials",
        })?;
        if polys.len() < 2 {
            return Err(Error::InvalidOperation {
                reason: "a ciphertext has at least two polynomials",
            });
        }
        let level = first.limbs();
        for p in &polys {
            if **p.context() != **params.ring().ctx_q() {
                return Err(Error::ContextMismatch);
            }
            if p.limbs() != level {
                return Err(Error::InvalidOperation {
                    reason: "ciphertext polynomials at different levels",
                });
            }
        }
        Ok(Self {
            params: Arc::clone(params),
            polys,
            seed: None,
            noise,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &Arc<Parameters> {
        &self.params
    }

    /// The degree (1 for a fresh or relinearised ciphertext, 2 after a multiplication).
    pub fn degree(&self) -> usize {
        self.polys.len() - 1
    }

    /// The level: number of ciphertext primes in use.
    pub fn level(&self) -> usize {
        self.polys[0].limbs()
    }

    /// The polynomials `c_0, c_1, …` (coefficient form).
    pub fn polys(&self) -> &[Poly<Coeff>] {
        &self.polys
    }

    /// The seed `c_1` was expanded from, for a fresh secret-key encryption.
    pub fn seed(&self) -> Option<&[u8; 32]> {
        self.seed.as_ref()
    }

    /// The public noise estimate (see [`noise`](super::noise)).
    pub fn noise_estimate(&self) -> NoiseEstimate {
        self.noise
    }

    /// Public estimate of the remaining noise budget in bits,
    /// `log2(Q_l) - log2(B) - 1` with `B` the bound of failure probability `2^-40`; it is never
    /// larger than the measured [`noise_budget_vartime`](Self::noise_budget_vartime) except with
    /// that probability. Negative when the ciphertext may no longer decrypt.
    pub fn estimated_budget(&self) -> f64 {
        let log_q = self.params.log2_q(self.level()).unwrap_or(0.0);
        log_q - self.noise.log2_bound(self.params.degree(), 40) - 1.0
    }

    /// Decrypts: `round(t·φ/Q) mod t` with `φ = c_0 + c_1 s + …`, computed exactly in RNS
    /// (`t·φ` on the basis `{t} ∪ Q_k`, where its residue mod `t` is 0, then an exact
    /// divide-and-round by `Q_k`, `math::rns::ScaleDown`).
    ///
    /// The ciphertext is first switched down to the lowest level `k` that its public noise
    /// estimate allows (`bfv::noise::decrypt_level`): there the phase needs `k` transforms
    /// per polynomial instead of `L`. The switch adds at most `δ_k <= 2^-10` to the relative
    /// noise `‖ν‖∞/Q` (a worst-case bound, not a probabilistic one), so the plaintext is the
    /// one decryption at the ciphertext's own level gives whenever the estimate holds, and
    /// otherwise whenever the measured noise budget exceeds `0.003` bit.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if `sk` belongs to other parameters. A ciphertext whose noise
    /// budget is exhausted decrypts to a wrong plaintext without error (no oracle).
    pub fn decrypt(&self, sk: &SecretKey) -> Result<Plaintext> {
        let level = self.level();
        let k = noise::decrypt_level(&self.params, level, self.degree(), self.noise);
        self.decrypt_at(sk, k)
    }

    /// Decryption through level `k <= level` (`k = level`: no switch).
    pub(crate) fn decrypt_at(&self, sk: &SecretKey, k: usize) -> Result<Plaintext> {
        if **sk.params() != **self.params.ring() {
            return Err(Error::ContextMismatch);
        }
        let level = self.level();
        let ph = if k < level {
            let sw = self.params.lower_switch(level, k)?;
            let polys = self
                .polys
                .iter()
                .map(|p| sw.apply(p))
                .collect::<Result<Vec<_>>>()?;
            phase_of(polys, sk)?
        } else {
            self.phase_coeff(sk)?
        };
        // The phase holds the message and the noise: dropped, never pooled.
        let out = scale_to_t(&self.params, &ph)?;
        // `N` values below `t` by construction (checked in debug builds).
        debug_assert!(out.len() == self.params.degree());
        debug_assert!(out.iter().all(|&c| c < self.params.plaintext_modulus()));
        Ok(Plaintext {
            params: Arc::clone(&self.params),
            coeffs: out,
        })
    }

    /// `φ = c_0 + c_1 s + …` in coefficient form at the ciphertext's level.
    fn phase_coeff(&self, sk: &SecretKey) -> Result<Poly<Coeff>> {
        if **sk.params() != **self.params.ring() {
            return Err(Error::ContextMismatch);
        }
        phase_of(self.polys.clone(), sk)
    }

    /// Measured invariant noise budget in bits: `log2(Q_l) - log2‖[t·φ]_Q‖∞ - 1`, clamped at 0
    /// (decryption is correct while it is positive).
    ///
    /// # Security
    /// Needs the secret key and reveals information about the noise, hence about the secret:
    /// for diagnostics by the key owner only; the result must not be forwarded to any other
    /// party.
    ///
    /// # Timing
    /// Variable time (multi-word CRT composition and comparisons on secret-dependent values).
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if `sk` belongs to other parameters.
    pub fn noise_budget_vartime(&self, sk: &SecretKey) -> Result<f64> {
        let (log_q, noise) = self.measure_vartime(sk)?;
        Ok((log_q - noise - 1.0).max(0.0))
    }

    /// Measured `log2‖ν‖∞` of the scaled invariant noise (`ν = [t·φ]_Q`), the quantity the
    /// [`NoiseEstimate`] bounds.
    ///
    /// # Security
    /// As [`noise_budget_vartime`](Self::noise_budget_vartime).
    ///
    /// # Timing
    /// Variable time.
    ///
    /// # Errors
    /// As [`noise_budget_vartime`](Self::noise_budget_vartime).
    pub fn noise_log2_vartime(&self, sk: &SecretKey) -> Result<f64> {
        Ok(self.measure_vartime(sk)?.1)
    }

    /// `(log2 Q_l, log2‖[t·φ]_Q‖∞)`.
    fn measure_vartime(&self, sk: &SecretKey) -> Result<(f64, f64)> {
        let level = self.level();
        let ph = self.phase_coeff(sk)?;
        let n = self.params.degree();
        let lt = self.params.level(level)?;
        let moduli = self.params.ring().ctx_q().moduli();
        let data = ph.residues();
        let mut res = vec![0u64; level];
        let mut max_log = f64::NEG_INFINITY;
        for j in 0..n {
            for (i, r) in res.iter_mut().enumerate() {
                let (w, ws) = lt.t_q[i];
                *r = moduli[i].mul_shoup(data[i * n + j], w, ws);
            }
            let v = lt.basis_q.compose_centered(&res)?;
            max_log = max_log.max(words_log2(&v.magnitude));
        }
        Ok((words_log2(lt.basis_q.product_words()), max_log))
    }
}

/// `φ = c_0 + c_1 s + …` in coefficient form (the polynomials consumed, their buffers
/// recycled): `c_1, …` to NTT form, Horner in NTT form, back to coefficients, `c_0` added
/// there (`2k` transforms for degree 1 at level `k`).
fn phase_of(polys: Vec<Poly<Coeff>>, sk: &SecretKey) -> Result<Poly<Coeff>> {
    let mut polys = polys.into_iter();
    let c0 = polys.next().ok_or(Error::InvalidOperation {
        reason: "empty ciphertext",
    })?;
    let s = sk.s_q();
    // Horner: ((c_d s + c_{d-1}) s + … + c_1) s.
    let mut acc: Option<Poly<Ntt>> = None;
    for c in polys.rev() {
        let c = c.into_ntt();
        acc = Some(match acc {
            None => c,
            Some(mut a) => {
                mul_by_prefix(&mut a, s)?;
                a.add_assign(&c)?;
                c.recycle();
                a
            }
        });
    }
    let mut acc = acc.ok_or(Error::InvalidOperation {
        reason: "a ciphertext has at least two polynomials",
    })?;
    mul_by_prefix(&mut acc, s)?;
    let mut ph = acc.into_coeff();
    ph.add_assign(&c0)?;
    c0.recycle();
    Ok(ph)
}

/// `a *= s` slot by slot over `a`'s primes (a prefix of `s`'s), without copying `s`.
fn mul_by_prefix(a: &mut Poly<Ntt>, s: &Poly<Ntt>) -> Result<()> {
    if a.limbs() > s.limbs() || **a.context() != **s.context() {
        return Err(Error::ContextMismatch);
    }
    let ctx = Arc::clone(a.context());
    let n = ctx.degree();
    for (((x, y), q), plan) in a
        .residues_mut()
        .chunks_exact_mut(n)
        .zip(s.residues().chunks_exact(n))
        .zip(ctx.moduli())
        .zip(ctx.plans())
    {
        match plan.lanes() {
            Some(l) => l.mul_assign(x, y),
            None => crate::math::arith::mul_assign(x, y, q),
        }
    }
    Ok(())
}

/// `round(t·φ/Q_k) mod t` for a phase over `k` primes: `t·φ` on the basis `{t} ∪ Q_k` (its
/// residue mod `t` is 0), then the exact divide-and-round by `Q_k`.
fn scale_to_t(params: &Parameters, ph: &Poly<Coeff>) -> Result<Vec<u64>> {
    let level = ph.limbs();
    let n = params.degree();
    let ctx = params.ring().ctx_q();
    let t = params.t();
    if level == 1 && t.bits() <= ROUND_T_MAX_BITS {
        // One prime: the quotient directly, the same value as the mixed-radix path below.
        let q = ctx.moduli()[0].value();
        let mut out = vec![0u64; n];
        round_t_over_q(
            &mut out,
            ph.residues(),
            t.value(),
            q,
            t.value() as f64 / q as f64,
        );
        return Ok(out);
    }
    let lt = params.level(level)?;
    // Limb 0 (the residues mod t) must be zero; the others are overwritten.
    let mut buf = crate::math::pool::take((level + 1) * n);
    for (i, (dst, src)) in buf[n..]
        .chunks_exact_mut(n)
        .zip(ph.residues().chunks_exact(n))
        .enumerate()
    {
        let (w, ws) = lt.t_q[i];
        match ctx.plans()[i].lanes() {
            Some(l) => l.mul_const(dst, src, w, l.companion(w)),
            None => {
                dst.copy_from_slice(src);
                crate::math::arith::mul_scalar_assign(dst, w, ws, ctx.moduli()[i].value());
            }
        }
    }
    let mut out = vec![0u64; n];
    lt.decrypt.divide_round(&buf, &mut out)?;
    // `buf` holds `t·φ` (secret-dependent): dropped, never returned to the pool.
    Ok(out)
}

/// Largest plaintext modulus (in bits) of [`round_t_over_q`].
const ROUND_T_MAX_BITS: u32 = 40;

/// `out[j] = round(t·x_j/q) mod t` for canonical `x_j < q`, an odd `q < 2^62` and
/// `t < 2^40` (`ratio = t/q` in `f64`): decryption's scaling at level 1, exactly
/// `floor((t x + floor(q/2))/q) mod t` (no ties: `q` is odd).
///
/// The estimate `e = rint(x·ratio)` (in `f64`) is off from the quotient by at most one (the
/// product's relative error is below `2^-51`, so its absolute error is below
/// `t 2^-51 < 2^-11`, and both roundings are within `1/2`); the remainder
/// `t x + floor(q/2) - e q` is then in `[-q, 2q)`, computed exactly in wrapping `u64`
/// arithmetic (it is below `2^63` in magnitude), and its sign and size correct `e`.
/// Branch-free and constant time; the quotient is in `[0, t]`, and `t` maps to 0. `rint` is
/// read from the mantissa of `x·ratio + 2^52` (exact below `2^52`): no `floor` call, no
/// saturating cast, and the loop vectorises.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq", "x86_64+avx2"))]
fn round_t_over_q(out: &mut [u64], x: &[u64], t: u64, q: u64, ratio: f64) {
    const TWO_POW_52: f64 = 4_503_599_627_370_496.0;
    let h = q / 2;
    for (o, &xj) in out.iter_mut().zip(x) {
        let e = (xj as f64 * ratio + TWO_POW_52).to_bits() - TWO_POW_52.to_bits();
        let r = t
            .wrapping_mul(xj)
            .wrapping_add(h)
            .wrapping_sub(e.wrapping_mul(q))
            .cast_signed();
        // r < 0: e was one too large; r >= q: one too small.
        let e = e
            .wrapping_sub(u64::from(r < 0))
            .wrapping_add(u64::from(r >= q.cast_signed()));
        *o = e.min(e.wrapping_sub(t));
    }
}

/// Tables of decryption through a lower level: the switch of a ciphertext polynomial from
/// `Q_l` to `Q_k` (`k < l`), `c -> round(c/D)` with `D = Q_l/Q_k` the product of the dropped
/// primes, by `math::rns::ScaleDownHps` (the residue of `c` mod `D` from the exact base
/// extension of Halevi, Polyakov and Shoup): the rounding error is at most `1/2 + 2^-30`
/// (the extension may pick the other representative within `2^-30` of `±D/2`), which the
/// choice of `k` accounts for (`bfv::noise::decrypt_level`). About a third of the work of the
/// exact mixed-radix `math::rns::ScaleDown` for the same drop.
pub(crate) struct LowerSwitch {
    /// `k`.
    to: usize,
    /// `round(x / D)` on the basis `Q_l`.
    scale: ScaleDownHps,
}

impl LowerSwitch {
    fn new(params: &Parameters, from: usize, to: usize) -> Result<Self> {
        let basis = &params.level(from)?.basis_q;
        Ok(Self {
            to,
            scale: ScaleDownHps::new(basis, from - to)?,
        })
    }

    /// `round(c/D)` over `Q_k` (coefficient form).
    fn apply(&self, c: &Poly<Coeff>) -> Result<Poly<Coeff>> {
        let ctx = c.context();
        let mut out = crate::math::pool::take_dirty(self.to * ctx.degree());
        self.scale.divide_round(c.residues(), &mut out)?;
        Ok(Poly::from_raw(ctx, self.to, out))
    }
}

impl Parameters {
    /// The tables of decryption from level `from` through level `to < from`, built on first
    /// use.
    pub(crate) fn lower_switch(&self, from: usize, to: usize) -> Result<&LowerSwitch> {
        let lt = self.level(from)?;
        let cell =
            to.checked_sub(1)
                .and_then(|i| lt.lower.get(i))
                .ok_or(Error::InvalidOperation {
                    reason: "decryption level must be below the ciphertext's level",
                })?;
        if let Some(s) = cell.get() {
            return Ok(s);
        }
        let s = LowerSwitch::new(self, from, to)?;
        Ok(cell.get_or_init(|| s))
    }
}

fn pk_context(pk: &PublicKey) -> &Arc<crate::math::poly::Context> {
    pk.a.context()
}

/// `log2` of a little-endian multi-word integer (`-inf` for zero).
pub(crate) fn words_log2(w: &[u64]) -> f64 {
    let Some(top) = w.iter().rposition(|&x| x != 0) else {
        return f64::NEG_INFINITY;
    };
    let hi = w[top] as f64;
    let lo = if top > 0 { w[top - 1] as f64 } else { 0.0 };
    (hi + lo / 18_446_744_073_709_551_616.0).log2() + 64.0 * top as f64
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation
)]
mod tests {
    use super::*;
    use crate::bfv::Evaluator;
    use crate::rlwe::RelinearizationKey;
    use num_bigint::BigUint;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// Insecure test parameters: `N = 2^11`, `t = 65537`, four 50-bit primes.
    fn small() -> Arc<Parameters> {
        Parameters::insecure_for_testing(1 << 11, 65_537, 4).unwrap()
    }

    fn q_big(params: &Parameters, level: usize) -> BigUint {
        params.ring().ctx_q().moduli()[..level]
            .iter()
            .fold(BigUint::from(1u32), |acc, q| acc * q.value())
    }

    fn random_plain(params: &Arc<Parameters>, rng: &mut ChaCha20Rng) -> Plaintext {
        let t = params.plaintext_modulus();
        let v: Vec<u64> = (0..params.degree()).map(|_| rng.next_u64() % t).collect();
        Plaintext::encode(params, &v).unwrap()
    }

    /// A fresh ciphertext given the scaled noise `±ρ·Q` in every coefficient
    /// (`c_0 += ±floor(ρ Q / t)`, signs alternating), `ρ = 1/2 - 2^-20`: a measured noise
    /// budget of about `4·10^-6` bit. Its public estimate stays the fresh one (a wrong,
    /// too small estimate), so decryption goes through level 1; the worst-case bound
    /// (`δ_1 <= 2^-24` here) must still make it exact.
    #[test]
    fn decrypts_at_the_edge_of_the_budget_through_level_1() {
        let params = small();
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let sk = SecretKey::generate(params.ring(), &mut rng).unwrap();
        let pt = random_plain(&params, &mut rng);
        let ct = Ciphertext::encrypt_sk(&sk, &pt, &mut rng).unwrap();
        let level = ct.level();
        let q = q_big(&params, level);
        let e = (&q * ((1u64 << 19) - 1)) / (BigUint::from(params.plaintext_modulus()) << 20);
        let n = params.degree();
        let ctx = Arc::clone(params.ring().ctx_q());
        let mut c0 = ct.polys()[0].clone();
        for (limb, m) in c0
            .residues_mut()
            .chunks_exact_mut(n)
            .zip(ctx.moduli().iter())
        {
            let r: BigUint = &e % BigUint::from(m.value());
            let r = r.to_u64_digits().first().copied().unwrap_or(0);
            for (j, x) in limb.iter_mut().enumerate() {
                *x = if j % 2 == 0 {
                    m.add(*x, r)
                } else {
                    m.sub(*x, r)
                };
            }
        }
        let edge = Ciphertext::from_polys(
            &params,
            vec![c0, ct.polys()[1].clone()],
            ct.noise_estimate(),
        )
        .unwrap();
        let budget = edge.noise_budget_vartime(&sk).unwrap();
        assert!(budget > 0.0 && budget < 1e-4, "budget {budget}");
        assert_eq!(
            noise::decrypt_level(&params, level, 1, edge.noise_estimate()),
            1
        );
        assert_eq!(edge.decrypt_at(&sk, level).unwrap(), pt);
        assert_eq!(edge.decrypt(&sk).unwrap(), pt);
        for k in 1..level {
            assert_eq!(edge.decrypt_at(&sk, k).unwrap(), pt, "through level {k}");
        }
    }

    /// After products (degree 2 and relinearised), every level from the chosen one up
    /// decrypts to the same plaintext as the ciphertext's own level; an exhausted estimate
    /// keeps decryption at the ciphertext's level.
    #[test]
    fn every_allowed_level_decrypts_alike() {
        let params = small();
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let sk = SecretKey::generate(params.ring(), &mut rng).unwrap();
        let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
        let ev = Evaluator::new(&params);
        let pt = random_plain(&params, &mut rng);
        let mut ct = Ciphertext::encrypt_sk(&sk, &pt, &mut rng).unwrap();
        let mut seen = Vec::new();
        for _ in 0..3 {
            let sq = ev.square(&ct).unwrap();
            for c in [&sq, &ev.relinearize(&sq, &rlk).unwrap()] {
                let level = c.level();
                let k = noise::decrypt_level(&params, level, c.degree(), c.noise_estimate());
                seen.push(k);
                let want = c.decrypt_at(&sk, level).unwrap();
                for j in k..level {
                    assert_eq!(c.decrypt_at(&sk, j).unwrap(), want, "through level {j}");
                }
                assert_eq!(c.decrypt(&sk).unwrap(), want);
            }
            ct = ev.relinearize(&sq, &rlk).unwrap();
        }
        assert!(seen.iter().any(|&k| k < params.max_level()), "{seen:?}");
        let level = ct.level();
        let exhausted = NoiseEstimate::from_log2(params.log2_q(level).unwrap());
        assert_eq!(noise::decrypt_level(&params, level, 1, exhausted), level);
        let unbounded = NoiseEstimate::from_log2(f64::INFINITY);
        assert_eq!(noise::decrypt_level(&params, level, 1, unbounded), level);
        assert_eq!(
            noise::decrypt_level(&params, level, 1, NoiseEstimate::from_log2(f64::NAN)),
            level
        );
        assert!(ct.decrypt_at(&sk, 0).is_err());
    }

    /// Fresh encryptions at the benchmark presets decrypt through level 1.
    #[test]
    fn fresh_ciphertexts_at_the_presets_decrypt_through_level_1() {
        for params in [
            Parameters::n8192_logq218_t20bit().unwrap(),
            Parameters::n16384_logq438_t20bit().unwrap(),
        ] {
            let level = params.max_level();
            for est in [noise::fresh_pk(&params), noise::fresh_sk(&params)] {
                assert_eq!(noise::decrypt_level(&params, level, 1, est), 1);
            }
        }
    }

    /// The one-prime scaling is `floor((t x + floor(q/2)) / q) mod t` (a `u128` reference)
    /// for random `x` and for `x` on both sides of every rounding boundary tried, with the
    /// presets' primes and plaintext moduli and the largest accepted sizes.
    #[test]
    fn one_prime_scaling_matches_the_exact_quotient() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let big_q = crate::math::primes::ntt_primes(61, 1 << 12, 1).unwrap()[0];
        let cases = [
            (
                786_433u64,
                Parameters::n16384_logq438_t20bit()
                    .unwrap()
                    .ring()
                    .q_moduli()[0],
            ),
            (
                786_433,
                Parameters::n8192_logq218_t20bit()
                    .unwrap()
                    .ring()
                    .q_moduli()[0],
            ),
            (65_537, (1 << 50) - 27),
            ((1 << 40) - 87, (1 << 50) - 27),
            ((1 << 40) - 87, big_q),
            (3, big_q),
        ];
        for (t, q) in cases {
            let h = q / 2;
            let want = |x: u64| {
                let y = (u128::from(t) * u128::from(x) + u128::from(h)) / u128::from(q);
                (y % u128::from(t)) as u64
            };
            let mut xs = vec![0, 1, q - 1, q / 2, q / 2 + 1];
            for _ in 0..2000 {
                // x just below, at and above floor((2m + 1) q / (2t)) for a random m < t.
                let m = u128::from(rng.next_u64() % t);
                let b = ((2 * m + 1) * u128::from(q) / (2 * u128::from(t))) as u64;
                xs.extend(
                    [b.saturating_sub(1), b, b + 1, b + 2]
                        .iter()
                        .filter(|&&x| x < q),
                );
                xs.push(rng.next_u64() % q);
            }
            let mut out = vec![0u64; xs.len()];
            round_t_over_q(&mut out, &xs, t, q, t as f64 / q as f64);
            for (&x, &o) in xs.iter().zip(&out) {
                assert_eq!(o, want(x), "t = {t}, q = {q}, x = {x}");
            }
        }
    }
}
