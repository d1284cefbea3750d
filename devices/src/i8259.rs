//! Intel 8259A programmable interrupt controllers, as cascaded in the PC/AT.
//!
//! Each 8259A collects eight interrupt request inputs (IR0–IR7), resolves
//! their priority against the interrupts already in service, drives its INT
//! output, and answers the CPU's interrupt acknowledge (INTA) cycle with a
//! vector number. The AT has two: the master takes IRQ0–7, the slave IRQ8–15,
//! and the slave's INT output drives the master's IR2.
//!
//! | port  | register                                           |
//! |-------|----------------------------------------------------|
//! | 0x20  | master: ICW1, OCW2, OCW3 (write); IRR/ISR/poll (read) |
//! | 0x21  | master: ICW2–ICW4, OCW1 (write); IMR (read)        |
//! | 0xA0  | slave: as 0x20                                      |
//! | 0xA1  | slave: as 0x21                                      |
//! | 0x4D0 | ELCR1: edge/level control of IRQ0–7 (PIIX/EISA)    |
//! | 0x4D1 | ELCR2: edge/level control of IRQ8–15                |
//!
//! Follows the Intel 8259A datasheet (order no. 231468) and, for the ELCR,
//! the Intel 82371AB (PIIX4) datasheet.
//!
//! Emulated: the whole initialisation sequence (ICW1–ICW4: edge/level via
//! LTIM, single/cascade, 8086 mode, auto-EOI, special fully nested mode),
//! OCW1 masking, every OCW2 form (non-specific, specific and rotating EOI,
//! rotate in auto-EOI mode, set priority), OCW3 (read IRR/ISR, poll, special
//! mask mode), per-line edge/level selection through the ELCR (a line is
//! level-triggered if its ELCR bit or its chip's LTIM is set; the ELCR bits
//! of IRQ0, 1, 2, 8 and 13 are fixed to edge as on the PIIX), the cascade
//! through master IR2 with slave ID 2, and the default IR7 ("spurious")
//! vector: if no request is left at INTA the chip answers IR7 (IRQ7 or IRQ15)
//! without setting an ISR bit; for a spurious IRQ15 the master still marks IR2
//! in service, as the real pair does.
//!
//! Not emulated: MCS-80/85 mode's CALL sequence (a chip left in that mode
//! answers with 8086-style vectors, and the oddity is logged once), the
//! buffered-mode pins (stored only), ICW1's call address interval.
//!
//! One deliberate choice: the datasheet's request latch is transparent, so an
//! edge-triggered request that falls again before INTA is lost (and INTA gets
//! the IR7 default). Here a rising edge stays latched in the IRR until it is
//! acknowledged (or ICW1 resets the chip), because virtual time can squeeze a
//! short pulse (say a timer event delivered late) into no time at all; a
//! device that wants its edge forgotten is a device that never sent it. A
//! level-triggered request does follow its line, and a request withdrawn (or
//! masked) before INTA gets the IR7 default as on the chip.

use crate::bus::{Device, IoCx};
use crate::irq::IrqLines;
use crate::once::Once;
use serde::{Deserialize, Serialize};
use std::io::Write;

/// Master command port (A0 = 0).
pub const PIC_MASTER_CMD: u16 = 0x20;
/// Master data port (A0 = 1).
pub const PIC_MASTER_DATA: u16 = 0x21;
/// Slave command port (A0 = 0).
pub const PIC_SLAVE_CMD: u16 = 0xA0;
/// Slave data port (A0 = 1).
pub const PIC_SLAVE_DATA: u16 = 0xA1;
/// Edge/level control register for IRQ0–7.
pub const ELCR_MASTER: u16 = 0x4D0;
/// Edge/level control register for IRQ8–15.
pub const ELCR_SLAVE: u16 = 0x4D1;

/// ICW1 bit 0 (IC4): an ICW4 follows.
pub const ICW1_IC4: u8 = 0x01;
/// ICW1 bit 1 (SNGL): single chip, no ICW3.
pub const ICW1_SNGL: u8 = 0x02;
/// ICW1 bit 2 (ADI): call address interval 4 (MCS-80/85 only; ignored).
pub const ICW1_ADI: u8 = 0x04;
/// ICW1 bit 3 (LTIM): all inputs level-triggered.
pub const ICW1_LTIM: u8 = 0x08;
/// ICW1 bit 4: marks a write to A0 = 0 as ICW1 (starts initialisation).
pub const ICW1_INIT: u8 = 0x10;

/// ICW2 bits 7–3 (T7–T3): the vector base; the IR number fills bits 2–0.
pub const ICW2_VECTOR_MASK: u8 = 0xF8;
/// ICW3 of a slave: bits 2–0 hold its ID (the master IR it is wired to).
pub const ICW3_SLAVE_ID_MASK: u8 = 0x07;

/// ICW4 bit 0 (µPM): 8086/8088 mode (else MCS-80/85).
pub const ICW4_8086: u8 = 0x01;
/// ICW4 bit 1 (AEOI): automatic end of interrupt.
pub const ICW4_AEOI: u8 = 0x02;
/// ICW4 bit 2 (M/S): in buffered mode, this chip is the master.
pub const ICW4_MASTER: u8 = 0x04;
/// ICW4 bit 3 (BUF): buffered mode.
pub const ICW4_BUF: u8 = 0x08;
/// ICW4 bit 4 (SFNM): special fully nested mode.
pub const ICW4_SFNM: u8 = 0x10;

