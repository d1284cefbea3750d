//! The devices of one PC, wired to their ports, IRQ lines and time.
//!
//! [`Platform`] owns every device of this crate, the port map, the scheduler,
//! the IRQ lines and the signals to the machine. The machine calls it for
//! every port access ([`Platform::io_read`], [`Platform::io_write`]), when
//! the next deadline passes ([`Platform::run_due_events`]), and to take an
//! interrupt ([`Platform::interrupt_pending`],
//! [`Platform::acknowledge_interrupt`]).
//!
//! ## Dispatch
//!
//! A port is looked up in the [`PortMap`] and the resulting [`DevId`] is
//! matched to the concrete device field: static dispatch, no `dyn`. Devices
//! are byte-wide like the ISA bus: a word or dword access is split into byte
//! accesses on consecutive ports (each routed on its own, so a word read of
//! 0x20 reads the master 8259's IRR and IMR), unless the device at the first
//! port takes wide accesses whole ([`DevId::takes_wide_access`]).
//!
//! ## Keeping the interrupt controllers current
//!
//! After every access and every batch of events the IRQ line levels (and
//! the rising edges since the last look) are propagated to the 8259 pair, so
//! [`Platform::interrupt_pending`] is always up to date.
//!
//! ## Wiring
//!
//! | ports          | device                |
//! |----------------|-----------------------|
//! | 0x20–0x21      | 8259 master           |
//! | 0x60, 0x64     | 8042 keyboard controller (IRQ 1, 12) |
//! | 0x40–0x43      | 8254 timer            |
//! | 0x61           | port B (timer bits)   |
//! | 0x80           | POST codes            |
//! | 0x92           | system control port A |
//! | 0xA0–0xA1      | 8259 slave            |
//! | 0xE9           | debug console         |
//! | 0xF4           | exit port             |
//! | 0x4D0–0x4D1    | 8259 ELCR             |
//! | 0x8900         | Bochs shutdown        |
//! | 0x3B4–0x3BA, 0x3C0–0x3DA | VGA (its memory window 0xA0000–0xBFFFF is reached through [`Platform::vga`]) |
//! | 0x00–0x0F, 0xC0–0xDF, 0x81–0x8F | 8237 DMA pair and page registers |
//! | 0x70–0x71      | RTC and CMOS (IRQ 8)  |
//! | 0x3F0–0x3F5, 0x3F7 | floppy controller (IRQ 6, DMA 2) |
//! | 0x3F8, 0x2F8, 0x3E8, 0x2E8 (8 each) | COM1–COM4 (IRQ 4, 3, 4, 3) |
//! | 0x1F0–0x1F7, 0x3F6 | primary ATA channel (IRQ 14); its data port takes 16/32-bit accesses whole |
//! | 0x170–0x177, 0x376 | secondary ATA channel (IRQ 15) |
//!
//! The floppy controller's DMA transfers reach guest memory through the 8237: the machine
//! passes its memory to every call that can run a device ([`GuestMemory`]).

use crate::ata::AtaChannel;
use crate::bus::{
    DevId, Device, DmaChannelIo, DmaTransfer, GuestMemory, IoCx, NoDma, PortMap, ResetKind, Signals,
};
use crate::debugport::{all_ones, BochsShutdown, DebugCon, DebugSink, ExitPort, PostCode};
use crate::fdc::Fdc;
use crate::i8042::{Kbc8042, Key};
use crate::i8237::Dma8237;
use crate::i8254::Pit8254;
use crate::i8259::Pic8259;
use crate::irq::IrqLines;
use crate::mc146818::Rtc;
use crate::speaker::Speaker;
use crate::sysctl::SysCtlA;
use crate::time::{Cycles, EventKind, Scheduler};
use crate::uart16550::{Uart16550, COM1_BASE, COM1_IRQ, COM2_BASE, COM2_IRQ, COM3_BASE, COM4_BASE};
use crate::vga::Vga;

/// The context of one access or event: the time, the scheduler, the IRQ lines, the signals
/// and `dma` (the DMA bus for the floppy controller, [`NoDma`] for everyone else).
macro_rules! io_cx {
    ($self:ident, $now:expr, $dma:expr) => {
        IoCx {
            now: $now,
            sched: &mut $self.sched,
            irq: &mut $self.irq,
            signals: &mut $self.signals,
            dma: $dma,
        }
    };
}

