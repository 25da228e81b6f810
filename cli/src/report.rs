//! Report writers: CSV and JSON tables, a Markdown report and the SVG plots, all written
//! atomically into one output folder from a [`Results`].

// Display code: float <-> integer conversions of figures for labels are intended.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]

use crate::data::Wdi;
use crate::fsio;
use crate::plots;
use crate::results::Results;
use anyhow::Result;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Short labels for the ten Abel & Sander regions (plots).
pub fn short_region(name: &str) -> String {
    match name {
        "North America" => "N. America",
        "Fmr Soviet Union" => "Fmr USSR",
        "South-East Asia" => "SE Asia",
        "Latin America" => "Lat. America",
        other => other,
    }
    .to_owned()
}

fn csv_table(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    fsio::write_atomic_with(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(header)?;
        for r in rows {
            out.write_record(r)?;
        }
        out.flush()?;
        Ok(())
    })
}

fn json_table(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let objects: Vec<serde_json::Map<String, serde_json::Value>> = rows
        .iter()
        .map(|r| {
            header
                .iter()
                .zip(r)
                .map(|(h, v)| {
                    let value = v
                        .parse::<i64>()
                        .map(serde_json::Value::from)
                        .or_else(|_| v.parse::<f64>().map(serde_json::Value::from))
                        .unwrap_or_else(|_| {
                            if v.is_empty() {
                                serde_json::Value::Null
                            } else {
                                serde_json::Value::from(v.clone())
                            }
                        });
                    ((*h).to_owned(), value)
                })
                .collect()
        })
        .collect();
    fsio::write_json(path, &objects)
}

fn table(dir: &Path, name: &str, header: &[&str], rows: &[Vec<String>]) -> Result<Vec<PathBuf>> {
    let csv_path = dir.join(format!("{name}.csv"));
    let json_path = dir.join(format!("{name}.json"));
    csv_table(&csv_path, header, rows)?;
    json_table(&json_path, header, rows)?;
    Ok(vec![csv_path, json_path])
}

fn fmt_int(v: i128) -> String {
    let s = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if v < 0 {
        format!("−{out}")
    } else {
        out
    }
}

