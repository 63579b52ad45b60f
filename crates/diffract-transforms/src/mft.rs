//! The matrix Fourier transform (Soummer et al. 2007) with POPPY's "adjustable" centring.
//!
//! Forward (pupil to image): `F = norm * E_YV^T . A . E_XU` with `E_XU[x,u] = exp(+2 pi i X_x U_u)`;
//! inverse: the same with `exp(-2 pi i ...)`. Coordinates are
//! `X_i = (i - N/2 + 1/2 - offset) * dX`, centred at `(N-1)/2` for any parity, with
//! `dX = 1/npup`, `dU = nlamD/npix` forward and `dX = nlamD/npup`, `dU = 1/npix` inverse.
//! `norm = sqrt(nlamD_y nlamD_x / (npup_y npup_x npix_y npix_x))` in both directions.

use crate::{complex_matmul, real_matmul, GemmBackend, Real, TransformError};
use diffract_parallel::Par;
use ndarray::{s, Array2, ArrayView2, ArrayViewMut2, Axis};
use num_complex::Complex;
use rayon::prelude::*;
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

/// A planned MFT: the DFT matrices, normalisation folded into the left one.
///
/// Without an offset the input and output coordinates are both symmetric about the centre,
/// so each matrix is `C + i S` with `C` even and `S` odd in the input index and in the
/// output index. The plan then keeps only a quarter of each: the real `C` and `S` for the
/// first half of the inputs and of the outputs. It computes `A . (C + i S)` as
/// `(A_j + A_j') . C_half + i (A_j - A_j') . S_half` (`j' = N - 1 - j`), and only for the
/// first half of the outputs: those of the mirrored output `k' = M - 1 - k` are the same
/// products with `S` negated. A quarter of the arithmetic of the complex product, the same
/// result up to rounding.
#[derive(Clone, Debug)]
pub struct MftPlan<T: Real> {
    geometry: MftGeometry,
    matrices: Matrices<T>,
}

#[derive(Clone, Debug)]
enum Matrices<T: Real> {
    /// Complex matrices (an offset breaks the symmetry).
    General {
        /// `norm * E_YV^T`, shape (output rows, input rows).
        left: Array2<Complex<T>>,
        /// `E_XU`, shape (input columns, output columns).
        right: Array2<Complex<T>>,
    },
    /// Real quarters: `left_c`, `left_s` (ceil(output rows / 2) x ceil(input rows / 2)),
    /// `right_c`, `right_s` (ceil(input columns / 2) x ceil(output columns / 2)).
    Symmetric { left_c: Array2<T>, left_s: Array2<T>, right_c: Array2<T>, right_s: Array2<T> },
}

/// The matrix products of one MFT ([`MftPlan::products`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MftProducts {
    /// Complex products (a plan with an offset), else real ones.
    pub complex: bool,
    /// Each product's `[rows, inner, columns]`: `(rows x inner) . (inner x columns)`.
    pub shapes: Vec<[usize; 3]>,
}

impl MftProducts {
    /// Floating-point operations of the products: a multiply-add counts 2, a complex one 8.
    pub fn flops(&self) -> u64 {
        let per = if self.complex { 8 } else { 2 };
        self.shapes.iter().map(|[m, k, n]| per * (m * k * n) as u64).sum()
    }
}

impl MftGeometry {
    /// Floating-point operations of the two complex matrix products that define this MFT
    /// (8 per complex multiply-add): the textbook cost, which a symmetric plan divides by
    /// four.
    pub fn complex_flops(&self) -> u64 {
        let ((ny, nx), (my, mx)) = (self.input, self.output);
        8 * (my * ny * nx + my * nx * mx) as u64
    }
}

/// Reusable working memory for [`MftPlan::apply_with`].
#[derive(Debug, Default)]
pub struct MftScratch<T: Real> {
    bufs: [Vec<T>; 4],
    /// Each thread's buffers for its block of output rows.
    blocks: Vec<[Vec<T>; 4]>,
}

/// The first `len` elements of `v` (grown with zeros as needed).
fn buffer<T: Real>(v: &mut Vec<T>, len: usize) -> &mut [T] {
    if v.len() < len {
        // Exactly what is needed: a doubled capacity would stay allocated in the scratch.
        v.reserve_exact(len - v.len());
        v.resize(len, T::zero());
    }
    &mut v[..len]
}

