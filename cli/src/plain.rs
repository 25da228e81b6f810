//! The same figures computed in plain arithmetic from the public copy of the data: the
//! reference every decrypted output is checked against, and the content of
//! `migrationfhe reference` (a report drawn without any encryption, for comparison).

use crate::data::{AbelSander, UnhcrSeries, Wdi};
use crate::results::{Check, Forecast, Results, Statistic};

/// Region × region totals of one period from the country matrix.
pub fn region_flows(data: &AbelSander, p: usize) -> Vec<u64> {
    let n = data.n();
    let nr = data.regions.len();
    let mut out = vec![0u64; nr * nr];
    for o in 0..n {
        for d in 0..n {
            let (a, b) = (
                data.countries[o].region_id - 1,
                data.countries[d].region_id - 1,
            );
            out[a * nr + b] += data.flows[p][o * n + d];
        }
    }
    out
}

/// Inflow and outflow per country of one period.
pub fn in_out(data: &AbelSander, p: usize) -> (Vec<u64>, Vec<u64>) {
    let n = data.n();
    let mut inflow = vec![0u64; n];
    let mut outflow = vec![0u64; n];
    for (i, &v) in data.flows[p].iter().enumerate() {
        inflow[i % n] += v;
        outflow[i / n] += v;
    }
    (inflow, outflow)
}

/// The `k` largest corridors of period `p`.
pub fn top_corridors(flows: &[u64], n: usize, k: usize) -> Vec<(usize, usize, u64)> {
    let mut all: Vec<(usize, usize, u64)> = (0..n * n)
        .filter(|&i| flows[i] > 0)
        .map(|i| (i / n, i % n, flows[i]))
        .collect();
    all.sort_by_key(|x| std::cmp::Reverse(x.2));
    all.truncate(k);
    all
}

/// Net migration per 1,000 of the population at the period's first year.
pub fn net_rate(data: &AbelSander, wdi: &Wdi, net: &[i64], year: u32) -> Vec<Option<f64>> {
    data.countries
        .iter()
        .zip(net)
        .map(|(c, &v)| {
            wdi.population
                .get(&(c.iso3.clone(), year))
                .map(|&pop| v as f64 / pop * 1000.0)
        })
        .collect()
}

/// PageRank with damping `d` and `iters` power iterations over the row-normalised flow matrix
/// (dangling nodes spread uniformly), from the uniform vector.
pub fn pagerank(flows: &[u64], n: usize, d: f64, iters: usize) -> Vec<f64> {
    let out: Vec<f64> = (0..n)
        .map(|o| flows[o * n..(o + 1) * n].iter().map(|&x| x as f64).sum())
        .collect();
    let mut x = vec![1.0 / n as f64; n];
    for _ in 0..iters {
        let dangling: f64 = (0..n).filter(|&o| out[o] == 0.0).map(|o| x[o]).sum();
        let mut next = vec![(1.0 - d) / n as f64 + d * dangling / n as f64; n];
        for o in 0..n {
            if out[o] == 0.0 {
                continue;
            }
            let w = d * x[o] / out[o];
            for dst in 0..n {
                next[dst] += w * flows[o * n + dst] as f64;
            }
        }
        x = next;
    }
    x
}

/// Pearson correlation of paired samples.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

/// Holt's linear exponential smoothing: one-step forecast after the last value.
pub fn holt(values: &[f64], alpha: f64, beta: f64) -> f64 {
    if values.len() < 2 {
        return values.first().copied().unwrap_or(0.0);
    }
    let mut level = values[0];
    let mut trend = values[1] - values[0];
    for &v in &values[1..] {
        let prev = level;
        level = alpha * v + (1.0 - alpha) * (level + trend);
        trend = beta * (level - prev) + (1.0 - beta) * trend;
    }
    level + trend
}

/// The full set of figures in plain arithmetic.
pub fn reference(data: &AbelSander, wdi: &Wdi, unhcr: Option<&UnhcrSeries>) -> Results {
    let n = data.n();
    let periods: Vec<String> = crate::data::PERIODS
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let mut r = Results {
        title: "Migration analytics — plain-arithmetic reference (no encryption)".into(),
        periods: periods.clone(),
        regions: data.regions.clone(),
        countries: data.countries.iter().map(|c| c.iso3.clone()).collect(),
        country_names: data.countries.iter().map(|c| c.name.clone()).collect(),
        country_region: data.countries.iter().map(|c| c.region_id - 1).collect(),
        ..Results::default()
    };
    for p in 0..periods.len() {
        r.region_flows.push(region_flows(data, p));
        let (i, o) = in_out(data, p);
        r.inflow.push(i);
        r.outflow.push(o);
    }
    let nr = data.regions.len();
    let max_diff = (0..periods.len())
        .flat_map(|p| (0..nr * nr).map(move |i| (p, i)))
        .map(|(p, i)| r.region_flows[p][i].abs_diff(data.region_flows[p][i]))
        .max()
        .unwrap_or(0);
    r.checks.push(Check {
        name: "country flows aggregate to the source's region table".into(),
        passed: max_diff == 0,
        detail: format!(
            "{} cells x {} periods, largest difference {max_diff}",
            nr * nr,
            periods.len()
        ),
    });
    let last = periods.len() - 1;
    r.top_corridors = top_corridors(&data.flows[last], n, 30);
    let net = r.net(last);
    r.net_rate_per_1000 = net_rate(data, wdi, &net, 2005);
    r.pagerank = pagerank(&data.flows[last], n, 0.85, 20);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for (c, rate) in data.countries.iter().zip(&r.net_rate_per_1000) {
        if let (Some(rate), Some(g)) = (rate, wdi.gdp_pc.get(&(c.iso3.clone(), 2005))) {
            xs.push(g.ln());
            ys.push(*rate);
        }
    }
    let corr = pearson(&xs, &ys);
    r.statistics.push(Statistic {
        name: "corr(ln GDP pc 2005, net rate 2005-2010)".into(),
        value: corr,
        reference: Some(corr),
        description: format!(
            "Pearson r over {} countries with WDI 2005 GDP per capita and population",
            xs.len()
        ),
    });
    if let Some(u) = unhcr {
        for (name, vals) in u.regions.iter().zip(&u.values) {
            let fit: Vec<f64> = vals[..vals.len() - 1].iter().map(|&v| v as f64).collect();
            r.forecasts.push(Forecast {
                name: name.clone(),
                first_year: u.first_year,
                method: "Holt (alpha 0.5, beta 0.3), plain".into(),
                forecast_year: u.first_year + u32::try_from(fit.len()).unwrap_or(u32::MAX),
                forecast: holt(&fit, 0.5, 0.3),
                actual: vals.last().map(|&v| v as f64),
                values: fit,
            });
        }
    }
    r
}

/// Keeps only the periods at `idx` (indices into the four periods) of the per-period figures.
pub fn select_periods(r: &mut Results, idx: &[usize]) {
    let pick = |v: &[Vec<u64>]| {
        idx.iter()
            .filter_map(|&p| v.get(p).cloned())
            .collect::<Vec<_>>()
    };
    r.periods = idx
        .iter()
        .filter_map(|&p| r.periods.get(p).cloned())
        .collect();
    r.region_flows = pick(&r.region_flows);
    r.inflow = pick(&r.inflow);
    r.outflow = pick(&r.outflow);
}
