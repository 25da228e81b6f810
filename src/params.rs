//! Security levels and the HomomorphicEncryption.org parameter table.
//!
//! Both schemes' parameter builders refuse a ring degree `N` and total modulus `Q·P` (special
//! primes included) that the table does not rate at the requested level.
//!
//! # Source of the table
//! Rows N = 1024 … 32768 are those of the Homomorphic Encryption Standard (Albrecht et al.,
//! "Homomorphic Encryption Security Standard", HomomorphicEncryption.org, v1.1, 2018,
//! Tables 1–2: classical and quantum security, error σ ≈ 3.2). The rows N = 65536 and 131072
//! are not in the standard; they are OpenFHE's extension of it, `StandardLatticeParmSets` in
//! `src/core/lib/lattice/stdlatticeparms.cpp` of openfheorg/openfhe-development at commit
//! `f387eaf05bdbcf7a970622fdd48aec443363a0e8` (entries `HEStd_ternary`, 65536 and 131072:
//! 1747/1199/929 and 3523/2411/1866 bits at 128/192/256-bit classical, 1663 and 3348 at 128-bit
//! quantum). Every ternary figure of the table below also matches that file.
//!
//! # How `log2(Q·P)` is counted
//! The quantity compared with the table is the **exact real** `log2` of the product of every
//! prime of the parameter set: the ciphertext primes `q_i` *and* the special primes `p_j` of
//! key switching (an attacker sees key-switching keys modulo `Q·P`). A set is accepted iff
//! `log2(Q·P) <= B`, `B` the table's bound; since `B` is an integer this is `Q·P <= 2^B`, and
//! [`check_security`] decides it exactly: it multiplies the primes in multi-word integer
//! arithmetic and compares `⌈log2(Q·P)⌉` ([`log_qp`]) with `B`. No floating point, no
//! per-prime rounding: five primes just above `2^43` (`log2 ≈ 215.0`) are accepted at
//! N = 8192, although their bit lengths add up to 220 (the more conservative count of SEAL);
//! a product one unit above `2^B` is refused. [`log2_qp`] gives the real value for display.
//!
//! # Secret distributions
//! The default is a ternary secret; the Gaussian-secret figures (2 bits more at N = 2^10 …
//! 2^15, 128-bit classical) are the standard's; elsewhere the ternary figure is used.

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
/// ternary secret (`None` where the source gives no figure). N = 2^16, 2^17: OpenFHE, see the
/// module docs.
const TERNARY: [(u32, u32, u32, u32, Option<u32>); 8] = [
    (10, 27, 19, 14, Some(25)),
    (11, 54, 37, 29, Some(51)),
    (12, 109, 75, 58, Some(101)),
    (13, 218, 152, 118, Some(202)),
    (14, 438, 305, 237, Some(411)),
    (15, 881, 611, 476, Some(827)),
    (16, 1747, 1199, 929, Some(1663)),
    (17, 3523, 2411, 1866, Some(3348)),
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

/// `⌈log2(Q·P)⌉` for the product of `moduli`, computed exactly (multi-word product, no
/// floating point): the integer compared with the table, see the module's "How `log2(Q·P)` is
/// counted". An empty list or a product of ones gives 0; a zero modulus gives 0.
pub fn log_qp(moduli: &[u64]) -> u32 {
    // Little-endian 64-bit limbs of the product.
    let mut x: Vec<u64> = vec![1];
    for &q in moduli {
        let mut carry = 0u64;
        for limb in &mut x {
            let v = u128::from(*limb) * u128::from(q) + u128::from(carry);
            (*limb, carry) = split(v);
        }
        if carry != 0 {
            x.push(carry);
        }
    }
    // ⌈log2 X⌉ = bit length of X - 1 for X >= 1.
    let mut borrow = true;
    for limb in &mut x {
        if !borrow {
            break;
        }
        (*limb, borrow) = limb.overflowing_sub(1);
    }
    if borrow {
        return 0; // X was 0
    }
    let top = x.iter().rposition(|&l| l != 0);
    top.map_or(0, |i| {
        let bits = u64::try_from(i).unwrap_or(u64::MAX) * 64 + u64::from(64 - x[i].leading_zeros());
        u32::try_from(bits).unwrap_or(u32::MAX)
    })
}

/// Low and high words of a 128-bit value.
#[allow(clippy::cast_possible_truncation)] // intentional: the two halves
fn split(v: u128) -> (u64, u64) {
    (v as u64, (v >> 64) as u64)
}

/// `log2(Q·P)` as a real number, `Σ log2 q_i` in `f64` (for display and planning; relative
/// error about `10^-15`). The security check does not use it: see [`log_qp`].
pub fn log2_qp(moduli: &[u64]) -> f64 {
    #[allow(clippy::cast_precision_loss)] // log2 of the nearest f64: error below 2^-52 bits
    moduli.iter().map(|&q| (q as f64).log2()).sum()
}

/// Checks a ring degree and modulus set (ciphertext and special primes together) against the
/// table: accepted iff the exact `log2(Q·P)` is at most [`max_log_qp`].
///
/// # Errors
/// [`Error::InsecureParameters`] if `log2(Q·P)` exceeds [`max_log_qp`], or there is no row for
/// `n` at `level` (then `max_log_qp` is reported as 0); the error names the degree, the level,
/// `⌈log2(Q·P)⌉` and the bound.
pub fn check_security(
    n: usize,
    moduli: &[u64],
    level: SecurityLevel,
    secret: SecretDistribution,
) -> Result<()> {
    if level == SecurityLevel::InsecureForTesting {
        return Ok(());
    }
    let log = log_qp(moduli);
    let max = max_log_qp(n, level, secret);
    if max.is_none_or(|m| log > m) {
        return Err(Error::InsecureParameters {
            degree: n,
            log_qp: log,
            max_log_qp: max.unwrap_or(0),
            security: level,
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
        assert_eq!(max_log_qp(65536, Quantum128, Ternary), Some(1663));
        assert_eq!(max_log_qp(131072, Quantum128, Ternary), Some(3348));
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
    fn check_counts_the_exact_product() {
        // Two numbers of 60 bits: log2 = 118 + 2·log2(1 + 2^-59), so ⌈log2⌉ = 119.
        let primes = [(1u64 << 59) + 1, (1 << 59) + 1];
        assert_eq!(log_qp(&primes), 119);
        assert!((log2_qp(&primes) - 118.0).abs() < 1e-12);
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
                log_qp: 119,
                max_log_qp: 109,
                security: SecurityLevel::Classic128,
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
