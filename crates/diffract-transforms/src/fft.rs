//! The 2-D FFT with POPPY's conventions.
//!
//! Pupil to image: an unnormalised positive-exponent transform (numpy's `ifft2` times N^2),
//! then `fftshift`, times `1/N`. Image to pupil: `ifftshift`, then the negative-exponent
//! transform, times `1/N`. Both are unitary. For rectangular arrays the factor is
//! `1/sqrt(rows * columns)`, which keeps them unitary (POPPY divides by the row count and
//! so supports square arrays only).
//!
//! For even sizes the shifts are folded into the transform as a checkerboard of signs
//! (`fftshift(F(x)) = F(x * (-1)^(i+j))`, `F(ifftshift(x)) = (-1)^(k+l) F(x)`), so no array
//! is rolled. Rows known to be zero on input are skipped, and an output restricted to a band
//! of rows computes only those rows in its last pass: a zero-padded pupil, or a pupil whose
//! padding is about to be cut away, costs a fraction of a full transform.

use crate::{FftBackend, Real, TransformError};
use diffract_parallel::Par;
use ndarray::{Array2, ArrayViewMut2, Axis};
use num_complex::Complex;
use rayon::prelude::*;
use rustfft::{Fft, FftPlanner};
use std::ops::Range;
use std::sync::Arc;

/// Which way a 2-D FFT goes, in optical terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FftDirection {
    /// Pupil to image plane (positive exponent, output `fftshift`ed).
    PupilToImage,
    /// Image to pupil plane (input `ifftshift`ed, negative exponent).
    ImageToPupil,
}

/// A planned 2-D FFT of one shape, both directions.
pub struct Fft2d<T: Real> {
    shape: (usize, usize),
    backend: FftBackend,
    rows: [Arc<dyn Fft<T>>; 2],
    cols: [Arc<dyn Fft<T>>; 2],
    /// FFTW plans for both directions (f64 only), when that backend was asked for.
    #[cfg(feature = "fftw")]
    fftw: Option<[fftw::Plan; 2]>,
}

impl<T: Real> std::fmt::Debug for Fft2d<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fft2d").field("shape", &self.shape).field("backend", &self.backend).finish()
    }
}

fn dir_index(d: FftDirection) -> usize {
    match d {
        FftDirection::PupilToImage => 0,
        FftDirection::ImageToPupil => 1,
    }
}

impl<T: Real> Fft2d<T> {
    /// Plans transforms of arrays of `shape` (rows, columns) on `backend`.
    ///
    /// # Errors
    ///
    /// [`TransformError::NotCompiled`] for a backend missing from this build, and
    /// [`TransformError::Geometry`] for an empty shape.
    pub fn new(shape: (usize, usize), backend: FftBackend) -> Result<Self, TransformError> {
        Self::with_threads(shape, backend, 1)
    }

    /// As [`Fft2d::new`]; an FFTW plan uses `fftw_threads` threads of its own (other
    /// backends take their parallelism from [`Par`] at execution).
    ///
    /// # Errors
    ///
    /// As [`Fft2d::new`]; FFTW supports only double precision here.
    pub fn with_threads(
        shape: (usize, usize),
        backend: FftBackend,
        fftw_threads: usize,
    ) -> Result<Self, TransformError> {
        backend.ensure_compiled()?;
        if shape.0 == 0 || shape.1 == 0 {
            return Err(TransformError::Geometry(format!(
                "FFT shape must be non-empty, got {shape:?}"
            )));
        }
        let mut planner = FftPlanner::<T>::new();
        let rows = [planner.plan_fft_inverse(shape.1), planner.plan_fft_forward(shape.1)];
        let cols = [planner.plan_fft_inverse(shape.0), planner.plan_fft_forward(shape.0)];
        #[cfg(feature = "fftw")]
        let fftw = match backend {
            FftBackend::Fftw => {
                if std::any::TypeId::of::<T>() != std::any::TypeId::of::<f64>() {
                    return Err(TransformError::Geometry(
                        "the fftw backend runs in double precision only".into(),
                    ));
                }
                Some([
                    fftw::Plan::new(shape, true, fftw_threads)?,
                    fftw::Plan::new(shape, false, fftw_threads)?,
                ])
            }
            FftBackend::RustFft => None,
        };
        #[cfg(not(feature = "fftw"))]
        let _ = fftw_threads;
        Ok(Fft2d {
            shape,
            backend,
            rows,
            cols,
            #[cfg(feature = "fftw")]
            fftw,
        })
    }

