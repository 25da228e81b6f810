//! SVG plots of decrypted, authorised outputs, drawn with `plotters`' SVG backend (no system
//! font needed: the SVG names a generic `sans-serif` family and the viewer renders it).
//!
//! Each plot takes a plain struct, so it can be rendered from any source of figures.

// Pixel geometry: float <-> integer conversions of small, bounded values are intended.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]

use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plot rendering failed: {e:?}")
}

/// A square matrix to draw as a heat map, one panel per period.
#[derive(Clone, Debug)]
pub struct HeatMap {
    /// Title of the whole figure.
    pub title: String,
    /// Row/column labels (origin rows, destination columns).
    pub labels: Vec<String>,
    /// Panels: (panel title, row-major values).
    pub panels: Vec<(String, Vec<f64>)>,
}

/// A horizontal bar chart of signed values.
#[derive(Clone, Debug)]
pub struct Bars {
    /// Title.
    pub title: String,
    /// Axis label of the values.
    pub value_label: String,
    /// (label, value), drawn top to bottom.
    pub bars: Vec<(String, f64)>,
}

/// One yearly series with an optional one-step forecast and the held-out actual value.
#[derive(Clone, Debug)]
pub struct Series {
    /// Name (legend).
    pub name: String,
    /// (year, value) observed and used for fitting.
    pub points: Vec<(u32, f64)>,
    /// (year, forecast value).
    pub forecast: Option<(u32, f64)>,
    /// A second forecast of the same year by another method (drawn as a hollow square).
    pub alt_forecast: Option<(u32, f64)>,
    /// (year, held-out actual value).
    pub actual: Option<(u32, f64)>,
}

/// Yearly trends with forecasts.
#[derive(Clone, Debug)]
pub struct Trends {
    /// Title.
    pub title: String,
    /// Y axis label.
    pub value_label: String,
    /// The series.
    pub series: Vec<Series>,
}

/// Places and flows for the flow map.
#[derive(Clone, Debug)]
pub struct FlowMap {
    /// Title.
    pub title: String,
    /// (label, longitude, latitude, group index for colour).
    pub nodes: Vec<(String, f64, f64, usize)>,
    /// (from node, to node, weight).
    pub flows: Vec<(usize, usize, f64)>,
    /// Names of the colour groups (legend).
    pub groups: Vec<String>,
}

const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Viridis-like ramp, `t` in [0, 1].
fn ramp(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = t.clamp(0.0, 1.0) * 4.0;
    let i = (t.floor() as usize).min(3);
    let f = t - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round().clamp(0.0, 255.0) as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn human(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

fn heat_panel(
    area: &DrawingArea<SVGBackend, Shift>,
    labels: &[String],
    title: &str,
    values: &[f64],
    max_log: f64,
) -> Result<()> {
    let k = labels.len();
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(8)
        .x_label_area_size(70)
        .y_label_area_size(110)
        .build_cartesian_2d(0f64..k as f64, 0f64..k as f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(0)
        .y_labels(0)
        .x_desc("destination")
        .y_desc("origin")
        .axis_desc_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    // Tick labels at the cell centres, drawn just outside the plotting range.
    for (i, label) in labels.iter().enumerate() {
        let centre = i as f64 + 0.5;
        chart
            .draw_series(std::iter::once(Text::new(
                label.clone(),
                (-0.08, k as f64 - centre),
                ("sans-serif", 12)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            )))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                label.clone(),
                (centre, -0.08),
                ("sans-serif", 12)
                    .into_font()
                    .transform(FontTransform::Rotate90)
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            )))
            .map_err(err)?;
    }
    // Labels sit at cell centres: ask for ticks at x.5 by drawing cells with row 0 at the top.
    for r in 0..k {
        for c in 0..k {
            let v = values[r * k + c];
            let t = if v > 0.0 { (v.ln_1p()) / max_log } else { 0.0 };
            let y0 = (k - 1 - r) as f64;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(c as f64, y0), (c as f64 + 1.0, y0 + 1.0)],
                    ramp(t).filled(),
                )))
                .map_err(err)?;
            let text_colour = if t > 0.6 { BLACK } else { WHITE };
            chart
                .draw_series(std::iter::once(Text::new(
                    human(v),
                    (c as f64 + 0.5, y0 + 0.5),
                    ("sans-serif", 11)
                        .into_font()
                        .color(&text_colour)
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                )))
                .map_err(err)?;
        }
    }
    Ok(())
}

