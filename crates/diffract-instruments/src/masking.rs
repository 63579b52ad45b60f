//! Non-redundant aperture masks: circular holes picked from a hexagonal grid.

use crate::Camera;
use diffract_optics::MultiCircularAperture;
use diffract_propagation::{ComputeOptions, OpticalSystem, PropagationError, Psf, Source};

/// A mask of circular holes on a hexagonal grid of `rings` rings, numbered as POPPY's
/// segments (0 at the centre, 1 straight above, clockwise ring by ring).
#[derive(Clone, Debug, PartialEq)]
pub struct NonRedundantMask {
    /// Rings of the grid the holes are picked from.
    pub rings: usize,
    /// Hole radius, metres.
    pub hole_radius_m: f64,
    /// Gap between neighbouring grid positions, metres (pitch = 2 radius + gap).
    pub gap_m: f64,
    /// The holes present.
    pub holes: Vec<usize>,
    /// Detector and sampling.
    pub camera: Camera,
}

impl NonRedundantMask {
    /// Seven holes of 0.35 m radius at a 1.3 m pitch from a two-ring grid (positions 1, 2, 8,
    /// 11, 13, 15 and 17, avoiding the centre), chosen so that no two pairs share a baseline:
    /// all 21 baselines differ.
    pub fn seven_holes(camera: Camera) -> Self {
        NonRedundantMask {
            rings: 2,
            hole_radius_m: 0.35,
            gap_m: 0.6,
            holes: vec![1, 2, 8, 11, 13, 15, 17],
            camera,
        }
    }

    /// The baselines between every pair of holes, `(dx, dy)` in metres.
    ///
    /// # Errors
    ///
    /// [`PropagationError`] for invalid mask parameters.
    pub fn baselines(&self) -> Result<Vec<(f64, f64)>, PropagationError> {
        let mask = self.aperture()?;
        let c: Vec<(f64, f64)> = self.holes.iter().map(|&h| mask.layout().center(h)).collect();
        let mut out = Vec::new();
        for i in 0..c.len() {
            for j in i + 1..c.len() {
                out.push((c[j].0 - c[i].0, c[j].1 - c[i].1));
            }
        }
        Ok(out)
    }

    fn aperture(&self) -> Result<MultiCircularAperture, PropagationError> {
        Ok(MultiCircularAperture::new(
            self.rings,
            self.hole_radius_m,
            self.gap_m,
            true,
            Some(self.holes.clone()),
        )?)
    }

    /// The optical system.
    ///
    /// # Errors
    ///
    /// [`PropagationError`] for invalid parameters.
    pub fn system(&self) -> Result<OpticalSystem, PropagationError> {
        let mut system = self.camera.system("non-redundant mask");
        system.add_pupil(self.aperture()?);
        self.camera.finish(system)
    }

    /// Computes the PSF (the interferogram) of `source`.
    ///
    /// # Errors
    ///
    /// [`PropagationError`] for invalid parameters or a computation that cannot run.
    pub fn psf(&self, source: &Source, opts: &ComputeOptions) -> Result<Psf, PropagationError> {
        self.system()?.plan()?.compute(source, opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: the definition of non-redundancy; no two hole pairs share a baseline
    /// (to 1 mm), so the 21 baselines are distinct.
    #[test]
    fn the_seven_hole_preset_is_non_redundant() {
        let b = NonRedundantMask::seven_holes(Camera::new(0.065, 5.0)).baselines().unwrap();
        assert_eq!(b.len(), 21);
        for i in 0..b.len() {
            for j in 0..i {
                let same = (b[i].0 - b[j].0).hypot(b[i].1 - b[j].1) < 1e-3;
                let opposite = (b[i].0 + b[j].0).hypot(b[i].1 + b[j].1) < 1e-3;
                assert!(!same && !opposite, "baselines {i} and {j} coincide");
            }
        }
    }
}
