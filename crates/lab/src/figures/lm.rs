//! The language model's training curve: the training loss (per step, and its moving average) and
//! the held-out loss at each evaluation, in nats per character, against the step.

use super::axis::Axis;
use super::training::moving_average;
use super::{
    build_with_legend, err, frame, labelled, legend, mesh, Area, Key, Mark, Palette, Symbol,
};
use plotters::prelude::*;
use std::fmt::Write as _;

/// One training step's batch loss, and the held-out loss when it was measured at that step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossPoint {
    pub step: usize,
    pub train: f64,
    pub held_out: Option<f64>,
}

/// Steps in the moving average of the training loss.
pub const LOSS_SMOOTHING: usize = 50;

pub fn loss_csv(points: &[LossPoint]) -> String {
    let mut s = String::from("step,train_loss,held_out_loss\n");
    for p in points {
        let h = p.held_out.map(|h| format!("{h:.5}")).unwrap_or_default();
        writeln!(s, "{},{:.5},{h}", p.step, p.train).ok();
    }
    s
}

/// Read back what `loss_csv` wrote (the training log shipped beside the weights).
pub fn parse_loss_csv(text: &str) -> Result<Vec<LossPoint>, String> {
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some("step,train_loss,held_out_loss") {
        return Err("not a loss log: the header should be step,train_loss,held_out_loss".into());
    }
    lines
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let bad = || format!("line {}: '{l}' is not step,train_loss,held_out_loss", i + 2);
            let f: Vec<&str> = l.split(',').collect();
            let [step, train, held] = f.as_slice() else {
                return Err(bad());
            };
            let train = crate::decimal::parse(train).ok_or_else(bad)?;
            let held_out = match held.trim() {
                "" => None,
                h => Some(crate::decimal::parse(h).ok_or_else(bad)?),
            };
            if !train.is_finite() || held_out.is_some_and(|h| !h.is_finite()) {
                return Err(bad());
            }
            Ok(LossPoint {
                step: step.parse().map_err(|_| bad())?,
                train,
                held_out,
            })
        })
        .collect()
}

pub fn loss_summary(points: &[LossPoint]) -> String {
    let held: Vec<(usize, f64)> = points
        .iter()
        .filter_map(|p| p.held_out.map(|h| (p.step, h)))
        .collect();
    match (points.first(), points.last(), held.last()) {
        (Some(a), Some(b), Some(&(step, h))) => format!(
            "Line plot of the training loss over steps {} to {} (from {:.3} to {:.3} nats per \
             character, a mean of {LOSS_SMOOTHING} steps) and the held-out loss at {} evaluations, \
             last {h:.3} at step {step}.",
            a.step,
            b.step,
            a.train,
            moving_average(
                &points.iter().map(|p| p.train).collect::<Vec<_>>(),
                LOSS_SMOOTHING
            )
            .last()
            .copied()
            .unwrap_or(b.train),
            held.len(),
        ),
        _ => "Empty plot: no training step yet.".into(),
    }
}

/// Training loss (thin, and its moving average) and held-out loss (points joined) over steps.
pub fn draw_loss_curve<DB: DrawingBackend>(
    root: &Area<DB>,
    points: &[LossPoint],
    p: &Palette,
) -> Result<(), String> {
    root.fill(&p.background).map_err(err)?;
    let last = points.last().map(|t| t.step).unwrap_or(1).max(1) as f64;
    let top = points
        .iter()
        .map(|t| t.train)
        .filter(|v| v.is_finite())
        .fold(1.0f64, f64::max)
        .min(6.0)
        * 1.05;
    let steps: Vec<f64> = points.iter().map(|t| t.step as f64).collect();
    let train: Vec<f64> = points.iter().map(|t| t.train.min(top)).collect();
    let raw: Vec<(f64, f64)> = steps.iter().copied().zip(train.iter().copied()).collect();
    let smooth: Vec<(f64, f64)> = (steps.iter().copied())
        .zip(moving_average(&train, LOSS_SMOOTHING))
        .collect();
    let held: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|t| t.held_out.map(|h| (t.step as f64, h.min(top))))
        .collect();
    let (c_train, c_held) = (p.series[0], p.series[1]);
    let key = Key::new(13, SeriesLabelPosition::UpperRight)
        .entry(
            format!("training (mean of {LOSS_SMOOTHING} steps)"),
            Symbol::line(c_train, 2),
        )
        .entry("held out", Symbol::line(c_held, 2));
    let mut marks = vec![
        Mark::Line(raw.clone(), 1),
        Mark::Line(smooth.clone(), 2),
        Mark::Line(held.clone(), 2),
    ];
    marks.extend(held.iter().map(|&pt| Mark::Dot(pt, 3)));
    let area = frame(root, "Language model: loss per character", p)?;
    let (mut chart, placed) = build_with_legend(key, &marks, &|right, margin_top| {
        labelled(&area, right, margin_top, 50)
            .build_cartesian_2d(Axis::linear(0f64..last), Axis::linear(0f64..top))
            .map_err(err)
    })?;
    mesh(&mut chart, p)
        .x_desc("training step")
        .y_desc("cross-entropy (nats per character)")
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(raw, c_train.mix(0.25).stroke_width(1)))
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(smooth, c_train.stroke_width(2)))
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(
            held.iter().copied(),
            c_held.stroke_width(2),
        ))
        .map_err(err)?;
    chart
        .draw_series(held.iter().map(|&xy| Circle::new(xy, 3, c_held.filled())))
        .map_err(err)?;
    legend(&area, p, &placed)?;
    root.present().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_draws_and_says_what_it_shows() {
        let points: Vec<LossPoint> = (0..120)
            .map(|i| LossPoint {
                step: i,
                train: 4.0 - i as f64 / 60.0,
                held_out: (i % 40 == 39).then_some(3.5 - i as f64 / 100.0),
            })
            .collect();
        let svg = super::super::to_svg(640, 360, |a| draw_loss_curve(a, &points, &Palette::LIGHT))
            .unwrap();
        assert!(svg.contains("held out"));
        let s = loss_summary(&points);
        assert!(
            s.contains("3 evaluations") && s.contains("last 2.310 at step 119"),
            "{s}"
        );
        let csv = loss_csv(&points);
        assert_eq!(csv.lines().count(), 121);
        assert!(csv.lines().nth(40).unwrap().ends_with(",3.11000"));
        let back = parse_loss_csv(&csv).unwrap();
        assert_eq!(back.len(), points.len());
        assert_eq!(loss_csv(&back), csv);
        assert!(parse_loss_csv("step,x\n").is_err());
        assert!(parse_loss_csv(&(csv.clone() + "7,abc,\n"))
            .unwrap_err()
            .contains("line 122"));
    }
}
