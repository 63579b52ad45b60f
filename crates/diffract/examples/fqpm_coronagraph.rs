//! A four-quadrant phase mask coronagraph (MIRI FQPM1065-like), with the FFT aligners.
//! Same system as examples/scenes/fqpm_coronagraph.toml.
//!
//! cargo run --release -p diffract --example fqpm_coronagraph

use diffract::instruments::{Camera, CoronagraphInstrument, CoronagraphMask, Telescope};
use diffract::propagation::{ComputeOptions, Source};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fqpm = CoronagraphInstrument::new(
        Telescope::Circular { diameter_m: 6.5 },
        CoronagraphMask::FourQuadrant { wavelength_m: 10.65e-6, field_stop_arcsec: 24.0 },
        6.0,
        Camera::new(0.11, 8.0).with_sampling(128, 4),
    );
    let psf = fqpm.psf(&Source::monochromatic(10.65e-6)?, &ComputeOptions::default())?;
    println!("FQPM at its design wavelength: flux in field {:.3e}", psf.flux());
    Ok(())
}
