//! A teacher's link: the URL keys that shape a lesson rather than a figure.
//!
//! `hide=a,b` (section ids not shown), `lock=k1,k2` (controls, by URL key, shown but not
//! changeable), `step=N` (the walkthrough's step, 1 = the first section shown) and `present=1`
//! (presenter mode). A malformed value becomes a notice naming the key, and the rest applies.

use crate::url_state::Location;

/// The lesson's URL keys, kept in every address a chapter publishes.
pub const KEYS: [&str; 4] = ["hide", "lock", "step", "present"];

/// The most steps a walkthrough can name (no chapter has this many sections).
pub const MAX_STEP: usize = 99;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LessonLink {
    pub hide: Vec<String>,
    pub lock: Vec<String>,
    /// 1-based; `None`: the page opens at its top.
    pub step: Option<usize>,
    pub present: bool,
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A comma list of names; names that cannot be ids or keys go to `bad`.
fn names(v: &str, bad: &mut Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for n in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if is_name(n) {
            if !out.iter().any(|o| o == n) {
                out.push(n.to_string());
            }
        } else {
            bad.push(n.chars().take(40).collect());
        }
    }
    out
}

impl LessonLink {
    /// Read the lesson's keys from `loc`; each unusable value adds a notice.
    pub fn read(loc: &Location) -> (LessonLink, Vec<String>) {
        let mut notices = Vec::new();
        let mut link = LessonLink::default();
        for (key, field) in [("hide", &mut link.hide), ("lock", &mut link.lock)] {
            if let Some(v) = loc.get(key) {
                let mut bad = Vec::new();
                *field = names(v, &mut bad);
                if !bad.is_empty() {
                    notices.push(format!(
                        "URL parameter {key}: {} {} not a section or control name (letters, digits, - and _); ignored.",
                        bad.iter().map(|b| format!("'{b}'")).collect::<Vec<_>>().join(", "),
                        if bad.len() == 1 { "is" } else { "are" }
                    ));
                }
            }
        }
        if let Some(v) = loc.get("step") {
            match v.trim().parse::<usize>() {
                Ok(n) if (1..=MAX_STEP).contains(&n) => link.step = Some(n),
                _ => notices.push(format!(
                    "URL parameter step: '{}' is not a whole number from 1 to {MAX_STEP}; starting at the first step.",
                    v.chars().take(40).collect::<String>()
                )),
            }
        }
        if let Some(v) = loc.get("present") {
            match v {
                "1" | "true" => link.present = true,
                "0" | "false" | "" => {}
                other => notices.push(format!(
                    "URL parameter present: '{}' is not 1 or 0; presenter mode is off.",
                    other.chars().take(40).collect::<String>()
                )),
            }
        }
        (link, notices)
    }

    /// The URL parameters that describe this lesson (empty lists and defaults left out).
    pub fn params(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if !self.hide.is_empty() {
            out.push(("hide".into(), self.hide.join(",")));
        }
        if !self.lock.is_empty() {
            out.push(("lock".into(), self.lock.join(",")));
        }
        if let Some(s) = self.step {
            out.push(("step".into(), s.to_string()));
        }
        if self.present {
            out.push(("present".into(), "1".into()));
        }
        out
    }
}

/// `loc` with its lesson keys replaced by `link`'s.
pub fn with_lesson(loc: &Location, link: &LessonLink) -> Location {
    let mut out = loc.clone();
    out.params.retain(|(k, _)| !KEYS.contains(&k.as_str()));
    out.params.extend(link.params());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_a_lesson() {
        let loc = Location::parse(
            "#/attention?hide=cost,measure&lock=patch,window&step=3&present=1&seed=2",
        );
        let (link, notices) = LessonLink::read(&loc);
        assert!(notices.is_empty(), "{notices:?}");
        assert_eq!(link.hide, ["cost", "measure"]);
        assert_eq!(link.lock, ["patch", "window"]);
        assert_eq!(link.step, Some(3));
        assert!(link.present);
        let back = with_lesson(&Location::parse("#/attention?seed=2&step=9"), &link);
        assert_eq!(LessonLink::read(&back).0, link);
        assert_eq!(back.get("seed"), Some("2"));
    }

    #[test]
    fn bad_values_are_named_and_the_rest_applies() {
        let loc = Location::parse("#/x?hide=ok,%3Cimg%20src%3Dx%3E,,ok&step=0&present=yes&lock=a");
        let (link, notices) = LessonLink::read(&loc);
        assert_eq!(link.hide, ["ok"]);
        assert_eq!(link.lock, ["a"]);
        assert_eq!(link.step, None);
        assert!(!link.present);
        assert_eq!(notices.len(), 3, "{notices:?}");
        assert!(
            notices[0].starts_with("URL parameter hide: '<img src=x>'"),
            "{}",
            notices[0]
        );
        assert!(notices[1].contains("step") && notices[2].contains("present"));
        assert_eq!(
            LessonLink::read(&Location::parse("#/x?step=100")).0.step,
            None
        );
    }
}
