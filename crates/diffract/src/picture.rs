//! PNG pictures: PSFs with a logarithmic stretch over a fixed number of decades below the
//! peak through a dark-to-bright colour map, and a small [`Canvas`] for plots.

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

/// Writes an RGB buffer as PNG through a temporary file renamed into place.
fn write_rgb_png(
    path: &Path,
    w: usize,
    h: usize,
    rgb: &[u8],
    overwrite: bool,
) -> Result<(), PictureError> {
    if path.exists() && !overwrite {
        return Err(PictureError::Exists(path.to_path_buf()));
    }
    let err = |m: String| PictureError::Write { path: path.to_path_buf(), message: m };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let file = std::fs::File::create(&tmp).map_err(|e| err(e.to_string()))?;
        let mut enc = png::Encoder::new(BufWriter::new(file), w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| err(e.to_string()))?;
        writer.write_image_data(rgb).map_err(|e| err(e.to_string()))?;
        writer.finish().map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
