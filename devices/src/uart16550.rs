//! National Semiconductor NS16550A UART, as on PC serial ports COM1–COM4.
//!
//! The UART turns bytes into an asynchronous serial line and back: a
//! transmitter (holding register THR, 16-byte FIFO), a receiver (buffer
//! register RBR, 16-byte FIFO), a programmable baud rate (115200 / divisor
//! with the PC's 1.8432 MHz crystal), line format control, modem control
//! outputs and status inputs, and one interrupt output with four prioritised
//! sources.
//!
//! | offset | DLAB | read            | write                 |
//! |--------|------|-----------------|-----------------------|
//! | 0      | 0    | RBR receive     | THR transmit          |
//! | 1      | 0    | IER             | IER                   |
//! | 0, 1   | 1    | divisor latch low, high byte              ||
//! | 2      |      | IIR interrupt identification | FCR FIFO control |
//! | 3      |      | LCR line control                          ||
//! | 4      |      | MCR modem control                         ||
//! | 5      |      | LSR line status | (ignored)             |
//! | 6      |      | MSR modem status| (ignored)             |
//! | 7      |      | SCR scratch                               ||
//!
//! The usual PC wiring: COM1 0x3F8 IRQ 4, COM2 0x2F8 IRQ 3, COM3 0x3E8 IRQ 4,
//! COM4 0x2E8 IRQ 3; base and IRQ are given at construction. As on PC serial
//! cards the interrupt output reaches the IRQ line only while MCR OUT2 is set
//! (OUT2 enables the card's IRQ driver), and not in loopback mode, where the
//! chip holds its modem control outputs, OUT2 included, inactive.
//!
//! Follows the National Semiconductor PC16550D datasheet: FIFO enable and
//! reset, receiver trigger levels 1/4/8/14, interrupt identification by
//! priority (receiver line status; received data available or character
//! timeout; THR empty; modem status) with the FIFO bits 7–6 in IIR, the THRE
//! interrupt's rules (pending when enabled with THR empty, or when THR
//! empties; cleared by reading IIR when it is the source shown, or by writing
//! THR), LSR (overrun cleared by reading LSR), MSR with delta bits cleared by
//! reading it, loopback (transmitter to receiver, DTR/RTS/OUT1/OUT2 to
//! DSR/CTS/RI/DCD), and the master reset values.
//!
//! ## Time
//!
//! Transmission completes at once: a byte written to THR goes to the sink
//! (or, in loopback, to the receiver) immediately, so THR and the
//! transmitter are empty again at once (THRE and TEMT read 1) and the THRE
//! interrupt is pending again right after each write. Received bytes enter
//! the receiver when the host hands them over ([`Uart16550::receive`]). The
//! one timed behaviour is the FIFO character timeout: with bytes in the
//! receive FIFO below the trigger level and nothing put in or taken out for
//! four character times at the programmed rate and format, a timeout
//! interrupt is pending. Its deadline is scheduled on [`EventKind::Uart`].
//! Several UARTs share that slot: each only ever moves the deadline earlier
//! (never cancels it), and the platform passes an `EventKind::Uart` event to
//! every UART, each of which checks its own deadline.
//!
//! ## Not emulated
//!
//! - Bit-level timing of transmission (no pacing at the baud rate), the TX
//!   FIFO's contents (it never holds anything), DMA mode (stored).
//! - Parity, framing and break conditions: the host side delivers clean
//!   bytes, so PE, FE, BI and the FIFO error bit stay clear; the break
//!   control bit of LCR is stored only.
//! - Modem status inputs come from [`Uart16550::set_modem_inputs`]; by
//!   default CTS, DSR and DCD are asserted, as with a terminal attached.

use crate::bus::{Device, IoCx, ResetKind};
use crate::debugport::{DebugCon, DebugSink, DEBUGCON_PORT};
use crate::time::{Cycles, EventKind};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::io::Write;

/// COM1 base port.
pub const COM1_BASE: u16 = 0x3F8;
/// COM2 base port.
pub const COM2_BASE: u16 = 0x2F8;
/// COM3 base port.
pub const COM3_BASE: u16 = 0x3E8;
/// COM4 base port.
pub const COM4_BASE: u16 = 0x2E8;
/// IRQ of COM1 and COM3.
pub const COM1_IRQ: u8 = 4;
/// IRQ of COM2 and COM4.
pub const COM2_IRQ: u8 = 3;
/// Number of ports a UART occupies from its base.
pub const UART_PORTS: u16 = 8;

/// The baud rate of divisor 1 (1.8432 MHz crystal / 16).
pub const BAUD_BASE: u64 = 115_200;
/// Bytes in each FIFO.
pub const FIFO_SIZE: usize = 16;

/// Offset 0: RBR (read), THR (write), or DLL with DLAB.
pub const REG_DATA: u16 = 0;
/// Offset 1: IER, or DLM with DLAB.
pub const REG_IER: u16 = 1;
/// Offset 2: IIR (read), FCR (write).
pub const REG_IIR_FCR: u16 = 2;
/// Offset 3: LCR.
pub const REG_LCR: u16 = 3;
/// Offset 4: MCR.
pub const REG_MCR: u16 = 4;
/// Offset 5: LSR.
pub const REG_LSR: u16 = 5;
/// Offset 6: MSR.
pub const REG_MSR: u16 = 6;
/// Offset 7: SCR.
pub const REG_SCR: u16 = 7;

/// IER bit 0: received data available (and character timeout) interrupt.
pub const IER_RDA: u8 = 0x01;
/// IER bit 1: THR empty interrupt.
pub const IER_THRE: u8 = 0x02;
/// IER bit 2: receiver line status interrupt.
pub const IER_RLS: u8 = 0x04;
/// IER bit 3: modem status interrupt.
pub const IER_MS: u8 = 0x08;
/// The IER bits the 16550A has.
pub const IER_WRITABLE: u8 = 0x0F;

