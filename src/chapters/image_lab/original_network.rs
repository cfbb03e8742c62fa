//! "The original lab's network": the CIFAR-10 VGG in the same calculator, with uniform channel
//! pruning at the reader's ratio.

use super::layer_table::layer_table;
use super::state::{ImageLabState, FIELDS};
use crate::calc::Calc;
use crate::ui::controls::FieldInput;
use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use glassbox_lab::vision::vgg::{self, Arch};
use leptos::prelude::*;

#[component]
pub fn OriginalNetwork() -> impl IntoView {
    let settings = crate::ui::context::<ImageLabState>().settings;
    let cifar = Calc::new(move |_| {
        let r = settings.get().ratio;
        Arch::cifar_vgg().channel_pruned(r).map(|a| vgg::stats(&a))
    });
    let dense_macs = vgg::stats(&Arch::cifar_vgg()).macs as f64;

    view! {
        <Section id="original-network">
        <h2 id="original-network">"The original lab's network"</h2>
        <Prose html=prose!(r#"
            <p>The same calculator on the original CIFAR-10 VGG gives its published totals:
            9,228,362 parameters (35.20 MiB in fp32) and about 606 million multiply-adds per image.
            Uniform channel pruning keeps round(C (1 − r)) output channels of every convolution but
            the last; both the input and the output channels of the inner layers shrink, so their
            compute falls by (1 − r)², 0.49 at r = 0.3.</p>
        "#)/>
        <div class="controls-grid">
            <FieldInput field=&FIELDS[0] settings=settings/>
        </div>
        {move || match cifar.get() {
            Ok(s) => {
                let ratio = s.macs as f64 / dense_macs;
                view! {
                    <p data-out="prune-ratio">{format!("Multiply-adds: {:.1}% of the dense network.", 100.0 * ratio)}</p>
                    {layer_table("Layers of the original lab's network".into(), s)}
                }.into_any()
            }
            Err(e) => view! { <p class="notice error" role="alert">{e}</p> }.into_any(),
        }}
        </Section>
    }
}
