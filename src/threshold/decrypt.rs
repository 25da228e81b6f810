//! Collective decryption with smudging, and re-encryption to a receiver's public key
//! (PETS 2021 §4.3, "CKeySwitch" with the zero key, and "PubKeySwitch").
//!
//! # Flow
//! 1. Every party (and the combiner) builds the same [`BfvDecryption`] / [`CkksDecryption`]
//!    from the public ciphertext, the [`ActiveSet`] and the [`DecryptionPolicy`]: the ciphertext
//!    is switched to the **lowest level** that still leaves room for the smudging noise (BFV:
//!    modulus switching; CKKS: dropping primes), and the smudging width is fixed. All of this is
//!    deterministic, so every party computes the same.
//! 2. Each party publishes [`ActiveShare::decryption_share`]: `s_i·c_1 + e_i` with `e_i`
//!    uniform on `[-2^b, 2^b)` (NTT form, at that level).
//! 3. Anyone combines: `c_0 + Σ (s_i c_1 + e_i) = Δm + e + Σ e_i`, then decodes.
//!
//! # Smudging width
//! `B` is the ciphertext noise bound from the scheme's public estimator (BFV
//! [`NoiseEstimate`](crate::bfv::NoiseEstimate), CKKS
//! [`NoiseEstimate`](crate::ckks::NoiseEstimate)) at failure probability `2^-λ`, taken at the
//! decryption level and **scaled for a collective key**: the estimators model one ternary secret
//! and one error; under an `n`-party collective key the secret and the key errors are sums of
//! `n` terms, which multiplies a fresh encryption's noise by about `√n` and one product's by
//! about `n`. The bound used is `n·B`, `n` the committee size (the parties whose shares built
//! the keys; the active parties of a `t`-out-of-`n` run may be fewer) (plus an optional caller margin,
//! [`DecryptionPolicy::with_noise_margin_log2`], for deeper circuits). Each party's noise has
//! `b = ⌈λ + log2 N + log2(n·B)⌉` bits: by the smudging lemma a single honest party's noise
//! alone makes the combined output statistically `N·2^-(b - log2 nB) <= 2^-λ`-close to one that
//! does not depend on the ciphertext noise. Decryption is refused
//! ([`ThresholdError::SmudgingOverflow`]) when even the ciphertext's own level cannot hold
//! `message + noise + n·2^b` below `Q_l/2` (failure probability above `2^-λ`).
//!
//! # CKKS precision
//! The smudging is about `λ + log2 N` bits above the ciphertext noise, and CKKS's noise sits
//! right below the scale: after a threshold decryption the precision is roughly the fresh
//! precision minus `λ + log2 N + log2 n` bits, negative for `λ = 40` at scales `2^40`–`2^50`.
//! The smudging width does not grow with the scale, so the composite-scaling presets
//! ([`ckks::Preset::N32768Depth5Scale104`], [`ckks::Preset::N16384Depth2Scale100`]) keep
//! 20–25 bits at `λ = 40` for 3–10 parties (see `docs/THRESHOLD.md` for the measured figures).
//! [`CkksDecryption::estimated_precision_bits`] gives the public estimate before anyone
//! releases a share.

use super::common::{
    c1_digest, check_headers, check_q, ActiveSet, ProtocolKind, ShareHeader, Stream,
};
use super::log::{LogClass, ShareLog};
use super::secret::ActiveShare;
use crate::bfv;
use crate::bfv::noise::{log2_add, switch_rounding_log2, tail_factor};
use crate::ckks;
use crate::error::{Error, Result, ThresholdError};
use crate::math::poly::{Coeff, Ntt, Poly};
use crate::math::sampling::{smudging_noise, ternary_rns};
use crate::rlwe::PublicKey;
use rand_core::{CryptoRng, RngCore};
use std::sync::Arc;
use zeroize::Zeroize;

/// The smallest statistical security parameter accepted without the insecure option.
pub const MIN_LAMBDA: u32 = 40;

/// How collective decryption sizes its smudging noise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DecryptionPolicy {
    lambda: u32,
    smudge: bool,
    margin_log2: f64,
    min_level: usize,
    min_precision: f64,
}

