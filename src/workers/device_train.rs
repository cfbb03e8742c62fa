//! The device worker's training sessions: the image network resident on the worker's device while
//! the page fine-tunes it (the image lab, chapters 6 and 7), as the page's own WebGPU path keeps it
//! on its device. Weights w and momentum v stay on the device between steps; a step is
//! v <- mu v + (dL/dw + lambda w), w <- w - lr v, then the pruning masks w <- w * m
//! (`GpuNetwork::train_step`), so a run equals the page's own WebGPU run bit for bit.
//!
//! - `gpu-open`: a session's network (`Network::to_bytes`) and keep-masks (optional), uploaded;
//!   the worker keeps the `SESSIONS` sessions used last.
//! - `gpu-step`: one step on a batch (N x C x S x S floats, N labels): the batch's loss and how
//!   many images the network classified right before the update.
//! - `gpu-weights`: the session's network as it is now on the device (`GpuNetwork::download`).
//! - `gpu-release`: forget a session (the page's model was reset, or its page closed).
//!
//! A session the worker no longer has (a restarted worker, or one evicted) answers
//! `resident: false`; the page then goes on from the weights it last copied back, as after a lost
//! device.

use super::device::{checked, device, session_message, session_of, Sessions};
use super::job::{get, typed, Fields};
use glassbox_gpu::GpuNetwork;
use glassbox_lab::compress::prune::Masks;
use glassbox_lab::vision::network::Network;
use js_sys::{Array, Float32Array, Object, Uint32Array, Uint8Array};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

pub const OPEN: &str = "gpu-open";
pub const STEP: &str = "gpu-step";
pub const WEIGHTS: &str = "gpu-weights";
pub const RELEASE: &str = "gpu-release";

/// Sessions a device worker keeps (the image lab's and two chapters' models, say).
const SESSIONS: usize = 3;

/// A mask's length when the layer has none (it is dense).
const DENSE: u32 = u32::MAX;

thread_local! {
    static RESIDENT: RefCell<Sessions<Rc<GpuNetwork>>> = const { RefCell::new(Sessions::new(SESSIONS)) };
}

/// The session's network, now the one used last.
fn session(id: u32) -> Option<Rc<GpuNetwork>> {
    RESIDENT.with_borrow_mut(|r| {
        let net = r.take(id)?;
        r.keep(id, net.clone());
        Some(net)
    })
}

/// The message that opens `session` on the device worker with `net` and its keep-masks.
pub fn open_message(
    session: u32,
    net: &Network,
    masks: Option<&Masks>,
) -> Result<(Object, Array), JsValue> {
    let msg = session_message(OPEN, session).bytes("net", &net.to_bytes());
    let Some(m) = masks else {
        return msg.message();
    };
    let lens: Vec<u32> =
        m.0.iter()
            .map(|l| l.as_ref().map_or(DENSE, |l| l.len() as u32))
            .collect();
    let keep: Vec<u8> = m.0.iter().flatten().flatten().map(|&k| k as u8).collect();
    msg.u32s("masks", &lens).bytes("keep", &keep).message()
}

/// The masks a `gpu-open` job brings, if any.
fn masks_of(msg: &JsValue) -> Result<Option<Vec<Option<Vec<bool>>>>, JsValue> {
    let Some(lens) = typed::<Uint32Array>(msg, "masks") else {
        return Ok(None);
    };
    let keep = typed::<Uint8Array>(msg, "keep")
        .ok_or("masks without their values")?
        .to_vec();
    let mut at = 0usize;
    let mut masks = Vec::new();
    for len in lens.to_vec() {
        masks.push(match len {
            DENSE => None,
            len => {
                let end = at + len as usize;
                let layer = keep
                    .get(at..end)
                    .ok_or("masks shorter than their lengths")?;
                at = end;
                Some(layer.iter().map(|&k| k != 0).collect())
            }
        });
    }
    if at != keep.len() {
        return Err("masks longer than their lengths".into());
    }
    Ok(Some(masks))
}

