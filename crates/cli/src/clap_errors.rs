//! Clap's errors as the one line `glassbox` prints: the option, what is wrong with its value and
//! what it accepts (`--ratio: 1.5 is not in [0, 1)`), instead of clap's several lines.

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// Clap's error as one line: the option, what is wrong with it, and what it accepts.
pub fn one_line(e: &clap::Error) -> String {
    let text = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.as_str()),
        _ => None,
    };
    // "--ratio <RATIO>" -> "--ratio"
    let option = |a: &str| a.split(' ').next().unwrap_or(a).to_string();
    let arg = text(ContextKind::InvalidArg).map(option);
    let value = text(ContextKind::InvalidValue);
    match (e.kind(), arg, value) {
        (ErrorKind::ValueValidation, Some(arg), Some(v)) => match std::error::Error::source(e) {
            Some(why) => format!("{arg}: {why}"),
            None => format!("{arg}: cannot read '{v}'"),
        },
        (ErrorKind::InvalidValue, Some(arg), Some("")) => format!("{arg} needs a value"),
        (ErrorKind::InvalidValue, Some(arg), Some(v)) => match e.get(ContextKind::ValidValue) {
            Some(ContextValue::Strings(valid)) => {
                format!("{arg}: '{v}' is not one of {}", valid.join(", "))
            }
            _ => format!("{arg}: cannot read '{v}'"),
        },
        (ErrorKind::MissingRequiredArgument, ..) => match e.get(ContextKind::InvalidArg) {
            Some(ContextValue::Strings(missing)) => {
                let missing: Vec<String> = missing.iter().map(|a| option(a)).collect();
                let verb = if missing.len() == 1 { "is" } else { "are" };
                format!("{} {verb} required", missing.join(", "))
            }
            _ => first_line(e),
        },
        _ => {
            let mut line = first_line(e);
            if let Some(s) = suggestion(e) {
                line += &format!("; did you mean '{s}'?");
            }
            if let Some(command) = command_of(e) {
                line += &format!(" (see '{command} --help')");
            }
            line
        }
    }
}

/// Clap's closest match to a mistyped option or subcommand.
fn suggestion(e: &clap::Error) -> Option<String> {
    [ContextKind::SuggestedArg, ContextKind::SuggestedSubcommand]
        .into_iter()
        .find_map(|kind| match e.get(kind) {
            Some(ContextValue::String(s)) => Some(s.clone()),
            Some(ContextValue::Strings(s)) => s.first().cloned(),
            _ => None,
        })
}

fn first_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

/// The command that refused an argument ("glassbox prune channel"), from its usage line.
fn command_of(e: &clap::Error) -> Option<String> {
    let Some(ContextValue::StyledStr(usage)) = e.get(ContextKind::Usage) else {
        return None;
    };
    let usage = usage.to_string();
    let words: Vec<&str> = usage
        .strip_prefix("Usage: ")?
        .split_whitespace()
        .take_while(|w| !w.starts_with(['[', '<', '-']))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}
