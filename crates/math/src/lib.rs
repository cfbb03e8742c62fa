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

/// A passage of static prose as one HTML string, formulas typeset: `\(...\)` inline (as `tex!`, in
/// `<span class="math">`) and `\[...\]` display (as `tex_block!`, in `<div class="math-block">`).
/// A line break with the spaces around it is one space, or nothing between two tags. The tags must
/// balance and a bare `<` or `&` in the text is refused, each a compile error naming the place.
/// The page puts the string in one element (`ui::math::Prose`): one node instead of a typed view per
/// paragraph, which the download pays for.
#[proc_macro]
pub fn prose(input: TokenStream) -> TokenStream {
    let code = match string_literal(input).and_then(|src| prose_html(&src)) {
        Ok(html) => format!("{html:?}"),
        Err(why) => format!("::core::compile_error!({why:?})"),
    };
    code.parse()
        .expect("a string literal or compile_error! parses")
}

/// The HTML of a `prose!` passage, or why it cannot go in the book.
fn prose_html(src: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut text = String::new();
    let mut rest = src;
    while let Some(at) = rest.find(['\\']) {
        let (close, display, open) = match rest[at..].get(..2) {
            Some("\\(") => ("\\)", false, "<span class=\"math\">"),
            Some("\\[") => ("\\]", true, "<div class=\"math-block\">"),
            _ => {
                return Err(format!(
                    "prose: a backslash outside \\( \\) or \\[ \\] at {:?}",
                    &rest[at..]
                ))
            }
        };
        text.push_str(&rest[..at]);
        let body = &rest[at + 2..];
        let end = body
            .find(close)
            .ok_or_else(|| format!("prose: formula {:?} is not closed by {close}", &rest[at..]))?;
        out.push_str(&html_text(&text, out.ends_with('>'), true)?);
        text.clear();
        out.push_str(open);
        out.push_str(&typeset(&body[..end], display)?);
        out.push_str(if display { "</div>" } else { "</span>" });
        rest = &body[end + 2..];
    }
    text.push_str(rest);
    out.push_str(&html_text(&text, out.ends_with('>'), false)?);
    check_tags(&out)?;
    Ok(out.trim().to_string())
}

/// `text` (HTML around the formulas) with its line breaks folded: one space, or none between tags
/// (a formula counts as one; `after_tag`: one ends just before the text, `before_tag`: one follows).
fn html_text(text: &str, after_tag: bool, before_tag: bool) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_whitespace() {
            if c == '&' {
                let entity: String = chars.clone().take_while(|c| *c != ';').collect();
                let known = ["amp", "lt", "gt", "quot", "nbsp", "#160", "minus", "times"];
                if !known.contains(&entity.as_str()) {
                    return Err(format!("prose: a bare & (write &amp;) before {entity:?}"));
                }
            }
            out.push(c);
            continue;
        }
        let mut run = String::from(c);
        while let Some(w) = chars.next_if(|w| w.is_whitespace()) {
            run.push(w);
        }
        if !run.contains('\n') {
            out.push_str(&run);
        } else if !((out.ends_with('>') || (out.is_empty() && after_tag))
            && (chars.peek() == Some(&'<') || (chars.peek().is_none() && before_tag)))
        {
            out.push(' ');
        }
    }
    Ok(out)
}

/// Every tag outside the formulas closed in order (void elements need no end tag).
fn check_tags(html: &str) -> Result<(), String> {
    let mut open: Vec<&str> = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        let tag = &rest[at + 1..];
        let end = tag.find('>').ok_or("prose: a tag is not closed by >")?;
        let inner = &tag[..end];
        let name = inner
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!("prose: a bare < (write &lt;) at {:?}", &rest[at..]));
        }
        if name == "math" && !inner.starts_with('/') {
            // A typeset formula: MathML from pulldown-latex, skipped whole.
            let close = tag.find("</math>").ok_or("prose: an unclosed <math>")?;
            rest = &tag[close + "</math>".len()..];
            continue;
        }
        if inner.starts_with('/') {
            match open.pop() {
                Some(o) if o == name => {}
                o => return Err(format!("prose: </{name}> closes {o:?}")),
            }
        } else if !inner.ends_with('/') && !matches!(name, "br" | "hr" | "img" | "wbr") {
            open.push(name);
        }
        rest = &tag[end + 1..];
    }
    match open.last() {
        Some(o) => Err(format!("prose: <{o}> is not closed")),
        None => Ok(()),
    }
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
    fn prose_is_html_with_its_formulas_typeset() {
        let html = super::prose_html(
            "\n    <p>An \\(H\\) image,\n      cut <em>into</em>\n      patches:</p>\n    \\[T = H^2\\]\n    <p>then &lt;PAD&gt;.</p>\n",
        )
        .unwrap();
        assert!(
            html.starts_with("<p>An <span class=\"math\"><math"),
            "{html}"
        );
        assert!(html.contains("</math></span> image, cut <em>into</em> patches:</p><div class=\"math-block\"><math"), "{html}");
        assert!(
            html.ends_with("</math></div><p>then &lt;PAD&gt;.</p>"),
            "{html}"
        );
        for bad in [
            "<p>open",
            "<p>a</em></p>",
            "<p>a < b</p>",
            "<p>R&D</p>",
            "\\(x",
            "<p>\\n</p>",
        ] {
            assert!(super::prose_html(bad).is_err(), "{bad}");
        }
        assert!(super::prose_html("<p>a<br>b <code>x</code></p>").is_ok());
    }

    #[test]
    fn what_cannot_go_in_the_book_is_refused_with_the_formula() {
        let why = typeset(r"\frac{1", false).unwrap_err();
        assert!(why.contains(r"\frac{1"), "{why}");
        let why = typeset(r"a \! b", false).unwrap_err();
        assert!(why.contains("inline style"), "{why}");
    }
}
