//! One module per chapter. A chapter lays out prose and live figures and calls `glassbox_lab`.

pub mod attention;
pub mod bench;
pub mod fine_tuning;
pub mod home;
pub mod image_lab;
pub mod meta_learning;
pub mod prompting;
pub mod pruning;
pub mod quantization;
pub mod soft_prompting;
pub mod under_the_hood;

/// The chapters that exist, in reading order: (the homework's problem number, URL slug, title).
pub const CHAPTERS: &[(u32, &str, &str)] = &[
    (
        1,
        meta_learning::SLUG,
        "Meta-learning for learning 1D functions",
    ),
    (2, attention::SLUG, "Attention in a captioning transformer"),
    (3, fine_tuning::SLUG, "Fine-tuning under distribution shift"),
    (4, prompting::SLUG, "Prompting a language model"),
    (5, soft_prompting::SLUG, "Soft prompting"),
    (6, pruning::SLUG, "Pruning the trained network"),
    (7, quantization::SLUG, "Quantizing the trained network"),
];
