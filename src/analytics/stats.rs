//! Statistics on encrypted migration figures (CKKS): moments, Pearson correlation with a
//! public indicator, least squares with public or encrypted regressors, forecasting of yearly
//! series, and k-means clustering with a declared per-iteration protocol.
//!
//! ## Net migration rates
//! The rate `r_i = 1000·w_i·(in_i - out_i)/pop_i` (`w_i = 1` for the countries with every
//! indicator of the study, else 0; `pop_i` public) is linear in the records, and each agency
//! holds a part of every term: the inflow of its members (column sums of its records) and its
//! members' share of every country's outflow (`Σ_{d ∈ members} F[o, d]`). So each agency
//! encrypts its **share of every country's rate** at slots `0..n` ([`flow_contribution`]:
//! `1000·w_i·(in_a[i] - out_a[i])/pop_i`), and the node's sum of the contributions is `r`, at
//! depth 0 (no product: the public factors are applied by the agencies in the clear, which
//! also avoids the plaintext-rounding error of a product of large counts by small factors).
//! `W` is the next power of two `>= n` (the block width of the packed outputs).
//!
//! ## Declared outputs and depth (`L` the fresh level)
//! * `moments/{label}`: `Σ r`, `Σ r²`, `Σ x r` over the `m` valid countries (mean, variance
//!   and covariance with the public covariate `x` are public scalings of these). Depth 2.
//! * `correlation/{label}`: only Pearson's `r`: `S_zr · (m Σr² - (Σr)²)^{-1/2}` with the
//!   public standardised covariate `z_i = (m x_i - Σx)/√(m Σx² - (Σx)²)`; the inverse square
//!   root is a Chebyshev interpolant ([`SlotBackend::inverse_sqrt`]) on the declared interval
//!   `m²·[var_lo, var_hi]` of the rate's variance (12 bits; degree 127, depth 9, for a ratio
//!   `var_hi/var_lo` of 100), after a mask that keeps slot 0 and sets every other slot to the
//!   interval's midpoint (an interpolant explodes outside its interval). Depth 14 (it runs on
//!   `n32768_depth15_scale40`, whose scale leaves no precision after threshold decryption):
//!   square 1, sums 1, `(Σr)²` 1, mask 1, inverse square root 9, final product 1. The
//!   threshold-ready alternative is the blinded protocol of
//!   [`correlation`](super::correlation) (depth 4).
//! * `ols_public/{label}`: `β = (XᵀX)^{-1}Xᵀ r` for public regressors `X` (with intercept):
//!   one plaintext product of `r` replicated over `p + 1` blocks with the rows of the public
//!   `(XᵀX)^{-1}Xᵀ`, then block sums. Depth 2.
//! * `gram/{label}`: regressors encrypted by the agencies ([`regressor_contribution`]); the
//!   node computes the Gram matrix `XᵀX` (upper triangle) and `Xᵀr` under encryption and
//!   **decrypts only these declared aggregates**; `β` is solved from them in the clear
//!   ([`solve`]). Depth 2.
//!
//! ## Forecasting
//! Linear trend and Holt's linear method with fixed `α, β` are linear in the series:
//! `ŷ_{T+1} = Σ_t w_t y_t` with public weights ([`forecast_weights`]). Each agency encrypts its
//! series; the node multiplies by the weights and sums each block (one plaintext product, a
//! window of the series length): outputs `forecast/{label}` (per series: trend, Holt).
//!
//! ## k-means
//! Protocol ([`KMeans`]): the centroids are public (the declared initialisation, then each
//! round's output). In each round every agency assigns its own countries (whose profiles it
//! holds in the clear) to the nearest centroid and encrypts, per cluster, the sum of its
//! members' profiles and their count; the node adds the submissions; the **only decrypted
//! values are the per-cluster profile sums and sizes** (`kmeans/round{r}`), from which the next
//! centroids are the means. Assignments never leave their agency. With exact arithmetic this
//! is Lloyd's algorithm from the same initialisation.

use super::backend::{Decryptor, Encryptor, SlotBackend};
use super::flows::Evaluation;
use super::linear::{segment_sums, segment_sums_with, Segment};
use super::transcript::{open_output, DeclaredOutput, Submission, Transcript};
use crate::error::{Error, Result};
use ed25519_dalek::SigningKey;
use rand_core::{CryptoRng, RngCore};

fn refuse(reason: impl Into<String>) -> Error {
    Error::Analytics {
        reason: reason.into(),
    }
}

fn one_output<B: SlotBackend>(
    be: &B,
    tr: &mut Transcript,
    outputs: &mut Vec<DeclaredOutput<B::Ct>>,
    name: String,
    ct: B::Ct,
    slots: Vec<usize>,
) {
    let out = DeclaredOutput {
        name,
        cts: vec![ct],
        slots: slots.into_iter().map(|s| (0, s)).collect(),
    };
    tr.output(be, &out);
    outputs.push(out);
}

/// The public description of a statistics study over one period.
#[derive(Clone, Debug, PartialEq)]
pub struct StatsSpec {
    /// Analysis identifier.
    pub analysis: String,
    /// Period label.
    pub label: String,
    /// Number of nodes.
    pub n: usize,
    /// Agencies `(name, members)`.
    pub agencies: Vec<(String, Vec<usize>)>,
    /// Public population per node (start of the period).
    pub population: Vec<Option<f64>>,
    /// Public covariate for moments and correlation (e.g. ln GDP per capita).
    pub covariate: Vec<Option<f64>>,
    /// Regressors besides the intercept `(name, value per node)`.
    pub regressors: Vec<(String, Vec<Option<f64>>)>,
    /// Declared interval of the variance of the rate (for the correlation's inverse square
    /// root).
    pub variance_interval: (f64, f64),
    /// Declared public bound on `|r_i|`, the net migration rate per 1,000 (it tightens the
    /// CKKS noise estimate that sizes the smudging of threshold decryption: it must hold).
    pub rate_bound: f64,
    /// Declared public bound on `|x|` for every regressor value the agencies encrypt (the
    /// intercept column is 1).
    pub regressor_bound: f64,
}

