//! The error type of the transforms crate.

/// What can go wrong when planning or running a transform.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum TransformError {
    /// A backend was asked for that this build does not contain.
    #[error("{kind} backend '{name}' is not compiled in; rebuild with `--features {feature}`")]
    NotCompiled {
        /// "FFT" or "GEMM".
        kind: &'static str,
        /// The backend's name.
        name: &'static str,
        /// The Cargo feature that adds it.
        feature: &'static str,
    },
    /// A backend name that no backend has.
    #[error("unknown {kind} backend '{given}'; expected one of: {allowed}")]
    UnknownBackend {
        /// "FFT" or "GEMM".
        kind: &'static str,
        /// What was asked for.
        given: String,
        /// The names that exist, comma-separated.
        allowed: String,
    },
    /// Array shapes that do not fit the plan.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// Geometry that cannot describe a transform (zero sizes, non-finite widths).
    #[error("invalid transform geometry: {0}")]
    Geometry(String),
}