/// OCW2 bits 7–5 (R, SL, EOI): the command.
pub const OCW2_COMMAND_MASK: u8 = 0xE0;
/// OCW2 bits 2–0 (L2–L0): the IR level the command acts on.
pub const OCW2_LEVEL_MASK: u8 = 0x07;
/// OCW2 command 000: clear rotate-in-auto-EOI mode.
pub const OCW2_ROTATE_AEOI_CLEAR: u8 = 0x00;
/// OCW2 command 001: non-specific EOI.
pub const OCW2_EOI: u8 = 0x20;
/// OCW2 command 010: no operation.
pub const OCW2_NOP: u8 = 0x40;
/// OCW2 command 011: specific EOI of level L.
pub const OCW2_SPECIFIC_EOI: u8 = 0x60;
/// OCW2 command 100: set rotate-in-auto-EOI mode.
pub const OCW2_ROTATE_AEOI_SET: u8 = 0x80;
/// OCW2 command 101: rotate on non-specific EOI.
pub const OCW2_ROTATE_EOI: u8 = 0xA0;
/// OCW2 command 110: set priority (level L becomes the lowest).
pub const OCW2_SET_PRIORITY: u8 = 0xC0;
/// OCW2 command 111: rotate on specific EOI of level L.
pub const OCW2_ROTATE_SPECIFIC_EOI: u8 = 0xE0;

/// OCW3 bit 0 (RIS): with RR, read the ISR (else the IRR).
pub const OCW3_RIS: u8 = 0x01;
/// OCW3 bit 1 (RR): RIS is valid.
pub const OCW3_RR: u8 = 0x02;
/// OCW3 bit 2 (P): poll command.
pub const OCW3_POLL: u8 = 0x04;
/// OCW3 bit 3: marks a write to A0 = 0 (with bit 4 clear) as OCW3.
pub const OCW3_SELECT: u8 = 0x08;
/// OCW3 bit 5 (SMM): with ESMM, special mask mode on (else off).
pub const OCW3_SMM: u8 = 0x20;
/// OCW3 bit 6 (ESMM): SMM is valid.
pub const OCW3_ESMM: u8 = 0x40;

/// Poll word bit 7 (I): an interrupt was pending.
pub const POLL_INTERRUPT: u8 = 0x80;

/// ELCR1 bits that may be set: IRQ0, 1 and 2 are always edge-triggered.
pub const ELCR_MASTER_WRITABLE: u8 = 0xF8;
/// ELCR2 bits that may be set: IRQ8 and IRQ13 are always edge-triggered.
pub const ELCR_SLAVE_WRITABLE: u8 = 0xDE;

/// The master input wired to the slave's INT output.
pub const CASCADE_IR: u8 = 2;
/// The IR whose vector answers an INTA that finds no request.
pub const SPURIOUS_IR: u8 = 7;

/// Power-on vector base of the master (the PC BIOS value).
const MASTER_DEFAULT_BASE: u8 = 0x08;
/// Power-on vector base of the slave (the AT BIOS value).
const SLAVE_DEFAULT_BASE: u8 = 0x70;
/// What a bus with nobody answering INTA reads as.
const FLOATING_BUS: u8 = 0xFF;

// Warn-once sites.
const WARN_MCS80: u32 = 0;
const WARN_NO_SLAVE: u32 = 1;
const WARN_IRQ2: u32 = 2;

/// Where a chip is in its initialisation sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum InitStep {
    /// Initialised: A0 = 1 writes are OCW1.
    Ready,
    /// ICW1 seen; expecting ICW2.
    Icw2,
    /// Expecting ICW3 (cascade mode only).
    Icw3,
    /// Expecting ICW4 (only if ICW1 asked for it).
    Icw4,
}

/// One 8259A.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Chip {
    is_master: bool,
    /// Interrupt request register.
    irr: u8,
    /// In-service register.
    isr: u8,
    /// Interrupt mask register (OCW1).
    imr: u8,
    /// Current level of the IR input pins.
    pins: u8,
    /// ICW1 LTIM: every input level-triggered.
    ltim: bool,
    /// Edge/level control register (1 = level).
    elcr: u8,
    elcr_writable: u8,
    vector_base: u8,
    /// Master: bit n set means a slave hangs on IRn. Slave: its ID.
    icw3: u8,
    single: bool,
    icw4_expected: bool,
    mode_8086: bool,
    auto_eoi: bool,
    sfnm: bool,
    /// ICW4 BUF and M/S bits, stored only.
    buffer_mode: u8,
    rotate_on_aeoi: bool,
    /// The IR with the lowest priority; the next one up has the highest.
    lowest: u8,
    special_mask: bool,
    read_isr: bool,
    poll: bool,
    init: InitStep,
    #[serde(skip)]
    once: Once,
}

impl Chip {
    fn new(is_master: bool) -> Self {
        Chip {
            is_master,
            irr: 0,
            isr: 0,
            imr: 0xFF,
            pins: 0,
            ltim: false,
            elcr: 0,
            elcr_writable: if is_master {
                ELCR_MASTER_WRITABLE
            } else {
                ELCR_SLAVE_WRITABLE
            },
            vector_base: if is_master {
                MASTER_DEFAULT_BASE
            } else {
                SLAVE_DEFAULT_BASE
            },
            icw3: if is_master {
                1 << CASCADE_IR
            } else {
                CASCADE_IR
            },
            single: false,
            icw4_expected: true,
            mode_8086: true,
            auto_eoi: false,
            sfnm: false,
            buffer_mode: 0,
            rotate_on_aeoi: false,
            lowest: 7,
            special_mask: false,
            read_isr: false,
            poll: false,
            init: InitStep::Ready,
            once: Once::default(),
        }
    }

    /// Inputs that are level-triggered (bit per IR).
    fn level_lines(&self) -> u8 {
        if self.ltim {
            0xFF
        } else {
            self.elcr
        }
    }

