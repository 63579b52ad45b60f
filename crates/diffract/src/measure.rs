//! Measurements of PSF images as POPPY 1.1.2 defines them (`poppy.utils`): FWHM by a
//! Gaussian fit (`measure_fwhm`) or from the radial profile (`measure_fwhm_radprof`), the
//! floating-window centroid (`measure_centroid`), the radial profile with its standard
//! deviation (`radial_profile`), encircled energy from whole pixels (`measure_ee`,
//! `measure_radius_at_ee`) and sharpness (`measure_sharpness`); with exact-area encircled
//! energy and a plain first-moment centroid as alternatives.
//!
//! Positions are in pixels, `x` along a row and `y` down the rows, from the centre of pixel
//! `(0, 0)`; the default centre is the array centre `((nx - 1) / 2, (ny - 1) / 2)`, as
//! POPPY's. Radii are in arcsec. Encircled energy is the sum of the image within a radius, so
//! for a PSF normalised to the light entering the telescope ("first") it is the fraction of
//! all the light, not of the light in the field.

use ndarray::Array2;
use serde::Serialize;
use std::path::PathBuf;

/// How the FWHM is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FwhmMethod {
    /// POPPY's `measure_fwhm`: a Gaussian of fixed centre fitted by least squares to the
    /// pixels above a fraction of the peak, against their distance from the centre.
    Fit,
    /// POPPY's `measure_fwhm_radprof`: twice the radius where the radial profile falls to
    /// half its maximum, interpolated as POPPY does.
    Profile,
}

/// How the centroid is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CentroidMethod {
    /// POPPY's `measure_centroid` (`fwcentroid`): the floating-window first moment, iterated
    /// until it moves less than 1e-4 pixel (at most 20 times).
    Fw,
    /// The first moment of the box of half width `box_half` around the brightest pixel.
    Moment,
}

/// How encircled energy is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EeMethod {
    /// POPPY's `measure_ee`: whole pixels summed in bins of the radial profile, the sums
    /// interpolated in radius by a not-a-knot cubic spline.
    Poppy,
    /// Each pixel counted by the exact fraction of its area inside the circle.
    Exact,
}

/// What [`Measurement::new`] measures and how; [`MeasureOptions::default`] gives POPPY's
/// definitions.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MeasureOptions {
    /// Centre `(x, y)` in pixels for radii (FWHM, profile, encircled energy); `None`: the
    /// array centre.
    pub center: Option<(f64, f64)>,
    /// Radii for encircled energy, arcsec.
    pub ee_radii_arcsec: Vec<f64>,
    /// Fractions for the radius holding them.
    pub ee_fractions: Vec<f64>,
    /// Encircled-energy method.
    pub ee_method: EeMethod,
    /// FWHM method.
    pub fwhm_method: FwhmMethod,
    /// FWHM fit: pixels above this fraction of the peak (POPPY's `threshold`, 0.1).
    pub threshold: f64,
    /// Centroid method.
    pub centroid: CentroidMethod,
    /// Centroid half box, pixels (POPPY's `boxsize`, 20).
    pub box_half: usize,
    /// Radial-profile bin, arcsec; `None`: one pixel.
    pub binsize_arcsec: Option<f64>,
    /// Position angles `[min, max]`, degrees counter-clockwise from +Y, for the radial
    /// profile (POPPY's `pa_range`); `None`: all.
    pub pa_range_deg: Option<(f64, f64)>,
}

impl Default for MeasureOptions {
    fn default() -> Self {
        MeasureOptions {
            center: None,
            ee_radii_arcsec: vec![0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0],
            ee_fractions: vec![0.5, 0.8],
            ee_method: EeMethod::Poppy,
            fwhm_method: FwhmMethod::Fit,
            threshold: 0.1,
            centroid: CentroidMethod::Fw,
            box_half: 20,
            binsize_arcsec: None,
            pa_range_deg: None,
        }
    }
}

/// Every measurement of one PSF image, as `diffract measure` reports it. Serialised with
/// serde, it is the `measure --json` output; a number that is not finite or not measurable
/// is `null`. Made with [`Measurement::new`] (fields may be added in later versions).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Measurement {
    /// The file measured, when read from one.
    #[serde(serialize_with = "crate::run::optional_path_text")]
    pub file: Option<PathBuf>,
    /// The HDU measured.
    pub hdu: usize,
    /// Pixel scale, arcsec.
    pub pixelscale_arcsec: f64,
    /// The centre radii are measured from, `[x, y]` pixels.
    pub center_px: [f64; 2],
    /// Brightest pixel value.
    pub peak: f64,
    /// Sum of the image.
    pub flux: f64,
    /// Sum of the squared pixel values (POPPY's `measure_sharpness`, which reads the
    /// detector-sampled `DET_SAMP` extension: measure that HDU for POPPY's number).
    pub sharpness: f64,
    /// The centroid method.
    pub centroid_method: CentroidMethod,
    /// Centroid `[x, y]`, pixels from the centre of pixel (0, 0) (POPPY's
    /// `measure_centroid`, which returns `[y, x]`).
    pub centroid_px: Option<[f64; 2]>,
    /// Centroid `[x, y]`, arcsec from the array centre.
    pub centroid_arcsec: Option<[f64; 2]>,
    /// The FWHM method.
    pub fwhm_method: FwhmMethod,
    /// Full width at half maximum, arcsec; `None` when not measurable.
    pub fwhm_arcsec: Option<f64>,
    /// The encircled-energy method.
    pub ee_method: EeMethod,
    /// Encircled energy at each radius asked for.
    pub ee: Vec<EncircledEnergy>,
    /// The radius holding each fraction asked for.
    pub radius_at_ee: Vec<RadiusAtEe>,
}