/// The declared bound on the regressors of [`StatsSpec::abel_sander_wdi`]: percentages and
/// logarithms of WDI indicators are at most 100.
pub const DEFAULT_REGRESSOR_BOUND: f64 = 100.0;

/// The declared bound on the 5-year net migration rate per 1,000 used by
/// [`StatsSpec::abel_sander_wdi`]: a net gain or loss by migration of at most twice the
/// starting population (the largest in the Abel–Sander periods is about 1,040, Qatar 2005–10).
pub const DEFAULT_RATE_BOUND: f64 = 2000.0;

/// Which outputs a statistics evaluation declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatOutput {
    /// `moments/{label}`.
    Moments,
    /// `correlation/{label}`.
    Correlation,
    /// `ols_public/{label}`.
    OlsPublic,
    /// `gram/{label}` (needs the regressor submissions).
    OlsEncrypted,
}

impl StatsSpec {
    /// The study of net migration rates in Abel–Sander period `p` against WDI indicators of
    /// the period's first year: population for the rates, ln GDP per capita (PPP) as the
    /// covariate, regressors ln GDP per capita and `regressors` (raw values), one agency per
    /// region.
    pub fn abel_sander_wdi(
        analysis: &str,
        d: &super::data::AbelSander,
        w: &super::data::Wdi,
        p: usize,
        regressors: &[super::data::Indicator],
        variance_interval: (f64, f64),
    ) -> Self {
        use super::data::Indicator;
        let year = d.period_start(p);
        let ind = |k: Indicator| -> Vec<Option<f64>> {
            d.countries
                .iter()
                .map(|c| w.get(&c.iso3, year, k))
                .collect()
        };
        let lngdp: Vec<Option<f64>> = ind(Indicator::GdpPerCapitaPpp)
            .into_iter()
            .map(|x| x.filter(|&v| v > 0.0).map(f64::ln))
            .collect();
        let mut regs = vec![(format!("ln_gdp_pc_{year}"), lngdp.clone())];
        for &k in regressors {
            regs.push((format!("{}_{year}", k.column()), ind(k)));
        }
        Self {
            analysis: analysis.to_string(),
            label: d.periods.get(p).cloned().unwrap_or_default(),
            n: d.n(),
            agencies: d.agencies_by_region(),
            population: ind(Indicator::Population),
            covariate: lngdp,
            regressors: regs,
            variance_interval,
            rate_bound: DEFAULT_RATE_BOUND,
            regressor_bound: DEFAULT_REGRESSOR_BOUND,
        }
    }

    /// Block width `W`: the next power of two `>= n`.
    pub fn width(&self) -> usize {
        self.n.next_power_of_two()
    }

    /// Whether each node has a population and every indicator of the study.
    pub fn valid(&self) -> Vec<bool> {
        (0..self.n)
            .map(|i| {
                self.population[i].is_some_and(|p| p > 0.0)
                    && self.covariate[i].is_some()
                    && self.regressors.iter().all(|(_, v)| v[i].is_some())
            })
            .collect()
    }

    fn check(&self) -> Result<()> {
        if self.population.len() != self.n
            || self.covariate.len() != self.n
            || self.regressors.iter().any(|(_, v)| v.len() != self.n)
        {
            return Err(refuse("every public indicator needs one value per node"));
        }
        let (lo, hi) = self.variance_interval;
        if !(lo > 0.0 && hi > lo) {
            return Err(refuse("the declared variance interval needs 0 < lo < hi"));
        }
        if !(self.rate_bound.is_finite() && self.rate_bound > 0.0) {
            return Err(refuse("the declared rate bound must be a positive number"));
        }
        if !(self.regressor_bound.is_finite() && self.regressor_bound > 0.0) {
            return Err(refuse(
                "the declared regressor bound must be a positive number",
            ));
        }
        if self.valid().iter().filter(|&&v| v).count() <= self.regressors.len() + 1 {
            return Err(refuse("too few countries with every indicator"));
        }
        Ok(())
    }

    /// Rate factors `1000 w_i / pop_i`.
    fn rate_factors(&self) -> Vec<f64> {
        let valid = self.valid();
        (0..self.n)
            .map(|i| match (valid[i], self.population[i]) {
                (true, Some(p)) => 1000.0 / p,
                _ => 0.0,
            })
            .collect()
    }

    fn design(&self) -> Vec<Vec<f64>> {
        let valid = self.valid();
        let mut cols = vec![valid.iter().map(|&v| if v { 1.0 } else { 0.0 }).collect()];
        for (_, v) in &self.regressors {
            cols.push(
                (0..self.n)
                    .map(|i| if valid[i] { v[i].unwrap_or(0.0) } else { 0.0 })
                    .collect(),
            );
        }
        cols
    }

    /// Number of valid countries `m`.
    pub fn m(&self) -> usize {
        self.valid().iter().filter(|&&v| v).count()
    }
}

/// Submission label of the flow contributions.
pub fn flow_label(spec: &StatsSpec) -> String {
    format!("stats/{}/flows", spec.label)
}

/// Submission label of the regressor contributions.
pub fn regressor_label(spec: &StatsSpec) -> String {
    format!("stats/{}/regressors", spec.label)
}

/// An agency's contribution to the rates (module docs): at slot `i < n`,
/// `1000·w_i·(in_a[i] - out_a[i])/pop_i` from its own records (`flows[o·n + d]` is read only
/// for destinations `d` among its members).
///
/// # Errors
/// Unknown agency; `flows` of the wrong size.
#[allow(clippy::cast_precision_loss)]
pub fn flow_contribution(spec: &StatsSpec, agency: usize, flows: &[u64]) -> Result<Vec<f64>> {
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
    let f = spec.rate_factors();
    let mut net = vec![0i128; n];
    for &d in members {
        for o in 0..n {
            let x = i128::from(flows[o * n + d]);
            net[d] += x;
            net[o] -= x;
        }
    }
    let mut v = vec![0.0; spec.width()];
    for ((x, &nt), &fi) in v.iter_mut().zip(&net).zip(&f) {
        *x = nt as f64 * fi;
    }
    Ok(v)
}

