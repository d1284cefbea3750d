//! Intel 8254 programmable interval timer, as wired in the PC/AT, plus the
//! timer bits of system control port B (0x61).
//!
//! Three 16-bit down-counters share a 1.193182 MHz input clock (the PC's
//! 14.31818 MHz crystal divided by 12). In the PC, channel 0's OUT drives IRQ0
//! (the system tick), channel 1 paced DRAM refresh, and channel 2's OUT feeds
//! the speaker; channel 2's GATE and the speaker enable come from port 0x61.
//!
//! | port | register                                                     |
//! |------|--------------------------------------------------------------|
//! | 0x40 | channel 0 count (read/write)                                  |
//! | 0x41 | channel 1 count                                               |
//! | 0x42 | channel 2 count                                               |
//! | 0x43 | control word, counter latch and read-back commands (write)    |
//! | 0x61 | port B: ch2 gate, speaker enable, refresh toggle, ch2 OUT     |
//!
//! IRQ0 is channel 0's OUT.
//!
//! Follows the Intel 8254 datasheet (order no. 231164): all six modes, binary
//! and BCD counting, LSB/MSB/LSB-then-MSB access with separate read and write
//! byte pointers, the counter latch command, the read-back command (count and
//! status latches, status first), Null Count, and the GATE input (channels 0
//! and 1 have GATE tied high, channel 2's comes from port 0x61 bit 0).
//!
//! ## Time
//!
//! Nothing here runs per clock. A counter remembers the PIT clock pulse
//! ("tick") at which its counting element was loaded and with what value; its
//! count and OUT at any later tick are computed from that. Ticks relate to
//! CPU cycles through the configured CPU clock: the tick count at cycle `c` is
//! `floor(c * 1193182 / cycles_per_second)`. The only scheduled event is the
//! next edge of channel 0's OUT (the next IRQ0 edge); if the CPU arrives late,
//! the edges missed in between are still reported (at least one rising edge
//! if any happened), so no timer interrupt is lost to a long instruction.
//!
//! ## Port 0x61
//!
//! Bits 0–3 are stored (ch2 gate, speaker data enable, parity and I/O check
//! disables); bit 4 is the refresh detect toggle, which on the AT flips with
//! every DRAM refresh cycle (every 15.09 µs, 18 PIT clocks) and here is
//! derived from the PIT clock; bit 5 is channel 2's OUT; bits 6 and 7 (I/O
//! check and parity errors) read 0.
//!
//! ## Not emulated
//!
//! The control word register cannot be read on the 8254; port 0x43 reads as
//! a floating bus (0xFF). Counts the datasheet calls illegal (1 in modes 2
//! and 3) give a steady OUT instead of a pulse train. When a counter starts
//! counting mid-way through a CLK period the datasheet's one-clock
//! uncertainty is resolved by always loading on the next clock pulse.

use crate::bus::{Device, IoCx, ResetKind};
use crate::once::Once;
use crate::time::{Cycles, EventKind};
use serde::{Deserialize, Serialize};
use std::io::Write;

/// The PIT input clock in Hz (14.31818 MHz / 12).
pub const PIT_HZ: u64 = 1_193_182;

/// Channel 0 count port.
pub const PIT_CHANNEL0: u16 = 0x40;
/// Channel 1 count port.
pub const PIT_CHANNEL1: u16 = 0x41;
/// Channel 2 count port.
pub const PIT_CHANNEL2: u16 = 0x42;
/// Control word / command port.
pub const PIT_CONTROL: u16 = 0x43;
/// System control port B.
pub const PORT_B: u16 = 0x61;

/// The IRQ line channel 0's OUT drives.
pub const PIT_IRQ: u8 = 0;

/// Control word bits 7–6 (SC1, SC0): which counter; 3 means read-back.
pub const CTRL_SELECT_SHIFT: u8 = 6;
/// SC value of the read-back command.
pub const CTRL_SELECT_READBACK: u8 = 3;
/// Control word bits 5–4 (RW1, RW0): access mode.
pub const CTRL_ACCESS_MASK: u8 = 0x30;
/// RW = 00: counter latch command.
pub const CTRL_ACCESS_LATCH: u8 = 0x00;
/// RW = 01: read/write the least significant byte only.
pub const CTRL_ACCESS_LSB: u8 = 0x10;
/// RW = 10: read/write the most significant byte only.
pub const CTRL_ACCESS_MSB: u8 = 0x20;
/// RW = 11: least significant byte first, then most significant byte.
pub const CTRL_ACCESS_WORD: u8 = 0x30;
/// Control word bits 3–1 (M2–M0): mode (110 and 111 are modes 2 and 3).
pub const CTRL_MODE_MASK: u8 = 0x0E;
/// Shift of the mode field.
pub const CTRL_MODE_SHIFT: u8 = 1;
/// Control word bit 0: BCD counting (else 16-bit binary).
pub const CTRL_BCD: u8 = 0x01;
/// The control word bits a counter keeps (and reports in its status byte).
pub const CTRL_PROGRAMMED: u8 = 0x3F;

/// Read-back bit 5 (COUNT, active low): latch the count of selected counters.
pub const READBACK_NO_COUNT: u8 = 0x20;
/// Read-back bit 4 (STATUS, active low): latch the status of selected counters.
pub const READBACK_NO_STATUS: u8 = 0x10;
/// Read-back bit 1: select counter 0 (bit 2 counter 1, bit 3 counter 2).
pub const READBACK_COUNTER0: u8 = 0x02;

/// Status byte bit 7: the OUT pin.
pub const STATUS_OUT: u8 = 0x80;
/// Status byte bit 6: Null Count (the last count written is not yet loaded).
pub const STATUS_NULL_COUNT: u8 = 0x40;

/// Port 0x61 bit 0: channel 2 GATE.
pub const PORTB_GATE2: u8 = 0x01;
/// Port 0x61 bit 1: speaker data enable (ANDed with channel 2 OUT).
pub const PORTB_SPEAKER: u8 = 0x02;
/// Port 0x61 bit 2: RAM parity check disable.
pub const PORTB_PARITY_DISABLE: u8 = 0x04;
/// Port 0x61 bit 3: I/O channel check disable.
pub const PORTB_IOCHK_DISABLE: u8 = 0x08;
/// The bits of port 0x61 a write changes.
pub const PORTB_WRITABLE: u8 = 0x0F;
/// Port 0x61 bit 4 (read only): refresh detect, toggles every refresh cycle.
pub const PORTB_REFRESH: u8 = 0x10;
/// Port 0x61 bit 5 (read only): channel 2 OUT.
pub const PORTB_OUT2: u8 = 0x20;
/// Port 0x61 bit 6 (read only): I/O channel check error (never set here).
pub const PORTB_IOCHK: u8 = 0x40;
/// Port 0x61 bit 7 (read only): RAM parity error (never set here).
pub const PORTB_PARITY_ERROR: u8 = 0x80;

