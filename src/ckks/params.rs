//! CKKS parameters: ring degree, modulus chain, special primes, canonical scales.
//!
//! The chain is `Q = q_0 · q_1 ⋯ q_L`: a first prime `q_0` that holds the result at the last
//! level, then `L` *scaling primes* close to the scale `Δ = 2^scale_bits`, one dropped by each
//! rescale. A ciphertext at **level `l`** uses the first `l` primes (`1 <= l <= L + 1`); fresh
//! ciphertexts sit at the top level `L + 1` and `L` multiplications (the depth) bring them to
//! level 1.
//!
//! ## Canonical scales
//! Scales follow the rule of OpenFHE's `FLEXIBLEAUTO` mode (Kim, Papadimitriou, Polyakov,
//! "Approximate Homomorphic Encryption with Reduced Approximation Error", CT-RSA 2022): the top
//! level has `Δ_{L+1} = 2^scale_bits` and rescaling from level `l` divides by the prime it drops,
//! `Δ_{l-1} = Δ_l^2 / q_{l-1}`. Every ciphertext that reaches level `l` through
//! multiply-and-rescale then has exactly the scale `Δ_l` ([`Parameters::scale_at`]), so sums of
//! such ciphertexts need no adjustment. The scaling primes are chosen greedily from the top level
//! down, each the NTT prime nearest to `Δ_l^2 / 2^scale_bits`, which keeps every `Δ_l` within
//! about `2N / 2^scale_bits` (relative) of `2^scale_bits` instead of letting the ratio drift.
//!
//! ## Composite scaling (scales above one machine word)
//! With [`ParametersBuilder::scale_primes`]`(k)`, `k >= 2`, each level's scale is carried by
//! `k` primes whose product is nearest to `Δ_l^2 / 2^scale_bits` (Agrawal, Chevallier-Mames,
//! Cho, Joye, Kim, Lee, Lee, Lee, Paterson, "High-precision RNS-CKKS on fixed but smaller
//! word-size architectures: theory and application", WAHC 2023, eprint 2022/1433), and the
//! first modulus `Q_0` may be `1 … k` primes ([`ParametersBuilder::first_primes`]). The chain
//! is `Q_0 · (level 1's k primes) ⋯ (level L's k primes)`. A **level is still a prime count**
//! (so ciphertexts, plaintexts, `drop_to_level` and the wire format are unchanged): fresh
//! ciphertexts are at `f + k·L`, and a rescale divides by the product of the top `k` primes in
//! one rounding and lowers the level by `k` ([`Parameters::rescale_level`],
//! [`Parameters::rescale_divisor`]; [`Parameters::depth_left`] counts the rescales left). With
//! `k = 1` everything is as before (`depth_left(l) = l - 1`). The wire format carries the ring
//! and `scale_bits` only; the grouping is recovered from them ([`Parameters::from_rlwe`]).
//!
//! ### Why: threshold decryption
//! Collective decryption adds smudging noise of `b = ⌈λ + log2 N + log2(n·B)⌉` bits per party
//! (`threshold::decrypt`), `B` the public coefficient bound of the ciphertext noise (integer
//! units: ~2^12 at N = 2^15 for a fresh or once-multiplied ciphertext under a collective key,
//! independent of the scale). At `λ = 40`, `N = 2^15`, 3 … 10 parties, `b ≈ 70 … 72`, and the
//! slot error after decryption is about `2^b·sqrt(N·n/3)/Δ` per standard deviation, ~7 of
//! them over all slots: precision `≈ log2 Δ - b - 10.5 - log2 sqrt(n/3)`. Twenty bits need
//! `Δ ≈ 2^103`, beyond one 62-bit prime.
//!
//! ### Headroom of the composite presets
//! * [`Preset::N32768Depth5Scale104`]: `Δ = 2^104` on two ~52-bit primes per level (a single
//!   ~2^100 pair gave 18–19 bits at 10 parties); `Q_0` = two 60-bit primes = 120 bits holds
//!   `Δ·|m|` for `|m| < 2^14` with the smudging (`n·2^72 ≪ 2^104`) and a sign bit, at the last
//!   level; a decryption at a higher level holds 104 bits more per level. Special primes: four
//!   57-bit primes, `P = 2^228` above the largest of the three key-switching digits
//!   (`60 + 60 + 52 + 52 = 224` bits), so key switching adds `O(1)`·`sqrt(N)` noise, not
//!   `D/P` times more (which rotations followed by threshold decryption would pay in `b`).
//!   `log2 QP = 120 + 5·104 + 228 = 868 <= 881`; a sixth level would need `Q_0 <= 110` bits
//!   and `dnum = 5` with `P >= 160` bits: `110 + 624 + 168 > 881`.
//! * [`Preset::N16384Depth2Scale100`]: `Δ = 2^100` (at N = 2^14 one bit less smudging and
//!   half a bit less slot growth than at 2^15), `Q_0` = two 58-bit primes (116 bits:
//!   `|m| < 2^14`), two levels of two ~50-bit primes, two 60-bit special primes (`P = 2^120`
//!   above the 116-bit digits): `log2 QP = 436 <= 438`; a third level does not fit.

use super::encoding::Encoder;
use crate::error::{Error, Result};
use crate::math::modulus::Modulus;
use crate::math::poly::{Coeff, Ntt, Poly};
use crate::math::primes::is_prime;
use crate::math::rns::RnsBasis;
use crate::params::{log_qp, SecurityLevel};
use crate::rlwe::RlweParams;
use std::sync::Arc;

