//! What a worker computes. A job is a message `{id, kind, …}` and its reply `{id, …}`, buffers
//! transferred, not copied.
//!
//! - `logits`: the eval-mode logits z = f(x; W) of a run of test images x under a network W, in
//!   forward passes of `EVAL_BATCH` images (`train::logits`). A job's images start at a multiple of
//!   `EVAL_BATCH` in the page's split, so each image is computed in the same batch as on the page's
//!   thread, and the logits equal the single-thread run's bit for bit. The page sends the network's
//!   bytes (`Network::to_bytes`) with every job (a copy of about a megabyte); a worker parses them
//!   only when the copy it holds does not serve the job (`NetKey`: the bytes' last 8, the file's
//!   own checksum, differ, or a `tune` job overwrote some of its tensors).
//! - `plurals`: the greedy continuations of a list of prompts under one of the shipped language
//!   models, after a trained soft prompt or prefix when the job brings one (`tuning::Evaluator`:
//!   without one it equals `pluralize::generator` run by `sample::complete`, what the page's CPU
//!   path computes for each prompt alone): the tokens and their probabilities, which the page
//!   decodes and scores. The model's file comes with every job; a worker checks and parses it when
//!   it names another file than the last.
//! - `grad`: the loss of one micro-batch of prompt tuning under a shipped model and the gradient of
//!   its soft prompt or prefix (`tuning::extras_gradient`, what the page's CPU path computes); the
//!   page sends a batch's micro-batches at once (they read the same prompt) and takes the
//!   gradients in order, so the training equals the page's own run bit for bit. `loss`: the same
//!   micro-batch's loss alone (an epoch's starting loss, its groups computed at once; or chapter 5's
//!   held-out loss, a window a job, every position weighted 1). A job that
//!   brings the model's weights (full fine-tuning: the page's copy after its last Adam step) runs
//!   on those, and `grad` then gives their gradient (`tuning::weights_gradient`); `plurals` jobs
//!   can bring them too (a fully fine-tuned model's answers).
//! - `step`: one training step's forward and backward pass of the image network on a batch
//!   (`StepJob`, batch-norm in training mode, which updates the running statistics): the batch's
//!   loss, how many it classified right, the gradients (`Grads::flat`) and the network after the
//!   pass (its new running statistics). The page applies the update (SGD, masks, codebooks), so the
//!   run equals the page's own bit for bit. A step is one job: batch-norm's statistics couple a
//!   batch's images, so it is not split across workers.
//! - `assign`: a k-means assignment pass over a run of weights (`kmeans::assign`: each weight's
//!   nearest centroid, the lowest index on ties); the page concatenates the runs and updates the
//!   centroids itself, so the codebooks equal the single thread's.
//! - `tune`: chapter 3's fine-tuning work (`glassbox_lab::shift::work`): consecutive units that
//!   need no answer before them (a set's frozen prefixes or counts, a batch's gradient chunks of
//!   `CHUNK` images), packed, under the tuner's network (its bytes made again only when it changed
//!   outside the tuned tensors, `Tuner::frozen_version`) with the tuned tensors' current values
//!   written over it; the answers come back packed (each whole group of gradient chunks as one
//!   sum, `work::compute_all`) and the page gives them to the tuner in order, so the run equals
//!   the page's own bit for bit.
//! - `attention-time`: chapter 2's CPU attention timing (`device_ops::cpu_attention_time_job`).
//! - `maml-sweep`, `maml-train`: one entry of a chapter 1 evaluation curve, a run of its
//!   meta-training steps (`super::maml`).

use super::{device_lm, device_ops, device_train};
use glassbox_lab::lm::shipped::{self, Checkpoint};
use glassbox_lab::lm::tuning::{self, Evaluator, MicroBatch};
use glassbox_lab::lm::{Extras, Model, Vocab};
use glassbox_lab::shift::blocks::scatter;
use glassbox_lab::shift::work::{compute_all, Answer, Packed, PackedAnswers, Work};
use glassbox_lab::shift::Tensor;
use glassbox_lab::vision::data::Split;
use glassbox_lab::vision::network::{Grads, Network, StepJob};
use glassbox_lab::vision::train;
use js_sys::{Array, Float32Array, Float64Array, Object, Reflect, Uint32Array, Uint8Array};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// A message or a reply as it is built: its fields, and the buffers of its typed arrays, which go
/// with it transferred, not copied. Setting a field of a plain object cannot fail, so nothing here
/// reports an error.
pub struct Fields {
    obj: Object,
    transfer: Array,
}

