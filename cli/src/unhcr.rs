//! UNHCR yearly displacement series by host region, aggregated under BFV from the agencies'
//! own records, and forecast from the decrypted declared series.
//!
//! Each agency holds the UNHCR annual flows (new refugee arrivals, asylum applications,
//! refugee-like arrivals, other people in need of protection) *into its member countries*. It
//! encrypts one vector: slot `r·Y + y` holds its members' total for host UN M49 region `r`
//! and year `y` (2000–2025). The node adds the agencies' submissions (no rotation, no product)
//! and declares one output, the region × year table, which the agencies decrypt together
//! (exact: BFV). The linear-trend and Holt forecasts of 2025 from 2000–2024 are public
//! functions of that declared series (`analytics::stats::forecast_plain`, the same weights the
//! CKKS forecast uses), compared with the held-out 2025 value. Hosts outside the Abel & Sander
//! country list belong to no agency and are left out (stated in the report).

use crate::progress::Stages;
use crate::results::{Check, Decryption, Forecast, Results};
use crate::study::Study;
use anyhow::{Context, Result};
use ed25519_dalek::SigningKey;
use migrationfhe::analytics::stats::{self, Method};
use migrationfhe::analytics::{
    open_output, BfvBackend, BfvEncryptor, DeclaredOutput, Decryptor, Encryptor, SlotBackend,
    Submission, Transcript,
};
use migrationfhe::bfv;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Label of the agencies' submissions and name of the declared output.
pub const LABEL: &str = "unhcr/yearly-by-host-region";

#[derive(serde::Deserialize)]
struct Country {
    iso3: String,
    unsd_region: String,
}

#[derive(serde::Deserialize)]
struct Flow {
    year: u16,
    coa_iso: String,
    refugees: Option<u64>,
    asylum_seekers: Option<u64>,
    refugee_like: Option<u64>,
    oip: Option<u64>,
}

