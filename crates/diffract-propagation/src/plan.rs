//! The PSF plan: the system compiled once into an ordered list of [`Step`]s (pupil optics
//! sampled once, FFTs or MFTs between planes, the coronagraph methods, the MFT to the
//! detector), then run for every wavelength and summed with the weights in a fixed order.

use crate::field::{combine, pad_offset, tilt, PupilArrays};
use crate::step::Recorded;
use crate::steps::{
    lam_d_arcsec, Aligner, DetectorMft, FftToImage, FftToPupil, ImageOptics, InverseMft, MftToBox,
    Normalize, PupilOptics, RecordPlane, SemiAnalyticOcculter,
};
use crate::system::{Coronagraph, Normalization, Plane};
use crate::{
    Detector, Exec, OpticalSystem, PropagationError, Psf, Sampling, Scratch, Source, Step,
    Wavefront, ARCSEC_PER_RAD,
};
use diffract_optics::{ContinuousDeformableMirror, DmSampling, ImageOptic, PupilGrid, PupilOptic};
use diffract_parallel::{map_ordered, Par, Schedule, ScheduleOptions};
use diffract_transforms::{Fft2d, FftBackend, GemmBackend, MftCache};
use ndarray::{s, Array2};
use num_complex::Complex64;
use std::ops::Range;
use std::sync::{Arc, Mutex};

mod control_loop;

/// The floating-point precision of the transforms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Precision {
    /// Single precision wherever the result stays within [`AUTO_BOUND`] (relative L2) of
    /// double precision and runs faster, double elsewhere: the default. Every Fraunhofer
    /// plan but one with a semi-analytic coronagraph (whose subtraction of the occulted
    /// light loses digits in single precision: 7e-6 on the reference case) then runs in
    /// single precision; Fresnel plans run in double (their f32 FFTs are not faster).
    #[default]
    Auto,
    /// Double precision throughout (what is compared with POPPY to ~1e-14).
    F64,
    /// The matrix Fourier transforms (and a Fresnel system's FFTs) in single precision, with
    /// pupil sampling, the field between steps and the sums in double: faster, within
    /// 6e-7 relative L2 of double precision on the reference scenes but the semi-analytic
    /// ones.
    F32,
}

/// The bound [`Precision::Auto`] keeps to: the relative L2 distance between a PSF it
/// computes and the same PSF in double precision (checked on every reference scene by
/// tests/precision.rs).
pub const AUTO_BOUND: f64 = 1e-6;

impl Precision {
    /// The precisions a computation runs in (not [`Precision::Auto`], which chooses one).
    pub const ALL: &'static [Precision] = &[Precision::F64, Precision::F32];

    /// `"auto"`, `"f64"` or `"f32"`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::Auto => "auto",
            Precision::F64 => "f64",
            Precision::F32 => "f32",
        }
    }

    /// The precision to run in: `self`, or for [`Precision::Auto`] double precision where
    /// `needs_f64` and single precision elsewhere.
    pub fn resolve(self, needs_f64: bool) -> Precision {
        match self {
            Precision::Auto if needs_f64 => Precision::F64,
            Precision::Auto => Precision::F32,
            p => p,
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = PropagationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Precision::Auto),
            "f64" => Ok(Precision::F64),
            "f32" => Ok(Precision::F32),
            other => Err(PropagationError::invalid("precision", other, "must be auto, f64 or f32")),
        }
    }
}

/// How to run a computation: backends, precision and workers.
///
/// ```
/// use diffract_propagation::{ComputeOptions, Precision};
///
/// let opts = ComputeOptions::default().with_precision(Precision::F32).with_workers(2);
/// assert_eq!(opts.workers, Some(2));
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ComputeOptions {
    /// Matrix-product backend of the MFT.
    pub gemm: GemmBackend,
    /// FFT backend of image-plane propagation.
    pub fft: FftBackend,
    /// Precision of the matrix Fourier transforms.
    pub precision: Precision,
    /// Wavelengths computed at once; `None` chooses from cores and free memory.
    pub workers: Option<usize>,
    /// Threads of each FFTW transform (0 or 1: single-threaded). More than one needs a
    /// single worker.
    pub fftw_threads: usize,
    /// Cores to use in all (`None`: every core). `Some(1)` runs everything serially.
    pub cores: Option<usize>,
    /// Called once per wavelength finished (from worker threads), for progress reports.
    pub on_wavelength_done: Option<Progress>,
}

impl ComputeOptions {
    /// With the matrix-product backend `gemm`.
    pub fn with_gemm(mut self, gemm: GemmBackend) -> Self {
        self.gemm = gemm;
        self
    }

    /// With the FFT backend `fft`.
    pub fn with_fft(mut self, fft: FftBackend) -> Self {
        self.fft = fft;
        self
    }

    /// With the MFTs in `precision`.
    pub fn with_precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// With `workers` wavelengths computed at once.
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = Some(workers);
        self
    }

    /// With `threads` threads in each FFTW transform.
    pub fn with_fftw_threads(mut self, threads: usize) -> Self {
        self.fftw_threads = threads;
        self
    }

    /// Using at most `cores` cores.
    pub fn with_cores(mut self, cores: usize) -> Self {
        self.cores = Some(cores);
        self
    }

    /// Calling `progress` as each wavelength finishes.
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.on_wavelength_done = Some(progress);
        self
    }
}

/// A callback run as each wavelength finishes.
#[derive(Clone)]
pub struct Progress(pub Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress(..)")
    }
}

impl Progress {
    /// A progress callback.
    pub fn new(f: impl Fn() + Send + Sync + 'static) -> Self {
        Progress(Arc::new(f))
    }
}

/// Reports a finished wavelength when dropped (also when it failed).
pub(crate) struct ProgressGuard<'a>(pub(crate) Option<&'a Progress>);

impl Drop for ProgressGuard<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.0 {
            (p.0)();
        }
    }
}

/// Largest oversampling accepted.
pub const MAX_OVERSAMPLE: usize = 64;

/// Largest zero-padded FFT array accepted, pixels across.
pub const MAX_FFT_NPIX: usize = 32768;

#[derive(Debug, Clone, Copy)]
enum Mode {
    Fft,
    /// `box_px`: the box's pixel, arcsec (the detector's pixel over the box oversampling).
    SemiAnalytic {
        half_box: f64,
        box_px: f64,
    },
    MatrixFt {
        half_box: f64,
        oversample: usize,
    },
}

/// Consecutive planes of one kind, before they are compiled into steps.
enum Group {
    Pupil(Range<usize>, PupilArrays),
    Aligner(usize, crate::AlignerDirection),
    Image(Range<usize>, Vec<Arc<dyn ImageOptic>>),
    /// An intermediate detector and its samples per pixel.
    Detector(usize, Detector, usize),
}

/// The intensity after one plane, summed over wavelengths with their weights.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PlaneImage {
    /// Index of the plane in the system (0-based).
    pub index: usize,
    /// The plane's optic kind.
    pub kind: &'static str,
    /// Whether it is an image plane.
    pub image_plane: bool,
    /// Weighted intensity.
    pub intensity: Array2<f64>,
    /// Phase in radians, for a single wavelength only.
    pub phase: Option<Array2<f64>>,
    /// Pixel scale: metres per pixel in pupil planes, arcsec per pixel in image planes (at
    /// the first wavelength).
    pub pixelscale: f64,
    /// Position along the optical axis, metres, for the planes of a Fresnel system.
    pub z_m: Option<f64>,
    /// The complex field summed over wavelengths with their weights, `sum w_i E_i` (POPPY's
    /// intermediate wavefronts of a polychromatic `calc_psf`; the field itself for one
    /// wavelength), when asked for ([`PsfPlan::compute_with_fields`]); else `None`.
    pub field: Option<Array2<Complex64>>,
}

/// What a computation keeps of the planes it passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Record {
    /// Nothing: the PSF alone.
    Off,
    /// The weighted intensity after every plane (and the phase for one wavelength).
    Planes,
    /// As `Planes`, with the weighted complex fields, and the field on the detector last.
    Fields,
}

/// A wavelength's field entering the last step and its detector field.
type KeptPair = (Array2<Complex64>, Array2<Complex64>);

/// A system prepared for computing PSFs: an ordered list of [`Step`]s, made once and run
/// for every wavelength.
#[derive(Debug)]
pub struct PsfPlan {
    grid: PupilGrid,
    /// The detector; `None` when the system ends on an FFT image plane, which is then the
    /// output.
    detector: Option<Detector>,
    oversample: usize,
    steps: Vec<Box<dyn Step>>,
    /// Amplitude of the input field: POPPY's "first" normalisation, folded in up front (1
    /// for the other normalisations, which are steps).
    norm: f64,
    normalization: Normalization,
    /// The combined arrays of the optics before the first image plane (shared with the
    /// first step when it holds exactly those optics).
    entrance: Arc<PupilArrays>,
    /// Whether `entrance` is sampled apart from the steps' arrays.
    entrance_separate: bool,
    mfts: MftCache<f64>,
    mfts32: MftCache<f32>,
    /// Size of the zero-padded FFTs, when the propagation uses them.
    fft_shape: Option<(usize, usize)>,
    /// FFT plans by backend and FFTW thread count, made on first use.
    ffts: Mutex<Vec<FftPlanEntry>>,
    /// The same in single precision, for FFT image planes held in single precision.
    ffts32: Mutex<Vec<FftPlanEntry<f32>>>,
    /// Whether a user's step was inserted ([`PsfPlan::insert_step`]).
    user_steps: bool,
    /// Scratch memory of finished workers, lent to the next ones.
    scratch: Mutex<Vec<Scratch>>,
    /// The system's planes as the plan now holds them (updated optics replaced).
    planes: Vec<Plane>,
    /// The zero-padded grid on which pupil optics after an image plane are sampled (FFT mode).
    padded_grid: PupilGrid,
    /// Where each run of pupil optics was sampled, in plane order.
    pupil_groups: Vec<PupilGroup>,
    /// Pupil planes updated since the plan was made, with what their steps' other optics
    /// contribute.
    live: Vec<LivePlane>,
    /// The last step when it is the MFT onto the final detector.
    final_mft: Option<DetectorMft>,
    /// The fields a control loop's next PSF is updated from.
    loop_state: Mutex<control_loop::LoopState>,
}

/// Where a run of pupil optics (one `PupilOptics` step) is sampled.
#[derive(Debug, Clone)]
struct PupilGroup {
    planes: Range<usize>,
    /// Sampled on the zero-padded grid.
    padded: bool,
    /// Cut to the central `npix` pixels after sampling.
    cut: bool,
}

/// A pupil plane whose optic has been updated: the combined arrays of the optics before it
/// in its step and each optic's arrays after it, so that a new optic is folded in with them
/// in plane order (the same arithmetic as a fresh plan) without resampling them.
#[derive(Debug)]
struct LivePlane {
    index: usize,
    before: PupilArrays,
    after: Vec<PupilArrays>,
    /// The kept sampling when the optic is a continuous deformable mirror.
    dm: Option<LiveDm>,
}

