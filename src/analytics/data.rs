//! Loading and validating the bundled migration data (`data/`, see its README for sources and
//! licences): Abel and Sander (2014) country and region flows, World Bank WDI indicators and
//! countries, UNHCR yearly displacement flows, US Census state-to-state flows and states.
//!
//! The files are RFC 4180 CSV with a header row, parsed here by hand (the library takes no CSV
//! dependency). Every loader checks what the analyses rely on and returns [`Error::Data`] with
//! the file, the line and what to do: unknown codes, negative or non-integer counts, missing
//! periods, duplicate or missing cells, malformed numbers.

use crate::error::{Error, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

fn data_err(source: &str, line: usize, reason: impl Into<String>) -> Error {
    Error::Data {
        source: source.to_string(),
        line,
        reason: reason.into(),
    }
}

/// A parsed CSV table: header and rows with their 1-based line numbers.
#[derive(Clone, Debug)]
pub struct Table {
    /// Name used in errors.
    pub source: String,
    /// Column names.
    pub header: Vec<String>,
    /// `(line, fields)`.
    pub rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    /// Parses CSV text (quoted fields may contain commas, doubled quotes and newlines).
    ///
    /// # Errors
    /// An unterminated quote; a row with another number of fields than the header; no header.
    pub fn parse(source: &str, text: &str) -> Result<Self> {
        let mut records: Vec<(usize, Vec<String>)> = Vec::new();
        let mut field = String::new();
        let mut rec: Vec<String> = Vec::new();
        let mut in_quotes = false;
        let mut line = 1usize;
        let mut rec_line = 1usize;
        let mut chars = text.chars().peekable();
        let mut any = false;
        while let Some(c) = chars.next() {
            any = true;
            if in_quotes {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => in_quotes = false,
                    '\n' => {
                        line += 1;
                        field.push(c);
                    }
                    _ => field.push(c),
                }
                continue;
            }
            match c {
                '"' if field.is_empty() => in_quotes = true,
                ',' => rec.push(std::mem::take(&mut field)),
                '\r' => {}
                '\n' => {
                    rec.push(std::mem::take(&mut field));
                    if !(rec.len() == 1 && rec[0].is_empty()) {
                        records.push((rec_line, std::mem::take(&mut rec)));
                    }
                    rec.clear();
                    line += 1;
                    rec_line = line;
                    any = false;
                }
                _ => field.push(c),
            }
        }
        if in_quotes {
            return Err(data_err(source, rec_line, "unterminated quoted field"));
        }
        if any || !field.is_empty() || !rec.is_empty() {
            rec.push(field);
            if !(rec.len() == 1 && rec[0].is_empty()) {
                records.push((rec_line, rec));
            }
        }
        let mut it = records.into_iter();
        let (_, header) = it
            .next()
            .ok_or_else(|| data_err(source, 0, "empty file: a header row is required"))?;
        let header: Vec<String> = header
            .into_iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        let mut rows = Vec::new();
        for (l, r) in it {
            if r.len() != header.len() {
                return Err(data_err(
                    source,
                    l,
                    format!("{} fields, the header has {}", r.len(), header.len()),
                ));
            }
            rows.push((l, r));
        }
        Ok(Self {
            source: source.to_string(),
            header,
            rows,
        })
    }

    /// Reads and parses a file.
    ///
    /// # Errors
    /// The file cannot be read; as [`parse`](Self::parse).
    pub fn read(path: &Path) -> Result<Self> {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        let text = std::fs::read_to_string(path)
            .map_err(|e| data_err(&name, 0, format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&name, &text)
    }

    /// Index of column `name`.
    ///
    /// # Errors
    /// No such column.
    pub fn col(&self, name: &str) -> Result<usize> {
        self.header.iter().position(|h| h == name).ok_or_else(|| {
            data_err(
                &self.source,
                1,
                format!(
                    "missing column `{name}` (header: {})",
                    self.header.join(",")
                ),
            )
        })
    }

    /// A non-negative integer count in `field` (no sign, no decimals).
    ///
    /// # Errors
    /// Empty, negative, fractional or malformed.
    pub fn count(&self, line: usize, what: &str, field: &str) -> Result<u64> {
        let f = field.trim();
        if f.is_empty() {
            return Err(data_err(
                &self.source,
                line,
                format!("missing value for `{what}`: every period needs a count"),
            ));
        }
        if f.starts_with('-') {
            return Err(data_err(
                &self.source,
                line,
                format!("negative count `{f}` for `{what}`: counts of people are >= 0"),
            ));
        }
        if let Ok(v) = f.parse::<u64>() {
            return Ok(v);
        }
        match f.parse::<f64>() {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(x) if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 9.0e15 => Ok(x as u64),
            _ => Err(data_err(
                &self.source,
                line,
                format!("`{f}` for `{what}` is not a whole number of people"),
            )),
        }
    }

    /// An optional float (empty = missing).
    ///
    /// # Errors
    /// Malformed or non-finite.
    pub fn float(&self, line: usize, what: &str, field: &str) -> Result<Option<f64>> {
        let f = field.trim();
        if f.is_empty() || f == "NA" {
            return Ok(None);
        }
        match f.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Some(x)),
            _ => Err(data_err(
                &self.source,
                line,
                format!("`{f}` for `{what}` is not a number"),
            )),
        }
    }
}

