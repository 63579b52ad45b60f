//! Complex matrix products on the selected GEMM backend.

use crate::{GemmBackend, Real, TransformError};
use diffract_parallel::Par;
use ndarray::{ArrayView2, ArrayViewMut2};
use num_complex::Complex;
use std::any::TypeId;

/// `c = a * b` for complex matrices, on `backend` with parallelism `par`.
///
/// `matrixmultiply` is single-threaded and ignores `par`.
///
/// # Errors
///
/// [`TransformError::Shape`] when the shapes do not chain, and
/// [`TransformError::NotCompiled`] for a backend missing from this build.
pub fn complex_matmul<T: Real>(
    backend: GemmBackend,
    par: Par,
    a: ArrayView2<'_, Complex<T>>,
    b: ArrayView2<'_, Complex<T>>,
    c: ArrayViewMut2<'_, Complex<T>>,
) -> Result<(), TransformError> {
    let (zero, one) = (Complex::new(T::zero(), T::zero()), Complex::new(T::one(), T::zero()));
    matmul(backend, par, a, b, c, zero, one, (true, TypeId::of::<T>()), T::matrixmultiply_cgemm)
}

/// `c = a * b` for real matrices, on `backend` with parallelism `par`.
///
/// # Errors
///
/// As [`complex_matmul`].
pub fn real_matmul<T: Real>(
    backend: GemmBackend,
    par: Par,
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    c: ArrayViewMut2<'_, T>,
) -> Result<(), TransformError> {
    matmul(
        backend,
        par,
        a,
        b,
        c,
        T::zero(),
        T::one(),
        (false, TypeId::of::<T>()),
        T::matrixmultiply_gemm,
    )
}

/// The `matrixmultiply` entry point for element type `E`.
type MatrixMultiplyFn<E> = unsafe fn(
    usize,
    usize,
    usize,
    *const E,
    isize,
    isize,
    *const E,
    isize,
    isize,
    *mut E,
    isize,
    isize,
);

/// `c = a * b` for elements `E`: real or complex (`kind.0`) of the real type `kind.1`.
#[allow(clippy::too_many_arguments)]
#[cfg_attr(not(feature = "blas"), allow(unused_variables))]
fn matmul<E: Copy + 'static>(
    backend: GemmBackend,
    par: Par,
    a: ArrayView2<'_, E>,
    b: ArrayView2<'_, E>,
    mut c: ArrayViewMut2<'_, E>,
    zero: E,
    one: E,
    kind: (bool, TypeId),
    matrixmultiply: MatrixMultiplyFn<E>,
) -> Result<(), TransformError> {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    if k != k2 || c.dim() != (m, n) {
        return Err(TransformError::Shape(format!(
            "cannot multiply {m}x{k} by {k2}x{n} into {}x{}",
            c.nrows(),
            c.ncols()
        )));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        c.fill(zero);
        return Ok(());
    }
    let (rsa, csa) = (a.strides()[0], a.strides()[1]);
    let (rsb, csb) = (b.strides()[0], b.strides()[1]);
    let (rsc, csc) = (c.strides()[0], c.strides()[1]);
    match backend.ensure_compiled()? {
        GemmBackend::Gemm => {
            let parallelism = match par {
                Par::Seq => gemm::Parallelism::None,
                Par::Threads(n) => gemm::Parallelism::Rayon(n),
            };
            // SAFETY: the views guarantee that pointers and strides describe matrices of the
            // checked shapes; `c` is a unique borrow, so it overlaps neither input; `E` is
            // one of the element types gemm supports (f32, f64 and their complex forms).
            unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    c.as_mut_ptr(),
                    csc,
                    rsc,
                    false,
                    a.as_ptr(),
                    csa,
                    rsa,
                    b.as_ptr(),
                    csb,
                    rsb,
                    one,
                    one,
                    false,
                    false,
                    false,
                    parallelism,
                )
            }
        }
        GemmBackend::Blas => {
            #[cfg(feature = "blas")]
            blas::gemm(
                kind.0,
                par,
                m,
                n,
                k,
                a.as_ptr().cast(),
                (rsa, csa),
                b.as_ptr().cast(),
                (rsb, csb),
                c.as_mut_ptr().cast(),
                (rsc, csc),
                kind.1,
            )?;
        }
        GemmBackend::MatrixMultiply => {
            // SAFETY: as above; `matrixmultiply` is the entry point for `E`.
            unsafe {
                matrixmultiply(
                    m,
                    k,
                    n,
                    a.as_ptr(),
                    rsa,
                    csa,
                    b.as_ptr(),
                    rsb,
                    csb,
                    c.as_mut_ptr(),
                    rsc,
                    csc,
                )
            }
        }
    }
    Ok(())
}

/// Matrix products through CBLAS (OpenBLAS).
#[cfg(feature = "blas")]
mod blas {
    use crate::TransformError;
    use diffract_parallel::Par;
    use std::any::TypeId;
    use std::os::raw::{c_int, c_void};

    extern "C" {
        fn openblas_set_num_threads(n: c_int);
    }

