//! The `diffract` command line: compute PSFs from scene files and write FITS and PNG.

mod decompose;

use clap::{Parser, Subcommand};
use diffract::instruments::DirectImaging;
use diffract::io::{AnyScene, Scene};
use diffract::picture::{image_picture, wavelength_label, Stretch};
use diffract::propagation::{ComputeOptions, Precision, Source};
use diffract::run::{run_any_scene, run_system, RunError, RunOptions, RunSummary};
use diffract::transforms::{FftBackend, GemmBackend};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

mod measure_cmd;

// Arrays of 4 MiB and more in transparent huge pages: a run touches each pupil-sized array
// once, and its page faults cost more than the sampling itself (docs/performance.md).
#[global_allocator]
static ALLOCATOR: diffract::parallel::LargePages = diffract::parallel::LargePages;

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
    /// Draw a PSF FITS file (ours or POPPY's) as a PNG: log stretch, axes, colour bar.
    Show(ShowArgs),
    /// Draw a scene's entrance pupil (transmission and OPD) as a PNG, before computing.
    Pupil(PupilArgs),
    /// Measure a PSF FITS file as POPPY: FWHM, centroid, encircled energy, radial profile.
    Measure(measure_cmd::MeasureArgs),
    /// Compute the points of a [grid] scene (one shard of them) into DIR/psf_NNNNN.fits.
    Grid(GridArgs),
    /// Merge a grid folder into a cube (points, y, x) with a GRID table.
    Merge(MergeArgs),
    /// Compute many scene files, one output each; a failure in one does not stop the rest.
    Batch(BatchArgs),
    /// Fit Zernike or hexike coefficients (metres RMS) to an OPD FITS file.
    Decompose(decompose::DecomposeArgs),
}

#[derive(clap::Args)]
struct GridArgs {
    /// The scene file, with a [grid] table.
    scene: PathBuf,
    /// The folder of the grid's points.
    #[arg(long)]
    out: PathBuf,
    /// Which points: I/N (every point whose index modulo N is I), or `auto` (from
    /// SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT, or a Kubernetes Indexed Job's
    /// JOB_COMPLETION_INDEX with --shard-count).
    #[arg(long, default_value = "0/1")]
    shard: String,
    /// Number of shards, with `--shard auto` under a Kubernetes Indexed Job.
    #[arg(long)]
    shard_count: Option<usize>,
    /// Spread the points over the MPI ranks (under mpirun; needs the `mpi` feature); rank 0
    /// merges the cube into --merge-to.
    #[arg(long)]
    mpi: bool,
    /// With --mpi: where rank 0 writes the merged cube (default DIR/grid_cube.fits).
    #[arg(long)]
    merge_to: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct MergeArgs {
    /// The grid folder.
    dir: PathBuf,
    /// Output cube.
    #[arg(short, long)]
    output: PathBuf,
    /// Replace an existing cube.
    #[arg(long)]
    overwrite: bool,
    /// The cube's layout: diffract's (offsets and wavelengths per slice, a GRID table) or
    /// WebbPSF's (DET_YX<i> detector positions, OVERSAMP), which photutils'
    /// GriddedPSFModel.read(path, format="webbpsf") loads; webbpsf needs the offsets on a
    /// rectangular lattice, one PSF each.
    #[arg(long, value_enum, default_value_t = CubeLayout::Diffract)]
    format: CubeLayout,
}

/// `diffract merge --format`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum CubeLayout {
    Diffract,
    Webbpsf,
}

