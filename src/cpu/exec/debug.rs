//! The debug registers DR0–DR7 (386 and later): instruction, data and I/O breakpoints, general
//! detect, the task-switch trap and the resume flag (Intel SDM vol. 3, ch. 17).
//!
//! - DR0–DR3 hold linear addresses (port numbers for I/O breakpoints). DR7 enables each with
//!   its L or G bit and gives its kind (R/W: 00 execute, 01 write, 11 read or write, 10 I/O with
//!   CR4.DE on the Pentium and later, undefined otherwise — ignored here) and length (LEN: 1, 2,
//!   4 bytes; 10 is taken as 8). A data or I/O breakpoint covers the aligned range of its
//!   length; an access of any size that overlaps it matches.
//! - Instruction breakpoints are faults, taken before the instruction at the address runs
//!   unless EFLAGS.RF is set. Data and I/O breakpoints are traps, taken after the instruction
//!   (after the iteration, for REP string instructions). DR6 gets B0–B3 of every breakpoint
//!   that matched, BS for a single-step trap, BT for the T bit of a new task's TSS, BD for
//!   general detect; the processor never clears DR6.
//! - RF is cleared as each instruction starts, after the instruction-breakpoint check; IRETD
//!   and task switches load it. The EFLAGS image an event pushes has RF = 1 for every fault
//!   but an instruction breakpoint, and for an interrupt or trap after an iteration of a REP
//!   instruction that is not its last (SDM 17.3.1.1); in real mode the 16-bit image cannot
//!   show it, so RF is left alone there.
//!
//! Cost: nothing while no breakpoint is enabled. Writes to DR7 and CR4 (and every state load)
//! recompute small masks of the enabled breakpoints by kind ([`Breakpoints`]). While any is
//! enabled (or DR7.GD is set, or RF is set) the run loop single-steps instead of running
//! traces; while a data breakpoint is enabled every segment's fast-path permissions are
//! withdrawn, so every data access takes the slow path, which checks its linear address.

use crate::cpu::fault::vector;
use crate::cpu::mmu::cr4;
use crate::cpu::{flags, Bus, Cpu, CpuModel, Fault, Insn};

/// DR6 bits.
pub(crate) mod dr6 {
    /// A MOV DRn found DR7.GD set.
    pub const BD: u32 = 1 << 13;
    /// Single-step trap (EFLAGS.TF).
    pub const BS: u32 = 1 << 14;
    /// Task-switch trap (the T bit of the new TSS).
    pub const BT: u32 = 1 << 15;
}

/// DR7 bits.
pub(crate) mod dr7 {
    /// General detect: any MOV DRn raises #DB first.
    pub const GD: u32 = 1 << 13;
    /// The local enables L0–L3 and LE, cleared by a task switch.
    pub const LOCAL: u32 = 0x155;
    /// Reserved bit 10, which reads as 1.
    pub const ONE: u32 = 1 << 10;
}

/// What DR7 (with CR4.DE) arms, as masks of breakpoint numbers by kind, and the data and I/O
/// breakpoints the current instruction has matched.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Breakpoints {
    /// Anything needs the debug path: an enabled breakpoint or DR7.GD.
    pub(crate) armed: bool,
    /// Enabled instruction breakpoints.
    exec: u8,
    /// Enabled breakpoints that match data writes (R/W = 01 or 11).
    write: u8,
    /// Enabled breakpoints that match data reads (R/W = 11).
    read: u8,
    /// Enabled I/O breakpoints (R/W = 10 with CR4.DE).
    io: u8,
    /// B0–B3 of the data and I/O breakpoints the current instruction matched.
    pub(crate) hits: u8,
    /// The run slice's end, kept while a hit ends the slice at once (so a REP instruction stops
    /// after the iteration that hit, as it does at the end of the budget).
    slice_end: u64,
}

impl Breakpoints {
    /// Whether data accesses must be checked (and so leave the fast path).
    #[inline(always)]
    pub(crate) fn data(&self) -> bool {
        self.write != 0
    }
}

