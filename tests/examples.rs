//! The example scenes (crates/diffract/examples/scenes) describe the same systems as the
//! ready-made instruments the examples build: each pair gives the same PSF (tolerance 1e-12
//! of the peak; the same operations run in the same order).

use diffract::instruments::{
    Camera, CoronagraphInstrument, CoronagraphMask, DirectImaging, NonRedundantMask,
    SlitSpectrograph, Telescope,
};
use diffract::io::Scene;
use diffract::optics::BandLimitedProfile;
use diffract::propagation::{ComputeOptions, Coronagraph, OpticalSystem};
use std::path::Path;

fn check(scene_name: &str, system: OpticalSystem) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/scenes")
        .join(format!("{scene_name}.toml"));
    let scene = Scene::from_file(&path).unwrap();
    let opts = ComputeOptions::default();
    let from_scene = scene.system.plan().unwrap().compute(&scene.source, &opts).unwrap();
    let from_rust = system.plan().unwrap().compute(&scene.source, &opts).unwrap();
    assert_eq!(from_scene.image.dim(), from_rust.image.dim(), "{scene_name}");
    let peak = from_scene.image.iter().copied().fold(0.0, f64::max);
    let d = from_scene
        .image
        .iter()
        .zip(&from_rust.image)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(d <= 1e-12 * peak, "{scene_name}: {d:e}");
}

const D: f64 = 6.5;

#[test]
fn direct_imaging() {
    let t = Telescope::Obscured {
        diameter_m: 2.4,
        secondary_radius_m: 0.3,
        n_supports: 4,
        support_width_m: 0.025,
    };
    let i = DirectImaging::new(t, Camera::new(0.025, 2.0).with_sampling(256, 2))
        .with_zernike(vec![0.0, 0.0, 0.0, 30e-9, 15e-9, -10e-9]);
    check("direct_imaging", i.system().unwrap());
}

#[test]
fn lyot_coronagraph() {
    let c = CoronagraphInstrument::new(
        Telescope::Circular { diameter_m: D },
        CoronagraphMask::LyotSpot { radius_arcsec: 0.4 },
        6.0,
        Camera::new(0.031, 3.0).with_sampling(256, 4),
    )
    .with_method(Coronagraph::SemiAnalytic { occulter_box_arcsec: 0.5, oversample: 8 });
    check("lyot_coronagraph", c.system().unwrap());
}

#[test]
fn band_limited_coronagraph() {
    let mask = CoronagraphMask::BandLimited { profile: BandLimitedProfile::Circular, sigma: 5.253 };
    let c = CoronagraphInstrument::new(
        Telescope::Circular { diameter_m: D },
        mask,
        5.8,
        Camera::new(0.031, 3.0).with_sampling(256, 4),
    );
    check("band_limited_coronagraph", c.system().unwrap());
}

#[test]
fn fqpm_coronagraph() {
    let mask = CoronagraphMask::FourQuadrant { wavelength_m: 10.65e-6, field_stop_arcsec: 24.0 };
    let c = CoronagraphInstrument::new(
        Telescope::Circular { diameter_m: D },
        mask,
        6.0,
        Camera::new(0.11, 8.0).with_sampling(128, 4),
    );
    check("fqpm_coronagraph", c.system().unwrap());
}

#[test]
fn aperture_masking() {
    check(
        "aperture_masking",
        NonRedundantMask::seven_holes(Camera::new(0.065, 5.0).with_sampling(256, 2))
            .system()
            .unwrap(),
    );
}

#[test]
fn slit() {
    let s = SlitSpectrograph::new(
        Telescope::Circular { diameter_m: D },
        0.2,
        3.0,
        6.0,
        Camera::new(0.1, 3.0).with_sampling(256, 4),
    );
    check("slit", s.system().unwrap());
}
