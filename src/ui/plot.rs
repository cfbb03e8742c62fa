//! A figure: a plotters drawing on a canvas, redrawn when its data or the theme changes, with a text
//! description for screen readers and downloads of the image (PNG) and the data (CSV).

use super::canvas::Canvas;
use super::Theme;
use crate::calc::Calc;
use crate::var::Var;
use crate::web;
use glassbox_lab::figures::shift::{draw_bar_groups, BarGroups};
use glassbox_lab::figures::Palette;
use leptos::prelude::*;
use plotters::coord::Shift;
use plotters::prelude::DrawingArea;
use plotters::prelude::IntoDrawingArea;

/// Draws a figure on its canvas's area in a palette.
type Draw = Box<dyn Fn(&DrawingArea<Canvas, Shift>, &Palette) -> Result<(), String>>;

#[component]
pub fn Plot<F>(
    /// File-name stem of the downloads.
    name: &'static str,
    /// Short title, used in the buttons' accessible names.
    title: &'static str,
    #[prop(default = 800)] width: u32,
    #[prop(default = 480)] height: u32,
    /// A small figure (the front page's cards): no caption, downloads or description button; the
    /// description stays the canvas's accessible name.
    #[prop(optional)]
    compact: bool,
    /// What the figure shows, in words (title, axes, key numbers).
    #[prop(into)]
    summary: Signal<String>,
    /// The figure's data.
    #[prop(into)]
    csv: Signal<String>,
    /// Draws the figure; the signals it reads make it redraw.
    draw: F,
) -> impl IntoView
where
    F: Fn(&DrawingArea<Canvas, Shift>, &Palette) -> Result<(), String> + 'static,
{
    // The figure itself is compiled once, not once per kind of `draw`.
    let figure = Figure {
        name,
        title,
        size: (width, height),
        compact,
    };
    plot_view(figure, summary, csv, Box::new(draw))
}

/// A figure's fixed attributes.
struct Figure {
    name: &'static str,
    title: &'static str,
    size: (u32, u32),
    compact: bool,
}

fn plot_view(figure: Figure, summary: Signal<String>, csv: Signal<String>, draw: Draw) -> AnyView {
    let Figure {
        name,
        title,
        size: (width, height),
        compact,
    } = figure;
    // A figure whose data is not computed yet says so, as the lab's empty figures do, rather than
    // naming only its title.
    let summary = crate::ui::derive(move || {
        let s = summary.get();
        if s.trim().is_empty() {
            "Empty plot: not computed yet.".to_string()
        } else {
            s
        }
    });
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let theme = use_context::<Theme>();
    let error = Var::new(None::<String>);
    // The first drawing waits a turn: a page's figures then draw one per task after it mounts.
    let ready = crate::ui::next_turn();
    crate::ui::effect(move || {
        if !ready.get() {
            return;
        }
        let dark = theme.map(|t| t.dark.get()).unwrap_or(false);
        let Some(canvas) = canvas_ref.get() else {
            return;
        };
        let ctx = web::context_2d(&canvas);
        let Some(backend) = Canvas::new(canvas) else {
            error.set(Some("this browser gives no 2D canvas to draw on".into()));
            return;
        };
        // Presenter mode draws the figure on a smaller area scaled up to the same canvas: its
        // lines and text come out thicker and larger, still sharp.
        let scale = if crate::classroom::present::presenting() {
            crate::classroom::present::FIGURE_SCALE
        } else {
            1.0
        };
        if let Some(ctx) = ctx {
            let _ = ctx.set_transform(scale, 0.0, 0.0, scale, 0.0, 0.0);
        }
        let root = backend.into_drawing_area();
        let (w, h) = (
            (f64::from(width) / scale).round() as i32,
            (f64::from(height) / scale).round() as i32,
        );
        let area = root.shrink((0, 0), (w, h));
        let result = draw(&area, &Palette::for_theme(dark));
        error.set(result.err());
    });
    let download_png = move |_| {
        if let Some(c) = canvas_ref.get() {
            let _ = web::download_canvas(&c, &format!("{name}.png"));
        }
    };
    let download_csv = move |_| {
        let _ = web::download_text(&format!("{name}.csv"), "text/csv", &csv.get_untracked());
    };
    view! {
        <figure class="plot" data-figure=name>
            <canvas
                node_ref=canvas_ref
                width=width
                height=height
                role="img"
                aria-label=move || format!("{title}. {}", summary.get())
            ></canvas>
            <figcaption hidden=compact>
                <details class="plot-summary">
                    <summary>"Describe this figure"</summary>
                    <p class="summary-text">{move || summary.get()}</p>
                </details>
                <span class="plot-actions">
                    <button type="button" on:click=download_png aria-label=format!("Download {title} as PNG")>"PNG"</button>
                    <button type="button" on:click=download_csv aria-label=format!("Download the data of {title} as CSV")>"CSV"</button>
                </span>
                {move || error.get().map(|e| view! { <p class="notice error" role="alert">{format!("This figure could not be drawn: {e}")}</p> })}
            </figcaption>
        </figure>
    }
    .into_any()
}

/// A heatmap figure (`figures::heatmap`), blank until its data exists.
#[component]
pub fn HeatmapPlot(
    name: &'static str,
    title: &'static str,
    #[prop(default = 800)] width: u32,
    #[prop(default = 480)] height: u32,
    /// A small figure (the front page's cards): no caption, downloads or description button; the
    /// description stays the canvas's accessible name.
    #[prop(optional)]
    compact: bool,
    #[prop(into)] heatmap: Signal<Option<glassbox_lab::figures::heatmap::Heatmap>>,
) -> impl IntoView {
    view! {
        <Plot name=name title=title width=width height=height compact=compact
            summary=crate::ui::derive(move || heatmap.get().map(|h| h.summary()).unwrap_or_default())
            csv=crate::ui::derive(move || heatmap.get().map(|h| h.csv()).unwrap_or_default())
            draw=move |area, palette| match heatmap.get() {
                Some(h) => glassbox_lab::figures::heatmap::draw_heatmap(area, &h, palette),
                None => area.fill(&palette.background).map_err(|e| e.to_string()),
            }/>
    }
}

/// A figure of bar groups (`draw_bar_groups`) whose description and data follow the bars.
#[component]
pub fn BarPlot(
    /// File-name stem of the downloads.
    name: &'static str,
    /// Short title, used in the buttons' accessible names.
    title: &'static str,
    #[prop(default = 320)] height: u32,
    bars: Calc<BarGroups>,
) -> impl IntoView {
    view! {
        <Plot name title height
            summary=crate::ui::derive(move || bars.with(|b| b.summary()))
            csv=crate::ui::derive(move || bars.with(|b| b.csv()))
            draw=move |root, p| bars.with(|b| draw_bar_groups(root, b, p))/>
    }
}
