//! What the reader has done, kept only in this browser's local storage (nothing is sent anywhere):
//! each exercise's outcome. The front page shows it per chapter, and one control erases it.

use crate::web;

const KEY: &str = "glassbox-progress";

/// The stored record: one line per exercise, `exercise<TAB>chapter/id<TAB>correct|tried`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// (chapter, exercise id, answered correctly at least once)
    pub exercises: Vec<(String, String, bool)>,
}

impl Progress {
    /// Read the record; lines that do not parse are dropped.
    pub fn parse(text: &str) -> Progress {
        let mut p = Progress::default();
        for line in text.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            if let ["exercise", key, state] = f.as_slice() {
                if let Some((chapter, id)) = key.split_once('/') {
                    p.set_exercise(chapter, id, *state == "correct");
                }
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
        let back = Progress::parse(&(p.to_text() + "junk\nexercise\tnoslash\tcorrect\n"));
        assert_eq!(back, p);
        assert_eq!(back.exercise("attention", "vision"), Some(true));
        assert_eq!(back.exercise("pruning", "goal"), Some(false));
        assert_eq!(back.exercise("pruning", "other"), None);
        assert_eq!(back.correct_of("attention", &["vision", "language"]), 1);
    }
}
