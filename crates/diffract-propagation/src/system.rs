//! An optical system: the entrance-pupil sampling, the planes in order, the detector, and
//! optionally a special coronagraph propagation.

use crate::{Detector, PropagationError, PsfPlan};
use diffract_optics::{ImageOptic, PupilGrid, PupilOptic};
use std::sync::Arc;

/// Which way an FQPM aligner tilts (POPPY's `FQPM_FFT_aligner`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlignerDirection {
    /// Before the mask: tilt by minus half an FFT image pixel so the PSF centre falls on the
    /// corner between pixels (the mask's crosshair).
    Forward,
    /// After the mask: undo the tilt.
    Backward,
}

/// One plane of an optical system.
#[derive(Clone, Debug)]
pub enum Plane {
    /// An optic in a pupil plane.
    Pupil(Arc<dyn PupilOptic>),
    /// An optic in an image plane.
    Image(Arc<dyn ImageOptic>),
    /// The half-pixel tilt that centres an FFT image on an FQPM's crosshair (a pupil plane).
    FqpmAligner(AlignerDirection),
    /// A detector in the middle of the system (POPPY's `add_detector` followed by more
    /// optics): the field is taken onto the detector's pixels by an MFT, as onto the final
    /// detector; image-plane optics after it act on those pixels, and the next pupil-plane
    /// optic is reached by the inverse MFT back to the entrance-pupil sampling.
    Detector {
        /// The detector's pixels and field.
        detector: Detector,
        /// Samples per detector pixel; `None` takes the system's oversampling (POPPY's
        /// default).
        oversample: Option<usize>,
    },
}

impl Plane {
    /// The scene kind of the plane's optic.
    pub fn kind(&self) -> &'static str {
        match self {
            Plane::Pupil(o) => o.kind(),
            Plane::Image(o) => o.kind(),
            Plane::FqpmAligner(_) => "fqpm_fft_aligner",
            Plane::Detector { .. } => "detector",
        }
    }

    /// Whether the plane is an image plane holding an image-plane optic (not a detector).
    pub fn is_image(&self) -> bool {
        matches!(self, Plane::Image(_))
    }

    /// Whether the plane is a detector in the middle of the system.
    pub fn is_detector(&self) -> bool {
        matches!(self, Plane::Detector { .. })
    }
}

/// A special propagation for coronagraphs, replacing the large zero-padded FFTs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Coronagraph {
    /// Soummer et al. (2007): the occulter is reached by an MFT onto a small box, applied
    /// by Babinet's principle; no FFT. POPPY's `SemiAnalyticCoronagraph`.
    SemiAnalytic {
        /// Half-size of the box, arcsec, about the axis; it must hold the whole occulter.
        occulter_box_arcsec: f64,
        /// Sampling of the box relative to detector pixels (POPPY's default 8).
        oversample: usize,
    },
    /// Every image plane reached by MFT onto a box (Zimmerman et al. 2016); for masks that
    /// transmit only inside the box. POPPY's `MatrixFTCoronagraph`.
    MatrixFt {
        /// Half-size of the box, arcsec; it must hold everything the masks transmit.
        occulter_box_arcsec: f64,
        /// Sampling of the box in units of lambda/(2D) (POPPY's default 4).
        oversample: usize,
    },
}

/// Where the field is scaled to unit total intensity (POPPY's `calc_psf(normalize=...)`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Normalization {
    /// After the first optic (the default): the PSF sums to the fraction of the entering
    /// light that reaches the detector field.
    #[default]
    First,
    /// On the detector, per wavelength: every monochromatic PSF sums to 1.
    Last,
    /// After the last pupil-plane optic (the exit pupil), over the whole array there.
    ExitPupil,
    /// Never: the input field has unit amplitude per pupil pixel.
    None,
}

impl Normalization {
    /// Every choice.
    pub const ALL: &'static [Normalization] =
        &[Normalization::First, Normalization::Last, Normalization::ExitPupil, Normalization::None];

    /// The scene and POPPY spelling: `"first"`, `"last"`, `"exit_pupil"` or `"none"`.
    pub fn name(self) -> &'static str {
        match self {
            Normalization::First => "first",
            Normalization::Last => "last",
            Normalization::ExitPupil => "exit_pupil",
            Normalization::None => "none",
        }
    }
}

impl std::str::FromStr for Normalization {
    type Err = PropagationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Normalization::ALL.iter().copied().find(|n| n.name() == s).ok_or_else(|| {
            PropagationError::invalid(
                "normalize",
                format!("\"{s}\""),
                "must be \"first\", \"last\", \"exit_pupil\" or \"none\"",
            )
        })
    }
}

/// An ordered list of planes followed by a detector. POPPY's `OpticalSystem` with
/// `add_pupil`, `add_image` and `add_detector`.
#[derive(Clone, Debug)]
pub struct OpticalSystem {
    name: String,
    npix: usize,
    oversample: usize,
    pupil_diameter: Option<f64>,
    planes: Vec<Plane>,
    detector: Option<Detector>,
    coronagraph: Option<Coronagraph>,
    normalization: Normalization,
}

