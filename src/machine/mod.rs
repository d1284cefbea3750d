//! The PC: CPU, memory and devices, and the run loop that ties them to virtual time.
//!
//! [`Pc`] owns a [`Cpu`] and a [`Board`] (memory + device platform). The board is the CPU's
//! [`Bus`]: every memory access, port access and interrupt acknowledge goes through it.
//!
//! The run loop gives the CPU a cycle budget up to the next device deadline; when the CPU comes
//! back (budget used, I/O done, HLT), due device events run, requests from devices (exit,
//! shutdown, reset, A20) are acted on, and a halted CPU skips ahead to the next event.

mod assemble;
pub mod boot;
pub mod config;
#[cfg(all(feature = "kvm", target_os = "linux", target_arch = "x86_64"))]
mod kvm;
mod observe;

pub use assemble::{Boot, Drives};

pub use observe::{Access, AccessKind, Stepped};

use crate::accel::Backend;
use crate::cpu::{self, Bus, Cpu, CpuModel};
use crate::mem::{MemError, Memory, Mmio};
use glassbox_devices::bus::ResetKind;
use glassbox_devices::debugport::DebugSink;
use glassbox_devices::platform::{Platform, PlatformConfig};
use glassbox_devices::time::Cycles;
use std::time::{Duration, Instant};

/// How to build a machine.
#[derive(Debug)]
pub struct MachineConfig {
    /// CPU model.
    pub cpu: CpuModel,
    /// RAM size in bytes.
    pub memory: u64,
    /// CPU clock in Hz (virtual cycles per virtual second); the model's nominal clock if `None`.
    pub clock_hz: Option<u64>,
    /// Where port 0xE9 output goes.
    pub debugcon: DebugSink,
    /// Where COM1's output goes.
    pub serial: DebugSink,
    /// The real-time clock's time at power-on, in Unix seconds (by default
    /// 2000-01-01 00:00:00, so every run is the same run).
    pub rtc_start: u64,
}

/// 2000-01-01 00:00:00 UTC in Unix seconds: the RTC's default power-on time.
pub const DEFAULT_RTC_START: u64 = 946_684_800;

impl Default for MachineConfig {
    fn default() -> Self {
        MachineConfig {
            cpu: CpuModel::I486,
            memory: 16 << 20,
            clock_hz: None,
            debugcon: DebugSink::None,
            serial: DebugSink::None,
            rtc_start: DEFAULT_RTC_START,
        }
    }
}

/// A device that answers an MMIO window.
pub trait MmioHandler {
    /// Reads `size` bytes at `offset` in the window.
    fn read(&mut self, offset: u32, size: u8) -> u32;
    /// Writes `size` bytes at `offset` in the window.
    fn write(&mut self, offset: u32, size: u8, value: u32);
}

/// MMIO window 0 is the VGA memory (0xA0000–0xBFFFF), served by the platform's adapter;
/// windows added with [`Pc::add_mmio`] follow it.
const VGA_WINDOW: usize = 0;

/// Memory and devices: what the CPU sees through [`Bus`].
pub struct Board {
    /// Physical memory.
    pub mem: Memory,
    /// Port-mapped devices, scheduler and IRQ lines.
    pub platform: Platform,
    mmio: Vec<Box<dyn MmioHandler>>,
    /// Set when a device raised a request (exit, shutdown, reset, A20) during the last access.
    signalled: bool,
    /// The PIC's INTR output, refreshed whenever device state can change (port access, device
    /// events, acknowledge): the CPU polls it before every instruction.
    intr: bool,
    /// The firmware interface of direct kernel boot (see [`boot`]).
    fw: boot::FirmwarePort,
}

impl Board {
    /// Runs due device events and refreshes the cached interrupt line.
    fn run_due_events(&mut self, now: u64) {
        self.platform.run_due_events(Cycles(now), &mut self.mem);
        self.after_device_activity();
    }

