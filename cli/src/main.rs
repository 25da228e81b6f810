//! `migrationfhe`: encrypted multi-agency migration analytics.
//!
//! With no arguments it runs the demo. Subcommands drive the multi-process workflow, one
//! process per agency, exchanging only files in a shared folder.

mod agency;
mod data;
mod fsio;
mod plain;
mod plots;
mod presets;
mod progress;
mod report;
mod results;
mod study;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use rand_core::{OsRng, RngCore};
use std::path::{Path, PathBuf};

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
    /// Declares a study in the shared folder: parameters, common reference seed, agencies.
    Init {
        /// The shared folder.
        #[arg(long)]
        shared: PathBuf,
        /// One agency per `regions` (10) or per `countries` (196).
        #[arg(long, default_value = "regions")]
        by: String,
        /// Restrict the study to these regions (comma-separated names; default: all).
        #[arg(long, value_delimiter = ',')]
        regions: Vec<String>,
        /// BFV parameter preset.
        #[arg(long, default_value = presets::DEFAULT)]
        preset: String,
        /// Decryption threshold (default: every agency).
        #[arg(long)]
        threshold: Option<usize>,
    },
    /// Writes each agency's input CSV for the study from the bundled Abel & Sander data.
    SplitData {
        /// The shared folder (reads `study.json`).
        #[arg(long)]
        shared: PathBuf,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Checks an agency's input CSV against the study without encrypting anything.
    Validate {
        /// The shared folder (reads `study.json`).
        #[arg(long)]
        shared: PathBuf,
        /// The agency's identifier.
        #[arg(long)]
        agency: String,
        /// The CSV file.
        #[arg(long)]
        input: PathBuf,
    },
    /// The same figures in plain arithmetic (no encryption), as a report.
    Reference {
        /// Output folder.
        #[arg(long, default_value = "migrationfhe-reference")]
        out: PathBuf,
    },
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn study_path(shared: &Path) -> PathBuf {
    shared.join("study.json")
}

fn load_study(shared: &Path) -> Result<study::Study> {
    let path = study_path(shared);
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "cannot read {} (run `migrationfhe init` first)",
            path.display()
        )
    })?;
    let s: study::Study = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a valid study file", path.display()))?;
    if s.format != study::FORMAT {
        bail!(
            "{}: format `{}`, expected `{}`",
            path.display(),
            s.format,
            study::FORMAT
        );
    }
    Ok(s)
}

fn run(cli: Cli) -> Result<()> {
    let dir = data::data_dir(cli.data.as_deref());
    match cli.command {
        None => bail!("the demo is not wired yet"),
        Some(Command::Init {
            shared,
            by,
            regions,
            preset,
            threshold,
        }) => {
            let path = study_path(&shared);
            if path.exists() {
                bail!(
                    "{} exists: a study is declared once (use a new shared folder)",
                    path.display()
                );
            }
            presets::bfv_params(&preset)?;
            let as_data = data::AbelSander::load(&dir)?;
            let mut seed = [0u8; 32];
            OsRng.fill_bytes(&mut seed);
            let n_agencies = study::Study::new(&as_data, &by, &regions, &preset, 1, seed)?
                .agencies
                .len();
            let s = study::Study::new(
                &as_data,
                &by,
                &regions,
                &preset,
                threshold.unwrap_or(n_agencies),
                seed,
            )?;
            fsio::write_json(&path, &s)?;
            println!(
                "declared study {} in {}: {} agencies, {} countries, {} periods, preset {}, threshold {} of {}",
                s.analysis,
                path.display(),
                s.agencies.len(),
                s.countries.len(),
                s.periods.len(),
                s.preset,
                s.threshold,
                s.agencies.len()
            );
            Ok(())
        }
        Some(Command::SplitData { shared, out }) => {
            let s = load_study(&shared)?;
            let as_data = data::AbelSander::load(&dir)?;
            for a in &s.agencies {
                let path = out.join(format!("{}.csv", a.spec.id));
                agency::write_agency_csv(&path, &a.spec, &as_data, &s.countries, &s.periods)?;
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        Some(Command::Validate {
            shared,
            agency,
            input,
        }) => {
            let s = load_study(&shared)?;
            let a = s.agency(&agency)?;
            let c =
                agency::read_contribution(&input, &a.spec, &s.countries, &s.periods, a.max_cell)?;
            let total: u64 = c.counts.iter().flatten().sum();
            println!(
                "{}: valid input of agency {} ({} periods, {total} persons in all)",
                input.display(),
                c.agency,
                c.counts.len()
            );
            Ok(())
        }
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
    }
}
