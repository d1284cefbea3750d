//! The memory-management unit: segment access checks, paging and the TLB.
//!
//! Every data access goes `segment:offset → linear → physical`. The common case costs a few
//! comparisons ([`Cpu::plain_access`](super::Cpu)): the segment allows the access
//! (`fast_segs`, precomputed at each segment load), the offset is inside the limit, the bytes are
//! on one page, and the page's TLB entry grants the access directly: it holds the host address
//! of the page (RAM or ROM, as the bus allows; never MMIO, and no direct writes to RAM that
//! holds cached code), so the access is one host load or store. Everything else takes the slow
//! path here, which makes the full protected-mode checks, walks the page tables, raises the
//! exact fault, goes through the bus, and lets the TLB entry grant the access next time. With
//! paging off the TLB holds identity translations, kept only for their host addresses.
//!
//! Paging follows the 386/486/P6 rules:
//! - two-level tables with 4 KiB pages; 4 MiB pages with CR4.PSE (Pentium and later); PAE with
//!   its four PDPTE registers loaded at each CR3 write, 2 MiB pages (Pentium II);
//! - the accessed bit of each entry used for a translation is set as the walk reaches it; a
//!   not-present entry is never marked, and the final entry (PTE, or the PDE of a large page)
//!   is marked — with its dirty bit on a write — only when the access is allowed;
//! - a TLB entry grants writes only once the dirty bit is set, so the first write to a clean
//!   page walks again and sets it;
//! - CR0.WP (486 and later) makes read-only pages read-only for the supervisor too;
//! - global pages (CR4.PGE) survive CR3 writes; INVLPG drops one page; writes to CR0.PG/WP,
//!   CR4 PSE/PGE/PAE drop everything.
//!
//! Page-table entries are read and written through the bus at their physical addresses, as the
//! hardware does (no snooping: a changed entry takes effect after INVLPG or a flush).

use super::decode::seg;
use super::fault::vector;
use super::{Bus, Cpu, CpuModel, Fault};

/// Access kind bit: read (also instruction fetch).
pub(crate) const ACC_READ: u8 = 1;
/// Access kind bit: write.
pub(crate) const ACC_WRITE: u8 = 2;

/// Number of TLB entries (direct mapped by linear page number).
const TLB_SIZE: usize = 1024;

/// CR0 bits.
#[allow(dead_code)]
pub(crate) mod cr0 {
    /// Protection enable.
    pub const PE: u32 = 1;
    /// Monitor coprocessor.
    pub const MP: u32 = 1 << 1;
    /// Emulate coprocessor.
    pub const EM: u32 = 1 << 2;
    /// Task switched.
    pub const TS: u32 = 1 << 3;
    /// Extension type (387 present).
    pub const ET: u32 = 1 << 4;
    /// Numeric error (#MF instead of FERR#).
    pub const NE: u32 = 1 << 5;
    /// Write protect (supervisor writes honour read-only pages).
    pub const WP: u32 = 1 << 16;
    /// Alignment mask.
    pub const AM: u32 = 1 << 18;
    /// Not write-through.
    pub const NW: u32 = 1 << 29;
    /// Cache disable.
    pub const CD: u32 = 1 << 30;
    /// Paging.
    pub const PG: u32 = 1 << 31;
}

/// CR4 bits.
#[allow(dead_code)]
pub(crate) mod cr4 {
    /// Virtual-8086 mode extensions.
    pub const VME: u32 = 1;
    /// Protected-mode virtual interrupts.
    pub const PVI: u32 = 1 << 1;
    /// Time stamp disable (RDTSC privileged).
    pub const TSD: u32 = 1 << 2;
    /// Debugging extensions.
    pub const DE: u32 = 1 << 3;
    /// Page size extension (4 MiB pages).
    pub const PSE: u32 = 1 << 4;
    /// Physical address extension.
    pub const PAE: u32 = 1 << 5;
    /// Page global enable.
    pub const PGE: u32 = 1 << 7;
}

/// Page-table entry bits.
mod pte {
    pub const P: u64 = 1;
    pub const RW: u64 = 1 << 1;
    pub const US: u64 = 1 << 2;
    pub const A: u64 = 1 << 5;
    pub const D: u64 = 1 << 6;
    pub const PS: u64 = 1 << 7;
    pub const G: u64 = 1 << 8;
}

/// Page-fault error-code bits.
mod pf {
    pub const P: u16 = 1;
    pub const W: u16 = 1 << 1;
    pub const U: u16 = 1 << 2;
    pub const RSVD: u16 = 1 << 3;
}

