//! A second thread for short kernels: [`for_each_shared`] runs a function over items on the
//! calling thread and one helper thread that keeps spinning for a moment after each job.
//!
//! A kernel of a millisecond or less (the MFT of one PSF in a control loop) loses most of
//! what a second core gives it to waking a sleeping thread: on the virtual machines this
//! runs on, a rayon join after a pause costs 100 to 250 microseconds. The helper spins for
//! [`SPIN`] after each job, so the next one starts within a microsecond; and the items are
//! claimed one by one by whichever thread is free, so a helper that is late (or busy with
//! another caller's job) costs nothing: the caller does the items itself.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How long the helper spins for the next job before it sleeps.
pub const SPIN: Duration = Duration::from_millis(2);

/// A job as the helper sees it: a claim loop to run, and the flag it sets when done.
struct Job {
    run: *const (dyn Fn() + Sync),
    done: AtomicBool,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

/// The helper thread and the job posted to it.
struct Helper {
    /// The job waiting for the helper (null when none); the helper takes it by swapping in
    /// null, the caller takes it back the same way if the helper has not.
    job: AtomicPtr<Job>,
    /// Held by the caller whose job is posted: one job at a time.
    busy: Mutex<()>,
    thread: Thread,
}

// SAFETY: `job` points to a `Job` on a caller's stack that outlives its use by the helper
// (the caller waits for `done` before returning), and the closure it points to is `Sync`.
unsafe impl Send for Job {}
// SAFETY: as above; `Job`'s own fields are `Sync`.
unsafe impl Sync for Job {}

fn helper() -> &'static Helper {
    static HELPER: OnceLock<&'static Helper> = OnceLock::new();
    HELPER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<&'static Helper>();
        let handle = std::thread::Builder::new()
            .name("diffract-helper".into())
            .spawn(move || {
                let me: &'static Helper = rx.recv().expect("the helper's state");
                helper_loop(me)
            })
            .expect("a thread can be started");
        let me: &'static Helper = Box::leak(Box::new(Helper {
            job: AtomicPtr::new(std::ptr::null_mut()),
            busy: Mutex::new(()),
            thread: handle.thread().clone(),
        }));
        tx.send(me).expect("the helper waits for its state");
        me
    })
}

fn helper_loop(me: &'static Helper) -> ! {
    let mut last = Instant::now();
    let mut polls = 0u32;
    loop {
        let job = me.job.swap(std::ptr::null_mut(), Ordering::Acquire);
        if !job.is_null() {
            // SAFETY: the caller keeps the job alive until `done` is set.
            let job = unsafe { &*job };
            // SAFETY: as above, for the closure.
            let run = unsafe { &*job.run };
            if let Err(p) = catch_unwind(AssertUnwindSafe(run)) {
                *job.panic.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
            }
            job.done.store(true, Ordering::Release);
            last = Instant::now();
            continue;
        }
        polls = polls.wrapping_add(1);
        if polls % 64 != 0 || last.elapsed() < SPIN {
            std::hint::spin_loop();
            continue;
        }
        std::thread::park();
        last = Instant::now();
    }
}

/// Waits, on drop, for the helper to finish a job it took (also when the caller unwinds).
struct Join<'a> {
    job: &'a Job,
    helper: &'a Helper,
}

impl Drop for Join<'_> {
    fn drop(&mut self) {
        let mine = self.job as *const Job as *mut Job;
        let taken_back = self
            .helper
            .job
            .compare_exchange(mine, std::ptr::null_mut(), Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if taken_back {
            return;
        }
        let start = Instant::now();
        while !self.job.done.load(Ordering::Acquire) {
            if start.elapsed() < Duration::from_micros(200) {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// Calls `f` on each of `items`, on the calling thread and (with `threads` >= 2) the helper
/// thread: each item is claimed by one of them, in index order. With `threads` <= 1, one
/// item, or the helper busy with another caller's job, everything runs on the calling thread.
///
/// A panic in `f` is resumed on the calling thread once both threads have stopped.
///
/// ```
/// let mut squares: Vec<u64> = (0..100).collect();
/// diffract_parallel::for_each_shared(&mut squares, 2, |x| *x *= *x);
/// assert_eq!(squares[9], 81);
/// ```
pub fn for_each_shared<T: Send>(items: &mut [T], threads: usize, f: impl Fn(&mut T) + Sync) {
    let n = items.len();
    if threads <= 1 || n <= 1 {
        items.iter_mut().for_each(f);
        return;
    }
    let helper = helper();
    let Ok(_busy) = helper.busy.try_lock() else {
        items.iter_mut().for_each(f);
        return;
    };
    let next = AtomicUsize::new(0);
    let base = SendPtr(items.as_mut_ptr());
    let claim = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= n {
            break;
        }
        // SAFETY: each index below `n` is claimed exactly once (by the counter), so the
        // references handed out never alias; `items` outlives both threads' use (the caller
        // waits for the helper before returning); `T: Send`.
        f(unsafe { &mut *base.get().add(i) });
    };
    let run: &(dyn Fn() + Sync) = &claim;
    // SAFETY: only the lifetime is erased: the helper uses the closure before `Join` returns.
    let run: *const (dyn Fn() + Sync) = unsafe { std::mem::transmute(run) };
    let job = Job { run, done: AtomicBool::new(false), panic: Mutex::new(None) };
    helper.job.store(&job as *const Job as *mut Job, Ordering::Release);
    helper.thread.unpark();
    {
        let _join = Join { job: &job, helper };
        claim();
    }
    let panic = job.panic.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(p) = panic {
        resume_unwind(p);
    }
}

/// A raw pointer to the items, shared by the two threads.
struct SendPtr<T>(*mut T);

impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SendPtr<T> {}

impl<T> SendPtr<T> {
    fn get(self) -> *mut T {
        self.0
    }
}

// SAFETY: used only to hand out disjoint `&mut T` (see `for_each_shared`), with `T: Send`.
unsafe impl<T: Send> Sync for SendPtr<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for SendPtr<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every item is visited once, by either thread, for any count; from several callers at
    /// once (one gets the helper, the others run alone).
    #[test]
    fn every_item_is_visited_once() {
        for n in [0, 1, 2, 7, 64, 1000] {
            let mut v: Vec<u64> = (0..n).collect();
            for_each_shared(&mut v, 2, |x| *x = *x * 3 + 1);
            assert!(v.iter().enumerate().all(|(i, x)| *x == i as u64 * 3 + 1), "{n}");
        }
        std::thread::scope(|s| {
            for t in 0..4u64 {
                s.spawn(move || {
                    for _ in 0..50 {
                        let mut v: Vec<u64> = (0..33).collect();
                        for_each_shared(&mut v, 2, |x| *x += t);
                        assert!(v.iter().enumerate().all(|(i, x)| *x == i as u64 + t));
                    }
                });
            }
        });
    }

    /// A panic in an item reaches the caller, and the helper keeps working afterwards.
    #[test]
    fn a_panic_reaches_the_caller() {
        let mut v: Vec<u32> = (0..50).collect();
        let r = catch_unwind(AssertUnwindSafe(|| {
            for_each_shared(&mut v, 2, |x| {
                std::thread::sleep(Duration::from_micros(50));
                assert!(*x != 31, "item 31");
            })
        }));
        assert!(r.is_err());
        let mut w: Vec<u32> = (0..50).collect();
        for_each_shared(&mut w, 2, |x| *x += 1);
        assert_eq!(w[49], 50);
    }
}