/// A continuous deformable mirror kept with its sampling on the plane's grid.
#[derive(Debug)]
struct LiveDm {
    /// The mirror's geometry (actuators flattened): a mirror that differs in anything but
    /// its actuators is sampled afresh.
    geometry: ContinuousDeformableMirror,
    sampling: DmSampling,
    transmission: Option<Array2<f64>>,
    phase: Option<Array2<f64>>,
    /// The OPD on the sampling grid (before any cut), rewritten at each update.
    opd_full: Array2<f64>,
    /// The OPD as applied (cut when the group is cut).
    opd: Array2<f64>,
    /// The step's arrays installed by the last update (also held by the step, and by the
    /// entrance when it is the same): the next update rewrites their OPD in place instead
    /// of folding new arrays. `None` until then, or when another update replaced them.
    installed: Option<Arc<PupilArrays>>,
}

/// An FFT plan with the backend and FFTW thread count it was made for.
pub(crate) type FftPlanEntry<T = f64> = (FftBackend, usize, Arc<Fft2d<T>>);

/// The schedule of `n_wavelengths` needing `bytes_per_wavelength` each with `opts`:
/// FFTW threads and several workers are refused together, and FFTW's own threads leave the
/// other kernels serial.
pub(crate) fn schedule_for(
    n_wavelengths: usize,
    bytes_per_wavelength: u64,
    opts: &ComputeOptions,
) -> Result<Schedule, PropagationError> {
    let fftw_threaded = opts.fft == FftBackend::Fftw && opts.fftw_threads > 1;
    if fftw_threaded && opts.workers.is_some_and(|w| w > 1) && n_wavelengths > 1 {
        return Err(PropagationError::FftwThreads {
            threads: opts.fftw_threads,
            workers: opts.workers.unwrap_or(1),
        });
    }
    let workers = if fftw_threaded { Some(1) } else { opts.workers };
    let sched_opts = ScheduleOptions { workers, cores: opts.cores, ..Default::default() };
    let mut schedule = Schedule::plan(n_wavelengths, bytes_per_wavelength, &sched_opts);
    if fftw_threaded {
        // FFTW brings its own threads; the other kernels stay serial beside them.
        schedule.kernel_par = Par::Seq;
    }
    Ok(schedule)
}

/// The FFT plan of `shape` for `backend` with `fftw_threads` from `cache`, made and kept
/// on first use.
pub(crate) fn cached_fft<T: diffract_transforms::Real>(
    cache: &Mutex<Vec<FftPlanEntry<T>>>,
    shape: (usize, usize),
    backend: FftBackend,
    fftw_threads: usize,
) -> Result<Arc<Fft2d<T>>, PropagationError> {
    let threads = if backend == FftBackend::Fftw { fftw_threads.max(1) } else { 1 };
    let mut ffts = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, p)) = ffts.iter().find(|(b, t, _)| *b == backend && *t == threads) {
        return Ok(Arc::clone(p));
    }
    let plan = Arc::new(Fft2d::with_threads(shape, backend, threads)?);
    ffts.push((backend, threads, Arc::clone(&plan)));
    Ok(plan)
}

/// `total += w img`, from zero: the first image is scaled in place (`0 + w v`), so the sum
/// of the wavelengths in order is the same whether they arrive one by one or all at once.
pub(crate) fn add_weighted(total: &mut Option<Array2<f64>>, mut img: Array2<f64>, w: f64) {
    match total.as_mut() {
        Some(t) => t.scaled_add(w, &img),
        None => {
            img.mapv_inplace(|v| 0.0 + w * v);
            *total = Some(img);
        }
    }
}

/// Adds one wavelength's plane records, weighted by `w`, to the plane images: the first
/// wavelength's make them, and a later record of another shape is left out. `mode`
/// [`Record::Fields`] keeps the weighted complex fields.
pub(crate) fn add_records(
    plane_images: &mut Vec<PlaneImage>,
    records: Option<Vec<Recorded>>,
    w: f64,
    mode: Record,
    with_phase: bool,
    first: bool,
) {
    let with_field = mode == Record::Fields;
    for (s, r) in records.into_iter().flatten().enumerate() {
        let plane = r.plane_image(w, with_phase, with_field);
        if first {
            plane_images.push(plane);
        } else if plane_images[s].intensity.dim() == plane.intensity.dim() {
            let kept = &mut plane_images[s];
            kept.intensity += &plane.intensity;
            // Fields are summed only on the same sampling (POPPY refuses to sum others):
            // an FFT image plane, whose scale follows the wavelength, keeps none.
            let same = (kept.pixelscale - plane.pixelscale).abs() <= 1e-9 * kept.pixelscale.abs();
            match (kept.field.as_mut(), plane.field.as_ref()) {
                (Some(sum), Some(field)) if same => *sum += field,
                _ => kept.field = None,
            }
        }
    }
}

/// Most bytes of MFT plans a plan keeps between wavelengths and calls, per precision (the
/// last plan is always kept). Enough for a control loop's wavelengths on a 1024-pixel pupil;
/// a polychromatic PSF uses each wavelength's matrices once, so more would only hold memory.
const MFT_CACHE_BYTES: u64 = 8 << 20;

/// Refuses, with the estimate, a need beyond the free memory.
pub(crate) fn fits_in_memory(needed: u64) -> Result<(), PropagationError> {
    match diffract_parallel::available_memory_bytes() {
        Some(avail) if needed > avail => {
            Err(PropagationError::Memory { needed_mib: needed >> 20, available_mib: avail >> 20 })
        }
        _ => Ok(()),
    }
}

fn layout_error(message: String) -> PropagationError {
    PropagationError::System(message)
}

/// Whether a box of half-widths `extent` fits in a square of half-size `half_box`.
fn fits(extent: (f64, f64), half_box: f64) -> bool {
    extent.0 <= half_box * (1.0 + 1e-12) && extent.1 <= half_box * (1.0 + 1e-12)
}

/// The combined arrays of the pupil optics among `planes`, sampled on `grid`.
pub(crate) fn sample_pupil(planes: &[Plane], grid: &PupilGrid) -> PupilArrays {
    sample_pupil_first(planes, grid).0
}

/// As [`sample_pupil`], with the intensity the first of `planes` transmits on its own (its
/// transmission squared, summed; `None` without a transmission array): the "first"
/// normalisation, without sampling that optic twice.
fn sample_pupil_first(planes: &[Plane], grid: &PupilGrid) -> (PupilArrays, Option<f64>) {
    let mut arrays = PupilArrays { transmission: None, opd: None, phase: None };
    let mut first = None;
    for (k, p) in planes.iter().enumerate() {
        if let Plane::Pupil(o) = p {
            // After the first transmission, the others multiply into it in place.
            let t = match arrays.transmission.as_mut() {
                Some(acc) => {
                    o.multiply_transmission(grid, acc);
                    None
                }
                None => o.transmission(grid),
            };
            if k == 0 {
                first = t.as_ref().map(|t| t.iter().map(|v| v * v).sum());
            }
            combine(&mut arrays, t, o.opd(grid), o.phase(grid));
        }
    }
    (arrays, first)
}

/// `arrays` cut to the central `n` pixels when `cut` is `Some(n)`.
fn cut_arrays(arrays: PupilArrays, cut: Option<usize>) -> PupilArrays {
    PupilArrays {
        transmission: cut_array(arrays.transmission, cut),
        opd: cut_array(arrays.opd, cut),
        phase: cut_array(arrays.phase, cut),
    }
}

/// `a` cut to the central `n` pixels when `cut` is `Some(n)`.
fn cut_array(a: Option<Array2<f64>>, cut: Option<usize>) -> Option<Array2<f64>> {
    match (a, cut) {
        (Some(a), Some(n)) if a.nrows() != n => {
            let o = pad_offset(n, a.nrows());
            Some(a.slice(s![o..o + n, o..o + n]).to_owned())
        }
        (a, _) => a,
    }
}

/// One optic's transmission, OPD and phase, borrowed.
type OpticRefs<'a> = (Option<&'a Array2<f64>>, Option<&'a Array2<f64>>, Option<&'a Array2<f64>>);

/// The arrays of `a`, borrowed.
fn refs(a: &PupilArrays) -> OpticRefs<'_> {
    (a.transmission.as_ref(), a.opd.as_ref(), a.phase.as_ref())
}

/// The arrays of a step: `before` (the optics before the plane, already folded), then
/// `own`, then each of `after`, folded in that order as [`sample_pupil`] folds them
/// (transmissions multiply, OPDs and phases add, left to right): the same values to the
/// bit.
fn fold_arrays(before: &PupilArrays, own: OpticRefs<'_>, after: &[PupilArrays]) -> PupilArrays {
    let parts: Vec<OpticRefs<'_>> = std::iter::once(refs(before))
        .chain(std::iter::once(own))
        .chain(after.iter().map(refs))
        .collect();
    PupilArrays {
        transmission: fold(parts.iter().map(|p| p.0), true),
        opd: fold(parts.iter().map(|p| p.1), false),
        phase: fold(parts.iter().map(|p| p.2), false),
    }
}

/// The product (`multiply`) or sum of the arrays given, left to right.
fn fold<'a>(
    arrays: impl Iterator<Item = Option<&'a Array2<f64>>>,
    multiply: bool,
) -> Option<Array2<f64>> {
    let mut acc: Option<Array2<f64>> = None;
    for a in arrays.flatten() {
        match acc.as_mut() {
            Some(x) if multiply => *x *= a,
            Some(x) => *x += a,
            None => acc = Some(a.clone()),
        }
    }
    acc
}

/// Rewrites the OPD of `arrays` (a step's folded arrays) as [`fold_arrays`] folds it from
/// `before`, the optic's `own` OPD and `after`: the same sums in the same order, into the
/// array already there.
fn fold_opd_into(
    arrays: &mut PupilArrays,
    before: &PupilArrays,
    own: &Array2<f64>,
    after: &[PupilArrays],
) {
    let mut parts = before
        .opd
        .iter()
        .chain(std::iter::once(own))
        .chain(after.iter().filter_map(|a| a.opd.as_ref()));
    let first = parts.next().expect("the optic's own OPD");
    match arrays.opd.as_mut() {
        Some(acc) if acc.dim() == first.dim() => acc.assign(first),
        _ => arrays.opd = Some(first.clone()),
    }
    let acc = arrays.opd.as_mut().expect("set above");
    for p in parts {
        *acc += p;
    }
}

impl PsfPlan {
    /// Samples the optics of `system` and checks its layout.
    ///
    /// # Errors
    ///
    /// [`PropagationError`] for a system without optics or detector, an oversampling
    /// outside 1..=64, a first optic that transmits no light, or a plane layout that the
    /// propagation (or the chosen coronagraph method) cannot follow.
    pub fn new(system: &OpticalSystem) -> Result<Self, PropagationError> {
        Self::build(system, true)
    }

