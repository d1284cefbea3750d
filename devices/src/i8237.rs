//! Intel 8237A DMA controller pair with the AT's page registers.
//!
//! The DMA controller moves data between an I/O device and memory without the
//! CPU: the device asks for service on its channel (DREQ), the 8237 puts the
//! channel's memory address on the bus and counts. The PC/AT has two 8237As:
//! the first serves 8-bit channels 0–3 (2 is the floppy controller), the
//! second serves 16-bit channels 4–7 and is the master, with channel 4
//! cascading the first. An 8237 only makes 16 address bits; the upper
//! address bits come from a 74LS612 page register per channel.
//!
//! | ports      | registers                                                   |
//! |------------|-------------------------------------------------------------|
//! | 0x00–0x07  | channels 0–3 address and count (even: address, odd: count)  |
//! | 0x08–0x0F  | first controller: status/command, request, single mask, mode, clear flip-flop, temporary/master clear, clear mask, all mask bits |
//! | 0xC0–0xCF  | channels 4–7 address and count, on even ports               |
//! | 0xD0–0xDF  | second controller's registers 8–15, on even ports           |
//! | 0x81–0x8F  | page registers: 0x87 ch0, 0x83 ch1, 0x81 ch2, 0x82 ch3, 0x8F ch4 (refresh), 0x8B ch5, 0x89 ch6, 0x8A ch7; the others are spare registers |
//!
//! The second controller is wired with its A0 on the bus's A1, so its
//! registers sit on even ports; an odd port in 0xC0–0xDF reaches the register
//! of the even port below it. Port 0x80 (also a spare page register on the
//! AT) belongs to the POST code device. The DMA controllers raise no IRQ.
//!
//! Follows the Intel 8237A datasheet (order no. 231466): base and current
//! address and word count registers loaded through the byte pointer
//! flip-flop, the mode register (verify/write/read transfers,
//! autoinitialize, address increment or decrement, demand/single/block/
//! cascade), mask bits (single, all, clear), the request register, the
//! status register (TC bits cleared by reading it), the command register
//! (controller disable), master clear and the temporary register. A count
//! of N moves N + 1 units; at terminal count the channel's TC status bit is
//! set and its software request cleared, and then it either reloads its
//! base registers (autoinitialize) or masks itself.
//!
//! ## Transfers
//!
//! Devices do not drive DREQ lines cycle by cycle: the machine moves a
//! device's whole burst at once with [`Dma8237::write_memory`] (device to
//! memory, an 8237 "write" transfer) and [`Dma8237::read_memory`] (memory to
//! device, a "read" transfer). A transfer needs the channel unmasked, its
//! controller enabled, a mode that is not cascade and the matching transfer
//! type (verify counts the units and moves no data); channels 0–3 also need
//! their path to the bus through the master, i.e. channel 4 unmasked and the
//! second controller enabled, as on the AT (every BIOS sets channel 4 to
//! cascade mode and unmasks it). Channels 0–3 move bytes at
//! `page << 16 | address`, with the address wrapping inside the 64 KiB page;
//! channels 4–7 move 16-bit words at `(page & 0xFE) << 16 | address << 1`,
//! wrapping inside the 128 KiB page.
//!
//! ## Not emulated
//!
//! - Memory-to-memory transfers (command bit 0, channels 0 and 1): they need
//!   the bus from a port write; the temporary register only keeps its value.
//! - Software requests are recorded (and shown in the status request bits)
//!   but start no transfer, as no device is on the other side; device DREQ
//!   lines are not modelled in the status register.
//! - Priority, timing (compressed/extended), DREQ/DACK polarity and address
//!   hold: stored in the command register, without effect.
//! - The high page registers some chipsets put at 0x480–0x48F.

use crate::bus::{Device, DmaTransfer, GuestMemory, IoCx, ResetKind};
use crate::once::Once;
use serde::{Deserialize, Serialize};
use std::io::Write;

/// First port of the 8-bit controller (channels 0–3).
pub const DMA1_BASE: u16 = 0x00;
/// Last port of the 8-bit controller.
pub const DMA1_LAST: u16 = 0x0F;
/// First port of the 16-bit controller (channels 4–7).
pub const DMA2_BASE: u16 = 0xC0;
/// Last port of the 16-bit controller.
pub const DMA2_LAST: u16 = 0xDF;
/// First page register port owned here (0x80 is the POST code port).
pub const PAGE_FIRST: u16 = 0x81;
/// Last page register port.
pub const PAGE_LAST: u16 = 0x8F;
/// The page register port of each channel, 0 to 7.
pub const PAGE_PORTS: [u16; 8] = [0x87, 0x83, 0x81, 0x82, 0x8F, 0x8B, 0x89, 0x8A];

/// Register 8, read: status.
pub const REG_STATUS: u8 = 0x8;
/// Register 8, write: command.
pub const REG_COMMAND: u8 = 0x8;
/// Register 9, write: request.
pub const REG_REQUEST: u8 = 0x9;
/// Register 10, write: single mask bit.
pub const REG_SINGLE_MASK: u8 = 0xA;
/// Register 11, write: mode.
pub const REG_MODE: u8 = 0xB;
/// Register 12, write: clear the byte pointer flip-flop.
pub const REG_CLEAR_FLIP_FLOP: u8 = 0xC;
/// Register 13, read: temporary register.
pub const REG_TEMPORARY: u8 = 0xD;
/// Register 13, write: master clear.
pub const REG_MASTER_CLEAR: u8 = 0xD;
/// Register 14, write: clear all mask bits.
pub const REG_CLEAR_MASK: u8 = 0xE;
/// Register 15, write (and read, as AT chipsets allow): all mask bits.
pub const REG_ALL_MASK: u8 = 0xF;

