//! The x86 CPU: architectural state and the reference interpreter.
//!
//! [`Cpu::step`] fetches, decodes and executes one instruction against any [`Bus`]. Time is
//! counted in the CPU's own clock cycles (`cycles`), charged from the opcode table's per-model
//! costs. Exceptions are values ([`Fault`]) delivered at the end of a step; hardware interrupts
//! are taken between instructions, after the interrupt shadow of `MOV SS`/`POP SS`/`STI`.
//!
//! Modelled generations: 8086 (with its undocumented behaviour), 186, 286 and 386/486 in real
//! mode. Protected mode, paging and the x87 follow.
//!
//! Speed comes from doing work once instead of per instruction, never from a second
//! implementation: the decoder picks each instruction's handler (`exec::handlers`, the common
//! forms compiled per operation, size and operand kind), [`Cpu::run`] executes cached runs of
//! decoded instructions (`trace`) with only the bookkeeping each one needs, and the arithmetic
//! flags are lazy ([`flags`]). The single-step path ([`Cpu::step`], and `decode_cache = false`
//! for whole runs) calls the same handlers, so the suites that drive it test the fast path's
//! code too.

pub mod bus;
pub mod cpuid;
pub mod decode;
mod exec;
pub mod fault;
pub mod flags;
pub mod fpu;
pub mod mmu;
pub mod model;
pub mod msr;
mod trace;

pub use bus::Bus;
pub use decode::Insn;
pub use fault::Fault;
pub use flags::Flags;
pub use model::CpuModel;
pub use msr::Msrs;

use decode::table::{self, OPS};
use decode::{seg, DecodeError};
use mmu::{host_read, host_write};
use serde::{Deserialize, Serialize};

/// General register numbers (the ModRM encoding).
pub mod reg {
    /// EAX / AX / AL
    pub const AX: u8 = 0;
    /// ECX / CX / CL
    pub const CX: u8 = 1;
    /// EDX / DX / DL
    pub const DX: u8 = 2;
    /// EBX / BX / BL
    pub const BX: u8 = 3;
    /// ESP / SP / AH
    pub const SP: u8 = 4;
    /// EBP / BP / CH
    pub const BP: u8 = 5;
    /// ESI / SI / DH
    pub const SI: u8 = 6;
    /// EDI / DI / BH
    pub const DI: u8 = 7;
}

/// A segment register with its hidden descriptor cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Visible selector (real mode: the paragraph number).
    pub selector: u16,
    /// Linear base address.
    pub base: u32,
    /// Highest valid offset.
    pub limit: u32,
    /// Descriptor attributes (type, DPL, present, D/B, G), as in the descriptor's bytes 5–6.
    pub attrs: u16,
}

/// A segment as the fast path of a memory access sees it: a copy of its base and, for reads
/// and writes, the offsets at which an access of 1, 2 and 4 bytes lies wholly inside its
/// limit — all below `ends[kind][size >> 1]` — or none for the accesses it sends through the
/// full checks (null, expand-down and execute-only segments, limits below 3, alignment
/// checks, data breakpoints). So the fast path tests the permission and the limit at once.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(64))]
pub(crate) struct FastSeg {
    pub(crate) base: u32,
    /// The limit the copy was made from.
    limit: u32,
    /// One past the last offset at which an access fits, by kind (`ACC_READ >> 1`,
    /// `ACC_WRITE >> 1`) and operand size 1, 2, 4 (at `size >> 1`; the fourth entry only
    /// spares a bounds check): `limit + 1`, `limit`, `limit - 2`, or 0 for none. A byte at
    /// offset 0xFFFFFFFF, which the first cannot say, takes the full checks.
    pub(crate) ends: [[u32; 4]; 2],
}

impl FastSeg {
    /// The fast-path view of segment `seg`, which allows accesses `acc` (`mmu::ACC_*` bits).
    pub(crate) fn new(seg: &Segment, acc: u8) -> FastSeg {
        let limit = seg.limit;
        let ends = |kind: u8| {
            if acc & kind == 0 || limit < 3 {
                [0; 4]
            } else {
                [limit.saturating_add(1), limit, limit - 2, 0]
            }
        };
        FastSeg {
            base: seg.base,
            limit,
            ends: [ends(mmu::ACC_READ), ends(mmu::ACC_WRITE)],
        }
    }

    /// Whether some access may take the fast path.
    fn allows_any(&self) -> bool {
        self.ends != [[0; 4]; 2]
    }
}

/// GDTR/IDTR.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableReg {
    /// Linear base.
    pub base: u32,
    /// Limit in bytes minus one.
    pub limit: u16,
}

/// Why [`Cpu::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The cycle budget was used up.
    Budget,
    /// The CPU is halted with no interrupt to take.
    Halted,
    /// An instruction asked the machine to look at something (I/O done, flags changed).
    Attention,
    /// A triple fault (or a fault while delivering a double fault): the machine must reset.
    TripleFault,
    /// The guest did something this emulator does not model yet.
    Unsupported(&'static str),
}

/// Where an interrupt came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntSource {
    /// A device, through the interrupt controller (INTR).
    Hardware,
    /// An `INT n`, `INT3`, `INTO` or `INT1` instruction.
    Software,
    /// An exception raised by an instruction (or while delivering one).
    Exception,
}

/// Something the CPU did that the debugger and the tracer report. Recorded only while
/// [`Cpu::record_events`] is set, so a plain run pays nothing for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuEvent {
    /// An interrupt or exception is being delivered. The handler's address is the CPU state
    /// after the step; `ret_cs:ret_eip` is the return address pushed for it.
    Interrupt {
        /// Vector number.
        vector: u8,
        /// Where it came from.
        source: IntSource,
        /// Error code pushed with it (exceptions that have one).
        error: Option<u16>,
        /// CS of the return address.
        ret_cs: u16,
        /// Offset of the return address.
        ret_eip: u32,
    },
    /// A fault while delivering a double fault: the CPU shuts down and the machine resets.
    TripleFault,
}

/// Memory operand forms for [`Cpu::ea_form`]: any.
pub const EA_ANY: u8 = 0;
/// `[base + disp]` (or `[disp]`) with 32-bit addressing.
pub const EA_BASE_DISP: u8 = 1;