/// How the platform is built.
#[derive(Debug)]
pub struct PlatformConfig {
    /// Where the 0xE9 debug console writes.
    pub debugcon: DebugSink,
    /// The CPU clock in Hz: converts virtual time (cycles) to and from the
    /// timer's 1.193182 MHz clock.
    pub cycles_per_second: u64,
    /// Where COM1's output goes.
    pub serial: DebugSink,
    /// The real-time clock's time at power-on (Unix seconds).
    pub rtc_start: u64,
}

/// The port ranges of the built-in devices.
const WIRING: &[(u16, u16, DevId)] = &[
    (0x20, 0x21, DevId::Pic),
    (0xA0, 0xA1, DevId::Pic),
    (0x4D0, 0x4D1, DevId::Pic),
    (0x40, 0x43, DevId::Pit),
    (0x60, 0x60, DevId::Kbc),
    (0x64, 0x64, DevId::Kbc),
    (0x61, 0x61, DevId::Pit),
    (0x80, 0x80, DevId::PostCode),
    (0x92, 0x92, DevId::SysCtlA),
    (0xE9, 0xE9, DevId::DebugCon),
    (0xF4, 0xF4, DevId::ExitPort),
    (0x8900, 0x8900, DevId::BochsShutdown),
    (0x3B4, 0x3B5, DevId::Vga),
    (0x3BA, 0x3BA, DevId::Vga),
    (0x3C0, 0x3CF, DevId::Vga),
    (0x3D4, 0x3D5, DevId::Vga),
    (0x3DA, 0x3DA, DevId::Vga),
    (0x00, 0x0F, DevId::Dma),
    (0xC0, 0xDF, DevId::Dma),
    (0x81, 0x8F, DevId::Dma),
    (0x70, 0x71, DevId::Rtc),
    (0x3F0, 0x3F5, DevId::Fdc),
    (0x3F7, 0x3F7, DevId::Fdc),
    (0x3F8, 0x3FF, DevId::Com1),
    (0x2F8, 0x2FF, DevId::Com2),
    (0x3E8, 0x3EF, DevId::Com3),
    (0x2E8, 0x2EF, DevId::Com4),
    (0x1F0, 0x1F7, DevId::Ata0),
    (0x3F6, 0x3F6, DevId::Ata0),
    (0x170, 0x177, DevId::Ata1),
    (0x376, 0x376, DevId::Ata1),
];

/// Names accepted by [`Platform::device`].
const DEVICE_NAMES: &[&str] = &[
    "pic", "pit", "kbc", "vga", "rtc", "dma", "fdc", "ata0", "ata1", "com1", "com2", "com3",
    "com4", "sysctl", "post", "debugcon", "exit", "shutdown",
];

/// One bit per port: unclaimed ports already reported.
const SEEN_WORDS: usize = 0x1_0000 / 64;

/// The devices of one PC and everything they share.
pub struct Platform {
    /// Port → device table.
    pub ports: PortMap,
    /// Device events.
    pub sched: Scheduler,
    /// ISA IRQ lines.
    pub irq: IrqLines,
    /// Requests to the machine; take them after each access.
    pub signals: Signals,
    /// Port 0xE9 console.
    pub debugcon: DebugCon,
    /// Port 0xF4 exit device.
    pub exit: ExitPort,
    /// Port 0x80 POST codes.
    pub post: PostCode,
    /// Port 0x8900 Bochs shutdown.
    pub shutdown: BochsShutdown,
    /// Port 0x92 system control port A.
    pub sysctl: SysCtlA,
    /// The 8259A pair.
    pub pic: Pic8259,
    /// The 8254 timer and port 0x61.
    pub pit: Pit8254,
    /// The VGA adapter.
    pub vga: Vga,
    /// The 8042 keyboard controller with its keyboard and mouse.
    pub kbc: Kbc8042,
    /// The real-time clock and CMOS RAM.
    pub rtc: Rtc,
    /// The 8237 DMA pair.
    pub dma: Dma8237,
    /// The floppy controller.
    pub fdc: Fdc,
    /// COM1–COM4.
    pub com: [Uart16550; 4],
    /// The primary and secondary ATA channels.
    pub ata: [AtaChannel; 2],
    /// The PC speaker (channel 2 of the timer and port 0x61).
    pub speaker: Speaker,
    unclaimed_seen: Box<[u64; SEEN_WORDS]>,
}