/// One Abel–Sander country.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsCountry {
    /// ISO 3166-1 alpha-3 code.
    pub iso3: String,
    /// Name.
    pub name: String,
    /// Region index `0..10` (the source's `region_id - 1`).
    pub region: usize,
}

/// Abel and Sander (2014) bilateral flows: 196 countries, 10 regions, four 5-year periods.
#[derive(Clone, Debug)]
pub struct AbelSander {
    /// Countries in file order.
    pub countries: Vec<AsCountry>,
    /// Region names by index.
    pub regions: Vec<String>,
    /// Period labels (`1990-1995` …).
    pub periods: Vec<String>,
    /// `flows[p][o·n + d]`.
    pub flows: Vec<Vec<u64>>,
    /// The source's own region table, `region_flows[p][r·10 + s]`.
    pub region_flows: Vec<Vec<u64>>,
}

const AS_PERIODS: [&str; 4] = [
    "flow_1990_1995",
    "flow_1995_2000",
    "flow_2000_2005",
    "flow_2005_2010",
];

impl AbelSander {
    /// Loads `abel_sander_2014_{countries,country_flows,region_flows}.csv` from `dir`.
    ///
    /// # Errors
    /// [`Error::Data`]: unknown or duplicate codes, a missing or duplicate cell, a missing
    /// period, a negative count, a region id outside 1..=10.
    pub fn load(dir: &Path) -> Result<Self> {
        let t = Table::read(&dir.join("abel_sander_2014_countries.csv"))?;
        let (ci, cn, cr, crid) = (
            t.col("iso3")?,
            t.col("name")?,
            t.col("region")?,
            t.col("region_id")?,
        );
        let mut countries = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut regions = vec![String::new(); 10];
        for (line, r) in &t.rows {
            let rid = t.count(*line, "region_id", &r[crid])?;
            if !(1..=10).contains(&rid) {
                return Err(data_err(&t.source, *line, "region_id must be 1..=10"));
            }
            #[allow(clippy::cast_possible_truncation)]
            let region = rid as usize - 1;
            regions[region].clone_from(&r[cr]);
            if index.insert(r[ci].clone(), countries.len()).is_some() {
                return Err(data_err(
                    &t.source,
                    *line,
                    format!("duplicate country `{}`", r[ci]),
                ));
            }
            countries.push(AsCountry {
                iso3: r[ci].clone(),
                name: r[cn].clone(),
                region,
            });
        }
        if regions.iter().any(String::is_empty) {
            return Err(data_err(
                &t.source,
                0,
                "every region 1..=10 needs a country",
            ));
        }
        let n = countries.len();
        let t = Table::read(&dir.join("abel_sander_2014_country_flows.csv"))?;
        let (co, cd) = (t.col("orig")?, t.col("dest")?);
        let pc: Vec<usize> = AS_PERIODS.iter().map(|p| t.col(p)).collect::<Result<_>>()?;
        let mut flows = vec![vec![0u64; n * n]; 4];
        let mut seen = vec![false; n * n];
        for (line, r) in &t.rows {
            let o = *index.get(&r[co]).ok_or_else(|| {
                data_err(&t.source, *line, format!("unknown origin code `{}`", r[co]))
            })?;
            let d = *index.get(&r[cd]).ok_or_else(|| {
                data_err(
                    &t.source,
                    *line,
                    format!("unknown destination code `{}`", r[cd]),
                )
            })?;
            if std::mem::replace(&mut seen[o * n + d], true) {
                return Err(data_err(
                    &t.source,
                    *line,
                    format!("duplicate cell {}->{}", r[co], r[cd]),
                ));
            }
            for (p, &c) in pc.iter().enumerate() {
                flows[p][o * n + d] = t.count(*line, AS_PERIODS[p], &r[c])?;
            }
        }
        if let Some(k) = seen.iter().position(|s| !s) {
            return Err(data_err(
                &t.source,
                0,
                format!(
                    "missing cell {}->{}: the matrix must be complete",
                    countries[k / n].iso3,
                    countries[k % n].iso3
                ),
            ));
        }
        let t = Table::read(&dir.join("abel_sander_2014_region_flows.csv"))?;
        let (ro, rd) = (t.col("orig_region")?, t.col("dest_region")?);
        let pc: Vec<usize> = AS_PERIODS.iter().map(|p| t.col(p)).collect::<Result<_>>()?;
        let mut region_flows = vec![vec![0u64; 100]; 4];
        let rindex = |line: usize, name: &str| {
            regions
                .iter()
                .position(|r| r == name)
                .ok_or_else(|| data_err(&t.source, line, format!("unknown region `{name}`")))
        };
        for (line, r) in &t.rows {
            let a = rindex(*line, &r[ro])?;
            let b = rindex(*line, &r[rd])?;
            for (p, &c) in pc.iter().enumerate() {
                region_flows[p][a * 10 + b] = t.count(*line, AS_PERIODS[p], &r[c])?;
            }
        }
        Ok(Self {
            countries,
            regions,
            periods: vec![
                "1990-1995".into(),
                "1995-2000".into(),
                "2000-2005".into(),
                "2005-2010".into(),
            ],
            flows,
            region_flows,
        })
    }

