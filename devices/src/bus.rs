//! The I/O port bus: which device answers which port, and what a device is.
//!
//! The x86 port space has 65536 byte-wide ports. [`PortMap`] is a flat table
//! from port to a closed [`DevId`] enum, filled by range registration that
//! rejects overlaps, so a wiring mistake is an error at machine assembly and
//! never a silent "last one wins". Dispatch (in [`crate::platform`]) is a
//! `match` on the id that calls the concrete device field: no `dyn` on the
//! common path.
//!
//! Every access carries an [`IoCx`]: the current virtual time, the scheduler,
//! the IRQ lines, and the [`Signals`] through which a device asks the machine
//! for something only the machine can do (exit, reset, A20).

use crate::irq::IrqLines;
use crate::time::{Cycles, EventKind, Scheduler};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Number of I/O ports in the x86 port space.
pub const PORT_COUNT: usize = 0x1_0000;

/// Every device that can own I/O ports. A closed set: adding a device means
/// adding a variant, which makes the compiler point at every dispatch `match`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[repr(u8)]
pub enum DevId {
    /// No device: reads return all ones, writes are dropped.
    #[default]
    Unclaimed,
    /// Bochs/QEMU debug console, port 0xE9.
    DebugCon,
    /// QEMU-style `isa-debug-exit`, port 0xF4.
    ExitPort,
    /// POST code port 0x80.
    PostCode,
    /// Bochs shutdown port 0x8900.
    BochsShutdown,
    /// PS/2 system control port A, port 0x92.
    SysCtlA,
    /// The 8259A pair (0x20/0x21, 0xA0/0xA1) and its ELCR (0x4D0/0x4D1).
    Pic,
    /// The 8254 timer (0x40–0x43) and system control port B (0x61).
    Pit,
    /// The VGA adapter (0x3B4–0x3BA, 0x3C0–0x3DA).
    Vga,
    /// The 8042 keyboard controller (0x60, 0x64).
    Kbc,
    /// The MC146818 real-time clock and CMOS RAM (0x70, 0x71).
    Rtc,
    /// The 8237 DMA pair and page registers (0x00–0x0F, 0xC0–0xDF, 0x81–0x8F).
    Dma,
    /// The 82077AA floppy controller (0x3F0–0x3F5, 0x3F7).
    Fdc,
    /// COM1, 16550A at 0x3F8.
    Com1,
    /// COM2, 16550A at 0x2F8.
    Com2,
    /// COM3, 16550A at 0x3E8.
    Com3,
    /// COM4, 16550A at 0x2E8.
    Com4,
    /// The primary ATA channel (0x1F0–0x1F7, 0x3F6; IRQ 14).
    Ata0,
    /// The secondary ATA channel (0x170–0x177, 0x376; IRQ 15).
    Ata1,
}

impl DevId {
    /// A short lower-case name for logs and errors.
    pub fn name(self) -> &'static str {
        match self {
            DevId::Unclaimed => "unclaimed",
            DevId::DebugCon => "debugcon",
            DevId::ExitPort => "exit",
            DevId::PostCode => "post",
            DevId::BochsShutdown => "shutdown",
            DevId::SysCtlA => "sysctl",
            DevId::Pic => "pic",
            DevId::Pit => "pit",
            DevId::Vga => "vga",
            DevId::Kbc => "kbc",
            DevId::Rtc => "rtc",
            DevId::Dma => "dma",
            DevId::Fdc => "fdc",
            DevId::Com1 => "com1",
            DevId::Com2 => "com2",
            DevId::Com3 => "com3",
            DevId::Com4 => "com4",
            DevId::Ata0 => "ata0",
            DevId::Ata1 => "ata1",
        }
    }

    /// Whether the device takes word and dword accesses whole. All other
    /// devices are byte-wide: the platform splits wider accesses into byte
    /// accesses on consecutive ports, as the ISA bus does.
    pub fn takes_wide_access(self) -> bool {
        // QEMU's isa-debug-exit reports the whole value written (`out dx, eax`).
        matches!(self, DevId::ExitPort)
    }
}

impl fmt::Display for DevId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A port range was registered over a port another device already owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("I/O port {port:#06x}: {new} overlaps {existing}, which already owns it")]
pub struct PortOverlap {
    /// The first port of the new range that was already taken.
    pub port: u16,
    /// The device that owns `port`.
    pub existing: DevId,
    /// The device whose registration was rejected.
    pub new: DevId,
}

/// The table from I/O port to owning device.
#[derive(Clone)]
pub struct PortMap {
    table: Box<[DevId; PORT_COUNT]>,
}

