//! Fresnel propagation with POPPY's Gaussian-beam formalism (`FresnelOpticalSystem`):
//! optics placed at distances along a beam, the field carried on a planar or spherical
//! reference surface, and the propagation between planes chosen from where the beam's waist
//! is (Lawrence 1992, as in POPPY 1.1.2 and PROPER).
//!
//! Between two planes the wavefront is propagated
//! - plane to plane by the angular spectrum (two FFTs) while both lie within one Rayleigh
//!   distance of the waist, keeping the pixel scale;
//! - from the waist to a spherical reference surface outside it (a quadratic phase and one
//!   FFT), or back, the pixel scale becoming `lambda |dz| / (N dx)`.
//!
//! A [`QuadraticLens`](diffract_optics::QuadraticLens) updates the Gaussian beam (new waist
//! and position) and applies only the curvature the new reference surface does not carry.
//! Every other optic is sampled on the plane's current pixel scale with the axis on pixel
//! `N / 2`, as POPPY's Fresnel coordinates.
//!
//! The sequence of transforms is POPPY's, written on the centred array: POPPY shifts the
//! array to the FFT's order, transforms without shifts and shifts back; for even `N` this is
//! the same as the centred transforms of [`Fft2d`] with a checkerboard of signs where a shift
//! is left over, so no array is rolled. Array sizes are therefore even.

use crate::field::{apply_pupil, apply_pupil_view, combine, PupilArrays};
use crate::plan::{ComputeOptions, PlaneImage, Precision, Record};
use crate::step::Recorded;
use crate::steps::RecordPlane;
use crate::{
    Exec, GaussianBeam, PropagationError, Psf, Sampling, Scratch, Source, Step, StepMemory,
    Wavefront,
};
use diffract_optics::{PupilGrid, PupilOptic};
use diffract_parallel::{map_ordered, Par, Schedule};
use diffract_transforms::{Fft2d, FftBackend, FftDirection, GemmBackend, MftCache};
use ndarray::{s, Array2, ArrayViewMut2, Axis, Zip};
use num_complex::{Complex32, Complex64};
use std::f64::consts::PI;
use std::ops::Range;
use std::sync::{Arc, Mutex};

/// A single-precision FFT plan with the backend and FFTW thread count it was made for.
type FftPlan32 = crate::plan::FftPlanEntry<f32>;

/// Bytes of one complex double.
const C: u64 = std::mem::size_of::<Complex64>() as u64;

/// Largest Fresnel array accepted, pixels across.
pub const MAX_FRESNEL_NPIX: usize = 32768;

/// An optic of a Fresnel system and the distance from the previous optic to it.
#[derive(Clone, Debug)]
pub struct FresnelElement {
    /// The optic.
    pub optic: Arc<dyn PupilOptic>,
    /// Propagation distance from the previous optic (or the entrance), metres; negative
    /// propagates backwards.
    pub distance_m: f64,
}

/// The detector of a Fresnel system: the last plane resampled to `fov_pixels` square pixels
/// of `pixelscale_m` metres, as POPPY's `FresnelOpticalSystem.add_detector`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FresnelDetector {
    /// Metres per pixel.
    pub pixelscale_m: f64,
    /// Pixels across.
    pub fov_pixels: usize,
    /// Propagation distance from the last optic to the detector, metres.
    pub distance_m: f64,
}

impl FresnelDetector {
    /// A detector of `fov_pixels` pixels of `pixelscale_m` metres, at the last optic.
    ///
    /// # Errors
    ///
    /// [`PropagationError::Invalid`] for a pixel scale that is not finite and > 0, or no
    /// pixels.
    pub fn new(pixelscale_m: f64, fov_pixels: usize) -> Result<Self, PropagationError> {
        if !(pixelscale_m.is_finite() && pixelscale_m > 0.0) {
            return Err(PropagationError::invalid(
                "[detector] pixelscale_m",
                pixelscale_m,
                "must be a finite number > 0",
            ));
        }
        if fov_pixels == 0 || fov_pixels > MAX_FRESNEL_NPIX {
            return Err(PropagationError::invalid(
                "[detector] fov_pixels",
                fov_pixels,
                "must be between 1 and 32768",
            ));
        }
        Ok(FresnelDetector { pixelscale_m, fov_pixels, distance_m: 0.0 })
    }

    /// The same detector `distance_m` metres after the last optic.
    ///
    /// # Errors
    ///
    /// [`PropagationError::Invalid`] for a distance that is not finite.
    pub fn with_distance(mut self, distance_m: f64) -> Result<Self, PropagationError> {
        if !distance_m.is_finite() {
            return Err(PropagationError::invalid(
                "[detector] distance_m",
                distance_m,
                "must be a finite number",
            ));
        }
        self.distance_m = distance_m;
        Ok(self)
    }
}

/// A Fresnel optical system: POPPY's `FresnelOpticalSystem`. The entrance pupil of
/// `pupil_diameter_m` is sampled with `npix` pixels and zero-padded to `npix / beam_ratio`
/// (rounded half to even, as numpy) pixels; optics follow one another at distances.
///
/// ```
/// use diffract_optics::{CircularAperture, QuadraticLens};
/// use diffract_propagation::{ComputeOptions, FresnelSystem, Source};
///
/// let mut sys = FresnelSystem::new("relay", 64, 0.1, 0.5).unwrap();
/// sys.add_optic(CircularAperture::new(0.05).unwrap(), 0.0).unwrap();
/// sys.add_optic(QuadraticLens::new(1.0).unwrap(), 0.0).unwrap();
/// sys.add_optic(diffract_optics::ScalarTransmission::new(1.0).unwrap(), 1.0).unwrap();
/// let plan = sys.plan().unwrap();
/// let psf = plan.compute(&Source::monochromatic(1e-6).unwrap(), &ComputeOptions::default()).unwrap();
/// assert_eq!(psf.image.dim(), (128, 128));
/// assert!((psf.image.sum() - 1.0).abs() < 1e-9);
/// ```
#[derive(Clone, Debug)]
pub struct FresnelSystem {
    name: String,
    npix: usize,
    pupil_diameter: f64,
    beam_ratio: f64,
    elements: Vec<FresnelElement>,
    detector: Option<FresnelDetector>,
}

impl FresnelSystem {
    /// An empty system: `npix` samples across a pupil of `pupil_diameter_m` metres, which
    /// fills `beam_ratio` of the array's width (POPPY's default 0.5).
    ///
    /// # Errors
    ///
    /// [`PropagationError::Invalid`] for `npix` 0, a diameter that is not finite and > 0, a
    /// beam ratio outside (0, 1], or an array that would be odd-sized or over 32768 pixels.
    pub fn new(
        name: impl Into<String>,
        npix: usize,
        pupil_diameter_m: f64,
        beam_ratio: f64,
    ) -> Result<Self, PropagationError> {
        if npix == 0 || npix > MAX_FRESNEL_NPIX {
            return Err(PropagationError::invalid("npix", npix, "must be between 1 and 32768"));
        }
        if !(pupil_diameter_m.is_finite() && pupil_diameter_m > 0.0) {
            return Err(PropagationError::invalid(
                "pupil_diameter_m",
                pupil_diameter_m,
                "must be a finite number > 0",
            ));
        }
        if !(beam_ratio.is_finite() && beam_ratio > 0.0 && beam_ratio <= 1.0) {
            return Err(PropagationError::invalid(
                "beam_ratio",
                beam_ratio,
                "must be in (0, 1]: the pupil's share of the array width",
            ));
        }
        let sys = FresnelSystem {
            name: name.into(),
            npix,
            pupil_diameter: pupil_diameter_m,
            beam_ratio,
            elements: Vec::new(),
            detector: None,
        };
        let n = sys.array_npix_f64();
        if n > MAX_FRESNEL_NPIX as f64 {
            return Err(PropagationError::System(format!(
                "npix / beam_ratio = {n} pixels across; Fresnel arrays must be at most 32768 pixels across"
            )));
        }
        let n = n as usize;
        if n % 2 == 1 {
            return Err(PropagationError::System(format!(
                "npix / beam_ratio rounds to {n}, an odd number of pixels; Fresnel arrays must be even-sized (change npix or beam_ratio)"
            )));
        }
        Ok(sys)
    }