    #[inline]
    fn after_device_activity(&mut self) {
        self.signalled |= self.platform.signals.any();
        self.intr = self.platform.interrupt_pending();
    }

    #[cold]
    fn mmio_read(&mut self, m: Mmio, size: u8) -> u32 {
        if m.region == VGA_WINDOW {
            let vga = &mut self.platform.vga;
            return (0..size as u32).fold(0, |v, k| {
                v | (vga.mem_read(0xA0000 + m.offset + k) as u32) << (8 * k)
            });
        }
        match self.mmio.get_mut(m.region - 1) {
            Some(h) => h.read(m.offset, size),
            None => u32::MAX,
        }
    }

    #[cold]
    fn mmio_write(&mut self, m: Mmio, size: u8, v: u32) {
        if m.region == VGA_WINDOW {
            for k in 0..size as u32 {
                self.platform
                    .vga
                    .mem_write(0xA0000 + m.offset + k, (v >> (8 * k)) as u8);
            }
            return;
        }
        if let Some(h) = self.mmio.get_mut(m.region - 1) {
            h.write(m.offset, size, v);
        }
    }
}

impl Bus for Board {
    const TRACE_ID: u8 = 1;
    #[inline(always)]
    fn read8(&mut self, addr: u32) -> u8 {
        match self.mem.read8(addr) {
            Ok(v) => v,
            Err(m) => self.mmio_read(m, 1) as u8,
        }
    }
    #[inline(always)]
    fn read16(&mut self, addr: u32) -> u16 {
        match self.mem.read16(addr) {
            Ok(v) => v,
            Err(m) => self.mmio_read(m, 2) as u16,
        }
    }
    #[inline(always)]
    fn read32(&mut self, addr: u32) -> u32 {
        match self.mem.read32(addr) {
            Ok(v) => v,
            Err(m) => self.mmio_read(m, 4),
        }
    }
    #[inline(always)]
    fn write8(&mut self, addr: u32, v: u8) {
        if let Err(m) = self.mem.write(addr, 1, v as u32) {
            self.mmio_write(m, 1, v as u32);
        }
    }
    #[inline(always)]
    fn write16(&mut self, addr: u32, v: u16) {
        if let Err(m) = self.mem.write(addr, 2, v as u32) {
            self.mmio_write(m, 2, v as u32);
        }
    }
    #[inline(always)]
    fn write32(&mut self, addr: u32, v: u32) {
        if let Err(m) = self.mem.write(addr, 4, v) {
            self.mmio_write(m, 4, v);
        }
    }
    #[inline(always)]
    fn code_window(&mut self, addr: u32) -> &[u8] {
        self.mem.code_window(addr)
    }
    #[inline(always)]
    fn code_epoch(&self, addr: u32) -> Option<u32> {
        Some(self.mem.code_epoch(addr))
    }
    #[inline]
    fn mark_code(&mut self, addr: u32, len: u32) {
        self.mem.mark_code(addr, len);
    }
    #[inline(always)]
    fn code_stamp(&self) -> u32 {
        self.mem.code_stamp()
    }
    #[inline]
    fn direct_page(&mut self, addr: u32) -> Option<(*mut u8, bool)> {
        self.mem.direct_page(addr)
    }
    #[inline(always)]
    fn direct_generation(&self) -> u64 {
        self.mem.direct_generation()
    }
    fn io_read(&mut self, port: u16, size: u8, now: u64) -> u32 {
        if port == boot::FW_PORT {
            return self.fw.read(size);
        }
        let v = self
            .platform
            .io_read(port, size, Cycles(now), &mut self.mem);
        self.after_device_activity();
        v
    }
    fn io_write(&mut self, port: u16, size: u8, value: u32, now: u64) {
        if port == boot::FW_PORT {
            self.signalled |= self.fw.write(size, value);
            return;
        }
        if port == FPU_ERROR_CLEAR {
            // The AT's coprocessor error latch: any write to port 0xF0 drops IRQ 13.
            self.fpu_error(false);
            return;
        }
        self.platform
            .io_write(port, size, value, Cycles(now), &mut self.mem);
        self.after_device_activity();
    }
    #[inline(always)]
    fn interrupt_pending(&self) -> bool {
        self.intr
    }
    fn acknowledge_interrupt(&mut self, now: u64) -> u8 {
        let v = self.platform.acknowledge_interrupt(Cycles(now));
        self.after_device_activity();
        v
    }
    fn fpu_error(&mut self, asserted: bool) {
        self.platform.irq.set(FPU_IRQ, asserted);
        self.platform.pic.sync_inputs(&mut self.platform.irq);
        self.after_device_activity();
    }
}

