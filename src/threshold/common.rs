//! Parties, committees, the common reference string, protocol instances, share headers, and
//! the polynomial helpers every protocol uses.

use crate::error::{Error, Result, ThresholdError};
use crate::math::arith;
use crate::math::modulus::Modulus;
use crate::math::poly::{Coeff, Context, Ntt, Poly};
use crate::math::sampling::{ternary, uniform_poly, Domain};
use crate::rlwe::{PolyQP, RlweParams, DOMAIN_KEY_SWITCH, DOMAIN_PUBLIC_KEY};
use chacha20::cipher::{KeyIvInit, StreamCipher};
use chacha20::ChaCha20Legacy;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use zeroize::Zeroize;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::sampling::{expand_seed, seeded_rng};

    #[test]
    fn stream_matches_seeded_rng() {
        let seed = [7u8; 32];
        let d = Domain::new(*b"ksk\0", 3);
        let mut a = Stream::new(&seed, d.nonce_bytes());
        let mut b = seeded_rng(&seed, d);
        for _ in 0..5000 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let params =
            crate::ckks::Parameters::preset(crate::ckks::Preset::InsecureN1024Depth4Scale30)
                .unwrap();
        let m = qp_moduli(params.rlwe());
        assert_eq!(
            expand(&seed, d, &m, 1024).unwrap(),
            expand_seed(&seed, d, &m, 1024).unwrap()
        );
    }

    #[test]
    fn cbd_moments() {
        let mut s = Stream::new(&[1; 32], [0; 8]);
        let e = cbd(&mut s, 1 << 16);
        let mean = e.iter().sum::<i64>() as f64 / e.len() as f64;
        let var = e.iter().map(|&x| (x * x) as f64).sum::<f64>() / e.len() as f64;
        assert!(
            mean.abs() < 0.05 && (var - 10.5).abs() < 0.3,
            "{mean} {var}"
        );
        assert!(e.iter().all(|x| x.abs() <= 21));
    }
}

/// A party's id: a non-zero 32-bit number, also its Shamir evaluation point `α = id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartyId(u32);

impl PartyId {
    /// A party id.
    ///
    /// # Errors
    /// [`ThresholdError::InvalidParticipants`] for 0 (not a valid Shamir point).
    pub fn new(id: u32) -> Result<Self> {
        if id == 0 {
            return Err(ThresholdError::InvalidParticipants {
                reason: "party id 0 is reserved (it is the Shamir secret's point)",
            }
            .into());
        }
        Ok(Self(id))
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Upper bound on the number of parties of a committee.
pub const MAX_PARTIES: usize = 1 << 16;

fn sorted_distinct(ids: &[PartyId]) -> Result<Vec<PartyId>> {
    let mut v = ids.to_vec();
    v.sort_unstable();
    if v.windows(2).any(|w| w[0] == w[1]) {
        return Err(ThresholdError::InvalidParticipants {
            reason: "repeated party id",
        }
        .into());
    }
    if v.is_empty() || v.len() > MAX_PARTIES {
        return Err(ThresholdError::InvalidParticipants {
            reason: "a committee has between 1 and 65536 parties",
        }
        .into());
    }
    Ok(v)
}

/// The `n` parties that hold shares of one ideal secret, and the threshold `t` of parties
/// needed for any secret-key operation (`t = n` for additive shares).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committee {
    ids: Vec<PartyId>,
    threshold: usize,
    digest: [u8; 32],
}

impl Committee {
    /// A committee of the given parties (any order) with threshold `t`.
    ///
    /// # Errors
    /// [`ThresholdError::InvalidParticipants`] for an empty list, repeated ids, or `t` outside
    /// `1..=n`.
    pub fn new(ids: &[PartyId], threshold: usize) -> Result<Self> {
        let ids = sorted_distinct(ids)?;
        if threshold == 0 || threshold > ids.len() {
            return Err(ThresholdError::InvalidParticipants {
                reason: "threshold must be between 1 and the number of parties",
            }
            .into());
        }
        let mut h = Sha256::new();
        h.update(b"migrationfhe/threshold/committee/v1");
        h.update((threshold as u64).to_le_bytes());
        h.update((ids.len() as u64).to_le_bytes());
        for id in &ids {
            h.update(id.0.to_le_bytes());
        }
        Ok(Self {
            ids,
            threshold,
            digest: h.finalize().into(),
        })
    }