/// Mode bits 1–0, single mask bits 1–0, request bits 1–0: channel select.
pub const CHANNEL_SELECT: u8 = 0x03;
/// Mode bits 3–2: transfer type.
pub const MODE_TRANSFER_MASK: u8 = 0x0C;
/// Transfer type 00: verify (addresses and counts, no data moved).
pub const MODE_VERIFY: u8 = 0x00;
/// Transfer type 01: write (device to memory).
pub const MODE_WRITE: u8 = 0x04;
/// Transfer type 10: read (memory to device).
pub const MODE_READ: u8 = 0x08;
/// Transfer type 11: illegal.
pub const MODE_ILLEGAL: u8 = 0x0C;
/// Mode bit 4: autoinitialize (reload base values at terminal count).
pub const MODE_AUTOINIT: u8 = 0x10;
/// Mode bit 5: address decrement (else increment).
pub const MODE_DECREMENT: u8 = 0x20;
/// Mode bits 7–6: request mode.
pub const MODE_MODE_MASK: u8 = 0xC0;
/// Request mode 00: demand.
pub const MODE_DEMAND: u8 = 0x00;
/// Request mode 01: single.
pub const MODE_SINGLE: u8 = 0x40;
/// Request mode 10: block.
pub const MODE_BLOCK: u8 = 0x80;
/// Request mode 11: cascade (the channel passes another controller through).
pub const MODE_CASCADE: u8 = 0xC0;

/// Single mask / request register bit 2: set (else clear) the bit.
pub const SET_BIT: u8 = 0x04;

/// Command bit 0: memory-to-memory enable.
pub const CMD_MEM_TO_MEM: u8 = 0x01;
/// Command bit 1: channel 0 address hold.
pub const CMD_ADDRESS_HOLD: u8 = 0x02;
/// Command bit 2: controller disable.
pub const CMD_DISABLE: u8 = 0x04;
/// Command bit 3: compressed timing.
pub const CMD_COMPRESSED: u8 = 0x08;
/// Command bit 4: rotating priority.
pub const CMD_ROTATING: u8 = 0x10;
/// Command bit 5: extended write selection.
pub const CMD_EXTENDED_WRITE: u8 = 0x20;
/// Command bit 6: DREQ sense active low.
pub const CMD_DREQ_LOW: u8 = 0x40;
/// Command bit 7: DACK sense active high.
pub const CMD_DACK_HIGH: u8 = 0x80;

/// Status bits 3–0: channel reached terminal count (cleared by reading).
pub const STATUS_TC_MASK: u8 = 0x0F;
/// Status bits 7–4: channel request pending.
pub const STATUS_REQUEST_SHIFT: u8 = 4;

/// All four mask bits.
pub const MASK_ALL: u8 = 0x0F;
/// What a write-only register reads as.
const FLOATING_BUS: u8 = 0xFF;

/// Warn-once site: a transfer in a direction the channel is not set for.
const WARN_DIRECTION: u32 = 0;
/// Warn-once site: a read of a write-only register.
const WARN_WRITE_ONLY: u32 = 1;
/// Warn-once site: a transfer on a masked or disabled channel.
const WARN_BLOCKED: u32 = 2;

/// One channel's registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Channel {
    base_addr: u16,
    base_count: u16,
    cur_addr: u16,
    cur_count: u16,
    mode: u8,
}

/// One 8237A.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Controller {
    channels: [Channel; 4],
    command: u8,
    /// TC bits 3–0 (request bits are computed from `request`).
    status: u8,
    /// Software request bits 3–0.
    request: u8,
    mask: u8,
    /// Byte pointer flip-flop: the next address/count byte is the high one.
    high_byte: bool,
    temporary: u8,
}

impl Default for Controller {
    fn default() -> Self {
        Controller {
            channels: [Channel::default(); 4],
            command: 0,
            status: 0,
            request: 0,
            mask: MASK_ALL,
            high_byte: false,
            temporary: 0,
        }
    }
}

impl Controller {
    /// Master clear (also the RESET pin): command, status, request and
    /// temporary registers and the flip-flop cleared, all channels masked.
    fn master_clear(&mut self) {
        *self = Controller {
            channels: self.channels,
            ..Controller::default()
        };
    }

    fn read(&mut self, reg: u8) -> Option<u8> {
        if reg < 8 {
            let ch = &self.channels[usize::from(reg >> 1)];
            let word = if reg & 1 == 0 {
                ch.cur_addr
            } else {
                ch.cur_count
            };
            let [lo, hi] = word.to_le_bytes();
            let byte = if self.high_byte { hi } else { lo };
            self.high_byte = !self.high_byte;
            return Some(byte);
        }
        match reg {
            REG_STATUS => {
                let value = self.status | (self.request << STATUS_REQUEST_SHIFT);
                self.status &= !STATUS_TC_MASK;
                Some(value)
            }
            REG_TEMPORARY => Some(self.temporary),
            REG_ALL_MASK => Some(self.mask | !MASK_ALL),
            _ => None,
        }
    }

