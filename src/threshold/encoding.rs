//! Wire encodings of every threshold message and of a party's state (`docs/FORMAT.md`,
//! kinds `0x0101..=0x010e`), so that each party can be a separate process exchanging files.
//!
//! Every object is a [`wire`](crate::wire::encode) frame (magic, version, kind, parameter digest,
//! payload, SHA-256). Shares start with their [`ShareHeader`]: protocol kind (`u8`), instance
//! or ciphertext digest (32 bytes), active-set digest (32 bytes), sender id (`u32`). Residues are
//! bit-packed at `ceil(log2 q_i)` bits; common reference polynomials are never sent (they are
//! re-expanded from the instance id). Decoding checks the frame, the kind, the parameter digest,
//! every count against the parameters (digits, levels) before allocating, every residue
//! `< q_i`, ids non-zero, and refuses trailing bytes.
//!
//! Layouts (after the frame header):
//!
//! | kind | object | payload |
//! |---|---|---|
//! | `0x0101` | [`PublicKeyShare`] | header, `b` (all `Q` primes) |
//! | `0x0102` | [`RelinRound1Share`] | header, `u8` digits, per digit `h0` (`Q`,`P`), then one `h1` (`Q`,`P`) |
//! | `0x0103` | [`RelinRound1Aggregate`] | instance, set, `u8` digits, per digit `d = h0 - a` (`Q`,`P`), then `h1` |
//! | `0x0104` | [`RelinRound2Share`] | header, `u8` digits, per digit `b` (`Q`,`P`) |
//! | `0x0105` | [`GaloisKeyShare`] | header, `u64` element, `u8` digits, per digit (`Q`,`P`) |
//! | `0x0106` | [`DecryptionShare`] | header, `u8` level, share (NTT, `level` primes) |
//! | `0x0107` | [`PkSwitchShare`] | header, `u8` level, `h0`, `h1` |
//! | `0x0108` | [`SealedShare`] | instance, committee, sender, receiver, ephemeral key, `u32` length, AEAD bytes |
//! | `0x0109` | [`PartySecret`] (secret) | committee, id, `u8` form: 0 additive (`N` 2-bit `s+1`), 1 Shamir (`QP` residues) |
//! | `0x010a` | [`RelinEphemeral`] (secret) | instance, set, party, `u8` digits, per digit `N` 2-bit `u+1` |
//! | `0x010b` | [`Committee`] | `u32` threshold, `u32` count, ids |
//! | `0x010c` | [`ActiveSet`] | committee, `u32` count, ids |
//! | `0x010d` | [`TransportKey`] (secret) | 32-byte X25519 secret |
//! | `0x010e` | [`Crs`] | 32-byte seed |
//!
//! Parameter-independent objects (committee, set, transport key, CRS) carry an all-zero
//! parameter digest.

use super::common::{ActiveSet, Committee, Crs, PartyId, ProtocolKind, ShareHeader};
use super::decrypt::{DecryptionShare, PkSwitchShare};
use super::keygen::{
    GaloisKeyShare, PublicKeyShare, RelinEphemeral, RelinRound1Aggregate, RelinRound1Share,
    RelinRound2Share,
};
use super::secret::{PartySecret, SecretQp};
use super::shamir::{SealedShare, TransportKey};
use crate::error::{Error, Result, WireError};
use crate::math::poly::{Ntt, Poly};
use crate::rlwe::{PolyQP, RlweParams};
use crate::wire::{self, ObjectKind, ParamDigest, Reader, Writer};
use std::sync::Arc;
use zeroize::Zeroizing;

/// `0x0101`.
pub const KIND_PK_SHARE: ObjectKind = ObjectKind::new(0x0101, "threshold public-key share");
/// `0x0102`.
pub const KIND_RELIN_ROUND1: ObjectKind =
    ObjectKind::new(0x0102, "threshold relinearisation round-1 share");
/// `0x0103`.
pub const KIND_RELIN_ROUND1_AGG: ObjectKind =
    ObjectKind::new(0x0103, "threshold relinearisation round-1 aggregate");
/// `0x0104`.
pub const KIND_RELIN_ROUND2: ObjectKind =
    ObjectKind::new(0x0104, "threshold relinearisation round-2 share");
