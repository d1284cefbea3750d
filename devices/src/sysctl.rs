//! PS/2 system control port A (port 0x92), the "fast A20 and reset" port.
//!
//! Introduced with the PS/2 and kept by every chipset since (e.g. Intel PIIX4
//! "Port 92h"), it lets software open the A20 gate and reset the CPU without
//! the slow round trip through the 8042 keyboard controller.
//!
//! - bit 0, fast reset: a 0→1 transition asks the machine for a CPU reset
//!   ([`crate::Signals::reset`]). Writing 1 while the bit is already 1 does
//!   nothing, as on the chip.
//! - bit 1, A20 gate: every write reports the bit to the machine
//!   ([`crate::Signals::a20`]); the machine owns the A20 mask.
//! - the other bits (security lock, drive activity light) are stored and read
//!   back but have no effect.
//!
//! No IRQ. A read returns the stored bits.

use crate::bus::{Device, IoCx, ResetKind};
use serde::{Deserialize, Serialize};
use std::io::Write;

/// The port.
pub const SYSCTL_A_PORT: u16 = 0x92;
/// Bit 0: fast reset (0→1 resets the CPU).
pub const SYSCTL_A_FAST_RESET: u8 = 1 << 0;
/// Bit 1: A20 gate (1 = address line 20 enabled).
pub const SYSCTL_A_A20: u8 = 1 << 1;

/// System control port A.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SysCtlA {
    value: u8,
}

impl SysCtlA {
    /// The port in its power-on state (all bits clear).
    pub fn new() -> Self {
        Self::default()
    }

    /// The stored register value.
    pub fn value(&self) -> u8 {
        self.value
    }
}

impl Device for SysCtlA {
    fn name(&self) -> &'static str {
        "sysctl"
    }

    fn io_read(&mut self, _port: u16, _size: u8, _cx: &mut IoCx) -> u32 {
        u32::from(self.value)
    }

    fn io_write(&mut self, _port: u16, _size: u8, value: u32, cx: &mut IoCx) {
        let new = value as u8;
        cx.signals.a20 = Some(new & SYSCTL_A_A20 != 0);
        if new & SYSCTL_A_FAST_RESET != 0 && self.value & SYSCTL_A_FAST_RESET == 0 {
            log::debug!("fast reset through port {SYSCTL_A_PORT:#x}");
            cx.signals.reset = true;
        }
        self.value = new;
    }

    fn reset(&mut self, _kind: ResetKind) {
        self.value = 0;
    }

    fn inspect(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "sysctl: port {SYSCTL_A_PORT:#x} = {:#04x} (A20 {}, reset bit {})",
            self.value,
            if self.value & SYSCTL_A_A20 != 0 {
                "on"
            } else {
                "off"
            },
            self.value & SYSCTL_A_FAST_RESET
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::Signals;
    use crate::irq::IrqLines;
    use crate::time::{Cycles, Scheduler};

    fn write(dev: &mut SysCtlA, value: u8) -> Signals {
        let mut sched = Scheduler::new();
        let mut irq = IrqLines::new();
        let mut signals = Signals::default();
        let mut cx = IoCx {
            now: Cycles(0),
            sched: &mut sched,
            irq: &mut irq,
            signals: &mut signals,
            dma: &mut crate::bus::NoDma,
        };
        dev.io_write(SYSCTL_A_PORT, 1, u32::from(value), &mut cx);
        signals
    }

    #[test]
    fn a20_bit_is_reported_on_every_write() {
        let mut dev = SysCtlA::new();
        assert_eq!(write(&mut dev, SYSCTL_A_A20).a20, Some(true));
        assert_eq!(write(&mut dev, 0).a20, Some(false));
    }

    #[test]
    fn reset_only_on_a_rising_bit0() {
        let mut dev = SysCtlA::new();
        assert!(write(&mut dev, SYSCTL_A_FAST_RESET).reset);
        assert!(!write(&mut dev, SYSCTL_A_FAST_RESET | SYSCTL_A_A20).reset);
        assert!(!write(&mut dev, 0).reset);
        assert!(write(&mut dev, SYSCTL_A_FAST_RESET).reset);
    }

    #[test]
    fn reads_back_the_stored_bits() {
        let mut dev = SysCtlA::new();
        write(&mut dev, 0xC2);
        assert_eq!(dev.value(), 0xC2);
        dev.reset(ResetKind::Hard);
        assert_eq!(dev.value(), 0);
    }
}
