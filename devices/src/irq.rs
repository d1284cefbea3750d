//! The sixteen ISA interrupt request lines.
//!
//! Devices drive a line's level with [`IrqLines::raise`], [`IrqLines::lower`]
//! or [`IrqLines::set`]; the interrupt controllers read the levels when the
//! platform propagates them (after every port access and every batch of
//! events).
//!
//! Besides the level, each line remembers whether it rose since the last
//! propagation. Virtual time can squeeze two edges into one look — a timer
//! pulse that went low and high again, say — and an edge-triggered 8259 input
//! must still see that rising edge. [`IrqLines::take_rising`] hands those
//! edges to the controller and forgets them.

use serde::{Deserialize, Serialize};

/// Number of ISA interrupt request lines (IRQ0–IRQ15).
pub const IRQ_LINES: u8 = 16;

/// Level state of the ISA IRQ lines, plus rising edges not yet propagated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IrqLines {
    /// Bit `n` set: IRQ `n` is high.
    level: u16,
    /// Bit `n` set: IRQ `n` went from low to high since the last `take_rising`.
    rose: u16,
}

impl IrqLines {
    /// All lines low, no pending edges.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drives IRQ `n` high.
    pub fn raise(&mut self, n: u8) {
        self.set(n, true);
    }

    /// Drives IRQ `n` low.
    pub fn lower(&mut self, n: u8) {
        self.set(n, false);
    }

    /// Drives IRQ `n` to `high`.
    ///
    /// `n` must be below [`IRQ_LINES`]; the line number comes from device
    /// wiring, never from the guest.
    pub fn set(&mut self, n: u8, high: bool) {
        debug_assert!(n < IRQ_LINES, "IRQ line {n} out of range");
        let bit = 1u16 << (n & (IRQ_LINES - 1));
        if high {
            if self.level & bit == 0 {
                self.rose |= bit;
            }
            self.level |= bit;
        } else {
            self.level &= !bit;
        }
    }

    /// Whether IRQ `n` is high now.
    pub fn is_high(&self, n: u8) -> bool {
        self.level & (1u16 << (n & (IRQ_LINES - 1))) != 0
    }

    /// All sixteen levels, bit `n` for IRQ `n`.
    pub fn bits(&self) -> u16 {
        self.level
    }

    /// The lines that rose since the last call (bit `n` for IRQ `n`); clears
    /// the record.
    pub fn take_rising(&mut self) -> u16 {
        std::mem::take(&mut self.rose)
    }

    /// Whether any line rose since the last [`IrqLines::take_rising`].
    pub fn has_rising(&self) -> bool {
        self.rose != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_raise_and_lower() {
        let mut l = IrqLines::new();
        l.raise(3);
        l.set(14, true);
        assert!(l.is_high(3));
        assert_eq!(l.bits(), (1 << 3) | (1 << 14));
        l.lower(3);
        l.set(14, false);
        assert_eq!(l.bits(), 0);
    }

    #[test]
    fn remembers_a_pulse_squeezed_between_looks() {
        let mut l = IrqLines::new();
        l.raise(0);
        l.lower(0);
        assert!(!l.is_high(0));
        assert_eq!(l.take_rising(), 1);
        assert_eq!(l.take_rising(), 0);
    }

    #[test]
    fn staying_high_is_not_a_new_edge() {
        let mut l = IrqLines::new();
        l.raise(5);
        l.take_rising();
        l.raise(5);
        assert!(!l.has_rising());
    }
}
