//! `cargo xtask limits [--repeat N] [--no-write]`: how near diffract's kernels run to what
//! this machine and the libraries under them can do.
//!
//! 1. The MFT of imaging_1024 (a 1024-pixel pupil onto 644 detector pixels) against the
//!    matrix products it computes ([`MftPlan::products`]), timed alone on the same GEMM
//!    backend: the MFT's folds and combinations are what it costs beyond its products.
//! 2. The fixed costs of imaging_1024: process start, scene parsing, pupil sampling and FITS
//!    writing, against the whole command-line run (its `--json` summary's phases).
//! 3. lyot_512's FFT path (a 2048^2 transform each way, 512 of the rows non-zero on the way
//!    in and wanted on the way out) against rustfft's 2-D transform made the usual way (row
//!    FFTs, a blocked transpose, row FFTs, a transpose back) and FFTW's own 2-D plan when it
//!    is compiled in.
//!
//! Best of `repeat` runs after one unmeasured run. Writes the tables into
//! docs/performance.md between `<!-- limits:start -->` and `<!-- limits:end -->`.

use crate::peers::{cargo_build, release_dir, root, write_performance};
use diffract::parallel::Par;
use diffract::transforms::{
    complex_matmul, real_matmul, Fft2d, FftBackend, FftDirection, GemmBackend, MftDirection,
    MftGeometry, MftPlan, MftScratch, Real,
};
use ndarray::Array2;
use num_complex::Complex;
use rustfft::{Fft, FftNum, FftPlanner};
use std::fmt::Write as _;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

const START: &str = "<!-- limits:start -->";
const END: &str = "<!-- limits:end -->";

/// The targets of the measurements (issue "speed and memory, second round", item 2).
const MFT_TARGET: f64 = 1.25;
const FIXED_TARGET: f64 = 0.10;
const FFT_TARGET: f64 = 1.5;

/// Runs the three measurements, prints the tables and (with `write`) puts them into
/// docs/performance.md.
pub fn run(repeat: usize, write: bool) -> Result<(), String> {
    let mut out = String::new();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let _ = writeln!(out, "Measured on {}, {cores} cores, best of {repeat}.\n", machine());
    // The processes first, before this one's threads and memory are warm.
    let fixed = fixed_costs(repeat)?;
    out.push_str(&mft(repeat, cores)?);
    out.push_str(&fixed);
    out.push_str(&fft_path(repeat)?);
    print!("{out}");
    if write {
        write_performance(START, END, &out)?;
    }
    Ok(())
}

/// The processor's model name (from /proc/cpuinfo where there is one).
fn machine() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// The best of `repeat` timed runs of `f`, after one run that is not timed.
fn best<E>(repeat: usize, mut f: impl FnMut() -> Result<(), E>) -> Result<f64, E> {
    f()?;
    let mut best = f64::INFINITY;
    for _ in 0..repeat {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

fn par(threads: usize) -> Par {
    if threads == 1 {
        Par::Seq
    } else {
        Par::Threads(threads)
    }
}

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> impl Iterator<Item = f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n).map(move |_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    })
}

fn real_matrix<T: Real>(rows: usize, cols: usize, seed: u64) -> Array2<T> {
    Array2::from_shape_vec((rows, cols), values(rows * cols, seed).map(T::of).collect())
        .expect("rows * cols values")
}

fn complex_matrix<T: Real>(rows: usize, cols: usize, seed: u64) -> Array2<Complex<T>> {
    let mut v = values(2 * rows * cols, seed);
    Array2::from_shape_fn((rows, cols), |_| {
        let re = v.next().unwrap_or(0.0);
        Complex::new(T::of(re), T::of(v.next().unwrap_or(0.0)))
    })
}

