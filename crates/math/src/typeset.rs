//! The typesetting shared by the macros (lib.rs) and the text packer (bin/prose-pack.rs): LaTeX to
//! MathML with pulldown-latex, a `prose!` passage to HTML, and a page's passages to the text file
//! the page loads (a glassbox_pack file). A passage's key is the FNV-1a (64-bit) hash of its
//! source, so the macro (which leaves only the key in the download) and the packer (which writes
//! the HTML beside it) agree without sharing anything but the source.

use pulldown_latex::config::DisplayMode;
use pulldown_latex::{push_mathml, Parser, RenderConfig, Storage};

/// The HTML of a `prose!` passage, or why it cannot go in the book.
pub fn prose_html(src: &str) -> Result<String, String> {
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

/// The MathML of `tex`, or why it cannot go in the book.
pub fn typeset(tex: &str, display: bool) -> Result<String, String> {
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

/// A passage's key: the FNV-1a (64-bit) hash of its source.
pub fn key(src: &str) -> u64 {
    glassbox_pack::fnv1a64(src.as_bytes())
}

/// The page whose text file holds a source file's passages: the module under `src/chapters/`
/// ("src/chapters/attention/model.rs" and "src/chapters/attention.rs" are both "attention").
pub fn page_of(file: &str) -> Result<String, String> {
    let file = file.replace('\\', "/");
    let rest = file
        .split_once("src/chapters/")
        .map(|(_, rest)| rest)
        .ok_or_else(|| format!("prose: {file} is not a page's source (src/chapters/...)"))?;
    let name = rest.split('/').next().unwrap_or("");
    let name = name.strip_suffix(".rs").unwrap_or(name);
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err(format!(
            "prose: {file} is not a page's source (src/chapters/NAME)"
        ));
    }
    Ok(name.to_string())
}

/// The name of a page's text file.
pub fn file_name(page: &str) -> String {
    format!("prose-{page}.txt")
}

/// The source of every `prose!(...)` passage in a Rust file, in order: a small lexer skips comments
/// (a `prose!` in a doc comment is an example, not a passage), strings and character literals, and
/// reads the string literal after `prose!(` as the compiler does (litrs).
pub fn find_passages(rust: &str) -> Result<Vec<String>, String> {
    let b = rust.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let rest = &rust[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").ok_or("an unclosed /* comment")? + 2;
        } else if b[i] == b'"' {
            i += literal_len(rest)?;
        } else if b[i] == b'\'' {
            // A character literal ('a', '\n', '\'') or a lifetime ('a): skip the quote either way,
            // and the literal's closing quote if there is one.
            let chars: Vec<char> = rest.chars().take(4).collect();
            i += match chars.as_slice() {
                ['\'', '\\', _, '\'', ..] => 4,
                ['\'', '\\', ..] => rest[2..].find('\'').ok_or("an unclosed character")? + 3,
                ['\'', c, '\'', ..] => 2 + c.len_utf8(),
                _ => 1,
            };
        } else if b[i].is_ascii_alphabetic() || b[i] == b'_' {
            let word_len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let word = &rest[..word_len];
            let after = &rest[word_len..];
            let is_literal = after.starts_with('"')
                || (word.ends_with('r') && after.trim_start_matches('#').starts_with('"'));
            if matches!(word, "r" | "b" | "br" | "c" | "cr") && is_literal {
                i += literal_len(rest)?;
                continue;
            }
            i += word_len;
            if word == "prose" {
                if let Some(args) = after.strip_prefix('!') {
                    let args = args.trim_start();
                    let Some(lit) = args.strip_prefix('(') else {
                        continue;
                    };
                    let lit = lit.trim_start();
                    let len = literal_len(lit)?;
                    let value = litrs::StringLit::parse(&lit[..len])
                        .map_err(|e| format!("prose!: {e}"))?
                        .value()
                        .to_string();
                    found.push(value);
                    i = rust.len() - lit.len() + len;
                }
            }
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    Ok(found)
}

/// The length of the string literal at the start of `s`, its prefix included: `"..."` with
/// escapes (`b"..."`, `c"..."`), or raw, `r#"..."#` (`br`, `cr`), where a backslash is text.
fn literal_len(s: &str) -> Result<usize, String> {
    let lead = s
        .find(['"', '#'])
        .ok_or("a string literal without a quote")?;
    if !s[..lead].ends_with('r') {
        let b = s.as_bytes();
        let mut j = lead + 1;
        while j < b.len() {
            match b[j] {
                b'\\' => j += 2,
                b'"' => return Ok(j + 1),
                _ => j += 1,
            }
        }
        return Err("an unclosed string".into());
    }
    let quote = lead + s[lead..].find('"').ok_or("a raw string without a quote")?;
    let close = format!("\"{}", &s[lead..quote]);
    let end = s[quote + 1..]
        .find(&close)
        .ok_or("an unclosed raw string")?;
    Ok(quote + 1 + end + close.len())
}

/// A page's text file (glassbox_pack's `prose` kind): after its header line, a line per passage,
/// `<key, 16 hex digits> <HTML>` (the HTML has no line breaks).
pub fn text_file(passages: &[(u64, String)]) -> String {
    let body: String = passages
        .iter()
        .map(|(k, html)| format!("{k:016x} {html}\n"))
        .collect();
    glassbox_pack::seal("prose", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn passages_are_found_as_the_compiler_reads_them() {
        let rust = r####"
            //! A doc example is not a passage: <Prose html=prose!(r"<p>no</p>")/>
            /* nor one in a block comment: prose!("<p>no</p>") */
            fn f<'a>(x: &'a str) -> char { let _ = "prose!(\"<p>no</p>\")"; '"' }
            view! { <Prose html=prose!(r#"
                <p>One, with "quotes", a link https://example.org and \(x\).</p>"#)/> }
            let c = '\''; let r#type = 1;
            view! { <Prose html=prose!("<p>Two \"escaped\"</p>")/> }
            view! { <Prose html=prose! ( r"<p>Three \(y\)</p>" )/> }
        "####;
        let found = find_passages(rust).unwrap();
        assert_eq!(
            found,
            [
                "\n                <p>One, with \"quotes\", a link https://example.org and \\(x\\).</p>",
                "<p>Two \"escaped\"</p>",
                "<p>Three \\(y\\)</p>",
            ]
        );
        assert!(find_passages("prose!(r#\"<p>open</p>\")").is_err());
    }

    #[test]
    fn a_passage_belongs_to_its_chapter_module() {
        assert_eq!(
            page_of("src/chapters/attention/model.rs").unwrap(),
            "attention"
        );
        assert_eq!(
            page_of("src/chapters/under_the_hood.rs").unwrap(),
            "under_the_hood"
        );
        assert_eq!(page_of("/work/x/src/chapters/home/mod.rs").unwrap(), "home");
        assert!(page_of("src/ui/math.rs").is_err());
        assert_eq!(file_name("home"), "prose-home.txt");
    }

    #[test]
    fn the_text_file_is_summed_and_keyed() {
        // FNV-1a's published vectors: "" and "a".
        assert_eq!(key(""), 0xcbf29ce484222325);
        assert_eq!(key("a"), 0xaf63dc4c8601ec8c);
        let file = text_file(&[(1, "<p>a</p>".into()), (0xff, "<p>b</p>".into())]);
        let body = "0000000000000001 <p>a</p>\n00000000000000ff <p>b</p>\n";
        assert_eq!(file, format!("glassbox-prose {:016x}\n{body}", key(body)));
    }
}
