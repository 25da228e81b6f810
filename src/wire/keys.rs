//! Keys on the wire: secret key (signed coefficients, zigzag-packed), public key and
//! key-switching keys (relinearisation, Galois) with their uniform parts sent as seeds.

use super::io::{bits_for, packed_len, poly_len};
use super::{invalid, Decode, Encode, ObjectKind, ParamDigest, Reader, Writer};
use crate::error::{Error, Result};
use crate::math::poly::{Context, Ntt, Poly};
use crate::math::sampling::{expand_seed, seeded_rng, uniform_poly, Domain};
use crate::rlwe::{
    GaloisKey, KeySwitchingKey, PolyQP, PublicKey, RelinearizationKey, RlweParams, SecretKey,
    DOMAIN_KEY_SWITCH, DOMAIN_PUBLIC_KEY,
};
use std::sync::Arc;
use zeroize::{Zeroize, Zeroizing};

/// Flag bit: the uniform part `a` is sent explicitly instead of being re-expanded from the seed
/// (keys whose `a` was not expanded from their seed under the standard domain, such as keys a
/// protocol built from another common reference string).
pub(crate) const FLAG_EXPLICIT_A: u8 = 1;

/// `a` of a public key modulo `Q` (all primes), as `PublicKey::generate` expands it.
pub(crate) fn public_key_a(ctx: &Arc<Context>, seed: &[u8; 32]) -> Result<Poly<Ntt>> {
    let data = expand_seed(
        seed,
        Domain::new(DOMAIN_PUBLIC_KEY, 0),
        ctx.moduli(),
        ctx.degree(),
    )?;
    Ok(Poly::from_raw(ctx, ctx.len(), data))
}

/// `a_j` of a key-switching key, as `KeySwitchingKey::generate` expands it: one ChaCha20
/// stream per digit (domain `ksk`, index `j`), its `Q` residues then its `P` residues.
fn ksk_a(params: &RlweParams, seed: &[u8; 32], j: usize) -> Result<PolyQP> {
    let index = u32::try_from(j).map_err(|_| invalid("digit index"))?;
    let mut rng = seeded_rng(seed, Domain::new(DOMAIN_KEY_SWITCH, index));
    let (cq, cp) = (params.ctx_q(), params.ctx_p());
    let n = params.degree();
    let q = uniform_poly(&mut rng, cq.moduli(), n)?;
    let p = uniform_poly(&mut rng, cp.moduli(), n)?;
    Ok(PolyQP {
        q: Poly::from_raw(cq, cq.len(), q),
        p: Poly::from_raw(cp, cp.len(), p),
    })
}

/// Whether every `a_j` of `key` is the expansion of its seed.
fn ksk_is_seeded(params: &RlweParams, key: &KeySwitchingKey) -> bool {
    key.digits
        .iter()
        .enumerate()
        .all(|(j, (_, a))| ksk_a(params, &key.seed, j).is_ok_and(|x| x == *a))
}

/// Bytes of one polynomial over all of `Q ∪ P`.
fn qp_len(params: &RlweParams) -> usize {
    let n = params.degree();
    poly_len(params.ctx_q().moduli(), n) + poly_len(params.ctx_p().moduli(), n)
}

/// Payload bytes of a key-switching key (seeded when `explicit` is false).
pub(crate) fn ksk_len(params: &RlweParams, digits: usize, explicit: bool) -> usize {
    let polys = if explicit { 2 } else { 1 };
    1 + 32 + 1 + digits * polys * qp_len(params)
}

/// Writes a key-switching key: flags, seed, digit count, `b_j` (and `a_j` if explicit).
pub(crate) fn write_ksk(params: &RlweParams, key: &KeySwitchingKey, w: &mut Writer) {
    let explicit = !ksk_is_seeded(params, key);
    w.u8(if explicit { FLAG_EXPLICIT_A } else { 0 });
    w.bytes(&key.seed);
    #[allow(clippy::cast_possible_truncation)]
    w.u8(key.digits.len() as u8); // at most L <= 128 digits
    for (b, a) in &key.digits {
        w.poly(&b.q);
        w.poly(&b.p);
        if explicit {
            w.poly(&a.q);
            w.poly(&a.p);
        }
    }
}

fn read_qp(params: &RlweParams, r: &mut Reader<'_>, what: &'static str) -> Result<PolyQP> {
    let (cq, cp) = (params.ctx_q(), params.ctx_p());
    Ok(PolyQP {
        q: r.poly(cq, cq.len(), what)?,
        p: r.poly(cp, cp.len(), what)?,
    })
}