/// PIT clocks per DRAM refresh cycle (channel 1's AT count: 15.09 µs).
pub const REFRESH_TICKS: u64 = 18;

/// Modulus of binary counting.
const BINARY_MODULUS: u32 = 0x1_0000;
/// Modulus of BCD counting.
const BCD_MODULUS: u32 = 10_000;
/// What the unreadable control register reads as.
const FLOATING_BUS: u8 = 0xFF;

/// Warn-once site: a counter programmed with an illegal count.
const WARN_ILLEGAL_COUNT: u32 = 0;

/// One stretch of counting: the counting element held `start` right after
/// clock pulse `base` and counts on from there by the mode's rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Segment {
    base: u64,
    /// Clocks until the count expires (1 ..= modulus; 0 is stored as the modulus).
    start: u32,
    /// Modes 0, 1, 4: the one output event already happened before `base`.
    done: bool,
    /// Mode 3: the segment begins with the low half-cycle.
    first_low: bool,
}

/// Mode 3 half-cycle lengths for count `n`: (high, low). An odd count spends
/// the extra clock high (datasheet, "Mode 3").
fn square_halves(n: u32) -> (u64, u64) {
    let n = u64::from(n);
    (n.div_ceil(2), n / 2)
}

impl Segment {
    fn fresh(base: u64, start: u32) -> Self {
        Segment {
            base,
            start,
            done: false,
            first_low: false,
        }
    }

    fn start(&self) -> u64 {
        u64::from(self.start)
    }

    /// Length of the first half-cycle of a mode 3 segment.
    fn first_half(&self) -> u64 {
        let (high, low) = square_halves(self.start);
        if self.first_low {
            low
        } else {
            high
        }
    }

    /// OUT after clock pulse `p`.
    fn out(&self, mode: u8, p: u64) -> bool {
        let elapsed = p.checked_sub(self.base);
        match mode {
            // Low until the count expires, then high until reprogrammed.
            0 | 1 => self.done || elapsed.is_some_and(|e| e >= self.start()),
            // Low for the one clock in which the count is 1.
            2 => match elapsed {
                Some(e) if self.start >= 2 => e % self.start() != self.start() - 1,
                _ => true,
            },
            3 => match elapsed {
                Some(e) => {
                    let (high, low) = square_halves(self.start);
                    if high == 0 || low == 0 {
                        return true;
                    }
                    let in_first = e % self.start() < self.first_half();
                    in_first != self.first_low
                }
                None => true,
            },
            // Modes 4 and 5: low for the one clock after the count expires.
            _ => self.done || elapsed != Some(self.start()),
        }
    }

    /// The first pulse after `p` at which OUT differs from OUT at `p`.
    fn next_change(&self, mode: u8, p: u64) -> Option<u64> {
        let expiry = self.base.saturating_add(self.start());
        match mode {
            0 | 1 => (!self.done && p < expiry).then_some(expiry),
            2 => {
                if self.start < 2 {
                    return None;
                }
                let n = self.start();
                if p < self.base {
                    return Some(self.base + n - 1);
                }
                let k = (p - self.base) % n;
                Some(if k == n - 1 { p + 1 } else { p + (n - 1 - k) })
            }
            3 => {
                let (high, low) = square_halves(self.start);
                if high == 0 || low == 0 {
                    return None;
                }
                let n = self.start();
                if p < self.base {
                    return Some(if self.first_low {
                        self.base
                    } else {
                        self.base + high
                    });
                }
                let x = (p - self.base) % n;
                let first = self.first_half();
                Some(if x < first {
                    p + (first - x)
                } else {
                    p + (n - x)
                })
            }
            _ => {
                if self.done || p > expiry {
                    None
                } else if p < expiry {
                    Some(expiry)
                } else {
                    Some(expiry + 1)
                }
            }
        }
    }

    /// The counting element after clock pulse `p`, `0..modulus`.
    fn count(&self, mode: u8, p: u64, modulus: u32) -> u32 {
        let m = u64::from(modulus);
        let Some(e) = p.checked_sub(self.base) else {
            return self.start % modulus;
        };
        let value = match mode {
            2 => self.start() - e % self.start(),
            3 => {
                let n = self.start();
                let x = e % n;
                let first = self.first_half();
                let into_half = if x < first { x } else { x - first };
                // Even counts load n, odd counts n - 1; both step by two.
                let top = n & !1;
                top.saturating_sub(2 * into_half)
            }
            _ => self.start() + m - e % m,
        };
        (value % m) as u32
    }

    /// Mode 2/3: the first reload point after `p` (end of the period, or of
    /// the half-cycle in mode 3), where a newly written count takes over.
    fn next_reload(&self, mode: u8, p: u64) -> u64 {
        let n = self.start();
        let x = (p - self.base) % n;
        if mode == 3 && x < self.first_half() {
            p + (self.first_half() - x)
        } else {
            p + (n - x)
        }
    }
}

/// What a counter's counting element is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Run {
    /// Control word written, no count yet. Holds the old count.
    Idle { held: u32 },
    /// Modes 1 and 5: count written, waiting for a GATE rising edge.
    Armed { held: u32 },
    /// Counting inhibited (GATE low, or mode 0 between the two bytes of a
    /// count). `done`: modes 0/4 already produced their output event.
    Held { held: u32, done: bool },
    /// Counting.
    Counting(Segment),
}

/// One of the three counters.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Channel {
    /// Control word bits 5–0 as last written.
    ctrl: u8,
    /// Mode 0–5.
    mode: u8,
    /// Count register: the last count written (raw, BCD if BCD counting).
    cr: u16,
    /// LSB-then-MSB access: the next write is the MSB.
    write_msb: bool,
    /// LSB-then-MSB access: the next read is the MSB.
    read_msb: bool,
    /// Output latch holding a latched count.
    latch: Option<u16>,
    /// Latched status byte.
    status: Option<u8>,
    gate: bool,
    run: Run,
    /// Modes 2/3: a count written while counting, taking over at `base`.
    pending: Option<Segment>,
    /// Null Count is set while the current tick is below this.
    null_until: u64,
}

/// Decodes the mode field (110 and 111 are modes 2 and 3).
fn mode_of(ctrl: u8) -> u8 {
    match (ctrl & CTRL_MODE_MASK) >> CTRL_MODE_SHIFT {
        m @ 6..=7 => m - 4,
        m => m,
    }
}

