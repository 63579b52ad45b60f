//! PSF grids: the points of a `[grid]` scene computed shard by shard into one FITS file per
//! point, and merged into a cube. No scheduler of its own: shards are independent, so a
//! SLURM job array, GNU Parallel or a Kubernetes Indexed Job can run them (docs/scale-out.md).

use crate::io::{read_image, write_cube, write_webbpsf_cube, GridPoint, Scene};
use crate::parallel::{map_ordered, Schedule, ScheduleOptions};
use crate::propagation::{ComputeOptions, OpticalSystem, PropagationError, Source};
use crate::run::{run_plan, write_json, RunError, RunOptions};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What went wrong, split as the command line's exit codes are: bad input or a failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GridError {
    /// Bad input: the scene, the folder, the shard.
    #[error("{0}")]
    Input(String),
    /// A failure while computing or writing.
    #[error("{0}")]
    Run(String),
}

/// FNV-1a, 64 bits: a stable hash of the scene text and the point list.
fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The grid's identity: a hash of the scene text and of every point.
pub fn grid_hash(scene_text: &str, scene: &Scene) -> Result<String, GridError> {
    let grid = scene
        .grid
        .as_ref()
        .ok_or_else(|| GridError::Input("the scene has no [grid] table".into()))?;
    let mut h = fnv1a(scene_text.as_bytes(), 0xcbf2_9ce4_8422_2325);
    for i in 0..grid.len() {
        let ((x, y), w) = grid.point(i);
        h = fnv1a(&x.to_bits().to_le_bytes(), h);
        h = fnv1a(&y.to_bits().to_le_bytes(), h);
        h = fnv1a(&w.unwrap_or(0.0).to_bits().to_le_bytes(), h);
    }
    Ok(format!("{h:016x}"))
}

/// The points of shard `i` of `n`: every index whose remainder modulo `n` is `i`.
pub fn shard_points(n_points: usize, (i, n): (usize, usize)) -> Vec<usize> {
    (i..n_points).step_by(n.max(1)).collect()
}

/// The file of point `index` in `dir`.
pub fn point_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("psf_{index:05}.fits"))
}

/// The grid point `index` of `scene`.
pub fn grid_point(scene: &Scene, hash: &str, index: usize) -> GridPoint {
    let grid = scene.grid.as_ref().expect("a grid scene");
    let ((x, y), w) = grid.point(index);
    GridPoint::new(hash, index, x, y, w)
}

/// The source of a grid point: the offset as POPPY's source_offset_x/_y (r = |(x, y)|,
/// theta = atan2(-x, y)), at the point's wavelength or with the scene's spectrum.
fn point_source(scene: &Scene, p: &GridPoint) -> Result<Source, PropagationError> {
    let base = match p.wavelength_m {
        Some(w) => Source::monochromatic(w)?,
        None => scene.source.clone(),
    };
    let (x, y) = (p.offset_x_arcsec, p.offset_y_arcsec);
    base.with_offset(x.hypot(y), (-x).atan2(y).to_degrees())
}

/// `system` with its detector following a source offset `(x, y)` arcsec, so the PSF of a
/// source there is centred in the output as the on-axis PSF is (the stamps photutils'
/// `GriddedPSFModel` expects, each the PSF about its own position). The detector's own
/// offset is kept and the source's added to it, in computed (oversampled) pixels.
///
/// # Errors
///
/// [`PropagationError::System`] for a system without a final detector.
pub fn centred_on(
    system: &OpticalSystem,
    x: f64,
    y: f64,
) -> Result<OpticalSystem, PropagationError> {
    let detector = system.detector().ok_or_else(|| {
        PropagationError::System(
            "centring the stamps on their sources needs a [detector] to move".into(),
        )
    })?;
    let computed_px = detector.pixelscale_arcsec() / system.oversample() as f64;
    let (oy, ox) = detector.offset_pixels();
    let moved = detector.with_offset_pixels(oy + y / computed_px, ox + x / computed_px)?;
    let mut centred = system.clone();
    centred.set_detector(moved);
    Ok(centred)
}

