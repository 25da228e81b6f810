//! The cryptographic steps every agency, the computation node and the combiner run, on the
//! library's public APIs: the flow study's public description, collective key generation
//! planning (the Galois keys the analysis needs), encryption and signing of an agency's
//! contribution. Key generation and decryption by the agencies together are in
//! [`crate::collective`]. The demo runs them in one process; the workflow subcommands run them
//! one process per agency.

use crate::study::Study;
use anyhow::{bail, Context, Result};
use ed25519_dalek::SigningKey;
use migrationfhe::analytics::flows::{self, FlowSpec, Level};
use migrationfhe::analytics::{
    BfvBackend, BfvEncryptor, Encryptor, PlainInt, SlotBackend, Submission,
};
use migrationfhe::bfv;
use rand_core::{CryptoRng, RngCore};
use std::collections::HashMap;
use std::sync::Arc;

/// A ChaCha20 CSPRNG seeded from the operating system: the library's samplers draw many
/// small values, and one system call per draw (`OsRng` directly) would dominate the run time.
pub fn rng() -> anyhow::Result<rand_chacha::ChaCha20Rng> {
    use rand_core::SeedableRng;
    rand_chacha::ChaCha20Rng::from_rng(rand_core::OsRng)
        .map_err(|e| anyhow::anyhow!("the operating system refused randomness: {e}"))
}

/// The analysis's public description for the library.
pub fn flow_spec(study: &Study) -> FlowSpec {
    let index: HashMap<&str, usize> = study
        .countries
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    FlowSpec {
        analysis: study.analysis.clone(),
        nodes: study.countries.clone(),
        periods: study.periods.clone(),
        agencies: study
            .agencies
            .iter()
            .map(|a| flows::AgencySpec {
                name: a.spec.id.clone(),
                members: a
                    .spec
                    .countries
                    .iter()
                    .filter_map(|c| index.get(c.as_str()).copied())
                    .collect(),
                max_cell: a.max_cell,
                max_total: a.max_total,
            })
            .collect(),
        levels: vec![Level {
            name: "region".into(),
            names: study.regions.clone(),
            grouping: study.country_region.clone(),
        }],
        corridors: study.corridors.clone(),
        stacked: study.periods.len() > 1,
    }
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
                let cts = vals
                    .iter()
                    .map(|v| be.encode(v))
                    .collect::<migrationfhe::Result<Vec<_>>>()?;
                subs.push(Submission::sign(
                    &be,
                    &spec.analysis,
                    &spec.agencies[a].name,
                    &flows::contribution_label(p, reverse),
                    cts,
                    &key,
                ));
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
    let a = spec
        .agencies
        .iter()
        .position(|x| x.name == agency)
        .with_context(|| format!("agency `{agency}` not in the study"))?;
    let enc = BfvEncryptor::new(params, pk.clone());
    let mut out = Vec::new();
    for (p, period) in spec.periods.iter().enumerate() {
        let (fwd, rev) = flows::contribution(&spec, &layout, a, &counts[p])?;
        for (vals, reverse) in [(fwd, false), (rev, true)] {
            let cts = vals
                .iter()
                .map(|v| enc.encrypt(v, rng))
                .collect::<migrationfhe::Result<Vec<_>>>()?;
            out.push(Submission::sign(
                &be,
                &spec.analysis,
                agency,
                &flows::contribution_label(period, reverse),
                cts,
                key,
            ));
        }
    }
    Ok(out)
}

/// Refuses a study whose count bound does not fit the preset.
pub fn check_bound(study: &Study, params: &bfv::Parameters) -> Result<u128> {
    let spec = flow_spec(study);
    match spec.check_count_bound(params.plaintext_modulus()) {
        Ok(b) => Ok(b),
        Err(e) => bail!("{e}"),
    }
}
