//! Single apertures and obscurations: circle, hexagon, rectangle, square, regular polygon,
//! secondary obscuration with spiders, and scalar transmission.

use crate::error::{finite, non_negative, positive};
use crate::geometry::{gray_disc, inside_polygon, rotate_into};
use crate::{OpticsError, PupilGrid, PupilOptic};
use ndarray::Array2;

/// A circular aperture with gray edge pixels (exact area fractions). POPPY's
/// `CircularAperture`; [`CircularAperture::binary`] is its `gray_pixel=False`.
#[derive(Clone, Debug, PartialEq)]
pub struct CircularAperture {
    radius: f64,
    gray: bool,
}

impl CircularAperture {
    /// A circle of `radius_m` metres.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] unless the radius is finite and positive.
    pub fn new(radius_m: f64) -> Result<Self, OpticsError> {
        Ok(CircularAperture {
            radius: positive("circular_aperture", "radius_m", radius_m)?,
            gray: true,
        })
    }

    /// The same circle without gray pixels: a pixel is 1 when its centre is at most the
    /// radius from the axis, else 0 (POPPY's `gray_pixel=False`).
    pub fn binary(mut self) -> Self {
        self.gray = false;
        self
    }

    /// Radius in metres.
    pub fn radius(&self) -> f64 {
        self.radius
    }
}

impl PupilOptic for CircularAperture {
    fn kind(&self) -> &'static str {
        "circular_aperture"
    }
    fn describe(&self) -> String {
        format!("Circle, radius={} m", self.radius)
    }
    fn natural_diameter(&self) -> Option<f64> {
        Some(2.0 * self.radius)
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        if !self.gray {
            let r = self.radius;
            return Some(grid.map(|y, x| f64::from((x * x + y * y).sqrt() <= r)));
        }
        Some(gray_disc(grid, 0.0, 0.0, self.radius))
    }
}

/// A central obscuration with `n_supports` equally spaced spiders. POPPY's
/// `SecondaryObscuration`: spider `k` runs from the centre along the angle
/// `360 k / n + support_angle_offset` degrees from +X.
#[derive(Clone, Debug, PartialEq)]
pub struct SecondaryObscuration {
    secondary_radius: f64,
    n_supports: usize,
    support_width: f64,
    support_angle_offset_deg: f64,
}

impl SecondaryObscuration {
    /// An obscuration of radius `secondary_radius_m` with `n_supports` spiders of width
    /// `support_width_m`, the first at `support_angle_offset_deg` from +X.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a negative or non-finite radius or width, or a
    /// non-finite angle.
    pub fn new(
        secondary_radius_m: f64,
        n_supports: usize,
        support_width_m: f64,
        support_angle_offset_deg: f64,
    ) -> Result<Self, OpticsError> {
        const K: &str = "secondary_obscuration";
        Ok(SecondaryObscuration {
            secondary_radius: non_negative(K, "secondary_radius_m", secondary_radius_m)?,
            n_supports,
            support_width: non_negative(K, "support_width_m", support_width_m)?,
            support_angle_offset_deg: finite(
                K,
                "support_angle_offset_deg",
                support_angle_offset_deg,
            )?,
        })
    }
}

