//! From a scene (or a system and a source) to a written FITS file: plan, compute, write the
//! PSF, and optionally the planes and a PNG picture, every file atomically. The command
//! line's `psf`, `batch`, `grid` and `grid --mpi` all go through [`run_plan`].
//!
//! ```no_run
//! use diffract::run::{run_scene, RunOptions};
//!
//! let scene = diffract::io::Scene::from_file("scene.toml".as_ref()).unwrap();
//! let summary = run_scene(&scene, &RunOptions::new("psf.fits").with_overwrite(true)).unwrap();
//! println!("{}", serde_json::to_string(&summary).unwrap());
//! ```

use crate::io::{
    atomic_write, write_plane, write_psf, AnyScene, GridPoint, IoError, Scene, WriteOptions,
};
use crate::propagation::{
    ComputeOptions, FresnelPlan, FresnelSystem, Normalization, OpticalSystem, Plane, PlaneImage,
    PropagationError, Psf, PsfPlan, Source,
};
use ndarray::Array2;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to write and how to compute it. Made with [`RunOptions::new`] and the `with_`
/// methods (fields may be added in later versions).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RunOptions {
    /// The FITS file of the PSF.
    pub output: PathBuf,
    /// Replace existing files (the PSF, the PNG, the plane files).
    pub overwrite: bool,
    /// The name written as `OBJECT` (the scene's name for [`run_scene`] when unset).
    pub name: Option<String>,
    /// Also draw the PSF (log stretch over 5 decades) to this PNG; needs the `png` feature.
    pub png: Option<PathBuf>,
    /// Also write the intensity (and, for one wavelength, the phase) after every plane to
    /// `DIR/plane_NN_KIND.fits`; needs a plane-by-plane plan ([`run_system`] and
    /// [`run_scene`] make one).
    pub planes_dir: Option<PathBuf>,
    /// The grid point this PSF is (written as `GRIDHASH`, `GRIDIDX`, `OFFX`, `OFFY`).
    pub grid_point: Option<GridPoint>,
    /// Backends, precision, workers, cores and progress callback.
    pub compute: ComputeOptions,
    /// Also write the complex field on the detector (extensions `REAL` and `IMAG`; one
    /// wavelength only, before any jitter; POPPY's `calc_psf(return_final=True)`).
    pub complex: bool,
}

impl RunOptions {
    /// Write the PSF to `output`, refusing to replace a file, with default compute options.
    pub fn new(output: impl Into<PathBuf>) -> Self {
        Self {
            output: output.into(),
            overwrite: false,
            name: None,
            png: None,
            planes_dir: None,
            grid_point: None,
            compute: ComputeOptions::default(),
            complex: false,
        }
    }

    /// Replace existing files (or not).
    #[must_use]
    pub fn with_overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// The name written as `OBJECT`.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Also draw the PSF to this PNG.
    #[must_use]
    pub fn with_png(mut self, png: impl Into<PathBuf>) -> Self {
        self.png = Some(png.into());
        self
    }

    /// Also write every plane to this folder.
    #[must_use]
    pub fn with_planes_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.planes_dir = Some(dir.into());
        self
    }

    /// The grid point this PSF is.
    #[must_use]
    pub fn with_grid_point(mut self, point: GridPoint) -> Self {
        self.grid_point = Some(point);
        self
    }

    /// Also write the detector's complex field (one wavelength).
    #[must_use]
    pub fn with_complex(mut self, complex: bool) -> Self {
        self.complex = complex;
        self
    }

    /// Backends, precision, workers and cores.
    #[must_use]
    pub fn with_compute(mut self, compute: ComputeOptions) -> Self {
        self.compute = compute;
        self
    }
}

/// Where a run's time went, seconds of wall-clock time: planning (sampling the optics;
/// zero for a plan made beforehand), computing the PSF, writing the files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Phases {
    /// Planning: the optics sampled, the steps made.
    pub plan: f64,
    /// Computing the PSF over the wavelengths.
    pub compute: f64,
    /// Writing the FITS file (and the planes and picture asked for).
    pub write: f64,
}

/// Times a run's phases one after the other.
struct Clock {
    start: Instant,
    last: Instant,
    phases: Phases,
}

impl Clock {
    fn new() -> Self {
        let now = Instant::now();
        Clock { start: now, last: now, phases: Phases::default() }
    }

