//! The encrypted flow matrix (BFV, exact counts): agencies' contributions, the count bound,
//! hierarchical aggregation, inflow/outflow/net per node, year-over-year change, return flows
//! per corridor, and contingency-table marginals (disaggregation).
//!
//! ## Contributions and packing
//! Each agency holds the immigration records of its member nodes: for every period, the
//! column `F[·, d]` of every member `d` (flows into `d` by origin). It encrypts two packings of
//! that data in the [`MatrixLayout`] of the study ([`contribution`]):
//! * `forward`: cell `(o, d)` holds `F[o, d]`;
//! * `reverse`: cell `(d, o)` holds `F[o, d]` — the transposed matrix, by packing choice.
//!
//! The node adds the agencies' submissions ciphertext by ciphertext, so `Σ forward = F` and
//! `Σ reverse = Fᵀ` (every cell comes from exactly one agency). Transposing a packed matrix
//! under encryption would need one rotation per distinct slot distance `pos(d,o) - pos(o,d)`
//! (thousands for 196 nodes); having the data holders pack `Fᵀ` costs one more encryption per
//! ciphertext and makes outflows (column sums of `Fᵀ`) land on the same slots as inflows, so net
//! migration is a subtraction, and return flows a slot-wise difference.
//!
//! ## Count bound
//! Every slot the evaluation produces is a sum of a subset of non-negative cells of one period,
//! or a difference of two such sums, so it lies in `[-B, B]` with `B = Σ_a max_total_a` (each
//! agency declares the largest total it may contribute per period, and its largest cell; the
//! contribution builder refuses data above them). Stacked (all-period) totals need `P·B`. BFV
//! decodes signed values from `(-t/2, t/2)`, so the study is refused unless the bound is at most
//! `(t - 1)/2` ([`FlowSpec::check_count_bound`]): with `t` the 31-bit count prime and ten agencies
//! of at most `10^8` each, `B = 10^9 < 2^30`.
//!
//! ## Declared outputs (per period `p`)
//! `groups/{level}/{p}` (box sums for each aggregation level), `world/{p}`, `inflow/{p}`,
//! `outflow/{p}`, `net/{p}` (per node), `yoy_inflow/{p}`, `yoy_outflow/{p}` (change from the
//! previous period), `corridor_forward/{p}`, `corridor_reverse/{p}`, `corridor_net/{p}` (the
//! declared corridors only), and `stacked_inflow` when stacking is requested. Net migration
//! rates per 1,000 and return ratios are public functions of these outputs
//! ([`FlowResults`]). No intermediate value is decrypted: the whole evaluation is additions,
//! masks and rotations (depth 0 in multiplications; one plaintext product per mask).

use super::backend::{Decryptor, OpCounts, SlotBackend};
use super::linear::{
    group_vector_sums, mask, segment_sums, MatrixLayout, Packed, Segment, SlotRef,
};
use super::transcript::{open_output, DeclaredOutput, Submission, Transcript};
use crate::error::{Error, Result};
use std::collections::BTreeMap;

fn refuse(reason: impl Into<String>) -> Error {
    Error::Analytics {
        reason: reason.into(),
    }
}

/// An agency: its member nodes and its declared maxima.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgencySpec {
    /// Name (bound into its signatures).
    pub name: String,
    /// Member nodes (whose inflow columns it contributes).
    pub members: Vec<usize>,
    /// Declared largest single cell.
    pub max_cell: u64,
    /// Declared largest total of its contribution in one period.
    pub max_total: u64,
}

/// An aggregation level: a public membership table nested in the layout's groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Level {
    /// Name (e.g. `region`, `division`).
    pub name: String,
    /// Group names.
    pub names: Vec<String>,
    /// Group of each node (`0..names.len()`).
    pub grouping: Vec<usize>,
}

/// The public description of a flow study.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowSpec {
    /// Analysis identifier (bound into every signature).
    pub analysis: String,
    /// Node names.
    pub nodes: Vec<String>,
    /// Period labels.
    pub periods: Vec<String>,
    /// The agencies (their members partition the nodes).
    pub agencies: Vec<AgencySpec>,
    /// Aggregation levels; the layout is built from the first one (the finest), every other
    /// must nest in it as runs of consecutive group ids.
    pub levels: Vec<Level>,
    /// Declared corridors `(origin, destination)` for return flows.
    pub corridors: Vec<(usize, usize)>,
    /// Whether the all-period stacked inflow is an output.
    pub stacked: bool,
}

impl FlowSpec {
    /// A study of the Abel–Sander flows over all four periods: one agency per region (each
    /// declaring at most `max_cell` per cell and `max_total` per period), the region level,
    /// and the declared `corridors` (pairs of ISO3 codes; unknown codes are refused).
    ///
    /// # Errors
    /// An unknown corridor code.
    pub fn abel_sander(
        analysis: &str,
        d: &super::data::AbelSander,
        max_cell: u64,
        max_total: u64,
        corridors: &[(&str, &str)],
    ) -> Result<Self> {
        let corridors = corridors
            .iter()
            .map(|&(o, t)| match (d.index(o), d.index(t)) {
                (Some(a), Some(b)) => Ok((a, b)),
                _ => Err(refuse(format!("unknown corridor {o}->{t}"))),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            analysis: analysis.to_string(),
            nodes: d.countries.iter().map(|c| c.iso3.clone()).collect(),
            periods: d.periods.clone(),
            agencies: d
                .agencies_by_region()
                .into_iter()
                .map(|(name, members)| AgencySpec {
                    name,
                    members,
                    max_cell,
                    max_total,
                })
                .collect(),
            levels: vec![Level {
                name: "region".into(),
                names: d.regions.clone(),
                grouping: d.region_of(),
            }],
            corridors,
            stacked: false,
        })
    }

