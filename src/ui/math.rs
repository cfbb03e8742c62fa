//! Mathematics typeset when the book compiles: `tex!` and `prose!`'s formulas (crates/math) turn
//! LaTeX into MathML on the build machine, which the browser lays out natively. No parser is
//! downloaded; the colours follow the theme through CSS. A `tex!` formula is in the code; a
//! `prose!` passage is in its page's text file (`ui::prose`).

use leptos::prelude::*;

pub use super::prose::Prose;
pub use glassbox_math::{prose, tex};

/// The text of a formula's MathML, its tokens separated by spaces ("S = r max − r min ..."): the
/// name a browser reads from the rendered MathML, for an attribute (`aria-label`) that needs it as
/// text.
pub fn math_text(mathml: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    let mut chars = mathml.chars().peekable();
    while let Some(c) = chars.next() {
        // A tag opens with '<' and a letter, '/' or '!'; any other '<' is the text's.
        let opens_tag = c == '<'
            && chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || *n == '/' || *n == '!');
        match c {
            '<' if opens_tag => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&#160;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Inline mathematics: `<M mathml=tex!(r"...")/>`.
#[component]
pub fn M(mathml: &'static str) -> impl IntoView {
    view! { <span class="math" inner_html=mathml></span> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_formula_as_text_keeps_its_tokens_in_order() {
        assert_eq!(math_text(tex!(r"S = \frac{a}{b}")), "S = a b");
        assert_eq!(math_text(tex!(r"q < 2")), "q < 2");
    }

    #[test]
    fn inline_and_display_formulas_differ_only_in_their_mode() {
        let inline = tex!(r"\beta = A^\top (A A^\top)^{-1} y");
        let block = glassbox_math::tex_block!(r"\beta = A^\top (A A^\top)^{-1} y");
        assert!(inline.starts_with("<math") && !inline.contains("display=\"block\""));
        assert!(block.contains("display=\"block\"") && block.contains("<msup>"));
        assert_eq!(math_text(inline), math_text(block));
    }
}
