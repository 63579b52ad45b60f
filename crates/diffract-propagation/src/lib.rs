//! Optical systems and Fraunhofer propagation for diffract.
//!
//! An [`OpticalSystem`] is an ordered list of pupil-plane optics and a [`Detector`]. A
//! [`PsfPlan`] samples the optics once (their transmission and OPD do not depend on
//! wavelength), then computes monochromatic PSFs by matrix Fourier transform and sums them
//! with normalised weights into a polychromatic [`Psf`]. Normalisation is POPPY's "first" by
//! default: the field after the first optic carries unit total intensity, so the PSF sums to
//! the fraction of light that reaches the detector field ([`Normalization`] for the others).
//!
//! ```
//! use diffract_optics::CircularAperture;
//! use diffract_propagation::{ComputeOptions, Detector, OpticalSystem, Source};
//!
//! let mut system = OpticalSystem::new("airy", 128, 2);
//! system.add_pupil(CircularAperture::new(1.0).unwrap());
//! system.set_detector(Detector::with_fov_arcsec(0.02, 1.0).unwrap());
//! let source = Source::monochromatic(1e-6).unwrap();
//! let psf = system.plan().unwrap().compute(&source, &ComputeOptions::default()).unwrap();
//! assert_eq!(psf.image.dim(), (100, 100));
//! assert!(psf.image.sum() > 0.9 && psf.image.sum() < 1.0);
//! ```

mod detector;
mod error;
mod field;
mod fresnel;
mod jitter;
mod phasor;
mod plan;
mod psf;
mod source;
mod step;
mod steps;
mod system;
mod wavefront;

pub use detector::{Detector, Fov};
pub use error::PropagationError;
pub use fresnel::{FresnelDetector, FresnelElement, FresnelPlan, FresnelSystem, MAX_FRESNEL_NPIX};
pub use jitter::gaussian_blur;
pub use plan::{ComputeOptions, PlaneImage, Precision, Progress, PsfPlan, AUTO_BOUND};
pub use psf::{bin_by, FresnelOutput, Psf};
pub use source::Source;
pub use step::{Exec, Scratch, Step, StepMemory};
pub use system::{AlignerDirection, Coronagraph, Normalization, OpticalSystem, Plane};
pub use wavefront::{GaussianBeam, Sampling, Wavefront};

/// Arcseconds per radian (astropy's conversion).
pub const ARCSEC_PER_RAD: f64 = 180.0 * 3600.0 / std::f64::consts::PI;
