//! Optics given as sampled arrays (for example read from FITS files): POPPY's
//! `ArrayOpticalElement` and `FITSOpticalElement`.

use crate::error::positive;
use crate::{ImageGrid, ImageOptic, OpticsError, PupilGrid, PupilOptic};
use ndarray::Array2;

/// What the OPD array holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpdKind {
    /// Optical path difference in metres (phase scales as 1/wavelength).
    Metres,
    /// Phase in radians, the same at every wavelength.
    Radians,
}

/// An optic sampled on a square grid of `pixelscale` per pixel (metres in pupil planes,
/// arcsec in image planes), centred on the array centre. Flips and rotation are applied
/// once, when the optic is made; the arrays are then resampled onto each grid that asks:
/// copied (centred, cropped or zero-padded) when the pixel scales agree to 0.1%, as POPPY
/// does, and interpolated bilinearly otherwise.
#[derive(Clone, Debug, PartialEq)]
pub struct ArrayOptic {
    kind: &'static str,
    transmission: Option<Array2<f64>>,
    opd: Option<Array2<f64>>,
    opd_kind: OpdKind,
    pixelscale: f64,
}

/// Orientation changes applied when an [`ArrayOptic`] is made.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Orientation {
    /// Mirror left-right (x to -x), before rotating.
    pub flip_x: bool,
    /// Mirror top-bottom (y to -y), before rotating.
    pub flip_y: bool,
    /// Counter-clockwise rotation, degrees (exact for multiples of 90).
    pub rotation_deg: f64,
}

fn check_array(name: &'static str, a: &Array2<f64>) -> Result<(), OpticsError> {
    if a.is_empty() {
        return Err(OpticsError::invalid(
            "fits_optic",
            name,
            "an empty array",
            "must hold at least one pixel",
        ));
    }
    if let Some(((i, j), v)) = a.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(OpticsError::Array {
            key: name,
            message: format!(
                "holds {v} at pixel (row {i}, column {j}); every value must be finite"
            ),
        });
    }
    Ok(())
}

/// Mirrors and rotates `a` about its centre (bilinear for angles that are not multiples
/// of 90 degrees; pixels that fall outside become 0).
fn orient(a: &Array2<f64>, o: Orientation) -> Array2<f64> {
    let mut a = a.clone();
    if o.flip_x {
        a.invert_axis(ndarray::Axis(1));
    }
    if o.flip_y {
        a.invert_axis(ndarray::Axis(0));
    }
    let a = a.as_standard_layout().into_owned();
    let quarter = o.rotation_deg / 90.0;
    if quarter == quarter.round() {
        // Exact quarter turns. With rows as +y and columns as +x, a counter-clockwise turn
        // takes (x, y) to (-y, x).
        let k = (quarter.round() as i64).rem_euclid(4);
        let mut out = a;
        for _ in 0..k {
            let (ny, nx) = out.dim();
            out = Array2::from_shape_fn((nx, ny), |(i, j)| out[[ny - 1 - j, i]]);
        }
        return out;
    }
    let (ny, nx) = a.dim();
    let (cy, cx) = ((ny as f64 - 1.0) / 2.0, (nx as f64 - 1.0) / 2.0);
    let (s, c) = o.rotation_deg.to_radians().sin_cos();
    Array2::from_shape_fn((ny, nx), |(i, j)| {
        let (x, y) = (j as f64 - cx, i as f64 - cy);
        // The source point that lands here: rotate back by -theta.
        let (xs, ys) = (c * x + s * y, -s * x + c * y);
        bilinear(&a, ys + cy, xs + cx)
    })
}

/// Bilinear interpolation of `a` at fractional (row, column), 0 outside.
pub fn bilinear(a: &Array2<f64>, r: f64, c: f64) -> f64 {
    let (ny, nx) = a.dim();
    if r < -1.0 || c < -1.0 || r > ny as f64 || c > nx as f64 {
        return 0.0;
    }
    let (r0, c0) = (r.floor(), c.floor());
    let (fr, fc) = (r - r0, c - c0);
    let get = |i: f64, j: f64| {
        if i < 0.0 || j < 0.0 || i >= ny as f64 || j >= nx as f64 {
            0.0
        } else {
            a[[i as usize, j as usize]]
        }
    };
    (1.0 - fr) * ((1.0 - fc) * get(r0, c0) + fc * get(r0, c0 + 1.0))
        + fr * ((1.0 - fc) * get(r0 + 1.0, c0) + fc * get(r0 + 1.0, c0 + 1.0))
}

