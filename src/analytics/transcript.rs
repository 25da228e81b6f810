//! The audit transcript: a SHA-256 hash chain over every signed submission, every operation
//! with its parameters, and every declared output, and the authorisation check that gates
//! decryption.
//!
//! `head_0 = SHA-256("migrationfhe-transcript-v1")`, `head_{i+1} = SHA-256(head_i ‖ enc(e_i))`
//! where `enc` is a tagged, length-prefixed encoding of entry `e_i`. Submissions carry the
//! SHA-256 digests of their ciphertexts (a canonical dump of every residue, see
//! [`SlotBackend::digest`]) and an Ed25519 signature (RFC 8032, `ed25519-dalek`) by the
//! agency over `SHA-256("migrationfhe-submission-v1" ‖ analysis ‖ agency ‖ label ‖ digests)`,
//! so a submission cannot be replayed into another analysis. Evaluation is deterministic, so
//! anyone holding the submissions can re-execute it and compare the transcripts entry for entry
//! and the final head bit for bit ([`Transcript::same_as`]); before releasing a decryption
//! share, a party checks [`Transcript::authorises`]: the ciphertext is a declared output of a
//! transcript whose chain and signatures verify.
//!
//! `authorises` alone only proves that the node *declared* the ciphertext an output; a chain
//! can be fabricated by whoever holds the submissions. A party that does not trust the node
//! therefore re-executes the declared analysis from the signed submissions first (the
//! `verify` functions of [`flows`](super::flows), [`graph`](super::graph) and
//! [`stats`](super::stats), at the cost of one evaluation) and checks that the `Begin` entry
//! names the analysis and public parameters it agreed to; only then is every output of the
//! transcript the result of the declared computation.

use super::backend::SlotBackend;
use super::linear::SlotRef;
use crate::error::{Error, Result};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

/// A 32-byte SHA-256 digest.
pub type Digest32 = [u8; 32];

/// One entry of the transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// The analysis, the scheme and parameters, and public inputs' description.
    Begin {
        /// The analysis identifier (bound into every submission signature).
        analysis: String,
        /// The backend ([`SlotBackend::describe`]).
        backend: String,
        /// Public parameters of the analysis (layout, groups, iterations …).
        parameters: String,
    },
    /// A signed submission of one agency.
    Submission {
        /// The agency's name.
        agency: String,
        /// What the submission holds (e.g. `flows/2005-2010/forward`).
        label: String,
        /// Digest of each ciphertext.
        digests: Vec<Digest32>,
        /// The agency's Ed25519 verifying key.
        verifying_key: [u8; 32],
        /// The Ed25519 signature.
        signature: Vec<u8>,
    },
    /// A homomorphic operation (or a block of them) with its public parameters.
    Operation {
        /// Name of the operation.
        name: String,
        /// Its public parameters.
        parameters: String,
        /// Digests of the resulting ciphertexts.
        digests: Vec<Digest32>,
    },
    /// A declared, authorised output.
    Output {
        /// Name of the output.
        name: String,
        /// Digest of each ciphertext.
        digests: Vec<Digest32>,
        /// The slots that are read (and the only ones not masked to zero).
        slots: Vec<SlotRef>,
    },
}

fn put(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

impl Entry {
    fn absorb(&self, h: &mut Sha256) {
        match self {
            Self::Begin {
                analysis,
                backend,
                parameters,
            } => {
                h.update([0u8]);
                put(h, analysis.as_bytes());
                put(h, backend.as_bytes());
                put(h, parameters.as_bytes());
            }
            Self::Submission {
                agency,
                label,
                digests,
                verifying_key,
                signature,
            } => {
                h.update([1u8]);
                put(h, agency.as_bytes());
                put(h, label.as_bytes());
                h.update((digests.len() as u64).to_le_bytes());
                for d in digests {
                    h.update(d);
                }
                h.update(verifying_key);
                put(h, signature);
            }
            Self::Operation {
                name,
                parameters,
                digests,
            } => {
                h.update([2u8]);
                put(h, name.as_bytes());
                put(h, parameters.as_bytes());
                h.update((digests.len() as u64).to_le_bytes());
                for d in digests {
                    h.update(d);
                }
            }
            Self::Output {
                name,
                digests,
                slots,
            } => {
                h.update([3u8]);
                put(h, name.as_bytes());
                h.update((digests.len() as u64).to_le_bytes());
                for d in digests {
                    h.update(d);
                }
                h.update((slots.len() as u64).to_le_bytes());
                for &(c, s) in slots {
                    h.update((c as u64).to_le_bytes());
                    h.update((s as u64).to_le_bytes());
                }
            }
        }
    }
}

const CHAIN_DOMAIN: &[u8] = b"migrationfhe-transcript-v1";
const SUBMISSION_DOMAIN: &[u8] = b"migrationfhe-submission-v1";

/// The hash-chained audit transcript of one evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transcript {
    entries: Vec<Entry>,
    head: Digest32,
}