/// Architectural state of one x86 CPU plus the interpreter's bookkeeping.
#[derive(Clone, Debug)]
pub struct Cpu {
    /// The modelled generation.
    pub model: CpuModel,
    /// EAX..EDI; indexes 8–15 are constant zeros, the "no register" of effective-address
    /// calculation (16 entries, so that an index masked to 4 bits needs no bounds check).
    pub regs: [u32; 16],
    /// Instruction pointer (offset in CS).
    pub eip: u32,
    /// EFLAGS.
    pub flags: Flags,
    /// ES, CS, SS, DS, FS, GS.
    pub segs: [Segment; 6],
    /// Control registers CR0..CR4.
    pub cr: [u32; 5],
    /// Debug registers DR0..DR7.
    pub dr: [u32; 8],
    /// Global descriptor table register.
    pub gdtr: TableReg,
    /// Interrupt descriptor table register.
    pub idtr: TableReg,
    /// Local descriptor table register (selector and hidden descriptor cache).
    pub ldtr: Segment,
    /// Task register (selector and hidden descriptor cache).
    pub tr: Segment,
    /// Breakpoints DR7 enables, by kind (derived from DR7 and CR4; see `exec::debug`).
    pub(crate) dbg: exec::debug::Breakpoints,
    /// Model-specific registers, the time-stamp counter among them.
    pub msr: Msrs,
    /// The x87 FPU (386 and later; see [`fpu`]).
    pub fpu: fpu::Fpu,
    /// Cycles executed since power-on (the machine's virtual clock).
    pub cycles: u64,
    /// Instructions retired since power-on.
    pub instructions: u64,
    /// HLT executed, waiting for an interrupt.
    pub halted: bool,
    /// An unsupported-feature stop requested by the last instruction.
    pub unsupported: Option<&'static str>,
    /// Current privilege level (0 in real mode, 3 in virtual-8086 mode).
    pub(crate) cpl: u8,
    /// `ACC_*` bits shift left by this for a TLB check at the CPL (2 at CPL 3, else 0); set
    /// with the CPL by `put_cpl`.
    user_shift: mmu::UserShift,
    /// Paging is on (CR0.PG with CR0.PE).
    pub(crate) paging: bool,
    /// What the fast path of a memory access needs of each segment (ES … GS, then two unused
    /// entries so that a masked index needs no bounds check), kept by `update_seg_acc`.
    pub(crate) fast_segs: [FastSeg; 8],
    /// The translation lookaside buffer.
    pub(crate) tlb: mmu::Tlb,
    /// PAE page-directory-pointer registers (loaded from CR3).
    pub(crate) pdpte: [u64; 4],
    /// A task switch has saved the old task and loaded the new one: a fault raised by the rest
    /// of it is delivered in the new task.
    pub(crate) task_committed: bool,
    /// Interrupts are inhibited for one instruction (after MOV SS, POP SS, STI).
    shadow: bool,
    /// The instruction asked the run loop to return to the machine.
    attention: bool,
    /// EIP of the instruction being executed.
    start_eip: u32,
    /// The current REP instruction is unfinished (EIP stays on it).
    pub rep_pending: bool,
    /// Address-bus mask of the model.
    addr_mask: u32,
    /// Segment offsets wrap at 64 KiB instead of faulting (8086/186).
    wraps: bool,
    /// Nesting of exception delivery (for double and triple faults).
    delivering: u8,
    /// A triple fault happened; the machine must reset.
    tripled: bool,
    /// Cycle count at which the current run slice ends (REP loops yield there).
    slice_end: u64,
    /// Set while a trace runs a handler that [`Cpu::now`] must not be called from: the trace
    /// adds the table costs of its instructions to `cycles` only before the handlers that read
    /// the counter (see `trace.rs`). Debug builds check it.
    #[cfg(debug_assertions)]
    cycles_behind: bool,
    /// Decoded instructions by physical address.
    icache: ICache,
    /// Traces of decoded instructions (taken out of the CPU while a run slice uses them).
    traces: Option<Box<trace::TraceCache>>,
    /// Use the decode cache and traces (on by default). Off, every instruction is fetched and
    /// decoded afresh: the reference path, for comparison and debugging.
    pub decode_cache: bool,
    /// Record [`CpuEvent`]s in [`Cpu::events`] (for the debugger and the tracer).
    pub record_events: bool,
    /// Events recorded since the owner last drained the list.
    pub events: Vec<CpuEvent>,
}

/// Lines of the decoded-instruction cache (direct mapped by physical address).
const ICACHE_LINES: usize = 1 << 13;

/// One decoded instruction, valid while the memory's code epoch is unchanged.
#[derive(Clone, Copy)]
struct CacheLine {
    /// Physical address, with the decode mode (CS default operand size) in bit 32; an empty
    /// line has bit 33 set so it never matches.
    tag: u64,
    epoch: u32,
    cost: u32,
    insn: Insn,
}

/// The decoded-instruction cache: decoding is skipped for code that runs again, the way Bochs
/// keeps pre-decoded instructions. Lines are checked against the page generation kept by
/// memory, which changes on every write to a page that holds cached code (self-modifying code,
/// loaders, DMA), so a stale line is never used.
#[derive(Clone)]
struct ICache(Box<[CacheLine; ICACHE_LINES]>);

impl ICache {
    fn new() -> ICache {
        let empty = CacheLine {
            tag: 1 << 33,
            epoch: 0,
            cost: 0,
            insn: Insn::default(),
        };
        let lines: Box<[CacheLine]> = vec![empty; ICACHE_LINES].into_boxed_slice();
        match lines.try_into() {
            Ok(a) => ICache(a),
            Err(_) => unreachable!("the vector has ICACHE_LINES lines"),
        }
    }
}

impl std::fmt::Debug for ICache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ICache({} lines)", self.0.len())
    }
}

const CR0_PE: u32 = 1;
const CR0_ET: u32 = 1 << 4;

