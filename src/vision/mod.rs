//! The image lab's network in the page, shared by the image lab and chapters 6 and 7: the data set
//! and trained weights (download, unpacking, test-set classification on WebGPU or the CPU) and
//! fine-tuning in the page (on a device, the device worker's where there is one, or a block at a
//! time on the CPU; keeps masks or codebooks).

pub mod data;
pub mod finetune;
pub mod resident;
