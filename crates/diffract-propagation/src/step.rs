//! The step interface: what a plan is made of, the execution context a step runs with, and
//! the scratch memory a worker lends it.

use crate::{PlaneImage, Precision, PropagationError, Wavefront};
use diffract_parallel::Par;
use diffract_transforms::{Fft2d, GemmBackend, MftCache, MftGeometry, MftScratch};
use ndarray::{Array2, ArrayView2};
use num_complex::{Complex32, Complex64};
use std::fmt::Debug;
use std::ops::Range;

/// Memory a step needs, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepMemory {
    /// Held by the step for the life of the plan (sampled optics).
    pub resident: u64,
    /// Needed while one wavelength runs through the step (fields, transform buffers).
    pub working: u64,
}

impl StepMemory {
    /// Memory of `resident` bytes held and `working` bytes per wavelength.
    pub fn new(resident: u64, working: u64) -> Self {
        StepMemory { resident, working }
    }
}

/// One operation of a plan, applied in order to a [`Wavefront`]: sampled optics, a
/// transform between planes, a coronagraph method, a crop, a recording.
///
/// Steps are made once per plan and applied to every wavelength, from several threads at
/// once: anything a step computes per wavelength lives in the wavefront or in the
/// [`Scratch`] it is lent.
///
/// ```
/// use diffract_propagation::{Exec, PropagationError, Scratch, Step, Wavefront};
///
/// /// Dims the light by a factor, wherever it is.
/// #[derive(Debug)]
/// struct Dim(f64);
///
/// impl Step for Dim {
///     fn name(&self) -> &str {
///         "dim"
///     }
///     fn apply(&self, wf: &mut Wavefront, _: &Exec<'_>, _: &mut Scratch) -> Result<(), PropagationError> {
///         wf.field.mapv_inplace(|z| z * self.0);
///         Ok(())
///     }
/// }
/// ```
pub trait Step: Debug + Send + Sync {
    /// What the step does, e.g. `"pupil optics"` or `"fft to image"`.
    fn name(&self) -> &str;

    /// The planes of the optical system (0-based indices) whose optics this step applies;
    /// `None` for transforms between planes and other steps without optics.
    fn planes(&self) -> Option<Range<usize>> {
        None
    }

    /// Applies the step to `wf`, with the backends and parallelism of `exec` and working
    /// memory from `scratch`.
    ///
    /// # Errors
    ///
    /// [`PropagationError`] when a transform fails or the wavefront is not where the step
    /// expects it (a pupil-plane step given an image-plane field, say).
    fn apply(
        &self,
        wf: &mut Wavefront,
        exec: &Exec<'_>,
        scratch: &mut Scratch,
    ) -> Result<(), PropagationError>;

    /// The memory the step holds and needs per wavelength.
    fn memory(&self) -> StepMemory {
        StepMemory::default()
    }
}

/// How one wavelength runs: the backends, the parallelism its kernels may use, and the
/// transforms planned once for the whole plan (FFT plans, cached MFT matrices).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Exec<'a> {
    /// Matrix-product backend of the MFTs.
    pub gemm: GemmBackend,
    /// Threads the kernels of this wavelength may use.
    pub par: Par,
    /// Precision of the matrix Fourier transforms.
    pub precision: Precision,
    pub(crate) fft: Option<&'a Fft2d<f64>>,
    /// The single-precision FFT, when the precision asks for one: Fresnel plans, and
    /// Fraunhofer plans whose FFT image planes are held in single precision (see
    /// [`Wavefront`]'s `padded32`).
    pub(crate) fft32: Option<&'a Fft2d<f32>>,
    pub(crate) mfts: &'a MftCache<f64>,
    pub(crate) mfts32: &'a MftCache<f32>,
}

impl Exec<'_> {
    /// The plan's zero-padded FFT.
    ///
    /// # Errors
    ///
    /// [`PropagationError::System`] when the plan has no FFT (no image plane reached by FFT).
    pub fn fft(&self) -> Result<&Fft2d<f64>, PropagationError> {
        self.fft.ok_or_else(|| PropagationError::System("this plan has no FFT".into()))
    }

    /// The matrix Fourier transform of `input` with `geometry`, its matrices cached per
    /// geometry in the plan, in the precision asked for (single precision reads the input
    /// and writes the output in double precision as it goes; sums stay double). The output
    /// is stored in one of the scratch's buffers when it has one.
    ///
    /// # Errors
    ///
    /// [`PropagationError::Transform`] for a bad geometry or a backend missing from this
    /// build.
    pub fn mft(
        &self,
        geometry: &MftGeometry,
        input: ArrayView2<'_, Complex64>,
        scratch: &mut Scratch,
    ) -> Result<Array2<Complex64>, PropagationError> {
        let (my, mx) = geometry.output;
        let mut out =
            Array2::from_shape_vec((my, mx), scratch.take_buffer(my * mx)).expect("my * mx values");
        if self.precision == Precision::F32 {
            let plan = self.mfts32.get(geometry)?;
            plan.apply_f64(input, &mut scratch.mft32, out.view_mut(), self.gemm, self.par)?;
        } else {
            let plan = self.mfts.get(geometry)?;
            plan.apply_with(input, &mut scratch.mft, out.view_mut(), self.gemm, self.par)?;
        }
        Ok(out)
    }
}

