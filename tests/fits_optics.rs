//! Optics read from FITS files: the same PSF as the analytic optic they were written from,
//! and one clear line for every malformed file.

use diffract::io::{write_image, Scene};
use diffract::propagation::ComputeOptions;
use std::path::Path;
use std::process::Command;

const ANALYTIC: &str = r#"
name = "analytic"
npix = 128
oversample = 2

[source]
wavelengths_m = [1.0e-6, 1.2e-6]

[[optic]]
plane = "pupil"
kind = "circular_aperture"
radius_m = 1.0

[[optic]]
plane = "pupil"
kind = "zernike_wfe"
radius_m = 1.0
coefficients_m = [0.0, 0.0, 0.0, 40e-9, 0.0, -25e-9]

[[optic]]
plane = "image"
kind = "circular_occulter"
radius_arcsec = 0.15

[[optic]]
plane = "pupil"
kind = "circular_aperture"
radius_m = 0.9

[detector]
pixelscale_arcsec = 0.02
fov_arcsec = 1.2
"#;

/// Reference: the analytic scene. Its entrance pupil (transmission and OPD, sampled by
/// diffract) written to FITS and read back as a `fits_optic` gives the same PSF to 1e-6
/// relative L2 (the FITS values are the same doubles, so in practice to rounding).
#[test]
fn a_fits_pupil_written_from_an_analytic_one_gives_the_same_psf() {
    let dir = tempfile::tempdir().unwrap();
    let analytic = Scene::from_toml_str(ANALYTIC, Some(&dir.path().join("analytic.toml"))).unwrap();
    let plan = analytic.system.plan().unwrap();
    let scale = plan.grid().pixelscale();
    write_image(
        &dir.path().join("pupil_t.fits"),
        &plan.transmission(),
        &[("PIXELSCL", scale)],
        false,
    )
    .unwrap();
    write_image(
        &dir.path().join("pupil_opd.fits"),
        plan.opd().unwrap(),
        &[("PUPLSCAL", scale)],
        false,
    )
    .unwrap();
    let from_fits = ANALYTIC.replacen(
        "kind = \"circular_aperture\"\nradius_m = 1.0\n\n[[optic]]\nplane = \"pupil\"\nkind = \"zernike_wfe\"\nradius_m = 1.0\ncoefficients_m = [0.0, 0.0, 0.0, 40e-9, 0.0, -25e-9]",
        "kind = \"fits_optic\"\ntransmission_path = \"pupil_t.fits\"\nopd_path = \"pupil_opd.fits\"\nopd_unit = \"m\"",
        1,
    );
    assert!(from_fits.contains("fits_optic"));
    let scene = Scene::from_toml_str(&from_fits, Some(&dir.path().join("fits.toml"))).unwrap();
    let opts = ComputeOptions::default();
    let a = plan.compute(&analytic.source, &opts).unwrap();
    let b = scene.system.plan().unwrap().compute(&scene.source, &opts).unwrap();
    let num: f64 = a.image.iter().zip(&b.image).map(|(x, y)| (x - y).powi(2)).sum();
    let den: f64 = a.image.iter().map(|x| x * x).sum();
    let rel = (num / den).sqrt();
    assert!(rel < 1e-6, "relative L2 {rel:e}");
}

