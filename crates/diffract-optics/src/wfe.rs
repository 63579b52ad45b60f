//! Wavefront error: Zernike polynomials and the thin lens (defocus).

use crate::error::{finite, positive};
use crate::geometry::gray_disc;
use crate::zernike::{RowWork, ZernikeSum};
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
        let sum = ZernikeSum::new(
            self.coefficients
                .iter()
                .enumerate()
                .filter(|(_, &c)| c != 0.0)
                .map(|(k, &c)| (k + 1, c)),
        );
        let n = grid.npix();
        let evaluate = |g: &PupilGrid| {
            if g.frame().is_some() {
                return g.map(|y, x| {
                    let r = (x * x + y * y).sqrt();
                    if r > r0 {
                        return 0.0;
                    }
                    sum.value(x / r0, y / r0, r / r0)
                });
            }
            // The same values by rows: `value` at every point, then zero outside the disc.
            let c = g.coords();
            let xs: Vec<f64> = c.iter().map(|&x| x / r0).collect();
            let mut opd = Array2::zeros((n, n));
            let init = || (RowWork::default(), vec![0.0; n], vec![0.0; n]);
            g.rows_with(&mut opd, init, |(work, r, rho), i, row| {
                zernike_row(&sum, &c, &xs, c[i], r0, r, rho, work, row);
            });
            opd
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

diffract_parallel::vectorised! {
    /// One row of [`ZernikeWfe::opd`] at `y` metres: `sum` at `(x / r0, y / r0)` for the
    /// columns' `c` (`xs` = `c / r0`), zero beyond `r0`; `r` and `rho` are scratch rows.
    #[allow(clippy::too_many_arguments)]
    fn zernike_row(
        sum: &ZernikeSum,
        c: &[f64],
        xs: &[f64],
        y: f64,
        r0: f64,
        r: &mut [f64],
        rho: &mut [f64],
        work: &mut RowWork,
        row: &mut [f64],
    ) {
        for ((r, rho), &x) in r.iter_mut().zip(rho.iter_mut()).zip(c) {
            *r = (x * x + y * y).sqrt();
            *rho = *r / r0;
        }
        sum.row(xs, y / r0, rho, work, row);
        for (v, &r) in row.iter_mut().zip(r.iter()) {
            if r > r0 {
                *v = 0.0;
            }
        }
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

/// The basis of a [`ParameterizedWfe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WfeBasis {
    /// Noll Zernikes over the circle of the optic's radius (POPPY's `zernike_basis`).
    Zernike,
    /// Hexikes over the hexagon inscribed in that circle, flat sides parallel to X
    /// (POPPY's `hexike_basis`).
    Hexike,
}

impl WfeBasis {
    /// The scene spelling: "zernike" or "hexike".
    pub fn name(self) -> &'static str {
        match self {
            WfeBasis::Zernike => "zernike",
            WfeBasis::Hexike => "hexike",
        }
    }
}

impl std::str::FromStr for WfeBasis {
    type Err = OpticsError;
    fn from_str(s: &str) -> Result<Self, OpticsError> {
        match s {
            "zernike" => Ok(WfeBasis::Zernike),
            "hexike" => Ok(WfeBasis::Hexike),
            _ => Err(OpticsError::invalid(
                "parameterized_wfe",
                "basis",
                format!("\"{s}\""),
                "must be \"zernike\" or \"hexike\"",
            )),
        }
    }
}

/// Wavefront error as a sum of basis terms over a circle of `radius`: POPPY's
/// `ParameterizedWFE` with `basis_factory` `zernike_basis` or `hexike_basis`. Coefficients
/// in metres RMS, Noll order from piston; the basis is evaluated at the pixel centres with
/// `rho = r / radius` (the hexikes made orthonormal over the sampled hexagon) and is 0
/// outside its support; the transmission is untouched. On a grid too coarse for the hexikes
/// asked for (the sampled hexagon cannot carry that many independent terms, or holds no
/// pixel) the optic has no OPD; [`crate::basis::hexike_basis`] says why.
#[derive(Clone, Debug, PartialEq)]
pub struct ParameterizedWfe {
    basis: WfeBasis,
    radius: f64,
    coefficients: Vec<f64>,
}

impl ParameterizedWfe {
    /// `coefficients_m[k]` metres RMS of term `k + 1` of `basis` over a circle of
    /// `radius_m`.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a non-positive radius, a non-finite coefficient, no
    /// coefficient or more than [`MAX_ZERNIKE_TERMS`].
    pub fn new(
        basis: WfeBasis,
        radius_m: f64,
        coefficients_m: Vec<f64>,
    ) -> Result<Self, OpticsError> {
        const K: &str = "parameterized_wfe";
        let radius = positive(K, "radius_m", radius_m)?;
        if coefficients_m.is_empty() || coefficients_m.len() > MAX_ZERNIKE_TERMS {
            return Err(OpticsError::invalid(
                K,
                "coefficients_m",
                format!("{} terms", coefficients_m.len()),
                "must hold 1 to 1035 terms",
            ));
        }
        for &c in &coefficients_m {
            finite(K, "coefficients_m", c)?;
        }
        Ok(ParameterizedWfe { basis, radius, coefficients: coefficients_m })
    }
}

impl PupilOptic for ParameterizedWfe {
    fn kind(&self) -> &'static str {
        "parameterized_wfe"
    }
    fn describe(&self) -> String {
        format!(
            "Parameterized WFE, {} {} terms over radius {} m",
            self.coefficients.len(),
            self.basis.name(),
            self.radius
        )
    }
    fn transmission(&self, _grid: &PupilGrid) -> Option<Array2<f64>> {
        None
    }
    fn opd(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        // The radius was checked at construction, so the coordinates cannot fail.
        let coords = crate::basis::PolarCoords::pupil(grid, self.radius).ok()?;
        let nterms = self.coefficients.len();
        let basis = match self.basis {
            WfeBasis::Zernike => crate::basis::zernike_basis(nterms, &coords),
            WfeBasis::Hexike => crate::basis::hexike_basis(nterms, &coords, None),
        };
        // A hexagon too small to hold a pixel has no hexikes: no OPD at all.
        let basis = basis.ok()?;
        crate::basis::compose_opd_from_basis(&self.coefficients, &basis, None, 0.0).ok()
    }
}

