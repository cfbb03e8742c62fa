//! The page's location: `#/<chapter>?key=value&...`.
//!
//! Hash routing works on any static host and under any sub-path (the server only ever serves
//! index.html). Every control of a figure, and its seed, is a query parameter; reading the URL back
//! reproduces the figure. A malformed or out-of-range value becomes a notice naming the parameter,
//! and the parameter falls back to its default.

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Location {
    pub route: String,
    pub params: Vec<(String, String)>,
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Location {
    /// Parse `#/route?k=v&k2=v2` (the leading `#` and `/` are optional).
    pub fn parse(hash: &str) -> Location {
        let h = hash.trim_start_matches('#').trim_start_matches('/');
        let (route, query) = match h.split_once('?') {
            Some((r, q)) => (r, q),
            None => (h, ""),
        };
        let params = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (decode(k), decode(v)),
                None => (decode(p), String::new()),
            })
            .collect();
        Location {
            route: decode(route).trim_end_matches('/').to_string(),
            params,
        }
    }

    pub fn to_hash(&self) -> String {
        let mut s = format!("#/{}", self.route);
        if !self.params.is_empty() {
            s.push('?');
            let parts: Vec<String> = self
                .params
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            s.push_str(&parts.join("&"));
        }
        s
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A numeric control: its URL key, label, range and how it reads and writes the settings `S`.
pub struct NumField<S> {
    pub bounds: Bounds,
    pub get: fn(&S) -> f64,
    pub set: fn(&mut S, f64),
}

impl<S> NumField<S> {
    /// Check a typed or URL value; the error names the parameter and says what is allowed.
    pub fn check(&self, text: &str) -> Result<f64, String> {
        self.bounds.check(text)
    }
}

/// What a `NumField` allows (its URL key, label and range), whatever settings it belongs to.
#[derive(Clone, Copy)]
pub struct Bounds {
    pub key: &'static str,
    pub label: &'static str,
    pub min: f64,
    pub max: f64,
    pub step: f64,
    pub integer: bool,
}

impl Bounds {
    /// Check a typed or URL value; the error names the parameter and says what is allowed.
    pub fn check(&self, text: &str) -> Result<f64, String> {
        let not_a = |what: &str| {
            let kind = if self.integer { "whole number" } else { what };
            format!(
                "{} ({}): '{}' is not a {}",
                self.label, self.key, text, kind
            )
        };
        let v = glassbox_lab::decimal::parse(text.trim()).ok_or_else(|| not_a("number"))?;
        if !v.is_finite() || (self.integer && v.fract() != 0.0) {
            return Err(not_a("finite number"));
        }
        if v < self.min || v > self.max {
            return Err(format!(
                "{} ({}): {} is outside {} to {}",
                self.label,
                self.key,
                text,
                fmt_num(self.min),
                fmt_num(self.max)
            ));
        }
        Ok(v)
    }
}

/// A `NumField` of the settings type `$s` for its field `$f` (read as f64, written back with
/// `as`): `num_field!(Settings; "key", "Label", min, max, step, integer, field)`.
macro_rules! num_field {
    ($s:ty; $key:expr, $label:expr, $min:expr, $max:expr, $step:expr, $int:expr, $f:ident) => {
        $crate::url_state::NumField {
            bounds: $crate::url_state::Bounds {
                key: $key,
                label: $label,
                min: $min,
                max: $max,
                step: $step,
                integer: $int,
            },
            get: |s: &$s| s.$f as f64,
            set: |s: &mut $s, v| s.$f = v as _,
        }
    };
}
pub(crate) use num_field;

pub fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Apply the URL's values of `fields` to `settings`; every bad value adds a notice and keeps the default.
pub fn read_fields<S>(
    loc: &Location,
    fields: &[NumField<S>],
    settings: &mut S,
    notices: &mut Vec<String>,
) {
    for f in fields {
        if let Some(v) = loc.get(f.bounds.key) {
            match f.check(v) {
                Ok(x) => (f.set)(settings, x),
                Err(e) => notices.push(format!(
                    "URL parameter {e}; using the default {}.",
                    fmt_num((f.get)(settings))
                )),
            }
        }
    }
}

/// The URL parameters of `fields` whose values differ from `defaults`.
pub fn write_fields<S>(
    fields: &[NumField<S>],
    settings: &S,
    defaults: &S,
    out: &mut Vec<(String, String)>,
) {
    for f in fields {
        let v = (f.get)(settings);
        if v != (f.get)(defaults) {
            out.push((f.bounds.key.to_string(), fmt_num(v)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct S {
        a: usize,
        b: f64,
    }

    fn fields() -> Vec<NumField<S>> {
        vec![
            NumField {
                bounds: Bounds {
                    key: "a",
                    label: "A",
                    min: 1.0,
                    max: 10.0,
                    step: 1.0,
                    integer: true,
                },
                get: |s| s.a as f64,
                set: |s, v| s.a = v as usize,
            },
            NumField {
                bounds: Bounds {
                    key: "b",
                    label: "B",
                    min: 0.0,
                    max: 1.0,
                    step: 0.01,
                    integer: false,
                },
                get: |s| s.b,
                set: |s, v| s.b = v,
            },
        ]
    }

    #[test]
    fn round_trips_route_and_params() {
        let loc = Location {
            route: "meta-learning".into(),
            params: vec![
                ("freqs".into(), "3,4,5".into()),
                ("x".into(), "a b&c".into()),
            ],
        };
        let back = Location::parse(&loc.to_hash());
        assert_eq!(back, loc);
        assert_eq!(Location::parse("").route, "");
        assert_eq!(Location::parse("#/meta-learning/").route, "meta-learning");
        assert_eq!(Location::parse("#/x?%zz=1").params[0].0, "%zz");
    }

    #[test]
    fn bad_values_become_notices_naming_the_parameter() {
        let loc = Location::parse("#/c?a=abc&b=0.5");
        let mut s = S { a: 3, b: 0.1 };
        let mut notices = Vec::new();
        read_fields(&loc, &fields(), &mut s, &mut notices);
        assert_eq!(s, S { a: 3, b: 0.5 });
        assert_eq!(notices.len(), 1);
        assert!(
            notices[0].contains("(a)") && notices[0].contains("abc"),
            "{}",
            notices[0]
        );

        let loc = Location::parse("#/c?a=11&b=NaN&a=2.5");
        let mut notices = Vec::new();
        let mut s = S { a: 3, b: 0.1 };
        read_fields(&loc, &fields(), &mut s, &mut notices);
        assert_eq!(s, S { a: 3, b: 0.1 });
        assert_eq!(notices.len(), 2, "{notices:?}");
    }

    #[test]
    fn only_changed_values_are_written() {
        let d = S { a: 3, b: 0.1 };
        let mut out = Vec::new();
        write_fields(&fields(), &S { a: 5, b: 0.1 }, &d, &mut out);
        assert_eq!(out, vec![("a".to_string(), "5".to_string())]);
    }
}
