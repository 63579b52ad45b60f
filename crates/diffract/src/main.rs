//! The `diffract` command line: compute PSFs from scene files and write FITS and PNG.

use clap::{Parser, Subcommand};
use diffract::instruments::DirectImaging;
use diffract::io::{write_plane, write_psf, Scene, WriteOptions};
use diffract::propagation::{ComputeOptions, OpticalSystem, Precision, PsfPlan, Source};
use diffract::transforms::{FftBackend, GemmBackend};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "diffract",
    version,
    about = "Point spread functions by physical-optics propagation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compute a PSF from a scene file (or the built-in default) and write it as FITS.
    Psf(PsfArgs),
    /// Show the compiled backends, the CPU and memory, and how a scene would be scheduled.
    Info(InfoArgs),
}

/// How to compute: backends, precision, workers.
#[derive(clap::Args)]
struct RunArgs {
    /// Matrix-product backend of the MFT: gemm, matrixmultiply or blas.
    #[arg(long, default_value = "gemm")]
    gemm: String,
    /// FFT backend of image-plane propagation: rustfft or fftw.
    #[arg(long, default_value = "rustfft")]
    fft: String,
    /// Precision of the matrix Fourier transforms: f64 or f32.
    #[arg(long, default_value = "f64")]
    precision: String,
    /// Wavelengths computed at once (default: chosen from cores and free memory).
    #[arg(long)]
    workers: Option<usize>,
    /// Threads of each FFTW transform (needs --fft fftw; more than 1 needs one worker).
    #[arg(long, default_value_t = 1)]
    fftw_threads: usize,
}

impl RunArgs {
    fn options(&self) -> Result<ComputeOptions, Failure> {
        let gemm: GemmBackend = self.gemm.parse().map_err(Failure::input)?;
        gemm.ensure_compiled().map_err(Failure::input)?;
        let fft: FftBackend = self.fft.parse().map_err(Failure::input)?;
        fft.ensure_compiled().map_err(Failure::input)?;
        let precision: Precision = self.precision.parse().map_err(Failure::input)?;
        if self.workers == Some(0) {
            return Err(Failure::input("--workers must be at least 1"));
        }
        if self.fftw_threads == 0 {
            return Err(Failure::input("--fftw-threads must be at least 1"));
        }
        if self.fftw_threads > 1 && fft != FftBackend::Fftw {
            return Err(Failure::input("--fftw-threads needs --fft fftw"));
        }
        Ok(ComputeOptions {
            gemm,
            fft,
            precision,
            workers: self.workers,
            fftw_threads: self.fftw_threads,
            cores: None,
        })
    }
}

#[derive(clap::Args)]
struct InfoArgs {
    /// A scene whose schedule (workers, memory per wavelength) to show.
    scene: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args)]
struct PsfArgs {
    /// Scene file (TOML). Without one, computes the built-in default: a 6.5 m segmented
    /// telescope at three wavelengths.
    scene: Option<PathBuf>,
    /// Output FITS file.
    #[arg(short, long, default_value = "psf.fits")]
    output: PathBuf,
    /// Replace existing output files.
    #[arg(long)]
    overwrite: bool,
    /// Also write a PNG picture of the PSF (log stretch). The default run always writes one,
    /// beside the FITS file.
    #[arg(long)]
    png: Option<PathBuf>,
    /// Also write the intensity (and, for one wavelength, the phase) after every plane to
    /// DIR/plane_NN_KIND.fits, weighted over wavelengths.
    #[arg(long, value_name = "DIR")]
    planes: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
}

/// A failure, with the exit code it maps to: 2 for bad input or usage, 1 for failures while
/// computing or writing.
enum Failure {
    Input(String),
    Run(String),
}