    /// The planned shape.
    pub fn shape(&self) -> (usize, usize) {
        self.shape
    }

    /// Transforms `data` in place.
    ///
    /// # Errors
    ///
    /// [`TransformError::Shape`] when `data` does not have the planned shape.
    pub fn process(
        &self,
        data: &mut Array2<Complex<T>>,
        direction: FftDirection,
        par: Par,
    ) -> Result<(), TransformError> {
        let all = 0..self.shape.0;
        self.process_rows(data, direction, par, all.clone(), all)
    }

    /// Transforms `data` in place when only `nonzero_rows` of the input can be non-zero and
    /// only `wanted_rows` of the output are needed (rows outside it are left unspecified).
    ///
    /// # Errors
    ///
    /// [`TransformError::Shape`] when `data` does not have the planned shape or a range
    /// exceeds it.
    pub fn process_rows(
        &self,
        data: &mut Array2<Complex<T>>,
        direction: FftDirection,
        par: Par,
        nonzero_rows: Range<usize>,
        wanted_rows: Range<usize>,
    ) -> Result<(), TransformError> {
        if data.dim() != self.shape || !data.is_standard_layout() {
            return Err(TransformError::Shape(format!(
                "FFT planned for {:?}, given {:?}",
                self.shape,
                data.dim()
            )));
        }
        let (ny, nx) = self.shape;
        if nonzero_rows.end > ny || wanted_rows.end > ny {
            return Err(TransformError::Shape(format!(
                "row ranges {nonzero_rows:?} and {wanted_rows:?} exceed {ny} rows"
            )));
        }
        let even = ny % 2 == 0 && nx % 2 == 0;
        if !even {
            // Odd sizes: shift by rolling, transform everything.
            if direction == FftDirection::ImageToPupil {
                roll(data.view_mut(), -((ny / 2) as isize), -((nx / 2) as isize));
            }
            self.transform(data, direction, par, 0..ny, 0..ny);
            if direction == FftDirection::PupilToImage {
                roll(data.view_mut(), (ny / 2) as isize, (nx / 2) as isize);
            }
            return Ok(());
        }
        match direction {
            FftDirection::PupilToImage => {
                checkerboard(data, nonzero_rows.clone());
                self.transform(data, direction, par, nonzero_rows, 0..ny);
            }
            FftDirection::ImageToPupil => {
                // The checkerboard comes after the transform, so the zero rows stay zero.
                self.transform(data, direction, par, nonzero_rows, wanted_rows.clone());
                checkerboard(data, wanted_rows);
            }
        }
        Ok(())
    }

    /// The bare 2-D transform of `data` in place: no shift and no scaling (positive exponent
    /// for [`FftDirection::PupilToImage`], negative for [`FftDirection::ImageToPupil`]), the
    /// rows outside `nonzero_rows` taken as zero. For callers that fold the shifts (a
    /// checkerboard for even sizes) and the `1/sqrt(rows * columns)` factor into arrays they
    /// multiply anyway; returns that factor.
    ///
    /// # Errors
    ///
    /// [`TransformError::Shape`] when `data` does not have the planned shape or the range
    /// exceeds it.
    pub fn process_bare(
        &self,
        data: &mut Array2<Complex<T>>,
        direction: FftDirection,
        par: Par,
        nonzero_rows: Range<usize>,
    ) -> Result<T, TransformError> {
        let (ny, nx) = self.shape;
        if data.dim() != self.shape || !data.is_standard_layout() || nonzero_rows.end > ny {
            return Err(TransformError::Shape(format!(
                "FFT planned for {:?}, given {:?} with non-zero rows {nonzero_rows:?}",
                self.shape,
                data.dim()
            )));
        }
        let scale = T::one() / T::of(((ny * nx) as f64).sqrt());
        self.transform_unscaled(data, direction, par, nonzero_rows, 0..ny);
        Ok(scale)
    }