impl Default for DecryptionPolicy {
    /// `λ = 40`, no extra margin.
    fn default() -> Self {
        Self {
            lambda: MIN_LAMBDA,
            smudge: true,
            margin_log2: 0.0,
            min_level: 1,
            min_precision: 1.0,
        }
    }
}

impl DecryptionPolicy {
    /// Statistical security `lambda >= 40`.
    ///
    /// # Errors
    /// [`ThresholdError::InsecureSmudging`] below 40.
    pub fn with_lambda(lambda: u32) -> Result<Self> {
        if lambda < MIN_LAMBDA {
            return Err(ThresholdError::InsecureSmudging { lambda }.into());
        }
        Ok(Self {
            lambda,
            ..Self::default()
        })
    }

    /// **Insecure, tests and measurements only**: any `lambda` (0 included).
    pub fn insecure_for_testing(lambda: u32) -> Self {
        Self {
            lambda,
            ..Self::default()
        }
    }

    /// **Insecure, tests only**: no smudging at all (the combined output then reveals the
    /// ciphertext noise: used to measure it without forming the ideal secret key).
    pub fn insecure_no_smudging_for_testing() -> Self {
        Self {
            smudge: false,
            ..Self::default()
        }
    }

    /// Multiplies the public noise bound by `2^margin` (`margin >= 0`; negative values are
    /// ignored): for circuits whose collective-key noise grows faster than the `n·B` model
    /// (several products in sequence, key switching dominated by the relinearisation key).
    pub fn with_noise_margin_log2(mut self, margin: f64) -> Self {
        self.margin_log2 = margin.max(0.0);
        self
    }

    /// Decrypts at `level` primes at least (default 1): the lowest level is otherwise chosen
    /// (a ciphertext below `level` stays at its own level).
    pub fn with_min_level(mut self, level: usize) -> Self {
        self.min_level = level.max(1);
        self
    }

    /// CKKS: refuse a decryption whose public precision estimate is below `bits` (default 1:
    /// an output without a single correct bit is a failed decryption). `f64::NEG_INFINITY`
    /// disables the check (measurements).
    pub fn with_min_precision_bits(mut self, bits: f64) -> Self {
        self.min_precision = bits;
        self
    }

    /// The statistical security parameter.
    pub fn lambda(&self) -> u32 {
        self.lambda
    }
}

/// The scheme-independent part of a prepared decryption: `c_1` in NTT form at the decryption
/// level, its digest, the smudging width.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecryptionInput {
    c1: Poly<Ntt>,
    digest: [u8; 32],
    /// BFV: the digest of `c_1` before modulus switching (a switch to another level changes
    /// every residue; both are logged, so one ciphertext cannot be decrypted at two levels).
    origin: Option<[u8; 32]>,
    bits: u32,
    set: [u8; 32],
}

impl DecryptionInput {
    /// SHA-256 of `c_1`'s first residue limb: what shares and logs identify the input by.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// Bits of each party's smudging noise (uniform on `[-2^bits, 2^bits)`; 0: none).
    pub fn smudging_bits(&self) -> u32 {
        self.bits
    }

    /// The decryption level (number of primes).
    pub fn level(&self) -> usize {
        self.c1.limbs()
    }
}

/// A decryption share `s_i·c_1 + e_i` (NTT form, at the decryption level).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecryptionShare {
    /// Kind, ciphertext digest, set and sender.
    pub header: ShareHeader,
    pub(crate) share: Poly<Ntt>,
}

impl DecryptionShare {
    /// The share polynomial (NTT form).
    pub fn poly(&self) -> &Poly<Ntt> {
        &self.share
    }
}

/// A public-key-switch share `(s_i c_1 + u_i p_0 + e_i, u_i p_1 + e'_i)` (NTT form).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PkSwitchShare {
    /// Kind, ciphertext digest, set and sender.
    pub header: ShareHeader,
    pub(crate) h0: Poly<Ntt>,
    pub(crate) h1: Poly<Ntt>,
}

