//! (a) Encoder or decoder: which half of a captioner may look at every token, as a checked exercise.

use crate::ui::exercise::{Choice, ChoiceExercise};
use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use leptos::prelude::*;

static VISION_CHOICES: [Choice; 2] = [
    Choice {
        label: "An encoder: every patch may attend to every other patch.",
        tex: false,
        correct: true,
        why: "The whole image is there from the start and nothing is generated patch by patch, so no \
              patch needs hiding from another (only padding would be masked). Below, changing any \
              patch moves every encoder output.",
    },
    Choice {
        label: "A decoder: each patch may attend only to the patches before it.",
        tex: false,
        correct: false,
        why: "Nothing is generated patch by patch, so hiding later patches would only throw away \
              information about the image. The vision transformer only builds a representation: it \
              is an encoder.",
    },
];

static LANGUAGE_CHOICES: [Choice; 2] = [
    Choice {
        label: "An encoder: every caption token may attend to every other caption token.",
        tex: false,
        correct: false,
        why: "A token that could see the tokens after it would learn to copy the next word instead of \
              predicting it, and when the model writes a caption those tokens do not exist yet. The \
              language transformer is a decoder.",
    },
    Choice {
        label: "A decoder: each caption token may attend only to itself and the tokens before it.",
        tex: false,
        correct: true,
        why: "It writes the caption one token at a time, so its self-attention is masked causally \
              (below, changing a later token never moves an earlier output). It reads the image \
              through cross-attention, which needs no causal mask.",
    },
];

#[component]
pub fn EncoderOrDecoder() -> impl IntoView {
    view! {
        <Section id="encoder-decoder">
        <h2 id="encoder-decoder">"(a) Encoder or decoder?"</h2>
        <Prose html=prose!(r#"
            <p>An encoder turns a whole input into a representation: every token may attend to every
            other, masked only where there is padding. A decoder generates a sequence token by
            token: when it produces a token it may not look at the ones that come after it, so its
            self-attention is masked causally. Which is each half of the captioner?</p>
        "#)/>
        <div class="exercises">
            <ChoiceExercise name="vision" question="The vision transformer that reads the image is…" choices=&VISION_CHOICES/>
            <ChoiceExercise name="language" question="The language transformer that writes the caption is…" choices=&LANGUAGE_CHOICES/>
        </div>
        </Section>
    }
}