/// `0x0105`.
pub const KIND_GALOIS_SHARE: ObjectKind = ObjectKind::new(0x0105, "threshold Galois-key share");
/// `0x0106`.
pub const KIND_DECRYPTION_SHARE: ObjectKind = ObjectKind::new(0x0106, "threshold decryption share");
/// `0x0107`.
pub const KIND_PK_SWITCH_SHARE: ObjectKind =
    ObjectKind::new(0x0107, "threshold public-key-switch share");
/// `0x0108`.
pub const KIND_SEALED_SHARE: ObjectKind = ObjectKind::new(0x0108, "threshold sealed share");
/// `0x0109`.
pub const KIND_PARTY_SECRET: ObjectKind = ObjectKind::new(0x0109, "threshold party secret");
/// `0x010a`.
pub const KIND_RELIN_EPHEMERAL: ObjectKind =
    ObjectKind::new(0x010a, "threshold relinearisation ephemeral secret");
/// `0x010b`.
pub const KIND_COMMITTEE: ObjectKind = ObjectKind::new(0x010b, "threshold committee");
/// `0x010c`.
pub const KIND_ACTIVE_SET: ObjectKind = ObjectKind::new(0x010c, "threshold active set");
/// `0x010d`.
pub const KIND_TRANSPORT_KEY: ObjectKind = ObjectKind::new(0x010d, "threshold transport key");
/// `0x010e`.
pub const KIND_CRS: ObjectKind = ObjectKind::new(0x010e, "threshold CRS");

const NO_PARAMS: [u8; 32] = [0; 32];

fn invalid(what: &'static str) -> Error {
    WireError::Invalid { what }.into()
}

fn qp_moduli_len(params: &RlweParams) -> usize {
    wire::poly_len(params.ctx_q().moduli(), params.degree())
        + wire::poly_len(params.ctx_p().moduli(), params.degree())
}

// ---- field helpers -----------------------------------------------------------------------

fn w_header(w: &mut Writer, h: &ShareHeader) {
    w.u8(h.kind.code());
    w.bytes(&h.instance);
    w.bytes(&h.set);
    w.u32(h.party.get());
}

fn r_party(r: &mut Reader<'_>, what: &'static str) -> Result<PartyId> {
    PartyId::new(r.u32(what)?).map_err(|_| invalid("party id 0"))
}

fn r_header(r: &mut Reader<'_>, kind: ProtocolKind) -> Result<ShareHeader> {
    let k = ProtocolKind::from_code(r.u8("protocol kind")?)
        .map_err(|_| invalid("unknown protocol kind"))?;
    if k != kind {
        return Err(invalid("protocol kind does not match the object kind"));
    }
    Ok(ShareHeader {
        kind,
        instance: r.seed("instance")?,
        set: r.seed("active set")?,
        party: r_party(r, "party id")?,
    })
}

fn check_full_q(params: &RlweParams, p: &Poly<Ntt>) -> Result<()> {
    super::common::check_q(params, p)?;
    if p.limbs() != params.max_level() {
        return Err(Error::ContextMismatch);
    }
    Ok(())
}

fn w_qp(w: &mut Writer, x: &PolyQP) {
    w.poly(&x.q);
    w.poly(&x.p);
}

fn r_qp(params: &RlweParams, r: &mut Reader<'_>, what: &'static str) -> Result<PolyQP> {
    let (cq, cp) = (params.ctx_q(), params.ctx_p());
    Ok(PolyQP {
        q: r.poly(cq, cq.len(), what)?,
        p: r.poly(cp, cp.len(), what)?,
    })
}

fn check_digits(params: &RlweParams, d: &[PolyQP]) -> Result<()> {
    if d.len() != params.digits_at(params.max_level()).len() {
        return Err(Error::ContextMismatch);
    }
    d.iter()
        .try_for_each(|x| super::common::check_qp(params, x))
}

fn w_digits(w: &mut Writer, d: &[PolyQP]) {
    #[allow(clippy::cast_possible_truncation)]
    w.u8(d.len() as u8); // at most 128 digits
}

/// Reads the digit count (must equal the parameters') and checks that `per_digit` polynomials
/// over `QP` fit in the remaining input.
fn r_digit_count(params: &RlweParams, r: &mut Reader<'_>, per_digit: usize) -> Result<usize> {
    let d = usize::from(r.u8("number of digits")?);
    if d != params.digits_at(params.max_level()).len() {
        return Err(invalid(
            "number of digits differs from the parameters' dnum",
        ));
    }
    r.need(d * per_digit * qp_moduli_len(params), "digits")?;
    Ok(d)
}

