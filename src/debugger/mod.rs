//! The debugger: breakpoints, watchpoints and stepping on the reference interpreter, shared by
//! the command line ([`cli`]), the GDB stub ([`gdb`]) and the explained trace ([`trace`]).
//!
//! The engine drives the machine with [`Pc::debug_step`], which runs exactly what a plain run
//! runs, one step at a time, while recording the CPU's data accesses and interrupts. After each
//! step the engine looks at what happened — accesses against watchpoints and port breakpoints,
//! interrupts against vector breakpoints, CR0/EFLAGS.VM against the mode breakpoint — and
//! before each step it compares CS:EIP with the address breakpoints. So attaching the debugger
//! never changes what the guest does: with no breakpoint hit, the run is bit for bit the run
//! without it. When nothing at all is being watched, `continue` runs the machine's fast path in
//! slices instead, checking only for Ctrl-C between them.

pub mod cli;
mod commands;
pub mod expr;
pub mod gdb;
mod inspect;
pub mod trace;

pub use commands::Outcome;

use crate::accel::Backend;
use crate::cpu::decode::{self, seg};
use crate::cpu::{CpuEvent, Segment};
use crate::machine::{Access, AccessKind, IoWatch, Pc, RunLimits, Stepped, Stop};
use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Read, write or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rw {
    /// Reads only.
    Read,
    /// Writes only.
    Write,
    /// Reads and writes.
    Both,
}

impl Rw {
    fn matches(self, kind: AccessKind) -> bool {
        match self {
            Rw::Read => matches!(kind, AccessKind::Read | AccessKind::In),
            Rw::Write => matches!(kind, AccessKind::Write | AccessKind::Out),
            Rw::Both => true,
        }
    }

    fn parse(s: &str) -> Option<Rw> {
        Some(match s {
            "r" | "read" => Rw::Read,
            "w" | "write" => Rw::Write,
            "rw" | "a" | "access" => Rw::Both,
            _ => return None,
        })
    }
}

impl fmt::Display for Rw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rw::Read => "r",
            Rw::Write => "w",
            Rw::Both => "rw",
        })
    }
}

/// Which address space a watchpoint address is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    /// Linear (segment base + offset, before paging).
    Linear,
    /// Physical.
    Physical,
}

/// What makes a [`Point`] fire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PointKind {
    /// CS selector and EIP (`vb`).
    Virtual {
        /// CS selector.
        cs: u16,
        /// Offset.
        eip: u32,
    },
    /// Linear address of CS:EIP (`lb`; GDB breakpoints).
    Linear(u32),
    /// Physical address of CS:EIP (`pb`).
    Physical(u32),
    /// A data access overlapping `addr..addr+len` (`watch`).
    Watch {
        /// Address space of `addr`.
        space: Space,
        /// First byte.
        addr: u32,
        /// Bytes watched (at least 1).
        len: u32,
        /// Accesses that fire it.
        on: Rw,
    },
    /// A port access in `first..=last` (`iob`).
    Io {
        /// First port.
        first: u16,
        /// Last port.
        last: u16,
        /// Accesses that fire it.
        on: Rw,
    },
    /// An interrupt or exception with this vector (and AH, if given) being delivered (`intb`).
    Int {
        /// Vector.
        vector: u8,
        /// AH at the time (the function number of BIOS and DOS services).
        ah: Option<u8>,
    },
    /// A change of CPU mode: real, protected, virtual-8086 (`modeb`).
    ModeSwitch,
    /// The instruction counter reaching this value (`sb`, `sba`).
    ICount(u64),
}

impl fmt::Display for PointKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PointKind::Virtual { cs, eip } => write!(f, "vbreak  {cs:04x}:{eip:04x}"),
            PointKind::Linear(a) => write!(f, "lbreak  {a:#010x}"),
            PointKind::Physical(a) => write!(f, "pbreak  {a:#010x}"),
            PointKind::Watch {
                space,
                addr,
                len,
                on,
            } => {
                let sp = if space == Space::Linear {
                    "lin"
                } else {
                    "phys"
                };
                write!(f, "watch   {on:<2} {sp} {addr:#010x} len {len}")
            }
            PointKind::Io { first, last, on } if first == last => {
                write!(f, "iobreak {on:<2} port {first:#06x}")
            }
            PointKind::Io { first, last, on } => {
                write!(f, "iobreak {on:<2} ports {first:#06x}-{last:#06x}")
            }
            PointKind::Int { vector, ah: None } => write!(f, "intb    {vector:#04x}"),
            PointKind::Int {
                vector,
                ah: Some(ah),
            } => write!(f, "intb    {vector:#04x} ah={ah:#04x}"),
            PointKind::ModeSwitch => write!(f, "modeb   (any CPU mode switch)"),
            PointKind::ICount(n) => write!(f, "icount  at instruction {n}"),
        }
    }
}