    /// As [`PsfPlan::new`], keeping every plane a step of its own so that
    /// [`PsfPlan::compute_with_planes`] and [`PsfPlan::propagate`] report each plane
    /// (slower: pupil optics are not merged).
    ///
    /// # Errors
    ///
    /// As [`PsfPlan::new`].
    pub fn new_plane_by_plane(system: &OpticalSystem) -> Result<Self, PropagationError> {
        Self::build(system, false)
    }

    fn build(system: &OpticalSystem, merge: bool) -> Result<Self, PropagationError> {
        let oversample = system.oversample();
        if !(1..=MAX_OVERSAMPLE).contains(&oversample) {
            return Err(PropagationError::invalid(
                "oversample",
                oversample,
                "must be an integer from 1 to 64",
            ));
        }
        let detector = system.detector().copied();
        let planes = system.planes();
        let first = planes
            .first()
            .ok_or_else(|| PropagationError::System("the system has no optics".into()))?;
        if first.is_image() || first.is_detector() {
            return Err(layout_error(format!(
                "the first optic ({}) is in an image plane; the light must enter through a pupil plane",
                first.kind()
            )));
        }
        let last = planes.last().expect("non-empty");
        match (&detector, last) {
            (Some(_), Plane::Image(_)) => {
                return Err(layout_error(format!(
                    "the last optic ({}) is in an image plane; the detector must follow a pupil plane (or remove the detector: the system then ends on the FFT image plane)",
                    last.kind()
                )))
            }
            (_, Plane::Detector { .. }) => {
                return Err(layout_error(format!(
                    "the last optic (optic {}) is a detector; the final detector is the system's own (in a scene, [detector])",
                    planes.len()
                )))
            }
            (None, Plane::Image(_)) if system.coronagraph().is_some() => {
                return Err(PropagationError::System(
                    "the system has no detector; a [coronagraph] method needs one".into(),
                ))
            }
            (None, Plane::Image(_)) => {}
            (None, _) => {
                return Err(PropagationError::System(format!(
                    "the system has no detector and its last optic ({}) is in a pupil plane; add a detector, or end on an image plane (whose FFT image is then the output)",
                    last.kind()
                )))
            }
            (Some(_), _) => {}
        }
        for (i, pair) in planes.windows(2).enumerate() {
            if pair[1].is_detector() && (pair[0].is_image() || pair[0].is_detector()) {
                return Err(layout_error(format!(
                    "optic {} (detector) follows an image plane (optic {}, {}); a detector is reached from a pupil plane, so put a pupil-plane optic between them",
                    i + 2,
                    i + 1,
                    pair[0].kind()
                )));
            }
        }
        let mut detector_sides = Vec::new();
        for (i, plane) in planes.iter().enumerate() {
            if let Plane::Detector { detector: d, oversample: os } = plane {
                let os = os.unwrap_or(oversample);
                if !(1..=MAX_OVERSAMPLE).contains(&os) {
                    return Err(PropagationError::invalid(
                        "oversample",
                        os,
                        "must be an integer from 1 to 64",
                    ));
                }
                if let Some(method) = system.coronagraph() {
                    let name = match method {
                        Coronagraph::SemiAnalytic { .. } => "semi_analytic",
                        Coronagraph::MatrixFt { .. } => "matrix_ft",
                    };
                    return Err(layout_error(format!(
                        "optic {} is a detector in mid-system; coronagraph method {name} cannot be combined with one (remove [coronagraph])",
                        i + 1
                    )));
                }
                if d.jitter_sigma_arcsec().is_some() {
                    return Err(layout_error(format!(
                        "optic {} (detector): jitter applies to the final detector only",
                        i + 1
                    )));
                }
                let (ny, nx) = d.fov_shape();
                detector_sides.push(ny.max(nx) * os);
            }
        }
        let grid = system.grid()?;
        let n = grid.npix();
        let npad = n * oversample;
        let image_planes = planes.iter().filter(|p| p.is_image()).count();
        if image_planes > 0 && system.coronagraph().is_none() && npad > MAX_FFT_NPIX {
            return Err(PropagationError::invalid(
                "npix * oversample",
                npad,
                "zero-padded FFT arrays must be at most 32768 pixels across",
            ));
        }
        let mode = Self::mode(system)?;
        let normalization = system.normalization();
        if matches!(mode, Mode::SemiAnalytic { .. })
            && matches!(normalization, Normalization::ExitPupil | Normalization::None)
        {
            return Err(layout_error(format!(
                "normalize = \"{}\" is not available with coronagraph method semi_analytic (POPPY's SemiAnalyticCoronagraph has \"first\" and \"last\" only)",
                normalization.name()
            )));
        }
        let output_side = match &detector {
            Some(d) => d.fov_shape().0.max(d.fov_shape().1) * oversample,
            None => npad,
        };
        let first_image = planes.iter().position(Plane::is_image).unwrap_or(planes.len());
        let is_pupil = |p: &Plane| matches!(p, Plane::Pupil(_));
        let padded_pupils = if matches!(mode, Mode::Fft) && oversample > 1 {
            planes[first_image..].iter().filter(|p| is_pupil(p)).count()
        } else {
            0
        };
        let pupil_planes = planes.iter().filter(|p| is_pupil(p)).count();
        Self::check_memory_before_sampling(
            (pupil_planes - padded_pupils, padded_pupils),
            n,
            npad,
            image_planes > 0,
            detector_sides.into_iter().fold(output_side, usize::max),
        )?;
        let padded_grid =
            PupilGrid::with_pixelscale(npad, grid.diameter() * oversample as f64 / npad as f64)?;

        // Group the planes, merging consecutive pupil optics (and consecutive image optics)
        // unless every plane is to be reported.
        // Whether each group's field is on the zero-padded FFT grid: after an FFT image
        // plane, until an intermediate detector's MFT leaves it unpadded. Image planes right
        // after an intermediate detector are on its pixels, reached by MFT.
        let mut groups = Vec::new();
        // The first optic's transmitted intensity, from its sampling in the first group
        // (none without a transmission array, or when the first plane is not a pupil).
        let mut first_transmitted = None;
        let mut group_padded = Vec::new();
        let mut pupil_groups = Vec::new();
        let mut padded = false;
        let mut on_detector = false;
        let mut i = 0;
        while i < planes.len() {
            let on_padded = padded && matches!(mode, Mode::Fft) && oversample > 1;
            group_padded.push(on_padded);
            match &planes[i] {
                Plane::Pupil(_) => {
                    let mut j = i + 1;
                    while merge && j < planes.len() && matches!(planes[j], Plane::Pupil(_)) {
                        j += 1;
                    }
                    let g = if on_padded { &padded_grid } else { &grid };
                    pupil_groups.push(PupilGroup { planes: i..j, padded: on_padded, cut: false });
                    let (arrays, first) = sample_pupil_first(&planes[i..j], g);
                    if i == 0 {
                        first_transmitted = first;
                    }
                    groups.push(Group::Pupil(i..j, arrays));
                    on_detector = false;
                    i = j;
                }
                Plane::FqpmAligner(d) => {
                    groups.push(Group::Aligner(i, *d));
                    on_detector = false;
                    i += 1;
                }
                Plane::Detector { detector: d, oversample: os } => {
                    groups.push(Group::Detector(i, *d, os.unwrap_or(oversample)));
                    padded = false;
                    on_detector = true;
                    i += 1;
                }
                Plane::Image(_) => {
                    let mut j = i;
                    let mut optics = Vec::new();
                    while j < planes.len() && (j == i || merge) {
                        match &planes[j] {
                            Plane::Image(o) => optics.push(Arc::clone(o)),
                            _ => break,
                        }
                        j += 1;
                    }
                    padded |= !on_detector;
                    groups.push(Group::Image(i..j, optics));
                    i = j;
                }
            }
        }

        // "First" normalisation: unit total intensity after the first optic. Its
        // transmission on the entrance grid fixes it (phase and tilt do not change
        // intensities).
        let first_intensity = first_transmitted.unwrap_or((n * n) as f64);
        if first_intensity <= 0.0 {
            return Err(PropagationError::System(format!(
                "the first optic ({}) transmits no light on this pupil grid",
                first.kind()
            )));
        }
        let fft_shape = (image_planes > 0 && matches!(mode, Mode::Fft)).then_some((npad, npad));
        // FFT mode: where the field is back in a pupil on the padded grid and goes on to a
        // detector (intermediate or final) by MFT, it is cut to the central `npix` pixels
        // (only they reach the detector), and those groups' arrays are stored cut likewise.
        // Not before the final detector with "exit_pupil": it normalises over the whole
        // padded array after the last pupil optic, as POPPY does.
        let mut cut_group = vec![false; groups.len()];
        let mut to_mft = detector.is_some() && normalization != Normalization::ExitPupil;
        for (s, group) in groups.iter().enumerate().rev() {
            match group {
                Group::Image(..) => to_mft = false,
                Group::Detector(..) => to_mft = true,
                Group::Pupil(..) | Group::Aligner(..) => cut_group[s] = to_mft && group_padded[s],
            }
        }
        if cut_group.iter().any(|&c| c) {
            let o = pad_offset(n, npad);
            let cut = |a: &mut Option<Array2<f64>>| {
                if let Some(arr) = a.as_mut() {
                    *arr = arr.slice(s![o..o + n, o..o + n]).to_owned();
                }
            };
            for (group, _) in groups.iter_mut().zip(&cut_group).filter(|(_, &c)| c) {
                if let Group::Pupil(range, arrays) = group {
                    for g in pupil_groups.iter_mut().filter(|g| g.planes == *range) {
                        g.cut = true;
                    }
                    cut(&mut arrays.transmission);
                    cut(&mut arrays.opd);
                    cut(&mut arrays.phase);
                }
            }
        }
        let diameter = grid.diameter();
        let first_diameter = system.first_optic_diameter().unwrap_or(diameter);
        let kind_of = |r: &Range<usize>| planes[r.start].kind();

        // Compile the groups into steps, with the transforms between planes made explicit.
        let leading = planes.iter().take_while(|p| matches!(p, Plane::Pupil(_))).count();
        let mut entrance = None;
        let mut steps: Vec<Box<dyn Step>> = Vec::new();
        let mut final_mft = None;
        // The transform from an image plane (reached by MFT or not) back to the pupil; with
        // `last`, the FFT keeps only the central pupil.
        let back_to_pupil = |in_image: Option<bool>, last: bool| -> Option<Box<dyn Step>> {
            match in_image? {
                true => Some(Box::new(InverseMft { npix: n, m_per_px: grid.pixelscale() })),
                false => Some(Box::new(FftToPupil { npix: n, npad, diameter, oversample, last })),
            }
        };
        // Where the field is: `None` in a pupil plane, else whether the image was reached by
        // MFT.
        let mut in_image: Option<bool> = None;
        let mut corner = false;
        // "exit_pupil": after the group holding the last pupil-plane optic.
        let exit_pupil_group = (normalization == Normalization::ExitPupil)
            .then(|| {
                groups.iter().rposition(|g| matches!(g, Group::Pupil(..) | Group::Aligner(..)))
            })
            .flatten();
        for (s, group) in groups.into_iter().enumerate() {
            if matches!(group, Group::Pupil(..) | Group::Aligner(..)) {
                if let Some(step) = back_to_pupil(in_image.take(), cut_group[s]) {
                    steps.push(step);
                }
            }
            let (planes_of, image_plane) = match group {
                Group::Pupil(range, arrays) => {
                    let arrays = Arc::new(arrays);
                    if s == 0 && range == (0..leading) {
                        entrance = Some(Arc::clone(&arrays));
                    }
                    steps.push(Box::new(PupilOptics { planes: range.clone(), arrays }));
                    (range, false)
                }
                Group::Aligner(index, direction) => {
                    corner = direction == crate::AlignerDirection::Forward;
                    steps.push(Box::new(Aligner { plane: index, direction, diameter, oversample }));
                    (index..index + 1, false)
                }
                Group::Image(range, optics) => {
                    if let Mode::SemiAnalytic { half_box, box_px } = mode {
                        // The occulter step records its own box field.
                        steps.push(Box::new(SemiAnalyticOcculter {
                            kind: kind_of(&range),
                            planes: range,
                            optics,
                            npix: n,
                            diameter,
                            half_box,
                            box_px,
                        }));
                        continue;
                    }
                    if in_image.is_none() {
                        match mode {
                            Mode::MatrixFt { half_box, oversample: box_oversample } => {
                                steps.push(Box::new(MftToBox {
                                    npix: n,
                                    diameter,
                                    first_diameter,
                                    half_box,
                                    oversample: box_oversample,
                                }));
                                in_image = Some(true);
                            }
                            _ => {
                                steps.push(Box::new(FftToImage {
                                    npix: n,
                                    npad,
                                    diameter,
                                    oversample,
                                    corner,
                                }));
                                in_image = Some(false);
                            }
                        }
                    }
                    steps.push(Box::new(ImageOptics { planes: range.clone(), optics }));
                    (range, true)
                }
                Group::Detector(index, d, os) => {
                    steps.push(Box::new(DetectorMft::new(&d, os, n, diameter, false, true)));
                    in_image = Some(true);
                    (index..index + 1, true)
                }
            };
            if exit_pupil_group == Some(s) {
                steps.push(Box::new(Normalize));
            }
            steps.push(Box::new(RecordPlane {
                kind: kind_of(&planes_of),
                planes: planes_of,
                image_plane,
            }));
        }
        match &detector {
            Some(detector) => {
                if let Some(step) = back_to_pupil(in_image, false) {
                    steps.push(step);
                }
                let last = normalization == Normalization::Last;
                let mft = DetectorMft::new(detector, oversample, n, diameter, last, false);
                final_mft = Some(mft.clone());
                steps.push(Box::new(mft));
            }
            // The system ends on its last (FFT) image plane: that field is the output.
            None if normalization == Normalization::Last => steps.push(Box::new(Normalize)),
            None => {}
        }
        // The combined entrance-pupil arrays, for pictures and users: the first step's
        // arrays when that step holds every leading pupil optic, else sampled once more.
        let entrance_separate = entrance.is_none();
        let entrance =
            entrance.unwrap_or_else(|| Arc::new(sample_pupil(&planes[..leading], &grid)));
        // The optics' temporary arrays are freed: give them back before the workers start.
        diffract_parallel::release_free_memory();
        Ok(PsfPlan {
            grid,
            detector,
            oversample,
            steps,
            norm: match normalization {
                Normalization::First => first_intensity.sqrt().recip(),
                _ => 1.0,
            },
            normalization,
            entrance,
            entrance_separate,
            mfts: MftCache::with_capacity_bytes(MFT_CACHE_BYTES),
            mfts32: MftCache::with_capacity_bytes(MFT_CACHE_BYTES),
            fft_shape,
            ffts: Mutex::new(Vec::new()),
            ffts32: Mutex::new(Vec::new()),
            user_steps: false,
            scratch: Mutex::new(Vec::new()),
            planes: planes.to_vec(),
            padded_grid,
            pupil_groups,
            live: Vec::new(),
            final_mft,
            loop_state: Mutex::default(),
        })
    }

