//! Ready-made optical systems for diffract: a few parameters in, an
//! [`OpticalSystem`](diffract_propagation::OpticalSystem) out.
//!
//! | system | what it is |
//! | --- | --- |
//! | [`DirectImaging`] | a [`Telescope`] pupil, optional Zernike wavefront error, a detector |
//! | [`CoronagraphInstrument`] | a telescope, a [`CoronagraphMask`] (Lyot spot, band-limited mask or four-quadrant phase mask), a Lyot stop |
//! | [`NonRedundantMask`] | circular holes picked from a hexagonal grid (aperture masking interferometry) |
//! | [`SlitSpectrograph`] | a telescope, a slit in the focal plane, a pupil stop |
//!
//! Each takes a [`Camera`]: the detector and the sampling.
//!
//! ```
//! use diffract_instruments::{Camera, DirectImaging, Telescope};
//! use diffract_propagation::{ComputeOptions, Source};
//!
//! let camera = Camera::new(0.04, 2.0).with_sampling(128, 2);
//! let imaging = DirectImaging::new(Telescope::Circular { diameter_m: 2.4 }, camera);
//! let psf = imaging.psf(&Source::monochromatic(0.8e-6).unwrap(), &ComputeOptions::default()).unwrap();
//! assert_eq!(psf.image.dim(), (100, 100));
//! ```

mod camera;
mod coronagraph;
mod imaging;
mod masking;
mod slit;

pub use camera::Camera;
pub use coronagraph::{CoronagraphInstrument, CoronagraphMask};
pub use imaging::{DirectImaging, Telescope};
pub use masking::NonRedundantMask;
pub use slit::SlitSpectrograph;
