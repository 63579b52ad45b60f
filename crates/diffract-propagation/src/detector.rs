//! The detector: pixel scale, field of view and oversampling.

use crate::PropagationError;

/// Largest detector field accepted, in oversampled pixels across.
pub const MAX_DETECTOR_PIXELS: usize = 32768;

/// How the field of view along one axis (or across a square field) is given.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fov {
    /// In arcseconds; rounded to a whole number of detector pixels (half to even), as POPPY.
    Arcsec(f64),
    /// In detector pixels.
    Pixels(usize),
}

/// A detector plane. POPPY's `Detector`; its oversampling is the system's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detector {
    pixelscale_arcsec: f64,
    /// The field along Y (rows), and across a square field.
    fov: Fov,
    /// The field along X (columns) when it differs from Y's.
    fov_x: Option<Fov>,
    jitter_sigma_arcsec: Option<f64>,
    /// POPPY's detector `offset`, (y, x) output pixels.
    offset_pixels: (f64, f64),
}

/// Detector pixels in a field given as `fov` (0 for a field below half a pixel).
fn pixels_of(fov: Fov, pixelscale_arcsec: f64) -> usize {
    match fov {
        Fov::Pixels(n) => n,
        Fov::Arcsec(a) => {
            let n = (a / pixelscale_arcsec).round_ties_even();
            if n.is_finite() && n > 0.0 {
                n.min(usize::MAX as f64 / 4.0) as usize
            } else {
                0
            }
        }
    }
}

/// Checks one axis of a field.
fn check_fov(fov: Fov, pixelscale_arcsec: f64) -> Result<(), PropagationError> {
    let n = pixels_of(fov, pixelscale_arcsec);
    match fov {
        Fov::Arcsec(a) if !(a.is_finite() && a > 0.0) => {
            Err(PropagationError::invalid("fov_arcsec", a, "must be a finite number > 0"))
        }
        Fov::Pixels(0) => {
            Err(PropagationError::invalid("fov_pixels", 0, "must be an integer >= 1"))
        }
        _ if n == 0 => Err(PropagationError::invalid(
            "fov_arcsec",
            n as f64 * pixelscale_arcsec,
            "must be at least half a detector pixel",
        )),
        _ if n > MAX_DETECTOR_PIXELS => Err(PropagationError::invalid(
            "field of view",
            format!("{n} pixels"),
            "must be at most 32768 detector pixels across",
        )),
        _ => Ok(()),
    }
}

impl Detector {
    /// A detector of `pixelscale_arcsec` arcsec per pixel and a square field of `fov`.
    ///
    /// # Errors
    ///
    /// [`PropagationError::Invalid`] for a non-positive pixel scale or field, or a field that
    /// rounds to zero pixels.
    pub fn new(pixelscale_arcsec: f64, fov: Fov) -> Result<Self, PropagationError> {
        if !(pixelscale_arcsec.is_finite() && pixelscale_arcsec > 0.0) {
            return Err(PropagationError::invalid(
                "pixelscale_arcsec",
                pixelscale_arcsec,
                "must be a finite number > 0",
            ));
        }
        check_fov(fov, pixelscale_arcsec)?;
        Ok(Detector {
            pixelscale_arcsec,
            fov,
            fov_x: None,
            jitter_sigma_arcsec: None,
            offset_pixels: (0.0, 0.0),
        })
    }

    /// A detector with a rectangular field, `fov_y` rows by `fov_x` columns (POPPY's
    /// `Detector` with a two-element `fov_pixels` or `fov_arcsec`, in POPPY's (Y, X) order).
    ///
    /// # Errors
    ///
    /// As [`Detector::new`], for either axis.
    pub fn rectangular(
        pixelscale_arcsec: f64,
        fov_y: Fov,
        fov_x: Fov,
    ) -> Result<Self, PropagationError> {
        let mut d = Detector::new(pixelscale_arcsec, fov_y)?;
        check_fov(fov_x, pixelscale_arcsec)?;
        d.fov_x = Some(fov_x);
        Ok(d)
    }

