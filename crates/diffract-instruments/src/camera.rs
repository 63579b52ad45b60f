//! The detector and sampling shared by every ready-made system.

use diffract_propagation::{Detector, OpticalSystem, PropagationError};

/// A detector (pixel scale, square field) and the sampling of the calculation (pupil pixels,
/// oversampling).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Camera {
    /// Detector pixel scale, arcsec.
    pub pixelscale_arcsec: f64,
    /// Square field of view, arcsec.
    pub fov_arcsec: f64,
    /// Pupil samples across (1024 by default, as POPPY).
    pub npix: usize,
    /// Detector oversampling and FFT zero-padding (2 by default).
    pub oversample: usize,
}

impl Camera {
    /// A detector of `pixelscale_arcsec` over `fov_arcsec`, with POPPY's default sampling.
    pub fn new(pixelscale_arcsec: f64, fov_arcsec: f64) -> Self {
        Camera { pixelscale_arcsec, fov_arcsec, npix: 1024, oversample: 2 }
    }

    /// Sets the pupil sampling and the oversampling.
    pub fn with_sampling(mut self, npix: usize, oversample: usize) -> Self {
        self.npix = npix;
        self.oversample = oversample;
        self
    }

    /// An empty system with this camera's sampling.
    pub(crate) fn system(&self, name: &str) -> OpticalSystem {
        OpticalSystem::new(name, self.npix, self.oversample)
    }

    /// Adds the detector to `system`.
    pub(crate) fn finish(
        &self,
        mut system: OpticalSystem,
    ) -> Result<OpticalSystem, PropagationError> {
        system.set_detector(Detector::with_fov_arcsec(self.pixelscale_arcsec, self.fov_arcsec)?);
        Ok(system)
    }
}