    fn mode(system: &OpticalSystem) -> Result<Mode, PropagationError> {
        let planes = system.planes();
        let Some(method) = system.coronagraph() else { return Ok(Mode::Fft) };
        let (name, half_box, oversample) = match *method {
            Coronagraph::SemiAnalytic { occulter_box_arcsec, oversample } => {
                ("semi_analytic", occulter_box_arcsec, oversample)
            }
            Coronagraph::MatrixFt { occulter_box_arcsec, oversample } => {
                ("matrix_ft", occulter_box_arcsec, oversample)
            }
        };
        if !(half_box.is_finite() && half_box > 0.0) {
            return Err(PropagationError::invalid(
                "occulter_box_arcsec",
                half_box,
                "must be a finite number > 0",
            ));
        }
        if !(1..=MAX_OVERSAMPLE).contains(&oversample) {
            return Err(PropagationError::invalid(
                "[coronagraph] oversample",
                oversample,
                "must be an integer from 1 to 64",
            ));
        }
        if let Some(i) = planes.iter().position(|p| matches!(p, Plane::FqpmAligner(_))) {
            return Err(layout_error(format!(
                "coronagraph method {name} cannot follow optic {} (fqpm_fft_aligner): an FQPM needs the FFT propagation; remove [coronagraph]",
                i + 1
            )));
        }
        let images: Vec<usize> =
            planes.iter().enumerate().filter(|(_, p)| p.is_image()).map(|(i, _)| i).collect();
        if images.is_empty() {
            return Err(layout_error(format!(
                "coronagraph method {name} needs an image-plane optic; this system has none"
            )));
        }
        match *method {
            Coronagraph::SemiAnalytic { .. } => {
                if images.len() != 1 {
                    return Err(layout_error(format!(
                        "coronagraph method semi_analytic needs exactly one image plane (the occulter); this system has {} (optics {})",
                        images.len(),
                        images.iter().map(|i| (i + 1).to_string()).collect::<Vec<_>>().join(", ")
                    )));
                }
                let Plane::Image(occulter) = &planes[images[0]] else { unreachable!() };
                match occulter.blocking_extent() {
                    Some(extent) if fits(extent, half_box) => {}
                    Some(extent) => {
                        return Err(layout_error(format!(
                            "coronagraph method semi_analytic: optic {} ({}) reaches {:.4}\" x {:.4}\" from the axis, beyond occulter_box_arcsec = {half_box}; enlarge the box",
                            images[0] + 1,
                            occulter.kind(),
                            extent.0,
                            extent.1
                        )))
                    }
                    None => {
                        return Err(layout_error(format!(
                            "coronagraph method semi_analytic needs an occulter of finite size; optic {} ({}) changes the light everywhere (use matrix_ft or no [coronagraph])",
                            images[0] + 1,
                            occulter.kind()
                        )))
                    }
                }
                let detector = system.detector().ok_or_else(|| {
                    PropagationError::System(
                        "the system has no detector; a [coronagraph] method needs one".into(),
                    )
                })?;
                Ok(Mode::SemiAnalytic {
                    half_box,
                    box_px: detector.pixelscale_arcsec() / oversample as f64,
                })
            }
            Coronagraph::MatrixFt { .. } => {
                for &i in &images {
                    let Plane::Image(o) = &planes[i] else { unreachable!() };
                    match o.transmitting_extent() {
                        Some(extent) if fits(extent, half_box) => {}
                        Some(extent) => {
                            return Err(layout_error(format!(
                                "coronagraph method matrix_ft: optic {} ({}) transmits out to {:.4}\" x {:.4}\" from the axis, beyond occulter_box_arcsec = {half_box}; enlarge the box",
                                i + 1,
                                o.kind(),
                                extent.0,
                                extent.1
                            )))
                        }
                        None => {
                            return Err(layout_error(format!(
                                "coronagraph method matrix_ft needs image-plane optics that transmit only inside the box; optic {} ({}) transmits everywhere (use semi_analytic or no [coronagraph])",
                                i + 1,
                                o.kind()
                            )))
                        }
                    }
                }
                Ok(Mode::MatrixFt { half_box, oversample })
            }
        }
    }

    /// The pupil sampling.
    pub fn grid(&self) -> &PupilGrid {
        &self.grid
    }

    /// The detector.
    pub fn detector(&self) -> Option<&Detector> {
        self.detector.as_ref()
    }

    /// Where the field is normalised to unit total intensity (POPPY's `normalize`).
    pub fn normalization(&self) -> Normalization {
        self.normalization
    }

    /// The precision a computation asked for `asked` runs in: [`Precision::Auto`] resolved
    /// for this plan (double precision with a semi-analytic occulter, else single).
    pub fn precision_for(&self, asked: Precision) -> Precision {
        asked.resolve(self.steps.iter().any(|s| s.name() == SemiAnalyticOcculter::NAME))
    }

    /// The plan's steps in order.
    pub fn steps(&self) -> &[Box<dyn Step>] {
        &self.steps
    }

    /// Inserts a step of one's own before step `index` (`steps().len()` appends; the last
    /// step is the transform to the detector). The step runs on every wavelength of every
    /// computation; the PSF is the intensity of the field after the last step, which must
    /// keep the detector's shape.
    ///
    /// # Errors
    ///
    /// [`PropagationError::Invalid`] for an index beyond the end.
    pub fn insert_step(
        &mut self,
        index: usize,
        step: Box<dyn Step>,
    ) -> Result<(), PropagationError> {
        if index > self.steps.len() {
            return Err(PropagationError::invalid(
                "step index",
                index,
                "must be at most the number of steps",
            ));
        }
        self.steps.insert(index, step);
        self.user_steps = true;
        let state = self.loop_state.get_mut().unwrap_or_else(|e| e.into_inner());
        state.reset();
        state.off = true;
        Ok(())
    }

    /// Replaces the optic of pupil plane `index` (0-based, as in the system) and resamples
    /// it alone: the MFT and FFT plans, the other optics' samples and the workers' buffers
    /// are kept. The next PSF is the one a new plan of the system with this optic would
    /// give, bit for bit (the optics of the plane's step are folded together in the same
    /// order).
    ///
    /// The first update of a plane samples the other optics of its step once more, one by
    /// one, and keeps them; later updates of that plane only sample the new optic. For a
    /// [`ContinuousDeformableMirror`] whose actuators change, [`PsfPlan::update_dm`] also
    /// keeps the mirror's sampling and is much faster.
    ///
    /// # Errors
    ///
    /// [`PropagationError::Invalid`] for an index that is not a pupil plane of the plan;
    /// [`PropagationError::System`] for a new first optic that changes the pupil's size or
    /// sampling (make a new plan) or transmits no light.
    pub fn update_optic(
        &mut self,
        index: usize,
        optic: Arc<dyn PupilOptic>,
    ) -> Result<(), PropagationError> {
        let group = self.updatable_group(index, optic.as_ref())?;
        let grid = *self.group_grid(&group);
        let cut = group.cut.then_some(self.grid.npix());
        let own = cut_arrays(
            PupilArrays {
                transmission: optic.transmission(&grid),
                opd: optic.opd(&grid),
                phase: optic.phase(&grid),
            },
            cut,
        );
        let norm = self.norm_with(index, own.transmission.as_ref())?;
        let live = self.live_plane(index, &group);
        self.live[live].dm = None;
        let combined = {
            let l = &self.live[live];
            fold_arrays(&l.before, refs(&own), &l.after)
        };
        self.install(index, &group, optic, combined, norm);
        Ok(())
    }

