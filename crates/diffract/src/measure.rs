//! Measurements of PSF images: peak, flux, centroid, FWHM, radial profile and encircled
//! energy (POPPY's `measure_fwhm`, `measure_ee`, `measure_radius_at_ee`, `radial_profile`).
//!
//! Radii are measured from the array centre, `((nx - 1) / 2, (ny - 1) / 2)`, as POPPY's
//! default; encircled energy is the sum of the image within a radius, so for a PSF
//! normalised to the light entering the telescope (diffract's and POPPY's "first") it is the
//! fraction of all the light, not of the light in the field.

use ndarray::Array2;
use serde::Serialize;
use std::path::PathBuf;

/// Every measurement of one PSF image, as `diffract measure` reports it. Serialised with
/// serde, it is the `measure --json` output (keys `file`, `hdu`, `pixelscale_arcsec`, `peak`,
/// `flux`, `centroid_arcsec`, `fwhm_arcsec`, `ee`, `radius_at_ee`); a number that is not
/// finite or not measurable is `null`. Made with [`Measurement::new`] (fields may be added
/// in later versions).
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
    /// Brightest pixel value.
    pub peak: f64,
    /// Sum of the image.
    pub flux: f64,
    /// Centroid `[x, y]`, arcsec from the array centre ([`centroid`], 20-pixel half box).
    pub centroid_arcsec: [f64; 2],
    /// Full width at half maximum, arcsec ([`fwhm`]); `None` when not measurable.
    pub fwhm_arcsec: Option<f64>,
    /// Encircled energy at each radius asked for.
    pub ee: Vec<EncircledEnergy>,
    /// Radii holding 50% and 80% of the light.
    pub radius_at_ee: RadiiAtEe,
}

/// Encircled energy within one radius.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EncircledEnergy {
    /// The radius, arcsec.
    pub radius_arcsec: f64,
    /// The energy within it ([`encircled_energy`]).
    pub fraction: f64,
}

/// Radii holding given fractions of the light ([`radius_at_ee`]); `None` beyond the field.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RadiiAtEe {
    /// Radius holding 50%, arcsec (JSON key `"0.5"`).
    #[serde(rename = "0.5")]
    pub half: Option<f64>,
    /// Radius holding 80%, arcsec (JSON key `"0.8"`).
    #[serde(rename = "0.8")]
    pub eighty_percent: Option<f64>,
}

