//! The demo (`migrationfhe` with no arguments): the Abel & Sander data held by ten agencies,
//! one per world region, through the whole protocol in one process — collective key
//! generation, validated CSV input, encryption and signatures, the computation node's
//! evaluation, threshold decryption of the declared outputs only, transcript verification —
//! and a report. The `scale` variant does the same with one agency per country.

use crate::agency;
use crate::collective;
use crate::data::{self, AbelSander, UnhcrSeries, Wdi};
use crate::engine;
use crate::plain;
use crate::presets;
use crate::progress::{bar, Stages};
use crate::report;
use crate::results::{AgencyCost, Check, CorridorRow, Decryption, Results};
use crate::study::Study;
use anyhow::{bail, Context, Result};
use ed25519_dalek::SigningKey;
use migrationfhe::analytics::flows::{self, FlowResults};
use migrationfhe::analytics::BfvBackend;
use migrationfhe::bfv;
use migrationfhe::threshold::{
    ActiveShare, FileShareLog, GaloisKeyShare, PartyId, PartySecret, PublicKeyShare, ShareLog,
};
use rand_core::OsRng;
use std::path::Path;

/// Options of a demo run.
pub struct Options<'a> {
    /// Data folder.
    pub data: &'a Path,
    /// Output folder.
    pub out: &'a Path,
    /// `regions` (10 agencies) or `countries` (196).
    pub by: &'a str,
    /// BFV preset.
    pub preset: &'a str,
    /// Restrict the study to these periods (empty: all four).
    pub periods: Vec<String>,
    /// Also run the correlation at N = 2^15, depth 15 (its own collective key set).
    pub correlation: bool,
    /// Print the per-agency cost summary (always for the scale run).
    pub verbose_costs: bool,
}

