//! The crate's one error type.
//!
//! Every fallible public function returns [`Result<T>`]. Variants carry only public numbers
//! (moduli, degrees, lengths, names) and never secret data, so an error can be logged or sent
//! to another party without leaking anything about keys or plaintexts.

use core::fmt;

/// Convenience alias used throughout the crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Why a modulus was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModulusError {
    /// The modulus is smaller than 2.
    TooSmall,
    /// The modulus is 2^62 or larger (lazy NTT ranges need `4q < 2^64`).
    TooLarge,
    /// The modulus is not prime.
    NotPrime,
    /// The modulus is not congruent to 1 modulo `2n`, so no primitive `2n`-th root exists.
    NotNttFriendly {
        /// The ring degree `n` that was asked for.
        degree: usize,
    },
}

/// The crate's error type. `#[non_exhaustive]`: match with a wildcard arm.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A modulus was refused; `reason` says why.
    InvalidModulus {
        /// The modulus offered.
        modulus: u64,
        /// Why it was refused.
        reason: ModulusError,
    },
    /// A ring degree is not a power of two inside the supported range.
    InvalidDegree {
        /// The degree offered.
        degree: usize,
        /// Smallest supported degree.
        min: usize,
        /// Largest supported degree.
        max: usize,
    },
    /// A slice or vector has the wrong length.
    LengthMismatch {
        /// The length required.
        expected: usize,
        /// The length supplied.
        found: usize,
    },
    /// A value is outside the range an operation accepts (for example a coefficient `>= q`).
    ValueOutOfRange {
        /// What the value is (a public description, never the value itself if it is secret).
        what: &'static str,
    },
    /// An element has no inverse modulo the modulus (it is zero modulo the prime).
    NotInvertible {
        /// The modulus.
        modulus: u64,
    },
    /// A SIMD backend was requested (explicitly or through `MIGRATIONFHE_BACKEND`) that this CPU
    /// or this modulus cannot run.
    BackendUnavailable {
        /// The backend's name (`scalar`, `avx2`, `avx512`, `ifma`) or the unknown name given.
        backend: String,
        /// Why it cannot run.
        reason: &'static str,
    },
    /// Not enough NTT-friendly primes of the requested size exist.
    NotEnoughPrimes {
        /// Bit size requested.
        bits: u32,
        /// Ring degree `n` (primes satisfy `q = 1 mod 2n`).
        degree: usize,
        /// How many were requested.
        requested: usize,
        /// How many exist.
        found: usize,
    },
    /// An RNS basis was refused (empty, repeated primes, mixed degrees, too many primes).
    InvalidBasis {
        /// Why it was refused.
        reason: &'static str,
    },
    /// Two objects built over different contexts (ring degree, moduli) were combined.
    ContextMismatch,
    /// The ring degree and total modulus are not rated at the requested security level by the
    /// HomomorphicEncryption.org table (`params` module).
    InsecureParameters {
        /// Ring degree `N`.
        degree: usize,
        /// `⌈log2(Q·P)⌉`, computed exactly from the product of all primes (special primes
        /// included; `params::log_qp`).
        log_qp: u32,
        /// The largest `log2(Q·P)` rated at that level for `N` (0 if the table has no row).
        max_log_qp: u32,
        /// The security level that was requested.
        security: crate::params::SecurityLevel,
    },
    /// An operation needs a polynomial in another representation, or at another level.
    InvalidOperation {
        /// What was wrong.
        reason: &'static str,
    },
    /// A CKKS operation was refused; the inner error names the levels and scales involved and
    /// what to do.
    Ckks(CkksError),
    /// An input data file (CSV) was refused: `source` names the file, `line` the 1-based line
    /// (0 for the file as a whole) and `reason` what is wrong and what to do.
    Data {
        /// The file or table.
        source: String,
        /// 1-based line number, 0 when the problem is not on one line.
        line: usize,
        /// What is wrong (public data only).
        reason: String,
    },
    /// An analysis was refused (a bound the plaintext modulus cannot hold, a layout that does not
    /// fit, a ciphertext that is not a declared output, a transcript that does not verify).
    Analytics {
        /// What is wrong and what to do.
        reason: String,
    },
    /// A multi-party (threshold) protocol step was refused; the inner error says which check
    /// failed (party ids and counts only, never share contents).
    Threshold(ThresholdError),
    /// Bytes could not be decoded as a wire-format object (`wire` module, `docs/FORMAT.md`);
    /// the inner error says which check failed.
    Wire(WireError),
}