/// The IRQ line of the FPU's FERR# output on the PC/AT (slave 8259, input 5).
const FPU_IRQ: u8 = 13;
/// Writing any value to this port clears the AT's coprocessor error latch (drops IRQ 13).
const FPU_ERROR_CLEAR: u16 = 0xF0;

/// Why [`Pc::run`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The guest wrote `value` to the exit port 0xF4 (process status `(value << 1) | 1`).
    Exit(u32),
    /// The guest wrote "Shutdown" to the Bochs port 0x8900.
    Shutdown,
    /// The instruction limit was reached.
    InstructionLimit,
    /// The slice of virtual time given to [`Pc::run_until`] is over (the machine goes on).
    Slice,
    /// The CPU halted with nothing left that could wake it (interrupts off or no timer).
    Halted,
    /// The guest used something not emulated yet (or the back end failed: see
    /// [`Pc::accel_error`]).
    Unsupported(&'static str),
    /// Under KVM: a port access matching [`Pc::kvm_io_watch`] completed (the CPU is after the
    /// instruction).
    IoAccess(Access),
    /// Under KVM: the CPU reached one of [`Pc::kvm_breakpoints`] (a linear address).
    Breakpoint(u32),
}

/// Limits for a run.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunLimits {
    /// Stop after this many instructions in total.
    pub max_instructions: Option<u64>,
}

/// Execution statistics.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    /// Instructions retired.
    pub instructions: u64,
    /// Virtual cycles elapsed.
    pub cycles: u64,
    /// Host time spent in [`Pc::run`].
    pub wall: Duration,
    /// Machine resets (triple faults, reset requests) so far.
    pub resets: u64,
}

impl Stats {
    /// Guest instructions per host microsecond.
    pub fn mips(&self) -> f64 {
        let s = self.wall.as_secs_f64();
        if s > 0.0 {
            self.instructions as f64 / s / 1e6
        } else {
            0.0
        }
    }
}

/// Errors building a machine.
#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    /// Memory set-up failed.
    #[error(transparent)]
    Memory(#[from] MemError),
    /// A disk image could not be used.
    #[error(transparent)]
    Disk(#[from] glassbox_devices::disk::DiskError),
}

/// A whole PC.
pub struct Pc {
    /// The CPU.
    pub cpu: Cpu,
    /// Memory and devices.
    pub board: Board,
    clock_hz: u64,
    wall: Duration,
    resets: u64,
    /// Under KVM: ports whose accesses stop the run ([`Stop::IoAccess`]).
    pub kvm_io_watch: Vec<IoWatch>,
    /// Under KVM: linear addresses that stop the run ([`Stop::Breakpoint`]); at most four
    /// (the CPU's debug registers).
    pub kvm_breakpoints: Vec<u32>,
    /// The KVM machine, kept while the interpreter runs (it holds the state the interpreter
    /// does not model, such as x87/SSE registers and MSRs, for the way back).
    #[cfg(all(feature = "kvm", target_os = "linux", target_arch = "x86_64"))]
    kvm: Option<Box<kvm::KvmBackend>>,
    /// The machine runs on KVM (else on the interpreter).
    on_kvm: bool,
    accel_error: Option<String>,
    /// The kernel our BIOS boots instead of a disk (`--kernel`).
    direct_boot: Option<Box<boot::DirectBoot>>,
    boot_error: Option<String>,
}

/// A port range the KVM loop stops after (the debugger's I/O breakpoints).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoWatch {
    /// First port.
    pub first: u16,
    /// Last port.
    pub last: u16,
    /// Stop after `IN`s.
    pub reads: bool,
    /// Stop after `OUT`s.
    pub writes: bool,
}