    /// A study of the US state-to-state flows for the given year indices: one agency per
    /// Census division, levels division (layout) and Census region, stacked inflow.
    pub fn us_states(
        analysis: &str,
        u: &super::data::UsMigration,
        years: &[usize],
        max_cell: u64,
        max_total: u64,
    ) -> Self {
        let (div_names, divisions) = u.divisions();
        let (reg_names, regions) = u.regions();
        Self {
            analysis: analysis.to_string(),
            nodes: u.states.iter().map(|s| s.name.clone()).collect(),
            periods: years
                .iter()
                .filter_map(|&y| u.years.get(y).map(ToString::to_string))
                .collect(),
            agencies: (0..div_names.len())
                .map(|g| AgencySpec {
                    name: format!("division-{}", div_names[g]),
                    members: (0..u.states.len()).filter(|&i| divisions[i] == g).collect(),
                    max_cell,
                    max_total,
                })
                .collect(),
            levels: vec![
                Level {
                    name: "division".into(),
                    names: div_names,
                    grouping: divisions,
                },
                Level {
                    name: "census_region".into(),
                    names: reg_names,
                    grouping: regions,
                },
            ],
            corridors: Vec::new(),
            stacked: true,
        }
    }

    /// Checks the agencies partition the nodes and the levels are well formed.
    ///
    /// # Errors
    /// [`Error::Analytics`] saying what is wrong.
    pub fn validate(&self) -> Result<()> {
        let n = self.nodes.len();
        let mut owner = vec![None; n];
        for (a, ag) in self.agencies.iter().enumerate() {
            for &m in &ag.members {
                if m >= n {
                    return Err(refuse(format!(
                        "agency `{}` names node {m} of {n}",
                        ag.name
                    )));
                }
                if owner[m].replace(a).is_some() {
                    return Err(refuse(format!(
                        "node `{}` belongs to two agencies",
                        self.nodes[m]
                    )));
                }
            }
        }
        if let Some(m) = owner.iter().position(Option::is_none) {
            return Err(refuse(format!("node `{}` has no agency", self.nodes[m])));
        }
        if self.levels.is_empty() {
            return Err(refuse("a flow study needs at least one aggregation level"));
        }
        for l in &self.levels {
            if l.grouping.len() != n || l.grouping.iter().any(|&g| g >= l.names.len()) {
                return Err(refuse(format!(
                    "level `{}` does not cover the nodes",
                    l.name
                )));
            }
        }
        if self.periods.is_empty() {
            return Err(refuse("a flow study needs at least one period"));
        }
        if self.corridors.iter().any(|&(o, d)| o >= n || d >= n) {
            return Err(refuse("a declared corridor names an unknown node"));
        }
        Ok(())
    }

    /// The layout for a backend with `slots` slots in rows of `row_len`.
    ///
    /// # Errors
    /// As [`MatrixLayout::new`].
    pub fn layout(&self, slots: usize, row_len: usize) -> Result<MatrixLayout> {
        self.validate()?;
        MatrixLayout::new(&self.levels[0].grouping, slots, row_len)
    }

    /// The largest magnitude any slot of the evaluation can reach (module docs).
    pub fn count_bound(&self) -> u128 {
        let b: u128 = self.agencies.iter().map(|a| u128::from(a.max_total)).sum();
        if self.stacked {
            b * self.periods.len() as u128
        } else {
            b
        }
    }

    /// Refuses the study unless every sum fits the plaintext modulus `t` as a signed value;
    /// returns the bound.
    ///
    /// # Errors
    /// [`Error::Analytics`] with the bound and `t`.
    pub fn check_count_bound(&self, t: u64) -> Result<u128> {
        let b = self.count_bound();
        if b > u128::from((t - 1) / 2) {
            return Err(refuse(format!(
                "declared maxima allow sums up to {b}, but the plaintext modulus t = {t} holds signed values up to {} only: use a preset with a larger t (bfv n32768_count_t45bit) or declare smaller maxima",
                (t - 1) / 2
            )));
        }
        Ok(b)
    }

    fn parameters(&self) -> String {
        let levels: Vec<String> = self
            .levels
            .iter()
            .map(|l| format!("{}:{:?}", l.name, l.grouping))
            .collect();
        let agencies: Vec<String> = self
            .agencies
            .iter()
            .map(|a| format!("{}:{:?}:{}:{}", a.name, a.members, a.max_cell, a.max_total))
            .collect();
        format!(
            "nodes={};periods={:?};levels=[{}];agencies=[{}];corridors={:?};stacked={}",
            self.nodes.join(","),
            self.periods,
            levels.join(";"),
            agencies.join(";"),
            self.corridors,
            self.stacked
        )
    }
}

