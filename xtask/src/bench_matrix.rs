//! `cargo xtask bench-matrix`: every compiled backend x parallel mode x oversampling on the
//! benchmark scenes, as a markdown table and a PNG plot of time against oversampling.

use diffract::io::{AnyScene, Scene};
use diffract::picture::{Canvas, Rgb};
use diffract::propagation::{ComputeOptions, OpticalSystem};
use diffract::transforms::{FftBackend, GemmBackend};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

/// How the cores are used.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// One wavelength at a time, single-threaded kernels.
    Serial,
    /// Wavelengths in parallel (the default schedule).
    Wavelengths,
    /// One wavelength at a time, kernels threaded over the cores.
    Kernels,
}

impl Mode {
    const ALL: [Mode; 3] = [Mode::Serial, Mode::Wavelengths, Mode::Kernels];

    fn name(self) -> &'static str {
        match self {
            Mode::Serial => "serial",
            Mode::Wavelengths => "wavelength-parallel",
            Mode::Kernels => "threaded kernels",
        }
    }

    fn options(self, gemm: GemmBackend, fft: FftBackend) -> ComputeOptions {
        let (workers, cores) = match self {
            Mode::Serial => (Some(1), Some(1)),
            Mode::Wavelengths => (None, None),
            Mode::Kernels => (Some(1), None),
        };
        let mut opts = ComputeOptions::default().with_gemm(gemm).with_fft(fft);
        opts.workers = workers;
        opts.cores = cores;
        opts
    }
}

struct Row {
    scene: &'static str,
    backend: String,
    mode: Mode,
    oversample: usize,
    seconds: f64,
}

const SCENES: [(&str, bool); 3] =
    [("imaging_1024", false), ("segmented_1024", false), ("lyot_512", true)];
const OVERSAMPLES: [usize; 4] = [1, 2, 4, 8];
/// The Fresnel benchmark scene (its backend column is the FFT backend).
const FRESNEL_SCENE: &str = "fresnel_hubble_512";

fn with_oversample(system: &OpticalSystem, oversample: usize) -> OpticalSystem {
    let mut s = OpticalSystem::new(system.name(), system.npix(), oversample);
    if let Ok(d) = system.pupil_diameter() {
        s.set_pupil_diameter(d);
    }
    for p in system.planes() {
        s.add_plane(p.clone());
    }
    if let Some(d) = system.detector() {
        s.set_detector(*d);
    }
    s
}

fn host_info() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let rev = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| "unset".into());
    format!(
        "host {host}; CPU {cpu}; {cores} cores; revision {rev}; OPENBLAS_CORETYPE={}, RAYON_NUM_THREADS={}, FFTW threads 1",
        env("OPENBLAS_CORETYPE"),
        env("RAYON_NUM_THREADS")
    )
}

/// Runs the matrix; `repeat` runs per cell (the minimum is kept).
pub fn run(out_dir: &Path, repeat: usize, max_oversample: usize) -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let mut rows = Vec::new();
    for (scene_name, coronagraph) in SCENES {
        let path = root.join(format!("benches/scenes/{scene_name}.toml"));
        let scene = Scene::from_file(&path).map_err(|e| e.to_string())?;
        let mut backends: Vec<(GemmBackend, FftBackend)> =
            GemmBackend::compiled().map(|g| (g, FftBackend::RustFft)).collect();
        if coronagraph {
            backends.extend(
                FftBackend::compiled()
                    .filter(|f| *f != FftBackend::RustFft)
                    .map(|f| (GemmBackend::Gemm, f)),
            );
        }
        for &oversample in OVERSAMPLES.iter().filter(|&&o| o <= max_oversample) {
            let system = with_oversample(&scene.system, oversample);
            let plan = system.plan().map_err(|e| e.to_string())?;
            for &(gemm, fft) in &backends {
                for mode in Mode::ALL {
                    let opts = mode.options(gemm, fft);
                    // One untimed run plans FFTW and fills caches, as a long run would.
                    plan.compute(&scene.source, &opts).map_err(|e| e.to_string())?;
                    let mut best = f64::INFINITY;
                    for _ in 0..repeat.max(1) {
                        let start = Instant::now();
                        plan.compute(&scene.source, &opts).map_err(|e| e.to_string())?;
                        best = best.min(start.elapsed().as_secs_f64());
                    }
                    let backend =
                        if coronagraph { format!("{gemm}+{fft}") } else { gemm.to_string() };
                    eprintln!(
                        "{scene_name:<15} os {oversample} {backend:<22} {:<20} {best:.3} s",
                        mode.name()
                    );
                    rows.push(Row { scene: scene_name, backend, mode, oversample, seconds: best });
                }
            }
        }
    }
    // The Fresnel scene: its padding (npix / beam_ratio) is fixed by the scene, so one point
    // per backend and mode, at the oversampling 1 / beam_ratio.
    let path = root.join(format!("benches/scenes/{FRESNEL_SCENE}.toml"));
    let AnyScene::Fresnel(fresnel) = AnyScene::from_file(&path).map_err(|e| e.to_string())? else {
        return Err(format!("{}: not a Fresnel scene", path.display()));
    };
    let plan = fresnel.system.plan().map_err(|e| e.to_string())?;
    let oversample = fresnel.system.oversample().round() as usize;
    for fft in FftBackend::compiled() {
        for mode in Mode::ALL {
            let opts = mode.options(GemmBackend::default(), fft);
            plan.compute(&fresnel.source, &opts).map_err(|e| e.to_string())?;
            let mut best = f64::INFINITY;
            for _ in 0..repeat.max(1) {
                let start = Instant::now();
                plan.compute(&fresnel.source, &opts).map_err(|e| e.to_string())?;
                best = best.min(start.elapsed().as_secs_f64());
            }
            eprintln!(
                "{FRESNEL_SCENE:<15} os {oversample} {fft:<22} {:<20} {best:.3} s",
                mode.name()
            );
            rows.push(Row {
                scene: FRESNEL_SCENE,
                backend: fft.to_string(),
                mode,
                oversample,
                seconds: best,
            });
        }
    }
    let info = host_info();
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmark matrix\n\n{info}; best of {repeat} run(s) after one warm-up run, plan included.\n");
    let _ = writeln!(
        md,
        "| scene | backend | mode | oversample | seconds |\n| --- | --- | --- | --- | --- |"
    );
    for r in &rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.3} |",
            r.scene,
            r.backend,
            r.mode.name(),
            r.oversample,
            r.seconds
        );
    }
    let table = out_dir.join("bench-matrix.md");
    std::fs::write(&table, &md).map_err(|e| format!("{}: {e}", table.display()))?;
    let png = out_dir.join("bench-matrix.png");
    plot(&rows, &info).write_png(&png, true).map_err(|e| e.to_string())?;
    println!("{}\n{}", table.display(), png.display());
    Ok(())
}

