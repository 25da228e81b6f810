//! Negacyclic number-theoretic transform over `Z_q[X]/(X^n + 1)`.
//!
//! [`NttPlan::forward`] maps the coefficients `a_0, …, a_{n-1}` (natural order) to the
//! evaluations `â_i = a(psi^(2·brv(i) + 1))`, stored in **bit-reversed order** (`brv` reverses
//! `log2 n` bits), where `psi` is the **smallest** primitive `2n`-th root of unity modulo `q`.
//! [`NttPlan::inverse`] undoes it, the factor `1/n` included. Every value returned is canonical,
//! in `[0, q)`. Multiplying two forward transforms slot by slot and applying `inverse` gives the
//! negacyclic product.
//!
//! The forward transform is the merged Cooley–Tukey NTT with the `psi` powers folded into the
//! twiddles, the inverse the matching Gentleman–Sande one (Longa and Naehrig, "Speeding up the
//! Number Theoretic Transform for Faster Ideal Lattice-Based Cryptography", CANS 2016,
//! Algorithms 1 and 2). Butterflies are Harvey's lazy ones with Shoup twiddles (Harvey, "Faster
//! arithmetic for number-theoretic transforms", J. Symb. Comp. 2014): values stay in `[0, 4q)`
//! (forward) or `[0, 2q)` (inverse) between stages and are reduced once at the end, which is why
//! moduli are bounded by `2^62`.
//!
//! ## Backends
//! A plan picks one [`Backend`] when it is built, from run-time CPU detection and the size of
//! `q` (or from `MIGRATIONFHE_BACKEND`). All backends compute the same transform and return fully
//! reduced values, so their outputs are bit-identical; `tests/backends.rs` checks this on every
//! backend the CPU offers. Only the SIMD kernel files `avx2.rs`, `avx512.rs`, `ifma.rs` and
//! `lanes.rs` may use `unsafe`.
//!
//! `lanes.rs` holds IFMA kernels for the ring's element-wise work (pointwise products,
//! multiply-accumulate, RNS dot products) modulo primes below `2^50`; a plan on the IFMA backend
//! carries them, and `math::poly`, `math::rns` and key switching use them where every operand
//! fits. They return the same canonical values as the portable loops.

use crate::error::{Error, Result};
use crate::math::modulus::Modulus;
use crate::math::primes::minimal_primitive_root;
use core::fmt;
use core::str::FromStr;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod ifma;
#[cfg(target_arch = "x86_64")]
mod lanes;
mod scalar;

#[cfg(target_arch = "x86_64")]
pub(crate) use lanes::Lanes;

/// Stand-in for the IFMA element-wise kernels where they cannot exist: never constructed.
#[cfg(not(target_arch = "x86_64"))]
#[derive(Clone, Copy, Debug)]
pub(crate) enum Lanes {}

#[cfg(not(target_arch = "x86_64"))]
#[allow(clippy::unused_self, dead_code)]
impl Lanes {
    pub(crate) fn mul_assign(&self, _: &mut [u64], _: &[u64]) {
        match *self {}
    }
    pub(crate) fn mul_add_assign(&self, _: &mut [u64], _: &[u64], _: &[u64]) {
        match *self {}
    }
    pub(crate) fn dot(&self, _: &mut [u64], _: &[u64], _: usize, _: &[u64], _: u64) {
        match *self {}
    }
    pub(crate) fn tensor_assign(&self, _: &mut [u64], _: &mut [u64], _: &mut [u64], _: &[u64]) {
        match *self {}
    }
    pub(crate) fn companion(&self, _: u64) -> u64 {
        match *self {}
    }
    pub(crate) fn mul_const(&self, _: &mut [u64], _: &[u64], _: u64, _: u64) {
        match *self {}
    }
    pub(crate) fn mul_const_assign(&self, _: &mut [u64], _: u64, _: u64) {
        match *self {}
    }
    pub(crate) fn sub_mul_const_assign(&self, _: &mut [u64], _: &[u64], _: u64, _: u64) {
        match *self {}
    }
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn rescale(
        &self,
        _: &mut [u64],
        _: &[u64],
        _: &[u64],
        _: u64,
        _: u64,
        _: u64,
        _: u64,
        _: bool,
    ) {
        match *self {}
    }
    pub(crate) fn dot2(
        &self,
        _: &mut [u64],
        _: &mut [u64],
        _: &[&[u64]],
        _: &[&[u64]],
        _: &[&[u64]],
    ) {
        match *self {}
    }
}