    fn write(&mut self, reg: u8, value: u8) {
        if reg < 8 {
            let high = self.high_byte;
            self.high_byte = !high;
            let ch = &mut self.channels[usize::from(reg >> 1)];
            let (base, cur) = if reg & 1 == 0 {
                (&mut ch.base_addr, &mut ch.cur_addr)
            } else {
                (&mut ch.base_count, &mut ch.cur_count)
            };
            let mut bytes = base.to_le_bytes();
            bytes[usize::from(high)] = value;
            *base = u16::from_le_bytes(bytes);
            *cur = *base;
            return;
        }
        let n = value & CHANNEL_SELECT;
        let bit = 1u8 << n;
        match reg {
            REG_COMMAND => self.command = value,
            REG_REQUEST => {
                if value & SET_BIT != 0 {
                    self.request |= bit;
                } else {
                    self.request &= !bit;
                }
            }
            REG_SINGLE_MASK => {
                if value & SET_BIT != 0 {
                    self.mask |= bit;
                } else {
                    self.mask &= !bit;
                }
            }
            REG_MODE => self.channels[usize::from(n)].mode = value,
            REG_CLEAR_FLIP_FLOP => self.high_byte = false,
            REG_MASTER_CLEAR => self.master_clear(),
            REG_CLEAR_MASK => self.mask = 0,
            _ => self.mask = value & MASK_ALL,
        }
    }

    /// Whether channel `n` can transfer at all (cascade path not included).
    fn ready(&self, n: usize) -> bool {
        self.command & CMD_DISABLE == 0
            && self.mask & (1 << n) == 0
            && self.channels[n].mode & MODE_MODE_MASK != MODE_CASCADE
    }
}

/// The two 8237As of the PC/AT and their page registers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Dma8237 {
    /// `[0]`: channels 0–3 (8-bit); `[1]`: channels 4–7 (16-bit, master).
    controllers: [Controller; 2],
    /// Page register file, indexed by port − 0x80 (entry 0 unused).
    pages: [u8; 16],
    #[serde(skip)]
    once: Once,
}

impl Default for Dma8237 {
    fn default() -> Self {
        Self::new()
    }
}

