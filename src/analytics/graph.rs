//! Graph metrics of the migration network: PageRank by a fixed number of encrypted power
//! iterations (CKKS). Weighted in- and out-degrees are the `inflow` and `outflow` outputs of
//! the flow study ([`flows`](super::flows)).
//!
//! ## Model
//! `x_{t+1} = α Pᵀ x_t + (1 - α)/n`, `α = 0.85` by default, `x_0 = 1/n`, with `P[o, d] =
//! F[o, d] / Σ_d F[o, d]` (a node without emigration gets the uniform row `1/n`). **Row
//! normalisation is done by each origin agency before encryption**: it holds its member
//! countries' emigration records (the rows), so the node never divides. The result after `T`
//! iterations is compared with the same `T` iterations in plain `f64`
//! ([`plain_pagerank`]), and, for information, with the converged vector.
//!
//! ## Packing (generalised diagonals)
//! `y = Pᵀ x = Σ_k diag_k ⊙ rot_n(x, k)` with `diag_k[i] = P[(i + k) mod n, i]`
//! (Halevi–Shoup). Diagonal `k = c·B + b` is stored in ciphertext `c`, block `b`, at slots
//! `b(n + 1) + i` — blocks of stride `n + 1`, so that one rotation by `c·B` of the vector `X`
//! replicated with period `n` (`X[s] = x[s mod n]`) gives every block its own shift at once
//! (`X[b(n+1) + i + cB] = x[(i + b + cB) mod n]`). An agency places each entry `P[o, d]` of its
//! rows at `k = (o - d) mod n`, `i = d`.
//!
//! One iteration: replicate `x` (`⌈log2⌉` doublings by multiples of `n`), `C - 1` hoisted
//! rotations, `C` ciphertext products summed, a stride-`(n + 1)` window over the `B` blocks,
//! whose mask carries `α`, and the constant `(1 - α)/n` added: **2 levels per iteration** (one
//! product, one mask). The first iteration multiplies by the public `x_0` (a plaintext product).
//! So `n16384_depth5_scale40` and the threshold-ready `n32768_depth5_scale104` run 2
//! iterations and `n32768_depth15_scale40` 7; the evaluation refuses more than the
//! ciphertexts' levels allow. The node declares the public bounds it relies on (entries,
//! scores and replicated vectors in `[0, 1]`) to the noise estimate that sizes the smudging of
//! threshold decryption ([`SlotBackend::declare_bound`]). Nothing is decrypted but the final scores
//! (declared output `pagerank/{label}`).

use super::backend::{OpCounts, SlotBackend};
use super::flows::Evaluation;
use super::linear::{segment_sums_weighted, Segment, SlotRef};
use super::transcript::{open_output, DeclaredOutput, Submission, Transcript};
use super::Decryptor;
use crate::error::{Error, Result};

fn refuse(reason: impl Into<String>) -> Error {
    Error::Analytics {
        reason: reason.into(),
    }
}

/// The public description of a PageRank computation.
#[derive(Clone, Debug, PartialEq)]
pub struct PageRankSpec {
    /// Analysis identifier (bound into signatures).
    pub analysis: String,
    /// Label of the period (submission label `pagerank/{label}`).
    pub label: String,
    /// Number of nodes.
    pub n: usize,
    /// Agencies `(name, member nodes whose rows they hold)`; they partition the nodes.
    pub agencies: Vec<(String, Vec<usize>)>,
    /// Damping factor `α`.
    pub damping: f64,
    /// Number of power iterations.
    pub iterations: usize,
}

/// The diagonal packing (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiagonalLayout {
    n: usize,
    slots: usize,
    /// Blocks per ciphertext.
    pub blocks: usize,
    /// Ciphertexts.
    pub cts: usize,
}

impl DiagonalLayout {
    /// The largest block count `B` whose replicated vector fits: `n·⌈(B(n + 1) + (C - 1)B)/n⌉
    /// <= slots`, `C = ⌈n / B⌉` (196 nodes: `B = 39`, `C = 6` at 8,192 slots; `B = 80`,
    /// `C = 3` at 16,384).
    ///
    /// # Errors
    /// `n` too large for the slots.
    pub fn new(n: usize, slots: usize) -> Result<Self> {
        let mut best = None;
        for b in 1..=n {
            let c = n.div_ceil(b);
            let needed = b * (n + 1) + (c - 1) * b;
            if n * needed.div_ceil(n) <= slots {
                best = Some((b, c));
            } else {
                break;
            }
        }
        let (blocks, cts) = best.ok_or_else(|| {
            refuse(format!(
                "{n} nodes do not fit the diagonal packing in {slots} slots: use a larger ring degree"
            ))
        })?;
        Ok(Self {
            n,
            slots,
            blocks,
            cts,
        })
    }

