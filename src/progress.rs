//! What the reader has done, kept only in this browser's local storage (nothing is sent anywhere):
//! each exercise's outcome, and how long each chapter's main computation last took here. The front
//! page shows both per chapter, and one control erases them.

use crate::web;

const KEY: &str = "glassbox-progress";

/// The stored record: one line per entry, `exercise<TAB>chapter/id<TAB>correct|tried` or
/// `time<TAB>chapter<TAB>milliseconds`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// (chapter, exercise id, answered correctly at least once)
    pub exercises: Vec<(String, String, bool)>,
    /// (chapter, milliseconds of its main computation's last complete run)
    pub times: Vec<(String, f64)>,
}

impl Progress {
    /// Read the record; lines that do not parse are dropped.
    pub fn parse(text: &str) -> Progress {
        let mut p = Progress::default();
        for line in text.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            match f.as_slice() {
                ["exercise", key, state] => {
                    if let Some((chapter, id)) = key.split_once('/') {
                        p.set_exercise(chapter, id, *state == "correct");
                    }
                }
                ["time", chapter, ms] => {
                    if let Some(ms) = glassbox_lab::decimal::parse(ms) {
                        if ms.is_finite() && ms >= 0.0 {
                            p.set_time(chapter, ms);
                        }
                    }
                }
                _ => {}
            }
        }
        p
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (c, id, ok) in &self.exercises {
            let state = if *ok { "correct" } else { "tried" };
            out.push_str(&format!("exercise\t{c}/{id}\t{state}\n"));
        }
        for (c, ms) in &self.times {
            out.push_str(&format!("time\t{c}\t{ms:.0}\n"));
        }
        out
    }

    /// Record an attempt; a correct answer stays correct.
    pub fn set_exercise(&mut self, chapter: &str, id: &str, correct: bool) {
        match self
            .exercises
            .iter_mut()
            .find(|(c, i, _)| c == chapter && i == id)
        {
            Some(e) => e.2 |= correct,
            None => self
                .exercises
                .push((chapter.to_string(), id.to_string(), correct)),
        }
    }

    pub fn set_time(&mut self, chapter: &str, ms: f64) {
        self.times.retain(|(c, _)| c != chapter);
        self.times.push((chapter.to_string(), ms));
    }

    pub fn time(&self, chapter: &str) -> Option<f64> {
        self.times.iter().find(|(c, _)| c == chapter).map(|t| t.1)
    }

    /// Some(true): answered correctly; Some(false): tried; None: not attempted.
    pub fn exercise(&self, chapter: &str, id: &str) -> Option<bool> {
        self.exercises
            .iter()
            .find(|(c, i, _)| c == chapter && i == id)
            .map(|e| e.2)
    }

    /// How many of `ids` were answered correctly.
    pub fn correct_of(&self, chapter: &str, ids: &[&str]) -> usize {
        ids.iter()
            .filter(|id| self.exercise(chapter, id) == Some(true))
            .count()
    }
}

pub fn load() -> Progress {
    Progress::parse(&web::local_storage_get(KEY).unwrap_or_default())
}

fn save(p: &Progress) {
    web::local_storage_set(KEY, &p.to_text());
}

pub fn record_exercise(chapter: &str, id: &str, correct: bool) {
    let mut p = load();
    p.set_exercise(chapter, id, correct);
    save(&p);
}

/// Record how long a chapter's main computation took here (milliseconds), for the front page.
pub fn record_time(chapter: &str, ms: f64) {
    let mut p = load();
    p.set_time(chapter, ms);
    save(&p);
}

/// Forget everything this browser kept.
pub fn erase() {
    web::local_storage_remove(KEY);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_round_trips_and_ignores_junk() {
        let mut p = Progress::default();
        p.set_exercise("attention", "vision", false);
        p.set_exercise("attention", "vision", true);
        p.set_exercise("attention", "vision", false);
        p.set_exercise("pruning", "goal", false);
        p.set_time("attention", 1234.4);
        p.set_time("attention", 99.0);
        let junk = "junk\nexercise\tnoslash\tcorrect\ntime\tx\tNaN\ntime\ty\t-5\n";
        let back = Progress::parse(&(p.to_text() + junk));
        assert_eq!(back, p);
        assert_eq!(back.exercise("attention", "vision"), Some(true));
        assert_eq!(back.exercise("pruning", "goal"), Some(false));
        assert_eq!(back.exercise("pruning", "other"), None);
        assert_eq!(back.correct_of("attention", &["vision", "language"]), 1);
        assert_eq!(back.time("attention"), Some(99.0));
        assert_eq!(back.time("x"), None);
    }
}