/// What a transfer does with each unit it counts.
enum Direction<'a> {
    ToMemory(&'a [u8]),
    FromMemory(&'a mut [u8]),
}

impl Dma8237 {
    /// Both controllers after master clear (every channel masked), all
    /// registers zero.
    pub fn new() -> Self {
        Dma8237 {
            controllers: [Controller::default(); 2],
            pages: [0; 16],
            once: Once::default(),
        }
    }

    /// Device → memory on `channel` (0–7): moves as much of `data` as the
    /// channel's programming allows (an 8237 "write" transfer; a channel set
    /// to verify counts the units and moves nothing). On a 16-bit channel a
    /// unit is two bytes and an odd last byte is not taken. Stops at terminal
    /// count unless the channel autoinitializes.
    pub fn write_memory(
        &mut self,
        channel: u8,
        data: &[u8],
        mem: &mut dyn GuestMemory,
    ) -> DmaTransfer {
        self.transfer(channel, MODE_WRITE, Direction::ToMemory(data), mem)
    }

    /// Memory → device on `channel` (0–7): fills as much of `buf` as the
    /// channel's programming allows (a "read" transfer; verify leaves `buf`
    /// alone but counts). Same rules as [`Dma8237::write_memory`].
    pub fn read_memory(
        &mut self,
        channel: u8,
        buf: &mut [u8],
        mem: &mut dyn GuestMemory,
    ) -> DmaTransfer {
        self.transfer(channel, MODE_READ, Direction::FromMemory(buf), mem)
    }

    /// The page register of `channel` (0 for channels above 7).
    pub fn page(&self, channel: u8) -> u8 {
        PAGE_PORTS
            .get(usize::from(channel))
            .map_or(0, |&port| self.pages[usize::from(port - 0x80)])
    }

    /// The physical address the next unit of `channel` goes to or comes from
    /// (0 for channels above 7).
    pub fn address(&self, channel: u8) -> u32 {
        if channel > 7 {
            return 0;
        }
        let ch = &self.controllers[usize::from(channel / 4)].channels[usize::from(channel % 4)];
        self.physical(channel, ch.cur_addr)
    }

    /// The current count of `channel`: units left minus one (0xFFFF once
    /// terminal count was reached without autoinitialize).
    pub fn count(&self, channel: u8) -> u16 {
        if channel > 7 {
            return 0;
        }
        self.controllers[usize::from(channel / 4)].channels[usize::from(channel % 4)].cur_count
    }

    /// Whether `channel` is masked.
    pub fn masked(&self, channel: u8) -> bool {
        channel > 7 || self.controllers[usize::from(channel / 4)].mask & (1 << (channel % 4)) != 0
    }

    fn physical(&self, channel: u8, addr: u16) -> u32 {
        let page = u32::from(self.page(channel));
        if channel < 4 {
            page << 16 | u32::from(addr)
        } else {
            (page & 0xFE) << 16 | u32::from(addr) << 1
        }
    }

    /// Whether `channel` can move data now, and why not if it cannot.
    fn blocked(&self, channel: u8) -> Option<&'static str> {
        let (c, n) = (usize::from(channel / 4), usize::from(channel % 4));
        if !self.controllers[c].ready(n) {
            return Some("masked, in cascade mode or its controller disabled");
        }
        if c == 0 && !self.cascade_open() {
            return Some("channel 4 (the cascade to the master) is masked or disabled");
        }
        None
    }

    /// The master passes the first controller through: channel 4 unmasked
    /// (in cascade mode, as the BIOS sets it) and the master enabled.
    fn cascade_open(&self) -> bool {
        let master = &self.controllers[1];
        master.command & CMD_DISABLE == 0 && master.mask & 1 == 0
    }

    fn transfer(
        &mut self,
        channel: u8,
        wanted: u8,
        mut dir: Direction,
        mem: &mut dyn GuestMemory,
    ) -> DmaTransfer {
        let mut done = DmaTransfer::default();
        if channel > 7 {
            return done;
        }
        if let Some(why) = self.blocked(channel) {
            if self.once.first(WARN_BLOCKED) {
                log::warn!("8237: DMA on channel {channel} moved nothing: {why}");
            }
            return done;
        }
        let (c, n) = (usize::from(channel / 4), usize::from(channel % 4));
        let mode = self.controllers[c].channels[n].mode;
        let kind = mode & MODE_TRANSFER_MASK;
        if kind != wanted && kind != MODE_VERIFY {
            if self.once.first(WARN_DIRECTION) {
                log::warn!(
                    "8237: channel {channel} is set for transfer type {:#04b}, not {:#04b}; nothing moved",
                    kind >> 2,
                    wanted >> 2
                );
            }
            return done;
        }
        let unit = if channel < 4 { 1 } else { 2 };
        let len = match &dir {
            Direction::ToMemory(d) => d.len(),
            Direction::FromMemory(b) => b.len(),
        };
        let units = len / unit;
        let decrement = mode & MODE_DECREMENT != 0;
        let mut moved = 0usize;
        while moved < units {
            let ch = self.controllers[c].channels[n];
            // A run of units at consecutive addresses within the page.
            let left = usize::from(ch.cur_count) + 1;
            let run = if decrement {
                1
            } else {
                (units - moved)
                    .min(left)
                    .min(0x1_0000 - usize::from(ch.cur_addr))
            };
            if kind != MODE_VERIFY {
                let addr = self.physical(channel, ch.cur_addr);
                let bytes = moved * unit..(moved + run) * unit;
                match &mut dir {
                    Direction::ToMemory(d) => mem.write_phys(addr, &d[bytes]),
                    Direction::FromMemory(b) => mem.read_phys(addr, &mut b[bytes]),
                }
            }
            moved += run;
            let ctl = &mut self.controllers[c];
            let ch = &mut ctl.channels[n];
            let step = run as u16;
            ch.cur_addr = if decrement {
                ch.cur_addr.wrapping_sub(step)
            } else {
                ch.cur_addr.wrapping_add(step)
            };
            ch.cur_count = ch.cur_count.wrapping_sub(step);
            if run == left {
                // Terminal count: the count rolled over from 0 to 0xFFFF.
                done.terminal_count = true;
                ctl.status |= 1 << n;
                ctl.request &= !(1 << n);
                if mode & MODE_AUTOINIT != 0 {
                    ch.cur_addr = ch.base_addr;
                    ch.cur_count = ch.base_count;
                } else {
                    ctl.mask |= 1 << n;
                    break;
                }
            }
        }
        done.bytes = moved * unit;
        done
    }

    /// Controller index and register number of a controller port.
    fn decode(port: u16) -> Option<(usize, u8)> {
        match port {
            DMA1_BASE..=DMA1_LAST => Some((0, (port - DMA1_BASE) as u8)),
            DMA2_BASE..=DMA2_LAST => Some((1, ((port - DMA2_BASE) >> 1) as u8)),
            _ => None,
        }
    }

    /// Power-on state: both controllers master-cleared, modes and addresses
    /// zero, page registers zero.
    pub fn reset_state(&mut self) {
        *self = Dma8237::new();
    }
}

/// Mode register as text, for `inspect`.
fn describe_mode(mode: u8) -> String {
    let kind = match mode & MODE_TRANSFER_MASK {
        MODE_VERIFY => "verify",
        MODE_WRITE => "write",
        MODE_READ => "read",
        _ => "illegal",
    };
    let request = match mode & MODE_MODE_MASK {
        MODE_DEMAND => "demand",
        MODE_SINGLE => "single",
        MODE_BLOCK => "block",
        _ => "cascade",
    };
    let mut s = format!("{request} {kind}");
    if mode & MODE_AUTOINIT != 0 {
        s.push_str(" autoinit");
    }
    if mode & MODE_DECREMENT != 0 {
        s.push_str(" decrement");
    }
    s
}

