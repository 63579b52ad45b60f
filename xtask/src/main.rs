//! Developer tasks:
//!
//! - `cargo xtask parity`: every reference scene in tests/data against the PSF POPPY
//!   computed for it: relative L2 error and time of each.
//! - `cargo xtask bench-matrix [--repeat N] [--max-oversample N] [--out DIR]`: every compiled
//!   backend x parallel mode x oversampling on the benchmark scenes; writes a markdown table
//!   and a PNG plot (default DIR: target/bench-matrix).
//! - `cargo xtask test [--python-only]`: every test suite, the README's test command: the
//!   workspace's cargo tests, then the Python package built into a virtual environment and
//!   its pytest suite (module `test`).
//! - `cargo xtask gallery`: pictures of every optic kind and every example scene's PSF in
//!   docs/gallery, listed in docs/gallery.md.
//! - `cargo xtask peers --python PATH [--repeat N] [--no-write]`: diffract beside POPPY 1.1.2
//!   and HCIPy 0.7 (from the Python at PATH) on the benchmark scenes and the DM loop, by
//!   benches/peers/peers.py: times, peak memory, agreement with POPPY; writes the table
//!   into docs/performance.md ("Side by side"; module `peers`).
//! - `cargo xtask scaling --python PATH [--no-write] [ARGS]`: time and peak memory of
//!   diffract and POPPY 1.1.2 against the pupil size and the number of wavelengths, by
//!   benches/peers/scaling.py (ARGS go to it); writes the table with the fitted slopes into
//!   docs/performance.md ("Scaling") and the plots into docs/img (module `scaling`).
//! - `cargo xtask limits [--repeat N] [--no-write]`: imaging_1024's MFT against its own
//!   matrix products on the same GEMM backend, imaging_1024's fixed costs (start, parsing,
//!   sampling, writing) against the whole run, and lyot_512's FFT path against the FFT
//!   library's 2-D transform; writes the tables into docs/performance.md ("Near the
//!   limit"; module `limits`).

mod bench_matrix;
mod gallery;
mod limits;
mod peers;
mod scaling;
mod test;

use diffract::io::{read_image, Scene};
use diffract::propagation::ComputeOptions;
use diffract::transforms::GemmBackend;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: cargo xtask parity [--gemm NAME] | cargo xtask bench-matrix [--repeat N] [--max-oversample N] [--out DIR] | cargo xtask gallery | cargo xtask test [--python-only] | cargo xtask peers --python PATH [--repeat N] [--no-write] | cargo xtask scaling --python PATH [--no-write] [ARGS of benches/peers/scaling.py] | cargo xtask limits [--repeat N] [--no-write]";

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
        Some("bench-matrix") => {
            let mut repeat = 3;
            let mut max_os = 8;
            let mut out = std::path::PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/bench-matrix"
            ));
            let mut it = args.iter().skip(1);
            while let Some(a) = it.next() {
                let v = it.next();
                match (a.as_str(), v) {
                    ("--repeat", Some(v)) => match v.parse() {
                        Ok(n) => repeat = n,
                        Err(_) => return fail(USAGE),
                    },
                    ("--max-oversample", Some(v)) => match v.parse() {
                        Ok(n) => max_os = n,
                        Err(_) => return fail(USAGE),
                    },
                    ("--out", Some(v)) => out = v.into(),
                    _ => return fail(USAGE),
                }
            }
            report(bench_matrix::run(&out, repeat, max_os))
        }
        Some("gallery") => {
            let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/gallery");
            report(gallery::run(&out))
        }
        Some("test") => {
            let python_only = match args.get(1).map(String::as_str) {
                None => false,
                Some("--python-only") if args.len() == 2 => true,
                Some(_) => return fail(USAGE),
            };
            report(test::run_all(python_only))
        }
        Some("peers") => {
            let Some(flags) = flags(&args[1..], true) else { return fail(USAGE) };
            let Some(python) = flags.python else { return fail(USAGE) };
            report(peers::run(&python, flags.repeat.unwrap_or(5), flags.write))
        }
        Some("scaling") => {
            let mut python = None;
            let mut write = true;
            let mut rest = Vec::new();
            let mut it = args.iter().skip(1);
            while let Some(a) = it.next() {
                match a.as_str() {
                    "--no-write" => write = false,
                    "--python" => match it.next() {
                        Some(v) => python = Some(PathBuf::from(v)),
                        None => return fail(USAGE),
                    },
                    _ => rest.push(a.clone()),
                }
            }
            let Some(python) = python else { return fail(USAGE) };
            report(scaling::run(&python, &rest, write))
        }
        Some("limits") => {
            let Some(flags) = flags(&args[1..], false) else { return fail(USAGE) };
            report(limits::run(flags.repeat.unwrap_or(5), flags.write))
        }
        _ => fail(USAGE),
    }
}

/// The options of the measuring tasks.
struct Flags {
    python: Option<PathBuf>,
    repeat: Option<usize>,
    write: bool,
}

/// `--repeat N` (N >= 1), `--no-write` and, when `python` is allowed, `--python PATH`;
/// `None` for anything else.
fn flags(args: &[String], python: bool) -> Option<Flags> {
    let mut f = Flags { python: None, repeat: None, write: true };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--no-write" => f.write = false,
            "--python" if python => f.python = Some(PathBuf::from(it.next()?)),
            "--repeat" => f.repeat = Some(it.next()?.parse().ok().filter(|&n| n >= 1)?),
            _ => return None,
        }
    }
    Some(f)
}

/// Success, or the error printed and a failing exit.
fn report(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
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
    let all = cases(&data).into_iter().chain(cases(&data.join("more")));
    for (case, expected) in all.chain(cases(&data.join("dm"))) {
        let name = case.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let scene = match Scene::from_file(&case) {
            Ok(s) => s,
            Err(e) => {
                println!("| {name} | - | not computed: {} | - |", e.message);
                continue;
            }
        };
        let start = Instant::now();
        let result = scene
            .system
            .plan()
            .and_then(|p| p.compute(&scene.source, &ComputeOptions::default().with_gemm(gemm)));
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