fn smudge_ntt(
    ctx: &Arc<crate::math::poly::Context>,
    level: usize,
    bits: u32,
    rng: &mut Stream,
) -> Result<Poly<Ntt>> {
    if bits == 0 {
        return Poly::zero_at(ctx, level);
    }
    let e = smudging_noise(rng, bits, &ctx.moduli()[..level], ctx.degree())?;
    Ok(Poly::<Coeff>::from_raw(ctx, level, e.to_vec()).into_ntt())
}

impl ActiveShare {
    fn check_input(&self, input: &DecryptionInput) -> Result<()> {
        check_q(&self.params, &input.c1)?;
        if input.set != *self.set.digest() {
            return Err(ThresholdError::WrongParticipantSet.into());
        }
        Ok(())
    }

    /// Records the input (and, for BFV, the ciphertext before switching) in the log, refusing
    /// if either is already there.
    fn record_input(&self, input: &DecryptionInput, log: &mut dyn ShareLog) -> Result<()> {
        let seen = log.contains(LogClass::Decryption, &input.digest)
            || input
                .origin
                .is_some_and(|o| log.contains(LogClass::Decryption, &o));
        if seen {
            return Err(ThresholdError::RepeatedShare {
                protocol: "decryption",
            }
            .into());
        }
        if let Some(o) = input.origin.filter(|o| *o != input.digest) {
            log.record(LogClass::Decryption, &o)?;
        }
        log.record(LogClass::Decryption, &input.digest)
    }

