//! CKKS plaintexts, ciphertexts, public keys and Galois key sets on the wire.

use super::io::poly_len;
use super::keys::{check_galois, ksk_len, read_galois_set, write_galois_set, FLAG_EXPLICIT_A};
use super::{invalid, Decode, Encode, ObjectKind, ParamDigest, Reader, Writer};
use crate::ckks::{Ciphertext, GaloisKeys, NoiseEstimate, Parameters, Plaintext, PublicKey};
use crate::error::{Error, Result};
use crate::math::poly::{Context, Ntt, Poly};
use crate::math::sampling::{expand_seed, Domain};
use crate::rlwe::{DOMAIN_CIPHERTEXT, DOMAIN_PUBLIC_KEY};
use std::sync::Arc;

/// Flag bit of a ciphertext: `c_1` is sent as its seed.
const FLAG_SEEDED: u8 = 1;
/// Flag bit of a public key: it has a part modulo the special primes `P`.
const FLAG_OVER_QP: u8 = 2;

fn level_len(params: &Parameters, level: usize) -> usize {
    let ctx = params.rlwe().ctx_q();
    poly_len(&ctx.moduli()[..level], ctx.degree())
}

fn read_level(params: &Parameters, r: &mut Reader<'_>, what: &'static str) -> Result<usize> {
    let level = usize::from(r.u8(what)?);
    if level == 0 || level > params.max_level() {
        return Err(invalid("level outside 1..=L+1"));
    }
    Ok(level)
}

/// A scale: finite and at least 1.
fn read_scale(r: &mut Reader<'_>) -> Result<f64> {
    let s = r.f64_finite("scale")?;
    if s < 1.0 {
        return Err(invalid("scale below 1"));
    }
    Ok(s)
}

/// A finite non-negative float.
fn read_nonneg(r: &mut Reader<'_>, what: &'static str) -> Result<f64> {
    let x = r.f64_finite(what)?;
    if x < 0.0 {
        return Err(invalid(what));
    }
    Ok(x)
}

fn check_poly(params: &Parameters, p: &Poly<Ntt>) -> Result<()> {
    if **p.context() != **params.rlwe().ctx_q() {
        return Err(Error::ContextMismatch);
    }
    Ok(())
}

impl Encode for Plaintext {
    type Context = Parameters;
    const KIND: ObjectKind = ObjectKind::CKKS_PLAINTEXT;
    fn param_digest(&self, ctx: &Parameters) -> Result<ParamDigest> {
        check_poly(ctx, &self.poly)?;
        Ok(ParamDigest::of_ckks(ctx))
    }
    fn payload_len_hint(&self, ctx: &Parameters) -> usize {
        1 + 16 + level_len(ctx, self.level())
    }
    #[allow(clippy::cast_possible_truncation)]
    fn encode_payload(&self, _: &Parameters, w: &mut Writer) {
        w.u8(self.level() as u8); // <= 128 primes
        w.f64(self.scale);
        w.f64(self.bound);
        w.poly(&self.poly);
    }
}

impl Decode for Plaintext {
    type Context = Parameters;
    const KIND: ObjectKind = ObjectKind::CKKS_PLAINTEXT;
    fn expected_digest(ctx: &Parameters) -> Option<ParamDigest> {
        Some(ParamDigest::of_ckks(ctx))
    }
    fn decode_payload(ctx: &Parameters, _: &ParamDigest, r: &mut Reader<'_>) -> Result<Self> {
        let level = read_level(ctx, r, "plaintext level")?;
        let scale = read_scale(r)?;
        let bound = read_nonneg(r, "plaintext bound must be finite and non-negative")?;
        let poly = r.poly(ctx.rlwe().ctx_q(), level, "plaintext")?;
        Ok(Self { poly, scale, bound })
    }
}

impl Plaintext {
    /// Encodes the plaintext (`docs/FORMAT.md`, kind `0x0020`).
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if it does not belong to `params`.
    pub fn to_bytes(&self, params: &Parameters) -> Result<Vec<u8>> {
        super::encode(self, params)
    }

    /// Decodes a plaintext for `params`.
    ///
    /// # Errors
    /// Any [`WireError`](crate::error::WireError).
    pub fn from_bytes(params: &Parameters, bytes: &[u8]) -> Result<Self> {
        super::decode(params, bytes)
    }
}

