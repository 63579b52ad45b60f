//! Wavefront-error bases and optics against POPPY 1.1.2: the arrays in
//! tests/data/wfe/wfe_reference.fits (made by tests/data/wfe/make_wfe_reference.py; basis
//! cubes stored as (nterms * npix) x npix images, float32) are reproduced to relative L2
//! `|ours - POPPY|_2 / |POPPY|_2 <= 1e-4`. The parameters below are the script's.

use diffract::io::read_image;
use diffract::optics::basis::{
    arbitrary_basis, compose_opd_from_basis, decompose_opd, decompose_opd_nonorthonormal_basis,
    hex_aperture_npix, hexike_basis, zernike_basis, Basis, PolarCoords, SegmentBasis,
};
use diffract::optics::{ParameterizedWfe, PupilGrid, PupilOptic, SineWaveWfe, WfeBasis};
use ndarray::Array2;
use std::path::PathBuf;

const TOLERANCE: f64 = 1e-4;
const NPIX_BASIS: usize = 33;
const NTERMS: usize = 10;
const COEFFS: [f64; 10] = [0.0, 1e-8, -2e-8, 3e-8, 0.5e-8, -1e-8, 2e-9, 0.0, 4e-9, -3e-9];

fn reference(hdu: usize) -> Array2<f64> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/wfe/wfe_reference.fits");
    read_image(&path, hdu).unwrap().data
}

/// HDU numbers of the reference file, in the order the script writes them.
mod hdu {
    pub const ZERNIKE: usize = 1;
    pub const HEXIKE: usize = 2;
    pub const SQUARE: usize = 3;
    pub const ARBITRARY: usize = 4;
    pub const PTT: usize = 5;
    pub const FIT_OPD: usize = 6;
    pub const FIT_APER: usize = 7;
    pub const FIT_PROJ: usize = 8;
    pub const FIT_ITER: usize = 9;
    pub const HEX_OPD: usize = 10;
    pub const HEX_PROJ: usize = 11;
    pub const SINE_OPD: usize = 12;
    pub const PARZ_OPD: usize = 13;
    pub const PARH_OPD: usize = 14;
}

fn relative_l2<'a>(ours: impl IntoIterator<Item = &'a f64>, reference: &[f64]) -> f64 {
    let ours: Vec<f64> = ours.into_iter().copied().collect();
    assert_eq!(ours.len(), reference.len(), "sizes differ");
    let diff: f64 = ours.iter().zip(reference).map(|(a, b)| (a - b).powi(2)).sum();
    let norm: f64 = reference.iter().map(|b| b * b).sum();
    (diff / norm).sqrt()
}

fn check_cube(name: &str, basis: &Basis, hdu: usize) {
    let want = reference(hdu);
    let cube = basis.to_cube(0.0);
    let err = relative_l2(cube.iter(), want.as_slice().unwrap());
    println!("{name:<12} rel L2 {err:.2e}");
    assert!(err <= TOLERANCE, "{name}: relative L2 {err:e} > {TOLERANCE:e}");
}

fn check_map(name: &str, ours: &[f64], hdu: usize) {
    let want = reference(hdu);
    let err = relative_l2(ours, want.as_slice().unwrap());
    println!("{name:<12} rel L2 {err:.2e}");
    assert!(err <= TOLERANCE, "{name}: relative L2 {err:e} > {TOLERANCE:e}");
}

#[test]
fn zernike_basis_matches_poppy() {
    let b = zernike_basis(NTERMS, &PolarCoords::unit_disc(NPIX_BASIS)).unwrap();
    check_cube("zernike", &b, hdu::ZERNIKE);
}

#[test]
fn hexike_basis_matches_poppy() {
    let ap = hex_aperture_npix(NPIX_BASIS).mapv(f64::from);
    let b = hexike_basis(NTERMS, &PolarCoords::unit_disc(NPIX_BASIS), Some(ap.view())).unwrap();
    check_cube("hexike", &b, hdu::HEXIKE);
}

#[test]
fn arbitrary_basis_matches_poppy() {
    let square = reference(hdu::SQUARE);
    let b = arbitrary_basis(square.view(), NTERMS, None).unwrap();
    check_cube("arbitrary", &b, hdu::ARBITRARY);
}

#[test]
fn segment_ptt_basis_matches_poppy() {
    // Segment_PTT_Basis(rings=1, flattoflat=1, gap=0.01, center=True), npix 33.
    let seg = SegmentBasis::new(1, 1.0, 0.01, true, None).unwrap();
    check_cube("segment ptt", &seg.ptt(NPIX_BASIS, None).unwrap(), hdu::PTT);
}

