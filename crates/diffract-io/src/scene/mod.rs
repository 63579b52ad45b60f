//! The TOML scene format: reading, checking every key, and building the optical system.
//!
//! The optic kinds (`[[optic]]` tables) live in [`kinds`]: one table of kinds and one serde
//! type. The other tables (top level, `[source]`, `[detector]`, `[coronagraph]`, `[grid]`)
//! are read here with [`Keys`], which also words every key message of the optics.

mod dms;
mod kinds;
mod placement;
mod units;

pub use kinds::{
    kind_info, KindInfo, OpticContext, OpticPlane, OpticSpec, PlaneRule, KINDS, OPTIC_KINDS,
};

use crate::SceneError;
use diffract_optics::OpticsError;
use diffract_propagation::{
    Coronagraph, Detector, Fov, FresnelDetector, FresnelSystem, Normalization, OpticalSystem,
    Plane, PropagationError, Source,
};
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// A scene: the optical system and the source it is computed for.
#[derive(Clone, Debug)]
pub struct Scene {
    /// The scene's name (the `name` key, else the file stem).
    pub name: String,
    /// The optical system.
    pub system: OpticalSystem,
    /// The source.
    pub source: Source,
    /// A grid of PSFs (`[grid]`), when the scene describes one.
    pub grid: Option<GridSpec>,
}

/// A Fresnel scene (`propagation = "fresnel"`): optics at distances along a beam, and the
/// source it is computed for.
#[derive(Clone, Debug)]
pub struct FresnelScene {
    /// The scene's name (the `name` key, else the file stem).
    pub name: String,
    /// The Fresnel system.
    pub system: FresnelSystem,
    /// The source (on axis).
    pub source: Source,
}

/// A scene of either propagation: what a scene file describes.
#[derive(Clone, Debug)]
pub enum AnyScene {
    /// `propagation = "fraunhofer"` (the default).
    Fraunhofer(Scene),
    /// `propagation = "fresnel"`.
    Fresnel(FresnelScene),
}

impl AnyScene {
    /// Reads and checks a scene file of either propagation.
    ///
    /// # Errors
    ///
    /// As [`Scene::from_file`].
    pub fn from_file(path: &Path) -> Result<AnyScene, SceneError> {
        parse_any(&read_scene_text(path)?, Some(path))
    }

    /// Parses and checks scene text of either propagation.
    ///
    /// # Errors
    ///
    /// As [`Scene::from_file`].
    pub fn from_toml_str(text: &str, file: Option<&Path>) -> Result<AnyScene, SceneError> {
        parse_any(text, file)
    }

    /// The scene's name.
    pub fn name(&self) -> &str {
        match self {
            AnyScene::Fraunhofer(s) => &s.name,
            AnyScene::Fresnel(s) => &s.name,
        }
    }

    /// The source.
    pub fn source(&self) -> &Source {
        match self {
            AnyScene::Fraunhofer(s) => &s.source,
            AnyScene::Fresnel(s) => &s.source,
        }
    }
}

/// The `[grid]` table: source offsets, and optionally one wavelength per point.
#[derive(Clone, Debug, PartialEq)]
pub struct GridSpec {
    /// Source offsets `(x, y)` on the sky, arcsec (POPPY's source_offset_x / _y).
    pub offsets_arcsec: Vec<(f64, f64)>,
    /// When given, every point is monochromatic at one of these; else each point uses the
    /// scene's `[source]` spectrum.
    pub wavelengths_m: Option<Vec<f64>>,
    /// The detector pixel `(x, y)` of the on-axis position, for the detector positions of
    /// `diffract merge --format webbpsf` (reference + offset / detector pixel scale).
    pub reference_pixel: Option<(f64, f64)>,
    /// Whether each point's detector follows its source, so every stamp is centred on the
    /// source (the layout photutils' `GriddedPSFModel` expects); else the detector stays on
    /// the axis and the PSF moves by the offset, as POPPY's `source_offset` moves it.
    pub centre_stamps: bool,
}

/// Most points in one grid.
pub const MAX_GRID_POINTS: usize = 1_000_000;

impl GridSpec {
    /// Number of points: offsets x wavelengths (offsets-major).
    pub fn len(&self) -> usize {
        self.offsets_arcsec.len() * self.wavelengths_m.as_ref().map_or(1, Vec::len)
    }

    /// Whether the grid has no point.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Point `index`: its offset and, for a wavelength grid, its wavelength
    /// (`index = offset_index * n_wavelengths + wavelength_index`).
    pub fn point(&self, index: usize) -> ((f64, f64), Option<f64>) {
        let nw = self.wavelengths_m.as_ref().map_or(1, Vec::len);
        (self.offsets_arcsec[index / nw], self.wavelengths_m.as_ref().map(|w| w[index % nw]))
    }
}

/// Largest scene file read, bytes.
const MAX_SCENE_BYTES: u64 = 16 << 20;

/// Edit distance between two short strings, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// " (did you mean 'x'?)" for the closest candidate within a third of the word's length.
fn suggestion<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let best = candidates.into_iter().map(|c| (edit_distance(given, c), c)).min();
    match best {
        Some((d, c)) if d > 0 && d <= (given.len() / 3).max(2) => format!(" (did you mean '{c}'?)"),
        _ => String::new(),
    }
}

/// A TOML value's type, in words.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}

/// Reads keys from one table, remembering which were read so unknown keys can be named: the
/// one source of the scene format's key messages ("missing required key", "must be a number,
/// got a string", "is invalid; must be an integer from A to B", "unknown key 'x' (did you
/// mean 'y'?); allowed keys: ...").
struct Keys<'a> {
    table: &'a Table,
    used: Vec<&'static str>,
    ctx: String,
    file: Option<PathBuf>,
}

impl<'a> Keys<'a> {
    fn new(table: &'a Table, ctx: impl Into<String>, file: Option<&Path>) -> Self {
        Keys { table, used: Vec::new(), ctx: ctx.into(), file: file.map(Path::to_path_buf) }
    }

    fn err(&self, message: impl Into<String>) -> SceneError {
        SceneError { file: self.file.clone(), context: self.ctx.clone(), message: message.into() }
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.used.push(key);
        self.table.get(key)
    }