impl Platform {
    /// Builds the devices in their power-on state and registers their ports.
    pub fn new(cfg: PlatformConfig) -> Self {
        let mut ports = PortMap::new();
        for &(first, last, id) in WIRING {
            if let Err(e) = ports.register(first, last, id) {
                panic!("built-in port wiring is broken: {e}");
            }
        }
        Platform {
            ports,
            sched: Scheduler::new(),
            irq: IrqLines::new(),
            signals: Signals::default(),
            debugcon: DebugCon::new(cfg.debugcon),
            exit: ExitPort::new(),
            post: PostCode::new(),
            shutdown: BochsShutdown::new(),
            sysctl: SysCtlA::new(),
            pic: Pic8259::new(),
            pit: Pit8254::new(cfg.cycles_per_second),
            vga: Vga::new(cfg.cycles_per_second),
            kbc: Kbc8042::new(cfg.cycles_per_second),
            rtc: Rtc::new(cfg.cycles_per_second, cfg.rtc_start),
            dma: Dma8237::new(),
            fdc: Fdc::new(cfg.cycles_per_second),
            com: [
                (COM1_BASE, COM1_IRQ, cfg.serial),
                (COM2_BASE, COM2_IRQ, DebugSink::None),
                (COM3_BASE, COM1_IRQ, DebugSink::None),
                (COM4_BASE, COM2_IRQ, DebugSink::None),
            ]
            .map(|(base, irq, sink)| {
                let mut u = Uart16550::new(base, irq, sink);
                u.set_cpu_clock(cfg.cycles_per_second);
                u
            }),
            ata: [AtaChannel::new(true), AtaChannel::new(false)],
            speaker: Speaker::new(cfg.cycles_per_second),
            unclaimed_seen: Box::new([0; SEEN_WORDS]),
        }
    }

    /// A guest read of `size` bytes (1, 2 or 4) from `port` at time `now`.
    pub fn io_read(&mut self, port: u16, size: u8, now: Cycles, mem: &mut dyn GuestMemory) -> u32 {
        let size = access_size(size);
        let id = self.ports.lookup(port);
        let value = if size == 1 || takes_whole(id, port) {
            self.read_from(id, port, size, now, mem)
        } else {
            (0..size).fold(0, |acc, i| {
                let p = port.wrapping_add(u16::from(i));
                let byte = self.read_from(self.ports.lookup(p), p, 1, now, mem) & 0xFF;
                acc | (byte << (8 * i))
            })
        };
        self.pic.sync_inputs(&mut self.irq);
        value
    }

    /// A guest write of the low `size` bytes (1, 2 or 4) of `value` to `port`
    /// at time `now`.
    pub fn io_write(
        &mut self,
        port: u16,
        size: u8,
        value: u32,
        now: Cycles,
        mem: &mut dyn GuestMemory,
    ) {
        let size = access_size(size);
        let id = self.ports.lookup(port);
        if size == 1 || takes_whole(id, port) {
            self.write_to(id, port, size, value & all_ones(size), now, mem);
        } else {
            for i in 0..size {
                let p = port.wrapping_add(u16::from(i));
                let byte = (value >> (8 * i)) & 0xFF;
                self.write_to(self.ports.lookup(p), p, 1, byte, now, mem);
            }
        }
        self.pic.sync_inputs(&mut self.irq);
    }

    /// Runs every device event due at `now`, then brings the interrupt
    /// controllers up to date. Events in the `Custom*` slots are left for the
    /// machine.
    pub fn run_due_events(&mut self, now: Cycles, mem: &mut dyn GuestMemory) {
        while let Some(kind) = self.sched.pop_due_matching(now, |k| !k.is_custom()) {
            let mut dma = DmaBus {
                ctrl: &mut self.dma,
                mem: &mut *mem,
            };
            let mut cx = io_cx!(self, now, &mut dma);
            match kind {
                EventKind::Pit => self.pit.on_event(kind, &mut cx),
                EventKind::Kbc => self.kbc.on_event(kind, &mut cx),
                EventKind::Rtc => self.rtc.on_event(kind, &mut cx),
                EventKind::Fdc => self.fdc.on_event(kind, &mut cx),
                // The four UARTs share one slot; each only ever moves it earlier.
                EventKind::Uart => {
                    for u in &mut self.com {
                        u.on_event(kind, &mut cx);
                    }
                }
                other => log::warn!("event {other:?} has no device on this platform; dropped"),
            }
        }
        self.pic.sync_inputs(&mut self.irq);
    }

