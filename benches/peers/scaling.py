"""diffract and POPPY 1.1.2 against the pupil size and the number of wavelengths: time and
peak memory of the Lyot coronagraph, as a Markdown table with the fitted log-log slopes and
two log-log plots (docs/performance.md, "Scaling: pupil size and wavelengths").

The system is benches/scenes/lyot_512.toml's (systems.py's ``lyot_512``): a circular
aperture of radius 3.25 m, a circular occulter of 0.4 arcsec, a Lyot stop of radius 3.0 m,
a detector of 0.031 arcsec pixels and 5 arcsec across, oversample 4 (FFTs of 4 npix x 4
npix). Two sweeps:

- pupil: npix 256, 512, 1024, 2048 and 4096 (``--sizes``), one wavelength (2.0 um);
- wavelengths: npix 512, 1, 3, 10, 30 and 100 wavelengths (``--wavelengths``) evenly spaced
  over 1.8-2.16 um (one: 2.0 um), equal weights.

Every case of every engine runs in a process of its own, so that its peak resident memory
(GNU time's ``%M``) is its own:

- diffract: the whole ``diffract psf SCENE -o FILE --overwrite -q`` process (start to FITS
  written) on a scene file written for the case; best of ``--repeat`` runs (3), the peak
  memory the largest of theirs;
- POPPY: ``calc_psf`` alone (no multiprocessing, no FFTW), ``--repeat`` runs in one fresh
  Python process that builds the system once: the best. The child caps its address space
  (``RLIMIT_AS``, ``--memory-limit`` GiB, 22) so that a case that does not fit ends in a
  MemoryError instead of the kernel's OOM killer. POPPY runs with OPENBLAS_CORETYPE and
  OPENBLAS_L2_SIZE removed from its environment.

Big cases (npix >= 2048 or >= 30 wavelengths) run once. A case that runs out of memory (or
that diffract refuses for lack of memory) is recorded as such, and an engine skips the
larger pupil sizes (or more wavelengths) after one that ran out of memory or took longer
than ``--time-limit`` seconds (1200). The slopes are least-squares fits (``numpy.polyfit``)
of log(time) and log(peak RSS) against log(npix) and log(number of wavelengths), over the
cases that completed. diffract's PSF is compared with POPPY's where both completed
(relative L2 of the oversampled image).

Run it with a Python that has poppy 1.1.2, astropy and matplotlib, from anywhere:

    cargo build --release -p diffract-cli
    /tmp/peer/bin/python benches/peers/scaling.py [--repeat 3] [--plots docs/img]
    /tmp/peer/bin/python benches/peers/scaling.py --quick --plots /tmp/img   # a check

``cargo xtask scaling --python /tmp/peer/bin/python`` does this and writes the table into
docs/performance.md, the plots into docs/img. Progress goes to stderr, the table to stdout.
"""

import argparse
import importlib.metadata
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
# What the side-by-side table measures the same way: the machine line, the commit, the
# numpy environment, the agreement with POPPY and GNU time for each process's own memory.
from peers import GNU_TIME, commit, machine, numpy_environment, relative_l2

SIZES = [256, 512, 1024, 2048, 4096]
WAVELENGTHS = [1, 3, 10, 30, 100]
QUICK_SIZES = [128, 256]
QUICK_WAVELENGTHS = [1, 3]
# The wavelength sweep's pupil, and the pupil sweep's one wavelength (metres).
SWEEP_NPIX = 512
ONE_WAVELENGTH = 2.0e-6
BAND = (1.8e-6, 2.16e-6)
OVERSAMPLE = 4
TOLERANCE = 1e-4
ENGINES = {"diffract": "diffract", "poppy": "POPPY"}
# A child's exit status for "ran out of memory" (the child's MemoryError).
OUT_OF_MEMORY_EXIT = 3

SCENE = """\
# Written by benches/peers/scaling.py: lyot_512 with npix {npix}, {count} wavelength(s).
name = "lyot_scaling"
npix = {npix}
oversample = {oversample}

[source]
wavelengths_m = [{wavelengths}]

[[optic]]
plane = "pupil"
kind = "circular_aperture"
radius_m = 3.25

[[optic]]
plane = "image"
kind = "circular_occulter"
radius_arcsec = 0.4

[[optic]]
plane = "pupil"
kind = "circular_aperture"
radius_m = 3.0

[detector]
pixelscale_arcsec = 0.031
fov_arcsec = 5.0
"""


