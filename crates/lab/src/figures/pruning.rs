//! Chapter 6's figures: a layer's weight histogram with the pruning threshold, and the sensitivity
//! scan (accuracy against sparsity, one curve per layer).

use super::axis::Axis;
use super::{
    build_with_legend, err, font, frame, labelled, legend, mesh, Area, Key, Mark, Palette, Symbol,
};
use plotters::prelude::*;
use std::fmt::Write as _;

/// A layer's weight histogram and its pruning threshold (the pruning chapter).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WeightHistogram {
    pub layer: String,
    /// Bin edges run from `lo` to `hi` in `counts.len()` equal bins.
    pub lo: f64,
    pub hi: f64,
    pub counts: Vec<u32>,
    /// Magnitudes at or below this are pruned (0: nothing is).
    pub threshold: f64,
    pub sparsity: f64,
    pub numel: usize,
    /// Values marked with a vertical line each (k-means centroids).
    pub marks: Vec<f64>,
}

impl WeightHistogram {
    pub fn new(layer: &str, w: &[f32], threshold: f32, sparsity: f64, bins: usize) -> Self {
        let m = w.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12) as f64;
        let bins = bins.max(1);
        let mut counts = vec![0u32; bins];
        for &v in w {
            let b = (((v as f64 + m) / (2.0 * m)) * bins as f64).floor() as isize;
            counts[b.clamp(0, bins as isize - 1) as usize] += 1;
        }
        WeightHistogram {
            layer: layer.into(),
            lo: -m,
            hi: m,
            counts,
            threshold: threshold as f64,
            sparsity,
            numel: w.len(),
            marks: Vec::new(),
        }
    }

    fn edge(&self, i: usize) -> f64 {
        self.lo + (self.hi - self.lo) * i as f64 / self.counts.len().max(1) as f64
    }

    pub fn csv(&self) -> String {
        let mut s = String::from("bin_lo,bin_hi,count\n");
        for (i, c) in self.counts.iter().enumerate() {
            writeln!(s, "{:.6e},{:.6e},{c}", self.edge(i), self.edge(i + 1)).ok();
        }
        s
    }

    pub fn summary(&self) -> String {
        let peak = (0..self.counts.len())
            .max_by_key(|&i| self.counts[i])
            .map(|i| (self.edge(i) + self.edge(i + 1)) / 2.0)
            .unwrap_or(0.0);
        if !self.marks.is_empty() {
            return format!(
                "Histogram of the {} weights of {}, from {:.3} to {:.3}, highest near {:.3}, with the \
                 {} centroids of its codebook marked by vertical lines.",
                self.numel,
                self.layer,
                self.lo,
                self.hi,
                peak,
                self.marks.len()
            );
        }
        format!(
            "Histogram of the {} weights of {}, from {:.3} to {:.3}, highest near {:.3}. At sparsity \
             {:.2} the weights with magnitude up to {:.4} are pruned (shaded grey).",
            self.numel, self.layer, self.lo, self.hi, peak, self.sparsity, self.threshold
        )
    }
}

