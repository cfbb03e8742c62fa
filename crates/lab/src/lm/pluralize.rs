//! Chapter 4's pluralize task (the notebook's): a noun's plural, asked with the hard prompt
//! "The plural of X is" after k worked examples.
//!
//! - Examples: "The plural of {s} is {p}.\n", the first k of the training nouns in a seeded shuffle
//!   (so k + 1 shots extend k's). With wrong labels, example i's plural is example i + 1's (the
//!   last takes the first's): a derangement, so every label is some other noun's plural.
//! - The answer: the model continues greedily (temperature 0) for at most `ANSWER_CHARS`
//!   characters, stopping after a newline or a period. Extraction: skip spaces; the answer is the
//!   run of letters (and hyphens and apostrophes) that follows; none is **invalid**. Otherwise it is
//!   **correct** when it equals the label, ignoring case, and **incorrect** when not.
//! - Its probability: the product of the probabilities the model gave each character up to the
//!   end of the answer, the leading spaces included.
//! - A prompt longer than the context is read from its end (`Generator`), so beyond a few shots the
//!   oldest examples fall out of what the model sees.

use super::batch::Extras;
use super::generator::Generator;
use super::model::Model;
use super::plurals::{Noun, Rule};
use super::sample::{complete, Sampling};
use super::tokenizer::Vocab;
use crate::rng::Rng;

/// Most characters generated for an answer.
pub const ANSWER_CHARS: usize = 20;
/// Most worked examples.
pub const MAX_SHOTS: usize = 9;

/// The hard prompt for `noun`.
pub fn question(noun: &str) -> String {
    format!("The plural of {noun} is")
}

/// One worked example.
pub fn example(singular: &str, plural: &str) -> String {
    format!("{} {plural}.\n", question(singular))
}

/// `shots` (at most `MAX_SHOTS`) worked examples from `train`, as the module says.
pub fn examples(
    train: &[&Noun],
    shots: usize,
    wrong_labels: bool,
    seed: u64,
) -> Result<Vec<(String, String)>, String> {
    if shots > MAX_SHOTS {
        return Err(format!("{shots} shots: at most {MAX_SHOTS}"));
    }
    if shots > train.len() {
        return Err(format!(
            "{shots} shots but only {} training nouns",
            train.len()
        ));
    }
    let mut order: Vec<usize> = (0..train.len()).collect();
    Rng::new(seed).shuffle(&mut order);
    let chosen: Vec<&Noun> = order[..shots].iter().map(|&i| train[i]).collect();
    Ok((0..shots)
        .map(|i| {
            let label = if wrong_labels && shots > 1 {
                &chosen[(i + 1) % shots].plural
            } else {
                &chosen[i].plural
            };
            (chosen[i].singular.clone(), label.clone())
        })
        .collect())
}

/// The whole prompt: the examples, then the question.
pub fn prompt(examples: &[(String, String)], noun: &str) -> String {
    let mut p: String = examples.iter().map(|(s, l)| example(s, l)).collect();
    p.push_str(&question(noun));
    p
}

/// A greedy generator for the answer to `prompt`, in sessions of `room` positions.
pub fn generator(vocab: &Vocab, prompt: &str, room: usize) -> Result<Generator, String> {
    let ids = vocab.encode(prompt)?;
    let greedy = Sampling {
        temperature: 0.0,
        top_k: 0,
        seed: 0,
    };
    let stop: Vec<u32> = ['\n', '.'].iter().filter_map(|&c| vocab.id(c)).collect();
    Ok(Generator::new(&ids, ANSWER_CHARS, greedy, room)?.stop_at(&stop))
}

/// `noun`'s plural as `model` answers `prompt` on the CPU, scored.
pub fn answer(model: &Model, vocab: &Vocab, prompt: &str, noun: &Noun) -> Result<Answer, String> {
    let gen = generator(vocab, prompt, model.config.context)?;
    let (tokens, probs) = complete(model, Extras::default(), gen)?;
    Ok(score(noun, &vocab.decode(&tokens)?, &probs))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Correct,
    Incorrect,
    Invalid,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Correct => "correct",
            Verdict::Incorrect => "incorrect",
            Verdict::Invalid => "invalid",
        }
    }
}

/// The answer in `continuation`, as (its text, the character index just past its end); None if
/// the continuation holds no answer. A word is ASCII letters, '-' and '\'' (the model writes only
/// the corpus's printable ASCII).
pub fn extract(continuation: &str) -> Option<(String, usize)> {
    let chars: Vec<char> = continuation.chars().collect();
    let start = chars.iter().position(|&c| c != ' ')?;
    let word = |c: char| c.is_ascii_alphabetic() || c == '-' || c == '\'';
    let len = chars[start..].iter().take_while(|&&c| word(c)).count();
    (len > 0).then(|| (chars[start..start + len].iter().collect(), start + len))
}

/// One scored answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub noun: String,
    pub expected: String,
    pub rule: Rule,
    /// What the model wrote after the prompt.
    pub continuation: String,
    /// The extracted answer (empty when invalid).
    pub answer: String,
    pub verdict: Verdict,
    /// The probability the model gave the answer (0 when invalid).
    pub prob: f32,
}