/// Named parameter sets. Every secure preset fits the HomomorphicEncryption.org 128-bit table
/// for `log2(Q·P)` (special primes included).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Preset {
    /// `n16384_depth5_scale40`: N = 2^14, chain 60 + 5·40 bits (log Q = 260), three 50-bit
    /// special primes, `dnum = 2`; log QP = 410 <= 438.
    N16384Depth5Scale40,
    /// `n32768_depth15_scale40`: N = 2^15, chain 60 + 15·40 bits (log Q = 660), four 50-bit
    /// special primes, `dnum = 4`; log QP = 860 <= 881.
    N32768Depth15Scale40,
    /// `n65536_depth20_scale40`: N = 2^16, chain 60 + 20·40 bits (log Q = 860), six 50-bit
    /// special primes, `dnum = 3`; log QP = 1160 <= 1747.
    N65536Depth20Scale40,
    /// `n32768_depth5_scale104`: N = 2^15, **composite scaling** for threshold decryption:
    /// scale 2^104 carried by two ~52-bit primes per level, a first modulus of two 60-bit
    /// primes (log Q = 120 + 5·104 = 640), four 57-bit special primes, `dnum = 3`;
    /// log QP = 868 <= 881. See the module docs for the headroom.
    N32768Depth5Scale104,
    /// `n16384_depth2_scale100`: N = 2^14, composite scaling: scale 2^100 on two ~50-bit
    /// primes per level, a first modulus of two 58-bit primes (log Q = 116 + 2·100 = 316),
    /// two 60-bit special primes, `dnum = 3`; log QP = 436 <= 438.
    N16384Depth2Scale100,
    /// **Insecure** (tests only): N = 2^10, chain 45 + 4·30 bits, two 45-bit special primes,
    /// `dnum = 3`; every prime below 2^50, so every NTT backend applies.
    InsecureN1024Depth4Scale30,
    /// **Insecure** (tests only): N = 2^11, chain 50 + 12·40 bits, five 50-bit special
    /// primes, `dnum = 3` (polynomial evaluation tests).
    InsecureN2048Depth12Scale40,
}

impl Preset {
    /// The preset's name, e.g. `n16384_depth5_scale40`.
    pub fn name(self) -> &'static str {
        match self {
            Self::N16384Depth5Scale40 => "n16384_depth5_scale40",
            Self::N32768Depth15Scale40 => "n32768_depth15_scale40",
            Self::N65536Depth20Scale40 => "n65536_depth20_scale40",
            Self::N32768Depth5Scale104 => "n32768_depth5_scale104",
            Self::N16384Depth2Scale100 => "n16384_depth2_scale100",
            Self::InsecureN1024Depth4Scale30 => "insecure_n1024_depth4_scale30",
            Self::InsecureN2048Depth12Scale40 => "insecure_n2048_depth12_scale40",
        }
    }

    /// The builder this preset stands for.
    pub fn builder(self) -> ParametersBuilder {
        let b = ParametersBuilder::new();
        match self {
            Self::N16384Depth5Scale40 => b.degree(1 << 14).levels(5).special_primes(3).dnum(2),
            Self::N32768Depth15Scale40 => b.degree(1 << 15).levels(15).special_primes(4).dnum(4),
            Self::N65536Depth20Scale40 => b.degree(1 << 16).levels(20).special_primes(6).dnum(3),
            Self::N32768Depth5Scale104 => b
                .degree(1 << 15)
                .scale_bits(104)
                .scale_primes(2)
                .first_primes(2)
                .first_prime_bits(60)
                .levels(5)
                .special_prime_bits(57)
                .special_primes(4)
                .dnum(3),
            Self::N16384Depth2Scale100 => b
                .degree(1 << 14)
                .scale_bits(100)
                .scale_primes(2)
                .first_primes(2)
                .first_prime_bits(58)
                .levels(2)
                .special_prime_bits(60)
                .special_primes(2)
                .dnum(3),
            Self::InsecureN1024Depth4Scale30 => b
                .degree(1 << 10)
                .first_prime_bits(45)
                .scale_bits(30)
                .levels(4)
                .special_prime_bits(45)
                .special_primes(2)
                .dnum(3)
                .security(SecurityLevel::InsecureForTesting),
            Self::InsecureN2048Depth12Scale40 => b
                .degree(1 << 11)
                .first_prime_bits(50)
                .levels(12)
                .special_primes(5)
                .dnum(3)
                .security(SecurityLevel::InsecureForTesting),
        }
    }
}

/// Builder of [`Parameters`]. Defaults: N = 2^14, a 60-bit first prime, scale 2^40, 5 levels,
/// 50-bit special primes (as many as the largest digit needs), `dnum = 2`, 128-bit security.
#[derive(Clone, Debug)]
pub struct ParametersBuilder {
    degree: usize,
    first_prime_bits: u32,
    scale_bits: u32,
    levels: usize,
    special_prime_bits: u32,
    special_primes: Option<usize>,
    dnum: usize,
    security: SecurityLevel,
    first_primes: usize,
    scale_primes: usize,
}

impl Default for ParametersBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ParametersBuilder {
    /// The defaults listed on [`ParametersBuilder`].
    pub fn new() -> Self {
        Self {
            degree: 1 << 14,
            first_prime_bits: 60,
            scale_bits: 40,
            levels: 5,
            special_prime_bits: 50,
            special_primes: None,
            dnum: 2,
            security: SecurityLevel::Classic128,
            first_primes: 1,
            scale_primes: 1,
        }
    }