    /// Number of countries.
    pub fn n(&self) -> usize {
        self.countries.len()
    }

    /// Region index of every country.
    pub fn region_of(&self) -> Vec<usize> {
        self.countries.iter().map(|c| c.region).collect()
    }

    /// Index of a country code.
    pub fn index(&self, iso3: &str) -> Option<usize> {
        self.countries.iter().position(|c| c.iso3 == iso3)
    }

    /// First year of period `p` (1990, 1995, 2000, 2005).
    pub fn period_start(&self, p: usize) -> u16 {
        1990 + 5 * u16::try_from(p).unwrap_or(0)
    }

    /// One agency per region, `(agency-{region name}, member countries)`: the demo's ten
    /// agencies.
    pub fn agencies_by_region(&self) -> Vec<(String, Vec<usize>)> {
        (0..self.regions.len())
            .map(|r| {
                (
                    format!("agency-{}", self.regions[r]),
                    (0..self.n())
                        .filter(|&i| self.countries[i].region == r)
                        .collect(),
                )
            })
            .collect()
    }
}

/// WDI indicators (columns of `wdi_indicators_1990_2024.csv`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Indicator {
    /// `pop_total`, persons.
    Population,
    /// `gdp_pc_ppp`, GDP per capita, PPP, constant 2021 international $.
    GdpPerCapitaPpp,
    /// `gdp_growth_pct`.
    GdpGrowth,
    /// `inflation_pct`.
    Inflation,
    /// `unemployment_pct`.
    Unemployment,
    /// `labour_force_participation_pct`.
    LabourForceParticipation,
    /// `urban_pop_pct`.
    UrbanPopulation,
    /// `life_expectancy`.
    LifeExpectancy,
}

