//! The `diffract` command line as a user meets it: outputs, summaries, exit codes, and one
//! clear line for every bad input.

use diffract::io::read_image;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_diffract"))
}

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/cases")
        .join(format!("{name}.toml"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn psf_writes_fits_with_oversampled_and_detector_hdus_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("airy.fits");
    let o = bin().arg("psf").arg(case("airy_circular")).arg("-o").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = String::from_utf8_lossy(&o.stdout);
    assert!(
        summary.contains("230 x 230 pixels") && summary.contains("flux in field 0.977"),
        "{summary}"
    );
    let over = read_image(&out, 0).unwrap();
    let det = read_image(&out, 1).unwrap();
    assert_eq!(over.data.dim(), (230, 230));
    assert_eq!(det.data.dim(), (115, 115));
    assert!((over.pixelscale.unwrap() - 0.0065).abs() < 1e-15);
    assert!((det.pixelscale.unwrap() - 0.013).abs() < 1e-15);
    // Binning conserves flux.
    assert!((over.data.sum() - det.data.sum()).abs() < 1e-12);
}

/// `--complex`: extensions REAL and IMAG whose squared modulus is the PSF; one line and no
/// file for a source of several wavelengths.
#[test]
fn psf_complex_writes_the_detector_field() {
    let dir = tempfile::tempdir().unwrap();
    let more = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/more/cases");
    let out = dir.path().join("field.fits");
    let scene = more.join("complex_field_lyot.toml");
    let o = bin().arg("psf").arg(&scene).arg("-o").arg(&out).arg("--complex").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let psf = read_image(&out, 0).unwrap().data;
    let (re, im) = (read_image(&out, 2).unwrap().data, read_image(&out, 3).unwrap().data);
    assert_eq!(psf.dim(), (80, 68));
    let worst = (&re * &re + &im * &im - &psf).mapv(f64::abs).fold(0.0, |a: f64, &b| a.max(b));
    assert!(worst < 1e-15, "{worst}");
    let poly = dir.path().join("poly.fits");
    let o = bin()
        .arg("psf")
        .arg(more.join("rect_detector_pixels.toml"))
        .arg("-o")
        .arg(&poly)
        .arg("--complex")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("--complex needs a single wavelength"), "{}", stderr(&o));
    assert!(!poly.exists());
}

#[test]
fn an_existing_output_is_kept_without_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keep.fits");
    std::fs::write(&out, b"precious").unwrap();
    let o = bin().arg("psf").arg(case("airy_circular")).arg("-o").arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("file exists; pass --overwrite"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    let o = bin()
        .arg("psf")
        .arg(case("airy_circular"))
        .arg("-o")
        .arg(&out)
        .arg("--overwrite")
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(read_image(&out, 0).unwrap().data.dim(), (230, 230));
}