/// Label of a submission: `{period}/forward` or `{period}/reverse`.
pub fn contribution_label(period: &str, reverse: bool) -> String {
    format!("{period}/{}", if reverse { "reverse" } else { "forward" })
}

/// An agency's plaintext contribution for one period: `(forward, reverse)` slot vectors, one
/// per ciphertext of the layout. `flows[o·n + d]` is read only for `d` among its members.
///
/// # Errors
/// [`Error::Analytics`] when a value exceeds the agency's declared maxima (nothing is
/// produced), or `flows` has the wrong size.
pub fn contribution(
    spec: &FlowSpec,
    layout: &MatrixLayout,
    agency: usize,
    flows: &[u64],
) -> Result<(Packed<i64>, Packed<i64>)> {
    let n = spec.nodes.len();
    let ag = spec
        .agencies
        .get(agency)
        .ok_or_else(|| refuse("unknown agency"))?;
    if flows.len() != n * n {
        return Err(Error::LengthMismatch {
            expected: n * n,
            found: flows.len(),
        });
    }
    let mut total: u128 = 0;
    for &d in &ag.members {
        for o in 0..n {
            let v = flows[o * n + d];
            if v > ag.max_cell {
                return Err(refuse(format!(
                    "agency `{}`: flow {}->{} exceeds its declared maximum cell {}",
                    ag.name, spec.nodes[o], spec.nodes[d], ag.max_cell
                )));
            }
            total += u128::from(v);
        }
    }
    if total > u128::from(ag.max_total) {
        return Err(refuse(format!(
            "agency `{}`: contribution total exceeds its declared maximum {}",
            ag.name, ag.max_total
        )));
    }
    let mine: Vec<bool> = (0..n).map(|d| ag.members.contains(&d)).collect();
    let val = |o: usize, d: usize| -> i64 {
        if mine[d] {
            i64::try_from(flows[o * n + d]).unwrap_or(i64::MAX)
        } else {
            0
        }
    };
    let fwd = layout.pack(val);
    let rev = layout.pack(|r, c| val(c, r));
    Ok((fwd, rev))
}

/// The node's evaluation: transcript, declared outputs, operation counts.
#[derive(Clone, Debug)]
pub struct Evaluation<Ct> {
    /// The audit transcript.
    pub transcript: Transcript,
    /// Declared outputs, in transcript order.
    pub outputs: Vec<DeclaredOutput<Ct>>,
    /// Homomorphic operations used.
    pub counts: OpCounts,
}

impl<Ct> Evaluation<Ct> {
    /// The output called `name`.
    ///
    /// # Errors
    /// No such output.
    pub fn output(&self, name: &str) -> Result<&DeclaredOutput<Ct>> {
        self.outputs
            .iter()
            .find(|o| o.name == name)
            .ok_or_else(|| refuse(format!("no declared output `{name}`")))
    }
}

/// An encrypted origin × destination matrix of one period (or a stack of periods) in the
/// study's [`MatrixLayout`]: `forward` packs `F`, `reverse` packs `Fᵀ` (module docs).
#[derive(Clone, Debug)]
pub struct FlowMatrix<Ct> {
    /// Period label (or `a+b+…` for a stack).
    pub period: String,
    /// `F`, one ciphertext per layout ciphertext.
    pub forward: Vec<Ct>,
    /// `Fᵀ`.
    pub reverse: Vec<Ct>,
}

impl<Ct: Clone> FlowMatrix<Ct> {
    /// The homomorphic sum of the agencies' `(forward, reverse)` contributions.
    ///
    /// # Errors
    /// No contributions; contributions of different sizes; backend errors.
    pub fn sum<B: SlotBackend<Ct = Ct>>(
        be: &B,
        period: &str,
        forward: &[&Vec<Ct>],
        reverse: &[&Vec<Ct>],
    ) -> Result<Self> {
        Ok(Self {
            period: period.to_string(),
            forward: sum_cts(be, forward)?,
            reverse: sum_cts(be, reverse)?,
        })
    }

    /// The stack (cell-wise sum) of several periods' matrices; its counts are bounded by the
    /// periods' bounds added ([`FlowSpec::count_bound`] with `stacked`).
    ///
    /// # Errors
    /// No matrices; matrices of different sizes; backend errors.
    pub fn stack<B: SlotBackend<Ct = Ct>>(be: &B, mats: &[Self]) -> Result<Self> {
        let f: Vec<&Vec<Ct>> = mats.iter().map(|m| &m.forward).collect();
        let r: Vec<&Vec<Ct>> = mats.iter().map(|m| &m.reverse).collect();
        let names: Vec<&str> = mats.iter().map(|m| m.period.as_str()).collect();
        Self::sum(be, &names.join("+"), &f, &r)
    }
}

fn sum_cts<B: SlotBackend>(be: &B, parts: &[&Vec<B::Ct>]) -> Result<Vec<B::Ct>> {
    let mut acc = parts
        .first()
        .map(|p| (*p).clone())
        .ok_or_else(|| refuse("no contributions"))?;
    for p in &parts[1..] {
        if p.len() != acc.len() {
            return Err(refuse("contributions of different sizes"));
        }
        for (a, b) in acc.iter_mut().zip(p.iter()) {
            *a = be.add(a, b)?;
        }
    }
    Ok(acc)
}