/// TLB permission bits: supervisor read/write, user read/write (`ACC_* << 2` for user).
const ALLOW_RS: u8 = 1;
const ALLOW_WS: u8 = 2;
const ALLOW_RU: u8 = 4;
const ALLOW_WU: u8 = 8;

/// The direct-access view of one TLB entry, all the fast path reads: for each `ALLOW_*` bit
/// (supervisor read, supervisor write, user read, user write), the linear page address when
/// that access may use the host page, else `NO_PAGE`; and the host address minus the linear
/// page address, so that the host address of a byte is `addend + lin`. Aligned to 32 bytes so
/// that finding an entry is one shift.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(32))]
struct FastEntry {
    tags: [u32; 4],
    addend: usize,
}

/// A `FastEntry` tag no access matches (page addresses have the low 12 bits clear).
const NO_PAGE: u32 = 1;

impl Default for FastEntry {
    fn default() -> FastEntry {
        FastEntry {
            tags: [NO_PAGE; 4],
            addend: 0,
        }
    }
}

/// How far the `ACC_*` bits of an ordinary access shift for the current privilege level: by 2
/// to the user bits at CPL 3.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum UserShift {
    #[default]
    Supervisor = 0,
    User = 2,
}

/// One cached translation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TlbEntry {
    /// Linear page address with bit 0 set; 0 for an empty entry.
    tag: u32,
    /// Physical page address.
    frame: u32,
    /// Host address of the physical page's first byte, where `direct` allows an access.
    host: usize,
    /// `ALLOW_*` bits.
    allow: u8,
    /// The `ALLOW_*` bits (a subset of `allow`) of accesses that may use `host` instead of the
    /// bus: reads of RAM and ROM, writes of RAM that holds no cached code.
    direct: u8,
    /// A global page (kept across CR3 writes while CR4.PGE is set).
    global: bool,
}

const EMPTY: TlbEntry = TlbEntry {
    tag: 0,
    frame: 0,
    host: 0,
    allow: 0,
    direct: 0,
    global: false,
};

/// The translation lookaside buffer: direct mapped, 1024 entries.
///
/// Besides translations, an entry may carry the host address of its page (see
/// [`Bus::direct_page`]), so that a plain access to RAM is one lookup and one host load or
/// store. Those addresses are valid for one value of the bus's
/// [`Bus::direct_generation`], which [`Cpu::check_direct`] compares. With paging off, the
/// entries are identity translations kept only for their host addresses.
#[derive(Clone)]
pub(crate) struct Tlb {
    entries: Box<[TlbEntry; TLB_SIZE]>,
    /// The direct-access view of `entries`, entry by entry (kept by `sync`).
    fast: Box<[FastEntry; TLB_SIZE]>,
    /// The bus's direct generation the host addresses belong to.
    generation: u64,
}

impl Tlb {
    pub(crate) fn new() -> Tlb {
        Tlb {
            entries: Box::new([EMPTY; TLB_SIZE]),
            fast: Box::new([FastEntry::default(); TLB_SIZE]),
            generation: 0,
        }
    }

    /// The host address for an access of `size` bytes and kind `kind` (`ACC_READ` or
    /// `ACC_WRITE`) at the privilege `user_shift` says (0, or 2 for CPL 3) to `lin`, if a
    /// cached entry grants it directly and the bytes lie in one page.
    #[inline(always)]
    pub(crate) fn direct(
        &self,
        lin: u32,
        size: u8,
        kind: u8,
        user_shift: UserShift,
    ) -> Option<usize> {
        let e = &self.fast[(lin >> 12) as usize & (TLB_SIZE - 1)];
        // The `ALLOW_*` bit of the access: ACC_READ → 0, ACC_WRITE → 1, plus 2 for the user
        // (the enum's range tells the compiler the index needs no mask).
        let k = (kind >> 1) + user_shift as u8;
        // The tag is the page of the first byte; comparing it with the page of the last byte
        // also refuses an access that runs onto the next page.
        let last = lin.wrapping_add(size as u32 - 1);
        if e.tags[k as usize & 3] == last & !0xFFF {
            Some(e.addend.wrapping_add(lin as usize))
        } else {
            None
        }
    }

    /// Makes the direct-access view of entry `idx` follow the entry.
    #[inline]
    fn sync(&mut self, idx: usize) {
        let e = &self.entries[idx];
        let f = &mut self.fast[idx];
        for (k, tag) in f.tags.iter_mut().enumerate() {
            *tag = if e.tag & 1 != 0 && e.direct & (1 << k) != 0 {
                e.tag & !0xFFF
            } else {
                NO_PAGE
            };
        }
        f.addend = e.host.wrapping_sub((e.tag & !0xFFF) as usize);
    }