    fn array_npix_f64(&self) -> f64 {
        (self.npix as f64 * self.oversample()).round_ties_even()
    }

    /// Appends `optic` at `distance_m` metres after the previous optic (POPPY's
    /// `add_optic(optic, distance)`).
    ///
    /// # Errors
    ///
    /// [`PropagationError::Invalid`] for a distance that is not finite.
    pub fn add_optic(
        &mut self,
        optic: impl PupilOptic + 'static,
        distance_m: f64,
    ) -> Result<&mut Self, PropagationError> {
        self.add_element(Arc::new(optic), distance_m)
    }

    /// Appends a shared optic at `distance_m` metres after the previous one.
    ///
    /// # Errors
    ///
    /// As [`FresnelSystem::add_optic`].
    pub fn add_element(
        &mut self,
        optic: Arc<dyn PupilOptic>,
        distance_m: f64,
    ) -> Result<&mut Self, PropagationError> {
        if !distance_m.is_finite() {
            return Err(PropagationError::invalid(
                "distance_m",
                distance_m,
                "must be a finite number",
            ));
        }
        self.elements.push(FresnelElement { optic, distance_m });
        Ok(self)
    }

    /// Sets the detector.
    pub fn set_detector(&mut self, detector: FresnelDetector) -> &mut Self {
        self.detector = Some(detector);
        self
    }

    /// The system's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Pupil samples across.
    pub fn npix(&self) -> usize {
        self.npix
    }

    /// The pupil's share of the array width.
    pub fn beam_ratio(&self) -> f64 {
        self.beam_ratio
    }

    /// `1 / beam_ratio`: POPPY's oversampling of the Fresnel wavefront.
    pub fn oversample(&self) -> f64 {
        1.0 / self.beam_ratio
    }

    /// Diameter of the entrance pupil, metres.
    pub fn pupil_diameter(&self) -> f64 {
        self.pupil_diameter
    }

    /// Pixels across the zero-padded arrays: `npix / beam_ratio`, rounded half to even.
    pub fn array_npix(&self) -> usize {
        self.array_npix_f64() as usize
    }

    /// The optics in order, with their distances.
    pub fn elements(&self) -> &[FresnelElement] {
        &self.elements
    }

    /// The detector, if set.
    pub fn detector(&self) -> Option<&FresnelDetector> {
        self.detector.as_ref()
    }

    /// The entrance-pupil grid (the zero-padded array, axis on pixel `N / 2`).
    ///
    /// # Errors
    ///
    /// [`PropagationError::Optics`] for an array too large to sample.
    pub fn grid(&self) -> Result<PupilGrid, PropagationError> {
        Ok(PupilGrid::fresnel(self.array_npix(), self.pupil_diameter / self.npix as f64)?)
    }

    /// Samples what can be sampled once and prepares the computation.
    ///
    /// # Errors
    ///
    /// As [`FresnelPlan::new`].
    pub fn plan(&self) -> Result<FresnelPlan, PropagationError> {
        FresnelPlan::new(self)
    }
}

/// The pixel offset of the `npix` entrance pupil in the padded array (POPPY's
/// `pad_to_oversample`, with Python's rounding).
fn entrance_offset(npix: usize, oversample: f64) -> usize {
    (npix as f64 * (oversample - 1.0) / 2.0).round_ties_even() as usize
}

/// `(-1)^i`.
fn sign(i: usize) -> f64 {
    if i % 2 == 1 {
        -1.0
    } else {
        1.0
    }
}

/// Multiplies `field[i, j]` by `row[i] * col[j]`: a separable phase, one complex product
/// per pixel.
fn separable(field: &mut ArrayViewMut2<'_, Complex64>, row: &[Complex64], col: &[Complex64]) {
    for (mut r, a) in field.axis_iter_mut(Axis(0)).zip(row) {
        for (v, b) in r.iter_mut().zip(col) {
            *v *= a * b;
        }
    }
}

/// The `(-1)^(i + j)` checkerboard applied in place.
fn checkerboard(field: &mut Array2<Complex64>) {
    let n = field.nrows();
    let signs = phase_factors(0..n, n, 1.0, f64::INFINITY, 1.0, true, 1.0);
    separable(&mut field.view_mut(), &signs, &signs);
}

/// The angular-spectrum transfer function `exp(-i pi lambda dz (fx^2 + fy^2))` applied to
/// a field in the FFT's own order (frequencies `k / (N dx)`, `k` from `-N/2` to `N/2 - 1`
/// wrapped), as the product of its x and y factors.
fn transfer_function(
    field: &mut Array2<Complex64>,
    scale: f64,
    dz: f64,
    wavelength: f64,
    amplitude: f64,
) {
    let n = field.nrows();
    let a = -PI * wavelength * dz;
    let root = amplitude.sqrt();
    let factors: Vec<Complex64> = (0..n)
        .map(|k| {
            let ks = if k < n / 2 { k as f64 } else { k as f64 - n as f64 };
            let f = ks / (scale * n as f64);
            Complex64::from_polar(root, a * (f * f))
        })
        .collect();
    separable(&mut field.view_mut(), &factors, &factors);
}

/// The Fresnel state of a wavefront, or an error naming the step.
fn fresnel_of(wf: &Wavefront, step: &str) -> Result<(f64, GaussianBeam), PropagationError> {
    match wf.sampling {
        Sampling::Fresnel { m_per_px, beam, .. } => Ok((m_per_px, beam)),
        _ => Err(PropagationError::System(format!("step '{step}' needs a Fresnel wavefront"))),
    }
}

fn set_fresnel(wf: &mut Wavefront, m_per_px: f64, beam: GaussianBeam) {
    let centre = wf.field.nrows() as f64 / 2.0;
    wf.sampling = Sampling::Fresnel { m_per_px, centre, beam };
}

/// The rows of `field` between its first and last non-zero row.
fn nonzero_rows(field: &Array2<Complex64>) -> Range<usize> {
    let zero = Complex64::new(0.0, 0.0);
    let is_zero = |i: usize| field.row(i).iter().all(|v| *v == zero);
    let n = field.nrows();
    let start = (0..n).find(|&i| !is_zero(i)).unwrap_or(n);
    let end = (start..n).rev().find(|&i| !is_zero(i)).map_or(start, |i| i + 1);
    start..end
}

/// One FFT of the plan in `direction`, in place, skipping the rows that are zero on input.
fn transform(
    field: &mut Array2<Complex64>,
    exec: &Exec<'_>,
    direction: FftDirection,
) -> Result<f64, PropagationError> {
    let rows = nonzero_rows(field);
    if let (Precision::F32, Some(fft32)) = (exec.precision, exec.fft32) {
        // Single precision: the transform in f32, the field kept in f64 between them.
        let mut single = field.mapv(|z| Complex32::new(z.re as f32, z.im as f32));
        let scale = fft32.process_bare(&mut single, direction, exec.par, rows)?;
        Zip::from(field)
            .and(&single)
            .for_each(|d, s| *d = Complex64::new(s.re.into(), s.im.into()));
        return Ok(f64::from(scale));
    }
    Ok(exec.fft()?.process_bare(field, direction, exec.par, rows)?)
}

