//! Reference tables the tool reads: the Abel & Sander (2014) countries, regions and bilateral
//! flows, the World Bank WDI country table (capital coordinates) and indicators, and the UNHCR
//! annual displacement flows with the UN M49 regions. See `data/README.md` for sources and
//! licences. These are public tables; an agency's own records come in through
//! [`crate::agency`].

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The four five-year periods of the Abel & Sander data, labelled as in the agency CSV files.
pub const PERIODS: [&str; 4] = ["1990-1995", "1995-2000", "2000-2005", "2005-2010"];

/// Finds the data folder: `--data` if given, else `$MIGRATIONFHE_DATA`, else the repository's
/// `data/` (next to the tool's sources), else `./data`.
pub fn data_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("MIGRATIONFHE_DATA") {
        return PathBuf::from(p);
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
    if repo.join("abel_sander_2014_countries.csv").exists() {
        return repo;
    }
    PathBuf::from("data")
}

fn open(dir: &Path, name: &str) -> Result<csv::Reader<std::fs::File>> {
    let path = dir.join(name);
    csv::Reader::from_path(&path).with_context(|| {
        format!(
            "cannot open {} (point --data or MIGRATIONFHE_DATA at the data folder)",
            path.display()
        )
    })
}

/// One Abel & Sander country.
#[derive(Clone, Debug, Deserialize)]
pub struct Country {
    /// ISO 3166-1 alpha-3 code.
    pub iso3: String,
    /// English name.
    pub name: String,
    /// Region name (10 regions).
    pub region: String,
    /// Region number, 1 to 10.
    pub region_id: usize,
}

/// The Abel & Sander countries, regions and flows.
#[derive(Clone, Debug)]
pub struct AbelSander {
    /// The 196 countries in file order.
    pub countries: Vec<Country>,
    /// Region names, index `region_id - 1`.
    pub regions: Vec<String>,
    /// Country index by ISO3 code.
    pub index: HashMap<String, usize>,
    /// `flows[p][o * n + d]`: persons moving from country `o` to country `d` in period `p`.
    pub flows: Vec<Vec<u64>>,
    /// The source's own region table, `region_flows[p][r * 10 + s]`.
    pub region_flows: Vec<Vec<u64>>,
}

#[derive(Deserialize)]
struct FlowRow {
    orig: String,
    dest: String,
    flow_1990_1995: u64,
    flow_1995_2000: u64,
    flow_2000_2005: u64,
    flow_2005_2010: u64,
}

#[derive(Deserialize)]
struct RegionFlowRow {
    orig_region: String,
    dest_region: String,
    flow_1990_1995: u64,
    flow_1995_2000: u64,
    flow_2000_2005: u64,
    flow_2005_2010: u64,
}

impl AbelSander {
    /// Loads the countries, the country flows and the region flows from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let mut countries = Vec::new();
        for row in open(dir, "abel_sander_2014_countries.csv")?.deserialize() {
            let c: Country = row.context("abel_sander_2014_countries.csv")?;
            countries.push(c);
        }
        let n_regions = countries.iter().map(|c| c.region_id).max().unwrap_or(0);
        let mut regions = vec![String::new(); n_regions];
        for c in &countries {
            if c.region_id == 0 {
                bail!("abel_sander_2014_countries.csv: region_id 0 for {}", c.iso3);
            }
            regions[c.region_id - 1].clone_from(&c.region);
        }
        let index: HashMap<String, usize> = countries
            .iter()
            .enumerate()
            .map(|(i, c)| (c.iso3.clone(), i))
            .collect();
        let n = countries.len();
        let mut flows = vec![vec![0u64; n * n]; 4];
        for row in open(dir, "abel_sander_2014_country_flows.csv")?.deserialize() {
            let r: FlowRow = row.context("abel_sander_2014_country_flows.csv")?;
            let (Some(&o), Some(&d)) = (index.get(&r.orig), index.get(&r.dest)) else {
                bail!(
                    "abel_sander_2014_country_flows.csv: unknown code {} or {}",
                    r.orig,
                    r.dest
                );
            };
            let vals = [
                r.flow_1990_1995,
                r.flow_1995_2000,
                r.flow_2000_2005,
                r.flow_2005_2010,
            ];
            for (p, v) in vals.into_iter().enumerate() {
                flows[p][o * n + d] = v;
            }
        }
        let region_index: HashMap<&str, usize> = regions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.as_str(), i))
            .collect();
        let nr = regions.len();
        let mut region_flows = vec![vec![0u64; nr * nr]; 4];
        for row in open(dir, "abel_sander_2014_region_flows.csv")?.deserialize() {
            let r: RegionFlowRow = row.context("abel_sander_2014_region_flows.csv")?;
            let (Some(&o), Some(&d)) = (
                region_index.get(r.orig_region.as_str()),
                region_index.get(r.dest_region.as_str()),
            ) else {
                bail!(
                    "abel_sander_2014_region_flows.csv: unknown region {}",
                    r.orig_region
                );
            };
            let vals = [
                r.flow_1990_1995,
                r.flow_1995_2000,
                r.flow_2000_2005,
                r.flow_2005_2010,
            ];
            for (p, v) in vals.into_iter().enumerate() {
                region_flows[p][o * nr + d] = v;
            }
        }
        Ok(Self {
            countries,
            regions,
            index,
            flows,
            region_flows,
        })
    }

    /// Number of countries.
    pub fn n(&self) -> usize {
        self.countries.len()
    }

    /// Indices of the countries of region `r` (0-based).
    pub fn members(&self, r: usize) -> Vec<usize> {
        (0..self.n())
            .filter(|&i| self.countries[i].region_id == r + 1)
            .collect()
    }
}

