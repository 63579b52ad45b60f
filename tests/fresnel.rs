//! Fresnel propagation against POPPY 1.1.2: the reference scenes in tests/data/fresnel
//! (POPPY's calc_psf of each, made by tests/data/poppy_reference.py and
//! tests/data/fresnel/make_fits_optic_reference.py, and tests/data/dm/make_dm_reference.py for
//! the deformable mirror) to relative L2 <= 1e-4 on every compiled
//! FFT backend, with POPPY's PIXELSCL to 1e-9; and counterparts of POPPY's own Fresnel tests
//! (poppy/tests/test_fresnel.py) at POPPY's tolerances.

use diffract::io::{read_image, AnyScene};
use diffract::optics::{
    CircularAperture, PupilOptic, QuadraticLens, ScalarTransmission, SecondaryObscuration,
};
use diffract::propagation::{
    ComputeOptions, FresnelDetector, FresnelSystem, GaussianBeam, Sampling, Source, Wavefront,
};
use diffract::transforms::FftBackend;
use std::path::{Path, PathBuf};

const TOLERANCE: f64 = 1e-4;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fresnel")
}

fn relative_l2(ours: &ndarray::Array2<f64>, reference: &ndarray::Array2<f64>) -> f64 {
    let diff: f64 = ours.iter().zip(reference).map(|(a, b)| (a - b).powi(2)).sum();
    let norm: f64 = reference.iter().map(|b| b * b).sum();
    (diff / norm).sqrt()
}

fn check(stem: &str) {
    let case = data().join("cases").join(format!("{stem}.toml"));
    let expected = data().join("expected").join(format!("{stem}.fits"));
    let AnyScene::Fresnel(scene) = AnyScene::from_file(&case).unwrap() else {
        panic!("{stem} is not a Fresnel scene")
    };
    let reference = read_image(&expected, 0).unwrap();
    let plan = scene.system.plan().unwrap();
    for fft in FftBackend::compiled() {
        let psf = plan.compute(&scene.source, &ComputeOptions::default().with_fft(fft)).unwrap();
        assert_eq!(psf.image.dim(), reference.data.dim(), "{stem}: shape");
        let err = relative_l2(&psf.image, &reference.data);
        println!("{stem:<32} {fft:<8} rel L2 {err:.3e}");
        assert!(err <= TOLERANCE, "{stem} on {fft}: relative L2 {err:e} > {TOLERANCE:e}");
        let ours = psf.fresnel.unwrap().pixelscale_m;
        let theirs = reference.pixelscale.unwrap();
        assert!(
            ((ours - theirs) / theirs).abs() < 1e-9,
            "{stem}: PIXELSCL {ours} m, POPPY {theirs} m"
        );
    }
}

macro_rules! parity {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            check(stringify!($name));
        }
    )*};
}

parity! {
    fresnel_hubble_poly,
    fresnel_off_focus,
    fresnel_inside_rayleigh,
    fresnel_negative_distance,
    fresnel_segmented_detector,
    fresnel_detector_arago,
    fresnel_relay,
    fresnel_noninteger,
    fresnel_pupil_only,
    fresnel_fits_optic,
    fresnel_dm,
}

/// Single precision (f32 FFTs) stays within 1e-5 relative L2 of double precision on the
/// polychromatic Hubble-like scene (measured: about 4e-7).
#[test]
fn single_precision_stays_close_to_double() {
    let case = data().join("cases/fresnel_hubble_poly.toml");
    let AnyScene::Fresnel(scene) = AnyScene::from_file(&case).unwrap() else { panic!() };
    let plan = scene.system.plan().unwrap();
    let f64_opts = opts().with_precision(diffract::propagation::Precision::F64);
    let f64_psf = plan.compute(&scene.source, &f64_opts).unwrap();
    let f32_opts = opts().with_precision(diffract::propagation::Precision::F32);
    let f32_psf = plan.compute(&scene.source, &f32_opts).unwrap();
    let err = relative_l2(&f32_psf.image, &f64_psf.image);
    assert!(err < 1e-5, "f32 vs f64: relative L2 {err:e}");
    assert!(err > 0.0, "the f32 path was not taken");
}

