//! The strip of misclassified test images, drawn on a canvas.

use super::confusion::short;
use crate::web;
use glassbox_lab::vision::data::{FashionMnist, SIDE};
use glassbox_lab::vision::train::Evaluation;

/// Draw up to 16 misclassified test images with their true and predicted classes.
pub fn draw_mistakes(
    canvas: &web_sys::HtmlCanvasElement,
    d: &FashionMnist,
    e: &Evaluation,
    dark: bool,
) {
    let Some(ctx) = web::context_2d(canvas) else {
        return;
    };
    let (cell, scale) = (112.0, 3.0);
    ctx.set_fill_style_str(if dark { "#181a20" } else { "#ffffff" });
    ctx.fill_rect(0.0, 0.0, canvas.width() as f64, canvas.height() as f64);
    for (slot, &(i, p)) in e.mistakes.iter().take(16).enumerate() {
        let (x0, y0) = ((slot % 8) as f64 * cell, (slot / 8) as f64 * (cell + 8.0));
        let img = d.test.image(i);
        for r in 0..SIDE {
            for c in 0..SIDE {
                let v = img[r * SIDE + c];
                let v = if dark { v } else { 255 - v };
                ctx.set_fill_style_str(&format!("rgb({v},{v},{v})"));
                ctx.fill_rect(
                    x0 + 14.0 + c as f64 * scale,
                    y0 + r as f64 * scale,
                    scale,
                    scale,
                );
            }
        }
        ctx.set_fill_style_str(if dark { "#e6e6ec" } else { "#1e1e24" });
        ctx.set_font("11px sans-serif");
        let _ = ctx.fill_text(
            &format!(
                "{} → {}",
                short(d.test.labels[i] as usize),
                short(p as usize)
            ),
            x0 + 4.0,
            y0 + 98.0,
        );
    }
}
