//! One ATA/IDE channel (primary or secondary) with up to two hard disks.
//!
//! An ATA channel is a 16-bit data port plus byte-wide registers (the "task
//! file") shared by two devices, device 0 ("master") and device 1 ("slave").
//! Every register write reaches both devices; the DEV bit of the device
//! register decides which one answers reads and executes commands. Data moves
//! by programmed I/O: the device raises DRQ and the CPU reads or writes one
//! block of sectors through the data port, 16 or 32 bits at a time.
//!
//! | offset | port (primary/secondary) | read              | write            |
//! |--------|--------------------------|-------------------|------------------|
//! | 0      | 0x1F0 / 0x170            | data              | data             |
//! | 1      | 0x1F1 / 0x171            | error             | features         |
//! | 2      | 0x1F2 / 0x172            | sector count      | sector count     |
//! | 3      | 0x1F3 / 0x173            | LBA low (sector)  | LBA low          |
//! | 4      | 0x1F4 / 0x174            | LBA mid (cyl low) | LBA mid          |
//! | 5      | 0x1F5 / 0x175            | LBA high (cyl hi) | LBA high         |
//! | 6      | 0x1F6 / 0x176            | device/head       | device/head      |
//! | 7      | 0x1F7 / 0x177            | status            | command          |
//! | ctrl   | 0x3F6 / 0x376            | alternate status  | device control   |
//!
//! The data port takes 16-bit and 32-bit accesses whole (the platform must
//! not split them); a byte access moves one byte. All other registers are
//! byte-wide. IRQ 14 (primary) or 15 (secondary).
//!
//! Follows ATA/ATAPI-6 (T13 1410D): the task file with the two-deep
//! registers of the 48-bit feature set (reads with HOB set in device control
//! return the previously written byte), CHS, LBA28 and LBA48 addressing,
//! the PIO data-in and data-out protocols (INTRQ at each DRQ block of a read,
//! after each block and at completion of a write), nIEN, SRST with the
//! device signature (count 1, LBA 1/0/0, device 0), and the IDENTIFY DEVICE
//! data layout.
//!
//! ## Commands
//!
//! IDENTIFY DEVICE (0xEC); READ SECTORS (0x20/0x21), WRITE SECTORS
//! (0x30/0x31), READ/WRITE MULTIPLE (0xC4/0xC5) with SET MULTIPLE MODE (0xC6,
//! powers of two up to [`MAX_MULTIPLE`]); READ/WRITE SECTORS EXT (0x24/0x34),
//! READ/WRITE MULTIPLE EXT (0x29/0x39); READ VERIFY SECTORS (0x40/0x41, 0x42
//! EXT); INITIALIZE DEVICE PARAMETERS (0x91: the CHS translation used by CHS
//! addresses and IDENTIFY words 54–58); SET FEATURES (0xEF: transfer mode PIO
//! 0–4, write cache and read look-ahead on/off, revert to defaults on/off;
//! other subcommands abort); FLUSH CACHE (0xE7) and FLUSH CACHE EXT (0xEA);
//! EXECUTE DEVICE DIAGNOSTIC (0x90); RECALIBRATE (0x10–0x1F); SEEK (0x70).
//! IDENTIFY PACKET DEVICE (0xA1) and everything else end with ABRT.
//!
//! Errors: ABRT (unknown command, bad parameters, a write to a read-only
//! image), IDNF (an address outside the disk or the CHS translation), UNC (the
//! image could not be read).
//!
//! ## Absent devices
//!
//! With no disk at all on the channel every register reads as a floating bus
//! (0xFF). With device 0 present and device 1 absent, selecting device 1
//! reads its status and alternate status as 0x00 (as ATA-6 has device 0 answer
//! for a missing device 1), the other registers read back what was written,
//! and commands to it do nothing.
//!
//! ## Time
//!
//! Commands complete at once, within the guest's write of the command
//! register: BSY is never seen and [`EventKind::Ata`](crate::EventKind::Ata)
//! is not used. The interrupt line follows INTRQ of the selected device.
//!
//! ## Not emulated
//!
//! ATAPI (CD-ROM) devices: not yet. DMA transfers (IDENTIFY reports PIO
//! only), the security, SMART and power-management feature sets, 8-bit
//! transfers, sector sizes other than 512 bytes.

use crate::bus::{Device, IoCx, ResetKind};
use crate::disk::{DiskError, DiskImage, HardDiskGeometry, SECTOR_SIZE};
use crate::once::Once;
use serde::{Deserialize, Serialize};
use std::io::Write;

/// Command block base port of the primary channel.
pub const ATA_PRIMARY_BASE: u16 = 0x1F0;
/// Control block port (alternate status / device control) of the primary channel.
pub const ATA_PRIMARY_CTRL: u16 = 0x3F6;
/// IRQ of the primary channel.
pub const ATA_PRIMARY_IRQ: u8 = 14;
/// Command block base port of the secondary channel.
pub const ATA_SECONDARY_BASE: u16 = 0x170;
/// Control block port of the secondary channel.
pub const ATA_SECONDARY_CTRL: u16 = 0x376;
/// IRQ of the secondary channel.
pub const ATA_SECONDARY_IRQ: u8 = 15;

/// Register offset 0: data.
pub const REG_DATA: u16 = 0;
/// Register offset 1: error (read) / features (write).
pub const REG_ERROR: u16 = 1;
/// Register offset 2: sector count.
pub const REG_COUNT: u16 = 2;
/// Register offset 3: LBA low / sector number.
pub const REG_LBA_LOW: u16 = 3;
/// Register offset 4: LBA mid / cylinder low.
pub const REG_LBA_MID: u16 = 4;
/// Register offset 5: LBA high / cylinder high.
pub const REG_LBA_HIGH: u16 = 5;
/// Register offset 6: device/head.
pub const REG_DEVICE: u16 = 6;
/// Register offset 7: status (read) / command (write).
pub const REG_STATUS: u16 = 7;

/// Status bit 7: busy.
pub const STATUS_BSY: u8 = 0x80;
/// Status bit 6: device ready.
pub const STATUS_DRDY: u8 = 0x40;
/// Status bit 5: device fault.
pub const STATUS_DF: u8 = 0x20;
/// Status bit 4: device seek complete (obsolete, kept set when ready).
pub const STATUS_DSC: u8 = 0x10;
/// Status bit 3: data request.
pub const STATUS_DRQ: u8 = 0x08;
/// Status bit 0: error (see the error register).
pub const STATUS_ERR: u8 = 0x01;

/// Error bit 6: uncorrectable data error.
pub const ERROR_UNC: u8 = 0x40;
/// Error bit 4: ID not found (address outside the disk).
pub const ERROR_IDNF: u8 = 0x10;
/// Error bit 2: command aborted.
pub const ERROR_ABRT: u8 = 0x04;
/// Diagnostic code: device passed (error register after reset/diagnostic).
pub const DIAG_PASSED: u8 = 0x01;

/// Device register bit 6: LBA addressing (else CHS).
pub const DEVICE_LBA: u8 = 0x40;
/// Device register bit 4: device 1 selected.
pub const DEVICE_DEV: u8 = 0x10;
/// Device register bits 3–0: head number, or LBA bits 27–24.
pub const DEVICE_HEAD_MASK: u8 = 0x0F;

/// Device control bit 1: interrupts disabled (nIEN).
pub const CONTROL_NIEN: u8 = 0x02;
/// Device control bit 2: software reset (SRST).
pub const CONTROL_SRST: u8 = 0x04;
/// Device control bit 7: high order byte (read the previous register values).
pub const CONTROL_HOB: u8 = 0x80;

/// RECALIBRATE (0x10–0x1F).
pub const CMD_RECALIBRATE: u8 = 0x10;
/// READ SECTORS.
pub const CMD_READ_SECTORS: u8 = 0x20;
/// READ SECTORS without retries.
pub const CMD_READ_SECTORS_NORETRY: u8 = 0x21;
/// READ SECTORS EXT.
pub const CMD_READ_SECTORS_EXT: u8 = 0x24;
/// READ MULTIPLE EXT.
pub const CMD_READ_MULTIPLE_EXT: u8 = 0x29;
/// WRITE SECTORS.
pub const CMD_WRITE_SECTORS: u8 = 0x30;
/// WRITE SECTORS without retries.
pub const CMD_WRITE_SECTORS_NORETRY: u8 = 0x31;
/// WRITE SECTORS EXT.
pub const CMD_WRITE_SECTORS_EXT: u8 = 0x34;
/// WRITE MULTIPLE EXT.
pub const CMD_WRITE_MULTIPLE_EXT: u8 = 0x39;
/// READ VERIFY SECTORS.
pub const CMD_READ_VERIFY: u8 = 0x40;
/// READ VERIFY SECTORS without retries.
pub const CMD_READ_VERIFY_NORETRY: u8 = 0x41;
/// READ VERIFY SECTORS EXT.
pub const CMD_READ_VERIFY_EXT: u8 = 0x42;
/// SEEK.
pub const CMD_SEEK: u8 = 0x70;
/// EXECUTE DEVICE DIAGNOSTIC.
pub const CMD_EXECUTE_DIAGNOSTIC: u8 = 0x90;
/// INITIALIZE DEVICE PARAMETERS.
pub const CMD_INITIALIZE_PARAMETERS: u8 = 0x91;
/// IDENTIFY PACKET DEVICE (ATAPI only).
pub const CMD_IDENTIFY_PACKET: u8 = 0xA1;
/// READ MULTIPLE.
pub const CMD_READ_MULTIPLE: u8 = 0xC4;
/// WRITE MULTIPLE.
pub const CMD_WRITE_MULTIPLE: u8 = 0xC5;
/// SET MULTIPLE MODE.
pub const CMD_SET_MULTIPLE: u8 = 0xC6;
/// FLUSH CACHE.
pub const CMD_FLUSH_CACHE: u8 = 0xE7;
/// FLUSH CACHE EXT.
pub const CMD_FLUSH_CACHE_EXT: u8 = 0xEA;
/// IDENTIFY DEVICE.
pub const CMD_IDENTIFY: u8 = 0xEC;
/// SET FEATURES.
pub const CMD_SET_FEATURES: u8 = 0xEF;

