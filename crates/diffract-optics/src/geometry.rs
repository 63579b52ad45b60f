//! Exact geometry on pixel grids: the area of a circle inside a pixel (for gray edge
//! pixels), point-in-polygon tests, and coordinate rotation.

use crate::PupilGrid;
use ndarray::Array2;
use rayon::prelude::*;

/// `integral_0^x sqrt(r^2 - t^2) dt` for `|x| <= r`.
fn half_disc_integral(x: f64, r: f64) -> f64 {
    let x = x.clamp(-r, r);
    0.5 * (x * (r * r - x * x).max(0.0).sqrt() + r * r * (x / r).clamp(-1.0, 1.0).asin())
}

/// Area of the intersection of the disc of radius `r` centred on the origin with the
/// rectangle `[x0, x1] x [y0, y1]`. Exact up to rounding.
///
/// The vertical extent of the disc at `x` is `[-s(x), s(x)]` with `s = sqrt(r^2 - x^2)`; the
/// overlap integrates `min(y1, s) - max(y0, -s)` over x. Between the breakpoints where `s`
/// crosses `|y0|` or `|y1|`, each bound is either a constant or `+-s`, whose integral is
/// closed-form.
pub fn disc_rectangle_overlap(r: f64, x0: f64, x1: f64, y0: f64, y1: f64) -> f64 {
    let (a, b) = (x0.max(-r), x1.min(r));
    if r.is_nan() || r <= 0.0 || a >= b || y0 >= y1 || y0 >= r || y1 <= -r {
        return 0.0;
    }
    let mut cuts = [a, b, f64::NAN, f64::NAN, f64::NAN, f64::NAN];
    let mut n = 2;
    for y in [y0, y1] {
        if y.abs() < r {
            let c = (r * r - y * y).sqrt();
            for x in [-c, c] {
                if x > a && x < b {
                    cuts[n] = x;
                    n += 1;
                }
            }
        }
    }
    let cuts = &mut cuts[..n];
    cuts.sort_by(f64::total_cmp);
    let mut area = 0.0;
    for w in cuts.windows(2) {
        let (lo, hi) = (w[0], w[1]);
        if hi <= lo {
            continue;
        }
        let mid = 0.5 * (lo + hi);
        let s = (r * r - mid * mid).max(0.0).sqrt();
        let top_is_circle = s < y1;
        let bottom_is_circle = -s > y0;
        let top = if top_is_circle { s } else { y1 };
        let bottom = if bottom_is_circle { -s } else { y0 };
        if top <= bottom {
            continue;
        }
        let arc = half_disc_integral(hi, r) - half_disc_integral(lo, r);
        let top_int = if top_is_circle { arc } else { y1 * (hi - lo) };
        let bottom_int = if bottom_is_circle { -arc } else { y0 * (hi - lo) };
        area += top_int - bottom_int;
    }
    area.max(0.0)
}

/// Fraction of the unit pixel centred on `(px, py)` (pixel units) covered by the disc of
/// radius `r` centred on the origin.
pub fn pixel_fraction_in_disc(r: f64, px: f64, py: f64) -> f64 {
    disc_rectangle_overlap(r, px - 0.5, px + 0.5, py - 0.5, py + 0.5).clamp(0.0, 1.0)
}

/// A gray-edged disc of radius `radius` metres centred on `(cx, cy)` metres, sampled on
/// `grid`: each pixel holds the fraction of its area inside the disc.
///
/// Pixels whose centre lies more than one pixel from the edge are exactly 0 or 1; the rest
/// get the exact overlap area.
pub fn gray_disc(grid: &PupilGrid, cx: f64, cy: f64, radius: f64) -> Array2<f64> {
    let mut out = Array2::zeros((grid.npix(), grid.npix()));
    disc_into(&mut out, grid, cx, cy, radius, true);
    out
}