/// A complex row-major array seen as real with twice the columns (Complex is `repr(C)`).
fn as_real<T: Real>(a: &[Complex<T>]) -> &[T] {
    // SAFETY: Complex<T> is #[repr(C)] { re: T, im: T }: 2 * len values of T, same alignment.
    unsafe { std::slice::from_raw_parts(a.as_ptr().cast::<T>(), a.len() * 2) }
}

/// Calls `put(r, c, scale * exp(sign 2 pi i a_r b_c))` for rows `a` and columns `b`, where
/// `b` is evenly spaced. Each row is a geometric sequence in the column index: the exact
/// value is taken every 16 columns and the steps between are products (error below 1e-14).
fn for_each_dft(
    a: &[f64],
    b: &[f64],
    sign: f64,
    scale: f64,
    mut put: impl FnMut(usize, usize, num_complex::Complex64),
) {
    const EXACT_EVERY: usize = 16;
    let step = if b.len() > 1 { b[1] - b[0] } else { 0.0 };
    for (r, &ar) in a.iter().enumerate() {
        let k = sign * 2.0 * PI * ar;
        let (ws, wc) = (k * step).sin_cos();
        let w = num_complex::Complex64::new(wc, ws);
        let mut z = num_complex::Complex64::new(0.0, 0.0);
        for (c, &bc) in b.iter().enumerate() {
            if c % EXACT_EVERY == 0 {
                let (s, co) = (k * bc).sin_cos();
                z = num_complex::Complex64::new(co, s);
            } else {
                z *= w;
            }
            put(r, c, z * scale);
        }
    }
}

/// The matrix `scale * exp(sign 2 pi i a_r b_c)` (rows `a`, columns `b`).
fn dft_matrix<T: Real>(a: &[f64], b: &[f64], sign: f64, scale: f64) -> Array2<Complex<T>> {
    let mut out = Array2::zeros((a.len(), b.len()));
    for_each_dft(a, b, sign, scale, |r, c, z| out[[r, c]] = Complex::new(T::of(z.re), T::of(z.im)));
    out
}