/// `c_1` of a fresh secret-key encryption at `level`, as `encrypt_symmetric` expands it.
fn seeded_c1(ctx: &Arc<Context>, level: usize, seed: &[u8; 32]) -> Result<Poly<Ntt>> {
    let data = expand_seed(
        seed,
        Domain::new(DOMAIN_CIPHERTEXT, 0),
        &ctx.moduli()[..level],
        ctx.degree(),
    )?;
    Ok(Poly::from_raw(ctx, level, data))
}

fn sends_seed<'a>(params: &Parameters, ct: &'a Ciphertext) -> Option<&'a [u8; 32]> {
    let seed = ct.seed.as_ref()?;
    let ok = ct.parts.len() == 2
        && seeded_c1(params.rlwe().ctx_q(), ct.level(), seed).is_ok_and(|c1| c1 == ct.parts[1]);
    ok.then_some(seed)
}

impl Encode for Ciphertext {
    type Context = Parameters;
    const KIND: ObjectKind = ObjectKind::CKKS_CIPHERTEXT;
    fn param_digest(&self, ctx: &Parameters) -> Result<ParamDigest> {
        let level = self.level();
        for p in &self.parts {
            check_poly(ctx, p)?;
            if p.limbs() != level {
                return Err(Error::ContextMismatch);
            }
        }
        Ok(ParamDigest::of_ckks(ctx))
    }
    fn payload_len_hint(&self, ctx: &Parameters) -> usize {
        6 + 24 + 32 + self.parts.len() * level_len(ctx, self.level())
    }
    #[allow(clippy::cast_possible_truncation)]
    fn encode_payload(&self, ctx: &Parameters, w: &mut Writer) {
        let seed = sends_seed(ctx, self);
        w.u8(self.level() as u8); // <= 128 primes
        w.count(self.parts.len());
        w.u8(if seed.is_some() { FLAG_SEEDED } else { 0 });
        w.f64(self.scale);
        w.f64(self.estimate.variance);
        w.f64(self.estimate.bound);
        if let Some(s) = seed {
            w.bytes(s);
            w.poly(&self.parts[0]);
        } else {
            for p in &self.parts {
                w.poly(p);
            }
        }
    }
}

impl Decode for Ciphertext {
    type Context = Parameters;
    const KIND: ObjectKind = ObjectKind::CKKS_CIPHERTEXT;
    fn expected_digest(ctx: &Parameters) -> Option<ParamDigest> {
        Some(ParamDigest::of_ckks(ctx))
    }
    fn decode_payload(ctx: &Parameters, _: &ParamDigest, r: &mut Reader<'_>) -> Result<Self> {
        let level = read_level(ctx, r, "ciphertext level")?;
        let count = r.count(2, usize::MAX, 0, "number of ciphertext polynomials")?;
        let seeded = r.flags(FLAG_SEEDED, "ciphertext flags")? != 0;
        let scale = read_scale(r)?;
        let variance = read_nonneg(r, "noise variance must be finite and non-negative")?;
        let bound = read_nonneg(r, "message bound must be finite and non-negative")?;
        let seed = if seeded {
            if count != 2 {
                return Err(invalid("a seeded ciphertext has two polynomials"));
            }
            Some(r.seed("ciphertext seed")?)
        } else {
            None
        };
        let sent = if seeded { 1 } else { count };
        r.need(
            sent.saturating_mul(level_len(ctx, level)),
            "ciphertext polynomials",
        )?;
        let cq = ctx.rlwe().ctx_q();
        let mut parts = Vec::with_capacity(count);
        for _ in 0..sent {
            parts.push(r.poly::<Ntt>(cq, level, "ciphertext")?);
        }
        if let Some(s) = &seed {
            parts.push(seeded_c1(cq, level, s)?);
        }
        Ok(Self {
            parts,
            scale,
            estimate: NoiseEstimate::new(variance, bound),
            seed,
        })
    }
}