/// An agency's encrypted regressors: blocks `[1, x_1, …, x_p]` of width `W` over its valid
/// members.
///
/// # Errors
/// Unknown agency.
pub fn regressor_contribution(spec: &StatsSpec, agency: usize) -> Result<Vec<f64>> {
    let (_, members) = spec
        .agencies
        .get(agency)
        .ok_or_else(|| refuse("unknown agency"))?;
    let w = spec.width();
    let design = spec.design();
    let mut v = vec![0.0; design.len() * w];
    for (j, col) in design.iter().enumerate() {
        for &i in members {
            v[j * w + i] = col[i];
        }
    }
    Ok(v)
}

pub(super) fn sum_submissions<B: SlotBackend>(
    be: &B,
    tr: &mut Transcript,
    spec_agencies: &[(String, Vec<usize>)],
    label: &str,
    subs: &[Submission<B::Ct>],
) -> Result<Option<B::Ct>> {
    let mut seen = vec![false; spec_agencies.len()];
    let mut acc: Option<B::Ct> = None;
    for s in subs.iter().filter(|s| s.label == label) {
        let a = spec_agencies
            .iter()
            .position(|(name, _)| *name == s.agency)
            .ok_or_else(|| refuse(format!("submission from unknown agency `{}`", s.agency)))?;
        if std::mem::replace(&mut seen[a], true) {
            return Err(refuse(format!(
                "two `{label}` submissions from `{}`",
                s.agency
            )));
        }
        if s.cts.len() != 1 {
            return Err(refuse(format!("`{label}` submissions hold one ciphertext")));
        }
        tr.submission(be, s)?;
        acc = Some(match acc {
            None => s.cts[0].clone(),
            Some(x) => be.add(&x, &s.cts[0])?,
        });
    }
    if acc.is_some() {
        if let Some(a) = seen.iter().position(|s| !s) {
            return Err(refuse(format!(
                "missing `{label}` submission from `{}`",
                spec_agencies[a].0
            )));
        }
    }
    Ok(acc)
}

fn single<B: SlotBackend>(v: Vec<Option<B::Ct>>) -> Result<B::Ct> {
    v.into_iter()
        .next()
        .flatten()
        .ok_or_else(|| refuse("empty sums"))
}

