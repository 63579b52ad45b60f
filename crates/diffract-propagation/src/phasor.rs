//! The phasors of pupil optics, `t exp(i phi)`, over rows of a field: sines and cosines by
//! a polynomial the compiler vectorises (the kernels of fdlibm, as in musl, after a
//! three-part Cody-Waite reduction by pi/2), computed with plain products and sums, so a
//! value is the same at every vector width and on every machine.
//!
//! Accuracy: within 2 units in the last place of the correctly rounded sine and cosine
//! (about 2.2e-16 absolute) for |phi| <= [`FAST_MAX`] (1.6e6 radians: an OPD of 0.26 m at
//! 1 um); larger or non-finite phases go to the C library, element by element.

use num_complex::Complex64;

/// Largest |phase| (radians) reduced by the three-part pi/2: `n pi/2` with |n| < 2^20, so
/// that every `n` times a 33-bit part of pi/2 is exact.
pub(crate) const FAST_MAX: f64 = 1.6e6;

/// Phases handled together: their sines and cosines are computed in one vectorised pass.
const CHUNK: usize = 64;

/// `(sin x, cos x)` for |x| <= [`FAST_MAX`] (unspecified, but finite or NaN, beyond).
// fdlibm's constants as it prints them (each the decimal expansion of a double).
#[allow(clippy::excessive_precision)]
#[inline(always)]
pub(crate) fn sin_cos(x: f64) -> (f64, f64) {
    // fdlibm's pi/2 in three 33-bit parts (and 2/pi).
    const TWO_OVER_PI: f64 = std::f64::consts::FRAC_2_PI;
    const PIO2_1: f64 = 1.57079632673412561417e+00;
    const PIO2_2: f64 = 6.07710050630396597660e-11;
    const PIO2_3: f64 = 2.02226624871116645580e-21;
    // 1.5 * 2^52: adding it rounds to an integer (ties to even), held in the low bits.
    const SHIFT: f64 = 6755399441055744.0;
    // fdlibm's __kernel_sin and __kernel_cos on [-pi/4, pi/4].
    const S1: f64 = -1.66666666666666324348e-01;
    const S2: f64 = 8.33333333332248946124e-03;
    const S3: f64 = -1.98412698298579493134e-04;
    const S4: f64 = 2.75573137070700676789e-06;
    const S5: f64 = -2.50507602534068634195e-08;
    const S6: f64 = 1.58969099521155010221e-10;
    const C1: f64 = 4.16666666666666019037e-02;
    const C2: f64 = -1.38888888888741095749e-03;
    const C3: f64 = 2.48015872894767294178e-05;
    const C4: f64 = -2.75573143513906633035e-07;
    const C5: f64 = 2.08757232129817482790e-09;
    const C6: f64 = -1.13596475577881948265e-11;

    let t = x * TWO_OVER_PI + SHIFT;
    let q = t.to_bits();
    let n = t - SHIFT;
    let r = ((x - n * PIO2_1) - n * PIO2_2) - n * PIO2_3;
    let z = r * r;
    let w = z * z;
    let rs = S2 + z * (S3 + z * S4) + z * w * (S5 + z * S6);
    let s = r + z * r * (S1 + z * rs);
    let rc = z * (C1 + z * (C2 + z * C3)) + w * w * (C4 + z * (C5 + z * C6));
    let hz = 0.5 * z;
    let one_minus = 1.0 - hz;
    let c = one_minus + (((1.0 - one_minus) - hz) + z * rc);
    // Quadrant n mod 4: (sin, cos) = (s, c), (c, -s), (-s, -c), (-c, s).
    let (sn, cs) = if q & 1 == 0 { (s, c) } else { (c, s) };
    let sin = f64::from_bits(sn.to_bits() ^ ((q & 2) << 62));
    let cos = f64::from_bits(cs.to_bits() ^ (((q + 1) & 2) << 62));
    (sin, cos)
}

/// `(sin, cos)` of each phase in `x` into `s` and `c` (at most [`CHUNK`] values).
#[inline(always)]
fn sin_cos_chunk(x: &[f64], s: &mut [f64; CHUNK], c: &mut [f64; CHUNK]) {
    let fast = x.iter().fold(true, |ok, v| ok & (v.abs() <= FAST_MAX));
    if fast {
        for ((x, s), c) in x.iter().zip(s.iter_mut()).zip(c.iter_mut()) {
            (*s, *c) = sin_cos(*x);
        }
    } else {
        for ((x, s), c) in x.iter().zip(s.iter_mut()).zip(c.iter_mut()) {
            (*s, *c) = if x.abs() <= FAST_MAX { sin_cos(*x) } else { x.sin_cos() };
        }
    }
}

/// What multiplies a row of the field.
#[derive(Clone, Copy)]
pub(crate) enum Factor<'a> {
    /// `exp(i p)` for phases `p` in radians.
    Phase(&'a [f64]),
    /// `t exp(i k opd)`, 0 where `t` is 0 (`t` = 1 when `None`).
    Opd { t: Option<&'a [f64]>, opd: &'a [f64], k: f64 },
}