    /// Seconds since the previous lap (or the start).
    fn lap(&mut self) -> f64 {
        let now = Instant::now();
        let seconds = (now - self.last).as_secs_f64();
        self.last = now;
        seconds
    }
}

/// What a run wrote and how it ran. Serialised with serde, it is the `diffract psf --json`
/// summary (keys `output`, `png`, `shape`, `wavelengths_m`, `weights`, `gemm`, `fft`,
/// `precision`, `workers`, `seconds`, `phases`, `peak_memory_bytes`, `flux`; a non-finite
/// number is `null`). The fields marked below are for the text summary and are not serialised.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct RunSummary {
    /// The FITS file written.
    #[serde(serialize_with = "path_text")]
    pub output: PathBuf,
    /// The PNG written, if any.
    #[serde(serialize_with = "optional_path_text")]
    pub png: Option<PathBuf>,
    /// Shape of the oversampled PSF, `[ny, nx]`.
    pub shape: [usize; 2],
    /// Wavelengths, metres.
    pub wavelengths_m: Vec<f64>,
    /// Normalised weights of the wavelengths.
    pub weights: Vec<f64>,
    /// Matrix-product backend used.
    pub gemm: String,
    /// FFT backend used.
    pub fft: String,
    /// Precision of the matrix Fourier transforms.
    pub precision: String,
    /// Wavelengths computed at once.
    pub workers: usize,
    /// Wall-clock time of planning, computing and writing, seconds.
    pub seconds: f64,
    /// That time by phase.
    pub phases: Phases,
    /// Peak resident memory of the process (Linux `VmHWM`), bytes; `None` elsewhere.
    pub peak_memory_bytes: Option<u64>,
    /// Flux in the field of the oversampled PSF.
    pub flux: f64,
    /// Shape of the detector-sampled PSF, `[ny, nx]` (not serialised).
    #[serde(skip)]
    pub detector_shape: [usize; 2],
    /// Detector pixel scale, arcsec (not serialised).
    #[serde(skip)]
    pub detector_pixelscale_arcsec: f64,
    /// Oversampling of the PSF relative to the detector (not serialised).
    #[serde(skip)]
    pub oversample: usize,
    /// The plane files written, in order (not serialised).
    #[serde(skip)]
    pub planes: Vec<PathBuf>,
    /// For a Fresnel system: metres per pixel of the output at the first wavelength (not
    /// serialised; the detector fields above are then NaN).
    #[serde(skip)]
    pub pixelscale_m: Option<f64>,
}

/// Why a run failed. [`RunError::is_input`] tells bad input (the command line's exit code
/// 2) from a failure while computing or writing (exit code 1).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The output cannot be written as asked: it exists without overwrite, it is a folder,
    /// or the planes folder is a file.
    #[error("{0}")]
    Output(String),
    /// The system cannot be planned.
    #[error("{0}")]
    Plan(PropagationError),
    /// The plan cannot run with these options (FFTW threads inside several workers, say).
    #[error("{0}")]
    Schedule(PropagationError),
    /// Computing the PSF failed.
    #[error("{0}")]
    Compute(PropagationError),
    /// Writing a FITS file or a folder failed.
    #[error("{0}")]
    Write(IoError),
    /// Drawing or writing the PNG failed.
    #[error("{0}")]
    Picture(String),
}

impl RunError {
    /// Whether the failure is the input's (scene, options, existing outputs) rather than
    /// one while computing or writing.
    pub fn is_input(&self) -> bool {
        matches!(self, RunError::Output(_) | RunError::Plan(_) | RunError::Schedule(_))
    }
}

/// Refuses an output that exists without `overwrite`, or is a folder.
fn check_free(path: &Path, overwrite: bool) -> Result<(), RunError> {
    if path.exists() && !overwrite {
        return Err(RunError::Output(IoError::Exists(path.to_path_buf()).to_string()));
    }
    if path.is_dir() {
        return Err(RunError::Output(format!("{}: is a directory", path.display())));
    }
    Ok(())
}

/// Plans `scene`'s system (plane by plane when `opts.planes_dir` is set) and runs it with
/// the scene's source; the scene's name is written unless `opts.name` is set.
///
/// # Errors
///
/// As [`run_plan`]; [`RunError::Plan`] when the system cannot be planned.
pub fn run_scene(scene: &Scene, opts: &RunOptions) -> Result<RunSummary, RunError> {
    if opts.name.is_some() {
        run_system(&scene.system, &scene.source, opts)
    } else {
        let opts = opts.clone().with_name(&scene.name);
        run_system(&scene.system, &scene.source, &opts)
    }
}