impl Fields {
    /// A job's message of `kind`.
    pub fn job(kind: &str) -> Fields {
        Fields::on(&Object::new()).value("kind", &kind.into())
    }

    /// More fields of `obj` (a reply).
    pub fn on(obj: &Object) -> Fields {
        Fields {
            obj: obj.clone(),
            transfer: Array::new(),
        }
    }

    pub fn value(self, key: &str, v: &JsValue) -> Fields {
        let _ = Reflect::set(&self.obj, &key.into(), v);
        self
    }

    pub fn num(self, key: &str, v: f64) -> Fields {
        self.value(key, &v.into())
    }

    fn typed_array(self, key: &str, a: &JsValue, buffer: &JsValue) -> Fields {
        self.transfer.push(buffer);
        self.value(key, a)
    }

    pub fn f32s(self, key: &str, v: &[f32]) -> Fields {
        let a = Float32Array::from(v);
        self.typed_array(key, &a, &a.buffer())
    }

    pub fn f64s(self, key: &str, v: &[f64]) -> Fields {
        let a = Float64Array::from(v);
        self.typed_array(key, &a, &a.buffer())
    }

    pub fn u32s(self, key: &str, v: &[u32]) -> Fields {
        let a = Uint32Array::from(v);
        self.typed_array(key, &a, &a.buffer())
    }

    pub fn bytes(self, key: &str, v: &[u8]) -> Fields {
        let a = Uint8Array::from(v);
        self.typed_array(key, &a, &a.buffer())
    }

    /// `f32s` when there is a value.
    pub fn some_f32s(self, key: &str, v: Option<&[f32]>) -> Fields {
        match v {
            Some(v) => self.f32s(key, v),
            None => self,
        }
    }

    /// The message and its buffers, as `Pool::run` takes them.
    pub fn message(self) -> Result<(Object, Array), JsValue> {
        Ok((self.obj, self.transfer))
    }

    /// A reply's buffers (its fields are on the reply).
    pub fn reply(self) -> Result<Array, JsValue> {
        Ok(self.transfer)
    }
}

pub(super) fn get(o: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    Reflect::get(o, &key.into())
}

/// The value under `key` as a `T` (a typed array), if it is one.
pub(super) fn typed<T: JsCast>(o: &JsValue, key: &str) -> Option<T> {
    get(o, key).ok()?.dyn_into::<T>().ok()
}

/// The number under `key`, if it is one.
pub(super) fn number(o: &JsValue, key: &str) -> Option<f64> {
    get(o, key).ok()?.as_f64()
}

/// The message of a `logits` job under a network's bytes (`Network::to_bytes`) over `images`
/// (whole 28 x 28 images, bytes) and the buffers it transfers; `on_device`: the device worker's
/// job (`super::device`), the same logits computed on its WebGPU device.
pub fn logits_message(
    on_device: bool,
    net: &[u8],
    images: &[u8],
) -> Result<(Object, Array), JsValue> {
    let kind = if on_device {
        super::device::LOGITS
    } else {
        "logits"
    };
    Fields::job(kind)
        .bytes("net", net)
        .bytes("images", images)
        .message()
}

/// The logits of a `logits` job's reply.
pub fn logits_of(reply: &JsValue) -> Result<Vec<f32>, String> {
    typed::<Float32Array>(reply, "logits")
        .map(|a| a.to_vec())
        .ok_or_else(|| "a worker's reply had no logits".to_string())
}

thread_local! {
    /// The last network a job brought, parsed, under its key.
    static NETWORK: RefCell<Option<(NetKey, Network)>> = const { RefCell::new(None) };
}

/// What a worker's parsed copy of a network holds: the bytes it was parsed from, by their
/// checksum (their last 8), and the tensors that `tune` jobs have overwritten since (codes).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct NetKey {
    checksum: Vec<u8>,
    tuned: Vec<u32>,
}

impl NetKey {
    /// Whether a copy held under this key serves a job under `want`: parsed from the same bytes,
    /// and untouched or overwritten in exactly the tensors the job writes again.
    pub(super) fn serves(&self, want: &NetKey) -> bool {
        self.checksum == want.checksum && (self.tuned.is_empty() || self.tuned == want.tuned)
    }

