//! Mathematics rendered offline: LaTeX to MathML (pulldown-latex), which the browser lays out
//! natively. Nothing is fetched; the colours follow the theme through CSS.

use leptos::prelude::*;
use pulldown_latex::config::DisplayMode;
use pulldown_latex::{push_mathml, Parser, RenderConfig, Storage};

/// MathML for a LaTeX string; on a parse error, the source in a <code> element.
pub fn render_mathml(tex: &str, display: bool) -> String {
    let storage = Storage::new();
    let parser = Parser::new(tex, &storage);
    let config = RenderConfig {
        display_mode: if display {
            DisplayMode::Block
        } else {
            DisplayMode::Inline
        },
        ..Default::default()
    };
    let mut out = String::new();
    match push_mathml(&mut out, parser, config) {
        // pulldown-latex writes the space of `\ ` as an escaped entity; give the browser the character.
        Ok(()) if !out.contains("merror") => out.replace("&amp;nbsp;", "&#160;"),
        _ => format!(
            "<code>{}</code>",
            tex.replace('&', "&amp;").replace('<', "&lt;")
        ),
    }
}

/// The text of a formula, its MathML tokens separated by spaces ("S = r max − r min ..."): the name
/// a browser reads from the rendered MathML, for an attribute (`aria-label`) that needs it as text.
pub fn math_text(tex: &str) -> String {
    let mathml = render_mathml(tex, false);
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

/// Inline mathematics.
#[component]
pub fn M(tex: &'static str) -> impl IntoView {
    view! { <span class="math" inner_html=render_mathml(tex, false)></span> }
}

/// Display (block) mathematics.
#[component]
pub fn MathBlock(tex: &'static str) -> impl IntoView {
    view! { <div class="math-block" inner_html=render_mathml(tex, true)></div> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_mathml_for_the_chapter_formulas() {
        let m = render_mathml(r"\beta = A^\top (A A^\top)^{-1} y", true);
        assert!(
            m.starts_with("<math") && m.contains("display=\"block\""),
            "{m}"
        );
        assert!(m.contains("<msup>"));
        let m = render_mathml(r"E = \frac{c_1^4}{(c_0^2 + c_1^2)^2}", false);
        assert!(m.contains("<mfrac>"), "{m}");
    }

    #[test]
    fn a_formula_as_text_keeps_its_tokens_in_order() {
        assert_eq!(math_text(r"S = \frac{a}{b}"), "S = a b");
        assert_eq!(math_text(r"q < 2"), "q < 2");
    }

    #[test]
    fn every_formula_in_the_chapters_renders() {
        // Every Rust file of every chapter, read from the source tree.
        fn rust_files(dir: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("chapters folder") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    rust_files(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(std::fs::read_to_string(&path).expect("readable"));
                }
            }
        }
        let mut sources = Vec::new();
        rust_files(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/chapters"),
            &mut sources,
        );
        let mut count = 0;
        for src in &sources {
            for piece in src.split("tex=r\"").skip(1) {
                let tex = &piece[..piece.find('"').expect("closing quote")];
                let m = render_mathml(tex, false);
                assert!(!m.starts_with("<code>"), "does not render: {tex}");
                assert!(!m.contains("nbsp"), "a space shows as text: {tex}");
                // The Content-Security-Policy (style-src 'self') blocks inline styles (`\!` makes one).
                assert!(!m.contains(" style=\""), "an inline style: {tex}");
                count += 1;
            }
        }
        assert!(count > 40, "{count}");
    }

    #[test]
    fn bad_latex_falls_back_to_source() {
        let m = render_mathml(r"\frac{1", false);
        assert!(m.starts_with("<code>"), "{m}");
    }
}