/// Adds a gray-edged disc (as [`gray_disc`]) into `out`, visiting only the rows and columns
/// the disc can reach.
///
/// # Panics
///
/// When `out` is not of the grid's shape.
///
/// On a [placed](PupilGrid::placed) grid the disc's centre `(cx, cy)` is in the optic's
/// coordinates, and a rotated frame gets POPPY's gray border of `|cos a|` pixels with its
/// values divided by `cos^2 a` ([`Frame`](crate::Frame)).
pub fn add_gray_disc(out: &mut Array2<f64>, grid: &PupilGrid, cx: f64, cy: f64, radius: f64) {
    disc_into(out, grid, cx, cy, radius, false);
}

/// [`add_gray_disc`]; with `fresh` (`out` newly made, all zeros), every row of `out` is
/// written first, rows beyond the disc included: memory read before it is first written
/// costs the kernel a second page fault, and threads doing so together make it interrupt
/// each other to flush their address translations.
fn disc_into(out: &mut Array2<f64>, grid: &PupilGrid, cx: f64, cy: f64, radius: f64, fresh: bool) {
    assert_eq!(out.dim(), (grid.npix(), grid.npix()), "an array of the grid's shape");
    let s = grid.pixelscale();
    let r = radius / s;
    let c = grid.coords();
    let n = grid.npix();
    let frame = grid.frame();
    // The disc's centre on the plane.
    let (wy, wx) = frame.map_or((cy, cx), |f| f.unapply(cy, cx));
    // Index range covering [centre - r - 1, centre + r + 1] in pixel units.
    let span = |centre: f64| {
        let first = (((centre - radius) / s) + grid.centre() - 1.5).floor().max(0.0) as usize;
        let last = (((centre + radius) / s) + grid.centre() + 1.5).ceil().min(n as f64 - 1.0);
        if last < 0.0 {
            (1, 0)
        } else {
            (first, last as usize)
        }
    };
    let (i0, i1) = span(wy);
    let (j0, j1) = span(wx);
    let k = frame.map_or(1.0, |f| f.gray_pixel_size());
    let value = |i: usize, j: usize| {
        let (py, px) = match frame {
            None => ((c[i] - cy) / s, (c[j] - cx) / s),
            Some(f) => {
                let (y, x) = f.apply(c[i], c[j]);
                ((y - cy) / s, (x - cx) / s)
            }
        };
        gray_value(r, px, py, k)
    };
    // Without a frame, the pixels whose centres lie more than k + 1 pixels inside the edge
    // are 1 (gray_value's answer there), and those more than k + 1 pixels outside it are 0:
    // each row's runs of them come from the chords of the circles of radii r - k - 1 and
    // r + k + 1, a margin of a pixel far beyond any rounding of the coordinates. The first
    // run is filled without the per-pixel test; the pixels outside the second are left as
    // they are (adding 0 changes no bit of a sum of such values, which is never -0).
    let inner = r - k - 1.0;
    let outer = r + k + 1.0;
    let jc = grid.centre() + cx / s;
    let last = j1.min(n - 1);
    let chord = |py: f64, radius: f64| {
        let half = (radius * radius - py * py).sqrt();
        ((jc - half).ceil().max(j0 as f64), (jc + half).floor().min(last as f64))
    };
    let fill_row = |i: usize, row: &mut [f64]| {
        let py = (c[i] - cy) / s;
        // Columns lo..end may be non-zero; a..b are certainly 1.
        let (lo, end) = match frame {
            None if py.abs() >= outer => return,
            None => {
                let (lo, hi) = chord(py, outer);
                (lo as usize, hi as usize + 1)
            }
            Some(_) => (j0, last + 1),
        };
        let (a, b) = if frame.is_none() && inner > 0.0 && py.abs() < inner {
            let (a, b) = chord(py, inner);
            if b >= a {
                (a as usize, b as usize + 1)
            } else {
                (end, end)
            }
        } else {
            (end, end)
        };
        let lo = lo.min(end);
        let a = a.clamp(lo, end);
        let b = b.clamp(a, end);
        for (j, v) in row.iter_mut().enumerate().take(a).skip(lo) {
            *v += value(i, j);
        }
        for v in &mut row[a..b] {
            *v += 1.0;
        }
        for (j, v) in row.iter_mut().enumerate().take(end).skip(b) {
            *v += value(i, j);
        }
    };
    let rows = i0..=i1.min(n - 1);
    let visit = |k: usize, row: &mut [f64]| {
        if fresh {
            row.fill(0.0);
        }
        let i = if fresh { k } else { rows.start() + k };
        if rows.contains(&i) {
            fill_row(i, row);
        }
    };
    let visited = match (fresh, rows.is_empty()) {
        (true, _) => 0..n * n,
        (false, false) => rows.start() * n..(rows.end() + 1) * n,
        (false, true) => 0..0,
    };
    match out.as_slice_mut() {
        Some(values) if visited.len() >= crate::grid::PARALLEL_SAMPLES => {
            values[visited].par_chunks_mut(n).enumerate().for_each(|(k, row)| visit(k, row));
        }
        Some(values) => {
            for (k, row) in values[visited].chunks_mut(n).enumerate() {
                visit(k, row);
            }
        }
        None => {
            for i in rows {
                let mut row = out.row(i).to_vec();
                fill_row(i, &mut row);
                out.row_mut(i).assign(&ndarray::ArrayView1::from(&row));
            }
        }
    }
}

