//! Operations on complex fields between the planes of a propagation: applying sampled
//! optics, tilting, zero-padding and cutting out, and cropping to the support.

use crate::phasor::{multiply_row, Factor};
use crate::Scratch;
use diffract_optics::{ImageGrid, ImageOptic};
use ndarray::{s, Array2, ArrayView2, ArrayViewMut2, Zip};
use num_complex::{Complex32, Complex64};
use std::f64::consts::PI;
use std::ops::Range;
use std::sync::Arc;

/// Wavelength-independent arrays of consecutive pupil-plane optics, on the grid where they
/// apply (the entrance pupil, or the zero-padded pupil after an FFT).
#[derive(Debug)]
pub(crate) struct PupilArrays {
    pub(crate) transmission: Option<Array2<f64>>,
    pub(crate) opd: Option<Array2<f64>>,
    /// Phase in radians, the same at every wavelength.
    pub(crate) phase: Option<Array2<f64>>,
}

impl PupilArrays {
    /// Bytes held by the arrays.
    pub(crate) fn bytes(&self) -> u64 {
        [&self.transmission, &self.opd, &self.phase]
            .iter()
            .map(|x| x.as_ref().map_or(0, |t| t.len() as u64 * 8))
            .sum()
    }
}

/// Folds one optic's arrays into `acc`: transmissions multiply, OPDs and phases add.
pub(crate) fn combine(
    acc: &mut PupilArrays,
    t: Option<Array2<f64>>,
    opd: Option<Array2<f64>>,
    phase: Option<Array2<f64>>,
) {
    if let Some(p) = phase {
        match acc.phase.as_mut() {
            Some(a) => *a += &p,
            None => acc.phase = Some(p),
        }
    }
    if let Some(t) = t {
        match acc.transmission.as_mut() {
            Some(a) => *a *= &t,
            None => acc.transmission = Some(t),
        }
    }
    if let Some(o) = opd {
        match acc.opd.as_mut() {
            Some(a) => *a += &o,
            None => acc.opd = Some(o),
        }
    }
}

/// Multiplies `field` by `t * exp(i k opd)`.
pub(crate) fn apply_pupil(field: &mut Array2<Complex64>, arrays: &PupilArrays, k: f64) {
    apply_pupil_view(&mut field.view_mut(), arrays, k);
}

/// As [`apply_pupil`], with `par` threads sharing blocks of rows (the same values).
pub(crate) fn apply_pupil_par(
    field: &mut Array2<Complex64>,
    arrays: &PupilArrays,
    k: f64,
    par: diffract_parallel::Par,
) {
    const BLOCK_ROWS: usize = 32;
    let n = field.nrows();
    let fits = |a: &Option<Array2<f64>>| a.as_ref().is_none_or(|a| a.dim() == field.dim());
    let threads = par.threads();
    if threads < 2
        || n < 2 * BLOCK_ROWS
        || !(fits(&arrays.transmission) && fits(&arrays.opd) && fits(&arrays.phase))
    {
        return apply_pupil(field, arrays, k);
    }
    let mut blocks: Vec<(usize, ArrayViewMut2<'_, Complex64>)> = field
        .axis_chunks_iter_mut(ndarray::Axis(0), BLOCK_ROWS)
        .enumerate()
        .map(|(b, v)| (b * BLOCK_ROWS, v))
        .collect();
    diffract_parallel::for_each_shared(&mut blocks, threads, |(first, view)| {
        let rows = *first..*first + view.nrows();
        let sub = |a| rows_of(a, rows.clone());
        apply_pupil_rows(view, sub(&arrays.transmission), sub(&arrays.opd), sub(&arrays.phase), k);
    });
}

/// Multiplies a view of a field by `t * exp(i k opd)` (and `exp(i phase)`), row by row, the
/// sines and cosines from [`crate::phasor`].
pub(crate) fn apply_pupil_view(
    field: &mut ArrayViewMut2<'_, Complex64>,
    arrays: &PupilArrays,
    k: f64,
) {
    let view = |a| rows_of(a, 0..field.nrows());
    apply_pupil_rows(field, view(&arrays.transmission), view(&arrays.opd), view(&arrays.phase), k);
}

/// Rows `rows` of `a`, if any.
fn rows_of(a: &Option<Array2<f64>>, rows: std::ops::Range<usize>) -> Option<ArrayView2<'_, f64>> {
    a.as_ref().map(|a| a.slice(s![rows, ..]))
}

