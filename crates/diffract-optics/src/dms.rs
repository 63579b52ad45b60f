//! Deformable mirrors: a continuous face sheet driven by a grid of actuators, and segmented
//! mirrors whose segments move in piston, tip and tilt (POPPY's `dms.py`).
//!
//! A mirror holds its actuator values; what depends only on the mirror's geometry and the
//! grid (influence functions sampled on the grid, segment masks and offsets) is made once in
//! a sampling ([`DmSampling`], [`SegmentSampling`]), so a control loop sets actuators and
//! resamples the OPD without recomputing any geometry:
//!
//! ```
//! use diffract_optics::{ContinuousDeformableMirror, PupilGrid};
//!
//! let mut dm = ContinuousDeformableMirror::new(4, 4, Some(0.25), 0.5).unwrap();
//! let grid = PupilGrid::new(32, 1.0).unwrap();
//! let sampling = dm.sampling(&grid);
//! let mut opd = ndarray::Array2::zeros((32, 32));
//! dm.set_actuator(1, 2, 50e-9).unwrap();
//! sampling.opd_into(&dm, &mut opd).unwrap();
//! assert!(opd.iter().cloned().fold(0.0, f64::max) > 40e-9);
//! ```

use crate::apertures::inside_hexagon;
use crate::error::{finite, non_negative, positive};
use crate::segmented::SegmentLayout;
use crate::{CircularAperture, OpticsError, PupilGrid, PupilOptic};
use ndarray::{Array2, ArrayView2};
use std::ops::Range;
use std::sync::Arc;

/// Crosstalk of POPPY's default influence function: the response at the neighbouring
/// actuator, as a fraction of the poked one's (typical of Boston MEMS mirrors).
const CROSSTALK: f64 = 0.15;

/// Values of the default (Gaussian) influence function below this fraction of the peak are
/// taken as 0: beyond about 10.5 actuator spacings. Their products with the other axis's
/// values and the actuators would otherwise fall among the subnormal numbers, which x86
/// processors multiply and add 20 to 100 times slower; together they change no OPD by more
/// than 1e-87 of the largest actuator value (far below a rounding of any OPD that is not
/// itself that small).
const INFLUENCE_FLOOR: f64 = 1e-90;

/// Largest actuator grid accepted along either axis.
pub const MAX_ACTUATORS: usize = 4096;

/// A continuous face-sheet deformable mirror (POPPY's `ContinuousDeformableMirror`).
///
/// Actuator `(row, column)` sits at `x = (column - c) * spacing`, `y = (row - c) * spacing`
/// with `c = (rows - 1) / 2` on both axes (as POPPY, which centres the columns with the row
/// count too), so row 0 is at -y. Each actuator raises a Gaussian
/// `exp(-r^2 / sigma^2)` with `sigma = spacing / sqrt(-ln 0.15)` (15% at the neighbouring
/// actuator), summed over all actuators: POPPY 1.1.2's default influence model. The
/// reflective area is a gray-edged circle of `radius`.
#[derive(Clone, Debug, PartialEq)]
pub struct ContinuousDeformableMirror {
    rows: usize,
    cols: usize,
    spacing: f64,
    aperture: CircularAperture,
    flip_x: bool,
    flip_y: bool,
    factor_of_two: bool,
    influence: Option<Arc<InfluenceFunction>>,
    surface: Array2<f64>,
}

/// A measured influence function: one actuator's response on a grid of `sampling` pixels
/// per actuator spacing (POPPY's influence-function file: the image and its `SAMPLING`
/// keyword).
#[derive(Clone, Debug, PartialEq)]
pub struct InfluenceFunction {
    data: Array2<f64>,
    sampling: f64,
}

impl InfluenceFunction {
    /// The response `data` (any units: it multiplies the actuator values), sampled at
    /// `sampling` pixels per actuator spacing.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Array`] for an empty array or a non-finite value;
    /// [`OpticsError::Invalid`] for a non-positive sampling.
    pub fn new(data: Array2<f64>, sampling: f64) -> Result<Self, OpticsError> {
        let sampling = positive("continuous_deformable_mirror", "SAMPLING", sampling)?;
        if data.is_empty() || data.iter().any(|v| !v.is_finite()) {
            return Err(OpticsError::Array {
                key: "influence function",
                message: "must be a non-empty 2-D array of finite values".into(),
            });
        }
        Ok(InfluenceFunction { data, sampling })
    }

    /// The influence function on pixels of `pixelscale` metres for actuators `spacing`
    /// metres apart: the image zoomed by `(spacing / pixelscale) / sampling` with cubic
    /// splines, as POPPY does (scipy's `ndimage.zoom`: order 3, mirror boundary, output
    /// size rounded, the corner samples kept in place).
    /// Only the part that can reach an `npix`-wide grid from an actuator on it is made.
    fn rescaled(&self, spacing: f64, pixelscale: f64, npix: usize) -> Zoomed {
        let scale = spacing / pixelscale / self.sampling;
        zoom_cubic(&self.data, scale, npix)
    }
}

/// A window of a zoomed image: the full image's size, the window's first row and column in
/// it, and the window.
#[derive(Clone, Debug)]
struct Zoomed {
    full: (usize, usize),
    origin: (usize, usize),
    data: Array2<f64>,
}

/// Largest zoomed size considered along an axis (beyond it only the window is made anyway).
const MAX_ZOOMED: usize = 1 << 40;

/// The window of a zoomed axis of `m` samples that a kernel centred as scipy's
/// `fftconvolve(mode='same')` can use on an `npix`-wide array.
fn window(m: usize, npix: usize) -> std::ops::Range<usize> {
    let centre = m.saturating_sub(1) / 2;
    centre.saturating_sub(npix.saturating_sub(1))..m.min(centre + npix)
}

