//! The CPU's only view of the machine.
//!
//! The interpreter is generic over this trait, so the same code runs on the whole PC
//! ([`crate::machine::Pc`]) and on a flat-RAM test bus for the single-step suites. Addresses
//! are physical (after segmentation, paging and the address-bus mask of the model). A multi-byte
//! access never crosses a 4 KiB page: the CPU splits such accesses into bytes.

/// What a read of `size` bytes (1, 2 or 4) from nothing returns: all ones, as a floating bus.
pub fn open_bus(size: u8) -> u32 {
    u32::MAX >> (32 - 8 * size.clamp(1, 4) as u32)
}

/// Memory, I/O ports and the interrupt line, as the CPU sees them.
pub trait Bus {
    /// A number that no other `Bus` implementation in the program uses (Glassbox's own use
    /// 1–4). The CPU's traces keep the addresses of the instruction handlers compiled for one
    /// bus type, and drop them when a run uses another type.
    const TRACE_ID: u8;
    /// Whether memory accesses may take only their plain path (see [`FastOnly`]).
    const FAST_ONLY: bool = false;

    /// Reads a byte of physical memory.
    fn read8(&mut self, addr: u32) -> u8;
    /// Writes a byte of physical memory.
    fn write8(&mut self, addr: u32, value: u8);

    /// Reads a little-endian word (never crosses a page).
    #[inline]
    fn read16(&mut self, addr: u32) -> u16 {
        self.read8(addr) as u16 | (self.read8(addr.wrapping_add(1)) as u16) << 8
    }
    /// Reads a little-endian dword (never crosses a page).
    #[inline]
    fn read32(&mut self, addr: u32) -> u32 {
        self.read16(addr) as u32 | (self.read16(addr.wrapping_add(2)) as u32) << 16
    }
    /// Writes a little-endian word (never crosses a page).
    #[inline]
    fn write16(&mut self, addr: u32, value: u16) {
        self.write8(addr, value as u8);
        self.write8(addr.wrapping_add(1), (value >> 8) as u8);
    }
    /// Writes a little-endian dword (never crosses a page).
    #[inline]
    fn write32(&mut self, addr: u32, value: u32) {
        self.write16(addr, value as u16);
        self.write16(addr.wrapping_add(2), (value >> 16) as u16);
    }

    /// Bytes of ordinary memory (RAM or ROM) readable directly from `addr` up to the end of its
    /// page, for instruction fetch; empty when `addr` is not plain memory.
    #[inline]
    fn code_window(&mut self, _addr: u32) -> &[u8] {
        &[]
    }

    /// The code epoch of the page holding physical `addr`, when decoded instructions may be
    /// cached: it must change whenever bytes of a cached instruction of that page (see
    /// [`Bus::mark_code`]) are written or the memory mapping changes. `None` disables the
    /// decode cache.
    #[inline]
    fn code_epoch(&self, _addr: u32) -> Option<u32> {
        None
    }

    /// Called when the instruction at `addr..addr+len` enters the decode cache.
    #[inline]
    fn mark_code(&mut self, _addr: u32, _len: u32) {}

    /// A number that changes whenever [`Bus::code_epoch`] changes for any address, so that a
    /// CPU which saw it unchanged since its last look knows every cached instruction still
    /// holds without asking page by page. A bus that answers `code_epoch` must keep it.
    #[inline]
    fn code_stamp(&self) -> u32 {
        0
    }

    /// The host memory behind the page of physical `addr`, when the CPU may access it without
    /// the bus: the address of the page's first byte, and whether writes may go there too
    /// (else only reads). The CPU keeps such pointers in its TLB while
    /// [`Bus::direct_generation`] stays the same, so a bus that answers must change that value
    /// whenever an answer would change (and must keep the memory alive meanwhile). `None`, the
    /// default, sends every access through the bus.
    #[inline]
    fn direct_page(&mut self, _addr: u32) -> Option<(*mut u8, bool)> {
        None
    }

    /// See [`Bus::direct_page`]; a bus that never answers keeps the default.
    #[inline]
    fn direct_generation(&self) -> u64 {
        0
    }