    /// The unnormalised-then-scaled 2-D transform. With a restricted input, rows go first;
    /// with a restricted output, columns go first.
    fn transform(
        &self,
        data: &mut Array2<Complex<T>>,
        direction: FftDirection,
        par: Par,
        nonzero_rows: Range<usize>,
        wanted_rows: Range<usize>,
    ) {
        let (ny, nx) = self.shape;
        let scale = T::one() / T::of(((ny * nx) as f64).sqrt());
        let scaled = self.transform_unscaled(data, direction, par, nonzero_rows, wanted_rows);
        let slice = data.as_slice_mut().expect("standard layout");
        scale_rows(slice, nx, scaled, scale);
    }

    /// The unnormalised 2-D transform; returns the rows it computed (all of them for a
    /// whole-array backend), which the caller scales. With a restricted input, rows go
    /// first; with a restricted output, columns go first.
    fn transform_unscaled(
        &self,
        data: &mut Array2<Complex<T>>,
        direction: FftDirection,
        par: Par,
        nonzero_rows: Range<usize>,
        wanted_rows: Range<usize>,
    ) -> Range<usize> {
        let (ny, nx) = self.shape;
        let d = dir_index(direction);
        let slice = data.as_slice_mut().expect("standard layout");
        #[cfg(feature = "fftw")]
        if let Some(plans) = &self.fftw {
            // The whole array, in place; FFTW's new-array execute is thread-safe.
            plans[d].execute(slice.as_mut_ptr().cast());
            return 0..ny;
        }
        if wanted_rows == (0..ny) {
            // Rows (only the non-zero ones), then columns.
            transform_rows(
                &mut slice[nonzero_rows.start * nx..nonzero_rows.end * nx],
                nx,
                &self.rows[d],
                par,
            );
            // Rows that were zero stay zero: the columns read only the others (and write
            // every row, so no garbage the caller left survives).
            transform_columns(slice, (ny, nx), &self.cols[d], par, nonzero_rows, 0..ny);
            0..ny
        } else {
            // Columns (all, written back in the wanted rows only), then those rows.
            transform_columns(
                slice,
                (ny, nx),
                &self.cols[d],
                par,
                nonzero_rows,
                wanted_rows.clone(),
            );
            transform_rows(
                &mut slice[wanted_rows.start * nx..wanted_rows.end * nx],
                nx,
                &self.rows[d],
                par,
            );
            wanted_rows
        }
    }
}

/// Columns gathered per batch for the column pass: 16 complex f64 values are 256 bytes of
/// each row, and a batch of 2048-point columns (512 KiB) stays in the L2 cache.
const COLUMN_BATCH: usize = 16;

/// A raw pointer that may cross threads; each thread touches its own columns only.
#[derive(Clone, Copy)]
struct SharedMut<T>(*mut T);
// SAFETY: used only to write disjoint column batches from different threads.
unsafe impl<T: Send> Send for SharedMut<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SharedMut<T> {}

/// Rows ahead that the column pass asks the processor to fetch.
const PREFETCH_ROWS: usize = 8;

/// Asks the processor to bring the `n` values from `p` into its caches (a hint: no effect
/// on any value; nothing on other architectures).
#[inline(always)]
fn prefetch<T>(p: *const T, n: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let bytes = n * std::mem::size_of::<T>();
        for offset in (0..bytes).step_by(64) {
            // SAFETY: a prefetch never faults, whatever the address; x86-64 always has SSE.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    p.cast::<i8>().wrapping_add(offset),
                );
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, n);
}