/// The real and imaginary parts of `dft_matrix(a, b, sign, scale)`, built directly (no
/// complex matrix in between, the same values); with `transposed`, as `(b, a)` matrices.
fn dft_parts<T: Real>(
    a: &[f64],
    b: &[f64],
    sign: f64,
    scale: f64,
    transposed: bool,
) -> (Array2<T>, Array2<T>) {
    let shape = if transposed { (b.len(), a.len()) } else { (a.len(), b.len()) };
    let (mut re, mut im) = (Array2::zeros(shape), Array2::zeros(shape));
    for_each_dft(a, b, sign, scale, |r, c, z| {
        let at = if transposed { [c, r] } else { [r, c] };
        re[at] = T::of(z.re);
        im[at] = T::of(z.im);
    });
    (re, im)
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
        let norm = (nlamd_y * nlamd_x / (npup_y * npup_x * npix_y * npix_x)).sqrt();
        let matrices = if off_y == 0.0 && off_x == 0.0 {
            // Only the first ceil(N/2) input and ceil(M/2) output coordinates are needed.
            let half = |n: usize| n.div_ceil(2);
            let ys = &coords(g.input.0, 0.0, dy)[..half(g.input.0)];
            let xs = &coords(g.input.1, 0.0, dx)[..half(g.input.1)];
            let vs = &coords(g.output.0, 0.0, dv)[..half(g.output.0)];
            let us = &coords(g.output.1, 0.0, du)[..half(g.output.1)];
            // Left: rows are output v, columns input y (the output coordinates are evenly
            // spaced, so the recurrence runs along v: built transposed, stored as (v, y)).
            let (left_c, left_s) = dft_parts::<T>(ys, vs, sign, norm, true);
            let (right_c, right_s) = dft_parts::<T>(xs, us, sign, 1.0, false);
            Matrices::Symmetric { left_c, left_s, right_c, right_s }
        } else {
            let xs = coords(g.input.1, off_x, dx);
            let ys = coords(g.input.0, off_y, dy);
            let us = coords(g.output.1, off_x, du);
            let vs = coords(g.output.0, off_y, dv);
            let left = dft_matrix::<T>(&ys, &vs, sign, norm).t().as_standard_layout().into_owned();
            let right = dft_matrix::<T>(&xs, &us, sign, 1.0);
            Matrices::General { left, right }
        };
        Ok(MftPlan { geometry: g, matrices })
    }

    /// The geometry this plan was made for.
    pub fn geometry(&self) -> &MftGeometry {
        &self.geometry
    }

    /// The matrix products one transform computes, whole (a thread or a block of rows
    /// computes a part of each): what its arithmetic costs, and what a GEMM library's rate
    /// on the same products says it could cost.
    pub fn products(&self) -> MftProducts {
        let (ny, nx) = self.geometry.input;
        let (my, mx) = self.geometry.output;
        match &self.matrices {
            Matrices::General { .. } => {
                MftProducts { complex: true, shapes: vec![[my, ny, nx], [my, nx, mx]] }
            }
            Matrices::Symmetric { left_c, right_c, .. } => {
                let (hm, hy) = left_c.dim();
                let (hx, hmx) = right_c.dim();
                // Steps 2 and 4 of `symmetric`: two real products each.
                let left = [hm, hy, 2 * nx];
                let right = [4 * hm, hx, hmx];
                MftProducts { complex: false, shapes: vec![left, left, right, right] }
            }
        }
    }

    /// Bytes held by this plan's matrices.
    pub fn bytes(&self) -> u64 {
        let t = std::mem::size_of::<T>() as u64;
        match &self.matrices {
            Matrices::General { left, right } => 2 * t * (left.len() + right.len()) as u64,
            Matrices::Symmetric { left_c, left_s, right_c, right_s } => {
                t * (left_c.len() + left_s.len() + right_c.len() + right_s.len()) as u64
            }
        }
    }

    /// Transforms `input` into `output` using `scratch` for intermediates (allocation-free
    /// once the scratch has grown to this plan's size).
    ///
    /// # Errors
    ///
    /// [`TransformError::Shape`] when an array does not have the plan's shape.
    pub fn apply_with(
        &self,
        input: ArrayView2<'_, Complex<T>>,
        scratch: &mut MftScratch<T>,
        output: ArrayViewMut2<'_, Complex<T>>,
        backend: GemmBackend,
        par: Par,
    ) -> Result<(), TransformError> {
        self.check(input.dim(), output.dim())?;
        match &self.matrices {
            Matrices::General { left, right } => {
                let input = input.as_standard_layout();
                general(left, right, input.view(), scratch, output, backend, par)
            }
            Matrices::Symmetric { .. } => self.symmetric(input, scratch, output, backend, par),
        }
    }

    /// As [`MftPlan::apply_with`], for an input and output in double precision whatever
    /// the plan's: a single-precision plan reads the double-precision input as it folds it
    /// and writes double-precision values, without converted copies of either (a plan with
    /// an offset converts them).
    ///
    /// # Errors
    ///
    /// [`TransformError::Shape`] when an array does not have the plan's shape.
    pub fn apply_f64(
        &self,
        input: ArrayView2<'_, Complex<f64>>,
        scratch: &mut MftScratch<T>,
        mut output: ArrayViewMut2<'_, Complex<f64>>,
        backend: GemmBackend,
        par: Par,
    ) -> Result<(), TransformError> {
        self.check(input.dim(), output.dim())?;
        match &self.matrices {
            Matrices::General { left, right } => {
                let input = input.mapv(|z| Complex::new(T::of(z.re), T::of(z.im)));
                let mut out = Array2::zeros(self.geometry.output);
                general(left, right, input.view(), scratch, out.view_mut(), backend, par)?;
                output.zip_mut_with(&out, |o, z| *o = Complex::new(z.re.as_f64(), z.im.as_f64()));
                Ok(())
            }
            Matrices::Symmetric { .. } => self.symmetric(input, scratch, output, backend, par),
        }
    }

    /// An error unless the shapes are the plan's.
    fn check(&self, input: (usize, usize), output: (usize, usize)) -> Result<(), TransformError> {
        let g = &self.geometry;
        if input != g.input || output != g.output {
            return Err(TransformError::Shape(format!(
                "MFT planned for {:?} -> {:?}, given {input:?} -> {output:?}",
                g.input, g.output
            )));
        }
        Ok(())
    }

    /// The symmetric plan's transform of `input` (in precision `S`, computed in `T`) into
    /// `output`.
    fn symmetric<S: Real>(
        &self,
        input: ArrayView2<'_, Complex<S>>,
        scratch: &mut MftScratch<T>,
        output: ArrayViewMut2<'_, Complex<S>>,
        backend: GemmBackend,
        par: Par,
    ) -> Result<(), TransformError> {
        let Matrices::Symmetric { left_c, left_s, right_c, right_s } = &self.matrices else {
            unreachable!("called for symmetric plans only")
        };
        let (ny, nx) = self.geometry.input;
        let my = self.geometry.output.0;
        let hy = ny.div_ceil(2);
        let w = 2 * nx;
        let [b0, b1, ..] = &mut scratch.bufs;
        // 1. Fold the input rows: plus/minus, as real (hy x 2nx) matrices.
        let plus = buffer(b0, hy * w);
        let minus = buffer(b1, hy * w);
        if input.ncols() > 1 && input.strides()[1] != 1 {
            fold_rows(input.as_standard_layout().view(), plus, minus);
        } else {
            fold_rows(input, plus, minus);
        }
        let (plus, minus) = (&*plus, &*minus);
        let halves = SymmetricHalves { left_c, left_s, right_c, right_s, plus, minus, nx };
        // 2.-5. by blocks of the first half of the output rows (each with its
        // mirrored rows) shared among the threads: each block's values are those of
        // the whole product (the same sums over the same inputs).
        let hm = my.div_ceil(2);
        let threads = par.threads();
        let blocks = match threads {
            // OpenBLAS rounds a block of rows differently from the whole product
            // (its kernels depend on the matrices' sizes): it gets the whole
            // product, and the threads, so that every thread count gives the same
            // bits.
            _ if backend == GemmBackend::Blas => 1,
            1 => 1,
            // One block per thread: each block's products pack the whole folded input
            // again, so more blocks than threads cost (ten 32-row blocks on 2 threads
            // took as long as one thread).
            t => t.min(hm / MIN_BLOCK_ROWS),
        }
        .max(1);
        if scratch.blocks.len() < blocks {
            scratch.blocks.resize_with(blocks, Default::default);
        }
        let (top, bottom) = output.split_at(Axis(0), hm);
        if blocks == 1 {
            // One thread (or OpenBLAS's threads inside one product): blocks of rows
            // in turn through one set of buffers, so the working memory is that of
            // a block, not of the whole output (the same values: each row's sums
            // do not depend on the block).
            let step = if backend == GemmBackend::Blas { hm } else { SERIAL_BLOCK_ROWS };
            let (mut top, mut bottom) = (top, bottom);
            let mut first = 0;
            while first < hm {
                let (head, mirror, top_rest, bottom_rest) =
                    split_block(top, bottom, step.min(hm - first));
                let rows = head.nrows();
                halves.rows(first, head, mirror, &mut scratch.blocks[0], backend, par)?;
                (top, bottom) = (top_rest, bottom_rest);
                first += rows;
            }
            return Ok(());
        }
        let per_block = hm.div_ceil(blocks);
        let mut parts = Vec::with_capacity(blocks);
        let (mut top, mut bottom) = (top, bottom);
        let mut first = 0;
        for block in scratch.blocks[..blocks].iter_mut() {
            let (head, mirror, top_rest, bottom_rest) =
                split_block(top, bottom, per_block.min(hm - first));
            let rows = head.nrows();
            parts.push((first, head, mirror, block, Ok(())));
            (top, bottom) = (top_rest, bottom_rest);
            first += rows;
        }
        let run = |(first, out, mirror, block, result): &mut Part<'_, '_, S, T>| {
            *result =
                halves.rows(*first, out.view_mut(), mirror.view_mut(), block, backend, Par::Seq);
        };
        if threads == 2 {
            // The calling thread and one helper that keeps spinning between calls.
            diffract_parallel::for_each_shared(&mut parts, 2, run);
        } else {
            parts.par_iter_mut().for_each(run);
        }
        parts.into_iter().try_for_each(|p| p.4)
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
        let mut out = Array2::zeros(self.geometry.output);
        self.apply_with(input, &mut MftScratch::default(), out.view_mut(), backend, par)?;
        Ok(out)
    }

    /// The transform of an input that is zero outside `window`, whose first element sits
    /// at input row and column `origin`: the window's columns of the left matrix, times the
    /// window, times the window's rows of the right matrix. Equal to [`MftPlan::apply`] of
    /// the zero-filled input up to rounding, at a cost proportional to the window's size
    /// (a control loop changes the field only near a poked actuator, and the transform is
    /// linear).
    ///
    /// # Errors
    ///
    /// [`TransformError::Shape`] when the window does not fit in the plan's input or
    /// `output` does not have the plan's output shape.
    pub fn apply_window(
        &self,
        window: ArrayView2<'_, Complex<T>>,
        origin: (usize, usize),
        output: ArrayViewMut2<'_, Complex<T>>,
        backend: GemmBackend,
        par: Par,
    ) -> Result<(), TransformError> {
        let g = &self.geometry;
        let (h, w) = window.dim();
        if origin.0 + h > g.input.0 || origin.1 + w > g.input.1 || output.dim() != g.output {
            return Err(TransformError::Shape(format!(
                "MFT planned for {:?} -> {:?}, given a {:?} window at {:?} -> {:?}",
                g.input,
                g.output,
                window.dim(),
                origin,
                output.dim()
            )));
        }
        let (my, mx) = g.output;
        let (left, right) = match &self.matrices {
            Matrices::General { left, right } => (
                left.slice(s![.., origin.0..origin.0 + h]).to_owned(),
                right.slice(s![origin.1..origin.1 + w, ..]).to_owned(),
            ),
            Matrices::Symmetric { left_c, left_s, right_c, right_s } => {
                // Inputs and outputs past the middle mirror those before it: the same
                // cosine, the sine negated.
                let mirrored = |n: usize, j: usize| {
                    if j < n.div_ceil(2) {
                        (j, T::one())
                    } else {
                        (n - 1 - j, -T::one())
                    }
                };
                let rows: Vec<(usize, T)> =
                    (0..h).map(|j| mirrored(g.input.0, origin.0 + j)).collect();
                let mut left = Array2::zeros((my, h));
                for (v, mut out) in left.rows_mut().into_iter().enumerate() {
                    let (kv, sv) = mirrored(my, v);
                    let (c, s) = (left_c.row(kv), left_s.row(kv));
                    for (z, &(k, sign)) in out.iter_mut().zip(&rows) {
                        *z = Complex::new(c[k], sv * sign * s[k]);
                    }
                }
                let mut right = Array2::zeros((w, mx));
                for (i, mut out) in right.rows_mut().into_iter().enumerate() {
                    let (k, sign) = mirrored(g.input.1, origin.1 + i);
                    let (c, s) = (right_c.row(k), right_s.row(k));
                    for (u, z) in out.iter_mut().enumerate() {
                        let (ku, su) = mirrored(mx, u);
                        *z = Complex::new(c[ku], su * sign * s[ku]);
                    }
                }
                (left, right)
            }
        };
        let mut t = Array2::zeros((my, w));
        complex_matmul(backend, par, left.view(), window, t.view_mut())?;
        complex_matmul(backend, par, t.view(), right.view(), output)
    }
}

