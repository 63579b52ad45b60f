//! A seven-hole non-redundant aperture mask and its interferogram.
//! Same system as examples/scenes/aperture_masking.toml.
//!
//! cargo run --release -p diffract --example aperture_masking

use diffract::instruments::{Camera, NonRedundantMask};
use diffract::propagation::{ComputeOptions, Source};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mask = NonRedundantMask::seven_holes(Camera::new(0.065, 5.0).with_sampling(256, 2));
    println!("{} baselines, none repeated", mask.baselines()?.len());
    let psf = mask.psf(&Source::monochromatic(4.8e-6)?, &ComputeOptions::default())?;
    println!("interferogram: {:?} pixels, flux in field {:.4}", psf.image.dim(), psf.flux());
    Ok(())
}
