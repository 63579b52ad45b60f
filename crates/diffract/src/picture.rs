//! PNG pictures: PSFs with a logarithmic stretch over a fixed number of decades below the
//! peak through a dark-to-bright colour map, and a small [`Canvas`] for plots.

use crate::io::{atomic_write, IoError};
use ndarray::Array2;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Errors writing a picture.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PictureError {
    /// The output exists and overwriting was not asked for.
    #[error("{0}: file exists; pass --overwrite to replace it")]
    Exists(PathBuf),
    /// The image holds no positive value to scale by.
    #[error("the image has no positive values to draw")]
    Empty,
    /// Writing failed.
    #[error("{path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Creating, flushing or renaming the file failed.
    #[error("{0}")]
    Io(IoError),
}

impl From<IoError> for PictureError {
    fn from(e: IoError) -> Self {
        match e {
            IoError::Exists(path) => PictureError::Exists(path),
            other => PictureError::Io(other),
        }
    }
}

/// A picture title's wavelength part: `N wavelengths, mean W um`, `W um`, or
/// `wavelength unknown`.
pub fn wavelength_label(mean: Option<f64>, n: Option<i64>) -> String {
    match (mean, n) {
        (Some(w), Some(n)) if n > 1 => format!("{n} wavelengths, mean {:.4} um", w * 1e6),
        (Some(w), _) => format!("{:.4} um", w * 1e6),
        _ => "wavelength unknown".into(),
    }
}

/// Colour-map anchors from black through purple, red and orange to pale yellow.
const ANCHORS: [(f64, [f64; 3]); 6] = [
    (0.0, [0.0, 0.0, 0.02]),
    (0.2, [0.2, 0.04, 0.4]),
    (0.45, [0.6, 0.12, 0.4]),
    (0.7, [0.93, 0.35, 0.15]),
    (0.88, [0.98, 0.7, 0.1]),
    (1.0, [0.99, 0.99, 0.75]),
];

/// The colour of level `v` in [0, 1].
fn colour(v: f64) -> [u8; 3] {
    let v = v.clamp(0.0, 1.0);
    let k = ANCHORS.iter().position(|(a, _)| *a >= v).unwrap_or(ANCHORS.len() - 1).max(1);
    let (a0, c0) = ANCHORS[k - 1];
    let (a1, c1) = ANCHORS[k];
    let t = if a1 > a0 { (v - a0) / (a1 - a0) } else { 0.0 };
    std::array::from_fn(|i| ((c0[i] + t * (c1[i] - c0[i])) * 255.0).round() as u8)
}

/// Maps `image` to RGB pixels: `log10(value / peak)` from `-decades` to 0 spans the colour
/// map. Row 0 of the array (y = 0) is drawn at the bottom, as FITS viewers show it.
///
/// # Errors
///
/// [`PictureError::Empty`] when no value is positive.
pub fn log_rgb(image: &Array2<f64>, decades: f64) -> Result<Vec<u8>, PictureError> {
    let peak = image.iter().copied().filter(|v| v.is_finite()).fold(0.0, f64::max);
    if peak <= 0.0 {
        return Err(PictureError::Empty);
    }
    let (ny, nx) = image.dim();
    let mut rgb = Vec::with_capacity(ny * nx * 3);
    for row in image.rows().into_iter().rev() {
        for &v in row {
            let level = if v > 0.0 { 1.0 + (v / peak).log10() / decades } else { 0.0 };
            rgb.extend_from_slice(&colour(level));
        }
    }
    Ok(rgb)
}