/// The general plan's transform: two complex products through `scratch`.
fn general<T: Real>(
    left: &Array2<Complex<T>>,
    right: &Array2<Complex<T>>,
    input: ArrayView2<'_, Complex<T>>,
    scratch: &mut MftScratch<T>,
    output: ArrayViewMut2<'_, Complex<T>>,
    backend: GemmBackend,
    par: Par,
) -> Result<(), TransformError> {
    let (my, nx) = (left.nrows(), input.ncols());
    let t1 = buffer(&mut scratch.bufs[0], 2 * my * nx);
    complex_matmul(backend, par, left.view(), input, complex_view_mut(t1, my, nx))?;
    complex_matmul(backend, par, complex_view(&scratch.bufs[0], my, nx), right.view(), output)
}

/// Rows of the first half of the output in a block of the symmetric MFT's products, when
/// threads share them.
const MIN_BLOCK_ROWS: usize = 32;

/// Rows of the first half of the output per block when one thread computes the symmetric
/// MFT: small enough that the block's buffers stay a fraction of the output (128 of
/// imaging_1024's 322: 4 MiB of buffers in double precision), large enough for the matrix
/// products to run at full rate.
const SERIAL_BLOCK_ROWS: usize = 128;

/// A block of output rows: its first row, its part of the first half of the output, the
/// mirrored rows (reversed: row `t` mirrors the block's row `t`), its buffers, its result.
type Part<'o, 'b, S, T> = (
    usize,
    ArrayViewMut2<'o, Complex<S>>,
    ArrayViewMut2<'o, Complex<S>>,
    &'b mut [Vec<T>; 4],
    Result<(), TransformError>,
);