    /// Where `P[o, d]` lives.
    pub fn cell(&self, o: usize, d: usize) -> SlotRef {
        let k = (o + self.n - d) % self.n;
        (k / self.blocks, (k % self.blocks) * (self.n + 1) + d)
    }

    /// Length the replicated vector must cover.
    fn needed(&self) -> usize {
        self.blocks * (self.n + 1) + (self.cts - 1) * self.blocks
    }
}

/// Row-normalised rows of the agency's members, packed: one slot vector per ciphertext.
///
/// # Errors
/// Unknown agency; `flows` of the wrong size.
pub fn contribution(
    spec: &PageRankSpec,
    layout: &DiagonalLayout,
    agency: usize,
    flows: &[u64],
) -> Result<Vec<Vec<f64>>> {
    let n = spec.n;
    if flows.len() != n * n {
        return Err(Error::LengthMismatch {
            expected: n * n,
            found: flows.len(),
        });
    }
    let (_, members) = spec
        .agencies
        .get(agency)
        .ok_or_else(|| refuse("unknown agency"))?;
    let mut out = vec![vec![0.0; layout.slots]; layout.cts];
    #[allow(clippy::cast_precision_loss)]
    for &o in members {
        let row = &flows[o * n..(o + 1) * n];
        let total: u64 = row.iter().sum();
        for (d, &f) in row.iter().enumerate() {
            let p = if total == 0 {
                1.0 / n as f64
            } else {
                f as f64 / total as f64
            };
            if p != 0.0 {
                let (c, s) = layout.cell(o, d);
                out[c][s] = p;
            }
        }
    }
    Ok(out)
}

/// Submission label.
pub fn contribution_label(spec: &PageRankSpec) -> String {
    format!("pagerank/{}", spec.label)
}

