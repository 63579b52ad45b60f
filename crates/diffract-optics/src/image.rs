//! Image-plane optics: occulters, field stops and coronagraph masks, evaluated on an image
//! grid in arcseconds (which depends on wavelength, so they are sampled per wavelength).

use crate::error::{finite, non_negative, positive};
use crate::geometry::{gray_value, pixel_fraction_in_disc, rotate_into};
use crate::special::bessel_j1;
use crate::{Frame, OpticsError, ScalarTransmission};
use ndarray::Array2;
use std::fmt::Debug;

/// The sampling of an image plane: `ny x nx` pixels of `pixelscale` arcsec, with pixel
/// `(i, j)` at `((i - center.0) * pixelscale, (j - center.1) * pixelscale)` arcsec (y, x).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ImageGrid {
    /// Rows and columns.
    pub shape: (usize, usize),
    /// Arcsec per pixel.
    pub pixelscale: f64,
    /// The (row, column) position of the origin, in pixels.
    pub center: (f64, f64),
    /// The frame of an optic placed on this grid ([`ImageGrid::placed`]); `None` for the
    /// plane itself.
    pub frame: Option<Frame>,
}

impl ImageGrid {
    /// The y (row) coordinate of row `i`, arcsec.
    #[inline]
    pub fn y(&self, i: usize) -> f64 {
        self.pixelscale * (i as f64 - self.center.0)
    }

    /// The x (column) coordinate of column `j`, arcsec.
    #[inline]
    pub fn x(&self, j: usize) -> f64 {
        self.pixelscale * (j as f64 - self.center.1)
    }

    /// An array of this grid's shape with `f(y, x)` (arcsec) at every pixel, in the optic's
    /// coordinates when the grid is [placed](ImageGrid::placed).
    pub fn map(&self, f: impl Fn(f64, f64) -> f64) -> Array2<f64> {
        let xs: Vec<f64> = (0..self.shape.1).map(|j| self.x(j)).collect();
        match self.frame {
            None => Array2::from_shape_fn(self.shape, |(i, j)| f(self.y(i), xs[j])),
            Some(frame) => Array2::from_shape_fn(self.shape, |(i, j)| {
                let (y, x) = frame.apply(self.y(i), xs[j]);
                f(y, x)
            }),
        }
    }

    /// The same grid seen from an optic placed by `frame` (shifted, then rotated, in
    /// arcsec): [`ImageGrid::map`] and [`ImageGrid::gray_disc`] then work in the optic's
    /// coordinates. A grid placed again takes the new frame in place of the old.
    pub fn placed(&self, frame: Frame) -> ImageGrid {
        ImageGrid { frame: Some(frame), ..*self }
    }

    /// A gray-edged disc of `radius` arcsec about the origin (the optic's, on a placed grid):
    /// each pixel holds the fraction of its area inside (with POPPY's border for a rotated
    /// frame, [`Frame`]).
    pub fn gray_disc(&self, radius: f64) -> Array2<f64> {
        let r = radius / self.pixelscale;
        let Some(frame) = self.frame else {
            return Array2::from_shape_fn(self.shape, |(i, j)| {
                let py = i as f64 - self.center.0;
                let px = j as f64 - self.center.1;
                let d = px.hypot(py);
                if (d - r).abs() < 1.0 {
                    pixel_fraction_in_disc(r, px, py)
                } else if d < r {
                    1.0
                } else {
                    0.0
                }
            });
        };
        let k = frame.gray_pixel_size();
        Array2::from_shape_fn(self.shape, |(i, j)| {
            let (y, x) = frame.apply(self.y(i), self.x(j));
            gray_value(r, x / self.pixelscale, y / self.pixelscale, k)
        })
    }
}

/// Half-widths `(x, y)` in arcsec of the axis-aligned box holding a `w x h` rectangle
/// rotated by `rotation_deg`.
fn rotated_half_extent(w: f64, h: f64, rotation_deg: f64) -> (f64, f64) {
    let (s, c) = rotation_deg.to_radians().sin_cos();
    ((w / 2.0 * c).abs() + (h / 2.0 * s).abs(), (w / 2.0 * s).abs() + (h / 2.0 * c).abs())
}

/// An optic in an image plane.
pub trait ImageOptic: Debug + Send + Sync {
    /// The scene kind, e.g. `"circular_occulter"`.
    fn kind(&self) -> &'static str;

    /// A short description.
    fn describe(&self) -> String;

