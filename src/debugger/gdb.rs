//! GDB remote stub: the remote serial protocol (through the `gdbstub` crate) on a TCP port, so a
//! stock `gdb` can debug the machine with `target remote`.
//!
//! gdb sees the i386 register set, with one twist that makes real mode work: `eip` (gdb's
//! `$pc`) is the *linear* address of CS:EIP, and breakpoint and memory addresses are linear
//! too. In flat protected mode CS.base is 0 and nothing changes. The target description names
//! the architecture `i8086` when the CPU runs 16-bit code at the time gdb connects (real mode,
//! virtual-8086 mode or a 16-bit code segment), so gdb disassembles 16-bit code; after a switch
//! to 32-bit code, `set architecture i386` in gdb. A second feature,
//! `org.glassbox.x86.system`, adds CR0, CR2, CR3, CR4 and the segment bases (`csbase`..).
//! The x87 registers read as zeros: there is no FPU.
//!
//! Breakpoints and watchpoints become the debugger's own points (owned by gdb), so stopping
//! at them never changes what the guest does; `monitor CMD` runs any debugger command that
//! does not run the machine. Without `--wait-gdb` the machine runs while the listener waits;
//! after gdb detaches it runs on (and gdb may attach again) until it stops for good.

use super::expr::Reg;
use super::{translate, Debugger, Mode, Outcome, Owner, PointKind, Resume, Rw, Space, StopReason};
use crate::cpu::decode::seg;
use crate::machine::{Pc, Stop};
use anyhow::Context as _;
use gdbstub::arch::{Arch, RegId, Registers};
use gdbstub::common::Signal;
use gdbstub::conn::ConnectionExt;
use gdbstub::stub::run_blocking::{BlockingEventLoop, Event, WaitForStopReasonError};
use gdbstub::stub::{DisconnectReason, GdbStub, SingleThreadStopReason};
use gdbstub::target::ext::base::single_register_access::{
    SingleRegisterAccess, SingleRegisterAccessOps,
};
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadResumeOps, SingleThreadSingleStep,
    SingleThreadSingleStepOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwBreakpoint, HwBreakpointOps, HwWatchpoint, HwWatchpointOps,
    SwBreakpoint, SwBreakpointOps, WatchKind,
};
use gdbstub::target::ext::monitor_cmd::{ConsoleOutput, MonitorCmd, MonitorCmdOps};
use gdbstub::target::ext::target_description_xml_override::{
    TargetDescriptionXmlOverride, TargetDescriptionXmlOverrideOps,
};
use gdbstub::target::{Target, TargetError, TargetResult};
use std::io::{self, Write};
use std::marker::PhantomData;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::num::NonZeroUsize;

/// Steps the machine runs between looks at the connection (gdb's Ctrl-C, a new client).
const SLICE: u64 = 1 << 15;

// ----- registers -----------------------------------------------------------------------------

/// What a gdb register number stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// A CPU register as the debugger's expressions name it.
    Cpu(Reg),
    /// `eip`: the linear address of CS:EIP.
    Pc,
    /// The base in a segment's descriptor cache (ES..GS numbering).
    Base(u8),
    /// An x87 register of this many bytes: reads as zeros, writes are ignored.
    Fpu(usize),
}

/// One register of the target description.
struct RegDef {
    name: &'static str,
    /// Type in the target description.
    ty: &'static str,
    /// Register group (`None`: gdb's default for the type).
    group: Option<&'static str>,
    slot: Slot,
}

const fn def(name: &'static str, ty: &'static str, slot: Slot) -> RegDef {
    RegDef {
        name,
        ty,
        group: None,
        slot,
    }
}

const fn fpu(name: &'static str) -> RegDef {
    RegDef {
        name,
        ty: "int",
        group: Some("float"),
        slot: Slot::Fpu(4),
    }
}

const fn sys(name: &'static str, ty: &'static str, slot: Slot) -> RegDef {
    RegDef {
        name,
        ty,
        group: Some("system"),
        slot,
    }
}

const ST: Slot = Slot::Fpu(10);