fn opts() -> ComputeOptions {
    ComputeOptions::default().with_workers(1)
}

/// The wavefronts after every step of one wavelength.
fn steps_of(sys: &FresnelSystem, wl: f64) -> Vec<Wavefront> {
    let plan = sys.plan().unwrap();
    let mut out = Vec::new();
    plan.propagate(wl, &opts(), |_, _, wf| out.push(wf.clone())).unwrap();
    out
}

fn beam_of(wf: &Wavefront) -> GaussianBeam {
    *wf.sampling.beam().unwrap()
}

fn scale_of(wf: &Wavefront) -> f64 {
    match wf.sampling {
        Sampling::Fresnel { m_per_px, .. } => m_per_px,
        _ => panic!("not a Fresnel plane"),
    }
}

/// POPPY's test_Gaussian_Beam_curvature_near_waist: after propagating z from the waist
/// (z / z_R from 0.1 to 10), the beam's radius of curvature is (z^2 + z_R^2) / z and its
/// radius w_0 sqrt(1 + (z / z_R)^2) (numpy allclose: rtol 1e-5).
#[test]
fn gaussian_beam_curvature_near_the_waist() {
    let wl = 1e-6;
    let w0 = 2.0;
    let zr = GaussianBeam::new(w0).rayleigh_distance(wl);
    for k in 0..5 {
        let z = zr * 10f64.powf(-1.0 + 0.5 * k as f64);
        let mut sys = FresnelSystem::new("waist", 16, 2.0 * w0, 0.5).unwrap();
        sys.add_optic(ScalarTransmission::new(1.0).unwrap(), 0.0).unwrap();
        sys.add_optic(ScalarTransmission::new(1.0).unwrap(), z).unwrap();
        let last = steps_of(&sys, wl).pop().unwrap();
        let beam = beam_of(&last);
        assert!((beam.z - z).abs() <= 1e-9 * z);
        let rc = beam.radius_of_curvature(beam.z, wl);
        let expected_rc = (z * z + zr * zr) / z;
        assert!(((rc - expected_rc) / expected_rc).abs() < 1e-5, "{rc} vs {expected_rc}");
        let w = beam.spot_radius(beam.z, wl);
        let expected_w = w0 * (1.0 + (z / zr).powi(2)).sqrt();
        assert!(((w - expected_w) / expected_w).abs() < 1e-5, "{w} vs {expected_w}");
    }
}

/// POPPY's test_Circular_Aperture_PTP_long: a 1 m aperture (binary, as POPPY's
/// `gray_pixel=False`), 2.2 um, 5 km plane to plane
/// (inside the 360 km Rayleigh distance); the central spike's intensity (relative to the
/// unit-amplitude pupil) matches PROPER's 3.30790 within POPPY's tolerance for npix 512
/// (0.02), the peak sits on the axis and the central cuts are symmetric to 0.1%.
#[test]
fn circular_aperture_plane_to_plane_long_matches_proper() {
    let mut sys = FresnelSystem::new("ptp long", 512, 1.0, 0.25).unwrap();
    sys.add_optic(CircularAperture::new(0.5).unwrap().binary(), 0.0).unwrap();
    sys.add_optic(ScalarTransmission::new(1.0).unwrap(), 5e3).unwrap();
    let plan = sys.plan().unwrap();
    // The plan normalises after the first optic; POPPY's test keeps the unit amplitude.
    let t = plan.transmission();
    let pupil_intensity: f64 = t.iter().map(|v| v * v).sum();
    let wf = plan.propagate(2.2e-6, &opts(), |_, _, _| {}).unwrap();
    let inten = wf.intensity() * pupil_intensity;
    let n = inten.nrows();
    let c = n / 2;
    let peak = inten.iter().copied().fold(0.0, f64::max);
    assert!((3.30790 - peak).abs() < 0.02, "peak {peak}, PROPER 3.30790");
    assert_eq!(inten[[c, c]], peak, "the peak is not on the axis");
    for k in 1..=10 {
        for (a, b) in
            [(inten[[c - k, c]], inten[[c + k, c]]), (inten[[c, c - k]], inten[[c, c + k]])]
        {
            assert!(((a - b) / a).abs() < 1e-3, "cut asymmetric at {k}: {a} vs {b}");
        }
    }
}

