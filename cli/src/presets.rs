//! The BFV parameter sets the tool offers, by name. All are rated 128-bit by the
//! HomomorphicEncryption.org table (the library's builder checks it); the tool has no
//! insecure option.

use anyhow::{bail, Result};
use migrationfhe::bfv;
use std::sync::Arc;

/// Names accepted by `--preset`, smallest first.
pub const NAMES: [&str; 2] = ["n16384_count_t31bit", "n32768_count_t45bit"];

/// The default preset of the demo and of `init` (threshold-ready N = 2^14).
pub const DEFAULT: &str = "n16384_count_t31bit";

/// Builds the BFV parameters called `name` (the library's count presets: `N = 2^14` with a
/// 31-bit `t`, `N = 2^15` with a 45-bit `t`). A smaller ring (`N = 2^13`, `log2 QP = 218`)
/// leaves no room for the threshold smudging noise after the analysis's rotations.
pub fn bfv_params(name: &str) -> Result<Arc<bfv::Parameters>> {
    Ok(match name {
        "n16384_count_t31bit" => bfv::Parameters::n16384_count_t31bit()?,
        "n32768_count_t45bit" => bfv::Parameters::n32768_count_t45bit()?,
        other => bail!("unknown preset `{other}` (presets: {})", NAMES.join(", ")),
    })
}
