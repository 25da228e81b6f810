//! Encoding into RNS plaintexts, keys, encryption and decryption.

use super::ciphertext::{Ciphertext, NoiseEstimate, Plaintext};
use super::encoding::Complex;
use super::Parameters;
use crate::error::{CkksError, Error, Result};
use crate::math::arith::{
    add_small_assign, centred_sub_reduce, lift_small, reduce_i64_slice, sub_mul_scalar_assign,
    sub_scaled_assign,
};
use crate::math::poly::{Coeff, Ntt, Poly};
use crate::math::pool::{give, take_dirty};
use crate::math::sampling::{expand_seed, gaussian, gaussian_rns, ternary, Domain};
use crate::rlwe::{GaloisKey, SecretKey, DOMAIN_CIPHERTEXT, DOMAIN_PUBLIC_KEY};
use rand_core::{CryptoRng, RngCore};
use std::collections::BTreeMap;
use std::sync::Arc;
use zeroize::Zeroize;

/// `x` restricted to `level` primes, borrowed when it already has that many.
fn key_at_level(x: &Poly<Ntt>, level: usize) -> Result<std::borrow::Cow<'_, Poly<Ntt>>> {
    Ok(if x.limbs() == level {
        std::borrow::Cow::Borrowed(x)
    } else {
        std::borrow::Cow::Owned(x.prefix(level)?)
    })
}

/// The coefficients as `i64` when every one is below `2^63` in magnitude (integers held in
/// `f64` convert exactly), `None` otherwise.
fn coefficients_i64(coeffs: &[f64]) -> Option<Vec<i64>> {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    let max = coeffs.iter().fold(0.0f64, |m, c| m.max(c.abs()));
    #[allow(clippy::cast_possible_truncation)]
    (max < LIMIT).then(|| coeffs.iter().map(|&c| c as i64).collect())
}

/// The smallest power of two at least `x` (1 for `x <= 1`... and at least `2^-64`).
fn pow2_ceil(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return 0.0;
    }
    x.log2().ceil().exp2()
}

impl Parameters {
    fn check_ctx<R: crate::math::poly::Representation>(&self, p: &Poly<R>) -> Result<()> {
        let ctx = p.context();
        if Arc::ptr_eq(ctx, self.rlwe().ctx_q()) || **ctx == **self.rlwe().ctx_q() {
            Ok(())
        } else {
            Err(Error::ContextMismatch)
        }
    }

    pub(crate) fn check_ct(&self, ct: &Ciphertext) -> Result<()> {
        for p in &ct.parts {
            self.check_ctx(p)?;
        }
        Ok(())
    }

    /// Reduces an integer held exactly in an `f64` (`|x| < 2^128`) modulo prime `i`.
    #[inline]
    pub(crate) fn reduce_f64(&self, x: f64, i: usize) -> u64 {
        let q = &self.moduli()[i];
        #[allow(clippy::cast_possible_truncation)]
        if x.abs() < 9_223_372_036_854_775_808.0 {
            return q.reduce_i64(x as i64);
        }
        // |x| = m·2^e with a 53-bit mantissa m and 11 <= e < 128 - 52.
        let bits = x.to_bits();
        let m = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
        let e = ((bits >> 52) & 0x7ff) as usize - 1075;
        let r = q.mul(q.reduce(m), self.pow2[i][e.min(127)]);
        if x < 0.0 {
            q.neg(r)
        } else {
            r
        }
    }

