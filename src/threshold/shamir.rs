//! `t`-out-of-`n` thresholdisation without a dealer (Mouchet, Bertrand, Hubaux, eprint
//! 2022/780, §4; Lattigo's `Thresholdizer`/`Combiner`).
//!
//! Every party `i` of an `n`-out-of-`n` committee re-shares its additive share `s_i`: it draws a
//! random polynomial `S_i(X) = s_i + c_1 X + … + c_{t-1} X^{t-1}` with coefficients `c_k`
//! uniform in `R_QP` and sends `S_i(α_j)` (`α_j` = party `j`'s id) to each party `j`, **sealed**
//! to `j` ([`deal`]). Party `j` opens what it received and sums it
//! ([`PartySecret::from_dealt`]): `S(α_j) = Σ_i S_i(α_j)` is its Shamir share of
//! `s = S(0) = Σ s_i`. Afterwards any `t` parties can run every protocol: each uses
//! `l_j·S(α_j)` with the Lagrange coefficient of the active set
//! ([`PartySecret::active`]), which sums to `s` over the set.
//!
//! # Sealing
//! A dealt value travels only inside a [`SealedShare`]: X25519 (RFC 7748, `x25519-dalek`)
//! between a fresh ephemeral key and the receiver's [`TransportKey`], *and* between the
//! sender's and the receiver's static transport keys (so the receiver knows the sender), hashed
//! with SHA-256 into a one-time ChaCha20-Poly1305 key (RFC 8439, `chacha20poly1305`); the
//! associated data binds the instance, the sender and receiver ids, the committee and the new
//! threshold. A tampered, misdirected or replayed-into-another-instance message fails to open
//! ([`ThresholdError::SealedShareRejected`], no detail).

use super::common::{qp_moduli, Committee, Instance, PartyId, ProtocolKind};
use super::log::{LogClass, ShareLog};
use super::secret::{PartySecret, SecretQp};
use crate::error::{Error, Result, ThresholdError};
use crate::math::poly::Poly;
use crate::math::sampling::uniform_poly;
use crate::rlwe::PolyQP;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use core::fmt;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use x25519_dalek::{EphemeralSecret, PublicKey as XPublic, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A party's long-term X25519 transport key pair (publish [`public`](Self::public)). Zeroized on
/// drop, redacted `Debug`.
pub struct TransportKey {
    secret: StaticSecret,
    public: [u8; 32],
}

impl fmt::Debug for TransportKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportKey")
            .field("public", &self.public)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl ZeroizeOnDrop for TransportKey {}

impl TransportKey {
    /// A fresh key pair.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let secret = StaticSecret::random_from_rng(rng);
        let public = XPublic::from(&secret).to_bytes();
        Self { secret, public }
    }

    /// The key pair of a stored 32-byte secret.
    pub fn from_secret_bytes(bytes: [u8; 32]) -> Self {
        let secret = StaticSecret::from(bytes);
        let public = XPublic::from(&secret).to_bytes();
        Self { secret, public }
    }

    /// The secret, to store (handle as a secret: wipe the copy after use).
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// The public key to publish.
    pub fn public(&self) -> &[u8; 32] {
        &self.public
    }
}

/// A dealt value `S_i(α_j)` sealed from party `i` to party `j`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedShare {
    /// The re-sharing instance (kind [`ProtocolKind::ShamirDeal`]).
    pub instance: [u8; 32],
    /// Digest of the committee (with its new threshold).
    pub committee: [u8; 32],
    /// The sender `i`.
    pub sender: PartyId,
    /// The receiver `j`.
    pub receiver: PartyId,
    /// The ephemeral X25519 public key.
    pub ephemeral: [u8; 32],
    /// ChaCha20-Poly1305 ciphertext and tag of the residues.
    pub ciphertext: Vec<u8>,
}

/// An opened dealt value. Zeroized on drop, redacted `Debug`.
pub struct DealtShare {
    instance: [u8; 32],
    committee: [u8; 32],
    sender: PartyId,
    receiver: PartyId,
    value: SecretQp,
}

