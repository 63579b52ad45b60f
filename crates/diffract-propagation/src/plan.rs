//! The PSF plan: pupil optics sampled once, then per wavelength the planes in order (FFTs
//! between pupil and image planes, or the semi-analytic and matrix-FT coronagraph
//! propagations), an MFT to the detector, and the weighted sum over wavelengths in a fixed
//! order.

use crate::field::{
    apply_image, apply_pupil, combine, crop_to_support, give_back, pad, pad_offset, tilt, unpad,
    PupilArrays,
};
use crate::system::{AlignerDirection, Coronagraph, Plane};
use crate::{Detector, OpticalSystem, PropagationError, Psf, Source, ARCSEC_PER_RAD};
use diffract_optics::{ImageGrid, ImageOptic, PupilGrid};
use diffract_parallel::{map_ordered, Par, Schedule, ScheduleOptions};
use diffract_transforms::{
    Fft2d, FftBackend, FftDirection, GemmBackend, MftCache, MftDirection, MftGeometry, MftScratch,
};
use ndarray::{s, Array2};
use num_complex::Complex64;
use std::f64::consts::PI;
use std::ops::Range;
use std::sync::Arc;

/// The floating-point precision of the transforms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Precision {
    /// Double precision throughout (the default; what is compared with POPPY).
    #[default]
    F64,
    /// The matrix Fourier transforms in single precision (pupil sampling, FFTs and sums stay
    /// double): faster, with errors near 1e-6 of the peak.
    F32,
}

impl Precision {
    /// Both precisions.
    pub const ALL: &'static [Precision] = &[Precision::F64, Precision::F32];

    /// `"f64"` or `"f32"`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F64 => "f64",
            Precision::F32 => "f32",
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = PropagationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "f64" => Ok(Precision::F64),
            "f32" => Ok(Precision::F32),
            other => Err(PropagationError::invalid("precision", other, "must be f64 or f32")),
        }
    }
}

/// How to run a computation: backends, precision and workers.
#[derive(Clone, Debug, Default)]
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

/// A callback run as each wavelength finishes.
#[derive(Clone)]
pub struct Progress(pub Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress(..)")
    }
}

/// Reports a finished wavelength when dropped (also when it failed).
struct ProgressGuard<'a>(Option<&'a Progress>);

impl Drop for ProgressGuard<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.0 {
            (p.0)();
        }
    }
}

/// The backends and parallelism one wavelength runs with.
struct Exec<'a> {
    gemm: GemmBackend,
    par: Par,
    fft: Option<&'a Fft2d<f64>>,
    single: bool,
}

/// Largest oversampling accepted.
pub const MAX_OVERSAMPLE: usize = 64;

/// Largest zero-padded FFT array accepted, pixels across.
pub const MAX_FFT_NPIX: usize = 32768;

#[derive(Debug)]
enum Step {
    Pupil(PupilArrays),
    Aligner(AlignerDirection),
    Image(Vec<Arc<dyn ImageOptic>>),
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    Fft,
    SemiAnalytic { half_box: f64, oversample: usize, occulter_step: usize },
    MatrixFt { half_box: f64, oversample: usize },
}

/// Where the field is between steps.
enum At {
    /// A pupil plane, zero-padded to the FFT size or not; `centre` is the index of the
    /// optical axis and `scale` the pixel size in metres (a pupil cut out of a padded one
    /// keeps the padded grid's coordinates).
    Pupil { padded: bool, scale: f64, centre: f64 },
    /// An image plane; `nlamd` is set when it was reached by MFT (the way back is then an
    /// inverse MFT).
    Image { grid: ImageGrid, nlamd: Option<f64> },
}

/// The intensity after one plane, summed over wavelengths with their weights.
#[derive(Clone, Debug)]
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
}

