//! Coronagraphs: a telescope, a focal-plane mask, a Lyot stop.

use crate::{Camera, Telescope};
use diffract_optics::{
    BandLimitedCoronagraph, BandLimitedProfile, CircularAperture, CircularOcculter, IdealFqpm,
    RectangularFieldStop,
};
use diffract_propagation::{
    AlignerDirection, ComputeOptions, Coronagraph, OpticalSystem, Plane, PropagationError, Psf,
    Source,
};

/// The focal-plane mask of a coronagraph.
#[derive(Clone, Debug, PartialEq)]
pub enum CoronagraphMask {
    /// A classical Lyot coronagraph: an opaque spot.
    LyotSpot {
        /// Radius of the spot, arcsec.
        radius_arcsec: f64,
    },
    /// A band-limited mask (NIRCam-like).
    BandLimited {
        /// Circular or linear profile.
        profile: BandLimitedProfile,
        /// Scale of the profile, 1/arcsec.
        sigma: f64,
    },
    /// An ideal four-quadrant phase mask with the FFT aligners that centre the PSF on its
    /// crosshair, inside a square field stop (MIRI-like).
    FourQuadrant {
        /// Wavelength at which the phase step is exactly pi, metres.
        wavelength_m: f64,
        /// Side of the square field stop, arcsec.
        field_stop_arcsec: f64,
    },
}

/// A coronagraph: telescope, focal-plane mask, circular Lyot stop, detector.
#[derive(Clone, Debug, PartialEq)]
pub struct CoronagraphInstrument {
    /// The entrance pupil.
    pub telescope: Telescope,
    /// The focal-plane mask.
    pub mask: CoronagraphMask,
    /// Diameter of the circular Lyot stop, metres.
    pub lyot_stop_diameter_m: f64,
    /// Detector and sampling.
    pub camera: Camera,
    /// A special propagation (`None`: zero-padded FFTs).
    pub method: Option<Coronagraph>,
}

impl CoronagraphInstrument {
    /// A coronagraph with `mask` and a Lyot stop of `lyot_stop_diameter_m`.
    pub fn new(
        telescope: Telescope,
        mask: CoronagraphMask,
        lyot_stop_diameter_m: f64,
        camera: Camera,
    ) -> Self {
        CoronagraphInstrument { telescope, mask, lyot_stop_diameter_m, camera, method: None }
    }

    /// Uses the semi-analytic (Lyot spot) or matrix-FT propagation instead of FFTs.
    pub fn with_method(mut self, method: Coronagraph) -> Self {
        self.method = Some(method);
        self
    }

    /// The optical system.
    ///
    /// # Errors
    ///
    /// [`PropagationError`] for invalid parameters or a method the mask cannot use.
    pub fn system(&self) -> Result<OpticalSystem, PropagationError> {
        let mut system = self.camera.system("coronagraph");
        self.telescope.add_to(&mut system)?;
        match self.mask {
            CoronagraphMask::LyotSpot { radius_arcsec } => {
                system.add_image(CircularOcculter::new(radius_arcsec)?);
            }
            CoronagraphMask::BandLimited { profile, sigma } => {
                system.add_image(BandLimitedCoronagraph::new(profile, sigma)?);
            }
            CoronagraphMask::FourQuadrant { wavelength_m, field_stop_arcsec } => {
                system.add_plane(Plane::FqpmAligner(AlignerDirection::Forward));
                system.add_image(IdealFqpm::new(wavelength_m)?);
                system.add_image(RectangularFieldStop::square(field_stop_arcsec, 0.0)?);
                system.add_plane(Plane::FqpmAligner(AlignerDirection::Backward));
            }
        }
        system.add_pupil(CircularAperture::new(self.lyot_stop_diameter_m / 2.0)?);
        if let Some(method) = self.method {
            system.set_coronagraph(method);
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