/// A 4-digit BCD value to binary. Digits above 9 are taken at face value, as
/// the counter's decade logic would mis-count them; the result stays in range.
fn from_bcd(raw: u16) -> u32 {
    let d = |shift: u16| u32::from((raw >> shift) & 0xF);
    (d(12) * 1000 + d(8) * 100 + d(4) * 10 + d(0)) % BCD_MODULUS
}

/// Binary `0..10000` to 4-digit BCD.
fn to_bcd(value: u32) -> u16 {
    let v = value % BCD_MODULUS;
    (((v / 1000) << 12) | ((v / 100 % 10) << 8) | ((v / 10 % 10) << 4) | (v % 10)) as u16
}

impl Channel {
    fn new(gate: bool) -> Self {
        Channel {
            ctrl: CTRL_ACCESS_WORD,
            mode: 0,
            cr: 0,
            write_msb: false,
            read_msb: false,
            latch: None,
            status: None,
            gate,
            run: Run::Idle { held: 0 },
            pending: None,
            null_until: u64::MAX,
        }
    }

    fn bcd(&self) -> bool {
        self.ctrl & CTRL_BCD != 0
    }

    fn modulus(&self) -> u32 {
        if self.bcd() {
            BCD_MODULUS
        } else {
            BINARY_MODULUS
        }
    }

    /// A count register value as clocks until expiry (0 means the modulus).
    fn effective(&self, value: u32) -> u32 {
        match value % self.modulus() {
            0 => self.modulus(),
            v => v,
        }
    }

    /// The count register as clocks until expiry.
    fn initial(&self) -> u32 {
        let raw = if self.bcd() {
            from_bcd(self.cr)
        } else {
            u32::from(self.cr)
        };
        self.effective(raw)
    }

    /// Adopts a pending count whose time has come.
    fn normalize(&mut self, p: u64) {
        if let Some(next) = self.pending {
            if p >= next.base {
                self.run = Run::Counting(next);
                self.pending = None;
            }
        }
    }

    /// The segment in force at `p`, if counting.
    fn segment_at(&self, p: u64) -> Option<Segment> {
        match (self.pending, self.run) {
            (Some(next), _) if p >= next.base => Some(next),
            (_, Run::Counting(seg)) => Some(seg),
            _ => None,
        }
    }

    fn out(&self, p: u64) -> bool {
        if let Some(seg) = self.segment_at(p) {
            return seg.out(self.mode, p);
        }
        match self.run {
            Run::Idle { .. } => self.mode != 0,
            Run::Held { done, .. } if self.mode == 0 => done,
            _ => true,
        }
    }

    /// The first pulse after `p` at which OUT changes, if it ever does
    /// without further programming.
    fn next_change(&self, p: u64) -> Option<u64> {
        let Run::Counting(seg) = self.run else {
            return None;
        };
        let Some(next) = self.pending else {
            return seg.next_change(self.mode, p);
        };
        if p >= next.base {
            return next.next_change(self.mode, p);
        }
        match seg.next_change(self.mode, p) {
            Some(e) if e < next.base => Some(e),
            _ if next.out(self.mode, next.base) != seg.out(self.mode, p) => Some(next.base),
            _ => next.next_change(self.mode, next.base),
        }
    }

    /// The counting element at `p`, binary, `0..modulus`.
    fn count(&self, p: u64) -> u32 {
        let m = self.modulus();
        match (self.pending, self.run) {
            (Some(next), _) if p >= next.base => next.count(self.mode, p, m),
            (_, Run::Counting(seg)) => seg.count(self.mode, p, m),
            (_, Run::Idle { held } | Run::Armed { held } | Run::Held { held, .. }) => held % m,
        }
    }

    /// The count as the guest reads it (BCD if BCD counting).
    fn register_count(&self, p: u64) -> u16 {
        let c = self.count(p);
        if self.bcd() {
            to_bcd(c)
        } else {
            c as u16
        }
    }

    fn status_byte(&self, p: u64) -> u8 {
        let mut s = self.ctrl & CTRL_PROGRAMMED;
        if self.out(p) {
            s |= STATUS_OUT;
        }
        if p < self.null_until {
            s |= STATUS_NULL_COUNT;
        }
        s
    }

    fn control(&mut self, p: u64, ctrl: u8) {
        let held = self.count(p);
        self.ctrl = ctrl & CTRL_PROGRAMMED;
        self.mode = mode_of(ctrl);
        self.run = Run::Idle { held };
        self.pending = None;
        self.latch = None;
        self.status = None;
        self.write_msb = false;
        self.read_msb = false;
        self.null_until = u64::MAX;
    }

    fn latch_count(&mut self, p: u64) {
        // A latched count not yet read makes later latch commands no-ops.
        if self.latch.is_none() {
            self.latch = Some(self.register_count(p));
            self.read_msb = false;
        }
    }

    fn latch_status(&mut self, p: u64) {
        if self.status.is_none() {
            self.status = Some(self.status_byte(p));
        }
    }

    fn read(&mut self, p: u64) -> u8 {
        if let Some(status) = self.status.take() {
            return status;
        }
        let [lsb, msb] = self
            .latch
            .unwrap_or_else(|| self.register_count(p))
            .to_le_bytes();
        match self.ctrl & CTRL_ACCESS_MASK {
            CTRL_ACCESS_LSB => {
                self.latch = None;
                lsb
            }
            CTRL_ACCESS_MSB => {
                self.latch = None;
                msb
            }
            _ if !self.read_msb => {
                self.read_msb = true;
                lsb
            }
            _ => {
                self.read_msb = false;
                self.latch = None;
                msb
            }
        }
    }

    /// Writes a count byte; returns whether a whole count was written.
    fn write(&mut self, p: u64, byte: u8) -> bool {
        let byte = u16::from(byte);
        match self.ctrl & CTRL_ACCESS_MASK {
            CTRL_ACCESS_LSB => self.cr = byte,
            CTRL_ACCESS_MSB => self.cr = byte << 8,
            _ if !self.write_msb => {
                self.cr = (self.cr & 0xFF00) | byte;
                self.write_msb = true;
                if self.mode == 0 {
                    // Mode 0: the first byte stops counting and drops OUT.
                    self.normalize(p);
                    self.run = Run::Held {
                        held: self.count(p),
                        done: false,
                    };
                }
                return false;
            }
            _ => {
                self.cr = (self.cr & 0x00FF) | (byte << 8);
                self.write_msb = false;
            }
        }
        self.load(p);
        true
    }