/// A system prepared for computing PSFs.
#[derive(Debug)]
pub struct PsfPlan {
    grid: PupilGrid,
    detector: Detector,
    oversample: usize,
    npad: usize,
    steps: Vec<Step>,
    /// The system planes each step covers.
    step_planes: Vec<Range<usize>>,
    plane_kinds: Vec<&'static str>,
    mode: Mode,
    /// Amplitude of the input field: POPPY's "first" normalisation, folded in up front.
    norm: f64,
    /// The first optic's natural diameter (the matrix-FT box sampling uses it, as POPPY).
    first_diameter: f64,
    /// The entrance-pupil arrays when they differ from the first step's.
    entrance: Option<PupilArrays>,
    mfts: MftCache<f64>,
    mfts32: MftCache<f32>,
    /// Size of the zero-padded FFTs, when the propagation uses them.
    fft_shape: Option<(usize, usize)>,
    /// FFT plans by backend and FFTW thread count, made on first use.
    ffts: std::sync::Mutex<Vec<FftPlanEntry>>,
    /// FFT mode: the first step after the last image plane. From there on the field is cut
    /// to the central `npix` pixels (only they reach the detector), and those steps' arrays
    /// are stored cut likewise.
    final_from: Option<usize>,
}

/// An FFT plan with the backend and FFTW thread count it was made for.
type FftPlanEntry = (FftBackend, usize, Arc<Fft2d<f64>>);

/// Most bytes of MFT plans a plan keeps between wavelengths and calls.
const MFT_CACHE_BYTES: u64 = 32 << 20;

