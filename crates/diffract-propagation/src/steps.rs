//! The steps a plan is compiled into: sampled optics in pupil and image planes, the FQPM
//! aligner, zero-padded FFTs between pupil and image, matrix Fourier transforms onto a box
//! and back, the semi-analytic occulter, the detector transform, and plane recordings.

use crate::field::{
    apply_image, apply_pupil, crop_to_support, pad, pad_offset, tilt, unpad, PupilArrays,
};
use crate::step::Recorded;
use crate::system::AlignerDirection;
use crate::{
    Exec, PropagationError, Sampling, Scratch, Step, StepMemory, Wavefront, ARCSEC_PER_RAD,
};
use diffract_optics::{ImageGrid, ImageOptic};
use diffract_transforms::{FftDirection, MftDirection, MftGeometry};
use ndarray::Array2;
use num_complex::Complex64;
use std::f64::consts::PI;
use std::ops::Range;
use std::sync::Arc;

/// Bytes of one complex double.
const C: u64 = std::mem::size_of::<Complex64>() as u64;

fn wrong_plane(step: &str, wanted: &str) -> PropagationError {
    PropagationError::System(format!("step '{step}' needs the field in {wanted} plane"))
}

/// The pupil sampling of `wf`: metres per pixel and the axis index.
fn pupil_of(wf: &Wavefront, step: &str) -> Result<(f64, f64), PropagationError> {
    match wf.sampling {
        Sampling::Pupil { m_per_px, centre } => Ok((m_per_px, centre)),
        _ => Err(wrong_plane(step, "a pupil")),
    }
}

/// The image grid of `wf`.
fn image_of(wf: &Wavefront, step: &str) -> Result<ImageGrid, PropagationError> {
    wf.image_grid().ok_or_else(|| wrong_plane(step, "an image"))
}

/// Consecutive pupil-plane optics, sampled once into one transmission and one OPD.
#[derive(Debug)]
pub(crate) struct PupilOptics {
    pub(crate) planes: Range<usize>,
    pub(crate) arrays: Arc<PupilArrays>,
}

impl Step for PupilOptics {
    fn name(&self) -> &str {
        "pupil optics"
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
        pupil_of(wf, self.name())?;
        let k = 2.0 * PI / wf.wavelength;
        apply_pupil(&mut wf.field, &self.arrays, k);
        Ok(())
    }

    fn memory(&self) -> StepMemory {
        StepMemory::new(self.arrays.bytes(), 0)
    }
}

/// The half-pixel tilt that centres an FFT image on the corner between pixels (POPPY's
/// `FQPM_FFT_aligner`).
#[derive(Debug)]
pub(crate) struct Aligner {
    pub(crate) plane: usize,
    pub(crate) direction: AlignerDirection,
    /// Width of the pupil array, metres.
    pub(crate) diameter: f64,
    /// FFT zero-padding factor.
    pub(crate) oversample: usize,
}

impl Step for Aligner {
    fn name(&self) -> &str {
        "fqpm aligner"
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
        let (scale, centre) = pupil_of(wf, self.name())?;
        let wavelength = wf.wavelength;
        let half = wavelength / self.diameter / self.oversample as f64 * 0.5;
        let angle = match self.direction {
            AlignerDirection::Forward => -half,
            AlignerDirection::Backward => half,
        };
        tilt(&mut wf.field, scale, centre, angle, angle, wavelength);
        Ok(())
    }
}

/// Consecutive image-plane optics, sampled per wavelength on the field's grid.
#[derive(Debug)]
pub(crate) struct ImageOptics {
    pub(crate) planes: Range<usize>,
    pub(crate) optics: Vec<Arc<dyn ImageOptic>>,
}

impl Step for ImageOptics {
    fn name(&self) -> &str {
        "image optics"
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
        let grid = image_of(wf, self.name())?;
        let k = 2.0 * PI / wf.wavelength;
        apply_image(&mut wf.field, &grid, &self.optics, k, false);
        Ok(())
    }
}

