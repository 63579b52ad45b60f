//! A wavefront-control loop: a 32 x 32 actuator continuous deformable mirror behind a
//! circular aperture, one wavelength; 200 random actuator updates, each followed by a PSF,
//! on one plan. Only the mirror's OPD is resampled at each update (its sampling, the
//! aperture's samples, the MFT matrices and the buffers are kept).
//!
//! cargo run --release -p diffract --example dm_loop [-- --precision f64|f32|auto]
//!
//! It prints `dm_loop: N PSF/s` for the default options (precision "auto", which runs this
//! loop's matrix Fourier transforms in single precision; pupil sampling, phasors and sums
//! stay double). With `--precision P` it runs the loop a second time in P
//! (`ComputeOptions::with_precision`) and prints that rate too. On this loop the
//! single-precision PSFs differ from the double-precision ones by at most 4.8e-7 in
//! relative L2 norm (7.1e-7 of the peak at worst, over every tenth PSF of the 200;
//! docs/performance.md).

use diffract::optics::{CircularAperture, ContinuousDeformableMirror};
use diffract::propagation::{ComputeOptions, Detector, OpticalSystem, Precision, Source};
use std::time::Instant;

/// A small linear congruential generator (Knuth's MMIX constants): deterministic updates.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 31) as f64
    }
}

const UPDATES: usize = 200;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let second = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => None,
        ["--precision", p] => Some(p.parse::<Precision>()?),
        _ => return Err("usage: dm_loop [--precision f64|f32|auto]".into()),
    };
    println!("dm_loop: {:.0} PSF/s", run(ComputeOptions::default())?);
    if let Some(precision) = second {
        let opts = ComputeOptions::default().with_precision(precision);
        println!("dm_loop (--precision {}): {:.0} PSF/s", precision.name(), run(opts)?);
    }
    Ok(())
}

/// The loop's rate with `opts`, PSFs per second.
fn run(opts: ComputeOptions) -> Result<f64, Box<dyn std::error::Error>> {
    let mut dm = ContinuousDeformableMirror::new(32, 32, None, 1.0)?;
    let mut system = OpticalSystem::new("dm loop", 256, 2);
    system.add_pupil(CircularAperture::new(1.0)?);
    let dm_plane = system.planes().len();
    system.add_pupil(dm.clone());
    system.set_detector(Detector::with_fov_pixels(0.05, 64)?);
    let source = Source::monochromatic(1.0e-6)?;

    let mut plan = system.plan()?;
    let mut rng = Lcg(2026);
    let mut total = 0.0;
    let start = Instant::now();
    for _ in 0..UPDATES {
        let (row, col) = ((rng.next() % 32) as usize, (rng.next() % 32) as usize);
        dm.set_actuator(row, col, (rng.uniform() - 0.5) * 100e-9)?;
        plan.update_dm(dm_plane, &dm)?;
        let psf = plan.compute(&source, &opts)?;
        total += psf.image.sum();
    }
    let seconds = start.elapsed().as_secs_f64();
    assert!(total > 0.5 * UPDATES as f64 && total < UPDATES as f64, "{total}");
    // The loop's last PSF against a new plan of the final mirror: the plan follows each
    // update by its change alone, equal up to rounding.
    let last = plan.compute(&source, &opts)?;
    let mut fresh = OpticalSystem::new("dm loop", 256, 2);
    fresh.add_pupil(CircularAperture::new(1.0)?);
    fresh.add_pupil(dm);
    fresh.set_detector(Detector::with_fov_pixels(0.05, 64)?);
    let want = fresh.plan()?.compute(&source, &opts)?;
    let diff: f64 = last.image.iter().zip(&want.image).map(|(a, b)| (a - b) * (a - b)).sum();
    let err = (diff / want.image.iter().map(|b| b * b).sum::<f64>()).sqrt();
    // Single-precision transforms (what "auto" runs here) round each change at about 1e-7.
    let tolerance = if last.precision == Precision::F32 { 1e-6 } else { 1e-12 };
    assert!(err <= tolerance, "the loop's PSF differs from a new plan's by {err:e}");
    Ok(UPDATES as f64 / seconds)
}
