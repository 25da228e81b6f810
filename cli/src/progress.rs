//! Stage timing lines and progress bars for long stages (drawn on stderr only when it is a
//! terminal, so logs and tests stay clean).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

/// Times the stages of a run and prints one line per stage.
#[derive(Debug, Default)]
pub struct Stages {
    /// (stage, seconds) in order.
    pub timings: Vec<(String, f64)>,
    quiet: bool,
}

impl Stages {
    /// A stage timer; `quiet` suppresses the lines (timings are still recorded).
    pub fn new(quiet: bool) -> Self {
        Self {
            timings: Vec::new(),
            quiet,
        }
    }

    /// Runs `f` as stage `name`, prints `name ... seconds` and records it.
    pub fn run<T>(
        &mut self,
        name: &str,
        f: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let start = Instant::now();
        let out = f()?;
        let secs = start.elapsed().as_secs_f64();
        if !self.quiet {
            println!("  {name:<58} {secs:>7.2} s");
        }
        self.timings.push((name.to_owned(), secs));
        Ok(out)
    }

    /// Total of the recorded stages.
    pub fn total(&self) -> f64 {
        self.timings.iter().map(|t| t.1).sum()
    }
}

/// A progress bar of `len` steps labelled `msg`; hidden unless stderr is a terminal.
pub fn bar(len: usize, msg: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(
        Some(len as u64),
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    if let Ok(style) =
        ProgressStyle::with_template("  {msg:<40} [{bar:30}] {pos}/{len} {elapsed_precise}")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(msg.to_owned());
    pb
}