impl OpticalSystem {
    /// An empty system sampling the entrance pupil with `npix` pixels across, zero-padding
    /// FFTs and oversampling the detector by `oversample`.
    pub fn new(name: impl Into<String>, npix: usize, oversample: usize) -> Self {
        OpticalSystem {
            name: name.into(),
            npix,
            oversample,
            pupil_diameter: None,
            planes: Vec::new(),
            detector: None,
            coronagraph: None,
            normalization: Normalization::First,
        }
    }

    /// Sets the physical width of the pupil array; by default it is the first optic's
    /// natural diameter (POPPY's `pupil_diam`).
    pub fn set_pupil_diameter(&mut self, diameter_m: f64) -> &mut Self {
        self.pupil_diameter = Some(diameter_m);
        self
    }

    /// Appends a pupil-plane optic.
    pub fn add_pupil(&mut self, optic: impl PupilOptic + 'static) -> &mut Self {
        self.planes.push(Plane::Pupil(Arc::new(optic)));
        self
    }

    /// Appends an image-plane optic.
    pub fn add_image(&mut self, optic: impl ImageOptic + 'static) -> &mut Self {
        self.planes.push(Plane::Image(Arc::new(optic)));
        self
    }

    /// Appends a plane.
    pub fn add_plane(&mut self, plane: Plane) -> &mut Self {
        self.planes.push(plane);
        self
    }

    /// Appends a detector in the middle of the system (POPPY's `add_detector` followed by
    /// more optics), sampled `oversample` times per pixel (`None`: the system's
    /// oversampling). See [`Plane::Detector`].
    pub fn add_intermediate_detector(
        &mut self,
        detector: Detector,
        oversample: Option<usize>,
    ) -> &mut Self {
        self.planes.push(Plane::Detector { detector, oversample });
        self
    }

    /// Sets the detector.
    pub fn set_detector(&mut self, detector: Detector) -> &mut Self {
        self.detector = Some(detector);
        self
    }

    /// Uses a special coronagraph propagation instead of zero-padded FFTs.
    pub fn set_coronagraph(&mut self, method: Coronagraph) -> &mut Self {
        self.coronagraph = Some(method);
        self
    }

    /// Where the field is normalised to unit total intensity (POPPY's `normalize`).
    pub fn set_normalization(&mut self, normalization: Normalization) -> &mut Self {
        self.normalization = normalization;
        self
    }

    /// Where the field is normalised to unit total intensity.
    pub fn normalization(&self) -> Normalization {
        self.normalization
    }

    /// The system's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Pupil samples across.
    pub fn npix(&self) -> usize {
        self.npix
    }

    /// FFT zero-padding and detector oversampling.
    pub fn oversample(&self) -> usize {
        self.oversample
    }

    /// The planes in order.
    pub fn planes(&self) -> &[Plane] {
        &self.planes
    }

    /// The detector, if set.
    pub fn detector(&self) -> Option<&Detector> {
        self.detector.as_ref()
    }

    /// The special coronagraph propagation, if set.
    pub fn coronagraph(&self) -> Option<&Coronagraph> {
        self.coronagraph.as_ref()
    }

    /// The natural diameter of the first plane's optic, if it has one.
    pub fn first_optic_diameter(&self) -> Option<f64> {
        match self.planes.first()? {
            Plane::Pupil(o) => o.natural_diameter(),
            _ => None,
        }
    }

    /// The width of the pupil array: the one set, or the first optic's natural diameter.
    ///
    /// # Errors
    ///
    /// [`PropagationError::System`] when neither is available.
    pub fn pupil_diameter(&self) -> Result<f64, PropagationError> {
        if let Some(d) = self.pupil_diameter {
            return Ok(d);
        }
        let first = self
            .planes
            .first()
            .ok_or_else(|| PropagationError::System("the system has no optics".into()))?;
        self.first_optic_diameter().ok_or_else(|| {
            PropagationError::System(format!(
                "the first optic ({}) has no natural size; set pupil_diameter_m",
                first.kind()
            ))
        })
    }

    /// The pupil sampling grid.
    ///
    /// # Errors
    ///
    /// [`PropagationError`] for a missing diameter or a bad `npix`.
    pub fn grid(&self) -> Result<PupilGrid, PropagationError> {
        Ok(PupilGrid::new(self.npix, self.pupil_diameter()?)?)
    }

    /// Samples the optics and prepares the PSF computation.
    ///
    /// # Errors
    ///
    /// [`PropagationError`] for a system without optics or detector, a bad oversampling, a
    /// plane layout the propagation cannot follow, or a pupil that cannot be sampled.
    pub fn plan(&self) -> Result<PsfPlan, PropagationError> {
        PsfPlan::new(self)
    }
}