    /// A key of the host (or of a script) went down or up at `now`.
    pub fn key_event(&mut self, key: Key, pressed: bool, now: Cycles) {
        let mut cx = io_cx!(self, now, &mut NoDma);
        self.kbc.key_event(key, pressed, &mut cx);
        self.pic.sync_inputs(&mut self.irq);
    }

    /// The host's mouse moved by (`dx`, `dy`) (right and down positive) with `buttons`
    /// (bit 0 left, 1 right, 2 middle) held.
    pub fn mouse_event(&mut self, dx: i32, dy: i32, buttons: u8, now: Cycles) {
        let mut cx = io_cx!(self, now, &mut NoDma);
        self.kbc.mouse_event(dx, dy, buttons, &mut cx);
        self.pic.sync_inputs(&mut self.irq);
    }

    /// The earliest pending event (device or `Custom*`), `Cycles::MAX` if none.
    pub fn next_deadline(&self) -> Cycles {
        self.sched.next_deadline()
    }

    /// The 8259 master's INT output: an interrupt is waiting for the CPU.
    pub fn interrupt_pending(&self) -> bool {
        self.pic.int_output()
    }

    /// The CPU's interrupt acknowledge cycle: returns the vector to take.
    /// If the request went away since [`Platform::interrupt_pending`] said
    /// yes, this is the IRQ7 (or IRQ15) spurious vector, as on the chip.
    pub fn acknowledge_interrupt(&mut self, now: Cycles) -> u8 {
        let vector = self.pic.acknowledge();
        log::trace!("INTA at cycle {}: vector {vector:#04x}", now.0);
        vector
    }

    /// Resets every device; cancels the devices' events, lowers every IRQ
    /// line and drops pending signals. `Custom*` events are the machine's and
    /// stay.
    pub fn reset(&mut self, kind: ResetKind) {
        self.debugcon.reset(kind);
        self.exit.reset(kind);
        self.post.reset(kind);
        self.shutdown.reset(kind);
        self.sysctl.reset(kind);
        self.pic.reset(kind);
        self.pit.reset(kind);
        self.vga.reset(kind);
        self.kbc.reset(kind);
        self.rtc.reset(kind);
        self.dma.reset(kind);
        self.fdc.reset(kind);
        for u in &mut self.com {
            u.reset(kind);
        }
        for a in &mut self.ata {
            a.reset(kind);
        }
        for k in EventKind::ALL.into_iter().filter(|k| !k.is_custom()) {
            self.sched.cancel(k);
        }
        self.irq = IrqLines::new();
        self.signals = Signals::default();
        self.pic.sync_inputs(&mut self.irq);
    }

    /// The device called `name` (see [`Platform::device_names`]), for the
    /// debugger's `info device NAME`.
    pub fn device(&self, name: &str) -> Option<&dyn Device> {
        Some(match name {
            "pic" => &self.pic,
            "pit" => &self.pit,
            "vga" => &self.vga,
            "kbc" => &self.kbc,
            "rtc" => &self.rtc,
            "dma" => &self.dma,
            "fdc" => &self.fdc,
            "com1" => &self.com[0],
            "com2" => &self.com[1],
            "com3" => &self.com[2],
            "com4" => &self.com[3],
            "ata0" => &self.ata[0],
            "ata1" => &self.ata[1],
            "sysctl" => &self.sysctl,
            "post" => &self.post,
            "debugcon" => &self.debugcon,
            "exit" => &self.exit,
            "shutdown" => &self.shutdown,
            _ => return None,
        })
    }