/// Runs the aggregation and adds the series, forecasts, decryption record and checks.
#[allow(clippy::too_many_arguments, clippy::cast_precision_loss)]
pub fn run(
    st: &mut Stages,
    data: &Path,
    study: &Study,
    params: &Arc<bfv::Parameters>,
    pk: &bfv::PublicKey,
    be: &BfvBackend,
    dec: &impl Decryptor<BfvBackend>,
    signers: &[SigningKey],
    results: &mut Results,
    rng: &mut rand_chacha::ChaCha20Rng,
) -> Result<()> {
    let mut region_of = HashMap::new();
    for row in csv::Reader::from_path(data.join("unhcr_countries.csv"))?.deserialize() {
        let c: Country = row.context("unhcr_countries.csv")?;
        if !c.unsd_region.is_empty() {
            region_of.insert(c.iso3, c.unsd_region);
        }
    }
    let mut regions: Vec<String> = region_of.values().cloned().collect();
    regions.sort();
    regions.dedup();
    let (first, last) = (2000u16, 2025u16);
    let years = usize::from(last - first) + 1;
    // (host, year) -> persons, read by the agency holding the host.
    let mut by_host: HashMap<(String, u16), u64> = HashMap::new();
    let mut outside = 0u64;
    let members: HashMap<&str, usize> = study
        .agencies
        .iter()
        .enumerate()
        .flat_map(|(a, ag)| ag.spec.countries.iter().map(move |c| (c.as_str(), a)))
        .collect();
    for row in
        csv::Reader::from_path(data.join("unhcr_displacement_flows_2000_2025.csv"))?.deserialize()
    {
        let f: Flow = row.context("unhcr_displacement_flows_2000_2025.csv")?;
        if !(first..=last).contains(&f.year) || !region_of.contains_key(&f.coa_iso) {
            continue;
        }
        let v = f.refugees.unwrap_or(0)
            + f.asylum_seekers.unwrap_or(0)
            + f.refugee_like.unwrap_or(0)
            + f.oip.unwrap_or(0);
        if members.contains_key(f.coa_iso.as_str()) {
            *by_host.entry((f.coa_iso, f.year)).or_default() += v;
        } else {
            outside += v;
        }
    }
    let slots = regions.len() * years;
    let contribution = |a: usize| -> Vec<i64> {
        let mut v = vec![0i64; slots];
        for c in &study.agencies[a].spec.countries {
            let Some(r) = region_of
                .get(c)
                .and_then(|r| regions.iter().position(|x| x == r))
            else {
                continue;
            };
            for y in 0..years {
                let year = first + u16::try_from(y).unwrap_or(0);
                if let Some(&x) = by_host.get(&(c.clone(), year)) {
                    v[r * years + y] += i64::try_from(x).unwrap_or(i64::MAX);
                }
            }
        }
        v
    };
    let analysis = format!("{}/unhcr", study.analysis);
    let (tr, out) = st.run(
        "UNHCR yearly series: agencies encrypt their hosts' records, node adds (BFV)",
        || {
            let enc = BfvEncryptor::new(params, pk.clone());
            let mut tr = Transcript::begin(
                &analysis,
                &be.describe(),
                &format!("sum;regions={regions:?};years={first}-{last}"),
            );
            let mut sum: Option<bfv::Ciphertext> = None;
            for (a, key) in study
                .agencies
                .iter()
                .zip(signers)
                .enumerate()
                .map(|(i, (a, k))| ((i, a), k))
            {
                let ct = enc.encrypt(&contribution(a.0), rng)?;
                let s = Submission::sign(be, &analysis, &a.1.spec.id, LABEL, vec![ct], key);
                tr.submission(be, &s)?;
                let ct = s.cts.into_iter().next().context("empty submission")?;
                sum = Some(match sum {
                    None => ct,
                    Some(acc) => be.add(&acc, &ct)?,
                });
            }
            let sum = sum.context("no agencies")?;
            tr.operation(be, "sum_contributions", LABEL, std::slice::from_ref(&sum));
            let out = DeclaredOutput {
                name: LABEL.to_owned(),
                cts: vec![sum],
                slots: (0..slots).map(|s| (0, s)).collect(),
            };
            tr.output(be, &out);
            Ok((tr, out))
        },
    )?;
    let values = st.run("threshold decryption of the declared UNHCR series", || {
        Ok(open_output(be, dec, &tr, &out)?)
    })?;
    tr.verify_chain()?;
    // Checks and forecasts.
    let mut plain = vec![0i64; slots];
    for a in 0..study.agencies.len() {
        for (p, x) in plain.iter_mut().zip(contribution(a)) {
            *p += x;
        }
    }
    results.checks.push(Check {
        name: "decrypted UNHCR region × year series = plain sums".into(),
        passed: values == plain,
        detail: format!("{} regions × {years} years, exact", regions.len()),
    });
    results.decryptions.push(Decryption {
        output: LABEL.into(),
        description: format!(
            "UNHCR new displacement by host region × year ({} values)",
            slots
        ),
        ciphertexts: 1,
        parties: study.agencies.iter().map(|a| a.spec.id.clone()).collect(),
        method: format!(
            "threshold decryption ({0} of {0}), smudging λ = 40",
            study.agencies.len()
        ),
    });
    let train = years - 1;
    let methods = [
        Method::LinearTrend,
        Method::Holt {
            alpha: 0.8,
            beta: 0.2,
        },
    ];
    for (r, name) in regions.iter().enumerate() {
        let y: Vec<f64> = values[r * years..r * years + train]
            .iter()
            .map(|&x| x as f64)
            .collect();
        for m in methods {
            results.forecasts.push(Forecast {
                name: format!(
                    "{name} ({})",
                    if matches!(m, Method::LinearTrend) {
                        "trend"
                    } else {
                        "Holt"
                    }
                ),
                first_year: u32::from(first),
                values: y.clone(),
                method: match m {
                    Method::LinearTrend => "linear trend".into(),
                    Method::Holt { alpha, beta } => format!("Holt α {alpha} β {beta}"),
                },
                forecast_year: u32::from(last),
                forecast: stats::forecast_plain(&y, m),
                actual: Some(values[r * years + train] as f64),
            });
        }
    }
    results.notes.push(format!(
        "UNHCR: each agency holds the displacement flows into its member countries; the region × year table is a declared output (exact BFV sum), the 2025 forecasts are public functions of its 2000–2024 values, compared with the held-out 2025 value. Hosts outside the Abel & Sander country list ({outside} persons over 2000–2025) belong to no agency and are left out."
    ));
    Ok(())
}