    /// This party's decryption share of a prepared ciphertext ([`BfvDecryption::input`],
    /// [`CkksDecryption::input`]).
    ///
    /// # Errors
    /// [`ThresholdError::WrongParticipantSet`] if the input was prepared for another set;
    /// [`ThresholdError::RepeatedShare`] if `log` already holds a decryption or re-encryption
    /// share of this `c_1`; [`Error::ContextMismatch`] for another parameter set.
    pub fn decryption_share(
        &self,
        input: &DecryptionInput,
        log: &mut dyn ShareLog,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<DecryptionShare> {
        self.check_input(input)?;
        self.record_input(input, log)?;
        let rng = &mut Stream::from_rng(rng);
        let level = input.level();
        let ctx = self.params.ctx_q();
        let mut share = smudge_ntt(ctx, level, input.bits, rng)?;
        share.mul_add_assign_prefix(&input.c1, &self.s.0.q)?;
        Ok(DecryptionShare {
            header: self.header(ProtocolKind::Decryption, input.digest),
            share,
        })
    }

    /// This party's share of re-encrypting a prepared ciphertext under `receiver`'s public key
    /// (over the same ring): only the receiver can decrypt the result.
    ///
    /// # Errors
    /// As [`decryption_share`](Self::decryption_share) (the same log class: a decryption and a
    /// re-encryption of one `c_1` are refused together).
    pub fn pk_switch_share(
        &self,
        input: &DecryptionInput,
        receiver: &PublicKey,
        log: &mut dyn ShareLog,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<PkSwitchShare> {
        self.check_input(input)?;
        check_q(&self.params, &receiver.b)?;
        self.record_input(input, log)?;
        let rng = &mut Stream::from_rng(rng);
        let level = input.level();
        let ctx = self.params.ctx_q();
        let u = ternary_rns(rng, &ctx.moduli()[..level], ctx.degree())?;
        let mut u = Poly::<Coeff>::from_raw(ctx, level, u.to_vec()).into_ntt();
        let mut h0 = smudge_ntt(ctx, level, input.bits, rng)?;
        h0.mul_add_assign_prefix(&input.c1, &self.s.0.q)?;
        h0.mul_add_assign_prefix(&receiver.b, &u)?;
        let mut h1 = super::common::gaussian_q(ctx, level, rng)?;
        h1.mul_add_assign_prefix(&receiver.a, &u)?;
        u.zeroize();
        Ok(PkSwitchShare {
            header: self.header(ProtocolKind::PublicKeySwitch, input.digest),
            h0,
            h1,
        })
    }
}

fn sum_shares<'a>(
    level: usize,
    ctx: &Arc<crate::math::poly::Context>,
    polys: impl Iterator<Item = &'a Poly<Ntt>>,
) -> Result<Poly<Ntt>> {
    let mut acc = Poly::<Ntt>::zero_at(ctx, level)?;
    for p in polys {
        if p.limbs() != level {
            return Err(Error::ContextMismatch);
        }
        acc.add_assign(p)?;
    }
    Ok(acc)
}

/// `log2(2^x + 2^y + …)`.
fn log2_sum(xs: &[f64]) -> f64 {
    xs.iter().copied().fold(f64::NEG_INFINITY, log2_add)
}

/// `⌈λ + log2 N + bound⌉`, at least 1.
fn smudging_bits(policy: &DecryptionPolicy, n: usize, bound_log2: f64) -> u32 {
    if !policy.smudge {
        return 0;
    }
    let b = f64::from(policy.lambda) + (n as f64).log2() + bound_log2;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let bits = b.ceil().max(1.0) as u32;
    bits.min(crate::math::sampling::MAX_SMUDGING_BITS)
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn overflow(needed: f64, available: f64) -> Error {
    // An unbounded (or undefined) public estimate is reported as `u32::MAX`, which the error's
    // message explains, never as a number of bits.
    let needed_bits = if needed.is_finite() {
        needed.ceil().clamp(0.0, f64::from(u32::MAX - 1)) as u32
    } else {
        u32::MAX
    };
    ThresholdError::SmudgingOverflow {
        needed_bits,
        available_bits: available.floor().max(0.0) as u32,
    }
    .into()
}

// ---------------------------------------------------------------------------------------------
// BFV
// ---------------------------------------------------------------------------------------------

/// A BFV ciphertext prepared for collective decryption or re-encryption (see the
/// [module docs](self)).
#[derive(Clone, Debug)]
pub struct BfvDecryption {
    params: Arc<bfv::Parameters>,
    ct: bfv::Ciphertext,
    input: DecryptionInput,
    parties: u32,
    /// `log2` of the (collective) noise bound of the switched ciphertext, `ν` units.
    noise_log2: f64,
}

impl BfvDecryption {
    /// Prepares `ct` (degree 1: relinearise first) for decryption by `set`.
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] for a ciphertext of degree above 1;
    /// [`ThresholdError::SmudgingOverflow`] if no level up to the ciphertext's own leaves room
    /// for the smudging noise.
    pub fn new(ct: &bfv::Ciphertext, set: &ActiveSet, policy: &DecryptionPolicy) -> Result<Self> {
        if ct.degree() != 1 {
            return Err(Error::InvalidOperation {
                reason: "collective decryption needs a degree-1 ciphertext: relinearise first",
            });
        }
        let params = Arc::clone(ct.params());
        let n = params.degree();
        let parties = set.count();
        let log_n_parties = f64::from(parties).log2();
        let log_key_parties = f64::from(set.committee_count()).log2();
        let log_t = (params.plaintext_modulus() as f64).log2();
        let from = ct.level();
        let log_from = params.log2_q(from)?;
        let sigma0 = ct.noise_estimate().log2_std() + log_key_parties + policy.margin_log2;
        let tail = tail_factor(n, policy.lambda).log2();
        let rounding = switch_rounding_log2(&params, 1) + 0.5 * log_key_parties;
        let mut last_needed = 0.0;
        for level in policy.min_level.min(from)..=from {
            let log_l = params.log2_q(level)?;
            let sigma = if level == from {
                sigma0
            } else {
                log2_add(sigma0 - (log_from - log_l), rounding)
            };
            let bound = sigma + tail; // ν units (t·phase)
            let bits = smudging_bits(policy, n, bound - log_t);
            let total = if bits == 0 {
                bound
            } else {
                log2_sum(&[bound, log_n_parties + log_t + f64::from(bits)])
            };
            last_needed = total + 1.0;
            if total + 1.0 < log_l {
                let origin = c1_digest(&ct.polys()[1].prefix(1)?.into_ntt());
                let ct = bfv::Evaluator::new(&params).mod_switch_to_level(ct, level)?;
                let c1 = ct.polys()[1].clone().into_ntt();
                let digest = c1_digest(&c1);
                return Ok(Self {
                    params,
                    ct,
                    input: DecryptionInput {
                        c1,
                        digest,
                        origin: Some(origin),
                        bits,
                        set: *set.digest(),
                    },
                    parties,
                    noise_log2: bound,
                });
            }
        }
        Err(overflow(last_needed, log_from))
    }

    /// What each party needs to compute its share.
    pub fn input(&self) -> &DecryptionInput {
        &self.input
    }

    /// The switched ciphertext.
    pub fn ciphertext(&self) -> &bfv::Ciphertext {
        &self.ct
    }

    fn check(&self, set: &ActiveSet) -> Result<()> {
        if *set.digest() != self.input.set {
            return Err(ThresholdError::WrongParticipantSet.into());
        }
        Ok(())
    }

    /// Combines one share per party of `set` into the plaintext.
    ///
    /// # Errors
    /// [`ThresholdError`] variants for shares of another ciphertext or set, from outside the
    /// set, duplicated or missing; [`Error::ContextMismatch`] for shares of other parameters.
    pub fn combine(&self, set: &ActiveSet, shares: &[DecryptionShare]) -> Result<bfv::Plaintext> {
        self.check(set)?;
        check_headers(
            ProtocolKind::Decryption,
            &self.input.digest,
            set,
            shares.iter().map(|s| &s.header),
        )?;
        let level = self.input.level();
        let ctx = self.params.ring().ctx_q();
        for s in shares {
            check_q(self.params.ring(), &s.share)?;
        }
        let sum = sum_shares(level, ctx, shares.iter().map(|s| &s.share))?;
        let mut phase = sum.into_coeff();
        phase.add_assign(&self.ct.polys()[0])?;
        bfv_decode_phase(&self.params, &phase)
    }

    /// Diagnostics: combines the shares and returns `log2‖ν‖∞` for the scaled noise
    /// `ν = t·φ - Q_l·m` of the combined phase against the expected plaintext `m` (what the
    /// [`NoiseEstimate`](bfv::NoiseEstimate) bounds, smudging included). With
    /// [`DecryptionPolicy::insecure_no_smudging_for_testing`] this measures the ciphertext noise
    /// under the collective key without forming the ideal secret key.
    ///
    /// # Timing
    /// Variable time (multi-word CRT composition).
    ///
    /// # Errors
    /// As [`combine`](Self::combine).
    pub fn combined_noise_log2_vartime(
        &self,
        set: &ActiveSet,
        shares: &[DecryptionShare],
        expected: &bfv::Plaintext,
    ) -> Result<f64> {
        self.check(set)?;
        check_headers(
            ProtocolKind::Decryption,
            &self.input.digest,
            set,
            shares.iter().map(|s| &s.header),
        )?;
        let level = self.input.level();
        let n = self.params.degree();
        let ctx = self.params.ring().ctx_q();
        let sum = sum_shares(level, ctx, shares.iter().map(|s| &s.share))?;
        let mut phase = sum.into_coeff();
        phase.add_assign(&self.ct.polys()[0])?;
        phase.sub_assign(&expected.scaled(level)?)?;
        let lt = self.params.level(level)?;
        let moduli = ctx.moduli();
        let data = phase.residues();
        let mut res = vec![0u64; level];
        let mut max_log = f64::NEG_INFINITY;
        for j in 0..n {
            for (i, r) in res.iter_mut().enumerate() {
                let (w, ws) = lt.t_q[i];
                *r = moduli[i].mul_shoup(data[i * n + j], w, ws);
            }
            max_log = max_log.max(lt.basis_q.compose_centered(&res)?.to_f64().abs().log2());
        }
        Ok(max_log)
    }

    /// `log2` of the public (collective) bound on `‖ν‖∞` of the switched ciphertext, smudging
    /// not included.
    pub fn noise_bound_log2(&self) -> f64 {
        self.noise_log2
    }

    /// Combines one re-encryption share per party of `set` into a ciphertext under
    /// `receiver`'s key (at the decryption level).
    ///
    /// # Errors
    /// As [`combine`](Self::combine).
    pub fn combine_pk_switch(
        &self,
        set: &ActiveSet,
        shares: &[PkSwitchShare],
    ) -> Result<bfv::Ciphertext> {
        self.check(set)?;
        check_headers(
            ProtocolKind::PublicKeySwitch,
            &self.input.digest,
            set,
            shares.iter().map(|s| &s.header),
        )?;
        let level = self.input.level();
        let ctx = self.params.ring().ctx_q();
        for s in shares {
            check_q(self.params.ring(), &s.h0)?;
            check_q(self.params.ring(), &s.h1)?;
        }
        let mut c0 = sum_shares(level, ctx, shares.iter().map(|s| &s.h0))?.into_coeff();
        c0.add_assign(&self.ct.polys()[0])?;
        let c1 = sum_shares(level, ctx, shares.iter().map(|s| &s.h1))?.into_coeff();
        let log_t = (self.params.plaintext_modulus() as f64).log2();
        let noise = pk_switch_noise_log2(
            self.params.degree(),
            self.parties,
            self.input.bits,
            self.noise_log2 - log_t,
        ) + log_t;
        bfv::Ciphertext::from_polys(
            &self.params,
            vec![c0, c1],
            bfv::NoiseEstimate::from_log2(noise),
        )
    }
}

/// `log2` of the standard deviation of a re-encrypted ciphertext's noise (phase units): the
/// smudging `n·U[-2^b, 2^b)`, the receiver-key terms `Σ u_i e_R + s_R Σ e'_i`, and the old noise
/// (bound `2^old`).
fn pk_switch_noise_log2(n: usize, parties: u32, bits: u32, old: f64) -> f64 {
    let sigma2 = crate::math::sampling::DEFAULT_SIGMA * crate::math::sampling::DEFAULT_SIGMA;
    let p = f64::from(parties);
    let key_var = 2.0 * p * (n as f64) * (2.0 / 3.0) * sigma2;
    let smudge_var = if bits == 0 {
        0.0
    } else {
        p * (2.0 * f64::from(bits)).exp2() / 3.0
    };
    0.5 * log2_sum(&[key_var.log2(), smudge_var.log2(), 2.0 * old])
}

/// `round(t·φ/Q_l) mod t` for a phase `φ` (coefficient form, level `l`): BFV decryption after
/// the secret-key part (exact, as `Ciphertext::decrypt`).
fn bfv_decode_phase(params: &Arc<bfv::Parameters>, phase: &Poly<Coeff>) -> Result<bfv::Plaintext> {
    let level = phase.limbs();
    let n = params.degree();
    let lt = params.level(level)?;
    let moduli = params.ring().ctx_q().moduli();
    let mut buf = vec![0u64; (level + 1) * n];
    for (i, (dst, src)) in buf[n..]
        .chunks_exact_mut(n)
        .zip(phase.residues().chunks_exact(n))
        .enumerate()
    {
        let (w, ws) = lt.t_q[i];
        let q = &moduli[i];
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = q.mul_shoup(s, w, ws);
        }
    }
    let mut out = vec![0u64; n];
    lt.decrypt.divide_round(&buf, &mut out)?;
    bfv::Plaintext::from_coefficients(params, out)
}