impl Device for Dma8237 {
    fn name(&self) -> &'static str {
        "dma"
    }

    fn io_read(&mut self, port: u16, _size: u8, _cx: &mut IoCx) -> u32 {
        if (PAGE_FIRST..=PAGE_LAST).contains(&port) {
            return u32::from(self.pages[usize::from(port - 0x80)]);
        }
        let Some((c, reg)) = Self::decode(port) else {
            return u32::from(FLOATING_BUS);
        };
        match self.controllers[c].read(reg) {
            Some(v) => u32::from(v),
            None => {
                if self.once.first(WARN_WRITE_ONLY) {
                    log::warn!("8237: read of write-only register at port {port:#x}");
                }
                u32::from(FLOATING_BUS)
            }
        }
    }

    fn io_write(&mut self, port: u16, _size: u8, value: u32, _cx: &mut IoCx) {
        let byte = value as u8;
        if (PAGE_FIRST..=PAGE_LAST).contains(&port) {
            self.pages[usize::from(port - 0x80)] = byte;
        } else if let Some((c, reg)) = Self::decode(port) {
            self.controllers[c].write(reg, byte);
        }
    }

    fn reset(&mut self, kind: ResetKind) {
        match kind {
            ResetKind::PowerOn => self.reset_state(),
            // The RESET pin acts as a master clear; the page registers have
            // no reset input.
            ResetKind::Hard => {
                for ctl in &mut self.controllers {
                    ctl.master_clear();
                }
            }
        }
    }

    fn inspect(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for (c, ctl) in self.controllers.iter().enumerate() {
            writeln!(
                out,
                "dma{}: channels {}-{}, command {:#04x}{}, status {:#04x}, request {:#03x}, mask {:#03x}, flip-flop {}, temporary {:#04x}",
                c + 1,
                c * 4,
                c * 4 + 3,
                ctl.command,
                if ctl.command & CMD_DISABLE != 0 { " (disabled)" } else { "" },
                ctl.status | (ctl.request << STATUS_REQUEST_SHIFT),
                ctl.request,
                ctl.mask,
                if ctl.high_byte { "high" } else { "low" },
                ctl.temporary
            )?;
            for (n, ch) in ctl.channels.iter().enumerate() {
                let channel = (c * 4 + n) as u8;
                writeln!(
                    out,
                    "  ch{channel}: {}{}, page {:#04x}, address {:#06x} (base {:#06x}) -> {:#08x}, count {:#06x} (base {:#06x}){}",
                    describe_mode(ch.mode),
                    if ctl.mask & (1 << n) != 0 { ", masked" } else { "" },
                    self.page(channel),
                    ch.cur_addr,
                    ch.base_addr,
                    self.physical(channel, ch.cur_addr),
                    ch.cur_count,
                    ch.base_count,
                    if ctl.status & (1 << n) != 0 { ", TC" } else { "" }
                )?;
            }
        }
        write!(out, "  spare page registers:")?;
        for port in PAGE_FIRST..=PAGE_LAST {
            if !PAGE_PORTS.contains(&port) {
                write!(
                    out,
                    " {port:#x}={:#04x}",
                    self.pages[usize::from(port - 0x80)]
                )?;
            }
        }
        writeln!(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::{NoDma, Signals};
    use crate::irq::IrqLines;
    use crate::time::{Cycles, Scheduler};

    /// 2 MiB of guest memory; addresses past the end read as 0xFF and drop
    /// writes, as the machine's unmapped space does.
    struct Ram(Vec<u8>);

    impl Ram {
        fn new() -> Self {
            Ram(vec![0; 2 << 20])
        }
    }

    impl GuestMemory for Ram {
        fn read_phys(&mut self, addr: u32, buf: &mut [u8]) {
            for (i, b) in buf.iter_mut().enumerate() {
                *b = self.0.get(addr as usize + i).copied().unwrap_or(0xFF);
            }
        }
        fn write_phys(&mut self, addr: u32, data: &[u8]) {
            for (i, &b) in data.iter().enumerate() {
                if let Some(m) = self.0.get_mut(addr as usize + i) {
                    *m = b;
                }
            }
        }
    }

    struct Rig {
        dma: Dma8237,
        ram: Ram,
        sched: Scheduler,
        irq: IrqLines,
        signals: Signals,
    }

    impl Rig {
        /// Controllers as a BIOS leaves them: channel 4 in cascade mode and
        /// unmasked, everything else masked.
        fn new() -> Self {
            let mut r = Rig {
                dma: Dma8237::new(),
                ram: Ram::new(),
                sched: Scheduler::new(),
                irq: IrqLines::new(),
                signals: Signals::default(),
            };
            r.out(0xD6, MODE_CASCADE);
            r.out(0xD4, 0);
            r
        }

        /// A port access with a context at time zero (the 8237 ignores time).
        fn access<T>(&mut self, f: impl FnOnce(&mut Dma8237, &mut IoCx) -> T) -> T {
            let mut cx = IoCx {
                now: Cycles::ZERO,
                sched: &mut self.sched,
                irq: &mut self.irq,
                signals: &mut self.signals,
                dma: &mut NoDma,
            };
            f(&mut self.dma, &mut cx)
        }

        fn out(&mut self, port: u16, value: u8) {
            self.access(|d, cx| d.io_write(port, 1, u32::from(value), cx));
        }

        fn inp(&mut self, port: u16) -> u8 {
            self.access(|d, cx| d.io_read(port, 1, cx) as u8)
        }

        /// Programs an 8-bit channel the way a BIOS does for a floppy
        /// transfer: mask, clear flip-flop, mode, address, page, count, unmask.
        fn program8(&mut self, ch: u8, mode: u8, addr: u32, count: u16) {
            let n = u16::from(ch);
            self.out(0x0A, SET_BIT | ch);
            self.out(0x0C, 0);
            self.out(0x0B, mode | ch);
            self.out(2 * n, addr as u8);
            self.out(2 * n, (addr >> 8) as u8);
            self.out(PAGE_PORTS[usize::from(ch)], (addr >> 16) as u8);
            self.out(2 * n + 1, count as u8);
            self.out(2 * n + 1, (count >> 8) as u8);
            self.out(0x0A, ch);
        }

        /// The same for a 16-bit channel (4–7): `addr` is a byte address,
        /// `count` is in words minus one.
        fn program16(&mut self, ch: u8, mode: u8, addr: u32, count: u16) {
            let n = ch - 4;
            let reg = |r: u16| DMA2_BASE + 2 * r;
            let word = (addr >> 1) as u16;
            self.out(reg(0xA), SET_BIT | n);
            self.out(reg(0xC), 0);
            self.out(reg(0xB), mode | n);
            self.out(reg(2 * u16::from(n)), word as u8);
            self.out(reg(2 * u16::from(n)), (word >> 8) as u8);
            self.out(PAGE_PORTS[usize::from(ch)], (addr >> 16) as u8);
            self.out(reg(2 * u16::from(n) + 1), count as u8);
            self.out(reg(2 * u16::from(n) + 1), (count >> 8) as u8);
            self.out(reg(0xA), n);
        }

        fn device_writes(&mut self, ch: u8, data: &[u8]) -> DmaTransfer {
            self.dma.write_memory(ch, data, &mut self.ram)
        }

        fn device_reads(&mut self, ch: u8, len: usize) -> (DmaTransfer, Vec<u8>) {
            let mut buf = vec![0xEE; len];
            let t = self.dma.read_memory(ch, &mut buf, &mut self.ram);
            (t, buf)
        }

        fn mem(&self, addr: usize, len: usize) -> &[u8] {
            &self.ram.0[addr..addr + len]
        }
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + 3) as u8).collect()
    }

    #[test]
    fn floppy_read_of_one_sector_reaches_memory_with_tc() {
        let mut r = Rig::new();
        // Mode 0x46: single, write (device to memory), increment, channel 2.
        r.program8(2, MODE_SINGLE | MODE_WRITE, 0x1_7C00, 511);
        assert!(!r.dma.masked(2));
        let sector = pattern(512);
        let t = r.device_writes(2, &sector);
        assert_eq!(
            t,
            DmaTransfer {
                bytes: 512,
                terminal_count: true
            }
        );
        assert_eq!(r.mem(0x1_7C00, 512), &sector[..]);
        assert_eq!(r.mem(0x1_7BFF, 1), [0]);
        assert_eq!(r.mem(0x1_7E00, 1), [0]);
        // After TC: count 0xFFFF, address past the buffer, channel masked.
        assert_eq!(r.dma.count(2), 0xFFFF);
        assert_eq!(r.dma.address(2), 0x1_7E00);
        assert!(r.dma.masked(2));
        assert_eq!(r.inp(0x0F) & MASK_ALL, 0x0F);
        // Status shows TC on channel 2 once.
        assert_eq!(r.inp(0x08), 0x04);
        assert_eq!(r.inp(0x08), 0x00);
        // The masked channel takes nothing more.
        assert_eq!(r.device_writes(2, &sector), DmaTransfer::default());
    }

    #[test]
    fn a_short_burst_leaves_the_channel_mid_count() {
        let mut r = Rig::new();
        r.program8(2, MODE_SINGLE | MODE_WRITE, 0x2000, 1023);
        let t = r.device_writes(2, &pattern(100));
        assert_eq!(
            t,
            DmaTransfer {
                bytes: 100,
                terminal_count: false
            }
        );
        assert_eq!(r.dma.count(2), 1023 - 100);
        // Current address and count read back through the flip-flop.
        r.out(0x0C, 0);
        assert_eq!(r.inp(0x04), 0x64);
        assert_eq!(r.inp(0x04), 0x20);
        assert_eq!(r.inp(0x05), (923 & 0xFF) as u8);
        assert_eq!(r.inp(0x05), (923 >> 8) as u8);
        // More data than the count allows: stops at TC.
        let t = r.device_writes(2, &pattern(2000));
        assert_eq!(
            t,
            DmaTransfer {
                bytes: 924,
                terminal_count: true
            }
        );
        assert_eq!(r.mem(0x2000 + 100, 924), &pattern(2000)[..924]);
    }

    #[test]
    fn read_transfer_takes_memory_to_the_device() {
        let mut r = Rig::new();
        r.ram.write_phys(0x3_0000, &pattern(64));
        r.program8(1, MODE_SINGLE | MODE_READ, 0x3_0000, 63);
        let (t, buf) = r.device_reads(1, 64);
        assert_eq!(
            t,
            DmaTransfer {
                bytes: 64,
                terminal_count: true
            }
        );
        assert_eq!(buf, pattern(64));
        // A write transfer on a read channel moves nothing.
        r.program8(1, MODE_SINGLE | MODE_READ, 0x3_0000, 63);
        assert_eq!(r.device_writes(1, &[1, 2, 3]), DmaTransfer::default());
        assert_eq!(r.mem(0x3_0000, 3), &pattern(3)[..]);
    }

    #[test]
    fn verify_counts_without_moving_data() {
        let mut r = Rig::new();
        r.program8(2, MODE_SINGLE | MODE_VERIFY, 0x4000, 9);
        let t = r.device_writes(2, &[0xAA; 10]);
        assert_eq!(
            t,
            DmaTransfer {
                bytes: 10,
                terminal_count: true
            }
        );
        assert_eq!(r.mem(0x4000, 10), [0; 10]);
        r.program8(2, MODE_SINGLE | MODE_VERIFY, 0x4000, 9);
        let (t, buf) = r.device_reads(2, 4);
        assert_eq!(t.bytes, 4);
        assert_eq!(buf, [0xEE; 4], "verify leaves the device buffer alone");
    }

    #[test]
    fn autoinitialize_reloads_base_values_and_keeps_going() {
        let mut r = Rig::new();
        r.program8(1, MODE_SINGLE | MODE_WRITE | MODE_AUTOINIT, 0x5000, 3);
        let t = r.device_writes(1, &pattern(10));
        assert_eq!(
            t,
            DmaTransfer {
                bytes: 10,
                terminal_count: true
            }
        );
        // Units 0-3, 4-7 then 8-9 wrote over the same 4 bytes.
        let p = pattern(10);
        assert_eq!(r.mem(0x5000, 4), [p[8], p[9], p[6], p[7]]);
        assert_eq!(r.mem(0x5004, 1), [0]);
        assert!(!r.dma.masked(1), "autoinitialize does not mask");
        assert_eq!(r.dma.count(1), 1);
        assert_eq!(r.dma.address(1), 0x5002);
        assert_eq!(r.inp(0x08) & STATUS_TC_MASK, 0x02);
    }

    #[test]
    fn address_decrement() {
        let mut r = Rig::new();
        r.program8(3, MODE_BLOCK | MODE_WRITE | MODE_DECREMENT, 0x6010, 3);
        let t = r.device_writes(3, &[1, 2, 3, 4]);
        assert_eq!(
            t,
            DmaTransfer {
                bytes: 4,
                terminal_count: true
            }
        );
        assert_eq!(r.mem(0x600D, 4), [4, 3, 2, 1]);
        assert_eq!(r.dma.address(3), 0x600C);
    }

    #[test]
    fn address_wraps_inside_the_64k_page() {
        let mut r = Rig::new();
        r.program8(2, MODE_SINGLE | MODE_WRITE, 0x1_FFFE, 3);
        let t = r.device_writes(2, &[1, 2, 3, 4]);
        assert!(t.terminal_count);
        assert_eq!(r.mem(0x1_FFFE, 2), [1, 2]);
        assert_eq!(r.mem(0x1_0000, 2), [3, 4], "page register does not carry");
        assert_eq!(r.mem(0x2_0000, 2), [0, 0]);
        // Decrementing below 0 wraps to the top of the page.
        r.program8(2, MODE_SINGLE | MODE_WRITE | MODE_DECREMENT, 0x3_0001, 3);
        r.device_writes(2, &[5, 6, 7, 8]);
        assert_eq!(r.mem(0x3_0000, 2), [6, 5]);
        assert_eq!(r.mem(0x3_FFFE, 2), [8, 7]);
    }

    #[test]
    fn sixteen_bit_channel_moves_words_in_128k_pages() {
        let mut r = Rig::new();
        // Byte address 0x3_0100: word address 0x8080 (A1-A16), page 0x03
        // whose bit 0 (A16) the 16-bit channels ignore.
        r.program16(5, MODE_SINGLE | MODE_WRITE, 0x3_0100, 3);
        assert_eq!(r.dma.address(5), 0x3_0100);
        r.out(PAGE_PORTS[5], 0x02);
        assert_eq!(r.dma.address(5), 0x3_0100, "page bit 0 ignored");
        let t = r.device_writes(5, &pattern(9));
        assert_eq!(
            t,
            DmaTransfer {
                bytes: 8,
                terminal_count: true
            }
        );
        assert_eq!(r.mem(0x3_0100, 8), &pattern(8)[..]);
        assert_eq!(r.dma.count(5), 0xFFFF);
        // Word address 0xFFFF wraps to 0 inside the 128 KiB page.
        r.program16(6, MODE_SINGLE | MODE_WRITE, 0x4_0000 + 0x1_FFFE, 1);
        r.device_writes(6, &[1, 2, 3, 4]);
        assert_eq!(r.mem(0x5_FFFE, 2), [1, 2]);
        assert_eq!(r.mem(0x4_0000, 2), [3, 4]);
        // Status of the second controller: TC on its channels 1 and 2.
        assert_eq!(r.inp(0xD0) & STATUS_TC_MASK, 0x06);
        // Odd ports alias the even one below.
        r.out(0xD9, 0);
        assert_eq!(r.inp(0xD1) & STATUS_TC_MASK, 0);
    }

    #[test]
    fn masked_channels_and_disabled_controllers_move_nothing() {
        let mut r = Rig::new();
        r.program8(2, MODE_SINGLE | MODE_WRITE, 0x1000, 15);
        r.out(0x0A, SET_BIT | 2);
        assert_eq!(r.device_writes(2, &[1; 4]), DmaTransfer::default());
        r.out(0x0A, 2);
        // Command bit 2 disables the controller.
        r.out(0x08, CMD_DISABLE);
        assert_eq!(r.device_writes(2, &[1; 4]), DmaTransfer::default());
        r.out(0x08, 0);
        // Channel 4 masked cuts channels 0-3 off the bus.
        r.out(0xD4, SET_BIT);
        assert_eq!(r.device_writes(2, &[1; 4]), DmaTransfer::default());
        r.out(0xD4, 0);
        assert_eq!(r.device_writes(2, &[1; 4]).bytes, 4);
        // A channel in cascade mode does no transfers of its own.
        assert_eq!(r.device_writes(4, &[1; 4]), DmaTransfer::default());
        // No such channel.
        assert_eq!(r.device_writes(8, &[1; 4]), DmaTransfer::default());
        assert_eq!(r.mem(0x1000, 5), [1, 1, 1, 1, 0]);
    }

    #[test]
    fn mask_registers() {
        let mut r = Rig::new();
        assert_eq!(r.inp(0x0F), 0xFF, "all masked after master clear");
        r.out(0x0E, 0);
        assert_eq!(r.inp(0x0F), 0xF0);
        r.out(0x0F, 0x05);
        assert_eq!(r.inp(0x0F), 0xF5);
        r.out(0x0A, SET_BIT | 1);
        r.out(0x0A, 2);
        assert_eq!(r.inp(0x0F), 0xF3);
        r.out(0x0D, 0);
        assert_eq!(r.inp(0x0F), 0xFF);
    }

    #[test]
    fn request_register_shows_in_status_and_tc_clears_it() {
        let mut r = Rig::new();
        r.out(0x09, SET_BIT | 2);
        r.out(0x09, SET_BIT | 3);
        r.out(0x09, 3);
        assert_eq!(r.inp(0x08), 0x40);
        assert_eq!(r.inp(0x08), 0x40, "request bits survive a status read");
        r.program8(2, MODE_BLOCK | MODE_WRITE, 0, 0);
        r.device_writes(2, &[9]);
        assert_eq!(r.inp(0x08), 0x04);
    }

    #[test]
    fn flip_flop_and_base_registers() {
        let mut r = Rig::new();
        r.out(0x0C, 0);
        r.out(0x00, 0x34);
        r.out(0x00, 0x12);
        // One flip-flop for address and count: next byte is a low byte.
        r.out(0x01, 0x78);
        r.out(0x01, 0x56);
        assert_eq!(r.inp(0x00), 0x34);
        // Mid-word: the next read is the high byte of whatever is read.
        assert_eq!(r.inp(0x01), 0x56);
        r.out(0x0C, 0);
        assert_eq!(r.inp(0x01), 0x78);
        r.out(0x0C, 0);
        // Master clear resets the flip-flop but not the address.
        r.inp(0x00);
        r.out(0x0D, 0);
        assert_eq!(r.inp(0x00), 0x34);
        assert_eq!(r.inp(0x00), 0x12);
        // The temporary register reads 0 after master clear.
        assert_eq!(r.inp(0x0D), 0);
    }

    #[test]
    fn page_registers_and_spares() {
        let mut r = Rig::new();
        for (i, &port) in PAGE_PORTS.iter().enumerate() {
            r.out(port, 0x10 + i as u8);
        }
        for ch in 0..8u8 {
            assert_eq!(r.dma.page(ch), 0x10 + ch);
        }
        for port in [0x84, 0x85, 0x86, 0x88, 0x8C, 0x8D, 0x8E] {
            r.out(port, port as u8 ^ 0x5A);
            assert_eq!(r.inp(port), port as u8 ^ 0x5A);
        }
        assert_eq!(r.inp(0x87), 0x10);
        r.dma.reset(ResetKind::Hard);
        assert_eq!(r.inp(0x87), 0x10, "page registers have no reset");
        assert!(r.dma.masked(4));
        r.dma.reset(ResetKind::PowerOn);
        assert_eq!(r.inp(0x87), 0);
    }

    #[test]
    fn write_only_registers_read_as_floating_bus() {
        let mut r = Rig::new();
        for port in [0x09, 0x0A, 0x0B, 0x0C, 0x0E, 0xD2, 0xD6] {
            assert_eq!(r.inp(port), 0xFF, "port {port:#x}");
        }
    }

    #[test]
    fn random_guest_accesses_never_panic() {
        let mut r = Rig::new();
        let mut x: u32 = 0xDEAD_BEEF;
        let ports: Vec<u16> = (0..=0x0F).chain(0x81..=0x8F).chain(0xC0..=0xDF).collect();
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let port = ports[(x as usize >> 8) % ports.len()];
            if x & 1 == 0 {
                r.out(port, (x >> 16) as u8);
            } else {
                r.inp(port);
            }
            if x & 0x30 == 0 {
                let ch = (x >> 24) as u8 % 9;
                let len = (x >> 12) as usize % 700;
                r.device_writes(ch, &vec![0x11; len]);
                r.device_reads(ch, len);
            }
        }
        let mut out = Vec::new();
        r.dma.inspect(&mut out).unwrap();
    }

    #[test]
    fn inspect_describes_channels() {
        let mut r = Rig::new();
        r.program8(2, MODE_SINGLE | MODE_WRITE, 0x1_7C00, 511);
        let mut out = Vec::new();
        r.dma.inspect(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for needle in [
            "ch2: single write",
            "0x017c00",
            "count 0x01ff",
            "ch4: cascade",
            "0x84=",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
    }

    #[test]
    fn snapshot_round_trip() {
        let mut r = Rig::new();
        r.program8(2, MODE_SINGLE | MODE_WRITE, 0x1_7C00, 511);
        let json = serde_json::to_string(&r.dma).unwrap();
        let back: Dma8237 = serde_json::from_str(&json).unwrap();
        assert_eq!(back.address(2), 0x1_7C00);
        assert_eq!(back.count(2), 511);
        assert!(!back.masked(2));
    }
}
