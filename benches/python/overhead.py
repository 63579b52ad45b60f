"""What the Python package adds to the command line's time on the benchmark scenes.

For each scene of benches/scenes, best and median of --repeat runs (default 5) of:

- cli: the whole `diffract psf SCENE -o FILE -q` process (start to FITS written);
- python: `diffract.load_scene(SCENE).calc_psf()` in one Python process (read, compute,
  the astropy HDUList built);
- rust: the extension call alone, `diffract._diffract.compute_psf(text)` (parse, compute,
  the arrays and header cards handed to Python).

The Python layer's own share is python - rust; the package's overhead against the command
line is (python - cli) / cli (negative: faster, as no file is written and no process
started). Run from the repository root with the package installed, e.g.

    cargo xtask test --python-only   # builds target/py-test-venv
    target/py-test-venv/bin/python benches/python/overhead.py --cli target/release/diffract

It prints a Markdown table (docs/performance.md, "Python").
"""

import argparse
import functools
import pathlib
import statistics
import subprocess
import tempfile
import time

import diffract
from diffract import _diffract

ROOT = pathlib.Path(__file__).resolve().parents[2]


def timed(fn, repeat):
    """(best, median) seconds of `repeat` calls of fn, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", default=str(ROOT / "target" / "release" / "diffract"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("scenes", nargs="*", type=pathlib.Path)
    args = parser.parse_args()
    scenes = args.scenes or sorted((ROOT / "benches" / "scenes").glob("*.toml"))
    print(
        "| scene | cli best / median | python best / median | rust call best | "
        "Python layer (python - rust) | python vs cli |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "psf.fits"
        for path in scenes:
            text = path.read_text()
            command = [args.cli, "psf", str(path), "-o", str(out), "--overwrite", "-q"]
            cli = timed(functools.partial(subprocess.run, command, check=True), args.repeat)
            scene = diffract.load_scene(path)
            python = timed(scene.calc_psf, args.repeat)
            rust = timed(
                functools.partial(_diffract.compute_psf, text, file=str(path)), args.repeat
            )
            layer = python[0] - rust[0]
            ratio = (python[0] - cli[0]) / cli[0]
            print(
                f"| {path.stem} | {cli[0]:.3f} / {cli[1]:.3f} s | {python[0]:.3f} / "
                f"{python[1]:.3f} s | {rust[0]:.3f} s | {layer * 1e3:.1f} ms "
                f"({layer / cli[0]:.1%} of cli) | {ratio:+.1%} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