    /// Priority rank of `ir`: 0 is the highest.
    fn rank(&self, ir: u8) -> u8 {
        ir.wrapping_sub(self.lowest).wrapping_sub(1) & 7
    }

    /// The highest-priority IR among `bits`.
    fn highest(&self, bits: u8) -> Option<u8> {
        (1..=8u8)
            .map(|step| (self.lowest + step) & 7)
            .find(|&ir| bits & (1 << ir) != 0)
    }

    fn is_cascade(&self, ir: u8) -> bool {
        self.is_master && !self.single && self.icw3 & (1 << ir) != 0
    }

    /// The IR that would interrupt the CPU now, if any (datasheet "priority
    /// resolver"): the highest unmasked request, if it outranks everything in
    /// service.
    fn resolve(&self) -> Option<u8> {
        let ir = self.highest(self.irr & !self.imr)?;
        // Special mask mode: a masked level's in-service bit inhibits nothing.
        let in_service = if self.special_mask {
            self.isr & !self.imr
        } else {
            self.isr
        };
        match self.highest(in_service) {
            None => Some(ir),
            Some(s) if self.rank(ir) < self.rank(s) => Some(ir),
            // Special fully nested mode: a slave in service does not lock out
            // further (higher-priority) requests from that same slave.
            Some(s) if s == ir && self.sfnm && self.is_cascade(ir) => Some(ir),
            Some(_) => None,
        }
    }

    /// The INT output.
    fn int(&self) -> bool {
        self.resolve().is_some()
    }

    fn set_pin(&mut self, ir: u8, high: bool) {
        let bit = 1u8 << ir;
        let was_high = self.pins & bit != 0;
        let level = self.level_lines() & bit != 0;
        if high {
            self.pins |= bit;
            if level || !was_high {
                self.irr |= bit;
            }
        } else {
            self.pins &= !bit;
            if level {
                self.irr &= !bit;
            }
        }
    }

    /// Marks `ir` accepted: its edge latch is consumed and, unless auto-EOI
    /// ends it at once, it goes in service.
    fn accept(&mut self, ir: u8, auto_eoi: bool) {
        let bit = 1u8 << ir;
        if self.level_lines() & bit == 0 {
            self.irr &= !bit;
        }
        if auto_eoi {
            if self.rotate_on_aeoi {
                self.lowest = ir;
            }
        } else {
            self.isr |= bit;
        }
    }

    /// The INTA cycle on this chip: the accepted IR, or `None` if no request
    /// is left (the caller answers with the IR7 default).
    fn acknowledge(&mut self) -> Option<u8> {
        let ir = self.resolve()?;
        self.accept(ir, self.auto_eoi);
        Some(ir)
    }

    fn vector(&mut self, ir: u8) -> u8 {
        if !self.mode_8086 && self.once.first(WARN_MCS80) {
            log::warn!(
                "{} 8259 in MCS-80/85 mode answered INTA; giving an 8086 vector",
                self.role()
            );
        }
        (self.vector_base & ICW2_VECTOR_MASK) | ir
    }

    /// Poll command read: acknowledges like INTA (no auto-EOI, which belongs
    /// to the INTA pulses) and reports the level.
    fn poll_word(&mut self) -> u8 {
        match self.resolve() {
            Some(ir) => {
                self.accept(ir, false);
                POLL_INTERRUPT | ir
            }
            None => 0,
        }
    }