impl ArrayOptic {
    /// An optic from a transmission and/or an OPD array (same shape) sampled at
    /// `pixelscale` per pixel; `kind` names it in messages (`"fits_optic"`).
    ///
    /// # Errors
    ///
    /// [`OpticsError`] when neither array is given, the shapes differ, an array is empty or
    /// holds a non-finite value, or the pixel scale is not positive.
    pub fn new(
        kind: &'static str,
        transmission: Option<Array2<f64>>,
        opd: Option<Array2<f64>>,
        opd_kind: OpdKind,
        pixelscale: f64,
        orientation: Orientation,
    ) -> Result<Self, OpticsError> {
        let pixelscale = positive(kind, "pixelscale", pixelscale)?;
        if transmission.is_none() && opd.is_none() {
            return Err(OpticsError::invalid(
                kind,
                "transmission_path",
                "nothing",
                "give transmission_path, opd_path or both",
            ));
        }
        if let Some(t) = &transmission {
            check_array("transmission", t)?;
        }
        if let Some(o) = &opd {
            check_array("opd", o)?;
        }
        if let (Some(t), Some(o)) = (&transmission, &opd) {
            if t.dim() != o.dim() {
                return Err(OpticsError::Array {
                    key: "opd",
                    message: format!(
                        "is {:?} pixels but the transmission is {:?}; they must match",
                        o.dim(),
                        t.dim()
                    ),
                });
            }
        }
        let transmission = transmission.map(|t| orient(&t, orientation));
        let opd = opd.map(|o| orient(&o, orientation));
        Ok(ArrayOptic { kind, transmission, opd, opd_kind, pixelscale })
    }

    /// Pixels across (rows, columns) after orientation.
    pub fn shape(&self) -> (usize, usize) {
        self.transmission.as_ref().or(self.opd.as_ref()).map_or((0, 0), |a| a.dim())
    }

    /// Samples `a` onto an `ny x nx` grid of `scale` per pixel centred at `(cy, cx)`.
    fn sample(
        &self,
        a: &Array2<f64>,
        (ny, nx): (usize, usize),
        scale: f64,
        (cy, cx): (f64, f64),
    ) -> Array2<f64> {
        let (my, mx) = a.dim();
        let ratio = scale / self.pixelscale;
        let centred = (cy - (ny as f64 - 1.0) / 2.0).abs() < 1e-9
            && (cx - (nx as f64 - 1.0) / 2.0).abs() < 1e-9;
        if (ratio - 1.0).abs() < 1e-3 && centred {
            // POPPY's pad_or_crop_to_shape: integer offsets (N_out - N_in) // 2.
            let oy = (ny as i64 - my as i64).div_euclid(2);
            let ox = (nx as i64 - mx as i64).div_euclid(2);
            return Array2::from_shape_fn((ny, nx), |(i, j)| {
                let (si, sj) = (i as i64 - oy, j as i64 - ox);
                if si >= 0 && sj >= 0 && (si as usize) < my && (sj as usize) < mx {
                    a[[si as usize, sj as usize]]
                } else {
                    0.0
                }
            });
        }
        let (ay, ax) = ((my as f64 - 1.0) / 2.0, (mx as f64 - 1.0) / 2.0);
        Array2::from_shape_fn((ny, nx), |(i, j)| {
            let y = (i as f64 - cy) * ratio + ay;
            let x = (j as f64 - cx) * ratio + ax;
            bilinear(a, y, x)
        })
    }

    fn sample_pupil(&self, a: &Option<Array2<f64>>, grid: &PupilGrid) -> Option<Array2<f64>> {
        let n = grid.npix();
        let c = (n as f64 - 1.0) / 2.0;
        a.as_ref().map(|a| self.sample(a, (n, n), grid.pixelscale(), (c, c)))
    }

    fn sample_image(&self, a: &Option<Array2<f64>>, grid: &ImageGrid) -> Option<Array2<f64>> {
        a.as_ref().map(|a| self.sample(a, grid.shape, grid.pixelscale, grid.center))
    }
}

