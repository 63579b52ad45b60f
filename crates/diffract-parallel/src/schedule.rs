//! The schedule: how many workers run items at once and what parallelism each kernel gets.

use rayon::prelude::*;
use std::fmt;

/// Parallelism handed to a kernel (a GEMM, an FFT): run on the calling thread, or use up to
/// `n` threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Par {
    /// Single-threaded, on the calling thread.
    Seq,
    /// Up to this many threads (at least 2).
    Threads(usize),
}

impl Par {
    /// `Par::Seq` for one thread, `Par::Threads(n)` otherwise.
    pub fn from_threads(n: usize) -> Self {
        if n <= 1 {
            Par::Seq
        } else {
            Par::Threads(n)
        }
    }

    /// Number of threads this value allows (1 for `Seq`).
    pub fn threads(self) -> usize {
        match self {
            Par::Seq => 1,
            Par::Threads(n) => n.max(1),
        }
    }
}

/// Knobs for [`Schedule::plan`].
#[derive(Clone, Debug, Default)]
pub struct ScheduleOptions {
    /// Use exactly this many workers (still capped by the number of items). `None`: choose.
    pub workers: Option<usize>,
    /// Cores to leave free for other work when choosing automatically.
    pub reserve_cores: usize,
    /// Override the detected core count (tests, benchmarks).
    pub cores: Option<usize>,
    /// Override the detected free memory in bytes (tests, benchmarks).
    pub available_memory: Option<u64>,
    /// Expected run time of one item, when known. Short jobs get fewer workers: starting a
    /// thread pool costs about a tenth of a millisecond per thread, so each worker should
    /// have at least a millisecond of work.
    pub item_seconds: Option<f64>,
}

/// Work each extra worker must have to be worth starting, seconds.
const MIN_WORK_PER_WORKER_SECONDS: f64 = 1e-3;

/// Memory kept free for the operating system and everything else when choosing workers.
const MEMORY_HEADROOM_BYTES: u64 = 1 << 30;

/// The decision: how many items run at once, and the parallelism each item's kernels get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Items computed at the same time.
    pub workers: usize,
    /// Parallelism inside one item (kernels). `Par::Seq` whenever `workers > 1`: nested
    /// thread pools oversubscribe the cores.
    pub kernel_par: Par,
}

impl Schedule {
    /// A schedule that runs everything on the calling thread.
    pub const SERIAL: Schedule = Schedule { workers: 1, kernel_par: Par::Seq };

    /// Chooses the schedule for `n_items` items of which each needs `bytes_per_item` of
    /// memory while it runs.
    ///
    /// Workers are capped by the cores (less `reserve_cores`), the number of items, and the
    /// free memory less a 1 GiB headroom. Cores that no item can use go to the kernels of the
    /// single item when only one worker runs.
    pub fn plan(n_items: usize, bytes_per_item: u64, opts: &ScheduleOptions) -> Schedule {
        let cores = opts
            .cores
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let usable_cores = cores.saturating_sub(opts.reserve_cores).max(1);
        let n_items = n_items.max(1);
        let workers = match opts.workers {
            Some(w) => w.max(1).min(n_items),
            // One item: one worker, whatever the memory (not read: it costs a file read).
            None if n_items == 1 => 1,
            None => {
                let by_memory = opts
                    .available_memory
                    .or_else(crate::available_memory_bytes)
                    .map(|avail| {
                        let usable = avail.saturating_sub(MEMORY_HEADROOM_BYTES);
                        (usable / bytes_per_item.max(1)).max(1) as usize
                    })
                    .unwrap_or(usize::MAX);
                let by_work = opts
                    .item_seconds
                    .map(|t| {
                        ((t * n_items as f64) / MIN_WORK_PER_WORKER_SECONDS).floor().max(1.0)
                            as usize
                    })
                    .unwrap_or(usize::MAX);
                usable_cores.min(n_items).min(by_memory).min(by_work).max(1)
            }
        };
        let kernel_par = if workers == 1 { Par::from_threads(usable_cores) } else { Par::Seq };
        Schedule { workers, kernel_par }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} worker(s), {} kernel thread(s) each", self.workers, self.kernel_par.threads())
    }
}