impl Cpu {
    /// A CPU of the given model in its power-on state.
    pub fn new(model: CpuModel) -> Cpu {
        let mut cpu = Cpu {
            model,
            regs: [0; 16],
            eip: 0,
            flags: Flags::default(),
            segs: [Segment::default(); 6],
            cr: [0; 5],
            dr: [0; 8],
            dbg: Default::default(),
            gdtr: TableReg::default(),
            idtr: TableReg::default(),
            ldtr: Segment::default(),
            tr: Segment::default(),
            msr: Msrs::default(),
            fpu: fpu::Fpu::new(),
            cycles: 0,
            instructions: 0,
            halted: false,
            unsupported: None,
            cpl: 0,
            user_shift: mmu::UserShift::Supervisor,
            paging: false,
            fast_segs: [FastSeg::default(); 8],
            tlb: mmu::Tlb::new(),
            pdpte: [0; 4],
            task_committed: false,
            shadow: false,
            attention: false,
            start_eip: 0,
            rep_pending: false,
            addr_mask: model.address_mask(),
            wraps: model < CpuModel::I286,
            delivering: 0,
            tripled: false,
            slice_end: u64::MAX,
            #[cfg(debug_assertions)]
            cycles_behind: false,
            icache: ICache::new(),
            traces: Some(Box::new(trace::TraceCache::new())),
            decode_cache: true,
            record_events: false,
            events: Vec::new(),
        };
        cpu.reset();
        cpu
    }

    /// The reset (RESET pin) state: CS:IP = F000:FFF0 with the CS base at the top of the
    /// address space, so the first fetch reads the BIOS reset vector.
    pub fn reset(&mut self) {
        self.regs = [0; 16];
        self.flags = Flags::default();
        self.flags.set(if self.model < CpuModel::I286 {
            0xF002
        } else {
            0x0002
        });
        for s in self.segs.iter_mut() {
            *s = Segment {
                selector: 0,
                base: 0,
                limit: 0xFFFF,
                attrs: 0x0093,
            };
        }
        let cs_base = match self.model {
            CpuModel::I8086 | CpuModel::I186 => 0xF0000,
            CpuModel::I286 => 0xFF0000,
            _ => 0xFFFF_0000,
        };
        self.segs[seg::CS as usize] = Segment {
            selector: 0xF000,
            base: cs_base,
            limit: 0xFFFF,
            attrs: 0x009B,
        };
        self.eip = 0xFFF0;
        self.cr = [0; 5];
        if self.model >= CpuModel::I386 {
            self.cr[0] = CR0_ET | (0x6000_0000 * (self.model >= CpuModel::I486) as u32);
            // DX holds the component and revision id after reset.
            self.regs[reg::DX as usize] = self.model.reset_signature();
        } else if self.model == CpuModel::I286 {
            self.cr[0] = 0xFFF0; // MSW: reserved bits read as ones
        }
        self.dr = [0; 8];
        self.dr[6] = 0xFFFF_0FF0;
        self.dr[7] = 0x400;
        self.gdtr = TableReg {
            base: 0,
            limit: 0xFFFF,
        };
        self.idtr = TableReg {
            base: 0,
            limit: 0x3FF,
        };
        // After reset LDTR and TR hold a null selector with a present, 64 KiB descriptor cache.
        self.ldtr = Segment {
            selector: 0,
            base: 0,
            limit: 0xFFFF,
            attrs: 0x0082,
        };
        self.tr = Segment {
            selector: 0,
            base: 0,
            limit: 0xFFFF,
            attrs: 0x008B,
        };
        // RESET clears the time-stamp counter and puts every MSR in its power-on state.
        self.msr.reset(self.cycles);
        self.fpu.reset();
        self.halted = false;
        self.shadow = false;
        self.rep_pending = false;
        self.delivering = 0;
        self.unsupported = None;
        self.pdpte = [0; 4];
        self.state_loaded();
    }

    // ----- registers -------------------------------------------------------------------

    /// 8-bit register (AL, CL, DL, BL, AH, CH, DH, BH).
    #[inline(always)]
    pub fn r8(&self, r: u8) -> u8 {
        (self.regs[(r & 3) as usize] >> ((r & 4) << 1)) as u8
    }
    /// Sets an 8-bit register.
    #[inline(always)]
    pub fn set_r8(&mut self, r: u8, v: u8) {
        let sh = (r & 4) << 1;
        let i = (r & 3) as usize;
        self.regs[i] = (self.regs[i] & !(0xFF << sh)) | (v as u32) << sh;
    }
    /// 16-bit register.
    #[inline(always)]
    pub fn r16(&self, r: u8) -> u16 {
        self.regs[r as usize] as u16
    }
    /// Sets a 16-bit register, keeping the upper half.
    #[inline(always)]
    pub fn set_r16(&mut self, r: u8, v: u16) {
        let i = r as usize;
        self.regs[i] = (self.regs[i] & 0xFFFF_0000) | v as u32;
    }
    /// Register of `size` bytes.
    #[inline(always)]
    pub fn reg(&self, r: u8, size: u8) -> u32 {
        match size {
            1 => self.r8(r) as u32,
            2 => self.r16(r) as u32,
            _ => self.regs[r as usize],
        }
    }
    /// Sets a register of `size` bytes.
    #[inline(always)]
    pub fn set_reg(&mut self, r: u8, size: u8, v: u32) {
        match size {
            1 => self.set_r8(r, v as u8),
            2 => self.set_r16(r, v as u16),
            _ => self.regs[r as usize] = v,
        }
    }

    /// Current EFLAGS value.
    pub fn eflags(&self) -> u32 {
        self.flags.get()
    }

    /// Writes FLAGS/EFLAGS as POPF/IRET do in real mode: read-only and reserved bits follow the
    /// model (the 8086 keeps bits 12–15 set, the 286 clears them in real mode).
    pub fn write_flags(&mut self, v: u32, size: u8) {
        let old = self.flags.get();
        let (writable, ones) = match self.model {
            CpuModel::I8086 | CpuModel::I186 => (0x0FD5, 0xF002),
            CpuModel::I286 => (0x0FD5, 0x0002),
            CpuModel::I386 => (0x7FD5, 0x0002),
            // VIF and VIP (bits 19, 20) are written only by protected-mode code; ID (bit 21)
            // shows CPUID.
            _ => (0x0024_7FD5, 0x0002),
        };
        let writable = if size == 2 {
            writable & 0xFFFF
        } else {
            writable
        };
        let new = (old & !writable) | (v & writable);
        let new = (new & !0x8028) | ones;
        self.flags.set(new);
    }