/// Score `continuation` (with the probability of each of its characters) as `noun`'s answer.
pub fn score(noun: &Noun, continuation: &str, probs: &[f32]) -> Answer {
    let (answer, verdict, prob) = match extract(continuation) {
        None => (String::new(), Verdict::Invalid, 0.0),
        Some((a, end)) => {
            let prob = probs.iter().take(end).product();
            let v = if a.to_ascii_lowercase() == noun.plural {
                Verdict::Correct
            } else {
                Verdict::Incorrect
            };
            (a, v, prob)
        }
    };
    Answer {
        noun: noun.singular.clone(),
        expected: noun.plural.clone(),
        rule: noun.rule,
        continuation: continuation.into(),
        answer,
        verdict,
        prob,
    }
}

/// A set of answers summed up.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub total: usize,
    pub correct: usize,
    pub invalid: usize,
    /// (rule, correct, total) for each rule present, in `Rule::ALL`'s order.
    pub per_rule: Vec<(Rule, usize, usize)>,
}

impl Summary {
    pub fn of(answers: &[Answer]) -> Summary {
        let count = |v: Verdict| answers.iter().filter(|a| a.verdict == v).count();
        let per_rule = Rule::ALL
            .into_iter()
            .filter_map(|r| {
                let of: Vec<&Answer> = answers.iter().filter(|a| a.rule == r).collect();
                let right = of.iter().filter(|a| a.verdict == Verdict::Correct).count();
                (!of.is_empty()).then_some((r, right, of.len()))
            })
            .collect();
        Summary {
            total: answers.len(),
            correct: count(Verdict::Correct),
            invalid: count(Verdict::Invalid),
            per_rule,
        }
    }

    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.total.max(1) as f64
    }

    pub fn invalid_rate(&self) -> f64 {
        self.invalid as f64 / self.total.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lm::plurals::Split;

    fn noun(s: &str, p: &str, rule: Rule) -> Noun {
        Noun {
            singular: s.into(),
            plural: p.into(),
            rule,
            split: Split::Train,
            tagged: 1,
        }
    }

    #[test]
    fn answers_are_extracted_and_scored_by_the_stated_rule() {
        let wolf = noun("wolf", "wolves", Rule::FVes);
        let probs = [0.5, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.1, 0.1];
        let a = score(&wolf, " wolves.", &probs);
        assert_eq!((a.answer.as_str(), a.verdict), ("wolves", Verdict::Correct));
        assert!((a.prob - 0.25).abs() < 1e-7, "{}", a.prob);
        let a = score(&wolf, " Wolves and", &probs);
        assert_eq!(a.verdict, Verdict::Correct, "case is ignored");
        let a = score(&wolf, " wolfs.", &probs);
        assert_eq!(
            (a.answer.as_str(), a.verdict),
            ("wolfs", Verdict::Incorrect)
        );
        for bad in ["", "   ", " .", "\n", " \"wolves\""] {
            let a = score(&wolf, bad, &probs);
            assert_eq!((a.verdict, a.prob), (Verdict::Invalid, 0.0), "{bad:?}");
        }
        assert_eq!(
            extract("  mother-in-law's x"),
            Some(("mother-in-law's".into(), 17))
        );
    }

    #[test]
    fn examples_nest_and_wrong_labels_are_a_derangement() {
        let nouns = [
            noun("cat", "cats", Rule::S),
            noun("box", "boxes", Rule::Es),
            noun("city", "cities", Rule::YIes),
            noun("leaf", "leaves", Rule::FVes),
        ];
        let train: Vec<&Noun> = nouns.iter().collect();
        let three = examples(&train, 3, false, 7).unwrap();
        let two = examples(&train, 2, false, 7).unwrap();
        assert_eq!(three[..2], two[..]);
        let wrong = examples(&train, 3, true, 7).unwrap();
        for (i, (s, l)) in wrong.iter().enumerate() {
            assert_eq!(s, &three[i].0);
            assert_ne!(l, &three[i].1, "example {i} keeps a wrong label");
            assert_eq!(l, &three[(i + 1) % 3].1);
        }
        assert!(examples(&train, 10, false, 7).is_err());
        assert!(examples(&train, 5, false, 7).is_err());
        let p = prompt(&two, "wolf");
        assert!(p.ends_with("\nThe plural of wolf is"), "{p}");
        assert_eq!(p.matches(".\n").count(), 2);
        let s = Summary::of(&[
            score(&nouns[0], " cats.", &[1.0; 6]),
            score(&nouns[1], " boxs.", &[1.0; 6]),
            score(&nouns[2], "", &[]),
        ]);
        assert_eq!((s.total, s.correct, s.invalid), (3, 1, 1));
        assert_eq!(
            s.per_rule,
            vec![(Rule::S, 1, 1), (Rule::Es, 0, 1), (Rule::YIes, 0, 1)]
        );
    }
}