/// SET FEATURES 0x02: enable write cache.
pub const FEATURE_WCACHE_ON: u8 = 0x02;
/// SET FEATURES 0x03: set transfer mode (from the sector count).
pub const FEATURE_XFER_MODE: u8 = 0x03;
/// SET FEATURES 0x55: disable read look-ahead.
pub const FEATURE_LOOKAHEAD_OFF: u8 = 0x55;
/// SET FEATURES 0x66: keep settings over a reset.
pub const FEATURE_KEEP_SETTINGS: u8 = 0x66;
/// SET FEATURES 0x82: disable write cache.
pub const FEATURE_WCACHE_OFF: u8 = 0x82;
/// SET FEATURES 0xAA: enable read look-ahead.
pub const FEATURE_LOOKAHEAD_ON: u8 = 0xAA;
/// SET FEATURES 0xCC: revert to power-on defaults at reset.
pub const FEATURE_REVERT_DEFAULTS: u8 = 0xCC;

/// Most sectors per DRQ block of READ/WRITE MULTIPLE (IDENTIFY word 47).
pub const MAX_MULTIPLE: u8 = 16;
/// Highest sector number LBA28 addressing reaches, plus one.
pub const LBA28_LIMIT: u64 = 1 << 28;
/// Model string of IDENTIFY words 27–46.
pub const MODEL: &str = "GLASSBOX HARDDISK";
/// Firmware revision of IDENTIFY words 23–26.
pub const FIRMWARE: &str = "1.0";

/// What a floating (undriven) bus reads as.
const FLOATING: u8 = 0xFF;

const WARN_DATA_IDLE: u32 = 0;
const WARN_UNKNOWN_CMD: u32 = 1;
const WARN_IO: u32 = 2;

/// How a command's address is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Addressing {
    Chs,
    Lba28,
    Lba48,
}

/// A PIO transfer in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Transfer {
    write: bool,
    /// The next sector to move.
    lba: u64,
    /// Sectors still to move (including the block in the buffer).
    remaining: u32,
    /// Sectors per DRQ block.
    block: u32,
    addressing: Addressing,
}

/// The task file as one device holds it. The 48-bit registers are two deep:
/// `[current, previous]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct TaskFile {
    features: [u8; 2],
    count: [u8; 2],
    lba_low: [u8; 2],
    lba_mid: [u8; 2],
    lba_high: [u8; 2],
    device: u8,
}

/// One device's state (everything but the image).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Unit {
    tf: TaskFile,
    status: u8,
    error: u8,
    /// The device's INTRQ (before nIEN).
    intrq: bool,
    /// Current CHS translation (INITIALIZE DEVICE PARAMETERS).
    cylinders: u16,
    heads: u8,
    sectors: u8,
    /// Sectors per block of READ/WRITE MULTIPLE; 0 = disabled.
    multiple: u8,
    /// SET FEATURES 0x66: keep settings over a soft reset.
    keep_settings: bool,
    transfer: Option<Transfer>,
    buffer: Vec<u8>,
    pos: usize,
}

impl Unit {
    fn signature(&mut self) {
        self.tf.count[0] = 1;
        self.tf.lba_low[0] = 1;
        self.tf.lba_mid[0] = 0;
        self.tf.lba_high[0] = 0;
        self.tf.device = 0;
        self.error = DIAG_PASSED;
        self.status = STATUS_DRDY | STATUS_DSC;
        self.transfer = None;
        self.buffer.clear();
        self.pos = 0;
    }

    fn default_translation(&mut self, g: &HardDiskGeometry) {
        self.cylinders = g.cylinders;
        self.heads = g.heads;
        self.sectors = g.sectors;
    }
}

/// The channel's register state, for snapshots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtaState {
    control: u8,
    units: [Unit; 2],
}

/// A disk attached to a unit.
#[derive(Debug)]
struct Disk {
    image: DiskImage,
    geometry: HardDiskGeometry,
}

/// An ATA channel with up to two hard disks.
#[derive(Debug)]
pub struct AtaChannel {
    primary: bool,
    st: AtaState,
    disks: [Option<Disk>; 2],
    once: Once,
}

impl AtaChannel {
    /// The primary (0x1F0, 0x3F6, IRQ 14) or secondary (0x170, 0x376, IRQ 15)
    /// channel, with no disks.
    pub fn new(primary: bool) -> Self {
        AtaChannel {
            primary,
            st: AtaState {
                control: 0,
                units: [Unit::default(), Unit::default()],
            },
            disks: [None, None],
            once: Once::default(),
        }
    }

    /// The command block base port.
    pub fn base(&self) -> u16 {
        if self.primary {
            ATA_PRIMARY_BASE
        } else {
            ATA_SECONDARY_BASE
        }
    }

    /// The control block port (alternate status / device control).
    pub fn control_port(&self) -> u16 {
        if self.primary {
            ATA_PRIMARY_CTRL
        } else {
            ATA_SECONDARY_CTRL
        }
    }

    /// The two port ranges to claim: base..=base+7 and the control port.
    /// Only the data port (the base) takes wide accesses.
    pub fn ports(&self) -> [(u16, u16); 2] {
        [
            (self.base(), self.base() + REG_STATUS),
            (self.control_port(), self.control_port()),
        ]
    }

    /// The channel's IRQ line (14 or 15).
    pub fn irq(&self) -> u8 {
        if self.primary {
            ATA_PRIMARY_IRQ
        } else {
            ATA_SECONDARY_IRQ
        }
    }

    /// Attaches `disk` as unit 0 (master) or 1 (slave), replacing (and
    /// flushing) any disk there. The unit comes up as after a reset.
    pub fn attach(&mut self, unit: u8, disk: DiskImage) -> Result<(), DiskError> {
        if unit > 1 {
            return Err(DiskError::NoSuchDrive {
                name: disk.name().to_owned(),
                drive: usize::from(unit),
                max: 1,
            });
        }
        self.detach(unit)?;
        let geometry = HardDiskGeometry::for_size(disk.len());
        let u = &mut self.st.units[usize::from(unit)];
        *u = Unit::default();
        u.default_translation(&geometry);
        u.signature();
        self.disks[usize::from(unit)] = Some(Disk {
            image: disk,
            geometry,
        });
        Ok(())
    }

    /// Removes the disk of `unit` (flushed) and hands it back.
    pub fn detach(&mut self, unit: u8) -> Result<Option<DiskImage>, DiskError> {
        let Some(slot) = self.disks.get_mut(usize::from(unit)) else {
            return Ok(None);
        };
        match slot.take() {
            Some(mut d) => {
                d.image.flush()?;
                Ok(Some(d.image))
            }
            None => Ok(None),
        }
    }

    /// Whether a disk is attached as `unit`.
    pub fn has_disk(&self, unit: u8) -> bool {
        self.disks
            .get(usize::from(unit))
            .is_some_and(|d| d.is_some())
    }

    /// The BIOS-visible geometry of `unit`'s disk.
    pub fn geometry(&self, unit: u8) -> Option<HardDiskGeometry> {
        self.disks
            .get(usize::from(unit))?
            .as_ref()
            .map(|d| d.geometry)
    }

    /// Writes buffered guest writes of both disks to their files.
    pub fn flush(&mut self) -> Result<(), DiskError> {
        for d in self.disks.iter_mut().flatten() {
            d.image.flush()?;
        }
        Ok(())
    }

    /// The register state, for snapshots.
    pub fn save(&self) -> AtaState {
        self.st.clone()
    }

    /// Restores state saved by [`AtaChannel::save`]; the disks stay.
    pub fn restore(&mut self, state: AtaState) {
        self.st = state;
    }

    /// The selected unit (DEV bit of the device register).
    fn selected(&self) -> usize {
        // Both units latch the device register; unit 0's copy is as good as any.
        usize::from(self.st.units[0].tf.device & DEVICE_DEV != 0)
    }

    /// The level of the channel's IRQ line.
    pub fn irq_level(&self) -> bool {
        let sel = self.selected();
        self.disks[sel].is_some() && self.st.units[sel].intrq && self.st.control & CONTROL_NIEN == 0
    }

    fn update_irq(&self, cx: &mut IoCx) {
        cx.irq.set(self.irq(), self.irq_level());
    }

    fn no_devices(&self) -> bool {
        self.disks.iter().all(|d| d.is_none())
    }

