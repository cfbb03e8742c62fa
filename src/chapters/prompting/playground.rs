//! The playground: a prompt in, the continuation out as it is written (with a Stop), temperature,
//! top-k and a seed; and the next character's distribution, which reshapes as the temperature and
//! top-k move.

use super::run::{generate, ran_on, show_char};
use super::state::{check_prompt, PromptingState, PLAY_FIELDS};
use crate::calc::Calc;
use crate::classroom::control_locked;
use crate::engine::Engine;
use crate::ui::controls::FieldInput;
use crate::ui::exercise::ShortAnswer;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::BarPlot;
use crate::ui::Section;
use crate::var::Var;
use crate::web;
use glassbox_lab::figures::shift::BarGroups;
use glassbox_lab::lm::{distribution, Generator, Sampling};
use leptos::prelude::*;

/// Characters the distribution chart shows (the likeliest).
const SHOWN: usize = 12;

/// Prompts this model can attempt.
const SUGGESTED: &[&str] = &[
    "one wolf, two",
    "wolf: ",
    "this box and those",
    "The plural of wolf is",
    "random digits: 4, 7, 1, ",
];

/// The likeliest `SHOWN` next characters at the settings' temperature and top-k.
fn distribution_bars(st: PromptingState) -> BarGroups {
    let (t, k) = st.settings.with(|s| (s.temperature, s.top_k));
    let title = format!("Next character after the prompt (temperature {t}, top-k {k})");
    let (chars, probs) = match (st.lm.get(), st.logits.get()) {
        (Some(lm), Some(Ok(z))) => match distribution(&z, t as f32, k) {
            Ok(p) => (lm.vocab.chars().to_vec(), p),
            Err(_) => (vec![], vec![]),
        },
        _ => (vec![], vec![]),
    };
    let mut order = glassbox_lab::rank::largest_first_f32(&probs);
    order.truncate(SHOWN);
    BarGroups {
        title,
        y_desc: "probability".into(),
        categories: order.iter().map(|&i| show_char(chars[i])).collect(),
        series: vec![(
            "probability".into(),
            order.iter().map(|&i| Some(probs[i] as f64)).collect(),
        )],
        baseline: None,
    }
}

