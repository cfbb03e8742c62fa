//! The language model's text, one line each:
//! - WordNet 3.0's glosses (with their quoted examples), one per synset as "word, word: gloss";
//! - generated sentences that pair a noun's singular and plural in 20 everyday templates ("one
//!   wolf, two wolves"), `PER_NOUN` per noun;
//! - generated lists of 3 to 6 singular/plural pairs in one of `LIST_FORMATS` each ("cat, cats;
//!   box, boxes; ..."), some a pair per line: a pattern repeated, as a few-shot prompt repeats its
//!   examples one per line, so the model meets text whose format it must carry on, also across
//!   lines (every other line of the corpus is unrelated to the one before it);
//! - lists of 20 to 60 uniformly random digits in a few formats ("random digits: 4, 7, 1, ...").
//!
//! None takes the form "The plural of X is" that chapter 4 prompts with (one list format is its
//! reverse, "The singular of wolves is wolf.": the frame is known, the question is not), and
//! nouns of the `diagnostic` and `nonce` splits never appear in the generated lines.
//! The lines are shuffled with a seed; the last 5% of the text (from a line start) is held out.
//! Only printable ASCII and the newline are kept (a line with anything else is left out).
//! WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.

use super::plurals::Noun;
use crate::rng::Rng;

/// The templates: `{s}` the singular, `{p}` the plural, `{a}` "a" or "an" for the singular.
pub const TEMPLATES: [&str; 20] = [
    "one {s}, two {p}",
    "this {s} and those {p}",
    "{a} {s} among many {p}",
    "I saw {a} {s}, and then three more {p}.",
    "one {s} here, several {p} there",
    "Every {s} is different, but all {p} need care.",
    "She bought one {s}; he bought five {p}.",
    "The {s} was alone until the other {p} arrived.",
    "How many {p}? Just one {s}.",
    "There is one {s} on the table and two {p} on the floor.",
    "my {s}, our {p}",
    "that {s} looks like these {p}",
    "Each {s} belongs with the other {p}.",
    "One {s} became a dozen {p}.",
    "Not one {s} but hundreds of {p}.",
    "The first {s} led the rest of the {p}.",
    "from one {s} to a thousand {p}",
    "Any {s} can join the {p}.",
    "{a} lonely {s} and a crowd of {p}",
    "We counted the {p}: one {s}, then another.",
];

/// Sentences per noun.
pub const PER_NOUN: usize = 6;

/// The pair lists' formats: (one pair with `{s}` and `{p}`, the separator between pairs).
pub const LIST_FORMATS: [(&str, &str); 7] = [
    ("{s}, {p}", "; "),
    ("{s} -> {p}", "\n"),
    ("one {s}, two {p}.", " "),
    ("singular: {s}, plural: {p}.", "\n"),
    ("{s}/{p}", " "),
    ("{s} ({p})", ", "),
    ("The singular of {p} is {s}.", "\n"),
];
/// Pair lists generated (each of 3 to 6 pairs).
pub const LISTS: usize = 20_000;
/// Digit lists generated (each of 20 to 60 digits), and their formats: (header, separator).
pub const DIGIT_LISTS: usize = 4_000;
pub const DIGIT_FORMATS: [(&str, &str); 4] = [
    ("random digits: ", ", "),
    ("digits: ", " "),
    ("a sequence of digits: ", ""),
    ("numbers drawn at random: ", ", "),
];
/// Share of the text held out for evaluation.
pub const HELD_OUT: f64 = 0.05;

/// One line per synset of a WordNet `data.*` file: its first three words, then its gloss.
pub fn glosses(data: &str) -> Vec<String> {
    data.lines()
        .filter(|l| !l.starts_with("  "))
        .filter_map(|l| {
            let (head, gloss) = l.split_once(" | ")?;
            let f: Vec<&str> = head.split(' ').collect();
            let count = usize::from_str_radix(f.get(3)?, 16).ok()?;
            let words: Vec<String> = (0..count.min(3))
                .filter_map(|i| f.get(4 + 2 * i))
                .map(|w| clean_word(w))
                .collect();
            Some(format!("{}: {}", words.join(", "), gloss.trim()))
        })
        .filter(|l| printable(l))
        .collect()
}

/// A WordNet lemma as text: underscores to spaces, without an adjective's position marker.
fn clean_word(w: &str) -> String {
    let w = w.split('(').next().unwrap_or(w);
    w.replace('_', " ")
}

fn printable(l: &str) -> bool {
    l.bytes().all(|b| (32..127).contains(&b))
}

