//! Collective key generation: public key (1 round), relinearisation key (2 rounds), Galois keys
//! (1 round each), after PETS 2021 §4–5 (see the [module docs](super) for the relinearisation
//! variant). Each party computes its share from its [`ActiveShare`]; any party (or an
//! untrusted helper) aggregates the shares of the whole [`ActiveSet`] into the key.
//!
//! The outputs are the single-key types ([`PublicKey`], [`RelinearizationKey`], [`GaloisKey`])
//! with the instance id as their seed, so every evaluator and the wire format's seeded
//! encodings use them unchanged.

use super::common::{
    add_gadget, add_qp, check_q, check_qp, gaussian_q, gaussian_qp, ternary_qp, ActiveSet, Crp,
    Instance, ProtocolKind, ShareHeader, Stream,
};
use super::log::{LogClass, ShareLog};
use super::secret::{ActiveShare, SecretQp};
use crate::error::{Error, Result, ThresholdError};
use crate::math::poly::{Ntt, Poly};
use crate::rlwe::{GaloisKey, KeySwitchingKey, PolyQP, PublicKey, RelinearizationKey, RlweParams};
use core::fmt;
use rand_core::{CryptoRng, RngCore};
use std::sync::Arc;
use zeroize::{Zeroize, ZeroizeOnDrop};

fn check_kind(inst: &Instance, kind: ProtocolKind) -> Result<()> {
    if inst.kind() != kind {
        return Err(ThresholdError::WrongInstance.into());
    }
    Ok(())
}

/// A party's share of the collective public key: `b_i = -a·s_i + e_i` over `Q` (NTT form), `a`
/// the instance's common reference polynomial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyShare {
    /// Kind, instance, set and sender.
    pub header: ShareHeader,
    pub(crate) b: Poly<Ntt>,
}

impl ActiveShare {
    /// This party's public-key share for `inst` (kind [`ProtocolKind::PublicKey`]).
    ///
    /// # Errors
    /// [`ThresholdError::WrongInstance`] for an instance of another kind;
    /// [`ThresholdError::RepeatedShare`] if `log` already holds this instance.
    pub fn public_key_share(
        &self,
        crp: &Crp,
        log: &mut dyn ShareLog,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<PublicKeyShare> {
        let inst = crp.instance();
        crp.check(&self.params)?;
        check_kind(inst, ProtocolKind::PublicKey)?;
        log.record(LogClass::KeyGen, inst.id())?;
        let rng = &mut Stream::from_rng(rng);
        let params = &self.params;
        // b = e + (-a)·s (the CRP keeps -a: no negation of the secret).
        let mut b = gaussian_q(params.ctx_q(), params.max_level(), rng)?;
        b.mul_add_assign(crp.pk_neg()?, &self.s.0.q)?;
        Ok(PublicKeyShare {
            header: self.header(ProtocolKind::PublicKey, *inst.id()),
            b,
        })
    }
}

impl PublicKeyShare {
    /// Aggregates one share per party of `set` into the collective public key
    /// `(Σ b_i, a) = (-a·s + Σ e_i, a)`.
    ///
    /// # Errors
    /// [`ThresholdError`] variants for shares of another instance or set, from outside the set,
    /// duplicated, or missing; [`Error::ContextMismatch`] for shares of other parameters.
    pub fn aggregate(
        params: &Arc<RlweParams>,
        crp: &Crp,
        set: &ActiveSet,
        shares: &[PublicKeyShare],
    ) -> Result<PublicKey> {
        aggregate_all(params, crp, set, shares)
    }

    /// The polynomial `b_i` (NTT form, all ciphertext primes).
    pub fn poly(&self) -> &Poly<Ntt> {
        &self.b
    }
}

/// A party's share of a Galois key for `X -> X^k`: per digit `j`,
/// `-a_j·s_i + e_ij + P·T_j·s_i(X^k)` over `QP`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GaloisKeyShare {
    /// Kind, instance, set and sender.
    pub header: ShareHeader,
    pub(crate) element: u64,
    pub(crate) digits: Vec<PolyQP>,
}