impl Default for PortMap {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for PortMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Print the claimed ranges, not 65536 entries.
        let mut list = f.debug_list();
        let mut start = 0usize;
        while start < PORT_COUNT {
            let id = self.table[start];
            let mut end = start;
            while end + 1 < PORT_COUNT && self.table[end + 1] == id {
                end += 1;
            }
            if id != DevId::Unclaimed {
                list.entry(&format_args!("{start:#06x}..={end:#06x}: {id}"));
            }
            start = end + 1;
        }
        list.finish()
    }
}

impl PortMap {
    /// A map with every port unclaimed.
    pub fn new() -> Self {
        PortMap {
            table: Box::new([DevId::Unclaimed; PORT_COUNT]),
        }
    }

    /// Gives ports `first..=last` to `id`. Nothing is registered if any port
    /// of the range is already owned; the error names the first such port.
    ///
    /// # Panics
    ///
    /// If `first > last`: ranges come from the machine's wiring, never from
    /// the guest, so an inverted range is a bug in the caller.
    pub fn register(&mut self, first: u16, last: u16, id: DevId) -> Result<(), PortOverlap> {
        assert!(first <= last, "inverted port range {first:#x}..={last:#x}");
        let range = usize::from(first)..=usize::from(last);
        if let Some(port) = range.clone().find(|&p| self.table[p] != DevId::Unclaimed) {
            return Err(PortOverlap {
                port: port as u16,
                existing: self.table[port],
                new: id,
            });
        }
        self.table[range].fill(id);
        Ok(())
    }

    /// The device owning `port` ([`DevId::Unclaimed`] if none).
    pub fn lookup(&self, port: u16) -> DevId {
        self.table[usize::from(port)]
    }
}

/// What kind of reset a device goes through.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum ResetKind {
    /// Power applied: every register to its power-on value.
    PowerOn,
    /// The reset line was pulled (triple fault, reset button, port 0xCF9):
    /// devices reset as the board's reset signal resets them, but keep what
    /// only a power cycle clears (captured debug output, POST history).
    Hard,
}

/// Requests from devices to the machine. The machine takes them (see
/// [`Signals::take`]) after each port access and acts on them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signals {
    /// The guest asked to end the emulation with this value (exit port 0xF4).
    /// The process exit status is `(value << 1) | 1`, as QEMU's
    /// isa-debug-exit; the machine does that arithmetic.
    pub exit: Option<u32>,
    /// The guest asked to power off (Bochs shutdown port 0x8900).
    pub shutdown: bool,
    /// The guest asked for a CPU reset (fast reset, port 0x92 bit 0).
    pub reset: bool,
    /// The guest set the A20 gate (port 0x92 bit 1): `Some(enabled)`.
    pub a20: Option<bool>,
}

impl Signals {
    /// Returns the pending requests and clears them.
    pub fn take(&mut self) -> Signals {
        std::mem::take(self)
    }

    /// Whether any request is pending.
    pub fn any(&self) -> bool {
        *self != Signals::default()
    }
}

/// Guest physical memory as the DMA controller reaches it. The machine implements it over its
/// RAM (writes to ROM and unmapped addresses are dropped, reads of them give all ones).
pub trait GuestMemory {
    /// Reads `buf.len()` bytes starting at physical `addr`.
    fn read_phys(&mut self, addr: u32, buf: &mut [u8]);
    /// Writes `data` starting at physical `addr`.
    fn write_phys(&mut self, addr: u32, data: &[u8]);
}

/// How much of a DMA transfer happened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DmaTransfer {
    /// Bytes moved.
    pub bytes: usize,
    /// The channel's count ran out (terminal count, TC).
    pub terminal_count: bool,
}

/// The DMA side of the ISA bus as a device sees it: the 8237 decides the memory addresses
/// (and whether the channel is ready at all).
pub trait DmaChannelIo {
    /// Device → memory on `channel` (a "write transfer" in 8237 terms): moves as much of
    /// `data` as the channel's programming allows.
    fn write_memory(&mut self, channel: u8, data: &[u8]) -> DmaTransfer;
    /// Memory → device on `channel` (a "read transfer"): fills as much of `buf` as allowed.
    fn read_memory(&mut self, channel: u8, buf: &mut [u8]) -> DmaTransfer;
}

/// No guest memory at all: reads give all ones, writes vanish (tests of devices).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoMemory;

impl GuestMemory for NoMemory {
    fn read_phys(&mut self, _addr: u32, buf: &mut [u8]) {
        buf.fill(0xFF);
    }
    fn write_phys(&mut self, _addr: u32, _data: &[u8]) {}
}

