//! The image lab: the Fashion-MNIST data, the VGG-style network and its calculator, its CPU layers
//! (the references of the GPU kernels), SGD training, fine-tuning and evaluation.
//! Uses the foundations (`rng`, `kernels`); chapters 3, 6 and 7 build on it.

pub mod data;
pub mod network;
pub mod nn;
pub mod train;
pub mod vgg;