    /// `serves`, and when it does, this key becomes `want` (the job is about to overwrite
    /// `want`'s tensors in the held copy): what each worker's cache of a network asks.
    pub(super) fn adopt(&mut self, want: &NetKey) -> bool {
        let serves = self.serves(want);
        if serves {
            self.clone_from(want);
        }
        serves
    }
}

/// `f` over the network a job brings (`net`, `Network::to_bytes`), parsed only when the copy
/// held does not serve it (`NetKey::serves`).
fn with_network<T>(
    msg: &JsValue,
    f: impl FnOnce(&mut Network) -> Result<T, JsValue>,
) -> Result<T, JsValue> {
    let (net, key) = network_bytes(msg)?;
    NETWORK.with(|cell| {
        let mut cell = cell.borrow_mut();
        if !cell.as_mut().is_some_and(|(held, _)| held.adopt(&key)) {
            *cell = Some((key, Network::from_bytes(&net.to_vec())?));
        }
        let (_, net) = cell.as_mut().expect("set above");
        f(net)
    })
}

/// A job's network bytes (`net`) and their key: their checksum (the file's last 8 bytes) and
/// the tensors the job overwrites (a `tune` job's `tensors`; none for other jobs).
pub(super) fn network_bytes(msg: &JsValue) -> Result<(Uint8Array, NetKey), JsValue> {
    let net = typed::<Uint8Array>(msg, "net").ok_or("a job without a network")?;
    let len = net.length();
    if len < 8 {
        return Err("a job's network is too short".into());
    }
    let key = NetKey {
        checksum: net.subarray(len - 8, len).to_vec(),
        tuned: typed::<Uint32Array>(msg, "tensors")
            .map(|a| a.to_vec())
            .unwrap_or_default(),
    };
    Ok((net, key))
}

/// A logits job's images (`images`, whole 28 x 28 images) as a split without labels.
pub(super) fn images_of(msg: &JsValue) -> Result<Split, JsValue> {
    let images = typed::<Uint8Array>(msg, "images")
        .ok_or("a job without images")?
        .to_vec();
    let side = glassbox_lab::vision::data::SIDE;
    let count = images.len() / (side * side);
    Ok(Split {
        images,
        labels: vec![0; count],
    })
}

/// A logits job's reply.
pub(super) fn logits_reply(reply: &Object, logits: &[f32]) -> Result<Array, JsValue> {
    Fields::on(reply).f32s("logits", logits).reply()
}

fn logits_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let split = images_of(msg)?;
    let count = split.len();
    let logits = with_network(msg, |net| Ok(train::logits(net, &split, 0..count)))?;
    logits_reply(reply, &logits)
}

/// The message of a `plurals` job: the model's file name and bytes (`LoadedLm::bytes`), the
/// trained soft prompt or prefix the prompts follow (if any), and the prompts.
pub fn plurals_message(
    lm: &JobLm,
    extras: Extras,
    prompts: &[&str],
) -> Result<(Object, Array), JsValue> {
    let list = Array::new();
    for p in prompts {
        list.push(&(*p).into());
    }
    with_lm_fields(Fields::job("plurals"), lm, extras)
        .value("prompts", &list)
        .message()
}

/// A greedy continuation: its tokens and each one's probability.
pub type Continuation = (Vec<u32>, Vec<f32>);

/// The continuations of a `plurals` job's reply, in its prompts' order.
pub fn plurals_of(reply: &JsValue) -> Result<Vec<Continuation>, String> {
    let bad = || "a worker's reply had no continuations".to_string();
    let tokens = typed::<Uint32Array>(reply, "tokens")
        .ok_or_else(bad)?
        .to_vec();
    let probs = typed::<Float32Array>(reply, "probs")
        .ok_or_else(bad)?
        .to_vec();
    let lens = typed::<Uint32Array>(reply, "lens")
        .ok_or_else(bad)?
        .to_vec();
    if tokens.len() != probs.len()
        || lens.iter().map(|&n| n as usize).sum::<usize>() != tokens.len()
    {
        return Err("a worker's continuations do not add up".into());
    }
    let mut at = 0;
    Ok(lens
        .iter()
        .map(|&n| {
            let (a, b) = (at, at + n as usize);
            at = b;
            (tokens[a..b].to_vec(), probs[a..b].to_vec())
        })
        .collect())
}