/// POPPY's test_fresnel_conservation_of_intensity: a 10 um aperture in a 15 um beam at
/// 100 nm, propagated by 10 um, 100 um, 200 um, 1 cm and 1 m in turn (plane to plane, then
/// to spherical): the total intensity stays the same (numpy allclose: rtol 1e-5).
#[test]
fn intensity_is_conserved_from_near_to_far_field() {
    let mut sys = FresnelSystem::new("conservation", 256, 30e-6, 0.5).unwrap();
    sys.add_optic(CircularAperture::new(5e-6).unwrap(), 0.0).unwrap();
    for d in [10e-6, 100e-6, 200e-6, 1e-2, 1.0] {
        sys.add_optic(ScalarTransmission::new(1.0).unwrap(), d).unwrap();
    }
    let totals: Vec<f64> = steps_of(&sys, 100e-9).iter().map(Wavefront::total_intensity).collect();
    let first = totals[2]; // after the aperture and the normalisation
    for t in &totals[2..] {
        assert!(((t - first) / first).abs() < 1e-5, "total intensity {t} vs {first}");
    }
}

/// POPPY's test_spherical_lens against PROPER: a 25 mm beam (256 pixels, no padding) through
/// a lens of f = 0.7 m at 500 nm; the mean and maximum of the phase match PROPER's
/// 0.00047535727 and 0.0014260283 rad to 1e-11, as POPPY asserts.
#[test]
fn spherical_lens_phase_matches_proper() {
    let mut sys = FresnelSystem::new("lens", 256, 0.025, 1.0).unwrap();
    sys.add_optic(QuadraticLens::new(0.7).unwrap(), 0.0).unwrap();
    let wf = steps_of(&sys, 500e-9).into_iter().next().unwrap();
    let phase = wf.phase();
    let mean = phase.mean().unwrap();
    let max = phase.iter().copied().fold(f64::MIN, f64::max);
    assert!((mean - 0.000_475_357_27).abs() < 1e-11, "mean phase {mean}");
    assert!((max - 0.001_426_028_3).abs() < 1e-11, "max phase {max}");
}

/// POPPY's test_fresnel_optical_system_Hubble, the beam-size checks: the beam is 1.2 m in
/// radius at the primary (numpy allclose) and between 13 and 14 cm at the secondary; the
/// reference surface is planar after the aperture, spherical after the primary and the
/// propagation to the secondary, planar again at the focus (POPPY's spherical flags).
#[test]
fn hubble_beam_sizes_and_reference_surfaces() {
    let mut sys = FresnelSystem::new("hst", 128, 2.4, 0.5).unwrap();
    sys.add_optic(CircularAperture::new(1.2).unwrap(), 0.0).unwrap();
    sys.add_optic(QuadraticLens::new(5.52085).unwrap(), 0.0).unwrap();
    sys.add_optic(QuadraticLens::new(-0.6790325).unwrap(), 4.907028205).unwrap();
    sys.add_optic(ScalarTransmission::new(1.0).unwrap(), 6.3916645).unwrap();
    let wl = 0.5e-6;
    let plan = sys.plan().unwrap();
    let mut after: Vec<(String, GaussianBeam)> = Vec::new();
    plan.propagate(wl, &opts(), |_, step, wf| {
        if step.planes().is_some() {
            after.push((step.name().to_string(), beam_of(wf)));
        }
    })
    .unwrap();
    let beams: Vec<GaussianBeam> = after.iter().map(|(_, b)| *b).collect();
    assert_eq!(beams.len(), 4, "{after:?}");
    let primary = beams[1];
    assert!((primary.spot_radius(primary.z, wl) - 1.2).abs() < 1e-8);
    let secondary = beams[2];
    let w = secondary.spot_radius(secondary.z, wl);
    assert!(w > 0.13 && w < 0.14, "beam radius at the secondary {w} m");
    let flags: Vec<bool> = beams.iter().map(|b| b.spherical).collect();
    assert_eq!(flags, [false, true, true, false]);
}