/// Evaluates the declared flow analysis over signed submissions (one `forward` and one
/// `reverse` per agency and period, labels from [`contribution_label`]).
///
/// # Errors
/// A missing, duplicate or unknown submission; a bad signature or digest; the count bound;
/// backend errors.
pub fn evaluate<B>(
    be: &B,
    spec: &FlowSpec,
    t: u64,
    submissions: &[Submission<B::Ct>],
) -> Result<Evaluation<B::Ct>>
where
    B: SlotBackend<Value = i64> + Sync,
    B::Ct: Send + Sync,
{
    spec.check_count_bound(t)?;
    let layout = spec.layout(be.slots(), be.row_len())?;
    let start = be.counter().snapshot();
    let mut tr = Transcript::begin(&spec.analysis, &be.describe(), &spec.parameters());
    let mut by: ByKey<'_, B::Ct> = BTreeMap::new();
    for s in submissions {
        let a = spec
            .agencies
            .iter()
            .position(|a| a.name == s.agency)
            .ok_or_else(|| refuse(format!("submission from unknown agency `{}`", s.agency)))?;
        let (p, rev) = spec
            .periods
            .iter()
            .enumerate()
            .find_map(|(p, name)| {
                [false, true]
                    .into_iter()
                    .find(|&r| contribution_label(name, r) == s.label)
                    .map(|r| (p, r))
            })
            .ok_or_else(|| refuse(format!("unknown submission label `{}`", s.label)))?;
        if s.cts.len() != layout.n_cts() {
            return Err(refuse(format!(
                "submission `{}` of `{}` has {} ciphertexts, the layout needs {}",
                s.label,
                s.agency,
                s.cts.len(),
                layout.n_cts()
            )));
        }
        tr.submission(be, s)?;
        if by.insert((p, rev, a), s).is_some() {
            return Err(refuse(format!(
                "two submissions `{}` from agency `{}`",
                s.label, s.agency
            )));
        }
    }
    let n = spec.nodes.len();
    let node_slots: Vec<SlotRef> = (0..n).map(|d| (0, layout.column(d))).collect();
    let periods = spec.periods.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(periods)
        .max(1);
    let run = |p: usize| period_eval(be, spec, &layout, &by, p, &node_slots);
    let mut evals: Vec<Option<Result<PeriodEval<B::Ct>>>> = (0..periods).map(|_| None).collect();
    if threads == 1 {
        for (p, e) in evals.iter_mut().enumerate() {
            *e = Some(run(p));
        }
    } else {
        let done: Vec<Vec<Indexed<PeriodEval<B::Ct>>>> = std::thread::scope(|sc| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let run = &run;
                    sc.spawn(move || {
                        (t..periods)
                            .step_by(threads)
                            .map(|p| (p, run(p)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| vec![(0, Err(refuse("an evaluation thread panicked")))])
                })
                .collect()
        });
        for (p, e) in done.into_iter().flatten() {
            evals[p] = Some(e);
        }
    }
    let mut outputs = Vec::new();
    let mut declare = |tr: &mut Transcript, name: String, cts: Vec<B::Ct>, slots: Vec<SlotRef>| {
        let out = DeclaredOutput { name, cts, slots };
        tr.output(be, &out);
        outputs.push(out);
    };
    let mut prev: Option<(B::Ct, B::Ct)> = None;
    let mut stacked: Option<B::Ct> = None;
    for (p, pname) in spec.periods.iter().enumerate() {
        let pe = evals[p]
            .take()
            .ok_or_else(|| refuse("a period was not evaluated"))??;
        for ev in pe.events {
            match ev {
                Event::Op(name, params, cts) => tr.operation(be, &name, &params, &cts),
                Event::Out(name, cts, slots) => declare(&mut tr, name, cts, slots),
            }
        }
        let (inflow, outflow) = (pe.inflow, pe.outflow);
        if let Some((pi, po)) = &prev {
            let di = be.sub(&inflow, pi)?;
            let dout = be.sub(&outflow, po)?;
            tr.operation(be, "yoy", "this-previous", &[di.clone(), dout.clone()]);
            declare(
                &mut tr,
                format!("yoy_inflow/{pname}"),
                vec![di],
                node_slots.clone(),
            );
            declare(
                &mut tr,
                format!("yoy_outflow/{pname}"),
                vec![dout],
                node_slots.clone(),
            );
        }
        if spec.stacked {
            stacked = Some(match stacked.take() {
                None => inflow.clone(),
                Some(s) => be.add(&s, &inflow)?,
            });
        }
        prev = Some((inflow, outflow));
    }
    if let Some(s) = stacked {
        declare(&mut tr, "stacked_inflow".into(), vec![s], node_slots);
    }
    Ok(Evaluation {
        transcript: tr,
        outputs,
        counts: be.counter().snapshot() - start,
    })
}

enum Event<Ct> {
    Op(String, String, Vec<Ct>),
    Out(String, Vec<Ct>, Vec<SlotRef>),
}

struct PeriodEval<Ct> {
    events: Vec<Event<Ct>>,
    inflow: Ct,
    outflow: Ct,
}