/// The IFMA element-wise kernels for `q`, when the NTT backend chosen for `q` (run-time
/// detection or `MIGRATIONFHE_BACKEND`, as for [`NttPlan::new`]) is [`Backend::Ifma`]; `None`
/// otherwise (the portable loops then run). Both compute the same canonical values.
pub(crate) fn lanes_for(q: &Modulus) -> Option<Lanes> {
    if Backend::detect(q).ok()? != Backend::Ifma {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        ifma::Ifma::detect().map(|t| Lanes::new(t, q.value()))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// `dst[i] = src[perm[i]]` (`add = None`), or `dst[i] = (dst[i] + src[perm[i]]) mod q`
/// (`add = Some(q)`, canonical inputs below `q < 2^62`): the slot permutation of an automorphism
/// in NTT form, optionally fused with an addition. `perm` must map every aligned block of eight
/// slots into one aligned block of `src`, lane `i mod 8` from lane `perm[i] mod 8` (the case of
/// `X -> X^k` in bit-reversed order: the top three bits of a slot index are the low three of
/// its evaluation exponent's index, on which multiplication by an odd `k` acts within blocks);
/// lengths below eight slots have no such blocks and any permutation works. With AVX-512F the
/// kernel moves whole blocks (`avx512.rs`); otherwise a scalar gather, the same values.
pub(crate) fn permute_slots(dst: &mut [u64], src: &[u64], perm: &[u32], add: Option<u64>) {
    debug_assert!(dst.len() == perm.len() && src.len() == perm.len());
    debug_assert!(
        perm.len() < 8
            || perm
                .chunks_exact(8)
                .all(|b| b.iter().all(|&p| p >> 3 == b[0] >> 3)),
        "permutation does not move whole blocks of eight"
    );
    #[cfg(target_arch = "x86_64")]
    if perm.len() >= 8 && !force_scalar_permute() {
        if let Some(t) = avx512::Avx512::detect() {
            return t.permute_blocks(dst, src, perm, add);
        }
    }
    permute_slots_scalar(dst, src, perm, add);
}

/// Whether `MIGRATIONFHE_BACKEND=scalar` asks for the portable loops (read once).
#[cfg(target_arch = "x86_64")]
fn force_scalar_permute() -> bool {
    static SCALAR: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SCALAR.get_or_init(|| {
        std::env::var(BACKEND_ENV).is_ok_and(|b| b.trim().eq_ignore_ascii_case("scalar"))
    })
}

/// The portable [`permute_slots`].
fn permute_slots_scalar(dst: &mut [u64], src: &[u64], perm: &[u32], add: Option<u64>) {
    for (d, &p) in dst.iter_mut().zip(perm) {
        let v = src[p as usize];
        *d = match add {
            Some(q) => {
                let s = *d + v;
                s.min(s.wrapping_sub(q))
            }
            None => v,
        };
    }
}

/// The automorphism `X -> X^k` (`k` odd) of one limb in coefficient form modulo `q < 2^63`:
/// `dst = src(X^k)` or, with `add`, `dst += src(X^k)` (canonical values; `src` and `dst` of the
/// same power-of-two length `n`). Written as a gather with sequential stores: `dst[j]` takes
/// `src[i]` for `i·k ≡ j` or `j + n (mod 2n)`, negated in the second case (`X^n = -1`), i.e.
/// `i = j·k^-1 mod 2n` reduced below `n`. With AVX-512F eight at a time (`avx512.rs`, one
/// `vpgatherqq`), otherwise one by one; the same values either way.
pub(crate) fn automorphism_coeff(dst: &mut [u64], src: &[u64], k: u64, q: u64, add: bool) {
    let n = src.len();
    debug_assert!(n == dst.len() && n.is_power_of_two() && k % 2 == 1);
    let k_inv = galois_inverse(k, n);
    #[cfg(target_arch = "x86_64")]
    if n >= 8 && !force_scalar_permute() {
        if let Some(t) = avx512::Avx512::detect() {
            return t.automorphism_coeff(dst, src, k_inv, q, add);
        }
    }
    automorphism_coeff_scalar(dst, src, k_inv, q, add);
}

/// The inverse of an odd `k` modulo `2n` (`n` a power of two): the step between the source
/// indices of consecutive outputs of the coefficient automorphism `X -> X^k`.
pub(crate) fn galois_inverse(k: u64, n: usize) -> usize {
    debug_assert!(k % 2 == 1 && n.is_power_of_two());
    // The inverse of an odd k modulo 2^64 (Newton: each step doubles the correct low bits).
    let mut inv = k;
    for _ in 0..6 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(k.wrapping_mul(inv)));
    }
    // Only the low bits matter (2n <= 2^18).
    #[allow(clippy::cast_possible_truncation)]
    let k_inv = (inv & (2 * n as u64 - 1)) as usize;
    k_inv
}