impl Cpu {
    /// Recomputes the breakpoint masks from DR7 and CR4.DE (after a write to either, a task
    /// switch or a state load). Arming asks the run loop to leave its traces; a change in the
    /// data breakpoints recomputes the segments' fast-path permissions.
    pub(crate) fn breakpoints_changed(&mut self) {
        let old = self.dbg;
        let d7 = self.dr[7];
        let io_ok = self.cr[4] & cr4::DE != 0;
        let (mut exec, mut write, mut read, mut io) = (0u8, 0u8, 0u8, 0u8);
        for n in 0..4 {
            if d7 & (3 << (2 * n)) == 0 {
                continue;
            }
            let bit = 1u8 << n;
            match (d7 >> (16 + 4 * n)) & 3 {
                0 => exec |= bit,
                1 => write |= bit,
                2 if io_ok => io |= bit,
                3 => {
                    write |= bit;
                    read |= bit;
                }
                _ => {}
            }
        }
        let armed = exec | write | io != 0 || d7 & dr7::GD != 0;
        self.dbg = Breakpoints {
            armed,
            exec,
            write,
            read,
            io,
            ..old
        };
        if armed && !old.armed {
            self.attention = true;
        }
        if (write != 0) != old.data() {
            self.refresh_seg_acc();
        }
    }

    /// The breakpoints among `mask` whose range overlaps `size` bytes at `addr`.
    fn matching(&self, mask: u8, addr: u32, size: u8) -> u8 {
        let mut hit = 0;
        for n in 0..4 {
            if mask & (1 << n) == 0 {
                continue;
            }
            let len = match (self.dr[7] >> (18 + 4 * n)) & 3 {
                0 => 1u64,
                1 => 2,
                2 => 8,
                _ => 4,
            };
            let lo = self.dr[n] as u64 & !(len - 1);
            let a = addr as u64;
            if a < lo + len && lo < a + size as u64 {
                hit |= 1 << n;
            }
        }
        hit
    }

    /// Records matched data or I/O breakpoints; the trap is taken after the instruction (or
    /// the REP iteration: the slice ends at once, so the REP loop stops after this iteration).
    fn note_hits(&mut self, hit: u8) {
        if hit == 0 {
            return;
        }
        if self.dbg.hits == 0 {
            self.dbg.slice_end = self.slice_end;
        }
        self.dbg.hits |= hit;
        self.slice_end = 0;
    }

    /// Takes the recorded hits (restoring the slice's end) and returns their DR6 bits.
    fn take_hits(&mut self) -> u32 {
        let hit = std::mem::take(&mut self.dbg.hits);
        if hit != 0 {
            self.slice_end = self.dbg.slice_end;
        }
        hit as u32
    }

    /// Checks a data access of `size` bytes at linear address `lin` against the data
    /// breakpoints (called on the slow path while one is enabled).
    #[cold]
    pub(crate) fn watch_data(&mut self, lin: u32, size: u8, write: bool) {
        let mask = if write { self.dbg.write } else { self.dbg.read };
        let hit = self.matching(mask, lin, size);
        self.note_hits(hit);
    }

    /// Checks an access of `size` ports at `port` against the I/O breakpoints.
    #[cold]
    pub(crate) fn watch_io(&mut self, port: u16, size: u8) {
        let hit = self.matching(self.dbg.io, port as u32, size);
        self.note_hits(hit);
    }

    /// Whether the step must look at breakpoints or the resume flag.
    #[inline(always)]
    pub(crate) fn debug_watch(&self) -> bool {
        self.dbg.armed || self.flags.bits & flags::RF != 0
    }

    /// Before an instruction starts: an enabled instruction breakpoint at CS:EIP raises #DB (a
    /// fault: it returns to the instruction, and RF is pushed as it is, 0) unless RF is set;
    /// then RF is cleared. A REP instruction resuming after its slice ended is not starting.
    /// Returns whether the breakpoint was taken.
    pub(crate) fn debug_before<B: Bus>(&mut self, bus: &mut B) -> bool {
        if self.flags.bits & flags::RF != 0 {
            self.flags.bits &= !flags::RF;
            return false;
        }
        if self.dbg.exec == 0 || self.rep_pending {
            return false;
        }
        let lin = self.pc_linear();
        let mut hit = 0;
        for n in 0..4 {
            if self.dbg.exec & (1 << n) != 0 && self.dr[n] == lin {
                hit |= 1 << n;
            }
        }
        if hit == 0 {
            return false;
        }
        self.dr[6] |= hit;
        let ret = self.eip;
        self.deliver(bus, Fault::new(vector::DB), ret);
        true
    }

