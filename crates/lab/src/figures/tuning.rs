//! Chapter 5's figure: prompt tuning's training loss and validation accuracy against epoch (epoch 0
//! is the starting point), one line per run, with the best hard prompt's accuracy as a dashed
//! horizontal line. Two panels, one above the other, so the figure reads at phone width.

use super::axis::Axis;
use super::shift::{colour, csv_field, draw_header, pct, Key};
use super::{err, mesh, Area, Palette};
use plotters::prelude::*;
use std::fmt::Write as _;

/// Runs to compare, each a label and per epoch from 0 its (training loss, validation accuracy).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TuningCurves {
    pub runs: Vec<(String, Vec<(f64, f64)>)>,
    /// The best hard prompt: its label and validation accuracy.
    pub baseline: Option<(String, f64)>,
}

impl TuningCurves {
    fn epochs(&self) -> usize {
        self.runs.iter().map(|r| r.1.len()).max().unwrap_or(0)
    }

    pub fn csv(&self) -> String {
        let mut s = String::from("run,epoch,train_loss,val_accuracy\n");
        for (label, pts) in &self.runs {
            for (e, (l, a)) in pts.iter().enumerate() {
                writeln!(s, "{},{e},{l:.6},{a:.6}", csv_field(label)).ok();
            }
        }
        if let Some((label, a)) = &self.baseline {
            writeln!(s, "{},,,{a:.6}", csv_field(label)).ok();
        }
        s
    }

    pub fn summary(&self) -> String {
        if self.epochs() == 0 {
            return "Empty plot: no run yet.".into();
        }
        let runs: Vec<String> = self
            .runs
            .iter()
            .filter_map(|(label, pts)| {
                let (first, last) = (pts.first()?, pts.last()?);
                Some(format!(
                    "{label}: loss {:.3} to {:.3}, validation accuracy {} to {} over {} epochs",
                    first.0,
                    last.0,
                    pct(first.1),
                    pct(last.1),
                    pts.len() - 1
                ))
            })
            .collect();
        let base = self
            .baseline
            .as_ref()
            .map(|(l, a)| format!(" Dashed line: {l}, {}.", pct(*a)))
            .unwrap_or_default();
        format!(
            "Two line plots against epoch (0 is before training): training loss (nats per \
             character, top) and validation accuracy (bottom). {}.{base}",
            runs.join("; ")
        )
    }
}

/// One line with dots per run, of the value `y` picks from each epoch's (loss, accuracy); points
/// whose value is not finite are left out.
fn draw_runs<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<Axis, Axis>>,
    d: &TuningCurves,
    p: &Palette,
    y: impl Fn(&(f64, f64)) -> f64,
) -> Result<(), String> {
    for (i, (_, pts)) in d.runs.iter().enumerate() {
        let c = colour(p, i);
        let line: Vec<(f64, f64)> = (pts.iter().enumerate())
            .map(|(e, x)| (e as f64, y(x)))
            .filter(|pt| pt.1.is_finite())
            .collect();
        chart
            .draw_series(LineSeries::new(line.clone(), c.stroke_width(2)))
            .map_err(err)?;
        chart
            .draw_series(line.into_iter().map(|pt| Circle::new(pt, 3, c.filled())))
            .map_err(err)?;
    }
    Ok(())
}

pub fn draw_tuning_curves<DB: DrawingBackend>(
    root: &Area<DB>,
    d: &TuningCurves,
    p: &Palette,
) -> Result<(), String> {
    root.fill(&p.background).map_err(err)?;
    let mut keys: Vec<(String, Key)> = (d.runs.iter().enumerate())
        .map(|(i, r)| (r.0.clone(), Key::Line(colour(p, i))))
        .collect();
    if let Some((label, _)) = &d.baseline {
        keys.push((label.clone(), Key::Dashed(p.muted)));
    }
    let head = draw_header(root, "Prompt tuning: loss and accuracy by epoch", &keys, p)?;
    let (_, body) = root.split_vertically(head);
    let h = body.dim_in_pixel().1 as i32;
    let (top, bottom) = body.split_vertically(h / 2);
    let x_max = (d.epochs().max(2) - 1) as f64;
    let finite = |v: f64| v.is_finite();
    let loss_max = (d.runs.iter().flat_map(|r| r.1.iter().map(|x| x.0)))
        .filter(|&v| finite(v))
        .fold(0.0f64, f64::max)
        .max(0.1)
        * 1.1;
    let x_labels = (x_max as usize + 1).min(11);
    let int_label = |v: &f64| match v.fract() == 0.0 && *v >= 0.0 {
        true => format!("{v:.0}"),
        false => String::new(),
    };
    let mut chart = ChartBuilder::on(&top)
        .margin(10)
        .margin_top(4)
        .x_label_area_size(24)
        .y_label_area_size(58)
        .build_cartesian_2d(Axis::linear(-0.2..x_max + 0.2), Axis::linear(0.0..loss_max))
        .map_err(err)?;
    mesh(&mut chart, p)
        .y_desc("training loss")
        .x_labels(x_labels)
        .x_label_formatter(&int_label)
        .draw()
        .map_err(err)?;
    draw_runs(&mut chart, d, p, |x| match x.0.is_finite() {
        true => x.0.min(loss_max),
        false => f64::NAN,
    })?;
    let mut chart = ChartBuilder::on(&bottom)
        .margin(10)
        .margin_top(4)
        .x_label_area_size(40)
        .y_label_area_size(58)
        .build_cartesian_2d(Axis::linear(-0.2..x_max + 0.2), Axis::linear(0.0..1.0))
        .map_err(err)?;
    mesh(&mut chart, p)
        .x_desc("epoch")
        .y_desc("validation accuracy")
        .x_labels(x_labels)
        .x_label_formatter(&int_label)
        .y_label_formatter(&|v| format!("{:.0}%", 100.0 * v))
        .draw()
        .map_err(err)?;
    if let Some((_, a)) = d.baseline {
        let n = 24;
        let step = (x_max + 0.4) / n as f64;
        let dashes = (0..n).step_by(2).map(|i| {
            let x0 = -0.2 + i as f64 * step;
            PathElement::new(vec![(x0, a), (x0 + step, a)], p.muted.stroke_width(2))
        });
        chart.draw_series(dashes).map_err(err)?;
    }
    draw_runs(&mut chart, d, p, |x| x.1.clamp(0.0, 1.0))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::to_svg;

    #[test]
    fn the_curves_draw_and_say_what_they_show() {
        let d = TuningCurves {
            runs: vec![(
                "soft prompt, K = 14".into(),
                vec![(0.67, 0.05), (0.27, 0.55), (0.13, 0.7)],
            )],
            baseline: Some(("best hard prompt (3 shots)".into(), 0.175)),
        };
        let svg = to_svg(800, 460, |root| {
            draw_tuning_curves(root, &d, &Palette::for_theme(false))
        })
        .unwrap();
        assert!(svg.contains("validation accuracy") && svg.contains("best hard prompt"));
        let s = d.summary();
        assert!(s.contains("5.0% to 70.0%") && s.contains("17.5%"), "{s}");
        assert_eq!(d.csv().lines().count(), 5);
        let empty = TuningCurves::default();
        assert!(to_svg(800, 460, |root| draw_tuning_curves(
            root,
            &empty,
            &Palette::for_theme(true)
        ))
        .is_ok());
    }
}