    /// Ring degree `N` (a power of two; 2^12 … 2^16 at real security levels).
    pub fn degree(mut self, n: usize) -> Self {
        self.degree = n;
        self
    }

    /// Bit size of the first prime `q_0` (at least the scale's; at most 61).
    pub fn first_prime_bits(mut self, bits: u32) -> Self {
        self.first_prime_bits = bits;
        self
    }

    /// `log2` of the scale `Δ` (20 … 60); the scaling primes are this size.
    pub fn scale_bits(mut self, bits: u32) -> Self {
        self.scale_bits = bits;
        self
    }

    /// Number of scaling primes `L` (the multiplicative depth).
    pub fn levels(mut self, levels: usize) -> Self {
        self.levels = levels;
        self
    }

    /// Bit size of the special primes (default 50: the IFMA NTT serves primes below 2^50).
    pub fn special_prime_bits(mut self, bits: u32) -> Self {
        self.special_prime_bits = bits;
        self
    }

    /// Number of special primes; by default as many as make `P` at least the largest digit.
    pub fn special_primes(mut self, count: usize) -> Self {
        self.special_primes = Some(count);
        self
    }

    /// Number of key-switching digits.
    pub fn dnum(mut self, dnum: usize) -> Self {
        self.dnum = dnum;
        self
    }

    /// Security level checked against the HomomorphicEncryption.org table.
    pub fn security(mut self, security: SecurityLevel) -> Self {
        self.security = security;
        self
    }

    /// **Composite scaling**: the number `k` of primes that carry each level's scale (default
    /// 1). With `k >= 2` the scale `2^scale_bits` may exceed one machine word
    /// (`61..=`[`MAX_SCALE_BITS`] bits, each prime about `scale_bits / k` bits, between 20 and
    /// 60) and every rescale divides by the `k` primes of the top level together (module docs).
    pub fn scale_primes(mut self, k: usize) -> Self {
        self.scale_primes = k;
        self
    }

    /// Number of primes of the first modulus `Q_0` (default 1; at most
    /// [`scale_primes`](Self::scale_primes)), each of
    /// [`first_prime_bits`](Self::first_prime_bits) bits: `Q_0` holds the message at the last
    /// level, so it must exceed the scale by the bits of the largest value (plus, for threshold
    /// decryption, room for the smudging noise, which is far below the scale at the
    /// high-precision presets).
    pub fn first_primes(mut self, count: usize) -> Self {
        self.first_primes = count;
        self
    }

    /// Chooses the primes and builds the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidDegree`] for a degree that is not a power of two in `[16, 2^17]`;
    /// [`Error::ValueOutOfRange`] for bit sizes outside the ranges above or no levels;
    /// [`Error::NotEnoughPrimes`] if the primes cannot be found;
    /// [`Error::InsecureParameters`] if `(N, log2 QP)` is not rated at the security level; the
    /// errors of [`RlweParams::new`] (for example `dnum` larger than the chain).
    pub fn build(&self) -> Result<Arc<Parameters>> {
        let n = self.degree;
        if !n.is_power_of_two() || !(16..=crate::math::ntt::MAX_DEGREE).contains(&n) {
            return Err(Error::InvalidDegree {
                degree: n,
                min: 16,
                max: crate::math::ntt::MAX_DEGREE,
            });
        }
        let k = self.scale_primes;
        let f = self.first_primes;
        if k == 0 || k > MAX_SCALE_PRIMES {
            return Err(Error::ValueOutOfRange {
                what: "CKKS scale primes per level must be between 1 and 4",
            });
        }
        check_scale_bits(self.scale_bits, k)?;
        if f == 0 || f > k {
            return Err(Error::ValueOutOfRange {
                what: "CKKS first-modulus primes must be between 1 and the scale primes per level",
            });
        }
        if k == 1 {
            if !(self.scale_bits..=61).contains(&self.first_prime_bits) {
                return Err(Error::ValueOutOfRange {
                    what: "first prime bits must be between the scale bits and 61",
                });
            }
        } else if !(20..=61).contains(&self.first_prime_bits)
            || u64::from(self.first_prime_bits) * (f as u64) < u64::from(self.scale_bits)
        {
            return Err(Error::ValueOutOfRange {
                what: "first prime bits must be between 20 and 61, and the first modulus at least the scale",
            });
        }
        if !(20..=61).contains(&self.special_prime_bits) {
            return Err(Error::ValueOutOfRange {
                what: "special prime bits must be between 20 and 61",
            });
        }
        if self.levels == 0 || self.levels > 100 {
            return Err(Error::ValueOutOfRange {
                what: "CKKS levels must be between 1 and 100",
            });
        }
        let two_n = 2 * n as u64;
        let delta = pow2(self.scale_bits);
        // Scaling primes from the top level down: level `l`'s `k` primes have a product nearest
        // to Δ_l^2 / Δ (one prime: the nearest NTT prime; k primes: the first k - 1 nearest to
        // the k-th root of what is left, the last nearest to the remainder).
        let mut used: Vec<u64> = Vec::new();
        let mut scaling = Vec::with_capacity(self.levels * k);
        let mut scale = delta;
        for _ in 0..self.levels {
            let mut target = scale * scale / delta;
            let mut group = Vec::with_capacity(k);
            for i in 0..k {
                let t = if k - i == 1 {
                    target
                } else {
                    int_root(target, k - i)
                };
                let q = nearest_ntt_prime(t, two_n, &used).ok_or(Error::NotEnoughPrimes {
                    bits: self.scale_bits.div_ceil(u32::try_from(k).unwrap_or(1)),
                    degree: n,
                    requested: self.levels * k,
                    found: scaling.len() + group.len(),
                })?;
                used.push(q);
                group.push(q);
                #[allow(clippy::cast_precision_loss)]
                let qf = q as f64;
                target /= qf;
            }
            let divisor = product_f64(&group);
            scaling.extend(&group);
            scale = scale * scale / divisor;
        }
        // scaling[0] is dropped first (it is the last prime of the chain).
        scaling.reverse();
        let first = largest_unused(self.first_prime_bits, two_n, &used, f, n)?;
        used.extend(&first);
        let mut q: Vec<u64> = first;
        q.extend(&scaling);
        let dnum = self.dnum.clamp(1, q.len());
        let alpha = q.len().div_ceil(self.dnum.max(1));
        let max_digit_bits = q.chunks(alpha).map(log_qp).max().unwrap_or(0);
        let special = self
            .special_primes
            .unwrap_or_else(|| max_digit_bits.div_ceil(self.special_prime_bits) as usize)
            .max(1);
        let p = largest_unused(self.special_prime_bits, two_n, &used, special, n)?;
        if dnum != self.dnum {
            return Err(Error::InvalidBasis {
                reason: "dnum must be between 1 and the number of ciphertext primes",
            });
        }
        let rlwe = RlweParams::new(n, &q, &p, dnum, self.security)?;
        let params = Parameters::from_rlwe_grouped(rlwe, self.scale_bits, f, k)?;
        // The wire format carries the ring and the scale only: the grouping must be what
        // `from_rlwe` infers from them.
        if infer_grouping(&params.q_moduli(), self.scale_bits)? != (f, k) {
            return Err(Error::InvalidBasis {
                reason: "CKKS composite chain: the prime sizes do not identify the grouping (choose first prime bits closer to the scale primes)",
            });
        }
        Ok(params)
    }
}