    fn role(&self) -> &'static str {
        if self.is_master {
            "master"
        } else {
            "slave"
        }
    }

    fn write_command(&mut self, value: u8) {
        if value & ICW1_INIT != 0 {
            self.icw1(value);
        } else if value & OCW3_SELECT != 0 {
            self.ocw3(value);
        } else {
            self.ocw2(value);
        }
    }

    fn icw1(&mut self, value: u8) {
        self.init = InitStep::Icw2;
        self.single = value & ICW1_SNGL != 0;
        self.icw4_expected = value & ICW1_IC4 != 0;
        self.ltim = value & ICW1_LTIM != 0;
        // Datasheet, "Initialization Command Words": the edge sense circuit is
        // reset (a high input must go low and high again), the IMR is cleared,
        // IR7 gets the lowest priority, the slave address becomes 7, special
        // mask mode is cleared and status read is set to IRR; without IC4 the
        // ICW4 functions are all zero.
        self.imr = 0;
        self.isr = 0;
        self.irr = self.pins & self.level_lines();
        self.lowest = 7;
        self.special_mask = false;
        self.read_isr = false;
        self.poll = false;
        self.rotate_on_aeoi = false;
        if !self.is_master {
            self.icw3 = 7;
        }
        if !self.icw4_expected {
            self.mode_8086 = false;
            self.auto_eoi = false;
            self.sfnm = false;
            self.buffer_mode = 0;
        }
    }

    fn write_data(&mut self, value: u8) {
        self.init = match self.init {
            InitStep::Icw2 => {
                self.vector_base = value & ICW2_VECTOR_MASK;
                if !self.single {
                    InitStep::Icw3
                } else if self.icw4_expected {
                    InitStep::Icw4
                } else {
                    InitStep::Ready
                }
            }
            InitStep::Icw3 => {
                self.icw3 = value;
                if self.icw4_expected {
                    InitStep::Icw4
                } else {
                    InitStep::Ready
                }
            }
            InitStep::Icw4 => {
                self.mode_8086 = value & ICW4_8086 != 0;
                self.auto_eoi = value & ICW4_AEOI != 0;
                self.sfnm = value & ICW4_SFNM != 0;
                self.buffer_mode = value & (ICW4_BUF | ICW4_MASTER);
                InitStep::Ready
            }
            InitStep::Ready => {
                self.imr = value;
                InitStep::Ready
            }
        };
    }

    fn ocw2(&mut self, value: u8) {
        let level = value & OCW2_LEVEL_MASK;
        match value & OCW2_COMMAND_MASK {
            OCW2_EOI => {
                if let Some(ir) = self.highest(self.isr) {
                    self.isr &= !(1 << ir);
                }
            }
            OCW2_SPECIFIC_EOI => self.isr &= !(1 << level),
            OCW2_ROTATE_EOI => {
                if let Some(ir) = self.highest(self.isr) {
                    self.isr &= !(1 << ir);
                    self.lowest = ir;
                }
            }
            OCW2_ROTATE_SPECIFIC_EOI => {
                self.isr &= !(1 << level);
                self.lowest = level;
            }
            OCW2_SET_PRIORITY => self.lowest = level,
            OCW2_ROTATE_AEOI_SET => self.rotate_on_aeoi = true,
            OCW2_ROTATE_AEOI_CLEAR => self.rotate_on_aeoi = false,
            _ => {} // OCW2_NOP
        }
    }

    fn ocw3(&mut self, value: u8) {
        if value & OCW3_ESMM != 0 {
            self.special_mask = value & OCW3_SMM != 0;
        }
        if value & OCW3_POLL != 0 {
            self.poll = true;
        }
        if value & OCW3_RR != 0 {
            self.read_isr = value & OCW3_RIS != 0;
        }
    }

    fn read_command(&mut self) -> u8 {
        if std::mem::take(&mut self.poll) {
            self.poll_word()
        } else if self.read_isr {
            self.isr
        } else {
            self.irr
        }
    }

    fn read_data(&mut self) -> u8 {
        if std::mem::take(&mut self.poll) {
            self.poll_word()
        } else {
            self.imr
        }
    }

    fn write_elcr(&mut self, value: u8) {
        self.elcr = value & self.elcr_writable;
        // A line that is now level-triggered requests exactly while high.
        let level = self.level_lines();
        self.irr = (self.irr & !level) | (self.pins & level);
    }

    fn inspect(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let init = match self.init {
            InitStep::Ready => "ready",
            InitStep::Icw2 => "awaiting ICW2",
            InitStep::Icw3 => "awaiting ICW3",
            InitStep::Icw4 => "awaiting ICW4",
        };
        writeln!(
            out,
            "  {:6} IRR {:08b} ISR {:08b} IMR {:08b} pins {:08b} base {:#04x} lowest IR{} INT {}",
            self.role(),
            self.irr,
            self.isr,
            self.imr,
            self.pins,
            self.vector_base,
            self.lowest,
            if self.int() { "high" } else { "low" },
        )?;
        writeln!(
            out,
            "         trigger {} (LTIM {}, ELCR {:08b}), {}, ICW3 {:#04x}, {}{}{}{}{}, read {}, init {}",
            if self.ltim { "level" } else { "edge" },
            u8::from(self.ltim),
            self.elcr,
            if self.single { "single" } else { "cascade" },
            self.icw3,
            if self.mode_8086 { "8086" } else { "MCS-80" },
            if self.auto_eoi { " auto-EOI" } else { "" },
            if self.rotate_on_aeoi { " rotate-AEOI" } else { "" },
            if self.sfnm { " SFNM" } else { "" },
            if self.special_mask { " special-mask" } else { "" },
            if self.read_isr { "ISR" } else { "IRR" },
            init,
        )
    }
}

/// The AT's pair of 8259As: master (IRQ0–7) and slave (IRQ8–15 on master
/// IR2), with the PIIX-style ELCR.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pic8259 {
    master: Chip,
    slave: Chip,
    /// IRQ line levels as last propagated from [`IrqLines`].
    synced_lines: u16,
    #[serde(skip)]
    once: Once,
}

impl Default for Pic8259 {
    fn default() -> Self {
        Self::new()
    }
}

impl Pic8259 {
    /// The pair in its power-on state. The datasheet leaves a chip undefined
    /// until ICW1; we start as the PC wiring suggests (vector bases 0x08 and
    /// 0x70, cascade on IR2, 8086 mode, edge-triggered) but with every input
    /// masked, so nothing is delivered before the firmware initialises us.
    pub fn new() -> Self {
        Pic8259 {
            master: Chip::new(true),
            slave: Chip::new(false),
            synced_lines: 0,
            once: Once::default(),
        }
    }

    /// Drives ISA IRQ `irq` (0–15) to `high`. IRQ2 does not exist on the AT
    /// (master IR2 carries the slave); driving it is ignored and logged once.
    pub fn set_irq(&mut self, irq: u8, high: bool) {
        match irq {
            CASCADE_IR => {
                if self.once.first(WARN_IRQ2) {
                    log::warn!("IRQ2 driven, but master IR2 is the cascade input; ignored");
                }
            }
            0..=7 => self.master.set_pin(irq, high),
            8..=15 => self.slave.set_pin(irq - 8, high),
            _ => log::error!("IRQ {irq} does not exist"),
        }
        self.update_cascade();
    }

    /// Propagates the IRQ line levels, and any rising edges that happened
    /// since the last call, to the chips' input pins.
    pub fn sync_inputs(&mut self, lines: &mut IrqLines) {
        let rose = lines.take_rising();
        let level = lines.bits();
        if rose == 0 && level == self.synced_lines {
            return;
        }
        for irq in (0..16u8).filter(|&n| n != CASCADE_IR) {
            let bit = 1u16 << irq;
            if rose & bit != 0 {
                // The line went high at some point: make sure the pin sees a
                // rising edge even if it was already high or fell again.
                self.set_irq(irq, false);
                self.set_irq(irq, true);
            }
            self.set_irq(irq, level & bit != 0);
        }
        self.synced_lines = level;
    }

