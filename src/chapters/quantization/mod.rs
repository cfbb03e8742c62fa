//! Chapter 7, "Quantizing the trained network": k-means quantization of one layer (heatmaps
//! before and after, the codebook, the histogram with its centroids) and of the whole network at 8,
//! 4 and 2 bits; quantization-aware training, live; linear quantization (the map, S and Z, two
//! checked exercises); integer-only int8 inference (batch-norm folded, ranges calibrated, no ReLU);
//! and k-means against linear quantization. Every number comes from the committed network and the
//! real test images, computed here.

mod exercises;
mod int8_pipeline;
mod integer_only;
mod kmeans;
mod kmeans_or_linear;
mod linear;
mod one_layer;
mod qat;
pub(crate) mod state;
mod whole_network;

/// The whole-network k-means, timed by the Benchmarks appendix.
pub(crate) use kmeans::quantize_network;

use crate::ui::math::{prose, Prose};
use crate::ui::notices::UrlNotices;
use crate::url_state::Location;
use crate::vision::data::LoadStatus;
use integer_only::IntegerOnlyInference;
use kmeans_or_linear::KMeansOrLinear;
use leptos::prelude::*;
use linear::LinearQuantization;
use one_layer::KMeansOneLayer;
use qat::QuantizationAwareTraining;
use state::QuantizationState;
use whole_network::WholeNetwork;

pub const SLUG: &str = "quantization";

/// An accuracy as a percentage, as every table of the chapter shows it.
fn pct(a: f64) -> String {
    format!("{:.2}%", 100.0 * a)
}

#[component]
pub fn Quantization(location: Location) -> impl IntoView {
    let (state, notices) = QuantizationState::new(&location);
    provide_context(state);
    let load = state.load;

    view! {
        <article class="chapter">
            <h1>"Quantizing the trained network"</h1>
            <UrlNotices notices/>
            <Prose html=prose!(r#"
                <p class="lede">A trained network stores every weight as a 32-bit float.
                Quantization stores fewer bits per weight: either an index into a small table of
                values (k-means), or an integer on an evenly spaced grid (linear), which integer
                hardware can compute with directly. Everything below runs on the image lab's
                network, trained on Fashion-MNIST, and its real test images, in this browser.</p>
            "#)/>
            <LoadStatus load/>

            <KMeansOneLayer/>
            <WholeNetwork/>
            <QuantizationAwareTraining/>
            <LinearQuantization/>
            <IntegerOnlyInference/>
            <KMeansOrLinear/>
        </article>
    }
}
