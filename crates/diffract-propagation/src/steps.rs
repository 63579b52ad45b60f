//! The steps a plan is compiled into: sampled optics in pupil and image planes, the FQPM
//! aligner, zero-padded FFTs between pupil and image, matrix Fourier transforms onto a box
//! and back, the semi-analytic occulter, the detector transform, and plane recordings.

use crate::field::{
    apply_image, apply_image32, apply_pupil_par, pad, pad_offset, tilt, unpad, PupilArrays,
};
use crate::step::Recorded;
use crate::system::AlignerDirection;
use crate::{
    Exec, PropagationError, Sampling, Scratch, Step, StepMemory, Wavefront, ARCSEC_PER_RAD,
};
use diffract_optics::{ImageGrid, ImageOptic};
use diffract_transforms::{FftDirection, MftDirection, MftGeometry};
use ndarray::{s, Array2};
use num_complex::{Complex32, Complex64};
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

impl PupilOptics {
    /// The step's name.
    pub(crate) const NAME: &'static str = "pupil optics";
}

impl Step for PupilOptics {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn planes(&self) -> Option<Range<usize>> {
        Some(self.planes.clone())
    }

    fn apply(
        &self,
        wf: &mut Wavefront,
        exec: &Exec<'_>,
        _: &mut Scratch,
    ) -> Result<(), PropagationError> {
        pupil_of(wf, self.name())?;
        let k = 2.0 * PI / wf.wavelength;
        apply_pupil_par(&mut wf.field, &self.arrays, k, exec.par);
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

impl ImageOptics {
    pub(crate) const NAME: &'static str = "image optics";
}

impl Step for ImageOptics {
    fn name(&self) -> &str {
        Self::NAME
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
        match wf.padded32.as_mut() {
            Some(field) => apply_image32(field, &grid, &self.optics, k),
            None => apply_image(&mut wf.field, &grid, &self.optics, k, false),
        }
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

impl FftToImage {
    pub(crate) const NAME: &'static str = "fft to image";
}

impl Step for FftToImage {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn apply(
        &self,
        wf: &mut Wavefront,
        exec: &Exec<'_>,
        scratch: &mut Scratch,
    ) -> Result<(), PropagationError> {
        pupil_of(wf, self.name())?;
        let npad = self.npad;
        if let Some(fft32) = exec.fft32 {
            // Single precision: the padded field in f32 until the FFT back.
            let n = wf.field.nrows();
            let o = pad_offset(n, npad);
            let mut padded =
                Array2::from_shape_vec((npad, npad), scratch.take_buffer32(npad * npad))
                    .expect("npad^2 values");
            padded
                .slice_mut(s![o..o + n, o..o + n])
                .zip_mut_with(&wf.field, |p, z| *p = Complex32::new(z.re as f32, z.im as f32));
            scratch.give_back_field(std::mem::replace(&mut wf.field, Array2::zeros((0, 0))));
            fft32.process_rows(
                &mut padded,
                FftDirection::PupilToImage,
                exec.par,
                o..o + n,
                0..npad,
            )?;
            wf.padded32 = Some(padded);
        } else {
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
        }
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

impl FftToPupil {
    pub(crate) const NAME: &'static str = "fft to pupil";
}

impl Step for FftToPupil {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn apply(
        &self,
        wf: &mut Wavefront,
        exec: &Exec<'_>,
        scratch: &mut Scratch,
    ) -> Result<(), PropagationError> {
        image_of(wf, self.name())?;
        let (n, npad) = (self.npix, self.npad);
        let scale = self.diameter * self.oversample as f64 / npad as f64;
        let padded_centre = (npad as f64 - 1.0) / 2.0;
        if let (Some(mut padded), Some(fft32)) = (wf.padded32.take(), exec.fft32) {
            // The single-precision plane back to a double-precision pupil: only the
            // central n rows (and columns) when no image plane follows.
            let (keep, centre) = if self.last {
                let o = pad_offset(n, npad);
                (o..o + n, padded_centre - o as f64)
            } else {
                (0..npad, padded_centre)
            };
            fft32.process_rows(
                &mut padded,
                FftDirection::ImageToPupil,
                exec.par,
                0..npad,
                keep.clone(),
            )?;
            let m = keep.len();
            let mut field =
                Array2::from_shape_vec((m, m), scratch.take_buffer(m * m)).expect("m^2 values");
            field.zip_mut_with(&padded.slice(s![keep.clone(), keep]), |f, z| {
                *f = Complex64::new(z.re.into(), z.im.into());
            });
            scratch.give_back32(padded.into_raw_vec_and_offset().0);
            wf.field = field;
            wf.sampling = Sampling::Pupil { m_per_px: scale, centre };
            return Ok(());
        }
        let fft = exec.fft()?;
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

/// lambda/D in arcsec for a pupil `diameter` metres across.
pub(crate) fn lam_d_arcsec(wavelength: f64, diameter: f64) -> f64 {
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
        ImageGrid {
            shape: (npix, npix),
            pixelscale: fov / npix as f64,
            center: (c, c),
            frame: None,
        },
        nlamd,
    ))
}

/// Inverse MFT of an image-plane field `nlamd` (y, x) lambda/D wide back to `npix` pupil
/// samples.
fn inverse_mft(
    image: &Array2<Complex64>,
    nlamd: (f64, f64),
    npix: usize,
    exec: &Exec<'_>,
    scratch: &mut Scratch,
) -> Result<Array2<Complex64>, PropagationError> {
    let geometry = MftGeometry {
        input: image.dim(),
        nlamd,
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
            nlamd: Some((nlamd, nlamd)),
        };
        Ok(())
    }

    fn memory(&self) -> StepMemory {
        let n = self.npix as u64;
        StepMemory::new(0, 3 * n * n * C)
    }
}

/// An image-plane field reached by MFT (a box or an intermediate detector) back to the
/// entrance-pupil sampling by the inverse MFT (POPPY's `_propagate_mft_inverse`).
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

impl SemiAnalyticOcculter {
    pub(crate) const NAME: &'static str = "semi-analytic occulter";
}

impl Step for SemiAnalyticOcculter {
    fn name(&self) -> &str {
        Self::NAME
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
        let back = inverse_mft(&image, (nlamd, nlamd), self.npix, exec, scratch)?;
        wf.field -= &back;
        if scratch.recording() {
            scratch.record(Recorded {
                planes: self.planes.clone(),
                kind: self.kind,
                image_plane: true,
                field: image,
                pixelscale: grid.pixelscale,
                z_m: None,
            });
        }
        Ok(())
    }

    fn memory(&self) -> StepMemory {
        let n = self.npix as u64;
        StepMemory::new(0, 3 * n * n * C)
    }
}

/// The last step, or an intermediate detector: drop any FFT padding, crop the pupil to its
/// non-zero support (the same result from a smaller product), and MFT onto the oversampled
/// detector.
#[derive(Clone, Debug)]
pub(crate) struct DetectorMft {
    pub(crate) npix: usize,
    pub(crate) diameter: f64,
    /// The field along Y and X, arcsec.
    pub(crate) fov_arcsec: (f64, f64),
    /// Oversampled detector pixels (rows, columns).
    pub(crate) output: (usize, usize),
    /// Arcsec per oversampled pixel.
    pub(crate) pixelscale: f64,
    /// Scale the detector field to unit total intensity (POPPY's `normalize="last"`).
    pub(crate) normalize: bool,
    /// The detector's offset, (y, x) output pixels (the field moves the other way).
    pub(crate) offset: (f64, f64),
    /// A detector in the middle of the system: optics after it see the axis at the array
    /// centre whatever the offset, as POPPY's MFT image coordinates do.
    pub(crate) intermediate: bool,
}

impl DetectorMft {
    /// The transform onto `detector` sampled `oversample` times per pixel from a pupil of
    /// `npix` samples across `diameter` metres; `normalize` for POPPY's "last".
    pub(crate) fn new(
        detector: &crate::Detector,
        oversample: usize,
        npix: usize,
        diameter: f64,
        normalize: bool,
        intermediate: bool,
    ) -> Self {
        let (ny, nx) = detector.fov_shape();
        DetectorMft {
            npix,
            diameter,
            fov_arcsec: detector.fov_arcsec_yx(),
            output: (ny * oversample, nx * oversample),
            pixelscale: detector.pixelscale_arcsec() / oversample as f64,
            normalize,
            offset: detector.offset_pixels(),
            intermediate,
        }
    }

    pub(crate) const NAME: &'static str = "mft to detector";

    /// The transform from a pupil field cropped to `m` of its `npix` pixels (its support) at
    /// `wavelength`.
    pub(crate) fn geometry(&self, m: usize, wavelength: f64) -> MftGeometry {
        let n = self.npix;
        let lam_d = lam_d_arcsec(wavelength, self.diameter);
        let nlamd_y = self.fov_arcsec.0 / lam_d * m as f64 / n as f64;
        let nlamd_x = self.fov_arcsec.1 / lam_d * m as f64 / n as f64;
        let mut geometry = MftGeometry::square(m, nlamd_y, self.output.0, MftDirection::Forward);
        geometry.nlamd.1 = nlamd_x;
        geometry.output.1 = self.output.1;
        // POPPY passes the detector offset to the MFT with its sign flipped.
        geometry.offset = (-self.offset.0, -self.offset.1);
        geometry
    }
}

impl Step for DetectorMft {
    fn name(&self) -> &str {
        Self::NAME
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
        // The field cropped to its support (a view: no copy when nothing is cropped).
        let m = support_size(&wf.field);
        let o = (wf.field.nrows() - m) / 2;
        let cropped = wf.field.slice(s![o..o + m, o..o + m]);
        let lam_d = lam_d_arcsec(wf.wavelength, self.diameter);
        let image = exec.mft(&self.geometry(m, wf.wavelength), cropped, scratch)?;
        scratch.give_back_field(std::mem::replace(&mut wf.field, image));
        let shift = if self.intermediate { (0.0, 0.0) } else { self.offset };
        let c = (
            (self.output.0 as f64 - 1.0) / 2.0 - shift.0,
            (self.output.1 as f64 - 1.0) / 2.0 - shift.1,
        );
        // The widths of the whole (uncropped) pupil array, for the way back.
        let nlamd = (self.fov_arcsec.0 / lam_d, self.fov_arcsec.1 / lam_d);
        wf.sampling =
            Sampling::Image { arcsec_per_px: self.pixelscale, centre: c, nlamd: Some(nlamd) };
        if self.normalize {
            normalize_field(&mut wf.field);
        }
        Ok(())
    }

    fn memory(&self) -> StepMemory {
        let (n, my, mx) = (self.npix as u64, self.output.0 as u64, self.output.1 as u64);
        // The pupil, the MFT's matrices and intermediate product, the output and its
        // intensity.
        StepMemory::new(0, n * n * C + (2 * my + mx) * n * C + my * mx * (C + 8))
    }
}

/// Scales `field` to unit total intensity; a field without light (or with a non-finite
/// total) is left as it is, as POPPY's `Wavefront.normalize` leaves it.
pub(crate) fn normalize_field(field: &mut Array2<Complex64>) {
    let total: f64 = field.iter().map(|z| z.norm_sqr()).sum();
    let scale = total.sqrt();
    if scale > 0.0 && scale.is_finite() {
        let inv = scale.recip();
        field.mapv_inplace(|z| z * inv);
    }
}

/// Scales the field, in the plane it is in, to unit total intensity over the whole array
/// (POPPY's `normalize="exit_pupil"` after the last pupil-plane optic).
#[derive(Debug)]
pub(crate) struct Normalize;

impl Step for Normalize {
    fn name(&self) -> &str {
        "normalize"
    }

    fn apply(
        &self,
        wf: &mut Wavefront,
        _: &Exec<'_>,
        _: &mut Scratch,
    ) -> Result<(), PropagationError> {
        normalize_field(&mut wf.field);
        Ok(())
    }
}

/// The size of the smallest centred square of `field` holding every non-zero value, with
/// the parity of the field's size (as `crop_to_support`, whose crop it is; the field's
/// size when it is all zero). Scans each row from both ends.
pub(crate) fn support_size(field: &Array2<Complex64>) -> usize {
    let n = field.nrows();
    let zero = Complex64::new(0.0, 0.0);
    // Largest |index - centre| in half-pixel units over the non-zero values.
    let mut reach: Option<usize> = None;
    for (i, row) in field.rows().into_iter().enumerate() {
        let Some(first) = row.iter().position(|v| *v != zero) else { continue };
        let last = row.len() - 1 - row.iter().rev().position(|v| *v != zero).unwrap_or(0);
        let r = (2 * i)
            .abs_diff(n - 1)
            .max((2 * first).abs_diff(n - 1))
            .max((2 * last).abs_diff(n - 1));
        reach = Some(reach.map_or(r, |x: usize| x.max(r)));
    }
    let Some(reach) = reach else { return n };
    let mut m = reach + 1;
    if (n - m.min(n)) % 2 == 1 {
        m += 1;
    }
    m.min(n)
}

/// Records the field after the planes of the step before it (for `--planes` and
/// [`crate::PsfPlan::compute_with_planes`]); does nothing unless the worker records.
#[derive(Debug)]
pub(crate) struct RecordPlane {
    pub(crate) planes: Range<usize>,
    pub(crate) kind: &'static str,
    pub(crate) image_plane: bool,
}

impl RecordPlane {
    pub(crate) const NAME: &'static str = "record plane";
}

impl Step for RecordPlane {
    fn name(&self) -> &str {
        Self::NAME
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
                z_m: wf.sampling.beam().map(|b| b.z),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The support size agrees with the reference crop on fields with every parity and
    /// reach, and on an all-zero field.
    #[test]
    fn support_size_is_the_crops_size() {
        use crate::field::crop_to_support;
        let one = Complex64::new(1.0, -0.5);
        for n in [1usize, 2, 7, 10, 33] {
            assert_eq!(
                support_size(&Array2::zeros((n, n))),
                crop_to_support(&Array2::zeros((n, n))).1
            );
            for (i, j) in [(0, 0), (n / 2, n / 2), (n - 1, n / 3), (n / 3, n - 1), (n / 2, 0)] {
                let mut f = Array2::zeros((n, n));
                f[[i, j]] = one;
                f[[n / 2, (n / 2 + 1).min(n - 1)]] = one;
                assert_eq!(support_size(&f), crop_to_support(&f).1, "n {n}, ({i}, {j})");
            }
        }
    }
    use crate::field::PupilArrays;
    use crate::Precision;
    use diffract_optics::CircularOcculter;
    use diffract_parallel::Par;
    use diffract_transforms::{Fft2d, FftBackend, GemmBackend, MftCache};

    /// The transforms a test plan would hold.
    struct Kit {
        fft: Fft2d<f64>,
        mfts: MftCache<f64>,
        mfts32: MftCache<f32>,
    }

    impl Kit {
        fn new(npad: usize) -> Self {
            Kit {
                fft: Fft2d::new((npad, npad), FftBackend::RustFft).unwrap(),
                mfts: MftCache::with_capacity_bytes(1 << 24),
                mfts32: MftCache::with_capacity_bytes(1 << 24),
            }
        }

        fn exec(&self, precision: Precision) -> Exec<'_> {
            Exec {
                gemm: GemmBackend::Gemm,
                par: Par::Seq,
                precision,
                fft: Some(&self.fft),
                fft32: None,
                mfts: &self.mfts,
                mfts32: &self.mfts32,
            }
        }
    }

    /// A pupil field of `n` samples: a disc of radius `r` pixels about the centre, with a
    /// little phase so that transforms are not trivially symmetric.
    fn disc(n: usize, r: f64, scale: f64, wavelength: f64) -> Wavefront {
        let c = (n as f64 - 1.0) / 2.0;
        let field = Array2::from_shape_fn((n, n), |(i, j)| {
            let (y, x) = (i as f64 - c, j as f64 - c);
            if x * x + y * y <= r * r {
                Complex64::from_polar(1.0, 0.01 * x + 0.02 * y)
            } else {
                Complex64::new(0.0, 0.0)
            }
        });
        Wavefront::new(field, wavelength, Sampling::Pupil { m_per_px: scale, centre: c })
    }

    fn max_diff(a: &Array2<Complex64>, b: &Array2<Complex64>) -> f64 {
        a.iter().zip(b).map(|(x, y)| (x - y).norm()).fold(0.0, f64::max)
    }

    /// Reference: t exp(2 pi i opd / lambda) written out; exact to 1e-15.
    #[test]
    fn pupil_optics_multiply_by_the_phasor() {
        let kit = Kit::new(8);
        let mut wf = disc(8, 10.0, 0.1, 1e-6);
        let before = wf.field.clone();
        let t = Array2::from_elem((8, 8), 0.5);
        let opd = Array2::from_shape_fn((8, 8), |(i, _)| i as f64 * 1e-7);
        let arrays = PupilArrays { transmission: Some(t), opd: Some(opd), phase: None };
        let step = PupilOptics { planes: 0..1, arrays: Arc::new(arrays) };
        step.apply(&mut wf, &kit.exec(Precision::F64), &mut Scratch::new()).unwrap();
        let want = before[[3, 2]] * Complex64::from_polar(0.5, 2.0 * PI * 3e-7 / 1e-6);
        assert!((wf.field[[3, 2]] - want).norm() < 1e-15);
        assert_eq!(step.memory().resident, 2 * 64 * 8);
        // A pupil step refuses an image-plane field, with a one-line error.
        wf.sampling = Sampling::Image { arcsec_per_px: 0.1, centre: (4.0, 4.0), nlamd: None };
        let e = step.apply(&mut wf, &kit.exec(Precision::F64), &mut Scratch::new()).unwrap_err();
        assert_eq!(e.to_string(), "step 'pupil optics' needs the field in a pupil plane");
    }

    /// Reference: the aligner's tilt is half an FFT image pixel, lambda / (2 D oversample)
    /// radians, so neighbouring samples differ in phase by 2 pi scale angle / lambda
    /// (tolerance 1e-12 rad).
    #[test]
    fn the_aligner_tilts_by_half_an_image_pixel() {
        let kit = Kit::new(8);
        let (n, scale, wl) = (16, 0.125, 1e-6);
        let mut wf = disc(n, 100.0, scale, wl);
        let before = wf.field.clone();
        let step = Aligner {
            plane: 0,
            direction: AlignerDirection::Forward,
            diameter: 2.0,
            oversample: 4,
        };
        step.apply(&mut wf, &kit.exec(Precision::F64), &mut Scratch::new()).unwrap();
        let angle = -wl / 2.0 / 4.0 * 0.5;
        let step_phase = -2.0 * PI * scale * angle / wl;
        let ratio = |i: usize, j: usize| (wf.field[[i, j]] / before[[i, j]]).arg();
        assert!((ratio(5, 6) - ratio(5, 5) - step_phase).abs() < 1e-12);
        assert!((ratio(6, 5) - ratio(5, 5) - step_phase).abs() < 1e-12);
    }

    /// Reference: FFT to the image and back (POPPY's unitary pair) returns the pupil,
    /// zero-padded, to 1e-12; the image pixel is lambda / (D oversample) and the last
    /// transform, computing only the central rows, equals the full one cut (1e-12).
    #[test]
    fn fft_steps_go_to_the_image_and_back() {
        let (n, os, d, wl) = (16, 4, 2.0, 1e-6);
        let npad = n * os;
        let kit = Kit::new(npad);
        let exec = kit.exec(Precision::F64);
        let mut scratch = Scratch::new();
        let wf0 = disc(n, 6.0, d / n as f64, wl);
        let mut wf = wf0.clone();
        let to_image = FftToImage { npix: n, npad, diameter: d, oversample: os, corner: false };
        to_image.apply(&mut wf, &exec, &mut scratch).unwrap();
        assert_eq!(wf.field.dim(), (npad, npad));
        let Sampling::Image { arcsec_per_px, centre, nlamd: None } = wf.sampling else {
            panic!("{:?}", wf.sampling)
        };
        assert!((arcsec_per_px - wl / d / os as f64 * ARCSEC_PER_RAD).abs() < 1e-15);
        assert_eq!(centre, (32.0, 32.0));
        assert!((wf.total_intensity() - wf0.total_intensity()).abs() < 1e-12);
        let image = wf.clone();
        let full = FftToPupil { npix: n, npad, diameter: d, oversample: os, last: false };
        full.apply(&mut wf, &exec, &mut scratch).unwrap();
        let back = unpad(&wf.field, n);
        assert!(max_diff(&back, &wf0.field) < 1e-12);
        let mut cut = image;
        let last = FftToPupil { npix: n, npad, diameter: d, oversample: os, last: true };
        last.apply(&mut cut, &exec, &mut scratch).unwrap();
        assert_eq!(cut.field.dim(), (n, n));
        assert!(max_diff(&cut.field, &back) < 1e-12);
        let Sampling::Pupil { m_per_px, centre } = cut.sampling else { panic!() };
        assert!((m_per_px - d / n as f64).abs() < 1e-15);
        assert_eq!(centre, (npad as f64 - 1.0) / 2.0 - pad_offset(n, npad) as f64);
        assert_eq!(to_image.memory().working, (64 * 64 + 16 * 16) * 16);
    }

    /// Reference: an MFT onto a box holding nearly all the light (a box within the pupil
    /// sampling's period of npix lambda/D) and the inverse MFT back keep the energy
    /// (Parseval) to 2e-2, and the box is sampled as asked.
    #[test]
    fn mft_box_steps_go_to_the_image_and_back() {
        let (n, d, wl) = (32, 1.0, 1e-6);
        let kit = Kit::new(8);
        let exec = kit.exec(Precision::F64);
        let mut scratch = Scratch::new();
        let mut wf = disc(n, 15.5, d / n as f64, wl);
        let energy = wf.total_intensity();
        let lam_d = wl / d * ARCSEC_PER_RAD;
        let step = MftToBox {
            npix: n,
            diameter: d,
            first_diameter: d,
            half_box: 10.0 * lam_d,
            oversample: 2,
        };
        step.apply(&mut wf, &exec, &mut scratch).unwrap();
        let Sampling::Image { arcsec_per_px, nlamd: Some(nlamd), .. } = wf.sampling else {
            panic!("{:?}", wf.sampling)
        };
        assert!((arcsec_per_px - lam_d / 4.0).abs() < 1e-12 * lam_d);
        assert_eq!(wf.field.dim(), (80, 80));
        assert!((nlamd.0 - 20.0).abs() < 1e-9 && nlamd.0 == nlamd.1);
        let ratio = wf.total_intensity() / energy;
        assert!((ratio - 1.0).abs() < 2e-2, "{ratio}");
        InverseMft { npix: n, m_per_px: d / n as f64 }.apply(&mut wf, &exec, &mut scratch).unwrap();
        assert_eq!(wf.field.dim(), (n, n));
        let back = wf.total_intensity() / energy;
        assert!((back - 1.0).abs() < 2e-2, "{back}");
        // The inverse needs a box reached by MFT.
        let mut fft_image = disc(8, 3.0, 0.1, wl);
        fft_image.sampling =
            Sampling::Image { arcsec_per_px: 0.1, centre: (4.0, 4.0), nlamd: None };
        assert!(InverseMft { npix: 8, m_per_px: 0.1 }
            .apply(&mut fft_image, &exec, &mut scratch)
            .is_err());
    }

    /// Reference: the semi-analytic occulter removes the light its box blocks (the field
    /// after it carries less energy, the pupil sampling is kept) and records the box field
    /// only when asked.
    #[test]
    fn the_semi_analytic_occulter_removes_the_core() {
        let (n, d, wl) = (32, 1.0, 1e-6);
        let kit = Kit::new(8);
        let exec = kit.exec(Precision::F64);
        let lam_d = wl / d * ARCSEC_PER_RAD;
        let step = SemiAnalyticOcculter {
            planes: 1..2,
            kind: "circular_occulter",
            optics: vec![Arc::new(CircularOcculter::new(3.0 * lam_d).unwrap())],
            npix: n,
            diameter: d,
            half_box: 4.0 * lam_d,
            box_px: lam_d / 8.0,
        };
        let mut wf = disc(n, 15.5, d / n as f64, wl);
        let energy = wf.total_intensity();
        let mut scratch = Scratch::new();
        step.apply(&mut wf, &exec, &mut scratch).unwrap();
        assert!(!wf.sampling.is_image());
        let left = wf.total_intensity() / energy;
        assert!(left < 0.2, "{left}");
        let mut recording = Scratch { records: Some(Vec::new()), ..Scratch::new() };
        step.apply(&mut disc(n, 15.5, d / n as f64, wl), &exec, &mut recording).unwrap();
        let records = recording.records.unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].field.dim(), (64, 64));
        assert!(records[0].image_plane);
    }

    /// Reference: cropping the pupil to its support does not change the detector field
    /// (1e-12 of the peak), a padded pupil gives what the unpadded one gives, and single
    /// precision stays within 1e-5 of the peak.
    #[test]
    fn the_detector_step_crops_and_transforms() {
        let (n, d, wl) = (32, 1.0, 1e-6);
        let kit = Kit::new(8);
        let step = DetectorMft {
            npix: n,
            diameter: d,
            fov_arcsec: (1.0, 1.0),
            output: (40, 40),
            pixelscale: 1.0 / 40.0,
            normalize: false,
            offset: (0.0, 0.0),
            intermediate: false,
        };
        let mut small = disc(n, 8.0, d / n as f64, wl);
        let mut padded = small.clone();
        padded.field = pad(&padded.field, 64, &mut Scratch::new());
        let mut single = small.clone();
        let mut scratch = Scratch::new();
        step.apply(&mut small, &kit.exec(Precision::F64), &mut scratch).unwrap();
        step.apply(&mut padded, &kit.exec(Precision::F64), &mut scratch).unwrap();
        step.apply(&mut single, &kit.exec(Precision::F32), &mut scratch).unwrap();
        assert_eq!(small.field.dim(), (40, 40));
        let peak = small.field.iter().map(|z| z.norm()).fold(0.0, f64::max);
        assert!(max_diff(&small.field, &padded.field) < 1e-12 * peak);
        assert!(max_diff(&small.field, &single.field) < 1e-5 * peak);
        // Against the MFT of the whole, uncropped pupil.
        let whole = disc(n, 8.0, d / n as f64, wl);
        let nlamd = 1.0 / (wl / d * ARCSEC_PER_RAD);
        let geometry = MftGeometry::square(n, nlamd, 40, MftDirection::Forward);
        let direct =
            kit.exec(Precision::F64).mft(&geometry, whole.field.view(), &mut scratch).unwrap();
        assert!(max_diff(&small.field, &direct) < 1e-12 * peak);
    }

    /// A record step copies the field only when the worker records.
    #[test]
    fn record_steps_record_only_when_asked() {
        let kit = Kit::new(8);
        let step = RecordPlane { planes: 2..4, kind: "circular_aperture", image_plane: false };
        let mut wf = disc(8, 3.0, 0.1, 1e-6);
        let mut quiet = Scratch::new();
        step.apply(&mut wf, &kit.exec(Precision::F64), &mut quiet).unwrap();
        assert!(quiet.records.is_none());
        let mut loud = Scratch { records: Some(Vec::new()), ..Scratch::new() };
        step.apply(&mut wf, &kit.exec(Precision::F64), &mut loud).unwrap();
        let r = &loud.records.as_ref().unwrap()[0];
        assert_eq!((r.planes.clone(), r.kind, r.pixelscale), (2..4, "circular_aperture", 0.1));
        assert_eq!(r.field, wf.field);
    }

    /// Scratch lends zeroed buffers and keeps at most three large ones, the largest; a
    /// buffer more than twice the size asked for is not lent.
    #[test]
    fn scratch_reuses_large_buffers() {
        let mut s = Scratch::new();
        let mut b = s.take_buffer(1 << 16);
        b[5] = Complex64::new(1.0, 0.0);
        let ptr = b.as_ptr();
        s.give_back(b);
        let again = s.take_buffer(1 << 16);
        assert_eq!(again.as_ptr(), ptr);
        assert!(again.iter().all(|z| *z == Complex64::new(0.0, 0.0)));
        s.give_back(vec![Complex64::new(0.0, 0.0); 10]);
        for _ in 0..3 {
            s.give_back(vec![Complex64::new(0.0, 0.0); 1 << 16]);
        }
        s.give_back(vec![Complex64::new(0.0, 0.0); 1 << 18]);
        assert_eq!(s.buffers.len(), 3);
        assert!(s.buffers.iter().any(|b| b.capacity() == 1 << 18));
        let big = s.buffers.iter().find(|b| b.capacity() == 1 << 18).unwrap().as_ptr();
        let small = s.take_buffer(1 << 16);
        assert_ne!(small.as_ptr(), big);
        let fits = s.take_buffer(1 << 17);
        assert_eq!(fits.as_ptr(), big);
    }
}