/// The same pupil given as a phase in radians at one wavelength equals the OPD in metres at
/// that wavelength (tolerance 1e-12 of the peak).
#[test]
fn an_opd_in_radians_is_a_wavelength_independent_phase() {
    let dir = tempfile::tempdir().unwrap();
    let text = ANALYTIC.replace("wavelengths_m = [1.0e-6, 1.2e-6]", "wavelengths_m = [1.0e-6]");
    let analytic = Scene::from_toml_str(&text, Some(&dir.path().join("a.toml"))).unwrap();
    let plan = analytic.system.plan().unwrap();
    let scale = plan.grid().pixelscale();
    let phase = plan.opd().unwrap().mapv(|o| 2.0 * std::f64::consts::PI * o / 1.0e-6);
    write_image(&dir.path().join("t.fits"), &plan.transmission(), &[("PIXELSCL", scale)], false)
        .unwrap();
    write_image(&dir.path().join("p.fits"), &phase, &[], false).unwrap();
    let from_fits = text.replacen(
        "kind = \"circular_aperture\"\nradius_m = 1.0\n\n[[optic]]\nplane = \"pupil\"\nkind = \"zernike_wfe\"\nradius_m = 1.0\ncoefficients_m = [0.0, 0.0, 0.0, 40e-9, 0.0, -25e-9]",
        "kind = \"fits_optic\"\ntransmission_path = \"t.fits\"\nopd_path = \"p.fits\"\nopd_unit = \"rad\"",
        1,
    );
    let scene = Scene::from_toml_str(&from_fits, Some(&dir.path().join("f.toml"))).unwrap();
    let opts = ComputeOptions::default();
    let a = plan.compute(&analytic.source, &opts).unwrap();
    let b = scene.system.plan().unwrap().compute(&scene.source, &opts).unwrap();
    let peak = a.image.iter().copied().fold(0.0, f64::max);
    let d = a.image.iter().zip(&b.image).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    assert!(d < 1e-12 * peak, "{d:e}");
}

/// Malformed FITS optics: wrong dimensions, NaN, no pixel scale, truncated, not FITS at all,
/// mismatched shapes. Each: exit 2, one line naming the scene, the optic and the file.
/// Each `(keys, expected message)`, as the keys of a pupil-plane `fits_optic` in
/// `dir/s.toml` after the top-level lines `head`, makes `diffract psf` exit 2 with one line
/// naming the optic and holding the message, and write nothing.
fn assert_fits_optics_refused(d: &Path, head: &str, cases: &[(&str, &str)]) {
    for &(keys, expect) in cases {
        let scene = d.join("s.toml");
        let text = format!(
            "{head}[source]\nwavelengths_m = [1e-6]\n[[optic]]\nplane = \"pupil\"\nkind = \"fits_optic\"\n{keys}\n[detector]\npixelscale_arcsec = 0.1\nfov_pixels = 8\n"
        );
        std::fs::write(&scene, text).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_diffract"))
            .arg("psf")
            .arg(&scene)
            .arg("-o")
            .arg(d.join("o.fits"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{keys}: {err}");
        assert_eq!(err.lines().count(), 1, "{keys}: {err}");
        assert!(
            err.contains("s.toml: optic 1 (fits_optic)") && err.contains(expect),
            "{keys}: {err}"
        );
        assert!(!d.join("o.fits").exists());
    }
}

#[test]
fn malformed_fits_optics_get_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = ndarray::Array2::<f64>::ones((16, 16));
    write_image(&d.join("good.fits"), &good, &[("PIXELSCL", 0.1)], false).unwrap();
    write_image(&d.join("noscale.fits"), &good, &[], false).unwrap();
    let mut nan = good.clone();
    nan[[3, 4]] = f64::NAN;
    write_image(&d.join("nan.fits"), &nan, &[("PIXELSCL", 0.1)], false).unwrap();
    write_image(
        &d.join("small.fits"),
        &ndarray::Array2::<f64>::ones((8, 16)),
        &[("PIXELSCL", 0.1)],
        false,
    )
    .unwrap();
    let bytes = std::fs::read(d.join("good.fits")).unwrap();
    std::fs::write(d.join("truncated.fits"), &bytes[..bytes.len() - 1500]).unwrap();
    std::fs::write(d.join("garbage.fits"), b"SIMPLE = nonsense, not a FITS header at all").unwrap();
    let cases = [
        (
            "transmission_path = \"noscale.fits\"",
            "no pixel scale: give pixelscale_m, or a PIXELSCL or PUPLSCAL keyword",
        ),
        ("transmission_path = \"nan.fits\"", "transmission holds NaN at pixel (row 3, column 4)"),
        ("transmission_path = \"truncated.fits\"", "truncated"),
        ("transmission_path = \"garbage.fits\"", "not a FITS file"),
        ("transmission_path = \"missing.fits\"", "missing.fits"),
        ("transmission_path = \"good.fits\"\nopd_path = \"small.fits\"", "they must match"),
        (
            "transmission_path = \"good.fits\"\nopd_unit = \"furlong\"",
            "opd_unit = \"furlong\" is invalid",
        ),
    ];
    assert_fits_optics_refused(d, "npix = 32\n", &cases);
    // A 3-D cube is refused too.
    let cube = d.join("cube.fits");
    {
        let mut f = fitsio::FitsFile::create(cube.to_str().unwrap())
            .with_custom_primary(&fitsio::images::ImageDescription {
                data_type: fitsio::images::ImageType::Double,
                dimensions: &[2, 4, 4],
            })
            .open()
            .unwrap();
        let hdu = f.primary_hdu().unwrap();
        hdu.write_image(&mut f, &[0.0f64; 32]).unwrap();
    }
    let e = diffract::io::read_image(&cube, 0).unwrap_err().to_string();
    assert!(e.contains("3-D image; a 2-D image is needed"), "{e}");
    assert!(!Path::new(&d.join("o.fits")).exists());
}

/// Reference: POPPY 1.1.2's FITSOpticalElement with `transmission_index` / `opd_index` on
/// 3-D files, and with neither (slice 0), as the first optic (tests/data/fits_cube, made by
/// make_fits_cube_reference.py). Tolerance: relative L2 <= 1e-4 (POPPY parity).
#[test]
fn slices_of_fits_cubes_give_poppys_psf() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fits_cube");
    for (case, expected) in
        [("slices.toml", "expected_slices.fits"), ("default.toml", "expected_default.fits")]
    {
        let scene = Scene::from_file(&dir.join(case)).unwrap();
        let psf = scene.system.plan().unwrap().compute(&scene.source, &ComputeOptions::default());
        let image = psf.unwrap().image;
        let reference = diffract::io::read_image(&dir.join(expected), 0).unwrap().data;
        assert_eq!(image.dim(), reference.dim(), "{case}");
        let diff: f64 = image.iter().zip(&reference).map(|(a, b)| (a - b).powi(2)).sum();
        let norm: f64 = reference.iter().map(|b| b * b).sum();
        let err = (diff / norm).sqrt();
        assert!(err <= 1e-4, "{case}: relative L2 {err:e}");
    }
}

