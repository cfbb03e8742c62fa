//! Chapter 1's figures: test loss (or error rate) against n, the learned feature weights, one test
//! task's fit, and the aliased-feature toy's descent.

use super::axis::Axis;
use super::{
    build_with_legend, err, frame, labelled, legend, mesh, Area, Key, Mark, Palette, Points, Symbol,
};
use crate::maml::alias_toy::ToyState;
use crate::maml::{Curve, TaskFit};
use plotters::prelude::*;
use std::fmt::Write as _;

/// What the test-loss figure's curves measure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Metric {
    /// Test mean squared error (regression), log scale, with zero-predictor and noise lines.
    #[default]
    Mse,
    /// Test error rate (classification), linear scale, with the chance line at `zero_level`.
    ErrorRate,
}

/// Data of the test-loss figure (parts e, g and i).
#[derive(Clone, Debug, Default)]
pub struct TestLossData {
    pub metric: Metric,
    pub ns: Vec<usize>,
    pub meta: Option<Curve>,
    pub ones: Option<Curve>,
    pub oracle: Option<Curve>,
    pub noise_variance: f64,
    pub zero_level: f64,
    pub iteration: usize,
}

impl TestLossData {
    fn curves(&self) -> Vec<(&'static str, &Curve, usize)> {
        let mut v = Vec::new();
        if let Some(c) = &self.meta {
            v.push(("meta-learned", c, 0));
        }
        if let Some(c) = &self.ones {
            v.push(("all ones", c, 1));
        }
        if let Some(c) = &self.oracle {
            v.push(("oracle", c, 2));
        }
        v
    }

    pub fn csv(&self) -> String {
        let mut s = String::from("n_train_post");
        for (name, _, _) in self.curves() {
            let n = name.replace([' ', '-'], "_");
            write!(s, ",{n}_mean,{n}_p10,{n}_p90").ok();
        }
        s.push_str(match self.metric {
            Metric::Mse => ",zero_predictor,noise_variance\n",
            Metric::ErrorRate => ",chance\n",
        });
        for (i, n) in self.ns.iter().enumerate() {
            write!(s, "{n}").ok();
            for (_, c, _) in self.curves() {
                match (c.mean.get(i), c.p10.get(i), c.p90.get(i)) {
                    (Some(m), Some(a), Some(b)) => write!(s, ",{m:.6e},{a:.6e},{b:.6e}").ok(),
                    _ => write!(s, ",,,").ok(),
                };
            }
            match self.metric {
                Metric::Mse => writeln!(s, ",{:.6e},{:.6e}", self.zero_level, self.noise_variance),
                Metric::ErrorRate => writeln!(s, ",{:.6e}", self.zero_level),
            }
            .ok();
        }
        s
    }

    /// Text for screen readers: axes, curves and the values at a few n.
    pub fn summary(&self) -> String {
        let mut s = match self.metric {
            Metric::Mse => format!(
                "Log-log plot of test mean squared error against the number of post-training \
                 points n, after {} meta-iterations. Zero predictor at {:.2}, noise variance {:.2}.",
                self.iteration, self.zero_level, self.noise_variance
            ),
            Metric::ErrorRate => format!(
                "Plot of test classification error against the number of post-training points n \
                 (log scale), after {} meta-iterations. Chance at {:.2}.",
                self.iteration, self.zero_level
            ),
        };
        for n in [16usize, 24, 32, 64, 128] {
            if let Some(i) = self.ns.iter().position(|&m| m == n) {
                let vals: Vec<String> = self
                    .curves()
                    .iter()
                    .filter_map(|(name, c, _)| c.mean.get(i).map(|v| format!("{name} {v:.3}")))
                    .collect();
                if !vals.is_empty() {
                    write!(s, " At n = {n}: {}.", vals.join(", ")).ok();
                }
            }
        }
        s
    }
}

