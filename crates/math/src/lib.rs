//! Formulas typeset when the book compiles: `tex!(r"...")` is the MathML of an inline formula and
//! `tex_block!(r"...")` of a display one, as a string literal. pulldown-latex does the typesetting
//! here, on the build machine, so the page ships MathML (which the browser lays out natively) and no
//! LaTeX parser. A formula that does not parse, shows a space as text, or needs an inline style (which
//! the book's Content-Security-Policy blocks: `\!` makes one) is a compile error naming it.
//!
//! `prose!` passages are checked here the same way, but their HTML is not put in the download: the
//! text packer (bin/prose-pack.rs, run after Trunk's build) writes each page's passages to a file
//! that the page loads, and the macro leaves only the passage's page and key.

use proc_macro::TokenStream;

// The packer's half of the module (finding passages, writing files) is not the macros'.
#[allow(dead_code)]
mod typeset;
use typeset::{key, page_of, prose_html, typeset};

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

/// A passage of static prose, formulas typeset: `\(...\)` inline (as `tex!`, in
/// `<span class="math">`) and `\[...\]` display (as `tex_block!`, in `<div class="math-block">`).
/// A line break with the spaces around it is one space, or nothing between two tags. The tags must
/// balance and a bare `<` or `&` in the text is refused, each a compile error naming the place.
/// The macro's value is the passage's place in the page's text file, `(page, key)`: the page is the
/// chapter module the passage is written in (`src/chapters/NAME`), the key the FNV-1a hash of its
/// source. The page loads the HTML from `prose-NAME.txt` (`ui::math::Prose`).
#[proc_macro]
pub fn prose(input: TokenStream) -> TokenStream {
    let file = proc_macro::Span::call_site().file();
    let place = string_literal(input).and_then(|src| {
        prose_html(&src)?;
        Ok((page_of(&file)?, key(&src)))
    });
    let code = match place {
        Ok((page, key)) => format!("({page:?}, {key:#018x}_u64)"),
        Err(why) => format!("::core::compile_error!({why:?})"),
    };
    code.parse().expect("a tuple or compile_error! parses")
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