/// `e_j + (-a_j)·s` over `QP` for each digit (`-a_j` kept by the CRP), plus the gadget term of
/// `s'` (NTT over `Q`).
fn ksk_share(
    params: &RlweParams,
    crp_neg: &[PolyQP],
    s: &PolyQP,
    s_prime: &Poly<Ntt>,
    rng: &mut Stream,
) -> Result<Vec<PolyQP>> {
    let digits = params.digits_at(params.max_level());
    let mut out = Vec::with_capacity(crp_neg.len());
    for (a, &range) in crp_neg.iter().zip(&digits) {
        let mut b = gaussian_qp(params, rng)?;
        b.q.mul_add_assign(&a.q, &s.q)?;
        b.p.mul_add_assign(&a.p, &s.p)?;
        add_gadget(params, &mut b.q, range, s_prime);
        out.push(b);
    }
    Ok(out)
}

fn odd_element(params: &RlweParams, k: u64) -> Result<u64> {
    let two_n = 2 * params.degree() as u64;
    let g = k % two_n;
    if g.is_multiple_of(2) || g == 1 {
        return Err(Error::InvalidOperation {
            reason: "a Galois element must be odd and not 1 modulo 2N",
        });
    }
    Ok(g)
}

impl ActiveShare {
    /// This party's share of the Galois key of element `k` for `inst` (kind
    /// [`ProtocolKind::Galois`]; use one instance per element, e.g. labelled by it).
    ///
    /// # Errors
    /// [`ThresholdError::WrongInstance`] for an instance of another kind;
    /// [`ThresholdError::RepeatedShare`] if `log` already holds this instance (even for another
    /// element); [`Error::InvalidOperation`] for an even `k`.
    pub fn galois_key_share(
        &self,
        crp: &Crp,
        k: u64,
        log: &mut dyn ShareLog,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<GaloisKeyShare> {
        let inst = crp.instance();
        crp.check(&self.params)?;
        check_kind(inst, ProtocolKind::Galois)?;
        let params = &self.params;
        let g = odd_element(params, k)?;
        log.record(LogClass::KeyGen, inst.id())?;
        let rng = &mut Stream::from_rng(rng);
        let crp_neg = crp.ksk_neg()?;
        let mut sk = self.s.0.q.automorphism(g)?;
        let digits = ksk_share(params, crp_neg, &self.s.0, &sk, rng);
        sk.zeroize();
        Ok(GaloisKeyShare {
            header: self.header(ProtocolKind::Galois, *inst.id()),
            element: g,
            digits: digits?,
        })
    }
}

fn check_digits(params: &RlweParams, digits: &[PolyQP]) -> Result<()> {
    if digits.len() != params.digits_at(params.max_level()).len() {
        return Err(Error::ContextMismatch);
    }
    digits.iter().try_for_each(|d| check_qp(params, d))
}

fn to_ksk(b: Vec<PolyQP>, crp: Vec<PolyQP>, seed: [u8; 32]) -> KeySwitchingKey {
    KeySwitchingKey {
        digits: b.into_iter().zip(crp).collect(),
        seed,
    }
}

impl GaloisKeyShare {
    /// Aggregates one share per party of `set` into the Galois key.
    ///
    /// # Errors
    /// As [`PublicKeyShare::aggregate`]; [`ThresholdError::WrongInstance`] if the shares are for
    /// different Galois elements.
    pub fn aggregate(
        params: &Arc<RlweParams>,
        crp: &Crp,
        set: &ActiveSet,
        shares: &[GaloisKeyShare],
    ) -> Result<GaloisKey> {
        aggregate_all(params, crp, set, shares)
    }

    /// The Galois element.
    pub fn element(&self) -> u64 {
        self.element
    }
}

/// Round 1 of the relinearisation key: per digit `j`, `h0_ij = -u_ij·c + P·T_j·s_i + e0_ij`
/// (one fresh ephemeral ternary `u_ij` per digit), and once `h1_i = s_i·c + e1_i`, all over
/// `QP`, `c` the instance's round-1 common polynomial (see the [module docs](super)):
/// `dnum + 1` polynomials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelinRound1Share {
    /// Kind, instance, set and sender.
    pub header: ShareHeader,
    pub(crate) h0: Vec<PolyQP>,
    pub(crate) h1: PolyQP,
}

/// The ephemeral secrets `u_ij` of round 1 (one per digit), needed (once) by round 2. Zeroized
/// on drop, redacted `Debug`, no `Clone`; [`ActiveShare::relin_round2`] consumes it.
/// Serialisable, to be kept in a file between the rounds.
pub struct RelinEphemeral {
    pub(crate) instance: [u8; 32],
    pub(crate) set: [u8; 32],
    pub(crate) party: super::PartyId,
    pub(crate) u: Vec<SecretQp>,
    /// The ternary coefficients of each `u_ij` (compact serialisation).
    pub(crate) coeffs: Vec<zeroize::Zeroizing<Vec<i64>>>,
}

