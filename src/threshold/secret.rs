//! A party's secret share and its per-run active form.

use super::common::{qp_moduli, split_qp, zeroize_qp, ActiveSet, Committee, PartyId};
use crate::error::{Error, Result, ThresholdError};
use crate::math::sampling::{lift_signed, ternary};
use crate::rlwe::{PolyQP, RlweParams, SecretKey};
use core::fmt;
use rand_core::{CryptoRng, RngCore};
use std::sync::Arc;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A secret polynomial over `Q ∪ P` in NTT form, wiped on drop.
pub(crate) struct SecretQp(pub(crate) PolyQP);

impl Drop for SecretQp {
    fn drop(&mut self) {
        zeroize_qp(&mut self.0);
    }
}

impl SecretQp {
    pub(crate) fn clone_secret(&self) -> Self {
        Self(self.0.clone())
    }
}

/// One party's share of the ideal secret `s`: additive (`s_i`, ternary, committee threshold
/// `n`) or Shamir (`S(α_i)`, uniform over `R_QP`, committee threshold `t`; see
/// [`shamir`](super::shamir)).
///
/// Zeroized on drop; `Debug` prints only public metadata; no `Clone`. Serialisable
/// ([`to_bytes`](Self::to_bytes)) so that a party can keep it in a file between protocol steps.
pub struct PartySecret {
    pub(crate) params: Arc<RlweParams>,
    pub(crate) committee: Committee,
    pub(crate) id: PartyId,
    pub(crate) share: SecretQp,
    /// Additive shares: the ternary coefficients (compact storage, reference test).
    pub(crate) small: Option<Zeroizing<Vec<i64>>>,
}

impl fmt::Debug for PartySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartySecret")
            .field("id", &self.id)
            .field("parties", &self.committee.len())
            .field("threshold", &self.committee.threshold())
            .field("share", &"<redacted>")
            .finish()
    }
}

impl ZeroizeOnDrop for PartySecret {}

impl PartySecret {
    /// Samples party `id`'s additive share `s_i` (ternary) for an `n`-out-of-`n` committee.
    ///
    /// # Errors
    /// [`ThresholdError::InvalidParticipants`] if `id` is not in the committee or the
    /// committee's threshold is not `n`.
    pub fn generate(
        params: &Arc<RlweParams>,
        committee: &Committee,
        id: PartyId,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        let c = ternary(rng, params.degree())?;
        Self::from_small(params, committee, id, c)
    }

    pub(crate) fn from_small(
        params: &Arc<RlweParams>,
        committee: &Committee,
        id: PartyId,
        coeffs: Zeroizing<Vec<i64>>,
    ) -> Result<Self> {
        if !committee.contains(id) {
            return Err(ThresholdError::InvalidParticipants {
                reason: "the party is not in the committee",
            }
            .into());
        }
        if committee.threshold() != committee.len() {
            return Err(ThresholdError::InvalidParticipants {
                reason: "additive shares need an n-out-of-n committee (re-share for t < n)",
            }
            .into());
        }
        if coeffs.len() != params.degree() {
            return Err(Error::LengthMismatch {
                expected: params.degree(),
                found: coeffs.len(),
            });
        }
        let r = lift_signed(&coeffs, &qp_moduli(params))?;
        Ok(Self {
            params: Arc::clone(params),
            committee: committee.clone(),
            id,
            share: SecretQp(split_qp(params, r.to_vec())),
            small: Some(coeffs),
        })
    }

    /// The party's id.
    pub fn id(&self) -> PartyId {
        self.id
    }

    /// The committee.
    pub fn committee(&self) -> &Committee {
        &self.committee
    }

    /// The ring parameters.
    pub fn params(&self) -> &Arc<RlweParams> {
        &self.params
    }

    /// Whether this is a Shamir share (after re-sharing) rather than an additive one.
    pub fn is_shamir(&self) -> bool {
        self.small.is_none()
    }

