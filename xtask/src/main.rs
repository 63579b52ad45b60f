//! Developer tasks: `cargo xtask parity` compares every reference scene in tests/data with
//! the PSF POPPY computed for it and prints the relative L2 error and the time of each.

use diffract::io::{read_image, Scene};
use diffract::propagation::ComputeOptions;
use diffract::transforms::GemmBackend;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: cargo xtask parity [--gemm gemm|matrixmultiply]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("parity") => {
            let gemm = match args.get(1).map(String::as_str) {
                None => GemmBackend::Gemm,
                Some("--gemm") => match args.get(2).map(|s| s.parse::<GemmBackend>()) {
                    Some(Ok(g)) => g,
                    Some(Err(e)) => return fail(&e.to_string()),
                    None => return fail(USAGE),
                },
                Some(_) => return fail(USAGE),
            };
            parity(gemm)
        }
        _ => fail(USAGE),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("{message}");
    ExitCode::from(2)
}

fn cases(dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut out: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(dir.join("cases"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let stem = p.file_stem().unwrap_or_default().to_string_lossy().into_owned();
            (p, dir.join("expected").join(format!("{stem}.fits")))
        })
        .collect();
    out.sort();
    out
}

fn parity(gemm: GemmBackend) -> ExitCode {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data");
    let mut worst: f64 = 0.0;
    println!("| case | shape | rel L2 vs POPPY | seconds |");
    println!("| --- | --- | --- | --- |");
    for (case, expected) in cases(&data).into_iter().chain(cases(&data.join("more"))) {
        let name = case.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let scene = match Scene::from_file(&case) {
            Ok(s) => s,
            Err(e) => {
                println!("| {name} | - | not computed: {} | - |", e.message);
                continue;
            }
        };
        let start = Instant::now();
        let result = scene.system.plan().and_then(|p| {
            p.compute(&scene.source, &ComputeOptions { gemm, workers: None, ..Default::default() })
        });
        let seconds = start.elapsed().as_secs_f64();
        let (psf, reference) = match (result, read_image(&expected, 0)) {
            (Ok(p), Ok(r)) => (p, r.data),
            (Err(e), _) => return fail(&format!("{name}: {e}")),
            (_, Err(e)) => return fail(&format!("{name}: {e}")),
        };
        if psf.image.dim() != reference.dim() {
            println!(
                "| {name} | {:?} vs {:?} | shape differs | - |",
                psf.image.dim(),
                reference.dim()
            );
            worst = f64::INFINITY;
            continue;
        }
        let diff: f64 = psf.image.iter().zip(&reference).map(|(a, b)| (a - b).powi(2)).sum();
        let norm: f64 = reference.iter().map(|b| b * b).sum();
        let err = (diff / norm).sqrt();
        worst = worst.max(err);
        let (ny, nx) = psf.image.dim();
        println!("| {name} | {ny}x{nx} | {err:.2e} | {seconds:.3} |");
    }
    println!("\nworst relative L2 error: {worst:.2e} (tolerance 1e-4), GEMM backend {gemm}");
    if worst <= 1e-4 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