#[test]
fn decompositions_match_poppy() {
    let coords = PolarCoords::unit_disc(NPIX_BASIS);
    let b = zernike_basis(NTERMS, &coords).unwrap();
    let opd = reference(hdu::FIT_OPD);
    let disc = coords.rho().mapv(|r| if r <= 1.0 { 1.0 } else { 0.0 });
    let proj = decompose_opd(opd.view(), Some(disc.view()), &b).unwrap();
    check_map("fit proj", &proj, hdu::FIT_PROJ);
    let ap = reference(hdu::FIT_APER);
    let iter = decompose_opd_nonorthonormal_basis(opd.view(), Some(ap.view()), &b, 5).unwrap();
    check_map("fit iter", &iter, hdu::FIT_ITER);

    let hex_ap = hex_aperture_npix(NPIX_BASIS).mapv(f64::from);
    let hb = hexike_basis(NTERMS, &coords, Some(hex_ap.view())).unwrap();
    let hex_opd = compose_opd_from_basis(&COEFFS, &hb, None, 0.0).unwrap();
    check_map("hex compose", hex_opd.as_slice().unwrap(), hdu::HEX_OPD);
    let support = hex_opd.mapv(|v| if v != 0.0 { 1.0 } else { 0.0 });
    let hb2 = hexike_basis(NTERMS, &coords, Some(support.view())).unwrap();
    let hex_fit = decompose_opd(hex_opd.view(), Some(support.view()), &hb2).unwrap();
    check_map("hex proj", &hex_fit, hdu::HEX_PROJ);
}

#[test]
fn wfe_optics_match_poppy() {
    let grid = PupilGrid::new(64, 2.2).unwrap();
    let sine = SineWaveWfe::new(2.5, 4e-8, 0.15, 30.0).unwrap();
    check_map("sine wave", sine.opd(&grid).unwrap().as_slice().unwrap(), hdu::SINE_OPD);
    for (name, basis, hdu) in [
        ("param zern", WfeBasis::Zernike, hdu::PARZ_OPD),
        ("param hex", WfeBasis::Hexike, hdu::PARH_OPD),
    ] {
        let optic = ParameterizedWfe::new(basis, 1.0, COEFFS.to_vec()).unwrap();
        assert!(optic.transmission(&grid).is_none());
        check_map(name, optic.opd(&grid).unwrap().as_slice().unwrap(), hdu);
    }
}

const SCREENS: &str = r#"
name = "screens"
npix = 64
oversample = 2

[source]
wavelengths_m = [0.8e-6, 1.0e-6, 1.2e-6]

[[optic]]
plane = "pupil"
kind = "circular_aperture"
radius_m = 1.0

[[optic]]
plane = "pupil"
kind = "kolmogorov_wfe"
r0_m = 0.3
spectrum = "von_karman"
outer_scale_m = 5.0
seed = 11

[[optic]]
plane = "pupil"
kind = "statistical_psd_wfe"
wfe_rms_m = 3e-8
radius_m = 1.0
seed = 12

[[optic]]
plane = "pupil"
kind = "power_spectrum_wfe"
psd_parameters = [[2.5, 1e-19, 1.0, 0.0, 0.0]]
rms_m = 2e-8
radius_m = 1.0
seed = 13

[detector]
pixelscale_arcsec = 0.05
fov_pixels = 16
"#;

/// A seed gives bit-identical PSFs from scenes read twice and computed with 1 and 2
/// workers (tolerance: none, the bits are compared).
#[test]
fn random_screens_are_the_same_for_any_worker_count() {
    use diffract::io::Scene;
    use diffract::propagation::ComputeOptions;
    let psf = |workers: usize| {
        let scene = Scene::from_toml_str(SCREENS, None).unwrap();
        let plan = scene.system.plan().unwrap();
        plan.compute(&scene.source, &ComputeOptions::default().with_workers(workers)).unwrap().image
    };
    let (one, two) = (psf(1), psf(2));
    assert!(one.iter().zip(&two).all(|(a, b)| a.to_bits() == b.to_bits()));
    // Another seed, another PSF.
    let other = SCREENS.replace("seed = 11", "seed = 21");
    let scene = Scene::from_toml_str(&other, None).unwrap();
    let plan = scene.system.plan().unwrap();
    let moved = plan.compute(&scene.source, &ComputeOptions::default()).unwrap().image;
    assert!(relative_l2(moved.iter(), one.as_slice().unwrap()) > 1e-3);
}

/// A drawn seed is written as `SEEDn` into the PSF's header, and the scene given that
/// seed reproduces the PSF bit for bit.
#[test]
fn drawn_seeds_are_written_and_repeat_the_run() {
    use diffract::io::Scene;
    use diffract::run::{run_scene, RunOptions};
    let dir = std::env::temp_dir().join(format!("diffract-wfe-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seedless = SCREENS.replace("seed = 11\n", "");
    let first = dir.join("first.fits");
    run_scene(&Scene::from_toml_str(&seedless, None).unwrap(), &RunOptions::new(&first)).unwrap();
    let mut f = fitsio::FitsFile::open(&first).unwrap();
    let hdu = f.primary_hdu().unwrap();
    let seed: i64 = hdu.read_key(&mut f, "SEED2").unwrap();
    let given: i64 = hdu.read_key(&mut f, "SEED3").unwrap();
    assert_eq!(given, 12);
    let again = dir.join("again.fits");
    let repeated = SCREENS.replace("seed = 11", &format!("seed = {seed}"));
    run_scene(&Scene::from_toml_str(&repeated, None).unwrap(), &RunOptions::new(&again)).unwrap();
    let (a, b) = (read_image(&first, 0).unwrap().data, read_image(&again, 0).unwrap().data);
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    std::fs::remove_dir_all(&dir).unwrap();
}