/// Encircled energy within one radius.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EncircledEnergy {
    /// The radius, arcsec.
    pub radius_arcsec: f64,
    /// The energy within it; `None` beyond the profile.
    pub fraction: Option<f64>,
}

/// The radius holding one fraction of the light.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RadiusAtEe {
    /// The fraction.
    pub fraction: f64,
    /// The radius, arcsec; `None` when the field holds less (or the curve does not rise).
    pub radius_arcsec: Option<f64>,
}

impl Measurement {
    /// Measures `image` (pixel scale `pixelscale` arcsec) as `opts` asks; `file` is unset
    /// and `hdu` 0 until given by [`Measurement::with_source`].
    pub fn new(image: &Array2<f64>, pixelscale: f64, opts: &MeasureOptions) -> Self {
        let center = opts.center.unwrap_or_else(|| array_center(image));
        let centroid_px = match opts.centroid {
            CentroidMethod::Fw => fw_centroid(image, opts.box_half),
            CentroidMethod::Moment => moment_centroid(image, opts.box_half),
        };
        let (ax, ay) = array_center(image);
        let fwhm_arcsec = match opts.fwhm_method {
            FwhmMethod::Fit => fwhm_fit(image, pixelscale, center, opts.threshold),
            FwhmMethod::Profile => fwhm_profile(image, pixelscale, center, 0.5),
        };
        let ee_curve = match opts.ee_method {
            EeMethod::Poppy => PoppyEe::new(image, pixelscale, center, opts.binsize_arcsec),
            EeMethod::Exact => None,
        };
        let ee_at = |r: f64| match opts.ee_method {
            EeMethod::Poppy => ee_curve.as_ref().and_then(|c| c.ee(r)),
            EeMethod::Exact => Some(encircled_energy_exact(image, pixelscale, center, r)),
        };
        let radius_at = |f: f64| match opts.ee_method {
            EeMethod::Poppy => ee_curve.as_ref().and_then(|c| c.radius_at(f)),
            EeMethod::Exact => radius_at_ee_exact(image, pixelscale, center, f),
        };
        Self {
            file: None,
            hdu: 0,
            pixelscale_arcsec: pixelscale,
            center_px: [center.0, center.1],
            peak: image.iter().copied().fold(f64::MIN, f64::max),
            flux: image.sum(),
            sharpness: sharpness(image),
            centroid_method: opts.centroid,
            centroid_px: centroid_px.map(|(x, y)| [x, y]),
            centroid_arcsec: centroid_px
                .map(|(x, y)| [(x - ax) * pixelscale, (y - ay) * pixelscale]),
            fwhm_method: opts.fwhm_method,
            fwhm_arcsec,
            ee_method: opts.ee_method,
            ee: opts
                .ee_radii_arcsec
                .iter()
                .map(|&r| EncircledEnergy { radius_arcsec: r, fraction: ee_at(r) })
                .collect(),
            radius_at_ee: opts
                .ee_fractions
                .iter()
                .map(|&f| RadiusAtEe { fraction: f, radius_arcsec: radius_at(f) })
                .collect(),
        }
    }

    /// The file and HDU the image was read from.
    #[must_use]
    pub fn with_source(mut self, file: impl Into<PathBuf>, hdu: usize) -> Self {
        self.file = Some(file.into());
        self.hdu = hdu;
        self
    }
}

/// The array centre `((nx - 1) / 2, (ny - 1) / 2)`, pixels.
pub fn array_center(image: &Array2<f64>) -> (f64, f64) {
    let (ny, nx) = image.dim();
    ((nx as f64 - 1.0) / 2.0, (ny as f64 - 1.0) / 2.0)
}

/// Sum of the squared pixel values (POPPY's `measure_sharpness` of the image given).
pub fn sharpness(image: &Array2<f64>) -> f64 {
    image.iter().map(|v| v * v).sum()
}

// ---------------------------------------------------------------------------------------
// Radial profile

/// Options of [`radial_profile`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ProfileOptions {
    /// Centre `(x, y)`, pixels; `None`: the array centre.
    pub center: Option<(f64, f64)>,
    /// Bin width, arcsec; `None`: one pixel.
    pub binsize_arcsec: Option<f64>,
    /// Position angles `[min, max]` (degrees counter-clockwise from +Y, each in -180 to
    /// 180) of the pixels to include; `None`: all.
    pub pa_range_deg: Option<(f64, f64)>,
}