/// scipy's `ndimage.zoom(data, scale)` with its defaults (cubic spline, `mode='constant'`,
/// `grid_mode=False`): output size `round(n scale)` per axis (half to even); output pixel
/// `k` samples input coordinate `k (n - 1) / (m - 1)`; the spline coefficients come from
/// the mirror-symmetric extension of the image.
///
/// Only the window of the result that can reach an `npix`-wide grid is computed.
fn zoom_cubic(data: &Array2<f64>, scale: f64, npix: usize) -> Zoomed {
    let (n0, n1) = data.dim();
    let out_len = |n: usize| {
        let m = (n as f64 * scale).round_ties_even();
        if m.is_finite() && m > 0.0 {
            (m as usize).min(MAX_ZOOMED)
        } else {
            0
        }
    };
    let full = if scale == 1.0 { (n0, n1) } else { (out_len(n0), out_len(n1)) };
    let (w0, w1) = (window(full.0, npix), window(full.1, npix));
    let origin = (w0.start, w1.start);
    if scale == 1.0 {
        // scipy returns the image itself.
        let data = data.slice(ndarray::s![w0, w1]).to_owned();
        return Zoomed { full, origin, data };
    }
    if w0.is_empty() || w1.is_empty() {
        return Zoomed { full, origin, data: Array2::zeros((w0.len(), w1.len())) };
    }
    let (m0, m1) = full;
    // Spline coefficients along both axes.
    let mut c = data.clone();
    for mut row in c.rows_mut() {
        let mut v = row.to_vec();
        spline_coefficients(&mut v);
        row.assign(&ndarray::ArrayView1::from(&v));
    }
    for mut col in c.columns_mut() {
        let mut v = col.to_vec();
        spline_coefficients(&mut v);
        col.assign(&ndarray::ArrayView1::from(&v));
    }
    let taps0 = zoom_taps(n0, m0, w0.clone());
    let taps1 = zoom_taps(n1, m1, w1.clone());
    let data = Array2::from_shape_fn((w0.len(), w1.len()), |(i, j)| {
        let (ref ri, ref wi) = taps0[i];
        let (ref rj, ref wj) = taps1[j];
        let mut sum = 0.0;
        for a in 0..4 {
            let mut row = 0.0;
            for b in 0..4 {
                row += wj[b] * c[[ri[a], rj[b]]];
            }
            sum += wi[a] * row;
        }
        sum
    });
    Zoomed { full, origin, data }
}

/// The four input indices (mirrored into range) and cubic B-spline weights for the output
/// samples `range` of a zoom from `n` to `m` samples.
fn zoom_taps(n: usize, m: usize, range: std::ops::Range<usize>) -> Vec<([usize; 4], [f64; 4])> {
    let factor = if m > 1 { (n as f64 - 1.0) / (m as f64 - 1.0) } else { 1.0 };
    let mirror = |k: i64| -> usize {
        if n == 1 {
            return 0;
        }
        let period = 2 * (n as i64 - 1);
        let mut k = k.rem_euclid(period);
        if k >= n as i64 {
            k = period - k;
        }
        k as usize
    };
    range
        .map(|k| {
            let x = k as f64 * factor;
            let start = x.floor();
            let t = x - start;
            let weights = [
                (1.0 - t).powi(3) / 6.0,
                (4.0 - 6.0 * t * t + 3.0 * t * t * t) / 6.0,
                (1.0 + 3.0 * t + 3.0 * t * t - 3.0 * t * t * t) / 6.0,
                t * t * t / 6.0,
            ];
            let s = start as i64 - 1;
            ([mirror(s), mirror(s + 1), mirror(s + 2), mirror(s + 3)], weights)
        })
        .collect()
}

/// Cubic B-spline coefficients of `v` in place, with the mirror-symmetric boundary (the
/// recursive filter of Unser et al. with exact mirror initial conditions, as scipy's).
fn spline_coefficients(v: &mut [f64]) {
    let n = v.len();
    if n < 2 {
        return;
    }
    let z = 3f64.sqrt() - 2.0;
    let gain = (1.0 - z) * (1.0 - 1.0 / z);
    v.iter_mut().for_each(|x| *x *= gain);
    // Causal initial value.
    let z_n1 = z.powi(n as i32 - 1);
    let mut c0 = v[0] + z_n1 * v[n - 1];
    let mut zi = z;
    for i in 1..n - 1 {
        c0 += zi * (v[i] + z_n1 * v[n - 1 - i]);
        zi *= z;
    }
    v[0] = c0 / (1.0 - z_n1 * z_n1);
    for i in 1..n {
        v[i] += z * v[i - 1];
    }
    // Anti-causal initial value.
    v[n - 1] = (z * v[n - 2] + v[n - 1]) * z / (z * z - 1.0);
    for i in (0..n - 1).rev() {
        v[i] = z * (v[i + 1] - v[i]);
    }
}

impl ContinuousDeformableMirror {
    /// A flat mirror of `rows` x `cols` actuators `spacing_m` apart (default, as POPPY:
    /// `2 radius / (rows - 1)`) and a reflective circle of `radius_m`.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for an empty or oversized grid, a non-positive spacing or
    /// radius, or a default spacing with a single row.
    pub fn new(
        rows: usize,
        cols: usize,
        spacing_m: Option<f64>,
        radius_m: f64,
    ) -> Result<Self, OpticsError> {
        const K: &str = "continuous_deformable_mirror";
        for n in [rows, cols] {
            if n == 0 || n > MAX_ACTUATORS {
                return Err(OpticsError::invalid(
                    K,
                    "dm_shape",
                    format!("[{rows}, {cols}]"),
                    "must be two integers from 1 to 4096",
                ));
            }
        }
        let radius = positive(K, "radius_m", radius_m)?;
        let spacing = match spacing_m {
            Some(s) => positive(K, "actuator_spacing_m", s)?,
            None if rows > 1 => 2.0 * radius / (rows - 1) as f64,
            None => {
                return Err(OpticsError::invalid(
                    K,
                    "actuator_spacing_m",
                    "none",
                    "must be given for a mirror with one row of actuators",
                ))
            }
        };
        Ok(ContinuousDeformableMirror {
            rows,
            cols,
            spacing,
            aperture: CircularAperture::new(radius)?,
            flip_x: false,
            flip_y: false,
            factor_of_two: false,
            influence: None,
            surface: Array2::zeros((rows, cols)),
        })
    }

