//! Random wavefront-error screens: POPPY's `StatisticalPSDWFE`, `PowerSpectrumWFE` and
//! `KolmogorovWFE`.
//!
//! Every screen is a fixed function of its seed and the grid: the random numbers come from
//! [`ScreenRng`] in one fixed order, the transforms from rustfft's scalar planner (no
//! CPU-dependent SIMD paths) on one thread, the spectra and phasors from the pure-Rust
//! `libm`. The screen therefore does not depend on the worker count or the CPU's features.
//! One dependence on the platform remains: rustfft computes its twiddle factors with the
//! standard library's `cos` and `sin`, which call the C math library, so two C libraries
//! that round those differently could change the last bits (untested here). No
//! RNG reproduces numpy's, so the screens match POPPY in their statistics, not pixel by
//! pixel.

use crate::error::{finite, positive};
use crate::geometry::gray_disc;
use crate::rng::ScreenRng;
use crate::{OpticsError, PupilGrid, PupilOptic};
use ndarray::{Array2, Zip};
use rustfft::num_complex::Complex64;
use rustfft::{FftDirection, FftPlannerScalar};
use std::f64::consts::PI;

/// Unnormalised 2-D FFT in place (rows then columns), `exp(-2 pi i ...)` forward.
fn fft2(a: &mut Array2<Complex64>, direction: FftDirection) {
    let (n0, n1) = a.dim();
    let mut planner = FftPlannerScalar::new();
    let rows = planner.plan_fft(n1, direction);
    let cols = planner.plan_fft(n0, direction);
    for mut row in a.rows_mut() {
        let mut buf: Vec<Complex64> = row.to_vec();
        rows.process(&mut buf);
        row.iter_mut().zip(buf).for_each(|(d, s)| *d = s);
    }
    for mut col in a.columns_mut() {
        let mut buf: Vec<Complex64> = col.to_vec();
        cols.process(&mut buf);
        col.iter_mut().zip(buf).for_each(|(d, s)| *d = s);
    }
}

/// `exp(i a)` with the pure-Rust libm's cosine and sine (the same bits everywhere).
fn unit_phasor(a: f64) -> Complex64 {
    Complex64::new(libm::cos(a), libm::sin(a))
}

/// numpy's `fftshift` (`inverse`: `ifftshift`) of a 2-D array.
fn shift<T: Clone>(a: &Array2<T>, inverse: bool) -> Array2<T> {
    let (n0, n1) = a.dim();
    let (s0, s1) = if inverse { (n0 - n0 / 2, n1 - n1 / 2) } else { (n0 / 2, n1 / 2) };
    Array2::from_shape_fn((n0, n1), |(i, j)| a[[(i + n0 - s0) % n0, (j + n1 - s1) % n1]].clone())
}

fn normals(rng: &mut ScreenRng, n0: usize, n1: usize) -> Array2<f64> {
    Array2::from_shape_simple_fn((n0, n1), || rng.normal())
}

/// The central `n x n` part of a square array (POPPY's `pad_or_crop_to_shape`).
fn crop(a: &Array2<f64>, n: usize) -> Array2<f64> {
    let off = (a.nrows() - n) / 2;
    a.slice(ndarray::s![off..off + n, off..off + n]).to_owned()
}

fn check_seed(kind: &'static str, seed: u64) -> Result<u64, OpticsError> {
    if seed >= 1 << 63 {
        return Err(OpticsError::invalid(kind, "seed", seed, "must be from 0 to 2^63 - 1"));
    }
    Ok(seed)
}

/// A power-law screen, POPPY's `StatisticalPSDWFE`: white noise filtered by
/// `rho^-index` (`rho` the pixel's distance from the array centre over `radius`, taken as
/// the frequency after the transform), made zero-mean and scaled to `wfe_rms` RMS over the
/// whole array.
#[derive(Clone, Debug, PartialEq)]
pub struct StatisticalPsdWfe {
    index: f64,
    wfe_rms: f64,
    radius: f64,
    seed: u64,
}

impl StatisticalPsdWfe {
    /// A screen of power-law `index` (POPPY's default 3), `wfe_rms_m` RMS, `radius_m`, and
    /// its `seed`.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a non-finite index, a negative or non-finite RMS, a
    /// non-positive radius or a seed of 2^63 or more.
    pub fn new(index: f64, wfe_rms_m: f64, radius_m: f64, seed: u64) -> Result<Self, OpticsError> {
        const K: &str = "statistical_psd_wfe";
        let wfe_rms = finite(K, "wfe_rms_m", wfe_rms_m)?;
        if wfe_rms < 0.0 {
            return Err(OpticsError::invalid(K, "wfe_rms_m", wfe_rms, "must be >= 0"));
        }
        Ok(StatisticalPsdWfe {
            index: finite(K, "index", index)?,
            wfe_rms,
            radius: positive(K, "radius_m", radius_m)?,
            seed: check_seed(K, seed)?,
        })
    }