/// Refuses, with the estimate, a need beyond the free memory.
fn fits_in_memory(needed: u64) -> Result<(), PropagationError> {
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
    /// [`PsfPlan::compute_with_planes`] reports each plane (slower: pupil optics are not
    /// merged).
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
        let detector = *system
            .detector()
            .ok_or_else(|| PropagationError::System("the system has no detector".into()))?;
        let planes = system.planes();
        let first = planes
            .first()
            .ok_or_else(|| PropagationError::System("the system has no optics".into()))?;
        if first.is_image() {
            return Err(layout_error(format!(
                "the first optic ({}) is in an image plane; the light must enter through a pupil plane",
                first.kind()
            )));
        }
        let last = planes.last().expect("non-empty");
        if last.is_image() {
            return Err(layout_error(format!(
                "the last optic ({}) is in an image plane; the detector must follow a pupil plane",
                last.kind()
            )));
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
        let mut mode = Self::mode(system)?;
        Self::check_memory_before_sampling(
            planes.len(),
            n,
            npad,
            image_planes > 0,
            detector.fov_pixels() * oversample,
        )?;
        let padded_grid =
            PupilGrid::with_pixelscale(npad, grid.diameter() * oversample as f64 / npad as f64)?;

        // Compile the planes into steps, merging consecutive pupil optics.
        let mut steps = Vec::new();
        let mut step_planes: Vec<Range<usize>> = Vec::new();
        let mut seen_image = false;
        let mut i = 0;
        while i < planes.len() {
            match &planes[i] {
                Plane::Pupil(_) => {
                    let mut j = i + 1;
                    while merge && j < planes.len() && matches!(planes[j], Plane::Pupil(_)) {
                        j += 1;
                    }
                    let on_padded = seen_image && matches!(mode, Mode::Fft) && oversample > 1;
                    let g = if on_padded { &padded_grid } else { &grid };
                    let mut arrays = PupilArrays { transmission: None, opd: None, phase: None };
                    for p in &planes[i..j] {
                        if let Plane::Pupil(o) = p {
                            combine(&mut arrays, o.transmission(g), o.opd(g), o.phase(g));
                        }
                    }
                    steps.push(Step::Pupil(arrays));
                    step_planes.push(i..j);
                    i = j;
                }
                Plane::FqpmAligner(d) => {
                    steps.push(Step::Aligner(*d));
                    step_planes.push(i..i + 1);
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
                    seen_image = true;
                    steps.push(Step::Image(optics));
                    step_planes.push(i..j);
                    i = j;
                }
            }
        }
        if let Mode::SemiAnalytic { occulter_step, .. } = &mut mode {
            *occulter_step =
                steps.iter().position(|s| matches!(s, Step::Image(_))).expect("layout checked");
        }

        // "First" normalisation: unit total intensity after the first optic. Its
        // transmission on the entrance grid fixes it (phase and tilt do not change
        // intensities).
        let first_intensity = match first {
            Plane::Pupil(o) => {
                o.transmission(&grid).map_or((n * n) as f64, |t| t.iter().map(|v| v * v).sum())
            }
            _ => (n * n) as f64,
        };
        if first_intensity <= 0.0 {
            return Err(PropagationError::System(format!(
                "the first optic ({}) transmits no light on this pupil grid",
                first.kind()
            )));
        }
        let fft_shape = (image_planes > 0 && matches!(mode, Mode::Fft)).then_some((npad, npad));
        let final_from = match mode {
            Mode::Fft if oversample > 1 => {
                steps.iter().rposition(|s| matches!(s, Step::Image(_))).map(|i| i + 1)
            }
            _ => None,
        };
        if let Some(from) = final_from {
            let o = pad_offset(n, npad);
            let cut = |a: &mut Option<Array2<f64>>| {
                if let Some(arr) = a.as_mut() {
                    *arr = arr.slice(s![o..o + n, o..o + n]).to_owned();
                }
            };
            for step in &mut steps[from..] {
                if let Step::Pupil(arrays) = step {
                    cut(&mut arrays.transmission);
                    cut(&mut arrays.opd);
                    cut(&mut arrays.phase);
                }
            }
        }
        // The combined entrance-pupil arrays, for pictures and users: the first step's
        // arrays when that step holds every leading pupil optic, else sampled once more.
        let leading = planes.iter().take_while(|p| matches!(p, Plane::Pupil(_))).count();
        let entrance = if step_planes.first() == Some(&(0..leading)) {
            None
        } else {
            let mut e = PupilArrays { transmission: None, opd: None, phase: None };
            for p in &planes[..leading] {
                if let Plane::Pupil(o) = p {
                    combine(&mut e, o.transmission(&grid), o.opd(&grid), o.phase(&grid));
                }
            }
            Some(e)
        };
        Ok(PsfPlan {
            first_diameter: system.first_optic_diameter().unwrap_or(grid.diameter()),
            grid,
            detector,
            oversample,
            npad,
            steps,
            step_planes,
            plane_kinds: planes.iter().map(Plane::kind).collect(),
            mode,
            norm: first_intensity.sqrt().recip(),
            entrance,
            mfts: MftCache::with_capacity_bytes(MFT_CACHE_BYTES),
            mfts32: MftCache::with_capacity_bytes(MFT_CACHE_BYTES),
            fft_shape,
            ffts: std::sync::Mutex::new(Vec::new()),
            final_from,
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
                // The occulter's step index is set once the steps are built.
                Ok(Mode::SemiAnalytic { half_box, oversample, occulter_step: 0 })
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
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    fn entrance(&self) -> Option<&PupilArrays> {
        match (&self.entrance, self.steps.first()) {
            (Some(e), _) => Some(e),
            (None, Some(Step::Pupil(a))) => Some(a),
            _ => None,
        }
    }

    /// The combined amplitude transmission of the optics before the first image plane.
    pub fn transmission(&self) -> Array2<f64> {
        self.entrance()
            .and_then(|a| a.transmission.clone())
            .unwrap_or_else(|| Array2::ones((self.grid.npix(), self.grid.npix())))
    }

    /// The combined OPD (metres) of the optics before the first image plane, if any.
    pub fn opd(&self) -> Option<&Array2<f64>> {
        self.entrance().and_then(|a| a.opd.as_ref())
    }

    /// Oversampled output pixels across.
    pub fn output_npix(&self) -> usize {
        self.detector.fov_pixels() * self.oversample
    }

    fn lam_d_arcsec(&self, wavelength: f64) -> f64 {
        wavelength / self.grid.diameter() * ARCSEC_PER_RAD
    }

    /// Memory one wavelength needs while it runs, in bytes.
    pub fn bytes_per_wavelength(&self) -> u64 {
        let n = self.grid.npix() as u64;
        let m = self.output_npix() as u64;
        let c = std::mem::size_of::<Complex64>() as u64;
        let detector = n * n * c + 3 * m * n * c + m * m * (c + 8);
        let planes = match self.mode {
            Mode::Fft if self.fft_shape.is_some() => {
                let p = self.npad as u64;
                // The zero-padded field, and the pupil cut out of it.
                p * p * c + n * n * c
            }
            Mode::Fft => 0,
            Mode::SemiAnalytic { .. } | Mode::MatrixFt { .. } => 3 * n * n * c,
        };
        detector + planes
    }

    /// Memory held by the plan itself (sampled pupil arrays), in bytes.
    pub fn bytes_resident(&self) -> u64 {
        let count = |a: &PupilArrays| {
            [&a.transmission, &a.opd, &a.phase]
                .iter()
                .map(|x| x.as_ref().map_or(0, |t| t.len() as u64 * 8))
                .sum::<u64>()
        };
        self.steps.iter().map(|s| if let Step::Pupil(a) = s { count(a) } else { 0 }).sum::<u64>()
            + self.entrance.as_ref().map_or(0, count)
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
        let fftw_threaded = opts.fft == FftBackend::Fftw && opts.fftw_threads > 1;
        if fftw_threaded && opts.workers.is_some_and(|w| w > 1) && n_wavelengths > 1 {
            return Err(PropagationError::FftwThreads {
                threads: opts.fftw_threads,
                workers: opts.workers.unwrap_or(1),
            });
        }
        let workers = if fftw_threaded { Some(1) } else { opts.workers };
        let sched_opts = ScheduleOptions { workers, cores: opts.cores, ..Default::default() };
        let mut schedule = Schedule::plan(n_wavelengths, self.bytes_per_wavelength(), &sched_opts);
        if fftw_threaded {
            // FFTW brings its own threads; the other kernels stay serial beside them.
            schedule.kernel_par = Par::Seq;
        }
        Ok(schedule)
    }

    /// The complex field entering the system at `wavelength`: unit amplitude scaled for
    /// "first" normalisation, with the source offset as a tilt.
    fn input_field(&self, wavelength: f64, source: &Source) -> Array2<Complex64> {
        let n = self.grid.npix();
        let (tx, ty) = source.tilt_arcsec();
        let mut field = Array2::from_elem((n, n), Complex64::new(self.norm, 0.0));
        if tx != 0.0 || ty != 0.0 {
            let centre = (n as f64 - 1.0) / 2.0;
            tilt(
                &mut field,
                self.grid.pixelscale(),
                centre,
                tx / ARCSEC_PER_RAD,
                ty / ARCSEC_PER_RAD,
                wavelength,
            );
        }
        field
    }

    /// Runs the planes for one wavelength; `record` collects each step's field.
    fn propagate(
        &self,
        wavelength: f64,
        source: &Source,
        ex: &Exec<'_>,
        mut record: Option<&mut Vec<(Array2<Complex64>, f64)>>,
    ) -> Result<Array2<f64>, PropagationError> {
        let mut field = self.input_field(wavelength, source);
        let n = self.grid.npix();
        let mut at = At::Pupil {
            padded: false,
            scale: self.grid.pixelscale(),
            centre: (n as f64 - 1.0) / 2.0,
        };
        let mut corner = false;
        let k = 2.0 * PI / wavelength;
        for (index, step) in self.steps.iter().enumerate() {
            if let Mode::SemiAnalytic { half_box, oversample, occulter_step } = self.mode {
                if index == occulter_step {
                    let Step::Image(optics) = step else { unreachable!("layout checked") };
                    let px = self.detector.pixelscale_arcsec() / oversample as f64;
                    let (mut image, grid, nlamd) =
                        self.mft_to_box(&field, wavelength, px, half_box, ex)?;
                    apply_image(&mut image, &grid, optics, k, true);
                    let back = self.inverse_mft(&image, nlamd, ex)?;
                    field -= &back;
                    if let Some(r) = record.as_deref_mut() {
                        r.push((image, grid.pixelscale));
                    }
                    continue;
                }
            }
            let last = self.final_from == Some(index);
            match step {
                Step::Pupil(arrays) => {
                    self.to_pupil(&mut field, &mut at, last, ex)?;
                    apply_pupil(&mut field, arrays, k);
                }
                Step::Aligner(direction) => {
                    self.to_pupil(&mut field, &mut at, last, ex)?;
                    let At::Pupil { scale, centre, .. } = at else { unreachable!() };
                    let half = wavelength / self.grid.diameter() / self.oversample as f64 * 0.5;
                    let angle = match direction {
                        AlignerDirection::Forward => -half,
                        AlignerDirection::Backward => half,
                    };
                    tilt(&mut field, scale, centre, angle, angle, wavelength);
                    corner = *direction == AlignerDirection::Forward;
                }
                Step::Image(optics) => {
                    if let At::Pupil { padded, .. } = at {
                        at = self.to_image(&mut field, padded, corner, wavelength, ex)?;
                    }
                    let At::Image { grid, .. } = &at else { unreachable!() };
                    apply_image(&mut field, grid, optics, k, false);
                }
            }
            if let Some(r) = record.as_deref_mut() {
                let scale = match &at {
                    At::Image { grid, .. } => grid.pixelscale,
                    At::Pupil { scale, .. } => *scale,
                };
                r.push((field.clone(), scale));
            }
        }
        self.to_pupil(&mut field, &mut at, false, ex)?;
        self.detector_image(field, wavelength, ex)
    }

    /// Moves an image-plane field back to a pupil (FFT, or inverse MFT when the image was
    /// reached by MFT); a pupil field is left as it is. With `last`, only the central `npix`
    /// pixels are computed and kept (no later image plane needs the rest).
    fn to_pupil(
        &self,
        field: &mut Array2<Complex64>,
        at: &mut At,
        last: bool,
        ex: &Exec<'_>,
    ) -> Result<(), PropagationError> {
        let At::Image { nlamd, .. } = at else { return Ok(()) };
        let n = self.grid.npix();
        match nlamd {
            Some(nlamd) => {
                *field = self.inverse_mft(field, *nlamd, ex)?;
                *at = At::Pupil {
                    padded: false,
                    scale: self.grid.pixelscale(),
                    centre: (n as f64 - 1.0) / 2.0,
                };
            }
            None => {
                let fft = ex.fft.expect("planned");
                let npad = self.npad;
                let scale = self.grid.diameter() * self.oversample as f64 / npad as f64;
                let padded_centre = (npad as f64 - 1.0) / 2.0;
                if last {
                    let o = pad_offset(n, npad);
                    fft.process_rows(field, FftDirection::ImageToPupil, ex.par, 0..npad, o..o + n)?;
                    let cut = unpad(field, n);
                    give_back(std::mem::replace(field, cut).into_raw_vec_and_offset().0);
                    *at = At::Pupil { padded: false, scale, centre: padded_centre - o as f64 };
                } else {
                    fft.process_rows(field, FftDirection::ImageToPupil, ex.par, 0..npad, 0..npad)?;
                    *at = At::Pupil { padded: npad != n, scale, centre: padded_centre };
                }
            }
        }
        Ok(())
    }

    /// Moves a pupil field to the next image plane.
    fn to_image(
        &self,
        field: &mut Array2<Complex64>,
        padded: bool,
        corner: bool,
        wavelength: f64,
        ex: &Exec<'_>,
    ) -> Result<At, PropagationError> {
        match self.mode {
            Mode::Fft => {
                let npad = self.npad;
                let rows = if !padded && npad != field.nrows() {
                    let n = field.nrows();
                    *field = pad(field, npad);
                    let o = pad_offset(n, npad);
                    o..o + n
                } else {
                    0..npad
                };
                let fft = ex.fft.expect("planned");
                fft.process_rows(field, FftDirection::PupilToImage, ex.par, rows, 0..npad)?;
                let n = npad as f64;
                let c = if corner { (n - 1.0) / 2.0 } else { n / 2.0 };
                let pixelscale =
                    wavelength / self.grid.diameter() / self.oversample as f64 * ARCSEC_PER_RAD;
                Ok(At::Image {
                    grid: ImageGrid { shape: (npad, npad), pixelscale, center: (c, c) },
                    nlamd: None,
                })
            }
            Mode::MatrixFt { half_box, oversample } => {
                let px =
                    wavelength / self.first_diameter * ARCSEC_PER_RAD / oversample as f64 / 2.0;
                let (image, grid, nlamd) = self.mft_to_box(field, wavelength, px, half_box, ex)?;
                *field = image;
                Ok(At::Image { grid, nlamd: Some(nlamd) })
            }
            Mode::SemiAnalytic { .. } => {
                unreachable!("the semi-analytic occulter is handled by propagate")
            }
        }
    }

    /// MFT of an (unpadded) pupil field onto a square box of half-size `half_box` arcsec
    /// sampled at `px` arcsec: POPPY's Detector stand-in, whose field is rounded to whole
    /// pixels.
    fn mft_to_box(
        &self,
        field: &Array2<Complex64>,
        wavelength: f64,
        px: f64,
        half_box: f64,
        ex: &Exec<'_>,
    ) -> Result<(Array2<Complex64>, ImageGrid, f64), PropagationError> {
        let npix = (2.0 * half_box / px).round_ties_even().max(1.0) as usize;
        let fov = npix as f64 * px;
        let nlamd = fov / self.lam_d_arcsec(wavelength);
        let geometry = MftGeometry::square(field.nrows(), nlamd, npix, MftDirection::Forward);
        let image = self.mft(&geometry, field.view(), ex)?;
        let c = (npix as f64 - 1.0) / 2.0;
        Ok((
            image,
            ImageGrid { shape: (npix, npix), pixelscale: fov / npix as f64, center: (c, c) },
            nlamd,
        ))
    }

    /// Inverse MFT of an image-plane box back to the entrance-pupil sampling.
    fn inverse_mft(
        &self,
        image: &Array2<Complex64>,
        nlamd: f64,
        ex: &Exec<'_>,
    ) -> Result<Array2<Complex64>, PropagationError> {
        let n = self.grid.npix();
        let geometry = MftGeometry {
            input: image.dim(),
            nlamd: (nlamd, nlamd),
            output: (n, n),
            offset: (0.0, 0.0),
            direction: MftDirection::Inverse,
        };
        self.mft(&geometry, image.view(), ex)
    }

    /// The detector image: drop the FFT padding, crop the pupil to its non-zero support
    /// (same result, smaller product), MFT to the detector field, intensity.
    fn detector_image(
        &self,
        field: Array2<Complex64>,
        wavelength: f64,
        ex: &Exec<'_>,
    ) -> Result<Array2<f64>, PropagationError> {
        let n = self.grid.npix();
        let field = if field.nrows() != n {
            let cut = unpad(&field, n);
            give_back(field.into_raw_vec_and_offset().0);
            cut
        } else {
            field
        };
        let (cropped, m) = crop_to_support(&field);
        let nlamd =
            self.detector.fov_arcsec() / self.lam_d_arcsec(wavelength) * m as f64 / n as f64;
        let geometry = MftGeometry::square(m, nlamd, self.output_npix(), MftDirection::Forward);
        let image = self.mft(&geometry, cropped.view(), ex)?;
        Ok(image.mapv(|z| z.norm_sqr()))
    }

    /// Runs the (cached) MFT of `geometry` on `input`, with this thread's scratch, in the
    /// precision asked for.
    fn mft(
        &self,
        geometry: &MftGeometry,
        input: ndarray::ArrayView2<'_, Complex64>,
        ex: &Exec<'_>,
    ) -> Result<Array2<Complex64>, PropagationError> {
        if ex.single {
            let plan = self.mfts32.get(geometry)?;
            let input = input.mapv(|z| num_complex::Complex32::new(z.re as f32, z.im as f32));
            let mut out = Array2::zeros(geometry.output);
            MFT_SCRATCH32.with(|s| {
                plan.apply_with(input.view(), &mut s.borrow_mut(), out.view_mut(), ex.gemm, ex.par)
            })?;
            return Ok(
                out.mapv(|z: num_complex::Complex32| Complex64::new(z.re.into(), z.im.into()))
            );
        }
        let plan = self.mfts.get(geometry)?;
        let mut out = Array2::zeros(geometry.output);
        MFT_SCRATCH.with(|s| {
            plan.apply_with(input, &mut s.borrow_mut(), out.view_mut(), ex.gemm, ex.par)
        })?;
        Ok(out)
    }

    /// The FFT plan for `backend` with `fftw_threads`, made on first use.
    fn fft_plan(
        &self,
        backend: FftBackend,
        fftw_threads: usize,
    ) -> Result<Option<Arc<Fft2d<f64>>>, PropagationError> {
        let Some(shape) = self.fft_shape else { return Ok(None) };
        let threads = if backend == FftBackend::Fftw { fftw_threads.max(1) } else { 1 };
        let mut ffts = self.ffts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, p)) = ffts.iter().find(|(b, t, _)| *b == backend && *t == threads) {
            return Ok(Some(Arc::clone(p)));
        }
        let plan = Arc::new(Fft2d::with_threads(shape, backend, threads)?);
        ffts.push((backend, threads, Arc::clone(&plan)));
        Ok(Some(plan))
    }

    /// The polychromatic PSF of `source`: monochromatic PSFs weighted by the normalised
    /// weights and summed in wavelength order, so the result does not depend on the number
    /// of workers.
    ///
    /// # Errors
    ///
    /// [`PropagationError::Memory`] when the chosen workers would need more memory than is
    /// free, and [`PropagationError::Transform`] for a backend missing from this build.
    pub fn compute(&self, source: &Source, opts: &ComputeOptions) -> Result<Psf, PropagationError> {
        let (psf, _) = self.run(source, opts, false)?;
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
        self.run(source, opts, true)
    }

    fn run(
        &self,
        source: &Source,
        opts: &ComputeOptions,
        planes: bool,
    ) -> Result<(Psf, Vec<PlaneImage>), PropagationError> {
        let gemm = opts.gemm.ensure_compiled()?;
        let fft_backend = opts.fft.ensure_compiled()?;
        let wavelengths = source.wavelengths();
        let weights = source.normalized_weights();
        let schedule = self.schedule(wavelengths.len(), opts)?;
        self.check_memory(schedule.workers)?;
        let fft = self.fft_plan(fft_backend, opts.fftw_threads)?;
        type Recorded = Vec<(Array2<Complex64>, f64)>;
        let results: Vec<(Array2<f64>, Option<Recorded>)> =
            map_ordered(&schedule, wavelengths, |_, &wl, par| {
                let ex = &Exec {
                    gemm,
                    par,
                    fft: fft.as_deref(),
                    single: opts.precision == Precision::F32,
                };
                let _done = ProgressGuard(opts.on_wavelength_done.as_ref());
                let mut rec = planes.then(Vec::new);
                let img = self.propagate(wl, source, ex, rec.as_mut())?;
                Ok::<_, PropagationError>((img, rec))
            })
            .map_err(|e| e.source)?;
        let mut total = Array2::zeros((self.output_npix(), self.output_npix()));
        let mut plane_images: Vec<PlaneImage> = Vec::new();
        for (w_index, ((img, rec), w)) in results.into_iter().zip(&weights).enumerate() {
            total.scaled_add(*w, &img);
            for (s, (field, scale)) in rec.into_iter().flatten().enumerate() {
                let intensity = field.mapv(|z| z.norm_sqr() * w);
                if w_index == 0 {
                    let range = &self.step_planes[s];
                    plane_images.push(PlaneImage {
                        index: range.start,
                        kind: self.plane_kinds[range.start],
                        image_plane: matches!(self.steps[s], Step::Image(_)),
                        phase: (wavelengths.len() == 1).then(|| field.mapv(|z| z.arg())),
                        intensity,
                        pixelscale: scale,
                    });
                } else if plane_images[s].intensity.dim() == intensity.dim() {
                    plane_images[s].intensity += &intensity;
                }
            }
        }
        let psf = Psf {
            image: total,
            pixelscale_arcsec: self.detector.pixelscale_arcsec() / self.oversample as f64,
            oversample: self.oversample,
            fov_arcsec: self.detector.fov_arcsec(),
            wavelengths: wavelengths.to_vec(),
            weights,
            mean_wavelength: source.mean_wavelength(),
            diffraction_limit_arcsec: self.lam_d_arcsec(wavelengths[0]),
            pupil_diameter: self.grid.diameter(),
            gemm,
            fft: fft_backend,
            precision: opts.precision,
            workers: schedule.workers,
            jitter: None,
        };
        let mut psf = psf;
        if let Some(sigma) = self.detector.jitter_sigma_arcsec() {
            psf.apply_jitter(sigma);
        }
        Ok((psf, plane_images))
    }

    /// Refuses, before any array is allocated, a system whose sampled optics and one
    /// wavelength's arrays would not fit in the free memory.
    fn check_memory_before_sampling(
        n_planes: usize,
        n: usize,
        npad: usize,
        fft: bool,
        out: usize,
    ) -> Result<(), PropagationError> {
        let (n, npad, out) = (n as u64, npad as u64, out as u64);
        let grid = if fft { npad } else { n };
        // Each optic's arrays while they are combined, plus the combined transmission and
        // OPD; then one wavelength: the field (padded for FFTs), MFT scratch and output.
        let optics = (n_planes as u64 + 2) * 2 * grid * grid * 8;
        let wavelength = grid * grid * 16 + 3 * out * n * 16 + out * out * 24;
        fits_in_memory(optics + wavelength)
    }

    fn check_memory(&self, workers: usize) -> Result<(), PropagationError> {
        fits_in_memory(self.bytes_per_wavelength() * workers as u64 + self.bytes_resident())
    }
}

thread_local! {
    /// Working memory of the single-precision MFTs run on this thread.
    static MFT_SCRATCH32: std::cell::RefCell<MftScratch<f32>> = std::cell::RefCell::new(MftScratch::default());
    /// Working memory of the MFTs run on this thread, kept between wavelengths.
    static MFT_SCRATCH: std::cell::RefCell<MftScratch<f64>> = std::cell::RefCell::new(MftScratch::default());
}
