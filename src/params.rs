//! Security levels and the HomomorphicEncryption.org parameter table.
//!
//! Both schemes' parameter builders refuse a ring degree `N` and total modulus `Q·P` (special
//! primes included) that the table does not rate at the requested level. The table is that of
//! the Homomorphic Encryption Standard (Albrecht et al., "Homomorphic Encryption Security
//! Standard", HomomorphicEncryption.org, v1.1, 2018, Tables 1–2: classical security, error
//! σ ≈ 3.2), rows N = 1024 … 32768; the rows N = 65536 and 131072 are not in the standard and are
//! taken from OpenFHE's extension of it (`src/core/lib/lattice/stdlatticeparms.cpp` in
//! openfheorg/openfhe-development). The `log2(Q·P)` of a modulus set is counted, as SEAL does, as
//! the sum of the bit lengths of its primes, which is never below the true `log2(Q·P)`.

use crate::error::{Error, Result};
use core::fmt;

/// Target security against the best known attacks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecurityLevel {
    /// 128-bit classical security (the default).
    #[default]
    Classic128,
    /// 192-bit classical security.
    Classic192,
    /// 256-bit classical security.
    Classic256,
    /// 128-bit security against quantum attacks (the standard's quantum rows; ternary secrets).
    Quantum128,
    /// No security check at all. For tests with toy parameters only; nothing in the crate's
    /// defaults, presets or command-line tool uses it.
    InsecureForTesting,
}

/// Distribution of the secret key's coefficients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecretDistribution {
    /// Uniform in {-1, 0, 1} (the default).
    #[default]
    Ternary,
    /// Discrete Gaussian with σ = 3.2 (2 bits more modulus allowed at N = 2^10 … 2^15).
    Gaussian,
}

impl fmt::Display for SecurityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Classic128 => "128-bit classical",
            Self::Classic192 => "192-bit classical",
            Self::Classic256 => "256-bit classical",
            Self::Quantum128 => "128-bit quantum",
            Self::InsecureForTesting => "insecure (testing only)",
        })
    }
}

/// Rows `(log2 N, 128-bit, 192-bit, 256-bit, 128-bit quantum)`: largest `log2(Q·P)` for a
/// ternary secret; `None` where the source gives no figure.
const TERNARY: [(u32, u32, u32, u32, Option<u32>); 8] = [
    (10, 27, 19, 14, Some(25)),
    (11, 54, 37, 29, Some(51)),
    (12, 109, 75, 58, Some(101)),
    (13, 218, 152, 118, Some(202)),
    (14, 438, 305, 237, Some(411)),
    (15, 881, 611, 476, Some(827)),
    (16, 1747, 1199, 929, None),
    (17, 3523, 2411, 1866, None),
];

/// Gaussian-secret figures at 128-bit classical security, N = 2^10 … 2^15.
const GAUSSIAN_128: [u32; 6] = [29, 56, 111, 220, 440, 883];

/// Largest `log2(Q·P)` rated at `level` for ring degree `n`, or `None` if the table has no row
/// (then no modulus is accepted). `Some(u32::MAX)` for [`SecurityLevel::InsecureForTesting`].
pub fn max_log_qp(n: usize, level: SecurityLevel, secret: SecretDistribution) -> Option<u32> {
    if level == SecurityLevel::InsecureForTesting {
        return Some(u32::MAX);
    }
    if !n.is_power_of_two() {
        return None;
    }
    let log_n = n.trailing_zeros();
    let &(_, c128, c192, c256, q128) = TERNARY.iter().find(|r| r.0 == log_n)?;
    let ternary = match level {
        SecurityLevel::Classic128 => Some(c128),
        SecurityLevel::Classic192 => Some(c192),
        SecurityLevel::Classic256 => Some(c256),
        SecurityLevel::Quantum128 => q128,
        SecurityLevel::InsecureForTesting => Some(u32::MAX),
    }?;
    match (secret, level) {
        (SecretDistribution::Gaussian, SecurityLevel::Classic128) => Some(
            GAUSSIAN_128
                .get((log_n - 10) as usize)
                .copied()
                .unwrap_or(ternary),
        ),
        _ => Some(ternary),
    }
}

/// `log2(Q·P)` as counted against the table: the sum of the primes' bit lengths.
pub fn log_qp(moduli: &[u64]) -> u32 {
    moduli.iter().map(|q| 64 - q.leading_zeros()).sum()
}

/// Checks a ring degree and modulus set against the table.
///
/// # Errors
/// [`Error::InsecureParameters`] if `log_qp(moduli)` exceeds [`max_log_qp`] (or there is no row
/// for `n`).
pub fn check_security(
    n: usize,
    moduli: &[u64],
    level: SecurityLevel,
    secret: SecretDistribution,
) -> Result<()> {
    let log = log_qp(moduli);
    let max = max_log_qp(n, level, secret).unwrap_or(0);
    if log > max {
        return Err(Error::InsecureParameters {
            degree: n,
            log_qp: log,
            max_log_qp: max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_from_the_standard() {
        use SecretDistribution::{Gaussian, Ternary};
        use SecurityLevel::*;
        assert_eq!(max_log_qp(8192, Classic128, Ternary), Some(218));
        assert_eq!(max_log_qp(16384, Classic128, Ternary), Some(438));
        assert_eq!(max_log_qp(32768, Classic192, Ternary), Some(611));
        assert_eq!(max_log_qp(65536, Classic128, Ternary), Some(1747));
        assert_eq!(max_log_qp(131072, Classic256, Ternary), Some(1866));
        assert_eq!(max_log_qp(16384, Classic128, Gaussian), Some(440));
        assert_eq!(max_log_qp(65536, Classic128, Gaussian), Some(1747));
        assert_eq!(max_log_qp(4096, Quantum128, Ternary), Some(101));
        assert_eq!(max_log_qp(65536, Quantum128, Ternary), None);
        assert_eq!(max_log_qp(512, Classic128, Ternary), None);
        assert_eq!(max_log_qp(512, InsecureForTesting, Ternary), Some(u32::MAX));
        // Monotone in N, decreasing in the level.
        for w in TERNARY.windows(2) {
            assert!(w[0].1 < w[1].1 && w[0].2 < w[1].2 && w[0].3 < w[1].3);
        }
        for r in TERNARY {
            assert!(r.1 > r.2 && r.2 > r.3);
        }
    }

    #[test]
    fn check_counts_bit_lengths() {
        let primes = [(1u64 << 59) + 1, (1 << 59) + 1]; // two 60-bit numbers: 120 bits
        assert_eq!(log_qp(&primes), 120);
        assert!(check_security(
            4096,
            &primes,
            SecurityLevel::Classic128,
            SecretDistribution::Ternary
        )
        .is_err());
        assert!(check_security(
            8192,
            &primes,
            SecurityLevel::Classic128,
            SecretDistribution::Ternary
        )
        .is_ok());
        assert_eq!(
            check_security(
                4096,
                &primes,
                SecurityLevel::Classic128,
                SecretDistribution::Ternary
            ),
            Err(Error::InsecureParameters {
                degree: 4096,
                log_qp: 120,
                max_log_qp: 109
            })
        );
        assert!(check_security(
            16,
            &primes,
            SecurityLevel::InsecureForTesting,
            SecretDistribution::Ternary
        )
        .is_ok());
    }
}
