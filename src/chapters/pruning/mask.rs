//! Drawing a layer's keep-mask on a canvas, for the layers small enough to show one.

use crate::web;
use glassbox_lab::compress::prune;
use glassbox_lab::vision::network::Network;

/// Largest tensor drawn as a mask image.
pub const MASK_MAX: usize = 4608;

/// The keep-mask of a small tensor as an image: one cell per weight, a row per output channel.
pub fn draw_mask(canvas: &web_sys::HtmlCanvasElement, net: &Network, layer: usize, dark: bool) {
    let Some(ctx) = web::context_2d(canvas) else {
        return;
    };
    let w = prune::weights(net, layer);
    let rows = net
        .blocks
        .get(layer)
        .map(|b| b.c_out)
        .unwrap_or(net.classes());
    let cols = w.len() / rows.max(1);
    // Cells as large as fit 720 pixels across (at most 24); the canvas takes their size and is shown
    // at it (narrower on a phone), with its own proportions.
    let cell = (720.0 / cols.max(1) as f64).clamp(2.0, 24.0).floor();
    let (w_px, h_px) = ((cell * cols as f64) as u32, (cell * rows as f64) as u32);
    canvas.set_width(w_px);
    canvas.set_height(h_px);
    let style = web_sys::HtmlElement::style(canvas);
    let _ = style.set_property("width", &format!("min(100%, {w_px}px)"));
    let _ = style.set_property("aspect-ratio", &format!("{w_px} / {h_px}"));
    ctx.set_fill_style_str(if dark { "#181a20" } else { "#ffffff" });
    ctx.fill_rect(0.0, 0.0, w_px as f64, h_px as f64);
    ctx.set_fill_style_str(if dark { "#56b4e9" } else { "#0072b2" });
    // A one-pixel gap between cells once they are large enough to show it.
    let gap = if cell >= 4.0 { 1.0 } else { 0.0 };
    for r in 0..rows {
        for c in 0..cols {
            if w[r * cols + c] != 0.0 {
                ctx.fill_rect(c as f64 * cell, r as f64 * cell, cell - gap, cell - gap);
            }
        }
    }
}
