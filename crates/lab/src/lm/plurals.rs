//! The pluralize word list (`assets/lm/plurals.tsv`, written by `scripts/lm/plurals.py`): WordNet
//! nouns with the plural the `inflect` library gives, the rule that makes it, and the split.
//! Splits: `test` (the notebook's irregular nouns: foot, man, person, self, wife, wolf, woman),
//! `train` and `val` (a seeded shuffle of a pool of frequent nouns of every rule, the last 10%
//! validation), `diagnostic` (nouns kept out of the generated sentences), `nonce` (made-up words,
//! "wug", also kept out), and `corpus` (every other noun: it appears in the sentences only).

/// How a noun's plural is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    S,
    Es,
    YIes,
    FVes,
    ManMen,
    Irregular,
    Unchanged,
}

impl Rule {
    pub const ALL: [Rule; 7] = [
        Rule::S,
        Rule::Es,
        Rule::YIes,
        Rule::FVes,
        Rule::ManMen,
        Rule::Irregular,
        Rule::Unchanged,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::S => "+s",
            Rule::Es => "+es",
            Rule::YIes => "y->ies",
            Rule::FVes => "f->ves",
            Rule::ManMen => "-man->-men",
            Rule::Irregular => "irregular",
            Rule::Unchanged => "unchanged",
        }
    }

    pub fn parse(s: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.name() == s)
    }
}

/// Where a noun belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    Train,
    Val,
    Test,
    Diagnostic,
    Nonce,
    Corpus,
}

impl Split {
    pub const ALL: [Split; 6] = [
        Split::Train,
        Split::Val,
        Split::Test,
        Split::Diagnostic,
        Split::Nonce,
        Split::Corpus,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
            Split::Diagnostic => "diagnostic",
            Split::Nonce => "nonce",
            Split::Corpus => "corpus",
        }
    }

    /// Whether the generated sentences may hold the noun.
    pub fn in_sentences(self) -> bool {
        !matches!(self, Split::Diagnostic | Split::Nonce)
    }
}

/// One noun.
#[derive(Clone, Debug, PartialEq)]
pub struct Noun {
    pub singular: String,
    pub plural: String,
    pub rule: Rule,
    pub split: Split,
    /// WordNet's count of the noun's senses tagged in its corpus (a frequency; 0 for nonce words).
    pub tagged: u32,
}

/// The notebook's test nouns.
pub const TEST_NOUNS: [&str; 7] = ["foot", "man", "person", "self", "wife", "wolf", "woman"];

/// Read the TSV (comment lines start with '#', then a header); a bad line is an error naming it.
pub fn parse(tsv: &str) -> Result<Vec<Noun>, String> {
    let mut lines = tsv
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty());
    match lines.next() {
        Some((_, h))
            if h.split('\t')
                .take(4)
                .eq(["singular", "plural", "rule", "split"]) => {}
        _ => return Err("plurals: the header must start singular, plural, rule, split".into()),
    }
    lines
        .map(|(i, line)| {
            let bad = |what: &str| format!("plurals line {}: {what}: {line:?}", i + 1);
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() < 5 {
                return Err(bad("five tab-separated fields expected"));
            }
            let word = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase());
            if !word(f[0]) || !word(f[1]) {
                return Err(bad("nouns are lower-case letters"));
            }
            Ok(Noun {
                singular: f[0].into(),
                plural: f[1].into(),
                rule: Rule::parse(f[2]).ok_or_else(|| bad("unknown rule"))?,
                split: Split::ALL
                    .into_iter()
                    .find(|s| s.name() == f[3])
                    .ok_or_else(|| bad("unknown split"))?,
                tagged: f[4].parse().map_err(|_| bad("tagged count"))?,
            })
        })
        .collect()
}

/// The nouns of one split.
pub fn of(nouns: &[Noun], split: Split) -> Vec<&Noun> {
    nouns.iter().filter(|n| n.split == split).collect()
}

/// How many training nouns the shipped list has (a test holds the file to it).
pub const TRAIN_COUNT: usize = 369;

