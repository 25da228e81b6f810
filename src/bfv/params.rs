//! BFV parameters: the ring (through [`RlweParams`]), the plaintext modulus `t`, and the
//! per-level tables of encryption, decryption, multiplication and modulus switching.

use super::encoding::{BatchEncoder, CoefficientEncoder};
use crate::error::{Error, Result};
use crate::math::modulus::Modulus;
use crate::math::poly::Context;
use crate::math::primes::NttPrimes;
use crate::math::rns::{BaseConverter, RnsBasis, ScaleDown};
use crate::params::SecurityLevel;
use crate::rlwe::RlweParams;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// Bit size of the auxiliary primes of multiplication (below `2^50`: the IFMA NTT serves them).
const AUX_PRIME_BITS: u32 = 50;

/// Smallest and largest supported ring degree.
pub const MIN_BFV_DEGREE: usize = 1 << 11;
/// Largest supported ring degree.
pub const MAX_BFV_DEGREE: usize = 1 << 16;

/// Statistical security parameter `λ` of the threshold-decryption headroom (smudging noise of
/// `λ` bits beyond the noise bound).
pub const THRESHOLD_LAMBDA: u32 = 40;
/// Largest number of parties the presets' headroom is sized for.
pub const THRESHOLD_MAX_PARTIES: u32 = 256;

/// Ciphertext primes: given by bit sizes (generated) or explicitly.
#[derive(Clone, Debug)]
enum Primes {
    Bits(Vec<u32>),
    Values(Vec<u64>),
}

/// Builder of [`Parameters`] (see [`Parameters::builder`]).
#[derive(Clone, Debug)]
pub struct ParametersBuilder {
    n: usize,
    t: u64,
    q: Primes,
    p: Primes,
    dnum: Option<usize>,
    security: SecurityLevel,
    min_degree: usize,
}

impl ParametersBuilder {
    /// Ring degree `N`, a power of two in `[2^11, 2^16]`.
    pub fn degree(mut self, n: usize) -> Self {
        self.n = n;
        self
    }

    /// Plaintext modulus `t`: a prime below `2^60`. Batching needs `t = 1 (mod 2N)`; any prime
    /// serves the coefficient encoding.
    pub fn plaintext_modulus(mut self, t: u64) -> Self {
        self.t = t;
        self
    }

    /// Ciphertext primes by bit size (generated, NTT-friendly, distinct from every other prime
    /// of the parameters), in level order: the first is kept longest.
    pub fn ciphertext_moduli_bits(mut self, bits: &[u32]) -> Self {
        self.q = Primes::Bits(bits.to_vec());
        self
    }

    /// Explicit ciphertext primes, in level order.
    pub fn ciphertext_moduli(mut self, primes: &[u64]) -> Self {
        self.q = Primes::Values(primes.to_vec());
        self
    }

    /// Special primes of key switching, by bit size (generated).
    pub fn special_moduli_bits(mut self, bits: &[u32]) -> Self {
        self.p = Primes::Bits(bits.to_vec());
        self
    }

    /// Explicit special primes.
    pub fn special_moduli(mut self, primes: &[u64]) -> Self {
        self.p = Primes::Values(primes.to_vec());
        self
    }

    /// Number of key-switching digits (default: `⌈L / K⌉` for `L` ciphertext and `K` special
    /// primes, so that `P` is about as large as each digit).
    pub fn dnum(mut self, dnum: usize) -> Self {
        self.dnum = Some(dnum);
        self
    }

    /// Security level (default 128-bit classical).
    pub fn security(mut self, level: SecurityLevel) -> Self {
        self.security = level;
        self
    }

    #[doc(hidden)]
    /// Allows degrees below `2^11` (only with [`SecurityLevel::InsecureForTesting`]), for fast
    /// tests.
    pub fn allow_small_degree_for_testing(mut self) -> Self {
        self.min_degree = 16;
        self
    }

