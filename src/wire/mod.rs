//! The versioned binary wire format: a framed, checksummed, parameter-bound encoding of every
//! public object, with seeded and bit-packed polynomials and strict validation on decoding.
//! The byte layout is specified in `docs/FORMAT.md`; this module implements it.
//!
//! # Frame
//! Every object is `header ‖ payload ‖ checksum`:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `MFHE` |
//! | 4 | 2 | format version ([`FORMAT_VERSION`], little-endian) |
//! | 6 | 2 | object kind ([`ObjectKind`] code) |
//! | 8 | 32 | parameter digest ([`ParamDigest`]) |
//! | 40 | 8 | payload length `len` |
//! | 48 | `len` | payload (layout per kind) |
//! | 48 + `len` | 32 | SHA-256 of bytes `0 .. 48 + len` |
//!
//! The checksum (FIPS 180-4 SHA-256, through the RustCrypto `sha2` crate) detects transport
//! corruption; it is not authentication (who sent an object is for the signatures of the
//! analytics layer). The digest binds the object to its parameter set: decoding with other
//! parameters fails with [`WireError::ParameterMismatch`] instead of producing garbage.
//!
//! # Compactness
//! Residues modulo `q_i` are bit-packed at `ceil(log2 q_i)` bits ([`Writer::residues`]); the
//! uniform `a` of secret-key ciphertexts, public keys and key-switching keys is sent as the
//! 32-byte seed it was expanded from (`math::sampling::expand_seed`), so only the `b` parts
//! travel. A ciphertext can be switched to fewer primes before it is sent (BFV
//! `Evaluator::mod_switch_to_level`, CKKS rescaling or `Evaluator::drop_to_level`): its size
//! shrinks in proportion.
//!
//! # Decoding untrusted bytes
//! Decoders take the parameters the object must belong to and check, in this order: the header
//! length, magic, version, declared payload length against the actual input (no allocation
//! before that), the checksum, the kind, the parameter digest; then every payload field:
//! levels, degrees, counts (each checked against the remaining input before allocating), flags,
//! Galois elements, scales, and every residue `< q_i`. A violation is an
//! [`Error::Wire`] naming what was wrong ([`WireError`]); decoders never
//! panic (fuzzed: `fuzz/`).
//!
//! # Adding an object kind
//! Pick an unused code in the range of your layer ([`ObjectKind`]), implement [`Encode`] and
//! [`Decode`] with the field helpers of [`Writer`] and [`Reader`], document the payload in
//! `docs/FORMAT.md`, and add a fuzz target. Layouts are frozen once released: a change bumps
//! [`FORMAT_VERSION`].

mod bfv;
mod ckks;
mod io;
mod keys;
mod params;

pub use crate::error::WireError;
pub use io::{bits_for, packed_len, poly_len, Reader, Writer};
pub use params::{ParamDigest, ParameterLimits};

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};

/// The four bytes every object starts with.
pub const MAGIC: [u8; 4] = *b"MFHE";
/// The format version this build writes, and the only one it reads.
pub const FORMAT_VERSION: u16 = 1;
/// Bytes of the header (magic, version, kind, parameter digest, payload length).
pub const HEADER_LEN: usize = 48;
/// Bytes of the trailing checksum.
pub const CHECKSUM_LEN: usize = 32;

/// The kind of an encoded object: a 16-bit code written in the header and a name for error
/// messages. Codes are allocated by layer: `0x0001..=0x00ff` core objects (this module),
/// `0x0100..=0x01ff` threshold protocol messages, `0x0200..=0x02ff` analytics. Two kinds are
/// equal when their codes are.
#[derive(Clone, Copy, Debug)]
pub struct ObjectKind {
    code: u16,
    name: &'static str,
}

impl PartialEq for ObjectKind {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
    }
}
impl Eq for ObjectKind {}

impl ObjectKind {
    /// A kind with the given code and name.
    pub const fn new(code: u16, name: &'static str) -> Self {
        Self { code, name }
    }

    /// The code written in the header.
    pub const fn code(self) -> u16 {
        self.code
    }

