//! The wavefront: a complex field, its wavelength, and what its samples mean.

use diffract_optics::ImageGrid;
use ndarray::Array2;
use num_complex::{Complex32, Complex64};

/// What the samples of a [`Wavefront`] mean: where the field is and how far apart its
/// samples are.
///
/// Matches on this enum should keep a catch-all arm: more kinds of plane may come.
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
        /// The width of the field in lambda/D of the pupil array, along Y and X, when it
        /// was reached by a matrix Fourier transform (the way back is then the inverse
        /// transform with the same widths); `None` after an FFT.
        nlamd: Option<(f64, f64)>,
    },
    /// A plane of a Fresnel system at some distance along the beam, sampled in metres, with
    /// the Gaussian beam that sets how the next propagation is made.
    Fresnel {
        /// Metres per pixel.
        m_per_px: f64,
        /// Index (row and column) of the optical axis: `n / 2`, as POPPY's FFT-centred
        /// Fresnel coordinates.
        centre: f64,
        /// The Gaussian-beam state: waist, position, reference surface.
        beam: GaussianBeam,
    },
}

/// The Gaussian beam a Fresnel wavefront carries (POPPY's `FresnelWavefront` parameters):
/// the waist radius and position, where the wavefront is now, and whether its reference
/// surface is planar or spherical. All lengths in metres along the optical axis.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct GaussianBeam {
    /// Waist radius of the current beam, `w_0`.
    pub waist_radius: f64,
    /// Position of the current beam's waist, `z_w0`.
    pub waist_z: f64,
    /// Position of the wavefront, `z`.
    pub z: f64,
    /// Whether the field is stored relative to a spherical reference surface (outside the
    /// Rayleigh distance of the waist) rather than a plane.
    pub spherical: bool,
    /// Threshold in Rayleigh distances beyond which a lens sees a curved input beam
    /// (POPPY's `rayleigh_factor`, 2).
    pub rayleigh_factor: f64,
}

impl GaussianBeam {
    /// The beam entering a system: its waist, of radius `beam_radius_m`, at z = 0, planar.
    pub fn new(beam_radius_m: f64) -> Self {
        GaussianBeam {
            waist_radius: beam_radius_m,
            waist_z: 0.0,
            z: 0.0,
            spherical: false,
            rayleigh_factor: 2.0,
        }
    }

    /// The Rayleigh distance `pi w_0^2 / lambda` at `wavelength` metres.
    pub fn rayleigh_distance(&self, wavelength: f64) -> f64 {
        std::f64::consts::PI * self.waist_radius * self.waist_radius / wavelength
    }

    /// Radius of curvature of the beam at `z` (infinite at the waist).
    pub fn radius_of_curvature(&self, z: f64, wavelength: f64) -> f64 {
        let dz = z - self.waist_z;
        if dz == 0.0 {
            return f64::INFINITY;
        }
        let zr = self.rayleigh_distance(wavelength);
        dz * (1.0 + (zr / dz) * (zr / dz))
    }

    /// Radius of the beam at `z`.
    pub fn spot_radius(&self, z: f64, wavelength: f64) -> f64 {
        let q = (z - self.waist_z) / self.rayleigh_distance(wavelength);
        self.waist_radius * (1.0 + q * q).sqrt()
    }

    /// Whether `z` lies within one Rayleigh distance of the waist, where propagation keeps
    /// a planar reference surface.
    pub fn planar_at(&self, z: f64, wavelength: f64) -> bool {
        (self.waist_z - z).abs() < self.rayleigh_distance(wavelength)
    }
}

impl Sampling {
    /// Whether the samples are in an image plane.
    pub fn is_image(&self) -> bool {
        matches!(self, Sampling::Image { .. })
    }

    /// The Gaussian beam of a Fresnel plane.
    pub fn beam(&self) -> Option<&GaussianBeam> {
        match self {
            Sampling::Fresnel { beam, .. } => Some(beam),
            _ => None,
        }
    }

    /// The pixel scale: metres per pixel in a pupil plane, arcseconds per pixel in an image
    /// plane.
    pub fn pixelscale(&self) -> f64 {
        match *self {
            Sampling::Pupil { m_per_px, .. } | Sampling::Fresnel { m_per_px, .. } => m_per_px,
            Sampling::Image { arcsec_per_px, .. } => arcsec_per_px,
        }
    }

    /// The unit of [`Sampling::pixelscale`]: `"m/pixel"` or `"arcsec/pixel"`.
    pub fn unit(&self) -> &'static str {
        match self {
            Sampling::Pupil { .. } | Sampling::Fresnel { .. } => "m/pixel",
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
    /// A zero-padded FFT plane held in single precision between the FFT to the image and
    /// the FFT back (`field` is then empty): the plan's transforms run in single precision
    /// and nothing looks at the plane in between.
    pub(crate) padded32: Option<Array2<Complex32>>,
}

impl Wavefront {
    /// A wavefront of `field` at `wavelength` metres with `sampling`.
    pub fn new(field: Array2<Complex64>, wavelength: f64, sampling: Sampling) -> Self {
        Wavefront { field, wavelength, sampling, padded32: None }
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
                shape: self.padded32.as_ref().map_or(self.field.dim(), |f| f.dim()),
                pixelscale: arcsec_per_px,
                center: centre,
                frame: None,
            }),
            _ => None,
        }
    }
}