/// A WDI economy with its capital's coordinates.
#[derive(Clone, Debug, Deserialize)]
pub struct WdiCountry {
    /// ISO3 code.
    pub iso3: String,
    /// Capital longitude (degrees), if given.
    pub longitude: Option<f64>,
    /// Capital latitude (degrees), if given.
    pub latitude: Option<f64>,
}

/// WDI country table and the two indicators the analyses use.
#[derive(Clone, Debug, Default)]
pub struct Wdi {
    /// Economies by ISO3.
    pub countries: HashMap<String, WdiCountry>,
    /// `(iso3, year) -> population`.
    pub population: HashMap<(String, u32), f64>,
    /// `(iso3, year) -> GDP per capita, PPP`.
    pub gdp_pc: HashMap<(String, u32), f64>,
}

#[derive(Deserialize)]
struct WdiRow {
    iso3c: String,
    year: u32,
    pop_total: Option<f64>,
    gdp_pc_ppp: Option<f64>,
}

impl Wdi {
    /// Loads `wdi_countries.csv` and `wdi_indicators.csv` (the bundled subset) or
    /// `wdi_indicators_1990_2024.csv`.
    pub fn load(dir: &Path) -> Result<Self> {
        let mut countries = HashMap::new();
        for row in open(dir, "wdi_countries.csv")?.deserialize() {
            let c: WdiCountry = row.context("wdi_countries.csv")?;
            countries.insert(c.iso3.clone(), c);
        }
        let mut population = HashMap::new();
        let mut gdp_pc = HashMap::new();
        let name = if dir.join("wdi_indicators.csv").exists() {
            "wdi_indicators.csv"
        } else {
            "wdi_indicators_1990_2024.csv"
        };
        for row in open(dir, name)?.deserialize() {
            let r: WdiRow = row.with_context(|| name.to_owned())?;
            if let Some(p) = r.pop_total {
                population.insert((r.iso3c.clone(), r.year), p);
            }
            if let Some(g) = r.gdp_pc_ppp {
                gdp_pc.insert((r.iso3c, r.year), g);
            }
        }
        Ok(Self {
            countries,
            population,
            gdp_pc,
        })
    }

    /// Capital coordinates `(lon, lat)` of `iso3`, if known.
    pub fn capital(&self, iso3: &str) -> Option<(f64, f64)> {
        let c = self.countries.get(iso3)?;
        Some((c.longitude?, c.latitude?))
    }
}

/// UNHCR annual new displacement (refugees + asylum applications + refugee-like + other people
/// in need of international protection) by host UN M49 region, 2000–2025.
#[derive(Clone, Debug)]
pub struct UnhcrSeries {
    /// Host regions (M49), sorted.
    pub regions: Vec<String>,
    /// First year.
    pub first_year: u32,
    /// `values[r][y - first_year]`.
    pub values: Vec<Vec<u64>>,
}

#[derive(Deserialize)]
struct UnhcrCountry {
    iso3: String,
    unsd_region: String,
}

#[derive(Deserialize)]
struct UnhcrFlow {
    year: u32,
    coa_iso: String,
    refugees: Option<u64>,
    asylum_seekers: Option<u64>,
    refugee_like: Option<u64>,
    oip: Option<u64>,
}

impl UnhcrSeries {
    /// Loads the yearly series from `unhcr_countries.csv` and
    /// `unhcr_displacement_flows_2000_2025.csv`.
    pub fn load(dir: &Path) -> Result<Self> {
        let mut region_of = HashMap::new();
        for row in open(dir, "unhcr_countries.csv")?.deserialize() {
            let c: UnhcrCountry = row.context("unhcr_countries.csv")?;
            if !c.unsd_region.is_empty() {
                region_of.insert(c.iso3, c.unsd_region);
            }
        }
        let mut regions: Vec<String> = region_of.values().cloned().collect();
        regions.sort();
        regions.dedup();
        let (first_year, last_year) = (2000u32, 2025u32);
        let years = (last_year - first_year + 1) as usize;
        let mut values = vec![vec![0u64; years]; regions.len()];
        for row in open(dir, "unhcr_displacement_flows_2000_2025.csv")?.deserialize() {
            let f: UnhcrFlow = row.context("unhcr_displacement_flows_2000_2025.csv")?;
            let Some(region) = region_of.get(&f.coa_iso) else {
                continue;
            };
            let Ok(r) = regions.binary_search(region) else {
                continue;
            };
            if !(first_year..=last_year).contains(&f.year) {
                continue;
            }
            let total = f.refugees.unwrap_or(0)
                + f.asylum_seekers.unwrap_or(0)
                + f.refugee_like.unwrap_or(0)
                + f.oip.unwrap_or(0);
            values[r][(f.year - first_year) as usize] += total;
        }
        Ok(Self {
            regions,
            first_year,
            values,
        })
    }
}