#[component]
pub fn Playground() -> impl IntoView {
    let st = crate::ui::context::<PromptingState>();
    let engine = crate::ui::context::<Engine>();
    let settings = st.settings;
    let prompt_locked = control_locked("prompt", "Prompt");
    let written = Var::new(String::new());
    let shown_prompt = Var::new(String::new());
    let status = Var::new(String::new());
    let running = Var::new(false);
    let stop = Var::new(false);
    let prompt_error = Var::new(None::<String>);

    let start = move |_| {
        let Some(lm) = st.lm.get_untracked() else {
            return;
        };
        let s = settings.get_untracked();
        let lossy = lm.vocab.encode_lossy(&s.prompt);
        let sampling = Sampling {
            temperature: s.temperature as f32,
            top_k: s.top_k,
            seed: s.seed,
        };
        let room = lm.model.config.context;
        let mut gen = match Generator::new(&lossy.tokens, s.chars, sampling, room) {
            Ok(g) => g,
            Err(e) => return status.set(e),
        };
        if !st.hold() {
            return status
                .set("Another computation holds the model; try again when it ends.".into());
        }
        let replaced: String = lossy.replaced.iter().collect();
        let note = if replaced.is_empty() {
            String::new()
        } else {
            format!(
                " Characters the model does not know ({replaced}) were read as \u{201c}{}\u{201d}.",
                lossy.fallback
            )
        };
        shown_prompt.set(s.prompt.clone());
        written.set(String::new());
        stop.set(false);
        running.set(true);
        status.set("Writing…".into());
        crate::tasks::spawn_page_task(async move {
            let decode = |g: &Generator| lm.vocab.decode(g.tokens()).unwrap_or_default();
            let mut last = web::now_ms();
            let r = generate(engine, &lm, &mut gen, &mut |g| {
                if web::now_ms() - last > 40.0 {
                    written.set(decode(g));
                    last = web::now_ms();
                }
                !stop.get_untracked()
            })
            .await;
            written.set(decode(&gen));
            let n = gen.tokens().len();
            status.set(match r {
                Ok((ms, ran)) => format!(
                    "{}{n} characters in {ms:.0} ms on {}.{note}",
                    if gen.is_done() { "" } else { "Stopped: " },
                    ran_on(ran)
                ),
                Err(e) => e,
            });
            running.set(false);
            st.busy.set(false);
        });
    };
    let set_prompt = move |p: String| match check_prompt(&p) {
        Ok(()) => {
            prompt_error.set(None);
            settings.update(|s| s.prompt = p);
        }
        Err(e) => prompt_error.set(Some(e)),
    };
    let bars = Calc::new(move |_| distribution_bars(st));
    let ready = move || st.lm.with(|m| m.is_some());

    view! {
        <Section id="playground">
            <h2 id="playground">"Playground"</h2>
            <Prose html=prose!(r#"
                <p>Write a prompt; the model continues it one character at a time. Temperature 0
                always picks the likeliest character (greedy: the same text every time); higher
                temperatures flatten the distribution before the draw, and top-k keeps only the k
                likeliest characters. The seed makes a draw reproducible: the link to this page
                reproduces the text you see. The model reads at most the last 128 characters.</p>
            "#)/>
            <div class="field">
                <label for="in-prompt">"Prompt"</label>
                <textarea
                    id="in-prompt"
                    data-key="prompt"
                    disabled=prompt_locked
                    rows="3"
                    prop:value=move || settings.with(|s| s.prompt.clone())
                    aria-invalid=move || if prompt_error.get().is_some() { "true" } else { "false" }
                    aria-describedby="err-prompt"
                    on:change=move |ev| set_prompt(event_target_value(&ev))
                ></textarea>
                <p class="field-error" id="err-prompt" role="status">{move || prompt_error.get()}</p>
            </div>
            <div class="suggestions" role="group" aria-label="Suggested prompts">
                {SUGGESTED
                    .iter()
                    .map(|&p| view! { <button type="button" disabled=prompt_locked on:click=move |_| set_prompt(p.to_string())>{p}</button> })
                    .collect_view()}
            </div>
            <div class="controls-grid">
                {PLAY_FIELDS.iter().map(|f| view! { <FieldInput field=f settings/> }).collect_view()}
            </div>
            <div class="buttons">
                <button type="button" class="primary" on:click=start
                    disabled=move || running.get() || !ready() || st.busy.get()>"Generate"</button>
                <button type="button" on:click=move |_| stop.set(true) disabled=move || !running.get()>"Stop"</button>
            </div>
            <p class="status" role="status" data-out="play-status">{move || status.get()}</p>
            <pre class="sample" data-out="play-output"><span class="muted">{move || shown_prompt.get()}</span>{move || written.get()}</pre>
            <BarPlot name="next-character" title="Next character" height=320 bars=bars/>
            <ShortAnswer label="(a)" question="Which of the playground tasks can this model attempt?">
                <Prose html=prose!(r#"
                    <p>The homework's playground asked hosted models factual questions, to correct a
                    poorly written sentence, to brainstorm and to chat. Each asks for a kind of text
                    this model never read: its corpus is definitions, sentences about singulars and
                    plurals, lists of pairs and lists of digits. Given “Q: What is the capital of
                    France? A:” it continues as if writing a gloss; given “Ideas for a birthday
                    party: 1.” it falls into a loop of its templates' words. What it can attempt is
                    the text it knows: a definition after “wolf:”, a list of pairs carried on, the
                    plural after “one wolf, two”, a list of digits. Models trained on the web could
                    try the rest because their text held questions, corrections and
                    conversations.</p>
                "#)/>
            </ShortAnswer>
        </Section>
    }
}
