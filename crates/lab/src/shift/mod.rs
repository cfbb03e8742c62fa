//! Distribution shifts of the image lab's data for chapter 3, surgical fine-tuning: input-level
//! corruptions (noise, contrast, brightness, blur, pixelation) at five severities, each giving a
//! `Split` the rest of the lab trains and evaluates on unchanged. Uses the foundations (`rng`) and
//! `vision::data` for the images.

pub mod corruptions;
pub mod filters;
pub mod noise;