/// The portable [`automorphism_coeff`] (`k_inv` the inverse of `k` modulo `2n`).
fn automorphism_coeff_scalar(dst: &mut [u64], src: &[u64], k_inv: usize, q: u64, add: bool) {
    let n = src.len();
    let mask = 2 * n - 1;
    let mut e = 0usize;
    for d in dst.iter_mut() {
        let x = src[e & (n - 1)];
        let v = if e >= n && x != 0 { q - x } else { x };
        *d = if add {
            let s = *d + v;
            s.min(s.wrapping_sub(q))
        } else {
            v
        };
        e = (e + k_inv) & mask;
    }
}

/// Smallest supported transform length.
pub const MIN_DEGREE: usize = 2;
/// Largest supported transform length.
pub const MAX_DEGREE: usize = 1 << 17;
/// Environment variable that forces a backend (`scalar`, `avx2`, `avx512` or `ifma`).
pub const BACKEND_ENV: &str = "MIGRATIONFHE_BACKEND";

/// Kernel family used by an [`NttPlan`]; chosen once, when the plan is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Backend {
    /// Portable Rust; the reference every other backend is tested against.
    Scalar,
    /// AVX2, four 64-bit lanes (q < 2^62).
    Avx2,
    /// AVX-512F/DQ, eight 64-bit lanes (q < 2^62).
    Avx512,
    /// AVX-512 IFMA52, eight lanes of 52-bit multiply-accumulate (q < 2^50).
    Ifma,
}

impl Backend {
    /// Every backend, fastest last.
    pub const ALL: [Backend; 4] = [
        Backend::Scalar,
        Backend::Avx2,
        Backend::Avx512,
        Backend::Ifma,
    ];

