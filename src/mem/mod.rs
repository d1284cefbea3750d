//! Guest physical memory: one RAM buffer, the firmware ROM, MMIO windows, and the A20 gate.
//!
//! The 4 GiB physical address space is described by a page map (one byte per 4 KiB page):
//! RAM pages are read and written straight from the buffer, ROM pages read from the image and
//! ignore writes, MMIO pages are routed by the machine to the owning device, and everything else
//! reads as all ones (an open bus) and ignores writes. Nothing a guest does can reach outside
//! these buffers.
//!
//! Self-modifying code: RAM holding instructions the CPU has cached is marked per 128-byte chunk,
//! and its pages get their own map kind, so that an ordinary data write costs one map lookup and
//! only writes to code pages look at the chunk bits. A hit starts a new code epoch *of that
//! page*: cached code elsewhere stays valid (a page's epoch is a global epoch, bumped by bulk
//! changes such as A20 or loads, plus the page's own count).
//!
//! The firmware image is mapped at the top of the first MiB and again at the top of the 4 GiB
//! space (where a 386 fetches its first instruction), repeated through the top 2 MiB so the
//! alias survives a disabled A20 gate; on a 286 the top of its 16 MiB space aliases it as well.

mod pagebuf;

pub use pagebuf::{PageArray, PageBuf};
use thiserror::Error;

/// Page size of the map.
pub const PAGE: u32 = 4096;
const PAGE_SHIFT: u32 = 12;

/// Page-map value: RAM.
const RAM: u8 = 0;
/// Page-map value: RAM holding code that the CPU has cached (writes check the code chunks).
const RAM_CODE: u8 = 1;
/// Page-map value: nothing (reads all ones, writes ignored).
const UNMAPPED: u8 = 2;
/// Page-map value: the firmware ROM.
const ROM: u8 = 3;
/// Page-map values from this one up name MMIO region `value - MMIO_BASE`.
const MMIO_BASE: u8 = 4;
/// Pages in the 4 GiB physical address space.
const PAGES: usize = 1 << (32 - PAGE_SHIFT);

/// An access that belongs to an MMIO window.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Mmio {
    /// Window index (as returned by [`Memory::add_mmio`]).
    pub region: usize,
    /// Offset inside the window.
    pub offset: u32,
}

/// Errors setting up memory.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MemError {
    /// RAM size outside what the machine supports.
    #[error("memory size {0} bytes is not supported (use 64 KiB to 3 GiB, a multiple of 4 KiB)")]
    BadRamSize(u64),
    /// Firmware image of the wrong size.
    #[error("firmware image is {0} bytes; it must be a power of two from 4 KiB to 1 MiB")]
    BadRomSize(usize),
    /// A load outside RAM.
    #[error("{len} bytes at {addr:#x} do not fit in the {ram} bytes of RAM")]
    OutOfRam {
        /// Start address.
        addr: u32,
        /// Length.
        len: usize,
        /// RAM size.
        ram: usize,
    },
    /// Overlapping MMIO windows.
    #[error("MMIO window {start:#x}+{len:#x} overlaps another window or is not page aligned")]
    BadMmio {
        /// Start address.
        start: u32,
        /// Length.
        len: u32,
    },
}