/// A period index and its evaluation.
type Indexed<T> = (usize, Result<T>);

type ByKey<'a, Ct> = BTreeMap<(usize, bool, usize), &'a Submission<Ct>>;

/// Everything of period `p` that does not depend on another period, as transcript events.
fn period_eval<B: SlotBackend<Value = i64>>(
    be: &B,
    spec: &FlowSpec,
    layout: &MatrixLayout,
    by: &ByKey<'_, B::Ct>,
    p: usize,
    node_slots: &[SlotRef],
) -> Result<PeriodEval<B::Ct>> {
    let pname = &spec.periods[p];
    let n = spec.nodes.len();
    let mut ev = Vec::new();
    let op = |ev: &mut Vec<Event<B::Ct>>, name: &str, params: String, cts: Vec<B::Ct>| {
        ev.push(Event::Op(name.to_string(), params, cts));
    };
    let mut parts: [Vec<&Vec<B::Ct>>; 2] = [Vec::new(), Vec::new()];
    for (k, rev) in [false, true].into_iter().enumerate() {
        parts[k] = (0..spec.agencies.len())
            .map(|a| {
                by.get(&(p, rev, a)).map(|s| &s.cts).ok_or_else(|| {
                    refuse(format!(
                        "missing submission `{}` from agency `{}`",
                        contribution_label(pname, rev),
                        spec.agencies[a].name
                    ))
                })
            })
            .collect::<Result<_>>()?;
    }
    let fm = FlowMatrix::sum(be, pname, &parts[0], &parts[1])?;
    op(
        &mut ev,
        "sum_contributions",
        contribution_label(pname, false),
        fm.forward.clone(),
    );
    op(
        &mut ev,
        "sum_contributions",
        contribution_label(pname, true),
        fm.reverse.clone(),
    );
    let (fwd, rev) = (&fm.forward, &fm.reverse);
    let ffold = layout.fold(be, fwd)?;
    let rfold = layout.fold(be, rev)?;
    op(
        &mut ev,
        "fold",
        "forward;reverse".into(),
        vec![ffold.clone(), rfold.clone()],
    );
    for level in &spec.levels {
        let (ct, slots) = layout.group_sums(be, &ffold, &level.grouping)?;
        op(
            &mut ev,
            "group_sums",
            format!("level={}", level.name),
            vec![ct.clone()],
        );
        ev.push(Event::Out(
            format!("groups/{}/{pname}", level.name),
            vec![ct],
            slots.into_iter().map(|s| (0, s)).collect(),
        ));
    }
    let inflow = layout.column_sums(be, &ffold)?;
    let outflow = layout.column_sums(be, &rfold)?;
    let net = be.sub(&inflow, &outflow)?;
    op(
        &mut ev,
        "column_sums",
        "inflow=colsum(forward);outflow=colsum(reverse);net=inflow-outflow".into(),
        vec![inflow.clone(), outflow.clone(), net.clone()],
    );
    let all = vec![0usize; n];
    let (world, wslots) = group_vector_sums(be, layout, &inflow, &all)?;
    op(
        &mut ev,
        "world_total",
        "sum(inflow)".into(),
        vec![world.clone()],
    );
    ev.push(Event::Out(
        format!("world/{pname}"),
        vec![world],
        wslots.iter().map(|&s| (0, s)).collect(),
    ));
    ev.push(Event::Out(
        format!("inflow/{pname}"),
        vec![inflow.clone()],
        node_slots.to_vec(),
    ));
    ev.push(Event::Out(
        format!("outflow/{pname}"),
        vec![outflow.clone()],
        node_slots.to_vec(),
    ));
    ev.push(Event::Out(
        format!("net/{pname}"),
        vec![net],
        node_slots.to_vec(),
    ));
    if !spec.corridors.is_empty() {
        let cells: Vec<SlotRef> = spec
            .corridors
            .iter()
            .map(|&(o, d)| layout.cell(o, d))
            .collect();
        let mut per_ct: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &(c, s) in &cells {
            per_ct.entry(c).or_default().push(s);
        }
        let renum: BTreeMap<usize, usize> =
            per_ct.keys().enumerate().map(|(i, &c)| (c, i)).collect();
        let slots: Vec<SlotRef> = cells.iter().map(|&(c, s)| (renum[&c], s)).collect();
        let (mut f, mut r, mut d) = (Vec::new(), Vec::new(), Vec::new());
        for (&c, pos) in &per_ct {
            let fm = mask(be, &fwd[c], pos)?;
            let rm = mask(be, &rev[c], pos)?;
            d.push(be.sub(&fm, &rm)?);
            f.push(fm);
            r.push(rm);
        }
        op(
            &mut ev,
            "corridors",
            format!("{:?}", spec.corridors),
            d.clone(),
        );
        ev.push(Event::Out(
            format!("corridor_forward/{pname}"),
            f,
            slots.clone(),
        ));
        ev.push(Event::Out(
            format!("corridor_reverse/{pname}"),
            r,
            slots.clone(),
        ));
        ev.push(Event::Out(format!("corridor_net/{pname}"), d, slots));
    }
    Ok(PeriodEval {
        events: ev,
        inflow,
        outflow,
    })
}

