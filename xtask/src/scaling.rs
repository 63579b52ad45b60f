//! `cargo xtask scaling --python PATH [--no-write] [ARGS]`: time and peak memory of diffract
//! and POPPY 1.1.2 against the pupil size (256 to 4096) and the number of wavelengths (1 to
//! 100) on the Lyot coronagraph, with the fitted log-log slopes.
//!
//! Checks that PATH imports poppy 1.1.2, astropy and matplotlib, builds the release command
//! line, runs `benches/peers/scaling.py` with that Python (which measures: each case of
//! each engine in a process of its own) with the plots going to docs/img, and writes the
//! Markdown it prints into docs/performance.md between `<!-- scaling:start -->` and
//! `<!-- scaling:end -->`. With `--no-write`, prints it only and puts the plots into
//! target/scaling. ARGS go to scaling.py as they are (`--sizes 256,512 --wavelengths 1,3
//! --repeat 1`, `--quick`, `--engines diffract`, `--time-limit S`, `--memory-limit GIB`,
//! `--plots DIR`; `--help` lists them).

use crate::peers::{cargo_build, probe_python, release_dir, root, run_script, write_performance};
use std::path::Path;

const START: &str = "<!-- scaling:start -->";
const END: &str = "<!-- scaling:end -->";
const MAKE_PYTHON: &str =
    "python3 -m venv /tmp/peer && /tmp/peer/bin/pip install poppy==1.1.2 matplotlib";

/// Runs the sweeps with `python`, passing `args` on to scaling.py; `write` puts the table
/// into docs/performance.md and the plots into docs/img (else target/scaling).
pub fn run(python: &Path, args: &[String], write: bool) -> Result<(), String> {
    check_python(python)?;
    let root = root();
    cargo_build(&["-p", "diffract-cli"])?;
    let plots = if write { root.join("docs/img") } else { root.join("target/scaling") };
    let cli = release_dir().join("diffract");
    let fixed = ["--cli".as_ref(), cli.as_os_str(), "--plots".as_ref(), plots.as_os_str()];
    let table =
        run_script(python, "scaling.py", fixed.into_iter().chain(args.iter().map(|a| a.as_ref())))?;
    if write && !args.iter().any(|a| a == "-h" || a == "--help") {
        write_performance(START, END, &table)?;
    }
    Ok(())
}

/// Fails, with how to make one, unless `python` imports poppy 1.1.2, astropy and matplotlib.
fn check_python(python: &Path) -> Result<(), String> {
    let probe = "import astropy, matplotlib, poppy; print(poppy.__version__)";
    let found = probe_python(python, probe);
    match found.as_deref() {
        Some("1.1.2") => Ok(()),
        _ => Err(format!(
            "{} does not import poppy 1.1.2, astropy and matplotlib ({}); make such a Python \
             with: {MAKE_PYTHON}",
            python.display(),
            found.map_or("import failed".into(), |v| format!("found poppy {v}")),
        )),
    }
}