/// FFTs of every column of the `ny x nx` row-major `data`, in batches of columns gathered
/// into a small contiguous buffer (read each row once, transform in cache, write back), so
/// no full transposed copy is made. Only the rows `read` are read (the others are taken as
/// zero) and only the rows `write` are written back (the others are left as they were):
/// a zero-padded field's zero rows cost no memory traffic, nor do rows the caller drops.
fn transform_columns<T: Real>(
    data: &mut [Complex<T>],
    (ny, nx): (usize, usize),
    fft: &Arc<dyn Fft<T>>,
    par: Par,
    read: Range<usize>,
    write: Range<usize>,
) {
    let batches = nx.div_ceil(COLUMN_BATCH);
    let ptr = SharedMut(data.as_mut_ptr());
    let len = data.len();
    let zero = Complex::new(T::zero(), T::zero());
    // Each gathered column starts one cache line after a multiple of the page size: with
    // power-of-two lengths, columns exactly `ny` apart would all fall in the same L1 sets.
    let line = 64 / std::mem::size_of::<Complex<T>>();
    let stride = ny.div_ceil(line) * line + line;
    let scratch_len = fft.get_inplace_scratch_len();
    let run = |b: usize, buf: &mut Vec<Complex<T>>| {
        let j0 = b * COLUMN_BATCH;
        let w = COLUMN_BATCH.min(nx - j0);
        buf.resize(COLUMN_BATCH * stride + scratch_len, zero);
        let (cols, scratch) = buf.split_at_mut(COLUMN_BATCH * stride);
        // Only the rows that are not read need zeros (the transform wrote everywhere).
        for column in cols.chunks_exact_mut(stride).take(w) {
            column[..read.start].fill(zero);
            column[read.end..ny].fill(zero);
        }
        let p = ptr;
        debug_assert!(ny * nx <= len && read.end <= ny && write.end <= ny);
        for i in read.clone() {
            // The rows are a page or more apart, beyond the hardware prefetchers' reach:
            // ask for the row PREFETCH_ROWS ahead.
            if i + PREFETCH_ROWS < read.end {
                // SAFETY: that row's batch lies inside `data`.
                prefetch(unsafe { p.0.add((i + PREFETCH_ROWS) * nx + j0) }, w);
            }
            for k in 0..w {
                // SAFETY: i * nx + j0 + k < ny * nx = len; batch `b` alone touches columns
                // j0..j0 + w, and `data` outlives this call.
                cols[k * stride + i] = unsafe { p.0.add(i * nx + j0 + k).read() };
            }
        }
        for column in cols.chunks_exact_mut(stride).take(w) {
            fft.process_with_scratch(&mut column[..ny], scratch);
        }
        for i in write.clone() {
            if i + PREFETCH_ROWS < write.end {
                // SAFETY: as above.
                prefetch(unsafe { p.0.add((i + PREFETCH_ROWS) * nx + j0) }, w);
            }
            for k in 0..w {
                // SAFETY: as above.
                unsafe { p.0.add(i * nx + j0 + k).write(cols[k * stride + i]) };
            }
        }
    };
    match par {
        Par::Seq => {
            let mut buf = Vec::new();
            for b in 0..batches {
                run(b, &mut buf);
            }
        }
        Par::Threads(n) => {
            // Exactly `n` tasks, each a contiguous run of batches: at most `n` threads work
            // whatever the size of the pool they run in.
            let per_task = batches.div_ceil(n.max(1));
            (0..batches.div_ceil(per_task)).into_par_iter().for_each(|t| {
                let mut buf = Vec::new();
                for b in t * per_task..((t + 1) * per_task).min(batches) {
                    run(b, &mut buf);
                }
            })
        }
    }
}

/// FFTW plans through its C interface (fftw-sys).
#[cfg(feature = "fftw")]
mod fftw {
    use crate::TransformError;
    use std::ffi::CString;
    use std::os::raw::c_int;
    use std::sync::{Mutex, Once};

    /// FFTW's planner is not thread-safe: every call but execute goes through this lock.
    static PLANNER: Mutex<()> = Mutex::new(());
    static INIT: Once = Once::new();

    #[link(name = "fftw3_threads")]
    extern "C" {
        fn fftw_init_threads() -> c_int;
        fn fftw_plan_with_nthreads(n: c_int);
    }

    /// Where plans measured on this machine are kept between runs.
    fn wisdom_path() -> Option<CString> {
        let base =
            std::env::var_os("XDG_CACHE_HOME").map(std::path::PathBuf::from).or_else(|| {
                std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache"))
            })?;
        let dir = base.join("diffract");
        std::fs::create_dir_all(&dir).ok()?;
        CString::new(dir.join("fftw-wisdom").to_str()?).ok()
    }

