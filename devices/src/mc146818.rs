//! Motorola MC146818A real-time clock and CMOS RAM, as wired in the PC/AT.
//!
//! The chip keeps the time of day and the date in battery-backed registers,
//! counts them once a second from a 32.768 kHz crystal, and can interrupt on
//! three sources: a periodic rate taken from its divider chain, an alarm
//! (hour/minute/second match, with "don't care" values), and the end of each
//! once-a-second update. The rest of its RAM holds the BIOS configuration
//! ("CMOS setup"): floppy and disk types, memory sizes, boot order.
//!
//! | port | register                                                        |
//! |------|-----------------------------------------------------------------|
//! | 0x70 | index (bits 6–0) and, on the AT board, NMI disable (bit 7)       |
//! | 0x71 | data of the register selected by the index                       |
//!
//! IRQ 8 is the chip's IRQ output (IRQF in register C): high while an enabled
//! flag is set, low again once register C is read.
//!
//! Follows the Motorola MC146818A datasheet: registers A (UIP, divider DV2–0,
//! rate select RS3–0), B (SET, PIE, AIE, UIE, SQWE, DM, 24/12, DSE), C (IRQF,
//! PF, AF, UF; cleared by reading) and D (VRT), BCD and binary data modes,
//! 12- and 24-hour modes with the PM bit in bit 7 of the hours, day of week
//! 1–7 (1 = Sunday), alarm bytes 0xC0–0xFF as "don't care", UIP high for the
//! 244 µs before each update, SET inhibiting updates (and clearing UIE as it
//! goes high), the divider held in reset by DV = 11x with the first update
//! half a second after release, and the three time bases (4.194304 MHz,
//! 1.048576 MHz, 32.768 kHz) as they behave with the PC's 32.768 kHz crystal.
//! The flags in register C are set whether or not their interrupt is
//! enabled; IRQF is PF·PIE + AF·AIE + UF·UIE at every moment, so enabling an
//! interrupt whose flag is already set raises IRQ 8 at once.
//!
//! The RAM is 128 bytes (the AT's 64 plus the upper bank most chipsets add);
//! index bit 7 is the NMI mask, so indices wrap at 0x80. Byte 0x32 is the
//! century, which (as in the Dallas DS12887A and later PC chipsets) counts
//! with the year, so the date stays right across a century.
//!
//! ## Time
//!
//! Nothing here runs per clock. The chip's input clock ("ticks", 32768 per
//! second) is derived from the CPU clock: tick `floor(now * 32768 /
//! cycles_per_second)`. The divider chain is described by the tick at which
//! it started counting (its phase); updates happen every second of ticks from
//! there, periodic flags every period. The calendar is kept as the register
//! values at one update number; the time at any later moment is those values
//! advanced by the updates in between. So at power-on the clock reads
//! `start_unix_seconds + now / cycles_per_second`, and a guest that sets the
//! time (with SET, or directly) moves it from that moment on.
//!
//! The flags are brought up to date on every access and at scheduled events.
//! An event on [`EventKind::Rtc`] is pending only while an enabled interrupt
//! can still happen (IRQF clear and PIE, or AIE/UIE with the clock running):
//! at the next periodic edge or the next update, whichever comes first.
//!
//! ## Not emulated
//!
//! - The update cycle itself (1984 µs in which the time registers are in
//!   transition) is collapsed to the instant at its end: the registers change
//!   at the update, UIP is high for the 244 µs before it.
//! - Daylight saving (DSE) is stored but the clock never jumps an hour.
//! - The square-wave output (SQWE) is not connected on the PC; stored only.
//! - Invalid time values (seconds 75, month 13) are kept as written while the
//!   clock is stopped; when it advances they are first brought into range
//!   (clamped, days past the month's end carried into the next month), where
//!   the chip would count through them in its own way. Changing DM or 24/12
//!   converts the time on the next read, where the chip needs the time
//!   rewritten.
//! - The three factory test modes of DV are treated as a held divider.
//! - Leap years follow the Gregorian rule on the full year (century byte
//!   included); the chip itself only looks at the year's two digits.

use crate::bus::{Device, IoCx, ResetKind};
use crate::once::Once;
use crate::time::{Cycles, EventKind};
use serde::{Deserialize, Serialize};
use std::io::Write;

/// Index port (write the register number; bit 7 masks NMI).
pub const RTC_INDEX_PORT: u16 = 0x70;
/// Data port.
pub const RTC_DATA_PORT: u16 = 0x71;
/// The IRQ line of the chip's IRQ output.
pub const RTC_IRQ: u8 = 8;

/// Bytes of RAM, clock registers included.
pub const CMOS_SIZE: usize = 128;
/// Port 0x70 bits 6–0: the register index.
pub const INDEX_MASK: u8 = 0x7F;
/// Port 0x70 bit 7: NMI disabled (a latch on the AT board, not in the chip).
pub const INDEX_NMI_DISABLE: u8 = 0x80;

/// The crystal on the PC board, in Hz: the chip's input clock.
pub const CRYSTAL_HZ: u64 = 32_768;

/// Seconds (0–59).
pub const REG_SECONDS: u8 = 0x00;
/// Seconds alarm.
pub const REG_SECONDS_ALARM: u8 = 0x01;
/// Minutes (0–59).
pub const REG_MINUTES: u8 = 0x02;
/// Minutes alarm.
pub const REG_MINUTES_ALARM: u8 = 0x03;
/// Hours (0–23, or 1–12 with [`HOURS_PM`]).
pub const REG_HOURS: u8 = 0x04;
/// Hours alarm.
pub const REG_HOURS_ALARM: u8 = 0x05;
/// Day of week (1–7, 1 = Sunday).
pub const REG_DAY_OF_WEEK: u8 = 0x06;
/// Day of month (1–31).
pub const REG_DAY_OF_MONTH: u8 = 0x07;
/// Month (1–12).
pub const REG_MONTH: u8 = 0x08;
/// Year within the century (0–99).
pub const REG_YEAR: u8 = 0x09;
/// Register A: UIP, divider, rate select.
pub const REG_A: u8 = 0x0A;
/// Register B: SET, interrupt enables, data modes.
pub const REG_B: u8 = 0x0B;
/// Register C: interrupt flags (read only; reading clears them).
pub const REG_C: u8 = 0x0C;
/// Register D: valid RAM and time (read only).
pub const REG_D: u8 = 0x0D;

/// Register A bit 7 (read only): an update happens within 244 µs.
pub const A_UIP: u8 = 0x80;
/// Register A bits 6–4: divider control (time base, or divider reset).
pub const A_DV_MASK: u8 = 0x70;
/// DV = 000: 4.194304 MHz time base.
pub const A_DV_4MHZ: u8 = 0x00;
/// DV = 001: 1.048576 MHz time base.
pub const A_DV_1MHZ: u8 = 0x10;
/// DV = 010: 32.768 kHz time base, the PC's.
pub const A_DV_32KHZ: u8 = 0x20;
/// DV = 11x: divider chain held in reset (0x60 or 0x70).
pub const A_DV_RESET: u8 = 0x60;
/// Register A bits 3–0: periodic rate select (0 = none).
pub const A_RS_MASK: u8 = 0x0F;
/// The bits of register A a write changes.
pub const A_WRITABLE: u8 = 0x7F;
/// Register A as the BIOS programs it: 32.768 kHz, 1024 Hz periodic rate.
pub const A_BIOS_DEFAULT: u8 = 0x26;

/// Register B bit 7: stop updates so the time can be set.
pub const B_SET: u8 = 0x80;
/// Register B bit 6: periodic interrupt enable.
pub const B_PIE: u8 = 0x40;
/// Register B bit 5: alarm interrupt enable.
pub const B_AIE: u8 = 0x20;
/// Register B bit 4: update-ended interrupt enable.
pub const B_UIE: u8 = 0x10;
/// Register B bit 3: square-wave output enable.
pub const B_SQWE: u8 = 0x08;
/// Register B bit 2: data mode binary (clear: BCD).
pub const B_DM_BINARY: u8 = 0x04;
/// Register B bit 1: 24-hour mode (clear: 12-hour with [`HOURS_PM`]).
pub const B_24H: u8 = 0x02;
/// Register B bit 0: daylight saving enable.
pub const B_DSE: u8 = 0x01;
/// Register B as the BIOS programs it: BCD, 24-hour, no interrupts.
pub const B_BIOS_DEFAULT: u8 = B_24H;