impl Indicator {
    /// All indicators.
    pub const ALL: [Self; 8] = [
        Self::Population,
        Self::GdpPerCapitaPpp,
        Self::GdpGrowth,
        Self::Inflation,
        Self::Unemployment,
        Self::LabourForceParticipation,
        Self::UrbanPopulation,
        Self::LifeExpectancy,
    ];

    /// The CSV column.
    pub fn column(self) -> &'static str {
        match self {
            Self::Population => "pop_total",
            Self::GdpPerCapitaPpp => "gdp_pc_ppp",
            Self::GdpGrowth => "gdp_growth_pct",
            Self::Inflation => "inflation_pct",
            Self::Unemployment => "unemployment_pct",
            Self::LabourForceParticipation => "labour_force_participation_pct",
            Self::UrbanPopulation => "urban_pop_pct",
            Self::LifeExpectancy => "life_expectancy",
        }
    }
}

/// A WDI economy.
#[derive(Clone, Debug, PartialEq)]
pub struct WdiCountry {
    /// ISO3 code.
    pub iso3: String,
    /// Name.
    pub name: String,
    /// World Bank region.
    pub region: String,
    /// Income group.
    pub income_group: String,
    /// Capital city.
    pub capital: String,
    /// Capital longitude, degrees.
    pub longitude: Option<f64>,
    /// Capital latitude, degrees.
    pub latitude: Option<f64>,
}

/// World Bank WDI countries and country-year indicators.
#[derive(Clone, Debug)]
pub struct Wdi {
    /// Economies.
    pub countries: Vec<WdiCountry>,
    values: HashMap<(String, u16), [Option<f64>; 8]>,
}

impl Wdi {
    /// Loads `wdi_countries.csv` and `wdi_indicators_1990_2024.csv` (or the bundled subset
    /// `wdi_indicators.csv` when present) from `dir`.
    ///
    /// # Errors
    /// [`Error::Data`]: malformed numbers, unknown economies, duplicate country-years, years
    /// outside 1960–2100, coordinates out of range.
    pub fn load(dir: &Path) -> Result<Self> {
        let t = Table::read(&dir.join("wdi_countries.csv"))?;
        let c = [
            "iso3",
            "country",
            "wb_region",
            "wb_income_group",
            "capital",
            "longitude",
            "latitude",
        ]
        .iter()
        .map(|n| t.col(n))
        .collect::<Result<Vec<_>>>()?;
        let mut countries = Vec::new();
        for (line, r) in &t.rows {
            let lon = t.float(*line, "longitude", &r[c[5]])?;
            let lat = t.float(*line, "latitude", &r[c[6]])?;
            if lon.is_some_and(|x| x.abs() > 180.0) || lat.is_some_and(|x| x.abs() > 90.0) {
                return Err(data_err(
                    &t.source,
                    *line,
                    "capital coordinates out of range",
                ));
            }
            countries.push(WdiCountry {
                iso3: r[c[0]].clone(),
                name: r[c[1]].clone(),
                region: r[c[2]].clone(),
                income_group: r[c[3]].clone(),
                capital: r[c[4]].clone(),
                longitude: lon,
                latitude: lat,
            });
        }
        let subset = dir.join("wdi_indicators.csv");
        let path = if subset.exists() {
            subset
        } else {
            dir.join("wdi_indicators_1990_2024.csv")
        };
        let t = Table::read(&path)?;
        let (ci, cy) = (t.col("iso3c")?, t.col("year")?);
        let cols: Vec<usize> = Indicator::ALL
            .iter()
            .map(|i| t.col(i.column()))
            .collect::<Result<_>>()?;
        let mut values = HashMap::new();
        for (line, r) in &t.rows {
            if !countries.iter().any(|c| c.iso3 == r[ci]) {
                return Err(data_err(
                    &t.source,
                    *line,
                    format!("unknown economy `{}`", r[ci]),
                ));
            }
            let y = t.count(*line, "year", &r[cy])?;
            let y = u16::try_from(y)
                .ok()
                .filter(|y| (1960..=2100).contains(y))
                .ok_or_else(|| data_err(&t.source, *line, "year outside 1960-2100"))?;
            let mut v = [None; 8];
            for (k, &c) in cols.iter().enumerate() {
                v[k] = t.float(*line, Indicator::ALL[k].column(), &r[c])?;
            }
            if values.insert((r[ci].clone(), y), v).is_some() {
                return Err(data_err(
                    &t.source,
                    *line,
                    format!("duplicate row for {} {y}", r[ci]),
                ));
            }
        }
        Ok(Self { countries, values })
    }

