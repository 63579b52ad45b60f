//! Ready-made optical systems for diffract: a few parameters in, an
//! [`OpticalSystem`](diffract_propagation::OpticalSystem) out.
//!
//! [`DirectImaging`] is a telescope imaging straight onto a detector: a [`Telescope`]
//! pupil (circular, centrally obscured or segmented), optional Zernike wavefront error, and
//! a detector.
//!
//! ```
//! use diffract_instruments::{DirectImaging, Telescope};
//! use diffract_propagation::{ComputeOptions, Source};
//!
//! let imaging = DirectImaging::new(Telescope::Circular { diameter_m: 2.4 }, 0.04, 2.0)
//!     .with_sampling(128, 2);
//! let psf = imaging.psf(&Source::monochromatic(0.8e-6).unwrap(), &ComputeOptions::default()).unwrap();
//! assert_eq!(psf.image.dim(), (100, 100));
//! ```

mod imaging;

pub use imaging::{DirectImaging, Telescope};
