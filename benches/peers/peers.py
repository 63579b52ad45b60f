"""diffract beside POPPY 1.1.2 and HCIPy 0.7 on the benchmark scenes: times, peak memory and
the agreement with POPPY, as a Markdown table (docs/performance.md, "Side by side").

For each scene of benches/scenes that benches/peers/systems.py mirrors (imaging_1024,
segmented_1024, lyot_512, fresnel_hubble_512), every engine runs in a process of its own,
so that its peak resident memory (GNU time's ``%M``) is its own:

- diffract: the whole ``diffract psf SCENE -o FILE -q`` process (start to FITS written),
  one warm-up then ``--repeat`` runs (5): best and median; the peak memory is the largest
  of the runs';
- POPPY: ``calc_psf`` of systems.py's function alone (POPPY's optics sampled inside it; no
  multiprocessing, no FFTW), min(3, ``--repeat``) runs in one process: the best;
- HCIPy: hcipy_systems.py's function (grids, apertures, propagators and the PSF), as many
  runs: the best. Its systems differ from POPPY's where HCIPy has no equal (its docstring).

POPPY and HCIPy run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from their
environment. The relative L2 norm of diffract's PSF (the FITS file's primary HDU) against
POPPY's is printed for every scene, and this script fails (exit 1, after the table) if one
exceeds 1e-4. The DM loop (benches/peers/dm_loop.py: POPPY's and HCIPy's loops; diffract's
``dm_loop`` example, ``--dm-loop``, one warm-up then ``--repeat`` runs) is a row of its
own, in milliseconds per PSF.

Run it with a Python that has poppy 1.1.2, hcipy 0.7 and astropy (the diffract package is
not needed), from anywhere:

    python3 -m venv /tmp/peer && /tmp/peer/bin/pip install poppy==1.1.2 hcipy==0.7.1
    cargo build --release -p diffract-cli && cargo build --release -p diffract --example dm_loop
    /tmp/peer/bin/python benches/peers/peers.py [--repeat 5] [SCENE ...]

``cargo xtask peers --python /tmp/peer/bin/python`` does all of this and writes the table
into docs/performance.md. Progress goes to stderr, the table to stdout.
"""

import argparse
import datetime
import importlib.metadata
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TOLERANCE = 1e-4
# The DM loop's updates per timed run (dm_loop.py's defaults).
POPPY_DM_UPDATES = 20
HCIPY_DM_UPDATES = 200


class Failed(Exception):
    """A measured command failed."""


def numpy_environment():
    """This process's environment without the OpenBLAS tuning variables (for numpy peers)."""
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    return env


# GNU time, to read a command's own peak memory: Linux carries a process's peak RSS across
# fork and exec, so ``ru_maxrss`` of a child forked from this Python is at least this
# Python's RSS (about 150 MiB once numpy and the PSFs are loaded). time's fork is small.
GNU_TIME = "/usr/bin/time"


def run_process(command, env=None, capture=False):
    """Runs ``command`` to its end: (seconds from start to exit, its peak resident memory in
    bytes, its stdout if ``capture``, else None: then it goes to our stderr). The memory is
    GNU time's ``%M`` where /usr/bin/time exists, else ``ru_maxrss`` (which the fork from
    this process floors at this process's RSS). A failure raises."""
    command = [str(c) for c in command]
    with tempfile.TemporaryFile("w+") as out, tempfile.NamedTemporaryFile("r") as peak:
        timed = os.path.exists(GNU_TIME)
        if timed:
            command = [GNU_TIME, "-f", "%M", "-o", peak.name, *command]
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out if capture else sys.stderr, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise Failed(f"{' '.join(command)} failed (exit {proc.returncode})")
        rss = int(peak.read().split()[-1]) * 1024 if timed else usage.ru_maxrss * 1024
        out.seek(0)
        return seconds, rss, out.read() if capture else None