    /// Every name [`Platform::device`] accepts.
    pub fn device_names(&self) -> &'static [&'static str] {
        DEVICE_NAMES
    }

    /// Pushes buffered debug console output to its sink.
    pub fn flush(&mut self) {
        self.debugcon.flush();
        for u in &mut self.com {
            u.flush();
        }
    }

    fn read_from(
        &mut self,
        id: DevId,
        port: u16,
        size: u8,
        now: Cycles,
        mem: &mut dyn GuestMemory,
    ) -> u32 {
        if id == DevId::Unclaimed {
            self.note_unclaimed(port, "read");
            return all_ones(size);
        }
        if id == DevId::Fdc {
            let mut dma = DmaBus {
                ctrl: &mut self.dma,
                mem,
            };
            let mut cx = io_cx!(self, now, &mut dma);
            return self.fdc.io_read(port, size, &mut cx);
        }
        let mut cx = io_cx!(self, now, &mut NoDma);
        match id {
            DevId::Unclaimed => all_ones(size),
            DevId::DebugCon => self.debugcon.io_read(port, size, &mut cx),
            DevId::ExitPort => self.exit.io_read(port, size, &mut cx),
            DevId::PostCode => self.post.io_read(port, size, &mut cx),
            DevId::BochsShutdown => self.shutdown.io_read(port, size, &mut cx),
            DevId::SysCtlA => self.sysctl.io_read(port, size, &mut cx),
            DevId::Pic => self.pic.io_read(port, size, &mut cx),
            DevId::Pit => self.pit.io_read(port, size, &mut cx),
            DevId::Vga => self.vga.io_read(port, size, &mut cx),
            DevId::Kbc => self.kbc.io_read(port, size, &mut cx),
            DevId::Rtc => self.rtc.io_read(port, size, &mut cx),
            DevId::Dma => self.dma.io_read(port, size, &mut cx),
            DevId::Fdc => unreachable!("handled above with DMA"),
            DevId::Com1 => self.com[0].io_read(port, size, &mut cx),
            DevId::Com2 => self.com[1].io_read(port, size, &mut cx),
            DevId::Com3 => self.com[2].io_read(port, size, &mut cx),
            DevId::Com4 => self.com[3].io_read(port, size, &mut cx),
            DevId::Ata0 => self.ata[0].io_read(port, size, &mut cx),
            DevId::Ata1 => self.ata[1].io_read(port, size, &mut cx),
        }
    }

    fn write_to(
        &mut self,
        id: DevId,
        port: u16,
        size: u8,
        value: u32,
        now: Cycles,
        mem: &mut dyn GuestMemory,
    ) {
        if id == DevId::Unclaimed {
            self.note_unclaimed(port, "write");
            return;
        }
        if id == DevId::Fdc {
            let mut dma = DmaBus {
                ctrl: &mut self.dma,
                mem,
            };
            let mut cx = io_cx!(self, now, &mut dma);
            self.fdc.io_write(port, size, value, &mut cx);
            return;
        }
        let mut cx = io_cx!(self, now, &mut NoDma);
        match id {
            DevId::Unclaimed => {}
            DevId::DebugCon => self.debugcon.io_write(port, size, value, &mut cx),
            DevId::ExitPort => self.exit.io_write(port, size, value, &mut cx),
            DevId::PostCode => self.post.io_write(port, size, value, &mut cx),
            DevId::BochsShutdown => self.shutdown.io_write(port, size, value, &mut cx),
            DevId::SysCtlA => self.sysctl.io_write(port, size, value, &mut cx),
            DevId::Pic => self.pic.io_write(port, size, value, &mut cx),
            DevId::Pit => {
                self.pit.io_write(port, size, value, &mut cx);
                // Channel 2, the control word and port 0x61 shape the speaker's wave.
                if matches!(port, 0x42 | 0x43 | 0x61) {
                    self.speaker.note(&self.pit, now);
                }
            }
            DevId::Vga => self.vga.io_write(port, size, value, &mut cx),
            DevId::Kbc => self.kbc.io_write(port, size, value, &mut cx),
            DevId::Rtc => self.rtc.io_write(port, size, value, &mut cx),
            DevId::Dma => self.dma.io_write(port, size, value, &mut cx),
            DevId::Fdc => unreachable!("handled above with DMA"),
            DevId::Com1 => self.com[0].io_write(port, size, value, &mut cx),
            DevId::Com2 => self.com[1].io_write(port, size, value, &mut cx),
            DevId::Com3 => self.com[2].io_write(port, size, value, &mut cx),
            DevId::Com4 => self.com[3].io_write(port, size, value, &mut cx),
            DevId::Ata0 => self.ata[0].io_write(port, size, value, &mut cx),
            DevId::Ata1 => self.ata[1].io_write(port, size, value, &mut cx),
        }
    }

    fn note_unclaimed(&mut self, port: u16, what: &str) {
        let word = &mut self.unclaimed_seen[usize::from(port) / 64];
        let bit = 1u64 << (port % 64);
        if *word & bit == 0 {
            *word |= bit;
            log::info!("{what} of unclaimed I/O port {port:#06x} (reported once per port)");
        }
    }
}

