//! Complex matrix products on the selected GEMM backend.

use crate::{GemmBackend, Real, TransformError};
use diffract_parallel::Par;
use ndarray::{ArrayView2, ArrayViewMut2};
use num_complex::Complex;

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
    mut c: ArrayViewMut2<'_, Complex<T>>,
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
        c.fill(Complex::new(T::zero(), T::zero()));
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
            let one = Complex::new(T::one(), T::zero());
            // SAFETY: the views guarantee that pointers and strides describe matrices of the
            // checked shapes; `c` is a unique borrow, so it overlaps neither input.
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
        GemmBackend::MatrixMultiply => {
            // SAFETY: as above.
            unsafe {
                T::matrixmultiply_cgemm(
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
    mut c: ArrayViewMut2<'_, T>,
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
        c.fill(T::zero());
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
            // SAFETY: as in complex_matmul.
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
                    T::one(),
                    T::one(),
                    false,
                    false,
                    false,
                    parallelism,
                )
            }
        }
        GemmBackend::MatrixMultiply => {
            // SAFETY: as in complex_matmul.
            unsafe {
                T::matrixmultiply_gemm(
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
