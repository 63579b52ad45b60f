//! An optic on a tip/tilt stage: POPPY's `TipTiltStage`.

use crate::error::{finite, positive};
use crate::{OpticsError, PupilGrid, PupilOptic, ZernikeWfe};
use ndarray::Array2;
use std::sync::Arc;

/// An optic on a tip/tilt stage: its transmission, and its OPD plus a tilt given as Noll
/// Zernikes 2 and 3 over a circle of `radius` (POPPY's `TipTiltStage.set_tip_tilt`: the
/// coefficients are `-tip radius / 2` and `-tilt radius / 2`, tip and tilt in radians,
/// twice that with the factor of two), so a positive tip moves the PSF toward +X.
#[derive(Debug)]
pub struct TipTiltStage {
    inner: Arc<dyn PupilOptic>,
    radius: f64,
    tilt: ZernikeWfe,
}

impl TipTiltStage {
    /// `inner` on a stage of `radius_m` tipped by `tip_rad` (about X, moving the PSF along
    /// X) and tilted by `tilt_rad`; `include_factor_of_two` doubles the OPD (a reflection).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a non-positive radius or non-finite angles.
    pub fn new(
        inner: Arc<dyn PupilOptic>,
        radius_m: f64,
        tip_rad: f64,
        tilt_rad: f64,
        include_factor_of_two: bool,
    ) -> Result<Self, OpticsError> {
        const K: &str = "tip_tilt_stage";
        let radius = positive(K, "radius_m", radius_m)?;
        let coeff = if include_factor_of_two { -2.0 } else { -1.0 };
        let tip = finite(K, "tip", tip_rad)? * radius * coeff / 2.0;
        let tilt = finite(K, "tilt", tilt_rad)? * radius * coeff / 2.0;
        let tilt = ZernikeWfe::new(radius, vec![0.0, tip, tilt])?;
        Ok(TipTiltStage { inner, radius, tilt })
    }
}

impl PupilOptic for TipTiltStage {
    fn kind(&self) -> &'static str {
        "tip_tilt_stage"
    }
    fn describe(&self) -> String {
        format!("{} on a tip/tilt stage", self.inner.describe())
    }
    fn natural_diameter(&self) -> Option<f64> {
        Some(2.0 * self.radius)
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        self.inner.transmission(grid)
    }
    fn opd(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let tilt = self.tilt.opd(grid);
        match (self.inner.opd(grid), tilt) {
            (Some(mut o), Some(t)) => {
                o += &t;
                Some(o)
            }
            (o, t) => o.or(t),
        }
    }
    fn phase(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        self.inner.phase(grid)
    }
}
