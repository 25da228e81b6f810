//! Statistics that are public functions of declared outputs: the net migration rate per
//! 1,000 (decrypted `net` of the last period over the public WDI population), its moments,
//! its Pearson correlation with ln GDP per capita and a least-squares fit on public WDI
//! regressors. Nothing beyond the declared `net` output is used; the report labels them as
//! derived.

use crate::results::{Check, Results, Statistic};
use anyhow::Result;
use migrationfhe::analytics::data::{Indicator, Wdi};
use std::path::Path;

/// Solves the normal equations `(XᵀX) β = Xᵀy` by Gaussian elimination with partial pivoting.
fn ols(x: &[Vec<f64>], y: &[f64]) -> Option<Vec<f64>> {
    let q = x.first()?.len();
    let mut a = vec![vec![0.0; q + 1]; q];
    for (row, &yi) in x.iter().zip(y) {
        for j in 0..q {
            for k in 0..q {
                a[j][k] += row[j] * row[k];
            }
            a[j][q] += row[j] * yi;
        }
    }
    for c in 0..q {
        let p = (c..q).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        a.swap(c, p);
        if a[c][c].abs() < 1e-300 {
            return None;
        }
        let pivot = a[c].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != c {
                let f = row[c] / pivot[c];
                for (x, p) in row.iter_mut().zip(&pivot).skip(c) {
                    *x -= f * p;
                }
            }
        }
    }
    Some((0..q).map(|j| a[j][q] / a[j][j]).collect())
}

/// Adds the derived statistics of the last period to `results` (whose `inflow`/`outflow` hold
/// the decrypted outputs).
#[allow(clippy::cast_precision_loss)]
pub fn add(data: &Path, results: &mut Results) -> Result<()> {
    let wdi = Wdi::load(data)?;
    let last = results.periods.len() - 1;
    let year: u16 = results.periods[last]
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(2005);
    let net = results.net(last);
    let (mut rates, mut lngdp, mut design) = (Vec::new(), Vec::new(), Vec::new());
    for (c, iso) in results.countries.iter().enumerate() {
        let pop = wdi.get(iso, year, Indicator::Population);
        let gdp = wdi.get(iso, year, Indicator::GdpPerCapitaPpp);
        let urban = wdi.get(iso, year, Indicator::UrbanPopulation);
        if let (Some(p), Some(g), Some(u)) = (pop, gdp, urban) {
            if p > 0.0 && g > 0.0 {
                let r = 1000.0 * net[c] as f64 / p;
                rates.push(r);
                lngdp.push(g.ln());
                design.push(vec![1.0, g.ln(), u]);
            }
        }
    }
    let m = rates.len() as f64;
    let corr = crate::plain::pearson(&lngdp, &rates);
    let mean = rates.iter().sum::<f64>() / m;
    let var = rates.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / m;
    let what = format!(
        "derived from the declared `net/{}` output and public WDI {year} data, {} countries",
        results.periods[last],
        rates.len()
    );
    results.statistics.push(Statistic {
        name: format!(
            "mean net migration rate {} (per 1,000)",
            results.periods[last]
        ),
        value: mean,
        reference: None,
        description: what.clone(),
    });
    results.statistics.push(Statistic {
        name: "variance of the rate".into(),
        value: var,
        reference: None,
        description: what.clone(),
    });
    results.statistics.push(Statistic {
        name: format!("corr(ln GDP pc {year}, net rate {})", results.periods[last]),
        value: corr,
        reference: Some(0.3356),
        description: what.clone(),
    });
    if let Some(beta) = ols(&design, &rates) {
        for (nm, b) in ["intercept", "ln GDP pc", "urban %"].iter().zip(beta) {
            results.statistics.push(Statistic {
                name: format!("OLS net rate on public regressors: {nm}"),
                value: b,
                reference: None,
                description: what.clone(),
            });
        }
    }
    results.checks.push(Check {
        name: "correlation from the declared net output = 0.3356 (data README) within 1e-3".into(),
        passed: (corr - 0.3356).abs() < 1e-3,
        detail: format!("r = {corr:.5} over {} countries", rates.len()),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::ols;

    #[test]
    fn ols_recovers_an_exact_line() {
        let x: Vec<Vec<f64>> = (0..10)
            .map(|i| vec![1.0, f64::from(i), f64::from(i * i % 7)])
            .collect();
        let y: Vec<f64> = x.iter().map(|r| 2.0 - 0.5 * r[1] + 3.0 * r[2]).collect();
        let b = ols(&x, &y).unwrap();
        for (got, want) in b.iter().zip([2.0, -0.5, 3.0]) {
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
    }
}
