//! The front page: the chapters in the book's order as cards (a small live figure drawn by the
//! chapter's own figure code, `figures`, a one-line promise, how long the
//! chapter's main computation last took here, the reader's exercise progress), how to use the book
//! in class, and the backend in use.

mod figures;

use super::{attention, fine_tuning, meta_learning, quantization, under_the_hood, CHAPTERS};
use crate::engine::{BackendState, Engine};
use crate::progress;
use crate::ui::math::{prose, Prose};
use crate::var::Var;
use figures::CardFigure;
use leptos::prelude::*;

/// What a card says of its chapter: the promise, the chapter's main computation (whose last
/// duration here `progress` keeps), and the ids of its checked exercises (`data-exercise` on its
/// page).
struct Card {
    promise: &'static str,
    main: &'static str,
    exercises: &'static [&'static str],
}

fn card(slug: &str) -> Card {
    let (promise, main, exercises): (&'static str, &'static str, &'static [&'static str]) =
        match slug {
            meta_learning::SLUG => (
                "Why a network trained on many tasks needs fewer examples for the next: MAML, solved exactly.",
                "meta-training with its evaluations",
                &["alias-error"],
            ),
            attention::SLUG => (
                "Which token may look at which: the masks of a captioning transformer, and what windows save.",
                "timing global against windowed attention",
                &["vision", "language", "mask-grid"],
            ),
            fine_tuning::SLUG => (
                "When the data shifts, which layers to retrain: surgical fine-tuning, run here.",
                "one fine-tuning run",
                &["which-block"],
            ),
            super::prompting::SLUG => (
                "What a small language model can do from its prompt alone, measured on our own trained model.",
                "the few-shot sweep",
                &["digit-term"],
            ),
            super::soft_prompting::SLUG => (
                "Train 1,792 numbers instead of 821,504: soft prompts, prefixes and full fine-tuning compared.",
                "training a soft prompt",
                &["loss-cells", "tf-precompute", "tf-hard-soft"],
            ),
            super::pruning::SLUG => (
                "Remove three quarters of a network's weights and keep its accuracy: which ones, and how.",
                "the sensitivity scan",
                &["goal"],
            ),
            quantization::SLUG => (
                "Store every weight in a few bits: k-means, linear and integer-only inference.",
                "quantizing the whole network at 8, 4 and 2 bits",
                &["scale", "zero", "quantize-a-value"],
            ),
            _ => ("", "", &[]),
        };
    Card {
        promise,
        main,
        exercises,
    }
}

/// "2.4 s", "850 ms", "3 min 5 s".
fn duration(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        let s = (ms / 1000.0).round() as u64;
        format!("{} min {} s", s / 60, s % 60)
    }
}

#[component]
pub fn Home() -> impl IntoView {
    let engine = crate::ui::context::<Engine>();
    let offline = crate::ui::context::<crate::offline::Offline>();
    let record = Var::new(progress::load());
    view! {
        <article class="chapter home">
            <h1>"Glassbox"</h1>
            <Prose html=prose!(r#"
                <p class="lede">A textbook of one graduate deep-learning problem set in which every
                figure is a live computation: change a setting and the experiment runs again, here,
                in your browser, at the original settings, on real data and networks we trained.</p>
            "#)/>
            <p class="backend-line" data-out="home-backend">
                {move || match engine.state.get() {
                    BackendState::WebGpu(a) => format!("Computing on WebGPU ({}). ", a.name),
                    BackendState::Cpu(_) => "Computing on the CPU (WebAssembly). ".to_string(),
                    BackendState::Detecting => "Asking the browser for WebGPU… ".to_string(),
                }}
                <a href=format!("#/{}", under_the_hood::SLUG)>"Under the hood"</a>" says more."
                {move || offline.ready.get().then_some(" Kept in this browser for offline use.")}
            </p>
            <ol class="cards">
                {CHAPTERS.iter().map(|&(n, slug, title)| {
                    let Card { promise, main, exercises } = card(slug);
                    let done = move || record.with(|r| r.correct_of(slug, exercises));
                    let time = move || match record.with(|r| r.time(slug)) {
                        Some(ms) => format!("Main computation ({main}): {} here, your last run.", duration(ms)),
                        None => format!("Main computation ({main}): not run in this browser yet."),
                    };
                    view! {
                        <li class="card" data-chapter=slug data-exercises=exercises.join(",")>
                            <h2><a href=format!("#/{slug}")>{format!("{n}. {title}")}</a></h2>
                            <CardFigure slug=slug/>
                            <p>{promise}</p>
                            <p class="card-time" data-out=format!("time-{slug}")>{time}</p>
                            <p class="card-progress" data-out=format!("progress-{slug}")>{move || if exercises.is_empty() {
                                "Questions with our answers; no checked exercises.".to_string()
                            } else {
                                format!("Exercises: {} of {} answered correctly here.", done(), exercises.len())
                            }}</p>
                        </li>
                    }
                }).collect_view()}
            </ol>
            <section aria-labelledby="in-class">
                <h2 id="in-class">"Using it in class"</h2>
                <Prose html=prose!(r#"
                    <ul>
                    <li>Open a chapter, set the figures as you want them, and use <strong>Share</strong>:
                    the link reproduces exactly that view; its QR code lets students on phones open it
                    from the projector.</li>
                    <li>For a lesson, tick sections to hide and controls to lock; students get the
                    chapter with only those sections and with your values fixed.</li>
                    <li><strong>Present</strong> shows one section at a time in large type; arrow keys
                    or space step, Escape leaves, and the step is in the link.</li>
                    <li>Print a chapter for a handout: prose, figures as drawn and the exercises with
                    space for answers.</li>
                    </ul>
                "#)/>
            </section>
            <section aria-labelledby="your-progress">
                <h2 id="your-progress">"Your progress"</h2>
                <p>
                    "Exercise results and how long each chapter's main computation took are kept only in \
                     this browser (its local storage); nothing is sent anywhere. "
                    <button type="button" data-action="erase-progress" on:click=move |_| {
                        progress::erase();
                        record.set(progress::load());
                    }>"Erase my progress"</button>
                </p>
            </section>
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally_and_every_chapter_has_a_card() {
        assert_eq!(duration(850.4), "850 ms");
        assert_eq!(duration(2440.0), "2.4 s");
        assert_eq!(duration(185_000.0), "3 min 5 s");
        for &(_, slug, _) in CHAPTERS {
            let c = card(slug);
            assert!(!c.promise.is_empty() && !c.main.is_empty(), "{slug}");
        }
    }
}