/// Working memory one worker lends the steps it runs: MFT buffers and large complex buffers
/// (zero-padded fields) kept from one wavelength to the next, so their pages are mapped
/// once. Each worker owns one; nothing is shared between threads.
#[derive(Debug, Default)]
pub struct Scratch {
    pub(crate) mft: MftScratch<f64>,
    pub(crate) mft32: MftScratch<f32>,
    pub(crate) buffers: Vec<Vec<Complex64>>,
    /// The single-precision padded field's storage, kept from one wavelength to the next.
    pub(crate) buffer32: Vec<Complex32>,
    /// The planes recorded so far, when recording.
    pub(crate) records: Option<Vec<Recorded>>,
    /// Whether the recorded planes keep their complex fields (and the output is recorded).
    pub(crate) record_fields: bool,
}

/// A field recorded after a plane, with what it was.
#[derive(Debug)]
pub(crate) struct Recorded {
    pub(crate) planes: Range<usize>,
    pub(crate) kind: &'static str,
    pub(crate) image_plane: bool,
    pub(crate) field: Array2<Complex64>,
    pub(crate) pixelscale: f64,
    /// Position along the beam (Fresnel planes).
    pub(crate) z_m: Option<f64>,
}

impl Recorded {
    /// The plane image of one wavelength's record, weighted by `weight`; with `with_field`
    /// it keeps the field times `weight`.
    pub(crate) fn plane_image(
        &self,
        weight: f64,
        with_phase: bool,
        with_field: bool,
    ) -> PlaneImage {
        PlaneImage {
            index: self.planes.start,
            kind: self.kind,
            image_plane: self.image_plane,
            intensity: self.field.mapv(|z| z.norm_sqr() * weight),
            phase: with_phase.then(|| self.field.mapv(|z| z.arg())),
            pixelscale: self.pixelscale,
            z_m: self.z_m,
            field: with_field.then(|| self.field.mapv(|z| z * weight)),
        }
    }
}

/// Buffers smaller than this are not worth keeping.
const KEEP_BUFFER_LEN: usize = 1 << 16;

/// Buffers kept at most (a Lyot plan's two padded fields and its detector field).
const KEEP_BUFFERS: usize = 3;

impl Scratch {
    /// Empty scratch; buffers are made on first use.
    pub fn new() -> Self {
        Scratch::default()
    }

    /// A zeroed buffer of `len` values, reusing one given back earlier.
    pub fn take_buffer(&mut self, len: usize) -> Vec<Complex64> {
        self.take_filled(len, Complex64::new(0.0, 0.0))
    }

    /// A buffer of `len` copies of `value`: the smallest buffer given back earlier that
    /// holds `len` values without being more than twice that size, else a new one (a small
    /// field in a padded field's storage would make the next padded field allocate anew).
    pub fn take_filled(&mut self, len: usize, value: Complex64) -> Vec<Complex64> {
        let fit = (0..self.buffers.len())
            .filter(|&i| (len..=2 * len.max(1)).contains(&self.buffers[i].capacity()))
            .min_by_key(|&i| self.buffers[i].capacity());
        let mut v = fit.map(|i| self.buffers.swap_remove(i)).unwrap_or_default();
        v.clear();
        v.resize(len, value);
        v
    }

    /// Keeps a large buffer for reuse (the largest three).
    pub fn give_back(&mut self, v: Vec<Complex64>) {
        if v.capacity() < KEEP_BUFFER_LEN {
            return;
        }
        self.buffers.push(v);
        if self.buffers.len() > KEEP_BUFFERS {
            let smallest = (0..self.buffers.len())
                .min_by_key(|&i| self.buffers[i].capacity())
                .expect("more than one buffer");
            self.buffers.swap_remove(smallest);
        }
    }

    /// A zeroed single-precision buffer of `len` values (the one kept, or a new one).
    pub(crate) fn take_buffer32(&mut self, len: usize) -> Vec<Complex32> {
        let mut v = std::mem::take(&mut self.buffer32);
        v.clear();
        v.resize(len, Complex32::new(0.0, 0.0));
        v
    }

    /// Keeps a single-precision buffer for the next wavelength.
    pub(crate) fn give_back32(&mut self, v: Vec<Complex32>) {
        if v.capacity() > self.buffer32.capacity() {
            self.buffer32 = v;
        }
    }

    /// Keeps the storage of a field that is no longer needed.
    pub fn give_back_field(&mut self, field: Array2<Complex64>) {
        self.give_back(field.into_raw_vec_and_offset().0);
    }

    /// Whether the steps are asked to record the planes they pass.
    pub fn recording(&self) -> bool {
        self.records.is_some()
    }

    pub(crate) fn record(&mut self, r: Recorded) {
        if let Some(records) = self.records.as_mut() {
            records.push(r);
        }
    }
}
