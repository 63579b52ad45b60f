//! PSF grids: the points of a `[grid]` scene computed shard by shard into one FITS file per
//! point, and merged into a cube. No scheduler of its own: shards are independent, so a
//! SLURM job array, GNU Parallel or a Kubernetes Indexed Job can run them (docs/scale-out.md).

use crate::io::{read_image, write_cube, write_psf, GridPoint, Scene, WriteOptions};
use crate::parallel::{map_ordered, Schedule, ScheduleOptions};
use crate::propagation::{ComputeOptions, PropagationError, Source};
use std::fmt::Write as _;
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

fn manifest(scene_path: &Path, scene: &Scene, hash: &str) -> String {
    let grid = scene.grid.as_ref().expect("a grid scene");
    let mut s = String::new();
    let _ = write!(
        s,
        "{{\n  \"scene\": \"{}\",\n  \"hash\": \"{hash}\",\n  \"points\": {},\n  \"point_list\": [",
        scene_path.display().to_string().replace('\\', "\\\\").replace('"', "\\\""),
        grid.len()
    );
    for i in 0..grid.len() {
        let p = grid_point(scene, hash, i);
        let w = p.wavelength_m.map_or("null".to_string(), |w| format!("{w:e}"));
        let _ = write!(
            s,
            "{}\n    {{\"index\": {i}, \"offset_x_arcsec\": {:e}, \"offset_y_arcsec\": {:e}, \"wavelength_m\": {w}}}",
            if i == 0 { "" } else { "," },
            p.offset_x_arcsec,
            p.offset_y_arcsec
        );
    }
    s.push_str("\n  ]\n}\n");
    s
}

/// The `"key": value` of a small JSON text (our own manifest), as text.
fn json_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = text[at..].trim_start();
    let end = rest.find([',', '\n', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim().trim_matches('"'))
}

/// Outcome of a shard.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
            let theirs = json_field(&text, "hash").unwrap_or("");
            if theirs != hash {
                return Err(GridError::Input(format!(
                    "{}: the folder holds grid {theirs}, not this scene's grid {hash}; use another --out",
                    dir.display()
                )));
            }
        }
        Err(_) => {
            let tmp = dir.join(format!(".grid.json.tmp-{}", std::process::id()));
            std::fs::write(&tmp, manifest(scene_path, scene, &hash))
                .and_then(|()| std::fs::rename(&tmp, &manifest_path))
                .map_err(|e| GridError::Run(format!("{}: {e}", manifest_path.display())))?;
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
        let psf = plan
            .compute(&source, opts)
            .map_err(|e| GridError::Run(format!("point {index}: {e}")))?;
        let write =
            WriteOptions::new().with_overwrite(true).with_name(&scene.name).with_grid_point(p);
        write_psf(&point_path(dir, index), &psf, &write).map_err(|e| GridError::Run(e.to_string()))
    };
    if one_wavelength && todo.len() > 1 {
        // Points in parallel, each single-threaded.
        let schedule = Schedule::plan(
            todo.len(),
            plan.bytes_per_wavelength(),
            &ScheduleOptions { workers: opts.workers, cores: opts.cores, ..Default::default() },
        );
        let inner = ComputeOptions { workers: Some(1), cores: Some(1), ..opts.clone() };
        map_ordered(&schedule, &todo, |_, &index, _| compute_point(index, &inner))
            .map_err(|e| e.source)?;
    } else {
        for &index in &todo {
            compute_point(index, opts)?;
        }
    }
    Ok(ShardSummary { computed: todo.len(), skipped: mine - todo.len(), total: grid.len() })
}

/// Merges the points in `dir` into a cube at `out`, checking that every point is present
/// and belongs to the grid recorded in `dir/grid.json`.
///
/// # Errors
///
/// [`GridError::Input`] listing missing points or naming a point of another grid;
/// [`GridError::Run`] when the cube cannot be written.
pub fn merge(dir: &Path, out: &Path, overwrite: bool) -> Result<usize, GridError> {
    let manifest_path = dir.join("grid.json");
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        GridError::Input(format!("{}: {e}; is this a grid folder?", manifest_path.display()))
    })?;
    let hash = json_field(&text, "hash").unwrap_or("").to_string();
    let n: usize = json_field(&text, "points")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| GridError::Input(format!("{}: no point count", manifest_path.display())))?;
    if out.exists() && !overwrite {
        return Err(GridError::Input(format!(
            "{}: file exists; pass --overwrite to replace it",
            out.display()
        )));
    }
    let listed = points_from_manifest(&text, &hash);
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
    write_cube(out, &data, &points, scale, overwrite).map_err(|e| GridError::Run(e.to_string()))?;
    Ok(n)
}

/// The points listed in the manifest text, in order.
fn points_from_manifest(text: &str, hash: &str) -> Vec<GridPoint> {
    text.lines()
        .filter(|l| l.trim_start().starts_with("{\"index\":"))
        .enumerate()
        .map_while(|(i, line)| {
            let num = |key: &str| json_field(line, key).and_then(|v| v.parse::<f64>().ok());
            Some(GridPoint::new(
                hash,
                i,
                num("offset_x_arcsec")?,
                num("offset_y_arcsec")?,
                num("wavelength_m"),
            ))
        })
        .collect()
}
