//! Moving and turning an analytic optic, and inverting its transmission: POPPY's
//! `shift_x`, `shift_y` and `rotation` of every `AnalyticOpticalElement`, and its
//! `InverseTransmission`.
//!
//! An optic placed by a [`Frame`] is sampled on coordinates that are first shifted, then
//! rotated (POPPY's `get_coordinates`): `x1 = x - shift_x`, `y1 = y - shift_y`, then
//! `x' = cos a x1 + sin a y1`, `y' = -sin a x1 + cos a y1`. The optic's centre moves to
//! `(shift_x, shift_y)` and the optic turns by `a` counter-clockwise about its own centre.
//! [`Placed`] hands its optic a grid carrying the frame ([`PupilGrid::placed`],
//! [`ImageGrid::placed`]); every sampling routine of the crate (`map`, the gray discs, the
//! segment layouts) honours it, so any analytic optic can be placed without code of its own.

use crate::error::finite;
use crate::{ImageGrid, ImageOptic, OpticsError, PupilGrid, PupilOptic};
use ndarray::Array2;
use std::sync::Arc;

/// A shift and an optional rotation applied to an optic's coordinates (POPPY's order: shift,
/// then rotate).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    shift_x: f64,
    shift_y: f64,
    rotation: Option<(f64, f64)>,
    rotation_deg: f64,
}

impl Frame {
    /// The optic's centre at `(shift_x, shift_y)` (metres in a pupil plane, arcsec in an
    /// image plane), turned `rotation_deg` counter-clockwise about it (`None`: not rotated).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a non-finite value.
    pub fn new(shift_x: f64, shift_y: f64, rotation_deg: Option<f64>) -> Result<Self, OpticsError> {
        const K: &str = "placement";
        finite(K, "shift_x", shift_x)?;
        finite(K, "shift_y", shift_y)?;
        let rotation = match rotation_deg {
            Some(a) => {
                let a = finite(K, "rotation_deg", a)?.to_radians();
                Some((a.cos(), a.sin()))
            }
            None => None,
        };
        Ok(Frame { shift_x, shift_y, rotation, rotation_deg: rotation_deg.unwrap_or(0.0) })
    }

    /// The shift `(x, y)`.
    pub fn shift(&self) -> (f64, f64) {
        (self.shift_x, self.shift_y)
    }

    /// The rotation in degrees (0 when none).
    pub fn rotation_deg(&self) -> f64 {
        self.rotation_deg
    }

    /// The optic's coordinates `(y', x')` of the plane point `(y, x)`, with POPPY's
    /// arithmetic.
    #[inline]
    pub fn apply(&self, y: f64, x: f64) -> (f64, f64) {
        let (x, y) = (x - self.shift_x, y - self.shift_y);
        match self.rotation {
            Some((c, s)) => (-s * x + c * y, c * x + s * y),
            None => (y, x),
        }
    }

    /// The plane point `(y, x)` of the optic's point `(y', x')` (the inverse of
    /// [`Frame::apply`]).
    pub fn unapply(&self, y: f64, x: f64) -> (f64, f64) {
        let (y, x) = match self.rotation {
            Some((c, s)) => (s * x + c * y, c * x - s * y),
            None => (y, x),
        };
        (y + self.shift_y, x + self.shift_x)
    }

    /// The spacing of neighbouring pixels along a row in the optic's x coordinate, in
    /// pixels: `|cos a|`. POPPY's gray circles take it as the pixel size (its
    /// `filled_circle_aa` measures the pixel scale from the first two x coordinates), which
    /// narrows the gray border to `|cos a|` pixels and divides the gray values by `cos^2 a`
    /// (clipped to 1) when the optic is rotated.
    pub(crate) fn gray_pixel_size(&self) -> f64 {
        self.rotation.map_or(1.0, |(c, _)| c.abs())
    }

    /// Half-widths `(x, y)` of an axis-aligned box about the plane's axis holding the optic's
    /// box of half-widths `extent` about its own centre.
    pub fn moved_extent(&self, extent: (f64, f64)) -> (f64, f64) {
        let (ex, ey) = match self.rotation {
            Some((c, s)) => (ex_rot(extent.0, extent.1, c, s), ex_rot(extent.1, extent.0, c, s)),
            None => extent,
        };
        (ex + self.shift_x.abs(), ey + self.shift_y.abs())
    }
}