    /// A detector with the field given in arcseconds.
    ///
    /// # Errors
    ///
    /// As [`Detector::new`].
    pub fn with_fov_arcsec(
        pixelscale_arcsec: f64,
        fov_arcsec: f64,
    ) -> Result<Self, PropagationError> {
        Detector::new(pixelscale_arcsec, Fov::Arcsec(fov_arcsec))
    }

    /// A detector with the field given in pixels.
    ///
    /// # Errors
    ///
    /// As [`Detector::new`].
    pub fn with_fov_pixels(
        pixelscale_arcsec: f64,
        fov_pixels: usize,
    ) -> Result<Self, PropagationError> {
        Detector::new(pixelscale_arcsec, Fov::Pixels(fov_pixels))
    }

    /// Blurs every PSF computed for this detector by Gaussian pointing jitter of
    /// `sigma_arcsec` per axis (POPPY's `jitter='gaussian'`, `jitter_sigma`); 0 means none.
    ///
    /// # Errors
    ///
    /// [`PropagationError::Invalid`] for a negative or non-finite sigma.
    pub fn with_jitter(mut self, sigma_arcsec: f64) -> Result<Self, PropagationError> {
        if !(sigma_arcsec.is_finite() && sigma_arcsec >= 0.0) {
            return Err(PropagationError::invalid(
                "jitter_sigma_arcsec",
                sigma_arcsec,
                "must be a finite number >= 0",
            ));
        }
        self.jitter_sigma_arcsec = (sigma_arcsec > 0.0).then_some(sigma_arcsec);
        Ok(self)
    }

    /// Shifts the detector by `(y, x)` pixels relative to the beam (POPPY's `Detector`
    /// `offset`): the PSF moves the other way. As POPPY 1.1.2 applies it, the pixels are the
    /// computed (oversampled) ones.
    ///
    /// # Errors
    ///
    /// [`PropagationError::Invalid`] for a non-finite offset.
    pub fn with_offset_pixels(mut self, y: f64, x: f64) -> Result<Self, PropagationError> {
        if !(y.is_finite() && x.is_finite()) {
            return Err(PropagationError::invalid(
                "offset_pixels",
                format!("[{y}, {x}]"),
                "must be two finite numbers",
            ));
        }
        self.offset_pixels = (y, x);
        Ok(self)
    }

    /// The detector's offset, (y, x) computed pixels.
    pub fn offset_pixels(&self) -> (f64, f64) {
        self.offset_pixels
    }

    /// The Gaussian jitter sigma per axis, arcsec, if any.
    pub fn jitter_sigma_arcsec(&self) -> Option<f64> {
        self.jitter_sigma_arcsec
    }

    /// Arcseconds per detector pixel.
    pub fn pixelscale_arcsec(&self) -> f64 {
        self.pixelscale_arcsec
    }

    /// The field as given (along Y for a rectangular field).
    pub fn fov(&self) -> Fov {
        self.fov
    }

    /// The field along X as given, for a rectangular field.
    pub fn fov_x(&self) -> Option<Fov> {
        self.fov_x
    }

    /// Detector pixels across the field (along Y, the rows, for a rectangular field).
    pub fn fov_pixels(&self) -> usize {
        pixels_of(self.fov, self.pixelscale_arcsec)
    }

    /// Detector pixels (rows along Y, columns along X).
    pub fn fov_shape(&self) -> (usize, usize) {
        let ny = self.fov_pixels();
        (ny, self.fov_x.map_or(ny, |f| pixels_of(f, self.pixelscale_arcsec)))
    }

    /// Whether rows and columns differ in number.
    pub fn is_rectangular(&self) -> bool {
        let (ny, nx) = self.fov_shape();
        ny != nx
    }

    /// The field actually computed, in arcseconds: whole pixels times the pixel scale
    /// (along Y for a rectangular field).
    pub fn fov_arcsec(&self) -> f64 {
        self.fov_pixels() as f64 * self.pixelscale_arcsec
    }

    /// The field computed along Y and X, arcseconds.
    pub fn fov_arcsec_yx(&self) -> (f64, f64) {
        let (ny, nx) = self.fov_shape();
        (ny as f64 * self.pixelscale_arcsec, nx as f64 * self.pixelscale_arcsec)
    }
}