/// IIR bit 0: no interrupt pending (active low "pending").
pub const IIR_NONE: u8 = 0x01;
/// IIR id 011: receiver line status (highest priority).
pub const IIR_RLS: u8 = 0x06;
/// IIR id 010: received data available.
pub const IIR_RDA: u8 = 0x04;
/// IIR id 110: character timeout.
pub const IIR_TIMEOUT: u8 = 0x0C;
/// IIR id 001: THR empty.
pub const IIR_THRE: u8 = 0x02;
/// IIR id 000: modem status (lowest priority).
pub const IIR_MS: u8 = 0x00;
/// IIR bits 7–6: both set while the FIFOs are enabled.
pub const IIR_FIFO_ENABLED: u8 = 0xC0;

/// FCR bit 0: enable both FIFOs.
pub const FCR_ENABLE: u8 = 0x01;
/// FCR bit 1: clear the receive FIFO.
pub const FCR_CLEAR_RX: u8 = 0x02;
/// FCR bit 2: clear the transmit FIFO.
pub const FCR_CLEAR_TX: u8 = 0x04;
/// FCR bit 3: DMA mode select.
pub const FCR_DMA_MODE: u8 = 0x08;
/// FCR bits 7–6: receiver trigger level (1, 4, 8, 14 bytes).
pub const FCR_TRIGGER_MASK: u8 = 0xC0;
/// The FCR bits kept (the clear bits act and are gone).
const FCR_KEPT: u8 = FCR_ENABLE | FCR_DMA_MODE | FCR_TRIGGER_MASK;

/// LCR bits 1–0: word length 5 + n bits.
pub const LCR_WORD_MASK: u8 = 0x03;
/// LCR bit 2: 2 stop bits (1.5 with 5-bit words).
pub const LCR_STOP2: u8 = 0x04;
/// LCR bit 3: parity enable.
pub const LCR_PARITY: u8 = 0x08;
/// LCR bit 4: even parity.
pub const LCR_EVEN: u8 = 0x10;
/// LCR bit 5: stick parity.
pub const LCR_STICK: u8 = 0x20;
/// LCR bit 6: set break.
pub const LCR_BREAK: u8 = 0x40;
/// LCR bit 7: divisor latch access bit (DLAB).
pub const LCR_DLAB: u8 = 0x80;

/// MCR bit 0: DTR.
pub const MCR_DTR: u8 = 0x01;
/// MCR bit 1: RTS.
pub const MCR_RTS: u8 = 0x02;
/// MCR bit 2: OUT1.
pub const MCR_OUT1: u8 = 0x04;
/// MCR bit 3: OUT2 (on PC cards: IRQ output enable).
pub const MCR_OUT2: u8 = 0x08;
/// MCR bit 4: loopback.
pub const MCR_LOOP: u8 = 0x10;
/// The MCR bits the 16550A has.
pub const MCR_WRITABLE: u8 = 0x1F;

/// LSR bit 0: data ready.
pub const LSR_DR: u8 = 0x01;
/// LSR bit 1: overrun error.
pub const LSR_OE: u8 = 0x02;
/// LSR bit 2: parity error.
pub const LSR_PE: u8 = 0x04;
/// LSR bit 3: framing error.
pub const LSR_FE: u8 = 0x08;
/// LSR bit 4: break interrupt.
pub const LSR_BI: u8 = 0x10;
/// LSR bit 5: THR (or TX FIFO) empty.
pub const LSR_THRE: u8 = 0x20;
/// LSR bit 6: transmitter empty (THR and shift register).
pub const LSR_TEMT: u8 = 0x40;
/// LSR bit 7: an error byte is in the receive FIFO.
pub const LSR_FIFO_ERROR: u8 = 0x80;
/// The LSR error bits cleared by reading LSR.
pub const LSR_ERRORS: u8 = LSR_OE | LSR_PE | LSR_FE | LSR_BI;

/// MSR bit 0: CTS changed.
pub const MSR_DCTS: u8 = 0x01;
/// MSR bit 1: DSR changed.
pub const MSR_DDSR: u8 = 0x02;
/// MSR bit 2: RI went inactive (trailing edge).
pub const MSR_TERI: u8 = 0x04;
/// MSR bit 3: DCD changed.
pub const MSR_DDCD: u8 = 0x08;
/// MSR bit 4: clear to send.
pub const MSR_CTS: u8 = 0x10;
/// MSR bit 5: data set ready.
pub const MSR_DSR: u8 = 0x20;
/// MSR bit 6: ring indicator.
pub const MSR_RI: u8 = 0x40;
/// MSR bit 7: data carrier detect.
pub const MSR_DCD: u8 = 0x80;
/// The MSR delta bits (cleared by reading MSR).
pub const MSR_DELTAS: u8 = 0x0F;
/// The MSR input bits.
pub const MSR_INPUTS: u8 = 0xF0;
/// The inputs of a port with a terminal attached.
pub const MSR_DEFAULT_INPUTS: u8 = MSR_CTS | MSR_DSR | MSR_DCD;

/// Divisor after power-on (9600 baud); the chip leaves it undefined.
const POWER_ON_DIVISOR: u16 = 12;
/// Character times of quiet before a FIFO character timeout.
const TIMEOUT_CHARS: u64 = 4;

/// The registers and FIFOs (everything but the sink).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct UartState {
    divisor: u16,
    ier: u8,
    fcr: u8,
    lcr: u8,
    mcr: u8,
    scr: u8,
    /// LSR error bits (OE, PE, FE, BI) not yet read.
    lsr_errors: u8,
    /// MSR delta bits not yet read.
    msr_deltas: u8,
    /// The modem status inputs from outside (CTS, DSR, RI, DCD).
    external: u8,
    rx: VecDeque<u8>,
    /// What RBR reads when the receiver is empty: the last byte read.
    rbr_last: u8,
    /// The THRE interrupt latch.
    thre_pending: bool,
    /// Last time a byte entered or left the receive FIFO.
    rx_activity: Cycles,
}