    /// The backend's lower-case name, as `MIGRATIONFHE_BACKEND` spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            Backend::Avx2 => "avx2",
            Backend::Avx512 => "avx512",
            Backend::Ifma => "ifma",
        }
    }

    /// Largest modulus bit size the backend accepts (`q < 2^max_bits`).
    pub const fn max_modulus_bits(self) -> u32 {
        match self {
            Backend::Ifma => 50,
            _ => 62,
        }
    }

    /// Whether this CPU has the instructions the backend needs.
    pub fn cpu_supports(self) -> bool {
        match self {
            Backend::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => avx2::Avx2::detect().is_some(),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512 => avx512::Avx512::detect().is_some(),
            #[cfg(target_arch = "x86_64")]
            Backend::Ifma => ifma::Ifma::detect().is_some(),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Checks that the backend can run here for modulus `q`.
    ///
    /// # Errors
    /// [`Error::BackendUnavailable`] naming the reason.
    pub fn check(self, q: &Modulus) -> Result<()> {
        if !self.cpu_supports() {
            return Err(Error::BackendUnavailable {
                backend: self.name().into(),
                reason: "this CPU lacks the required instructions",
            });
        }
        if q.bits() > self.max_modulus_bits() {
            return Err(Error::BackendUnavailable {
                backend: self.name().into(),
                reason: if self == Backend::Ifma {
                    "modulus must be below 2^50"
                } else {
                    "modulus must be below 2^62"
                },
            });
        }
        Ok(())
    }

    /// Every backend this CPU can run for `q`, [`Backend::Scalar`] first. The equivalence tests
    /// iterate over this.
    pub fn available(q: &Modulus) -> Vec<Backend> {
        Self::ALL
            .into_iter()
            .filter(|b| b.check(q).is_ok())
            .collect()
    }

    /// The fastest backend for `q` on this CPU, unless `MIGRATIONFHE_BACKEND` forces one.
    ///
    /// # Errors
    /// [`Error::BackendUnavailable`] if the variable names an unknown backend or one that cannot
    /// run here for `q` (never a silent fallback).
    pub fn detect(q: &Modulus) -> Result<Backend> {
        match std::env::var(BACKEND_ENV) {
            Ok(name) if !name.trim().is_empty() => {
                let b: Backend = name.parse()?;
                b.check(q)?;
                Ok(b)
            }
            _ => Ok(Self::available(q)
                .into_iter()
                .next_back()
                .unwrap_or(Backend::Scalar)),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::BackendUnavailable {
                backend: s.chars().take(32).collect(),
                reason: "unknown backend (expected scalar, avx2, avx512 or ifma)",
            })
    }
}

/// Precomputed tables every backend starts from.
#[derive(Clone, Debug)]
pub(crate) struct Tables {
    pub(crate) n: usize,
    /// `log2(n)`.
    pub(crate) log_n: u32,
    pub(crate) q: Modulus,
    /// `fwd[k] = psi^brv(k)` for `k` in `[0, n)` (Cooley–Tukey order; `fwd[0] = 1` is unused).
    pub(crate) fwd: Vec<u64>,
    /// Shoup companions `floor(fwd[k] 2^64 / q)`.
    pub(crate) fwd_shoup: Vec<u64>,
    /// `inv[k] = psi^-brv(k)` for `k` in `[0, n)` (Gentleman–Sande order; `inv[0]` is unused).
    pub(crate) inv: Vec<u64>,
    /// Shoup companions of `inv`.
    pub(crate) inv_shoup: Vec<u64>,
    /// `n^-1 mod q` and its Shoup companion.
    pub(crate) n_inv: u64,
    pub(crate) n_inv_shoup: u64,
}

pub(crate) fn bit_reverse(x: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        x.reverse_bits() >> (usize::BITS - bits)
    }
}

impl Tables {
    fn new(n: usize, q: Modulus) -> Result<Self> {
        let psi = minimal_primitive_root(n, q.value())?;
        let psi_inv = q.inv(psi)?;
        let log_n = n.trailing_zeros();
        let mut pow = vec![0u64; n];
        let mut pow_inv = vec![0u64; n];
        let (mut p, mut pi) = (1u64, 1u64);
        for k in 0..n {
            pow[k] = p;
            pow_inv[k] = pi;
            p = q.mul(p, psi);
            pi = q.mul(pi, psi_inv);
        }
        let fwd: Vec<u64> = (0..n).map(|k| pow[bit_reverse(k, log_n)]).collect();
        let inv: Vec<u64> = (0..n).map(|k| pow_inv[bit_reverse(k, log_n)]).collect();
        let fwd_shoup = fwd.iter().map(|&w| q.shoup(w)).collect();
        let inv_shoup = inv.iter().map(|&w| q.shoup(w)).collect();
        let n_inv = q.inv(n as u64 % q.value())?;
        Ok(Self {
            n,
            log_n,
            q,
            fwd,
            fwd_shoup,
            inv,
            inv_shoup,
            n_inv,
            n_inv_shoup: q.shoup(n_inv),
        })
    }
}