    fn number(&self, key: &str, v: &Value) -> Result<f64, SceneError> {
        let x = match v {
            Value::Float(f) => *f,
            Value::Integer(i) => *i as f64,
            other => {
                return Err(self.err(format!("{key} must be a number, got {}", type_name(other))))
            }
        };
        if x.is_finite() {
            Ok(x)
        } else {
            Err(self.err(format!("{key} = {x} is invalid; must be a finite number")))
        }
    }

    fn f64_opt(&mut self, key: &'static str) -> Result<Option<f64>, SceneError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => self.number(key, v).map(Some),
        }
    }

    fn f64_req(&mut self, key: &'static str) -> Result<f64, SceneError> {
        self.f64_opt(key)?.ok_or_else(|| self.err(format!("missing required key {key}")))
    }

    fn f64_or(&mut self, key: &'static str, default: f64) -> Result<f64, SceneError> {
        Ok(self.f64_opt(key)?.unwrap_or(default))
    }

    fn positive_f64_req(&mut self, key: &'static str) -> Result<f64, SceneError> {
        let x = self.f64_req(key)?;
        if x > 0.0 {
            Ok(x)
        } else {
            Err(self.err(format!("{key} = {x} is invalid; must be > 0")))
        }
    }

    fn integer(&self, key: &str, v: &Value, min: i64, max: i64) -> Result<usize, SceneError> {
        match v {
            Value::Integer(i) if (min..=max).contains(i) => Ok(*i as usize),
            Value::Integer(i) => {
                Err(self
                    .err(format!("{key} = {i} is invalid; must be an integer from {min} to {max}")))
            }
            other => Err(self.err(format!("{key} must be an integer, got {}", type_name(other)))),
        }
    }

    fn usize_opt(
        &mut self,
        key: &'static str,
        min: i64,
        max: i64,
    ) -> Result<Option<usize>, SceneError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => self.integer(key, v, min, max).map(Some),
        }
    }

    fn bool_or(&mut self, key: &'static str, default: bool) -> Result<bool, SceneError> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Boolean(b)) => Ok(*b),
            Some(other) => {
                Err(self.err(format!("{key} must be true or false, got {}", type_name(other))))
            }
        }
    }

    fn str_opt(&mut self, key: &'static str) -> Result<Option<&'a str>, SceneError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => {
                Err(self.err(format!("{key} must be a string, got {}", type_name(other))))
            }
        }
    }

    fn list(&mut self, key: &'static str) -> Result<Option<&'a Vec<Value>>, SceneError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => Err(self.err(format!("{key} must be a list, got {}", type_name(other)))),
        }
    }

    fn f64_list_opt(&mut self, key: &'static str) -> Result<Option<Vec<f64>>, SceneError> {
        let Some(items) = self.list(key)? else { return Ok(None) };
        items.iter().map(|v| self.number(key, v)).collect::<Result<Vec<_>, _>>().map(Some)
    }

    fn usize_list_opt(
        &mut self,
        key: &'static str,
        max: i64,
    ) -> Result<Option<Vec<usize>>, SceneError> {
        let Some(items) = self.list(key)? else { return Ok(None) };
        items.iter().map(|v| self.integer(key, v, 0, max)).collect::<Result<Vec<_>, _>>().map(Some)
    }

    /// A list of equally long lists of finite numbers (a 2-D map, row by row).
    fn f64_rows_opt(&mut self, key: &'static str) -> Result<Option<Vec<Vec<f64>>>, SceneError> {
        let Some(rows) = self.list(key)? else { return Ok(None) };
        let mut out: Vec<Vec<f64>> = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let Value::Array(items) = row else {
                return Err(self.err(format!(
                    "{key} must be a list of rows (lists of numbers); item {} is {}",
                    i + 1,
                    type_name(row)
                )));
            };
            let row: Vec<f64> =
                items.iter().map(|v| self.number(key, v)).collect::<Result<_, _>>()?;
            if let Some(first) = out.first().filter(|f| f.len() != row.len()) {
                return Err(self.err(format!(
                    "{key} rows must have equal lengths; row 1 has {}, row {} has {}",
                    first.len(),
                    i + 1,
                    row.len()
                )));
            }
            out.push(row);
        }
        Ok(Some(out))
    }

    fn table(&mut self, key: &'static str) -> Result<Option<&'a Table>, SceneError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(t)),
            Some(other) => {
                Err(self.err(format!("{key} must be a table, got {}", type_name(other))))
            }
        }
    }

    /// Fails on the first key that was never read, naming it and what was expected.
    fn finish(self) -> Result<(), SceneError> {
        if let Some(k) = self.table.keys().find(|k| !self.used.contains(&k.as_str())) {
            let hint = suggestion(k, self.used.iter().copied());
            let mut allowed: Vec<&str> = self.used.clone();
            allowed.dedup();
            return Err(
                self.err(format!("unknown key '{k}'{hint}; allowed keys: {}", allowed.join(", ")))
            );
        }
        Ok(())
    }

    /// Wraps an optics or system error with this table's context.
    fn wrap(&self, e: impl Into<WrappedError>) -> SceneError {
        self.err(e.into().0)
    }
}

/// The message of a lower-level error, without its optic prefix (the context names it).
struct WrappedError(String);

impl From<OpticsError> for WrappedError {
    fn from(e: OpticsError) -> Self {
        match e {
            OpticsError::Invalid { key, value, allowed, .. } => {
                WrappedError(format!("{key} = {value} is invalid; {allowed}"))
            }
            other => WrappedError(other.to_string()),
        }
    }
}

impl From<PropagationError> for WrappedError {
    fn from(e: PropagationError) -> Self {
        match e {
            PropagationError::Optics(o) => o.into(),
            other => WrappedError(other.to_string()),
        }
    }
}

impl Scene {
    /// Reads and checks a scene file.
    ///
    /// # Errors
    ///
    /// [`SceneError`] naming the file, the place in it and the problem: a missing or
    /// unreadable file, invalid TOML, an unknown kind or key, a missing or mistyped key, or a
    /// value out of range.
    pub fn from_file(path: &Path) -> Result<Scene, SceneError> {
        Scene::from_toml_str(&read_scene_text(path)?, Some(path))
    }