// ---------------------------------------------------------------------------------------------
// CKKS
// ---------------------------------------------------------------------------------------------

/// A CKKS ciphertext prepared for collective decryption or re-encryption (see the
/// [module docs](self)).
#[derive(Clone, Debug)]
pub struct CkksDecryption {
    params: Arc<ckks::Parameters>,
    ct: ckks::Ciphertext,
    input: DecryptionInput,
    parties: u32,
    /// Committee size (scales the key noise).
    key_parties: u32,
    /// `log2` of the collective noise bound, coefficient units.
    noise_log2: f64,
}

impl CkksDecryption {
    /// Prepares `ct` (degree 1: relinearise first) for decryption by `set`: drops it to the
    /// lowest level whose modulus holds message, noise and smudging.
    ///
    /// # Errors
    /// As [`BfvDecryption::new`]; [`ThresholdError::PrecisionLost`] if the public precision
    /// estimate is below the policy's minimum (at `λ = 40` this is the case at scales up to
    /// `2^50`: see the [module docs](self)).
    pub fn new(
        params: &Arc<ckks::Parameters>,
        ct: &ckks::Ciphertext,
        set: &ActiveSet,
        policy: &DecryptionPolicy,
    ) -> Result<Self> {
        if ct.degree() != 1 {
            return Err(Error::InvalidOperation {
                reason: "collective decryption needs a degree-1 ciphertext: relinearise first",
            });
        }
        for p in ct.parts() {
            check_q(params.rlwe(), p)?;
        }
        let n = params.degree();
        let parties = set.count();
        let log_parties = f64::from(parties).log2();
        let key_parties = set.committee_count();
        let est = ct.estimate();
        let log_scale = ct.scale().log2();
        // B = the estimate's coefficient bound at failure 2^-λ (σ_coef = Δ·σ_slot/√N times the
        // Gaussian union-bound factor), times the committee size, times the caller's margin.
        let single = ckks::NoiseEstimate::new(est.variance.max(f64::MIN_POSITIVE), est.bound)
            .coefficient_bound(n, ct.scale(), policy.lambda);
        let bound = single.log2() + f64::from(key_parties).log2() + policy.margin_log2;
        let bits = smudging_bits(policy, n, bound);
        let msg = log_scale + est.bound.max(1.0).log2();
        let total = if bits == 0 {
            log2_add(msg, bound)
        } else {
            log2_sum(&[msg, bound, log_parties + f64::from(bits)])
        };
        let from = ct.level();
        for level in policy.min_level.min(from)..=from {
            if total + 1.0 < params.log_q_at(level)? {
                let c1 = ct.parts()[1].prefix(level)?;
                let digest = c1_digest(&c1);
                let ct = ckks::Evaluator::new(params).drop_to_level(ct, level)?;
                let out = Self {
                    params: Arc::clone(params),
                    ct,
                    input: DecryptionInput {
                        c1,
                        digest,
                        origin: None,
                        bits,
                        set: *set.digest(),
                    },
                    parties,
                    key_parties,
                    noise_log2: bound,
                };
                let est = out.estimated_precision_bits();
                if est < policy.min_precision {
                    #[allow(clippy::cast_possible_truncation)]
                    return Err(ThresholdError::PrecisionLost {
                        estimated_bits: est.floor().max(-1e6) as i32,
                        minimum_bits: policy.min_precision.ceil().clamp(-1e6, 1e6) as i32,
                    }
                    .into());
                }
                return Ok(out);
            }
        }
        Err(overflow(total + 1.0, params.log_q_at(from)?))
    }