/// Seconds of the MFT of `geometry` in precision `T` (input and output in double precision,
/// as the propagation holds them) and of its matrix products alone.
fn time_mft<T: Real>(
    geometry: &MftGeometry,
    backend: GemmBackend,
    threads: usize,
    repeat: usize,
) -> Result<(f64, f64), String> {
    let plan = MftPlan::<T>::new(geometry).map_err(|e| e.to_string())?;
    let input = complex_matrix::<f64>(geometry.input.0, geometry.input.1, 1);
    let mut output = Array2::zeros(geometry.output);
    let mut scratch = MftScratch::<T>::default();
    let p = par(threads);
    let mft =
        best(repeat, || plan.apply_f64(input.view(), &mut scratch, output.view_mut(), backend, p))
            .map_err(|e| e.to_string())?;
    let products = plan.products();
    let gemm = if products.complex {
        let mut mats: Vec<_> = products
            .shapes
            .iter()
            .map(|&[m, k, n]| {
                (complex_matrix::<T>(m, k, 2), complex_matrix::<T>(k, n, 3), Array2::zeros((m, n)))
            })
            .collect();
        best(repeat, || {
            mats.iter_mut().try_for_each(|(a, b, c)| {
                complex_matmul(backend, p, a.view(), b.view(), c.view_mut())
            })
        })
    } else {
        let mut mats: Vec<_> = products
            .shapes
            .iter()
            .map(|&[m, k, n]| {
                (real_matrix::<T>(m, k, 2), real_matrix::<T>(k, n, 3), Array2::zeros((m, n)))
            })
            .collect();
        best(repeat, || {
            mats.iter_mut()
                .try_for_each(|(a, b, c)| real_matmul(backend, p, a.view(), b.view(), c.view_mut()))
        })
    }
    .map_err(|e| e.to_string())?;
    Ok((mft, gemm))
}

/// Part 1: the MFT against its own products on each compiled GEMM backend.
fn mft(repeat: usize, cores: usize) -> Result<String, String> {
    let geometry = MftGeometry::square(1024, 80.0, 644, MftDirection::Forward);
    let flops32 = MftPlan::<f32>::new(&geometry).map_err(|e| e.to_string())?.products().flops();
    let textbook = geometry.complex_flops();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "**The MFT against its matrix products.** imaging_1024's MFT, 1024^2 -> 644^2, input and \
         output in double precision: the plan computes {:.2} GFLOP of real products (the \
         textbook complex products are {:.2} GFLOP); the same products timed alone on the same \
         backend, threads and precision. Targets: at most {MFT_TARGET}x the time of the \
         textbook FLOPs at the GEMM rate (last column), and, stricter, at most {MFT_TARGET}x \
         its own products' time.\n",
        flops32 as f64 * 1e-9,
        textbook as f64 * 1e-9
    );
    out.push_str(
        "| GEMM | precision | threads | MFT | its products alone | MFT / products | products' rate | MFT / (textbook FLOP / that rate) |\n",
    );
    out.push_str("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    let mut thread_counts = vec![1];
    if cores > 1 {
        thread_counts.push(cores);
    }
    for backend in GemmBackend::compiled() {
        for (name, f32_plan) in [("f32 (auto)", true), ("f64", false)] {
            for &threads in &thread_counts {
                let (t, g) = if f32_plan {
                    time_mft::<f32>(&geometry, backend, threads, repeat)?
                } else {
                    time_mft::<f64>(&geometry, backend, threads, repeat)?
                };
                let _ = writeln!(
                    out,
                    "| {backend} | {name} | {threads} | {:.1} ms | {:.1} ms | {:.2}x {} | {:.0} GFLOP/s | {:.2}x {} |",
                    t * 1e3,
                    g * 1e3,
                    t / g,
                    verdict(t / g <= MFT_TARGET),
                    flops32 as f64 / g * 1e-9,
                    t / (textbook as f64 / flops32 as f64 * g),
                    verdict(t / (textbook as f64 / flops32 as f64 * g) <= MFT_TARGET),
                );
            }
        }
    }
    out.push('\n');
    Ok(out)
}

fn verdict(met: bool) -> &'static str {
    if met {
        "(met)"
    } else {
        "(not met)"
    }
}