    /// Parses and checks scene text; `file` names it in errors and gives the default name.
    /// A Fresnel scene is refused here (read it with [`AnyScene`]).
    ///
    /// # Errors
    ///
    /// As [`Scene::from_file`].
    pub fn from_toml_str(text: &str, file: Option<&Path>) -> Result<Scene, SceneError> {
        match parse_any(text, file)? {
            AnyScene::Fraunhofer(s) => Ok(s),
            AnyScene::Fresnel(_) => Err(SceneError {
                file: file.map(Path::to_path_buf),
                context: String::new(),
                message: "propagation = \"fresnel\": this needs a Fraunhofer scene".into(),
            }),
        }
    }
}

/// Reads a scene file's text, refusing folders, huge files and non-UTF-8.
fn read_scene_text(path: &Path) -> Result<String, SceneError> {
    let err = |m: String| SceneError {
        file: Some(path.to_path_buf()),
        context: String::new(),
        message: m,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(format!("cannot read scene: {e}")))?;
    if meta.is_dir() {
        return Err(err("is a directory, not a scene file".into()));
    }
    if meta.len() > MAX_SCENE_BYTES {
        return Err(err(format!("scene file is {} bytes; scenes are at most 16 MiB", meta.len())));
    }
    let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read scene: {e}")))?;
    let text =
        String::from_utf8(bytes).map_err(|_| err("not a text file (invalid UTF-8)".into()))?;
    Ok(text)
}