    /// Encodes up to `N/2` complex values at `level` and `scale` (see [`Encoder`] for the slot
    /// order and the rotation group).
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] for a level outside the chain;
    /// [`Error::Ckks`] ([`CkksError::ValueTooLarge`]) if the scaled values do not fit the level;
    /// the encoder's errors (too many values, non-finite values or scale).
    ///
    /// [`Encoder`]: super::Encoder
    pub fn encode(&self, values: &[Complex], level: usize, scale: f64) -> Result<Plaintext> {
        let (coeffs, bound) = self.encode_coefficients(values, level, scale)?;
        let poly = self.lift(&coeffs, level)?.into_ntt();
        Ok(Plaintext { poly, scale, bound })
    }

    /// The checked integer coefficients of an encoding (see [`Parameters::encode`]) and the
    /// power-of-two bound on the values.
    fn encode_coefficients(
        &self,
        values: &[Complex],
        level: usize,
        scale: f64,
    ) -> Result<(Vec<f64>, f64)> {
        self.check_level(level)?;
        let max = values.iter().map(|z| z.abs()).fold(0.0f64, f64::max);
        let capacity = self.log_q_at(level)? - 1.0;
        let too_large = |coeff_log2: f64| CkksError::ValueTooLarge {
            level,
            scale_log2: scale.log2(),
            coeff_log2,
            capacity_log2: capacity,
        };
        // The coefficients are at most (N/2)·max·Δ; check the cheap bound on the values first.
        if scale > 0.0 && (max * scale).log2() >= capacity {
            return Err(too_large((max * scale).log2()).into());
        }
        let coeffs = self.encoder().encode(values, scale).map_err(|e| match e {
            Error::ValueOutOfRange { what } if what.contains("2^120") => {
                Error::Ckks(too_large(120.0))
            }
            e => e,
        })?;
        let cmax = coeffs.iter().fold(0.0f64, |a, c| a.max(c.abs()));
        if cmax > 0.0 && cmax.log2() >= capacity {
            return Err(too_large(cmax.log2()).into());
        }
        Ok((coeffs, pow2_ceil(max)))
    }

    /// Encodes real values (imaginary parts zero); see [`Parameters::encode`].
    ///
    /// # Errors
    /// As [`Parameters::encode`].
    pub fn encode_real(&self, values: &[f64], level: usize, scale: f64) -> Result<Plaintext> {
        let z: Vec<Complex> = values.iter().map(|&x| Complex::new(x, 0.0)).collect();
        self.encode(&z, level, scale)
    }

    /// Encodes real values at the top level and its canonical scale.
    ///
    /// # Errors
    /// As [`Parameters::encode`].
    pub fn encode_real_top(&self, values: &[f64]) -> Result<Plaintext> {
        let l = self.max_level();
        self.encode_real(values, l, self.scale_at(l)?)
    }

    /// Integer coefficients held in `f64` to an RNS polynomial at `level`.
    pub(crate) fn lift(&self, coeffs: &[f64], level: usize) -> Result<Poly<Coeff>> {
        let n = self.degree();
        let mut data = vec![0u64; level * n];
        if let Some(small) = coefficients_i64(coeffs) {
            // The usual case: every coefficient fits an `i64`; convert once, reduce per prime.
            for (limb, q) in data.chunks_exact_mut(n).zip(self.moduli()) {
                reduce_i64_slice(limb, &small, q.value());
            }
        } else {
            for (i, limb) in data.chunks_exact_mut(n).enumerate() {
                for (x, &c) in limb.iter_mut().zip(coeffs) {
                    *x = self.reduce_f64(c, i);
                }
            }
        }
        Poly::from_residues(self.rlwe().ctx_q(), data)
    }

    /// The centred coefficients of `p` (coefficient form) as `f64`.
    ///
    /// # Timing
    /// Takes a faster path when every coefficient is below `q_0 q_1 / 2` in magnitude (the
    /// usual case); which path ran depends on the size of the decrypted values.
    pub(crate) fn coefficients_f64(&self, p: &Poly<Coeff>) -> Result<Vec<f64>> {
        let n = self.degree();
        let l = p.limbs();
        let m = self.moduli();
        let r = p.residues();
        #[allow(clippy::cast_precision_loss)]
        if l == 1 {
            return Ok(r.iter().map(|&x| m[0].center(x) as f64).collect());
        }
        // Two-prime CRT, checked against the other primes.
        let (q0, q1) = (&m[0], &m[1]);
        let q0_inv = q1.inv(q1.reduce(q0.value()))?;
        let q0_inv_s = q1.shoup(q0_inv);
        let prod = u128::from(q0.value()) * u128::from(q1.value());
        let half = prod / 2;
        let mut out = vec![0.0f64; n];
        let mut ok = true;
        for (c, o) in out.iter_mut().enumerate() {
            let a = r[c];
            let b = r[n + c];
            let t = q1.mul_shoup(q1.sub(b, q1.reduce(a)), q0_inv, q0_inv_s);
            let x = u128::from(a) + u128::from(q0.value()) * u128::from(t);
            let (neg, mag) = if x > half {
                (true, prod - x)
            } else {
                (false, x)
            };
            for (j, qj) in m.iter().enumerate().take(l).skip(2) {
                let red = qj.reduce_u128(mag);
                let v = if neg { qj.neg(red) } else { red };
                ok &= v == r[j * n + c];
            }
            #[allow(clippy::cast_precision_loss)]
            let f = mag as f64;
            *o = if neg { -f } else { f };
        }
        if ok {
            return Ok(out);
        }
        let basis = &self.bases[l - 1];
        let mut buf = vec![0u64; l];
        for (c, o) in out.iter_mut().enumerate() {
            for (j, b) in buf.iter_mut().enumerate() {
                *b = r[j * n + c];
            }
            *o = basis.compose_centered_f64(&buf)?;
        }
        Ok(out)
    }

    /// Decodes a plaintext to its `N/2` slot values.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] for a plaintext of other parameters.
    pub fn decode(&self, pt: &Plaintext) -> Result<Vec<Complex>> {
        self.check_ctx(&pt.poly)?;
        let coeffs = self.coefficients_f64(&pt.poly.clone().into_coeff())?;
        self.encoder().decode(&coeffs, pt.scale)
    }

    /// Decodes and rounds every slot to a multiple of `2^-bits` (the public a-priori precision
    /// of the ciphertext the plaintext was decrypted from, [`NoiseEstimate::precision_bits`]),
    /// so the low-order bits, which carry the secret-dependent error, are not released.
    ///
    /// # Security
    /// A mitigation of the key-recovery attack of Li and Micciancio ("On the Security of
    /// Homomorphic Encryption on Approximate Numbers", EUROCRYPT 2021) when decrypted values
    /// are shared, **not** a proof of IND-CPA-D security: rounding to a precision estimate does
    /// not remove all leakage in general (Guo, Nabokov, Suvanto, Johansson, "Key Recovery
    /// Attacks on Approximate Homomorphic Encryption with Non-Worst-Case Noise Flooding
    /// Countermeasures", USENIX Security 2024). The rounding precision must come from the public
    /// estimate, never from the measured error. Threshold decryption adds noise flooding.
    ///
    /// # Errors
    /// As [`Parameters::decode`].
    pub fn decode_rounded(&self, pt: &Plaintext, bits: f64) -> Result<Vec<Complex>> {
        let step = (-bits.floor()).exp2();
        let round = |x: f64| (x / step).round() * step;
        Ok(self
            .decode(pt)?
            .into_iter()
            .map(|z| Complex::new(round(z.re), round(z.im)))
            .collect())
    }
}

