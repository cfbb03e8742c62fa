//! What a worker computes. A job is a message `{id, kind, …}` and its reply `{id, …}`, buffers
//! transferred, not copied.
//!
//! - `logits`: the eval-mode logits z = f(x; W) of a run of test images x under a network W, in
//!   forward passes of `EVAL_BATCH` images (`train::logits`). A job's images start at a multiple of
//!   `EVAL_BATCH` in the page's split, so each image is computed in the same batch as on the page's
//!   thread, and the logits equal the single-thread run's bit for bit. The page sends the network's
//!   bytes with every job (a copy of about a megabyte); a worker parses them only when their
//!   checksum differs from the last network's.

use glassbox_lab::vision::data::{fnv1a64, Split};
use glassbox_lab::vision::network::Network;
use glassbox_lab::vision::train;
use js_sys::{Array, Float32Array, Object, Reflect, Uint8Array};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

/// A network as the page sends it: its bytes (`Network::to_bytes`) and their checksum.
pub struct NetBytes {
    pub bytes: Vec<u8>,
    pub id: u64,
}

impl NetBytes {
    pub fn new(net: &Network) -> NetBytes {
        let bytes = net.to_bytes();
        let id = fnv1a64(&bytes);
        NetBytes { bytes, id }
    }
}

fn set(o: &Object, key: &str, v: &JsValue) -> Result<(), JsValue> {
    Reflect::set(o, &key.into(), v).map(|_| ())
}

fn get(o: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    Reflect::get(o, &key.into())
}

/// The message of a `logits` job over `images` (whole 28 x 28 images, bytes) and the buffers it
/// transfers.
pub fn logits_message(net: &NetBytes, images: &[u8]) -> Result<(Object, Array), JsValue> {
    let msg = Object::new();
    let net_bytes = Uint8Array::from(&net.bytes[..]);
    let image_bytes = Uint8Array::from(images);
    set(&msg, "kind", &"logits".into())?;
    // A u64 does not fit a JavaScript number exactly: the checksum travels as text.
    set(&msg, "net_id", &net.id.to_string().into())?;
    set(&msg, "net", &net_bytes)?;
    set(&msg, "images", &image_bytes)?;
    let transfer = Array::of2(&net_bytes.buffer(), &image_bytes.buffer());
    Ok((msg, transfer))
}

/// The logits of a `logits` job's reply.
pub fn logits_of(reply: &JsValue) -> Result<Vec<f32>, String> {
    get(reply, "logits")
        .ok()
        .and_then(|v| v.dyn_into::<Float32Array>().ok())
        .map(|a| a.to_vec())
        .ok_or_else(|| "a worker's reply had no logits".to_string())
}

thread_local! {
    /// The last network a job brought, parsed, with its checksum.
    static NETWORK: RefCell<Option<(String, Network)>> = const { RefCell::new(None) };
}

fn logits_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let net_id = get(msg, "net_id")?
        .as_string()
        .ok_or("a job without net_id")?;
    let images = get(msg, "images")?
        .dyn_into::<Uint8Array>()
        .map_err(|_| "a job without images")?
        .to_vec();
    let side = glassbox_lab::vision::data::SIDE;
    let count = images.len() / (side * side);
    let split = Split {
        images,
        labels: vec![0; count],
    };
    let logits = NETWORK.with(|cell| -> Result<Vec<f32>, JsValue> {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().map(|(id, _)| id != &net_id).unwrap_or(true) {
            let bytes = get(msg, "net")?
                .dyn_into::<Uint8Array>()
                .map_err(|_| "a job without a network")?
                .to_vec();
            *cell = Some((net_id, Network::from_bytes(&bytes)?));
        }
        let (_, net) = cell.as_mut().expect("set above");
        Ok(train::logits(net, &split, 0..count))
    })?;
    let out = Float32Array::from(&logits[..]);
    set(reply, "logits", &out)?;
    Ok(Array::of1(&out.buffer()))
}

/// The worker's entry point (called by assets/glassbox-worker.js for every job message): the
/// reply and the list of buffers to transfer with it.
#[wasm_bindgen]
pub fn glassbox_worker_job(msg: JsValue) -> Result<Array, JsValue> {
    let reply = Object::new();
    set(&reply, "id", &get(&msg, "id")?)?;
    let kind = get(&msg, "kind")?.as_string().unwrap_or_default();
    let transfer = match kind.as_str() {
        "logits" => logits_job(&msg, &reply)?,
        other => return Err(format!("unknown job kind '{other}'").into()),
    };
    Ok(Array::of2(&reply, &transfer))
}