/// Evaluates the declared statistics over the agencies' submissions.
///
/// # Errors
/// Missing submissions; too few levels; backend errors.
#[allow(clippy::too_many_lines, clippy::cast_precision_loss)]
pub fn evaluate<B: SlotBackend<Value = f64>>(
    be: &B,
    spec: &StatsSpec,
    outputs: &[StatOutput],
    subs: &[Submission<B::Ct>],
) -> Result<Evaluation<B::Ct>> {
    spec.check()?;
    let n = spec.n;
    let w = spec.width();
    let q = spec.regressors.len() + 1;
    let slots = be.slots();
    let need_blocks = (q * (q + 1) / 2 + q).max(3);
    if need_blocks * w > slots || be.row_len() != slots {
        return Err(refuse(
            "the statistics layout does not fit one row of slots",
        ));
    }
    let start = be.counter().snapshot();
    let params = format!(
        "n={n};width={w};outputs={outputs:?};covariate={:?};regressors={:?};population={:?};variance_interval={:?};rate_bound={:?};regressor_bound={:?}",
        spec.covariate, spec.regressors, spec.population, spec.variance_interval, spec.rate_bound, spec.regressor_bound
    );
    let mut tr = Transcript::begin(&spec.analysis, &be.describe(), &params);
    let flows = sum_submissions(be, &mut tr, &spec.agencies, &flow_label(spec), subs)?
        .ok_or_else(|| refuse("no flow submissions"))?;
    let regs = sum_submissions(be, &mut tr, &spec.agencies, &regressor_label(spec), subs)?;
    let r = be.declare_bound(&flows, spec.rate_bound)?;
    tr.operation(
        be,
        "net_rate_per_1000",
        "sum of the agencies' shares of 1000 w (in - out) / pop",
        std::slice::from_ref(&r),
    );
    let valid = spec.valid();
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
    let mut outs = Vec::new();
    let right = |k: usize| (slots - k % slots) % slots;
    for &o in outputs {
        match o {
            StatOutput::Moments => {
                let r2 = be.mul(&r, &r)?;
                let xr = be.mul_plain(&r, &x)?;
                let a = be.rotate(&r2, right(w))?;
                let b = be.rotate(&xr, right(2 * w))?;
                let p = be.add(&be.add(&r, &a)?, &b)?;
                let segs: Vec<Segment> = (0..3)
                    .map(|j| Segment {
                        ct: 0,
                        start: j * w,
                        len: w,
                    })
                    .collect();
                let s = single::<B>(segment_sums(be, std::slice::from_ref(&p), 1, &segs)?)?;
                tr.operation(
                    be,
                    "moments",
                    "sum r, sum r^2, sum x r",
                    std::slice::from_ref(&s),
                );
                one_output(
                    be,
                    &mut tr,
                    &mut outs,
                    format!("moments/{}", spec.label),
                    s,
                    vec![0, w, 2 * w],
                );
            }
            StatOutput::Correlation => {
                let sx: f64 = x.iter().sum();
                let sxx: f64 = x.iter().map(|v| v * v).sum();
                let dx = (m * sxx - sx * sx).sqrt();
                let z: Vec<f64> = (0..n)
                    .map(|i| if valid[i] { (m * x[i] - sx) / dx } else { 0.0 })
                    .collect();
                let levels = be.levels_left(&r);
                if levels < 14 {
                    return Err(refuse(format!(
                        "the correlation needs 14 more levels after the rates (variance interval ratio <= 100), the ciphertexts have {levels}: use n32768_depth15_scale40"
                    )));
                }
                let zr = be.mul_plain(&r, &z)?;
                let seg0 = [Segment {
                    ct: 0,
                    start: 0,
                    len: w,
                }];
                let szr = single::<B>(segment_sums(be, std::slice::from_ref(&zr), 1, &seg0)?)?;
                let r2 = be.mul(&r, &r)?;
                let qv = be.add(&r, &be.rotate(&r2, right(w))?)?;
                let segs = [
                    Segment {
                        ct: 0,
                        start: 0,
                        len: w,
                    },
                    Segment {
                        ct: 0,
                        start: w,
                        len: w,
                    },
                ];
                let qs = single::<B>(segment_sums_with(
                    be,
                    std::slice::from_ref(&qv),
                    1,
                    &segs,
                    &[1.0, m],
                )?)?;
                let sr2 = be.mul(&qs, &qs)?;
                let mrr = be.rotate(&qs, w)?;
                let var = be.sub(&mrr, &sr2)?;
                let (lo, hi) = spec.variance_interval;
                // Every slot must lie in the interval (a Chebyshev interpolant explodes
                // outside it): keep slot 0, set the others to the interval's midpoint.
                let mut e0 = vec![0.0; slots];
                e0[0] = 1.0;
                let mid = m * m * (lo + hi) / 2.0;
                let mut fill = vec![mid; slots];
                fill[0] = 0.0;
                let var = be.add_plain(&be.mul_plain(&var, &e0)?, &fill)?;
                let inv = be.inverse_sqrt(&var, m * m * lo, m * m * hi, 12)?;
                let corr = be.mul(&szr, &inv)?;
                tr.operation(
                    be,
                    "pearson",
                    &format!(
                        "S_zr * (m S_rr - S_r^2)^(-1/2), chebyshev on m^2*[{lo},{hi}], 12 bits"
                    ),
                    std::slice::from_ref(&corr),
                );
                one_output(
                    be,
                    &mut tr,
                    &mut outs,
                    format!("correlation/{}", spec.label),
                    corr,
                    vec![0],
                );
            }
            StatOutput::OlsPublic => {
                let design = spec.design();
                let h = hat_rows(&design)?;
                let rep = be.declare_bound(&replicate_blocks(be, &r, w, q)?, spec.rate_bound)?;
                let mut hv = vec![0.0; q * w];
                for (j, row) in h.iter().enumerate() {
                    hv[j * w..j * w + n].copy_from_slice(row);
                }
                let prod = be.mul_plain(&rep, &hv)?;
                let segs: Vec<Segment> = (0..q)
                    .map(|j| Segment {
                        ct: 0,
                        start: j * w,
                        len: w,
                    })
                    .collect();
                let b = single::<B>(segment_sums(be, std::slice::from_ref(&prod), 1, &segs)?)?;
                tr.operation(be, "ols_public", "(X'X)^-1 X' r", std::slice::from_ref(&b));
                one_output(
                    be,
                    &mut tr,
                    &mut outs,
                    format!("ols_public/{}", spec.label),
                    b,
                    (0..q).map(|j| j * w).collect(),
                );
            }
            StatOutput::OlsEncrypted => {
                let xs = regs.as_ref().ok_or_else(|| {
                    refuse("encrypted OLS needs the agencies' regressor submissions")
                })?;
                let xs = &be.declare_bound(xs, spec.regressor_bound.max(1.0))?;
                let mut packed: Option<B::Ct> = None;
                let mut off = 0usize;
                for s in 0..q {
                    let shifted = if s == 0 {
                        xs.clone()
                    } else {
                        be.rotate(xs, s * w)?
                    };
                    let t = be.mul(xs, &shifted)?;
                    let placed = if off == 0 {
                        t
                    } else {
                        be.rotate(&t, right(off * w))?
                    };
                    packed = Some(match packed {
                        None => placed,
                        Some(p) => be.add(&p, &placed)?,
                    });
                    off += q - s;
                }
                let rep = be.declare_bound(&replicate_blocks(be, &r, w, q)?, spec.rate_bound)?;
                let xy = be.mul(xs, &rep)?;
                let placed = be.rotate(&xy, right(off * w))?;
                let packed = be.add(&packed.ok_or_else(|| refuse("no regressors"))?, &placed)?;
                let total = off + q;
                let segs: Vec<Segment> = (0..total)
                    .map(|j| Segment {
                        ct: 0,
                        start: j * w,
                        len: w,
                    })
                    .collect();
                let g = single::<B>(segment_sums(be, std::slice::from_ref(&packed), 1, &segs)?)?;
                tr.operation(
                    be,
                    "gram",
                    "X'X upper triangle by diagonals, X'r",
                    std::slice::from_ref(&g),
                );
                one_output(
                    be,
                    &mut tr,
                    &mut outs,
                    format!("gram/{}", spec.label),
                    g,
                    (0..total).map(|j| j * w).collect(),
                );
            }
        }
    }
    Ok(Evaluation {
        transcript: tr,
        outputs: outs,
        counts: be.counter().snapshot() - start,
    })
}

/// `r` (zero outside `0..W`) copied into blocks `0..q`.
fn replicate_blocks<B: SlotBackend>(be: &B, r: &B::Ct, w: usize, q: usize) -> Result<B::Ct> {
    let slots = be.slots();
    let mut rep = r.clone();
    for j in 1..q {
        let t = be.rotate(r, slots - j * w)?;
        rep = be.add(&rep, &t)?;
    }
    Ok(rep)
}

/// Rows of `(XᵀX)^{-1}Xᵀ` for the columns `design` (each of length `n`).
fn hat_rows(design: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
    let q = design.len();
    let mut g = vec![0.0; q * q];
    for a in 0..q {
        for b in 0..q {
            g[a * q + b] = design[a].iter().zip(&design[b]).map(|(x, y)| x * y).sum();
        }
    }
    let inv = invert(&g, q)?;
    let n = design.first().map_or(0, Vec::len);
    Ok((0..q)
        .map(|j| {
            (0..n)
                .map(|i| (0..q).map(|k| inv[j * q + k] * design[k][i]).sum())
                .collect()
        })
        .collect())
}

/// Inverse of a `q × q` matrix (Gauss–Jordan with partial pivoting).
fn invert(a: &[f64], q: usize) -> Result<Vec<f64>> {
    let mut m = a.to_vec();
    let mut inv = vec![0.0; q * q];
    for i in 0..q {
        inv[i * q + i] = 1.0;
    }
    for c in 0..q {
        let p = (c..q)
            .max_by(|&x, &y| m[x * q + c].abs().total_cmp(&m[y * q + c].abs()))
            .unwrap_or(c);
        if m[p * q + c].abs() < 1e-300 {
            return Err(refuse(
                "singular normal equations: the regressors are collinear",
            ));
        }
        for k in 0..q {
            m.swap(c * q + k, p * q + k);
            inv.swap(c * q + k, p * q + k);
        }
        let d = m[c * q + c];
        for k in 0..q {
            m[c * q + k] /= d;
            inv[c * q + k] /= d;
        }
        for r in 0..q {
            if r != c {
                let f = m[r * q + c];
                for k in 0..q {
                    m[r * q + k] -= f * m[c * q + k];
                    inv[r * q + k] -= f * inv[c * q + k];
                }
            }
        }
    }
    Ok(inv)
}