    /// Validates and builds the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidDegree`] for `N` outside `[2^11, 2^16]`; [`Error::InvalidModulus`] for a
    /// `t` that is not a prime below `2^60`; [`Error::InvalidBasis`] for missing primes, a
    /// prime used twice (`t` included) or `Q <= t·2^10`; [`Error::NotEnoughPrimes`] when the
    /// bit sizes cannot supply enough primes; [`Error::InsecureParameters`] when `log2(Q·P)`
    /// exceeds the HomomorphicEncryption.org bound at the requested level.
    pub fn build(self) -> Result<Arc<Parameters>> {
        let n = self.n;
        let small_ok = self.security == SecurityLevel::InsecureForTesting;
        let min = if small_ok {
            self.min_degree
        } else {
            MIN_BFV_DEGREE
        };
        if !n.is_power_of_two() || n < min || n > MAX_BFV_DEGREE {
            return Err(Error::InvalidDegree {
                degree: n,
                min,
                max: MAX_BFV_DEGREE,
            });
        }
        let t = Modulus::new(self.t)?;
        if t.bits() > 60 {
            return Err(Error::InvalidModulus {
                modulus: self.t,
                reason: crate::error::ModulusError::TooLarge,
            });
        }
        let mut gen = PrimeSource::new(n);
        gen.used.push(self.t);
        // Explicit primes are reserved first, so generated ones avoid them.
        for list in [&self.q, &self.p] {
            if let Primes::Values(v) = list {
                gen.used.extend_from_slice(v);
            }
        }
        let mut take = |list: &Primes| -> Result<Vec<u64>> {
            match list {
                Primes::Values(v) => Ok(v.clone()),
                Primes::Bits(bits) => bits.iter().map(|&b| gen.next(b)).collect(),
            }
        };
        let q = take(&self.q)?;
        let p = take(&self.p)?;
        if q.is_empty() || p.is_empty() {
            return Err(Error::InvalidBasis {
                reason: "need at least one ciphertext prime and one special prime",
            });
        }
        if q.contains(&self.t) || p.contains(&self.t) {
            return Err(Error::InvalidBasis {
                reason: "the plaintext modulus t must differ from every ciphertext prime",
            });
        }
        let log_q: u32 = q.iter().map(|x| 64 - x.leading_zeros()).sum();
        if log_q < t.bits() + 11 {
            return Err(Error::InvalidBasis {
                reason: "Q must exceed t by at least 10 bits: add ciphertext primes",
            });
        }
        let dnum = self.dnum.unwrap_or_else(|| q.len().div_ceil(p.len()));
        let ring = RlweParams::new(n, &q, &p, dnum, self.security)?;
        // Auxiliary basis R of multiplication, sized for the top level (module docs of
        // `evaluator`): sum of (bits - 1) >= bits(t) + log2 N + bits(Q) + 1.
        let need = t.bits() + n.trailing_zeros() + log_q + 1;
        let mut r = Vec::new();
        let mut have = 0;
        gen.used.extend_from_slice(&q);
        gen.used.extend_from_slice(&p);
        while have < need {
            let x = gen.next(AUX_PRIME_BITS)?;
            have += AUX_PRIME_BITS - 1;
            r.push(x);
        }
        let mut rq = r.clone();
        rq.extend_from_slice(&q);
        let ctx_rq = Context::new(n, &rq)?;
        let batch = BatchEncoder::new(n, self.t).ok();
        let coeff = CoefficientEncoder::new(n, self.t)?;
        let levels = (0..q.len()).map(|_| OnceLock::new()).collect();
        Ok(Arc::new(Parameters {
            ring,
            t,
            batch,
            coeff,
            ctx_rq,
            aux: r.len(),
            levels,
        }))
    }
}

/// NTT-friendly primes of given bit sizes, distinct from those already used.
struct PrimeSource {
    n: usize,
    iters: BTreeMap<u32, NttPrimes>,
    used: Vec<u64>,
}

impl PrimeSource {
    fn new(n: usize) -> Self {
        Self {
            n,
            iters: BTreeMap::new(),
            used: Vec::new(),
        }
    }

    fn next(&mut self, bits: u32) -> Result<u64> {
        let it = match self.iters.entry(bits) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(NttPrimes::new(bits, self.n)?)
            }
        };
        for x in it.by_ref() {
            if !self.used.contains(&x) {
                self.used.push(x);
                return Ok(x);
            }
        }
        Err(Error::NotEnoughPrimes {
            bits,
            degree: self.n,
            requested: self.used.len() + 1,
            found: self.used.len(),
        })
    }
}