/// Registers in gdb's numbering: the first [`CORE_REGS`] are `org.gnu.gdb.i386.core` in the
/// order gdb's i386 code requires, the rest are `org.glassbox.x86.system`.
const REGS: [RegDef; 42] = [
    def("eax", "int32", Slot::Cpu(Reg::Gpr32(0))),
    def("ecx", "int32", Slot::Cpu(Reg::Gpr32(1))),
    def("edx", "int32", Slot::Cpu(Reg::Gpr32(2))),
    def("ebx", "int32", Slot::Cpu(Reg::Gpr32(3))),
    def("esp", "data_ptr", Slot::Cpu(Reg::Gpr32(4))),
    def("ebp", "data_ptr", Slot::Cpu(Reg::Gpr32(5))),
    def("esi", "int32", Slot::Cpu(Reg::Gpr32(6))),
    def("edi", "int32", Slot::Cpu(Reg::Gpr32(7))),
    def("eip", "code_ptr", Slot::Pc),
    def("eflags", "i386_eflags", Slot::Cpu(Reg::Eflags)),
    def("cs", "int32", Slot::Cpu(Reg::Seg(seg::CS))),
    def("ss", "int32", Slot::Cpu(Reg::Seg(seg::SS))),
    def("ds", "int32", Slot::Cpu(Reg::Seg(seg::DS))),
    def("es", "int32", Slot::Cpu(Reg::Seg(seg::ES))),
    def("fs", "int32", Slot::Cpu(Reg::Seg(seg::FS))),
    def("gs", "int32", Slot::Cpu(Reg::Seg(seg::GS))),
    def("st0", "i387_ext", ST),
    def("st1", "i387_ext", ST),
    def("st2", "i387_ext", ST),
    def("st3", "i387_ext", ST),
    def("st4", "i387_ext", ST),
    def("st5", "i387_ext", ST),
    def("st6", "i387_ext", ST),
    def("st7", "i387_ext", ST),
    fpu("fctrl"),
    fpu("fstat"),
    fpu("ftag"),
    fpu("fiseg"),
    fpu("fioff"),
    fpu("foseg"),
    fpu("fooff"),
    fpu("fop"),
    sys("cr0", "glassbox_cr0", Slot::Cpu(Reg::Cr(0))),
    sys("cr2", "data_ptr", Slot::Cpu(Reg::Cr(2))),
    sys("cr3", "int32", Slot::Cpu(Reg::Cr(3))),
    sys("cr4", "glassbox_cr4", Slot::Cpu(Reg::Cr(4))),
    sys("csbase", "data_ptr", Slot::Base(seg::CS)),
    sys("ssbase", "data_ptr", Slot::Base(seg::SS)),
    sys("dsbase", "data_ptr", Slot::Base(seg::DS)),
    sys("esbase", "data_ptr", Slot::Base(seg::ES)),
    sys("fsbase", "data_ptr", Slot::Base(seg::FS)),
    sys("gsbase", "data_ptr", Slot::Base(seg::GS)),
];

/// Registers of `org.gnu.gdb.i386.core`.
const CORE_REGS: usize = 32;

/// The register number of `eip`.
const EIP: usize = 8;

impl Slot {
    /// Bytes in the `g` packet.
    fn size(self) -> usize {
        match self {
            Slot::Fpu(n) => n,
            _ => 4,
        }
    }

    fn read(self, pc: &Pc) -> u32 {
        match self {
            Slot::Cpu(r) => r.read(pc),
            Slot::Pc => pc.cpu.pc_linear(),
            Slot::Base(s) => pc.cpu.segs[s as usize].base,
            Slot::Fpu(_) => 0,
        }
    }

    fn write(self, pc: &mut Pc, v: u32) -> Result<(), String> {
        match self {
            Slot::Cpu(r) => r.write(pc, v).map_err(|e| e.to_string()),
            Slot::Pc => {
                let eip = v.wrapping_sub(pc.cpu.segs[seg::CS as usize].base);
                Reg::Eip.write(pc, eip).map_err(|e| e.to_string())
            }
            Slot::Base(s) => {
                pc.cpu.segs[s as usize].base = v;
                pc.cpu.state_loaded();
                if s == seg::CS {
                    pc.cpu.rep_pending = false;
                }
                Ok(())
            }
            Slot::Fpu(_) => Ok(()),
        }
    }
}

