//! Classroom use of the book. A teacher's link (link.rs: `hide`, `lock`, `step`, `present`) is
//! read into one `Lesson` for the page, which every `ui::Section` (hidden, or shown one at a time
//! in presenter mode) and every control (locked) consults; the Share panel (share.rs) writes such
//! links and draws their QR code; presenter mode (present.rs) steps through the sections.

pub(crate) mod link;
pub mod present;
pub mod share;

pub use link::{with_lesson, LessonLink, KEYS};

use crate::url_state::Location;
use crate::var::Var;
use crate::web;
use leptos::prelude::*;

/// The page's lesson, shared through context.
#[derive(Clone, Copy)]
pub struct Lesson {
    pub link: Var<LessonLink>,
    /// Unusable lesson values in the address.
    pub notices: Var<Vec<String>>,
    /// The page's sections in reading order (their ids), as they render.
    pub sections: Var<Vec<&'static str>>,
    /// The page's controls: (URL key, label), as they render.
    pub controls: Var<Vec<(&'static str, String)>>,
    /// The address the page was opened with: "Back to the lesson" returns to it.
    pub opened: Var<String>,
}

impl Lesson {
    pub fn new() -> Lesson {
        Lesson {
            link: Var::new(LessonLink::default()),
            notices: Var::new(Vec::new()),
            sections: Var::new(Vec::new()),
            controls: Var::new(Vec::new()),
            opened: Var::new(String::new()),
        }
    }

    /// An address was opened (the first load, a link, the contents): read its lesson, and keep
    /// the lesson's keys in every address the chapter publishes from now on.
    pub fn open(self, hash: &str) {
        let loc = Location::parse(hash);
        let (link, notices) = LessonLink::read(&loc);
        web::keep_params(&KEYS, &link.params());
        self.link.set(link);
        self.notices.set(notices);
        self.opened.set(hash.to_string());
    }

    /// Return the page to the address it was opened with (its controls, sections and step).
    pub fn back_to_lesson(self) {
        let opened = self.opened.get_untracked();
        let opened = if opened.is_empty() {
            "#/".into()
        } else {
            opened
        };
        if web::current_hash() == opened {
            // Nothing was changed since: reopen it anyway, so the figures start again.
            let _ = window().location().set_hash("#/");
        }
        let _ = window().location().set_hash(&opened);
    }

    /// A section rendered; it is forgotten when it goes away.
    pub fn register_section(self, id: &'static str) {
        self.sections.update(|s| s.push(id));
        on_cleanup(move || {
            let _ = self.sections.try_update(|s| {
                if let Some(i) = s.iter().position(|x| *x == id) {
                    s.remove(i);
                }
            });
        });
    }

    /// A control rendered; it is forgotten when it goes away.
    pub fn register_control(self, key: &'static str, label: &str) {
        self.controls.update(|c| c.push((key, label.to_string())));
        on_cleanup(move || {
            let _ = self.controls.try_update(|c| {
                if let Some(i) = c.iter().position(|(k, _)| *k == key) {
                    c.remove(i);
                }
            });
        });
    }

    /// The page's controls, each key once: (URL key, label).
    pub fn control_list(self) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = Vec::new();
        for (k, l) in self.controls.get() {
            if !out.iter().any(|(o, _)| *o == k) {
                out.push((k, l));
            }
        }
        out
    }

    pub fn hides(self, id: &str) -> bool {
        self.link.with(|l| l.hide.iter().any(|h| h == id))
    }

    pub fn locks(self, key: &str) -> bool {
        self.link.with(|l| l.lock.iter().any(|k| k == key))
    }

    /// The sections not hidden, in order.
    pub fn shown(self) -> Vec<&'static str> {
        let sections = self.sections.get();
        sections.into_iter().filter(|id| !self.hides(id)).collect()
    }

    /// The walkthrough's step (1-based), within the sections shown.
    pub fn step(self) -> usize {
        let n = self.shown().len().max(1);
        self.link.with(|l| l.step.unwrap_or(1)).clamp(1, n)
    }

    /// In presenter mode, the one section on screen.
    pub fn current(self) -> Option<&'static str> {
        if !self.link.with(|l| l.present) {
            return None;
        }
        self.shown().get(self.step() - 1).copied()
    }

    /// Go to step `n` (clamped) and show it in the address.
    pub fn set_step(self, n: usize) {
        let n = n.clamp(1, self.shown().len().max(1));
        self.link.update(|l| l.step = Some(n));
        web::set_global_param("step", Some(&n.to_string()));
    }

    pub fn set_present(self, on: bool) {
        self.link.update(|l| l.present = on);
        web::set_global_param("present", on.then_some("1"));
    }

    /// The section ids and control keys the link names that this page does not have.
    pub fn unknown(self) -> (Vec<String>, Vec<String>) {
        let link = self.link.get();
        let sections = self.sections.get();
        let controls = self.controls.get();
        let ids = link
            .hide
            .iter()
            .filter(|h| !sections.iter().any(|s| s == h))
            .cloned()
            .collect();
        let keys = link
            .lock
            .iter()
            .filter(|k| !controls.iter().any(|(c, _)| c == k))
            .cloned()
            .collect();
        (ids, keys)
    }
}

impl Default for Lesson {
    fn default() -> Self {
        Self::new()
    }
}

/// For a control with URL key `key`: register it with the page's lesson, and whether the lesson
/// locks it (reactive; never locked outside a lesson).
pub fn control_locked(key: &'static str, label: &str) -> Signal<bool> {
    match use_context::<Lesson>() {
        Some(lesson) => {
            lesson.register_control(key, label);
            crate::ui::derive(move || lesson.locks(key))
        }
        None => crate::ui::derive(|| false),
    }
}
