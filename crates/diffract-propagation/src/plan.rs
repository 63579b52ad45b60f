//! The PSF plan: optics sampled once, then monochromatic PSFs by MFT, summed over
//! wavelengths in a fixed order.

use crate::{Detector, OpticalSystem, PropagationError, Psf, Source, ARCSEC_PER_RAD};
use diffract_optics::PupilGrid;
use diffract_parallel::{map_ordered, Par, Schedule, ScheduleOptions};
use diffract_transforms::{GemmBackend, MftCache, MftDirection, MftGeometry};
use ndarray::{Array2, Zip};
use num_complex::Complex64;
use std::f64::consts::PI;

/// How to run a computation: backends and workers.
#[derive(Clone, Debug, Default)]
pub struct ComputeOptions {
    /// Matrix-product backend of the MFT.
    pub gemm: GemmBackend,
    /// Wavelengths computed at once; `None` chooses from cores and free memory.
    pub workers: Option<usize>,
}

/// A system prepared for computing PSFs: the pupil's transmission and OPD, sampled once.
#[derive(Debug)]
pub struct PsfPlan {
    grid: PupilGrid,
    detector: Detector,
    oversample: usize,
    /// Product of all optics' amplitude transmissions.
    transmission: Array2<f64>,
    /// Sum of all optics' OPDs, metres; `None` when no optic has one.
    opd: Option<Array2<f64>>,
    /// `1 / sqrt(total intensity after the first optic)`: POPPY's "first" normalisation.
    norm: f64,
    mfts: MftCache<f64>,
}

/// Largest oversampling accepted.
pub const MAX_OVERSAMPLE: usize = 64;

impl PsfPlan {
    /// Samples the optics of `system`.
    ///
    /// # Errors
    ///
    /// [`PropagationError`] for a system without optics or detector, an oversampling
    /// outside 1..=64, or a first optic that transmits no light.
    pub fn new(system: &OpticalSystem) -> Result<Self, PropagationError> {
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
        let grid = system.grid()?;
        let n = grid.npix();
        let mut transmission: Option<Array2<f64>> = None;
        let mut opd: Option<Array2<f64>> = None;
        let mut first_intensity = None;
        for optic in system.optics() {
            let t = optic.transmission(&grid);
            if first_intensity.is_none() {
                first_intensity =
                    Some(t.as_ref().map_or((n * n) as f64, |t| t.iter().map(|v| v * v).sum()));
            }
            if let Some(t) = t {
                match transmission.as_mut() {
                    Some(acc) => *acc *= &t,
                    None => transmission = Some(t),
                }
            }
            if let Some(o) = optic.opd(&grid) {
                match opd.as_mut() {
                    Some(acc) => *acc += &o,
                    None => opd = Some(o),
                }
            }
        }
        let first_intensity = first_intensity
            .ok_or_else(|| PropagationError::System("the system has no optics".into()))?;
        if first_intensity <= 0.0 {
            return Err(PropagationError::System(format!(
                "the first optic ({}) transmits no light on this pupil grid",
                system.optics()[0].kind()
            )));
        }
        Ok(PsfPlan {
            grid,
            detector,
            oversample,
            transmission: transmission.unwrap_or_else(|| Array2::ones((n, n))),
            opd,
            norm: first_intensity.sqrt().recip(),
            mfts: MftCache::new(),
        })
    }

    /// The pupil sampling.
    pub fn grid(&self) -> &PupilGrid {
        &self.grid
    }

    /// The detector.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// The combined amplitude transmission of the pupil.
    pub fn transmission(&self) -> &Array2<f64> {
        &self.transmission
    }

    /// The combined OPD of the pupil in metres, if any optic has one.
    pub fn opd(&self) -> Option<&Array2<f64>> {
        self.opd.as_ref()
    }

    /// Oversampled output pixels across.
    pub fn output_npix(&self) -> usize {
        self.detector.fov_pixels() * self.oversample
    }

    fn geometry(&self, wavelength: f64) -> MftGeometry {
        let lam_d_arcsec = wavelength / self.grid.diameter() * ARCSEC_PER_RAD;
        let nlamd = self.detector.fov_arcsec() / lam_d_arcsec;
        MftGeometry::square(self.grid.npix(), nlamd, self.output_npix(), MftDirection::Forward)
    }

