//! The slot-vector operations the analyses are written against, with three implementations:
//! BFV (exact integers modulo `t`), CKKS (approximate reals) and a plaintext stand-in of each
//! (as Apple's swift-homomorphic-encryption does with its no-op scheme) that runs the same
//! analysis code in clear integers/floats for fast tests of the logic and for planning (which
//! rotations an analysis needs: [`OpCounter::rotation_steps`]).
//!
//! A ciphertext holds `slots()` values in `slots() / row_len()` rows; [`SlotBackend::rotate`]
//! rotates every row left by the same amount (BFV: two rows of `N/2`; CKKS: one row of `N/2`),
//! [`SlotBackend::swap_rows`] exchanges the two BFV rows.
//!
//! Encryption ([`Encryptor`]) and decryption ([`Decryptor`]) are separate roles: agencies hold an
//! encryptor (the collective public key), the computation node holds a backend with evaluation
//! keys only, and decryption of declared outputs goes through [`Decryptor`], implemented here
//! for a single secret key and, in the threshold module, by collective decryption.

use crate::bfv;
use crate::ckks;
use crate::error::{Error, Result};
use crate::rlwe::{RelinearizationKey, SecretKey};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Counts of homomorphic operations, for reports (`rotations` includes row swaps).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Ciphertext additions and subtractions.
    pub adds: u64,
    /// Ciphertext × plaintext products (masks and public weights).
    pub plain_muls: u64,
    /// Ciphertext × ciphertext products (relinearised; rescaled for CKKS).
    pub ct_muls: u64,
    /// Slot rotations and row swaps (key switches).
    pub rotations: u64,
}

impl core::fmt::Display for OpCounts {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} additions, {} plaintext products, {} ciphertext products, {} rotations",
            self.adds, self.plain_muls, self.ct_muls, self.rotations
        )
    }
}

impl core::ops::Add for OpCounts {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            adds: self.adds + o.adds,
            plain_muls: self.plain_muls + o.plain_muls,
            ct_muls: self.ct_muls + o.ct_muls,
            rotations: self.rotations + o.rotations,
        }
    }
}

impl core::ops::Sub for OpCounts {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        Self {
            adds: self.adds - o.adds,
            plain_muls: self.plain_muls - o.plain_muls,
            ct_muls: self.ct_muls - o.ct_muls,
            rotations: self.rotations - o.rotations,
        }
    }
}

/// Thread-safe operation counters, and the set of rotation steps used (to plan Galois keys).
#[derive(Debug, Default)]
pub struct OpCounter {
    adds: AtomicU64,
    plain_muls: AtomicU64,
    ct_muls: AtomicU64,
    rotations: AtomicU64,
    steps: Mutex<BTreeSet<usize>>,
    swaps: AtomicU64,
}

impl OpCounter {
    /// The counts so far.
    pub fn snapshot(&self) -> OpCounts {
        OpCounts {
            adds: self.adds.load(Ordering::Relaxed),
            plain_muls: self.plain_muls.load(Ordering::Relaxed),
            ct_muls: self.ct_muls.load(Ordering::Relaxed),
            rotations: self.rotations.load(Ordering::Relaxed),
        }
    }

    /// The distinct left-rotation steps used so far (the Galois keys an analysis needs).
    pub fn rotation_steps(&self) -> Vec<usize> {
        self.steps
            .lock()
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Whether a row swap was used (BFV needs its Galois key).
    pub fn used_row_swap(&self) -> bool {
        self.swaps.load(Ordering::Relaxed) > 0
    }

    fn add(&self) {
        self.adds.fetch_add(1, Ordering::Relaxed);
    }
    fn plain_mul(&self) {
        self.plain_muls.fetch_add(1, Ordering::Relaxed);
    }
    fn ct_mul(&self) {
        self.ct_muls.fetch_add(1, Ordering::Relaxed);
    }
    fn rotation(&self, k: usize) {
        self.rotations.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut s) = self.steps.lock() {
            s.insert(k);
        }
    }
    fn swap(&self) {
        self.rotations.fetch_add(1, Ordering::Relaxed);
        self.swaps.fetch_add(1, Ordering::Relaxed);
    }
}

