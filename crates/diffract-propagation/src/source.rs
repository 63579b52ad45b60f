//! The source: wavelengths, weights and an offset from the axis.

use crate::PropagationError;

/// Most wavelengths in one PSF.
pub const MAX_WAVELENGTHS: usize = 10_000;

/// A point source: the wavelengths computed, their weights, and its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    wavelengths: Vec<f64>,
    weights: Vec<f64>,
    offset_r_arcsec: f64,
    offset_theta_deg: f64,
}

impl Source {
    /// A source at `wavelengths_m` with relative `weights` (`None`: equal).
    ///
    /// # Errors
    ///
    /// [`PropagationError::Invalid`] for an empty list, a non-positive or non-finite
    /// wavelength, weights of a different length, negative or non-finite weights, or
    /// weights summing to zero.
    pub fn new(
        wavelengths_m: Vec<f64>,
        weights: Option<Vec<f64>>,
    ) -> Result<Self, PropagationError> {
        if wavelengths_m.is_empty() || wavelengths_m.len() > MAX_WAVELENGTHS {
            return Err(PropagationError::invalid(
                "wavelengths_m",
                format!("a list of {}", wavelengths_m.len()),
                "must hold 1 to 10000 wavelengths",
            ));
        }
        if let Some(&w) = wavelengths_m.iter().find(|w| !(w.is_finite() && **w > 0.0)) {
            return Err(PropagationError::invalid(
                "wavelengths_m",
                w,
                "wavelengths must be finite and > 0",
            ));
        }
        let weights = weights.unwrap_or_else(|| vec![1.0; wavelengths_m.len()]);
        if weights.len() != wavelengths_m.len() {
            return Err(PropagationError::invalid(
                "weights",
                format!("{} weights for {} wavelengths", weights.len(), wavelengths_m.len()),
                "give one weight per wavelength",
            ));
        }
        if let Some(&w) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
            return Err(PropagationError::invalid("weights", w, "weights must be finite and >= 0"));
        }
        if weights.iter().sum::<f64>() <= 0.0 {
            return Err(PropagationError::invalid(
                "weights",
                "all zero",
                "at least one weight must be > 0",
            ));
        }
        Ok(Source {
            wavelengths: wavelengths_m,
            weights,
            offset_r_arcsec: 0.0,
            offset_theta_deg: 0.0,
        })
    }

    /// A single wavelength.
    ///
    /// # Errors
    ///
    /// As [`Source::new`].
    pub fn monochromatic(wavelength_m: f64) -> Result<Self, PropagationError> {
        Source::new(vec![wavelength_m], None)
    }

    /// Moves the source `r_arcsec` from the axis at position angle `theta_deg`,
    /// counter-clockwise from +Y (POPPY's `source_offset_r` and `source_offset_theta`).
    ///
    /// # Errors
    ///
    /// [`PropagationError::Invalid`] for non-finite values.
    pub fn with_offset(mut self, r_arcsec: f64, theta_deg: f64) -> Result<Self, PropagationError> {
        if !r_arcsec.is_finite() {
            return Err(PropagationError::invalid(
                "offset_r_arcsec",
                r_arcsec,
                "must be a finite number",
            ));
        }
        if !theta_deg.is_finite() {
            return Err(PropagationError::invalid(
                "offset_theta_deg",
                theta_deg,
                "must be a finite number",
            ));
        }
        self.offset_r_arcsec = r_arcsec;
        self.offset_theta_deg = theta_deg;
        Ok(self)
    }

    /// The wavelengths, metres.
    pub fn wavelengths(&self) -> &[f64] {
        &self.wavelengths
    }

    /// The weights as given.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The weights scaled to sum to 1.
    pub fn normalized_weights(&self) -> Vec<f64> {
        let total: f64 = self.weights.iter().sum();
        self.weights.iter().map(|w| w / total).collect()
    }

    /// Weighted mean wavelength, metres.
    pub fn mean_wavelength(&self) -> f64 {
        let total: f64 = self.weights.iter().sum();
        self.wavelengths.iter().zip(&self.weights).map(|(l, w)| l * w).sum::<f64>() / total
    }

    /// The offset `(r_arcsec, theta_deg)`.
    pub fn offset(&self) -> (f64, f64) {
        (self.offset_r_arcsec, self.offset_theta_deg)
    }

    /// The offset as sky tilts `(x, y)` in arcsec: `x = -r sin(theta)`, `y = r cos(theta)`.
    pub fn tilt_arcsec(&self) -> (f64, f64) {
        let t = self.offset_theta_deg.to_radians();
        (self.offset_r_arcsec * -t.sin(), self.offset_r_arcsec * t.cos())
    }
}