    /// Amplitude transmission on `grid`, or `None` for a clear optic.
    fn transmission(&self, grid: &ImageGrid) -> Option<Array2<f64>>;

    /// OPD in metres on `grid`, or `None`.
    fn opd(&self, _grid: &ImageGrid) -> Option<Array2<f64>> {
        None
    }

    /// A phase in radians on `grid`, the same at every wavelength, or `None`.
    fn phase(&self, _grid: &ImageGrid) -> Option<Array2<f64>> {
        None
    }

    /// Half-widths `(x, y)` in arcsec of a box about the axis outside which the optic
    /// transmits fully with no OPD (`None`: no such box). The semi-analytic coronagraph
    /// needs it to fit its occulter box.
    fn blocking_extent(&self) -> Option<(f64, f64)> {
        None
    }

    /// Half-widths `(x, y)` in arcsec of a box about the axis outside which the optic
    /// transmits nothing (`None`: no such box). The matrix-FT coronagraph needs it to fit
    /// its box.
    fn transmitting_extent(&self) -> Option<(f64, f64)> {
        None
    }
}

/// An annulus with gray edges: light passes between `radius_inner` and `radius_outer`
/// (0 outer: no outer edge). POPPY's `AnnularFieldStop`.
#[derive(Clone, Debug, PartialEq)]
pub struct AnnularFieldStop {
    radius_inner: f64,
    radius_outer: f64,
    kind: &'static str,
}

impl AnnularFieldStop {
    /// Light passes between `radius_inner_arcsec` and `radius_outer_arcsec` (0: no outer
    /// edge).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for negative or non-finite radii, or an outer radius not
    /// above the inner one.
    pub fn new(radius_inner_arcsec: f64, radius_outer_arcsec: f64) -> Result<Self, OpticsError> {
        const K: &str = "annular_field_stop";
        let inner = non_negative(K, "radius_inner_arcsec", radius_inner_arcsec)?;
        let outer = non_negative(K, "radius_outer_arcsec", radius_outer_arcsec)?;
        if outer > 0.0 && outer <= inner {
            return Err(OpticsError::invalid(
                K,
                "radius_outer_arcsec",
                outer,
                "must be 0 (no outer edge) or larger than radius_inner_arcsec",
            ));
        }
        Ok(AnnularFieldStop { radius_inner: inner, radius_outer: outer, kind: K })
    }
}

impl ImageOptic for AnnularFieldStop {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn describe(&self) -> String {
        format!("Annular field stop, {}\" to {}\"", self.radius_inner, self.radius_outer)
    }
    fn transmission(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        let mut t = if self.radius_outer > 0.0 {
            grid.gray_disc(self.radius_outer)
        } else {
            Array2::ones(grid.shape)
        };
        if self.radius_inner > 0.0 {
            t -= &grid.gray_disc(self.radius_inner);
        }
        Some(t)
    }
    fn blocking_extent(&self) -> Option<(f64, f64)> {
        (self.radius_outer == 0.0).then_some((self.radius_inner, self.radius_inner))
    }
    fn transmitting_extent(&self) -> Option<(f64, f64)> {
        (self.radius_outer > 0.0).then_some((self.radius_outer, self.radius_outer))
    }
}

/// An opaque disc with gray edges. POPPY's `CircularOcculter`.
#[derive(Clone, Debug, PartialEq)]
pub struct CircularOcculter(AnnularFieldStop);

impl CircularOcculter {
    /// An opaque disc of `radius_arcsec`.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a non-positive radius.
    pub fn new(radius_arcsec: f64) -> Result<Self, OpticsError> {
        let r = positive("circular_occulter", "radius_arcsec", radius_arcsec)?;
        Ok(CircularOcculter(AnnularFieldStop {
            radius_inner: r,
            radius_outer: 0.0,
            kind: "circular_occulter",
        }))
    }
}

impl ImageOptic for CircularOcculter {
    fn kind(&self) -> &'static str {
        self.0.kind
    }
    fn describe(&self) -> String {
        format!("Circular occulter, radius {}\"", self.0.radius_inner)
    }
    fn transmission(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        self.0.transmission(grid)
    }
    fn blocking_extent(&self) -> Option<(f64, f64)> {
        self.0.blocking_extent()
    }
}

/// A rectangular opening (slit), `width` along X, `height` along Y before rotation.
/// POPPY's `RectangularFieldStop` and `SquareFieldStop`.
#[derive(Clone, Debug, PartialEq)]
pub struct RectangularFieldStop {
    width: f64,
    height: f64,
    rotation_deg: f64,
    kind: &'static str,
}