/// Propagating forward and back by the same distance, inside and outside the Rayleigh
/// distance, returns the starting field (the counterpart of POPPY's forward-and-back tests;
/// numpy's assert_array_almost_equal: 1.5e-6 absolute).
#[test]
fn forward_and_back_is_the_identity() {
    for (d, radius) in [(50.0, 0.5), (3.0e6, 0.5)] {
        let mut sys = FresnelSystem::new("fb", 64, 1.0, 0.25).unwrap();
        sys.add_optic(CircularAperture::new(radius).unwrap(), 0.0).unwrap();
        sys.add_optic(ScalarTransmission::new(1.0).unwrap(), d).unwrap();
        sys.add_optic(ScalarTransmission::new(1.0).unwrap(), -d).unwrap();
        let waves = steps_of(&sys, 1e-6);
        let start = &waves[1].field;
        let end = &waves.last().unwrap().field;
        let err = (start - end).iter().map(|z| z.norm()).fold(0.0, f64::max);
        let peak = start.iter().map(|z| z.norm()).fold(0.0, f64::max);
        assert!(err < 1.5e-6 * peak, "{d} m forward and back: {err} of {peak}");
        let (s0, s1) = (scale_of(&waves[1]), scale_of(waves.last().unwrap()));
        assert!(((s0 - s1) / s0).abs() < 1e-12, "pixel scale {s0} -> {s1}");
    }
}

/// POPPY's test_detector_in_fresnel_system (npix 256): a 5 cm aperture, 10 m of free space,
/// a detector of 400 pixels of 210 um: the output has the detector's shape and pixel scale,
/// the spot of Arago is the maximum at the centre, the central row is symmetric (POPPY's
/// roll by one, atol 3e-8), the centroid is within 0.001 of the centre and the flux within
/// 0.001 of 1.
#[test]
fn detector_in_a_fresnel_system() {
    let mut sys = FresnelSystem::new("arago", 256, 0.051, 0.25).unwrap();
    sys.add_optic(CircularAperture::new(0.025).unwrap(), 0.0).unwrap();
    sys.add_optic(ScalarTransmission::new(1.0).unwrap(), 10.0).unwrap();
    sys.set_detector(FresnelDetector::new(210e-6, 400).unwrap());
    let plan = sys.plan().unwrap();
    let psf = plan.compute(&Source::monochromatic(1e-6).unwrap(), &opts()).unwrap();
    let img = &psf.image;
    assert_eq!(img.dim(), (400, 400));
    assert!((psf.fresnel.unwrap().pixelscale_m - 210e-6).abs() < 1e-15);
    let max = img.iter().copied().fold(0.0, f64::max);
    assert_eq!(img[[200, 200]], max, "the spot of Arago is not at the centre");
    let row = img.row(200);
    for j in 1..400 {
        let mirrored = row[(400 - j) % 400];
        assert!((row[j] - mirrored).abs() < 3e-8, "row asymmetric at {j}");
    }
    let (mut sx, mut sy, total) = (0.0, 0.0, img.sum());
    for ((i, j), v) in img.indexed_iter() {
        sx += v * (j as f64 - 200.0);
        sy += v * (i as f64 - 200.0);
    }
    assert!(
        sx / total < 1e-3 && sy / total < 1e-3,
        "centroid offset {} {}",
        sx / total,
        sy / total
    );
    assert!((total - 1.0).abs() < 1e-3, "flux {total}");
}