/// The language model a job runs: a shipped model's file name and bytes (`LoadedLm::bytes`), its
/// weights replaced by `weights` when given (a fully fine-tuned copy).
pub struct JobLm<'a> {
    pub file: &'a str,
    pub bytes: &'a [u8],
    pub weights: Option<&'a [f32]>,
}

/// A shipped language model as a worker holds it: its file name, model and vocabulary.
pub(super) type HeldLm = Rc<(String, Model, Vocab)>;

thread_local! {
    /// The last language model a job brought.
    static LM: RefCell<Option<HeldLm>> = const { RefCell::new(None) };
    /// A copy of it that takes the weights of jobs that bring their own.
    static TUNED: RefCell<Option<(String, Model)>> = const { RefCell::new(None) };
}

fn checkpoint(file: &str) -> Result<&'static Checkpoint, JsValue> {
    [&shipped::STANDARD, &shipped::SMALL]
        .into_iter()
        .find(|c| c.file == file)
        .ok_or_else(|| format!("no shipped model is called '{file}'").into())
}

/// The shipped language model a job names (its `file` and, when the worker does not hold that
/// model yet, its bytes `lm`, checked).
pub(super) fn shipped_lm(msg: &JsValue) -> Result<HeldLm, JsValue> {
    let file = get(msg, "file")?
        .as_string()
        .ok_or("a job without a model's name")?;
    if let Some(held) = LM.with_borrow(|l| l.clone().filter(|l| l.0 == file)) {
        return Ok(held);
    }
    let bytes = typed::<Uint8Array>(msg, "lm")
        .ok_or("a job without the model's file")?
        .to_vec();
    let (model, vocab) = checkpoint(&file)?.check(&bytes)?;
    let held = Rc::new((file, model, vocab));
    LM.with_borrow_mut(|l| *l = Some(held.clone()));
    Ok(held)
}

/// A job's soft prompt and prefix (`soft`, `prefix`), each if it brings one.
pub(super) type HeldExtras = (Option<Vec<f32>>, Option<Vec<f32>>);

pub(super) fn extras_of(msg: &JsValue) -> Result<HeldExtras, JsValue> {
    Ok((floats(msg, "soft")?, floats(msg, "prefix")?))
}

/// Held extras as the model reads them.
pub(super) fn as_extras(held: &HeldExtras) -> Extras<'_> {
    Extras {
        soft: held.0.as_deref(),
        prefix: held.1.as_deref(),
    }
}

/// `f` of the language model a job names (`shipped_lm`; with the job's `params` in place of the
/// file's when it brings them) and the job's soft prompt or prefix.
fn with_lm<T>(
    msg: &JsValue,
    f: impl FnOnce(&Model, &Vocab, Extras) -> Result<T, JsValue>,
) -> Result<T, JsValue> {
    let held = shipped_lm(msg)?;
    let (file, model, vocab) = &*held;
    let held_extras = extras_of(msg)?;
    let extras = as_extras(&held_extras);
    let Some(weights) = floats(msg, "params")? else {
        return f(model, vocab, extras);
    };
    if weights.len() != model.params.len() {
        return Err(format!(
            "{} weights for a model of {}",
            weights.len(),
            model.params.len()
        )
        .into());
    }
    TUNED.with(|tuned| {
        let mut tuned = tuned.borrow_mut();
        if tuned.as_ref().map(|(f, _)| f != file).unwrap_or(true) {
            *tuned = Some((file.clone(), model.clone()));
        }
        let (_, copy) = tuned.as_mut().expect("set above");
        copy.params.copy_from_slice(&weights);
        f(copy, vocab, extras)
    })
}

/// The numbers under `key`, if the message has them.
pub(super) fn floats(msg: &JsValue, key: &str) -> Result<Option<Vec<f32>>, JsValue> {
    let v = get(msg, key)?;
    if v.is_undefined() {
        return Ok(None);
    }
    let a = v
        .dyn_into::<Float32Array>()
        .map_err(|_| format!("'{key}' is not numbers"))?;
    Ok(Some(a.to_vec()))
}