def wavelengths(count):
    """``count`` wavelengths (metres) evenly spaced over the band; one is 2.0 um."""
    if count == 1:
        return [ONE_WAVELENGTH]
    low, high = BAND
    return [low + (high - low) * i / (count - 1) for i in range(count)]


def lyot(poppy, npix, count):
    """systems.py's ``lyot_512`` with an ``npix`` pupil and ``count`` wavelengths: the
    optical system and its source."""
    import astropy.units as u

    osys = poppy.OpticalSystem(name="lyot_scaling", npix=npix, oversample=OVERSAMPLE)
    osys.add_pupil(poppy.CircularAperture(radius=3.25))
    osys.add_image(poppy.CircularOcculter(radius=0.4 * u.arcsec))
    osys.add_pupil(poppy.CircularAperture(radius=3.0))
    osys.add_detector(pixelscale=0.031, fov_arcsec=5.0)
    waves = wavelengths(count)
    return osys, {"wavelengths": waves, "weights": [1.0 / count] * count}


def is_big(npix, count):
    """Whether a case runs once only."""
    return npix >= 2048 or count >= 30


class Outcome:
    """One engine's result on one case: ``status`` "ok" (``seconds``: the best, ``rss``:
    bytes, ``psf``: the file of the PSF, ``version``: POPPY's), "out of memory", "timed
    out", "failed" or "skipped" (``message`` says why)."""

    def __init__(self, status, seconds=None, rss=None, message="", psf=None, version=None):
        self.status = status
        self.seconds = seconds
        self.rss = rss
        self.message = message
        self.psf = psf
        self.version = version

    @property
    def ok(self):
        return self.status == "ok"


