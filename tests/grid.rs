//! PSF grids and batches: shards run at once merge to the same cube as one run, a killed
//! shard resumes, merge refuses incomplete or mixed folders, batches report failures per
//! scene.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const GRID: &str = r#"
name = "grid_test"
npix = 64
oversample = 2

[source]
wavelengths_m = [1.0e-6]

[[optic]]
plane = "pupil"
kind = "circular_aperture"
radius_m = 1.0

[detector]
pixelscale_arcsec = 0.05
fov_pixels = 24

[grid]
source_offsets_arcsec = [[0.0, 0.0], [0.1, 0.0], [0.0, -0.2], [0.15, 0.15], [-0.1, 0.05]]
wavelengths_m = [0.9e-6, 1.0e-6, 1.1e-6]
"#;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_diffract"))
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let scene = dir.path().join("grid.toml");
    std::fs::write(&scene, GRID).unwrap();
    (dir, scene)
}

fn merge(dir: &Path, out: &Path) -> Output {
    bin().arg("merge").arg(dir).arg("-o").arg(out).output().unwrap()
}

/// Runs the whole grid in one process into `dir/one` and merges it to `dir/one.fits`, the
/// reference cube the sharded and resumed runs are compared with.
fn one_run_cube(dir: &Path, scene: &Path) {
    ok(bin().arg("grid").arg(scene).arg("--out").arg(dir.join("one")).arg("-q").output().unwrap());
    ok(merge(&dir.join("one"), &dir.join("one.fits")));
}

/// Reference: the cube of one run. Three shards run at the same time give a byte-identical
/// cube (the points are computed deterministically and written whole).
#[test]
fn shards_run_at_once_merge_to_the_cube_of_one_run() {
    let (d, scene) = setup();
    one_run_cube(d.path(), &scene);
    let children: Vec<_> = (0..3)
        .map(|i| {
            bin()
                .arg("grid")
                .arg(&scene)
                .arg("--out")
                .arg(d.path().join("three"))
                .arg("--shard")
                .arg(format!("{i}/3"))
                .arg("-q")
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    ok(merge(&d.path().join("three"), &d.path().join("three.fits")));
    let a = std::fs::read(d.path().join("one.fits")).unwrap();
    let b = std::fs::read(d.path().join("three.fits")).unwrap();
    assert!(a == b, "cubes differ");
    // 15 points of 48 x 48 doubles.
    assert!(a.len() > 15 * 48 * 48 * 8);
}

/// A shard killed in the middle and run again completes the grid, and the merged cube is
/// the one-run cube; the rerun skips the points already complete.
#[test]
fn a_killed_shard_resumes_and_the_cube_is_unchanged() {
    let (d, scene) = setup();
    one_run_cube(d.path(), &scene);
    let out = d.path().join("killed");
    let mut child = bin()
        .arg("grid")
        .arg(&scene)
        .arg("--out")
        .arg(&out)
        .arg("--workers")
        .arg("1")
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(30));
    let _ = child.kill();
    let _ = child.wait();
    let o = ok(bin().arg("grid").arg(&scene).arg("--out").arg(&out).output().unwrap());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("of 15 in the grid"), "{text}");
    ok(merge(&out, &d.path().join("resumed.fits")));
    assert!(
        std::fs::read(d.path().join("one.fits")).unwrap()
            == std::fs::read(d.path().join("resumed.fits")).unwrap()
    );
    let again = ok(bin().arg("grid").arg(&scene).arg("--out").arg(&out).output().unwrap());
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("0 point(s) computed, 15 already complete")
    );
}