/// Largest `log2` scale accepted with composite scaling (encoding and constants are reduced
/// from `f64` integers below `2^128`, and coefficients below `2^120` are accepted).
pub const MAX_SCALE_BITS: u32 = 120;

/// Largest number of primes per level.
pub const MAX_SCALE_PRIMES: usize = 4;

/// Scale bits valid with `k` primes per level: `20..=60` for `k = 1`, otherwise
/// `61..=MAX_SCALE_BITS` with `20..=60` bits per prime.
fn check_scale_bits(bits: u32, k: usize) -> Result<()> {
    let ok = if k == 1 {
        (20..=60).contains(&bits)
    } else {
        let k = u32::try_from(k).unwrap_or(u32::MAX);
        (61..=MAX_SCALE_BITS).contains(&bits)
            && bits >= k.saturating_mul(20)
            && bits <= k.saturating_mul(60)
    };
    if ok {
        Ok(())
    } else if k == 1 {
        Err(Error::ValueOutOfRange {
            what: "CKKS scale bits must be between 20 and 60",
        })
    } else {
        Err(Error::ValueOutOfRange {
            what:
                "CKKS composite scale bits must be between 61 and 120, with 20 to 60 bits per prime",
        })
    }
}

/// `(first primes, primes per level)` of a chain at `scale_bits`: `(1, 1)` up to 60 bits;
/// above, `k = round(scale_bits / log2 q_top)` and the first modulus takes the primes left
/// over by the `⌊(len - 1)/k⌋` groups of `k` (module docs).
fn infer_grouping(q: &[u64], scale_bits: u32) -> Result<(usize, usize)> {
    if scale_bits <= 60 {
        return Ok((1, 1));
    }
    let bad = Error::InvalidBasis {
        reason:
            "CKKS composite scale: the chain has no level of primes whose product matches the scale",
    };
    let top = *q.last().ok_or(Error::InvalidBasis {
        reason: "CKKS chain without primes",
    })?;
    #[allow(clippy::cast_precision_loss)]
    let top_bits = (top as f64).log2();
    let ratio = (f64::from(scale_bits) / top_bits).round();
    if !(2.0..=MAX_SCALE_PRIMES as f64).contains(&ratio) {
        return Err(bad);
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let k = ratio as usize;
    let levels = (q.len().saturating_sub(1)) / k;
    if levels == 0 {
        return Err(bad);
    }
    Ok((q.len() - levels * k, k))
}

/// The product of primes as an `f64` (left to right).
#[allow(clippy::cast_precision_loss)]
fn product_f64(primes: &[u64]) -> f64 {
    primes.iter().fold(1.0, |a, &q| a * q as f64)
}

/// `⌊x^(1/k)⌋` for `1 <= x < 2^127` held in an `f64`, by integer bisection (exact and
/// platform-independent: no `libm` root).
fn int_root(x: f64, k: usize) -> f64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let target = if x >= 1.0 { x as u128 } else { 1 };
    let fits = |r: u128| -> bool {
        let mut acc: u128 = 1;
        for _ in 0..k {
            match acc.checked_mul(r) {
                Some(v) if v <= target => acc = v,
                _ => return false,
            }
        }
        true
    };
    let (mut lo, mut hi) = (1u128, 1u128 << 64);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let r = lo as f64;
    r
}

fn pow2(bits: u32) -> f64 {
    f64::from(bits).exp2()
}

