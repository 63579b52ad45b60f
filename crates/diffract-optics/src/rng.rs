//! The random numbers of the phase screens: a small, documented, portable generator, so a
//! seed gives the same screen on every machine, build and worker count.
//!
//! Uniform numbers come from xoshiro256** (Blackman and Vigna 2018), its state filled from
//! the 64-bit seed by SplitMix64, as its authors recommend. Normal deviates use the
//! Box-Muller transform with the logarithm, sine and cosine of the pure-Rust `libm` crate
//! (the same bits everywhere, unlike the platform's C library). Numbers are drawn in one
//! fixed order on one thread, never split between workers.

/// A seeded stream of uniform and normal random numbers (xoshiro256** + Box-Muller).
#[derive(Clone, Debug)]
pub struct ScreenRng {
    s: [u64; 4],
    spare: Option<f64>,
}

impl ScreenRng {
    /// The stream of `seed`.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut splitmix = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        ScreenRng { s: [splitmix(), splitmix(), splitmix(), splitmix()], spare: None }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform number in (0, 1]: 53 random bits.
    fn uniform_open0(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal deviate (mean 0, variance 1).
    pub fn normal(&mut self) -> f64 {
        if let Some(v) = self.spare.take() {
            return v;
        }
        let u1 = self.uniform_open0();
        let u2 = self.uniform_open0();
        let r = (-2.0 * libm::log(u1)).sqrt();
        let a = 2.0 * std::f64::consts::PI * u2;
        self.spare = Some(r * libm::sin(a));
        r * libm::cos(a)
    }
}

/// A seed for a screen given none: from the process's hash keys (random per run) and the
/// clock. The optic keeps it and shows it, so the run can be repeated.
pub fn draw_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    h.write_u64(now);
    // Keep seeds within 2^53 so they survive a trip through JSON, TOML or a FITS card.
    h.finish() >> 11
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: an independent Python transcription of the reference algorithms
    /// (SplitMix64 from seed 0 filling xoshiro256**) gives 0x99ec5f36cb75f2b4 first; the
    /// stream is a fixed function of the seed.
    #[test]
    fn stream_is_fixed_by_the_seed() {
        let mut a = ScreenRng::new(0);
        assert_eq!(a.next_u64(), 0x99ec_5f36_cb75_f2b4);
        let mut b = ScreenRng::new(42);
        let mut c = ScreenRng::new(42);
        for _ in 0..1000 {
            assert_eq!(b.normal().to_bits(), c.normal().to_bits());
        }
    }

    /// Mean 0 and variance 1 within 5 standard errors (2e5 deviates: 0.011 and 0.016).
    #[test]
    fn normal_deviates_have_unit_variance() {
        let mut r = ScreenRng::new(7);
        let n = 200_000;
        let v: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = v.iter().sum::<f64>() / n as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.011, "mean {mean}");
        assert!((var - 1.0).abs() < 0.016, "variance {var}");
    }
}
