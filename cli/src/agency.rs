//! Agencies and their input files.
//!
//! An agency holds the records of its member countries: the flows *into* each member country,
//! by origin, for every period (what a national statistical office counts at its own border).
//! Its input is a CSV file with the header `agency,period,orig,dest,count`, one row per
//! (period, origin, destination) with the destination among the agency's countries, every
//! origin listed (zeros included) and every declared period present. Anything else is refused
//! with an error that names the line and says what to fix; nothing is written on failure.

use crate::data::AbelSander;
use crate::fsio;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The CSV header every agency file starts with.
pub const HEADER: [&str; 5] = ["agency", "period", "orig", "dest", "count"];

/// An agency: an identifier, a display name and the countries whose inflows it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgencySpec {
    /// Short identifier (lower-case letters, digits and `-`), used in file names.
    pub id: String,
    /// Display name.
    pub name: String,
    /// ISO3 codes of the member countries (destinations it reports).
    pub countries: Vec<String>,
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// One agency per Abel & Sander world region (10 agencies).
pub fn region_agencies(data: &AbelSander) -> Vec<AgencySpec> {
    (0..data.regions.len())
        .map(|r| AgencySpec {
            id: slug(&data.regions[r]),
            name: format!("{} statistical agency", data.regions[r]),
            countries: data
                .members(r)
                .into_iter()
                .map(|i| data.countries[i].iso3.clone())
                .collect(),
        })
        .collect()
}

/// One agency per country (196 agencies).
pub fn country_agencies(data: &AbelSander) -> Vec<AgencySpec> {
    data.countries
        .iter()
        .map(|c| AgencySpec {
            id: c.iso3.to_ascii_lowercase(),
            name: format!("{} national statistical office", c.name),
            countries: vec![c.iso3.clone()],
        })
        .collect()
}

/// An agency's validated contribution: for each period, the full origin × destination matrix
/// (row-major, `n × n`), zero outside the agency's destination columns.
#[derive(Clone, Debug)]
pub struct Contribution {
    /// The agency's identifier.
    pub agency: String,
    /// `counts[p][o * n + d]`.
    pub counts: Vec<Vec<u64>>,
}

/// Writes the agency's rows of the Abel & Sander flows as its input CSV (atomically): every
/// origin among `origins` (ISO3) into each of its countries, for every period.
pub fn write_agency_csv(
    path: &Path,
    agency: &AgencySpec,
    data: &AbelSander,
    origins: &[String],
    periods: &[String],
) -> Result<()> {
    let n = data.n();
    let origins: Vec<usize> = origins
        .iter()
        .map(|c| {
            data.index
                .get(c)
                .copied()
                .with_context(|| format!("unknown country {c}"))
        })
        .collect::<Result<_>>()?;
    let dests: Vec<usize> = agency
        .countries
        .iter()
        .map(|c| {
            data.index
                .get(c)
                .copied()
                .with_context(|| format!("unknown country {c}"))
        })
        .collect::<Result<_>>()?;
    fsio::write_atomic_with(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(HEADER)?;
        for period in periods {
            let p = crate::data::PERIODS
                .iter()
                .position(|x| x == period)
                .with_context(|| format!("unknown period {period}"))?;
            for &d in &dests {
                for &o in &origins {
                    let count = data.flows[p][o * n + d].to_string();
                    out.write_record([
                        agency.id.as_str(),
                        period.as_str(),
                        data.countries[o].iso3.as_str(),
                        data.countries[d].iso3.as_str(),
                        count.as_str(),
                    ])?;
                }
            }
        }
        out.flush()?;
        Ok(())
    })
}

/// Reads and validates an agency's CSV file.
///
/// `countries` is the public country list (ISO3, in matrix order), `periods` the declared
/// periods, `max_count` the declared per-cell maximum (the bound the encrypted sums are sized
/// for).
pub fn read_contribution(
    path: &Path,
    agency: &AgencySpec,
    countries: &[String],
    periods: &[String],
    max_count: u64,
) -> Result<Contribution> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    parse_contribution(
        file,
        &path.display().to_string(),
        agency,
        countries,
        periods,
        max_count,
    )
}