    /// A committee of parties `1..=n` with threshold `t`.
    ///
    /// # Errors
    /// As [`Committee::new`].
    pub fn numbered(n: u32, threshold: usize) -> Result<Self> {
        let ids = (1..=n).map(PartyId::new).collect::<Result<Vec<_>>>()?;
        Self::new(&ids, threshold)
    }

    /// The same parties with another threshold (the committee after Shamir re-sharing).
    ///
    /// # Errors
    /// As [`Committee::new`].
    pub fn with_threshold(&self, threshold: usize) -> Result<Self> {
        Self::new(&self.ids, threshold)
    }

    /// The parties, sorted.
    pub fn ids(&self) -> &[PartyId] {
        &self.ids
    }

    /// Number of parties `n`.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Always false (a committee has at least one party).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The threshold `t`.
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    /// SHA-256 digest of the sorted ids and the threshold.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// Whether `id` belongs to the committee.
    pub fn contains(&self, id: PartyId) -> bool {
        self.ids.binary_search(&id).is_ok()
    }

    /// The set of all parties.
    ///
    /// # Errors
    /// Not expected.
    pub fn all(&self) -> Result<ActiveSet> {
        ActiveSet::new(self, &self.ids)
    }
}

/// The parties taking part in one protocol run: a subset of a committee with at least `t`
/// parties (all of them for an additive committee). Shares carry its digest; aggregation
/// needs exactly one share from each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveSet {
    ids: Vec<PartyId>,
    committee: [u8; 32],
    committee_len: usize,
    digest: [u8; 32],
}

impl ActiveSet {
    /// The set `ids` of `committee`.
    ///
    /// # Errors
    /// [`ThresholdError::InvalidParticipants`] for repeated ids or an id outside the committee;
    /// [`ThresholdError::BelowThreshold`] for fewer than `t` parties.
    pub fn new(committee: &Committee, ids: &[PartyId]) -> Result<Self> {
        let ids = sorted_distinct(ids)?;
        if ids.iter().any(|&i| !committee.contains(i)) {
            return Err(ThresholdError::InvalidParticipants {
                reason: "a party of the set is not in the committee",
            }
            .into());
        }
        if ids.len() < committee.threshold() {
            return Err(ThresholdError::BelowThreshold {
                parties: ids.len(),
                threshold: committee.threshold(),
            }
            .into());
        }
        let mut h = Sha256::new();
        h.update(b"migrationfhe/threshold/active-set/v1");
        h.update(committee.digest());
        h.update((ids.len() as u64).to_le_bytes());
        for id in &ids {
            h.update(id.0.to_le_bytes());
        }
        Ok(Self {
            ids,
            committee: *committee.digest(),
            committee_len: committee.len(),
            digest: h.finalize().into(),
        })
    }

    /// The parties, sorted.
    pub fn ids(&self) -> &[PartyId] {
        &self.ids
    }

    /// Number of active parties.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Always false.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Whether `id` is active.
    pub fn contains(&self, id: PartyId) -> bool {
        self.ids.binary_search(&id).is_ok()
    }

    /// Digest of the committee and the active ids.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// Digest of the committee the set belongs to.
    pub fn committee_digest(&self) -> &[u8; 32] {
        &self.committee
    }

    /// The number of active parties as a `u32` (each adds smudging noise).
    pub(crate) fn count(&self) -> u32 {
        u32::try_from(self.ids.len()).unwrap_or(u32::MAX)
    }

    /// The number of committee members as a `u32`: the collective keys were generated by up to
    /// that many parties, so their noise is scaled by it.
    pub(crate) fn committee_count(&self) -> u32 {
        u32::try_from(self.committee_len.max(self.ids.len())).unwrap_or(u32::MAX)
    }
}

/// The protocols, as written in share headers and log records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolKind {
    /// Collective public key.
    PublicKey,
    /// Relinearisation key, round 1.
    RelinRound1,
    /// Relinearisation key, round 2.
    RelinRound2,
    /// Galois key.
    Galois,
    /// Collective decryption.
    Decryption,
    /// Re-encryption to a receiver's public key.
    PublicKeySwitch,
    /// Shamir re-sharing.
    ShamirDeal,
}

impl ProtocolKind {
    /// The one-byte code of the kind (wire format).
    pub fn code(self) -> u8 {
        match self {
            Self::PublicKey => 1,
            Self::RelinRound1 => 2,
            Self::RelinRound2 => 3,
            Self::Galois => 4,
            Self::Decryption => 5,
            Self::PublicKeySwitch => 6,
            Self::ShamirDeal => 7,
        }
    }

