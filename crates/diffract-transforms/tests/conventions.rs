//! Transform conventions against independent references: the unitary DFT, Parseval's
//! theorem and POPPY's FFT/MFT relation (poppy-notes section 2.3). Every test runs on every
//! compiled GEMM and FFT backend.

use diffract_parallel::Par;
use diffract_transforms::{
    Fft2d, FftBackend, FftDirection, GemmBackend, MftCache, MftDirection, MftGeometry, MftPlan,
};
use ndarray::Array2;
use num_complex::Complex64;

/// Deterministic pseudo-random complex array (xorshift64*, fixed seed).
fn random_field(ny: usize, nx: usize, seed: u64) -> Array2<Complex64> {
    let mut s = seed.max(1);
    let mut next = move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        (s.wrapping_mul(0x2545F4914F6CDD1D) >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    Array2::from_shape_fn((ny, nx), |_| Complex64::new(next(), next()))
}

fn max_abs_diff(a: &Array2<Complex64>, b: &Array2<Complex64>) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).norm()).fold(0.0, f64::max)
}

fn energy(a: &Array2<Complex64>) -> f64 {
    a.iter().map(|z| z.norm_sqr()).sum()
}

/// Reference: POPPY's relation between its pupil-to-image FFT and an FFT-style MFT (the
/// adjustable MFT with a half-pixel offset): equal up to the checkerboard
/// (-1)^((kx - N/2) + (ky - N/2)) for even N. Tolerance 1e-10 of the largest value, as
/// POPPY's test_MFT_FFT_equivalence.
#[test]
fn mft_equals_fft_on_the_same_grid() {
    for (n, fb) in
        [64usize, 128].into_iter().flat_map(|n| FftBackend::compiled().map(move |b| (n, b)))
    {
        let field = random_field(n, n, 7 + n as u64);
        let mut fft = field.clone();
        Fft2d::new((n, n), fb)
            .unwrap()
            .process(&mut fft, FftDirection::PupilToImage, Par::Seq)
            .unwrap();
        let half = (n / 2) as isize;
        let checker = Array2::from_shape_fn((n, n), |(y, x)| {
            if ((x as isize - half) + (y as isize - half)).rem_euclid(2) == 0 {
                1.0
            } else {
                -1.0
            }
        });
        let fft_checkered = &fft * &checker.mapv(|c| Complex64::new(c, 0.0));
        let scale = fft.iter().map(|z| z.norm()).fold(0.0, f64::max);
        let geometry = MftGeometry {
            offset: (0.5, 0.5),
            ..MftGeometry::square(n, n as f64, n, MftDirection::Forward)
        };
        for backend in GemmBackend::compiled() {
            let mft = MftPlan::<f64>::new(&geometry)
                .unwrap()
                .apply(field.view(), backend, Par::Seq)
                .unwrap();
            let err = max_abs_diff(&mft, &fft_checkered) / scale;
            assert!(err < 1e-10, "n={n} {fb} {backend}: relative difference {err:e}");
        }
    }
}

/// Reference: for odd sizes the centred FFT and MFT differ only by a phase ramp, so their
/// intensities agree; tolerance 1e-10 of the peak intensity.
#[test]
fn mft_and_fft_intensities_agree_for_odd_sizes() {
    let n = 63;
    let field = random_field(n, n, 3);
    for fb in FftBackend::compiled() {
        let mut fft = field.clone();
        Fft2d::new((n, n), fb)
            .unwrap()
            .process(&mut fft, FftDirection::PupilToImage, Par::Seq)
            .unwrap();
        let geometry = MftGeometry::square(n, n as f64, n, MftDirection::Forward);
        for backend in GemmBackend::compiled() {
            let mft = MftPlan::<f64>::new(&geometry)
                .unwrap()
                .apply(field.view(), backend, Par::Seq)
                .unwrap();
            let peak = fft.iter().map(|z| z.norm_sqr()).fold(0.0, f64::max);
            let err = fft
                .iter()
                .zip(&mft)
                .map(|(a, b)| (a.norm_sqr() - b.norm_sqr()).abs())
                .fold(0.0, f64::max);
            assert!(err / peak < 1e-10, "{fb} {backend}: {err:e}");
        }
    }
}