/// The prime `c = 1 mod 2N` nearest to `target` that is not in `used` (searching outwards).
fn nearest_ntt_prime(target: f64, two_n: u64, used: &[u64]) -> Option<u64> {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let k0 = ((target - 1.0) / two_n as f64).round() as u64;
    for d in 0..1u64 << 22 {
        for k in [k0.checked_add(d), k0.checked_sub(d)].into_iter().flatten() {
            let c = k.checked_mul(two_n)?.checked_add(1)?;
            if c < (1 << 61) && c > two_n && !used.contains(&c) && is_prime(c) {
                return Some(c);
            }
        }
    }
    None
}

/// The `count` largest NTT primes of `bits` bits not in `used`.
fn largest_unused(bits: u32, two_n: u64, used: &[u64], count: usize, n: usize) -> Result<Vec<u64>> {
    let found: Vec<u64> = crate::math::primes::NttPrimes::new(bits, n)?
        .filter(|q| !used.contains(q))
        .take(count)
        .collect();
    if found.len() < count {
        return Err(Error::NotEnoughPrimes {
            bits,
            degree: usize::try_from(two_n / 2).unwrap_or(n),
            requested: count,
            found: found.len(),
        });
    }
    Ok(found)
}

/// Per-level constants of the NTT-domain rescale from level `l`, which drops the top `drop`
/// primes `p_0 … p_{drop-1}` (`q_{l-drop} … q_{l-1}`) and divides by their product `D`.
#[derive(Debug)]
pub(crate) struct RescaleTable {
    /// Primes dropped (0: no rescale from this level).
    pub(crate) drop: usize,
    /// `[D^{-1}]_{q_j}` and Shoup companions, `j < l - drop`.
    pub(crate) inv: Vec<(u64, u64)>,
    /// `[⌊D/2⌋]_{q_j}`.
    pub(crate) half: Vec<u64>,
    /// Composite rescale (`drop >= 2`) only: row `j`: `[M_i]_{q_j}` for `i < drop`, with the
    /// mixed-radix weights `M_i = p_0 ⋯ p_{i-1}`.
    pub(crate) radix: Vec<Vec<u64>>,
    /// Composite only, per dropped prime `i`: `[⌊D/2⌋]_{p_i}`.
    pub(crate) dropped_half: Vec<u64>,
    /// Composite only, per dropped prime `i`: `([M_m]_{p_i})_{m < i}` and `[M_i^{-1}]_{p_i}`
    /// (Garner's mixed-radix conversion).
    pub(crate) garner: Vec<(Vec<u64>, u64)>,
}

impl RescaleTable {
    fn none() -> Self {
        Self {
            drop: 0,
            inv: Vec::new(),
            half: Vec::new(),
            radix: Vec::new(),
            dropped_half: Vec::new(),
            garner: Vec::new(),
        }
    }

    /// The table for dropping `moduli[keep..]`, the first `keep` primes kept.
    fn new(moduli: &[Modulus], keep: usize) -> Result<Self> {
        let dropped = &moduli[keep..];
        let drop = dropped.len();
        // [D]_x and [⌊D/2⌋]_x = ([D]_x - 1)·2^{-1} (D is odd).
        let d_mod = |m: &Modulus| {
            dropped
                .iter()
                .fold(m.reduce(1), |a, p| m.mul(a, m.reduce(p.value())))
        };
        let half_mod = |m: &Modulus| m.mul(m.sub(d_mod(m), m.reduce(1)), m.value().div_ceil(2));
        let mut inv = Vec::with_capacity(keep);
        let mut half = Vec::with_capacity(keep);
        let mut radix = Vec::new();
        for m in &moduli[..keep] {
            if drop == 1 {
                let last = dropped[0].value();
                let w = m.inv(m.reduce(last))?;
                inv.push((w, m.shoup(w)));
                half.push(m.reduce(last / 2));
                continue;
            }
            let w = m.inv(d_mod(m))?;
            inv.push((w, m.shoup(w)));
            half.push(half_mod(m));
            let mut row = Vec::with_capacity(drop);
            let mut acc = m.reduce(1);
            for p in dropped {
                row.push(acc);
                acc = m.mul(acc, m.reduce(p.value()));
            }
            radix.push(row);
        }
        let mut dropped_half = Vec::new();
        let mut garner = Vec::new();
        if drop >= 2 {
            for (i, pi) in dropped.iter().enumerate() {
                dropped_half.push(half_mod(pi));
                let mut weights = Vec::with_capacity(i);
                let mut acc = pi.reduce(1);
                for p in &dropped[..i] {
                    weights.push(acc);
                    acc = pi.mul(acc, pi.reduce(p.value()));
                }
                garner.push((weights, pi.inv(acc)?));
            }
        }
        Ok(Self {
            drop,
            inv,
            half,
            radix,
            dropped_half,
            garner,
        })
    }
}