fn r_level(params: &RlweParams, r: &mut Reader<'_>) -> Result<usize> {
    let l = usize::from(r.u8("level")?);
    if l == 0 || l > params.max_level() {
        return Err(invalid("level outside the modulus chain"));
    }
    Ok(l)
}

fn open<'a>(params: Option<&RlweParams>, bytes: &'a [u8], kind: ObjectKind) -> Result<Reader<'a>> {
    let digest = params.map_or(ParamDigest::from_bytes(NO_PARAMS), ParamDigest::of_ring);
    Ok(wire::open(bytes, kind, Some(&digest))?.1)
}

fn seal(params: Option<&RlweParams>, kind: ObjectKind, f: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let digest = params.map_or(ParamDigest::from_bytes(NO_PARAMS), ParamDigest::of_ring);
    wire::seal(kind, &digest, f)
}

// ---- shares ------------------------------------------------------------------------------

impl PublicKeyShare {
    /// Encodes the share (kind `0x0101`).
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if the share is not over `params`.
    pub fn to_bytes(&self, params: &RlweParams) -> Result<Vec<u8>> {
        check_full_q(params, &self.b)?;
        Ok(seal(Some(params), KIND_PK_SHARE, |w| {
            w_header(w, &self.header);
            w.poly(&self.b);
        }))
    }

    /// Decodes a share for `params`.
    ///
    /// # Errors
    /// Any [`WireError`] (frame, digest, kind, residues, trailing bytes).
    pub fn from_bytes(params: &RlweParams, bytes: &[u8]) -> Result<Self> {
        let mut r = open(Some(params), bytes, KIND_PK_SHARE)?;
        let header = r_header(&mut r, ProtocolKind::PublicKey)?;
        let cq = params.ctx_q();
        let b = r.poly(cq, cq.len(), "public-key share")?;
        r.finish()?;
        Ok(Self { header, b })
    }
}

impl RelinRound1Share {
    /// Encodes the share (kind `0x0102`).
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if the share is not over `params`.
    pub fn to_bytes(&self, params: &RlweParams) -> Result<Vec<u8>> {
        check_digits(params, &self.h0)?;
        super::common::check_qp(params, &self.h1)?;
        Ok(seal(Some(params), KIND_RELIN_ROUND1, |w| {
            w_header(w, &self.header);
            w_digits(w, &self.h0);
            for a in &self.h0 {
                w_qp(w, a);
            }
            w_qp(w, &self.h1);
        }))
    }

    /// Decodes a share for `params`.
    ///
    /// # Errors
    /// Any [`WireError`].
    pub fn from_bytes(params: &RlweParams, bytes: &[u8]) -> Result<Self> {
        let mut r = open(Some(params), bytes, KIND_RELIN_ROUND1)?;
        let header = r_header(&mut r, ProtocolKind::RelinRound1)?;
        let d = r_digit_count(params, &mut r, 1)?;
        let h0 = (0..d)
            .map(|_| r_qp(params, &mut r, "round-1 h0"))
            .collect::<Result<Vec<_>>>()?;
        let h1 = r_qp(params, &mut r, "round-1 h1")?;
        r.finish()?;
        Ok(Self { header, h0, h1 })
    }
}

impl RelinRound1Aggregate {
    /// Encodes the aggregate (kind `0x0103`).
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if it is not over `params`.
    pub fn to_bytes(&self, params: &RlweParams) -> Result<Vec<u8>> {
        check_digits(params, &self.h0)?;
        super::common::check_qp(params, &self.h1)?;
        Ok(seal(Some(params), KIND_RELIN_ROUND1_AGG, |w| {
            w.bytes(&self.instance);
            w.bytes(&self.set);
            w_digits(w, &self.h0);
            for a in &self.h0 {
                w_qp(w, a);
            }
            w_qp(w, &self.h1);
        }))
    }