    /// The value of `ind` for `iso3` in `year`, if present.
    pub fn get(&self, iso3: &str, year: u16, ind: Indicator) -> Option<f64> {
        let k = Indicator::ALL.iter().position(|&i| i == ind)?;
        self.values
            .get(&(iso3.to_string(), year))
            .and_then(|v| v[k])
    }

    /// The economy with code `iso3`.
    pub fn country(&self, iso3: &str) -> Option<&WdiCountry> {
        self.countries.iter().find(|c| c.iso3 == iso3)
    }
}

/// UNHCR yearly displacement flows (new refugee arrivals, asylum applications, refugee-like
/// arrivals and other people in need of protection, summed; an empty field counts as none of
/// that category) per UNSD region of the host country.
#[derive(Clone, Debug)]
pub struct UnhcrSeries {
    /// UNSD regions (sorted).
    pub regions: Vec<String>,
    /// Years, increasing.
    pub years: Vec<u16>,
    /// `totals[region][year index]`.
    pub totals: Vec<Vec<u64>>,
}

impl UnhcrSeries {
    /// Loads `unhcr_countries.csv` and `unhcr_displacement_flows_2000_2025.csv` from `dir`.
    ///
    /// # Errors
    /// [`Error::Data`]: a host code without a UNSD region, negative counts, malformed years.
    pub fn load(dir: &Path) -> Result<Self> {
        let t = Table::read(&dir.join("unhcr_countries.csv"))?;
        let (ci, cr) = (t.col("iso3")?, t.col("unsd_region")?);
        let mut region_of: HashMap<String, String> = HashMap::new();
        for (_, r) in &t.rows {
            if !r[ci].is_empty() && !r[cr].is_empty() {
                region_of.insert(r[ci].clone(), r[cr].clone());
            }
        }
        let t = Table::read(&dir.join("unhcr_displacement_flows_2000_2025.csv"))?;
        let (cy, ca) = (t.col("year")?, t.col("coa_iso")?);
        let cols: Vec<usize> = ["refugees", "asylum_seekers", "refugee_like", "oip"]
            .iter()
            .map(|n| t.col(n))
            .collect::<Result<_>>()?;
        let mut acc: BTreeMap<(String, u16), u64> = BTreeMap::new();
        for (line, r) in &t.rows {
            let y = u16::try_from(t.count(*line, "year", &r[cy])?)
                .ok()
                .filter(|y| (1950..=2100).contains(y))
                .ok_or_else(|| data_err(&t.source, *line, "year outside 1950-2100"))?;
            let region = region_of.get(&r[ca]).ok_or_else(|| {
                data_err(
                    &t.source,
                    *line,
                    format!("host `{}` has no UNSD region in unhcr_countries.csv", r[ca]),
                )
            })?;
            let mut s = 0u64;
            for &c in &cols {
                if !r[c].trim().is_empty() {
                    s += t.count(*line, &t.header[c], &r[c])?;
                }
            }
            *acc.entry((region.clone(), y)).or_default() += s;
        }
        let mut regions: Vec<String> = acc.keys().map(|(r, _)| r.clone()).collect();
        regions.dedup();
        let mut years: Vec<u16> = acc.keys().map(|&(_, y)| y).collect();
        years.sort_unstable();
        years.dedup();
        let totals = regions
            .iter()
            .map(|r| {
                years
                    .iter()
                    .map(|&y| acc.get(&(r.clone(), y)).copied().unwrap_or(0))
                    .collect()
            })
            .collect();
        Ok(Self {
            regions,
            years,
            totals,
        })
    }
}

/// A US state with its Census division and region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsState {
    /// Name.
    pub name: String,
    /// Postal abbreviation.
    pub abbrev: String,
    /// Census region (4).
    pub region: String,
    /// Census division (9).
    pub division: String,
}

