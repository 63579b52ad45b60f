//! Measurements and pictures as users meet them: POPPY's own Airy PSF measured against the
//! analytic Airy function, PNGs decoded and checked, and one line for every bad file.

use diffract::io::read_image;
use diffract::measure;
use std::path::{Path, PathBuf};
use std::process::Command;

const PI: f64 = std::f64::consts::PI;

fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data").join(p)
}

/// Bessel functions by their integrals, Simpson's rule with 4000 intervals.
fn bessel(n: i32, x: f64) -> f64 {
    let m = 4000;
    let h = PI / m as f64;
    let f = |t: f64| (n as f64 * t - x * t.sin()).cos();
    let mut s = f(0.0) + f(PI);
    for i in 1..m {
        s += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0 / PI
}

/// POPPY's Airy PSF of a 2 m pupil at 1 um (tests/data/expected/airy_circular.fits).
/// Reference: the analytic Airy pattern. FWHM (radial profile) within 3% of 1.029 lambda/D; encircled
/// energy at the first dark ring (1.2197 lambda/D) within 0.01 of 1 - J0^2 - J1^2 there.
#[test]
fn poppy_airy_psf_measures_as_the_analytic_airy_pattern() {
    let img = read_image(&data("expected/airy_circular.fits"), 0).unwrap();
    let scale = img.pixelscale.unwrap();
    let lam_d = 1e-6 / 2.0 * 180.0 * 3600.0 / PI;
    let c = measure::array_center(&img.data);
    let fwhm = measure::fwhm_profile(&img.data, scale, c, 0.5).unwrap();
    assert!((fwhm / (1.029 * lam_d) - 1.0).abs() < 0.03, "FWHM {fwhm} vs {}", 1.029 * lam_d);
    // The Gaussian fit is narrower than the Airy core: POPPY 1.1.2's measure_fwhm on this
    // file gives 0.10215237235 arcsec; within 0.5%.
    let fit = measure::fwhm_fit(&img.data, scale, c, 0.1).unwrap();
    assert!((fit / 0.102_152_372_35 - 1.0).abs() < 5e-3, "FWHM fit {fit}");
    let x = 3.831_705_970_207_512; // first zero of J1: r = x / pi lambda/D = 1.2197 lambda/D
    let analytic = 1.0 - bessel(0, x).powi(2) - bessel(1, x).powi(2);
    let ee = measure::encircled_energy_exact(&img.data, scale, c, x / PI * lam_d);
    assert!((ee - analytic).abs() < 0.01, "EE {ee} vs {analytic}");
    // And at twice that radius, for good measure.
    let x2 = 2.0 * x;
    let analytic2 = 1.0 - bessel(0, x2).powi(2) - bessel(1, x2).powi(2);
    let ee2 = measure::encircled_energy_exact(&img.data, scale, c, x2 / PI * lam_d);
    assert!((ee2 - analytic2).abs() < 0.01, "EE {ee2} vs {analytic2}");
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_diffract"))
}

fn decode(path: &Path) -> (usize, usize, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width as usize, info.height as usize, buf)
}

/// The brightest pixel (sum of RGB) inside the rectangle `[x0, x1) x [y0, y1)`.
fn brightest(
    w: usize,
    rgb: &[u8],
    (x0, y0, x1, y1): (usize, usize, usize, usize),
) -> (usize, usize) {
    let mut best = (0, 0, 0u32);
    for y in y0..y1 {
        for x in x0..x1 {
            let i = (y * w + x) * 3;
            let v = rgb[i] as u32 + rgb[i + 1] as u32 + rgb[i + 2] as u32;
            if v > best.2 {
                best = (x, y, v);
            }
        }
    }
    (best.0, best.1)
}