impl PupilOptic for SecondaryObscuration {
    fn kind(&self) -> &'static str {
        "secondary_obscuration"
    }
    fn describe(&self) -> String {
        format!(
            "Secondary obscuration, radius={} m, {} supports",
            self.secondary_radius, self.n_supports
        )
    }
    fn natural_diameter(&self) -> Option<f64> {
        Some(4.0 * self.secondary_radius)
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        // Ones times the obscuration: 1 or (1 times 0) 0, as a map to 1 or 0 gives.
        let mut t = Array2::ones((grid.npix(), grid.npix()));
        self.multiply_transmission(grid, &mut t);
        Some(t)
    }
    fn multiply_transmission(&self, grid: &PupilGrid, t: &mut Array2<f64>) -> bool {
        // The product with 1 leaves a value as it is, bit for bit; with 0 it is 0 (or -0 or
        // NaN, as the product gives).
        let spiders: Vec<(f64, f64)> = (0..self.n_supports)
            .map(|i| {
                let a = 2.0 * std::f64::consts::PI / self.n_supports as f64 * i as f64
                    + self.support_angle_offset_deg.to_radians();
                (a.cos(), a.sin())
            })
            .collect();
        let half_width = self.support_width / 2.0;
        let r2 = self.secondary_radius;
        if !t.is_standard_layout() {
            // An array laid out otherwise (a user optic's): the product with the array.
            if let Some(own) = self.transmission(grid) {
                *t *= &own;
            }
            return true;
        }
        if grid.frame().is_some() {
            grid.update(t, |y, x, v| {
                if (x * x + y * y).sqrt() < r2
                    || spiders.iter().any(|&sp| on_spider(y, x, sp, half_width))
                {
                    *v *= 0.0;
                }
            });
            return true;
        }
        let c = grid.coords();
        grid.rows_with(
            t,
            || vec![0.0; c.len()],
            |keep, i, row| obscuration_row(&c, c[i], r2, &spiders, half_width, keep, row),
        );
        true
    }
}

diffract_parallel::vectorised! {
    /// One row of [`SecondaryObscuration::multiply_transmission`] at `y` metres, the
    /// columns at `c`: each test a loop over the row's points, for the compiler to
    /// vectorise; `keep` (scratch) gets each point's factor, 0 or 1, then `row` its
    /// products (by 1, the value itself).
    fn obscuration_row(
        c: &[f64],
        y: f64,
        r2: f64,
        spiders: &[(f64, f64)],
        half_width: f64,
        keep: &mut [f64],
        row: &mut [f64],
    ) {
        for (k, &x) in keep.iter_mut().zip(c) {
            *k = if (x * x + y * y).sqrt() < r2 { 0.0 } else { 1.0 };
        }
        for &sp in spiders {
            for (k, &x) in keep.iter_mut().zip(c) {
                *k = if on_spider(y, x, sp, half_width) { 0.0 } else { *k };
            }
        }
        for (v, &k) in row.iter_mut().zip(keep.iter()) {
            *v *= k;
        }
    }
}

/// Whether `(x, y)` lies on the spider along `(cos, sin)` of half width `half_width`: within
/// it across, on its side of the centre.
#[inline(always)]
fn on_spider(y: f64, x: f64, (cos, sin): (f64, f64), half_width: f64) -> bool {
    let (xp, yp) = rotate_into(x, y, cos, sin);
    (xp > 0.0) & (yp.abs() < half_width)
}

/// Whether `(x, y)` is inside the hexagon of side `side` centred on the origin with flat
/// sides parallel to X (POPPY's test: a central rectangle and two side triangles).
#[inline]
pub(crate) fn inside_hexagon(x: f64, y: f64, side: f64) -> bool {
    let absy = y.abs();
    let sqrt3 = 3f64.sqrt();
    (x.abs() <= 0.5 * side && absy <= sqrt3 / 2.0 * side)
        || (x <= -0.5 * side && x >= -side && absy <= (x + side) * sqrt3)
        || (x >= 0.5 * side && x <= side && absy <= (side - x) * sqrt3)
}

/// A hexagon with flat sides parallel to X before rotation. POPPY's `HexagonAperture`.
#[derive(Clone, Debug, PartialEq)]
pub struct HexagonAperture {
    side: f64,
    rotation_deg: f64,
}

impl HexagonAperture {
    /// A hexagon `flattoflat_m` metres across the flats, rotated `rotation_deg` degrees
    /// counter-clockwise.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a non-positive size or non-finite rotation.
    pub fn new(flattoflat_m: f64, rotation_deg: f64) -> Result<Self, OpticsError> {
        const K: &str = "hexagon_aperture";
        Ok(HexagonAperture {
            side: positive(K, "flattoflat_m", flattoflat_m)? / 3f64.sqrt(),
            rotation_deg: finite(K, "rotation_deg", rotation_deg)?,
        })
    }
}