    fn status_of(&self, unit: usize) -> u8 {
        if self.disks[unit].is_none() {
            return 0;
        }
        if self.st.control & CONTROL_SRST != 0 {
            return STATUS_BSY;
        }
        self.st.units[unit].status
    }

    fn read_register(&mut self, reg: u16) -> u8 {
        if self.no_devices() {
            return FLOATING;
        }
        let sel = self.selected();
        let hob = usize::from(self.st.control & CONTROL_HOB != 0);
        let u = &mut self.st.units[sel];
        match reg {
            REG_ERROR => {
                if self.disks[sel].is_some() {
                    u.error
                } else {
                    0
                }
            }
            REG_COUNT => u.tf.count[hob],
            REG_LBA_LOW => u.tf.lba_low[hob],
            REG_LBA_MID => u.tf.lba_mid[hob],
            REG_LBA_HIGH => u.tf.lba_high[hob],
            REG_DEVICE => u.tf.device,
            _ => {
                let s = self.status_of(sel);
                // Reading status (not alternate status) acknowledges INTRQ.
                self.st.units[sel].intrq = false;
                s
            }
        }
    }

    fn write_register(&mut self, reg: u16, value: u8) {
        // A write to any command block register clears HOB.
        self.st.control &= !CONTROL_HOB;
        if reg == REG_STATUS {
            self.command(value);
            return;
        }
        for u in &mut self.st.units {
            let push = |r: &mut [u8; 2]| *r = [value, r[0]];
            match reg {
                REG_ERROR => push(&mut u.tf.features),
                REG_COUNT => push(&mut u.tf.count),
                REG_LBA_LOW => push(&mut u.tf.lba_low),
                REG_LBA_MID => push(&mut u.tf.lba_mid),
                REG_LBA_HIGH => push(&mut u.tf.lba_high),
                REG_DEVICE => u.tf.device = value,
                _ => {}
            }
        }
    }

    fn write_control(&mut self, value: u8) {
        let was = self.st.control & CONTROL_SRST != 0;
        self.st.control = value;
        if was && value & CONTROL_SRST == 0 {
            self.soft_reset();
        }
    }

    /// The end of an SRST pulse: both devices load their signatures.
    fn soft_reset(&mut self) {
        for (i, u) in self.st.units.iter_mut().enumerate() {
            u.signature();
            u.intrq = false;
            if !u.keep_settings {
                u.multiple = 0;
                if let Some(d) = &self.disks[i] {
                    u.default_translation(&d.geometry);
                }
            }
        }
    }

    fn complete(&mut self, unit: usize) {
        let u = &mut self.st.units[unit];
        u.status = STATUS_DRDY | STATUS_DSC;
        u.error = 0;
        u.transfer = None;
        u.intrq = true;
    }

    fn fail(&mut self, unit: usize, error: u8) {
        let u = &mut self.st.units[unit];
        u.status = STATUS_DRDY | STATUS_DSC | STATUS_ERR;
        u.error = error;
        u.transfer = None;
        u.buffer.clear();
        u.pos = 0;
        u.intrq = true;
    }

    fn command(&mut self, cmd: u8) {
        if cmd == CMD_EXECUTE_DIAGNOSTIC {
            // Executed by both devices whatever DEV says; device 0 reports.
            for i in 0..2 {
                if self.disks[i].is_some() {
                    let u = &mut self.st.units[i];
                    u.signature();
                    u.intrq = i == 0;
                }
            }
            return;
        }
        let unit = self.selected();
        if self.disks[unit].is_none() {
            return;
        }
        {
            let u = &mut self.st.units[unit];
            u.intrq = false;
            u.transfer = None;
            u.buffer.clear();
            u.pos = 0;
        }
        match cmd {
            CMD_IDENTIFY => {
                let data = self.identify(unit);
                let u = &mut self.st.units[unit];
                u.buffer = data;
                u.pos = 0;
                u.status = STATUS_DRDY | STATUS_DSC | STATUS_DRQ;
                u.error = 0;
                u.intrq = true;
            }
            CMD_READ_SECTORS | CMD_READ_SECTORS_NORETRY => {
                self.start(unit, false, Addressing::Chs, 1)
            }
            CMD_WRITE_SECTORS | CMD_WRITE_SECTORS_NORETRY => {
                self.start(unit, true, Addressing::Chs, 1)
            }
            CMD_READ_SECTORS_EXT => self.start(unit, false, Addressing::Lba48, 1),
            CMD_WRITE_SECTORS_EXT => self.start(unit, true, Addressing::Lba48, 1),
            CMD_READ_MULTIPLE
            | CMD_WRITE_MULTIPLE
            | CMD_READ_MULTIPLE_EXT
            | CMD_WRITE_MULTIPLE_EXT => {
                let m = self.st.units[unit].multiple;
                if m == 0 {
                    self.fail(unit, ERROR_ABRT);
                    return;
                }
                let write = matches!(cmd, CMD_WRITE_MULTIPLE | CMD_WRITE_MULTIPLE_EXT);
                let ext = matches!(cmd, CMD_READ_MULTIPLE_EXT | CMD_WRITE_MULTIPLE_EXT);
                let mode = if ext {
                    Addressing::Lba48
                } else {
                    Addressing::Chs
                };
                self.start(unit, write, mode, u32::from(m));
            }
            CMD_READ_VERIFY | CMD_READ_VERIFY_NORETRY | CMD_READ_VERIFY_EXT => {
                let mode = if cmd == CMD_READ_VERIFY_EXT {
                    Addressing::Lba48
                } else {
                    Addressing::Chs
                };
                if let Some((lba, count, mode)) = self.range(unit, mode) {
                    self.set_address(unit, lba + u64::from(count) - 1, mode, 0);
                    self.complete(unit);
                }
            }
            CMD_SET_MULTIPLE => {
                let n = self.st.units[unit].tf.count[0];
                if n == 0 || (n.is_power_of_two() && n <= MAX_MULTIPLE) {
                    self.st.units[unit].multiple = n;
                    self.complete(unit);
                } else {
                    self.fail(unit, ERROR_ABRT);
                }
            }
            CMD_INITIALIZE_PARAMETERS => {
                let u = &self.st.units[unit];
                let sectors = u.tf.count[0];
                let heads = (u.tf.device & DEVICE_HEAD_MASK) + 1;
                if sectors == 0 {
                    self.fail(unit, ERROR_ABRT);
                    return;
                }
                let total = self.disks[unit]
                    .as_ref()
                    .map_or(0, |d| d.geometry.total_sectors);
                let cylinders = (total / (u64::from(heads) * u64::from(sectors))).min(65535);
                let u = &mut self.st.units[unit];
                u.heads = heads;
                u.sectors = sectors;
                u.cylinders = cylinders as u16;
                self.complete(unit);
            }
            CMD_SET_FEATURES => {
                let u = &mut self.st.units[unit];
                let ok = match u.tf.features[0] {
                    FEATURE_XFER_MODE => {
                        // PIO default (0x00/0x01) or PIO flow-control modes 0–4.
                        matches!(u.tf.count[0], 0x00 | 0x01 | 0x08..=0x0C)
                    }
                    FEATURE_KEEP_SETTINGS => {
                        u.keep_settings = true;
                        true
                    }
                    FEATURE_REVERT_DEFAULTS => {
                        u.keep_settings = false;
                        true
                    }
                    FEATURE_WCACHE_ON
                    | FEATURE_WCACHE_OFF
                    | FEATURE_LOOKAHEAD_ON
                    | FEATURE_LOOKAHEAD_OFF => true,
                    _ => false,
                };
                if ok {
                    self.complete(unit);
                } else {
                    self.fail(unit, ERROR_ABRT);
                }
            }
            CMD_FLUSH_CACHE | CMD_FLUSH_CACHE_EXT => {
                let result = self.disks[unit].as_mut().map(|d| d.image.flush());
                match result {
                    Some(Err(e)) => {
                        log::error!("ata: {e}");
                        self.fail(unit, ERROR_ABRT);
                    }
                    _ => self.complete(unit),
                }
            }
            CMD_RECALIBRATE..=0x1F => {
                if !self.lba_mode(unit) {
                    let u = &mut self.st.units[unit];
                    u.tf.lba_mid[0] = 0;
                    u.tf.lba_high[0] = 0;
                }
                self.complete(unit);
            }
            CMD_SEEK => {
                let mode = if self.lba_mode(unit) {
                    Addressing::Lba28
                } else {
                    Addressing::Chs
                };
                if self.address(unit, mode).is_some() {
                    self.complete(unit);
                } else {
                    self.fail(unit, ERROR_IDNF);
                }
            }
            _ => {
                if cmd != CMD_IDENTIFY_PACKET && self.once.first(WARN_UNKNOWN_CMD) {
                    log::warn!("ata: command {cmd:#04x} not supported; aborted");
                }
                self.fail(unit, ERROR_ABRT);
            }
        }
    }

    fn lba_mode(&self, unit: usize) -> bool {
        self.st.units[unit].tf.device & DEVICE_LBA != 0
    }