    /// The kind of a code.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] for an unknown code.
    pub fn from_code(c: u8) -> Result<Self> {
        Ok(match c {
            1 => Self::PublicKey,
            2 => Self::RelinRound1,
            3 => Self::RelinRound2,
            4 => Self::Galois,
            5 => Self::Decryption,
            6 => Self::PublicKeySwitch,
            7 => Self::ShamirDeal,
            _ => {
                return Err(Error::ValueOutOfRange {
                    what: "unknown threshold protocol kind",
                })
            }
        })
    }

    /// A name for messages and logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::PublicKey => "public key",
            Self::RelinRound1 => "relinearisation round 1",
            Self::RelinRound2 => "relinearisation round 2",
            Self::Galois => "Galois key",
            Self::Decryption => "decryption",
            Self::PublicKeySwitch => "public-key switch",
            Self::ShamirDeal => "Shamir re-sharing",
        }
    }
}

/// The common reference string: a public 32-byte seed agreed by all parties (for example the
/// hash of a public transcript, or drawn by one party and published). Every protocol instance
/// derives its own seed from it and a label ([`Crs::instance`]), and its common reference
/// polynomials from that seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crs {
    seed: [u8; 32],
}

impl Crs {
    /// The CRS of a public seed.
    pub fn new(seed: [u8; 32]) -> Self {
        Self { seed }
    }

    /// A fresh random CRS (to be published to every party).
    pub fn random(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Self { seed }
    }

    /// The seed.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The protocol instance `kind` labelled `label` (for example `b"2026/relin"`, or the
    /// Galois element): its id is
    /// `SHA-256("migrationfhe/threshold/instance/v1" ‖ crs ‖ kind ‖ len(label) ‖ label)`.
    /// Distinct labels give independent common reference polynomials; a party's log refuses a
    /// second key-generation share for the same instance.
    pub fn instance(&self, kind: ProtocolKind, label: &[u8]) -> Instance {
        let mut h = Sha256::new();
        h.update(b"migrationfhe/threshold/instance/v1");
        h.update(self.seed);
        h.update([kind.code()]);
        h.update((label.len() as u64).to_le_bytes());
        h.update(label);
        Instance {
            kind,
            id: h.finalize().into(),
        }
    }
}

/// One run of a key-generation protocol: its kind and its 32-byte id, which is also the seed
/// its common reference polynomials are expanded from (with the domains of `rlwe::keys`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instance {
    kind: ProtocolKind,
    id: [u8; 32],
}

impl Instance {
    /// An instance from its parts (after deserialisation).
    pub fn from_parts(kind: ProtocolKind, id: [u8; 32]) -> Self {
        Self { kind, id }
    }

    /// The protocol kind.
    pub fn kind(&self) -> ProtocolKind {
        self.kind
    }

    /// The id (and CRP seed).
    pub fn id(&self) -> &[u8; 32] {
        &self.id
    }
}

/// The common reference polynomials of one key-generation [`Instance`], expanded once (every
/// party and the aggregator need them; expanding them costs about as much as a share, so they
/// are expanded once per instance and reused, as Lattigo's `SampleCRP`): `a` over `Q` for a
/// public key, `a_j` over `QP` per digit for a relinearisation or Galois key, and for a
/// relinearisation key one more polynomial `c` over `QP` (the common polynomial of round 1, see
/// the [module docs](super)). Their negations are kept too, so that a share `e - a·s` costs
/// one multiply-accumulate and no negation of the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crp {
    params: Arc<RlweParams>,
    instance: Instance,
    pk: Option<(Poly<Ntt>, Poly<Ntt>)>,
    ksk: Option<(Vec<PolyQP>, Vec<PolyQP>)>,
    relin: Option<(PolyQP, PolyQP)>,
}