/// The whole numbers under `key`.
fn whole(msg: &JsValue, key: &str) -> Result<Vec<u32>, JsValue> {
    typed::<Uint32Array>(msg, key)
        .map(|a| a.to_vec())
        .ok_or_else(|| format!("'{key}' is not whole numbers").into())
}

/// A job's language model and extras: its file name and bytes, its own weights if any, and the
/// soft prompt or prefix.
pub(super) fn with_lm_fields(fields: Fields, lm: &JobLm, extras: Extras) -> Fields {
    fields
        .value("file", &lm.file.into())
        .bytes("lm", lm.bytes)
        .some_f32s("soft", extras.soft)
        .some_f32s("prefix", extras.prefix)
        .some_f32s("params", lm.weights)
}

fn plurals_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let prompts: Vec<String> = get(msg, "prompts")?
        .dyn_into::<Array>()
        .map_err(|_| "a job without prompts")?
        .iter()
        .map(|p| p.as_string().ok_or("a prompt that is not text"))
        .collect::<Result<_, _>>()?;
    let (mut tokens, mut probs, mut lens) = (Vec::new(), Vec::new(), Vec::new());
    with_lm(msg, |model, vocab, extras| {
        let eval = Evaluator::new(model, vocab, extras)?;
        for p in &prompts {
            let (t, q) = eval.continuation(p)?;
            lens.push(t.len() as u32);
            tokens.extend(t);
            probs.extend(q);
        }
        Ok(())
    })?;
    Fields::on(reply)
        .u32s("tokens", &tokens)
        .f32s("probs", &probs)
        .u32s("lens", &lens)
        .reply()
}

/// What a `grad_message` asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum GradJob {
    /// The loss alone (a `loss` job).
    Loss,
    /// The loss and the gradient (a `grad` job).
    Grad,
    /// The loss and the soft prompt's or prefix's gradient on the device worker's GPU
    /// (`super::device`'s `gpu-grad`).
    DeviceGrad,
}

/// The message of a `grad`, `loss` or `gpu-grad` job: the model (as `plurals_message`; with its
/// own weights, full fine-tuning's gradient of them), the soft prompt or prefix being trained,
/// and one micro-batch.
pub fn grad_message(
    lm: &JobLm,
    extras: Extras,
    mb: &MicroBatch,
    job: GradJob,
) -> Result<(Object, Array), JsValue> {
    let kind = match job {
        GradJob::Loss => "loss",
        GradJob::Grad => "grad",
        GradJob::DeviceGrad => super::device::GRAD,
    };
    with_lm_fields(Fields::job(kind), lm, extras)
        .u32s("tokens", &mb.tokens)
        .u32s("targets", &mb.targets)
        .f32s("weights", &mb.weights)
        .num("batch", mb.batch as f64)
        .num("t", mb.t as f64)
        .message()
}

/// The loss and gradient of a `grad` job's reply.
pub fn grad_of(reply: &JsValue) -> Result<(f32, Vec<f32>), String> {
    match (number(reply, "loss"), typed::<Float32Array>(reply, "grad")) {
        (Some(l), Some(g)) => Ok((l as f32, g.to_vec())),
        _ => Err("a worker's reply had no gradient".into()),
    }
}

/// The loss of a `loss` job's reply.
pub fn loss_of(reply: &JsValue) -> Result<f32, String> {
    number(reply, "loss")
        .map(|l| l as f32)
        .ok_or_else(|| "a worker's reply had no loss".into())
}

/// A `grad` or `loss` job's micro-batch.
pub(super) fn micro_batch(msg: &JsValue) -> Result<MicroBatch, JsValue> {
    let count = |key| -> Result<usize, JsValue> {
        number(msg, key)
            .map(|v| v as usize)
            .ok_or_else(|| format!("a job without '{key}'").into())
    };
    Ok(MicroBatch {
        tokens: whole(msg, "tokens")?,
        targets: whole(msg, "targets")?,
        weights: floats(msg, "weights")?.ok_or("a job without loss weights")?,
        batch: count("batch")?,
        t: count("t")?,
    })
}

/// A `grad` job's reply.
pub(super) fn grad_reply(reply: &Object, loss: f32, grad: &[f32]) -> Result<Array, JsValue> {
    Fields::on(reply)
        .num("loss", f64::from(loss))
        .f32s("grad", grad)
        .reply()
}