/// `sign(i) * amplitude * exp(i k x_i^2 / (2 R))` for the rows `i` in `rows` of an
/// `n`-pixel Fresnel array (spacing `scale_m`, axis on pixel `n / 2`): one factor of a
/// separable quadratic phase of radius of curvature `R` (POPPY's `QuadPhase(R)`), with the
/// checkerboard and a scale folded in when asked; no phase for infinite `R`.
fn phase_factors(
    rows: Range<usize>,
    n: usize,
    scale_m: f64,
    radius: f64,
    wavelength: f64,
    checkerboard: bool,
    amplitude: f64,
) -> Vec<Complex64> {
    let k = 2.0 * PI / wavelength;
    let centre = n as f64 / 2.0;
    rows.map(|i| {
        let a = if checkerboard { sign(i) * amplitude } else { amplitude };
        if radius.is_finite() {
            let x = scale_m * (i as f64 - centre);
            Complex64::from_polar(a, k * (x * x) / (2.0 * radius))
        } else {
            Complex64::new(a, 0.0)
        }
    })
    .collect()
}

/// Propagation over a distance (POPPY's `FresnelWavefront.propagate_fresnel`).
#[derive(Debug)]
pub(crate) struct FresnelPropagate {
    pub(crate) distance: f64,
    pub(crate) npix: usize,
}

impl FresnelPropagate {
    /// Plane to plane by the angular spectrum (POPPY's `_propagate_ptp`): on the centred
    /// array the shifts cancel, so it is the bare forward transform, the transfer function
    /// (with both 1/N factors), and the bare inverse.
    fn plane_to_plane(
        wf: &mut Wavefront,
        exec: &Exec<'_>,
        dz: f64,
    ) -> Result<(), PropagationError> {
        let (scale, mut beam) = fresnel_of(wf, "fresnel propagation")?;
        if dz.abs() < 1e-10 {
            return Ok(());
        }
        // Both transforms have the same 1/N factor, applied here together.
        let s1 = transform(&mut wf.field, exec, FftDirection::ImageToPupil)?;
        transfer_function(&mut wf.field, scale, dz, wf.wavelength, s1 * s1);
        transform(&mut wf.field, exec, FftDirection::PupilToImage)?;
        beam.z += dz;
        set_fresnel(wf, scale, beam);
        Ok(())
    }

    /// From the waist to a spherical reference surface (POPPY's `_propagate_wts`):
    /// `C (Q x)` transformed, times `C / N`.
    fn waist_to_spherical(
        wf: &mut Wavefront,
        exec: &Exec<'_>,
        dz: f64,
    ) -> Result<(), PropagationError> {
        let (scale, mut beam) = fresnel_of(wf, "fresnel propagation")?;
        if dz == 0.0 {
            return Ok(());
        }
        let n = wf.field.nrows();
        let pre = phase_factors(0..n, n, scale, dz, wf.wavelength, true, 1.0);
        separable(&mut wf.field.view_mut(), &pre, &pre);
        let direction =
            if dz > 0.0 { FftDirection::PupilToImage } else { FftDirection::ImageToPupil };
        let s = transform(&mut wf.field, exec, direction)?;
        let post = phase_factors(0..n, n, scale, f64::INFINITY, wf.wavelength, true, s.sqrt());
        separable(&mut wf.field.view_mut(), &post, &post);
        let new_scale = wf.wavelength * dz.abs() / (n as f64 * scale);
        beam.z += dz;
        beam.spherical = true;
        set_fresnel(wf, new_scale, beam);
        Ok(())
    }

    /// From a spherical reference surface to the waist (POPPY's `_propagate_stw`): `C x`
    /// transformed, times `Q' C / N` on the new pixel scale.
    fn spherical_to_waist(
        wf: &mut Wavefront,
        exec: &Exec<'_>,
        dz: f64,
    ) -> Result<(), PropagationError> {
        let (scale, mut beam) = fresnel_of(wf, "fresnel propagation")?;
        if dz == 0.0 {
            return Ok(());
        }
        let n = wf.field.nrows();
        let new_scale = wf.wavelength * dz.abs() / (n as f64 * scale);
        checkerboard(&mut wf.field);
        let direction =
            if dz > 0.0 { FftDirection::PupilToImage } else { FftDirection::ImageToPupil };
        let s = transform(&mut wf.field, exec, direction)?;
        let post = phase_factors(0..n, n, new_scale, dz, wf.wavelength, true, s.sqrt());
        separable(&mut wf.field.view_mut(), &post, &post);
        beam.z += dz;
        beam.spherical = false;
        set_fresnel(wf, new_scale, beam);
        Ok(())
    }
}

impl Step for FresnelPropagate {
    fn name(&self) -> &str {
        "fresnel propagation"
    }

    fn apply(
        &self,
        wf: &mut Wavefront,
        exec: &Exec<'_>,
        _: &mut Scratch,
    ) -> Result<(), PropagationError> {
        let (_, beam) = fresnel_of(wf, self.name())?;
        let wl = wf.wavelength;
        let target = beam.z + self.distance;
        let to_waist = beam.waist_z - beam.z;
        let from_waist = target - beam.waist_z;
        match (beam.spherical, beam.planar_at(target, wl)) {
            (false, true) => Self::plane_to_plane(wf, exec, self.distance),
            (false, false) => {
                Self::plane_to_plane(wf, exec, to_waist)?;
                Self::waist_to_spherical(wf, exec, from_waist)
            }
            (true, true) => {
                Self::spherical_to_waist(wf, exec, to_waist)?;
                Self::plane_to_plane(wf, exec, from_waist)
            }
            (true, false) => {
                Self::spherical_to_waist(wf, exec, to_waist)?;
                Self::waist_to_spherical(wf, exec, from_waist)
            }
        }
    }

    fn memory(&self) -> StepMemory {
        StepMemory::new(0, (self.npix * self.npix) as u64 * C)
    }
}

/// A Gaussian-beam lens (POPPY's `FresnelWavefront.apply_lens_power`): the beam's new waist
/// and position, and the quadratic phase its reference surface does not carry.
#[derive(Debug)]
pub(crate) struct FresnelLens {
    pub(crate) plane: usize,
    pub(crate) focal_length: f64,
    /// The rows (and columns) outside which the field is known to be zero: the entrance
    /// square, before the light has propagated.
    pub(crate) support: Option<Range<usize>>,
}

impl FresnelLens {
    /// The new beam after a lens of focal length `fl` and the radius of curvature of the
    /// phase to apply (POPPY's `z_eff`, applied as `QuadPhase(-z_eff)`).
    pub(crate) fn refract(beam: &GaussianBeam, fl: f64, wavelength: f64) -> (GaussianBeam, f64) {
        let mut out = *beam;
        let spot = beam.spot_radius(beam.z, wavelength);
        let zr = beam.rayleigh_distance(wavelength);
        let rc = beam.radius_of_curvature(beam.z, wavelength);
        let (r_in, r_out) = if (beam.waist_z - beam.z).abs() > beam.rayleigh_factor * zr {
            (beam.z - beam.waist_z, 1.0 / (1.0 / rc - 1.0 / fl))
        } else {
            (f64::INFINITY, -fl)
        };
        if rc == fl {
            out.waist_z = beam.z;
            out.waist_radius = spot;
        } else {
            let a = wavelength * r_out / (PI * spot * spot);
            out.waist_z = -r_out / (1.0 + a * a) + beam.z;
            let b = PI * spot * spot / (wavelength * r_out);
            out.waist_radius = spot / (1.0 + b * b).sqrt();
        }
        // The phase term uses the new waist and Rayleigh distance, as POPPY does.
        let zr_new = out.rayleigh_distance(wavelength);
        let z_eff = if !beam.spherical {
            if (out.waist_z - beam.z).abs() < zr_new {
                fl
            } else {
                out.spherical = true;
                1.0 / (1.0 / fl + 1.0 / (beam.z - out.waist_z))
            }
        } else if (out.waist_z - beam.z).abs() > zr_new {
            1.0 / (1.0 / fl + 1.0 / (beam.z - out.waist_z) - 1.0 / r_in)
        } else {
            out.spherical = false;
            1.0 / (1.0 / fl - 1.0 / r_in)
        };
        (out, -z_eff)
    }
}