fn start_head() -> Digest32 {
    Sha256::digest(CHAIN_DOMAIN).into()
}

fn chain(head: &Digest32, e: &Entry) -> Digest32 {
    let mut h = Sha256::new();
    h.update(head);
    e.absorb(&mut h);
    h.finalize().into()
}

/// The message an agency signs for a submission.
pub fn submission_message(
    analysis: &str,
    agency: &str,
    label: &str,
    digests: &[Digest32],
) -> Digest32 {
    let mut h = Sha256::new();
    put(&mut h, SUBMISSION_DOMAIN);
    put(&mut h, analysis.as_bytes());
    put(&mut h, agency.as_bytes());
    put(&mut h, label.as_bytes());
    for d in digests {
        h.update(d);
    }
    h.finalize().into()
}

/// An agency's signed, encrypted submission.
#[derive(Clone, Debug)]
pub struct Submission<Ct> {
    /// The agency's name.
    pub agency: String,
    /// What it holds (e.g. `flows/2005-2010/forward`).
    pub label: String,
    /// The ciphertexts.
    pub cts: Vec<Ct>,
    /// Their digests (recomputed and checked by the node).
    pub digests: Vec<Digest32>,
    /// The agency's Ed25519 verifying key.
    pub verifying_key: [u8; 32],
    /// Signature over [`submission_message`].
    pub signature: [u8; 64],
}

impl<Ct> Submission<Ct> {
    /// Digests the ciphertexts (with `be`, which needs no keys) and signs them for `analysis`.
    pub fn sign<B: SlotBackend<Ct = Ct>>(
        be: &B,
        analysis: &str,
        agency: &str,
        label: &str,
        cts: Vec<Ct>,
        key: &SigningKey,
    ) -> Self {
        let digests: Vec<Digest32> = cts.iter().map(|c| be.digest(c)).collect();
        let msg = submission_message(analysis, agency, label, &digests);
        let signature = key.sign(&msg).to_bytes();
        Self {
            agency: agency.to_string(),
            label: label.to_string(),
            cts,
            digests,
            verifying_key: key.verifying_key().to_bytes(),
            signature,
        }
    }

    /// Checks the digests against the ciphertexts and the signature.
    ///
    /// # Errors
    /// [`Error::Analytics`] naming the agency and label when either check fails.
    pub fn verify<B: SlotBackend<Ct = Ct>>(&self, be: &B, analysis: &str) -> Result<()> {
        let bad = |what: &str| Error::Analytics {
            reason: format!(
                "submission `{}` of agency `{}`: {what}",
                self.label, self.agency
            ),
        };
        if self.cts.len() != self.digests.len()
            || self
                .cts
                .iter()
                .zip(&self.digests)
                .any(|(c, d)| be.digest(c) != *d)
        {
            return Err(bad("ciphertext digests do not match"));
        }
        verify_signature(
            analysis,
            &self.agency,
            &self.label,
            &self.digests,
            &self.verifying_key,
            &self.signature,
        )
        .map_err(|_| bad("signature does not verify"))
    }
}

fn verify_signature(
    analysis: &str,
    agency: &str,
    label: &str,
    digests: &[Digest32],
    vk: &[u8; 32],
    sig: &[u8],
) -> Result<()> {
    let err = || Error::Analytics {
        reason: format!("signature of agency `{agency}` on `{label}` does not verify"),
    };
    let vk = VerifyingKey::from_bytes(vk).map_err(|_| err())?;
    let sig = Signature::from_slice(sig).map_err(|_| err())?;
    let msg = submission_message(analysis, agency, label, digests);
    vk.verify(&msg, &sig).map_err(|_| err())
}

impl Transcript {
    /// A transcript opened for `analysis` on `backend` with public `parameters`.
    pub fn begin(analysis: &str, backend: &str, parameters: &str) -> Self {
        let mut t = Self {
            entries: Vec::new(),
            head: start_head(),
        };
        t.push(Entry::Begin {
            analysis: analysis.to_string(),
            backend: backend.to_string(),
            parameters: parameters.to_string(),
        });
        t
    }

    fn push(&mut self, e: Entry) {
        self.head = chain(&self.head, &e);
        self.entries.push(e);
    }

    /// The analysis identifier.
    pub fn analysis(&self) -> &str {
        match self.entries.first() {
            Some(Entry::Begin { analysis, .. }) => analysis,
            _ => "",
        }
    }

    /// Records a submission after checking its digests and signature.
    ///
    /// # Errors
    /// As [`Submission::verify`].
    pub fn submission<B: SlotBackend>(&mut self, be: &B, s: &Submission<B::Ct>) -> Result<()> {
        s.verify(be, self.analysis())?;
        self.push(Entry::Submission {
            agency: s.agency.clone(),
            label: s.label.clone(),
            digests: s.digests.clone(),
            verifying_key: s.verifying_key,
            signature: s.signature.to_vec(),
        });
        Ok(())
    }

