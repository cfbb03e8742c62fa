//! Chapter 1's jobs.
//! - `maml-sweep`: one entry of an evaluation curve (`SweepJob::entry`): at n_train_post = ns[i],
//!   each test task's fit under a weighting of the features and its test error. A worker keeps the
//!   last settings' evaluation context (test tasks, test points, the test Gram matrix), so it
//!   prepares it once per curve's settings; the page joins the entries in order
//!   (`Curve::from_entries`), which equals its own sliced run to the bit.
//! - `maml-train`: a run of meta-training steps from the trainer's state the page sends
//!   (`MetaTrainer::run_until`); the page takes the state it ends at (`MetaTrainer::take`), the
//!   same weights to the bit as stepping itself.

use super::job::{get, number, typed, Fields};
use glassbox_lab::maml::{EvalContext, MamlSettings, MetaTrainer, Run, SweepJob, Weighting};
use js_sys::{Array, Float64Array, Object};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

pub const SWEEP: &str = "maml-sweep";
pub const TRAIN: &str = "maml-train";

/// The message of a `maml-sweep` job: entry `entry` of the curve of `weighting` under the
/// settings `settings` (`MamlSettings::to_numbers`).
pub fn sweep_message(
    settings: &[f64],
    weighting: &Weighting,
    entry: usize,
) -> Result<(Object, Array), JsValue> {
    let msg = Fields::job(SWEEP)
        .f64s("settings", settings)
        .num("entry", entry as f64);
    let (msg, name) = match weighting {
        Weighting::Ones => (msg, "ones"),
        Weighting::Oracle => (msg, "oracle"),
        Weighting::Weights(c) => (msg.f64s("weights", &c.to_vec()), "weights"),
    };
    msg.value("weighting", &name.into()).message()
}

/// The entry's values (one per test task) of a `maml-sweep` job's reply.
pub fn sweep_of(reply: &JsValue) -> Result<Vec<f64>, String> {
    typed::<Float64Array>(reply, "values")
        .map(|a| a.to_vec())
        .ok_or_else(|| "a worker's reply had no sweep values".into())
}

thread_local! {
    /// The last job's settings (as numbers) and their evaluation context.
    static CONTEXT: RefCell<Option<(Vec<f64>, EvalContext)>> = const { RefCell::new(None) };
}

pub(super) fn sweep_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let numbers = typed::<Float64Array>(msg, "settings")
        .ok_or("a sweep job without settings")?
        .to_vec();
    let entry = get(msg, "entry")?
        .as_f64()
        .ok_or("a sweep job without an entry")? as usize;
    let weighting = match get(msg, "weighting")?.as_string().as_deref() {
        Some("ones") => Weighting::Ones,
        Some("oracle") => Weighting::Oracle,
        Some("weights") => Weighting::Weights(
            typed::<Float64Array>(msg, "weights")
                .ok_or("a sweep job without its weights")?
                .to_vec()
                .into(),
        ),
        _ => return Err("a sweep job without a weighting".into()),
    };
    let values = CONTEXT.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().map(|(n, _)| n != &numbers).unwrap_or(true) {
            let settings = MamlSettings::from_numbers(&numbers)?;
            *cell = Some((numbers, EvalContext::new(settings)?));
        }
        let (_, ctx) = cell.as_mut().expect("set above");
        if let Weighting::Weights(c) = &weighting {
            if c.len() != ctx.settings.d {
                return Err(format!("{} weights for d = {}", c.len(), ctx.settings.d));
            }
        }
        SweepJob::entry(weighting, ctx, entry)
    })?;
    Fields::on(reply).f64s("values", &values).reply()
}

/// The message of a `maml-train` job: from the trainer's `state` under `settings` (as numbers),
/// step until iteration `until`.
pub fn train_message(
    settings: &[f64],
    state: &[f64],
    until: usize,
) -> Result<(Object, Array), JsValue> {
    Fields::job(TRAIN)
        .f64s("settings", settings)
        .f64s("state", state)
        .num("until", until as f64)
        .message()
}

/// A `maml-train` reply: the state the run ended at, the run, and the worker's milliseconds.
pub fn trained_of(reply: &JsValue) -> Result<(Vec<f64>, Run, f64), String> {
    let floats = |key| typed::<Float64Array>(reply, key).map(|a| a.to_vec());
    match (floats("state"), floats("losses"), number(reply, "ms")) {
        (Some(state), Some(losses), Some(ms)) => {
            let stops_next = number(reply, "stops_next") == Some(1.0);
            Ok((state, Run { losses, stops_next }, ms))
        }
        _ => Err("a worker's training reply was incomplete".into()),
    }
}

pub(super) fn train_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let t0 = super::device_ops::now_ms();
    let floats = |key| typed::<Float64Array>(msg, key).map(|a| a.to_vec());
    let (Some(settings), Some(state), Some(until)) =
        (floats("settings"), floats("state"), number(msg, "until"))
    else {
        return Err("a training job without settings, state or end".into());
    };
    let mut trainer = MetaTrainer::resume(MamlSettings::from_numbers(&settings)?, &state)?;
    let run = trainer.run_until(until as usize);
    Fields::on(reply)
        .f64s("state", &trainer.state())
        .f64s("losses", &run.losses)
        .num("stops_next", f64::from(u8::from(run.stops_next)))
        .num("ms", super::device_ops::now_ms() - t0)
        .reply()
}