/// `PER_NOUN` sentences for each noun whose split allows them, templates drawn with `seed`.
pub fn sentences(nouns: &[Noun], seed: u64) -> Vec<String> {
    let mut rng = Rng::stream(seed, 17);
    let mut out = Vec::new();
    for n in nouns.iter().filter(|n| n.split.in_sentences()) {
        let a = if n.singular.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        for _ in 0..PER_NOUN {
            let t = TEMPLATES[rng.below(TEMPLATES.len())];
            let s = t
                .replace("{s}", &n.singular)
                .replace("{p}", &n.plural)
                .replace("{a}", a);
            out.push(capitalised(&s, t));
        }
    }
    out
}

/// `LISTS` lists of 3 to 6 pairs of nouns whose split allows sentences, drawn with `seed` (a list
/// over several lines stays together when the lines are shuffled).
pub fn pair_lists(nouns: &[Noun], seed: u64) -> Vec<String> {
    let pool: Vec<&Noun> = nouns.iter().filter(|n| n.split.in_sentences()).collect();
    if pool.is_empty() {
        return Vec::new();
    }
    let mut rng = Rng::stream(seed, 19);
    (0..LISTS)
        .map(|_| {
            let (pair, sep) = LIST_FORMATS[rng.below(LIST_FORMATS.len())];
            let len = 3 + rng.below(4);
            (0..len)
                .map(|_| {
                    let n = pool[rng.below(pool.len())];
                    pair.replace("{s}", &n.singular).replace("{p}", &n.plural)
                })
                .collect::<Vec<_>>()
                .join(sep)
        })
        .collect()
}

/// `DIGIT_LISTS` lines of 20 to 60 uniformly random digits, drawn with `seed`.
pub fn digit_lists(seed: u64) -> Vec<String> {
    let mut rng = Rng::stream(seed, 20);
    (0..DIGIT_LISTS)
        .map(|_| {
            let (head, sep) = DIGIT_FORMATS[rng.below(DIGIT_FORMATS.len())];
            let len = 20 + rng.below(41);
            let digits: Vec<String> = (0..len).map(|_| rng.below(10).to_string()).collect();
            format!("{head}{}", digits.join(sep))
        })
        .collect()
}

/// A template that starts with `{a}` starts its sentence: "A" / "An" when it ends with a full stop.
fn capitalised(s: &str, template: &str) -> String {
    if template.starts_with("{a}") && template.ends_with('.') {
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
            .unwrap_or_default()
    } else {
        s.to_string()
    }
}

/// The whole text: every line shuffled with `seed`, one per line, ending with a newline.
pub fn build(mut lines: Vec<String>, seed: u64) -> String {
    let mut rng = Rng::stream(seed, 18);
    rng.shuffle(&mut lines);
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// (training text, held-out text): the cut is the first line start after `1 - HELD_OUT` of it.
pub fn split(text: &str) -> (&str, &str) {
    let at = ((text.len() as f64) * (1.0 - HELD_OUT)) as usize;
    let cut = text
        .get(at..)
        .and_then(|t| t.find('\n'))
        .map(|i| at + i + 1)
        .unwrap_or(text.len());
    text.split_at(cut)
}

/// Every word of `text` (a maximal run of ASCII letters, lower-cased) with its count, the most
/// frequent first (ties in alphabetical order).
pub fn word_counts(text: &str) -> Vec<(String, usize)> {
    let mut counts = std::collections::HashMap::<String, usize>::new();
    for w in text
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
    {
        *counts.entry(w.to_ascii_lowercase()).or_default() += 1;
    }
    crate::rank::by_count(counts)
}

/// The `top` most frequent words as a TSV (rank, word, count), after a comment line with the
/// corpus's word count.
pub fn words_tsv(counts: &[(String, usize)], top: usize) -> String {
    let total: usize = counts.iter().map(|c| c.1).sum();
    let mut s = format!("# words in the corpus: {total}\nrank\tword\tcount\n");
    for (i, (w, n)) in counts.iter().take(top).enumerate() {
        s.push_str(&format!("{}\t{w}\t{n}\n", i + 1));
    }
    s
}

/// The ranks of a `words_tsv` file: word -> rank (1 = the most frequent).
pub fn parse_words_tsv(tsv: &str) -> std::collections::HashMap<String, usize> {
    tsv.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("rank"))
        .filter_map(|l| {
            let mut f = l.split('\t');
            let rank = f.next()?.parse().ok()?;
            Some((f.next()?.to_string(), rank))
        })
        .collect()
}

/// The SHA-256 of `bytes`, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::plurals::{Rule, Split};
    use super::*;

    const DATA: &str = "  1 This software and database is being provided to you