#[test]
fn the_default_run_writes_fits_and_png_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("psf.fits");
    let o = bin().arg("psf").arg("-o").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("built-in default"), "{text}");
    assert_eq!(read_image(&out, 0).unwrap().data.dim(), (194, 194));
    let png = std::fs::read(dir.path().join("psf.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

/// Each bad scene: exit code 2, exactly one line on stderr naming the file and the
/// problem, no panic, no output file.
/// Each `(what, scene text, expected message)` run by `diffract psf` from `dir/bad.toml`
/// exits 2 with one line naming the file and holding the message, and writes nothing.
fn assert_scenes_refused(dir: &Path, cases: Vec<(&str, String, &str)>) {
    for (what, text, expect) in cases {
        let scene = dir.join("bad.toml");
        std::fs::write(&scene, text).unwrap();
        let out = dir.join("out.fits");
        let o = bin().arg("psf").arg(&scene).arg("-o").arg(&out).output().unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{what}: {err}");
        assert_eq!(err.lines().count(), 1, "{what}: {err}");
        assert!(err.contains("bad.toml") && err.contains(expect), "{what}: {err}");
        assert!(!err.contains("panicked"), "{what}");
        assert!(!out.exists(), "{what}: output written");
    }
}

#[test]
fn bad_scenes_get_one_clear_line_and_no_output() {
    let good = std::fs::read_to_string(case("obscured_zernike_poly")).unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        ("unknown kind", good.replace("\"secondary_obscuration\"", "\"secondary_obscurashun\""), "optic 2: unknown optic kind 'secondary_obscurashun' (did you mean 'secondary_obscuration'?)"),
        ("missing key", good.replace("radius_m = 3.25\n\n[[optic]]\nplane = \"pupil\"\nkind = \"secondary", "\n[[optic]]\nplane = \"pupil\"\nkind = \"secondary"), "optic 1 (circular_aperture): missing required key radius_m"),
        ("mistyped key", good.replace("n_supports = 3", "n_supports = \"three\""), "optic 2 (secondary_obscuration): n_supports must be an integer, got a string"),
        ("misspelt key", good.replace("support_width_m", "support_widht_m"), "unknown key 'support_widht_m' (did you mean 'support_width_m'?)"),
        ("negative size", good.replace("secondary_radius_m = 0.5", "secondary_radius_m = -0.5"), "secondary_radius_m = -0.5 is invalid"),
        ("zero pixel scale", good.replace("pixelscale_arcsec = 0.031", "pixelscale_arcsec = 0.0"), "[detector]: pixelscale_arcsec = 0 is invalid; must be > 0"),
        ("nan", good.replace("radius_m = 3.25\n\n[[optic]]\nplane = \"pupil\"\nkind = \"secondary", "radius_m = nan\n\n[[optic]]\nplane = \"pupil\"\nkind = \"secondary"), "radius_m = NaN is invalid"),
        ("weights", good.replace("weights = [0.3, 0.4, 0.3]", "weights = [0.3, 0.4]"), "[source]: weights"),
        ("broken toml", good.replace("[detector]", "[detector"), "invalid TOML"),
        ("empty", String::new(), "scene is empty"),
    ];
    let dir = tempfile::tempdir().unwrap();
    assert_scenes_refused(dir.path(), cases);
    // Not a scene at all: a missing file, a directory, binary garbage.
    std::fs::write(dir.path().join("garbage.toml"), [0u8, 159, 146, 150, 255, 0, 1]).unwrap();
    for (path, expect) in [
        (dir.path().join("missing.toml"), "cannot read scene"),
        (dir.path().to_path_buf(), "is a directory"),
        (dir.path().join("garbage.toml"), "not a text file"),
    ] {
        let o =
            bin().arg("psf").arg(&path).arg("-o").arg(dir.path().join("x.fits")).output().unwrap();
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(stderr(&o).lines().count(), 1);
        assert!(stderr(&o).contains(expect), "{}", stderr(&o));
    }
}

/// Detectors in mid-system and scenes without `[detector]` that POPPY cannot run (or that
/// diffract does not combine) get one line naming the optic, and no output.
#[test]
fn bad_detector_layouts_get_one_line_and_no_output() {
    let more = |name: &str| {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/data/more/cases")
                .join(format!("{name}.toml")),
        )
        .unwrap()
    };
    let mid = more("intermediate_detector_occulter");
    let ending = more("fft_image_ending");
    let det = "[[optic]]\nkind = \"detector\"\npixelscale_arcsec = 0.02\nfov_pixels = 64\n";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "after an image plane",
            mid.replace("[[optic]]\nplane = \"pupil\"\nkind = \"circular_aperture\"\nradius_m = 0.9", &format!("{det}\n[[optic]]\nplane = \"pupil\"\nkind = \"circular_aperture\"\nradius_m = 0.9")),
            "optic 5 (detector) follows an image plane (optic 4, circular_occulter)",
        ),
        (
            "last optic",
            format!("{}\n{det}", mid.split("[detector]").next().unwrap()) + "[detector]\npixelscale_arcsec = 0.02\nfov_pixels = 64\n",
            "the last optic (optic 6) is a detector",
        ),
        (
            "with a coronagraph",
            mid.clone() + "\n[coronagraph]\nmethod = \"matrix_ft\"\nocculter_box_arcsec = 1.0\n",
            "optic 3 is a detector in mid-system; coronagraph method matrix_ft cannot be combined with one",
        ),
        (
            "jitter",
            mid.replace("fov_pixels = 64\n\n[[optic]]", "fov_pixels = 64\njitter_sigma_arcsec = 0.01\n\n[[optic]]"),
            "optic 3 (detector): jitter_sigma_arcsec applies to the final [detector] only",
        ),
        (
            "pupil plane",
            mid.replace("kind = \"detector\"", "kind = \"detector\"\nplane = \"pupil\""),
            "optic 3 (detector): plane = \"pupil\" is invalid",
        ),
        (
            "no detector, pupil last",
            mid.split("[detector]").next().unwrap().to_string(),
            "missing required table [detector] (a scene without one must end on an image-plane optic",
        ),
        (
            "no detector, coronagraph",
            ending.clone() + "\n[coronagraph]\nmethod = \"matrix_ft\"\nocculter_box_arcsec = 1.0\n",
            "a coronagraph method needs a [detector]",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    assert_scenes_refused(dir.path(), cases);
}