    /// The sector the task file addresses, if it is on the disk (for CHS:
    /// inside the current translation).
    fn address(&self, unit: usize, mode: Addressing) -> Option<u64> {
        let u = &self.st.units[unit];
        let tf = &u.tf;
        let total = self.disks[unit].as_ref()?.geometry.total_sectors;
        let lba = match mode {
            Addressing::Lba48 => {
                u64::from(tf.lba_high[1]) << 40
                    | u64::from(tf.lba_mid[1]) << 32
                    | u64::from(tf.lba_low[1]) << 24
                    | u64::from(tf.lba_high[0]) << 16
                    | u64::from(tf.lba_mid[0]) << 8
                    | u64::from(tf.lba_low[0])
            }
            Addressing::Lba28 => {
                u64::from(tf.device & DEVICE_HEAD_MASK) << 24
                    | u64::from(tf.lba_high[0]) << 16
                    | u64::from(tf.lba_mid[0]) << 8
                    | u64::from(tf.lba_low[0])
            }
            Addressing::Chs => {
                let c = u64::from(u16::from_le_bytes([tf.lba_mid[0], tf.lba_high[0]]));
                let h = u64::from(tf.device & DEVICE_HEAD_MASK);
                let s = u64::from(tf.lba_low[0]);
                if s == 0
                    || s > u64::from(u.sectors)
                    || h >= u64::from(u.heads)
                    || c >= u64::from(u.cylinders)
                {
                    return None;
                }
                (c * u64::from(u.heads) + h) * u64::from(u.sectors) + s - 1
            }
        };
        (lba < total).then_some(lba)
    }

    /// The start, sector count and addressing of a read/write/verify command,
    /// or `None` after failing it with IDNF.
    fn range(&mut self, unit: usize, mode: Addressing) -> Option<(u64, u32, Addressing)> {
        let mode = match mode {
            Addressing::Chs if self.lba_mode(unit) => Addressing::Lba28,
            m => m,
        };
        let tf = &self.st.units[unit].tf;
        let count = match mode {
            Addressing::Lba48 => match u32::from(u16::from_le_bytes([tf.count[0], tf.count[1]])) {
                0 => 65536,
                n => n,
            },
            _ => match u32::from(tf.count[0]) {
                0 => 256,
                n => n,
            },
        };
        let total = self.disks[unit]
            .as_ref()
            .map_or(0, |d| d.geometry.total_sectors);
        match self.address(unit, mode) {
            Some(lba) if lba + u64::from(count) <= total => Some((lba, count, mode)),
            _ => {
                self.fail(unit, ERROR_IDNF);
                None
            }
        }
    }

    /// Puts sector `lba` into the task file in `mode`'s form, and the
    /// sectors still to move into the count.
    fn set_address(&mut self, unit: usize, lba: u64, mode: Addressing, remaining: u32) {
        let u = &mut self.st.units[unit];
        let b = lba.to_le_bytes();
        match mode {
            Addressing::Lba48 => {
                u.tf.lba_low = [b[0], b[3]];
                u.tf.lba_mid = [b[1], b[4]];
                u.tf.lba_high = [b[2], b[5]];
                u.tf.count = [remaining as u8, (remaining >> 8) as u8];
            }
            Addressing::Lba28 => {
                u.tf.lba_low[0] = b[0];
                u.tf.lba_mid[0] = b[1];
                u.tf.lba_high[0] = b[2];
                u.tf.device = (u.tf.device & !DEVICE_HEAD_MASK) | (b[3] & DEVICE_HEAD_MASK);
                u.tf.count[0] = remaining as u8;
            }
            Addressing::Chs => {
                let spt = u64::from(u.sectors.max(1));
                let heads = u64::from(u.heads.max(1));
                let s = lba % spt + 1;
                let h = (lba / spt) % heads;
                let c = lba / spt / heads;
                u.tf.lba_low[0] = s as u8;
                u.tf.lba_mid[0] = c as u8;
                u.tf.lba_high[0] = (c >> 8) as u8;
                u.tf.device = (u.tf.device & !DEVICE_HEAD_MASK) | h as u8;
                u.tf.count[0] = remaining as u8;
            }
        }
        // Broadcast writes keep both copies of the device register alike.
        let device = u.tf.device;
        for u in &mut self.st.units {
            u.tf.device = device;
        }
    }

    fn start(&mut self, unit: usize, write: bool, mode: Addressing, block: u32) {
        let Some((lba, count, mode)) = self.range(unit, mode) else {
            return;
        };
        if write
            && !self.disks[unit]
                .as_ref()
                .is_some_and(|d| d.image.is_writable())
        {
            self.fail(unit, ERROR_ABRT);
            return;
        }
        self.st.units[unit].transfer = Some(Transfer {
            write,
            lba,
            remaining: count,
            block,
            addressing: mode,
        });
        self.next_block(unit, true);
    }

    /// Sets up the next DRQ block of the transfer in progress.
    fn next_block(&mut self, unit: usize, first: bool) {
        let Some(t) = self.st.units[unit].transfer else {
            return;
        };
        let n = t.block.min(t.remaining) as usize;
        let mut buffer = vec![0u8; n * SECTOR_SIZE];
        if !t.write {
            let read = self.disks[unit]
                .as_mut()
                .map(|d| d.image.read_at(t.lba * SECTOR_SIZE as u64, &mut buffer));
            if let Some(Err(e)) = read {
                if self.once.first(WARN_IO) {
                    log::error!("ata: {e}");
                }
                self.set_address(unit, t.lba, t.addressing, t.remaining);
                self.fail(unit, ERROR_UNC);
                return;
            }
        }
        let u = &mut self.st.units[unit];
        u.buffer = buffer;
        u.pos = 0;
        u.status = STATUS_DRDY | STATUS_DSC | STATUS_DRQ;
        u.error = 0;
        // Data-in interrupts at every block; data-out at every block but the first.
        u.intrq = !t.write || !first;
    }

    /// The guest has moved the whole buffer.
    fn block_done(&mut self, unit: usize) {
        let Some(mut t) = self.st.units[unit].transfer else {
            return;
        };
        let n = t.block.min(t.remaining);
        if t.write {
            let data = std::mem::take(&mut self.st.units[unit].buffer);
            let written = self.disks[unit]
                .as_mut()
                .map(|d| d.image.write_at(t.lba * SECTOR_SIZE as u64, &data));
            if let Some(Err(e)) = written {
                if self.once.first(WARN_IO) {
                    log::error!("ata: {e}");
                }
                self.set_address(unit, t.lba, t.addressing, t.remaining);
                self.fail(unit, ERROR_ABRT);
                return;
            }
        }
        t.lba += u64::from(n);
        t.remaining -= n;
        self.set_address(unit, t.lba - 1, t.addressing, t.remaining);
        if t.remaining == 0 {
            let u = &mut self.st.units[unit];
            u.transfer = None;
            u.buffer.clear();
            u.pos = 0;
            u.status = STATUS_DRDY | STATUS_DSC;
            // The end of a write interrupts; the end of a read does not.
            u.intrq = t.write;
        } else {
            self.st.units[unit].transfer = Some(t);
            self.next_block(unit, false);
        }
    }

    fn read_data(&mut self, size: u8) -> u32 {
        let unit = self.selected();
        let u = &mut self.st.units[unit];
        let width = usize::from(size.clamp(1, 4));
        if u.status & STATUS_DRQ == 0
            || u.transfer.is_some_and(|t| t.write)
            || self.disks[unit].is_none()
        {
            if self.once.first(WARN_DATA_IDLE) {
                log::warn!("ata: data port read without data ready");
            }
            return u32::MAX >> (32 - 8 * width);
        }
        let mut bytes = [0u8; 4];
        for b in bytes.iter_mut().take(width) {
            if let Some(&v) = u.buffer.get(u.pos) {
                *b = v;
                u.pos += 1;
            }
        }
        if u.pos >= u.buffer.len() {
            if u.transfer.is_some() {
                self.block_done(unit);
            } else {
                // IDENTIFY: one block, no completion interrupt.
                let u = &mut self.st.units[unit];
                u.status = STATUS_DRDY | STATUS_DSC;
                u.buffer.clear();
                u.pos = 0;
            }
        }
        u32::from_le_bytes(bytes)
    }

    fn write_data(&mut self, size: u8, value: u32) {
        let unit = self.selected();
        let u = &mut self.st.units[unit];
        let width = usize::from(size.clamp(1, 4));
        if u.status & STATUS_DRQ == 0 || !u.transfer.is_some_and(|t| t.write) {
            if self.once.first(WARN_DATA_IDLE) {
                log::warn!("ata: data port write without a data request");
            }
            return;
        }
        for &b in value.to_le_bytes().iter().take(width) {
            if let Some(slot) = u.buffer.get_mut(u.pos) {
                *slot = b;
                u.pos += 1;
            }
        }
        if u.pos >= u.buffer.len() {
            self.block_done(unit);
        }
    }