/// Renders a heat map (log colour scale, one panel per period, 2 columns).
pub fn heat_map(path: &Path, h: &HeatMap) -> Result<()> {
    let cols = 2usize.min(h.panels.len().max(1));
    let rows = h.panels.len().div_ceil(cols).max(1);
    let (w, hgt) = (560 * cols as u32, 560 * rows as u32 + 50);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, hgt)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let root = root.titled(&h.title, ("sans-serif", 26)).map_err(err)?;
        let max_log = h
            .panels
            .iter()
            .flat_map(|(_, v)| v.iter())
            .fold(0f64, |m, &v| m.max(v.ln_1p()))
            .max(1.0);
        let areas = root.split_evenly((rows, cols));
        for ((title, values), area) in h.panels.iter().zip(areas.iter()) {
            heat_panel(area, &h.labels, title, values, max_log)?;
        }
        root.present().map_err(err)?;
    }
    crate::fsio::write_atomic(path, svg.as_bytes())
}

/// Renders a horizontal bar chart (positive bars blue, negative red).
pub fn bar_chart(path: &Path, b: &Bars) -> Result<()> {
    let k = b.bars.len().max(1);
    let lo = b.bars.iter().fold(0f64, |m, x| m.min(x.1));
    let hi = b.bars.iter().fold(0f64, |m, x| m.max(x.1));
    let pad = (hi - lo).max(1.0) * 0.08;
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (900, 60 + 28 * k as u32 + 80)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&b.title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(150)
            .build_cartesian_2d((lo - pad)..(hi + pad), 0f64..k as f64)
            .map_err(err)?;
        let labels: Vec<String> = b.bars.iter().map(|x| x.0.clone()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(k * 2 + 1)
            .y_label_formatter(&move |y| {
                let i = (k as f64 - y).floor() as usize;
                if (y - y.floor() - 0.5).abs() < 1e-9 && i < labels.len() {
                    labels[i].clone()
                } else {
                    String::new()
                }
            })
            .x_label_formatter(&|x| human(*x))
            .x_desc(b.value_label.as_str())
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        for (i, (_, v)) in b.bars.iter().enumerate() {
            let y0 = (k - 1 - i) as f64 + 0.15;
            let c = if *v >= 0.0 {
                RGBColor(31, 119, 180)
            } else {
                RGBColor(214, 39, 40)
            };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, y0), (*v, y0 + 0.7)],
                    c.filled(),
                )))
                .map_err(err)?;
            let anchor = if *v >= 0.0 { HPos::Left } else { HPos::Right };
            let xoff = if *v >= 0.0 { pad * 0.1 } else { -pad * 0.1 };
            chart
                .draw_series(std::iter::once(Text::new(
                    human(*v),
                    (*v + xoff, y0 + 0.35),
                    ("sans-serif", 12)
                        .into_font()
                        .color(&BLACK)
                        .pos(Pos::new(anchor, VPos::Center)),
                )))
                .map_err(err)?;
        }
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 0.0), (0.0, k as f64)],
                BLACK,
            )))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    crate::fsio::write_atomic(path, svg.as_bytes())
}

