//! Zernike polynomials in Noll's order and normalisation (unit RMS over the unit disc).

/// The radial and azimuthal orders `(n, m)` of Noll index `j >= 1`; `m < 0` is a sine term.
///
/// Within radial order `n`, the azimuthal orders run 0, 2, 2, 4, 4, ... (n even) or
/// 1, 1, 3, 3, ... (n odd); even `j` take the cosine, odd `j` the sine.
pub fn noll_indices(j: usize) -> (usize, isize) {
    assert!(j >= 1, "Noll indices start at 1");
    let mut n = 0;
    while (n + 1) * (n + 2) / 2 < j {
        n += 1;
    }
    let k = j - n * (n + 1) / 2 - 1; // position within the row
    let m_abs = if n % 2 == 0 { 2 * k.div_ceil(2) } else { 2 * (k / 2) + 1 };
    let m = if m_abs == 0 {
        0
    } else if j % 2 == 0 {
        m_abs as isize
    } else {
        -(m_abs as isize)
    };
    (n, m)
}

fn factorial(k: usize) -> f64 {
    (1..=k).map(|v| v as f64).product()
}

/// The coefficient of `rho^(n - 2k)` in `R_n^m`.
fn radial_coefficient(n: usize, m: usize, k: usize) -> f64 {
    let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
    sign * factorial(n - k)
        / (factorial(k) * factorial((n + m) / 2 - k) * factorial((n - m) / 2 - k))
}

/// The radial polynomial `R_n^|m|(rho)`.
pub fn radial(n: usize, m: usize, rho: f64) -> f64 {
    if m > n || (n - m) % 2 == 1 {
        return 0.0;
    }
    (0..=(n - m) / 2).map(|k| radial_coefficient(n, m, k) * rho.powi((n - 2 * k) as i32)).sum()
}

/// A Noll-normalised Zernike `Z_j` with its radial coefficients computed once: the same
/// values as [`zernike_noll`], bit for bit, without the factorials at every sample.
#[derive(Clone, Debug)]
pub(crate) struct NollTerm {
    n: usize,
    m: isize,
    /// `(coefficient, power of rho)` of the radial polynomial, in `radial`'s order.
    radial: Vec<(f64, i32)>,
}

impl NollTerm {
    pub(crate) fn new(j: usize) -> Self {
        let (n, m) = noll_indices(j);
        let m_abs = m.unsigned_abs();
        let radial = (0..=(n - m_abs) / 2)
            .map(|k| (radial_coefficient(n, m_abs, k), (n - 2 * k) as i32))
            .collect();
        NollTerm { n, m, radial }
    }

    /// `Z_j(rho, theta)` for `rho <= 1`, as [`zernike_noll`].
    pub(crate) fn value(&self, rho: f64, theta: f64) -> f64 {
        let r: f64 = self.radial.iter().map(|&(coef, p)| coef * rho.powi(p)).sum();
        let norm = noll_norm(self.n, self.m);
        if self.m == 0 {
            norm * r
        } else {
            let ang = self.m.unsigned_abs() as f64 * theta;
            norm * r * if self.m > 0 { ang.cos() } else { ang.sin() }
        }
    }
}

/// Noll's normalisation of `Z_n^m`: `sqrt(n + 1)`, times `sqrt(2)` when `m != 0`.
fn noll_norm(n: usize, m: isize) -> f64 {
    if m == 0 {
        ((n + 1) as f64).sqrt()
    } else {
        2f64.sqrt() * ((n + 1) as f64).sqrt()
    }
}

/// A weighted sum of Noll Zernikes evaluated from Cartesian coordinates, without angles:
/// `rho^|m| cos(|m| theta)` and `rho^|m| sin(|m| theta)` are the real and imaginary parts of
/// `(x + i y)^|m|`, and each radial polynomial over `rho^|m|` is a polynomial in `rho^2`
/// (Horner's rule). The sum of [`zernike_noll`] values up to rounding, at a fraction of
/// their cost (no `atan2`, sines or powers per sample).
#[derive(Clone, Debug)]
pub(crate) struct ZernikeSum {
    /// By increasing `|m|`.
    terms: Vec<SumTerm>,
}

#[derive(Clone, Debug)]
struct SumTerm {
    /// `|m|`.
    m: usize,
    /// The sine (m < 0) rather than the cosine.
    sine: bool,
    /// The radial coefficients, highest power of `rho^2` first.
    poly: Vec<f64>,
    /// The Noll normalisation.
    norm: f64,
    weight: f64,
}