impl UartState {
    fn power_on(scr: u8, divisor: u16) -> Self {
        UartState {
            divisor,
            ier: 0,
            fcr: 0,
            lcr: 0,
            mcr: 0,
            scr,
            lsr_errors: 0,
            msr_deltas: 0,
            external: MSR_DEFAULT_INPUTS,
            rx: VecDeque::with_capacity(FIFO_SIZE),
            rbr_last: 0,
            thre_pending: false,
            rx_activity: Cycles::ZERO,
        }
    }
}

/// A 16550A UART.
#[derive(Debug)]
pub struct Uart16550 {
    base: u16,
    irq: u8,
    cycles_per_second: u64,
    s: UartState,
    out: DebugCon,
    last_now: Cycles,
}

impl Uart16550 {
    /// A UART at ports `base..base + 8` driving IRQ `irq`, its transmitted
    /// bytes going to `sink`, in its master-reset state. Call
    /// [`Uart16550::set_cpu_clock`] for the character timeout to last four
    /// character times; until then it is immediate.
    pub fn new(base: u16, irq: u8, sink: DebugSink) -> Self {
        Uart16550 {
            base,
            irq,
            cycles_per_second: 0,
            s: UartState::power_on(0, POWER_ON_DIVISOR),
            out: DebugCon::new(sink),
            last_now: Cycles::ZERO,
        }
    }

    /// Tells the UART the CPU clock, which times the character timeout.
    pub fn set_cpu_clock(&mut self, cycles_per_second: u64) {
        self.cycles_per_second = cycles_per_second;
    }

    /// The first port.
    pub fn base(&self) -> u16 {
        self.base
    }

    /// The IRQ line.
    pub fn irq(&self) -> u8 {
        self.irq
    }

    /// The most recently transmitted bytes (the last 4–8 KiB), whatever the sink.
    pub fn tail(&self) -> &[u8] {
        self.out.tail()
    }

    /// Everything transmitted so far, with a [`DebugSink::Buffer`] sink.
    pub fn output(&self) -> &[u8] {
        self.out.output()
    }

    /// Pushes buffered transmitted bytes to the sink.
    pub fn flush(&mut self) {
        self.out.flush();
    }

    /// Room left in the receiver (16 bytes with FIFOs, else 1): the host can
    /// pace its input with this and never cause an overrun.
    pub fn receive_space(&self) -> usize {
        self.rx_capacity().saturating_sub(self.s.rx.len())
    }

    /// Bytes arriving on the serial line. Bytes beyond the receiver's room
    /// are lost with an overrun error in LSR (with FIFOs the newest byte is
    /// lost; without, it overwrites RBR).
    pub fn receive(&mut self, bytes: &[u8], cx: &mut IoCx) {
        let now = self.enter(cx.now);
        if self.s.mcr & MCR_LOOP != 0 {
            // In loopback the receiver is cut off from the line.
            return;
        }
        for &b in bytes {
            self.rx_push(b, now);
        }
        self.finish(cx);
    }

    /// Sets the modem status inputs (the [`MSR_INPUTS`] bits of `msr`:
    /// CTS, DSR, RI, DCD), setting the delta bits for what changed.
    pub fn set_modem_inputs(&mut self, msr: u8, cx: &mut IoCx) {
        self.enter(cx.now);
        let before = self.inputs();
        self.s.external = msr & MSR_INPUTS;
        self.note_inputs(before);
        self.finish(cx);
    }

    fn enter(&mut self, now: Cycles) -> Cycles {
        self.last_now = self.last_now.max(now);
        self.last_now
    }

    fn fifo(&self) -> bool {
        self.s.fcr & FCR_ENABLE != 0
    }

    fn rx_capacity(&self) -> usize {
        if self.fifo() {
            FIFO_SIZE
        } else {
            1
        }
    }

    fn trigger_level(&self) -> usize {
        match self.s.fcr & FCR_TRIGGER_MASK {
            0x00 => 1,
            0x40 => 4,
            0x80 => 8,
            _ => 14,
        }
    }

    fn rx_push(&mut self, byte: u8, now: Cycles) {
        if self.s.rx.len() < self.rx_capacity() {
            self.s.rx.push_back(byte);
        } else {
            self.s.lsr_errors |= LSR_OE;
            if !self.fifo() {
                self.s.rx.clear();
                self.s.rx.push_back(byte);
            }
        }
        self.s.rx_activity = now;
    }

    /// Cycles one character takes on the line at the programmed rate.
    fn char_cycles(&self) -> u64 {
        let lcr = self.s.lcr;
        let bits = 1
            + 5
            + u64::from(lcr & LCR_WORD_MASK)
            + u64::from(lcr & LCR_PARITY != 0)
            + if lcr & LCR_STOP2 != 0 { 2 } else { 1 };
        let divisor = u64::from(self.s.divisor.max(1));
        let cycles =
            u128::from(self.cycles_per_second) * u128::from(bits * divisor) / u128::from(BAUD_BASE);
        u64::try_from(cycles).unwrap_or(u64::MAX)
    }

    /// When a character timeout becomes pending, if the receive FIFO waits
    /// below its trigger level.
    fn timeout_at(&self) -> Option<Cycles> {
        let waiting =
            self.fifo() && !self.s.rx.is_empty() && self.s.rx.len() < self.trigger_level();
        waiting
            .then(|| self.s.rx_activity + Cycles(self.char_cycles().saturating_mul(TIMEOUT_CHARS)))
    }

    /// The modem status inputs as the chip sees them.
    fn inputs(&self) -> u8 {
        if self.s.mcr & MCR_LOOP == 0 {
            return self.s.external;
        }
        let m = self.s.mcr;
        let mut v = 0;
        for (out, input) in [
            (MCR_RTS, MSR_CTS),
            (MCR_DTR, MSR_DSR),
            (MCR_OUT1, MSR_RI),
            (MCR_OUT2, MSR_DCD),
        ] {
            if m & out != 0 {
                v |= input;
            }
        }
        v
    }

