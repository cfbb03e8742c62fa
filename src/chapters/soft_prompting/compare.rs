//! "Soft, hard or every weight?": on the same training nouns, chapter 4's best hard prompt, the
//! training section's prompt (trained afresh with its settings) and full fine-tuning, by
//! validation and test accuracy, parameters trained, and the held-out corpus loss before and after
//! (what fine-tuning costs elsewhere: forgetting; the frozen model's is unchanged to the bit).

use super::answers_table::AnswersTable;
use super::run::{answers, best_hard, epochs, extras_of, train_run, Event};
use super::state::{training_nouns, SoftState, FULL_FIELDS};
use super::train::trained_count;
use crate::engine::Engine;
use crate::lm::{nouns_of, LoadedLm};
use crate::tasks::{breathe, Generation};
use crate::ui::controls::FieldInput;
use crate::ui::exercise::ShortAnswer;
use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use crate::var::Var;
use crate::vision::data::LoadStatus;
use crate::workers::job::{self, GradJob};
use glassbox_lab::lm::pluralize::Answer;
use glassbox_lab::lm::plurals::Split;
use glassbox_lab::lm::tuning::{self, Method, MicroBatch};
use glassbox_lab::lm::{eval_starts, Extras, Model};
use leptos::prelude::*;

/// Windows of the held-out text the page scores (the CLI's default is 256).
pub const HELD_WINDOWS: usize = 32;

/// One row of the comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub method: String,
    pub params: usize,
    pub val: f64,
    pub test: f64,
    /// Held-out loss before and after (nats per character).
    pub held: Option<(f32, f32)>,
}

/// The held-out loss of `model` (`weights`: its own, when it is a fine-tuned copy of `lm`'s) over
/// `HELD_WINDOWS` windows, each one sequence with every position weighted 1: on the workers as
/// `loss` jobs when the page has them (a window's forward pass is about 30 ms), else here one a
/// slice; the losses summed in order either way. None when stopped.
async fn held_loss(
    lm: &LoadedLm,
    model: &Model,
    weights: Option<&[f32]>,
    held: &[u32],
    alive: &dyn Fn() -> bool,
) -> Result<Option<f32>, String> {
    let t = model.config.context;
    let window = |s: usize| -> Result<MicroBatch, String> {
        let w = held.get(s..s + t + 1).ok_or("a window past the text")?;
        Ok(MicroBatch {
            tokens: w[..t].to_vec(),
            targets: w[1..].to_vec(),
            weights: vec![1.0; t],
            batch: 1,
            t,
        })
    };
    let windows = eval_starts(held.len(), t, HELD_WINDOWS)?
        .into_iter()
        .map(window)
        .collect::<Result<Vec<_>, _>>()?;
    let mut losses = Vec::with_capacity(windows.len());
    if let Some(pool) = crate::workers::pool::pool() {
        let message = |i: usize| {
            job::grad_message(
                &lm.job_lm(weights),
                Extras::default(),
                &windows[i],
                GradJob::Loss,
            )
        };
        match pool
            .run(windows.len(), &message, &|_| {}, &|| alive())
            .await
        {
            Ok(Some(replies)) => {
                for r in &replies {
                    losses.push(job::loss_of(r)?);
                }
            }
            Ok(None) => return Ok(None),
            // Given up (the page says so): this thread computes them.
            Err(_) => {}
        }
    }
    if losses.len() != windows.len() {
        losses.clear();
        for w in &windows {
            if !alive() {
                return Ok(None);
            }
            losses.push(model.loss_with(&w.inputs(Extras::default()), &w.targets())?);
            breathe().await;
        }
    }
    let mut total = 0.0f64;
    for l in losses {
        total += l as f64;
    }
    Ok(Some((total / windows.len() as f64) as f32))
}