impl ZernikeSum {
    /// The sum of `weight * Z_j` over `(j, weight)`.
    pub(crate) fn new(weighted: impl IntoIterator<Item = (usize, f64)>) -> Self {
        let mut terms: Vec<SumTerm> = weighted
            .into_iter()
            .map(|(j, weight)| {
                let (n, m) = noll_indices(j);
                let m_abs = m.unsigned_abs();
                let norm = noll_norm(n, m);
                // Coefficient k goes with rho^(n - 2k) = rho^|m| (rho^2)^((n - |m|) / 2 - k).
                let poly = (0..=(n - m_abs) / 2).map(|k| radial_coefficient(n, m_abs, k)).collect();
                SumTerm { m: m_abs, sine: m < 0, poly, norm, weight }
            })
            .collect();
        terms.sort_by_key(|t| t.m);
        ZernikeSum { terms }
    }

    /// The sum at `(x, y)` in units of the radius (inside the unit disc), whose distance
    /// from the centre is `rho` (given, as callers compute it to test the disc).
    pub(crate) fn value(&self, x: f64, y: f64, rho: f64) -> f64 {
        let t = rho * rho;
        // (re, im) = (x + i y)^m, advanced as the terms' |m| grows.
        let (mut re, mut im, mut m) = (1.0, 0.0, 0);
        let mut sum = 0.0;
        for term in &self.terms {
            while m < term.m {
                (re, im) = (re * x - im * y, re * y + im * x);
                m += 1;
            }
            let radial = term.poly.iter().fold(0.0, |acc, &c| acc * t + c);
            let z = match (term.m, term.sine) {
                (0, _) => term.norm * radial,
                (_, true) => term.norm * radial * im,
                (_, false) => term.norm * radial * re,
            };
            sum += term.weight * z;
        }
        sum
    }

    /// [`ZernikeSum::value`] along a row of points, bit for bit: at `(x[j], y)` with
    /// distance `rho[j]`, into `out[j]`. The row goes term by term, each step a loop over
    /// all its points that the compiler vectorises; `work` holds the rows of scratch.
    #[inline(always)]
    pub(crate) fn row(&self, x: &[f64], y: f64, rho: &[f64], work: &mut RowWork, out: &mut [f64]) {
        let n = out.len();
        assert!(x.len() == n && rho.len() == n, "rows of one length");
        work.resize(n);
        let RowWork { t, re, im, radial } = work;
        for (t, &r) in t.iter_mut().zip(rho) {
            *t = r * r;
        }
        re.fill(1.0);
        im.fill(0.0);
        out.fill(0.0);
        let mut m = 0;
        for term in &self.terms {
            while m < term.m {
                for ((re, im), &x) in re.iter_mut().zip(im.iter_mut()).zip(x) {
                    (*re, *im) = (*re * x - *im * y, *re * y + *im * x);
                }
                m += 1;
            }
            radial.fill(0.0);
            for &c in &term.poly {
                for (acc, &t) in radial.iter_mut().zip(t.iter()) {
                    *acc = *acc * t + c;
                }
            }
            let (norm, weight) = (term.norm, term.weight);
            let angular = match (term.m, term.sine) {
                (0, _) => None,
                (_, true) => Some(&*im),
                (_, false) => Some(&*re),
            };
            match angular {
                None => {
                    for (o, &r) in out.iter_mut().zip(radial.iter()) {
                        *o += weight * (norm * r);
                    }
                }
                Some(a) => {
                    for ((o, &r), &a) in out.iter_mut().zip(radial.iter()).zip(a) {
                        *o += weight * (norm * r * a);
                    }
                }
            }
        }
    }
}

/// Scratch rows for [`ZernikeSum::row`].
#[derive(Default)]
pub(crate) struct RowWork {
    t: Vec<f64>,
    re: Vec<f64>,
    im: Vec<f64>,
    radial: Vec<f64>,
}

impl RowWork {
    fn resize(&mut self, n: usize) {
        for v in [&mut self.t, &mut self.re, &mut self.im, &mut self.radial] {
            v.resize(n, 0.0);
        }
    }
}