fn ex_rot(a: f64, b: f64, c: f64, s: f64) -> f64 {
    (a * c).abs() + (b * s).abs()
}

/// An optic moved and turned by a [`Frame`]: POPPY's `shift_x`, `shift_y`, `rotation` on an
/// `AnalyticOpticalElement`. Works in either plane (metres in pupil planes, arcsec in image
/// planes).
#[derive(Debug)]
pub struct Placed<O: ?Sized> {
    inner: Arc<O>,
    frame: Frame,
}

impl<O: ?Sized> Placed<O> {
    /// `inner` placed by `frame`.
    pub fn new(inner: Arc<O>, frame: Frame) -> Self {
        Placed { inner, frame }
    }

    /// The frame.
    pub fn frame(&self) -> Frame {
        self.frame
    }
}

impl<O: PupilOptic + ?Sized> PupilOptic for Placed<O> {
    fn kind(&self) -> &'static str {
        PupilOptic::kind(&*self.inner)
    }
    fn describe(&self) -> String {
        let (x, y) = self.frame.shift();
        format!(
            "{}, shifted ({x}, {y}) m, rotated {} deg",
            PupilOptic::describe(&*self.inner),
            self.frame.rotation_deg()
        )
    }
    fn natural_diameter(&self) -> Option<f64> {
        self.inner.natural_diameter()
    }
    fn natural_npix(&self) -> Option<usize> {
        self.inner.natural_npix()
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        PupilOptic::transmission(&*self.inner, &grid.placed(self.frame))
    }
    fn multiply_transmission(&self, grid: &PupilGrid, t: &mut Array2<f64>) -> bool {
        self.inner.multiply_transmission(&grid.placed(self.frame), t)
    }
    fn opd(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        PupilOptic::opd(&*self.inner, &grid.placed(self.frame))
    }
    fn phase(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        PupilOptic::phase(&*self.inner, &grid.placed(self.frame))
    }
}

impl<O: ImageOptic + ?Sized> ImageOptic for Placed<O> {
    fn kind(&self) -> &'static str {
        ImageOptic::kind(&*self.inner)
    }
    fn describe(&self) -> String {
        let (x, y) = self.frame.shift();
        format!(
            "{}, shifted ({x}, {y})\", rotated {} deg",
            ImageOptic::describe(&*self.inner),
            self.frame.rotation_deg()
        )
    }
    fn transmission(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        ImageOptic::transmission(&*self.inner, &grid.placed(self.frame))
    }
    fn opd(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        ImageOptic::opd(&*self.inner, &grid.placed(self.frame))
    }
    fn phase(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        ImageOptic::phase(&*self.inner, &grid.placed(self.frame))
    }
    fn blocking_extent(&self) -> Option<(f64, f64)> {
        self.inner.blocking_extent().map(|e| self.frame.moved_extent(e))
    }
    fn transmitting_extent(&self) -> Option<(f64, f64)> {
        self.inner.transmitting_extent().map(|e| self.frame.moved_extent(e))
    }
}

/// An optic whose amplitude transmission is `1 - t`, its OPD and phase unchanged: POPPY's
/// `InverseTransmission`.
#[derive(Debug)]
pub struct Inverse<O: ?Sized> {
    inner: Arc<O>,
}

impl<O: ?Sized> Inverse<O> {
    /// The complement of `inner`.
    pub fn new(inner: Arc<O>) -> Self {
        Inverse { inner }
    }
}

fn complement(t: Option<Array2<f64>>, shape: (usize, usize)) -> Option<Array2<f64>> {
    Some(match t {
        Some(t) => t.mapv(|v| 1.0 - v),
        None => Array2::zeros(shape),
    })
}

impl<O: PupilOptic + ?Sized> PupilOptic for Inverse<O> {
    fn kind(&self) -> &'static str {
        PupilOptic::kind(&*self.inner)
    }
    fn describe(&self) -> String {
        format!("1 - {}", PupilOptic::describe(&*self.inner))
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        complement(PupilOptic::transmission(&*self.inner, grid), (grid.npix(), grid.npix()))
    }
    fn opd(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        PupilOptic::opd(&*self.inner, grid)
    }
    fn phase(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        PupilOptic::phase(&*self.inner, grid)
    }
}