/// The backend-specific state of a plan.
#[derive(Clone, Debug)]
enum Kernel {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2(avx2::Avx2Tables),
    #[cfg(target_arch = "x86_64")]
    Avx512(avx512::Avx512Tables),
    #[cfg(target_arch = "x86_64")]
    Ifma(ifma::IfmaTables),
}

/// A negacyclic NTT of length `n` modulo a prime `q = 1 (mod 2n)`, `q < 2^62`.
///
/// Holds the twiddle tables and the backend chosen at construction; share it through `Arc`.
#[derive(Clone, Debug)]
pub struct NttPlan {
    tables: Tables,
    kernel: Kernel,
    backend: Backend,
    /// The IFMA element-wise kernels for this prime, present exactly when the backend is IFMA.
    lanes: Option<Lanes>,
}

impl NttPlan {
    /// Plans a transform of length `n` modulo `q` on the fastest backend for this CPU and `q`
    /// (or the one `MIGRATIONFHE_BACKEND` forces).
    ///
    /// # Errors
    /// [`Error::InvalidDegree`] if `n` is not a power of two in `[2, 2^17]`;
    /// [`Error::InvalidModulus`] if `q` is not a prime below `2^62` or `q != 1 (mod 2n)`;
    /// [`Error::BackendUnavailable`] if a forced backend cannot run.
    pub fn new(n: usize, q: u64) -> Result<Self> {
        let m = Modulus::new(q)?;
        let backend = Backend::detect(&m)?;
        Self::with_backend(n, q, backend)
    }