    /// Row-major description of a matrix with strides `(rs, cs)`: no transpose with leading
    /// dimension `rs` when rows are contiguous, transpose with `cs` when columns are.
    fn layout(
        rows: usize,
        cols: usize,
        (rs, cs): (isize, isize),
    ) -> Option<(cblas_sys::CBLAS_TRANSPOSE, c_int)> {
        if cs == 1 || cols == 1 {
            Some((cblas_sys::CBLAS_TRANSPOSE::CblasNoTrans, rs.max(cols as isize).max(1) as c_int))
        } else if rs == 1 || rows == 1 {
            Some((cblas_sys::CBLAS_TRANSPOSE::CblasTrans, cs.max(rows as isize).max(1) as c_int))
        } else {
            None
        }
    }

    /// `c = a b` for `m x k` by `k x n`; `complex` selects the complex routines; `t` is the
    /// real type (f32 or f64).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn gemm(
        complex: bool,
        par: Par,
        m: usize,
        n: usize,
        k: usize,
        a: *const c_void,
        sa: (isize, isize),
        b: *const c_void,
        sb: (isize, isize),
        c: *mut c_void,
        sc: (isize, isize),
        t: TypeId,
    ) -> Result<(), TransformError> {
        let unsupported = || TransformError::Shape("blas needs matrices with a unit stride".into());
        let (ta, lda) = layout(m, k, sa).ok_or_else(unsupported)?;
        let (tb, ldb) = layout(k, n, sb).ok_or_else(unsupported)?;
        if !(sc.1 == 1 || n == 1) {
            return Err(unsupported());
        }
        let ldc = sc.0.max(n as isize).max(1) as c_int;
        let (m, n, k) = (m as c_int, n as c_int, k as c_int);
        use cblas_sys::CBLAS_LAYOUT::CblasRowMajor as R;
        // SAFETY: the callers pass pointers and strides of live matrices of these shapes,
        // `c` not overlapping `a` or `b`; `t` is the element type behind the pointers.
        unsafe {
            openblas_set_num_threads(par.threads() as c_int);
            if t == TypeId::of::<f64>() {
                if complex {
                    let (one, zero) = ([1.0f64, 0.0], [0.0f64, 0.0]);
                    cblas_sys::cblas_zgemm(
                        R,
                        ta,
                        tb,
                        m,
                        n,
                        k,
                        &one,
                        a.cast(),
                        lda,
                        b.cast(),
                        ldb,
                        &zero,
                        c.cast(),
                        ldc,
                    );
                } else {
                    cblas_sys::cblas_dgemm(
                        R,
                        ta,
                        tb,
                        m,
                        n,
                        k,
                        1.0,
                        a.cast(),
                        lda,
                        b.cast(),
                        ldb,
                        0.0,
                        c.cast(),
                        ldc,
                    );
                }
            } else if complex {
                let (one, zero) = ([1.0f32, 0.0], [0.0f32, 0.0]);
                cblas_sys::cblas_cgemm(
                    R,
                    ta,
                    tb,
                    m,
                    n,
                    k,
                    &one,
                    a.cast(),
                    lda,
                    b.cast(),
                    ldb,
                    &zero,
                    c.cast(),
                    ldc,
                );
            } else {
                cblas_sys::cblas_sgemm(
                    R,
                    ta,
                    tb,
                    m,
                    n,
                    k,
                    1.0,
                    a.cast(),
                    lda,
                    b.cast(),
                    ldb,
                    0.0,
                    c.cast(),
                    ldc,
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn naive(a: &Array2<Complex<f64>>, b: &Array2<Complex<f64>>) -> Array2<Complex<f64>> {
        let mut c = Array2::zeros((a.nrows(), b.ncols()));
        for i in 0..a.nrows() {
            for j in 0..b.ncols() {
                for k in 0..a.ncols() {
                    c[[i, j]] += a[[i, k]] * b[[k, j]];
                }
            }
        }
        c
    }

    /// Reference: the triple loop above; tolerance 1e-12 of the largest entry.
    #[test]
    fn every_backend_matches_the_naive_product_including_transposed_views() {
        let a = Array2::from_shape_fn((7, 5), |(i, j)| {
            Complex::new(i as f64 - 1.5 * j as f64, 0.3 * (i * j) as f64)
        });
        let b = Array2::from_shape_fn((5, 9), |(i, j)| {
            Complex::new((i + 2 * j) as f64 * 0.1, -(i as f64))
        });
        let want = naive(&a, &b);
        let bt = b.t().to_owned();
        for backend in GemmBackend::compiled() {
            for par in [Par::Seq, Par::Threads(2)] {
                let mut c = Array2::zeros((7, 9));
                complex_matmul(backend, par, a.view(), b.view(), c.view_mut()).unwrap();
                let err = (&c - &want).iter().map(|z| z.norm()).fold(0.0, f64::max);
                assert!(err < 1e-12 * 50.0, "{backend} {par:?}: {err}");
                let mut c2 = Array2::zeros((7, 9));
                complex_matmul(backend, par, a.view(), bt.t(), c2.view_mut()).unwrap();
                assert!((&c2 - &want).iter().all(|z| z.norm() < 1e-10), "{backend} transposed");
            }
        }
    }

    #[test]
    fn mismatched_shapes_are_an_error() {
        let a = Array2::<Complex<f64>>::zeros((3, 4));
        let b = Array2::<Complex<f64>>::zeros((5, 2));
        let mut c = Array2::zeros((3, 2));
        let err = complex_matmul(GemmBackend::Gemm, Par::Seq, a.view(), b.view(), c.view_mut());
        assert!(matches!(err, Err(TransformError::Shape(_))));
    }
}