impl Step for FresnelLens {
    fn name(&self) -> &str {
        "quadratic lens"
    }

    fn planes(&self) -> Option<Range<usize>> {
        Some(self.plane..self.plane + 1)
    }

    fn apply(
        &self,
        wf: &mut Wavefront,
        _: &Exec<'_>,
        _: &mut Scratch,
    ) -> Result<(), PropagationError> {
        let (scale, beam) = fresnel_of(wf, self.name())?;
        let (beam, radius) = Self::refract(&beam, self.focal_length, wf.wavelength);
        if radius.is_finite() {
            // Only the support when the field is known to be zero outside it.
            let n = wf.field.nrows();
            let rows = self.support.clone().unwrap_or(0..n);
            let factors = phase_factors(rows.clone(), n, scale, radius, wf.wavelength, false, 1.0);
            separable(&mut wf.field.slice_mut(s![rows.clone(), rows]), &factors, &factors);
        }
        set_fresnel(wf, scale, beam);
        Ok(())
    }
}

/// Consecutive optics at one plane of a Fresnel system: sampled once when the plane has the
/// entrance pupil's pixel scale, else on the current pixel scale each time.
#[derive(Debug)]
pub(crate) struct FresnelOptics {
    pub(crate) planes: Range<usize>,
    pub(crate) optics: Vec<Arc<dyn PupilOptic>>,
    /// The arrays sampled at the plan's entrance pixel scale, when the plane has it; cut to
    /// `support` when that is set.
    pub(crate) arrays: Option<(f64, Arc<PupilArrays>)>,
    /// The rows (and columns) outside which the field is zero (the entrance square before
    /// any propagation): only they are multiplied.
    pub(crate) support: Option<Range<usize>>,
}

/// The combined arrays of `optics` on `grid`.
fn sample_optics(optics: &[Arc<dyn PupilOptic>], grid: &PupilGrid) -> PupilArrays {
    let mut arrays = PupilArrays { transmission: None, opd: None, phase: None };
    for o in optics {
        combine(&mut arrays, o.transmission(grid), o.opd(grid), o.phase(grid));
    }
    arrays
}

impl Step for FresnelOptics {
    fn name(&self) -> &str {
        "fresnel optics"
    }

    fn planes(&self) -> Option<Range<usize>> {
        Some(self.planes.clone())
    }

    fn apply(
        &self,
        wf: &mut Wavefront,
        _: &Exec<'_>,
        _: &mut Scratch,
    ) -> Result<(), PropagationError> {
        let (scale, _) = fresnel_of(wf, self.name())?;
        let k = 2.0 * PI / wf.wavelength;
        match &self.arrays {
            Some((sc, arrays)) if *sc == scale => match &self.support {
                Some(r) => {
                    apply_pupil_view(&mut wf.field.slice_mut(s![r.clone(), r.clone()]), arrays, k)
                }
                None => apply_pupil(&mut wf.field, arrays, k),
            },
            _ => {
                let grid = PupilGrid::fresnel(wf.field.nrows(), scale)?;
                apply_pupil(&mut wf.field, &sample_optics(&self.optics, &grid), k);
            }
        }
        Ok(())
    }

    fn memory(&self) -> StepMemory {
        let resident = self.arrays.as_ref().map_or(0, |(_, a)| a.bytes());
        StepMemory::new(resident, 0)
    }
}

/// Scales the field to unit total intensity: POPPY's "first" normalisation, after the
/// first optic.
#[derive(Debug)]
pub(crate) struct Normalize {
    /// Rows and columns outside which the field is zero, if known.
    pub(crate) support: Option<Range<usize>>,
}

impl Step for Normalize {
    fn name(&self) -> &str {
        "normalise"
    }

    fn apply(
        &self,
        wf: &mut Wavefront,
        _: &Exec<'_>,
        _: &mut Scratch,
    ) -> Result<(), PropagationError> {
        let mut view = match &self.support {
            Some(r) => wf.field.slice_mut(s![r.clone(), r.clone()]),
            None => wf.field.view_mut(),
        };
        let total: f64 = view.iter().map(|z| z.norm_sqr()).sum();
        let root = total.sqrt();
        if root == 0.0 || !root.is_finite() {
            return Err(PropagationError::System(
                "the first optic transmits no light on this pupil grid".into(),
            ));
        }
        view.mapv_inplace(|z| z / root);
        Ok(())
    }
}

/// A not-a-knot cubic spline through equally spaced samples, evaluated at other points:
/// the interpolant of scipy's `RectBivariateSpline` with `s = 0` and cubic order, one axis
/// at a time. Points outside the samples take the end values (FITPACK clamps them).
#[derive(Debug)]
struct Spline1d {
    /// Number of samples.
    n: usize,
    /// Thomas-algorithm factors of the interior system `M[i-1] + 4 M[i] + M[i+1]`.
    c_prime: Vec<f64>,
    /// For each output point: the interval index and the two local coordinates.
    eval: Vec<(usize, f64, f64)>,
}

impl Spline1d {
    /// Samples at `x0 + h i` (`i < n`), outputs at `outputs`.
    fn new(n: usize, x0: f64, h: f64, outputs: &[f64]) -> Self {
        // Interior unknowns M[2..n-2] (M[1] and M[n-2] follow directly from not-a-knot).
        let m = n.saturating_sub(4);
        let mut c_prime = vec![0.0; m];
        let mut prev = 0.0;
        for (i, c) in c_prime.iter_mut().enumerate() {
            let denom = 4.0 - if i == 0 { 0.0 } else { prev };
            *c = 1.0 / denom;
            prev = *c;
        }
        let last = x0 + h * (n - 1) as f64;
        let eval = outputs
            .iter()
            .map(|&x| {
                let x = x.clamp(x0, last);
                let t = (x - x0) / h;
                let i = (t.floor() as usize).min(n - 2);
                let a = t - i as f64; // distance from sample i, in samples
                (i, a, 1.0 - a)
            })
            .collect();
        Spline1d { n, c_prime, eval }
    }

    /// Second derivatives (times h^2) of the spline through `y`.
    fn moments(&self, y: &[Complex64], m: &mut [Complex64]) {
        let n = self.n;
        let zero = Complex64::new(0.0, 0.0);
        if n < 4 {
            m.iter_mut().for_each(|v| *v = zero);
            if n == 3 {
                // A single parabola through three points.
                let d = y[0] - 2.0 * y[1] + y[2];
                m.iter_mut().for_each(|v| *v = d);
            }
            return;
        }
        let r = |i: usize| 6.0 * (y[i - 1] - 2.0 * y[i] + y[i + 1]);
        m[1] = r(1) / 6.0;
        m[n - 2] = r(n - 2) / 6.0;
        if n == 4 {
            m[0] = 2.0 * m[1] - m[2];
            m[3] = 2.0 * m[2] - m[1];
            return;
        }
        // Tridiagonal solve for M[2..=n-3] with M[1], M[n-2] known.
        let k = n - 4;
        let mut d = vec![zero; k];
        for (idx, i) in (2..=n - 3).enumerate() {
            let mut rhs = r(i);
            if i == 2 {
                rhs -= m[1];
            }
            if i == n - 3 {
                rhs -= m[n - 2];
            }
            d[idx] = if idx == 0 { rhs / 4.0 } else { (rhs - d[idx - 1]) * self.c_prime[idx] };
        }
        for idx in (0..k).rev() {
            let next = if idx + 1 < k { m[idx + 3] } else { zero };
            let v = if idx + 1 < k { d[idx] - self.c_prime[idx] * next } else { d[idx] };
            m[idx + 2] = v;
        }
        m[0] = 2.0 * m[1] - m[2];
        m[n - 1] = 2.0 * m[n - 2] - m[n - 3];
    }

