//! The keys every analytic optic takes besides its own: `shift_x_m`, `shift_y_m` (pupil
//! planes) or `shift_x_arcsec`, `shift_y_arcsec` (image planes), `rotation_deg` (for kinds
//! without one of their own), as POPPY's `AnalyticOpticalElement`; and `inverse` (POPPY's
//! `InverseTransmission`) on any optic.

use super::kinds::OpticPlane;
use super::Keys;
use crate::SceneError;
use diffract_optics::{Frame, Inverse, Placed};
use diffract_propagation::Plane;
use std::sync::Arc;

/// The kinds that can be shifted and rotated: POPPY's analytic optics whose sampling goes
/// through its coordinates (`get_coordinates`).
pub(super) const PLACEABLE: &[&str] = &[
    "circular_aperture",
    "secondary_obscuration",
    "hexagon_aperture",
    "multi_hexagon_aperture",
    "multi_circular_aperture",
    "rectangle_aperture",
    "square_aperture",
    "ngon_aperture",
    "thin_lens",
    "scalar_transmission",
    "circular_occulter",
    "annular_field_stop",
    "square_field_stop",
    "rectangular_field_stop",
    "bar_occulter",
    "band_limited_coronagraph",
    "ideal_fqpm",
    "gaussian_aperture",
    "knife_edge",
    "scalar_optical_path_difference",
    "circular_phase_mask",
    "asymmetric_secondary_obscuration",
    "keystone_segmented_circular_aperture",
];

/// The kinds that cannot be inverted: the FQPM aligner (a tilt, not an optic) and the
/// Gaussian-beam lens.
const NOT_INVERTIBLE: &[&str] = &["fqpm_fft_aligner", "quadratic_lens"];

/// The shift keys `(x, y)` of a plane.
fn shift_keys(plane: OpticPlane) -> (&'static str, &'static str) {
    match plane {
        OpticPlane::Pupil => ("shift_x_m", "shift_y_m"),
        OpticPlane::Image => ("shift_x_arcsec", "shift_y_arcsec"),
    }
}

/// Reads the placement and `inverse` keys of an optic of `kind` (marking them read) and
/// wraps the built `optic` in them: placed first, then inverted (POPPY's
/// `InverseTransmission` of the shifted optic).
pub(super) fn read_and_wrap(
    k: &mut Keys<'_>,
    kind: &str,
    plane: OpticPlane,
    own_rotation: bool,
    optic: Plane,
) -> Result<Plane, SceneError> {
    let mut optic = optic;
    if PLACEABLE.contains(&kind) {
        let (kx, ky) = shift_keys(plane);
        let (ox, oy) = shift_keys(match plane {
            OpticPlane::Pupil => OpticPlane::Image,
            OpticPlane::Image => OpticPlane::Pupil,
        });
        for (other, ours) in [(ox, kx), (oy, ky)] {
            if k.table.contains_key(other) {
                let words = match plane {
                    OpticPlane::Pupil => "a pupil",
                    OpticPlane::Image => "an image",
                };
                return Err(k.err(format!("{other} does not apply in {words} plane; use {ours}")));
            }
        }
        let sx = k.f64_opt(kx)?;
        let sy = k.f64_opt(ky)?;
        let rotation = if own_rotation { None } else { k.f64_opt("rotation_deg")? };
        if sx.is_some() || sy.is_some() || rotation.is_some() {
            let frame = Frame::new(sx.unwrap_or(0.0), sy.unwrap_or(0.0), rotation)
                .map_err(|e| k.wrap(e))?;
            optic = match optic {
                Plane::Pupil(o) => Plane::Pupil(Arc::new(Placed::new(o, frame))),
                Plane::Image(o) => Plane::Image(Arc::new(Placed::new(o, frame))),
                other => other,
            };
        }
    }
    if !NOT_INVERTIBLE.contains(&kind) && k.bool_or("inverse", false)? {
        optic = match optic {
            Plane::Pupil(o) => Plane::Pupil(Arc::new(Inverse::new(o))),
            Plane::Image(o) => Plane::Image(Arc::new(Inverse::new(o))),
            other => other,
        };
    }
    Ok(optic)
}

#[cfg(test)]
mod tests {
    use crate::Scene;
    use std::path::Path;

    fn scene(optic: &str) -> Result<Scene, String> {
        let text = format!(
            "npix = 32\npupil_diameter_m = 2.0\n[source]\nwavelengths_m = [1e-6]\n[[optic]]\nplane = \"pupil\"\nkind = \"circular_aperture\"\nradius_m = 1.0\n[[optic]]\n{optic}\n[[optic]]\nplane = \"pupil\"\nkind = \"scalar_transmission\"\ntransmission = 1.0\n[detector]\npixelscale_arcsec = 0.1\nfov_pixels = 8\n"
        );
        Scene::from_toml_str(&text, Some(Path::new("s.toml"))).map_err(|e| e.to_string())
    }

    /// Bad placement keys: one line naming the file, the optic and the key.
    #[test]
    fn bad_placement_keys_name_the_optic_and_the_key() {
        let cases = [
            ("plane = \"pupil\"\nkind = \"circular_aperture\"\nradius_m = 0.5\nshift_x_arcsec = 0.1", "s.toml: optic 2 (circular_aperture): shift_x_arcsec does not apply in a pupil plane; use shift_x_m"),
            ("plane = \"image\"\nkind = \"circular_occulter\"\nradius_arcsec = 0.1\nshift_y_m = 0.1", "s.toml: optic 2 (circular_occulter): shift_y_m does not apply in an image plane; use shift_y_arcsec"),
            ("plane = \"pupil\"\nkind = \"circular_aperture\"\nradius_m = 0.5\nshift_x_m = \"left\"", "s.toml: optic 2 (circular_aperture): shift_x_m must be a number, got a string"),
            ("plane = \"pupil\"\nkind = \"circular_aperture\"\nradius_m = 0.5\ninverse = 1", "s.toml: optic 2 (circular_aperture): inverse must be true or false, got an integer"),
            ("plane = \"pupil\"\nkind = \"zernike_wfe\"\nradius_m = 1.0\ncoefficients_m = [0.0]\nshift_x_m = 0.1", "s.toml: optic 2 (zernike_wfe): unknown key 'shift_x_m'; allowed keys: kind, plane, radius_m, coefficients_m, inverse"),
            ("plane = \"pupil\"\nkind = \"fqpm_fft_aligner\"\ninverse = true", "s.toml: optic 2 (fqpm_fft_aligner): unknown key 'inverse'; allowed keys: kind, plane, direction"),
        ];
        for (optic, message) in cases {
            assert_eq!(scene(optic).unwrap_err(), message, "{optic}");
        }
    }

    /// The keys wrap the optic: a shifted circle keeps its kind and natural size, and a
    /// shifted, rotated, inverted optic builds in either plane.
    #[test]
    fn placed_and_inverted_optics_build() {
        let s = scene("plane = \"pupil\"\nkind = \"circular_aperture\"\nradius_m = 0.5\nshift_x_m = 0.1\nrotation_deg = 3\ninverse = true").unwrap();
        assert_eq!(s.system.planes()[1].kind(), "circular_aperture");
        let s = scene("plane = \"image\"\nkind = \"bar_occulter\"\nwidth_arcsec = 0.1\nrotation_deg = 30\nshift_x_arcsec = 0.2\ninverse = true").unwrap();
        assert_eq!(s.system.planes()[1].kind(), "bar_occulter");
    }
}