/// Runs the demo; returns the results written to the report.
pub fn run(opts: &Options<'_>) -> Result<Results> {
    let mut st = Stages::new(false);
    println!(
        "migrationfhe demo: {} agencies by {}, preset {}",
        if opts.by == "regions" { "10" } else { "196" },
        opts.by,
        opts.preset
    );
    let (as_data, wdi, unhcr) = st.run("load data (Abel & Sander, WDI, UNHCR)", || {
        Ok((
            AbelSander::load(opts.data)?,
            Wdi::load(opts.data)?,
            UnhcrSeries::load(opts.data)?,
        ))
    })?;
    let mut seed = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut seed);
    let mut rng = engine::rng()?;
    let mut study = Study::new(&as_data, opts.by, &[], opts.preset, None, seed)?;
    if !opts.periods.is_empty() {
        study.periods.retain(|p| opts.periods.contains(p));
        if study.periods.len() != opts.periods.len() {
            bail!(
                "unknown period in {:?} (periods: {})",
                opts.periods,
                data::PERIODS.join(", ")
            );
        }
    }
    let period_idx: Vec<usize> = study
        .periods
        .iter()
        .filter_map(|p| data::PERIODS.iter().position(|x| x == p))
        .collect();
    let n_ag = study.agencies.len();
    let (params, elements) = st.run(
        "parameters, count bound, Galois elements of the analysis",
        || {
            let params = presets::bfv_params(opts.preset)?;
            engine::check_bound(&study, &params)?;
            let elements = engine::galois_elements(&study, &params)?;
            Ok((params, elements))
        },
    )?;
    let inputs = opts.out.join("inputs");
    st.run("agencies export their CSV files", || {
        for a in &study.agencies {
            agency::write_agency_csv(
                &inputs.join(format!("{}.csv", a.spec.id)),
                &a.spec,
                &as_data,
                &study.countries,
                &study.periods,
            )?;
        }
        Ok(())
    })?;
    // Key generation: every agency samples its share and publishes its key shares.
    let committee = collective::committee(&study)?;
    let set = committee.all()?;
    let crs = collective::crs(&study)?;
    let private = opts.out.join("private");
    let mut parties: Vec<(ActiveShare, Box<dyn ShareLog>)> = Vec::new();
    let mut signers: Vec<SigningKey> = Vec::new();
    let mut costs: Vec<AgencyCost> = study
        .agencies
        .iter()
        .map(|a| AgencyCost {
            agency: a.spec.id.clone(),
            ..AgencyCost::default()
        })
        .collect();
    let (pk, galois) = st.run(
        &format!(
            "collective keys: public key + {} Galois keys, {n_ag} agencies",
            elements.len()
        ),
        || {
            // Protocol by protocol (public key, then one Galois element at a time), so that
            // only one protocol's shares are held at once (196 agencies × 22 Galois shares
            // of ~9 MiB each would not fit in memory).
            let pb = bar(n_ag * (elements.len() + 2), "key generation");
            let mut pk_shares = Vec::new();
            for (a, cost) in study.agencies.iter().zip(costs.iter_mut()) {
                let start = std::time::Instant::now();
                let secret = PartySecret::generate(
                    params.ring(),
                    &committee,
                    PartyId::new(a.party)?,
                    &mut rng,
                )?;
                let active = secret.active(&set)?;
                let dir = private.join(&a.spec.id);
                std::fs::create_dir_all(&dir)?;
                let log_path = dir.join("share.log");
                if log_path.exists() {
                    std::fs::remove_file(&log_path)?;
                }
                let mut log: Box<dyn ShareLog> = Box::new(FileShareLog::open(&log_path)?);
                let p = active.public_key_share(
                    &collective::pk_crp(&params, &crs)?,
                    log.as_mut(),
                    &mut rng,
                )?;
                cost.keygen_s += start.elapsed().as_secs_f64();
                cost.keygen_bytes += p.to_bytes(params.ring())?.len() as u64;
                pk_shares.push(p);
                parties.push((active, log));
                signers.push(SigningKey::generate(&mut rng));
                pb.inc(1);
            }
            let pk = PublicKeyShare::aggregate(
                params.ring(),
                &collective::pk_crp(&params, &crs)?,
                &set,
                &pk_shares,
            )?;
            drop(pk_shares);
            pb.inc(n_ag as u64);
            let mut galois = bfv::GaloisKeys::default();
            for &g in &elements {
                let crp = collective::galois_crp(&params, &crs, g)?;
                let mut shares = Vec::with_capacity(n_ag);
                for ((active, log), cost) in parties.iter_mut().zip(costs.iter_mut()) {
                    let start = std::time::Instant::now();
                    let share = active.galois_key_share(&crp, g, log.as_mut(), &mut rng)?;
                    cost.keygen_s += start.elapsed().as_secs_f64();
                    cost.keygen_bytes += share.to_bytes(params.ring())?.len() as u64;
                    shares.push(share);
                    pb.inc(1);
                }
                galois.insert(GaloisKeyShare::aggregate(
                    params.ring(),
                    &crp,
                    &set,
                    &shares,
                )?);
            }
            pb.finish_and_clear();
            Ok((pk, galois))
        },
    )?;
    let subs = st.run(
        &format!("{n_ag} agencies validate, encrypt and sign their contributions"),
        || {
            let pb = bar(n_ag, "encrypt + sign");
            let mut all = Vec::new();
            for ((a, key), cost) in study.agencies.iter().zip(&signers).zip(costs.iter_mut()) {
                let start = std::time::Instant::now();
                let c = agency::read_contribution(
                    &inputs.join(format!("{}.csv", a.spec.id)),
                    &a.spec,
                    &study.countries,
                    &study.periods,
                    a.max_cell,
                )?;
                let mine = engine::encrypt_contribution(
                    &study, &params, &pk, &a.spec.id, &c.counts, key, &mut rng,
                )?;
                cost.encrypt_s = start.elapsed().as_secs_f64();
                cost.submission_bytes = mine
                    .iter()
                    .flat_map(|s| s.cts.iter())
                    .map(|c| c.to_bytes().len() as u64 + 32)
                    .sum::<u64>()
                    + 96 * mine.len() as u64;
                all.extend(mine);
                pb.inc(1);
            }
            pb.finish_and_clear();
            Ok(all)
        },
    )?;
    let be = BfvBackend::new(&params, galois, None);
    let spec = engine::flow_spec(&study);
    let eval = st.run(
        &format!(
            "computation node: declared flow analysis (BFV, {} periods)",
            study.periods.len()
        ),
        || {
            Ok(flows::evaluate(
                &be,
                &spec,
                params.plaintext_modulus(),
                &subs,
            )?)
        },
    )?;
    let dec = collective::InProcessThreshold {
        parties: std::cell::RefCell::new(std::mem::take(&mut parties)),
        set: set.clone(),
        rng: std::cell::RefCell::new(engine::rng()?),
        costs: std::cell::RefCell::new(Vec::new()),
        count: std::cell::Cell::new(0),
    };
    let (flow_res, _n_cts) = st.run(
        &format!("threshold decryption of the declared outputs ({n_ag} of {n_ag} agencies)"),
        || {
            let r = FlowResults::open(&be, &dec, &spec, &eval)?;
            for (cost, (secs, bytes)) in costs.iter_mut().zip(dec.costs.borrow().iter()) {
                cost.decrypt_s = *secs;
                cost.share_bytes = *bytes;
            }
            Ok((r, dec.count.get()))
        },
    )?;
    st.run(
        "verify: re-execute from the signed submissions, compare transcripts",
        || {
            Ok(flows::verify(
                &be,
                &spec,
                params.plaintext_modulus(),
                &subs,
                &eval.transcript,
            )?)
        },
    )?;
    let mut results = st.run("plain-arithmetic reference and checks", || {
        let mut r = plain::reference(&as_data, &wdi, Some(&unhcr));
        plain::select_periods(&mut r, &period_idx);
        let reference = r.clone();
        r.title = format!("Encrypted migration analytics — Abel & Sander flows held by {n_ag} agencies ({})", opts.by);
        r.checks.clear();
        // Only what was computed under encryption and decrypted is reported as such.
        r.statistics.clear();
        r.pagerank.clear();
        r.forecasts.clear();
        for (p, pr) in flow_res.periods.iter().enumerate() {
            let region = &pr.groups.first().context("no region level")?.1;
            r.region_flows[p] = region
                .iter()
                .map(|&x| u64::try_from(x).unwrap_or(0))
                .collect();
            r.inflow[p] = pr
                .inflow
                .iter()
                .map(|&x| u64::try_from(x).unwrap_or(0))
                .collect();
            r.outflow[p] = pr
                .outflow
                .iter()
                .map(|&x| u64::try_from(x).unwrap_or(0))
                .collect();
        }
        // The flow map shows only decrypted figures: the declared corridors and their return
        // flows in the last period.
        r.top_corridors.clear();
        if let Some(pr) = flow_res.periods.last() {
            for c in &pr.corridors {
                r.top_corridors.push((c.origin, c.dest, u64::try_from(c.forward).unwrap_or(0)));
                r.top_corridors.push((c.dest, c.origin, u64::try_from(c.reverse).unwrap_or(0)));
            }
        }
        r.flow_map_title = format!("Declared corridors and their return flows, {} (decrypted; capitals from WDI; colour: origin region)", r.periods[r.periods.len() - 1]);
        for pr in &flow_res.periods {
            for c in &pr.corridors {
                r.corridors.push(CorridorRow {
                    period: pr.period.clone(),
                    origin: study.countries[c.origin].clone(),
                    dest: study.countries[c.dest].clone(),
                    forward: c.forward,
                    reverse: c.reverse,
                    net: c.net,
                    return_ratio: c.return_ratio,
                });
            }
        }
        let source_ok = period_idx.iter().zip(&r.region_flows).all(|(&p, got)| *got == as_data.region_flows[p]);
        r.checks.push(Check {
            name: "decrypted region table = the source's own 10 × 10 table".into(),
            passed: source_ok,
            detail: "100 cells × 4 periods, exact".into(),
        });
        r.checks.push(Check {
            name: "decrypted inflow/outflow/net = plain arithmetic".into(),
            passed: r.inflow == reference.inflow && r.outflow == reference.outflow,
            detail: format!("{} countries × 4 periods, exact", study.countries.len()),
        });
        Ok(r)
    })?;
    results.decryptions = eval
        .outputs
        .iter()
        .map(|o| Decryption {
            output: o.name.clone(),
            description: format!("{} values", o.slots.len()),
            ciphertexts: o.cts.len(),
            parties: study.agencies.iter().map(|a| a.spec.id.clone()).collect(),
            method: format!("threshold decryption ({n_ag} of {n_ag}), smudging λ = 40"),
        })
        .collect();
    results.setup = vec![
        format!("BFV preset {} (N = {}, t = {}), 128-bit by the HE standard table", opts.preset, params.degree(), params.plaintext_modulus()),
        format!("{n_ag} agencies, {}-of-{n_ag} threshold; collective public key and {} Galois keys from a common reference seed", n_ag, elements.len()),
        format!("{} signed submissions, {} ciphertexts; node evaluation: {}; {} declared outputs", subs.len(), subs.iter().map(|s| s.cts.len()).sum::<usize>(), eval.counts, eval.outputs.len()),
        format!("transcript head {}", crate::study::hex(&eval.transcript.head())),
    ];
    results.agency_costs = std::mem::take(&mut costs);
    crate::derived::add(opts.data, &mut results)?;
    crate::unhcr::run(
        &mut st,
        opts.data,
        &study,
        &params,
        &pk,
        &be,
        &dec,
        &signers,
        &mut results,
        &mut rng,
    )?;
    crate::demo_ckks::run(
        &mut st,
        opts.data,
        &study,
        &signers,
        &private,
        &mut results,
        opts.correlation,
        &mut rng,
    )?;
    results.timings = st.timings.clone();

    let written = st.run("report: tables, plots, Markdown", || {
        report::write_report(opts.out, &results, Some(&wdi))
    })?;
    println!("\nwhole demo: {:.1} s", st.total());
    let mut kinds: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for d in &results.decryptions {
        *kinds
            .entry(d.output.split('/').next().unwrap_or(""))
            .or_default() += 1;
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
    println!(
        "decrypted (and nothing else): {} declared outputs, {} ciphertexts, each by all {n_ag} agencies together:",
        results.decryptions.len(),
        results.decryptions.iter().map(|d| d.ciphertexts).sum::<usize>()
    );
    println!("  {}", kinds.join(", "));
    let ids: Vec<&str> = study.agencies.iter().map(|a| a.spec.id.as_str()).collect();
    if ids.len() <= 12 {
        println!("  agencies: {}", ids.join(", "));
    } else {
        println!(
            "  agencies: {}, … ({} in all)",
            ids[..8].join(", "),
            ids.len()
        );
    }
    for (what, why) in &results.withheld {
        println!("  withheld: {what} ({why})");
    }
    for c in &results.checks {
        println!(
            "  check: {} — {}",
            c.name,
            if c.passed { "pass" } else { "FAIL" }
        );
    }
    if opts.by == "countries" || opts.verbose_costs {
        println!(
            "per agency ({} agencies; median / max):",
            results.agency_costs.len()
        );
        for (name, secs, bytes) in report::cost_columns(&results.agency_costs) {
            let mut sorted = bytes.clone();
            sorted.sort_unstable();
            println!(
                "  {name:<50} {:>8.3} s / {:>8.3} s   {:>12} / {:>12} bytes",
                report::median(&secs),
                secs.iter().copied().fold(0.0, f64::max),
                sorted.get(sorted.len() / 2).copied().unwrap_or(0),
                sorted.last().copied().unwrap_or(0)
            );
        }
    }
    println!(
        "report: {} ({} files)",
        opts.out.join("report.md").display(),
        written.len()
    );
    if results.checks.iter().any(|c| !c.passed) {
        bail!("a check against plain arithmetic failed");
    }
    let _ = data::PERIODS;
    Ok(results)
}