/// The folder's `grid.json`: which scene and grid its points belong to, and every point.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    /// The scene file the grid was computed from.
    scene: String,
    /// The grid's hash ([`grid_hash`]).
    hash: String,
    /// Number of points.
    points: usize,
    /// Every point, in order.
    point_list: Vec<ManifestPoint>,
    /// The detector's scale, arcsec per detector pixel (for `--format webbpsf`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detector_pixelscale_arcsec: Option<f64>,
    /// The scene's oversampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    oversample: Option<usize>,
    /// `[grid]`'s `reference_pixel` (x, y).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reference_pixel: Option<(f64, f64)>,
    /// `[grid]`'s `centre_stamps`: each PSF centred on its source.
    #[serde(default)]
    centre_stamps: bool,
}

/// One point of `grid.json`.
#[derive(Debug, Serialize, Deserialize)]
struct ManifestPoint {
    index: usize,
    offset_x_arcsec: f64,
    offset_y_arcsec: f64,
    wavelength_m: Option<f64>,
}

fn manifest(scene_path: &Path, scene: &Scene, hash: &str) -> Manifest {
    let n = scene.grid.as_ref().map_or(0, |g| g.len());
    let point_list = (0..n)
        .map(|i| {
            let p = grid_point(scene, hash, i);
            ManifestPoint {
                index: i,
                offset_x_arcsec: p.offset_x_arcsec,
                offset_y_arcsec: p.offset_y_arcsec,
                wavelength_m: p.wavelength_m,
            }
        })
        .collect();
    Manifest {
        scene: scene_path.display().to_string(),
        hash: hash.to_string(),
        points: n,
        point_list,
        detector_pixelscale_arcsec: scene.system.detector().map(|d| d.pixelscale_arcsec()),
        oversample: Some(scene.system.oversample()),
        reference_pixel: scene.grid.as_ref().and_then(|g| g.reference_pixel),
        centre_stamps: scene.grid.as_ref().is_some_and(|g| g.centre_stamps),
    }
}

/// Reads the folder's `grid.json` with serde_json.
fn read_manifest(path: &Path, text: &str) -> Result<Manifest, GridError> {
    serde_json::from_str(text)
        .map_err(|e| GridError::Input(format!("{}: not a grid manifest ({e})", path.display())))
}

/// Outcome of a shard (fields may be added in later versions).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ShardSummary {
    /// Points of this shard computed now.
    pub computed: usize,
    /// Points of this shard already complete (skipped).
    pub skipped: usize,
    /// Points in the whole grid.
    pub total: usize,
}

