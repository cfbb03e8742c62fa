//! Chapter 2's figures: the cost of global and windowed attention against image size, which patches
//! one query sees under each, and the measured time of both next to the FLOP prediction.

use super::axis::Axis;
use super::heatmap::{Heatmap, Scale};
use super::{
    build_with_legend, err, font, frame, labelled, legend, mesh, Area, Key, Mark, Palette, Points,
    Symbol,
};
use crate::attention::captioner::LayerTrace;
use crate::attention::{attention_cost, visible_patches, AttentionCost};
use plotters::prelude::*;
use std::fmt::Write as _;

/// FLOPs of global and windowed attention over image sizes, for fixed patch, window and dimension.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CostCurve {
    pub patch: usize,
    pub window: usize,
    pub dim: usize,
    /// The calculator's image size, marked on the figure.
    pub image: usize,
    /// (H, global FLOPs, windowed FLOPs)
    pub points: Vec<(usize, f64, f64)>,
}

impl CostCurve {
    /// Sizes H = m P K (the window divides the patch grid) from m = 1 up to at least 2 x `image`.
    pub fn new(image: usize, patch: usize, window: usize, dim: usize) -> CostCurve {
        let step = (patch * window).max(1);
        let last = (2 * image / step).clamp(8, 64);
        let points = (1..=last)
            .filter_map(|m| {
                attention_cost(m * step, patch, window, dim)
                    .ok()
                    .map(|c| (m * step, c.global_flops as f64, c.windowed_flops as f64))
            })
            .collect();
        CostCurve {
            patch,
            window,
            dim,
            image,
            points,
        }
    }

    pub fn csv(&self) -> String {
        let mut s = String::from("image,global_flops,windowed_flops\n");
        for (h, g, w) in &self.points {
            writeln!(s, "{h},{g},{w}").ok();
        }
        s
    }

    pub fn summary(&self) -> String {
        match (self.points.first(), self.points.last()) {
            (Some(a), Some(b)) => format!(
                "Log-log plot of attention FLOPs against image size H from {} to {} pixels (patch {}, \
                 window {} x {} patches, dimension {}). Global attention grows as H^4 (from {:.2e} to \
                 {:.2e}), windowed attention as H^2 (from {:.2e} to {:.2e}); they meet at H = P K = {}.",
                a.0, b.0, self.patch, self.window, self.window, self.dim, a.1, b.1, a.2, b.2,
                self.patch * self.window
            ),
            _ => "Empty plot: no image size fits these settings.".into(),
        }
    }
}

fn log_mesh<
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
>(
    chart: &mut ChartContext<DB, Cartesian2d<X, Y>>,
    p: &Palette,
    x_desc: &str,
    y_desc: &str,
) -> Result<(), String> {
    mesh(chart, p)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(10)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()
        .map_err(err)
}

