//! `cargo xtask test`: every test suite of the repository, the README's test command.
//!
//! 1. `cargo test --workspace --exclude diffract-py`: unit, POPPY parity, physics and
//!    command-line tests (the Python package's crate holds no Rust tests; leaving it out
//!    keeps libpython out of the test build).
//! 2. The Python package: a virtual environment `target/py-test-venv` (made once, with the
//!    interpreter of `$DIFFRACT_PYTHON`, else `python3`), numpy, astropy and pytest from
//!    the package registry, `pip install` of the repository (maturin builds the extension
//!    in release mode), the test extra's dask, photutils and matplotlib, the command line
//!    (release, for
//!    the scene round-trip tests, `$DIFFRACT_CLI`), then `pytest crates/diffract-py/tests`.
//!
//! `--python-only` skips step 1.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root (xtask's parent folder).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the repository").into()
}

/// Runs `cmd` from the repository root, echoing it; an error names the command.
fn run(cmd: &mut Command) -> Result<(), String> {
    cmd.current_dir(root());
    let shown = format!("{cmd:?}").replace('"', "");
    println!("== {shown}");
    match cmd.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("{shown} failed ({status})")),
        Err(e) => Err(format!("{shown} could not start: {e}")),
    }
}

/// Runs the suites; `python_only` skips the cargo tests.
pub fn run_all(python_only: bool) -> Result<(), String> {
    if !python_only {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        run(Command::new(cargo).args(["test", "--workspace", "--exclude", "diffract-py"]))?;
    }
    python_tests()
}

fn python_tests() -> Result<(), String> {
    let root = root();
    let venv = root.join("target/py-test-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        let base = std::env::var("DIFFRACT_PYTHON").unwrap_or_else(|_| "python3".into());
        run(Command::new(base).arg("-m").arg("venv").arg(&venv))?;
    }
    let pip = |args: &[&str]| {
        let mut cmd = Command::new(&python);
        cmd.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"]).args(args);
        cmd
    };
    // The package's dependencies and its `test` extra (pyproject.toml: pytest, dask's
    // distributed scheduler, photutils, matplotlib), then the package itself, rebuilt
    // every time.
    run(&mut pip(&[
        "numpy>=1.24",
        "astropy",
        "pytest",
        "dask[distributed]",
        "photutils",
        "matplotlib",
    ]))?;
    run(pip(&["--force-reinstall", "--no-deps"]).arg(&root))?;
    // The command line, for the tests that run a scene saved from Python through it.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo).args(["build", "--release", "--quiet", "-p", "diffract-cli"]))?;
    let cli = root.join("target/release/diffract");
    run(Command::new(&python)
        .args(["-m", "pytest", "-q", "crates/diffract-py/tests"])
        .env("DIFFRACT_CLI", cli))
}
