//! A global allocator for programs that touch large arrays once: [`LargePages`].
//!
//! A 1024^2 pupil array is 8 MiB. Touching it for the first time costs the kernel 2048 page
//! faults of 4 KiB, about 4 ms on a virtual machine, more than computing the values; the
//! same memory in 2 MiB transparent huge pages costs four faults and the zeroing. glibc's
//! allocator serves such arrays from `mmap` (or from arenas that keep freed holes resident)
//! without asking for huge pages.

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations from this size up get mappings of their own. Smaller ones, made and freed
/// per wavelength (gemm's packing buffers, a wavelength's image), are better served by
/// glibc, which reuses their memory without new page faults.
const LARGE: usize = 4 << 20;
/// The transparent huge page size of x86-64.
const HUGE: usize = 2 << 20;
/// The base page size.
const PAGE: usize = 4096;

/// The system allocator, except that allocations of 4 MiB and more are mapped on their own,
/// aligned to 2 MiB and marked for transparent huge pages (`madvise(MADV_HUGEPAGE)`), and
/// unmapped when freed. Their whole 2 MiB stretches then take one page fault each instead of
/// 512; the last partial stretch stays in base pages, so the resident size is what is used.
/// Elsewhere than x86-64 Linux with glibc it is the system allocator.
///
/// ```no_run
/// #[global_allocator]
/// static ALLOCATOR: diffract_parallel::LargePages = diffract_parallel::LargePages;
/// ```
pub struct LargePages;

impl LargePages {
    /// Whether `layout` gets a mapping of its own.
    fn mapped(layout: &Layout) -> bool {
        MAPS && layout.size() >= LARGE && layout.align() <= PAGE
    }
}

/// Whether this platform maps large allocations (its libc, its huge page size).
const MAPS: bool = cfg!(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"));

/// The length of the mapping that holds `size` bytes.
fn mapping_len(size: usize) -> usize {
    size.div_ceil(PAGE) * PAGE
}

use os::{map, unmap};

#[cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]
mod os {
    use super::{mapping_len, HUGE};

    /// A new zeroed mapping of `size` bytes, 2 MiB aligned, its whole 2 MiB stretches in
    /// huge pages; null when the kernel refuses.
    pub(super) unsafe fn map(size: usize) -> *mut u8 {
        let len = mapping_len(size);
        // Map HUGE more than needed, then unmap the ends so that the start is 2 MiB aligned.
        let Some(span) = len.checked_add(HUGE) else {
            return std::ptr::null_mut();
        };
        // SAFETY: an anonymous private mapping has no preconditions.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                span,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        let raw = raw as usize;
        let start = raw.next_multiple_of(HUGE);
        // SAFETY: both ranges lie inside the mapping just made and are page aligned.
        unsafe {
            if start > raw {
                libc::munmap(raw as *mut libc::c_void, start - raw);
            }
            let tail = raw + span - (start + len);
            if tail > 0 {
                libc::munmap((start + len) as *mut libc::c_void, tail);
            }
            let whole = len / HUGE * HUGE;
            if whole > 0 {
                libc::madvise(start as *mut libc::c_void, whole, libc::MADV_HUGEPAGE);
            }
        }
        start as *mut u8
    }

    /// Unmaps what `map(size)` returned.
    pub(super) unsafe fn unmap(ptr: *mut u8, size: usize) {
        // SAFETY: the caller passes a pointer from `map(size)`.
        unsafe {
            libc::munmap(ptr as *mut libc::c_void, mapping_len(size));
        }
    }
}

/// Elsewhere `mapped` is false and these are never called.
#[cfg(not(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu")))]
mod os {
    pub(super) unsafe fn map(_size: usize) -> *mut u8 {
        unreachable!("mapped only on x86-64 Linux with glibc")
    }
    pub(super) unsafe fn unmap(_ptr: *mut u8, _size: usize) {
        unreachable!("mapped only on x86-64 Linux with glibc")
    }
}

// SAFETY: every block comes either from `System` or from a mapping of its own, told apart by
// its layout, which the caller passes back unchanged; mappings are page aligned, which meets
// every alignment `mapped` accepts, and are zero-filled by the kernel.
unsafe impl GlobalAlloc for LargePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Self::mapped(&layout) {
            // SAFETY: see the impl.
            unsafe { map(layout.size()) }
        } else {
            // SAFETY: forwarded unchanged.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if Self::mapped(&layout) {
            // SAFETY: see the impl; fresh anonymous memory reads as zeros.
            unsafe { map(layout.size()) }
        } else {
            // SAFETY: forwarded unchanged.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if Self::mapped(&layout) {
            // SAFETY: see the impl.
            unsafe { unmap(ptr, layout.size()) }
        } else {
            // SAFETY: forwarded unchanged.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc` gives a valid new layout.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !Self::mapped(&layout) && !Self::mapped(&new) {
            // SAFETY: forwarded unchanged.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        if Self::mapped(&layout)
            && Self::mapped(&new)
            && mapping_len(new_size) == mapping_len(layout.size())
        {
            return ptr;
        }
        // SAFETY: a new block of the new layout, the old contents copied, the old block freed.
        unsafe {
            let out = self.alloc(new);
            if !out.is_null() {
                std::ptr::copy_nonoverlapping(ptr, out, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_blocks_are_zeroed_aligned_and_reallocated() {
        let a = LargePages;
        let layout = Layout::from_size_align(5 << 20, 16).unwrap();
        // SAFETY: a non-zero layout; the block is written within its size and freed once.
        unsafe {
            let p = a.alloc_zeroed(layout);
            assert!(!p.is_null());
            if MAPS {
                assert_eq!(p as usize % HUGE, 0);
            }
            let s = std::slice::from_raw_parts_mut(p, layout.size());
            assert!(s.iter().all(|&b| b == 0));
            s[layout.size() - 1] = 7;
            let q = a.realloc(p, layout, 9 << 20);
            assert_eq!(*q.add(layout.size() - 1), 7);
            let small = a.realloc(q, Layout::from_size_align(9 << 20, 16).unwrap(), 100);
            assert_eq!(*small.add(99), 0);
            a.dealloc(small, Layout::from_size_align(100, 16).unwrap());
        }
    }
}