/// A slot value: `i64` (exact, centred modulo `t`) or `f64` (approximate).
pub trait SlotValue: Copy + Default + PartialEq + core::fmt::Debug + Send + Sync + 'static {
    /// The value 1 (for masks).
    fn one() -> Self;
}
impl SlotValue for i64 {
    fn one() -> Self {
        1
    }
}
impl SlotValue for f64 {
    fn one() -> Self {
        1.0
    }
}

/// Homomorphic slot-vector operations used by the analyses (the computation node's view: no
/// secret key). Every operation is deterministic, so an evaluation can be re-executed and
/// checked bit for bit (audit transcript).
pub trait SlotBackend {
    /// A ciphertext (or, for the stand-in, a clear vector).
    type Ct: Clone + core::fmt::Debug;
    /// The slot value type.
    type Value: SlotValue;
    /// A short name of the scheme and parameters (recorded in transcripts).
    fn describe(&self) -> String;
    /// Slots per ciphertext.
    fn slots(&self) -> usize;
    /// Slots per rotation row (`slots()` or `slots()/2`).
    fn row_len(&self) -> usize;
    /// `a + b`.
    ///
    /// # Errors
    /// Scheme errors (mismatched parameters, levels).
    fn add(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct>;
    /// `a - b`.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    fn sub(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct>;
    /// `a + v` slot-wise for public `v` (zero-padded).
    ///
    /// # Errors
    /// As [`add`](Self::add); `v` longer than the slots.
    fn add_plain(&self, a: &Self::Ct, v: &[Self::Value]) -> Result<Self::Ct>;
    /// `a ⊙ v` slot-wise for public `v` (zero-padded); consumes one level in CKKS.
    ///
    /// # Errors
    /// As [`add`](Self::add); levels exhausted.
    fn mul_plain(&self, a: &Self::Ct, v: &[Self::Value]) -> Result<Self::Ct>;
    /// `a ⊙ b` slot-wise (relinearised; one level in CKKS).
    ///
    /// # Errors
    /// As [`mul_plain`](Self::mul_plain); no relinearisation key.
    fn mul(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct>;
    /// Rotates every row left by `k` (`0 < k < row_len()`).
    ///
    /// # Errors
    /// A missing Galois key.
    fn rotate(&self, a: &Self::Ct, k: usize) -> Result<Self::Ct>;
    /// Several rotations of one ciphertext (hoisted where the scheme supports it).
    ///
    /// # Errors
    /// As [`rotate`](Self::rotate).
    fn rotate_many(&self, a: &Self::Ct, ks: &[usize]) -> Result<Vec<Self::Ct>> {
        ks.iter().map(|&k| self.rotate(a, k)).collect()
    }
    /// Exchanges the two rows (BFV); an error for one-row schemes.
    ///
    /// # Errors
    /// One-row scheme; a missing Galois key.
    fn swap_rows(&self, a: &Self::Ct) -> Result<Self::Ct>;
    /// SHA-256 of a canonical dump of the ciphertext (scheme tag, level, scale, every residue
    /// of every polynomial, little-endian).
    fn digest(&self, a: &Self::Ct) -> [u8; 32];
    /// The operation counters.
    fn counter(&self) -> &OpCounter;
    /// Multiplicative levels left on `a` (products and plaintext products that can still be
    /// applied): the rescales left in CKKS (`level - 1` with one prime per level, fewer with
    /// composite scaling), unlimited (`usize::MAX`) otherwise.
    fn levels_left(&self, a: &Self::Ct) -> usize {
        let _ = a;
        usize::MAX
    }
    /// Declares a public bound on every slot's magnitude of `a` (from the analysis' declared
    /// maxima, never from decrypted data): CKKS records it in the ciphertext's public noise
    /// estimate when it is tighter than the propagated one (the estimate sizes the smudging
    /// noise of threshold decryption, so a loose bound costs precision and a wrong one would
    /// under-size the smudging: declare only bounds that hold). Other backends return `a`.
    ///
    /// # Errors
    /// A bound that is not a positive finite number.
    fn declare_bound(&self, a: &Self::Ct, bound: f64) -> Result<Self::Ct> {
        check_bound(bound)?;
        Ok(a.clone())
    }
    /// `1/√x` slot-wise for values declared to lie in `[lo, hi]` (`0 < lo`), to about `bits`
    /// bits (CKKS: a Chebyshev interpolant, [`ckks::Evaluator::inverse_sqrt`]; its depth is
    /// `⌈log2(d + 1)⌉ + 2` for the degree `d` the interval and `bits` need).
    ///
    /// # Errors
    /// Schemes without it (BFV); levels exhausted; a bad interval.
    fn inverse_sqrt(&self, a: &Self::Ct, lo: f64, hi: f64, bits: u32) -> Result<Self::Ct> {
        let _ = (a, lo, hi, bits);
        Err(Error::Analytics {
            reason: "this scheme has no polynomial evaluation: use CKKS".into(),
        })
    }
}

/// Encrypts slot vectors (held by each agency: the collective public key).
pub trait Encryptor<B: SlotBackend> {
    /// Encrypts `values` (zero-padded to the slot count).
    ///
    /// # Errors
    /// Too many values; values out of the plaintext range.
    fn encrypt<R: RngCore + CryptoRng>(&self, values: &[B::Value], rng: &mut R) -> Result<B::Ct>;
}

/// Decrypts one ciphertext of an authorised output. Call it only through
/// [`open_output`](super::open_output), which first checks that the ciphertext is a declared
/// output recorded in the transcript; a threshold implementation should make the same check
/// ([`Transcript::authorises`](super::Transcript::authorises)) before releasing its share.
pub trait Decryptor<B: SlotBackend> {
    /// All slot values of `ct`.
    ///
    /// # Errors
    /// Scheme errors.
    fn decrypt(&self, ct: &B::Ct) -> Result<Vec<B::Value>>;
}

fn check_bound(bound: f64) -> Result<()> {
    if bound.is_finite() && bound > 0.0 {
        Ok(())
    } else {
        Err(Error::Analytics {
            reason: "a declared bound must be a positive finite number".into(),
        })
    }
}

fn too_long(len: usize, slots: usize) -> Error {
    Error::LengthMismatch {
        expected: slots,
        found: len,
    }
}

fn hash_residues(h: &mut Sha256, residues: &[u64]) {
    for r in residues {
        h.update(r.to_le_bytes());
    }
}

// ---------------------------------------------------------------------------------------------
// Plaintext stand-ins
// ---------------------------------------------------------------------------------------------

/// A clear vector standing in for a ciphertext.
#[derive(Clone, Debug, PartialEq)]
pub struct PlainCt<V>(pub Vec<V>);

/// Plaintext stand-in for BFV: exact integers, reduced (centred) modulo `t` after every
/// operation exactly as BFV would, with `rows` rows of `slots/rows`.
#[derive(Debug)]
pub struct PlainInt {
    slots: usize,
    rows: usize,
    t: u64,
    counter: OpCounter,
}

impl PlainInt {
    /// A stand-in with `slots` slots in `rows` (1 or 2) rows, arithmetic modulo `t`.
    ///
    /// # Errors
    /// `rows` not 1 or 2 or not dividing `slots`, `t < 2`.
    pub fn new(slots: usize, rows: usize, t: u64) -> Result<Self> {
        if !(rows == 1 || rows == 2) || slots == 0 || !slots.is_multiple_of(rows) || t < 2 {
            return Err(Error::Analytics {
                reason: "plain stand-in needs 1 or 2 rows dividing the slot count and t >= 2"
                    .into(),
            });
        }
        Ok(Self {
            slots,
            rows,
            t,
            counter: OpCounter::default(),
        })
    }

    /// The stand-in of a BFV parameter set (same slots, rows and `t`).
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn like_bfv(params: &bfv::Parameters) -> Result<Self> {
        Self::new(params.degree(), 2, params.plaintext_modulus())
    }

    fn reduce(&self, x: i128) -> i64 {
        let t = i128::from(self.t);
        let mut r = x.rem_euclid(t);
        if r > t / 2 {
            r -= t;
        }
        #[allow(clippy::cast_possible_truncation)]
        let r = r as i64;
        r
    }

    /// Encrypts (copies and reduces) `values`.
    ///
    /// # Errors
    /// More values than slots.
    pub fn encode(&self, values: &[i64]) -> Result<PlainCt<i64>> {
        if values.len() > self.slots {
            return Err(too_long(values.len(), self.slots));
        }
        let mut v = vec![0i64; self.slots];
        for (d, &s) in v.iter_mut().zip(values) {
            *d = self.reduce(i128::from(s));
        }
        Ok(PlainCt(v))
    }
}

/// Plaintext stand-in for CKKS: `f64` slots, one row.
#[derive(Debug)]
pub struct PlainReal {
    slots: usize,
    counter: OpCounter,
}

impl PlainReal {
    /// A stand-in with `slots` slots.
    pub fn new(slots: usize) -> Self {
        Self {
            slots,
            counter: OpCounter::default(),
        }
    }

    /// Copies `values` into a stand-in ciphertext.
    ///
    /// # Errors
    /// More values than slots.
    pub fn encode(&self, values: &[f64]) -> Result<PlainCt<f64>> {
        if values.len() > self.slots {
            return Err(too_long(values.len(), self.slots));
        }
        let mut v = vec![0.0; self.slots];
        v[..values.len()].copy_from_slice(values);
        Ok(PlainCt(v))
    }
}

fn rotate_rows_vec<V: Copy>(v: &[V], row_len: usize, k: usize) -> Vec<V> {
    let mut out = Vec::with_capacity(v.len());
    for row in v.chunks(row_len) {
        out.extend_from_slice(&row[k % row_len..]);
        out.extend_from_slice(&row[..k % row_len]);
    }
    out
}

impl SlotBackend for PlainInt {
    type Ct = PlainCt<i64>;
    type Value = i64;
    fn describe(&self) -> String {
        format!(
            "plain-int(slots={},rows={},t={})",
            self.slots, self.rows, self.t
        )
    }
    fn slots(&self) -> usize {
        self.slots
    }
    fn row_len(&self) -> usize {
        self.slots / self.rows
    }
    fn add(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct> {
        self.counter.add();
        Ok(PlainCt(
            a.0.iter()
                .zip(&b.0)
                .map(|(&x, &y)| self.reduce(i128::from(x) + i128::from(y)))
                .collect(),
        ))
    }
    fn sub(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct> {
        self.counter.add();
        Ok(PlainCt(
            a.0.iter()
                .zip(&b.0)
                .map(|(&x, &y)| self.reduce(i128::from(x) - i128::from(y)))
                .collect(),
        ))
    }
    fn add_plain(&self, a: &Self::Ct, v: &[i64]) -> Result<Self::Ct> {
        let p = self.encode(v)?;
        self.counter.add();
        Ok(PlainCt(
            a.0.iter()
                .zip(&p.0)
                .map(|(&x, &y)| self.reduce(i128::from(x) + i128::from(y)))
                .collect(),
        ))
    }
    fn mul_plain(&self, a: &Self::Ct, v: &[i64]) -> Result<Self::Ct> {
        let p = self.encode(v)?;
        self.counter.plain_mul();
        Ok(PlainCt(
            a.0.iter()
                .zip(&p.0)
                .map(|(&x, &y)| self.reduce(i128::from(x) * i128::from(y)))
                .collect(),
        ))
    }
    fn mul(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct> {
        self.counter.ct_mul();
        Ok(PlainCt(
            a.0.iter()
                .zip(&b.0)
                .map(|(&x, &y)| self.reduce(i128::from(x) * i128::from(y)))
                .collect(),
        ))
    }
    fn rotate(&self, a: &Self::Ct, k: usize) -> Result<Self::Ct> {
        self.counter.rotation(k % self.row_len());
        Ok(PlainCt(rotate_rows_vec(&a.0, self.row_len(), k)))
    }
    fn swap_rows(&self, a: &Self::Ct) -> Result<Self::Ct> {
        if self.rows != 2 {
            return Err(Error::Analytics {
                reason: "row swap needs a two-row layout".into(),
            });
        }
        self.counter.swap();
        let h = self.slots / 2;
        let mut v = a.0[h..].to_vec();
        v.extend_from_slice(&a.0[..h]);
        Ok(PlainCt(v))
    }
    fn digest(&self, a: &Self::Ct) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"plain-int");
        for x in &a.0 {
            h.update(x.to_le_bytes());
        }
        h.finalize().into()
    }
    fn counter(&self) -> &OpCounter {
        &self.counter
    }
}

impl Encryptor<PlainInt> for PlainInt {
    fn encrypt<R: RngCore + CryptoRng>(
        &self,
        values: &[i64],
        _rng: &mut R,
    ) -> Result<PlainCt<i64>> {
        self.encode(values)
    }
}
impl Decryptor<PlainInt> for PlainInt {
    fn decrypt(&self, ct: &PlainCt<i64>) -> Result<Vec<i64>> {
        Ok(ct.0.clone())
    }
}

impl SlotBackend for PlainReal {
    type Ct = PlainCt<f64>;
    type Value = f64;
    fn describe(&self) -> String {
        format!("plain-real(slots={})", self.slots)
    }
    fn slots(&self) -> usize {
        self.slots
    }
    fn row_len(&self) -> usize {
        self.slots
    }
    fn add(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct> {
        self.counter.add();
        Ok(PlainCt(a.0.iter().zip(&b.0).map(|(x, y)| x + y).collect()))
    }
    fn sub(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct> {
        self.counter.add();
        Ok(PlainCt(a.0.iter().zip(&b.0).map(|(x, y)| x - y).collect()))
    }
    fn add_plain(&self, a: &Self::Ct, v: &[f64]) -> Result<Self::Ct> {
        let p = self.encode(v)?;
        self.counter.add();
        Ok(PlainCt(a.0.iter().zip(&p.0).map(|(x, y)| x + y).collect()))
    }
    fn mul_plain(&self, a: &Self::Ct, v: &[f64]) -> Result<Self::Ct> {
        let p = self.encode(v)?;
        self.counter.plain_mul();
        Ok(PlainCt(a.0.iter().zip(&p.0).map(|(x, y)| x * y).collect()))
    }
    fn mul(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct> {
        self.counter.ct_mul();
        Ok(PlainCt(a.0.iter().zip(&b.0).map(|(x, y)| x * y).collect()))
    }
    fn rotate(&self, a: &Self::Ct, k: usize) -> Result<Self::Ct> {
        self.counter.rotation(k % self.slots);
        Ok(PlainCt(rotate_rows_vec(&a.0, self.slots, k)))
    }
    fn swap_rows(&self, _a: &Self::Ct) -> Result<Self::Ct> {
        Err(Error::Analytics {
            reason: "CKKS has one row of slots: no row swap".into(),
        })
    }
    fn inverse_sqrt(&self, a: &Self::Ct, lo: f64, hi: f64, _bits: u32) -> Result<Self::Ct> {
        self.inv_sqrt(a, lo, hi)
    }
    fn digest(&self, a: &Self::Ct) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"plain-real");
        for x in &a.0 {
            h.update(x.to_bits().to_le_bytes());
        }
        h.finalize().into()
    }
    fn counter(&self) -> &OpCounter {
        &self.counter
    }
}

impl PlainReal {
    fn inv_sqrt(&self, a: &PlainCt<f64>, lo: f64, hi: f64) -> Result<PlainCt<f64>> {
        if !(lo > 0.0 && hi > lo) {
            return Err(Error::Analytics {
                reason: "inverse square root needs 0 < lo < hi".into(),
            });
        }
        self.counter.ct_mul();
        Ok(PlainCt(
            a.0.iter().map(|&x| 1.0 / x.clamp(lo, hi).sqrt()).collect(),
        ))
    }
}

impl Encryptor<PlainReal> for PlainReal {
    fn encrypt<R: RngCore + CryptoRng>(
        &self,
        values: &[f64],
        _rng: &mut R,
    ) -> Result<PlainCt<f64>> {
        self.encode(values)
    }
}
impl Decryptor<PlainReal> for PlainReal {
    fn decrypt(&self, ct: &PlainCt<f64>) -> Result<Vec<f64>> {
        Ok(ct.0.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// BFV
// ---------------------------------------------------------------------------------------------

/// The computation node's BFV backend: parameters and evaluation keys (Galois keys for the
/// rotations the analyses use, optionally a relinearisation key), no secret.
#[derive(Debug)]
pub struct BfvBackend {
    params: Arc<bfv::Parameters>,
    ev: bfv::Evaluator,
    galois: bfv::GaloisKeys,
    rlk: Option<RelinearizationKey>,
    counter: OpCounter,
}

impl BfvBackend {
    /// A backend over `params` with the given evaluation keys.
    pub fn new(
        params: &Arc<bfv::Parameters>,
        galois: bfv::GaloisKeys,
        rlk: Option<RelinearizationKey>,
    ) -> Self {
        Self {
            params: Arc::clone(params),
            ev: bfv::Evaluator::new(params),
            galois,
            rlk,
            counter: OpCounter::default(),
        }
    }

    /// The parameters.
    pub fn params(&self) -> &Arc<bfv::Parameters> {
        &self.params
    }
}

impl SlotBackend for BfvBackend {
    type Ct = bfv::Ciphertext;
    type Value = i64;
    fn describe(&self) -> String {
        format!(
            "bfv(n={},t={},L={})",
            self.params.degree(),
            self.params.plaintext_modulus(),
            self.params.max_level()
        )
    }
    fn slots(&self) -> usize {
        self.params.degree()
    }
    fn row_len(&self) -> usize {
        self.params.degree() / 2
    }
    fn add(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct> {
        self.counter.add();
        self.ev.add(a, b)
    }
    fn sub(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct> {
        self.counter.add();
        self.ev.sub(a, b)
    }
    fn add_plain(&self, a: &Self::Ct, v: &[i64]) -> Result<Self::Ct> {
        self.counter.add();
        let p = bfv::Plaintext::encode_signed(&self.params, v)?;
        self.ev.add_plain(a, &p)
    }
    fn mul_plain(&self, a: &Self::Ct, v: &[i64]) -> Result<Self::Ct> {
        self.counter.plain_mul();
        let p = bfv::Plaintext::encode_signed(&self.params, v)?;
        self.ev.mul_plain(a, &p)
    }
    fn mul(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct> {
        self.counter.ct_mul();
        let rlk = self.rlk.as_ref().ok_or(Error::InvalidOperation {
            reason: "this analysis multiplies ciphertexts: give the backend a relinearisation key",
        })?;
        self.ev.multiply_relin(a, b, rlk)
    }
    fn rotate(&self, a: &Self::Ct, k: usize) -> Result<Self::Ct> {
        self.counter.rotation(k % self.row_len());
        self.ev.rotate_rows(a, as_i64(k), &self.galois)
    }
    fn rotate_many(&self, a: &Self::Ct, ks: &[usize]) -> Result<Vec<Self::Ct>> {
        for &k in ks {
            self.counter.rotation(k % self.row_len());
        }
        let steps: Vec<i64> = ks.iter().map(|&k| as_i64(k)).collect();
        self.ev.rotate_rows_hoisted(a, &steps, &self.galois)
    }
    fn swap_rows(&self, a: &Self::Ct) -> Result<Self::Ct> {
        self.counter.swap();
        self.ev.rotate_columns(a, &self.galois)
    }
    fn digest(&self, a: &Self::Ct) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"bfv-ct-v1");
        h.update((a.level() as u64).to_le_bytes());
        h.update((a.polys().len() as u64).to_le_bytes());
        for p in a.polys() {
            hash_residues(&mut h, p.residues());
        }
        h.finalize().into()
    }
    fn counter(&self) -> &OpCounter {
        &self.counter
    }
}

/// BFV public-key encryption of slot vectors (an agency's role).
#[derive(Clone, Debug)]
pub struct BfvEncryptor {
    params: Arc<bfv::Parameters>,
    pk: bfv::PublicKey,
}

impl BfvEncryptor {
    /// An encryptor under `pk` (the collective public key in deployments).
    pub fn new(params: &Arc<bfv::Parameters>, pk: bfv::PublicKey) -> Self {
        Self {
            params: Arc::clone(params),
            pk,
        }
    }
}

impl Encryptor<BfvBackend> for BfvEncryptor {
    fn encrypt<R: RngCore + CryptoRng>(
        &self,
        values: &[i64],
        rng: &mut R,
    ) -> Result<bfv::Ciphertext> {
        let p = bfv::Plaintext::encode_signed(&self.params, values)?;
        bfv::Ciphertext::encrypt_pk(&self.pk, &p, rng)
    }
}

/// Single-key BFV decryption (tests and single-party use; the threshold module provides the
/// collective one).
#[derive(Debug)]
pub struct BfvSecretKeyDecryptor {
    sk: SecretKey,
}

impl BfvSecretKeyDecryptor {
    /// Wraps the secret key.
    pub fn new(sk: SecretKey) -> Self {
        Self { sk }
    }
}

impl Decryptor<BfvBackend> for BfvSecretKeyDecryptor {
    fn decrypt(&self, ct: &bfv::Ciphertext) -> Result<Vec<i64>> {
        ct.decrypt(&self.sk)?.decode_signed()
    }
}

fn as_i64(k: usize) -> i64 {
    i64::try_from(k).unwrap_or(i64::MAX)
}

// ---------------------------------------------------------------------------------------------
// CKKS
// ---------------------------------------------------------------------------------------------

/// The computation node's CKKS backend: parameters, Galois keys and a relinearisation key.
/// Plaintext products are followed by a rescale (one level each).
#[derive(Debug)]
pub struct CkksBackend {
    params: Arc<ckks::Parameters>,
    ev: ckks::Evaluator,
    galois: ckks::GaloisKeys,
    rlk: Option<RelinearizationKey>,
    counter: OpCounter,
}

impl CkksBackend {
    /// A backend over `params` with the given evaluation keys.
    pub fn new(
        params: &Arc<ckks::Parameters>,
        galois: ckks::GaloisKeys,
        rlk: Option<RelinearizationKey>,
    ) -> Self {
        Self {
            params: Arc::clone(params),
            ev: ckks::Evaluator::new(params),
            galois,
            rlk,
            counter: OpCounter::default(),
        }
    }

    /// The parameters.
    pub fn params(&self) -> &Arc<ckks::Parameters> {
        &self.params
    }

    /// The evaluator (for polynomial evaluation on outputs).
    pub fn evaluator(&self) -> &ckks::Evaluator {
        &self.ev
    }

    /// The relinearisation key, if any.
    pub fn relin_key(&self) -> Option<&RelinearizationKey> {
        self.rlk.as_ref()
    }

    fn pad(&self, v: &[f64]) -> Result<Vec<f64>> {
        if v.len() > self.params.slots() {
            return Err(too_long(v.len(), self.params.slots()));
        }
        let mut out = vec![0.0; self.params.slots()];
        out[..v.len()].copy_from_slice(v);
        Ok(out)
    }
}

impl SlotBackend for CkksBackend {
    type Ct = ckks::Ciphertext;
    type Value = f64;
    fn describe(&self) -> String {
        format!(
            "ckks(n={},depth={},scale=2^{})",
            self.params.degree(),
            self.params.depth(),
            self.params.scale_bits()
        )
    }
    fn slots(&self) -> usize {
        self.params.slots()
    }
    fn row_len(&self) -> usize {
        self.params.slots()
    }
    fn add(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct> {
        self.counter.add();
        self.ev.add(a, b)
    }
    fn sub(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct> {
        self.counter.add();
        self.ev.sub(a, b)
    }
    fn add_plain(&self, a: &Self::Ct, v: &[f64]) -> Result<Self::Ct> {
        self.counter.add();
        let p = self
            .params
            .encode_real(&self.pad(v)?, a.level(), a.scale())?;
        self.ev.add_plain(a, &p)
    }
    fn mul_plain(&self, a: &Self::Ct, v: &[f64]) -> Result<Self::Ct> {
        self.counter.plain_mul();
        // The plaintext scale that the rescale after the product brings back to the canonical
        // scale of the level below (one prime, or `k` with composite scaling).
        let l = a.level();
        let below = self.params.rescale_level(l)?;
        let q = self.params.rescale_divisor(l)?;
        let scale = self.params.scale_at(below)? * q / a.scale();
        let p = self.params.encode_real(&self.pad(v)?, l, scale)?;
        let mut c = self.ev.mul_plain(a, &p)?;
        self.ev.rescale_assign(&mut c)?;
        Ok(c)
    }
    fn mul(&self, a: &Self::Ct, b: &Self::Ct) -> Result<Self::Ct> {
        self.counter.ct_mul();
        let rlk = self.rlk.as_ref().ok_or(Error::InvalidOperation {
            reason: "this analysis multiplies ciphertexts: give the backend a relinearisation key",
        })?;
        self.ev.mul_relin_rescale(a, b, rlk)
    }
    fn rotate(&self, a: &Self::Ct, k: usize) -> Result<Self::Ct> {
        self.counter.rotation(k % self.row_len());
        self.ev.rotate(a, as_i64(k), &self.galois)
    }
    fn rotate_many(&self, a: &Self::Ct, ks: &[usize]) -> Result<Vec<Self::Ct>> {
        for &k in ks {
            self.counter.rotation(k % self.row_len());
        }
        let steps: Vec<i64> = ks.iter().map(|&k| as_i64(k)).collect();
        self.ev.rotate_hoisted(a, &steps, &self.galois)
    }
    fn swap_rows(&self, _a: &Self::Ct) -> Result<Self::Ct> {
        Err(Error::Analytics {
            reason: "CKKS has one row of slots: no row swap".into(),
        })
    }
    fn digest(&self, a: &Self::Ct) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"ckks-ct-v1");
        h.update((a.level() as u64).to_le_bytes());
        h.update(a.scale().to_bits().to_le_bytes());
        h.update((a.parts().len() as u64).to_le_bytes());
        for p in a.parts() {
            hash_residues(&mut h, p.residues());
        }
        h.finalize().into()
    }
    fn inverse_sqrt(&self, a: &Self::Ct, lo: f64, hi: f64, bits: u32) -> Result<Self::Ct> {
        self.counter.ct_mul();
        let rlk = self.rlk.as_ref().ok_or(Error::InvalidOperation {
            reason: "polynomial evaluation needs a relinearisation key",
        })?;
        self.ev
            .inverse_sqrt(a, ckks::Interval::new(lo, hi)?, bits, rlk)
    }
    fn levels_left(&self, a: &Self::Ct) -> usize {
        self.params.depth_left(a.level())
    }
    fn declare_bound(&self, a: &Self::Ct, bound: f64) -> Result<Self::Ct> {
        check_bound(bound)?;
        let mut c = a.clone();
        if bound < c.estimate().message_bound() {
            c.set_message_bound(bound);
        }
        Ok(c)
    }
    fn counter(&self) -> &OpCounter {
        &self.counter
    }
}

/// CKKS public-key encryption of real slot vectors at the top level (an agency's role).
#[derive(Clone, Debug)]
pub struct CkksEncryptor {
    params: Arc<ckks::Parameters>,
    pk: ckks::PublicKey,
}

impl CkksEncryptor {
    /// An encryptor under `pk`.
    pub fn new(params: &Arc<ckks::Parameters>, pk: ckks::PublicKey) -> Self {
        Self {
            params: Arc::clone(params),
            pk,
        }
    }
}

impl Encryptor<CkksBackend> for CkksEncryptor {
    fn encrypt<R: RngCore + CryptoRng>(
        &self,
        values: &[f64],
        rng: &mut R,
    ) -> Result<ckks::Ciphertext> {
        let l = self.params.max_level();
        let scale = self.params.scale_at(l)?;
        ckks::encode_encrypt_real(&self.params, &self.pk, values, l, scale, rng)
    }
}

/// Single-key CKKS decryption (real parts of the slots).
#[derive(Debug)]
pub struct CkksSecretKeyDecryptor {
    params: Arc<ckks::Parameters>,
    sk: SecretKey,
}

impl CkksSecretKeyDecryptor {
    /// Wraps the secret key.
    pub fn new(params: &Arc<ckks::Parameters>, sk: SecretKey) -> Self {
        Self {
            params: Arc::clone(params),
            sk,
        }
    }
}

impl Decryptor<CkksBackend> for CkksSecretKeyDecryptor {
    fn decrypt(&self, ct: &ckks::Ciphertext) -> Result<Vec<f64>> {
        let pt = ckks::decrypt(&self.params, &self.sk, ct)?;
        Ok(self.params.decode(&pt)?.iter().map(|z| z.re).collect())
    }
}