/// Why a threshold protocol step was refused (`threshold` module). Every field is public
/// protocol metadata: party ids, counts, bit sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThresholdError {
    /// The party's share log already holds a share for this input (same ciphertext, same
    /// common reference polynomial): producing another one, even with fresh randomness or for
    /// another set of parties, would leak the secret share. Use a fresh protocol instance.
    RepeatedShare {
        /// The protocol (`"decryption"`, `"public key"`, …).
        protocol: &'static str,
    },
    /// A share belongs to another protocol instance, ciphertext or kind of protocol.
    WrongInstance,
    /// A share was computed for another set of active parties.
    WrongParticipantSet,
    /// Two shares from the same party.
    DuplicateParty {
        /// The party id.
        party: u32,
    },
    /// A share from a party outside the declared set.
    UnexpectedParty {
        /// The party id.
        party: u32,
    },
    /// Shares are missing: aggregation needs one from every party of the declared set.
    MissingShares {
        /// How many were received.
        received: usize,
        /// How many the set needs.
        expected: usize,
    },
    /// Fewer active parties than the threshold `t`.
    BelowThreshold {
        /// Parties offered.
        parties: usize,
        /// The threshold.
        threshold: usize,
    },
    /// An invalid committee or party set (empty, repeated or zero ids, threshold 0 or above
    /// the number of parties, a party outside the committee).
    InvalidParticipants {
        /// What was wrong.
        reason: &'static str,
    },
    /// The smudging noise would overflow the decryption margin even at the ciphertext's own
    /// level: the failure probability would exceed `2^-lambda`.
    SmudgingOverflow {
        /// Bits of modulus needed (`log2` of the noise, smudging and message bound plus one);
        /// `u32::MAX` when the public noise estimate is unbounded.
        needed_bits: u32,
        /// Bits available at the ciphertext's level.
        available_bits: u32,
    },
    /// CKKS: the smudging noise would leave fewer correct bits than the policy's minimum (the
    /// public estimate, before any share is produced).
    PrecisionLost {
        /// Estimated bits of precision after decryption (`floor`; may be negative).
        estimated_bits: i32,
        /// The minimum asked for.
        minimum_bits: i32,
    },
    /// A statistical security parameter below the minimum without the explicitly insecure
    /// option.
    InsecureSmudging {
        /// The `lambda` asked for.
        lambda: u32,
    },
    /// A sealed point-to-point message did not authenticate (wrong key, sender, receiver,
    /// instance, or tampered bytes). Deliberately carries no detail.
    SealedShareRejected,
    /// The persisted share log could not be read or written.
    Log {
        /// The I/O error kind, as text.
        reason: String,
    },
}

impl fmt::Display for ThresholdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RepeatedShare { protocol } => write!(
                f,
                "threshold: a {protocol} share for this input was already produced; refusing a second one (start a new protocol instance)"
            ),
            Self::WrongInstance => f.write_str(
                "threshold: share of another protocol instance, ciphertext or protocol kind",
            ),
            Self::WrongParticipantSet => {
                f.write_str("threshold: share computed for another set of active parties")
            }
            Self::DuplicateParty { party } => {
                write!(f, "threshold: second share from party {party}")
            }
            Self::UnexpectedParty { party } => {
                write!(f, "threshold: party {party} is not in the declared set")
            }
            Self::MissingShares { received, expected } => write!(
                f,
                "threshold: {received} of {expected} shares received; every party of the set must contribute"
            ),
            Self::BelowThreshold { parties, threshold } => write!(
                f,
                "threshold: {parties} parties offered, at least {threshold} needed"
            ),
            Self::InvalidParticipants { reason } => {
                write!(f, "threshold: invalid participants: {reason}")
            }
            Self::SmudgingOverflow {
                needed_bits: u32::MAX,
                available_bits,
            } => write!(
                f,
                "threshold: the ciphertext's public noise estimate is unbounded, so no smudging width fits the {available_bits} bits of its modulus; declare bounds on the encrypted values (or decrypt earlier in the circuit)"
            ),
            Self::SmudgingOverflow {
                needed_bits,
                available_bits,
            } => write!(
                f,
                "threshold: smudging noise needs {needed_bits} bits of modulus but the ciphertext has {available_bits}; decrypt earlier in the circuit or use a larger modulus"
            ),
            Self::PrecisionLost {
                estimated_bits,
                minimum_bits,
            } => write!(
                f,
                "threshold: smudged CKKS decryption would keep about {estimated_bits} bits of precision, below the minimum {minimum_bits}; use a larger scale, BFV, or an explicit lower minimum"
            ),
            Self::InsecureSmudging { lambda } => write!(
                f,
                "threshold: statistical security {lambda} below the minimum 40 (only the explicitly insecure test option allows it)"
            ),
            Self::SealedShareRejected => f.write_str("threshold: sealed share rejected"),
            Self::Log { reason } => write!(f, "threshold: share log I/O failed: {reason}"),
        }
    }
}