    /// The same mirror with a measured influence function instead of POPPY's default
    /// Gaussians: the OPD is then the actuator map, placed on the grid with bilinear
    /// weights, convolved with the function rescaled to the grid (POPPY's model for an
    /// influence function from a file).
    pub fn with_influence(mut self, influence: InfluenceFunction) -> Self {
        self.influence = Some(Arc::new(influence));
        self
    }

    /// The same mirror with its actuator map flipped left-right (`flip_x`) and/or up-down
    /// (`flip_y`) before it is applied, for a mirror whose first actuator is not at the
    /// lower left as seen in the pupil.
    pub fn with_flips(mut self, flip_x: bool, flip_y: bool) -> Self {
        self.flip_x = flip_x;
        self.flip_y = flip_y;
        self
    }

    /// The same mirror whose actuator values are surface heights, so the OPD is twice them
    /// (reflection); by default they are the wavefront error itself.
    pub fn with_factor_of_two(mut self, on: bool) -> Self {
        self.factor_of_two = on;
        self
    }

    /// `(rows, columns)` of actuators.
    pub fn dm_shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// Distance between neighbouring actuators, metres.
    pub fn actuator_spacing(&self) -> f64 {
        self.spacing
    }

    /// Radius of the reflective circle, metres.
    pub fn radius(&self) -> f64 {
        self.aperture.radius()
    }

    /// The actuator values (metres), row 0 at -y.
    pub fn surface(&self) -> &Array2<f64> {
        &self.surface
    }

    /// Sets every actuator (metres), row 0 at -y.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Array`] for a map of another shape or with a non-finite value.
    pub fn set_surface(&mut self, surface: ArrayView2<'_, f64>) -> Result<(), OpticsError> {
        if surface.dim() != (self.rows, self.cols) {
            return Err(OpticsError::Array {
                key: "surface",
                message: format!(
                    "has {} rows of {} actuators; the mirror has dm_shape = [{}, {}]",
                    surface.nrows(),
                    surface.ncols(),
                    self.rows,
                    self.cols
                ),
            });
        }
        if let Some(v) = surface.iter().find(|v| !v.is_finite()) {
            return Err(OpticsError::Array {
                key: "surface",
                message: format!("holds {v}; actuator values must be finite"),
            });
        }
        self.surface.assign(&surface);
        Ok(())
    }

    /// Sets actuator `(row, col)` to `value_m` metres.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for an actuator outside the grid or a non-finite value.
    pub fn set_actuator(
        &mut self,
        row: usize,
        col: usize,
        value_m: f64,
    ) -> Result<(), OpticsError> {
        const K: &str = "continuous_deformable_mirror";
        if row >= self.rows || col >= self.cols {
            return Err(OpticsError::invalid(
                K,
                "actuator",
                format!("({row}, {col})"),
                "must lie inside dm_shape",
            ));
        }
        self.surface[[row, col]] = finite(K, "actuator value", value_m)?;
        Ok(())
    }

    /// Sets every actuator to 0.
    pub fn flatten(&mut self) {
        self.surface.fill(0.0);
    }

    /// The actuator map as applied: flipped as asked.
    fn oriented(&self) -> Array2<f64> {
        let mut s = self.surface.view();
        if self.flip_x {
            s.invert_axis(ndarray::Axis(1));
        }
        if self.flip_y {
            s.invert_axis(ndarray::Axis(0));
        }
        s.as_standard_layout().into_owned()
    }

    /// What the OPD on `grid` needs besides the actuator values, made once.
    pub fn sampling(&self, grid: &PupilGrid) -> DmSampling {
        if let Some(influence) = &self.influence {
            return self.convolution_sampling(influence, grid);
        }
        let sigma = self.spacing / (-CROSSTALK.ln()).sqrt();
        let centre = (self.rows as f64 - 1.0) / 2.0;
        let coords = grid.coords();
        // exp(-(dx^2 + dy^2) / sigma^2) = exp(-dx^2 / sigma^2) exp(-dy^2 / sigma^2): the sum
        // over actuators is two matrix products of 1-D Gaussians.
        let profile = |n: usize| {
            Array2::from_shape_fn((n, coords.len()), |(a, i)| {
                let c = (a as f64 - centre) * self.spacing;
                let v = (-(coords[i] - c).powi(2) / (sigma * sigma)).exp();
                if v < INFLUENCE_FLOOR {
                    0.0
                } else {
                    v
                }
            })
        };
        let along_x = profile(self.cols);
        let x_spans = along_x.rows().into_iter().map(nonzero_span).collect();
        let along_y = profile(self.rows).reversed_axes().as_standard_layout().into_owned();
        let y_spans = along_y.rows().into_iter().map(nonzero_span).collect();
        DmSampling {
            shape: (self.rows, self.cols),
            npix: grid.npix(),
            model: Model::Gaussian { along_y, y_spans, along_x, x_spans },
        }
    }