impl Crp {
    /// Expands the polynomials of `instance` (by its kind) over `params`.
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] for a kind without common reference polynomials (decryption,
    /// public-key switch, re-sharing).
    pub fn new(params: &Arc<RlweParams>, instance: &Instance) -> Result<Self> {
        let with_neg_qp = |v: Vec<PolyQP>| {
            let n: Vec<PolyQP> = v.iter().map(neg_qp).collect();
            (v, n)
        };
        let (pk, ksk, relin) = match instance.kind() {
            ProtocolKind::PublicKey => {
                let a = crp_public_key(params, instance.id())?;
                let n = a.neg();
                (Some((a, n)), None, None)
            }
            ProtocolKind::Galois => (
                None,
                Some(with_neg_qp(crp_key_switch(params, instance.id())?)),
                None,
            ),
            ProtocolKind::RelinRound1 | ProtocolKind::RelinRound2 => {
                let c = crp_relin_common(params, instance.id())?;
                let n = neg_qp(&c);
                (
                    None,
                    Some(with_neg_qp(crp_key_switch(params, instance.id())?)),
                    Some((c, n)),
                )
            }
            _ => {
                return Err(Error::InvalidOperation {
                    reason: "this protocol has no common reference polynomial",
                })
            }
        };
        Ok(Self {
            params: Arc::clone(params),
            instance: *instance,
            pk,
            ksk,
            relin,
        })
    }

    /// The instance.
    pub fn instance(&self) -> &Instance {
        &self.instance
    }

    pub(crate) fn check(&self, params: &Arc<RlweParams>) -> Result<()> {
        if Arc::ptr_eq(params, &self.params) || **params == *self.params {
            Ok(())
        } else {
            Err(Error::ContextMismatch)
        }
    }

    /// `a` (public key).
    pub(crate) fn pk(&self) -> Result<&Poly<Ntt>> {
        self.pk
            .as_ref()
            .map(|x| &x.0)
            .ok_or(ThresholdError::WrongInstance.into())
    }

    /// `-a` (public key).
    pub(crate) fn pk_neg(&self) -> Result<&Poly<Ntt>> {
        self.pk
            .as_ref()
            .map(|x| &x.1)
            .ok_or(ThresholdError::WrongInstance.into())
    }

    /// `a_j` per digit (key switching).
    pub(crate) fn ksk(&self) -> Result<&Vec<PolyQP>> {
        self.ksk
            .as_ref()
            .map(|x| &x.0)
            .ok_or(ThresholdError::WrongInstance.into())
    }

    /// `-a_j` per digit (key switching).
    pub(crate) fn ksk_neg(&self) -> Result<&Vec<PolyQP>> {
        self.ksk
            .as_ref()
            .map(|x| &x.1)
            .ok_or(ThresholdError::WrongInstance.into())
    }

    /// `(c, -c)`, the relinearisation protocol's round-1 polynomial.
    pub(crate) fn relin_common(&self) -> Result<(&PolyQP, &PolyQP)> {
        self.relin
            .as_ref()
            .map(|x| (&x.0, &x.1))
            .ok_or(ThresholdError::WrongInstance.into())
    }
}

/// What every share message carries: the protocol kind, the instance (for decryption: the
/// digest of the ciphertext's `c_1`), the digest of the active set, and the sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShareHeader {
    /// The protocol.
    pub kind: ProtocolKind,
    /// The instance id, or the ciphertext digest for decryption and re-encryption.
    pub instance: [u8; 32],
    /// Digest of the [`ActiveSet`] the share was computed for.
    pub set: [u8; 32],
    /// The sender.
    pub party: PartyId,
}