    /// The master's INT output: whether the CPU is being interrupted.
    pub fn int_output(&self) -> bool {
        self.master.int()
    }

    /// The CPU's INTA cycle: returns the vector and moves the request in
    /// service. With no request left, answers the IR7 default of the chip that
    /// found nothing (IRQ7 or IRQ15 vector) without setting that ISR bit.
    pub fn acknowledge(&mut self) -> u8 {
        let vector = match self.master.acknowledge() {
            None => self.master.vector(SPURIOUS_IR),
            Some(ir) if self.master.is_cascade(ir) => {
                if self.slave.icw3 & ICW3_SLAVE_ID_MASK == ir {
                    match self.slave.acknowledge() {
                        Some(sir) => self.slave.vector(sir),
                        None => self.slave.vector(SPURIOUS_IR),
                    }
                } else {
                    if self.once.first(WARN_NO_SLAVE) {
                        log::warn!(
                            "INTA for cascade IR{ir}, but no slave has that ID (slave ICW3 {:#x})",
                            self.slave.icw3
                        );
                    }
                    FLOATING_BUS
                }
            }
            Some(ir) => self.master.vector(ir),
        };
        self.update_cascade();
        vector
    }

    /// A guest write to one of the six ports (other ports are ignored).
    pub fn write_port(&mut self, port: u16, value: u8) {
        match port {
            PIC_MASTER_CMD => self.master.write_command(value),
            PIC_MASTER_DATA => self.master.write_data(value),
            PIC_SLAVE_CMD => self.slave.write_command(value),
            PIC_SLAVE_DATA => self.slave.write_data(value),
            ELCR_MASTER => self.master.write_elcr(value),
            ELCR_SLAVE => self.slave.write_elcr(value),
            _ => log::error!("8259 write to foreign port {port:#x}"),
        }
        self.update_cascade();
    }

    /// A guest read of one of the six ports (other ports read all ones).
    pub fn read_port(&mut self, port: u16) -> u8 {
        let value = match port {
            PIC_MASTER_CMD => self.master.read_command(),
            PIC_MASTER_DATA => self.master.read_data(),
            PIC_SLAVE_CMD => self.slave.read_command(),
            PIC_SLAVE_DATA => self.slave.read_data(),
            ELCR_MASTER => self.master.elcr,
            ELCR_SLAVE => self.slave.elcr,
            _ => {
                log::error!("8259 read of foreign port {port:#x}");
                0xFF
            }
        };
        // A poll read may have moved a slave request in service.
        self.update_cascade();
        value
    }

    /// Both IRRs, IRQ `n` in bit `n`.
    pub fn irr(&self) -> u16 {
        u16::from_le_bytes([self.master.irr, self.slave.irr])
    }

    /// Both ISRs, IRQ `n` in bit `n`.
    pub fn isr(&self) -> u16 {
        u16::from_le_bytes([self.master.isr, self.slave.isr])
    }

    /// Both IMRs, IRQ `n` in bit `n`.
    pub fn imr(&self) -> u16 {
        u16::from_le_bytes([self.master.imr, self.slave.imr])
    }

    /// The vector bases (ICW2) of master and slave.
    pub fn vector_bases(&self) -> (u8, u8) {
        (self.master.vector_base, self.slave.vector_base)
    }

    /// Power-on (and reset-line) state: the integrated controllers of a
    /// PIIX-style board are reset by the platform reset.
    pub fn reset_state(&mut self) {
        *self = Pic8259::new();
    }

    /// The slave's INT drives the master's IR2.
    fn update_cascade(&mut self) {
        let int = self.slave.int();
        self.master.set_pin(CASCADE_IR, int);
    }
}

