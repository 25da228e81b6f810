//! The agencies together: the threshold committee, collective key generation (public key and
//! the Galois keys the analysis needs, from the study's common reference seed) and collective
//! decryption of declared outputs, on the library's `threshold` module (Mouchet et al.,
//! PETS 2021).

use crate::study::Study;
use anyhow::{Context, Result};
use migrationfhe::analytics::{BfvBackend, Decryptor};
use migrationfhe::bfv;
use migrationfhe::threshold::{
    ActiveSet, ActiveShare, BfvDecryption, Committee, Crs, DecryptionPolicy, GaloisKeyShare,
    Instance, PartyId, ProtocolKind, PublicKeyShare, ShareLog,
};
use rand_core::{CryptoRng, RngCore};
use std::sync::Arc;

/// The threshold committee: every agency by its party id, `n`-out-of-`n`.
pub fn committee(study: &Study) -> Result<Committee> {
    let ids: Vec<PartyId> = study
        .agencies
        .iter()
        .map(|a| PartyId::new(a.party))
        .collect::<migrationfhe::Result<_>>()?;
    Ok(Committee::new(&ids, ids.len())?)
}

/// The active set of a run (every agency).
pub fn active_set(study: &Study) -> Result<ActiveSet> {
    Ok(committee(study)?.all()?)
}

/// The common reference string of the study.
pub fn crs(study: &Study) -> Result<Crs> {
    Ok(Crs::new(study.seed()?))
}

/// Protocol instance of the collective public key.
pub fn pk_instance(crs: &Crs) -> Instance {
    crs.instance(ProtocolKind::PublicKey, b"bfv/public-key")
}

/// Protocol instance of the Galois key of element `g`.
pub fn galois_instance(crs: &Crs, g: u64) -> Instance {
    crs.instance(ProtocolKind::Galois, format!("bfv/galois/{g}").as_bytes())
}

/// One agency's round of key generation: its public-key share and one share per Galois
/// element. Each share is recorded in the agency's log first (no share is ever made twice).
pub fn keygen_shares(
    active: &ActiveShare,
    crs: &Crs,
    elements: &[u64],
    log: &mut dyn ShareLog,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(PublicKeyShare, Vec<GaloisKeyShare>)> {
    let pk = active.public_key_share(&pk_instance(crs), log, rng)?;
    let galois = elements
        .iter()
        .map(|&g| active.galois_key_share(&galois_instance(crs, g), g, log, rng))
        .collect::<migrationfhe::Result<Vec<_>>>()?;
    Ok((pk, galois))
}

/// Aggregates every agency's shares into the collective public key and Galois keys.
pub fn combine_keys(
    params: &Arc<bfv::Parameters>,
    crs: &Crs,
    set: &ActiveSet,
    elements: &[u64],
    pk_shares: &[PublicKeyShare],
    galois_shares: &[Vec<GaloisKeyShare>],
) -> Result<(bfv::PublicKey, bfv::GaloisKeys)> {
    let pk = PublicKeyShare::aggregate(params.ring(), &pk_instance(crs), set, pk_shares)?;
    let mut keys = bfv::GaloisKeys::default();
    for (i, &g) in elements.iter().enumerate() {
        let shares: Vec<GaloisKeyShare> = galois_shares
            .iter()
            .map(|per_party| {
                per_party
                    .get(i)
                    .cloned()
                    .context("a party sent too few Galois key shares")
            })
            .collect::<Result<_>>()?;
        keys.insert(GaloisKeyShare::aggregate(
            params.ring(),
            &galois_instance(crs, g),
            set,
            &shares,
        )?);
    }
    Ok((pk, keys))
}

/// Prepares a declared output's ciphertext for collective decryption by `set`.
pub fn prepare(ct: &bfv::Ciphertext, set: &ActiveSet) -> Result<BfvDecryption> {
    Ok(BfvDecryption::new(
        ct,
        set,
        &DecryptionPolicy::with_lambda(40)?,
    )?)
}

/// Slot values of a combined plaintext.
pub fn decode(pt: &bfv::Plaintext) -> Result<Vec<i64>> {
    Ok(pt.decode_signed()?)
}

/// Threshold decryption inside one process (the demo): each agency, holding its own share
/// and log, releases a decryption share of the prepared ciphertext; the shares are combined.
/// Called only through `open_output`, which checks the transcript first.
pub struct InProcessThreshold {
    /// The agencies' active shares and logs.
    pub parties: std::cell::RefCell<Vec<(ActiveShare, Box<dyn ShareLog>)>>,
    /// The active set.
    pub set: ActiveSet,
    /// The parties' randomness (in a deployment each party has its own).
    pub rng: std::cell::RefCell<rand_chacha::ChaCha20Rng>,
    /// Per party: seconds spent on its decryption shares and their bytes.
    pub costs: std::cell::RefCell<Vec<(f64, u64)>>,
    /// Ciphertexts decrypted so far.
    pub count: std::cell::Cell<usize>,
}

impl Decryptor<BfvBackend> for InProcessThreshold {
    fn decrypt(&self, ct: &bfv::Ciphertext) -> migrationfhe::Result<Vec<i64>> {
        let prepared = BfvDecryption::new(ct, &self.set, &DecryptionPolicy::with_lambda(40)?)?;
        let mut rng = self.rng.borrow_mut();
        let mut parties = self.parties.borrow_mut();
        let mut costs = self.costs.borrow_mut();
        costs.resize(parties.len(), (0.0, 0));
        let mut shares = Vec::with_capacity(parties.len());
        for ((a, log), cost) in parties.iter_mut().zip(costs.iter_mut()) {
            let start = std::time::Instant::now();
            let share = a.decryption_share(prepared.input(), log.as_mut(), &mut *rng)?;
            cost.0 += start.elapsed().as_secs_f64();
            cost.1 += crate::messages::decryption_share_len(&share, ct.params()).unwrap_or(0);
            shares.push(share);
        }
        self.count.set(self.count.get() + 1);
        prepared.combine(&self.set, &shares)?.decode_signed()
    }
}