/// Evaluates `spec.iterations` encrypted power iterations on the agencies' submissions.
///
/// # Errors
/// Missing, duplicate or unknown submissions; too few levels for the iterations; backend
/// errors.
pub fn evaluate<B: SlotBackend<Value = f64>>(
    be: &B,
    spec: &PageRankSpec,
    submissions: &[Submission<B::Ct>],
) -> Result<Evaluation<B::Ct>> {
    let n = spec.n;
    let layout = DiagonalLayout::new(n, be.slots())?;
    if be.row_len() != be.slots() {
        return Err(refuse("PageRank needs a one-row (CKKS) backend"));
    }
    if spec.iterations == 0 || !(0.0..1.0).contains(&spec.damping) {
        return Err(refuse(
            "PageRank needs at least one iteration and 0 <= damping < 1",
        ));
    }
    let start = be.counter().snapshot();
    let params = format!(
        "n={n};damping={};iterations={};blocks={};cts={};agencies={:?}",
        spec.damping, spec.iterations, layout.blocks, layout.cts, spec.agencies
    );
    let mut tr = Transcript::begin(&spec.analysis, &be.describe(), &params);
    let label = contribution_label(spec);
    let mut sum: Option<Vec<B::Ct>> = None;
    let mut seen = vec![false; spec.agencies.len()];
    for s in submissions {
        let a = spec
            .agencies
            .iter()
            .position(|(name, _)| *name == s.agency)
            .ok_or_else(|| refuse(format!("submission from unknown agency `{}`", s.agency)))?;
        if s.label != label || s.cts.len() != layout.cts {
            return Err(refuse(format!(
                "submission `{}` of `{}` is not a PageRank contribution of {} ciphertexts",
                s.label, s.agency, layout.cts
            )));
        }
        if std::mem::replace(&mut seen[a], true) {
            return Err(refuse(format!("two submissions from `{}`", s.agency)));
        }
        tr.submission(be, s)?;
        sum = Some(match sum {
            None => s.cts.clone(),
            Some(acc) => acc
                .iter()
                .zip(&s.cts)
                .map(|(x, y)| be.add(x, y))
                .collect::<Result<_>>()?,
        });
    }
    if let Some(a) = seen.iter().position(|s| !s) {
        return Err(refuse(format!(
            "missing PageRank submission from `{}`",
            spec.agencies[a].0
        )));
    }
    // Declared bounds (they tighten the CKKS noise estimate that sizes the smudging): the
    // row-normalised entries are in [0, 1], so is every score (they sum to 1), and so is every
    // slot of the replicated vector (its copies do not overlap).
    let diags = sum
        .ok_or_else(|| refuse("no submissions"))?
        .iter()
        .map(|d| be.declare_bound(d, 1.0))
        .collect::<Result<Vec<_>>>()?;
    let need = 2 * spec.iterations;
    if let Some(have) = diags.iter().map(|c| be.levels_left(c)).min() {
        if have < need {
            return Err(refuse(format!(
                "{} PageRank iterations need {need} levels, the ciphertexts have {have}: use fewer iterations or a deeper preset",
                spec.iterations
            )));
        }
    }
    tr.operation(be, "sum_contributions", &label, &diags);
    let alpha = spec.damping;
    #[allow(clippy::cast_precision_loss)]
    let teleport = (1.0 - alpha) / n as f64;
    let slots = be.slots();
    let block_sum_segments: Vec<Segment> = (0..n)
        .map(|i| Segment {
            ct: 0,
            start: i,
            len: layout.blocks,
        })
        .collect();
    let teleport_vec = vec![teleport; n];
    let mut x: Option<B::Ct> = None;
    for it in 0..spec.iterations {
        let mut acc: Option<B::Ct> = None;
        match &x {
            None => {
                // x_0 = 1/n is public: plaintext products.
                #[allow(clippy::cast_precision_loss)]
                let x0 = vec![1.0 / n as f64; layout.needed().min(slots)];
                for (c, d) in diags.iter().enumerate() {
                    let shifted: Vec<f64> = (0..slots)
                        .map(|s| {
                            let j = s + c * layout.blocks;
                            if j < x0.len() {
                                x0[j]
                            } else {
                                0.0
                            }
                        })
                        .collect();
                    let t = be.mul_plain(d, &shifted)?;
                    acc = Some(match acc {
                        None => t,
                        Some(a) => be.add(&a, &t)?,
                    });
                }
            }
            Some(xc) => {
                let rep = be.declare_bound(&replicate(be, xc, n, layout.needed())?, 1.0)?;
                let shifts: Vec<usize> = (1..layout.cts).map(|c| c * layout.blocks).collect();
                let mut rotated = vec![rep.clone()];
                rotated.extend(be.rotate_many(&rep, &shifts)?);
                for (d, z) in diags.iter().zip(&rotated) {
                    let t = be.mul(d, z)?;
                    acc = Some(match acc {
                        None => t,
                        Some(a) => be.add(&a, &t)?,
                    });
                }
            }
        }
        let prod = acc.ok_or_else(|| refuse("no diagonals"))?;
        let y = segment_sums_weighted(
            be,
            std::slice::from_ref(&prod),
            n + 1,
            &block_sum_segments,
            alpha,
        )?
        .pop()
        .flatten()
        .ok_or_else(|| refuse("empty block sum"))?;
        let next = be.declare_bound(&be.add_plain(&y, &teleport_vec)?, 1.0)?;
        tr.operation(
            be,
            "power_iteration",
            &format!("iteration={}", it + 1),
            std::slice::from_ref(&next),
        );
        x = Some(next);
    }
    let x = x.ok_or_else(|| refuse("no iterations"))?;
    let out = DeclaredOutput {
        name: format!("pagerank/{}", spec.label),
        cts: vec![x],
        slots: (0..n).map(|i| (0, i)).collect(),
    };
    tr.output(be, &out);
    Ok(Evaluation {
        transcript: tr,
        outputs: vec![out],
        counts: be.counter().snapshot() - start,
    })
}