    /// A whole new count is in the count register.
    fn load(&mut self, p: u64) {
        self.normalize(p);
        let n = self.initial();
        match self.mode {
            0 | 4 => {
                self.run = if self.gate {
                    Run::Counting(Segment::fresh(p + 1, n))
                } else {
                    Run::Held {
                        held: n % self.modulus(),
                        done: false,
                    }
                };
                self.pending = None;
                self.null_until = p + 1;
            }
            1 | 5 => {
                // Loaded by the next GATE trigger; a running one-shot goes on.
                if let Run::Idle { held } = self.run {
                    self.run = Run::Armed { held };
                }
                self.null_until = u64::MAX;
            }
            _ => match self.run {
                Run::Counting(seg) if p >= seg.base => {
                    // Datasheet: a new count takes effect at the end of the
                    // current period (mode 2) or half-cycle (mode 3).
                    let at = seg.next_reload(self.mode, p);
                    // Mode 3: after the first half-cycle comes the other
                    // level; after a whole period, the same one again.
                    let ends_first_half = (at - seg.base) % seg.start() != 0;
                    self.pending = Some(Segment {
                        base: at,
                        start: n,
                        done: false,
                        first_low: self.mode == 3 && (ends_first_half != seg.first_low),
                    });
                    self.null_until = at;
                }
                _ if self.gate => {
                    self.run = Run::Counting(Segment::fresh(p + 1, n));
                    self.pending = None;
                    self.null_until = p + 1;
                }
                _ => {
                    // GATE low: loaded when GATE rises.
                    self.run = Run::Held {
                        held: self.count(p),
                        done: false,
                    };
                    self.null_until = u64::MAX;
                }
            },
        }
    }

    fn set_gate(&mut self, p: u64, high: bool) {
        if high == self.gate {
            return;
        }
        self.normalize(p);
        self.gate = high;
        let m = self.modulus();
        match (self.mode, high) {
            (0 | 4, true) => {
                if let Run::Held { held, done } = self.run {
                    if !(self.mode == 0 && self.write_msb) {
                        self.run = Run::Counting(Segment {
                            base: p,
                            start: self.effective(held),
                            done,
                            first_low: false,
                        });
                    }
                }
            }
            (0 | 4, false) => {
                if let Run::Counting(seg) = self.run {
                    let expired = p >= seg.base.saturating_add(seg.start());
                    self.run = Run::Held {
                        held: seg.count(self.mode, p, m),
                        done: seg.done || expired,
                    };
                }
            }
            // Modes 1 and 5 trigger, modes 2 and 3 restart, on a rising GATE
            // (once a count was written), loading the count register on the
            // next clock.
            (_, true) if !matches!(self.run, Run::Idle { .. }) => {
                self.run = Run::Counting(Segment::fresh(p + 1, self.initial()));
                self.pending = None;
                self.null_until = self.null_until.min(p + 1);
            }
            (2 | 3, false) => {
                // Counting stops and OUT goes high at once.
                if let Run::Counting(seg) = self.run {
                    self.run = Run::Held {
                        held: seg.count(self.mode, p, m),
                        done: false,
                    };
                    self.pending = None;
                }
            }
            // Modes 1 and 5 ignore a falling GATE; nothing to restart yet.
            _ => {}
        }
    }
}

/// The 8254 timer with port 0x61's timer bits.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pit8254 {
    channels: [Channel; 3],
    cycles_per_second: u64,
    /// Port 0x61 bits 0–3 as written.
    port_b: u8,
    /// The tick up to which IRQ0 reflects channel 0's OUT.
    irq0_synced: u64,
    /// The latest time the timer was told about (for `inspect`).
    last_now: Cycles,
    #[serde(skip)]
    once: Once,
}

impl Pit8254 {
    /// A timer whose CPU runs at `cycles_per_second` (values below 1 are taken
    /// as 1).
    pub fn new(cycles_per_second: u64) -> Self {
        Pit8254 {
            channels: [Channel::new(true), Channel::new(true), Channel::new(false)],
            cycles_per_second: cycles_per_second.max(1),
            port_b: 0,
            irq0_synced: 0,
            last_now: Cycles::ZERO,
            once: Once::default(),
        }
    }

    /// The PIT clock pulses that have happened by cycle `now`.
    pub fn tick_at(&self, now: Cycles) -> u64 {
        let ticks = u128::from(now.0) * u128::from(PIT_HZ) / u128::from(self.cycles_per_second);
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }

    /// The first cycle by which PIT clock pulse `tick` has happened.
    pub fn cycle_of(&self, tick: u64) -> Cycles {
        let cycles =
            (u128::from(tick) * u128::from(self.cycles_per_second)).div_ceil(u128::from(PIT_HZ));
        Cycles(u64::try_from(cycles).unwrap_or(u64::MAX))
    }

    /// Channel `channel`'s OUT at `now` (false for channels above 2). `now`
    /// must not be earlier than the last access to the timer.
    pub fn output(&self, channel: usize, now: Cycles) -> bool {
        self.channels
            .get(channel)
            .is_some_and(|ch| ch.out(self.tick_at(now)))
    }

    /// Whether the speaker data enable (port 0x61 bit 1) is set: the speaker
    /// follows channel 2's OUT.
    pub fn speaker_enabled(&self) -> bool {
        self.port_b & PORTB_SPEAKER != 0
    }

    /// The frequency of channel 2's output in Hz when it is producing a
    /// periodic wave (mode 2 or 3, GATE high, count loaded), as of the last
    /// access to the timer. `None` when OUT is steady.
    pub fn channel2_output_frequency(&self) -> Option<f64> {
        let ch = &self.channels[2];
        if !ch.gate || !matches!(ch.mode, 2 | 3) {
            return None;
        }
        let seg = ch.segment_at(self.tick_at(self.last_now))?;
        (seg.start >= 2).then(|| PIT_HZ as f64 / f64::from(seg.start))
    }

    /// Port 0x61 as the guest would read it at `now`.
    pub fn port_b(&self, now: Cycles) -> u8 {
        let p = self.tick_at(now);
        let mut value = self.port_b & PORTB_WRITABLE;
        if (p / REFRESH_TICKS) & 1 != 0 {
            value |= PORTB_REFRESH;
        }
        if self.channels[2].out(p) {
            value |= PORTB_OUT2;
        }
        value
    }

    /// Power-on state: every counter unprogrammed (mode 0, OUT low), port
    /// 0x61 clear. The board's reset signal resets the integrated timer too.
    pub fn reset_state(&mut self) {
        let cps = self.cycles_per_second;
        let now = self.last_now;
        *self = Pit8254::new(cps);
        self.last_now = now;
        self.irq0_synced = self.tick_at(now);
    }