    /// The spline through `y` at the output points.
    fn apply(&self, y: &[Complex64], m: &mut [Complex64], out: &mut [Complex64]) {
        self.moments(y, m);
        for (o, &(i, a, b)) in out.iter_mut().zip(&self.eval) {
            *o = y[i] * b
                + y[i + 1] * a
                + (m[i] * (b * b * b - b) + m[i + 1] * (a * a * a - a)) / 6.0;
        }
    }
}

/// The last plane resampled to the detector (POPPY's
/// `FresnelWavefront._resample_wavefront_pixelscale`): the complex field, padded by one
/// pixel, interpolated by cubic splines onto the detector's pixels and scaled by the pixel
/// scale ratio to conserve energy; within 0.1% of the detector's pixel scale the field is
/// only padded or cropped.
#[derive(Debug)]
pub(crate) struct FresnelToDetector {
    pub(crate) detector: FresnelDetector,
}

impl Step for FresnelToDetector {
    fn name(&self) -> &str {
        "resample to detector"
    }

    fn apply(
        &self,
        wf: &mut Wavefront,
        _: &Exec<'_>,
        _: &mut Scratch,
    ) -> Result<(), PropagationError> {
        let (scale, beam) = fresnel_of(wf, self.name())?;
        let out_n = self.detector.fov_pixels;
        let out_scale = self.detector.pixelscale_m;
        let ratio = scale / out_scale;
        let n = wf.field.nrows();
        let new = if (ratio - 1.0).abs() < 1e-3 {
            pad_or_crop(&wf.field, out_n)
        } else {
            // The field padded by one pixel each side, on axis coordinates
            // scale * (i - (n + 2) / 2); the detector's at out_scale * (k - ceil(m / 2)).
            let np = n + 2;
            let x0 = -scale * (np / 2) as f64;
            let start = -((out_n as f64) / 2.0).ceil();
            let outputs: Vec<f64> = (0..out_n).map(|k| out_scale * (start + k as f64)).collect();
            let spline = Spline1d::new(np, x0, scale, &outputs);
            let padded = pad_or_crop(&wf.field, np);
            let zero = Complex64::new(0.0, 0.0);
            // Along the rows (axis 0) for every column, then along the columns.
            let mut cols = Array2::from_elem((np, out_n), zero);
            let mut m = vec![zero; np];
            let mut line = vec![zero; np];
            let mut res = vec![zero; out_n];
            for j in 0..np {
                for (l, v) in line.iter_mut().zip(padded.column(j)) {
                    *l = *v;
                }
                spline.apply(&line, &mut m, &mut res);
                // cols is (np, out_n) transposed storage: column j of the input becomes
                // row j holding out_n values along axis 0 of the output.
                cols.row_mut(j).iter_mut().zip(&res).for_each(|(c, r)| *c = *r);
            }
            let mut out = Array2::from_elem((out_n, out_n), zero);
            for i in 0..out_n {
                for (l, v) in line.iter_mut().zip(cols.column(i)) {
                    *l = *v;
                }
                spline.apply(&line, &mut m, &mut res);
                out.row_mut(i).iter_mut().zip(&res).for_each(|(o, r)| *o = *r / ratio);
            }
            out
        };
        wf.field = new;
        set_fresnel(wf, out_scale, beam);
        Ok(())
    }

    fn memory(&self) -> StepMemory {
        let m = self.detector.fov_pixels as u64;
        StepMemory::new(0, 2 * m * m * C)
    }
}

/// `a` zero-padded or cropped about its centre to `m x m` (POPPY's `pad_or_crop_to_shape`:
/// offsets `|n - m| / 2`, rounded down).
fn pad_or_crop(a: &Array2<Complex64>, m: usize) -> Array2<Complex64> {
    let n = a.nrows();
    let zero = Complex64::new(0.0, 0.0);
    if m >= n {
        let o = (m - n) / 2;
        let mut out = Array2::from_elem((m, m), zero);
        out.slice_mut(s![o..o + n, o..o + n]).assign(a);
        out
    } else {
        let o = (n - m) / 2;
        a.slice(s![o..o + m, o..o + m]).to_owned()
    }
}

/// A Fresnel system prepared for computing: the steps in order, the optics at the entrance
/// pixel scale sampled once, the FFT planned on first use.
#[derive(Debug)]
pub struct FresnelPlan {
    npix: usize,
    n: usize,
    pupil_scale: f64,
    pupil_diameter: f64,
    beam_ratio: f64,
    steps: Vec<Box<dyn Step>>,
    detector: Option<FresnelDetector>,
    /// The number of optics (the detector's plane index).
    n_optics: usize,
    /// Whether the light never leaves the entrance plane (no distance anywhere): the
    /// output is then the unpadded pupil, as POPPY writes a pupil-plane wavefront.
    stays_in_pupil: bool,
    /// The optics before the first distance (lenses aside: they change the beam, not the
    /// pupil), for pictures of the entrance pupil.
    entrance: Vec<Arc<dyn PupilOptic>>,
    mfts: MftCache<f64>,
    mfts32: MftCache<f32>,
    ffts: Mutex<Vec<crate::plan::FftPlanEntry>>,
    /// Single-precision FFT plans, made when asked for.
    ffts32: Mutex<Vec<FftPlan32>>,
    scratch: Mutex<Vec<Scratch>>,
}

impl FresnelPlan {
    /// Checks `system`, samples its entrance-plane optics and lays out the steps.
    ///
    /// # Errors
    ///
    /// [`PropagationError::System`] for a system without optics, and
    /// [`PropagationError::Memory`] when one wavelength's arrays would not fit in the free
    /// memory.
    pub fn new(system: &FresnelSystem) -> Result<Self, PropagationError> {
        Self::build(system, true)
    }

    /// As [`FresnelPlan::new`], with every optic a step of its own followed by a recording,
    /// so that [`FresnelPlan::compute_with_planes`] reports every plane.
    ///
    /// # Errors
    ///
    /// As [`FresnelPlan::new`].
    pub fn new_plane_by_plane(system: &FresnelSystem) -> Result<Self, PropagationError> {
        Self::build(system, false)
    }