impl From<ThresholdError> for Error {
    fn from(e: ThresholdError) -> Self {
        Self::Threshold(e)
    }
}

/// Why bytes were refused by a wire-format decoder (`docs/FORMAT.md`). Every field is public
/// format metadata (lengths, codes, field names), never a coefficient or secret value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// The input ends before a field or the declared payload does.
    Truncated {
        /// The part that is cut short.
        what: &'static str,
        /// Bytes needed (from the start of the input for the header and payload, from the
        /// start of the field otherwise).
        needed: u64,
        /// Bytes available.
        available: u64,
    },
    /// Bytes follow the checksum, or the payload holds more than its contents.
    TrailingBytes {
        /// Number of unused bytes.
        extra: u64,
    },
    /// The input does not start with the magic bytes `MFHE`.
    BadMagic,
    /// The format version is not one this build decodes.
    UnsupportedVersion {
        /// Version in the input.
        found: u16,
        /// Version this build reads and writes.
        supported: u16,
    },
    /// The object is of another kind than the one asked for.
    WrongKind {
        /// The kind asked for.
        expected: &'static str,
        /// The kind code found.
        found: u16,
    },
    /// The checksum does not match: the bytes were corrupted (or altered) in transit.
    ChecksumMismatch,
    /// The object was made for other parameters than those supplied (parameter digest differs).
    ParameterMismatch,
    /// A packed residue is not below its prime (or a plaintext coefficient not below `t`).
    CoefficientOutOfRange {
        /// The object part holding it.
        what: &'static str,
        /// Index of the prime (0 for a plaintext modulus).
        prime_index: usize,
    },
    /// A count or size exceeds what the parameters or the decoding limits allow.
    TooLarge {
        /// The field.
        what: &'static str,
        /// The value declared.
        declared: u64,
        /// The largest value allowed.
        max: u64,
    },
    /// A field holds a value the format or the parameters do not allow (level, degree, flags,
    /// Galois element, scale, non-canonical encoding...).
    Invalid {
        /// What is wrong, in words.
        what: &'static str,
    },
}

/// Why a CKKS operation was refused. Scales are given as `log2(scale)`; every field is public
/// metadata of the ciphertexts (never a slot value).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum CkksError {
    /// Two operands of an addition or subtraction have scales that cannot be aligned
    /// automatically.
    ScaleMismatch {
        /// Level (primes in use) of the operands after level alignment.
        level: usize,
        /// `log2` of the left operand's scale.
        left_log2: f64,
        /// `log2` of the right operand's scale.
        right_log2: f64,
    },
    /// No level is left for the operation (rescaling needs at least two primes).
    LevelExhausted {
        /// The level (number of primes) of the operand.
        level: usize,
        /// The level the operation would need at least.
        needed: usize,
    },
    /// The encoded values are too large for the scale at this level: the plaintext
    /// coefficients would reach `2^coeff_log2`, but the level only holds `2^capacity_log2`.
    ValueTooLarge {
        /// The level asked for.
        level: usize,
        /// `log2` of the scale.
        scale_log2: f64,
        /// `log2` of the largest coefficient.
        coeff_log2: f64,
        /// `log2(Q_l / 2)`, the largest magnitude the level can represent.
        capacity_log2: f64,
    },
    /// A rotation by `step` slots (Galois element `element`) has no key, and no combination of
    /// power-of-two keys reaches it either.
    MissingRotationKey {
        /// The rotation asked for (slots to the left; conjugation is reported as 0).
        step: i64,
        /// The Galois element `5^step mod 2N` (or `2N - 1` for conjugation).
        element: u64,
    },
}