    /// Lets the entry of `lin` (which must be cached, translating to `frame`) grant direct
    /// access to the host page at `host`: reads, and writes too if `writable`.
    fn set_direct(&mut self, lin: u32, host: *mut u8, writable: bool) {
        let idx = (lin >> 12) as usize & (TLB_SIZE - 1);
        let e = &mut self.entries[idx];
        if e.tag != (lin & !0xFFF) | 1 {
            return;
        }
        let reads = ALLOW_RS | ALLOW_RU;
        let ok = if writable { !0 } else { reads };
        e.host = host as usize;
        e.direct = e.allow & ok;
        self.sync(idx);
    }

    /// Forgets every host address (the bus's answers changed).
    #[cold]
    fn drop_direct(&mut self, generation: u64) {
        for e in self.entries.iter_mut() {
            e.direct = 0;
        }
        self.fast.fill(FastEntry::default());
        self.generation = generation;
    }

    /// The physical address for `lin` if a cached translation grants access `need`
    /// (`ACC_*`, shifted left by 2 for user accesses).
    #[inline(always)]
    pub(crate) fn lookup(&self, lin: u32, need: u8) -> Option<u32> {
        let e = &self.entries[(lin >> 12) as usize & (TLB_SIZE - 1)];
        if e.tag == (lin & !0xFFF) | 1 && e.allow & need != 0 {
            Some(e.frame | (lin & 0xFFF))
        } else {
            None
        }
    }

    /// Drops every entry (`keep_global`: except global pages).
    pub(crate) fn flush(&mut self, keep_global: bool) {
        for idx in 0..TLB_SIZE {
            if !(keep_global && self.entries[idx].global) {
                self.entries[idx] = EMPTY;
                self.fast[idx] = FastEntry::default();
            }
        }
    }

    /// Drops the entry of one linear page.
    pub(crate) fn flush_page(&mut self, lin: u32) {
        let idx = (lin >> 12) as usize & (TLB_SIZE - 1);
        if self.entries[idx].tag == (lin & !0xFFF) | 1 {
            self.entries[idx] = EMPTY;
            self.fast[idx] = FastEntry::default();
        }
    }

    fn insert(&mut self, lin: u32, e: TlbEntry) {
        let idx = (lin >> 12) as usize & (TLB_SIZE - 1);
        self.entries[idx] = e;
        self.sync(idx);
    }
}

impl std::fmt::Debug for Tlb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.iter().filter(|e| e.tag != 0).count();
        write!(f, "Tlb({n} entries)")
    }
}

/// The result of a page walk for the debugger: physical address and the entries used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Walk {
    /// Physical address, if the page is present.
    pub phys: Option<u32>,
    /// The entries read, outermost first (PDPTE, PDE, PTE as they apply).
    pub entries: [Option<u64>; 3],
    /// Page size in bytes (4 KiB, 2 MiB or 4 MiB).
    pub page_size: u32,
}

impl Cpu {
    /// Whether user-level rules apply to ordinary accesses (CPL 3).
    #[inline(always)]
    pub(crate) fn user_shift(&self) -> u8 {
        self.user_shift as u8
    }

    /// Sets the CPL field and the TLB permission shift that follows from it (nothing else:
    /// see `set_cpl`).
    #[inline]
    pub(crate) fn put_cpl(&mut self, cpl: u8) {
        self.cpl = cpl;
        self.user_shift = if cpl == 3 {
            UserShift::User
        } else {
            UserShift::Supervisor
        };
    }

    /// Translates a linear address for an access of kind `kind` (`ACC_READ`/`ACC_WRITE`) at the
    /// current privilege level (`user`: CPL 3 rules; descriptor-table and TSS accesses are
    /// supervisor accesses whatever the CPL).
    #[inline(always)]
    pub(crate) fn translate<B: Bus>(
        &mut self,
        bus: &mut B,
        lin: u32,
        kind: u8,
        user: bool,
    ) -> Result<u32, Fault> {
        if !self.paging {
            return Ok(lin & self.addr_mask);
        }
        match self.tlb.lookup(lin, kind << ((user as u8) << 1)) {
            Some(p) => Ok(p),
            None => self.walk(bus, lin, kind, user),
        }
    }

