//! Classification by prompting (the homework's multiple-choice questions): which of four spellings
//! is a noun's plural.
//!
//! - The options: the true plural and three wrong ones made by other rules (+s, +es, y->ies,
//!   f->ves, unchanged, +en), in a seeded order. The question: "wolf: A wolfs, B wolves, C wolfes,
//!   D wolvs. Answer:".
//! - Strategies: **bare** (the question alone), **instruction** ("Pick the plural." on the line
//!   before), **few-shot** (two worked questions with their letters, one per line, before it).
//! - Scoring by **generation**: the model writes greedily; the first character that is not a
//!   space is its answer: A-D is valid (right or wrong), anything else **invalid**. Scoring by
//!   **likelihood**: the letter among A-D the model gives the highest probability as the next
//!   character: always valid.

use super::generator::Generator;
use super::plurals::Noun;
use super::sample::Sampling;
use super::tokenizer::Vocab;
use crate::rng::Rng;

pub const LETTERS: [char; 4] = ['A', 'B', 'C', 'D'];
/// Characters generated for an answer.
pub const ANSWER_CHARS: usize = 3;
pub const INSTRUCTION: &str = "Pick the plural.\n";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    Bare,
    Instruction,
    FewShot,
}

impl Strategy {
    pub const ALL: [Strategy; 3] = [Strategy::Bare, Strategy::Instruction, Strategy::FewShot];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Bare => "bare",
            Strategy::Instruction => "instruction",
            Strategy::FewShot => "few-shot",
        }
    }
}

/// One question.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub noun: String,
    pub options: [String; 4],
    /// The index of the true plural.
    pub answer: usize,
}

/// Wrong plurals of `s` by other rules than the one that makes `plural`.
fn distractors(s: &str, plural: &str) -> Vec<String> {
    let stem = |n: usize| &s[..s.len().saturating_sub(n)];
    let mut c = vec![
        format!("{s}s"),
        format!("{s}es"),
        format!("{}ies", stem(1)),
        format!("{}ves", stem(1)),
        s.to_string(),
        format!("{s}en"),
        format!("{}ves", stem(2)),
    ];
    c.retain(|w| w != plural && !w.is_empty());
    c.dedup();
    let mut seen = Vec::new();
    c.retain(|w| {
        let new = !seen.contains(w);
        seen.push(w.clone());
        new
    });
    c
}

/// The question about `noun`, its options drawn with `seed`.
pub fn item(noun: &Noun, seed: u64) -> Item {
    let mut rng = Rng::new(seed);
    let mut wrong = distractors(&noun.singular, &noun.plural);
    rng.shuffle(&mut wrong);
    wrong.truncate(3);
    let answer = rng.below(4);
    let mut options: Vec<String> = wrong;
    options.insert(answer.min(options.len()), noun.plural.clone());
    let options: [String; 4] = std::array::from_fn(|i| options.get(i).cloned().unwrap_or_default());
    Item {
        noun: noun.singular.clone(),
        options,
        answer,
    }
}

/// "wolf: A wolfs, B wolves, C wolfes, D wolvs. Answer:"
pub fn question(item: &Item) -> String {
    let opts: Vec<String> = LETTERS
        .iter()
        .zip(&item.options)
        .map(|(l, o)| format!("{l} {o}"))
        .collect();
    format!("{}: {}. Answer:", item.noun, opts.join(", "))
}

/// The few-shot strategy's two worked questions: two training nouns of a seeded shuffle.
pub fn examples(train: &[&Noun], seed: u64) -> Vec<Item> {
    let mut order: Vec<usize> = (0..train.len()).collect();
    Rng::stream(seed, 21).shuffle(&mut order);
    order
        .iter()
        .take(2)
        .map(|&i| item(train[i], seed ^ 0x5eed ^ i as u64))
        .collect()
}

/// The whole prompt for `item` under `strategy` (few-shot uses `examples`).
pub fn prompt(strategy: Strategy, examples: &[Item], item: &Item) -> String {
    match strategy {
        Strategy::Bare => question(item),
        Strategy::Instruction => format!("{INSTRUCTION}{}", question(item)),
        Strategy::FewShot => {
            let mut p: String = examples
                .iter()
                .map(|e| format!("{} {}\n", question(e), LETTERS[e.answer]))
                .collect();
            p.push_str(&question(item));
            p
        }
    }
}

/// A greedy generator for the answer to `prompt`.
pub fn generator(vocab: &Vocab, prompt: &str, room: usize) -> Result<Generator, String> {
    let greedy = Sampling {
        temperature: 0.0,
        top_k: 0,
        seed: 0,
    };
    Generator::new(&vocab.encode(prompt)?, ANSWER_CHARS, greedy, room)
}

/// The letter the continuation answers with (its index), if its first non-space character is one.
pub fn read_letter(continuation: &str) -> Option<usize> {
    let c = continuation.chars().find(|&c| c != ' ')?;
    LETTERS.iter().position(|&l| l == c)
}

/// The letter with the highest probability among A-D in the next-character `probs`.
pub fn likeliest_letter(vocab: &Vocab, probs: &[f32]) -> Option<usize> {
    let p = |l: char| vocab.id(l).and_then(|i| probs.get(i as usize)).copied();
    (0..4)
        .filter_map(|i| p(LETTERS[i]).map(|q| (i, q)))
        .reduce(|a, b| if b.1 > a.1 { b } else { a })
        .map(|(i, _)| i)
}

/// Right, wrong, invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Right,
    Wrong,
    Invalid,
}

pub fn outcome(item: &Item, chosen: Option<usize>) -> Outcome {
    match chosen {
        None => Outcome::Invalid,
        Some(i) if i == item.answer => Outcome::Right,
        Some(_) => Outcome::Wrong,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lm::plurals::{Rule, Split};

    #[test]
    fn items_hold_the_plural_once_among_four_and_prompts_read_well() {
        let wolf = Noun {
            singular: "wolf".into(),
            plural: "wolves".into(),
            rule: Rule::FVes,
            split: Split::Test,
            tagged: 1,
        };
        for seed in 0..20 {
            let it = item(&wolf, seed);
            assert_eq!(it.options[it.answer], "wolves");
            assert_eq!(it.options.iter().filter(|o| *o == "wolves").count(), 1);
            let mut sorted = it.options.to_vec();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), 4, "{:?}", it.options);
        }
        let it = item(&wolf, 3);
        let q = question(&it);
        assert!(q.starts_with("wolf: A ") && q.ends_with(". Answer:"), "{q}");
        let few = prompt(Strategy::FewShot, &[it.clone(), it.clone()], &it);
        assert_eq!(few.lines().count(), 3);
        assert!(few.lines().next().unwrap().ends_with(LETTERS[it.answer]));
        assert!(prompt(Strategy::Instruction, &[], &it).starts_with(INSTRUCTION));
        assert_eq!(read_letter(" B."), Some(1));
        assert_eq!(read_letter(" the"), None);
        assert_eq!(read_letter(""), None);
        assert_eq!(outcome(&it, Some(it.answer)), Outcome::Right);
        assert_eq!(outcome(&it, None), Outcome::Invalid);
        let vocab = Vocab::from_chars("ABCDx").unwrap();
        assert_eq!(
            likeliest_letter(&vocab, &[0.1, 0.5, 0.2, 0.1, 0.1]),
            Some(1)
        );
    }
}