/// No DMA at all: every transfer moves nothing (for devices without DMA, and tests).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoDma;

impl DmaChannelIo for NoDma {
    fn write_memory(&mut self, _channel: u8, _data: &[u8]) -> DmaTransfer {
        DmaTransfer::default()
    }
    fn read_memory(&mut self, _channel: u8, _buf: &mut [u8]) -> DmaTransfer {
        DmaTransfer::default()
    }
}

/// What a device sees of the machine during an access or an event.
pub struct IoCx<'a> {
    /// The current virtual time.
    pub now: Cycles,
    /// The scheduler, to ask for (or cancel) a callback.
    pub sched: &'a mut Scheduler,
    /// The ISA interrupt lines.
    pub irq: &'a mut IrqLines,
    /// Requests to the machine.
    pub signals: &'a mut Signals,
    /// DMA transfers to and from guest memory (through the 8237).
    pub dma: &'a mut dyn DmaChannelIo,
}

impl fmt::Debug for IoCx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoCx")
            .field("now", &self.now)
            .field("irq", &self.irq)
            .field("signals", &self.signals)
            .finish_non_exhaustive()
    }
}

/// A device on the port bus.
///
/// `size` is 1, 2 or 4. Byte-wide devices (all but those whose
/// [`DevId::takes_wide_access`] is true) only ever see `size == 1`: the
/// platform splits wider accesses.
pub trait Device {
    /// The device's short name, as used by the debugger's `info device NAME`.
    fn name(&self) -> &'static str;

    /// A guest read of `size` bytes from `port`.
    fn io_read(&mut self, port: u16, size: u8, cx: &mut IoCx) -> u32;

    /// A guest write of the low `size` bytes of `value` to `port`.
    fn io_write(&mut self, port: u16, size: u8, value: u32, cx: &mut IoCx);

    /// Puts the device in its state after a reset of kind `kind`. The
    /// platform separately cancels the device's scheduler slots and lowers its
    /// IRQ lines.
    fn reset(&mut self, kind: ResetKind) {
        let _ = kind;
    }

    /// A scheduled event of kind `event` is due (`cx.now` is at or past it).
    fn on_event(&mut self, event: EventKind, cx: &mut IoCx) {
        let _ = cx;
        log::warn!("{}: unexpected event {event:?}", self.name());
    }

    /// Writes a human-readable dump of the device's state (`info device`).
    fn inspect(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        writeln!(out, "{}: no state to show", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unregistered_ports_are_unclaimed() {
        let map = PortMap::new();
        assert_eq!(map.lookup(0), DevId::Unclaimed);
        assert_eq!(map.lookup(0xFFFF), DevId::Unclaimed);
    }

    #[test]
    fn registered_range_is_looked_up() {
        let mut map = PortMap::new();
        map.register(0x40, 0x43, DevId::Pit).unwrap();
        assert_eq!(map.lookup(0x3F), DevId::Unclaimed);
        assert_eq!(map.lookup(0x40), DevId::Pit);
        assert_eq!(map.lookup(0x43), DevId::Pit);
        assert_eq!(map.lookup(0x44), DevId::Unclaimed);
        map.register(0xFFFF, 0xFFFF, DevId::PostCode).unwrap();
        assert_eq!(map.lookup(0xFFFF), DevId::PostCode);
    }

    #[test]
    fn overlap_is_rejected_and_named() {
        let mut map = PortMap::new();
        map.register(0x20, 0x21, DevId::Pic).unwrap();
        let err = map.register(0x1E, 0x20, DevId::Pit).unwrap_err();
        assert_eq!(
            err,
            PortOverlap {
                port: 0x20,
                existing: DevId::Pic,
                new: DevId::Pit
            }
        );
        let text = err.to_string();
        assert!(text.contains("0x0020"), "{text}");
        assert!(text.contains("pic") && text.contains("pit"), "{text}");
        // The rejected registration left no trace.
        assert_eq!(map.lookup(0x1E), DevId::Unclaimed);
        assert_eq!(map.lookup(0x1F), DevId::Unclaimed);
    }

    #[test]
    fn debug_output_lists_ranges() {
        let mut map = PortMap::new();
        map.register(0x92, 0x92, DevId::SysCtlA).unwrap();
        let text = format!("{map:?}");
        assert!(text.contains("0x0092..=0x0092: sysctl"), "{text}");
    }

    #[test]
    fn signals_take_clears() {
        let mut s = Signals {
            exit: Some(3),
            ..Signals::default()
        };
        assert!(s.any());
        let taken = s.take();
        assert_eq!(taken.exit, Some(3));
        assert!(!s.any());
    }
}
