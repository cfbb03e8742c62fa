//! Section "Which block, and why": the homework's question as an exercise the page checks.

use crate::ui::exercise::{Choice, ChoiceExercise};
use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use leptos::prelude::*;

const CHOICES: &[Choice] = &[
    Choice {
        label: "The first block (conv1 and conv2)",
        tex: false,
        correct: true,
        why: "Noise, blur, contrast and brightness change the pixels, not what the classes look like. \
              The first layers turn pixels into edges and textures, so that is where the mismatch \
              sits; once they produce the features the rest of the network expects, every later layer \
              works as trained. Tuning later layers asks them to undo damage they only see through \
              features that have already lost it.",
    },
    Choice {
        label: "The head (the linear layer)",
        tex: false,
        correct: false,
        why: "The head is the right place when the labels move (the flip below), since the features are \
              still good. Under a pixel-level corruption the features themselves are off, and a linear \
              map on top of them cannot recover what the early layers failed to extract.",
    },
    Choice {
        label: "A middle block",
        tex: false,
        correct: false,
        why: "Middle blocks suit shifts in mid-level features (the paper's feature-level shifts, our \
              stage noise). A pixel-level corruption is best met where pixels are read: the first block.",
    },
    Choice {
        label: "It makes no difference which block",
        tex: false,
        correct: false,
        why: "It makes a large difference: under severity-5 Gaussian noise our network gains far more from \
              its first block than from its head (measure it below).",
    },
];

#[component]
pub fn WhichBlock() -> impl IntoView {
    view! {
        <Section id="which-block">
            <h2 id="which-block">"Which block, and why?"</h2>
            <ChoiceExercise name="which-block"
                question="Under a pixel-level corruption (noise, blur, contrast, pixelation), which single block is best to fine-tune?"
                choices=CHOICES/>
            <Prose html=prose!(r#"
                <p>That is the paper's answer and the homework's. It is a tendency, not a law: the
                full-protocol table above shows, corruption by corruption, where our network follows
                it and where another block (or everything, or Auto-RGN) does better. The next
                section puts the three kinds of shift side by side.</p>
            "#)/>
        </Section>
    }
}