    /// Sets delta bits for input changes since `before`.
    fn note_inputs(&mut self, before: u8) {
        let after = self.inputs();
        let changed = before ^ after;
        for (input, delta) in [
            (MSR_CTS, MSR_DCTS),
            (MSR_DSR, MSR_DDSR),
            (MSR_DCD, MSR_DDCD),
        ] {
            if changed & input != 0 {
                self.s.msr_deltas |= delta;
            }
        }
        if before & MSR_RI != 0 && after & MSR_RI == 0 {
            self.s.msr_deltas |= MSR_TERI;
        }
    }

    /// The highest-priority pending interrupt's IIR id, if any.
    fn pending(&self) -> Option<u8> {
        let ier = self.s.ier;
        if ier & IER_RLS != 0 && self.s.lsr_errors != 0 {
            return Some(IIR_RLS);
        }
        if ier & IER_RDA != 0 {
            let level = if self.fifo() { self.trigger_level() } else { 1 };
            if self.s.rx.len() >= level {
                return Some(IIR_RDA);
            }
            if self.timeout_at().is_some_and(|at| self.last_now >= at) {
                return Some(IIR_TIMEOUT);
            }
        }
        if ier & IER_THRE != 0 && self.s.thre_pending {
            return Some(IIR_THRE);
        }
        if ier & IER_MS != 0 && self.s.msr_deltas != 0 {
            return Some(IIR_MS);
        }
        None
    }

    /// Whether the card drives its IRQ line (OUT2 set, not in loopback).
    fn irq_enabled(&self) -> bool {
        self.s.mcr & (MCR_OUT2 | MCR_LOOP) == MCR_OUT2
    }

    /// Drives the IRQ line and asks for the timeout event if one is ahead.
    fn finish(&self, cx: &mut IoCx) {
        cx.irq
            .set(self.irq, self.irq_enabled() && self.pending().is_some());
        if let Some(at) = self.timeout_at().filter(|&at| at > self.last_now) {
            // Shared slot: only ever move it earlier.
            if cx.sched.deadline(EventKind::Uart).is_none_or(|d| at < d) {
                cx.sched.schedule(EventKind::Uart, at);
            }
        }
    }

    fn lsr(&self) -> u8 {
        let mut v = self.s.lsr_errors | LSR_THRE | LSR_TEMT;
        if !self.s.rx.is_empty() {
            v |= LSR_DR;
        }
        v
    }

    fn msr(&self) -> u8 {
        self.inputs() | self.s.msr_deltas
    }

    fn iir(&self) -> u8 {
        let fifo = if self.fifo() { IIR_FIFO_ENABLED } else { 0 };
        fifo | self.pending().unwrap_or(IIR_NONE)
    }

    fn transmit(&mut self, byte: u8, cx: &mut IoCx) {
        if self.s.mcr & MCR_LOOP != 0 {
            self.rx_push(byte, self.last_now);
        } else {
            self.out.io_write(DEBUGCON_PORT, 1, u32::from(byte), cx);
        }
        // The byte left at once: THR is empty again.
        self.s.thre_pending = true;
    }

    fn write_fcr(&mut self, value: u8) {
        if (value ^ self.s.fcr) & FCR_ENABLE != 0 {
            // Switching FIFO mode on or off empties the FIFOs.
            self.s.rx.clear();
        }
        if value & FCR_ENABLE == 0 {
            // The other bits only take with FCR0 set.
            self.s.fcr = 0;
            return;
        }
        if value & FCR_CLEAR_RX != 0 {
            self.s.rx.clear();
        }
        // The TX FIFO is always empty here: FCR_CLEAR_TX has nothing to do.
        self.s.fcr = value & FCR_KEPT;
    }

    /// Master reset (the MR pin): registers to their reset values, FIFOs
    /// emptied; the divisor and scratch registers keep their contents.
    pub fn reset_state(&mut self) {
        let external = self.s.external;
        self.s = UartState::power_on(self.s.scr, self.s.divisor);
        self.s.external = external;
    }

    /// "com1" to "com4" from the standard base ports, else "uart".
    fn port_name(base: u16) -> &'static str {
        match base {
            COM1_BASE => "com1",
            COM2_BASE => "com2",
            COM3_BASE => "com3",
            COM4_BASE => "com4",
            _ => "uart",
        }
    }
}

