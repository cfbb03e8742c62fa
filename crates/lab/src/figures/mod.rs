//! Figures: one drawing function per figure, generic over the plotters backend, so the page draws
//! them on a canvas and the CLI writes the same figure to SVG. Each figure also has a CSV of its data
//! and a one-paragraph text summary (for screen readers and the page's figure caption).
//!
//! One file per family: `maml` (chapter 1), `attention` (chapter 2), `shift` (chapter 3), `pruning`
//! (chapter 6), `quant` (chapter 7), `training` (fine-tuning curves), `tuning` (chapter 5's prompt tuning), `heatmap` (labelled heatmaps,
//! shared); this file holds what they share: the palette, fonts, the legend and SVG output.

use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::Shift;
use plotters::prelude::*;

pub mod attention;
pub mod heatmap;
pub mod lm;
mod maml;
mod pruning;
pub mod quant;
pub mod shift;
mod training;
pub mod tuning;

pub use maml::*;
pub use pruning::*;
pub use training::*;

/// Colours of a figure; light and dark themes.
#[derive(Clone, Copy, Debug)]
pub struct Palette {
    pub background: RGBColor,
    pub foreground: RGBColor,
    pub grid: RGBColor,
    pub muted: RGBColor,
    pub series: [RGBColor; 5],
}

impl Palette {
    pub const LIGHT: Palette = Palette {
        background: RGBColor(255, 255, 255),
        foreground: RGBColor(30, 30, 36),
        grid: RGBColor(225, 225, 232),
        muted: RGBColor(150, 150, 160),
        // Colour-blind-safe (Okabe–Ito): blue, orange, green, vermillion, purple.
        series: [
            RGBColor(0, 114, 178),
            RGBColor(213, 94, 0),
            RGBColor(0, 158, 115),
            RGBColor(204, 121, 167),
            RGBColor(86, 70, 160),
        ],
    };
    pub const DARK: Palette = Palette {
        background: RGBColor(24, 26, 32),
        foreground: RGBColor(230, 230, 236),
        grid: RGBColor(58, 62, 72),
        muted: RGBColor(130, 132, 145),
        series: [
            RGBColor(86, 180, 233),
            RGBColor(240, 160, 60),
            RGBColor(60, 200, 150),
            RGBColor(235, 140, 190),
            RGBColor(170, 150, 240),
        ],
    };
    pub fn for_theme(dark: bool) -> Palette {
        if dark {
            Palette::DARK
        } else {
            Palette::LIGHT
        }
    }
}

type Area<'a, DB> = DrawingArea<DB, Shift>;

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn font(p: &Palette, size: u32) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&p.foreground)
}

/// A chart's axes and grid in the figures' style; the caller adds descriptions and formatters and
/// draws it.
fn mesh<'a, 'b, X, Y, DB>(
    chart: &'b mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    p: &Palette,
) -> MeshStyle<'a, 'b, X, Y, DB>
where
    X: Ranged<ValueType: std::fmt::Debug> + ValueFormatter<X::ValueType>,
    Y: Ranged<ValueType: std::fmt::Debug> + ValueFormatter<Y::ValueType>,
    DB: DrawingBackend,
{
    let mut m = chart.configure_mesh();
    m.axis_style(p.foreground)
        .light_line_style(p.grid.mix(0.45))
        .bold_line_style(p.grid)
        .label_style(font(p, 13))
        .axis_desc_style(font(p, 14));
    m
}

/// A chart's series labels, in the figures' style.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    p: &Palette,
    position: SeriesLabelPosition,
) -> Result<(), String> {
    legend_sized(chart, p, position, 13)
}

/// `legend` with another label size (a figure with many series).
fn legend_sized<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    p: &Palette,
    position: SeriesLabelPosition,
    size: u32,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .background_style(p.background.mix(0.85))
        .border_style(p.grid)
        .label_font(font(p, size))
        .position(position)
        .draw()
        .map_err(err)
}

/// Render a figure into an SVG string (the CLI and the tests).
pub fn to_svg(
    width: u32,
    height: u32,
    draw: impl FnOnce(&Area<SVGBackend>) -> Result<(), String>,
) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        draw(&root)?;
    }
    Ok(out)
}
