//! Are "random" digits random? The model continues a list of digits; the digits it writes are
//! counted and tested against the uniform (`glassbox_lab::lm::digits`, Pearson's chi-square with 9
//! degrees of freedom).

use super::run::{generate, ran_on};
use super::state::{PromptingState, DIGIT_FIELDS};
use crate::calc::Calc;
use crate::engine::Engine;
use crate::ui::controls::FieldInput;
use crate::ui::exercise::{NumberExercise, ShortAnswer};
use crate::ui::math::{prose, Prose};
use crate::ui::plot::BarPlot;
use crate::ui::Section;
use crate::var::Var;
use glassbox_lab::figures::shift::BarGroups;
use glassbox_lab::lm::digits::{tally, Tally, CHARS_PER_DIGIT, PROMPT};
use glassbox_lab::lm::{Generator, Sampling};
use leptos::prelude::*;

fn digit_bars(t: Option<&Tally>) -> BarGroups {
    let found = t.map_or(0, |t| t.found);
    BarGroups {
        title: "Digits the model wrote".into(),
        y_desc: "share of the digits".into(),
        categories: (0..10).map(|d| d.to_string()).collect(),
        series: vec![(
            "share".into(),
            (0..10)
                .map(|d| {
                    t.filter(|_| found > 0)
                        .map(|t| t.counts[d] as f64 / found as f64)
                })
                .collect(),
        )],
        baseline: Some(("uniform".into(), 0.1)),
    }
}

#[component]
pub fn Digits() -> impl IntoView {
    let st = crate::ui::context::<PromptingState>();
    let engine = crate::ui::context::<Engine>();
    let settings = st.settings;
    let result = Var::new(None::<(Tally, String)>);
    let status = Var::new(String::new());
    let bars = Calc::new(move |_| result.with(|r| digit_bars(r.as_ref().map(|r| &r.0))));
    // The worked question: one term of Pearson's sum, from the counts the page drew.
    let seven = move || {
        result.with(|r| {
            r.as_ref()
                .filter(|(t, _)| t.found > 0)
                .map(|(t, _)| (t.counts[7] as f64, t.found as f64 / 10.0))
        })
    };
    let seven_term = crate::ui::derive(move || seven().map(|(o, e)| (o - e) * (o - e) / e));
    let explain_seven = move |term: f64| match seven() {
        Some((o, e)) => format!("O = {o}, E = {e}, so (O \u{2212} E)\u{b2} / E = {term:.3}."),
        None => String::new(),
    };
    let run =
        move |_| {
            let Some(lm) = st.lm.get_untracked() else {
                return;
            };
            let s = settings.get_untracked();
            let sampling = Sampling {
                temperature: s.digits_temperature as f32,
                top_k: 0,
                seed: s.seed,
            };
            let ids = match lm.vocab.encode(PROMPT) {
                Ok(ids) => ids,
                Err(e) => return status.set(e),
            };
            let room = lm.model.config.context;
            let mut gen = match Generator::new(&ids, s.digits * CHARS_PER_DIGIT, sampling, room) {
                Ok(g) => g,
                Err(e) => return status.set(e),
            };
            if !st.hold() {
                return;
            }
            result.set(None);
            status.set("Writing digits…".into());
            crate::tasks::spawn_page_task(async move {
                let n = gen.target();
                let mut last = 0;
                let r = generate(engine, &lm, &mut gen, &mut |g| {
                    let done = g.tokens().len();
                    if done - last >= 50 {
                        status.set(format!("Writing digits… {done} of {n} characters"));
                        last = done;
                    }
                    true
                })
                .await;
                match r {
                    Ok((ms, ran)) => {
                        let text = lm.vocab.decode(gen.tokens()).unwrap_or_default();
                        let t = tally(&text, s.digits);
                        let verdict = match t.chi_square {
                            Some((chi2, p)) => format!(
                                "chi-square {chi2:.1} with 9 degrees of freedom, p = {p:.3} ({})",
                                if p < 0.05 {
                                    "not uniform at the 5% level"
                                } else {
                                    "no evidence against uniform at the 5% level"
                                }
                            ),
                            None => "no digits at all, so no test".into(),
                        };
                        status.set(format!(
                        "{} of {} digits found in {n} characters ({ms:.0} ms on {}); {verdict}.",
                        t.found, s.digits, ran_on(ran)
                    ));
                        result.set(Some((t, text)));
                    }
                    Err(e) => status.set(e),
                }
                st.busy.set(false);
            });
        };
    let ready = move || st.lm.with(|m| m.is_some());
    view! {
        <Section id="digits">
            <h2 id="digits">"Are \u{201c}random\u{201d} digits random?"</h2>
            <p>
                {format!("The homework asked a hosted model for 100 uniformly random digits. Here the model continues \
                  \u{201c}{PROMPT}\u{201d}; every digit it writes counts (up to the number asked for), and Pearson's \
                  chi-square compares the counts with the uniform's. A p-value below 0.05 says counts this uneven \
                  would be rare from a fair ten-sided die. A language model is not a die: it writes what its \
                  training text made likely.")}
            </p>
            <div class="controls-grid">
                {DIGIT_FIELDS.iter().map(|f| view! { <FieldInput field=f settings/> }).collect_view()}
            </div>
            <button type="button" on:click=run disabled=move || !ready() || st.busy.get()>"Ask for digits"</button>
            <p class="status" role="status" data-out="digits-status">{move || status.get()}</p>
            <BarPlot name="digits" title="Digit counts" height=300 bars=bars/>
            {move || result.with(|r| r.as_ref().map(|(_, text)| view! {
                <details><summary>"What the model wrote"</summary><pre class="sample" data-out="digits-text">{text.clone()}</pre></details>
            }))}
            <NumberExercise id="digit-term"
                question="From the counts in the figure, what is digit 7's term (O \u{2212} E)\u{b2} / E of the chi-square sum?"
                answer=seven_term tolerance=0.01 explain=explain_seven
                hint="E is the count every digit would have under the uniform: the digits counted divided by 10. O is digit 7's count."/>
            <ShortAnswer label="(a)" question="Are a language model's \u{201c}uniformly random\u{201d} digits uniform?">
                <Prose html=prose!(r#"
                    <p>Only as far as its training text was and its sampling lets them be. The
                    model's next digit is drawn from what followed similar lists in training; this
                    model read lists of uniformly random digits, so at temperature 1 its draw can
                    come close to uniform, but a temperature below 1 favours its likeliest digits
                    and greedy decoding picks one digit pattern and repeats it. A model trained on
                    text where people write “random” numbers (which favour 7 and avoid repeats)
                    would copy those habits. The test above decides it for the temperature you set:
                    try 1, then 0.5.</p>
                "#)/>
            </ShortAnswer>
        </Section>
    }
}