/// Computes the points of shard `shard = (i, n)` of the grid in `scene` (read from
/// `scene_path`, whose text is `scene_text`) into `dir`, skipping points already complete.
/// Points run in parallel when each is a single wavelength, one after the other (with
/// wavelengths in parallel) otherwise; each is written as soon as it is computed, so memory
/// does not grow with the number of points.
///
/// # Errors
///
/// [`GridError::Input`] for a scene without `[grid]`, a bad shard, or a folder holding
/// another grid; [`GridError::Run`] when computing or writing fails.
pub fn run_shard(
    scene_path: &Path,
    scene_text: &str,
    scene: &Scene,
    dir: &Path,
    shard: (usize, usize),
    opts: &ComputeOptions,
) -> Result<ShardSummary, GridError> {
    let hash = grid_hash(scene_text, scene)?;
    let grid = scene.grid.as_ref().expect("checked by grid_hash");
    if shard.1 == 0 || shard.0 >= shard.1 {
        return Err(GridError::Input(format!(
            "shard {}/{} is invalid; use I/N with 0 <= I < N",
            shard.0, shard.1
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| GridError::Input(format!("{}: {e}", dir.display())))?;
    let manifest_path = dir.join("grid.json");
    match std::fs::read_to_string(&manifest_path) {
        Ok(text) => {
            let theirs = read_manifest(&manifest_path, &text)?.hash;
            if theirs != hash {
                return Err(GridError::Input(format!(
                    "{}: the folder holds grid {theirs}, not this scene's grid {hash}; use another --out",
                    dir.display()
                )));
            }
        }
        Err(_) => {
            // Shards starting at once may all write it: the same text, renamed into place.
            write_json(&manifest_path, &manifest(scene_path, scene, &hash), true)
                .map_err(|e| GridError::Run(e.to_string()))?;
        }
    }
    let plan = scene
        .system
        .plan()
        .map_err(|e| GridError::Input(format!("{}: {e}", scene_path.display())))?;
    let todo: Vec<usize> = shard_points(grid.len(), shard)
        .into_iter()
        .filter(|&i| {
            let done = read_image(&point_path(dir, i), 0).ok().and_then(|img| img.grid);
            done.as_ref().map(|(h, idx)| (h.as_str(), *idx)) != Some((hash.as_str(), i as i64))
        })
        .collect();
    let mine = shard_points(grid.len(), shard).len();
    let one_wavelength = grid.wavelengths_m.is_some() || scene.source.wavelengths().len() == 1;
    let compute_point = |index: usize, opts: &ComputeOptions| -> Result<(), GridError> {
        let p = grid_point(scene, &hash, index);
        let source = point_source(scene, &p).map_err(|e| GridError::Input(e.to_string()))?;
        let run = RunOptions::new(point_path(dir, index))
            .with_overwrite(true)
            .with_name(&scene.name)
            .with_grid_point(p.clone())
            .with_compute(opts.clone());
        // Centred stamps: the detector moves with the source, so each point has a plan.
        let own_plan = if grid.centre_stamps {
            let system = centred_on(&scene.system, p.offset_x_arcsec, p.offset_y_arcsec)
                .and_then(|s| s.plan())
                .map_err(|e| GridError::Input(format!("{}: {e}", scene_path.display())))?;
            Some(system)
        } else {
            None
        };
        match run_plan(own_plan.as_ref().unwrap_or(&plan), &source, &run) {
            Ok(_) => Ok(()),
            Err(RunError::Plan(e) | RunError::Schedule(e) | RunError::Compute(e)) => {
                Err(GridError::Run(format!("point {index}: {e}")))
            }
            Err(e) => Err(GridError::Run(e.to_string())),
        }
    };
    if one_wavelength && todo.len() > 1 {
        // Points in parallel, each single-threaded.
        let schedule = Schedule::plan(
            todo.len(),
            plan.bytes_per_wavelength(),
            &ScheduleOptions { workers: opts.workers, cores: opts.cores, ..Default::default() },
        );
        let inner = opts.clone().with_workers(1).with_cores(1);
        map_ordered(&schedule, &todo, |_, &index, _| compute_point(index, &inner))
            .map_err(|e| e.source)?;
    } else {
        for &index in &todo {
            compute_point(index, opts)?;
        }
    }
    Ok(ShardSummary { computed: todo.len(), skipped: mine - todo.len(), total: grid.len() })
}

/// The layout of a merged cube.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CubeFormat {
    /// diffract's: `OFFXnnnn`, `OFFYnnnn`, `WVLNnnnn` keys and a `GRID` table.
    #[default]
    Diffract,
    /// WebbPSF's, as photutils' `GriddedPSFModel.read(path, format="webbpsf")` loads it:
    /// `DET_YX<i>` = "(y, x)" detector positions and `OVERSAMP`; for grids whose offsets
    /// form a rectangular lattice, one PSF per offset.
    Webbpsf,
}

/// Merges the points in `dir` into a cube at `out`, checking that every point is present
/// and belongs to the grid recorded in `dir/grid.json`.
///
/// # Errors
///
/// [`GridError::Input`] listing missing points or naming a point of another grid;
/// [`GridError::Run`] when the cube cannot be written.
pub fn merge(dir: &Path, out: &Path, overwrite: bool) -> Result<usize, GridError> {
    merge_as(dir, out, overwrite, CubeFormat::Diffract)
}

/// The detector positions `(y, x)` in pixels of a WebbPSF-layout cube: `reference +
/// offset / scale` per point (the reference pixel of `[grid]`, default (0, 0)); refused,
/// with the reason, unless the points are one per offset on a rectangular lattice.
fn webbpsf_positions(manifest: &Manifest) -> Result<Vec<(f64, f64)>, GridError> {
    let refuse = |why: String| GridError::Input(format!("--format webbpsf: {why}"));
    let scale = manifest.detector_pixelscale_arcsec.ok_or_else(|| {
        refuse("grid.json names no detector pixel scale (a scene without [detector], or a grid folder from an older diffract: rerun diffract grid)".into())
    })?;
    let offsets: Vec<(f64, f64)> =
        manifest.point_list.iter().map(|p| (p.offset_x_arcsec, p.offset_y_arcsec)).collect();
    let mut xs: Vec<f64> = offsets.iter().map(|o| o.0).collect();
    let mut ys: Vec<f64> = offsets.iter().map(|o| o.1).collect();
    for v in [&mut xs, &mut ys] {
        v.sort_by(f64::total_cmp);
        v.dedup();
    }
    let mut seen: Vec<(f64, f64)> = offsets.clone();
    seen.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    seen.dedup();
    if seen.len() != offsets.len() {
        let why = if manifest.point_list.iter().any(|p| p.wavelength_m.is_some()) {
            format!("the grid has {} wavelengths per offset", offsets.len() / seen.len().max(1))
        } else {
            "the grid repeats an offset".to_string()
        };
        return Err(refuse(format!("{why}; a WebbPSF cube holds one PSF per position")));
    }
    if xs.len() * ys.len() != offsets.len() {
        return Err(refuse(format!(
            "the {} offsets are not a rectangular lattice ({} x values x {} y values would be {} points)",
            offsets.len(),
            xs.len(),
            ys.len(),
            xs.len() * ys.len()
        )));
    }
    if !manifest.centre_stamps {
        return Err(refuse("the PSFs sit at their offsets in the stamps, and GriddedPSFModel expects each centred on its own position: set centre_stamps = true in [grid] and rerun diffract grid".into()));
    }
    let (rx, ry) = manifest.reference_pixel.unwrap_or((0.0, 0.0));
    Ok(offsets.iter().map(|&(x, y)| (ry + y / scale, rx + x / scale)).collect())
}

/// [`merge`] into the layout `format`.
///
/// # Errors
///
/// As [`merge`]; with [`CubeFormat::Webbpsf`], [`GridError::Input`] saying why a grid is
/// not a lattice of one PSF per offset, or why its stamps are not centred on their sources
/// (`[grid]` `centre_stamps`); nothing is written then.
pub fn merge_as(
    dir: &Path,
    out: &Path,
    overwrite: bool,
    format: CubeFormat,
) -> Result<usize, GridError> {
    let manifest_path = dir.join("grid.json");
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        GridError::Input(format!("{}: {e}; is this a grid folder?", manifest_path.display()))
    })?;
    let manifest = read_manifest(&manifest_path, &text)?;
    let (hash, n) = (manifest.hash.clone(), manifest.points);
    let det_yx = match format {
        CubeFormat::Webbpsf => Some(webbpsf_positions(&manifest)?),
        CubeFormat::Diffract => None,
    };
    if out.exists() && !overwrite {
        return Err(GridError::Input(format!(
            "{}: file exists; pass --overwrite to replace it",
            out.display()
        )));
    }
    let listed: Vec<GridPoint> = manifest
        .point_list
        .iter()
        .map(|p| {
            GridPoint::new(&hash, p.index, p.offset_x_arcsec, p.offset_y_arcsec, p.wavelength_m)
        })
        .collect();
    let mut images = Vec::with_capacity(n);
    let mut points = Vec::with_capacity(n);
    let mut missing = Vec::new();
    for i in 0..n {
        let path = point_path(dir, i);
        match read_image(&path, 0) {
            Ok(img) => {
                match &img.grid {
                    Some((h, idx)) if *h == hash && *idx == i as i64 => {}
                    Some((h, _)) => {
                        return Err(GridError::Input(format!(
                            "{}: a point of grid {h}, not of this folder's grid {hash}",
                            path.display()
                        )))
                    }
                    None => {
                        return Err(GridError::Input(format!(
                            "{}: not a grid point (no GRIDHASH)",
                            path.display()
                        )))
                    }
                }
                let pt = listed.get(i).cloned().ok_or_else(|| {
                    GridError::Input(format!(
                        "{}: point {i} is not listed",
                        manifest_path.display()
                    ))
                })?;
                points.push(pt);
                images.push((img.data, img.pixelscale));
            }
            Err(_) => missing.push(i),
        }
    }
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(20).map(|i| i.to_string()).collect();
        let more = if missing.len() > 20 {
            format!(" and {} more", missing.len() - 20)
        } else {
            String::new()
        };
        return Err(GridError::Input(format!(
            "{}: {} of {n} points missing: {}{more}",
            dir.display(),
            missing.len(),
            shown.join(", ")
        )));
    }
    let scale = images.first().and_then(|(_, s)| *s);
    let data: Vec<_> = images.into_iter().map(|(d, _)| d).collect();
    match det_yx {
        Some(det_yx) => {
            let oversample = manifest.oversample.unwrap_or(1);
            let detector_scale = manifest.detector_pixelscale_arcsec.unwrap_or(f64::NAN);
            write_webbpsf_cube(out, &data, &det_yx, oversample, detector_scale, overwrite)
        }
        None => write_cube(out, &data, &points, scale, overwrite),
    }
    .map_err(|e| GridError::Run(e.to_string()))?;
    Ok(n)
}
