//! Segmented apertures on a hexagonal grid: hexagonal and circular segments, numbered as
//! in POPPY (0 at the centre, 1 straight above it, then clockwise ring by ring).

use crate::apertures::inside_hexagon;
use crate::error::{non_negative, positive};
use crate::geometry::add_gray_disc;
use crate::{OpticsError, PupilGrid, PupilOptic};
use ndarray::Array2;

/// Largest number of rings accepted (POPPY's own limit is 100).
pub const MAX_RINGS: usize = 99;

/// Segment positions on a hexagonal grid of pitch `spacing` metres.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentLayout {
    rings: usize,
    spacing: f64,
    segments: Vec<usize>,
}

/// Segments in ring `n` (1 in ring 0, 6n beyond).
fn in_ring(n: usize) -> usize {
    if n == 0 {
        1
    } else {
        6 * n
    }
}

/// Segments in rings `0..n`.
fn inside_ring(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        1 + 3 * n * (n - 1)
    }
}

impl SegmentLayout {
    /// A layout of `rings` rings around the centre at pitch `spacing_m`, holding
    /// `segments` (all of them, less the centre unless `center`, when `None`).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for too many rings, a non-positive pitch or a segment index
    /// beyond the last ring.
    pub fn new(
        kind: &'static str,
        rings: usize,
        spacing_m: f64,
        center: bool,
        segments: Option<Vec<usize>>,
    ) -> Result<Self, OpticsError> {
        if rings > MAX_RINGS {
            return Err(OpticsError::invalid(
                kind,
                "rings",
                rings,
                "must be an integer from 0 to 99",
            ));
        }
        let spacing = positive(kind, "flattoflat_m + gap_m", spacing_m)?;
        let total = inside_ring(rings + 1);
        let segments = match segments {
            Some(list) => {
                if let Some(bad) = list.iter().find(|&&s| s >= total) {
                    return Err(OpticsError::invalid(
                        kind,
                        "segments",
                        bad,
                        "segment numbers must be below the segment count of the rings given",
                    ));
                }
                list
            }
            None => (usize::from(!center)..total).collect(),
        };
        Ok(SegmentLayout { rings, spacing, segments })
    }

    /// The segment numbers present.
    pub fn segments(&self) -> &[usize] {
        &self.segments
    }

    /// Centre-to-centre distance of neighbouring segments, metres.
    pub fn spacing(&self) -> f64 {
        self.spacing
    }

    /// Number of rings around the centre segment.
    pub fn rings(&self) -> usize {
        self.rings
    }

    /// Number of segment positions in the rings, the centre included (present or not).
    pub fn segment_count(&self) -> usize {
        inside_ring(self.rings + 1)
    }

    /// Centre `(x, y)` in metres of segment `index`: 0 at the origin, 1 straight above it
    /// (+Y), then clockwise around each ring; corner segments of ring `r` lie at distance
    /// `r * spacing` every 60 degrees, and the segments between them step along the ring's
    /// sides.
    pub fn center(&self, index: usize) -> (f64, f64) {
        let ring = (0..=MAX_RINGS + 1).find(|&r| index < inside_ring(r + 1)).unwrap_or(0);
        if ring == 0 {
            return (0.0, 0.0);
        }
        let k = index - inside_ring(ring); // 0-based position in the ring
        let step = 2.0 * std::f64::consts::PI / in_ring(ring) as f64;
        let radius = self.spacing * ring as f64;
        let side = k / ring;
        let corner_angle = (side * ring) as f64 * step;
        let (x0, y0) = (radius * corner_angle.sin(), radius * corner_angle.cos());
        let along = k % ring;
        let da = self.spacing * (30f64 * std::f64::consts::PI / 180.0).cos();
        let db = self.spacing * (30f64 * std::f64::consts::PI / 180.0).sin();
        let (dx, dy) = match side {
            0 => (da, -db),
            1 => (0.0, -self.spacing),
            2 => (-da, -db),
            3 => (-da, db),
            4 => (0.0, self.spacing),
            _ => (da, db),
        };
        (x0 + dx * along as f64, y0 + dy * along as f64)
    }
}

/// Hexagonal segments on a hexagonal grid (JWST- or Keck-like). POPPY's
/// `MultiHexagonAperture`: flat sides parallel to X, natural pupil diameter
/// `(flattoflat + gap) * (2 rings + 1)`.
#[derive(Clone, Debug, PartialEq)]
pub struct MultiHexagonAperture {
    layout: SegmentLayout,
    side: f64,
}

impl MultiHexagonAperture {
    /// `rings` rings of hexagons `flattoflat_m` across the flats separated by `gap_m`;
    /// `segments` lists the segments present (`None`: all, with the centre one only if
    /// `center`).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for non-positive sizes, a negative gap or bad segments.
    pub fn new(
        rings: usize,
        flattoflat_m: f64,
        gap_m: f64,
        center: bool,
        segments: Option<Vec<usize>>,
    ) -> Result<Self, OpticsError> {
        const K: &str = "multi_hexagon_aperture";
        let f2f = positive(K, "flattoflat_m", flattoflat_m)?;
        let gap = non_negative(K, "gap_m", gap_m)?;
        let side = f2f / 3f64.sqrt();
        // POPPY recomputes the flat-to-flat width from the side before adding the gap.
        let layout = SegmentLayout::new(K, rings, side * 3f64.sqrt() + gap, center, segments)?;
        Ok(MultiHexagonAperture { layout, side })
    }

    /// The segment layout.
    pub fn layout(&self) -> &SegmentLayout {
        &self.layout
    }
}