/// Bars of the weight histogram: kept weights in colour, pruned ones (|w| <= threshold) grey.
pub fn draw_weight_histogram<DB: DrawingBackend>(
    root: &Area<DB>,
    h: &WeightHistogram,
    p: &Palette,
) -> Result<(), String> {
    root.fill(&p.background).map_err(err)?;
    let top = h.counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.08;
    let mut chart = ChartBuilder::on(root)
        .caption(format!("Weights of {}", h.layer), font(p, 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(
            Axis::linear(h.lo..h.hi.max(h.lo + 1e-9)),
            Axis::linear(0f64..top),
        )
        .map_err(err)?;
    mesh(&mut chart, p)
        .x_desc("weight value")
        .y_desc("count")
        .draw()
        .map_err(err)?;
    let kept = p.series[0];
    chart
        .draw_series(h.counts.iter().enumerate().map(|(i, &c)| {
            let (a, b) = (h.edge(i), h.edge(i + 1));
            let mid = (a + b) / 2.0;
            let pruned = mid.abs() <= h.threshold;
            let style = if pruned {
                p.muted.filled()
            } else {
                kept.filled()
            };
            Rectangle::new([(a, 0.0), (b, c as f64)], style)
        }))
        .map_err(err)?;
    for &x in &h.marks {
        chart
            .draw_series(LineSeries::new(
                vec![(x, 0.0), (x, top)],
                p.series[2].stroke_width(1),
            ))
            .map_err(err)?;
    }
    if h.threshold > 0.0 {
        for x in [-h.threshold, h.threshold] {
            chart
                .draw_series(LineSeries::new(
                    vec![(x, 0.0), (x, top)],
                    p.series[1].stroke_width(2),
                ))
                .map_err(err)?;
        }
    }
    root.present().map_err(err)
}

/// The sensitivity scan: accuracy against sparsity, one line per layer, dense accuracy dashed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SensitivityData {
    pub dense_accuracy: Option<f64>,
    pub layers: Vec<crate::compress::prune::LayerScan>,
}

impl SensitivityData {
    pub fn csv(&self) -> String {
        let mut s = String::from("layer,sparsity,accuracy\n");
        for l in &self.layers {
            for (x, a) in l.sparsity.iter().zip(&l.accuracy) {
                writeln!(s, "{},{x},{a:.5}", l.name).ok();
            }
        }
        s
    }

    /// The layer whose accuracy falls most at the largest sparsity it was scanned at.
    pub fn most_sensitive(&self) -> Option<(&str, f64)> {
        self.layers
            .iter()
            .filter_map(|l| l.accuracy.last().map(|&a| (l.name.as_str(), a)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    pub fn summary(&self) -> String {
        match (self.dense_accuracy, self.most_sensitive()) {
            (Some(d), Some((name, a))) => format!(
                "Line plot of test accuracy against sparsity for {} layers, each pruned alone. Dense \
                 accuracy {:.1}%. The most sensitive layer is {name}: {:.1}% at its largest scanned \
                 sparsity.",
                self.layers.len(),
                100.0 * d,
                100.0 * a
            ),
            _ => "Empty plot: the scan has not run yet.".into(),
        }
    }
}

/// Distinct colours for many series (hue around the circle), light or dark.
fn hue(i: usize, n: usize, p: &Palette) -> HSLColor {
    let light = if p.background.0 < 128 { 0.66 } else { 0.42 };
    HSLColor(i as f64 / n.max(1) as f64, 0.75, light)
}

pub fn draw_sensitivity<DB: DrawingBackend>(
    root: &Area<DB>,
    d: &SensitivityData,
    p: &Palette,
) -> Result<(), String> {
    root.fill(&p.background).map_err(err)?;
    let xs: Vec<f64> = d.layers.iter().flat_map(|l| l.sparsity.clone()).collect();
    let (x0, x1) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let (x0, x1) = if x0.is_finite() {
        (x0, x1.max(x0 + 0.01))
    } else {
        (0.0, 1.0)
    };
    let lines: Vec<Vec<(f64, f64)>> = (d.layers.iter())
        .map(|l| {
            l.sparsity
                .iter()
                .copied()
                .zip(l.accuracy.iter().copied())
                .collect()
        })
        .collect();
    let dense = d.dense_accuracy.map(|a| vec![(x0, a), (x1, a)]);
    let n = d.layers.len();
    let mut key = Key::new(12, SeriesLabelPosition::LowerLeft);
    if dense.is_some() {
        key = key.entry("dense", Symbol::line(p.muted, 2));
    }
    for (i, l) in d.layers.iter().enumerate() {
        key = key.entry(l.name.clone(), Symbol::line(hue(i, n, p), 2));
    }
    let mut marks: Vec<Mark<(f64, f64)>> = dense.iter().map(|l| Mark::Line(l.clone(), 2)).collect();
    for l in &lines {
        marks.push(Mark::Line(l.clone(), 2));
        marks.extend(l.iter().map(|&pt| Mark::Dot(pt, 3)));
    }
    let area = frame(root, "Sensitivity: each layer pruned alone", p)?;
    let (mut chart, placed) = build_with_legend(key, &marks, &|right, top| {
        labelled(&area, right, top, 50)
            .build_cartesian_2d(Axis::linear(x0..x1), Axis::linear(0f64..1.0))
            .map_err(err)
    })?;
    mesh(&mut chart, p)
        .x_desc("sparsity of the pruned layer")
        .y_desc("test accuracy")
        .draw()
        .map_err(err)?;
    if let Some(dense) = dense {
        let c = p.muted;
        chart
            .draw_series(DashedLineSeries::new(dense, 6, 4, c.stroke_width(2)))
            .map_err(err)?;
    }
    for (i, pts) in lines.into_iter().enumerate() {
        let c = hue(i, n, p);
        chart
            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
            .map_err(err)?;
        chart
            .draw_series(pts.into_iter().map(|pt| Circle::new(pt, 3, c.filled())))
            .map_err(err)?;
    }
    legend(&area, p, &placed)?;
    root.present().map_err(err)
}