/// Runs a scene of either propagation (as [`run_scene`] or [`run_fresnel`]), the scene's
/// name written unless `opts.name` is set.
///
/// # Errors
///
/// As [`run_scene`] and [`run_fresnel`].
pub fn run_any_scene(scene: &AnyScene, opts: &RunOptions) -> Result<RunSummary, RunError> {
    match scene {
        AnyScene::Fraunhofer(s) => run_scene(s, opts),
        AnyScene::Fresnel(s) => {
            let named;
            let opts = if opts.name.is_some() {
                opts
            } else {
                named = opts.clone().with_name(&s.name);
                &named
            };
            run_fresnel(&s.system, &s.source, opts)
        }
    }
}

/// Plans a Fresnel `system` (optic by optic when `opts.planes_dir` is set), runs it for
/// `source` and writes the intensity at its last plane (in metres per pixel) as
/// [`run_plan`] writes a PSF.
///
/// # Errors
///
/// As [`run_plan`]; [`RunError::Plan`] when the system cannot be planned.
pub fn run_fresnel(
    system: &FresnelSystem,
    source: &Source,
    opts: &RunOptions,
) -> Result<RunSummary, RunError> {
    let mut clock = Clock::new();
    check_outputs(opts)?;
    if opts.complex {
        return Err(RunError::Output(
            "the complex field (--complex) is for Fraunhofer scenes; this one is Fresnel".into(),
        ));
    }
    let plan = if opts.planes_dir.is_some() {
        FresnelPlan::new_plane_by_plane(system)
    } else {
        system.plan()
    }
    .map_err(RunError::Plan)?;
    clock.phases.plan = clock.lap();
    plan.schedule(source.wavelengths().len(), &opts.compute).map_err(RunError::Schedule)?;
    let (psf, planes) = if opts.planes_dir.is_some() {
        plan.compute_with_planes(source, &opts.compute).map_err(RunError::Compute)?
    } else {
        (plan.compute(source, &opts.compute).map_err(RunError::Compute)?, Vec::new())
    };
    let seeds = system
        .elements()
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.optic.seed().map(|s| (i + 1, s)))
        .collect();
    clock.phases.compute = clock.lap();
    write_outputs(psf, &planes, None, opts, clock, Normalization::First, seeds)
}

/// Plans `system` (plane by plane when `opts.planes_dir` is set) and runs it for `source`.
///
/// # Errors
///
/// As [`run_plan`]; [`RunError::Plan`] when the system cannot be planned.
pub fn run_system(
    system: &OpticalSystem,
    source: &Source,
    opts: &RunOptions,
) -> Result<RunSummary, RunError> {
    let mut clock = Clock::new();
    check_outputs(opts)?;
    let plan =
        if opts.planes_dir.is_some() { PsfPlan::new_plane_by_plane(system) } else { system.plan() }
            .map_err(RunError::Plan)?;
    clock.phases.plan = clock.lap();
    run_planned(&plan, source, opts, clock, optic_seeds(system))
}

/// The seeds of `system`'s random optics: `(1-based optic number, seed)`.
fn optic_seeds(system: &OpticalSystem) -> Vec<(usize, u64)> {
    system
        .planes()
        .iter()
        .enumerate()
        .filter_map(|(i, plane)| match plane {
            Plane::Pupil(optic) => optic.seed().map(|s| (i + 1, s)),
            _ => None,
        })
        .collect()
}

/// Computes `source` through `plan` and writes the PSF to `opts.output` (with the planes
/// and the PNG when asked), each file atomically. Outputs are checked before computing.
///
/// # Errors
///
/// [`RunError::Output`] for an output that exists without overwrite (or is a folder);
/// [`RunError::Schedule`] when the options cannot be scheduled (FFTW threads inside several
/// workers); [`RunError::Compute`], [`RunError::Write`] and [`RunError::Picture`] for
/// failures while computing and writing (no partial file is left).
pub fn run_plan(
    plan: &PsfPlan,
    source: &Source,
    opts: &RunOptions,
) -> Result<RunSummary, RunError> {
    let mut clock = Clock::new();
    check_outputs(opts)?;
    clock.lap();
    // A plan does not keep its optics' seeds: only run_system and run_scene write them.
    run_planned(plan, source, opts, clock, Vec::new())
}

