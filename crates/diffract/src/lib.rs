//! diffract: point spread functions of telescopes and their instruments by physical-optics
//! propagation, with the same optics and the same answers as POPPY.
//!
//! This crate gathers the workspace's crates under one roof and adds what goes from a scene
//! to written files, PSF grids, measurements and (with the default `png` feature) PNG
//! pictures. The `diffract` command line is the separate `diffract-cli` crate, so this one
//! pulls in no command-line or terminal code.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`transforms`] | FFT and matrix Fourier transform backends |
//! | [`optics`] | apertures, obscurations, segmented pupils, wavefront error |
//! | [`propagation`] | optical systems, detectors, sources, PSF computation |
//! | [`instruments`] | ready-made systems (direct imaging) |
//! | [`parallel`] | worker scheduling and ordered parallel maps |
//! | [`io`] | scene files and FITS output |
//! | [`run`] | from a scene to written FITS (and PNG) files, with a JSON-ready summary |
//! | [`grid`] | PSF grids in shards, merged into cubes |
//! | [`measure`] | FWHM, encircled energy, centroid, radial profile |
//! | `picture` | PNG pictures of PSFs (feature `png`, on by default) |
//!
//! POPPY's `OpticalSystem.calc_psf` is [`propagation::PsfPlan::compute`] here: plan the
//! system once, compute as many sources as needed.
//!
//! ```
//! use diffract::optics::{CircularAperture, SecondaryObscuration};
//! use diffract::propagation::{ComputeOptions, Detector, OpticalSystem, Source};
//!
//! let mut system = OpticalSystem::new("obscured", 128, 2);
//! system.add_pupil(CircularAperture::new(1.2).unwrap());
//! system.add_pupil(SecondaryObscuration::new(0.3, 4, 0.02, 0.0).unwrap());
//! system.set_detector(Detector::with_fov_pixels(0.05, 40).unwrap());
//! let source = Source::new(vec![0.9e-6, 1.0e-6, 1.1e-6], None).unwrap();
//! let psf = system.plan().unwrap().compute(&source, &ComputeOptions::default()).unwrap();
//! assert_eq!(psf.detector_sampled().dim(), (40, 40));
//! ```

pub use diffract_instruments as instruments;
pub use diffract_io as io;
pub use diffract_optics as optics;
pub use diffract_parallel as parallel;
pub use diffract_propagation as propagation;
pub use diffract_transforms as transforms;

pub mod grid;
pub mod measure;
#[cfg(feature = "png")]
pub mod picture;
pub mod run;
