//! What the device worker computes: jobs that run on a WebGPU device the worker owns (the page
//! posts them to the device pool, `pool::device_pool`); sessions that keep state on it between
//! jobs are in `device_train` (the image network in training) and `device_lm` (language-model
//! readings), numbered by the page's `Held` handles. The worker asks for its adapter and device
//! at its first job (`navigator.gpu` exists in workers too) and keeps them; a lost device fails
//! that job and every later one with `GpuError::DeviceLost`'s text, which the page reads back
//! (`pool::lost_reason`) to switch to the CPU.
//!
//! - `gpu-assign`: chapter 7's k-means assignment pass, a(i) = argmin_j |x_i - c_j| (the lowest
//!   j on ties), over all of a layer's weights on the device (`Gpu::kmeans_assign`), what the
//!   page's own WebGPU path computes; the message is a CPU `assign` job's.
//! - `gpu-warm`: start the device (adapter, device, kernels) and name its adapter: the page's
//!   engine asks it first, so this is the page's one device; the page opens its own only without
//!   a device worker (or beside it on the Benchmarks page, to compare).
//! - `gpu-logits`: the eval-mode logits z = f(x; W) of a run of test images x under a network W,
//!   in one submission (`GpuNetwork::logits`), as the page's own WebGPU path computes them: the
//!   page cuts the images into the same batches (`GPU_JOB_IMAGES`), so the logits equal the page's
//!   bit for bit. The network comes with every job (a restarted worker needs it); the worker
//!   uploads it only when the copy it holds does not serve the job (`job::NetKey`).
//! - `gpu-tune`: chapter 3's fine-tuning work (`glassbox_lab::shift::work`, as a `tune` job packs
//!   it: the tuner's network, its tuned tensors and their values, consecutive units of
//!   `GPU_CHUNK` images) answered on the device by `glassbox_gpu::answer_work`, what the page's
//!   `GpuTuning` computes; the tuned tensors' values after each Adam step are written over the
//!   held copy (the whole network is uploaded again only when its bytes change: batch-norm's
//!   statistics), so the run equals the page's WebGPU run bit for bit.
//! - `gpu-grad`: chapter 5's prompt tuning: one micro-batch's loss and the gradient of its soft
//!   prompt or prefix (the model frozen) on the device (`Gpu::lm_extras_grad`), what the page's
//!   own WebGPU path computes; the message is a CPU `grad` job's (`job::grad_message`).

use super::job::{
    as_extras, assign_reply, assign_request, extras_of, get, grad_reply, images_of, logits_reply,
    micro_batch, network_bytes, number, shipped_lm, tune_reply, tune_request, Fields, NetKey,
};
use glassbox_gpu::{AdapterSummary, Gpu, GpuError, GpuNetwork};
use glassbox_lab::vision::network::Network;
use glassbox_lab::vision::train;
use js_sys::{Array, Object};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// The kind of a logits job on the device.
pub const LOGITS: &str = "gpu-logits";
/// The kind of a fine-tuning job on the device.
pub const TUNE: &str = "gpu-tune";

/// The kind of a k-means assignment pass on the device.
pub const ASSIGN: &str = "gpu-assign";

/// The kind of the job that starts the worker's device and names its adapter.
pub const WARM: &str = "gpu-warm";

/// The kind of a prompt-tuning gradient job on the device.
pub const GRAD: &str = "gpu-grad";

/// Test images per device job: one submission, the batch the page's own WebGPU path uses.
pub const GPU_JOB_IMAGES: usize = 200;

/// A network as parsed and as uploaded (a `tune` job writes its tuned tensors into both).
type OnDevice = (RefCell<Network>, GpuNetwork);

thread_local! {
    static DEVICE: RefCell<Option<Rc<Gpu>>> = const { RefCell::new(None) };
    /// The last network a job brought, parsed and uploaded, with its checksum.
    static NETWORK: RefCell<Option<(NetKey, Rc<OnDevice>)>> = const { RefCell::new(None) };
}

fn lost(why: String) -> JsValue {
    GpuError::DeviceLost(why).to_string().into()
}

/// The worker's device, asked for at the first job.
pub(super) async fn device() -> Result<Rc<Gpu>, JsValue> {
    if let Some(gpu) = started() {
        return match gpu.lost_reason() {
            Some(why) => Err(lost(why)),
            None => Ok(gpu),
        };
    }
    let gpu = Rc::new(
        crate::engine::open_gpu()
            .await
            .map_err(|e| JsValue::from(format!("no WebGPU device in the worker: {e}")))?,
    );
    DEVICE.with(|d| *d.borrow_mut() = Some(gpu.clone()));
    Ok(gpu)
}

