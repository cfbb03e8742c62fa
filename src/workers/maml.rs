//! `maml-sweep`: one entry of a chapter 1 evaluation curve (`SweepJob::entry`): at n_train_post =
//! ns[i], each test task's fit under a weighting of the features and its test error. A worker keeps
//! the last settings' evaluation context (test tasks, test points, the test Gram matrix), so it
//! prepares it once per curve's settings; the page joins the entries in order
//! (`Curve::from_entries`), which equals its own sliced run to the bit.

use super::job::{get, typed, Fields};
use glassbox_lab::maml::{EvalContext, MamlSettings, SweepJob, Weighting};
use js_sys::{Array, Float64Array, Object};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

pub const SWEEP: &str = "maml-sweep";

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