/// Validated CKKS parameters. Build with [`ParametersBuilder`] or [`Parameters::preset`].
pub struct Parameters {
    rlwe: Arc<RlweParams>,
    encoder: Encoder,
    scale_bits: u32,
    /// Primes of the first modulus `Q_0`.
    first_primes: usize,
    /// Primes per level (composite scaling when above 1).
    scale_primes: usize,
    /// Canonical scale at level `l` (index `l - 1`).
    scales: Vec<f64>,
    /// Product of the primes a rescale from level `l` drops (index `l - 1`; 0: none).
    divisors: Vec<f64>,
    /// `log2(q_i)`.
    log_q: Vec<f64>,
    /// Rescale tables, index `l - 1` (empty for the levels of `Q_0`, which cannot rescale).
    pub(crate) rescale: Vec<RescaleTable>,
    /// CRT bases of each level (index `l - 1`).
    pub(crate) bases: Vec<RnsBasis>,
    /// `2^e mod q_i` for `e < 128` (row `i`).
    pub(crate) pow2: Vec<[u64; 128]>,
    /// `X^(N/2)` (the imaginary unit of every slot) in NTT form over all of `Q`.
    pub(crate) x_half: Poly<Ntt>,
    /// NTT-domain ModDown tables per level (index `l - 1`), built on first use.
    pub(crate) moddown: Vec<std::sync::OnceLock<super::keyswitch::ModDownTable>>,
}

impl core::fmt::Debug for Parameters {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ckks::Parameters")
            .field("rlwe", &self.rlwe)
            .field("scale_bits", &self.scale_bits)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Parameters {
    fn eq(&self, other: &Self) -> bool {
        *self.rlwe == *other.rlwe && self.scale_bits == other.scale_bits
    }
}
impl Eq for Parameters {}

impl Parameters {
    /// A builder with the defaults of [`ParametersBuilder::new`].
    pub fn builder() -> ParametersBuilder {
        ParametersBuilder::new()
    }

    /// The parameters of a [`Preset`].
    ///
    /// # Errors
    /// As [`ParametersBuilder::build`] (not expected for the presets).
    pub fn preset(preset: Preset) -> Result<Arc<Self>> {
        preset.builder().build()
    }

    /// CKKS parameters over existing ring parameters (its `q_1 … q_L` should be close to
    /// `2^scale_bits`; the top-level scale is `2^scale_bits`). Up to 60 scale bits every level
    /// is one prime; above, the grouping is inferred from the primes as the wire format does
    /// (`k = round(scale_bits / log2 q_top)` primes per level, the first modulus the `1 … k`
    /// primes left over; see [`from_rlwe_grouped`](Self::from_rlwe_grouped)).
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] for `scale_bits` outside `20..=60` (one prime per level) or
    /// `61..=`[`MAX_SCALE_BITS`] (composite); [`Error::InvalidBasis`] if no grouping fits;
    /// [`Error::InvalidDegree`] for a degree the encoder does not support.
    pub fn from_rlwe(rlwe: Arc<RlweParams>, scale_bits: u32) -> Result<Arc<Self>> {
        if !(20..=MAX_SCALE_BITS).contains(&scale_bits) {
            return Err(Error::ValueOutOfRange {
                what: "CKKS scale bits must be between 20 and 60 (between 61 and 120 with composite scaling)",
            });
        }
        let (f, k) = infer_grouping(&rlwe.q_moduli(), scale_bits)?;
        Self::from_rlwe_grouped(rlwe, scale_bits, f, k)
    }

    /// CKKS parameters over existing ring parameters with an explicit grouping: the first
    /// `first_primes` primes form `Q_0`, and every following group of `scale_primes` primes is
    /// one level whose product should be close to `2^scale_bits`.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] for scale bits outside the range of
    /// [`ParametersBuilder::scale_primes`], or `first_primes` outside `1..=scale_primes`;
    /// [`Error::InvalidBasis`] if the chain is not `first_primes` plus whole groups;
    /// [`Error::InvalidDegree`] for a degree the encoder does not support.
    pub fn from_rlwe_grouped(
        rlwe: Arc<RlweParams>,
        scale_bits: u32,
        first_primes: usize,
        scale_primes: usize,
    ) -> Result<Arc<Self>> {
        let (f, k) = (first_primes, scale_primes);
        if k == 0 || k > MAX_SCALE_PRIMES {
            return Err(Error::ValueOutOfRange {
                what: "CKKS scale primes per level must be between 1 and 4",
            });
        }
        check_scale_bits(scale_bits, k)?;
        if f == 0 || f > k {
            return Err(Error::ValueOutOfRange {
                what: "CKKS first-modulus primes must be between 1 and the scale primes per level",
            });
        }
        let n = rlwe.degree();
        let encoder = Encoder::new(n)?;
        let q = rlwe.q_moduli();
        let l_max = q.len();
        if l_max < f || !(l_max - f).is_multiple_of(k) || (k > 1 && l_max == f) {
            return Err(Error::InvalidBasis {
                reason: "CKKS chain: the primes after the first modulus must form whole levels",
            });
        }
        #[allow(clippy::cast_precision_loss)]
        let log_q: Vec<f64> = q.iter().map(|&x| (x as f64).log2()).collect();
        // Levels (prime counts) that a rescale lands on: f, f + k, …, l_max.
        let target = |l: usize| (l > f).then(|| f + k * ((l - f - 1) / k));
        let mut divisors = vec![0.0; l_max];
        for l in 1..=l_max {
            if let Some(t) = target(l) {
                divisors[l - 1] = product_f64(&q[t..l]);
            }
        }
        let mut scales = vec![0.0; l_max];
        scales[l_max - 1] = pow2(scale_bits);
        let mut top = l_max;
        while let Some(t) = target(top) {
            scales[t - 1] = scales[top - 1] * scales[top - 1] / divisors[top - 1];
            for l in t + 1..top {
                scales[l - 1] = scales[top - 1];
            }
            top = t;
        }
        for l in 1..top {
            scales[l - 1] = scales[top - 1];
        }
        let moduli = rlwe.ctx_q().moduli();
        let rescale = (1..=l_max)
            .map(|l| match target(l) {
                Some(t) => RescaleTable::new(&moduli[..l], t),
                None => Ok(RescaleTable::none()),
            })
            .collect::<Result<Vec<_>>>()?;
        let bases = (1..=l_max)
            .map(|l| RnsBasis::new(&q[..l]))
            .collect::<Result<Vec<_>>>()?;
        let pow2 = moduli
            .iter()
            .map(|m| {
                let mut row = [0u64; 128];
                let mut x = m.reduce(1);
                for r in &mut row {
                    *r = x;
                    x = m.add(x, x);
                }
                row
            })
            .collect();
        let mut xh = vec![0i64; n];
        xh[n / 2] = 1;
        let x_half = Poly::<Coeff>::from_signed(rlwe.ctx_q(), &xh)?.into_ntt();
        Ok(Arc::new(Self {
            rlwe,
            encoder,
            scale_bits,
            first_primes: f,
            scale_primes: k,
            scales,
            divisors,
            log_q,
            rescale,
            bases,
            pow2,
            x_half,
            moddown: (0..l_max).map(|_| std::sync::OnceLock::new()).collect(),
        }))
    }

