//! Parameter sets on the wire: their canonical encoding, the [`ParamDigest`] every object
//! header carries, and the decoding of parameter objects under [`ParameterLimits`].

use super::{invalid, Decode, Encode, ObjectKind, Reader, Writer};
use crate::error::{Result, WireError};
use crate::params::SecurityLevel;
use crate::rlwe::RlweParams;
use crate::{bfv, ckks};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Domain-separation prefix of the parameter digest.
const DIGEST_PREFIX: &[u8] = b"migrationfhe/wire/v1/parameters\0";

/// Scheme byte of the canonical parameter encoding.
const SCHEME_RING: u8 = 0;
const SCHEME_BFV: u8 = 1;
const SCHEME_CKKS: u8 = 2;

/// SHA-256 over the canonical encoding of a parameter set (`docs/FORMAT.md`, "Parameters"):
/// scheme, security level, `log2 N`, `dnum`, every `q_i` and `p_i`, and `t` (BFV) or the scale
/// bits (CKKS). Keys carry the digest of their ring parameters (they serve both schemes);
/// plaintexts, ciphertexts and scheme parameters carry their scheme's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParamDigest([u8; 32]);

impl ParamDigest {
    /// A digest from its 32 bytes.
    pub const fn from_bytes(b: [u8; 32]) -> Self {
        Self(b)
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Digest of ring parameters (used by keys).
    pub fn of_ring(p: &RlweParams) -> Self {
        Self::of_canonical(&canonical_ring(p, SCHEME_RING))
    }

    /// Digest of BFV parameters.
    pub fn of_bfv(p: &bfv::Parameters) -> Self {
        Self::of_canonical(&canonical_bfv(p))
    }

    /// Digest of CKKS parameters.
    pub fn of_ckks(p: &ckks::Parameters) -> Self {
        Self::of_canonical(&canonical_ckks(p))
    }

    /// The digest of a canonical parameter encoding (the payload of a parameter object).
    pub fn of_canonical(canonical: &[u8]) -> Self {
        Self(
            Sha256::new()
                .chain_update(DIGEST_PREFIX)
                .chain_update(canonical)
                .finalize()
                .into(),
        )
    }
}

/// Bounds on decoded parameter sets, so that an untrusted peer cannot make the receiver build
/// huge NTT tables from a few bytes. The default admits everything the crate supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParameterLimits {
    /// Largest ring degree `N` accepted.
    pub max_degree: usize,
    /// Largest number of primes (ciphertext and special together) accepted.
    pub max_primes: usize,
}

impl Default for ParameterLimits {
    fn default() -> Self {
        Self {
            max_degree: crate::math::ntt::MAX_DEGREE,
            max_primes: crate::math::poly::MAX_PRIMES,
        }
    }
}

fn security_code(s: SecurityLevel) -> u8 {
    match s {
        SecurityLevel::InsecureForTesting => 0,
        SecurityLevel::Classic128 => 1,
        SecurityLevel::Classic192 => 2,
        SecurityLevel::Classic256 => 3,
        SecurityLevel::Quantum128 => 4,
    }
}

fn security_from_code(c: u8) -> Result<SecurityLevel> {
    Ok(match c {
        0 => SecurityLevel::InsecureForTesting,
        1 => SecurityLevel::Classic128,
        2 => SecurityLevel::Classic192,
        3 => SecurityLevel::Classic256,
        4 => SecurityLevel::Quantum128,
        _ => return Err(invalid("unknown security level code")),
    })
}

#[allow(clippy::cast_possible_truncation)]
fn canonical_ring(p: &RlweParams, scheme: u8) -> Vec<u8> {
    let q = p.q_moduli();
    let pp = p.p_moduli();
    let mut w = Writer::with_capacity(6 + 8 * (q.len() + pp.len()) + 8);
    w.u8(scheme);
    w.u8(security_code(p.security()));
    // Degrees are powers of two up to 2^17; at most 128 primes per context; dnum <= L.
    w.u8(p.degree().trailing_zeros() as u8);
    w.u8(p.dnum() as u8);
    w.u8(q.len() as u8);
    w.u8(pp.len() as u8);
    for x in q.iter().chain(&pp) {
        w.u64(*x);
    }
    w.into_bytes()
}