/// Multiplies a view of a field by `exp(i phase)`, then `t * exp(i k opd)` (views of the
/// field's shape).
fn apply_pupil_rows<'a>(
    field: &mut ArrayViewMut2<'_, Complex64>,
    t: Option<ArrayView2<'a, f64>>,
    opd: Option<ArrayView2<'a, f64>>,
    phase: Option<ArrayView2<'a, f64>>,
    k: f64,
) {
    if let Some(p) = phase {
        multiply_rows(field, &[p], |f, rows| multiply_row(f, Factor::Phase(rows[0])));
    }
    match (t, opd) {
        (None, None) => {}
        (Some(t), None) => Zip::from(field).and(t).for_each(|f, &t| *f *= t),
        (None, Some(o)) => multiply_rows(field, &[o], |f, rows| {
            multiply_row(f, Factor::Opd { t: None, opd: rows[0], k })
        }),
        (Some(t), Some(o)) => multiply_rows(field, &[t, o], |f, rows| {
            multiply_row(f, Factor::Opd { t: Some(rows[0]), opd: rows[1], k })
        }),
    }
}

/// Calls `op` with each row of `field` and the same row of each of `arrays`, as slices
/// (from standard-layout copies when a view's rows are strided).
fn multiply_rows(
    field: &mut ArrayViewMut2<'_, Complex64>,
    arrays: &[ArrayView2<'_, f64>],
    op: impl Fn(&mut [Complex64], &[&[f64]; 2]),
) {
    let contiguous = |stride: isize, cols: usize| stride == 1 || cols <= 1;
    let (rows, cols) = field.dim();
    if !contiguous(field.strides()[1], cols) || arrays.iter().any(|a| !a.is_standard_layout()) {
        let mut own = field.as_standard_layout().into_owned();
        let standard: Vec<Array2<f64>> =
            arrays.iter().map(|a| a.as_standard_layout().into_owned()).collect();
        let views: Vec<ArrayView2<'_, f64>> = standard.iter().map(|a| a.view()).collect();
        multiply_rows(&mut own.view_mut(), &views, op);
        field.assign(&own);
        return;
    }
    for i in 0..rows {
        let mut row = field.row_mut(i);
        let f = row.as_slice_mut().expect("contiguous row");
        let a = arrays[0].row(i).to_slice().expect("standard layout");
        let b = arrays.get(1).map_or(a, |b| b.row(i).to_slice().expect("standard layout"));
        op(f, &[a, b]);
    }
}

/// Multiplies an image-plane field by its optics (or, `inverse`, by one minus the
/// transmission with the optics' OPD: the Babinet complement of the semi-analytic method).
///
/// An optic that is clear outside a box (`blocking_extent`) is evaluated only inside it; one
/// that is opaque outside a box (`transmitting_extent`) zeroes the field outside and is
/// evaluated inside: the same result as evaluating it everywhere, for a fraction of the work.
pub(crate) fn apply_image(
    field: &mut Array2<Complex64>,
    grid: &ImageGrid,
    optics: &[Arc<dyn ImageOptic>],
    k: f64,
    inverse: bool,
) {
    for optic in optics {
        let boxed = if inverse {
            None
        } else {
            optic
                .blocking_extent()
                .map(|e| (e, false))
                .or(optic.transmitting_extent().map(|e| (e, true)))
        };
        if let Some((extent, opaque_outside)) = boxed {
            let (rows, cols) = box_around(grid, extent);
            if opaque_outside {
                zero_outside(field, &rows, &cols, Complex64::new(0.0, 0.0));
            }
            let sub = ImageGrid {
                shape: (rows.len(), cols.len()),
                pixelscale: grid.pixelscale,
                center: (grid.center.0 - rows.start as f64, grid.center.1 - cols.start as f64),
                frame: grid.frame,
            };
            let arrays = PupilArrays {
                transmission: optic.transmission(&sub),
                opd: optic.opd(&sub),
                phase: optic.phase(&sub),
            };
            apply_pupil_view(&mut field.slice_mut(s![rows, cols]), &arrays, k);
            continue;
        }
        let t = optic.transmission(grid);
        let t = if inverse {
            Some(t.map_or_else(|| Array2::zeros(grid.shape), |t| t.mapv(|v| 1.0 - v)))
        } else {
            t
        };
        apply_pupil(
            field,
            &PupilArrays { transmission: t, opd: optic.opd(grid), phase: optic.phase(grid) },
            k,
        );
    }
}

/// Zeroes `field` outside the rows `rows` and columns `cols` (an optic opaque outside its
/// box).
fn zero_outside<T: Clone>(
    field: &mut Array2<T>,
    rows: &Range<usize>,
    cols: &Range<usize>,
    zero: T,
) {
    for (i, mut row) in field.rows_mut().into_iter().enumerate() {
        if rows.contains(&i) {
            row.slice_mut(s![..cols.start]).fill(zero.clone());
            row.slice_mut(s![cols.end..]).fill(zero.clone());
        } else {
            row.fill(zero.clone());
        }
    }
}

/// Rows of a single-precision image plane converted at a time by [`apply_image32`].
const ROWS32: usize = 64;

/// [`apply_image`] (forward) on a single-precision padded image plane: optics with a finite
/// extent are applied in their box, the rows of the box converted to double precision a
/// block at a time and sampled on the block's sub-grid (as `apply_image` samples the box);
/// an optic without one on the whole plane converted to double precision.
pub(crate) fn apply_image32(
    field: &mut Array2<Complex32>,
    grid: &ImageGrid,
    optics: &[Arc<dyn ImageOptic>],
    k: f64,
) {
    let zero = Complex32::new(0.0, 0.0);
    let widen = |z: &Complex32| Complex64::new(z.re.into(), z.im.into());
    let narrow = |z: &Complex64| Complex32::new(z.re as f32, z.im as f32);
    for optic in optics {
        let boxed = optic
            .blocking_extent()
            .map(|e| (e, false))
            .or(optic.transmitting_extent().map(|e| (e, true)));
        let Some((extent, opaque_outside)) = boxed else {
            let mut wide = field.map(widen);
            apply_image(&mut wide, grid, std::slice::from_ref(optic), k, false);
            field.zip_mut_with(&wide, |f, w| *f = narrow(w));
            continue;
        };
        let (rows, cols) = box_around(grid, extent);
        if opaque_outside {
            zero_outside(field, &rows, &cols, zero);
        }
        let mut start = rows.start;
        while start < rows.end {
            let end = (start + ROWS32).min(rows.end);
            let sub = ImageGrid {
                shape: (end - start, cols.len()),
                pixelscale: grid.pixelscale,
                center: (grid.center.0 - start as f64, grid.center.1 - cols.start as f64),
                frame: grid.frame,
            };
            let arrays = PupilArrays {
                transmission: optic.transmission(&sub),
                opd: optic.opd(&sub),
                phase: optic.phase(&sub),
            };
            let mut part = field.slice_mut(s![start..end, cols.clone()]);
            let mut wide = part.map(widen);
            apply_pupil_view(&mut wide.view_mut(), &arrays, k);
            part.zip_mut_with(&wide, |f, w| *f = narrow(w));
            start = end;
        }
    }
}

/// The pixel rows and columns of `grid` within half-widths `extent` (arcsec, x then y) of
/// the origin, with a two-pixel margin for gray edges.
pub(crate) fn box_around(grid: &ImageGrid, extent: (f64, f64)) -> (Range<usize>, Range<usize>) {
    let span = |centre: f64, half: f64, n: usize| {
        let h = half / grid.pixelscale + 2.0;
        let lo = (centre - h).floor().clamp(0.0, n as f64) as usize;
        let hi = (centre + h + 1.0).ceil().clamp(0.0, n as f64) as usize;
        lo..hi.max(lo)
    };
    (span(grid.center.0, extent.1, grid.shape.0), span(grid.center.1, extent.0, grid.shape.1))
}

/// Multiplies `field` (pixel spacing `scale` metres, the axis at index `centre`) by the tilt
/// `exp(-2 pi i (x ax + y ay) / lambda)` for angles `ax`, `ay` in radians.
pub(crate) fn tilt(
    field: &mut Array2<Complex64>,
    scale: f64,
    centre: f64,
    ax: f64,
    ay: f64,
    wavelength: f64,
) {
    let n = field.nrows();
    let c: Vec<f64> = (0..n).map(|i| scale * (i as f64 - centre)).collect();
    let cols: Vec<Complex64> =
        c.iter().map(|&x| Complex64::from_polar(1.0, -2.0 * PI * x * ax / wavelength)).collect();
    for (i, mut row) in field.rows_mut().into_iter().enumerate() {
        let ry = Complex64::from_polar(1.0, -2.0 * PI * c[i] * ay / wavelength);
        for (f, cx) in row.iter_mut().zip(&cols) {
            *f *= ry * cx;
        }
    }
}

/// The offset of an `n`-pixel array centred in an `npad`-pixel one (POPPY's rounding).
pub(crate) fn pad_offset(n: usize, npad: usize) -> usize {
    let os = npad as f64 / n as f64;
    (n as f64 * (os - 1.0) / 2.0).round_ties_even() as usize
}

/// `field` centred in a zeroed `npad x npad` array (its storage lent by `scratch`).
pub(crate) fn pad(
    field: &Array2<Complex64>,
    npad: usize,
    scratch: &mut Scratch,
) -> Array2<Complex64> {
    let n = field.nrows();
    let o = pad_offset(n, npad);
    let mut out = Array2::from_shape_vec((npad, npad), scratch.take_buffer(npad * npad))
        .expect("npad^2 values");
    out.slice_mut(s![o..o + n, o..o + n]).assign(field);
    out
}

/// The central `n x n` part of a zero-padded field.
pub(crate) fn unpad(field: &Array2<Complex64>, n: usize) -> Array2<Complex64> {
    let o = pad_offset(n, field.nrows());
    field.slice(s![o..o + n, o..o + n]).to_owned()
}

/// The smallest centred square sub-array (same parity as the input) holding every non-zero
/// value, and its size. The MFT of the crop, over `nlamD * m / n`, equals the MFT of the
/// whole array. (The reference for the detector step's `support_size`.)
#[cfg(test)]
pub(crate) fn crop_to_support(field: &Array2<Complex64>) -> (Array2<Complex64>, usize) {
    let n = field.nrows();
    let zero = Complex64::new(0.0, 0.0);
    let mut reach = 0usize; // largest |index - centre| in half-pixel units, rounded up
    let mut any = false;
    for ((i, j), v) in field.indexed_iter() {
        if *v != zero {
            any = true;
            let di = (2 * i).abs_diff(n - 1);
            let dj = (2 * j).abs_diff(n - 1);
            reach = reach.max(di).max(dj);
        }
    }
    if !any {
        return (field.clone(), n);
    }
    // Size m with m - 1 >= reach and (n - m) even.
    let mut m = reach + 1;
    if (n - m.min(n)) % 2 == 1 {
        m += 1;
    }
    let m = m.min(n);
    if m == n {
        return (field.clone(), n);
    }
    let o = (n - m) / 2;
    (field.slice(s![o..o + m, o..o + m]).to_owned(), m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_keeps_the_centre_and_parity() {
        let mut f = Array2::zeros((10, 10));
        f[[4, 5]] = Complex64::new(1.0, 0.0);
        f[[3, 6]] = Complex64::new(1.0, 0.0);
        let (c, m) = crop_to_support(&f);
        assert_eq!(m, 4);
        assert_eq!(c[[0, 3]], Complex64::new(1.0, 0.0));
        let mut g = Array2::zeros((9, 9));
        g[[4, 4]] = Complex64::new(1.0, 0.0);
        assert_eq!(crop_to_support(&g).1, 1);
        g[[0, 4]] = Complex64::new(1.0, 0.0);
        assert_eq!(crop_to_support(&g).1, 9);
    }

    #[test]
    fn pad_and_unpad_round_trip() {
        let f = Array2::from_shape_fn((6, 6), |(i, j)| Complex64::new(i as f64, j as f64));
        let p = pad(&f, 24, &mut Scratch::new());
        assert_eq!(p[[9, 9]], f[[0, 0]]);
        assert_eq!(unpad(&p, 6), f);
    }
}
