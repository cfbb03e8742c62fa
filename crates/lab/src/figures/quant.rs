//! Chapter 7's figures: the linear quantization map q(r) with its scale and zero point, and a
//! weight tensor as a heatmap (before and after k-means, on one colour scale).

use super::axis::Axis;
use super::heatmap::{Heatmap, Scale};
use super::{
    build_with_legend, err, frame, labelled, legend, mesh, Area, Key, Mark, Palette, Symbol,
};
use crate::compress::quant::LinearParams;
use plotters::prelude::*;
use std::fmt::Write as _;

/// The map q = clamp(round(r / S) + Z, q_min, q_max) over a range around [r_min, r_max].
#[derive(Clone, Debug, PartialEq)]
pub struct LinearMapping {
    pub rmin: f64,
    pub rmax: f64,
    pub bits: u32,
    pub params: LinearParams,
}

impl LinearMapping {
    fn span(&self) -> (f64, f64) {
        let w = self.rmax - self.rmin;
        (
            (self.rmin - 0.25 * w).min(-0.05 * w),
            (self.rmax + 0.25 * w).max(0.05 * w),
        )
    }

    /// (r, q) samples of the staircase, dense enough to show every step.
    fn samples(&self) -> Vec<(f64, f64)> {
        let (a, b) = self.span();
        let n = 2000;
        (0..=n)
            .map(|i| {
                let r = a + (b - a) * i as f64 / n as f64;
                (r, self.params.quantize(r) as f64)
            })
            .collect()
    }

    pub fn csv(&self) -> String {
        let mut s = String::from("r,q,r_dequantized\n");
        for (r, q) in self.samples().into_iter().step_by(10) {
            writeln!(s, "{r:.6},{q},{:.6}", self.params.dequantize(q as i64)).ok();
        }
        s
    }

    pub fn summary(&self) -> String {
        let p = &self.params;
        format!(
            "Staircase of q = clamp(round(r / S) + Z) for r from {:.3} to {:.3} on {} bits: {} steps \
             of width S = {:.5} from q_min = {} to q_max = {}; the zero point Z = {} is the integer \
             that stands for r = 0 (r = 0 maps to {}). Outside [{:.3}, {:.3}] values clamp.",
            self.rmin,
            self.rmax,
            self.bits,
            p.qmax - p.qmin,
            p.scale,
            p.qmin,
            p.qmax,
            p.zero_point,
            p.quantize(0.0),
            p.dequantize(p.qmin),
            p.dequantize(p.qmax)
        )
    }
}

pub fn draw_linear_mapping<DB: DrawingBackend>(
    root: &Area<DB>,
    m: &LinearMapping,
    p: &Palette,
) -> Result<(), String> {
    root.fill(&p.background).map_err(err)?;
    let (a, b) = m.span();
    let lp = &m.params;
    let (q0, q1) = (lp.qmin as f64 - 0.5, lp.qmax as f64 + 0.5);
    let title = format!(
        "q = clamp(round(r/S) + Z):  S = {:.4}, Z = {}",
        lp.scale, lp.zero_point
    );
    // r / S + Z, cut where it leaves the plot's q range (it is steeper than the plot is tall).
    let z = lp.zero_point as f64;
    let (r0, r1) = (a.max((q0 - z) * lp.scale), b.min((q1 - z) * lp.scale));
    let unrounded: Vec<(f64, f64)> = [r0, r1].iter().map(|&r| (r, r / lp.scale + z)).collect();
    let samples = m.samples();
    let (c0, c1, c3) = (p.series[0], p.series[1], p.series[3]);
    let key = Key::new(13, SeriesLabelPosition::UpperLeft)
        .entry(
            "r / S + Z (before rounding and clamping)",
            Symbol::line(c1, 2),
        )
        .entry("q", Symbol::line(c0, 3))
        .entry(
            format!("r = 0 -> Z = {}", lp.zero_point),
            Symbol::dot(c3, 5),
        );
    let marks = vec![
        Mark::Line(vec![(m.rmin, q0), (m.rmin, q1)], 1),
        Mark::Line(vec![(m.rmax, q0), (m.rmax, q1)], 1),
        Mark::Line(unrounded.clone(), 2),
        Mark::Line(samples.clone(), 3),
        Mark::Dot((0.0, z), 6),
    ];
    let area = frame(root, &title, p)?;
    let (mut chart, placed) = build_with_legend(key, &marks, &|right, top| {
        labelled(&area, right, top, 50)
            .build_cartesian_2d(Axis::linear(a..b), Axis::linear(q0..q1))
            .map_err(err)
    })?;
    mesh(&mut chart, p)
        .x_desc("real value r")
        .y_desc("integer q")
        .draw()
        .map_err(err)?;
    for x in [m.rmin, m.rmax] {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(x, q0), (x, q1)],
                6,
                4,
                p.muted.stroke_width(1),
            ))
            .map_err(err)?;
    }
    chart
        .draw_series(DashedLineSeries::new(unrounded, 5, 4, c1.stroke_width(2)))
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(samples, c0.stroke_width(3)))
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(Circle::new((0.0, z), 6, c3.filled())))
        .map_err(err)?;
    legend(&area, p, &placed)?;
    root.present().map_err(err)
}

/// The first `max_rows` x `max_cols` weights of a tensor of `rows` output channels (row-major), on
/// a diverging scale of +-`max_abs` (give both heatmaps of a comparison the same one).
pub fn weight_heatmap(
    title: &str,
    w: &[f32],
    rows: usize,
    max_rows: usize,
    max_cols: usize,
    max_abs: f64,
) -> Heatmap {
    let per = w.len() / rows.max(1);
    let (r, c) = (rows.min(max_rows), per.min(max_cols));
    let values = (0..r)
        .flat_map(|i| (0..c).map(move |j| Some(w[i * per + j] as f64)))
        .collect();
    Heatmap {
        title: title.into(),
        rows: (0..r).map(|i| format!("out {i}")).collect(),
        cols: (0..c).map(|j| format!("in {j}")).collect(),
        values,
        scale: Some(Scale::Diverging { max: max_abs }),
        highlight_col: None,
        row_desc: if r < rows {
            format!("output channels (first {r} of {rows})")
        } else {
            "output channels".into()
        },
        col_desc: if c < per {
            format!("inputs x 3 x 3 (first {c} of {per})")
        } else {
            "weights of each channel".into()
        },
        show_values: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::quant::linear_params;

    #[test]
    fn the_mapping_steps_through_every_integer_and_draws() {
        let m = LinearMapping {
            rmin: -0.25,
            rmax: 0.75,
            bits: 2,
            params: linear_params(-0.25, 0.75, 2).unwrap(),
        };
        let qs: std::collections::BTreeSet<i64> =
            m.samples().iter().map(|&(_, q)| q as i64).collect();
        assert_eq!(qs.into_iter().collect::<Vec<_>>(), vec![-2, -1, 0, 1]);
        assert!(m.summary().contains("Z = -1"));
        let svg = super::super::to_svg(600, 400, |a| draw_linear_mapping(a, &m, &Palette::LIGHT));
        assert!(svg.unwrap().contains("<svg"));
    }

    #[test]
    fn a_weight_heatmap_crops_large_tensors() {
        let w: Vec<f32> = (0..64 * 288).map(|i| (i % 7) as f32 - 3.0).collect();
        let h = weight_heatmap("conv4", &w, 64, 32, 144, 3.0);
        assert_eq!((h.n_rows(), h.n_cols()), (32, 144));
        assert_eq!(h.get(1, 0), Some(w[288] as f64));
        assert!(h.row_desc.contains("first 32 of 64"));
    }
}