impl IoWatch {
    /// Whether the port access `a` falls in the range with a watched direction.
    pub fn matches(&self, a: &Access) -> bool {
        let hi = (a.addr as u16).wrapping_add(a.size as u16 - 1);
        let kind_ok = match a.kind {
            AccessKind::In => self.reads,
            AccessKind::Out => self.writes,
            _ => false,
        };
        kind_ok && (a.addr as u16) <= self.last && hi >= self.first
    }
}

impl Pc {
    /// Builds a powered-on machine (no firmware loaded yet).
    pub fn new(cfg: MachineConfig) -> Result<Pc, MachineError> {
        let clock_hz = cfg.clock_hz.unwrap_or_else(|| cfg.cpu.default_clock_hz());
        let mut mem = Memory::new(cfg.memory)?;
        let vga = mem.add_mmio(0xA0000, 0x20000)?;
        debug_assert_eq!(vga, VGA_WINDOW);
        let platform = Platform::new(PlatformConfig {
            debugcon: cfg.debugcon,
            cycles_per_second: clock_hz,
            serial: cfg.serial,
            rtc_start: cfg.rtc_start,
        });
        let mut pc = Pc {
            cpu: Cpu::new(cfg.cpu),
            board: Board {
                mem,
                platform,
                mmio: Vec::new(),
                signalled: false,
                intr: false,
                fw: boot::FirmwarePort::default(),
            },
            clock_hz,
            wall: Duration::ZERO,
            resets: 0,
            kvm_io_watch: Vec::new(),
            kvm_breakpoints: Vec::new(),
            #[cfg(all(feature = "kvm", target_os = "linux", target_arch = "x86_64"))]
            kvm: None,
            on_kvm: false,
            accel_error: None,
            direct_boot: None,
            boot_error: None,
        };
        pc.apply_a20();
        Ok(pc)
    }

    /// Maps a firmware image (BIOS) at the top of the first MiB and below 4 GiB.
    pub fn load_bios(&mut self, image: &[u8]) -> Result<(), MachineError> {
        self.board.mem.load_rom(image)?;
        if self.cpu.model == CpuModel::I286 {
            self.board.mem.alias_rom_at_16m();
        }
        Ok(())
    }

    /// Copies a raw image into RAM at a physical address.
    pub fn load_image(&mut self, addr: u32, data: &[u8]) -> Result<(), MachineError> {
        Ok(self.board.mem.load(addr, data)?)
    }

    /// Starts execution at `seg:off` in real mode (for raw images).
    pub fn set_entry(&mut self, seg: u16, off: u16) {
        self.cpu.load_seg_real(cpu::decode::seg::CS, seg);
        self.cpu.eip = off as u32;
    }

    /// Registers an MMIO window served by `handler`.
    pub fn add_mmio(
        &mut self,
        start: u32,
        len: u32,
        handler: Box<dyn MmioHandler>,
    ) -> Result<(), MachineError> {
        let idx = self.board.mem.add_mmio(start, len)?;
        debug_assert_eq!(idx, self.board.mmio.len() + 1);
        self.board.mmio.push(handler);
        Ok(())
    }

    /// The CPU clock in Hz.
    pub fn clock_hz(&self) -> u64 {
        self.clock_hz
    }

    /// Execution statistics so far.
    pub fn stats(&self) -> Stats {
        Stats {
            instructions: self.cpu.instructions,
            cycles: self.cpu.cycles,
            wall: self.wall,
            resets: self.resets,
        }
    }

    /// What the guest wrote to the 0xE9 console (when its sink is `Buffer`).
    pub fn debug_output(&self) -> &[u8] {
        self.board.platform.debugcon.output()
    }