/// Parses and checks scene text of either propagation.
fn parse_any(text: &str, file: Option<&Path>) -> Result<AnyScene, SceneError> {
    {
        let file_err = |m: String| SceneError {
            file: file.map(Path::to_path_buf),
            context: String::new(),
            message: m,
        };
        if text.trim().is_empty() {
            return Err(file_err(
                "scene is empty; it needs [source], [[optic]] and [detector]".into(),
            ));
        }
        let root: Table = text.parse().map_err(|e: toml::de::Error| {
            let at = e.span().map(|s| {
                let before = &text[..s.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!("line {line}, column {col}: ")
            });
            file_err(format!(
                "{}invalid TOML: {}",
                at.unwrap_or_default(),
                e.message().split_whitespace().collect::<Vec<_>>().join(" ")
            ))
        })?;
        let mut top = Keys::new(&root, "", file);
        let name = match top.str_opt("name")? {
            Some(n) => n.to_string(),
            None => file
                .and_then(|f| f.file_stem())
                .map_or("scene".into(), |s| s.to_string_lossy().into_owned()),
        };
        match top.str_opt("propagation")? {
            None | Some("fraunhofer") => {}
            Some("fresnel") => return parse_fresnel(top, name, file).map(AnyScene::Fresnel),
            Some(other) => {
                let hint = suggestion(other, ["fraunhofer", "fresnel"]);
                return Err(top.err(format!(
                    "propagation = \"{other}\" is invalid{hint}; must be \"fraunhofer\" or \"fresnel\""
                )));
            }
        }
        let npix = match top.table.get("npix") {
            Some(Value::Integer(i)) if *i > 16384 => {
                let gib = (*i as f64).powi(2) * 16.0 / (1u64 << 30) as f64;
                return Err(top.err(format!(
                    "npix = {i} is too large: its complex pupil field alone needs {gib:.0} GiB; the largest accepted is 16384"
                )));
            }
            _ => top.usize_opt("npix", 1, 16384)?,
        };
        let pupil_diameter = top.f64_opt("pupil_diameter_m")?;
        if let Some(d) = pupil_diameter {
            if d <= 0.0 {
                return Err(top.err(format!("pupil_diameter_m = {d} is invalid; must be > 0")));
            }
        }
        let oversample = top.usize_opt("oversample", 1, 64)?.unwrap_or(2);
        let normalization = match top.str_opt("normalize")? {
            None => Normalization::First,
            Some(v) => v.parse::<Normalization>().map_err(|_| {
                let hint = suggestion(v, Normalization::ALL.iter().map(|n| n.name()));
                top.err(format!(
                    "normalize = \"{v}\" is invalid{hint}; must be \"first\", \"last\", \"exit_pupil\" or \"none\""
                ))
            })?,
        };
        let source_table =
            top.table("source")?.ok_or_else(|| top.err("missing required table [source]"))?;
        let optics = match top.get("optic") {
            Some(Value::Array(a)) if !a.is_empty() => a,
            Some(Value::Array(_)) | None => {
                return Err(top.err("no optics: add at least one [[optic]] table"));
            }
            Some(other) => {
                return Err(top.err(format!(
                    "optic must be an array of tables ([[optic]]), got {}",
                    type_name(other)
                )))
            }
        };
        let detector_table = top.table("detector")?;
        let coronagraph_table = top.table("coronagraph")?;
        let grid_table = top.table("grid")?;
        top.finish()?;

        let source = parse_source(source_table, file)?;
        let mut planes = Vec::with_capacity(optics.len());
        for (i, v) in optics.iter().enumerate() {
            let ctx = format!("optic {}", i + 1);
            let Value::Table(t) = v else {
                return Err(SceneError {
                    file: file.map(Path::to_path_buf),
                    context: ctx,
                    message: format!("each [[optic]] must be a table, got {}", type_name(v)),
                });
            };
            if t.get("kind").and_then(Value::as_str) == Some("detector") {
                planes.push(parse_intermediate_detector(t, i, file)?);
            } else {
                planes.push(kinds::read_optic(t, i, file)?);
            }
        }
        // Without `npix`, a sampled first optic (a FITS pupil) sets it from its rows, as
        // POPPY's `input_wavefront` does; otherwise POPPY's default, 1024.
        let npix = npix.unwrap_or_else(|| match planes.first() {
            Some(Plane::Pupil(o)) => o.natural_npix().unwrap_or(1024),
            _ => 1024,
        });
        let mut system = OpticalSystem::new(name.clone(), npix, oversample);
        system.set_normalization(normalization);
        if let Some(d) = pupil_diameter {
            system.set_pupil_diameter(d);
        }
        for plane in planes {
            system.add_plane(plane);
        }
        // Without [detector], a system ending on an image-plane optic has its FFT image as
        // the output (POPPY's calc_psf of a system without a detector).
        match detector_table {
            Some(t) => {
                system.set_detector(parse_detector(t, "[detector]", file)?);
            }
            None if matches!(system.planes().last(), Some(Plane::Image(_))) => {
                if coronagraph_table.is_some() {
                    return Err(SceneError {
                        file: file.map(Path::to_path_buf),
                        context: "[coronagraph]".into(),
                        message: "a coronagraph method needs a [detector]".into(),
                    });
                }
            }
            None => {
                return Err(SceneError {
                    file: file.map(Path::to_path_buf),
                    context: String::new(),
                    message: "missing required table [detector] (a scene without one must end on an image-plane optic, whose FFT image is then the output)".into(),
                })
            }
        }
        if let Some(t) = coronagraph_table {
            system.set_coronagraph(parse_coronagraph(t, file)?);
        }
        // Resolve the pupil size now so a missing diameter is reported before any work.
        system.grid().map_err(|e| SceneError {
            file: file.map(Path::to_path_buf),
            context: String::new(),
            message: WrappedError::from(e).0,
        })?;
        let grid = grid_table.map(|t| parse_grid(t, file)).transpose()?;
        Ok(AnyScene::Fraunhofer(Scene { name, system, source, grid }))
    }
}

/// The rest of a Fresnel scene's top level, its optics and its optional detector.
fn parse_fresnel(
    mut top: Keys<'_>,
    name: String,
    file: Option<&Path>,
) -> Result<FresnelScene, SceneError> {
    let npix = top.usize_opt("npix", 1, 16384)?.unwrap_or(1024);
    let diameter = top.f64_opt("pupil_diameter_m")?.ok_or_else(|| {
        top.err("missing required key pupil_diameter_m (a Fresnel scene needs the entrance pupil's diameter)")
    })?;
    if diameter <= 0.0 {
        return Err(top.err(format!("pupil_diameter_m = {diameter} is invalid; must be > 0")));
    }
    let beam_ratio = top.f64_or("beam_ratio", 0.5)?;
    if !(beam_ratio > 0.0 && beam_ratio <= 1.0) {
        return Err(top.err(format!(
            "beam_ratio = {beam_ratio} is invalid; must be in (0, 1]: the pupil's share of the array width"
        )));
    }
    if top.table.contains_key("coronagraph") {
        return Err(top.err(
            "a Fresnel scene cannot have a [coronagraph] table: coronagraph methods are for Fraunhofer scenes",
        ));
    }
    if top.table.contains_key("grid") {
        return Err(top.err("a Fresnel scene cannot have a [grid] table: grids of source offsets are for Fraunhofer scenes"));
    }
    if top.table.contains_key("normalize") {
        return Err(top.err(
            "a Fresnel scene has no normalize key: its field is normalised after the first optic (\"first\")",
        ));
    }
    if top.table.contains_key("oversample") {
        return Err(top.err(
            "a Fresnel scene has no oversample key: the padding is set by beam_ratio (array width = npix / beam_ratio)",
        ));
    }
    let source_table =
        top.table("source")?.ok_or_else(|| top.err("missing required table [source]"))?;
    let optics = match top.get("optic") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        Some(Value::Array(_)) | None => {
            return Err(top.err("no optics: add at least one [[optic]] table"));
        }
        Some(other) => {
            return Err(top.err(format!(
                "optic must be an array of tables ([[optic]]), got {}",
                type_name(other)
            )))
        }
    };
    let detector_table = top.table("detector")?;
    top.finish()?;
    let wrap_top = |e: PropagationError| SceneError {
        file: file.map(Path::to_path_buf),
        context: String::new(),
        message: WrappedError::from(e).0,
    };
    let source = parse_source(source_table, file)?;
    let mut system =
        FresnelSystem::new(name.clone(), npix, diameter, beam_ratio).map_err(wrap_top)?;
    for (i, v) in optics.iter().enumerate() {
        let ctx = format!("optic {}", i + 1);
        let Value::Table(t) = v else {
            return Err(SceneError {
                file: file.map(Path::to_path_buf),
                context: ctx,
                message: format!("each [[optic]] must be a table, got {}", type_name(v)),
            });
        };
        if t.get("kind").and_then(Value::as_str) == Some("detector") {
            return Err(SceneError {
                file: file.map(Path::to_path_buf),
                context: format!("optic {} (detector)", i + 1),
                message: "a Fresnel scene has one detector, its [detector] table; detectors in mid-system are for Fraunhofer scenes".into(),
            });
        }
        let (plane, distance) = kinds::read_optic_in(t, i, file, true)?;
        let diffract_propagation::Plane::Pupil(optic) = plane else {
            return Err(SceneError {
                file: file.map(Path::to_path_buf),
                context: ctx,
                message: "only pupil-plane optics can be used in a Fresnel scene".into(),
            });
        };
        system.add_element(optic, distance).map_err(|e| Keys::new(t, ctx, file).wrap(e))?;
    }
    if let Some(t) = detector_table {
        let mut k = Keys::new(t, "[detector]", file);
        let pixelscale = k.positive_f64_req("pixelscale_m")?;
        let fov = k
            .usize_opt("fov_pixels", 1, 32768)?
            .ok_or_else(|| k.err("missing required key fov_pixels"))?;
        let distance = k.f64_or("distance_m", 0.0)?;
        k.finish()?;
        let wrap = |e| Keys::new(t, "[detector]", file).wrap(e);
        let det = FresnelDetector::new(pixelscale, fov)
            .and_then(|d| d.with_distance(distance))
            .map_err(wrap)?;
        system.set_detector(det);
    }
    let (tx, ty) = source.tilt_arcsec();
    if tx != 0.0 || ty != 0.0 {
        return Err(SceneError {
            file: file.map(Path::to_path_buf),
            context: "[source]".into(),
            message: "a Fresnel scene takes an on-axis source; remove offset_r_arcsec and offset_theta_deg".into(),
        });
    }
    Ok(FresnelScene { name, system, source })
}