    /// What each party needs to compute its share.
    pub fn input(&self) -> &DecryptionInput {
        &self.input
    }

    /// `log2` of the public (collective) bound `n·B` on every coefficient of the ciphertext
    /// noise (integer units, failure probability `2^-λ`), smudging not included: what the
    /// smudging width is sized from.
    pub fn noise_bound_log2(&self) -> f64 {
        self.noise_log2
    }

    /// The ciphertext at the decryption level.
    pub fn ciphertext(&self) -> &ckks::Ciphertext {
        &self.ct
    }

    /// The public estimate of the result's error (ciphertext noise plus every party's
    /// smudging), slot units.
    pub fn output_estimate(&self) -> ckks::NoiseEstimate {
        let n = self.params.degree() as f64;
        let scale = self.ct.scale();
        let p = f64::from(self.parties);
        let k = f64::from(self.key_parties);
        let smudge = if self.input.bits == 0 {
            0.0
        } else {
            p * (2.0 * f64::from(self.input.bits)).exp2() / 3.0
        };
        let coeff_var = smudge + self.ct.estimate().variance * scale * scale / n * k * k;
        ckks::NoiseEstimate::new(n * coeff_var / (scale * scale), self.ct.estimate().bound)
    }

    /// The public estimate of the precision after decryption, in bits (`-log2` of the
    /// estimated largest slot error).
    ///
    /// The largest error is bounded by the sum of the largest smudging error and the largest
    /// ciphertext error. The smudging polynomial is independent of the secret key, so its
    /// slot values (real and imaginary parts: sums of `N` independent uniform terms, Gaussian
    /// by the central limit theorem) get the Gaussian union-bound factor
    /// `sqrt(2·(ln(2·slots) + 20·ln 2))`: every slot is within it except with probability
    /// about `2^-20`. The ciphertext noise keeps the factor of
    /// [`NoiseEstimate::max_error`](ckks::NoiseEstimate::max_error) (which also carries the
    /// `f64` encoding term).
    pub fn estimated_precision_bits(&self) -> f64 {
        let slots = self.params.slots();
        let n = self.params.degree() as f64;
        let scale = self.ct.scale();
        let p = f64::from(self.parties);
        let k = f64::from(self.key_parties);
        let smudge_coeff_var = if self.input.bits == 0 {
            0.0
        } else {
            p * (2.0 * f64::from(self.input.bits)).exp2() / 3.0
        };
        let smudge_slot_sd = (n * smudge_coeff_var).sqrt() / scale;
        let gauss =
            (2.0 * ((2.0 * slots.max(3) as f64).ln() + 20.0 * core::f64::consts::LN_2)).sqrt();
        let est = self.ct.estimate();
        let ct_part = ckks::NoiseEstimate::new(est.variance * k * k, est.bound).max_error(slots);
        -(gauss * smudge_slot_sd + ct_part).log2()
    }