fn check_outputs(opts: &RunOptions) -> Result<(), RunError> {
    check_free(&opts.output, opts.overwrite)?;
    if let Some(p) = &opts.png {
        check_free(p, opts.overwrite)?;
    }
    if let Some(dir) = &opts.planes_dir {
        if dir.exists() && !dir.is_dir() {
            return Err(RunError::Output(format!("{}: --planes needs a directory", dir.display())));
        }
    }
    Ok(())
}

/// A PSF computed from a system, with what its file records besides the arrays. Made by
/// [`compute_system`] (fields may be added in later versions).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Computed {
    /// The PSF.
    pub psf: Psf,
    /// The intensity after every plane, when asked for.
    pub planes: Vec<PlaneImage>,
    /// Where the field was normalised.
    pub normalization: Normalization,
    /// The seeds of the random optics, `(1-based optic number, seed)`.
    pub seeds: Vec<(usize, u64)>,
}

impl Computed {
    /// The [`WriteOptions`] that record this PSF as [`run_system`] writes it, named `name`
    /// (header `OBJECT`); with [`crate::io::psf_header`] they give its header cards.
    pub fn write_options(&self, name: Option<&str>) -> WriteOptions {
        let write = WriteOptions::new()
            .with_normalization(self.normalization)
            .with_seeds(self.seeds.clone());
        match name {
            Some(name) => write.with_name(name),
            None => write,
        }
    }
}

/// What [`compute_system`] and [`compute_fresnel`] keep of the planes the light passes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeepPlanes {
    /// The PSF alone, from the merged plan.
    #[default]
    None,
    /// The intensity after every plane (the system planned plane by plane), as `diffract
    /// psf --planes` writes them.
    Intensity,
    /// As `Intensity`, with each plane's complex field (the wavelengths' fields weighted
    /// and summed) and the field on the final detector last: POPPY's
    /// `calc_psf(return_intermediates=True)`.
    Fields,
    /// The complex field on the final detector alone, from the merged plan: POPPY's
    /// `calc_psf(return_final=True)`.
    Final,
}

/// Plans `system` (plane by plane when `planes` asks for them) and computes it for
/// `source`, writing nothing: what [`run_system`] computes before it writes, for callers
/// that keep the PSF in memory (the Python package).
///
/// # Errors
///
/// [`RunError::Plan`] when the system cannot be planned; [`RunError::Schedule`] and
/// [`RunError::Compute`] as [`run_plan`].
pub fn compute_system(
    system: &OpticalSystem,
    source: &Source,
    compute: &ComputeOptions,
    planes: KeepPlanes,
) -> Result<Computed, RunError> {
    let plan = match planes {
        KeepPlanes::None | KeepPlanes::Final => system.plan(),
        _ => PsfPlan::new_plane_by_plane(system),
    }
    .map_err(RunError::Plan)?;
    let (psf, planes) = if matches!(planes, KeepPlanes::Fields | KeepPlanes::Final) {
        plan.schedule(source.wavelengths().len(), compute).map_err(RunError::Schedule)?;
        let (psf, mut fields) =
            plan.compute_with_fields(source, compute).map_err(RunError::Compute)?;
        if planes == KeepPlanes::Final {
            fields.drain(..fields.len().saturating_sub(1));
        }
        (psf, fields)
    } else {
        compute_planned(&plan, source, compute, planes == KeepPlanes::Intensity)?
    };
    Ok(Computed { psf, planes, normalization: plan.normalization(), seeds: optic_seeds(system) })
}

/// Plans the Fresnel `system` (optic by optic when `planes` asks for them) and computes it
/// for `source`, writing nothing: what [`run_fresnel`] computes before it writes (the
/// Python package's `FresnelOpticalSystem`). The light is normalised after the first optic
/// ("first").
///
/// # Errors
///
/// [`RunError::Plan`] when the system cannot be planned; [`RunError::Schedule`] and
/// [`RunError::Compute`] as [`run_fresnel`].
pub fn compute_fresnel(
    system: &FresnelSystem,
    source: &Source,
    compute: &ComputeOptions,
    planes: KeepPlanes,
) -> Result<Computed, RunError> {
    let plan = match planes {
        KeepPlanes::None | KeepPlanes::Final => system.plan(),
        _ => FresnelPlan::new_plane_by_plane(system),
    }
    .map_err(RunError::Plan)?;
    plan.schedule(source.wavelengths().len(), compute).map_err(RunError::Schedule)?;
    let (psf, planes) = match planes {
        KeepPlanes::None => (plan.compute(source, compute).map_err(RunError::Compute)?, Vec::new()),
        KeepPlanes::Intensity => {
            plan.compute_with_planes(source, compute).map_err(RunError::Compute)?
        }
        KeepPlanes::Fields | KeepPlanes::Final => {
            let (psf, mut fields) =
                plan.compute_with_fields(source, compute).map_err(RunError::Compute)?;
            if planes == KeepPlanes::Final {
                fields.drain(..fields.len().saturating_sub(1));
            }
            (psf, fields)
        }
    };
    let seeds = system
        .elements()
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.optic.seed().map(|s| (i + 1, s)))
        .collect();
    Ok(Computed { psf, planes, normalization: Normalization::First, seeds })
}

