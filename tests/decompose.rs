//! `diffract decompose` against POPPY 1.1.2: the coefficients POPPY fitted to the OPDs of
//! tests/data/wfe/wfe_reference.fits (tests/data/wfe/make_wfe_reference.py), to relative
//! L2 1e-4; and one clear line for bad input.

use diffract::io::{read_image, write_image};
use std::path::{Path, PathBuf};
use std::process::Command;

fn reference(hdu: usize) -> ndarray::Array2<f64> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/wfe/wfe_reference.fits");
    read_image(&path, hdu).unwrap().data
}

fn decompose(args: &[&str]) -> (i32, String, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_diffract")).arg("decompose").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn coefficients(json: &str) -> Vec<f64> {
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    v["coefficients_m"].as_array().unwrap().iter().map(|c| c.as_f64().unwrap()).collect()
}

fn relative_l2(ours: &[f64], reference: &[f64]) -> f64 {
    assert_eq!(ours.len(), reference.len());
    let diff: f64 = ours.iter().zip(reference).map(|(a, b)| (a - b).powi(2)).sum();
    (diff / reference.iter().map(|b| b * b).sum::<f64>()).sqrt()
}

fn write(dir: &Path, name: &str, data: &ndarray::Array2<f64>) -> String {
    let path = dir.join(name);
    write_image(&path, data, &[], false).unwrap();
    path.to_str().unwrap().to_string()
}

/// Zernikes on an obscured disc (POPPY's decompose_opd_nonorthonormal_basis, HDU FIT_ITER)
/// and hexikes over their hexagon (POPPY's decompose_opd with hexike_basis, HDU HEX_PROJ).
#[test]
fn coefficients_match_poppy() {
    let dir = tempfile::tempdir().unwrap();
    let opd = write(dir.path(), "opd.fits", &reference(6));
    let ap = write(dir.path(), "ap.fits", &reference(7));
    let (code, out, err) =
        decompose(&[&opd, "--basis", "zernike", "--nterms", "10", "--aperture", &ap, "--json"]);
    assert_eq!(code, 0, "{err}");
    let want = reference(9);
    let e = relative_l2(&coefficients(&out), want.as_slice().unwrap());
    assert!(e <= 1e-4, "zernike: relative L2 {e:e}");

    let hex = reference(10);
    let support = hex.mapv(|v| if v != 0.0 { 1.0 } else { 0.0 });
    let opd = write(dir.path(), "hex.fits", &hex);
    let ap = write(dir.path(), "hexap.fits", &support);
    let (code, out, err) =
        decompose(&[&opd, "--basis", "hexike", "--nterms", "10", "--aperture", &ap, "--json"]);
    assert_eq!(code, 0, "{err}");
    let want = reference(11);
    let e = relative_l2(&coefficients(&out), want.as_slice().unwrap());
    assert!(e <= 1e-4, "hexike: relative L2 {e:e}");

    // The text form lists one line per term after a header.
    let (code, out, _) =
        decompose(&[&opd, "--basis", "hexike", "--nterms", "4", "--aperture", &ap]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 5, "{out}");
}

#[test]
fn bad_input_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let opd = write(dir.path(), "opd.fits", &reference(6));
    let rect = write(dir.path(), "rect.fits", &ndarray::Array2::ones((4, 6)));
    for (args, needle) in [
        (vec![opd.as_str(), "--basis", "fourier"], "--basis fourier is invalid"),
        (vec![opd.as_str(), "--nterms", "0"], "--nterms 0 is invalid"),
        (vec![rect.as_str()], "a square array is needed"),
        (vec![opd.as_str(), "--aperture", rect.as_str()], "the aperture is 6 x 4 pixels"),
        (vec!["missing.fits"], "missing.fits"),
    ] {
        let (code, out, err) = decompose(&args);
        assert_eq!(code, 2, "{args:?}: {out} {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