impl fmt::Debug for RelinEphemeral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelinEphemeral")
            .field("party", &self.party)
            .field("u", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl ZeroizeOnDrop for RelinEphemeral {}

/// The result of round 1, input of round 2 (public): per digit `d_j = Σ_i h0_ij - a_j` (the
/// aggregator subtracts the key's common polynomial once, for every party), and `h1 = Σ_i h1_i`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelinRound1Aggregate {
    pub(crate) instance: [u8; 32],
    pub(crate) set: [u8; 32],
    pub(crate) h0: Vec<PolyQP>,
    pub(crate) h1: PolyQP,
}

/// Round 2 of the relinearisation key: per digit `h2_ij = s_i·d_j + u_ij·h1 + e2_ij` over `QP`
/// (`d_j = h0_j - a_j`); their sum is the key's `b_j`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelinRound2Share {
    /// Kind, instance, set and sender.
    pub header: ShareHeader,
    pub(crate) b: Vec<PolyQP>,
}

impl ActiveShare {
    /// Round 1 of the relinearisation key for `inst` (kind [`ProtocolKind::RelinRound1`]): the
    /// share to publish and the ephemeral secrets to keep for round 2.
    ///
    /// # Errors
    /// [`ThresholdError::WrongInstance`] for an instance of another kind;
    /// [`ThresholdError::RepeatedShare`] if `log` already holds round 1 of this instance.
    pub fn relin_round1(
        &self,
        crp: &Crp,
        log: &mut dyn ShareLog,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(RelinEphemeral, RelinRound1Share)> {
        let inst = crp.instance();
        crp.check(&self.params)?;
        check_kind(inst, ProtocolKind::RelinRound1)?;
        log.record(LogClass::RelinRound1, inst.id())?;
        let rng = &mut Stream::from_rng(rng);
        let params = &self.params;
        let (c, neg_c) = crp.relin_common()?;
        let s = &self.s.0;
        let digits = params.digits_at(params.max_level());
        let mut h0 = Vec::with_capacity(digits.len());
        let mut us = Vec::with_capacity(digits.len());
        let mut coeffs = Vec::with_capacity(digits.len());
        for &range in &digits {
            // h0_j = e0 + (-c)·u_j + P T_j s
            let (u, cu) = ternary_qp(params, rng)?;
            let u = SecretQp(u);
            let mut x = gaussian_qp(params, rng)?;
            x.q.mul_add_assign(&neg_c.q, &u.0.q)?;
            x.p.mul_add_assign(&neg_c.p, &u.0.p)?;
            add_gadget(params, &mut x.q, range, &s.q);
            h0.push(x);
            us.push(u);
            coeffs.push(cu);
        }
        // h1 = e1 + c·s
        let mut h1 = gaussian_qp(params, rng)?;
        h1.q.mul_add_assign(&c.q, &s.q)?;
        h1.p.mul_add_assign(&c.p, &s.p)?;
        Ok((
            RelinEphemeral {
                instance: *inst.id(),
                set: *self.set.digest(),
                party: self.id,
                u: us,
                coeffs,
            },
            RelinRound1Share {
                header: self.header(ProtocolKind::RelinRound1, *inst.id()),
                h0,
                h1,
            },
        ))
    }

    /// Round 2 of the relinearisation key, from this party's round-1 ephemeral secrets
    /// (consumed) and the round-1 aggregate.
    ///
    /// # Errors
    /// [`ThresholdError::WrongInstance`] if the ephemeral or the aggregate belongs to another
    /// instance, party or set; [`ThresholdError::RepeatedShare`] if `log` already holds round 2
    /// of this instance.
    pub fn relin_round2(
        &self,
        crp: &Crp,
        eph: RelinEphemeral,
        agg: &RelinRound1Aggregate,
        log: &mut dyn ShareLog,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<RelinRound2Share> {
        crp.check(&self.params)?;
        if eph.instance != agg.instance
            || eph.party != self.id
            || agg.instance != *crp.instance().id()
        {
            return Err(ThresholdError::WrongInstance.into());
        }
        if eph.set != *self.set.digest() || agg.set != *self.set.digest() {
            return Err(ThresholdError::WrongParticipantSet.into());
        }
        let params = &self.params;
        check_digits(params, &agg.h0)?;
        check_qp(params, &agg.h1)?;
        if eph.u.len() != agg.h0.len() {
            return Err(Error::ContextMismatch);
        }
        log.record(LogClass::RelinRound2, &agg.instance)?;
        let rng = &mut Stream::from_rng(rng);
        let s = &self.s.0;
        let mut b = Vec::with_capacity(agg.h0.len());
        for (d, u) in agg.h0.iter().zip(&eph.u) {
            // e2 + s·d_j + u_j·h1
            let mut x = gaussian_qp(params, rng)?;
            x.q.mul_add_assign(&d.q, &s.q)?;
            x.p.mul_add_assign(&d.p, &s.p)?;
            x.q.mul_add_assign(&agg.h1.q, &u.0.q)?;
            x.p.mul_add_assign(&agg.h1.p, &u.0.p)?;
            b.push(x);
        }
        Ok(RelinRound2Share {
            header: self.header(ProtocolKind::RelinRound2, agg.instance),
            b,
        })
    }
}

impl RelinRound1Share {
    /// Aggregates round 1 (one share per party of `set`).
    ///
    /// # Errors
    /// As [`PublicKeyShare::aggregate`].
    pub fn aggregate(
        params: &Arc<RlweParams>,
        crp: &Crp,
        set: &ActiveSet,
        shares: &[RelinRound1Share],
    ) -> Result<RelinRound1Aggregate> {
        aggregate_all(params, crp, set, shares)
    }
}

impl RelinRound1Aggregate {
    /// The instance id.
    pub fn instance(&self) -> &[u8; 32] {
        &self.instance
    }

    /// The digest of the active set.
    pub fn set(&self) -> &[u8; 32] {
        &self.set
    }
}

impl RelinRound2Share {
    /// Aggregates round 2 (one share per party of `set`) into the relinearisation key
    /// `(b_j, a_j) = (Σ h2_ij, a_j)`. `crp` is the round-1 instance's.
    ///
    /// # Errors
    /// As [`PublicKeyShare::aggregate`].
    pub fn aggregate(
        params: &Arc<RlweParams>,
        crp: &Crp,
        set: &ActiveSet,
        shares: &[RelinRound2Share],
    ) -> Result<RelinearizationKey> {
        aggregate_all(params, crp, set, shares)
    }
}

// ---------------------------------------------------------------------------------------------
// Incremental aggregation
// ---------------------------------------------------------------------------------------------

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::PublicKeyShare {}
    impl Sealed for super::GaloisKeyShare {}
    impl Sealed for super::RelinRound1Share {}
    impl Sealed for super::RelinRound2Share {}
}

/// A key-generation share that a [`KeyAggregator`] sums: [`PublicKeyShare`],
/// [`GaloisKeyShare`], [`RelinRound1Share`], [`RelinRound2Share`] (sealed).
pub trait KeyGenShare: sealed::Sealed {
    /// What the aggregation produces.
    type Output;
    /// The kind of the shares' headers.
    const KIND: ProtocolKind;
    /// The kind of the instance (of the [`Crp`]) the shares are for.
    const INSTANCE_KIND: ProtocolKind;
    /// The share's header.
    fn header(&self) -> &ShareHeader;
    /// A public value that every share of one aggregation must agree on (the Galois element; 0
    /// for the others).
    #[doc(hidden)]
    fn tag(&self) -> u64 {
        0
    }
    /// Checks the share's shape against `params` and visits its polynomials in order.
    #[doc(hidden)]
    fn for_each_poly(
        &self,
        params: &RlweParams,
        f: &mut dyn FnMut(usize, &Poly<Ntt>) -> Result<()>,
    ) -> Result<()>;
    /// The output from the summed polynomials.
    #[doc(hidden)]
    fn build(crp: &Crp, set: &ActiveSet, tag: u64, parts: Vec<Poly<Ntt>>) -> Result<Self::Output>;
}

fn qp_parts(parts: Vec<Poly<Ntt>>) -> Vec<PolyQP> {
    let mut out = Vec::with_capacity(parts.len() / 2);
    let mut it = parts.into_iter();
    while let (Some(q), Some(p)) = (it.next(), it.next()) {
        out.push(PolyQP { q, p });
    }
    out
}

fn visit_digits(
    params: &RlweParams,
    digits: &[PolyQP],
    first: usize,
    f: &mut dyn FnMut(usize, &Poly<Ntt>) -> Result<()>,
) -> Result<()> {
    check_digits(params, digits)?;
    for (j, d) in digits.iter().enumerate() {
        f(first + 2 * j, &d.q)?;
        f(first + 2 * j + 1, &d.p)?;
    }
    Ok(())
}

impl KeyGenShare for PublicKeyShare {
    type Output = PublicKey;
    const KIND: ProtocolKind = ProtocolKind::PublicKey;
    const INSTANCE_KIND: ProtocolKind = ProtocolKind::PublicKey;
    fn header(&self) -> &ShareHeader {
        &self.header
    }
    fn for_each_poly(
        &self,
        params: &RlweParams,
        f: &mut dyn FnMut(usize, &Poly<Ntt>) -> Result<()>,
    ) -> Result<()> {
        check_q(params, &self.b)?;
        if self.b.limbs() != params.max_level() {
            return Err(Error::ContextMismatch);
        }
        f(0, &self.b)
    }
    fn build(crp: &Crp, _: &ActiveSet, _: u64, mut parts: Vec<Poly<Ntt>>) -> Result<PublicKey> {
        let b = parts.pop().ok_or(Error::ContextMismatch)?;
        Ok(PublicKey {
            b,
            a: crp.pk()?.clone(),
            seed: *crp.instance().id(),
        })
    }
}

impl KeyGenShare for GaloisKeyShare {
    type Output = GaloisKey;
    const KIND: ProtocolKind = ProtocolKind::Galois;
    const INSTANCE_KIND: ProtocolKind = ProtocolKind::Galois;
    fn header(&self) -> &ShareHeader {
        &self.header
    }
    fn tag(&self) -> u64 {
        self.element
    }
    fn for_each_poly(
        &self,
        params: &RlweParams,
        f: &mut dyn FnMut(usize, &Poly<Ntt>) -> Result<()>,
    ) -> Result<()> {
        odd_element(params, self.element)?;
        visit_digits(params, &self.digits, 0, f)
    }
    fn build(crp: &Crp, _: &ActiveSet, tag: u64, parts: Vec<Poly<Ntt>>) -> Result<GaloisKey> {
        Ok(GaloisKey {
            element: tag,
            key: to_ksk(qp_parts(parts), crp.ksk()?.clone(), *crp.instance().id()),
        })
    }
}

impl KeyGenShare for RelinRound1Share {
    type Output = RelinRound1Aggregate;
    const KIND: ProtocolKind = ProtocolKind::RelinRound1;
    const INSTANCE_KIND: ProtocolKind = ProtocolKind::RelinRound1;
    fn header(&self) -> &ShareHeader {
        &self.header
    }
    fn for_each_poly(
        &self,
        params: &RlweParams,
        f: &mut dyn FnMut(usize, &Poly<Ntt>) -> Result<()>,
    ) -> Result<()> {
        visit_digits(params, &self.h0, 0, f)?;
        check_qp(params, &self.h1)?;
        let k = 2 * self.h0.len();
        f(k, &self.h1.q)?;
        f(k + 1, &self.h1.p)
    }
    fn build(
        crp: &Crp,
        set: &ActiveSet,
        _: u64,
        parts: Vec<Poly<Ntt>>,
    ) -> Result<RelinRound1Aggregate> {
        let mut h0 = qp_parts(parts);
        let h1 = h0.pop().ok_or(Error::ContextMismatch)?;
        // d_j = h0_j - a_j, once for every party.
        for (d, a) in h0.iter_mut().zip(crp.ksk_neg()?) {
            add_qp(d, a)?;
        }
        Ok(RelinRound1Aggregate {
            instance: *crp.instance().id(),
            set: *set.digest(),
            h0,
            h1,
        })
    }
}

impl KeyGenShare for RelinRound2Share {
    type Output = RelinearizationKey;
    const KIND: ProtocolKind = ProtocolKind::RelinRound2;
    const INSTANCE_KIND: ProtocolKind = ProtocolKind::RelinRound1;
    fn header(&self) -> &ShareHeader {
        &self.header
    }
    fn for_each_poly(
        &self,
        params: &RlweParams,
        f: &mut dyn FnMut(usize, &Poly<Ntt>) -> Result<()>,
    ) -> Result<()> {
        visit_digits(params, &self.b, 0, f)
    }
    fn build(
        crp: &Crp,
        _: &ActiveSet,
        _: u64,
        parts: Vec<Poly<Ntt>>,
    ) -> Result<RelinearizationKey> {
        Ok(RelinearizationKey(to_ksk(
            qp_parts(parts),
            crp.ksk()?.clone(),
            *crp.instance().id(),
        )))
    }
}

/// Sums key-generation shares one at a time, in memory independent of the number of parties
/// (one share's worth): the aggregator of a large committee adds each share as it arrives and
/// drops it. Checks every share as [`PublicKeyShare::aggregate`] does (kind, instance, set,
/// sender in the set, no duplicate, shape), and [`finish`](Self::finish) checks that every
/// party of the set contributed. A share refused by [`add`](Self::add) leaves the sum
/// unchanged.
#[derive(Debug)]
pub struct KeyAggregator<'a, S: KeyGenShare> {
    params: &'a Arc<RlweParams>,
    crp: &'a Crp,
    set: &'a ActiveSet,
    seen: Vec<bool>,
    count: usize,
    tag: Option<u64>,
    parts: Vec<Poly<Ntt>>,
    _share: core::marker::PhantomData<fn(&S)>,
}