#[test]
fn unknown_backend_is_a_usage_error_naming_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    let o = bin()
        .arg("psf")
        .arg(case("airy_circular"))
        .arg("--gemm")
        .arg("mkl")
        .arg("-o")
        .arg(dir.path().join("a.fits"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected one of: gemm, matrixmultiply, blas"), "{}", stderr(&o));
}

#[test]
fn planes_writes_one_file_per_plane_named_by_index_and_kind() {
    let dir = tempfile::tempdir().unwrap();
    let planes = dir.path().join("planes");
    let o = bin()
        .arg("psf")
        .arg(case("lyot_occulter"))
        .arg("-o")
        .arg(dir.path().join("lyot.fits"))
        .arg("--planes")
        .arg(&planes)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let mut names: Vec<String> = std::fs::read_dir(&planes)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "plane_01_circular_aperture.fits",
            "plane_02_circular_occulter.fits",
            "plane_03_circular_aperture.fits"
        ]
    );
    // The entrance pupil holds unit intensity ("first" normalisation); the occulter plane is
    // the 1024-pixel zero-padded FFT image.
    let pupil = read_image(&planes.join("plane_01_circular_aperture.fits"), 0).unwrap();
    assert!((pupil.data.sum() - 1.0).abs() < 1e-12);
    let image = read_image(&planes.join("plane_02_circular_occulter.fits"), 0).unwrap();
    assert_eq!(image.data.dim(), (1024, 1024));
    assert!(
        read_image(&planes.join("plane_02_circular_occulter.fits"), 1).is_ok(),
        "phase extension"
    );
}

/// Killing a run at any moment (here SIGKILL at 12 points from start to end) leaves the old
/// file untouched or the complete new one: outputs are written to a temporary file and
/// renamed into place.
#[test]
fn a_killed_run_leaves_the_old_file_or_the_complete_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("psf.fits");
    let scene = dir.path().join("big_output.toml");
    // A cheap PSF with a large output (1600 x 1600 doubles, 20 MB), so writing takes time.
    std::fs::write(
        &scene,
        "npix = 64\noversample = 2\n[source]\nwavelengths_m = [1e-6]\n[[optic]]\nplane = \"pupil\"\nkind = \"circular_aperture\"\nradius_m = 1.0\n[detector]\npixelscale_arcsec = 0.01\nfov_pixels = 800\n",
    )
    .unwrap();
    std::fs::write(&out, b"the old file").unwrap();
    let mut saw_new = false;
    for delay_ms in [0u64, 5, 10, 20, 40, 60, 80, 120, 160, 240, 400, 2000] {
        let mut child = bin()
            .arg("psf")
            .arg(&scene)
            .arg("-o")
            .arg(&out)
            .arg("--overwrite")
            .arg("-q")
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let bytes = std::fs::read(&out).unwrap();
        if bytes != b"the old file" {
            let img = read_image(&out, 0).expect("a replaced file is a complete FITS file");
            assert_eq!(img.data.dim(), (1600, 1600));
            assert_eq!(read_image(&out, 1).unwrap().data.dim(), (800, 800));
            saw_new = true;
            std::fs::write(&out, b"the old file").unwrap();
        }
    }
    assert!(saw_new, "the last, unhurried run should have finished");
}