    /// The shared ring parameters (keys are generated over them).
    pub fn rlwe(&self) -> &Arc<RlweParams> {
        &self.rlwe
    }

    /// The canonical-embedding encoder.
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// Ring degree `N`.
    pub fn degree(&self) -> usize {
        self.rlwe.degree()
    }

    /// Number of complex slots, `N/2`.
    pub fn slots(&self) -> usize {
        self.degree() / 2
    }

    /// The top level: the number of ciphertext primes, `f + k·L` (`L + 1` with one prime per
    /// level). A **level is a prime count** throughout the API ([`Ciphertext::level`],
    /// [`Parameters::encode`], [`Evaluator::drop_to_level`](super::Evaluator::drop_to_level),
    /// the wire format); with composite scaling a rescale lowers it by `k`
    /// ([`rescale_level`](Self::rescale_level)) and [`depth_left`](Self::depth_left) counts
    /// the rescales still possible.
    ///
    /// [`Ciphertext::level`]: super::Ciphertext::level
    pub fn max_level(&self) -> usize {
        self.rlwe.max_level()
    }

    /// Multiplicative depth `L` (rescales available from the top level).
    pub fn depth(&self) -> usize {
        self.depth_left(self.max_level())
    }

    /// Rescales still possible from `level` (`level - 1` with one prime per level; 0 at the
    /// levels of the first modulus and outside the chain).
    pub fn depth_left(&self, level: usize) -> usize {
        if level <= self.first_primes || level > self.max_level() {
            return 0;
        }
        (level - self.first_primes).div_ceil(self.scale_primes)
    }

    /// Primes per level `k` (1 unless composite scaling).
    pub fn scale_primes(&self) -> usize {
        self.scale_primes
    }

    /// Primes of the first modulus `Q_0`.
    pub fn first_primes(&self) -> usize {
        self.first_primes
    }

    /// The level a rescale from `level` lands on: `level - k` at the levels a rescale or an
    /// encoding at the top produces (`level - 1` with one prime per level); from a level
    /// inside a group (reached by dropping primes) the level at the group's bottom.
    ///
    /// # Errors
    /// [`CkksError::LevelExhausted`](crate::error::CkksError::LevelExhausted) at the levels of
    /// the first modulus; [`Error::InvalidOperation`] outside the chain.
    pub fn rescale_level(&self, level: usize) -> Result<usize> {
        self.check_level(level)?;
        let drop = self.rescale[level - 1].drop;
        if drop == 0 {
            return Err(crate::error::CkksError::LevelExhausted {
                level,
                needed: self.first_primes + 1,
            }
            .into());
        }
        Ok(level - drop)
    }

    /// The product of the primes a rescale from `level` divides by (as an `f64`): a
    /// ciphertext's scale is divided by exactly this.
    ///
    /// # Errors
    /// As [`rescale_level`](Self::rescale_level).
    pub fn rescale_divisor(&self, level: usize) -> Result<f64> {
        self.rescale_level(level)?;
        Ok(self.divisors[level - 1])
    }

    /// `log2` of the top-level scale.
    pub fn scale_bits(&self) -> u32 {
        self.scale_bits
    }

