//! `cargo xtask peers --python PATH [--repeat N] [--no-write]`: diffract beside POPPY 1.1.2
//! and HCIPy 0.7 on the benchmark scenes and the DM loop.
//!
//! Checks that PATH imports poppy 1.1.2 and hcipy 0.7, builds the release command line and
//! the `dm_loop` example, runs `benches/peers/peers.py` with that Python (which measures:
//! each engine in a process of its own, times, peak memory, diffract's PSF against POPPY's)
//! and writes the table it prints into docs/performance.md between `<!-- peers:start -->`
//! and `<!-- peers:end -->` (with `--no-write`, prints it only).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const START: &str = "<!-- peers:start -->";
const END: &str = "<!-- peers:end -->";
const MAKE_PYTHON: &str =
    "python3 -m venv /tmp/peer && /tmp/peer/bin/pip install poppy==1.1.2 hcipy==0.7.1";

/// The repository's root (xtask's parent folder).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the repository").into()
}

/// Runs the comparison with `python`; `repeat` runs of diffract (POPPY and HCIPy: up to 3);
/// `write` puts the table into docs/performance.md.
pub fn run(python: &Path, repeat: usize, write: bool) -> Result<(), String> {
    check_python(python)?;
    cargo_build(&["-p", "diffract-cli"])?;
    cargo_build(&["-p", "diffract", "--example", "dm_loop"])?;
    let target = release_dir();
    let cli = target.join("diffract");
    let dm_loop = target.join("examples/dm_loop");
    let repeat = repeat.to_string();
    let args = ["--cli".as_ref(), cli.as_os_str(), "--dm-loop".as_ref(), dm_loop.as_os_str()];
    let table = run_script(
        python,
        "peers.py",
        args.into_iter().chain(["--repeat".as_ref(), repeat.as_ref()]),
    )?;
    if write {
        write_performance(START, END, &table)?;
    }
    Ok(())
}

/// Runs benches/peers/`script` with `python` and `args`, its errors shown as they come;
/// prints and returns what it writes on stdout (its table), or fails when it fails.
pub(crate) fn run_script<'a>(
    python: &Path,
    script: &str,
    args: impl IntoIterator<Item = &'a std::ffi::OsStr>,
) -> Result<String, String> {
    let output = Command::new(python)
        .arg(root().join("benches/peers").join(script))
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    let table = String::from_utf8_lossy(&output.stdout).into_owned();
    print!("{table}");
    if !output.status.success() {
        return Err(format!("benches/peers/{script} failed ({})", output.status));
    }
    Ok(table)
}

/// `cargo build --release --quiet` with `args`, in the repository.
pub(crate) fn cargo_build(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["build", "--release", "--quiet"])
        .args(args)
        .current_dir(root())
        .status();
    match status {
        Ok(s) if s.success() => Ok(()),
        _ => Err(format!("cargo build --release {} failed", args.join(" "))),
    }
}

/// The folder of the release binaries (`CARGO_TARGET_DIR` or target, then release).
pub(crate) fn release_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
        .join("release")
}

/// Writes `table` into docs/performance.md between the markers `start` and `end`.
pub(crate) fn write_performance(start: &str, end: &str, table: &str) -> Result<(), String> {
    let doc = root().join("docs/performance.md");
    let text = std::fs::read_to_string(&doc).map_err(|e| format!("{}: {e}", doc.display()))?;
    let new = splice(&text, start, end, table.trim_end())
        .ok_or_else(|| format!("{}: no {start} ... {end} markers", doc.display()))?;
    std::fs::write(&doc, new).map_err(|e| format!("{}: {e}", doc.display()))?;
    eprintln!("wrote the table into {}", doc.display());
    Ok(())
}

/// `text` with what lies between the markers `start` and `end` replaced by `table`.
fn splice(text: &str, start: &str, end: &str, table: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = from + text[from..].find(end)?;
    Some(format!("{}\n\n{table}\n\n{}", &text[..from], &text[to..]))
}

/// What `python -c probe` prints, trimmed, when it succeeds.
pub fn probe_python(python: &Path, probe: &str) -> Option<String> {
    Command::new(python)
        .args(["-c", probe])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// Fails, with how to make one, unless `python` imports poppy 1.1.2, hcipy 0.7 and astropy.
fn check_python(python: &Path) -> Result<(), String> {
    let probe = "import astropy, hcipy, poppy; print(poppy.__version__, hcipy.__version__)";
    let found = probe_python(python, probe);
    match found.as_deref().map(|v| v.split_once(' ')) {
        Some(Some(("1.1.2", hcipy))) if hcipy.starts_with("0.7") => Ok(()),
        _ => Err(format!(
            "{} does not import poppy 1.1.2, hcipy 0.7 and astropy ({}); make such a Python \
             with: {MAKE_PYTHON}",
            python.display(),
            found.map_or("import failed".into(), |v| format!("found {v}")),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_between_markers() {
        let text = format!("a\n{START}\nold\n{END}\nb\n");
        let new = splice(&text, START, END, "| t |").unwrap();
        assert_eq!(new, format!("a\n{START}\n\n| t |\n\n{END}\nb\n"));
        assert_eq!(splice(&new, START, END, "| t |").unwrap(), new);
        assert!(splice("no markers", START, END, "x").is_none());
    }
}
