//! `diffract measure`: POPPY's measurements of a PSF FITS file (FWHM, centroid, encircled
//! energy, radius at encircled energy, radial profile, sharpness), as text, JSON and CSV.

use crate::{check_free, read_fits, Failure};
use diffract::measure::{
    self, CentroidMethod, EeMethod, FwhmMethod, MeasureOptions, ProfileOptions,
};
use std::path::PathBuf;

#[derive(clap::Args)]
pub(crate) struct MeasureArgs {
    /// The FITS file.
    file: PathBuf,
    /// HDU to measure (0: the oversampled PSF; 1: DET_SAMP, the detector pixels).
    #[arg(long, default_value_t = 0)]
    hdu: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Centre X,Y in pixels for radii (FWHM, profile, encircled energy); default the array
    /// centre ((nx-1)/2, (ny-1)/2), as POPPY.
    #[arg(long, value_delimiter = ',', num_args = 1, allow_negative_numbers = true)]
    center: Option<Vec<f64>>,
    /// Radii for encircled energy, arcsec (repeatable or comma-separated).
    #[arg(long = "ee-radius", alias = "ee-radii", value_delimiter = ',',
          default_values_t = [0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0])]
    ee_radius: Vec<f64>,
    /// Fractions of the light for the radius holding them (repeatable or comma-separated).
    #[arg(long = "ee-fraction", value_delimiter = ',', default_values_t = [0.5, 0.8])]
    ee_fraction: Vec<f64>,
    /// Encircled energy: `poppy` (POPPY's measure_ee: whole pixels in one-pixel bins,
    /// interpolated by a cubic spline) or `exact` (each pixel by its area inside the circle).
    #[arg(long, default_value = "poppy")]
    ee_method: String,
    /// FWHM: `fit` (POPPY's measure_fwhm, a Gaussian fitted to the pixels above --threshold
    /// of the peak) or `profile` (POPPY's measure_fwhm_radprof, the radial profile's half
    /// maximum).
    #[arg(long, default_value = "fit")]
    fwhm_method: String,
    /// FWHM fit: the fraction of the peak above which pixels are fitted.
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    threshold: f64,
    /// Centroid: `fw` (POPPY's measure_centroid, the iterated floating window) or `moment`
    /// (the first moment of the box around the brightest pixel).
    #[arg(long, default_value = "fw")]
    centroid: String,
    /// Half width of the centroid box, pixels (POPPY's boxsize).
    #[arg(long, default_value_t = 20)]
    box_size: usize,
    /// Write the radial profile as CSV (radius_arcsec, mean, stddev, ee) to this file.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Radial-profile bin width, arcsec (default one pixel); also the encircled-energy bins.
    #[arg(long, allow_negative_numbers = true)]
    bin_size: Option<f64>,
    /// Position angles MIN,MAX in degrees counter-clockwise from +Y (-180 to 180) for the
    /// radial profile (POPPY's pa_range).
    #[arg(long, value_delimiter = ',', num_args = 1, allow_negative_numbers = true)]
    pa_range: Option<Vec<f64>>,
    /// Also plot the radial profile and encircled energy to this PNG.
    #[arg(long)]
    profile_png: Option<PathBuf>,
    /// The scene the PSF was computed from: adds the Strehl ratio, the PSF's value at the
    /// centre over that of the scene computed again without the OPD of its pupil optics
    /// (the measure_strehl of earlier POPPY versions and WebbPSF). HDU 0 or 1 only.
    #[arg(long)]
    strehl_scene: Option<PathBuf>,
    /// Replace existing --profile and --profile-png files.
    #[arg(long)]
    overwrite: bool,
    /// Pixel scale in arcsec when the file has no PIXELSCL keyword.
    #[arg(long)]
    pixelscale: Option<f64>,
}

/// A pair `A,B` of finite numbers given to `flag`.
fn pair(flag: &str, v: &Option<Vec<f64>>) -> Result<Option<(f64, f64)>, Failure> {
    match v.as_deref() {
        None => Ok(None),
        Some([a, b]) if a.is_finite() && b.is_finite() => Ok(Some((*a, *b))),
        Some(v) => Err(Failure::input(format!(
            "--{flag} {}: must be two finite numbers A,B",
            v.iter().map(f64::to_string).collect::<Vec<_>>().join(",")
        ))),
    }
}

fn one_of(flag: &str, value: &str, allowed: &str) -> Failure {
    Failure::input(format!("--{flag} {value} is invalid; must be one of: {allowed}"))
}

