//! The pretrained network under every corruption: accuracy on the first N test images for each
//! corruption and severity 1..5 (severity 0, the clean images, is one number for all), image i's
//! noise drawn from `Rng::stream(seed, i)` as everywhere in the chapter.

use super::corruptions::{corrupt_range, Corruption, MAX_SEVERITY};
use crate::vision::data::Split;
use crate::vision::network::Network;
use crate::vision::train::predict;
use serde::Serialize;

/// One cell: a corruption at a severity (0: clean).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cell {
    pub name: &'static str,
    pub severity: u8,
    pub accuracy: f64,
}

/// The accuracy of `net` on the first `images` test images under `c` at `severity`.
pub fn cell_accuracy(
    net: &Network,
    test: &Split,
    c: Corruption,
    severity: u8,
    seed: u64,
    images: usize,
) -> Result<f64, String> {
    let n = images.min(test.len());
    let shifted = Split {
        images: corrupt_range(test, c, severity, seed, 0..n)?,
        labels: test.labels[..n].to_vec(),
    };
    let p = predict(&mut net.clone(), &shifted, 0..n);
    let right = p
        .iter()
        .zip(&shifted.labels)
        .filter(|(a, &b)| **a == b as u32)
        .count();
    Ok(right as f64 / n.max(1) as f64)
}

/// Every cell to compute: (corruption, severity), the clean images first as (first corruption, 0).
pub fn cells() -> Vec<(Corruption, u8)> {
    std::iter::once((Corruption::ALL[0], 0))
        .chain(
            Corruption::ALL
                .iter()
                .flat_map(|&c| (1..=MAX_SEVERITY).map(move |s| (c, s))),
        )
        .collect()
}

/// The table, from the accuracies of `cells()` in order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CorruptionTable {
    pub images: usize,
    pub seed: u64,
    pub clean: f64,
    pub cells: Vec<Cell>,
}

impl CorruptionTable {
    pub fn from_accuracies(images: usize, seed: u64, acc: &[f64]) -> Result<Self, String> {
        let all = cells();
        if acc.len() != all.len() {
            return Err(format!(
                "a corruption table has {} cells (got {})",
                all.len(),
                acc.len()
            ));
        }
        Ok(CorruptionTable {
            images,
            seed,
            clean: acc[0],
            cells: all
                .iter()
                .zip(acc)
                .skip(1)
                .map(|(&(c, severity), &accuracy)| Cell {
                    name: c.name(),
                    severity,
                    accuracy,
                })
                .collect(),
        })
    }

    /// Every corruption at severities 0..5 (severity 0 repeats the clean accuracy).
    pub fn rows(&self) -> Vec<Cell> {
        Corruption::ALL
            .iter()
            .flat_map(|c| {
                std::iter::once(Cell {
                    name: c.name(),
                    severity: 0,
                    accuracy: self.clean,
                })
                .chain(self.cells.iter().filter(|x| x.name == c.name()).cloned())
            })
            .collect()
    }

    /// Accuracy by corruption (rows, `Corruption::ALL` order) and severity 0..5 (columns).
    pub fn grid(&self) -> Vec<Vec<Option<f64>>> {
        Corruption::ALL
            .iter()
            .map(|c| {
                (0..=MAX_SEVERITY)
                    .map(|s| {
                        if s == 0 {
                            Some(self.clean)
                        } else {
                            self.cells
                                .iter()
                                .find(|x| x.name == c.name() && x.severity == s)
                                .map(|x| x.accuracy)
                        }
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_orders_cells_by_corruption_and_severity() {
        let acc: Vec<f64> = (0..cells().len()).map(|i| i as f64 / 100.0).collect();
        let t = CorruptionTable::from_accuracies(10, 0, &acc).unwrap();
        assert_eq!(t.clean, 0.0);
        let g = t.grid();
        assert_eq!(g.len(), 8);
        assert_eq!(
            g[0],
            vec![
                Some(0.0),
                Some(0.01),
                Some(0.02),
                Some(0.03),
                Some(0.04),
                Some(0.05)
            ]
        );
        assert_eq!(g[7][5], Some(0.40));
        assert_eq!(t.rows().len(), 48);
        assert!(CorruptionTable::from_accuracies(10, 0, &acc[1..]).is_err());
    }
}