/// Reads a key-switching key written by [`write_ksk`] for `params`.
pub(crate) fn read_ksk(params: &RlweParams, r: &mut Reader<'_>) -> Result<KeySwitchingKey> {
    let explicit = r.flags(FLAG_EXPLICIT_A, "key-switching key flags")? != 0;
    let seed = r.seed("key-switching key seed")?;
    let expected = params.digits_at(params.max_level()).len();
    let digits = usize::from(r.u8("number of digits")?);
    if digits != expected {
        return Err(invalid(
            "number of key-switching digits differs from the parameters' dnum",
        ));
    }
    let polys = if explicit { 2 } else { 1 };
    r.need(digits * polys * qp_len(params), "key-switching key digits")?;
    let mut out = Vec::with_capacity(digits);
    for j in 0..digits {
        let b = read_qp(params, r, "key-switching key b")?;
        let a = if explicit {
            read_qp(params, r, "key-switching key a")?
        } else {
            ksk_a(params, &seed, j)?
        };
        out.push((b, a));
    }
    let key = KeySwitchingKey { digits: out, seed };
    if explicit && ksk_is_seeded(params, &key) {
        return Err(invalid(
            "explicit key-switching a equals its seed's expansion (non-canonical: send it seeded)",
        ));
    }
    Ok(key)
}

/// Zigzag map of a signed coefficient: `0, -1, 1, -2, … -> 0, 1, 2, 3, …`.
fn zigzag(c: i64) -> u64 {
    ((c << 1) ^ (c >> 63)).cast_unsigned()
}

fn unzigzag(z: u64) -> i64 {
    (z >> 1).cast_signed() ^ (z & 1).cast_signed().wrapping_neg()
}

/// Width of the secret key's packed coefficients.
fn secret_width(coeffs: &[i64]) -> u32 {
    let max = coeffs.iter().map(|&c| zigzag(c)).fold(0, u64::max);
    bits_for(max.saturating_add(1))
}

/// Checks that `key` is a key-switching key over all of `params`' primes.
fn check_ksk(params: &RlweParams, key: &KeySwitchingKey) -> Result<()> {
    let (cq, cp) = (params.ctx_q(), params.ctx_p());
    let ok = key.digits.len() == params.digits_at(params.max_level()).len()
        && key.digits.iter().all(|(b, a)| {
            [&b.q, &a.q]
                .iter()
                .all(|x| **x.context() == **cq && x.limbs() == cq.len())
                && [&b.p, &a.p]
                    .iter()
                    .all(|x| **x.context() == **cp && x.limbs() == cp.len())
        });
    if ok {
        Ok(())
    } else {
        Err(Error::ContextMismatch)
    }
}

impl Encode for SecretKey {
    type Context = ();
    const KIND: ObjectKind = ObjectKind::SECRET_KEY;
    fn param_digest(&self, _: &()) -> Result<ParamDigest> {
        Ok(ParamDigest::of_ring(self.params()))
    }
    fn payload_len_hint(&self, _: &()) -> usize {
        1 + packed_len(self.params().degree(), secret_width(self.coefficients()))
    }
    fn encode_payload(&self, _: &(), w: &mut Writer) {
        let coeffs = self.coefficients();
        let width = secret_width(coeffs);
        let z: Zeroizing<Vec<u64>> = Zeroizing::new(coeffs.iter().map(|&c| zigzag(c)).collect());
        #[allow(clippy::cast_possible_truncation)]
        w.u8(width as u8); // 1..=64
        w.packed(&z, width);
    }
}

impl Decode for SecretKey {
    type Context = Arc<RlweParams>;
    const KIND: ObjectKind = ObjectKind::SECRET_KEY;
    fn expected_digest(ctx: &Arc<RlweParams>) -> Option<ParamDigest> {
        Some(ParamDigest::of_ring(ctx))
    }
    fn decode_payload(ctx: &Arc<RlweParams>, _: &ParamDigest, r: &mut Reader<'_>) -> Result<Self> {
        let width = u32::from(r.u8("secret key coefficient width")?);
        if !(1..=64).contains(&width) {
            return Err(invalid("secret key coefficient width outside 1..=64"));
        }
        let z = Zeroizing::new(r.packed(ctx.degree(), width, "secret key coefficients")?);
        let mut max = z.iter().copied().fold(0, u64::max);
        let minimal = bits_for(max.saturating_add(1)) == width;
        max.zeroize();
        if !minimal {
            return Err(invalid(
                "secret key coefficient width is not the smallest that fits (non-canonical)",
            ));
        }
        let coeffs: Zeroizing<Vec<i64>> = Zeroizing::new(z.iter().map(|&x| unzigzag(x)).collect());
        SecretKey::from_coefficients(ctx, &coeffs)
    }
}