    fn build(system: &FresnelSystem, merge: bool) -> Result<Self, PropagationError> {
        let elements = system.elements();
        if elements.is_empty() {
            return Err(PropagationError::System("the system has no optics".into()));
        }
        let n = system.array_npix();
        let npix = system.npix();
        let grid = system.grid()?;
        // One wavelength: the field, the arrays sampled away from the entrance, and the
        // detector's; resident: the entrance arrays (up to three n x n arrays).
        let field = (n * n) as u64 * C;
        let det = system.detector().map_or(0, |d| 2 * (d.fov_pixels * d.fov_pixels) as u64 * C);
        crate::plan::fits_in_memory(field * 3 + det + (n * n) as u64 * 24)?;

        let mut steps: Vec<Box<dyn Step>> = Vec::new();
        let mut at_entrance = true;
        let o = entrance_offset(npix, system.oversample());
        let square = o..o + npix;
        // Until the light propagates, it is zero outside the entrance square.
        let support = |at_entrance: bool| at_entrance.then(|| square.clone());
        let mut i = 0;
        while i < elements.len() {
            let e = &elements[i];
            if e.distance_m != 0.0 {
                steps.push(Box::new(FresnelPropagate { distance: e.distance_m, npix: n }));
                at_entrance = false;
            }
            if let Some(fl) = e.optic.lens_focal_length() {
                steps.push(Box::new(FresnelLens {
                    plane: i,
                    focal_length: fl,
                    support: support(at_entrance),
                }));
                if i == 0 {
                    steps.push(Box::new(Normalize { support: support(at_entrance) }));
                }
                steps.push(Box::new(RecordPlane {
                    planes: i..i + 1,
                    kind: e.optic.kind(),
                    image_plane: false,
                }));
                i += 1;
                continue;
            }
            // Merge following optics at the same plane (distance 0), up to a lens, unless
            // every plane is to be reported; the first optic stays alone for the
            // normalisation after it.
            let mut j = i + 1;
            while merge
                && i > 0
                && j < elements.len()
                && elements[j].distance_m == 0.0
                && elements[j].optic.lens_focal_length().is_none()
            {
                j += 1;
            }
            let optics: Vec<Arc<dyn PupilOptic>> =
                elements[i..j].iter().map(|e| Arc::clone(&e.optic)).collect();
            let arrays = at_entrance.then(|| {
                let full = sample_optics(&optics, &grid);
                let cut = |a: &Option<Array2<f64>>| {
                    a.as_ref().map(|a| a.slice(s![square.clone(), square.clone()]).to_owned())
                };
                let a = Arc::new(PupilArrays {
                    transmission: cut(&full.transmission),
                    opd: cut(&full.opd),
                    phase: cut(&full.phase),
                });
                (grid.pixelscale(), a)
            });
            steps.push(Box::new(FresnelOptics {
                planes: i..j,
                optics,
                arrays,
                support: support(at_entrance),
            }));
            if i == 0 {
                steps.push(Box::new(Normalize { support: support(at_entrance) }));
            }
            steps.push(Box::new(RecordPlane {
                planes: i..j,
                kind: elements[i].optic.kind(),
                image_plane: false,
            }));
            i = j;
        }
        if let Some(d) = system.detector() {
            if d.distance_m != 0.0 {
                steps.push(Box::new(FresnelPropagate { distance: d.distance_m, npix: n }));
                at_entrance = false;
            }
            steps.push(Box::new(FresnelToDetector { detector: *d }));
        }
        let entrance: Vec<Arc<dyn PupilOptic>> = elements
            .iter()
            .take_while(|e| e.distance_m == 0.0)
            .filter(|e| e.optic.lens_focal_length().is_none())
            .map(|e| Arc::clone(&e.optic))
            .collect();
        Ok(FresnelPlan {
            npix,
            n,
            pupil_scale: grid.pixelscale(),
            pupil_diameter: system.pupil_diameter(),
            beam_ratio: system.beam_ratio(),
            steps,
            detector: system.detector().copied(),
            n_optics: elements.len(),
            stays_in_pupil: at_entrance && system.detector().is_none(),
            entrance,
            mfts: MftCache::with_capacity_bytes(0),
            mfts32: MftCache::with_capacity_bytes(0),
            ffts: Mutex::new(Vec::new()),
            ffts32: Mutex::new(Vec::new()),
            scratch: Mutex::new(Vec::new()),
        })
    }

    /// Pixels across the zero-padded arrays.
    pub fn array_npix(&self) -> usize {
        self.n
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Box<dyn Step>] {
        &self.steps
    }

    /// The entrance pupil's amplitude on the padded grid: the entrance square times the
    /// combined transmission of the optics before the first distance (sampled on call).
    pub fn transmission(&self) -> Array2<f64> {
        let arrays = self.sample_entrance();
        let mut t = Array2::zeros((self.n, self.n));
        let o = entrance_offset(self.npix, 1.0 / self.beam_ratio);
        t.slice_mut(s![o..o + self.npix, o..o + self.npix]).fill(1.0);
        if let Some(a) = &arrays.transmission {
            t *= a;
        }
        t
    }

    /// The combined OPD in metres of the optics before the first distance, if any (sampled
    /// on call).
    pub fn opd(&self) -> Option<Array2<f64>> {
        self.sample_entrance().opd
    }

    fn sample_entrance(&self) -> PupilArrays {
        match PupilGrid::fresnel(self.n, self.pupil_scale) {
            Ok(grid) => sample_optics(&self.entrance, &grid),
            Err(_) => PupilArrays { transmission: None, opd: None, phase: None },
        }
    }

    /// The entrance pupil's pixel scale, metres.
    pub fn pupil_pixelscale(&self) -> f64 {
        self.pupil_scale
    }

    /// The shape of the output: the detector's, the padded array's, or the unpadded pupil
    /// when the light never leaves the entrance plane.
    pub fn output_npix(&self) -> usize {
        match (&self.detector, self.stays_in_pupil) {
            (Some(d), _) => d.fov_pixels,
            (None, true) => self.npix,
            (None, false) => self.n,
        }
    }

    /// Memory one wavelength needs while it runs, bytes.
    pub fn bytes_per_wavelength(&self) -> u64 {
        let field = (self.n * self.n) as u64 * C;
        // The field, arrays sampled at planes away from the entrance (transmission, OPD and
        // the sum as they are combined), and the largest step's own working memory.
        field
            + (self.n * self.n) as u64 * 24
            + self.steps.iter().map(|s| s.memory().working).max().unwrap_or(0)
    }

    /// The wavefront entering the system: unit amplitude over the `npix x npix` entrance
    /// square, centred in the padded array as POPPY's `pad_to_oversample`, at z = 0 with
    /// its waist there (radius half the pupil diameter).
    ///
    /// # Errors
    ///
    /// [`PropagationError::Invalid`] for a wavelength that is not finite and > 0.
    pub fn input_wavefront(&self, wavelength: f64) -> Result<Wavefront, PropagationError> {
        if !(wavelength.is_finite() && wavelength > 0.0) {
            return Err(PropagationError::invalid(
                "wavelength_m",
                wavelength,
                "must be a finite number > 0",
            ));
        }
        self.input_wavefront_in(wavelength, Array2::zeros((self.n, self.n)))
    }

    /// The input wavefront in `field`, a zeroed `n x n` array.
    fn input_wavefront_in(
        &self,
        wavelength: f64,
        mut field: Array2<Complex64>,
    ) -> Result<Wavefront, PropagationError> {
        if !(wavelength.is_finite() && wavelength > 0.0) {
            return Err(PropagationError::invalid(
                "wavelength_m",
                wavelength,
                "must be a finite number > 0",
            ));
        }
        let o = entrance_offset(self.npix, 1.0 / self.beam_ratio);
        field.slice_mut(s![o..o + self.npix, o..o + self.npix]).fill(Complex64::new(1.0, 0.0));
        Ok(Wavefront::new(
            field,
            wavelength,
            Sampling::Fresnel {
                m_per_px: self.pupil_scale,
                centre: self.n as f64 / 2.0,
                beam: GaussianBeam::new(self.pupil_diameter / 2.0),
            },
        ))
    }

