//! The training curve of in-page fine-tuning: batch loss and accuracy against the step, raw and
//! smoothed.

use super::{err, font, legend, mesh, Area, Palette};
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
    let mut chart = ChartBuilder::on(root)
        .caption("Fine-tuning: batch loss and accuracy", font(p, 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(first..last.max(first + 1.0), 0f64..top)
        .map_err(err)?;
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
    let steps: Vec<f64> = points.iter().map(|t| t.step as f64).collect();
    let loss: Vec<f64> = points.iter().map(|t| t.loss).collect();
    let acc: Vec<f64> = points.iter().map(|t| t.accuracy).collect();
    let (c_loss, c_acc) = (p.series[1], p.series[0]);
    chart
        .draw_series(LineSeries::new(
            steps.iter().copied().zip(loss.iter().copied()),
            c_loss.mix(0.3).stroke_width(1),
        ))
        .map_err(err)?;
    let smooth = [
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
    ];
    for (name, v, colour) in smooth {
        chart
            .draw_series(LineSeries::new(
                steps.iter().copied().zip(v),
                colour.stroke_width(2),
            ))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
    }
    legend(&mut chart, p, SeriesLabelPosition::MiddleRight)?;
    root.present().map_err(err)
}