    /// A command written to port 0x43.
    fn command(&mut self, p: u64, value: u8) {
        let select = value >> CTRL_SELECT_SHIFT;
        if select == CTRL_SELECT_READBACK {
            for (i, ch) in self.channels.iter_mut().enumerate() {
                if value & (READBACK_COUNTER0 << i) == 0 {
                    continue;
                }
                if value & READBACK_NO_COUNT == 0 {
                    ch.latch_count(p);
                }
                if value & READBACK_NO_STATUS == 0 {
                    ch.latch_status(p);
                }
            }
            return;
        }
        let ch = &mut self.channels[usize::from(select)];
        if value & CTRL_ACCESS_MASK == CTRL_ACCESS_LATCH {
            ch.latch_count(p);
        } else {
            ch.control(p, value);
        }
    }

    /// Brings IRQ0 up to tick `p`: reports the edges of channel 0's OUT since
    /// the last look (at least one rising edge if any happened, however many
    /// were missed) and leaves the line at OUT's level at `p`.
    fn sync_irq0(&mut self, p: u64, cx: &mut IoCx) {
        let ch = &self.channels[0];
        let from = self.irq0_synced.min(p);
        if let Some(first) = ch.next_change(from).filter(|&e| e <= p) {
            let rose = ch.out(first) || ch.next_change(first).is_some_and(|e| e <= p);
            if rose {
                cx.irq.lower(PIT_IRQ);
                cx.irq.raise(PIT_IRQ);
            }
        }
        cx.irq.set(PIT_IRQ, ch.out(p));
        self.irq0_synced = p;
    }

    /// Asks for an event at the next edge of channel 0's OUT after tick `p`.
    fn schedule_irq0(&self, p: u64, cx: &mut IoCx) {
        match self.channels[0].next_change(p) {
            Some(tick) => cx.sched.schedule(EventKind::Pit, self.cycle_of(tick)),
            None => cx.sched.cancel(EventKind::Pit),
        }
    }

    fn warn_illegal_count(&mut self, channel: usize) {
        let ch = &self.channels[channel];
        if matches!(ch.mode, 2 | 3) && ch.initial() == 1 && self.once.first(WARN_ILLEGAL_COUNT) {
            log::warn!(
                "8254 channel {channel}: count 1 is illegal in mode {}; OUT stays high",
                ch.mode
            );
        }
    }
}