fn parse_grid(t: &Table, file: Option<&Path>) -> Result<GridSpec, SceneError> {
    let mut k = Keys::new(t, "[grid]", file);
    let list = k
        .list("source_offsets_arcsec")?
        .ok_or_else(|| k.err("missing required key source_offsets_arcsec"))?;
    let mut offsets = Vec::with_capacity(list.len().min(MAX_GRID_POINTS));
    for (i, v) in list.iter().enumerate() {
        let pair = match v {
            Value::Array(a) if a.len() == 2 => (
                k.number("source_offsets_arcsec", &a[0])?,
                k.number("source_offsets_arcsec", &a[1])?,
            ),
            _ => {
                return Err(
                    k.err(format!("source_offsets_arcsec[{i}] must be a pair [x, y] of numbers"))
                )
            }
        };
        offsets.push(pair);
    }
    if offsets.is_empty() {
        return Err(k.err("source_offsets_arcsec is empty; give at least one [x, y]"));
    }
    let wavelengths = k.f64_list_opt("wavelengths_m")?;
    if let Some(w) = &wavelengths {
        if w.is_empty() {
            return Err(k.err("wavelengths_m is empty; omit it to use [source]"));
        }
        if let Some(bad) = w.iter().find(|w| **w <= 0.0) {
            return Err(k.err(format!("wavelengths_m holds {bad}; wavelengths must be > 0")));
        }
    }
    let reference_pixel = match k.f64_list_opt("reference_pixel")? {
        None => None,
        Some(v) if v.len() == 2 && v.iter().all(|x| x.is_finite()) => Some((v[0], v[1])),
        Some(_) => return Err(k.err("reference_pixel must be a pair [x, y] of finite numbers")),
    };
    let centre_stamps = k.bool_or("centre_stamps", false)?;
    k.finish()?;
    let grid = GridSpec {
        offsets_arcsec: offsets,
        wavelengths_m: wavelengths,
        reference_pixel,
        centre_stamps,
    };
    if grid.len() > MAX_GRID_POINTS {
        return Err(Keys::new(t, "[grid]", file)
            .err(format!("{} points; a grid holds at most 1000000", grid.len())));
    }
    Ok(grid)
}

fn parse_coronagraph(t: &Table, file: Option<&Path>) -> Result<Coronagraph, SceneError> {
    let mut k = Keys::new(t, "[coronagraph]", file);
    let method = k
        .str_opt("method")?
        .ok_or_else(|| k.err("missing required key method (\"semi_analytic\" or \"matrix_ft\")"))?;
    let half_box = k.positive_f64_req("occulter_box_arcsec")?;
    let method = match method {
        "semi_analytic" => Coronagraph::SemiAnalytic {
            occulter_box_arcsec: half_box,
            oversample: k.usize_opt("oversample", 1, 64)?.unwrap_or(8),
        },
        "matrix_ft" => Coronagraph::MatrixFt {
            occulter_box_arcsec: half_box,
            oversample: k.usize_opt("oversample", 1, 64)?.unwrap_or(4),
        },
        other => {
            let hint = suggestion(other, ["semi_analytic", "matrix_ft"]);
            return Err(k.err(format!(
                "method = \"{other}\" is invalid{hint}; must be \"semi_analytic\" or \"matrix_ft\""
            )));
        }
    };
    k.finish()?;
    Ok(method)
}

fn parse_source(t: &Table, file: Option<&Path>) -> Result<Source, SceneError> {
    let mut k = Keys::new(t, "[source]", file);
    let wavelengths = k.f64_list_opt("wavelengths_m")?;
    let weights = k.f64_list_opt("weights")?;
    let band = k.f64_list_opt("band_m")?;
    let nlambda = k.usize_opt("nlambda", 1, 10000)?;
    let throughput = k.str_opt("throughput")?;
    let temperature = k.f64_opt("temperature_k")?;
    let r = k.f64_or("offset_r_arcsec", 0.0)?;
    let theta = k.f64_or("offset_theta_deg", 0.0)?;
    k.finish()?;
    let k = Keys::new(t, "[source]", file);
    let wrap = |e| Keys::new(t, "[source]", file).wrap(e);
    let source = match (wavelengths, band) {
        (Some(w), None) => {
            for (key, given) in [
                ("nlambda", nlambda.is_some()),
                ("throughput", throughput.is_some()),
                ("temperature_k", temperature.is_some()),
            ] {
                if given {
                    return Err(k.err(format!("{key} goes with band_m, not wavelengths_m")));
                }
            }
            Source::new(w, weights).map_err(wrap)?
        }
        (None, Some(band)) => {
            if weights.is_some() {
                return Err(k.err(
                    "weights goes with wavelengths_m; with band_m the throughput and temperature_k weigh",
                ));
            }
            let [lo, hi] = band[..] else {
                return Err(k.err(format!(
                    "band_m must be a list of two numbers, [lo, hi]; got a list of {}",
                    band.len()
                )));
            };
            let table = match throughput {
                Some(p) => read_throughput(&k, p, file)?,
                None => vec![(lo, 1.0), (hi, 1.0)],
            };
            Source::from_band((lo, hi), nlambda.unwrap_or(10), &table, temperature).map_err(wrap)?
        }
        (Some(_), Some(_)) => return Err(k.err("give wavelengths_m or band_m, not both")),
        (None, None) => return Err(k.err("missing required key wavelengths_m (or band_m)")),
    };
    source.with_offset(r, theta).map_err(wrap)
}

