//! What the machine has: free memory as the kernel reports it.

use std::fs;

/// Memory available for new allocations, in bytes, from `MemAvailable` in `/proc/meminfo`.
///
/// Returns `None` where that file is missing or unreadable (non-Linux systems); callers then
/// fall back to a core-count-only decision.
pub fn available_memory_bytes() -> Option<u64> {
    let text = fs::read_to_string("/proc/meminfo").ok()?;
    parse_meminfo(&text)
}

/// Gives the memory the allocator holds free back to the kernel (glibc's `malloc_trim`; a
/// no-op elsewhere). Called once a plan's optics are sampled: their temporary arrays were
/// freed on the planning thread, whose arena the wavelength workers do not allocate from,
/// so without it the process keeps them resident through the whole computation.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory of the allocator's arenas to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn parse_meminfo(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mem_available_in_kib() {
        let text = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   2048 kB\n";
        assert_eq!(parse_meminfo(text), Some(2048 * 1024));
        assert_eq!(parse_meminfo("MemTotal: 1 kB\n"), None);
    }
}
