//! The matrix Fourier transform (Soummer et al. 2007) with POPPY's "adjustable" centring.
//!
//! Forward (pupil to image): `F = norm * E_YV^T . A . E_XU` with `E_XU[x,u] = exp(+2 pi i X_x U_u)`;
//! inverse: the same with `exp(-2 pi i ...)`. Coordinates are
//! `X_i = (i - N/2 + 1/2 - offset) * dX`, centred at `(N-1)/2` for any parity, with
//! `dX = 1/npup`, `dU = nlamD/npix` forward and `dX = nlamD/npup`, `dU = 1/npix` inverse.
//! `norm = sqrt(nlamD_y nlamD_x / (npup_y npup_x npix_y npix_x))` in both directions.

use crate::{complex_matmul, GemmBackend, Real, TransformError};
use diffract_parallel::Par;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use num_complex::Complex;
use std::collections::HashMap;
use std::f64::consts::PI;
use std::sync::{Arc, Mutex};

/// Which way an MFT goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MftDirection {
    /// Pupil to image: positive exponent (POPPY's convention since version 1.0).
    Forward,
    /// Image to pupil: negative exponent.
    Inverse,
}

/// The geometry of one MFT. Pairs are (y, x), as in POPPY.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MftGeometry {
    /// Input array shape (rows, columns).
    pub input: (usize, usize),
    /// Width of the image-plane region in lambda/D (output forward, input inverse), where D
    /// is the full width of the pupil array.
    pub nlamd: (f64, f64),
    /// Output array shape (rows, columns).
    pub output: (usize, usize),
    /// Offset of the output centre, in output pixels (y, x).
    pub offset: (f64, f64),
    /// Forward or inverse.
    pub direction: MftDirection,
}

impl MftGeometry {
    /// A square transform with no offset.
    pub fn square(npup: usize, nlamd: f64, npix: usize, direction: MftDirection) -> Self {
        MftGeometry {
            input: (npup, npup),
            nlamd: (nlamd, nlamd),
            output: (npix, npix),
            offset: (0.0, 0.0),
            direction,
        }
    }

    fn validate(&self) -> Result<(), TransformError> {
        let sizes = [self.input.0, self.input.1, self.output.0, self.output.1];
        if sizes.contains(&0) {
            return Err(TransformError::Geometry(format!(
                "array sizes must be positive (input {:?}, output {:?})",
                self.input, self.output
            )));
        }
        let widths = [self.nlamd.0, self.nlamd.1];
        if widths.iter().any(|w| !w.is_finite() || *w <= 0.0) {
            return Err(TransformError::Geometry(format!(
                "nlamD must be positive and finite, got {:?}",
                self.nlamd
            )));
        }
        if !self.offset.0.is_finite() || !self.offset.1.is_finite() {
            return Err(TransformError::Geometry(format!(
                "offset must be finite, got {:?}",
                self.offset
            )));
        }
        Ok(())
    }

    /// Bytes held by a plan of this geometry in precision `T` (the two DFT matrices).
    pub fn plan_bytes<T>(&self) -> u64 {
        let elems = self.output.0 * self.input.0 + self.input.1 * self.output.1;
        (elems * std::mem::size_of::<Complex<T>>()) as u64
    }
}

/// A planned MFT: the two DFT matrices (normalisation folded into the left one).
#[derive(Clone, Debug)]
pub struct MftPlan<T: Real> {
    geometry: MftGeometry,
    /// `norm * E_YV^T`, shape (output rows, input rows).
    left: Array2<Complex<T>>,
    /// `E_XU`, shape (input columns, output columns).
    right: Array2<Complex<T>>,
}

/// Centred "adjustable" coordinates `(i - n/2 + 1/2 - offset) * step`.
fn coords(n: usize, offset: f64, step: f64) -> Vec<f64> {
    (0..n).map(|i| (i as f64 - n as f64 / 2.0 - offset + 0.5) * step).collect()
}