/// `x` (at slots `0..n`, zero elsewhere) replicated with period `n` over `needed` slots:
/// doublings while they fit, then the remaining whole copies tiled from the earlier stages
/// (each stage is zero beyond its length, so the copies never overlap or wrap).
fn replicate<B: SlotBackend>(be: &B, x: &B::Ct, n: usize, needed: usize) -> Result<B::Ct> {
    let slots = be.slots();
    let mut stages = vec![x.clone()];
    let mut len = n;
    while len < needed && 2 * len <= slots {
        let last = &stages[stages.len() - 1];
        let r = be.rotate(last, slots - len)?;
        let next = be.add(last, &r)?;
        stages.push(next);
        len *= 2;
    }
    let mut rep = stages
        .last()
        .cloned()
        .ok_or_else(|| refuse("no replication stage"))?;
    if len < needed {
        let copies = (needed - len).div_ceil(n);
        if len + copies * n > slots {
            return Err(refuse("replication does not fit the slots"));
        }
        let mut off = len;
        for j in (0..stages.len()).rev() {
            if copies >> j & 1 == 1 {
                let r = be.rotate(&stages[j], slots - off)?;
                rep = be.add(&rep, &r)?;
                off += n << j;
            }
        }
    }
    Ok(rep)
}

/// PageRank in plain `f64` with the same model and iteration count.
#[allow(clippy::cast_precision_loss)]
pub fn plain_pagerank(flows: &[u64], n: usize, damping: f64, iterations: usize) -> Vec<f64> {
    let mut x = vec![1.0 / n as f64; n];
    for _ in 0..iterations {
        let mut y = vec![(1.0 - damping) / n as f64; n];
        for o in 0..n {
            let row = &flows[o * n..(o + 1) * n];
            let total: u64 = row.iter().sum();
            for d in 0..n {
                let p = if total == 0 {
                    1.0 / n as f64
                } else {
                    row[d] as f64 / total as f64
                };
                y[d] += damping * p * x[o];
            }
        }
        x = y;
    }
    x
}

/// Decrypted PageRank scores.
#[derive(Clone, Debug, PartialEq)]
pub struct PageRankResults {
    /// Score per node.
    pub scores: Vec<f64>,
    /// Node indices by decreasing score.
    pub ranking: Vec<usize>,
    /// Operation counts of the evaluation.
    pub counts: OpCounts,
}

impl PageRankResults {
    /// Decrypts the declared scores (checked against the transcript).
    ///
    /// # Errors
    /// Not authorised; decryption errors.
    pub fn open<B: SlotBackend<Value = f64>, D: Decryptor<B>>(
        be: &B,
        dec: &D,
        eval: &Evaluation<B::Ct>,
    ) -> Result<Self> {
        let out = eval
            .outputs
            .first()
            .ok_or_else(|| refuse("no PageRank output"))?;
        let scores = open_output(be, dec, &eval.transcript, out)?;
        let mut ranking: Vec<usize> = (0..scores.len()).collect();
        ranking.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        Ok(Self {
            scores,
            ranking,
            counts: eval.counts,
        })
    }
}

/// Re-executes the PageRank evaluation and checks the transcript bit for bit.
///
/// # Errors
/// As [`evaluate`]; [`Error::Analytics`] when anything differs.
pub fn verify<B: SlotBackend<Value = f64>>(
    be: &B,
    spec: &PageRankSpec,
    submissions: &[Submission<B::Ct>],
    transcript: &Transcript,
) -> Result<()> {
    transcript.same_as(&evaluate(be, spec, submissions)?.transcript)
}

/// The rotation steps [`evaluate`] uses for `spec` on a CKKS backend with `slots` slots (a
/// dry run on the stand-in with zero contributions; the steps depend only on the layout).
///
/// # Errors
/// As [`evaluate`].
pub fn plan_rotations(spec: &PageRankSpec, slots: usize) -> Result<Vec<usize>> {
    let be = super::PlainReal::new(slots);
    let layout = DiagonalLayout::new(spec.n, slots)?;
    let key = ed25519_dalek::SigningKey::from_bytes(&[0u8; 32]);
    let subs = spec
        .agencies
        .iter()
        .map(|(name, _)| {
            let cts = (0..layout.cts)
                .map(|_| be.encode(&[]))
                .collect::<Result<Vec<_>>>()?;
            Ok(Submission::sign(
                &be,
                &spec.analysis,
                name,
                &contribution_label(spec),
                cts,
                &key,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    evaluate(&be, spec, &subs)?;
    Ok(be.counter().rotation_steps())
}
