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

    /// `nlambda` wavelengths at the centres of equal bins across `band_m = (lo, hi)`, each
    /// weighted by the photons in its bin: the integral over the bin of the `throughput`
    /// table (`(wavelength_m, throughput)` rows in increasing wavelength, interpolated
    /// linearly, zero outside) times, with `temperature_k`, a blackbody in photon units
    /// (`B_lambda / (h c / lambda)`, proportional to `lambda^-4 / (exp(h c / (lambda k T)) -
    /// 1)`); without a temperature, a flat photon spectrum. WebbPSF's filter-times-spectrum
    /// weighting, without synphot; Simpson's rule on each bin, split at the table's rows.
    ///
    /// # Errors
    ///
    /// [`PropagationError::Invalid`] for a band that is not `0 < lo < hi` (finite),
    /// `nlambda` outside 1..=10000, a throughput table with fewer than two rows, wavelengths
    /// not increasing, negative or non-finite values, a temperature that is not finite and
    /// > 0, or no light in the band.
    pub fn from_band(
        band_m: (f64, f64),
        nlambda: usize,
        throughput: &[(f64, f64)],
        temperature_k: Option<f64>,
    ) -> Result<Self, PropagationError> {
        let (lo, hi) = band_m;
        if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && hi > lo) {
            return Err(PropagationError::invalid(
                "band_m",
                format!("[{lo}, {hi}]"),
                "must be [lo, hi] with 0 < lo < hi",
            ));
        }
        if !(1..=MAX_WAVELENGTHS).contains(&nlambda) {
            return Err(PropagationError::invalid(
                "nlambda",
                nlambda,
                "must be an integer from 1 to 10000",
            ));
        }
        if throughput.len() < 2 {
            return Err(PropagationError::invalid(
                "throughput",
                format!("a table of {} rows", throughput.len()),
                "needs at least two rows (wavelength_m, throughput)",
            ));
        }
        for (i, &(l, t)) in throughput.iter().enumerate() {
            if !(l.is_finite() && l > 0.0 && t.is_finite() && t >= 0.0) {
                return Err(PropagationError::invalid(
                    "throughput",
                    format!("row {}: ({l}, {t})", i + 1),
                    "wavelengths must be finite and > 0, throughputs finite and >= 0",
                ));
            }
            if i > 0 && l <= throughput[i - 1].0 {
                return Err(PropagationError::invalid(
                    "throughput",
                    format!("row {}: wavelength {l}", i + 1),
                    "wavelengths must increase from row to row",
                ));
            }
        }
        if let Some(t) = temperature_k {
            if !(t.is_finite() && t > 0.0) {
                return Err(PropagationError::invalid(
                    "temperature_k",
                    t,
                    "must be a finite number > 0",
                ));
            }
        }
        let table = |l: f64| -> f64 {
            let i = throughput.partition_point(|&(x, _)| x <= l);
            if i == 0 || i == throughput.len() {
                // Outside the table, or exactly on its last row.
                return if l == throughput[throughput.len() - 1].0 {
                    throughput[throughput.len() - 1].1
                } else {
                    0.0
                };
            }
            let ((x0, y0), (x1, y1)) = (throughput[i - 1], throughput[i]);
            y0 + (y1 - y0) * (l - x0) / (x1 - x0)
        };
        // Planck's law in photons, up to a constant: lambda^-4 / (exp(hc / (lambda k T)) - 1),
        // scaled by the band's lower edge to keep the numbers near 1.
        const HC_OVER_K: f64 = 6.626_070_15e-34 * 299_792_458.0 / 1.380_649e-23;
        let spectrum = |l: f64| -> f64 {
            match temperature_k {
                Some(t) => (lo / l).powi(4) / (HC_OVER_K / (l * t)).exp_m1(),
                None => 1.0,
            }
        };
        let width = (hi - lo) / nlambda as f64;
        // Simpson's rule on `steps` (even) intervals of [a, b].
        let simpson = |a: f64, b: f64, steps: usize| -> f64 {
            let h = (b - a) / steps as f64;
            let sum: f64 = (0..=steps)
                .map(|k| {
                    let l = if k == steps { b } else { a + k as f64 * h };
                    let c = if k == 0 || k == steps {
                        1.0
                    } else if k % 2 == 1 {
                        4.0
                    } else {
                        2.0
                    };
                    c * table(l) * spectrum(l)
                })
                .sum();
            sum * h / 3.0
        };
        let mut wavelengths = Vec::with_capacity(nlambda);
        let mut weights = Vec::with_capacity(nlambda);
        for b in 0..nlambda {
            let start = lo + b as f64 * width;
            let end = if b + 1 == nlambda { hi } else { start + width };
            // Split the bin at the table's rows, where the throughput has kinks, so each
            // piece is smooth; about 64 intervals per bin in all.
            let mut cuts = vec![start];
            cuts.extend(throughput.iter().map(|r| r.0).filter(|&l| l > start && l < end));
            cuts.push(end);
            let weight: f64 = cuts
                .windows(2)
                .map(|w| {
                    let steps = (((w[1] - w[0]) / width * 32.0).ceil() as usize).max(1) * 2;
                    simpson(w[0], w[1], steps)
                })
                .sum();
            wavelengths.push(start + width / 2.0);
            weights.push(weight);
        }
        if !weights.iter().all(|w| w.is_finite()) || weights.iter().sum::<f64>() <= 0.0 {
            return Err(PropagationError::invalid(
                "band_m",
                format!("[{lo}, {hi}]"),
                "the throughput table times the spectrum gives no light in this band",
            ));
        }
        Source::new(wavelengths, Some(weights))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(got: &[f64], want: &[f64], tol: f64) {
        let total: f64 = want.iter().sum();
        for (g, w) in got.iter().zip(want) {
            assert!((g - w / total).abs() <= tol * (w / total), "{got:?} vs {want:?}");
        }
    }

    /// Rayleigh-Jeans limit (T = 1e12 K: photon blackbody proportional to lambda^-3) with a
    /// throughput proportional to lambda: each bin holds 1/a - 1/b of light.
    #[test]
    fn a_hot_blackbody_through_a_ramp_gives_the_analytic_weights() {
        let (lo, hi, n) = (1.0e-6, 2.0e-6, 5);
        let table = [(0.5e-6, 0.5), (3.0e-6, 3.0)];
        let s = Source::from_band((lo, hi), n, &table, Some(1e12)).unwrap();
        let width = (hi - lo) / n as f64;
        let want: Vec<f64> = (0..n)
            .map(|b| {
                let (a, z) = (lo + b as f64 * width, lo + (b + 1) as f64 * width);
                1.0 / a - 1.0 / z
            })
            .collect();
        assert_close(&s.normalized_weights(), &want, 1e-7);
        let centres: Vec<f64> = (0..n).map(|b| lo + (b as f64 + 0.5) * width).collect();
        for (g, w) in s.wavelengths().iter().zip(&centres) {
            assert!((g - w).abs() < 1e-18);
        }
    }

    /// Wien limit (T = 500 K at 1-2 um: exp(hc / lambda k T) > 1e6), flat throughput: the
    /// photon blackbody is lambda^-4 exp(-c / lambda), whose integral is
    /// -exp(-c u) (u^2 / c + 2 u / c^2 + 2 / c^3) in u = 1 / lambda.
    #[test]
    fn a_cool_blackbody_gives_wiens_integral() {
        let (lo, hi, n, t) = (1.0e-6, 2.0e-6, 4, 500.0);
        let table = [(0.9e-6, 1.0), (2.1e-6, 1.0)];
        let s = Source::from_band((lo, hi), n, &table, Some(t)).unwrap();
        let c = 6.626_070_15e-34 * 299_792_458.0 / 1.380_649e-23 / t;
        let f = |l: f64| {
            let u = 1.0 / l;
            -(-c * u).exp() * (u * u / c + 2.0 * u / (c * c) + 2.0 / (c * c * c))
        };
        let width = (hi - lo) / n as f64;
        // d lambda = -d u / u^2, so the integral over [a, z] is f(a) - f(z) with f above.
        let want: Vec<f64> = (0..n)
            .map(|b| {
                let (a, z) = (lo + b as f64 * width, lo + (b + 1) as f64 * width);
                f(a) - f(z)
            })
            .collect();
        assert_close(&s.normalized_weights(), &want, 1e-5);
    }

    /// No temperature: the throughput alone; a filter covering half the band lights half the
    /// bins equally and leaves the others dark.
    #[test]
    fn without_a_temperature_the_throughput_alone_weighs() {
        let table = [(1.0e-6, 0.8), (1.5e-6, 0.8), (1.5000001e-6, 0.0), (3.0e-6, 0.0)];
        let s = Source::from_band((1.0e-6, 2.0e-6), 4, &table, None).unwrap();
        let w = s.normalized_weights();
        assert!((w[0] - 0.5).abs() < 1e-6 && (w[1] - 0.5).abs() < 1e-6, "{w:?}");
        assert!(w[2] < 1e-6 && w[3] == 0.0, "{w:?}");
        for bad in [
            Source::from_band((2e-6, 1e-6), 4, &table, None),
            Source::from_band((1e-6, 2e-6), 0, &table, None),
            Source::from_band((1e-6, 2e-6), 4, &table[..1], None),
            Source::from_band((1e-6, 2e-6), 4, &[(2e-6, 1.0), (1e-6, 1.0)], None),
            Source::from_band((1e-6, 2e-6), 4, &table, Some(-3.0)),
            Source::from_band((4e-6, 5e-6), 4, &table, None),
        ] {
            assert!(matches!(bad, Err(PropagationError::Invalid { .. })), "{bad:?}");
        }
    }
}
