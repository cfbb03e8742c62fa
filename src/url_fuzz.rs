//! Fuzzing every chapter's URL parameters (tests only): seeded random links, each a mix of the
//! chapter's own keys, the teacher's keys and unknown ones, with hostile values (empty, huge,
//! NaN, infinities, signs, markup, percent-escapes, long and non-ASCII text). For every link:
//! no panic; every notice names a URL parameter the link gave; the settings the page takes, written
//! back as a link and read again, give the same settings and no notice (what the page shows is
//! always a valid, reproducible link); and a chapter key given a value that is not a number, a
//! name or a list the page can use is named in a notice. `GLASSBOX_FUZZ_SEED` and
//! `GLASSBOX_FUZZ_CASES` reproduce or lengthen a run (the seed is printed).

use crate::chapters::{
    attention, fine_tuning, image_lab, meta_learning, prompting, pruning, quantization,
    soft_prompting,
};
use crate::classroom::link::LessonLink;
use crate::url_state::Location;
use glassbox_lab::rng::Rng;

/// A chapter's reader: the notices, and its settings written back as a link.
type Reader = fn(&Location) -> (Vec<String>, Location);

/// Whether notice `n` names URL key `k` ("URL parameter k: ..." or "URL parameter Label (k): ...").
fn names(n: &str, k: &str) -> bool {
    n.starts_with(&format!("URL parameter {k}:"))
        || (n.starts_with("URL parameter ") && n.contains(&format!("({k}):")))
}

macro_rules! reader {
    ($m:path) => {{
        use $m as m;
        (|loc: &Location| {
            let (s, notices) = m::settings_from_location(loc);
            (notices, m::location_of(&s))
        }) as Reader
    }};
}

fn chapters() -> Vec<(&'static str, Reader)> {
    vec![
        ("meta-learning", reader!(meta_learning::state)),
        ("attention", |loc: &Location| {
            let (s, grid, notices) = attention::state::settings_from_location(loc);
            (
                notices,
                attention::state::location_of(&s, &grid.unwrap_or_default()),
            )
        }),
        ("fine-tuning", reader!(fine_tuning::fields)),
        ("prompting", reader!(prompting::state)),
        ("soft-prompting", reader!(soft_prompting::state)),
        ("pruning", reader!(pruning::state)),
        ("quantization", reader!(quantization::state)),
        ("image-lab", reader!(image_lab::state)),
    ]
}

const HOSTILE: &[&str] = &[
    "",
    " ",
    "0",
    "-0",
    "1",
    "-1",
    "0.5",
    "1e999",
    "-1e999",
    "1e-320",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "9999999999999999999999",
    "0x10",
    "1,2,3",
    ",,",
    "1..2",
    "+3",
    "3.",
    ".3",
    "1e3",
    "true",
    "false",
    "yes",
    "abc",
    "conv2",
    "conv99",
    "head",
    "block1,block9",
    "<img src=x onerror=alert(1)>",
    "\"><script>x</script>",
    "%",
    "%zz",
    "%41",
    "&",
    "=",
    "#",
    "?",
    "ü",
    "\u{0}",
    "😀",
    "a\nb",
    UNUSABLE,
];

/// A value no chapter key can use (how `keys_of` finds the keys that are checked).
const UNUSABLE: &str = "%not a value%";

/// A random value: hostile, a random number, or random bytes (a third each).
fn value(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => HOSTILE[rng.below(HOSTILE.len())].to_string(),
        1 => {
            let mag = 10f64.powi(rng.below(12) as i32 - 4);
            let v = rng.uniform(-1.0, 1.0) * mag;
            if rng.below(2) == 0 {
                format!("{}", v.round())
            } else {
                format!("{v}")
            }
        }
        _ => (0..rng.below(12))
            .map(|_| char::from(32 + rng.below(95) as u8))
            .collect(),
    }
}

