//! A chart axis, linear or logarithmic, chosen when the figure is drawn. Every chart is a
//! `Cartesian2d<Axis, Axis>`, so the download holds plotters' chart code (the mesh, the series,
//! the key points) once instead of once per pair of axis types. Each variant maps, places ticks
//! and formats labels exactly as plotters' own `RangedCoordf64` and `LogCoord<f64>` do.

use plotters::coord::ranged1d::{
    AsRangedCoord, KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter,
};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::ops::Range;

pub enum Axis {
    Linear(RangedCoordf64),
    Log(LogCoord<f64>),
}

impl Axis {
    pub fn linear(r: Range<f64>) -> Axis {
        Axis::Linear(r.into())
    }

    pub fn log(r: Range<f64>) -> Axis {
        Axis::Log(r.log_scale().into())
    }
}

impl Ranged for Axis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        match self {
            Axis::Linear(a) => a.map(value, limit),
            Axis::Log(a) => a.map(value, limit),
        }
    }

    /// A log axis spanning less than a decade can get no tick from plotters (it ticks powers of
    /// ten and the steps between them): it then takes the linear axis's round numbers.
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        match self {
            Axis::Linear(a) => a.key_points(hint),
            Axis::Log(a) => {
                let most = hint.max_num_points();
                let points = a.key_points(hint);
                if points.len() >= 2 {
                    return points;
                }
                RangedCoordf64::from(a.range()).key_points(most.min(6))
            }
        }
    }

    fn range(&self) -> Range<f64> {
        match self {
            Axis::Linear(a) => a.range(),
            Axis::Log(a) => a.range(),
        }
    }
}

impl ValueFormatter<f64> for Axis {
    fn format_ext(&self, value: &f64) -> String {
        match self {
            Axis::Linear(a) => a.format_ext(value),
            Axis::Log(a) => a.format_ext(value),
        }
    }
}

/// `Axis` is its own coordinate description (what `build_cartesian_2d` takes).
const _: fn() = || {
    fn described<T: AsRangedCoord<CoordDescType = Axis>>() {}
    described::<Axis>();
};