/// Relative L2 distance `|a - b| / |b|` of two images of one shape.
fn rel_l2(a: &ndarray::Array2<f64>, b: &ndarray::Array2<f64>) -> f64 {
    assert_eq!(a.dim(), b.dim());
    let diff: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    let norm: f64 = b.iter().map(|y| y * y).sum();
    (diff / norm).sqrt()
}

/// `diffract psf SCENE -o OUT -q` with extra arguments; panics (naming stderr) on failure.
fn psf_with(scene: &Path, out: &Path, extra: &[&str]) -> ndarray::Array2<f64> {
    let o = bin().arg("psf").arg(scene).arg("-o").arg(out).arg("-q").args(extra).output().unwrap();
    assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
    read_image(out, 0).unwrap().data
}

#[test]
fn psf_json_is_one_strict_json_object_with_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a \"quoted\" name.fits");
    let o = bin()
        .arg("psf")
        .arg(case("obscured_zernike_poly"))
        .arg("-o")
        .arg(&out)
        .arg("--json")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.trim().lines().count(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = [
        "output",
        "png",
        "shape",
        "wavelengths_m",
        "weights",
        "gemm",
        "fft",
        "precision",
        "workers",
        "seconds",
        "phases",
        "peak_memory_bytes",
        "flux",
    ];
    want.sort_unstable();
    assert_eq!(keys, want, "{text}");
    assert_eq!(v["output"].as_str(), Some(out.to_str().unwrap()));
    assert!(v["png"].is_null());
    assert_eq!(v["wavelengths_m"].as_array().unwrap().len(), 3);
    let image = read_image(&out, 0).unwrap().data;
    let (ny, nx) = image.dim();
    assert_eq!(v["shape"], serde_json::json!([ny, nx]));
    assert_eq!(v["gemm"], "gemm");
    // The precision that ran: "auto" chooses single precision for this scene.
    assert_eq!(v["precision"], "f32");
    // The flux is the sum of the written image (printed shortest round-trip), to the last
    // bits that the order of the additions may change.
    let flux = v["flux"].as_f64().unwrap();
    assert!((flux - image.sum()).abs() <= 4.0 * f64::EPSILON * flux, "{flux} {}", image.sum());
    // The phases are the run's time split: each non-negative, together within it.
    let phase = |k: &str| v["phases"][k].as_f64().unwrap();
    let (plan, compute, write) = (phase("plan"), phase("compute"), phase("write"));
    assert!(plan >= 0.0 && compute > 0.0 && write > 0.0, "{text}");
    assert!(plan + compute + write <= v["seconds"].as_f64().unwrap(), "{text}");
}

/// Reference: the f64 run of the same scene. f32 matrix Fourier transforms carry about
/// 1e-7 relative rounding per product; the tolerance on the whole PSF is 1e-5 relative L2.
#[test]
fn f32_precision_end_to_end_is_within_1e_5_of_f64() {
    let dir = tempfile::tempdir().unwrap();
    let scene = case("obscured_zernike_poly");
    let f64_psf = psf_with(&scene, &dir.path().join("f64.fits"), &["--precision", "f64"]);
    let f32_psf = psf_with(&scene, &dir.path().join("f32.fits"), &["--precision", "f32"]);
    let d = rel_l2(&f32_psf, &f64_psf);
    println!("f32 against f64: relative L2 {d:.3e}");
    assert!(d <= 1e-5 && d > 0.0, "relative L2 {d}");
    let o = read_image(&dir.path().join("f32.fits"), 0).unwrap();
    assert!(o.data.iter().all(|v| v.is_finite()));
}

