//! Scheduling for diffract: how many workers run, where the threads go, and an ordered
//! parallel map that the wavelength loop (and user code) runs on.
//!
//! The same machinery serves users' own work: [`map_ordered`] maps a function over items
//! and [`map_slices`] over the slices of an array along an axis, results in input order,
//! the first failure reported with its index (what joblib or pyUSID's `parallel_compute`
//! give Python users).
//!
//! Parallelism is a value passed down ([`Par`]), never a global. The [`Schedule`] decides
//! once, from the number of work items, the cores and the memory one item needs, whether the
//! cores go to items (each kernel then runs [`Par::Seq`]) or to the kernels of a single item.
//!
//! ```
//! use diffract_parallel::{map_ordered, Schedule, ScheduleOptions};
//!
//! let schedule = Schedule::plan(4, 1 << 20, &ScheduleOptions::default());
//! let squares = map_ordered(&schedule, &[1, 2, 3, 4], |_, x, _par| Ok::<_, std::convert::Infallible>(x * x)).unwrap();
//! assert_eq!(squares, vec![1, 4, 9, 16]);
//! ```

mod alloc;
mod helper;
mod memory;
mod schedule;
mod simd;
mod slices;

pub use alloc::LargePages;
pub use helper::{for_each_shared, SPIN};
pub use memory::{available_memory_bytes, release_free_memory};
pub use schedule::{map_ordered, ItemError, Par, Schedule, ScheduleOptions};
pub use slices::map_slices;
