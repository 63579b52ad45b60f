//! A slit spectrograph's entrance: a 0.2" slit in the focal plane, then a pupil stop.
//! Same system as examples/scenes/slit.toml.
//!
//! cargo run --release -p diffract --example slit

use diffract::instruments::{Camera, SlitSpectrograph, Telescope};
use diffract::propagation::{ComputeOptions, Source};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let slit = SlitSpectrograph::new(
        Telescope::Circular { diameter_m: 6.5 },
        0.2,
        3.0,
        6.0,
        Camera::new(0.1, 3.0).with_sampling(256, 4),
    );
    let psf = slit.psf(&Source::monochromatic(1.5e-6)?, &ComputeOptions::default())?;
    println!("slit: flux in field {:.4} (the slit passes part of the PSF)", psf.flux());
    Ok(())
}