impl PartialEq for CkksError {
    /// Compares scales bit for bit.
    fn eq(&self, other: &Self) -> bool {
        use CkksError::*;
        match (self, other) {
            (
                ScaleMismatch {
                    level: a,
                    left_log2: b,
                    right_log2: c,
                },
                ScaleMismatch {
                    level: x,
                    left_log2: y,
                    right_log2: z,
                },
            ) => a == x && b.to_bits() == y.to_bits() && c.to_bits() == z.to_bits(),
            (
                LevelExhausted {
                    level: a,
                    needed: b,
                },
                LevelExhausted {
                    level: x,
                    needed: y,
                },
            ) => a == x && b == y,
            (
                ValueTooLarge {
                    level: a,
                    scale_log2: b,
                    coeff_log2: c,
                    capacity_log2: d,
                },
                ValueTooLarge {
                    level: w,
                    scale_log2: x,
                    coeff_log2: y,
                    capacity_log2: z,
                },
            ) => {
                a == w
                    && b.to_bits() == x.to_bits()
                    && c.to_bits() == y.to_bits()
                    && d.to_bits() == z.to_bits()
            }
            (
                MissingRotationKey {
                    step: a,
                    element: b,
                },
                MissingRotationKey {
                    step: x,
                    element: y,
                },
            ) => a == x && b == y,
            _ => false,
        }
    }
}
impl Eq for CkksError {}

impl fmt::Display for CkksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ScaleMismatch { level, left_log2, right_log2 } => write!(
                f,
                "CKKS scale mismatch at level {level}: 2^{left_log2:.3} vs 2^{right_log2:.3}; rescale the operand with the larger scale, or encode the plaintext at the ciphertext's scale"
            ),
            Self::LevelExhausted { level, needed } => write!(
                f,
                "CKKS levels exhausted: the ciphertext is at level {level} but the operation needs level {needed}; use parameters with more levels (a larger depth)"
            ),
            Self::ValueTooLarge { level, scale_log2, coeff_log2, capacity_log2 } => write!(
                f,
                "CKKS values too large for the scale: at scale 2^{scale_log2:.1} the coefficients reach 2^{coeff_log2:.1}, but level {level} holds only 2^{capacity_log2:.1}; lower the scale or the values, or encode at a higher level"
            ),
            Self::MissingRotationKey { step, element } => write!(
                f,
                "no Galois key for rotation by {step} (element {element}) nor for its power-of-two steps; generate the key with GaloisKeys::generate"
            ),
        }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { what, needed, available } => write!(
                f,
                "wire: input truncated in the {what}: {needed} bytes needed, {available} available"
            ),
            Self::TrailingBytes { extra } => {
                write!(f, "wire: {extra} unexpected bytes after the object")
            }
            Self::BadMagic => f.write_str("wire: not a migrationfhe object (magic bytes differ)"),
            Self::UnsupportedVersion { found, supported } => write!(
                f,
                "wire: format version {found} is not supported (this build reads version {supported}); upgrade the receiver or re-encode with a matching sender"
            ),
            Self::WrongKind { expected, found } => write!(
                f,
                "wire: expected a {expected} object, found object kind {found:#06x}"
            ),
            Self::ChecksumMismatch => {
                f.write_str("wire: checksum mismatch: the bytes were corrupted in transit")
            }
            Self::ParameterMismatch => f.write_str(
                "wire: the object was made for other parameters than those supplied (parameter digest differs)",
            ),
            Self::CoefficientOutOfRange { what, prime_index } => write!(
                f,
                "wire: a {what} coefficient is not below its modulus (prime index {prime_index})"
            ),
            Self::TooLarge { what, declared, max } => {
                write!(f, "wire: {what} is {declared}, more than the {max} allowed")
            }
            Self::Invalid { what } => write!(f, "wire: invalid field: {what}"),
        }
    }
}