impl PupilOptic for HexagonAperture {
    fn kind(&self) -> &'static str {
        "hexagon_aperture"
    }
    fn describe(&self) -> String {
        format!("Hexagon, side={} m", self.side)
    }
    fn natural_diameter(&self) -> Option<f64> {
        Some(2.0 * self.side)
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let (s, c) = self.rotation_deg.to_radians().sin_cos();
        Some(grid.map(|y, x| {
            let (xp, yp) = rotate_into(x, y, c, s);
            f64::from(u8::from(inside_hexagon(xp, yp, self.side)))
        }))
    }
}

/// A rectangle, `width` along X and `height` along Y before rotation. POPPY's
/// `RectangleAperture`.
#[derive(Clone, Debug, PartialEq)]
pub struct RectangleAperture {
    width: f64,
    height: f64,
    rotation_deg: f64,
    natural_diameter: f64,
    kind: &'static str,
}

impl RectangleAperture {
    /// A `width_m` x `height_m` rectangle rotated `rotation_deg` counter-clockwise.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for non-positive sizes or a non-finite rotation.
    pub fn new(width_m: f64, height_m: f64, rotation_deg: f64) -> Result<Self, OpticsError> {
        const K: &str = "rectangle_aperture";
        let width = positive(K, "width_m", width_m)?;
        let height = positive(K, "height_m", height_m)?;
        Ok(RectangleAperture {
            width,
            height,
            rotation_deg: finite(K, "rotation_deg", rotation_deg)?,
            natural_diameter: width.hypot(height),
            kind: K,
        })
    }
}

impl PupilOptic for RectangleAperture {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn describe(&self) -> String {
        format!("Rectangle, {} m wide x {} m high", self.width, self.height)
    }
    fn natural_diameter(&self) -> Option<f64> {
        Some(self.natural_diameter)
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let (s, c) = self.rotation_deg.to_radians().sin_cos();
        let (hw, hh) = (self.width / 2.0, self.height / 2.0);
        Some(grid.map(|y, x| {
            let (xp, yp) = rotate_into(x, y, c, s);
            f64::from(u8::from(yp.abs() <= hh && xp.abs() <= hw))
        }))
    }
}

/// A square: a rectangle with equal sides. POPPY's `SquareAperture`, whose natural pupil
/// diameter is twice the side.
#[derive(Clone, Debug, PartialEq)]
pub struct SquareAperture(RectangleAperture);

impl SquareAperture {
    /// A square of side `size_m` rotated `rotation_deg` counter-clockwise.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a non-positive size or a non-finite rotation.
    pub fn new(size_m: f64, rotation_deg: f64) -> Result<Self, OpticsError> {
        const K: &str = "square_aperture";
        let size = positive(K, "size_m", size_m)?;
        let rotation_deg = finite(K, "rotation_deg", rotation_deg)?;
        Ok(SquareAperture(RectangleAperture {
            width: size,
            height: size,
            rotation_deg,
            natural_diameter: 2.0 * size,
            kind: K,
        }))
    }
}

impl PupilOptic for SquareAperture {
    fn kind(&self) -> &'static str {
        self.0.kind
    }
    fn describe(&self) -> String {
        format!("Square, side {} m", self.0.width)
    }
    fn natural_diameter(&self) -> Option<f64> {
        self.0.natural_diameter()
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        self.0.transmission(grid)
    }
}

/// A regular polygon with `nsides` vertices on a circle of `radius`. POPPY's `NgonAperture`.
///
/// As in POPPY 1.1.2, `rotation_deg` is applied twice (once to the vertices, once to the
/// coordinates), so the polygon turns by `2 * rotation_deg` counter-clockwise; with
/// rotation 0 the first vertex lies on +X.
#[derive(Clone, Debug, PartialEq)]
pub struct NgonAperture {
    nsides: usize,
    radius: f64,
    rotation_deg: f64,
}

impl NgonAperture {
    /// A regular `nsides`-gon with vertices on a circle of `radius_m`.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for fewer than 3 sides, a non-positive radius or a
    /// non-finite rotation.
    pub fn new(nsides: usize, radius_m: f64, rotation_deg: f64) -> Result<Self, OpticsError> {
        const K: &str = "ngon_aperture";
        if nsides < 3 {
            return Err(OpticsError::invalid(K, "nsides", nsides, "must be an integer >= 3"));
        }
        Ok(NgonAperture {
            nsides,
            radius: positive(K, "radius_m", radius_m)?,
            rotation_deg: finite(K, "rotation_deg", rotation_deg)?,
        })
    }
}