impl Device for Pic8259 {
    fn name(&self) -> &'static str {
        "pic"
    }

    fn io_read(&mut self, port: u16, _size: u8, _cx: &mut IoCx) -> u32 {
        u32::from(self.read_port(port))
    }

    fn io_write(&mut self, port: u16, _size: u8, value: u32, _cx: &mut IoCx) {
        self.write_port(port, value as u8);
    }

    fn reset(&mut self, _kind: crate::bus::ResetKind) {
        self.reset_state();
    }

    fn inspect(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "pic: 8259A pair, INTR {}",
            if self.int_output() { "high" } else { "low" }
        )?;
        self.master.inspect(out)?;
        self.slave.inspect(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pair programmed as a PC BIOS does: edge-triggered, cascade on IR2,
    /// 8086 mode, bases 0x08/0x70, all unmasked.
    fn pc_pic() -> Pic8259 {
        let mut pic = Pic8259::new();
        pic.write_port(PIC_MASTER_CMD, ICW1_INIT | ICW1_IC4);
        pic.write_port(PIC_MASTER_DATA, 0x08);
        pic.write_port(PIC_MASTER_DATA, 1 << CASCADE_IR);
        pic.write_port(PIC_MASTER_DATA, ICW4_8086);
        pic.write_port(PIC_SLAVE_CMD, ICW1_INIT | ICW1_IC4);
        pic.write_port(PIC_SLAVE_DATA, 0x70);
        pic.write_port(PIC_SLAVE_DATA, CASCADE_IR);
        pic.write_port(PIC_SLAVE_DATA, ICW4_8086);
        pic.write_port(PIC_MASTER_DATA, 0x00);
        pic.write_port(PIC_SLAVE_DATA, 0x00);
        pic
    }

    fn pulse(pic: &mut Pic8259, irq: u8) {
        pic.set_irq(irq, true);
        pic.set_irq(irq, false);
    }

    fn read_isr(pic: &mut Pic8259, port: u16) -> u8 {
        pic.write_port(port, OCW3_SELECT | OCW3_RR | OCW3_RIS);
        let v = pic.read_port(port);
        pic.write_port(port, OCW3_SELECT | OCW3_RR);
        v
    }

    #[test]
    fn power_on_masks_everything() {
        let mut pic = Pic8259::new();
        pic.set_irq(1, true);
        assert!(!pic.int_output());
        assert_eq!(pic.imr(), 0xFFFF);
    }

    #[test]
    fn init_sequence_sets_bases_and_clears_masks() {
        let mut pic = pc_pic();
        assert_eq!(pic.vector_bases(), (0x08, 0x70));
        assert_eq!(pic.imr(), 0);
        pic.write_port(PIC_MASTER_DATA, 0xB8);
        assert_eq!(pic.read_port(PIC_MASTER_DATA), 0xB8);
        // ICW1 clears the IMR again.
        pic.write_port(PIC_MASTER_CMD, ICW1_INIT | ICW1_IC4);
        assert_eq!(pic.read_port(PIC_MASTER_DATA), 0);
        pic.write_port(PIC_MASTER_DATA, 0x20);
        pic.write_port(PIC_MASTER_DATA, 0x04);
        pic.write_port(PIC_MASTER_DATA, ICW4_8086);
        pic.set_irq(0, true);
        assert_eq!(pic.acknowledge(), 0x20);
    }

    #[test]
    fn single_mode_skips_icw3() {
        let mut pic = Pic8259::new();
        pic.write_port(PIC_MASTER_CMD, ICW1_INIT | ICW1_SNGL | ICW1_IC4);
        pic.write_port(PIC_MASTER_DATA, 0x50);
        pic.write_port(PIC_MASTER_DATA, ICW4_8086); // this is ICW4, not ICW3
        pic.write_port(PIC_MASTER_DATA, 0xFE); // OCW1
        assert_eq!(pic.imr() & 0xFF, 0xFE);
        pic.set_irq(0, true);
        assert_eq!(pic.acknowledge(), 0x50);
    }

    #[test]
    fn fixed_priority_and_nesting() {
        let mut pic = pc_pic();
        pic.set_irq(4, true);
        pic.set_irq(1, true);
        assert_eq!(pic.acknowledge(), 0x09);
        // IRQ4 is lower priority than IRQ1 in service: held off.
        assert!(!pic.int_output());
        // IRQ0 outranks it and nests.
        pic.set_irq(0, true);
        assert!(pic.int_output());
        assert_eq!(pic.acknowledge(), 0x08);
        assert_eq!(pic.isr(), 0b0000_0011);
        pic.write_port(PIC_MASTER_CMD, OCW2_EOI); // ends IRQ0
        assert!(!pic.int_output());
        pic.write_port(PIC_MASTER_CMD, OCW2_EOI); // ends IRQ1
        assert_eq!(pic.acknowledge(), 0x0C);
    }

    #[test]
    fn specific_eoi_clears_only_that_level() {
        let mut pic = pc_pic();
        pic.set_irq(3, true);
        pic.set_irq(5, true);
        pic.acknowledge();
        pic.write_port(PIC_MASTER_CMD, OCW3_SELECT | OCW3_SMM | OCW3_ESMM);
        pic.write_port(PIC_MASTER_DATA, 1 << 3);
        pic.acknowledge(); // IRQ5 gets in under special mask mode
        assert_eq!(pic.isr(), (1 << 3) | (1 << 5));
        pic.write_port(PIC_MASTER_CMD, OCW2_SPECIFIC_EOI | 3);
        assert_eq!(pic.isr(), 1 << 5);
    }

    #[test]
    fn masked_request_waits_in_irr() {
        let mut pic = pc_pic();
        pic.write_port(PIC_MASTER_DATA, 1 << 3);
        pulse(&mut pic, 3);
        assert!(!pic.int_output());
        assert_eq!(pic.irr() & (1 << 3), 1 << 3);
        pic.write_port(PIC_MASTER_DATA, 0);
        assert_eq!(pic.acknowledge(), 0x0B);
    }

    #[test]
    fn edge_input_latches_only_rising_edges() {
        let mut pic = pc_pic();
        pic.set_irq(5, true);
        assert_eq!(pic.acknowledge(), 0x0D);
        pic.write_port(PIC_MASTER_CMD, OCW2_EOI);
        // Still high, no new edge: nothing.
        pic.set_irq(5, true);
        assert!(!pic.int_output());
        // Low then high again: a new request.
        pic.set_irq(5, false);
        assert!(!pic.int_output());
        pic.set_irq(5, true);
        assert!(pic.int_output());
    }

    #[test]
    fn level_input_repeats_while_high() {
        let mut pic = pc_pic();
        pic.write_port(ELCR_MASTER, 1 << 5);
        assert_eq!(pic.read_port(ELCR_MASTER), 1 << 5);
        pic.set_irq(5, true);
        assert_eq!(pic.acknowledge(), 0x0D);
        pic.write_port(PIC_MASTER_CMD, OCW2_EOI);
        // Still high: requests again.
        assert_eq!(pic.acknowledge(), 0x0D);
        pic.write_port(PIC_MASTER_CMD, OCW2_EOI);
        pic.set_irq(5, false);
        assert!(!pic.int_output());
    }

    #[test]
    fn ltim_makes_every_input_level_triggered() {
        let mut pic = Pic8259::new();
        pic.write_port(PIC_MASTER_CMD, ICW1_INIT | ICW1_SNGL | ICW1_LTIM | ICW1_IC4);
        pic.write_port(PIC_MASTER_DATA, 0x08);
        pic.write_port(PIC_MASTER_DATA, ICW4_8086);
        pic.set_irq(6, true);
        pic.set_irq(6, false);
        assert!(!pic.int_output(), "a withdrawn level request is gone");
    }

    #[test]
    fn elcr_reserved_bits_stay_edge() {
        let mut pic = pc_pic();
        pic.write_port(ELCR_MASTER, 0xFF);
        pic.write_port(ELCR_SLAVE, 0xFF);
        assert_eq!(pic.read_port(ELCR_MASTER), ELCR_MASTER_WRITABLE);
        assert_eq!(pic.read_port(ELCR_SLAVE), ELCR_SLAVE_WRITABLE);
    }

    #[test]
    fn cascade_delivers_slave_vector_and_marks_both_isrs() {
        let mut pic = pc_pic();
        pic.set_irq(13, true);
        assert!(pic.int_output());
        assert_eq!(pic.acknowledge(), 0x75);
        assert_eq!(pic.isr(), (1 << 13) | (1 << CASCADE_IR));
        // IRQ14 ranks below IRQ13 inside the slave: it waits for the slave EOI.
        pic.set_irq(14, true);
        assert!(!pic.int_output());
        pic.write_port(PIC_SLAVE_CMD, OCW2_EOI);
        // The slave's INT rose again, but master IR2 is still in service.
        assert!(!pic.int_output());
        pic.write_port(PIC_MASTER_CMD, OCW2_EOI);
        assert_eq!(pic.acknowledge(), 0x76);
    }

    #[test]
    fn master_irq_outranks_cascade_by_position() {
        let mut pic = pc_pic();
        pic.set_irq(9, true);
        pic.set_irq(3, true);
        pic.set_irq(1, true);
        assert_eq!(pic.acknowledge(), 0x09); // IRQ1
        pic.write_port(PIC_MASTER_CMD, OCW2_EOI);
        assert_eq!(pic.acknowledge(), 0x71); // IRQ9 via IR2
        pic.write_port(PIC_SLAVE_CMD, OCW2_EOI);
        pic.write_port(PIC_MASTER_CMD, OCW2_EOI);
        assert_eq!(pic.acknowledge(), 0x0B); // IRQ3
    }

    #[test]
    fn spurious_irq7_when_request_is_withdrawn() {
        let mut pic = pc_pic();
        pic.write_port(ELCR_MASTER, 1 << 4);
        pic.set_irq(4, true);
        assert!(pic.int_output());
        pic.set_irq(4, false); // gone before INTA
        assert_eq!(pic.acknowledge(), 0x0F);
        assert_eq!(pic.isr(), 0, "a default IR7 sets no ISR bit");
    }

    #[test]
    fn spurious_irq7_when_masked_before_inta() {
        let mut pic = pc_pic();
        pic.set_irq(3, true);
        pic.write_port(PIC_MASTER_DATA, 1 << 3);
        assert_eq!(pic.acknowledge(), 0x0F);
        assert_eq!(pic.isr(), 0);
    }

    #[test]
    fn spurious_irq15_leaves_master_ir2_in_service() {
        let mut pic = pc_pic();
        pic.set_irq(11, true);
        assert!(pic.int_output());
        // Mask it on the slave after the master latched the cascade edge.
        pic.write_port(PIC_SLAVE_DATA, 1 << 3);
        assert_eq!(pic.acknowledge(), 0x77);
        assert_eq!(pic.isr(), 1 << CASCADE_IR);
    }

    #[test]
    fn auto_eoi_leaves_nothing_in_service() {
        let mut pic = Pic8259::new();
        pic.write_port(PIC_MASTER_CMD, ICW1_INIT | ICW1_SNGL | ICW1_IC4);
        pic.write_port(PIC_MASTER_DATA, 0x08);
        pic.write_port(PIC_MASTER_DATA, ICW4_8086 | ICW4_AEOI);
        pic.set_irq(3, true);
        pic.set_irq(5, true);
        assert_eq!(pic.acknowledge(), 0x0B);
        assert_eq!(pic.isr(), 0);
        // Nothing in service, so IRQ5 follows at once.
        assert_eq!(pic.acknowledge(), 0x0D);
    }

    #[test]
    fn rotate_in_auto_eoi_mode() {
        let mut pic = Pic8259::new();
        pic.write_port(PIC_MASTER_CMD, ICW1_INIT | ICW1_SNGL | ICW1_IC4);
        pic.write_port(PIC_MASTER_DATA, 0x08);
        pic.write_port(PIC_MASTER_DATA, ICW4_8086 | ICW4_AEOI);
        pic.write_port(PIC_MASTER_CMD, OCW2_ROTATE_AEOI_SET);
        pic.set_irq(1, true);
        assert_eq!(pic.acknowledge(), 0x09);
        // IRQ1 is now lowest: IRQ2.. first, so IRQ0 loses to IRQ3.
        pic.set_irq(0, true);
        pic.set_irq(3, true);
        assert_eq!(pic.acknowledge(), 0x0B);
        pic.write_port(PIC_MASTER_CMD, OCW2_ROTATE_AEOI_CLEAR);
        assert_eq!(pic.acknowledge(), 0x08);
    }

    #[test]
    fn rotate_on_non_specific_eoi() {
        let mut pic = pc_pic();
        pic.set_irq(0, true);
        assert_eq!(pic.acknowledge(), 0x08);
        pic.write_port(PIC_MASTER_CMD, OCW2_ROTATE_EOI);
        // IRQ0 is now the lowest priority: IRQ6 beats a new IRQ0.
        pic.set_irq(0, false);
        pic.set_irq(0, true);
        pic.set_irq(6, true);
        assert_eq!(pic.acknowledge(), 0x0E);
    }

    #[test]
    fn rotate_on_specific_eoi_and_set_priority() {
        let mut pic = pc_pic();
        pic.set_irq(5, true);
        pic.acknowledge();
        pic.write_port(PIC_MASTER_CMD, OCW2_ROTATE_SPECIFIC_EOI | 5);
        assert_eq!(pic.isr(), 0);
        // IR5 lowest, so IR6 is highest now.
        pic.set_irq(4, true);
        pic.set_irq(6, true);
        assert_eq!(pic.acknowledge(), 0x0E);
        pic.write_port(PIC_MASTER_CMD, OCW2_EOI);
        // Set priority: IR3 lowest, IR4 highest.
        pic.write_port(PIC_MASTER_CMD, OCW2_SET_PRIORITY | 3);
        pic.set_irq(0, true);
        assert_eq!(pic.acknowledge(), 0x0C);
    }

    #[test]
    fn read_irr_and_isr_through_ocw3() {
        let mut pic = pc_pic();
        pic.set_irq(3, true);
        pic.set_irq(6, true);
        assert_eq!(pic.read_port(PIC_MASTER_CMD), 0b0100_1000);
        pic.acknowledge();
        assert_eq!(read_isr(&mut pic, PIC_MASTER_CMD), 0b0000_1000);
        assert_eq!(pic.read_port(PIC_MASTER_CMD), 0b0100_0000);
    }

    #[test]
    fn poll_mode_acknowledges_on_read() {
        let mut pic = pc_pic();
        pic.set_irq(5, true);
        pic.write_port(PIC_MASTER_CMD, OCW3_SELECT | OCW3_POLL);
        assert_eq!(pic.read_port(PIC_MASTER_CMD), POLL_INTERRUPT | 5);
        assert_eq!(pic.isr(), 1 << 5);
        // Poll is one-shot; with nothing pending the word is 0.
        pic.write_port(PIC_MASTER_CMD, OCW3_SELECT | OCW3_POLL);
        assert_eq!(pic.read_port(PIC_MASTER_CMD), 0);
        // Back to normal reads (IRR).
        assert_eq!(pic.read_port(PIC_MASTER_CMD), 0);
    }

    #[test]
    fn special_mask_mode_lets_lower_levels_in() {
        let mut pic = pc_pic();
        pic.set_irq(3, true);
        assert_eq!(pic.acknowledge(), 0x0B);
        pic.set_irq(6, true);
        assert!(!pic.int_output());
        pic.write_port(PIC_MASTER_CMD, OCW3_SELECT | OCW3_ESMM | OCW3_SMM);
        pic.write_port(PIC_MASTER_DATA, 1 << 3);
        assert!(pic.int_output());
        assert_eq!(pic.acknowledge(), 0x0E);
        pic.write_port(PIC_MASTER_CMD, OCW3_SELECT | OCW3_ESMM);
        pic.write_port(PIC_MASTER_DATA, 0);
        pic.write_port(PIC_MASTER_CMD, OCW2_SPECIFIC_EOI | 6);
        pic.write_port(PIC_MASTER_CMD, OCW2_SPECIFIC_EOI | 3);
        assert_eq!(pic.isr(), 0);
    }

    #[test]
    fn special_fully_nested_mode_admits_same_slave() {
        let mut pic = pc_pic();
        pic.write_port(PIC_MASTER_CMD, ICW1_INIT | ICW1_IC4);
        pic.write_port(PIC_MASTER_DATA, 0x08);
        pic.write_port(PIC_MASTER_DATA, 1 << CASCADE_IR);
        pic.write_port(PIC_MASTER_DATA, ICW4_8086 | ICW4_SFNM);
        pic.set_irq(12, true);
        assert_eq!(pic.acknowledge(), 0x74);
        // A higher-priority request from the same slave gets through.
        pic.set_irq(9, true);
        assert!(pic.int_output());
        assert_eq!(pic.acknowledge(), 0x71);
    }

    #[test]
    fn sync_inputs_sees_squeezed_pulses() {
        let mut pic = pc_pic();
        let mut lines = IrqLines::new();
        lines.raise(0);
        lines.lower(0);
        pic.sync_inputs(&mut lines);
        assert_eq!(pic.acknowledge(), 0x08);
        // A line that stayed high and pulsed again is a fresh edge too.
        pic.write_port(PIC_MASTER_CMD, OCW2_EOI);
        lines.raise(1);
        pic.sync_inputs(&mut lines);
        assert_eq!(pic.acknowledge(), 0x09);
        pic.write_port(PIC_MASTER_CMD, OCW2_EOI);
        lines.lower(1);
        lines.raise(1);
        pic.sync_inputs(&mut lines);
        assert_eq!(pic.acknowledge(), 0x09);
    }

    #[test]
    fn irq2_is_not_an_input() {
        let mut pic = pc_pic();
        pic.set_irq(2, true);
        assert!(!pic.int_output());
    }

    #[test]
    fn snapshot_round_trip_keeps_state() {
        let mut pic = pc_pic();
        pic.set_irq(4, true);
        pic.set_irq(10, true);
        pic.acknowledge();
        let text = serde_json::to_string(&pic).unwrap();
        let mut copy: Pic8259 = serde_json::from_str(&text).unwrap();
        assert_eq!(copy.irr(), pic.irr());
        assert_eq!(copy.isr(), pic.isr());
        assert_eq!(copy.acknowledge(), pic.acknowledge());
    }

    #[test]
    fn inspect_names_both_chips() {
        let pic = pc_pic();
        let mut out = Vec::new();
        pic.inspect(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("master") && text.contains("slave"), "{text}");
        assert!(text.contains("base 0x70"), "{text}");
    }
}