/// `n` of `nouns`, evenly spaced through the list (item ⌊k·len/n⌋ for k < n), so that a smaller
/// training set still spans the alphabetical list and its rules; all of them when `n` ≥ len.
/// Item i is one of those when some whole k lies in [i·n/len, (i+1)·n/len).
pub fn spaced(mut nouns: Vec<&Noun>, n: usize) -> Vec<&Noun> {
    let len = nouns.len();
    let mut i = 0;
    nouns.retain(|_| {
        i += 1;
        n >= len || (i * n).div_ceil(len) > ((i - 1) * n).div_ceil(len)
    });
    nouns
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../../../assets/lm/plurals.tsv");

    #[test]
    fn the_shipped_list_has_the_notebook_split() {
        let nouns = parse(SHIPPED).unwrap();
        let test: Vec<&str> = of(&nouns, Split::Test)
            .iter()
            .map(|n| n.singular.as_str())
            .collect();
        assert_eq!(test, TEST_NOUNS);
        let person = nouns.iter().find(|n| n.singular == "person").unwrap();
        assert_eq!(person.plural, "people");
        let (train, val) = (of(&nouns, Split::Train), of(&nouns, Split::Val));
        assert_eq!(train.len(), TRAIN_COUNT);
        assert_eq!(val.len(), (train.len() + val.len()) / 10);
        let diag = of(&nouns, Split::Diagnostic);
        assert_eq!(diag.len(), 40);
        let irregular = diag
            .iter()
            .filter(|n| !matches!(n.rule, Rule::S | Rule::Es | Rule::YIes))
            .count();
        assert_eq!(irregular, 10);
        assert_eq!(of(&nouns, Split::Nonce).len(), 40);
        for rule in Rule::ALL {
            assert!(train.iter().any(|n| n.rule == rule), "{rule:?}");
        }
        for n in &nouns {
            assert!((3..=10).contains(&n.singular.len()) || n.split == Split::Nonce);
        }
    }

    #[test]
    fn a_smaller_training_set_is_spread_through_the_list() {
        let nouns = parse(SHIPPED).unwrap();
        let train = of(&nouns, Split::Train);
        let names = |v: &[&Noun]| v.iter().map(|n| n.singular.clone()).collect::<Vec<_>>();
        assert_eq!(names(&spaced(train.clone(), TRAIN_COUNT)), names(&train));
        assert_eq!(names(&spaced(train.clone(), 1000)), names(&train));
        for n in [1, 4, 7, 40, 368] {
            let want: Vec<&Noun> = (0..n).map(|k| train[k * TRAIN_COUNT / n]).collect();
            assert_eq!(names(&spaced(train.clone(), n)), names(&want), "{n}");
        }
        let few = spaced(train.clone(), 40);
        assert_eq!(few.len(), 40);
        assert_eq!(few[0].singular, train[0].singular);
        assert_eq!(few[39].singular, train[39 * TRAIN_COUNT / 40].singular);
        // In the list's (alphabetical) order with no noun twice, and from both of its ends.
        let mut unique = names(&few);
        unique.dedup();
        assert_eq!(unique.len(), 40);
        assert!(few[39].singular.as_str() > "s", "{}", few[39].singular);
        for rule in Rule::ALL {
            assert!(few.iter().any(|n| n.rule == rule), "{rule:?}");
        }
    }

    #[test]
    fn bad_lines_are_named() {
        let head = "singular\tplural\trule\tsplit\ttagged\n";
        assert!(parse("wolf\twolves\n").unwrap_err().contains("header"));
        let e = parse(&format!("{head}wolf\twolves\tf->ves\tnowhere\t1\n")).unwrap_err();
        assert!(e.contains("line 2") && e.contains("split"), "{e}");
        let e = parse(&format!("{head}Wolf\twolves\tf->ves\ttest\t1\n")).unwrap_err();
        assert!(e.contains("lower-case"), "{e}");
        assert!(parse(&format!("{head}wolf\twolves\n")).is_err());
    }
}