/// merge refuses, in one line and with exit 2, a folder with a missing point and a folder
/// holding a point of another grid; grid refuses a folder of another grid.
#[test]
fn merge_refuses_missing_and_foreign_points() {
    let (d, scene) = setup();
    let a = d.path().join("a");
    ok(bin().arg("grid").arg(&scene).arg("--out").arg(&a).arg("-q").output().unwrap());
    std::fs::remove_file(a.join("psf_00007.fits")).unwrap();
    let o = merge(&a, &d.path().join("a.fits"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(err.lines().count(), 1);
    assert!(err.contains("1 of 15 points missing: 7"), "{err}");
    assert!(!d.path().join("a.fits").exists());
    // A point of another grid (one offset differs) in the folder.
    let other = d.path().join("other.toml");
    std::fs::write(&other, GRID.replace("[-0.1, 0.05]", "[-0.1, 0.06]")).unwrap();
    let b = d.path().join("b");
    ok(bin().arg("grid").arg(&other).arg("--out").arg(&b).arg("-q").output().unwrap());
    std::fs::copy(b.join("psf_00007.fits"), a.join("psf_00007.fits")).unwrap();
    let o = merge(&a, &d.path().join("a.fits"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("a point of grid") && err.lines().count() == 1, "{err}");
    let o = bin().arg("grid").arg(&other).arg("--out").arg(&a).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the folder holds grid"));
}

#[test]
fn bad_shards_are_usage_errors() {
    let (d, scene) = setup();
    for shard in ["3/3", "1/0", "x", "auto"] {
        let o = bin()
            .arg("grid")
            .arg(&scene)
            .arg("--out")
            .arg(d.path().join("s"))
            .arg("--shard")
            .arg(shard)
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("JOB_COMPLETION_INDEX")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{shard}");
        assert_eq!(String::from_utf8_lossy(&o.stderr).lines().count(), 1);
    }
    // SLURM's array variables pick the shard.
    let o = ok(bin()
        .arg("grid")
        .arg(&scene)
        .arg("--out")
        .arg(d.path().join("slurm"))
        .arg("--shard")
        .arg("auto")
        .env("SLURM_ARRAY_TASK_ID", "2")
        .env("SLURM_ARRAY_TASK_COUNT", "4")
        .output()
        .unwrap());
    assert!(String::from_utf8_lossy(&o.stdout).contains("shard 2/4: 4 point(s) computed"));
}

/// A batch computes every good scene and names each bad one; the exit code says not all
/// succeeded.
#[test]
fn a_batch_reports_each_failure_and_computes_the_rest() {
    let (d, _) = setup();
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/cases");
    let bad = d.path().join("bad.toml");
    std::fs::write(&bad, "npix = -3").unwrap();
    let out = d.path().join("batch");
    let o = bin()
        .arg("batch")
        .arg(good.join("airy_circular.toml"))
        .arg(&bad)
        .arg(good.join("nrm_seven_holes.toml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.toml"), "{err}");
    assert!(out.join("airy_circular.fits").exists() && out.join("nrm_seven_holes.fits").exists());
    assert!(!out.join("bad.fits").exists());
    assert!(String::from_utf8_lossy(&o.stdout).contains("2 of 3 scenes computed"));
}

/// `grid.json` is strict JSON (read back with serde_json) listing every point; the folder
/// holds no leftover temporary file; a manifest that is not JSON is refused in one line.
#[test]
fn grid_json_parses_and_lists_every_point() {
    let (d, scene) = setup();
    let out = d.path().join("g");
    ok(bin().arg("grid").arg(&scene).arg("--out").arg(&out).arg("-q").output().unwrap());
    let text = std::fs::read_to_string(out.join("grid.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["scene"].as_str(), Some(scene.to_str().unwrap()));
    let hash = v["hash"].as_str().unwrap();
    assert!(hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()), "{hash}");
    assert_eq!(v["points"], 15);
    let list = v["point_list"].as_array().unwrap();
    assert_eq!(list.len(), 15);
    for (i, p) in list.iter().enumerate() {
        assert_eq!(p["index"], i);
        assert!(p["offset_x_arcsec"].is_f64() && p["offset_y_arcsec"].is_f64(), "{p}");
        let w = p["wavelength_m"].as_f64().unwrap();
        assert!([0.9e-6, 1.0e-6, 1.1e-6].contains(&w), "{p}");
    }
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 16, "{names:?}");
    assert_eq!(names[0], "grid.json");
    assert!(names[1..].iter().all(|n| n.starts_with("psf_") && n.ends_with(".fits")));
    // The same folder, written by another tool badly: one line, exit 2, for grid and merge.
    std::fs::write(out.join("grid.json"), "{\"hash\": \"abc\", ").unwrap();
    for o in [
        bin().arg("grid").arg(&scene).arg("--out").arg(&out).arg("-q").output().unwrap(),
        merge(&out, &d.path().join("cube.fits")),
    ] {
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("grid.json: not a grid manifest"), "{err}");
    }
    assert!(!d.path().join("cube.fits").exists());
}

/// A grid of four offsets on a 2 x 2 lattice, with a reference pixel.
const LATTICE: &str = r#"
name = "lattice"
npix = 64
oversample = 2

[source]
wavelengths_m = [1.0e-6]

[[optic]]
plane = "pupil"
kind = "circular_aperture"
radius_m = 1.0

[detector]
pixelscale_arcsec = 0.05
fov_pixels = 24

[grid]
source_offsets_arcsec = [[-0.1, -0.2], [0.1, -0.2], [-0.1, 0.2], [0.1, 0.2]]
reference_pixel = [100.0, 50.0]
centre_stamps = true
"#;

fn merge_webbpsf(dir: &Path, out: &Path) -> Output {
    bin().arg("merge").arg(dir).arg("-o").arg(out).arg("--format").arg("webbpsf").output().unwrap()
}

/// `merge --format webbpsf` writes WebbPSF's layout: the cube in the primary HDU,
/// `DET_YX<i>` = "(y, x)" = reference + offset / detector scale, `OVERSAMP`; the slices are
/// those of diffract's cube.
#[test]
fn merge_writes_the_webbpsf_layout_for_a_lattice() {
    let d = tempfile::tempdir().unwrap();
    let scene = d.path().join("lattice.toml");
    std::fs::write(&scene, LATTICE).unwrap();
    let out = d.path().join("out");
    ok(bin().arg("grid").arg(&scene).arg("--out").arg(&out).arg("-q").output().unwrap());
    let cube = d.path().join("webbpsf.fits");
    ok(merge_webbpsf(&out, &cube));
    ok(merge(&out, &d.path().join("diffract.fits")));
    let mut f = fitsio::FitsFile::open(&cube).unwrap();
    let hdu = f.primary_hdu().unwrap();
    let key = |f: &mut fitsio::FitsFile, k: &str| hdu.read_key::<String>(f, k).unwrap();
    assert_eq!(key(&mut f, "DET_YX0"), "(46.0, 98.0)");
    assert_eq!(key(&mut f, "DET_YX1"), "(46.0, 102.0)");
    assert_eq!(key(&mut f, "DET_YX2"), "(54.0, 98.0)");
    assert_eq!(key(&mut f, "DET_YX3"), "(54.0, 102.0)");
    assert_eq!(hdu.read_key::<i64>(&mut f, "OVERSAMP").unwrap(), 2);
    assert_eq!(hdu.read_key::<i64>(&mut f, "NUM_PSFS").unwrap(), 4);
    assert_eq!(hdu.read_key::<f64>(&mut f, "DETPXSCL").unwrap(), 0.05);
    for i in 0..4 {
        let a = diffract::io::read_image_slice(&cube, 0, i).unwrap().data;
        let b = diffract::io::read_image_slice(&d.path().join("diffract.fits"), 0, i).unwrap().data;
        assert_eq!(a.dim(), (48, 48));
        assert!(a == b, "slice {i} differs");
    }
}

/// Grids that are not one PSF per offset on a rectangular lattice are refused in one line,
/// exit code 2, nothing written.
#[test]
fn merge_webbpsf_refuses_other_grids() {
    let (d, scene) = setup();
    let out = d.path().join("out");
    ok(bin().arg("grid").arg(&scene).arg("--out").arg(&out).arg("-q").output().unwrap());
    let cube = d.path().join("cube.fits");
    let o = merge_webbpsf(&out, &cube);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("3 wavelengths per offset"), "{err}");
    assert!(!cube.exists());

    let scene = d.path().join("scattered.toml");
    let text = GRID.replace("wavelengths_m = [0.9e-6, 1.0e-6, 1.1e-6]\n", "");
    std::fs::write(&scene, text).unwrap();
    let out = d.path().join("scattered");
    ok(bin().arg("grid").arg(&scene).arg("--out").arg(&out).arg("-q").output().unwrap());
    let o = merge_webbpsf(&out, &cube);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("not a rectangular lattice"), "{err}");
    assert!(!cube.exists());
}

