//! Pearson correlation of the encrypted net migration rate with a public covariate, by a
//! protocol that fits depth 4 and decrypts nothing but `r` and one **blinded** aggregate.
//!
//! ## Protocol
//! With `z'_i = (x_i - x̄) / √(m Σ(x - x̄)²)` (public, zero outside the `m` valid countries),
//! `r = S / √V` where `S = Σ z'_i r_i` and `V = Σ r_i²/m - (Σ r_i/m)²` is the (population)
//! variance of the rates `r_i = 1000·net_i/pop_i` ([`stats`](super::stats) module docs for the
//! flow contributions).
//! 1. Every agency submits, besides its flow contribution, an encryption of a secret blinding
//!    value `ρ_a` in slot 0 ([`blinding_value`]: `ρ_a = 2^U`, `U` uniform on
//!    `[0, BLINDING_EXPONENT)`, drawn by the agency and never revealed). The node adds them:
//!    `ρ = Σ ρ_a`, unknown to every coalition that misses one agency's `ρ_a`.
//! 2. The node adds the rate contributions (`r`, depth 0) and computes, each in slot 0 only
//!    (segment sums with one-slot masks): `S` (depth 2: one plaintext product `r ⊙ z'`, one
//!    mask), `A = Σ r/m` (depth 1), `B = Σ r²/m` (depth 2: square, mask), `V = B - A²`
//!    (depth 2), and declares **`u = ρ²·V`** (depth 3) as an output: it is the only
//!    intermediate value decrypted.
//! 3. The agencies decrypt `u`; the public `g = u^{-1/2} = 1/(ρ√V)` is computed in the clear
//!    and recorded in the transcript ([`BlindedCorrelation::finish`], exactly, as its bits).
//! 4. The node computes `r = (S·ρ)·g` (depth 3 + 1 = 4) and declares it; the agencies decrypt
//!    it. Depth 4 in all: it runs on `n16384_depth5_scale40` and on the high-precision
//!    threshold presets. The relative error of the decrypted `u` passes to `r` halved (through
//!    `g`); a caller releasing `r` accounts for it (the demo does).
//!
//! ## What is revealed
//! `r` (the output) and `u = ρ²·V`: the variance of the rates up to the unknown factor `ρ²`.
//! Against a coalition of all agencies but one (say `h`), `ρ = K + ρ_h` with `K` known and
//! `ρ_h` log-uniform on `[1, 2^BLINDING_EXPONENT)`, so `V` is only known to lie in
//! `[u/(K + 2^E)², u/(K + 1)²]` (`E` = [`BLINDING_EXPONENT`]): with `E = 8` and `K` the sum
//! of nine such values (typically a few hundred), within a factor of about 3 — the blinding is
//! weak against `n - 1` colluding agencies; one agency alone, knowing only its `ρ_a`, knows `V`
//! within a factor of up to `(n·2^E/(ρ_a + n - 1))²`. A wider range hides more but costs
//! precision (see [`BLINDING_EXPONENT`]). `u > 0` (the sign of `V`) is public anyway. Nothing
//! else is decrypted (the rates, `S`, `A`, `B` and `V` stay encrypted). Note that a study that also
//! declares the [`Moments`](super::stats::StatOutput::Moments) output publishes `V` exactly;
//! the blinding matters when the correlation is the only statistic released.

use super::backend::{Decryptor, SlotBackend};
use super::linear::{segment_sums_with, Segment};
use super::stats::{flow_label, StatsSpec};
use super::transcript::{open_output, DeclaredOutput, Submission, Transcript};
use super::OpCounts;
use crate::error::{Error, Result};
use rand_core::{CryptoRng, RngCore};

/// The blinding values are `2^U` with `U` uniform on `[0, BLINDING_EXPONENT)`. A wider range
/// hides `V` better but costs precision: the public noise estimate of `u` grows with the
/// bound `n·2^E` of `ρ` squared, and the threshold decryption's smudging grows with it.
pub const BLINDING_EXPONENT: f64 = 8.0;

/// Depth of the protocol (levels consumed before the last decryption).
pub const DEPTH: usize = 4;

fn refuse(reason: impl Into<String>) -> Error {
    Error::Analytics {
        reason: reason.into(),
    }
}

/// Submission label of the blinding contributions.
pub fn blinding_label(spec: &StatsSpec) -> String {
    format!("stats/{}/blinding", spec.label)
}

/// An agency's secret blinding value `ρ_a = 2^U`, `U` uniform on `[0, BLINDING_EXPONENT)`.
pub fn blinding_value<R: RngCore + CryptoRng>(rng: &mut R) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (u * BLINDING_EXPONENT).exp2()
}

/// The slot vector an agency encrypts for its blinding value (slot 0).
pub fn blinding_contribution(rho: f64) -> Vec<f64> {
    vec![rho]
}

