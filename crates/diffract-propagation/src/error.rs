//! The error type of the propagation crate.

use diffract_optics::OpticsError;
use diffract_transforms::TransformError;

/// What can go wrong when building a system or computing a PSF.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PropagationError {
    /// An optic's parameters.
    #[error(transparent)]
    Optics(#[from] OpticsError),
    /// A transform backend or geometry.
    #[error(transparent)]
    Transform(#[from] TransformError),
    /// A value outside its allowed range.
    #[error("{what} = {value} is invalid; {allowed}")]
    Invalid {
        /// What the value is.
        what: &'static str,
        /// The value given, as text.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
    /// A system that cannot be computed as described.
    #[error("{0}")]
    System(String),
    /// Threaded FFTW transforms inside several parallel workers.
    #[error(
        "--fftw-threads {threads} with {workers} workers would run {threads} FFTW threads inside each \
         worker and oversubscribe the cores; use --workers 1 with FFTW threads, or --fftw-threads 1 \
         with several workers"
    )]
    FftwThreads {
        /// FFTW threads asked for.
        threads: usize,
        /// Workers asked for.
        workers: usize,
    },
    /// The run would need more memory than the machine has free.
    #[error(
        "this calculation needs about {needed_mib} MiB but only {available_mib} MiB are free; \
         reduce npix, oversample or the field of view, or use fewer workers"
    )]
    Memory {
        /// Estimated need, MiB.
        needed_mib: u64,
        /// Free memory, MiB.
        available_mib: u64,
    },
}

impl PropagationError {
    pub(crate) fn invalid(what: &'static str, value: impl ToString, allowed: &'static str) -> Self {
        PropagationError::Invalid { what, value: value.to_string(), allowed }
    }
}
