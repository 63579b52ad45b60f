//! Deformable mirrors against POPPY 1.1.2: each scene in tests/data/dm/cases reproduces
//! POPPY's PSF (tests/data/dm/expected/<case>.fits, primary HDU) and the first mirror's OPD
//! on the entrance pupil (<case>_opd.fits, POPPY's `get_opd`), both to a relative L2 error
//! |ours - POPPY|_2 / |POPPY|_2 <= 1e-4. The references were made by
//! tests/data/dm/make_dm_reference.py.

use diffract::io::{read_image, Scene};
use diffract::propagation::{ComputeOptions, Plane};
use ndarray::Array2;
use std::path::{Path, PathBuf};

/// The requirement for every reference scene (docs/parity.md).
const TOLERANCE: f64 = 1e-4;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/dm")
}

fn relative_l2(ours: &Array2<f64>, reference: &Array2<f64>) -> f64 {
    assert_eq!(ours.dim(), reference.dim(), "shape");
    let diff: f64 = ours.iter().zip(reference).map(|(a, b)| (a - b).powi(2)).sum();
    let norm: f64 = reference.iter().map(|b| b * b).sum();
    assert!(norm > 0.0, "an all-zero reference cannot test anything");
    (diff / norm).sqrt()
}

fn check(stem: &str) {
    let scene = Scene::from_file(&data().join("cases").join(format!("{stem}.toml"))).unwrap();
    let expected = data().join("expected");

    let psf = scene.system.plan().unwrap().compute(&scene.source, &ComputeOptions::default());
    let reference = read_image(&expected.join(format!("{stem}.fits")), 0).unwrap().data;
    let err = relative_l2(&psf.unwrap().image, &reference);
    println!("{stem:<28} PSF rel L2 {err:.3e}");
    assert!(err <= TOLERANCE, "{stem}: PSF relative L2 {err:e} > {TOLERANCE:e}");

    let grid = scene.system.grid().unwrap();
    let dm = scene
        .system
        .planes()
        .iter()
        .find_map(|p| match p {
            Plane::Pupil(o) if o.kind().ends_with("deformable_mirror") => Some(o.clone()),
            _ => None,
        })
        .expect("a deformable mirror in the scene");
    let opd = dm.opd(&grid).expect("a mirror has an OPD");
    let reference = read_image(&expected.join(format!("{stem}_opd.fits")), 0).unwrap().data;
    let err = relative_l2(&opd, &reference);
    println!("{stem:<28} OPD rel L2 {err:.3e}");
    assert!(err <= TOLERANCE, "{stem}: OPD relative L2 {err:e} > {TOLERANCE:e}");
}

macro_rules! dm_parity {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            check(stringify!($name));
        }
    )*};
}

dm_parity! {
    dm_continuous_surface,
    dm_pokes_edges_corners,
    dm_nonsquare,
    hex_dm_ptt,
    hex_dm_segment_list,
    circular_dm_ptt,
}