#[test]
fn show_draws_the_psf_with_its_peak_where_the_psf_peaks() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("airy.png");
    let o = bin()
        .arg("show")
        .arg(data("expected/airy_circular.fits"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (w, h, rgb) = decode(&out);
    // 230 pixels drawn at 2x from (70, 50): 460 x 460, plus axes and colour bar.
    assert!(w >= 460 + 70 && h >= 460 + 50, "{w}x{h}");
    let (x, y) = brightest(w, &rgb, (70, 50, 70 + 460, 50 + 460));
    assert!((x as i64 - 300).abs() <= 3 && (y as i64 - 280).abs() <= 3, "peak drawn at ({x}, {y})");
}

#[test]
fn psf_png_and_pupil_png_are_pictures_of_what_was_asked() {
    let dir = tempfile::tempdir().unwrap();
    let fits = dir.path().join("p.fits");
    let png_out = dir.path().join("p.png");
    let o = bin()
        .arg("psf")
        .arg(data("cases/segmented_hex.toml"))
        .arg("-o")
        .arg(&fits)
        .arg("--png")
        .arg(&png_out)
        .arg("-q")
        .output()
        .unwrap();
    assert!(o.status.success());
    let (w, _, rgb) = decode(&png_out);
    // 162 pixels at 2x: the peak at the centre of the 324-pixel image drawn from (70, 50).
    let (x, y) = brightest(w, &rgb, (70, 50, 70 + 324, 50 + 324));
    assert!((x as i64 - 232).abs() <= 3 && (y as i64 - 212).abs() <= 3, "({x}, {y})");
    let pupil = dir.path().join("pupil.png");
    let o = bin()
        .arg("pupil")
        .arg(data("cases/segmented_hex.toml"))
        .arg("-o")
        .arg(&pupil)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (w, h, rgb) = decode(&pupil);
    assert_eq!((w, h), (800, 440));
    // The transmission panel: white segments and a black centre (no central segment).
    let px = |x: usize, y: usize| rgb[(y * w + x) * 3];
    assert_eq!(px(10 + 128, 64 + 128), 0, "the centre is dark");
    assert!((64..64 + 256).any(|y| px(10 + 128, y) == 255), "segments are white");
}

/// `measure --json` parsed with serde_json: every documented key, numbers where the PSF is
/// measurable, one line.
#[test]
fn measure_json_parses_with_the_documented_keys() {
    let o = bin()
        .arg("measure")
        .arg(data("expected/airy_circular.fits"))
        .arg("--json")
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.trim().lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "center_px",
            "centroid_arcsec",
            "centroid_method",
            "centroid_px",
            "ee",
            "ee_method",
            "file",
            "flux",
            "fwhm_arcsec",
            "fwhm_method",
            "hdu",
            "peak",
            "pixelscale_arcsec",
            "radius_at_ee",
            "sharpness"
        ]
    );
    assert_eq!(v["hdu"], 0);
    assert!(v["file"].as_str().unwrap().ends_with("airy_circular.fits"));
    assert!(v["peak"].as_f64().unwrap() > 0.0);
    assert!(v["fwhm_arcsec"].as_f64().unwrap() > 0.0);
    assert_eq!(v["centroid_arcsec"].as_array().unwrap().len(), 2);
    let ee = v["ee"].as_array().unwrap();
    assert_eq!(ee.len(), 7, "the seven default radii");
    assert_eq!(ee[0]["radius_arcsec"].as_f64(), Some(0.05));
    // POPPY's curve ends at the last whole bin inside the 1.5 arcsec field: 2 arcsec is null.
    assert!(ee[..6].iter().all(|e| e["fraction"].as_f64().is_some()));
    assert!(ee[6]["fraction"].is_null());
    assert_eq!(v["radius_at_ee"][0]["fraction"].as_f64(), Some(0.5));
    assert!(v["radius_at_ee"][0]["radius_arcsec"].as_f64().unwrap() > 0.0);
    assert_eq!(v["radius_at_ee"][1]["fraction"].as_f64(), Some(0.8));
}