/// The register file as gdb's `g` and `G` packets carry it (x87 registers are not kept).
#[derive(Clone, Debug, PartialEq, Eq)]
struct X86Regs {
    vals: [u32; REGS.len()],
}

impl Default for X86Regs {
    fn default() -> Self {
        X86Regs {
            vals: [0; REGS.len()],
        }
    }
}

impl X86Regs {
    fn of(pc: &Pc) -> X86Regs {
        let mut r = X86Regs::default();
        for (v, d) in r.vals.iter_mut().zip(&REGS) {
            *v = d.slot.read(pc);
        }
        r
    }
}

impl Registers for X86Regs {
    type ProgramCounter = u32;

    fn pc(&self) -> u32 {
        self.vals[EIP]
    }

    fn gdb_serialize(&self, mut write_byte: impl FnMut(Option<u8>)) {
        for (v, d) in self.vals.iter().zip(&REGS) {
            match d.slot {
                Slot::Fpu(n) => (0..n).for_each(|_| write_byte(Some(0))),
                _ => v
                    .to_le_bytes()
                    .into_iter()
                    .for_each(|b| write_byte(Some(b))),
            }
        }
    }

    fn gdb_deserialize(&mut self, bytes: &[u8]) -> Result<(), ()> {
        let mut rest = bytes;
        for (v, d) in self.vals.iter_mut().zip(&REGS) {
            let n = d.slot.size();
            if rest.len() < n {
                return Err(());
            }
            let (this, tail) = rest.split_at(n);
            if n == 4 {
                *v = u32::from_le_bytes([this[0], this[1], this[2], this[3]]);
            }
            rest = tail;
        }
        if rest.is_empty() {
            Ok(())
        } else {
            Err(())
        }
    }
}

/// A gdb register number (an index into [`REGS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct X86RegId(usize);

impl RegId for X86RegId {
    fn from_raw_id(id: usize) -> Option<(Self, Option<NonZeroUsize>)> {
        let d = REGS.get(id)?;
        Some((X86RegId(id), NonZeroUsize::new(d.slot.size())))
    }
}

/// The x86 as this stub presents it (gdbstub's own x86 types are 32/64-bit only).
enum X86 {}

impl Arch for X86 {
    type Usize = u32;
    type Registers = X86Regs;
    type BreakpointKind = usize;
    type RegId = X86RegId;
}

/// EFLAGS, CR0 and CR4 bits for gdb to show by name.
const FLAG_TYPES: [(&str, &[(&str, u8)]); 3] = [
    (
        "i386_eflags",
        &[
            ("CF", 0),
            ("", 1),
            ("PF", 2),
            ("AF", 4),
            ("ZF", 6),
            ("SF", 7),
            ("TF", 8),
            ("IF", 9),
            ("DF", 10),
            ("OF", 11),
            ("NT", 14),
            ("RF", 16),
            ("VM", 17),
            ("AC", 18),
            ("VIF", 19),
            ("VIP", 20),
            ("ID", 21),
        ],
    ),
    (
        "glassbox_cr0",
        &[
            ("PE", 0),
            ("MP", 1),
            ("EM", 2),
            ("TS", 3),
            ("ET", 4),
            ("NE", 5),
            ("WP", 16),
            ("AM", 18),
            ("NW", 29),
            ("CD", 30),
            ("PG", 31),
        ],
    ),
    (
        "glassbox_cr4",
        &[
            ("VME", 0),
            ("PVI", 1),
            ("TSD", 2),
            ("DE", 3),
            ("PSE", 4),
            ("PAE", 5),
            ("MCE", 6),
            ("PGE", 7),
            ("PCE", 8),
        ],
    ),
];