    /// Decodes an aggregate for `params`.
    ///
    /// # Errors
    /// Any [`WireError`].
    pub fn from_bytes(params: &RlweParams, bytes: &[u8]) -> Result<Self> {
        let mut r = open(Some(params), bytes, KIND_RELIN_ROUND1_AGG)?;
        let instance = r.seed("instance")?;
        let set = r.seed("active set")?;
        let d = r_digit_count(params, &mut r, 1)?;
        let h0 = (0..d)
            .map(|_| r_qp(params, &mut r, "round-1 aggregate d"))
            .collect::<Result<Vec<_>>>()?;
        let h1 = r_qp(params, &mut r, "round-1 aggregate h1")?;
        r.finish()?;
        Ok(Self {
            instance,
            set,
            h0,
            h1,
        })
    }
}

impl RelinRound2Share {
    /// Encodes the share (kind `0x0104`).
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if the share is not over `params`.
    pub fn to_bytes(&self, params: &RlweParams) -> Result<Vec<u8>> {
        check_digits(params, &self.b)?;
        Ok(seal(Some(params), KIND_RELIN_ROUND2, |w| {
            w_header(w, &self.header);
            w_digits(w, &self.b);
            for x in &self.b {
                w_qp(w, x);
            }
        }))
    }

    /// Decodes a share for `params`.
    ///
    /// # Errors
    /// Any [`WireError`].
    pub fn from_bytes(params: &RlweParams, bytes: &[u8]) -> Result<Self> {
        let mut r = open(Some(params), bytes, KIND_RELIN_ROUND2)?;
        let header = r_header(&mut r, ProtocolKind::RelinRound2)?;
        let d = r_digit_count(params, &mut r, 1)?;
        let b = (0..d)
            .map(|_| r_qp(params, &mut r, "round-2 share"))
            .collect::<Result<Vec<_>>>()?;
        r.finish()?;
        Ok(Self { header, b })
    }
}

impl GaloisKeyShare {
    /// Encodes the share (kind `0x0105`).
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if the share is not over `params`.
    pub fn to_bytes(&self, params: &RlweParams) -> Result<Vec<u8>> {
        check_digits(params, &self.digits)?;
        Ok(seal(Some(params), KIND_GALOIS_SHARE, |w| {
            w_header(w, &self.header);
            w.u64(self.element);
            w_digits(w, &self.digits);
            for x in &self.digits {
                w_qp(w, x);
            }
        }))
    }

    /// Decodes a share for `params`.
    ///
    /// # Errors
    /// Any [`WireError`]; an even Galois element or one outside `[3, 2N)`.
    pub fn from_bytes(params: &RlweParams, bytes: &[u8]) -> Result<Self> {
        let mut r = open(Some(params), bytes, KIND_GALOIS_SHARE)?;
        let header = r_header(&mut r, ProtocolKind::Galois)?;
        let element = r.u64("Galois element")?;
        let two_n = 2 * params.degree() as u64;
        if element.is_multiple_of(2) || element <= 1 || element >= two_n {
            return Err(invalid("Galois element must be odd, in [3, 2N)"));
        }
        let d = r_digit_count(params, &mut r, 1)?;
        let digits = (0..d)
            .map(|_| r_qp(params, &mut r, "Galois share"))
            .collect::<Result<Vec<_>>>()?;
        r.finish()?;
        Ok(Self {
            header,
            element,
            digits,
        })
    }
}

impl DecryptionShare {
    /// Encodes the share (kind `0x0106`).
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if the share is not over `params`.
    pub fn to_bytes(&self, params: &RlweParams) -> Result<Vec<u8>> {
        super::common::check_q(params, &self.share)?;
        Ok(seal(Some(params), KIND_DECRYPTION_SHARE, |w| {
            w_header(w, &self.header);
            #[allow(clippy::cast_possible_truncation)]
            w.u8(self.share.limbs() as u8);
            w.poly(&self.share);
        }))
    }

    /// Decodes a share for `params`.
    ///
    /// # Errors
    /// Any [`WireError`].
    pub fn from_bytes(params: &RlweParams, bytes: &[u8]) -> Result<Self> {
        let mut r = open(Some(params), bytes, KIND_DECRYPTION_SHARE)?;
        let header = r_header(&mut r, ProtocolKind::Decryption)?;
        let l = r_level(params, &mut r)?;
        let share = r.poly(params.ctx_q(), l, "decryption share")?;
        r.finish()?;
        Ok(Self { header, share })
    }
}