    /// Loads a segment register the real-mode way: base = selector × 16, limit kept.
    #[inline]
    pub fn load_seg_real(&mut self, s: u8, sel: u16) {
        let seg = &mut self.segs[s as usize];
        seg.selector = sel;
        seg.base = (sel as u32) << 4;
        self.fast_segs[s as usize & 7].base = seg.base;
    }

    /// Whether the CPU is in protected mode (CR0.PE).
    pub fn protected(&self) -> bool {
        self.cr[0] & CR0_PE != 0
    }

    /// Whether the CPU is in virtual-8086 mode (EFLAGS.VM in protected mode).
    #[inline(always)]
    pub fn v86(&self) -> bool {
        self.flags.bits & flags::VM != 0 && self.protected()
    }

    /// The current privilege level: 0 in real mode, 3 in virtual-8086 mode, otherwise the
    /// privilege level of the code segment (set by every CS load).
    #[inline(always)]
    pub fn cpl(&self) -> u8 {
        self.cpl
    }

    /// Linear address of CS:EIP.
    pub fn pc_linear(&self) -> u32 {
        self.segs[seg::CS as usize].base.wrapping_add(self.eip)
    }

    /// Physical address for a linear one without paging (the address-bus mask).
    #[inline(always)]
    pub fn phys(&self, lin: u32) -> u32 {
        lin & self.addr_mask
    }

    /// Whether paging is on.
    #[inline(always)]
    pub fn paging(&self) -> bool {
        self.paging
    }

    /// The cycle counter, for the handlers that read it (port I/O, RDTSC, the TSC MSR, the
    /// budget test of REP string instructions). A trace makes it exact only before the
    /// handlers `handlers::reads_cycles` names; debug builds check that no other calls this.
    #[inline(always)]
    pub(crate) fn now(&self) -> u64 {
        #[cfg(debug_assertions)]
        debug_assert!(
            !self.cycles_behind,
            "this handler reads the cycle counter: see reads_cycles"
        );
        self.cycles
    }

    // ----- memory ----------------------------------------------------------------------

    /// The effective address of a memory operand whose form the handler knows: `EA_ANY`
    /// computes it in full ([`Cpu::ea`]); `EA_BASE_DISP` is `[base + disp]` with 32-bit
    /// addressing, the decoder having checked that there is no index register.
    #[inline(always)]
    pub fn ea_form<const EA: u8>(&self, i: &Insn) -> u32 {
        if EA == EA_BASE_DISP {
            self.regs[i.base as usize].wrapping_add(i.disp)
        } else {
            self.ea(i)
        }
    }

    /// Effective address (offset) of the instruction's memory operand.
    #[inline(always)]
    pub fn ea(&self, i: &Insn) -> u32 {
        let off = self.regs[i.base as usize]
            .wrapping_add(self.regs[i.index as usize] << i.scale)
            .wrapping_add(i.disp);
        if i.a32() {
            off
        } else {
            off & 0xFFFF
        }
    }

    /// The host address of `size` bytes at `seg:off` when the access (`kind`, an
    /// `mmu::ACC_*` bit) is the plain case — the segment allows it, the bytes are inside the
    /// limit and on one page, and the TLB grants the access to that page directly (RAM, not
    /// MMIO, translated and with its A/D bits set when paging is on) — else `None` (then the
    /// slow path makes every check, wraps the 8086's offsets, walks the page tables, splits the
    /// access, goes through the bus and lets the TLB entry grant the access next time).
    ///
    /// One comparison covers the 8086 as well: its segments always have the limit 0xFFFF, and an
    /// access beyond it is the one that wraps around the segment.
    #[inline(always)]
    fn plain_access(&self, s: u8, off: u32, size: u8, kind: u8) -> Option<usize> {
        let seg = &self.fast_segs[s as usize & 7];
        debug_assert!(
            !seg.allows_any()
                || (seg.base, seg.limit)
                    == (self.segs[s as usize].base, self.segs[s as usize].limit),
            "fast_segs[{s}] is stale: a segment changed without update_seg_acc"
        );
        if off >= seg.ends[(kind >> 1) as usize & 1][(size >> 1) as usize & 3] {
            return None;
        }
        let lin = seg.base.wrapping_add(off);
        // The TLB also refuses bytes that run onto the next page.
        self.tlb.direct(lin, size, kind, self.user_shift)
    }

    /// Reads `size` (1, 2, 4) bytes at `seg:off`.
    #[inline(always)]
    pub fn read_mem<B: Bus>(
        &mut self,
        bus: &mut B,
        s: u8,
        off: u32,
        size: u8,
    ) -> Result<u32, Fault> {
        match self.plain_access(s, off, size, mmu::ACC_READ) {
            Some(host) => Ok(host_read(host, size)),
            None if B::FAST_ONLY => Err(Fault::RETRY),
            None => self.read_mem_slow(bus, s, off, size),
        }
    }

    /// Reads `size` (1, 2, 4) bytes at `seg:off` and hands the value to `then` (the handlers
    /// that load an operand and only compute with it). Unlike [`Cpu::read_mem`], the slow
    /// path is the handler's last call, so the plain case needs no stack frame.
    #[inline(always)]
    pub(crate) fn read_mem_then<B: Bus, F: FnOnce(&mut Cpu, u32)>(
        &mut self,
        bus: &mut B,
        s: u8,
        off: u32,
        size: u8,
        then: F,
    ) -> Result<(), Fault> {
        match self.plain_access(s, off, size, mmu::ACC_READ) {
            Some(host) => {
                then(self, host_read(host, size));
                Ok(())
            }
            None if B::FAST_ONLY => Err(Fault::RETRY),
            None => self.read_mem_slow_then(bus, s, off, size, then),
        }
    }

    /// The slow path of [`Cpu::read_mem_then`].
    #[cold]
    #[inline(never)]
    fn read_mem_slow_then<B: Bus, F: FnOnce(&mut Cpu, u32)>(
        &mut self,
        bus: &mut B,
        s: u8,
        off: u32,
        size: u8,
        then: F,
    ) -> Result<(), Fault> {
        let v = self.read_mem_slow(bus, s, off, size)?;
        then(self, v);
        Ok(())
    }