/// Register C bit 7: IRQF, the IRQ output (an enabled flag is set).
pub const C_IRQF: u8 = 0x80;
/// Register C bit 6: periodic flag.
pub const C_PF: u8 = 0x40;
/// Register C bit 5: alarm flag.
pub const C_AF: u8 = 0x20;
/// Register C bit 4: update-ended flag.
pub const C_UF: u8 = 0x10;
/// The flag bits of C; the matching enables of B sit at the same positions.
pub const C_SOURCES: u8 = C_PF | C_AF | C_UF;

/// Register D bit 7: valid RAM and time (the battery is good).
pub const D_VRT: u8 = 0x80;

/// Hours bit 7 in 12-hour mode: PM.
pub const HOURS_PM: u8 = 0x80;
/// Alarm bytes with both top bits set match any value.
pub const ALARM_DONT_CARE: u8 = 0xC0;

/// CMOS 0x0E: POST diagnostic status.
pub const CMOS_DIAGNOSTIC: u8 = 0x0E;
/// CMOS 0x0F: shutdown status (why the CPU was reset; read by the BIOS).
pub const CMOS_SHUTDOWN: u8 = 0x0F;
/// CMOS 0x10: floppy drive types, drive A in the high nibble, B in the low.
pub const CMOS_FLOPPY_TYPES: u8 = 0x10;
/// Floppy type: no drive.
pub const FLOPPY_NONE: u8 = 0;
/// Floppy type: 5.25" 360 KB.
pub const FLOPPY_360K: u8 = 1;
/// Floppy type: 5.25" 1.2 MB.
pub const FLOPPY_1_2M: u8 = 2;
/// Floppy type: 3.5" 720 KB.
pub const FLOPPY_720K: u8 = 3;
/// Floppy type: 3.5" 1.44 MB.
pub const FLOPPY_1_44M: u8 = 4;
/// Floppy type: 3.5" 2.88 MB.
pub const FLOPPY_2_88M: u8 = 5;
/// CMOS 0x12: hard disk types, disk 0 in the high nibble, disk 1 in the low
/// (0 none, 0xF "user type", whose number is in 0x19/0x1A).
pub const CMOS_DISK_TYPES: u8 = 0x12;
/// CMOS 0x14: equipment byte.
pub const CMOS_EQUIPMENT: u8 = 0x14;
/// Equipment bit 0: floppy drives present.
pub const EQUIP_FLOPPY: u8 = 0x01;
/// Equipment bit 1: maths coprocessor present.
pub const EQUIP_FPU: u8 = 0x02;
/// Equipment bits 5–4: primary display (00 EGA/VGA, 01 CGA 40 columns,
/// 10 CGA 80 columns, 11 monochrome).
pub const EQUIP_DISPLAY_MASK: u8 = 0x30;
/// Equipment bits 7–6: number of floppy drives minus one.
pub const EQUIP_FLOPPY_COUNT_SHIFT: u8 = 6;
/// CMOS 0x15: base memory in KB, low byte (0x16 high byte; 640 normally).
pub const CMOS_BASE_MEM_LO: u8 = 0x15;
/// CMOS 0x16: base memory in KB, high byte.
pub const CMOS_BASE_MEM_HI: u8 = 0x16;
/// CMOS 0x17: memory above 1 MB in KB, low byte (to 65535 KB, 64 MB).
pub const CMOS_EXT_MEM_LO: u8 = 0x17;
/// CMOS 0x18: memory above 1 MB in KB, high byte.
pub const CMOS_EXT_MEM_HI: u8 = 0x18;
/// CMOS 0x19: disk 0 type when the nibble in 0x12 is 0xF.
pub const CMOS_DISK0_EXT_TYPE: u8 = 0x19;
/// CMOS 0x1A: disk 1 type when the nibble in 0x12 is 0xF.
pub const CMOS_DISK1_EXT_TYPE: u8 = 0x1A;
/// CMOS 0x2D: boot flags.
pub const CMOS_BOOT_FLAGS: u8 = 0x2D;
/// Boot flags bit 5: try the hard disk before the floppy (C: then A:). The
/// older Bochs BIOS convention; our BIOS consults it only when
/// [`CMOS_BOOT_ORDER`] holds no device.
pub const BOOT_FLAG_HARD_DISK_FIRST: u8 = 0x20;
/// First byte covered by the standard checksum.
pub const CMOS_CHECKSUM_FIRST: u8 = 0x10;
/// Last byte covered by the standard checksum.
pub const CMOS_CHECKSUM_LAST: u8 = 0x2D;
/// CMOS 0x2E: checksum of 0x10–0x2D, high byte.
pub const CMOS_CHECKSUM_HI: u8 = 0x2E;
/// CMOS 0x2F: checksum of 0x10–0x2D, low byte.
pub const CMOS_CHECKSUM_LO: u8 = 0x2F;
/// CMOS 0x30: memory above 1 MB in KB as found by POST, low byte.
pub const CMOS_EXT_MEM2_LO: u8 = 0x30;
/// CMOS 0x31: memory above 1 MB in KB as found by POST, high byte.
pub const CMOS_EXT_MEM2_HI: u8 = 0x31;
/// CMOS 0x32: century (BCD or binary like the other time registers).
pub const CMOS_CENTURY: u8 = 0x32;
/// CMOS 0x34: memory above 16 MB in 64 KB units, low byte.
pub const CMOS_MEM_ABOVE_16M_LO: u8 = 0x34;
/// CMOS 0x35: memory above 16 MB in 64 KB units, high byte.
pub const CMOS_MEM_ABOVE_16M_HI: u8 = 0x35;
/// CMOS 0x38: third boot device in the high nibble; bit 0 set skips the
/// 0x55AA signature check of floppy boot sectors (Bochs and QEMU layout).
pub const CMOS_BOOT_ORDER_3: u8 = 0x38;
/// CMOS 0x38 bit 0: do not check floppy boot sector signatures.
pub const BOOT_SKIP_FLOPPY_SIGNATURE: u8 = 0x01;
/// CMOS 0x3D: first boot device in the low nibble, second in the high
/// nibble (Bochs and QEMU layout).
pub const CMOS_BOOT_ORDER: u8 = 0x3D;
/// Boot device code: none.
pub const BOOT_NONE: u8 = 0;
/// Boot device code: floppy.
pub const BOOT_FLOPPY: u8 = 1;
/// Boot device code: hard disk.
pub const BOOT_HARD_DISK: u8 = 2;
/// Boot device code: CD-ROM.
pub const BOOT_CDROM: u8 = 3;
/// CMOS 0x5B–0x5D: memory above 4 GB in 64 KB units, least significant
/// byte first.
pub const CMOS_MEM_ABOVE_4G: u8 = 0x5B;

/// Ticks of the 244 µs before an update in which UIP is high, per tick of
/// the update period (32.768 kHz: 8 ticks of 32768).
const UIP_DIVISOR: u64 = 4096;
/// Seconds in a day.
const DAY: u64 = 86_400;
/// Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar.
const EPOCH_SHIFT: i64 = 719_468;
/// Days in 400 Gregorian years.
const ERA_DAYS: i64 = 146_097;

/// Warn-once site: DV set to a factory test mode.
const WARN_TEST_MODE: u32 = 0;
/// Warn-once site: the machine wrote a status register through `set_cmos`.
const WARN_SET_STATUS: u32 = 1;

/// The calendar as register values (binary, 24-hour), at one update number.
/// Fields hold what was written, even out of range, until the clock advances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Calendar {
    sec: u8,
    min: u8,
    hour: u8,
    dow: u8,
    day: u8,
    month: u8,
    year: u8,
    century: u8,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (`d` may run past the
/// month's end: it carries into the next month).
fn days_from_civil(y: i64, m: u8, d: u8) -> i64 {
    // Count from March so the leap day is the last day of the year.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * ERA_DAYS + doe - EPOCH_SHIFT
}

/// The date (year, month, day) of day `z` since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + EPOCH_SHIFT;
    let era = z.div_euclid(ERA_DAYS);
    let doe = z - era * ERA_DAYS;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / (ERA_DAYS - 1)) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