    /// Walks the page tables for `lin`, sets accessed/dirty bits, fills the TLB and returns the
    /// physical address, or raises #PF (CR2 = `lin`).
    #[cold]
    #[inline(never)]
    fn walk<B: Bus>(&mut self, bus: &mut B, lin: u32, kind: u8, user: bool) -> Result<u32, Fault> {
        let write = kind == ACC_WRITE;
        let mut err = if write { pf::W } else { 0 } | if user { pf::U } else { 0 };
        let wp = self.cr[0] & cr0::WP != 0 && self.model >= CpuModel::I486;
        let pae = self.cr[4] & cr4::PAE != 0;
        let pse = self.cr[4] & cr4::PSE != 0 || pae;
        let pge = self.cr[4] & cr4::PGE != 0;

        // Entries: (physical address, value) of the directory entry and the final entry.
        let (dir_addr, dir, wide) = if pae {
            let pdpte = self.pdpte[(lin >> 30) as usize];
            if pdpte & pte::P == 0 {
                return Err(self.page_fault(lin, err));
            }
            let a = (pdpte & 0xF_FFFF_F000) as u32 | ((lin >> 18) & 0xFF8);
            (a, bus_read64(bus, a), true)
        } else {
            let a = (self.cr[3] & 0xFFFF_F000) | ((lin >> 20) & 0xFFC);
            (a, bus.read32(a) as u64, false)
        };
        if dir & pte::P == 0 {
            return Err(self.page_fault(lin, err));
        }
        err |= pf::P;
        if wide && dir & PAE_RESERVED != 0 {
            return Err(self.page_fault(lin, err | pf::RSVD));
        }
        let large = pse && dir & pte::PS != 0;
        let (leaf_addr, leaf, frame, flags) = if large {
            let frame = if wide {
                (dir & 0xF_FFE0_0000) as u32 | (lin & 0x1F_F000)
            } else {
                (dir as u32 & 0xFFC0_0000) | (lin & 0x3F_F000)
            };
            (dir_addr, dir, frame, dir)
        } else {
            if dir & pte::A == 0 {
                write_entry(bus, dir_addr, dir | pte::A);
            }
            let (a, e) = if wide {
                let a = (dir & 0xF_FFFF_F000) as u32 | ((lin >> 9) & 0xFF8);
                (a, bus_read64(bus, a))
            } else {
                let a = (dir as u32 & 0xFFFF_F000) | ((lin >> 10) & 0xFFC);
                (a, bus.read32(a) as u64)
            };
            if e & pte::P == 0 {
                return Err(self.page_fault(lin, err & !pf::P));
            }
            if wide && e & PAE_RESERVED != 0 {
                return Err(self.page_fault(lin, err | pf::RSVD));
            }
            // Rights are the intersection of the directory entry's and the table entry's.
            let flags = e & !(pte::RW | pte::US) | (e & dir & (pte::RW | pte::US));
            (a, e, (e & 0xFFFF_F000) as u32, flags)
        };
        let writable = flags & pte::RW != 0;
        let user_page = flags & pte::US != 0;
        let allowed = if user {
            user_page && (!write || writable)
        } else {
            !write || writable || !wp
        };
        if !allowed {
            return Err(self.page_fault(lin, err));
        }
        let mut new = leaf | pte::A;
        if write {
            new |= pte::D;
        }
        if new != leaf {
            write_entry(bus, leaf_addr, new);
        }
        let dirty = new & pte::D != 0;
        let mut allow = ALLOW_RS;
        if dirty && (writable || !wp) {
            allow |= ALLOW_WS;
        }
        if user_page {
            allow |= ALLOW_RU;
            if dirty && writable {
                allow |= ALLOW_WU;
            }
        }
        let frame = frame & self.addr_mask;
        self.tlb.insert(
            lin,
            TlbEntry {
                tag: (lin & !0xFFF) | 1,
                frame,
                host: 0,
                allow,
                direct: 0,
                global: pge && flags & pte::G != 0,
            },
        );
        Ok(frame | (lin & 0xFFF))
    }

    /// Records a page fault: CR2 gets the linear address.
    fn page_fault(&mut self, lin: u32, err: u16) -> Fault {
        self.cr[2] = lin;
        Fault::new(vector::PF).with_error(err)
    }