/// A CKKS public key. Generated from a secret key it is defined modulo `Q·P` (special primes
/// included): encryption then computes an encryption of zero modulo `Q·p_0` (`p_0` the first
/// special prime) and divides it by `p_0`, which shrinks the fresh noise to the rounding error
/// (as SEAL does with its special prime). A public key built from an
/// [`rlwe::PublicKey`](crate::rlwe::PublicKey) (for example a collective key) is defined modulo
/// `Q` only and gives noisier fresh ciphertexts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    b_q: Poly<Ntt>,
    a_q: Poly<Ntt>,
    p_part: Option<(Poly<Ntt>, Poly<Ntt>)>,
    seed: [u8; 32],
}

impl PublicKey {
    /// Generates the public key of `sk` modulo `Q·P`: `(b, a) = (-a·s + e, a)`, `a` expanded
    /// from a fresh seed (its `Q` part exactly as [`rlwe::PublicKey`](crate::rlwe::PublicKey)
    /// expands it).
    ///
    /// # Errors
    /// Only for inconsistent parameters.
    pub fn generate(sk: &SecretKey, rng: &mut (impl RngCore + CryptoRng)) -> Result<Self> {
        let params = sk.params();
        let (cq, cp) = (params.ctx_q(), params.ctx_p());
        let n = params.degree();
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let a_q = Poly::from_raw(
            cq,
            cq.len(),
            expand_seed(&seed, Domain::new(DOMAIN_PUBLIC_KEY, 0), cq.moduli(), n)?,
        );
        let a_p = Poly::from_raw(
            cp,
            cp.len(),
            expand_seed(&seed, Domain::new(DOMAIN_PUBLIC_KEY, 1), cp.moduli(), n)?,
        );
        let all: Vec<_> = cq.moduli().iter().chain(cp.moduli()).copied().collect();
        let e = gaussian_rns(rng, &all, n)?;
        let split = cq.len() * n;
        let mut b_q = Poly::<Coeff>::from_raw(cq, cq.len(), e[..split].to_vec()).into_ntt();
        let mut b_p = Poly::<Coeff>::from_raw(cp, cp.len(), e[split..].to_vec()).into_ntt();
        let mut as_q = a_q.mul(sk.s_q())?;
        let mut as_p = a_p.mul(sk.s_p())?;
        b_q.sub_assign(&as_q)?;
        b_p.sub_assign(&as_p)?;
        as_q.zeroize();
        as_p.zeroize();
        Ok(Self {
            b_q,
            a_q,
            p_part: Some((b_p, a_p)),
            seed,
        })
    }