    /// The canonical scale `Δ_l` at `level` (see the module docs): the scale a ciphertext has
    /// after encoding at the top or multiply-and-rescale down to `level`. At a level inside a
    /// group of a composite chain (reached only by dropping primes) it is the scale of the
    /// group's top level, which dropping primes keeps.
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] for a level outside `1..=max_level()`.
    pub fn scale_at(&self, level: usize) -> Result<f64> {
        self.check_level(level)?;
        Ok(self.scales[level - 1])
    }

    /// `log2(q_0 ⋯ q_{l-1})`, the bits available at `level`.
    ///
    /// # Errors
    /// As [`scale_at`](Self::scale_at).
    pub fn log_q_at(&self, level: usize) -> Result<f64> {
        self.check_level(level)?;
        Ok(self.log_q[..level].iter().sum())
    }

    /// `log2(Q·P)` as counted by the security table.
    pub fn log_qp(&self) -> u32 {
        let mut all = self.rlwe.q_moduli();
        all.extend(self.rlwe.p_moduli());
        log_qp(&all)
    }

    /// The ciphertext primes (level order).
    pub fn q_moduli(&self) -> Vec<u64> {
        self.rlwe.q_moduli()
    }

    /// The special primes.
    pub fn p_moduli(&self) -> Vec<u64> {
        self.rlwe.p_moduli()
    }

    pub(crate) fn moduli(&self) -> &[Modulus] {
        self.rlwe.ctx_q().moduli()
    }

    pub(crate) fn check_level(&self, level: usize) -> Result<()> {
        if level == 0 || level > self.max_level() {
            return Err(Error::InvalidOperation {
                reason: "CKKS level outside the modulus chain (levels run from 1 to max_level())",
            });
        }
        Ok(())
    }

    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn q_f64(&self, i: usize) -> f64 {
        self.moduli()[i].value() as f64
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::cast_possible_wrap,
        clippy::cast_sign_loss
    )]
    use super::*;
    use crate::ckks::{Ciphertext, Evaluator, NoiseEstimate};

    /// Composite parameters whose whole modulus fits an `i128`, for exact reference rounding.
    fn small(k: usize, first_bits: u32) -> Arc<Parameters> {
        Parameters::builder()
            .degree(256)
            .scale_bits(61)
            .scale_primes(k)
            .first_primes(k)
            .first_prime_bits(first_bits)
            .levels(1)
            .special_prime_bits(40)
            .special_primes(1)
            .dnum(1)
            .security(SecurityLevel::InsecureForTesting)
            .build()
            .unwrap()
    }

    /// CRT of the residues of coefficient `c`, centred, as an `i128`.
    fn compose(moduli: &[Modulus], res: &[u64], n: usize, c: usize) -> (i128, i128) {
        let mut x: u128 = u128::from(res[c]);
        let mut m: u128 = u128::from(moduli[0].value());
        for (i, q) in moduli.iter().enumerate().skip(1) {
            let qv = u128::from(q.value());
            let xi = q.reduce_u128(x);
            let mi = q.reduce_u128(m);
            let t = q.mul(q.sub(res[i * n + c], xi), q.inv(mi).unwrap());
            x += m * u128::from(t);
            m *= qv;
        }
        let (x, m) = (x as i128, m as i128);
        (if x > m / 2 { x - m } else { x }, m)
    }

    fn check_exact(params: &Arc<Parameters>, from: usize) {
        let n = params.degree();
        let moduli = params.moduli()[..from].to_vec();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut data = vec![0u64; from * n];
        for (i, limb) in data.chunks_exact_mut(n).enumerate() {
            for x in limb.iter_mut() {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                *x = moduli[i].reduce(state >> 3);
            }
        }
        let poly = Poly::from_residues(params.rlwe().ctx_q(), data.clone()).unwrap();
        let mut ct = Ciphertext {
            parts: vec![poly.into_ntt()],
            scale: 1e30,
            estimate: NoiseEstimate::new(0.0, 1.0),
            seed: None,
        };
        let to = params.rescale_level(from).unwrap();
        let d: i128 = params.q_moduli()[to..from]
            .iter()
            .map(|&q| i128::from(q))
            .product();
        Evaluator::new(params).rescale_assign(&mut ct).unwrap();
        assert_eq!(ct.level(), to);
        assert_eq!(ct.scale, 1e30 / params.rescale_divisor(from).unwrap());
        let out = ct.parts[0].clone().into_coeff();
        let res = out.residues();
        for c in 0..n {
            let (x, _) = compose(&moduli, &data, n, c);
            let want = (x + (d - 1) / 2).div_euclid(d);
            for (j, q) in moduli[..to].iter().enumerate() {
                assert_eq!(
                    res[j * n + c],
                    q.reduce_i64(i64::try_from(want).unwrap()),
                    "coefficient {c}, prime {j}"
                );
            }
        }
    }

    #[test]
    fn composite_rescale_rounds_exactly() {
        for (k, first_bits) in [(2, 31), (3, 21)] {
            let params = small(k, first_bits);
            assert_eq!((params.first_primes(), params.scale_primes()), (k, k));
            assert_eq!(params.depth(), 1);
            let top = params.max_level();
            assert_eq!(params.rescale_level(top).unwrap(), k);
            check_exact(&params, top);
            // From inside the group (primes dropped): down to the group's bottom.
            check_exact(&params, top - 1);
            assert!(params.rescale_level(k).is_err());
            // The wire format's inference finds the same grouping.
            let again = Parameters::from_rlwe(Arc::clone(params.rlwe()), 61).unwrap();
            assert_eq!((again.first_primes(), again.scale_primes()), (k, k));
        }
    }

    #[test]
    fn one_prime_per_level_is_unchanged() {
        let p = Parameters::preset(Preset::N16384Depth5Scale40).unwrap();
        assert_eq!((p.first_primes(), p.scale_primes(), p.depth()), (1, 1, 5));
        for l in 2..=p.max_level() {
            assert_eq!(p.rescale_level(l).unwrap(), l - 1);
            assert_eq!(p.depth_left(l), l - 1);
            #[allow(clippy::cast_precision_loss, clippy::float_cmp)]
            {
                assert_eq!(p.rescale_divisor(l).unwrap(), p.q_moduli()[l - 1] as f64);
                let s = p.scale_at(l).unwrap();
                assert_eq!(
                    p.scale_at(l - 1).unwrap(),
                    s * s / p.q_moduli()[l - 1] as f64
                );
            }
        }
        assert!(p.rescale_level(1).is_err());
    }
}