/// The protocol's first phase: the declared blinded variance `u`, and the encrypted `S` and
/// `ρ` kept by the node for the second phase.
#[derive(Clone, Debug)]
pub struct BlindedCorrelation<Ct> {
    /// The transcript so far (submissions, operations, the output `u`; then `g` and `r`).
    pub transcript: Transcript,
    /// The declared output `corr_blinded_variance/{label}` (slot 0).
    pub blinded: DeclaredOutput<Ct>,
    /// The declared output `correlation/{label}` once [`finish`](Self::finish) ran.
    pub correlation: Option<DeclaredOutput<Ct>>,
    /// `S` (slot 0), not decrypted.
    s: Ct,
    /// `ρ` (slot 0), not decrypted.
    rho: Ct,
    /// Operations used by phase 1.
    pub counts: OpCounts,
}

/// `z'_i` of the module docs (zero outside the valid countries) and `m`.
fn weights(spec: &StatsSpec) -> Result<(Vec<f64>, f64)> {
    let valid = spec.valid();
    let n = spec.n;
    #[allow(clippy::cast_precision_loss)]
    let m = spec.m() as f64;
    let x: Vec<f64> = (0..n)
        .map(|i| {
            if valid[i] {
                spec.covariate[i].unwrap_or(0.0)
            } else {
                0.0
            }
        })
        .collect();
    let xbar = x.iter().sum::<f64>() / m;
    let sxx: f64 = (0..n)
        .filter(|&i| valid[i])
        .map(|i| (x[i] - xbar) * (x[i] - xbar))
        .sum();
    if sxx <= 0.0 {
        return Err(refuse("the covariate is constant over the valid countries"));
    }
    let d = (m * sxx).sqrt();
    let z = (0..n)
        .map(|i| if valid[i] { (x[i] - xbar) / d } else { 0.0 })
        .collect();
    Ok((z, m))
}

fn slot0_sum<B: SlotBackend>(be: &B, ct: &B::Ct, w: usize, weight: B::Value) -> Result<B::Ct> {
    let seg = [Segment {
        ct: 0,
        start: 0,
        len: w,
    }];
    segment_sums_with(be, std::slice::from_ref(ct), 1, &seg, &[weight])?
        .into_iter()
        .next()
        .flatten()
        .ok_or_else(|| refuse("empty sum"))
}

/// Phase 1 (module docs): records the flow and blinding submissions, computes `u = ρ²V` and
/// declares it.
///
/// # Errors
/// Missing, duplicate or unknown submissions; a layout that does not fit; too few levels
/// (depth [`DEPTH`]); backend errors.
pub fn evaluate_blinded<B: SlotBackend<Value = f64>>(
    be: &B,
    spec: &StatsSpec,
    subs: &[Submission<B::Ct>],
) -> Result<BlindedCorrelation<B::Ct>> {
    let w = spec.width();
    let slots = be.slots();
    if 2 * w > slots || be.row_len() != slots {
        return Err(refuse(
            "the correlation layout does not fit one row of slots",
        ));
    }
    let start = be.counter().snapshot();
    let (z, m) = weights(spec)?;
    let params = format!(
        "protocol=blinded-pearson-v1;n={};width={w};covariate={:?};population={:?};rate_bound={:?};blinding=2^U,U<{BLINDING_EXPONENT}",
        spec.n, spec.covariate, spec.population, spec.rate_bound
    );
    let mut tr = Transcript::begin(&spec.analysis, &be.describe(), &params);
    let flows =
        super::stats::sum_submissions(be, &mut tr, &spec.agencies, &flow_label(spec), subs)?
            .ok_or_else(|| refuse("no flow submissions"))?;
    let rho =
        super::stats::sum_submissions(be, &mut tr, &spec.agencies, &blinding_label(spec), subs)?
            .ok_or_else(|| refuse("no blinding submissions: every agency submits its ρ_a"))?;
    if be.levels_left(&flows) < DEPTH {
        return Err(refuse(format!(
            "the blinded correlation needs {DEPTH} levels, the submissions have {}",
            be.levels_left(&flows)
        )));
    }
    // The agencies' contributions sum to the rates r (stats module docs). Declared bounds:
    // |r_i| <= R, so |S| <= √V <= R, |A| <= R, B, V <= R², ρ < n·2^E.
    let rb = spec.rate_bound;
    let r = be.declare_bound(&flows, rb)?;
    let s = be.declare_bound(&slot0_sum(be, &be.mul_plain(&r, &z)?, w, 1.0)?, rb)?;
    let a = be.declare_bound(&slot0_sum(be, &r, w, 1.0 / m)?, rb)?;
    let b = be.declare_bound(&slot0_sum(be, &be.mul(&r, &r)?, w, 1.0 / m)?, rb * rb)?;
    let v = be.declare_bound(&be.sub(&b, &be.mul(&a, &a)?)?, rb * rb)?;
    #[allow(clippy::cast_precision_loss)]
    let rho_bound = spec.agencies.len() as f64 * BLINDING_EXPONENT.exp2();
    let rho = be.declare_bound(&rho, rho_bound)?;
    tr.operation(
        be,
        "variance",
        "S = sum z' r, V = sum r^2/m - (sum r/m)^2, slot 0",
        &[s.clone(), v.clone()],
    );
    let rho2 = be.mul(&rho, &rho)?;
    let u = be.mul(&rho2, &v)?;
    tr.operation(
        be,
        "blind",
        "u = rho^2 V (rho = sum of the agencies' rho_a)",
        std::slice::from_ref(&u),
    );
    let blinded = DeclaredOutput {
        name: format!("corr_blinded_variance/{}", spec.label),
        cts: vec![u],
        slots: vec![(0, 0)],
    };
    tr.output(be, &blinded);
    Ok(BlindedCorrelation {
        transcript: tr,
        blinded,
        correlation: None,
        s,
        rho,
        counts: be.counter().snapshot() - start,
    })
}