    /// The 256-word IDENTIFY DEVICE block of `unit`, as bytes.
    fn identify(&self, unit: usize) -> Vec<u8> {
        let mut w = [0u16; 256];
        let u = &self.st.units[unit];
        let g = self.disks[unit]
            .as_ref()
            .map_or(HardDiskGeometry::for_size(0), |d| d.geometry);
        w[0] = 0x0040; // ATA device, fixed
        w[1] = g.cylinders;
        w[3] = u16::from(g.heads);
        w[6] = u16::from(g.sectors);
        let serial = format!(
            "GB{}{:02}{:014}",
            if self.primary { 'P' } else { 'S' },
            unit,
            g.total_sectors
        );
        put_string(&mut w[10..20], &serial);
        put_string(&mut w[23..27], FIRMWARE);
        put_string(&mut w[27..47], MODEL);
        w[47] = 0x8000 | u16::from(MAX_MULTIPLE);
        w[49] = (1 << 11) | (1 << 9); // IORDY supported, LBA supported
        w[50] = 0x4000;
        w[51] = 0x0200; // PIO timing mode 2
        w[53] = 0x0003; // words 54–58 and 64–70 valid
        w[54] = u.cylinders;
        w[55] = u16::from(u.heads);
        w[56] = u16::from(u.sectors);
        let current = u32::from(u.cylinders) * u32::from(u.heads) * u32::from(u.sectors);
        w[57] = current as u16;
        w[58] = (current >> 16) as u16;
        if u.multiple != 0 {
            w[59] = 0x0100 | u16::from(u.multiple);
        }
        let lba28 = g.total_sectors.min(LBA28_LIMIT - 1) as u32;
        w[60] = lba28 as u16;
        w[61] = (lba28 >> 16) as u16;
        w[64] = 0x0003; // PIO modes 3 and 4
        w[65] = 120;
        w[66] = 120;
        w[67] = 120;
        w[68] = 120;
        w[80] = 0x007E; // ATA-1 to ATA-6
        w[82] = 0;
        // 83/86: bit 14 (valid), 13 FLUSH CACHE EXT, 12 FLUSH CACHE, 10 48-bit.
        w[83] = 0x4000 | (1 << 13) | (1 << 12) | (1 << 10);
        w[84] = 0x4000;
        w[86] = (1 << 13) | (1 << 12) | (1 << 10);
        w[87] = 0x4000;
        for (i, chunk) in g.total_sectors.to_le_bytes().chunks(2).enumerate() {
            w[100 + i] = u16::from_le_bytes([chunk[0], chunk[1]]);
        }
        let mut bytes: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
        bytes[510] = 0xA5;
        let sum = bytes[..511].iter().fold(0u8, |s, &b| s.wrapping_add(b));
        bytes[511] = sum.wrapping_neg();
        bytes
    }
}

/// ATA strings: two characters per word, the first in the high byte,
/// padded with spaces.
fn put_string(words: &mut [u16], text: &str) {
    let mut bytes = text.bytes().chain(std::iter::repeat(b' '));
    for w in words {
        let hi = bytes.next().unwrap_or(b' ');
        let lo = bytes.next().unwrap_or(b' ');
        *w = u16::from_be_bytes([hi, lo]);
    }
}