/// Pupil to image by a zero-padded FFT (POPPY's convention: the image centred on pixel
/// `N/2`, or on the corner `(N-1)/2` after a forward FQPM aligner).
#[derive(Debug)]
pub(crate) struct FftToImage {
    /// Pupil samples across (before padding).
    pub(crate) npix: usize,
    /// FFT size.
    pub(crate) npad: usize,
    pub(crate) diameter: f64,
    pub(crate) oversample: usize,
    /// Centre the image on the pixel corner.
    pub(crate) corner: bool,
}

impl Step for FftToImage {
    fn name(&self) -> &str {
        "fft to image"
    }

    fn apply(
        &self,
        wf: &mut Wavefront,
        exec: &Exec<'_>,
        scratch: &mut Scratch,
    ) -> Result<(), PropagationError> {
        pupil_of(wf, self.name())?;
        let npad = self.npad;
        let rows = if wf.field.nrows() != npad {
            let n = wf.field.nrows();
            wf.field = pad(&wf.field, npad, scratch);
            let o = pad_offset(n, npad);
            o..o + n
        } else {
            0..npad
        };
        exec.fft()?.process_rows(
            &mut wf.field,
            FftDirection::PupilToImage,
            exec.par,
            rows,
            0..npad,
        )?;
        let n = npad as f64;
        let c = if self.corner { (n - 1.0) / 2.0 } else { n / 2.0 };
        let pixelscale = wf.wavelength / self.diameter / self.oversample as f64 * ARCSEC_PER_RAD;
        wf.sampling = Sampling::Image { arcsec_per_px: pixelscale, centre: (c, c), nlamd: None };
        Ok(())
    }

    fn memory(&self) -> StepMemory {
        let (n, p) = (self.npix as u64, self.npad as u64);
        // The zero-padded field, and the pupil it was made from.
        StepMemory::new(0, p * p * C + n * n * C)
    }
}

/// Image to pupil by FFT. With `last` (no image plane follows), only the central `npix`
/// pixels are computed and kept: only they reach the detector.
#[derive(Debug)]
pub(crate) struct FftToPupil {
    pub(crate) npix: usize,
    pub(crate) npad: usize,
    pub(crate) diameter: f64,
    pub(crate) oversample: usize,
    pub(crate) last: bool,
}

impl Step for FftToPupil {
    fn name(&self) -> &str {
        "fft to pupil"
    }

    fn apply(
        &self,
        wf: &mut Wavefront,
        exec: &Exec<'_>,
        scratch: &mut Scratch,
    ) -> Result<(), PropagationError> {
        image_of(wf, self.name())?;
        let (n, npad) = (self.npix, self.npad);
        let fft = exec.fft()?;
        let scale = self.diameter * self.oversample as f64 / npad as f64;
        let padded_centre = (npad as f64 - 1.0) / 2.0;
        if self.last {
            let o = pad_offset(n, npad);
            fft.process_rows(
                &mut wf.field,
                FftDirection::ImageToPupil,
                exec.par,
                0..npad,
                o..o + n,
            )?;
            let cut = unpad(&wf.field, n);
            scratch.give_back_field(std::mem::replace(&mut wf.field, cut));
            wf.sampling = Sampling::Pupil { m_per_px: scale, centre: padded_centre - o as f64 };
        } else {
            fft.process_rows(
                &mut wf.field,
                FftDirection::ImageToPupil,
                exec.par,
                0..npad,
                0..npad,
            )?;
            wf.sampling = Sampling::Pupil { m_per_px: scale, centre: padded_centre };
        }
        Ok(())
    }
}

/// lambda/D in arcsec.
fn lam_d_arcsec(wavelength: f64, diameter: f64) -> f64 {
    wavelength / diameter * ARCSEC_PER_RAD
}

/// MFT of an (unpadded) pupil field onto a square box of half-size `half_box` arcsec
/// sampled at `px` arcsec: POPPY's Detector stand-in, whose field is rounded to whole
/// pixels. Returns the box field, its grid and its width in lambda/D.
fn mft_to_box(
    field: &Array2<Complex64>,
    wavelength: f64,
    diameter: f64,
    px: f64,
    half_box: f64,
    exec: &Exec<'_>,
    scratch: &mut Scratch,
) -> Result<(Array2<Complex64>, ImageGrid, f64), PropagationError> {
    let npix = (2.0 * half_box / px).round_ties_even().max(1.0) as usize;
    let fov = npix as f64 * px;
    let nlamd = fov / lam_d_arcsec(wavelength, diameter);
    let geometry = MftGeometry::square(field.nrows(), nlamd, npix, MftDirection::Forward);
    let image = exec.mft(&geometry, field.view(), scratch)?;
    let c = (npix as f64 - 1.0) / 2.0;
    Ok((
        image,
        ImageGrid { shape: (npix, npix), pixelscale: fov / npix as f64, center: (c, c) },
        nlamd,
    ))
}

