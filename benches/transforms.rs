//! Kernel benchmarks: the 2-D FFT, the MFT and the raw complex GEMM of the same shapes, on
//! every compiled backend. The GEMM group gives the rate the MFT is measured against.
#![allow(missing_docs)] // criterion's macros generate undocumented items

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use diffract::parallel::Par;
use diffract::transforms::{
    complex_matmul, Fft2d, FftBackend, FftDirection, GemmBackend, MftDirection, MftGeometry,
    MftPlan,
};
use ndarray::Array2;
use num_complex::Complex64;

fn field(n: usize) -> Array2<Complex64> {
    Array2::from_shape_fn((n, n), |(i, j)| {
        Complex64::new(((i * 7 + j * 3) % 11) as f64, ((i + j) % 5) as f64)
    })
}

fn pars() -> Vec<(&'static str, Par)> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut v = vec![("serial", Par::Seq)];
    if cores > 1 {
        v.push(("threads", Par::Threads(cores)));
    }
    v
}

fn fft(c: &mut Criterion) {
    let mut g = c.benchmark_group("fft2d");
    g.sample_size(10);
    for n in [512usize, 1024, 2048] {
        for backend in FftBackend::compiled() {
            let plan = Fft2d::<f64>::new((n, n), backend).unwrap();
            let mut a = field(n);
            for (label, par) in pars() {
                g.bench_with_input(
                    BenchmarkId::new(format!("{backend}/{label}"), n),
                    &n,
                    |b, _| {
                        b.iter(|| plan.process(&mut a, FftDirection::PupilToImage, par).unwrap())
                    },
                );
            }
        }
    }
    g.finish();
}

/// The MFT of a 1024-pixel pupil onto 644 pixels (imaging_1024's detector), and complex
/// GEMMs of the same two shapes. Throughput is in complex-product flops (8 per multiply-add)
/// for both, so the MFT's rate reads against the GEMM rate directly; the MFT computes the
/// same result with real half-size products, so it may exceed the GEMM rate.
fn mft(c: &mut Criterion) {
    let (npup, npix) = (1024usize, 644usize);
    let pupil = field(npup);
    let geometry = MftGeometry::square(npup, 80.0, npix, MftDirection::Forward);
    let plan = MftPlan::<f64>::new(&geometry).unwrap();
    // Complex multiply-adds count 8 real flops.
    let flops = 8 * (npix * npup * npup + npix * npup * npix) as u64;
    let mut g = c.benchmark_group("mft_1024_to_644");
    g.sample_size(10);
    g.throughput(Throughput::Elements(flops));
    for backend in GemmBackend::compiled() {
        for (label, par) in pars() {
            g.bench_function(format!("{backend}/{label}"), |b| {
                b.iter(|| plan.apply(pupil.view(), backend, par).unwrap())
            });
        }
    }
    g.finish();

    // The same two products as complex GEMMs: (644x1024)(1024x1024), then (644x1024)(1024x644).
    let left = Array2::from_shape_fn((npix, npup), |(i, j)| {
        Complex64::new((i % 7) as f64, (j % 3) as f64)
    });
    let right = Array2::from_shape_fn((npup, npix), |(i, j)| {
        Complex64::new((i % 5) as f64, (j % 2) as f64)
    });
    let mut t1 = Array2::<Complex64>::zeros((npix, npup));
    let mut out = Array2::<Complex64>::zeros((npix, npix));
    let mut g = c.benchmark_group("gemm_same_shapes_as_mft");
    g.sample_size(10);
    g.throughput(Throughput::Elements(flops));
    for backend in GemmBackend::compiled() {
        for (label, par) in pars() {
            g.bench_function(format!("{backend}/{label}"), |b| {
                b.iter(|| {
                    complex_matmul(backend, par, left.view(), pupil.view(), t1.view_mut()).unwrap();
                    complex_matmul(backend, par, t1.view(), right.view(), out.view_mut()).unwrap();
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, fft, mft);
criterion_main!(benches);
