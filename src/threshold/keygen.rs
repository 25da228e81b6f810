//! Collective key generation: public key (1 round), relinearisation key (2 rounds), Galois keys
//! (1 round each), after PETS 2021 §4–5 (see the [module docs](super) for the relinearisation
//! variant). Each party computes its share from its [`ActiveShare`]; any party (or an
//! untrusted helper) aggregates the shares of the whole [`ActiveSet`] into the key.
//!
//! The outputs are the single-key types ([`PublicKey`], [`RelinearizationKey`], [`GaloisKey`])
//! with the instance id as their seed, so every evaluator and the wire format's seeded
//! encodings use them unchanged.

use super::common::{
    add_gadget, add_qp, check_headers, check_q, check_qp, gaussian_q, gaussian_qp, neg_qp,
    ternary_qp, zeroize_qp, ActiveSet, Crp, Instance, ProtocolKind, ShareHeader, Stream,
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
        let a = crp.pk()?;
        let mut b = gaussian_q(params.ctx_q(), params.max_level(), rng)?;
        let mut neg_s = self.s.0.q.neg();
        b.mul_add_assign(a, &neg_s)?;
        neg_s.zeroize();
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
        let inst = crp.instance();
        crp.check(params)?;
        check_kind(inst, ProtocolKind::PublicKey)?;
        check_headers(
            ProtocolKind::PublicKey,
            inst.id(),
            set,
            shares.iter().map(|s| &s.header),
        )?;
        let mut b = Poly::<Ntt>::zero(params.ctx_q());
        for s in shares {
            check_q(params, &s.b)?;
            if s.b.limbs() != params.max_level() {
                return Err(Error::ContextMismatch);
            }
            b.add_assign(&s.b)?;
        }
        Ok(PublicKey {
            b,
            a: crp.pk()?.clone(),
            seed: *inst.id(),
        })
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

/// `-a_j·s + e_j` over `QP` for each digit, plus the gadget term of `s'` (NTT over `Q`).
fn ksk_share(
    params: &RlweParams,
    crp: &[PolyQP],
    s: &PolyQP,
    s_prime: &Poly<Ntt>,
    rng: &mut Stream,
) -> Result<Vec<PolyQP>> {
    let digits = params.digits_at(params.max_level());
    let mut out = Vec::with_capacity(crp.len());
    let mut neg_s = neg_qp(s);
    let r = (|| {
        for (a, &range) in crp.iter().zip(&digits) {
            let mut b = gaussian_qp(params, rng)?;
            b.q.mul_add_assign(&a.q, &neg_s.q)?;
            b.p.mul_add_assign(&a.p, &neg_s.p)?;
            add_gadget(params, &mut b.q, range, s_prime);
            out.push(b);
        }
        Ok(())
    })();
    zeroize_qp(&mut neg_s);
    r.map(|()| out)
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
        let crp = crp.ksk()?;
        let mut sk = self.s.0.q.automorphism(g)?;
        let digits = ksk_share(params, crp, &self.s.0, &sk, rng);
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

fn sum_digits<'a>(
    params: &RlweParams,
    mut it: impl Iterator<Item = &'a Vec<PolyQP>>,
) -> Result<Vec<PolyQP>> {
    let first = it.next().ok_or(ThresholdError::MissingShares {
        received: 0,
        expected: 1,
    })?;
    check_digits(params, first)?;
    let mut acc = first.clone();
    for d in it {
        check_digits(params, d)?;
        for (a, x) in acc.iter_mut().zip(d) {
            add_qp(a, x)?;
        }
    }
    Ok(acc)
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
        let inst = crp.instance();
        crp.check(params)?;
        check_kind(inst, ProtocolKind::Galois)?;
        check_headers(
            ProtocolKind::Galois,
            inst.id(),
            set,
            shares.iter().map(|s| &s.header),
        )?;
        let element = shares[0].element;
        if shares.iter().any(|s| s.element != element) {
            return Err(ThresholdError::WrongInstance.into());
        }
        odd_element(params, element)?;
        let b = sum_digits(params, shares.iter().map(|s| &s.digits))?;
        Ok(GaloisKey {
            element,
            key: to_ksk(b, crp.ksk()?.clone(), *inst.id()),
        })
    }

    /// The Galois element.
    pub fn element(&self) -> u64 {
        self.element
    }
}

/// Round 1 of the relinearisation key: per digit `j`,
/// `h0_ij = -u_i a_j + P·T_j·s_i + e0_ij` and `h1_ij = s_i a_j + e1_ij` over `QP`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelinRound1Share {
    /// Kind, instance, set and sender.
    pub header: ShareHeader,
    pub(crate) h0: Vec<PolyQP>,
    pub(crate) h1: Vec<PolyQP>,
}