/// An all-zero image: FWHM and the EE radii are not measurable, and come out as `null` in
/// JSON that a strict parser accepts.
#[test]
fn measure_json_of_an_all_zero_image_parses_with_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let zero = dir.path().join("zero.fits");
    diffract::io::write_image(
        &zero,
        &ndarray::Array2::zeros((32, 32)),
        &[("PIXELSCL", 0.01)],
        false,
    )
    .unwrap();
    let o = bin().arg("measure").arg(&zero).arg("--json").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["fwhm_arcsec"].is_null());
    assert!(v["radius_at_ee"][0]["radius_arcsec"].is_null());
    assert!(v["radius_at_ee"][1]["radius_arcsec"].is_null());
    assert_eq!(v["flux"].as_f64(), Some(0.0));
    assert_eq!(v["pixelscale_arcsec"].as_f64(), Some(0.01));
}

/// info, show, pupil and measure on a missing or malformed file: one line, exit 2.
#[test]
fn commands_refuse_missing_or_malformed_files_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.fits");
    std::fs::write(&junk, b"this is not FITS").unwrap();
    let missing = dir.path().join("missing.fits");
    let png = dir.path().join("x.png");
    let runs: Vec<Vec<&std::ffi::OsStr>> = vec![
        vec!["info".as_ref(), missing.as_os_str()],
        vec!["info".as_ref(), junk.as_os_str()],
        vec!["show".as_ref(), missing.as_os_str(), "-o".as_ref(), png.as_os_str()],
        vec!["show".as_ref(), junk.as_os_str(), "-o".as_ref(), png.as_os_str()],
        vec!["pupil".as_ref(), missing.as_os_str(), "-o".as_ref(), png.as_os_str()],
        vec!["pupil".as_ref(), junk.as_os_str(), "-o".as_ref(), png.as_os_str()],
        vec!["measure".as_ref(), missing.as_os_str()],
        vec!["measure".as_ref(), junk.as_os_str()],
    ];
    for args in runs {
        let o = bin().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(!png.exists());
    }
}

/// `[detector] jitter_sigma_arcsec` blurs the oversampled PSF by a Gaussian (POPPY's
/// jitter='gaussian'): the FWHM grows as sqrt(fwhm0^2 + (2.3548 sigma)^2) within 5% (a
/// Gaussian-core approximation, as POPPY's own test), the header records JITRSIGM, and the
/// DET_SAMP extension is binned from the blurred image.
#[test]
fn gaussian_jitter_widens_the_core() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(data("cases/airy_circular.toml")).unwrap();
    let sigma: f64 = 0.02;
    let jit = base
        .replace("fov_arcsec = 1.5", &format!("fov_arcsec = 1.5\njitter_sigma_arcsec = {sigma}"));
    for (name, text) in [("plain", &base), ("jitter", &jit)] {
        let scene = dir.path().join(format!("{name}.toml"));
        std::fs::write(&scene, text).unwrap();
        let o = bin()
            .arg("psf")
            .arg(&scene)
            .arg("-o")
            .arg(dir.path().join(format!("{name}.fits")))
            .arg("-q")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let plain = read_image(&dir.path().join("plain.fits"), 0).unwrap();
    let jittered = read_image(&dir.path().join("jitter.fits"), 0).unwrap();
    let scale = plain.pixelscale.unwrap();
    let c = measure::array_center(&plain.data);
    let f0 = measure::fwhm_fit(&plain.data, scale, c, 0.1).unwrap();
    let f1 = measure::fwhm_fit(&jittered.data, scale, c, 0.1).unwrap();
    let want = (f0 * f0 + (2.3548 * sigma).powi(2)).sqrt();
    assert!((f1 / want - 1.0).abs() < 0.05, "FWHM {f0} -> {f1}, expected about {want}");
    let det = read_image(&dir.path().join("jitter.fits"), 1).unwrap().data;
    assert!((det.sum() - jittered.data.sum()).abs() < 1e-12);
    let mut f = fitsio::FitsFile::open(dir.path().join("jitter.fits")).unwrap();
    let hdu = f.primary_hdu().unwrap();
    assert_eq!(hdu.read_key::<f64>(&mut f, "JITRSIGM").unwrap(), sigma);
    assert!(hdu.read_key::<f64>(&mut f, "JITRSTRL").unwrap() < 1.0);
}