/// BFV parameters; build with [`Parameters::builder`] or take a preset.
///
/// # Presets
/// Named by their parameters; every one is rated 128-bit classical by the
/// HomomorphicEncryption.org table, `log2(Q·P)` counted as the sum of the primes' bit lengths,
/// special primes included; all primes are below `2^50` (the IFMA NTT serves them).
///
/// | preset | N | ciphertext primes (bits) | special | dnum | log QP | t |
/// |---|---|---|---|---|---|---|
/// | [`n8192_logq218_t20bit`](Self::n8192_logq218_t20bit) | 2^13 | 43, 43, 44, 44 | 44 | 4 | 218 | 786433 |
/// | [`n16384_logq438_t20bit`](Self::n16384_logq438_t20bit) | 2^14 | 3 × 48, 5 × 49 | 49 | 4 | 438 | 786433 |
/// | [`n32768_logq881_t20bit`](Self::n32768_logq881_t20bit) | 2^15 | 16 × 49, 48 | 49 | 17 | 881 | 786433 |
/// | [`n16384_count_t31bit`](Self::n16384_count_t31bit) | 2^14 | 3 × 48, 5 × 49 | 49 | 8 | 438 | 31-bit batching prime |
/// | [`n32768_count_t45bit`](Self::n32768_count_t45bit) | 2^15 | 16 × 49, 48 | 49 | 17 | 881 | 45-bit batching prime |
///
/// # Count presets and plaintext overflow
/// BFV computes modulo `t`: a sum or product whose true value leaves `(-t/2, t/2)` (signed) or
/// `[0, t)` (unsigned) wraps around silently. The caller bounds it: a sum of `k` values of
/// magnitude at most `B` needs `k·B < t/2`; a sum of `k` products of values bounded by `A` and
/// `B` needs `k·A·B < t/2`. World migration totals are about `4·10^7 < 2^26` per period, so the
/// 31-bit preset holds signed sums of 16 such totals, or of any number of values whose total
/// magnitude stays below `2^30`; the 45-bit preset leaves `2^44` (products of counts by weights
/// up to `2^18`).
///
/// # Threshold headroom
/// Collective decryption adds smudging noise `λ + log2(n)` bits above the ciphertext's public
/// noise bound (λ = [`THRESHOLD_LAMBDA`], `n <= THRESHOLD_MAX_PARTIES` parties: 48 bits).
/// [`Parameters::threshold_level`] returns the lowest level at which a ciphertext, once switched
/// there, still decrypts with that headroom given its public
/// [`NoiseEstimate`](super::NoiseEstimate); switching down is one exact divide-and-round per
/// dropped prime ([`Evaluator::mod_switch_to_level`](super::Evaluator::mod_switch_to_level)).
/// Below the level a ciphertext's noise is dominated by the switch's rounding, about
/// `t·sqrt(N)` (41 bits at `t < 2^31`, `N = 2^14`), so the headroom needs roughly
/// `log2 t + log2 N / 2 + 3 + 48 + 1` bits of `Q_l`: for a sum of 1024 products this keeps
/// 2 primes (97 bits) at [`n16384_count_t31bit`](Self::n16384_count_t31bit) and 3 primes
/// (147 bits) at [`n32768_count_t45bit`](Self::n32768_count_t45bit) (tested), leaving the other
/// primes for computation.
pub struct Parameters {
    ring: Arc<RlweParams>,
    t: Modulus,
    batch: Option<BatchEncoder>,
    coeff: CoefficientEncoder,
    /// The auxiliary primes `R` of multiplication followed by the ciphertext primes `Q`: a
    /// polynomial over `R ∪ Q_l` is a prefix of this context.
    ctx_rq: Arc<Context>,
    /// Number of auxiliary primes `K`.
    aux: usize,
    levels: Vec<OnceLock<LevelTables>>,
}

/// Per-level tables (level `l` = the first `l` ciphertext primes).
pub(crate) struct LevelTables {
    /// `[floor(Q_l / t)]_{q_i}` and its Shoup companion.
    pub(crate) delta: Vec<(u64, u64)>,
    /// `Q_l mod t`.
    pub(crate) q_mod_t: u64,
    /// `[t]_{q_i}` with Shoup companion.
    pub(crate) t_q: Vec<(u64, u64)>,
    /// Decryption: divide-and-round by `Q_l` on the basis `{t} ∪ Q_l`.
    pub(crate) decrypt: ScaleDown,
    /// The basis `Q_l` (CRT composition for noise measurement).
    pub(crate) basis_q: RnsBasis,
    /// Modulus switching from `Q_l` to `Q_{l-1}` (divide-and-round by `q_{l-1}`), `l >= 2`.
    pub(crate) switch: Option<ScaleDown>,
    /// Multiplication tables, built on first use.
    pub(crate) mul: OnceLock<MulTables>,
    /// Decryption through level `k` (entry `k - 1`, `k < l`), built on first use (see
    /// `bfv::ciphertext::LowerSwitch`).
    pub(crate) lower: Vec<OnceLock<super::ciphertext::LowerSwitch>>,
}

