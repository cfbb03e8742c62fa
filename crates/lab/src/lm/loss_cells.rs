//! The homework's soft-prompting sequence of 100 positions: 1-5 soft prompt, 6-50 question, 51-70
//! reasoning, 71 answer, 72 newline, 73-100 padding. Output position j predicts the token at j + 1,
//! so the loss belongs on the outputs whose next token is reasoning, answer or newline: j = 50 to
//! 71. Not the prompt's (the next token is prompt or question: nothing to learn, the question is
//! given), not the question's before 50, not 72 onwards (the next token is padding: it would train
//! the model to write padding), and not 100 (nothing follows).

/// Positions in the sequence.
pub const LEN: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment {
    SoftPrompt,
    Question,
    Reasoning,
    Answer,
    Newline,
    Padding,
}

impl Segment {
    pub fn name(self) -> &'static str {
        match self {
            Segment::SoftPrompt => "soft prompt",
            Segment::Question => "question",
            Segment::Reasoning => "reasoning",
            Segment::Answer => "answer",
            Segment::Newline => "newline",
            Segment::Padding => "padding",
        }
    }
}

/// The segment of position `j` (1 to 100).
pub fn segment(j: usize) -> Segment {
    match j {
        0..=5 => Segment::SoftPrompt,
        6..=50 => Segment::Question,
        51..=70 => Segment::Reasoning,
        71 => Segment::Answer,
        72 => Segment::Newline,
        _ => Segment::Padding,
    }
}

/// Whether output position `j` (1 to 100) belongs in the loss.
pub fn in_loss(j: usize) -> bool {
    (50..=71).contains(&j)
}

/// Why output `j` is in the loss or not, in a sentence.
pub fn reason(j: usize) -> String {
    let here = segment(j).name();
    if j >= LEN {
        return format!("Output {j} (the last, {here}) has no next token to predict.");
    }
    let next = segment(j + 1).name();
    if in_loss(j) {
        format!(
            "Output {j} ({here}) predicts token {} ({next}): the model must learn to write it.",
            j + 1
        )
    } else if j < 50 {
        format!("Output {j} ({here}) predicts token {} ({next}): the question is given, not something to generate.", j + 1)
    } else {
        format!("Output {j} ({here}) predicts token {} ({next}): training on padding teaches the model to write padding.", j + 1)
    }
}

/// The cells marked wrongly (1-based positions), each with its reason; empty when all are right.
pub fn check(marked: &[bool]) -> Result<Vec<(usize, String)>, String> {
    if marked.len() != LEN {
        return Err(format!(
            "{} cells marked, the sequence has {LEN}",
            marked.len()
        ));
    }
    Ok((1..=LEN)
        .filter(|&j| marked[j - 1] != in_loss(j))
        .map(|j| (j, reason(j)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_homework_answer_is_outputs_50_to_71() {
        let right: Vec<bool> = (1..=LEN).map(in_loss).collect();
        assert_eq!(right.iter().filter(|&&b| b).count(), 22);
        assert!(check(&right).unwrap().is_empty());
        // The common mistake: the answer's own positions 51-72 instead of the outputs before them.
        let shifted: Vec<bool> = (1..=LEN).map(|j| (51..=72).contains(&j)).collect();
        let wrong = check(&shifted).unwrap();
        assert_eq!(wrong.iter().map(|w| w.0).collect::<Vec<_>>(), vec![50, 72]);
        assert!(
            wrong[0].1.contains("token 51 (reasoning)"),
            "{}",
            wrong[0].1
        );
        assert!(wrong[1].1.contains("padding"), "{}", wrong[1].1);
        assert_eq!(segment(5), Segment::SoftPrompt);
        assert_eq!(segment(71), Segment::Answer);
        assert!(reason(100).contains("no next token"));
        assert!(check(&[true; 3]).is_err());
    }
}