impl Calendar {
    /// The calendar at `secs` seconds after 1970-01-01 00:00:00.
    fn from_unix(secs: u64) -> Self {
        let epoch = Calendar {
            sec: 0,
            min: 0,
            hour: 0,
            // 1970-01-01 was a Thursday.
            dow: 5,
            day: 1,
            month: 1,
            year: 70,
            century: 19,
        };
        epoch.advanced(secs)
    }

    /// Days since 1970-01-01, fields brought into range.
    fn days(&self) -> i64 {
        let year = i64::from(self.century.min(99)) * 100 + i64::from(self.year.min(99));
        days_from_civil(year, self.month.clamp(1, 12), self.day.clamp(1, 31))
    }

    /// Seconds since midnight, fields brought into range.
    fn second_of_day(&self) -> u64 {
        u64::from(self.hour.min(23)) * 3600
            + u64::from(self.min.min(59)) * 60
            + u64::from(self.sec.min(59))
    }

    /// The calendar `k` updates (seconds) later.
    fn advanced(&self, k: u64) -> Self {
        if k == 0 {
            return *self;
        }
        let days = self.days();
        let total = self.second_of_day() + k;
        let new_days = days.saturating_add((total / DAY) as i64);
        let sod = total % DAY;
        let (year, month, day) = civil_from_days(new_days);
        let year = year.clamp(0, 9999);
        let dow = (i64::from(self.dow.clamp(1, 7)) - 1 + (new_days - days)).rem_euclid(7) + 1;
        Calendar {
            sec: (sod % 60) as u8,
            min: (sod / 60 % 60) as u8,
            hour: (sod / 3600) as u8,
            dow: dow as u8,
            day,
            month,
            year: (year % 100) as u8,
            century: (year / 100) as u8,
        }
    }
}

/// A byte value (0–99) in BCD.
fn to_bcd(v: u8) -> u8 {
    let v = v % 100;
    ((v / 10) << 4) | (v % 10)
}

/// A BCD byte as a number; digits above 9 count as their value (0x5A = 60).
fn from_bcd(raw: u8) -> u8 {
    (raw >> 4) * 10 + (raw & 0x0F)
}

/// The MC146818A real-time clock with its 128 bytes of CMOS RAM.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Rtc {
    cycles_per_second: u64,
    /// RAM; the bytes the clock owns (time, A–D, century) are kept elsewhere.
    ram: Vec<u8>,
    /// The last byte written to port 0x70 (index and NMI disable).
    index_latch: u8,
    /// Register A without UIP.
    reg_a: u8,
    /// Register B.
    reg_b: u8,
    /// Register C's PF, AF and UF as of tick `synced`.
    flags: u8,
    /// The calendar as of update number `calendar_ref`.
    calendar: Calendar,
    calendar_ref: i64,
    /// The tick at which the divider chain counted from zero: updates at
    /// `phase + n * update period`, periodic edges at `phase + n * period`.
    phase: i64,
    /// The tick up to which `flags` is current.
    synced: u64,
    /// The latest time the clock was told about (for `cmos` and `inspect`).
    last_now: Cycles,
    #[serde(skip)]
    once: Once,
}

impl Rtc {
    /// A clock whose CPU runs at `cycles_per_second` (values below 1 are
    /// taken as 1), reading `start_unix_seconds` (seconds since 1970-01-01
    /// 00:00:00, shown as that date and time) at cycle 0. Registers A and B
    /// hold what the BIOS programs (32.768 kHz, 1024 Hz rate, BCD, 24-hour,
    /// no interrupts); the RAM is zero.
    pub fn new(cycles_per_second: u64, start_unix_seconds: u64) -> Self {
        Rtc {
            cycles_per_second: cycles_per_second.max(1),
            ram: vec![0; CMOS_SIZE],
            index_latch: 0,
            reg_a: A_BIOS_DEFAULT,
            reg_b: B_BIOS_DEFAULT,
            flags: 0,
            calendar: Calendar::from_unix(start_unix_seconds),
            calendar_ref: 0,
            phase: 0,
            synced: 0,
            last_now: Cycles::ZERO,
            once: Once::default(),
        }
    }

    /// Whether NMI is masked (port 0x70 bit 7 was last written as 1).
    pub fn nmi_disabled(&self) -> bool {
        self.index_latch & INDEX_NMI_DISABLE != 0
    }

    /// The register index selected through port 0x70.
    pub fn index(&self) -> u8 {
        self.index_latch & INDEX_MASK
    }

    /// Byte `index` (taken modulo 128) as the guest would read it, as of the
    /// last access to the clock, without side effects (reading register C
    /// here does not clear it).
    pub fn cmos(&self, index: u8) -> u8 {
        let t = self.tick_at(self.last_now);
        match index & INDEX_MASK {
            REG_C => self.flags | if self.irqf() { C_IRQF } else { 0 },
            i => self.read_plain(i, t),
        }
    }

    /// Sets byte `index` (taken modulo 128), for the machine to fill in the
    /// configuration before the guest runs. The time and date bytes (and the
    /// century) are written as a guest write would, in the current data mode;
    /// the status registers A–D are left to the guest (a write to them is
    /// ignored and logged).
    pub fn set_cmos(&mut self, index: u8, value: u8) {
        let i = index & INDEX_MASK;
        let t = self.tick_at(self.last_now);
        if (REG_A..=REG_D).contains(&i) {
            if self.once.first(WARN_SET_STATUS) {
                log::warn!("rtc: set_cmos({i:#04x}) ignored: status registers belong to the guest");
            }
            return;
        }
        self.sync(t);
        self.write_plain(i, value, t);
    }

    /// Stores the standard checksum: the sum of bytes 0x10–0x2D, big-endian
    /// at 0x2E (high) and 0x2F (low).
    pub fn update_checksum(&mut self) {
        let sum: u16 = (CMOS_CHECKSUM_FIRST..=CMOS_CHECKSUM_LAST)
            .map(|i| u16::from(self.ram_byte(i)))
            .sum();
        let [hi, lo] = sum.to_be_bytes();
        self.set_ram(CMOS_CHECKSUM_HI, hi);
        self.set_ram(CMOS_CHECKSUM_LO, lo);
    }

    /// The chip's input clock ticks (32768 a second) that have happened by
    /// cycle `now`.
    pub fn tick_at(&self, now: Cycles) -> u64 {
        let ticks = u128::from(now.0) * u128::from(CRYSTAL_HZ) / u128::from(self.cycles_per_second);
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }

    /// The first cycle by which input tick `tick` has happened.
    pub fn cycle_of(&self, tick: u64) -> Cycles {
        let cycles = (u128::from(tick) * u128::from(self.cycles_per_second))
            .div_ceil(u128::from(CRYSTAL_HZ));
        Cycles(u64::try_from(cycles).unwrap_or(u64::MAX))
    }

    fn ram_byte(&self, i: u8) -> u8 {
        self.ram.get(usize::from(i)).copied().unwrap_or(0)
    }

    fn set_ram(&mut self, i: u8, value: u8) {
        if let Some(b) = self.ram.get_mut(usize::from(i)) {
            *b = value;
        }
    }

    /// Ticks per update with the divider as programmed, `None` when it does
    /// not count (held in reset or a test mode).
    fn update_period(&self) -> Option<u64> {
        match self.reg_a & A_DV_MASK {
            A_DV_4MHZ => Some(4_194_304),
            A_DV_1MHZ => Some(1_048_576),
            A_DV_32KHZ => Some(CRYSTAL_HZ),
            _ => None,
        }
    }