impl PkSwitchShare {
    /// Encodes the share (kind `0x0107`).
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if the share is not over `params`.
    pub fn to_bytes(&self, params: &RlweParams) -> Result<Vec<u8>> {
        super::common::check_q(params, &self.h0)?;
        super::common::check_q(params, &self.h1)?;
        if self.h0.limbs() != self.h1.limbs() {
            return Err(Error::ContextMismatch);
        }
        Ok(seal(Some(params), KIND_PK_SWITCH_SHARE, |w| {
            w_header(w, &self.header);
            #[allow(clippy::cast_possible_truncation)]
            w.u8(self.h0.limbs() as u8);
            w.poly(&self.h0);
            w.poly(&self.h1);
        }))
    }

    /// Decodes a share for `params`.
    ///
    /// # Errors
    /// Any [`WireError`].
    pub fn from_bytes(params: &RlweParams, bytes: &[u8]) -> Result<Self> {
        let mut r = open(Some(params), bytes, KIND_PK_SWITCH_SHARE)?;
        let header = r_header(&mut r, ProtocolKind::PublicKeySwitch)?;
        let l = r_level(params, &mut r)?;
        let h0 = r.poly(params.ctx_q(), l, "public-key-switch h0")?;
        let h1 = r.poly(params.ctx_q(), l, "public-key-switch h1")?;
        r.finish()?;
        Ok(Self { header, h0, h1 })
    }
}

impl SealedShare {
    /// Encodes the sealed message (kind `0x0108`; bound to `params` because its plaintext is
    /// one `R_QP` element of them).
    pub fn to_bytes(&self, params: &RlweParams) -> Vec<u8> {
        seal(Some(params), KIND_SEALED_SHARE, |w| {
            w.bytes(&self.instance);
            w.bytes(&self.committee);
            w.u32(self.sender.get());
            w.u32(self.receiver.get());
            w.bytes(&self.ephemeral);
            #[allow(clippy::cast_possible_truncation)]
            w.u32(self.ciphertext.len() as u32);
            w.bytes(&self.ciphertext);
        })
    }

    /// Decodes a sealed message for `params` (its length must be that of one `R_QP` element
    /// plus the 16-byte tag).
    ///
    /// # Errors
    /// Any [`WireError`].
    pub fn from_bytes(params: &RlweParams, bytes: &[u8]) -> Result<Self> {
        let mut r = open(Some(params), bytes, KIND_SEALED_SHARE)?;
        let instance = r.seed("instance")?;
        let committee = r.seed("committee")?;
        let sender = r_party(&mut r, "sender")?;
        let receiver = r_party(&mut r, "receiver")?;
        let ephemeral = r.seed("ephemeral key")?;
        let len = r.u32("sealed length")? as usize;
        let expected = (params.max_level() + params.ctx_p().len()) * params.degree() * 8 + 16;
        if len != expected {
            return Err(invalid("sealed share length differs from one R_QP element"));
        }
        let ciphertext = r.bytes(len, "sealed bytes")?.to_vec();
        r.finish()?;
        Ok(Self {
            instance,
            committee,
            sender,
            receiver,
            ephemeral,
            ciphertext,
        })
    }
}

// ---- public setup objects -------------------------------------------------------------------

fn w_ids(w: &mut Writer, ids: &[PartyId]) {
    w.count(ids.len());
    for id in ids {
        w.u32(id.get());
    }
}

fn r_ids(r: &mut Reader<'_>) -> Result<Vec<PartyId>> {
    let c = r.count(1, super::common::MAX_PARTIES, 4, "party count")?;
    (0..c).map(|_| r_party(r, "party id")).collect()
}

fn w_committee(w: &mut Writer, c: &Committee) {
    #[allow(clippy::cast_possible_truncation)]
    w.u32(c.threshold() as u32);
    w_ids(w, c.ids());
}

fn r_committee(r: &mut Reader<'_>) -> Result<Committee> {
    let t = r.u32("threshold")? as usize;
    let ids = r_ids(r)?;
    let c = Committee::new(&ids, t).map_err(|_| invalid("committee"))?;
    if c.ids() != ids.as_slice() {
        return Err(invalid("committee ids not sorted (non-canonical)"));
    }
    Ok(c)
}

impl Committee {
    /// Encodes the committee (kind `0x010b`).
    pub fn to_bytes(&self) -> Vec<u8> {
        seal(None, KIND_COMMITTEE, |w| w_committee(w, self))
    }

    /// Decodes a committee.
    ///
    /// # Errors
    /// Any [`WireError`]; an invalid committee (repeated or zero ids, bad threshold).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = open(None, bytes, KIND_COMMITTEE)?;
        let c = r_committee(&mut r)?;
        r.finish()?;
        Ok(c)
    }
}

