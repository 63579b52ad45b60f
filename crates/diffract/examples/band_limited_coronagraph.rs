//! A band-limited coronagraph (circular profile, NIRCam MASK210R-like).
//! Same system as examples/scenes/band_limited_coronagraph.toml.
//!
//! cargo run --release -p diffract --example band_limited_coronagraph

use diffract::instruments::{Camera, CoronagraphInstrument, CoronagraphMask, Telescope};
use diffract::optics::BandLimitedProfile;
use diffract::propagation::{ComputeOptions, Source};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let blc = CoronagraphInstrument::new(
        Telescope::Circular { diameter_m: 6.5 },
        CoronagraphMask::BandLimited { profile: BandLimitedProfile::Circular, sigma: 5.253 },
        5.8,
        Camera::new(0.031, 3.0).with_sampling(256, 4),
    );
    let psf = blc.psf(&Source::new(vec![2.0e-6, 2.2e-6], None)?, &ComputeOptions::default())?;
    println!("band-limited coronagraph: flux in field {:.3e}", psf.flux());
    Ok(())
}