    /// Looks a linear address up in the page tables without side effects (no accessed bits, no
    /// TLB fill, no fault), for the debugger. `read32` reads a dword of physical memory
    /// (`None`: not readable, and then neither is the address).
    pub fn probe_linear(&self, mut read32: impl FnMut(u32) -> Option<u32>, lin: u32) -> Walk {
        let mut w = Walk {
            phys: None,
            entries: [None; 3],
            page_size: 4096,
        };
        if !self.paging {
            w.phys = Some(lin & self.addr_mask);
            return w;
        }
        let mut read64 = |a: u32| -> Option<u64> {
            Some(read32(a)? as u64 | (read32(a.wrapping_add(4))? as u64) << 32)
        };
        let pae = self.cr[4] & cr4::PAE != 0;
        let pse = self.cr[4] & cr4::PSE != 0 || pae;
        let dir = if pae {
            let pdpte = self.pdpte[(lin >> 30) as usize];
            w.entries[0] = Some(pdpte);
            if pdpte & pte::P == 0 {
                return w;
            }
            read64((pdpte & 0xF_FFFF_F000) as u32 | ((lin >> 18) & 0xFF8))
        } else {
            read64((self.cr[3] & 0xFFFF_F000) | ((lin >> 20) & 0xFFC)).map(|v| v & 0xFFFF_FFFF)
        };
        let Some(dir) = dir else {
            return w;
        };
        w.entries[1] = Some(dir);
        if dir & pte::P == 0 {
            return w;
        }
        if pse && dir & pte::PS != 0 {
            if pae {
                w.page_size = 2 << 20;
                w.phys = Some((dir & 0xF_FFE0_0000) as u32 | (lin & 0x1F_FFFF));
            } else {
                w.page_size = 4 << 20;
                w.phys = Some((dir as u32 & 0xFFC0_0000) | (lin & 0x3F_FFFF));
            }
            return w;
        }
        let e = if pae {
            read64((dir & 0xF_FFFF_F000) as u32 | ((lin >> 9) & 0xFF8))
        } else {
            read64((dir as u32 & 0xFFFF_F000) | ((lin >> 10) & 0xFFC)).map(|v| v & 0xFFFF_FFFF)
        };
        let Some(e) = e else {
            return w;
        };
        w.entries[2] = Some(e);
        if e & pte::P != 0 {
            w.phys = Some((e & 0xFFFF_F000) as u32 | (lin & 0xFFF));
        }
        w
    }

    /// Recomputes what depends on CR0/CR4 and flushes the TLB (after a write to a paging
    /// control bit, or a state load).
    pub(crate) fn paging_changed(&mut self) {
        self.paging = self.cr[0] & cr0::PG != 0 && self.cr[0] & cr0::PE != 0;
        self.tlb.flush(false);
    }

    /// Loads the four PAE page-directory-pointer entries from CR3 (P6: at each CR3 write and
    /// when paging or PAE is turned on). Reserved bits set in a present entry: #GP(0).
    pub(crate) fn load_pdptes<B: Bus>(&mut self, bus: &mut B, cr3: u32) -> Result<(), Fault> {
        let base = cr3 & 0xFFFF_FFE0;
        let mut p = [0u64; 4];
        for (k, e) in p.iter_mut().enumerate() {
            *e = bus_read64(bus, base.wrapping_add(8 * k as u32));
            if *e & pte::P != 0 && *e & PDPTE_RESERVED != 0 {
                return Err(Fault::gp(0));
            }
        }
        self.pdpte = p;
        Ok(())
    }

    // ----- segment checks ---------------------------------------------------------------

    /// The fault for a bad access through segment `s`: #SS(0) for the stack, else #GP(0).
    #[inline]
    pub(crate) fn seg_fault(&self, s: u8) -> Fault {
        if s == seg::SS {
            Fault::ss(0)
        } else {
            Fault::gp(0)
        }
    }

    /// Checks an access of `size` bytes at `seg:off` of kind `kind` by every rule of the current
    /// mode. Returns whether the offset wraps around a 64 KiB segment (8086/186).
    pub(crate) fn check_access(&self, s: u8, off: u32, size: u8, kind: u8) -> Result<bool, Fault> {
        let last = off as u64 + size as u64 - 1;
        if self.wraps {
            return Ok(last > 0xFFFF);
        }
        let sg = &self.segs[s as usize];
        if self.protected() && !self.v86() {
            let a = sg.attrs;
            if a & 0x80 == 0 {
                // Null (or not present) segment.
                return Err(self.seg_fault(s));
            }
            let code = a & 0x08 != 0;
            let ok = if kind == ACC_WRITE {
                !code && a & 0x02 != 0
            } else {
                !code || a & 0x02 != 0
            };
            if !ok {
                return Err(self.seg_fault(s));
            }
            if !code && a & 0x04 != 0 {
                // Expand-down: valid offsets are limit+1 ..= 0xFFFF (or 0xFFFFFFFF with B).
                let upper = if a & 0x4000 != 0 { u32::MAX } else { 0xFFFF };
                if off <= sg.limit || last > upper as u64 {
                    return Err(self.seg_fault(s));
                }
                return Ok(false);
            }
        }
        if last > sg.limit as u64 {
            // The 286 reports every real-mode limit violation as #GP; the 386 uses #SS for SS.
            return Err(if s == seg::SS && self.model >= CpuModel::I386 {
                Fault::ss(0)
            } else {
                Fault::gp(0)
            });
        }
        if self.alignment_checks() && size > 1 && off & (size as u32 - 1) != 0 {
            return Err(Fault::new(vector::AC).with_error(0));
        }
        Ok(false)
    }