/// Solves the normal equations from the decrypted `gram` output (upper triangle by diagonals,
/// then `Xᵀr`), for `q` columns.
///
/// # Errors
/// Wrong length; singular system.
pub fn solve(gram: &[f64], q: usize) -> Result<Vec<f64>> {
    if gram.len() != q * (q + 1) / 2 + q {
        return Err(Error::LengthMismatch {
            expected: q * (q + 1) / 2 + q,
            found: gram.len(),
        });
    }
    let mut g = vec![0.0; q * q];
    let mut off = 0;
    for s in 0..q {
        for j in 0..q - s {
            g[j * q + j + s] = gram[off + j];
            g[(j + s) * q + j] = gram[off + j];
        }
        off += q - s;
    }
    let xy = &gram[off..off + q];
    let inv = invert(&g, q)?;
    Ok((0..q)
        .map(|j| (0..q).map(|k| inv[j * q + k] * xy[k]).sum())
        .collect())
}

/// Decrypted statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct StatsResults {
    /// Valid countries `m`.
    pub m: usize,
    /// `(mean rate, variance (population), covariance with the covariate)`.
    pub moments: Option<(f64, f64, f64)>,
    /// Pearson's r.
    pub correlation: Option<f64>,
    /// OLS coefficients with public regressors (intercept first).
    pub ols_public: Option<Vec<f64>>,
    /// OLS coefficients from the decrypted Gram matrix (intercept first).
    pub ols_encrypted: Option<Vec<f64>>,
    /// Names of the decrypted outputs.
    pub decrypted: Vec<String>,
}

impl StatsResults {
    /// Decrypts the declared outputs of `eval` (each checked against the transcript).
    ///
    /// # Errors
    /// Not authorised; decryption errors.
    #[allow(clippy::cast_precision_loss)]
    pub fn open<B: SlotBackend<Value = f64>, D: Decryptor<B>>(
        be: &B,
        dec: &D,
        spec: &StatsSpec,
        eval: &Evaluation<B::Ct>,
    ) -> Result<Self> {
        let m = spec.m();
        let mf = m as f64;
        let mut res = Self {
            m,
            moments: None,
            correlation: None,
            ols_public: None,
            ols_encrypted: None,
            decrypted: Vec::new(),
        };
        let valid = spec.valid();
        let xbar = (0..spec.n)
            .filter(|&i| valid[i])
            .map(|i| spec.covariate[i].unwrap_or(0.0))
            .sum::<f64>()
            / mf;
        for out in &eval.outputs {
            let v = open_output(be, dec, &eval.transcript, out)?;
            res.decrypted.push(out.name.clone());
            let kind = out.name.split('/').next().unwrap_or("");
            match kind {
                "moments" if v.len() == 3 => {
                    let mean = v[0] / mf;
                    res.moments = Some((mean, v[1] / mf - mean * mean, v[2] / mf - xbar * mean));
                }
                "correlation" => res.correlation = v.first().copied(),
                "ols_public" => res.ols_public = Some(v),
                "gram" => res.ols_encrypted = Some(solve(&v, spec.regressors.len() + 1)?),
                _ => {}
            }
        }
        Ok(res)
    }
}

/// Plain `f64` reference: rates, Pearson's r with the covariate, OLS coefficients.
#[derive(Clone, Debug, PartialEq)]
pub struct PlainStats {
    /// Rate per node (0 where invalid).
    pub rates: Vec<f64>,
    /// Pearson's r.
    pub correlation: f64,
    /// OLS coefficients (intercept first).
    pub ols: Vec<f64>,
    /// `(mean, variance, covariance)`.
    pub moments: (f64, f64, f64),
}

/// Computes [`PlainStats`] from the full flow matrix.
///
/// # Errors
/// Singular regressors; wrong sizes.
#[allow(clippy::cast_precision_loss)]
pub fn plain_stats(spec: &StatsSpec, flows: &[u64]) -> Result<PlainStats> {
    spec.check()?;
    let n = spec.n;
    let valid = spec.valid();
    let f = spec.rate_factors();
    let rates: Vec<f64> = (0..n)
        .map(|i| {
            let inflow: u64 = (0..n).map(|o| flows[o * n + i]).sum();
            let outflow: u64 = (0..n).map(|d| flows[i * n + d]).sum();
            (inflow as f64 - outflow as f64) * f[i]
        })
        .collect();
    let idx: Vec<usize> = (0..n).filter(|&i| valid[i]).collect();
    let m = idx.len() as f64;
    let xs: Vec<f64> = idx
        .iter()
        .map(|&i| spec.covariate[i].unwrap_or(0.0))
        .collect();
    let ys: Vec<f64> = idx.iter().map(|&i| rates[i]).collect();
    let mx = xs.iter().sum::<f64>() / m;
    let my = ys.iter().sum::<f64>() / m;
    let sxy: f64 = xs.iter().zip(&ys).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = xs.iter().map(|a| (a - mx) * (a - mx)).sum();
    let syy: f64 = ys.iter().map(|b| (b - my) * (b - my)).sum();
    let design = spec.design();
    let h = hat_rows(&design)?;
    let ols = h
        .iter()
        .map(|row| row.iter().zip(&rates).map(|(a, b)| a * b).sum())
        .collect();
    Ok(PlainStats {
        correlation: sxy / (sxx * syy).sqrt(),
        ols,
        moments: (my, syy / m, sxy / m),
        rates,
    })
}

// ---------------------------------------------------------------------------------------------
// Forecasting
// ---------------------------------------------------------------------------------------------

/// Forecast method.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    /// Least-squares line through `(t, y_t)`, extrapolated one step.
    LinearTrend,
    /// Holt's linear method with smoothing `alpha` (level) and `beta` (trend); `ℓ_0 = y_0`,
    /// `b_0 = y_1 - y_0`.
    Holt {
        /// Level smoothing.
        alpha: f64,
        /// Trend smoothing.
        beta: f64,
    },
}

