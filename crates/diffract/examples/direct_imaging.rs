//! Direct imaging with an obscured telescope and some wavefront error.
//! Same system as examples/scenes/direct_imaging.toml.
//!
//! cargo run --release -p diffract --example direct_imaging

use diffract::instruments::{Camera, DirectImaging, Telescope};
use diffract::propagation::{ComputeOptions, Source};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let telescope = Telescope::Obscured {
        diameter_m: 2.4,
        secondary_radius_m: 0.3,
        n_supports: 4,
        support_width_m: 0.025,
    };
    let imaging = DirectImaging::new(telescope, Camera::new(0.025, 2.0).with_sampling(256, 2))
        .with_zernike(vec![0.0, 0.0, 0.0, 30e-9, 15e-9, -10e-9]);
    let source = Source::new(vec![0.7e-6, 0.8e-6, 0.9e-6], None)?;
    let psf = imaging.psf(&source, &ComputeOptions::default())?;
    let peak = psf.image.iter().copied().fold(0.0, f64::max);
    println!(
        "direct imaging: {:?} pixels, flux in field {:.4}, peak {:.3e}",
        psf.image.dim(),
        psf.flux(),
        peak
    );
    Ok(())
}