impl RectangularFieldStop {
    /// A `width_arcsec x height_arcsec` opening rotated `rotation_deg` counter-clockwise.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for non-positive sizes or a non-finite rotation.
    pub fn new(
        width_arcsec: f64,
        height_arcsec: f64,
        rotation_deg: f64,
    ) -> Result<Self, OpticsError> {
        const K: &str = "rectangular_field_stop";
        Ok(RectangularFieldStop {
            width: positive(K, "width_arcsec", width_arcsec)?,
            height: positive(K, "height_arcsec", height_arcsec)?,
            rotation_deg: finite(K, "rotation_deg", rotation_deg)?,
            kind: K,
        })
    }

    /// A square opening of side `size_arcsec` (POPPY's `SquareFieldStop`).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a non-positive size or a non-finite rotation.
    pub fn square(size_arcsec: f64, rotation_deg: f64) -> Result<Self, OpticsError> {
        const K: &str = "square_field_stop";
        let size = positive(K, "size_arcsec", size_arcsec)?;
        Ok(RectangularFieldStop {
            width: size,
            height: size,
            rotation_deg: finite(K, "rotation_deg", rotation_deg)?,
            kind: K,
        })
    }
}

impl ImageOptic for RectangularFieldStop {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn describe(&self) -> String {
        format!("Field stop {}\" x {}\"", self.width, self.height)
    }
    fn transmission(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        let (s, c) = self.rotation_deg.to_radians().sin_cos();
        let (hw, hh) = (self.width / 2.0, self.height / 2.0);
        Some(grid.map(|y, x| {
            let (xp, yp) = rotate_into(x, y, c, s);
            f64::from(u8::from(yp.abs() <= hh && xp.abs() <= hw))
        }))
    }
    fn transmitting_extent(&self) -> Option<(f64, f64)> {
        Some(rotated_half_extent(self.width, self.height, self.rotation_deg))
    }
}

/// An opaque bar `width` wide (along X before rotation) and 10 arcsec long. POPPY's
/// `BarOcculter`.
#[derive(Clone, Debug, PartialEq)]
pub struct BarOcculter {
    width: f64,
    height: f64,
    rotation_deg: f64,
}

impl BarOcculter {
    /// A bar `width_arcsec` wide, rotated `rotation_deg` counter-clockwise.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a non-positive width or a non-finite rotation.
    pub fn new(width_arcsec: f64, rotation_deg: f64) -> Result<Self, OpticsError> {
        const K: &str = "bar_occulter";
        Ok(BarOcculter {
            width: positive(K, "width_arcsec", width_arcsec)?,
            height: 10.0,
            rotation_deg: finite(K, "rotation_deg", rotation_deg)?,
        })
    }
}

impl ImageOptic for BarOcculter {
    fn kind(&self) -> &'static str {
        "bar_occulter"
    }
    fn describe(&self) -> String {
        format!("Bar occulter, {}\" wide", self.width)
    }
    fn transmission(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        let (s, c) = self.rotation_deg.to_radians().sin_cos();
        let (hw, hh) = (self.width / 2.0, self.height / 2.0);
        Some(grid.map(|y, x| {
            let (xp, yp) = rotate_into(x, y, c, s);
            f64::from(u8::from(!(xp.abs() <= hw && yp.abs() <= hh)))
        }))
    }
    fn blocking_extent(&self) -> Option<(f64, f64)> {
        Some(rotated_half_extent(self.width, self.height, self.rotation_deg))
    }
}

/// The profile of a band-limited coronagraph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BandLimitedProfile {
    /// `t = 1 - (2 J1(sigma r) / (sigma r))^2`, 0 at the centre.
    Circular,
    /// `t = 1 - (sin(sigma |y|) / (sigma |y|))^2`.
    Linear,
}

/// A band-limited coronagraph mask (Kuchner and Traub 2002). POPPY's
/// `BandLimitedCoronagraph` for the `circular` and `linear` kinds (amplitude transmission).
#[derive(Clone, Debug, PartialEq)]
pub struct BandLimitedCoronagraph {
    profile: BandLimitedProfile,
    sigma: f64,
}

impl BandLimitedCoronagraph {
    /// A mask of `profile` with scale `sigma` (1/arcsec).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a non-positive `sigma`.
    pub fn new(profile: BandLimitedProfile, sigma: f64) -> Result<Self, OpticsError> {
        Ok(BandLimitedCoronagraph {
            profile,
            sigma: positive("band_limited_coronagraph", "sigma", sigma)?,
        })
    }
}

