//! Figures: one drawing function per figure, generic over the plotters backend, so the page draws
//! them on a canvas and the CLI writes the same figure to SVG. Each figure also has a CSV of its data
//! and a one-paragraph text summary (for screen readers and the page's figure caption).
//!
//! One file per family: `maml` (chapter 1), `attention` (chapter 2), `shift` (chapter 3), `pruning`
//! (chapter 6), `quant` (chapter 7), `training` (fine-tuning curves), `tuning` (chapter 5's prompt tuning), `heatmap` (labelled heatmaps,
//! shared); `placement` finds each legend a spot clear of the data. This file holds what they share:
//! the palette, fonts, the title, the legend and SVG output.

use placement::{build_with_legend, Key, Legend, Mark, Symbol};
use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::Shift;
use plotters::prelude::*;

pub mod attention;
mod axis;
pub mod heatmap;
#[cfg(test)]
mod legend_tests;
pub mod lm;
mod maml;
mod placement;
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

/// A series' points in data coordinates.
type Points = Vec<(f64, f64)>;

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn font(p: &Palette, size: u32) -> TextStyle<'static> {
    (FontFamily::SansSerif, size)
        .into_font()
        .color(&p.foreground)
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

/// The figure's outer margin and title, drawn on `root`; the chart goes in the area returned (so it
/// can be built again with room for a legend strip without drawing the title twice).
fn frame<DB: DrawingBackend>(
    root: &Area<DB>,
    title: &str,
    p: &Palette,
) -> Result<DrawingArea<DB, Shift>, String> {
    root.margin(10, 10, 10, 10)
        .titled(title, font(p, 18))
        .map_err(err)
}

/// Draws a legend placed by `placement::build_with_legend` on `area` (the area its chart was built
/// on, which holds any strip reserved for it), in the figures' style.
fn legend<DB: DrawingBackend>(area: &Area<DB>, p: &Palette, l: &Legend) -> Result<(), String> {
    placement::record(l.rect);
    let (bx, by) = area.get_base_pixel();
    l.key.draw(
        area,
        l.rect.shifted((-bx, -by)),
        p.background.mix(0.85).filled(),
        p.grid.stroke_width(1),
        font(p, l.key.size),
    )
}

/// A chart builder on `area` with the strips `build_with_legend` asks for (`right`, `top`) and the
/// figures' axis label areas (40 px below, `y_labels` px to the left).
fn labelled<'a, 'b, DB: DrawingBackend>(
    area: &'a Area<DB>,
    right: u32,
    top: u32,
    y_labels: u32,
) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(area);
    b.margin_right(right)
        .margin_top(top)
        .x_label_area_size(40)
        .y_label_area_size(y_labels);
    b
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
