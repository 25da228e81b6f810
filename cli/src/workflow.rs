//! The multi-process workflow: one process per agency, one for the computation node, all
//! exchanging only files in a shared folder. Each step reads what earlier steps published,
//! checks it, and publishes its own output atomically (write to a temporary file, rename).
//!
//! Shared folder (public):
//! ```text
//! study.json                      init: parameters, CRS seed, agencies, analysis
//! keygen/<agency>.bin             keygen: identity (Ed25519 key), public-key and Galois key shares
//! keys/collective.bin             combine keys: collective public key and Galois keys
//! shamir/<agency>.bin             deal (t-of-n studies): the agency's re-sharing, one sealed
//!                                 share per agency (X25519 + ChaCha20-Poly1305)
//! submissions/<agency>.bin        encrypt: signed ciphertexts of the agency's contribution
//! node/outputs.bin                analyze: declared outputs (ciphertexts) and transcript head
//! node/transcript.json            analyze: the transcript, readable
//! decrypt/<agency>.bin            decrypt-share: the agency's decryption shares (and the
//!                                 decrypting set it joined)
//! results/results.json            combine outputs: the decrypted declared outputs
//! ```
//! Private folder of each agency (never shared): `secret.seed` (its key share is derived from
//! it), `signing.key` (Ed25519), `transport.key` (X25519, for sealed Shamir shares),
//! `share.log` (every share it has released; it refuses repeats).
//!
//! ## `t`-out-of-`n` studies (`init --threshold t`, `t < n`)
//! Key generation stays `n`-out-of-`n` (every agency is online at setup): the collective keys
//! come from additive shares. Then every agency re-shares its additive share (`deal`, Mouchet,
//! Bertrand, Hubaux, eprint 2022/780, as the library's `threshold::shamir`): it publishes one
//! value per agency, each sealed to that agency's registered X25519 key. From then on any `t`
//! agencies decrypt: each opens the values sealed to it, sums them into its Shamir share and,
//! with the Lagrange coefficient of the declared decrypting set (`decrypt-share --with`),
//! releases its decryption shares; `combine outputs` refuses fewer than `t`.