    /// The seed of the screen.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

impl PupilOptic for StatisticalPsdWfe {
    fn kind(&self) -> &'static str {
        "statistical_psd_wfe"
    }
    fn seed(&self) -> Option<u64> {
        Some(self.seed)
    }
    fn describe(&self) -> String {
        format!(
            "Statistical PSD WFE, index {}, {} m RMS, seed {}",
            self.index, self.wfe_rms, self.seed
        )
    }
    fn transmission(&self, _grid: &PupilGrid) -> Option<Array2<f64>> {
        None
    }
    fn opd(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let n = grid.npix();
        let r0 = self.radius;
        let psd = grid.map(|y, x| {
            let rho = (x * x + y * y).sqrt() / r0;
            libm::pow(if rho == 0.0 { 1e-5 } else { rho }, -self.index)
        });
        let mut rng = ScreenRng::new(self.seed);
        let noise = normals(&mut rng, n, n).mapv(|v| Complex64::new(v, 0.0));
        let mut f = shift(&noise, false);
        fft2(&mut f, FftDirection::Forward);
        let mut f = shift(&f, false);
        Zip::from(&mut f).and(&psd).for_each(|v, &p| *v *= p.sqrt());
        let mut g = shift(&f, true);
        fft2(&mut g, FftDirection::Inverse);
        let norm = 1.0 / (n * n) as f64;
        let mut screen = shift(&g, true).mapv(|v| v.re * norm);
        let mean = screen.iter().sum::<f64>() / (n * n) as f64;
        screen.mapv_inplace(|v| v - mean);
        let std = (screen.iter().map(|v| v * v).sum::<f64>() / (n * n) as f64).sqrt();
        let scale = if std > 0.0 { self.wfe_rms / std } else { 0.0 };
        Some(screen.mapv(|v| v * scale))
    }
}

/// One term of a [`PowerSpectrumWfe`], POPPY's `[alpha, beta, outer_scale, inner_scale,
/// surf_roughness]`, SI units (the PSD in m^2 m^2; `beta` in m^2 m^(2 - alpha)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PsdTerm {
    /// The power-law index.
    pub alpha: f64,
    /// The normalisation.
    pub beta: f64,
    /// The outer scale, metres (0: none).
    pub outer_scale: f64,
    /// The inner scale, metres (0: none).
    pub inner_scale: f64,
    /// A constant added to the PSD (surface roughness), m^2 m^2.
    pub surf_roughness: f64,
}

/// Largest screen a [`PowerSpectrumWfe`] draws on, pixels across.
pub const MAX_PSD_SCREEN: usize = 8192;

/// A screen from a sum of von Karman PSDs, POPPY's `PowerSpectrumWFE`:
/// `P(k) = sum w beta exp(-(k l0)^2) / (L0^-2 + k^2)^(alpha/2) + roughness` (k in cycles per
/// metre; without outer scale the term is 0 at k = 0), drawn on a screen 4 times the pupil
/// array (at most [`MAX_PSD_SCREEN`], or the array itself when larger) and cropped to it;
/// optionally scaled to `rms` over the pixels wholly inside `radius`, divided by the
/// cosine of the incidence angle and doubled for a reflection.
#[derive(Clone, Debug, PartialEq)]
pub struct PowerSpectrumWfe {
    terms: Vec<PsdTerm>,
    weights: Vec<f64>,
    seed: u64,
    rms_radius: Option<(f64, f64)>,
    apply_reflection: bool,
    incident_angle_deg: f64,
}

impl PowerSpectrumWfe {
    /// A screen from `terms` with `weights` (default all 1), `seed`, an optional
    /// `(rms_m, radius_m)` normalisation, the reflection factor and the incidence angle.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for no terms, weights of another count, non-finite or
    /// negative values, an incidence angle not in [0, 90) degrees, or a bad seed.
    pub fn new(
        terms: Vec<PsdTerm>,
        weights: Option<Vec<f64>>,
        seed: u64,
        rms_radius: Option<(f64, f64)>,
        apply_reflection: bool,
        incident_angle_deg: f64,
    ) -> Result<Self, OpticsError> {
        const K: &str = "power_spectrum_wfe";
        if terms.is_empty() || terms.len() > 64 {
            return Err(OpticsError::invalid(
                K,
                "psd_parameters",
                format!("{} terms", terms.len()),
                "must hold 1 to 64 lists [alpha, beta, outer_scale, inner_scale, surf_roughness]",
            ));
        }
        for t in &terms {
            finite(K, "psd_parameters", t.alpha)?;
            for v in [t.beta, t.outer_scale, t.inner_scale, t.surf_roughness] {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(OpticsError::invalid(
                        K,
                        "psd_parameters",
                        v,
                        "beta, the scales and the roughness must be finite and >= 0",
                    ));
                }
            }
        }
        let weights = weights.unwrap_or_else(|| vec![1.0; terms.len()]);
        if weights.len() != terms.len() {
            return Err(OpticsError::invalid(
                K,
                "psd_weight",
                format!("{} weights", weights.len()),
                "must give one weight per psd_parameters term",
            ));
        }
        for &w in &weights {
            finite(K, "psd_weight", w)?;
        }
        if let Some((rms, radius)) = rms_radius {
            if !(rms.is_finite() && rms >= 0.0) {
                return Err(OpticsError::invalid(K, "rms_m", rms, "must be a finite number >= 0"));
            }
            positive(K, "radius_m", radius)?;
        }
        if !(incident_angle_deg.is_finite() && (0.0..90.0).contains(&incident_angle_deg)) {
            return Err(OpticsError::invalid(
                K,
                "incident_angle_deg",
                incident_angle_deg,
                "must be from 0 to less than 90",
            ));
        }
        Ok(PowerSpectrumWfe {
            terms,
            weights,
            seed: check_seed(K, seed)?,
            rms_radius,
            apply_reflection,
            incident_angle_deg,
        })
    }

    /// The seed of the screen.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