/// Writes the tables, plots and `report.md` under `out`; returns the paths written.
pub fn write_report(out: &Path, r: &Results, wdi: Option<&Wdi>) -> Result<Vec<PathBuf>> {
    let tables = out.join("tables");
    let plots_dir = out.join("plots");
    let mut written = Vec::new();
    let nr = r.regions.len();
    let last = r.periods.len().saturating_sub(1);

    // Tables.
    let mut rows = Vec::new();
    for (p, period) in r.periods.iter().enumerate() {
        for a in 0..nr {
            for b in 0..nr {
                rows.push(vec![
                    period.clone(),
                    r.regions[a].clone(),
                    r.regions[b].clone(),
                    r.region_flows[p][a * nr + b].to_string(),
                ]);
            }
        }
    }
    written.extend(table(
        &tables,
        "region_flows",
        &["period", "orig_region", "dest_region", "persons"],
        &rows,
    )?);

    let mut rows = Vec::new();
    for (p, period) in r.periods.iter().enumerate() {
        let net = r.net(p);
        for (c, &net_c) in net.iter().enumerate() {
            let rate = if p == last {
                r.net_rate_per_1000
                    .get(c)
                    .copied()
                    .flatten()
                    .map(|x| format!("{x:.4}"))
            } else {
                None
            };
            let pr = if p == last {
                r.pagerank.get(c).map(|x| format!("{x:.6}"))
            } else {
                None
            };
            let cl = if p == last {
                r.clusters.get(c).map(ToString::to_string)
            } else {
                None
            };
            rows.push(vec![
                period.clone(),
                r.countries[c].clone(),
                r.country_names[c].clone(),
                r.regions
                    .get(r.country_region[c])
                    .cloned()
                    .unwrap_or_default(),
                r.inflow[p][c].to_string(),
                r.outflow[p][c].to_string(),
                net_c.to_string(),
                rate.unwrap_or_default(),
                pr.unwrap_or_default(),
                cl.unwrap_or_default(),
            ]);
        }
    }
    written.extend(table(
        &tables,
        "country_flows",
        &[
            "period",
            "iso3",
            "name",
            "region",
            "inflow",
            "outflow",
            "net",
            "net_rate_per_1000",
            "pagerank",
            "cluster",
        ],
        &rows,
    )?);

    let rows: Vec<Vec<String>> = r
        .statistics
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                format!("{:.6}", s.value),
                s.reference.map(|x| format!("{x:.6}")).unwrap_or_default(),
                s.description.clone(),
            ]
        })
        .collect();
    written.extend(table(
        &tables,
        "statistics",
        &["name", "value", "plain_reference", "description"],
        &rows,
    )?);

    let rows: Vec<Vec<String>> = r
        .forecasts
        .iter()
        .map(|f| {
            vec![
                f.name.clone(),
                f.method.clone(),
                f.forecast_year.to_string(),
                format!("{:.0}", f.forecast),
                f.actual.map(|a| format!("{a:.0}")).unwrap_or_default(),
                f.values
                    .last()
                    .map(|v| format!("{v:.0}"))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    written.extend(table(
        &tables,
        "forecasts",
        &[
            "series",
            "method",
            "year",
            "forecast",
            "actual",
            "last_observed",
        ],
        &rows,
    )?);

    let rows: Vec<Vec<String>> = r
        .decryptions
        .iter()
        .map(|d| {
            vec![
                d.output.clone(),
                d.description.clone(),
                d.ciphertexts.to_string(),
                d.method.clone(),
                d.parties.join(" "),
            ]
        })
        .collect();
    written.extend(table(
        &tables,
        "decryptions",
        &["output", "description", "ciphertexts", "method", "parties"],
        &rows,
    )?);

    let rows: Vec<Vec<String>> = r
        .corridors
        .iter()
        .map(|c| {
            vec![
                c.period.clone(),
                c.origin.clone(),
                c.dest.clone(),
                c.forward.to_string(),
                c.reverse.to_string(),
                c.net.to_string(),
                c.return_ratio
                    .map(|x| format!("{x:.4}"))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    written.extend(table(
        &tables,
        "return_flows",
        &[
            "period",
            "origin",
            "dest",
            "forward",
            "reverse",
            "net",
            "return_ratio",
        ],
        &rows,
    )?);

    if !r.agency_costs.is_empty() {
        let rows: Vec<Vec<String>> = r
            .agency_costs
            .iter()
            .map(|c| {
                vec![
                    c.agency.clone(),
                    format!("{:.4}", c.keygen_s),
                    c.keygen_bytes.to_string(),
                    format!("{:.4}", c.ckks_keygen_s),
                    format!("{:.4}", c.encrypt_s),
                    c.submission_bytes.to_string(),
                    format!("{:.4}", c.decrypt_s),
                    c.share_bytes.to_string(),
                ]
            })
            .collect();
        written.extend(table(
            &tables,
            "agency_costs",
            &[
                "agency",
                "keygen_s",
                "keygen_bytes",
                "ckks_keygen_s",
                "encrypt_s",
                "submission_bytes",
                "decrypt_shares_s",
                "decrypt_share_bytes",
            ],
            &rows,
        )?);
    }

    let results_json = out.join("results.json");
    fsio::write_json(&results_json, r)?;
    written.push(results_json);

    // Plots.
    let labels: Vec<String> = r.regions.iter().map(|s| short_region(s)).collect();
    let heat = plots::HeatMap {
        title: "Region → region migration flows (persons per 5-year period, log colour)".into(),
        labels,
        panels: r
            .periods
            .iter()
            .zip(&r.region_flows)
            .map(|(p, v)| (p.clone(), v.iter().map(|&x| x as f64).collect()))
            .collect(),
    };
    let path = plots_dir.join("region_heatmap.svg");
    plots::heat_map(&path, &heat)?;
    written.push(path);

    if !r.inflow.is_empty() {
        let net = r.net(last);
        let mut order: Vec<usize> = (0..net.len()).collect();
        order.sort_by_key(|&c| std::cmp::Reverse(net[c]));
        let mut bars: Vec<(String, f64)> = order
            .iter()
            .take(10)
            .map(|&c| (r.country_names[c].clone(), net[c] as f64))
            .collect();
        let losers: Vec<(String, f64)> = order
            .iter()
            .rev()
            .take(10)
            .rev()
            .map(|&c| (r.country_names[c].clone(), net[c] as f64))
            .collect();
        bars.extend(losers);
        let path = plots_dir.join("top_net_migration.svg");
        plots::bar_chart(
            &path,
            &plots::Bars {
                title: format!(
                    "Largest net migration gains and losses, {}",
                    r.periods[last]
                ),
                value_label: "net migration (persons)".into(),
                bars,
            },
        )?;
        written.push(path);
    }

    if !r.forecasts.is_empty() {
        // One line per series name (before " ("), the Holt forecast as the main one.
        let mut series: Vec<plots::Series> = Vec::new();
        for f in &r.forecasts {
            let base = f.name.split(" (").next().unwrap_or(&f.name).to_owned();
            let is_trend = f.method.contains("trend");
            let point = Some((f.forecast_year, f.forecast));
            if let Some(s) = series.iter_mut().find(|s| s.name == base) {
                if is_trend {
                    s.alt_forecast = point;
                } else {
                    s.forecast = point;
                }
                continue;
            }
            series.push(plots::Series {
                name: base,
                points: f
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| (f.first_year + i as u32, v))
                    .collect(),
                forecast: if is_trend { None } else { point },
                alt_forecast: if is_trend { point } else { None },
                actual: f.actual.map(|a| (f.forecast_year, a)),
            });
        }
        let path = plots_dir.join("trends_forecast.svg");
        plots::trends(
            &path,
            &plots::Trends {
                title: "UNHCR new displacement by host region, with forecast".into(),
                value_label: "persons per year".into(),
                series,
            },
        )?;
        written.push(path);
    }

    if let Some(wdi) = wdi {
        let mut nodes = Vec::new();
        let mut node_of = vec![None; r.countries.len()];
        for (c, iso) in r.countries.iter().enumerate() {
            if let Some((lon, lat)) = wdi.capital(iso) {
                node_of[c] = Some(nodes.len());
                nodes.push((iso.clone(), lon, lat, r.country_region[c]));
            }
        }
        let flows: Vec<(usize, usize, f64)> = r
            .top_corridors
            .iter()
            .filter_map(|&(o, d, w)| Some((node_of[o]?, node_of[d]?, w as f64)))
            .collect();
        let path = plots_dir.join("flow_map.svg");
        plots::flow_map(
            &path,
            &plots::FlowMap {
                title: if r.flow_map_title.is_empty() {
                    format!("Largest {} country-to-country flows, {} (capitals from WDI; colour: origin region)", flows.len(), r.periods[last])
                } else {
                    r.flow_map_title.clone()
                },
                nodes,
                flows,
                groups: r.regions.clone(),
            },
        )?;
        written.push(path);
    }

    let md = markdown(r);
    let path = out.join("report.md");
    fsio::write_atomic(&path, md.as_bytes())?;
    written.push(path);
    Ok(written)
}

/// (stage, seconds per agency, bytes per agency) columns of the per-agency costs.
pub fn cost_columns(c: &[crate::results::AgencyCost]) -> Vec<(&'static str, Vec<f64>, Vec<u64>)> {
    vec![
        (
            "BFV key generation (public-key + Galois key shares)",
            c.iter().map(|x| x.keygen_s).collect(),
            c.iter().map(|x| x.keygen_bytes).collect(),
        ),
        (
            "CKKS key generation (pk, relin 2 rounds, Galois; bytes not measured)",
            c.iter().map(|x| x.ckks_keygen_s).collect(),
            vec![0; c.len()],
        ),
        (
            "validate CSV, encrypt, sign",
            c.iter().map(|x| x.encrypt_s).collect(),
            c.iter().map(|x| x.submission_bytes).collect(),
        ),
        (
            "decryption shares of the declared outputs",
            c.iter().map(|x| x.decrypt_s).collect(),
            c.iter().map(|x| x.share_bytes).collect(),
        ),
    ]
}

/// Median of a sample (0 for none).
pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn median_u(v: &[u64]) -> u64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// The Markdown report.
pub fn markdown(r: &Results) -> String {
    let mut s = String::new();
    let nr = r.regions.len();
    let last = r.periods.len().saturating_sub(1);
    let _ = writeln!(s, "# {}\n", r.title);
    if !r.setup.is_empty() {
        let _ = writeln!(s, "## Setup\n");
        for line in &r.setup {
            let _ = writeln!(s, "- {line}");
        }
        s.push('\n');
    }
    let _ = writeln!(s, "## What was decrypted, and by whom\n");
    let _ = writeln!(s, "Nothing else was decrypted: every agency checked, before releasing its share, that each ciphertext is a declared output of the declared analysis over the signed submissions.\n");
    let _ = writeln!(
        s,
        "| output | what | ciphertexts | method | parties |\n|---|---|---|---|---|"
    );
    for d in &r.decryptions {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} |",
            d.output,
            d.description,
            d.ciphertexts,
            d.method,
            d.parties.join(", ")
        );
    }
    if !r.withheld.is_empty() {
        let _ = writeln!(s, "\n### Computed under encryption but not released\n");
        for (what, why) in &r.withheld {
            let _ = writeln!(s, "- {what}: {why}");
        }
    }
    if !r.region_flows.is_empty() {
        let _ = writeln!(s, "\n## Region → region flows, {}\n", r.periods[last]);
        let _ = write!(s, "| origin \\ destination |");
        for reg in &r.regions {
            let _ = write!(s, " {} |", short_region(reg));
        }
        let _ = write!(s, "\n|---|");
        for _ in 0..nr {
            s.push_str("---:|");
        }
        s.push('\n');
        for a in 0..nr {
            let _ = write!(s, "| {} |", r.regions[a]);
            for b in 0..nr {
                let _ = write!(
                    s,
                    " {} |",
                    fmt_int(i128::from(r.region_flows[last][a * nr + b]))
                );
            }
            s.push('\n');
        }
        let _ = writeln!(
            s,
            "\nAll four periods: `tables/region_flows.csv`; heat map: `plots/region_heatmap.svg`."
        );
    }
    if !r.inflow.is_empty() {
        let net = r.net(last);
        let mut order: Vec<usize> = (0..net.len()).collect();
        order.sort_by_key(|&c| std::cmp::Reverse(net[c]));
        let _ = writeln!(s, "\n## Net migration, {}\n", r.periods[last]);
        let _ = writeln!(
            s,
            "| country | inflow | outflow | net | per 1,000 |\n|---|---:|---:|---:|---:|"
        );
        let picks: Vec<usize> = order
            .iter()
            .take(5)
            .chain(order.iter().rev().take(5).rev())
            .copied()
            .collect();
        for c in picks {
            let rate = r
                .net_rate_per_1000
                .get(c)
                .copied()
                .flatten()
                .map(|x| format!("{x:.2}"))
                .unwrap_or_else(|| "–".into());
            let _ = writeln!(
                s,
                "| {} ({}) | {} | {} | {} | {} |",
                r.country_names[c],
                r.countries[c],
                fmt_int(i128::from(r.inflow[last][c])),
                fmt_int(i128::from(r.outflow[last][c])),
                fmt_int(i128::from(net[c])),
                rate
            );
        }
        let _ = writeln!(s, "\nEvery country and period: `tables/country_flows.csv`; chart: `plots/top_net_migration.svg`; flow map: `plots/flow_map.svg`.");
    }
    if !r.corridors.is_empty() {
        let _ = writeln!(
            s,
            "\n## Return flows of the declared corridors, {}\n",
            r.periods[last]
        );
        let _ = writeln!(
            s,
            "| corridor | flow | return flow | net | return ratio |\n|---|---:|---:|---:|---:|"
        );
        for c in r.corridors.iter().filter(|c| c.period == r.periods[last]) {
            let ratio = c
                .return_ratio
                .map(|x| format!("{x:.3}"))
                .unwrap_or_else(|| "–".into());
            let _ = writeln!(
                s,
                "| {} → {} | {} | {} | {} | {} |",
                c.origin,
                c.dest,
                fmt_int(i128::from(c.forward)),
                fmt_int(i128::from(c.reverse)),
                fmt_int(i128::from(c.net)),
                ratio
            );
        }
        let _ = writeln!(s, "\nAll periods: `tables/return_flows.csv`.");
    }
    if !r.pagerank.is_empty() {
        let mut order: Vec<usize> = (0..r.pagerank.len()).collect();
        order.sort_by(|&a, &b| r.pagerank[b].total_cmp(&r.pagerank[a]));
        let _ = writeln!(
            s,
            "\n## PageRank of the flow graph, {} (top 10)\n",
            r.periods[last]
        );
        let _ = writeln!(s, "| rank | country | score |\n|---:|---|---:|");
        for (i, &c) in order.iter().take(10).enumerate() {
            let _ = writeln!(
                s,
                "| {} | {} | {:.5} |",
                i + 1,
                r.country_names[c],
                r.pagerank[c]
            );
        }
    }
    if !r.statistics.is_empty() {
        let _ = writeln!(s, "\n## Statistics\n");
        let _ = writeln!(
            s,
            "| name | value (from decrypted outputs) | reference | what |\n|---|---:|---:|---|"
        );
        for st in &r.statistics {
            let reference = st
                .reference
                .map(|x| format!("{x:.6}"))
                .unwrap_or_else(|| "–".into());
            let _ = writeln!(
                s,
                "| {} | {:.6} | {} | {} |",
                st.name, st.value, reference, st.description
            );
        }
    }
    if !r.forecasts.is_empty() {
        let _ = writeln!(s, "\n## Forecasts\n");
        let _ = writeln!(
            s,
            "| series | method | year | forecast | actual (held out) |\n|---|---|---:|---:|---:|"
        );
        for f in &r.forecasts {
            let actual = f
                .actual
                .map(|a| fmt_int(a.round() as i128))
                .unwrap_or_else(|| "–".into());
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                f.name,
                f.method,
                f.forecast_year,
                fmt_int(f.forecast.round() as i128),
                actual
            );
        }
        let _ = writeln!(s, "\nPlot: `plots/trends_forecast.svg`.");
    }
    if !r.checks.is_empty() {
        let _ = writeln!(s, "\n## Checks against plain arithmetic\n");
        let _ = writeln!(s, "| check | result | detail |\n|---|---|---|");
        for c in &r.checks {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                c.name,
                if c.passed { "pass" } else { "**FAIL**" },
                c.detail
            );
        }
    }
    if !r.agency_costs.is_empty() {
        let _ = writeln!(
            s,
            "\n## Per-agency costs ({} agencies)\n",
            r.agency_costs.len()
        );
        let _ = writeln!(s, "Each agency's own computation (seconds) and what it publishes (bytes), per stage; every agency's row is in `tables/agency_costs.csv`.\n");
        let _ = writeln!(
            s,
            "| stage | median s | max s | median bytes | max bytes |\n|---|---:|---:|---:|---:|"
        );
        for (name, secs, bytes) in cost_columns(&r.agency_costs) {
            let _ = writeln!(
                s,
                "| {name} | {:.3} | {:.3} | {} | {} |",
                median(&secs),
                secs.iter().copied().fold(0.0, f64::max),
                fmt_int(i128::from(median_u(&bytes))),
                fmt_int(i128::from(bytes.iter().copied().max().unwrap_or(0)))
            );
        }
    }
    if !r.timings.is_empty() {
        let _ = writeln!(s, "\n## Timings\n");
        let _ = writeln!(s, "| stage | seconds |\n|---|---:|");
        for (stage, t) in &r.timings {
            let _ = writeln!(s, "| {stage} | {t:.2} |");
        }
    }
    if !r.notes.is_empty() {
        let _ = writeln!(s, "\n## Notes\n");
        for n in &r.notes {
            let _ = writeln!(s, "- {n}");
        }
    }
    let _ = writeln!(
        s,
        "\n## Data and attribution\n\n\
         - Guy J. Abel and Nikola Sander (2014). Quantifying Global International Migration Flows. Science, 343 (6178). (bilateral flows 1990–2010, regions)\n\
         - World Bank (2025), World Development Indicators, CC BY 4.0. (population, GDP per capita, capital coordinates)\n\
         - UNHCR Refugee Population Statistics Database, via the `refugees` R package v2025.12.1, CC BY 4.0. (annual displacement flows)\n"
    );
    s
}
