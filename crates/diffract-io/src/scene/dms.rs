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