/// Public weights `w_t` with `ŷ_{T+1} = Σ_t w_t y_t` for a series of length `len >= 2`.
///
/// # Errors
/// `len < 2`.
#[allow(clippy::cast_precision_loss)]
pub fn forecast_weights(len: usize, method: Method) -> Result<Vec<f64>> {
    if len < 2 {
        return Err(refuse("a forecast needs at least two observations"));
    }
    Ok((0..len)
        .map(|k| {
            let mut e = vec![0.0; len];
            e[k] = 1.0;
            forecast_plain(&e, method)
        })
        .collect())
}

/// The one-step forecast of `y` in plain `f64`.
#[allow(clippy::cast_precision_loss)]
pub fn forecast_plain(y: &[f64], method: Method) -> f64 {
    let t = y.len();
    match method {
        Method::LinearTrend => {
            let tf = t as f64;
            let tbar = (tf - 1.0) / 2.0;
            let ybar = y.iter().sum::<f64>() / tf;
            let sxx: f64 = (0..t).map(|i| (i as f64 - tbar).powi(2)).sum();
            let sxy: f64 = (0..t).map(|i| (i as f64 - tbar) * (y[i] - ybar)).sum();
            let b = sxy / sxx;
            ybar + b * (tf - tbar)
        }
        Method::Holt { alpha, beta } => {
            let mut l = y[0];
            let mut b = y[1] - y[0];
            for &v in &y[1..] {
                let l_new = alpha * v + (1.0 - alpha) * (l + b);
                b = beta * (l_new - l) + (1.0 - beta) * b;
                l = l_new;
            }
            l + b
        }
    }
}

/// The public description of a forecast.
#[derive(Clone, Debug, PartialEq)]
pub struct ForecastSpec {
    /// Analysis identifier.
    pub analysis: String,
    /// Label (output `forecast/{label}`).
    pub label: String,
    /// Series names.
    pub series: Vec<String>,
    /// Agencies `(name, series indices they hold)`.
    pub agencies: Vec<(String, Vec<usize>)>,
    /// Observations per series (the training years).
    pub len: usize,
    /// Methods; the output holds, per series, one forecast per method.
    pub methods: Vec<Method>,
}

impl ForecastSpec {
    fn width(&self) -> usize {
        self.len.next_power_of_two()
    }
}

/// Submission label of a forecast contribution.
pub fn forecast_label(spec: &ForecastSpec) -> String {
    format!("forecast/{}", spec.label)
}

/// An agency's series (each at its block), from `series[s][t]` (only its own are read).
///
/// # Errors
/// Unknown agency; a series shorter than `len`.
#[allow(clippy::cast_precision_loss)]
pub fn forecast_contribution(
    spec: &ForecastSpec,
    agency: usize,
    series: &[Vec<u64>],
) -> Result<Vec<f64>> {
    let (_, mine) = spec
        .agencies
        .get(agency)
        .ok_or_else(|| refuse("unknown agency"))?;
    let w = spec.width();
    let mut v = vec![0.0; spec.series.len() * w];
    for &s in mine {
        let ys = series
            .get(s)
            .filter(|y| y.len() >= spec.len)
            .ok_or_else(|| refuse("a series is shorter than the declared length"))?;
        for t in 0..spec.len {
            v[s * w + t] = ys[t] as f64;
        }
    }
    Ok(v)
}

/// Evaluates the forecasts: output slot `(method k, series s)` at index `k·S + s`.
///
/// # Errors
/// Missing submissions; a layout larger than the slots; backend errors.
pub fn evaluate_forecast<B: SlotBackend<Value = f64>>(
    be: &B,
    spec: &ForecastSpec,
    subs: &[Submission<B::Ct>],
) -> Result<Evaluation<B::Ct>> {
    let w = spec.width();
    let s_count = spec.series.len();
    let k_count = spec.methods.len();
    let slots = be.slots();
    if s_count * k_count * w > slots || k_count == 0 {
        return Err(refuse("the forecasts do not fit the slots"));
    }
    let start = be.counter().snapshot();
    let params = format!(
        "len={};methods={:?};series={:?}",
        spec.len, spec.methods, spec.series
    );
    let mut tr = Transcript::begin(&spec.analysis, &be.describe(), &params);
    let y = sum_submissions(be, &mut tr, &spec.agencies, &forecast_label(spec), subs)?
        .ok_or_else(|| refuse("no forecast submissions"))?;
    let block = s_count * w;
    let mut rep = y.clone();
    for k in 1..k_count {
        let t = be.rotate(&y, slots - k * block)?;
        rep = be.add(&rep, &t)?;
    }
    let mut weights = vec![0.0; k_count * block];
    for (k, &m) in spec.methods.iter().enumerate() {
        let wk = forecast_weights(spec.len, m)?;
        for s in 0..s_count {
            weights[k * block + s * w..k * block + s * w + spec.len].copy_from_slice(&wk);
        }
    }
    let prod = be.mul_plain(&rep, &weights)?;
    let segs: Vec<Segment> = (0..k_count * s_count)
        .map(|j| Segment {
            ct: 0,
            start: j * w,
            len: spec.len,
        })
        .collect();
    let f = single::<B>(segment_sums(be, std::slice::from_ref(&prod), 1, &segs)?)?;
    tr.operation(
        be,
        "forecast",
        "sum_t w_t y_t per series and method",
        std::slice::from_ref(&f),
    );
    let mut outs = Vec::new();
    one_output(
        be,
        &mut tr,
        &mut outs,
        format!("forecast/{}", spec.label),
        f,
        (0..k_count * s_count).map(|j| j * w).collect(),
    );
    Ok(Evaluation {
        transcript: tr,
        outputs: outs,
        counts: be.counter().snapshot() - start,
    })
}

// ---------------------------------------------------------------------------------------------
// k-means
// ---------------------------------------------------------------------------------------------

/// `(node, cluster)` pairs of one agency's members.
pub type Assignment = Vec<(usize, usize)>;