/// Guest physical memory.
pub struct Memory {
    ram: PageBuf,
    rom: PageBuf,
    /// Kind of each page (`RAM`, `RAM_CODE`, `UNMAPPED`, `ROM`, `MMIO_BASE + region`). A fixed
    /// size, so that indexing with any page number needs no bounds check.
    map: Box<[u8; PAGES]>,
    mmio: Vec<(u32, u32)>,
    a20_mask: u32,
    /// One bit per 128-byte chunk of RAM: decoded instructions from it may be cached.
    code_chunks: Vec<u64>,
    /// Bumped whenever the mapping changes or memory changes in bulk: every cached
    /// instruction is stale.
    code_epoch: u32,
    /// Per RAM page: bumped when a write hits cached code in that page. A page's epoch is
    /// `code_epoch + page_epoch[page]`, which only ever grows (modulo 2^32), so a cached
    /// epoch matches exactly while neither part has moved.
    page_epoch: Vec<u32>,
    /// Bumped with `code_epoch` and with every page epoch: while it stays, no page's epoch
    /// moved (see [`Memory::code_stamp`]).
    code_stamp: u32,
    /// Bumped whenever what backs a physical page changes (ROM, MMIO windows, A20), so a
    /// back end that maps memory itself knows to map it again.
    layout: u64,
    /// Changes (to a value no other `Memory` ever had) whenever a page's direct host access
    /// (see [`Memory::direct_page`]) changes: with the layout, and when a RAM page starts
    /// holding cached code, which must no longer be written directly.
    direct: u64,
}