    /// Runs one wavelength step by step, calling `inspect` after each step with its index,
    /// the step and the wavefront (its sampling carries the pixel scale, z and beam);
    /// returns the final wavefront (before any cut to the unpadded pupil).
    ///
    /// # Errors
    ///
    /// As [`FresnelPlan::compute`].
    pub fn propagate(
        &self,
        wavelength: f64,
        opts: &ComputeOptions,
        mut inspect: impl FnMut(usize, &dyn Step, &Wavefront),
    ) -> Result<Wavefront, PropagationError> {
        let mut wf = self.input_wavefront(wavelength)?;
        let fft = self.fft_plan(opts.fft.ensure_compiled()?, opts.fftw_threads)?;
        let fft32 = self.fft32_plan(opts)?;
        let schedule = self.schedule(1, opts)?;
        let exec = self.exec(
            opts.gemm,
            schedule.kernel_par,
            self.precision_for(opts.precision),
            &fft,
            &fft32,
        );
        let mut scratch = self.take_scratch();
        let mut result = Ok(());
        for (i, step) in self.steps.iter().enumerate() {
            result = step.apply(&mut wf, &exec, &mut scratch);
            if result.is_err() {
                break;
            }
            inspect(i, step.as_ref(), &wf);
        }
        self.return_scratch(scratch);
        result.map(|()| wf)
    }