impl ProfileOptions {
    /// Options with the given centre, bin and position-angle range.
    pub fn new(
        center: Option<(f64, f64)>,
        binsize_arcsec: Option<f64>,
        pa_range_deg: Option<(f64, f64)>,
    ) -> Self {
        ProfileOptions { center, binsize_arcsec, pa_range_deg }
    }
}

/// The radial profile of an image in bins of equal width, as POPPY's `radial_profile`
/// (made by [`radial_profile`]; fields may be added in later versions).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RadialProfile {
    /// Bin width, arcsec.
    pub binsize_arcsec: f64,
    /// Centre of each bin, arcsec (POPPY's `rr`).
    pub radius_arcsec: Vec<f64>,
    /// Mean of the pixels in each bin (NaN pixels count as 0, as POPPY's).
    pub mean: Vec<f64>,
    /// Standard deviation (population, NaN pixels left out) of the pixels whose distance
    /// lies in `[r - bin / 2, r + bin / 2)` around each bin centre.
    pub stddev: Vec<f64>,
    /// Sum of all pixels out to each bin's outer edge (POPPY's `ee=True`).
    pub encircled: Vec<f64>,
}

/// The radial profile of `image` (pixel scale `pixelscale` arcsec), as POPPY 1.1.2's
/// `radial_profile`: each pixel falls in bin `floor(r / bin)` of its centre's distance `r`;
/// the bins are those holding pixels, in order, without the outermost one, labelled
/// consecutively from the innermost. Empty when the pixels fill fewer than two bins.
///
/// Two differences from POPPY's `stddev=True`: the innermost bin's standard deviation is
/// taken over `[0, bin)` like every other (POPPY compares a radius in bins with one in
/// arcsec there), and with a position-angle range only the pixels in the range count
/// (POPPY uses the whole annulus).
pub fn radial_profile(
    image: &Array2<f64>,
    pixelscale: f64,
    opts: &ProfileOptions,
) -> RadialProfile {
    let binsize = opts.binsize_arcsec.unwrap_or(pixelscale);
    let (cx, cy) = opts.center.unwrap_or_else(|| array_center(image));
    // (radius in bins, value) of every pixel in the position-angle range.
    let mut pix: Vec<(f64, f64)> = image
        .indexed_iter()
        .filter_map(|((i, j), &v)| {
            let (x, y) = (j as f64 - cx, i as f64 - cy);
            if let Some((lo, hi)) = opts.pa_range_deg {
                let pa = (-x).atan2(y).to_degrees();
                if !(pa >= lo && pa <= hi) {
                    return None;
                }
            }
            Some(((x * x + y * y).sqrt() * pixelscale / binsize, v))
        })
        .collect();
    pix.sort_by(|a, b| a.0.total_cmp(&b.0));
    let empty = RadialProfile {
        binsize_arcsec: binsize,
        radius_arcsec: vec![],
        mean: vec![],
        stddev: vec![],
        encircled: vec![],
    };
    if pix.is_empty() {
        return empty;
    }
    // Runs of equal integer bin: (sum, count) each, with the running total at its end.
    let mut runs: Vec<(f64, usize)> = Vec::new();
    let mut last_bin = u64::MAX;
    for &(r, v) in &pix {
        let b = r as u64;
        let v = if v.is_nan() { 0.0 } else { v };
        if b != last_bin || runs.is_empty() {
            runs.push((0.0, 0));
            last_bin = b;
        }
        let run = runs.last_mut().expect("a run was pushed");
        run.0 += v;
        run.1 += 1;
    }
    if runs.len() < 2 {
        return empty;
    }
    runs.pop();
    let first_bin = pix[0].0 as u64;
    let radius: Vec<f64> =
        (0..runs.len()).map(|k| (first_bin + k as u64) as f64 * binsize + binsize * 0.5).collect();
    let mut acc = 0.0;
    let encircled = runs
        .iter()
        .map(|(s, _)| {
            acc += s;
            acc
        })
        .collect();
    // The pixels are sorted by radius, and r * binsize keeps that order: each bin is a slice.
    let stddev = radius
        .iter()
        .map(|&rr| {
            let (lo, hi) = (rr - binsize / 2.0, rr + binsize / 2.0);
            let first = pix.partition_point(|p| p.0 * binsize < lo);
            let end = pix.partition_point(|p| p.0 * binsize < hi);
            let vals: Vec<f64> =
                pix[first..end.max(first)].iter().map(|p| p.1).filter(|v| !v.is_nan()).collect();
            population_stddev(&vals)
        })
        .collect();
    RadialProfile {
        binsize_arcsec: binsize,
        radius_arcsec: radius,
        mean: runs.iter().map(|&(s, n)| s / n as f64).collect(),
        stddev,
        encircled,
    }
}

/// Population standard deviation (numpy's `std`, two passes); NaN for no values.
fn population_stddev(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
}