    /// The name used in error messages.
    pub const fn name(self) -> &'static str {
        self.name
    }

    /// Ring parameters ([`RlweParams`](crate::rlwe::RlweParams)).
    pub const RING_PARAMETERS: Self = Self::new(0x0001, "ring parameters");
    /// BFV parameters.
    pub const BFV_PARAMETERS: Self = Self::new(0x0002, "BFV parameters");
    /// CKKS parameters.
    pub const CKKS_PARAMETERS: Self = Self::new(0x0003, "CKKS parameters");
    /// BFV plaintext.
    pub const BFV_PLAINTEXT: Self = Self::new(0x0010, "BFV plaintext");
    /// BFV ciphertext.
    pub const BFV_CIPHERTEXT: Self = Self::new(0x0011, "BFV ciphertext");
    /// CKKS plaintext.
    pub const CKKS_PLAINTEXT: Self = Self::new(0x0020, "CKKS plaintext");
    /// CKKS ciphertext.
    pub const CKKS_CIPHERTEXT: Self = Self::new(0x0021, "CKKS ciphertext");
    /// CKKS public key (modulo `Q` or `Q·P`).
    pub const CKKS_PUBLIC_KEY: Self = Self::new(0x0022, "CKKS public key");
    /// CKKS Galois key set.
    pub const CKKS_GALOIS_KEYS: Self = Self::new(0x0023, "CKKS Galois keys");
    /// BFV Galois key set.
    pub const BFV_GALOIS_KEYS: Self = Self::new(0x0013, "BFV Galois keys");
    /// Secret key.
    pub const SECRET_KEY: Self = Self::new(0x0030, "secret key");
    /// Public key (modulo `Q`, shared layer).
    pub const PUBLIC_KEY: Self = Self::new(0x0031, "public key");
    /// Relinearisation key.
    pub const RELINEARIZATION_KEY: Self = Self::new(0x0032, "relinearisation key");
    /// Galois key (one element).
    pub const GALOIS_KEY: Self = Self::new(0x0033, "Galois key");
}

/// An object with a wire encoding.
pub trait Encode {
    /// What encoding needs besides the object: the parameters it belongs to (`()` for objects
    /// that hold their parameters).
    type Context: ?Sized;
    /// The object's kind.
    const KIND: ObjectKind;

    /// Digest of the parameters the object belongs to, after checking that it belongs to
    /// `ctx`.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if the object was made for other parameters.
    fn param_digest(&self, ctx: &Self::Context) -> Result<ParamDigest>;

    /// Writes the payload (the layout of [`Self::KIND`] in `docs/FORMAT.md`); called only
    /// after [`Encode::param_digest`] succeeded.
    fn encode_payload(&self, ctx: &Self::Context, w: &mut Writer);

    /// Expected payload length, used to reserve the buffer once (0 if unknown). Objects that
    /// hold secrets return the exact length, so that the buffer is never reallocated (and no
    /// copy of the secret is left behind unzeroized).
    fn payload_len_hint(&self, ctx: &Self::Context) -> usize {
        let _ = ctx;
        0
    }
}

/// An object that can be decoded, and validated, against a context (its parameters).
pub trait Decode: Sized {
    /// What decoding needs: the parameters the object must belong to.
    type Context: ?Sized;
    /// The object's kind.
    const KIND: ObjectKind;

    /// The digest the header must carry for this context (`None`: the object carries its own
    /// parameters and checks the digest itself, as parameter objects do).
    fn expected_digest(ctx: &Self::Context) -> Option<ParamDigest>;

    /// Reads and validates the payload; `digest` is the header's.
    ///
    /// # Errors
    /// An [`Error::Wire`] naming the invalid field, or the error of the
    /// constructor the payload is given to.
    fn decode_payload(
        ctx: &Self::Context,
        digest: &ParamDigest,
        r: &mut Reader<'_>,
    ) -> Result<Self>;
}

/// Encodes `x`, which belongs to `ctx`: header, payload, checksum.
///
/// # Errors
/// [`Error::ContextMismatch`] if `x` does not belong to `ctx`.
pub fn encode<T: Encode + ?Sized>(x: &T, ctx: &T::Context) -> Result<Vec<u8>> {
    let digest = x.param_digest(ctx)?;
    let mut w = Writer::with_capacity(HEADER_LEN + x.payload_len_hint(ctx) + CHECKSUM_LEN);
    write_header(&mut w, T::KIND, &digest);
    let start = w.len();
    x.encode_payload(ctx, &mut w);
    Ok(finish_frame(w, start))
}

/// Decodes a `T` belonging to `ctx` from `bytes` (the whole input: trailing bytes are an
/// error).
///
/// # Errors
/// See the [module docs](self): any [`WireError`], or an error of the object's constructor.
pub fn decode<T: Decode>(ctx: &T::Context, bytes: &[u8]) -> Result<T> {
    let (digest, mut r) = open(bytes, T::KIND, T::expected_digest(ctx).as_ref())?;
    let x = T::decode_payload(ctx, &digest, &mut r)?;
    r.finish()?;
    Ok(x)
}

/// Frames a payload written by `f`: the low-level form of [`encode`] for message types that do
/// not implement [`Encode`].
pub fn seal(kind: ObjectKind, digest: &ParamDigest, f: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut w = Writer::default();
    write_header(&mut w, kind, digest);
    let start = w.len();
    f(&mut w);
    finish_frame(w, start)
}