    /// The VGA text screen, when the adapter is in a text mode.
    pub fn text_screen(&self) -> Option<glassbox_devices::vga::TextScreen> {
        self.board.platform.vga.text_screen()
    }

    /// Renders the VGA picture into `frame` (0x00RRGGBB); returns its width and height.
    /// Blinking text and the cursor follow the virtual clock (about 1.9 Hz).
    pub fn render(&self, frame: &mut Vec<u32>) -> (usize, usize) {
        let blink_period = (self.clock_hz / 2).max(1) * 16 / 30;
        let blink_on = (self.cpu.cycles / blink_period).is_multiple_of(2);
        self.board.platform.vga.render(frame, blink_on)
    }

    /// A key went down (`pressed`) or up now.
    pub fn key_event(&mut self, key: glassbox_devices::i8042::Key, pressed: bool) {
        self.board
            .platform
            .key_event(key, pressed, Cycles(self.cpu.cycles));
        self.board.after_device_activity();
    }

    /// The mouse moved by (`dx`, `dy`) (right and down positive) with `buttons` held
    /// (bit 0 left, 1 right, 2 middle).
    pub fn mouse_event(&mut self, dx: i32, dy: i32, buttons: u8) {
        self.board
            .platform
            .mouse_event(dx, dy, buttons, Cycles(self.cpu.cycles));
        self.board.after_device_activity();
    }

    /// Whether the keyboard has delivered every byte it was given (scripted typing waits
    /// for this before the next key).
    pub fn keyboard_idle(&self) -> bool {
        self.board.platform.kbc.input_idle()
    }

    /// Whether `text` is in the recent output of COM1 or of the 0xE9 console.
    pub fn serial_output_contains(&self, text: &str) -> bool {
        let p = &self.board.platform;
        [p.com[0].tail(), p.debugcon.tail()]
            .iter()
            .any(|t| String::from_utf8_lossy(t).contains(text))
    }

    /// What COM1 transmitted, when its sink is a buffer.
    pub fn serial_output(&self) -> &[u8] {
        self.board.platform.com[0].output()
    }

    /// Flushes buffered device output (the debug console).
    pub fn flush(&mut self) {
        self.board.platform.flush();
    }

    /// The A20 line: the 8086/186 have no address line 20 at all; later models start with it
    /// enabled, as the keyboard controller's output port does at power-on.
    fn apply_a20(&mut self) {
        self.board.mem.set_a20(true);
    }

    /// Resets the whole machine like the RESET line (triple fault, port 0x92, 8042 pulse).
    pub fn reset(&mut self) {
        self.cpu.reset();
        self.board.platform.reset(ResetKind::Hard);
        self.board.after_device_activity();
        self.board.signalled = false;
        self.apply_a20();
        self.resets += 1;
    }

    /// Acts on what devices asked for during the last accesses.
    fn handle_signals(&mut self) -> Option<Stop> {
        if !std::mem::take(&mut self.board.signalled) {
            return None;
        }
        if let Some(map) = self.board.fw.request.take() {
            if let Some(stop) = self.enter_kernel(map) {
                return Some(stop);
            }
        }
        let s = self.board.platform.signals.take();
        if let Some(on) = s.a20 {
            self.board.mem.set_a20(on);
        }
        if let Some(v) = s.exit {
            return Some(Stop::Exit(v));
        }
        if s.shutdown {
            return Some(Stop::Shutdown);
        }
        if s.reset {
            self.reset();
        }
        None
    }

    /// The CPU is halted: virtual time skips to the next device event, or the run stops when
    /// nothing can wake the CPU.
    /// Time never skips past `end` (the end of the caller's slice, where input may arrive).
    fn wait_halted(&mut self, end: u64) -> Option<Stop> {
        if let Some(stop) = self.handle_signals() {
            return Some(stop);
        }
        let next = self.board.platform.next_deadline().0;
        let wakeable = self.cpu.flags.if_() && next != u64::MAX;
        if !wakeable && !self.board.intr {
            return Some(Stop::Halted);
        }
        let next = next.min(end);
        if next != u64::MAX {
            self.cpu.cycles = self.cpu.cycles.max(next);
        }
        None
    }

