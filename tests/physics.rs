//! Physics checks against analytic references: the Airy pattern, the position of an offset
//! source, energy in the field, and results independent of backend and worker count.

use diffract::optics::CircularAperture;
use diffract::propagation::{
    ComputeOptions, Detector, OpticalSystem, Precision, Psf, Source, ARCSEC_PER_RAD,
};
use diffract::transforms::GemmBackend;
use std::f64::consts::PI;

/// Bessel J1 by its integral `(1/pi) int_0^pi cos(t - x sin t) dt`, Simpson's rule with 4000
/// intervals (error far below 1e-12 for |x| < 50).
fn bessel_j1(x: f64) -> f64 {
    let n = 4000;
    let h = PI / n as f64;
    let f = |t: f64| (t - x * t.sin()).cos();
    let mut s = f(0.0) + f(PI);
    for i in 1..n {
        s += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0 / PI
}

/// The Airy intensity normalised to 1 at the centre, at angle `theta` (radians).
fn airy(theta: f64, diameter: f64, wavelength: f64) -> f64 {
    let x = PI * diameter * theta / wavelength;
    if x.abs() < 1e-12 {
        1.0
    } else {
        (2.0 * bessel_j1(x) / x).powi(2)
    }
}

const D: f64 = 2.0;
const LAMBDA: f64 = 1e-6;

fn airy_system(pixelscale: f64, fov_pixels: usize) -> OpticalSystem {
    let mut system = OpticalSystem::new("airy", 512, 1);
    system.add_pupil(CircularAperture::new(D / 2.0).unwrap());
    system.set_detector(Detector::with_fov_pixels(pixelscale, fov_pixels).unwrap());
    system
}

fn airy_psf(gemm: GemmBackend, pixelscale: f64, fov_pixels: usize) -> Psf {
    let source = Source::monochromatic(LAMBDA).unwrap();
    airy_system(pixelscale, fov_pixels)
        .plan()
        .unwrap()
        .compute(&source, &ComputeOptions::default().with_gemm(gemm).with_precision(Precision::F64))
        .unwrap()
}

/// Reference: the analytic Airy pattern (2 J1(x)/x)^2 of a 2 m pupil at 1 um. The PSF
/// divided by its peak matches it to 1e-3 everywhere (512-pixel pupil). The on-axis pixel
/// holds `(sum t)^2 / sum t^2 * dx^2 * pixel solid angle / lambda^2` (the area term of a
/// sampled pupil with transmission t; pi R^2 for a continuous one) to 1e-10, and that
/// differs from pi R^2 by less than 2e-3 (the gray edge pixels).
#[test]
fn circular_pupil_gives_the_airy_pattern() {
    let lam_d = LAMBDA / D * ARCSEC_PER_RAD;
    for gemm in GemmBackend::compiled() {
        let psf = airy_psf(gemm, lam_d / 8.0, 49); // odd: a pixel on the axis
        let (ny, nx) = psf.image.dim();
        let peak = psf.image[[ny / 2, nx / 2]];
        let mut worst: f64 = 0.0;
        for ((i, j), v) in psf.image.indexed_iter() {
            let dy = (i as f64 - (ny as f64 - 1.0) / 2.0) * psf.pixelscale_arcsec;
            let dx = (j as f64 - (nx as f64 - 1.0) / 2.0) * psf.pixelscale_arcsec;
            let theta = dx.hypot(dy) / ARCSEC_PER_RAD;
            worst = worst.max((v / peak - airy(theta, D, LAMBDA)).abs());
        }
        assert!(worst < 1e-3, "{gemm}: max |PSF/peak - Airy| = {worst:e}");
        let pixel_sr = (psf.pixelscale_arcsec / ARCSEC_PER_RAD).powi(2);
        let plan = airy_system(lam_d / 8.0, 49).plan().unwrap();
        let t = plan.transmission();
        let dx2 = plan.grid().pixelscale().powi(2);
        let area = t.sum().powi(2) / t.iter().map(|v| v * v).sum::<f64>() * dx2;
        let expected_peak = area * pixel_sr / (LAMBDA * LAMBDA);
        assert!(
            (peak / expected_peak - 1.0).abs() < 1e-10,
            "{gemm}: peak {peak} vs {expected_peak}"
        );
        assert!((area / (PI * (D / 2.0).powi(2)) - 1.0).abs() < 2e-3);
    }
}

/// Reference: the first zero of J1 puts the first dark ring at 1.2197 lambda/D. The
/// minimum of a finely sampled cut along +X lies within 0.5% of it.
#[test]
fn first_dark_ring_is_at_1_22_lambda_over_d() {
    let lam_d = LAMBDA / D * ARCSEC_PER_RAD;
    for gemm in GemmBackend::compiled() {
        let psf = airy_psf(gemm, lam_d / 50.0, 201);
        let c = 100;
        let row = psf.image.row(c);
        let (k, _) =
            (c + 50..c + 75).map(|j| (j, row[j])).min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
        let ring = (k - c) as f64 / 50.0;
        assert!((ring / 1.2197 - 1.0).abs() < 5e-3, "{gemm}: first dark ring at {ring} lambda/D");
    }
}

fn centroid_arcsec(psf: &Psf) -> (f64, f64) {
    let (ny, nx) = psf.image.dim();
    let (mut sx, mut sy, mut s) = (0.0, 0.0, 0.0);
    for ((i, j), v) in psf.image.indexed_iter() {
        sx += v * (j as f64 - (nx as f64 - 1.0) / 2.0);
        sy += v * (i as f64 - (ny as f64 - 1.0) / 2.0);
        s += v;
    }
    (sx / s * psf.pixelscale_arcsec, sy / s * psf.pixelscale_arcsec)
}

/// Reference: POPPY's convention: an offset at position angle theta (counter-clockwise from
/// +Y) moves the PSF to (x, y) = (-r sin theta, r cos theta). The centroid (of a field wide
/// enough to hold the core) moves there within 2 mas.
#[test]
fn source_offset_moves_the_psf_where_poppy_puts_it() {
    let mut system = OpticalSystem::new("offset", 256, 2);
    system.add_pupil(CircularAperture::new(D / 2.0).unwrap());
    system.set_detector(Detector::with_fov_arcsec(0.01, 3.0).unwrap());
    let plan = system.plan().unwrap();
    for (r, theta) in [(0.2, 0.0), (0.2, 90.0), (0.3, 225.0)] {
        let source = Source::monochromatic(LAMBDA).unwrap().with_offset(r, theta).unwrap();
        let psf = plan.compute(&source, &ComputeOptions::default()).unwrap();
        let (x, y) = centroid_arcsec(&psf);
        let t = f64::to_radians(theta);
        let (wx, wy) = (-r * t.sin(), r * t.cos());
        assert!(
            (x - wx).abs() < 2e-3 && (y - wy).abs() < 2e-3,
            "r={r} theta={theta}: ({x}, {y}) vs ({wx}, {wy})"
        );
    }
}

/// Reference: energy conservation. With "first" normalisation a clear circular pupil sends
/// all its light to the sky; a field of +-40 lambda/D holds all but the Airy wings beyond
/// it, 1 - 2/(pi^2 * 40) ~ 0.99493 (the asymptotic encircled energy); we require the
/// field flux to lie within 1e-3 of that.
#[test]
fn flux_in_a_wide_field_matches_the_encircled_energy_of_the_airy_wings() {
    let lam_d = LAMBDA / D * ARCSEC_PER_RAD;
    let mut system = OpticalSystem::new("flux", 256, 2);
    system.add_pupil(CircularAperture::new(D / 2.0).unwrap());
    system.set_detector(Detector::with_fov_arcsec(lam_d / 2.0, 80.0 * lam_d).unwrap());
    let psf = system
        .plan()
        .unwrap()
        .compute(&Source::monochromatic(LAMBDA).unwrap(), &ComputeOptions::default())
        .unwrap();
    // The square field holds more than the inscribed circle of radius 40 lambda/D.
    let inscribed = 1.0 - 2.0 / (PI * PI * 40.0);
    assert!(psf.flux() > inscribed - 1e-3 && psf.flux() < 1.0, "flux {}", psf.flux());
}

/// Reference: the one-worker result. Any worker count gives bitwise-identical output
/// (wavelengths are summed in a fixed order), and the GEMM backends agree to 1e-12 of the
/// peak.
#[test]
fn results_do_not_depend_on_workers_and_backends_agree() {
    // Double precision: the backends' roundings agree to 1e-12 of the peak there.
    let f64_opts = || ComputeOptions::default().with_precision(Precision::F64);
    let mut system = OpticalSystem::new("det", 200, 2);
    system.add_pupil(CircularAperture::new(1.0).unwrap());
    system.set_detector(Detector::with_fov_arcsec(0.03, 2.0).unwrap());
    let plan = system.plan().unwrap();
    let source = Source::new(
        vec![1.0e-6, 1.2e-6, 1.4e-6, 1.6e-6, 1.8e-6],
        Some(vec![1.0, 2.0, 3.0, 2.0, 1.0]),
    )
    .unwrap();
    let one =
        plan.compute(&source, &f64_opts().with_gemm(GemmBackend::Gemm).with_workers(1)).unwrap();
    for workers in [2, 3, 5] {
        let many = plan
            .compute(&source, &f64_opts().with_gemm(GemmBackend::Gemm).with_workers(workers))
            .unwrap();
        assert!(one.image == many.image, "{workers} workers differ from one");
    }
    let peak = one.image.iter().copied().fold(0.0, f64::max);
    for gemm in GemmBackend::compiled() {
        let other = plan.compute(&source, &f64_opts().with_gemm(gemm)).unwrap();
        let err =
            one.image.iter().zip(&other.image).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(err < 1e-12 * peak, "{gemm}: {err:e}");
    }
}