/// The 8237 and guest memory together: what the floppy controller's DMA requests reach.
struct DmaBus<'a> {
    ctrl: &'a mut Dma8237,
    mem: &'a mut dyn GuestMemory,
}

impl DmaChannelIo for DmaBus<'_> {
    fn write_memory(&mut self, channel: u8, data: &[u8]) -> DmaTransfer {
        self.ctrl.write_memory(channel, data, self.mem)
    }
    fn read_memory(&mut self, channel: u8, buf: &mut [u8]) -> DmaTransfer {
        self.ctrl.read_memory(channel, buf, self.mem)
    }
}

/// Whether a word or dword access at `port` goes to the device whole: devices that take
/// every access whole, and the ATA data ports (16-bit PIO, `rep insw`).
fn takes_whole(id: DevId, port: u16) -> bool {
    id.takes_wide_access() || matches!((id, port), (DevId::Ata0, 0x1F0) | (DevId::Ata1, 0x170))
}

/// The access size as the bus knows it: 2 and 4 stay, anything else is a
/// byte (the CPU only ever asks for 1, 2 or 4).
fn access_size(size: u8) -> u8 {
    match size {
        2 | 4 => size,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i8254::{PIT_CONTROL, PIT_HZ};
    use crate::i8259::{ICW1_IC4, ICW1_INIT, ICW4_8086, OCW2_EOI};

    fn platform() -> Platform {
        Platform::new(PlatformConfig {
            debugcon: DebugSink::Buffer,
            cycles_per_second: PIT_HZ,
            serial: DebugSink::Buffer,
            rtc_start: 946_684_800,
        })
    }

    /// Programs the 8259 pair through the ports, as a BIOS does.
    fn init_pic(pc: &mut Platform) {
        let t = Cycles(0);
        for (cmd, data, base, icw3) in [(0x20, 0x21, 0x08, 0x04), (0xA0, 0xA1, 0x70, 0x02)] {
            pc.io_write(
                cmd,
                1,
                u32::from(ICW1_INIT | ICW1_IC4),
                t,
                &mut crate::bus::NoMemory,
            );
            pc.io_write(data, 1, base, t, &mut crate::bus::NoMemory);
            pc.io_write(data, 1, icw3, t, &mut crate::bus::NoMemory);
            pc.io_write(data, 1, u32::from(ICW4_8086), t, &mut crate::bus::NoMemory);
            pc.io_write(data, 1, 0, t, &mut crate::bus::NoMemory);
        }
    }

    #[test]
    fn wiring_registers_every_device() {
        let pc = platform();
        assert_eq!(pc.ports.lookup(0x21), DevId::Pic);
        assert_eq!(pc.ports.lookup(0x4D1), DevId::Pic);
        assert_eq!(pc.ports.lookup(0x61), DevId::Pit);
        assert_eq!(pc.ports.lookup(0x8900), DevId::BochsShutdown);
        assert_eq!(pc.ports.lookup(0x3F8), DevId::Com1);
        assert_eq!(pc.ports.lookup(0x1F0), DevId::Ata0);
        assert_eq!(pc.ports.lookup(0x3F6), DevId::Ata0);
        assert_eq!(pc.ports.lookup(0x3F7), DevId::Fdc);
        assert_eq!(pc.ports.lookup(0x70), DevId::Rtc);
        assert_eq!(pc.ports.lookup(0x80), DevId::PostCode);
        assert_eq!(pc.ports.lookup(0x81), DevId::Dma);
        assert_eq!(pc.ports.lookup(0x3FF0), DevId::Unclaimed);
    }

    #[test]
    fn unclaimed_ports_read_all_ones() {
        let mut pc = platform();
        assert_eq!(
            pc.io_read(0x3FF0, 1, Cycles(0), &mut crate::bus::NoMemory),
            0xFF
        );
        assert_eq!(
            pc.io_read(0x3FF0, 2, Cycles(0), &mut crate::bus::NoMemory),
            0xFFFF
        );
        assert_eq!(
            pc.io_read(0x3FF0, 4, Cycles(0), &mut crate::bus::NoMemory),
            0xFFFF_FFFF
        );
        pc.io_write(0x3F8, 4, 0x1234, Cycles(0), &mut crate::bus::NoMemory); // dropped
        assert!(!pc.signals.any());
    }

    #[test]
    fn word_read_splits_across_devices() {
        let mut pc = platform();
        init_pic(&mut pc);
        pc.io_write(0x21, 1, 0xB8, Cycles(0), &mut crate::bus::NoMemory);
        pc.pic.set_irq(3, true);
        // 0x20 = IRR (read mode), 0x21 = IMR.
        assert_eq!(
            pc.io_read(0x20, 2, Cycles(0), &mut crate::bus::NoMemory),
            0xB808
        );
        // 0xE8 unclaimed, 0xE9 console, 0xEA/0xEB unclaimed.
        assert_eq!(
            pc.io_read(0xE8, 4, Cycles(0), &mut crate::bus::NoMemory),
            0xFFFF_E9FF
        );
    }

    #[test]
    fn word_write_splits_into_bytes() {
        let mut pc = platform();
        init_pic(&mut pc);
        pc.io_write(0x21, 2, 0xABCD, Cycles(0), &mut crate::bus::NoMemory);
        assert_eq!(pc.pic.imr() & 0xFF, 0xCD);
        pc.io_write(
            0xE9,
            2,
            u32::from_le_bytes([b'o', b'k', 0, 0]),
            Cycles(0),
            &mut crate::bus::NoMemory,
        );
        assert_eq!(pc.debugcon.output(), b"o", "0xEA is not the console");
    }

    #[test]
    fn exit_port_takes_a_dword_whole() {
        let mut pc = platform();
        pc.io_write(0xF4, 4, 0x1234_5678, Cycles(0), &mut crate::bus::NoMemory);
        assert_eq!(pc.signals.take().exit, Some(0x1234_5678));
        pc.io_write(0xF4, 1, 0x1234_5678, Cycles(0), &mut crate::bus::NoMemory);
        assert_eq!(pc.signals.take().exit, Some(0x78));
    }

    #[test]
    fn signals_from_sysctl_and_shutdown() {
        let mut pc = platform();
        pc.io_write(0x92, 1, 0x03, Cycles(0), &mut crate::bus::NoMemory);
        let s = pc.signals.take();
        assert_eq!(s.a20, Some(true));
        assert!(s.reset);
        for b in b"Shutdown" {
            pc.io_write(
                0x8900,
                1,
                u32::from(*b),
                Cycles(0),
                &mut crate::bus::NoMemory,
            );
        }
        assert!(pc.signals.take().shutdown);
    }

    #[test]
    fn timer_interrupt_reaches_the_cpu() {
        let mut pc = platform();
        init_pic(&mut pc);
        // Channel 0, LSB/MSB, mode 2, count 100.
        pc.io_write(PIT_CONTROL, 1, 0x34, Cycles(0), &mut crate::bus::NoMemory);
        pc.io_write(0x40, 1, 100, Cycles(0), &mut crate::bus::NoMemory);
        pc.io_write(0x40, 1, 0, Cycles(0), &mut crate::bus::NoMemory);
        // The control word raised OUT: that first edge is already pending.
        assert!(pc.interrupt_pending());
        assert_eq!(pc.acknowledge_interrupt(Cycles(0)), 0x08);
        pc.io_write(
            0x20,
            1,
            u32::from(OCW2_EOI),
            Cycles(0),
            &mut crate::bus::NoMemory,
        );
        assert!(!pc.interrupt_pending());
        // Then one interrupt per period.
        let mut taken = Vec::new();
        let mut now = Cycles(0);
        while now < Cycles(350) {
            now = pc.next_deadline().min(Cycles(350));
            pc.run_due_events(now, &mut crate::bus::NoMemory);
            if pc.interrupt_pending() {
                taken.push((now.0, pc.acknowledge_interrupt(now)));
                pc.io_write(0x20, 1, u32::from(OCW2_EOI), now, &mut crate::bus::NoMemory);
            }
        }
        assert_eq!(taken, vec![(101, 0x08), (201, 0x08), (301, 0x08)]);
    }

    #[test]
    fn masked_timer_then_spurious_irq7() {
        let mut pc = platform();
        init_pic(&mut pc);
        pc.io_write(PIT_CONTROL, 1, 0x34, Cycles(0), &mut crate::bus::NoMemory);
        assert!(pc.interrupt_pending());
        pc.io_write(0x21, 1, 0x01, Cycles(0), &mut crate::bus::NoMemory);
        assert!(!pc.interrupt_pending());
        assert_eq!(pc.acknowledge_interrupt(Cycles(0)), 0x0F);
    }

    #[test]
    fn custom_events_are_left_for_the_machine() {
        let mut pc = platform();
        pc.sched.schedule(EventKind::Custom1, Cycles(10));
        pc.run_due_events(Cycles(20), &mut crate::bus::NoMemory);
        assert_eq!(pc.sched.deadline(EventKind::Custom1), Some(Cycles(10)));
        assert_eq!(pc.next_deadline(), Cycles(10));
    }

    #[test]
    fn reset_returns_to_power_on() {
        let mut pc = platform();
        init_pic(&mut pc);
        pc.io_write(PIT_CONTROL, 1, 0x34, Cycles(0), &mut crate::bus::NoMemory);
        pc.io_write(0x40, 1, 100, Cycles(0), &mut crate::bus::NoMemory);
        pc.io_write(0x40, 1, 0, Cycles(0), &mut crate::bus::NoMemory);
        pc.io_write(0x80, 1, 0x42, Cycles(0), &mut crate::bus::NoMemory);
        pc.sched.schedule(EventKind::Custom0, Cycles(1000));
        pc.reset(ResetKind::Hard);
        assert_eq!(pc.sched.deadline(EventKind::Pit), None);
        assert_eq!(pc.sched.deadline(EventKind::Custom0), Some(Cycles(1000)));
        assert_eq!(pc.irq.bits(), 0);
        assert!(!pc.interrupt_pending());
        assert_eq!(pc.pic.imr(), 0xFFFF);
        assert_eq!(
            pc.post.last(),
            Some(0x42),
            "a hard reset keeps the POST history"
        );
        pc.reset(ResetKind::PowerOn);
        assert_eq!(pc.post.last(), None);
    }

    /// No sequence of guest accesses may panic a device. A fixed xorshift
    /// stream keeps the test deterministic.
    #[test]
    fn random_guest_accesses_never_panic() {
        let mut pc = Platform::new(PlatformConfig {
            debugcon: DebugSink::None,
            cycles_per_second: 7_000_000,
            serial: DebugSink::None,
            rtc_start: 0,
        });
        let ports: Vec<u16> = WIRING
            .iter()
            .flat_map(|&(first, last, _)| first..=last)
            .chain([0x22, 0x3FF0])
            .collect();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut now = Cycles(0);
        for _ in 0..200_000 {
            let r = next();
            now += Cycles(r % 300);
            let port = ports[(r >> 16) as usize % ports.len()];
            let size = [1, 1, 1, 2, 4][(r >> 32) as usize % 5];
            if r & (1 << 63) != 0 {
                pc.io_write(port, size, (r >> 40) as u32, now, &mut crate::bus::NoMemory);
            } else {
                pc.io_read(port, size, now, &mut crate::bus::NoMemory);
            }
            pc.run_due_events(now, &mut crate::bus::NoMemory);
            if pc.interrupt_pending() && r & (1 << 62) != 0 {
                pc.acknowledge_interrupt(now);
            }
            pc.signals.take();
        }
    }

    #[test]
    fn every_device_can_be_inspected() {
        let pc = platform();
        for name in pc.device_names() {
            let dev = pc.device(name).unwrap();
            assert_eq!(dev.name(), *name);
            let mut out = Vec::new();
            dev.inspect(&mut out).unwrap();
            assert!(!out.is_empty(), "{name}");
        }
        assert!(pc.device("nonesuch").is_none());
    }
}