/// Reads a throughput table: a CSV file of `wavelength_m, throughput` rows (blank lines,
/// `#` comments and one header line of words allowed), relative to the scene's folder.
fn read_throughput(
    k: &Keys<'_>,
    path: &str,
    scene: Option<&Path>,
) -> Result<Vec<(f64, f64)>, SceneError> {
    let full = scene.and_then(Path::parent).map_or_else(|| PathBuf::from(path), |d| d.join(path));
    let ext = full.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        Some("csv") => {}
        Some("fits" | "fit") => {
            return crate::fits::read_throughput_table(&full).map_err(|e| {
                k.err(format!("throughput = \"{path}\": {}", e.to_string().replace('\n', " ")))
            });
        }
        _ => {
            return Err(k.err(format!(
                "throughput = \"{path}\": the table must be a .csv file of wavelength_m, throughput rows or a .fits file with WAVELENGTH and THROUGHPUT columns"
            )))
        }
    }
    let text = std::fs::read_to_string(&full).map_err(|e| {
        k.err(format!("throughput = \"{path}\": cannot read {}: {e}", full.display()))
    })?;
    let mut rows = Vec::new();
    let mut header_seen = false;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = line.split([',', ';', '\t']).map(str::trim).collect();
        let numbers: Option<Vec<f64>> = cells.iter().map(|c| c.parse::<f64>().ok()).collect();
        match numbers.as_deref() {
            Some(&[l, t]) => rows.push((l, t)),
            None if rows.is_empty() && !header_seen => header_seen = true,
            _ => {
                return Err(k.err(format!(
                    "throughput = \"{path}\": line {}: expected two numbers, wavelength_m and throughput; got \"{line}\"",
                    i + 1
                )))
            }
        }
    }
    Ok(rows)
}

/// A field given as `[y, x]`: the Y field and the X one.
fn fov_pair(
    k: &Keys<'_>,
    key: &str,
    items: &[Value],
    read: impl Fn(&Keys<'_>, &Value) -> Result<Fov, SceneError>,
) -> Result<(Fov, Option<Fov>), SceneError> {
    match items {
        [y, x] => Ok((read(k, y)?, Some(read(k, x)?))),
        _ => Err(k.err(format!(
            "{key} must be one number or a list of two, [y, x]; got a list of {}",
            items.len()
        ))),
    }
}

/// A detector in mid-system, `[[optic]]` number `index + 1` with `kind = "detector"`: the
/// keys of `[detector]` (but jitter), an optional `plane = "image"`, and `oversample`
/// (default: the system's).
fn parse_intermediate_detector(
    t: &Table,
    index: usize,
    file: Option<&Path>,
) -> Result<Plane, SceneError> {
    let ctx = format!("optic {} (detector)", index + 1);
    let mut k = Keys::new(t, ctx.clone(), file);
    k.str_opt("kind")?;
    match k.str_opt("plane")? {
        None | Some("image") => {}
        Some(other) => {
            return Err(k.err(format!(
                "plane = \"{other}\" is invalid; a detector is in an image plane (\"image\", or leave plane out)"
            )))
        }
    }
    let oversample = k.usize_opt("oversample", 1, 64)?;
    if t.contains_key("jitter_sigma_arcsec") {
        return Err(k.err("jitter_sigma_arcsec applies to the final [detector] only"));
    }
    let rest: Table = t
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "kind" | "plane" | "oversample"))
        .map(|(key, v)| (key.clone(), v.clone()))
        .collect();
    let detector = parse_detector(&rest, &ctx, file)?;
    Ok(Plane::Detector { detector, oversample })
}

