//! Other spellings of an optic's lengths and angles: a key `x_m` may be given as `x_mm`,
//! `x_um` or `x_nm`; `x_arcsec` as `x_mas` or `x_rad`; `x_deg` as `x_rad`. Exactly one
//! spelling of a quantity per optic; the value is converted to the key's own unit before
//! the optic is read.

use toml::{Table, Value};

/// Another spelling: (its suffix, the suffix of the key it stands for, the conversion).
type Spelling = (&'static str, &'static str, fn(f64) -> f64);

/// The other spellings of each unit.
const SPELLINGS: &[Spelling] = &[
    ("_mm", "_m", |v| v / 1e3),
    ("_um", "_m", |v| v / 1e6),
    ("_nm", "_m", |v| v / 1e9),
    ("_mas", "_arcsec", |v| v / 1e3),
    ("_rad", "_deg", |v| v.to_degrees()),
    ("_rad", "_arcsec", |v| v.to_degrees() * 3600.0),
];

fn convert(v: &Value, f: fn(f64) -> f64) -> Option<Value> {
    match v {
        Value::Float(x) => Some(Value::Float(f(*x))),
        Value::Integer(i) => Some(Value::Float(f(*i as f64))),
        Value::Array(a) => {
            a.iter().map(|x| convert(x, f)).collect::<Option<Vec<_>>>().map(Value::Array)
        }
        _ => None,
    }
}

/// `t` with every other spelling of one of `keys` (the optic's keys in `plane`) replaced by
/// the key itself, its value converted; `None` when there is none. Errors name the keys.
pub(super) fn normalise(t: &Table, keys: &[&str]) -> Result<Option<Table>, String> {
    let mut out: Option<Table> = None;
    for (name, value) in t {
        if keys.contains(&name.as_str()) {
            continue;
        }
        for &(suffix, unit, f) in SPELLINGS {
            let Some(stem) = name.strip_suffix(suffix) else { continue };
            let target = format!("{stem}{unit}");
            if !keys.contains(&target.as_str()) {
                continue;
            }
            if t.contains_key(&target) {
                return Err(format!("give {target} or {name}, not both"));
            }
            let table = out.get_or_insert_with(|| t.clone());
            if table.contains_key(&target) {
                return Err(format!("give one spelling of {target}, not several"));
            }
            let Some(converted) = convert(value, f) else {
                return Err(format!("{name} must be a number or a list of numbers"));
            };
            table.remove(name);
            table.insert(target, converted);
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::Scene;
    use diffract_optics::PupilGrid;
    use diffract_propagation::Plane;
    use std::path::Path;

    fn scene(optic: &str) -> Result<Scene, String> {
        let text = format!(
            "npix = 64\npupil_diameter_m = 2.4\n[source]\nwavelengths_m = [1e-6]\n[[optic]]\n{optic}\n[detector]\npixelscale_arcsec = 0.1\nfov_pixels = 8\n"
        );
        Scene::from_toml_str(&text, Some(Path::new("s.toml"))).map_err(|e| e.to_string())
    }

    fn pupil(optic: &str) -> ndarray::Array2<f64> {
        let s = scene(optic).unwrap();
        let grid = PupilGrid::new(64, 2.4).unwrap();
        match &s.system.planes()[0] {
            Plane::Pupil(o) => o.transmission(&grid).unwrap(),
            _ => panic!("not a pupil optic"),
        }
    }

    /// Reference: the same optic in metres and degrees; the conversions are exact (or to
    /// one rounding: 0.05 m from 50 mm, 30 degrees from pi/6 rad), so the samples agree to
    /// 1e-12.
    #[test]
    fn other_units_give_the_same_optic() {
        let k = "plane = \"pupil\"\nkind = \"rectangle_aperture\"";
        let metres = pupil(&format!(
            "{k}\nwidth_m = 1.5\nheight_m = 0.8\nrotation_deg = 30.0\nshift_x_m = 0.05"
        ));
        let other = pupil(&format!(
            "{k}\nwidth_mm = 1500\nheight_um = 8e5\nrotation_rad = {}\nshift_x_nm = 5e7",
            std::f64::consts::PI / 6.0
        ));
        let diff = (&metres - &other).mapv(f64::abs).sum();
        assert_eq!(diff, 0.0, "{diff}");
        let k = "plane = \"pupil\"\nkind = \"circular_aperture\"";
        let a = pupil(&format!("{k}\nradius_m = 1.0\nshift_y_m = -0.1"));
        let b = pupil(&format!("{k}\nradius_mm = 1000\nshift_y_mm = -100"));
        assert!((&a - &b).mapv(f64::abs).sum() < 1e-12);
    }

    /// Image-plane angles: milliarcseconds and radians for arcsec keys.
    #[test]
    fn angles_in_mas_and_rad() {
        let s = |r: &str| {
            scene(&format!("plane = \"pupil\"\nkind = \"circular_aperture\"\nradius_m = 1.0\n[[optic]]\nplane = \"image\"\nkind = \"circular_occulter\"\n{r}\n[[optic]]\nplane = \"pupil\"\nkind = \"circular_aperture\"\nradius_m = 0.9"))
                .map(|s| s.system.planes()[1].kind())
        };
        assert_eq!(s("radius_mas = 100"), Ok("circular_occulter"));
        assert_eq!(s(&format!("radius_rad = {}", 0.1 / 206_264.806)), Ok("circular_occulter"));
        assert_eq!(
            s("radius_arcsec = 0.1\nradius_mas = 100"),
            Err("s.toml: optic 2 (circular_occulter): give radius_arcsec or radius_mas, not both"
                .into())
        );
    }

    /// One spelling per quantity, and values that are numbers: one line naming the keys.
    #[test]
    fn bad_spellings_are_one_line_errors() {
        let k = "plane = \"pupil\"\nkind = \"circular_aperture\"";
        assert_eq!(
            scene(&format!("{k}\nradius_m = 1.0\nradius_mm = 1000")).unwrap_err(),
            "s.toml: optic 1 (circular_aperture): give radius_m or radius_mm, not both"
        );
        assert_eq!(
            scene(&format!("{k}\nradius_mm = 1000\nradius_um = 1e6")).unwrap_err(),
            "s.toml: optic 1 (circular_aperture): give one spelling of radius_m, not several"
        );
        assert_eq!(
            scene(&format!("{k}\nradius_mm = \"big\"")).unwrap_err(),
            "s.toml: optic 1 (circular_aperture): radius_mm must be a number or a list of numbers"
        );
    }
}