    /// Ticks per periodic flag, `None` when RS is 0 or the divider stopped.
    /// RS 1 and 2 tap the chain lower with the 32.768 kHz time base (the same
    /// rates as RS 8 and 9) than with the others (datasheet table 5).
    fn periodic_period(&self) -> Option<u64> {
        let base = self.update_period()?;
        let rs = u32::from(self.reg_a & A_RS_MASK);
        match rs {
            0 => None,
            1 | 2 if base == CRYSTAL_HZ => Some(1 << (rs + 6)),
            _ => Some((1u64 << (rs - 1)) * (base / CRYSTAL_HZ)),
        }
    }

    /// Whether the calendar advances (divider counting, SET clear).
    fn advancing(&self) -> bool {
        self.update_period().is_some() && self.reg_b & B_SET == 0
    }

    /// Updates of the divider chain by tick `t` (0 when it is stopped).
    fn updates_by(&self, t: u64) -> i64 {
        match self.update_period() {
            Some(p) => (t as i64 - self.phase).div_euclid(p as i64),
            None => 0,
        }
    }

    /// The calendar at tick `t`.
    fn calendar_at(&self, t: u64) -> Calendar {
        if self.advancing() {
            let k = (self.updates_by(t) - self.calendar_ref).max(0);
            self.calendar.advanced(k as u64)
        } else {
            self.calendar
        }
    }

    /// Makes the calendar the one of tick `t`, so the programming can change.
    fn commit(&mut self, t: u64) {
        self.calendar = self.calendar_at(t);
        self.calendar_ref = self.updates_by(t);
    }

    fn binary(&self) -> bool {
        self.reg_b & B_DM_BINARY != 0
    }

    fn encode(&self, v: u8) -> u8 {
        if self.binary() {
            v
        } else {
            to_bcd(v)
        }
    }

    fn decode(&self, raw: u8) -> u8 {
        if self.binary() {
            raw
        } else {
            from_bcd(raw)
        }
    }

    fn encode_hour(&self, hour: u8) -> u8 {
        if self.reg_b & B_24H != 0 {
            return self.encode(hour);
        }
        let h12 = match hour % 12 {
            0 => 12,
            h => h,
        };
        self.encode(h12) | if hour >= 12 { HOURS_PM } else { 0 }
    }

    fn decode_hour(&self, raw: u8) -> u8 {
        if self.reg_b & B_24H != 0 {
            return self.decode(raw);
        }
        let pm = if raw & HOURS_PM != 0 { 12 } else { 0 };
        self.decode(raw & !HOURS_PM) % 12 + pm
    }

    /// IRQF: an enabled flag is set.
    fn irqf(&self) -> bool {
        self.flags & self.reg_b & C_SOURCES != 0
    }

    /// UIP at tick `t`: within 244 µs of the next update.
    fn uip(&self, t: u64) -> bool {
        match self.update_period() {
            Some(p) if self.reg_b & B_SET == 0 => {
                let into = (t as i64 - self.phase).rem_euclid(p as i64) as u64;
                into >= p - p / UIP_DIVISOR
            }
            _ => false,
        }
    }

    /// Whether the alarm bytes match the time `sod` seconds after midnight.
    fn alarm_matches(&self, sod: u64) -> bool {
        let hour = (sod / 3600) as u8;
        let min = (sod / 60 % 60) as u8;
        let sec = (sod % 60) as u8;
        let hit = |alarm: u8, now: u8| alarm & ALARM_DONT_CARE == ALARM_DONT_CARE || alarm == now;
        hit(self.ram_byte(REG_SECONDS_ALARM), self.encode(sec))
            && hit(self.ram_byte(REG_MINUTES_ALARM), self.encode(min))
            && hit(self.ram_byte(REG_HOURS_ALARM), self.encode_hour(hour))
    }

    /// Whether any of updates `n0 + 1 ..= n1` set the time to the alarm's.
    fn alarm_between(&self, n0: i64, n1: i64) -> bool {
        let sod0 = self.calendar.second_of_day() as i64;
        // The time of day repeats daily: one day of updates covers them all.
        let first = (n0 + 1).max(n1 - (DAY as i64 - 1));
        (first..=n1).any(|n| {
            let sod = (sod0 + n - self.calendar_ref).rem_euclid(DAY as i64);
            self.alarm_matches(sod as u64)
        })
    }

    /// Sets the flags for what happened after the last sync up to tick `t`,
    /// under the current programming.
    fn sync(&mut self, t: u64) {
        let from = self.synced;
        if t <= from {
            return;
        }
        self.synced = t;
        if let Some(p) = self.periodic_period() {
            let p = p as i64;
            let edges =
                (t as i64 - self.phase).div_euclid(p) - (from as i64 - self.phase).div_euclid(p);
            if edges > 0 {
                self.flags |= C_PF;
            }
        }
        if self.advancing() {
            let (n0, n1) = (self.updates_by(from), self.updates_by(t));
            if n1 > n0 {
                self.flags |= C_UF;
                if self.flags & C_AF == 0 && self.alarm_between(n0, n1) {
                    self.flags |= C_AF;
                }
            }
        }
    }

    /// Drives IRQ 8 and asks for the next event that can raise it.
    fn finish(&self, t: u64, cx: &mut IoCx) {
        cx.irq.set(RTC_IRQ, self.irqf());
        match self.next_interrupt_tick(t) {
            Some(at) => cx.sched.schedule(EventKind::Rtc, self.cycle_of(at)),
            None => cx.sched.cancel(EventKind::Rtc),
        }
    }

    /// The next tick after `t` at which an enabled flag can be set, while
    /// IRQ 8 is low.
    fn next_interrupt_tick(&self, t: u64) -> Option<u64> {
        if self.irqf() {
            return None;
        }
        let after = |period: u64| {
            let p = period as i64;
            let n = (t as i64 - self.phase).div_euclid(p) + 1;
            (self.phase + n * p).max(0) as u64
        };
        let periodic = (self.reg_b & B_PIE != 0)
            .then(|| self.periodic_period())
            .flatten()
            .map(after);
        let update = (self.reg_b & (B_AIE | B_UIE) != 0 && self.advancing())
            .then(|| self.update_period())
            .flatten()
            .map(after);
        match (periodic, update) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A read without side effects of register `i` (not C) at tick `t`.
    fn read_plain(&self, i: u8, t: u64) -> u8 {
        let cal = || self.calendar_at(t);
        match i {
            REG_SECONDS => self.encode(cal().sec),
            REG_MINUTES => self.encode(cal().min),
            REG_HOURS => self.encode_hour(cal().hour),
            REG_DAY_OF_WEEK => self.encode(cal().dow),
            REG_DAY_OF_MONTH => self.encode(cal().day),
            REG_MONTH => self.encode(cal().month),
            REG_YEAR => self.encode(cal().year),
            CMOS_CENTURY => self.encode(cal().century),
            REG_A => self.reg_a | if self.uip(t) { A_UIP } else { 0 },
            REG_B => self.reg_b,
            REG_C => self.flags,
            REG_D => D_VRT,
            _ => self.ram_byte(i),
        }
    }

    /// A write of a time or RAM byte `i` (not A–D) at tick `t`, flags synced.
    fn write_plain(&mut self, i: u8, value: u8, t: u64) {
        let field = match i {
            REG_SECONDS => Some(self.decode(value)),
            REG_MINUTES => Some(self.decode(value)),
            REG_HOURS => Some(self.decode_hour(value)),
            REG_DAY_OF_WEEK | REG_DAY_OF_MONTH | REG_MONTH | REG_YEAR | CMOS_CENTURY => {
                Some(self.decode(value))
            }
            _ => None,
        };
        let Some(v) = field else {
            self.set_ram(i, value);
            return;
        };
        self.commit(t);
        let cal = &mut self.calendar;
        match i {
            REG_SECONDS => cal.sec = v,
            REG_MINUTES => cal.min = v,
            REG_HOURS => cal.hour = v,
            REG_DAY_OF_WEEK => cal.dow = v,
            REG_DAY_OF_MONTH => cal.day = v,
            REG_MONTH => cal.month = v,
            REG_YEAR => cal.year = v,
            _ => cal.century = v,
        }
    }

    fn write_a(&mut self, value: u8, t: u64) {
        let calendar = self.calendar_at(t);
        let old = self.update_period();
        self.reg_a = value & A_WRITABLE;
        let new = self.update_period();
        if new.is_none()
            && !matches!(self.reg_a & A_DV_MASK, 0x60 | 0x70)
            && self.once.first(WARN_TEST_MODE)
        {
            log::warn!(
                "rtc: register A divider {:#05b} is a factory test mode; clock held",
                (self.reg_a & A_DV_MASK) >> 4
            );
        }
        if let Some(p) = new.filter(|_| new != old) {
            // Released (or re-based): the first update comes half a second on.
            self.phase = t as i64 - (p / 2) as i64;
        }
        self.calendar = calendar;
        self.calendar_ref = self.updates_by(t);
    }

    fn write_b(&mut self, value: u8, t: u64) {
        let calendar = self.calendar_at(t);
        let mut value = value;
        if value & B_SET != 0 && self.reg_b & B_SET == 0 {
            // SET going high clears UIE (datasheet, register B).
            value &= !B_UIE;
        }
        self.reg_b = value;
        self.calendar = calendar;
        self.calendar_ref = self.updates_by(t);
    }

    /// The board's reset line on the chip's RESET pin: interrupt enables,
    /// the square wave and the flags cleared; time, A and RAM kept.
    fn reset_pin(&mut self) {
        let t = self.tick_at(self.last_now);
        self.sync(t);
        self.reg_b &= !(B_PIE | B_AIE | B_UIE | B_SQWE);
        self.flags = 0;
        self.index_latch = 0;
    }

    /// The time for tick `t` of an access at `now`, never going back.
    fn enter(&mut self, now: Cycles) -> u64 {
        self.last_now = self.last_now.max(now);
        self.tick_at(self.last_now)
    }
}

impl Device for Rtc {
    fn name(&self) -> &'static str {
        "rtc"
    }

