//! Chapters 6 and 7: making the trained network smaller. Magnitude and channel pruning; linear and
//! k-means quantization with quantization-aware training; integer-only int8 inference.
//! Uses `vision` (the network, training, evaluation) and the foundations.

pub mod int8;
pub mod kmeans;
pub mod prune;
pub mod quant;