    /// A read that is not plain: a segment fault, a wrap around the 8086's 64 KiB segment, a
    /// TLB miss, or bytes on two pages.
    #[cold]
    #[inline(never)]
    fn read_mem_slow<B: Bus>(
        &mut self,
        bus: &mut B,
        s: u8,
        off: u32,
        size: u8,
    ) -> Result<u32, Fault> {
        let wrap = self.check_access(s, off, size, mmu::ACC_READ)?;
        if wrap {
            let mut v = 0;
            for k in 0..size as u32 {
                v |= (bus.read8(self.wrapped_addr(s, off, k)) as u32) << (8 * k);
            }
            return Ok(v);
        }
        let lin = self.segs[s as usize].base.wrapping_add(off);
        let user = self.cpl == 3;
        self.lin_read(bus, lin, size, user)
    }

    /// Physical address of byte `k` of an access at `seg:off` whose offset wraps at 64 KiB
    /// (8086/186, which have no paging).
    #[inline]
    fn wrapped_addr(&self, s: u8, off: u32, k: u32) -> u32 {
        let o = off.wrapping_add(k) & 0xFFFF;
        self.phys(self.segs[s as usize].base.wrapping_add(o))
    }

    /// Writes `size` (1, 2, 4) bytes at `seg:off`.
    #[inline(always)]
    pub fn write_mem<B: Bus>(
        &mut self,
        bus: &mut B,
        s: u8,
        off: u32,
        size: u8,
        v: u32,
    ) -> Result<(), Fault> {
        match self.plain_access(s, off, size, mmu::ACC_WRITE) {
            Some(host) => {
                host_write(host, size, v);
                Ok(())
            }
            None if B::FAST_ONLY => Err(Fault::RETRY),
            None => self.write_mem_slow(bus, s, off, size, v),
        }
    }

    /// A write that is not plain (see [`Cpu::read_mem_slow`]).
    #[cold]
    #[inline(never)]
    fn write_mem_slow<B: Bus>(
        &mut self,
        bus: &mut B,
        s: u8,
        off: u32,
        size: u8,
        v: u32,
    ) -> Result<(), Fault> {
        let wrap = self.check_access(s, off, size, mmu::ACC_WRITE)?;
        if wrap {
            for k in 0..size as u32 {
                bus.write8(self.wrapped_addr(s, off, k), (v >> (8 * k)) as u8);
            }
            return Ok(());
        }
        let lin = self.segs[s as usize].base.wrapping_add(off);
        let user = self.cpl == 3;
        self.lin_write(bus, lin, size, v, user)
    }

    /// Reads `size` bytes at `seg:off`, replaces them with `f(value)` and returns `Ok` (the
    /// memory forms of ALU operations, shifts, INC/DEC, NOT/NEG). The plain case computes and
    /// checks the address once for both accesses; otherwise each access is checked on its own,
    /// in the order the hardware makes them.
    #[inline(always)]
    pub(crate) fn modify_mem<B: Bus>(
        &mut self,
        bus: &mut B,
        s: u8,
        off: u32,
        size: u8,
        f: impl FnOnce(&mut Cpu, u32) -> u32,
    ) -> Result<(), Fault> {
        // A read-modify-write needs write access; the plain case is the one where the write
        // is allowed (which implies the read on this path).
        match self.plain_access(s, off, size, mmu::ACC_WRITE) {
            Some(host) => {
                let v = host_read(host, size);
                let r = f(self, v);
                host_write(host, size, r);
                Ok(())
            }
            None if B::FAST_ONLY => Err(Fault::RETRY),
            None => {
                let v = self.read_mem_slow(bus, s, off, size)?;
                // A fault of the write (a read-only segment or page) leaves the flags as
                // they were: check it before `f` computes them.
                self.probe_write(bus, s, off, size)?;
                let r = f(self, v);
                self.write_mem_slow(bus, s, off, size, r)
            }
        }
    }

    /// Reads the r/m operand.
    #[inline(always)]
    pub fn read_rm<B: Bus>(&mut self, bus: &mut B, i: &Insn, size: u8) -> Result<u32, Fault> {
        if i.is_reg() {
            Ok(self.reg(i.rm(), size))
        } else {
            let off = self.ea(i);
            self.read_mem(bus, i.seg(), off, size)
        }
    }