impl Device for Uart16550 {
    fn name(&self) -> &'static str {
        Self::port_name(self.base)
    }

    fn io_read(&mut self, port: u16, _size: u8, cx: &mut IoCx) -> u32 {
        let now = self.enter(cx.now);
        let dlab = self.s.lcr & LCR_DLAB != 0;
        let value = match port.wrapping_sub(self.base) {
            REG_DATA if dlab => self.s.divisor as u8,
            REG_IER if dlab => (self.s.divisor >> 8) as u8,
            REG_DATA => {
                if let Some(b) = self.s.rx.pop_front() {
                    self.s.rbr_last = b;
                    self.s.rx_activity = now;
                }
                self.s.rbr_last
            }
            REG_IER => self.s.ier,
            REG_IIR_FCR => {
                let v = self.iir();
                if v & !IIR_FIFO_ENABLED == IIR_THRE {
                    self.s.thre_pending = false;
                }
                v
            }
            REG_LCR => self.s.lcr,
            REG_MCR => self.s.mcr,
            REG_LSR => {
                let v = self.lsr();
                self.s.lsr_errors = 0;
                v
            }
            REG_MSR => {
                let v = self.msr();
                self.s.msr_deltas = 0;
                v
            }
            REG_SCR => self.s.scr,
            _ => 0xFF,
        };
        self.finish(cx);
        u32::from(value)
    }

    fn io_write(&mut self, port: u16, _size: u8, value: u32, cx: &mut IoCx) {
        self.enter(cx.now);
        let byte = value as u8;
        let dlab = self.s.lcr & LCR_DLAB != 0;
        match port.wrapping_sub(self.base) {
            REG_DATA if dlab => self.s.divisor = (self.s.divisor & 0xFF00) | u16::from(byte),
            REG_IER if dlab => {
                self.s.divisor = (self.s.divisor & 0x00FF) | (u16::from(byte) << 8);
            }
            REG_DATA => self.transmit(byte, cx),
            REG_IER => {
                let old = self.s.ier;
                self.s.ier = byte & IER_WRITABLE;
                // Enabling the THRE interrupt with THR empty makes it pending;
                // THR is always empty here.
                if self.s.ier & IER_THRE == 0 {
                    self.s.thre_pending = false;
                } else if old & IER_THRE == 0 {
                    self.s.thre_pending = true;
                }
            }
            REG_IIR_FCR => self.write_fcr(byte),
            REG_LCR => self.s.lcr = byte,
            REG_MCR => {
                let before = self.inputs();
                self.s.mcr = byte & MCR_WRITABLE;
                self.note_inputs(before);
            }
            REG_SCR => self.s.scr = byte,
            // LSR and MSR are read-only (writes are for factory test).
            _ => {}
        }
        self.finish(cx);
    }

    fn reset(&mut self, _kind: ResetKind) {
        self.reset_state();
    }

    fn on_event(&mut self, event: EventKind, cx: &mut IoCx) {
        if event != EventKind::Uart {
            return;
        }
        self.enter(cx.now);
        self.finish(cx);
    }

    fn inspect(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let s = &self.s;
        let baud = BAUD_BASE / u64::from(s.divisor.max(1));
        let parity = match s.lcr & (LCR_PARITY | LCR_EVEN | LCR_STICK) {
            p if p & LCR_PARITY == 0 => 'N',
            p if p & LCR_STICK != 0 => {
                if p & LCR_EVEN != 0 {
                    'S'
                } else {
                    'M'
                }
            }
            p if p & LCR_EVEN != 0 => 'E',
            _ => 'O',
        };
        let stop = if s.lcr & LCR_STOP2 == 0 {
            "1"
        } else if s.lcr & LCR_WORD_MASK == 0 {
            "1.5"
        } else {
            "2"
        };
        writeln!(
            out,
            "{}: 16550A at {:#x}, IRQ {} ({}), {baud} baud {}{parity}{stop} (divisor {})",
            self.name(),
            self.base,
            self.irq,
            if self.irq_enabled() {
                "enabled by OUT2"
            } else {
                "gated off"
            },
            5 + (s.lcr & LCR_WORD_MASK),
            s.divisor
        )?;
        writeln!(
            out,
            "  IER {:#04x} IIR {:#04x} FCR {:#04x} LCR {:#04x} MCR {:#04x} LSR {:#04x} MSR {:#04x} SCR {:#04x}",
            s.ier,
            self.iir(),
            s.fcr,
            s.lcr,
            s.mcr,
            self.lsr(),
            self.msr(),
            s.scr
        )?;
        writeln!(
            out,
            "  FIFOs {}, trigger {}, receiver holds {} byte(s){}",
            if self.fifo() { "on" } else { "off" },
            self.trigger_level(),
            s.rx.len(),
            if s.mcr & MCR_LOOP != 0 {
                ", loopback"
            } else {
                ""
            }
        )?;
        self.out.inspect(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::{NoDma, Signals};
    use crate::irq::IrqLines;
    use crate::time::Scheduler;

    /// 1.152 MHz CPU: one character of 10 bits at 115200 baud is 100 cycles.
    const CPS: u64 = 1_152_000;

    struct Rig {
        uart: Uart16550,
        sched: Scheduler,
        irq: IrqLines,
        signals: Signals,
        dma: NoDma,
        now: Cycles,
    }

    impl Rig {
        fn new() -> Self {
            let mut uart = Uart16550::new(COM1_BASE, COM1_IRQ, DebugSink::Buffer);
            uart.set_cpu_clock(CPS);
            Rig {
                uart,
                sched: Scheduler::new(),
                irq: IrqLines::new(),
                signals: Signals::default(),
                dma: NoDma,
                now: Cycles::ZERO,
            }
        }

        fn split(&mut self) -> (&mut Uart16550, IoCx<'_>) {
            let cx = IoCx {
                now: self.now,
                sched: &mut self.sched,
                irq: &mut self.irq,
                signals: &mut self.signals,
                dma: &mut self.dma,
            };
            (&mut self.uart, cx)
        }

        fn at(&mut self, t: u64) -> &mut Self {
            self.now = Cycles(t);
            self
        }

        fn out(&mut self, reg: u16, value: u8) {
            let (u, mut cx) = self.split();
            let port = u.base() + reg;
            u.io_write(port, 1, u32::from(value), &mut cx);
        }

        fn inp(&mut self, reg: u16) -> u8 {
            let (u, mut cx) = self.split();
            let port = u.base() + reg;
            u.io_read(port, 1, &mut cx) as u8
        }

        fn receive(&mut self, bytes: &[u8]) {
            let (u, mut cx) = self.split();
            u.receive(bytes, &mut cx);
        }

        /// Runs due events up to `t`.
        fn run_to(&mut self, t: u64) {
            while self.sched.next_deadline() <= Cycles(t) {
                let at = self.sched.next_deadline();
                self.now = at;
                let kind = self.sched.pop_due(at).unwrap();
                let (u, mut cx) = self.split();
                u.on_event(kind, &mut cx);
            }
            self.now = Cycles(t);
        }

        fn irq_line(&self) -> bool {
            self.irq.is_high(COM1_IRQ)
        }

        /// 115200 8N1 with OUT2 set, as a driver leaves it.
        fn init_8n1(&mut self) {
            self.out(REG_LCR, LCR_DLAB);
            self.out(REG_DATA, 1);
            self.out(REG_IER, 0);
            self.out(REG_LCR, 0x03);
            self.out(REG_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
        }
    }

    #[test]
    fn master_reset_values() {
        let mut r = Rig::new();
        assert_eq!(r.inp(REG_IER), 0);
        assert_eq!(r.inp(REG_IIR_FCR), IIR_NONE);
        assert_eq!(r.inp(REG_LCR), 0);
        assert_eq!(r.inp(REG_MCR), 0);
        assert_eq!(r.inp(REG_LSR), LSR_THRE | LSR_TEMT);
        assert_eq!(r.inp(REG_MSR), MSR_DEFAULT_INPUTS);
        assert_eq!(r.uart.name(), "com1");
        assert_eq!(Uart16550::new(COM4_BASE, 3, DebugSink::None).name(), "com4");
        assert_eq!(Uart16550::new(0x2E0, 3, DebugSink::None).name(), "uart");
    }

    #[test]
    fn divisor_latch_shares_ports_with_data_and_ier() {
        let mut r = Rig::new();
        r.out(REG_LCR, LCR_DLAB | 0x03);
        r.out(REG_DATA, 0x0C);
        r.out(REG_IER, 0x01);
        assert_eq!(r.inp(REG_DATA), 0x0C);
        assert_eq!(r.inp(REG_IER), 0x01);
        // With DLAB clear the same ports are data and IER again.
        r.out(REG_LCR, 0x03);
        assert_eq!(r.inp(REG_IER), 0x00);
        r.out(REG_IER, 0xFF);
        assert_eq!(r.inp(REG_IER), IER_WRITABLE, "IER bits 7-4 read 0");
        r.out(REG_DATA, b'A');
        assert_eq!(r.uart.output(), b"A", "a divisor write sent nothing");
        r.out(REG_LCR, LCR_DLAB);
        assert_eq!(r.inp(REG_DATA), 0x0C);
        assert_eq!(r.inp(REG_IER), 0x01);
        assert_eq!(r.uart.s.divisor, 0x010C);
    }

    #[test]
    fn lcr_reads_back_and_sets_the_character_time() {
        let mut r = Rig::new();
        r.init_8n1();
        assert_eq!(r.inp(REG_LCR), 0x03);
        assert_eq!(r.uart.char_cycles(), 100, "10 bits at 115200 baud");
        // 7E2 at 9600: 1 + 7 + 1 + 2 = 11 bits, 12 times slower.
        r.out(REG_LCR, LCR_DLAB | 0x02 | LCR_PARITY | LCR_EVEN | LCR_STOP2);
        r.out(REG_DATA, 12);
        r.out(REG_IER, 0);
        r.out(REG_LCR, 0x02 | LCR_PARITY | LCR_EVEN | LCR_STOP2);
        assert_eq!(r.uart.char_cycles(), 110 * 12);
        assert_eq!(r.inp(REG_LCR), 0x1E);
        // SCR is plain storage.
        r.out(REG_SCR, 0xA5);
        assert_eq!(r.inp(REG_SCR), 0xA5);
    }

    #[test]
    fn transmit_goes_to_the_sink_and_thr_is_empty_at_once() {
        let mut r = Rig::new();
        r.init_8n1();
        for &b in b"hello\n" {
            assert_ne!(r.inp(REG_LSR) & LSR_THRE, 0);
            r.out(REG_DATA, b);
        }
        assert_eq!(r.uart.output(), b"hello\n");
        assert_eq!(r.inp(REG_LSR), LSR_THRE | LSR_TEMT);
    }

    #[test]
    fn receive_sets_data_ready_and_rbr_reads_in_order() {
        let mut r = Rig::new();
        r.init_8n1();
        r.receive(b"x");
        assert_eq!(r.inp(REG_LSR) & LSR_DR, LSR_DR);
        assert_eq!(r.inp(REG_DATA), b'x');
        assert_eq!(r.inp(REG_LSR) & LSR_DR, 0);
        r.out(REG_IIR_FCR, FCR_ENABLE);
        r.receive(b"abc");
        assert_eq!(r.uart.receive_space(), 13);
        assert_eq!([r.inp(0), r.inp(0), r.inp(0)], *b"abc");
        // Empty: RBR repeats the last byte, DR clear.
        assert_eq!(r.inp(REG_DATA), b'c');
        assert_eq!(r.inp(REG_LSR) & LSR_DR, 0);
    }

    #[test]
    fn fifo_trigger_level_and_character_timeout() {
        let mut r = Rig::new();
        r.init_8n1();
        // FIFO on, trigger 4.
        r.out(REG_IIR_FCR, FCR_ENABLE | FCR_CLEAR_RX | FCR_CLEAR_TX | 0x40);
        r.out(REG_IER, IER_RDA);
        r.at(1000).receive(b"abc");
        assert_eq!(
            r.inp(REG_IIR_FCR),
            IIR_FIFO_ENABLED | IIR_NONE,
            "below trigger"
        );
        assert!(!r.irq_line());
        r.at(1050).receive(b"d");
        assert_eq!(r.inp(REG_IIR_FCR), IIR_FIFO_ENABLED | IIR_RDA);
        assert!(r.irq_line());
        // Reading one byte goes below the trigger: no RDA, and the timeout
        // counts four character times (400 cycles) from that read.
        r.at(1100);
        assert_eq!(r.inp(REG_DATA), b'a');
        assert!(!r.irq_line());
        // (An event may come earlier, for the deadline the read moved on: the
        // shared slot is only ever moved earlier. It changes nothing.)
        r.run_to(1499);
        assert!(!r.irq_line());
        r.run_to(1500);
        assert!(r.irq_line());
        assert_eq!(r.inp(REG_IIR_FCR), IIR_FIFO_ENABLED | IIR_TIMEOUT);
        // Reading the FIFO clears the timeout (and restarts it).
        assert_eq!(r.inp(REG_DATA), b'b');
        assert_eq!(r.inp(REG_IIR_FCR), IIR_FIFO_ENABLED | IIR_NONE);
        r.run_to(2000);
        assert_eq!(r.inp(REG_IIR_FCR), IIR_FIFO_ENABLED | IIR_TIMEOUT);
        r.inp(REG_DATA);
        r.inp(REG_DATA);
        assert_eq!(r.inp(REG_LSR) & LSR_DR, 0);
        r.run_to(5000);
        assert_eq!(
            r.inp(REG_IIR_FCR),
            IIR_FIFO_ENABLED | IIR_NONE,
            "empty FIFO: no timeout"
        );
    }

    #[test]
    fn trigger_levels_1_4_8_14() {
        for (bits, level) in [(0x00, 1), (0x40, 4), (0x80, 8), (0xC0, 14)] {
            let mut r = Rig::new();
            r.init_8n1();
            r.out(REG_IIR_FCR, FCR_ENABLE | bits);
            r.out(REG_IER, IER_RDA);
            r.receive(&vec![0x55; level - 1]);
            assert_eq!(r.inp(REG_IIR_FCR) & 0x0F, IIR_NONE, "level {level}");
            r.receive(&[0x55]);
            assert_eq!(r.inp(REG_IIR_FCR) & 0x0F, IIR_RDA, "level {level}");
        }
    }

    #[test]
    fn fcr_needs_bit0_and_switching_mode_empties_the_fifo() {
        let mut r = Rig::new();
        r.init_8n1();
        r.out(REG_IIR_FCR, FCR_ENABLE);
        r.receive(b"12345");
        // Clear RX only with FCR0 set.
        r.out(REG_IIR_FCR, FCR_ENABLE | FCR_CLEAR_RX);
        assert_eq!(r.inp(REG_LSR) & LSR_DR, 0);
        r.receive(b"67");
        r.out(REG_IIR_FCR, 0xC0); // FCR0 clear: FIFOs off and emptied
        assert_eq!(r.inp(REG_IIR_FCR) & IIR_FIFO_ENABLED, 0);
        assert_eq!(r.inp(REG_LSR) & LSR_DR, 0);
        assert_eq!(
            r.uart.trigger_level(),
            1,
            "trigger bits not taken without FCR0"
        );
    }

    #[test]
    fn thre_interrupt_rules() {
        let mut r = Rig::new();
        r.init_8n1();
        // Enabling ETBEI with THR empty: pending at once.
        r.out(REG_IER, IER_THRE);
        assert!(r.irq_line());
        assert_eq!(r.inp(REG_IIR_FCR), IIR_THRE);
        // Reading IIR that showed THRE cleared it.
        assert!(!r.irq_line());
        assert_eq!(r.inp(REG_IIR_FCR), IIR_NONE);
        // Writing THR: the byte leaves at once, THR empties, THRE again.
        r.out(REG_DATA, b'z');
        assert!(r.irq_line());
        // Disabling ETBEI drops it; enabling it again with THR empty sets it.
        r.out(REG_IER, 0);
        assert!(!r.irq_line());
        r.out(REG_IER, IER_THRE);
        assert!(r.irq_line());
        // A higher-priority source hides THRE, and reading IIR then keeps it.
        r.out(REG_IER, IER_THRE | IER_RDA);
        r.receive(b"q");
        assert_eq!(r.inp(REG_IIR_FCR), IIR_RDA);
        r.inp(REG_DATA);
        assert_eq!(r.inp(REG_IIR_FCR), IIR_THRE);
        assert_eq!(r.inp(REG_IIR_FCR), IIR_NONE);
    }

    #[test]
    fn iir_priorities() {
        let mut r = Rig::new();
        r.init_8n1();
        r.out(REG_IER, IER_RDA | IER_THRE | IER_RLS | IER_MS);
        r.receive(b"ab"); // non-FIFO: the second byte overruns
        {
            let (u, mut cx) = r.split();
            u.set_modem_inputs(MSR_CTS | MSR_DSR, &mut cx); // DCD dropped
        }
        assert_eq!(r.inp(REG_IIR_FCR), IIR_RLS);
        assert_eq!(r.inp(REG_LSR), LSR_OE | LSR_DR | LSR_THRE | LSR_TEMT);
        assert_eq!(r.inp(REG_IIR_FCR), IIR_RDA);
        assert_eq!(
            r.inp(REG_DATA),
            b'b',
            "without FIFOs the new byte overwrote RBR"
        );
        assert_eq!(r.inp(REG_IIR_FCR), IIR_THRE);
        assert_eq!(r.inp(REG_IIR_FCR), IIR_MS);
        assert_eq!(r.inp(REG_MSR), MSR_CTS | MSR_DSR | MSR_DDCD);
        assert_eq!(r.inp(REG_IIR_FCR), IIR_NONE);
        assert!(!r.irq_line());
    }

    #[test]
    fn receive_overrun_with_fifo_keeps_the_old_bytes() {
        let mut r = Rig::new();
        r.init_8n1();
        r.out(REG_IIR_FCR, FCR_ENABLE);
        let data: Vec<u8> = (0..20).collect();
        r.receive(&data);
        assert_eq!(r.uart.receive_space(), 0);
        assert_eq!(r.inp(REG_LSR) & LSR_OE, LSR_OE);
        assert_eq!(r.inp(REG_LSR) & LSR_OE, 0, "reading LSR clears OE");
        let got: Vec<u8> = (0..16).map(|_| r.inp(REG_DATA)).collect();
        assert_eq!(got, (0..16).collect::<Vec<u8>>());
        assert_eq!(r.inp(REG_LSR) & LSR_DR, 0);
    }

    #[test]
    fn out2_gates_the_irq_line() {
        let mut r = Rig::new();
        r.init_8n1();
        r.out(REG_MCR, MCR_DTR | MCR_RTS);
        r.out(REG_IER, IER_THRE);
        assert_eq!(
            r.inp(REG_IIR_FCR) & 0x0F,
            IIR_THRE,
            "pending inside the chip"
        );
        assert!(!r.irq_line(), "but the card does not drive IRQ 4");
        r.out(REG_IER, 0);
        r.out(REG_IER, IER_THRE);
        r.out(REG_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
        assert!(r.irq_line());
        r.out(REG_MCR, MCR_DTR | MCR_RTS);
        assert!(!r.irq_line());
    }

    #[test]
    fn loopback_returns_transmitted_bytes_and_modem_lines() {
        let mut r = Rig::new();
        r.init_8n1();
        r.out(REG_IIR_FCR, FCR_ENABLE);
        r.out(REG_MCR, MCR_LOOP);
        r.inp(REG_MSR);
        r.out(REG_DATA, 0xAE);
        assert!(r.uart.output().is_empty(), "nothing on the line");
        assert_eq!(r.inp(REG_LSR) & LSR_DR, LSR_DR);
        assert_eq!(r.inp(REG_DATA), 0xAE);
        // Outside input is ignored in loopback.
        r.receive(b"!");
        assert_eq!(r.inp(REG_LSR) & LSR_DR, 0);
        // DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
        r.out(REG_MCR, MCR_LOOP | MCR_RTS | MCR_OUT1);
        assert_eq!(r.inp(REG_MSR), MSR_CTS | MSR_RI | MSR_DCTS);
        r.out(REG_MCR, MCR_LOOP | MCR_DTR | MCR_OUT2);
        assert_eq!(
            r.inp(REG_MSR),
            MSR_DSR | MSR_DCD | MSR_DCTS | MSR_DDSR | MSR_TERI | MSR_DDCD
        );
        // Loopback holds the IRQ gate closed, even with OUT2 set.
        r.out(REG_IER, IER_MS);
        r.out(REG_MCR, MCR_LOOP | MCR_OUT2);
        assert_eq!(r.inp(REG_IIR_FCR) & 0x0F, IIR_MS);
        assert!(!r.irq_line());
        // Leaving loopback: the external inputs come back.
        r.out(REG_MCR, MCR_OUT2);
        assert_eq!(r.inp(REG_MSR) & MSR_INPUTS, MSR_DEFAULT_INPUTS);
    }

    #[test]
    fn timeouts_of_two_uarts_share_the_event_slot() {
        let mut r = Rig::new();
        r.init_8n1();
        r.out(REG_IIR_FCR, FCR_ENABLE | 0xC0);
        r.out(REG_IER, IER_RDA);
        let mut com2 = Uart16550::new(COM2_BASE, COM2_IRQ, DebugSink::None);
        com2.set_cpu_clock(CPS);
        r.at(0).receive(b"x"); // COM1 deadline 400
        assert_eq!(r.sched.deadline(EventKind::Uart), Some(Cycles(400)));
        {
            let mut cx = IoCx {
                now: Cycles(100),
                sched: &mut r.sched,
                irq: &mut r.irq,
                signals: &mut r.signals,
                dma: &mut r.dma,
            };
            for (reg, v) in [
                (REG_LCR, LCR_DLAB),
                (REG_DATA, 1),
                (REG_LCR, 0x03),
                (REG_IIR_FCR, FCR_ENABLE | 0xC0),
                (REG_IER, IER_RDA),
            ] {
                com2.io_write(COM2_BASE + reg, 1, v.into(), &mut cx);
            }
            com2.io_write(COM2_BASE + REG_MCR, 1, MCR_OUT2.into(), &mut cx);
            com2.receive(b"y", &mut cx); // COM2 deadline 500: slot stays 400
        }
        assert_eq!(r.sched.deadline(EventKind::Uart), Some(Cycles(400)));
        // At 400 both see the event; COM1 fires, COM2 asks again for 500.
        let mut cx = IoCx {
            now: Cycles(400),
            sched: &mut r.sched,
            irq: &mut r.irq,
            signals: &mut r.signals,
            dma: &mut r.dma,
        };
        assert_eq!(cx.sched.pop_due(Cycles(400)), Some(EventKind::Uart));
        r.uart.on_event(EventKind::Uart, &mut cx);
        com2.on_event(EventKind::Uart, &mut cx);
        assert!(cx.irq.is_high(COM1_IRQ));
        assert!(!cx.irq.is_high(COM2_IRQ));
        assert_eq!(cx.sched.deadline(EventKind::Uart), Some(Cycles(500)));
        cx.now = Cycles(500);
        cx.sched.pop_due(Cycles(500));
        com2.on_event(EventKind::Uart, &mut cx);
        assert!(cx.irq.is_high(COM2_IRQ));
    }

    #[test]
    fn reset_keeps_divisor_and_scratch() {
        let mut r = Rig::new();
        r.init_8n1();
        r.out(REG_SCR, 0x42);
        r.out(REG_IIR_FCR, FCR_ENABLE);
        r.receive(b"abc");
        r.uart.reset(ResetKind::Hard);
        assert_eq!(r.uart.s.divisor, 1);
        assert_eq!(r.inp(REG_SCR), 0x42);
        assert_eq!(r.inp(REG_LSR), LSR_THRE | LSR_TEMT);
        assert_eq!(r.inp(REG_IIR_FCR), IIR_NONE);
        assert_eq!(r.inp(REG_MCR), 0);
    }

    #[test]
    fn random_guest_accesses_never_panic() {
        let mut r = Rig::new();
        let mut x: u32 = 0x0BAD_F00D;
        for step in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            r.run_to(step * 13);
            let reg = u16::from((x >> 8) as u8 & 7);
            match x & 3 {
                0 | 1 => r.out(reg, (x >> 16) as u8),
                2 => {
                    r.inp(reg);
                }
                _ => r.receive(&[(x >> 24) as u8; 3]),
            }
        }
        let mut out = Vec::new();
        r.uart.inspect(&mut out).unwrap();
    }

    #[test]
    fn inspect_shows_line_settings() {
        let mut r = Rig::new();
        r.init_8n1();
        let mut out = Vec::new();
        r.uart.inspect(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for needle in [
            "com1: 16550A at 0x3f8, IRQ 4",
            "115200 baud 8N1",
            "enabled by OUT2",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
    }

    #[test]
    fn state_round_trips_through_serde() {
        let mut r = Rig::new();
        r.init_8n1();
        r.receive(b"k");
        let json = serde_json::to_string(&r.uart.s).unwrap();
        let back: UartState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r.uart.s);
    }
}
