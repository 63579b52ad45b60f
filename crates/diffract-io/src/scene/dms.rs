//! Building the deformable-mirror kinds from their scene keys: actuator maps from the scene
//! or a FITS file, checked against the mirror's shape, and segment lists against its rings.

use diffract_optics::{
    ContinuousDeformableMirror, InfluenceFunction, OpticsError, SegmentedDeformableMirror,
};
use ndarray::Array2;
use std::path::Path;

/// A `continuous_deformable_mirror`'s keys, as given.
pub(super) struct ContinuousKeys<'a> {
    pub dm_shape: &'a [usize],
    pub actuator_spacing_m: Option<f64>,
    pub radius_m: f64,
    pub surface_m: Option<&'a [Vec<f64>]>,
    pub surface_path: Option<&'a str>,
    pub influence_path: Option<&'a str>,
    pub flip_x: bool,
    pub flip_y: bool,
    pub include_factor_of_two: bool,
}

/// Refuses an actuator map given both in the scene and from a file.
pub(super) fn one_surface(inline: bool, file: bool) -> Result<(), String> {
    if inline && file {
        Err("give surface_m or surface_path, not both".into())
    } else {
        Ok(())
    }
}

fn wrapped(e: OpticsError) -> String {
    super::WrappedError::from(e).0
}

/// The mirror of `keys`; `surface_path` is relative to `base` (the scene's folder).
pub(super) fn continuous(
    keys: ContinuousKeys<'_>,
    base: &Path,
) -> Result<ContinuousDeformableMirror, String> {
    let &[rows, cols] = keys.dm_shape else {
        return Err(format!(
            "dm_shape = {:?} is invalid; must be [rows, columns] of actuators",
            keys.dm_shape
        ));
    };
    one_surface(keys.surface_m.is_some(), keys.surface_path.is_some())?;
    let mut dm =
        ContinuousDeformableMirror::new(rows, cols, keys.actuator_spacing_m, keys.radius_m)
            .map_err(wrapped)?
            .with_flips(keys.flip_x, keys.flip_y)
            .with_factor_of_two(keys.include_factor_of_two);
    let wrong = |key: &str, got: (usize, usize)| {
        format!(
            "{key} is {} rows of {} actuators; dm_shape = [{rows}, {cols}] needs {rows} rows of {cols}",
            got.0, got.1
        )
    };
    let surface = if let Some(list) = keys.surface_m {
        let got = (list.len(), list.first().map_or(0, Vec::len));
        if got != (rows, cols) {
            return Err(wrong("surface_m", got));
        }
        Some(Array2::from_shape_fn(got, |(i, j)| list[i][j]))
    } else if let Some(rel) = keys.surface_path {
        let img =
            crate::read_image(&base.join(rel), 0).map_err(|e| format!("surface_path: {e}"))?;
        if img.data.dim() != (rows, cols) {
            return Err(wrong(&format!("surface_path ({rel})"), img.data.dim()));
        }
        if img.data.iter().any(|v| !v.is_finite()) {
            return Err(format!("surface_path ({rel}) holds a value that is not finite"));
        }
        Some(img.data)
    } else {
        None
    };
    if let Some(s) = surface {
        dm.set_surface(s.view()).map_err(wrapped)?;
    }
    if let Some(rel) = keys.influence_path {
        let img =
            crate::read_image(&base.join(rel), 0).map_err(|e| format!("influence_path: {e}"))?;
        let Some(sampling) = img.sampling else {
            return Err(format!(
                "influence_path ({rel}) has no SAMPLING keyword (pixels per actuator spacing)"
            ));
        };
        let influence = InfluenceFunction::new(img.data, sampling)
            .map_err(|e| format!("influence_path ({rel}): {}", wrapped(e)))?;
        dm = dm.with_influence(influence);
    }
    Ok(dm)
}

/// `dm` with its pistons, tips and tilts (lists by segment number) and reflection factor.
pub(super) fn segmented(
    dm: SegmentedDeformableMirror,
    piston_m: &[f64],
    tip_rad: &[f64],
    tilt_rad: &[f64],
    factor_of_two: bool,
) -> Result<SegmentedDeformableMirror, OpticsError> {
    let mut dm = dm.with_factor_of_two(factor_of_two);
    dm.set_all(piston_m, tip_rad, tilt_rad)?;
    Ok(dm)
}

#[cfg(test)]
mod tests {
    use crate::Scene;
    use std::path::Path;

    /// The scene's error for a `[[optic]]` second after a circular aperture; files are read
    /// relative to `dir`.
    fn err(dir: &Path, optic: &str) -> String {
        let text = format!(
            "npix = 32\n[source]\nwavelengths_m = [1e-6]\n[[optic]]\nplane = \"pupil\"\nkind = \"circular_aperture\"\nradius_m = 1.0\n[[optic]]\nplane = \"pupil\"\n{optic}\n[detector]\npixelscale_arcsec = 0.1\nfov_pixels = 8\n"
        );
        let e = Scene::from_toml_str(&text, Some(&dir.join("s.toml"))).unwrap_err().to_string();
        assert_eq!(e.lines().count(), 1, "{e}");
        e
    }