    /// An in-place 2-D plan, measured once (FFTW_MEASURE) and kept as wisdom.
    pub(super) struct Plan(fftw_sys::fftw_plan);

    // SAFETY: FFTW's new-array execute functions may run concurrently on one plan with
    // different arrays; creating and destroying plans is serialised by PLANNER.
    unsafe impl Send for Plan {}
    // SAFETY: as above.
    unsafe impl Sync for Plan {}

    impl Plan {
        /// `positive`: the unnormalised positive-exponent transform (FFTW_BACKWARD).
        pub(super) fn new(
            shape: (usize, usize),
            positive: bool,
            threads: usize,
        ) -> Result<Self, TransformError> {
            let _lock = PLANNER.lock().unwrap_or_else(|e| e.into_inner());
            INIT.call_once(|| {
                // SAFETY: plain library initialisation, under the planner lock.
                unsafe {
                    fftw_init_threads();
                    if let Some(p) = wisdom_path() {
                        // A missing or corrupt file is ignored (FFTW returns 0).
                        fftw_sys::fftw_import_wisdom_from_filename(p.as_ptr());
                    }
                }
            });
            let mut buf = vec![fftw_sys::fftw_complex::new(0.0, 0.0); shape.0 * shape.1];
            let sign =
                if positive { fftw_sys::FFTW_BACKWARD as c_int } else { fftw_sys::FFTW_FORWARD };
            // SAFETY: `buf` holds shape.0 * shape.1 complex values; the plan is in place and
            // unaligned, so any array of that size can be executed later.
            let plan = unsafe {
                fftw_plan_with_nthreads(threads.max(1) as c_int);
                fftw_sys::fftw_plan_dft_2d(
                    shape.0 as c_int,
                    shape.1 as c_int,
                    buf.as_mut_ptr(),
                    buf.as_mut_ptr(),
                    sign,
                    fftw_sys::FFTW_MEASURE | fftw_sys::FFTW_UNALIGNED,
                )
            };
            if plan.is_null() {
                return Err(TransformError::Geometry(format!(
                    "FFTW could not plan a {shape:?} transform"
                )));
            }
            if let Some(p) = wisdom_path() {
                // SAFETY: a NUL-terminated path; failure to write is harmless.
                unsafe { fftw_sys::fftw_export_wisdom_to_filename(p.as_ptr()) };
            }
            Ok(Plan(plan))
        }

        /// Transforms the planned number of values at `data` in place.
        pub(super) fn execute(&self, data: *mut fftw_sys::fftw_complex) {
            // SAFETY: the caller passes an array of the planned size; the plan is unaligned
            // and in place.
            unsafe { fftw_sys::fftw_execute_dft(self.0, data, data) }
        }
    }

    impl Drop for Plan {
        fn drop(&mut self) {
            let _lock = PLANNER.lock().unwrap_or_else(|e| e.into_inner());
            // SAFETY: the plan was created by fftw_plan_dft_2d and is destroyed once.
            unsafe { fftw_sys::fftw_destroy_plan(self.0) }
        }
    }
}

fn scale_rows<T: Real>(slice: &mut [Complex<T>], nx: usize, rows: Range<usize>, scale: T) {
    for v in &mut slice[rows.start * nx..rows.end * nx] {
        *v = *v * scale;
    }
}

/// Multiplies the given rows of `data` by `(-1)^(i+j)`.
fn checkerboard<T: Real>(data: &mut Array2<Complex<T>>, rows: Range<usize>) {
    for i in rows {
        let mut row = data.row_mut(i);
        let start = (i % 2) ^ 1; // first column whose sign flips: (i + j) odd
        let s = row.as_slice_mut().expect("contiguous rows");
        for v in s.iter_mut().skip(start).step_by(2) {
            *v = -*v;
        }
    }
}