fn canonical_bfv(p: &bfv::Parameters) -> Vec<u8> {
    let mut v = canonical_ring(p.ring(), SCHEME_BFV);
    v.extend_from_slice(&p.plaintext_modulus().to_le_bytes());
    v
}

#[allow(clippy::cast_possible_truncation)]
fn canonical_ckks(p: &ckks::Parameters) -> Vec<u8> {
    let mut v = canonical_ring(p.rlwe(), SCHEME_CKKS);
    v.push(p.scale_bits() as u8);
    v
}

/// The fields of a canonical ring encoding.
struct RingFields {
    security: SecurityLevel,
    n: usize,
    dnum: usize,
    q: Vec<u64>,
    p: Vec<u64>,
}

fn read_ring(r: &mut Reader<'_>, scheme: u8, limits: &ParameterLimits) -> Result<RingFields> {
    if r.u8("scheme")? != scheme {
        return Err(invalid("scheme byte does not match the object kind"));
    }
    let security = security_from_code(r.u8("security level")?)?;
    let log_n = r.u8("log2 N")?;
    if !(1..=17).contains(&log_n) {
        return Err(invalid("log2 N outside 1..=17"));
    }
    let n = 1usize << log_n;
    if n > limits.max_degree {
        return Err(WireError::TooLarge {
            what: "ring degree",
            declared: n as u64,
            max: limits.max_degree as u64,
        }
        .into());
    }
    let dnum = usize::from(r.u8("dnum")?);
    let l = usize::from(r.u8("number of ciphertext primes")?);
    let k = usize::from(r.u8("number of special primes")?);
    if l == 0 || k == 0 {
        return Err(invalid("at least one ciphertext and one special prime"));
    }
    if l + k > limits.max_primes {
        return Err(WireError::TooLarge {
            what: "number of primes",
            declared: (l + k) as u64,
            max: limits.max_primes as u64,
        }
        .into());
    }
    if dnum == 0 || dnum > l {
        return Err(invalid("dnum outside 1..=L"));
    }
    r.need(8 * (l + k), "primes")?;
    let mut q = Vec::with_capacity(l);
    for _ in 0..l {
        q.push(r.u64("ciphertext prime")?);
    }
    let mut p = Vec::with_capacity(k);
    for _ in 0..k {
        p.push(r.u64("special prime")?);
    }
    Ok(RingFields {
        security,
        n,
        dnum,
        q,
        p,
    })
}

fn check_own_digest(header: &super::ParamDigest, built: super::ParamDigest) -> Result<()> {
    if *header != built {
        return Err(WireError::ParameterMismatch.into());
    }
    Ok(())
}

impl Encode for RlweParams {
    const KIND: ObjectKind = ObjectKind::RING_PARAMETERS;
    type Context = ();
    fn param_digest(&self, _: &()) -> Result<ParamDigest> {
        Ok(ParamDigest::of_ring(self))
    }
    fn encode_payload(&self, _: &(), w: &mut Writer) {
        w.bytes(&canonical_ring(self, SCHEME_RING));
    }
}

impl Decode for Arc<RlweParams> {
    type Context = ParameterLimits;
    const KIND: ObjectKind = ObjectKind::RING_PARAMETERS;
    fn expected_digest(_: &ParameterLimits) -> Option<ParamDigest> {
        None
    }
    fn decode_payload(
        limits: &ParameterLimits,
        digest: &ParamDigest,
        r: &mut Reader<'_>,
    ) -> Result<Self> {
        let f = read_ring(r, SCHEME_RING, limits)?;
        let p = RlweParams::new(f.n, &f.q, &f.p, f.dnum, f.security)?;
        check_own_digest(digest, ParamDigest::of_ring(&p))?;
        Ok(p)
    }
}

impl Encode for bfv::Parameters {
    const KIND: ObjectKind = ObjectKind::BFV_PARAMETERS;
    type Context = ();
    fn param_digest(&self, _: &()) -> Result<ParamDigest> {
        Ok(ParamDigest::of_bfv(self))
    }
    fn encode_payload(&self, _: &(), w: &mut Writer) {
        w.bytes(&canonical_bfv(self));
    }
}