/// Reference: the default run (every core). One core changes only who computes what, not
/// the arithmetic: the PSF is bitwise identical.
#[test]
fn one_core_gives_the_default_psf_bitwise() {
    let dir = tempfile::tempdir().unwrap();
    let scene = case("obscured_zernike_poly");
    let all = psf_with(&scene, &dir.path().join("all.fits"), &[]);
    let one = psf_with(&scene, &dir.path().join("one.fits"), &["--cores", "1"]);
    assert!(all.iter().zip(&one).all(|(a, b)| a.to_bits() == b.to_bits()));
    let o = bin()
        .arg("psf")
        .arg(&scene)
        .arg("-o")
        .arg(dir.path().join("zero.fits"))
        .args(["--cores", "0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).trim(), "error: --cores must be at least 1");
}

/// With FFTW compiled in (`--features diffract/fftw` or `diffract-cli/fftw`): FFTW with two
/// threads in one worker gives the rustfft PSF within 1e-12 relative L2 (reference: the
/// rustfft run; both are exact FFTs in f64, differing by rounding only: double precision is
/// asked for, as the default holds rustfft's image plane in single precision). Without it:
/// the backend is refused as a usage error naming the feature.
#[test]
fn fftw_with_threads_matches_rustfft_or_is_refused_when_not_built() {
    let dir = tempfile::tempdir().unwrap();
    let scene = case("lyot_occulter");
    let args = ["--fft", "fftw", "--fftw-threads", "2", "--workers", "1", "--precision", "f64"];
    if diffract::transforms::FftBackend::Fftw.is_compiled() {
        let rust = psf_with(&scene, &dir.path().join("rustfft.fits"), &["--precision", "f64"]);
        let fftw = psf_with(&scene, &dir.path().join("fftw.fits"), &args);
        let d = rel_l2(&fftw, &rust);
        println!("FFTW (2 threads) against rustfft: relative L2 {d:.3e}");
        assert!(d <= 1e-12, "relative L2 {d}");
        assert_eq!(read_image(&dir.path().join("fftw.fits"), 0).unwrap().data.dim(), rust.dim());
    } else {
        let out = dir.path().join("fftw.fits");
        let o = bin().arg("psf").arg(&scene).arg("-o").arg(&out).args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("'fftw' is not compiled in"), "{}", stderr(&o));
        assert!(!out.exists());
    }
}

/// Reference: the command line's output. The library computes what the command line
/// computes: for a scene with jitter, `plan().compute()` on the scene's system and
/// `diffract::run::run_scene` both give the CLI's PSF bit for bit.
#[test]
fn the_library_computes_and_writes_what_the_cli_writes() {
    use diffract::propagation::ComputeOptions;
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(case("airy_circular"))
        .unwrap()
        .replace("fov_arcsec = 1.5", "fov_arcsec = 1.5\njitter_sigma_arcsec = 0.02");
    let scene_path = dir.path().join("jitter.toml");
    std::fs::write(&scene_path, &text).unwrap();
    let cli = psf_with(&scene_path, &dir.path().join("cli.fits"), &[]);

    let scene = diffract::io::Scene::from_file(&scene_path).unwrap();
    let psf = scene.system.plan().unwrap().compute(&scene.source, &ComputeOptions::default());
    let lib = psf.unwrap().image;
    assert!(cli.iter().zip(&lib).all(|(a, b)| a.to_bits() == b.to_bits()));

    let out = dir.path().join("lib.fits");
    let summary = diffract::run::run_scene(&scene, &diffract::run::RunOptions::new(&out)).unwrap();
    assert_eq!(summary.shape, [cli.nrows(), cli.ncols()]);
    let written = read_image(&out, 0).unwrap().data;
    assert!(cli.iter().zip(&written).all(|(a, b)| a.to_bits() == b.to_bits()));
    // Bit-identical files too: same data, same header (name, jitter keys, backends).
    let a = std::fs::read(dir.path().join("cli.fits")).unwrap();
    assert!(a == std::fs::read(&out).unwrap(), "the FITS files differ");
}

fn dm_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/dm").join(name)
}