/// A sinusoidal ripple: `amplitude * sin(2 pi (f x' + phase_offset))` with `x'` the
/// coordinate along the direction at `rotation_deg` counter-clockwise from +X. POPPY's
/// `SineWaveWFE` (its rotation turns the coordinates as any analytic optic's). OPD only.
#[derive(Clone, Debug, PartialEq)]
pub struct SineWaveWfe {
    spatial_frequency: f64,
    amplitude: f64,
    phase_offset: f64,
    rotation_deg: f64,
}

impl SineWaveWfe {
    /// A ripple of `spatial_frequency_per_m` cycles per metre, `amplitude_m` metres,
    /// `phase_offset_cycles` cycles, its crests perpendicular to the direction at
    /// `rotation_deg`.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a non-finite value.
    pub fn new(
        spatial_frequency_per_m: f64,
        amplitude_m: f64,
        phase_offset_cycles: f64,
        rotation_deg: f64,
    ) -> Result<Self, OpticsError> {
        const K: &str = "sine_wave_wfe";
        Ok(SineWaveWfe {
            spatial_frequency: finite(K, "spatial_frequency_per_m", spatial_frequency_per_m)?,
            amplitude: finite(K, "amplitude_m", amplitude_m)?,
            phase_offset: finite(K, "phase_offset_cycles", phase_offset_cycles)?,
            rotation_deg: finite(K, "rotation_deg", rotation_deg)?,
        })
    }
}

impl PupilOptic for SineWaveWfe {
    fn kind(&self) -> &'static str {
        "sine_wave_wfe"
    }
    fn describe(&self) -> String {
        format!(
            "Sine wave WFE, {} cycles/m, amplitude {} m",
            self.spatial_frequency, self.amplitude
        )
    }
    fn transmission(&self, _grid: &PupilGrid) -> Option<Array2<f64>> {
        None
    }
    fn opd(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let a = self.rotation_deg.to_radians();
        let (sin, cos) = a.sin_cos();
        let two_pi = 2.0 * std::f64::consts::PI;
        Some(grid.map(|y, x| {
            let xr = if self.rotation_deg == 0.0 { x } else { cos * x + sin * y };
            self.amplitude * (two_pi * (xr * self.spatial_frequency + self.phase_offset)).sin()
        }))
    }
}

#[cfg(test)]
mod tests {
    //! Counterparts of POPPY 1.1.2's tests/test_wfe.py (NPIX 101, DIAM 3 m, RADIUS 1 m).

