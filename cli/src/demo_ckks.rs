//! The demo's CKKS analyses, run by the same agencies on collective CKKS keys: PageRank of the
//! 2005–2010 flow graph, moments and least squares of net migration rates on WDI indicators
//! (public and encrypted regressors), Pearson correlation with ln GDP per capita (the only value
//! decrypted for it), k-means of outflow profiles (cluster sums and sizes decrypted each
//! round), and forecasts of the UNHCR yearly series. Each result is checked against the same
//! computation in plain `f64`.

use crate::collective::{self, InProcessCkks};
use crate::engine;
use crate::progress::Stages;
use crate::results::{Check, Decryption, Forecast, Results, Statistic};
use crate::study::Study;
use anyhow::{Context, Result};
use ed25519_dalek::SigningKey;
use migrationfhe::analytics::data::{AbelSander, Indicator, UnhcrSeries, Wdi};
use migrationfhe::analytics::graph::{self, DiagonalLayout, PageRankResults, PageRankSpec};
use migrationfhe::analytics::stats::{
    self, ForecastSpec, KMeans, Method, StatOutput, StatsResults, StatsSpec,
};
use migrationfhe::analytics::{CkksBackend, CkksEncryptor, Encryptor, Submission};
use migrationfhe::ckks::{self, Preset};
use migrationfhe::threshold::{
    ActiveSet, Committee, Crs, FileShareLog, PartyId, PartySecret, ShareLog,
};
use std::path::Path;
use std::sync::Arc;

/// PageRank iterations at depth 5 (two levels per iteration, see `analytics::graph`).
pub const PAGERANK_ITERATIONS: usize = 2;

struct Ctx<'a> {
    study: &'a Study,
    committee: Committee,
    set: ActiveSet,
    crs: Crs,
    signers: &'a [SigningKey],
    private: &'a Path,
}