#[derive(clap::Args)]
struct BatchArgs {
    /// Scene files.
    #[arg(required = true)]
    scenes: Vec<PathBuf>,
    /// Output folder: one DIR/STEM.fits per scene.
    #[arg(long)]
    out: PathBuf,
    /// Replace existing outputs.
    #[arg(long)]
    overwrite: bool,
    #[command(flatten)]
    run: RunArgs,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct ShowArgs {
    /// The FITS file.
    file: PathBuf,
    /// Output PNG.
    #[arg(short, long)]
    output: PathBuf,
    /// HDU to draw (0: the oversampled PSF).
    #[arg(long, default_value_t = 0)]
    hdu: usize,
    /// Linear stretch instead of logarithmic.
    #[arg(long)]
    linear: bool,
    /// Replace an existing PNG.
    #[arg(long)]
    overwrite: bool,
}

#[derive(clap::Args)]
struct PupilArgs {
    /// The scene file.
    scene: PathBuf,
    /// Output PNG.
    #[arg(short, long)]
    output: PathBuf,
    /// Also write the sampled transmission and total OPD (metres) to this FITS file.
    #[arg(long, value_name = "OUT.fits")]
    fits: Option<PathBuf>,
    /// Replace existing outputs.
    #[arg(long)]
    overwrite: bool,
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
    /// Precision of the transforms: auto (single precision where the PSF stays within 1e-6
    /// of double, double elsewhere), f64 or f32.
    #[arg(long, default_value = "auto")]
    precision: String,
    /// Wavelengths computed at once (default: chosen from cores and free memory).
    #[arg(long)]
    workers: Option<usize>,
    /// Threads of each FFTW transform (needs --fft fftw; more than 1 needs one worker).
    #[arg(long, default_value_t = 1)]
    fftw_threads: usize,
    /// Cores to use in all (default: every core); 1 runs everything serially.
    #[arg(long)]
    cores: Option<usize>,
}

impl RunArgs {
    // ComputeOptions is `#[non_exhaustive]`: built from its default, field by field.
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
        if self.cores == Some(0) {
            return Err(Failure::input("--cores must be at least 1"));
        }
        let mut opts =
            ComputeOptions::default().with_gemm(gemm).with_fft(fft).with_precision(precision);
        opts.workers = self.workers;
        opts.fftw_threads = self.fftw_threads;
        opts.cores = self.cores;
        Ok(opts)
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
    /// Also write the complex field on the detector as extensions REAL and IMAG (one
    /// wavelength; before any jitter; POPPY's return_final).
    #[arg(long)]
    complex: bool,
    #[command(flatten)]
    run: RunArgs,
    /// Print nothing but errors (no progress bar, no summary).
    #[arg(short, long)]
    quiet: bool,
    /// Print a machine-readable summary (JSON) instead of the text one.
    #[arg(long)]
    json: bool,
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
        Command::Show(args) => run_show(&args),
        Command::Pupil(args) => run_pupil(&args),
        Command::Measure(args) => measure_cmd::run(&args),
        Command::Grid(args) => run_grid(&args),
        Command::Merge(args) => run_merge(&args),
        Command::Batch(args) => run_batch(&args),
        Command::Decompose(args) => decompose::run_decompose(&args),
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
    let mut opts = RunOptions::new(&args.output)
        .with_overwrite(args.overwrite)
        .with_compute(args.run.options()?);
    let label =
        args.scene.as_ref().map_or("built-in default".to_string(), |p| p.display().to_string());
    let (system, source) = match &args.scene {
        Some(path) => {
            let scene = AnyScene::from_file(path).map_err(Failure::input)?;
            opts.png = args.png.clone();
            opts.name = Some(scene.name().to_string());
            match scene {
                AnyScene::Fraunhofer(scene) => (Ok(scene.system), scene.source),
                AnyScene::Fresnel(scene) => (Err(scene.system), scene.source),
            }
        }
        None => {
            if !args.quiet && !args.json {
                println!("no scene given: computing the built-in default, a 6.5 m segmented telescope at 1.8, 2.0 and 2.2 um");
            }
            let imaging = DirectImaging::default_segmented();
            let system = imaging.system().map_err(Failure::run)?;
            let source = Source::new(vec![1.8e-6, 2.0e-6, 2.2e-6], None).map_err(Failure::run)?;
            opts.png = args.png.clone().or_else(|| Some(args.output.with_extension("png")));
            opts.name = Some("default_segmented_6.5m".to_string());
            (Ok(system), source)
        }
    };
    opts.planes_dir = args.planes.clone();
    opts.complex = args.complex;
    let n_wl = source.wavelengths().len();
    if args.complex && n_wl != 1 {
        return Err(Failure::input(format!(
            "{label}: [source] wavelengths_m: --complex needs a single wavelength; it has {n_wl}"
        )));
    }
    if args.complex && system.is_err() {
        return Err(Failure::input(format!(
            "{label}: --complex is for Fraunhofer scenes; propagation = \"fresnel\" has no detector field option"
        )));
    }
    let bar = progress_bar(!args.quiet && !args.json, n_wl as u64, "wavelengths");
    if let Some(b) = &bar {
        let b = b.clone();
        opts.compute.on_wavelength_done =
            Some(diffract::propagation::Progress::new(move || b.inc(1)));
    }
    let result = match &system {
        Ok(system) => run_system(system, &source, &opts),
        Err(fresnel) => diffract::run::run_fresnel(fresnel, &source, &opts),
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let summary = result.map_err(|e| match e {
        RunError::Plan(e) | RunError::Schedule(e) => Failure::input(format!("{label}: {e}")),
        e if e.is_input() => Failure::input(e),
        e => Failure::run(e),
    })?;
    if let Some(dir) = &args.planes {
        if !args.quiet && !args.json {
            println!("{}: {} plane files", dir.display(), summary.planes.len());
        }
    }
    if args.json {
        println!("{}", serde_json::to_string(&summary).map_err(Failure::run)?);
    } else if !args.quiet {
        print_summary(&summary);
    }
    Ok(())
}

/// The text summary of a `psf` run.
fn print_summary(s: &RunSummary) {
    let [ny, nx] = s.shape;
    let wl = &s.wavelengths_m;
    let (lo, hi) = wl.iter().fold((f64::MAX, f64::MIN), |(a, b), &w| (a.min(w), b.max(w)));
    let range = if wl.len() == 1 {
        format!("{:.4} um", lo * 1e6)
    } else {
        format!("{:.4}-{:.4} um", lo * 1e6, hi * 1e6)
    };
    if let Some(scale) = s.pixelscale_m {
        println!(
            "{}: {nx} x {ny} pixels of {scale:.4e} m (Fresnel, first wavelength), {} wavelength(s) {range}, \
             {:.3} s, flux in field {:.6}",
            s.output.display(),
            wl.len(),
            s.seconds,
            s.flux
        );
        if let Some(p) = &s.png {
            println!("{}: picture (log stretch, 5 decades)", p.display());
        }
        return;
    }
    println!(
        "{}: {nx} x {ny} pixels ({} x {} detector pixels of {:.4}\", oversample {}), {} wavelength(s) {range}, \
         {:.3} s, flux in field {:.6}",
        s.output.display(),
        s.detector_shape[1],
        s.detector_shape[0],
        s.detector_pixelscale_arcsec,
        s.oversample,
        wl.len(),
        s.seconds,
        s.flux
    );
    if let Some(p) = &s.png {
        println!("{}: picture (log stretch, 5 decades)", p.display());
    }
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

fn read_fits(path: &Path, hdu: usize) -> Result<diffract::io::FitsImage, Failure> {
    diffract::io::read_image(path, hdu).map_err(Failure::input)
}

fn run_show(args: &ShowArgs) -> Result<(), Failure> {
    let img = read_fits(&args.file, args.hdu)?;
    check_free(&args.output, args.overwrite)?;
    let scale = img.pixelscale.ok_or_else(|| {
        Failure::input(format!(
            "{}: HDU {} has no PIXELSCL keyword, so the axes cannot be drawn in arcsec",
            args.file.display(),
            args.hdu
        ))
    })?;
    let name = args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let title = format!("{name}: {}", wavelength_label(img.wavelength, img.nwaves));
    let stretch = if args.linear { Stretch::Linear } else { Stretch::Log { decades: 5.0 } };
    image_picture(&img.data, scale, &title, stretch)
        .map_err(|e| Failure::input(format!("{}: {e}", args.file.display())))?
        .write_png(&args.output, args.overwrite)
        .map_err(Failure::run)?;
    println!("{}: {}", args.output.display(), title);
    Ok(())
}

fn run_pupil(args: &PupilArgs) -> Result<(), Failure> {
    let scene = match AnyScene::from_file(&args.scene).map_err(Failure::input)? {
        AnyScene::Fraunhofer(scene) => scene,
        AnyScene::Fresnel(scene) => return run_fresnel_pupil(args, &scene),
    };
    check_free(&args.output, args.overwrite)?;
    if let Some(fits) = &args.fits {
        check_free(fits, args.overwrite)?;
    }
    let plan = scene
        .system
        .plan()
        .map_err(|e| Failure::input(format!("{}: {e}", args.scene.display())))?;
    let t = plan.transmission();
    let opd_nm = plan.opd().map(|o| o.mapv(|v| v * 1e9));
    let canvas = diffract::picture::pupil_picture(
        &t,
        opd_nm.as_ref(),
        plan.grid().pixelscale(),
        &scene.name,
    );
    if let Some(fits) = &args.fits {
        let (t, opd) = (&t, plan.opd());
        diffract::io::write_pupil(fits, t, opd, plan.grid().pixelscale(), args.overwrite)
            .map_err(Failure::run)?;
        println!("{}: transmission and OPD (m) of the entrance pupil", fits.display());
    }
    canvas.write_png(&args.output, args.overwrite).map_err(Failure::run)?;
    println!(
        "{}: entrance pupil of {} ({} x {} pixels, {:.4} m across)",
        args.output.display(),
        scene.name,
        plan.grid().npix(),
        plan.grid().npix(),
        plan.grid().diameter()
    );
    Ok(())
}

/// `diffract pupil` for a Fresnel scene: the optics before the first distance, on the
/// zero-padded entrance array.
fn run_fresnel_pupil(args: &PupilArgs, scene: &diffract::io::FresnelScene) -> Result<(), Failure> {
    check_free(&args.output, args.overwrite)?;
    if let Some(fits) = &args.fits {
        check_free(fits, args.overwrite)?;
    }
    let plan = scene
        .system
        .plan()
        .map_err(|e| Failure::input(format!("{}: {e}", args.scene.display())))?;
    let t = plan.transmission();
    let opd = plan.opd();
    let opd_nm = opd.as_ref().map(|o| o.mapv(|v| v * 1e9));
    let scale = plan.pupil_pixelscale();
    let canvas = diffract::picture::pupil_picture(&t, opd_nm.as_ref(), scale, &scene.name);
    if let Some(fits) = &args.fits {
        diffract::io::write_pupil(fits, &t, opd.as_ref(), scale, args.overwrite)
            .map_err(Failure::run)?;
        println!("{}: transmission and OPD (m) of the entrance pupil", fits.display());
    }
    canvas.write_png(&args.output, args.overwrite).map_err(Failure::run)?;
    let n = plan.array_npix();
    println!(
        "{}: entrance pupil of {} ({n} x {n} pixels, {:.4} m across, Fresnel)",
        args.output.display(),
        scene.name,
        n as f64 * scale
    );
    Ok(())
}

/// A scene with a `[grid]` table, and its text (which the grid's hash covers).
fn load_grid_scene(path: &Path) -> Result<(Scene, String), Failure> {
    let scene = Scene::from_file(path).map_err(Failure::input)?;
    if scene.grid.is_none() {
        return Err(Failure::input(format!("{}: the scene has no [grid] table", path.display())));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
    Ok((scene, text))
}

/// The shard `I/N`, or `auto` from the cluster's environment.
fn parse_shard(text: &str, count: Option<usize>) -> Result<(usize, usize), Failure> {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.trim().parse::<usize>().ok());
    if text == "auto" {
        if let (Some(id), Some(n)) = (env("SLURM_ARRAY_TASK_ID"), env("SLURM_ARRAY_TASK_COUNT")) {
            let first = env("SLURM_ARRAY_TASK_MIN").unwrap_or(0);
            return Ok((id.saturating_sub(first), n));
        }
        if let Some(id) = env("JOB_COMPLETION_INDEX") {
            let n = count.ok_or_else(|| {
                Failure::input("--shard auto under a Kubernetes Indexed Job needs --shard-count N (the job's completions)")
            })?;
            return Ok((id, n));
        }
        return Err(Failure::input(
            "--shard auto found neither SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT nor JOB_COMPLETION_INDEX",
        ));
    }
    let bad =
        || Failure::input(format!("--shard {text} is invalid; use I/N with 0 <= I < N, or auto"));
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (i, n) = (
        i.trim().parse::<usize>().map_err(|_| bad())?,
        n.trim().parse::<usize>().map_err(|_| bad())?,
    );
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

fn grid_failure(e: diffract::grid::GridError) -> Failure {
    match e {
        diffract::grid::GridError::Input(m) => Failure::Input(m),
        other => Failure::Run(other.to_string()),
    }
}

fn run_grid(args: &GridArgs) -> Result<(), Failure> {
    let opts = args.run.options()?;
    if args.mpi {
        return run_grid_mpi(args, &opts);
    }
    let shard = parse_shard(&args.shard, args.shard_count)?;
    let (scene, text) = load_grid_scene(&args.scene)?;
    let start = Instant::now();
    let per_point = scene.grid.as_ref().map_or(1, |g| {
        if g.wavelengths_m.is_some() {
            1
        } else {
            scene.source.wavelengths().len()
        }
    });
    let n = scene.grid.as_ref().map_or(0, |g| diffract::grid::shard_points(g.len(), shard).len());
    let bar =
        progress_bar(!args.quiet, (n * per_point) as u64, "wavelengths of the shard's points");
    let mut opts = opts.clone();
    if let Some(b) = &bar {
        let b = b.clone();
        opts.on_wavelength_done = Some(diffract::propagation::Progress::new(move || b.inc(1)));
    }
    let summary = diffract::grid::run_shard(&args.scene, &text, &scene, &args.out, shard, &opts)
        .map_err(grid_failure)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if !args.quiet {
        println!(
            "{}: shard {}/{}: {} point(s) computed, {} already complete, of {} in the grid; {:.3} s",
            args.out.display(),
            shard.0,
            shard.1,
            summary.computed,
            summary.skipped,
            summary.total,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn run_merge(args: &MergeArgs) -> Result<(), Failure> {
    let format = match args.format {
        CubeLayout::Diffract => diffract::grid::CubeFormat::Diffract,
        CubeLayout::Webbpsf => diffract::grid::CubeFormat::Webbpsf,
    };
    let n = diffract::grid::merge_as(&args.dir, &args.output, args.overwrite, format)
        .map_err(grid_failure)?;
    println!("{}: {n} points", args.output.display());
    Ok(())
}

fn run_batch(args: &BatchArgs) -> Result<(), Failure> {
    let opts = args.run.options()?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Failure::input(format!("{}: {e}", args.out.display())))?;
    let (mut ok, mut bad_input, mut failed) = (0, 0, 0);
    let bar = progress_bar(!args.quiet, args.scenes.len() as u64, "scenes");
    for path in &args.scenes {
        if let Some(b) = &bar {
            b.inc(1);
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scene".into());
        let out = args.out.join(format!("{stem}.fits"));
        let result = (|| -> Result<(), Failure> {
            let scene = AnyScene::from_file(path).map_err(Failure::input)?;
            let run =
                RunOptions::new(&out).with_overwrite(args.overwrite).with_compute(opts.clone());
            run_any_scene(&scene, &run).map(|_| ()).map_err(|e| match e {
                RunError::Plan(e) => Failure::input(format!("{}: {e}", path.display())),
                RunError::Schedule(e) | RunError::Compute(e) => {
                    Failure::run(format!("{}: {e}", path.display()))
                }
                e if e.is_input() => Failure::input(e),
                e => Failure::run(e),
            })
        })();
        match result {
            Ok(()) => {
                ok += 1;
                if !args.quiet {
                    println!("{}: {}", path.display(), out.display());
                }
            }
            Err(Failure::Input(m)) => {
                bad_input += 1;
                eprintln!("error: {m}");
            }
            Err(Failure::Run(m)) => {
                failed += 1;
                eprintln!("error: {m}");
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if !args.quiet {
        println!("{ok} of {} scenes computed", args.scenes.len());
    }
    match (bad_input, failed) {
        (0, 0) => Ok(()),
        (_, 0) => Err(Failure::Input(format!(
            "{bad_input} of {} scenes had bad input",
            args.scenes.len()
        ))),
        _ => Err(Failure::Run(format!(
            "{} of {} scenes failed",
            bad_input + failed,
            args.scenes.len()
        ))),
    }
}

#[cfg(not(feature = "mpi"))]
fn run_grid_mpi(_args: &GridArgs, _opts: &ComputeOptions) -> Result<(), Failure> {
    Err(Failure::input("--mpi is not built in; rebuild with `--features mpi` (needs OpenMPI)"))
}

/// Every rank computes its shard (rank of size); rank 0 merges once all are done. A rank
/// that fails aborts the job, so no rank waits forever.
#[cfg(feature = "mpi")]
fn run_grid_mpi(args: &GridArgs, opts: &ComputeOptions) -> Result<(), Failure> {
    use mpi::traits::{Communicator, CommunicatorCollectives};
    let universe = mpi::initialize().ok_or_else(|| Failure::run("MPI was already initialised"))?;
    let world = universe.world();
    let (rank, size) = (world.rank() as usize, world.size() as usize);
    let (scene, text) = load_grid_scene(&args.scene)?;
    match diffract::grid::run_shard(&args.scene, &text, &scene, &args.out, (rank, size), opts) {
        Ok(s) => {
            if !args.quiet {
                println!(
                    "rank {rank} of {size}: {} point(s) computed, {} already complete",
                    s.computed, s.skipped
                );
            }
        }
        Err(e) => {
            eprintln!("error: rank {rank}: {e}");
            world.abort(if matches!(e, diffract::grid::GridError::Input(_)) { 2 } else { 1 });
        }
    }
    world.barrier();
    if rank == 0 {
        let out = args.merge_to.clone().unwrap_or_else(|| args.out.join("grid_cube.fits"));
        let n = diffract::grid::merge(&args.out, &out, true).map_err(grid_failure)?;
        if !args.quiet {
            println!("{}: {n} points", out.display());
        }
    }
    Ok(())
}

/// A progress bar on stderr when it is a terminal and `show` is set.
fn progress_bar(show: bool, len: u64, what: &str) -> Option<indicatif::ProgressBar> {
    (show && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(len);
        b.set_style(
            indicatif::ProgressStyle::with_template(&format!(
                "{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {what}"
            ))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    })
}