/// The gray value of the pixel at `(px, py)` (pixel units from the centre) for a disc of
/// radius `r` pixels, with POPPY's border of `k` pixels (1 unless the optic is rotated).
#[inline]
pub(crate) fn gray_value(r: f64, px: f64, py: f64, k: f64) -> f64 {
    let d = (px * px + py * py).sqrt();
    if (d - r).abs() < k {
        (pixel_fraction_in_disc(r, px, py) / (k * k)).min(1.0)
    } else if d < r {
        1.0
    } else {
        0.0
    }
}

/// Rotates `(x, y)` into the frame of an optic rotated by `angle_deg` counter-clockwise:
/// `x' = cos a x + sin a y`, `y' = -sin a x + cos a y` (POPPY's convention).
#[inline]
pub fn rotate_into(x: f64, y: f64, cos_a: f64, sin_a: f64) -> (f64, f64) {
    (cos_a * x + sin_a * y, -sin_a * x + cos_a * y)
}

/// Whether `(x, y)` lies inside the closed polygon `vertices`, decided as matplotlib's
/// `Path.contains_points` does (the crossing test POPPY's `NgonAperture` uses): an edge from
/// `(x0, y0)` to `(x1, y1)` counts when `y0 >= y` and `y1 >= y` differ and
/// `((y1 - y) (x0 - x1) >= (x1 - x) (y0 - y1)) == (y1 >= y)`. Points exactly on an edge are
/// decided by these comparisons in floating point, the same doubles as matplotlib's.
pub fn inside_polygon(vertices: &[(f64, f64)], x: f64, y: f64) -> bool {
    let n = vertices.len();
    let mut inside = false;
    for k in 0..n {
        let (x0, y0) = vertices[k];
        let (x1, y1) = vertices[(k + 1) % n];
        let (above0, above1) = (y0 >= y, y1 >= y);
        if above0 != above1 && (((y1 - y) * (x0 - x1) >= (x1 - x) * (y0 - y1)) == above1) {
            inside = !inside;
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// Reference: closed-form areas (full disc, quarter disc, a square inside the disc).
    #[test]
    fn overlap_matches_closed_forms() {
        let r = 1.3;
        assert!((disc_rectangle_overlap(r, -2.0, 2.0, -2.0, 2.0) - PI * r * r).abs() < 1e-14);
        assert!((disc_rectangle_overlap(r, 0.0, 2.0, 0.0, 2.0) - PI * r * r / 4.0).abs() < 1e-14);
        assert!((disc_rectangle_overlap(r, -0.5, 0.5, -0.5, 0.5) - 1.0).abs() < 1e-15);
        // Half of the disc: y > 0.
        assert!((disc_rectangle_overlap(r, -3.0, 3.0, 0.0, 3.0) - PI * r * r / 2.0).abs() < 1e-14);
        assert_eq!(disc_rectangle_overlap(r, 2.0, 3.0, -1.0, 1.0), 0.0);
        // Circular segment above y = h: r^2 acos(h/r) - h sqrt(r^2 - h^2).
        let h = 0.4;
        let seg = r * r * (h / r).acos() - h * (r * r - h * h).sqrt();
        assert!((disc_rectangle_overlap(r, -5.0, 5.0, h, 5.0) - seg).abs() < 1e-14);
    }

    /// Reference: the disc's area pi r^2; gray pixels sum to it to 1e-9 (relative).
    #[test]
    fn gray_disc_sums_to_the_disc_area() {
        for (n, radius, cx, cy) in
            [(64, 0.9, 0.0, 0.0), (65, 0.7, 0.13, -0.21), (100, 0.35, 0.5, 0.4)]
        {
            let grid = PupilGrid::new(n, 2.0).unwrap();
            let d = gray_disc(&grid, cx, cy, radius);
            let area = d.sum() * grid.pixelscale().powi(2);
            assert!((area / (PI * radius * radius) - 1.0).abs() < 1e-9, "n={n}: {area}");
            assert!(d.iter().all(|v| (0.0..=1.0).contains(v)));
        }
    }

    /// Reference: `gray_value` at every pixel of the grid (what the row runs skip or fill
    /// is 0 or 1 there), bit for bit, for discs off the centre, cut by the grid's edge, and
    /// on a grid large enough to be filled by rows in parallel.
    #[test]
    fn gray_disc_runs_equal_the_per_pixel_values() {
        for (n, radius, cx, cy) in [
            (64, 0.9, 0.0, 0.0),
            (65, 0.7, 0.13, -0.21),
            (100, 0.35, 0.5, 0.4),
            (80, 1.3, 0.6, -0.5),
            (300, 0.97, -0.02, 0.011),
        ] {
            let grid = PupilGrid::new(n, 2.0).unwrap();
            let s = grid.pixelscale();
            let want = grid.map(|y, x| gray_value(radius / s, (x - cx) / s, (y - cy) / s, 1.0));
            let got = gray_disc(&grid, cx, cy, radius);
            let same = got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "n={n} radius={radius} centre=({cx}, {cy})");
        }
    }

    #[test]
    fn polygon_containment() {
        let square = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)];
        assert!(inside_polygon(&square, 0.0, 0.0));
        assert!(inside_polygon(&square, 0.99, -0.99));
        assert!(!inside_polygon(&square, 1.01, 0.0));
    }

    /// Reference: matplotlib 3.11 `Path.contains_points` (POPPY's `NgonAperture` rule) on
    /// points exactly on the edges and vertices of POPPY's 4-gon of radius 1 and of an
    /// axis-aligned square: the same inside/outside answer for each.
    #[test]
    fn points_on_edges_are_decided_as_matplotlib_does() {
        let diamond: Vec<(f64, f64)> = (0..4)
            .map(|i| {
                let a = i as f64 * 2.0 * PI / 4.0;
                (a.cos(), a.sin())
            })
            .collect();
        let cases = [
            ((0.5, 0.5), true),
            ((-0.5, 0.5), true),
            ((-0.5, -0.5), false),
            ((0.5, -0.5), false),
            ((1.0, 0.0), true),
            ((0.0, 1.0), true),
            ((0.0, -1.0), false),
            ((-1.0, 0.0), false),
            ((0.25, 0.75), true),
            ((-0.25, -0.75), true),
            ((0.75, -0.25), false),
            ((0.0, 0.0), true),
        ];
        for ((x, y), want) in cases {
            assert_eq!(inside_polygon(&diamond, x, y), want, "4-gon at ({x}, {y})");
        }
        let square = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)];
        let cases = [
            ((1.0, 0.0), true),
            ((-1.0, 0.0), true),
            ((0.0, 1.0), true),
            ((0.0, -1.0), false),
            ((1.0, 1.0), true),
            ((-1.0, -1.0), false),
        ];
        for ((x, y), want) in cases {
            assert_eq!(inside_polygon(&square, x, y), want, "square at ({x}, {y})");
        }
    }
}