impl PupilOptic for PowerSpectrumWfe {
    fn kind(&self) -> &'static str {
        "power_spectrum_wfe"
    }
    fn seed(&self) -> Option<u64> {
        Some(self.seed)
    }
    fn describe(&self) -> String {
        format!("Power spectrum WFE, {} PSD terms, seed {}", self.terms.len(), self.seed)
    }
    fn transmission(&self, _grid: &PupilGrid) -> Option<Array2<f64>> {
        None
    }
    fn opd(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let n = grid.npix();
        let size = (4 * n).min(MAX_PSD_SCREEN.max(n));
        let ps = grid.pixelscale();
        let dk = 1.0 / (size as f64 * ps);
        let cen = (size / 2) as f64;
        let mut psd = Array2::<f64>::zeros((size, size));
        for (t, &w) in self.terms.iter().zip(&self.weights) {
            for ((i, j), p) in psd.indexed_iter_mut() {
                let ky = (i as f64 - cen) * dk;
                let kx = (j as f64 - cen) * dk;
                let k2 = kx * kx + ky * ky;
                let k = k2.sqrt();
                let taper = libm::exp(-(k * t.inner_scale) * (k * t.inner_scale));
                let value = if t.outer_scale == 0.0 {
                    if k2 == 0.0 {
                        0.0
                    } else {
                        t.beta * taper / libm::pow(k2, t.alpha / 2.0)
                    }
                } else {
                    let l = 1.0 / (t.outer_scale * t.outer_scale);
                    t.beta * taper / libm::pow(l + k2, t.alpha / 2.0)
                };
                *p += w * (value + t.surf_roughness);
            }
        }
        let mut rng = ScreenRng::new(self.seed);
        let mut noise = normals(&mut rng, size, size).mapv(|v| Complex64::new(v, 0.0));
        fft2(&mut noise, FftDirection::Forward);
        let mut f = shift(&noise, false);
        Zip::from(&mut f).and(&psd).for_each(|v, &p| *v *= (p / (ps * ps)).sqrt());
        let mut g = shift(&f, true);
        fft2(&mut g, FftDirection::Inverse);
        let norm = 1.0 / (size * size) as f64;
        let mut opd = g.mapv(|v| v.re * norm);
        if let Some((rms, radius)) = self.rms_radius {
            let inside = gray_disc(grid, 0.0, 0.0, radius);
            let part = crop(&opd, n);
            let (sum, count) =
                Zip::from(&part).and(&inside).fold((0.0, 0usize), |(s, c), &o, &t| {
                    if t == 1.0 {
                        (s + o * o, c + 1)
                    } else {
                        (s, c)
                    }
                });
            let measured = (sum / count.max(1) as f64).sqrt();
            let scale = if measured > 0.0 { rms / measured } else { 0.0 };
            opd.mapv_inplace(|v| v * scale);
        }
        if self.incident_angle_deg != 0.0 {
            let c = libm::cos(self.incident_angle_deg.to_radians());
            opd.mapv_inplace(|v| v / c);
        }
        if self.apply_reflection {
            opd.mapv_inplace(|v| v * 2.0);
        }
        Some(if size > n { crop(&opd, n) } else { opd })
    }
}

/// The spatial power spectrum of a [`KolmogorovWfe`] (POPPY's `kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurbulenceSpectrum {
    /// `q^(-11/3)`.
    Kolmogorov,
    /// `(q^2 + 1/L0^2)^(-11/6)`, times the Tatarski inner-scale cut when an inner scale is
    /// given.
    VonKarman,
    /// `q^(-11/3) exp(-q^2 / (5.92 / l0)^2)`.
    Tatarski,
    /// Hill's bump (Frehlich 2000's fit): `q^(-11/3) (1 + 0.70937 m + 2.8235 m^2 - 0.28086
    /// m^3 + 0.08277 m^4) exp(-1.109 m)`, `m = q l0`.
    Hill,
}

impl TurbulenceSpectrum {
    /// Scene spellings.
    pub const NAMES: [&'static str; 4] = ["kolmogorov", "von_karman", "tatarski", "hill"];
}

impl std::str::FromStr for TurbulenceSpectrum {
    type Err = OpticsError;
    fn from_str(s: &str) -> Result<Self, OpticsError> {
        Ok(match s {
            "kolmogorov" => TurbulenceSpectrum::Kolmogorov,
            "von_karman" => TurbulenceSpectrum::VonKarman,
            "tatarski" => TurbulenceSpectrum::Tatarski,
            "hill" => TurbulenceSpectrum::Hill,
            _ => {
                return Err(OpticsError::invalid(
                    "kolmogorov_wfe",
                    "spectrum",
                    format!("\"{s}\""),
                    "must be \"kolmogorov\", \"von_karman\", \"tatarski\" or \"hill\"",
                ))
            }
        })
    }
}

/// How strong the turbulence of a [`KolmogorovWfe`] is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TurbulenceStrength {
    /// Fried's `r0`, metres, at `wavelength` metres. With `at_each_wavelength` the screen
    /// is a phase (radians) with this `r0` at every computed wavelength, as POPPY does (its
    /// OPD then scales with the wavelength); otherwise an OPD in metres, the same at every
    /// wavelength, as a real atmosphere's (`r0` then scales as lambda^(6/5)).
    R0 {
        /// Fried's parameter, metres.
        r0: f64,
        /// The wavelength at which `r0` is given, metres.
        wavelength: f64,
        /// POPPY's behaviour: the same phase at every wavelength.
        at_each_wavelength: bool,
    },
    /// The index-of-refraction structure constant `cn2` (m^-2/3) over a path `dz` metres:
    /// an OPD in metres.
    Cn2 {
        /// Cn^2, m^(-2/3).
        cn2: f64,
        /// Path length, metres.
        dz: f64,
    },
}

