//! Input-level corruptions of 28 x 28 grey-scale images (the MNIST-C ladders, Mu and Gilmer, 2019).
//!
//! A pixel is x = byte / 255 in [0, 1]; every corruption's output is clipped to [0, 1] and a
//! corrupted split is rounded back to bytes, round(255 x), so the rest of the lab takes it unchanged.
//!   gaussian_noise   x + sigma z, z ~ N(0, 1) per pixel              sigma = .08 .12 .18 .26 .38
//!   shot_noise       Poisson(c x) / c per pixel                      c = 60 25 12 5 3
//!   impulse_noise    with probability p a pixel becomes 0 or 1        p = .03 .06 .09 .17 .27
//!                    (half each), otherwise it is kept
//!   contrast         (x - m) c + m, m the image's own mean           c = .4 .3 .2 .1 .05
//!   brightness       x + c                                           c = .1 .2 .3 .4 .5
//!   gaussian_blur    Gaussian kernel of width sigma, radius          sigma = 1 2 3 4 6
//!                    ceil(3 sigma), separable
//!   pixelate         area average down to round(28 c) pixels a side, c = .6 .5 .4 .3 .25
//!                    nearest neighbour back up to 28                 (17 14 11 8 7 pixels)
//!   defocus_blur     uniform disk kernel, dy^2 + dx^2 <= r^2         r = 1 2 3 4 5
//! Severity 1..=5 picks the ladder's value; severity 0 is the image unchanged, bit for bit. The
//! noises (and the Poisson sampler, Knuth's method) are in `noise`; the kernels, their clamped
//! borders and the exact area weights in `filters`. Image i of a split draws its noise from
//! `Rng::stream(seed, i)`, so any slice of a split gives the same bytes.

use super::{filters, noise};
use crate::rng::Rng;
use crate::vision::data::{Split, SIDE};
use std::ops::Range;

const PIXELS: usize = SIDE * SIDE;
/// The largest severity; 0 is none.
pub const MAX_SEVERITY: u8 = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Corruption {
    GaussianNoise,
    ShotNoise,
    ImpulseNoise,
    Contrast,
    Brightness,
    GaussianBlur,
    Pixelate,
    DefocusBlur,
}