/// An error from one item of [`map_ordered`], with the index of the item that failed.
#[derive(Debug, thiserror::Error)]
#[error("item {index}: {source}")]
pub struct ItemError<E: std::error::Error + 'static> {
    /// Index of the failing item in the input.
    pub index: usize,
    /// What went wrong.
    #[source]
    pub source: E,
}

/// Maps `f(index, item, kernel_par)` over `items` with `schedule.workers` workers and
/// returns the results in input order.
///
/// The first failing item (lowest index) is reported with its index.
///
/// # Errors
///
/// Returns the error of the lowest-indexed item that failed.
pub fn map_ordered<T, R, E, F>(
    schedule: &Schedule,
    items: &[T],
    f: F,
) -> Result<Vec<R>, ItemError<E>>
where
    T: Sync,
    R: Send,
    E: Send + std::error::Error + 'static,
    F: Fn(usize, &T, Par) -> Result<R, E> + Sync,
{
    let par = schedule.kernel_par;
    let results: Vec<Result<R, E>> = if schedule.workers <= 1 || items.len() <= 1 {
        items.iter().enumerate().map(|(i, t)| f(i, t, par)).collect()
    } else {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(schedule.workers)
            .build()
            .expect("a rayon thread pool of a few threads can always be built");
        pool.install(|| items.par_iter().enumerate().map(|(i, t)| f(i, t, par)).collect())
    };
    results
        .into_iter()
        .enumerate()
        .map(|(index, r)| r.map_err(|source| ItemError { index, source }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(cores: usize, mem: u64) -> ScheduleOptions {
        ScheduleOptions { cores: Some(cores), available_memory: Some(mem), ..Default::default() }
    }

    #[test]
    fn many_items_get_the_cores_and_kernels_run_serial() {
        let s = Schedule::plan(10, 1 << 20, &opts(4, 64 << 30));
        assert_eq!(s, Schedule { workers: 4, kernel_par: Par::Seq });
    }

    #[test]
    fn one_item_gives_its_kernels_the_cores() {
        let s = Schedule::plan(1, 1 << 20, &opts(4, 64 << 30));
        assert_eq!(s, Schedule { workers: 1, kernel_par: Par::Threads(4) });
    }

    #[test]
    fn memory_caps_the_workers() {
        // 3 GiB free, 1 GiB headroom, 1 GiB per item: two workers fit.
        let s = Schedule::plan(10, 1 << 30, &opts(8, 3 << 30));
        assert_eq!(s.workers, 2);
    }

    #[test]
    fn short_jobs_get_fewer_workers_and_cores_can_be_left_free() {
        let short = ScheduleOptions { item_seconds: Some(1e-5), ..opts(8, 64 << 30) };
        assert_eq!(Schedule::plan(100, 1, &short).workers, 1);
        let long = ScheduleOptions { item_seconds: Some(1.0), ..opts(8, 64 << 30) };
        assert_eq!(Schedule::plan(100, 1, &long).workers, 8);
        let reserved = ScheduleOptions { reserve_cores: 3, ..opts(8, 64 << 30) };
        assert_eq!(Schedule::plan(100, 1, &reserved).workers, 5);
    }

    #[test]
    fn explicit_workers_are_capped_by_items() {
        let o = ScheduleOptions { workers: Some(16), ..opts(2, 64 << 30) };
        assert_eq!(Schedule::plan(3, 1, &o).workers, 3);
    }

    #[derive(Debug, thiserror::Error)]
    #[error("bad {0}")]
    struct Bad(i32);

    #[test]
    fn results_keep_input_order_and_errors_name_the_item() {
        let s = Schedule::plan(8, 1, &opts(2, 64 << 30));
        let items: Vec<i32> = (0..100).collect();
        let out = map_ordered(&s, &items, |i, x, _| Ok::<_, Bad>(i as i32 * 1000 + x)).unwrap();
        assert_eq!(out, (0..100).map(|x| x * 1001).collect::<Vec<_>>());
        let err = map_ordered(&s, &items, |_, &x, _| if x % 40 == 7 { Err(Bad(x)) } else { Ok(x) })
            .unwrap_err();
        assert_eq!(err.index, 7);
        assert_eq!(err.to_string(), "item 7: bad 7");
    }
}