/// Reference: the input itself. Pupil to image and back is the identity (unitary
/// transforms), to 1e-12, for even and odd sizes and both parallel modes.
#[test]
fn fft_forward_then_inverse_returns_the_input() {
    for (ny, nx) in [(64, 64), (45, 45), (32, 48)] {
        let field = random_field(ny, nx, 11);
        for fb in FftBackend::compiled() {
            let plan = Fft2d::new((ny, nx), fb).unwrap();
            for par in [Par::Seq, Par::Threads(2)] {
                let mut a = field.clone();
                plan.process(&mut a, FftDirection::PupilToImage, par).unwrap();
                assert!((energy(&a) / energy(&field) - 1.0).abs() < 1e-12);
                plan.process(&mut a, FftDirection::ImageToPupil, par).unwrap();
                let err = max_abs_diff(&a, &field);
                assert!(err < 1e-12, "{ny}x{nx} {fb} {par:?}: {err:e}");
            }
        }
    }
}

/// Reference: Parseval's theorem. When the output covers the whole field (nlamD = npup)
/// at twice the Nyquist density, the MFT conserves energy exactly: tolerance 1e-12.
#[test]
fn mft_conserves_energy_when_the_output_covers_the_field() {
    let n = 48;
    let field = random_field(n, n, 5);
    let geometry = MftGeometry::square(n, n as f64, 2 * n, MftDirection::Forward);
    for backend in GemmBackend::compiled() {
        let out =
            MftPlan::<f64>::new(&geometry).unwrap().apply(field.view(), backend, Par::Seq).unwrap();
        let ratio = energy(&out) / energy(&field);
        assert!((ratio - 1.0).abs() < 1e-12, "{backend}: ratio {ratio}");
    }
}

/// Reference: the input. With nlamD = npup = npix the MFT is the unitary DFT, so the inverse
/// MFT undoes it, to 1e-12, also with an offset and for a rectangular array.
#[test]
fn inverse_mft_undoes_the_forward_mft() {
    for (ny, nx, offset) in [(32, 32, (0.0, 0.0)), (24, 40, (1.5, -2.0))] {
        let field = random_field(ny, nx, 9);
        let fwd = MftGeometry {
            input: (ny, nx),
            nlamd: (ny as f64, nx as f64),
            output: (ny, nx),
            offset,
            direction: MftDirection::Forward,
        };
        let inv = MftGeometry { direction: MftDirection::Inverse, ..fwd };
        for backend in GemmBackend::compiled() {
            let image =
                MftPlan::<f64>::new(&fwd).unwrap().apply(field.view(), backend, Par::Seq).unwrap();
            let back = MftPlan::<f64>::new(&inv)
                .unwrap()
                .apply(image.view(), backend, Par::Threads(2))
                .unwrap();
            let err = max_abs_diff(&back, &field);
            assert!(err < 1e-12, "{ny}x{nx} {backend}: {err:e}");
        }
    }
}

/// Reference: the f64 transform; an f32 plan agrees to 1e-5 of the peak.
#[test]
fn single_precision_mft_tracks_double_precision() {
    let n = 64;
    let field = random_field(n, n, 13);
    let field32 = field.mapv(|z| num_complex::Complex32::new(z.re as f32, z.im as f32));
    let geometry = MftGeometry::square(n, 20.0, 50, MftDirection::Forward);
    for backend in GemmBackend::compiled() {
        let a =
            MftPlan::<f64>::new(&geometry).unwrap().apply(field.view(), backend, Par::Seq).unwrap();
        let b = MftPlan::<f32>::new(&geometry)
            .unwrap()
            .apply(field32.view(), backend, Par::Seq)
            .unwrap();
        let peak = a.iter().map(|z| z.norm()).fold(0.0, f64::max);
        let err = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - Complex64::new(y.re as f64, y.im as f64)).norm())
            .fold(0.0, f64::max);
        assert!(err / peak < 1e-5, "{backend}: {err:e}");
    }
}

/// Reference: the shapes of `symmetric`'s steps 2 and 4 counted by hand for imaging_1024's
/// MFT (1024 -> 644, halves 512 and 322); an offset plan computes the textbook products.
#[test]
fn products_count_what_the_plan_computes() {
    let g = MftGeometry::square(1024, 80.0, 644, MftDirection::Forward);
    let p = MftPlan::<f32>::new(&g).unwrap().products();
    assert!(!p.complex);
    assert_eq!(
        p.shapes,
        vec![[322, 512, 2048], [322, 512, 2048], [1288, 512, 322], [1288, 512, 322]]
    );
    assert_eq!(p.flops(), 8 * 322 * 512 * 1024 + 16 * 322 * 512 * 322);
    assert_eq!(g.complex_flops(), 8 * (644 * 1024 * 1024 + 644 * 1024 * 644));
    let shifted = MftGeometry { offset: (0.5, 0.0), ..g };
    let p = MftPlan::<f64>::new(&shifted).unwrap().products();
    assert!(p.complex);
    assert_eq!(p.flops(), shifted.complex_flops());
}