/// Writes `image` as a PNG with a logarithmic stretch over `decades` below the peak,
/// magnified by whole pixels to at least 256 pixels across. Written to a temporary file and
/// renamed into place.
///
/// # Errors
///
/// [`PictureError`] when the file exists without `overwrite`, the image is empty, or the
/// file cannot be written.
pub fn write_log_png(
    path: &Path,
    image: &Array2<f64>,
    decades: f64,
    overwrite: bool,
) -> Result<(), PictureError> {
    if path.exists() && !overwrite {
        return Err(PictureError::Exists(path.to_path_buf()));
    }
    let (ny, nx) = image.dim();
    let zoom = (256 / nx.max(ny).max(1)).max(1);
    let rgb = log_rgb(image, decades)?;
    let (w, h) = (nx * zoom, ny * zoom);
    let mut big = Vec::with_capacity(w * h * 3);
    for r in 0..ny {
        let row = &rgb[r * nx * 3..(r + 1) * nx * 3];
        let mut line = Vec::with_capacity(w * 3);
        for px in row.chunks(3) {
            for _ in 0..zoom {
                line.extend_from_slice(px);
            }
        }
        for _ in 0..zoom {
            big.extend_from_slice(&line);
        }
    }
    write_rgb_png(path, w, h, &big, overwrite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_is_brightest_and_zero_is_darkest() {
        let img = Array2::from_shape_fn((3, 3), |(i, j)| if (i, j) == (1, 1) { 1.0 } else { 1e-6 });
        let rgb = log_rgb(&img, 4.0).unwrap();
        let centre = &rgb[(3 + 1) * 3..(3 + 1) * 3 + 3];
        assert_eq!(centre, colour(1.0));
        assert_eq!(&rgb[0..3], colour(0.0));
        assert!(log_rgb(&Array2::zeros((2, 2)), 4.0).is_err());
    }
}

/// An RGB drawing surface for plots: lines, rectangles, markers and 8x8 bitmap text,
/// written as PNG. The origin is the top-left corner.
#[derive(Clone, Debug)]
pub struct Canvas {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

/// A colour.
pub type Rgb = [u8; 3];

impl Canvas {
    /// A white canvas.
    pub fn new(width: usize, height: usize) -> Self {
        Canvas { width, height, rgb: vec![255; width * height * 3] }
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Sets one pixel (ignored outside the canvas).
    pub fn put(&mut self, x: i64, y: i64, c: Rgb) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = (y as usize * self.width + x as usize) * 3;
            self.rgb[i..i + 3].copy_from_slice(&c);
        }
    }

    /// Fills the rectangle `[x0, x1) x [y0, y1)`.
    pub fn fill_rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: Rgb) {
        for y in y0..y1 {
            for x in x0..x1 {
                self.put(x, y, c);
            }
        }
    }

    /// A line `width` pixels thick (Bresenham, thickened by a square brush).
    pub fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), c: Rgb, width: i64) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        let h = width / 2;
        loop {
            self.fill_rect(x - h, y - h, x - h + width, y - h + width, c);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// Text in the 8x8 bitmap font, `scale` pixels per font pixel, top-left at `(x, y)`.
    pub fn text(&mut self, x: i64, y: i64, s: &str, c: Rgb, scale: i64) {
        for (k, ch) in s.chars().enumerate() {
            let glyph = font8x8::legacy::BASIC_LEGACY
                [if (ch as u32) < 128 { ch as usize } else { b'?' as usize }];
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        let px = x + (k as i64 * 8 + col) * scale;
                        let py = y + row as i64 * scale;
                        self.fill_rect(px, py, px + scale, py + scale, c);
                    }
                }
            }
        }
    }

    /// Width in pixels of `s` drawn at `scale`.
    pub fn text_width(s: &str, scale: i64) -> i64 {
        s.chars().count() as i64 * 8 * scale
    }

    /// Copies an RGB image (`w x h`, row-major) with its top-left at `(x, y)`.
    pub fn blit(&mut self, x: i64, y: i64, w: usize, h: usize, rgb: &[u8]) {
        for r in 0..h {
            for c in 0..w {
                let i = (r * w + c) * 3;
                self.put(x + c as i64, y + r as i64, [rgb[i], rgb[i + 1], rgb[i + 2]]);
            }
        }
    }

    /// Writes the canvas as a PNG, atomically (temporary file, then rename).
    ///
    /// # Errors
    ///
    /// [`PictureError`] when the file exists without `overwrite` or cannot be written.
    pub fn write_png(&self, path: &Path, overwrite: bool) -> Result<(), PictureError> {
        write_rgb_png(path, self.width, self.height, &self.rgb, overwrite)
    }
}