/// Checks the schedule and computes the PSF (with the planes when asked).
fn compute_planned(
    plan: &PsfPlan,
    source: &Source,
    compute: &ComputeOptions,
    with_planes: bool,
) -> Result<(Psf, Vec<PlaneImage>), RunError> {
    // Refuse a schedule that cannot run (FFTW threads inside several workers) up front.
    plan.schedule(source.wavelengths().len(), compute).map_err(RunError::Schedule)?;
    if with_planes {
        plan.compute_with_planes(source, compute).map_err(RunError::Compute)
    } else {
        Ok((plan.compute(source, compute).map_err(RunError::Compute)?, Vec::new()))
    }
}

fn run_planned(
    plan: &PsfPlan,
    source: &Source,
    opts: &RunOptions,
    mut clock: Clock,
    seeds: Vec<(usize, u64)>,
) -> Result<RunSummary, RunError> {
    let wavelengths = source.wavelengths();
    if opts.complex && wavelengths.len() != 1 {
        // Refuse a schedule that cannot run first, as before any other check.
        plan.schedule(wavelengths.len(), &opts.compute).map_err(RunError::Schedule)?;
        return Err(RunError::Output(format!(
            "the complex field (--complex) needs a single wavelength; the source has {}",
            wavelengths.len()
        )));
    }
    let (psf, planes, field) = if opts.complex {
        // The PSF and the field from one computation, so that the field's squared modulus is
        // the PSF: the detector field comes last, after the planes `--planes` writes.
        let (psf, mut planes) =
            plan.compute_with_fields(source, &opts.compute).map_err(RunError::Compute)?;
        let field = planes.pop().and_then(|p| p.field).ok_or_else(|| {
            RunError::Output("the plan gave no detector field for --complex".into())
        })?;
        if opts.planes_dir.is_none() {
            planes.clear();
        }
        (psf, planes, Some((field.mapv(|z| z.re), field.mapv(|z| z.im))))
    } else {
        let (psf, planes) =
            compute_planned(plan, source, &opts.compute, opts.planes_dir.is_some())?;
        (psf, planes, None)
    };
    clock.phases.compute = clock.lap();
    write_outputs(psf, &planes, field, opts, clock, plan.normalization(), seeds)
}

/// Writes the planes, the PSF and the picture, and sums up the run.
fn write_outputs(
    psf: Psf,
    planes: &[PlaneImage],
    field: Option<(Array2<f64>, Array2<f64>)>,
    opts: &RunOptions,
    mut clock: Clock,
    normalization: Normalization,
    seeds: Vec<(usize, u64)>,
) -> Result<RunSummary, RunError> {
    let mut plane_files = Vec::with_capacity(planes.len());
    if let Some(dir) = &opts.planes_dir {
        std::fs::create_dir_all(dir)
            .map_err(|source| RunError::Write(IoError::File { path: dir.clone(), source }))?;
        for plane in planes {
            let path = dir.join(format!("plane_{:02}_{}.fits", plane.index + 1, plane.kind));
            write_plane(&path, plane, opts.overwrite).map_err(RunError::Write)?;
            plane_files.push(path);
        }
    }
    let mut write =
        WriteOptions::new().with_overwrite(opts.overwrite).with_normalization(normalization);
    if let Some((real, imag)) = field {
        write = write.with_complex_field(real, imag);
    }
    if let Some(name) = &opts.name {
        write = write.with_name(name);
    }
    if let Some(point) = &opts.grid_point {
        write = write.with_grid_point(point.clone());
    }
    write = write.with_seeds(seeds);
    write_psf(&opts.output, &psf, &write).map_err(RunError::Write)?;
    if let Some(p) = &opts.png {
        write_picture(p, &psf, opts)?;
    }
    clock.phases.write = clock.lap();
    let (ny, nx) = psf.image.dim();
    let (dy, dx) = psf.detector_sampled().dim();
    Ok(RunSummary {
        output: opts.output.clone(),
        png: opts.png.clone(),
        shape: [ny, nx],
        wavelengths_m: psf.wavelengths.clone(),
        weights: psf.weights.clone(),
        gemm: psf.gemm.name().to_string(),
        fft: psf.fft.name().to_string(),
        precision: psf.precision.name().to_string(),
        workers: psf.workers,
        seconds: clock.start.elapsed().as_secs_f64(),
        phases: clock.phases,
        peak_memory_bytes: peak_memory_bytes(),
        flux: psf.flux(),
        detector_shape: [dy, dx],
        detector_pixelscale_arcsec: psf.pixelscale_arcsec * psf.oversample as f64,
        oversample: psf.oversample,
        planes: plane_files,
        pixelscale_m: psf.fresnel.map(|f| f.pixelscale_m),
    })
}

