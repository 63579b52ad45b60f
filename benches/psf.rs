//! Whole-PSF benchmarks on the benchmark scenes (benches/scenes), on every compiled GEMM
//! backend, planning included (as a `diffract psf` run does).
#![allow(missing_docs)] // criterion's macros generate undocumented items

use criterion::{criterion_group, criterion_main, Criterion};
use diffract::io::Scene;
use diffract::optics::{CircularAperture, ContinuousDeformableMirror};
use diffract::propagation::{ComputeOptions, Detector, OpticalSystem, Source};
use diffract::transforms::GemmBackend;
use std::path::Path;

// The allocator the `diffract` command uses (large arrays in huge pages).
#[global_allocator]
static ALLOCATOR: diffract::parallel::LargePages = diffract::parallel::LargePages;

/// Benchmark scenes the current propagation supports (pupil planes only).
const SCENES: &[&str] = &["imaging_1024", "segmented_1024"];

fn psf(c: &mut Criterion) {
    let mut g = c.benchmark_group("psf");
    g.sample_size(10);
    for name in SCENES {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../benches/scenes/{name}.toml"));
        let scene = Scene::from_file(&path).unwrap();
        for gemm in GemmBackend::compiled() {
            for (label, workers) in [("serial", Some(1)), ("auto", None)] {
                let mut opts = ComputeOptions::default().with_gemm(gemm);
                opts.workers = workers;
                g.bench_function(format!("{name}/{gemm}/{label}"), |b| {
                    b.iter(|| scene.system.plan().unwrap().compute(&scene.source, &opts).unwrap())
                });
            }
        }
    }
    g.finish();
}

/// Planning alone: sampling the scenes' pupil optics (`diffract psf`'s `plan` phase).
fn plan(c: &mut Criterion) {
    let mut g = c.benchmark_group("plan");
    for name in SCENES {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../benches/scenes/{name}.toml"));
        let scene = Scene::from_file(&path).unwrap();
        g.bench_function(*name, |b| b.iter(|| scene.system.plan().unwrap()));
    }
    g.finish();
}

/// The control loop of `examples/dm_loop.rs`: one actuator update of a 32 x 32 DM behind a
/// circular aperture (256-pixel pupil, 1 um, 64 detector pixels at oversample 2), then the
/// PSF, on one plan.
fn dm_loop(c: &mut Criterion) {
    let mut dm = ContinuousDeformableMirror::new(32, 32, None, 1.0).unwrap();
    let mut system = OpticalSystem::new("dm loop", 256, 2);
    system.add_pupil(CircularAperture::new(1.0).unwrap());
    system.add_pupil(dm.clone());
    system.set_detector(Detector::with_fov_pixels(0.05, 64).unwrap());
    let source = Source::monochromatic(1.0e-6).unwrap();
    let mut plan = system.plan().unwrap();
    let mut g = c.benchmark_group("dm_loop");
    for (label, opts) in
        [("auto", ComputeOptions::default()), ("serial", ComputeOptions::default().with_cores(1))]
    {
        let mut k = 0usize;
        g.bench_function(format!("update_and_psf/{label}"), |b| {
            b.iter(|| {
                k = (k + 37) % 1024;
                dm.set_actuator(k / 32, k % 32, (k as f64 - 512.0) * 1e-10).unwrap();
                plan.update_dm(1, &dm).unwrap();
                plan.compute(&source, &opts).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, psf, plan, dm_loop);
criterion_main!(benches);