/// Slices that do not exist, or are given twice, get one line and nothing is written.
#[test]
fn bad_slices_get_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fits_cube");
    std::fs::copy(data.join("transmission_cube.fits"), d.join("cube.fits")).unwrap();
    let flat = ndarray::Array2::<f64>::ones((16, 16));
    write_image(&d.join("flat.fits"), &flat, &[("PIXELSCL", 0.1)], false).unwrap();
    let cases = [
        (
            "transmission_path = \"cube.fits\"\nslice = 3",
            "slice 3 does not exist: HDU 0 is a cube of 3 slices (0 to 2)",
        ),
        (
            "transmission_path = \"flat.fits\"\ntransmission_slice = 1",
            "slice 1 does not exist: HDU 0 is a 2-D image (only slice 0)",
        ),
        (
            "transmission_path = \"cube.fits\"\nslice = 1\ntransmission_slice = 1",
            "give slice or transmission_slice, not both",
        ),
        ("opd_path = \"cube.fits\"\nopd_slice = -1", "opd_slice"),
    ];
    assert_fits_optics_refused(d, "", &cases);
}

/// Regression (found by fuzzing the FITS reader): a gzip stream whose trailer claims 4 GiB
/// made cfitsio allocate it. Compressed and non-FITS files are now refused up front.
#[test]
fn compressed_or_foreign_files_are_refused_before_cfitsio_reads_them() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/fuzz/gzip_magic_claims_4gib.fits");
    let e = diffract::io::read_image(&path, 0).unwrap_err().to_string();
    assert!(e.contains("compressed FITS files are not read"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.fits");
    std::fs::write(&p, b"NAXIS   =                    2").unwrap();
    let e = diffract::io::read_image(&p, 0).unwrap_err().to_string();
    assert!(e.contains("not a FITS file"), "{e}");
}