    /// Plans a transform on a named backend (tests, benches and bug reports).
    ///
    /// # Errors
    /// As [`NttPlan::new`], and [`Error::BackendUnavailable`] if `backend` cannot run here for `q`.
    pub fn with_backend(n: usize, q: u64, backend: Backend) -> Result<Self> {
        if !n.is_power_of_two() || !(MIN_DEGREE..=MAX_DEGREE).contains(&n) {
            return Err(Error::InvalidDegree {
                degree: n,
                min: MIN_DEGREE,
                max: MAX_DEGREE,
            });
        }
        let m = Modulus::new(q)?;
        backend.check(&m)?;
        let tables = Tables::new(n, m)?;
        let mut lanes = None;
        let kernel = match backend {
            Backend::Scalar => Kernel::Scalar,
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => Kernel::Avx2(avx2::Avx2Tables::new(
                unavailable(avx2::Avx2::detect(), backend)?,
                &tables,
            )),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512 => Kernel::Avx512(avx512::Avx512Tables::new(
                unavailable(avx512::Avx512::detect(), backend)?,
                &tables,
            )),
            #[cfg(target_arch = "x86_64")]
            Backend::Ifma => {
                let token = unavailable(ifma::Ifma::detect(), backend)?;
                lanes = Some(Lanes::new(token, q));
                Kernel::Ifma(ifma::IfmaTables::new(token, &tables))
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => {
                return Err(Error::BackendUnavailable {
                    backend: backend.name().into(),
                    reason: "not an x86_64 CPU",
                })
            }
        };
        Ok(Self {
            tables,
            kernel,
            backend,
            lanes,
        })
    }

    /// The backend this plan runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The IFMA element-wise kernels for this plan's prime (present exactly when the backend
    /// is [`Backend::Ifma`]).
    pub(crate) fn lanes(&self) -> Option<&Lanes> {
        self.lanes.as_ref()
    }

    /// Transform length `n`.
    pub fn degree(&self) -> usize {
        self.tables.n
    }

    /// The modulus.
    pub fn modulus(&self) -> &Modulus {
        &self.tables.q
    }

    fn check_len(&self, a: &[u64]) -> Result<()> {
        if a.len() != self.tables.n {
            return Err(Error::LengthMismatch {
                expected: self.tables.n,
                found: a.len(),
            });
        }
        Ok(())
    }

    /// Forward transform in place: coefficients in `[0, q)`, natural order, in; evaluations in
    /// `[0, q)`, bit-reversed order, out.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `a.len() != n`. Inputs `>= q` are not detected (debug builds
    /// assert); the result is then unspecified but no panic or overflow occurs for inputs `< 2^62`.
    pub fn forward(&self, a: &mut [u64]) -> Result<()> {
        self.check_len(a)?;
        debug_assert!(a.iter().all(|&x| x < self.tables.q.value()));
        match &self.kernel {
            Kernel::Scalar => scalar::forward(&self.tables, a),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(k) => k.forward(&self.tables, a),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512(k) => k.forward(&self.tables, a),
            #[cfg(target_arch = "x86_64")]
            Kernel::Ifma(k) => k.forward(&self.tables, a),
        }
        Ok(())
    }

    /// The forward transform of `src` written into `dst`, for inputs in `[0, 4q)` that need not
    /// be reduced (a residue modulo a nearby prime, say): the same canonical output as reducing
    /// `src` into `dst` and calling [`forward`](Self::forward). The IFMA kernels read `src` in
    /// their first pass (no copy, no reduction pass); the other backends reduce, then transform.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if either slice has another length than the plan.
    pub(crate) fn forward_lazy_from(&self, src: &[u64], dst: &mut [u64]) -> Result<()> {
        self.check_len(src)?;
        self.check_len(dst)?;
        let q = self.tables.q.value();
        debug_assert!(src.iter().all(|&x| x < 4 * q));
        #[cfg(target_arch = "x86_64")]
        if let Kernel::Ifma(k) = &self.kernel {
            if k.forward_lazy_from(&self.tables, src, dst) {
                return Ok(());
            }
        }
        for (d, &x) in dst.iter_mut().zip(src) {
            let x = x.min(x.wrapping_sub(2 * q));
            *d = x.min(x.wrapping_sub(q));
        }
        self.forward(dst)
    }

    /// Inverse transform in place, the factor `1/n` included: evaluations in `[0, q)`,
    /// bit-reversed order, in; coefficients in `[0, q)`, natural order, out.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `a.len() != n`.
    pub fn inverse(&self, a: &mut [u64]) -> Result<()> {
        self.check_len(a)?;
        debug_assert!(a.iter().all(|&x| x < self.tables.q.value()));
        match &self.kernel {
            Kernel::Scalar => scalar::inverse(&self.tables, a),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(k) => k.inverse(&self.tables, a),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512(k) => k.inverse(&self.tables, a),
            #[cfg(target_arch = "x86_64")]
            Kernel::Ifma(k) => k.inverse(&self.tables, a),
        }
        Ok(())
    }
}

#[cfg(target_arch = "x86_64")]
fn unavailable<T>(token: Option<T>, backend: Backend) -> Result<T> {
    token.ok_or_else(|| Error::BackendUnavailable {
        backend: backend.name().into(),
        reason: "this CPU lacks the required instructions",
    })
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::math::primes::largest_ntt_prime;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};