impl PupilOptic for ArrayOptic {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn describe(&self) -> String {
        format!("Array optic {:?} pixels at {} per pixel", self.shape(), self.pixelscale)
    }
    /// POPPY's `FITSOpticalElement.pupil_diam`: the rows times the pixel scale.
    fn natural_diameter(&self) -> Option<f64> {
        Some(self.shape().0 as f64 * self.pixelscale)
    }
    fn natural_npix(&self) -> Option<usize> {
        Some(self.shape().0)
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        self.sample_pupil(&self.transmission, grid)
    }
    fn opd(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        (self.opd_kind == OpdKind::Metres).then(|| self.sample_pupil(&self.opd, grid)).flatten()
    }
    fn phase(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        (self.opd_kind == OpdKind::Radians).then(|| self.sample_pupil(&self.opd, grid)).flatten()
    }
}

impl ImageOptic for ArrayOptic {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn describe(&self) -> String {
        format!("Array optic {:?} pixels at {}\" per pixel", self.shape(), self.pixelscale)
    }
    fn transmission(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        self.sample_image(&self.transmission, grid)
    }
    fn opd(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        (self.opd_kind == OpdKind::Metres).then(|| self.sample_image(&self.opd, grid)).flatten()
    }
    fn phase(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        (self.opd_kind == OpdKind::Radians).then(|| self.sample_image(&self.opd, grid)).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asym() -> Array2<f64> {
        // An L shape: row 0 (bottom, y lowest) full, column 0 full.
        Array2::from_shape_fn((3, 3), |(i, j)| f64::from(u8::from(i == 0 || j == 0)))
    }

    #[test]
    fn quarter_turns_and_flips_are_exact() {
        let a = asym();
        let o =
            |flip_x, flip_y, rotation_deg| orient(&a, Orientation { flip_x, flip_y, rotation_deg });
        // A counter-clockwise quarter turn takes the bottom edge (row 0, along +x) to the
        // right edge (column 2, along +y) ...
        let r = o(false, false, 90.0);
        assert_eq!(r.column(2).to_vec(), vec![1.0, 1.0, 1.0]);
        // ... and the left edge (column 0, along +y) to the bottom edge (row 0, along -x).
        assert_eq!(r.row(0).to_vec(), vec![1.0, 1.0, 1.0]);
        assert_eq!(r[[1, 0]] + r[[2, 0]] + r[[1, 1]] + r[[2, 1]], 0.0);
        assert_eq!(o(false, false, 360.0), a);
        assert_eq!(o(false, false, 180.0), o(true, true, 0.0));
        // A non-multiple-of-90 rotation by 90.000001 degrees is close to the exact one.
        let near = o(false, false, 90.000001);
        assert!(near.iter().zip(&r).all(|(x, y)| (x - y).abs() < 1e-6));
    }

    #[test]
    fn same_scale_copies_centred_and_other_scales_interpolate() {
        let t = Array2::from_shape_fn((4, 4), |(i, j)| (i * 4 + j) as f64);
        let optic = ArrayOptic::new(
            "fits_optic",
            Some(t.clone()),
            None,
            OpdKind::Metres,
            0.5,
            Orientation::default(),
        )
        .unwrap();
        let grid = PupilGrid::new(8, 4.0).unwrap(); // 0.5 m pixels
        let s = PupilOptic::transmission(&optic, &grid).unwrap();
        assert_eq!(s.slice(ndarray::s![2..6, 2..6]), t);
        assert_eq!(s[[0, 0]], 0.0);
        let fine = PupilGrid::new(7, 1.75).unwrap(); // 0.25 m pixels: centre lands between samples
        let f = PupilOptic::transmission(&optic, &fine).unwrap();
        assert!((f[[3, 3]] - 7.5).abs() < 1e-12);
    }

    #[test]
    fn bad_arrays_are_refused_with_the_pixel() {
        let mut t = Array2::ones((3, 3));
        t[[1, 2]] = f64::NAN;
        let e = ArrayOptic::new(
            "fits_optic",
            Some(t),
            None,
            OpdKind::Metres,
            1.0,
            Orientation::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "transmission holds NaN at pixel (row 1, column 2); every value must be finite"
        );
        let e = ArrayOptic::new(
            "fits_optic",
            Some(Array2::ones((3, 3))),
            Some(Array2::zeros((2, 3))),
            OpdKind::Metres,
            1.0,
            Orientation::default(),
        );
        assert!(e.unwrap_err().to_string().contains("they must match"));
    }
}