    fn io_read(&mut self, port: u16, _size: u8, cx: &mut IoCx) -> u32 {
        if port != RTC_DATA_PORT {
            // Write-only on the AT; reads back the last byte written.
            return u32::from(self.index_latch);
        }
        let t = self.enter(cx.now);
        self.sync(t);
        let value = match self.index() {
            REG_C => {
                let value = self.flags | if self.irqf() { C_IRQF } else { 0 };
                self.flags = 0;
                value
            }
            i => self.read_plain(i, t),
        };
        self.finish(t, cx);
        u32::from(value)
    }

    fn io_write(&mut self, port: u16, _size: u8, value: u32, cx: &mut IoCx) {
        let byte = value as u8;
        if port != RTC_DATA_PORT {
            self.index_latch = byte;
            return;
        }
        let t = self.enter(cx.now);
        self.sync(t);
        match self.index() {
            REG_A => self.write_a(byte, t),
            REG_B => self.write_b(byte, t),
            REG_C | REG_D => {}
            i => self.write_plain(i, byte, t),
        }
        self.finish(t, cx);
    }

    fn reset(&mut self, _kind: ResetKind) {
        self.reset_pin();
    }

    fn on_event(&mut self, event: EventKind, cx: &mut IoCx) {
        if event != EventKind::Rtc {
            return;
        }
        let t = self.enter(cx.now);
        self.sync(t);
        self.finish(t, cx);
    }