    /// A public key modulo `Q` only, from a shared-layer key.
    pub fn from_rlwe(pk: &crate::rlwe::PublicKey) -> Self {
        Self {
            b_q: pk.b.clone(),
            a_q: pk.a.clone(),
            p_part: None,
            seed: pk.seed,
        }
    }

    /// The key modulo `Q` as a shared-layer key.
    pub fn to_rlwe(&self) -> crate::rlwe::PublicKey {
        crate::rlwe::PublicKey {
            b: self.b_q.clone(),
            a: self.a_q.clone(),
            seed: self.seed,
        }
    }

    /// Whether the key is defined modulo `Q·P` (lower fresh noise).
    pub fn is_over_qp(&self) -> bool {
        self.p_part.is_some()
    }

    /// The seed `a` was expanded from.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// `(b_q, a_q, (b_p, a_p))` for the wire format.
    #[allow(clippy::type_complexity)]
    pub(crate) fn wire_parts(&self) -> (&Poly<Ntt>, &Poly<Ntt>, Option<&(Poly<Ntt>, Poly<Ntt>)>) {
        (&self.b_q, &self.a_q, self.p_part.as_ref())
    }

    /// A key from its parts, for the wire format (the decoder has validated them).
    pub(crate) fn from_wire_parts(
        b_q: Poly<Ntt>,
        a_q: Poly<Ntt>,
        p_part: Option<(Poly<Ntt>, Poly<Ntt>)>,
        seed: [u8; 32],
    ) -> Self {
        Self {
            b_q,
            a_q,
            p_part,
            seed,
        }
    }
}

fn check_params(params: &Parameters, sk_params: &crate::rlwe::RlweParams) -> Result<()> {
    if **params.rlwe() == *sk_params {
        Ok(())
    } else {
        Err(Error::ContextMismatch)
    }
}

