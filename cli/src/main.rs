//! `migrationfhe`: encrypted multi-agency migration analytics.
//!
//! With no arguments it runs the demo. Subcommands drive the multi-process workflow, one
//! process per agency, exchanging only files in a shared folder.

mod agency;
mod data;
mod fsio;
mod plain;
mod plots;
mod report;
mod results;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Encrypted migration analytics for statistical agencies (BFV/CKKS, multi-party threshold).
#[derive(Parser, Debug)]
#[command(name = "migrationfhe", version, about, long_about = None)]
struct Cli {
    /// Data folder (default: $MIGRATIONFHE_DATA, else the repository's data/).
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The same figures in plain arithmetic (no encryption), as a report.
    Reference {
        /// Output folder.
        #[arg(long, default_value = "migrationfhe-reference")]
        out: PathBuf,
    },
    /// Writes each agency's input CSV from the bundled Abel & Sander data.
    SplitData {
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// `regions` (10 agencies) or `countries` (196).
        #[arg(long, default_value = "regions")]
        by: String,
    },
    /// Checks an agency's input CSV without encrypting anything.
    Validate {
        /// The agency's identifier (see `split-data`).
        #[arg(long)]
        agency: String,
        /// The CSV file.
        #[arg(long)]
        input: PathBuf,
        /// `regions` (10 agencies) or `countries` (196).
        #[arg(long, default_value = "regions")]
        by: String,
    },
}

/// Largest count accepted in one cell of an agency file (the declared maximum the encrypted
/// sums are sized for).
pub const MAX_CELL_COUNT: u64 = 100_000_000;

fn agencies_by(data: &data::AbelSander, by: &str) -> Result<Vec<agency::AgencySpec>> {
    match by {
        "regions" => Ok(agency::region_agencies(data)),
        "countries" => Ok(agency::country_agencies(data)),
        other => anyhow::bail!("--by {other}: expected `regions` or `countries`"),
    }
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let dir = data::data_dir(cli.data.as_deref());
    match cli.command {
        None => anyhow::bail!("the demo is not wired yet"),
        Some(Command::Reference { out }) => {
            let as_data = data::AbelSander::load(&dir)?;
            let wdi = data::Wdi::load(&dir)?;
            let unhcr = data::UnhcrSeries::load(&dir)?;
            let r = plain::reference(&as_data, &wdi, Some(&unhcr));
            for p in report::write_report(&out, &r, Some(&wdi))? {
                println!("wrote {}", p.display());
            }
            Ok(())
        }
        Some(Command::SplitData { out, by }) => {
            let as_data = data::AbelSander::load(&dir)?;
            let agencies = agencies_by(&as_data, &by)?;
            for a in &agencies {
                let path = out.join(format!("{}.csv", a.id));
                agency::write_agency_csv(&path, a, &as_data, &data::PERIODS)?;
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        Some(Command::Validate { agency, input, by }) => {
            let as_data = data::AbelSander::load(&dir)?;
            let agencies = agencies_by(&as_data, &by)?;
            let spec = agencies.iter().find(|a| a.id == agency).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown agency `{agency}` (agencies: {})",
                    agencies
                        .iter()
                        .map(|a| a.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            let countries: Vec<String> = as_data.countries.iter().map(|c| c.iso3.clone()).collect();
            let periods: Vec<String> = data::PERIODS.iter().map(|p| (*p).to_owned()).collect();
            let c = agency::read_contribution(&input, spec, &countries, &periods, MAX_CELL_COUNT)?;
            let total: u64 = c.counts.iter().flatten().sum();
            println!(
                "{}: valid input of agency {} ({} periods, {total} persons in all)",
                input.display(),
                c.agency,
                c.counts.len()
            );
            Ok(())
        }
    }
}
