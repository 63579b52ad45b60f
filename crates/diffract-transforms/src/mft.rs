//! The matrix Fourier transform (Soummer et al. 2007) with POPPY's "adjustable" centring.
//!
//! Forward (pupil to image): `F = norm * E_YV^T . A . E_XU` with `E_XU[x,u] = exp(+2 pi i X_x U_u)`;
//! inverse: the same with `exp(-2 pi i ...)`. Coordinates are
//! `X_i = (i - N/2 + 1/2 - offset) * dX`, centred at `(N-1)/2` for any parity, with
//! `dX = 1/npup`, `dU = nlamD/npix` forward and `dX = nlamD/npup`, `dU = 1/npix` inverse.
//! `norm = sqrt(nlamD_y nlamD_x / (npup_y npup_x npix_y npix_x))` in both directions.

use crate::{complex_matmul, real_matmul, GemmBackend, Real, TransformError};
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

/// A planned MFT: the DFT matrices, normalisation folded into the left one.
///
/// Without an offset the coordinates are symmetric about the centre, so each matrix is
/// `C + i S` with `C` even and `S` odd in the input index. The plan then keeps only the real
/// halves and computes `A . (C + i S)` as `(A_j + A_j') . C_half + i (A_j - A_j') . S_half`
/// (`j' = N - 1 - j`): two real products of half the length, half the arithmetic of the
/// complex product, and the same result up to rounding.
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
    /// Real halves: `left_c`, `left_s` (output rows x ceil(input rows / 2)), `right_c`,
    /// `right_s` (ceil(input columns / 2) x output columns).
    Symmetric { left_c: Array2<T>, left_s: Array2<T>, right_c: Array2<T>, right_s: Array2<T> },
}

/// Reusable working memory for [`MftPlan::apply_with`].
#[derive(Debug, Default)]
pub struct MftScratch<T: Real> {
    bufs: [Vec<T>; 4],
}

/// The first `len` elements of `v` (grown with zeros as needed).
fn buffer<T: Real>(v: &mut Vec<T>, len: usize) -> &mut [T] {
    if v.len() < len {
        v.resize(len, T::zero());
    }
    &mut v[..len]
}

/// A complex row-major array seen as real with twice the columns (Complex is `repr(C)`).
fn as_real<T: Real>(a: &[Complex<T>]) -> &[T] {
    // SAFETY: Complex<T> is #[repr(C)] { re: T, im: T }: 2 * len values of T, same alignment.
    unsafe { std::slice::from_raw_parts(a.as_ptr().cast::<T>(), a.len() * 2) }
}

/// `scale * exp(sign 2 pi i a_r b_c)` for rows `a` and columns `b`, where `b` is evenly
/// spaced. Each row is a geometric sequence in the column index: the exact value is taken
/// every 16 columns and the steps between are products (error below 1e-14).
fn dft_matrix<T: Real>(a: &[f64], b: &[f64], sign: f64, scale: f64) -> Array2<Complex<T>> {
    const EXACT_EVERY: usize = 16;
    let step = if b.len() > 1 { b[1] - b[0] } else { 0.0 };
    let mut out = Array2::zeros((a.len(), b.len()));
    for (r, mut row) in out.rows_mut().into_iter().enumerate() {
        let k = sign * 2.0 * PI * a[r];
        let (ws, wc) = (k * step).sin_cos();
        let w = num_complex::Complex64::new(wc, ws);
        let mut z = num_complex::Complex64::new(0.0, 0.0);
        for (c, v) in row.iter_mut().enumerate() {
            if c % EXACT_EVERY == 0 {
                let (s, co) = (k * b[c]).sin_cos();
                z = num_complex::Complex64::new(co, s);
            } else {
                z *= w;
            }
            *v = Complex::new(T::of(scale * z.re), T::of(scale * z.im));
        }
    }
    out
}