    /// Reads an I/O port (`size` 1, 2 or 4). `now` is the CPU's cycle counter.
    fn io_read(&mut self, port: u16, size: u8, now: u64) -> u32;
    /// Writes an I/O port (`size` 1, 2 or 4).
    fn io_write(&mut self, port: u16, size: u8, value: u32, now: u64);

    /// Whether the interrupt controller asserts INTR.
    #[inline]
    fn interrupt_pending(&self) -> bool {
        false
    }
    /// The interrupt-acknowledge cycle: returns the vector.
    fn acknowledge_interrupt(&mut self, _now: u64) -> u8 {
        0
    }
    /// The FPU's FERR# output changed: an unmasked x87 exception is pending (`asserted`) or
    /// was cleared. The PC routes it to IRQ 13.
    #[inline]
    fn fpu_error(&mut self, _asserted: bool) {}
}

/// Bus `B` for handlers that may take only the plain path of a memory access: where the
/// access would need its slow path (a TLB miss, a segment check that fails, MMIO, a page
/// crossing, …), the access does nothing and the handler returns [`Fault::RETRY`] before it
/// changed anything, so the same instruction can run again with `B` itself. Trace chains run
/// memory instructions this way: their compiled form has no call on the fast path, so it needs
/// no saved registers and no stack frame.
///
/// [`Fault::RETRY`]: crate::cpu::Fault::RETRY
#[repr(transparent)]
pub(crate) struct FastOnly<B>(B);

impl<B: Bus> FastOnly<B> {
    /// `bus` seen as a `FastOnly` bus.
    #[inline(always)]
    pub(crate) fn wrap(bus: &mut B) -> &mut FastOnly<B> {
        // SAFETY: `FastOnly<B>` is a transparent wrapper of `B`.
        unsafe { &mut *(bus as *mut B as *mut FastOnly<B>) }
    }
}

impl<B: Bus> Bus for FastOnly<B> {
    const TRACE_ID: u8 = B::TRACE_ID;
    const FAST_ONLY: bool = true;
    #[inline(always)]
    fn read8(&mut self, addr: u32) -> u8 {
        self.0.read8(addr)
    }
    #[inline(always)]
    fn write8(&mut self, addr: u32, value: u8) {
        self.0.write8(addr, value)
    }
    #[inline(always)]
    fn read16(&mut self, addr: u32) -> u16 {
        self.0.read16(addr)
    }
    #[inline(always)]
    fn read32(&mut self, addr: u32) -> u32 {
        self.0.read32(addr)
    }
    #[inline(always)]
    fn write16(&mut self, addr: u32, value: u16) {
        self.0.write16(addr, value)
    }
    #[inline(always)]
    fn write32(&mut self, addr: u32, value: u32) {
        self.0.write32(addr, value)
    }
    #[inline(always)]
    fn code_window(&mut self, addr: u32) -> &[u8] {
        self.0.code_window(addr)
    }
    #[inline(always)]
    fn code_epoch(&self, addr: u32) -> Option<u32> {
        self.0.code_epoch(addr)
    }
    #[inline(always)]
    fn mark_code(&mut self, addr: u32, len: u32) {
        self.0.mark_code(addr, len)
    }
    #[inline(always)]
    fn code_stamp(&self) -> u32 {
        self.0.code_stamp()
    }
    #[inline(always)]
    fn direct_page(&mut self, addr: u32) -> Option<(*mut u8, bool)> {
        self.0.direct_page(addr)
    }
    #[inline(always)]
    fn direct_generation(&self) -> u64 {
        self.0.direct_generation()
    }
    #[inline(always)]
    fn io_read(&mut self, port: u16, size: u8, now: u64) -> u32 {
        self.0.io_read(port, size, now)
    }
    #[inline(always)]
    fn io_write(&mut self, port: u16, size: u8, value: u32, now: u64) {
        self.0.io_write(port, size, value, now)
    }
    #[inline(always)]
    fn interrupt_pending(&self) -> bool {
        self.0.interrupt_pending()
    }
    #[inline(always)]
    fn acknowledge_interrupt(&mut self, now: u64) -> u8 {
        self.0.acknowledge_interrupt(now)
    }
    #[inline(always)]
    fn fpu_error(&mut self, asserted: bool) {
        self.0.fpu_error(asserted)
    }
}
