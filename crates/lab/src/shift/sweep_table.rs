//! A sweep's results as CSV, the form the page ships for the full protocol's table (every
//! corruption at severity 5, every tuning choice; `glassbox finetune sweep --corruption all
//! --out DIR` writes it) and reads back. One row per (shift, tuning choice):
//! `shift,corruption,severity,tune,accuracy_before,accuracy_after,lr,epoch,params_tuned,images,seed`
//! (corruption and severity empty for other shifts; lr and epoch empty for `bn-stats`). Reading
//! checks the header, the field count, and that accuracies are in [0, 1]: a corrupt file is an
//! error naming its line, never a panic.

use super::blocks::Tune;
use super::tuner::TuneResult;
use crate::decimal::FromText;

pub const HEADER: &str =
    "shift,corruption,severity,tune,accuracy_before,accuracy_after,lr,epoch,params_tuned,images,seed";

/// One row.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepRow {
    pub shift: String,
    pub corruption: String,
    pub severity: Option<u8>,
    pub tune: Tune,
    pub accuracy_before: f64,
    pub accuracy_after: f64,
    pub lr: Option<f64>,
    pub epoch: Option<usize>,
    pub params_tuned: usize,
    pub images: usize,
    pub seed: u64,
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(|x| x.to_string()).unwrap_or_default()
}

impl SweepRow {
    pub fn csv_line(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{},{},{}",
            self.shift,
            self.corruption,
            opt(&self.severity),
            self.tune.name(),
            self.accuracy_before,
            self.accuracy_after,
            opt(&self.lr),
            opt(&self.epoch),
            self.params_tuned,
            self.images,
            self.seed
        )
    }
}

impl TryFrom<&TuneResult> for SweepRow {
    type Error = String;

    fn try_from(r: &TuneResult) -> Result<SweepRow, String> {
        Ok(SweepRow {
            shift: r.shift.clone(),
            corruption: r.corruption.clone().unwrap_or_default(),
            severity: r.severity,
            tune: Tune::parse(&r.tune)?,
            accuracy_before: r.accuracy_before,
            accuracy_after: r.accuracy_after,
            lr: r.lr,
            epoch: r.epoch,
            params_tuned: r.params_tuned,
            images: r.images,
            seed: r.seed,
        })
    }
}

/// The CSV of `rows`, header first.
pub fn to_csv(rows: &[SweepRow]) -> String {
    let mut s = format!("{HEADER}\n");
    for r in rows {
        s.push_str(&r.csv_line());
        s.push('\n');
    }
    s
}

fn field<T: FromText>(v: &str, what: &str, line: usize) -> Result<T, String> {
    T::from_text(v.trim()).ok_or_else(|| format!("line {line}: {what} '{v}' is not valid"))
}

fn optional<T: FromText>(v: &str, what: &str, line: usize) -> Result<Option<T>, String> {
    if v.trim().is_empty() {
        Ok(None)
    } else {
        field(v, what, line).map(Some)
    }
}

/// Rows of a sweep CSV.
pub fn parse(text: &str) -> Result<Vec<SweepRow>, String> {
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some(HEADER) {
        return Err("the table's first line is not its header".into());
    }
    let mut rows = Vec::new();
    for (i, l) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let line = i + 2;
        let f: Vec<&str> = l.split(',').collect();
        if f.len() != 11 {
            return Err(format!("line {line}: {} fields, expected 11", f.len()));
        }
        let acc = |v: &str, what: &str| -> Result<f64, String> {
            let a: f64 = field(v, what, line)?;
            if (0.0..=1.0).contains(&a) {
                Ok(a)
            } else {
                Err(format!("line {line}: {what} {a} is not in [0, 1]"))
            }
        };
        rows.push(SweepRow {
            shift: f[0].to_string(),
            corruption: f[1].to_string(),
            severity: optional(f[2], "severity", line)?,
            tune: Tune::parse(f[3]).map_err(|e| format!("line {line}: {e}"))?,
            accuracy_before: acc(f[4], "accuracy_before")?,
            accuracy_after: acc(f[5], "accuracy_after")?,
            lr: optional(f[6], "lr", line)?,
            epoch: optional(f[7], "epoch", line)?,
            params_tuned: field(f[8], "params_tuned", line)?,
            images: field(f[9], "images", line)?,
            seed: field(f[10], "seed", line)?,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_corrupt_tables_are_errors() {
        let rows = vec![
            SweepRow {
                shift: "corruption".into(),
                corruption: "pixelate".into(),
                severity: Some(5),
                tune: Tune::Block(0),
                accuracy_before: 0.5,
                accuracy_after: 0.812,
                lr: Some(0.01),
                epoch: Some(7),
                params_tuned: 2512,
                images: 1000,
                seed: 0,
            },
            SweepRow {
                shift: "flip".into(),
                corruption: String::new(),
                severity: None,
                tune: Tune::BnStats,
                accuracy_before: 0.004,
                accuracy_after: 0.003,
                lr: None,
                epoch: None,
                params_tuned: 0,
                images: 1000,
                seed: 2,
            },
        ];
        let text = to_csv(&rows);
        assert_eq!(parse(&text).unwrap(), rows);
        assert!(parse("nope\n").unwrap_err().contains("header"));
        let bad = text.replace("0.812", "1.5");
        assert!(parse(&bad).unwrap_err().contains("line 2"));
        let short = format!("{HEADER}\ncorruption,pixelate,5\n");
        assert!(parse(&short).unwrap_err().contains("3 fields"));
        let tune = text.replace("bn-stats", "block9");
        assert!(parse(&tune).unwrap_err().contains("line 3"));
    }
}
