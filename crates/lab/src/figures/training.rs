//! The training curve of in-page fine-tuning: batch loss and accuracy against the step, raw and
//! smoothed.

use super::axis::Axis;
use super::{
    build_with_legend, err, frame, labelled, legend, mesh, Area, Key, Mark, Palette, Points, Symbol,
};
use plotters::prelude::*;
use std::fmt::Write as _;

/// One training step's batch loss and batch accuracy (the fine-tuning figure).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainPoint {
    pub step: usize,
    pub loss: f64,
    pub accuracy: f64,
}

/// Trailing mean over `window` steps, so the noisy per-batch values read as a trend.
pub fn moving_average(v: &[f64], window: usize) -> Vec<f64> {
    let w = window.max(1);
    let mut sum = 0.0;
    v.iter()
        .enumerate()
        .map(|(i, &x)| {
            sum += x;
            if i >= w {
                sum -= v[i - w];
            }
            sum / (i + 1).min(w) as f64
        })
        .collect()
}

pub const TRAIN_SMOOTHING: usize = 20;

pub fn training_csv(points: &[TrainPoint]) -> String {
    let mut s = String::from("step,batch_loss,batch_accuracy\n");
    for t in points {
        writeln!(s, "{},{:.6},{:.6}", t.step, t.loss, t.accuracy).ok();
    }
    s
}

pub fn training_summary(points: &[TrainPoint]) -> String {
    let loss: Vec<f64> = points.iter().map(|t| t.loss).collect();
    let acc: Vec<f64> = points.iter().map(|t| t.accuracy).collect();
    let (loss, acc) = (
        moving_average(&loss, TRAIN_SMOOTHING),
        moving_average(&acc, TRAIN_SMOOTHING),
    );
    match (points.first(), points.last()) {
        (Some(a), Some(b)) => format!(
            "Line plot of the batch loss and batch accuracy over {} training steps (steps {} to {}), \
             each averaged over the last {TRAIN_SMOOTHING} steps: loss from {:.3} to {:.3}, \
             accuracy from {:.1}% to {:.1}%.",
            points.len(),
            a.step,
            b.step,
            loss[0],
            loss.last().copied().unwrap_or(0.0),
            100.0 * acc[0],
            100.0 * acc.last().copied().unwrap_or(0.0),
        ),
        _ => String::from("Empty plot: no training step yet."),
    }
}

/// Batch loss (thin, and its moving average) and batch accuracy (moving average) over steps.
pub fn draw_training<DB: DrawingBackend>(
    root: &Area<DB>,
    points: &[TrainPoint],
    p: &Palette,
) -> Result<(), String> {
    root.fill(&p.background).map_err(err)?;
    let first = points.first().map(|t| t.step).unwrap_or(0) as f64;
    let last = points.last().map(|t| t.step).unwrap_or(1) as f64;
    let top = points
        .iter()
        .map(|t| t.loss)
        .filter(|v| v.is_finite())
        .fold(1.0f64, f64::max)
        * 1.05;
    let steps: Vec<f64> = points.iter().map(|t| t.step as f64).collect();
    let loss: Vec<f64> = points.iter().map(|t| t.loss).collect();
    let acc: Vec<f64> = points.iter().map(|t| t.accuracy).collect();
    let (c_loss, c_acc) = (p.series[1], p.series[0]);
    let raw: Vec<(f64, f64)> = steps.iter().copied().zip(loss.iter().copied()).collect();
    let smooth: Vec<(&str, Points, RGBColor)> = [
        (
            "batch loss (mean of 20 steps)",
            moving_average(&loss, TRAIN_SMOOTHING),
            c_loss,
        ),
        (
            "batch accuracy (mean of 20 steps)",
            moving_average(&acc, TRAIN_SMOOTHING),
            c_acc,
        ),
    ]
    .into_iter()
    .map(|(name, v, colour)| (name, steps.iter().copied().zip(v).collect(), colour))
    .collect();
    let key = (smooth.iter()).fold(
        Key::new(13, SeriesLabelPosition::MiddleRight),
        |k, (name, _, colour)| k.entry(*name, Symbol::line(*colour, 2)),
    );
    let mut marks = vec![Mark::Line(raw.clone(), 1)];
    marks.extend(smooth.iter().map(|s| Mark::Line(s.1.clone(), 2)));
    let area = frame(root, "Fine-tuning: batch loss and accuracy", p)?;
    let (mut chart, placed) = build_with_legend(key, &marks, &|right, margin_top| {
        labelled(&area, right, margin_top, 50)
            .build_cartesian_2d(
                Axis::linear(first..last.max(first + 1.0)),
                Axis::linear(0f64..top),
            )
            .map_err(err)
    })?;
    mesh(&mut chart, p)
        .x_desc("training step")
        .y_desc("loss / accuracy")
        // Steps are whole numbers: no labels between them on short runs.
        .x_label_formatter(&|v| {
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                String::new()
            }
        })
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(raw, c_loss.mix(0.3).stroke_width(1)))
        .map_err(err)?;
    for (_, line, colour) in smooth {
        chart
            .draw_series(LineSeries::new(line, colour.stroke_width(2)))
            .map_err(err)?;
    }
    legend(&area, p, &placed)?;
    root.present().map_err(err)
}
