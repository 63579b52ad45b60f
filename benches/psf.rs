//! Whole-PSF benchmarks on the benchmark scenes (benches/scenes), on every compiled GEMM
//! backend, planning included (as a `diffract psf` run does).
#![allow(missing_docs)] // criterion's macros generate undocumented items

use criterion::{criterion_group, criterion_main, Criterion};
use diffract::io::Scene;
use diffract::propagation::ComputeOptions;
use diffract::transforms::GemmBackend;
use std::path::Path;

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

criterion_group!(benches, psf);
criterion_main!(benches);