fn grad_job(msg: &JsValue, reply: &Object, loss_only: bool) -> Result<Array, JsValue> {
    let mb = micro_batch(msg)?;
    if loss_only {
        let loss = with_lm(msg, |model, _, extras| {
            Ok(model.loss_with(&mb.inputs(extras), &mb.targets())?)
        })?;
        return Fields::on(reply).num("loss", f64::from(loss)).reply();
    }
    // A job with the model's own weights trains them (full fine-tuning), else its extras.
    let full = !get(msg, "params")?.is_undefined();
    let (loss, grad) = with_lm(msg, |model, _, extras| match full {
        true => Ok(tuning::weights_gradient(model, &mb)?),
        false => Ok(tuning::extras_gradient(model, extras, &mb)?),
    })?;
    grad_reply(reply, loss, &grad)
}

/// The message of a `step` job: the network's bytes (`Network::to_bytes`) and a batch (N x C x S x S
/// floats and N labels).
pub fn step_message(net: &[u8], x: &[f32], labels: &[u32]) -> Result<(Object, Array), JsValue> {
    Fields::job("step")
        .bytes("net", net)
        .f32s("x", x)
        .u32s("labels", labels)
        .message()
}

/// A `step` job's answer.
pub struct Stepped {
    pub loss: f32,
    pub correct: usize,
    pub grads: Grads,
    /// The network after the forward pass (the step's batch-norm running statistics).
    pub net: Network,
}

/// The answer of a `step` job's reply.
pub fn step_of(reply: &JsValue) -> Result<Stepped, String> {
    let bad = |what: &str| format!("a worker's training step had no {what}");
    let net = typed::<Uint8Array>(reply, "net").ok_or_else(|| bad("network"))?;
    let net = Network::from_bytes(&net.to_vec())?;
    let grads = typed::<Float32Array>(reply, "grads").ok_or_else(|| bad("gradients"))?;
    Ok(Stepped {
        loss: number(reply, "loss").ok_or_else(|| bad("loss"))? as f32,
        correct: number(reply, "correct").ok_or_else(|| bad("count"))? as usize,
        grads: Grads::from_flat(&net, &grads.to_vec())?,
        net,
    })
}

fn step_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let net = typed::<Uint8Array>(msg, "net").ok_or("a training step without a network")?;
    let mut net = Network::from_bytes(&net.to_vec())?;
    let x = floats(msg, "x")?.ok_or("a training step without images")?;
    let labels = whole(msg, "labels")?;
    let pixels = net.arch.in_channels * net.arch.size * net.arch.size;
    if labels.is_empty() || x.len() != labels.len() * pixels {
        return Err("a training step's images do not match its labels".into());
    }
    if labels.iter().any(|&l| l as usize >= net.classes()) {
        return Err("a training step's label is not a class".into());
    }
    let mut job = StepJob::new(x, labels);
    while !job.done() {
        job.advance(&mut net);
    }
    let correct = job.correct();
    let (loss, grads) = job.finish();
    Fields::on(reply)
        .num("loss", f64::from(loss))
        .num("correct", correct as f64)
        .f32s("grads", &grads.flat())
        .bytes("net", &net.to_bytes())
        .reply()
}

/// The message of a `tune` job: the tuner's network (`Network::to_bytes`, taken at its frozen
/// version), its tuned tensors with their values now (`blocks::gather`) and consecutive works of
/// one kind, packed; `on_device`: the device worker's job (`super::device`).
pub fn tune_message(
    on_device: bool,
    net: &[u8],
    tensors: &[Tensor],
    tuned: &[f32],
    works: &Packed,
) -> Result<(Object, Array), JsValue> {
    let codes: Vec<u32> = tensors.iter().map(|t| t.code()).collect();
    let kind = if on_device {
        super::device::TUNE
    } else {
        "tune"
    };
    Fields::job(kind)
        .bytes("net", net)
        .u32s("tensors", &codes)
        .f32s("tuned", tuned)
        .num("work", works.kind as f64)
        .num("first", works.first as f64)
        .num("batch", works.batch as f64)
        .num("pos", works.pos as f64)
        .u32s("sizes", &works.sizes)
        .f32s("data", &works.data)
        .u32s("labels", &works.labels)
        .message()
}