/// The target description: `i8086` or `i386`, the core registers and the system feature.
fn target_xml(code16: bool) -> String {
    let mut x = String::from(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n",
    );
    let arch = if code16 { "i8086" } else { "i386" };
    x += &format!("<architecture>{arch}</architecture>\n<osabi>none</osabi>\n");
    let flags = |x: &mut String, id: &str| {
        let (_, fields) = FLAG_TYPES
            .iter()
            .find(|(n, _)| *n == id)
            .expect("flag type");
        *x += &format!("<flags id=\"{id}\" size=\"4\">\n");
        for (name, bit) in fields.iter() {
            *x += &format!("  <field name=\"{name}\" start=\"{bit}\" end=\"{bit}\"/>\n");
        }
        *x += "</flags>\n";
    };
    let regs = |x: &mut String, defs: &[RegDef]| {
        for d in defs {
            let bits = d.slot.size() * 8;
            *x += &format!(
                "<reg name=\"{}\" bitsize=\"{bits}\" type=\"{}\"",
                d.name, d.ty
            );
            if let Some(g) = d.group {
                *x += &format!(" group=\"{g}\"");
            }
            *x += "/>\n";
        }
    };
    x += "<feature name=\"org.gnu.gdb.i386.core\">\n";
    flags(&mut x, "i386_eflags");
    regs(&mut x, &REGS[..CORE_REGS]);
    x += "</feature>\n<feature name=\"org.glassbox.x86.system\">\n";
    flags(&mut x, "glassbox_cr0");
    flags(&mut x, "glassbox_cr4");
    regs(&mut x, &REGS[CORE_REGS..]);
    x += "</feature>\n</target>\n";
    x
}

// ----- the target ----------------------------------------------------------------------------

/// How gdb set a point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GdbPoint {
    /// `Z0`: software breakpoint.
    Sw,
    /// `Z1`: hardware breakpoint.
    Hw,
    /// `Z2`..`Z4`: watchpoint on the range starting at this linear address.
    Watch(WatchKind, u32),
}

/// The machine as gdb drives it.
struct GdbTarget<'a> {
    pc: &'a mut Pc,
    dbg: &'a mut Debugger,
    /// Where the debugger's switches (`trace on`, `show int`) print while the machine runs.
    out: io::Stdout,
    /// The debugger's points that gdb set, by point number.
    points: Vec<(u32, GdbPoint)>,
    /// The machine stopped for good.
    finished: Option<StopReason>,
}