/// The next `take` rows of `top` (the first half of the output) and the rows of `bottom`
/// (the second half) that mirror them, reversed so that row `t` of each goes with row `t` of
/// the other (the middle row of an odd output has no mirror: then one row fewer); with what
/// remains of each.
#[allow(clippy::type_complexity)]
fn split_block<'o, S: Real>(
    top: ArrayViewMut2<'o, Complex<S>>,
    bottom: ArrayViewMut2<'o, Complex<S>>,
    take: usize,
) -> (
    ArrayViewMut2<'o, Complex<S>>,
    ArrayViewMut2<'o, Complex<S>>,
    ArrayViewMut2<'o, Complex<S>>,
    ArrayViewMut2<'o, Complex<S>>,
) {
    let (head, top_rest) = top.split_at(Axis(0), take);
    let keep = bottom.nrows() - take.min(bottom.nrows());
    let (bottom_rest, mut mirror) = bottom.split_at(Axis(0), keep);
    mirror.invert_axis(Axis(0));
    (head, mirror, top_rest, bottom_rest)
}

/// The real quarters of a symmetric plan and the folded input rows: what every block of
/// output rows reads.
struct SymmetricHalves<'a, T: Real> {
    left_c: &'a Array2<T>,
    left_s: &'a Array2<T>,
    right_c: &'a Array2<T>,
    right_s: &'a Array2<T>,
    /// Sums and differences of the input rows `y` and `ny - 1 - y` (hy x 2nx, real).
    plus: &'a [T],
    minus: &'a [T],
    nx: usize,
}