/// With `centre_stamps`, every stamp holds the PSF centred on its source: the centroid at
/// the stamp centre within 0.01 oversampled pixel (uncentred, these offsets put it 4 to 8
/// pixels away), and, the pupil being a circle, every stamp the same PSF (1e-6 of the
/// peak: the transforms run in single precision by default, rounding near 1e-7). Without it, `merge --format webbpsf` refuses in one line, exit 2.
#[test]
fn centred_stamps_follow_their_sources() {
    let d = tempfile::tempdir().unwrap();
    let scene = d.path().join("lattice.toml");
    std::fs::write(&scene, LATTICE).unwrap();
    let out = d.path().join("out");
    ok(bin().arg("grid").arg(&scene).arg("--out").arg(&out).arg("-q").output().unwrap());
    let cube = d.path().join("cube.fits");
    ok(merge(&out, &cube));
    let first = diffract::io::read_image_slice(&cube, 0, 0).unwrap().data;
    let peak = first.iter().copied().fold(0.0, f64::max);
    for i in 0..4 {
        let stamp = diffract::io::read_image_slice(&cube, 0, i).unwrap().data;
        let (x, y) = diffract::measure::fw_centroid(&stamp, 10).unwrap();
        assert!((x - 23.5).abs() < 0.01 && (y - 23.5).abs() < 0.01, "stamp {i}: ({x}, {y})");
        let d = (&stamp - &first).iter().map(|v| v.abs()).fold(0.0, f64::max);
        assert!(d <= 1e-6 * peak, "stamp {i}: {d:e}");
    }

    let scene = d.path().join("uncentred.toml");
    std::fs::write(&scene, LATTICE.replace("centre_stamps = true\n", "")).unwrap();
    let out = d.path().join("uncentred");
    ok(bin().arg("grid").arg(&scene).arg("--out").arg(&out).arg("-q").output().unwrap());
    let uncentred = diffract::io::read_image_slice(
        &{
            ok(merge(&out, &d.path().join("u.fits")));
            d.path().join("u.fits")
        },
        0,
        0,
    )
    .unwrap()
    .data;
    let (x, y) = diffract::measure::fw_centroid(&uncentred, 10).unwrap();
    assert!((x - 23.5).abs() > 3.0 && (y - 23.5).abs() > 3.0, "({x}, {y})");
    let o = merge_webbpsf(&out, &d.path().join("webbpsf.fits"));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("centre_stamps = true"), "{err}");
    assert!(!d.path().join("webbpsf.fits").exists());
}