    /// Whether misaligned accesses raise #AC (486+: CR0.AM, EFLAGS.AC, CPL 3).
    #[inline]
    pub(crate) fn alignment_checks(&self) -> bool {
        self.cpl == 3
            && self.cr[0] & cr0::AM != 0
            && self.flags.bits & super::flags::AC != 0
            && self.model >= CpuModel::I486
    }

    /// Recomputes the fast-path permissions of segment `s` from its descriptor cache.
    pub(crate) fn update_seg_acc(&mut self, s: u8) {
        let a = self.segs[s as usize].attrs;
        let acc = if self.alignment_checks() || self.dbg.data() {
            0
        } else if !self.protected() || self.v86() {
            ACC_READ | ACC_WRITE
        } else if a & 0x80 == 0 {
            0
        } else if a & 0x08 != 0 {
            // Code: readable or not; never writable.
            if a & 0x02 != 0 {
                ACC_READ
            } else {
                0
            }
        } else if a & 0x04 != 0 {
            // Expand-down data: always the slow path.
            0
        } else if a & 0x02 != 0 {
            ACC_READ | ACC_WRITE
        } else {
            ACC_READ
        };
        let seg = &self.segs[s as usize];
        self.fast_segs[s as usize & 7] = super::FastSeg::new(seg, acc);
    }

    /// Recomputes every value derived from the architectural state: the CPL (when the state
    /// came from outside: a snapshot, KVM, a loader), fast-path segment permissions, the
    /// paging switch, and flushes the TLB.
    pub fn state_loaded(&mut self) {
        let cpl = if !self.protected() {
            0
        } else if self.flags.bits & super::flags::VM != 0 {
            3
        } else {
            // The DPL of SS is the CPL (CS's RPL equals it except inside conforming code).
            ((self.segs[seg::SS as usize].attrs >> 5) & 3) as u8
        };
        self.put_cpl(cpl);
        self.refresh_seg_acc();
        self.breakpoints_changed();
        self.paging_changed();
    }

    /// Recomputes the fast-path permissions of all segments (after a mode, CPL or AC change).
    pub(crate) fn refresh_seg_acc(&mut self) {
        for s in 0..6 {
            self.update_seg_acc(s);
        }
    }

    /// Makes every check of a write of `size` bytes at `seg:off` without writing (an
    /// instruction that must not start a side effect it cannot finish, such as INS reading a
    /// port).
    pub(crate) fn probe_write<B: Bus>(
        &mut self,
        bus: &mut B,
        s: u8,
        off: u32,
        size: u8,
    ) -> Result<(), Fault> {
        if self.check_access(s, off, size, ACC_WRITE)? || !self.paging {
            return Ok(());
        }
        let lin = self.segs[s as usize].base.wrapping_add(off);
        let user = self.cpl == 3;
        self.translate(bus, lin, ACC_WRITE, user)?;
        let last = lin.wrapping_add(size as u32 - 1);
        if last & !0xFFF != lin & !0xFFF {
            self.translate(bus, last, ACC_WRITE, user)?;
        }
        Ok(())
    }

    // ----- supervisor (system) accesses -------------------------------------------------

    /// Reads `size` bytes at a linear address with supervisor rights (descriptor tables, TSS).
    pub(crate) fn sys_read<B: Bus>(
        &mut self,
        bus: &mut B,
        lin: u32,
        size: u8,
    ) -> Result<u32, Fault> {
        self.lin_read(bus, lin, size, false)
    }

    /// Writes `size` bytes at a linear address with supervisor rights.
    pub(crate) fn sys_write<B: Bus>(
        &mut self,
        bus: &mut B,
        lin: u32,
        size: u8,
        v: u32,
    ) -> Result<(), Fault> {
        self.lin_write(bus, lin, size, v, false)
    }

