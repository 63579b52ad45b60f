//! Parity with POPPY 1.1.2: every reference scene in tests/data reproduces the
//! PSF POPPY computed for it (tests/data/expected, tests/data/more/expected; made by
//! tests/data/poppy_reference.py) to |ours - POPPY|_2 / |POPPY|_2 <= 1e-4 on the primary
//! HDU, with the same shape, on every compiled GEMM backend (and, for scenes with image
//! planes, every compiled FFT backend), in the default precision and in double precision.

use diffract::io::{read_image, Scene};
use diffract::propagation::{ComputeOptions, Precision};
use diffract::transforms::{FftBackend, GemmBackend};
use std::path::{Path, PathBuf};

const TOLERANCE: f64 = 1e-4;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

fn relative_l2(ours: &ndarray::Array2<f64>, reference: &ndarray::Array2<f64>) -> f64 {
    let diff: f64 = ours.iter().zip(reference).map(|(a, b)| (a - b).powi(2)).sum();
    let norm: f64 = reference.iter().map(|b| b * b).sum();
    (diff / norm).sqrt()
}

fn check(case: &Path, expected: &Path) {
    let scene = Scene::from_file(case).unwrap();
    let reference = read_image(expected, 0).unwrap().data;
    let plan = scene.system.plan().unwrap();
    let image_planes = scene.system.planes().iter().any(|p| p.is_image());
    for gemm in GemmBackend::compiled() {
        for fft in FftBackend::compiled().filter(|f| image_planes || *f == FftBackend::RustFft) {
            // The default (single precision where it keeps within 1e-6 of double) and
            // double precision throughout (~1e-14 from POPPY).
            for precision in [Precision::Auto, Precision::F64] {
                let opts = ComputeOptions::default()
                    .with_gemm(gemm)
                    .with_fft(fft)
                    .with_precision(precision);
                let psf = plan.compute(&scene.source, &opts).unwrap();
                assert_eq!(psf.image.dim(), reference.dim(), "{}: shape", case.display());
                let err = relative_l2(&psf.image, &reference);
                let ran = psf.precision.name();
                println!("{:<40} {gemm:<15} {fft:<8} {ran} rel L2 {err:.3e}", scene.name);
                assert!(
                    err <= TOLERANCE,
                    "{} on {gemm}/{fft}/{ran}: relative L2 {err:e} > {TOLERANCE:e}",
                    case.display()
                );
            }
        }
    }
}

macro_rules! parity {
    ($($name:ident => $dir:literal),* $(,)?) => {$(
        #[test]
        fn $name() {
            let dir = data().join($dir);
            let stem = stringify!($name);
            check(&dir.join("cases").join(format!("{stem}.toml")), &dir.join("expected").join(format!("{stem}.fits")));
        }
    )*};
}

// The shared reference cases.
parity! {
    airy_circular => "",
    obscured_zernike_poly => "",
    segmented_hex => "",
    nrm_seven_holes => "",
    lyot_occulter => "",
    band_limited_circular => "",
    slit_stop => "",
}

// More scenes made by POPPY the same way: odd sizes, rotations, offsets, weights, segment
// lists, explicit pupil sizes, every pupil-plane kind.
parity! {
    odd_airy_weighted => "more",
    hexagon_rotated_offset => "more",
    rectangle_scalar => "more",
    square_spiders_os1 => "more",
    ngon_thin_lens => "more",
    multihex_segment_list => "more",
    multicircle_all_offset => "more",
    zernike_high_order_os4 => "more",
    zernike_first_explicit_diameter => "more",
    thin_lens_obscured_first => "more",
}

// Wavefront-error optics (tests/data/wfe/make_wfe_reference.py runs these).
parity! {
    sine_wave_offset => "more",
    parameterized_hexike_segments => "more",
    parameterized_zernike_obscured => "more",
}

// Image planes: every image-plane kind, rotations, offsets, two image planes, the FQPM with
// its aligners, and both special coronagraph propagations.
parity! {
    bar_rotated_offset => "more",
    band_limited_linear => "more",
    square_stop_rotated_zernike => "more",
    semi_analytic_lyot => "more",
    matrix_ft_annular => "more",
    fqpm_aligned => "more",
    two_image_planes => "more",
    intermediate_detector_occulter => "more",
    intermediate_detector_rect_fft => "more",
    fft_image_ending => "more",
    fft_image_ending_last => "more",
    placed_pupil => "more",
    placed_segments => "more",
    placed_hex_inverse => "more",
    placed_image => "more",
    inverse_image => "more",
    compound_or_pupil => "more",
    compound_image => "more",
    new_kinds_pupil => "more",
    new_kinds_image => "more",
    tip_tilt_stage => "more",
    keystone_segments => "more",
}

// Normalisation other than "first": on the detector per wavelength (also with the
// semi-analytic method), at the exit pupil over the whole zero-padded array, and none.
parity! {
    normalize_last_offset => "more",
    normalize_last_semi_analytic => "more",
    normalize_exit_pupil_unstopped => "more",
    normalize_exit_pupil_pupils => "more",
    normalize_none_field_stop => "more",
}

// Rectangular detectors: [ny, nx] pixels and [y, x] arcseconds, POPPY's (Y, X) order.
parity! {
    rect_detector_pixels => "more",
    rect_detector_arcsec_lyot => "more",
}

// The complex field on the detector (`diffract psf --complex`), one wavelength, against the
// final wavefront of POPPY's calc_psf(return_final=True): real and imaginary parts.
parity! {
    complex_field_lyot => "more",
}

#[test]
fn complex_field_lyot_field() {
    let dir = data().join("more");
    let scene = Scene::from_file(&dir.join("cases/complex_field_lyot.toml")).unwrap();
    let expected = dir.join("expected/complex_field_lyot_final.fits");
    let (re, im) = (read_image(&expected, 0).unwrap().data, read_image(&expected, 1).unwrap().data);
    let plan = scene.system.plan().unwrap();
    let wl = scene.source.wavelengths()[0];
    let wf = plan.propagate(wl, &scene.source, &ComputeOptions::default(), |_, _, _| {}).unwrap();
    assert_eq!(wf.field.dim(), re.dim());
    let diff: f64 = wf
        .field
        .iter()
        .zip(re.iter().zip(&im))
        .map(|(z, (r, i))| (z.re - r).powi(2) + (z.im - i).powi(2))
        .sum();
    let norm: f64 = re.iter().zip(&im).map(|(r, i)| r * r + i * i).sum();
    let err = (diff / norm).sqrt();
    println!("{:<40} complex field rel L2 {err:.3e}", scene.name);
    assert!(err <= TOLERANCE, "complex field: relative L2 {err:e} > {TOLERANCE:e}");
}

// POPPY's detector offset, on a rectangular detector.
parity! {
    detector_offset_rect => "more",
}