    fn check(&self, set: &ActiveSet) -> Result<()> {
        if *set.digest() != self.input.set {
            return Err(ThresholdError::WrongParticipantSet.into());
        }
        Ok(())
    }

    /// Combines one share per party of `set` into the plaintext (decode it with
    /// [`ckks::Parameters::decode`], or round it to
    /// [`estimated_precision_bits`](Self::estimated_precision_bits) with
    /// [`ckks::Parameters::decode_rounded`] before releasing it further).
    ///
    /// # Errors
    /// As [`BfvDecryption::combine`].
    pub fn combine(&self, set: &ActiveSet, shares: &[DecryptionShare]) -> Result<ckks::Plaintext> {
        self.check(set)?;
        check_headers(
            ProtocolKind::Decryption,
            &self.input.digest,
            set,
            shares.iter().map(|s| &s.header),
        )?;
        let level = self.input.level();
        let ctx = self.params.rlwe().ctx_q();
        for s in shares {
            check_q(self.params.rlwe(), &s.share)?;
        }
        let mut poly = sum_shares(level, ctx, shares.iter().map(|s| &s.share))?;
        poly.add_assign(&self.ct.parts()[0])?;
        Ok(ckks::Plaintext {
            poly,
            scale: self.ct.scale(),
            bound: self.ct.estimate().bound,
        })
    }