fn transform_rows<T: Real>(slice: &mut [Complex<T>], len: usize, fft: &Arc<dyn Fft<T>>, par: Par) {
    if slice.is_empty() {
        return;
    }
    match par {
        Par::Seq => fft.process(slice),
        Par::Threads(n) => {
            // Exactly `n` chunks of rows: at most `n` threads work.
            let rows = slice.len() / len;
            let per_chunk = rows.div_ceil(n.max(1)).max(1);
            slice.par_chunks_mut(per_chunk * len).for_each(|chunk| fft.process(chunk));
        }
    }
}

/// Circularly shifts `a` by (dy, dx): element (i, j) moves to (i + dy, j + dx) mod shape.
pub(crate) fn roll<T: Copy>(mut a: ArrayViewMut2<'_, T>, dy: isize, dx: isize) {
    let (ny, nx) = a.dim();
    let sy = dy.rem_euclid(ny.max(1) as isize) as usize;
    let sx = dx.rem_euclid(nx.max(1) as isize) as usize;
    if sx != 0 {
        for mut row in a.axis_iter_mut(Axis(0)) {
            row.as_slice_mut().expect("contiguous rows").rotate_right(sx);
        }
    }
    if sy != 0 {
        let rows: Vec<Vec<T>> = a.axis_iter(Axis(0)).map(|r| r.to_vec()).collect();
        for (i, r) in rows.into_iter().enumerate() {
            a.row_mut((i + sy) % ny).assign(&ndarray::ArrayView1::from(&r));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_complex::Complex64;

    fn field(n: usize) -> Array2<Complex64> {
        Array2::from_shape_fn((n, n), |(i, j)| {
            Complex64::new((i * 3 + j) as f64 % 7.0, (i + 2 * j) as f64 % 5.0)
        })
    }

    /// Reference: the full transform with explicit rolls (the odd-size path run on an even
    /// array). The sign-folded shifts and the row-restricted passes agree to 1e-12.
    #[test]
    fn folded_shifts_and_partial_passes_match_the_full_transform() {
        let n = 16;
        let plan = Fft2d::<f64>::new((n, n), FftBackend::RustFft).unwrap();
        // Pupil to image with zero rows outside 4..12.
        let mut a = Array2::zeros((n, n));
        a.slice_mut(ndarray::s![4..12, ..]).assign(&field(n).slice(ndarray::s![4..12, ..]));
        let mut want = a.clone();
        plan.transform(&mut want, FftDirection::PupilToImage, Par::Seq, 0..n, 0..n);
        roll(want.view_mut(), (n / 2) as isize, (n / 2) as isize);
        let mut got = a.clone();
        plan.process_rows(&mut got, FftDirection::PupilToImage, Par::Threads(2), 4..12, 0..n)
            .unwrap();
        assert!(got.iter().zip(&want).all(|(x, y)| (x - y).norm() < 1e-12));
        // Image to pupil, only rows 5..11 wanted.
        let b = field(n);
        let mut want = b.clone();
        roll(want.view_mut(), -((n / 2) as isize), -((n / 2) as isize));
        plan.transform(&mut want, FftDirection::ImageToPupil, Par::Seq, 0..n, 0..n);
        let mut got = b.clone();
        plan.process_rows(&mut got, FftDirection::ImageToPupil, Par::Seq, 0..n, 5..11).unwrap();
        for i in 5..11 {
            for j in 0..n {
                assert!((got[[i, j]] - want[[i, j]]).norm() < 1e-12);
            }
        }
    }

    /// Reference: the serial transform. Any thread count splits the same rows and column
    /// batches among its tasks, so the result is bitwise the same (also for counts that do
    /// not divide the work, and more threads than batches).
    #[test]
    fn thread_counts_split_the_work_without_changing_it() {
        let n = 48;
        let plan = Fft2d::<f64>::new((n, n), FftBackend::RustFft).unwrap();
        let mut serial = field(n);
        plan.process(&mut serial, FftDirection::PupilToImage, Par::Seq).unwrap();
        for threads in [2, 3, 5, 64] {
            let mut got = field(n);
            plan.process(&mut got, FftDirection::PupilToImage, Par::Threads(threads)).unwrap();
            assert!(got == serial, "{threads} threads");
        }
    }
}