    /// After an instruction: the trap-class #DB for single-stepping (`single_step`, DR6.BS)
    /// and the data and I/O breakpoints it matched (B0–B3), in one exception. After an
    /// iteration of a REP instruction that is not its last, EIP is still on the instruction
    /// and the pushed RF is 1, so it resumes without an instruction breakpoint.
    pub(crate) fn debug_trap<B: Bus>(&mut self, bus: &mut B, single_step: bool) {
        if single_step && self.model >= CpuModel::I386 {
            self.dr[6] |= dr6::BS;
        }
        self.dr[6] |= self.take_hits();
        if std::mem::take(&mut self.rep_pending) {
            self.event_sets_rf();
        }
        let ret = self.eip;
        self.deliver(bus, Fault::new(vector::DB), ret);
    }

    /// An exception raised by an instruction is about to be delivered: the instruction's
    /// data hits are dropped (it did not complete) unless the exception is a #DB, which
    /// reports them; a fault pushes RF = 1.
    pub(crate) fn debug_fault(&mut self, f: Fault, trap: bool) {
        let hit = self.take_hits();
        if f.vector() == vector::DB {
            self.dr[6] |= hit;
        }
        if !trap {
            self.event_sets_rf();
        }
    }

    /// Sets RF for the EFLAGS image of the event being delivered (protected mode: the handler
    /// entry clears it again; a real-mode image has no RF).
    pub(crate) fn event_sets_rf(&mut self) {
        if self.protected() && self.model >= CpuModel::I386 {
            self.flags.bits |= flags::RF;
        }
    }

    /// MOV to or from a debug register (0F 21 / 0F 23): DR4 and DR5 are DR6 and DR7 unless
    /// CR4.DE is set (then #UD); CPL > 0 and V86 mode: #GP(0); with DR7.GD set, #DB (a fault,
    /// DR6.BD set, GD cleared for the handler) before the move.
    pub(crate) fn mov_dr(&mut self, i: &Insn) -> Result<(), Fault> {
        let mut n = i.reg() as usize;
        if n == 4 || n == 5 {
            if self.cr[4] & cr4::DE != 0 {
                return Err(Fault::UD);
            }
            n += 2;
        }
        self.require_cpl0()?;
        if self.dr[7] & dr7::GD != 0 {
            self.dr[6] |= dr6::BD;
            self.dr[7] &= !dr7::GD;
            self.breakpoints_changed();
            // A fault: it returns to the MOV (delivered as #DB, which returns to EIP), RF = 1.
            self.eip = self.start_eip;
            self.event_sets_rf();
            return Err(Fault::new(vector::DB));
        }
        if i.op == 0x121 {
            self.regs[i.rm() as usize] = self.dr[n];
            return Ok(());
        }
        let v = self.regs[i.rm() as usize];
        let p5 = self.model >= CpuModel::Pentium;
        self.dr[n] = match n {
            // Bits 4–11 and 16–31 read as 1; bit 12 is writable on the 386/486 only.
            6 => (v & if p5 { 0xE00F } else { 0xF00F }) | 0xFFFF_0FF0,
            // Bits 11, 14, 15 (and 12 on the Pentium and later) read as 0, bit 10 as 1.
            7 => (v & !if p5 { 0xD800 } else { 0xC800 }) | dr7::ONE,
            _ => v,
        };
        if n == 7 {
            self.breakpoints_changed();
        }
        Ok(())
    }

    /// A task switch has committed: the local enables of DR7 are cleared.
    pub(crate) fn debug_task_switched(&mut self) {
        if self.dr[7] & dr7::LOCAL != 0 {
            self.dr[7] &= !dr7::LOCAL;
            self.breakpoints_changed();
        }
    }

    /// The end of a successful task switch: with the T bit of the new (32-bit) TSS set, a
    /// #DB trap (DR6.BT) is raised in the new task, before its first instruction. It comes
    /// back as an error committed to the new task (see [`Cpu::task_committed`]).
    pub(crate) fn task_trap(&mut self, t_bit: bool) -> Result<(), Fault> {
        if !t_bit {
            return Ok(());
        }
        self.dr[6] |= dr6::BT;
        self.task_committed = true;
        Err(Fault::new(vector::DB))
    }
}
