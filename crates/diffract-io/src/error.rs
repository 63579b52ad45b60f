//! Errors of the I/O crate.

use std::path::PathBuf;

/// A scene that cannot be read or does not describe a valid system. Displays as one line:
/// `FILE: WHERE: WHAT`.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("{}", one_line(&format!("{}{}{message}", file_prefix(.file), context_prefix(.context))))]
pub struct SceneError {
    /// The scene file, when read from one.
    pub file: Option<PathBuf>,
    /// Where in the scene: `optic 2 (circular_aperture)`, `[source]`, ... (may be empty).
    pub context: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// Escapes control characters (a newline inside a TOML string, say) so that a message that
/// quotes user input stays on one line.
fn one_line(s: &str) -> String {
    s.chars()
        .flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] })
        .collect()
}

fn file_prefix(file: &Option<PathBuf>) -> String {
    file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default()
}

fn context_prefix(context: &str) -> String {
    if context.is_empty() {
        String::new()
    } else {
        format!("{context}: ")
    }
}

/// Reading or writing FITS files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    /// The output exists and overwriting was not asked for.
    #[error("{0}: file exists; pass --overwrite to replace it")]
    Exists(PathBuf),
    /// A path that is not valid UTF-8 (cfitsio needs text paths).
    #[error("{0}: path is not valid UTF-8")]
    Path(PathBuf),
    /// An operating-system error on a file.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A FITS-level error.
    #[error("{path}: {message}")]
    Fits {
        /// The file.
        path: PathBuf,
        /// What cfitsio or the reader said.
        message: String,
    },
}
