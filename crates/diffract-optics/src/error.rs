//! The error type of the optics crate.

/// A parameter outside what an optic allows.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum OpticsError {
    /// A parameter value the optic cannot take.
    #[error("{optic}: {key} = {value} is invalid; {allowed}")]
    Invalid {
        /// The optic's scene kind, e.g. "circular_aperture".
        optic: &'static str,
        /// The parameter's scene key.
        key: &'static str,
        /// The value given, as text.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
    /// An array that cannot describe an optic.
    #[error("{key} {message}")]
    Array {
        /// Which array ("transmission", "opd").
        key: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

impl OpticsError {
    pub(crate) fn invalid(
        optic: &'static str,
        key: &'static str,
        value: impl ToString,
        allowed: &'static str,
    ) -> Self {
        OpticsError::Invalid { optic, key, value: value.to_string(), allowed }
    }
}

/// Checks that `v` is finite and > 0.
pub(crate) fn positive(optic: &'static str, key: &'static str, v: f64) -> Result<f64, OpticsError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(OpticsError::invalid(optic, key, v, "must be a finite number > 0"))
    }
}

/// Checks that `v` is finite and >= 0.
pub(crate) fn non_negative(
    optic: &'static str,
    key: &'static str,
    v: f64,
) -> Result<f64, OpticsError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(OpticsError::invalid(optic, key, v, "must be a finite number >= 0"))
    }
}

/// Checks that `v` is finite.
pub(crate) fn finite(optic: &'static str, key: &'static str, v: f64) -> Result<f64, OpticsError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(OpticsError::invalid(optic, key, v, "must be a finite number"))
    }
}