/// Noll-normalised Zernike `Z_j` at polar coordinates `(rho, theta)`, zero outside the unit
/// disc.
pub fn zernike_noll(j: usize, rho: f64, theta: f64) -> f64 {
    if rho > 1.0 {
        return 0.0;
    }
    NollTerm::new(j).value(rho, theta)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The precomputed terms give the textbook evaluation's values bit for bit: `radial`
    /// times the Noll normalisation and the angular factor.
    #[test]
    fn precomputed_terms_equal_the_direct_evaluation() {
        for j in 1..=36 {
            let term = NollTerm::new(j);
            let (n, m) = noll_indices(j);
            let m_abs = m.unsigned_abs();
            for (rho, theta) in [(0.0, 0.0), (0.3, 1.1), (0.77, -2.5), (1.0, 3.0)] {
                let r = radial(n, m_abs, rho);
                let want = match (n, m) {
                    (0, _) => 1.0,
                    (_, 0) => ((n + 1) as f64).sqrt() * r,
                    _ => {
                        let ang = m_abs as f64 * theta;
                        let norm = 2f64.sqrt() * ((n + 1) as f64).sqrt();
                        norm * r * if m > 0 { ang.cos() } else { ang.sin() }
                    }
                };
                assert_eq!(term.value(rho, theta).to_bits(), want.to_bits(), "j={j}");
            }
        }
    }

    /// Reference: the weighted sum of `zernike_noll` values (polar coordinates, atan2) at
    /// points across the unit disc, for Z1 to Z45 with weights of both signs; tolerance
    /// 1e-13 of the sum of the weights' magnitudes (a few ulps of each term).
    #[test]
    fn cartesian_sums_equal_the_polar_evaluation() {
        let weights: Vec<(usize, f64)> =
            (1..=45).map(|j| (j, if j % 3 == 0 { -0.5 } else { 1.0 / j as f64 })).collect();
        let scale: f64 = weights.iter().map(|(_, w)| w.abs()).sum();
        let sum = ZernikeSum::new(weights.iter().copied());
        for i in 0..200 {
            let (rho, theta) = ((i as f64 * 0.618).fract(), i as f64 * 0.37 - 3.0);
            let (x, y) = (rho * theta.cos(), rho * theta.sin());
            let polar = y.atan2(x);
            let want: f64 = weights.iter().map(|&(j, w)| w * zernike_noll(j, rho, polar)).sum();
            let got = sum.value(x, y, rho);
            assert!(
                (got - want).abs() <= 1e-13 * scale,
                "rho {rho} theta {theta}: {got} vs {want}"
            );
        }
        assert_eq!(ZernikeSum::new([]).value(0.3, 0.2, 0.3f64.hypot(0.2)), 0.0);
    }

    /// The row evaluation gives `value`'s sums bit for bit (Z1 to Z45, both signs, points
    /// inside and outside the unit disc).
    #[test]
    fn rows_equal_pointwise_sums() {
        let weights: Vec<(usize, f64)> =
            (1..=45).map(|j| (j, if j % 4 == 1 { -0.3 } else { 2.0 / j as f64 })).collect();
        let sum = ZernikeSum::new(weights.iter().copied());
        let x: Vec<f64> = (0..37).map(|j| -1.1 + 0.061 * j as f64).collect();
        let mut work = RowWork::default();
        for y in [-0.97, -0.2, 0.0, 0.45, 1.05] {
            let rho: Vec<f64> = x.iter().map(|&x| (x * x + y * y).sqrt()).collect();
            let mut out = vec![f64::NAN; x.len()];
            sum.row(&x, y, &rho, &mut work, &mut out);
            for j in 0..x.len() {
                assert_eq!(out[j].to_bits(), sum.value(x[j], y, rho[j]).to_bits(), "y {y} j {j}");
            }
        }
    }

    /// Reference: Noll (1976), table 1.
    #[test]
    fn noll_table() {
        let want = [
            (1, (0, 0)),
            (2, (1, 1)),
            (3, (1, -1)),
            (4, (2, 0)),
            (5, (2, -2)),
            (6, (2, 2)),
            (7, (3, -1)),
            (8, (3, 1)),
            (9, (3, -3)),
            (10, (3, 3)),
            (11, (4, 0)),
            (12, (4, 2)),
            (13, (4, -2)),
            (14, (4, 4)),
            (15, (4, -4)),
            (16, (5, 1)),
            (22, (6, 0)),
        ];
        for (j, nm) in want {
            assert_eq!(noll_indices(j), nm, "j={j}");
        }
    }

    /// Reference: unit RMS over the unit disc (Noll normalisation) and orthogonality,
    /// integrated on a 801x801 grid; tolerance 2e-3 (grid quadrature error).
    #[test]
    fn unit_rms_and_orthogonal() {
        let n = 801;
        let pts: Vec<(f64, f64)> = (0..n * n)
            .filter_map(|k| {
                let x = (k % n) as f64 / (n as f64 - 1.0) * 2.0 - 1.0;
                let y = (k / n) as f64 / (n as f64 - 1.0) * 2.0 - 1.0;
                let rho = x.hypot(y);
                (rho <= 1.0).then(|| (rho, y.atan2(x)))
            })
            .collect();
        for j in 2..=11 {
            let ms: f64 = pts.iter().map(|&(r, t)| zernike_noll(j, r, t).powi(2)).sum::<f64>()
                / pts.len() as f64;
            assert!((ms.sqrt() - 1.0).abs() < 2e-3, "Z{j} rms {}", ms.sqrt());
            let cross: f64 = pts
                .iter()
                .map(|&(r, t)| zernike_noll(j, r, t) * zernike_noll(j + 1, r, t))
                .sum::<f64>()
                / pts.len() as f64;
            assert!(cross.abs() < 2e-3, "Z{j}.Z{}: {cross}", j + 1);
        }
    }
}