impl PupilOptic for NgonAperture {
    fn kind(&self) -> &'static str {
        "ngon_aperture"
    }
    fn describe(&self) -> String {
        format!("{}-gon, radius={} m", self.nsides, self.radius)
    }
    fn natural_diameter(&self) -> Option<f64> {
        Some(2.0 * self.radius)
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let phase = self.rotation_deg * std::f64::consts::PI / 180.0;
        let vertices: Vec<(f64, f64)> = (0..self.nsides)
            .map(|i| {
                let a = i as f64 * 2.0 * std::f64::consts::PI / self.nsides as f64 + phase;
                (a.cos() * self.radius, a.sin() * self.radius)
            })
            .collect();
        let (s, c) = self.rotation_deg.to_radians().sin_cos();
        Some(grid.map(|y, x| {
            let (xp, yp) = rotate_into(x, y, c, s);
            f64::from(u8::from(inside_polygon(&vertices, xp, yp)))
        }))
    }
}

/// A uniform amplitude transmission. POPPY's `ScalarTransmission`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalarTransmission {
    transmission: f64,
}

impl ScalarTransmission {
    /// A uniform amplitude transmission `t` (0 to 1).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] outside [0, 1].
    pub fn new(transmission: f64) -> Result<Self, OpticsError> {
        if !(0.0..=1.0).contains(&transmission) {
            return Err(OpticsError::invalid(
                "scalar_transmission",
                "transmission",
                transmission,
                "must be between 0 and 1",
            ));
        }
        Ok(ScalarTransmission { transmission })
    }

    /// The amplitude transmission.
    pub fn value(&self) -> f64 {
        self.transmission
    }
}

impl PupilOptic for ScalarTransmission {
    fn kind(&self) -> &'static str {
        "scalar_transmission"
    }
    fn describe(&self) -> String {
        format!("Scalar transmission {}", self.transmission)
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        // Full transmission is no array at all: nothing to sample or multiply.
        (self.transmission != 1.0)
            .then(|| Array2::from_elem((grid.npix(), grid.npix()), self.transmission))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Frame;
    use ndarray::ShapeBuilder;

    /// Reference: POPPY's test for each point (inside the secondary's radius, or within
    /// half a width of a spider on its side of the centre), point by point; the array and
    /// the product in place give it bit for bit, on the plane's grid and on a placed one.
    #[test]
    fn obscuration_multiplies_in_place_as_its_product() {
        let ob = SecondaryObscuration::new(0.3, 4, 0.05, 12.0).unwrap();
        let blocked = |y: f64, x: f64| {
            (x * x + y * y).sqrt() < 0.3
                || (0..4).any(|k| {
                    let a = 2.0 * std::f64::consts::PI / 4.0 * k as f64 + 12f64.to_radians();
                    let (xp, yp) = rotate_into(x, y, a.cos(), a.sin());
                    xp > 0.0 && yp.abs() < 0.025
                })
        };
        let plain = PupilGrid::new(300, 2.0).unwrap();
        let placed = plain.placed(Frame::new(0.1, -0.05, Some(20.0)).unwrap());
        for grid in [plain, placed] {
            let own = grid.map(|y, x| if blocked(y, x) { 0.0 } else { 1.0 });
            assert_eq!(ob.transmission(&grid).unwrap(), own);
            let t0 = grid.map(|y, x| 0.5 + 0.25 * (3.0 * x).sin() - y * y);
            let mut t = t0.clone();
            assert!(ob.multiply_transmission(&grid, &mut t));
            let want = &t0 * &own;
            assert!(t.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()));
            assert!(t.iter().any(|&v| v == 0.0) && t.iter().any(|&v| v > 0.4));
            // An array in column-major order gets the same products.
            let mut cols = Array2::zeros(t0.dim().f());
            cols.assign(&t0);
            assert!(ob.multiply_transmission(&grid, &mut cols));
            assert!(cols.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }
}