/// The worker's device if it has asked for one (and whatever became of it).
pub(super) fn started() -> Option<Rc<Gpu>> {
    DEVICE.with(|d| d.borrow().clone())
}

pub(super) fn gpu_error(e: GpuError) -> JsValue {
    e.to_string().into()
}

/// Wait `ms` in the worker (its global scope's `setTimeout`; a worker has no window).
async fn pause(ms: i32) {
    let global = js_sys::global();
    let Some(set_timeout) = js_sys::Reflect::get(&global, &"setTimeout".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
    else {
        return;
    };
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = set_timeout.call2(&global, &resolve, &ms.into());
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// A device call's result for the page: a failure is the device's loss when the device is lost,
/// whatever the call said (a destroyed device can fail a read-back before its loss is announced,
/// so a failure waits up to 200 ms for the announcement); the page then goes to the CPU instead
/// of restarting the worker.
pub(super) async fn checked<T>(gpu: &Gpu, r: Result<T, GpuError>) -> Result<T, JsValue> {
    let e = match r {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    if matches!(e, GpuError::DeviceLost(_) | GpuError::Invalid(_)) {
        return Err(gpu_error(e));
    }
    for _ in 0..20 {
        if gpu.is_lost() {
            break;
        }
        pause(10).await;
    }
    Err(match gpu.lost_reason() {
        Some(why) => lost(why),
        None => gpu_error(e),
    })
}

/// The network a job brings (`net`, `Network::to_bytes`), parsed and on `gpu`: uploaded only
/// when the copy held does not serve it (`NetKey::serves`).
fn network_on(gpu: &Gpu, msg: &JsValue) -> Result<Rc<OnDevice>, JsValue> {
    let (bytes, key) = network_bytes(msg)?;
    let cached = NETWORK.with(|n| {
        let mut n = n.borrow_mut();
        let (held, g) = n.as_mut()?;
        held.adopt(&key).then(|| g.clone())
    });
    if let Some(g) = cached {
        return Ok(g);
    }
    let net = Network::from_bytes(&bytes.to_vec())?;
    let on_gpu = gpu.upload(&net).map_err(gpu_error)?;
    let g = Rc::new((RefCell::new(net), on_gpu));
    NETWORK.with(|n| *n.borrow_mut() = Some((key, g.clone())));
    Ok(g)
}

pub async fn logits_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let gpu = device().await?;
    let net = network_on(&gpu, msg)?;
    let split = images_of(msg)?;
    let idx: Vec<usize> = (0..split.len()).collect();
    let (x, _) = train::batch(&split, &idx, None);
    let logits = checked(&gpu, net.1.logits(&gpu, &x, idx.len()).await).await?;
    logits_reply(reply, &logits)
}

pub async fn tune_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let gpu = device().await?;
    let net = network_on(&gpu, msg)?;
    let (cpu, on_gpu) = &*net;
    let (tensors, works) = tune_request(msg, &mut cpu.borrow_mut())?;
    let classes = cpu.borrow().classes();
    let written = on_gpu.write_tensors(&gpu, &cpu.borrow(), &tensors);
    checked(&gpu, written).await?;
    let mut answers = Vec::with_capacity(works.len());
    for w in &works {
        let a = glassbox_gpu::answer_work(on_gpu, &gpu, w, &tensors, classes).await;
        answers.push(checked(&gpu, a).await?);
    }
    tune_reply(reply, &answers)
}

pub async fn grad_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let gpu = device().await?;
    let lm = shipped_lm(msg)?;
    let held = extras_of(msg)?;
    let extras = as_extras(&held);
    let mb = micro_batch(msg)?;
    let r = gpu
        .lm_extras_grad(&lm.1, &mb.inputs(extras), &mb.targets())
        .await;
    let (loss, soft, prefix) = checked(&gpu, r).await?;
    let grad = soft.or(prefix).ok_or("the device gave no gradient")?;
    grad_reply(reply, loss, &grad)
}

/// A numbered session the device worker holds (a network being trained, a language model's
/// reading); dropping the handle forgets it there (`release(id)` is the message that does).
pub struct Held {
    id: u32,
    release: fn(u32) -> Result<(Object, Array), JsValue>,
}

thread_local! {
    static NEXT_SESSION: std::cell::Cell<u32> = const { std::cell::Cell::new(1) };
}

/// The numbered sessions a device worker keeps (`device_train`'s networks, `device_lm`'s
/// readings), the one used last at the end; past `max`, the one used least recently is forgotten
/// (its page then finds it gone and carries on without it).
pub(super) struct Sessions<T> {
    max: usize,
    list: Vec<(u32, T)>,
}

