//! Wavefront error: Zernike polynomials and the thin lens (defocus).

use crate::error::{finite, positive};
use crate::geometry::gray_disc;
use crate::zernike::zernike_noll;
use crate::{OpticsError, PupilGrid, PupilOptic};
use ndarray::Array2;

/// Wavefront error as a sum of Zernike polynomials over a circle of `radius`. POPPY's
/// `ZernikeWFE`: coefficients in metres RMS, Noll order starting from piston (j = 1);
/// the OPD is zero outside the circle and the transmission is untouched.
#[derive(Clone, Debug, PartialEq)]
pub struct ZernikeWfe {
    radius: f64,
    coefficients: Vec<f64>,
}

/// Most Zernike terms accepted (radial order up to about 44).
pub const MAX_ZERNIKE_TERMS: usize = 1035;

impl ZernikeWfe {
    /// Zernike wavefront error over a circle of `radius_m`, with `coefficients_m[k]` the
    /// RMS in metres of Noll term `k + 1`.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a non-positive radius, a non-finite coefficient or more
    /// than [`MAX_ZERNIKE_TERMS`] terms.
    pub fn new(radius_m: f64, coefficients_m: Vec<f64>) -> Result<Self, OpticsError> {
        const K: &str = "zernike_wfe";
        let radius = positive(K, "radius_m", radius_m)?;
        if coefficients_m.len() > MAX_ZERNIKE_TERMS {
            return Err(OpticsError::invalid(
                K,
                "coefficients_m",
                coefficients_m.len(),
                "at most 1035 terms",
            ));
        }
        for &c in &coefficients_m {
            finite(K, "coefficients_m", c)?;
        }
        Ok(ZernikeWfe { radius, coefficients: coefficients_m })
    }
}

impl PupilOptic for ZernikeWfe {
    fn kind(&self) -> &'static str {
        "zernike_wfe"
    }
    fn describe(&self) -> String {
        format!("Zernike WFE, {} terms over radius {} m", self.coefficients.len(), self.radius)
    }
    fn transmission(&self, _grid: &PupilGrid) -> Option<Array2<f64>> {
        None
    }
    fn opd(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let r0 = self.radius;
        let terms: Vec<(usize, f64)> = self
            .coefficients
            .iter()
            .enumerate()
            .filter(|(_, &c)| c != 0.0)
            .map(|(k, &c)| (k + 1, c))
            .collect();
        let n = grid.npix();
        let evaluate = |g: &PupilGrid| {
            g.map(|y, x| {
                let r = (x * x + y * y).sqrt();
                if r > r0 {
                    return 0.0;
                }
                let rho = r / r0;
                let theta = (y / r0).atan2(x / r0);
                terms.iter().map(|&(j, c)| c * zernike_noll(j, rho, theta)).sum()
            })
        };
        if grid.centre() == (n as f64 - 1.0) / 2.0 {
            return Some(evaluate(grid));
        }
        // A grid whose axis is not the array centre (a Fresnel plane): POPPY 1.1.2 evaluates
        // the polynomials on the array-centred grid all the same (its cached Zernikes) and
        // zeroes them outside its binary aperture (radius r0) on the plane's own grid;
        // followed here for parity, though it puts the polynomials half a pixel from the axis.
        let centred = PupilGrid::with_pixelscale(n, grid.pixelscale()).ok()?;
        let mut opd = evaluate(&centred);
        let outside = grid.map(|y, x| f64::from((x * x + y * y).sqrt() > r0));
        opd.zip_mut_with(&outside, |o, &out| {
            if out == 1.0 {
                *o = 0.0;
            }
        });
        Some(opd)
    }
}

/// A thin lens: a circular aperture (gray edges) with a defocus OPD of `nwaves` waves
/// peak-to-valley at `reference_wavelength`. POPPY's `ThinLens`:
/// `OPD = (2 rho^2 - 1) * nwaves * lambda_ref / 2` inside the aperture, 0 outside.
#[derive(Clone, Debug, PartialEq)]
pub struct ThinLens {
    nwaves: f64,
    reference_wavelength: f64,
    radius: f64,
}

impl ThinLens {
    /// A lens of `nwaves` waves of defocus at `reference_wavelength_m` over `radius_m`.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a non-finite `nwaves` or non-positive lengths.
    pub fn new(
        nwaves: f64,
        reference_wavelength_m: f64,
        radius_m: f64,
    ) -> Result<Self, OpticsError> {
        const K: &str = "thin_lens";
        Ok(ThinLens {
            nwaves: finite(K, "nwaves", nwaves)?,
            reference_wavelength: positive(K, "reference_wavelength_m", reference_wavelength_m)?,
            radius: positive(K, "radius_m", radius_m)?,
        })
    }
}

impl PupilOptic for ThinLens {
    fn kind(&self) -> &'static str {
        "thin_lens"
    }
    fn describe(&self) -> String {
        format!("Thin lens, {} waves at {} m", self.nwaves, self.reference_wavelength)
    }
    fn natural_diameter(&self) -> Option<f64> {
        Some(2.0 * self.radius)
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        Some(gray_disc(grid, 0.0, 0.0, self.radius))
    }
    fn opd(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let aperture = gray_disc(grid, 0.0, 0.0, self.radius);
        let amp = 0.5 * self.nwaves * self.reference_wavelength;
        let mut opd = grid.map(|y, x| {
            let rn = (x * x + y * y).sqrt() / self.radius;
            (2.0 * rn * rn - 1.0) * amp
        });
        opd.zip_mut_with(&aperture, |o, &t| {
            if t == 0.0 {
                *o = 0.0;
            }
        });
        Some(opd)
    }
}

/// A lens of focal length `f` acting on the quadratic phase of the beam: POPPY's
/// `QuadraticLens`.
///
/// In a Fresnel system it changes the Gaussian beam (waist, reference surface) and applies
/// only the phase that the beam's reference surface does not carry. In a Fraunhofer pupil
/// plane it is the plain quadratic OPD `(x^2 + y^2) / (2 f)` over the whole array, as POPPY
/// applies it there. It transmits everywhere.
#[derive(Clone, Debug, PartialEq)]
pub struct QuadraticLens {
    focal_length: f64,
}

impl QuadraticLens {
    /// A lens of focal length `focal_length_m` metres (negative: diverging).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a zero or non-finite focal length.
    pub fn new(focal_length_m: f64) -> Result<Self, OpticsError> {
        let f = finite("quadratic_lens", "focal_length_m", focal_length_m)?;
        if f == 0.0 {
            return Err(OpticsError::invalid(
                "quadratic_lens",
                "focal_length_m",
                f,
                "must not be 0",
            ));
        }
        Ok(QuadraticLens { focal_length: f })
    }

    /// The focal length, metres.
    pub fn focal_length(&self) -> f64 {
        self.focal_length
    }
}

impl PupilOptic for QuadraticLens {
    fn kind(&self) -> &'static str {
        "quadratic_lens"
    }
    fn describe(&self) -> String {
        format!("Quadratic lens, f={} m", self.focal_length)
    }
    fn lens_focal_length(&self) -> Option<f64> {
        Some(self.focal_length)
    }
    fn transmission(&self, _grid: &PupilGrid) -> Option<Array2<f64>> {
        None
    }
    fn opd(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let twice_f = 2.0 * self.focal_length;
        Some(grid.map(|y, x| (x * x + y * y) / twice_f))
    }
}