/// Splits a complex matrix into its real and imaginary parts.
fn split<T: Real>(m: &Array2<Complex<T>>) -> (Array2<T>, Array2<T>) {
    (m.mapv(|z| z.re), m.mapv(|z| z.im))
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
            // Only the first ceil(N/2) input coordinates are needed.
            let hy = g.input.0.div_ceil(2);
            let hx = g.input.1.div_ceil(2);
            let ys = &coords(g.input.0, 0.0, dy)[..hy];
            let xs = &coords(g.input.1, 0.0, dx)[..hx];
            let us = coords(g.output.1, 0.0, du);
            let vs = coords(g.output.0, 0.0, dv);
            // Left: rows are output v, columns input y (the output coordinates are evenly
            // spaced, so build transposed and transpose back).
            let left_t = dft_matrix::<T>(ys, &vs, sign, norm);
            let (lc, ls) = split(&left_t);
            let right = dft_matrix::<T>(xs, &us, sign, 1.0);
            let (rc, rs) = split(&right);
            Matrices::Symmetric {
                left_c: lc.t().as_standard_layout().into_owned(),
                left_s: ls.t().as_standard_layout().into_owned(),
                right_c: rc,
                right_s: rs,
            }
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
        mut output: ArrayViewMut2<'_, Complex<T>>,
        backend: GemmBackend,
        par: Par,
    ) -> Result<(), TransformError> {
        let g = &self.geometry;
        if input.dim() != g.input || output.dim() != g.output {
            return Err(TransformError::Shape(format!(
                "MFT planned for {:?} -> {:?}, given {:?} -> {:?}",
                g.input,
                g.output,
                input.dim(),
                output.dim()
            )));
        }
        let input = input.as_standard_layout();
        let (ny, nx) = g.input;
        let (my, mx) = g.output;
        match &self.matrices {
            Matrices::General { left, right } => {
                let t1 = buffer(&mut scratch.bufs[0], 2 * my * nx);
                complex_matmul(
                    backend,
                    par,
                    left.view(),
                    input.view(),
                    complex_view_mut(t1, my, nx),
                )?;
                complex_matmul(
                    backend,
                    par,
                    complex_view(&scratch.bufs[0], my, nx),
                    right.view(),
                    output,
                )
            }
            Matrices::Symmetric { left_c, left_s, right_c, right_s } => {
                let hy = ny.div_ceil(2);
                let hx = nx.div_ceil(2);
                let [b0, b1, b2, b3] = &mut scratch.bufs;
                // 1. Fold the input rows: plus/minus, as real (hy x 2nx) matrices.
                let plus = buffer(b0, hy * 2 * nx);
                let minus = buffer(b1, hy * 2 * nx);
                let a = as_real(input.as_slice().expect("standard layout"));
                let w = 2 * nx;
                for y in 0..hy {
                    let top = &a[y * w..(y + 1) * w];
                    let yb = ny - 1 - y;
                    let (p, m) = (&mut plus[y * w..(y + 1) * w], &mut minus[y * w..(y + 1) * w]);
                    if yb == y {
                        p.copy_from_slice(top);
                        m.fill(T::zero());
                    } else {
                        let bot = &a[yb * w..(yb + 1) * w];
                        for k in 0..w {
                            p[k] = top[k] + bot[k];
                            m[k] = top[k] - bot[k];
                        }
                    }
                }
                // 2. U = C_L . plus, W = S_L . minus (my x 2nx real each).
                let u = buffer(b2, my * w);
                real_matmul(
                    backend,
                    par,
                    left_c.view(),
                    ArrayView2::from_shape((hy, w), &*plus).expect("shape"),
                    ArrayViewMut2::from_shape((my, w), &mut *u).expect("shape"),
                )?;
                let wv = buffer(b3, my * w);
                real_matmul(
                    backend,
                    par,
                    left_s.view(),
                    ArrayView2::from_shape((hy, w), &*minus).expect("shape"),
                    ArrayViewMut2::from_shape((my, w), &mut *wv).expect("shape"),
                )?;
                // t1 = U + i W. 3. Fold its columns into plus/minus as real (2my x hx)
                // matrices: row 2r holds the real parts of row r, row 2r + 1 the imaginary.
                let plus = buffer(b0, 2 * my * hx);
                let minus = buffer(b1, 2 * my * hx);
                let (u, wv) = (&b2[..my * w], &b3[..my * w]);
                for r in 0..my {
                    let ur = &u[r * w..(r + 1) * w];
                    let wr = &wv[r * w..(r + 1) * w];
                    for x in 0..hx {
                        let xb = nx - 1 - x;
                        // t1[r, x] = (ur.re - wr.im) + i (ur.im + wr.re)
                        let (re_a, im_a) = (ur[2 * x] - wr[2 * x + 1], ur[2 * x + 1] + wr[2 * x]);
                        let (re_b, im_b) = if xb == x {
                            (T::zero(), T::zero())
                        } else {
                            (ur[2 * xb] - wr[2 * xb + 1], ur[2 * xb + 1] + wr[2 * xb])
                        };
                        let (pr, pi, mr, mi) = if xb == x {
                            (re_a, im_a, T::zero(), T::zero())
                        } else {
                            (re_a + re_b, im_a + im_b, re_a - re_b, im_a - im_b)
                        };
                        plus[2 * r * hx + x] = pr;
                        plus[(2 * r + 1) * hx + x] = pi;
                        minus[2 * r * hx + x] = mr;
                        minus[(2 * r + 1) * hx + x] = mi;
                    }
                }
                // 4. U2 = plus . C_R, W2 = minus . S_R (2my x mx real each).
                let u2 = buffer(b2, 2 * my * mx);
                real_matmul(
                    backend,
                    par,
                    ArrayView2::from_shape((2 * my, hx), &b0[..2 * my * hx]).expect("shape"),
                    right_c.view(),
                    ArrayViewMut2::from_shape((2 * my, mx), &mut *u2).expect("shape"),
                )?;
                let w2 = buffer(b3, 2 * my * mx);
                real_matmul(
                    backend,
                    par,
                    ArrayView2::from_shape((2 * my, hx), &b1[..2 * my * hx]).expect("shape"),
                    right_s.view(),
                    ArrayViewMut2::from_shape((2 * my, mx), &mut *w2).expect("shape"),
                )?;
                // 5. out = U2 + i W2.
                let (u2, w2) = (&b2[..2 * my * mx], &b3[..2 * my * mx]);
                for r in 0..my {
                    for c in 0..mx {
                        let (ure, uim) = (u2[2 * r * mx + c], u2[(2 * r + 1) * mx + c]);
                        let (wre, wim) = (w2[2 * r * mx + c], w2[(2 * r + 1) * mx + c]);
                        output[[r, c]] = Complex::new(ure - wim, uim + wre);
                    }
                }
                Ok(())
            }
        }
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
