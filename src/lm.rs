//! The language model of chapters 4 and 5 in the page: its weights are downloaded only when a page
//! that needs them opens (never on the front page), with byte-level progress, checked against the
//! SHA-256 the lab records for the shipped file, and kept for the rest of the visit. A missing or
//! corrupt file is a named message, never a panic.

use crate::vision::data::{fetch_with_status, load_once, LoadState};
use glassbox_lab::lm::{shipped, Model, Vocab};
use leptos::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

/// The weights file, as `index.html` copies it into `dist/`.
pub const WEIGHTS_URL: &str = "glassbox-lm.bin";

pub struct LoadedLm {
    pub model: Model,
    pub vocab: Vocab,
}

thread_local! {
    static LOADED: RefCell<Option<Rc<LoadedLm>>> = const { RefCell::new(None) };
}

/// The model, downloading and checking it the first time.
pub async fn ensure_lm(load: RwSignal<LoadState>) -> Option<Rc<LoadedLm>> {
    let fetch = async move {
        let bytes = fetch_with_status(WEIGHTS_URL, "the language model's weights", load).await?;
        load.set(LoadState::Loading("Checking the weights…".into(), None));
        crate::web::sleep(0).await;
        let (model, vocab) = shipped::check(&bytes)?;
        Ok(LoadedLm { model, vocab })
    };
    load_once(
        &LOADED,
        load,
        "The language model could not be loaded",
        fetch,
    )
    .await
}