fn parties(
    ctx: &Ctx<'_>,
    params: &Arc<ckks::Parameters>,
    tag: &str,
    rng: &mut rand_chacha::ChaCha20Rng,
) -> Result<Vec<(migrationfhe::threshold::ActiveShare, Box<dyn ShareLog>)>> {
    ctx.study
        .agencies
        .iter()
        .map(|a| {
            let secret =
                PartySecret::generate(params.rlwe(), &ctx.committee, PartyId::new(a.party)?, rng)?;
            let dir = ctx.private.join(&a.spec.id);
            std::fs::create_dir_all(&dir)?;
            let path = dir.join(format!("share-{tag}.log"));
            if path.exists() {
                std::fs::remove_file(&path)?;
            }
            let log: Box<dyn ShareLog> = Box::new(FileShareLog::open(&path)?);
            Ok((secret.active(&ctx.set)?, log))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn sign_all(
    be: &CkksBackend,
    enc: &CkksEncryptor,
    ctx: &Ctx<'_>,
    analysis: &str,
    names: &[String],
    label: &str,
    vectors: Vec<Vec<Vec<f64>>>,
    rng: &mut rand_chacha::ChaCha20Rng,
) -> Result<Vec<Submission<ckks::Ciphertext>>> {
    let mut out = Vec::new();
    for (a, cts) in vectors.into_iter().enumerate() {
        let cts = cts
            .iter()
            .map(|v| enc.encrypt(v, rng))
            .collect::<migrationfhe::Result<Vec<_>>>()?;
        let key = ctx.signers.get(a).context("missing signing key")?;
        out.push(Submission::sign(be, analysis, &names[a], label, cts, key));
    }
    Ok(out)
}

/// `Ok(Some(v))`, or `Ok(None)` with a record in `withheld` when the decryptor withheld the
/// output (too little precision after smudging); other errors pass through.
fn keep<T>(
    r: migrationfhe::Result<T>,
    what: &str,
    withheld: &mut Vec<(String, String)>,
) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e)
            if ["withheld", "bits of precision", "smudging noise needs"]
                .iter()
                .any(|m| e.to_string().contains(m)) =>
        {
            withheld.push((what.to_owned(), e.to_string()));
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

fn rel(a: f64, b: f64) -> f64 {
    ((a - b) / b).abs()
}

/// Runs the CKKS analyses and adds their decrypted outputs to `results`.
#[allow(clippy::too_many_arguments, clippy::too_many_lines)]
pub fn run(
    st: &mut Stages,
    data_dir: &Path,
    study: &Study,
    signers: &[SigningKey],
    private: &Path,
    results: &mut Results,
    with_correlation: bool,
    rng: &mut rand_chacha::ChaCha20Rng,
) -> Result<()> {
    let committee = collective::committee(study)?;
    let ctx = Ctx {
        study,
        set: committee.all()?,
        committee,
        crs: collective::crs(study)?,
        signers,
        private,
    };
    let (d, w, u) = (
        AbelSander::load(data_dir)?,
        Wdi::load(data_dir)?,
        UnhcrSeries::load(data_dir)?,
    );
    let n = d.n();
    let last = d.flows.len() - 1;
    let names: Vec<String> = study.agencies.iter().map(|a| a.spec.id.clone()).collect();
    let index = |c: &str| study.countries.iter().position(|x| x == c);
    let agencies: Vec<(String, Vec<usize>)> = study
        .agencies
        .iter()
        .map(|a| {
            (
                a.spec.id.clone(),
                a.spec.countries.iter().filter_map(|c| index(c)).collect(),
            )
        })
        .collect();
    let ind = |k: Indicator| -> Vec<Option<f64>> {
        d.countries
            .iter()
            .map(|c| w.get(&c.iso3, 2005, k))
            .collect()
    };
    let lngdp: Vec<Option<f64>> = ind(Indicator::GdpPerCapitaPpp)
        .into_iter()
        .map(|x| x.map(f64::ln))
        .collect();
    let stats_spec = StatsSpec {
        analysis: format!("{}/stats", study.analysis),
        label: d.periods[last].clone(),
        n,
        agencies: agencies.clone(),
        population: ind(Indicator::Population),
        covariate: lngdp.clone(),
        regressors: vec![
            ("ln_gdp_pc_2005".into(), lngdp),
            ("urban_pct_2005".into(), ind(Indicator::UrbanPopulation)),
        ],
        variance_interval: (300.0, 30_000.0),
    };
    let pr_spec = PageRankSpec {
        analysis: format!("{}/pagerank", study.analysis),
        label: d.periods[last].clone(),
        n,
        agencies: agencies.clone(),
        damping: 0.85,
        iterations: PAGERANK_ITERATIONS,
    };
    // UNHCR host-region series: each is held by the agency of that region (Americas by North
    // America, Asia by East Asia).
    let holder = |r: &str| match r {
        "Americas" => "north-america",
        "Asia" => "east-asia",
        other => match other {
            "Africa" => "africa",
            "Europe" => "europe",
            _ => "oceania",
        },
    };
    let train = u
        .years
        .iter()
        .position(|&y| y == 2025)
        .unwrap_or(u.years.len() - 1);
    let mut fc_agencies: Vec<(String, Vec<usize>)> = Vec::new();
    for (s, r) in u.regions.iter().enumerate() {
        let h = holder(r).to_owned();
        match fc_agencies.iter_mut().find(|x| x.0 == h) {
            Some(x) => x.1.push(s),
            None => fc_agencies.push((h, vec![s])),
        }
    }
    let methods = vec![
        Method::LinearTrend,
        Method::Holt {
            alpha: 0.8,
            beta: 0.2,
        },
    ];
    let fc_spec = ForecastSpec {
        analysis: format!("{}/forecast", study.analysis),
        label: format!("{}", u.years[train]),
        series: u.regions.clone(),
        agencies: fc_agencies.clone(),
        len: train,
        methods: methods.clone(),
    };
    let stat_outs = [
        StatOutput::Moments,
        StatOutput::OlsPublic,
        StatOutput::OlsEncrypted,
    ];

    // Key set for depth 5.
    let params = ckks::Parameters::preset(Preset::N16384Depth5Scale40)?;
    let mut steps = graph::plan_rotations(&pr_spec, params.slots())?;
    steps.extend(stats::plan_rotations(
        &stats_spec,
        &stat_outs,
        params.slots(),
    )?);
    steps.extend(stats::plan_forecast_rotations(&fc_spec, params.slots())?);
    steps.sort_unstable();
    steps.dedup();
    let tag5 = "ckks-n16384-depth5";
    let (be, enc, dec) = st.run(
        &format!(
            "CKKS keys (N = 2^14, depth 5): public, relinearisation, {} Galois",
            steps.len()
        ),
        || {
            let mut ps = parties(&ctx, &params, tag5, rng)?;
            let (keys, secs) =
                collective::ckks_keys(&params, &ctx.crs, &ctx.set, &mut ps, &steps, tag5, rng)?;
            for (cost, t) in results.agency_costs.iter_mut().zip(secs) {
                cost.ckks_keygen_s = t;
            }
            let be = CkksBackend::new(&params, keys.galois, Some(keys.rlk));
            let enc = CkksEncryptor::new(&params, keys.pk);
            let dec = InProcessCkks {
                params: Arc::clone(&params),
                parties: std::cell::RefCell::new(ps),
                set: ctx.set.clone(),
                rng: std::cell::RefCell::new(engine::rng()?),
                secs: std::cell::RefCell::new(Vec::new()),
                precision: std::cell::RefCell::new(Vec::new()),
                count: std::cell::Cell::new(0),
            };
            Ok((be, enc, dec))
        },
    )?;
    let (pr_subs, stat_subs, fc_subs) = st.run("agencies encrypt and sign CKKS contributions (PageRank rows, rates, regressors, UNHCR series)", || {
        let layout = DiagonalLayout::new(n, params.slots())?;
        let pr_vecs = (0..agencies.len()).map(|a| graph::contribution(&pr_spec, &layout, a, &d.flows[last])).collect::<migrationfhe::Result<Vec<_>>>()?;
        let pr = sign_all(&be, &enc, &ctx, &pr_spec.analysis, &names, &graph::contribution_label(&pr_spec), pr_vecs, rng)?;
        let fl = (0..agencies.len()).map(|a| Ok(vec![stats::flow_contribution(&stats_spec, a, &d.flows[last])?])).collect::<migrationfhe::Result<Vec<_>>>()?;
        let rg = (0..agencies.len()).map(|a| Ok(vec![stats::regressor_contribution(&stats_spec, a)?])).collect::<migrationfhe::Result<Vec<_>>>()?;
        let mut stat = sign_all(&be, &enc, &ctx, &stats_spec.analysis, &names, &stats::flow_label(&stats_spec), fl, rng)?;
        stat.extend(sign_all(&be, &enc, &ctx, &stats_spec.analysis, &names, &stats::regressor_label(&stats_spec), rg, rng)?);
        let fc_names: Vec<String> = fc_agencies.iter().map(|x| x.0.clone()).collect();
        let fc_keys: Vec<SigningKey> = fc_names.iter().map(|nm| signers[names.iter().position(|x| x == nm).unwrap_or(0)].clone()).collect();
        let fc_vecs = (0..fc_agencies.len()).map(|a| Ok(vec![stats::forecast_contribution(&fc_spec, a, &u.totals)?])).collect::<migrationfhe::Result<Vec<_>>>()?;
        let fctx = Ctx { signers: &fc_keys, ..Ctx { study, committee: ctx.committee.clone(), set: ctx.set.clone(), crs: ctx.crs.clone(), signers, private } };
        let fc = sign_all(&be, &enc, &fctx, &fc_spec.analysis, &fc_names, &stats::forecast_label(&fc_spec), fc_vecs, rng)?;
        Ok((pr, stat, fc))
    })?;
    let (pr_eval, stat_eval, fc_eval) = st.run(
        &format!(
            "node: PageRank ({PAGERANK_ITERATIONS} iterations), moments and OLS, forecasts (CKKS)"
        ),
        || {
            Ok((
                graph::evaluate(&be, &pr_spec, &pr_subs)?,
                stats::evaluate(&be, &stats_spec, &stat_outs, &stat_subs)?,
                stats::evaluate_forecast(&be, &fc_spec, &fc_subs)?,
            ))
        },
    )?;
    let mut withheld: Vec<(String, String)> = Vec::new();
    let (pr_res, stat_res, fc_out) =
        st.run("threshold decryption of the declared CKKS outputs", || {
            let pr = keep(
                PageRankResults::open(&be, &dec, &pr_eval),
                "PageRank scores",
                &mut withheld,
            )?;
            let sr = keep(
                StatsResults::open(&be, &dec, &stats_spec, &stat_eval),
                "moments, OLS (a), Gram matrix for OLS (b)",
                &mut withheld,
            )?;
            let fc = keep(
                migrationfhe::analytics::open_output(
                    &be,
                    &dec,
                    &fc_eval.transcript,
                    fc_eval.outputs.first().context("no forecast output")?,
                ),
                "forecasts",
                &mut withheld,
            )?;
            Ok((pr, sr, fc))
        })?;
    let profiles = stats::outflow_profiles(&d.flows[last], n, &d.region_of(), d.regions.len());
    let init: Vec<Vec<f64>> = [2usize, 0, 4, 1]
        .iter()
        .map(|&r| {
            (0..d.regions.len())
                .map(|q| if q == r { 1.0 } else { 0.0 })
                .collect()
        })
        .collect();
    let km = KMeans {
        analysis: format!("{}/kmeans", study.analysis),
        agencies: agencies.clone(),
        features: d.regions.len(),
        init: init.clone(),
        rounds: 5,
    };
    let km_res = st.run(
        "k-means of outflow profiles (5 rounds; cluster sums and sizes decrypted each round)",
        || {
            keep(
                km.run(&be, &enc, &dec, signers, &profiles, rng),
                "k-means cluster sums and sizes",
                &mut withheld,
            )
        },
    )?;
    st.run(
        "verify: re-execute the CKKS evaluations, compare transcripts",
        || {
            graph::verify(&be, &pr_spec, &pr_subs, &pr_eval.transcript)?;
            stats::verify(
                &be,
                &stats_spec,
                &stat_outs,
                &stat_subs,
                &stat_eval.transcript,
            )?;
            if let Some(k) = &km_res {
                k.transcript.verify_chain()?;
            }
            Ok(())
        },
    )?;

    // Results and checks against plain f64.
    let everyone = names.clone();
    let decl = |output: String, description: &str, cts: usize| Decryption {
        output,
        description: description.into(),
        ciphertexts: cts,
        parties: everyone.clone(),
        method: format!(
            "threshold CKKS decryption ({0} of {0}), smudging λ = 40",
            everyone.len()
        ),
    };
    for o in pr_eval.outputs.iter().filter(|_| pr_res.is_some()) {
        results.decryptions.push(decl(
            o.name.clone(),
            "PageRank score per country",
            o.cts.len(),
        ));
    }
    for o in stat_eval.outputs.iter().filter(|_| stat_res.is_some()) {
        results.decryptions.push(decl(
            o.name.clone(),
            "declared aggregate (see Statistics)",
            o.cts.len(),
        ));
    }
    for o in fc_eval.outputs.iter().filter(|_| fc_out.is_some()) {
        results.decryptions.push(decl(
            o.name.clone(),
            "one forecast per series and method",
            o.cts.len(),
        ));
    }
    for r in (1..=km.rounds).filter(|_| km_res.is_some()) {
        results.decryptions.push(decl(
            format!("kmeans/round{r}"),
            "cluster profile sums and sizes",
            1,
        ));
    }
    if let Some(pr_res) = &pr_res {
        let plain_pr = graph::plain_pagerank(&d.flows[last], n, 0.85, PAGERANK_ITERATIONS);
        let pr_err = pr_res
            .scores
            .iter()
            .zip(&plain_pr)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let mut plain_rank: Vec<usize> = (0..n).collect();
        plain_rank.sort_by(|&a, &b| plain_pr[b].total_cmp(&plain_pr[a]).then(a.cmp(&b)));
        results.pagerank = pr_res.scores.clone();
        results.checks.push(Check {
        name: format!("PageRank ({PAGERANK_ITERATIONS} encrypted iterations, damping 0.85) = plain f64, same iterations"),
        passed: pr_err < 1e-6 && pr_res.ranking[..10] == plain_rank[..10],
        detail: format!("largest absolute difference {pr_err:.2e} (tolerance 1e-6); top 10 identical: {}", pr_res.ranking[..10] == plain_rank[..10]),
    });
    }
    if let Some(stat_res) = &stat_res {
        let plain = stats::plain_stats(&stats_spec, &d.flows[last])?;
        if let Some((mean, var, cov)) = stat_res.moments {
            for (nm, v, p) in [
                (
                    "mean net migration rate 2005-2010 (per 1,000)",
                    mean,
                    plain.moments.0,
                ),
                ("variance of the rate", var, plain.moments.1),
                (
                    "covariance of the rate with ln GDP pc 2005",
                    cov,
                    plain.moments.2,
                ),
            ] {
                results.statistics.push(Statistic {
                    name: nm.into(),
                    value: v,
                    reference: Some(p),
                    description: format!("over {} countries with WDI 2005 data", stat_res.m),
                });
            }
        }
        let coef_names = ["intercept", "ln GDP pc 2005", "urban % 2005"];
        let mut ok_a = true;
        let mut ok_b = true;
        if let Some(a) = &stat_res.ols_public {
            for ((nm, v), p) in coef_names.iter().zip(a).zip(&plain.ols) {
                ok_a &= rel(*v, *p) < 1e-3;
                results.statistics.push(Statistic {
                    name: format!("OLS (a) public regressors: {nm}"),
                    value: *v,
                    reference: Some(*p),
                    description: "net rate 2005-2010 on ln GDP pc and urban %, encrypted response"
                        .into(),
                });
            }
        }
        if let Some(b) = &stat_res.ols_encrypted {
            for ((nm, v), p) in coef_names.iter().zip(b).zip(&plain.ols) {
                ok_b &= rel(*v, *p) < 1e-2;
                results.statistics.push(Statistic {
                    name: format!("OLS (b) encrypted regressors: {nm}"),
                    value: *v,
                    reference: Some(*p),
                    description: "solved from the decrypted Gram matrix XᵀX and Xᵀr only".into(),
                });
            }
        }
        results.checks.push(Check {
            name: "OLS (a) public regressors = plain OLS".into(),
            passed: ok_a,
            detail: "relative 1e-3".into(),
        });
        results.checks.push(Check {
            name: "OLS (b) encrypted regressors = plain OLS".into(),
            passed: ok_b,
            detail: "relative 1e-2".into(),
        });
    }
    if let Some(fc_out) = &fc_out {
        let s_count = u.regions.len();
        let mut fc_ok = true;
        for (k, m) in methods.iter().enumerate() {
            for r in 0..s_count {
                let y: Vec<f64> = u.totals[r][..train].iter().map(|&x| x as f64).collect();
                let want = stats::forecast_plain(&y, *m);
                let got = fc_out[k * s_count + r];
                fc_ok &= (got - want).abs() <= 1e-6 * want.abs().max(1.0);
                results.forecasts.push(Forecast {
                    name: format!(
                        "{} ({})",
                        u.regions[r],
                        match m {
                            Method::LinearTrend => "trend",
                            Method::Holt { .. } => "Holt",
                        }
                    ),
                    first_year: u32::from(u.years[0]),
                    values: y,
                    method: match m {
                        Method::LinearTrend => "linear trend (encrypted)".into(),
                        Method::Holt { alpha, beta } => {
                            format!("Holt α {alpha} β {beta} (encrypted)")
                        }
                    },
                    forecast_year: u32::from(u.years[train]),
                    forecast: got,
                    actual: Some(u.totals[r][train] as f64),
                });
            }
        }
        results.checks.push(Check {
            name: "forecasts = plain f64 (same weights)".into(),
            passed: fc_ok,
            detail: "relative 1e-6".into(),
        });
    }
    if let Some(km_res) = &km_res {
        let want = stats::plain_kmeans(&profiles, &init, km.rounds);
        results.clusters = km_res
            .assignments
            .iter()
            .map(|a| a.unwrap_or(usize::MAX))
            .collect();
        results.checks.push(Check {
            name: "k-means assignments = plain Lloyd from the same initialisation".into(),
            passed: km_res.assignments == want,
            detail: format!("{} countries, 4 clusters, 5 rounds", n),
        });
    }
    results.notes.push(format!("PageRank: origin agencies row-normalise their own rows before encryption; {PAGERANK_ITERATIONS} power iterations fit depth 5 (2 levels each)."));
    results.notes.push("k-means: per round only the per-cluster profile sums and sizes are decrypted (declared outputs); assignments stay with each agency.".into());
    results.notes.push("OLS (b): the node decrypts only the declared Gram matrix XᵀX and Xᵀr; β is solved from them in the clear.".into());
    results.notes.push("UNHCR series (new displacement by host UNSD region) are held by the agency of that region (Americas: North America; Asia: East Asia).".into());

    for (what, why) in withheld {
        results.withheld.push((what, why));
    }
    if with_correlation {
        correlation(st, &ctx, &stats_spec, &d, results, rng)?;
    } else {
        results.notes.push("Pearson correlation under encryption (N = 2^15, depth 15, its own key set) was not run: `migrationfhe demo --correlation` runs it.".into());
    }
    Ok(())
}

fn correlation(
    st: &mut Stages,
    ctx: &Ctx<'_>,
    spec: &StatsSpec,
    d: &AbelSander,
    results: &mut Results,
    rng: &mut rand_chacha::ChaCha20Rng,
) -> Result<()> {
    let last = d.flows.len() - 1;
    let params = ckks::Parameters::preset(Preset::N32768Depth15Scale40)?;
    let outs = [StatOutput::Correlation];
    let steps = stats::plan_rotations(spec, &outs, params.slots())?;
    let tag = "ckks-n32768-depth15";
    let names: Vec<String> = ctx
        .study
        .agencies
        .iter()
        .map(|a| a.spec.id.clone())
        .collect();
    let (be, enc, dec) = st.run(
        &format!(
            "CKKS keys (N = 2^15, depth 15): public, relinearisation, {} Galois",
            steps.len()
        ),
        || {
            let mut ps = parties(ctx, &params, tag, rng)?;
            let (keys, _) =
                collective::ckks_keys(&params, &ctx.crs, &ctx.set, &mut ps, &steps, tag, rng)?;
            let dec = InProcessCkks {
                params: Arc::clone(&params),
                parties: std::cell::RefCell::new(ps),
                set: ctx.set.clone(),
                rng: std::cell::RefCell::new(engine::rng()?),
                secs: std::cell::RefCell::new(Vec::new()),
                precision: std::cell::RefCell::new(Vec::new()),
                count: std::cell::Cell::new(0),
            };
            Ok((
                CkksBackend::new(&params, keys.galois, Some(keys.rlk)),
                CkksEncryptor::new(&params, keys.pk),
                dec,
            ))
        },
    )?;
    let r = st.run(
        "correlation: encrypt, evaluate (inverse square root, depth 15), decrypt r only",
        || {
            let fl = (0..spec.agencies.len())
                .map(|a| Ok(vec![stats::flow_contribution(spec, a, &d.flows[last])?]))
                .collect::<migrationfhe::Result<Vec<_>>>()?;
            let rg = (0..spec.agencies.len())
                .map(|a| Ok(vec![stats::regressor_contribution(spec, a)?]))
                .collect::<migrationfhe::Result<Vec<_>>>()?;
            let mut subs = sign_all(
                &be,
                &enc,
                ctx,
                &spec.analysis,
                &names,
                &stats::flow_label(spec),
                fl,
                rng,
            )?;
            subs.extend(sign_all(
                &be,
                &enc,
                ctx,
                &spec.analysis,
                &names,
                &stats::regressor_label(spec),
                rg,
                rng,
            )?);
            let eval = stats::evaluate(&be, spec, &outs, &subs)?;
            let mut withheld = Vec::new();
            let Some(res) = keep(
                StatsResults::open(&be, &dec, spec, &eval),
                "correlation (depth 15)",
                &mut withheld,
            )?
            else {
                results.withheld.extend(withheld);
                return Ok(None);
            };
            for o in &eval.outputs {
                results.decryptions.push(Decryption {
                    output: o.name.clone(),
                    description: "Pearson r only".into(),
                    ciphertexts: o.cts.len(),
                    parties: names.clone(),
                    method: format!(
                        "threshold CKKS decryption ({0} of {0}), smudging λ = 40",
                        names.len()
                    ),
                });
            }
            res.correlation.context("no correlation output").map(Some)
        },
    )?;
    let Some(r) = r else { return Ok(()) };
    let plain = stats::plain_stats(spec, &d.flows[last])?;
    results.statistics.push(Statistic {
        name: "corr(ln GDP pc 2005, net rate 2005-2010), fully encrypted (only r decrypted)".into(),
        value: r,
        reference: Some(plain.correlation),
        description: format!("Pearson r over {} countries; only r is decrypted", spec.m()),
    });
    results.checks.push(Check {
        name: "correlation = 0.3356 (data README) within 1e-3".into(),
        passed: (r - 0.3356).abs() < 1e-3,
        detail: format!("encrypted r = {r:.5}, plain {:.5}", plain.correlation),
    });
    Ok(())
}
