//! A zeroed, page-aligned byte buffer: guest RAM and ROM live in one, so that a hardware
//! back end (KVM) can map the very same bytes into the guest as memory slots.
//!
//! Buffers of 2 MiB and more are mapped straight from the kernel on Linux, aligned to 2 MiB and
//! marked for transparent huge pages (`MADV_HUGEPAGE`, honoured when the host's THP setting is
//! `madvise` or `always`). Guest RAM is touched all over — a kernel decompressing itself, page
//! tables, a guest's working set — and the interpreter reaches it through host addresses, so
//! the host may cover it with 2 MiB pages instead of 4 KiB ones (fewer host TLB misses).
//! The mapping is zero-filled by the kernel and committed only where the guest touches it.

use std::alloc::{self, Layout};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// Alignment of every buffer (the host page size on x86).
const ALIGN: usize = 4096;
/// Size (and alignment) of a host huge page; buffers at least this long are mapped.
const HUGE: usize = 2 << 20;

/// A heap buffer of `len` bytes starting on a 4 KiB boundary, zeroed when made.
pub struct PageBuf {
    ptr: NonNull<u8>,
    len: usize,
    /// Where the bytes came from, to give them back.
    backing: Backing,
}

enum Backing {
    /// The global allocator (with [`PageBuf::layout`]), or nothing when `len` is 0.
    Heap,
    /// An anonymous mapping of `len` bytes at `base` (the buffer lies inside it).
    #[cfg(target_os = "linux")]
    Mapped { base: *mut libc::c_void, len: usize },
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
                backing: Backing::Heap,
            };
        }
        #[cfg(target_os = "linux")]
        if len >= HUGE {
            if let Some(b) = Self::mapped(len) {
                return b;
            }
        }
        let layout = Self::layout(len);
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(raw) else {
            alloc::handle_alloc_error(layout)
        };
        PageBuf {
            ptr,
            len,
            backing: Backing::Heap,
        }
    }

    /// `len` zero bytes in an anonymous mapping, starting on a 2 MiB boundary and advised to
    /// use huge pages; `None` if the kernel refuses the mapping (the heap is used then).
    #[cfg(target_os = "linux")]
    fn mapped(len: usize) -> Option<PageBuf> {
        // One huge page more than needed, so that a 2 MiB boundary lies in the first one.
        let map_len = len.checked_next_multiple_of(ALIGN)?.checked_add(HUGE)?;
        // SAFETY: a fresh private anonymous mapping; no existing memory is affected.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return None;
        }
        let skip = (base as usize).next_multiple_of(HUGE) - base as usize;
        let start = (base as *mut u8).wrapping_add(skip);
        // SAFETY: `start..start + len` lies inside the mapping just made. The advice is a hint
        // only; the buffer works the same when the host refuses it (THP off), so its result
        // is not needed.
        unsafe { libc::madvise(start.cast(), len, libc::MADV_HUGEPAGE) };
        Some(PageBuf {
            ptr: NonNull::new(start)?,
            len,
            backing: Backing::Mapped { base, len: map_len },
        })
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
        match self.backing {
            Backing::Heap if self.len != 0 => {
                // SAFETY: allocated in `zeroed` with this same layout.
                unsafe { alloc::dealloc(self.ptr.as_ptr(), Self::layout(self.len)) }
            }
            Backing::Heap => {}
            #[cfg(target_os = "linux")]
            Backing::Mapped { base, len } => {
                // SAFETY: the mapping made in `mapped`, unmapped once, here; nothing refers
                // to the buffer after its drop.
                unsafe { libc::munmap(base, len) };
            }
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

/// An array of `N` values of a plain (`Copy`) type in a [`PageBuf`], so that a big table the
/// interpreter reaches all over (the trace cache) lies on the buffer's huge pages too.
pub struct PageArray<T: Copy, const N: usize> {
    buf: PageBuf,
    _of: std::marker::PhantomData<T>,
}

impl<T: Copy, const N: usize> PageArray<T, N> {
    /// `N` copies of `value`.
    pub fn filled(value: T) -> PageArray<T, N> {
        // A page-aligned buffer holds any `T`; an empty one would not be aligned for it.
        const { assert!(std::mem::align_of::<T>() <= ALIGN && std::mem::size_of::<[T; N]>() > 0) };
        let mut buf = PageBuf::zeroed(std::mem::size_of::<[T; N]>());
        let first = buf.as_mut_ptr().cast::<T>();
        for i in 0..N {
            // SAFETY: the buffer holds `N` values of `T`, aligned (page alignment covers
            // `T`'s); each is written once, and `T: Copy` has no drop to skip.
            unsafe { first.add(i).write(value) };
        }
        PageArray {
            buf,
            _of: std::marker::PhantomData,
        }
    }
}

impl<T: Copy, const N: usize> Clone for PageArray<T, N> {
    fn clone(&self) -> Self {
        PageArray {
            buf: PageBuf::from_slice(&self.buf),
            _of: std::marker::PhantomData,
        }
    }
}

impl<T: Copy, const N: usize> Deref for PageArray<T, N> {
    type Target = [T; N];
    fn deref(&self) -> &[T; N] {
        // SAFETY: the buffer holds `N` initialised values of `T` (written in `filled`),
        // suitably aligned; a shared borrow of `self` gives shared access.
        unsafe { &*self.buf.as_ptr().cast::<[T; N]>() }
    }
}

impl<T: Copy, const N: usize> DerefMut for PageArray<T, N> {
    fn deref_mut(&mut self) -> &mut [T; N] {
        // SAFETY: as in `deref`, and `&mut self` makes the access exclusive.
        unsafe { &mut *self.buf.as_mut_ptr().cast::<[T; N]>() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_page_aligned_and_zeroed() {
        for len in [1, 4096, 65536, 3 << 20, HUGE, (5 << 20) + 1] {
            let b = PageBuf::zeroed(len);
            assert_eq!(b.as_host_ptr() as usize % ALIGN, 0);
            if cfg!(target_os = "linux") && len >= HUGE {
                assert_eq!(b.as_host_ptr() as usize % HUGE, 0, "{len} bytes");
            }
            assert_eq!(b.len(), len);
            assert!(b.iter().all(|&x| x == 0));
        }
        let c = PageBuf::from_slice(&[1, 2, 3]);
        assert_eq!(&c[..], &[1, 2, 3]);
        assert!(PageBuf::zeroed(0).is_empty());
    }

    #[test]
    fn an_array_holds_its_values_from_a_huge_page_boundary() {
        let mut a = PageArray::<(u64, u32), 300_000>::filled((7, 9));
        assert!(a.iter().all(|&v| v == (7, 9)));
        a[299_999].1 = 5;
        assert_eq!(a[299_999], (7, 5));
        let b = a.clone();
        assert_eq!((b[0], b[299_999]), ((7, 9), (7, 5)));
        if cfg!(target_os = "linux") {
            assert_eq!(a.as_ptr() as usize % HUGE, 0);
        }
    }
}
