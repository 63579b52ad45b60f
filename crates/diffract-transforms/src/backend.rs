//! Run-time choice among the compiled FFT and GEMM backends.

use crate::TransformError;
use std::fmt;
use std::str::FromStr;

/// FFT implementations. One spelling per backend everywhere: `name()` = Cargo feature = CLI
/// value = benchmark id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FftBackend {
    /// RustFFT, pure Rust; always compiled. The default.
    #[default]
    RustFft,
    /// FFTW 3 from the system library (GPL); feature `fftw`.
    Fftw,
}

impl FftBackend {
    /// Every FFT backend this version knows, compiled or not.
    pub const ALL: &'static [FftBackend] = &[FftBackend::RustFft, FftBackend::Fftw];

    /// The backend's name as used by features, the CLI and benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            FftBackend::RustFft => "rustfft",
            FftBackend::Fftw => "fftw",
        }
    }

    /// Whether this build contains the backend.
    pub fn is_compiled(self) -> bool {
        match self {
            FftBackend::RustFft => true,
            FftBackend::Fftw => cfg!(feature = "fftw"),
        }
    }

    /// The compiled backends, in [`FftBackend::ALL`] order.
    pub fn compiled() -> impl Iterator<Item = FftBackend> {
        Self::ALL.iter().copied().filter(|b| b.is_compiled())
    }

    /// Returns `self` if compiled in, or the error naming the feature to build with.
    ///
    /// # Errors
    ///
    /// [`TransformError::NotCompiled`] when this build lacks the backend.
    pub fn ensure_compiled(self) -> Result<Self, TransformError> {
        if self.is_compiled() {
            Ok(self)
        } else {
            Err(TransformError::NotCompiled {
                kind: "FFT",
                name: self.name(),
                feature: self.name(),
            })
        }
    }
}

/// Matrix-product implementations behind the matrix Fourier transform.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GemmBackend {
    /// The `gemm` crate (with AVX-512 kernels chosen at run time); always compiled. The default.
    #[default]
    Gemm,
    /// The `matrixmultiply` crate, portable and single-threaded; always compiled.
    MatrixMultiply,
    /// A system BLAS (OpenBLAS); feature `blas`.
    Blas,
}

impl GemmBackend {
    /// Every GEMM backend this version knows, compiled or not.
    pub const ALL: &'static [GemmBackend] =
        &[GemmBackend::Gemm, GemmBackend::MatrixMultiply, GemmBackend::Blas];

    /// The backend's name as used by features, the CLI and benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            GemmBackend::Gemm => "gemm",
            GemmBackend::MatrixMultiply => "matrixmultiply",
            GemmBackend::Blas => "blas",
        }
    }

    /// Whether this build contains the backend.
    pub fn is_compiled(self) -> bool {
        match self {
            GemmBackend::Gemm | GemmBackend::MatrixMultiply => true,
            GemmBackend::Blas => cfg!(feature = "blas"),
        }
    }

    /// The compiled backends, in [`GemmBackend::ALL`] order.
    pub fn compiled() -> impl Iterator<Item = GemmBackend> {
        Self::ALL.iter().copied().filter(|b| b.is_compiled())
    }

    /// Returns `self` if compiled in, or the error naming the feature to build with.
    ///
    /// # Errors
    ///
    /// [`TransformError::NotCompiled`] when this build lacks the backend.
    pub fn ensure_compiled(self) -> Result<Self, TransformError> {
        if self.is_compiled() {
            Ok(self)
        } else {
            Err(TransformError::NotCompiled {
                kind: "GEMM",
                name: self.name(),
                feature: self.name(),
            })
        }
    }
}

fn parse_backend<T: Copy>(
    kind: &'static str,
    s: &str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<T, TransformError> {
    all.iter().copied().find(|b| name(*b) == s).ok_or_else(|| TransformError::UnknownBackend {
        kind,
        given: s.to_string(),
        allowed: all.iter().map(|b| name(*b)).collect::<Vec<_>>().join(", "),
    })
}

impl FromStr for FftBackend {
    type Err = TransformError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_backend("FFT", s, Self::ALL, Self::name)
    }
}

impl FromStr for GemmBackend {
    type Err = TransformError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_backend("GEMM", s, Self::ALL, Self::name)
    }
}

impl fmt::Display for FftBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for GemmBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str() {
        for &b in GemmBackend::ALL {
            assert_eq!(b.name().parse::<GemmBackend>().unwrap(), b);
        }
        for &b in FftBackend::ALL {
            assert_eq!(b.name().parse::<FftBackend>().unwrap(), b);
        }
    }

    /// A backend asks for its feature when it is not built, and is usable when it is: an
    /// assertion runs in every feature build.
    #[test]
    fn backends_not_built_name_their_feature() {
        if GemmBackend::Blas.is_compiled() {
            assert_eq!(GemmBackend::Blas.ensure_compiled().unwrap(), GemmBackend::Blas);
        } else {
            let e = GemmBackend::Blas.ensure_compiled().unwrap_err().to_string();
            assert_eq!(e, "GEMM backend 'blas' is not compiled in; rebuild with `--features blas`");
        }
        if FftBackend::Fftw.is_compiled() {
            assert_eq!(FftBackend::Fftw.ensure_compiled().unwrap(), FftBackend::Fftw);
        } else {
            let e = FftBackend::Fftw.ensure_compiled().unwrap_err().to_string();
            assert_eq!(e, "FFT backend 'fftw' is not compiled in; rebuild with `--features fftw`");
        }
    }

    #[test]
    fn unknown_names_list_the_choices() {
        let err = "mkl".parse::<GemmBackend>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown GEMM backend 'mkl'; expected one of: gemm, matrixmultiply, blas"
        );
    }
}