impl GdbTarget<'_> {
    fn add(&mut self, kind: PointKind, how: GdbPoint) -> TargetResult<bool, Self> {
        let id = self.dbg.add_point(kind, None, Owner::Gdb);
        self.points.push((id, how));
        Ok(true)
    }

    /// Removes the point gdb set as `kind` with `how`.
    fn remove(&mut self, kind: PointKind, how: GdbPoint) -> TargetResult<bool, Self> {
        let dbg = &*self.dbg;
        let found = self.points.iter().position(|&(id, h)| {
            h == how
                && dbg
                    .points()
                    .iter()
                    .any(|p| p.id == id && p.owner == Owner::Gdb && p.kind == kind)
        });
        match found {
            Some(i) => {
                let (id, _) = self.points.remove(i);
                self.dbg.delete_point(id);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Removes every point gdb set (it is gone).
    fn forget_points(&mut self) {
        for (id, _) in self.points.drain(..) {
            self.dbg.delete_point(id);
        }
    }

    /// What gdb is told about a stop.
    fn stop_reason(&mut self, r: &StopReason) -> SingleThreadStopReason<u32> {
        match r {
            StopReason::Stepped => SingleThreadStopReason::DoneStep,
            StopReason::Point { id, .. } => match self.points.iter().find(|p| p.0 == *id) {
                Some((_, GdbPoint::Sw)) => SingleThreadStopReason::SwBreak(()),
                Some((_, GdbPoint::Hw)) => SingleThreadStopReason::HwBreak(()),
                Some(&(_, GdbPoint::Watch(kind, addr))) => SingleThreadStopReason::Watch {
                    tid: (),
                    kind,
                    addr,
                },
                // One of the user's points (set through `monitor`): say which on the console.
                None => {
                    eprintln!("glassbox: stopped: {r}");
                    SingleThreadStopReason::Signal(Signal::SIGTRAP)
                }
            },
            StopReason::Interrupted => SingleThreadStopReason::Signal(Signal::SIGINT),
            StopReason::Magic | StopReason::TripleFault => {
                eprintln!("glassbox: stopped: {r}");
                SingleThreadStopReason::Signal(Signal::SIGTRAP)
            }
            StopReason::Machine(_) | StopReason::Limit => {
                self.finished = Some(r.clone());
                final_stop(r)
            }
        }
    }
}

/// How a final stop looks to gdb: an exit with the process status `glassbox run` would
/// give, or a signal for a stop that is not the guest's doing.
fn final_stop(r: &StopReason) -> SingleThreadStopReason<u32> {
    match r {
        StopReason::Machine(Stop::Exit(v)) => SingleThreadStopReason::Exited(((v << 1) | 1) as u8),
        StopReason::Machine(Stop::Unsupported(_)) => {
            SingleThreadStopReason::Terminated(Signal::SIGILL)
        }
        StopReason::Machine(Stop::InstructionLimit) | StopReason::Limit => {
            SingleThreadStopReason::Terminated(Signal::SIGXCPU)
        }
        _ => SingleThreadStopReason::Exited(0),
    }
}

impl Target for GdbTarget<'_> {
    type Arch = X86;
    type Error = &'static str;

    #[inline(always)]
    fn base_ops(&mut self) -> BaseOps<'_, X86, &'static str> {
        BaseOps::SingleThread(self)
    }

    #[inline(always)]
    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    #[inline(always)]
    fn support_monitor_cmd(&mut self) -> Option<MonitorCmdOps<'_, Self>> {
        Some(self)
    }

    #[inline(always)]
    fn support_target_description_xml_override(
        &mut self,
    ) -> Option<TargetDescriptionXmlOverrideOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadBase for GdbTarget<'_> {
    fn read_registers(&mut self, regs: &mut X86Regs) -> TargetResult<(), Self> {
        *regs = X86Regs::of(self.pc);
        Ok(())
    }

    /// Writes the registers whose value changed, EIP last (it is relative to CS.base).
    fn write_registers(&mut self, regs: &X86Regs) -> TargetResult<(), Self> {
        let now = X86Regs::of(self.pc);
        let changed = (0..REGS.len()).filter(|&i| regs.vals[i] != now.vals[i]);
        let (pc, others): (Vec<usize>, Vec<usize>) = changed.partition(|&i| i == EIP);
        for i in others.into_iter().chain(pc) {
            REGS[i]
                .slot
                .write(self.pc, regs.vals[i])
                .map_err(|_| TargetError::NonFatal)?;
        }
        Ok(())
    }

    fn read_addrs(&mut self, start: u32, data: &mut [u8]) -> TargetResult<usize, Self> {
        for (i, b) in data.iter_mut().enumerate() {
            let Some(phys) = translate(self.pc, start.wrapping_add(i as u32)) else {
                return if i == 0 {
                    Err(TargetError::NonFatal)
                } else {
                    Ok(i)
                };
            };
            // Device memory reads as all ones: reading it could change the device.
            *b = self.pc.board.mem.read8(phys).unwrap_or(0xFF);
        }
        Ok(data.len())
    }

    fn write_addrs(&mut self, start: u32, data: &[u8]) -> TargetResult<(), Self> {
        for (i, &b) in data.iter().enumerate() {
            let phys =
                translate(self.pc, start.wrapping_add(i as u32)).ok_or(TargetError::NonFatal)?;
            self.pc
                .board
                .mem
                .write(phys, 1, b as u32)
                .map_err(|_| TargetError::NonFatal)?;
        }
        Ok(())
    }

    #[inline(always)]
    fn support_single_register_access(&mut self) -> Option<SingleRegisterAccessOps<'_, (), Self>> {
        Some(self)
    }

    #[inline(always)]
    fn support_resume(&mut self) -> Option<SingleThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl SingleRegisterAccess<()> for GdbTarget<'_> {
    fn read_register(
        &mut self,
        _tid: (),
        reg: X86RegId,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        let slot = REGS[reg.0].slot;
        let n = slot.size().min(buf.len());
        buf[..n].fill(0);
        if let Slot::Fpu(_) = slot {
            return Ok(n);
        }
        let v = slot.read(self.pc).to_le_bytes();
        buf[..n.min(4)].copy_from_slice(&v[..n.min(4)]);
        Ok(n)
    }

    fn write_register(&mut self, _tid: (), reg: X86RegId, val: &[u8]) -> TargetResult<(), Self> {
        let slot = REGS[reg.0].slot;
        if let Slot::Fpu(_) = slot {
            return Ok(());
        }
        let bytes: [u8; 4] = val.try_into().map_err(|_| TargetError::NonFatal)?;
        slot.write(self.pc, u32::from_le_bytes(bytes))
            .map_err(|_| TargetError::NonFatal)
    }
}

