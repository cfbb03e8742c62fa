//! Temperature, measured: the entropy of the next character's distribution against the
//! temperature (H = -sum p ln p, in nats; 0 when greedy, ln 92 = 4.52 when uniform), and one
//! sample of the same prompt and seed at each of five temperatures, side by side.

use super::run::{generate, ran_on};
use super::state::PromptingState;
use crate::calc::Calc;
use crate::engine::Engine;
use crate::ui::exercise::ShortAnswer;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::BarPlot;
use crate::ui::Section;
use crate::var::Var;
use glassbox_lab::figures::shift::BarGroups;
use glassbox_lab::lm::{distribution, Generator, Sampling};
use leptos::prelude::*;

/// Temperatures of the samples.
pub const SAMPLE_TEMPERATURES: [f32; 5] = [0.0, 0.5, 1.0, 1.5, 2.0];
/// Characters per sample.
pub const SAMPLE_CHARS: usize = 80;
/// Temperatures of the entropy chart.
const ENTROPY_TEMPERATURES: [f32; 9] = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0];

/// H(p) = -sum p ln p.
pub fn entropy(p: &[f32]) -> f64 {
    p.iter()
        .filter(|&&q| q > 0.0)
        .map(|&q| -(q as f64) * (q as f64).ln())
        .sum()
}

fn entropy_bars(logits: Option<&[f32]>, top_k: usize) -> BarGroups {
    let values = ENTROPY_TEMPERATURES
        .iter()
        .map(|&t| {
            logits
                .and_then(|z| distribution(z, t, top_k).ok())
                .map(|p| entropy(&p))
        })
        .collect();
    BarGroups {
        title: "Entropy of the next character against temperature".into(),
        y_desc: "entropy (nats)".into(),
        categories: ENTROPY_TEMPERATURES
            .iter()
            .map(|t| format!("{t}"))
            .collect(),
        series: vec![("entropy".into(), values)],
        baseline: None,
    }
}

#[component]
pub fn Temperature() -> impl IntoView {
    let st = crate::ui::context::<PromptingState>();
    let engine = crate::ui::context::<Engine>();
    let rows = Var::new(Vec::<(f32, String)>::new());
    let status = Var::new(String::new());
    let bars = Calc::new(move |_| {
        let k = st.settings.with(|s| s.top_k);
        st.logits
            .with(|l| entropy_bars(l.as_ref().and_then(|r| r.as_deref().ok()), k))
    });
    let run = move |_| {
        let Some(lm) = st.lm.get_untracked() else {
            return;
        };
        if !st.hold() {
            return;
        }
        let s = st.settings.get_untracked();
        let ids = lm.vocab.encode_lossy(&s.prompt).tokens;
        rows.set(Vec::new());
        status.set("Sampling…".into());
        crate::tasks::spawn_page_task(async move {
            let room = lm.model.config.context;
            let mut total = 0.0;
            let mut place = "";
            for t in SAMPLE_TEMPERATURES {
                let sampling = Sampling {
                    temperature: t,
                    top_k: s.top_k,
                    seed: s.seed,
                };
                let r = match Generator::new(&ids, SAMPLE_CHARS, sampling, room) {
                    Ok(mut gen) => {
                        generate(engine, &lm, &mut gen, &mut |_| true)
                            .await
                            .map(|(ms, ran)| {
                                (ms, ran, lm.vocab.decode(gen.tokens()).unwrap_or_default())
                            })
                    }
                    Err(e) => Err(e),
                };
                match r {
                    Ok((ms, ran, text)) => {
                        total += ms;
                        place = ran_on(ran);
                        rows.update(|r| r.push((t, text)));
                    }
                    Err(e) => {
                        status.set(e);
                        st.busy.set(false);
                        return;
                    }
                }
            }
            status.set(format!("Five samples in {total:.0} ms on {place}."));
            st.busy.set(false);
        });
    };
    let ready = move || st.lm.with(|m| m.is_some());
    view! {
        <Section id="temperature">
            <h2 id="temperature">"Temperature, measured"</h2>
            <Prose html=prose!(r#"
                <p>Dividing the logits by a temperature T before the softmax sharpens the
                distribution (T &lt; 1) or flattens it (T &gt; 1). Its entropy, in nats, says how
                many characters are in play: e^H of them, roughly. At T = 0 it is 0 (one character
                is certain); as T grows it climbs toward ln 92 = 4.52, every character equally
                likely. The chart is for the playground's prompt.</p>
            "#)/>
            <BarPlot name="entropy-temperature" title="Entropy against temperature" height=300 bars=bars/>
            <p>
                {format!("The same prompt and seed, {SAMPLE_CHARS} characters at each temperature: greedy repeats \
                  itself, low temperatures stay plausible, high ones drift into nonsense.")}
            </p>
            <button type="button" on:click=run disabled=move || !ready() || st.busy.get()>"Sample at five temperatures"</button>
            <p class="status" role="status" data-out="temperature-status">{move || status.get()}</p>
            <table class="numbers" aria-label="Samples by temperature">
                <thead><tr><th>"Temperature"</th><th>"Continuation"</th></tr></thead>
                <tbody>
                    {move || rows.get().into_iter().map(|(t, text)| view! {
                        <tr data-temperature=t.to_string()><th scope="row">{format!("{t}")}</th><td class="sample">{text}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
            <ShortAnswer label="(a)" question="How does the temperature change the outputs?">
                <Prose html=prose!(r#"
                    <p>At 0 the model always takes its likeliest character, so the text is the same
                    every time and often falls into a loop, a phrase said again and again. Raising T
                    spreads the draw over more characters: samples differ from one seed to the next,
                    stay plausible up to about 1, and above about 1.5 turn into strings that are not
                    words. The entropy chart is the same story in one number: it starts at 0 and
                    climbs toward ln 92 as T grows. Whatever the task, a low temperature is the one
                    to use when there is one right answer, and a higher one when variety is the
                    point (brainstorming, say).</p>
                "#)/>
            </ShortAnswer>
        </Section>
    }
}
