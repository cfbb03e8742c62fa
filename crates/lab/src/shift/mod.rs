//! Chapter 3, surgical fine-tuning under distribution shift: input-level corruptions (noise,
//! contrast, brightness, blur, pixelation) at five severities, the label flip and stage noise
//! (`shifts`), the blocks one may tune (`blocks`), and the fine-tuning itself (`suffix`: the
//! network from a layer on, in evaluation mode, and Adam; `tuner`: the paper's protocol as a
//! resumable run; `work`: its heavy arithmetic as requests the CPU or the GPU answers).
//! Uses the foundations (`rng`) and `vision` (data, network).

pub mod blocks;
pub mod corruptions;
pub mod filters;
pub mod noise;
pub mod shifts;
pub mod suffix;
pub mod sweep_table;
pub mod table;
pub mod tuner;
pub mod work;

pub use blocks::{Tensor, Tune};
pub use corruptions::Corruption;
pub use shifts::{Shift, ShiftedData};
pub use tuner::{CurvePoint, PhaseTimes, TuneResult, TuneSettings, Tuner};
