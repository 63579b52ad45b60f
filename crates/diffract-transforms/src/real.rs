//! The floating-point types transforms run in (f64, the default, and f32), and the
//! per-precision entry points of the GEMM libraries.

use num_complex::Complex;
use num_traits::{Float, FloatConst};
use std::fmt::Debug;

/// A real scalar the transforms are generic over: `f64` (compared with POPPY) or `f32`.
pub trait Real:
    rustfft::FftNum + Float + FloatConst + Default + Debug + Send + Sync + 'static
{
    /// Converts from f64, rounding to this precision.
    fn of(v: f64) -> Self;

    /// Converts to f64 exactly.
    fn as_f64(self) -> f64;

    /// `c = a * b` with the `matrixmultiply` crate; strides are in elements.
    ///
    /// # Safety
    ///
    /// The pointers and strides must describe an `m x k` matrix `a`, a `k x n` matrix `b`
    /// and an `m x n` matrix `c` that does not overlap either.
    #[allow(clippy::too_many_arguments)]
    unsafe fn matrixmultiply_cgemm(
        m: usize,
        k: usize,
        n: usize,
        a: *const Complex<Self>,
        rsa: isize,
        csa: isize,
        b: *const Complex<Self>,
        rsb: isize,
        csb: isize,
        c: *mut Complex<Self>,
        rsc: isize,
        csc: isize,
    );

    /// `c = a * b` for real matrices with the `matrixmultiply` crate; strides in elements.
    ///
    /// # Safety
    ///
    /// As [`Real::matrixmultiply_cgemm`].
    #[allow(clippy::too_many_arguments)]
    unsafe fn matrixmultiply_gemm(
        m: usize,
        k: usize,
        n: usize,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    );
}

macro_rules! impl_real {
    ($t:ty, $mm:ident, $mmr:ident) => {
        impl Real for $t {
            fn of(v: f64) -> Self {
                v as $t
            }

            fn as_f64(self) -> f64 {
                self as f64
            }

            unsafe fn matrixmultiply_gemm(
                m: usize,
                k: usize,
                n: usize,
                a: *const Self,
                rsa: isize,
                csa: isize,
                b: *const Self,
                rsb: isize,
                csb: isize,
                c: *mut Self,
                rsc: isize,
                csc: isize,
            ) {
                // SAFETY: forwarded from the caller's contract.
                unsafe {
                    matrixmultiply::$mmr(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, 0.0, c, rsc, csc)
                }
            }

            unsafe fn matrixmultiply_cgemm(
                m: usize,
                k: usize,
                n: usize,
                a: *const Complex<Self>,
                rsa: isize,
                csa: isize,
                b: *const Complex<Self>,
                rsb: isize,
                csb: isize,
                c: *mut Complex<Self>,
                rsc: isize,
                csc: isize,
            ) {
                use matrixmultiply::CGemmOption::Standard;
                // Complex<T> is #[repr(C)] { re, im }, the same layout as [T; 2].
                // SAFETY: forwarded from the caller's contract.
                unsafe {
                    matrixmultiply::$mm(
                        Standard,
                        Standard,
                        m,
                        k,
                        n,
                        [1.0, 0.0],
                        a.cast(),
                        rsa,
                        csa,
                        b.cast(),
                        rsb,
                        csb,
                        [0.0, 0.0],
                        c.cast(),
                        rsc,
                        csc,
                    )
                }
            }
        }
    };
}

impl_real!(f64, zgemm, dgemm);
impl_real!(f32, cgemm, sgemm);
