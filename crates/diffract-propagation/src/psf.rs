//! A computed PSF and its detector-sampled version.

use crate::Precision;
use diffract_transforms::{FftBackend, GemmBackend};
use ndarray::Array2;

/// A polychromatic PSF on the oversampled detector grid, with what produced it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Psf {
    /// Intensity, (rows = y, columns = x), oversampled.
    pub image: Array2<f64>,
    /// Arcsec per oversampled pixel.
    pub pixelscale_arcsec: f64,
    /// Detector oversampling factor.
    pub oversample: usize,
    /// The detector field of view computed, arcsec.
    pub fov_arcsec: f64,
    /// Wavelengths, metres.
    pub wavelengths: Vec<f64>,
    /// Weights, normalised to sum 1.
    pub weights: Vec<f64>,
    /// Weighted mean wavelength, metres.
    pub mean_wavelength: f64,
    /// lambda/D in arcsec at the first wavelength (POPPY's DIFFLMT).
    pub diffraction_limit_arcsec: f64,
    /// Width of the pupil array, metres.
    pub pupil_diameter: f64,
    /// The GEMM backend used.
    pub gemm: GemmBackend,
    /// The FFT backend (used only when there are image planes).
    pub fft: FftBackend,
    /// The precision of the matrix Fourier transforms.
    pub precision: Precision,
    /// Wavelengths computed at once.
    pub workers: usize,
    /// Gaussian jitter applied (sigma per axis, arcsec) and the peak ratio it left
    /// (POPPY's JITRSIGM and JITRSTRL).
    pub jitter: Option<(f64, f64)>,
    /// For a Fresnel system: the output is in metres, not arcseconds (`pixelscale_arcsec`
    /// and `fov_arcsec` are NaN), with the pixel scale and z of the first wavelength.
    pub fresnel: Option<FresnelOutput>,
}

/// What a Fresnel system's output is: its pixel scale and position (first wavelength).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct FresnelOutput {
    /// Metres per pixel at the last plane (the detector's when there is one), at the first
    /// wavelength: POPPY's `PIXELSCL`.
    pub pixelscale_m: f64,
    /// Distance of the last plane along the optical axis from the entrance, metres.
    pub z_m: f64,
    /// The pupil's share of the array width.
    pub beam_ratio: f64,
    /// Samples across the entrance pupil.
    pub npix: usize,
}

impl Psf {
    /// The PSF binned to detector pixels (sums of `oversample` x `oversample` blocks).
    pub fn detector_sampled(&self) -> Array2<f64> {
        bin_by(&self.image, self.oversample)
    }

    /// Total intensity in the field.
    pub fn flux(&self) -> f64 {
        self.image.sum()
    }

    /// Blurs the oversampled PSF by Gaussian pointing jitter of `sigma_arcsec` per axis, as
    /// POPPY's `jitter='gaussian'` (scipy's gaussian_filter on the oversampled image); the
    /// detector-sampled PSF is binned from the result.
    pub fn apply_jitter(&mut self, sigma_arcsec: f64) {
        let peak = |a: &ndarray::Array2<f64>| a.iter().copied().fold(0.0, f64::max);
        let before = peak(&self.image);
        self.image = crate::gaussian_blur(&self.image, sigma_arcsec / self.pixelscale_arcsec);
        let ratio = if before > 0.0 { peak(&self.image) / before } else { 1.0 };
        self.jitter = Some((sigma_arcsec, ratio));
    }
}

/// Sums `factor` x `factor` blocks of `a` (flux-conserving); trailing rows or columns that do
/// not fill a block are dropped, as POPPY's `rebin_array`.
pub fn bin_by(a: &Array2<f64>, factor: usize) -> Array2<f64> {
    let f = factor.max(1);
    let (ny, nx) = (a.nrows() / f, a.ncols() / f);
    let mut out = Array2::<f64>::zeros((ny, nx));
    // Each block summed in the input's row-major order (row by row, left to right).
    for i in 0..ny * f {
        let row = a.row(i);
        let mut sums = out.row_mut(i / f);
        for (sum, j) in sums.iter_mut().zip((0..nx).map(|bj| bj * f)) {
            for k in 0..f {
                *sum += row[j + k];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: block sums written out by hand; rows and columns beyond the last whole
    /// block are dropped (POPPY's rebin_array).
    #[test]
    fn binning_sums_whole_blocks() {
        let a = Array2::from_shape_fn((5, 7), |(i, j)| (10 * i + j) as f64);
        let b = bin_by(&a, 2);
        assert_eq!(b.dim(), (2, 3));
        for i in 0..2 {
            for j in 0..3 {
                let (y, x) = (2 * i, 2 * j);
                let want = a[[y, x]] + a[[y, x + 1]] + a[[y + 1, x]] + a[[y + 1, x + 1]];
                assert_eq!(b[[i, j]], want);
            }
        }
        assert_eq!(bin_by(&a, 1), a);
    }
}