impl SingleThreadResume for GdbTarget<'_> {
    /// Continue. A signal gdb passes along has no meaning for the machine and is dropped.
    fn resume(&mut self, _signal: Option<Signal>) -> Result<(), &'static str> {
        self.dbg.start(self.pc, Resume::Continue);
        Ok(())
    }

    #[inline(always)]
    fn support_single_step(&mut self) -> Option<SingleThreadSingleStepOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadSingleStep for GdbTarget<'_> {
    fn step(&mut self, _signal: Option<Signal>) -> Result<(), &'static str> {
        self.dbg.start(self.pc, Resume::Step(1));
        Ok(())
    }
}

impl Breakpoints for GdbTarget<'_> {
    #[inline(always)]
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    #[inline(always)]
    fn support_hw_breakpoint(&mut self) -> Option<HwBreakpointOps<'_, Self>> {
        Some(self)
    }

    #[inline(always)]
    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

impl SwBreakpoint for GdbTarget<'_> {
    fn add_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        self.add(PointKind::Linear(addr), GdbPoint::Sw)
    }

    fn remove_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        self.remove(PointKind::Linear(addr), GdbPoint::Sw)
    }
}

impl HwBreakpoint for GdbTarget<'_> {
    fn add_hw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        self.add(PointKind::Linear(addr), GdbPoint::Hw)
    }

    fn remove_hw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        self.remove(PointKind::Linear(addr), GdbPoint::Hw)
    }
}

/// The debugger's watchpoint for gdb's `Z2`..`Z4`.
fn watch_kind(addr: u32, len: u32, kind: WatchKind) -> PointKind {
    PointKind::Watch {
        space: Space::Linear,
        addr,
        len: len.max(1),
        on: match kind {
            WatchKind::Write => Rw::Write,
            WatchKind::Read => Rw::Read,
            WatchKind::ReadWrite => Rw::Both,
        },
    }
}

impl HwWatchpoint for GdbTarget<'_> {
    fn add_hw_watchpoint(
        &mut self,
        addr: u32,
        len: u32,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        self.add(watch_kind(addr, len, kind), GdbPoint::Watch(kind, addr))
    }

    fn remove_hw_watchpoint(
        &mut self,
        addr: u32,
        len: u32,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        self.remove(watch_kind(addr, len, kind), GdbPoint::Watch(kind, addr))
    }
}

impl MonitorCmd for GdbTarget<'_> {
    fn handle_monitor_cmd(
        &mut self,
        cmd: &[u8],
        mut out: ConsoleOutput<'_>,
    ) -> Result<(), &'static str> {
        let line = String::from_utf8_lossy(cmd);
        let mut buf = Vec::new();
        if let Outcome::Quit = self.dbg.command_no_run(self.pc, &line, &mut buf) {
            buf.extend_from_slice(
                b"use gdb's `kill` to end the run, or `detach` to let it go on\n",
            );
        }
        out.write_raw(&buf);
        Ok(())
    }
}