use crate::collective;
use crate::container;
use crate::engine;
use crate::fsio;
use crate::presets;
use crate::study::{hex, Study};
use anyhow::{bail, Context, Result};
use ed25519_dalek::SigningKey;
use migrationfhe::analytics::flows::{self, Evaluation};
use migrationfhe::analytics::{BfvBackend, Decryptor, SlotBackend, Submission};
use migrationfhe::bfv;
use migrationfhe::threshold::{
    ActiveSet, ActiveShare, DecryptionShare, FileShareLog, GaloisKeyShare, PartyId, PartySecret,
    ProtocolKind, PublicKeyShare, SealedShare, TransportKey,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

/// Paths of the shared folder.
pub struct Shared(pub PathBuf);

impl Shared {
    fn keygen(&self, agency: &str) -> PathBuf {
        self.0.join("keygen").join(format!("{agency}.bin"))
    }
    fn keys(&self) -> PathBuf {
        self.0.join("keys").join("collective.bin")
    }
    fn submission(&self, agency: &str) -> PathBuf {
        self.0.join("submissions").join(format!("{agency}.bin"))
    }
    fn outputs(&self) -> PathBuf {
        self.0.join("node").join("outputs.bin")
    }
    fn transcript(&self) -> PathBuf {
        self.0.join("node").join("transcript.json")
    }
    fn shares(&self, agency: &str) -> PathBuf {
        self.0.join("decrypt").join(format!("{agency}.bin"))
    }
    fn deal(&self, agency: &str) -> PathBuf {
        self.0.join("shamir").join(format!("{agency}.bin"))
    }
    /// Where `combine outputs` writes the results.
    pub fn results(&self) -> PathBuf {
        self.0.join("results").join("results.json")
    }
}

#[derive(Serialize, Deserialize)]
struct KeygenHeader {
    kind: String,
    analysis: String,
    agency: String,
    verifying_key: String,
    galois_elements: Vec<u64>,
    /// The agency's X25519 transport public key (hex), for sealed Shamir shares.
    #[serde(default)]
    transport_key: String,
}

#[derive(Serialize, Deserialize)]
struct DealHeader {
    kind: String,
    analysis: String,
    agency: String,
    /// The new threshold.
    threshold: usize,
    /// Receiver of each sealed share, in blob order.
    receivers: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct KeysHeader {
    kind: String,
    analysis: String,
    galois_elements: Vec<u64>,
    /// Each agency's registered Ed25519 verifying key.
    identities: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
struct SubmissionHeader {
    kind: String,
    analysis: String,
    agency: String,
    /// (label, digests hex, number of ciphertexts), in blob order.
    items: Vec<(String, Vec<String>, usize)>,
    verifying_key: String,
    /// Signatures (hex), one per item.
    signatures: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct OutputsHeader {
    kind: String,
    analysis: String,
    transcript_head: String,
    /// (name, number of ciphertexts, digests hex).
    outputs: Vec<(String, usize, Vec<String>)>,
}

#[derive(Serialize, Deserialize)]
struct SharesHeader {
    kind: String,
    analysis: String,
    agency: String,
    transcript_head: String,
    /// Output names, one share per ciphertext in order.
    outputs: Vec<(String, usize)>,
    /// The decrypting set the shares were made for (every agency in `n`-of-`n` studies).
    #[serde(default)]
    set: Vec<String>,
}

fn check_kind(kind: &str, want: &str, analysis: &str, study: &Study, path: &Path) -> Result<()> {
    if kind != want {
        bail!(
            "{}: a `{kind}` file where a `{want}` file was expected",
            path.display()
        );
    }
    if analysis != study.analysis {
        bail!(
            "{}: belongs to analysis `{analysis}`, not to this study's `{}`",
            path.display(),
            study.analysis
        );
    }
    Ok(())
}

/// An agency's private state.
pub struct Private {
    seed: Zeroizing<[u8; 32]>,
    signing: SigningKey,
    dir: PathBuf,
}

fn read_32(path: &Path) -> Result<Zeroizing<[u8; 32]>> {
    let bytes = Zeroizing::new(
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
    );
    let arr: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| anyhow::anyhow!("{} must hold 32 bytes", path.display()))?;
    Ok(Zeroizing::new(arr))
}

impl Private {
    /// Creates the agency's private folder (refuses to overwrite an existing one).
    pub fn create(dir: &Path) -> Result<Self> {
        if dir.join("secret.seed").exists() {
            return Self::open(dir);
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(seed.as_mut());
        let mut sk = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(sk.as_mut());
        fsio::write_private(&dir.join("signing.key"), sk.as_ref())?;
        let transport = TransportKey::generate(&mut OsRng);
        fsio::write_private(
            &dir.join("transport.key"),
            transport.secret_bytes().as_ref(),
        )?;
        fsio::write_private(&dir.join("secret.seed"), seed.as_ref())?;
        Self::open(dir)
    }

    /// Opens an agency's private folder.
    pub fn open(dir: &Path) -> Result<Self> {
        let seed = read_32(&dir.join("secret.seed"))
            .context("run `migrationfhe keygen` for this agency first")?;
        let sk = read_32(&dir.join("signing.key"))?;
        Ok(Self {
            seed,
            signing: SigningKey::from_bytes(&sk),
            dir: dir.to_path_buf(),
        })
    }

    fn secret(
        &self,
        study: &Study,
        params: &Arc<bfv::Parameters>,
        party: u32,
    ) -> Result<PartySecret> {
        let committee = collective::committee(study)?;
        let mut rng = ChaCha20Rng::from_seed(*self.seed);
        Ok(PartySecret::generate(
            params.ring(),
            &committee,
            PartyId::new(party)?,
            &mut rng,
        )?)
    }

    fn active(
        &self,
        study: &Study,
        params: &Arc<bfv::Parameters>,
        party: u32,
    ) -> Result<ActiveShare> {
        let set = collective::active_set(study)?;
        Ok(self.secret(study, params, party)?.active(&set)?)
    }

    fn transport(&self) -> Result<TransportKey> {
        let bytes = read_32(&self.dir.join("transport.key"))?;
        Ok(TransportKey::from_secret_bytes(*bytes))
    }

    /// The agency's Shamir share: opens the value every agency sealed to it and sums them.
    fn shamir(
        &self,
        study: &Study,
        shared: &Shared,
        params: &Arc<bfv::Parameters>,
        party: u32,
    ) -> Result<PartySecret> {
        let me = PartyId::new(party)?;
        let transport = self.transport()?;
        let publics = transport_keys(study, shared)?;
        let mut dealt = Vec::new();
        for a in &study.agencies {
            let (_, sealed) = read_deal(study, shared, params, &a.spec.id)?;
            let mine = sealed
                .iter()
                .find(|s| s.receiver == me)
                .with_context(|| format!("agency `{}` dealt no share to this agency", a.spec.id))?;
            let sender_key = publics
                .get(&a.spec.id)
                .with_context(|| format!("no transport key of agency `{}`", a.spec.id))?;
            dealt.push(
                mine.open(params.ring(), &transport, sender_key)
                    .with_context(|| {
                        format!(
                            "the share sealed by agency `{}` does not open with this agency's transport key",
                            a.spec.id
                        )
                    })?,
            );
        }
        let committee = collective::shamir_committee(study)?;
        Ok(PartySecret::from_dealt(
            params.ring(),
            &committee,
            me,
            &shamir_instance(study)?,
            &dealt,
        )?)
    }

    fn log(&self) -> Result<FileShareLog> {
        Ok(FileShareLog::open(self.dir.join("share.log"))?)
    }
}

/// `keygen`: an agency's key-generation round (creates its private folder on first use).
pub fn keygen(study: &Study, shared: &Shared, private: &Path, agency: &str) -> Result<()> {
    let a = study.agency(agency)?;
    let path = shared.keygen(agency);
    if path.exists() {
        bail!(
            "{} exists: this agency has already published its key-generation shares",
            path.display()
        );
    }
    let params = presets::bfv_params(&study.preset)?;
    let elements = engine::galois_elements(study, &params)?;
    let me = Private::create(private)?;
    let active = me.active(study, &params, a.party)?;
    let mut log = me.log()?;
    let crs = collective::crs(study)?;
    let (pk, galois) = collective::keygen_shares(
        &params,
        &active,
        &crs,
        &elements,
        &mut log,
        &mut engine::rng()?,
    )?;
    let mut blobs = vec![pk.to_bytes(params.ring())?];
    for g in &galois {
        blobs.push(g.to_bytes(params.ring())?);
    }
    let header = KeygenHeader {
        kind: "keygen".into(),
        analysis: study.analysis.clone(),
        agency: agency.into(),
        verifying_key: hex(me.signing.verifying_key().as_bytes()),
        galois_elements: elements.clone(),
        transport_key: hex(me.transport()?.public()),
    };
    container::write(&path, &header, &blobs)?;
    println!(
        "{agency}: published its public-key share and {} Galois key shares to {}",
        elements.len(),
        path.display()
    );
    Ok(())
}

/// Every agency's registered X25519 transport public key, from its key-generation file.
fn transport_keys(study: &Study, shared: &Shared) -> Result<HashMap<String, [u8; 32]>> {
    let mut out = HashMap::new();
    for a in &study.agencies {
        let path = shared.keygen(&a.spec.id);
        let bytes = container::read(&path)
            .with_context(|| format!("agency `{}` has not run keygen yet", a.spec.id))?;
        let (h, _): (KeygenHeader, _) =
            container::decode(&bytes).with_context(|| path.display().to_string())?;
        check_kind(&h.kind, "keygen", &h.analysis, study, &path)?;
        if h.agency != a.spec.id {
            bail!("{}: not agency `{}`'s file", path.display(), a.spec.id);
        }
        out.insert(
            a.spec.id.clone(),
            unhex_n::<32>(&h.transport_key)
                .with_context(|| format!("{}: no transport key", path.display()))?,
        );
    }
    Ok(out)
}

/// The re-sharing protocol instance of the study (from its common reference seed).
fn shamir_instance(study: &Study) -> Result<migrationfhe::threshold::Instance> {
    Ok(collective::crs(study)?.instance(
        ProtocolKind::ShamirDeal,
        format!("bfv/shamir/{}-of-{}", study.threshold, study.agencies.len()).as_bytes(),
    ))
}

fn read_deal(
    study: &Study,
    shared: &Shared,
    params: &Arc<bfv::Parameters>,
    agency: &str,
) -> Result<(DealHeader, Vec<SealedShare>)> {
    let path = shared.deal(agency);
    let bytes = container::read(&path).with_context(|| {
        format!("agency `{agency}` has not dealt its Shamir shares yet (`migrationfhe deal`)")
    })?;
    let (h, blobs): (DealHeader, _) =
        container::decode(&bytes).with_context(|| path.display().to_string())?;
    check_kind(&h.kind, "deal", &h.analysis, study, &path)?;
    if h.agency != agency || h.threshold != study.threshold || h.receivers.len() != blobs.len() {
        bail!(
            "{}: not agency `{agency}`'s re-sharing for threshold {}",
            path.display(),
            study.threshold
        );
    }
    let sealed = blobs
        .iter()
        .map(|b| SealedShare::from_bytes(params.ring(), b))
        .collect::<migrationfhe::Result<Vec<_>>>()
        .with_context(|| path.display().to_string())?;
    Ok((h, sealed))
}

fn is_t_of_n(study: &Study) -> bool {
    study.threshold < study.agencies.len()
}

/// `deal` (`t`-of-`n` studies): the agency re-shares its additive key share, one value sealed
/// to each agency's registered transport key. Its share log refuses a second re-sharing.
pub fn deal(study: &Study, shared: &Shared, private: &Path, agency: &str) -> Result<()> {
    let a = study.agency(agency)?;
    if !is_t_of_n(study) {
        bail!(
            "this study is {0}-of-{0}: every agency decrypts with its additive share, there is nothing to re-share (declare `init --threshold t` with t < {0})",
            study.agencies.len()
        );
    }
    let path = shared.deal(agency);
    if path.exists() {
        bail!(
            "{} exists: this agency has already dealt its shares",
            path.display()
        );
    }
    let params = presets::bfv_params(&study.preset)?;
    let me = Private::open(private)?;
    let publics = transport_keys(study, shared)?;
    let recipients: Vec<(PartyId, [u8; 32])> = study
        .agencies
        .iter()
        .map(|x| Ok((PartyId::new(x.party)?, publics[&x.spec.id])))
        .collect::<Result<_>>()?;
    let secret = me.secret(study, &params, a.party)?;
    let sealed = migrationfhe::threshold::deal(
        &secret,
        &collective::shamir_committee(study)?,
        &shamir_instance(study)?,
        &me.transport()?,
        &recipients,
        &mut me.log()?,
        &mut engine::rng()?,
    )?;
    let receivers = sealed
        .iter()
        .map(|s| {
            study
                .agencies
                .iter()
                .find(|x| x.party == s.receiver.get())
                .map(|x| x.spec.id.clone())
                .context("a sealed share for an unknown party")
        })
        .collect::<Result<Vec<_>>>()?;
    let blobs: Vec<Vec<u8>> = sealed.iter().map(|s| s.to_bytes(params.ring())).collect();
    let header = DealHeader {
        kind: "deal".into(),
        analysis: study.analysis.clone(),
        agency: agency.into(),
        threshold: study.threshold,
        receivers,
    };
    container::write(&path, &header, &blobs)?;
    println!(
        "{agency}: re-shared its key share for any {} of {} agencies: {} sealed shares in {}",
        study.threshold,
        study.agencies.len(),
        blobs.len(),
        path.display()
    );
    Ok(())
}

/// The decrypting set: every agency (`n`-of-`n`), or the named agencies (`t`-of-`n`; every
/// agency when none is named).
fn decrypting_set(study: &Study, with: &[String]) -> Result<(ActiveSet, Vec<String>)> {
    if !is_t_of_n(study) {
        let all: Vec<String> = study.agencies.iter().map(|a| a.spec.id.clone()).collect();
        if !with.is_empty() {
            let mut w = with.to_vec();
            w.sort();
            let mut a = all.clone();
            a.sort();
            if w != a {
                bail!(
                    "this study is {0}-of-{0}: every agency decrypts, `--with` cannot name a subset",
                    all.len()
                );
            }
        }
        return Ok((collective::active_set(study)?, all));
    }
    let names: Vec<String> = if with.is_empty() {
        study.agencies.iter().map(|a| a.spec.id.clone()).collect()
    } else {
        with.to_vec()
    };
    let mut ids = Vec::new();
    for n in &names {
        ids.push(PartyId::new(study.agency(n)?.party)?);
    }
    if names.len() < study.threshold {
        bail!(
            "threshold {} of {}: a decrypting set of {} agencies ({}) is too small; name at least {} with `--with`",
            study.threshold,
            study.agencies.len(),
            names.len(),
            names.join(", "),
            study.threshold
        );
    }
    let set = ActiveSet::new(&collective::shamir_committee(study)?, &ids)?;
    let mut sorted: Vec<(u32, String)> = names
        .iter()
        .map(|n| Ok((study.agency(n)?.party, n.clone())))
        .collect::<Result<_>>()?;
    sorted.sort();
    sorted.dedup();
    Ok((set, sorted.into_iter().map(|x| x.1).collect()))
}

/// `combine keys`: aggregates every agency's key-generation shares.
pub fn combine_keys(study: &Study, shared: &Shared) -> Result<()> {
    let params = presets::bfv_params(&study.preset)?;
    let elements = engine::galois_elements(study, &params)?;
    let crs = collective::crs(study)?;
    let set = collective::active_set(study)?;
    let mut pk_shares = Vec::new();
    let mut galois_shares = Vec::new();
    let mut identities = Vec::new();
    for a in &study.agencies {
        let path = shared.keygen(&a.spec.id);
        let bytes = container::read(&path)
            .with_context(|| format!("agency `{}` has not run keygen yet", a.spec.id))?;
        let (h, blobs): (KeygenHeader, _) =
            container::decode(&bytes).with_context(|| path.display().to_string())?;
        check_kind(&h.kind, "keygen", &h.analysis, study, &path)?;
        if h.agency != a.spec.id
            || h.galois_elements != elements
            || blobs.len() != 1 + elements.len()
        {
            bail!(
                "{}: not agency `{}`'s shares for this analysis",
                path.display(),
                a.spec.id
            );
        }
        pk_shares.push(PublicKeyShare::from_bytes(params.ring(), blobs[0])?);
        galois_shares.push(
            blobs[1..]
                .iter()
                .map(|b| GaloisKeyShare::from_bytes(params.ring(), b))
                .collect::<migrationfhe::Result<Vec<_>>>()?,
        );
        identities.push((a.spec.id.clone(), h.verifying_key));
    }
    let (pk, galois) =
        collective::combine_keys(&params, &crs, &set, &elements, &pk_shares, &galois_shares)?;
    let header = KeysHeader {
        kind: "keys".into(),
        analysis: study.analysis.clone(),
        galois_elements: elements,
        identities,
    };
    container::write(
        &shared.keys(),
        &header,
        &[pk.to_bytes(params.ring())?, galois.to_bytes(&params)?],
    )?;
    println!(
        "combined the collective public key and {} Galois keys from {} agencies into {}",
        header.galois_elements.len(),
        study.agencies.len(),
        shared.keys().display()
    );
    Ok(())
}

fn load_keys(
    study: &Study,
    shared: &Shared,
    params: &Arc<bfv::Parameters>,
) -> Result<(bfv::PublicKey, bfv::GaloisKeys, HashMap<String, String>)> {
    let path = shared.keys();
    let bytes = container::read(&path).context("run `migrationfhe combine keys` first")?;
    let (h, blobs): (KeysHeader, _) =
        container::decode(&bytes).with_context(|| path.display().to_string())?;
    check_kind(&h.kind, "keys", &h.analysis, study, &path)?;
    if blobs.len() != 2 {
        bail!("{}: expected 2 keys", path.display());
    }
    let pk = bfv::PublicKey::from_bytes(params.ring(), blobs[0])?;
    let galois = bfv::GaloisKeys::from_bytes(params, blobs[1])?;
    Ok((pk, galois, h.identities.into_iter().collect()))
}

/// `encrypt`: validates the agency's CSV, encrypts and signs its contribution.
pub fn encrypt(
    study: &Study,
    shared: &Shared,
    private: &Path,
    agency: &str,
    input: &Path,
) -> Result<()> {
    let a = study.agency(agency)?;
    let contribution = crate::agency::read_contribution(
        input,
        &a.spec,
        &study.countries,
        &study.periods,
        a.max_cell,
    )?;
    let params = presets::bfv_params(&study.preset)?;
    engine::check_bound(study, &params)?;
    let me = Private::open(private)?;
    let (pk, _, _) = load_keys(study, shared, &params)?;
    let subs = engine::encrypt_contribution(
        study,
        &params,
        &pk,
        agency,
        &contribution.counts,
        &me.signing,
        &mut engine::rng()?,
    )?;
    write_submissions(study, &shared.submission(agency), agency, &subs)?;
    let n: usize = subs.iter().map(|s| s.cts.len()).sum();
    println!(
        "{agency}: encrypted and signed {} submissions ({n} ciphertexts) into {}",
        subs.len(),
        shared.submission(agency).display()
    );
    Ok(())
}

fn write_submissions(
    study: &Study,
    path: &Path,
    agency: &str,
    subs: &[Submission<bfv::Ciphertext>],
) -> Result<()> {
    let mut blobs = Vec::new();
    let mut items = Vec::new();
    let mut signatures = Vec::new();
    for s in subs {
        items.push((
            s.label.clone(),
            s.digests.iter().map(|d| hex(d)).collect(),
            s.cts.len(),
        ));
        signatures.push(hex(&s.signature));
        blobs.extend(s.cts.iter().map(bfv::Ciphertext::to_bytes));
    }
    let header = SubmissionHeader {
        kind: "submission".into(),
        analysis: study.analysis.clone(),
        agency: agency.into(),
        items,
        verifying_key: subs
            .first()
            .map(|s| hex(&s.verifying_key))
            .unwrap_or_default(),
        signatures,
    };
    container::write(path, &header, &blobs)
}

fn unhex_n<const N: usize>(s: &str) -> Result<[u8; N]> {
    crate::study::unhex(s)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("expected {N} bytes of hex"))
}

fn load_submissions(
    study: &Study,
    shared: &Shared,
    params: &Arc<bfv::Parameters>,
    identities: &HashMap<String, String>,
) -> Result<Vec<Submission<bfv::Ciphertext>>> {
    let mut out = Vec::new();
    for a in &study.agencies {
        let path = shared.submission(&a.spec.id);
        let bytes = container::read(&path)
            .with_context(|| format!("agency `{}` has not submitted yet", a.spec.id))?;
        let (h, blobs): (SubmissionHeader, _) =
            container::decode(&bytes).with_context(|| path.display().to_string())?;
        check_kind(&h.kind, "submission", &h.analysis, study, &path)?;
        if h.agency != a.spec.id {
            bail!(
                "{}: a submission of `{}` in agency `{}`'s place",
                path.display(),
                h.agency,
                a.spec.id
            );
        }
        if identities.get(&a.spec.id) != Some(&h.verifying_key) {
            bail!(
                "{}: signed with a key that is not agency `{}`'s registered key",
                path.display(),
                a.spec.id
            );
        }
        let total: usize = h.items.iter().map(|i| i.2).sum();
        if total != blobs.len() || h.signatures.len() != h.items.len() {
            bail!(
                "{}: ciphertext count does not match its header",
                path.display()
            );
        }
        let mut it = blobs.into_iter();
        for ((label, digests, count), sig) in h.items.iter().zip(&h.signatures) {
            let cts = (&mut it)
                .take(*count)
                .map(|b| bfv::Ciphertext::from_bytes(params, b))
                .collect::<migrationfhe::Result<Vec<_>>>()?;
            out.push(Submission {
                agency: h.agency.clone(),
                label: label.clone(),
                cts,
                digests: digests
                    .iter()
                    .map(|d| unhex_n::<32>(d))
                    .collect::<Result<_>>()?,
                verifying_key: unhex_n::<32>(&h.verifying_key)?,
                signature: unhex_n::<64>(sig)?,
            });
        }
    }
    Ok(out)
}

/// Re-executes the declared analysis from the signed submissions (every signature and digest
/// is checked on the way).
fn evaluate(
    study: &Study,
    shared: &Shared,
) -> Result<(
    Arc<bfv::Parameters>,
    BfvBackend,
    Evaluation<bfv::Ciphertext>,
)> {
    let params = presets::bfv_params(&study.preset)?;
    let (_, galois, identities) = load_keys(study, shared, &params)?;
    let subs = load_submissions(study, shared, &params, &identities)?;
    let be = BfvBackend::new(&params, galois, None);
    let eval = flows::evaluate(
        &be,
        &engine::flow_spec(study),
        params.plaintext_modulus(),
        &subs,
    )?;
    Ok((params, be, eval))
}

/// `analyze`: the computation node evaluates the declared analysis.
pub fn analyze(study: &Study, shared: &Shared) -> Result<()> {
    let (_, be, eval) = evaluate(study, shared)?;
    let mut blobs = Vec::new();
    let mut outputs = Vec::new();
    for o in &eval.outputs {
        outputs.push((
            o.name.clone(),
            o.cts.len(),
            o.cts.iter().map(|c| hex(&be.digest(c))).collect(),
        ));
        blobs.extend(o.cts.iter().map(bfv::Ciphertext::to_bytes));
    }
    let head = hex(&eval.transcript.head());
    let header = OutputsHeader {
        kind: "outputs".into(),
        analysis: study.analysis.clone(),
        transcript_head: head.clone(),
        outputs,
    };
    container::write(&shared.outputs(), &header, &blobs)?;
    let entries: Vec<String> = eval
        .transcript
        .entries()
        .iter()
        .map(|e| format!("{e:?}"))
        .collect();
    fsio::write_json(
        &shared.transcript(),
        &serde_json::json!({ "analysis": study.analysis, "head": head, "entries": entries }),
    )?;
    println!(
        "node: evaluated {} ({}), {} declared outputs, transcript head {head}",
        study.analysis,
        eval.counts,
        eval.outputs.len()
    );
    Ok(())
}

/// The node's published outputs: header and the ciphertexts' bytes.
struct Published {
    header: OutputsHeader,
    blobs: Vec<Vec<u8>>,
}

fn read_outputs(study: &Study, shared: &Shared) -> Result<Published> {
    let path = shared.outputs();
    let bytes = container::read(&path).context("run `migrationfhe analyze` first")?;
    let (h, blobs): (OutputsHeader, Vec<&[u8]>) =
        container::decode(&bytes).with_context(|| path.display().to_string())?;
    check_kind(&h.kind, "outputs", &h.analysis, study, &path)?;
    Ok(Published {
        header: h,
        blobs: blobs.into_iter().map(<[u8]>::to_vec).collect(),
    })
}

/// Checks the node's published outputs against a re-execution: same transcript head, same
/// output ciphertexts, bit for bit.
fn check_node(be: &BfvBackend, eval: &Evaluation<bfv::Ciphertext>, node: &Published) -> Result<()> {
    let published = &node.header;
    let head = hex(&eval.transcript.head());
    if head != published.transcript_head {
        bail!(
            "the node's transcript head {} differs from the re-executed {head}: refusing",
            published.transcript_head
        );
    }
    let mine: Vec<(String, usize, Vec<String>)> = eval
        .outputs
        .iter()
        .map(|o| {
            (
                o.name.clone(),
                o.cts.len(),
                o.cts.iter().map(|c| hex(&be.digest(c))).collect(),
            )
        })
        .collect();
    if mine != published.outputs {
        bail!(
            "the node's published outputs differ from the re-executed declared outputs: refusing"
        );
    }
    let recomputed: Vec<Vec<u8>> = eval
        .outputs
        .iter()
        .flat_map(|o| o.cts.iter().map(bfv::Ciphertext::to_bytes))
        .collect();
    if recomputed != node.blobs {
        bail!("the node's published output ciphertexts differ from the re-executed declared outputs, bit for bit: refusing");
    }
    Ok(())
}

/// `decrypt-share`: an agency re-executes the declared analysis from the signed submissions,
/// checks the node's outputs are exactly its declared outputs, and only then releases one
/// decryption share per output ciphertext.
pub fn decrypt_share(
    study: &Study,
    shared: &Shared,
    private: &Path,
    agency: &str,
    with: &[String],
) -> Result<()> {
    let a = study.agency(agency)?;
    let (set, members) = decrypting_set(study, with)?;
    if !members.iter().any(|m| m == agency) {
        bail!(
            "agency `{agency}` is not in the decrypting set ({})",
            members.join(", ")
        );
    }
    let published = read_outputs(study, shared)?;
    let (params, be, eval) = evaluate(study, shared)?;
    check_node(&be, &eval, &published)?;
    let me = Private::open(private)?;
    let active = if is_t_of_n(study) {
        me.shamir(study, shared, &params, a.party)?.active(&set)?
    } else {
        me.active(study, &params, a.party)?
    };
    let mut log = me.log()?;
    let mut rng = engine::rng()?;
    let mut blobs = Vec::new();
    let mut outputs = Vec::new();
    for o in &eval.outputs {
        eval.transcript.authorises(&be, o)?;
        for ct in &o.cts {
            let prepared = collective::prepare(ct, &set)?;
            let share = active.decryption_share(prepared.input(), &mut log, &mut rng)?;
            blobs.push(share.to_bytes(params.ring())?);
        }
        outputs.push((o.name.clone(), o.cts.len()));
    }
    let header = SharesHeader {
        kind: "decryption-shares".into(),
        analysis: study.analysis.clone(),
        agency: agency.into(),
        transcript_head: published.header.transcript_head,
        outputs,
        set: members.clone(),
    };
    container::write(&shared.shares(agency), &header, &blobs)?;
    println!(
        "{agency}: checked the transcript and released {} decryption shares for {} declared outputs (decrypting set: {})",
        blobs.len(),
        eval.outputs.len(),
        members.join(", ")
    );
    Ok(())
}

/// Plaintexts already combined from the agencies' shares, looked up by ciphertext digest.
struct Combined(HashMap<[u8; 32], Vec<i64>>);

impl Decryptor<BfvBackend> for Combined {
    fn decrypt(&self, ct: &bfv::Ciphertext) -> migrationfhe::Result<Vec<i64>> {
        let be = BfvBackend::new(ct.params(), bfv::GaloisKeys::default(), None);
        self.0
            .get(&be.digest(ct))
            .cloned()
            .ok_or(migrationfhe::Error::Analytics {
                reason: "no combined decryption for this ciphertext".into(),
            })
    }
}

/// The decrypted declared outputs, as written by `combine outputs`.
#[derive(Serialize, Deserialize)]
pub struct WorkflowResults {
    /// The analysis.
    pub analysis: String,
    /// Transcript head the outputs belong to.
    pub transcript_head: String,
    /// Agencies whose shares were combined.
    pub parties: Vec<String>,
    /// Output name -> values.
    pub outputs: Vec<(String, Vec<i64>)>,
}

/// `combine outputs`: combines the decryption shares of every declared output, from every
/// agency (`n`-of-`n`) or from the decrypting set the released shares name (`t`-of-`n`: at
/// least `t` agencies, every member of the set).
pub fn combine_outputs(study: &Study, shared: &Shared) -> Result<()> {
    let published = read_outputs(study, shared)?;
    let (params, be, eval) = evaluate(study, shared)?;
    check_node(&be, &eval, &published)?;
    let mut released: Vec<(String, SharesHeader, Vec<DecryptionShare>)> = Vec::new();
    let mut missing = Vec::new();
    for a in &study.agencies {
        let path = shared.shares(&a.spec.id);
        if !path.exists() {
            missing.push(a.spec.id.clone());
            continue;
        }
        let bytes = container::read(&path)?;
        let (h, blobs): (SharesHeader, _) =
            container::decode(&bytes).with_context(|| path.display().to_string())?;
        check_kind(&h.kind, "decryption-shares", &h.analysis, study, &path)?;
        if h.agency != a.spec.id || h.transcript_head != published.header.transcript_head {
            bail!(
                "{}: shares of another agency or another evaluation",
                path.display()
            );
        }
        let shares = blobs
            .iter()
            .map(|b| DecryptionShare::from_bytes(params.ring(), b))
            .collect::<migrationfhe::Result<_>>()?;
        released.push((a.spec.id.clone(), h, shares));
    }
    if !is_t_of_n(study) {
        if let Some(m) = missing.first() {
            bail!("agency `{m}` has not released its decryption shares yet (this study is {0}-of-{0}: every agency decrypts)", study.agencies.len());
        }
    } else if released.len() < study.threshold {
        bail!(
            "threshold {} of {}: only {} agencies ({}) have released decryption shares, at least {} are needed; refusing to combine",
            study.threshold,
            study.agencies.len(),
            released.len(),
            released
                .iter()
                .map(|r| r.0.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            study.threshold
        );
    }
    let named = released
        .first()
        .map(|r| r.1.set.clone())
        .unwrap_or_default();
    if released.iter().any(|r| r.1.set != named) {
        bail!("the released shares name different decrypting sets: each agency of one set must run `decrypt-share --with` the same agencies");
    }
    let (set, members) = decrypting_set(study, &named)?;
    if let Some(m) = members
        .iter()
        .find(|m| !released.iter().any(|r| &r.0 == *m))
    {
        bail!(
            "agency `{m}` of the decrypting set ({}) has not released its decryption shares yet",
            members.join(", ")
        );
    }
    let per_party: Vec<Vec<DecryptionShare>> = members
        .iter()
        .filter_map(|m| released.iter().find(|r| &r.0 == m))
        .map(|r| r.2.clone())
        .collect();
    let mut plain = HashMap::new();
    let mut k = 0;
    let mut outputs = Vec::new();
    for o in &eval.outputs {
        for ct in &o.cts {
            let prepared = collective::prepare(ct, &set)?;
            let shares: Vec<DecryptionShare> = per_party
                .iter()
                .map(|p| p.get(k).cloned().context("too few decryption shares"))
                .collect::<Result<_>>()?;
            let values = collective::decode(&prepared.combine(&set, &shares)?)?;
            plain.insert(be.digest(ct), values);
            k += 1;
        }
    }
    let dec = Combined(plain);
    for o in &eval.outputs {
        let v = migrationfhe::analytics::open_output(&be, &dec, &eval.transcript, o)?;
        outputs.push((o.name.clone(), v));
    }
    let r = WorkflowResults {
        analysis: study.analysis.clone(),
        transcript_head: published.header.transcript_head,
        parties: members.clone(),
        outputs,
    };
    fsio::write_json(&shared.results(), &r)?;
    println!(
        "combined the shares of {} agencies ({}): {} declared outputs decrypted into {}",
        members.len(),
        members.join(", "),
        r.outputs.len(),
        shared.results().display()
    );
    Ok(())
}

/// `verify`: re-executes the evaluation from the signed submissions and checks the node's
/// transcript head and outputs bit for bit, and that the results belong to them.
pub fn verify(study: &Study, shared: &Shared) -> Result<()> {
    let published = read_outputs(study, shared)?;
    let (_, be, eval) = evaluate(study, shared)?;
    check_node(&be, &eval, &published)?;
    eval.transcript.verify_chain()?;
    if shared.results().exists() {
        let r: WorkflowResults = serde_json::from_slice(&std::fs::read(shared.results())?)?;
        if r.transcript_head != published.header.transcript_head {
            bail!("results.json belongs to another evaluation");
        }
    }
    println!(
        "verified: {} signed submissions, {} entries, transcript head {}, {} declared outputs match bit for bit",
        study.agencies.len() * study.periods.len() * 2,
        eval.transcript.entries().len(),
        published.header.transcript_head,
        eval.outputs.len()
    );
    Ok(())
}

/// The report's figures from the combined outputs (flow study: region table, inflow,
/// outflow per period).
pub fn to_results(study: &Study, r: &WorkflowResults) -> Result<crate::results::Results> {
    let get = |name: &str| -> Result<Vec<i64>> {
        r.outputs
            .iter()
            .find(|o| o.0 == name)
            .map(|o| o.1.clone())
            .with_context(|| format!("results.json has no output `{name}`"))
    };
    let to_u = |v: Vec<i64>| -> Result<Vec<u64>> {
        v.into_iter()
            .map(|x| {
                u64::try_from(x).map_err(|_| anyhow::anyhow!("negative count {x} in a flow total"))
            })
            .collect()
    };
    let mut res = crate::results::Results {
        title: format!("Encrypted migration analytics — {}", study.analysis),
        periods: study.periods.clone(),
        regions: study.regions.clone(),
        countries: study.countries.clone(),
        country_names: study.country_names.clone(),
        country_region: study.country_region.clone(),
        ..Default::default()
    };
    for p in &study.periods {
        res.region_flows
            .push(to_u(get(&format!("groups/region/{p}"))?)?);
        res.inflow.push(to_u(get(&format!("inflow/{p}"))?)?);
        res.outflow.push(to_u(get(&format!("outflow/{p}"))?)?);
        if !study.corridors.is_empty() {
            let (f, b, n) = (
                get(&format!("corridor_forward/{p}"))?,
                get(&format!("corridor_reverse/{p}"))?,
                get(&format!("corridor_net/{p}"))?,
            );
            for (i, &(o, d)) in study.corridors.iter().enumerate() {
                res.corridors.push(crate::results::CorridorRow {
                    period: p.clone(),
                    origin: study.countries[o].clone(),
                    dest: study.countries[d].clone(),
                    forward: f[i],
                    reverse: b[i],
                    net: n[i],
                    #[allow(clippy::cast_precision_loss)]
                    return_ratio: (f[i] != 0).then(|| b[i] as f64 / f[i] as f64),
                });
            }
        }
    }
    res.decryptions = r
        .outputs
        .iter()
        .map(|(name, v)| crate::results::Decryption {
            output: name.clone(),
            description: format!("{} values", v.len()),
            ciphertexts: 1,
            parties: r.parties.clone(),
            method: format!(
                "threshold decryption, {} of {} agencies",
                r.parties.len(),
                study.agencies.len()
            ),
        })
        .collect();
    res.setup.push(format!(
        "analysis `{}`, preset {}, transcript head {}",
        study.analysis, study.preset, r.transcript_head
    ));
    Ok(res)
}