    /// Combines one re-encryption share per party of `set` into a ciphertext under the
    /// receiver's key.
    ///
    /// # Errors
    /// As [`BfvDecryption::combine`].
    pub fn combine_pk_switch(
        &self,
        set: &ActiveSet,
        shares: &[PkSwitchShare],
    ) -> Result<ckks::Ciphertext> {
        self.check(set)?;
        check_headers(
            ProtocolKind::PublicKeySwitch,
            &self.input.digest,
            set,
            shares.iter().map(|s| &s.header),
        )?;
        let level = self.input.level();
        let ctx = self.params.rlwe().ctx_q();
        for s in shares {
            check_q(self.params.rlwe(), &s.h0)?;
            check_q(self.params.rlwe(), &s.h1)?;
        }
        let mut c0 = sum_shares(level, ctx, shares.iter().map(|s| &s.h0))?;
        c0.add_assign(&self.ct.parts()[0])?;
        let c1 = sum_shares(level, ctx, shares.iter().map(|s| &s.h1))?;
        let n = self.params.degree();
        let coeff_log2 = pk_switch_noise_log2(n, self.parties, self.input.bits, self.noise_log2);
        let scale = self.ct.scale();
        let var = (n as f64) * (2.0 * (coeff_log2 - scale.log2())).exp2();
        Ok(ckks::Ciphertext {
            parts: vec![c0, c1],
            scale,
            estimate: ckks::NoiseEstimate::new(var, self.ct.estimate().bound),
            seed: None,
        })
    }
}