/// POPPY's test_fresnel_noninteger_oversampling: beam ratios 1/2 and 1/2.0 give the same
/// PSF (numpy allclose), and 1/2.5 a 320-pixel array for npix 128.
#[test]
fn noninteger_oversampling() {
    let hubble = |ratio: f64| {
        let mut sys = FresnelSystem::new("hst", 128, 2.4, ratio).unwrap();
        sys.add_optic(CircularAperture::new(1.2).unwrap(), 0.0).unwrap();
        sys.add_optic(SecondaryObscuration::new(0.396, 4, 0.0264, 45.0).unwrap(), 0.0).unwrap();
        sys.add_optic(QuadraticLens::new(5.52085).unwrap(), 0.0).unwrap();
        sys.add_optic(QuadraticLens::new(-0.6790325).unwrap(), 4.907028205).unwrap();
        sys.add_optic(ScalarTransmission::new(1.0).unwrap(), 6.3919974).unwrap();
        sys
    };
    let source = Source::monochromatic(0.5e-6).unwrap();
    let a = hubble(1.0 / 2.0).plan().unwrap().compute(&source, &opts()).unwrap();
    let b = hubble(0.5).plan().unwrap().compute(&source, &opts()).unwrap();
    assert_eq!(a.image, b.image);
    assert_eq!(hubble(1.0 / 2.5).array_npix(), 320);
}

/// Bad Fresnel systems are refused with one line naming the value.
#[test]
fn bad_fresnel_systems_are_refused() {
    let msg = |r: Result<FresnelSystem, diffract::propagation::PropagationError>| {
        r.unwrap_err().to_string()
    };
    assert!(msg(FresnelSystem::new("x", 64, 1.0, 0.0)).contains("beam_ratio"));
    assert!(msg(FresnelSystem::new("x", 64, 1.0, 1.5)).contains("beam_ratio"));
    assert!(msg(FresnelSystem::new("x", 64, -1.0, 0.5)).contains("pupil_diameter_m"));
    assert!(msg(FresnelSystem::new("x", 5, 1.0, 5.0 / 7.0)).contains("odd"));
    assert!(QuadraticLens::new(0.0).unwrap_err().to_string().contains("focal_length_m"));
    let lens = QuadraticLens::new(2.0).unwrap();
    assert_eq!(lens.lens_focal_length(), Some(2.0));
}

/// Bad Fresnel scenes: one line naming the optic or table and the key.
#[test]
fn bad_fresnel_scenes_are_refused_with_one_line() {
    let base = "propagation = \"fresnel\"\nnpix = 32\npupil_diameter_m = 1.0\n[source]\nwavelengths_m = [1e-6]\n";
    let aperture = "[[optic]]\nkind = \"circular_aperture\"\nradius_m = 0.5\n";
    let cases = [
        (format!("{base}{aperture}[[optic]]\nkind = \"quadratic_lens\"\nfocal_length_m = 0.0\n"), "optic 2 (quadratic_lens): focal_length_m = 0 is invalid"),
        (format!("beam_ratio = 1.5\n{base}{aperture}"), "beam_ratio = 1.5 is invalid"),
        (format!("{base}[[optic]]\nplane = \"pupil\"\nkind = \"circular_aperture\"\nradius_m = 0.5\n"), "optic 1 (circular_aperture): a Fresnel scene has no plane keys"),
        (format!("{base}{aperture}[[optic]]\nkind = \"circular_occulter\"\nradius_arcsec = 0.1\n"), "optic 2 (circular_occulter): circular_occulter cannot be used in a Fresnel scene"),
        (format!("{base}{aperture}[[optic]]\nkind = \"detector\"\npixelscale_arcsec = 0.1\nfov_pixels = 8\n"), "optic 2 (detector): a Fresnel scene has one detector, its [detector] table"),
        (format!("{base}{aperture}[coronagraph]\nmethod = \"semi_analytic\"\n"), "cannot have a [coronagraph] table"),
        (format!("{base}{aperture}[[optic]]\nkind = \"scalar_transmission\"\ntransmission = 1.0\ndistance_m = \"far\"\n"), "optic 2 (scalar_transmission): distance_m must be a number"),
        (format!("{base}{aperture}[detector]\npixelscale_arcsec = 0.1\nfov_pixels = 8\n"), "[detector]: missing required key pixelscale_m"),
        (base.replace("pupil_diameter_m = 1.0\n", "") + aperture, "missing required key pupil_diameter_m"),
    ];
    for (text, expected) in cases {
        let e =
            AnyScene::from_toml_str(&text, Some(Path::new("bad.toml"))).unwrap_err().to_string();
        assert!(e.contains(expected), "{e}\nexpected: {expected}");
        assert!(!e.contains('\n'), "{e}");
    }
}