const COLOURS: [Rgb; 8] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [23, 190, 207],
];

/// Three panels (direct imaging, coronagraph, Fresnel): log time against oversampling.
fn plot(rows: &[Row], info: &str) -> Canvas {
    let (pw, ph) = (560i64, 420i64);
    let mut c = Canvas::new(3 * pw as usize + 60, ph as usize + 210);
    let black = [0, 0, 0];
    let short: String = info.chars().take(150).collect();
    c.text(
        10,
        8,
        "diffract bench-matrix: seconds per PSF against oversampling (log scales)",
        black,
        2,
    );
    c.text(10, 30, &short, [80, 80, 80], 1);
    let panels: [(&str, &[&str]); 3] = [
        ("direct imaging", &["imaging_1024", "segmented_1024"]),
        ("coronagraph", &["lyot_512"]),
        ("Fresnel", &[FRESNEL_SCENE]),
    ];
    for (p, (title, scenes)) in panels.iter().enumerate() {
        let x0 = 20 + p as i64 * (pw + 20);
        let y0 = 50;
        let sel: Vec<&Row> = rows.iter().filter(|r| scenes.contains(&r.scene)).collect();
        if sel.is_empty() {
            continue;
        }
        let (tmin, tmax) =
            sel.iter().fold((f64::MAX, f64::MIN), |(a, b), r| (a.min(r.seconds), b.max(r.seconds)));
        let (lmin, lmax) = (
            tmin.max(1e-4).log10().floor(),
            tmax.max(1e-4).log10().ceil().max(tmin.log10().floor() + 1.0),
        );
        let (ax0, ay0, ax1, ay1) = (x0 + 60, y0 + 30, x0 + pw - 10, y0 + ph - 40);
        c.text(x0 + 60, y0 + 8, title, black, 2);
        c.line((ax0, ay1), (ax1, ay1), black, 1);
        c.line((ax0, ay0), (ax0, ay1), black, 1);
        let xs = |os: usize| ax0 + 20 + ((os as f64).log2() / 3.0 * (ax1 - ax0 - 40) as f64) as i64;
        let ys = |t: f64| {
            ay1 - ((t.max(1e-4).log10() - lmin) / (lmax - lmin) * (ay1 - ay0) as f64) as i64
        };
        for os in OVERSAMPLES {
            c.line((xs(os), ay1), (xs(os), ay1 + 5), black, 1);
            c.text(xs(os) - 4, ay1 + 10, &os.to_string(), black, 1);
        }
        c.text((ax0 + ax1) / 2 - 40, ay1 + 24, "oversample", black, 1);
        let mut l = lmin;
        while l <= lmax + 1e-9 {
            let y = ys(10f64.powf(l));
            c.line((ax0 - 5, y), (ax0, y), black, 1);
            let label = if l >= 0.0 {
                format!("{}", 10f64.powf(l))
            } else {
                format!("{:.0e}", 10f64.powf(l))
            };
            c.text(ax0 - 10 - Canvas::text_width(&label, 1), y - 4, &label, black, 1);
            l += 1.0;
        }
        c.text(x0, ay0 - 12, "s", black, 1);
        let mut series: Vec<(String, Vec<(usize, f64)>)> = Vec::new();
        for r in &sel {
            let key = format!("{} {} {}", r.scene, r.backend, r.mode.name());
            match series.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => v.push((r.oversample, r.seconds)),
                None => series.push((key, vec![(r.oversample, r.seconds)])),
            }
        }
        for (k, (label, pts)) in series.iter().enumerate() {
            let col = COLOURS[k % COLOURS.len()];
            let dashed = k >= COLOURS.len();
            for w in pts.windows(2) {
                let (a, b) = ((xs(w[0].0), ys(w[0].1)), (xs(w[1].0), ys(w[1].1)));
                if !dashed {
                    c.line(a, b, col, 2);
                } else {
                    c.line(a, b, col, 1);
                }
            }
            for &(os, t) in pts {
                c.fill_rect(xs(os) - 3, ys(t) - 3, xs(os) + 3, ys(t) + 3, col);
            }
            let ly = y0 + ph + 10 + (k as i64 % 12) * 11;
            let lx = x0 + (k as i64 / 12) * 280;
            c.fill_rect(lx, ly + 2, lx + 12, ly + 6, col);
            c.text(lx + 16, ly, label, black, 1);
        }
    }
    c
}
