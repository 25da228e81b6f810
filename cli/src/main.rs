//! `migrationfhe`: encrypted multi-agency migration analytics.
//!
//! With no arguments it runs the demo. Subcommands drive the multi-process workflow, one
//! process per agency, exchanging only files in a shared folder.

mod agency;
mod collective;
mod container;
mod data;
mod demo;
mod demo_ckks;
mod derived;
mod engine;
mod fsio;
mod plain;
mod plots;
mod presets;
mod progress;
mod report;
mod results;
mod study;
mod unhcr;
mod workflow;

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
        /// Decryption threshold `t`: any `t` agencies decrypt together (default: every agency).
        /// With `t` below the number of agencies, every agency runs `deal` after keygen.
        #[arg(long)]
        threshold: Option<usize>,
        /// Restrict the study to these periods (comma-separated, e.g. `2005-2010`; default:
        /// all four).
        #[arg(long, value_delimiter = ',')]
        periods: Vec<String>,
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
    /// An agency's key-generation round: samples its secret share (kept in its private
    /// folder) and publishes its public-key and Galois key shares.
    Keygen {
        /// The shared folder.
        #[arg(long)]
        shared: PathBuf,
        /// The agency's private folder (never shared).
        #[arg(long)]
        private: PathBuf,
        /// The agency's identifier.
        #[arg(long)]
        agency: String,
    },
    /// `t`-of-`n` studies: an agency re-shares its key share (Shamir), one value sealed to each
    /// agency's transport key (X25519 + ChaCha20-Poly1305), after every agency's keygen.
    Deal {
        /// The shared folder.
        #[arg(long)]
        shared: PathBuf,
        /// The agency's private folder (never shared).
        #[arg(long)]
        private: PathBuf,
        /// The agency's identifier.
        #[arg(long)]
        agency: String,
    },
    /// Combines published shares: `keys` (collective keys) or `outputs` (decrypted results).
    Combine {
        /// What to combine.
        #[arg(value_parser = ["keys", "outputs"])]
        what: String,
        /// The shared folder.
        #[arg(long)]
        shared: PathBuf,
    },
    /// An agency validates its CSV, encrypts it under the collective key and signs it.
    Encrypt {
        /// The shared folder.
        #[arg(long)]
        shared: PathBuf,
        /// The agency's private folder.
        #[arg(long)]
        private: PathBuf,
        /// The agency's identifier.
        #[arg(long)]
        agency: String,
        /// The agency's CSV file (`agency,period,orig,dest,count`).
        #[arg(long)]
        input: PathBuf,
    },
    /// The computation node evaluates the declared analysis over the signed submissions.
    Analyze {
        /// The shared folder.
        #[arg(long)]
        shared: PathBuf,
    },
    /// An agency checks the node's outputs against its own re-execution of the declared
    /// analysis and releases its decryption shares of the declared outputs only.
    DecryptShare {
        /// The shared folder.
        #[arg(long)]
        shared: PathBuf,
        /// The agency's private folder.
        #[arg(long)]
        private: PathBuf,
        /// The agency's identifier.
        #[arg(long)]
        agency: String,
        /// `t`-of-`n` studies: the decrypting set (comma-separated agencies, this one
        /// included, at least `t`; every member names the same set). Default: every agency.
        #[arg(long, value_delimiter = ',')]
        with: Vec<String>,
    },
    /// Re-executes the evaluation from the signed submissions and checks the transcript and
    /// every output bit for bit.
    Verify {
        /// The shared folder.
        #[arg(long)]
        shared: PathBuf,
    },
    /// Writes the report (tables, plots, Markdown) of the combined results.
    Report {
        /// The shared folder.
        #[arg(long)]
        shared: PathBuf,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// The demo: 10 regional agencies, the whole protocol in one process, and a report.
    Demo {
        /// Also compute the Pearson correlation under encryption at N = 2^15, depth 15 (its own
        /// collective key set; slower).
        #[arg(long)]
        correlation: bool,
        /// Output folder.
        #[arg(long, default_value = "target/migrationfhe-demo")]
        out: PathBuf,
        /// BFV parameter preset.
        #[arg(long, default_value = presets::DEFAULT)]
        preset: String,
    },
    /// Scale run: one agency per country (196); time and bytes per agency per stage.
    Scale {
        /// Restrict to these periods (comma-separated; default: all four). Every agency's
        /// submission holds the whole packed matrix per period, so memory grows with
        /// agencies × periods (about 2 MiB per ciphertext at N = 2^14).
        #[arg(long, value_delimiter = ',')]
        periods: Vec<String>,
        /// Output folder.
        #[arg(long, default_value = "target/migrationfhe-scale")]
        out: PathBuf,
        /// BFV parameter preset.
        #[arg(long, default_value = presets::DEFAULT)]
        preset: String,
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
        None => {
            demo::run(&demo::Options {
                data: &dir,
                out: Path::new("target/migrationfhe-demo"),
                by: "regions",
                preset: presets::DEFAULT,
                verbose_costs: false,
                correlation: false,
                periods: Vec::new(),
            })?;
            Ok(())
        }
        Some(Command::Demo {
            out,
            preset,
            correlation,
        }) => {
            demo::run(&demo::Options {
                data: &dir,
                out: &out,
                by: "regions",
                preset: &preset,
                verbose_costs: false,
                correlation,
                periods: Vec::new(),
            })?;
            Ok(())
        }
        Some(Command::Scale {
            out,
            preset,
            periods,
        }) => {
            demo::run(&demo::Options {
                data: &dir,
                out: &out,
                by: "countries",
                preset: &preset,
                verbose_costs: false,
                correlation: false,
                periods,
            })?;
            Ok(())
        }
        Some(Command::Keygen {
            shared,
            private,
            agency,
        }) => {
            let s = load_study(&shared)?;
            workflow::keygen(&s, &workflow::Shared(shared), &private, &agency)
        }
        Some(Command::Combine { what, shared }) => {
            let s = load_study(&shared)?;
            if what == "keys" {
                workflow::combine_keys(&s, &workflow::Shared(shared))
            } else {
                workflow::combine_outputs(&s, &workflow::Shared(shared))
            }
        }
        Some(Command::Encrypt {
            shared,
            private,
            agency,
            input,
        }) => {
            let s = load_study(&shared)?;
            workflow::encrypt(&s, &workflow::Shared(shared), &private, &agency, &input)
        }
        Some(Command::Analyze { shared }) => {
            let s = load_study(&shared)?;
            workflow::analyze(&s, &workflow::Shared(shared))
        }
        Some(Command::DecryptShare {
            shared,
            private,
            agency,
            with,
        }) => {
            let s = load_study(&shared)?;
            workflow::decrypt_share(&s, &workflow::Shared(shared), &private, &agency, &with)
        }
        Some(Command::Deal {
            shared,
            private,
            agency,
        }) => {
            let s = load_study(&shared)?;
            workflow::deal(&s, &workflow::Shared(shared), &private, &agency)
        }
        Some(Command::Verify { shared }) => {
            let s = load_study(&shared)?;
            workflow::verify(&s, &workflow::Shared(shared))
        }
        Some(Command::Report { shared, out }) => {
            let s = load_study(&shared)?;
            let sh = workflow::Shared(shared);
            let r: workflow::WorkflowResults = fsio::read_json(&sh.results())
                .context("run `migrationfhe combine outputs` first")?;
            let res = workflow::to_results(&s, &r)?;
            let wdi = data::Wdi::load(&dir).ok();
            for p in report::write_report(&out, &res, wdi.as_ref())? {
                println!("wrote {}", p.display());
            }
            Ok(())
        }
        Some(Command::Init {
            shared,
            by,
            regions,
            preset,
            threshold,
            periods,
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
            let mut s = study::Study::new(&as_data, &by, &regions, &preset, threshold, seed)?;
            if s.threshold < 2 && s.agencies.len() > 1 {
                bail!(
                    "threshold {} of {}: a single agency could decrypt alone; declare at least 2",
                    s.threshold,
                    s.agencies.len()
                );
            }
            if let Some(p) = periods.iter().find(|p| !s.periods.contains(p)) {
                bail!("unknown period `{p}` (periods: {})", s.periods.join(", "));
            }
            if !periods.is_empty() {
                s.periods.retain(|p| periods.contains(p));
            }
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