/// Who set a point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The user, at the command line or through `monitor`.
    User,
    /// The GDB client (Z packets); removed with z packets, not listed as the user's.
    Gdb,
    /// The debugger itself (`p` steps over with one of these).
    Temporary,
}

/// A breakpoint, watchpoint or event breakpoint.
#[derive(Clone, Debug)]
pub struct Point {
    /// Number shown in lists and used by `bpe`, `bpd`, `del`.
    pub id: u32,
    /// Disabled points never fire.
    pub enabled: bool,
    /// What fires it.
    pub kind: PointKind,
    /// Fires only when this expression is non-zero.
    pub cond: Option<expr::Expr>,
    /// Times it fired.
    pub hits: u64,
    /// Who set it.
    pub owner: Owner,
}

/// How to resume the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// Execute this many steps (each an instruction, a REP slice, or an interrupt entry).
    Step(u64),
    /// Step over CALL, INT, LOOP and REP: run until the next instruction is reached.
    StepOver,
    /// Run until something stops the machine.
    Continue,
}

/// The ports of an `iob` point, in the form the machine matches accesses with.
fn io_watch(first: u16, last: u16, on: Rw) -> IoWatch {
    IoWatch {
        first,
        last,
        reads: on != Rw::Write,
        writes: on != Rw::Read,
    }
}

/// What KVM watches for the debugger: port ranges, and code addresses with the index of the
/// point each belongs to.
struct KvmWatch {
    ports: Vec<IoWatch>,
    addrs: Vec<(u32, usize)>,
}

/// Why the machine stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The requested steps are done.
    Stepped,
    /// A point fired (`what` describes it, e.g. the access of a watchpoint).
    Point {
        /// The point's number.
        id: u32,
        /// What happened.
        what: String,
        /// The access that fired a watchpoint.
        access: Option<Access>,
    },
    /// The magic breakpoint `xchg bx, bx` executed.
    Magic,
    /// Ctrl-C (or GDB's interrupt).
    Interrupted,
    /// The machine reset after a triple fault (stopped so the user can look).
    TripleFault,
    /// The machine stopped on its own.
    Machine(Stop),
    /// The instruction limit (`--max-instructions`) was reached.
    Limit,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Stepped => Ok(()),
            StopReason::Point { id, what, .. } => write!(f, "({id}) {what}"),
            StopReason::Magic => write!(f, "magic breakpoint (xchg bx, bx)"),
            StopReason::Interrupted => write!(f, "interrupted"),
            StopReason::TripleFault => write!(f, "triple fault: the machine was reset"),
            StopReason::Machine(Stop::Exit(v)) => {
                write!(f, "the guest wrote {v:#x} to the exit port 0xf4")
            }
            StopReason::Machine(Stop::Shutdown) => write!(f, "the guest shut the machine down"),
            StopReason::Machine(Stop::Halted) => {
                write!(f, "the CPU halted with nothing left to wake it")
            }
            StopReason::Machine(Stop::InstructionLimit) | StopReason::Limit => {
                write!(f, "instruction limit reached")
            }
            StopReason::Machine(Stop::Slice) => write!(f, "paused"),
            StopReason::Machine(Stop::Unsupported(what)) => {
                write!(f, "the guest used {what}, which is not emulated yet")
            }
            StopReason::Machine(Stop::IoAccess(a)) => {
                write!(f, "port access {:#06x} ({} bytes)", a.addr, a.size)
            }
            StopReason::Machine(Stop::Breakpoint(lin)) => {
                write!(f, "breakpoint at linear {lin:#x}")
            }
        }
    }
}

impl StopReason {
    /// Whether the machine can go on after this stop.
    pub fn is_final(&self) -> bool {
        matches!(self, StopReason::Machine(_) | StopReason::Limit)
    }
}

/// The CPU's operating mode, as the debugger names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Real-address mode.
    Real,
    /// Protected mode, 16-bit code segment.
    Protected16,
    /// Protected mode, 32-bit code segment.
    Protected32,
    /// Virtual-8086 mode.
    V86,
}

impl Mode {
    /// The mode `pc`'s CPU is in.
    pub fn of(pc: &Pc) -> Mode {
        let cpu = &pc.cpu;
        if !cpu.protected() {
            Mode::Real
        } else if cpu.eflags() & (1 << 17) != 0 {
            Mode::V86
        } else if cpu.segs[seg::CS as usize].attrs & 0x4000 != 0 {
            Mode::Protected32
        } else {
            Mode::Protected16
        }
    }

    /// Whether code runs with 32-bit default operand size.
    pub fn code32(self) -> bool {
        self == Mode::Protected32
    }