/// Part 2: process start, parsing, sampling and writing against the whole run, from the
/// phases the command line reports (`--json`) in the run with the shortest wall time.
fn fixed_costs(repeat: usize) -> Result<String, String> {
    cargo_build(&["-p", "diffract-cli"])?;
    let cli = release_dir().join("diffract");
    let scene = root().join("benches/scenes/imaging_1024.toml");
    let dir = std::env::temp_dir().join(format!("diffract-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let fits = dir.join("imaging_1024.fits");
    let mut best: Option<(f64, serde_json::Value)> = None;
    for _ in 0..=repeat {
        // A new file each time, as a first run writes it: replacing one adds what the file
        // system does for a rename over a file (ext4 starts writing the new data out).
        let _ = std::fs::remove_file(&fits);
        let t = Instant::now();
        let out = Command::new(&cli)
            .arg("psf")
            .arg(&scene)
            .arg("-o")
            .arg(&fits)
            .args(["--overwrite", "--json"])
            .output()
            .map_err(|e| format!("{}: {e}", cli.display()))?;
        let wall = t.elapsed().as_secs_f64();
        if !out.status.success() {
            return Err(format!("{} psf failed ({})", cli.display(), out.status));
        }
        let summary: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| format!("the --json summary: {e}"))?;
        if best.as_ref().is_none_or(|(w, _)| wall < *w) {
            best = Some((wall, summary));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (whole, summary) = best.expect("at least one run");
    let get = |path: &[&str]| -> Result<f64, String> {
        path.iter()
            .try_fold(&summary, |v, k| v.get(k))
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| format!("the --json summary has no {}", path.join(".")))
    };
    let inside = get(&["seconds"])?;
    let (plan, compute, write) =
        (get(&["phases", "plan"])?, get(&["phases", "compute"])?, get(&["phases", "write"])?);
    let outside = whole - inside;
    let fixed = outside + plan + write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "**Fixed costs of imaging_1024.** `diffract psf benches/scenes/imaging_1024.toml \
         --json`, writing a new file: the phases the run reports, in the run of shortest wall \
         time; the process start, scene parsing and exit are its wall time less the run's. \
         Target: start, parsing, sampling and writing at most {:.0}% of the whole.\n",
        FIXED_TARGET * 100.0
    );
    out.push_str("| phase | time | share of the whole run |\n| --- | --- | --- |\n");
    for (name, t) in [
        ("process start, scene parsing, exit", outside),
        ("pupil sampling (`plan`)", plan),
        ("propagation (`compute`)", compute),
        ("FITS writing (`write`)", write),
    ] {
        let _ = writeln!(out, "| {name} | {:.1} ms | {:.1}% |", t * 1e3, 100.0 * t / whole);
    }
    let _ = writeln!(
        out,
        "| **fixed: all but propagation** | {:.1} ms | {:.1}% {} |",
        fixed * 1e3,
        100.0 * fixed / whole,
        verdict(fixed / whole <= FIXED_TARGET)
    );
    let _ = writeln!(out, "| whole run | {:.1} ms | 100% |\n", whole * 1e3);
    Ok(out)
}

/// rustfft's 2-D transform the usual way: every row, a blocked transpose, every row (the
/// columns), a transpose back. Unscaled, unshifted.
struct RustFft2d<T: FftNum> {
    n: usize,
    fft: Arc<dyn Fft<T>>,
    tmp: Vec<Complex<T>>,
    scratch: Vec<Complex<T>>,
}

impl<T: FftNum> RustFft2d<T> {
    fn new(n: usize, forward: bool) -> Self {
        let mut planner = FftPlanner::new();
        let fft = if forward { planner.plan_fft_forward(n) } else { planner.plan_fft_inverse(n) };
        let zero = Complex::new(T::zero(), T::zero());
        let scratch = vec![zero; fft.get_inplace_scratch_len()];
        RustFft2d { n, fft, tmp: vec![zero; n * n], scratch }
    }

    fn process(&mut self, data: &mut [Complex<T>]) {
        let n = self.n;
        self.fft.process_with_scratch(data, &mut self.scratch);
        transpose::transpose(data, &mut self.tmp, n, n);
        self.fft.process_with_scratch(&mut self.tmp, &mut self.scratch);
        transpose::transpose(&self.tmp, data, n, n);
    }
}

/// Seconds of diffract's FFT path for one wavelength of lyot_512 in precision `T`: a
/// forward transform whose input is zero outside `band`, an inverse one whose output is
/// wanted in `band` only; and of the same two transforms done whole.
fn time_path<T: Real + FftNum>(
    n: usize,
    band: std::ops::Range<usize>,
    backend: FftBackend,
    repeat: usize,
) -> Result<(f64, f64), String> {
    let plan = Fft2d::<T>::new((n, n), backend).map_err(|e| e.to_string())?;
    let field = complex_matrix::<T>(n, n, 5);
    let mut a = Array2::zeros((n, n));
    let mut pupil = Array2::zeros((n, n));
    pupil
        .slice_mut(ndarray::s![band.clone(), ..])
        .assign(&field.slice(ndarray::s![band.clone(), ..]));
    let all = 0..n;
    let path = best(repeat, || {
        a.assign(&pupil);
        plan.process_rows(&mut a, FftDirection::PupilToImage, Par::Seq, band.clone(), all.clone())?;
        plan.process_rows(&mut a, FftDirection::ImageToPupil, Par::Seq, all.clone(), band.clone())
    })
    .map_err(|e| e.to_string())?;
    let whole = best(repeat, || {
        a.assign(&pupil);
        plan.process(&mut a, FftDirection::PupilToImage, Par::Seq)?;
        plan.process(&mut a, FftDirection::ImageToPupil, Par::Seq)
    })
    .map_err(|e| e.to_string())?;
    Ok((path, whole))
}

/// Seconds of rustfft's 2-D transform both ways (with the same copy of the input).
fn time_rustfft<T: Real + FftNum>(n: usize, repeat: usize) -> f64 {
    let field: Vec<Complex<T>> = complex_matrix::<T>(n, n, 5).into_raw_vec_and_offset().0;
    let mut a = field.clone();
    let mut fwd = RustFft2d::<T>::new(n, true);
    let mut inv = RustFft2d::<T>::new(n, false);
    best(repeat, || {
        a.copy_from_slice(&field);
        fwd.process(&mut a);
        inv.process(&mut a);
        Ok::<(), ()>(())
    })
    .unwrap_or(f64::NAN)
}

/// Part 3: lyot_512's FFT path against the libraries' 2-D transforms.
fn fft_path(repeat: usize) -> Result<String, String> {
    let n = 2048;
    let band = 768..1280;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "**lyot_512's FFT path.** One wavelength's two 2048^2 transforms on one thread (the \
         workers each take a wavelength): pupil to image with only the pupil's 512 rows \
         non-zero, image to Lyot plane keeping only those 512 rows; each with the shifts and \
         scaling folded in. Against the library's own 2-D transforms both ways, from the same \
         copy of the input (rustfft: rows, a blocked transpose by the `transpose` crate, rows, \
         a transpose back; FFTW: its 2-D plan). Target: the path at most {FFT_TARGET}x the \
         library's.\n"
    );
    out.push_str(
        "| precision | diffract's path | diffract, whole transforms | library's 2-D | library | path / library |\n",
    );
    out.push_str("| --- | --- | --- | --- | --- | --- |\n");
    let mut row = |name: &str, path: f64, whole: f64, lib: f64, lib_name: &str| {
        let _ = writeln!(
            out,
            "| {name} | {:.1} ms | {:.1} ms | {:.1} ms | {lib_name} | {:.2}x {} |",
            path * 1e3,
            whole * 1e3,
            lib * 1e3,
            path / lib,
            verdict(path / lib <= FFT_TARGET)
        );
    };
    let (p32, w32) = time_path::<f32>(n, band.clone(), FftBackend::RustFft, repeat)?;
    row("f32 (auto)", p32, w32, time_rustfft::<f32>(n, repeat), "rustfft");
    let (p64, w64) = time_path::<f64>(n, band.clone(), FftBackend::RustFft, repeat)?;
    row("f64", p64, w64, time_rustfft::<f64>(n, repeat), "rustfft");
    if FftBackend::Fftw.is_compiled() {
        let (pf, wf) = time_path::<f64>(n, band, FftBackend::Fftw, repeat)?;
        let plan = Fft2d::<f64>::new((n, n), FftBackend::Fftw).map_err(|e| e.to_string())?;
        let field = complex_matrix::<f64>(n, n, 5);
        let mut a = field.clone();
        // The library's plan alone: process_bare runs FFTW's plan, unscaled and unshifted.
        let lib = best(repeat, || {
            a.assign(&field);
            plan.process_bare(&mut a, FftDirection::PupilToImage, Par::Seq, 0..n)?;
            plan.process_bare(&mut a, FftDirection::ImageToPupil, Par::Seq, 0..n).map(|_| ())
        })
        .map_err(|e| e.to_string())?;
        row("f64, fftw backend", pf, wf, lib, "FFTW");
    }
    out.push('\n');
    Ok(out)
}