/// The answers of a `tune` job's reply to `works` works of `kind` for `tensors` tensors.
pub fn tune_of(
    reply: &JsValue,
    kind: u32,
    works: usize,
    tensors: usize,
) -> Result<Vec<Answer>, String> {
    let (Some(numbers), Some(floats), Some(lens)) = (
        typed::<Float64Array>(reply, "numbers"),
        typed::<Float32Array>(reply, "floats"),
        typed::<Uint32Array>(reply, "lens"),
    ) else {
        return Err("a worker's fine-tuning reply had no answers".into());
    };
    PackedAnswers {
        numbers: numbers.to_vec(),
        floats: floats.to_vec(),
        lens: lens.to_vec(),
    }
    .answers(kind, works, tensors)
}

fn tune_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let answers = with_network(msg, |net| {
        let (tensors, works) = tune_request(msg, net)?;
        Ok(compute_all(net, &tensors, &works))
    })?;
    tune_reply(reply, &answers)
}

/// A `tune` job's tuned tensors and works, checked against the network `net` they run on, and
/// the tensors' values written into `net` (which may hold another job's).
pub(super) fn tune_request(
    msg: &JsValue,
    net: &mut Network,
) -> Result<(Vec<Tensor>, Vec<Work>), JsValue> {
    let codes = typed::<Uint32Array>(msg, "tensors")
        .ok_or("a fine-tuning job without tensors")?
        .to_vec();
    let packed = Packed {
        kind: number(msg, "work").ok_or("a fine-tuning job without a kind")? as u32,
        first: number(msg, "first").ok_or("a fine-tuning job without its layer")? as usize,
        batch: number(msg, "batch").unwrap_or(0.0) as usize,
        pos: number(msg, "pos").unwrap_or(0.0) as usize,
        sizes: whole(msg, "sizes")?,
        data: floats(msg, "data")?.ok_or("a fine-tuning job without inputs")?,
        labels: whole(msg, "labels")?,
    };
    let convs = net.blocks.len();
    if packed.first > convs {
        return Err(format!("a fine-tuning job from layer {}", packed.first).into());
    }
    if packed.labels.iter().any(|&l| l as usize >= net.classes()) {
        return Err("a fine-tuning job's label is not a class".into());
    }
    let tensors = codes
        .iter()
        .map(|&c| Tensor::from_code(c, convs))
        .collect::<Result<Vec<_>, _>>()?;
    let tuned = floats(msg, "tuned")?.ok_or("a fine-tuning job without its tensors' values")?;
    scatter(net, &tensors, &tuned)?;
    Ok((tensors, packed.works()?))
}

/// A `tune` job's reply: its answers, packed.
pub(super) fn tune_reply(reply: &Object, answers: &[Answer]) -> Result<Array, JsValue> {
    let p = PackedAnswers::new(answers);
    Fields::on(reply)
        .f64s("numbers", &p.numbers)
        .f32s("floats", &p.floats)
        .u32s("lens", &p.lens)
        .reply()
}

/// The message of an `assign` job: weights and the current centroids; `on_device`: the device
/// worker's job (`super::device`), the same assignment on its WebGPU device.
pub fn assign_message(
    on_device: bool,
    x: &[f32],
    centroids: &[f32],
) -> Result<(Object, Array), JsValue> {
    let kind = if on_device {
        super::device::ASSIGN
    } else {
        "assign"
    };
    Fields::job(kind)
        .f32s("x", x)
        .f32s("centroids", centroids)
        .message()
}

/// The assignment of an `assign` job's reply.
pub fn assign_of(reply: &JsValue) -> Result<Vec<u32>, String> {
    typed::<Uint32Array>(reply, "assignment")
        .map(|a| a.to_vec())
        .ok_or_else(|| "a worker's reply had no assignment".into())
}

/// An `assign` job's weights and centroids.
pub(super) fn assign_request(msg: &JsValue) -> Result<(Vec<f32>, Vec<f32>), JsValue> {
    let x = floats(msg, "x")?.ok_or("an assignment without weights")?;
    let c = floats(msg, "centroids")?.ok_or("an assignment without centroids")?;
    if c.is_empty() {
        return Err("an assignment without centroids".into());
    }
    Ok((x, c))
}