// ---------------------------------------------------------------------------------------
// Encircled energy

/// Encircled energy against radius as POPPY's `measure_ee` and `measure_radius_at_ee`: the
/// profile's sums to each bin's outer edge, with (0, 0) prepended, interpolated by a
/// not-a-knot cubic spline (scipy's `interp1d(kind='cubic')`), undefined outside the points.
#[derive(Clone, Debug)]
pub struct PoppyEe {
    radius: Vec<f64>,
    ee: Vec<f64>,
    ee_of_r: Spline,
}

impl PoppyEe {
    /// The curve of `image` about `center` (pixels) in bins of `binsize_arcsec` (one pixel
    /// when `None`); `None` when the profile has fewer than 3 bins.
    pub fn new(
        image: &Array2<f64>,
        pixelscale: f64,
        center: (f64, f64),
        binsize_arcsec: Option<f64>,
    ) -> Option<Self> {
        let p = radial_profile(
            image,
            pixelscale,
            &ProfileOptions { center: Some(center), binsize_arcsec, pa_range_deg: None },
        );
        if p.radius_arcsec.len() < 3 {
            return None;
        }
        let half = (p.radius_arcsec[1] - p.radius_arcsec[0]) / 2.0;
        let radius: Vec<f64> =
            std::iter::once(0.0).chain(p.radius_arcsec.iter().map(|r| r + half)).collect();
        let ee: Vec<f64> = std::iter::once(0.0).chain(p.encircled.iter().copied()).collect();
        let ee_of_r = Spline::new(&radius, &ee)?;
        Some(PoppyEe { radius, ee, ee_of_r })
    }

    /// Encircled energy within `radius_arcsec`; `None` beyond the outermost bin.
    pub fn ee(&self, radius_arcsec: f64) -> Option<f64> {
        self.ee_of_r.eval(radius_arcsec)
    }

    /// The radius holding `fraction`, by the spline of radius against energy; `None` beyond
    /// the energy in the profile, or when two bins hold the same energy (scipy refuses such
    /// a curve).
    pub fn radius_at(&self, fraction: f64) -> Option<f64> {
        let mut pts: Vec<(f64, f64)> =
            self.ee.iter().copied().zip(self.radius.iter().copied()).collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (x, y): (Vec<f64>, Vec<f64>) = pts.into_iter().unzip();
        Spline::new(&x, &y)?.eval(fraction)
    }
}

/// Encircled energy within `radius_arcsec` of `center` (pixels): the sum of the pixels,
/// each counted by the exact fraction of its area inside the circle.
pub fn encircled_energy_exact(
    image: &Array2<f64>,
    pixelscale: f64,
    center: (f64, f64),
    radius_arcsec: f64,
) -> f64 {
    let r = radius_arcsec / pixelscale;
    let (cx, cy) = center;
    image
        .indexed_iter()
        .map(|((i, j), v)| {
            let (py, px) = (i as f64 - cy, j as f64 - cx);
            let d = px.hypot(py);
            let w = if (d - r).abs() < 1.0 {
                diffract_optics::geometry::pixel_fraction_in_disc(r, px, py)
            } else if d < r {
                1.0
            } else {
                0.0
            };
            w * v
        })
        .sum()
}

