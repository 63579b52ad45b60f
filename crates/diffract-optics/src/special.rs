//! Special functions: the Bessel function of the first kind of order one.

use std::f64::consts::{FRAC_PI_4, PI};

/// `J1(x)`, accurate to about 1e-13 absolute.
///
/// For `|x| <= 12` the power series `sum (-1)^k (x/2)^(2k+1) / (k! (k+1)!)`; beyond, the
/// Hankel asymptotic expansion `sqrt(2 / (pi x)) (P cos(chi) - Q sin(chi))`,
/// `chi = x - 3 pi / 4`, with terms summed while they decrease.
pub fn bessel_j1(x: f64) -> f64 {
    let ax = x.abs();
    let v = if ax <= 12.0 { series(ax) } else { asymptotic(ax) };
    if x < 0.0 {
        -v
    } else {
        v
    }
}

fn series(x: f64) -> f64 {
    let h = x / 2.0;
    let h2 = h * h;
    let mut term = h;
    let mut sum = term;
    for k in 1..60 {
        term *= -h2 / (k as f64 * (k + 1) as f64);
        sum += term;
        if term.abs() < 1e-17 * sum.abs().max(1e-300) {
            break;
        }
    }
    sum
}

fn asymptotic(x: f64) -> f64 {
    // mu = 4 nu^2 = 4 for order one. The k-th term of P and Q carries
    // prod_{j=1..k} (mu - (2j-1)^2) / (k! (8x)^k), alternating as in the Hankel expansion.
    let mu = 4.0;
    let z = 8.0 * x;
    let (mut p, mut q) = (1.0, 0.0);
    let mut term = 1.0;
    let mut last = f64::INFINITY;
    for k in 1..40 {
        let odd = (2 * k - 1) as f64;
        term *= (mu - odd * odd) / (k as f64 * z);
        if term.abs() >= last {
            break;
        }
        last = term.abs();
        match k % 4 {
            1 => q += term,
            2 => p -= term,
            3 => q -= term,
            _ => p += term,
        }
    }
    let chi = x - 3.0 * FRAC_PI_4;
    (2.0 / (PI * x)).sqrt() * (p * chi.cos() - q * chi.sin())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: the integral J1(x) = (1/pi) int_0^pi cos(t - x sin t) dt by Simpson's rule
    /// (20000 intervals), and tabulated zeros; tolerance 1e-12.
    #[test]
    fn matches_the_integral_representation() {
        let integral = |x: f64| {
            let n = 20000;
            let h = PI / n as f64;
            let f = |t: f64| (t - x * t.sin()).cos();
            let mut s = f(0.0) + f(PI);
            for i in 1..n {
                s += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
            }
            s * h / 3.0 / PI
        };
        for x in [0.0, 1e-8, 0.3, 1.0, 3.8317, 7.5, 11.9, 12.0, 12.1, 15.0, 30.0, 55.5] {
            let (a, b) = (bessel_j1(x), integral(x));
            assert!((a - b).abs() < 1e-12, "x={x}: {a} vs {b}");
            assert!((bessel_j1(-x) + a).abs() < 1e-15);
        }
        assert!(bessel_j1(3.831_705_970_207_512).abs() < 1e-13);
        assert!(bessel_j1(7.015_586_669_815_619).abs() < 1e-13);
    }
}