impl<T: Real> SymmetricHalves<'_, T> {
    /// Steps 2 to 5 for the output rows `first..first + out.nrows()` of the first half into
    /// `out`, and for their mirrored rows into `mirror` (row `t` mirrors row `t` of `out`;
    /// it may have one row fewer, without the middle row of an odd output).
    fn rows<S: Real>(
        &self,
        first: usize,
        mut out: ArrayViewMut2<'_, Complex<S>>,
        mut mirror: ArrayViewMut2<'_, Complex<S>>,
        block: &mut [Vec<T>; 4],
        backend: GemmBackend,
        par: Par,
    ) -> Result<(), TransformError> {
        let (rows, mx) = out.dim();
        let nx = self.nx;
        let (hy, hx, w) = (self.left_c.ncols(), nx.div_ceil(2), 2 * nx);
        let hmx = self.right_c.ncols();
        let [b0, b1, b2, b3] = block;
        let plus = ArrayView2::from_shape((hy, w), self.plus).expect("shape");
        let minus = ArrayView2::from_shape((hy, w), self.minus).expect("shape");
        let range = s![first..first + rows, ..];
        // 2. U = C_L . plus, W = S_L . minus (rows x 2nx real each: complex rows). The
        // field after the left product is U + i W on these rows, U - i W on their mirrors.
        let u = buffer(b2, rows * w);
        real_matmul(
            backend,
            par,
            self.left_c.slice(range),
            plus,
            ArrayViewMut2::from_shape((rows, w), &mut *u).expect("shape"),
        )?;
        let wv = buffer(b3, rows * w);
        real_matmul(
            backend,
            par,
            self.left_s.slice(range),
            minus,
            ArrayViewMut2::from_shape((rows, w), &mut *wv).expect("shape"),
        )?;
        // 3. Fold the columns of U and of W (sums into `b0`, differences into `b1`), each
        // complex row as two real rows (real parts, imaginary parts): b0 = [U+; W+],
        // b1 = [U-; W-], (4 rows x hx) real each.
        let plus2 = buffer(b0, 4 * rows * hx);
        let minus2 = buffer(b1, 4 * rows * hx);
        let (up, wp) = plus2.split_at_mut(2 * rows * hx);
        let (um, wm) = minus2.split_at_mut(2 * rows * hx);
        fold_columns(&b2[..rows * w], nx, up, um);
        fold_columns(&b3[..rows * w], nx, wp, wm);
        // 4. [a; b] = [U+; W+] . C_R, [c; d] = [U-; W-] . S_R (4 rows x hmx real each).
        let g1 = buffer(b2, 4 * rows * hmx);
        real_matmul(
            backend,
            par,
            ArrayView2::from_shape((4 * rows, hx), &b0[..4 * rows * hx]).expect("shape"),
            self.right_c.view(),
            ArrayViewMut2::from_shape((4 * rows, hmx), &mut *g1).expect("shape"),
        )?;
        let g2 = buffer(b3, 4 * rows * hmx);
        real_matmul(
            backend,
            par,
            ArrayView2::from_shape((4 * rows, hx), &b1[..4 * rows * hx]).expect("shape"),
            self.right_s.view(),
            ArrayViewMut2::from_shape((4 * rows, hmx), &mut *g2).expect("shape"),
        )?;
        // 5. With u' = mx - 1 - u and v' the mirrored row:
        //   out[v, u]   = a - d + i (b + c),   out[v, u']  = a + d + i (b - c),
        //   out[v', u]  = a + d + i (c - b),   out[v', u'] = a - d - i (b + c).
        // The mirrored column is written first, so that the middle column of an odd output
        // (its own mirror) keeps the first half's value.
        let (g1, g2) = (&b2[..4 * rows * hmx], &b3[..4 * rows * hmx]);
        fn part<T>(g: &[T], k: usize, n: usize) -> &[T] {
            &g[k * n..(k + 1) * n]
        }
        for t in 0..rows {
            let (ar, ai) = (part(g1, 2 * t, hmx), part(g1, 2 * t + 1, hmx));
            let (br, bi) = (part(g1, 2 * rows + 2 * t, hmx), part(g1, 2 * rows + 2 * t + 1, hmx));
            let (cr, ci) = (part(g2, 2 * t, hmx), part(g2, 2 * t + 1, hmx));
            let (dr, di) = (part(g2, 2 * rows + 2 * t, hmx), part(g2, 2 * rows + 2 * t + 1, hmx));
            // In the output's precision (no rounding when it is the plan's).
            let z = |re: T, im: T| Complex::new(S::of(re.as_f64()), S::of(im.as_f64()));
            let mut row = out.row_mut(t);
            for u in 0..hmx {
                row[mx - 1 - u] = z(ar[u] + dr[u] - bi[u] + ci[u], ai[u] + di[u] + br[u] - cr[u]);
                row[u] = z(ar[u] - dr[u] - bi[u] - ci[u], ai[u] - di[u] + br[u] + cr[u]);
            }
            if t < mirror.nrows() {
                let mut row = mirror.row_mut(t);
                for u in 0..hmx {
                    row[mx - 1 - u] =
                        z(ar[u] - dr[u] + bi[u] + ci[u], ai[u] - di[u] - br[u] - cr[u]);
                    row[u] = z(ar[u] + dr[u] - ci[u] + bi[u], ai[u] + di[u] + cr[u] - br[u]);
                }
            }
        }
        Ok(())
    }
}