/// Encrypts `pt` under the public key, at the plaintext's level and scale.
///
/// With a key defined modulo `Q·P` (see [`PublicKey`]) the encryption of zero is computed modulo
/// `Q·p_0`, `p_0` the first special prime, and divided by `p_0` with rounding: the fresh noise
/// is then the rounding error (SEAL's method, with its single special prime), and one special
/// prime costs a third of the transforms of all of `P`.
///
/// # Errors
/// [`Error::ContextMismatch`] if the key and plaintext belong to different parameters.
pub fn encrypt(
    params: &Parameters,
    pk: &PublicKey,
    pt: &Plaintext,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Ciphertext> {
    params.check_ctx(&pt.poly)?;
    params.check_ctx(&pk.b_q)?;
    let level = pt.level();
    let (mut c0, c1, var) = encrypt_zero_with(params, pk, level, None, rng)?;
    c0.add_assign(&pt.poly)?;
    Ok(fresh_ciphertext(params, c0, c1, var, pt.scale, pt.bound))
}

/// Encodes `values` at `level` and `scale` (as [`Parameters::encode`]) and encrypts them under
/// the public key (as [`encrypt`]) in one pass: with a key modulo `Q·P` the message's
/// coefficients join the division by `p_0` before its transforms, which saves the plaintext's
/// own transforms. The ciphertext is distributed exactly as `encrypt(encode(values))`.
///
/// # Errors
/// As [`Parameters::encode`] and [`encrypt`].
pub fn encode_encrypt(
    params: &Parameters,
    pk: &PublicKey,
    values: &[Complex],
    level: usize,
    scale: f64,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Ciphertext> {
    params.check_ctx(&pk.b_q)?;
    let (coeffs, bound) = params.encode_coefficients(values, level, scale)?;
    let Some(m) = coefficients_i64(&coeffs).filter(|_| pk.p_part.is_some()) else {
        let pt = Plaintext {
            poly: params.lift(&coeffs, level)?.into_ntt(),
            scale,
            bound,
        };
        return encrypt(params, pk, &pt, rng);
    };
    let (c0, c1, var) = encrypt_zero_with(params, pk, level, Some(&m), rng)?;
    Ok(fresh_ciphertext(params, c0, c1, var, scale, bound))
}

/// Real values (imaginary parts zero) through [`encode_encrypt`].
///
/// # Errors
/// As [`encode_encrypt`].
pub fn encode_encrypt_real(
    params: &Parameters,
    pk: &PublicKey,
    values: &[f64],
    level: usize,
    scale: f64,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Ciphertext> {
    let z: Vec<Complex> = values.iter().map(|&x| Complex::new(x, 0.0)).collect();
    encode_encrypt(params, pk, &z, level, scale, rng)
}

fn fresh_ciphertext(
    params: &Parameters,
    c0: Poly<Ntt>,
    c1: Poly<Ntt>,
    var: f64,
    scale: f64,
    bound: f64,
) -> Ciphertext {
    let estimate = NoiseEstimate::new(
        params.slot_variance(var + super::noise::ROUND, scale),
        bound,
    );
    Ciphertext {
        parts: vec![c0, c1],
        scale,
        estimate,
        seed: None,
    }
}

/// A public-key encryption of zero at `level` (plus the message `m`, integer coefficients, when
/// given; only with a key modulo `Q·P`), NTT form, and its coefficient variance.
///
/// With the `P` part: `c_i = (x_i·u + e_i + p_0·m_i - r_i) / p_0` over `Q_l`, where
/// `x = (b, a)`, `m_0 = m`, `m_1 = 0` and `r_i` is the centred residue of `x_i·u + e_i` modulo
/// `p_0`: the exact division of `x_i·u + e_i` by `p_0` with rounding, plus the message.
fn encrypt_zero_with(
    params: &Parameters,
    pk: &PublicKey,
    level: usize,
    m: Option<&[i64]>,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(Poly<Ntt>, Poly<Ntt>, f64)> {
    let n = params.degree();
    let rl = params.rlwe();
    let cq = rl.ctx_q();
    // The key at the level (borrowed at the top level: no copy).
    let b = key_at_level(&pk.b_q, level)?;
    let a = key_at_level(&pk.a_q, level)?;
    let Some((b_p, a_p)) = &pk.p_part else {
        debug_assert!(m.is_none());
        let mut u = Poly::<Coeff>::from_small(cq, level, &ternary(rng, n)?).into_ntt();
        let mut c0 = Poly::<Coeff>::from_small(cq, level, &gaussian(rng, n)?).into_ntt();
        let mut c1 = Poly::<Coeff>::from_small(cq, level, &gaussian(rng, n)?).into_ntt();
        c0.mul_add_assign(&b, &u)?;
        c1.mul_add_assign(&a, &u)?;
        u.zeroize();
        return Ok((c0, c1, params.fresh_variance(true, None)));
    };
    let cp = rl.ctx_p();
    let p0 = &cp.moduli()[0];
    let plan_p = &cp.plans()[0];
    let lanes_p = plan_p.lanes();
    let u = ternary(rng, n)?;
    let mut u_q = Poly::<Coeff>::from_small(cq, level, &u).into_ntt();
    let mut u_p = take_dirty(n);
    lift_small(&mut u_p, &u, p0.value());
    plan_p.forward(&mut u_p)?;
    drop(u);
    let mut y_p = take_dirty(n);
    let mut d = take_dirty(n);
    let mut m_j = take_dirty(n);
    let moduli = cq.moduli();
    let plans = cq.plans();
    let mut out = Vec::with_capacity(2);
    for (i, (x_q, x_p)) in [(&*b, b_p), (&*a, a_p)].into_iter().enumerate() {
        let e = gaussian(rng, n)?;
        // r = [x·u + e]_{p_0}, centred; keep r - e.
        y_p.copy_from_slice(x_p.limb(0));
        match &lanes_p {
            Some(l) => l.mul_assign(&mut y_p, &u_p),
            None => crate::math::arith::mul_assign(&mut y_p, &u_p, p0),
        }
        plan_p.inverse(&mut y_p)?;
        add_small_assign(&mut y_p, &e, p0.value());
        let mut y = x_q.mul(&u_q)?;
        for (j, limb) in y.residues_mut().chunks_exact_mut(n).enumerate() {
            let q = &moduli[j];
            // d = r - e (- p_0·m) mod q_j, to NTT form; then y = (y - d) / p_0.
            centred_sub_reduce(&mut d, &y_p, &e, p0.value(), q.value());
            let p_mod = q.reduce(p0.value());
            if let (0, Some(m)) = (i, m) {
                reduce_i64_slice(&mut m_j, m, q.value());
                sub_scaled_assign(&mut d, &m_j, p_mod, q.shoup(p_mod), q.value());
            }
            plans[j].forward(&mut d)?;
            let p_inv = q.inv(p_mod)?;
            sub_mul_scalar_assign(limb, &d, p_inv, q.shoup(p_inv), q.value());
        }
        out.push(y);
    }
    u_q.zeroize();
    give(u_q.into_residues());
    for mut v in [u_p, y_p, d] {
        v.zeroize();
        give(v);
    }
    give(m_j);
    let c1 = out.pop().ok_or(Error::InvalidOperation {
        reason: "internal: missing ciphertext part",
    })?;
    let c0 = out.pop().ok_or(Error::InvalidOperation {
        reason: "internal: missing ciphertext part",
    })?;
    #[allow(clippy::cast_precision_loss)]
    let var = params.fresh_variance(true, Some((p0.value() as f64).log2()));
    Ok((c0, c1, var))
}

/// Encrypts `pt` under the secret key: `(-a·s + e + m, a)` with `a` expanded from a fresh
/// seed, kept in the ciphertext ([`Ciphertext::seed`]).
///
/// # Errors
/// [`Error::ContextMismatch`] if the key and plaintext belong to different parameters.
pub fn encrypt_symmetric(
    params: &Parameters,
    sk: &SecretKey,
    pt: &Plaintext,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Ciphertext> {
    check_params(params, sk.params())?;
    params.check_ctx(&pt.poly)?;
    let level = pt.level();
    let n = params.degree();
    let cq = params.rlwe().ctx_q();
    let mq = &cq.moduli()[..level];
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let a = Poly::<Ntt>::from_raw(
        cq,
        level,
        expand_seed(&seed, Domain::new(DOMAIN_CIPHERTEXT, 0), mq, n)?,
    );
    let mut c0 = Poly::<Coeff>::from_small(cq, level, &gaussian(rng, n)?).into_ntt();
    let mut as_ = a.mul(&sk.s_q().prefix(level)?)?;
    c0.sub_assign(&as_)?;
    as_.zeroize();
    c0.add_assign(&pt.poly)?;
    let var = params.fresh_variance(false, None) + super::noise::ROUND;
    Ok(Ciphertext {
        parts: vec![c0, a],
        scale: pt.scale,
        estimate: NoiseEstimate::new(params.slot_variance(var, pt.scale), pt.bound),
        seed: Some(seed),
    })
}

/// Decrypts to a plaintext at the ciphertext's level and scale (any degree).
///
/// # Security
/// The result carries the secret-dependent error in its low-order bits: it must not be
/// forwarded to any other party as it is; share [`Parameters::decode_rounded`] output at the
/// ciphertext's public precision estimate instead (see there).
///
/// # Errors
/// [`Error::ContextMismatch`] if the key and ciphertext belong to different parameters.
pub fn decrypt(params: &Parameters, sk: &SecretKey, ct: &Ciphertext) -> Result<Plaintext> {
    check_params(params, sk.params())?;
    params.check_ct(ct)?;
    let poly = crate::rlwe::phase(sk, &ct.parts)?;
    Ok(Plaintext {
        poly,
        scale: ct.scale,
        bound: ct.estimate.bound,
    })
}

/// Decrypts, decodes and rounds to the ciphertext's public a-priori precision (see
/// [`Parameters::decode_rounded`]): what may be released to others.
///
/// # Errors
/// As [`decrypt`].
pub fn decrypt_decode_public(
    params: &Parameters,
    sk: &SecretKey,
    ct: &Ciphertext,
) -> Result<Vec<Complex>> {
    let pt = decrypt(params, sk, ct)?;
    params.decode_rounded(&pt, ct.estimate.precision_bits(params.slots()))
}

/// Galois keys for slot rotations and conjugation, by Galois element.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GaloisKeys {
    keys: BTreeMap<u64, GaloisKey>,
}

impl GaloisKeys {
    /// Keys for rotations by each of `steps` (left by `k`, negative `k` right) and, if asked,
    /// for conjugation.
    ///
    /// # Errors
    /// Only for inconsistent parameters.
    pub fn generate(
        params: &Parameters,
        sk: &SecretKey,
        steps: &[i64],
        conjugate: bool,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        check_params(params, sk.params())?;
        let mut keys = BTreeMap::new();
        let mut elements: Vec<u64> = steps.iter().map(|&k| params.rotation_element(k)).collect();
        if conjugate {
            elements.push(params.conjugation_element());
        }
        for g in elements {
            if g != 1 && !keys.contains_key(&g) {
                keys.insert(g, GaloisKey::generate(sk, g, rng)?);
            }
        }
        Ok(Self { keys })
    }

    /// Keys for rotations by `±2^i` (every power of two below `N/2`) and conjugation: any
    /// rotation is then reachable (at most `log2(N/2)` key switches).
    ///
    /// # Errors
    /// As [`GaloisKeys::generate`].
    pub fn generate_power_of_two(
        params: &Parameters,
        sk: &SecretKey,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        let mut steps = Vec::new();
        let mut k = 1i64;
        #[allow(clippy::cast_possible_wrap)]
        while k < params.slots() as i64 {
            steps.push(k);
            steps.push(-k);
            k *= 2;
        }
        Self::generate(params, sk, &steps, true, rng)
    }

    /// The key for Galois element `g`.
    pub fn get(&self, g: u64) -> Option<&GaloisKey> {
        self.keys.get(&g)
    }

    /// Adds a key.
    pub fn insert(&mut self, key: GaloisKey) {
        self.keys.insert(key.element(), key);
    }

    /// The Galois elements held.
    pub fn elements(&self) -> Vec<u64> {
        self.keys.keys().copied().collect()
    }
}

impl Parameters {
    /// The Galois element `5^k mod 2N` of a left rotation by `k` slots (negative: right).
    pub fn rotation_element(&self, k: i64) -> u64 {
        let slots = self.slots() as u64;
        let two_n = 2 * self.degree() as u64;
        #[allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]
        let k = k.rem_euclid(slots as i64) as u64;
        let mut g = 1u64;
        let mut b = 5u64;
        let mut e = k;
        while e > 0 {
            if e & 1 == 1 {
                g = g * b % two_n;
            }
            b = b * b % two_n;
            e >>= 1;
        }
        g
    }

    /// The Galois element `2N - 1` of complex conjugation.
    pub fn conjugation_element(&self) -> u64 {
        2 * self.degree() as u64 - 1
    }
}
