//! The machine's run loop on KVM: the same devices, the same bus, the host CPU executing.
//!
//! Between slices the [`Cpu`](crate::cpu::Cpu) in [`Pc`] holds the machine's CPU state, as it
//! does under the interpreter: a slice loads it into KVM (only when it changed since KVM last
//! saw it) and saves it back at the end, so the debugger, the GDB stub and a switch of back
//! end all see one CPU.
//!
//! Time is the host's: cycles are host nanoseconds scaled by the CPU clock, counted from where
//! the virtual clock stood when the slice began. Device deadlines become host instants; a
//! timer kicks the guest out when one comes, and HLT sleeps until it.

use super::{Access, AccessKind, Board, Pc, Stop};
use crate::accel::kvm::{ExitHandler, KvmCpu, KvmError, RunExit};
use crate::cpu::{self, Bus, Cpu, Segment, TableReg};
use std::time::{Duration, Instant};

/// The KVM back end of one machine.
pub(super) struct KvmBackend {
    cpu: KvmCpu,
    /// The state KVM holds, as last loaded or saved: a slice loads the machine's state only
    /// when it differs.
    synced: Option<ArchKey>,
    /// The guest is halted (HLT executed, no interrupt taken yet).
    halted: bool,
    /// Breakpoint addresses given to KVM's guest debugging.
    breakpoints: Vec<u32>,
    /// The guest's interrupt flag as of the last load or exit.
    if_flag: bool,
}

impl KvmBackend {
    /// A KVM machine whose CPU identifies itself as `model`.
    pub(super) fn new(model: crate::cpu::CpuModel) -> Result<KvmBackend, KvmError> {
        let mut cpu = KvmCpu::new()?;
        cpu.set_model(model)?;
        Ok(KvmBackend {
            cpu,
            synced: None,
            halted: false,
            breakpoints: Vec::new(),
            if_flag: false,
        })
    }
}

/// The architectural state compared to decide whether KVM's copy is current.
#[derive(Clone, PartialEq, Eq)]
struct ArchKey {
    regs: [u32; 8],
    eip: u32,
    flags: u32,
    segs: [Segment; 6],
    cr: [u32; 5],
    dr: [u32; 8],
    tables: [TableReg; 2],
    ldtr: Segment,
    tr: Segment,
    shadow: bool,
    halted: bool,
}

impl ArchKey {
    fn of(cpu: &Cpu) -> ArchKey {
        let mut regs = [0; 8];
        regs.copy_from_slice(&cpu.regs[..8]);
        ArchKey {
            regs,
            eip: cpu.eip,
            flags: cpu.flags.get(),
            segs: cpu.segs,
            cr: cpu.cr,
            dr: cpu.dr,
            tables: [cpu.gdtr, cpu.idtr],
            ldtr: cpu.ldtr,
            tr: cpu.tr,
            shadow: cpu.interrupt_shadow(),
            halted: cpu.halted,
        }
    }
}

/// Port and MMIO exits, served by the board at the current cycle.
struct Exits<'a> {
    board: &'a mut Board,
    now: u64,
    /// The last port access (for I/O breakpoints).
    last_io: Option<Access>,
}

impl ExitHandler for Exits<'_> {
    fn io_read(&mut self, port: u16, size: u8) -> u32 {
        let value = self.board.io_read(port, size, self.now);
        self.last_io = Some(Access {
            kind: AccessKind::In,
            addr: port as u32,
            size,
            value,
        });
        value
    }
    fn io_write(&mut self, port: u16, size: u8, value: u32) {
        self.board.io_write(port, size, value, self.now);
        self.last_io = Some(Access {
            kind: AccessKind::Out,
            addr: port as u32,
            size,
            value,
        });
    }
    fn mem_read(&mut self, addr: u64, data: &mut [u8]) {
        let a = addr as u32;
        match data.len() {
            2 => data.copy_from_slice(&self.board.read16(a).to_le_bytes()),
            4 => data.copy_from_slice(&self.board.read32(a).to_le_bytes()),
            _ => {
                for (i, b) in data.iter_mut().enumerate() {
                    *b = self.board.read8(a.wrapping_add(i as u32));
                }
            }
        }
    }
    fn mem_write(&mut self, addr: u64, data: &[u8]) {
        let a = addr as u32;
        match *data {
            [x, y] => self.board.write16(a, u16::from_le_bytes([x, y])),
            [x, y, z, w] => self.board.write32(a, u32::from_le_bytes([x, y, z, w])),
            _ => {
                for (i, &b) in data.iter().enumerate() {
                    self.board.write8(a.wrapping_add(i as u32), b);
                }
            }
        }
    }
}

impl Pc {
    /// One slice on KVM (see the module docs).
    pub(super) fn run_kvm(&mut self, end: u64) -> Stop {
        let Some(mut k) = self.kvm.take() else {
            return Stop::Unsupported("KVM back end missing");
        };
        let stop = match self.kvm_slice(&mut k, end) {
            Ok(stop) => stop,
            Err(e) => {
                log::error!("{e}");
                self.accel_error = Some(e.to_string());
                Stop::Unsupported("a KVM failure")
            }
        };
        // Whatever happened, the machine's CPU holds the state again.
        if let Err(e) = self.kvm_save(&mut k) {
            log::error!("{e}");
            self.accel_error = Some(e.to_string());
        }
        // The guest wrote RAM behind the interpreter's decode cache.
        self.board.mem.invalidate_all_code();
        self.kvm = Some(k);
        stop
    }

