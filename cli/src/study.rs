//! The study file (`study.json`), written once by `init` into the shared folder: the declared
//! analysis, its parameter set, the common reference seed, the committee of agencies with their
//! member countries and declared maxima, the periods and the public tables the analysis uses.
//! Every later step reads it, and every signature and transcript binds its digest.

use crate::agency::AgencySpec;
use crate::data::AbelSander;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Format tag of the study file.
pub const FORMAT: &str = "migrationfhe-study/1";

/// An agency of the study: who it is, which countries it reports, its party id in the
/// committee and its declared maxima (the bound the encrypted sums are sized for).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudyAgency {
    /// Identity, file names and the countries it holds.
    #[serde(flatten)]
    pub spec: AgencySpec,
    /// Party id in the threshold committee (1-based, distinct).
    pub party: u32,
    /// Declared largest single cell.
    pub max_cell: u64,
    /// Declared largest total of its contribution in one period.
    pub max_total: u64,
}

/// The declared study.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Study {
    /// [`FORMAT`].
    pub format: String,
    /// Analysis identifier, bound into every signature and the transcript.
    pub analysis: String,
    /// BFV parameter preset name (see [`crate::presets`]).
    pub preset: String,
    /// Common reference seed (hex, 32 bytes).
    pub crs_seed: String,
    /// Decryption threshold `t` (any `t` agencies decrypt together).
    pub threshold: usize,
    /// Period labels.
    pub periods: Vec<String>,
    /// Country ISO3 codes, in matrix order.
    pub countries: Vec<String>,
    /// Country names.
    pub country_names: Vec<String>,
    /// Region names.
    pub regions: Vec<String>,
    /// Region index of each country.
    pub country_region: Vec<usize>,
    /// The agencies.
    pub agencies: Vec<StudyAgency>,
    /// Declared corridors `(origin, destination)` for return flows.
    pub corridors: Vec<(usize, usize)>,
}

impl Study {
    /// Builds a study over `regions` (all if empty) of the Abel & Sander data, one agency per
    /// region (`by = "regions"`) or per country (`"countries"`).
    pub fn new(
        data: &AbelSander,
        by: &str,
        regions: &[String],
        preset: &str,
        threshold: Option<usize>,
        crs_seed: [u8; 32],
    ) -> Result<Self> {
        for r in regions {
            if !data.regions.contains(r) {
                bail!(
                    "unknown region `{r}` (regions: {})",
                    data.regions.join(", ")
                );
            }
        }
        let keep: Vec<usize> = (0..data.n())
            .filter(|&i| regions.is_empty() || regions.contains(&data.countries[i].region))
            .collect();
        let kept_regions: Vec<String> = if regions.is_empty() {
            data.regions.clone()
        } else {
            data.regions
                .iter()
                .filter(|r| regions.contains(r))
                .cloned()
                .collect()
        };
        let countries: Vec<String> = keep
            .iter()
            .map(|&i| data.countries[i].iso3.clone())
            .collect();
        let keep_codes = countries.clone();
        let specs = match by {
            "regions" => crate::agency::region_agencies(data),
            "countries" => crate::agency::country_agencies(data),
            other => bail!("--by {other}: expected `regions` or `countries`"),
        };
        let specs: Vec<AgencySpec> = specs
            .into_iter()
            .filter(|a| a.countries.iter().all(|c| countries.contains(c)))
            .collect();
        let threshold = threshold.unwrap_or(specs.len());
        if threshold == 0 || threshold > specs.len() {
            bail!(
                "threshold {threshold} must be between 1 and the number of agencies ({})",
                specs.len()
            );
        }
        // Declared maxima: a public ceiling per agency, rounded up from what it expects
        // (here: 1.5 times its largest period total, to the next million), so that the sum
        // over agencies fits the plaintext modulus (checked again by the analysis).
        let n = data.n();
        let agencies = specs
            .into_iter()
            .enumerate()
            .map(|(i, spec)| {
                let members: Vec<usize> = spec
                    .countries
                    .iter()
                    .filter_map(|c| data.index.get(c).copied())
                    .collect();
                let mut max_cell = 0u64;
                let mut max_total = 0u64;
                for p in 0..data.flows.len() {
                    let mut total = 0u64;
                    for &d in &members {
                        for &o in &keep {
                            let v = data.flows[p][o * n + d];
                            max_cell = max_cell.max(v);
                            total += v;
                        }
                    }
                    max_total = max_total.max(total);
                }
                let round =
                    |x: u64| (x.saturating_mul(3) / 2).div_ceil(1_000_000).max(1) * 1_000_000;
                StudyAgency {
                    party: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    max_cell: round(max_cell),
                    max_total: round(max_total),
                    spec,
                }
            })
            .collect();
        let country_region = keep
            .iter()
            .map(|&i| {
                kept_regions
                    .iter()
                    .position(|r| *r == data.countries[i].region)
                    .unwrap_or(0)
            })
            .collect();
        Ok(Self {
            format: FORMAT.into(),
            analysis: format!("abel-sander-flows/{by}/{}", hex(&crs_seed[..8])),
            preset: preset.into(),
            crs_seed: hex(&crs_seed),
            threshold,
            periods: crate::data::PERIODS
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
            country_names: keep
                .iter()
                .map(|&i| data.countries[i].name.clone())
                .collect(),
            countries,
            regions: kept_regions,
            country_region,
            agencies,
            corridors: DECLARED_CORRIDORS
                .iter()
                .filter_map(|(o, d)| {
                    let i = countries_pos(&keep_codes, o)?;
                    let j = countries_pos(&keep_codes, d)?;
                    Some((i, j))
                })
                .collect(),
        })
    }

    /// The agency called `id`.
    pub fn agency(&self, id: &str) -> Result<&StudyAgency> {
        self.agencies
            .iter()
            .find(|a| a.spec.id == id)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "agency `{id}` is not part of this study (agencies: {})",
                    self.agencies
                        .iter()
                        .map(|a| a.spec.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }

    /// The CRS seed as bytes.
    pub fn seed(&self) -> Result<[u8; 32]> {
        let bytes = unhex(&self.crs_seed)?;
        bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("crs_seed must be 32 bytes of hex"))
    }
}

/// Corridors whose return flows the study declares as outputs (where both countries are in
/// the study): a public choice of well-known corridors, made before seeing any data.
pub const DECLARED_CORRIDORS: [(&str, &str); 10] = [
    ("MEX", "USA"),
    ("IND", "ARE"),
    ("BGD", "IND"),
    ("CHN", "USA"),
    ("PAK", "AFG"),
    ("KAZ", "RUS"),
    ("TUR", "DEU"),
    ("MAR", "ESP"),
    ("PHL", "USA"),
    ("CAN", "USA"),
];

fn countries_pos(codes: &[String], c: &str) -> Option<usize> {
    codes.iter().position(|x| x == c)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses lower- or upper-case hex.
pub fn unhex(s: &str) -> Result<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        bail!("hex string of odd length");
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| anyhow::anyhow!("not hex: {s}")))
        .collect()
}