    use super::*;

    fn grid() -> PupilGrid {
        PupilGrid::new(101, 3.0).unwrap()
    }

    /// test_ZernikeAberration: a thin lens of 0.5 waves at 1 um is Zernike defocus of
    /// nwaves lambda / (2 sqrt 3) m RMS inside r < radius: the phase difference at lambda
    /// has a standard deviation < 1e-16 rad, POPPY's tolerance.
    #[test]
    fn zernike_defocus_is_a_thin_lens() {
        let (nwaves, lambda) = (0.5, 1e-6);
        let lens = ThinLens::new(nwaves, lambda, 1.0).unwrap().opd(&grid()).unwrap();
        let z4 = nwaves * lambda / (2.0 * 3f64.sqrt());
        let zern = ZernikeWfe::new(1.0, vec![0.0, 0.0, 0.0, z4]).unwrap().opd(&grid()).unwrap();
        let c = grid().coords();
        let diffs: Vec<f64> = lens
            .indexed_iter()
            .filter(|((i, j), _)| c[*i].hypot(c[*j]) < 1.0)
            .map(|(ij, l)| l - zern[ij])
            .collect();
        let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
        let std =
            (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / diffs.len() as f64).sqrt();
        let phase_std = 2.0 * std::f64::consts::PI * std / lambda;
        println!("thin lens vs Zernike defocus: phase std {phase_std:e} rad");
        assert!(phase_std < 1e-16, "{phase_std:e} rad");
    }

    /// test_ParameterizedAberration: ParameterizedWFE with the Zernike basis equals
    /// ZernikeWFE (numpy assert_allclose: rtol 1e-7) wherever the pupil transmits.
    #[test]
    fn parameterized_zernike_is_zernike_wfe() {
        let coeffs = vec![0.0, 0.0, 2e-7, 0.5e-6 / (2.0 * 3f64.sqrt()), 0.0, 3e-8];
        let zern = ZernikeWfe::new(1.0, coeffs.clone()).unwrap().opd(&grid()).unwrap();
        let par =
            ParameterizedWfe::new(WfeBasis::Zernike, 1.0, coeffs).unwrap().opd(&grid()).unwrap();
        let pupil = gray_disc(&grid(), 0.0, 0.0, 1.0);
        for ((ij, &z), &t) in zern.indexed_iter().zip(&pupil) {
            if t > 0.0 {
                assert!((par[ij] - z).abs() <= 1e-7 * z.abs(), "{ij:?}: {} vs {z}", par[ij]);
            }
        }
    }

    /// Hexikes hold their RMS: a pure hexike term has the coefficient's RMS over the
    /// sampled hexagon (tolerance 1e-12, the Gram-Schmidt normalisation is exact).
    #[test]
    fn parameterized_hexike_term_has_its_rms() {
        let opd = ParameterizedWfe::new(WfeBasis::Hexike, 1.0, vec![0.0, 0.0, 0.0, 2e-8])
            .unwrap()
            .opd(&grid())
            .unwrap();
        let coords = crate::basis::PolarCoords::pupil(&grid(), 1.0).unwrap();
        let hex = crate::basis::hex_aperture(&coords);
        let vals: Vec<f64> = opd.iter().zip(&hex).filter(|(_, &h)| h).map(|(v, _)| *v).collect();
        let rms = (vals.iter().map(|v| v * v).sum::<f64>() / vals.len() as f64).sqrt();
        assert!((rms / 2e-8 - 1.0).abs() < 1e-12, "{rms}");
        assert!(opd.iter().zip(&hex).all(|(v, &h)| h || *v == 0.0));
    }

    /// Bad input names the optic and key.
    #[test]
    fn bad_wfe_values_are_refused() {
        let e = "fourier".parse::<WfeBasis>().unwrap_err().to_string();
        assert!(e.contains("parameterized_wfe") && e.contains("basis"), "{e}");
        let e = ParameterizedWfe::new(WfeBasis::Zernike, -1.0, vec![0.0]).unwrap_err().to_string();
        assert!(e.contains("radius_m"), "{e}");
        let e = SineWaveWfe::new(f64::NAN, 1e-8, 0.0, 0.0).unwrap_err().to_string();
        assert!(e.contains("sine_wave_wfe") && e.contains("spatial_frequency_per_m"), "{e}");
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
