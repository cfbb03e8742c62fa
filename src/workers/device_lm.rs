//! The device worker's language-model readings: generation (chapters 4 and 5, the Benchmarks
//! appendix) with the model's weights and a reading's key/value cache on the worker's device, as
//! the page's own WebGPU path keeps them. The page keeps the `Generator` (sampling, stopping,
//! the window) and sends its feeds; each feed's next-token logits
//! z = W_out LN(h_t), after h_t is read with attention over the cached keys and values
//! (`GpuLmSession::feed`), come back. Same adapter, same kernels: the page's numbers bit for bit.
//!
//! - `gpu-lm-open`: a reading of a shipped model (its file and bytes, as a CPU `plurals` job
//!   brings them) after a soft prompt or prefix (optional); the worker uploads a model's weights
//!   once (`Gpu::upload_lm`) and keeps the `READINGS` readings used last.
//! - `gpu-lm-feed`: one feed (its tokens, and whether it restarts the reading): the logits.
//! - `gpu-lm-close`: forget a reading.
//!
//! A reading the worker no longer has answers `resident: false`; the page then finishes the
//! generation on the CPU where it stands.

use super::device::{checked, device, session_message, session_of, Sessions};
use super::device_train::{not_resident, resident};
use super::job::{as_extras, extras_of, get, shipped_lm, typed, Fields, HeldExtras, JobLm};
use glassbox_gpu::{GpuLm, GpuLmSession};
use glassbox_lab::lm::Extras;
use js_sys::{Array, Float32Array, Object, Uint32Array};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

pub const OPEN: &str = "gpu-lm-open";
pub const FEED: &str = "gpu-lm-feed";
pub const CLOSE: &str = "gpu-lm-close";

/// Readings a device worker keeps.
const READINGS: usize = 4;

/// A reading: the model on the device, the extras it reads after, its session.
type Reading = (Rc<GpuLm>, HeldExtras, GpuLmSession);

thread_local! {
    /// Models on the device by file name (the standard and the small one at most).
    static MODELS: RefCell<Vec<(String, Rc<GpuLm>)>> = const { RefCell::new(Vec::new()) };
    /// Readings, the one used last at the end.
    static READING: RefCell<Sessions<Reading>> = const { RefCell::new(Sessions::new(READINGS)) };
}

/// The message that opens `reading` of `lm` (a shipped model: no weights of its own) after
/// `extras`.
pub fn open_message(reading: u32, lm: &JobLm, extras: Extras) -> Result<(Object, Array), JsValue> {
    super::job::with_lm_fields(session_message(OPEN, reading), lm, extras).message()
}

pub async fn open_job(msg: &JsValue) -> Result<Array, JsValue> {
    let id = session_of(msg)?;
    let gpu = device().await?;
    let held = shipped_lm(msg)?;
    let file = &held.0;
    let cached = MODELS.with_borrow(|m| m.iter().find(|e| &e.0 == file).map(|e| e.1.clone()));
    let lm = match cached {
        Some(lm) => lm,
        None => {
            let lm = Rc::new(checked(&gpu, gpu.upload_lm(&held.1)).await?);
            MODELS.with_borrow_mut(|m| m.push((file.clone(), lm.clone())));
            lm
        }
    };
    let kept = extras_of(msg)?;
    let session = checked(&gpu, GpuLmSession::new(&gpu, &lm, as_extras(&kept))).await?;
    READING.with_borrow_mut(|r| r.keep(id, (lm, kept, session)));
    Ok(Array::new())
}

/// The message of one feed of `reading`.
pub fn feed_message(
    reading: u32,
    restart: bool,
    tokens: &[u32],
) -> Result<(Object, Array), JsValue> {
    session_message(FEED, reading)
        .value("restart", &restart.into())
        .u32s("tokens", tokens)
        .message()
}

/// A feed's logits (None: the reading was not resident).
pub fn logits_of(reply: &JsValue) -> Result<Option<Vec<f32>>, String> {
    if !resident(reply) {
        return Ok(None);
    }
    typed::<Float32Array>(reply, "logits")
        .map(|l| Some(l.to_vec()))
        .ok_or_else(|| "the device worker sent no logits".into())
}

pub async fn feed_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let id = session_of(msg)?;
    let gpu = device().await?;
    // Out of the list while it reads (the feed awaits the device), back in at the end.
    let taken = READING.with_borrow_mut(|r| r.take(id));
    let Some((lm, kept, mut session)) = taken else {
        return not_resident(reply);
    };
    let tokens = typed::<Uint32Array>(msg, "tokens")
        .ok_or("a feed without tokens")?
        .to_vec();
    let restart = get(msg, "restart")?.as_bool().unwrap_or(false);
    let r =
        glassbox_gpu::lm::read_feed(&gpu, &lm, as_extras(&kept), &mut session, restart, &tokens)
            .await;
    let logits = checked(&gpu, r).await?;
    READING.with_borrow_mut(|r| r.keep(id, (lm, kept, session)));
    Fields::on(reply)
        .value("resident", &true.into())
        .f32s("logits", &logits)
        .reply()
}

/// The message that forgets `reading`.
pub fn close_message(reading: u32) -> Result<(Object, Array), JsValue> {
    session_message(CLOSE, reading).message()
}

/// Forget a reading; one the worker does not have is already forgotten.
pub fn close_job(msg: &JsValue) -> Result<Array, JsValue> {
    let id = session_of(msg)?;
    READING.with_borrow_mut(|r| r.forget(id));
    Ok(Array::new())
}