    /// Reads `size` bytes at a linear address (both pages translated when they straddle one).
    pub(crate) fn lin_read<B: Bus>(
        &mut self,
        bus: &mut B,
        lin: u32,
        size: u8,
        user: bool,
    ) -> Result<u32, Fault> {
        if self.dbg.data() {
            self.watch_data(lin, size, false);
        }
        let p = self.translate(bus, lin, ACC_READ, user)?;
        if (lin & 0xFFF) as usize + size as usize <= 0x1000 {
            self.fill_direct(bus, lin, p);
            return Ok(match size {
                1 => bus.read8(p) as u32,
                2 => bus.read16(p) as u32,
                _ => bus.read32(p),
            });
        }
        let next = (lin | 0xFFF).wrapping_add(1);
        let q = self.translate(bus, next, ACC_READ, user)?;
        let first = 0x1000 - (lin & 0xFFF);
        let mut v = 0;
        for k in 0..size as u32 {
            let a = if k < first { p + k } else { q + (k - first) };
            v |= (bus.read8(a) as u32) << (8 * k);
        }
        Ok(v)
    }

    /// After a slow access to `lin` (physical `phys`, inside one page) was allowed: lets the
    /// TLB entry of `lin` reach the page directly next time, if the bus backs it with host
    /// memory. With paging off the entry is made here, an identity translation with every
    /// permission (segmentation has made the checks). Never with an observing bus, which
    /// answers no direct pages. First drops every host address if the bus's answers changed.
    #[inline]
    fn fill_direct<B: Bus>(&mut self, bus: &mut B, lin: u32, phys: u32) {
        self.check_direct(bus);
        let Some((host, writable)) = bus.direct_page(phys) else {
            return;
        };
        if !self.paging {
            self.tlb.insert(
                lin,
                TlbEntry {
                    tag: (lin & !0xFFF) | 1,
                    frame: phys & !0xFFF,
                    host: 0,
                    allow: ALLOW_RS | ALLOW_WS | ALLOW_RU | ALLOW_WU,
                    direct: 0,
                    global: false,
                },
            );
        }
        self.tlb.set_direct(lin, host, writable);
    }

    /// Drops the TLB's host addresses if the bus's answers may have changed since they were
    /// cached (memory mapping, A20, a RAM page that now holds cached code, another machine).
    #[inline(always)]
    pub(crate) fn check_direct<B: Bus>(&mut self, bus: &B) {
        let g = bus.direct_generation();
        if g != self.tlb.generation {
            self.tlb.drop_direct(g);
        }
    }

    /// Writes `size` bytes at a linear address; when they straddle two pages both are
    /// translated before any byte is written.
    pub(crate) fn lin_write<B: Bus>(
        &mut self,
        bus: &mut B,
        lin: u32,
        size: u8,
        v: u32,
        user: bool,
    ) -> Result<(), Fault> {
        if self.dbg.data() {
            self.watch_data(lin, size, true);
        }
        let p = self.translate(bus, lin, ACC_WRITE, user)?;
        if (lin & 0xFFF) as usize + size as usize <= 0x1000 {
            match size {
                1 => bus.write8(p, v as u8),
                2 => bus.write16(p, v as u16),
                _ => bus.write32(p, v),
            }
            // The write may have changed what backs memory (an MMIO register): `fill_direct`
            // looks at the generation before it trusts any host address again.
            self.fill_direct(bus, lin, p);
            return Ok(());
        }
        let next = (lin | 0xFFF).wrapping_add(1);
        let q = self.translate(bus, next, ACC_WRITE, user)?;
        let first = 0x1000 - (lin & 0xFFF);
        for k in 0..size as u32 {
            let a = if k < first { p + k } else { q + (k - first) };
            bus.write8(a, (v >> (8 * k)) as u8);
        }
        Ok(())
    }
}

/// PAE directory/table entry bits that must be zero (bits 36–62 on a 36-bit P6; bit 63 has no
/// NX meaning before it existed).
const PAE_RESERVED: u64 = 0xFFFF_FFF0_0000_0000;
/// PDPTE bits that must be zero: 1, 2, 5–8 and above bit 35.
const PDPTE_RESERVED: u64 = 0xFFFF_FFF0_0000_01E6;

fn bus_read64<B: Bus>(bus: &mut B, a: u32) -> u64 {
    bus.read32(a) as u64 | (bus.read32(a.wrapping_add(4)) as u64) << 32
}

/// Writes back an entry whose accessed/dirty bits changed: they are in the low dword of both
/// entry formats, so only that dword is written.
fn write_entry<B: Bus>(bus: &mut B, a: u32, v: u64) {
    bus.write32(a, v as u32);
}

