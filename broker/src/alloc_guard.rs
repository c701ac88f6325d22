//! The process-wide allocator: the system allocator, except that very large
//! requests are served by lazily-backed anonymous mappings.
//!
//! Why this module holds `unsafe` code: the `kafka-protocol` crate (0.18)
//! pre-allocates every array with `Vec::with_capacity(n)` where `n` is a count
//! read from the network, before it decodes a single element. A frame of a few
//! bytes can thus ask for hundreds of GiB; with the plain system allocator
//! that request fails and Rust aborts the whole process. Here such a request
//! is served by an `mmap(MAP_NORESERVE)` mapping: it reserves address space
//! only, no page is touched, the decode then fails on the short buffer and the
//! mapping is released. Allocations below [`HUGE`] go to the system allocator
//! unchanged. Frames are also capped by `socket.request.max.bytes` before
//! decoding, so the memory a request can really occupy stays bounded.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations of at least this many bytes are served by `mmap`.
pub const HUGE: usize = 1 << 30;
const PAGE: usize = 4096;

/// See the module documentation.
pub struct GuardedAlloc;

fn is_huge(layout: &Layout) -> bool {
    layout.size() >= HUGE && layout.align() <= PAGE
}

// SAFETY: every pointer handed out is either the system allocator's (and goes
// back to it) or a fresh private anonymous mapping of exactly `layout.size()`
// bytes, page aligned (which satisfies any alignment up to PAGE), zero-filled,
// and unmapped with the same size on dealloc.
unsafe impl GlobalAlloc for GuardedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_huge(&layout) {
            map(layout.size())
        } else {
            System.alloc(layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_huge(&layout) {
            map(layout.size())
        } else {
            System.alloc_zeroed(layout)
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_huge(&layout) {
            libc::munmap(ptr.cast(), layout.size());
        } else {
            System.dealloc(ptr, layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        if !is_huge(&layout) && !is_huge(&new_layout) {
            return System.realloc(ptr, layout, new_size);
        }
        let new = self.alloc(new_layout);
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new
    }
}

unsafe fn map(size: usize) -> *mut u8 {
    let p = libc::mmap(
        std::ptr::null_mut(),
        size,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
        -1,
        0,
    );
    if p == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        p.cast()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn huge_capacity_does_not_abort() {
        // 64 GiB of capacity: served lazily, never touched.
        let v: Vec<u64> = Vec::with_capacity(8 << 30);
        assert!(v.capacity() >= 8 << 30);
        let mut small = Vec::with_capacity(4);
        small.extend([1u8, 2, 3, 4, 5]);
        assert_eq!(small, [1, 2, 3, 4, 5]);
    }
}
