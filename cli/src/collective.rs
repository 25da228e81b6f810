//! The agencies together: the threshold committee, collective key generation (public key and
//! the Galois keys the analysis needs, from the study's common reference seed) and collective
//! decryption of declared outputs, on the library's `threshold` module (Mouchet et al.,
//! PETS 2021).

use crate::study::Study;
use anyhow::{Context, Result};
use migrationfhe::analytics::{BfvBackend, CkksBackend, Decryptor};
use migrationfhe::rlwe::RelinearizationKey;
use migrationfhe::threshold::Crp;
use migrationfhe::threshold::{
    ActiveSet, ActiveShare, BfvDecryption, Committee, Crs, DecryptionPolicy, GaloisKeyShare,
    PartyId, ProtocolKind, PublicKeyShare, ShareLog,
};
use migrationfhe::threshold::{CkksDecryption, RelinRound1Share, RelinRound2Share};
use migrationfhe::{bfv, ckks};
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

/// The committee of a `t`-of-`n` study after re-sharing: the same agencies, threshold `t`.
pub fn shamir_committee(study: &Study) -> Result<Committee> {
    Ok(committee(study)?.with_threshold(study.threshold)?)
}

/// The active set of a run (every agency).
pub fn active_set(study: &Study) -> Result<ActiveSet> {
    Ok(committee(study)?.all()?)
}

/// The common reference string of the study.
pub fn crs(study: &Study) -> Result<Crs> {
    Ok(Crs::new(study.seed()?))
}

/// Common reference polynomial of the collective BFV public key.
pub fn pk_crp(params: &bfv::Parameters, crs: &Crs) -> migrationfhe::Result<Crp> {
    Crp::new(
        params.ring(),
        &crs.instance(ProtocolKind::PublicKey, b"bfv/public-key"),
    )
}

/// Common reference polynomials of the BFV Galois key of element `g`.
pub fn galois_crp(params: &bfv::Parameters, crs: &Crs, g: u64) -> migrationfhe::Result<Crp> {
    Crp::new(
        params.ring(),
        &crs.instance(ProtocolKind::Galois, format!("bfv/galois/{g}").as_bytes()),
    )
}

/// One agency's round of key generation: its public-key share and one share per Galois
/// element. Each share is recorded in the agency's log first (no share is ever made twice).
pub fn keygen_shares(
    params: &bfv::Parameters,
    active: &ActiveShare,
    crs: &Crs,
    elements: &[u64],
    log: &mut dyn ShareLog,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(PublicKeyShare, Vec<GaloisKeyShare>)> {
    let pk = active.public_key_share(&pk_crp(params, crs)?, log, rng)?;
    let galois = elements
        .iter()
        .map(|&g| active.galois_key_share(&galois_crp(params, crs, g)?, g, log, rng))
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
    let pk = PublicKeyShare::aggregate(params.ring(), &pk_crp(params, crs)?, set, pk_shares)?;
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
            &galois_crp(params, crs, g)?,
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
            cost.1 += share
                .to_bytes(ct.params().ring())
                .map_or(0, |b| b.len() as u64);
            shares.push(share);
        }
        self.count.set(self.count.get() + 1);
        prepared.combine(&self.set, &shares)?.decode_signed()
    }
}

/// A collective CKKS key set: public key, relinearisation key and the Galois keys of the
/// rotations the analyses use.
pub struct CkksKeys {
    /// Collective public key.
    pub pk: ckks::PublicKey,
    /// Collective relinearisation key (two rounds).
    pub rlk: RelinearizationKey,
    /// Collective Galois keys.
    pub galois: ckks::GaloisKeys,
}