diffract_parallel::vectorised! {
    /// Step 1: `plus[y] = a[y] + a[ny - 1 - y]`, `minus[y] = a[y] - a[ny - 1 - y]` for the rows
    /// `y < ceil(ny / 2)` of `a` (whose rows are contiguous), as rows of 2 nx reals in precision
    /// `T` (each sum rounded once); the middle row of an odd `ny` is copied to `plus`, with zeros
    /// in `minus`. Compiled for AVX-512F or AVX2 when the processor has them (plain sums: the
    /// same values at every vector width).
    fn fold_rows<S: Real, T: Real>(a: ArrayView2<'_, Complex<S>>, plus: &mut [T], minus: &mut [T]) {
        let ny = a.nrows();
        let w = 2 * a.ncols();
        let row = |y: usize| as_real(a.row(y).to_slice().expect("rows are contiguous"));
        for (y, (p, m)) in plus.chunks_exact_mut(w).zip(minus.chunks_exact_mut(w)).enumerate() {
            let top = row(y);
            let yb = ny - 1 - y;
            if yb == y {
                for (p, t) in p.iter_mut().zip(top) {
                    *p = T::of(t.as_f64());
                }
                m.fill(T::zero());
            } else {
                let bot = row(yb);
                for (((p, m), t), b) in p.iter_mut().zip(m.iter_mut()).zip(top).zip(bot) {
                    *p = T::of((*t + *b).as_f64());
                    *m = T::of((*t - *b).as_f64());
                }
            }
        }
    }
}