pub async fn open_job(msg: &JsValue, _reply: &Object) -> Result<Array, JsValue> {
    let id = session_of(msg)?;
    let gpu = device().await?;
    let bytes = typed::<Uint8Array>(msg, "net").ok_or("a session without a network")?;
    let net = Network::from_bytes(&bytes.to_vec())?;
    let resident = checked(&gpu, gpu.upload(&net)).await?;
    if let Some(m) = masks_of(msg)? {
        checked(&gpu, resident.set_masks(&gpu, &m).await).await?;
    }
    RESIDENT.with_borrow_mut(|r| r.keep(id, Rc::new(resident)));
    Ok(Array::new())
}

/// One step's hyperparameters: learning rate, momentum, weight decay.
#[derive(Clone, Copy)]
pub struct Sgd {
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
}

/// The message of a step of `session` on the batch `(x, labels)`.
pub fn step_message(
    session: u32,
    x: &[f32],
    labels: &[u32],
    sgd: Sgd,
) -> Result<(Object, Array), JsValue> {
    session_message(STEP, session)
        .f32s("x", x)
        .u32s("labels", labels)
        .num("lr", f64::from(sgd.lr))
        .num("momentum", f64::from(sgd.momentum))
        .num("decay", f64::from(sgd.weight_decay))
        .message()
}

/// The reply to a job for a session (or reading) the worker no longer has.
pub(super) fn not_resident(reply: &Object) -> Result<Array, JsValue> {
    Fields::on(reply).value("resident", &false.into()).reply()
}

/// Whether the reply's session was still on the worker.
pub fn resident(reply: &JsValue) -> bool {
    get(reply, "resident").ok().and_then(|r| r.as_bool()) == Some(true)
}

/// A step's reply: the batch's loss and correct count (None: the session was not resident).
pub fn stepped(reply: &JsValue) -> Result<Option<(f32, usize)>, String> {
    if !resident(reply) {
        return Ok(None);
    }
    let n = |k: &str| {
        get(reply, k)
            .ok()
            .and_then(|v| v.as_f64())
            .ok_or_else(|| format!("the device worker's step had no {k}"))
    };
    Ok(Some((n("loss")? as f32, n("correct")? as usize)))
}

pub async fn step_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let gpu = device().await?;
    let Some(net) = session(session_of(msg)?) else {
        return not_resident(reply);
    };
    let x = typed::<Float32Array>(msg, "x").ok_or("a step without images")?;
    let labels = typed::<Uint32Array>(msg, "labels").ok_or("a step without labels")?;
    let number = |k: &str| {
        get(msg, k)?
            .as_f64()
            .map(|v| v as f32)
            .ok_or_else(|| JsValue::from(format!("a step without '{k}'")))
    };
    let (lr, momentum, decay) = (number("lr")?, number("momentum")?, number("decay")?);
    let (x, labels) = (x.to_vec(), labels.to_vec());
    let r = net.train_step(&gpu, &x, &labels, lr, momentum, decay).await;
    let (loss, correct) = checked(&gpu, r).await?;
    Fields::on(reply)
        .value("resident", &true.into())
        .num("loss", f64::from(loss))
        .num("correct", correct as f64)
        .reply()
}

/// The message asking for `session`'s network.
pub fn weights_message(session: u32) -> Result<(Object, Array), JsValue> {
    session_message(WEIGHTS, session).message()
}

/// A `gpu-weights` reply's network (None: the session was not resident).
pub fn weights_of(reply: &JsValue) -> Result<Option<Network>, String> {
    if !resident(reply) {
        return Ok(None);
    }
    let bytes = typed::<Uint8Array>(reply, "net")
        .ok_or("the device worker sent no network")?
        .to_vec();
    Network::from_bytes(&bytes).map(Some)
}

pub async fn weights_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let gpu = device().await?;
    let Some(net) = session(session_of(msg)?) else {
        return not_resident(reply);
    };
    let net = checked(&gpu, net.download(&gpu).await).await?;
    Fields::on(reply)
        .value("resident", &true.into())
        .bytes("net", &net.to_bytes())
        .reply()
}

/// The message that forgets `session`.
pub fn release_message(session: u32) -> Result<(Object, Array), JsValue> {
    session_message(RELEASE, session).message()
}

/// Forget a session; one the worker does not have is already forgotten.
pub fn release_job(msg: &JsValue) -> Result<Array, JsValue> {
    let id = session_of(msg)?;
    RESIDENT.with_borrow_mut(|r| r.forget(id));
    Ok(Array::new())
}