#[test]
fn the_cache_returns_one_plan_per_geometry() {
    let cache = MftCache::<f64>::new();
    let g = MftGeometry::square(16, 4.0, 8, MftDirection::Forward);
    let a = cache.get(&g).unwrap();
    let b = cache.get(&g).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    cache.get(&MftGeometry { offset: (0.5, 0.0), ..g }).unwrap();
    assert_eq!(cache.len(), 2);
}

#[test]
fn bad_geometry_and_shapes_are_errors_not_panics() {
    assert!(MftPlan::<f64>::new(&MftGeometry::square(0, 4.0, 8, MftDirection::Forward)).is_err());
    assert!(
        MftPlan::<f64>::new(&MftGeometry::square(8, f64::NAN, 8, MftDirection::Forward)).is_err()
    );
    let plan = MftPlan::<f64>::new(&MftGeometry::square(8, 4.0, 8, MftDirection::Forward)).unwrap();
    assert!(plan.apply(Array2::zeros((7, 8)).view(), GemmBackend::Gemm, Par::Seq).is_err());
    let fft = Fft2d::<f64>::new((8, 8), FftBackend::RustFft).unwrap();
    assert!(fft.process(&mut Array2::zeros((4, 8)), FftDirection::PupilToImage, Par::Seq).is_err());
}

/// Reference: the MFT written out as a double sum, F[v,u] = norm sum_yx exp(+-2 pi i (Y V +
/// X U)) A[y,x], on odd and even, square and rectangular shapes, both directions, with and
/// without an offset (the symmetric and the general plans); tolerance 1e-12 of the largest
/// value.
#[test]
fn mft_matches_the_double_sum() {
    let cases = [
        ((7, 10), (5, 6), (0.0, 0.0)),
        ((8, 8), (9, 4), (0.0, 0.0)),
        ((6, 9), (7, 7), (0.5, -1.25)),
    ];
    for (input, output, offset) in cases {
        for direction in [MftDirection::Forward, MftDirection::Inverse] {
            let g = MftGeometry { input, nlamd: (3.5, 4.25), output, offset, direction };
            let a = random_field(input.0, input.1, 17);
            let (npy, npx) = (input.0 as f64, input.1 as f64);
            let (nqy, nqx) = (output.0 as f64, output.1 as f64);
            let (sign, dx, dy, du, dv) = match direction {
                MftDirection::Forward => (1.0, 1.0 / npx, 1.0 / npy, 4.25 / nqx, 3.5 / nqy),
                MftDirection::Inverse => (-1.0, 4.25 / npx, 3.5 / npy, 1.0 / nqx, 1.0 / nqy),
            };
            let c = |i: usize, n: f64, off: f64, step: f64| (i as f64 - n / 2.0 - off + 0.5) * step;
            let norm = (3.5f64 * 4.25 / (npy * npx * nqy * nqx)).sqrt();
            let want = Array2::from_shape_fn(output, |(v, u)| {
                let mut acc = Complex64::new(0.0, 0.0);
                for y in 0..input.0 {
                    for x in 0..input.1 {
                        let ph = sign
                            * 2.0
                            * std::f64::consts::PI
                            * (c(y, npy, offset.0, dy) * c(v, nqy, offset.0, dv)
                                + c(x, npx, offset.1, dx) * c(u, nqx, offset.1, du));
                        acc += a[[y, x]] * Complex64::from_polar(1.0, ph);
                    }
                }
                acc * norm
            });
            let scale = want.iter().map(|z| z.norm()).fold(0.0, f64::max);
            for backend in GemmBackend::compiled() {
                let got =
                    MftPlan::<f64>::new(&g).unwrap().apply(a.view(), backend, Par::Seq).unwrap();
                let err = max_abs_diff(&got, &want) / scale;
                assert!(
                    err < 1e-12,
                    "{input:?}->{output:?} {offset:?} {direction:?} {backend}: {err:e}"
                );
            }
        }
    }
}