/// A random link to `route`: some of `keys` (the chapter's own, from its defaults written out,
/// and every key its page reads) plus the teacher's keys and unknown ones.
fn link(rng: &mut Rng, route: &str, keys: &[String]) -> Location {
    let mut params = Vec::new();
    for _ in 0..1 + rng.below(6) {
        let key = match rng.below(10) {
            0 => ["hide", "lock", "step", "present"][rng.below(4)].to_string(),
            1 => format!("k{}", rng.below(100)),
            _ => keys[rng.below(keys.len())].clone(),
        };
        params.push((key, value(rng)));
    }
    Location {
        route: route.into(),
        params,
    }
}

/// Every key a chapter's reader takes: found by giving each candidate a value the page cannot
/// use and seeing it named in a notice.
fn keys_of(read: Reader, route: &str, candidates: &[String]) -> Vec<String> {
    candidates
        .iter()
        .filter(|k| {
            let loc = Location {
                route: route.into(),
                params: vec![((*k).clone(), UNUSABLE.into())],
            };
            read(&loc).0.iter().any(|n| names(n, k))
        })
        .cloned()
        .collect()
}

/// Keys named in the chapters' sources: every `"name"` that looks like a URL key.
fn candidate_keys() -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).expect("chapters folder").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if let Ok(src) = std::fs::read_to_string(&p) {
                for piece in src.split('"').skip(1).step_by(2) {
                    if !piece.is_empty()
                        && piece.len() <= 24
                        && piece
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                    {
                        out.push(piece.to_string());
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/chapters"),
        &mut out,
    );
    out.sort();
    out.dedup();
    out
}

#[test]
fn every_chapters_url_parameters_survive_hostile_links() {
    let seed = std::env::var("GLASSBOX_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
    let cases: usize = std::env::var("GLASSBOX_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    println!(
        "URL fuzz: seed {seed} (GLASSBOX_FUZZ_SEED={seed} reproduces), {cases} links per chapter"
    );
    let candidates = candidate_keys();
    for (route, read) in chapters() {
        let keys = keys_of(read, route, &candidates);
        assert!(keys.len() >= 3, "{route}: found keys {keys:?}");
        println!("  {route}: {} keys checked: {}", keys.len(), keys.join(" "));
        let mut rng = Rng::new(seed ^ route.len() as u64);
        for case in 0..cases {
            let loc = link(&mut rng, route, &keys);
            let hash = loc.to_hash();
            let again = Location::parse(&hash);
            let (notices, written) = read(&again);
            let (_, lesson_notices) = LessonLink::read(&again);
            let given: Vec<&str> = again.params.iter().map(|(k, _)| k.as_str()).collect();
            for n in notices.iter().chain(&lesson_notices) {
                // Values that do not fit together: "URL parameters a = 3 and b = 3: ..." names
                // them, or the notice says the combination was set aside.
                let head = n.split(':').next().unwrap_or("");
                let together = n.starts_with("URL parameters ")
                    && (n.starts_with("URL parameters do not fit together")
                        || head
                            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                            .any(|w| given.contains(&w)));
                assert!(
                    given.iter().any(|k| names(n, k)) || together,
                    "seed {seed}, case {case}, {hash}: a notice that names no given key: {n}"
                );
            }
            // What the page shows is a valid link that reads back to itself.
            let (clean, rewritten) = read(&written);
            assert!(
                clean.is_empty(),
                "seed {seed}, case {case}, {hash}: its settings {} give notices {clean:?}",
                written.to_hash()
            );
            assert_eq!(
                rewritten.to_hash(),
                written.to_hash(),
                "seed {seed}, case {case}, {hash}"
            );
            // A chapter key given an unusable value (its first occurrence is the one read) is named.
            for k in &keys {
                if again.get(k) == Some(UNUSABLE) {
                    assert!(
                        notices.iter().any(|n| names(n, k)),
                        "seed {seed}, case {case}, {hash}: {k} unusable but not named: {notices:?}"
                    );
                }
            }
        }
    }
}