impl<O: ImageOptic + ?Sized> ImageOptic for Inverse<O> {
    fn kind(&self) -> &'static str {
        ImageOptic::kind(&*self.inner)
    }
    fn describe(&self) -> String {
        format!("1 - {}", ImageOptic::describe(&*self.inner))
    }
    fn transmission(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        complement(ImageOptic::transmission(&*self.inner, grid), grid.shape)
    }
    fn opd(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        ImageOptic::opd(&*self.inner, grid)
    }
    fn phase(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        ImageOptic::phase(&*self.inner, grid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::gray_disc;
    use crate::{CircularAperture, CircularOcculter, RectangleAperture, SecondaryObscuration};

    fn arc<O: PupilOptic + 'static>(o: O) -> Arc<dyn PupilOptic> {
        Arc::new(o)
    }

    /// Reference: a shifted circle is the gray disc centred on the shift (exact areas).
    #[test]
    fn a_shifted_circle_is_the_disc_about_the_shift() {
        let grid = PupilGrid::new(64, 2.0).unwrap();
        let frame = Frame::new(0.13, -0.21, None).unwrap();
        let placed = Placed::new(arc(CircularAperture::new(0.6).unwrap()), frame);
        let t = placed.transmission(&grid).unwrap();
        assert_eq!(t, gray_disc(&grid, 0.13, -0.21, 0.6));
        assert_eq!(placed.natural_diameter(), Some(1.2));
    }

    /// Reference: the rectangle's own rotation (POPPY's formula) and a placement with the
    /// same rotation and no shift give the same samples.
    #[test]
    fn a_placed_rotation_is_the_optics_own() {
        let grid = PupilGrid::new(48, 2.0).unwrap();
        let own = RectangleAperture::new(1.2, 0.5, 25.0).unwrap().transmission(&grid);
        let frame = Frame::new(0.0, 0.0, Some(25.0)).unwrap();
        let placed = Placed::new(arc(RectangleAperture::new(1.2, 0.5, 0.0).unwrap()), frame);
        assert_eq!(placed.transmission(&grid), own);
    }

    /// Shift then rotation: a spider along +X of an obscuration shifted by (s, 0) and turned
    /// 90 degrees runs along +Y from (s, 0).
    #[test]
    fn shift_comes_before_rotation() {
        let grid = PupilGrid::new(65, 2.0).unwrap();
        let frame = Frame::new(0.4, 0.0, Some(90.0)).unwrap();
        let spider = SecondaryObscuration::new(0.05, 1, 0.1, 0.0).unwrap();
        let t = Placed::new(arc(spider), frame).transmission(&grid).unwrap();
        let col = |y: f64| (y / grid.pixelscale() + grid.centre()).round() as usize;
        let j = col(0.4);
        assert_eq!(t[[col(0.6), j]], 0.0, "on the spider above the shifted centre");
        assert_eq!(t[[col(-0.3), j]], 1.0, "below it");
        assert_eq!(t[[col(0.0), col(0.7)]], 1.0, "along +X of the plane");
        let (y, x) = frame.apply(0.7, 0.4);
        assert!((x - 0.7).abs() < 1e-12 && y.abs() < 1e-12, "({y}, {x})");
        let (y0, x0) = frame.unapply(y, x);
        assert!((y0 - 0.7).abs() < 1e-12 && (x0 - 0.4).abs() < 1e-12);
    }

    /// Inverse: 1 - t, and a clear optic becomes opaque; the extents of a placed occulter
    /// grow by its shift.
    #[test]
    fn inverse_complements_and_extents_move() {
        let grid = PupilGrid::new(32, 2.0).unwrap();
        let circle = arc(CircularAperture::new(0.5).unwrap());
        let t = circle.transmission(&grid).unwrap();
        let inv = Inverse::new(circle).transmission(&grid).unwrap();
        assert!(inv.iter().zip(&t).all(|(a, b)| *a == 1.0 - b));
        let clear = Inverse::new(arc(crate::ScalarTransmission::new(1.0).unwrap()));
        assert!(clear.transmission(&grid).unwrap().iter().all(|v| *v == 0.0));
        let occ: Arc<dyn ImageOptic> = Arc::new(CircularOcculter::new(0.2).unwrap());
        let placed = Placed::new(occ, Frame::new(0.1, -0.3, None).unwrap());
        let e = placed.blocking_extent().unwrap();
        assert!((e.0 - 0.3).abs() < 1e-15 && (e.1 - 0.5).abs() < 1e-15, "{e:?}");
    }
}