/// Writes an RGB buffer as PNG, atomically ([`atomic_write`]).
fn write_rgb_png(
    path: &Path,
    w: usize,
    h: usize,
    rgb: &[u8],
    overwrite: bool,
) -> Result<(), PictureError> {
    atomic_write(path, overwrite, |tmp| {
        let err = |m: String| PictureError::Write { path: path.to_path_buf(), message: m };
        let file = std::fs::File::create(tmp).map_err(|e| err(e.to_string()))?;
        let mut enc = png::Encoder::new(BufWriter::new(file), w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| err(e.to_string()))?;
        writer.write_image_data(rgb).map_err(|e| err(e.to_string()))?;
        writer.finish().map_err(|e| err(e.to_string()))
    })
}

/// Nice tick values covering `[lo, hi]`, about `n` of them.
fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if hi.is_nan() || lo.is_nan() || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step =
        [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 0.01 && v.abs() < 1e4 {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.0e}")
    }
}

/// How a picture maps values to colours.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stretch {
    /// `log10(value / peak)` from `-decades` to 0.
    Log {
        /// Decades below the peak shown.
        decades: f64,
    },
    /// Linear from 0 to the peak.
    Linear,
}

/// A picture of a PSF-like image: the image (row 0 at the bottom), axes in arcsec from the
/// array centre, a colour bar, and a title.
pub fn image_picture(
    image: &Array2<f64>,
    pixelscale: f64,
    title: &str,
    stretch: Stretch,
) -> Result<Canvas, PictureError> {
    image_picture_in(image, pixelscale, "arcsec", title, stretch)
}

/// As [`image_picture`] for an image sampled in metres (a Fresnel plane): the axes in m, mm
/// or um, whichever suits the field's width.
pub fn image_picture_metres(
    image: &Array2<f64>,
    pixelscale_m: f64,
    title: &str,
    stretch: Stretch,
) -> Result<Canvas, PictureError> {
    let half = image.ncols().max(image.nrows()) as f64 / 2.0 * pixelscale_m;
    let (factor, unit) = if half >= 1.0 {
        (1.0, "m")
    } else if half >= 1e-3 {
        (1e3, "mm")
    } else {
        (1e6, "um")
    };
    image_picture_in(image, pixelscale_m * factor, unit, title, stretch)
}

fn image_picture_in(
    image: &Array2<f64>,
    pixelscale: f64,
    unit: &str,
    title: &str,
    stretch: Stretch,
) -> Result<Canvas, PictureError> {
    let (ny, nx) = image.dim();
    let peak = image.iter().copied().filter(|v| v.is_finite()).fold(0.0, f64::max);
    if peak <= 0.0 {
        return Err(PictureError::Empty);
    }
    let zoom = (480 / nx.max(ny).max(1)).max(1);
    let shrink = nx.max(ny).div_ceil(480).max(1);
    let (w, h) = ((nx * zoom).div_ceil(shrink), (ny * zoom).div_ceil(shrink));
    let level = |v: f64| match stretch {
        Stretch::Log { decades } => {
            if v > 0.0 {
                1.0 + (v / peak).log10() / decades
            } else {
                0.0
            }
        }
        Stretch::Linear => v / peak,
    };
    let mut rgb = Vec::with_capacity(w * h * 3);
    for r in 0..h {
        let i = ny - 1 - (r * shrink / zoom).min(ny - 1);
        for c in 0..w {
            let j = (c * shrink / zoom).min(nx - 1);
            rgb.extend_from_slice(&colour(level(image[[i, j]])));
        }
    }
    let (left, top) = (70i64, 50i64);
    let title_scale = if Canvas::text_width(title, 2) + 20 <= (w + 200) as i64 { 2 } else { 1 };
    let width = (w + 200).max(Canvas::text_width(title, title_scale) as usize + 20);
    let mut canvas = Canvas::new(width, h + 100);
    let black = [0, 0, 0];
    canvas.text(10, 10, title, black, title_scale);
    canvas.blit(left, top, w, h, &rgb);
    let (x0, y0, x1, y1) = (left, top, left + w as i64, top + h as i64);
    canvas.line((x0, y1), (x1, y1), black, 1);
    canvas.line((x0, y0), (x0, y1), black, 1);
    // Axes in `unit`: pixel j has x = (j - (nx-1)/2) * pixelscale.
    let half_x = nx as f64 / 2.0 * pixelscale;
    let half_y = ny as f64 / 2.0 * pixelscale;
    for t in ticks(-half_x, half_x, 6) {
        let px = x0 + ((t + half_x) / (2.0 * half_x) * w as f64) as i64;
        canvas.line((px, y1), (px, y1 + 4), black, 1);
        let label = fmt_tick(t);
        canvas.text(px - Canvas::text_width(&label, 1) / 2, y1 + 8, &label, black, 1);
    }
    for t in ticks(-half_y, half_y, 6) {
        let py = y1 - ((t + half_y) / (2.0 * half_y) * h as f64) as i64;
        canvas.line((x0 - 4, py), (x0, py), black, 1);
        let label = fmt_tick(t);
        canvas.text(x0 - 8 - Canvas::text_width(&label, 1), py - 4, &label, black, 1);
    }
    canvas.text((x0 + x1) / 2 - 28, y1 + 24, &format!("x ({unit})"), black, 1);
    canvas.text(4, y0 - 12, &format!("y ({unit})"), black, 1);
    // Colour bar.
    let (bx, bw) = (x1 + 30, 20i64);
    for r in 0..h as i64 {
        let v = 1.0 - r as f64 / (h as f64 - 1.0).max(1.0);
        canvas.fill_rect(bx, y0 + r, bx + bw, y0 + r + 1, colour(v));
    }
    let bar_ticks: Vec<(f64, String)> = match stretch {
        Stretch::Log { decades } => (0..=decades as i64)
            .map(|d| (1.0 - d as f64 / decades, format!("{:.0e}", peak * 10f64.powi(-(d as i32)))))
            .collect(),
        Stretch::Linear => {
            (0..=4).map(|k| (k as f64 / 4.0, format!("{:.2e}", peak * k as f64 / 4.0))).collect()
        }
    };
    for (v, label) in bar_ticks {
        let py = y1 - (v * h as f64) as i64;
        canvas.line((bx + bw, py), (bx + bw + 4, py), black, 1);
        canvas.text(bx + bw + 7, py - 4, &label, black, 1);
    }
    Ok(canvas)
}