impl Device for Pit8254 {
    fn name(&self) -> &'static str {
        "pit"
    }

    fn io_read(&mut self, port: u16, _size: u8, cx: &mut IoCx) -> u32 {
        self.last_now = self.last_now.max(cx.now);
        let p = self.tick_at(cx.now);
        let value = match port {
            PIT_CHANNEL0..=PIT_CHANNEL2 => self.channels[usize::from(port - PIT_CHANNEL0)].read(p),
            PORT_B => self.port_b(cx.now),
            _ => FLOATING_BUS,
        };
        u32::from(value)
    }

    fn io_write(&mut self, port: u16, _size: u8, value: u32, cx: &mut IoCx) {
        self.last_now = self.last_now.max(cx.now);
        let p = self.tick_at(cx.now);
        let byte = value as u8;
        // Edges up to now happened under the old programming.
        self.sync_irq0(p, cx);
        match port {
            PIT_CHANNEL0..=PIT_CHANNEL2 => {
                let i = usize::from(port - PIT_CHANNEL0);
                if self.channels[i].write(p, byte) {
                    self.warn_illegal_count(i);
                }
            }
            PIT_CONTROL => self.command(p, byte),
            PORT_B => {
                self.port_b = byte & PORTB_WRITABLE;
                self.channels[2].set_gate(p, byte & PORTB_GATE2 != 0);
            }
            _ => {}
        }
        self.sync_irq0(p, cx);
        self.schedule_irq0(p, cx);
    }

    fn reset(&mut self, _kind: ResetKind) {
        self.reset_state();
    }

    fn on_event(&mut self, event: EventKind, cx: &mut IoCx) {
        if event != EventKind::Pit {
            return;
        }
        self.last_now = self.last_now.max(cx.now);
        let p = self.tick_at(cx.now);
        self.sync_irq0(p, cx);
        self.schedule_irq0(p, cx);
    }

    fn inspect(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let p = self.tick_at(self.last_now);
        writeln!(
            out,
            "pit: 8254 at {PIT_HZ} Hz, CPU {} Hz; as of cycle {} (PIT tick {p})",
            self.cycles_per_second, self.last_now.0
        )?;
        for (i, ch) in self.channels.iter().enumerate() {
            let access = match ch.ctrl & CTRL_ACCESS_MASK {
                CTRL_ACCESS_LSB => "lsb",
                CTRL_ACCESS_MSB => "msb",
                _ => "lsb/msb",
            };
            let state = match ch.run {
                Run::Idle { .. } => "no count",
                Run::Armed { .. } => "awaiting gate",
                Run::Held { .. } => "held",
                Run::Counting(_) => "counting",
            };
            writeln!(
                out,
                "  ch{i}: mode {} {} {access}, reload {:#06x}, count {:#06x}, OUT {}, gate {}, {state}{}{}{}",
                ch.mode,
                if ch.bcd() { "bcd" } else { "binary" },
                ch.cr,
                ch.register_count(p),
                u8::from(ch.out(p)),
                u8::from(ch.gate),
                if p < ch.null_until { ", null count" } else { "" },
                ch.latch.map_or(String::new(), |l| format!(", latched {l:#06x}")),
                ch.status.map_or(String::new(), |s| format!(", status {s:#04x}")),
            )?;
        }
        let b = self.port_b(self.last_now);
        write!(
            out,
            "  port 0x61: {b:#04x} (gate2 {}, speaker {})",
            b & PORTB_GATE2,
            if self.speaker_enabled() { "on" } else { "off" }
        )?;
        match self.channel2_output_frequency() {
            Some(f) => writeln!(out, ", ch2 tone {f:.1} Hz"),
            None => writeln!(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::Signals;
    use crate::irq::IrqLines;
    use crate::time::Scheduler;

    /// A timer with its own scheduler and IRQ lines; `cps == PIT_HZ` makes one
    /// cycle one PIT clock, which keeps the arithmetic in the tests plain.
    struct Rig {
        pit: Pit8254,
        sched: Scheduler,
        irq: IrqLines,
        signals: Signals,
        now: Cycles,
    }

    impl Rig {
        fn new(cps: u64) -> Self {
            Rig {
                pit: Pit8254::new(cps),
                sched: Scheduler::new(),
                irq: IrqLines::new(),
                signals: Signals::default(),
                now: Cycles::ZERO,
            }
        }

        fn at(&mut self, t: u64) -> &mut Self {
            assert!(Cycles(t) >= self.now, "time runs forward");
            self.now = Cycles(t);
            self
        }

        fn write(&mut self, port: u16, value: u8) {
            let mut cx = IoCx {
                now: self.now,
                sched: &mut self.sched,
                irq: &mut self.irq,
                signals: &mut self.signals,
                dma: &mut crate::bus::NoDma,
            };
            self.pit.io_write(port, 1, u32::from(value), &mut cx);
        }

        fn read(&mut self, port: u16) -> u8 {
            let mut cx = IoCx {
                now: self.now,
                sched: &mut self.sched,
                irq: &mut self.irq,
                signals: &mut self.signals,
                dma: &mut crate::bus::NoDma,
            };
            self.pit.io_read(port, 1, &mut cx) as u8
        }

        /// Runs events until `t`, recording (cycle, IRQ0 level) after each,
        /// and rising edges seen.
        fn run_to(&mut self, t: u64) -> Vec<(u64, bool)> {
            let mut seen = Vec::new();
            while self.sched.next_deadline() <= Cycles(t) {
                let at = self.sched.next_deadline();
                self.now = at;
                let kind = self.sched.pop_due(at).unwrap();
                let mut cx = IoCx {
                    now: self.now,
                    sched: &mut self.sched,
                    irq: &mut self.irq,
                    signals: &mut self.signals,
                    dma: &mut crate::bus::NoDma,
                };
                self.pit.on_event(kind, &mut cx);
                seen.push((at.0, self.irq.is_high(PIT_IRQ)));
            }
            self.now = Cycles(t);
            seen
        }

        fn program(&mut self, channel: u8, ctrl: u8, count: u16) {
            self.write(PIT_CONTROL, (channel << CTRL_SELECT_SHIFT) | ctrl);
            let [lsb, msb] = count.to_le_bytes();
            match ctrl & CTRL_ACCESS_MASK {
                CTRL_ACCESS_LSB => self.write(PIT_CHANNEL0 + u16::from(channel), lsb),
                CTRL_ACCESS_MSB => self.write(PIT_CHANNEL0 + u16::from(channel), msb),
                _ => {
                    self.write(PIT_CHANNEL0 + u16::from(channel), lsb);
                    self.write(PIT_CHANNEL0 + u16::from(channel), msb);
                }
            }
        }

        fn latched_count(&mut self, channel: u8) -> u16 {
            self.write(PIT_CONTROL, channel << CTRL_SELECT_SHIFT);
            let port = PIT_CHANNEL0 + u16::from(channel);
            u16::from_le_bytes([self.read(port), self.read(port)])
        }

        fn status(&mut self, channel: u8) -> u8 {
            self.write(
                PIT_CONTROL,
                0xC0 | READBACK_NO_COUNT | (READBACK_COUNTER0 << channel),
            );
            self.read(PIT_CHANNEL0 + u16::from(channel))
        }

        fn out(&self, channel: usize, t: u64) -> bool {
            self.pit.output(channel, Cycles(t))
        }
    }

    const MODE0: u8 = 0x00;
    const MODE1: u8 = 0x02;
    const MODE2: u8 = 0x04;
    const MODE3: u8 = 0x06;
    const MODE4: u8 = 0x08;
    const MODE5: u8 = 0x0A;
    const WORD: u8 = CTRL_ACCESS_WORD;

    #[test]
    fn mode2_rate_generator_pulses_irq0_every_period() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE2, 100);
        assert!(
            r.irq.is_high(PIT_IRQ),
            "mode 2 OUT is high after the control word"
        );
        r.irq.take_rising();
        // Loaded at tick 1; OUT low while the count is 1 (tick 100), high at 101.
        let seen = r.run_to(350);
        assert_eq!(
            seen,
            vec![
                (100, false),
                (101, true),
                (200, false),
                (201, true),
                (300, false),
                (301, true)
            ]
        );
        assert!(r.irq.take_rising() != 0);
        assert_eq!(r.sched.deadline(EventKind::Pit), Some(Cycles(400)));
    }

    #[test]
    fn mode2_counts_down_and_reloads() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE2, 10);
        assert_eq!(r.at(1).latched_count(0), 10);
        assert_eq!(r.at(5).latched_count(0), 6);
        assert_eq!(r.at(10).latched_count(0), 1);
        assert_eq!(r.at(11).latched_count(0), 10);
    }

    #[test]
    fn cpu_clock_scales_the_period() {
        // A CPU three times as fast as the PIT clock: 3 cycles per tick.
        let mut r = Rig::new(3 * PIT_HZ);
        r.at(0).program(0, WORD | MODE2, 100);
        let seen = r.run_to(700);
        let rises: Vec<u64> = seen.iter().filter(|e| e.1).map(|e| e.0).collect();
        assert_eq!(rises, vec![303, 603]);
        assert_eq!(r.pit.tick_at(Cycles(303)), 101);
        assert_eq!(r.pit.cycle_of(101), Cycles(303));
    }

    #[test]
    fn realistic_clock_gives_18_2_hz() {
        let cps = 33_000_000;
        let mut r = Rig::new(cps);
        r.at(0).program(0, WORD | MODE3, 0); // 65536: the BIOS tick
        let seen = r.run_to(cps); // one second
        let rises = seen.iter().filter(|e| e.1).count();
        assert_eq!(rises, 18);
    }

    #[test]
    fn late_event_still_reports_one_rising_edge() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE2, 100);
        r.irq.take_rising();
        // The CPU was away for several periods; the event fires late.
        r.now = Cycles(1000);
        let kind = r.sched.pop_due(Cycles(1000)).unwrap();
        let mut cx = IoCx {
            now: r.now,
            sched: &mut r.sched,
            irq: &mut r.irq,
            signals: &mut r.signals,
            dma: &mut crate::bus::NoDma,
        };
        r.pit.on_event(kind, &mut cx);
        assert_eq!(r.irq.take_rising(), 1 << PIT_IRQ);
        // Tick 1000 is the low clock of the 10th period; the rise follows.
        assert!(!r.irq.is_high(PIT_IRQ));
        assert_eq!(r.sched.deadline(EventKind::Pit), Some(Cycles(1001)));
    }

    #[test]
    fn mode0_interrupt_on_terminal_count() {
        let mut r = Rig::new(PIT_HZ);
        r.at(10).program(0, WORD | MODE0, 5);
        assert!(!r.irq.is_high(PIT_IRQ));
        assert_eq!(r.sched.deadline(EventKind::Pit), Some(Cycles(16)));
        assert_eq!(r.at(12).latched_count(0), 4);
        // OUT goes high N + 1 clocks after the count was written, and stays.
        assert_eq!(r.run_to(15), vec![]);
        assert_eq!(r.run_to(1000), vec![(16, true)]);
        assert!(r.out(0, 5000));
        assert_eq!(r.sched.deadline(EventKind::Pit), None);
        // The counter wraps and keeps counting.
        assert_eq!(r.latched_count(0), (5u32 + 0x1_0000 - 989) as u16);
    }

    #[test]
    fn mode0_first_byte_stops_counting() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE0, 3);
        r.run_to(10);
        assert!(r.irq.is_high(PIT_IRQ));
        r.at(20).write(PIT_CHANNEL0, 50);
        assert!(!r.irq.is_high(PIT_IRQ), "OUT drops on the first byte");
        let held = r.at(30).latched_count(0);
        assert_eq!(r.at(40).latched_count(0), held, "counting is disabled");
        r.at(40).write(PIT_CHANNEL0, 0);
        assert_eq!(r.sched.deadline(EventKind::Pit), Some(Cycles(91)));
    }

    #[test]
    fn mode3_square_wave_even_count() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE3, 10);
        let seen = r.run_to(31);
        assert_eq!(
            seen,
            vec![
                (6, false),
                (11, true),
                (16, false),
                (21, true),
                (26, false),
                (31, true)
            ]
        );
        // Counts down by two within each half.
        assert_eq!(r.at(32).latched_count(0), 8);
    }

    #[test]
    fn mode3_square_wave_odd_count_is_high_longer() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE3, 5);
        // High 3 clocks, low 2.
        let seen = r.run_to(11);
        assert_eq!(seen, vec![(4, false), (6, true), (9, false), (11, true)]);
    }

    #[test]
    fn mode4_software_strobe_once() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE4, 3);
        assert!(r.irq.is_high(PIT_IRQ));
        let seen = r.run_to(10_000);
        assert_eq!(seen, vec![(4, false), (5, true)]);
        assert_eq!(r.sched.deadline(EventKind::Pit), None);
    }

    #[test]
    fn mode1_one_shot_needs_a_gate_trigger() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(2, WORD | MODE1, 4);
        assert!(r.out(2, 100), "armed, not triggered");
        r.at(10).write(PORT_B, PORTB_GATE2);
        // Loaded on the clock after the trigger, low for 4 clocks.
        assert!(!r.out(2, 11));
        assert!(!r.out(2, 14));
        assert!(r.out(2, 15));
        // Retrigger restarts the one-shot.
        r.at(20).write(PORT_B, 0);
        r.at(21).write(PORT_B, PORTB_GATE2);
        assert!(!r.out(2, 24));
        assert!(r.out(2, 26));
    }

    #[test]
    fn mode5_hardware_strobe() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(2, WORD | MODE5, 3);
        r.at(10).write(PORT_B, PORTB_GATE2);
        assert!(r.out(2, 13));
        assert!(!r.out(2, 14));
        assert!(r.out(2, 15));
    }

    #[test]
    fn gate_low_stops_mode2_and_forces_out_high() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).write(PORT_B, PORTB_GATE2);
        r.program(2, WORD | MODE2, 10);
        assert!(!r.out(2, 10));
        r.at(15).write(PORT_B, 0);
        let held = r.latched_count(2);
        assert!(r.out(2, 20) && r.out(2, 100));
        assert_eq!(r.at(50).latched_count(2), held);
        // GATE rising reloads on the next clock.
        r.at(60).write(PORT_B, PORTB_GATE2);
        assert_eq!(r.at(61).latched_count(2), 10);
        assert!(!r.out(2, 70));
    }

    #[test]
    fn gate_low_pauses_mode0() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).write(PORT_B, PORTB_GATE2);
        r.program(2, WORD | MODE0, 10);
        r.at(5).write(PORT_B, 0);
        assert_eq!(r.latched_count(2), 6);
        r.at(100).write(PORT_B, PORTB_GATE2);
        assert!(!r.out(2, 105));
        assert!(r.out(2, 106));
    }

    #[test]
    fn mode2_new_count_waits_for_the_period_end() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE2, 100);
        r.at(50).write(PIT_CHANNEL0, 20);
        r.write(PIT_CHANNEL0, 0);
        assert_ne!(r.status(0) & STATUS_NULL_COUNT, 0);
        let seen = r.run_to(200);
        // The current period ends as planned (101), then 20-clock periods.
        let rises: Vec<u64> = seen.iter().filter(|e| e.1).map(|e| e.0).collect();
        assert_eq!(rises, vec![101, 121, 141, 161, 181]);
        assert_eq!(r.status(0) & STATUS_NULL_COUNT, 0);
    }

    #[test]
    fn mode3_new_count_waits_for_the_half_cycle_end() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE3, 100);
        // Tick 20 is in the first (high) half, which ends at 51.
        r.at(20).write(PIT_CHANNEL0, 10);
        r.write(PIT_CHANNEL0, 0);
        let seen = r.run_to(80);
        assert_eq!(
            seen,
            vec![
                (51, false),
                (56, true),
                (61, false),
                (66, true),
                (71, false),
                (76, true)
            ]
        );
    }

    #[test]
    fn bcd_counting() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE0 | CTRL_BCD, 0x0010);
        assert_eq!(r.at(1).latched_count(0), 0x0010);
        assert_eq!(r.at(3).latched_count(0), 0x0008);
        assert!(!r.out(0, 10));
        assert!(r.out(0, 11));
        // Wraps to 9999 in BCD.
        assert_eq!(r.at(12).latched_count(0), 0x9999);
        // Count 0 in BCD is 10000 clocks.
        r.at(100).program(1, WORD | MODE2 | CTRL_BCD, 0);
        assert_eq!(r.at(101).latched_count(1), 0x0000);
        assert_eq!(r.at(102).latched_count(1), 0x9999);
    }

    #[test]
    fn counter_latch_freezes_the_read_value() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE2, 1000);
        r.at(100).write(PIT_CONTROL, 0x00);
        // A second latch before reading is ignored.
        r.at(200).write(PIT_CONTROL, 0x00);
        r.at(300);
        assert_eq!(
            u16::from_le_bytes([r.read(PIT_CHANNEL0), r.read(PIT_CHANNEL0)]),
            901
        );
        // Unlatched reads follow the counter.
        assert_eq!(
            u16::from_le_bytes([r.read(PIT_CHANNEL0), r.read(PIT_CHANNEL0)]),
            701
        );
    }

    #[test]
    fn lsb_only_and_msb_only_access() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(1, CTRL_ACCESS_LSB | MODE2, 0x0040);
        assert_eq!(r.at(1).read(PIT_CHANNEL1), 0x40);
        assert_eq!(r.read(PIT_CHANNEL1), 0x40, "LSB-only reads never toggle");
        r.at(10).program(1, CTRL_ACCESS_MSB | MODE2, 0x1200);
        assert_eq!(r.at(11).read(PIT_CHANNEL1), 0x12);
        assert_eq!(r.at(11).latched_count(1) & 0xFF, 0x12);
    }

    #[test]
    fn read_and_write_byte_pointers_are_separate() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE2, 0x1234);
        r.at(1).write(PIT_CONTROL, 0x00);
        // Datasheet's example: read LSB, write LSB, read MSB, write MSB.
        assert_eq!(r.read(PIT_CHANNEL0), 0x34);
        r.write(PIT_CHANNEL0, 0x78);
        assert_eq!(r.read(PIT_CHANNEL0), 0x12);
        r.write(PIT_CHANNEL0, 0x56);
        assert_eq!(r.pit.channels[0].cr, 0x5678);
    }

    #[test]
    fn read_back_gives_status_then_count() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE2, 500);
        r.at(50).write(PIT_CONTROL, 0xC0 | READBACK_COUNTER0);
        let status = r.read(PIT_CHANNEL0);
        assert_eq!(status, STATUS_OUT | WORD | MODE2);
        assert_eq!(
            u16::from_le_bytes([r.read(PIT_CHANNEL0), r.read(PIT_CHANNEL0)]),
            451
        );
    }

    #[test]
    fn read_back_status_latch_is_not_overwritten() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE0, 10);
        r.at(5)
            .write(PIT_CONTROL, 0xC0 | READBACK_NO_COUNT | READBACK_COUNTER0);
        // OUT went high meanwhile, but the first status stays latched.
        r.at(20)
            .write(PIT_CONTROL, 0xC0 | READBACK_NO_COUNT | READBACK_COUNTER0);
        assert_eq!(r.read(PIT_CHANNEL0) & STATUS_OUT, 0);
        assert_eq!(r.status(0) & STATUS_OUT, STATUS_OUT);
    }

    #[test]
    fn read_back_several_counters_at_once() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE2, 300);
        r.program(1, WORD | MODE3, 400);
        r.at(10)
            .write(PIT_CONTROL, 0xC0 | READBACK_NO_STATUS | 0x06);
        r.at(90);
        assert_eq!(
            u16::from_le_bytes([r.read(PIT_CHANNEL0), r.read(PIT_CHANNEL0)]),
            291
        );
        // Mode 3 counts down by two.
        assert_eq!(
            u16::from_le_bytes([r.read(PIT_CHANNEL1), r.read(PIT_CHANNEL1)]),
            382
        );
    }

    #[test]
    fn null_count_until_the_count_is_loaded() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).write(PIT_CONTROL, WORD | MODE2);
        assert_eq!(r.status(0), STATUS_NULL_COUNT | STATUS_OUT | WORD | MODE2);
        r.write(PIT_CHANNEL0, 10);
        r.write(PIT_CHANNEL0, 0);
        assert_ne!(r.status(0) & STATUS_NULL_COUNT, 0);
        assert_eq!(r.at(1).status(0) & STATUS_NULL_COUNT, 0);
    }

    #[test]
    fn mode_110_and_111_are_modes_2_and_3() {
        assert_eq!(mode_of(0x0C), 2);
        assert_eq!(mode_of(0x0E), 3);
        assert_eq!(mode_of(0x0A), 5);
    }

    #[test]
    fn port_b_refresh_toggle_and_out2() {
        let mut r = Rig::new(PIT_HZ);
        assert_eq!(r.at(0).read(PORT_B) & PORTB_REFRESH, 0);
        assert_eq!(
            r.at(REFRESH_TICKS).read(PORT_B) & PORTB_REFRESH,
            PORTB_REFRESH
        );
        assert_eq!(r.at(2 * REFRESH_TICKS).read(PORT_B) & PORTB_REFRESH, 0);
        r.write(PORT_B, 0xFF);
        assert_eq!(r.read(PORT_B) & 0xCF, PORTB_WRITABLE);
        r.write(PORT_B, PORTB_GATE2 | PORTB_SPEAKER);
        r.program(2, WORD | MODE3, 4);
        let t = r.now.0;
        assert_ne!(r.at(t + 1).read(PORT_B) & PORTB_OUT2, 0);
        assert_eq!(r.at(t + 3).read(PORT_B) & PORTB_OUT2, 0);
    }

    #[test]
    fn channel2_frequency_for_the_speaker() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(2, WORD | MODE3, 1193);
        assert_eq!(r.pit.channel2_output_frequency(), None, "gate low");
        r.write(PORT_B, PORTB_GATE2 | PORTB_SPEAKER);
        r.at(2).read(PORT_B);
        let f = r.pit.channel2_output_frequency().unwrap();
        assert!((f - 1000.15).abs() < 0.01, "{f}");
        assert!(r.pit.speaker_enabled());
    }

    #[test]
    fn illegal_count_one_is_harmless() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE2, 1);
        assert_eq!(r.sched.deadline(EventKind::Pit), None);
        r.program(0, WORD | MODE3, 1);
        assert_eq!(r.sched.deadline(EventKind::Pit), None);
        assert!(r.irq.is_high(PIT_IRQ));
    }

    #[test]
    fn reprogramming_ch0_cancels_its_event() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE2, 100);
        assert!(r.sched.deadline(EventKind::Pit).is_some());
        r.at(10).write(PIT_CONTROL, WORD | MODE0);
        assert_eq!(r.sched.deadline(EventKind::Pit), None);
        assert!(!r.irq.is_high(PIT_IRQ));
    }

    #[test]
    fn snapshot_round_trip_keeps_counting() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE2, 100);
        r.at(30).program(2, WORD | MODE3, 7);
        let text = serde_json::to_string(&r.pit).unwrap();
        r.pit = serde_json::from_str(&text).unwrap();
        assert_eq!(r.at(60).latched_count(0), 41);
        let seen = r.run_to(150);
        assert_eq!(seen, vec![(100, false), (101, true)]);
    }

    #[test]
    fn inspect_shows_every_channel() {
        let mut r = Rig::new(PIT_HZ);
        r.at(0).program(0, WORD | MODE2, 0x2E9C);
        let mut out = Vec::new();
        r.pit.inspect(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for needle in ["ch0: mode 2", "reload 0x2e9c", "ch1", "ch2", "port 0x61"] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
    }
}