    /// The share to use in a run among `set`: `s_i` (additive; `set` must be the whole
    /// committee) or `l_i·S(α_i)` with `l_i = Π_{j ∈ set, j ≠ i} α_j / (α_j - α_i)` (Shamir).
    ///
    /// # Errors
    /// [`ThresholdError::InvalidParticipants`] if `set` is of another committee or does not
    /// contain this party; [`ThresholdError::BelowThreshold`] is raised by
    /// [`ActiveSet::new`] already.
    pub fn active(&self, set: &ActiveSet) -> Result<ActiveShare> {
        if set.committee_digest() != self.committee.digest() {
            return Err(ThresholdError::InvalidParticipants {
                reason: "the active set belongs to another committee",
            }
            .into());
        }
        if !set.contains(self.id) {
            return Err(ThresholdError::InvalidParticipants {
                reason: "this party is not in the active set",
            }
            .into());
        }
        let mut s = self.share.clone_secret();
        if self.is_shamir() {
            let l = lagrange(&self.params, self.id, set.ids())?;
            let nq = self.params.max_level();
            s.0.q.mul_rns_scalar_assign(&l[..nq])?;
            s.0.p.mul_rns_scalar_assign(&l[nq..])?;
        }
        Ok(ActiveShare {
            params: Arc::clone(&self.params),
            id: self.id,
            set: set.clone(),
            s,
        })
    }
}

/// The Lagrange coefficient of `id` at 0 for the points `set`, modulo every prime of `Q ∪ P`.
pub(crate) fn lagrange(params: &RlweParams, id: PartyId, set: &[PartyId]) -> Result<Vec<u64>> {
    let moduli = qp_moduli(params);
    let ai = u64::from(id.get());
    moduli
        .iter()
        .map(|q| {
            let mut num = q.reduce(1);
            let mut den = q.reduce(1);
            for &j in set {
                if j == id {
                    continue;
                }
                let aj = q.reduce(u64::from(j.get()));
                num = q.mul(num, aj);
                den = q.mul(den, q.sub(aj, q.reduce(ai)));
            }
            Ok(q.mul(num, q.inv(den)?))
        })
        .collect()
}

/// A party's share for one run among an [`ActiveSet`]: the active shares of the set sum to the
/// ideal secret. Zeroized on drop, redacted `Debug`, no `Clone`.
pub struct ActiveShare {
    pub(crate) params: Arc<RlweParams>,
    pub(crate) id: PartyId,
    pub(crate) set: ActiveSet,
    pub(crate) s: SecretQp,
}

impl fmt::Debug for ActiveShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActiveShare")
            .field("id", &self.id)
            .field("active", &self.set.len())
            .field("share", &"<redacted>")
            .finish()
    }
}

impl ZeroizeOnDrop for ActiveShare {}

impl ActiveShare {
    /// The party's id.
    pub fn id(&self) -> PartyId {
        self.id
    }

    /// The active set.
    pub fn set(&self) -> &ActiveSet {
        &self.set
    }

    /// The ring parameters.
    pub fn params(&self) -> &Arc<RlweParams> {
        &self.params
    }

    pub(crate) fn header(
        &self,
        kind: super::ProtocolKind,
        instance: [u8; 32],
    ) -> super::ShareHeader {
        super::ShareHeader {
            kind,
            instance,
            set: *self.set.digest(),
            party: self.id,
        }
    }
}

/// **Reference tests only**: forms the ideal secret key `s = Σ s_i` from every additive share.
/// This is exactly what the threshold protocols exist to avoid: no deployment may call it. It
/// lets one test check the collective keys against single-key decryption.
///
/// # Errors
/// [`ThresholdError::InvalidParticipants`] for Shamir shares, shares of different committees,
/// or not exactly one share per committee member.
pub fn ideal_secret_key_for_reference_test(shares: &[&PartySecret]) -> Result<SecretKey> {
    let first = shares.first().ok_or(ThresholdError::InvalidParticipants {
        reason: "no shares",
    })?;
    let committee = &first.committee;
    let set = committee.all()?;
    let headers: Vec<_> = shares
        .iter()
        .map(|s| super::ShareHeader {
            kind: super::ProtocolKind::Decryption,
            instance: [0; 32],
            set: if s.committee == *committee {
                *set.digest()
            } else {
                [0; 32]
            },
            party: s.id,
        })
        .collect();
    super::common::check_headers(
        super::ProtocolKind::Decryption,
        &[0; 32],
        &set,
        headers.iter(),
    )?;
    let mut sum = Zeroizing::new(vec![0i64; first.params.degree()]);
    for s in shares {
        let small = s
            .small
            .as_ref()
            .ok_or(ThresholdError::InvalidParticipants {
                reason: "the reference key needs additive shares",
            })?;
        for (a, b) in sum.iter_mut().zip(small.iter()) {
            *a += *b;
        }
    }
    let key = SecretKey::from_coefficients(&first.params, &sum);
    sum.zeroize();
    key
}