/// A diverging blue-white-red colour for `v` in [-1, 1].
fn diverging(v: f64) -> Rgb {
    let v = v.clamp(-1.0, 1.0);
    let (a, b) = if v < 0.0 { ([40.0, 80.0, 200.0], -v) } else { ([200.0, 50.0, 40.0], v) };
    std::array::from_fn(|i| (255.0 + (a[i] - 255.0) * b).round() as u8)
}

/// One panel of [`pupil_picture`]: an image scaled to about 360 pixels with a title and a
/// scale line, its top-left at `(x, y)`.
fn panel(
    canvas: &mut Canvas,
    x: i64,
    y: i64,
    image: &Array2<f64>,
    colour_of: &dyn Fn(f64) -> Rgb,
    title: &str,
    scale: &str,
) {
    let (ny, nx) = image.dim();
    let zoom = (360 / nx.max(ny).max(1)).max(1);
    let shrink = nx.max(ny).div_ceil(360).max(1);
    let (w, h) = ((nx * zoom).div_ceil(shrink), (ny * zoom).div_ceil(shrink));
    let mut rgb = Vec::with_capacity(w * h * 3);
    for r in 0..h {
        let i = ny - 1 - (r * shrink / zoom).min(ny - 1);
        for c in 0..w {
            let j = (c * shrink / zoom).min(nx - 1);
            rgb.extend_from_slice(&colour_of(image[[i, j]]));
        }
    }
    canvas.text(x, y, title, [0, 0, 0], 2);
    canvas.blit(x, y + 24, w, h, &rgb);
    canvas.text(x, y + 30 + h as i64, scale, [0, 0, 0], 1);
}

/// The entrance pupil: amplitude transmission (black 0 to white 1) and, when present, the
/// OPD in nm (blue negative, red positive, white 0), side by side.
pub fn pupil_picture(
    transmission: &Array2<f64>,
    opd_nm: Option<&Array2<f64>>,
    pixelscale_m: f64,
    name: &str,
) -> Canvas {
    let width = transmission.ncols() as f64 * pixelscale_m;
    optic_picture(
        transmission,
        opd_nm,
        &format!("{width:.3} m across"),
        &format!("{name}: entrance pupil"),
    )
}