    /// Short name: `real`, `prot16`, `prot32`, `v86`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Real => "real",
            Mode::Protected16 => "prot16",
            Mode::Protected32 => "prot32",
            Mode::V86 => "v86",
        }
    }
}

/// The registers an instruction can change, captured before it runs (for register deltas).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegSnapshot {
    /// EAX..EDI.
    pub regs: [u32; 8],
    /// EIP.
    pub eip: u32,
    /// EFLAGS.
    pub eflags: u32,
    /// ES, CS, SS, DS, FS, GS with their descriptor caches.
    pub segs: [Segment; 6],
    /// CR0..CR4.
    pub cr: [u32; 5],
}

impl RegSnapshot {
    /// The registers of `pc`'s CPU now.
    pub fn of(pc: &Pc) -> RegSnapshot {
        let c = &pc.cpu;
        let mut regs = [0; 8];
        regs.copy_from_slice(&c.regs[..8]);
        RegSnapshot {
            regs,
            eip: c.eip,
            eflags: c.eflags(),
            segs: c.segs,
            cr: c.cr,
        }
    }

    /// Registers whose value differs in `after`: `(name, before, after)`. EIP is left out
    /// (it changes on every instruction).
    pub fn changes(&self, after: &RegSnapshot) -> Vec<(&'static str, u32, u32)> {
        const GPR: [&str; 8] = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
        const SEG: [&str; 6] = ["es", "cs", "ss", "ds", "fs", "gs"];
        const CR: [&str; 5] = ["cr0", "cr1", "cr2", "cr3", "cr4"];
        let mut v = Vec::new();
        for (i, name) in GPR.iter().enumerate() {
            if self.regs[i] != after.regs[i] {
                v.push((*name, self.regs[i], after.regs[i]));
            }
        }
        if self.eflags != after.eflags {
            v.push(("eflags", self.eflags, after.eflags));
        }
        for (i, name) in SEG.iter().enumerate() {
            let (old, new) = (self.segs[i].selector, after.segs[i].selector);
            if old != new {
                v.push((*name, old as u32, new as u32));
            }
        }
        for (i, name) in CR.iter().enumerate() {
            if self.cr[i] != after.cr[i] {
                v.push((*name, self.cr[i], after.cr[i]));
            }
        }
        v
    }
}

/// Everything one step did, as the engine saw it (handed to the tracer and `trace on`).
#[derive(Clone, Debug)]
pub struct StepRecord {
    /// Mode before the step.
    pub mode: Mode,
    /// CS selector before the step.
    pub cs: u16,
    /// EIP before the step.
    pub eip: u32,
    /// Linear address of CS:EIP before the step.
    pub linear: u32,
    /// Instruction bytes at CS:EIP (up to 15; fewer where memory is not readable).
    pub bytes: Vec<u8>,
    /// Registers before the step.
    pub before: RegSnapshot,
    /// Registers after the step.
    pub after: RegSnapshot,
    /// Instructions retired before the step.
    pub icount: u64,
    /// The cycle counter before the step.
    pub cycle: u64,
    /// Data accesses of the step.
    pub accesses: Vec<Access>,
    /// Interrupts and exceptions delivered during the step.
    pub events: Vec<CpuEvent>,
    /// What the machine did.
    pub stepped: Stepped,
}

/// The debugger: its points, switches and the loop that runs the machine under them.
pub struct Debugger {
    points: Vec<Point>,
    next_id: u32,
    /// Stop after `xchg bx, bx` (Bochs's magic breakpoint).
    pub magic: bool,
    /// Print every instruction with its register changes while running (`trace on`).
    pub trace: bool,
    /// Print interrupts and exceptions as they are delivered (`show int`).
    pub show_int: bool,
    /// Print CPU mode switches (`show mode`).
    pub show_mode: bool,
    /// Print port I/O with the device that answered (`show io`).
    pub show_io: bool,
    /// The explained trace (`--trace FILE`).
    pub tracer: Option<trace::Tracer>,
    /// Set (by Ctrl-C or the GDB client) to stop a running machine.
    pub interrupt: Arc<AtomicBool>,
    /// Stop after this many instructions in total.
    pub max_instructions: Option<u64>,
    /// Remaining steps of a [`Resume::Step`].
    steps_left: u64,
    /// The point to skip on the first step after a stop at it (so `c` leaves a breakpoint).
    skip_address_points: bool,
    /// Target CS:EIP and SP of a step-over.
    over: Option<(u16, u32, u32)>,
    /// The machine's own final stop (exit, shutdown, unsupported feature), once seen: the
    /// guest never runs past it, however often the user continues.
    ended: Option<Stop>,
    /// Whether this run records each step's accesses and events ([`Debugger::wants_detail`]).
    detailed: bool,
    /// Reused buffers.
    log: Vec<Access>,
}