/// Tables of the multiplication at one level (see the evaluator's module docs).
pub(crate) struct MulTables {
    /// Number of auxiliary primes `K`.
    pub(crate) k: usize,
    /// Exact (centered) extension `Q_l -> R_k`.
    pub(crate) q_to_r: BaseConverter,
    /// `round(x / Q_l)` on the basis `R_k ∪ Q_l`.
    pub(crate) scale: ScaleDown,
    /// Exact (centered) extension `R_k -> Q_l`.
    pub(crate) r_to_q: BaseConverter,
    /// How many tensor products may be summed before one scaling and still be exact:
    /// `2^slack` with `slack = Σ(bits(r_j) - 1) - (bits(t) + log2 N + bits(Q_l) + 1)`.
    pub(crate) max_terms: usize,
}

impl core::fmt::Debug for Parameters {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("bfv::Parameters")
            .field("ring", &self.ring)
            .field("t", &self.t.value())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Parameters {
    fn eq(&self, other: &Self) -> bool {
        *self.ring == *other.ring && self.t == other.t
    }
}
impl Eq for Parameters {}

/// The 20-bit plaintext modulus of the benchmark presets (a batching prime for every
/// `N <= 2^15`: `786433 = 3·2^18 + 1`).
pub const T_20BIT: u64 = 786_433;

impl Parameters {
    /// A builder with no primes set, `t` unset and the default security level.
    pub fn builder() -> ParametersBuilder {
        ParametersBuilder {
            n: 0,
            t: 0,
            q: Primes::Bits(Vec::new()),
            p: Primes::Bits(Vec::new()),
            dnum: None,
            security: SecurityLevel::Classic128,
            min_degree: MIN_BFV_DEGREE,
        }
    }

    /// `N = 2^13`, ciphertext primes of 43, 43, 44, 44 bits, one 44-bit special prime
    /// (`log2 QP = 218`), `t = 786433` (SEAL's default modulus size for this `N`).
    ///
    /// # Errors
    /// None expected (the preset is valid); the builder's errors otherwise.
    pub fn n8192_logq218_t20bit() -> Result<Arc<Self>> {
        Self::builder()
            .degree(1 << 13)
            .plaintext_modulus(T_20BIT)
            .ciphertext_moduli_bits(&[43, 43, 44, 44])
            .special_moduli_bits(&[44])
            .build()
    }

    /// `N = 2^14`, ciphertext primes of 3 × 48 and 5 × 49 bits, one 49-bit special prime
    /// (`log2 QP = 438`), `t = 786433`; four key-switching digits of two primes each.
    ///
    /// Two-prime digits over one special prime add a key-switching noise of about
    /// `2^97 / 2^49 · sqrt(N)` per relinearisation, above the first product's noise: the first
    /// squaring leaves about 16 bits less budget than with one-prime digits (SEAL's choice),
    /// and ten consecutive squarings still decrypt (`tests/bfv_depth.rs`: 8.6 bits left,
    /// 2.4 estimated). In exchange keys are half the size and key switching runs half the
    /// transforms and reads half the key.
    ///
    /// # Errors
    /// As [`n8192_logq218_t20bit`](Self::n8192_logq218_t20bit).
    pub fn n16384_logq438_t20bit() -> Result<Arc<Self>> {
        Self::builder()
            .degree(1 << 14)
            .plaintext_modulus(T_20BIT)
            .ciphertext_moduli_bits(&[48, 48, 48, 49, 49, 49, 49, 49])
            .special_moduli_bits(&[49])
            .dnum(4)
            .build()
    }

    /// `N = 2^15`, ciphertext primes of 16 × 49 and 48 bits, one 49-bit special prime
    /// (`log2 QP = 881`), `t = 786433`.
    ///
    /// # Errors
    /// As [`n8192_logq218_t20bit`](Self::n8192_logq218_t20bit).
    pub fn n32768_logq881_t20bit() -> Result<Arc<Self>> {
        let mut bits = vec![49u32; 16];
        bits.push(48);
        Self::builder()
            .degree(1 << 15)
            .plaintext_modulus(T_20BIT)
            .ciphertext_moduli_bits(&bits)
            .special_moduli_bits(&[49])
            .build()
    }