    /// Writes the r/m operand.
    #[inline(always)]
    pub fn write_rm<B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
        size: u8,
        v: u32,
    ) -> Result<(), Fault> {
        if i.is_reg() {
            self.set_reg(i.rm(), size, v);
            Ok(())
        } else {
            let off = self.ea(i);
            self.write_mem(bus, i.seg(), off, size, v)
        }
    }

    // ----- stack -----------------------------------------------------------------------

    /// Whether the stack is 32-bit (SS.B).
    #[inline(always)]
    fn stack32(&self) -> bool {
        self.segs[seg::SS as usize].attrs & 0x4000 != 0
    }

    #[inline(always)]
    fn sp(&self) -> u32 {
        if self.stack32() {
            self.regs[reg::SP as usize]
        } else {
            self.regs[reg::SP as usize] & 0xFFFF
        }
    }

    #[inline(always)]
    fn set_sp(&mut self, v: u32) {
        if self.stack32() {
            self.regs[reg::SP as usize] = v;
        } else {
            self.set_r16(reg::SP, v as u16);
        }
    }

    /// Pushes `size` bytes.
    #[inline(always)]
    pub fn push<B: Bus>(&mut self, bus: &mut B, size: u8, v: u32) -> Result<(), Fault> {
        let sp = self.sp().wrapping_sub(size as u32);
        let sp = if self.stack32() { sp } else { sp & 0xFFFF };
        self.write_mem(bus, seg::SS, sp, size, v)?;
        self.set_sp(sp);
        Ok(())
    }

    /// Pops `size` bytes.
    #[inline(always)]
    pub fn pop<B: Bus>(&mut self, bus: &mut B, size: u8) -> Result<u32, Fault> {
        let sp = self.sp();
        let v = self.read_mem(bus, seg::SS, sp, size)?;
        self.set_sp(sp.wrapping_add(size as u32));
        Ok(v)
    }

    /// Reads the value `depth` bytes above the stack top without popping.
    #[inline]
    fn peek<B: Bus>(&mut self, bus: &mut B, depth: u32, size: u8) -> Result<u32, Fault> {
        let off = self.sp().wrapping_add(depth);
        let off = if self.stack32() { off } else { off & 0xFFFF };
        self.read_mem(bus, seg::SS, off, size)
    }

    // ----- control transfer ------------------------------------------------------------

    /// Jumps within CS; the offset is truncated to the operand size.
    #[inline(always)]
    fn jump(&mut self, target: u32, o32: bool) -> Result<(), Fault> {
        let t = if o32 { target } else { target & 0xFFFF };
        if !self.wraps && t > self.segs[seg::CS as usize].limit {
            return Err(Fault::gp(0));
        }
        self.eip = t;
        Ok(())
    }

    /// Far jump in real or virtual-8086 mode.
    fn jump_far_real(&mut self, sel: u16, off: u32, o32: bool) -> Result<(), Fault> {
        let off = if o32 { off } else { off & 0xFFFF };
        if !self.wraps && off > self.segs[seg::CS as usize].limit {
            return Err(Fault::gp(0));
        }
        if self.v86() {
            self.load_seg_v86(seg::CS, sel);
        } else {
            self.load_seg_real(seg::CS, sel);
        }
        self.eip = off;
        Ok(())
    }

    /// Delivers interrupt `vector` through the real-mode IVT, pushing `ret` as the return IP.
    fn real_interrupt<B: Bus>(&mut self, bus: &mut B, vector: u8, ret: u32) -> Result<(), Fault> {
        let off = vector as u32 * 4;
        if self.model >= CpuModel::I286 && off + 3 > self.idtr.limit as u32 {
            return Err(Fault::gp(vector as u16 * 8 + 2));
        }
        let ent = self.phys(self.idtr.base.wrapping_add(off));
        let ip = bus.read16(ent) as u32;
        let cs = bus.read16(self.phys(self.idtr.base.wrapping_add(off + 2)));
        let fl = self.flags.get();
        let cs_old = self.segs[seg::CS as usize].selector as u32;
        self.push(bus, 2, fl)?;
        self.push(bus, 2, cs_old)?;
        self.push(bus, 2, ret)?;
        self.flags.assign(flags::IF | flags::TF | flags::AC, false);
        self.load_seg_real(seg::CS, cs);
        self.eip = ip;
        Ok(())
    }

    /// Software interrupt (INT n, INT3, INTO): the return address is the next instruction.
    /// `int_n`: the CD form, which is IOPL-sensitive in virtual-8086 mode.
    fn soft_interrupt<B: Bus>(
        &mut self,
        bus: &mut B,
        vector: u8,
        int_n: bool,
    ) -> Result<(), Fault> {
        let ret = self.eip;
        if self.protected() {
            if int_n && self.v86() {
                return self.v86_int(bus, vector);
            }
            self.note_interrupt(vector, IntSource::Software, None, ret);
            return self.pm_interrupt(bus, vector, IntSource::Software, None, ret);
        }
        self.note_interrupt(vector, IntSource::Software, None, ret);
        self.real_interrupt(bus, vector, ret)
    }

    /// INT1 (F1, ICEBP): a debug trap delivered like a hardware event (no gate DPL check).
    fn icebp<B: Bus>(&mut self, bus: &mut B) -> Result<(), Fault> {
        let ret = self.eip;
        self.note_interrupt(1, IntSource::Software, None, ret);
        if self.protected() {
            return self.pm_interrupt(bus, 1, IntSource::Exception, None, ret);
        }
        self.real_interrupt(bus, 1, ret)
    }

    /// Records an interrupt for the debugger and tracer (when they listen).
    #[inline]
    fn note_interrupt(&mut self, vector: u8, source: IntSource, error: Option<u16>, ret: u32) {
        if self.record_events {
            let ret_cs = self.segs[seg::CS as usize].selector;
            self.events.push(CpuEvent::Interrupt {
                vector,
                source,
                error,
                ret_cs,
                ret_eip: ret,
            });
        }
    }

    /// Delivers an exception raised by the current instruction.
    fn deliver_fault<B: Bus>(&mut self, bus: &mut B, f: Fault) {
        // Faults restart the instruction; #DB, and the 8086/186 divide error, are traps to the
        // next one.
        let trap = f.vector() == fault::vector::DB
            || f.vector() == fault::vector::DE && self.model < CpuModel::I286;
        // Sets RF in the EFLAGS image of a fault (SDM Vol. 3, 17.3.1.1) and reports breakpoint
        // hits in DR6.
        self.debug_fault(f, trap);
        // A fault raised by a task switch after it committed belongs to the new task: it
        // returns to the new task's first instruction.
        let ret = if std::mem::take(&mut self.task_committed) || trap {
            self.eip
        } else {
            self.start_eip
        };
        self.rep_pending = false;
        self.note_interrupt(f.vector(), IntSource::Exception, f.error(), ret);
        self.deliver(bus, f, ret);
    }

    /// Delivers exception or interrupt `f` with return address `ret`, and any fault raised on
    /// the way by the double-fault rules: a contributory fault (or #PF) while delivering a
    /// contributory fault, or a contributory fault or #PF while delivering a #PF, becomes #DF;
    /// any fault while delivering #DF shuts the CPU down (triple fault). Other combinations are
    /// handled one after the other. Hardware interrupts and INT n count as benign.
    fn deliver<B: Bus>(&mut self, bus: &mut B, f: Fault, ret: u32) {
        self.deliver_as(bus, f, ret, IntSource::Exception);
    }

    fn deliver_as<B: Bus>(&mut self, bus: &mut B, f: Fault, ret: u32, source: IntSource) {
        self.eip = ret;
        let mut current = f;
        let mut src = source;
        // Every nested fault either escalates (to #DF, then shutdown) or replaces the one being
        // delivered; a chain of benign faults is bounded by the same rule after a few rounds.
        for _ in 0..8 {
            let r = self.enter_handler(bus, current, src);
            let Err(next) = r else {
                return;
            };
            if current.vector() == fault::vector::DF {
                self.triple_fault();
                return;
            }
            let class = |v: u8| match v {
                0 | 10..=13 => 1, // contributory
                14 => 2,          // page fault
                _ => 0,           // benign
            };
            let first = if src == IntSource::Exception {
                class(current.vector())
            } else {
                0
            };
            let second = class(next.vector());
            let double = (first == 1 && second == 1) || (first == 2 && second != 0);
            self.note_interrupt(
                if double {
                    fault::vector::DF
                } else {
                    next.vector()
                },
                IntSource::Exception,
                if double { Some(0) } else { next.error() },
                ret,
            );
            current = if double {
                Fault::new(fault::vector::DF).with_error(0)
            } else {
                next
            };
            src = IntSource::Exception;
        }
        self.triple_fault();
    }

    /// Enters the handler of one event: through the IVT in real mode, the IDT otherwise.
    fn enter_handler<B: Bus>(
        &mut self,
        bus: &mut B,
        f: Fault,
        src: IntSource,
    ) -> Result<(), Fault> {
        let ret = self.eip;
        self.delivering += 1;
        let r = if self.protected() {
            self.pm_interrupt(bus, f.vector(), src, f.error(), ret)
        } else {
            self.real_interrupt(bus, f.vector(), ret)
        };
        self.delivering -= 1;
        if r.is_err() && !std::mem::take(&mut self.task_committed) {
            self.eip = ret;
        }
        r
    }

    fn triple_fault(&mut self) {
        if self.record_events {
            self.events.push(CpuEvent::TripleFault);
        }
        self.tripled = true;
        self.attention = true;
    }

    // ----- the interpreter loop ----------------------------------------------------------

    /// Fetches and decodes the instruction at CS:EIP, advances EIP past it, and returns it with
    /// its clock cost.
    #[inline(always)]
    fn fetch<B: Bus>(&mut self, bus: &mut B) -> Result<(Insn, u64), Fault> {
        let cs = &self.segs[seg::CS as usize];
        let d32 = cs.attrs & 0x4000 != 0;
        let limit = cs.limit;
        let eip = self.eip;
        let lin = cs.base.wrapping_add(eip);
        let phys = if !self.paging {
            lin & self.addr_mask
        } else {
            match self.tlb.lookup(lin, mmu::ACC_READ << self.user_shift()) {
                Some(p) => p,
                None => self.translate(bus, lin, mmu::ACC_READ, self.cpl == 3)?,
            }
        };
        let tag = phys as u64 | (d32 as u64) << 32;
        let epoch = if self.decode_cache {
            bus.code_epoch(phys)
        } else {
            None
        };
        let slot = phys as usize & (ICACHE_LINES - 1);
        let ip_mask = if d32 { u32::MAX } else { 0xFFFF };
        if let Some(epoch) = epoch {
            let line = &self.icache.0[slot];
            if line.tag == tag
                && line.epoch == epoch
                && eip as u64 + line.insn.len as u64 <= limit as u64 + 1
            {
                self.eip = eip.wrapping_add(line.insn.len as u32) & ip_mask;
                return Ok((line.insn, line.cost as u64));
            }
        }
        self.fetch_miss(bus, d32, phys, epoch, ip_mask)
    }

    /// Decodes at CS:EIP (decode-cache miss) and fills the cache line when allowed.
    #[inline(never)]
    fn fetch_miss<B: Bus>(
        &mut self,
        bus: &mut B,
        d32: bool,
        phys: u32,
        epoch: Option<u32>,
        ip_mask: u32,
    ) -> Result<(Insn, u64), Fault> {
        let mut insn = Insn::default();
        let limit = self.segs[seg::CS as usize].limit;
        let room = (limit.wrapping_sub(self.eip) as usize).saturating_add(1);
        let window = bus.code_window(phys);
        let n = window.len().min(room);
        match decode::decode_into(&window[..n], self.model, d32, &mut insn) {
            Ok(()) => {
                let cost = self.cost(&insn);
                if let Some(epoch) = epoch {
                    bus.mark_code(phys, insn.len as u32);
                    let tag = phys as u64 | (d32 as u64) << 32;
                    self.icache.0[phys as usize & (ICACHE_LINES - 1)] = CacheLine {
                        tag,
                        epoch,
                        cost: cost as u32,
                        insn,
                    };
                }
                self.eip = self.eip.wrapping_add(insn.len as u32) & ip_mask;
                return Ok((insn, cost));
            }
            Err(DecodeError::Incomplete) => {}
            Err(e) => return Err(self.decode_fault(e)),
        }
        self.fetch_slow(bus, d32, &mut insn)?;
        self.eip = self.eip.wrapping_add(insn.len as u32) & ip_mask;
        Ok((insn, self.cost(&insn)))
    }

    /// Fetch across a page boundary, the end of the segment or outside plain memory. Bytes are
    /// read until the segment limit or a page that cannot be fetched; that page's fault is
    /// raised only if the instruction really extends into it.
    #[cold]
    fn fetch_slow<B: Bus>(&mut self, bus: &mut B, d32: bool, insn: &mut Insn) -> Result<(), Fault> {
        let mut buf = [0u8; 32];
        let cs = self.segs[seg::CS as usize];
        let user = self.cpl == 3;
        let cr2 = self.cr[2];
        let mut missing = None;
        let mut n = 0;
        while n < buf.len() {
            let mut off = self.eip.wrapping_add(n as u32);
            if self.wraps || !d32 && self.model < CpuModel::I386 {
                off &= 0xFFFF;
            }
            if !self.wraps && off > cs.limit {
                break;
            }
            match self.translate(bus, cs.base.wrapping_add(off), mmu::ACC_READ, user) {
                Ok(p) => buf[n] = bus.read8(p),
                Err(f) => {
                    missing = Some(f);
                    break;
                }
            }
            n += 1;
        }
        let r = decode::decode_into(&buf[..n], self.model, d32, insn);
        if missing.is_some() && r != Err(DecodeError::Incomplete) {
            // The page that could not be fetched was not needed.
            self.cr[2] = cr2;
        }
        match r {
            Ok(()) => Ok(()),
            Err(DecodeError::Incomplete) => match missing {
                Some(f) => Err(f),
                None if n < buf.len() => Err(Fault::gp(0)),
                None => Err(Fault::UD),
            },
            Err(e) => Err(self.decode_fault(e)),
        }
    }

    fn decode_fault(&self, e: DecodeError) -> Fault {
        match e {
            // The 286 raises #UD for an instruction over 10 bytes; the 386 #GP over 15.
            DecodeError::TooLong if self.model >= CpuModel::I386 => Fault::gp(0),
            _ => Fault::UD,
        }
    }

    /// Clock cost of an instruction from the opcode table.
    #[inline(always)]
    fn cost(&self, i: &Insn) -> u64 {
        let row = &OPS[i.op as usize];
        let t = self.model.timing_index();
        let mut c = row.cycles[t] as u64;
        if i.modrm < 0xC0
            && matches!(
                row.form,
                table::Form::M | table::Form::MI8 | table::Form::MIv | table::Form::Grp3
            )
        {
            c += row.mem[t] as u64;
            if t == 0 {
                c += table::ea_cycles_8086(i.modrm) as u64;
            }
        }
        c.clamp(1, u16::MAX as u64)
    }

    /// Executes one instruction (or one slice of a REP string instruction), taking a pending
    /// hardware interrupt first if one is allowed.
    pub fn step<B: Bus>(&mut self, bus: &mut B) {
        if !std::mem::take(&mut self.shadow) && bus.interrupt_pending() && self.flags.if_() {
            self.take_interrupt(bus);
            return;
        }
        let trap = self.flags.tf();
        let watch = self.debug_watch();
        if watch && self.debug_before(bus) {
            return;
        }
        self.step_plain(bus);
        let single_step = trap && !self.shadow && !self.rep_pending;
        if single_step || watch && self.dbg.hits != 0 {
            self.debug_trap(bus, single_step);
        }
    }

    /// One instruction without the interrupt, shadow and single-step checks: the hot path of
    /// [`Cpu::run`] when none of those can apply.
    #[inline(always)]
    fn step_plain<B: Bus>(&mut self, bus: &mut B) {
        self.check_direct(bus);
        self.start_eip = self.eip;
        let (insn, cost) = match self.fetch(bus) {
            Ok(x) => x,
            Err(f) => {
                self.cycles += 2;
                self.deliver_fault(bus, f);
                return;
            }
        };
        self.cycles += cost;
        match self.execute(bus, &insn) {
            Ok(()) => self.instructions += !self.rep_pending as u64,
            Err(f) => self.deliver_fault(bus, f),
        }
    }

    /// Acknowledges the interrupt controller and enters the handler.
    #[cold]
    fn take_interrupt<B: Bus>(&mut self, bus: &mut B) {
        self.halted = false;
        // An interrupted REP instruction is no longer in progress: EIP (pushed as the return
        // address) points at it, and it resumes from CX after IRET, with RF pushed as 1.
        if std::mem::take(&mut self.rep_pending) {
            self.event_sets_rf();
        }
        let v = bus.acknowledge_interrupt(self.cycles);
        self.cycles += 61;
        self.enter_external(bus, v);
    }

    fn enter_external<B: Bus>(&mut self, bus: &mut B, vector: u8) {
        let ret = self.eip;
        self.note_interrupt(vector, IntSource::Hardware, None, ret);
        self.deliver_as(bus, Fault::new(vector), ret, IntSource::Hardware);
    }

    /// Enters the handler of an external interrupt that was already acknowledged elsewhere
    /// (a hardware back end had it queued for injection when the machine moved to the
    /// interpreter).
    pub fn deliver_external<B: Bus>(&mut self, bus: &mut B, vector: u8) {
        self.halted = false;
        self.rep_pending = false;
        self.enter_external(bus, vector);
    }

    /// Whether interrupts are inhibited until after the next instruction (MOV SS, POP SS, STI).
    pub fn interrupt_shadow(&self) -> bool {
        self.shadow
    }

    /// Sets the interrupt shadow (moving a running CPU between back ends).
    pub fn set_interrupt_shadow(&mut self, on: bool) {
        self.shadow = on;
    }

    /// Runs until the cycle counter reaches `until`, the CPU halts, or an instruction needs the
    /// machine's attention (port I/O, a triple fault, an unsupported feature).
    pub fn run<B: Bus>(&mut self, bus: &mut B, until: u64) -> Exit {
        let mut tc = self
            .traces
            .take()
            .unwrap_or_else(|| Box::new(trace::TraceCache::new()));
        tc.bind::<B>();
        let exit = self.run_slice(bus, until, &mut tc);
        self.traces = Some(tc);
        exit
    }

    fn run_slice<B: Bus>(&mut self, bus: &mut B, until: u64, tc: &mut trace::TraceCache) -> Exit {
        self.attention = false;
        self.slice_end = until;
        loop {
            if self.halted {
                if self.flags.if_() && bus.interrupt_pending() {
                    self.take_interrupt(bus);
                } else {
                    return Exit::Halted;
                }
            }
            if self.cycles >= until {
                return Exit::Budget;
            }
            if self.shadow
                || self.flags.bits & (flags::TF | flags::RF) != 0
                || self.dbg.armed
                || bus.interrupt_pending()
                || !self.decode_cache
            {
                self.step(bus);
            } else {
                self.run_traces(bus, tc, until);
            }
            if self.attention {
                self.attention = false;
                if std::mem::take(&mut self.tripled) {
                    return Exit::TripleFault;
                }
                if let Some(what) = self.unsupported.take() {
                    return Exit::Unsupported(what);
                }
                return Exit::Attention;
            }
        }
    }

    /// One step for the debugger: a pending interrupt is entered, or one instruction (one slice
    /// of a REP instruction, ending at `until` as in [`Cpu::run`]) executes. The same work as
    /// [`Cpu::run`] does between the same two points, so a machine stepped this way runs
    /// exactly as one left to run. Returns [`Exit::Budget`] after a normal step and
    /// [`Exit::Halted`] when the CPU is halted with no interrupt to take (nothing ran).
    pub fn step_once<B: Bus>(&mut self, bus: &mut B, until: u64) -> Exit {
        self.attention = false;
        self.slice_end = until;
        if self.halted {
            if self.flags.if_() && bus.interrupt_pending() {
                self.take_interrupt(bus);
            } else {
                return Exit::Halted;
            }
        } else {
            self.step(bus);
        }
        if std::mem::take(&mut self.attention) {
            if std::mem::take(&mut self.tripled) {
                return Exit::TripleFault;
            }
            if let Some(what) = self.unsupported.take() {
                return Exit::Unsupported(what);
            }
        }
        Exit::Budget
    }

    /// Executes one whole instruction: a REP string instruction runs to completion. Used by the
    /// single-step suites and the debugger.
    pub fn step_instruction<B: Bus>(&mut self, bus: &mut B) {
        self.slice_end = u64::MAX;
        self.step(bus);
        while self.rep_pending {
            self.step(bus);
        }
    }
}