impl ImageOptic for BandLimitedCoronagraph {
    fn kind(&self) -> &'static str {
        "band_limited_coronagraph"
    }
    fn describe(&self) -> String {
        format!("Band-limited coronagraph ({:?}), sigma {}", self.profile, self.sigma)
    }
    fn transmission(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        let sigma = self.sigma;
        Some(match self.profile {
            BandLimitedProfile::Circular => grid.map(|y, x| {
                let r = (x * x + y * y).sqrt();
                if r == 0.0 {
                    return 0.0;
                }
                let sr = (sigma * r).max(f64::MIN_POSITIVE);
                1.0 - (2.0 * bessel_j1(sr) / sr).powi(2)
            }),
            BandLimitedProfile::Linear => grid.map(|y, _| {
                let sr = (sigma * y.abs()).max(f64::MIN_POSITIVE);
                1.0 - (sr.sin() / sr).powi(2)
            }),
        })
    }
}

/// An ideal four-quadrant phase mask: a pi phase step at `wavelength` in two opposite
/// quadrants, `OPD = (1 - sign(x) sign(y)) * wavelength / 4`. POPPY's `IdealFQPM`.
#[derive(Clone, Debug, PartialEq)]
pub struct IdealFqpm {
    wavelength: f64,
}

impl IdealFqpm {
    /// A mask whose phase step is exactly pi at `wavelength_m`.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a non-positive wavelength.
    pub fn new(wavelength_m: f64) -> Result<Self, OpticsError> {
        Ok(IdealFqpm { wavelength: positive("ideal_fqpm", "wavelength_m", wavelength_m)? })
    }
}

fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

impl ImageOptic for IdealFqpm {
    fn kind(&self) -> &'static str {
        "ideal_fqpm"
    }
    fn describe(&self) -> String {
        format!("Ideal FQPM at {} m", self.wavelength)
    }
    fn transmission(&self, _grid: &ImageGrid) -> Option<Array2<f64>> {
        None
    }
    fn opd(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        let w = self.wavelength;
        Some(grid.map(|y, x| (1.0 - sign(x) * sign(y)) * 0.25 * w))
    }
}

impl ImageOptic for ScalarTransmission {
    fn kind(&self) -> &'static str {
        "scalar_transmission"
    }
    fn describe(&self) -> String {
        format!("Scalar transmission {}", self.value())
    }
    fn transmission(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        Some(Array2::from_elem(grid.shape, self.value()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: usize, scale: f64) -> ImageGrid {
        ImageGrid {
            shape: (n, n),
            pixelscale: scale,
            center: ((n as f64 - 1.0) / 2.0, (n as f64 - 1.0) / 2.0),
            frame: None,
        }
    }

    /// Reference: the occulted area pi r^2, to 1e-9 (gray pixels are exact areas).
    #[test]
    fn occulter_blocks_its_area() {
        let g = grid(101, 0.01);
        let t = CircularOcculter::new(0.2).unwrap().transmission(&g).unwrap();
        let blocked = (101.0 * 101.0 - t.sum()) * 0.01 * 0.01;
        assert!((blocked / (std::f64::consts::PI * 0.04) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn band_limited_masks_are_dark_on_axis_and_clear_far_out() {
        let g = grid(201, 0.05);
        let c = BandLimitedCoronagraph::new(BandLimitedProfile::Circular, 5.0)
            .unwrap()
            .transmission(&g)
            .unwrap();
        assert_eq!(c[[100, 100]], 0.0);
        assert!(c[[0, 0]] > 0.999);
        let l = BandLimitedCoronagraph::new(BandLimitedProfile::Linear, 5.0)
            .unwrap()
            .transmission(&g)
            .unwrap();
        assert!(l.row(100).iter().all(|v| *v < 1e-12));
        assert!(l[[0, 100]] > 0.99);
    }

    #[test]
    fn fqpm_steps_by_half_a_wave_in_two_quadrants() {
        let g = grid(4, 1.0);
        let o = IdealFqpm::new(2e-6).unwrap().opd(&g).unwrap();
        assert_eq!(o[[0, 0]], 0.0); // x < 0, y < 0
        assert_eq!(o[[0, 3]], 1e-6); // x > 0, y < 0
        assert_eq!(o[[3, 3]], 0.0);
    }
}
