//! Appendix "The image lab": the network the pruning and quantization chapters use, as a table of
//! layers; the original lab's CIFAR-10 VGG in the same calculator (with uniform channel pruning);
//! and the committed weights evaluated on the full Fashion-MNIST test set in this browser, and
//! fine-tuned here.

mod confusion;
mod evaluation;
mod fine_tuning;
mod layer_table;
mod mistakes;
mod original_network;
mod our_network;
pub(crate) mod state;

use crate::ui::math::{prose, Prose};
use crate::ui::notices::UrlNotices;
use crate::url_state::Location;
use crate::web;
use evaluation::EvaluatingHere;
use fine_tuning::FineTuningHere;
use leptos::prelude::*;
use original_network::OriginalNetwork;
use our_network::OurNetwork;
use state::{location_of, ImageLabState};

pub const SLUG: &str = "image-lab";

#[component]
pub fn ImageLab(location: Location) -> impl IntoView {
    let (shared, notices) = ImageLabState::new(&location);
    let settings = shared.settings;
    crate::ui::effect(move || web::publish(&location_of(&settings.get())));
    provide_context(shared);

    view! {
        <article class="chapter">
            <h1>"The image lab"</h1>
            <UrlNotices notices/>
            <Prose html=prose!(r#"
                <p>The pruning and quantization chapters work on a real trained network: the
                original lab's VGG pattern (3 × 3 convolutions without bias, each with batch-norm
                and ReLU, max-pooling after every second one, a mean over space and one linear
                layer), scaled down to train on Fashion-MNIST in minutes. Its images are 28 × 28,
                padded to 32 × 32 so the network keeps the original's four pooling stages.</p>
            "#)/>
            <OurNetwork/>
            <OriginalNetwork/>
            <EvaluatingHere/>
            <FineTuningHere/>
        </article>
    }
}
