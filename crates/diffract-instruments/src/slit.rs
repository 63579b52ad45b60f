//! A slit spectrograph's entrance: a slit in the focal plane, then a pupil stop.

use crate::{Camera, Telescope};
use diffract_optics::{CircularAperture, RectangularFieldStop};
use diffract_propagation::{ComputeOptions, OpticalSystem, PropagationError, Psf, Source};

/// A telescope, a rectangular slit in its focal plane, a circular pupil stop, and a detector
/// (dispersion is not modelled: the PSF is the slit-filtered image at each wavelength).
#[derive(Clone, Debug, PartialEq)]
pub struct SlitSpectrograph {
    /// The entrance pupil.
    pub telescope: Telescope,
    /// Slit width (along X before rotation), arcsec.
    pub slit_width_arcsec: f64,
    /// Slit length (along Y before rotation), arcsec.
    pub slit_height_arcsec: f64,
    /// Slit rotation, degrees counter-clockwise.
    pub slit_rotation_deg: f64,
    /// Diameter of the circular pupil stop after the slit, metres.
    pub pupil_stop_diameter_m: f64,
    /// Detector and sampling.
    pub camera: Camera,
}

impl SlitSpectrograph {
    /// A slit of `width_arcsec x height_arcsec` followed by a pupil stop.
    pub fn new(
        telescope: Telescope,
        width_arcsec: f64,
        height_arcsec: f64,
        pupil_stop_diameter_m: f64,
        camera: Camera,
    ) -> Self {
        SlitSpectrograph {
            telescope,
            slit_width_arcsec: width_arcsec,
            slit_height_arcsec: height_arcsec,
            slit_rotation_deg: 0.0,
            pupil_stop_diameter_m,
            camera,
        }
    }

    /// The optical system.
    ///
    /// # Errors
    ///
    /// [`PropagationError`] for invalid parameters.
    pub fn system(&self) -> Result<OpticalSystem, PropagationError> {
        let mut system = self.camera.system("slit");
        self.telescope.add_to(&mut system)?;
        system.add_image(RectangularFieldStop::new(
            self.slit_width_arcsec,
            self.slit_height_arcsec,
            self.slit_rotation_deg,
        )?);
        system.add_pupil(CircularAperture::new(self.pupil_stop_diameter_m / 2.0)?);
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
