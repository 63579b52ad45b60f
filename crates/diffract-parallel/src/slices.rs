//! Parallel maps over the slices of an array along one axis.

use crate::{map_ordered, ItemError, Par, Schedule};
use ndarray::{ArrayView, Axis, Dimension, RemoveAxis};

/// Maps `f(index, slice, kernel_par)` over the slices of `array` along `axis` (for a cube
/// of images along axis 0, one call per image) with `schedule.workers` workers; results in
/// slice order.
///
/// # Errors
///
/// The error of the lowest-indexed slice that failed, with its index.
///
/// # Panics
///
/// Panics if `axis` is not an axis of `array`.
///
/// ```
/// use diffract_parallel::{map_slices, Schedule, ScheduleOptions};
/// use ndarray::{Array3, Axis};
///
/// let cube = Array3::<f64>::from_shape_fn((4, 8, 8), |(k, i, j)| (k * i * j) as f64);
/// let schedule = Schedule::plan(4, 1 << 10, &ScheduleOptions::default());
/// let sums = map_slices(&schedule, cube.view(), Axis(0), |_, img, _| Ok::<_, std::convert::Infallible>(img.sum())).unwrap();
/// assert_eq!(sums[0], 0.0);
/// assert_eq!(sums.len(), 4);
/// ```
pub fn map_slices<A, D, R, E, F>(
    schedule: &Schedule,
    array: ArrayView<'_, A, D>,
    axis: Axis,
    f: F,
) -> Result<Vec<R>, ItemError<E>>
where
    A: Sync,
    D: Dimension + RemoveAxis,
    R: Send,
    E: Send + std::error::Error + 'static,
    F: Fn(usize, ArrayView<'_, A, D::Smaller>, Par) -> Result<R, E> + Sync,
{
    let slices: Vec<ArrayView<'_, A, D::Smaller>> = array.axis_iter(axis).collect();
    map_ordered(schedule, &slices, |i, s, par| f(i, s.view(), par))
}