    /// POPPY's convolution model: each actuator's value goes to the 2 x 2 pixels around its
    /// position with bilinear weights (where two actuators share a pixel the later of
    /// POPPY's four passes wins), then the trace is convolved with the rescaled influence
    /// function, centred as scipy's `fftconvolve(mode='same')`. Actuators off the grid
    /// are dropped (POPPY refuses, or wraps them to the other edge).
    fn convolution_sampling(&self, influence: &InfluenceFunction, grid: &PupilGrid) -> DmSampling {
        let n = grid.npix();
        let centre_act = (self.rows as f64 - 1.0) / 2.0;
        let centre_pix = (n as f64 - 1.0) / 2.0;
        let pix =
            |k: usize| ((k as f64 - centre_act) * self.spacing) / grid.pixelscale() + centre_pix;
        let mut owner: Vec<Option<(usize, f64)>> = vec![None; n * n];
        for ix in 0..2usize {
            for iy in 0..2usize {
                for r in 0..self.rows {
                    let py = pix(r);
                    let (y0, fy) = (py.trunc(), py.fract());
                    let wy = if iy == 1 { fy } else { 1.0 - fy };
                    let y = y0 as i64 + iy as i64;
                    for c in 0..self.cols {
                        let px = pix(c);
                        let (x0, fx) = (px.trunc(), px.fract());
                        let wx = if ix == 1 { fx } else { 1.0 - fx };
                        let x = x0 as i64 + ix as i64;
                        if py < 0.0 || px < 0.0 || y >= n as i64 || x >= n as i64 {
                            continue;
                        }
                        owner[y as usize * n + x as usize] = Some((r * self.cols + c, wx * wy));
                    }
                }
            }
        }
        let deposits =
            owner.iter().enumerate().filter_map(|(p, o)| o.map(|(a, w)| (p, a, w))).collect();
        DmSampling {
            shape: (self.rows, self.cols),
            npix: n,
            model: Model::Convolution {
                kernel: influence.rescaled(self.spacing, grid.pixelscale(), n),
                deposits,
            },
        }
    }
}

/// The sampled influence of a [`ContinuousDeformableMirror`]'s actuators on one grid: the OPD
/// for any actuator values is then two small matrix products.
#[derive(Clone, Debug)]
pub struct DmSampling {
    shape: (usize, usize),
    npix: usize,
    model: Model,
}

/// How a [`DmSampling`] turns actuator values into an OPD.
#[derive(Clone, Debug)]
enum Model {
    /// POPPY's default Gaussians, separable.
    Gaussian {
        /// Pixel rows x actuator rows.
        along_y: Array2<f64>,
        /// For each pixel row, the actuator rows that reach it (the others' values are 0).
        y_spans: Vec<Range<usize>>,
        /// Actuator columns x pixel columns.
        along_x: Array2<f64>,
        /// For each actuator column, the pixel columns it reaches.
        x_spans: Vec<Range<usize>>,
    },
    /// An influence function from a file: trace pixels (flat pixel index, flat actuator
    /// index in the oriented map, weight), convolved with the rescaled function.
    Convolution { kernel: Zoomed, deposits: Vec<(usize, usize, f64)> },
}