pub fn draw_attention_cost<DB: DrawingBackend>(
    root: &Area<DB>,
    c: &CostCurve,
    p: &Palette,
) -> Result<(), String> {
    root.fill(&p.background).map_err(err)?;
    let (Some(first), Some(last)) = (c.points.first(), c.points.last()) else {
        return root.present().map_err(err);
    };
    let x0 = first.0 as f64;
    let x1 = (last.0 as f64).max(x0 * 2.0);
    let y0 = first.2.min(first.1).max(1.0) / 2.0;
    let y1 = last.1.max(last.2) * 2.0;
    let curves: Vec<(&str, Vec<(f64, f64)>)> =
        [("global: 4 T² D", 1usize), ("windowed: 4 T K² D", 2)]
            .into_iter()
            .map(|(name, pick)| {
                let pts = (c.points.iter())
                    .map(|&(h, g, w)| (h as f64, if pick == 1 { g } else { w }))
                    .collect();
                (name, pts)
            })
            .collect();
    let marker = (x0..=x1)
        .contains(&(c.image as f64))
        .then(|| vec![(c.image as f64, y0), (c.image as f64, y1)]);
    let mut key = (curves.iter().enumerate()).fold(
        Key::new(13, SeriesLabelPosition::UpperLeft),
        |k, (i, (name, _))| k.entry(*name, Symbol::line(p.series[i], 3)),
    );
    if marker.is_some() {
        key = key.entry(format!("H = {}", c.image), Symbol::line(p.muted, 2));
    }
    let mut marks: Vec<Mark<(f64, f64)>> = (curves.iter())
        .map(|(_, pts)| Mark::Line(pts.clone(), 3))
        .collect();
    marks.extend(marker.iter().map(|l| Mark::Line(l.clone(), 2)));
    let area = frame(root, "Attention FLOPs against image size", p)?;
    let (mut chart, placed) = build_with_legend(key, &marks, &|right, top| {
        labelled(&area, right, top, 70)
            .build_cartesian_2d(Axis::log(x0..x1), Axis::log(y0..y1))
            .map_err(err)
    })?;
    log_mesh(&mut chart, p, "image size H (pixels)", "FLOPs (QKᵀ and AV)")?;
    for (i, (_, pts)) in curves.into_iter().enumerate() {
        let colour = p.series[i];
        chart
            .draw_series(LineSeries::new(pts, colour.stroke_width(3)))
            .map_err(err)?;
    }
    if let Some(line) = marker {
        chart
            .draw_series(DashedLineSeries::new(line, 6, 4, p.muted.stroke_width(2)))
            .map_err(err)?;
    }
    legend(&area, p, &placed)?;
    root.present().map_err(err)
}

/// Which patches one query sees: the patch grid under global and under windowed attention.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowView {
    pub side: usize,
    pub window: usize,
    pub query: (usize, usize),
}

impl WindowView {
    pub fn csv(&self) -> String {
        let seen = visible_patches(self.side, self.window, self.query);
        let mut s = String::from("row,col,global,windowed\n");
        for (t, w) in seen.iter().enumerate() {
            writeln!(s, "{},{},1,{}", t / self.side, t % self.side, *w as u8).ok();
        }
        s
    }

    pub fn summary(&self) -> String {
        let (r, c) = self.query;
        let w = self.window.max(1);
        format!(
            "Two {0} x {0} grids of patches. The query patch at row {1}, column {2} sees all {3} \
             patches under global attention, and under windowed attention only the {4} patches of \
             its window (rows {5} to {6}, columns {7} to {8}).",
            self.side,
            r,
            c,
            self.side * self.side,
            w * w,
            r / w * w,
            r / w * w + w - 1,
            c / w * w,
            c / w * w + w - 1
        )
    }
}

pub fn draw_window_view<DB: DrawingBackend>(
    root: &Area<DB>,
    v: &WindowView,
    p: &Palette,
) -> Result<(), String> {
    root.fill(&p.background).map_err(err)?;
    let panels = root.split_evenly((1, 2));
    let side = v.side.max(1);
    let seen_windowed = visible_patches(side, v.window, v.query);
    for (k, panel) in panels.iter().enumerate() {
        let (w, h) = panel.dim_in_pixel();
        let title = if k == 0 {
            format!("global: sees all {}", side * side)
        } else {
            format!("windowed: sees {}", v.window * v.window)
        };
        panel
            .draw(&Text::new(title, (12, 6), font(p, 16)))
            .map_err(err)?;
        let size = (w.min(h - 34) as f64 - 24.0).max(10.0);
        let cell = size / side as f64;
        let (ox, oy) = (12.0, 32.0);
        let gap = if cell >= 6.0 { 1 } else { 0 };
        for (t, &in_window) in seen_windowed.iter().enumerate() {
            let (r, c) = (t / side, t % side);
            let seen = k == 0 || in_window;
            let colour = if (r, c) == v.query {
                p.series[1]
            } else if seen {
                p.series[0]
            } else {
                p.grid
            };
            let x0 = (ox + c as f64 * cell) as i32;
            let y0 = (oy + r as f64 * cell) as i32;
            let x1 = (ox + (c + 1) as f64 * cell) as i32 - gap;
            let y1 = (oy + (r + 1) as f64 * cell) as i32 - gap;
            panel
                .draw(&Rectangle::new([(x0, y0), (x1, y1)], colour.filled()))
                .map_err(err)?;
        }
    }
    root.present().map_err(err)
}

