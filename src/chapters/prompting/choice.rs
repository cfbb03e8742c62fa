//! Classification by prompting: which of four spellings is the plural (`glassbox_lab::lm::choice`),
//! asked bare, with an instruction, and few-shot, over the validation nouns; scored by the letter
//! the model writes (right, wrong or invalid) and by the likeliest of the four letters.

use super::run::{generate, ran_on};
use super::state::PromptingState;
use crate::calc::Calc;
use crate::engine::Engine;
use crate::lm::nouns_of;
use crate::lm::LoadedLm;
use crate::ui::exercise::ShortAnswer;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::BarPlot;
use crate::ui::Section;
use crate::var::Var;
use glassbox_lab::figures::shift::BarGroups;
use glassbox_lab::lm::choice::{self, Outcome, Strategy};
use glassbox_lab::lm::plurals::Split;
use glassbox_lab::lm::{distribution, Session};
use leptos::prelude::*;

/// Per strategy: generation's (right, wrong, invalid) and likelihood's right, as counts.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Counts {
    generated: [usize; 3],
    likely_right: usize,
    asked: usize,
}

fn bars(counts: &[Counts; 3]) -> BarGroups {
    let share = |c: &Counts, n: usize| (c.asked > 0).then(|| n as f64 / c.asked as f64);
    let series = |name: &str, f: &dyn Fn(&Counts) -> Option<f64>| {
        (name.to_string(), counts.iter().map(f).collect())
    };
    BarGroups {
        title: "Which of four spellings is the plural? Validation nouns".into(),
        y_desc: "share of the questions".into(),
        categories: Strategy::ALL.iter().map(|s| s.name().to_string()).collect(),
        series: vec![
            series("written letter: right", &|c| share(c, c.generated[0])),
            series("written letter: wrong", &|c| share(c, c.generated[1])),
            series("written letter: invalid", &|c| share(c, c.generated[2])),
            series("likeliest letter: right", &|c| share(c, c.likely_right)),
        ],
        baseline: Some(("chance".into(), 0.25)),
    }
}

/// The likeliest of the four letters after `prompt`, on the CPU.
fn likeliest(lm: &LoadedLm, prompt: &str) -> Result<Option<usize>, String> {
    let ids = lm.vocab.encode(prompt)?;
    let room = lm.model.config.context;
    let logits = Session::new(&lm.model)?.feed(&ids[ids.len().saturating_sub(room)..])?;
    Ok(choice::likeliest_letter(
        &lm.vocab,
        &distribution(&logits, 1.0, 0)?,
    ))
}