impl TargetDescriptionXmlOverride for GdbTarget<'_> {
    fn target_description_xml(
        &self,
        annex: &[u8],
        offset: u64,
        length: usize,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        if annex != b"target.xml" {
            return Err(TargetError::NonFatal);
        }
        let xml = target_xml(!Mode::of(self.pc).code32());
        let xml = xml.as_bytes();
        let start = (offset as usize).min(xml.len());
        let n = length.min(buf.len()).min(xml.len() - start);
        buf[..n].copy_from_slice(&xml[start..start + n]);
        Ok(n)
    }
}

/// The blocking event loop: the machine runs in slices, with a look at the connection (for
/// gdb's interrupt) between them.
struct EventLoop<'a>(PhantomData<&'a mut ()>);

impl<'a> BlockingEventLoop for EventLoop<'a> {
    type Target = GdbTarget<'a>;
    type Connection = TcpStream;
    type StopReason = SingleThreadStopReason<u32>;

    fn wait_for_stop_reason(
        t: &mut GdbTarget<'a>,
        conn: &mut TcpStream,
    ) -> Result<Event<Self::StopReason>, WaitForStopReasonError<&'static str, io::Error>> {
        loop {
            if let Some(r) = t.dbg.run_for(t.pc, SLICE, &mut t.out) {
                t.pc.flush();
                let _ = t.out.flush();
                return Ok(Event::TargetStopped(t.stop_reason(&r)));
            }
            match conn.peek() {
                Ok(Some(_)) => {
                    let b = conn.read().map_err(WaitForStopReasonError::Connection)?;
                    return Ok(Event::IncomingData(b));
                }
                Ok(None) => {}
                Err(e) => return Err(WaitForStopReasonError::Connection(e)),
            }
        }
    }

    fn on_interrupt(
        t: &mut GdbTarget<'a>,
    ) -> Result<Option<SingleThreadStopReason<u32>>, &'static str> {
        // The machine only runs inside `wait_for_stop_reason`: it is stopped already.
        t.pc.flush();
        Ok(Some(SingleThreadStopReason::Signal(Signal::SIGINT)))
    }
}

// ----- serving -------------------------------------------------------------------------------

/// `[HOST:]PORT` to a socket address (host 127.0.0.1 by default).
fn parse_listen_addr(addr: &str) -> anyhow::Result<SocketAddr> {
    let bad = || format!("--gdb: `{addr}` is not [ADDR:]PORT (e.g. 1234 or 127.0.0.1:1234)");
    if let Ok(port) = addr.trim().parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if !addr.contains(':') {
        anyhow::bail!(bad());
    }
    addr.to_socket_addrs()
        .with_context(bad)?
        .next()
        .with_context(bad)
}

/// How a gdb session ended.
enum Session {
    /// The run is over: the machine stopped for good, or gdb killed it.
    Over(StopReason),
    /// gdb detached or went away; the machine may go on.
    Detached,
}

/// One gdb client, until it leaves or the machine stops for good.
fn session(pc: &mut Pc, dbg: &mut Debugger, conn: TcpStream) -> anyhow::Result<Session> {
    let mut t = GdbTarget {
        pc,
        dbg,
        out: io::stdout(),
        points: Vec::new(),
        finished: None,
    };
    let result = GdbStub::new(conn).run_blocking::<EventLoop<'_>>(&mut t);
    t.forget_points();
    let finished = t.finished.take();
    let r = match result {
        Ok(DisconnectReason::Kill) => {
            eprintln!("glassbox: gdb killed the run");
            Session::Over(StopReason::Interrupted)
        }
        Ok(_) if finished.is_some() => Session::Over(finished.unwrap_or(StopReason::Interrupted)),
        Ok(_) => {
            eprintln!("glassbox: gdb detached; the machine runs on");
            Session::Detached
        }
        Err(e) if e.is_target_error() => anyhow::bail!("gdb stub: {e}"),
        Err(e) => match finished {
            Some(f) => Session::Over(f),
            None => {
                eprintln!("glassbox: gdb connection lost ({e}); the machine runs on");
                Session::Detached
            }
        },
    };
    Ok(r)
}