/// A value for [`Memory::direct_generation`] never used before in this process, so that a CPU
/// moved to another machine sees a change too.
fn fresh_generation() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A run of guest-physical addresses backed by host memory (see [`Memory::host_ranges`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostRange {
    /// First guest-physical address (page aligned).
    pub guest: u32,
    /// Length in bytes (a multiple of the page size).
    pub len: u32,
    /// The host address of the first byte, inside the RAM or ROM buffer.
    pub host: *mut u8,
    /// ROM: guest writes must not reach it.
    pub read_only: bool,
}

/// Granularity of self-modifying-code tracking (bytes, as a shift).
const CHUNK_SHIFT: u32 = 7;

impl Memory {
    /// `ram_size` bytes of zeroed RAM from address 0, no ROM, A20 enabled.
    pub fn new(ram_size: u64) -> Result<Memory, MemError> {
        if !(0x10000..=0xC000_0000).contains(&ram_size) || !ram_size.is_multiple_of(PAGE as u64) {
            return Err(MemError::BadRamSize(ram_size));
        }
        let mut map: Box<[u8; PAGES]> = match vec![UNMAPPED; PAGES].into_boxed_slice().try_into() {
            Ok(m) => m,
            Err(_) => unreachable!("the vector has PAGES entries"),
        };
        for p in map.iter_mut().take((ram_size >> PAGE_SHIFT) as usize) {
            *p = RAM;
        }
        Ok(Memory {
            ram: PageBuf::zeroed(ram_size as usize),
            rom: PageBuf::zeroed(0),
            map,
            mmio: Vec::new(),
            a20_mask: !0,
            code_chunks: vec![0; (ram_size as usize >> CHUNK_SHIFT).div_ceil(64)],
            code_epoch: 0,
            code_stamp: 0,
            page_epoch: vec![0; (ram_size as usize).div_ceil(PAGE as usize)],
            layout: 0,
            direct: fresh_generation(),
        })
    }

    /// Maps a firmware image (see the module docs for where).
    pub fn load_rom(&mut self, image: &[u8]) -> Result<(), MemError> {
        let len = image.len();
        if !len.is_power_of_two() || !(0x1000..=0x10_0000).contains(&len) {
            return Err(MemError::BadRomSize(len));
        }
        self.rom = PageBuf::from_slice(image);
        self.layout_changed();
        let low = (0x10_0000 - len as u32) >> PAGE_SHIFT;
        for p in low..0x100 {
            self.map[p as usize] = ROM;
        }
        for p in (0xFFE0_0000u32 >> PAGE_SHIFT)..=(0xFFFF_FFFFu32 >> PAGE_SHIFT) {
            self.map[p as usize] = ROM;
        }
        Ok(())
    }

    /// Also maps the ROM at the top of the 286's 16 MiB address space.
    pub fn alias_rom_at_16m(&mut self) {
        let len = self.rom.len() as u32;
        if len == 0 {
            return;
        }
        for p in ((0x100_0000 - len) >> PAGE_SHIFT)..(0x100_0000 >> PAGE_SHIFT) {
            self.map[p as usize] = ROM;
        }
        self.layout_changed();
    }

    /// Registers an MMIO window; returns its region index.
    pub fn add_mmio(&mut self, start: u32, len: u32) -> Result<usize, MemError> {
        let bad = MemError::BadMmio { start, len };
        if !start.is_multiple_of(PAGE)
            || len == 0
            || !len.is_multiple_of(PAGE)
            || start.checked_add(len - 1).is_none()
        {
            return Err(bad);
        }
        let idx = self.mmio.len();
        if idx + MMIO_BASE as usize > u8::MAX as usize {
            return Err(bad);
        }
        let pages = (start >> PAGE_SHIFT)..((start >> PAGE_SHIFT) + (len >> PAGE_SHIFT));
        if pages.clone().any(|p| self.map[p as usize] >= MMIO_BASE) {
            return Err(bad);
        }
        for p in pages {
            self.map[p as usize] = MMIO_BASE + idx as u8;
        }
        self.mmio.push((start, len));
        self.layout_changed();
        Ok(idx)
    }

    /// Opens or closes the A20 gate (closed: address bit 20 forced to 0).
    pub fn set_a20(&mut self, on: bool) {
        let mask = if on { !0 } else { !(1 << 20) };
        if mask != self.a20_mask {
            // Physical addresses now reach other bytes: cached instructions are stale.
            self.invalidate_all_code();
            self.layout_changed();
        }
        self.a20_mask = mask;
    }

    /// The code epoch of the page holding `addr` (see [`Memory::mark_code`]).
    #[inline(always)]
    pub fn code_epoch(&self, addr: u32) -> u32 {
        let page = ((addr & self.a20_mask) >> PAGE_SHIFT) as usize;
        match self.page_epoch.get(page) {
            Some(&p) => self.code_epoch.wrapping_add(p),
            None => self.code_epoch,
        }
    }

    /// Notes that the instruction at `addr..addr+len` entered the CPU's decode cache, so that
    /// a write to those bytes must start a new code epoch. ROM needs no mark: it never changes.
    ///
    /// The page becomes `RAM_CODE`: only writes to such pages look at the chunk bits, so data
    /// pages cost nothing extra. (A page stays `RAM_CODE`; that is merely a little slower.)
    #[inline]
    pub fn mark_code(&mut self, addr: u32, len: u32) {
        let a = addr & self.a20_mask;
        let last = a.wrapping_add(len.max(1) - 1) & self.a20_mask;
        for x in [a, last] {
            let page = &mut self.map[(x >> PAGE_SHIFT) as usize];
            if *page == RAM {
                *page = RAM_CODE;
                // Writes to this page must now go through `check_code_write`.
                self.direct = fresh_generation();
            }
        }
        // Every chunk the bytes touch (a trace can span several).
        if last >= a {
            for c in (a >> CHUNK_SHIFT) as usize..=(last >> CHUNK_SHIFT) as usize {
                if c < self.code_chunks.len() * 64 {
                    self.code_chunks[c >> 6] |= 1 << (c & 63);
                }
            }
        }
    }

    /// A write hit cached code: start a new epoch of its page and forget the chunk's mark.
    #[cold]
    fn code_written(&mut self, chunk: usize) {
        self.code_chunks[chunk >> 6] &= !(1 << (chunk & 63));
        let page = chunk >> (PAGE_SHIFT - CHUNK_SHIFT);
        if let Some(e) = self.page_epoch.get_mut(page) {
            *e = e.wrapping_add(1);
        }
        self.code_stamp = self.code_stamp.wrapping_add(1);
    }

    /// Invalidates every cached instruction (after bulk changes to memory or its mapping).
    pub fn invalidate_all_code(&mut self) {
        self.code_epoch = self.code_epoch.wrapping_add(1);
        self.code_stamp = self.code_stamp.wrapping_add(1);
    }

    /// A number that changes whenever [`Memory::code_epoch`] changes for any page (a write to
    /// cached code, or everything invalidated), so a CPU can check one number after a store
    /// instead of its page's epoch.
    #[inline(always)]
    pub fn code_stamp(&self) -> u32 {
        self.code_stamp
    }

    /// A number that changes whenever [`Memory::host_ranges`] would change.
    pub fn layout_generation(&self) -> u64 {
        self.layout
    }

    /// What backs the physical pages changed.
    fn layout_changed(&mut self) {
        self.layout += 1;
        self.direct = fresh_generation();
    }

    /// A number that changes whenever [`Memory::direct_page`] would answer differently for
    /// some page, and differs between any two `Memory` values.
    #[inline(always)]
    pub fn direct_generation(&self) -> u64 {
        self.direct
    }

    /// The host address of the start of the page holding `addr`, when the CPU may read it
    /// directly (RAM or ROM), and whether it may also write it directly (RAM without cached
    /// code, whose writes need no look at the code chunks). The pointer stays valid while
    /// `self` lives and [`Memory::direct_generation`] does not change.
    pub fn direct_page(&self, addr: u32) -> Option<(*mut u8, bool)> {
        let a = addr & self.a20_mask & !(PAGE - 1);
        match self.map[(a >> PAGE_SHIFT) as usize] {
            RAM => Some((self.ram.as_host_ptr().wrapping_add(a as usize), true)),
            RAM_CODE => Some((self.ram.as_host_ptr().wrapping_add(a as usize), false)),
            ROM if !self.rom.is_empty() => {
                let o = a as usize & (self.rom.len() - 1);
                Some((self.rom.as_host_ptr().wrapping_add(o), false))
            }
            _ => None,
        }
    }

    /// The guest-physical ranges backed directly by the RAM or ROM buffers, merged into
    /// maximal runs; everything else (MMIO windows, unmapped space) is left out and must be
    /// served through the machine's bus. The pointers stay valid while `self` lives.
    ///
    /// With the A20 gate closed, the megabyte above 1 MiB is mapped onto the first one (the
    /// wrap-around real-mode programs rely on); higher odd megabytes keep their own memory,
    /// where the interpreter would wrap them too.
    pub fn host_ranges(&self) -> Vec<HostRange> {
        let mut out: Vec<HostRange> = Vec::new();
        for p in 0..PAGES as u32 {
            let addr = p << PAGE_SHIFT;
            let eff = if addr >> 20 == 1 {
                addr & self.a20_mask
            } else {
                addr
            };
            let (host, read_only) = match self.map[(eff >> PAGE_SHIFT) as usize] {
                RAM | RAM_CODE => (self.ram.as_host_ptr().wrapping_add(eff as usize), false),
                ROM if !self.rom.is_empty() => {
                    let o = eff as usize & (self.rom.len() - 1);
                    (self.rom.as_host_ptr().wrapping_add(o), true)
                }
                _ => continue,
            };
            if let Some(last) = out.last_mut() {
                if last.guest as u64 + last.len as u64 == addr as u64
                    && last.host.wrapping_add(last.len as usize) == host
                    && last.read_only == read_only
                {
                    last.len += PAGE;
                    continue;
                }
            }
            out.push(HostRange {
                guest: addr,
                len: PAGE,
                host,
                read_only,
            });
        }
        out
    }

    /// Whether the A20 gate is open.
    pub fn a20(&self) -> bool {
        self.a20_mask == !0
    }

    /// RAM size in bytes.
    pub fn ram_size(&self) -> usize {
        self.ram.len()
    }

    /// The RAM buffer.
    pub fn ram(&self) -> &[u8] {
        &self.ram
    }

    /// The RAM buffer, writable (loaders, the debugger). Invalidates cached instructions.
    pub fn ram_mut(&mut self) -> &mut [u8] {
        self.invalidate_all_code();
        &mut self.ram
    }

    /// Copies `data` into RAM at `addr`.
    pub fn load(&mut self, addr: u32, data: &[u8]) -> Result<(), MemError> {
        let end = addr as usize + data.len();
        if end > self.ram.len() {
            return Err(MemError::OutOfRam {
                addr,
                len: data.len(),
                ram: self.ram.len(),
            });
        }
        self.ram[addr as usize..end].copy_from_slice(data);
        self.invalidate_all_code();
        Ok(())
    }

    /// Reads a byte: RAM/ROM, all ones when unmapped; `Err` names the MMIO window to ask.
    #[inline(always)]
    pub fn read8(&self, addr: u32) -> Result<u8, Mmio> {
        let a = addr & self.a20_mask;
        match self.map[(a >> PAGE_SHIFT) as usize] {
            RAM | RAM_CODE => Ok(self.ram[a as usize]),
            k => self.read_other(k, a, 1).map(|v| v as u8),
        }
    }

    /// Reads a word that does not cross a page.
    #[inline(always)]
    pub fn read16(&self, addr: u32) -> Result<u16, Mmio> {
        let a = addr & self.a20_mask;
        match self.map[(a >> PAGE_SHIFT) as usize] {
            RAM | RAM_CODE => match self.ram.get(a as usize..a as usize + 2) {
                Some(b) => Ok(u16::from_le_bytes([b[0], b[1]])),
                None => unreachable!("RAM pages lie inside the RAM buffer"),
            },
            k => self.read_other(k, a, 2).map(|v| v as u16),
        }
    }

    /// Reads a dword that does not cross a page.
    #[inline(always)]
    pub fn read32(&self, addr: u32) -> Result<u32, Mmio> {
        let a = addr & self.a20_mask;
        match self.map[(a >> PAGE_SHIFT) as usize] {
            RAM | RAM_CODE => match self.ram.get(a as usize..a as usize + 4) {
                Some(b) => Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                None => unreachable!("RAM pages lie inside the RAM buffer"),
            },
            k => self.read_other(k, a, 4),
        }
    }

    /// Reads `size` bytes from a page that is not RAM.
    #[cold]
    #[inline(never)]
    fn read_other(&self, kind: u8, a: u32, size: u8) -> Result<u32, Mmio> {
        match kind {
            ROM => {
                let o = a as usize & (self.rom.len() - 1);
                let mut v = 0;
                for k in 0..size as usize {
                    v |= (self.rom[o + k] as u32) << (8 * k);
                }
                Ok(v)
            }
            UNMAPPED => Ok(u32::MAX >> (32 - 8 * size as u32)),
            k => Err(self.mmio_of(k, a)),
        }
    }

    /// Writes `size` bytes (1, 2, 4; not crossing a page) of `v`. RAM takes it, ROM and
    /// unmapped pages ignore it; `Err` names the MMIO window to tell.
    #[inline(always)]
    pub fn write(&mut self, addr: u32, size: u8, v: u32) -> Result<(), Mmio> {
        let a = addr & self.a20_mask;
        let kind = self.map[(a >> PAGE_SHIFT) as usize];
        if kind == RAM {
            self.store(a, size, v);
            Ok(())
        } else {
            self.write_other(kind, a, size, v)
        }
    }

    /// Writes `size` bytes to a page that is not plain RAM.
    #[inline(never)]
    fn write_other(&mut self, kind: u8, a: u32, size: u8, v: u32) -> Result<(), Mmio> {
        match kind {
            RAM_CODE => {
                self.check_code_write(a, size);
                self.store(a, size, v);
                Ok(())
            }
            ROM | UNMAPPED => Ok(()),
            k => Err(self.mmio_of(k, a)),
        }
    }

    /// Stores into RAM.
    #[inline(always)]
    fn store(&mut self, a: u32, size: u8, v: u32) {
        let a = a as usize;
        let Some(dst) = self.ram.get_mut(a..a + size as usize) else {
            unreachable!("RAM pages lie inside the RAM buffer")
        };
        match size {
            1 => dst[0] = v as u8,
            2 => dst.copy_from_slice(&(v as u16).to_le_bytes()),
            _ => dst.copy_from_slice(&v.to_le_bytes()),
        }
    }

    /// A write to a page holding cached code: a new code epoch if it hits a marked chunk.
    #[inline(always)]
    fn check_code_write(&mut self, a: u32, size: u8) {
        let (c0, c1) = (
            (a >> CHUNK_SHIFT) as usize,
            ((a + size as u32 - 1) >> CHUNK_SHIFT) as usize,
        );
        for c in [c0, c1] {
            if c < self.code_chunks.len() * 64 && (self.code_chunks[c >> 6] >> (c & 63)) & 1 != 0 {
                self.code_written(c);
            }
        }
    }

    #[cold]
    fn mmio_of(&self, kind: u8, a: u32) -> Mmio {
        let region = (kind - MMIO_BASE) as usize;
        Mmio {
            region,
            offset: a - self.mmio[region].0,
        }
    }

    /// The bytes from `addr` to the end of its page, if it is RAM or ROM.
    #[inline(always)]
    pub fn code_window(&self, addr: u32) -> &[u8] {
        let a = addr & self.a20_mask;
        let end = (a | (PAGE - 1)) as usize + 1;
        match self.map[(a >> PAGE_SHIFT) as usize] {
            RAM | RAM_CODE => &self.ram[a as usize..end],
            ROM => {
                let mask = self.rom.len() - 1;
                let o = a as usize & mask;
                &self.rom[o..(o | (PAGE as usize - 1)) + 1]
            }
            _ => &[],
        }
    }
}

/// DMA reaches RAM and ROM the way the CPU does (writes to ROM are dropped); MMIO windows
/// are not DMA targets on this board (reads give all ones, writes are dropped).
impl glassbox_devices::GuestMemory for Memory {
    fn read_phys(&mut self, addr: u32, buf: &mut [u8]) {
        for (k, b) in buf.iter_mut().enumerate() {
            *b = self.read8(addr.wrapping_add(k as u32)).unwrap_or(0xFF);
        }
    }

    fn write_phys(&mut self, addr: u32, data: &[u8]) {
        for (k, &b) in data.iter().enumerate() {
            let _ = self.write(addr.wrapping_add(k as u32), 1, b as u32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rom_is_mapped_low_and_high_and_read_only() {
        let mut m = Memory::new(16 << 20).unwrap();
        let mut rom = vec![0u8; 0x10000];
        rom[0xFFF0] = 0xEA;
        m.load_rom(&rom).unwrap();
        assert_eq!(m.read8(0xFFFF0), Ok(0xEA));
        assert_eq!(m.read8(0xFFFF_FFF0), Ok(0xEA));
        m.write(0xFFFF0, 1, 0).unwrap();
        assert_eq!(m.read8(0xFFFF0), Ok(0xEA));
        // With A20 closed the 4 GiB alias still reaches the ROM.
        m.set_a20(false);
        assert_eq!(m.read8(0xFFFF_FFF0), Ok(0xEA));
    }

    #[test]
    fn host_ranges_follow_the_page_map_and_the_a20_gate() {
        let mut m = Memory::new(4 << 20).unwrap();
        m.add_mmio(0xA0000, 0x20000).unwrap();
        m.load_rom(&[0u8; 0x10000]).unwrap();
        let ram = m.ram.as_host_ptr();
        let rom = m.rom.as_host_ptr();
        let r = m.host_ranges();
        let range = |guest, len, host, read_only| HostRange {
            guest,
            len,
            host,
            read_only,
        };
        assert_eq!(r[0], range(0, 0xA0000, ram, false));
        assert_eq!(
            r[1],
            range(0xC0000, 0x30000, ram.wrapping_add(0xC0000), false)
        );
        assert_eq!(r[2], range(0xF0000, 0x10000, rom, true));
        assert_eq!(
            r[3],
            range(0x100000, 0x300000, ram.wrapping_add(0x100000), false)
        );
        // The top 2 MiB repeat the ROM, one range per copy.
        assert_eq!(r.len(), 4 + 32);
        assert!(r[4..]
            .iter()
            .all(|x| x.host == rom && x.len == 0x10000 && x.read_only));
        assert_eq!(r[4].guest, 0xFFE0_0000);

        let before = m.layout_generation();
        m.set_a20(false);
        assert_ne!(m.layout_generation(), before);
        let r = m.host_ranges();
        // The second megabyte now shows the first, holes included.
        assert_eq!(r[3], range(0x100000, 0xA0000, ram, false));
        assert_eq!(r[5], range(0x1F0000, 0x10000, rom, true));
        assert_eq!(
            r[6],
            range(0x200000, 0x200000, ram.wrapping_add(0x200000), false)
        );
    }

    #[test]
    fn a20_wraps_at_one_megabyte() {
        let mut m = Memory::new(2 << 20).unwrap();
        m.write(0x100000, 1, 0x55).unwrap();
        assert_eq!(m.read8(0x000000), Ok(0));
        m.set_a20(false);
        assert_eq!(m.read8(0x100000), Ok(0x00));
        m.write(0x100001, 2, 0x66).unwrap();
        assert_eq!(m.read16(0x000001), Ok(0x66));
        m.set_a20(true);
        assert_eq!(m.read8(0x100000), Ok(0x55));
    }

    #[test]
    fn unmapped_reads_ones_and_mmio_is_routed() {
        let mut m = Memory::new(1 << 20).unwrap();
        assert_eq!(m.read32(0x4000_0000), Ok(0xFFFF_FFFF));
        m.write(0x4000_0000, 4, 0).unwrap(); // ignored, no panic
        let region = m.add_mmio(0xA0000, 0x20000).unwrap();
        assert_eq!(
            m.read16(0xA0010),
            Err(Mmio {
                region,
                offset: 0x10
            })
        );
        assert_eq!(
            m.write(0xBFFFF, 1, 0),
            Err(Mmio {
                region,
                offset: 0x1FFFF
            })
        );
        assert!(m.add_mmio(0xB0000, 0x1000).is_err());
        assert_eq!(m.code_window(0xA0000), &[] as &[u8]);
    }

    #[test]
    fn writes_to_cached_code_start_a_new_epoch() {
        let mut m = Memory::new(1 << 20).unwrap();
        let e = m.code_epoch(0x7C00);
        let other = m.code_epoch(0x9000);
        m.write(0x7C00, 1, 0x90).unwrap();
        assert_eq!(m.code_epoch(0x7C00), e, "no code cached: no new epoch");
        m.mark_code(0x7C7E, 3); // spans two 128-byte chunks
        m.write(0x7D00, 1, 0).unwrap();
        assert_eq!(
            m.code_epoch(0x7C00),
            e,
            "a write beside the code keeps the epoch"
        );
        m.write(0x7C7F, 1, 0).unwrap();
        let e2 = m.code_epoch(0x7C00);
        assert_ne!(e2, e);
        assert_eq!(m.code_epoch(0x9000), other, "other pages keep their epoch");
        m.write(0x7C80, 1, 0).unwrap();
        assert_ne!(m.code_epoch(0x7C00), e2, "the second chunk was marked too");
        // A long run of code marks every chunk it covers, not only its ends.
        m.mark_code(0x8000, 0x200);
        let e4 = m.code_epoch(0x8000);
        m.write(0x8100, 1, 0).unwrap();
        assert_ne!(m.code_epoch(0x8000), e4, "a middle chunk was marked");
        let e3 = m.code_epoch(0x7C00);
        let o3 = m.code_epoch(0x9000);
        m.set_a20(false);
        assert_ne!(m.code_epoch(0x7C00), e3);
        assert_ne!(m.code_epoch(0x9000), o3, "bulk changes reach every page");
    }

    #[test]
    fn bad_sizes_are_errors() {
        assert!(Memory::new(100).is_err());
        let mut m = Memory::new(1 << 20).unwrap();
        assert_eq!(m.load_rom(&[0; 3000]), Err(MemError::BadRomSize(3000)));
        assert!(m.load(0xFFFF0, &[0; 32]).is_err());
    }
}
