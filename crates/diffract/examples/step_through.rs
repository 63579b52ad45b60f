//! One wavelength through a Lyot coronagraph, step by step: after each step of the plan,
//! where the light is, how it is sampled and how much of it is left (POPPY's `propagate`
//! with `return_intermediates`).
//!
//! cargo run --release -p diffract --example step_through

use diffract::optics::{CircularAperture, CircularOcculter};
use diffract::propagation::{ComputeOptions, Detector, OpticalSystem, Precision, PsfPlan, Source};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut system = OpticalSystem::new("lyot", 256, 4);
    system.add_pupil(CircularAperture::new(1.0)?);
    system.add_image(CircularOcculter::new(0.1)?);
    system.add_pupil(CircularAperture::new(0.9)?);
    system.set_detector(Detector::with_fov_pixels(0.01, 128)?);
    let kinds: Vec<&str> = system.planes().iter().map(|p| p.kind()).collect();

    // Plane by plane: every optic is a step of its own.
    let plan = PsfPlan::new_plane_by_plane(&system)?;
    let source = Source::monochromatic(1.0e-6)?;
    let input = plan.input_wavefront(1.0e-6, &source)?;
    // "First" normalisation: unit intensity after the first optic, so more before it.
    println!(
        "input: {:?} samples of {:.5} {}, total intensity {:.6}",
        input.field.dim(),
        input.sampling.pixelscale(),
        input.sampling.unit(),
        input.total_intensity()
    );
    // Double precision: stepping shows every plane in double precision, and so ends on the
    // computed PSF bit for bit (the default precision's compute holds the coronagraph's
    // image plane in single precision, nothing looking at it: within 1e-6 of this).
    let opts = ComputeOptions::default().with_precision(Precision::F64);
    let mut totals = Vec::new();
    let last = plan.propagate(1.0e-6, &source, &opts, |i, step, wf| {
        let what = match step.planes() {
            Some(p) => format!("{} (optic {}: {})", step.name(), p.start + 1, kinds[p.start]),
            None => step.name().to_string(),
        };
        let plane = if wf.sampling.is_image() { "image" } else { "pupil" };
        println!(
            "step {i:2}: {what:<48} {plane} plane, {:>4} x {:<4} samples of {:.5} {}, total intensity {:.6}",
            wf.field.nrows(),
            wf.field.ncols(),
            wf.sampling.pixelscale(),
            wf.sampling.unit(),
            wf.total_intensity()
        );
        totals.push(wf.total_intensity());
    })?;
    // The light only ever goes down: apertures and the occulter remove some; the FFTs keep
    // it, except that the last one keeps only the central pupil (all that reaches the
    // detector), and the detector sees only its field.
    assert!(totals.windows(2).all(|w| w[1] <= w[0] * (1.0 + 1e-9)), "{totals:?}");
    let psf = plan.compute(&source, &opts)?;
    let same = psf.image == last.intensity();
    println!(
        "detector: flux {:.6e}; the stepped wavefront's intensity {} the computed PSF",
        last.total_intensity(),
        if same { "equals" } else { "differs from" }
    );
    assert!(same);
    Ok(())
}