/// `diffract pupil --fits`: the PNG and a FITS file with the transmission (HDU 0) and the
/// total OPD in metres (HDU 1), both with PIXELSCL. In these scenes the mirror is the only
/// optic with an OPD, so the OPD is POPPY's `get_opd` for it
/// (tests/data/dm/expected/*_opd.fits) to relative L2 <= 1e-4.
#[test]
fn pupil_fits_writes_transmission_and_the_opd_poppy_gets() {
    let dir = tempfile::tempdir().unwrap();
    for (case, diameter) in [("dm_continuous_surface", 0.8), ("hex_dm_ptt", 0.31 * 5.0)] {
        let (png, fits) =
            (dir.path().join(format!("{case}.png")), dir.path().join(format!("{case}.fits")));
        let scene = dm_data(&format!("cases/{case}.toml"));
        let o = bin()
            .arg("pupil")
            .arg(&scene)
            .arg("-o")
            .arg(&png)
            .arg("--fits")
            .arg(&fits)
            .output()
            .unwrap();
        assert!(o.status.success(), "{case}: {}", stderr(&o));
        assert!(png.exists());
        let t = diffract::io::read_image(&fits, 0).unwrap();
        let opd = diffract::io::read_image(&fits, 1).unwrap();
        let scale = diameter / t.data.nrows() as f64;
        assert!((t.pixelscale.unwrap() / scale - 1.0).abs() < 1e-12, "{case}: PIXELSCL");
        assert_eq!(opd.pixelscale, t.pixelscale);
        assert_eq!(opd.bunit.as_deref(), Some("m"));
        let reference =
            diffract::io::read_image(&dm_data(&format!("expected/{case}_opd.fits")), 0).unwrap();
        let err = rel_l2(&opd.data, &reference.data);
        println!("{case}: pupil --fits OPD vs POPPY get_opd, rel L2 {err:.3e}");
        assert!(err <= 1e-4, "{case}: {err}");
        assert!(t.data.iter().all(|v| (0.0..=1.0).contains(v)) && t.data.sum() > 0.0);
        // Without --overwrite both outputs are kept and nothing is written.
        let o = bin()
            .arg("pupil")
            .arg(&scene)
            .arg("-o")
            .arg(dir.path().join("new.png"))
            .arg("--fits")
            .arg(&fits)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(!dir.path().join("new.png").exists());
    }
}

/// Bad deformable mirrors (issue 13, item 6): exit code 2, one line naming the file, the
/// optic and the key, no panic, nothing written, for `psf` and `pupil --fits` alike.
#[test]
fn bad_mirrors_get_one_line_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(dm_data("cases/dm_influence_file.toml")).unwrap();
    let hex = std::fs::read_to_string(dm_data("cases/hex_dm_ptt.toml")).unwrap();
    // A 3-D influence file: NAXIS = 3, 2 x 2 x 2 doubles.
    let mut cube = Vec::new();
    for card in [
        "SIMPLE  =                    T",
        "BITPIX  =                  -64",
        "NAXIS   =                    3",
        "NAXIS1  =                    2",
        "NAXIS2  =                    2",
        "NAXIS3  =                    2",
        "END",
    ] {
        cube.extend(format!("{card:<80}").bytes());
    }
    cube.resize(2880, b' ');
    cube.resize(5760, 0);
    std::fs::write(dir.path().join("cube.fits"), cube).unwrap();
    let cases = [
        ("short map", good.replace("  [-70e-9, 0.0, 0.0, 20e-9, 0.0, 100e-9],\n", ""), "optic 2 (continuous_deformable_mirror): surface_m is 5 rows of 6 actuators; dm_shape = [6, 6] needs 6 rows of 6"),
        ("3-D influence", good.replace("influence_coarse.fits", "cube.fits"), "optic 2 (continuous_deformable_mirror): influence_path:"),
        ("long list", hex.replace("tip_rad = [", "tip_rad = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "), "optic 1 (hex_segmented_deformable_mirror): tip_rad = a list of 28 values is invalid"),
    ];
    for (what, text, expect) in cases {
        let scene = dir.path().join("bad.toml");
        std::fs::write(&scene, text).unwrap();
        let (out, png) = (dir.path().join("out.fits"), dir.path().join("out.png"));
        for args in [
            vec!["psf", "-o", out.to_str().unwrap()],
            vec!["pupil", "-o", png.to_str().unwrap(), "--fits", out.to_str().unwrap()],
        ] {
            let o = bin().arg(args[0]).arg(&scene).args(&args[1..]).output().unwrap();
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{what}: {err}");
            assert_eq!(err.lines().count(), 1, "{what}: {err}");
            assert!(err.contains("bad.toml") && err.contains(expect), "{what}: {err}");
            assert!(!err.contains("panicked"), "{what}");
            assert!(!out.exists() && !png.exists(), "{what}: output written");
        }
    }
}
