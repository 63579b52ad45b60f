//! A classical Lyot coronagraph, computed by zero-padded FFTs and by the semi-analytic
//! method. Same system as examples/scenes/lyot_coronagraph.toml (which uses the
//! semi-analytic method).
//!
//! cargo run --release -p diffract --example lyot_coronagraph

use diffract::instruments::{Camera, CoronagraphInstrument, CoronagraphMask, Telescope};
use diffract::propagation::{ComputeOptions, Coronagraph, Source};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let coronagraph = CoronagraphInstrument::new(
        Telescope::Circular { diameter_m: 6.5 },
        CoronagraphMask::LyotSpot { radius_arcsec: 0.4 },
        6.0,
        Camera::new(0.031, 3.0).with_sampling(256, 4),
    );
    let source = Source::new(vec![1.9e-6, 2.0e-6, 2.1e-6], None)?;
    let opts = ComputeOptions::default();
    for (label, instrument) in [
        ("FFT", coronagraph.clone()),
        (
            "semi-analytic",
            coronagraph
                .clone()
                .with_method(Coronagraph::SemiAnalytic { occulter_box_arcsec: 0.5, oversample: 8 }),
        ),
    ] {
        let start = Instant::now();
        let psf = instrument.psf(&source, &opts)?;
        println!(
            "Lyot coronagraph ({label}): flux in field {:.3e}, {:.3} s",
            psf.flux(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
