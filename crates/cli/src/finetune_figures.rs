//! The figures of `glassbox finetune corruptions --out DIR`: one test image under every corruption
//! and severity, and the pretrained network's accuracy as a heatmap (SVG, light theme, with the
//! data as CSV).

use crate::out_dir::OutDir;
use glassbox_lab::figures::heatmap::draw_heatmap;
use glassbox_lab::figures::shift::{
    corruption_examples, corruption_table_heatmap, draw_corruption_grid,
};
use glassbox_lab::figures::{self, Palette};
use glassbox_lab::shift::table::CorruptionTable;
use glassbox_lab::vision::data::Split;

/// The test image shown in the example grid.
pub const EXAMPLE_IMAGE: usize = 0;

pub fn write(dir: &OutDir, test: &Split, table: &CorruptionTable) -> Result<(), String> {
    let p = Palette::LIGHT;
    let grid = corruption_examples(test, EXAMPLE_IMAGE, table.seed)?;
    dir.write(
        "corruption-examples.svg",
        &figures::to_svg(720, 980, |a| draw_corruption_grid(a, &grid, &p))?,
    )?;
    dir.write("corruption-examples.csv", &grid.csv())?;
    let heat = corruption_table_heatmap(table);
    dir.write(
        "corruption-accuracy.svg",
        &figures::to_svg(800, 520, |a| draw_heatmap(a, &heat, &p))?,
    )?;
    dir.write("corruption-accuracy.csv", &heat.csv())
}