fn options(args: &MeasureArgs) -> Result<MeasureOptions, Failure> {
    let mut o = MeasureOptions::default();
    o.center = pair("center", &args.center)?;
    o.pa_range_deg = pair("pa-range", &args.pa_range)?;
    if let Some((lo, hi)) = o.pa_range_deg {
        if !(-180.0..=180.0).contains(&lo) || !(-180.0..=180.0).contains(&hi) || lo > hi {
            return Err(Failure::input(format!(
                "--pa-range {lo},{hi} is invalid; must be MIN,MAX with -180 <= MIN <= MAX <= 180"
            )));
        }
    }
    if let Some(r) = args.ee_radius.iter().find(|r| !(r.is_finite() && **r > 0.0)) {
        return Err(Failure::input(format!("--ee-radius {r} is invalid; radii must be > 0")));
    }
    if let Some(f) = args.ee_fraction.iter().find(|f| !(f.is_finite() && **f > 0.0)) {
        return Err(Failure::input(format!("--ee-fraction {f} is invalid; must be > 0")));
    }
    if !(args.threshold > 0.0 && args.threshold < 1.0) {
        return Err(Failure::input(format!(
            "--threshold {} is invalid; must be between 0 and 1",
            args.threshold
        )));
    }
    if !(1..=100_000).contains(&args.box_size) {
        return Err(Failure::input(format!(
            "--box-size {} is invalid; must be from 1 to 100000 pixels",
            args.box_size
        )));
    }
    if let Some(b) = args.bin_size {
        if !(b.is_finite() && b > 0.0) {
            return Err(Failure::input(format!("--bin-size {b} is invalid; must be > 0")));
        }
    }
    o.ee_radii_arcsec = args.ee_radius.clone();
    o.ee_fractions = args.ee_fraction.clone();
    o.ee_method = match args.ee_method.as_str() {
        "poppy" => EeMethod::Poppy,
        "exact" => EeMethod::Exact,
        other => return Err(one_of("ee-method", other, "poppy, exact")),
    };
    o.fwhm_method = match args.fwhm_method.as_str() {
        "fit" => FwhmMethod::Fit,
        "profile" => FwhmMethod::Profile,
        other => return Err(one_of("fwhm-method", other, "fit, profile")),
    };
    o.threshold = args.threshold;
    o.centroid = match args.centroid.as_str() {
        "fw" => CentroidMethod::Fw,
        "moment" => CentroidMethod::Moment,
        other => return Err(one_of("centroid", other, "fw, moment")),
    };
    o.box_half = args.box_size;
    o.binsize_arcsec = args.bin_size;
    Ok(o)
}

/// The profile as CSV text: a header line and one line per bin.
fn profile_csv(p: &measure::RadialProfile) -> String {
    let mut s = String::from("radius_arcsec,mean,stddev,ee\n");
    for k in 0..p.radius_arcsec.len() {
        s.push_str(&format!(
            "{:e},{:e},{:e},{:e}\n",
            p.radius_arcsec[k], p.mean[k], p.stddev[k], p.encircled[k]
        ));
    }
    s
}

pub(crate) fn run(args: &MeasureArgs) -> Result<(), Failure> {
    let opts = options(args)?;
    for p in [&args.profile, &args.profile_png].into_iter().flatten() {
        check_free(p, args.overwrite)?;
    }
    let img = read_fits(&args.file, args.hdu)?;
    let scale = match (args.pixelscale, img.pixelscale) {
        (Some(s), _) if s > 0.0 && s.is_finite() => s,
        (Some(s), _) => {
            return Err(Failure::input(format!("--pixelscale {s} is invalid; must be > 0")))
        }
        (None, Some(s)) if s > 0.0 && s.is_finite() => s,
        _ => {
            return Err(Failure::input(format!(
                "{}: HDU {} has no usable PIXELSCL keyword; pass --pixelscale",
                args.file.display(),
                args.hdu
            )))
        }
    };
    let data = &img.data;
    let strehl = args
        .strehl_scene
        .as_ref()
        .map(|scene| strehl_against(scene, args.hdu, &img, opts.center))
        .transpose()?;
    let m = measure::Measurement::new(data, scale, &opts).with_source(&args.file, args.hdu);
    let profile = (args.profile.is_some() || args.profile_png.is_some()).then(|| {
        measure::radial_profile(
            data,
            scale,
            &ProfileOptions::new(opts.center, opts.binsize_arcsec, opts.pa_range_deg),
        )
    });
    if args.json {
        let mut v = serde_json::to_value(&m).map_err(Failure::run)?;
        if let (Some(s), Some(obj)) = (strehl, v.as_object_mut()) {
            obj.insert("strehl".into(), serde_json::json!(s));
        }
        if let (Some(p), Some(obj)) = (&profile, v.as_object_mut()) {
            obj.insert(
                "pa_range_deg".into(),
                serde_json::json!(opts.pa_range_deg.map(|(a, b)| [a, b])),
            );
            obj.insert(
                "profile".into(),
                serde_json::json!({
                    "binsize_arcsec": p.binsize_arcsec,
                    "radius_arcsec": p.radius_arcsec,
                    "mean": p.mean,
                    "stddev": p.stddev,
                    "ee": p.encircled,
                }),
            );
        }
        emit(&format!("{}\n", serde_json::to_string(&v).map_err(Failure::run)?))?;
    } else {
        let mut text = text_report(&m, args, scale);
        if let Some(s) = strehl {
            text.push_str(&s.map_or("Strehl ratio: not measurable\n".into(), |s| {
                format!("Strehl ratio: {s:.5}\n")
            }));
        }
        emit(&text)?;
    }
    if let (Some(path), Some(p)) = (&args.profile, &profile) {
        let text = profile_csv(p);
        diffract::io::atomic_write(path, args.overwrite, |tmp| {
            std::fs::write(tmp, &text)
                .map_err(|source| diffract::io::IoError::File { path: tmp.to_path_buf(), source })
        })
        .map_err(Failure::run)?;
    }
    if let (Some(path), Some(p)) = (&args.profile_png, &profile) {
        diffract::picture::profile_picture(p, &args.file.display().to_string())
            .write_png(path, args.overwrite)
            .map_err(Failure::run)?;
    }
    Ok(())
}