/// Checks that `headers` hold exactly one share of `kind` for `instance` from each party of
/// `set`.
pub(crate) fn check_headers<'a>(
    kind: ProtocolKind,
    instance: &[u8; 32],
    set: &ActiveSet,
    headers: impl Iterator<Item = &'a ShareHeader>,
) -> Result<()> {
    let mut seen = vec![false; set.len()];
    let mut count = 0usize;
    for h in headers {
        if h.kind != kind || h.instance != *instance {
            return Err(ThresholdError::WrongInstance.into());
        }
        if h.set != *set.digest() {
            return Err(ThresholdError::WrongParticipantSet.into());
        }
        let idx = set
            .ids()
            .binary_search(&h.party)
            .map_err(|_| ThresholdError::UnexpectedParty { party: h.party.0 })?;
        if seen[idx] {
            return Err(ThresholdError::DuplicateParty { party: h.party.0 }.into());
        }
        seen[idx] = true;
        count += 1;
    }
    if count != set.len() {
        return Err(ThresholdError::MissingShares {
            received: count,
            expected: set.len(),
        }
        .into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Polynomial helpers
// ---------------------------------------------------------------------------------------------

/// The Q and P moduli together.
pub(crate) fn qp_moduli(params: &RlweParams) -> Vec<Modulus> {
    params
        .ctx_q()
        .moduli()
        .iter()
        .chain(params.ctx_p().moduli())
        .copied()
        .collect()
}

/// Splits a limb-major residue vector over `Q ∪ P` into a [`PolyQP`] in NTT form.
pub(crate) fn split_qp(params: &RlweParams, mut data: Vec<u64>) -> PolyQP {
    let n = params.degree();
    let lq = params.max_level();
    let p = data.split_off(lq * n);
    let out = PolyQP {
        q: Poly::<Coeff>::from_raw(params.ctx_q(), lq, data).into_ntt(),
        p: Poly::<Coeff>::from_raw(params.ctx_p(), params.ctx_p().len(), p).into_ntt(),
    };
    out
}

/// A ChaCha20 keystream read as 64-bit little-endian words: the generator of every sample the
/// threshold protocols draw (through [`Stream::from_rng`]: keyed by 32 bytes of the caller's
/// generator) and of the common reference polynomials (keyed by the instance id, nonce = the
/// `math::sampling::Domain`). It produces exactly the words of `math::sampling::seeded_rng`
/// (Bernstein's ChaCha20, 64-bit nonce, block counter from 0; the `chacha20` crate's
/// `ChaCha20Legacy`, whose 32-bit counter equals the 64-bit one below `2^32` blocks), so
/// expansions are bit-identical to `math::sampling::expand_seed` (tested), but it uses the
/// crate's run-time-selected AVX2 backend, about three times faster here.
pub(crate) struct Stream {
    cipher: ChaCha20Legacy,
    buf: [u8; STREAM_BUF],
    pos: usize,
}

const STREAM_BUF: usize = 4096;

impl Stream {
    pub(crate) fn new(key: &[u8; 32], nonce: [u8; 8]) -> Self {
        Self {
            cipher: ChaCha20Legacy::new(key.into(), &nonce.into()),
            buf: [0; STREAM_BUF],
            pos: STREAM_BUF,
        }
    }

    /// A stream keyed by 32 bytes of `rng` (nonce 0).
    pub(crate) fn from_rng(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut key = zeroize::Zeroizing::new([0u8; 32]);
        rng.fill_bytes(key.as_mut());
        Self::new(&key, [0; 8])
    }

    fn refill(&mut self) {
        self.buf = [0; STREAM_BUF];
        self.cipher.apply_keystream(&mut self.buf);
        self.pos = 0;
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.buf.zeroize();
    }
}

impl RngCore for Stream {
    fn next_u32(&mut self) -> u32 {
        // Only next_u64 is used by the samplers; keep the word alignment simple.
        (self.next_u64() & 0xffff_ffff) as u32
    }

    #[inline]
    fn next_u64(&mut self) -> u64 {
        if self.pos + 8 > STREAM_BUF {
            self.refill();
        }
        let mut w = [0u8; 8];
        w.copy_from_slice(&self.buf[self.pos..self.pos + 8]);
        self.pos += 8;
        u64::from_le_bytes(w)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let w = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> core::result::Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Stream {}

/// Centered binomial error with `η = 21` (variance 10.5, `|e| <= 21`), as SEAL samples its
/// errors and as Alkim, Ducas, Pöppelmann, Schwabe ("Post-quantum key exchange — a new hope",
/// USENIX Security 2016) propose: `e = popcount(w mod 2^21) - popcount(w >> 21 mod 2^21)`
/// for one fresh word `w` per coefficient. Its standard deviation 3.24 is that of the
/// HomomorphicEncryption.org standard's Gaussian (3.2) within 1.3%, and it is constant time and
/// about forty times cheaper than the table scan of `math::sampling::DiscreteGaussian`, which
/// dominated the share costs. Returned as signed coefficients (secret: wiped on drop).
pub(crate) fn cbd(rng: &mut Stream, n: usize) -> zeroize::Zeroizing<Vec<i64>> {
    const MASK: u64 = (1 << 21) - 1;
    let mut out = zeroize::Zeroizing::new(vec![0i64; n]);
    for x in out.iter_mut() {
        let w = rng.next_u64();
        *x = i64::from((w & MASK).count_ones()) - i64::from(((w >> 21) & MASK).count_ones());
    }
    out
}

/// Small signed coefficients (`|x| <= 64`) over the first `level` primes of `ctx`, NTT form.
/// Residues branch-free (`x + (q & sign_mask(x))`), written once into uninitialised capacity.
pub(crate) fn small_q(ctx: &Arc<Context>, level: usize, c: &[i64]) -> Poly<Ntt> {
    let mut q = Vec::with_capacity(level * ctx.degree());
    for m in &ctx.moduli()[..level] {
        let qv = m.value();
        q.extend(c.iter().map(|&x| {
            #[allow(clippy::cast_sign_loss)]
            let (v, s) = (x as u64, (x >> 63) as u64);
            v.wrapping_add(qv & s)
        }));
    }
    Poly::<Coeff>::from_raw(ctx, level, q).into_ntt()
}

/// Small signed coefficients (`|x| <= 64`) over `Q ∪ P`, NTT form.
pub(crate) fn small_qp(params: &RlweParams, c: &[i64]) -> Result<PolyQP> {
    if c.len() != params.degree() {
        return Err(Error::LengthMismatch {
            expected: params.degree(),
            found: c.len(),
        });
    }
    Ok(PolyQP {
        q: small_q(params.ctx_q(), params.max_level(), c),
        p: small_q(params.ctx_p(), params.ctx_p().len(), c),
    })
}

/// An error polynomial (centered binomial, see [`cbd`]) over `Q ∪ P` (one integer polynomial),
/// NTT form.
pub(crate) fn gaussian_qp(params: &RlweParams, rng: &mut Stream) -> Result<PolyQP> {
    small_qp(params, &cbd(rng, params.degree()))
}

/// An error polynomial (centered binomial) over the first `level` primes of `ctx`, NTT form.
pub(crate) fn gaussian_q(ctx: &Arc<Context>, level: usize, rng: &mut Stream) -> Result<Poly<Ntt>> {
    Ok(small_q(ctx, level, &cbd(rng, ctx.degree())))
}

/// A ternary polynomial over `Q ∪ P`, NTT form, and its coefficients (secret: zeroize after
/// use).
pub(crate) fn ternary_qp(
    params: &RlweParams,
    rng: &mut Stream,
) -> Result<(PolyQP, zeroize::Zeroizing<Vec<i64>>)> {
    let c = ternary(rng, params.degree())?;
    Ok((small_qp(params, &c)?, c))
}

/// `-x` (a copy; secret: wipe it after use).
pub(crate) fn neg_qp(x: &PolyQP) -> PolyQP {
    PolyQP {
        q: x.q.neg(),
        p: x.p.neg(),
    }
}

/// `math::sampling::expand_seed` through a [`Stream`] (the same output).
pub(crate) fn expand(
    seed: &[u8; 32],
    domain: Domain,
    moduli: &[Modulus],
    n: usize,
) -> Result<Vec<u64>> {
    uniform_poly(&mut Stream::new(seed, domain.nonce_bytes()), moduli, n)
}

/// The common reference polynomial of a public key: `a` over `Q`, expanded from `seed` as
/// [`rlwe::PublicKey`](crate::rlwe::PublicKey) expands it.
pub(crate) fn crp_public_key(params: &RlweParams, seed: &[u8; 32]) -> Result<Poly<Ntt>> {
    let ctx = params.ctx_q();
    let data = expand(
        seed,
        Domain::new(DOMAIN_PUBLIC_KEY, 0),
        ctx.moduli(),
        ctx.degree(),
    )?;
    Ok(Poly::from_raw(ctx, ctx.len(), data))
}

/// The common reference polynomials of a key switching key: `a_j` over `QP` for every digit,
/// expanded from `seed` as [`KeySwitchingKey`](crate::rlwe::KeySwitchingKey) expands them.
pub(crate) fn crp_key_switch(params: &RlweParams, seed: &[u8; 32]) -> Result<Vec<PolyQP>> {
    let n = params.degree();
    let digits = params.digits_at(params.max_level()).len();
    (0..digits)
        .map(|j| {
            let index = u32::try_from(j).map_err(|_| Error::InvalidOperation {
                reason: "too many digits",
            })?;
            let mut rng = Stream::new(seed, Domain::new(DOMAIN_KEY_SWITCH, index).nonce_bytes());
            Ok(PolyQP {
                q: Poly::from_raw(
                    params.ctx_q(),
                    params.max_level(),
                    uniform_poly(&mut rng, params.ctx_q().moduli(), n)?,
                ),
                p: Poly::from_raw(
                    params.ctx_p(),
                    params.ctx_p().len(),
                    uniform_poly(&mut rng, params.ctx_p().moduli(), n)?,
                ),
            })
        })
        .collect()
}

/// Domain tag of the relinearisation protocol's round-1 common polynomial `c` (expanded from
/// the instance id like the key's `a_j`, which use the tag `ksk` with the digit as index).
pub(crate) const DOMAIN_RELIN_COMMON: [u8; 4] = *b"trc\0";

/// The relinearisation protocol's round-1 common polynomial `c` over `QP`.
pub(crate) fn crp_relin_common(params: &RlweParams, seed: &[u8; 32]) -> Result<PolyQP> {
    let n = params.degree();
    let mut rng = Stream::new(seed, Domain::new(DOMAIN_RELIN_COMMON, 0).nonce_bytes());
    Ok(PolyQP {
        q: Poly::from_raw(
            params.ctx_q(),
            params.max_level(),
            uniform_poly(&mut rng, params.ctx_q().moduli(), n)?,
        ),
        p: Poly::from_raw(
            params.ctx_p(),
            params.ctx_p().len(),
            uniform_poly(&mut rng, params.ctx_p().moduli(), n)?,
        ),
    })
}

/// `b += P·T_j·x` for digit `j = (start, end)`: `P·x` on the primes of the digit (NTT form,
/// `x` over all of `Q`), nothing elsewhere (the gadget of the hybrid key). Vectorised (Shoup
/// product by the constant `P mod q_i`, then a modular add); the scratch limb is wiped (it
/// holds a multiple of the secret).
pub(crate) fn add_gadget(
    params: &RlweParams,
    b: &mut Poly<Ntt>,
    (start, end): (usize, usize),
    x: &Poly<Ntt>,
) {
    let n = params.degree();
    let moduli = params.ctx_q().moduli();
    let p_mod_q = params.p_mod_q();
    let xs = x.residues();
    let bq = b.residues_mut();
    let mut tmp = zeroize::Zeroizing::new(Vec::with_capacity(n));
    for i in start..end {
        let q = &moduli[i];
        let w = p_mod_q[i];
        tmp.clear();
        tmp.extend_from_slice(&xs[i * n..(i + 1) * n]);
        arith::mul_scalar_assign(&mut tmp, w, q.shoup(w), q.value());
        arith::add_assign(&mut bq[i * n..(i + 1) * n], &tmp, q.value());
    }
}

/// `acc += x` over `Q ∪ P`.
pub(crate) fn add_qp(acc: &mut PolyQP, x: &PolyQP) -> Result<()> {
    acc.q.add_assign(&x.q)?;
    acc.p.add_assign(&x.p)
}

/// Zeroizes a [`PolyQP`].
pub(crate) fn zeroize_qp(x: &mut PolyQP) {
    x.q.zeroize();
    x.p.zeroize();
}

/// Checks that a polynomial is over `params`' ciphertext primes.
pub(crate) fn check_q<R: crate::math::poly::Representation>(
    params: &RlweParams,
    p: &Poly<R>,
) -> Result<()> {
    if Arc::ptr_eq(p.context(), params.ctx_q()) || **p.context() == **params.ctx_q() {
        Ok(())
    } else {
        Err(Error::ContextMismatch)
    }
}

/// Checks that a [`PolyQP`] is over `params` with all primes.
pub(crate) fn check_qp(params: &RlweParams, x: &PolyQP) -> Result<()> {
    check_q(params, &x.q)?;
    if x.q.limbs() != params.max_level()
        || !(Arc::ptr_eq(x.p.context(), params.ctx_p()) || **x.p.context() == **params.ctx_p())
    {
        return Err(Error::ContextMismatch);
    }
    Ok(())
}

/// SHA-256 of the first limb of `c1` in NTT form (with the degree and first prime): the
/// identity of a decryption input in share logs and share headers.
pub(crate) fn c1_digest(c1: &Poly<Ntt>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"migrationfhe/threshold/c1/v1");
    h.update((c1.context().degree() as u64).to_le_bytes());
    h.update(c1.context().moduli()[0].value().to_le_bytes());
    let mut buf = Vec::with_capacity(c1.context().degree() * 8);
    for &x in c1.limb(0) {
        buf.extend_from_slice(&x.to_le_bytes());
    }
    h.update(&buf);
    h.finalize().into()
}
