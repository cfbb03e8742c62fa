//! The chapter's checked questions, on linear quantization's scale S and zero point Z.

use crate::ui::exercise::Choice;
use crate::ui::math::tex;

pub static SCALE_CHOICES: [Choice; 3] = [
    Choice {
        label: tex!(r"S = \frac{r_{\max} - r_{\min}}{q_{\max} - q_{\min}}"),
        tex: true,
        correct: true,
        why: "The real range [r_min, r_max] is cut into q_max − q_min equal steps, one per step of the \
              integer; S is the width of one step, in real units per integer.",
    },
    Choice {
        label: tex!(r"S = \frac{q_{\max} - q_{\min}}{r_{\max} - r_{\min}}"),
        tex: true,
        correct: false,
        why: "That is integers per real unit, the inverse of the scale: with r = S (q − Z), S must turn \
              an integer difference into a real one.",
    },
    Choice {
        label: tex!(r"S = \frac{r_{\max}}{q_{\max}}"),
        tex: true,
        correct: false,
        why: "That is the symmetric scale (used for weights, where Z = 0); for a range that is not \
              centred on zero it wastes part of the integers.",
    },
];

pub static ZERO_CHOICES: [Choice; 3] = [
    Choice {
        label: tex!(r"Z = \operatorname{round}\left(q_{\min} - \frac{r_{\min}}{S}\right)"),
        tex: true,
        correct: true,
        why: "It makes r_min land on q_min: q_min = r_min / S + Z. Rounded to an integer (and clamped \
              to [q_min, q_max]), so that the real 0 is exactly representable, which zero padding and \
              ReLU need.",
    },
    Choice {
        label: tex!(r"Z = \operatorname{round}\left(\frac{r_{\min}}{S}\right)"),
        tex: true,
        correct: false,
        why: "That would put r_min at q = 2 r_min / S, not at q_min; the zero point is where the real 0 \
              sits on the integer line, measured from q_min.",
    },
    Choice {
        label: tex!(r"Z = \frac{q_{\max} + q_{\min}}{2}"),
        tex: true,
        correct: false,
        why: "The middle of the integer range is the zero point only when the real range is symmetric \
              about 0; in general Z depends on r_min and S.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_choice_of_each_exercise_is_right() {
        for choices in [&SCALE_CHOICES, &ZERO_CHOICES] {
            assert_eq!(choices.iter().filter(|c| c.correct).count(), 1);
            assert!(choices
                .iter()
                .all(|c| c.tex && c.label.starts_with("<math")));
        }
    }
}