impl Default for Debugger {
    fn default() -> Self {
        Debugger::new()
    }
}

/// How many steps [`Debugger::resume`] runs between looks at the interrupt flag.
const POLL_STEPS: u64 = 1 << 14;

impl Debugger {
    /// A debugger with no points set.
    pub fn new() -> Debugger {
        Debugger {
            points: Vec::new(),
            next_id: 1,
            magic: false,
            trace: false,
            show_int: false,
            show_mode: false,
            show_io: false,
            tracer: None,
            interrupt: Arc::new(AtomicBool::new(false)),
            max_instructions: None,
            steps_left: 0,
            skip_address_points: false,
            over: None,
            ended: None,
            detailed: false,
            log: Vec::new(),
        }
    }

    // ----- points ------------------------------------------------------------------------

    /// Adds a point and returns its number.
    pub fn add_point(&mut self, kind: PointKind, cond: Option<expr::Expr>, owner: Owner) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        self.points.push(Point {
            id,
            enabled: true,
            kind,
            cond,
            hits: 0,
            owner,
        });
        id
    }

    /// Removes point `id`; returns whether it existed.
    pub fn delete_point(&mut self, id: u32) -> bool {
        let n = self.points.len();
        self.points.retain(|p| p.id != id);
        self.points.len() != n
    }

    /// Removes the first point of `owner` with exactly this kind; returns whether one existed.
    pub fn delete_point_kind(&mut self, kind: &PointKind, owner: Owner) -> bool {
        match self
            .points
            .iter()
            .position(|p| p.owner == owner && &p.kind == kind)
        {
            Some(i) => {
                self.points.remove(i);
                true
            }
            None => false,
        }
    }

    /// Enables or disables point `id`; returns whether it exists.
    pub fn enable_point(&mut self, id: u32, on: bool) -> bool {
        match self.points.iter_mut().find(|p| p.id == id) {
            Some(p) => {
                p.enabled = on;
                true
            }
            None => false,
        }
    }

    /// Every point, in the order they were set.
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// Whether anything needs the machine stepped one instruction at a time.
    fn needs_stepping(&self) -> bool {
        self.points.iter().any(|p| p.enabled) || self.watches_every_step()
    }

    /// Whether a switch other than the points looks at every instruction.
    fn watches_every_step(&self) -> bool {
        self.magic
            || self.trace
            || self.show_int
            || self.show_mode
            || self.show_io
            || self.tracer.is_some()
            || self.over.is_some()
    }

    // ----- running -----------------------------------------------------------------------

    /// Prepares a resume. Address breakpoints at the current CS:EIP do not fire on the first
    /// step (the machine is stopped there already).
    pub fn start(&mut self, pc: &Pc, how: Resume) {
        self.interrupt.store(false, Ordering::Relaxed);
        self.skip_address_points = true;
        self.over = None;
        self.steps_left = u64::MAX;
        match how {
            Resume::Step(n) => self.steps_left = n.max(1),
            Resume::Continue => {}
            Resume::StepOver => match step_over_target(pc) {
                Some(target) => self.over = Some(target),
                None => self.steps_left = 1,
            },
        }
    }

    /// Runs the machine as set up by [`Debugger::start`] for at most `budget` steps. Returns
    /// `None` when the budget ran out with no reason to stop (the GDB stub polls its
    /// connection between calls). Events are printed to `out` as the switches ask.
    pub fn run_for(&mut self, pc: &mut Pc, budget: u64, out: &mut dyn Write) -> Option<StopReason> {
        if !self.needs_stepping() && self.steps_left == u64::MAX {
            return self.run_fast(pc, budget);
        }
        if pc.backend() == Backend::Kvm && self.steps_left == u64::MAX {
            if let Some(watch) = self.kvm_watch(pc) {
                return self.run_kvm_watched(pc, watch, out);
            }
        }
        self.detailed = self.wants_detail();
        for n in 0..budget {
            if n % POLL_STEPS == POLL_STEPS - 1 && self.interrupt.swap(false, Ordering::Relaxed) {
                return Some(StopReason::Interrupted);
            }
            if let Some(r) = self.one_step(pc, out) {
                return Some(r);
            }
        }
        if self.interrupt.swap(false, Ordering::Relaxed) {
            return Some(StopReason::Interrupted);
        }
        None
    }

    /// [`Debugger::start`] then [`Debugger::run_for`] until a stop.
    pub fn resume(&mut self, pc: &mut Pc, how: Resume, out: &mut dyn Write) -> StopReason {
        self.start(pc, how);
        loop {
            if let Some(r) = self.run_for(pc, 1 << 20, out) {
                return r;
            }
        }
    }

    /// The points KVM can watch by itself, when those are all there is to watch: port ranges
    /// (every port access leaves the guest anyway) and up to four breakpoint addresses (the
    /// debug registers). `None` when something else needs the interpreter's stepping.
    fn kvm_watch(&self, pc: &Pc) -> Option<KvmWatch> {
        let others = self.watches_every_step() || self.max_instructions.is_some();
        if others || pc.cpu.protected() {
            return None;
        }
        let mut ports = Vec::new();
        let mut addrs = Vec::new();
        for (i, p) in self.points.iter().enumerate().filter(|(_, p)| p.enabled) {
            match p.kind {
                PointKind::Io { first, last, on } => ports.push(io_watch(first, last, on)),
                // Real mode: linear = physical = selector * 16 + offset.
                PointKind::Virtual { cs, eip } => addrs.push(((cs as u32) * 16 + eip, i)),
                PointKind::Linear(a) | PointKind::Physical(a) => addrs.push((a, i)),
                _ => return None,
            }
        }
        (addrs.len() <= 4).then_some(KvmWatch { ports, addrs })
    }

    /// `continue` on KVM with port and address points watched by KVM itself. The first
    /// instruction is stepped in the interpreter (it may sit on a breakpoint already).
    fn run_kvm_watched(
        &mut self,
        pc: &mut Pc,
        KvmWatch { ports, addrs }: KvmWatch,
        out: &mut dyn Write,
    ) -> Option<StopReason> {
        if self.skip_address_points {
            self.detailed = self.wants_detail();
            return self.one_step(pc, out);
        }
        if let Some(stop) = self.ended {
            return Some(StopReason::Machine(stop));
        }
        pc.kvm_io_watch = ports;
        pc.kvm_breakpoints = addrs.iter().map(|&(a, _)| a).collect();
        let end = pc.cpu.cycles.saturating_add(pc.clock_hz() / 100);
        let stop = pc.run_until(end, RunLimits::default());
        pc.kvm_io_watch.clear();
        pc.kvm_breakpoints.clear();
        if self.interrupt.swap(false, Ordering::Relaxed) {
            return Some(StopReason::Interrupted);
        }
        match stop {
            Stop::Slice => None,
            Stop::IoAccess(a) => {
                let i = self.points.iter().position(|p| {
                    p.enabled
                        && matches!(p.kind, PointKind::Io { first, last, on }
                            if io_watch(first, last, on).matches(&a))
                })?;
                let what = format!("I/O breakpoint: {}", inspect::describe_io(pc, &a));
                self.fire(pc, i, what, Some(a))
            }
            Stop::Breakpoint(lin) => {
                let &(_, i) = addrs.iter().find(|&&(a, _)| a == lin)?;
                let what = match self.points[i].kind {
                    PointKind::Virtual { cs, eip } => format!("breakpoint at {cs:04x}:{eip:04x}"),
                    PointKind::Physical(a) => format!("breakpoint at physical {a:#x}"),
                    _ => format!("breakpoint at linear {lin:#x}"),
                };
                let r = self.fire(pc, i, what, None);
                // A condition that did not hold: go on past the breakpoint.
                self.skip_address_points = r.is_none();
                r
            }
            other => {
                self.note_end(other);
                Some(StopReason::Machine(other))
            }
        }
    }

    /// `continue` with nothing to watch: the machine's own run loop in slices of instructions
    /// (of time under KVM, which counts no instructions), looking at the interrupt flag
    /// between them.
    fn run_fast(&mut self, pc: &mut Pc, budget: u64) -> Option<StopReason> {
        if let Some(stop) = self.ended {
            return Some(StopReason::Machine(stop));
        }
        if pc.backend() == Backend::Kvm && self.max_instructions.is_none() {
            let end = pc.cpu.cycles.saturating_add(pc.clock_hz() / 100);
            let stop = pc.run_until(end, RunLimits::default());
            if self.interrupt.swap(false, Ordering::Relaxed) {
                return Some(StopReason::Interrupted);
            }
            return match stop {
                Stop::Slice => None,
                other => {
                    self.note_end(other);
                    Some(StopReason::Machine(other))
                }
            };
        }
        let slice = budget.clamp(1, 1 << 22);
        let mut target = pc.cpu.instructions.saturating_add(slice);
        if let Some(max) = self.max_instructions {
            if pc.cpu.instructions >= max {
                return Some(StopReason::Limit);
            }
            target = target.min(max);
        }
        let stop = pc.run(RunLimits {
            max_instructions: Some(target),
        });
        if self.interrupt.swap(false, Ordering::Relaxed) {
            return Some(StopReason::Interrupted);
        }
        match stop {
            Stop::InstructionLimit => match self.max_instructions {
                Some(max) if pc.cpu.instructions >= max => Some(StopReason::Limit),
                _ => None,
            },
            other => {
                self.note_end(other);
                Some(StopReason::Machine(other))
            }
        }
    }

    /// Remembers a stop the guest cannot run past.
    fn note_end(&mut self, stop: Stop) {
        if matches!(stop, Stop::Exit(_) | Stop::Shutdown | Stop::Unsupported(_)) {
            self.ended = Some(stop);
        }
    }

    /// One machine step with every check. Returns a reason when the machine must stop.
    fn one_step(&mut self, pc: &mut Pc, out: &mut dyn Write) -> Option<StopReason> {
        if let Some(stop) = self.ended {
            return Some(StopReason::Machine(stop));
        }
        if let Some(max) = self.max_instructions {
            if pc.cpu.instructions >= max {
                return Some(StopReason::Limit);
            }
        }
        let skip = std::mem::take(&mut self.skip_address_points);
        if let Some((cs, eip, sp)) = self.over {
            if !skip
                && pc.cpu.segs[seg::CS as usize].selector == cs
                && pc.cpu.eip == eip
                && stack_pointer(pc) >= sp
            {
                self.over = None;
                return Some(StopReason::Stepped);
            }
        }
        if !skip {
            if let Some(r) = self.check_before(pc) {
                return Some(r);
            }
        }
        if !self.detailed {
            return self.light_step(pc);
        }
        let watching = self.tracer.is_some() || self.trace;
        let before = RegSnapshot::of(pc);
        let mode = Mode::of(pc);
        let icount = pc.cpu.instructions;
        let cycle = pc.cpu.cycles;
        let linear = pc.cpu.pc_linear();
        let magic_here = self.magic && is_magic(pc, linear);
        let bytes = if watching {
            inspect::code_bytes(pc, linear, 15)
        } else {
            Vec::new()
        };
        pc.cpu.record_events = true;
        pc.cpu.events.clear();
        let mut log = std::mem::take(&mut self.log);
        log.clear();
        let stepped = pc.debug_step(Some(&mut log));
        let events = std::mem::take(&mut pc.cpu.events);
        pc.cpu.record_events = false;
        let after = RegSnapshot::of(pc);
        let rec = StepRecord {
            mode,
            cs: before.segs[seg::CS as usize].selector,
            eip: before.eip,
            linear,
            bytes,
            before,
            after,
            icount,
            cycle,
            accesses: log,
            events,
            stepped,
        };
        if let Stepped::Stopped(stop) = stepped {
            self.note_end(stop);
        }
        let reason = self.check_after(pc, &rec, out, magic_here);
        self.log = rec.accesses;
        if let Some(r) = reason {
            return Some(r);
        }
        self.count_step(stepped)
    }

    /// A step when only address, count and magic breakpoints are set: nothing is recorded.
    fn light_step(&mut self, pc: &mut Pc) -> Option<StopReason> {
        let icount = pc.cpu.instructions;
        let magic_here = self.magic && is_magic(pc, pc.cpu.pc_linear());
        let stepped = pc.debug_step(None);
        match stepped {
            Stepped::Stopped(stop) => {
                self.note_end(stop);
                return Some(StopReason::Machine(stop));
            }
            Stepped::Reset => return Some(StopReason::TripleFault),
            Stepped::Ran | Stepped::Waited => {}
        }
        if magic_here && stepped == Stepped::Ran && pc.cpu.instructions > icount {
            return Some(StopReason::Magic);
        }
        self.count_step(stepped)
    }

    /// Counts a step of a [`Resume::Step`].
    fn count_step(&mut self, stepped: Stepped) -> Option<StopReason> {
        if self.steps_left != u64::MAX && matches!(stepped, Stepped::Ran | Stepped::Reset) {
            self.steps_left -= 1;
            if self.steps_left == 0 {
                return Some(StopReason::Stepped);
            }
        }
        None
    }

    /// Whether any enabled point or switch needs the accesses, events and registers of each
    /// step.
    fn wants_detail(&self) -> bool {
        self.trace
            || self.show_int
            || self.show_mode
            || self.show_io
            || self.tracer.is_some()
            || self.points.iter().any(|p| {
                p.enabled
                    && matches!(
                        p.kind,
                        PointKind::Watch { .. }
                            | PointKind::Io { .. }
                            | PointKind::Int { .. }
                            | PointKind::ModeSwitch
                    )
            })
    }

    /// Address and instruction-count points, looked at before an instruction runs.
    fn check_before(&mut self, pc: &mut Pc) -> Option<StopReason> {
        let cs = pc.cpu.segs[seg::CS as usize].selector;
        let eip = pc.cpu.eip;
        let lin = pc.cpu.pc_linear();
        let mut phys = None;
        let icount = pc.cpu.instructions;
        for i in 0..self.points.len() {
            let p = &self.points[i];
            if !p.enabled {
                continue;
            }
            let what = match p.kind {
                PointKind::Virtual { cs: c, eip: e } if c == cs && e == eip => {
                    format!("breakpoint at {cs:04x}:{eip:04x}")
                }
                PointKind::Linear(a) if a == lin => format!("breakpoint at linear {a:#x}"),
                PointKind::Physical(a) => {
                    let pa = *phys.get_or_insert_with(|| translate(pc, lin));
                    if pa != Some(a) {
                        continue;
                    }
                    format!("breakpoint at physical {a:#x}")
                }
                PointKind::ICount(n) if icount >= n => {
                    format!("instruction count {n} reached")
                }
                _ => continue,
            };
            if let Some(r) = self.fire(pc, i, what, None) {
                if matches!(self.points[i].kind, PointKind::ICount(_)) {
                    self.points[i].enabled = false;
                }
                return Some(r);
            }
        }
        None
    }

    /// A point matched: evaluate its condition, count the hit, report it.
    fn fire(
        &mut self,
        pc: &Pc,
        i: usize,
        what: String,
        access: Option<Access>,
    ) -> Option<StopReason> {
        let p = &self.points[i];
        if let Some(c) = &p.cond {
            match c.eval(&expr::PcContext(pc)) {
                Ok(0) => return None,
                Ok(_) => {}
                // A condition that cannot be evaluated (memory not readable) stops, so the
                // user sees it rather than missing the stop.
                Err(_) => {}
            }
        }
        let p = &mut self.points[i];
        p.hits += 1;
        if p.owner == Owner::Temporary {
            let id = p.id;
            self.points.remove(i);
            return Some(StopReason::Point { id, what, access });
        }
        Some(StopReason::Point {
            id: p.id,
            what,
            access,
        })
    }

    /// Everything looked at after a step: watchpoints, port and interrupt points, mode
    /// switches, the magic breakpoint; and the trace output.
    fn check_after(
        &mut self,
        pc: &mut Pc,
        rec: &StepRecord,
        out: &mut dyn Write,
        magic_here: bool,
    ) -> Option<StopReason> {
        if let Some(t) = self.tracer.as_mut() {
            t.record(pc, rec);
        }
        if self.trace && rec.stepped == Stepped::Ran {
            inspect::print_trace_line(pc, rec, out);
        }
        let mode_after = Mode::of(pc);
        let mode_switched = rec.mode != mode_after
            && !(matches!(rec.mode, Mode::Protected16 | Mode::Protected32)
                && matches!(mode_after, Mode::Protected16 | Mode::Protected32));
        if self.show_io {
            for a in rec.accesses.iter().filter(|a| a.is_io()) {
                let _ = writeln!(out, "{}", inspect::describe_io(pc, a));
            }
        }
        if self.show_int {
            for e in &rec.events {
                let _ = writeln!(out, "{}", inspect::describe_event(pc, rec, e));
            }
        }
        if self.show_mode && mode_switched {
            let _ = writeln!(
                out,
                "mode switch: {} -> {} at {:04x}:{:08x}",
                rec.mode.name(),
                mode_after.name(),
                rec.cs,
                rec.eip
            );
        }
        let mut reason = None;
        for i in 0..self.points.len() {
            if reason.is_some() {
                break;
            }
            let p = &self.points[i];
            if !p.enabled {
                continue;
            }
            match p.kind {
                PointKind::Watch {
                    space,
                    addr,
                    len,
                    on,
                } => {
                    let range = match space {
                        Space::Physical => Some(addr),
                        Space::Linear => translate(pc, addr),
                    };
                    let Some(start) = range else { continue };
                    let hit = rec.accesses.iter().find(|a| {
                        !a.is_io()
                            && on.matches(a.kind)
                            && overlaps(a.addr, a.size as u32, start, len)
                    });
                    if let Some(a) = hit {
                        let what = format!(
                            "watchpoint: {} of {} byte{} at physical {:#x} (value {:#x}) by {:04x}:{:04x}",
                            if a.kind == AccessKind::Read { "read" } else { "write" },
                            a.size,
                            if a.size == 1 { "" } else { "s" },
                            a.addr,
                            a.value,
                            rec.cs,
                            rec.eip
                        );
                        let a = *a;
                        reason = self.fire(pc, i, what, Some(a));
                    }
                }
                PointKind::Io { first, last, on } => {
                    let watch = io_watch(first, last, on);
                    let hit = rec.accesses.iter().find(|a| watch.matches(a));
                    if let Some(a) = hit {
                        let what = format!("I/O breakpoint: {}", inspect::describe_io(pc, a));
                        let a = *a;
                        reason = self.fire(pc, i, what, Some(a));
                    }
                }
                PointKind::Int { vector, ah } => {
                    let ah_now = (rec.before.regs[0] >> 8) as u8;
                    let hit = rec.events.iter().find(|e| {
                        matches!(e, CpuEvent::Interrupt { vector: v, .. } if *v == vector)
                            && ah.is_none_or(|want| want == ah_now)
                    });
                    if let Some(e) = hit {
                        let what = format!(
                            "interrupt breakpoint: {}",
                            inspect::describe_event(pc, rec, e)
                        );
                        reason = self.fire(pc, i, what, None);
                    }
                }
                PointKind::ModeSwitch if mode_switched => {
                    let what = format!("mode switch: {} -> {}", rec.mode.name(), mode_after.name());
                    reason = self.fire(pc, i, what, None);
                }
                _ => {}
            }
        }
        if reason.is_some() {
            return reason;
        }
        match rec.stepped {
            Stepped::Stopped(stop) => return Some(StopReason::Machine(stop)),
            Stepped::Reset => return Some(StopReason::TripleFault),
            Stepped::Ran | Stepped::Waited => {}
        }
        if magic_here && rec.stepped == Stepped::Ran && pc.cpu.instructions > rec.icount {
            return Some(StopReason::Magic);
        }
        None
    }
}

