//! A zeroed, page-aligned byte buffer: guest RAM and ROM live in one, so that a hardware
//! back end (KVM) can map the very same bytes into the guest as memory slots.

use std::alloc::{self, Layout};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// Alignment of every buffer (the host page size on x86).
const ALIGN: usize = 4096;

/// A heap buffer of `len` bytes starting on a 4 KiB boundary, zeroed when made.
pub struct PageBuf {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: `PageBuf` owns its allocation exclusively, like a `Vec<u8>`; shared references hand
// out only `&[u8]`.
unsafe impl Send for PageBuf {}
// SAFETY: as above: `&PageBuf` gives read-only access.
unsafe impl Sync for PageBuf {}

impl PageBuf {
    /// `len` zero bytes (an empty buffer when `len` is 0).
    pub fn zeroed(len: usize) -> PageBuf {
        if len == 0 {
            return PageBuf {
                ptr: NonNull::dangling(),
                len: 0,
            };
        }
        let layout = Self::layout(len);
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(raw) else {
            alloc::handle_alloc_error(layout)
        };
        PageBuf { ptr, len }
    }

    /// A page-aligned copy of `data`.
    pub fn from_slice(data: &[u8]) -> PageBuf {
        let mut b = PageBuf::zeroed(data.len());
        b.copy_from_slice(data);
        b
    }

    fn layout(len: usize) -> Layout {
        match Layout::from_size_align(len, ALIGN) {
            Ok(l) => l,
            Err(_) => panic!("buffer of {len} bytes exceeds the address space"),
        }
    }

    /// The first byte's address, for mapping the buffer into a guest. The buffer must outlive
    /// every such mapping.
    pub fn as_host_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for PageBuf {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: allocated in `zeroed` with this same layout.
            unsafe { alloc::dealloc(self.ptr.as_ptr(), Self::layout(self.len)) }
        }
    }
}

impl Deref for PageBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` points at `len` initialised bytes owned by `self` (dangling but
        // aligned when `len` is 0, which a zero-length slice allows).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for PageBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl std::fmt::Debug for PageBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PageBuf({} bytes)", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_page_aligned_and_zeroed() {
        for len in [1, 4096, 65536, 3 << 20] {
            let b = PageBuf::zeroed(len);
            assert_eq!(b.as_host_ptr() as usize % ALIGN, 0);
            assert_eq!(b.len(), len);
            assert!(b.iter().all(|&x| x == 0));
        }
        let c = PageBuf::from_slice(&[1, 2, 3]);
        assert_eq!(&c[..], &[1, 2, 3]);
        assert!(PageBuf::zeroed(0).is_empty());
    }
}