    /// Count preset: the moduli of [`n16384_logq438_t20bit`](Self::n16384_logq438_t20bit) with
    /// the largest 31-bit batching prime `t = 1 (mod 2^15)` (see the type's docs for overflow
    /// and threshold headroom).
    ///
    /// # Errors
    /// As [`n8192_logq218_t20bit`](Self::n8192_logq218_t20bit).
    pub fn n16384_count_t31bit() -> Result<Arc<Self>> {
        let t = crate::math::primes::largest_ntt_prime(31, 1 << 14)?;
        Self::builder()
            .degree(1 << 14)
            .plaintext_modulus(t)
            .ciphertext_moduli_bits(&[48, 48, 48, 49, 49, 49, 49, 49])
            .special_moduli_bits(&[49])
            .build()
    }

    /// Count preset: the moduli of [`n32768_logq881_t20bit`](Self::n32768_logq881_t20bit) with
    /// the largest 45-bit batching prime `t = 1 (mod 2^16)`.
    ///
    /// # Errors
    /// As [`n8192_logq218_t20bit`](Self::n8192_logq218_t20bit).
    pub fn n32768_count_t45bit() -> Result<Arc<Self>> {
        let t = crate::math::primes::largest_ntt_prime(45, 1 << 15)?;
        let mut bits = vec![49u32; 16];
        bits.push(48);
        Self::builder()
            .degree(1 << 15)
            .plaintext_modulus(t)
            .ciphertext_moduli_bits(&bits)
            .special_moduli_bits(&[49])
            .build()
    }

    /// **Insecure**, for tests only: degree `n` (a power of two from 16 up), `q_primes` 50-bit
    /// ciphertext primes, one 50-bit special prime, plaintext modulus `t`; not checked against
    /// the security table ([`SecurityLevel::InsecureForTesting`]).
    ///
    /// # Errors
    /// As the builder.
    pub fn insecure_for_testing(n: usize, t: u64, q_primes: usize) -> Result<Arc<Self>> {
        Self::builder()
            .degree(n)
            .plaintext_modulus(t)
            .ciphertext_moduli_bits(&vec![50; q_primes])
            .special_moduli_bits(&[50])
            .security(SecurityLevel::InsecureForTesting)
            .allow_small_degree_for_testing()
            .build()
    }

    /// The ring parameters (keys are generated on them).
    pub fn ring(&self) -> &Arc<RlweParams> {
        &self.ring
    }

    /// Ring degree `N`.
    pub fn degree(&self) -> usize {
        self.ring.degree()
    }

    /// The plaintext modulus `t`.
    pub fn plaintext_modulus(&self) -> u64 {
        self.t.value()
    }

    pub(crate) fn t(&self) -> &Modulus {
        &self.t
    }

    /// Number of ciphertext primes (the top level).
    pub fn max_level(&self) -> usize {
        self.ring.max_level()
    }

    /// The batch encoder, if `t = 1 (mod 2N)` is a batching prime.
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] when `t` does not allow batching.
    pub fn batch_encoder(&self) -> Result<&BatchEncoder> {
        self.batch.as_ref().ok_or(Error::InvalidOperation {
            reason: "t is not 1 mod 2N: batching needs such a prime (use the coefficient encoder)",
        })
    }

    /// The coefficient encoder.
    pub fn coefficient_encoder(&self) -> &CoefficientEncoder {
        &self.coeff
    }