/// One measured size of the timing experiment.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct TimingRow {
    pub image: usize,
    pub tokens: usize,
    pub global_ms: f64,
    pub windowed_ms: f64,
    pub global_flops: f64,
    pub windowed_flops: f64,
}

impl TimingRow {
    pub fn new(image: usize, cost: &AttentionCost, global_ms: f64, windowed_ms: f64) -> TimingRow {
        TimingRow {
            image,
            tokens: cost.tokens as usize,
            global_ms,
            windowed_ms,
            global_flops: cost.global_flops as f64,
            windowed_flops: cost.windowed_flops as f64,
        }
    }
}

/// Measured time of global and windowed attention with the FLOP predictions scaled to the
/// measured rate (time per FLOP at the largest size).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimingData {
    pub rows: Vec<TimingRow>,
    /// Where it ran ("WebGPU (…)", "CPU").
    pub path: String,
}

/// Slope of log t against log H between the two largest sizes (about 4 for global attention, 2 for
/// windowed, once the sizes are large enough that fixed costs do not dominate).
pub fn exponent(rows: &[TimingRow], pick: impl Fn(&TimingRow) -> f64) -> Option<f64> {
    let [.., a, b] = rows else {
        return None;
    };
    let (ta, tb) = (pick(a), pick(b));
    (ta > 0.0 && tb > 0.0).then(|| (tb / ta).ln() / (b.image as f64 / a.image as f64).ln())
}

impl TimingData {
    pub fn csv(&self) -> String {
        let mut s =
            String::from("image,tokens,global_ms,windowed_ms,global_flops,windowed_flops\n");
        for r in &self.rows {
            writeln!(
                s,
                "{},{},{:.4},{:.4},{},{}",
                r.image, r.tokens, r.global_ms, r.windowed_ms, r.global_flops, r.windowed_flops
            )
            .ok();
        }
        s
    }

    pub fn summary(&self) -> String {
        let (Some(g), Some(w)) = (
            exponent(&self.rows, |r| r.global_ms),
            exponent(&self.rows, |r| r.windowed_ms),
        ) else {
            return "Empty plot: the measurement has not run yet (it needs two sizes).".into();
        };
        let last = &self.rows[self.rows.len() - 1];
        format!(
            "Log-log plot of measured attention time against image size on {}, {} sizes up to H = {} \
             ({} tokens): global {:.2} ms, windowed {:.2} ms there. Between the two largest sizes \
             global time grows as H^{:.1} and windowed as H^{:.1} (the FLOP counts predict 4 and 2); \
             dashed lines are the predictions scaled to the measured rate.",
            self.path,
            self.rows.len(),
            last.image,
            last.tokens,
            last.global_ms,
            last.windowed_ms,
            g,
            w
        )
    }
}