impl fmt::Display for ModulusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooSmall => f.write_str("modulus must be at least 2"),
            Self::TooLarge => f.write_str("modulus must be below 2^62"),
            Self::NotPrime => f.write_str("modulus must be prime"),
            Self::NotNttFriendly { degree } => {
                write!(f, "modulus must be 1 mod 2n for n = {degree}")
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidModulus { modulus, reason } => {
                write!(f, "invalid modulus {modulus}: {reason}")
            }
            Self::InvalidDegree { degree, min, max } => write!(
                f,
                "invalid ring degree {degree}: must be a power of two between {min} and {max}"
            ),
            Self::LengthMismatch { expected, found } => {
                write!(f, "length mismatch: expected {expected}, found {found}")
            }
            Self::ValueOutOfRange { what } => write!(f, "value out of range: {what}"),
            Self::NotInvertible { modulus } => {
                write!(f, "element is not invertible modulo {modulus}")
            }
            Self::BackendUnavailable { backend, reason } => {
                write!(f, "backend `{backend}` unavailable: {reason}")
            }
            Self::NotEnoughPrimes {
                bits,
                degree,
                requested,
                found,
            } => write!(
                f,
                "only {found} of {requested} requested {bits}-bit primes q = 1 mod 2n exist for n = {degree}"
            ),
            Self::InvalidBasis { reason } => write!(f, "invalid RNS basis: {reason}"),
            Self::ContextMismatch => {
                f.write_str("operands belong to different contexts (degree or moduli differ)")
            }
            Self::InvalidOperation { reason } => write!(f, "invalid operation: {reason}"),
            Self::Ckks(e) => e.fmt(f),
            Self::Data { source, line, reason } => {
                if *line == 0 {
                    write!(f, "invalid data in {source}: {reason}")
                } else {
                    write!(f, "invalid data in {source}, line {line}: {reason}")
                }
            }
            Self::Analytics { reason } => write!(f, "analysis refused: {reason}"),
            Self::Threshold(e) => e.fmt(f),
            Self::Wire(e) => e.fmt(f),
            Self::InsecureParameters {
                degree,
                max_log_qp: 0,
                security,
                ..
            } => write!(
                f,
                "insecure parameters: the HomomorphicEncryption.org table rates no modulus for N = {degree} at {security} security; use N between 2^10 and 2^17"
            ),
            Self::InsecureParameters {
                degree,
                log_qp,
                max_log_qp,
                security,
            } => write!(
                f,
                "insecure parameters: log2(Q·P) rounds up to {log_qp} bits (special primes included), above the {max_log_qp} bits rated at {security} security for N = {degree}; use fewer or smaller primes, a larger N or a lower level"
            ),
        }
    }
}

impl std::error::Error for Error {}

impl From<WireError> for Error {
    fn from(e: WireError) -> Self {
        Self::Wire(e)
    }
}

impl From<CkksError> for Error {
    fn from(e: CkksError) -> Self {
        Self::Ckks(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the message text: callers and docs quote these strings.
    #[test]
    fn error_strings() {
        let cases: Vec<(Error, &str)> = vec![
            (
                Error::Threshold(ThresholdError::SmudgingOverflow {
                    needed_bits: u32::MAX,
                    available_bits: 120,
                }),
                "threshold: the ciphertext's public noise estimate is unbounded, so no smudging width fits the 120 bits of its modulus; declare bounds on the encrypted values (or decrypt earlier in the circuit)",
            ),
            (
                Error::Threshold(ThresholdError::SmudgingOverflow {
                    needed_bits: 130,
                    available_bits: 120,
                }),
                "threshold: smudging noise needs 130 bits of modulus but the ciphertext has 120; decrypt earlier in the circuit or use a larger modulus",
            ),
            (
                Error::InvalidModulus {
                    modulus: 15,
                    reason: ModulusError::NotPrime,
                },
                "invalid modulus 15: modulus must be prime",
            ),
            (
                Error::InvalidModulus {
                    modulus: 17,
                    reason: ModulusError::NotNttFriendly { degree: 16 },
                },
                "invalid modulus 17: modulus must be 1 mod 2n for n = 16",
            ),
            (
                Error::InvalidDegree {
                    degree: 3,
                    min: 2,
                    max: 131072,
                },
                "invalid ring degree 3: must be a power of two between 2 and 131072",
            ),
            (
                Error::LengthMismatch {
                    expected: 8,
                    found: 7,
                },
                "length mismatch: expected 8, found 7",
            ),
            (
                Error::BackendUnavailable {
                    backend: "ifma".into(),
                    reason: "modulus must be below 2^50",
                },
                "backend `ifma` unavailable: modulus must be below 2^50",
            ),
            (
                Error::ContextMismatch,
                "operands belong to different contexts (degree or moduli differ)",
            ),
            (
                Error::Ckks(CkksError::ScaleMismatch {
                    level: 3,
                    left_log2: 40.0,
                    right_log2: 80.0,
                }),
                "CKKS scale mismatch at level 3: 2^40.000 vs 2^80.000; rescale the operand with the larger scale, or encode the plaintext at the ciphertext's scale",
            ),
            (
                Error::Ckks(CkksError::LevelExhausted { level: 1, needed: 2 }),
                "CKKS levels exhausted: the ciphertext is at level 1 but the operation needs level 2; use parameters with more levels (a larger depth)",
            ),
            (
                Error::Ckks(CkksError::MissingRotationKey { step: 3, element: 125 }),
                "no Galois key for rotation by 3 (element 125) nor for its power-of-two steps; generate the key with GaloisKeys::generate",
            ),
        ];
        for (e, s) in cases {
            assert_eq!(e.to_string(), s);
        }
    }
}