    fn inspect(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let t = self.tick_at(self.last_now);
        let cal = self.calendar_at(t);
        writeln!(
            out,
            "rtc: MC146818A, CPU {} Hz; as of cycle {} (tick {t})",
            self.cycles_per_second, self.last_now.0
        )?;
        writeln!(
            out,
            "  time {:02}{:02}-{:02}-{:02} {:02}:{:02}:{:02} dow {} ({})",
            cal.century,
            cal.year,
            cal.month,
            cal.day,
            cal.hour,
            cal.min,
            cal.sec,
            cal.dow,
            if self.advancing() {
                "running"
            } else {
                "stopped"
            }
        )?;
        writeln!(
            out,
            "  A {:#04x} B {:#04x} C {:#04x} D {D_VRT:#04x}; index {:#04x}, NMI {}",
            self.read_plain(REG_A, t),
            self.reg_b,
            self.cmos(REG_C),
            self.index(),
            if self.nmi_disabled() {
                "disabled"
            } else {
                "enabled"
            }
        )?;
        let rate = self.periodic_period().map_or("off".to_string(), |p| {
            format!("{} Hz", CRYSTAL_HZ as f64 / p as f64)
        });
        writeln!(
            out,
            "  periodic {rate}; alarm {:02x}:{:02x}:{:02x}; IRQ {RTC_IRQ} {}",
            self.ram_byte(REG_HOURS_ALARM),
            self.ram_byte(REG_MINUTES_ALARM),
            self.ram_byte(REG_SECONDS_ALARM),
            if self.irqf() { "high" } else { "low" }
        )?;
        for row in (0..CMOS_SIZE as u8).step_by(16) {
            write!(out, "  {row:02x}:")?;
            for i in row..row + 16 {
                write!(out, " {:02x}", self.cmos(i))?;
            }
            writeln!(out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::{NoDma, Signals};
    use crate::irq::IrqLines;
    use crate::time::Scheduler;

    /// 2024-02-29 23:59:58 UTC, a Thursday.
    const LEAP_EVE: u64 = 1_709_251_198;
    /// One second of ticks with `cps == CRYSTAL_HZ` (one cycle per tick).
    const SEC: u64 = CRYSTAL_HZ;

    struct Rig {
        rtc: Rtc,
        sched: Scheduler,
        irq: IrqLines,
        signals: Signals,
        dma: NoDma,
        now: Cycles,
    }

    impl Rig {
        /// A clock whose CPU cycle is one input tick.
        fn new(start: u64) -> Self {
            Rig::with_clock(CRYSTAL_HZ, start)
        }

        fn with_clock(cps: u64, start: u64) -> Self {
            Rig {
                rtc: Rtc::new(cps, start),
                sched: Scheduler::new(),
                irq: IrqLines::new(),
                signals: Signals::default(),
                dma: NoDma,
                now: Cycles::ZERO,
            }
        }

        fn at(&mut self, t: u64) -> &mut Self {
            assert!(Cycles(t) >= self.now, "time runs forward");
            self.now = Cycles(t);
            self
        }

        /// The clock and a context for one access at the rig's time.
        fn split(&mut self) -> (&mut Rtc, IoCx<'_>) {
            let cx = IoCx {
                now: self.now,
                sched: &mut self.sched,
                irq: &mut self.irq,
                signals: &mut self.signals,
                dma: &mut self.dma,
            };
            (&mut self.rtc, cx)
        }

        fn out(&mut self, port: u16, value: u8) {
            let (rtc, mut cx) = self.split();
            rtc.io_write(port, 1, u32::from(value), &mut cx);
        }

        fn inp(&mut self, port: u16) -> u8 {
            let (rtc, mut cx) = self.split();
            rtc.io_read(port, 1, &mut cx) as u8
        }

        fn write(&mut self, index: u8, value: u8) {
            self.out(RTC_INDEX_PORT, index);
            self.out(RTC_DATA_PORT, value);
        }

        fn read(&mut self, index: u8) -> u8 {
            self.out(RTC_INDEX_PORT, index);
            self.inp(RTC_DATA_PORT)
        }

        /// (hours, minutes, seconds) as read.
        fn hms(&mut self) -> (u8, u8, u8) {
            (
                self.read(REG_HOURS),
                self.read(REG_MINUTES),
                self.read(REG_SECONDS),
            )
        }

        /// (century, year, month, day, day of week) as read.
        fn date(&mut self) -> (u8, u8, u8, u8, u8) {
            (
                self.read(CMOS_CENTURY),
                self.read(REG_YEAR),
                self.read(REG_MONTH),
                self.read(REG_DAY_OF_MONTH),
                self.read(REG_DAY_OF_WEEK),
            )
        }

        /// Runs events up to `t`; returns the cycles at which IRQ 8 rose.
        fn run_to(&mut self, t: u64) -> Vec<u64> {
            let mut rises = Vec::new();
            while self.sched.next_deadline() <= Cycles(t) {
                let at = self.sched.next_deadline();
                self.now = at;
                let kind = self.sched.pop_due(at).unwrap();
                let was = self.irq.is_high(RTC_IRQ);
                let (rtc, mut cx) = self.split();
                rtc.on_event(kind, &mut cx);
                if !was && self.irq.is_high(RTC_IRQ) {
                    rises.push(at.0);
                }
            }
            self.now = Cycles(t);
            rises
        }

        /// Runs to `t`, acknowledging each interrupt at once by reading C;
        /// returns (cycle, register C) per interrupt.
        fn serve_to(&mut self, t: u64) -> Vec<(u64, u8)> {
            let mut seen = Vec::new();
            while self.sched.next_deadline() <= Cycles(t) {
                let rises = self.run_to(self.sched.next_deadline().0);
                for at in rises {
                    seen.push((at, self.read(REG_C)));
                }
            }
            self.now = Cycles(t);
            seen
        }

        fn irq8(&self) -> bool {
            self.irq.is_high(RTC_IRQ)
        }
    }

    #[test]
    fn power_on_time_is_the_start_time_in_bcd() {
        let mut r = Rig::new(LEAP_EVE);
        assert_eq!(r.hms(), (0x23, 0x59, 0x58));
        assert_eq!(r.date(), (0x20, 0x24, 0x02, 0x29, 5));
        assert_eq!(r.read(REG_A), A_BIOS_DEFAULT);
        assert_eq!(r.read(REG_B), B_24H);
        assert_eq!(r.read(REG_D), D_VRT);
    }

    #[test]
    fn time_advances_with_now_across_a_leap_day() {
        let mut r = Rig::new(LEAP_EVE);
        r.at(SEC - 1);
        assert_eq!(r.hms(), (0x23, 0x59, 0x58));
        r.at(SEC);
        assert_eq!(r.hms(), (0x23, 0x59, 0x59));
        r.at(2 * SEC);
        assert_eq!(r.hms(), (0x00, 0x00, 0x00));
        // Friday, 1 March.
        assert_eq!(r.date(), (0x20, 0x24, 0x03, 0x01, 6));
        // A day and a bit later, read only once.
        r.at(2 * SEC + DAY * SEC + 3723 * SEC);
        assert_eq!(r.hms(), (0x01, 0x02, 0x03));
        assert_eq!(r.date(), (0x20, 0x24, 0x03, 0x02, 7));
    }

    #[test]
    fn realistic_cpu_clock_counts_whole_seconds() {
        let cps = 4_772_727;
        let mut r = Rig::with_clock(cps, 0);
        r.at(cps - 1);
        assert_eq!(r.hms(), (0x00, 0x00, 0x00));
        r.at(cps);
        assert_eq!(r.hms(), (0x00, 0x00, 0x01));
        r.at(cps * 3661);
        assert_eq!(r.hms(), (0x01, 0x01, 0x01));
        assert_eq!(r.date(), (0x19, 0x70, 0x01, 0x01, 5));
    }

    #[test]
    fn century_rolls_with_the_year() {
        // 2099-12-31 23:59:59, a Thursday.
        let mut r = Rig::new(4_102_444_799);
        assert_eq!(r.date(), (0x20, 0x99, 0x12, 0x31, 5));
        r.at(SEC);
        assert_eq!(r.date(), (0x21, 0x00, 0x01, 0x01, 6));
        assert_eq!(r.hms(), (0, 0, 0));
    }

    #[test]
    fn binary_mode_reads_and_writes_binary() {
        let mut r = Rig::new(LEAP_EVE);
        r.write(REG_B, B_24H | B_DM_BINARY);
        assert_eq!(r.hms(), (23, 59, 58));
        assert_eq!(r.date(), (20, 24, 2, 29, 5));
        r.write(REG_MINUTES, 45);
        assert_eq!(r.read(REG_MINUTES), 45);
        // Back to BCD: the same time, shown in BCD.
        r.write(REG_B, B_24H);
        assert_eq!(r.read(REG_MINUTES), 0x45);
    }

    #[test]
    fn twelve_hour_mode_uses_the_pm_bit() {
        let mut r = Rig::new(LEAP_EVE);
        r.write(REG_B, 0);
        assert_eq!(r.read(REG_HOURS), HOURS_PM | 0x11, "23:59 is 11 PM");
        r.at(2 * SEC);
        assert_eq!(r.read(REG_HOURS), 0x12, "midnight is 12 AM");
        r.write(REG_HOURS, HOURS_PM | 0x12);
        r.write(REG_B, B_24H);
        assert_eq!(r.read(REG_HOURS), 0x12, "12 PM is noon");
        r.write(REG_B, 0);
        r.write(REG_HOURS, HOURS_PM | 0x01);
        r.write(REG_B, B_24H);
        assert_eq!(r.read(REG_HOURS), 0x13);
        // 12-hour binary: 1 PM is 0x81.
        r.write(REG_B, B_DM_BINARY);
        assert_eq!(r.read(REG_HOURS), HOURS_PM | 1);
        r.write(REG_HOURS, 12);
        r.write(REG_B, B_24H | B_DM_BINARY);
        assert_eq!(r.read(REG_HOURS), 0, "12 AM is hour 0");
    }

    #[test]
    fn set_freezes_the_clock_and_the_new_time_runs_from_the_divider() {
        let mut r = Rig::new(LEAP_EVE);
        r.at(SEC / 4);
        r.write(REG_B, B_SET | B_24H);
        r.at(10 * SEC);
        assert_eq!(r.hms(), (0x23, 0x59, 0x58), "no updates while SET");
        assert_eq!(r.read(REG_A) & A_UIP, 0, "SET clears UIP");
        // Set 2000-01-01 (Saturday) 12:34:56 field by field, the way a BIOS does.
        for (reg, v) in [
            (REG_SECONDS, 0x56),
            (REG_MINUTES, 0x34),
            (REG_HOURS, 0x12),
            (REG_DAY_OF_WEEK, 7),
            (REG_DAY_OF_MONTH, 0x01),
            (REG_MONTH, 0x01),
            (REG_YEAR, 0x00),
            (CMOS_CENTURY, 0x20),
        ] {
            r.write(reg, v);
        }
        r.at(10 * SEC + SEC / 2);
        r.write(REG_B, B_24H);
        assert_eq!(r.hms(), (0x12, 0x34, 0x56));
        // The divider kept its phase: the next update is at 11 s, not 11.5 s.
        r.at(11 * SEC - 1);
        assert_eq!(r.read(REG_SECONDS), 0x56);
        r.at(11 * SEC);
        assert_eq!(r.read(REG_SECONDS), 0x57);
        r.at(11 * SEC + 64 * SEC);
        assert_eq!(r.hms(), (0x12, 0x36, 0x01));
        assert_eq!(r.date(), (0x20, 0x00, 0x01, 0x01, 7));
    }

    #[test]
    fn a_date_set_field_by_field_is_not_normalised_in_between() {
        // From 31 March, set 29 February 2024 writing the day before the month.
        let mut r = Rig::new(1_711_843_200); // 2024-03-31 00:00:00
        r.write(REG_B, B_SET | B_24H);
        r.write(REG_DAY_OF_MONTH, 0x29);
        r.write(REG_MONTH, 0x02);
        r.write(REG_B, B_24H);
        r.at(SEC);
        // Day of week is its own counter: still Sunday as nobody wrote it.
        assert_eq!(r.date(), (0x20, 0x24, 0x02, 0x29, 1));
        assert_eq!(r.hms(), (0x00, 0x00, 0x01));
    }

    #[test]
    fn a_write_without_set_takes_effect_at_once() {
        let mut r = Rig::new(0);
        r.at(SEC / 2);
        r.write(REG_MINUTES, 0x30);
        assert_eq!(r.hms(), (0x00, 0x30, 0x00));
        r.at(SEC);
        assert_eq!(r.hms(), (0x00, 0x30, 0x01));
    }

    #[test]
    fn uip_is_high_for_244_us_before_each_update() {
        let mut r = Rig::new(0);
        let window = SEC / UIP_DIVISOR;
        assert_eq!(window, 8, "244 µs at 32.768 kHz");
        r.at(SEC - window - 1);
        assert_eq!(r.read(REG_A), A_BIOS_DEFAULT);
        r.at(SEC - window);
        assert_eq!(r.read(REG_A), A_BIOS_DEFAULT | A_UIP);
        // Time still the old second inside the window.
        assert_eq!(r.read(REG_SECONDS), 0x00);
        r.at(SEC - 1);
        assert_ne!(r.read(REG_A) & A_UIP, 0);
        r.at(SEC);
        assert_eq!(r.read(REG_A) & A_UIP, 0);
        assert_eq!(r.read(REG_SECONDS), 0x01);
        // A guest write never sets UIP.
        r.write(REG_A, A_BIOS_DEFAULT | A_UIP);
        assert_eq!(r.read(REG_A), A_BIOS_DEFAULT);
    }

    #[test]
    fn uip_timing_with_a_realistic_cpu_clock() {
        let cps = 33_000_000;
        let mut r = Rig::with_clock(cps, 0);
        // 250 µs before the update: clear; 200 µs before: set.
        r.at(cps - cps / 4000);
        assert_eq!(r.read(REG_A) & A_UIP, 0);
        r.at(cps - cps / 5000);
        assert_ne!(r.read(REG_A) & A_UIP, 0);
    }

    #[test]
    fn periodic_interrupt_at_1024_hz() {
        let mut r = Rig::new(0);
        r.write(REG_B, B_24H | B_PIE);
        assert_eq!(r.sched.deadline(EventKind::Rtc), Some(Cycles(32)));
        let seen = r.serve_to(32 * 5);
        let at: Vec<u64> = seen.iter().map(|&(t, _)| t).collect();
        assert_eq!(at, [32, 64, 96, 128, 160]);
        for (_, c) in seen {
            assert_eq!(c, C_IRQF | C_PF);
        }
        assert!(!r.irq8(), "reading C lowered IRQ 8");
    }

    #[test]
    fn periodic_interrupt_at_2_hz_and_rate_table() {
        let mut r = Rig::new(0);
        r.write(REG_A, A_DV_32KHZ | 15);
        r.write(REG_B, B_24H | B_PIE);
        let at: Vec<u64> = r.serve_to(2 * SEC).iter().map(|&(t, _)| t).collect();
        assert_eq!(at, [SEC / 2, SEC, 3 * SEC / 2, 2 * SEC]);
        // The datasheet's 32.768 kHz column: RS 1 and 2 are 256 and 128 Hz,
        // RS 3 is 8192 Hz, halving from there.
        let hz = |rs: u8| {
            let mut rtc = Rtc::new(CRYSTAL_HZ, 0);
            rtc.reg_a = A_DV_32KHZ | rs;
            rtc.periodic_period().map(|p| CRYSTAL_HZ / p)
        };
        assert_eq!(hz(0), None);
        assert_eq!(hz(1), Some(256));
        assert_eq!(hz(2), Some(128));
        assert_eq!(hz(3), Some(8192));
        assert_eq!(hz(6), Some(1024));
        assert_eq!(hz(8), Some(256));
        assert_eq!(hz(15), Some(2));
    }

    #[test]
    fn irq_stays_high_until_c_is_read_and_no_event_meanwhile() {
        let mut r = Rig::new(0);
        r.write(REG_B, B_24H | B_PIE);
        assert_eq!(r.run_to(1000), [32]);
        assert!(r.irq8());
        assert_eq!(
            r.sched.deadline(EventKind::Rtc),
            None,
            "nothing new to show"
        );
        // Many periods later one read of C clears everything.
        assert_eq!(r.read(REG_C), C_IRQF | C_PF);
        assert!(!r.irq8());
        assert_eq!(r.read(REG_C), 0);
        assert_eq!(r.sched.deadline(EventKind::Rtc), Some(Cycles(1024)));
    }

    #[test]
    fn flags_are_set_without_their_enables_and_enabling_raises_irq() {
        let mut r = Rig::new(0);
        assert_eq!(r.sched.deadline(EventKind::Rtc), None, "no source enabled");
        r.at(SEC + 5);
        assert!(!r.irq8());
        assert_eq!(r.sched.deadline(EventKind::Rtc), None);
        // PF and UF are set, but no IRQF.
        let c = r.rtc.cmos(REG_C);
        assert_eq!(r.read(REG_C), C_PF | C_UF, "{c:#x}");
        r.at(SEC + 100);
        r.write(REG_B, B_24H); // any access syncs
                               // PF pending again; enabling PIE raises IRQ 8 at once.
        r.write(REG_B, B_24H | B_PIE);
        assert!(r.irq8());
        assert_eq!(r.read(REG_C), C_IRQF | C_PF);
        // Writing C does nothing.
        r.write(REG_C, 0xFF);
        assert_eq!(r.read(REG_C), 0);
        r.write(REG_D, 0);
        assert_eq!(r.read(REG_D), D_VRT);
    }

    #[test]
    fn update_ended_interrupt_every_second() {
        let mut r = Rig::new(0);
        r.write(REG_B, B_24H | B_UIE);
        assert_eq!(r.sched.deadline(EventKind::Rtc), Some(Cycles(SEC)));
        let seen = r.serve_to(3 * SEC);
        assert_eq!(
            seen,
            [
                (SEC, C_IRQF | C_UF | C_PF),
                (2 * SEC, C_IRQF | C_UF | C_PF),
                (3 * SEC, C_IRQF | C_UF | C_PF)
            ]
        );
        // The interrupt comes with the new time in place.
        assert_eq!(r.read(REG_SECONDS), 0x03);
    }

    #[test]
    fn set_clears_uie_and_stops_update_interrupts() {
        let mut r = Rig::new(0);
        r.write(REG_B, B_24H | B_UIE);
        r.write(REG_B, B_SET | B_24H | B_UIE);
        assert_eq!(r.read(REG_B), B_SET | B_24H);
        r.write(REG_B, B_SET | B_24H | B_AIE);
        r.write(REG_SECONDS_ALARM, ALARM_DONT_CARE);
        r.write(REG_MINUTES_ALARM, ALARM_DONT_CARE);
        r.write(REG_HOURS_ALARM, ALARM_DONT_CARE);
        assert_eq!(
            r.sched.deadline(EventKind::Rtc),
            None,
            "no updates while SET"
        );
        assert!(r.run_to(5 * SEC).is_empty());
        assert_eq!(r.read(REG_C) & (C_UF | C_AF), 0);
    }

    #[test]
    fn alarm_fires_once_at_the_matching_second() {
        let mut r = Rig::new(LEAP_EVE); // 23:59:58
        r.write(REG_HOURS_ALARM, 0x00);
        r.write(REG_MINUTES_ALARM, 0x00);
        r.write(REG_SECONDS_ALARM, 0x01);
        r.write(REG_B, B_24H | B_AIE);
        let seen = r.serve_to(10 * SEC);
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(seen[0].0, 3 * SEC);
        assert_eq!(seen[0].1 & (C_IRQF | C_AF), C_IRQF | C_AF);
        assert_eq!(r.read(REG_SECONDS), 0x08);
    }

    #[test]
    fn alarm_dont_care_bytes() {
        // Every minute at second 30.
        let mut r = Rig::new(0);
        r.write(REG_HOURS_ALARM, 0xFF);
        r.write(REG_MINUTES_ALARM, 0xC0);
        r.write(REG_SECONDS_ALARM, 0x30);
        r.write(REG_B, B_24H | B_AIE);
        let at: Vec<u64> = r
            .serve_to(200 * SEC)
            .iter()
            .map(|&(t, _)| t / SEC)
            .collect();
        assert_eq!(at, [30, 90, 150]);
        // All don't care: every second.
        r.write(REG_SECONDS_ALARM, 0xC5);
        let at: Vec<u64> = r
            .serve_to(203 * SEC)
            .iter()
            .map(|&(t, _)| t / SEC)
            .collect();
        assert_eq!(at, [201, 202, 203]);
    }

    #[test]
    fn alarm_in_12_hour_binary_mode_and_missed_while_not_looking() {
        let mut r = Rig::new(13 * 3600); // 1970-01-01 13:00:00
        r.write(REG_B, B_DM_BINARY);
        r.write(REG_HOURS_ALARM, HOURS_PM | 1);
        r.write(REG_MINUTES_ALARM, 0);
        r.write(REG_SECONDS_ALARM, 5);
        // No AIE: AF is still set at the match, seen at a later read.
        r.at(3600 * SEC);
        assert_eq!(r.read(REG_C) & C_AF, C_AF);
        r.at(3700 * SEC);
        assert_eq!(r.read(REG_C) & C_AF, 0);
    }

    #[test]
    fn divider_reset_stops_the_clock_and_release_updates_half_a_second_later() {
        let mut r = Rig::new(0);
        r.at(SEC / 4);
        r.write(REG_A, A_DV_RESET | 6);
        assert_eq!(r.read(REG_C), C_PF, "edges before the hold count");
        r.write(REG_B, B_24H | B_PIE);
        assert_eq!(r.sched.deadline(EventKind::Rtc), None, "divider held");
        r.at(5 * SEC);
        assert_eq!(r.read(REG_SECONDS), 0x00);
        assert_eq!(r.read(REG_A) & A_UIP, 0);
        assert_eq!(r.read(REG_C), 0, "no periodic flag from a held divider");
        r.write(REG_A, A_DV_32KHZ | 6);
        assert_eq!(r.sched.deadline(EventKind::Rtc), Some(Cycles(5 * SEC + 32)));
        r.write(REG_B, B_24H);
        r.at(5 * SEC + SEC / 2 - 1);
        assert_eq!(r.read(REG_SECONDS), 0x00);
        r.at(5 * SEC + SEC / 2);
        assert_eq!(r.read(REG_SECONDS), 0x01);
        r.at(6 * SEC + SEC / 2);
        assert_eq!(r.read(REG_SECONDS), 0x02);
    }

    #[test]
    fn other_time_bases_run_slow_on_the_pc_crystal() {
        let mut r = Rig::new(0);
        r.write(REG_A, A_DV_1MHZ | 1);
        // With a 32.768 kHz crystal a 1.048576 MHz divider updates every 32 s
        // and RS 1 (32768 Hz with its crystal) gives 1024 Hz.
        assert_eq!(r.rtc.periodic_period(), Some(32));
        r.at(16 * SEC - 1);
        assert_eq!(r.read(REG_SECONDS), 0x00);
        r.at(16 * SEC);
        assert_eq!(r.read(REG_SECONDS), 0x01);
        // A test mode holds the divider.
        r.write(REG_A, 0x30);
        r.at(100 * SEC);
        assert_eq!(r.read(REG_SECONDS), 0x01);
    }

    #[test]
    fn index_port_keeps_nmi_disable_and_wraps_at_128() {
        let mut r = Rig::new(0);
        r.out(RTC_INDEX_PORT, INDEX_NMI_DISABLE | 0x40);
        assert!(r.rtc.nmi_disabled());
        assert_eq!(r.rtc.index(), 0x40);
        r.out(RTC_DATA_PORT, 0x5A);
        assert_eq!(r.rtc.cmos(0x40), 0x5A);
        assert_eq!(r.inp(RTC_INDEX_PORT), 0xC0);
        r.out(RTC_INDEX_PORT, 0x40);
        assert!(!r.rtc.nmi_disabled());
        assert_eq!(r.inp(RTC_DATA_PORT), 0x5A);
        r.rtc.set_cmos(0xFF, 0x77);
        assert_eq!(r.read(0x7F), 0x77);
    }

    #[test]
    fn checksum_covers_0x10_to_0x2d_big_endian() {
        let mut r = Rig::new(0);
        for i in CMOS_CHECKSUM_FIRST..=CMOS_CHECKSUM_LAST {
            r.rtc.set_cmos(i, 0xFF);
        }
        r.rtc.set_cmos(0x0E, 0x11); // outside the range
        r.rtc.set_cmos(0x30, 0x22);
        r.rtc.update_checksum();
        let sum = 30 * 0xFF;
        assert_eq!(r.read(CMOS_CHECKSUM_HI), (sum >> 8) as u8);
        assert_eq!(r.read(CMOS_CHECKSUM_LO), sum as u8);
        assert_eq!(r.rtc.cmos(CMOS_CHECKSUM_HI), 0x1D);
        assert_eq!(r.rtc.cmos(CMOS_CHECKSUM_LO), 0xE2);
    }

    #[test]
    fn machine_writes_configuration_and_century() {
        let mut r = Rig::new(0);
        r.rtc.set_cmos(CMOS_FLOPPY_TYPES, FLOPPY_1_44M << 4);
        r.rtc.set_cmos(CMOS_BASE_MEM_LO, 0x80);
        r.rtc.set_cmos(CMOS_BASE_MEM_HI, 0x02);
        r.rtc
            .set_cmos(CMOS_BOOT_ORDER, BOOT_HARD_DISK | (BOOT_FLOPPY << 4));
        r.rtc.set_cmos(CMOS_CENTURY, 0x20);
        r.rtc.set_cmos(REG_B, 0xFF); // ignored
        assert_eq!(r.read(CMOS_FLOPPY_TYPES), 0x40);
        assert_eq!(r.read(CMOS_BASE_MEM_LO), 0x80);
        assert_eq!(r.read(CMOS_BOOT_ORDER), 0x12);
        assert_eq!(r.date(), (0x20, 0x70, 0x01, 0x01, 5));
        assert_eq!(r.read(REG_B), B_24H);
    }

    #[test]
    fn reset_clears_enables_and_flags_but_keeps_time_and_ram() {
        let mut r = Rig::new(0);
        r.write(0x40, 0x99);
        r.write(REG_B, B_24H | B_PIE | B_SQWE);
        r.run_to(100);
        assert!(r.irq8());
        r.rtc.reset(ResetKind::Hard);
        assert_eq!(r.rtc.cmos(REG_B), B_24H);
        assert_eq!(r.rtc.cmos(REG_C), 0);
        assert_eq!(r.rtc.cmos(0x40), 0x99);
        r.at(SEC);
        assert_eq!(r.read(REG_SECONDS), 0x01);
    }

    #[test]
    fn calendar_round_trips_over_four_centuries() {
        for days in (-200_000i64..300_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(
            civil_from_days(days_from_civil(2000, 2, 29) + 1),
            (2000, 3, 1)
        );
        assert_eq!(
            civil_from_days(days_from_civil(2100, 2, 28) + 1),
            (2100, 3, 1)
        );
    }

    #[test]
    fn random_guest_accesses_never_panic() {
        let mut r = Rig::new(u64::MAX / 2);
        let mut x: u32 = 0x1234_5678;
        for step in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            r.at(step * 97);
            let port = if x & 1 == 0 {
                RTC_INDEX_PORT
            } else {
                RTC_DATA_PORT
            };
            if x & 2 == 0 {
                r.out(port, (x >> 8) as u8);
            } else {
                r.inp(port);
            }
            r.run_to(step * 97);
        }
        let mut out = Vec::new();
        r.rtc.inspect(&mut out).unwrap();
    }

    #[test]
    fn inspect_shows_time_and_registers() {
        let r = Rig::new(LEAP_EVE);
        let mut out = Vec::new();
        r.rtc.inspect(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for needle in [
            "2024-02-29 23:59:58",
            "A 0x26",
            "periodic 1024 Hz",
            "IRQ 8 low",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
    }

    #[test]
    fn snapshot_round_trip() {
        let mut r = Rig::new(LEAP_EVE);
        r.write(REG_B, B_24H | B_PIE);
        r.at(SEC + 3);
        r.read(REG_SECONDS);
        let json = serde_json::to_string(&r.rtc).unwrap();
        let back: Rtc = serde_json::from_str(&json).unwrap();
        assert_eq!(back.cmos(REG_SECONDS), r.rtc.cmos(REG_SECONDS));
        assert_eq!(back.cmos(REG_C), r.rtc.cmos(REG_C));
    }
}
