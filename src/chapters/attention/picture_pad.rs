//! The reader's picture as a paintable grid of pixels, for the toy captioner's encoder.

use super::state::{Picture, Settings};
use crate::var::Var;
use crate::web;
use glassbox_lab::attention::captioner;
use leptos::prelude::*;

/// The picture as a paintable grid of pixels: click a pixel, or move with the arrow keys and press
/// Space, to switch it between dark and light. Patch borders are drawn thicker.
#[component]
pub fn PicturePad(settings: Var<Settings>) -> impl IntoView {
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let cursor = Var::new((0usize, 0usize));
    let focused = Var::new(false);
    let theme = use_context::<crate::ui::Theme>();
    const PX: f64 = 16.0;
    let n = captioner::IMAGE;
    let toggle = move |r: usize, c: usize| {
        settings.update(|s| {
            let mut l = s.picture.levels();
            let i = r * n + c;
            l[i] = if l[i] > captioner::LEVELS / 2 {
                0
            } else {
                captioner::LEVELS - 1
            };
            s.picture = Picture::Drawn(l);
        })
    };
    crate::ui::effect(move || {
        let levels = settings.with(|s| s.picture.levels());
        let (cr, cc) = cursor.get();
        let show_cursor = focused.get();
        let dark = theme.map(|t| t.dark.get()).unwrap_or(false);
        let Some(canvas) = canvas_ref.get() else {
            return;
        };
        let Some(ctx) = web::context_2d(&canvas) else {
            return;
        };
        let top = (captioner::LEVELS - 1) as f64;
        for (i, &l) in levels.iter().enumerate() {
            let g = (255.0 * l as f64 / top).round() as u8;
            ctx.set_fill_style_str(&format!("rgb({g},{g},{g})"));
            ctx.fill_rect((i % n) as f64 * PX, (i / n) as f64 * PX, PX, PX);
        }
        ctx.set_stroke_style_str(if dark { "#56b4e9" } else { "#0072b2" });
        ctx.set_line_width(2.0);
        for k in 0..=captioner::SIDE {
            let x = (k * captioner::PATCH) as f64 * PX;
            ctx.begin_path();
            ctx.move_to(x, 0.0);
            ctx.line_to(x, n as f64 * PX);
            ctx.move_to(0.0, x);
            ctx.line_to(n as f64 * PX, x);
            ctx.stroke();
        }
        if show_cursor {
            ctx.set_stroke_style_str("#d55e00");
            ctx.set_line_width(3.0);
            ctx.stroke_rect(
                cc as f64 * PX + 1.5,
                cr as f64 * PX + 1.5,
                PX - 3.0,
                PX - 3.0,
            );
        }
    });
    let on_click = move |ev: web_sys::MouseEvent| {
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        let w = canvas.client_width().max(1) as f64;
        let h = canvas.client_height().max(1) as f64;
        let c = ((ev.offset_x() as f64 / w) * n as f64).floor() as usize;
        let r = ((ev.offset_y() as f64 / h) * n as f64).floor() as usize;
        if r < n && c < n {
            cursor.set((r, c));
            toggle(r, c);
        }
    };
    let on_key = move |ev: web_sys::KeyboardEvent| {
        let (r, c) = cursor.get_untracked();
        let moved = match ev.key().as_str() {
            "ArrowUp" => (r.saturating_sub(1), c),
            "ArrowDown" => ((r + 1).min(n - 1), c),
            "ArrowLeft" => (r, c.saturating_sub(1)),
            "ArrowRight" => (r, (c + 1).min(n - 1)),
            " " | "Enter" => {
                ev.prevent_default();
                toggle(r, c);
                return;
            }
            _ => return,
        };
        ev.prevent_default();
        cursor.set(moved);
    };
    let invert_patch = move |_| {
        let (r, c) = cursor.get_untracked();
        let (pr, pc) = (r / captioner::PATCH, c / captioner::PATCH);
        settings.update(|s| {
            let mut l = s.picture.levels();
            for y in 0..captioner::PATCH {
                for x in 0..captioner::PATCH {
                    let i = (pr * captioner::PATCH + y) * n + pc * captioner::PATCH + x;
                    l[i] = captioner::LEVELS - 1 - l[i];
                }
            }
            s.picture = Picture::Drawn(l);
        })
    };
    view! {
        <div class="picture-pad">
            <canvas node_ref=canvas_ref class="picture" width=(n as f64 * PX) as u32 height=(n as f64 * PX) as u32
                tabindex="0" role="img"
                aria-label=move || { let (r, c) = cursor.get(); format!("Picture, {n} by {n} pixels in {} patches. Click a pixel, or use the arrow keys and Space, to switch it between dark and light. Cursor at row {r}, column {c}.", captioner::TOKENS) }
                on:click=on_click on:keydown=on_key
                on:focus=move |_| focused.set(true) on:blur=move |_| focused.set(false)></canvas>
            <div class="buttons">
                <button type="button" on:click=invert_patch>
                    {move || { let (r, c) = cursor.get(); format!("Invert patch {} (the cursor's)", (r / captioner::PATCH) * captioner::SIDE + c / captioner::PATCH + 1) }}
                </button>
            </div>
        </div>
    }
}