    /// Sets the optic of pupil plane `index` to the continuous deformable mirror `dm`,
    /// keeping the mirror's sampling on the plane's grid from one call to the next: when
    /// only the actuators changed since the last call, the OPD is two small matrix products
    /// and the plane's step is recombined from kept arrays. This is the call of a
    /// wavefront-control loop:
    ///
    /// ```
    /// use diffract_optics::{CircularAperture, ContinuousDeformableMirror};
    /// use diffract_propagation::{ComputeOptions, Detector, OpticalSystem, Source};
    ///
    /// let mut dm = ContinuousDeformableMirror::new(8, 8, None, 1.0).unwrap();
    /// let mut system = OpticalSystem::new("loop", 64, 2);
    /// system.add_pupil(CircularAperture::new(1.0).unwrap());
    /// system.add_pupil(dm.clone());
    /// system.set_detector(Detector::with_fov_pixels(0.1, 16).unwrap());
    /// let mut plan = system.plan().unwrap();
    /// let (source, opts) = (Source::monochromatic(1e-6).unwrap(), ComputeOptions::default());
    /// for k in 0..4 {
    ///     dm.set_actuator(k, k, 20e-9).unwrap();
    ///     plan.update_dm(1, &dm).unwrap();
    ///     let psf = plan.compute(&source, &opts).unwrap();
    ///     assert!(psf.image.sum() < 1.0);
    /// }
    /// ```
    ///
    /// The plan's arrays are those of [`PsfPlan::update_optic`] with the mirror (and of a
    /// new plan), bit for bit. A mirror of another geometry (actuator grid, spacing,
    /// radius, influence function, flips, factor of two) is sampled afresh.
    ///
    /// When the mirror's step feeds the detector's MFT directly (no image plane after it,
    /// no "last" normalisation, no inserted step), the next [`PsfPlan::compute`] of the
    /// same source and options follows the change by itself: the last computation's fields
    /// are kept, and only the window of the pupil where the OPD changed is transformed and
    /// added. That PSF equals a new plan's up to rounding (within 1e-12 relative L2 in the
    /// tests), not bit for bit; a full computation is made again after 64 changes, and
    /// whenever the changes cover more than half the pupil.
    ///
    /// # Errors
    ///
    /// As [`PsfPlan::update_optic`].
    pub fn update_dm(
        &mut self,
        index: usize,
        dm: &ContinuousDeformableMirror,
    ) -> Result<(), PropagationError> {
        let group = self.updatable_group(index, dm)?;
        let cut = group.cut.then_some(self.grid.npix());
        let live = self.live_plane(index, &group);
        let mut geometry = dm.clone();
        geometry.flatten();
        if self.live[live].dm.as_ref().is_none_or(|d| d.geometry != geometry) {
            let grid = self.group_grid(&group);
            let n = grid.npix();
            let kept = LiveDm {
                sampling: dm.sampling(grid),
                transmission: cut_array(PupilOptic::transmission(dm, grid), cut),
                phase: cut_array(PupilOptic::phase(dm, grid), cut),
                geometry,
                opd_full: Array2::zeros((n, n)),
                opd: Array2::zeros(cut.map_or((n, n), |c| (c, c))),
                installed: None,
            };
            self.live[live].dm = Some(kept);
        }
        let norm = {
            let d = self.live[live].dm.as_ref().expect("kept above");
            self.norm_with(index, d.transmission.as_ref())?
        };
        // The arrays of the last update, unshared: only their OPD changes (the mirror's
        // transmission and phase, and the other optics' arrays, are those folded last time).
        let previous = self.take_installed(live, &group);
        // A control loop's next PSF can follow the change of the step's OPD by itself.
        // (Taken out while the step is replaced, which forgets the kept fields; put back
        // with the change when it could be followed.)
        let tracked = self.loop_planes().as_ref() == Some(&group.planes);
        let mut state = control_loop::LoopState::default();
        if tracked {
            std::mem::swap(
                &mut state,
                self.loop_state.get_mut().unwrap_or_else(|e| e.into_inner()),
            );
        }
        let old_opd = match previous.as_ref().and_then(|a| a.opd.as_ref()) {
            Some(opd) if tracked => Some(state.copy_opd(opd)),
            _ => None,
        };
        let l = &mut self.live[live];
        let d = l.dm.as_mut().expect("kept above");
        let alone =
            cut.is_none() && l.before.opd.is_none() && l.after.iter().all(|a| a.opd.is_none());
        let (combined, written) = match previous {
            // The mirror's OPD is the step's: written straight into the step's array.
            Some(mut arrays) if alone && arrays.opd.is_some() => {
                let written = d.sampling.opd_into(dm, arrays.opd.as_mut().expect("checked"));
                (Some(arrays), written)
            }
            previous => match d.sampling.opd_into(dm, &mut d.opd_full) {
                Err(e) => (previous, Err(e)),
                Ok(()) => {
                    if cut.is_some() {
                        let o = pad_offset(d.opd.nrows(), d.opd_full.nrows());
                        let m = d.opd.nrows();
                        d.opd.assign(&d.opd_full.slice(s![o..o + m, o..o + m]));
                    } else {
                        std::mem::swap(&mut d.opd, &mut d.opd_full);
                    }
                    let combined = match previous {
                        Some(mut arrays) => {
                            fold_opd_into(&mut arrays, &l.before, &d.opd, &l.after);
                            arrays
                        }
                        None => fold_arrays(
                            &l.before,
                            (d.transmission.as_ref(), Some(&d.opd), d.phase.as_ref()),
                            &l.after,
                        ),
                    };
                    if cut.is_none() {
                        std::mem::swap(&mut d.opd, &mut d.opd_full);
                    }
                    (Some(combined), Ok(()))
                }
            },
        };
        if let Some(arrays) = combined {
            // On failure the arrays taken out are put back as they were, with the old optic.
            let (optic, norm) = match (&written, &self.planes[index]) {
                (Err(_), Plane::Pupil(old)) => (Arc::clone(old), self.norm),
                _ => (Arc::new(dm.clone()) as Arc<dyn PupilOptic>, norm),
            };
            let installed = self.install(index, &group, optic, arrays, norm);
            if let (Some(old), Some(new), Ok(())) = (old_opd, installed.opd.as_ref(), &written) {
                state.push_change(old, new);
                *self.loop_state.get_mut().unwrap_or_else(|e| e.into_inner()) = state;
            }
            if let Some(d) = self.live[live].dm.as_mut() {
                d.installed = Some(installed);
            }
        }
        written.map_err(|e| PropagationError::System(e.to_string()))
    }

    /// The arrays installed by the last [`PsfPlan::update_dm`] of live plane `live`, taken
    /// out of its step (and of the entrance, when shared) so that they are no longer
    /// shared (copied if something else still holds them); `None` when there are none. The
    /// step is left with empty arrays until the next [`PsfPlan::install`].
    fn take_installed(&mut self, live: usize, group: &PupilGroup) -> Option<PupilArrays> {
        let arrays = self.live[live].dm.as_mut()?.installed.take()?;
        let empty = Arc::new(PupilArrays { transmission: None, opd: None, phase: None });
        if let Some(step) = self
            .steps
            .iter_mut()
            .find(|s| s.name() == PupilOptics::NAME && s.planes().as_ref() == Some(&group.planes))
        {
            *step =
                Box::new(PupilOptics { planes: group.planes.clone(), arrays: Arc::clone(&empty) });
        }
        if Arc::ptr_eq(&self.entrance, &arrays) {
            self.entrance = empty;
        }
        Some(Arc::try_unwrap(arrays).unwrap_or_else(|shared| PupilArrays {
            transmission: shared.transmission.clone(),
            opd: shared.opd.clone(),
            phase: shared.phase.clone(),
        }))
    }

    /// The group of pupil plane `index`, checking that `optic` may replace its optic.
    fn updatable_group(
        &self,
        index: usize,
        optic: &dyn PupilOptic,
    ) -> Result<PupilGroup, PropagationError> {
        let group = self.pupil_groups.iter().find(|g| g.planes.contains(&index));
        let (Some(group), Some(Plane::Pupil(old))) = (group, self.planes.get(index)) else {
            return Err(PropagationError::invalid(
                "plane index",
                index,
                "must be a pupil plane of the plan",
            ));
        };
        if index == 0
            && (old.natural_diameter() != optic.natural_diameter()
                || old.natural_npix() != optic.natural_npix())
        {
            return Err(PropagationError::System(format!(
                "the new first optic ({}) would change the pupil's size or sampling; make a new plan",
                optic.kind()
            )));
        }
        Ok(group.clone())
    }

    /// The grid the optics of `group` are sampled on.
    fn group_grid(&self, group: &PupilGroup) -> &PupilGrid {
        if group.padded {
            &self.padded_grid
        } else {
            &self.grid
        }
    }

    /// The input amplitude with a new optic of transmission `t` in plane `index`.
    fn norm_with(&self, index: usize, t: Option<&Array2<f64>>) -> Result<f64, PropagationError> {
        if index != 0 {
            return Ok(self.norm);
        }
        let n = self.grid.npix();
        let intensity = t.map_or((n * n) as f64, |t| t.iter().map(|v| v * v).sum());
        if intensity <= 0.0 {
            return Err(PropagationError::System(format!(
                "the first optic ({}) transmits no light on this pupil grid",
                self.planes[0].kind()
            )));
        }
        Ok(intensity.sqrt().recip())
    }

    /// The kept state of plane `index`, made on its first update: the other optics of its
    /// step sampled one by one.
    fn live_plane(&mut self, index: usize, group: &PupilGroup) -> usize {
        if let Some(i) = self.live.iter().position(|l| l.index == index) {
            return i;
        }
        let grid = *self.group_grid(group);
        let cut = group.cut.then_some(self.grid.npix());
        let planes = &self.planes;
        let before = cut_arrays(sample_pupil(&planes[group.planes.start..index], &grid), cut);
        let after = (index + 1..group.planes.end)
            .map(|i| cut_arrays(sample_pupil(&planes[i..i + 1], &grid), cut))
            .collect();
        self.live.push(LivePlane { index, before, after, dm: None });
        self.live.len() - 1
    }

