//! Direct imaging: a telescope pupil, optional wavefront error, and a detector.

use crate::Camera;
use diffract_optics::{CircularAperture, MultiHexagonAperture, SecondaryObscuration, ZernikeWfe};
use diffract_propagation::{ComputeOptions, OpticalSystem, PropagationError, Psf, Source};

/// A telescope's entrance pupil.
#[derive(Clone, Debug, PartialEq)]
pub enum Telescope {
    /// An unobscured circular pupil.
    Circular {
        /// Diameter, metres.
        diameter_m: f64,
    },
    /// A circular pupil with a central obscuration held by spiders.
    Obscured {
        /// Diameter, metres.
        diameter_m: f64,
        /// Radius of the secondary obscuration, metres.
        secondary_radius_m: f64,
        /// Number of spiders.
        n_supports: usize,
        /// Spider width, metres.
        support_width_m: f64,
    },
    /// Hexagonal segments (without the centre one) and a secondary with spiders, like JWST.
    Segmented {
        /// Rings of segments around the (absent) centre segment.
        rings: usize,
        /// Segment size across the flats, metres.
        flattoflat_m: f64,
        /// Gap between segments, metres.
        gap_m: f64,
        /// Radius of the secondary obscuration, metres.
        secondary_radius_m: f64,
        /// Number of spiders.
        n_supports: usize,
        /// Spider width, metres.
        support_width_m: f64,
    },
}

impl Telescope {
    /// A 6.5 m telescope of 18 hexagonal 1.32 m segments with a three-spider secondary
    /// (JWST-like proportions).
    pub fn segmented_6p5m() -> Self {
        Telescope::Segmented {
            rings: 2,
            flattoflat_m: 1.32,
            gap_m: 0.007,
            secondary_radius_m: 0.37,
            n_supports: 3,
            support_width_m: 0.08,
        }
    }

    /// Appends the telescope's pupil optics to `system`.
    ///
    /// # Errors
    ///
    /// [`PropagationError`] for invalid dimensions.
    pub fn add_to(&self, system: &mut OpticalSystem) -> Result<(), PropagationError> {
        match *self {
            Telescope::Circular { diameter_m } => {
                system.add_pupil(CircularAperture::new(diameter_m / 2.0)?);
            }
            Telescope::Obscured { diameter_m, secondary_radius_m, n_supports, support_width_m } => {
                system.add_pupil(CircularAperture::new(diameter_m / 2.0)?);
                system.add_pupil(SecondaryObscuration::new(
                    secondary_radius_m,
                    n_supports,
                    support_width_m,
                    0.0,
                )?);
            }
            Telescope::Segmented {
                rings,
                flattoflat_m,
                gap_m,
                secondary_radius_m,
                n_supports,
                support_width_m,
            } => {
                system.add_pupil(MultiHexagonAperture::new(
                    rings,
                    flattoflat_m,
                    gap_m,
                    false,
                    None,
                )?);
                system.add_pupil(SecondaryObscuration::new(
                    secondary_radius_m,
                    n_supports,
                    support_width_m,
                    0.0,
                )?);
            }
        }
        Ok(())
    }
}

/// A telescope imaging onto a detector.
#[derive(Clone, Debug, PartialEq)]
pub struct DirectImaging {
    /// The entrance pupil.
    pub telescope: Telescope,
    /// Zernike wavefront error over the pupil, metres RMS in Noll order from piston.
    pub zernike_m: Vec<f64>,
    /// Detector and sampling.
    pub camera: Camera,
}

impl DirectImaging {
    /// `telescope` imaging onto `camera`.
    pub fn new(telescope: Telescope, camera: Camera) -> Self {
        DirectImaging { telescope, zernike_m: Vec::new(), camera }
    }

    /// The built-in default of the command line: the 6.5 m segmented telescope with 0.031"
    /// pixels over 3", a 512-pixel pupil.
    pub fn default_segmented() -> Self {
        DirectImaging::new(
            Telescope::segmented_6p5m(),
            Camera::new(0.031, 3.0).with_sampling(512, 2),
        )
    }

    /// Adds Zernike wavefront error (metres RMS, Noll order from piston) over the pupil.
    pub fn with_zernike(mut self, coefficients_m: Vec<f64>) -> Self {
        self.zernike_m = coefficients_m;
        self
    }

    /// The optical system.
    ///
    /// # Errors
    ///
    /// [`PropagationError`] for invalid parameters.
    pub fn system(&self) -> Result<OpticalSystem, PropagationError> {
        let mut system = self.camera.system("direct imaging");
        self.telescope.add_to(&mut system)?;
        if !self.zernike_m.is_empty() {
            let radius = system.pupil_diameter()? / 2.0;
            system.add_pupil(ZernikeWfe::new(radius, self.zernike_m.clone())?);
        }
        self.camera.finish(system)
    }

    /// Computes the PSF of `source`.
    ///
    /// # Errors
    ///
    /// [`PropagationError`] for invalid parameters or a computation that cannot run.
    pub fn psf(&self, source: &Source, opts: &ComputeOptions) -> Result<Psf, PropagationError> {
        self.system()?.plan()?.compute(source, opts)
    }
}