/// Encodes an object that holds its own parameters (`Context = ()`): cannot fail.
pub(crate) fn encode_owned<T: Encode<Context = ()>>(x: &T) -> Vec<u8> {
    let mut w = Writer::with_capacity(HEADER_LEN + x.payload_len_hint(&()) + CHECKSUM_LEN);
    // `param_digest` of a self-contained object does not fail; a default digest would only
    // make the receiver refuse the object.
    let digest = x
        .param_digest(&())
        .unwrap_or(ParamDigest::from_bytes([0; 32]));
    write_header(&mut w, T::KIND, &digest);
    let start = w.len();
    x.encode_payload(&(), &mut w);
    finish_frame(w, start)
}

fn write_header(w: &mut Writer, kind: ObjectKind, digest: &ParamDigest) {
    w.bytes(&MAGIC);
    w.u16(FORMAT_VERSION);
    w.u16(kind.code());
    w.bytes(digest.as_bytes());
    w.u64(0); // payload length, patched by `finish_frame`
}

fn finish_frame(w: Writer, start: usize) -> Vec<u8> {
    let mut buf = w.into_bytes();
    let len = (buf.len() - start) as u64;
    buf[40..48].copy_from_slice(&len.to_le_bytes());
    let sum = Sha256::digest(&buf);
    buf.extend_from_slice(&sum);
    buf
}

/// Checks the frame of `bytes` (header, lengths, checksum, kind and, if given, the parameter
/// digest) and returns the header's digest and a [`Reader`] over the payload. The low-level
/// form of [`decode`]: call [`Reader::finish`] after reading the payload.
///
/// # Errors
/// [`WireError::Truncated`] (header or payload shorter than declared),
/// [`WireError::BadMagic`], [`WireError::UnsupportedVersion`], [`WireError::TrailingBytes`],
/// [`WireError::ChecksumMismatch`], [`WireError::WrongKind`], [`WireError::ParameterMismatch`].
pub fn open<'a>(
    bytes: &'a [u8],
    kind: ObjectKind,
    expected: Option<&ParamDigest>,
) -> Result<(ParamDigest, Reader<'a>)> {
    let available = bytes.len() as u64;
    let (header, rest) = bytes
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(WireError::Truncated {
            what: "header",
            needed: HEADER_LEN as u64,
            available,
        })?;
    if header[0..4] != MAGIC {
        return Err(WireError::BadMagic.into());
    }
    let version = u16::from_le_bytes([header[4], header[5]]);
    if version != FORMAT_VERSION {
        return Err(WireError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        }
        .into());
    }
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(&header[40..48]);
    let len = u64::from_le_bytes(len_bytes);
    let needed = (HEADER_LEN as u64 + CHECKSUM_LEN as u64).saturating_add(len);
    if needed > available {
        return Err(WireError::Truncated {
            what: "payload",
            needed,
            available,
        }
        .into());
    }
    if needed < available {
        return Err(WireError::TrailingBytes {
            extra: available - needed,
        }
        .into());
    }
    // `needed == available`, so `len` fits in usize.
    let len = rest.len() - CHECKSUM_LEN;
    let (payload, sum) = rest.split_at(len);
    let computed = Sha256::new()
        .chain_update(header)
        .chain_update(payload)
        .finalize();
    if !bool::from(subtle::ConstantTimeEq::ct_eq(&computed[..], sum)) {
        return Err(WireError::ChecksumMismatch.into());
    }
    let code = u16::from_le_bytes([header[6], header[7]]);
    if code != kind.code() {
        return Err(WireError::WrongKind {
            expected: kind.name(),
            found: code,
        }
        .into());
    }
    let mut d = [0u8; 32];
    d.copy_from_slice(&header[8..40]);
    let digest = ParamDigest::from_bytes(d);
    if let Some(e) = expected {
        if *e != digest {
            return Err(WireError::ParameterMismatch.into());
        }
    }
    Ok((digest, Reader::new(payload)))
}

/// The object kind code in the header of `bytes`, if the input is long enough and starts with
/// the magic (no other check: use it to dispatch, then decode).
pub fn peek_kind(bytes: &[u8]) -> Option<u16> {
    if bytes.len() < HEADER_LEN || bytes[0..4] != MAGIC {
        return None;
    }
    Some(u16::from_le_bytes([bytes[6], bytes[7]]))
}

/// Shorthand for an [`Error::Wire`] with [`WireError::Invalid`].
pub(crate) fn invalid(what: &'static str) -> Error {
    Error::Wire(WireError::Invalid { what })
}