impl<T: Real> MftPlan<T> {
    /// Builds the DFT matrices for `geometry`.
    ///
    /// # Errors
    ///
    /// [`TransformError::Geometry`] for zero sizes or non-finite or non-positive widths.
    pub fn new(geometry: &MftGeometry) -> Result<Self, TransformError> {
        geometry.validate()?;
        let g = *geometry;
        let (npup_y, npup_x) = (g.input.0 as f64, g.input.1 as f64);
        let (npix_y, npix_x) = (g.output.0 as f64, g.output.1 as f64);
        let (nlamd_y, nlamd_x) = g.nlamd;
        let (dx, dy, du, dv, sign) = match g.direction {
            MftDirection::Forward => {
                (1.0 / npup_x, 1.0 / npup_y, nlamd_x / npix_x, nlamd_y / npix_y, 1.0)
            }
            MftDirection::Inverse => {
                (nlamd_x / npup_x, nlamd_y / npup_y, 1.0 / npix_x, 1.0 / npix_y, -1.0)
            }
        };
        let (off_y, off_x) = g.offset;
        let xs = coords(g.input.1, off_x, dx);
        let ys = coords(g.input.0, off_y, dy);
        let us = coords(g.output.1, off_x, du);
        let vs = coords(g.output.0, off_y, dv);
        let norm = (nlamd_y * nlamd_x / (npup_y * npup_x * npix_y * npix_x)).sqrt();
        let phasor = |a: f64, b: f64, scale: f64| {
            let (s, c) = (sign * 2.0 * PI * a * b).sin_cos();
            Complex::new(T::of(scale * c), T::of(scale * s))
        };
        let left =
            Array2::from_shape_fn((g.output.0, g.input.0), |(v, y)| phasor(ys[y], vs[v], norm));
        let right =
            Array2::from_shape_fn((g.input.1, g.output.1), |(x, u)| phasor(xs[x], us[u], 1.0));
        Ok(MftPlan { geometry: g, left, right })
    }

    /// The geometry this plan was made for.
    pub fn geometry(&self) -> &MftGeometry {
        &self.geometry
    }

    /// Transforms `input` into `output`, using `scratch` (shape: output rows x input
    /// columns) for the intermediate product. Does not allocate.
    ///
    /// # Errors
    ///
    /// [`TransformError::Shape`] when an array does not have the plan's shape.
    pub fn apply_into(
        &self,
        input: ArrayView2<'_, Complex<T>>,
        scratch: ArrayViewMut2<'_, Complex<T>>,
        output: ArrayViewMut2<'_, Complex<T>>,
        backend: GemmBackend,
        par: Par,
    ) -> Result<(), TransformError> {
        if input.dim() != self.geometry.input {
            return Err(TransformError::Shape(format!(
                "MFT planned for input {:?}, given {:?}",
                self.geometry.input,
                input.dim()
            )));
        }
        let mut scratch = scratch;
        complex_matmul(backend, par, self.left.view(), input, scratch.view_mut())?;
        complex_matmul(backend, par, scratch.view(), self.right.view(), output)
    }

    /// Transforms `input` into a new array.
    ///
    /// # Errors
    ///
    /// [`TransformError::Shape`] when `input` does not have the plan's input shape.
    pub fn apply(
        &self,
        input: ArrayView2<'_, Complex<T>>,
        backend: GemmBackend,
        par: Par,
    ) -> Result<Array2<Complex<T>>, TransformError> {
        let mut scratch = Array2::zeros((self.geometry.output.0, self.geometry.input.1));
        let mut out = Array2::zeros(self.geometry.output);
        self.apply_into(input, scratch.view_mut(), out.view_mut(), backend, par)?;
        Ok(out)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct MftKey {
    input: (usize, usize),
    nlamd: (u64, u64),
    output: (usize, usize),
    offset: (u64, u64),
    direction: MftDirection,
}

impl From<&MftGeometry> for MftKey {
    fn from(g: &MftGeometry) -> Self {
        MftKey {
            input: g.input,
            nlamd: (g.nlamd.0.to_bits(), g.nlamd.1.to_bits()),
            output: g.output,
            offset: (g.offset.0.to_bits(), g.offset.1.to_bits()),
            direction: g.direction,
        }
    }
}

/// Shares MFT plans between calls: one plan per (shape, nlamD, npix, offset, direction).
///
/// Thread-safe. Concurrent first requests for one geometry may each build the plan; one copy
/// is kept and shared from then on.
#[derive(Debug, Default)]
pub struct MftCache<T: Real> {
    plans: Mutex<HashMap<MftKey, Arc<MftPlan<T>>>>,
}

impl<T: Real> MftCache<T> {
    /// An empty cache.
    pub fn new() -> Self {
        MftCache { plans: Mutex::new(HashMap::new()) }
    }

    /// The plan for `geometry`, built on first use.
    ///
    /// # Errors
    ///
    /// As [`MftPlan::new`].
    pub fn get(&self, geometry: &MftGeometry) -> Result<Arc<MftPlan<T>>, TransformError> {
        let key = MftKey::from(geometry);
        if let Some(p) = self.plans.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(Arc::clone(p));
        }
        let plan = Arc::new(MftPlan::new(geometry)?);
        let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        Ok(Arc::clone(plans.entry(key).or_insert(plan)))
    }

    /// Number of distinct plans held.
    pub fn len(&self) -> usize {
        self.plans.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether the cache holds no plan.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