/// An optic's transmission (black 0 to white 1) and OPD in nm (blue negative, red
/// positive), side by side; `across` says how wide the arrays are.
pub fn optic_picture(
    transmission: &Array2<f64>,
    opd_nm: Option<&Array2<f64>>,
    across: &str,
    title: &str,
) -> Canvas {
    let mut c = Canvas::new(800, 440);
    c.text(10, 8, title, [0, 0, 0], 2);
    let gray = |v: f64| {
        let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        [g, g, g]
    };
    panel(
        &mut c,
        10,
        40,
        transmission,
        &gray,
        "transmission",
        &format!("0 (black) to 1 (white); {across}"),
    );
    match opd_nm {
        Some(opd) => {
            let lim = opd
                .iter()
                .zip(transmission)
                .filter(|(_, t)| **t > 0.0)
                .map(|(o, _)| o.abs())
                .fold(0.0, f64::max);
            let lim = if lim > 0.0 { lim } else { 1.0 };
            let col = |v: f64| diverging(v / lim);
            panel(
                &mut c,
                410,
                40,
                opd,
                &col,
                "OPD",
                &format!("-{lim:.1} nm (blue) to +{lim:.1} nm (red)"),
            );
        }
        None => c.text(410, 70, "no OPD", [0, 0, 0], 2),
    }
    c
}

/// The azimuthally averaged profile (log scale) and the encircled energy against radius.
pub fn profile_picture(profile: &crate::measure::RadialProfile, title: &str) -> Canvas {
    let mut c = Canvas::new(900, 420);
    let black = [0, 0, 0];
    c.text(10, 8, title, black, 1);
    let rmax = profile.radius_arcsec.last().copied().unwrap_or(1.0);
    let peak = profile.mean.iter().copied().fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let ee_max = profile.encircled.last().copied().unwrap_or(1.0).max(1e-300);
    for (p, (label, values, log)) in [
        ("mean intensity / peak (log)", &profile.mean, true),
        ("encircled energy", &profile.encircled, false),
    ]
    .into_iter()
    .enumerate()
    {
        let (x0, y0, x1, y1) = (60 + p as i64 * 440, 40, 60 + p as i64 * 440 + 380, 360);
        c.line((x0, y1), (x1, y1), black, 1);
        c.line((x0, y0), (x0, y1), black, 1);
        c.text(x0, y0 - 14, label, black, 1);
        c.text((x0 + x1) / 2 - 40, y1 + 24, "radius (arcsec)", black, 1);
        for t in ticks(0.0, rmax, 5) {
            let px = x0 + (t / rmax * (x1 - x0) as f64) as i64;
            c.line((px, y1), (px, y1 + 4), black, 1);
            let l = fmt_tick(t);
            c.text(px - Canvas::text_width(&l, 1) / 2, y1 + 8, &l, black, 1);
        }
        let y_of = |v: f64| {
            let f =
                if log { 1.0 + (v / peak).max(1e-6).log10() / 6.0 } else { v / ee_max.max(1.0) };
            y1 - (f.clamp(0.0, 1.0) * (y1 - y0) as f64) as i64
        };
        let ylabels: Vec<(f64, String)> = if log {
            (0..=6).map(|d| (peak * 10f64.powi(-d), format!("1e-{d}"))).collect()
        } else {
            (0..=4)
                .map(|k| {
                    (k as f64 / 4.0 * ee_max.max(1.0), fmt_tick(k as f64 / 4.0 * ee_max.max(1.0)))
                })
                .collect()
        };
        for (v, l) in ylabels {
            let py = y_of(v);
            c.line((x0 - 4, py), (x0, py), black, 1);
            c.text(x0 - 8 - Canvas::text_width(&l, 1), py - 4, &l, black, 1);
        }
        let pts: Vec<(i64, i64)> = profile
            .radius_arcsec
            .iter()
            .zip(values.iter())
            .map(|(r, v)| (x0 + (r / rmax * (x1 - x0) as f64) as i64, y_of(*v)))
            .collect();
        for w in pts.windows(2) {
            c.line(w[0], w[1], [31, 119, 180], 2);
        }
    }
    c
}
