//! An optical system: the entrance-pupil sampling, the optics in order, the detector.

use crate::{Detector, PropagationError, PsfPlan};
use diffract_optics::{PupilGrid, PupilOptic};
use std::sync::Arc;

/// An ordered list of pupil-plane optics followed by a detector. POPPY's `OpticalSystem`
/// with `add_pupil` and `add_detector`.
#[derive(Clone, Debug)]
pub struct OpticalSystem {
    name: String,
    npix: usize,
    oversample: usize,
    pupil_diameter: Option<f64>,
    optics: Vec<Arc<dyn PupilOptic>>,
    detector: Option<Detector>,
}

impl OpticalSystem {
    /// An empty system sampling the entrance pupil with `npix` pixels across and
    /// oversampling the detector by `oversample`.
    pub fn new(name: impl Into<String>, npix: usize, oversample: usize) -> Self {
        OpticalSystem {
            name: name.into(),
            npix,
            oversample,
            pupil_diameter: None,
            optics: Vec::new(),
            detector: None,
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
        self.optics.push(Arc::new(optic));
        self
    }

    /// Appends a shared pupil-plane optic.
    pub fn add_pupil_shared(&mut self, optic: Arc<dyn PupilOptic>) -> &mut Self {
        self.optics.push(optic);
        self
    }

    /// Sets the detector.
    pub fn set_detector(&mut self, detector: Detector) -> &mut Self {
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

    /// Detector oversampling.
    pub fn oversample(&self) -> usize {
        self.oversample
    }

    /// The optics in order.
    pub fn optics(&self) -> &[Arc<dyn PupilOptic>] {
        &self.optics
    }

    /// The detector, if set.
    pub fn detector(&self) -> Option<&Detector> {
        self.detector.as_ref()
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
            .optics
            .first()
            .ok_or_else(|| PropagationError::System("the system has no optics".into()))?;
        first.natural_diameter().ok_or_else(|| {
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
    /// [`PropagationError`] for a system without optics or detector, a bad oversampling, or
    /// a pupil that cannot be sampled.
    pub fn plan(&self) -> Result<PsfPlan, PropagationError> {
        PsfPlan::new(self)
    }
}