    pub(crate) fn random_vec(seed: u64, n: usize, q: u64) -> Vec<u64> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.next_u64() % q).collect()
    }

    fn schoolbook(a: &[u64], b: &[u64], q: u64) -> Vec<u64> {
        let n = a.len();
        let q128 = u128::from(q);
        let mut c = vec![0u128; n];
        for (i, &ai) in a.iter().enumerate() {
            for (j, &bj) in b.iter().enumerate() {
                let p = u128::from(ai) * u128::from(bj) % q128;
                let k = i + j;
                if k < n {
                    c[k] = (c[k] + p) % q128;
                } else {
                    c[k - n] = (c[k - n] + q128 - p) % q128;
                }
            }
        }
        c.into_iter().map(|x| x as u64).collect()
    }

    #[test]
    fn coefficient_automorphism_kernel_matches_the_scatter() {
        for log_n in [1u32, 3, 4, 6, 10, 13] {
            let n = 1usize << log_n;
            let q = largest_ntt_prime(50, n).unwrap();
            let mut src = random_vec(5, n, q);
            src[n / 2] = 0;
            for k in [
                1u64,
                3,
                5,
                25,
                2 * n as u64 - 1,
                (5u64.pow(7) % (2 * n as u64)) | 1,
            ] {
                // Reference: X^i -> X^(ik), X^n = -1 (the scatter of `Poly::automorphism`).
                let mut want = vec![0u64; n];
                for (i, &c) in src.iter().enumerate() {
                    let j = (i as u64 * k) as usize % (2 * n);
                    want[j % n] = if j >= n && c != 0 { q - c } else { c };
                }
                let base = random_vec(6, n, q);
                for add in [false, true] {
                    let mut got = base.clone();
                    automorphism_coeff(&mut got, &src, k, q, add);
                    let expect: Vec<u64> = if add {
                        base.iter().zip(&want).map(|(&a, &b)| (a + b) % q).collect()
                    } else {
                        want.clone()
                    };
                    assert_eq!(got, expect, "n={n} k={k} add={add}");
                    let k_inv = (1..2 * n)
                        .find(|&x| (x as u64 * k) % (2 * n as u64) == 1)
                        .unwrap();
                    let mut scalar = base.clone();
                    automorphism_coeff_scalar(&mut scalar, &src, k_inv, q, add);
                    assert_eq!(scalar, expect, "scalar n={n} k={k} add={add}");
                }
            }
        }
    }

    #[test]
    fn lazy_out_of_place_forward_matches_reduce_then_forward() {
        for bits in [30u32, 44, 50, 60] {
            for log_n in 1..=14u32 {
                let n = 1usize << log_n;
                let q = largest_ntt_prime(bits, 1 << 14).unwrap();
                let m = Modulus::new(q).unwrap();
                // Values across [0, 4q), both ends included.
                let mut src: Vec<u64> = random_vec(9 + u64::from(log_n), n, 4 * q);
                src[0] = 4 * q - 1;
                src[n - 1] = q;
                let reduced: Vec<u64> = src.iter().map(|&x| x % q).collect();
                for b in Backend::available(&m) {
                    let plan = NttPlan::with_backend(n, q, b).unwrap();
                    let mut want = reduced.clone();
                    plan.forward(&mut want).unwrap();
                    let mut got = vec![0u64; n];
                    plan.forward_lazy_from(&src, &mut got).unwrap();
                    assert_eq!(got, want, "backend {b} bits {bits} n {n}");
                }
            }
        }
    }

    #[test]
    fn slot_permutation_kernel_matches_the_scalar_gather() {
        for log_n in [1u32, 3, 4, 6, 10, 13] {
            let n = 1usize << log_n;
            let q = largest_ntt_prime(50, n).unwrap();
            let src = random_vec(3, n, q);
            for k in [3usize, 5, 25, 2 * n - 1, (5usize.pow(7) % (2 * n)) | 1] {
                // The NTT-form automorphism X -> X^k (as `math::poly` builds it).
                let perm: Vec<u32> = (0..n)
                    .map(|i| {
                        let e = 2 * bit_reverse(i, log_n) + 1;
                        bit_reverse(((e * k) & (2 * n - 1)) >> 1, log_n) as u32
                    })
                    .collect();
                for add in [None, Some(q)] {
                    let base = random_vec(4, n, q);
                    let (mut got, mut want) = (base.clone(), base);
                    permute_slots(&mut got, &src, &perm, add);
                    permute_slots_scalar(&mut want, &src, &perm, add);
                    assert_eq!(got, want, "n={n} k={k} add={add:?}");
                    if add.is_none() {
                        let direct: Vec<u64> = perm.iter().map(|&p| src[p as usize]).collect();
                        assert_eq!(got, direct);
                    }
                }
            }
        }
    }

    #[test]
    fn forward_is_evaluation_at_odd_powers_in_bit_reversed_order() {
        for (n, bits) in [(2usize, 20u32), (8, 30), (16, 50), (64, 61)] {
            let q = largest_ntt_prime(bits, n).unwrap();
            let m = Modulus::new(q).unwrap();
            let psi = minimal_primitive_root(n, q).unwrap();
            let a = random_vec(7, n, q);
            let mut f = a.clone();
            let plan = NttPlan::with_backend(n, q, Backend::Scalar).unwrap();
            plan.forward(&mut f).unwrap();
            for (i, &fi) in f.iter().enumerate() {
                let x = m.pow(psi, 2 * bit_reverse(i, n.trailing_zeros()) as u64 + 1);
                let mut acc = 0u64;
                for &c in a.iter().rev() {
                    acc = m.add(m.mul(acc, x), c);
                }
                assert_eq!(fi, acc, "n={n} i={i}");
            }
        }
    }

    #[test]
    fn scalar_roundtrip_and_negacyclic_product() {
        for bits in [30u32, 50, 51, 60, 62] {
            for log_n in 1..=11 {
                let n = 1usize << log_n;
                let q = largest_ntt_prime(bits, 1 << 17).unwrap();
                let plan = NttPlan::with_backend(n, q, Backend::Scalar).unwrap();
                let m = plan.modulus();
                let a = random_vec(1, n, q);
                let b = random_vec(2, n, q);
                let mut fa = a.clone();
                let mut fb = b.clone();
                plan.forward(&mut fa).unwrap();
                plan.forward(&mut fb).unwrap();
                assert!(fa.iter().all(|&x| x < q));
                let mut back = fa.clone();
                plan.inverse(&mut back).unwrap();
                assert_eq!(back, a);
                let mut prod: Vec<u64> = fa.iter().zip(&fb).map(|(&x, &y)| m.mul(x, y)).collect();
                plan.inverse(&mut prod).unwrap();
                assert_eq!(prod, schoolbook(&a, &b, q), "bits={bits} n={n}");
            }
        }
    }

    #[test]
    fn plan_errors() {
        let q = largest_ntt_prime(50, 1 << 17).unwrap();
        assert!(matches!(
            NttPlan::new(3, q),
            Err(Error::InvalidDegree { degree: 3, .. })
        ));
        assert!(matches!(
            NttPlan::new(1, q),
            Err(Error::InvalidDegree { .. })
        ));
        assert!(matches!(
            NttPlan::new(1 << 18, q),
            Err(Error::InvalidDegree { .. })
        ));
        assert!(matches!(
            NttPlan::new(16, q + 2),
            Err(Error::InvalidModulus { .. })
        ));
        // 97 = 1 mod 32 but not 1 mod 64.
        assert!(matches!(
            NttPlan::new(32, 97),
            Err(Error::InvalidModulus {
                reason: crate::error::ModulusError::NotNttFriendly { degree: 32 },
                ..
            })
        ));
        assert!(matches!(
            NttPlan::new(16, 1 << 62),
            Err(Error::InvalidModulus { .. })
        ));
        let plan = NttPlan::with_backend(16, q, Backend::Scalar).unwrap();
        let mut short = vec![0u64; 15];
        assert_eq!(
            plan.forward(&mut short),
            Err(Error::LengthMismatch {
                expected: 16,
                found: 15
            })
        );
        assert_eq!(
            plan.inverse(&mut short),
            Err(Error::LengthMismatch {
                expected: 16,
                found: 15
            })
        );
        let big = largest_ntt_prime(60, 16).unwrap();
        assert!(matches!(
            NttPlan::with_backend(16, big, Backend::Ifma),
            Err(Error::BackendUnavailable { .. })
        ));
        assert!(matches!(
            "sse9".parse::<Backend>(),
            Err(Error::BackendUnavailable { .. })
        ));
        assert_eq!("AVX512".parse::<Backend>(), Ok(Backend::Avx512));
    }
}