    /// Puts `optic` in plane `index` and `arrays` (its step's combined arrays) in its step;
    /// returns the arrays as shared with the step.
    fn install(
        &mut self,
        index: usize,
        group: &PupilGroup,
        optic: Arc<dyn PupilOptic>,
        arrays: PupilArrays,
        norm: f64,
    ) -> Arc<PupilArrays> {
        self.planes[index] = Plane::Pupil(optic);
        self.norm = norm;
        self.loop_state.get_mut().unwrap_or_else(|e| e.into_inner()).reset();
        // Arrays kept by earlier updates are no longer the ones in use.
        for d in self.live.iter_mut().filter_map(|l| l.dm.as_mut()) {
            d.installed = None;
        }
        let arrays = Arc::new(arrays);
        let planes = group.planes.clone();
        if let Some(step) = self
            .steps
            .iter_mut()
            .find(|s| s.name() == PupilOptics::NAME && s.planes().as_ref() == Some(&planes))
        {
            *step = Box::new(PupilOptics { planes: planes.clone(), arrays: Arc::clone(&arrays) });
        }
        let leading = self.planes.iter().take_while(|p| matches!(p, Plane::Pupil(_))).count();
        if index < leading {
            self.entrance = if planes == (0..leading) {
                Arc::clone(&arrays)
            } else {
                Arc::new(sample_pupil(&self.planes[..leading], &self.grid))
            };
        }
        arrays
    }

    /// The combined amplitude transmission of the optics before the first image plane.
    pub fn transmission(&self) -> Array2<f64> {
        self.entrance
            .transmission
            .clone()
            .unwrap_or_else(|| Array2::ones((self.grid.npix(), self.grid.npix())))
    }

    /// The combined OPD (metres) of the optics before the first image plane, if any.
    pub fn opd(&self) -> Option<&Array2<f64>> {
        self.entrance.opd.as_ref()
    }

    /// Oversampled output pixels across (rows, for a rectangular detector).
    pub fn output_npix(&self) -> usize {
        self.output_shape().0
    }

    /// Oversampled output pixels (rows along Y, columns along X); without a detector, the
    /// zero-padded FFT image.
    pub fn output_shape(&self) -> (usize, usize) {
        match &self.detector {
            Some(d) => {
                let (ny, nx) = d.fov_shape();
                (ny * self.oversample, nx * self.oversample)
            }
            None => {
                let npad = self.grid.npix() * self.oversample;
                (npad, npad)
            }
        }
    }

    /// Memory one wavelength needs while it runs with the default options, in bytes: the
    /// detector transform's buffers, kept for the whole wavelength, and the largest of the
    /// other steps' (their buffers are reused from one step to the next).
    pub fn bytes_per_wavelength(&self) -> u64 {
        self.bytes_per_wavelength_with(&ComputeOptions::default())
    }

    /// As [`PsfPlan::bytes_per_wavelength`], for a computation (without records) with
    /// `opts`: a zero-padded image plane held in single precision counts 8 bytes a pixel
    /// instead of 16.
    pub fn bytes_per_wavelength_with(&self, opts: &ComputeOptions) -> u64 {
        let single = self.precision_for(opts.precision) == Precision::F32
            && opts.fft != FftBackend::Fftw
            && self.fft_planes_in_single();
        let padded_half = self.fft_shape.map_or(0, |(py, px)| (py * px * 8) as u64);
        let working = |s: &dyn Step| {
            let w = s.memory().working;
            if single && s.name() == FftToImage::NAME {
                w.saturating_sub(padded_half)
            } else {
                w
            }
        };
        let (last, others) = self.steps.split_last().expect("a plan ends on the detector");
        working(last.as_ref()) + others.iter().map(|s| working(s.as_ref())).max().unwrap_or(0)
    }

    /// Memory held by the plan itself (sampled pupil arrays, and the MFT plans it may cache),
    /// in bytes.
    pub fn bytes_resident(&self) -> u64 {
        let entrance = if self.entrance_separate { self.entrance.bytes() } else { 0 };
        self.steps.iter().map(|s| s.memory().resident).sum::<u64>() + entrance + MFT_CACHE_BYTES
    }

    /// The schedule a computation of `n_wavelengths` would use.
    ///
    /// # Errors
    ///
    /// [`PropagationError::FftwThreads`] when FFTW threads and several workers are both
    /// asked for.
    pub fn schedule(
        &self,
        n_wavelengths: usize,
        opts: &ComputeOptions,
    ) -> Result<Schedule, PropagationError> {
        schedule_for(n_wavelengths, self.bytes_per_wavelength_with(opts), opts)
    }

    /// The wavefront entering the system at `wavelength` metres from `source`: unit
    /// amplitude (scaled for "first" normalisation), with the source offset as a tilt, on
    /// the entrance-pupil grid.
    ///
    /// # Errors
    ///
    /// [`PropagationError::Invalid`] for a wavelength that is not finite and > 0.
    pub fn input_wavefront(
        &self,
        wavelength: f64,
        source: &Source,
    ) -> Result<Wavefront, PropagationError> {
        self.entrance_wavefront(wavelength, source, &mut Scratch::new())
    }

    /// As [`PsfPlan::input_wavefront`], the field's storage lent by `scratch`.
    fn entrance_wavefront(
        &self,
        wavelength: f64,
        source: &Source,
        scratch: &mut Scratch,
    ) -> Result<Wavefront, PropagationError> {
        if !(wavelength.is_finite() && wavelength > 0.0) {
            return Err(PropagationError::invalid(
                "wavelength_m",
                wavelength,
                "must be a finite number > 0",
            ));
        }
        let n = self.grid.npix();
        let (tx, ty) = source.tilt_arcsec();
        let value = Complex64::new(self.norm, 0.0);
        let mut field =
            Array2::from_shape_vec((n, n), scratch.take_filled(n * n, value)).expect("n^2 values");
        let centre = (n as f64 - 1.0) / 2.0;
        if tx != 0.0 || ty != 0.0 {
            tilt(
                &mut field,
                self.grid.pixelscale(),
                centre,
                tx / ARCSEC_PER_RAD,
                ty / ARCSEC_PER_RAD,
                wavelength,
            );
        }
        Ok(Wavefront::new(
            field,
            wavelength,
            Sampling::Pupil { m_per_px: self.grid.pixelscale(), centre },
        ))
    }

    /// Runs one wavelength of `source` step by step (POPPY's `propagate` with
    /// `return_intermediates`), calling `inspect` with each step's index, the step and the
    /// wavefront after it; returns the wavefront on the detector (its intensity is the
    /// monochromatic PSF, before any jitter). Plan with [`PsfPlan::new_plane_by_plane`] to
    /// see every plane on its own. The planes shown are in double precision: in single
    /// precision, [`PsfPlan::compute`] holds a coronagraph's FFT image plane in single
    /// precision between its two FFTs, so the two agree within [`AUTO_BOUND`] (bit for bit
    /// in double precision).
    ///
    /// # Errors
    ///
    /// As [`PsfPlan::compute`], and [`PropagationError::Invalid`] for a bad wavelength.
    pub fn propagate(
        &self,
        wavelength: f64,
        source: &Source,
        opts: &ComputeOptions,
        inspect: impl FnMut(usize, &dyn Step, &Wavefront),
    ) -> Result<Wavefront, PropagationError> {
        let input = self.input_wavefront(wavelength, source)?;
        self.propagate_wavefront(input, opts, inspect)
    }

    /// As [`PsfPlan::propagate`], from a wavefront of one's own (POPPY's `propagate` given a
    /// `Wavefront`): a field in the entrance pupil, on this plan's grid. Its amplitude is
    /// taken as it is (no normalisation is applied).
    ///
    /// # Errors
    ///
    /// [`PropagationError::System`] for a wavefront that is not a pupil-plane field of the
    /// plan's shape and pixel scale (to 1e-9), or a non-positive wavelength; else as
    /// [`PsfPlan::compute`].
    pub fn propagate_wavefront(
        &self,
        mut wf: Wavefront,
        opts: &ComputeOptions,
        mut inspect: impl FnMut(usize, &dyn Step, &Wavefront),
    ) -> Result<Wavefront, PropagationError> {
        let n = self.grid.npix();
        let scale = self.grid.pixelscale();
        let fits_grid = match wf.sampling {
            Sampling::Pupil { m_per_px, .. } => (m_per_px / scale - 1.0).abs() <= 1e-9,
            _ => false,
        };
        if wf.field.dim() != (n, n) || !fits_grid {
            return Err(PropagationError::System(format!(
                "the input wavefront must be a pupil-plane field of {n} x {n} samples of {scale} m; got {:?} samples of {} {}",
                wf.field.dim(),
                wf.sampling.pixelscale(),
                wf.sampling.unit()
            )));
        }
        if !(wf.wavelength.is_finite() && wf.wavelength > 0.0) {
            return Err(PropagationError::invalid(
                "wavelength_m",
                wf.wavelength,
                "must be a finite number > 0",
            ));
        }
        let gemm = opts.gemm.ensure_compiled()?;
        let fft = self.fft_plan(opts.fft.ensure_compiled()?, opts.fftw_threads)?;
        let schedule = self.schedule(1, opts)?;
        let exec = self.exec(
            gemm,
            schedule.kernel_par,
            self.precision_for(opts.precision),
            fft.as_deref(),
        );
        let mut scratch = self.take_scratch();
        let result = self.apply_steps(&mut wf, &exec, &mut scratch, &mut inspect);
        self.return_scratch(scratch);
        result.map(|()| wf)
    }

    /// Applies every step in order to `wf`, calling `inspect` after each.
    fn apply_steps(
        &self,
        wf: &mut Wavefront,
        exec: &Exec<'_>,
        scratch: &mut Scratch,
        mut inspect: impl FnMut(usize, &dyn Step, &Wavefront),
    ) -> Result<(), PropagationError> {
        for (i, step) in self.steps.iter().enumerate() {
            step.apply(wf, exec, scratch)?;
            inspect(i, step.as_ref(), wf);
        }
        Ok(())
    }