#[component]
pub fn Choice() -> impl IntoView {
    let st = crate::ui::context::<PromptingState>();
    let engine = crate::ui::context::<Engine>();
    let counts = Var::new([Counts::default(); 3]);
    let status = Var::new(String::new());
    let run = move |_| {
        let Some(lm) = st.lm.get_untracked() else {
            return;
        };
        if !st.hold() {
            return;
        }
        counts.set([Counts::default(); 3]);
        let seed = st.settings.get_untracked().shots_seed;
        crate::tasks::spawn_page_task(async move {
            let val = nouns_of(Split::Val);
            let examples = choice::examples(&nouns_of(Split::Train), seed);
            let total = 3 * val.len();
            let (mut done, mut ms, mut place) = (0, 0.0, "");
            'all: for (s, strategy) in Strategy::ALL.into_iter().enumerate() {
                for (i, noun) in val.iter().enumerate() {
                    let item = choice::item(noun, seed.wrapping_add(i as u64));
                    let prompt = choice::prompt(strategy, &examples, &item);
                    let room = lm.model.config.context;
                    let written =
                        match choice::generator(&lm.vocab, &prompt, room) {
                            Ok(mut gen) => generate(engine, &lm, &mut gen, &mut |_| true)
                                .await
                                .map(|(t, ran)| {
                                    (t, ran, lm.vocab.decode(gen.tokens()).unwrap_or_default())
                                }),
                            Err(e) => Err(e),
                        };
                    let (t, ran, text) = match written {
                        Ok(w) => w,
                        Err(e) => {
                            status.set(e);
                            break 'all;
                        }
                    };
                    let likely = likeliest(&lm, &prompt).unwrap_or(None);
                    counts.update(|c| {
                        let c = &mut c[s];
                        c.generated[choice::outcome(&item, choice::read_letter(&text)) as usize] +=
                            1;
                        c.likely_right +=
                            usize::from(choice::outcome(&item, likely) == Outcome::Right);
                        c.asked += 1;
                    });
                    (done, ms, place) = (done + 1, ms + t, ran_on(ran));
                    status.set(format!(
                        "{done} of {total} questions ({ms:.0} ms on {place})"
                    ));
                    crate::tasks::breathe().await;
                }
            }
            if done == total {
                status.set(format!("All {total} questions ({ms:.0} ms on {place})."));
            }
            st.busy.set(false);
        });
    };
    let figure = Calc::new(move |_| counts.with(bars));
    let ready = move || st.lm.with(|m| m.is_some());
    let row = move |s: usize| {
        counts.with(|c| {
            let c = c[s];
            let pct = |n: usize| if c.asked == 0 { "–".to_string() } else { format!("{:.0}%", 100.0 * n as f64 / c.asked as f64) };
            view! {
                <tr data-strategy=Strategy::ALL[s].name()>
                    <th scope="row">{Strategy::ALL[s].name()}</th>
                    <td>{pct(c.generated[0])}</td><td>{pct(c.generated[1])}</td><td>{pct(c.generated[2])}</td>
                    <td>{pct(c.likely_right)}</td>
                </tr>
            }
        })
    };
    view! {
        <Section id="choice">
            <h2 id="choice">"Classification by prompting"</h2>
            <p>
                {format!("A multiple-choice question this model might answer: which of four spellings is a noun's \
                  plural (\u{201c}wolf: A wolfs, B wolves, C wolfes, D wolvs. Answer:\u{201d}). Asked three ways: bare; \
                  after the instruction \u{201c}{}\u{201d}; and after two worked questions with their letters. Scored \
                  two ways: the letter the model writes (its first character that is not a space; anything but A-D \
                  is invalid), and the letter among A-D it finds likeliest (never invalid). The homework found weak \
                  prompts fail mostly by invalid answers, better ones by plausible wrong choices.",
                  choice::INSTRUCTION.trim())}
            </p>
            <button type="button" on:click=run disabled=move || !ready() || st.busy.get()>"Ask the questions"</button>
            <p class="status" role="status" data-out="choice-status">{move || status.get()}</p>
            <BarPlot name="multiple-choice" title="Multiple choice" height=320 bars=figure/>
            <div class="table-scroll">
            <table class="numbers" aria-label="Multiple choice by strategy">
                <thead><tr><th>"Strategy"</th><th>"Written: right"</th><th>"wrong"</th><th>"invalid"</th><th>"Likeliest: right"</th></tr></thead>
                <tbody>{move || (0..3).map(row).collect_view()}</tbody>
            </table>
            </div>
            <ShortAnswer label="(b) i" question="How do the failures differ between prompting strategies?">
                <Prose html=prose!(r#"
                    <p>The homework found that weak prompts fail mostly by invalid answers and
                    better ones by plausible wrong choices. This model fails by invalid answers
                    under all three: after “Answer:” it starts a word (“ Un”, “ En”, “ a ”) instead
                    of writing a lone letter, because its training text holds no multiple-choice
                    questions, and neither the instruction nor two worked questions teach the format
                    within its 128 characters. Scoring by likelihood forces a valid letter and shows
                    the next failure: with the examples' seed at 0 it picks D for nearly every
                    question, the letter it read last, a bias of position rather than knowledge, so
                    it scores near or below chance (25%). A model that had read exam questions, as
                    GPT-2 had, reaches the homework's second kind of failure.</p>
                "#)/>
            </ShortAnswer>
        </Section>
    }
}