impl Decode for Arc<bfv::Parameters> {
    type Context = ParameterLimits;
    const KIND: ObjectKind = ObjectKind::BFV_PARAMETERS;
    fn expected_digest(_: &ParameterLimits) -> Option<ParamDigest> {
        None
    }
    fn decode_payload(
        limits: &ParameterLimits,
        digest: &ParamDigest,
        r: &mut Reader<'_>,
    ) -> Result<Self> {
        let f = read_ring(r, SCHEME_BFV, limits)?;
        let t = r.u64("plaintext modulus")?;
        let mut b = bfv::Parameters::builder()
            .degree(f.n)
            .plaintext_modulus(t)
            .ciphertext_moduli(&f.q)
            .special_moduli(&f.p)
            .dnum(f.dnum)
            .security(f.security);
        if f.security == SecurityLevel::InsecureForTesting {
            b = b.allow_small_degree_for_testing();
        }
        let p = b.build()?;
        check_own_digest(digest, ParamDigest::of_bfv(&p))?;
        Ok(p)
    }
}

impl Encode for ckks::Parameters {
    const KIND: ObjectKind = ObjectKind::CKKS_PARAMETERS;
    type Context = ();
    fn param_digest(&self, _: &()) -> Result<ParamDigest> {
        Ok(ParamDigest::of_ckks(self))
    }
    fn encode_payload(&self, _: &(), w: &mut Writer) {
        w.bytes(&canonical_ckks(self));
    }
}

impl Decode for Arc<ckks::Parameters> {
    type Context = ParameterLimits;
    const KIND: ObjectKind = ObjectKind::CKKS_PARAMETERS;
    fn expected_digest(_: &ParameterLimits) -> Option<ParamDigest> {
        None
    }
    fn decode_payload(
        limits: &ParameterLimits,
        digest: &ParamDigest,
        r: &mut Reader<'_>,
    ) -> Result<Self> {
        let f = read_ring(r, SCHEME_CKKS, limits)?;
        let scale_bits = u32::from(r.u8("scale bits")?);
        if !(20..=ckks::MAX_SCALE_BITS).contains(&scale_bits) {
            return Err(invalid("CKKS scale bits outside 20..=120"));
        }
        let ring = RlweParams::new(f.n, &f.q, &f.p, f.dnum, f.security)?;
        let p = ckks::Parameters::from_rlwe(ring, scale_bits)?;
        check_own_digest(digest, ParamDigest::of_ckks(&p))?;
        Ok(p)
    }
}

impl RlweParams {
    /// Encodes the ring parameters (`docs/FORMAT.md`, kind `0x0001`).
    pub fn to_bytes(&self) -> Vec<u8> {
        super::encode_owned(self)
    }

    /// Decodes ring parameters, building them (and checking their security) as
    /// [`RlweParams::new`] does; sizes are bounded by `limits`.
    ///
    /// # Errors
    /// Any [`WireError`], or an error of [`RlweParams::new`].
    pub fn from_bytes(bytes: &[u8], limits: &ParameterLimits) -> Result<Arc<Self>> {
        super::decode(limits, bytes)
    }
}

impl bfv::Parameters {
    /// Encodes the parameters (`docs/FORMAT.md`, kind `0x0002`).
    pub fn to_bytes(&self) -> Vec<u8> {
        super::encode_owned(self)
    }

    /// Decodes BFV parameters, building them with the explicit primes and checking them as the
    /// builder does; sizes are bounded by `limits` (use `ParameterLimits::default()` to allow
    /// every supported size).
    ///
    /// # Errors
    /// Any [`WireError`], or an error of the builder (an insecure or
    /// malformed parameter set).
    pub fn from_bytes(bytes: &[u8], limits: &ParameterLimits) -> Result<Arc<Self>> {
        super::decode(limits, bytes)
    }
}

impl ckks::Parameters {
    /// Encodes the parameters (`docs/FORMAT.md`, kind `0x0003`).
    pub fn to_bytes(&self) -> Vec<u8> {
        super::encode_owned(self)
    }

    /// Decodes CKKS parameters (explicit primes, checked as [`RlweParams::new`] and
    /// [`ckks::Parameters::from_rlwe`] do); sizes are bounded by `limits`.
    ///
    /// # Errors
    /// Any [`WireError`], or an error of those constructors.
    pub fn from_bytes(bytes: &[u8], limits: &ParameterLimits) -> Result<Arc<Self>> {
        super::decode(limits, bytes)
    }
}