impl SecretKey {
    /// Encodes the secret key (`docs/FORMAT.md`, kind `0x0030`): its signed coefficients,
    /// zigzag-mapped and packed at the smallest common width (2 bits for a ternary key). The
    /// buffer is zeroized when dropped.
    ///
    /// # Security
    /// The bytes are the secret: store or send them only encrypted.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(super::encode_owned(self))
    }

    /// Decodes a secret key for `params` (intermediate buffers are zeroized).
    ///
    /// # Errors
    /// Any [`WireError`](crate::error::WireError): wrong kind, parameters, width, padding.
    pub fn from_bytes(params: &Arc<RlweParams>, bytes: &[u8]) -> Result<Self> {
        super::decode(params, bytes)
    }
}

impl Encode for PublicKey {
    type Context = RlweParams;
    const KIND: ObjectKind = ObjectKind::PUBLIC_KEY;
    fn param_digest(&self, ctx: &RlweParams) -> Result<ParamDigest> {
        let cq = ctx.ctx_q();
        for x in [&self.a, &self.b] {
            if **x.context() != **cq || x.limbs() != cq.len() {
                return Err(Error::ContextMismatch);
            }
        }
        Ok(ParamDigest::of_ring(ctx))
    }
    fn payload_len_hint(&self, ctx: &RlweParams) -> usize {
        1 + 32 + 2 * poly_len(ctx.ctx_q().moduli(), ctx.degree())
    }
    fn encode_payload(&self, ctx: &RlweParams, w: &mut Writer) {
        let explicit = public_key_a(ctx.ctx_q(), &self.seed).map_or(true, |a| a != self.a);
        w.u8(if explicit { FLAG_EXPLICIT_A } else { 0 });
        w.bytes(&self.seed);
        w.poly(&self.b);
        if explicit {
            w.poly(&self.a);
        }
    }
}

impl Decode for PublicKey {
    type Context = RlweParams;
    const KIND: ObjectKind = ObjectKind::PUBLIC_KEY;
    fn expected_digest(ctx: &RlweParams) -> Option<ParamDigest> {
        Some(ParamDigest::of_ring(ctx))
    }
    fn decode_payload(ctx: &RlweParams, _: &ParamDigest, r: &mut Reader<'_>) -> Result<Self> {
        let explicit = r.flags(FLAG_EXPLICIT_A, "public key flags")? != 0;
        let seed = r.seed("public key seed")?;
        let cq = ctx.ctx_q();
        let b = r.poly(cq, cq.len(), "public key b")?;
        let a = if explicit {
            let a = r.poly(cq, cq.len(), "public key a")?;
            if a == public_key_a(cq, &seed)? {
                return Err(invalid(
                    "explicit public key a equals its seed's expansion (non-canonical)",
                ));
            }
            a
        } else {
            public_key_a(cq, &seed)?
        };
        Ok(Self { b, a, seed })
    }
}

impl PublicKey {
    /// Encodes the public key (`docs/FORMAT.md`, kind `0x0031`): `b` and the seed of `a`.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if the key does not belong to `params`.
    pub fn to_bytes(&self, params: &RlweParams) -> Result<Vec<u8>> {
        super::encode(self, params)
    }

    /// Decodes a public key for `params`.
    ///
    /// # Errors
    /// Any [`WireError`](crate::error::WireError).
    pub fn from_bytes(params: &RlweParams, bytes: &[u8]) -> Result<Self> {
        super::decode(params, bytes)
    }
}

impl Encode for RelinearizationKey {
    type Context = RlweParams;
    const KIND: ObjectKind = ObjectKind::RELINEARIZATION_KEY;
    fn param_digest(&self, ctx: &RlweParams) -> Result<ParamDigest> {
        check_ksk(ctx, &self.0)?;
        Ok(ParamDigest::of_ring(ctx))
    }
    fn payload_len_hint(&self, ctx: &RlweParams) -> usize {
        ksk_len(ctx, self.0.digits.len(), false)
    }
    fn encode_payload(&self, ctx: &RlweParams, w: &mut Writer) {
        write_ksk(ctx, &self.0, w);
    }
}

impl Decode for RelinearizationKey {
    type Context = RlweParams;
    const KIND: ObjectKind = ObjectKind::RELINEARIZATION_KEY;
    fn expected_digest(ctx: &RlweParams) -> Option<ParamDigest> {
        Some(ParamDigest::of_ring(ctx))
    }
    fn decode_payload(ctx: &RlweParams, _: &ParamDigest, r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self(read_ksk(ctx, r)?))
    }
}

