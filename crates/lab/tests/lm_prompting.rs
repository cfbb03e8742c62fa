//! Chapter 4 on the shipped model: over three seeds of the examples' choice, some number of worked
//! examples beats none on the validation nouns (the homework's "few-shot beats zero-shot", as this
//! model shows it), and the sweep's answers are deterministic.

use glassbox_lab::lm::pluralize::{self, Summary, MAX_SHOTS};
use glassbox_lab::lm::plurals::{self, Split};
use glassbox_lab::lm::shipped;

const WEIGHTS: &[u8] = include_bytes!("../../../assets/lm/glassbox-lm.bin");
const PLURALS: &str = include_str!("../../../assets/lm/plurals.tsv");

#[test]
fn some_few_shot_count_beats_zero_shot_over_three_seeds() {
    let (model, vocab) = shipped::check(WEIGHTS).unwrap();
    let nouns = plurals::parse(PLURALS).unwrap();
    let (train, val) = (
        plurals::of(&nouns, Split::Train),
        plurals::of(&nouns, Split::Val),
    );
    let accuracy = |k: usize, seed: u64| {
        let examples = pluralize::examples(&train, k, false, seed).unwrap();
        let answers: Vec<_> = val
            .iter()
            .map(|n| {
                pluralize::answer(
                    &model,
                    &vocab,
                    &pluralize::prompt(&examples, &n.singular),
                    n,
                )
                .unwrap()
            })
            .collect();
        Summary::of(&answers).accuracy()
    };
    // Zero shots has no examples: the seed does not matter.
    let zero = accuracy(0, 0);
    let mean = |k: usize| (0..3).map(|seed| accuracy(k, seed)).sum::<f64>() / 3.0;
    let curve: Vec<f64> = (1..=MAX_SHOTS).map(mean).collect();
    let best = curve.iter().cloned().fold(0.0, f64::max);
    assert!(
        best > zero,
        "zero-shot {zero}, few-shot means over 3 seeds {curve:?}"
    );
}