    /// Item 6 of issue 13: actuator maps of the wrong shape, segment lists longer than the
    /// segments and influence files that are not 2-D images are refused in one line naming
    /// the file, the optic and the key.
    #[test]
    fn bad_mirrors_are_refused_naming_file_optic_and_key() {
        let dir = std::env::temp_dir().join(format!("diffract-dms-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let image = |name: &str, rows: usize, cols: usize, sampling: Option<f64>| {
            let data = ndarray::Array2::<f64>::ones((rows, cols));
            let keys: Vec<(&str, f64)> = sampling.map(|s| ("SAMPLING", s)).into_iter().collect();
            crate::write_image(&dir.join(name), &data, &keys, true).unwrap();
        };
        image("s3x4.fits", 3, 4, None);
        image("infl.fits", 9, 9, Some(4.0));
        image("nosampling.fits", 9, 9, None);
        // A 3-D image: NAXIS = 3, 2 x 2 x 2 doubles, written by hand.
        let mut cube = Vec::new();
        for card in [
            "SIMPLE  =                    T",
            "BITPIX  =                  -64",
            "NAXIS   =                    3",
            "NAXIS1  =                    2",
            "NAXIS2  =                    2",
            "NAXIS3  =                    2",
            "END",
        ] {
            cube.extend(format!("{card:<80}").bytes());
        }
        cube.resize(2880, b' ');
        cube.extend(std::iter::repeat_n(0u8, 2880));
        std::fs::write(dir.join("cube.fits"), cube).unwrap();

        let cdm = "kind = \"continuous_deformable_mirror\"\ndm_shape = [4, 4]\nactuator_spacing_m = 0.5\n";
        let hex = "kind = \"hex_segmented_deformable_mirror\"\nrings = 1\nflattoflat_m = 0.5\n";
        let circ =
            "kind = \"circular_segmented_deformable_mirror\"\nrings = 2\nsegment_radius_m = 0.2\n";
        let s = dir.join("s.toml").display().to_string();
        let cases = [
            (format!("{cdm}surface_m = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]"), "optic 2 (continuous_deformable_mirror): surface_m is 3 rows of 4 actuators; dm_shape = [4, 4] needs 4 rows of 4".to_string()),
            (format!("{cdm}surface_m = [[0, 0, 0, 0], [0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]"), "optic 2 (continuous_deformable_mirror): surface_m rows must have equal lengths; row 1 has 4, row 2 has 3".into()),
            (format!("{cdm}surface_m = [0, 0, 0, 0]"), "optic 2 (continuous_deformable_mirror): surface_m must be a list of rows (lists of numbers); item 1 is an integer".into()),
            (format!("{cdm}surface_path = \"s3x4.fits\""), "optic 2 (continuous_deformable_mirror): surface_path (s3x4.fits) is 3 rows of 4 actuators; dm_shape = [4, 4] needs 4 rows of 4".into()),
            (format!("{cdm}surface_path = \"s3x4.fits\"\nsurface_m = [[1]]"), "optic 2 (continuous_deformable_mirror): give surface_m or surface_path, not both".into()),
            (format!("{cdm}influence_path = \"cube.fits\""), "optic 2 (continuous_deformable_mirror): influence_path: ".into()),
            (format!("{cdm}influence_path = \"nosampling.fits\""), "optic 2 (continuous_deformable_mirror): influence_path (nosampling.fits) has no SAMPLING keyword (pixels per actuator spacing)".into()),
            (format!("{cdm}influence_path = \"missing.fits\""), "optic 2 (continuous_deformable_mirror): influence_path: ".into()),
            ("kind = \"continuous_deformable_mirror\"\ndm_shape = [4, 4, 4]".into(), "optic 2 (continuous_deformable_mirror): dm_shape = [4, 4, 4] is invalid; must be [rows, columns] of actuators".into()),
            ("kind = \"continuous_deformable_mirror\"\ndm_shape = [1, 4]".into(), "optic 2 (continuous_deformable_mirror): actuator_spacing_m = none is invalid; must be given for a mirror with one row of actuators".into()),
            (format!("{hex}piston_m = [0, 0, 0, 0, 0, 0, 0, 1e-9]"), "optic 2 (hex_segmented_deformable_mirror): piston_m = a list of 8 values is invalid; must hold at most one value per segment of the rings (index 0 the centre)".into()),
            (format!("{circ}tilt_rad = {:?}", vec![0.0; 20]), "optic 2 (circular_segmented_deformable_mirror): tilt_rad = a list of 20 values is invalid; must hold at most one value per segment of the rings (index 0 the centre)".into()),
            (format!("{circ}segments = [19]"), "optic 2 (circular_segmented_deformable_mirror): segments = 19 is invalid; segment numbers must be below the segment count of the rings given".into()),
            (format!("{hex}center = false\ntip_rad = [0.25]"), "optic 2 (hex_segmented_deformable_mirror): tip_rad = 0.25 for segment 0 is invalid; segments that are not present take 0".into()),
            (format!("{hex}tip_rad = [\"a\"]"), "optic 2 (hex_segmented_deformable_mirror): tip_rad must be a number, got a string".into()),
        ];
        for (optic, message) in cases {
            let e = err(&dir, &optic);
            assert!(e.starts_with(&format!("{s}: {message}")), "{optic}\n got: {e}");
        }
        // The 3-D influence file and the missing one name their problem after the key.
        assert!(err(&dir, &format!("{cdm}influence_path = \"cube.fits\"")).contains("3-D image"));
        assert!(
            err(&dir, &format!("{cdm}influence_path = \"missing.fits\"")).contains("missing.fits")
        );
        // Lists as long as the segments, and a good influence file, are accepted.
        let ok = |optic: &str| {
            let text = format!("npix = 32\n[source]\nwavelengths_m = [1e-6]\n[[optic]]\nplane = \"pupil\"\n{optic}\n[detector]\npixelscale_arcsec = 0.1\nfov_pixels = 8\n");
            Scene::from_toml_str(&text, Some(&dir.join("s.toml"))).map(|_| ())
        };
        ok(&format!("{hex}piston_m = [0, 0, 0, 0, 0, 0, 1e-9]")).unwrap();
        ok(&format!("{circ}tilt_rad = {:?}", vec![0.0; 19])).unwrap();
        ok(&format!("{cdm}influence_path = \"infl.fits\"\nsurface_m = [[1e-9, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