/// Re-executes the evaluation from the submissions and checks the transcript and every output
/// bit for bit.
///
/// # Errors
/// [`Error::Analytics`] when anything differs; as [`evaluate`].
pub fn verify<B>(
    be: &B,
    spec: &FlowSpec,
    t: u64,
    submissions: &[Submission<B::Ct>],
    transcript: &Transcript,
) -> Result<()>
where
    B: SlotBackend<Value = i64> + Sync,
    B::Ct: Send + Sync,
{
    let again = evaluate(be, spec, t, submissions)?;
    transcript.same_as(&again.transcript)
}

/// A corridor's decrypted figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Corridor {
    /// Origin node.
    pub origin: usize,
    /// Destination node.
    pub dest: usize,
    /// `F[o, d]`.
    pub forward: i64,
    /// `F[d, o]` (the return flow).
    pub reverse: i64,
    /// `F[o, d] - F[d, o]`.
    pub net: i64,
    /// `F[d, o] / F[o, d]` (`None` when the forward flow is 0).
    pub return_ratio: Option<f64>,
}

/// Decrypted results of one period.
#[derive(Clone, Debug, PartialEq)]
pub struct PeriodResults {
    /// Period label.
    pub period: String,
    /// `(level name, g×g matrix row-major)`.
    pub groups: Vec<(String, Vec<i64>)>,
    /// World total.
    pub world: i64,
    /// Inflow per node.
    pub inflow: Vec<i64>,
    /// Outflow per node.
    pub outflow: Vec<i64>,
    /// Net per node.
    pub net: Vec<i64>,
    /// Change of inflow and outflow from the previous period (none for the first).
    pub yoy: Option<(Vec<i64>, Vec<i64>)>,
    /// Declared corridors.
    pub corridors: Vec<Corridor>,
}

/// Decrypted results of a flow study.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowResults {
    /// Per period.
    pub periods: Vec<PeriodResults>,
    /// Stacked inflow (all periods), if declared.
    pub stacked_inflow: Option<Vec<i64>>,
    /// Names of the outputs decrypted, in order.
    pub decrypted: Vec<String>,
}

impl FlowResults {
    /// Decrypts every declared output of `eval` through `dec` (each checked against the
    /// transcript) and reads the results.
    ///
    /// # Errors
    /// An output not authorised by the transcript; decryption errors.
    pub fn open<B: SlotBackend<Value = i64>, D: Decryptor<B>>(
        be: &B,
        dec: &D,
        spec: &FlowSpec,
        eval: &Evaluation<B::Ct>,
    ) -> Result<Self> {
        let mut decrypted = Vec::new();
        let mut get = |name: String| -> Result<Vec<i64>> {
            let out = eval.output(&name)?;
            let v = open_output(be, dec, &eval.transcript, out)?;
            decrypted.push(name);
            Ok(v)
        };
        let mut periods = Vec::new();
        for (p, pname) in spec.periods.iter().enumerate() {
            let groups = spec
                .levels
                .iter()
                .map(|l| Ok((l.name.clone(), get(format!("groups/{}/{pname}", l.name))?)))
                .collect::<Result<Vec<_>>>()?;
            let world = get(format!("world/{pname}"))?.first().copied().unwrap_or(0);
            let inflow = get(format!("inflow/{pname}"))?;
            let outflow = get(format!("outflow/{pname}"))?;
            let net = get(format!("net/{pname}"))?;
            let yoy = if p > 0 {
                Some((
                    get(format!("yoy_inflow/{pname}"))?,
                    get(format!("yoy_outflow/{pname}"))?,
                ))
            } else {
                None
            };
            let corridors = if spec.corridors.is_empty() {
                Vec::new()
            } else {
                let f = get(format!("corridor_forward/{pname}"))?;
                let r = get(format!("corridor_reverse/{pname}"))?;
                let d = get(format!("corridor_net/{pname}"))?;
                spec.corridors
                    .iter()
                    .enumerate()
                    .map(|(i, &(o, dd))| Corridor {
                        origin: o,
                        dest: dd,
                        forward: f[i],
                        reverse: r[i],
                        net: d[i],
                        #[allow(clippy::cast_precision_loss)]
                        return_ratio: (f[i] != 0).then(|| r[i] as f64 / f[i] as f64),
                    })
                    .collect()
            };
            periods.push(PeriodResults {
                period: pname.clone(),
                groups,
                world,
                inflow,
                outflow,
                net,
                yoy,
                corridors,
            });
        }
        let stacked_inflow = if spec.stacked {
            Some(get("stacked_inflow".into())?)
        } else {
            None
        };
        Ok(Self {
            periods,
            stacked_inflow,
            decrypted,
        })
    }
}

/// Net migration per 1,000 population: `1000 · net / population` (public post-processing of
/// the declared net output; `None` where the population is missing or zero).
#[allow(clippy::cast_precision_loss)]
pub fn net_rate_per_1000(net: &[i64], population: &[Option<f64>]) -> Vec<Option<f64>> {
    net.iter()
        .zip(population)
        .map(|(&x, p)| p.filter(|&p| p > 0.0).map(|p| 1000.0 * x as f64 / p))
        .collect()
}

/// A contingency table over categorical dimensions, packed row-major (last dimension fastest)
/// into one rotation row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contingency {
    /// Dimension names.
    pub names: Vec<String>,
    /// Dimension sizes.
    pub dims: Vec<usize>,
}