pub fn draw_attention_timing<DB: DrawingBackend>(
    root: &Area<DB>,
    d: &TimingData,
    p: &Palette,
) -> Result<(), String> {
    root.fill(&p.background).map_err(err)?;
    let (Some(first), Some(last)) = (d.rows.first(), d.rows.last()) else {
        root.draw(&Text::new(
            "Press Measure to time attention here.",
            (20, 20),
            font(p, 16),
        ))
        .map_err(err)?;
        return root.present().map_err(err);
    };
    let x0 = first.image as f64 / 1.2;
    let x1 = (last.image as f64 * 1.2).max(x0 * 2.0);
    let times: Vec<f64> = d
        .rows
        .iter()
        .flat_map(|r| [r.global_ms, r.windowed_ms])
        .filter(|t| *t > 0.0)
        .collect();
    let lo = times
        .iter()
        .cloned()
        .fold(f64::INFINITY, f64::min)
        .max(1e-4);
    let hi = times.iter().cloned().fold(0.0, f64::max).max(lo * 10.0);
    type Pick = fn(&TimingRow) -> (f64, f64);
    let series: [(&str, Pick, RGBColor); 2] = [
        ("global", |r| (r.global_ms, r.global_flops), p.series[0]),
        (
            "windowed",
            |r| (r.windowed_ms, r.windowed_flops),
            p.series[1],
        ),
    ];
    // Per series: the measured points, and the FLOP prediction scaled to the last measurement.
    let lines: Vec<(Points, Option<Points>)> = (series.iter())
        .map(|(_, pick, _)| {
            let pts = (d.rows.iter())
                .map(|r| (r.image as f64, pick(r).0))
                .filter(|(_, t)| *t > 0.0)
                .collect();
            let (t, f) = pick(last);
            let rate = t / f;
            let pred = (t > 0.0 && f > 0.0).then(|| {
                (d.rows.iter())
                    .map(|r| (r.image as f64, pick(r).1 * rate))
                    .collect()
            });
            (pts, pred)
        })
        .collect();
    let mut key = Key::new(13, SeriesLabelPosition::UpperLeft);
    let mut marks: Vec<Mark<(f64, f64)>> = Vec::new();
    for ((name, _, colour), (pts, pred)) in series.iter().zip(&lines) {
        key = key.entry(format!("{name}, measured"), Symbol::line(*colour, 2));
        marks.push(Mark::Line(pts.clone(), 2));
        marks.extend(pts.iter().map(|&pt| Mark::Dot(pt, 4)));
        if let Some(pred) = pred {
            let faded = colour.mix(0.7);
            key = key.entry(
                format!("{name}, FLOPs × measured rate"),
                Symbol::line(faded, 2),
            );
            marks.push(Mark::Line(pred.clone(), 2));
        }
    }
    let area = frame(root, &format!("Measured attention time ({})", d.path), p)?;
    let (mut chart, placed) = build_with_legend(key, &marks, &|right, top| {
        labelled(&area, right, top, 70)
            .build_cartesian_2d(Axis::log(x0..x1), Axis::log(lo / 3.0..hi * 3.0))
            .map_err(err)
    })?;
    log_mesh(&mut chart, p, "image size H (pixels)", "milliseconds")?;
    for ((_, _, colour), (pts, pred)) in series.into_iter().zip(lines) {
        chart
            .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))
            .map_err(err)?;
        chart
            .draw_series(
                pts.into_iter()
                    .map(|pt| Circle::new(pt, 4, colour.filled())),
            )
            .map_err(err)?;
        if let Some(pred) = pred {
            chart
                .draw_series(DashedLineSeries::new(
                    pred,
                    5,
                    4,
                    colour.mix(0.7).stroke_width(2),
                ))
                .map_err(err)?;
        }
    }
    legend(&area, p, &placed)?;
    root.present().map_err(err)
}

