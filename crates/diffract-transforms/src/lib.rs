//! Fourier transforms for diffract: a 2-D FFT and the matrix Fourier transform (MFT), both
//! with POPPY's centring, sign and normalisation conventions.
//!
//! Backends are compiled in by Cargo feature and picked at run time with [`FftBackend`] and
//! [`GemmBackend`]; the pure-Rust ones (`rustfft`, `gemm`, `matrixmultiply`) are always
//! built. Plans are made once and executed many times: [`Fft2d`] holds FFT plans, [`MftPlan`]
//! the DFT matrices, and [`MftCache`] shares MFT plans between calls with the same geometry.
//!
//! ```
//! use diffract_transforms::{GemmBackend, MftDirection, MftGeometry, MftPlan};
//! use diffract_parallel::Par;
//! use ndarray::Array2;
//! use num_complex::Complex64;
//!
//! // A uniformly filled 32x32 pupil imaged onto 16x16 pixels spanning 8 lambda/D.
//! let pupil = Array2::from_elem((32, 32), Complex64::new(1.0 / 32.0, 0.0));
//! let geometry = MftGeometry::square(32, 8.0, 16, MftDirection::Forward);
//! let plan = MftPlan::<f64>::new(&geometry).unwrap();
//! let image = plan.apply(pupil.view(), GemmBackend::Gemm, Par::Seq).unwrap();
//! assert_eq!(image.dim(), (16, 16));
//! ```

// Links the system OpenBLAS behind the CBLAS declarations.
#[cfg(feature = "blas")]
extern crate blas_src;

mod backend;
mod error;
mod fft;
mod gemm_backend;
mod mft;
mod real;

pub use backend::{FftBackend, GemmBackend};
pub use error::TransformError;
pub use fft::{Fft2d, FftDirection};
pub use gemm_backend::{complex_matmul, real_matmul};
pub use mft::{MftCache, MftDirection, MftGeometry, MftPlan, MftProducts, MftScratch};
pub use real::Real;