diffract_parallel::vectorised! {
    /// `f *= factor` along a row: each value as `f * Complex64::from_polar(t, phase)` would
    /// give it with these sines and cosines.
    pub(crate) fn multiply_row(f: &mut [Complex64], factor: Factor<'_>) {
        let (mut s, mut c) = ([0.0; CHUNK], [0.0; CHUNK]);
        let mut x = [0.0; CHUNK];
        match factor {
            Factor::Phase(p) => {
                for (f, p) in f.chunks_mut(CHUNK).zip(p.chunks(CHUNK)) {
                    sin_cos_chunk(p, &mut s, &mut c);
                    for ((f, s), c) in f.iter_mut().zip(&s).zip(&c) {
                        *f *= Complex64::new(*c, *s);
                    }
                }
            }
            Factor::Opd { t: None, opd, k } => {
                for (f, o) in f.chunks_mut(CHUNK).zip(opd.chunks(CHUNK)) {
                    for (x, o) in x.iter_mut().zip(o) {
                        *x = k * o;
                    }
                    sin_cos_chunk(&x[..o.len()], &mut s, &mut c);
                    for ((f, s), c) in f.iter_mut().zip(&s).zip(&c) {
                        *f *= Complex64::new(*c, *s);
                    }
                }
            }
            Factor::Opd { t: Some(t), opd, k } => {
                // Only the span where t is not 0 needs sines; the rest of the row is 0.
                let zero = Complex64::new(0.0, 0.0);
                let Some(first) = t.iter().position(|v| *v != 0.0) else {
                    f.fill(zero);
                    return;
                };
                let last = t.len() - t.iter().rev().position(|v| *v != 0.0).unwrap_or(0);
                f[..first].fill(zero);
                f[last..].fill(zero);
                let (f, t, opd) = (&mut f[first..last], &t[first..last], &opd[first..last]);
                for ((f, t), o) in f.chunks_mut(CHUNK).zip(t.chunks(CHUNK)).zip(opd.chunks(CHUNK)) {
                    for (x, o) in x.iter_mut().zip(o) {
                        *x = k * o;
                    }
                    sin_cos_chunk(&x[..o.len()], &mut s, &mut c);
                    for (((f, t), s), c) in f.iter_mut().zip(t).zip(&s).zip(&c) {
                        let product = *f * Complex64::new(t * c, t * s);
                        *f = if *t == 0.0 { zero } else { product };
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Units in the last place between `a` and the reference `b`, measured at the scale of
    /// 1 for values below 1 in magnitude (the phasor's scale).
    fn ulps(a: f64, b: f64) -> f64 {
        (a - b).abs() / (f64::EPSILON * b.abs().max(0.5))
    }

    /// Reference: the C library's sine and cosine; at most 2 units in the last place (at
    /// the scale of 1) from 0 to FAST_MAX, over a dense sweep and near multiples of pi/2.
    #[test]
    fn sines_and_cosines_match_the_c_library() {
        let mut worst: f64 = 0.0;
        let mut check = |x: f64| {
            let (s, c) = sin_cos(x);
            let (ws, wc) = x.sin_cos();
            worst = worst.max(ulps(s, ws)).max(ulps(c, wc));
        };
        for i in 0..200_000 {
            let x = (i as f64 - 100_000.0) * 1.234567e-4;
            check(x);
            check(x * 1e3);
            check(x * 64.0);
        }
        for n in -2000..2000 {
            let base = n as f64 * std::f64::consts::FRAC_PI_2;
            for d in [-1e-9, -1e-15, 0.0, 1e-15, 1e-9] {
                check(base + d);
            }
        }
        for x in [0.0, -0.0, 1e-300, FAST_MAX, -FAST_MAX, 1e5 + 0.3] {
            check(x);
        }
        assert!(worst <= 2.0, "{worst} ulp");
        assert_eq!(sin_cos(0.0), (0.0, 1.0));
    }

    /// A row is multiplied as `f * from_polar(t, k opd)` with these sines; large and
    /// non-finite phases fall back to the C library; t = 0 gives 0 even for a NaN OPD.
    #[test]
    fn rows_are_multiplied_by_their_phasors() {
        let n = 150;
        let t: Vec<f64> = (0..n)
            .map(|j| if (20..130).contains(&j) { 0.5 + j as f64 * 1e-3 } else { 0.0 })
            .collect();
        let mut opd: Vec<f64> = (0..n).map(|j| (j as f64 - 70.0) * 3.1e-8).collect();
        opd[5] = f64::NAN;
        opd[60] = 1.0; // k opd = 6.3e6: beyond the fast range
        let k = 2.0 * std::f64::consts::PI / 1e-6;
        let f0: Vec<Complex64> = (0..n).map(|j| Complex64::new(1.0, j as f64 * 0.01)).collect();
        let mut f = f0.clone();
        multiply_row(&mut f, Factor::Opd { t: Some(&t), opd: &opd, k });
        for j in 0..n {
            let want = if t[j] == 0.0 {
                Complex64::new(0.0, 0.0)
            } else {
                let (s, c) = if j == 60 { (k * opd[j]).sin_cos() } else { sin_cos(k * opd[j]) };
                f0[j] * Complex64::new(t[j] * c, t[j] * s)
            };
            assert_eq!(f[j], want, "{j}");
        }
        let phase: Vec<f64> = opd.iter().map(|o| k * o).collect();
        let mut g = f0.clone();
        multiply_row(&mut g, Factor::Phase(&phase));
        let mut h = f0.clone();
        multiply_row(&mut h, Factor::Opd { t: None, opd: &opd, k });
        assert_eq!(g[3], f0[3] * Complex64::new(sin_cos(phase[3]).1, sin_cos(phase[3]).0));
        for j in 0..n {
            assert!(g[j].re.to_bits() == h[j].re.to_bits() || g[j].re.is_nan(), "{j}");
        }
    }
}