/// Renders yearly series as lines, each forecast as a dashed segment to a hollow-diamond point,
/// and the held-out actual value as a filled dot.
pub fn trends(path: &Path, t: &Trends) -> Result<()> {
    let years = t.series.iter().flat_map(|s| {
        s.points
            .iter()
            .map(|p| p.0)
            .chain(s.forecast.map(|f| f.0))
            .chain(s.actual.map(|a| a.0))
    });
    let (y0, y1) = years.fold((u32::MAX, 0), |(a, b), y| (a.min(y), b.max(y)));
    let vmax = t
        .series
        .iter()
        .flat_map(|s| {
            s.points
                .iter()
                .map(|p| p.1)
                .chain(s.forecast.map(|f| f.1))
                .chain(s.actual.map(|a| a.1))
        })
        .fold(0f64, f64::max)
        .max(1.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 620)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&t.title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(f64::from(y0) - 0.5..f64::from(y1) + 0.5, 0f64..vmax * 1.08)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(14)
            .x_label_formatter(&|x| format!("{:.0}", x))
            .y_label_formatter(&|y| human(*y))
            .x_desc("year   (dashed to hollow circle: Holt forecast; hollow square: linear trend; dot: held-out actual)")
            .y_desc(t.value_label.as_str())
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        for (i, s) in t.series.iter().enumerate() {
            let c = colour(i);
            let pts: Vec<(f64, f64)> = s.points.iter().map(|&(y, v)| (f64::from(y), v)).collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                .map_err(err)?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
            if let (Some(&last), Some((fy, fv))) = (pts.last(), s.forecast) {
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![last, (f64::from(fy), fv)],
                        6,
                        4,
                        c.stroke_width(2),
                    ))
                    .map_err(err)?;
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (f64::from(fy), fv),
                        6,
                        c.stroke_width(2),
                    )))
                    .map_err(err)?;
            }
            if let Some((fy, fv)) = s.alt_forecast {
                let (x, y) = (f64::from(fy), fv);
                chart
                    .draw_series(std::iter::once(
                        EmptyElement::at((x, y))
                            + Rectangle::new([(-5, -5), (5, 5)], c.stroke_width(2)),
                    ))
                    .map_err(err)?;
            }
            if let Some((ay, av)) = s.actual {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (f64::from(ay), av),
                        4,
                        c.filled(),
                    )))
                    .map_err(err)?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .margin(15)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    crate::fsio::write_atomic(path, svg.as_bytes())
}

/// Renders a flow map: capitals on an equirectangular projection, each flow a curved line from
/// origin to destination with width proportional to the square root of its weight, coloured by
/// the origin's group, with a dot at the destination end.
pub fn flow_map(path: &Path, m: &FlowMap) -> Result<()> {
    let wmax = m.flows.iter().fold(0f64, |a, f| a.max(f.2)).max(1.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1400, 760)).into_drawing_area();
        root.fill(&RGBColor(246, 248, 252)).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&m.title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(-180f64..180f64, -60f64..80f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(13)
            .y_labels(8)
            .x_label_formatter(&|x| format!("{x:.0}°"))
            .y_label_formatter(&|y| format!("{y:.0}°"))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(RGBColor(200, 205, 215).stroke_width(1))
            .label_style(("sans-serif", 11))
            .draw()
            .map_err(err)?;
        // Every known capital as a small grey dot.
        chart
            .draw_series(
                m.nodes
                    .iter()
                    .map(|n| Circle::new((n.1, n.2), 2, RGBColor(150, 150, 150).filled())),
            )
            .map_err(err)?;
        let mut order: Vec<usize> = (0..m.flows.len()).collect();
        order.sort_by(|&a, &b| m.flows[a].2.total_cmp(&m.flows[b].2));
        let mut labelled = std::collections::BTreeSet::new();
        for &i in &order {
            let (a, b, w) = m.flows[i];
            let (na, nb) = (&m.nodes[a], &m.nodes[b]);
            let (x0, y0, x1, y1) = (na.1, na.2, nb.1, nb.2);
            // Quadratic Bézier bulging to the left of the direction of travel.
            let (mx, my) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
            let (dx, dy) = (x1 - x0, y1 - y0);
            let (cx, cy) = (mx - dy * 0.2, my + dx * 0.2);
            let pts: Vec<(f64, f64)> = (0..=24)
                .map(|s| {
                    let t = f64::from(s) / 24.0;
                    let u = 1.0 - t;
                    (
                        u * u * x0 + 2.0 * u * t * cx + t * t * x1,
                        u * u * y0 + 2.0 * u * t * cy + t * t * y1,
                    )
                })
                .collect();
            let width = (1.0 + 9.0 * (w / wmax).sqrt()).round() as u32;
            let c = colour(na.3);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    pts,
                    c.mix(0.7).stroke_width(width),
                )))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Circle::new(
                    (x1, y1),
                    3 + width / 2,
                    BLACK.filled(),
                )))
                .map_err(err)?;
            labelled.insert(a);
            labelled.insert(b);
        }
        for &i in &labelled {
            let n = &m.nodes[i];
            chart
                .draw_series(std::iter::once(Text::new(
                    n.0.clone(),
                    (n.1 + 1.5, n.2 + 1.5),
                    ("sans-serif", 12).into_font().color(&BLACK),
                )))
                .map_err(err)?;
        }
        for (g, name) in m.groups.iter().enumerate() {
            let c = colour(g);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(0.0, 0.0)],
                    c.stroke_width(4),
                )))
                .map_err(err)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(4))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    crate::fsio::write_atomic(path, svg.as_bytes())
}