/// The Strehl ratio of `img` (HDU `hdu` of a PSF file) about `center` against `scene`
/// computed without wavefront error, as that HDU holds it (0: the oversampled image, 1:
/// binned to detector pixels).
fn strehl_against(
    scene: &std::path::Path,
    hdu: usize,
    img: &diffract::io::FitsImage,
    center: Option<(f64, f64)>,
) -> Result<Option<f64>, Failure> {
    let shape = img.data.dim();
    if hdu > 1 {
        return Err(Failure::input(format!(
            "--strehl-scene needs --hdu 0 or 1 (a PSF file's image or DET_SAMP), got {hdu}"
        )));
    }
    let scene = diffract::io::Scene::from_file(scene).map_err(Failure::input)?;
    let system = measure::without_wfe(&scene.system).map_err(Failure::input)?;
    let plan = system.plan().map_err(Failure::input)?;
    let psf = plan
        .compute(&scene.source, &diffract::propagation::ComputeOptions::default())
        .map_err(Failure::run)?;
    let image = if hdu == 0 { psf.image.clone() } else { psf.detector_sampled() };
    if image.dim() != shape {
        return Err(Failure::input(format!(
            "--strehl-scene: the scene's PSF (HDU {hdu}) is {} x {} pixels, the file's {} x {}",
            image.dim().0,
            image.dim().1,
            shape.0,
            shape.1
        )));
    }
    let center = center.unwrap_or_else(|| measure::array_center(&img.data));
    Ok(measure::strehl(&img.data, &image, center))
}

/// Writes the report to stdout; a reader that has gone (a closed pipe) is not an error.
fn emit(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::run(format!("writing to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

fn text_report(m: &measure::Measurement, args: &MeasureArgs, scale: f64) -> String {
    use std::fmt::Write;
    let num = |v: Option<f64>, unit: &str, none: &str| {
        v.filter(|v| v.is_finite()).map_or(none.to_string(), |v| format!("{v:.5}{unit}"))
    };
    let mut t = String::new();
    let _ = writeln!(t, "{} (HDU {}, {} arcsec/pixel)", args.file.display(), args.hdu, scale);
    let _ = writeln!(
        t,
        "peak {:.6e}, flux in field {:.6}, sharpness {:.6e}",
        m.peak, m.flux, m.sharpness
    );
    let _ = writeln!(t, "centre ({}, {}) pixels", m.center_px[0], m.center_px[1]);
    let _ = match (m.centroid_px, m.centroid_arcsec) {
        (Some([x, y]), Some([ax, ay])) => writeln!(
            t,
            "centroid ({}): ({x:.4}, {y:.4}) pixels, ({ax:.5}, {ay:.5}) arcsec from the array centre",
            args.centroid
        ),
        _ => writeln!(t, "centroid: not measurable"),
    };
    let _ = writeln!(
        t,
        "FWHM ({}): {}",
        args.fwhm_method,
        num(m.fwhm_arcsec, " arcsec", "not measurable")
    );
    for e in &m.ee {
        let _ = writeln!(
            t,
            "encircled energy ({}) within {} arcsec: {}",
            args.ee_method,
            e.radius_arcsec,
            num(e.fraction, "", "beyond the profile")
        );
    }
    for r in &m.radius_at_ee {
        let _ = writeln!(
            t,
            "radius holding {}: {}",
            r.fraction,
            num(r.radius_arcsec, " arcsec", "not reached in the field")
        );
    }
    t
}