impl DmSampling {
    /// Writes `dm`'s OPD (metres) into `out` (the grid's shape).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Array`] when `dm` has another actuator grid than the mirror this
    /// sampling was made for, or `out` another shape than the grid.
    pub fn opd_into(
        &self,
        dm: &ContinuousDeformableMirror,
        out: &mut Array2<f64>,
    ) -> Result<(), OpticsError> {
        if dm.dm_shape() != self.shape || out.dim() != (self.npix, self.npix) {
            return Err(OpticsError::Array {
                key: "opd",
                message: "does not match the mirror or grid this sampling was made for".into(),
            });
        }
        let coefficient = if dm.factor_of_two { 2.0 } else { 1.0 };
        let surface = dm.oriented();
        match &self.model {
            Model::Gaussian { along_y, y_spans, along_x, x_spans } => {
                let profiles = GaussianProfiles { along_y, y_spans, along_x, x_spans };
                let surface = surface.mapv(|v| coefficient * v);
                if out.is_standard_layout() {
                    gaussian_opd(&profiles, &surface, out);
                } else {
                    let mut standard = Array2::zeros(out.dim());
                    gaussian_opd(&profiles, &surface, &mut standard);
                    out.assign(&standard);
                }
            }
            Model::Convolution { kernel, deposits } => {
                out.fill(0.0);
                let cols = self.shape.1;
                let n = self.npix as i64;
                // Full kernel size and centre; the window starts at row r0, column c0.
                let (kr, kc) = (kernel.full.0 as i64, kernel.full.1 as i64);
                let (oy, ox) = ((kr - 1).max(0) / 2, (kc - 1).max(0) / 2);
                let (r0, c0) = (kernel.origin.0 as i64, kernel.origin.1 as i64);
                let (wr, wc) = kernel.data.dim();
                for &(p, a, w) in deposits {
                    let v = coefficient * w * surface[[a / cols, a % cols]];
                    if v == 0.0 {
                        continue;
                    }
                    let (py, px) = ((p as i64) / n, (p as i64) % n);
                    // out[py - oy + i, px - ox + j] += v k[i, j], inside the array.
                    let i0 = (oy - py).max(r0);
                    let i1 = (n - py + oy).min(r0 + wr as i64);
                    let j0 = (ox - px).max(c0);
                    let j1 = (n - px + ox).min(c0 + wc as i64);
                    for i in i0..i1 {
                        let y = (py - oy + i) as usize;
                        let krow = kernel.data.row((i - r0) as usize);
                        let mut orow = out.row_mut(y);
                        for j in j0..j1 {
                            orow[(px - ox + j) as usize] += v * krow[(j - c0) as usize];
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// `dm`'s OPD (metres) on the grid.
    ///
    /// # Errors
    ///
    /// As [`DmSampling::opd_into`].
    pub fn opd(&self, dm: &ContinuousDeformableMirror) -> Result<Array2<f64>, OpticsError> {
        let mut out = Array2::zeros((self.npix, self.npix));
        self.opd_into(dm, &mut out)?;
        Ok(out)
    }
}

/// The separable Gaussian influence of a [`DmSampling`], borrowed.
struct GaussianProfiles<'a> {
    along_y: &'a Array2<f64>,
    y_spans: &'a [Range<usize>],
    along_x: &'a Array2<f64>,
    x_spans: &'a [Range<usize>],
}

/// The indices of the first and past the last non-zero value of `values`.
fn nonzero_span(values: ndarray::ArrayView1<'_, f64>) -> Range<usize> {
    match values.iter().position(|x| *x != 0.0) {
        Some(first) => {
            first..values.len() - values.iter().rev().position(|x| *x != 0.0).unwrap_or(0)
        }
        None => 0..0,
    }
}

diffract_parallel::vectorised! {
    /// `out = along_y . (surface . along_x)`: each sum in actuator order, as plain products
    /// and sums (no fused multiply-add), so the result is the same on every machine and
    /// whichever vector width runs it. Terms whose influence value is 0 are skipped (they
    /// add nothing).
    fn gaussian_opd(p: &GaussianProfiles<'_>, surface: &Array2<f64>, out: &mut Array2<f64>) {
        let (rows, cols) = surface.dim();
        let npix = p.along_x.ncols();
        let ax = p.along_x.as_slice().expect("standard layout");
        let ay = p.along_y.as_slice().expect("standard layout");
        let s = surface.as_slice().expect("standard layout");
        // partial = surface . along_x (rows x npix), and the columns where each row may be
        // non-zero.
        let mut partial = vec![0.0; rows * npix];
        let mut spans = vec![0..0; rows];
        for r in 0..rows {
            let prow = &mut partial[r * npix..(r + 1) * npix];
            let mut span: Option<Range<usize>> = None;
            for c in 0..cols {
                let v = s[r * cols + c];
                let xs = p.x_spans[c].clone();
                if v == 0.0 || xs.is_empty() {
                    continue;
                }
                let arow = &ax[c * npix + xs.start..c * npix + xs.end];
                for (o, a) in prow[xs.clone()].iter_mut().zip(arow) {
                    *o += v * a;
                }
                span = Some(match span {
                    Some(sp) => sp.start.min(xs.start)..sp.end.max(xs.end),
                    None => xs,
                });
            }
            spans[r] = span.unwrap_or(0..0);
        }
        // out = along_y . partial.
        let o = out.as_slice_mut().expect("standard layout");
        for i in 0..npix {
            let orow = &mut o[i * npix..(i + 1) * npix];
            orow.fill(0.0);
            for r in p.y_spans[i].clone() {
                let js = spans[r].clone();
                if js.is_empty() {
                    continue;
                }
                let a = ay[i * rows + r];
                let prow = &partial[r * npix + js.start..r * npix + js.end];
                for (o, v) in orow[js].iter_mut().zip(prow) {
                    *o += a * v;
                }
            }
        }
    }
}

impl PupilOptic for ContinuousDeformableMirror {
    fn kind(&self) -> &'static str {
        "continuous_deformable_mirror"
    }
    fn describe(&self) -> String {
        format!(
            "Continuous DM, {} x {} actuators at {} m, radius={} m",
            self.rows,
            self.cols,
            self.spacing,
            self.radius()
        )
    }
    fn natural_diameter(&self) -> Option<f64> {
        // POPPY's pupil_diam: the whole actuator grid or the reflective circle.
        Some((self.rows.max(self.cols) as f64 * self.spacing).max(2.0 * self.radius()))
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        self.aperture.transmission(grid)
    }
    fn opd(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        self.sampling(grid).opd(self).ok()
    }
}

/// The segment shape of a [`SegmentedDeformableMirror`].
#[derive(Clone, Copy, Debug, PartialEq)]
enum SegmentShape {
    /// Hexagons of this side (vertex radius), flat sides parallel to X.
    Hexagon { side: f64 },
    /// Circles of this radius.
    Circle { radius: f64, gap: f64 },
}

/// A segmented deformable mirror: each segment moves in piston (metres), tip (radians,
/// multiplying x from the segment centre) and tilt (radians, multiplying y). POPPY's
/// `HexSegmentedDeformableMirror` and `CircularSegmentedDeformableMirror`: segments are
/// numbered as in [`SegmentLayout`], pixels belong to a segment when their centre is inside
/// it (no gray edges), and the transmission is 1 on the segments, 0 elsewhere.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentedDeformableMirror {
    kind: &'static str,
    layout: SegmentLayout,
    shape: SegmentShape,
    factor_of_two: bool,
    /// Piston, tip, tilt per segment number (every segment of the rings, present or not).
    actuators: Vec<[f64; 3]>,
}

impl SegmentedDeformableMirror {
    /// POPPY's `HexSegmentedDeformableMirror`: `rings` rings of hexagons `flattoflat_m`
    /// across separated by `gap_m`; `segments` lists those present (`None`: all, the centre
    /// only if `center`; POPPY's default for this mirror is `center = true`).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] as [`crate::MultiHexagonAperture::new`].
    pub fn hexagonal(
        rings: usize,
        flattoflat_m: f64,
        gap_m: f64,
        center: bool,
        segments: Option<Vec<usize>>,
    ) -> Result<Self, OpticsError> {
        const K: &str = "hex_segmented_deformable_mirror";
        let f2f = positive(K, "flattoflat_m", flattoflat_m)?;
        let gap = non_negative(K, "gap_m", gap_m)?;
        let side = f2f / 3f64.sqrt();
        let layout = SegmentLayout::new(K, rings, side * 3f64.sqrt() + gap, center, segments)?;
        Ok(Self::with_layout(K, layout, SegmentShape::Hexagon { side }))
    }

    /// POPPY's `CircularSegmentedDeformableMirror`: `rings` rings of circles of
    /// `segment_radius_m` separated by `gap_m`; `segments` as for
    /// [`SegmentedDeformableMirror::hexagonal`].
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] as [`crate::MultiCircularAperture::new`].
    pub fn circular(
        rings: usize,
        segment_radius_m: f64,
        gap_m: f64,
        center: bool,
        segments: Option<Vec<usize>>,
    ) -> Result<Self, OpticsError> {
        const K: &str = "circular_segmented_deformable_mirror";
        let radius = positive(K, "segment_radius_m", segment_radius_m)?;
        let gap = non_negative(K, "gap_m", gap_m)?;
        let layout = SegmentLayout::new(K, rings, 2.0 * radius + gap, center, segments)?;
        Ok(Self::with_layout(K, layout, SegmentShape::Circle { radius, gap }))
    }

    fn with_layout(kind: &'static str, layout: SegmentLayout, shape: SegmentShape) -> Self {
        let total = layout.segment_count();
        SegmentedDeformableMirror {
            kind,
            layout,
            shape,
            factor_of_two: false,
            actuators: vec![[0.0; 3]; total],
        }
    }

    /// The same mirror with OPD twice the commanded surface (reflection).
    pub fn with_factor_of_two(mut self, on: bool) -> Self {
        self.factor_of_two = on;
        self
    }

    /// The segment layout.
    pub fn layout(&self) -> &SegmentLayout {
        &self.layout
    }

    /// Piston (m), tip (rad), tilt (rad) of every segment number of the rings, present or
    /// not.
    pub fn actuators(&self) -> &[[f64; 3]] {
        &self.actuators
    }

    /// Sets segment `segment`'s piston (metres), tip and tilt (radians).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a segment that is not present or a non-finite value.
    pub fn set_actuator(
        &mut self,
        segment: usize,
        piston_m: f64,
        tip_rad: f64,
        tilt_rad: f64,
    ) -> Result<(), OpticsError> {
        if !self.layout.segments().contains(&segment) {
            return Err(OpticsError::invalid(
                self.kind,
                "segment",
                segment,
                "must be one of the mirror's segments",
            ));
        }
        self.actuators[segment] = [
            finite(self.kind, "piston_m", piston_m)?,
            finite(self.kind, "tip_rad", tip_rad)?,
            finite(self.kind, "tilt_rad", tilt_rad)?,
        ];
        Ok(())
    }

    /// Sets pistons, tips and tilts from lists indexed by segment number (index 0 the centre,
    /// present or not); segments beyond a list's end get 0.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] naming the list that is longer than the segment count of
    /// the rings, holds a non-finite value, or a non-zero one for a segment that is not
    /// present (POPPY's `set_actuator` refuses those).
    pub fn set_all(
        &mut self,
        piston_m: &[f64],
        tip_rad: &[f64],
        tilt_rad: &[f64],
    ) -> Result<(), OpticsError> {
        let total = self.actuators.len();
        let mut next = vec![[0.0; 3]; total];
        for (axis, (key, list)) in
            [("piston_m", piston_m), ("tip_rad", tip_rad), ("tilt_rad", tilt_rad)]
                .into_iter()
                .enumerate()
        {
            if list.len() > total {
                return Err(OpticsError::invalid(
                    self.kind,
                    key,
                    format!("a list of {} values", list.len()),
                    "must hold at most one value per segment of the rings (index 0 the centre)",
                ));
            }
            for (segment, (slot, &v)) in next.iter_mut().zip(list).enumerate() {
                slot[axis] = finite(self.kind, key, v)?;
                if v != 0.0 && !self.layout.segments().contains(&segment) {
                    return Err(OpticsError::invalid(
                        self.kind,
                        key,
                        format!("{v} for segment {segment}"),
                        "segments that are not present take 0",
                    ));
                }
            }
        }
        self.actuators = next;
        Ok(())
    }

    /// Sets every segment flat.
    pub fn flatten(&mut self) {
        self.actuators.iter_mut().for_each(|a| *a = [0.0; 3]);
    }

    /// The segment masks and per-pixel offsets from the segment centres on `grid`, made once.
    pub fn sampling(&self, grid: &PupilGrid) -> SegmentSampling {
        let n = grid.npix();
        let c = grid.coords();
        let mut label = vec![u32::MAX; n * n];
        for &seg in self.layout.segments() {
            let (cx, cy) = self.layout.center(seg);
            let reach = match self.shape {
                SegmentShape::Hexagon { side } => side,
                SegmentShape::Circle { radius, .. } => radius,
            } * 1.01
                + grid.pixelscale();
            let near = |v: f64, centre: f64| (v - centre).abs() <= reach;
            let cols: Vec<usize> = (0..n).filter(|&j| near(c[j], cx)).collect();
            for i in (0..n).filter(|&i| near(c[i], cy)) {
                let y = c[i] - cy;
                for &j in &cols {
                    let x = c[j] - cx;
                    let inside = match self.shape {
                        SegmentShape::Hexagon { side } => inside_hexagon(x, y, side),
                        SegmentShape::Circle { radius, .. } => (x * x + y * y).sqrt() < radius,
                    };
                    if inside {
                        // A later segment takes a pixel both claim, as in POPPY.
                        label[i * n + j] = seg as u32;
                    }
                }
            }
        }
        let pixels = label
            .iter()
            .enumerate()
            .filter(|(_, &l)| l != u32::MAX)
            .map(|(p, &l)| {
                let (cx, cy) = self.layout.center(l as usize);
                SegmentPixel { index: p, segment: l, dx: c[p % n] - cx, dy: c[p / n] - cy }
            })
            .collect();
        SegmentSampling { npix: n, total: self.actuators.len(), pixels }
    }
}

/// One pixel on a segment: its flat index, segment and offset from the segment centre.
#[derive(Clone, Copy, Debug)]
struct SegmentPixel {
    index: usize,
    segment: u32,
    dx: f64,
    dy: f64,
}

/// A [`SegmentedDeformableMirror`]'s segments sampled on one grid: the OPD for any actuator
/// values is one pass over the segment pixels.
#[derive(Clone, Debug)]
pub struct SegmentSampling {
    npix: usize,
    total: usize,
    pixels: Vec<SegmentPixel>,
}

impl SegmentSampling {
    /// The transmission: 1 on the segments, 0 elsewhere.
    pub fn transmission(&self) -> Array2<f64> {
        let mut t = Array2::zeros((self.npix, self.npix));
        let flat = t.as_slice_mut().expect("a new array is contiguous");
        for p in &self.pixels {
            flat[p.index] = 1.0;
        }
        t
    }

    /// Writes `dm`'s OPD (metres) into `out` (the grid's shape; 0 off the segments).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Array`] when `dm` has another layout than the mirror this sampling was
    /// made for, or `out` another shape than the grid.
    pub fn opd_into(
        &self,
        dm: &SegmentedDeformableMirror,
        out: &mut Array2<f64>,
    ) -> Result<(), OpticsError> {
        if dm.actuators.len() != self.total || out.dim() != (self.npix, self.npix) {
            return Err(OpticsError::Array {
                key: "opd",
                message: "does not match the mirror or grid this sampling was made for".into(),
            });
        }
        out.fill(0.0);
        let flat = out.as_slice_mut().ok_or_else(|| OpticsError::Array {
            key: "opd",
            message: "output array must be contiguous".into(),
        })?;
        let coefficient = if dm.factor_of_two { 2.0 } else { 1.0 };
        for p in &self.pixels {
            let [piston, tip, tilt] = dm.actuators[p.segment as usize];
            flat[p.index] = coefficient * (piston + tip * p.dx + tilt * p.dy);
        }
        Ok(())
    }
}

impl PupilOptic for SegmentedDeformableMirror {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn describe(&self) -> String {
        format!(
            "Segmented DM, {} rings, {} segments",
            self.layout.rings(),
            self.layout.segments().len()
        )
    }
    fn natural_diameter(&self) -> Option<f64> {
        let rings = self.layout.rings() as f64;
        Some(match self.shape {
            SegmentShape::Hexagon { .. } => self.layout.spacing() * (2.0 * rings + 1.0),
            SegmentShape::Circle { radius, gap } => {
                2.0 * radius * (2.0 * rings + 1.0) + gap * (2.0 * rings)
            }
        })
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        Some(self.sampling(grid).transmission())
    }
    fn opd(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let mut out = Array2::zeros((grid.npix(), grid.npix()));
        self.sampling(grid).opd_into(self, &mut out).ok()?;
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// numpy's `allclose` with its defaults (rtol 1e-5, atol 1e-8), the tolerance of
    /// POPPY's test_dms.py.
    fn allclose(a: &Array2<f64>, b: &Array2<f64>) -> bool {
        a.dim() == b.dim() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-8 + 1e-5 * y.abs())
    }

    /// POPPY's `ContinuousDeformableMirror()` defaults: 10 x 10 actuators, radius 1 m.
    fn default_dm() -> ContinuousDeformableMirror {
        ContinuousDeformableMirror::new(10, 10, None, 1.0).unwrap()
    }

    /// test_dms.py `test_cont_dm_flips`: a 5 x 5 mirror on POPPY's default 5-pixel, 8 m
    /// wavefront; flip_x mirrors the OPD left-right, flip_y up-down (numpy allclose).
    /// POPPY's `set_actuator(x, y)` is our `set_actuator(row = y, col = x)`.
    #[test]
    fn flips_mirror_the_opd() {
        let grid = PupilGrid::new(5, 8.0).unwrap();
        let opds: Vec<Array2<f64>> = [(false, false), (true, false), (false, true)]
            .into_iter()
            .map(|(fx, fy)| {
                let mut dm =
                    ContinuousDeformableMirror::new(5, 5, None, 1.0).unwrap().with_flips(fx, fy);
                dm.set_actuator(2, 0, 1e-6).unwrap();
                dm.set_actuator(1, 1, -0.5e-6).unwrap();
                dm.opd(&grid).unwrap()
            })
            .collect();
        let mut flipped_x = opds[1].clone();
        flipped_x.invert_axis(ndarray::Axis(1));
        let mut flipped_y = opds[2].clone();
        flipped_y.invert_axis(ndarray::Axis(0));
        assert!(allclose(&opds[0], &flipped_x.to_owned()), "flip_x");
        assert!(allclose(&opds[0], &flipped_y.to_owned()), "flip_y");
        assert!(!allclose(&opds[0], &opds[1]), "the flip must change this asymmetric map");
    }

    /// test_dms.py `test_factor_of_two_surface_vs_wfe`, continuous part: actuators (3, 7)
    /// and (7, 3) at 1 um on a 128-pixel, 2 m wavefront; the OPD doubles (numpy allclose).
    #[test]
    fn factor_of_two_doubles_the_continuous_opd() {
        let grid = PupilGrid::new(128, 2.0).unwrap();
        let mut dm = default_dm();
        let mut dm2 = default_dm().with_factor_of_two(true);
        for (x, y) in [(3, 7), (7, 3)] {
            dm.set_actuator(y, x, 1e-6).unwrap();
            dm2.set_actuator(y, x, 1e-6).unwrap();
        }
        let (single, double) = (dm.opd(&grid).unwrap(), dm2.opd(&grid).unwrap());
        assert!(allclose(&(single.clone() * 2.0), &double));
        assert!(single.iter().any(|v| v.abs() > 0.5e-6));
    }

    /// test_dms.py `test_factor_of_two_surface_vs_wfe`, hexagonal part: segments 3 and 6 at
    /// 1 um piston and 1e-4 rad tilt on a 128-pixel wavefront across the pupil diameter.
    #[test]
    fn factor_of_two_doubles_the_hex_opd() {
        let mut hex = SegmentedDeformableMirror::hexagonal(1, 1.0, 0.01, true, None).unwrap();
        let mut hex2 = hex.clone().with_factor_of_two(true);
        for seg in [3, 6] {
            hex.set_actuator(seg, 1e-6, 0.0, 1e-4).unwrap();
            hex2.set_actuator(seg, 1e-6, 0.0, 1e-4).unwrap();
        }
        let grid = PupilGrid::new(128, hex.natural_diameter().unwrap()).unwrap();
        let (single, double) = (hex.opd(&grid).unwrap(), hex2.opd(&grid).unwrap());
        assert!(allclose(&(single.clone() * 2.0), &double));
        assert!(single.iter().any(|v| v.abs() > 0.9e-6));
    }

    /// Setting actuators and resampling with a kept sampling gives what a fresh sampling
    /// gives (exactly: the same arithmetic), for both kinds of mirror.
    #[test]
    fn a_kept_sampling_follows_the_actuators() {
        let grid = PupilGrid::new(64, 2.2).unwrap();
        let mut dm = default_dm().with_flips(true, false);
        let sampling = dm.sampling(&grid);
        let mut out = Array2::zeros((64, 64));
        for k in 0..5 {
            dm.set_actuator(k, 9 - 2 * k, 1e-8 * (k as f64 + 1.0)).unwrap();
            sampling.opd_into(&dm, &mut out).unwrap();
            assert_eq!(out, dm.opd(&grid).unwrap(), "update {k}");
        }
        let data = Array2::from_shape_fn((15, 13), |(i, j)| 1.0 / (1.0 + (i * j) as f64));
        let mut dm = dm.with_influence(InfluenceFunction::new(data, 3.0).unwrap());
        let sampling = dm.sampling(&grid);
        for k in 0..3 {
            dm.set_actuator(9 - k, 2 * k, -1e-8 * (k as f64 + 1.0)).unwrap();
            sampling.opd_into(&dm, &mut out).unwrap();
            assert_eq!(out, dm.opd(&grid).unwrap(), "influence function, update {k}");
        }
        let mut seg = SegmentedDeformableMirror::circular(1, 0.3, 0.02, true, None).unwrap();
        let grid = PupilGrid::new(64, seg.natural_diameter().unwrap()).unwrap();
        let sampling = seg.sampling(&grid);
        seg.set_all(&[1e-8, 2e-8], &[0.0, 0.0, 1e-7], &[3e-7]).unwrap();
        sampling.opd_into(&seg, &mut out).unwrap();
        assert_eq!(out, seg.opd(&grid).unwrap());
        assert!(out.iter().any(|v| *v != 0.0));
    }

    /// A single poke is a Gaussian with 15% at the neighbouring actuators (POPPY's model).
    #[test]
    fn a_poke_has_fifteen_percent_crosstalk() {
        // 9 actuators 0.1 m apart; 81 pixels 0.0125 m wide put pixel centres on actuators.
        let mut dm = ContinuousDeformableMirror::new(9, 9, Some(0.1), 0.5).unwrap();
        dm.set_actuator(4, 4, 1e-7).unwrap();
        let opd = dm.opd(&PupilGrid::new(81, 1.0125).unwrap()).unwrap();
        assert!((opd[[40, 40]] - 1e-7).abs() < 1e-20);
        assert!((opd[[40, 48]] / 1e-7 - 0.15).abs() < 1e-12);
        assert!((opd[[32, 40]] / 1e-7 - 0.15).abs() < 1e-12);
    }

    /// An influence function zoomed far up or down costs at most a (2 npix - 1)-wide window
    /// and gives finite numbers: no huge allocation, no panic.
    #[test]
    fn extreme_influence_scales_stay_bounded() {
        let data = Array2::from_shape_fn((9, 9), |(i, j)| {
            (-((i as f64 - 4.0).powi(2) + (j as f64 - 4.0).powi(2)) / 8.0).exp()
        });
        let grid = PupilGrid::new(16, 1.0).unwrap();
        for sampling in [1e-12, 1e-3, 1e3, 1e12] {
            let f = InfluenceFunction::new(data.clone(), sampling).unwrap();
            let mut dm =
                ContinuousDeformableMirror::new(4, 4, Some(0.2), 0.5).unwrap().with_influence(f);
            dm.set_actuator(1, 2, 1e-8).unwrap();
            let sampling = dm.sampling(&grid);
            if let Model::Convolution { kernel, .. } = &sampling.model {
                assert!(kernel.data.nrows() <= 31 && kernel.data.ncols() <= 31);
            }
            assert!(sampling.opd(&dm).unwrap().iter().all(|v| v.is_finite()));
        }
        assert!(InfluenceFunction::new(data.clone(), 0.0).is_err());
        assert!(InfluenceFunction::new(Array2::zeros((0, 3)), 1.0).is_err());
    }

    #[test]
    fn bad_actuators_are_refused() {
        let mut dm = default_dm();
        assert!(dm.set_actuator(10, 0, 1.0).is_err());
        assert!(dm.set_actuator(0, 0, f64::NAN).is_err());
        assert!(dm.set_surface(Array2::zeros((10, 9)).view()).is_err());
        assert!(ContinuousDeformableMirror::new(1, 4, None, 1.0).is_err());
        assert!(ContinuousDeformableMirror::new(0, 4, Some(0.1), 1.0).is_err());
        let mut hex = SegmentedDeformableMirror::hexagonal(1, 1.0, 0.01, false, None).unwrap();
        // POPPY's set_actuator refuses a segment that is not present.
        assert!(hex.set_actuator(0, 1e-9, 0.0, 0.0).is_err());
        assert!(hex.set_actuator(7, 1e-9, 0.0, 0.0).is_err());
        let e = hex.set_all(&[0.0; 8], &[], &[]).unwrap_err();
        assert!(e.to_string().contains("piston_m"), "{e}");
        assert!(hex.set_all(&[0.0; 7], &[0.0; 7], &[0.0; 7]).is_ok());
        // The centre is absent (center = false): index 0 must then be 0.
        assert!(hex.set_all(&[], &[1e-7], &[]).is_err());
    }
}