impl Ciphertext {
    /// Encodes the ciphertext (`docs/FORMAT.md`, kind `0x0021`): level, degree, scale, public
    /// noise estimate and polynomials; a fresh secret-key encryption sends `c_1` as its
    /// 32-byte seed. Drop it to the lowest level that still holds the result before sending
    /// it for decryption only: its size shrinks in proportion.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if it does not belong to `params`.
    pub fn to_bytes(&self, params: &Parameters) -> Result<Vec<u8>> {
        super::encode(self, params)
    }

    /// Decodes a ciphertext for `params`.
    ///
    /// # Errors
    /// Any [`WireError`](crate::error::WireError).
    pub fn from_bytes(params: &Parameters, bytes: &[u8]) -> Result<Self> {
        super::decode(params, bytes)
    }
}

/// The seeded `a` of a CKKS public key: modulo `Q` (domain `pk`, index 0, as the shared-layer
/// key) and modulo `P` (index 1).
fn public_key_a(params: &Parameters, seed: &[u8; 32]) -> Result<(Poly<Ntt>, Poly<Ntt>)> {
    let rl = params.rlwe();
    let n = params.degree();
    let (cq, cp) = (rl.ctx_q(), rl.ctx_p());
    let a_q = expand_seed(seed, Domain::new(DOMAIN_PUBLIC_KEY, 0), cq.moduli(), n)?;
    let a_p = expand_seed(seed, Domain::new(DOMAIN_PUBLIC_KEY, 1), cp.moduli(), n)?;
    Ok((
        Poly::from_raw(cq, cq.len(), a_q),
        Poly::from_raw(cp, cp.len(), a_p),
    ))
}

/// Whether the key's `a` is its seed's expansion.
fn pk_is_seeded(params: &Parameters, pk: &PublicKey) -> bool {
    let (_, a_q, p_part) = pk.wire_parts();
    public_key_a(params, pk.seed())
        .is_ok_and(|(eq, ep)| eq == *a_q && p_part.is_none_or(|(_, a_p)| ep == *a_p))
}

impl Encode for PublicKey {
    type Context = Parameters;
    const KIND: ObjectKind = ObjectKind::CKKS_PUBLIC_KEY;
    fn param_digest(&self, ctx: &Parameters) -> Result<ParamDigest> {
        let (b_q, a_q, p_part) = self.wire_parts();
        let (cq, cp) = (ctx.rlwe().ctx_q(), ctx.rlwe().ctx_p());
        let full = |x: &Poly<Ntt>, c: &Arc<Context>| **x.context() == **c && x.limbs() == c.len();
        let ok = full(b_q, cq)
            && full(a_q, cq)
            && p_part.is_none_or(|(b_p, a_p)| full(b_p, cp) && full(a_p, cp));
        if !ok {
            return Err(Error::ContextMismatch);
        }
        Ok(ParamDigest::of_ckks(ctx))
    }
    fn payload_len_hint(&self, ctx: &Parameters) -> usize {
        let rl = ctx.rlwe();
        1 + 32
            + 2 * (poly_len(rl.ctx_q().moduli(), rl.degree())
                + poly_len(rl.ctx_p().moduli(), rl.degree()))
    }
    fn encode_payload(&self, ctx: &Parameters, w: &mut Writer) {
        let (b_q, a_q, p_part) = self.wire_parts();
        let explicit = !pk_is_seeded(ctx, self);
        let mut flags = 0;
        if explicit {
            flags |= FLAG_EXPLICIT_A;
        }
        if p_part.is_some() {
            flags |= FLAG_OVER_QP;
        }
        w.u8(flags);
        w.bytes(self.seed());
        w.poly(b_q);
        if let Some((b_p, _)) = p_part {
            w.poly(b_p);
        }
        if explicit {
            w.poly(a_q);
            if let Some((_, a_p)) = p_part {
                w.poly(a_p);
            }
        }
    }
}