impl Contingency {
    /// Number of cells.
    pub fn cells(&self) -> usize {
        self.dims.iter().product()
    }

    fn stride(&self, j: usize) -> usize {
        self.dims[j + 1..].iter().product()
    }

    /// Encrypted marginal: sums over every dimension with `keep[j] == false`. Returns the
    /// ciphertext and the slot of each kept-index tuple (row-major over the kept dimensions).
    ///
    /// # Errors
    /// A table larger than one rotation row; `keep` of the wrong length; backend errors.
    pub fn marginal<B: SlotBackend>(
        &self,
        be: &B,
        table: &B::Ct,
        keep: &[bool],
    ) -> Result<(B::Ct, Vec<usize>)> {
        if keep.len() != self.dims.len() {
            return Err(Error::LengthMismatch {
                expected: self.dims.len(),
                found: keep.len(),
            });
        }
        if self.cells() > be.row_len() || self.dims.contains(&0) {
            return Err(refuse(format!(
                "a contingency table of {} cells does not fit one rotation row of {}",
                self.cells(),
                be.row_len()
            )));
        }
        let k = self.dims.len();
        // positions with every summed-so-far dimension at 0
        let index_of = |idx: &[usize]| -> usize { (0..k).map(|j| idx[j] * self.stride(j)).sum() };
        let tuples = |zero: &[bool]| -> Vec<Vec<usize>> {
            let mut out = vec![vec![]];
            for (&z, &size) in zero.iter().zip(&self.dims) {
                let range = if z { 1 } else { size };
                out = out
                    .into_iter()
                    .flat_map(|t| {
                        (0..range).map(move |i| {
                            let mut t2 = t.clone();
                            t2.push(i);
                            t2
                        })
                    })
                    .collect();
            }
            out
        };
        let mut ct = table.clone();
        let mut zero = vec![false; k];
        let mut summed_any = false;
        for j in 0..k {
            if keep[j] {
                continue;
            }
            zero[j] = true;
            let segs: Vec<Segment> = tuples(&zero)
                .iter()
                .map(|t| Segment {
                    ct: 0,
                    start: index_of(t),
                    len: self.dims[j],
                })
                .collect();
            ct = segment_sums(be, std::slice::from_ref(&ct), self.stride(j), &segs)?
                .pop()
                .flatten()
                .ok_or_else(|| refuse("empty marginal"))?;
            summed_any = true;
        }
        let positions: Vec<usize> = tuples(&zero).iter().map(|t| index_of(t)).collect();
        if !summed_any {
            ct = mask(be, &ct, &positions)?;
        }
        Ok((ct, positions))
    }
}

/// The rotation steps (left, within a row) and whether the row swap is used by
/// [`evaluate`] for `spec` on a BFV backend with `degree` slots in two rows: a dry run on the
/// plaintext stand-in with zero contributions (the steps depend only on the public layout).
/// Generate exactly these Galois keys (collectively, in a threshold deployment) before the
/// evaluation.
///
/// # Errors
/// As [`evaluate`].
pub fn plan_rotations(spec: &FlowSpec, degree: usize, t: u64) -> Result<(Vec<usize>, bool)> {
    let be = super::PlainInt::new(degree, 2, t)?;
    let layout = spec.layout(be.slots(), be.row_len())?;
    let key = ed25519_dalek::SigningKey::from_bytes(&[0u8; 32]);
    let zero = vec![0u64; spec.nodes.len() * spec.nodes.len()];
    let mut subs = Vec::new();
    for (a, ag) in spec.agencies.iter().enumerate() {
        let (fwd, rev) = contribution(spec, &layout, a, &zero)?;
        for pname in &spec.periods {
            for (r, vecs) in [(false, &fwd), (true, &rev)] {
                let cts = vecs
                    .iter()
                    .map(|v| be.encode(v))
                    .collect::<Result<Vec<_>>>()?;
                subs.push(Submission::sign(
                    &be,
                    &spec.analysis,
                    &ag.name,
                    &contribution_label(pname, r),
                    cts,
                    &key,
                ));
            }
        }
    }
    evaluate(&be, spec, t, &subs)?;
    Ok((be.counter().rotation_steps(), be.counter().used_row_swap()))
}

impl Contingency {
    /// The cells (row-major) whose index along dimension `dim` is among `values`, others 0: an
    /// agency's share of a table (e.g. the destination regions it holds).
    ///
    /// # Errors
    /// `cells` of the wrong length; `dim` out of range.
    pub fn slice(&self, cells: &[u64], dim: usize, values: &[usize]) -> Result<Vec<i64>> {
        if cells.len() != self.cells() || dim >= self.dims.len() {
            return Err(Error::LengthMismatch {
                expected: self.cells(),
                found: cells.len(),
            });
        }
        let stride = self.stride(dim);
        let size = self.dims[dim];
        Ok(cells
            .iter()
            .enumerate()
            .map(|(k, &v)| {
                if values.contains(&((k / stride) % size)) {
                    i64::try_from(v).unwrap_or(i64::MAX)
                } else {
                    0
                }
            })
            .collect())
    }
}