#[component]
pub fn Compare() -> impl IntoView {
    let st = crate::ui::context::<SoftState>();
    let engine = crate::ui::context::<Engine>();
    let settings = st.settings;
    let rows = Var::new(Vec::<Row>::new());
    let full_test = Var::new(Vec::<Answer>::new());
    let status = Var::new(String::new());
    let progress = Var::new(0.0f64);
    let running = Var::new(false);
    let pause = Var::new(false);
    let generation = Generation::new();
    let run = move |_| {
        let Some(lm) = st.begin() else {
            return;
        };
        let s = settings.get_untracked();
        let split = nouns_of;
        let (train, val, test) = (split(Split::Train), split(Split::Val), split(Split::Test));
        let learn = training_nouns(&s);
        let alive = generation.start();
        rows.set(Vec::new());
        full_test.set(Vec::new());
        running.set(true);
        crate::tasks::spawn_page_task(async move {
            let result = async {
                engine.settled().await;
                let Some(held) = st.held_out(&lm).await else {
                    return Err("the held-out text is needed to measure forgetting".to_string());
                };
                status.set("Chapter 4's best hard prompt…".into());
                let hard = match st.hard.get_untracked().filter(|h| h.seed == s.seed) {
                    Some(h) => h,
                    None => {
                        let prog = move |f: f64| progress.set(0.1 * f);
                        let Some(h) =
                            best_hard(&lm, &train, &val, &test, s.seed, &alive, &prog).await?
                        else {
                            return Ok(());
                        };
                        st.hard.set(Some(h));
                        h
                    }
                };
                status.set("The frozen model's held-out loss…".into());
                let Some(before) = held_loss(&lm, &lm.model, None, &held, &alive).await? else {
                    return Ok(());
                };
                rows.update(|r| {
                    r.push(Row {
                        method: format!("hard prompt ({} shots)", hard.shots),
                        params: 0,
                        val: hard.val,
                        test: hard.test,
                        held: Some((before, before)),
                    })
                });
                let c = lm.model.config;
                let runs = s.compared();
                let n = runs.len() as f64;
                for (i, tune) in runs.into_iter().enumerate() {
                    let name = tune.method.name();
                    let mut on = move |e: Event| {
                        if let Event::Progress(f, text) = e {
                            progress.set(0.1 + 0.9 * (i as f64 + f) / n);
                            status.set(format!("{name}: {text}"));
                        }
                    };
                    let Some(r) =
                        train_run(&lm, engine, tune, &learn, &val, pause, &alive, &mut on).await?
                    else {
                        return Ok(());
                    };
                    let model = r.model.as_ref().unwrap_or(&lm.model);
                    let extras = extras_of(&tune, &r.params);
                    let Some((t, _, _)) =
                        answers(&lm, model, None, tune.frame(), extras, &test, pause, &alive)
                            .await?
                    else {
                        return Ok(());
                    };
                    status.set(format!("{name}: the held-out loss after training…"));
                    let weights = r.model.as_ref().map(|m| &m.params[..]);
                    let Some(after) = held_loss(&lm, model, weights, &held, &alive).await? else {
                        return Ok(());
                    };
                    let params = match tune.method {
                        Method::Full => lm.model.param_count(),
                        m => trained_count(m == Method::Prefix, tune.tokens, c.width, c.layers),
                    };
                    let label = match tune.method {
                        Method::Full => format!("full fine-tuning, {}", epochs(tune.epochs)),
                        m => format!(
                            "{}, K = {}, {}, lr {}",
                            m.name(),
                            tune.tokens,
                            epochs(tune.epochs),
                            tune.lr
                        ),
                    };
                    rows.update(|rs| {
                        rs.push(Row {
                            method: label,
                            params,
                            val: r.curve.last().map(|p| p.1).unwrap_or(f64::NAN),
                            test: tuning::accuracy(&t),
                            held: Some((before, after)),
                        })
                    });
                    if tune.method == Method::Full {
                        full_test.set(t);
                    }
                }
                progress.set(1.0);
                status.set("Done.".into());
                Ok(())
            }
            .await;
            if let Err(e) = result {
                status.set(format!("The comparison stopped: {e}"));
            }
            running.set(false);
            pause.set(false);
            st.busy.set(false);
        });
    };
    let ready = move || st.lm.with(|m| m.is_some());
    let row = |r: Row| {
        let (b, a) = r.held.unwrap_or((f32::NAN, f32::NAN));
        let same = if a.to_bits() == b.to_bits() {
            " (identical)".to_string()
        } else {
            format!(" ({:+.4})", a - b)
        };
        view! {
            <tr data-method=r.method.clone()>
                <th scope="row">{r.method.clone()}</th>
                <td>{r.params}</td>
                <td data-col="val">{format!("{:.1}%", 100.0 * r.val)}</td>
                <td data-col="test">{format!("{:.1}%", 100.0 * r.test)}</td>
                <td data-col="held-before">{format!("{b:.4}")}</td>
                <td data-col="held-after">{format!("{a:.4}{same}")}</td>
            </tr>
        }
    };
    let verdict = move || {
        rows.with(|rs| {
            let full = rs.iter().find(|r| r.method.starts_with("full"))?;
            let soft = rs.get(1)?;
            let (b, a) = full.held?;
            Some(format!(
                "Measured here: full fine-tuning reached {:.1}% on the validation nouns and {:.1}% on the test irregulars, \
                 the soft prompt {:.1}% and {:.1}%; full fine-tuning moved the held-out loss from {b:.4} to {a:.4} nats per \
                 character, the frozen model's stayed at {:.4}.",
                100.0 * full.val, 100.0 * full.test, 100.0 * soft.val, 100.0 * soft.test,
                soft.held.map(|h| h.1).unwrap_or(f32::NAN)
            ))
        })
    };
    view! {
        <Section id="compare">
            <h2 id="compare">"Soft, hard, or every weight?"</h2>
            <p>
                {format!("The same training nouns, three ways to use them: write a prompt (chapter 4's best hard \
                  prompt), train a prompt (a soft prompt and a prefix with the section above's length, epochs, \
                  start and seed, each at its own default rate unless you set one), or train every weight of \
                  the model on \u{201c}The plural of X is Y.\u{201d} (full fine-tuning, Adam). Beside accuracy, the \
                  held-out corpus loss: the model's loss on {HELD_WINDOWS} windows of WordNet text it never trained \
                  on, before and after. A prompt cannot change it, since the weights do not change; fine-tuning can.")}
            </p>
            <fieldset class="controls-grid" disabled=move || running.get()>
                <legend>"Full fine-tuning"</legend>
                {FULL_FIELDS.iter().map(|f| view! { <FieldInput field=f settings/> }).collect_view()}
            </fieldset>
            <div class="buttons">
                <button type="button" class="primary" on:click=run
                    disabled=move || running.get() || !ready() || st.busy.get()>"Run the comparison"</button>
                <button type="button" on:click=move |_| pause.update(|p| *p = !*p) disabled=move || !running.get()>
                    {move || if pause.get() { "Resume" } else { "Pause" }}
                </button>
                <button type="button" on:click=move |_| { generation.stop(); pause.set(false); rows.set(Vec::new()); status.set(String::new()); progress.set(0.0); }>"Reset"</button>
            </div>
            <LoadStatus load=st.held_load/>
            <progress max="1" value=move || progress.get() aria-label="Comparison progress"></progress>
            <p class="status" role="status" data-out="compare-status">{move || status.get()}</p>
            <div class="table-scroll">
                <table class="numbers" aria-label="Soft, hard and full fine-tuning">
                    <thead><tr><th>"Method"</th><th>"Numbers trained"</th><th>"Validation"</th><th>"Test irregulars"</th>
                        <th>"Held-out loss before"</th><th>"after"</th></tr></thead>
                    <tbody>{move || rows.get().into_iter().map(row).collect_view()}</tbody>
                </table>
            </div>
            <p data-out="compare-verdict">{verdict}</p>
            <AnswersTable label="The test irregulars after full fine-tuning" answers=full_test/>
            <ForgettingAnswers verdict=crate::ui::derive(verdict)/>
        </Section>
    }
}

/// The homework's true/false (c) iii and the forgetting claim, decided by the table.
#[component]
fn ForgettingAnswers(verdict: Signal<Option<String>>) -> impl IntoView {
    view! {
            <ShortAnswer label="(c) iii" question="True or false: full fine-tuning is always better than soft prompting.">
                <Prose html=prose!(r#"
                    <p>False. Fine-tuning trains every weight on the task's few examples; it can fit
                    them better, but it can also overfit a small training set, and it changes the
                    model for everything else. Read the table: compare the validation and test
                    columns, and the held-out loss after full fine-tuning against the frozen
                    model's.</p>
                "#)/>
                <p>{move || verdict.get()}</p>
            </ShortAnswer>
            <ShortAnswer label="(c) iv" question="Does a frozen model prompted (softly) for task A forget task B?">
                <Prose html=prose!(r#"
                    <p>No: its weights are untouched, so every other task works exactly as before;
                    the held-out loss after soft prompting equals the loss before, to the last bit.
                    Full fine-tuning on task A is what can make a model worse at task B (its
                    held-out loss rises).</p>
                "#)/>
            </ShortAnswer>
    }
}
