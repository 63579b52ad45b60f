//! The wavefront: a complex field, its wavelength, and what its samples mean.

use diffract_optics::ImageGrid;
use ndarray::Array2;
use num_complex::Complex64;

/// What the samples of a [`Wavefront`] mean: where the field is and how far apart its
/// samples are.
///
/// Fresnel propagation will add a variant for planes at a distance from a pupil, with the
/// beam's z, Gaussian-beam parameters and reference surface; matches on this enum should
/// keep a catch-all arm.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Sampling {
    /// A pupil plane.
    Pupil {
        /// Metres per pixel.
        m_per_px: f64,
        /// Index (row and column) of the optical axis: `(n - 1) / 2` for a pupil centred in
        /// its array; a pupil cut out of a zero-padded one keeps the padded grid's axis.
        centre: f64,
    },
    /// An image (focal) plane.
    Image {
        /// Arcseconds per pixel.
        arcsec_per_px: f64,
        /// Index (row, column) of the optical axis.
        centre: (f64, f64),
        /// The width of the field in lambda/D when it was reached by a matrix Fourier
        /// transform (the way back is then the inverse transform with the same width);
        /// `None` after an FFT.
        nlamd: Option<f64>,
    },
}

impl Sampling {
    /// Whether the samples are in an image plane.
    pub fn is_image(&self) -> bool {
        matches!(self, Sampling::Image { .. })
    }

    /// The pixel scale: metres per pixel in a pupil plane, arcseconds per pixel in an image
    /// plane.
    pub fn pixelscale(&self) -> f64 {
        match *self {
            Sampling::Pupil { m_per_px, .. } => m_per_px,
            Sampling::Image { arcsec_per_px, .. } => arcsec_per_px,
        }
    }

    /// The unit of [`Sampling::pixelscale`]: `"m/pixel"` or `"arcsec/pixel"`.
    pub fn unit(&self) -> &'static str {
        match self {
            Sampling::Pupil { .. } => "m/pixel",
            Sampling::Image { .. } => "arcsec/pixel",
        }
    }
}

/// A monochromatic complex field at one plane of an optical system: POPPY's `Wavefront`.
///
/// The field's rows are y and its columns x; its intensity is `|field|^2`. Steps of a
/// [`crate::PsfPlan`] change the field and its sampling in place.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Wavefront {
    /// The complex amplitude.
    pub field: Array2<Complex64>,
    /// Wavelength, metres.
    pub wavelength: f64,
    /// What the samples mean.
    pub sampling: Sampling,
}

impl Wavefront {
    /// A wavefront of `field` at `wavelength` metres with `sampling`.
    pub fn new(field: Array2<Complex64>, wavelength: f64, sampling: Sampling) -> Self {
        Wavefront { field, wavelength, sampling }
    }

    /// Total intensity, `sum |field|^2`.
    pub fn total_intensity(&self) -> f64 {
        self.field.iter().map(|z| z.norm_sqr()).sum()
    }

    /// The intensity `|field|^2`.
    pub fn intensity(&self) -> Array2<f64> {
        self.field.mapv(|z| z.norm_sqr())
    }

    /// The phase in radians.
    pub fn phase(&self) -> Array2<f64> {
        self.field.mapv(|z| z.arg())
    }

    /// The image-plane grid of the field, for sampling image-plane optics; `None` in a pupil
    /// plane.
    pub fn image_grid(&self) -> Option<ImageGrid> {
        match self.sampling {
            Sampling::Image { arcsec_per_px, centre, .. } => Some(ImageGrid {
                shape: self.field.dim(),
                pixelscale: arcsec_per_px,
                center: centre,
            }),
            Sampling::Pupil { .. } => None,
        }
    }
}
