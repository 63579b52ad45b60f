//! Gaussian pointing jitter applied to a computed PSF (POPPY's `jitter='gaussian'`).

use ndarray::{Array2, Axis};

/// The index that `i` (possibly outside `0..n`) reflects to, mirroring about the array
/// edges (`d c b a | a b c d | d c b a`, scipy's "reflect").
fn reflect(mut i: i64, n: i64) -> usize {
    let period = 2 * n;
    i = i.rem_euclid(period);
    (if i < n { i } else { period - 1 - i }) as usize
}

/// Convolves `image` with a normalised Gaussian of `sigma_pixels` along both axes, as
/// `scipy.ndimage.gaussian_filter` does (reflecting edges, kernel truncated at 4 sigma).
pub fn gaussian_blur(image: &Array2<f64>, sigma_pixels: f64) -> Array2<f64> {
    if sigma_pixels.is_nan() || sigma_pixels <= 0.0 {
        return image.clone();
    }
    let radius = (4.0 * sigma_pixels + 0.5) as i64;
    let mut kernel: Vec<f64> =
        (-radius..=radius).map(|k| (-0.5 * (k as f64 / sigma_pixels).powi(2)).exp()).collect();
    let total: f64 = kernel.iter().sum();
    kernel.iter_mut().for_each(|w| *w /= total);
    let mut out = image.clone();
    for axis in [Axis(0), Axis(1)] {
        let src = out.clone();
        for (mut lane_out, lane_in) in out.lanes_mut(axis).into_iter().zip(src.lanes(axis)) {
            let n = lane_in.len() as i64;
            for i in 0..n {
                lane_out[i as usize] = kernel
                    .iter()
                    .enumerate()
                    .map(|(k, w)| w * lane_in[reflect(i + k as i64 - radius, n)])
                    .sum();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: a point blurred by a Gaussian of sigma s has second moment s^2 per axis and
    /// keeps its total (reflecting edges lose nothing); tolerance 1e-12 and 1e-3.
    #[test]
    fn a_point_becomes_a_normalised_gaussian() {
        let mut img = Array2::zeros((41, 41));
        img[[20, 20]] = 1.0;
        let b = gaussian_blur(&img, 3.0);
        assert!((b.sum() - 1.0).abs() < 1e-12);
        let var: f64 = b.indexed_iter().map(|((i, _), v)| v * (i as f64 - 20.0).powi(2)).sum();
        assert!((var / 9.0 - 1.0).abs() < 1e-3, "{var}");
        let mut edge = Array2::zeros((9, 9));
        edge[[0, 0]] = 1.0;
        assert!((gaussian_blur(&edge, 2.0).sum() - 1.0).abs() < 1e-12);
    }
}