/// A Fresnel system whose arrays cannot fit in memory is refused when planned, before any
/// array is made, with the estimate in one line (32768-pixel arrays: 16 GiB each).
#[test]
fn fresnel_arrays_beyond_memory_are_refused_before_allocating() {
    let mut sys = FresnelSystem::new("huge", 16384, 1.0, 0.5).unwrap();
    sys.add_optic(CircularAperture::new(0.5).unwrap(), 0.0).unwrap();
    sys.add_optic(ScalarTransmission::new(1.0).unwrap(), 1.0).unwrap();
    if let Some(free) = diffract::parallel::available_memory_bytes() {
        if free > 60 << 30 {
            return; // a machine this large could run it
        }
    }
    let e = sys.plan().unwrap_err().to_string();
    assert!(e.contains("MiB") && !e.contains('\n'), "{e}");
}

/// Plane by plane, every optic of a Fresnel system is reported with its position along the
/// beam and its own pixel scale, and the PSF is the same as without recording (bitwise).
#[test]
fn every_fresnel_plane_is_reported_with_its_z() {
    let case = data().join("cases/fresnel_relay.toml");
    let AnyScene::Fresnel(scene) = AnyScene::from_file(&case).unwrap() else { panic!() };
    let by_plane = diffract::propagation::FresnelPlan::new_plane_by_plane(&scene.system).unwrap();
    let (psf, planes) = by_plane.compute_with_planes(&scene.source, &opts()).unwrap();
    let z: Vec<f64> = planes.iter().map(|p| p.z_m.unwrap()).collect();
    assert_eq!(planes.len(), 5);
    for (got, want) in z.iter().zip([0.0, 0.0, 0.0, 1.2, 1.6]) {
        assert!((got - want).abs() < 1e-12, "{z:?}");
    }
    // The relay images the pupil at half the size: a quarter of the area.
    assert!((planes[4].pixelscale / planes[0].pixelscale - 0.5).abs() < 1e-5);
    let merged = scene.system.plan().unwrap().compute(&scene.source, &opts()).unwrap();
    assert_eq!(psf.image, merged.image);
}

/// POPPY's test_Circular_Aperture_PTP_short, at the distance where both methods sample the
/// same grid (z = N dx^2 / lambda): a 800 nm aperture with coma in a 2 um beam at 10 nm,
/// propagated by the angular spectrum (plane to plane) and by the direct single-FFT Fresnel
/// transform (POPPY's propagate_direct, written here); the peak-normalised intensities
/// agree within POPPY's 1e-3 (POPPY's own two methods agree to 1e-15 here).
#[test]
fn circular_aperture_plane_to_plane_short_matches_the_direct_method() {
    use diffract::optics::ZernikeWfe;
    use diffract::transforms::{Fft2d, FftDirection};
    use num_complex::Complex64;
    let (npix, wl) = (64, 10e-9);
    let mut sys = FresnelSystem::new("ptp short", npix, 4e-6, 0.25).unwrap();
    sys.add_optic(CircularAperture::new(800e-9).unwrap(), 0.0).unwrap();
    let coma = vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1e-9];
    sys.add_optic(ZernikeWfe::new(800e-9, coma).unwrap(), 0.0).unwrap();
    let n = sys.array_npix();
    let dx = 4e-6 / npix as f64;
    let z = n as f64 * dx * dx / wl;
    sys.add_optic(ScalarTransmission::new(1.0).unwrap(), z).unwrap();
    let waves = steps_of(&sys, wl);
    // The field after the aperture and the coma (before the propagation).
    let start = waves.iter().rev().find(|w| beam_of(w).z == 0.0).unwrap().field.clone();
    let ptp = waves.last().unwrap().intensity();
    // Direct: quadratic phase, fftshift, forward FFT, fftshift (n even: one shift).
    let k = 2.0 * std::f64::consts::PI / wl;
    let c = |i: usize| dx * (i as f64 - n as f64 / 2.0);
    let shift = |a: &ndarray::Array2<Complex64>| {
        ndarray::Array2::from_shape_fn((n, n), |(i, j)| a[[(i + n / 2) % n, (j + n / 2) % n]])
    };
    let chirp = ndarray::Array2::from_shape_fn((n, n), |(i, j)| {
        start[[i, j]] * Complex64::from_polar(1.0, k * (c(i).powi(2) + c(j).powi(2)) / (2.0 * z))
    });
    let mut direct = shift(&chirp);
    let fft = Fft2d::new((n, n), FftBackend::RustFft).unwrap();
    let par = diffract::parallel::Par::Seq;
    fft.process_bare(&mut direct, FftDirection::ImageToPupil, par, 0..n).unwrap();
    let direct = shift(&direct).mapv(|v| v.norm_sqr());
    let peak = |a: &ndarray::Array2<f64>| a.iter().copied().fold(0.0, f64::max);
    let (pd, pp) = (peak(&direct), peak(&ptp));
    let worst = direct.iter().zip(&ptp).map(|(d, p)| (d / pd - p / pp).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-3, "peak-normalised intensities differ by {worst:e}");
}