    /// A triple fault: the machine resets like hardware.
    fn triple_fault_reset(&mut self) {
        log::warn!(
            "triple fault at cycle {}: resetting the machine",
            self.cpu.cycles
        );
        self.reset();
    }

    /// Runs until the guest exits, shuts down, halts for good, or a limit is reached.
    pub fn run(&mut self, limits: RunLimits) -> Stop {
        self.run_until(u64::MAX, limits)
    }

    /// Runs like [`Pc::run`] until the cycle counter reaches `cycle` at the latest
    /// ([`Stop::Slice`]): front ends run the machine in slices of virtual time and look at
    /// the screen and their input between slices. Slicing never changes what the guest does.
    pub fn run_until(&mut self, cycle: u64, limits: RunLimits) -> Stop {
        let started = Instant::now();
        let stop = self.run_inner(cycle, limits);
        self.wall += started.elapsed();
        self.flush();
        stop
    }

    /// The back end the machine runs on.
    pub fn backend(&self) -> Backend {
        if self.on_kvm {
            Backend::Kvm
        } else {
            Backend::Interp
        }
    }

    /// Moves the machine to another back end, at the instruction boundary where it stands,
    /// with its whole CPU state. `Err` says why KVM cannot be used (the machine then stays
    /// where it was).
    pub fn set_backend(&mut self, to: Backend) -> Result<(), String> {
        match to {
            Backend::Interp => {
                // Between slices the CPU state is already the machine's. KVM keeps what the
                // interpreter does not model until the machine comes back.
                self.on_kvm = false;
                Ok(())
            }
            Backend::Kvm => {
                #[cfg(all(feature = "kvm", target_os = "linux", target_arch = "x86_64"))]
                {
                    if self.kvm.is_none() {
                        crate::accel::kvm_usable()?;
                        let k = kvm::KvmBackend::new(self.cpu.model).map_err(|e| e.to_string())?;
                        self.kvm = Some(Box::new(k));
                    }
                    self.on_kvm = true;
                    Ok(())
                }
                #[cfg(not(all(feature = "kvm", target_os = "linux", target_arch = "x86_64")))]
                {
                    crate::accel::kvm_usable()
                }
            }
        }
    }

    /// The error that ended the last run on a hardware back end ([`Stop::Unsupported`]).
    pub fn accel_error(&self) -> Option<&str> {
        self.accel_error.as_deref()
    }

    fn run_inner(&mut self, end: u64, limits: RunLimits) -> Stop {
        #[cfg(all(feature = "kvm", target_os = "linux", target_arch = "x86_64"))]
        if self.on_kvm {
            // KVM cannot count instructions: limits apply to the interpreter only.
            let _ = limits;
            return self.run_kvm(end);
        }
        loop {
            let now = self.cpu.cycles;
            self.board.run_due_events(now);
            if let Some(stop) = self.handle_signals() {
                return stop;
            }
            if now >= end {
                return Stop::Slice;
            }
            let mut until = self.board.platform.next_deadline().0.min(end);
            if let Some(max) = limits.max_instructions {
                let done = self.cpu.instructions;
                if done >= max {
                    return Stop::InstructionLimit;
                }
                // Every instruction costs at least one cycle.
                until = until.min(now.saturating_add(max - done));
            }
            match self.cpu.run(&mut self.board, until) {
                cpu::Exit::Budget | cpu::Exit::Attention => {}
                cpu::Exit::Halted => {
                    if let Some(stop) = self.wait_halted(end) {
                        return stop;
                    }
                }
                cpu::Exit::TripleFault => self.triple_fault_reset(),
                cpu::Exit::Unsupported(what) => return Stop::Unsupported(what),
            }
        }
    }
}
