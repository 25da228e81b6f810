//! The cryptographic steps every agency, the computation node and the combiner run, on the
//! library's public APIs: the flow study's public description, collective key generation
//! (public key, Galois keys the analysis needs), encryption and signing of an agency's
//! contribution, the node's evaluation, and threshold decryption of declared outputs only.
//! The demo runs them in one process; the workflow subcommands run them one process per agency.

use crate::study::Study;
use anyhow::{bail, Context, Result};
use ed25519_dalek::SigningKey;
use migrationfhe::analytics::flows::{self, FlowSpec, Level};
use migrationfhe::analytics::{
    BfvBackend, BfvEncryptor, Decryptor, Encryptor, PlainInt, SlotBackend, Submission,
};
use migrationfhe::bfv;
use migrationfhe::threshold::{
    ActiveSet, ActiveShare, BfvDecryption, Committee, Crs, DecryptionPolicy, DecryptionShare,
    GaloisKeyShare, Instance, PartyId, ProtocolKind, PublicKeyShare, ShareLog,
};
use rand_core::{CryptoRng, RngCore};
use std::collections::HashMap;
use std::sync::Arc;

/// The analysis's public description for the library.
pub fn flow_spec(study: &Study) -> FlowSpec {
    let index: HashMap<&str, usize> = study.countries.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    FlowSpec {
        analysis: study.analysis.clone(),
        nodes: study.countries.clone(),
        periods: study.periods.clone(),
        agencies: study
            .agencies
            .iter()
            .map(|a| flows::AgencySpec {
                name: a.spec.id.clone(),
                members: a.spec.countries.iter().filter_map(|c| index.get(c.as_str()).copied()).collect(),
                max_cell: a.max_cell,
                max_total: a.max_total,
            })
            .collect(),
        levels: vec![Level { name: "region".into(), names: study.regions.clone(), grouping: study.country_region.clone() }],
        corridors: study.corridors.clone(),
        stacked: true,
    }
}

/// The threshold committee: every agency by its party id, `n`-out-of-`n`.
pub fn committee(study: &Study) -> Result<Committee> {
    let ids: Vec<PartyId> = study.agencies.iter().map(|a| PartyId::new(a.party)).collect::<migrationfhe::Result<_>>()?;
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

/// The Galois elements the declared analysis rotates by: found by running it once on the
/// plaintext stand-in backend with all-zero contributions (the operations do not depend on
/// the data).
pub fn galois_elements(study: &Study, params: &Arc<bfv::Parameters>) -> Result<Vec<u64>> {
    let be = PlainInt::like_bfv(params)?;
    let spec = flow_spec(study);
    let layout = spec.layout(be.slots(), be.row_len())?;
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let zeros = vec![0u64; spec.nodes.len() * spec.nodes.len()];
    let mut subs = Vec::new();
    for a in 0..spec.agencies.len() {
        let (fwd, rev) = flows::contribution(&spec, &layout, a, &zeros)?;
        for p in &spec.periods {
            for (vals, reverse) in [(&fwd, false), (&rev, true)] {
                let cts = vals.iter().map(|v| be.encode(v)).collect::<migrationfhe::Result<Vec<_>>>()?;
                subs.push(Submission::sign(&be, &spec.analysis, &spec.agencies[a].name, &flows::contribution_label(p, reverse), cts, &key));
            }
        }
    }
    flows::evaluate(&be, &spec, params.plaintext_modulus(), &subs)?;
    let n = params.degree();
    let mut elements: Vec<u64> = be
        .counter()
        .rotation_steps()
        .into_iter()
        .map(|k| bfv::rotation_element(n, i64::try_from(k).unwrap_or(0)))
        .collect();
    if be.counter().used_row_swap() {
        elements.push(bfv::row_swap_element(n));
    }
    elements.sort_unstable();
    elements.dedup();
    Ok(elements)
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
            .map(|per_party| per_party.get(i).cloned().context("a party sent too few Galois key shares"))
            .collect::<Result<_>>()?;
        keys.insert(GaloisKeyShare::aggregate(params.ring(), &galois_instance(crs, g), set, &shares)?);
    }
    Ok((pk, keys))
}

/// Encrypts and signs an agency's contribution: per period, the `forward` and `reverse`
/// packings of its inflow columns, under the collective public key.
pub fn encrypt_contribution(
    study: &Study,
    params: &Arc<bfv::Parameters>,
    pk: &bfv::PublicKey,
    agency: &str,
    counts: &[Vec<u64>],
    key: &SigningKey,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Vec<Submission<bfv::Ciphertext>>> {
    let spec = flow_spec(study);
    let be = BfvBackend::new(params, bfv::GaloisKeys::default(), None);
    let layout = spec.layout(be.slots(), be.row_len())?;
    let a = spec.agencies.iter().position(|x| x.name == agency).with_context(|| format!("agency `{agency}` not in the study"))?;
    let enc = BfvEncryptor::new(params, pk.clone());
    let mut out = Vec::new();
    for (p, period) in spec.periods.iter().enumerate() {
        let (fwd, rev) = flows::contribution(&spec, &layout, a, &counts[p])?;
        for (vals, reverse) in [(fwd, false), (rev, true)] {
            let cts = vals.iter().map(|v| enc.encrypt(v, rng)).collect::<migrationfhe::Result<Vec<_>>>()?;
            out.push(Submission::sign(&be, &spec.analysis, agency, &flows::contribution_label(period, reverse), cts, key));
        }
    }
    Ok(out)
}

/// Prepares a declared output's ciphertext for collective decryption by `set`.
pub fn prepare(ct: &bfv::Ciphertext, set: &ActiveSet) -> Result<BfvDecryption> {
    Ok(BfvDecryption::new(ct, set, &DecryptionPolicy::with_lambda(40)?)?)
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
    /// Ciphertexts decrypted so far.
    pub count: std::cell::Cell<usize>,
}

impl Decryptor<BfvBackend> for InProcessThreshold {
    fn decrypt(&self, ct: &bfv::Ciphertext) -> migrationfhe::Result<Vec<i64>> {
        let prepared = BfvDecryption::new(ct, &self.set, &DecryptionPolicy::with_lambda(40)?)?;
        let mut rng = rand_core::OsRng;
        let mut parties = self.parties.borrow_mut();
        let shares: Vec<DecryptionShare> = parties
            .iter_mut()
            .map(|(a, log)| a.decryption_share(prepared.input(), log.as_mut(), &mut rng))
            .collect::<migrationfhe::Result<_>>()?;
        self.count.set(self.count.get() + 1);
        prepared.combine(&self.set, &shares)?.decode_signed()
    }
}

/// Refuses a study whose count bound does not fit the preset.
pub fn check_bound(study: &Study, params: &bfv::Parameters) -> Result<u128> {
    let spec = flow_spec(study);
    match spec.check_count_bound(params.plaintext_modulus()) {
        Ok(b) => Ok(b),
        Err(e) => bail!("{e}"),
    }
}
