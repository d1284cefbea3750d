//! Watching the machine one step at a time: the bus the debugger and the tracer run the CPU on.
//!
//! [`Observed`] wraps the [`Board`] and records every data access the CPU makes — memory reads
//! and writes with their physical address, port reads and writes with the device that answered
//! — into an [`Access`] list, then forwards it unchanged. Instruction fetches are not recorded
//! (they go through `code_window`). Plain runs use the board directly and pay nothing.

use super::{Board, Pc, Stop};
use crate::cpu::{self, Bus};
use glassbox_devices::bus::DevId;

/// Which way an access went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessKind {
    /// Memory read.
    Read,
    /// Memory write.
    Write,
    /// Port read (`IN`, `INS`).
    In,
    /// Port write (`OUT`, `OUTS`).
    Out,
}

/// One data access made by the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// Read, write, in or out.
    pub kind: AccessKind,
    /// Physical address, or the port number.
    pub addr: u32,
    /// Bytes: 1, 2 or 4.
    pub size: u8,
    /// The value read or written.
    pub value: u32,
}

impl Access {
    /// Whether this is a port access.
    pub fn is_io(&self) -> bool {
        matches!(self.kind, AccessKind::In | AccessKind::Out)
    }
}

/// The board, with every access recorded.
pub struct Observed<'a> {
    board: &'a mut Board,
    log: &'a mut Vec<Access>,
}

impl Observed<'_> {
    #[inline]
    fn note(&mut self, kind: AccessKind, addr: u32, size: u8, value: u32) {
        self.log.push(Access {
            kind,
            addr,
            size,
            value,
        });
    }
}

impl Bus for Observed<'_> {
    const TRACE_ID: u8 = 2;
    fn read8(&mut self, addr: u32) -> u8 {
        let v = self.board.read8(addr);
        self.note(AccessKind::Read, addr, 1, v as u32);
        v
    }
    fn read16(&mut self, addr: u32) -> u16 {
        let v = self.board.read16(addr);
        self.note(AccessKind::Read, addr, 2, v as u32);
        v
    }
    fn read32(&mut self, addr: u32) -> u32 {
        let v = self.board.read32(addr);
        self.note(AccessKind::Read, addr, 4, v);
        v
    }
    fn write8(&mut self, addr: u32, value: u8) {
        self.board.write8(addr, value);
        self.note(AccessKind::Write, addr, 1, value as u32);
    }
    fn write16(&mut self, addr: u32, value: u16) {
        self.board.write16(addr, value);
        self.note(AccessKind::Write, addr, 2, value as u32);
    }
    fn write32(&mut self, addr: u32, value: u32) {
        self.board.write32(addr, value);
        self.note(AccessKind::Write, addr, 4, value);
    }
    fn code_window(&mut self, addr: u32) -> &[u8] {
        self.board.code_window(addr)
    }
    fn code_epoch(&self, addr: u32) -> Option<u32> {
        self.board.code_epoch(addr)
    }
    fn mark_code(&mut self, addr: u32, len: u32) {
        self.board.mark_code(addr, len);
    }
    fn code_stamp(&self) -> u32 {
        self.board.code_stamp()
    }
    // `direct_page` keeps its default (no direct pages), so the CPU sends every access here
    // to be noted.
    fn io_read(&mut self, port: u16, size: u8, now: u64) -> u32 {
        let v = self.board.io_read(port, size, now);
        self.note(AccessKind::In, port as u32, size, v);
        v
    }
    fn io_write(&mut self, port: u16, size: u8, value: u32, now: u64) {
        self.board.io_write(port, size, value, now);
        self.note(AccessKind::Out, port as u32, size, value);
    }
    fn interrupt_pending(&self) -> bool {
        self.board.interrupt_pending()
    }
    fn acknowledge_interrupt(&mut self, now: u64) -> u8 {
        self.board.acknowledge_interrupt(now)
    }
    fn fpu_error(&mut self, asserted: bool) {
        self.board.fpu_error(asserted);
    }
}

/// What one [`Pc::debug_step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stepped {
    /// The CPU executed an instruction (or a slice of a REP instruction) or entered an
    /// interrupt handler.
    Ran,
    /// The CPU was halted; virtual time moved on to the next device event.
    Waited,
    /// A triple fault reset the machine.
    Reset,
    /// The machine stopped.
    Stopped(Stop),
}

impl Pc {
    /// The device that owns `port` (its name, as `info device` takes it).
    pub fn port_owner(&self, port: u16) -> DevId {
        self.board.platform.ports.lookup(port)
    }

    /// One step of the machine, recording the CPU's data accesses in `log`: due device events
    /// run, then the CPU enters a pending interrupt or executes one instruction (see
    /// [`cpu::Cpu::step_once`]). Stepping a machine this way gives exactly the run
    /// [`Pc::run`] gives: the same instructions see the same device state at the same cycle.
    ///
    /// With `log` `None` nothing is recorded (the CPU runs on the board itself).
    pub fn debug_step(&mut self, log: Option<&mut Vec<Access>>) -> Stepped {
        let now = self.cpu.cycles;
        self.board.run_due_events(now);
        if let Some(stop) = self.handle_signals() {
            return Stepped::Stopped(stop);
        }
        let until = self.board.platform.next_deadline().0;
        let exit = match log {
            Some(log) => self.cpu.step_once(
                &mut Observed {
                    board: &mut self.board,
                    log,
                },
                until,
            ),
            None => self.cpu.step_once(&mut self.board, until),
        };
        match exit {
            cpu::Exit::Budget | cpu::Exit::Attention => {
                // Requests raised by this instruction (exit port, reset) act now, after due
                // events, exactly as at the top of the next step.
                if !self.board.signalled {
                    return Stepped::Ran;
                }
                self.board.run_due_events(self.cpu.cycles);
                match self.handle_signals() {
                    Some(stop) => Stepped::Stopped(stop),
                    None => Stepped::Ran,
                }
            }
            cpu::Exit::Halted => match self.wait_halted(u64::MAX) {
                Some(stop) => Stepped::Stopped(stop),
                None => Stepped::Waited,
            },
            cpu::Exit::TripleFault => {
                self.triple_fault_reset();
                Stepped::Reset
            }
            cpu::Exit::Unsupported(what) => Stepped::Stopped(Stop::Unsupported(what)),
        }
    }
}