/// One layer's attention as three heatmaps, keys as rows and queries as columns (the homework's
/// grid): the raw scores q.k / sqrt(d), the scores with masked cells removed, and the softmax
/// weights; `query` is highlighted.
pub fn attention_heatmaps(
    t: &LayerTrace,
    queries: &[String],
    keys: &[String],
    query: Option<usize>,
) -> [Heatmap; 3] {
    let cell = |f: &dyn Fn(usize) -> Option<f64>| -> Vec<Option<f64>> {
        (0..t.t_k * t.t_q)
            .map(|r| f((r % t.t_q) * t.t_k + r / t.t_q))
            .collect()
    };
    let raw = cell(&|i| Some(t.scores[i] as f64));
    let max = raw.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    let base = |title: &str, values: Vec<Option<f64>>, scale: Scale| Heatmap {
        title: title.into(),
        rows: keys.to_vec(),
        cols: queries.to_vec(),
        values,
        scale: Some(scale),
        highlight_col: query,
        row_desc: "keys".into(),
        col_desc: "queries".into(),
        show_values: true,
    };
    [
        base("Raw scores q·k/√d", raw, Scale::Diverging { max }),
        base(
            "Masked scores",
            cell(&|i| (!t.masked[i]).then(|| t.scores[i] as f64)),
            Scale::Diverging { max },
        ),
        base(
            "Softmax weights",
            cell(&|i| (!t.masked[i]).then(|| t.weights[i] as f64)),
            Scale::Sequential { lo: 0.0, hi: 1.0 },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cost_curve_grows_as_h4_and_h2() {
        let c = CostCurve::new(224, 16, 7, 64);
        let a = c.points[0];
        let b = c.points[1];
        assert_eq!(a.0, 112);
        assert_eq!(b.0, 224);
        assert_eq!(b.1, 16.0 * a.1);
        assert_eq!(b.2, 4.0 * a.2);
        // At H = P K one window is the whole image: the costs agree.
        assert_eq!(a.1, a.2);
        assert!(c.summary().contains("H^4"));
    }

    #[test]
    fn heatmaps_put_keys_on_rows_and_hide_masked_cells() {
        use crate::attention::captioner::{picture, run, to_pixels, Captioner};
        use crate::attention::tokenize;
        let caption = tokenize("<SOS> a mountain range <PAD>");
        let (_, dec) = run(
            &Captioner::new(0),
            &to_pixels(&picture("mountains").unwrap()),
            &caption,
            3,
            None,
        )
        .unwrap();
        let keys = crate::attention::caption_mask(&caption, 3).keys;
        let [raw, masked, weights] = attention_heatmaps(&dec, &caption, &keys, Some(1));
        assert_eq!((raw.n_rows(), raw.n_cols()), (8, 5));
        // Key "mountain" (row 2) is hidden from query "a" (column 1), open to query "range" (3).
        assert!(raw.get(2, 1).is_some() && masked.get(2, 1).is_none());
        assert!(masked.get(2, 3).is_some());
        // Each open column of weights sums to 1; the <PAD> column is all masked.
        for q in 0..4 {
            let s: f64 = (0..8).filter_map(|k| weights.get(k, q)).sum();
            assert!((s - 1.0).abs() < 1e-5);
        }
        assert!((0..8).all(|k| weights.get(k, 4).is_none()));
    }

    #[test]
    fn exponents_from_timings() {
        let row = |image: usize, g: f64, w: f64| TimingRow {
            image,
            global_ms: g,
            windowed_ms: w,
            ..Default::default()
        };
        let rows = vec![row(100, 1.0, 1.0), row(200, 16.0, 4.0)];
        assert!((exponent(&rows, |r| r.global_ms).unwrap() - 4.0).abs() < 1e-12);
        assert!((exponent(&rows, |r| r.windowed_ms).unwrap() - 2.0).abs() < 1e-12);
        assert!(exponent(&rows[..1], |r| r.global_ms).is_none());
        let d = TimingData {
            rows,
            path: "CPU".into(),
        };
        for svg in [
            super::super::to_svg(600, 400, |a| draw_attention_timing(a, &d, &Palette::DARK)),
            super::super::to_svg(600, 400, |a| {
                draw_window_view(
                    a,
                    &WindowView {
                        side: 14,
                        window: 7,
                        query: (3, 9),
                    },
                    &Palette::LIGHT,
                )
            }),
            super::super::to_svg(600, 400, |a| {
                draw_attention_cost(a, &CostCurve::new(224, 16, 7, 64), &Palette::LIGHT)
            }),
        ] {
            assert!(svg.unwrap().contains("<svg"));
        }
    }
}
