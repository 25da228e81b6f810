//! The plain result structures the reports and plots are drawn from: decrypted, authorised
//! outputs only, plus the record of who decrypted what and the checks against plaintext.

use serde::{Deserialize, Serialize};

/// One collectively decrypted output.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Decryption {
    /// Output name as declared by the analysis.
    pub output: String,
    /// What it is.
    pub description: String,
    /// Number of ciphertexts decrypted for it.
    pub ciphertexts: usize,
    /// Agencies whose decryption shares were combined.
    pub parties: Vec<String>,
    /// How: e.g. "threshold decryption (t-of-n)" or "single-key decryption (not threshold)".
    pub method: String,
}

/// A check of a published figure against the same computation in plain arithmetic.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Measured difference or a short explanation.
    pub detail: String,
}

/// A yearly series with a forecast and the held-out value.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Forecast {
    /// Series name (e.g. host region).
    pub name: String,
    /// First year of `values`.
    pub first_year: u32,
    /// Observed values used for fitting.
    pub values: Vec<f64>,
    /// Method (e.g. "Holt, alpha 0.5 beta 0.3").
    pub method: String,
    /// Forecast year.
    pub forecast_year: u32,
    /// Forecast value.
    pub forecast: f64,
    /// Held-out actual value for that year, if known.
    pub actual: Option<f64>,
}

/// A named scalar result (correlation, regression coefficient, ...).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Statistic {
    /// Name.
    pub name: String,
    /// Value.
    pub value: f64,
    /// Plain-arithmetic reference value, if computed.
    pub reference: Option<f64>,
    /// What it is, and over what.
    pub description: String,
}

/// A declared corridor's return-flow figures in one period.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CorridorRow {
    /// Period.
    pub period: String,
    /// Origin ISO3.
    pub origin: String,
    /// Destination ISO3.
    pub dest: String,
    /// Flow origin -> destination.
    pub forward: i64,
    /// The return flow destination -> origin.
    pub reverse: i64,
    /// `forward - reverse`.
    pub net: i64,
    /// `reverse / forward`.
    pub return_ratio: Option<f64>,
}

/// One agency's costs: seconds of its own computation and bytes it publishes, per stage.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AgencyCost {
    /// The agency.
    pub agency: String,
    /// Key generation: sampling its share, public-key and Galois key shares.
    pub keygen_s: f64,
    /// Bytes of its key-generation shares.
    pub keygen_bytes: u64,
    /// CKKS key generation (public, relinearisation in two rounds, Galois key shares).
    pub ckks_keygen_s: f64,
    /// Reading and validating its CSV, encrypting and signing.
    pub encrypt_s: f64,
    /// Bytes of its signed submission (ciphertexts).
    pub submission_bytes: u64,
    /// Its decryption shares of every declared output.
    pub decrypt_s: f64,
    /// Bytes of its decryption shares.
    pub share_bytes: u64,
}

/// Everything a report shows.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Results {
    /// Report title.
    pub title: String,
    /// Parameter set, key generation and decryption setup in one line each.
    pub setup: Vec<String>,
    /// Period labels.
    pub periods: Vec<String>,
    /// Region names.
    pub regions: Vec<String>,
    /// Country ISO3 codes, in matrix order.
    pub countries: Vec<String>,
    /// Country names.
    pub country_names: Vec<String>,
    /// Region index of each country.
    pub country_region: Vec<usize>,
    /// `region_flows[p][r * R + s]`: persons from region r to region s in period p.
    pub region_flows: Vec<Vec<u64>>,
    /// `inflow[p][c]`.
    pub inflow: Vec<Vec<u64>>,
    /// `outflow[p][c]`.
    pub outflow: Vec<Vec<u64>>,
    /// Declared corridors (return flows).
    pub corridors: Vec<CorridorRow>,
    /// Largest country-to-country corridors of the last period: (orig, dest, persons).
    pub top_corridors: Vec<(usize, usize, u64)>,
    /// Title of the flow map (what its flows are).
    pub flow_map_title: String,
    /// Net migration rate per 1,000 population, last period, where population is known.
    pub net_rate_per_1000: Vec<Option<f64>>,
    /// PageRank of the last period's flow graph, if computed.
    pub pagerank: Vec<f64>,
    /// Statistics (correlation, regression coefficients, ...).
    pub statistics: Vec<Statistic>,
    /// Cluster of each country, if clustering ran.
    pub clusters: Vec<usize>,
    /// Forecasts of yearly series.
    pub forecasts: Vec<Forecast>,
    /// Which outputs were decrypted, and by whom.
    pub decryptions: Vec<Decryption>,
    /// Outputs computed under encryption but not released: (what, why).
    pub withheld: Vec<(String, String)>,
    /// Checks against plain arithmetic.
    pub checks: Vec<Check>,
    /// Per-agency costs (time and bytes per stage).
    pub agency_costs: Vec<AgencyCost>,
    /// Stage timings in seconds.
    pub timings: Vec<(String, f64)>,
    /// Anything a reader must know (synthetic splits, intermediate decryptions, ...).
    pub notes: Vec<String>,
}

impl Results {
    /// Net migration `inflow - outflow` of period `p`.
    pub fn net(&self, p: usize) -> Vec<i64> {
        self.inflow[p]
            .iter()
            .zip(&self.outflow[p])
            .map(|(&i, &o)| i128::from(i) - i128::from(o))
            .map(|v| i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX }))
            .collect()
    }
}