impl PupilOptic for MultiHexagonAperture {
    fn kind(&self) -> &'static str {
        "multi_hexagon_aperture"
    }
    fn describe(&self) -> String {
        format!(
            "Multi-hexagon, {} rings, {} segments",
            self.layout.rings,
            self.layout.segments.len()
        )
    }
    fn natural_diameter(&self) -> Option<f64> {
        Some(self.layout.spacing * (2 * self.layout.rings + 1) as f64)
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        if grid.frame().is_some() {
            // A placed grid: every sample in the optic's coordinates.
            let centres: Vec<(f64, f64)> =
                self.layout.segments.iter().map(|&seg| self.layout.center(seg)).collect();
            return Some(grid.map(|y, x| {
                let inside =
                    centres.iter().any(|&(cx, cy)| inside_hexagon(x - cx, y - cy, self.side));
                f64::from(u8::from(inside))
            }));
        }
        let c = grid.coords();
        let n = grid.npix();
        let mut t = Array2::zeros((n, n));
        let reach = self.side;
        for &seg in &self.layout.segments {
            let (cx, cy) = self.layout.center(seg);
            // Only rows and columns within one segment radius of its centre can change.
            let rows = c
                .iter()
                .enumerate()
                .filter(|(_, &y)| (y - cy).abs() <= reach * 1.01 + grid.pixelscale());
            let cols: Vec<usize> = c
                .iter()
                .enumerate()
                .filter(|(_, &x)| (x - cx).abs() <= reach * 1.01 + grid.pixelscale())
                .map(|(j, _)| j)
                .collect();
            for (i, &y) in rows {
                for &j in &cols {
                    if inside_hexagon(c[j] - cx, y - cy, self.side) {
                        t[[i, j]] = 1.0;
                    }
                }
            }
        }
        Some(t)
    }
}

/// Circular segments on a hexagonal grid (for example a non-redundant mask). POPPY's
/// `MultiCircularAperture`: gray edge pixels, natural pupil diameter
/// `2 segment_radius (2 rings + 1) + 2 rings gap`.
#[derive(Clone, Debug, PartialEq)]
pub struct MultiCircularAperture {
    layout: SegmentLayout,
    segment_radius: f64,
    gap: f64,
}

impl MultiCircularAperture {
    /// `rings` rings of circles of `segment_radius_m` separated by `gap_m`; `segments` lists
    /// the segments present (`None`: all, with the centre one only if `center`).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for non-positive sizes, a negative gap or bad segments.
    pub fn new(
        rings: usize,
        segment_radius_m: f64,
        gap_m: f64,
        center: bool,
        segments: Option<Vec<usize>>,
    ) -> Result<Self, OpticsError> {
        const K: &str = "multi_circular_aperture";
        let segment_radius = positive(K, "segment_radius_m", segment_radius_m)?;
        let gap = non_negative(K, "gap_m", gap_m)?;
        let layout = SegmentLayout::new(K, rings, 2.0 * segment_radius + gap, center, segments)?;
        Ok(MultiCircularAperture { layout, segment_radius, gap })
    }

    /// The segment layout.
    pub fn layout(&self) -> &SegmentLayout {
        &self.layout
    }
}

impl PupilOptic for MultiCircularAperture {
    fn kind(&self) -> &'static str {
        "multi_circular_aperture"
    }
    fn describe(&self) -> String {
        format!(
            "Multi-circle, {} rings, {} segments",
            self.layout.rings,
            self.layout.segments.len()
        )
    }
    fn natural_diameter(&self) -> Option<f64> {
        let rings = self.layout.rings as f64;
        Some(2.0 * self.segment_radius * (2.0 * rings + 1.0) + self.gap * (2.0 * rings))
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let mut t = Array2::zeros((grid.npix(), grid.npix()));
        for &seg in &self.layout.segments {
            let (cx, cy) = self.layout.center(seg);
            add_gray_disc(&mut t, grid, cx, cy, self.segment_radius);
        }
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: POPPY's numbering. Segment 1 is straight above the centre; ring 1 runs
    /// clockwise (segment 2 upper right); segment 7 starts ring 2 straight above.
    #[test]
    fn segment_numbering_follows_poppy() {
        let l = SegmentLayout::new("t", 2, 1.0, true, None).unwrap();
        let close =
            |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).abs() < 1e-12 && (a.1 - b.1).abs() < 1e-12;
        let h = 3f64.sqrt() / 2.0;
        assert!(close(l.center(0), (0.0, 0.0)));
        assert!(close(l.center(1), (0.0, 1.0)));
        assert!(close(l.center(2), (h, 0.5)));
        assert!(close(l.center(4), (0.0, -1.0)));
        assert!(close(l.center(7), (0.0, 2.0)));
        assert!(close(l.center(8), (h, 1.5)));
        assert_eq!(l.segments().len(), 19);
        let all: Vec<_> = (0..19).map(|i| l.center(i)).collect();
        for i in 0..19 {
            for j in 0..i {
                let d = ((all[i].0 - all[j].0).powi(2) + (all[i].1 - all[j].1).powi(2)).sqrt();
                assert!(d > 0.99, "segments {i} and {j} overlap");
            }
        }
    }

    #[test]
    fn default_segments_skip_the_centre_unless_asked() {
        let l = SegmentLayout::new("t", 2, 1.0, false, None).unwrap();
        assert_eq!(l.segments().len(), 18);
        assert!(SegmentLayout::new("t", 1, 1.0, false, Some(vec![7])).is_err());
    }
}
