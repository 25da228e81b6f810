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
        if !(20..=60).contains(&self.scale_bits) {
            return Err(Error::ValueOutOfRange {
                what: "CKKS scale bits must be between 20 and 60",
            });
        }
        if !(self.scale_bits..=61).contains(&self.first_prime_bits) {
            return Err(Error::ValueOutOfRange {
                what: "first prime bits must be between the scale bits and 61",
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
        // Scaling primes from the top level down, each nearest to Δ_l^2 / Δ.
        let mut used: Vec<u64> = Vec::new();
        let mut scaling = Vec::with_capacity(self.levels);
        let mut scale = delta;
        for _ in 0..self.levels {
            let target = scale * scale / delta;
            let q = nearest_ntt_prime(target, two_n, &used).ok_or(Error::NotEnoughPrimes {
                bits: self.scale_bits,
                degree: n,
                requested: self.levels,
                found: scaling.len(),
            })?;
            used.push(q);
            scaling.push(q);
            #[allow(clippy::cast_precision_loss)]
            let qf = q as f64;
            scale = scale * scale / qf;
        }
        // scaling[0] is dropped first (it is the last prime of the chain).
        scaling.reverse();
        let first = largest_unused(self.first_prime_bits, two_n, &used, 1, n)?;
        used.extend(&first);
        let mut q: Vec<u64> = first;
        q.extend(&scaling);
        let dnum = self.dnum.clamp(1, q.len());
        let alpha = q.len().div_ceil(self.dnum.max(1));
        let max_digit_bits = q.chunks(alpha).map(log_qp).max().unwrap_or(0);
        let k = self
            .special_primes
            .unwrap_or_else(|| max_digit_bits.div_ceil(self.special_prime_bits) as usize)
            .max(1);
        let p = largest_unused(self.special_prime_bits, two_n, &used, k, n)?;
        if dnum != self.dnum {
            return Err(Error::InvalidBasis {
                reason: "dnum must be between 1 and the number of ciphertext primes",
            });
        }
        let rlwe = RlweParams::new(n, &q, &p, dnum, self.security)?;
        Parameters::from_rlwe(rlwe, self.scale_bits)
    }
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

/// Per-level constants of the NTT-domain rescale from level `l` (dropping `q_{l-1}`).
#[derive(Debug)]
pub(crate) struct RescaleTable {
    /// `[q_{l-1}^{-1}]_{q_j}` and Shoup companions, `j < l - 1`.
    pub(crate) inv: Vec<(u64, u64)>,
    /// `[floor(q_{l-1}/2)]_{q_j}`.
    pub(crate) half: Vec<u64>,
}

/// Validated CKKS parameters. Build with [`ParametersBuilder`] or [`Parameters::preset`].
pub struct Parameters {
    rlwe: Arc<RlweParams>,
    encoder: Encoder,
    scale_bits: u32,
    /// Canonical scale at level `l` (index `l - 1`).
    scales: Vec<f64>,
    /// `log2(q_i)`.
    log_q: Vec<f64>,
    /// Rescale tables, index `l - 1` for level `l >= 2` (index 0 unused, empty).
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
    /// `2^scale_bits`; the top-level scale is `2^scale_bits`).
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] for `scale_bits` outside `20..=60`; [`Error::InvalidDegree`]
    /// for a degree the encoder does not support.
    pub fn from_rlwe(rlwe: Arc<RlweParams>, scale_bits: u32) -> Result<Arc<Self>> {
        if !(20..=60).contains(&scale_bits) {
            return Err(Error::ValueOutOfRange {
                what: "CKKS scale bits must be between 20 and 60",
            });
        }
        let n = rlwe.degree();
        let encoder = Encoder::new(n)?;
        let q = rlwe.q_moduli();
        let l_max = q.len();
        #[allow(clippy::cast_precision_loss)]
        let log_q: Vec<f64> = q.iter().map(|&x| (x as f64).log2()).collect();
        let mut scales = vec![0.0; l_max];
        scales[l_max - 1] = pow2(scale_bits);
        for l in (1..l_max).rev() {
            #[allow(clippy::cast_precision_loss)]
            let ql = q[l] as f64;
            scales[l - 1] = scales[l] * scales[l] / ql;
        }
        let moduli = rlwe.ctx_q().moduli();
        let mut rescale = Vec::with_capacity(l_max);
        for l in 1..=l_max {
            if l == 1 {
                rescale.push(RescaleTable {
                    inv: Vec::new(),
                    half: Vec::new(),
                });
                continue;
            }
            let last = q[l - 1];
            let mut inv = Vec::with_capacity(l - 1);
            let mut half = Vec::with_capacity(l - 1);
            for m in &moduli[..l - 1] {
                let w = m.inv(m.reduce(last))?;
                inv.push((w, m.shoup(w)));
                half.push(m.reduce(last / 2));
            }
            rescale.push(RescaleTable { inv, half });
        }
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
            scales,
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

    /// The top level (number of ciphertext primes, `L + 1`).
    pub fn max_level(&self) -> usize {
        self.rlwe.max_level()
    }

    /// Multiplicative depth `L` (rescales available from the top level).
    pub fn depth(&self) -> usize {
        self.max_level() - 1
    }

    /// `log2` of the top-level scale.
    pub fn scale_bits(&self) -> u32 {
        self.scale_bits
    }

    /// The canonical scale `Δ_l` at `level` (see the module docs).
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