def run_child(engine, name, repeat, out):
    """Runs this script as a child measuring ``engine`` on ``name``: its result dictionary
    with the child's peak memory (``rss``)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as result:
        command = [sys.executable, str(pathlib.Path(__file__).resolve()), "--child", engine]
        command += [name, "--repeat", str(repeat), "--result", result.name, "--out", str(out)]
        _, rss, _ = run_process(command, env=numpy_environment())
        with open(result.name) as f:
            measured = json.load(f)
    measured["rss"] = rss
    return measured


def child(engine, name, repeat, result, out):
    """The child's side: imports the engine, runs ``name`` ``repeat`` times, saves the last
    PSF to ``out`` (.npy) and writes {"times", "version"} (or {"rates", ...}) to ``result``."""
    import numpy as np

    measured = {}
    if engine in ("poppy", "poppy-dm"):
        import poppy

        poppy.conf.use_multiprocessing = False
        poppy.conf.use_fftw = False
        measured["version"] = poppy.__version__
    else:
        import hcipy

        measured["version"] = hcipy.__version__
    if engine.endswith("-dm"):
        import dm_loop

        if engine == "poppy-dm":
            rates = [dm_loop.poppy_rate(POPPY_DM_UPDATES) for _ in range(repeat)]
        else:
            rates = [dm_loop.hcipy_rate(HCIPY_DM_UPDATES) for _ in range(repeat)]
        measured["times"] = [1.0 / r for r in rates]
    else:
        if engine == "poppy":
            import systems

            def compute():
                return systems.calc_psf(poppy, name)[0].data

        else:
            import hcipy_systems

            def compute():
                return hcipy_systems.SYSTEMS[name](hcipy)

        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            psf = compute()
            times.append(time.perf_counter() - start)
        np.save(out, np.asarray(psf, dtype=float))
        measured["times"] = times
    with open(result, "w") as f:
        json.dump(measured, f)


def diffract_runs(command, repeat, parse=None):
    """One warm-up then ``repeat`` runs of ``command``: (best, median) of the seconds each
    took (or, with ``parse``, of the value it reads from the output) and the largest peak
    memory."""
    run_process(command)
    values, peak = [], 0
    for _ in range(repeat):
        seconds, rss, text = run_process(command, capture=parse is not None)
        values.append(seconds if parse is None else parse(text))
        peak = max(peak, rss)
    return min(values), statistics.median(values), peak


def relative_l2(fits_path, npy_path):
    import numpy as np
    from astropy.io import fits

    with fits.open(fits_path) as hdul:
        ours = np.asarray(hdul[0].data, dtype=float)
    theirs = np.load(npy_path)
    if ours.shape != theirs.shape:
        return float("inf")
    return float(np.sqrt(np.sum((ours - theirs) ** 2) / np.sum(theirs**2)))


def seconds(s):
    return f"{s:.3f} s" if s < 10 else f"{s:.1f} s"


def mib(n):
    return f"{n / 2**20:.0f}"


def machine():
    """CPU model, cores, memory, load and date of this machine, one line."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
        memory = f", {kib / 2**20:.1f} GiB"
    except (OSError, AttributeError):
        pass
    load = os.getloadavg()[0]
    today = datetime.date.today().isoformat()
    return f"{cpu}, {os.cpu_count()} cores{memory}, load average {load:.2f} at the start, {today}"