/// Coefficient of the Kolmogorov phase PSD in cycles per metre:
/// `W(f) = A r0^(-5/3) f^(-11/3)`, `A = Gamma(11/6)^2 / (2 pi^(11/3)) [24/5 Gamma(6/5)]^(5/6)`,
/// which makes the structure function `6.88 (r / r0)^(5/3)`.
const PHASE_PSD_A: f64 = 0.022_895_587_108_555_19;
/// Coefficient of the Kolmogorov OPD PSD from Cn^2 dz, cycles per metre:
/// `W(f) = 0.033005 (2 pi)^(-2/3) Cn2 dz f^(-11/3)` (0.033005 = Gamma(8/3) sin(pi/3) / (4 pi^2)).
const CN2_OPD_PSD: f64 = 0.009_693_150_704_312_34;
/// Levels of subharmonics (Lane et al. 1992; Johansson and Gavel 1994). Eight reach
/// df / 6561: the power left out below them changes the structure function at N/8 by
/// about 1.24 (f r)^(1/3) ~ 2%.
pub const SUBHARMONIC_LEVELS: usize = 8;
/// FFT cells within this many cells of the origin (Chebyshev distance) are summed
/// directly instead, with their integrated power.
pub const DIRECT_CELLS: i64 = 3;

/// A turbulent phase screen, POPPY's `KolmogorovWFE`, with the lowest spatial frequencies
/// added by subharmonics (Lane et al. 1992, Johansson and Gavel 1994), so its structure
/// function follows `6.88 (r / r0)^(5/3)` out to a good fraction of the screen (POPPY's
/// single-FFT screens fall 23% to 54% below it).
///
/// The screen is drawn on the optic's grid: the FFT part with complex Gaussian amplitudes
/// `sqrt(W(f)) df` on the grid's frequencies (`df = 1 / (npix pixelscale)`, none at 0), then
/// three levels of 3 x 3 subharmonics at `df / 3^p` evaluated directly, the real part of the
/// sum taken and the subharmonic part made zero-mean.
#[derive(Clone, Debug, PartialEq)]
pub struct KolmogorovWfe {
    strength: TurbulenceStrength,
    spectrum: TurbulenceSpectrum,
    inner_scale: Option<f64>,
    outer_scale: Option<f64>,
    seed: u64,
}

impl KolmogorovWfe {
    /// A screen of `strength` and `spectrum` (inner and outer scales in metres where the
    /// spectrum uses them: von Karman needs the outer scale, Tatarski and Hill the inner
    /// one; von Karman takes an inner scale too), and its `seed`.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for non-positive or non-finite r0, wavelength, Cn2, dz or
    /// scales, a missing scale the spectrum needs, or a seed of 2^63 or more.
    pub fn new(
        strength: TurbulenceStrength,
        spectrum: TurbulenceSpectrum,
        inner_scale_m: Option<f64>,
        outer_scale_m: Option<f64>,
        seed: u64,
    ) -> Result<Self, OpticsError> {
        const K: &str = "kolmogorov_wfe";
        match strength {
            TurbulenceStrength::R0 { r0, wavelength, .. } => {
                positive(K, "r0_m", r0)?;
                positive(K, "r0_wavelength_m", wavelength)?;
            }
            TurbulenceStrength::Cn2 { cn2, dz } => {
                positive(K, "cn2", cn2)?;
                positive(K, "dz_m", dz)?;
            }
        }
        if let Some(v) = inner_scale_m {
            positive(K, "inner_scale_m", v)?;
        }
        if let Some(v) = outer_scale_m {
            positive(K, "outer_scale_m", v)?;
        }
        let missing = |key: &'static str, needs: &'static str| {
            Err(OpticsError::invalid(K, key, "none", needs))
        };
        match spectrum {
            TurbulenceSpectrum::VonKarman if outer_scale_m.is_none() => {
                missing("outer_scale_m", "the von_karman spectrum needs an outer scale")?
            }
            TurbulenceSpectrum::Tatarski | TurbulenceSpectrum::Hill if inner_scale_m.is_none() => {
                missing("inner_scale_m", "the tatarski and hill spectra need an inner scale")?
            }
            _ => {}
        }
        Ok(KolmogorovWfe {
            strength,
            spectrum,
            inner_scale: inner_scale_m,
            outer_scale: outer_scale_m,
            seed: check_seed(K, seed)?,
        })
    }