fn parse_detector(t: &Table, ctx: &str, file: Option<&Path>) -> Result<Detector, SceneError> {
    let mut k = Keys::new(t, ctx, file);
    let pixelscale = k.positive_f64_req("pixelscale_arcsec")?;
    let jitter = k.f64_opt("jitter_sigma_arcsec")?;
    if let Some(j) = jitter {
        if j < 0.0 {
            return Err(k.err(format!("jitter_sigma_arcsec = {j} is invalid; must be >= 0")));
        }
    }
    // Either key is one number (a square field) or [y, x] (POPPY's order).
    let fov_arcsec = match k.get("fov_arcsec") {
        None => None,
        Some(Value::Array(items)) => Some(fov_pair(&k, "fov_arcsec", items, |k, v| {
            k.number("fov_arcsec", v).map(Fov::Arcsec)
        })?),
        Some(v) => Some((Fov::Arcsec(k.number("fov_arcsec", v)?), None)),
    };
    let fov_pixels = match k.get("fov_pixels") {
        None => None,
        Some(Value::Array(items)) => Some(fov_pair(&k, "fov_pixels", items, |k, v| {
            k.integer("fov_pixels", v, 1, 32768).map(Fov::Pixels)
        })?),
        Some(v) => Some((Fov::Pixels(k.integer("fov_pixels", v, 1, 32768)?), None)),
    };
    let (fov, fov_x) = match (fov_arcsec, fov_pixels) {
        (Some(a), None) => a,
        (None, Some(p)) => p,
        (Some(_), Some(_)) => return Err(k.err("give fov_arcsec or fov_pixels, not both")),
        (None, None) => return Err(k.err("missing required key fov_arcsec (or fov_pixels)")),
    };
    let offset = k.f64_list_opt("offset_pixels")?;
    k.finish()?;
    let wrap = |e| Keys::new(t, ctx, file).wrap(e);
    let offset = match offset.as_deref() {
        None => None,
        Some(&[y, x]) => Some((y, x)),
        Some(other) => {
            return Err(Keys::new(t, ctx, file).err(format!(
                "offset_pixels must be a list of two numbers, [y, x]; got a list of {}",
                other.len()
            )))
        }
    };
    let detector = match fov_x {
        None => Detector::new(pixelscale, fov),
        Some(x) => Detector::rectangular(pixelscale, fov, x),
    }
    .map_err(wrap)?;
    let detector = match offset {
        Some((y, x)) => detector.with_offset_pixels(y, x).map_err(wrap)?,
        None => detector,
    };
    match jitter {
        Some(j) => detector.with_jitter(j).map_err(wrap),
        None => Ok(detector),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
npix = 64
[source]
wavelengths_m = [1e-6, 2e-6]
weights = [1, 3]
[[optic]]
plane = "pupil"
kind = "circular_aperture"
radius_m = 1.0
[[optic]]
plane = "pupil"
kind = "secondary_obscuration"
secondary_radius_m = 0.2
[detector]
pixelscale_arcsec = 0.05
fov_arcsec = 2.0
"#;

    fn err_of(text: &str) -> String {
        Scene::from_toml_str(text, Some(Path::new("s.toml"))).unwrap_err().to_string()
    }

    #[test]
    fn a_good_scene_builds_its_system() {
        let s = Scene::from_toml_str(GOOD, Some(Path::new("dir/good.toml"))).unwrap();
        assert_eq!(s.name, "good");
        assert_eq!(s.system.planes().len(), 2);
        assert_eq!(s.system.oversample(), 2);
        assert_eq!(s.source.normalized_weights(), vec![0.25, 0.75]);
        assert_eq!(s.system.detector().unwrap().fov_pixels(), 40);
    }

    #[test]
    fn a_detector_field_is_one_number_or_y_and_x() {
        let text = GOOD.replace("fov_arcsec = 2.0", "fov_arcsec = [1.0, 2.01]");
        let d = *Scene::from_toml_str(&text, None).unwrap().system.detector().unwrap();
        assert_eq!(d.fov_shape(), (20, 40));
        assert!(d.is_rectangular());
        let text = GOOD.replace("fov_arcsec = 2.0", "fov_pixels = [7, 9]");
        let d = *Scene::from_toml_str(&text, None).unwrap().system.detector().unwrap();
        assert_eq!(d.fov_shape(), (7, 9));
        assert_eq!(d.fov_arcsec_yx(), (7.0 * 0.05, 9.0 * 0.05));
        let e = err_of(&GOOD.replace("fov_arcsec = 2.0", "fov_pixels = [7, 9, 3]"));
        assert_eq!(
            e,
            "s.toml: [detector]: fov_pixels must be one number or a list of two, [y, x]; got a list of 3"
        );
        let e = err_of(&GOOD.replace("fov_arcsec = 2.0", "fov_pixels = [7, 0]"));
        assert_eq!(
            e,
            "s.toml: [detector]: fov_pixels = 0 is invalid; must be an integer from 1 to 32768"
        );
        let e = err_of(&GOOD.replace("fov_arcsec = 2.0", "fov_arcsec = [1.0, -2.0]"));
        assert!(e.starts_with("s.toml: [detector]: fov_arcsec = -2 is invalid"), "{e}");
        let text = GOOD.replace("fov_arcsec = 2.0", "fov_arcsec = 2.0\noffset_pixels = [1.5, -2]");
        let d = *Scene::from_toml_str(&text, None).unwrap().system.detector().unwrap();
        assert_eq!(d.offset_pixels(), (1.5, -2.0));
        let e = err_of(&GOOD.replace("fov_arcsec = 2.0", "fov_arcsec = 2.0\noffset_pixels = [1]"));
        assert_eq!(
            e,
            "s.toml: [detector]: offset_pixels must be a list of two numbers, [y, x]; got a list of 1"
        );
        let e = err_of(&GOOD.replace("fov_arcsec = 2.0", "fov_arcsec = [1.0, \"2\"]"));
        assert_eq!(e, "s.toml: [detector]: fov_arcsec must be a number, got a string");
    }

    /// A folder under the system's temporary one, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            let p = std::env::temp_dir().join(format!("diffract-io-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A band through a CSV throughput table (a ramp, proportional to wavelength) times a
    /// very hot blackbody (photons proportional to lambda^-3): bin weights 1/a - 1/b.
    #[test]
    fn a_band_source_reads_its_throughput_table() {
        let dir = TempDir::new("band");
        std::fs::write(
            dir.path().join("ramp.csv"),
            "# a ramp\nwavelength_m,throughput\n0.5e-6, 0.5\n\n3.0e-6, 3.0\n",
        )
        .unwrap();
        let band = "[source]\nband_m = [1e-6, 2e-6]\nnlambda = 4\nthroughput = \"ramp.csv\"\ntemperature_k = 1e12";
        let text = GOOD.replace("[source]\nwavelengths_m = [1e-6, 2e-6]\nweights = [1, 3]", band);
        let scene_path = dir.path().join("band.toml");
        let s = Scene::from_toml_str(&text, Some(&scene_path)).unwrap();
        for (g, w) in s.source.wavelengths().iter().zip([1.125e-6, 1.375e-6, 1.625e-6, 1.875e-6]) {
            assert!((g - w).abs() < 1e-18, "{g} vs {w}");
        }
        let edges = [1.0e-6, 1.25e-6, 1.5e-6, 1.75e-6, 2.0e-6];
        let want: Vec<f64> = edges.windows(2).map(|e| 1.0 / e[0] - 1.0 / e[1]).collect();
        let total: f64 = want.iter().sum();
        for (g, w) in s.source.normalized_weights().iter().zip(&want) {
            assert!((g - w / total).abs() < 1e-7 * w / total, "{g} vs {}", w / total);
        }
        let err = |t: &str| {
            Scene::from_toml_str(
                &GOOD.replace("[source]\nwavelengths_m = [1e-6, 2e-6]\nweights = [1, 3]", t),
                Some(&scene_path),
            )
            .unwrap_err()
            .to_string()
        };
        let path = scene_path.display();
        std::fs::write(dir.path().join("bad.csv"), "1e-6,0.5\n2e-6,x\n").unwrap();
        let e = err("[source]\nband_m = [1e-6, 2e-6]\nthroughput = \"bad.csv\"");
        assert_eq!(e, format!("{path}: [source]: throughput = \"bad.csv\": line 2: expected two numbers, wavelength_m and throughput; got \"2e-6,x\""));
        let e = err("[source]\nband_m = [1e-6, 2e-6]\nthroughput = \"missing.csv\"");
        assert!(
            e.starts_with(&format!("{path}: [source]: throughput = \"missing.csv\": cannot read")),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1);
        // The same ramp as a FITS table in Angstrom, as WebbPSF's filter files.
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/throughput");
        let fits_band = band.replace("ramp.csv", "ramp_angstrom.fits");
        let text =
            GOOD.replace("[source]\nwavelengths_m = [1e-6, 2e-6]\nweights = [1, 3]", &fits_band);
        let s2 = Scene::from_toml_str(&text, Some(&data.join("band.toml"))).unwrap();
        assert_eq!(s2.source.normalized_weights(), s.source.normalized_weights());
        let e = err("[source]\nband_m = [1e-6, 2e-6]\nthroughput = \"ramp.txt\"");
        assert!(e.contains("the table must be a .csv file"), "{e}");
        let e = err("[source]\nband_m = [1e-6]");
        assert_eq!(
            e,
            format!(
                "{path}: [source]: band_m must be a list of two numbers, [lo, hi]; got a list of 1"
            )
        );
        let e = err("[source]\nwavelengths_m = [1e-6]\ntemperature_k = 5000");
        assert_eq!(
            e,
            format!("{path}: [source]: temperature_k goes with band_m, not wavelengths_m")
        );
        let e = err("[source]\nband_m = [1e-6, 2e-6]\nwavelengths_m = [1e-6]");
        assert_eq!(e, format!("{path}: [source]: give wavelengths_m or band_m, not both"));
        let e = err("[source]\nband_m = [1e-6, 2e-6]\ntemperature_k = -1");
        assert!(e.contains("[source]: temperature_k = -1 is invalid"), "{e}");
    }

    #[test]
    fn normalize_is_read_and_checked() {
        use diffract_propagation::Normalization;
        let s = Scene::from_toml_str(GOOD, None).unwrap();
        assert_eq!(s.system.normalization(), Normalization::First);
        for n in Normalization::ALL {
            let text =
                GOOD.replace("npix = 64", &format!("npix = 64\nnormalize = \"{}\"", n.name()));
            assert_eq!(Scene::from_toml_str(&text, None).unwrap().system.normalization(), *n);
        }
        let e = err_of(&GOOD.replace("npix = 64", "npix = 64\nnormalize = \"exit_pupl\""));
        assert_eq!(
            e,
            "s.toml: normalize = \"exit_pupl\" is invalid (did you mean 'exit_pupil'?); must be \"first\", \"last\", \"exit_pupil\" or \"none\""
        );
        let e = err_of(&GOOD.replace("npix = 64", "npix = 64\nnormalize = 1"));
        assert_eq!(e, "s.toml: normalize must be a string, got an integer");
    }

    #[test]
    fn errors_name_the_file_the_optic_and_the_key() {
        let e = err_of(&GOOD.replace("circular_aperture", "circular_aperure"));
        assert_eq!(e, "s.toml: optic 1: unknown optic kind 'circular_aperure' (did you mean 'circular_aperture'?)");
        let e = err_of(&GOOD.replace("radius_m = 1.0", "radius = 1.0"));
        assert!(
            e.starts_with("s.toml: optic 1 (circular_aperture): missing required key radius_m"),
            "{e}"
        );
        let e = err_of(&GOOD.replace("radius_m = 1.0", "radius_m = 1.0\nradius = 2"));
        assert!(e.contains("unknown key 'radius' (did you mean 'radius_m'?)"), "{e}");
        let e = err_of(&GOOD.replace("radius_m = 1.0", "radius_m = -1.0"));
        assert_eq!(e, "s.toml: optic 1 (circular_aperture): radius_m = -1 is invalid; must be a finite number > 0");
        let e = err_of(&GOOD.replace("radius_m = 1.0", "radius_m = nan"));
        assert!(e.contains("radius_m = NaN is invalid"), "{e}");
        let e = err_of(&GOOD.replace("radius_m = 1.0", "radius_m = \"big\""));
        assert!(e.contains("radius_m must be a number, got a string"), "{e}");
        let e = err_of(&GOOD.replace("npix = 64", "npix = 0"));
        assert_eq!(e, "s.toml: npix = 0 is invalid; must be an integer from 1 to 16384");
        let e = err_of(&GOOD.replace("weights = [1, 3]", "weights = [1]"));
        assert!(
            e.starts_with("s.toml: [source]: weights = 1 weights for 2 wavelengths is invalid"),
            "{e}"
        );
        let e = err_of(&GOOD.replace("fov_arcsec = 2.0", "fov_arcsec = 2.0\nfov_pixels = 3"));
        assert!(e.contains("[detector]: give fov_arcsec or fov_pixels, not both"), "{e}");
        let e = err_of("npix = [");
        assert!(e.starts_with("s.toml: line 1, column"), "{e}");
        assert_eq!(e.lines().count(), 1);
        let e = err_of(&GOOD.replace(
            "plane = \"pupil\"\nkind = \"circular_aperture\"",
            "plane = \"image\"\nkind = \"circular_aperture\"",
        ));
        assert!(
            e.contains("circular_aperture belongs in a pupil plane, not an image plane"),
            "{e}"
        );
        let e = err_of(&GOOD.replace("npix = 64", "npix = 64\nfoo = 1"));
        assert!(e.starts_with("s.toml: unknown key 'foo'"), "{e}");
    }

    #[test]
    fn a_first_optic_without_a_size_needs_pupil_diameter() {
        let text = GOOD.replace(
            "kind = \"circular_aperture\"\nradius_m = 1.0",
            "kind = \"zernike_wfe\"\nradius_m = 1.0\ncoefficients_m = [0, 1e-8]",
        );
        let e = err_of(&text);
        assert!(
            e.contains("the first optic (zernike_wfe) has no natural size; set pupil_diameter_m"),
            "{e}"
        );
        let ok = Scene::from_toml_str(
            &text.replace("npix = 64", "npix = 64\npupil_diameter_m = 2.0"),
            None,
        );
        assert!(ok.is_ok());
    }

    /// Regression (found by fuzzing the scene reader): a kind with a newline in it gave a
    /// two-line message. Quoted input is escaped.
    #[test]
    fn quoted_input_never_breaks_the_line() {
        let e = err_of(&GOOD.replace("\"circular_aperture\"", "\"circ\\nular\""));
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.contains("'circ\\nular'"), "{e}");
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/fuzz/scene_newline_in_kind.toml"
        );
        let text = std::fs::read_to_string(path).expect("the regression input");
        let e = Scene::from_toml_str(&text, None).unwrap_err().to_string();
        assert_eq!(e.lines().count(), 1, "{e}");
    }

    #[test]
    fn empty_and_garbage_input_are_errors() {
        assert!(err_of("").contains("scene is empty"));
        assert!(err_of("\u{0}\u{1}garbage").starts_with("s.toml: line 1"));
    }
}
