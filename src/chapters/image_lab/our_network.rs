//! "Our network": the layers of the network the pruning and quantization chapters use.

use super::layer_table::layer_table;
use crate::ui::Section;
use glassbox_lab::vision::vgg::{self, Arch};
use leptos::prelude::*;

#[component]
pub fn OurNetwork() -> impl IntoView {
    view! {
        <Section id="our-network">
        <h2 id="our-network">"Our network"</h2>
        {layer_table("Layers of our network".into(), vgg::stats(&Arch::lab()))}
        </Section>
    }
}