/// Inverse MFT of an image-plane box of width `nlamd` back to `npix` pupil samples.
fn inverse_mft(
    image: &Array2<Complex64>,
    nlamd: f64,
    npix: usize,
    exec: &Exec<'_>,
    scratch: &mut Scratch,
) -> Result<Array2<Complex64>, PropagationError> {
    let geometry = MftGeometry {
        input: image.dim(),
        nlamd: (nlamd, nlamd),
        output: (npix, npix),
        offset: (0.0, 0.0),
        direction: MftDirection::Inverse,
    };
    exec.mft(&geometry, image.view(), scratch)
}

/// Pupil to an image-plane box by MFT (POPPY's `MatrixFTCoronagraph`): the box is sampled
/// at lambda/(2 D oversample) of the first optic's diameter.
#[derive(Debug)]
pub(crate) struct MftToBox {
    pub(crate) npix: usize,
    /// Width of the pupil array, metres.
    pub(crate) diameter: f64,
    /// The first optic's natural diameter, which sets the box sampling as in POPPY.
    pub(crate) first_diameter: f64,
    pub(crate) half_box: f64,
    pub(crate) oversample: usize,
}

impl Step for MftToBox {
    fn name(&self) -> &str {
        "mft to image box"
    }

    fn apply(
        &self,
        wf: &mut Wavefront,
        exec: &Exec<'_>,
        scratch: &mut Scratch,
    ) -> Result<(), PropagationError> {
        pupil_of(wf, self.name())?;
        let px =
            wf.wavelength / self.first_diameter * ARCSEC_PER_RAD / self.oversample as f64 / 2.0;
        let (image, grid, nlamd) =
            mft_to_box(&wf.field, wf.wavelength, self.diameter, px, self.half_box, exec, scratch)?;
        wf.field = image;
        wf.sampling = Sampling::Image {
            arcsec_per_px: grid.pixelscale,
            centre: grid.center,
            nlamd: Some(nlamd),
        };
        Ok(())
    }

    fn memory(&self) -> StepMemory {
        let n = self.npix as u64;
        StepMemory::new(0, 3 * n * n * C)
    }
}

/// An image-plane box reached by MFT back to the entrance-pupil sampling by the inverse MFT.
#[derive(Debug)]
pub(crate) struct InverseMft {
    pub(crate) npix: usize,
    pub(crate) m_per_px: f64,
}

impl Step for InverseMft {
    fn name(&self) -> &str {
        "inverse mft to pupil"
    }

    fn apply(
        &self,
        wf: &mut Wavefront,
        exec: &Exec<'_>,
        scratch: &mut Scratch,
    ) -> Result<(), PropagationError> {
        let Sampling::Image { nlamd: Some(nlamd), .. } = wf.sampling else {
            return Err(wrong_plane(self.name(), "an image box reached by MFT, an image"));
        };
        wf.field = inverse_mft(&wf.field, nlamd, self.npix, exec, scratch)?;
        wf.sampling =
            Sampling::Pupil { m_per_px: self.m_per_px, centre: (self.npix as f64 - 1.0) / 2.0 };
        Ok(())
    }
}

/// The semi-analytic coronagraph (Soummer et al. 2007, POPPY's `SemiAnalyticCoronagraph`):
/// the occulter is reached by an MFT onto a small box, and by Babinet's principle the field
/// after it is the pupil minus the inverse MFT of the box times the mask's complement.
#[derive(Debug)]
pub(crate) struct SemiAnalyticOcculter {
    pub(crate) planes: Range<usize>,
    pub(crate) kind: &'static str,
    pub(crate) optics: Vec<Arc<dyn ImageOptic>>,
    pub(crate) npix: usize,
    pub(crate) diameter: f64,
    pub(crate) half_box: f64,
    /// The box's pixel, arcsec: detector pixel over the box oversampling.
    pub(crate) box_px: f64,
}

