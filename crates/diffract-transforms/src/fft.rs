//! The 2-D FFT with POPPY's conventions.
//!
//! Pupil to image: an unnormalised positive-exponent transform (numpy's `ifft2` times N^2),
//! then `fftshift`, times `1/N`. Image to pupil: `ifftshift`, then the negative-exponent
//! transform, times `1/N`. Both are unitary. For rectangular arrays the factor is
//! `1/sqrt(rows * columns)`, which keeps them unitary (POPPY divides by the row count and
//! so supports square arrays only).

use crate::{FftBackend, Real, TransformError};
use diffract_parallel::Par;
use ndarray::{Array2, ArrayViewMut2, Axis};
use num_complex::Complex;
use rayon::prelude::*;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Which way a 2-D FFT goes, in optical terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FftDirection {
    /// Pupil to image plane (positive exponent, output `fftshift`ed).
    PupilToImage,
    /// Image to pupil plane (input `ifftshift`ed, negative exponent).
    ImageToPupil,
}

/// A planned 2-D FFT of one shape, both directions.
pub struct Fft2d<T: Real> {
    shape: (usize, usize),
    backend: FftBackend,
    rows: [Arc<dyn Fft<T>>; 2],
    cols: [Arc<dyn Fft<T>>; 2],
}

impl<T: Real> std::fmt::Debug for Fft2d<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fft2d").field("shape", &self.shape).field("backend", &self.backend).finish()
    }
}

fn dir_index(d: FftDirection) -> usize {
    match d {
        FftDirection::PupilToImage => 0,
        FftDirection::ImageToPupil => 1,
    }
}

impl<T: Real> Fft2d<T> {
    /// Plans transforms of arrays of `shape` (rows, columns) on `backend`.
    ///
    /// # Errors
    ///
    /// [`TransformError::NotCompiled`] for a backend missing from this build, and
    /// [`TransformError::Geometry`] for an empty shape.
    pub fn new(shape: (usize, usize), backend: FftBackend) -> Result<Self, TransformError> {
        backend.ensure_compiled()?;
        if shape.0 == 0 || shape.1 == 0 {
            return Err(TransformError::Geometry(format!(
                "FFT shape must be non-empty, got {shape:?}"
            )));
        }
        let mut planner = FftPlanner::<T>::new();
        let rows = [planner.plan_fft_inverse(shape.1), planner.plan_fft_forward(shape.1)];
        let cols = [planner.plan_fft_inverse(shape.0), planner.plan_fft_forward(shape.0)];
        Ok(Fft2d { shape, backend, rows, cols })
    }

    /// The planned shape.
    pub fn shape(&self) -> (usize, usize) {
        self.shape
    }

    /// Transforms `data` in place.
    ///
    /// # Errors
    ///
    /// [`TransformError::Shape`] when `data` does not have the planned shape.
    pub fn process(
        &self,
        data: &mut Array2<Complex<T>>,
        direction: FftDirection,
        par: Par,
    ) -> Result<(), TransformError> {
        if data.dim() != self.shape {
            return Err(TransformError::Shape(format!(
                "FFT planned for {:?}, given {:?}",
                self.shape,
                data.dim()
            )));
        }
        let (ny, nx) = self.shape;
        if direction == FftDirection::ImageToPupil {
            roll(data.view_mut(), -((ny / 2) as isize), -((nx / 2) as isize));
        }
        let d = dir_index(direction);
        self.transform_rows(data, &self.rows[d], par);
        let mut t = data.t().as_standard_layout().into_owned();
        self.transform_rows(&mut t, &self.cols[d], par);
        let scale = T::one() / T::of(((ny * nx) as f64).sqrt());
        data.zip_mut_with(&t.t(), |o, &v| *o = v * scale);
        if direction == FftDirection::PupilToImage {
            roll(data.view_mut(), (ny / 2) as isize, (nx / 2) as isize);
        }
        Ok(())
    }

    fn transform_rows(&self, data: &mut Array2<Complex<T>>, fft: &Arc<dyn Fft<T>>, par: Par) {
        let len = data.ncols();
        let slice = data.as_slice_mut().expect("standard layout");
        match par {
            Par::Seq => fft.process(slice),
            Par::Threads(n) => {
                let rows_per_chunk = data_rows_per_chunk(slice.len() / len, n);
                slice.par_chunks_mut(rows_per_chunk * len).for_each(|chunk| fft.process(chunk));
            }
        }
    }
}

fn data_rows_per_chunk(rows: usize, threads: usize) -> usize {
    rows.div_ceil(threads.max(1) * 4).max(1)
}

/// Circularly shifts `a` by (dy, dx): element (i, j) moves to (i + dy, j + dx) mod shape.
pub(crate) fn roll<T: Copy>(mut a: ArrayViewMut2<'_, T>, dy: isize, dx: isize) {
    let (ny, nx) = a.dim();
    let sy = dy.rem_euclid(ny.max(1) as isize) as usize;
    let sx = dx.rem_euclid(nx.max(1) as isize) as usize;
    if sx != 0 {
        for mut row in a.axis_iter_mut(Axis(0)) {
            row.as_slice_mut().expect("contiguous rows").rotate_right(sx);
        }
    }
    if sy != 0 {
        let rows: Vec<Vec<T>> = a.axis_iter(Axis(0)).map(|r| r.to_vec()).collect();
        for (i, r) in rows.into_iter().enumerate() {
            a.row_mut((i + sy) % ny).assign(&ndarray::ArrayView1::from(&r));
        }
    }
}