impl ActiveSet {
    /// Encodes the set with its committee (kind `0x010c`).
    ///
    /// # Errors
    /// [`ThresholdError::InvalidParticipants`](crate::error::ThresholdError) if `committee` is
    /// not the set's.
    pub fn to_bytes(&self, committee: &Committee) -> Result<Vec<u8>> {
        if committee.digest() != self.committee_digest() {
            return Err(crate::error::ThresholdError::InvalidParticipants {
                reason: "the set belongs to another committee",
            }
            .into());
        }
        Ok(seal(None, KIND_ACTIVE_SET, |w| {
            w_committee(w, committee);
            w_ids(w, self.ids());
        }))
    }

    /// Decodes a set and its committee.
    ///
    /// # Errors
    /// Any [`WireError`]; an invalid set (ids outside the committee, fewer than `t`).
    pub fn from_bytes(bytes: &[u8]) -> Result<(Committee, Self)> {
        let mut r = open(None, bytes, KIND_ACTIVE_SET)?;
        let c = r_committee(&mut r)?;
        let ids = r_ids(&mut r)?;
        r.finish()?;
        let s = ActiveSet::new(&c, &ids)?;
        if s.ids() != ids.as_slice() {
            return Err(invalid("set ids not sorted (non-canonical)"));
        }
        Ok((c, s))
    }
}

impl Crs {
    /// Encodes the CRS (kind `0x010e`).
    pub fn to_bytes(&self) -> Vec<u8> {
        seal(None, KIND_CRS, |w| w.bytes(self.seed()))
    }

    /// Decodes a CRS.
    ///
    /// # Errors
    /// Any [`WireError`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = open(None, bytes, KIND_CRS)?;
        let s = r.seed("CRS seed")?;
        r.finish()?;
        Ok(Crs::new(s))
    }
}

// ---- secrets --------------------------------------------------------------------------------

fn w_ternary(w: &mut Writer, c: &[i64]) {
    let v: Zeroizing<Vec<u64>> = Zeroizing::new(
        c.iter()
            .map(|&x| u64::try_from(x + 1).unwrap_or(0))
            .collect(),
    );
    w.packed(&v, 2);
}

fn r_ternary(r: &mut Reader<'_>, n: usize) -> Result<Zeroizing<Vec<i64>>> {
    let mut v = Zeroizing::new(r.packed(n, 2, "ternary coefficients")?);
    if v.iter().any(|&x| x > 2) {
        return Err(invalid("ternary coefficient out of range"));
    }
    let out = Zeroizing::new(
        v.iter()
            .map(|&x| i64::try_from(x).unwrap_or(0) - 1)
            .collect(),
    );
    zeroize::Zeroize::zeroize(&mut *v);
    Ok(out)
}

impl wire::Encode for PartySecret {
    type Context = ();
    const KIND: ObjectKind = KIND_PARTY_SECRET;
    fn param_digest(&self, _: &()) -> Result<ParamDigest> {
        Ok(ParamDigest::of_ring(&self.params))
    }
    fn payload_len_hint(&self, _: &()) -> usize {
        let share = match &self.small {
            Some(_) => wire::packed_len(self.params.degree(), 2),
            None => qp_moduli_len(&self.params),
        };
        4 + 4 + 4 * self.committee.len() + 4 + 1 + share
    }
    fn encode_payload(&self, _: &(), w: &mut Writer) {
        w_committee(w, &self.committee);
        w.u32(self.id.get());
        match &self.small {
            Some(c) => {
                w.u8(0);
                w_ternary(w, c);
            }
            None => {
                w.u8(1);
                w_qp(w, &self.share.0);
            }
        }
    }
}