#[cfg(feature = "png")]
fn write_picture(path: &Path, psf: &Psf, opts: &RunOptions) -> Result<(), RunError> {
    use crate::picture::{image_picture, wavelength_label, Stretch};
    let name = opts.name.as_deref().unwrap_or("PSF");
    let title = format!(
        "{name}: {}",
        wavelength_label(Some(psf.mean_wavelength), Some(psf.wavelengths.len() as i64))
    );
    let stretch = Stretch::Log { decades: 5.0 };
    match &psf.fresnel {
        Some(f) => {
            crate::picture::image_picture_metres(&psf.image, f.pixelscale_m, &title, stretch)
        }
        None => image_picture(&psf.image, psf.pixelscale_arcsec, &title, stretch),
    }
    .and_then(|c| c.write_png(path, opts.overwrite))
    .map_err(|e| RunError::Picture(e.to_string()))
}

#[cfg(not(feature = "png"))]
fn write_picture(path: &Path, _psf: &Psf, _opts: &RunOptions) -> Result<(), RunError> {
    Err(RunError::Picture(format!(
        "{}: PNG pictures need diffract's `png` feature",
        path.display()
    )))
}

/// A path as JSON text (lossy for a path that is not UTF-8, which serde would refuse).
pub fn path_text<S: serde::Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

/// An optional path as JSON text or `null`.
pub fn optional_path_text<S: serde::Serializer>(
    path: &Option<PathBuf>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match path {
        Some(p) => s.serialize_str(&p.to_string_lossy()),
        None => s.serialize_none(),
    }
}

/// Peak resident memory of this process (Linux `VmHWM`), bytes.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kib| kib * 1024)
}

/// Writes `value` as pretty JSON (with a final newline) to `path`, atomically.
///
/// # Errors
///
/// [`IoError`] when the file exists without `overwrite` or cannot be written.
pub fn write_json<T: Serialize>(path: &Path, value: &T, overwrite: bool) -> Result<(), IoError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| IoError::File {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    text.push('\n');
    atomic_write(path, overwrite, |tmp| {
        std::fs::write(tmp, text.as_bytes())
            .map_err(|source| IoError::File { path: tmp.to_path_buf(), source })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_with_non_finite_numbers_serialises_them_as_null() {
        let summary = RunSummary {
            output: "a.fits".into(),
            png: None,
            shape: [2, 3],
            wavelengths_m: vec![1e-6],
            weights: vec![1.0],
            gemm: "gemm".into(),
            fft: "rustfft".into(),
            precision: "f64".into(),
            workers: 1,
            seconds: f64::INFINITY,
            phases: Phases::default(),
            peak_memory_bytes: None,
            flux: f64::NAN,
            detector_shape: [1, 1],
            detector_pixelscale_arcsec: 0.1,
            oversample: 2,
            planes: Vec::new(),
            pixelscale_m: None,
        };
        let text = serde_json::to_string(&summary).unwrap();
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(back["flux"].is_null() && back["seconds"].is_null(), "{text}");
        assert_eq!(back["shape"], serde_json::json!([2, 3]));
        assert!(back.get("detector_shape").is_none() && back.get("planes").is_none());
        let keys: Vec<&str> = back.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 13, "{keys:?}");
        assert_eq!(back["phases"], serde_json::json!({"plan": 0.0, "compute": 0.0, "write": 0.0}));
    }
}