/// The radius (arcsec) within which [`encircled_energy_exact`] reaches `fraction`, by
/// bisection; `None` when the largest circle inside the field holds less.
pub fn radius_at_ee_exact(
    image: &Array2<f64>,
    pixelscale: f64,
    center: (f64, f64),
    fraction: f64,
) -> Option<f64> {
    let (ny, nx) = image.dim();
    let rmax = 0.5 * (ny.min(nx) as f64) * pixelscale;
    let ee = |r: f64| encircled_energy_exact(image, pixelscale, center, r);
    if matches!(ee(rmax).partial_cmp(&fraction), None | Some(std::cmp::Ordering::Less)) {
        return None;
    }
    let (mut lo, mut hi) = (0.0, rmax);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if ee(mid) < fraction {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(0.5 * (lo + hi))
}

// ---------------------------------------------------------------------------------------
// FWHM

/// FWHM (arcsec) as POPPY's `measure_fwhm`: the image divided by its peak; the pixels above
/// `threshold`; a Gaussian `a exp(-r^2 / 2 s^2)` centred on `center` (pixels) fitted to
/// them by least squares against their distance `r`; `2 sqrt(2 ln 2) s`. `None` when fewer
/// than two pixels (or none off the centre) pass, or the peak is not positive.
///
/// For each `s` the best amplitude is linear, so the fit is a search in `s` alone: a scan
/// over six decades, then golden-section refinement (to about 1e-8 relative, the limit of
/// locating a smooth maximum in double precision).
pub fn fwhm_fit(
    image: &Array2<f64>,
    pixelscale: f64,
    center: (f64, f64),
    threshold: f64,
) -> Option<f64> {
    let peak = image.iter().copied().filter(|v| v.is_finite()).fold(f64::MIN, f64::max);
    if peak <= 0.0 {
        return None;
    }
    let (cx, cy) = center;
    let pts: Vec<(f64, f64)> = image
        .indexed_iter()
        .filter_map(|((i, j), &v)| {
            let v = v / peak;
            (v > threshold).then(|| {
                let (x, y) = (j as f64 - cx, i as f64 - cy);
                ((x * x + y * y).sqrt() * pixelscale, v)
            })
        })
        .collect();
    let rmax = pts.iter().map(|p| p.0).fold(0.0, f64::max);
    if pts.len() < 2 || rmax <= 0.0 {
        return None;
    }
    // The fit's figure of merit: (sum y g)^2 / sum g^2, the reduction of the squared residual
    // by the best amplitude; larger is better.
    let merit = |ln_s: f64| {
        let s = ln_s.exp();
        let k = -0.5 / (s * s);
        let (mut yg, mut gg) = (0.0, 0.0);
        for &(r, y) in &pts {
            let g = (k * r * r).exp();
            yg += y * g;
            gg += g * g;
        }
        if gg > 0.0 {
            yg * yg / gg
        } else {
            0.0
        }
    };
    let (lo, hi) = ((rmax * 1e-3).ln(), (rmax * 1e3).ln());
    let n = 240;
    let step = (hi - lo) / n as f64;
    let best = (0..=n)
        .map(|k| lo + k as f64 * step)
        .map(|t| (t, merit(t)))
        .fold((lo, f64::MIN), |b, p| if p.1 > b.1 { p } else { b });
    let (mut a, mut b) = (best.0 - step, best.0 + step);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (merit(c), merit(d));
    while b - a > 1e-12 {
        if fc > fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = merit(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = merit(d);
        }
    }
    let s = (0.5 * (a + b)).exp();
    Some(2.0 * (2.0 * 2f64.ln()).sqrt() * s)
}

/// Full width (arcsec) at `level` of the maximum of the radial profile about `center`, as
/// POPPY's `measure_fwhm_radprof`: the profile points from the centre to one bin past the
/// first below the level, radius interpolated against value (cubic spline from six points,
/// linear below), times two. `None` when the profile never falls below the level.
pub fn fwhm_profile(
    image: &Array2<f64>,
    pixelscale: f64,
    center: (f64, f64),
    level: f64,
) -> Option<f64> {
    let p = radial_profile(
        image,
        pixelscale,
        &ProfileOptions { center: Some(center), binsize_arcsec: None, pa_range_deg: None },
    );
    let max = p.mean.iter().copied().fold(f64::NAN, f64::max);
    let target = max * level;
    let wmin = p.mean.iter().position(|&v| v < target)?;
    let last = (wmin + 1).min(p.mean.len() - 1);
    let mut pts: Vec<(f64, f64)> = (0..=last).map(|k| (p.mean[k], p.radius_arcsec[k])).collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (x, y): (Vec<f64>, Vec<f64>) = pts.into_iter().unzip();
    let half_width = if x.len() < 6 {
        linear_interp(&x, &y, target)
    } else {
        Spline::new(&x, &y)?.eval(target)
    }?;
    Some(2.0 * half_width)
}

/// Linear interpolation in sorted `x`; `None` outside.
fn linear_interp(x: &[f64], y: &[f64], t: f64) -> Option<f64> {
    if x.len() < 2 || !(t >= x[0] && t <= x[x.len() - 1]) {
        return None;
    }
    let k = x.partition_point(|&v| v < t).clamp(1, x.len() - 1);
    let (x0, x1, y0, y1) = (x[k - 1], x[k], y[k - 1], y[k]);
    if x1 == x0 {
        return Some(y1);
    }
    Some(y0 + (t - x0) / (x1 - x0) * (y1 - y0))
}

// ---------------------------------------------------------------------------------------
// Centroid

/// The floating-window centroid `(x, y)`, pixels (POPPY's `measure_centroid` with
/// `boxsize = box_half`, `fwcentroid`): the first moment of the `2 box_half + 1` box around
/// the brightest pixel, then of a box of that size centred on the last estimate, its edge
/// pixels weighted by the fraction of them inside, until the estimate moves by at most
/// 1e-4 pixel in both axes (at most 20 iterations). Pixels beyond the array count as 0 (POPPY
/// would wrap round or fail there); non-finite pixels count as 0. `None` when a box holds
/// no light.
pub fn fw_centroid(image: &Array2<f64>, box_half: usize) -> Option<(f64, f64)> {
    let (ny, nx) = image.dim();
    let (py, px) = brightest(image)?;
    let at = |j: i64, i: i64| -> f64 {
        if i < 0 || j < 0 || i as usize >= ny || j as usize >= nx {
            return 0.0;
        }
        let v = image[[i as usize, j as usize]];
        if v.is_finite() {
            v
        } else {
            0.0
        }
    };
    let hw = box_half as i64;
    // Pixels beyond the array count as 0, so every box is visited only where it overlaps it.
    let cols = |a: i64, b: i64| a.max(0)..=b.min(nx as i64 - 1);
    let rows = |a: i64, b: i64| a.max(0)..=b.min(ny as i64 - 1);
    let (mut s, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for i in cols(px as i64 - hw, px as i64 + hw) {
        for j in rows(py as i64 - hw, py as i64 + hw) {
            let v = at(i, j);
            s += v;
            sx += i as f64 * v;
            sy += j as f64 * v;
        }
    }
    let (mut xc, mut yc) = (sx / s, sy / s);
    if !(xc.is_finite() && yc.is_finite()) {
        return None;
    }
    let hwf = box_half as f64;
    let weight = |off: f64| {
        if off <= hwf {
            1.0
        } else if off < hwf + 1.0 {
            hwf + 1.0 - off
        } else {
            0.0
        }
    };
    for _ in 0..20 {
        let (x0, y0) = (xc.trunc() as i64, yc.trunc() as i64);
        let (mut s, mut sx, mut sy) = (0.0, 0.0, 0.0);
        for i in cols(x0 - hw - 1, x0 + hw + 1) {
            let wx = weight((i as f64 - xc).abs());
            for j in rows(y0 - hw - 1, y0 + hw + 1) {
                let w = wx * weight((j as f64 - yc).abs());
                let v = at(i, j) * w;
                s += v;
                sx += i as f64 * v;
                sy += j as f64 * v;
            }
        }
        let (nx_, ny_) = (sx / s, sy / s);
        if !(nx_.is_finite() && ny_.is_finite()) {
            return None;
        }
        let done = (nx_ - xc).abs() <= 1e-4 && (ny_ - yc).abs() <= 1e-4;
        xc = nx_;
        yc = ny_;
        if done {
            break;
        }
    }
    Some((xc, yc))
}

/// First-moment centroid `(x, y)`, pixels, of the pixels within `box_half` pixels of the
/// brightest one (negative pixels count as 0); `None` when the box holds no light.
pub fn moment_centroid(image: &Array2<f64>, box_half: usize) -> Option<(f64, f64)> {
    let (ny, nx) = image.dim();
    let (pi, pj) = brightest(image)?;
    let (mut sx, mut sy, mut s) = (0.0, 0.0, 0.0);
    for i in pi.saturating_sub(box_half)..(pi + box_half + 1).min(ny) {
        for j in pj.saturating_sub(box_half)..(pj + box_half + 1).min(nx) {
            let v = image[[i, j]].max(0.0);
            sx += v * j as f64;
            sy += v * i as f64;
            s += v;
        }
    }
    (s > 0.0).then(|| (sx / s, sy / s))
}

/// The first brightest pixel `(row, column)` in row-major order, ignoring non-finite values.
fn brightest(image: &Array2<f64>) -> Option<(usize, usize)> {
    let mut best: Option<((usize, usize), f64)> = None;
    for (ij, &v) in image.indexed_iter() {
        if v.is_finite() && best.is_none_or(|b| v > b.1) {
            best = Some((ij, v));
        }
    }
    best.map(|b| b.0)
}

// ---------------------------------------------------------------------------------------
// Strehl ratio

/// Strehl ratio as the `measure_strehl` of earlier POPPY versions (and WebbPSF): the image's
/// value at `center` over the value of `perfect` (the same system without wavefront error)
/// there; at a centre on a pixel, that pixel, otherwise the mean of the pixels from
/// `floor` to `ceil` of the centre in each axis (the four around a pixel corner). `None`
/// when the shapes differ, the centre is outside the array or the perfect value is not
/// positive.
pub fn strehl(image: &Array2<f64>, perfect: &Array2<f64>, center: (f64, f64)) -> Option<f64> {
    let (ny, nx) = image.dim();
    if perfect.dim() != (ny, nx) {
        return None;
    }
    let span = |c: f64, n: usize| {
        let (lo, hi) = (c.floor(), c.ceil());
        (lo >= 0.0 && hi <= n as f64 - 1.0).then_some((lo as usize, hi as usize))
    };
    let ((x0, x1), (y0, y1)) = (span(center.0, nx)?, span(center.1, ny)?);
    let mean = |a: &Array2<f64>| {
        let block = a.slice(ndarray::s![y0..=y1, x0..=x1]);
        block.sum() / block.len() as f64
    };
    let reference = mean(perfect);
    (reference > 0.0).then(|| mean(image) / reference)
}

/// The system without its wavefront error, for [`strehl`]: every pupil optic keeps its
/// transmission and any phase given in radians (a designed phase, such as an apodizing
/// phase plate) and loses its OPD in metres (Zernike terms, OPD maps, a thin lens's
/// defocus); image-plane optics, detector (with its jitter) and coronagraph method stay.
///
/// # Errors
///
/// [`diffract_propagation::PropagationError`] when the pupil diameter cannot be resolved.
pub fn without_wfe(
    system: &diffract_propagation::OpticalSystem,
) -> Result<diffract_propagation::OpticalSystem, diffract_propagation::PropagationError> {
    use diffract_propagation::{OpticalSystem, Plane};
    let mut out = OpticalSystem::new(system.name(), system.npix(), system.oversample());
    out.set_pupil_diameter(system.pupil_diameter()?);
    for plane in system.planes() {
        out.add_plane(match plane {
            Plane::Pupil(o) => Plane::Pupil(std::sync::Arc::new(WithoutOpd(o.clone()))),
            other => other.clone(),
        });
    }
    if let Some(d) = system.detector() {
        out.set_detector(*d);
    }
    if let Some(c) = system.coronagraph() {
        out.set_coronagraph(*c);
    }
    Ok(out)
}

/// A pupil optic with its OPD removed ([`without_wfe`]).
#[derive(Debug)]
struct WithoutOpd(std::sync::Arc<dyn diffract_optics::PupilOptic>);

impl diffract_optics::PupilOptic for WithoutOpd {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }
    fn describe(&self) -> String {
        format!("{} (without OPD)", self.0.describe())
    }
    fn natural_diameter(&self) -> Option<f64> {
        self.0.natural_diameter()
    }
    fn natural_npix(&self) -> Option<usize> {
        self.0.natural_npix()
    }
    fn transmission(&self, grid: &diffract_optics::PupilGrid) -> Option<Array2<f64>> {
        self.0.transmission(grid)
    }
    fn phase(&self, grid: &diffract_optics::PupilGrid) -> Option<Array2<f64>> {
        self.0.phase(grid)
    }
}

// ---------------------------------------------------------------------------------------
// Interpolation

/// A cubic interpolating spline with not-a-knot ends (scipy's `interp1d(kind='cubic')` and
/// `CubicSpline`), in Hermite form: values and slopes at strictly increasing knots.
#[derive(Clone, Debug)]
struct Spline {
    x: Vec<f64>,
    y: Vec<f64>,
    slope: Vec<f64>,
}

impl Spline {
    /// The spline through `(x, y)`; `None` for fewer than 4 points or `x` not strictly
    /// increasing or not finite.
    fn new(x: &[f64], y: &[f64]) -> Option<Self> {
        let n = x.len();
        if n < 4 || y.len() != n || x.iter().chain(y).any(|v| !v.is_finite()) {
            return None;
        }
        let dx: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
        if dx.iter().any(|&d| d <= 0.0) {
            return None;
        }
        let m: Vec<f64> = (0..n - 1).map(|i| (y[i + 1] - y[i]) / dx[i]).collect();
        // Tridiagonal system for the slopes: sub[i] s[i-1] + diag[i] s[i] + sup[i] s[i+1] = b[i].
        let (mut sub, mut diag, mut sup, mut b) =
            (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        for i in 1..n - 1 {
            sub[i] = dx[i];
            diag[i] = 2.0 * (dx[i - 1] + dx[i]);
            sup[i] = dx[i - 1];
            b[i] = 3.0 * (dx[i] * m[i - 1] + dx[i - 1] * m[i]);
        }
        let d0 = x[2] - x[0];
        diag[0] = dx[1];
        sup[0] = d0;
        b[0] = ((dx[0] + 2.0 * d0) * dx[1] * m[0] + dx[0] * dx[0] * m[1]) / d0;
        let dn = x[n - 1] - x[n - 3];
        diag[n - 1] = dx[n - 3];
        sub[n - 1] = dn;
        b[n - 1] =
            (dx[n - 2] * dx[n - 2] * m[n - 3] + (2.0 * dn + dx[n - 2]) * dx[n - 3] * m[n - 2]) / dn;
        // Thomas algorithm.
        for i in 1..n {
            let w = sub[i] / diag[i - 1];
            diag[i] -= w * sup[i - 1];
            b[i] -= w * b[i - 1];
        }
        let mut slope = vec![0.0; n];
        slope[n - 1] = b[n - 1] / diag[n - 1];
        for i in (0..n - 1).rev() {
            slope[i] = (b[i] - sup[i] * slope[i + 1]) / diag[i];
        }
        slope.iter().all(|s| s.is_finite()).then(|| Spline { x: x.to_vec(), y: y.to_vec(), slope })
    }

    /// The value at `t`; `None` outside the knots.
    fn eval(&self, t: f64) -> Option<f64> {
        let n = self.x.len();
        if !(t >= self.x[0] && t <= self.x[n - 1]) {
            return None;
        }
        let k = self.x.partition_point(|&v| v <= t).clamp(1, n - 1) - 1;
        let h = self.x[k + 1] - self.x[k];
        let u = (t - self.x[k]) / h;
        let (y0, y1, s0, s1) = (self.y[k], self.y[k + 1], self.slope[k] * h, self.slope[k + 1] * h);
        let u2 = u * u;
        let u3 = u2 * u;
        Some(
            (2.0 * u3 - 3.0 * u2 + 1.0) * y0
                + (u3 - 2.0 * u2 + u) * s0
                + (-2.0 * u3 + 3.0 * u2) * y1
                + (u3 - u2) * s1,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaussian(n: usize, s: f64, (x0, y0): (f64, f64)) -> Array2<f64> {
        let norm = 1.0 / (2.0 * std::f64::consts::PI * s * s);
        Array2::from_shape_fn((n, n), |(i, j)| {
            let r2 = (i as f64 - y0).powi(2) + (j as f64 - x0).powi(2);
            norm * (-r2 / (2.0 * s * s)).exp()
        })
    }

    /// Reference: a Gaussian exp(-r^2 / 2 s^2) has FWHM 2 sqrt(2 ln 2) s (the fit of a
    /// sampled Gaussian by a Gaussian is exact, up to the search's 1e-7: the square root of
    /// the rounding of a flat maximum) and encircled energy
    /// 1 - exp(-R^2 / 2 s^2) (exact area: 1e-3); its centroid is its centre (1e-6 px).
    #[test]
    fn gaussian_fwhm_encircled_energy_and_centroid() {
        let (n, s) = (101, 6.0);
        let g = gaussian(n, s, (50.0, 50.0));
        let c = array_center(&g);
        let f = fwhm_fit(&g, 0.1, c, 0.1).unwrap();
        let want = 2.0 * (2.0 * 2f64.ln()).sqrt() * s * 0.1;
        assert!((f / want - 1.0).abs() < 1e-7, "{f} vs {want}");
        let ee = encircled_energy_exact(&g, 0.1, c, 1.0);
        assert!((ee - (1.0 - (-(10.0f64).powi(2) / (2.0 * s * s)).exp())).abs() < 1e-3, "{ee}");
        let r = radius_at_ee_exact(&g, 0.1, c, 0.5).unwrap();
        let want = s * (2.0 * 2f64.ln()).sqrt() * 0.1;
        assert!((r / want - 1.0).abs() < 0.01, "{r} vs {want}");
        // An offset Gaussian: the floating window finds its centre.
        let g = gaussian(n, 3.0, (40.3, 57.8));
        let (x, y) = fw_centroid(&g, 20).unwrap();
        assert!((x - 40.3).abs() < 1e-6 && (y - 57.8).abs() < 1e-6, "({x}, {y})");
    }

    /// Reference: a cubic is reproduced exactly by a not-a-knot spline (1e-12).
    #[test]
    fn not_a_knot_spline_reproduces_a_cubic() {
        let x = [0.0, 0.5, 1.7, 2.0, 3.1, 4.0];
        let f = |t: f64| 1.0 - 2.0 * t + 0.5 * t * t - 0.3 * t * t * t;
        let y: Vec<f64> = x.iter().map(|&t| f(t)).collect();
        let s = Spline::new(&x, &y).unwrap();
        for t in [0.0, 0.2, 1.0, 2.5, 3.9, 4.0] {
            assert!((s.eval(t).unwrap() - f(t)).abs() < 1e-12, "{t}");
        }
        assert!(s.eval(4.1).is_none() && s.eval(-0.1).is_none());
    }

    /// Reference: earlier POPPY's measure_strehl indexing: the pixel at an integral centre,
    /// the mean of the 2 x 2 block from floor to ceil otherwise (exact arithmetic).
    #[test]
    fn strehl_takes_the_centre_pixel_or_the_four_around_a_corner() {
        let perfect = Array2::from_elem((5, 6), 2.0);
        let image = Array2::from_shape_fn((5, 6), |(i, j)| (10 * i + j) as f64);
        assert_eq!(strehl(&image, &perfect, (2.0, 3.0)), Some(32.0 / 2.0));
        let block = (21.0 + 22.0 + 31.0 + 32.0) / 4.0;
        assert_eq!(strehl(&image, &perfect, (1.5, 2.5)), Some(block / 2.0));
        assert_eq!(strehl(&image, &perfect, (5.5, 2.0)), None);
        assert_eq!(strehl(&image, &Array2::zeros((5, 5)), (2.0, 2.0)), None);
    }

    #[test]
    fn an_all_zero_image_serialises_to_valid_json_with_nulls() {
        let m = Measurement::new(&Array2::zeros((16, 16)), 0.1, &MeasureOptions::default())
            .with_source("z.fits", 1);
        let text = serde_json::to_string(&m).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(v["fwhm_arcsec"].is_null(), "{text}");
        assert!(v["centroid_px"].is_null(), "{text}");
        assert!(v["radius_at_ee"][0]["radius_arcsec"].is_null(), "{text}");
        assert_eq!(v["peak"].as_f64(), Some(0.0));
        assert_eq!(v["ee"].as_array().map(Vec::len), Some(7));
        assert_eq!(v["file"], "z.fits");
        assert_eq!(v["hdu"], 1);
        // A NaN (an image of NaN) is null, not the invalid token NaN.
        let m =
            Measurement::new(&Array2::from_elem((4, 4), f64::NAN), 0.1, &MeasureOptions::default());
        let v: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert!(v["flux"].is_null());
    }
}