/// What ended a run with no gdb attached.
enum Unattended {
    /// A client connected.
    Client(TcpStream),
    /// The machine stopped for good.
    Over(StopReason),
}

/// Runs the machine until a gdb client connects or the machine stops for good. Other stops
/// are reported and the run goes on: nobody is there to look.
fn run_until_client(
    pc: &mut Pc,
    dbg: &mut Debugger,
    listener: &TcpListener,
) -> anyhow::Result<Unattended> {
    listener.set_nonblocking(true)?;
    dbg.start(pc, Resume::Continue);
    let mut out = io::stdout();
    loop {
        match listener.accept() {
            Ok((conn, _)) => return Ok(Unattended::Client(conn)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e).context("--gdb: accepting a connection"),
        }
        match dbg.run_for(pc, SLICE, &mut out) {
            Some(r) if r.is_final() => return Ok(Unattended::Over(r)),
            Some(r) => {
                eprintln!("glassbox: {r} (no gdb attached: running on)");
                dbg.start(pc, Resume::Continue);
            }
            None => {}
        }
    }
}

/// Serves one GDB client on `addr` (`[HOST:]PORT`, host 127.0.0.1 by default). With `wait`,
/// the machine stays stopped before its first instruction until gdb connects; otherwise it
/// runs and gdb may attach at any time. Returns the reason the machine stopped for good.
pub fn serve(
    pc: &mut Pc,
    dbg: &mut Debugger,
    addr: &str,
    wait: bool,
) -> anyhow::Result<StopReason> {
    let at = parse_listen_addr(addr)?;
    let listener =
        TcpListener::bind(at).with_context(|| format!("--gdb: cannot listen on {at}"))?;
    let at = listener.local_addr()?;
    if wait {
        eprintln!("glassbox: waiting for gdb on {at}");
    } else {
        eprintln!("glassbox: running; gdb can attach on {at}");
    }
    let mut stopped = wait;
    loop {
        let conn = if stopped {
            listener.set_nonblocking(false)?;
            listener
                .accept()
                .context("--gdb: accepting a connection")?
                .0
        } else {
            match run_until_client(pc, dbg, &listener)? {
                Unattended::Client(conn) => conn,
                Unattended::Over(r) => {
                    pc.flush();
                    return Ok(r);
                }
            }
        };
        conn.set_nonblocking(false)?;
        match conn.peer_addr() {
            Ok(peer) => eprintln!("glassbox: gdb connected from {peer}"),
            Err(_) => eprintln!("glassbox: gdb connected"),
        }
        match session(pc, dbg, conn)? {
            Session::Over(r) => {
                pc.flush();
                return Ok(r);
            }
            Session::Detached => stopped = false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_file_matches_the_description() {
        let bytes: usize = REGS.iter().map(|d| d.slot.size()).sum();
        let mut n = 0;
        X86Regs::default().gdb_serialize(|_| n += 1);
        assert_eq!(n, bytes);
        let mut r = X86Regs::default();
        assert!(r.gdb_deserialize(&vec![0; bytes]).is_ok());
        assert!(r.gdb_deserialize(&vec![0; bytes + 1]).is_err());
        assert_eq!(REGS[EIP].name, "eip");
        assert_eq!(REGS[CORE_REGS - 1].name, "fop");
        let xml = target_xml(true);
        assert!(xml.contains("<architecture>i8086</architecture>"));
        assert_eq!(xml.matches("<reg ").count(), REGS.len());
        assert!(target_xml(false).contains("<architecture>i386</architecture>"));
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(
            parse_listen_addr("1234").unwrap(),
            "127.0.0.1:1234".parse().unwrap()
        );
        assert_eq!(
            parse_listen_addr("0.0.0.0:99").unwrap(),
            "0.0.0.0:99".parse().unwrap()
        );
        assert!(parse_listen_addr("nonsense").is_err());
        assert!(parse_listen_addr("99999").is_err());
    }
}
