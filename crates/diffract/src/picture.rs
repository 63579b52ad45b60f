//! PNG pictures of PSFs: a logarithmic stretch over a fixed number of decades below the
//! peak, through a dark-to-bright colour map.

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
    let err = |m: String| PictureError::Write { path: path.to_path_buf(), message: m };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let file = std::fs::File::create(&tmp).map_err(|e| err(e.to_string()))?;
        let mut enc = png::Encoder::new(BufWriter::new(file), w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| err(e.to_string()))?;
        writer.write_image_data(&big).map_err(|e| err(e.to_string()))?;
        writer.finish().map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