/// Reads `size` (1, 2, 4) little-endian bytes at host address `host`, which
/// [`Tlb::direct`] returned.
#[inline(always)]
pub(crate) fn host_read(host: usize, size: u8) -> u32 {
    let p = host as *const u8;
    // SAFETY: `host` comes from a TLB entry whose page pointer the bus handed out for the
    // current direct generation (`Cpu::check_direct` drops it when that changes), so it
    // points into a live RAM or ROM buffer; the caller checked that the `size` bytes lie in
    // that one 4 KiB page. Unaligned reads are allowed by `read_unaligned`.
    unsafe {
        match size {
            1 => *p as u32,
            2 => u16::from_le(p.cast::<u16>().read_unaligned()) as u32,
            _ => u32::from_le(p.cast::<u32>().read_unaligned()),
        }
    }
}

/// Writes the low `size` (1, 2, 4) bytes of `v`, little-endian, at host address `host`, which
/// [`Tlb::direct`] returned for a write.
#[inline(always)]
pub(crate) fn host_write(host: usize, size: u8, v: u32) {
    let p = host as *mut u8;
    // SAFETY: as in `host_read`; a write is granted only for RAM pages without cached code
    // (the bus said so for this generation), so no decoded instruction is bypassed, and no
    // Rust reference to the RAM buffer is alive while the CPU runs.
    unsafe {
        match size {
            1 => *p = v as u8,
            2 => p.cast::<u16>().write_unaligned((v as u16).to_le()),
            _ => p.cast::<u32>().write_unaligned(v.to_le()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::{FastSeg, Segment};

    /// A TLB holding `page` (paging off: every permission), backed by `buf`.
    fn tlb_with(page: u32, buf: &mut [u8], writable: bool) -> Tlb {
        let mut t = Tlb::new();
        let lin = page << 12;
        t.insert(
            lin,
            TlbEntry {
                tag: lin | 1,
                frame: lin,
                host: 0,
                allow: ALLOW_RS | ALLOW_WS | ALLOW_RU | ALLOW_WU,
                direct: 0,
                global: false,
            },
        );
        t.set_direct(lin, buf.as_mut_ptr(), writable);
        t
    }

    #[test]
    fn direct_access_stays_in_its_page_and_kind() {
        let mut buf = vec![0u8; 4096];
        let host = buf.as_ptr() as usize;
        let t = tlb_with(0x12345, &mut buf, false);
        let lin = 0x1234_5000;
        assert_eq!(
            t.direct(lin + 0xFFC, 4, ACC_READ, UserShift::Supervisor),
            Some(host + 0xFFC)
        );
        assert_eq!(
            t.direct(lin + 0xFFF, 1, ACC_READ, UserShift::User),
            Some(host + 0xFFF)
        );
        // The last byte on the next page, another page, a write to a read-only grant.
        assert_eq!(
            t.direct(lin + 0xFFD, 4, ACC_READ, UserShift::Supervisor),
            None
        );
        assert_eq!(
            t.direct(lin + 0xFFF, 2, ACC_READ, UserShift::Supervisor),
            None
        );
        assert_eq!(
            t.direct(lin + 0x1000, 1, ACC_READ, UserShift::Supervisor),
            None
        );
        assert_eq!(t.direct(lin, 4, ACC_WRITE, UserShift::Supervisor), None);
        // The top of the address space does not wrap onto page 0.
        let mut top = vec![0u8; 4096];
        let t = tlb_with(0xFFFFF, &mut top, true);
        assert_eq!(
            t.direct(0xFFFF_FFFC, 4, ACC_WRITE, UserShift::Supervisor),
            Some(top.as_ptr() as usize + 0xFFC)
        );
        assert_eq!(
            t.direct(0xFFFF_FFFE, 4, ACC_WRITE, UserShift::Supervisor),
            None
        );
    }

    #[test]
    fn fast_segments_keep_where_each_size_and_kind_of_access_ends() {
        let seg = |limit| Segment {
            selector: 0x10,
            base: 0x1000,
            limit,
            attrs: 0x93,
        };
        let f = FastSeg::new(&seg(0xFFFF), ACC_READ | ACC_WRITE);
        assert_eq!(f.ends[0][..3], [0x10000, 0xFFFF, 0xFFFD]);
        assert_eq!(f.ends[1], f.ends[0]);
        assert_eq!(f.base, 0x1000);
        // Read-only: no write takes the fast path. The byte at 0xFFFFFFFF takes the full
        // checks (its end would be 2^32).
        let f = FastSeg::new(&seg(u32::MAX), ACC_READ);
        assert_eq!(f.ends[0][..3], [u32::MAX, u32::MAX, u32::MAX - 2]);
        assert_eq!(f.ends[1], [0; 4]);
        // Below 3 the subtraction would wrap: such segments take the slow path.
        assert_eq!(FastSeg::new(&seg(2), ACC_READ).ends, [[0; 4]; 2]);
    }
}