00217014 04 n 02 destruction 0 devastation 0 018 @ 00209943 n 0000 | the termination of something by causing so much damage to it that it cannot be repaired or no longer exists  
00001740 00 a 01 able(a) 0 005 = 05207437 n 0000 | (usually followed by `to') having the necessary means or skill or know-how; \"able to swim\"  
00002000 00 a 01 caf\u{e9} 0 000 | not ascii  
";

    fn noun(s: &str, p: &str, split: Split) -> Noun {
        Noun {
            singular: s.into(),
            plural: p.into(),
            rule: Rule::FVes,
            split,
            tagged: 1,
        }
    }

    #[test]
    fn glosses_name_their_words_and_keep_examples() {
        let g = glosses(DATA);
        assert_eq!(g.len(), 2, "{g:?}");
        assert!(g[0].starts_with("destruction, devastation: the termination of something"));
        assert_eq!(
            g[1],
            "able: (usually followed by `to') having the necessary means or skill or know-how; \"able to swim\""
        );
    }

    #[test]
    fn sentences_pair_the_forms_and_leave_out_the_diagnostic_nouns() {
        let nouns = [
            noun("wolf", "wolves", Split::Test),
            noun("elf", "elves", Split::Train),
            noun("wug", "wugs", Split::Nonce),
            noun("calf", "calves", Split::Diagnostic),
        ];
        let s = sentences(&nouns, 1);
        assert_eq!(s.len(), 2 * PER_NOUN);
        assert!(s[..PER_NOUN]
            .iter()
            .all(|l| l.contains("wolf") && l.contains("wolves")));
        assert!(s[PER_NOUN..]
            .iter()
            .all(|l| l.contains("elf") && l.contains("elves")));
        assert!(!s.iter().any(|l| l.contains("wug") || l.contains("calf")));
        assert!(!s.iter().any(|l| l.to_lowercase().contains("plural")));
        assert_eq!(s, sentences(&nouns, 1), "seeded");
        assert!(s.iter().any(|l| l.contains("an elf")) || !s.iter().any(|l| l.contains("a elf")));
    }

    #[test]
    fn pair_lists_repeat_one_format_and_digit_lists_are_uniform() {
        let nouns = [
            noun("wolf", "wolves", Split::Test),
            noun("elf", "elves", Split::Train),
            noun("wug", "wugs", Split::Nonce),
            noun("calf", "calves", Split::Diagnostic),
        ];
        let lists = pair_lists(&nouns, 2);
        assert_eq!(lists.len(), LISTS);
        assert_eq!(lists, pair_lists(&nouns, 2), "seeded");
        for l in &lists[..200] {
            assert!(!l.contains("wug") && !l.contains("calf"), "{l}");
            assert!(!l.to_lowercase().contains("the plural of"), "{l}");
            let items = |p: &str| {
                ["wolf", "elf"].map(|w| {
                    p.replace("{s}", w)
                        .replace("{p}", &format!("{}ves", &w[..w.len() - 1]))
                })
            };
            // The number of pairs when `l` is pairs of one format joined by its separator.
            let pairs = |(p, sep): &(&str, &str)| {
                let (mut rest, mut n) = (l.as_str(), 0);
                loop {
                    let item = items(p)
                        .into_iter()
                        .find(|i| rest.starts_with(i.as_str()))?;
                    rest = &rest[item.len()..];
                    n += 1;
                    if rest.is_empty() {
                        return Some(n);
                    }
                    rest = rest.strip_prefix(sep)?;
                }
            };
            let n = LIST_FORMATS
                .iter()
                .find_map(pairs)
                .unwrap_or_else(|| panic!("{l}: not one format"));
            assert!((3..=6).contains(&n), "{l}");
        }
        let digits = digit_lists(4);
        assert_eq!(digits.len(), DIGIT_LISTS);
        let mut counts = [0usize; 10];
        for l in &digits {
            let (head, _) = DIGIT_FORMATS
                .iter()
                .find(|(h, _)| l.starts_with(h))
                .unwrap();
            for c in l[head.len()..].chars().filter(|c| c.is_ascii_digit()) {
                counts[c as usize - '0' as usize] += 1;
            }
        }
        let (_, p) = crate::stats::chi_square_uniform(&counts).unwrap();
        assert!(p > 0.001, "{counts:?}: p {p}");
    }

    #[test]
    fn words_are_counted_and_ranked() {
        let c = word_counts("The cat; the CAT and a dog, the end.");
        assert_eq!(c[0], ("the".into(), 3));
        assert_eq!(c[1], ("cat".into(), 2));
        assert_eq!(c[2], ("a".into(), 1), "ties alphabetical");
        let ranks = parse_words_tsv(&words_tsv(&c, 3));
        assert_eq!((ranks["the"], ranks["cat"], ranks.get("dog")), (1, 2, None));
    }

    #[test]
    fn the_split_cuts_at_a_line_start_and_loses_nothing() {
        let text = build((0..100).map(|i| format!("line {i}")).collect(), 3);
        let (train, held) = split(&text);
        assert_eq!(format!("{train}{held}"), text);
        assert!(train.ends_with('\n') && held.starts_with("line "));
        let share = held.len() as f64 / text.len() as f64;
        assert!((0.03..0.06).contains(&share), "{share}");
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
