//! Property tests: sampled apertures hold their exact areas.
//!
//! Gray-edged circles hold the exact area (each edge pixel is the exact overlap), to 1e-9
//! relative. Shapes sampled at pixel centres differ from their exact area by at most the
//! pixels the boundary crosses: (2 perimeter / dx + 4) dx^2.

use diffract_optics::{
    geometry::gray_disc, CircularAperture, HexagonAperture, MultiCircularAperture,
    MultiHexagonAperture, NgonAperture, PupilGrid, PupilOptic, RectangleAperture,
};
use proptest::prelude::*;
use std::f64::consts::PI;

fn area(optic: &dyn PupilOptic, grid: &PupilGrid) -> f64 {
    optic.transmission(grid).unwrap().sum() * grid.pixelscale().powi(2)
}

fn centre_sampling_tolerance(perimeter: f64, dx: f64) -> f64 {
    (2.0 * perimeter / dx + 4.0) * dx * dx
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn gray_discs_hold_pi_r_squared(n in 16usize..160, r_frac in 0.05f64..0.45, cx in -0.04f64..0.04, cy in -0.04f64..0.04) {
        let grid = PupilGrid::new(n, 1.0).unwrap();
        let d = gray_disc(&grid, cx, cy, r_frac);
        let a = d.sum() * grid.pixelscale().powi(2);
        prop_assert!((a / (PI * r_frac * r_frac) - 1.0).abs() < 1e-9, "area {} vs {}", a, PI * r_frac * r_frac);
        prop_assert!(d.iter().all(|v| (0.0..=1.0).contains(v)));
        let circle = CircularAperture::new(r_frac).unwrap();
        let centred = area(&circle, &grid);
        prop_assert!((centred / (PI * r_frac * r_frac) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn regular_polygons_hold_their_area(n in 32usize..200, sides in 3usize..12, radius in 0.1f64..0.49, rot in -180.0f64..180.0) {
        let grid = PupilGrid::new(n, 1.0).unwrap();
        let exact = 0.5 * sides as f64 * radius * radius * (2.0 * PI / sides as f64).sin();
        let perimeter = 2.0 * sides as f64 * radius * (PI / sides as f64).sin();
        let a = area(&NgonAperture::new(sides, radius, rot).unwrap(), &grid);
        prop_assert!((a - exact).abs() <= centre_sampling_tolerance(perimeter, grid.pixelscale()), "{} vs {}", a, exact);
    }

    #[test]
    fn hexagons_and_rectangles_hold_their_area(n in 32usize..200, f2f in 0.1f64..0.8, w in 0.05f64..0.6, h in 0.05f64..0.6, rot in -90.0f64..90.0) {
        let grid = PupilGrid::new(n, 1.0).unwrap();
        let dx = grid.pixelscale();
        let side = f2f / 3f64.sqrt();
        let hex = area(&HexagonAperture::new(f2f, rot).unwrap(), &grid);
        let hex_exact = 1.5 * 3f64.sqrt() * side * side;
        prop_assert!((hex - hex_exact).abs() <= centre_sampling_tolerance(6.0 * side, dx));
        let rect = area(&RectangleAperture::new(w, h, rot).unwrap(), &grid);
        prop_assert!((rect - w * h).abs() <= centre_sampling_tolerance(2.0 * (w + h), dx));
    }

    #[test]
    fn segment_sets_hold_their_segments_areas(rings in 1usize..3, gap in 0.0f64..0.05, pick in proptest::collection::btree_set(0usize..19, 1..8)) {
        let rings_total = if rings == 1 { 7 } else { 19 };
        let segments: Vec<usize> = pick.into_iter().filter(|&s| s < rings_total).collect();
        prop_assume!(!segments.is_empty());
        // Segments fill a 3-metre grid sampled at 400 pixels.
        let grid = PupilGrid::new(400, 3.0).unwrap();
        let dx = grid.pixelscale();
        let radius = 0.25;
        let circles = MultiCircularAperture::new(rings, radius, gap, true, Some(segments.clone())).unwrap();
        let a = area(&circles, &grid);
        let exact = segments.len() as f64 * PI * radius * radius;
        prop_assert!((a / exact - 1.0).abs() < 1e-9, "{} vs {}", a, exact);
        let f2f = 0.45;
        let hexes = MultiHexagonAperture::new(rings, f2f, gap, true, Some(segments.clone())).unwrap();
        let side = f2f / 3f64.sqrt();
        let hex_exact = segments.len() as f64 * 1.5 * 3f64.sqrt() * side * side;
        let tol = segments.len() as f64 * centre_sampling_tolerance(6.0 * side, dx);
        prop_assert!((area(&hexes, &grid) - hex_exact).abs() <= tol);
    }
}