    /// The seed of the screen.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The screen's PSD (OPD in m^2 per (cycles/m)^2, or phase in rad^2 per (cycles/m)^2
    /// when `at_each_wavelength`) at `f` cycles per metre; 0 at `f = 0` without outer scale.
    pub fn psd(&self, f: f64) -> f64 {
        let coef = match self.strength {
            TurbulenceStrength::R0 { r0, wavelength, at_each_wavelength } => {
                let phase = PHASE_PSD_A * libm::pow(r0, -5.0 / 3.0);
                if at_each_wavelength {
                    phase
                } else {
                    let k = wavelength / (2.0 * PI);
                    phase * k * k
                }
            }
            TurbulenceStrength::Cn2 { cn2, dz } => CN2_OPD_PSD * cn2 * dz,
        };
        // POPPY's spectra are written in the angular wavenumber q = 2 pi f.
        let q = 2.0 * PI * f;
        let q2 = match (self.spectrum, self.outer_scale) {
            (TurbulenceSpectrum::VonKarman, Some(l0)) => q * q + 1.0 / (l0 * l0),
            _ => q * q,
        };
        if q2 == 0.0 {
            return 0.0;
        }
        // (q2 / (2 pi)^2)^(-11/6): the PSD in cycles per metre.
        let mut w = coef * libm::pow(q2 / (4.0 * PI * PI), -11.0 / 6.0);
        match (self.spectrum, self.inner_scale) {
            (TurbulenceSpectrum::Tatarski | TurbulenceSpectrum::VonKarman, Some(l)) => {
                let km = 5.92 / l;
                w *= libm::exp(-q * q / (km * km));
            }
            (TurbulenceSpectrum::Hill, Some(l)) => {
                let m = q * l;
                w *= (1.0 + 0.70937 * m + 2.8235 * m * m - 0.28086 * m * m * m
                    + 0.08277 * m * m * m * m)
                    * libm::exp(-1.109 * m);
            }
            _ => {}
        }
        w
    }

    /// The power in the frequency cell of side `size` centred on `(fx, fy)` and the cell's
    /// power-weighted RMS frequency along each axis, signed as the centre: the PSD and its
    /// moments integrated over the cell by 8 x 8 midpoints. Near the origin the steep
    /// spectrum puts most of a cell's power at its inner edge, so neither the centre value
    /// (17% low one cell out) nor the centre frequency would do.
    fn cell_stats(&self, fx: f64, fy: f64, size: f64) -> (f64, f64, f64) {
        const SUB: usize = 8;
        let step = size / SUB as f64;
        let (mut p, mut sx, mut sy) = (0.0, 0.0, 0.0);
        for a in 0..SUB {
            let y = fy - size / 2.0 + (a as f64 + 0.5) * step;
            for b in 0..SUB {
                let x = fx - size / 2.0 + (b as f64 + 0.5) * step;
                let w = self.psd((x * x + y * y).sqrt());
                p += w;
                sx += w * x * x;
                sy += w * y * y;
            }
        }
        if p == 0.0 {
            return (0.0, fx, fy);
        }
        let signed = |c: f64, m: f64| if c < 0.0 { -m.sqrt() } else { m.sqrt() };
        (p * step * step, signed(fx, sx / p), signed(fy, sy / p))
    }

    /// The screen on `grid` (metres, or radians when `at_each_wavelength`).
    ///
    /// Frequencies beyond [`DIRECT_CELLS`] cells of the origin go through one inverse FFT
    /// with amplitude `sqrt(W(f)) df`; the cells nearer the origin, and three by three
    /// subharmonic cells `df / 3^p` for p = 1 to [`SUBHARMONIC_LEVELS`] around it (Lane et
    /// al. 1992; Johansson and Gavel 1994), are summed directly, each with its integrated
    /// power at its power-weighted frequency. The random numbers are drawn in that order:
    /// two per FFT cell, row by row, then two per direct cell.
    pub fn screen(&self, grid: &PupilGrid) -> Array2<f64> {
        let n = grid.npix();
        let width = n as f64 * grid.pixelscale();
        let df = 1.0 / width;
        let signed = |i: usize| if i < n.div_ceil(2) { i as i64 } else { i as i64 - n as i64 };
        let mut rng = ScreenRng::new(self.seed);
        let mut c = Array2::<Complex64>::zeros((n, n));
        for ((i, j), v) in c.indexed_iter_mut() {
            let (ky, kx) = (signed(i), signed(j));
            let a = Complex64::new(rng.normal(), rng.normal());
            if kx.abs().max(ky.abs()) > DIRECT_CELLS {
                let (fx, fy) = (kx as f64 * df, ky as f64 * df);
                *v = a * (self.psd((fx * fx + fy * fy).sqrt()).sqrt() * df);
            }
        }
        fft2(&mut c, FftDirection::Inverse);
        let mut screen = c.mapv(|v| v.re);
        let mut cells = Vec::new();
        for ky in -DIRECT_CELLS..=DIRECT_CELLS {
            for kx in -DIRECT_CELLS..=DIRECT_CELLS {
                if kx != 0 || ky != 0 {
                    cells.push((kx as f64 * df, ky as f64 * df, df));
                }
            }
        }
        for p in 1..=SUBHARMONIC_LEVELS {
            let dfp = df / 3f64.powi(p as i32);
            for my in -1i32..=1 {
                for mx in -1i32..=1 {
                    if mx != 0 || my != 0 {
                        cells.push((mx as f64 * dfp, my as f64 * dfp, dfp));
                    }
                }
            }
        }
        let coords = grid.coords();
        let mut low = Array2::<f64>::zeros((n, n));
        for (fx, fy, size) in cells {
            let a = Complex64::new(rng.normal(), rng.normal());
            let (power, ex_f, ey_f) = self.cell_stats(fx, fy, size);
            let amp = a * power.sqrt();
            let ex: Vec<Complex64> =
                coords.iter().map(|&x| unit_phasor(2.0 * PI * ex_f * x)).collect();
            let ey: Vec<Complex64> =
                coords.iter().map(|&y| unit_phasor(2.0 * PI * ey_f * y)).collect();
            for (i, mut row) in low.rows_mut().into_iter().enumerate() {
                let ay = amp * ey[i];
                for (v, e) in row.iter_mut().zip(&ex) {
                    *v += (ay * e).re;
                }
            }
        }
        let mean = low.iter().sum::<f64>() / (n * n) as f64;
        Zip::from(&mut screen).and(&low).for_each(|s, &l| *s += l - mean);
        screen
    }