/// Runs the CKKS key-generation protocols among the parties of one process (the demo): every
/// party's public-key share, both relinearisation rounds and one share per Galois element;
/// `tag` separates the protocol instances of different key sets. Returns the keys and each
/// party's seconds.
pub fn ckks_keys(
    params: &Arc<ckks::Parameters>,
    crs: &Crs,
    set: &ActiveSet,
    parties: &mut [(ActiveShare, Box<dyn ShareLog>)],
    steps: &[usize],
    tag: &str,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(CkksKeys, Vec<f64>)> {
    let ring = params.rlwe();
    let mut secs = vec![0.0; parties.len()];
    let pk_inst = Crp::new(
        ring,
        &crs.instance(
            ProtocolKind::PublicKey,
            format!("{tag}/public-key").as_bytes(),
        ),
    )?;
    let rlk_inst = Crp::new(
        ring,
        &crs.instance(
            ProtocolKind::RelinRound1,
            format!("{tag}/relinearisation").as_bytes(),
        ),
    )?;
    let mut elements: Vec<u64> = steps
        .iter()
        .map(|&k| params.rotation_element(i64::try_from(k).unwrap_or(0)))
        .collect();
    elements.sort_unstable();
    elements.dedup();
    let g_crps: Vec<Crp> = elements
        .iter()
        .map(|g| {
            Crp::new(
                ring,
                &crs.instance(ProtocolKind::Galois, format!("{tag}/galois/{g}").as_bytes()),
            )
        })
        .collect::<migrationfhe::Result<_>>()?;
    // Protocol by protocol, so that only one protocol's shares are held at once.
    let mut pk_shares = Vec::new();
    let mut r1 = Vec::new();
    let mut ephemerals = Vec::new();
    for ((a, log), t) in parties.iter_mut().zip(secs.iter_mut()) {
        let start = std::time::Instant::now();
        pk_shares.push(a.public_key_share(&pk_inst, log.as_mut(), rng)?);
        let (eph, share) = a.relin_round1(&rlk_inst, log.as_mut(), rng)?;
        ephemerals.push(eph);
        r1.push(share);
        *t += start.elapsed().as_secs_f64();
    }
    let pk =
        ckks::PublicKey::from_rlwe(&PublicKeyShare::aggregate(ring, &pk_inst, set, &pk_shares)?);
    drop(pk_shares);
    let agg = RelinRound1Share::aggregate(ring, &rlk_inst, set, &r1)?;
    drop(r1);
    let mut r2 = Vec::new();
    for (((a, log), eph), t) in parties.iter_mut().zip(ephemerals).zip(secs.iter_mut()) {
        let start = std::time::Instant::now();
        r2.push(a.relin_round2(&rlk_inst, eph, &agg, log.as_mut(), rng)?);
        *t += start.elapsed().as_secs_f64();
    }
    let rlk = RelinRound2Share::aggregate(ring, &rlk_inst, set, &r2)?;
    drop(r2);
    let mut galois = ckks::GaloisKeys::default();
    for (&g, crp) in elements.iter().zip(&g_crps) {
        let mut shares = Vec::with_capacity(parties.len());
        for ((a, log), t) in parties.iter_mut().zip(secs.iter_mut()) {
            let start = std::time::Instant::now();
            shares.push(a.galois_key_share(crp, g, log.as_mut(), rng)?);
            *t += start.elapsed().as_secs_f64();
        }
        galois.insert(GaloisKeyShare::aggregate(ring, crp, set, &shares)?);
    }
    Ok((CkksKeys { pk, rlk, galois }, secs))
}

/// Threshold CKKS decryption inside one process (the demo), as [`InProcessThreshold`]. An
/// output is released only when the public estimate of its largest error after the λ = 40
/// smudging is within the tolerance the analysis declared for it
/// ([`set_tolerance`](Self::set_tolerance)); otherwise no share is made and the output is
/// withheld.
pub struct InProcessCkks {
    /// Parameters.
    pub params: Arc<ckks::Parameters>,
    /// The agencies' active shares (on the CKKS ring) and logs.
    pub parties: std::cell::RefCell<Vec<(ActiveShare, Box<dyn ShareLog>)>>,
    /// The active set.
    pub set: ActiveSet,
    /// Randomness.
    pub rng: std::cell::RefCell<rand_chacha::ChaCha20Rng>,
    /// Per party: seconds spent on its decryption shares.
    pub secs: std::cell::RefCell<Vec<f64>>,
    /// Public estimate of the largest error (after smudging) of every decryption attempted.
    pub errors: std::cell::RefCell<Vec<f64>>,
    /// The largest estimated error at which an output is released.
    tolerance: std::cell::Cell<f64>,
    /// Ciphertexts decrypted so far.
    pub count: std::cell::Cell<usize>,
}

impl InProcessCkks {
    /// A decryptor for the parties' active shares (tolerance 0: set one per analysis).
    pub fn new(
        params: &Arc<ckks::Parameters>,
        parties: Vec<(ActiveShare, Box<dyn ShareLog>)>,
        set: ActiveSet,
        rng: rand_chacha::ChaCha20Rng,
    ) -> Self {
        Self {
            params: Arc::clone(params),
            parties: std::cell::RefCell::new(parties),
            set,
            rng: std::cell::RefCell::new(rng),
            secs: std::cell::RefCell::new(Vec::new()),
            errors: std::cell::RefCell::new(Vec::new()),
            tolerance: std::cell::Cell::new(0.0),
            count: std::cell::Cell::new(0),
        }
    }

    /// Declares the absolute tolerance of the outputs decrypted next (slot units).
    pub fn set_tolerance(&self, tolerance: f64) {
        self.tolerance.set(tolerance);
    }

    /// The largest estimated error of the decryptions since index `from` of
    /// [`errors`](Self::errors).
    pub fn worst_error_since(&self, from: usize) -> f64 {
        self.errors
            .borrow()
            .iter()
            .skip(from)
            .copied()
            .fold(0.0, f64::max)
    }
}

impl Decryptor<CkksBackend> for InProcessCkks {
    fn decrypt(&self, ct: &ckks::Ciphertext) -> migrationfhe::Result<Vec<f64>> {
        let tol = self.tolerance.get();
        let prepared = CkksDecryption::new(
            &self.params,
            ct,
            &self.set,
            &DecryptionPolicy::with_lambda(40)?.with_min_precision_bits(f64::NEG_INFINITY),
        )?;
        let err = (-prepared.estimated_precision_bits()).exp2();
        self.errors.borrow_mut().push(err);
        if err.is_nan() || err > tol {
            return Err(migrationfhe::Error::Analytics {
                reason: format!(
                    "withheld: after λ = 40 smudging the public error estimate is {err:.1e}, above the declared tolerance {tol:.1e}"
                ),
            });
        }
        let mut rng = self.rng.borrow_mut();
        let mut parties = self.parties.borrow_mut();
        let mut secs = self.secs.borrow_mut();
        secs.resize(parties.len(), 0.0);
        let mut shares = Vec::with_capacity(parties.len());
        for ((a, log), t) in parties.iter_mut().zip(secs.iter_mut()) {
            let start = std::time::Instant::now();
            shares.push(a.decryption_share(prepared.input(), log.as_mut(), &mut *rng)?);
            *t += start.elapsed().as_secs_f64();
        }
        self.count.set(self.count.get() + 1);
        let pt = prepared.combine(&self.set, &shares)?;
        Ok(self.params.decode(&pt)?.iter().map(|z| z.re).collect())
    }
}