impl Corruption {
    pub const ALL: [Corruption; 8] = [
        Corruption::GaussianNoise,
        Corruption::ShotNoise,
        Corruption::ImpulseNoise,
        Corruption::Contrast,
        Corruption::Brightness,
        Corruption::GaussianBlur,
        Corruption::Pixelate,
        Corruption::DefocusBlur,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Corruption::GaussianNoise => "gaussian_noise",
            Corruption::ShotNoise => "shot_noise",
            Corruption::ImpulseNoise => "impulse_noise",
            Corruption::Contrast => "contrast",
            Corruption::Brightness => "brightness",
            Corruption::GaussianBlur => "gaussian_blur",
            Corruption::Pixelate => "pixelate",
            Corruption::DefocusBlur => "defocus_blur",
        }
    }

    pub fn parse(name: &str) -> Result<Corruption, String> {
        Corruption::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Corruption::ALL.iter().map(|c| c.name()).collect();
                format!("unknown corruption '{name}' (one of {})", names.join(", "))
            })
    }

    /// Whether the corruption draws random numbers (the noises); the others ignore the seed.
    pub fn is_random(self) -> bool {
        matches!(
            self,
            Corruption::GaussianNoise | Corruption::ShotNoise | Corruption::ImpulseNoise
        )
    }

    /// The ladder: the corruption's parameter at severities 1 to 5.
    pub fn ladder(self) -> [f64; 5] {
        match self {
            Corruption::GaussianNoise => [0.08, 0.12, 0.18, 0.26, 0.38],
            Corruption::ShotNoise => [60.0, 25.0, 12.0, 5.0, 3.0],
            Corruption::ImpulseNoise => [0.03, 0.06, 0.09, 0.17, 0.27],
            Corruption::Contrast => [0.4, 0.3, 0.2, 0.1, 0.05],
            Corruption::Brightness => [0.1, 0.2, 0.3, 0.4, 0.5],
            Corruption::GaussianBlur => [1.0, 2.0, 3.0, 4.0, 6.0],
            Corruption::Pixelate => [0.6, 0.5, 0.4, 0.3, 0.25],
            Corruption::DefocusBlur => [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    }

    /// The ladder's value at `severity` (1 to 5; severity 0, the identity, has none).
    pub fn level(self, severity: u8) -> Result<f64, String> {
        match severity {
            1..=MAX_SEVERITY => Ok(self.ladder()[severity as usize - 1]),
            _ => Err(format!(
                "{} has levels at severity 1 to {MAX_SEVERITY} (got {severity}; 0 is no corruption)",
                self.name()
            )),
        }
    }
}

fn check_severity(severity: u8) -> Result<(), String> {
    if severity > MAX_SEVERITY {
        return Err(format!(
            "severity must be 0 (none) to {MAX_SEVERITY} (got {severity})"
        ));
    }
    Ok(())
}

/// Bytes as pixels in [0, 1]: x = byte / 255.
pub fn pixels_from_bytes(bytes: &[u8]) -> Vec<f32> {
    bytes.iter().map(|&b| b as f32 / 255.0).collect()
}

/// Pixels as bytes: round(255 x), clamped to 0..=255.
pub fn bytes_from_pixels(pixels: &[f32]) -> Vec<u8> {
    pixels
        .iter()
        .map(|&x| (x * 255.0).round().clamp(0.0, 255.0) as u8)
        .collect()
}

/// One 28 x 28 image (pixels in [0, 1]) under corruption `c` at `severity` (0 to 5).
pub fn corrupt_image(
    pixels: &[f32],
    c: Corruption,
    severity: u8,
    rng: &mut Rng,
) -> Result<Vec<f32>, String> {
    check_severity(severity)?;
    if pixels.len() != PIXELS {
        return Err(format!(
            "an image has {SIDE} x {SIDE} = {PIXELS} pixels (got {})",
            pixels.len()
        ));
    }
    if severity == 0 {
        return Ok(pixels.to_vec());
    }
    let level = c.level(severity)?;
    let out: Vec<f32> = match c {
        Corruption::GaussianNoise => noise::gaussian_noise(pixels, level, rng),
        Corruption::ShotNoise => noise::shot_noise(pixels, level, rng),
        Corruption::ImpulseNoise => noise::impulse_noise(pixels, level, rng),
        Corruption::Contrast => {
            let mean = pixels.iter().map(|&x| x as f64).sum::<f64>() / PIXELS as f64;
            pixels
                .iter()
                .map(|&x| ((x as f64 - mean) * level + mean) as f32)
                .collect()
        }
        Corruption::Brightness => pixels.iter().map(|&x| (x as f64 + level) as f32).collect(),
        Corruption::GaussianBlur => {
            filters::convolve_separable(pixels, SIDE, &filters::gaussian_kernel(level))
        }
        Corruption::Pixelate => {
            let n = (level * SIDE as f64).round() as usize;
            filters::pixelate(pixels, SIDE, n)
        }
        Corruption::DefocusBlur => {
            filters::convolve_2d(pixels, SIDE, &filters::disk_kernel(level as usize))
        }
    };
    Ok(out.into_iter().map(|x| x.clamp(0.0, 1.0)).collect())
}

/// Images `images` of a split, corrupted, as bytes (images.len() x 784). Image i's noise comes
/// from `Rng::stream(seed, i)`, so slices put together give the bytes of one call on the whole.
pub fn corrupt_range(
    split: &Split,
    c: Corruption,
    severity: u8,
    seed: u64,
    images: Range<usize>,
) -> Result<Vec<u8>, String> {
    check_severity(severity)?;
    if split.images.len() != split.len() * PIXELS {
        return Err(format!(
            "the split has {} labels but {} image bytes (expected {} x {PIXELS})",
            split.len(),
            split.images.len(),
            split.len()
        ));
    }
    if images.start > images.end || images.end > split.len() {
        return Err(format!(
            "images {}..{} are not in the split (it has {})",
            images.start,
            images.end,
            split.len()
        ));
    }
    let mut out = Vec::with_capacity(images.len() * PIXELS);
    for i in images {
        if severity == 0 {
            out.extend_from_slice(split.image(i));
            continue;
        }
        let mut rng = Rng::stream(seed, i as u64);
        let corrupted = corrupt_image(&pixels_from_bytes(split.image(i)), c, severity, &mut rng)?;
        out.extend(bytes_from_pixels(&corrupted));
    }
    Ok(out)
}

/// The whole split corrupted (labels unchanged): a `Split` that training and evaluation take as is.
pub fn corrupt_split(
    split: &Split,
    c: Corruption,
    severity: u8,
    seed: u64,
) -> Result<Split, String> {
    Ok(Split {
        images: corrupt_range(split, c, severity, seed, 0..split.len())?,
        labels: split.labels.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` images of random bytes, labelled 0..n mod 10.
    fn random_split(n: usize, seed: u64) -> Split {
        let mut rng = Rng::new(seed);
        Split {
            images: (0..n * PIXELS).map(|_| rng.below(256) as u8).collect(),
            labels: (0..n).map(|i| (i % 10) as u8).collect(),
        }
    }

    fn mean_std(xs: &[f64]) -> (f64, f64) {
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        (mean, var.sqrt())
    }

    #[test]
    fn every_corruption_and_severity_is_784_pixels_in_0_1_and_set_by_the_seed() {
        let split = random_split(3, 1);
        for c in Corruption::ALL {
            for s in 1..=MAX_SEVERITY {
                for i in 0..split.len() {
                    let x = pixels_from_bytes(split.image(i));
                    let out = corrupt_image(&x, c, s, &mut Rng::new(5)).unwrap();
                    assert_eq!(out.len(), PIXELS);
                    assert!(out.iter().all(|v| (0.0..=1.0).contains(v)), "{}", c.name());
                }
                let a = corrupt_split(&split, c, s, 1).unwrap();
                assert_eq!(
                    a,
                    corrupt_split(&split, c, s, 1).unwrap(),
                    "{} {s}",
                    c.name()
                );
                assert_eq!(a.images.len(), split.images.len());
                let other = corrupt_split(&split, c, s, 2).unwrap();
                assert_eq!(a != other, c.is_random(), "{} {s}: seeds", c.name());
            }
        }
    }

    #[test]
    fn severity_zero_is_the_identity_and_bytes_round_trip() {
        let split = random_split(2, 3);
        let x = pixels_from_bytes(split.image(0));
        for c in Corruption::ALL {
            assert_eq!(corrupt_split(&split, c, 0, 4).unwrap(), split);
            let out = corrupt_image(&x, c, 0, &mut Rng::new(4)).unwrap();
            assert!(out.iter().zip(&x).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(bytes_from_pixels(&pixels_from_bytes(&all)), all);
    }

    #[test]
    fn bad_severities_names_ranges_and_sizes_are_errors() {
        let split = random_split(4, 5);
        let x = pixels_from_bytes(split.image(0));
        let err = corrupt_image(&x, Corruption::Contrast, 6, &mut Rng::new(1)).unwrap_err();
        assert!(err.contains('6') && err.contains("0 (none) to 5"), "{err}");
        assert!(corrupt_split(&split, Corruption::Pixelate, 7, 1).is_err());
        assert!(Corruption::Brightness.level(0).is_err());
        assert!(Corruption::Brightness.level(6).is_err());
        assert_eq!(Corruption::Brightness.level(5), Ok(0.5));
        let err = Corruption::parse("fog").unwrap_err();
        assert!(
            err.contains("'fog'") && err.contains("gaussian_noise, shot_noise"),
            "{err}"
        );
        for c in Corruption::ALL {
            assert_eq!(Corruption::parse(c.name()), Ok(c));
        }
        let c = Corruption::GaussianNoise;
        assert!(corrupt_range(&split, c, 1, 0, 3..9)
            .unwrap_err()
            .contains("has 4"));
        assert!(corrupt_image(&x[..700], c, 1, &mut Rng::new(1)).is_err());
        let torn = Split {
            images: split.images[..PIXELS].to_vec(),
            labels: split.labels.clone(),
        };
        assert!(corrupt_split(&torn, c, 1, 0).is_err());
    }

    #[test]
    fn contrast_keeps_the_mean_and_scales_the_std_by_c() {
        // Pixels in [0.3, 0.9], mean near 0.6 (not 0.5, which would hide a wrong mean).
        let x: Vec<f32> = (0..PIXELS)
            .map(|i| 0.3 + 0.6 * ((i * 37) % 101) as f32 / 100.0)
            .collect();
        let xs: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let (mean_in, std_in) = mean_std(&xs);
        for s in 1..=MAX_SEVERITY {
            let c = Corruption::Contrast.level(s).unwrap();
            let out = corrupt_image(&x, Corruption::Contrast, s, &mut Rng::new(0)).unwrap();
            let (mean, std) = mean_std(&out.iter().map(|&v| v as f64).collect::<Vec<_>>());
            assert!(
                (mean - mean_in).abs() < 1e-5,
                "{s}: mean {mean} vs {mean_in}"
            );
            assert!(
                (std - c * std_in).abs() < 1e-5,
                "{s}: std {std} vs {}",
                c * std_in
            );
        }
    }

    #[test]
    fn brightness_shifts_the_mean_of_a_dark_image_by_c() {
        // Pixels in [0, 0.4]: + 0.5 stays below 1.
        let x: Vec<f32> = (0..PIXELS).map(|i| 0.4 * (i % 29) as f32 / 28.0).collect();
        let mean_in = x.iter().map(|&v| v as f64).sum::<f64>() / PIXELS as f64;
        for s in 1..=MAX_SEVERITY {
            let c = Corruption::Brightness.level(s).unwrap();
            let out = corrupt_image(&x, Corruption::Brightness, s, &mut Rng::new(0)).unwrap();
            let mean = out.iter().map(|&v| v as f64).sum::<f64>() / PIXELS as f64;
            assert!((mean - mean_in - c).abs() < 1e-5, "{s}: mean {mean}, c {c}");
        }
    }

    #[test]
    fn blurs_and_pixelate_keep_a_flat_image_flat() {
        let flat = vec![0.3f32; PIXELS];
        for c in [
            Corruption::GaussianBlur,
            Corruption::Pixelate,
            Corruption::DefocusBlur,
        ] {
            for s in 1..=MAX_SEVERITY {
                let out = corrupt_image(&flat, c, s, &mut Rng::new(0)).unwrap();
                assert!(
                    out.iter().all(|v| (v - 0.3).abs() < 1e-6),
                    "{} {s}",
                    c.name()
                );
            }
        }
    }

    #[test]
    fn blur_radii_and_pixelate_sizes_follow_the_ladder() {
        let mut point = vec![0.0f32; PIXELS];
        point[14 * SIDE + 14] = 1.0;
        // Continuous pixels, so no two block means coincide (byte means would, by the birthday bound).
        let mut rng = Rng::new(7);
        let random: Vec<f32> = (0..PIXELS).map(|_| rng.next_f64() as f32).collect();
        let sizes = [
            (3, 5, 17),
            (6, 13, 14),
            (9, 29, 11),
            (12, 49, 8),
            (18, 81, 7),
        ];
        for (s, (radius, disk, n)) in (1..=MAX_SEVERITY).zip(sizes) {
            let run = |c, x: &[f32]| corrupt_image(x, c, s, &mut Rng::new(0)).unwrap();
            // The centre row of a blurred point: 2 ceil(3 sigma) + 1 pixels, cut at the borders.
            let row = &run(Corruption::GaussianBlur, &point)[14 * SIDE..15 * SIDE];
            let width = (14 + radius).min(SIDE - 1) - 14usize.saturating_sub(radius) + 1;
            assert_eq!(
                row.iter().filter(|&&v| v > 0.0).count(),
                width,
                "severity {s}"
            );
            let spread = run(Corruption::DefocusBlur, &point);
            assert_eq!(
                spread.iter().filter(|&&v| v > 0.0).count(),
                disk,
                "severity {s}"
            );
            let blocks = run(Corruption::Pixelate, &random);
            let distinct: std::collections::HashSet<u32> =
                blocks.iter().map(|v| v.to_bits()).collect();
            assert_eq!(distinct.len(), n * n, "severity {s}");
        }
    }

    #[test]
    fn slices_of_a_split_give_the_bytes_of_the_whole() {
        let split = random_split(6, 11);
        for c in Corruption::ALL {
            let whole = corrupt_split(&split, c, 3, 42).unwrap();
            let mut halves = corrupt_range(&split, c, 3, 42, 0..2).unwrap();
            halves.extend(corrupt_range(&split, c, 3, 42, 2..6).unwrap());
            assert_eq!(halves, whole.images, "{}", c.name());
            assert_eq!(whole.labels, split.labels);
        }
    }
}