diffract_parallel::vectorised! {
    /// Step 3: for each row r of the complex matrix `z` (rows of 2 nx reals, interleaved),
    /// the sums and differences of its columns `x` and `nx - 1 - x`, real parts in row 2r of
    /// `plus`/`minus` and imaginary parts in row 2r + 1 (rows of ceil(nx / 2)); the middle
    /// column of an odd nx is copied to `plus`, with zeros in `minus`.
    fn fold_columns<T: Real>(z: &[T], nx: usize, plus: &mut [T], minus: &mut [T]) {
        let (w, hx, half) = (2 * nx, nx.div_ceil(2), nx / 2);
        for (r, zr) in z.chunks_exact(w).enumerate() {
            let (pr, pi) = plus[2 * r * hx..(2 * r + 2) * hx].split_at_mut(hx);
            let (mr, mi) = minus[2 * r * hx..(2 * r + 2) * hx].split_at_mut(hx);
            // Column x (values 2x, 2x + 1) with column nx - 1 - x, read from the row's end.
            let (front, back) = zr.split_at(w - 2 * half);
            for (x, (a, b)) in front.chunks_exact(2).zip(back.rchunks_exact(2)).take(half).enumerate() {
                pr[x] = a[0] + b[0];
                mr[x] = a[0] - b[0];
                pi[x] = a[1] + b[1];
                mi[x] = a[1] - b[1];
            }
            if hx > half {
                // The middle column of an odd nx.
                pr[half] = zr[2 * half];
                pi[half] = zr[2 * half + 1];
                mr[half] = T::zero();
                mi[half] = T::zero();
            }
        }
    }
}

/// A complex (rows x cols) view of the first `2 rows cols` values of a real buffer.
fn complex_view<T: Real>(buf: &[T], rows: usize, cols: usize) -> ArrayView2<'_, Complex<T>> {
    assert!(buf.len() >= 2 * rows * cols);
    // SAFETY: Complex<T> is #[repr(C)] { re, im } with T's alignment; the buffer holds
    // 2 * rows * cols values.
    let s = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<Complex<T>>(), rows * cols) };
    ArrayView2::from_shape((rows, cols), s).expect("shape")
}

/// As [`complex_view`], mutable.
fn complex_view_mut<T: Real>(
    buf: &mut [T],
    rows: usize,
    cols: usize,
) -> ArrayViewMut2<'_, Complex<T>> {
    assert!(buf.len() >= 2 * rows * cols);
    // SAFETY: as complex_view; the borrow is unique.
    let s = unsafe {
        std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<Complex<T>>(), rows * cols)
    };
    ArrayViewMut2::from_shape((rows, cols), s).expect("shape")
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

/// Shares MFT plans between calls: one plan per (shape, nlamD, npix, offset, direction),
/// holding at most a given number of bytes (the oldest plans are dropped first).
///
/// Thread-safe. Concurrent first requests for one geometry may each build the plan; one copy
/// is kept and shared from then on.
#[derive(Debug)]
pub struct MftCache<T: Real> {
    capacity_bytes: u64,
    plans: Mutex<CacheState<T>>,
}

#[derive(Debug)]
struct CacheState<T: Real> {
    map: HashMap<MftKey, Arc<MftPlan<T>>>,
    order: Vec<MftKey>,
    bytes: u64,
}

impl<T: Real> Default for MftCache<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real> MftCache<T> {
    /// An empty cache without a size limit.
    pub fn new() -> Self {
        Self::with_capacity_bytes(u64::MAX)
    }

    /// An empty cache that keeps at most `bytes` of plans (always at least the last one).
    pub fn with_capacity_bytes(bytes: u64) -> Self {
        MftCache {
            capacity_bytes: bytes,
            plans: Mutex::new(CacheState { map: HashMap::new(), order: Vec::new(), bytes: 0 }),
        }
    }

    /// The plan for `geometry`, built on first use.
    ///
    /// # Errors
    ///
    /// As [`MftPlan::new`].
    pub fn get(&self, geometry: &MftGeometry) -> Result<Arc<MftPlan<T>>, TransformError> {
        let key = MftKey::from(geometry);
        if let Some(p) = self.plans.lock().unwrap_or_else(|e| e.into_inner()).map.get(&key) {
            return Ok(Arc::clone(p));
        }
        let plan = Arc::new(MftPlan::new(geometry)?);
        let mut state = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = state.map.get(&key) {
            return Ok(Arc::clone(p));
        }
        let size = plan.bytes();
        while !state.order.is_empty() && state.bytes + size > self.capacity_bytes {
            let old = state.order.remove(0);
            if let Some(p) = state.map.remove(&old) {
                state.bytes -= p.bytes();
            }
        }
        state.bytes += size;
        state.order.push(key);
        state.map.insert(key, Arc::clone(&plan));
        Ok(plan)
    }

    /// Number of distinct plans held.
    pub fn len(&self) -> usize {
        self.plans.lock().unwrap_or_else(|e| e.into_inner()).map.len()
    }

    /// Whether the cache holds no plan.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
