//! Plaintexts, ciphertexts, encryption and decryption.

use super::noise::{self, NoiseEstimate};
use super::params::Parameters;
use crate::error::{Error, Result};
use crate::math::poly::{Coeff, Ntt, Poly};
use crate::math::sampling::{expand_seed, gaussian, ternary, Domain};
use crate::rlwe::{PublicKey, SecretKey, DOMAIN_CIPHERTEXT};
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
        if coeffs.iter().any(|&c| c >= params.plaintext_modulus()) {
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
    /// (`t·φ` on the basis `{t} ∪ Q_l`, where its residue mod `t` is 0, then an exact
    /// divide-and-round by `Q_l`, `math::rns::ScaleDown`).
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if `sk` belongs to other parameters. A ciphertext whose noise
    /// budget is exhausted decrypts to a wrong plaintext without error (no oracle).
    pub fn decrypt(&self, sk: &SecretKey) -> Result<Plaintext> {
        let level = self.level();
        let ph = self.phase_coeff(sk)?;
        let n = self.params.degree();
        let lt = self.params.level(level)?;
        let moduli = self.params.ring().ctx_q().moduli();
        let plans = self.params.ring().ctx_q().plans();
        let mut buf = vec![0u64; (level + 1) * n];
        for (i, (dst, src)) in buf[n..]
            .chunks_exact_mut(n)
            .zip(ph.residues().chunks_exact(n))
            .enumerate()
        {
            let (w, ws) = lt.t_q[i];
            let q = &moduli[i];
            match plans[i].lanes() {
                Some(l) => l.mul_const(dst, src, w, l.companion(w)),
                None => {
                    dst.copy_from_slice(src);
                    crate::math::arith::mul_scalar_assign(dst, w, ws, q.value());
                }
            }
        }
        let mut out = vec![0u64; n];
        lt.decrypt.divide_round(&buf, &mut out)?;
        Plaintext::from_coefficients(&self.params, out)
    }

    /// `φ = c_0 + c_1 s + …` in coefficient form: `c_1, …` to NTT form, Horner in NTT form,
    /// back to coefficients, `c_0` added there (`2L` transforms for degree 1).
    fn phase_coeff(&self, sk: &SecretKey) -> Result<Poly<Coeff>> {
        if **sk.params() != **self.params.ring() {
            return Err(Error::ContextMismatch);
        }
        let level = self.level();
        let s = if level == sk.s_q().limbs() {
            None
        } else {
            Some(sk.s_q().prefix(level)?)
        };
        let s = s.as_ref().unwrap_or(sk.s_q());
        let (c0, rest) = self.polys.split_first().ok_or(Error::InvalidOperation {
            reason: "empty ciphertext",
        })?;
        // Horner: ((c_d s + c_{d-1}) s + … + c_1) s.
        let mut acc: Option<Poly<Ntt>> = None;
        for c in rest.iter().rev() {
            let c = c.clone().into_ntt();
            acc = Some(match acc {
                None => c,
                Some(mut a) => {
                    a.mul_assign(s)?;
                    a.add_assign(&c)?;
                    a
                }
            });
        }
        let mut acc = acc.ok_or(Error::InvalidOperation {
            reason: "a ciphertext has at least two polynomials",
        })?;
        acc.mul_assign(s)?;
        let mut ph = acc.into_coeff();
        ph.add_assign(c0)?;
        Ok(ph)
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