impl PartySecret {
    /// Encodes the party's state (kind `0x0109`): committee, id and share. **Secret**: store
    /// it encrypted at rest; the buffer is wiped when dropped (it is written at its final size,
    /// so no reallocation leaves a copy behind).
    ///
    /// # Errors
    /// Not expected.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        wire::encode(self, &()).map(Zeroizing::new)
    }

    /// Decodes a party's state for `params`.
    ///
    /// # Errors
    /// Any [`WireError`]; an id outside the committee; an additive share for a committee with
    /// `t < n`.
    pub fn from_bytes(params: &Arc<RlweParams>, bytes: &[u8]) -> Result<Self> {
        let mut r = open(Some(params), bytes, KIND_PARTY_SECRET)?;
        let committee = r_committee(&mut r)?;
        let id = r_party(&mut r, "party id")?;
        let form = r.flags(1, "share form")?;
        let out = if form == 0 {
            let c = r_ternary(&mut r, params.degree())?;
            PartySecret::from_small(params, &committee, id, c)?
        } else {
            if !committee.contains(id) {
                return Err(invalid("party id not in the committee"));
            }
            let s = r_qp(params, &mut r, "Shamir share")?;
            PartySecret {
                params: Arc::clone(params),
                committee,
                id,
                share: SecretQp(s),
                small: None,
            }
        };
        r.finish()?;
        Ok(out)
    }
}

impl wire::Encode for RelinEphemeral {
    type Context = RlweParams;
    const KIND: ObjectKind = KIND_RELIN_EPHEMERAL;
    fn param_digest(&self, ctx: &RlweParams) -> Result<ParamDigest> {
        if self.coeffs.len() != ctx.digits_at(ctx.max_level()).len()
            || self.coeffs.iter().any(|c| c.len() != ctx.degree())
        {
            return Err(Error::ContextMismatch);
        }
        Ok(ParamDigest::of_ring(ctx))
    }
    fn payload_len_hint(&self, ctx: &RlweParams) -> usize {
        32 + 32 + 4 + 1 + self.coeffs.len() * wire::packed_len(ctx.degree(), 2)
    }
    fn encode_payload(&self, _: &RlweParams, w: &mut Writer) {
        w.bytes(&self.instance);
        w.bytes(&self.set);
        w.u32(self.party.get());
        #[allow(clippy::cast_possible_truncation)]
        w.u8(self.coeffs.len() as u8); // checked against dnum (at most 128)
        for c in &self.coeffs {
            w_ternary(w, c);
        }
    }
}

impl RelinEphemeral {
    /// Encodes the round-1 ephemeral secret (kind `0x010a`) to keep until round 2. **Secret**.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] for other parameters.
    pub fn to_bytes(&self, params: &RlweParams) -> Result<Zeroizing<Vec<u8>>> {
        wire::encode(self, params).map(Zeroizing::new)
    }

    /// Decodes a round-1 ephemeral secret for `params`.
    ///
    /// # Errors
    /// Any [`WireError`].
    pub fn from_bytes(params: &RlweParams, bytes: &[u8]) -> Result<Self> {
        let mut r = open(Some(params), bytes, KIND_RELIN_EPHEMERAL)?;
        let instance = r.seed("instance")?;
        let set = r.seed("active set")?;
        let party = r_party(&mut r, "party id")?;
        let d = usize::from(r.u8("number of digits")?);
        if d != params.digits_at(params.max_level()).len() {
            return Err(invalid(
                "number of digits differs from the parameters' dnum",
            ));
        }
        let coeffs = (0..d)
            .map(|_| r_ternary(&mut r, params.degree()))
            .collect::<Result<Vec<_>>>()?;
        r.finish()?;
        let u = coeffs
            .iter()
            .map(|c| super::common::small_qp(params, c).map(SecretQp))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            instance,
            set,
            party,
            u,
            coeffs,
        })
    }
}

impl wire::Encode for TransportKey {
    type Context = ();
    const KIND: ObjectKind = KIND_TRANSPORT_KEY;
    fn param_digest(&self, _: &()) -> Result<ParamDigest> {
        Ok(ParamDigest::from_bytes(NO_PARAMS))
    }
    fn payload_len_hint(&self, _: &()) -> usize {
        32
    }
    fn encode_payload(&self, _: &(), w: &mut Writer) {
        w.bytes(self.secret_bytes().as_ref());
    }
}

impl TransportKey {
    /// Encodes the X25519 secret (kind `0x010d`). **Secret**.
    ///
    /// # Errors
    /// Not expected.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        wire::encode(self, &()).map(Zeroizing::new)
    }

    /// Decodes a transport key.
    ///
    /// # Errors
    /// Any [`WireError`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = open(None, bytes, KIND_TRANSPORT_KEY)?;
        let s = Zeroizing::new(r.seed("transport secret")?);
        r.finish()?;
        Ok(TransportKey::from_secret_bytes(*s))
    }
}
