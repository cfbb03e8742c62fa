//! Section "Fine-grained or channel pruning?": the two side by side with the settings above.

use super::state::{Accuracy, PruningState};
use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use glassbox_lab::vision::vgg::{self, Arch};
use leptos::prelude::*;

#[component]
pub fn Compare() -> impl IntoView {
    let PruningState {
        pruned,
        accuracy,
        channel,
        ch_before,
        ..
    } = crate::ui::context();

    view! {
        <Section id="compare">
            <h2 id="compare">"Fine-grained or channel pruning?"</h2>
            <p data-out="compare">{move || {
                let fine = pruned.get().and_then(|p| p.ok()).map(|p| p.sparse_bits as f64 / p.dense_bits as f64);
                let fine_acc = match accuracy.get() { Accuracy::Done(_, a, ..) => Some(a), _ => None };
                let ch = channel.get().and_then(|c| c.ok()).map(|n| (vgg::stats(&n.arch).params as f64 / vgg::stats(&Arch::lab()).params as f64, vgg::stats(&n.arch).macs as f64 / vgg::stats(&Arch::lab()).macs as f64));
                match (fine, fine_acc, ch, ch_before.get()) {
                    (Some(f), Some(fa), Some((cp, cm)), Some((ca, n, _))) => format!(
                        "With the settings above, on the first {n} test images before any fine-tuning: fine-grained \
                         pruning keeps {:.1}% of the size at {:.2}% accuracy, with every multiply-add still \
                         there unless the hardware skips zeros; channel pruning keeps {:.1}% of the parameters \
                         and {:.1}% of the multiply-adds at {:.2}% accuracy.",
                        100.0 * f, 100.0 * fa, 100.0 * cp, 100.0 * cm, 100.0 * ca
                    ),
                    _ => "The comparison appears once both accuracies are computed.".to_string(),
                }
            }}</p>
            <Prose html=prose!(r#"
                <p>Fine-grained pruning compresses more at the same accuracy: it removes exactly the
                weights that matter least, wherever they sit, while channel pruning removes whole
                channels, good weights with the bad. But a fine-grained sparse tensor is still
                multiplied in full by ordinary hardware (the zeros are multiplied too), so it saves
                storage, and time only on hardware or kernels built for sparsity. Channel pruning
                gives a smaller dense network that is faster on any hardware, a CPU, a phone's GPU
                or this browser. Both lose accuracy at once, and fine-tuning recovers most of
                it.</p>
            "#)/>
        </Section>
    }
}