    /// Records an operation and the digests of its results.
    pub fn operation<B: SlotBackend>(
        &mut self,
        be: &B,
        name: &str,
        parameters: &str,
        results: &[B::Ct],
    ) {
        let digests = results.iter().map(|c| be.digest(c)).collect();
        self.push(Entry::Operation {
            name: name.to_string(),
            parameters: parameters.to_string(),
            digests,
        });
    }

    /// Records a declared output.
    pub fn output<B: SlotBackend>(&mut self, be: &B, out: &DeclaredOutput<B::Ct>) {
        self.push(Entry::Output {
            name: out.name.clone(),
            digests: out.cts.iter().map(|c| be.digest(c)).collect(),
            slots: out.slots.clone(),
        });
    }

    /// The entries.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The chain head.
    pub fn head(&self) -> Digest32 {
        self.head
    }

    /// Recomputes the chain and checks every submission signature.
    ///
    /// # Errors
    /// [`Error::Analytics`] when the chain head or a signature does not verify.
    pub fn verify_chain(&self) -> Result<()> {
        let analysis = self.analysis().to_string();
        let mut head = start_head();
        for e in &self.entries {
            if let Entry::Submission {
                agency,
                label,
                digests,
                verifying_key,
                signature,
            } = e
            {
                verify_signature(&analysis, agency, label, digests, verifying_key, signature)?;
            }
            head = chain(&head, e);
        }
        if head != self.head {
            return Err(Error::Analytics {
                reason: "transcript hash chain does not verify".into(),
            });
        }
        Ok(())
    }

    /// Checks that `recomputed` (a re-execution from the same submissions) equals this
    /// transcript entry for entry and head for head.
    ///
    /// # Errors
    /// [`Error::Analytics`] naming the first entry that differs.
    pub fn same_as(&self, recomputed: &Transcript) -> Result<()> {
        self.verify_chain()?;
        recomputed.verify_chain()?;
        for (i, (a, b)) in self.entries.iter().zip(&recomputed.entries).enumerate() {
            if a != b {
                return Err(Error::Analytics {
                    reason: format!("re-execution differs at transcript entry {i}"),
                });
            }
        }
        if self.entries.len() != recomputed.entries.len() || self.head != recomputed.head {
            return Err(Error::Analytics {
                reason: "re-execution produced a different number of entries".into(),
            });
        }
        Ok(())
    }

    /// Whether `out` (name, ciphertext digests and read slots) is a declared output of this
    /// transcript, whose chain and signatures verify.
    ///
    /// # Errors
    /// [`Error::Analytics`] when it is not (decryption must then be refused).
    pub fn authorises<B: SlotBackend>(&self, be: &B, out: &DeclaredOutput<B::Ct>) -> Result<()> {
        self.verify_chain()?;
        let digests: Vec<Digest32> = out.cts.iter().map(|c| be.digest(c)).collect();
        let found = self.entries.iter().any(|e| {
            matches!(e, Entry::Output { name, digests: d, slots }
                if *name == out.name && *d == digests && *slots == out.slots)
        });
        if found {
            Ok(())
        } else {
            Err(Error::Analytics {
                reason: format!(
                    "`{}` is not a declared output of this transcript: decryption refused",
                    out.name
                ),
            })
        }
    }

    /// Output entries in order (name, number of values).
    pub fn outputs(&self) -> Vec<(String, usize)> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Output { name, slots, .. } => Some((name.clone(), slots.len())),
                _ => None,
            })
            .collect()
    }
}

/// A declared output: ciphertexts whose slots other than `slots` are masked to zero.
#[derive(Clone, Debug)]
pub struct DeclaredOutput<Ct> {
    /// Name (e.g. `region_matrix/2005-2010`).
    pub name: String,
    /// The ciphertexts.
    pub cts: Vec<Ct>,
    /// The slots read, in output order.
    pub slots: Vec<SlotRef>,
}

/// Decrypts a declared output after checking the transcript authorises it; returns the values
/// at its slots in order.
///
/// # Errors
/// Not authorised; decryption errors.
pub fn open_output<B: SlotBackend, D: super::backend::Decryptor<B>>(
    be: &B,
    dec: &D,
    transcript: &Transcript,
    out: &DeclaredOutput<B::Ct>,
) -> Result<Vec<B::Value>> {
    transcript.authorises(be, out)?;
    let plain: Vec<Vec<B::Value>> = out
        .cts
        .iter()
        .map(|c| dec.decrypt(c))
        .collect::<Result<_>>()?;
    out.slots
        .iter()
        .map(|&(c, s)| {
            plain
                .get(c)
                .and_then(|v| v.get(s))
                .copied()
                .ok_or_else(|| Error::Analytics {
                    reason: "output slot outside its ciphertexts".into(),
                })
        })
        .collect()
}