impl fmt::Debug for DealtShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DealtShare")
            .field("sender", &self.sender)
            .field("receiver", &self.receiver)
            .field("value", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl ZeroizeOnDrop for DealtShare {}

fn aad(instance: &[u8; 32], committee: &[u8; 32], sender: PartyId, receiver: PartyId) -> Vec<u8> {
    let mut v = Vec::with_capacity(32 + 32 + 8 + 16);
    v.extend_from_slice(b"mfhe-seal-v1");
    v.extend_from_slice(instance);
    v.extend_from_slice(committee);
    v.extend_from_slice(&sender.get().to_le_bytes());
    v.extend_from_slice(&receiver.get().to_le_bytes());
    v
}

fn seal_key(
    dh_eph: &[u8; 32],
    dh_static: &[u8; 32],
    eph: &[u8; 32],
    sender_pub: &[u8; 32],
    receiver_pub: &[u8; 32],
    ad: &[u8],
) -> Zeroizing<[u8; 32]> {
    let mut h = Sha256::new();
    h.update(b"migrationfhe/threshold/seal-key/v1");
    h.update(dh_eph);
    h.update(dh_static);
    h.update(eph);
    h.update(sender_pub);
    h.update(receiver_pub);
    h.update(ad);
    Zeroizing::new(h.finalize().into())
}

/// Re-shares `secret` (an additive share) for the committee `new` (same parties, threshold
/// `t`): one [`SealedShare`] for each party, the sender included, sealed to the transport
/// public keys `recipients` (one per committee member).
///
/// # Errors
/// [`ThresholdError::InvalidParticipants`] if `secret` is already a Shamir share, `new` has other
/// parties, or `recipients` does not name each party once; [`ThresholdError::WrongInstance`] for
/// an instance of another kind; [`ThresholdError::RepeatedShare`] if `log` already holds the
/// instance (a party deals only once per instance).
pub fn deal(
    secret: &PartySecret,
    new: &Committee,
    inst: &Instance,
    transport: &TransportKey,
    recipients: &[(PartyId, [u8; 32])],
    log: &mut dyn ShareLog,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Vec<SealedShare>> {
    if inst.kind() != ProtocolKind::ShamirDeal {
        return Err(ThresholdError::WrongInstance.into());
    }
    if secret.is_shamir() {
        return Err(ThresholdError::InvalidParticipants {
            reason: "re-sharing starts from additive shares",
        }
        .into());
    }
    if new.ids() != secret.committee().ids() {
        return Err(ThresholdError::InvalidParticipants {
            reason: "the new committee must have the same parties",
        }
        .into());
    }
    let mut ids: Vec<PartyId> = recipients.iter().map(|r| r.0).collect();
    ids.sort_unstable();
    if ids != new.ids() {
        return Err(ThresholdError::InvalidParticipants {
            reason: "one transport key per committee member is needed",
        }
        .into());
    }
    log.record(LogClass::Deal, inst.id())?;
    let rng = &mut super::common::Stream::from_rng(rng);
    let params = secret.params();
    let moduli = qp_moduli(params);
    let n = params.degree();
    let t = new.threshold();
    // Coefficients c_1 … c_{t-1}, uniform over R_QP (limb-major residues).
    let coeffs: Vec<Zeroizing<Vec<u64>>> = (1..t)
        .map(|_| uniform_poly(rng, &moduli, n).map(Zeroizing::new))
        .collect::<Result<_>>()?;
    let mut s_res = Zeroizing::new(
        secret
            .share
            .0
            .q
            .residues()
            .iter()
            .chain(secret.share.0.p.residues())
            .copied()
            .collect::<Vec<u64>>(),
    );
    let mut out = Vec::with_capacity(recipients.len());
    for &(j, pk_j) in recipients {
        // Horner: S_i(α) = ((c_{t-1} α + c_{t-2}) α + …) α + s_i, limb by limb.
        let alpha = u64::from(j.get());
        let mut val = Zeroizing::new(vec![0u64; s_res.len()]);
        for (i, (chunk, q)) in val.chunks_exact_mut(n).zip(&moduli).enumerate() {
            let a = q.reduce(alpha);
            let a_s = q.shoup(a);
            let off = i * n;
            for (k, v) in chunk.iter_mut().enumerate() {
                let mut acc = 0u64;
                for c in coeffs.iter().rev() {
                    acc = q.add(q.mul_shoup(acc, a, a_s), c[off + k]);
                }
                *v = q.add(q.mul_shoup(acc, a, a_s), s_res[off + k]);
            }
        }
        let mut msg = Zeroizing::new(Vec::with_capacity(val.len() * 8));
        for &r in val.iter() {
            msg.extend_from_slice(&r.to_le_bytes());
        }
        let eph = EphemeralSecret::random_from_rng(&mut *rng);
        let eph_pub = XPublic::from(&eph).to_bytes();
        let receiver = XPublic::from(pk_j);
        let dh_e = eph.diffie_hellman(&receiver);
        let dh_s = transport.secret.diffie_hellman(&receiver);
        if !dh_e.was_contributory() || !dh_s.was_contributory() {
            return Err(ThresholdError::SealedShareRejected.into());
        }
        let ad = aad(inst.id(), new.digest(), secret.id(), j);
        let key = seal_key(
            dh_e.as_bytes(),
            dh_s.as_bytes(),
            &eph_pub,
            transport.public(),
            &pk_j,
            &ad,
        );
        let cipher = ChaCha20Poly1305::new(key.as_ref().into());
        let ciphertext = cipher
            .encrypt(
                &[0u8; 12].into(),
                Payload {
                    msg: &msg,
                    aad: &ad,
                },
            )
            .map_err(|_| ThresholdError::SealedShareRejected)?;
        out.push(SealedShare {
            instance: *inst.id(),
            committee: *new.digest(),
            sender: secret.id(),
            receiver: j,
            ephemeral: eph_pub,
            ciphertext,
        });
    }
    s_res.zeroize();
    Ok(out)
}

impl SealedShare {
    /// Opens a share addressed to the holder of `transport`, sent by the holder of
    /// `sender_public`.
    ///
    /// # Errors
    /// [`ThresholdError::SealedShareRejected`] if it does not authenticate (any cause);
    /// [`Error::LengthMismatch`] if the plaintext is not one `R_QP` element of `params`;
    /// [`Error::ValueOutOfRange`] for a residue not below its prime.
    pub fn open(
        &self,
        params: &Arc<crate::rlwe::RlweParams>,
        transport: &TransportKey,
        sender_public: &[u8; 32],
    ) -> Result<DealtShare> {
        let sender = XPublic::from(*sender_public);
        let eph = XPublic::from(self.ephemeral);
        let dh_e = transport.secret.diffie_hellman(&eph);
        let dh_s = transport.secret.diffie_hellman(&sender);
        if !dh_e.was_contributory() || !dh_s.was_contributory() {
            return Err(ThresholdError::SealedShareRejected.into());
        }
        let ad = aad(&self.instance, &self.committee, self.sender, self.receiver);
        let key = seal_key(
            dh_e.as_bytes(),
            dh_s.as_bytes(),
            &self.ephemeral,
            sender_public,
            transport.public(),
            &ad,
        );
        let cipher = ChaCha20Poly1305::new(key.as_ref().into());
        let msg = Zeroizing::new(
            cipher
                .decrypt(
                    &[0u8; 12].into(),
                    Payload {
                        msg: &self.ciphertext,
                        aad: &ad,
                    },
                )
                .map_err(|_| ThresholdError::SealedShareRejected)?,
        );
        let moduli = qp_moduli(params);
        let n = params.degree();
        let len = moduli.len() * n;
        if msg.len() != len * 8 {
            return Err(Error::LengthMismatch {
                expected: len * 8,
                found: msg.len(),
            });
        }
        let mut res = Zeroizing::new(Vec::with_capacity(len));
        for (k, chunk) in msg.chunks_exact(8).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            let v = u64::from_le_bytes(b);
            b.zeroize();
            if v >= moduli[k / n].value() {
                return Err(Error::ValueOutOfRange {
                    what: "dealt residue not below its prime",
                });
            }
            res.push(v);
        }
        let lq = params.max_level() * n;
        let q = Poly::from_raw(params.ctx_q(), params.max_level(), res[..lq].to_vec());
        let p = Poly::from_raw(params.ctx_p(), params.ctx_p().len(), res[lq..].to_vec());
        Ok(DealtShare {
            instance: self.instance,
            committee: self.committee,
            sender: self.sender,
            receiver: self.receiver,
            value: SecretQp(PolyQP { q, p }),
        })
    }
}

impl PartySecret {
    /// Party `id`'s Shamir share from the values dealt to it by every party of `committee`
    /// (the new committee, threshold `t`) in instance `inst`.
    ///
    /// # Errors
    /// [`ThresholdError`] variants for values of another instance, committee or receiver, from
    /// outside the committee, duplicated or missing.
    pub fn from_dealt(
        params: &Arc<crate::rlwe::RlweParams>,
        committee: &Committee,
        id: PartyId,
        inst: &Instance,
        dealt: &[DealtShare],
    ) -> Result<Self> {
        if !committee.contains(id) {
            return Err(ThresholdError::InvalidParticipants {
                reason: "the party is not in the committee",
            }
            .into());
        }
        let mut seen = vec![false; committee.len()];
        for d in dealt {
            if d.instance != *inst.id() || d.committee != *committee.digest() || d.receiver != id {
                return Err(ThresholdError::WrongInstance.into());
            }
            let k = committee.ids().binary_search(&d.sender).map_err(|_| {
                ThresholdError::UnexpectedParty {
                    party: d.sender.get(),
                }
            })?;
            if seen[k] {
                return Err(ThresholdError::DuplicateParty {
                    party: d.sender.get(),
                }
                .into());
            }
            seen[k] = true;
        }
        if dealt.len() != committee.len() {
            return Err(ThresholdError::MissingShares {
                received: dealt.len(),
                expected: committee.len(),
            }
            .into());
        }
        let mut acc = SecretQp(PolyQP {
            q: Poly::zero(params.ctx_q()),
            p: Poly::zero(params.ctx_p()),
        });
        for d in dealt {
            acc.0.q.add_assign(&d.value.0.q)?;
            acc.0.p.add_assign(&d.value.0.p)?;
        }
        Ok(PartySecret {
            params: Arc::clone(params),
            committee: committee.clone(),
            id,
            share: acc,
            small: None,
        })
    }
}