/// An `assign` job's reply.
pub(super) fn assign_reply(reply: &Object, assignment: &[u32]) -> Result<Array, JsValue> {
    Fields::on(reply).u32s("assignment", assignment).reply()
}

fn assign_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let (x, c) = assign_request(msg)?;
    assign_reply(reply, &glassbox_lab::compress::kmeans::assign(&x, &c))
}

/// The worker's entry point (called by assets/glassbox-worker.js for every job message): the
/// reply and the list of buffers to transfer with it. Jobs on the device (`super::device`) wait
/// for it; the others compute at once.
#[wasm_bindgen]
pub async fn glassbox_worker_job(msg: JsValue) -> Result<Array, JsValue> {
    let reply = Object::new();
    Fields::on(&reply).value("id", &get(&msg, "id")?);
    let kind = get(&msg, "kind")?.as_string().unwrap_or_default();
    let transfer = match kind.as_str() {
        "logits" => logits_job(&msg, &reply)?,
        "plurals" => plurals_job(&msg, &reply)?,
        "step" => step_job(&msg, &reply)?,
        "grad" => grad_job(&msg, &reply, false)?,
        "loss" => grad_job(&msg, &reply, true)?,
        "tune" => tune_job(&msg, &reply)?,
        "assign" => assign_job(&msg, &reply)?,
        super::maml::SWEEP => super::maml::sweep_job(&msg, &reply)?,
        super::maml::TRAIN => super::maml::train_job(&msg, &reply)?,
        device_ops::CPU_ATTENTION_TIME => device_ops::cpu_attention_time_job(&msg, &reply)?,
        super::device::LOGITS => super::device::logits_job(&msg, &reply).await?,
        super::device::TUNE => super::device::tune_job(&msg, &reply).await?,
        super::device::GRAD => super::device::grad_job(&msg, &reply).await?,
        super::device::WARM => super::device::warm_job(&reply).await?,
        super::device::ASSIGN => super::device::assign_job(&msg, &reply).await?,
        device_ops::ATTENTION => device_ops::attention_job(&msg, &reply).await?,
        device_ops::KERNEL => device_ops::kernel_job(&msg, &reply).await?,
        device_ops::SELFTEST => device_ops::selftest_job(&reply).await?,
        device_ops::LATENCY => device_ops::latency_job(&msg, &reply).await?,
        device_ops::LOSE => device_ops::lose_job()?,
        device_train::OPEN => device_train::open_job(&msg, &reply).await?,
        device_train::STEP => device_train::step_job(&msg, &reply).await?,
        device_train::WEIGHTS => device_train::weights_job(&msg, &reply).await?,
        device_train::RELEASE => device_train::release_job(&msg)?,
        device_lm::OPEN => device_lm::open_job(&msg).await?,
        device_lm::FEED => device_lm::feed_job(&msg, &reply).await?,
        device_lm::CLOSE => device_lm::close_job(&msg)?,
        other => return Err(format!("unknown job kind '{other}'").into()),
    };
    Ok(Array::of2(&reply, &transfer))
}

#[cfg(test)]
mod tests {
    use super::NetKey;

    #[test]
    fn a_held_network_serves_only_jobs_that_rewrite_what_was_overwritten() {
        let key = |sum: u8, tuned: &[u32]| NetKey {
            checksum: vec![sum; 8],
            tuned: tuned.to_vec(),
        };
        // Untouched: serves every job on the same bytes, none on others.
        assert!(key(1, &[]).serves(&key(1, &[])));
        assert!(key(1, &[]).serves(&key(1, &[2, 3])));
        assert!(!key(1, &[]).serves(&key(2, &[])));
        // Overwritten in block 1's tensors: only a job that writes those again.
        assert!(key(1, &[2, 3]).serves(&key(1, &[2, 3])));
        // A copy that serves a tune job takes its key; one that does not keeps its own.
        let mut held = key(1, &[]);
        assert!(held.adopt(&key(1, &[2, 3])));
        assert_eq!(held, key(1, &[2, 3]));
        assert!(!held.adopt(&key(1, &[])));
        assert_eq!(held, key(1, &[2, 3]));
        assert!(!key(1, &[2, 3]).serves(&key(1, &[])));
        assert!(!key(1, &[2, 3]).serves(&key(1, &[11, 12])));
        assert!(!key(1, &[2, 3]).serves(&key(2, &[2, 3])));
    }
}