impl<Ct: Clone> BlindedCorrelation<Ct> {
    /// Phase 2: from the decrypted `u`, the public `g = u^{-1/2}` (recorded exactly), then
    /// `r = (S·ρ)·g`, declared as `correlation/{label}`. The product `S·ρ` is formed here,
    /// with the public bound `ρ <= √(u/V_lo)` (`V_lo` the declared lower end of the variance
    /// interval) that the decrypted `u` gives.
    ///
    /// # Errors
    /// `u <= 0` or not finite (the decryption failed); backend errors.
    pub fn finish<B: SlotBackend<Ct = Ct, Value = f64>>(
        &mut self,
        be: &B,
        spec: &StatsSpec,
        u: f64,
    ) -> Result<&DeclaredOutput<Ct>> {
        if !(u.is_finite() && u > 0.0) {
            return Err(refuse(
                "the blinded variance must be a positive number: the decryption failed",
            ));
        }
        let g = 1.0 / u.sqrt();
        let rho_bound = (u / spec.variance_interval.0).sqrt();
        let rho = be.declare_bound(&self.rho, rho_bound)?;
        let pending = be.mul(&self.s, &rho)?;
        let r = be.mul_plain(&pending, &[g])?;
        self.transcript.operation(
            be,
            "unblind",
            &format!(
                "r = (S rho) g, g = u^(-1/2) = {g:e} (bits {:016x}), rho <= (u/V_lo)^(1/2) = {rho_bound:e}",
                g.to_bits()
            ),
            std::slice::from_ref(&r),
        );
        let out = DeclaredOutput {
            name: format!("correlation/{}", spec.label),
            cts: vec![r],
            slots: vec![(0, 0)],
        };
        self.transcript.output(be, &out);
        Ok(self.correlation.insert(out))
    }
}

/// The decrypted values of a run of the protocol.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CorrelationResult {
    /// Pearson's `r`.
    pub r: f64,
    /// The blinded variance `u = ρ²V` (the only other decrypted value).
    pub blinded_variance: f64,
}

/// Runs both phases: evaluates, opens `u` with `dec` (after the transcript check), finishes
/// and opens `r`. Returns the values and the protocol state (transcript, outputs).
///
/// # Errors
/// As the phases; decryption errors.
pub fn run<B: SlotBackend<Value = f64>, D: Decryptor<B>>(
    be: &B,
    dec: &D,
    spec: &StatsSpec,
    subs: &[Submission<B::Ct>],
) -> Result<(CorrelationResult, BlindedCorrelation<B::Ct>)> {
    let mut p = evaluate_blinded(be, spec, subs)?;
    let u = open_output(be, dec, &p.transcript, &p.blinded)?
        .first()
        .copied()
        .ok_or_else(|| refuse("empty blinded output"))?;
    let out = p.finish(be, spec, u)?.clone();
    let r = open_output(be, dec, &p.transcript, &out)?
        .first()
        .copied()
        .ok_or_else(|| refuse("empty correlation output"))?;
    Ok((
        CorrelationResult {
            r,
            blinded_variance: u,
        },
        p,
    ))
}

/// Re-executes both phases from the signed submissions and the decrypted `u` recorded by the
/// run, and checks the transcript bit for bit.
///
/// # Errors
/// As [`evaluate_blinded`]; [`Error::Analytics`] when anything differs.
pub fn verify<B: SlotBackend<Value = f64>>(
    be: &B,
    spec: &StatsSpec,
    subs: &[Submission<B::Ct>],
    blinded_variance: f64,
    transcript: &Transcript,
) -> Result<()> {
    let mut p = evaluate_blinded(be, spec, subs)?;
    p.finish(be, spec, blinded_variance)?;
    transcript.same_as(&p.transcript)
}

/// The rotation steps the protocol uses with `slots` slots (dry run on the stand-in).
///
/// # Errors
/// As [`evaluate_blinded`].
pub fn plan_rotations(spec: &StatsSpec, slots: usize) -> Result<Vec<usize>> {
    let be = super::PlainReal::new(slots);
    let key = ed25519_dalek::SigningKey::from_bytes(&[0u8; 32]);
    let mut subs = Vec::new();
    for (name, _) in &spec.agencies {
        for l in [flow_label(spec), blinding_label(spec)] {
            subs.push(Submission::sign(
                &be,
                &spec.analysis,
                name,
                &l,
                vec![be.encode(&[1.0])?],
                &key,
            ));
        }
    }
    let mut p = evaluate_blinded(&be, spec, &subs)?;
    p.finish(&be, spec, 1.0)?;
    Ok(be.counter().rotation_steps())
}
