//! Control loops: a plan whose pupil optic is updated (`PsfPlan::update_dm`,
//! `PsfPlan::update_optic`) gives the PSF of a new plan of the updated system: bit for bit
//! after `update_optic` and for mirrors `update_dm` cannot follow by the change alone
//! (tolerance 0: the same optics are folded in the same order and the same steps run);
//! within 1e-12 relative L2 where `update_dm`'s next PSF adds the transform of the change
//! to the last one (a mirror in the step feeding the detector), which differs by rounding.

use diffract::optics::{
    CircularAperture, CircularOcculter, ContinuousDeformableMirror, PupilOptic, ZernikeWfe,
};
use diffract::propagation::{ComputeOptions, Detector, OpticalSystem, Plane, PsfPlan, Source};
use std::sync::Arc;

/// A deterministic sequence of actuator pokes (a linear congruential generator).
struct Pokes(u64);

impl Pokes {
    fn next(&mut self, dm: &mut ContinuousDeformableMirror) {
        let mut draw = || {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            self.0 >> 33
        };
        let (rows, cols) = dm.dm_shape();
        let (r, c) = (draw() as usize % rows, draw() as usize % cols);
        let v = (draw() as f64 / (1u64 << 31) as f64 - 0.5) * 200e-9;
        dm.set_actuator(r, c, v).unwrap();
    }
}

/// `planes` (the DM at `dm_plane`) with a detector, as a system.
fn system(planes: &[Plane], oversample: usize) -> OpticalSystem {
    let mut s = OpticalSystem::new("loop", 64, oversample);
    for p in planes {
        s.add_plane(p.clone());
    }
    s.set_detector(Detector::with_fov_pixels(0.08, 24).unwrap());
    s
}

fn rel_l2(a: &ndarray::Array2<f64>, b: &ndarray::Array2<f64>) -> f64 {
    let d: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    (d / b.iter().map(|y| y * y).sum::<f64>()).sqrt()
}

/// Updates the DM of `planes[dm_plane]` a few times, by `update_dm` and by `update_optic`,
/// and compares each PSF with a new plan's: bit for bit, or within 1e-12 relative L2 for
/// `update_dm` when the mirror is in the step feeding the detector (`follows_changes`).
fn check(
    mut planes: Vec<Plane>,
    dm_plane: usize,
    oversample: usize,
    by_plane: bool,
    follows_changes: bool,
) {
    let Plane::Pupil(_) = &planes[dm_plane] else { panic!("not a pupil plane") };
    let mut dm = ContinuousDeformableMirror::new(8, 8, None, 1.0).unwrap();
    planes[dm_plane] = Plane::Pupil(Arc::new(dm.clone()));
    let make = |planes: &[Plane]| {
        let s = system(planes, oversample);
        if by_plane {
            PsfPlan::new_plane_by_plane(&s).unwrap()
        } else {
            PsfPlan::new(&s).unwrap()
        }
    };
    let source = Source::monochromatic(1.1e-6).unwrap().with_offset(0.02, 40.0).unwrap();
    let opts = ComputeOptions::default();
    let mut fast = make(&planes);
    let mut generic = make(&planes);
    let mut pokes = Pokes(7);
    for update in 0..4 {
        for _ in 0..3 {
            pokes.next(&mut dm);
        }
        fast.update_dm(dm_plane, &dm).unwrap();
        generic.update_optic(dm_plane, Arc::new(dm.clone())).unwrap();
        planes[dm_plane] = Plane::Pupil(Arc::new(dm.clone()));
        let fresh = make(&planes);
        let want = fresh.compute(&source, &opts).unwrap();
        for (name, plan) in [("update_dm", &fast), ("update_optic", &generic)] {
            let got = plan.compute(&source, &opts).unwrap();
            if name == "update_dm" && follows_changes {
                let err = rel_l2(&got.image, &want.image);
                assert!(err <= 1e-12, "{name}, update {update}, plane {dm_plane}: {err:e}");
            } else {
                assert_eq!(got.image, want.image, "{name}, update {update}, plane {dm_plane}");
            }
            assert_eq!(plan.transmission(), fresh.transmission(), "{name}");
            assert_eq!(plan.opd(), fresh.opd(), "{name}");
        }
    }
}

fn aperture() -> Plane {
    Plane::Pupil(Arc::new(CircularAperture::new(1.0).unwrap()))
}

fn zernike() -> Plane {
    Plane::Pupil(Arc::new(ZernikeWfe::new(1.0, vec![0.0, 0.0, 0.0, 40e-9, -25e-9]).unwrap()))
}

/// The example's layout: an aperture, then the mirror (one merged step).
#[test]
fn a_mirror_behind_an_aperture() {
    check(vec![aperture(), aperture()], 1, 2, false, true);
}

/// The mirror between other optics of its step (folded before and after it), and first
/// (the normalisation follows its transmission).
#[test]
fn a_mirror_among_other_optics_and_first() {
    check(vec![aperture(), aperture(), zernike(), zernike()], 1, 2, false, true);
    check(vec![aperture(), zernike()], 0, 1, false, true);
    check(vec![aperture(), zernike(), aperture()], 1, 2, true, false);
}

/// After an image plane (sampled on the zero-padded grid, then cut) and before it.
#[test]
fn a_mirror_in_a_coronagraph() {
    let occulter = Plane::Image(Arc::new(CircularOcculter::new(0.15).unwrap()));
    let lyot = Plane::Pupil(Arc::new(CircularAperture::new(0.9).unwrap()));
    let planes = vec![aperture(), zernike(), occulter, aperture(), lyot];
    check(planes.clone(), 3, 2, false, false);
    check(planes, 1, 2, false, false);
}

/// Planes that cannot be updated, and first optics that would change the grid.
#[test]
fn bad_updates_are_refused() {
    let occulter = Plane::Image(Arc::new(CircularOcculter::new(0.15).unwrap()));
    let mut plan = system(&[aperture(), occulter, aperture()], 2).plan().unwrap();
    let dm = ContinuousDeformableMirror::new(8, 8, None, 1.0).unwrap();
    for index in [1, 3] {
        let e = plan.update_dm(index, &dm).unwrap_err().to_string();
        assert!(e.contains("must be a pupil plane of the plan"), "{e}");
    }
    let bigger: Arc<dyn PupilOptic> = Arc::new(CircularAperture::new(2.0).unwrap());
    let e = plan.update_optic(0, bigger).unwrap_err().to_string();
    assert!(e.contains("would change the pupil's size"), "{e}");
    // The plan still works, unchanged.
    let source = Source::monochromatic(1e-6).unwrap();
    let opts = ComputeOptions::default();
    let fresh = system(
        &[aperture(), Plane::Image(Arc::new(CircularOcculter::new(0.15).unwrap())), aperture()],
        2,
    )
    .plan()
    .unwrap();
    assert_eq!(
        plan.compute(&source, &opts).unwrap().image,
        fresh.compute(&source, &opts).unwrap().image
    );
}