/// The public description of a k-means run (module docs for the protocol).
#[derive(Clone, Debug, PartialEq)]
pub struct KMeans {
    /// Analysis identifier.
    pub analysis: String,
    /// Agencies `(name, members)`.
    pub agencies: Vec<(String, Vec<usize>)>,
    /// Profile length.
    pub features: usize,
    /// Declared initial centroids (`k` vectors of `features`).
    pub init: Vec<Vec<f64>>,
    /// Number of rounds.
    pub rounds: usize,
}

/// Index of the nearest centroid (squared Euclidean distance; ties to the lowest index).
pub fn nearest(p: &[f64], centroids: &[Vec<f64>]) -> usize {
    let mut best = (f64::INFINITY, 0);
    for (j, c) in centroids.iter().enumerate() {
        let d: f64 = p.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum();
        if d < best.0 {
            best = (d, j);
        }
    }
    best.1
}

/// The outcome of a k-means run.
#[derive(Clone, Debug, PartialEq)]
pub struct KMeansResult {
    /// Centroids after each round (round 0: the initialisation).
    pub centroids: Vec<Vec<Vec<f64>>>,
    /// Cluster sizes after each round.
    pub sizes: Vec<Vec<f64>>,
    /// Final assignment of every node (each agency knows only its own; collected here for
    /// tests and for the agencies' own reports).
    pub assignments: Vec<Option<usize>>,
    /// The transcript (one submission per agency and round, one output per round).
    pub transcript: Transcript,
    /// Operation counts.
    pub counts: super::OpCounts,
}

impl KMeans {
    fn k(&self) -> usize {
        self.init.len()
    }

    /// Submission label and output name of round `r` (from 1).
    pub fn round_label(r: usize) -> String {
        format!("kmeans/round{r}")
    }

    /// Opens the transcript of a run on `be` (the public parameters and initialisation).
    pub fn begin<B: SlotBackend>(&self, be: &B) -> Transcript {
        let params = format!(
            "k={};features={};rounds={};init={:?}",
            self.k(),
            self.features,
            self.rounds,
            self.init
        );
        Transcript::begin(&self.analysis, &be.describe(), &params)
    }

    /// The node's part of round `round`: records the agencies' submissions, adds them and
    /// declares the sum (the only value decrypted this round).
    ///
    /// # Errors
    /// Missing, duplicate or unknown submissions; backend errors.
    pub fn evaluate_round<B: SlotBackend<Value = f64>>(
        &self,
        be: &B,
        tr: &mut Transcript,
        round: usize,
        subs: &[Submission<B::Ct>],
    ) -> Result<DeclaredOutput<B::Ct>> {
        let (k, f) = (self.k(), self.features);
        let label = Self::round_label(round);
        let sum = sum_submissions(be, tr, &self.agencies, &label, subs)?
            .ok_or_else(|| refuse("no k-means submissions"))?;
        tr.operation(be, "kmeans_sum", &label, std::slice::from_ref(&sum));
        let out = DeclaredOutput {
            name: label,
            cts: vec![sum],
            slots: (0..k * f + k).map(|s| (0, s)).collect(),
        };
        tr.output(be, &out);
        Ok(out)
    }

    /// The next centroids and the cluster sizes from a round's decrypted output (an empty
    /// cluster keeps its centroid).
    ///
    /// # Errors
    /// An output of the wrong length.
    pub fn update(&self, centroids: &[Vec<f64>], out: &[f64]) -> Result<(Vec<Vec<f64>>, Vec<f64>)> {
        let (k, f) = (self.k(), self.features);
        if out.len() != k * f + k || centroids.len() != k {
            return Err(Error::LengthMismatch {
                expected: k * f + k,
                found: out.len(),
            });
        }
        let sizes = out[k * f..].to_vec();
        let next = (0..k)
            .map(|j| {
                if sizes[j] > 0.5 {
                    (0..f).map(|q| out[j * f + q] / sizes[j]).collect()
                } else {
                    centroids[j].clone()
                }
            })
            .collect();
        Ok((next, sizes))
    }

    /// An agency's round contribution: per cluster the sum of its members' profiles at
    /// `j·features`, then the counts at `k·features + j`; and its members' assignments.
    ///
    /// # Errors
    /// Unknown agency; a profile of the wrong length.
    pub fn contribution(
        &self,
        agency: usize,
        profiles: &[Option<Vec<f64>>],
        centroids: &[Vec<f64>],
    ) -> Result<(Vec<f64>, Assignment)> {
        let (_, members) = self
            .agencies
            .get(agency)
            .ok_or_else(|| refuse("unknown agency"))?;
        let (k, f) = (self.k(), self.features);
        let mut v = vec![0.0; k * f + k];
        let mut assigned = Vec::new();
        for &i in members {
            let Some(p) = profiles.get(i).and_then(Option::as_ref) else {
                continue;
            };
            if p.len() != f {
                return Err(refuse("a profile has the wrong number of features"));
            }
            let j = nearest(p, centroids);
            for (q, &x) in p.iter().enumerate() {
                v[j * f + q] += x;
            }
            v[k * f + j] += 1.0;
            assigned.push((i, j));
        }
        Ok((v, assigned))
    }