    /// Memory one wavelength needs while it runs: the pupil field, the MFT matrices and
    /// scratch, and the output, in bytes.
    pub fn bytes_per_wavelength(&self) -> u64 {
        let n = self.grid.npix() as u64;
        let m = self.output_npix() as u64;
        let c = std::mem::size_of::<Complex64>() as u64;
        n * n * c + 2 * m * n * c + m * n * c + m * m * (c + 8)
    }

    /// Memory held by the plan itself (sampled pupil arrays), in bytes.
    pub fn bytes_resident(&self) -> u64 {
        let n = self.grid.npix() as u64;
        n * n * 8 * (1 + u64::from(self.opd.is_some()))
    }

    /// The schedule a computation of `n_wavelengths` would use.
    pub fn schedule(&self, n_wavelengths: usize, opts: &ComputeOptions) -> Schedule {
        let sched_opts = ScheduleOptions { workers: opts.workers, ..Default::default() };
        Schedule::plan(n_wavelengths, self.bytes_per_wavelength(), &sched_opts)
    }

    /// The complex field at the entrance pupil after all optics, for one wavelength,
    /// normalised so the field after the first optic has unit total intensity, with the
    /// source offset as a tilt.
    pub fn pupil_field(&self, wavelength: f64, source: &Source) -> Array2<Complex64> {
        let k = 2.0 * PI / wavelength;
        let (tx, ty) = source.tilt_arcsec();
        let (tx, ty) = (tx / ARCSEC_PER_RAD, ty / ARCSEC_PER_RAD);
        let coords = self.grid.coords();
        let tilted = tx != 0.0 || ty != 0.0;
        let mut field = Array2::zeros(self.transmission.dim());
        let norm = self.norm;
        let opd = self.opd.as_ref();
        Zip::indexed(&mut field).and(&self.transmission).for_each(|(i, j), f, &t| {
            if t == 0.0 {
                return;
            }
            let mut phase = opd.map_or(0.0, |o| k * o[[i, j]]);
            if tilted {
                phase -= 2.0 * PI * (coords[j] * tx + coords[i] * ty) / wavelength;
            }
            *f = Complex64::from_polar(t * norm, phase);
        });
        field
    }

    /// The monochromatic PSF at `wavelength` (intensity on the oversampled detector grid).
    ///
    /// # Errors
    ///
    /// [`PropagationError::Transform`] for a backend missing from this build.
    pub fn monochromatic(
        &self,
        wavelength: f64,
        source: &Source,
        gemm: GemmBackend,
        par: Par,
    ) -> Result<Array2<f64>, PropagationError> {
        let field = self.pupil_field(wavelength, source);
        let plan = self.mfts.get(&self.geometry(wavelength))?;
        let image = plan.apply(field.view(), gemm, par)?;
        Ok(image.mapv(|z| z.norm_sqr()))
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
        let gemm = opts.gemm.ensure_compiled()?;
        let wavelengths = source.wavelengths();
        let weights = source.normalized_weights();
        let schedule = self.schedule(wavelengths.len(), opts);
        self.check_memory(schedule.workers)?;
        let images = map_ordered(&schedule, wavelengths, |_, &wl, par| {
            self.monochromatic(wl, source, gemm, par)
        })
        .map_err(|e| e.source)?;
        let mut total = Array2::zeros((self.output_npix(), self.output_npix()));
        for (img, w) in images.iter().zip(&weights) {
            total.scaled_add(*w, img);
        }
        Ok(Psf {
            image: total,
            pixelscale_arcsec: self.detector.pixelscale_arcsec() / self.oversample as f64,
            oversample: self.oversample,
            fov_arcsec: self.detector.fov_arcsec(),
            wavelengths: wavelengths.to_vec(),
            weights,
            mean_wavelength: source.mean_wavelength(),
            diffraction_limit_arcsec: wavelengths[0] / self.grid.diameter() * ARCSEC_PER_RAD,
            pupil_diameter: self.grid.diameter(),
            gemm,
            workers: schedule.workers,
        })
    }

    fn check_memory(&self, workers: usize) -> Result<(), PropagationError> {
        let needed = self.bytes_per_wavelength() * workers as u64 + self.bytes_resident();
        if let Some(avail) = diffract_parallel::available_memory_bytes() {
            if needed > avail {
                return Err(PropagationError::Memory {
                    needed_mib: needed >> 20,
                    available_mib: avail >> 20,
                });
            }
        }
        Ok(())
    }
}