/// Whether `[a, a+n)` and `[b, b+m)` share a byte.
fn overlaps(a: u32, n: u32, b: u32, m: u32) -> bool {
    let (a, b) = (a as u64, b as u64);
    a < b + m.max(1) as u64 && b < a + n.max(1) as u64
}

/// SP or ESP, as the stack segment's size says.
fn stack_pointer(pc: &Pc) -> u32 {
    let sp = pc.cpu.regs[4];
    if pc.cpu.segs[seg::SS as usize].attrs & 0x4000 != 0 {
        sp
    } else {
        sp & 0xFFFF
    }
}

/// Whether the instruction at `linear` is `xchg bx, bx` (87 DB, or 66 87 DB).
fn is_magic(pc: &Pc, linear: u32) -> bool {
    let b = inspect::code_bytes(pc, linear, 3);
    b.starts_with(&[0x87, 0xDB]) || b.starts_with(&[0x66, 0x87, 0xDB])
}

/// Where a step-over of the instruction at CS:EIP stops: the next instruction's CS:EIP and
/// the current stack pointer (a recursive call reaching the same address deeper in the stack
/// does not count). `None` when the instruction is not one to step over.
fn step_over_target(pc: &Pc) -> Option<(u16, u32, u32)> {
    let lin = pc.cpu.pc_linear();
    let bytes = inspect::code_bytes(pc, lin, 15);
    let code32 = Mode::of(pc).code32();
    let insn = decode::decode(&bytes, pc.cpu.model, code32).ok()?;
    let rep = insn.pfx & (decode::P_REP | decode::P_REPNE) != 0;
    let over = match insn.op {
        0xE8 | 0x9A => true,                            // CALL near, CALL far
        0xFF => matches!((insn.modrm >> 3) & 7, 2 | 3), // CALL r/m, CALL m16:16/32
        0xCC | 0xCD | 0xCE | 0xF1 => true,              // INT3, INT n, INTO, INT1
        0xE0..=0xE2 => true,                            // LOOPNE, LOOPE, LOOP
        0xA4..=0xA7 | 0xAA..=0xAF | 0x6C..=0x6F => rep, // string instructions
        _ => false,
    };
    if !over {
        return None;
    }
    let mask = if code32 { u32::MAX } else { 0xFFFF };
    let next = pc.cpu.eip.wrapping_add(insn.len as u32) & mask;
    Some((
        pc.cpu.segs[seg::CS as usize].selector,
        next,
        stack_pointer(pc),
    ))
}

/// Linear to physical address: the address-bus mask (A20), and the page tables (two-level,
/// 4 MiB pages, PAE) when paging is on, read without side effects. `None` when a page is not
/// present.
pub fn translate(pc: &Pc, lin: u32) -> Option<u32> {
    let cpu = &pc.cpu;
    let read32 = |a: u32| -> Option<u32> {
        let mut v = 0u32;
        for k in 0..4 {
            v |= (pc.board.mem.read8(cpu.phys(a.wrapping_add(k))).ok()? as u32) << (8 * k);
        }
        Some(v)
    };
    cpu.probe_linear(read32, lin).phys.map(|p| cpu.phys(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap() {
        assert!(overlaps(0x500, 2, 0x501, 1));
        assert!(!overlaps(0x500, 2, 0x502, 4));
        assert!(overlaps(0x4FF, 4, 0x500, 1));
        assert!(!overlaps(0xFFFF_FFFF, 1, 0, 1));
    }
}