/// Test MSE against n_train_post on log-log axes, mean with the 10–90% band; `max_n` zooms.
pub fn draw_test_loss<DB: DrawingBackend>(
    root: &Area<DB>,
    data: &TestLossData,
    p: &Palette,
    max_n: Option<usize>,
) -> Result<(), String> {
    root.fill(&p.background).map_err(err)?;
    let x_max = max_n
        .unwrap_or_else(|| data.ns.last().copied().unwrap_or(10))
        .max(2) as f64;
    let visible = |i: usize| (data.ns[i] as f64) <= x_max;
    if data.metric == Metric::ErrorRate {
        return draw_error_rate(root, data, p, max_n, x_max);
    }
    let mut lo = data.noise_variance.min(data.zero_level);
    let mut hi = data.zero_level.max(data.noise_variance);
    for (_, c, _) in data.curves() {
        for i in (0..c.mean.len()).filter(|&i| visible(i)) {
            for v in [c.p10[i], c.p90[i], c.mean[i]] {
                if v.is_finite() && v > 0.0 {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
        }
    }
    let (lo, hi) = ((lo * 0.7).max(1e-8), hi * 1.5);
    let title = match max_n {
        Some(m) => format!("Test error, n ≤ {m}"),
        None => "Test error against n_train_post".to_string(),
    };
    let lines = [
        ("zero predictor", data.zero_level, p.muted),
        ("noise variance", data.noise_variance, p.series[3]),
    ];
    let span = (1.0, x_max);
    let area = frame(root, &title, p)?;
    let key = curves_key(data, p, &lines, SeriesLabelPosition::LowerLeft);
    let marks = curve_marks(data, &visible, lo, span, &lines);
    let (mut chart, placed) = build_with_legend(key, &marks, &|right, top| {
        labelled(&area, right, top, 60)
            .build_cartesian_2d(Axis::log(1f64..x_max), Axis::log(lo..hi))
            .map_err(err)
    })?;
    mesh(&mut chart, p)
        .x_desc("n_train_post")
        .y_desc("test MSE")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()
        .map_err(err)?;
    draw_curves(&mut chart, data, p, &visible, lo, span, &lines)?;
    legend(&area, p, &placed)?;
    root.present().map_err(err)
}

/// The classification variant of the test-loss figure: error rate (linear) against n (log).
fn draw_error_rate<DB: DrawingBackend>(
    root: &Area<DB>,
    data: &TestLossData,
    p: &Palette,
    max_n: Option<usize>,
    x_max: f64,
) -> Result<(), String> {
    let x_min = data.ns.first().copied().unwrap_or(1).max(1) as f64;
    let x_max = x_max.max(x_min * 1.5);
    let visible = |i: usize| (data.ns[i] as f64) <= x_max;
    let mut hi = data.zero_level;
    for (_, c, _) in data.curves() {
        for i in (0..c.mean.len()).filter(|&i| visible(i)) {
            if c.p90[i].is_finite() {
                hi = hi.max(c.p90[i]);
            }
        }
    }
    let title = match max_n {
        Some(m) => format!("Test classification error, n ≤ {m}"),
        None => "Test classification error against n_train_post".to_string(),
    };
    let lines = [("chance", data.zero_level, p.muted)];
    let span = (x_min, x_max);
    let area = frame(root, &title, p)?;
    let key = curves_key(data, p, &lines, SeriesLabelPosition::UpperRight);
    let marks = curve_marks(data, &visible, 0.0, span, &lines);
    let top = (hi * 1.1).min(1.0);
    let (mut chart, placed) = build_with_legend(key, &marks, &|right, margin_top| {
        labelled(&area, right, margin_top, 60)
            .build_cartesian_2d(Axis::log(x_min..x_max), Axis::linear(0f64..top))
            .map_err(err)
    })?;
    mesh(&mut chart, p)
        .x_desc("n_train_post")
        .y_desc("test error rate")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.2}"))
        .draw()
        .map_err(err)?;
    draw_curves(&mut chart, data, p, &visible, 0.0, span, &lines)?;
    legend(&area, p, &placed)?;
    root.present().map_err(err)
}

/// The legend of a test-loss figure: its curves, then its reference `lines`.
fn curves_key(
    data: &TestLossData,
    p: &Palette,
    lines: &[(&'static str, f64, RGBColor)],
    first: SeriesLabelPosition,
) -> Key {
    let key = (data.curves().into_iter()).fold(Key::new(13, first), |key, (name, _, k)| {
        key.entry(name, Symbol::line(p.series[k], 2))
    });
    (lines.iter()).fold(key, |key, &(name, _, colour)| {
        key.entry(name, Symbol::line(colour, 1))
    })
}

/// The band and mean line of each curve at the `visible` points, values below `floor` raised to
/// it: the points of a test-loss figure's curves.
fn curve_points(
    data: &TestLossData,
    visible: &dyn Fn(usize) -> bool,
    floor: f64,
) -> Vec<(Points, Points)> {
    data.curves()
        .into_iter()
        .map(|(_, c, _)| {
            let idx: Vec<usize> = (0..c.mean.len()).filter(|&i| visible(i)).collect();
            let x = |i: usize| data.ns[i] as f64;
            let mut band: Vec<(f64, f64)> =
                idx.iter().map(|&i| (x(i), c.p90[i].max(floor))).collect();
            band.extend(idx.iter().rev().map(|&i| (x(i), c.p10[i].max(floor))));
            let mean = idx.iter().map(|&i| (x(i), c.mean[i].max(floor))).collect();
            (band, mean)
        })
        .collect()
}

/// What a test-loss figure draws: the bands, the mean lines and the reference lines.
fn curve_marks(
    data: &TestLossData,
    visible: &dyn Fn(usize) -> bool,
    floor: f64,
    span: (f64, f64),
    lines: &[(&'static str, f64, RGBColor)],
) -> Vec<Mark<(f64, f64)>> {
    let mut marks = Vec::new();
    for (band, mean) in curve_points(data, visible, floor) {
        marks.push(Mark::Fill(band));
        marks.push(Mark::Line(mean, 2));
    }
    for &(_, level, _) in lines {
        marks.push(Mark::Line(vec![(span.0, level), (span.1, level)], 1));
    }
    marks
}

/// The curves of a test-loss figure (mean line and 10–90% band, values below `floor` drawn at
/// it) and horizontal reference `lines` across `span`.
#[allow(clippy::too_many_arguments)]
fn draw_curves<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<Axis, Axis>>,
    data: &TestLossData,
    p: &Palette,
    visible: &dyn Fn(usize) -> bool,
    floor: f64,
    span: (f64, f64),
    lines: &[(&'static str, f64, RGBColor)],
) -> Result<(), String> {
    let points = curve_points(data, visible, floor);
    for ((_, _, k), (band, mean)) in data.curves().into_iter().zip(points) {
        let colour = p.series[k];
        chart
            .draw_series(std::iter::once(Polygon::new(band, colour.mix(0.18))))
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(mean, colour.stroke_width(2)))
            .map_err(err)?;
    }
    for &(_, level, colour) in lines {
        chart
            .draw_series(LineSeries::new(
                vec![(span.0, level), (span.1, level)],
                colour.stroke_width(1),
            ))
            .map_err(err)?;
    }
    Ok(())
}

/// Data of the feature-weight figure (part f).
#[derive(Clone, Debug, Default)]
pub struct FeatureWeightData {
    pub weights: Vec<f64>,
    pub true_columns: Vec<usize>,
    pub alias_columns: Vec<usize>,
    pub iteration: usize,
}

impl FeatureWeightData {
    fn kind(&self, k: usize) -> &'static str {
        if self.true_columns.contains(&k) {
            "true"
        } else if self.alias_columns.contains(&k) {
            "alias"
        } else {
            "other"
        }
    }

    pub fn csv(&self) -> String {
        let mut s = String::from("feature,frequency,kind,weight\n");
        for (k, w) in self.weights.iter().enumerate() {
            writeln!(
                s,
                "{k},{},{},{w:.6e}",
                crate::maml::features::feature_frequency(k),
                self.kind(k)
            )
            .ok();
        }
        s
    }

    fn mean_abs(&self, kind: &str) -> f64 {
        let v: Vec<f64> = (0..self.weights.len())
            .filter(|&k| self.kind(k) == kind)
            .map(|k| self.weights[k].abs())
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    }

    pub fn summary(&self) -> String {
        format!(
            "Scatter plot of the absolute feature weight against feature index (0 to {}) after {} \
             meta-iterations. Mean |weight|: true features {:.3}, grid aliases {:.3}, other features {:.3}.",
            self.weights.len().saturating_sub(1),
            self.iteration,
            self.mean_abs("true"),
            self.mean_abs("alias"),
            self.mean_abs("other")
        )
    }
}

pub fn draw_feature_weights<DB: DrawingBackend>(
    root: &Area<DB>,
    data: &FeatureWeightData,
    p: &Palette,
) -> Result<(), String> {
    root.fill(&p.background).map_err(err)?;
    let d = data.weights.len().max(2);
    let hi = data.weights.iter().fold(
        1.0f64,
        |m, v| if v.is_finite() { m.max(v.abs()) } else { m },
    ) * 1.1;
    let groups: Vec<_> = [
        ("other", p.muted, 2, "other features"),
        (
            "alias",
            p.series[1],
            3,
            "grid aliases of the true frequencies",
        ),
        ("true", p.series[0], 4, "true features"),
    ]
    .into_iter()
    .map(|(kind, colour, size, label)| {
        let pts: Vec<(f64, f64)> = (0..data.weights.len())
            .filter(|&k| data.kind(k) == kind && data.weights[k].is_finite())
            .map(|k| (k as f64, data.weights[k].abs()))
            .collect();
        (pts, colour, size, label)
    })
    .collect();
    let key = (groups.iter()).fold(
        Key::new(13, SeriesLabelPosition::UpperRight),
        |k, &(_, colour, size, label)| k.entry(label, Symbol::dot(colour, size)),
    );
    let marks: Vec<Mark<(f64, f64)>> = groups
        .iter()
        .flat_map(|(pts, _, size, _)| pts.iter().map(|&pt| Mark::Dot(pt, *size)))
        .collect();
    let title = format!("Feature weights |c_k|, iteration {}", data.iteration);
    let area = frame(root, &title, p)?;
    let (mut chart, placed) = build_with_legend(key, &marks, &|right, top| {
        labelled(&area, right, top, 50)
            .build_cartesian_2d(Axis::linear(0f64..d as f64), Axis::linear(0f64..hi))
            .map_err(err)
    })?;
    mesh(&mut chart, p)
        .x_desc("feature index k")
        .y_desc("|c_k|")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(err)?;
    for (pts, colour, size, _) in groups {
        chart
            .draw_series(
                pts.into_iter()
                    .map(move |(x, y)| Circle::new((x, y), size, colour.filled())),
            )
            .map_err(err)?;
    }
    legend(&area, p, &placed)?;
    root.present().map_err(err)
}

pub fn draw_task_fit<DB: DrawingBackend>(
    root: &Area<DB>,
    fit: &TaskFit,
    p: &Palette,
) -> Result<(), String> {
    root.fill(&p.background).map_err(err)?;
    let all = fit
        .truth
        .iter()
        .chain(&fit.meta)
        .chain(&fit.ones)
        .chain(&fit.train_y);
    let hi = all
        .fold(
            1.0f64,
            |m, v| if v.is_finite() { m.max(v.abs()) } else { m },
        )
        .min(10.0)
        * 1.1;
    let clip = |v: f64| v.clamp(-hi, hi);
    let curves: Vec<_> = [
        ("true function", &fit.truth, p.foreground, 2),
        ("fit, all-ones weights", &fit.ones, p.series[1], 1),
        ("fit, meta-learned weights", &fit.meta, p.series[0], 2),
    ]
    .into_iter()
    .map(|(name, ys, colour, w)| {
        let pts: Vec<(f64, f64)> = fit.x.iter().zip(ys).map(|(&x, &y)| (x, clip(y))).collect();
        (name, pts, colour, w)
    })
    .collect();
    let dots: Vec<(f64, f64)> = (fit.train_x.iter().zip(&fit.train_y))
        .map(|(&x, &y)| (x, clip(y)))
        .collect();
    let c = p.series[2];
    let key = (curves.iter())
        .fold(
            Key::new(13, SeriesLabelPosition::LowerRight),
            |k, &(name, _, colour, w)| k.entry(name, Symbol::line(colour, w)),
        )
        .entry("training points", Symbol::dot(c, 3));
    let mut marks: Vec<Mark<(f64, f64)>> = (curves.iter())
        .map(|(_, pts, _, w)| Mark::Line(pts.clone(), *w))
        .collect();
    marks.extend(dots.iter().map(|&pt| Mark::Dot(pt, 3)));
    let area = frame(root, &format!("One test task, n_train_post = {}", fit.n), p)?;
    let (mut chart, placed) = build_with_legend(key, &marks, &|right, top| {
        labelled(&area, right, top, 50)
            .build_cartesian_2d(Axis::linear(-1f64..1f64), Axis::linear(-hi..hi))
            .map_err(err)
    })?;
    mesh(&mut chart, p)
        .x_desc("x")
        .y_desc("y")
        .draw()
        .map_err(err)?;
    for (_, pts, colour, w) in curves {
        chart
            .draw_series(LineSeries::new(pts, colour.stroke_width(w)))
            .map_err(err)?;
    }
    chart
        .draw_series(dots.into_iter().map(|pt| Circle::new(pt, 3, c.filled())))
        .map_err(err)?;
    legend(&area, p, &placed)?;
    root.present().map_err(err)
}

pub fn toy_csv(path: &[ToyState]) -> String {
    let mut s = String::from("step,c0,c1,norm,beta0,beta1,error\n");
    for t in path {
        writeln!(
            s,
            "{},{:.8e},{:.8e},{:.8e},{:.8e},{:.8e},{:.8e}",
            t.step, t.c0, t.c1, t.norm, t.beta0, t.beta1, t.error
        )
        .ok();
    }
    s
}

pub fn toy_summary(path: &[ToyState]) -> String {
    match (path.first(), path.last()) {
        (Some(a), Some(b)) => format!(
            "Line plot over {} gradient steps. c0 goes from {:.3} to {:.3}, c1 from {:.3} to {:.3}; \
             the norm of c stays at {:.3} (ends at {:.3}); beta0 ends at {:.3} (1/c0 = {:.3}), beta1 at {:.3}.",
            b.step, a.c0, b.c0, a.c1, b.c1, a.norm, b.norm, b.beta0, 1.0 / b.c0, b.beta1
        ),
        _ => String::from("Empty plot."),
    }
}

/// c0, c1, ||c||, beta0 and beta1 over gradient steps (part d).
pub fn draw_alias_toy<DB: DrawingBackend>(
    root: &Area<DB>,
    path: &[ToyState],
    p: &Palette,
) -> Result<(), String> {
    root.fill(&p.background).map_err(err)?;
    // Log-scaled steps (plotted at step + 1) show both the fast start and the slow polynomial tail.
    let steps = path.last().map(|t| t.step).unwrap_or(1).max(1) as f64 + 1.0;
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for t in path {
        for v in [t.c0, t.c1, t.norm, t.beta0, t.beta1] {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    let pad = (hi - lo) * 0.08;
    // About 1000 log-spaced points per line, so long runs stay quick to draw.
    let mut picks: Vec<usize> = (0..=1000)
        .map(|i| ((steps).powf(i as f64 / 1000.0) - 1.0).round() as usize)
        .collect();
    picks.dedup();
    type Series = (&'static str, fn(&ToyState) -> f64, RGBColor);
    let series: [Series; 5] = [
        ("||c||", |t| t.norm, p.muted),
        ("c0", |t| t.c0, p.series[0]),
        ("c1", |t| t.c1, p.series[1]),
        ("beta0", |t| t.beta0, p.series[2]),
        ("beta1", |t| t.beta1, p.series[3]),
    ];
    let lines: Vec<Vec<(f64, f64)>> = (series.iter())
        .map(|(_, get, _)| {
            (picks.iter().filter_map(|&i| path.get(i)))
                .map(|t| (t.step as f64 + 1.0, get(t)))
                .collect()
        })
        .collect();
    let key = (series.iter()).fold(
        Key::new(13, SeriesLabelPosition::MiddleRight),
        |k, &(name, _, colour)| k.entry(name, Symbol::line(colour, 2)),
    );
    let marks: Vec<Mark<(f64, f64)>> = lines.iter().map(|l| Mark::Line(l.clone(), 2)).collect();
    let area = frame(root, "Gradient descent on the feature weights", p)?;
    let (mut chart, placed) = build_with_legend(key, &marks, &|right, top| {
        labelled(&area, right, top, 50)
            .build_cartesian_2d(Axis::log(1f64..steps), Axis::linear((lo - pad)..(hi + pad)))
            .map_err(err)
    })?;
    mesh(&mut chart, p)
        .x_desc("gradient step + 1 (log scale)")
        .y_desc("value")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(err)?;
    for ((_, _, colour), line) in series.into_iter().zip(lines) {
        chart
            .draw_series(LineSeries::new(line, colour.stroke_width(2)))
            .map_err(err)?;
    }
    legend(&area, p, &placed)?;
    root.present().map_err(err)
}