def run_process(command, time_limit, env=None):
    """Runs ``command`` to its end, killing it (and its process group) after ``time_limit``
    seconds: (seconds from start to exit, peak resident memory in bytes, exit code (-signal
    if killed), whether it was killed for time, the last lines of its stderr). The memory
    is GNU time's ``%M`` where /usr/bin/time exists, else ``ru_maxrss``."""
    command = [str(c) for c in command]
    with tempfile.TemporaryFile("w+") as err, tempfile.NamedTemporaryFile("r") as peak:
        timed = os.path.exists(GNU_TIME)
        full = [GNU_TIME, "-f", "%M", "-o", peak.name, *command] if timed else command
        start = time.perf_counter()
        proc = subprocess.Popen(
            full, stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True
        )
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(time_limit, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        rss = usage.ru_maxrss * 1024
        report = peak.read().split() if timed else []
        if report and report[-1].isdigit():
            rss = int(report[-1]) * 1024
            # "Command terminated by signal N": the command's own end, not time's.
            if "signal" in report:
                proc.returncode = -int(report[report.index("signal") + 1])
        err.seek(0)
        tail = err.read().strip().splitlines()[-5:]
        return seconds, rss, proc.returncode, timed_out.is_set(), tail


def failure(code, timed_out, tail, time_limit):
    """The outcome of a run that did not succeed."""
    last = tail[-1] if tail else ""
    if timed_out:
        return Outcome("timed out", message=f"killed after {time_limit:g} s")
    if code == OUT_OF_MEMORY_EXIT or "needs about" in last or "MemoryError" in last:
        return Outcome("out of memory", message=last)
    if code == -signal.SIGKILL:
        return Outcome("out of memory", message="killed by SIGKILL (the OOM killer?)")
    return Outcome("failed", message=f"exit {code}: {last}")


def measure_diffract(cli, npix, count, repeat, time_limit, tmp):
    """Best of ``repeat`` runs of ``diffract psf`` on the case's scene file."""
    scene = tmp / f"lyot_{npix}_{count}.toml"
    waves = ", ".join(repr(w) for w in wavelengths(count))
    text = SCENE.format(npix=npix, count=count, oversample=OVERSAMPLE, wavelengths=waves)
    scene.write_text(text)
    out = tmp / f"lyot_{npix}_{count}.fits"
    command = [str(cli), "psf", str(scene), "-o", str(out), "--overwrite", "-q"]
    best, peak = None, 0
    for _ in range(repeat):
        seconds, rss, code, timed_out, tail = run_process(command, time_limit)
        if code != 0:
            tail = [line.replace(f"{scene}: ", "") for line in tail]
            return failure(code, timed_out, tail, time_limit)
        best = seconds if best is None else min(best, seconds)
        peak = max(peak, rss)
    return Outcome("ok", best, peak, psf=out)


def measure_poppy(npix, count, repeat, time_limit, memory_gib, tmp):
    """``calc_psf`` in a fresh Python process: best of ``repeat`` runs, the process's peak
    memory."""
    result = tmp / f"poppy_{npix}_{count}.json"
    psf = tmp / f"poppy_{npix}_{count}.npy"
    command = [sys.executable, str(pathlib.Path(__file__).resolve()), "--child"]
    command += [f"{npix},{count}", "--repeat", str(repeat), "--result", str(result)]
    command += ["--out", str(psf), "--memory-limit", str(memory_gib)]
    _, rss, code, timed_out, tail = run_process(command, time_limit, env=numpy_environment())
    if code != 0:
        return failure(code, timed_out, tail, time_limit)
    with open(result) as f:
        measured = json.load(f)
    return Outcome("ok", min(measured["times"]), rss, psf=psf, version=measured["version"])


def child(case, repeat, result, out, memory_gib):
    """The child's side: caps its address space, builds the POPPY system of ``case``
    ("npix,count"), runs ``calc_psf`` ``repeat`` times, saves the last PSF to ``out``
    (.npy) and writes {"times", "version"} to ``result``. Exits with OUT_OF_MEMORY_EXIT on
    a MemoryError."""
    import resource

    limit = int(memory_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        import numpy as np
        import poppy

        poppy.conf.use_multiprocessing = False
        poppy.conf.use_fftw = False
        npix, count = (int(v) for v in case.split(","))
        osys, source = lyot(poppy, npix, count)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            hdul = osys.calc_psf(source=source, display=False)
            times.append(time.perf_counter() - start)
            psf = np.asarray(hdul[0].data, dtype=float)
            del hdul
        np.save(out, psf)
    except MemoryError as e:
        print(f"MemoryError: {e}", file=sys.stderr)
        sys.exit(OUT_OF_MEMORY_EXIT)
    with open(result, "w") as f:
        json.dump({"times": times, "version": poppy.__version__}, f)


def slope(xs, outcomes, key):
    """The least-squares slope of log(``key`` of the completed outcomes) against log(x), or
    None with fewer than two."""
    import numpy as np

    points = [(x, getattr(o, key)) for x, o in zip(xs, outcomes) if o.ok]
    if len(points) < 2:
        return None
    x, y = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    return float(np.polyfit(x, y, 1)[0])


def seconds(s):
    return f"{s * 1e3:.1f} ms" if s < 0.1 else f"{s:.3f} s" if s < 10 else f"{s:.1f} s"


def cells(outcome):
    """The time and memory cells of one outcome."""
    if outcome is None:
        return ["-", "-"]
    if not outcome.ok:
        return [outcome.status, "-"]
    return [seconds(outcome.seconds), f"{outcome.rss / 2**20:.0f}"]


def fmt_slope(s):
    return "-" if s is None else f"{s:.2f}"


def plot(path, title, xlabel, xs, results, engines):
    """Two log-log panels (time, peak RSS) against ``xs``, one line per engine with its
    fitted slope in the legend; the cases that did not complete marked at the top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import FuncFormatter, LogLocator

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    styles = {"diffract": ("C0", "o"), "poppy": ("C1", "s")}
    for ax, key, ylabel in zip(axes, ("seconds", "rss"), ("time (s)", "peak RSS (MiB)")):
        scale = 1.0 if key == "seconds" else 1.0 / 2**20
        for engine in engines:
            colour, marker = styles[engine]
            outcomes = results[engine]
            done = [(x, getattr(o, key) * scale) for x, o in zip(xs, outcomes) if o.ok]
            s = slope(xs, outcomes, key)
            label = ENGINES[engine] + ("" if s is None else f" (slope {s:.2f})")
            if done:
                ax.plot(*zip(*done), marker=marker, color=colour, label=label)
            if s is not None:
                x = np.log([d[0] for d in done])
                fit = np.polyfit(x, np.log([d[1] for d in done]), 1)
                ends = np.array([x.min(), x.max()])
                ax.plot(np.exp(ends), np.exp(np.polyval(fit, ends)), ":", color=colour, lw=1)
            for x, o in zip(xs, outcomes):
                if not o.ok and o.status != "skipped":
                    ax.plot(
                        [x], [0.95], "x", color=colour, ms=9, transform=ax.get_xaxis_transform()
                    )
                    ax.annotate(
                        f"{ENGINES[engine]}: {o.status}",
                        (x, 0.95),
                        xycoords=ax.get_xaxis_transform(),
                        xytext=(-6, -14 if engine == "diffract" else -26),
                        textcoords="offset points",
                        ha="right",
                        fontsize=8,
                        color=colour,
                    )
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        if any(not o.ok for e in engines for o in results[e]):
            # Room at the top for the marks of the cases that did not complete.
            low, high = ax.get_ylim()
            ax.set_ylim(low, high * (high / low) ** 0.3)
        ax.set_xticks(xs)
        ax.set_xticklabels([str(x) for x in xs])
        ax.minorticks_off()
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="best", fontsize=9)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def int_list(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not a comma-separated list of integers")
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give positive integers")
    return sorted(set(values))


def sweep(cases, engines, args, tmp, label):
    """Measures ``cases`` ((npix, count) in increasing size) with every engine: {engine:
    [Outcome]}; after a case that ran out of memory or time, an engine skips the rest."""
    results = {e: [] for e in engines}
    stopped = {}
    for npix, count in cases:
        repeat = 1 if is_big(npix, count) else args.repeat
        print(f"== {label(npix, count)} ({repeat} run(s))", file=sys.stderr, flush=True)
        for engine in engines:
            if engine in stopped:
                outcome = Outcome("skipped", message=f"after {stopped[engine]}")
            elif engine == "diffract":
                outcome = measure_diffract(args.cli, npix, count, repeat, args.time_limit, tmp)
            else:
                outcome = measure_poppy(
                    npix, count, repeat, args.time_limit, args.memory_limit, tmp
                )
            if outcome.status in ("out of memory", "timed out"):
                stopped[engine] = f"{outcome.status} at {label(npix, count)}"
            results[engine].append(outcome)
            if outcome.ok:
                done = f"{seconds(outcome.seconds)}, {outcome.rss / 2**20:.0f} MiB"
            else:
                done = f"{outcome.status} {outcome.message}".strip()
            print(f"   {ENGINES[engine]}: {done}", file=sys.stderr, flush=True)
        if len(engines) == 2 and all(results[e][-1].ok for e in engines):
            ours, theirs = (results[e][-1].psf for e in engines)
            error = relative_l2(ours, theirs)
            results["l2"] = results.get("l2", []) + [error]
            print(f"   rel L2 vs POPPY {error:.1e}", file=sys.stderr, flush=True)
    return results


def table(title, xs, label, results, engines):
    """The Markdown table of one sweep."""
    head = ["case"]
    for engine in engines:
        head += [f"{ENGINES[engine]} time", f"{ENGINES[engine]} peak RSS (MiB)"]
    lines = [f"**{title}**", "", "| " + " | ".join(head) + " |"]
    lines.append("| " + " | ".join("---" for _ in head) + " |")
    for i, x in enumerate(xs):
        row = [label(x)]
        for engine in engines:
            row += cells(results[engine][i])
        lines.append("| " + " | ".join(row) + " |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument(
        "--cli", default=str(ROOT / "target" / "release" / "diffract"), help="the diffract CLI"
    )
    parser.add_argument(
        "--engines",
        default="diffract,poppy",
        help="comma-separated: diffract, poppy (default both)",
    )
    parser.add_argument(
        "--sizes", type=int_list, help="pupil sizes of the pupil sweep (256,512,1024,2048,4096)"
    )
    parser.add_argument(
        "--wavelengths", type=int_list, help="wavelength counts of the other (1,3,10,30,100)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of the small cases; big ones run once (3)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a check: sizes 128,256, wavelengths 1,3, one run (unless given)",
    )
    parser.add_argument(
        "--plots", default=str(ROOT / "docs" / "img"), help="folder of the plots (docs/img)"
    )
    parser.add_argument(
        "--time-limit", type=float, default=1200.0, help="seconds per case and engine (1200)"
    )
    parser.add_argument(
        "--memory-limit", type=float, default=22.0, help="POPPY's address space, GiB (22)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.repeat, args.result, args.out, args.memory_limit)
        return
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not engines or any(e not in ENGINES for e in engines):
        parser.error(f"--engines: give some of {', '.join(ENGINES)}")
    engines = [e for e in ENGINES if e in engines]
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    counts = args.wavelengths or (QUICK_WAVELENGTHS if args.quick else WAVELENGTHS)
    if args.quick and "--repeat" not in sys.argv:
        args.repeat = 1
    if "diffract" in engines and not pathlib.Path(args.cli).exists():
        parser.error(f"no {args.cli}: cargo build --release -p diffract-cli")
    plots = pathlib.Path(args.plots).resolve()
    plots.mkdir(parents=True, exist_ok=True)

    host = machine()

    def pupil_label(npix, count=1):
        n = npix * OVERSAMPLE
        return f"npix {npix} ({n} x {n} FFTs)"

    def count_label(npix, count):
        return f"{count} wavelength{'s' if count > 1 else ''}"

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        by_size = sweep([(n, 1) for n in sizes], engines, args, tmp, pupil_label)
        by_count = sweep([(SWEEP_NPIX, c) for c in counts], engines, args, tmp, count_label)

    names = {"pupil": "scaling_pupil.png", "wavelengths": "scaling_wavelengths.png"}
    plot(
        plots / names["pupil"],
        f"Lyot coronagraph, oversample {OVERSAMPLE}, one wavelength",
        "pupil size npix (pixels across)",
        sizes,
        by_size,
        engines,
    )
    plot(
        plots / names["wavelengths"],
        f"Lyot coronagraph, npix {SWEEP_NPIX}, oversample {OVERSAMPLE}",
        "wavelengths",
        counts,
        by_count,
        engines,
    )
    print(f"wrote the plots into {plots}", file=sys.stderr)

    lines = table(
        f"Pupil size (one wavelength, {ONE_WAVELENGTH * 1e6:.1f} um)",
        sizes,
        pupil_label,
        by_size,
        engines,
    )
    lines += [""]
    lines += table(
        f"Wavelengths (npix {SWEEP_NPIX}, {SWEEP_NPIX * OVERSAMPLE} x "
        f"{SWEEP_NPIX * OVERSAMPLE} FFTs; 1.8-2.16 um)",
        counts,
        lambda c: count_label(SWEEP_NPIX, c),
        by_count,
        engines,
    )
    head = ["fitted log-log slope"] + [ENGINES[e] for e in engines]
    lines += ["", "| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    for what, xs, results, key in [
        ("time against npix", sizes, by_size, "seconds"),
        ("peak RSS against npix", sizes, by_size, "rss"),
        ("time against wavelengths", counts, by_count, "seconds"),
        ("peak RSS against wavelengths", counts, by_count, "rss"),
    ]:
        row = [what] + [fmt_slope(slope(xs, results[e], key)) for e in engines]
        lines.append("| " + " | ".join(row) + " |")
    docs = ROOT / "docs"
    for key, title in [("pupil", "against the pupil size"), ("wavelengths", "against wavelengths")]:
        link = os.path.relpath(plots / names[key], docs)
        lines += ["", f"![Time and peak memory {title}]({link})"]

    versions = ""
    if "poppy" in engines:
        found = [o.version for r in (by_size, by_count) for o in r["poppy"] if o.ok]
        poppy = found[0] if found else importlib.metadata.version("poppy")
        versions = (
            f"; POPPY {poppy}, numpy {importlib.metadata.version('numpy')} (its FFT; no "
            f"multiprocessing, no FFTW; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset; address "
            f"space capped at {args.memory_limit:g} GiB), calc_psf alone"
        )
    note = (
        f"Measured by `cargo xtask scaling` on {host}; diffract{commit()} with default "
        f"options, the whole `diffract psf` process{versions}. Best of {args.repeat} run(s), "
        f"big cases (npix >= 2048 or >= 30 wavelengths) once; time limit "
        f"{args.time_limit:g} s per case."
    )
    lines += ["", note]
    errors = by_size.get("l2", []) + by_count.get("l2", [])
    if errors:
        lines[-1] += (
            f" diffract's PSF agrees with POPPY's to {max(errors):.1e} (largest relative L2) "
            f"in every case both completed."
        )
    for engine in engines:
        for xs, results, label in [
            (sizes, by_size, lambda n: pupil_label(n)),
            (counts, by_count, lambda c: count_label(SWEEP_NPIX, c)),
        ]:
            for x, o in zip(xs, results[engine]):
                if not o.ok and o.status != "skipped":
                    lines += ["", f"{ENGINES[engine]}, {label(x)}: {o.status} ({o.message})."]
    print("\n".join(lines))
    worst = max(errors, default=0.0)
    if worst > TOLERANCE:
        print(f"diffract differs from POPPY by {worst:.1e} (tolerance 1e-4)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