impl Decode for PublicKey {
    type Context = Parameters;
    const KIND: ObjectKind = ObjectKind::CKKS_PUBLIC_KEY;
    fn expected_digest(ctx: &Parameters) -> Option<ParamDigest> {
        Some(ParamDigest::of_ckks(ctx))
    }
    fn decode_payload(ctx: &Parameters, _: &ParamDigest, r: &mut Reader<'_>) -> Result<Self> {
        let flags = r.flags(FLAG_EXPLICIT_A | FLAG_OVER_QP, "public key flags")?;
        let explicit = flags & FLAG_EXPLICIT_A != 0;
        let over_qp = flags & FLAG_OVER_QP != 0;
        let seed = r.seed("public key seed")?;
        let (cq, cp) = (ctx.rlwe().ctx_q(), ctx.rlwe().ctx_p());
        let b_q = r.poly(cq, cq.len(), "public key b")?;
        let b_p = if over_qp {
            Some(r.poly(cp, cp.len(), "public key b")?)
        } else {
            None
        };
        let (a_q, a_p) = if explicit {
            let a_q = r.poly(cq, cq.len(), "public key a")?;
            let a_p = if over_qp {
                Some(r.poly(cp, cp.len(), "public key a")?)
            } else {
                None
            };
            (a_q, a_p)
        } else {
            let (a_q, a_p) = public_key_a(ctx, &seed)?;
            (a_q, over_qp.then_some(a_p))
        };
        let p_part = match (b_p, a_p) {
            (Some(b), Some(a)) => Some((b, a)),
            _ => None,
        };
        let pk = PublicKey::from_wire_parts(b_q, a_q, p_part, seed);
        if explicit && pk_is_seeded(ctx, &pk) {
            return Err(invalid(
                "explicit public key a equals its seed's expansion (non-canonical)",
            ));
        }
        Ok(pk)
    }
}

impl PublicKey {
    /// Encodes the public key (`docs/FORMAT.md`, kind `0x0022`): `b` modulo `Q` (and `P`) and
    /// the seed of `a`.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if the key does not belong to `params`.
    pub fn to_bytes(&self, params: &Parameters) -> Result<Vec<u8>> {
        super::encode(self, params)
    }

    /// Decodes a public key for `params`.
    ///
    /// # Errors
    /// Any [`WireError`](crate::error::WireError).
    pub fn from_bytes(params: &Parameters, bytes: &[u8]) -> Result<Self> {
        super::decode(params, bytes)
    }
}

impl Encode for GaloisKeys {
    type Context = Parameters;
    const KIND: ObjectKind = ObjectKind::CKKS_GALOIS_KEYS;
    fn param_digest(&self, ctx: &Parameters) -> Result<ParamDigest> {
        for g in self.elements() {
            check_galois(ctx.rlwe(), self.get(g).ok_or(Error::ContextMismatch)?)?;
        }
        Ok(ParamDigest::of_ring(ctx.rlwe()))
    }
    fn payload_len_hint(&self, ctx: &Parameters) -> usize {
        let ring = ctx.rlwe();
        let d = ring.digits_at(ring.max_level()).len();
        4 + self.elements().len() * (8 + ksk_len(ring, d, false))
    }
    fn encode_payload(&self, ctx: &Parameters, w: &mut Writer) {
        let elements = self.elements();
        let keys: Vec<_> = elements.iter().filter_map(|&g| self.get(g)).collect();
        write_galois_set(ctx.rlwe(), keys.into_iter(), w);
    }
}

impl Decode for GaloisKeys {
    type Context = Parameters;
    const KIND: ObjectKind = ObjectKind::CKKS_GALOIS_KEYS;
    fn expected_digest(ctx: &Parameters) -> Option<ParamDigest> {
        Some(ParamDigest::of_ring(ctx.rlwe()))
    }
    fn decode_payload(ctx: &Parameters, _: &ParamDigest, r: &mut Reader<'_>) -> Result<Self> {
        let mut out = Self::default();
        for k in read_galois_set(ctx.rlwe(), r)? {
            out.insert(k);
        }
        Ok(out)
    }
}

impl GaloisKeys {
    /// Encodes the key set (`docs/FORMAT.md`, kind `0x0023`), keys in ascending element order.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if a key does not belong to `params`.
    pub fn to_bytes(&self, params: &Parameters) -> Result<Vec<u8>> {
        super::encode(self, params)
    }

    /// Decodes a key set for `params`.
    ///
    /// # Errors
    /// Any [`WireError`](crate::error::WireError).
    pub fn from_bytes(params: &Parameters, bytes: &[u8]) -> Result<Self> {
        super::decode(params, bytes)
    }
}