impl<'a, S: KeyGenShare> KeyAggregator<'a, S> {
    /// An empty sum for the instance of `crp` among `set`.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if `crp` is over other parameters;
    /// [`ThresholdError::WrongInstance`] for an instance of another kind.
    pub fn new(params: &'a Arc<RlweParams>, crp: &'a Crp, set: &'a ActiveSet) -> Result<Self> {
        crp.check(params)?;
        check_kind(crp.instance(), S::INSTANCE_KIND)?;
        Ok(Self {
            params,
            crp,
            set,
            seen: vec![false; set.len()],
            count: 0,
            tag: None,
            parts: Vec::new(),
            _share: core::marker::PhantomData,
        })
    }

    /// Adds one party's share.
    ///
    /// # Errors
    /// [`ThresholdError::WrongInstance`] for a share of another kind or instance (or another
    /// Galois element than the first share's), [`ThresholdError::WrongParticipantSet`],
    /// [`ThresholdError::UnexpectedParty`], [`ThresholdError::DuplicateParty`];
    /// [`Error::ContextMismatch`] for a share over other parameters.
    pub fn add(&mut self, share: &S) -> Result<()> {
        let h = share.header();
        if h.kind != S::KIND || h.instance != *self.crp.instance().id() {
            return Err(ThresholdError::WrongInstance.into());
        }
        if h.set != *self.set.digest() {
            return Err(ThresholdError::WrongParticipantSet.into());
        }
        let idx = self.set.ids().binary_search(&h.party).map_err(|_| {
            ThresholdError::UnexpectedParty {
                party: h.party.get(),
            }
        })?;
        if self.seen[idx] {
            return Err(ThresholdError::DuplicateParty {
                party: h.party.get(),
            }
            .into());
        }
        if self.tag.is_some_and(|t| t != share.tag()) {
            return Err(ThresholdError::WrongInstance.into());
        }
        if self.parts.is_empty() {
            // The first share (its shape checked by the visit) starts the sum: a copy, not a
            // zero-filled accumulator (fresh zero pages cost a page fault each).
            let mut first = Vec::new();
            share.for_each_poly(self.params, &mut |k, p| {
                debug_assert_eq!(k, first.len());
                first.push(p.clone());
                Ok(())
            })?;
            self.parts = first;
        } else {
            // Shape first (no partial sums), then the sum.
            share.for_each_poly(self.params, &mut |k, p| {
                let acc = self.parts.get(k).ok_or(Error::ContextMismatch)?;
                if acc.limbs() != p.limbs() {
                    return Err(Error::ContextMismatch);
                }
                Ok(())
            })?;
            let parts = &mut self.parts;
            share.for_each_poly(self.params, &mut |k, p| parts[k].add_assign(p))?;
        }
        self.seen[idx] = true;
        self.count += 1;
        self.tag = Some(share.tag());
        Ok(())
    }

    /// The number of shares added.
    pub fn received(&self) -> usize {
        self.count
    }

    /// The aggregate, once every party of the set has contributed.
    ///
    /// # Errors
    /// [`ThresholdError::MissingShares`] if a party's share is missing.
    pub fn finish(self) -> Result<S::Output> {
        if self.count != self.set.len() {
            return Err(ThresholdError::MissingShares {
                received: self.count,
                expected: self.set.len(),
            }
            .into());
        }
        S::build(self.crp, self.set, self.tag.unwrap_or(0), self.parts)
    }
}

/// All shares through a [`KeyAggregator`].
fn aggregate_all<S: KeyGenShare>(
    params: &Arc<RlweParams>,
    crp: &Crp,
    set: &ActiveSet,
    shares: &[S],
) -> Result<S::Output> {
    let mut agg = KeyAggregator::new(params, crp, set)?;
    for s in shares {
        agg.add(s)?;
    }
    agg.finish()
}