/// `run::compute_fresnel` (the Python package's path) computes what the plan computes, and
/// `io::psf_header` gives its output the Fresnel cards `write_psf` writes (metres per pixel,
/// the plane's position), with no `DET_SAMP` extension.
#[test]
fn compute_fresnel_and_its_header() {
    use diffract::io::{psf_header, CardValue};
    let case = data().join("cases").join("fresnel_detector_arago.toml");
    let AnyScene::Fresnel(scene) = AnyScene::from_file(&case).unwrap() else {
        panic!("not a Fresnel scene")
    };
    let compute = ComputeOptions::default();
    let computed = diffract::run::compute_fresnel(
        &scene.system,
        &scene.source,
        &compute,
        diffract::run::KeepPlanes::None,
    )
    .unwrap();
    let direct = scene.system.plan().unwrap().compute(&scene.source, &compute).unwrap();
    assert_eq!(computed.psf.image, direct.image);
    let header = psf_header(&computed.psf, &computed.write_options(Some("arago")));
    assert!(header.det_samp.is_empty());
    let card = |key: &str| header.primary.iter().find(|c| c.key == key).map(|c| &c.value);
    let pixelscale = direct.fresnel.as_ref().unwrap().pixelscale_m;
    assert!(matches!(card("PIXELSCL"), Some(CardValue::Float(v)) if *v == pixelscale));
    assert!(matches!(card("PIXUNIT"), Some(CardValue::Str(s)) if s == "meter"));
    assert!(card("PLANEZ").is_some() && card("OVERSAMP").is_none());
}

/// With fields kept, a Fresnel plan reports each optic's field and the detector's last, at
/// its z; the detector field squares to the PSF (relative L2 1e-12) and the intensities
/// are those of `compute_with_planes`, bit for bit.
#[test]
fn fresnel_fields_end_on_the_detector() {
    let case = data().join("cases/fresnel_detector_arago.toml");
    let AnyScene::Fresnel(scene) = AnyScene::from_file(&case).unwrap() else { panic!() };
    let plan = diffract::propagation::FresnelPlan::new_plane_by_plane(&scene.system).unwrap();
    let (psf, fields) = plan.compute_with_fields(&scene.source, &opts()).unwrap();
    let (_, planes) = plan.compute_with_planes(&scene.source, &opts()).unwrap();
    assert_eq!(fields.len(), planes.len() + 1);
    for (f, p) in fields.iter().zip(&planes) {
        assert_eq!(f.intensity, p.intensity);
    }
    let last = fields.last().unwrap();
    assert_eq!(last.kind, "detector");
    assert_eq!(last.index, scene.system.elements().len());
    let detector = last.field.as_ref().unwrap().mapv(|z| z.norm_sqr());
    assert!(relative_l2(&detector, &psf.image) <= 1e-12);
}