def commit():
    """The words naming the commit the working tree is at, or "" outside a git checkout."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f" (the working tree at commit {head})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", default=str(ROOT / "target" / "release" / "diffract"))
    parser.add_argument(
        "--dm-loop", default=str(ROOT / "target" / "release" / "examples" / "dm_loop")
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("scenes", nargs="*")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.child:
        child(args.child, args.scenes[0], args.repeat, args.result, args.out)
        return

    import hcipy_systems
    import systems

    host = machine()
    peer_repeat = min(3, args.repeat)
    scenes = sorted(p.stem for p in (ROOT / "benches" / "scenes").glob("*.toml"))
    known = [n for n in scenes if n in systems.SYSTEMS] + ["dm_loop"]
    names = args.scenes or known
    for name in names:
        if name not in known:
            parser.error(f"{name}: not one of {', '.join(known)}")
    rows, worst, versions, notes = [], 0.0, {}, []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for name in names:
            print(f"== {name}", file=sys.stderr, flush=True)
            if name == "dm_loop":
                if not pathlib.Path(args.dm_loop).exists():
                    notes.append(f"The DM loop is left out: no {args.dm_loop}.")
                    print(notes[-1], file=sys.stderr)
                    continue

                def per_psf(text):
                    return 1.0 / float(re.search(r"dm_loop: ([0-9.]+) PSF/s", text).group(1))

                try:
                    ours = diffract_runs([args.dm_loop], args.repeat, per_psf)
                except Failed as e:
                    notes.append(f"The DM loop is left out: {e}.")
                    print(notes[-1], file=sys.stderr)
                    continue
                poppy = run_child("poppy-dm", name, peer_repeat, tmp / "poppy.npy")
                hcipy = run_child("hcipy-dm", name, peer_repeat, tmp / "hcipy.npy")
                error = None
            else:
                scene = ROOT / "benches" / "scenes" / f"{name}.toml"
                out = tmp / f"{name}.fits"
                command = [args.cli, "psf", str(scene), "-o", str(out), "--overwrite", "-q"]
                ours = diffract_runs(command, args.repeat)
                poppy = run_child("poppy", name, peer_repeat, tmp / "poppy.npy")
                hcipy = None
                if name in hcipy_systems.SYSTEMS:
                    hcipy = run_child("hcipy", name, peer_repeat, tmp / "hcipy.npy")
                error = relative_l2(out, tmp / "poppy.npy")
                worst = max(worst, error)
            versions["POPPY"] = poppy["version"]
            if hcipy:
                versions["HCIPy"] = hcipy["version"]
            rows.append((name, ours, poppy, hcipy, error))
            done = f"   diffract {ours[0]:.4f} s, POPPY {min(poppy['times']):.4f} s"
            if hcipy:
                done += f", HCIPy {min(hcipy['times']):.4f} s"
            if error is not None:
                done += f", rel L2 {error:.1e}"
            print(done, file=sys.stderr, flush=True)

    def fmt(s):
        return f"{s * 1e3:.2f} ms" if s < 0.1 else seconds(s)

    print(
        "| scene | diffract best / median | POPPY best | diffract / POPPY | HCIPy best | "
        "diffract / HCIPy | peak RSS diffract / POPPY / HCIPy (MiB) | rel L2 vs POPPY |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, (best, median, rss), poppy, hcipy, error in rows:
        label = f"{name} (per PSF)" if name == "dm_loop" else name
        p_best = min(poppy["times"])
        h_best = min(hcipy["times"]) if hcipy else None
        cells = [
            label,
            f"{fmt(best)} / {fmt(median)}",
            fmt(p_best),
            f"{best / p_best:.3f}x",
            fmt(h_best) if hcipy else "-",
            f"{best / h_best:.3f}x" if hcipy else "-",
            f"{mib(rss)} / {mib(poppy['rss'])} / {mib(hcipy['rss']) if hcipy else '-'}",
            "-" if error is None else f"{error:.1e}",
        ]
        print("| " + " | ".join(cells) + " |")
    engines = "".join(f"{k} {v}, " for k, v in versions.items())
    print(
        f"\nMeasured by `cargo xtask peers` on {host}; {engines}numpy "
        f"{importlib.metadata.version('numpy')} (its FFT and bundled OpenBLAS; "
        f"OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for them); diffract{commit()} with "
        f"default options, best and median of {args.repeat} run(s) after a warm-up; POPPY "
        f"and HCIPy best of {peer_repeat}."
    )
    for note in notes:
        print(f"\n{note}")
    if worst > TOLERANCE:
        print(f"diffract differs from POPPY by {worst:.1e} (tolerance 1e-4)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except Failed as e:
        sys.exit(f"error: {e}")