impl Measurement {
    /// Measures `image` (pixel scale `pixelscale` arcsec) with encircled energy at each of
    /// `ee_radii` (arcsec); `file` is unset and `hdu` 0 until given by
    /// [`Measurement::with_source`].
    pub fn new(image: &Array2<f64>, pixelscale: f64, ee_radii: &[f64]) -> Self {
        let (cx, cy) = centroid(image, pixelscale, 20);
        Self {
            file: None,
            hdu: 0,
            pixelscale_arcsec: pixelscale,
            peak: image.iter().copied().fold(f64::MIN, f64::max),
            flux: image.sum(),
            centroid_arcsec: [cx, cy],
            fwhm_arcsec: fwhm(image, pixelscale),
            ee: ee_radii
                .iter()
                .map(|&r| EncircledEnergy {
                    radius_arcsec: r,
                    fraction: encircled_energy(image, pixelscale, r),
                })
                .collect(),
            radius_at_ee: RadiiAtEe {
                half: radius_at_ee(image, pixelscale, 0.5),
                eighty_percent: radius_at_ee(image, pixelscale, 0.8),
            },
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

/// Azimuthally averaged profile and encircled energy, in bins of one pixel (made by
/// [`radial_profile`]; fields may be added in later versions).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RadialProfile {
    /// Outer radius of each bin, arcsec.
    pub radius_arcsec: Vec<f64>,
    /// Mean intensity of the pixels whose centre falls in the bin.
    pub mean: Vec<f64>,
    /// Sum of all pixels whose centre lies within the bin's outer radius.
    pub encircled: Vec<f64>,
}

/// Pixel distances from the array centre, in pixels.
fn distances(image: &Array2<f64>) -> Array2<f64> {
    let (ny, nx) = image.dim();
    let (cy, cx) = ((ny as f64 - 1.0) / 2.0, (nx as f64 - 1.0) / 2.0);
    Array2::from_shape_fn((ny, nx), |(i, j)| (i as f64 - cy).hypot(j as f64 - cx))
}

/// The radial profile and encircled energy of `image` (pixel scale `pixelscale` arcsec).
pub fn radial_profile(image: &Array2<f64>, pixelscale: f64) -> RadialProfile {
    let d = distances(image);
    let nbins = d.iter().copied().fold(0.0, f64::max).ceil() as usize + 1;
    let mut sum = vec![0.0; nbins];
    let mut count = vec![0usize; nbins];
    for (r, v) in d.iter().zip(image) {
        let b = r.round() as usize;
        sum[b] += v;
        count[b] += 1;
    }
    let mut encircled = Vec::with_capacity(nbins);
    let mut acc = 0.0;
    for s in &sum {
        acc += s;
        encircled.push(acc);
    }
    RadialProfile {
        radius_arcsec: (0..nbins).map(|b| (b as f64 + 0.5) * pixelscale).collect(),
        mean: sum
            .iter()
            .zip(&count)
            .map(|(s, &c)| if c > 0 { s / c as f64 } else { 0.0 })
            .collect(),
        encircled,
    }
}

/// Encircled energy within `radius_arcsec` of the centre: the sum of the pixels, each
/// counted by the fraction of its area inside the circle.
pub fn encircled_energy(image: &Array2<f64>, pixelscale: f64, radius_arcsec: f64) -> f64 {
    let r = radius_arcsec / pixelscale;
    let (ny, nx) = image.dim();
    let (cy, cx) = ((ny as f64 - 1.0) / 2.0, (nx as f64 - 1.0) / 2.0);
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

/// The radius (arcsec) within which the encircled energy reaches `fraction`, by bisection
/// on [`encircled_energy`]; `None` when the field holds less.
pub fn radius_at_ee(image: &Array2<f64>, pixelscale: f64, fraction: f64) -> Option<f64> {
    let (ny, nx) = image.dim();
    let rmax = 0.5 * (ny.min(nx) as f64) * pixelscale;
    if encircled_energy(image, pixelscale, rmax) < fraction {
        return None;
    }
    let (mut lo, mut hi) = (0.0, rmax);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if encircled_energy(image, pixelscale, mid) < fraction {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(0.5 * (lo + hi))
}

/// Full width at half maximum (arcsec): twice the radius where the azimuthal profile
/// about the centre first falls to half the peak, by linear interpolation between pixels
/// taken along 180 directions.
pub fn fwhm(image: &Array2<f64>, pixelscale: f64) -> Option<f64> {
    let peak = image.iter().copied().fold(f64::MIN, f64::max);
    if peak <= 0.0 {
        return None;
    }
    let (ny, nx) = image.dim();
    let (cy, cx) = ((ny as f64 - 1.0) / 2.0, (nx as f64 - 1.0) / 2.0);
    let sample = |y: f64, x: f64| diffract_optics::bilinear(image, y, x);
    let centre = sample(cy, cx);
    let half = 0.5 * centre;
    let rmax = 0.5 * ny.min(nx) as f64;
    let step = 0.05;
    let mut radii = Vec::new();
    for k in 0..180 {
        let a = k as f64 * std::f64::consts::PI / 180.0;
        let (s, c) = a.sin_cos();
        let mut prev = (0.0, centre);
        let mut r = step;
        while r < rmax {
            let v = sample(cy + r * s, cx + r * c);
            if v <= half {
                let t = (prev.1 - half) / (prev.1 - v);
                radii.push(prev.0 + t * (r - prev.0));
                break;
            }
            prev = (r, v);
            r += step;
        }
    }
    if radii.is_empty() || half <= 0.0 {
        return None;
    }
    Some(2.0 * radii.iter().sum::<f64>() / radii.len() as f64 * pixelscale)
}

/// First-moment centroid (arcsec, x then y, from the array centre) of the pixels within
/// `box_half` pixels of the brightest one.
pub fn centroid(image: &Array2<f64>, pixelscale: f64, box_half: usize) -> (f64, f64) {
    let (ny, nx) = image.dim();
    let ((pi, pj), _) =
        image
            .indexed_iter()
            .fold(((0, 0), f64::MIN), |best, (ij, &v)| if v > best.1 { (ij, v) } else { best });
    let (cy, cx) = ((ny as f64 - 1.0) / 2.0, (nx as f64 - 1.0) / 2.0);
    let (mut sx, mut sy, mut s) = (0.0, 0.0, 0.0);
    for i in pi.saturating_sub(box_half)..(pi + box_half + 1).min(ny) {
        for j in pj.saturating_sub(box_half)..(pj + box_half + 1).min(nx) {
            let v = image[[i, j]].max(0.0);
            sx += v * j as f64;
            sy += v * i as f64;
            s += v;
        }
    }
    if s <= 0.0 {
        return (0.0, 0.0);
    }
    ((sx / s - cx) * pixelscale, (sy / s - cy) * pixelscale)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: a Gaussian exp(-r^2 / 2 s^2) has FWHM 2 sqrt(2 ln 2) s and encircled
    /// energy 1 - exp(-R^2 / 2 s^2); tolerances 1% and 1e-3.
    #[test]
    fn gaussian_fwhm_and_encircled_energy() {
        let (n, s) = (101, 6.0);
        let c = 50.0;
        let norm = 1.0 / (2.0 * std::f64::consts::PI * s * s);
        let g = Array2::from_shape_fn((n, n), |(i, j)| {
            let r2 = (i as f64 - c).powi(2) + (j as f64 - c).powi(2);
            norm * (-r2 / (2.0 * s * s)).exp()
        });
        let f = fwhm(&g, 0.1).unwrap();
        let want = 2.0 * (2.0 * 2f64.ln()).sqrt() * s * 0.1;
        assert!((f / want - 1.0).abs() < 0.01, "{f} vs {want}");
        let ee = encircled_energy(&g, 0.1, 1.0);
        assert!((ee - (1.0 - (-(10.0f64).powi(2) / (2.0 * s * s)).exp())).abs() < 1e-3, "{ee}");
        let r = radius_at_ee(&g, 0.1, 0.5).unwrap();
        let want = s * (2.0 * 2f64.ln()).sqrt() * 0.1;
        assert!((r / want - 1.0).abs() < 0.01, "{r} vs {want}");
        let (x, y) = centroid(&g, 0.1, 20);
        assert!(x.abs() < 1e-9 && y.abs() < 1e-9);
        let p = radial_profile(&g, 0.1);
        assert!((p.mean[0] - norm).abs() < 1e-12);
    }

    #[test]
    fn an_all_zero_image_serialises_to_valid_json_with_nulls() {
        let m =
            Measurement::new(&Array2::zeros((16, 16)), 0.1, &[0.1, 0.5]).with_source("z.fits", 1);
        let text = serde_json::to_string(&m).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(v["fwhm_arcsec"].is_null(), "{text}");
        assert!(v["radius_at_ee"]["0.5"].is_null() && v["radius_at_ee"]["0.8"].is_null());
        assert_eq!(v["peak"].as_f64(), Some(0.0));
        assert_eq!(v["ee"].as_array().map(Vec::len), Some(2));
        assert_eq!(v["file"], "z.fits");
        assert_eq!(v["hdu"], 1);
        // A NaN (an image of NaN) is null, not the invalid token NaN.
        let m = Measurement::new(&Array2::from_elem((4, 4), f64::NAN), 0.1, &[0.1]);
        let v: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert!(v["flux"].is_null());
    }
}