/// [`read_contribution`] over any reader; `name` names the input in errors.
pub fn parse_contribution(
    input: impl std::io::Read,
    name: &str,
    agency: &AgencySpec,
    countries: &[String],
    periods: &[String],
    max_count: u64,
) -> Result<Contribution> {
    let n = countries.len();
    let index: HashMap<&str, usize> = countries
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let period_index: HashMap<&str, usize> = periods
        .iter()
        .enumerate()
        .map(|(i, p)| (p.as_str(), i))
        .collect();
    let mut held = HashSet::new();
    for c in &agency.countries {
        let Some(&d) = index.get(c.as_str()) else {
            bail!("agency {} declares unknown country code {c}", agency.id);
        };
        held.insert(d);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(input);
    let header = reader
        .headers()
        .with_context(|| format!("{name}: cannot read the header"))?;
    if header.iter().map(str::trim).ne(HEADER) {
        bail!(
            "{name}: the header is `{}`; expected `{}`",
            header.iter().collect::<Vec<_>>().join(","),
            HEADER.join(",")
        );
    }
    let mut counts = vec![vec![0u64; n * n]; periods.len()];
    let mut seen: Vec<Vec<bool>> = vec![vec![false; n * n]; periods.len()];
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.with_context(|| format!("{name} line {line}: malformed CSV row"))?;
        if record.len() != HEADER.len() {
            bail!(
                "{name} line {line}: {} fields; expected {}",
                record.len(),
                HEADER.len()
            );
        }
        let field = |k: usize| record.get(k).unwrap_or("").trim();
        if field(0) != agency.id {
            bail!(
                "{name} line {line}: this row belongs to agency `{}`, not to `{}`: a file of the wrong agency (check which file you passed)",
                field(0),
                agency.id
            );
        }
        let Some(&p) = period_index.get(field(1)) else {
            bail!(
                "{name} line {line}: unknown period `{}` (declared periods: {})",
                field(1),
                periods.join(", ")
            );
        };
        let code = |k: usize, col: &str| -> Result<usize> {
            index.get(field(k)).copied().with_context(|| {
                format!("{name} line {line}: unknown country code `{}` in column {col} (ISO 3166-1 alpha-3 codes of the declared country list)", field(k))
            })
        };
        let o = code(2, "orig")?;
        let d = code(3, "dest")?;
        if !held.contains(&d) {
            bail!(
                "{name} line {line}: destination {} is not one of agency `{}`'s countries: a file of the wrong agency, or a row that belongs to another agency",
                field(3),
                agency.id
            );
        }
        let raw = field(4);
        let count: i128 = raw.parse().with_context(|| {
            format!("{name} line {line}: count `{raw}` is not a whole number of persons")
        })?;
        if count < 0 {
            bail!(
                "{name} line {line}: negative count {count} for {} -> {} in {}",
                field(2),
                field(3),
                field(1)
            );
        }
        let count = u64::try_from(count).ok().filter(|&c| c <= max_count).with_context(|| {
            format!("{name} line {line}: count {count} exceeds the declared maximum {max_count} per cell")
        })?;
        let cell = o * n + d;
        if seen[p][cell] {
            bail!(
                "{name} line {line}: duplicate row for {} -> {} in {}",
                field(2),
                field(3),
                field(1)
            );
        }
        seen[p][cell] = true;
        counts[p][cell] = count;
    }
    for (p, period) in periods.iter().enumerate() {
        let mut missing = Vec::new();
        for &d in &held {
            for o in 0..n {
                if !seen[p][o * n + d] {
                    missing.push(format!("{}->{}", countries[o], countries[d]));
                }
            }
        }
        if missing.len() == n * held.len() {
            bail!("{name}: missing period {period}: the file has no rows for it (every declared period must be present: {})", periods.join(", "));
        }
        if !missing.is_empty() {
            missing.sort();
            bail!(
                "{name}: missing period {period} for {} pair(s), e.g. {}: every (origin, destination) pair needs a row in every period (write 0 for no flow)",
                missing.len(),
                missing.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
            );
        }
    }
    Ok(Contribution {
        agency: agency.id.clone(),
        counts,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn setup() -> (AgencySpec, Vec<String>, Vec<String>) {
        let agency = AgencySpec {
            id: "north".into(),
            name: "North".into(),
            countries: vec!["AAA".into()],
        };
        let countries = vec!["AAA".to_owned(), "BBB".to_owned()];
        let periods = vec!["p1".to_owned(), "p2".to_owned()];
        (agency, countries, periods)
    }

    fn parse(text: &str) -> Result<Contribution> {
        let (a, c, p) = setup();
        parse_contribution(text.as_bytes(), "in.csv", &a, &c, &p, 1000)
    }

    const GOOD: &str = "agency,period,orig,dest,count\nnorth,p1,AAA,AAA,0\nnorth,p1,BBB,AAA,7\nnorth,p2,AAA,AAA,0\nnorth,p2,BBB,AAA,9\n";

    #[test]
    fn accepts_a_complete_file() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.counts[0], vec![0, 0, 7, 0]);
        assert_eq!(c.counts[1], vec![0, 0, 9, 0]);
    }

    #[test]
    fn refuses_each_kind_of_bad_input() {
        let cases = [
            (
                GOOD.replace("BBB,AAA,7", "ZZZ,AAA,7"),
                "unknown country code `ZZZ`",
            ),
            (GOOD.replace("BBB,AAA,7", "BBB,AAA,-7"), "negative count -7"),
            (
                GOOD.replace("north,p2,BBB,AAA,9\n", ""),
                "missing period p2 for 1 pair",
            ),
            (
                GOOD.replace("north,p2,AAA,AAA,0\nnorth,p2,BBB,AAA,9\n", ""),
                "missing period p2: the file has no rows",
            ),
            (GOOD.replace("north,", "south,"), "wrong agency"),
            (
                GOOD.replace("BBB,AAA,7", "AAA,BBB,7"),
                "not one of agency `north`'s countries",
            ),
            (
                GOOD.replace("p1,BBB,AAA,7", "p9,BBB,AAA,7"),
                "unknown period `p9`",
            ),
            (
                GOOD.replace("BBB,AAA,7", "BBB,AAA,7.5"),
                "not a whole number",
            ),
            (
                GOOD.replace("BBB,AAA,7", "BBB,AAA,1001"),
                "exceeds the declared maximum",
            ),
            (
                GOOD.replace("agency,period", "agency,year"),
                "expected `agency,period,orig,dest,count`",
            ),
            (format!("{GOOD}north,p1,BBB,AAA,7\n"), "duplicate row"),
        ];
        for (text, want) in cases {
            let err = format!("{:#}", parse(&text).unwrap_err());
            assert!(err.contains(want), "{want:?} not in {err:?}");
        }
    }
}