/// The ephemeral secret `u_i` of round 1, needed (once) by round 2. Zeroized on drop, redacted
/// `Debug`, no `Clone`; [`ActiveShare::relin_round2`] consumes it. Serialisable, to be kept in a
/// file between the rounds.
pub struct RelinEphemeral {
    pub(crate) instance: [u8; 32],
    pub(crate) set: [u8; 32],
    pub(crate) party: super::PartyId,
    pub(crate) u: SecretQp,
    /// The ternary coefficients of `u` (compact serialisation).
    pub(crate) coeffs: zeroize::Zeroizing<Vec<i64>>,
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

/// The sums `(h0_j, h1_j)` of round 1, input of round 2 (public).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelinRound1Aggregate {
    pub(crate) instance: [u8; 32],
    pub(crate) set: [u8; 32],
    pub(crate) h0: Vec<PolyQP>,
    pub(crate) h1: Vec<PolyQP>,
}

/// Round 2 of the relinearisation key: per digit `h2_ij = s_i (h0_j - a_j) + u_i h1_j + e2_ij`
/// over `QP`; their sum is the key's `b_j`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelinRound2Share {
    /// Kind, instance, set and sender.
    pub header: ShareHeader,
    pub(crate) b: Vec<PolyQP>,
}

impl ActiveShare {
    /// Round 1 of the relinearisation key for `inst` (kind [`ProtocolKind::RelinRound1`]): the
    /// share to publish and the ephemeral secret to keep for round 2.
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
        let crp = crp.ksk()?;
        let (u, coeffs) = ternary_qp(params, rng)?;
        let u = SecretQp(u);
        let s = &self.s.0;
        let digits = params.digits_at(params.max_level());
        let mut h0 = Vec::with_capacity(crp.len());
        let mut h1 = Vec::with_capacity(crp.len());
        let neg_u = SecretQp(neg_qp(&u.0));
        for (a, &range) in crp.iter().zip(&digits) {
            // h0 = e0 - u a + P T_j s
            let mut x = gaussian_qp(params, rng)?;
            x.q.mul_add_assign(&a.q, &neg_u.0.q)?;
            x.p.mul_add_assign(&a.p, &neg_u.0.p)?;
            add_gadget(params, &mut x.q, range, &s.q);
            h0.push(x);
            // h1 = e1 + s a
            let mut y = gaussian_qp(params, rng)?;
            y.q.mul_add_assign(&a.q, &s.q)?;
            y.p.mul_add_assign(&a.p, &s.p)?;
            h1.push(y);
        }
        Ok((
            RelinEphemeral {
                instance: *inst.id(),
                set: *self.set.digest(),
                party: self.id,
                u,
                coeffs,
            },
            RelinRound1Share {
                header: self.header(ProtocolKind::RelinRound1, *inst.id()),
                h0,
                h1,
            },
        ))
    }

    /// Round 2 of the relinearisation key, from this party's round-1 ephemeral secret (consumed)
    /// and the round-1 aggregate.
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
        check_digits(params, &agg.h1)?;
        log.record(LogClass::RelinRound2, &agg.instance)?;
        let rng = &mut Stream::from_rng(rng);
        let crp = crp.ksk()?;
        let s = &self.s.0;
        let u = &eph.u.0;
        let mut b = Vec::with_capacity(crp.len());
        // One scratch for h0 - a_j (public), reused across digits: two products per digit.
        let mut d = agg.h0[0].clone();
        for ((a, h0), h1) in crp.iter().zip(&agg.h0).zip(&agg.h1) {
            d.q.residues_mut().copy_from_slice(h0.q.residues());
            d.p.residues_mut().copy_from_slice(h0.p.residues());
            d.q.sub_assign(&a.q)?;
            d.p.sub_assign(&a.p)?;
            // e2 + s (h0 - a) + u h1
            let mut x = gaussian_qp(params, rng)?;
            x.q.mul_add_assign(&d.q, &s.q)?;
            x.p.mul_add_assign(&d.p, &s.p)?;
            x.q.mul_add_assign(&h1.q, &u.q)?;
            x.p.mul_add_assign(&h1.p, &u.p)?;
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
        let inst = crp.instance();
        crp.check(params)?;
        check_kind(inst, ProtocolKind::RelinRound1)?;
        check_headers(
            ProtocolKind::RelinRound1,
            inst.id(),
            set,
            shares.iter().map(|s| &s.header),
        )?;
        Ok(RelinRound1Aggregate {
            instance: *inst.id(),
            set: *set.digest(),
            h0: sum_digits(params, shares.iter().map(|s| &s.h0))?,
            h1: sum_digits(params, shares.iter().map(|s| &s.h1))?,
        })
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
    /// `(b_j, a_j) = (Σ h2_ij, a_j)`. `inst` is the round-1 instance.
    ///
    /// # Errors
    /// As [`PublicKeyShare::aggregate`].
    pub fn aggregate(
        params: &Arc<RlweParams>,
        crp: &Crp,
        set: &ActiveSet,
        shares: &[RelinRound2Share],
    ) -> Result<RelinearizationKey> {
        let inst = crp.instance();
        crp.check(params)?;
        check_kind(inst, ProtocolKind::RelinRound1)?;
        check_headers(
            ProtocolKind::RelinRound2,
            inst.id(),
            set,
            shares.iter().map(|s| &s.header),
        )?;
        let b = sum_digits(params, shares.iter().map(|s| &s.b))?;
        Ok(RelinearizationKey(to_ksk(
            b,
            crp.ksk()?.clone(),
            *inst.id(),
        )))
    }
}