    fn exec<'a>(
        &'a self,
        gemm: GemmBackend,
        par: Par,
        precision: Precision,
        fft: &'a Fft2d<f64>,
        fft32: &'a Option<Arc<Fft2d<f32>>>,
    ) -> Exec<'a> {
        Exec {
            gemm,
            par,
            precision,
            fft: Some(fft),
            fft32: fft32.as_deref(),
            mfts: &self.mfts,
            mfts32: &self.mfts32,
        }
    }

    /// The single-precision FFT plan, when `opts` asks for single precision.
    /// The precision a computation asked for `asked` runs in: [`Precision::Auto`] is double
    /// precision in a Fresnel plan. Single-precision FFTs would keep within the bound (6e-7
    /// of double on the reference scenes) but are not faster here: converting the field to
    /// and from f32 around each FFT costs what the narrower transform saves (fresnel_hubble_512:
    /// 1.50 s in f32 against 1.18 s in f64).
    pub fn precision_for(&self, asked: Precision) -> Precision {
        asked.resolve(true)
    }

    fn fft32_plan(
        &self,
        opts: &ComputeOptions,
    ) -> Result<Option<Arc<Fft2d<f32>>>, PropagationError> {
        if self.precision_for(opts.precision) != Precision::F32 {
            return Ok(None);
        }
        let backend = opts.fft.ensure_compiled()?;
        crate::plan::cached_fft(&self.ffts32, (self.n, self.n), backend, opts.fftw_threads)
            .map(Some)
    }

    fn take_scratch(&self) -> Scratch {
        self.scratch.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or_default()
    }

    fn return_scratch(&self, mut scratch: Scratch) {
        scratch.records = None;
        scratch.record_fields = false;
        self.scratch.lock().unwrap_or_else(|e| e.into_inner()).push(scratch);
    }

    fn fft_plan(
        &self,
        backend: FftBackend,
        fftw_threads: usize,
    ) -> Result<Arc<Fft2d<f64>>, PropagationError> {
        crate::plan::cached_fft(&self.ffts, (self.n, self.n), backend, fftw_threads)
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
        crate::plan::schedule_for(n_wavelengths, self.bytes_per_wavelength(), opts)
    }

    /// The polychromatic result: each wavelength's intensity at the last plane, weighted
    /// and summed pixel by pixel in wavelength order (as POPPY sums Fresnel outputs, whose
    /// pixel scales differ between wavelengths unless a detector resamples them). The
    /// [`Psf`]'s `fresnel` field gives the first wavelength's pixel scale in metres and z.
    ///
    /// # Errors
    ///
    /// [`PropagationError::Memory`] when the workers would need more memory than is free;
    /// [`PropagationError::System`] for a source with an offset (Fresnel systems take
    /// on-axis sources, as POPPY's); [`PropagationError::Transform`] for a backend missing
    /// from this build.
    pub fn compute(&self, source: &Source, opts: &ComputeOptions) -> Result<Psf, PropagationError> {
        Ok(self.run(source, opts, Record::Off)?.0)
    }

    /// As [`FresnelPlan::compute`], with the intensity after every optic (plan with
    /// [`FresnelPlan::new_plane_by_plane`] to see each optic on its own).
    ///
    /// # Errors
    ///
    /// As [`FresnelPlan::compute`].
    pub fn compute_with_planes(
        &self,
        source: &Source,
        opts: &ComputeOptions,
    ) -> Result<(Psf, Vec<PlaneImage>), PropagationError> {
        self.run(source, opts, Record::Planes)
    }

    /// As [`FresnelPlan::compute_with_planes`], each plane with its complex field (the
    /// wavelengths' fields weighted and summed, as POPPY's `return_intermediates`), and the
    /// field on the detector as the last plane (index: the number of optics; kind
    /// `"detector"`) when the system has one.
    ///
    /// # Errors
    ///
    /// As [`FresnelPlan::compute`].
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
        let record = mode != Record::Off;
        let (tx, ty) = source.tilt_arcsec();
        if tx != 0.0 || ty != 0.0 {
            return Err(PropagationError::System(
                "a Fresnel system takes an on-axis source; remove the source offset".into(),
            ));
        }
        let gemm = opts.gemm.ensure_compiled()?;
        let fft_backend = opts.fft.ensure_compiled()?;
        let wavelengths = source.wavelengths();
        let weights = source.normalized_weights();
        let schedule = self.schedule(wavelengths.len(), opts)?;
        crate::plan::fits_in_memory(schedule.workers as u64 * self.bytes_per_wavelength())?;
        let fft = self.fft_plan(fft_backend, opts.fftw_threads)?;
        let fft32 = self.fft32_plan(opts)?;
        let out_n = self.output_npix();
        type One = (Array2<f64>, f64, f64, Option<Vec<Recorded>>);
        let one = |wl: f64, par: Par| -> Result<One, PropagationError> {
            let exec = self.exec(gemm, par, self.precision_for(opts.precision), &fft, &fft32);
            let _done = crate::plan::ProgressGuard(opts.on_wavelength_done.as_ref());
            let mut scratch = self.take_scratch();
            scratch.records = record.then(Vec::new);
            let run = (|| {
                // The field's storage is kept from one wavelength to the next.
                let buffer = scratch.take_buffer(self.n * self.n);
                let field = Array2::from_shape_vec((self.n, self.n), buffer)
                    .expect("a buffer of n * n values");
                let mut wf = self.input_wavefront_in(wl, field)?;
                for step in &self.steps {
                    step.apply(&mut wf, &exec, &mut scratch)?;
                }
                let (scale, beam) = fresnel_of(&wf, "output")?;
                if mode == Record::Fields && self.detector.is_some() {
                    scratch.record(Recorded {
                        planes: self.n_optics..self.n_optics + 1,
                        kind: "detector",
                        image_plane: false,
                        field: wf.field.clone(),
                        pixelscale: scale,
                        z_m: Some(beam.z),
                    });
                }
                let intensity = if self.stays_in_pupil {
                    let o = entrance_offset(self.npix, 1.0 / self.beam_ratio);
                    wf.field.slice(s![o..o + self.npix, o..o + self.npix]).mapv(|z| z.norm_sqr())
                } else {
                    wf.field.mapv(|z| z.norm_sqr())
                };
                scratch.give_back_field(wf.field);
                Ok::<_, PropagationError>((intensity, scale, beam.z))
            })();
            let records = scratch.records.take();
            self.return_scratch(scratch);
            let (intensity, scale, z) = run?;
            Ok((intensity, scale, z, records))
        };
        let mut total = Array2::zeros((out_n, out_n));
        let mut plane_images: Vec<PlaneImage> = Vec::new();
        let with_phase = wavelengths.len() == 1;
        let (mut first_scale, mut first_z) = (f64::NAN, f64::NAN);
        // Wavelengths in chunks of one per worker, each chunk summed in wavelength order
        // before the next starts: the result does not depend on the workers, and at most
        // one intensity array per worker is held (Fresnel arrays are large).
        let chunk = schedule.workers.max(1);
        let mut w_index = 0;
        for (wls, ws) in wavelengths.chunks(chunk).zip(weights.chunks(chunk)) {
            // A last chunk shorter than the workers gives the idle cores to its kernels.
            let chunk_schedule = self.schedule(wls.len(), opts)?;
            let results: Vec<One> = map_ordered(&chunk_schedule, wls, |_, &wl, par| one(wl, par))
                .map_err(|e| e.source)?;
            for ((img, scale, z, records), w) in results.into_iter().zip(ws) {
                if w_index == 0 {
                    (first_scale, first_z) = (scale, z);
                }
                total.scaled_add(*w, &img);
                crate::plan::add_records(
                    &mut plane_images,
                    records,
                    *w,
                    mode,
                    with_phase,
                    w_index == 0,
                );
                w_index += 1;
            }
        }
        let psf = Psf {
            image: total,
            pixelscale_arcsec: f64::NAN,
            oversample: 1,
            fov_arcsec: f64::NAN,
            wavelengths: wavelengths.to_vec(),
            weights,
            mean_wavelength: source.mean_wavelength(),
            diffraction_limit_arcsec: crate::steps::lam_d_arcsec(
                wavelengths[0],
                self.pupil_diameter,
            ),
            pupil_diameter: self.pupil_diameter,
            gemm,
            fft: fft_backend,
            precision: self.precision_for(opts.precision),
            workers: schedule.workers,
            jitter: None,
            fresnel: Some(crate::psf::FresnelOutput {
                pixelscale_m: first_scale,
                z_m: first_z,
                beam_ratio: self.beam_ratio,
                npix: self.npix,
            }),
        };
        Ok((psf, plane_images))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diffract_optics::{CircularAperture, QuadraticLens, ScalarTransmission};

    /// POPPY's `_propagate_ptp` written literally: fftshift, forward FFT (1/N), transfer
    /// function in FFT order, inverse FFT (times N), fftshift; to check the centred form.
    fn ptp_literal(x: &Array2<Complex64>, scale: f64, dz: f64, wl: f64) -> Array2<Complex64> {
        let n = x.nrows();
        let shift = |a: &Array2<Complex64>| {
            Array2::from_shape_fn((n, n), |(i, j)| a[[(i + n / 2) % n, (j + n / 2) % n]])
        };
        let dft = |a: &Array2<Complex64>, sign: f64| {
            Array2::from_shape_fn((n, n), |(k, l)| {
                let mut acc = Complex64::new(0.0, 0.0);
                for ((i, j), v) in a.indexed_iter() {
                    let ph = sign * 2.0 * PI * ((i * k + j * l) % n) as f64 / n as f64;
                    acc += v * Complex64::from_polar(1.0, ph);
                }
                acc / n as f64
            })
        };
        let mut y = dft(&shift(x), -1.0);
        transfer_function(&mut y, scale, dz, wl, 1.0);
        shift(&dft(&y, 1.0))
    }

    #[test]
    fn plane_to_plane_matches_poppy_written_literally() {
        let n = 16;
        let x = Array2::from_shape_fn((n, n), |(i, j)| {
            Complex64::new((i as f64 * 0.3).sin() + 1.0, (j as f64 * 0.7).cos())
        });
        let fft = Fft2d::new((n, n), FftBackend::RustFft).unwrap();
        let mfts = MftCache::with_capacity_bytes(0);
        let mfts32 = MftCache::with_capacity_bytes(0);
        let exec = Exec {
            fft32: None,
            gemm: GemmBackend::default(),
            par: Par::Seq,
            precision: Precision::F64,
            fft: Some(&fft),
            mfts: &mfts,
            mfts32: &mfts32,
        };
        let mut wf = Wavefront::new(
            x.clone(),
            1e-6,
            Sampling::Fresnel { m_per_px: 1e-3, centre: 8.0, beam: GaussianBeam::new(4e-3) },
        );
        FresnelPropagate::plane_to_plane(&mut wf, &exec, 0.5).unwrap();
        let expected = ptp_literal(&x, 1e-3, 0.5, 1e-6);
        let err = (&wf.field - &expected).iter().map(|z| z.norm()).fold(0.0, f64::max);
        assert!(err < 1e-12, "centred plane-to-plane differs from the literal form by {err}");
    }

    #[test]
    fn gaussian_beam_after_a_lens_matches_poppy_test_values() {
        // POPPY's test_GaussianBeamParams: w0 = 100 um at 830 nm, 50 mm, lens f = 50 mm
        // after 28 mm more; POPPY asserts w_0, z_w0, z_R to 1e-9 m (round to 9 decimals).
        let wl = 830e-9;
        let mut beam = GaussianBeam::new(100e-6);
        beam.z = 0.05 + 0.028;
        let (out, _) = FresnelLens::refract(&beam, 0.05, wl);
        assert!((out.waist_radius - 0.000_106_198_974_914_644_1).abs() < 1e-9);
        assert!((out.waist_z - 0.159_579_022_364_179_37).abs() < 1e-9);
        assert!((out.rayleigh_distance(wl) - 0.042_688_650_889_351_865).abs() < 1e-9);
    }

    #[test]
    fn energy_is_conserved_through_distances_and_the_detector_keeps_it() {
        let mut sys = FresnelSystem::new("t", 64, 0.1, 0.25).unwrap();
        sys.add_optic(CircularAperture::new(0.04).unwrap(), 0.0).unwrap();
        sys.add_optic(QuadraticLens::new(2.0).unwrap(), 0.0).unwrap();
        sys.add_optic(ScalarTransmission::new(1.0).unwrap(), 1.0).unwrap();
        sys.add_optic(ScalarTransmission::new(1.0).unwrap(), 1.0).unwrap();
        let plan = sys.plan().unwrap();
        let source = Source::monochromatic(1e-6).unwrap();
        let opts = ComputeOptions::default().with_precision(Precision::F64);
        let psf = plan.compute(&source, &opts).unwrap();
        assert!((psf.image.sum() - 1.0).abs() < 1e-12, "{}", psf.image.sum());
    }

    #[test]
    fn the_spline_reproduces_cubics_and_its_not_a_knot_ends() {
        // A cubic is reproduced exactly by a not-a-knot spline, everywhere in range.
        let f = |x: f64| 0.3 * x * x * x - x * x + 2.0 * x - 1.0;
        let xs: Vec<f64> = (0..12).map(|i| -1.3 + 0.37 * i as f64).collect();
        let outs: Vec<f64> = (0..40).map(|k| -1.3 + 0.1 * k as f64).collect();
        let sp = Spline1d::new(12, -1.3, 0.37, &outs);
        let y: Vec<Complex64> = xs.iter().map(|&x| Complex64::new(f(x), -f(x))).collect();
        let mut m = vec![Complex64::new(0.0, 0.0); 12];
        let mut out = vec![Complex64::new(0.0, 0.0); 40];
        sp.apply(&y, &mut m, &mut out);
        for (o, &x) in out.iter().zip(&outs) {
            let x = x.min(-1.3 + 0.37 * 11.0);
            assert!((o.re - f(x)).abs() < 1e-12 && (o.im + f(x)).abs() < 1e-12, "{x}: {o}");
        }
    }
}