    /// `log2(Q_l)` (as a float) at level `l`.
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] for a level outside `1..=max_level`.
    pub fn log2_q(&self, level: usize) -> Result<f64> {
        self.ring.check_level(level)?;
        Ok(self.ring.ctx_q().moduli()[..level]
            .iter()
            .map(|q| (q.value() as f64).log2())
            .sum())
    }

    /// The lowest level at which a ciphertext of the given public noise estimate, switched
    /// there from its current level `from_level`, still leaves `lambda + log2(parties)` bits of
    /// headroom for smudging noise (threshold decryption): the switched noise bound `B_l` (the
    /// scaled noise plus the switch's rounding, failure probability `2^-lambda`) satisfies
    /// `log2 B_l + lambda + log2(parties) + 1 < log2 Q_l`.
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] if no level up to `from_level` has the headroom.
    pub fn threshold_level(
        &self,
        noise: super::NoiseEstimate,
        from_level: usize,
        lambda: u32,
        parties: u32,
    ) -> Result<usize> {
        let head = f64::from(lambda) + f64::from(parties.max(1)).log2();
        let log_from = self.log2_q(from_level)?;
        let tail = super::noise::tail_factor(self.degree(), lambda).log2();
        for level in 1..=from_level {
            let log_l = self.log2_q(level)?;
            let sigma = if level == from_level {
                noise.log2_std()
            } else {
                super::noise::log2_add(
                    noise.log2_std() - (log_from - log_l),
                    super::noise::switch_rounding_log2(self, 1),
                )
            };
            if sigma + tail + head + 1.0 < log_l {
                return Ok(level);
            }
        }
        Err(Error::InvalidOperation {
            reason: "no level leaves room for threshold smudging noise: use a larger Q",
        })
    }

    /// The context `R ∪ Q` of multiplication.
    pub(crate) fn aux_context(&self) -> &Arc<Context> {
        &self.ctx_rq
    }

    /// Tables of level `l`, built on first use.
    pub(crate) fn level(&self, level: usize) -> Result<&LevelTables> {
        self.ring.check_level(level)?;
        if let Some(t) = self.levels[level - 1].get() {
            return Ok(t);
        }
        let tables = self.build_level(level)?;
        Ok(self.levels[level - 1].get_or_init(|| tables))
    }

    fn build_level(&self, level: usize) -> Result<LevelTables> {
        let moduli = &self.ring.ctx_q().moduli()[..level];
        let t = &self.t;
        let q_mod_t = moduli
            .iter()
            .fold(t.reduce(1), |acc, q| t.mul(acc, t.reduce(q.value())));
        let mut delta = Vec::with_capacity(level);
        let mut t_q = Vec::with_capacity(level);
        for q in moduli {
            // floor(Q/t) = (Q - (Q mod t)) / t = -(Q mod t) · t^-1 mod q_i (Q = 0 mod q_i).
            let t_inv = q.inv(q.reduce(t.value()))?;
            let d = q.neg(q.mul(q.reduce(q_mod_t), t_inv));
            delta.push((d, q.shoup(d)));
            let tq = q.reduce(t.value());
            t_q.push((tq, q.shoup(tq)));
        }
        let values: Vec<u64> = moduli.iter().map(Modulus::value).collect();
        let basis_q = RnsBasis::new(&values)?;
        let mut with_t = vec![t.value()];
        with_t.extend_from_slice(&values);
        let decrypt = ScaleDown::new(&RnsBasis::new(&with_t)?, level)?;
        let switch = if level >= 2 {
            Some(ScaleDown::new(&basis_q, 1)?)
        } else {
            None
        };
        Ok(LevelTables {
            delta,
            q_mod_t,
            t_q,
            decrypt,
            basis_q,
            switch,
            mul: OnceLock::new(),
            lower: (1..level).map(|_| OnceLock::new()).collect(),
        })
    }

    /// Multiplication tables of level `l`.
    pub(crate) fn mul_tables(&self, level: usize) -> Result<&MulTables> {
        let lt = self.level(level)?;
        if let Some(m) = lt.mul.get() {
            return Ok(m);
        }
        // All of R at every level: R ∪ Q_l is then a prefix of the R ∪ Q context.
        let k = self.aux;
        let r_all = self.ctx_rq.moduli();
        let r_values: Vec<u64> = r_all[..k].iter().map(Modulus::value).collect();
        let basis_r = RnsBasis::new(&r_values)?;
        let q_to_r = BaseConverter::new(&lt.basis_q, &basis_r)?;
        let r_to_q = BaseConverter::new(&basis_r, &lt.basis_q)?;
        let scale = ScaleDown::new(&basis_r.concat(&lt.basis_q)?, level)?;
        let log_q: u32 = self.ring.ctx_q().moduli()[..level]
            .iter()
            .map(Modulus::bits)
            .sum();
        let have: u32 = r_all[..k].iter().map(|r| r.bits() - 1).sum();
        let need = self.t.bits() + self.degree().trailing_zeros() + log_q + 1;
        let slack = have.saturating_sub(need).min(30);
        let m = MulTables {
            max_terms: 1usize << slack,
            k,
            q_to_r,
            scale,
            r_to_q,
        };
        Ok(lt.mul.get_or_init(|| m))
    }

    pub(crate) fn check_same(&self, other: &Arc<Self>) -> Result<()> {
        if core::ptr::eq(self, Arc::as_ptr(other)) || *self == **other {
            Ok(())
        } else {
            Err(Error::ContextMismatch)
        }
    }
}