    /// Runs the protocol in one process: every agency's contribution is encrypted with `enc`
    /// and signed with its key, the node (`be`) adds them, and each round's declared output is
    /// opened with `dec` after the transcript check. `profiles[i]` is node `i`'s profile (read
    /// only by its agency).
    ///
    /// # Errors
    /// As the steps; an empty cluster keeps its previous centroid.
    #[allow(clippy::too_many_arguments)]
    pub fn run<B, E, D, R>(
        &self,
        be: &B,
        enc: &E,
        dec: &D,
        keys: &[SigningKey],
        profiles: &[Option<Vec<f64>>],
        rng: &mut R,
    ) -> Result<KMeansResult>
    where
        B: SlotBackend<Value = f64>,
        E: Encryptor<B>,
        D: Decryptor<B>,
        R: RngCore + CryptoRng,
    {
        let (k, f) = (self.k(), self.features);
        if k == 0 || self.init.iter().any(|c| c.len() != f) || keys.len() != self.agencies.len() {
            return Err(refuse(
                "k-means needs k >= 1 centroids of `features` values and one key per agency",
            ));
        }
        if k * f + k > be.slots() {
            return Err(refuse("the cluster sums do not fit the slots"));
        }
        let start = be.counter().snapshot();
        let mut tr = self.begin(be);
        let mut centroids = self.init.clone();
        let mut all_c = vec![centroids.clone()];
        let mut all_s = Vec::new();
        let mut assignments = vec![None; profiles.len()];
        for round in 1..=self.rounds {
            let label = Self::round_label(round);
            let mut subs = Vec::new();
            for (a, key) in keys.iter().enumerate() {
                let (v, assigned) = self.contribution(a, profiles, &centroids)?;
                for (i, j) in assigned {
                    assignments[i] = Some(j);
                }
                let ct = enc.encrypt(&v, rng)?;
                subs.push(Submission::sign(
                    be,
                    &self.analysis,
                    &self.agencies[a].0,
                    &label,
                    vec![ct],
                    key,
                ));
            }
            let out = self.evaluate_round(be, &mut tr, round, &subs)?;
            let v = open_output(be, dec, &tr, &out)?;
            let (next, sizes) = self.update(&centroids, &v)?;
            centroids = next;
            all_c.push(centroids.clone());
            all_s.push(sizes);
        }
        // Final assignment against the last centroids (local to each agency).
        for a in 0..self.agencies.len() {
            let (_, assigned) = self.contribution(a, profiles, &centroids)?;
            for (i, j) in assigned {
                assignments[i] = Some(j);
            }
        }
        Ok(KMeansResult {
            centroids: all_c,
            sizes: all_s,
            assignments,
            transcript: tr,
            counts: be.counter().snapshot() - start,
        })
    }
}

/// Plain Lloyd's k-means from `init` for `rounds` rounds; final assignments.
pub fn plain_kmeans(
    profiles: &[Option<Vec<f64>>],
    init: &[Vec<f64>],
    rounds: usize,
) -> Vec<Option<usize>> {
    let f = init.first().map_or(0, Vec::len);
    let mut c = init.to_vec();
    for _ in 0..rounds {
        let mut sums = vec![vec![0.0; f]; c.len()];
        let mut counts = vec![0usize; c.len()];
        for p in profiles.iter().flatten() {
            let j = nearest(p, &c);
            counts[j] += 1;
            for (q, &x) in p.iter().enumerate() {
                sums[j][q] += x;
            }
        }
        for j in 0..c.len() {
            if counts[j] > 0 {
                #[allow(clippy::cast_precision_loss)]
                let cnt = counts[j] as f64;
                c[j] = sums[j].iter().map(|s| s / cnt).collect();
            }
        }
    }
    profiles
        .iter()
        .map(|p| p.as_ref().map(|p| nearest(p, &c)))
        .collect()
}

/// Outflow profile of each origin: shares of its outflow by destination group (`None` for a
/// node without outflow). Computed by each agency for its own members.
#[allow(clippy::cast_precision_loss)]
pub fn outflow_profiles(
    flows: &[u64],
    n: usize,
    grouping: &[usize],
    groups: usize,
) -> Vec<Option<Vec<f64>>> {
    (0..n)
        .map(|o| {
            let mut v = vec![0.0; groups];
            let mut total = 0u64;
            for d in 0..n {
                v[grouping[d]] += flows[o * n + d] as f64;
                total += flows[o * n + d];
            }
            (total > 0).then(|| v.iter().map(|x| x / total as f64).collect())
        })
        .collect()
}

/// Re-executes a statistics evaluation and checks the transcript bit for bit.
///
/// # Errors
/// As [`evaluate`]; [`Error::Analytics`] when anything differs.
pub fn verify<B: SlotBackend<Value = f64>>(
    be: &B,
    spec: &StatsSpec,
    outputs: &[StatOutput],
    subs: &[Submission<B::Ct>],
    transcript: &Transcript,
) -> Result<()> {
    transcript.same_as(&evaluate(be, spec, outputs, subs)?.transcript)
}

/// Re-executes a forecast evaluation and checks the transcript bit for bit.
///
/// # Errors
/// As [`evaluate_forecast`]; [`Error::Analytics`] when anything differs.
pub fn verify_forecast<B: SlotBackend<Value = f64>>(
    be: &B,
    spec: &ForecastSpec,
    subs: &[Submission<B::Ct>],
    transcript: &Transcript,
) -> Result<()> {
    transcript.same_as(&evaluate_forecast(be, spec, subs)?.transcript)
}

fn zero_submissions(
    be: &super::PlainReal,
    analysis: &str,
    agencies: &[(String, Vec<usize>)],
    labels: &[String],
) -> Result<Vec<Submission<super::PlainCt<f64>>>> {
    let key = SigningKey::from_bytes(&[0u8; 32]);
    let mut subs = Vec::new();
    for (name, _) in agencies {
        for l in labels {
            subs.push(Submission::sign(
                be,
                analysis,
                name,
                l,
                vec![be.encode(&[])?],
                &key,
            ));
        }
    }
    Ok(subs)
}

/// The rotation steps [`evaluate`] uses for `spec` and `outputs` on a CKKS backend with `slots`
/// slots (a dry run on the stand-in; the steps depend only on the public layout).
///
/// # Errors
/// As [`evaluate`].
pub fn plan_rotations(
    spec: &StatsSpec,
    outputs: &[StatOutput],
    slots: usize,
) -> Result<Vec<usize>> {
    let be = super::PlainReal::new(slots);
    let subs = zero_submissions(
        &be,
        &spec.analysis,
        &spec.agencies,
        &[flow_label(spec), regressor_label(spec)],
    )?;
    evaluate(&be, spec, outputs, &subs)?;
    Ok(be.counter().rotation_steps())
}

/// The rotation steps [`evaluate_forecast`] uses (dry run on the stand-in).
///
/// # Errors
/// As [`evaluate_forecast`].
pub fn plan_forecast_rotations(spec: &ForecastSpec, slots: usize) -> Result<Vec<usize>> {
    let be = super::PlainReal::new(slots);
    let subs = zero_submissions(&be, &spec.analysis, &spec.agencies, &[forecast_label(spec)])?;
    evaluate_forecast(&be, spec, &subs)?;
    Ok(be.counter().rotation_steps())
}