    fn is_phase(&self) -> bool {
        matches!(self.strength, TurbulenceStrength::R0 { at_each_wavelength: true, .. })
    }
}

impl PupilOptic for KolmogorovWfe {
    fn kind(&self) -> &'static str {
        "kolmogorov_wfe"
    }
    fn seed(&self) -> Option<u64> {
        Some(self.seed)
    }
    fn describe(&self) -> String {
        let strength = match self.strength {
            TurbulenceStrength::R0 { r0, wavelength, at_each_wavelength: false } => {
                format!("r0 {r0} m at {wavelength} m")
            }
            TurbulenceStrength::R0 { r0, .. } => format!("r0 {r0} m at every wavelength"),
            TurbulenceStrength::Cn2 { cn2, dz } => format!("Cn2 {cn2} over {dz} m"),
        };
        format!("Kolmogorov WFE ({:?}), {strength}, seed {}", self.spectrum, self.seed)
    }
    fn transmission(&self, _grid: &PupilGrid) -> Option<Array2<f64>> {
        None
    }
    fn opd(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        (!self.is_phase()).then(|| self.screen(grid))
    }
    fn phase(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        self.is_phase().then(|| self.screen(grid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D688: f64 = 6.883_877_182_293_812;

    /// Mean squared phase difference at separations `seps` (pixels), along x and y, over
    /// `count` screens of `optic` (phases from OPDs at `lambda`).
    fn structure_function(
        make: impl Fn(u64) -> KolmogorovWfe,
        grid: &PupilGrid,
        lambda: f64,
        count: u64,
        seps: &[usize],
    ) -> Vec<f64> {
        let n = grid.npix();
        let mut sums = vec![0.0; seps.len()];
        for s in 0..count {
            let phase = make(1000 + s).screen(grid).mapv(|v| 2.0 * PI * v / lambda);
            for (k, &d) in seps.iter().enumerate() {
                let mut acc = 0.0;
                for i in 0..n {
                    for j in 0..n - d {
                        acc += (phase[[i, j + d]] - phase[[i, j]]).powi(2);
                        acc += (phase[[j + d, i]] - phase[[j, i]]).powi(2);
                    }
                }
                sums[k] += acc / (2 * n * (n - d)) as f64;
            }
        }
        sums.iter().map(|s| s / count as f64).collect()
    }

    fn r0_strength(r0: f64) -> TurbulenceStrength {
        TurbulenceStrength::R0 { r0, wavelength: 0.5e-6, at_each_wavelength: false }
    }

    /// Reference: Kolmogorov theory, D(r) = 6.88 (r / r0)^(5/3) (Fried 1966); tolerance 5%
    /// from 2 px to N/8 (128-px screens, r0 = 10 px, 200 screens).
    #[test]
    fn kolmogorov_structure_function_follows_theory() {
        let grid = PupilGrid::new(128, 2.56).unwrap();
        let seps = [2, 4, 8, 16];
        let make = |seed| {
            KolmogorovWfe::new(r0_strength(0.2), TurbulenceSpectrum::Kolmogorov, None, None, seed)
                .unwrap()
        };
        let d = structure_function(make, &grid, 0.5e-6, 200, &seps);
        for (&s, &v) in seps.iter().zip(&d) {
            let want = D688 * (s as f64 * 0.02 / 0.2).powf(5.0 / 3.0);
            println!("kolmogorov {s:>3} px: {v:.4} rad^2, theory {want:.4}, ratio {:.4}", v / want);
        }
        for (&s, &v) in seps.iter().zip(&d) {
            let want = D688 * (s as f64 * 0.02 / 0.2).powf(5.0 / 3.0);
            assert!((v / want - 1.0).abs() < 0.05, "{s} px: {v} vs {want}");
        }
    }

    /// Reference: the von Karman structure function 4 pi int W(f) (1 - J0(2 pi f r)) f df
    /// with POPPY's outer-scale convention (q^2 + 1/L0^2), integrated numerically with
    /// scipy (r0 = 0.2 m, L0 = 1 m): 0.34132, 0.97742, 2.68329, 6.89338 rad^2 at 2, 4, 8, 16
    /// px of 0.02 m; tolerance 5%.
    #[test]
    fn von_karman_structure_function_rolls_off() {
        let grid = PupilGrid::new(128, 2.56).unwrap();
        let seps = [2, 4, 8, 16];
        let want = [0.341_315_137, 0.977_418_687, 2.683_292_897, 6.893_378_373];
        let make = |seed| {
            KolmogorovWfe::new(
                r0_strength(0.2),
                TurbulenceSpectrum::VonKarman,
                None,
                Some(1.0),
                seed,
            )
            .unwrap()
        };
        let d = structure_function(make, &grid, 0.5e-6, 200, &seps);
        for ((&s, &v), &w) in seps.iter().zip(&d).zip(&want) {
            println!("von karman {s:>3} px: {v:.4} rad^2, theory {w:.4}, ratio {:.4}", v / w);
            assert!((v / w - 1.0).abs() < 0.05, "{s} px: {v} vs {w}");
        }
    }

    /// The same seed gives the same bits, from any thread; another seed another screen.
    #[test]
    fn screens_are_fixed_by_their_seed() {
        let grid = PupilGrid::new(48, 1.0).unwrap();
        let k = |seed| {
            KolmogorovWfe::new(r0_strength(0.1), TurbulenceSpectrum::Kolmogorov, None, None, seed)
                .unwrap()
        };
        let a = k(5).opd(&grid).unwrap();
        let b = std::thread::spawn(move || k(5).opd(&grid).unwrap()).join().unwrap();
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
        assert!(a != k(6).opd(&grid).unwrap());
        let s = |seed| StatisticalPsdWfe::new(3.0, 5e-8, 0.5, seed).unwrap().opd(&grid).unwrap();
        assert!(s(3).iter().zip(&s(3)).all(|(x, y)| x.to_bits() == y.to_bits()));
        let term = PsdTerm {
            alpha: 2.5,
            beta: 1e-18,
            outer_scale: 0.5,
            inner_scale: 0.0,
            surf_roughness: 0.0,
        };
        let p = |seed| {
            PowerSpectrumWfe::new(vec![term], None, seed, None, false, 0.0)
                .unwrap()
                .opd(&grid)
                .unwrap()
        };
        assert!(p(3).iter().zip(&p(3)).all(|(x, y)| x.to_bits() == y.to_bits()));
        // With POPPY's r0 at every wavelength the screen is a phase, not an OPD.
        let at_each =
            TurbulenceStrength::R0 { r0: 0.1, wavelength: 0.5e-6, at_each_wavelength: true };
        let ph =
            KolmogorovWfe::new(at_each, TurbulenceSpectrum::Kolmogorov, None, None, 5).unwrap();
        assert!(ph.opd(&grid).is_none() && ph.phase(&grid).is_some());
    }

    /// Reference: the PSD the screen was filtered with, symmetrised (the screen is the real
    /// part), summed over annuli 4 px wide from 4 px to N/2; the mean PSD of 50 screens
    /// (128 px, index 3) follows it within 5% after one overall scale; each screen's RMS is
    /// wfe_rms_m within 1% (POPPY scales it exactly).
    #[test]
    fn statistical_psd_follows_its_power_law() {
        let n = 128;
        let grid = PupilGrid::new(n, 2.0).unwrap();
        let index = 3.0;
        let rms = 40e-9;
        let psd = grid.map(|y, x| {
            let rho = (x * x + y * y).sqrt() / 1.0;
            rho.powf(-index)
        });
        let mut mean = Array2::<f64>::zeros((n, n));
        for seed in 0..50 {
            let opd = StatisticalPsdWfe::new(index, rms, 1.0, seed).unwrap().opd(&grid).unwrap();
            let got = (opd.iter().map(|v| v * v).sum::<f64>() / (n * n) as f64).sqrt();
            assert!((got / rms - 1.0).abs() < 0.01, "seed {seed}: rms {got}");
            let mut f = shift(&opd.mapv(|v| Complex64::new(v, 0.0)), false);
            fft2(&mut f, FftDirection::Forward);
            let f = shift(&f, false);
            Zip::from(&mut mean).and(&f).for_each(|m, v| *m += v.norm_sqr());
        }
        let nb = n / 8;
        let (mut got, mut want) = (vec![0.0; nb], vec![0.0; nb]);
        for i in 0..n {
            for j in 0..n {
                let (u, v) = (i as f64 - (n / 2) as f64, j as f64 - (n / 2) as f64);
                let r = (u * u + v * v).sqrt();
                if !(4.0..(n / 2) as f64).contains(&r) {
                    continue;
                }
                let b = (r / 4.0) as usize;
                got[b] += mean[[i, j]];
                want[b] += 0.5 * (psd[[i, j]] + psd[[(n - i) % n, (n - j) % n]]);
            }
        }
        let ratios: Vec<f64> = (1..nb).map(|b| got[b] / want[b]).collect();
        let scale = ratios.iter().sum::<f64>() / ratios.len() as f64;
        for (b, r) in ratios.iter().enumerate() {
            println!(
                "psd annulus {:>2}-{:>2} px: ratio {:.4}",
                4 * (b + 1),
                4 * (b + 2),
                r / scale
            );
            assert!((r / scale - 1.0).abs() < 0.05, "annulus {}: {}", b + 1, r / scale);
        }
    }

    /// Bad values are refused with the optic and key named.
    #[test]
    fn bad_values_name_optic_and_key() {
        let e =
            KolmogorovWfe::new(r0_strength(-0.1), TurbulenceSpectrum::Kolmogorov, None, None, 1)
                .unwrap_err()
                .to_string();
        assert!(e.contains("kolmogorov_wfe") && e.contains("r0_m"), "{e}");
        let e = KolmogorovWfe::new(r0_strength(0.1), TurbulenceSpectrum::VonKarman, None, None, 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("outer_scale_m"), "{e}");
        let e = StatisticalPsdWfe::new(3.0, -1e-9, 1.0, 1).unwrap_err().to_string();
        assert!(e.contains("statistical_psd_wfe") && e.contains("wfe_rms_m"), "{e}");
        let e = "gaussian".parse::<TurbulenceSpectrum>().unwrap_err().to_string();
        assert!(e.contains("spectrum"), "{e}");
        let e = PowerSpectrumWfe::new(vec![], None, 1, None, false, 0.0).unwrap_err().to_string();
        assert!(e.contains("psd_parameters"), "{e}");
    }

    /// test_StatisticalPSDWFE: on 256 px (DIAM 3 m, RADIUS 1 m, 134 nm RMS) the RMS is the
    /// input (numpy isclose: rtol 1e-5) and the power-law index fitted to the azimuthal
    /// PSD (log-log least squares from 20 px to N/2 - 20) is the input within 3%.
    #[test]
    fn statistical_psd_index_and_rms_as_poppy_tests() {
        let n = 256;
        let grid = PupilGrid::new(n, 3.0).unwrap();
        let opd = StatisticalPsdWfe::new(3.0, 134e-9, 1.0, 1234).unwrap().opd(&grid).unwrap();
        let rms = (opd.iter().map(|v| v * v).sum::<f64>() / (n * n) as f64).sqrt();
        assert!((rms - 134e-9).abs() <= 1e-5 * 134e-9, "{rms}");
        let mut f = shift(&opd.mapv(|v| Complex64::new(v, 0.0)), false);
        fft2(&mut f, FftDirection::Forward);
        let f = shift(&f, false);
        let (mut sum, mut count) = (vec![0.0; n], vec![0usize; n]);
        for ((i, j), v) in f.indexed_iter() {
            let (u, w) = (i as f64 - (n / 2) as f64, j as f64 - (n / 2) as f64);
            let r = (u * u + w * w).sqrt() as usize;
            sum[r] += v.norm_sqr();
            count[r] += 1;
        }
        let pts: Vec<(f64, f64)> = (20..n / 2 - 20)
            .map(|r| ((r as f64 + 0.5).ln(), (sum[r] / count[r] as f64).ln()))
            .collect();
        let m = pts.len() as f64;
        let (mx, my) =
            (pts.iter().map(|p| p.0).sum::<f64>() / m, pts.iter().map(|p| p.1).sum::<f64>() / m);
        let slope = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>()
            / pts.iter().map(|p| (p.0 - mx).powi(2)).sum::<f64>();
        println!("statistical psd: fitted index {:.4}", -slope);
        assert!((-slope / 3.0 - 1.0).abs() < 0.03, "index {}", -slope);
    }

    /// test_PowerSpectrumWFE: with `rms_m` the screen's RMS over the pixels wholly inside
    /// `radius_m` is `rms_m` (tolerance 1e-12 relative; POPPY checks numpy allclose).
    #[test]
    fn power_spectrum_rms_normalisation() {
        let grid = PupilGrid::new(96, 2.0).unwrap();
        let term = PsdTerm {
            alpha: 3.0,
            beta: 1e-20,
            outer_scale: 0.2,
            inner_scale: 0.01,
            surf_roughness: 1e-25,
        };
        let opd = PowerSpectrumWfe::new(
            vec![term],
            Some(vec![1.0]),
            123456,
            Some((12e-9, 1.0)),
            false,
            0.0,
        )
        .unwrap()
        .opd(&grid)
        .unwrap();
        let inside = gray_disc(&grid, 0.0, 0.0, 1.0);
        let vals: Vec<f64> =
            opd.iter().zip(&inside).filter(|(_, &t)| t == 1.0).map(|(v, _)| *v).collect();
        let rms = (vals.iter().map(|v| v * v).sum::<f64>() / vals.len() as f64).sqrt();
        assert!((rms / 12e-9 - 1.0).abs() < 1e-12, "{rms}");
        // Reflection doubles it and a 60 degree incidence doubles it again.
        let twice = PowerSpectrumWfe::new(vec![term], None, 123456, Some((12e-9, 1.0)), true, 60.0)
            .unwrap()
            .opd(&grid)
            .unwrap();
        assert!(twice
            .iter()
            .zip(&opd)
            .all(|(t, o)| (t - 4.0 * o).abs() <= 1e-12 * o.abs().max(1e-20)));
    }

    /// test_KolmogorovWFE_Cn2: r0 and Cn2 dz describe the same screen when
    /// r0^(-5/3) = 0.42336 k^2 Cn2 dz (our exact constants: equal PSDs to 1e-12); POPPY's
    /// relation r0 = 0.185 (lambda^2 / (Cn2 dz))^(3/5) gives r0 within 0.3% of it.
    #[test]
    fn r0_and_cn2_agree() {
        let (cn2, dz, lambda) = (1e-14, 50.0, 0.5e-6);
        let k = 2.0 * PI / lambda;
        let r0 = libm::pow(CN2_OPD_PSD / PHASE_PSD_A * k * k * cn2 * dz, -3.0 / 5.0);
        let a = KolmogorovWfe::new(
            TurbulenceStrength::R0 { r0, wavelength: lambda, at_each_wavelength: false },
            TurbulenceSpectrum::Kolmogorov,
            None,
            None,
            1,
        )
        .unwrap();
        let b = KolmogorovWfe::new(
            TurbulenceStrength::Cn2 { cn2, dz },
            TurbulenceSpectrum::Kolmogorov,
            None,
            None,
            1,
        )
        .unwrap();
        for f in [0.01, 0.3, 10.0] {
            assert!((a.psd(f) / b.psd(f) - 1.0).abs() < 1e-12);
        }
        let poppy_r0 = 0.185 * libm::pow(lambda * lambda / (cn2 * dz), 3.0 / 5.0);
        assert!((poppy_r0 / r0 - 1.0).abs() < 3e-3, "{poppy_r0} vs {r0}");
    }
}