impl RelinearizationKey {
    /// Encodes the relinearisation key (`docs/FORMAT.md`, kind `0x0032`): the `b_j` of each
    /// digit and the seed of the `a_j`.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if the key does not belong to `params`.
    pub fn to_bytes(&self, params: &RlweParams) -> Result<Vec<u8>> {
        super::encode(self, params)
    }

    /// Decodes a relinearisation key for `params`.
    ///
    /// # Errors
    /// Any [`WireError`](crate::error::WireError).
    pub fn from_bytes(params: &RlweParams, bytes: &[u8]) -> Result<Self> {
        super::decode(params, bytes)
    }
}

/// Reads and checks a Galois element: odd, in `[1, 2N)`.
pub(crate) fn read_element(params: &RlweParams, r: &mut Reader<'_>) -> Result<u64> {
    let g = r.u64("Galois element")?;
    if g % 2 == 0 || g >= 2 * params.degree() as u64 {
        return Err(invalid("Galois element must be odd and below 2N"));
    }
    Ok(g)
}

/// Writes one Galois key: element, then the key-switching key.
pub(crate) fn write_galois(params: &RlweParams, key: &GaloisKey, w: &mut Writer) {
    w.u64(key.element);
    write_ksk(params, &key.key, w);
}

/// Reads one Galois key written by [`write_galois`].
pub(crate) fn read_galois(params: &RlweParams, r: &mut Reader<'_>) -> Result<GaloisKey> {
    let element = read_element(params, r)?;
    let key = read_ksk(params, r)?;
    Ok(GaloisKey { element, key })
}

/// Checks that a Galois key belongs to `params`.
pub(crate) fn check_galois(params: &RlweParams, key: &GaloisKey) -> Result<()> {
    check_ksk(params, &key.key)
}

impl Encode for GaloisKey {
    type Context = RlweParams;
    const KIND: ObjectKind = ObjectKind::GALOIS_KEY;
    fn param_digest(&self, ctx: &RlweParams) -> Result<ParamDigest> {
        check_galois(ctx, self)?;
        Ok(ParamDigest::of_ring(ctx))
    }
    fn payload_len_hint(&self, ctx: &RlweParams) -> usize {
        8 + ksk_len(ctx, self.key.digits.len(), false)
    }
    fn encode_payload(&self, ctx: &RlweParams, w: &mut Writer) {
        write_galois(ctx, self, w);
    }
}

impl Decode for GaloisKey {
    type Context = RlweParams;
    const KIND: ObjectKind = ObjectKind::GALOIS_KEY;
    fn expected_digest(ctx: &RlweParams) -> Option<ParamDigest> {
        Some(ParamDigest::of_ring(ctx))
    }
    fn decode_payload(ctx: &RlweParams, _: &ParamDigest, r: &mut Reader<'_>) -> Result<Self> {
        read_galois(ctx, r)
    }
}

impl GaloisKey {
    /// Encodes the Galois key (`docs/FORMAT.md`, kind `0x0033`): its element and its seeded
    /// key-switching key.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if the key does not belong to `params`.
    pub fn to_bytes(&self, params: &RlweParams) -> Result<Vec<u8>> {
        super::encode(self, params)
    }

    /// Decodes a Galois key for `params`.
    ///
    /// # Errors
    /// Any [`WireError`](crate::error::WireError).
    pub fn from_bytes(params: &RlweParams, bytes: &[u8]) -> Result<Self> {
        super::decode(params, bytes)
    }
}

/// Writes a set of Galois keys (ascending elements): count, then each key.
pub(crate) fn write_galois_set<'a>(
    params: &RlweParams,
    keys: impl ExactSizeIterator<Item = &'a GaloisKey>,
    w: &mut Writer,
) {
    w.count(keys.len());
    for k in keys {
        write_galois(params, k, w);
    }
}

/// Reads a set of Galois keys, elements strictly increasing (canonical order, no repeats); the
/// count is checked against the remaining input before any key is read.
pub(crate) fn read_galois_set(params: &RlweParams, r: &mut Reader<'_>) -> Result<Vec<GaloisKey>> {
    let digits = params.digits_at(params.max_level()).len();
    let min_each = 8 + ksk_len(params, digits, false);
    // At most N distinct odd elements below 2N.
    let count = r.count(0, params.degree(), min_each, "number of Galois keys")?;
    let mut out: Vec<GaloisKey> = Vec::with_capacity(count);
    for _ in 0..count {
        let k = read_galois(params, r)?;
        if out.last().is_some_and(|prev| prev.element >= k.element) {
            return Err(invalid("Galois elements not strictly increasing"));
        }
        out.push(k);
    }
    Ok(out)
}
