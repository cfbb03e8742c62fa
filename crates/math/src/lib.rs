//! Formulas typeset when the book compiles: `tex!(r"...")` is the MathML of an inline formula and
//! `tex_block!(r"...")` of a display one, as a string literal. pulldown-latex does the typesetting
//! here, on the build machine, so the page ships MathML (which the browser lays out natively) and no
//! LaTeX parser. A formula that does not parse, shows a space as text, or needs an inline style (which
//! the book's Content-Security-Policy blocks: `\!` makes one) is a compile error naming it.

use proc_macro::TokenStream;
use pulldown_latex::config::DisplayMode;
use pulldown_latex::{push_mathml, Parser, RenderConfig, Storage};

/// MathML for an inline formula, as a `&'static str`.
#[proc_macro]
pub fn tex(input: TokenStream) -> TokenStream {
    expand(input, false)
}

/// MathML for a display (block) formula, as a `&'static str`.
#[proc_macro]
pub fn tex_block(input: TokenStream) -> TokenStream {
    expand(input, true)
}

fn expand(input: TokenStream, display: bool) -> TokenStream {
    let result = string_literal(input).and_then(|tex| typeset(&tex, display));
    let code = match result {
        Ok(mathml) => format!("{mathml:?}"),
        Err(why) => format!("::core::compile_error!({why:?})"),
    };
    code.parse()
        .expect("a string literal or compile_error! parses")
}

/// The value of the one string literal the macro was given.
fn string_literal(input: TokenStream) -> Result<String, String> {
    let mut tokens = input.into_iter();
    let (Some(token), None) = (tokens.next(), tokens.next()) else {
        return Err("tex! takes one string literal".into());
    };
    match litrs::StringLit::try_from(token) {
        Ok(lit) => Ok(lit.value().to_string()),
        Err(e) => Err(format!("tex! takes one string literal: {e}")),
    }
}

/// The MathML of `tex`, or why it cannot go in the book.
fn typeset(tex: &str, display: bool) -> Result<String, String> {
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
    push_mathml(&mut out, parser, config).map_err(|e| format!("formula {tex:?}: {e}"))?;
    if out.contains("merror") {
        return Err(format!("formula {tex:?} does not parse: {out}"));
    }
    // pulldown-latex writes the space of `\ ` as an escaped entity; give the browser the character.
    let out = out.replace("&amp;nbsp;", "&#160;");
    if out.contains("nbsp") {
        return Err(format!("formula {tex:?}: a space shows as text"));
    }
    if out.contains(" style=\"") {
        return Err(format!(
            "formula {tex:?} needs an inline style, which the page's Content-Security-Policy blocks"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::typeset;

    #[test]
    fn formulas_become_mathml() {
        let m = typeset(r"\beta = A^\top (A A^\top)^{-1} y", true).unwrap();
        assert!(
            m.starts_with("<math") && m.contains("display=\"block\""),
            "{m}"
        );
        assert!(m.contains("<msup>"));
        let m = typeset(r"E = \frac{c_1^4}{(c_0^2 + c_1^2)^2}", false).unwrap();
        assert!(
            m.contains("<mfrac>") && !m.contains("display=\"block\""),
            "{m}"
        );
        let m = typeset(r"4\,T^2 D\ \text{FLOPs}", false).unwrap();
        assert!(m.contains("&#160;") && !m.contains("nbsp"), "{m}");
    }

    #[test]
    fn what_cannot_go_in_the_book_is_refused_with_the_formula() {
        let why = typeset(r"\frac{1", false).unwrap_err();
        assert!(why.contains(r"\frac{1"), "{why}");
        let why = typeset(r"a \! b", false).unwrap_err();
        assert!(why.contains("inline style"), "{why}");
    }
}