impl Device for AtaChannel {
    fn name(&self) -> &'static str {
        if self.primary {
            "ata0"
        } else {
            "ata1"
        }
    }

    fn io_read(&mut self, port: u16, size: u8, cx: &mut IoCx) -> u32 {
        let value = if port == self.control_port() {
            if self.no_devices() {
                u32::from(FLOATING)
            } else {
                u32::from(self.status_of(self.selected()))
            }
        } else {
            match port.wrapping_sub(self.base()) {
                REG_DATA if self.no_devices() => u32::MAX >> (32 - 8 * u32::from(size.clamp(1, 4))),
                REG_DATA => self.read_data(size),
                reg @ REG_ERROR..=REG_STATUS => u32::from(self.read_register(reg)),
                _ => u32::from(FLOATING),
            }
        };
        self.update_irq(cx);
        value
    }

    fn io_write(&mut self, port: u16, size: u8, value: u32, cx: &mut IoCx) {
        if port == self.control_port() {
            self.write_control(value as u8);
        } else {
            match port.wrapping_sub(self.base()) {
                REG_DATA => self.write_data(size, value),
                reg @ REG_ERROR..=REG_STATUS => self.write_register(reg, value as u8),
                _ => {}
            }
        }
        self.update_irq(cx);
    }

    fn reset(&mut self, _kind: ResetKind) {
        self.st.control = 0;
        for (i, u) in self.st.units.iter_mut().enumerate() {
            *u = Unit::default();
            if let Some(d) = &self.disks[i] {
                u.default_translation(&d.geometry);
            }
            u.signature();
        }
    }

    fn inspect(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "{}: ports {:#x}-{:#x} and {:#x}, IRQ {} {}, device control {:#04x}, unit {} selected",
            self.name(),
            self.base(),
            self.base() + REG_STATUS,
            self.control_port(),
            self.irq(),
            if self.irq_level() { "high" } else { "low" },
            self.st.control,
            self.selected()
        )?;
        for (i, u) in self.st.units.iter().enumerate() {
            let Some(d) = &self.disks[i] else {
                writeln!(out, "  unit {i}: absent")?;
                continue;
            };
            writeln!(
                out,
                "  unit {i}: {} ({} sectors, CHS {}/{}/{}{}), translation {}/{}/{}, multiple {}",
                d.image.name(),
                d.geometry.total_sectors,
                d.geometry.cylinders,
                d.geometry.heads,
                d.geometry.sectors,
                if d.image.is_writable() {
                    ""
                } else {
                    ", read-only"
                },
                u.cylinders,
                u.heads,
                u.sectors,
                u.multiple
            )?;
            let tf = &u.tf;
            writeln!(
                out,
                "    status {:#04x} error {:#04x} INTRQ {} | count {:02x}/{:02x} lba {:02x}{:02x}{:02x}/{:02x}{:02x}{:02x} device {:#04x} features {:#04x}",
                u.status,
                u.error,
                u8::from(u.intrq),
                tf.count[0],
                tf.count[1],
                tf.lba_high[0],
                tf.lba_mid[0],
                tf.lba_low[0],
                tf.lba_high[1],
                tf.lba_mid[1],
                tf.lba_low[1],
                tf.device,
                tf.features[0]
            )?;
            if let Some(t) = u.transfer {
                writeln!(
                    out,
                    "    {} at sector {}, {} to go, {} per block, byte {} of {}",
                    if t.write { "writing" } else { "reading" },
                    t.lba,
                    t.remaining,
                    t.block,
                    u.pos,
                    u.buffer.len()
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::{NoDma, Signals};
    use crate::irq::IrqLines;
    use crate::time::{Cycles, Scheduler};

    /// Three cylinders of the classic translation.
    const SECTORS: u64 = 3 * 16 * 63;

    fn pattern_byte(lba: u64, i: usize) -> u8 {
        (lba as u8).wrapping_mul(13) ^ (i as u8) ^ ((lba >> 8) as u8).wrapping_mul(3)
    }

    fn sector(lba: u64) -> Vec<u8> {
        (0..SECTOR_SIZE).map(|i| pattern_byte(lba, i)).collect()
    }

    fn disk(sectors: u64, name: &str) -> DiskImage {
        let data = (0..sectors).flat_map(sector).collect();
        DiskImage::from_bytes(data, name).unwrap()
    }

    struct Rig {
        ata: AtaChannel,
        sched: Scheduler,
        irq: IrqLines,
        signals: Signals,
    }

    impl Rig {
        fn new() -> Self {
            let mut ata = AtaChannel::new(true);
            ata.attach(0, disk(SECTORS, "hda.img")).unwrap();
            Rig::with(ata)
        }

        fn with(ata: AtaChannel) -> Self {
            Rig {
                ata,
                sched: Scheduler::new(),
                irq: IrqLines::new(),
                signals: Signals::default(),
            }
        }

        fn io(&mut self, f: impl FnOnce(&mut AtaChannel, &mut IoCx) -> u32) -> u32 {
            let mut cx = IoCx {
                now: Cycles(0),
                sched: &mut self.sched,
                irq: &mut self.irq,
                signals: &mut self.signals,
                dma: &mut NoDma,
            };
            f(&mut self.ata, &mut cx)
        }

        fn out(&mut self, reg: u16, value: u8) {
            let port = self.ata.base() + reg;
            self.io(|a, cx| {
                a.io_write(port, 1, u32::from(value), cx);
                0
            });
        }

        fn inp(&mut self, reg: u16) -> u8 {
            let port = self.ata.base() + reg;
            self.io(|a, cx| a.io_read(port, 1, cx)) as u8
        }

        fn control(&mut self, value: u8) {
            let port = self.ata.control_port();
            self.io(|a, cx| {
                a.io_write(port, 1, u32::from(value), cx);
                0
            });
        }

        fn alt_status(&mut self) -> u8 {
            let port = self.ata.control_port();
            self.io(|a, cx| a.io_read(port, 1, cx)) as u8
        }

        fn read16(&mut self) -> u16 {
            let port = self.ata.base();
            self.io(|a, cx| a.io_read(port, 2, cx)) as u16
        }

        fn write16(&mut self, value: u16) {
            let port = self.ata.base();
            self.io(|a, cx| {
                a.io_write(port, 2, u32::from(value), cx);
                0
            });
        }

        fn irq14(&self) -> bool {
            self.irq.is_high(ATA_PRIMARY_IRQ)
        }

        /// Reads one DRQ block of `sectors` sectors, checking DRQ and INTRQ
        /// first (the status read acknowledges the interrupt).
        fn read_block(&mut self, sectors: usize) -> Vec<u8> {
            assert!(self.irq14(), "INTRQ for the block");
            assert_eq!(self.inp(REG_STATUS), STATUS_DRDY | STATUS_DSC | STATUS_DRQ);
            assert!(!self.irq14());
            let mut out = Vec::new();
            for _ in 0..sectors * 256 {
                out.extend_from_slice(&self.read16().to_le_bytes());
            }
            out
        }

        fn write_block(&mut self, data: &[u8]) {
            assert_ne!(self.alt_status() & STATUS_DRQ, 0);
            for pair in data.chunks(2) {
                self.write16(u16::from_le_bytes([pair[0], pair[1]]));
            }
        }

        fn lba28(&mut self, lba: u32, count: u8) {
            self.out(REG_COUNT, count);
            self.out(REG_LBA_LOW, lba as u8);
            self.out(REG_LBA_MID, (lba >> 8) as u8);
            self.out(REG_LBA_HIGH, (lba >> 16) as u8);
            self.out(REG_DEVICE, 0xA0 | DEVICE_LBA | ((lba >> 24) as u8 & 0xF));
        }

        fn lba48(&mut self, lba: u64, count: u16) {
            let b = lba.to_le_bytes();
            self.out(REG_COUNT, (count >> 8) as u8);
            self.out(REG_LBA_LOW, b[3]);
            self.out(REG_LBA_MID, b[4]);
            self.out(REG_LBA_HIGH, b[5]);
            self.out(REG_COUNT, count as u8);
            self.out(REG_LBA_LOW, b[0]);
            self.out(REG_LBA_MID, b[1]);
            self.out(REG_LBA_HIGH, b[2]);
            self.out(REG_DEVICE, DEVICE_LBA);
        }

        fn chs(&mut self, c: u16, h: u8, s: u8, count: u8) {
            self.out(REG_COUNT, count);
            self.out(REG_LBA_LOW, s);
            self.out(REG_LBA_MID, c as u8);
            self.out(REG_LBA_HIGH, (c >> 8) as u8);
            self.out(REG_DEVICE, 0xA0 | h);
        }

        fn expect_error(&mut self, error: u8) {
            assert!(self.irq14());
            assert_eq!(self.inp(REG_STATUS), STATUS_DRDY | STATUS_DSC | STATUS_ERR);
            assert_eq!(self.inp(REG_ERROR), error);
        }

        fn expect_done(&mut self) {
            assert!(self.irq14(), "completion interrupt");
            assert_eq!(self.inp(REG_STATUS), STATUS_DRDY | STATUS_DSC);
            assert!(!self.irq14());
        }

        fn identify(&mut self) -> Vec<u16> {
            self.out(REG_DEVICE, 0xA0);
            self.out(REG_STATUS, CMD_IDENTIFY);
            let bytes = self.read_block(1);
            assert_eq!(self.inp(REG_STATUS), STATUS_DRDY | STATUS_DSC);
            bytes
                .chunks(2)
                .map(|p| u16::from_le_bytes([p[0], p[1]]))
                .collect()
        }
    }

    fn ata_string(words: &[u16]) -> String {
        words
            .iter()
            .flat_map(|w| w.to_be_bytes())
            .map(char::from)
            .collect()
    }

    #[test]
    fn ports_and_irqs() {
        let p = AtaChannel::new(true);
        assert_eq!(p.ports(), [(0x1F0, 0x1F7), (0x3F6, 0x3F6)]);
        assert_eq!((p.irq(), p.name()), (14, "ata0"));
        let s = AtaChannel::new(false);
        assert_eq!(s.ports(), [(0x170, 0x177), (0x376, 0x376)]);
        assert_eq!((s.irq(), s.name()), (15, "ata1"));
    }

    #[test]
    fn identify_block_fields_and_checksum() {
        let mut rig = Rig::new();
        let w = rig.identify();
        assert_eq!(w[0], 0x0040);
        assert_eq!((w[1], w[3], w[6]), (3, 16, 63));
        assert_eq!((w[54], w[55], w[56]), (3, 16, 63));
        assert_eq!(u32::from(w[57]) | u32::from(w[58]) << 16, SECTORS as u32);
        assert_eq!(w[53] & 1, 1, "words 54-58 valid");
        assert_eq!(w[47], 0x8000 | 16);
        assert_ne!(w[49] & (1 << 9), 0, "LBA");
        assert_ne!(w[49] & (1 << 11), 0, "IORDY");
        assert_eq!(u32::from(w[60]) | u32::from(w[61]) << 16, SECTORS as u32);
        assert_ne!(w[83] & (1 << 10), 0, "48-bit supported");
        assert_ne!(w[86] & (1 << 10), 0, "48-bit enabled");
        assert_eq!(w[83] & 0xC000, 0x4000);
        let lba48 = (0..4).fold(0u64, |acc, i| acc | u64::from(w[100 + i]) << (16 * i));
        assert_eq!(lba48, SECTORS);
        assert_eq!(ata_string(&w[27..47]).trim_end(), MODEL);
        assert_eq!(ata_string(&w[23..27]).trim_end(), FIRMWARE);
        let serial = ata_string(&w[10..20]);
        assert!(
            serial.starts_with("GBP00") && serial.len() == 20,
            "{serial}"
        );
        // Word 27's first character is in its high byte.
        assert_eq!(w[27], u16::from_be_bytes(*b"GL"));
        assert_eq!(w[255] & 0xFF, 0xA5);
        let sum = w
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .fold(0u8, |s, b| s.wrapping_add(b));
        assert_eq!(sum, 0, "checksum makes the block sum to zero");
        assert_eq!(w[59], 0, "no multiple setting yet");
    }

    #[test]
    fn identify_packet_and_unknown_commands_abort() {
        let mut rig = Rig::new();
        for cmd in [CMD_IDENTIFY_PACKET, 0xA0, 0x00, 0xC8, 0xFF] {
            rig.out(REG_STATUS, cmd);
            rig.expect_error(ERROR_ABRT);
        }
    }

    #[test]
    fn read_one_sector_in_chs() {
        let mut rig = Rig::new();
        rig.chs(1, 2, 3, 1);
        rig.out(REG_STATUS, CMD_READ_SECTORS);
        let lba = (16 + 2) * 63 + 2;
        assert_eq!(rig.read_block(1), sector(lba));
        // No interrupt after the last block of a read.
        assert!(!rig.irq14());
        assert_eq!(rig.inp(REG_STATUS), STATUS_DRDY | STATUS_DSC);
        // The task file holds the last sector transferred, count 0.
        assert_eq!(rig.inp(REG_COUNT), 0);
        assert_eq!(
            (
                rig.inp(REG_LBA_LOW),
                rig.inp(REG_LBA_MID),
                rig.inp(REG_LBA_HIGH)
            ),
            (3, 1, 0)
        );
        assert_eq!(rig.inp(REG_DEVICE) & DEVICE_HEAD_MASK, 2);
    }

    #[test]
    fn read_several_sectors_in_chs_crosses_heads() {
        let mut rig = Rig::new();
        rig.chs(0, 0, 62, 3);
        rig.out(REG_STATUS, CMD_READ_SECTORS);
        for lba in 61..64 {
            assert_eq!(rig.read_block(1), sector(lba), "sector {lba}");
        }
        assert!(!rig.irq14());
        assert_eq!((rig.inp(REG_LBA_LOW), rig.inp(REG_DEVICE) & 0xF), (1, 1));
    }

    #[test]
    fn read_lba28_with_an_interrupt_per_sector() {
        let mut rig = Rig::new();
        rig.lba28(1000, 4);
        rig.out(REG_STATUS, CMD_READ_SECTORS);
        for lba in 1000..1004 {
            assert_eq!(rig.read_block(1), sector(lba));
        }
        assert_eq!(rig.inp(REG_STATUS), STATUS_DRDY | STATUS_DSC);
        assert_eq!(rig.inp(REG_LBA_LOW), (1003 & 0xFF) as u8);
        assert_eq!(rig.inp(REG_LBA_MID), (1003 >> 8) as u8);
    }

    #[test]
    fn sector_count_zero_means_256() {
        let mut rig = Rig::new();
        rig.lba28(10, 0);
        rig.out(REG_STATUS, CMD_READ_SECTORS);
        for lba in 10..266 {
            assert_eq!(rig.read_block(1), sector(lba));
        }
        assert_eq!(rig.alt_status() & STATUS_DRQ, 0);
    }

    #[test]
    fn write_then_read_back_in_lba28_and_chs() {
        let mut rig = Rig::new();
        let data: Vec<u8> = (0..2 * SECTOR_SIZE).map(|i| (i * 5 + 1) as u8).collect();
        rig.lba28(500, 2);
        rig.out(REG_STATUS, CMD_WRITE_SECTORS);
        // The first block is asked for without an interrupt.
        assert!(!rig.irq14());
        assert_eq!(rig.alt_status(), STATUS_DRDY | STATUS_DSC | STATUS_DRQ);
        rig.write_block(&data[..512]);
        assert!(rig.irq14(), "interrupt for the second block");
        assert_eq!(rig.inp(REG_STATUS), STATUS_DRDY | STATUS_DSC | STATUS_DRQ);
        rig.write_block(&data[512..]);
        rig.expect_done();
        rig.lba28(499, 4);
        rig.out(REG_STATUS, CMD_READ_SECTORS);
        assert_eq!(rig.read_block(1), sector(499));
        assert_eq!(rig.read_block(1), data[..512]);
        assert_eq!(rig.read_block(1), data[512..]);
        assert_eq!(rig.read_block(1), sector(502));

        // CHS 0/1/1 is LBA 63.
        rig.chs(0, 1, 1, 1);
        rig.out(REG_STATUS, CMD_WRITE_SECTORS_NORETRY);
        rig.write_block(&[0x5A; 512]);
        rig.expect_done();
        rig.lba28(63, 1);
        rig.out(REG_STATUS, CMD_READ_SECTORS_NORETRY);
        assert_eq!(rig.read_block(1), vec![0x5A; 512]);
    }

    #[test]
    fn lba48_reads_writes_and_hob_registers() {
        let mut rig = Rig::new();
        rig.lba48(2000, 2);
        // HOB reads give the previously written bytes.
        assert_eq!(rig.inp(REG_LBA_MID), (2000 >> 8) as u8);
        rig.control(CONTROL_HOB);
        assert_eq!(rig.inp(REG_COUNT), 0);
        assert_eq!(rig.inp(REG_LBA_LOW), 0);
        rig.control(0);
        rig.out(REG_STATUS, CMD_WRITE_SECTORS_EXT);
        rig.write_block(&[1; 512]);
        assert!(rig.irq14());
        rig.inp(REG_STATUS);
        rig.write_block(&[2; 512]);
        rig.expect_done();
        rig.lba48(1999, 4);
        rig.out(REG_STATUS, CMD_READ_SECTORS_EXT);
        assert_eq!(rig.read_block(1), sector(1999));
        assert_eq!(rig.read_block(1), vec![1; 512]);
        assert_eq!(rig.read_block(1), vec![2; 512]);
        assert_eq!(rig.read_block(1), sector(2002));
        assert_eq!(rig.inp(REG_LBA_LOW), (2002 & 0xFF) as u8);
        // A set HOB is cleared by a write to a command block register.
        rig.control(CONTROL_HOB);
        rig.out(REG_FEATURES_FOR_TEST, 0);
        assert_eq!(rig.inp(REG_LBA_LOW), (2002 & 0xFF) as u8);
    }

    const REG_FEATURES_FOR_TEST: u16 = REG_ERROR;

    #[test]
    fn lba48_count_zero_means_65536_and_high_bytes_count() {
        let mut rig = Rig::new();
        // 65536 sectors from 0 run past this small disk.
        rig.lba48(0, 0);
        rig.out(REG_STATUS, CMD_READ_SECTORS_EXT);
        rig.expect_error(ERROR_IDNF);
        // An address with a high byte set is far past the end.
        rig.lba48(1 << 24, 1);
        rig.out(REG_STATUS, CMD_READ_SECTORS_EXT);
        rig.expect_error(ERROR_IDNF);
        // The same low bytes without the high one are fine.
        rig.lba48(5, 1);
        rig.out(REG_STATUS, CMD_READ_SECTORS_EXT);
        assert_eq!(rig.read_block(1), sector(5));
    }

    #[test]
    fn read_and_write_multiple_use_blocks() {
        let mut rig = Rig::new();
        rig.lba28(0, 1);
        rig.out(REG_STATUS, CMD_READ_MULTIPLE);
        rig.expect_error(ERROR_ABRT);
        rig.out(REG_COUNT, 3);
        rig.out(REG_STATUS, CMD_SET_MULTIPLE);
        rig.expect_error(ERROR_ABRT);
        rig.out(REG_COUNT, 4);
        rig.out(REG_STATUS, CMD_SET_MULTIPLE);
        rig.expect_done();
        assert_eq!(rig.identify()[59], 0x0104);
        rig.lba28(100, 10);
        rig.out(REG_STATUS, CMD_READ_MULTIPLE);
        let want: Vec<u8> = (100..110).flat_map(sector).collect();
        let mut got = rig.read_block(4);
        got.extend(rig.read_block(4));
        got.extend(rig.read_block(2));
        assert_eq!(got, want);
        assert_eq!(rig.inp(REG_STATUS), STATUS_DRDY | STATUS_DSC);

        rig.lba28(200, 6);
        rig.out(REG_STATUS, CMD_WRITE_MULTIPLE);
        rig.write_block(&[7; 4 * 512]);
        assert!(rig.irq14());
        rig.inp(REG_STATUS);
        rig.write_block(&[8; 2 * 512]);
        rig.expect_done();
        rig.lba48(200, 6);
        rig.out(REG_STATUS, CMD_READ_MULTIPLE_EXT);
        let mut got = rig.read_block(4);
        got.extend(rig.read_block(2));
        assert!(got[..2048].iter().all(|&b| b == 7) && got[2048..].iter().all(|&b| b == 8));
        rig.lba48(300, 1);
        rig.out(REG_STATUS, CMD_WRITE_MULTIPLE_EXT);
        rig.write_block(&[9; 512]);
        rig.expect_done();
    }

    #[test]
    fn thirty_two_bit_data_accesses() {
        let mut rig = Rig::new();
        rig.lba28(7, 1);
        rig.out(REG_STATUS, CMD_READ_SECTORS);
        rig.inp(REG_STATUS);
        let port = rig.ata.base();
        let mut got = Vec::new();
        for _ in 0..128 {
            let v = rig.io(|a, cx| a.io_read(port, 4, cx));
            got.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(got, sector(7));
        assert_eq!(rig.alt_status() & STATUS_DRQ, 0);
        // No data left: the port floats.
        assert_eq!(rig.read16(), 0xFFFF);
    }

    #[test]
    fn nien_masks_the_line_and_status_reads_acknowledge() {
        let mut rig = Rig::new();
        rig.control(CONTROL_NIEN);
        rig.lba28(1, 1);
        rig.out(REG_STATUS, CMD_READ_SECTORS);
        assert!(!rig.irq14(), "nIEN keeps the line low");
        assert_ne!(rig.alt_status() & STATUS_DRQ, 0);
        // INTRQ is pending in the device: enabling shows it.
        rig.control(0);
        assert!(rig.irq14());
        // Alternate status does not acknowledge; status does.
        rig.alt_status();
        assert!(rig.irq14());
        rig.inp(REG_STATUS);
        assert!(!rig.irq14());
        for _ in 0..256 {
            rig.read16();
        }
        // A command clears a pending interrupt.
        rig.out(REG_STATUS, CMD_RECALIBRATE);
        assert!(rig.irq14());
        rig.out(REG_STATUS, CMD_WRITE_SECTORS);
        assert!(!rig.irq14());
    }

    #[test]
    fn soft_reset_loads_the_signature() {
        let mut rig = Rig::new();
        rig.out(REG_COUNT, 8);
        rig.out(REG_STATUS, CMD_SET_MULTIPLE);
        rig.expect_done();
        rig.lba28(0x0123456, 0x55);
        rig.out(REG_STATUS, CMD_READ_SECTORS);
        rig.control(CONTROL_SRST);
        assert_eq!(rig.alt_status(), STATUS_BSY);
        rig.control(0);
        assert!(!rig.irq14(), "no interrupt after a soft reset");
        assert_eq!(rig.inp(REG_STATUS), STATUS_DRDY | STATUS_DSC);
        assert_eq!(rig.inp(REG_ERROR), DIAG_PASSED);
        assert_eq!(rig.inp(REG_COUNT), 1);
        assert_eq!(rig.inp(REG_LBA_LOW), 1);
        assert_eq!(rig.inp(REG_LBA_MID), 0);
        assert_eq!(rig.inp(REG_LBA_HIGH), 0);
        assert_eq!(rig.inp(REG_DEVICE), 0);
        assert_eq!(rig.read16(), 0xFFFF, "the read was cancelled");
        assert_eq!(rig.identify()[59], 0, "multiple mode back to off");
        // With "keep settings" the multiple count survives.
        rig.out(REG_ERROR, FEATURE_KEEP_SETTINGS);
        rig.out(REG_STATUS, CMD_SET_FEATURES);
        rig.expect_done();
        rig.out(REG_COUNT, 2);
        rig.out(REG_STATUS, CMD_SET_MULTIPLE);
        rig.expect_done();
        rig.control(CONTROL_SRST);
        rig.control(0);
        assert_eq!(rig.identify()[59], 0x0102);
    }

    #[test]
    fn addresses_outside_the_disk_are_idnf() {
        let mut rig = Rig::new();
        rig.lba28(SECTORS as u32, 1);
        rig.out(REG_STATUS, CMD_READ_SECTORS);
        rig.expect_error(ERROR_IDNF);
        rig.lba28(SECTORS as u32 - 1, 2);
        rig.out(REG_STATUS, CMD_WRITE_SECTORS);
        rig.expect_error(ERROR_IDNF);
        assert_eq!(rig.alt_status() & STATUS_DRQ, 0);
        // CHS: sector 0, sector past 63, head past 15, cylinder past 2.
        for (c, h, s) in [(0, 0, 0), (0, 0, 64), (3, 0, 1)] {
            rig.chs(c, h, s, 1);
            rig.out(REG_STATUS, CMD_READ_SECTORS);
            rig.expect_error(ERROR_IDNF);
        }
        rig.lba28(SECTORS as u32, 1);
        rig.out(REG_STATUS, CMD_READ_VERIFY);
        rig.expect_error(ERROR_IDNF);
        rig.lba28(SECTORS as u32 + 5, 1);
        rig.out(REG_STATUS, CMD_SEEK);
        rig.expect_error(ERROR_IDNF);
        // The last sector itself is fine.
        rig.chs(2, 15, 63, 1);
        rig.out(REG_STATUS, CMD_READ_SECTORS);
        assert_eq!(rig.read_block(1), sector(SECTORS - 1));
    }

    #[test]
    fn slave_absent() {
        let mut rig = Rig::new();
        rig.out(REG_DEVICE, 0xA0 | DEVICE_DEV);
        assert_eq!(rig.inp(REG_STATUS), 0);
        assert_eq!(rig.alt_status(), 0);
        rig.out(REG_LBA_MID, 0x12);
        assert_eq!(rig.inp(REG_LBA_MID), 0x12);
        assert_eq!(rig.inp(REG_DEVICE), 0xA0 | DEVICE_DEV);
        rig.out(REG_STATUS, CMD_IDENTIFY);
        assert!(!rig.irq14());
        assert_eq!(rig.inp(REG_STATUS), 0);
        assert_eq!(rig.read16(), 0xFFFF);
        // Device 0 answers again when selected, and saw the LBA write.
        rig.out(REG_DEVICE, 0xA0);
        assert_eq!(rig.inp(REG_STATUS), STATUS_DRDY | STATUS_DSC);
        assert_eq!(rig.inp(REG_LBA_MID), 0x12);
    }

    #[test]
    fn slave_present_answers_for_itself() {
        let mut rig = Rig::new();
        rig.ata.attach(1, disk(2 * 1008, "hdb.img")).unwrap();
        rig.out(REG_DEVICE, 0xA0 | DEVICE_DEV);
        rig.out(REG_STATUS, CMD_IDENTIFY);
        let bytes = rig.read_block(1);
        assert_eq!(u16::from_le_bytes([bytes[2], bytes[3]]), 2, "2 cylinders");
        rig.lba28(5, 1);
        rig.out(REG_DEVICE, 0xE0 | DEVICE_DEV);
        rig.out(REG_STATUS, CMD_READ_SECTORS);
        assert_eq!(rig.read_block(1), sector(5));
        // The master's INTRQ does not reach the line while the slave is selected.
        rig.out(REG_DEVICE, 0xA0);
        rig.out(REG_STATUS, CMD_RECALIBRATE);
        assert!(rig.irq14());
        rig.out(REG_DEVICE, 0xA0 | DEVICE_DEV);
        assert!(!rig.irq14());
        rig.out(REG_DEVICE, 0xA0);
        assert!(rig.irq14());
    }

    #[test]
    fn empty_channel_floats() {
        let mut rig = Rig::with(AtaChannel::new(false));
        for reg in 1..=7 {
            assert_eq!(rig.inp(reg), 0xFF, "register {reg}");
        }
        assert_eq!(rig.alt_status(), 0xFF);
        assert_eq!(rig.read16(), 0xFFFF);
        rig.out(REG_STATUS, CMD_IDENTIFY);
        assert!(!rig.irq.is_high(ATA_SECONDARY_IRQ));
    }

    #[test]
    fn read_only_images_refuse_writes() {
        let mut ata = AtaChannel::new(true);
        ata.attach(0, disk(1008, "ro.img").into_read_only().unwrap())
            .unwrap();
        let mut rig = Rig::with(ata);
        rig.lba28(3, 1);
        rig.out(REG_STATUS, CMD_WRITE_SECTORS);
        rig.expect_error(ERROR_ABRT);
        assert_eq!(rig.alt_status() & STATUS_DRQ, 0);
        rig.write16(0x1234);
        rig.lba28(3, 1);
        rig.out(REG_STATUS, CMD_READ_SECTORS);
        assert_eq!(rig.read_block(1), sector(3));
    }

    #[test]
    fn initialize_device_parameters_changes_the_translation() {
        let mut rig = Rig::new();
        rig.out(REG_COUNT, 17);
        rig.out(REG_DEVICE, 0xA0 | 3); // 4 heads
        rig.out(REG_STATUS, CMD_INITIALIZE_PARAMETERS);
        rig.expect_done();
        let w = rig.identify();
        assert_eq!((w[54], w[55], w[56]), ((SECTORS / 68) as u16, 4, 17));
        assert_eq!((w[1], w[3], w[6]), (3, 16, 63), "defaults unchanged");
        // CHS 2/3/5 is now (2*4+3)*17+4.
        rig.chs(2, 3, 5, 1);
        rig.out(REG_STATUS, CMD_READ_SECTORS);
        assert_eq!(rig.read_block(1), sector((2 * 4 + 3) * 17 + 4));
        rig.chs(0, 0, 18, 1);
        rig.out(REG_STATUS, CMD_READ_SECTORS);
        rig.expect_error(ERROR_IDNF);
        rig.out(REG_COUNT, 0);
        rig.out(REG_STATUS, CMD_INITIALIZE_PARAMETERS);
        rig.expect_error(ERROR_ABRT);
    }

    #[test]
    fn housekeeping_commands() {
        let mut rig = Rig::new();
        for (features, count, ok) in [
            (FEATURE_XFER_MODE, 0x0C, true),
            (FEATURE_XFER_MODE, 0x01, true),
            (FEATURE_XFER_MODE, 0x45, false),
            (FEATURE_WCACHE_ON, 0, true),
            (FEATURE_WCACHE_OFF, 0, true),
            (FEATURE_LOOKAHEAD_ON, 0, true),
            (FEATURE_LOOKAHEAD_OFF, 0, true),
            (FEATURE_REVERT_DEFAULTS, 0, true),
            (0x99, 0, false),
        ] {
            rig.out(REG_ERROR, features);
            rig.out(REG_COUNT, count);
            rig.out(REG_STATUS, CMD_SET_FEATURES);
            if ok {
                rig.expect_done();
            } else {
                rig.expect_error(ERROR_ABRT);
            }
        }
        for cmd in [CMD_FLUSH_CACHE, CMD_FLUSH_CACHE_EXT, 0x10, 0x1F] {
            rig.out(REG_STATUS, cmd);
            rig.expect_done();
        }
        rig.lba28(10, 5);
        rig.out(REG_STATUS, CMD_READ_VERIFY);
        rig.expect_done();
        assert_eq!(rig.inp(REG_LBA_LOW), 14);
        rig.lba48(20, 3);
        rig.out(REG_STATUS, CMD_READ_VERIFY_EXT);
        rig.expect_done();
        rig.lba28(40, 1);
        rig.out(REG_STATUS, CMD_SEEK);
        rig.expect_done();
        rig.out(REG_STATUS, CMD_EXECUTE_DIAGNOSTIC);
        assert!(rig.irq14());
        assert_eq!(rig.inp(REG_STATUS), STATUS_DRDY | STATUS_DSC);
        assert_eq!(rig.inp(REG_ERROR), DIAG_PASSED);
        assert_eq!((rig.inp(REG_COUNT), rig.inp(REG_LBA_LOW)), (1, 1));
    }

    #[test]
    fn flush_reaches_the_file() {
        let file = crate::disk::tests::TempFile::with(&vec![0u8; 1008 * 512]);
        let mut ata = AtaChannel::new(true);
        ata.attach(
            0,
            DiskImage::open(&file.0, crate::disk::DiskMode::ReadWrite).unwrap(),
        )
        .unwrap();
        let mut rig = Rig::with(ata);
        rig.lba28(1, 1);
        rig.out(REG_STATUS, CMD_WRITE_SECTORS);
        rig.write_block(&[0xEE; 512]);
        rig.expect_done();
        rig.ata.flush().unwrap();
        let data = std::fs::read(&file.0).unwrap();
        assert!(data[512..1024].iter().all(|&b| b == 0xEE));
        assert!(rig.ata.attach(2, disk(1008, "x")).is_err());
        assert_eq!(
            rig.ata.detach(0).unwrap().unwrap().name(),
            file.0.display().to_string()
        );
        assert!(!rig.ata.has_disk(0));
    }

    #[test]
    fn snapshot_round_trip_and_inspect() {
        let mut rig = Rig::new();
        rig.lba28(9, 2);
        rig.out(REG_STATUS, CMD_READ_SECTORS);
        rig.inp(REG_STATUS);
        for _ in 0..10 {
            rig.read16();
        }
        let text = serde_json::to_string(&rig.ata.save()).unwrap();
        let mut copy = AtaChannel::new(true);
        copy.attach(0, disk(SECTORS, "hda.img")).unwrap();
        copy.restore(serde_json::from_str(&text).unwrap());
        let mut rig2 = Rig::with(copy);
        let mut rest = Vec::new();
        for _ in 10..256 {
            rest.extend_from_slice(&rig2.read16().to_le_bytes());
        }
        assert_eq!(rest, sector(9)[20..]);
        let mut out = Vec::new();
        rig.ata.inspect(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("hda.img") && text.contains("reading at sector 9"),
            "{text}"
        );
        assert!(text.contains("unit 1: absent"), "{text}");
    }
}