/// A declared disaggregation: a contingency table contributed by agencies, and the marginals
/// (sets of kept dimensions) to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSpec {
    /// Analysis identifier.
    pub analysis: String,
    /// Table name (submission label `table/{name}`).
    pub name: String,
    /// The table's dimensions.
    pub table: Contingency,
    /// Agencies `(name, declared maximum total of its cells)`.
    pub agencies: Vec<(String, u64)>,
    /// Marginals to publish: for each, which dimensions are kept.
    pub marginals: Vec<Vec<bool>>,
}

impl TableSpec {
    /// Submission label.
    pub fn label(&self) -> String {
        format!("table/{}", self.name)
    }

    /// Output name of marginal `keep`: `marginal/{name}/{kept dims joined by +, or total}`.
    pub fn output_name(&self, keep: &[bool]) -> String {
        let kept: Vec<&str> = self
            .table
            .names
            .iter()
            .zip(keep)
            .filter(|(_, &k)| k)
            .map(|(n, _)| n.as_str())
            .collect();
        let dims = if kept.is_empty() {
            "total".to_string()
        } else {
            kept.join("+")
        };
        format!("marginal/{}/{dims}", self.name)
    }
}

/// Sums the agencies' tables and declares the requested marginals (every value a sum of
/// non-negative cells: refused unless `Σ max_total <= (t - 1)/2`).
///
/// # Errors
/// The count bound; missing or duplicate submissions; a table larger than one row; backend
/// errors.
pub fn evaluate_marginals<B: SlotBackend<Value = i64>>(
    be: &B,
    spec: &TableSpec,
    t: u64,
    subs: &[Submission<B::Ct>],
) -> Result<Evaluation<B::Ct>> {
    let bound: u128 = spec.agencies.iter().map(|a| u128::from(a.1)).sum();
    if bound > u128::from((t - 1) / 2) {
        return Err(refuse(format!(
            "declared maxima allow sums up to {bound}, more than t = {t} holds: use a larger t or smaller maxima"
        )));
    }
    let start = be.counter().snapshot();
    let params = format!(
        "table={:?};agencies={:?};marginals={:?}",
        spec.table, spec.agencies, spec.marginals
    );
    let mut tr = Transcript::begin(&spec.analysis, &be.describe(), &params);
    let label = spec.label();
    let mut seen = vec![false; spec.agencies.len()];
    let mut acc: Option<B::Ct> = None;
    for s in subs.iter().filter(|s| s.label == label) {
        let a = spec
            .agencies
            .iter()
            .position(|(n, _)| *n == s.agency)
            .ok_or_else(|| refuse(format!("submission from unknown agency `{}`", s.agency)))?;
        if std::mem::replace(&mut seen[a], true) || s.cts.len() != 1 {
            return Err(refuse(format!(
                "agency `{}`: one table submission of one ciphertext expected",
                s.agency
            )));
        }
        tr.submission(be, s)?;
        acc = Some(match acc {
            None => s.cts[0].clone(),
            Some(x) => be.add(&x, &s.cts[0])?,
        });
    }
    if let Some(a) = seen.iter().position(|s| !s) {
        return Err(refuse(format!(
            "missing table submission from `{}`",
            spec.agencies[a].0
        )));
    }
    let table = acc.ok_or_else(|| refuse("no table submissions"))?;
    tr.operation(be, "sum_tables", &label, std::slice::from_ref(&table));
    let mut outputs = Vec::new();
    for keep in &spec.marginals {
        let (ct, slots) = spec.table.marginal(be, &table, keep)?;
        let name = spec.output_name(keep);
        tr.operation(be, "marginal", &name, std::slice::from_ref(&ct));
        let out = DeclaredOutput {
            name,
            cts: vec![ct],
            slots: slots.into_iter().map(|s| (0, s)).collect(),
        };
        tr.output(be, &out);
        outputs.push(out);
    }
    Ok(Evaluation {
        transcript: tr,
        outputs,
        counts: be.counter().snapshot() - start,
    })
}

/// A documented synthetic age × sex split of a `g × g` table of counts (the bundled data has
/// none): age shares 0–14 20 %, 15–29 40 %, 30–44 25 %, 45+ 15 %; sex 52 % / 48 %; integer
/// parts by largest remainder (ties to the lower index), so every split sums exactly to its
/// cell. Returns the `g × g × 4 × 2` table row-major.
pub fn synthetic_age_sex_split(cells: &[u64]) -> Vec<u64> {
    fn split(total: u64, shares: &[u64]) -> Vec<u64> {
        let sum: u64 = shares.iter().sum();
        let mut parts: Vec<u64> = shares.iter().map(|s| total * s / sum).collect();
        let mut rem: Vec<(u64, usize)> = shares
            .iter()
            .enumerate()
            .map(|(i, s)| ((total * s) % sum, i))
            .collect();
        rem.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let short = total - parts.iter().sum::<u64>();
        for &(_, i) in rem.iter().take(usize::try_from(short).unwrap_or(0)) {
            parts[i] += 1;
        }
        parts
    }
    let mut out = Vec::with_capacity(cells.len() * 8);
    for &c in cells {
        for a in split(c, &[20, 40, 25, 15]) {
            out.extend(split(a, &[52, 48]));
        }
    }
    out
}