impl<T> Sessions<T> {
    pub(super) const fn new(max: usize) -> Sessions<T> {
        Sessions {
            max,
            list: Vec::new(),
        }
    }

    /// Keep `value` as session `id` (in place of one with that number), now the one used last.
    pub(super) fn keep(&mut self, id: u32, value: T) {
        self.forget(id);
        if self.list.len() >= self.max {
            self.list.remove(0);
        }
        self.list.push((id, value));
    }

    /// Take session `id` out (`keep` puts it back).
    pub(super) fn take(&mut self, id: u32) -> Option<T> {
        let at = self.list.iter().position(|(s, _)| *s == id)?;
        Some(self.list.remove(at).1)
    }

    pub(super) fn forget(&mut self, id: u32) {
        self.list.retain(|(s, _)| *s != id);
    }
}

/// A session job's message: its kind and the session's number.
pub(super) fn session_message(kind: &str, id: u32) -> Fields {
    Fields::job(kind).num("session", f64::from(id))
}

/// The session a job names.
pub(super) fn session_of(msg: &JsValue) -> Result<u32, JsValue> {
    get(msg, "session")?
        .as_f64()
        .map(|s| s as u32)
        .ok_or_else(|| "a session's job without its number".into())
}

impl Held {
    pub fn new(release: fn(u32) -> Result<(Object, Array), JsValue>) -> Held {
        let id = NEXT_SESSION.with(|n| n.replace(n.get().wrapping_add(1).max(1)));
        Held { id, release }
    }

    pub fn id(&self) -> u32 {
        self.id
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let (id, release) = (self.id, self.release);
        if let Some(pool) = super::pool::device_pool() {
            leptos::task::spawn_local(async move {
                let _ = pool.one(&|_| release(id)).await;
            });
        }
    }
}

/// Start the device worker's device (adapter, device and kernels, which take seconds on a
/// software rasteriser) and learn its adapter: the page's engine asks this when it chooses its
/// backend. Some(Ok(adapter)); Some(Err(why)) when the worker has no WebGPU; None without a device
/// worker (given up: its notice says why).
pub async fn start() -> Option<Result<AdapterSummary, String>> {
    let pool = super::pool::device_pool()?;
    let message = |_| Fields::job(WARM).message();
    let reply = pool.one(&message).await.ok()?;
    let text = |key: &str| get(&reply, key).ok().and_then(|v| v.as_string());
    let n = |key: &str| number(&reply, key);
    if let Some(why) = text("unavailable") {
        return Some(Err(why));
    }
    let adapter = (|| {
        Some(AdapterSummary {
            name: text("name")?,
            backend: text("backend")?,
            device_type: text("device_type")?,
            driver: text("driver")?,
            max_buffer_size: n("max_buffer_size")? as u64,
            max_storage_buffer_binding_size: n("max_storage_buffer_binding_size")? as u64,
            max_compute_workgroup_storage_size: n("max_compute_workgroup_storage_size")? as u32,
            max_compute_invocations_per_workgroup: n("max_compute_invocations_per_workgroup")?
                as u32,
        })
    })();
    Some(adapter.ok_or_else(|| "the device worker named no adapter".into()))
}

/// Start the device; reply with its adapter, or why there is none (an answer, not a failure: the
/// page then tries its own device).
pub async fn warm_job(reply: &Object) -> Result<Array, JsValue> {
    let gpu = match device().await {
        Ok(gpu) => gpu,
        Err(why) => {
            return Fields::on(reply).value("unavailable", &why).reply();
        }
    };
    let a = &gpu.info;
    let mut fields = Fields::on(reply);
    for (key, text) in [
        ("name", &a.name),
        ("backend", &a.backend),
        ("device_type", &a.device_type),
        ("driver", &a.driver),
    ] {
        fields = fields.value(key, &text.as_str().into());
    }
    for (key, n) in [
        ("max_buffer_size", a.max_buffer_size as f64),
        (
            "max_storage_buffer_binding_size",
            a.max_storage_buffer_binding_size as f64,
        ),
        (
            "max_compute_workgroup_storage_size",
            a.max_compute_workgroup_storage_size as f64,
        ),
        (
            "max_compute_invocations_per_workgroup",
            a.max_compute_invocations_per_workgroup as f64,
        ),
    ] {
        fields = fields.num(key, n);
    }
    fields.reply()
}

pub async fn assign_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let gpu = device().await?;
    let (x, c) = assign_request(msg)?;
    let a = checked(&gpu, gpu.kmeans_assign(&x, &c).await).await?;
    assign_reply(reply, &a)
}
