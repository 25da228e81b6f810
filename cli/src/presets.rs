//! The BFV parameter sets the tool offers, by name. All are rated 128-bit by the
//! HomomorphicEncryption.org table (the library's builder checks it); the tool has no
//! insecure option.

use anyhow::{bail, Result};
use migrationfhe::bfv;
use std::sync::Arc;

/// Names accepted by `--preset`, smallest first.
pub const NAMES: [&str; 3] = [
    "n8192_count_t31bit",
    "n16384_count_t31bit",
    "n32768_count_t45bit",
];

/// The default preset of the demo and of `init` (threshold-ready N = 2^14).
pub const DEFAULT: &str = "n16384_count_t31bit";

/// Builds the BFV parameters called `name`.
///
/// `n8192_count_t31bit` (N = 2^13, ciphertext primes 43, 43, 44, 44 bits, one 44-bit special
/// prime, log2 QP = 218, the largest 31-bit batching prime `t`) is the small set for tests and
/// quick runs: one ciphertext holds 8,192 cells.
pub fn bfv_params(name: &str) -> Result<Arc<bfv::Parameters>> {
    Ok(match name {
        "n8192_count_t31bit" => {
            let t = migrationfhe::math::primes::largest_ntt_prime(31, 1 << 13)?;
            bfv::Parameters::builder()
                .degree(1 << 13)
                .plaintext_modulus(t)
                .ciphertext_moduli_bits(&[43, 43, 44, 44])
                .special_moduli_bits(&[44])
                .build()?
        }
        "n16384_count_t31bit" => bfv::Parameters::n16384_count_t31bit()?,
        "n32768_count_t45bit" => bfv::Parameters::n32768_count_t45bit()?,
        other => bail!("unknown preset `{other}` (presets: {})", NAMES.join(", ")),
    })
}