/// US Census ACS state-to-state flows, 50 states, 2010–2019.
#[derive(Clone, Debug)]
pub struct UsMigration {
    /// States in file order.
    pub states: Vec<UsState>,
    /// Years.
    pub years: Vec<u16>,
    /// `flows[year index][o·50 + d]` (diagonal 0).
    pub flows: Vec<Vec<u64>>,
}

impl UsMigration {
    /// Loads `us_states.csv` and `us_state_to_state_2010_2019.csv` from `dir`.
    ///
    /// # Errors
    /// [`Error::Data`]: unknown states, negative counts, duplicate or missing cells.
    pub fn load(dir: &Path) -> Result<Self> {
        let t = Table::read(&dir.join("us_states.csv"))?;
        let c = ["state", "abbrev", "census_region", "census_division"]
            .iter()
            .map(|n| t.col(n))
            .collect::<Result<Vec<_>>>()?;
        let states: Vec<UsState> = t
            .rows
            .iter()
            .map(|(_, r)| UsState {
                name: r[c[0]].clone(),
                abbrev: r[c[1]].clone(),
                region: r[c[2]].clone(),
                division: r[c[3]].clone(),
            })
            .collect();
        let n = states.len();
        let t = Table::read(&dir.join("us_state_to_state_2010_2019.csv"))?;
        let (cy, co, cd, cm) = (
            t.col("year")?,
            t.col("origin_state")?,
            t.col("dest_state")?,
            t.col("movers")?,
        );
        let idx = |line: usize, s: &str| {
            states
                .iter()
                .position(|x| x.name == s)
                .ok_or_else(|| data_err(&t.source, line, format!("unknown state `{s}`")))
        };
        let mut by_year: BTreeMap<u16, Vec<Option<u64>>> = BTreeMap::new();
        for (line, r) in &t.rows {
            let y = u16::try_from(t.count(*line, "year", &r[cy])?)
                .map_err(|_| data_err(&t.source, *line, "year out of range"))?;
            let (o, d) = (idx(*line, &r[co])?, idx(*line, &r[cd])?);
            let m = t.count(*line, "movers", &r[cm])?;
            let cells = by_year.entry(y).or_insert_with(|| vec![None; n * n]);
            if cells[o * n + d].replace(m).is_some() {
                return Err(data_err(&t.source, *line, "duplicate cell"));
            }
        }
        let years: Vec<u16> = by_year.keys().copied().collect();
        let mut flows = Vec::new();
        for (y, cells) in by_year {
            let mut f = vec![0u64; n * n];
            for (k, c) in cells.iter().enumerate() {
                match c {
                    Some(v) => f[k] = *v,
                    None if k / n == k % n => {}
                    None => {
                        return Err(data_err(
                            &t.source,
                            0,
                            format!(
                                "missing cell {} -> {} in {y}",
                                states[k / n].name,
                                states[k % n].name
                            ),
                        ))
                    }
                }
            }
            flows.push(f);
        }
        Ok(Self {
            states,
            years,
            flows,
        })
    }

    /// Group index of each state by Census region (regions sorted by name).
    pub fn regions(&self) -> (Vec<String>, Vec<usize>) {
        group_ids(self.states.iter().map(|s| s.region.clone()))
    }

    /// Group index of each state by Census division, numbered so that divisions nest in
    /// regions in column order (sorted by (region, division)).
    pub fn divisions(&self) -> (Vec<String>, Vec<usize>) {
        let (names, ids) = group_ids(
            self.states
                .iter()
                .map(|s| format!("{}\u{1f}{}", s.region, s.division)),
        );
        (
            names
                .into_iter()
                .map(|k| k.split('\u{1f}').nth(1).unwrap_or_default().to_string())
                .collect(),
            ids,
        )
    }
}

/// Sorted distinct names and each item's index among them.
pub fn group_ids(items: impl Iterator<Item = String> + Clone) -> (Vec<String>, Vec<usize>) {
    let mut names: Vec<String> = items.clone().collect();
    names.sort();
    names.dedup();
    let ids = items
        .map(|s| names.iter().position(|n| *n == s).unwrap_or(0))
        .collect();
    (names, ids)
}