impl Step for SemiAnalyticOcculter {
    fn name(&self) -> &str {
        "semi-analytic occulter"
    }

    fn planes(&self) -> Option<Range<usize>> {
        Some(self.planes.clone())
    }

    fn apply(
        &self,
        wf: &mut Wavefront,
        exec: &Exec<'_>,
        scratch: &mut Scratch,
    ) -> Result<(), PropagationError> {
        pupil_of(wf, self.name())?;
        let wavelength = wf.wavelength;
        let k = 2.0 * PI / wavelength;
        let (mut image, grid, nlamd) = mft_to_box(
            &wf.field,
            wavelength,
            self.diameter,
            self.box_px,
            self.half_box,
            exec,
            scratch,
        )?;
        apply_image(&mut image, &grid, &self.optics, k, true);
        let back = inverse_mft(&image, nlamd, self.npix, exec, scratch)?;
        wf.field -= &back;
        if scratch.recording() {
            scratch.record(Recorded {
                planes: self.planes.clone(),
                kind: self.kind,
                image_plane: true,
                field: image,
                pixelscale: grid.pixelscale,
            });
        }
        Ok(())
    }

    fn memory(&self) -> StepMemory {
        let n = self.npix as u64;
        StepMemory::new(0, 3 * n * n * C)
    }
}

/// The last step: drop any FFT padding, crop the pupil to its non-zero support (the same
/// result from a smaller product), and MFT onto the oversampled detector.
#[derive(Debug)]
pub(crate) struct DetectorMft {
    pub(crate) npix: usize,
    pub(crate) diameter: f64,
    pub(crate) fov_arcsec: f64,
    /// Oversampled detector pixels across.
    pub(crate) output_npix: usize,
    /// Arcsec per oversampled pixel.
    pub(crate) pixelscale: f64,
}

impl Step for DetectorMft {
    fn name(&self) -> &str {
        "mft to detector"
    }

    fn apply(
        &self,
        wf: &mut Wavefront,
        exec: &Exec<'_>,
        scratch: &mut Scratch,
    ) -> Result<(), PropagationError> {
        pupil_of(wf, self.name())?;
        let n = self.npix;
        if wf.field.nrows() != n {
            let cut = unpad(&wf.field, n);
            scratch.give_back_field(std::mem::replace(&mut wf.field, cut));
        }
        let (cropped, m) = crop_to_support(&wf.field);
        let nlamd =
            self.fov_arcsec / lam_d_arcsec(wf.wavelength, self.diameter) * m as f64 / n as f64;
        let geometry = MftGeometry::square(m, nlamd, self.output_npix, MftDirection::Forward);
        wf.field = exec.mft(&geometry, cropped.view(), scratch)?;
        let c = (self.output_npix as f64 - 1.0) / 2.0;
        wf.sampling =
            Sampling::Image { arcsec_per_px: self.pixelscale, centre: (c, c), nlamd: Some(nlamd) };
        Ok(())
    }

    fn memory(&self) -> StepMemory {
        let (n, m) = (self.npix as u64, self.output_npix as u64);
        // The pupil, the MFT's matrices and intermediate product, the output and its
        // intensity.
        StepMemory::new(0, n * n * C + 3 * m * n * C + m * m * (C + 8))
    }
}

/// Records the field after the planes of the step before it (for `--planes` and
/// [`crate::PsfPlan::compute_with_planes`]); does nothing unless the worker records.
#[derive(Debug)]
pub(crate) struct RecordPlane {
    pub(crate) planes: Range<usize>,
    pub(crate) kind: &'static str,
    pub(crate) image_plane: bool,
}

impl Step for RecordPlane {
    fn name(&self) -> &str {
        "record plane"
    }

    fn apply(
        &self,
        wf: &mut Wavefront,
        _: &Exec<'_>,
        scratch: &mut Scratch,
    ) -> Result<(), PropagationError> {
        if scratch.recording() {
            scratch.record(Recorded {
                planes: self.planes.clone(),
                kind: self.kind,
                image_plane: self.image_plane,
                field: wf.field.clone(),
                pixelscale: wf.sampling.pixelscale(),
            });
        }
        Ok(())
    }
}