/// Threads split the symmetric MFT by blocks of output rows: every thread count gives the
/// serial result bit for bit (each block's sums are the whole product's), in both
/// precisions, for even and odd sizes and a non-square output. OpenBLAS gets the whole
/// products and the threads instead, and its kernels round differently with other thread
/// counts: within 1e-13 (f64) and 1e-5 (f32) of the largest serial value there.
#[test]
fn thread_counts_split_the_mft_without_changing_it() {
    for (n, m) in [(256usize, 128usize), (255, 97), (64, 200), (512, 64)] {
        let field = random_field(n, n, n as u64 + 3);
        let mut geometry = MftGeometry::square(n, 12.5, m, MftDirection::Forward);
        geometry.output.1 = m + 6;
        geometry.nlamd.1 = 13.0;
        let plan = MftPlan::<f64>::new(&geometry).unwrap();
        let field32 = field.mapv(|z| num_complex::Complex32::new(z.re as f32, z.im as f32));
        let plan32 = MftPlan::<f32>::new(&geometry).unwrap();
        let widen = |a: &Array2<num_complex::Complex32>| {
            a.mapv(|z| Complex64::new(z.re.into(), z.im.into()))
        };
        for backend in GemmBackend::compiled() {
            let serial = plan.apply(field.view(), backend, Par::Seq).unwrap();
            let serial32 = plan32.apply(field32.view(), backend, Par::Seq).unwrap();
            let scale = serial.iter().map(|z| z.norm()).fold(0.0, f64::max);
            for threads in [2, 3, 8] {
                let par = Par::Threads(threads);
                let split = plan.apply(field.view(), backend, par).unwrap();
                let split32 = plan32.apply(field32.view(), backend, par).unwrap();
                if backend == GemmBackend::Blas {
                    let err = max_abs_diff(&split, &serial) / scale;
                    assert!(err < 1e-13, "{n} {m} {backend} {par:?}: {err:e}");
                    let err = max_abs_diff(&widen(&split32), &widen(&serial32)) / scale;
                    assert!(err < 1e-5, "f32 {n} {m} {backend} {par:?}: {err:e}");
                } else {
                    assert!(
                        split.iter().zip(&serial).all(|(a, b)| a == b),
                        "{n} {m} {backend} {par:?}"
                    );
                    assert!(split32 == serial32, "f32 {n} {m} {backend} {par:?}");
                }
            }
        }
    }
}

/// Reference: the whole transform of the input zero-filled outside a window (linearity).
/// Windows on either side of the middle, across it and at the edges, odd and even sizes,
/// with and without an offset (the symmetric and the general plans), both precisions;
/// tolerance 1e-12 of the largest value in f64, 1e-5 in f32. A window that does not fit is
/// an error.
#[test]
fn a_window_transforms_as_the_zero_filled_input() {
    let cases = [
        ((64, 64), (40, 48), (0.0, 0.0), (3, 50), (20, 11)),
        ((63, 70), (33, 31), (0.0, 0.0), (20, 0), (43, 35)),
        ((64, 64), (40, 40), (1.5, -2.0), (0, 30), (64, 34)),
        ((31, 31), (16, 16), (0.0, 0.0), (15, 15), (1, 1)),
    ];
    for (input, output, offset, origin, size) in cases {
        let g = MftGeometry {
            input,
            nlamd: (9.5, 11.0),
            output,
            offset,
            direction: MftDirection::Forward,
        };
        let window = random_field(size.0, size.1, 5);
        let mut full = Array2::zeros(input);
        full.slice_mut(ndarray::s![origin.0..origin.0 + size.0, origin.1..origin.1 + size.1])
            .assign(&window);
        let plan = MftPlan::<f64>::new(&g).unwrap();
        let plan32 = MftPlan::<f32>::new(&g).unwrap();
        let c32 = |a: &Array2<Complex64>| {
            a.mapv(|z| num_complex::Complex32::new(z.re as f32, z.im as f32))
        };
        for backend in GemmBackend::compiled() {
            let want = plan.apply(full.view(), backend, Par::Seq).unwrap();
            let scale = want.iter().map(|z| z.norm()).fold(0.0, f64::max);
            let mut got = Array2::zeros(output);
            plan.apply_window(window.view(), origin, got.view_mut(), backend, Par::Seq).unwrap();
            let err = max_abs_diff(&got, &want) / scale;
            assert!(err < 1e-12, "{input:?} {origin:?} {size:?} {backend}: {err:e}");
            let mut got32 = Array2::zeros(output);
            plan32
                .apply_window(c32(&window).view(), origin, got32.view_mut(), backend, Par::Seq)
                .unwrap();
            let got32 = got32.mapv(|z| Complex64::new(z.re.into(), z.im.into()));
            let err = max_abs_diff(&got32, &want) / scale;
            assert!(err < 1e-5, "f32 {input:?} {origin:?} {size:?} {backend}: {err:e}");
        }
        let mut out = Array2::zeros(output);
        let past = (input.0 - size.0 + 1, origin.1);
        assert!(plan
            .apply_window(window.view(), past, out.view_mut(), GemmBackend::Gemm, Par::Seq)
            .is_err());
    }
}