    fn exec<'a>(
        &'a self,
        gemm: GemmBackend,
        par: Par,
        precision: Precision,
        fft: Option<&'a Fft2d<f64>>,
    ) -> Exec<'a> {
        Exec { gemm, par, precision, fft, fft32: None, mfts: &self.mfts, mfts32: &self.mfts32 }
    }

    /// Whether every FFT image plane can be held in single precision between its two FFTs:
    /// each FFT to an image is followed by the plan's own image optics (and plane records)
    /// and then an FFT back to a pupil, with no step of a user's in between and no output
    /// on the image plane; and every image optic acts in a box (occulters, spots, field
    /// stops). A mask over the whole plane (band-limited, phase masks) is made to null the
    /// light, and the rounding of a single-precision plane then dominates what is left
    /// (6.9e-5 relative L2 on the linear band-limited reference scene, against 5e-7 for
    /// the Lyot occulter's): such planes stay in double precision.
    fn fft_planes_in_single(&self) -> bool {
        let boxed = self.planes.iter().all(|p| match p {
            Plane::Image(o) => o.blocking_extent().is_some() || o.transmitting_extent().is_some(),
            _ => true,
        });
        if !boxed {
            return false;
        }
        let names: Vec<&str> = self.steps.iter().map(|s| s.name()).collect();
        let mut i = 0;
        let mut any = false;
        while i < names.len() {
            if names[i] == FftToImage::NAME {
                any = true;
                i += 1;
                while i < names.len()
                    && (names[i] == ImageOptics::NAME || names[i] == RecordPlane::NAME)
                {
                    i += 1;
                }
                if names.get(i) != Some(&FftToPupil::NAME) {
                    return false;
                }
            }
            i += 1;
        }
        any && !self.user_steps
    }

    /// The single-precision FFT plan when a computation without records runs in single
    /// precision with rustfft and its FFT image planes can be held in single precision (see
    /// [`PsfPlan::fft_planes_in_single`]).
    fn fft32_plan(
        &self,
        precision: Precision,
        record: bool,
        backend: FftBackend,
        fftw_threads: usize,
    ) -> Result<Option<Arc<Fft2d<f32>>>, PropagationError> {
        let Some(shape) = self.fft_shape else { return Ok(None) };
        // FFTW's plans here are double precision only.
        let fftw = backend == FftBackend::Fftw;
        if precision != Precision::F32 || record || fftw || !self.fft_planes_in_single() {
            return Ok(None);
        }
        cached_fft(&self.ffts32, shape, backend, fftw_threads).map(Some)
    }

    /// Scratch memory left by an earlier worker, or new.
    fn take_scratch(&self) -> Scratch {
        self.scratch.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or_default()
    }

    fn return_scratch(&self, mut scratch: Scratch) {
        scratch.records = None;
        scratch.record_fields = false;
        self.scratch.lock().unwrap_or_else(|e| e.into_inner()).push(scratch);
    }

    /// Runs every step for one wavelength and returns the detector intensity, and with
    /// `keep` the field entering the last step and the detector field (for a control loop).
    fn run_wavelength(
        &self,
        wavelength: f64,
        source: &Source,
        exec: &Exec<'_>,
        scratch: &mut Scratch,
        keep: bool,
    ) -> Result<(Array2<f64>, Option<KeptPair>), PropagationError> {
        let mut wf = self.entrance_wavefront(wavelength, source, scratch)?;
        let before_last = self.steps.len().saturating_sub(2);
        let mut entering = None;
        self.apply_steps(&mut wf, exec, scratch, |i, _, wf| {
            if keep && i == before_last {
                entering = Some(wf.field.clone());
            }
        })?;
        let (ny, nx) = self.output_shape();
        if wf.field.dim() != (ny, nx) {
            return Err(PropagationError::System(format!(
                "the last step left a {:?} field; the detector needs {ny} x {nx}",
                wf.field.dim()
            )));
        }
        let image = wf.field.mapv(|z| z.norm_sqr());
        if scratch.record_fields {
            if self.detector.is_some() {
                scratch.record(Recorded {
                    planes: self.planes.len()..self.planes.len() + 1,
                    kind: "detector",
                    image_plane: true,
                    field: wf.field.clone(),
                    pixelscale: wf.sampling.pixelscale(),
                    z_m: None,
                });
            } else if let Some(last) = scratch.records.as_mut().and_then(|r| r.last_mut()) {
                // The system ends on its last image plane: the output is that plane's
                // field, after any normalisation that follows the record.
                if last.field.dim() == wf.field.dim() {
                    last.field.assign(&wf.field);
                }
            }
        }
        let kept = match entering {
            Some(e) => Some((e, wf.field)),
            None => {
                // Its storage serves the next wavelength's fields.
                scratch.give_back_field(wf.field);
                None
            }
        };
        Ok((image, kept))
    }

    /// The FFT plan for `backend` with `fftw_threads`, made on first use.
    fn fft_plan(
        &self,
        backend: FftBackend,
        fftw_threads: usize,
    ) -> Result<Option<Arc<Fft2d<f64>>>, PropagationError> {
        let Some(shape) = self.fft_shape else { return Ok(None) };
        cached_fft(&self.ffts, shape, backend, fftw_threads).map(Some)
    }

    /// The polychromatic PSF of `source`: monochromatic PSFs weighted by the normalised
    /// weights and summed in wavelength order, so the result does not depend on the number
    /// of workers; then the detector's jitter, if any.
    ///
    /// # Errors
    ///
    /// [`PropagationError::Memory`] when the chosen workers would need more memory than is
    /// free, and [`PropagationError::Transform`] for a backend missing from this build.
    pub fn compute(&self, source: &Source, opts: &ComputeOptions) -> Result<Psf, PropagationError> {
        let (psf, _) = self.run(source, opts, Record::Off)?;
        Ok(psf)
    }

    /// As [`PsfPlan::compute`], and also the intensity after every plane (summed over
    /// wavelengths with their weights; the phase too for a single wavelength).
    ///
    /// # Errors
    ///
    /// As [`PsfPlan::compute`].
    pub fn compute_with_planes(
        &self,
        source: &Source,
        opts: &ComputeOptions,
    ) -> Result<(Psf, Vec<PlaneImage>), PropagationError> {
        self.run(source, opts, Record::Planes)
    }

    /// As [`PsfPlan::compute_with_planes`], each plane with its complex field (the fields of
    /// the wavelengths weighted and summed, as POPPY's `return_intermediates`), and the
    /// field on the final detector as the last plane (index: the number of optics; kind
    /// `"detector"`). Plan with [`PsfPlan::new_plane_by_plane`] to see every optic alone.
    ///
    /// # Errors
    ///
    /// As [`PsfPlan::compute`].
    pub fn compute_with_fields(
        &self,
        source: &Source,
        opts: &ComputeOptions,
    ) -> Result<(Psf, Vec<PlaneImage>), PropagationError> {
        self.run(source, opts, Record::Fields)
    }

    fn run(
        &self,
        source: &Source,
        opts: &ComputeOptions,
        mode: Record,
    ) -> Result<(Psf, Vec<PlaneImage>), PropagationError> {
        let gemm = opts.gemm.ensure_compiled()?;
        let fft_backend = opts.fft.ensure_compiled()?;
        let record = mode != Record::Off;
        if !record {
            if let Some(psf) = self.loop_compute(source, opts, gemm)? {
                return Ok((psf, Vec::new()));
            }
        }
        let keep = !record && self.keeps_fields();
        let wavelengths = source.wavelengths();
        let weights = source.normalized_weights();
        let schedule = self.schedule(wavelengths.len(), opts)?;
        self.check_memory(schedule.workers, opts)?;
        let fft = self.fft_plan(fft_backend, opts.fftw_threads)?;
        type Result1 = (Array2<f64>, Option<KeptPair>, Option<Vec<Recorded>>);
        let precision = self.precision_for(opts.precision);
        let fft32 = self.fft32_plan(precision, record, fft_backend, opts.fftw_threads)?;
        let one = |wl: f64, par: Par| -> Result<Result1, PropagationError> {
            let exec =
                Exec { fft32: fft32.as_deref(), ..self.exec(gemm, par, precision, fft.as_deref()) };
            let _done = ProgressGuard(opts.on_wavelength_done.as_ref());
            let mut scratch = self.take_scratch();
            scratch.records = record.then(Vec::new);
            scratch.record_fields = mode == Record::Fields;
            let image = self.run_wavelength(wl, source, &exec, &mut scratch, keep);
            let records = scratch.records.take();
            self.return_scratch(scratch);
            let (image, kept) = image?;
            Ok((image, kept, records))
        };
        let mut total: Option<Array2<f64>> = None;
        let mut kept = Vec::with_capacity(if keep { wavelengths.len() } else { 0 });
        let mut plane_images: Vec<PlaneImage> = Vec::new();
        let with_phase = wavelengths.len() == 1;
        // Wavelengths in chunks of one per worker, each chunk's intensities added in
        // wavelength order before the next chunk starts: the sums of all at once, bit for
        // bit, while at most one intensity per worker is held.
        let chunk = schedule.workers.max(1);
        let mut w_index = 0;
        for (wls, ws) in wavelengths.chunks(chunk).zip(weights.chunks(chunk)) {
            let results: Vec<Result1> =
                map_ordered(&schedule, wls, |_, &wl, par| one(wl, par)).map_err(|e| e.source)?;
            for ((img, pair, records), w) in results.into_iter().zip(ws) {
                add_weighted(&mut total, img, *w);
                kept.extend(pair);
                add_records(&mut plane_images, records, *w, mode, with_phase, w_index == 0);
                w_index += 1;
            }
        }
        if keep && kept.len() == wavelengths.len() {
            self.keep_fields(source, opts, gemm, kept);
        }
        let psf = self.assemble(total, source, opts, gemm, fft_backend, schedule.workers);
        Ok((psf, plane_images))
    }

    /// The PSF from each wavelength's detector intensity: weighted by the normalised weights
    /// and summed in wavelength order, then the detector's jitter.
    fn assemble(
        &self,
        total: Option<Array2<f64>>,
        source: &Source,
        opts: &ComputeOptions,
        gemm: GemmBackend,
        fft_backend: FftBackend,
        workers: usize,
    ) -> Psf {
        let wavelengths = source.wavelengths();
        let weights = source.normalized_weights();
        let total = total.unwrap_or_else(|| Array2::zeros(self.output_shape()));
        let lam_d = lam_d_arcsec(wavelengths[0], self.grid.diameter());
        // Without a detector the FFT image's pixel is lambda / (D oversample) of the first
        // wavelength (POPPY's PIXELSCL; the wavelengths are summed pixel by pixel as POPPY
        // sums them).
        let (pixelscale_arcsec, fov_arcsec) = match &self.detector {
            Some(d) => (d.pixelscale_arcsec() / self.oversample as f64, d.fov_arcsec()),
            None => {
                let px = lam_d / self.oversample as f64;
                (px, px * self.output_npix() as f64)
            }
        };
        let mut psf = Psf {
            image: total,
            pixelscale_arcsec,
            oversample: self.oversample,
            fov_arcsec,
            wavelengths: wavelengths.to_vec(),
            weights,
            mean_wavelength: source.mean_wavelength(),
            diffraction_limit_arcsec: lam_d,
            pupil_diameter: self.grid.diameter(),
            gemm,
            fft: fft_backend,
            precision: self.precision_for(opts.precision),
            workers,
            jitter: None,
            fresnel: None,
        };
        if let Some(sigma) = self.detector.as_ref().and_then(Detector::jitter_sigma_arcsec) {
            psf.apply_jitter(sigma);
        }
        psf
    }

    /// Refuses, before any array is allocated, a system whose sampled optics and one
    /// wavelength's arrays would not fit in the free memory. `pupil_planes` counts the pupil
    /// optics on the entrance grid (`n` pixels) and on the zero-padded grid (`npad`: after an
    /// FFT image plane).
    fn check_memory_before_sampling(
        pupil_planes: (usize, usize),
        n: usize,
        npad: usize,
        fft: bool,
        out: usize,
    ) -> Result<(), PropagationError> {
        let (n, npad, out) = (n as u64, npad as u64, out as u64);
        let grid = if fft { npad } else { n };
        let largest = if pupil_planes.1 > 0 { npad } else { n };
        // One array per optic as sampled and combined, plus three more of the largest grid
        // while one optic's arrays join the combined ones; then one wavelength: the field
        // (padded for FFTs), MFT scratch and output.
        let optics = (pupil_planes.0 as u64 * n * n
            + pupil_planes.1 as u64 * npad * npad
            + 3 * largest * largest)
            * 8;
        let wavelength = grid * grid * 16 + 3 * out * n * 16 + out * out * 24;
        fits_in_memory(optics + wavelength)
    }

    fn check_memory(&self, workers: usize, opts: &ComputeOptions) -> Result<(), PropagationError> {
        fits_in_memory(
            self.bytes_per_wavelength_with(opts) * workers as u64 + self.bytes_resident(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diffract_optics::{CircularAperture, CircularOcculter, PupilOptic};

    fn lyot() -> OpticalSystem {
        let mut system = OpticalSystem::new("lyot", 32, 2);
        system.add_pupil(CircularAperture::new(1.0).unwrap());
        system.add_image(CircularOcculter::new(0.2).unwrap());
        system.add_pupil(CircularAperture::new(0.9).unwrap());
        system.set_detector(Detector::with_fov_pixels(0.05, 16).unwrap());
        system
    }

    /// Reference: the DFT is unitary. An intermediate detector of npix pixels of lambda/D
    /// (the MFT's whole period) followed by the inverse MFT returns the pupil field, so the
    /// PSF is the one without it to 1e-12 relative L2; with an occulter on its pixels the
    /// light is removed where the occulter sits.
    #[test]
    fn an_intermediate_detector_over_the_whole_period_changes_nothing() {
        let (n, wl) = (32, 1e-6);
        let lam_d = wl / 1.0 * ARCSEC_PER_RAD;
        let plain = {
            let mut s = OpticalSystem::new("plain", n, 2);
            s.add_pupil(CircularAperture::new(0.5).unwrap());
            s.add_pupil(CircularAperture::new(0.45).unwrap());
            s.set_pupil_diameter(1.0);
            s.set_detector(Detector::with_fov_pixels(lam_d / 4.0, 24).unwrap());
            s
        };
        let mut with_detector = OpticalSystem::new("mid", n, 2);
        with_detector.add_pupil(CircularAperture::new(0.5).unwrap());
        with_detector
            .add_intermediate_detector(Detector::with_fov_pixels(lam_d, n).unwrap(), Some(1));
        with_detector.add_pupil(CircularAperture::new(0.45).unwrap());
        with_detector.set_pupil_diameter(1.0);
        with_detector.set_detector(Detector::with_fov_pixels(lam_d / 4.0, 24).unwrap());
        let source = Source::monochromatic(wl).unwrap();
        let opts = ComputeOptions::default().with_precision(Precision::F64);
        let a = plain.plan().unwrap().compute(&source, &opts).unwrap().image;
        let b = with_detector.plan().unwrap().compute(&source, &opts).unwrap().image;
        let diff: f64 = a.iter().zip(&b).map(|(x, y)| (x - y).powi(2)).sum();
        let norm: f64 = a.iter().map(|x| x * x).sum();
        assert!((diff / norm).sqrt() < 1e-12, "{}", (diff / norm).sqrt());

        let mut planes = with_detector.planes().to_vec();
        planes.insert(2, Plane::Image(Arc::new(CircularOcculter::new(2.0 * lam_d).unwrap())));
        let occulted = {
            let mut s = OpticalSystem::new("occulted", n, 2);
            for p in planes {
                s.add_plane(p);
            }
            s.set_pupil_diameter(1.0);
            s.set_detector(Detector::with_fov_pixels(lam_d / 4.0, 24).unwrap());
            s
        };
        let c = occulted.plan().unwrap().compute(&source, &opts).unwrap().image;
        assert!(c.sum() < 0.2 * a.sum(), "{} {}", c.sum(), a.sum());
    }

    /// "none" is "first" times the first optic's total intensity; "last" sums to 1 on the
    /// detector; "exit_pupil" normalises after the last pupil optic (a step before its
    /// record); the semi-analytic method refuses "exit_pupil" and "none".
    #[test]
    fn the_normalisations_scale_as_poppy_defines_them() {
        let source = Source::monochromatic(1e-6).unwrap();
        let opts = ComputeOptions::default().with_cores(1).with_precision(Precision::F64);
        let psf_of = |n: Normalization| {
            let mut system = lyot();
            system.set_normalization(n);
            let plan = system.plan().unwrap();
            assert_eq!(plan.normalization(), n);
            plan.compute(&source, &opts).unwrap().image
        };
        let first = psf_of(Normalization::First);
        let none = psf_of(Normalization::None);
        let t = CircularAperture::new(1.0).unwrap().transmission(&lyot().grid().unwrap());
        let total: f64 = t.map_or(32.0 * 32.0, |t| t.iter().map(|v| v * v).sum());
        let diff = (&none / total - &first).mapv(f64::abs).sum() / first.sum();
        assert!(diff < 1e-12, "{diff}");
        let last = psf_of(Normalization::Last);
        assert!((last.sum() - 1.0).abs() < 1e-12);
        let mut system = lyot();
        system.set_normalization(Normalization::ExitPupil);
        let plan = system.plan().unwrap();
        let names: Vec<&str> = plan.steps().iter().map(|s| s.name()).collect();
        assert_eq!(
            names[names.len() - 4..],
            ["pupil optics", "normalize", "record plane", "mft to detector"]
        );
        system
            .set_coronagraph(Coronagraph::SemiAnalytic { occulter_box_arcsec: 0.5, oversample: 8 });
        let e = system.plan().unwrap_err().to_string();
        assert!(e.contains("normalize = \"exit_pupil\" is not available"), "{e}");
    }

    /// Dims the light by a factor.
    #[derive(Debug)]
    struct Dim(f64);

    impl Step for Dim {
        fn name(&self) -> &str {
            "dim"
        }
        fn apply(
            &self,
            wf: &mut Wavefront,
            _: &Exec<'_>,
            _: &mut Scratch,
        ) -> Result<(), PropagationError> {
            wf.field.mapv_inplace(|z| z * self.0);
            Ok(())
        }
    }

    #[test]
    fn a_lyot_plan_makes_the_transforms_explicit() {
        let plan = lyot().plan().unwrap();
        let names: Vec<&str> = plan.steps().iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            [
                "pupil optics",
                "record plane",
                "fft to image",
                "image optics",
                "record plane",
                "fft to pupil",
                "pupil optics",
                "record plane",
                "mft to detector"
            ]
        );
        assert_eq!(plan.steps()[3].planes(), Some(1..2));
        // The estimate: the padded field and its pupil, plus the detector transform's
        // buffers (16-byte complex values; the intensity adds 8 bytes a pixel).
        let (n, p, m) = (32u64, 64u64, 32u64);
        let detector = n * n * 16 + 3 * m * n * 16 + m * m * 24;
        let f64_opts = ComputeOptions::default().with_precision(Precision::F64);
        assert_eq!(plan.bytes_per_wavelength_with(&f64_opts), p * p * 16 + n * n * 16 + detector);
        // The default precision holds the padded image plane in single precision.
        assert_eq!(plan.bytes_per_wavelength(), p * p * 8 + n * n * 16 + detector);
        // Two pupil groups: the entrance (on 32 px) and the Lyot stop (cut to 32 px), and
        // the MFT plans the plan may keep.
        assert_eq!(plan.bytes_resident(), 2 * n * n * 8 + MFT_CACHE_BYTES);
    }

    /// Reference: a user's step dimming the amplitude by 0.5 before the detector dims the
    /// PSF by exactly 0.25 (a power of two: bitwise; in double precision, as a plan with a
    /// user's step keeps its FFT image planes in double precision).
    #[test]
    fn a_users_step_runs_in_every_computation() {
        let source = Source::monochromatic(1e-6).unwrap();
        let opts = ComputeOptions::default().with_precision(Precision::F64);
        let mut plan = lyot().plan().unwrap();
        let plain = plan.compute(&source, &opts).unwrap();
        let last = plan.steps().len() - 1;
        plan.insert_step(last, Box::new(Dim(0.5))).unwrap();
        let dimmed = plan.compute(&source, &opts).unwrap();
        assert_eq!(dimmed.image, plain.image.mapv(|v| v * 0.25));
        assert!(plan.insert_step(99, Box::new(Dim(1.0))).is_err());
        // A step that breaks the detector's shape is an error, not a panic.
        #[derive(Debug)]
        struct Shrink;
        impl Step for Shrink {
            fn name(&self) -> &str {
                "shrink"
            }
            fn apply(
                &self,
                wf: &mut Wavefront,
                _: &Exec<'_>,
                _: &mut Scratch,
            ) -> Result<(), PropagationError> {
                wf.field = Array2::zeros((3, 3));
                Ok(())
            }
        }
        let end = plan.steps().len();
        plan.insert_step(end, Box::new(Shrink)).unwrap();
        let e = plan.compute(&source, &opts).unwrap_err().to_string();
        assert!(e.contains("the detector needs 32 x 32"), "{e}");
    }

    /// Stepping one wavelength by hand ends where `compute` ends (bitwise, in double
    /// precision: in single precision `compute` holds its FFT image planes in single
    /// precision, which stepping shows in double), and shows every plane with its sampling.
    #[test]
    fn stepping_ends_on_the_computed_psf() {
        let source = Source::monochromatic(1e-6).unwrap().with_offset(0.1, 30.0).unwrap();
        let opts = ComputeOptions::default().with_precision(Precision::F64);
        let plan = PsfPlan::new_plane_by_plane(&lyot()).unwrap();
        let mut seen = Vec::new();
        let end = plan
            .propagate(1e-6, &source, &opts, |i, step, wf| {
                seen.push((i, step.name().to_string(), wf.sampling.is_image(), wf.field.dim()))
            })
            .unwrap();
        assert_eq!(seen.len(), plan.steps().len());
        assert_eq!(seen[2], (2, "fft to image".to_string(), true, (64, 64)));
        assert_eq!(seen[5], (5, "fft to pupil".to_string(), false, (32, 32)));
        let psf = plan.compute(&source, &opts).unwrap();
        assert_eq!(end.intensity(), psf.image);
        assert!(plan.propagate(-1.0, &source, &opts, |_, _, _| {}).is_err());
        // A wavefront of one's own: the entrance field given by hand gives the same end.
        let input = plan.input_wavefront(1e-6, &source).unwrap();
        let again = plan.propagate_wavefront(input.clone(), &opts, |_, _, _| {}).unwrap();
        assert_eq!(again.field, end.field);
        let mut wrong = input;
        wrong.field = Array2::zeros((8, 8));
        let e = plan.propagate_wavefront(wrong, &opts, |_, _, _| {}).unwrap_err().to_string();
        assert!(e.starts_with("the input wavefront must be a pupil-plane field of 32 x 32"), "{e}");
    }
}