    fn kvm_load(&mut self, k: &mut KvmBackend) -> Result<(), KvmError> {
        let key = ArchKey::of(&self.cpu);
        if k.synced.as_ref() != Some(&key) {
            k.cpu.set_state(&self.cpu)?;
            k.halted = self.cpu.halted;
            k.if_flag = self.cpu.flags.if_();
            k.synced = Some(key);
        }
        Ok(())
    }

    fn kvm_save(&mut self, k: &mut KvmBackend) -> Result<(), KvmError> {
        let cycles = self.cpu.cycles;
        let injected = k.cpu.get_state(&mut self.cpu)?;
        self.cpu.cycles = cycles;
        self.cpu.halted = k.halted;
        match injected {
            // Acknowledged from the PIC and queued, but the guest never ran to take it: the
            // interpreter delivers it, and KVM gets the result at the next load.
            Some(v) => {
                self.cpu.deliver_external(&mut self.board, v);
                k.synced = None;
            }
            None => k.synced = Some(ArchKey::of(&self.cpu)),
        }
        Ok(())
    }

    fn kvm_slice(&mut self, k: &mut KvmBackend, end: u64) -> Result<Stop, KvmError> {
        self.kvm_load(k)?;
        let want: Vec<u32> = self.kvm_breakpoints.clone();
        if want != k.breakpoints {
            k.cpu.set_breakpoints(&want)?;
            k.breakpoints = want;
        }
        let start = (Instant::now(), self.cpu.cycles);
        let hz = self.clock_hz.max(1) as u128;
        let cycles_now = || start.1 + (start.0.elapsed().as_nanos() * hz / 1_000_000_000) as u64;
        let instant_of = |c: u64| {
            // Far deadlines (none at all is u64::MAX) are capped at an hour: the loop just
            // comes round again.
            let ns =
                (c.saturating_sub(start.1) as u128 * 1_000_000_000 / hz).min(3_600_000_000_000);
            start.0 + Duration::from_nanos(ns as u64)
        };
        // After a load the run structure's "can inject" fields are stale: ask for a window.
        let mut fresh = true;
        // An interrupt was injected and no exit but a kick came since: it may still be queued
        // (KVM takes one at a time).
        let mut queued = false;
        loop {
            let now = cycles_now().max(self.cpu.cycles);
            self.cpu.cycles = now;
            self.board.run_due_events(now);
            let resets = self.resets;
            // A direct kernel boot sets the CPU state: take KVM's first, give it back after.
            let entering = self.board.fw.request.is_some();
            if entering {
                k.cpu.complete_pending()?;
                self.kvm_save(k)?;
            }
            if let Some(stop) = self.handle_signals() {
                return Ok(stop);
            }
            if self.resets != resets || entering {
                k.halted = false;
                k.synced = None;
                self.kvm_load(k)?;
                fresh = true;
            }
            if now >= end {
                return Ok(Stop::Slice);
            }
            k.cpu.map_memory(&self.board.mem)?;
            let deadline = self.board.platform.next_deadline().0.min(end);
            if k.halted {
                if self.board.intr && k.if_flag {
                    k.halted = false;
                } else {
                    // As in the interpreter: with interrupts off, or no device event ever
                    // due, nothing can wake the CPU.
                    let next = self.board.platform.next_deadline().0;
                    if !(self.board.intr || k.if_flag && next != u64::MAX) {
                        return Ok(Stop::Halted);
                    }
                    let wake = instant_of(deadline);
                    std::thread::sleep(wake.saturating_duration_since(Instant::now()));
                    continue;
                }
            }
            if self.board.intr {
                if !fresh && !queued && k.cpu.can_inject() {
                    let v = self.board.acknowledge_interrupt(now);
                    k.cpu.inject(v)?;
                    queued = true;
                    k.cpu.request_interrupt_window(false);
                } else {
                    k.cpu.request_interrupt_window(true);
                }
            } else {
                k.cpu.request_interrupt_window(false);
            }
            let mut exits = Exits {
                board: &mut self.board,
                now,
                last_io: None,
            };
            let exit = k.cpu.run(&mut exits, Some(instant_of(deadline)))?;
            let last_io = exits.last_io;
            k.if_flag = k.cpu.interrupt_flag();
            k.synced = None;
            fresh = false;
            queued &= exit == RunExit::Interrupted;
            match exit {
                RunExit::Io { .. } => {
                    if let Some(a) = last_io {
                        if self.kvm_io_watch.iter().any(|w| w.matches(&a)) {
                            k.cpu.complete_pending()?;
                            return Ok(Stop::IoAccess(a));
                        }
                    }
                }
                RunExit::Mmio | RunExit::InterruptWindow | RunExit::Interrupted => {}
                RunExit::Halt => k.halted = true,
                RunExit::Shutdown => {
                    self.triple_fault_reset();
                    k.halted = false;
                    k.synced = None;
                    self.kvm_load(k)?;
                    fresh = true;
                }
                RunExit::Debug { pc } => return Ok(Stop::Breakpoint(pc as u32)),
                RunExit::Unemulated => {
                    // The interpreter executes that one instruction; KVM goes on after it.
                    self.kvm_save(k)?;
                    self.cpu.halted = false;
                    let until = self.cpu.cycles.saturating_add(1);
                    match self.cpu.step_once(&mut self.board, until) {
                        cpu::Exit::Unsupported(what) => return Ok(Stop::Unsupported(what)),
                        cpu::Exit::TripleFault => self.triple_fault_reset(),
                        cpu::Exit::Halted => k.halted = true,
                        cpu::Exit::Budget | cpu::Exit::Attention => {}
                    }
                    k.halted = self.cpu.halted;
                    self.board.mem.invalidate_all_code();
                    self.kvm_load(k)?;
                    fresh = true;
                }
            }
        }
    }
}