impl Failure {
    fn input(e: impl ToString) -> Self {
        Failure::Input(e.to_string())
    }
    fn run(e: impl ToString) -> Self {
        Failure::Run(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Psf(args) => run_psf(&args),
        Command::Info(args) => run_info(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Run(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(1)
        }
    }
}

fn check_free(path: &Path, overwrite: bool) -> Result<(), Failure> {
    if path.exists() && !overwrite {
        return Err(Failure::input(format!(
            "{}: file exists; pass --overwrite to replace it",
            path.display()
        )));
    }
    if path.is_dir() {
        return Err(Failure::input(format!("{}: is a directory", path.display())));
    }
    Ok(())
}

fn run_psf(args: &PsfArgs) -> Result<(), Failure> {
    let opts = args.run.options()?;
    let label =
        args.scene.as_ref().map_or("built-in default".to_string(), |p| p.display().to_string());
    let (name, system, source, png) = match &args.scene {
        Some(path) => {
            let scene = Scene::from_file(path).map_err(Failure::input)?;
            (scene.name, scene.system, scene.source, args.png.clone())
        }
        None => {
            if !args.quiet {
                println!("no scene given: computing the built-in default, a 6.5 m segmented telescope at 1.8, 2.0 and 2.2 um");
            }
            let imaging = DirectImaging::default_segmented();
            let system = imaging.system().map_err(Failure::run)?;
            let source = Source::new(vec![1.8e-6, 2.0e-6, 2.2e-6], None).map_err(Failure::run)?;
            let png = args.png.clone().or_else(|| Some(args.output.with_extension("png")));
            ("default_segmented_6.5m".to_string(), system, source, png)
        }
    };
    check_free(&args.output, args.overwrite)?;
    if let Some(p) = &png {
        check_free(p, args.overwrite)?;
    }
    if let Some(dir) = &args.planes {
        if dir.exists() && !dir.is_dir() {
            return Err(Failure::input(format!("{}: --planes needs a directory", dir.display())));
        }
    }
    compute_and_write(args, &label, &name, &system, &source, png.as_deref(), &opts)
}

#[allow(clippy::too_many_arguments)]
fn compute_and_write(
    args: &PsfArgs,
    label: &str,
    name: &str,
    system: &OpticalSystem,
    source: &Source,
    png: Option<&Path>,
    opts: &ComputeOptions,
) -> Result<(), Failure> {
    let start = Instant::now();
    let in_scene =
        |e: diffract::propagation::PropagationError| Failure::input(format!("{label}: {e}"));
    let plan =
        if args.planes.is_some() { PsfPlan::new_plane_by_plane(system) } else { system.plan() }
            .map_err(in_scene)?;
    // Refuse a schedule that cannot run (FFTW threads inside several workers) up front.
    plan.schedule(source.wavelengths().len(), opts).map_err(in_scene)?;
    let (psf, planes) = if args.planes.is_some() {
        plan.compute_with_planes(source, opts).map_err(Failure::run)?
    } else {
        (plan.compute(source, opts).map_err(Failure::run)?, Vec::new())
    };
    let seconds = start.elapsed().as_secs_f64();
    if let Some(dir) = &args.planes {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::run(format!("{}: {e}", dir.display())))?;
        for plane in &planes {
            let path = dir.join(format!("plane_{:02}_{}.fits", plane.index + 1, plane.kind));
            write_plane(&path, plane, args.overwrite).map_err(Failure::run)?;
        }
        if !args.quiet {
            println!("{}: {} plane files", dir.display(), planes.len());
        }
    }
    write_psf(
        &args.output,
        &psf,
        &WriteOptions { overwrite: args.overwrite, name: Some(name.to_string()) },
    )
    .map_err(Failure::run)?;
    if let Some(p) = png {
        diffract::picture::write_log_png(p, &psf.image, 5.0, args.overwrite)
            .map_err(Failure::run)?;
    }
    if !args.quiet {
        let (ny, nx) = psf.image.dim();
        let det = psf.detector_sampled().dim();
        let wl = &psf.wavelengths;
        let (lo, hi) = wl.iter().fold((f64::MAX, f64::MIN), |(a, b), &w| (a.min(w), b.max(w)));
        let range = if wl.len() == 1 {
            format!("{:.4} um", lo * 1e6)
        } else {
            format!("{:.4}-{:.4} um", lo * 1e6, hi * 1e6)
        };
        println!(
            "{}: {nx} x {ny} pixels ({} x {} detector pixels of {:.4}\", oversample {}), {} wavelength(s) {range}, \
             {seconds:.3} s, flux in field {:.6}",
            args.output.display(),
            det.1,
            det.0,
            psf.pixelscale_arcsec * psf.oversample as f64,
            psf.oversample,
            wl.len(),
            psf.flux()
        );
        if let Some(p) = png {
            println!("{}: picture (log stretch, 5 decades)", p.display());
        }
    }
    Ok(())
}

fn run_info(args: &InfoArgs) -> Result<(), Failure> {
    let opts = args.run.options()?;
    println!("diffract {}", env!("CARGO_PKG_VERSION"));
    let list = |names: Vec<(&str, bool)>| {
        names
            .iter()
            .map(|(n, c)| if *c { n.to_string() } else { format!("{n} (not built)") })
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "GEMM backends: {}",
        list(GemmBackend::ALL.iter().map(|b| (b.name(), b.is_compiled())).collect())
    );
    println!(
        "FFT backends: {}",
        list(FftBackend::ALL.iter().map(|b| (b.name(), b.is_compiled())).collect())
    );
    println!(
        "precisions: {}",
        Precision::ALL.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")
    );
    println!("CPU features: {}", cpu_features());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let free = diffract::parallel::available_memory_bytes()
        .map_or("unknown".to_string(), |b| format!("{} MiB", b >> 20));
    println!("cores: {cores}, free memory: {free}");
    if let Some(path) = &args.scene {
        let scene = Scene::from_file(path).map_err(Failure::input)?;
        let plan = scene.system.plan().map_err(Failure::input)?;
        let n = scene.source.wavelengths().len();
        let schedule = plan.schedule(n, &opts).map_err(Failure::input)?;
        println!(
            "{}: {n} wavelength(s); {} MiB per wavelength, {} MiB of sampled optics; would run {schedule}",
            path.display(),
            plan.bytes_per_wavelength() >> 20,
            plan.bytes_resident() >> 20,
        );
    }
    Ok(())
}

fn cpu_features() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        let mut f = Vec::new();
        if std::arch::is_x86_feature_detected!("avx512f") {
            f.push("avx512f");
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            f.push("avx2");
        }
        if std::arch::is_x86_feature_detected!("fma") {
            f.push("fma");
        }
        if f.is_empty() {
            "x86_64 baseline".to_string()
        } else {
            f.join(", ")
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::env::consts::ARCH.to_string()
    }
}
