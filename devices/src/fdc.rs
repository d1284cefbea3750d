//! Intel 82077AA floppy disk controller, in PC/AT mode, with two drives.
//!
//! The controller takes commands as byte strings through its FIFO port, moves
//! sector data between the diskette and memory through ISA DMA channel 2, and
//! raises IRQ 6 when a command (or a seek) completes. Each command runs in up
//! to three phases, shown by the main status register (MSR): a *command* phase
//! in which the CPU writes the opcode and a fixed number of parameter bytes,
//! an *execution* phase in which the controller works (and DMA moves data), and
//! a *result* phase in which the CPU reads a fixed number of status bytes.
//!
//! | port  | read                         | write                        |
//! |-------|------------------------------|------------------------------|
//! | 0x3F0 | SRA: status register A       | —                            |
//! | 0x3F1 | SRB: status register B       | —                            |
//! | 0x3F2 | DOR: digital output register | DOR                          |
//! | 0x3F3 | TDR: tape drive register     | TDR                          |
//! | 0x3F4 | MSR: main status register    | DSR: data rate select        |
//! | 0x3F5 | FIFO (result bytes)          | FIFO (command bytes)         |
//! | 0x3F7 | DIR: digital input register  | CCR: configuration control   |
//!
//! Port 0x3F6 is *not* the controller's: it is the primary ATA channel's
//! device control / alternate status register. All ports are byte-wide.
//! IRQ 6; DMA channel 2.
//!
//! Follows the Intel 82077AA CHMOS single-chip floppy disk controller
//! datasheet (order no. 290166): register bits, the command set with its
//! parameter and result byte counts, the status registers ST0–ST3, the
//! result-phase CHRN rules (the ID of the sector after the last one
//! transferred; with MT the head toggles at EOT of head 0, and the cylinder
//! advances at the end of the last head), and reset polling (after a reset the
//! next four SENSE INTERRUPT STATUS commands answer 0xC0–0xC3).
//!
//! ## Emulated
//!
//! - DOR drive select, motor enables, DMA/IRQ gate (in AT mode IRQ 6 and the
//!   DMA request are driven only while DOR bit 3 is set) and reset; DSR
//!   software reset and data rate; CCR data rate; TDR.
//! - MSR: RQM, DIO, CB and the drive-busy bits of seeking drives.
//! - Commands: READ DATA, READ DELETED DATA (sectors are never deleted, so as
//!   READ DATA), WRITE DATA, WRITE DELETED DATA (as WRITE DATA), READ TRACK,
//!   VERIFY, READ ID, FORMAT TRACK, RECALIBRATE, SEEK (implied seek through
//!   CONFIGURE EIS, and relative seek), SENSE INTERRUPT STATUS, SENSE DRIVE
//!   STATUS, SPECIFY, CONFIGURE, LOCK, DUMPREG, VERSION, PERPENDICULAR MODE
//!   (stored). Anything else is invalid: one result byte, ST0 = 0x80.
//! - Errors: no medium (ST0 NR), sector not found (ST1 ND, ST2 WC on a
//!   cylinder mismatch), no address mark (ST1 MA: FM mode, a data rate the
//!   medium was not recorded at, a track or side the medium does not have),
//!   write protect (ST1 NW), end of cylinder (ST1 EN, when a transfer runs
//!   past EOT without terminal count), DMA overrun/underrun (ST1 OR, when the
//!   DMA channel moves nothing before terminal count).
//! - The drives: the disk-change line (DIR bit 7: set at power-on and on
//!   insertion, cleared when the head steps with a disk present, as the real
//!   drive does), write protect, track 0, two-sided media; the sector under
//!   the head for READ ID follows the disk's rotation (300 rpm) in virtual
//!   time. Drives 2 and 3 are not connected; a drive exists once it has a
//!   type ([`Fdc::insert`] or [`Fdc::set_drive_type`]).
//! - The drive-select outputs are qualified by the motor-enable bits: DIR's
//!   disk-change bit shows the selected drive only while its motor is on.
//!   DIR bits 6–0 are not driven in AT mode; they read 0 here.
//!
//! ## Time
//!
//! A command's execution and a seek complete [`Fdc::delay`] cycles (200 µs)
//! after the byte that started them, through [`EventKind::Fdc`]: the guest's
//! OUT returns first and IRQ 6 comes later. Data moves at completion.
//!
//! ## Not emulated
//!
//! Non-DMA (programmed I/O) transfers: SPECIFY's ND bit is stored and shown by
//! DUMPREG, but transfers still use DMA (logged once). The SCAN commands
//! (invalid here). Sector sizes other than 512 bytes (N = 2), non-standard
//! formats (a FORMAT TRACK whose IDs do not match the image's layout fills only
//! the sectors it can map), head settle and step timing, motor spin-up, the
//! FIFO threshold, precompensation, power-down, PS/2 and Model 30 register
//! modes (SRA and SRB read as in PS/2 mode).

use crate::bus::{Device, IoCx, ResetKind};
use crate::disk::{DiskError, DiskImage, FloppyGeometry, SECTOR_SIZE};
use crate::once::Once;
use crate::time::{Cycles, EventKind};
use serde::{Deserialize, Serialize};
use std::io::Write;

/// IRQ line of the controller.
pub const FDC_IRQ: u8 = 6;
/// ISA DMA channel of the controller.
pub const FDC_DMA_CHANNEL: u8 = 2;
/// Drives the controller has (two connected, of four addressable).
pub const FDC_DRIVES: usize = 2;

/// Status register A (read, PS/2 layout).
pub const FDC_SRA: u16 = 0x3F0;
/// Status register B (read, PS/2 layout).
pub const FDC_SRB: u16 = 0x3F1;
/// Digital output register.
pub const FDC_DOR: u16 = 0x3F2;
/// Tape drive register.
pub const FDC_TDR: u16 = 0x3F3;
/// Main status register (read) / data rate select register (write).
pub const FDC_MSR: u16 = 0x3F4;
/// Data rate select register (write), same port as the MSR.
pub const FDC_DSR: u16 = 0x3F4;
/// Data FIFO: command bytes in, result bytes out.
pub const FDC_FIFO: u16 = 0x3F5;
/// Digital input register (read) / configuration control register (write).
pub const FDC_DIR: u16 = 0x3F7;
/// Configuration control register (write), same port as the DIR.
pub const FDC_CCR: u16 = 0x3F7;
/// The port ranges the controller claims (0x3F6 belongs to the ATA channel).
pub const FDC_PORTS: [(u16, u16); 2] = [(FDC_SRA, FDC_FIFO), (FDC_DIR, FDC_DIR)];

/// DOR bits 1–0: drive select.
pub const DOR_DRIVE_MASK: u8 = 0x03;
/// DOR bit 2 (nRESET): 0 holds the controller in reset.
pub const DOR_NRESET: u8 = 0x04;
/// DOR bit 3 (DMA GATE): enables the IRQ and DMA request outputs (AT mode).
pub const DOR_DMA_GATE: u8 = 0x08;
/// DOR bit 4: motor enable of drive 0 (drive `n` is bit `4 + n`).
pub const DOR_MOTOR0: u8 = 0x10;

/// MSR bit 7 (RQM): the FIFO is ready for a byte transfer.
pub const MSR_RQM: u8 = 0x80;
/// MSR bit 6 (DIO): the next transfer is controller → CPU.
pub const MSR_DIO: u8 = 0x40;
/// MSR bit 5 (NON DMA): execution phase in non-DMA mode.
pub const MSR_NDMA: u8 = 0x20;
/// MSR bit 4 (CMD BSY): a command is in progress.
pub const MSR_CB: u8 = 0x10;
/// MSR bits 3–0: drive `n` is seeking (bit `n`).
pub const MSR_DRIVE_BUSY_MASK: u8 = 0x0F;

/// DSR bit 7: software reset (self-clearing).
pub const DSR_SW_RESET: u8 = 0x80;
/// DSR bit 6: power down.
pub const DSR_POWER_DOWN: u8 = 0x40;
/// DSR bits 4–2: write precompensation delay.
pub const DSR_PRECOMP_MASK: u8 = 0x1C;
/// DSR/CCR bits 1–0: data rate select.
pub const DRATE_MASK: u8 = 0x03;
/// Data rate select 0: 500 kbit/s (high density).
pub const DRATE_500K: u8 = 0;
/// Data rate select 1: 300 kbit/s (double density in a 1.2M drive).
pub const DRATE_300K: u8 = 1;
/// Data rate select 2: 250 kbit/s (double density).
pub const DRATE_250K: u8 = 2;
/// Data rate select 3: 1 Mbit/s (extra density).
pub const DRATE_1M: u8 = 3;

/// DIR bit 7: disk change line of the selected drive.
pub const DIR_DSKCHG: u8 = 0x80;

/// SRA bit 7: interrupt pending.
pub const SRA_INT_PENDING: u8 = 0x80;
/// SRA bit 6: nDRV2, low when a second drive is installed.
pub const SRA_NDRV2: u8 = 0x40;
/// SRA bit 4: nTRK0, low when the selected drive is on track 0.
pub const SRA_NTRK0: u8 = 0x10;
/// SRA bit 1: write protect of the selected drive.
pub const SRA_WP: u8 = 0x02;
/// SRB bits 7–6: always 1.
pub const SRB_ONES: u8 = 0xC0;
/// SRB bit 5: drive select bit 0.
pub const SRB_DRIVE_SEL0: u8 = 0x20;
/// SRB bit 1: motor enable of drive 1.
pub const SRB_MOT1: u8 = 0x02;
/// SRB bit 0: motor enable of drive 0.
pub const SRB_MOT0: u8 = 0x01;

/// Command byte bit 7 (MT): multi-track.
pub const CMD_MT: u8 = 0x80;
/// Command byte bit 6 (MFM): double density (0 = FM).
pub const CMD_MFM: u8 = 0x40;
/// Command byte bit 5 (SK): skip deleted-data sectors.
pub const CMD_SK: u8 = 0x20;
/// Command byte bits 4–0: the command.
pub const CMD_MASK: u8 = 0x1F;
/// READ TRACK (9 bytes in, 7 out).
pub const CMD_READ_TRACK: u8 = 0x02;
/// SPECIFY (3 bytes in, none out).
pub const CMD_SPECIFY: u8 = 0x03;
/// SENSE DRIVE STATUS (2 in, ST3 out).
pub const CMD_SENSE_DRIVE_STATUS: u8 = 0x04;
/// WRITE DATA (9 in, 7 out).
pub const CMD_WRITE_DATA: u8 = 0x05;
/// READ DATA (9 in, 7 out).
pub const CMD_READ_DATA: u8 = 0x06;
/// RECALIBRATE (2 in, none out; completion by interrupt).
pub const CMD_RECALIBRATE: u8 = 0x07;
/// SENSE INTERRUPT STATUS (1 in, ST0 and PCN out).
pub const CMD_SENSE_INTERRUPT: u8 = 0x08;
/// WRITE DELETED DATA (9 in, 7 out).
pub const CMD_WRITE_DELETED: u8 = 0x09;
/// READ ID (2 in, 7 out).
pub const CMD_READ_ID: u8 = 0x0A;
/// READ DELETED DATA (9 in, 7 out).
pub const CMD_READ_DELETED: u8 = 0x0C;
/// FORMAT TRACK (6 in, 7 out).
pub const CMD_FORMAT_TRACK: u8 = 0x0D;
/// DUMPREG (1 in, 10 out).
pub const CMD_DUMPREG: u8 = 0x0E;
/// SEEK (3 in, none out; completion by interrupt). With bit 7 set, a
/// relative seek whose bit 6 gives the direction.
pub const CMD_SEEK: u8 = 0x0F;
/// VERSION (1 in, 1 out: 0x90).
pub const CMD_VERSION: u8 = 0x10;
/// PERPENDICULAR MODE (2 in, none out).
pub const CMD_PERPENDICULAR: u8 = 0x12;
/// CONFIGURE (4 in, none out).
pub const CMD_CONFIGURE: u8 = 0x13;
/// LOCK (1 in, 1 out); bit 7 of the byte is the new LOCK value.
pub const CMD_LOCK: u8 = 0x14;
/// VERIFY (9 in, 7 out).
pub const CMD_VERIFY: u8 = 0x16;
/// Relative seek bit 6 (DIR): 1 steps in (towards higher cylinders).
pub const SEEK_RELATIVE_IN: u8 = 0x40;
/// VERSION's answer: an enhanced controller (82077AA).
pub const VERSION_82077: u8 = 0x90;

/// ST0 bits 7–6 (IC): interrupt code.
pub const ST0_IC_MASK: u8 = 0xC0;
/// IC 00: normal termination.
pub const ST0_NORMAL: u8 = 0x00;
/// IC 01: abnormal termination.
pub const ST0_ABNORMAL: u8 = 0x40;
/// IC 10: invalid command (also SENSE INTERRUPT STATUS with nothing pending).
pub const ST0_INVALID: u8 = 0x80;
/// IC 11: abnormal termination by polling (after reset).
pub const ST0_POLLING: u8 = 0xC0;
/// ST0 bit 5 (SE): seek end (SEEK, RECALIBRATE, implied seek).
pub const ST0_SE: u8 = 0x20;
/// ST0 bit 4 (EC): equipment check (track 0 not found by RECALIBRATE).
pub const ST0_EC: u8 = 0x10;
/// ST0 bit 3 (NR): drive not ready (here: no medium).
pub const ST0_NR: u8 = 0x08;
/// ST0 bit 2 (HD): head.
pub const ST0_HD: u8 = 0x04;
/// ST1 bit 7 (EN): end of cylinder (access past EOT).
pub const ST1_EN: u8 = 0x80;
/// ST1 bit 5 (DE): data error (CRC).
pub const ST1_DE: u8 = 0x20;
/// ST1 bit 4 (OR): overrun/underrun (DMA not serviced).
pub const ST1_OR: u8 = 0x10;
/// ST1 bit 2 (ND): no data (sector not found).
pub const ST1_ND: u8 = 0x04;
/// ST1 bit 1 (NW): not writable (write protect).
pub const ST1_NW: u8 = 0x02;
/// ST1 bit 0 (MA): missing address mark.
pub const ST1_MA: u8 = 0x01;
/// ST2 bit 6 (CM): control mark (deleted data met).
pub const ST2_CM: u8 = 0x40;
/// ST2 bit 5 (DD): data error in the data field.
pub const ST2_DD: u8 = 0x20;
/// ST2 bit 4 (WC): wrong cylinder.
pub const ST2_WC: u8 = 0x10;
/// ST2 bit 1 (BC): bad cylinder (ID cylinder 0xFF).
pub const ST2_BC: u8 = 0x02;
/// ST3 bit 6 (WP): write protected.
pub const ST3_WP: u8 = 0x40;
/// ST3 bit 5 (RDY): ready (always 1 on the 82077AA).
pub const ST3_RDY: u8 = 0x20;
/// ST3 bit 4 (T0): head on track 0.
pub const ST3_T0: u8 = 0x10;
/// ST3 bit 3 (TS): two-sided drive/medium.
pub const ST3_TS: u8 = 0x08;
/// ST3 bit 2 (HD): head selected.
pub const ST3_HD: u8 = 0x04;

/// The sector size code of 512-byte sectors.
pub const SECTOR_SIZE_CODE: u8 = 2;
/// Revolutions per second of the diskette (300 rpm).
pub const REVOLUTIONS_PER_SECOND: u64 = 5;

/// Step pulses RECALIBRATE issues before giving up.
const RECALIBRATE_STEPS: u8 = 79;

const WARN_BAD_WRITE: u32 = 0;
const WARN_BAD_READ: u32 = 1;
const WARN_NON_DMA: u32 = 2;
const WARN_FORMAT_LAYOUT: u32 = 3;
const WARN_INVALID: u32 = 4;
const WARN_IO: u32 = 5;

/// Where the command state machine is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Phase {
    /// Held in reset by DOR bit 2 (MSR reads 0).
    Reset,
    /// Waiting for a command byte.
    Idle,
    /// Collecting parameter bytes.
    Command,
    /// Working; completes at `exec_at`.
    Execution,
    /// Result bytes to read.
    Result,
}

/// A seek or recalibrate in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Seek {
    /// The cylinder to end on (`None`: recalibrate).
    target: Option<u8>,
    /// The head given with the command (ST0 HD).
    head: u8,
    /// When it completes.
    at: Cycles,
}

/// One drive's state as the controller sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct DriveState {
    /// Present cylinder number (where the head is).
    pcn: u8,
    /// The drive's disk change line.
    disk_changed: bool,
    /// CMOS drive type; 0 = no drive.
    cmos_type: u8,
    /// Seek in progress.
    seek: Option<Seek>,
    /// A completed seek's ST0, until SENSE INTERRUPT STATUS reads it.
    seek_end: Option<u8>,
}

/// The controller's register state (everything but the media), for
/// snapshots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdcState {
    dor: u8,
    tdr: u8,
    dsr: u8,
    drate: u8,
    phase: Phase,
    cmd: Vec<u8>,
    cmd_len: usize,
    result: Vec<u8>,
    result_pos: usize,
    /// When the command in its execution phase completes.
    exec_at: Option<Cycles>,
    /// When the interrupt that follows leaving reset comes.
    reset_at: Option<Cycles>,
    /// The INT output (driven onto IRQ 6 while DOR's DMA gate is set).
    int: bool,
    drives: [DriveState; 4],
    /// SPECIFY byte 1: SRT (bits 7–4), HUT (bits 3–0).
    srt_hut: u8,
    /// SPECIFY byte 2: HLT (bits 7–1), ND (bit 0).
    hlt_nd: u8,
    /// CONFIGURE byte 2: EIS, EFIFO, POLL, FIFOTHR.
    config: u8,
    /// CONFIGURE byte 3: precompensation start track.
    pretrk: u8,
    lock: bool,
    /// PERPENDICULAR MODE: drive bits D3–D0 (bits 5–2), GAP, WGATE.
    perpendicular: u8,
    /// EOT of the last data command (DUMPREG byte 7).
    last_eot: u8,
    last_now: Cycles,
}

/// CONFIGURE bit 6 (EIS): implied seek before read/write/verify.
pub const CONFIG_EIS: u8 = 0x40;
/// CONFIGURE bit 5 (EFIFO): 1 disables the FIFO.
pub const CONFIG_EFIFO: u8 = 0x20;
/// CONFIGURE bit 4 (POLL): 1 disables drive polling.
pub const CONFIG_POLL: u8 = 0x10;
/// CONFIGURE bits 3–0: FIFO threshold.
pub const CONFIG_FIFOTHR_MASK: u8 = 0x0F;

impl FdcState {
    fn power_on() -> Self {
        FdcState {
            dor: 0,
            tdr: 0,
            dsr: DRATE_250K,
            drate: DRATE_250K,
            phase: Phase::Reset,
            cmd: Vec::new(),
            cmd_len: 0,
            result: Vec::new(),
            result_pos: 0,
            exec_at: None,
            reset_at: None,
            int: false,
            drives: [DriveState::default(); 4],
            srt_hut: 0,
            hlt_nd: 0,
            config: CONFIG_EFIFO,
            pretrk: 0,
            lock: false,
            perpendicular: 0,
            last_eot: 0,
            last_now: Cycles::ZERO,
        }
    }
}

/// A diskette in a drive.
#[derive(Debug)]
struct Media {
    disk: DiskImage,
    geometry: FloppyGeometry,
}

/// What a decoded command byte is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    ReadData,
    ReadTrack,
    Verify,
    WriteData,
    ReadId,
    Format,
    Recalibrate,
    Seek,
    SenseInterrupt,
    SenseDrive,
    Specify,
    Configure,
    Lock,
    Dumpreg,
    Version,
    Perpendicular,
    Invalid,
}

/// The command a first byte starts, and the total bytes of its command
/// phase.
fn decode(byte: u8) -> (Op, usize) {
    let flags = byte & !CMD_MASK;
    let allowed = |mask: u8| flags & !mask == 0;
    match byte & CMD_MASK {
        CMD_READ_DATA | CMD_READ_DELETED => (Op::ReadData, 9),
        CMD_VERIFY => (Op::Verify, 9),
        CMD_WRITE_DATA | CMD_WRITE_DELETED if allowed(CMD_MT | CMD_MFM) => (Op::WriteData, 9),
        CMD_READ_TRACK if allowed(CMD_MFM) => (Op::ReadTrack, 9),
        CMD_READ_ID if allowed(CMD_MFM) => (Op::ReadId, 2),
        CMD_FORMAT_TRACK if allowed(CMD_MFM) => (Op::Format, 6),
        CMD_SEEK if byte == CMD_SEEK || byte & 0xBF == 0x8F => (Op::Seek, 3),
        CMD_LOCK if allowed(0x80) => (Op::Lock, 1),
        _ => match byte {
            CMD_SPECIFY => (Op::Specify, 3),
            CMD_SENSE_DRIVE_STATUS => (Op::SenseDrive, 2),
            CMD_RECALIBRATE => (Op::Recalibrate, 2),
            CMD_SENSE_INTERRUPT => (Op::SenseInterrupt, 1),
            CMD_DUMPREG => (Op::Dumpreg, 1),
            CMD_VERSION => (Op::Version, 1),
            CMD_PERPENDICULAR => (Op::Perpendicular, 2),
            CMD_CONFIGURE => (Op::Configure, 4),
            _ => (Op::Invalid, 1),
        },
    }
}

/// A sector ID: cylinder, head, record (sector number), size code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Chrn {
    c: u8,
    h: u8,
    r: u8,
    n: u8,
}

/// How a data command ended.
struct Outcome {
    st0: u8,
    st1: u8,
    st2: u8,
    id: Chrn,
}

/// The 82077AA floppy disk controller with its two drives.
#[derive(Debug)]
pub struct Fdc {
    st: FdcState,
    media: [Option<Media>; FDC_DRIVES],
    cycles_per_second: u64,
    once: Once,
}

impl Fdc {
    /// A controller whose CPU runs at `cycles_per_second` (for the command
    /// delay and the disk's rotation), in its power-on state: held in reset
    /// (DOR = 0), no drives.
    pub fn new(cycles_per_second: u64) -> Self {
        Fdc {
            st: FdcState::power_on(),
            media: [None, None],
            cycles_per_second: cycles_per_second.max(1),
            once: Once::default(),
        }
    }

    /// The port ranges to claim: 0x3F0–0x3F5 and 0x3F7.
    pub fn ports(&self) -> [(u16, u16); 2] {
        FDC_PORTS
    }

    /// Cycles from a command's last byte (or a seek, or leaving reset) to its
    /// completion: 200 µs.
    pub fn delay(&self) -> Cycles {
        Cycles((self.cycles_per_second / 5000).max(1))
    }

    /// Puts `disk` into drive `drive` (0 or 1). Its size decides the geometry;
    /// the drive takes the medium's CMOS type if it had none. The disk-change
    /// line goes active. A disk already in the drive is ejected (and flushed).
    pub fn insert(&mut self, drive: usize, disk: DiskImage) -> Result<(), DiskError> {
        if drive >= FDC_DRIVES {
            return Err(DiskError::NoSuchDrive {
                name: disk.name().to_owned(),
                drive,
                max: FDC_DRIVES - 1,
            });
        }
        let Some(geometry) = FloppyGeometry::for_size(disk.len()) else {
            return Err(DiskError::FloppySize {
                name: disk.name().to_owned(),
                size: disk.len(),
            });
        };
        self.eject(drive)?;
        let d = &mut self.st.drives[drive];
        if d.cmos_type == 0 {
            d.cmos_type = geometry.cmos_type();
        }
        d.disk_changed = true;
        self.media[drive] = Some(Media { disk, geometry });
        Ok(())
    }

    /// Takes the disk out of `drive` (flushing it) and hands it back. The
    /// disk-change line goes active.
    pub fn eject(&mut self, drive: usize) -> Result<Option<DiskImage>, DiskError> {
        let Some(slot) = self.media.get_mut(drive) else {
            return Ok(None);
        };
        let Some(mut media) = slot.take() else {
            return Ok(None);
        };
        self.st.drives[drive].disk_changed = true;
        media.disk.flush()?;
        Ok(Some(media.disk))
    }

    /// Flushes the writes to every inserted disk.
    pub fn flush(&mut self) -> Result<(), DiskError> {
        for media in self.media.iter_mut().flatten() {
            media.disk.flush()?;
        }
        Ok(())
    }

    /// The CMOS drive type of `drive` (register 0x10: 1 = 360K, 2 = 1.2M,
    /// 3 = 720K, 4 = 1.44M, 5 = 2.88M; 0 = no drive).
    pub fn drive_type(&self, drive: usize) -> u8 {
        self.st.drives.get(drive).map_or(0, |d| d.cmos_type)
    }

    /// Declares drive `drive` (0 or 1) of CMOS type `cmos_type` even without a
    /// disk (0 removes the drive). Other drive numbers are ignored.
    pub fn set_drive_type(&mut self, drive: usize, cmos_type: u8) {
        if drive < FDC_DRIVES {
            self.st.drives[drive].cmos_type = cmos_type;
        }
    }

    /// Whether a disk is in `drive`.
    pub fn has_disk(&self, drive: usize) -> bool {
        self.media.get(drive).is_some_and(|m| m.is_some())
    }

    /// The register state, for snapshots.
    pub fn save(&self) -> FdcState {
        self.st.clone()
    }

    /// Restores register state saved by [`Fdc::save`]; the media stay.
    pub fn restore(&mut self, state: FdcState) {
        self.st = state;
    }

    /// The INT output as it reaches IRQ 6 (gated by DOR's DMA gate).
    pub fn irq_level(&self) -> bool {
        self.st.int && self.st.dor & DOR_DMA_GATE != 0
    }

    /// The main status register.
    pub fn msr(&self) -> u8 {
        let busy = self
            .st
            .drives
            .iter()
            .enumerate()
            .filter(|(_, d)| d.seek.is_some())
            .fold(0u8, |m, (i, _)| m | (1 << i));
        let phase = match self.st.phase {
            Phase::Reset => return 0,
            Phase::Idle => MSR_RQM,
            Phase::Command => MSR_RQM | MSR_CB,
            Phase::Execution => MSR_CB,
            Phase::Result => MSR_RQM | MSR_DIO | MSR_CB,
        };
        phase | busy
    }

    fn drive_exists(&self, drive: usize) -> bool {
        self.st.drives[drive].cmos_type != 0 || self.has_disk(drive)
    }

    /// The drive whose select line is active (DOR select qualified by its
    /// motor enable).
    fn selected_drive(&self) -> Option<usize> {
        let d = usize::from(self.st.dor & DOR_DRIVE_MASK);
        (self.st.dor & (DOR_MOTOR0 << d) != 0).then_some(d)
    }

    fn data_rate_kbps(&self) -> u32 {
        match self.st.drate & DRATE_MASK {
            DRATE_500K => 500,
            DRATE_300K => 300,
            DRATE_250K => 250,
            _ => 1000,
        }
    }

    fn update_irq(&self, cx: &mut IoCx) {
        cx.irq.set(FDC_IRQ, self.irq_level());
    }

    fn schedule(&self, cx: &mut IoCx) {
        let next = self
            .st
            .drives
            .iter()
            .filter_map(|d| d.seek.map(|s| s.at))
            .chain(self.st.exec_at)
            .chain(self.st.reset_at)
            .min();
        match next {
            Some(at) => cx.sched.schedule(EventKind::Fdc, at),
            None => cx.sched.cancel(EventKind::Fdc),
        }
    }

    /// The controller's part of a reset (DOR, DSR or hardware): the command
    /// in progress, seeks and interrupts are dropped. SPECIFY's values, the
    /// data rate and the cylinders stay; CONFIGURE's FIFO values and the
    /// precompensation track stay only while LOCK is set.
    fn soft_reset(&mut self) {
        let st = &mut self.st;
        st.cmd.clear();
        st.result.clear();
        st.result_pos = 0;
        st.exec_at = None;
        st.reset_at = None;
        st.int = false;
        for d in &mut st.drives {
            d.seek = None;
            d.seek_end = None;
        }
        if !st.lock {
            st.config = CONFIG_EFIFO;
            st.pretrk = 0;
        } else {
            st.config &= CONFIG_EFIFO | CONFIG_FIFOTHR_MASK;
        }
        // GAP and WGATE clear; the per-drive perpendicular bits stay.
        st.perpendicular &= 0x3C;
    }

    /// Leaves reset: the controller is idle at once and raises its polling
    /// interrupt a moment later.
    fn leave_reset(&mut self, now: Cycles) {
        self.st.phase = Phase::Idle;
        self.st.reset_at = Some(now + self.delay());
    }

    fn write_dor(&mut self, value: u8, now: Cycles) {
        let was_reset = self.st.dor & DOR_NRESET == 0;
        self.st.dor = value;
        let in_reset = value & DOR_NRESET == 0;
        if in_reset && !was_reset {
            self.soft_reset();
            self.st.phase = Phase::Reset;
        } else if !in_reset && was_reset {
            self.soft_reset();
            self.leave_reset(now);
        }
    }

    fn write_dsr(&mut self, value: u8, now: Cycles) {
        self.st.dsr = value & !DSR_SW_RESET;
        self.st.drate = value & DRATE_MASK;
        if value & DSR_SW_RESET != 0 && self.st.phase != Phase::Reset {
            self.soft_reset();
            self.leave_reset(now);
        }
    }

    fn read_fifo(&mut self) -> u8 {
        if self.st.phase != Phase::Result {
            if self.once.first(WARN_BAD_READ) {
                log::warn!("fdc: FIFO read outside the result phase");
            }
            return 0;
        }
        let byte = self.st.result.get(self.st.result_pos).copied().unwrap_or(0);
        if self.st.result_pos == 0 {
            // Reading the result clears the interrupt; unread seek ends keep it.
            self.st.int = self.seek_end_pending();
        }
        self.st.result_pos += 1;
        if self.st.result_pos >= self.st.result.len() {
            self.st.phase = Phase::Idle;
            self.st.result.clear();
            self.st.result_pos = 0;
        }
        byte
    }

    fn write_fifo(&mut self, byte: u8, cx: &mut IoCx) {
        match self.st.phase {
            Phase::Idle => {
                let (_, len) = decode(byte);
                self.st.cmd.clear();
                self.st.cmd.push(byte);
                self.st.cmd_len = len;
                self.st.phase = Phase::Command;
            }
            Phase::Command => self.st.cmd.push(byte),
            _ => {
                if self.once.first(WARN_BAD_WRITE) {
                    log::warn!(
                        "fdc: FIFO write of {byte:#04x} in the {:?} phase ignored",
                        self.st.phase
                    );
                }
                return;
            }
        }
        if self.st.cmd.len() >= self.st.cmd_len {
            self.start_command(cx.now);
        }
    }

    fn finish(&mut self, result: Vec<u8>, interrupt: bool) {
        if result.is_empty() {
            self.st.phase = Phase::Idle;
        } else {
            self.st.phase = Phase::Result;
            self.st.result = result;
            self.st.result_pos = 0;
        }
        if interrupt {
            self.st.int = true;
        }
    }

    /// All command bytes are in: run what needs no execution phase, start
    /// the rest.
    fn start_command(&mut self, now: Cycles) {
        let cmd = self.st.cmd.clone();
        let (op, _) = decode(cmd[0]);
        let ds = usize::from(cmd.get(1).copied().unwrap_or(0) & 3);
        match op {
            Op::Specify => {
                self.st.srt_hut = cmd[1];
                self.st.hlt_nd = cmd[2];
                if cmd[2] & 1 != 0 && self.once.first(WARN_NON_DMA) {
                    log::warn!("fdc: non-DMA mode is not emulated; transfers still use DMA");
                }
                self.finish(Vec::new(), false);
            }
            Op::SenseDrive => {
                let st3 = self.st3(ds, (cmd[1] >> 2) & 1);
                self.finish(vec![st3], false);
            }
            Op::Version => self.finish(vec![VERSION_82077], false),
            Op::Configure => {
                self.st.config = cmd[2] & 0x7F;
                self.st.pretrk = cmd[3];
                self.finish(Vec::new(), false);
            }
            Op::Lock => {
                self.st.lock = cmd[0] & 0x80 != 0;
                self.finish(vec![u8::from(self.st.lock) << 4], false);
            }
            Op::Perpendicular => {
                if cmd[1] & 0x80 != 0 {
                    self.st.perpendicular = cmd[1] & 0x3F;
                } else {
                    self.st.perpendicular = (self.st.perpendicular & 0x3C) | (cmd[1] & 3);
                }
                self.finish(Vec::new(), false);
            }
            Op::Dumpreg => {
                let s = &self.st;
                let result = vec![
                    s.drives[0].pcn,
                    s.drives[1].pcn,
                    s.drives[2].pcn,
                    s.drives[3].pcn,
                    s.srt_hut,
                    s.hlt_nd,
                    s.last_eot,
                    (u8::from(s.lock) << 7) | s.perpendicular,
                    s.config,
                    s.pretrk,
                ];
                self.finish(result, false);
            }
            Op::SenseInterrupt => self.sense_interrupt(),
            Op::Invalid => {
                if self.once.first(WARN_INVALID) {
                    log::warn!("fdc: invalid command {:#04x}", cmd[0]);
                }
                self.finish(vec![ST0_INVALID], false);
            }
            Op::Recalibrate | Op::Seek => {
                let head = (cmd[1] >> 2) & 1;
                let target = match op {
                    Op::Recalibrate => None,
                    _ if cmd[0] & 0x80 != 0 => {
                        let pcn = self.st.drives[ds].pcn;
                        Some(if cmd[0] & SEEK_RELATIVE_IN != 0 {
                            pcn.saturating_add(cmd[2])
                        } else {
                            pcn.saturating_sub(cmd[2])
                        })
                    }
                    _ => Some(cmd[2]),
                };
                let head = if op == Op::Recalibrate { 0 } else { head };
                self.st.drives[ds].seek = Some(Seek {
                    target,
                    head,
                    at: now + self.delay(),
                });
                self.st.drives[ds].seek_end = None;
                self.finish(Vec::new(), false);
            }
            Op::ReadData | Op::ReadTrack | Op::Verify | Op::WriteData | Op::ReadId | Op::Format => {
                self.st.phase = Phase::Execution;
                self.st.exec_at = Some(now + self.delay());
            }
        }
    }

    /// Each drive keeps one pending interrupt status (reset polling, or a seek's end, which
    /// replaces it); the lowest-numbered drive with one answers first. So a BIOS that reads
    /// only drive 0's polling status after a reset and then recalibrates drive 0 gets the
    /// recalibrate's status next, as on the chip.
    fn sense_interrupt(&mut self) {
        let result = if let Some(i) = self.st.drives.iter().position(|d| d.seek_end.is_some()) {
            let d = &mut self.st.drives[i];
            vec![d.seek_end.take().unwrap_or(0), d.pcn]
        } else {
            vec![ST0_INVALID]
        };
        self.st.int = self.seek_end_pending();
        self.finish(result, false);
    }

    /// An unread seek or recalibrate status keeps INT up; reset polling statuses do not
    /// (each SENSE INTERRUPT STATUS after a reset drops INT, so the next interrupt is a new
    /// edge even when the software reads only one of the four).
    fn seek_end_pending(&self) -> bool {
        self.st.drives.iter().any(|d| {
            d.seek_end
                .is_some_and(|st0| st0 & ST0_IC_MASK != ST0_POLLING)
        })
    }

    fn st3(&self, drive: usize, head: u8) -> u8 {
        let mut st3 = ST3_RDY | (head << 2) | drive as u8;
        if drive < FDC_DRIVES && self.drive_exists(drive) {
            let media = self.media[drive].as_ref();
            if media.is_none_or(|m| !m.disk.is_writable()) {
                st3 |= ST3_WP;
            }
            if self.st.drives[drive].pcn == 0 {
                st3 |= ST3_T0;
            }
            if media.is_none_or(|m| m.geometry.heads == 2) {
                st3 |= ST3_TS;
            }
        }
        st3
    }

    /// A seek or recalibrate of `drive` has reached its time.
    fn complete_seek(&mut self, drive: usize, seek: Seek) {
        let exists = drive < FDC_DRIVES && self.drive_exists(drive);
        let has_disk = drive < FDC_DRIVES && self.has_disk(drive);
        let d = &mut self.st.drives[drive];
        let base = ST0_SE | (seek.head << 2) | drive as u8;
        let (st0, stepped) = match seek.target {
            None if !exists => {
                d.pcn = d.pcn.saturating_sub(RECALIBRATE_STEPS);
                (base | ST0_ABNORMAL | ST0_EC, true)
            }
            None => {
                let stepped = d.pcn != 0;
                d.pcn = 0;
                (base, stepped)
            }
            Some(t) => {
                let stepped = d.pcn != t;
                d.pcn = t;
                (base, stepped)
            }
        };
        if stepped && has_disk {
            d.disk_changed = false;
        }
        d.seek_end = Some(st0);
        self.st.int = true;
    }

    /// The data rate and recording mode fit the medium.
    fn can_read_marks(&self, media: &Media, mfm: bool) -> bool {
        mfm && media
            .geometry
            .data_rates_kbps()
            .contains(&self.data_rate_kbps())
    }

    /// The sector passing under the head at `now` (1-based).
    fn sector_under_head(&self, now: Cycles, spt: u8) -> u8 {
        let passed = u128::from(now.0) * u128::from(REVOLUTIONS_PER_SECOND) * u128::from(spt)
            / u128::from(self.cycles_per_second);
        (passed % u128::from(spt.max(1))) as u8 + 1
    }

    fn execute(&mut self, cx: &mut IoCx) {
        let cmd = self.st.cmd.clone();
        let (op, _) = decode(cmd[0]);
        let result = match op {
            Op::ReadId => self.read_id(&cmd, cx.now),
            Op::Format => self.format(&cmd, cx),
            _ => self.transfer(op, &cmd, cx),
        };
        let r = [
            result.st0,
            result.st1,
            result.st2,
            result.id.c,
            result.id.h,
            result.id.r,
            result.id.n,
        ];
        self.finish(r.to_vec(), true);
    }

    /// Checks common to every command that touches the medium: a disk is in
    /// the drive and the head's track can be read. `Err` is the outcome.
    fn track_check(&self, ds: usize, hd: u8, mfm: bool, id: Chrn) -> Result<(), Outcome> {
        let Some(media) = self.media.get(ds).and_then(|m| m.as_ref()) else {
            return Err(no_medium(ds, hd, id));
        };
        let pcn = self.st.drives[ds].pcn;
        if !self.can_read_marks(media, mfm)
            || pcn >= media.geometry.cylinders
            || hd >= media.geometry.heads
        {
            return Err(Outcome {
                st0: ST0_ABNORMAL | (hd << 2) | ds as u8,
                st1: ST1_MA,
                st2: 0,
                id,
            });
        }
        Ok(())
    }

    fn read_id(&mut self, cmd: &[u8], now: Cycles) -> Outcome {
        let ds = usize::from(cmd[1] & 3);
        let hd = (cmd[1] >> 2) & 1;
        let pcn = self.st.drives[ds].pcn;
        let mut id = Chrn {
            c: pcn,
            h: hd,
            r: 1,
            n: SECTOR_SIZE_CODE,
        };
        if let Err(out) = self.track_check(ds, hd, cmd[0] & CMD_MFM != 0, id) {
            return out;
        }
        if let Some(media) = &self.media[ds] {
            id.r = self.sector_under_head(now, media.geometry.sectors);
        }
        Outcome {
            st0: ST0_NORMAL | (hd << 2) | ds as u8,
            st1: 0,
            st2: 0,
            id,
        }
    }

    /// READ DATA, READ DELETED DATA, READ TRACK, VERIFY and WRITE DATA.
    fn transfer(&mut self, op: Op, cmd: &[u8], cx: &mut IoCx) -> Outcome {
        let ds = usize::from(cmd[1] & 3);
        let mut hd = (cmd[1] >> 2) & 1;
        let mut id = Chrn {
            c: cmd[2],
            h: cmd[3],
            r: cmd[4],
            n: cmd[5],
        };
        let eot = cmd[6];
        let mt = cmd[0] & CMD_MT != 0 && op != Op::ReadTrack;
        // VERIFY with EC (byte 1 bit 7) counts DTL sectors instead of stopping at EOT.
        let mut verify_count = (op == Op::Verify && cmd[1] & 0x80 != 0).then_some(cmd[8]);
        let write = op == Op::WriteData;
        self.st.last_eot = eot;

        // Implied seek (CONFIGURE EIS): the head first steps to C; ST0 then has SE.
        let mut seek_end = 0;
        if self.st.config & CONFIG_EIS != 0 {
            seek_end = ST0_SE;
            let has_disk = self.has_disk(ds);
            let d = &mut self.st.drives[ds];
            if d.pcn != id.c && has_disk {
                d.disk_changed = false;
            }
            d.pcn = id.c;
        }
        if let Err(out) = self.track_check(ds, hd, cmd[0] & CMD_MFM != 0, id) {
            return out;
        }
        let pcn = self.st.drives[ds].pcn;
        let gate = self.st.dor & DOR_DMA_GATE != 0;
        let Some(media) = self.media.get_mut(ds).and_then(|m| m.as_mut()) else {
            return no_medium(ds, hd, id);
        };
        let geometry = media.geometry;
        let status = |hd: u8, ic: u8| ic | seek_end | (hd << 2) | ds as u8;
        if write && !media.disk.is_writable() {
            return Outcome {
                st0: status(hd, ST0_ABNORMAL),
                st1: ST1_NW,
                st2: 0,
                id,
            };
        }
        // READ TRACK reads sectors in the order they pass the head, from the
        // index hole, and only notes IDs that differ from the one asked for.
        let mut physical = 1u8;
        let mut st1 = 0u8;
        let mut buf = [0u8; SECTOR_SIZE];
        loop {
            let sector = if op == Op::ReadTrack { physical } else { id.r };
            let found = if op == Op::ReadTrack {
                if id
                    != (Chrn {
                        c: pcn,
                        h: hd,
                        r: physical,
                        n: SECTOR_SIZE_CODE,
                    })
                {
                    st1 |= ST1_ND;
                }
                sector <= geometry.sectors
            } else {
                id.c == pcn
                    && id.h == hd
                    && id.n == SECTOR_SIZE_CODE
                    && (1..=geometry.sectors).contains(&id.r)
            };
            let offset = geometry.offset(pcn, hd, sector).filter(|_| found);
            let Some(offset) = offset else {
                let st2 = if id.c == pcn {
                    0
                } else if id.c == 0xFF {
                    ST2_WC | ST2_BC
                } else {
                    ST2_WC
                };
                return Outcome {
                    st0: status(hd, ST0_ABNORMAL),
                    st1: st1 | ST1_ND,
                    st2,
                    id,
                };
            };
            let mut tc = false;
            match op {
                Op::WriteData => {
                    let moved = if gate {
                        cx.dma.read_memory(FDC_DMA_CHANNEL, &mut buf)
                    } else {
                        Default::default()
                    };
                    if moved.bytes < SECTOR_SIZE && !moved.terminal_count {
                        return overrun(status(hd, ST0_ABNORMAL), id);
                    }
                    // After terminal count mid-sector the chip pads with zeros.
                    buf[moved.bytes.min(SECTOR_SIZE)..].fill(0);
                    tc = moved.terminal_count;
                    if let Err(e) = media.disk.write_at(offset, &buf) {
                        if self.once.first(WARN_IO) {
                            log::error!("fdc: {e}");
                        }
                        return Outcome {
                            st0: status(hd, ST0_ABNORMAL),
                            st1: ST1_NW,
                            st2: 0,
                            id,
                        };
                    }
                }
                Op::Verify => {
                    if let Some(n) = verify_count.as_mut() {
                        *n = n.saturating_sub(1);
                        tc = *n == 0;
                    }
                }
                _ => {
                    if let Err(e) = media.disk.read_at(offset, &mut buf) {
                        if self.once.first(WARN_IO) {
                            log::error!("fdc: {e}");
                        }
                        return Outcome {
                            st0: status(hd, ST0_ABNORMAL),
                            st1: ST1_DE,
                            st2: ST2_DD,
                            id,
                        };
                    }
                    let moved = if gate {
                        cx.dma.write_memory(FDC_DMA_CHANNEL, &buf)
                    } else {
                        Default::default()
                    };
                    if moved.bytes < SECTOR_SIZE && !moved.terminal_count {
                        return overrun(status(hd, ST0_ABNORMAL), id);
                    }
                    tc = moved.terminal_count;
                }
            }
            let last_head = hd;
            if sector == eot || (op == Op::ReadTrack && physical >= eot) {
                // End of the track: on to head 1 with MT, else the cylinder ends.
                id.r = 1;
                if mt && hd == 0 {
                    hd = 1;
                    id.h ^= 1;
                    if !tc {
                        continue;
                    }
                } else {
                    id.c = id.c.wrapping_add(1);
                    if mt {
                        id.h ^= 1;
                    }
                    let verify_done = op == Op::Verify && verify_count.is_none();
                    let ic = if tc || verify_done {
                        ST0_NORMAL
                    } else {
                        st1 |= ST1_EN;
                        ST0_ABNORMAL
                    };
                    return Outcome {
                        st0: status(last_head, ic),
                        st1,
                        st2: 0,
                        id,
                    };
                }
            } else {
                id.r = id.r.wrapping_add(1);
                physical += 1;
            }
            if tc {
                return Outcome {
                    st0: status(last_head, if st1 != 0 { ST0_ABNORMAL } else { ST0_NORMAL }),
                    st1,
                    st2: 0,
                    id,
                };
            }
        }
    }

    fn format(&mut self, cmd: &[u8], cx: &mut IoCx) -> Outcome {
        let ds = usize::from(cmd[1] & 3);
        let hd = (cmd[1] >> 2) & 1;
        let (n, count, filler) = (cmd[2], cmd[3], cmd[5]);
        let pcn = self.st.drives[ds].pcn;
        let mut id = Chrn {
            c: pcn,
            h: hd,
            r: 1,
            n,
        };
        if let Err(out) = self.track_check(ds, hd, cmd[0] & CMD_MFM != 0, id) {
            return out;
        }
        let st0 = |ic: u8| ic | (hd << 2) | ds as u8;
        let gate = self.st.dor & DOR_DMA_GATE != 0;
        let Some(media) = self.media.get_mut(ds).and_then(|m| m.as_mut()) else {
            return no_medium(ds, hd, id);
        };
        if !media.disk.is_writable() {
            return Outcome {
                st0: st0(ST0_ABNORMAL),
                st1: ST1_NW,
                st2: 0,
                id,
            };
        }
        let fill = [filler; SECTOR_SIZE];
        for _ in 0..count {
            let mut chrn = [0u8; 4];
            let moved = if gate {
                cx.dma.read_memory(FDC_DMA_CHANNEL, &mut chrn)
            } else {
                Default::default()
            };
            if moved.bytes < chrn.len() && !moved.terminal_count {
                return overrun(st0(ST0_ABNORMAL), id);
            }
            id = Chrn {
                c: chrn[0],
                h: chrn[1],
                r: chrn[2],
                n: chrn[3],
            };
            let offset = (id.c == pcn && id.h == hd && id.n == SECTOR_SIZE_CODE && n == id.n)
                .then(|| media.geometry.offset(pcn, hd, id.r))
                .flatten();
            match offset {
                Some(offset) => {
                    if let Err(e) = media.disk.write_at(offset, &fill) {
                        if self.once.first(WARN_IO) {
                            log::error!("fdc: {e}");
                        }
                        return Outcome {
                            st0: st0(ST0_ABNORMAL),
                            st1: ST1_NW,
                            st2: 0,
                            id,
                        };
                    }
                }
                None => {
                    if self.once.first(WARN_FORMAT_LAYOUT) {
                        log::warn!(
                            "fdc: FORMAT TRACK ID {:?} (N {n}) does not fit the raw image of \
                             drive {ds}; sector not stored",
                            id
                        );
                    }
                }
            }
            if moved.terminal_count {
                break;
            }
        }
        Outcome {
            st0: st0(ST0_NORMAL),
            st1: 0,
            st2: 0,
            id,
        }
    }

    fn on_due(&mut self, cx: &mut IoCx) {
        let now = cx.now;
        if self.st.reset_at.is_some_and(|at| at <= now) {
            self.st.reset_at = None;
            // Polling found every drive's ready line changed (a reset always
            // turns polling on): each drive owes SENSE INTERRUPT STATUS a 0xC0 | drive.
            for (i, d) in self.st.drives.iter_mut().enumerate() {
                d.seek_end = Some(ST0_POLLING | i as u8);
            }
            self.st.int = true;
        }
        for i in 0..self.st.drives.len() {
            if let Some(seek) = self.st.drives[i].seek.filter(|s| s.at <= now) {
                self.st.drives[i].seek = None;
                self.complete_seek(i, seek);
            }
        }
        if self.st.exec_at.is_some_and(|at| at <= now) {
            self.st.exec_at = None;
            if self.st.phase == Phase::Execution {
                self.execute(cx);
            }
        }
    }
}

/// The outcome when DMA did not keep up (nothing moved before terminal count).
fn overrun(st0: u8, id: Chrn) -> Outcome {
    Outcome {
        st0,
        st1: ST1_OR,
        st2: 0,
        id,
    }
}

/// The outcome of a command on an empty drive.
fn no_medium(ds: usize, hd: u8, id: Chrn) -> Outcome {
    Outcome {
        st0: ST0_ABNORMAL | ST0_NR | (hd << 2) | ds as u8,
        st1: 0,
        st2: 0,
        id,
    }
}

impl Device for Fdc {
    fn name(&self) -> &'static str {
        "fdc"
    }

    fn io_read(&mut self, port: u16, _size: u8, cx: &mut IoCx) -> u32 {
        self.st.last_now = self.st.last_now.max(cx.now);
        let value = match port {
            FDC_SRA => {
                let sel = usize::from(self.st.dor & DOR_DRIVE_MASK);
                let mut v = 0u8;
                if self.irq_level() {
                    v |= SRA_INT_PENDING;
                }
                if !(FDC_DRIVES > 1 && self.drive_exists(1)) {
                    v |= SRA_NDRV2;
                }
                if sel >= FDC_DRIVES || self.st.drives[sel].pcn != 0 {
                    v |= SRA_NTRK0;
                }
                if sel < FDC_DRIVES
                    && self.media[sel]
                        .as_ref()
                        .is_none_or(|m| !m.disk.is_writable())
                {
                    v |= SRA_WP;
                }
                v
            }
            FDC_SRB => {
                let dor = self.st.dor;
                let mut v = SRB_ONES;
                if dor & 1 != 0 {
                    v |= SRB_DRIVE_SEL0;
                }
                if dor & DOR_MOTOR0 != 0 {
                    v |= SRB_MOT0;
                }
                if dor & (DOR_MOTOR0 << 1) != 0 {
                    v |= SRB_MOT1;
                }
                v
            }
            FDC_DOR => self.st.dor,
            FDC_TDR => self.st.tdr & 3,
            FDC_MSR => self.msr(),
            FDC_FIFO => {
                let b = self.read_fifo();
                self.update_irq(cx);
                b
            }
            FDC_DIR => match self.selected_drive() {
                Some(d) if d < FDC_DRIVES && self.st.drives[d].disk_changed => DIR_DSKCHG,
                _ => 0,
            },
            _ => 0xFF,
        };
        u32::from(value)
    }

    fn io_write(&mut self, port: u16, _size: u8, value: u32, cx: &mut IoCx) {
        self.st.last_now = self.st.last_now.max(cx.now);
        let byte = value as u8;
        match port {
            FDC_DOR => self.write_dor(byte, cx.now),
            FDC_TDR => self.st.tdr = byte & 3,
            FDC_DSR => self.write_dsr(byte, cx.now),
            FDC_FIFO if self.st.phase != Phase::Reset => self.write_fifo(byte, cx),
            FDC_CCR => self.st.drate = byte & DRATE_MASK,
            _ => {}
        }
        self.update_irq(cx);
        self.schedule(cx);
    }

    fn reset(&mut self, kind: ResetKind) {
        let drives = self.st.drives;
        self.st = FdcState::power_on();
        for (i, d) in self.st.drives.iter_mut().enumerate() {
            d.cmos_type = drives[i].cmos_type;
            d.pcn = if kind == ResetKind::PowerOn {
                0
            } else {
                drives[i].pcn
            };
            d.disk_changed = drives[i].disk_changed
                || (kind == ResetKind::PowerOn && i < FDC_DRIVES && self.media[i].is_some());
        }
    }

    fn on_event(&mut self, event: EventKind, cx: &mut IoCx) {
        if event != EventKind::Fdc {
            return;
        }
        self.st.last_now = self.st.last_now.max(cx.now);
        self.on_due(cx);
        self.update_irq(cx);
        self.schedule(cx);
    }

    fn inspect(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let s = &self.st;
        writeln!(
            out,
            "fdc: 82077AA, {:?} phase, MSR {:#04x}, DOR {:#04x}, {} kbit/s, INT {} (IRQ {} {})",
            s.phase,
            self.msr(),
            s.dor,
            self.data_rate_kbps(),
            u8::from(s.int),
            FDC_IRQ,
            if self.irq_level() { "high" } else { "low" },
        )?;
        if !s.cmd.is_empty() && s.phase != Phase::Idle {
            writeln!(out, "  command bytes {:02x?}", s.cmd)?;
        }
        if s.phase == Phase::Result {
            writeln!(out, "  result {:02x?}, read {}", s.result, s.result_pos)?;
        }
        writeln!(
            out,
            "  specify {:#04x} {:#04x}, configure {:#04x} pretrk {}, lock {}",
            s.srt_hut,
            s.hlt_nd,
            s.config,
            s.pretrk,
            u8::from(s.lock),
        )?;
        for (i, d) in s.drives.iter().enumerate().take(FDC_DRIVES) {
            let media = match &self.media[i] {
                Some(m) => format!(
                    "{} ({}/{}/{}{})",
                    m.disk.name(),
                    m.geometry.cylinders,
                    m.geometry.heads,
                    m.geometry.sectors,
                    if m.disk.is_writable() {
                        ""
                    } else {
                        ", write-protected"
                    }
                ),
                None => "empty".to_owned(),
            };
            writeln!(
                out,
                "  drive {i}: type {}, cylinder {}, disk change {}, {}{}, {media}",
                d.cmos_type,
                d.pcn,
                u8::from(d.disk_changed),
                if d.seek.is_some() { "seeking" } else { "idle" },
                d.seek_end
                    .map_or(String::new(), |st0| format!(", seek end ST0 {st0:#04x}")),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::{DmaChannelIo, DmaTransfer, Signals};
    use crate::irq::IrqLines;
    use crate::time::Scheduler;

    const CPS: u64 = 1_000_000;
    const SIZE_144: usize = 1_474_560;

    /// A DMA channel 2 over a flat buffer: `count` bytes may move before
    /// terminal count.
    #[derive(Default)]
    struct FakeDma {
        mem: Vec<u8>,
        addr: usize,
        count: usize,
    }

    impl FakeDma {
        fn program(&mut self, data: Vec<u8>, count: usize) {
            self.mem = data;
            self.addr = 0;
            self.count = count;
        }
    }

    impl DmaChannelIo for FakeDma {
        fn write_memory(&mut self, channel: u8, data: &[u8]) -> DmaTransfer {
            assert_eq!(channel, FDC_DMA_CHANNEL);
            let n = data.len().min(self.count);
            if self.mem.len() < self.addr + n {
                self.mem.resize(self.addr + n, 0);
            }
            self.mem[self.addr..self.addr + n].copy_from_slice(&data[..n]);
            self.addr += n;
            self.count -= n;
            DmaTransfer {
                bytes: n,
                terminal_count: n > 0 && self.count == 0,
            }
        }
        fn read_memory(&mut self, channel: u8, buf: &mut [u8]) -> DmaTransfer {
            assert_eq!(channel, FDC_DMA_CHANNEL);
            let n = buf.len().min(self.count);
            buf[..n].copy_from_slice(&self.mem[self.addr..self.addr + n]);
            self.addr += n;
            self.count -= n;
            DmaTransfer {
                bytes: n,
                terminal_count: n > 0 && self.count == 0,
            }
        }
    }

    struct Rig {
        fdc: Fdc,
        sched: Scheduler,
        irq: IrqLines,
        signals: Signals,
        dma: FakeDma,
        now: Cycles,
    }

    /// Byte `i` of sector `lba` of the test images.
    fn pattern_byte(lba: usize, i: usize) -> u8 {
        (lba as u8).wrapping_mul(7) ^ (i as u8) ^ ((lba >> 8) as u8)
    }

    fn image(size: usize) -> Vec<u8> {
        (0..size).map(|i| pattern_byte(i / 512, i % 512)).collect()
    }

    fn sector(lba: usize) -> Vec<u8> {
        (0..512).map(|i| pattern_byte(lba, i)).collect()
    }

    /// LBA of a 1.44M sector.
    fn lba(c: usize, h: usize, r: usize) -> usize {
        (c * 2 + h) * 18 + r - 1
    }

    impl Rig {
        /// A controller out of reset with the DMA gate and motor 0 on, reset
        /// polling consumed, 500 kbit/s, and a 1.44M disk in drive 0.
        fn new() -> Self {
            let mut rig = Rig::bare();
            rig.fdc
                .insert(0, DiskImage::from_bytes(image(SIZE_144), "a.img").unwrap())
                .unwrap();
            rig.out(FDC_DOR, DOR_NRESET | DOR_DMA_GATE | DOR_MOTOR0);
            rig.run();
            for _ in 0..4 {
                rig.command(&[CMD_SENSE_INTERRUPT]);
                rig.result(2);
            }
            rig.out(FDC_CCR, DRATE_500K);
            rig
        }

        fn bare() -> Self {
            Rig {
                fdc: Fdc::new(CPS),
                sched: Scheduler::new(),
                irq: IrqLines::new(),
                signals: Signals::default(),
                dma: FakeDma::default(),
                now: Cycles(1000),
            }
        }

        fn cx(&mut self) -> IoCx<'_> {
            IoCx {
                now: self.now,
                sched: &mut self.sched,
                irq: &mut self.irq,
                signals: &mut self.signals,
                dma: &mut self.dma,
            }
        }

        fn out(&mut self, port: u16, value: u8) {
            let mut fdc = std::mem::replace(&mut self.fdc, Fdc::new(CPS));
            fdc.io_write(port, 1, u32::from(value), &mut self.cx());
            self.fdc = fdc;
        }

        fn inp(&mut self, port: u16) -> u8 {
            let mut fdc = std::mem::replace(&mut self.fdc, Fdc::new(CPS));
            let v = fdc.io_read(port, 1, &mut self.cx()) as u8;
            self.fdc = fdc;
            v
        }

        fn irq6(&self) -> bool {
            self.irq.is_high(FDC_IRQ)
        }

        /// Writes a command, checking RQM/DIO before every byte.
        fn command(&mut self, bytes: &[u8]) {
            for &b in bytes {
                let msr = self.inp(FDC_MSR);
                assert_eq!(
                    msr & (MSR_RQM | MSR_DIO),
                    MSR_RQM,
                    "MSR {msr:#x} before {b:#x}"
                );
                self.out(FDC_FIFO, b);
            }
        }

        /// Reads `n` result bytes, checking the MSR before each and that the
        /// controller is idle after.
        fn result(&mut self, n: usize) -> Vec<u8> {
            let mut out = Vec::new();
            for _ in 0..n {
                let msr = self.inp(FDC_MSR);
                assert_eq!(msr & 0xF0, MSR_RQM | MSR_DIO | MSR_CB, "MSR {msr:#x}");
                out.push(self.inp(FDC_FIFO));
            }
            assert_eq!(self.inp(FDC_MSR) & 0xF0, MSR_RQM, "idle after the result");
            out
        }

        /// Runs every scheduled event.
        fn run(&mut self) {
            while let Some(at) = self.sched.deadline(EventKind::Fdc) {
                self.now = self.now.max(at);
                let kind = self.sched.pop_due(self.now).unwrap();
                let mut fdc = std::mem::replace(&mut self.fdc, Fdc::new(CPS));
                fdc.on_event(kind, &mut self.cx());
                self.fdc = fdc;
            }
        }

        fn sense(&mut self) -> Vec<u8> {
            self.command(&[CMD_SENSE_INTERRUPT]);
            let st0 = self.inp(FDC_FIFO);
            if st0 == ST0_INVALID {
                return vec![st0];
            }
            vec![st0, self.inp(FDC_FIFO)]
        }

        fn seek(&mut self, drive: u8, head: u8, cyl: u8) {
            self.command(&[CMD_SEEK, (head << 2) | drive, cyl]);
            self.run();
            assert!(self.irq6());
            assert_eq!(self.sense(), vec![ST0_SE | (head << 2) | drive, cyl]);
        }

        /// Runs a data command to its result (seven bytes), checking that the
        /// interrupt came only after the delay.
        fn data_command(&mut self, bytes: &[u8]) -> Vec<u8> {
            self.command(bytes);
            assert_eq!(self.inp(FDC_MSR) & 0xF0, MSR_CB, "execution phase");
            assert!(!self.irq6(), "IRQ 6 before the delay");
            assert_eq!(
                self.sched.deadline(EventKind::Fdc),
                Some(self.now + self.fdc.delay())
            );
            self.run();
            assert!(self.irq6(), "IRQ 6 at completion");
            let r = self.result(7);
            assert!(!self.irq6(), "reading the result clears IRQ 6");
            r
        }

        fn read(&mut self, mt: bool, c: u8, h: u8, r: u8, eot: u8) -> Vec<u8> {
            let op = CMD_MFM | CMD_READ_DATA | if mt { CMD_MT } else { 0 };
            self.data_command(&[op, h << 2, c, h, r, 2, eot, 0x1B, 0xFF])
        }
    }

    #[test]
    fn power_on_holds_reset_until_dor_releases_it() {
        let mut rig = Rig::bare();
        assert_eq!(rig.inp(FDC_MSR), 0, "MSR reads 0 in reset");
        rig.out(FDC_FIFO, CMD_VERSION);
        rig.out(FDC_DOR, DOR_NRESET | DOR_DMA_GATE);
        assert_eq!(rig.inp(FDC_MSR), MSR_RQM, "FIFO write during reset ignored");
        assert!(!rig.irq6());
        rig.run();
        assert!(rig.irq6(), "leaving reset interrupts");
        assert_ne!(rig.inp(FDC_SRA) & SRA_INT_PENDING, 0);
        for drive in 0..4u8 {
            assert_eq!(rig.sense(), vec![ST0_POLLING | drive, 0]);
            assert!(!rig.irq6());
        }
        assert_eq!(rig.sense(), vec![ST0_INVALID]);
    }

    #[test]
    fn a_recalibrate_after_one_polling_sense_reports_its_own_status() {
        // What PC BIOSes do: leave reset, read drive 0's polling status only, recalibrate
        // drive 0 and wait for IRQ 6.
        let mut rig = Rig::bare();
        rig.fdc
            .insert(0, DiskImage::from_bytes(image(SIZE_144), "a.img").unwrap())
            .unwrap();
        rig.out(FDC_DOR, DOR_NRESET | DOR_DMA_GATE | DOR_MOTOR0);
        rig.run();
        assert!(rig.irq6());
        assert_eq!(rig.sense(), vec![ST0_POLLING, 0]);
        assert!(!rig.irq6(), "INT drops: the next interrupt is a new edge");
        rig.command(&[CMD_RECALIBRATE, 0]);
        rig.run();
        assert!(rig.irq6(), "the recalibrate interrupts");
        assert_eq!(
            rig.sense(),
            vec![ST0_SE, 0],
            "drive 0's seek end comes first"
        );
        assert_eq!(
            rig.sense(),
            vec![ST0_POLLING | 1, 0],
            "then the other drives' polls"
        );
    }

    #[test]
    fn dor_reset_keeps_cylinders_and_irq_waits_for_the_gate() {
        let mut rig = Rig::new();
        rig.seek(0, 0, 7);
        rig.out(FDC_DOR, 0);
        assert_eq!(rig.inp(FDC_MSR), 0);
        rig.out(FDC_DOR, DOR_NRESET);
        rig.run();
        assert!(!rig.irq6(), "no IRQ while the DMA gate is off");
        rig.out(FDC_DOR, DOR_NRESET | DOR_DMA_GATE);
        assert!(rig.irq6());
        assert_eq!(rig.sense(), vec![0xC0, 7]);
        assert_eq!(rig.sense(), vec![0xC1, 0]);
        assert_eq!(rig.sense(), vec![0xC2, 0]);
        assert_eq!(rig.sense(), vec![0xC3, 0]);
    }

    #[test]
    fn dsr_software_reset_interrupts_and_clears_itself() {
        let mut rig = Rig::new();
        rig.command(&[CMD_SPECIFY]);
        rig.out(FDC_DSR, DSR_SW_RESET | DRATE_500K);
        assert_eq!(rig.inp(FDC_MSR), MSR_RQM, "half-written command dropped");
        rig.run();
        assert!(rig.irq6());
        assert_eq!(rig.sense(), vec![0xC0, 0]);
    }

    #[test]
    fn commands_take_exactly_their_parameter_bytes() {
        // (bytes in, bytes out) per the datasheet's command table.
        let table: [(&[u8], usize); 8] = [
            (&[CMD_SPECIFY, 0xAF, 0x02], 0),
            (&[CMD_SENSE_DRIVE_STATUS, 0], 1),
            (&[CMD_VERSION], 1),
            (&[CMD_CONFIGURE, 0, 0x57, 0], 0),
            (&[CMD_LOCK], 1),
            (&[CMD_DUMPREG], 10),
            (&[CMD_PERPENDICULAR, 0], 0),
            (&[0x18], 1),
        ];
        let mut rig = Rig::new();
        for (bytes, out) in table {
            for (i, &b) in bytes.iter().enumerate() {
                assert_eq!(rig.inp(FDC_MSR) & 0xF0, if i == 0 { 0x80 } else { 0x90 });
                rig.out(FDC_FIFO, b);
            }
            assert_eq!(rig.result(out).len(), out, "{bytes:02x?}");
        }
        // Data commands: nine bytes, then the execution phase.
        rig.command(&[0xE6, 0, 0, 0, 1, 2, 18, 0x1B]);
        assert_eq!(rig.inp(FDC_MSR) & 0xF0, 0x90);
        rig.dma.program(Vec::new(), 512);
        rig.out(FDC_FIFO, 0xFF);
        assert_eq!(rig.inp(FDC_MSR) & 0xF0, MSR_CB);
    }

    #[test]
    fn specify_configure_lock_and_dumpreg() {
        let mut rig = Rig::new();
        rig.command(&[CMD_SPECIFY, 0xDF, 0x02]);
        rig.command(&[CMD_CONFIGURE, 0, CONFIG_EIS | 0x0A, 5]);
        rig.command(&[CMD_PERPENDICULAR, 0x80 | (1 << 2) | 3]);
        rig.command(&[CMD_LOCK | 0x80]);
        assert_eq!(rig.result(1), vec![0x10]);
        rig.seek(0, 0, 3);
        rig.command(&[CMD_DUMPREG]);
        assert_eq!(
            rig.result(10),
            vec![
                3,
                0,
                0,
                0,
                0xDF,
                0x02,
                0,
                0x80 | (1 << 2) | 3,
                CONFIG_EIS | 0x0A,
                5
            ]
        );
        // A reset keeps SPECIFY and, under LOCK, FIFO threshold and PRETRK;
        // EIS and GAP/WGATE are cleared.
        rig.out(FDC_DSR, DSR_SW_RESET);
        rig.run();
        rig.command(&[CMD_DUMPREG]);
        let r = rig.result(10);
        assert_eq!(&r[4..], &[0xDF, 0x02, 0, 0x80 | (1 << 2), 0x0A, 5]);
        rig.command(&[CMD_LOCK]);
        assert_eq!(rig.result(1), vec![0]);
        rig.out(FDC_DSR, DSR_SW_RESET);
        rig.command(&[CMD_DUMPREG]);
        let r = rig.result(10);
        assert_eq!(
            &r[8..],
            &[CONFIG_EFIFO, 0],
            "unlocked reset restores defaults"
        );
    }

    #[test]
    fn version_and_invalid_commands() {
        let mut rig = Rig::new();
        rig.command(&[CMD_VERSION]);
        assert_eq!(rig.result(1), vec![0x90]);
        for bad in [0x00, 0x01, 0x18, 0x1F, 0x11, 0x2A, 0xC5 | CMD_SK, 0x83] {
            rig.command(&[bad]);
            assert_eq!(rig.result(1), vec![ST0_INVALID], "{bad:#x}");
            assert!(!rig.irq6(), "invalid commands do not interrupt");
        }
        // Nothing pending: SENSE INTERRUPT STATUS is invalid too.
        rig.command(&[CMD_SENSE_INTERRUPT]);
        assert_eq!(rig.result(1), vec![ST0_INVALID]);
    }

    #[test]
    fn seek_recalibrate_and_sense_interrupt() {
        let mut rig = Rig::new();
        rig.command(&[CMD_SPECIFY, 0xAF, 0x02]);
        rig.command(&[CMD_SEEK, 0x04, 40]);
        // The controller is free during the seek; the drive is busy.
        assert_eq!(rig.inp(FDC_MSR), MSR_RQM | 0x01);
        assert!(!rig.irq6());
        rig.run();
        assert_eq!(rig.inp(FDC_MSR), MSR_RQM);
        assert!(rig.irq6());
        assert_eq!(rig.sense(), vec![ST0_SE | ST0_HD, 40]);
        assert!(!rig.irq6());
        assert_eq!(rig.sense(), vec![ST0_INVALID]);
        // Relative seeks step out and in from there.
        rig.command(&[CMD_SEEK | 0x80, 0, 10]);
        rig.run();
        assert_eq!(rig.sense(), vec![ST0_SE, 30]);
        rig.command(&[CMD_SEEK | 0x80 | SEEK_RELATIVE_IN, 0, 5]);
        rig.run();
        assert_eq!(rig.sense(), vec![ST0_SE, 35]);
        rig.command(&[CMD_RECALIBRATE, 0]);
        rig.run();
        assert_eq!(rig.sense(), vec![ST0_SE, 0]);
        // Drive 1 is not connected: no track 0 signal, equipment check.
        rig.command(&[CMD_RECALIBRATE, 1]);
        rig.run();
        assert_eq!(rig.sense(), vec![ST0_ABNORMAL | ST0_SE | ST0_EC | 1, 0]);
    }

    #[test]
    fn seeks_on_two_drives_report_in_turn() {
        let mut rig = Rig::new();
        rig.fdc.set_drive_type(1, 4);
        rig.command(&[CMD_SEEK, 0, 5]);
        rig.command(&[CMD_SEEK, 1, 9]);
        assert_eq!(rig.inp(FDC_MSR), MSR_RQM | 0x03);
        rig.run();
        assert_eq!(rig.sense(), vec![ST0_SE, 5]);
        assert!(rig.irq6(), "the second seek end is still owed");
        assert_eq!(rig.sense(), vec![ST0_SE | 1, 9]);
        assert!(!rig.irq6());
    }

    #[test]
    fn sense_drive_status_reports_st3() {
        let mut rig = Rig::new();
        rig.command(&[CMD_SENSE_DRIVE_STATUS, 0x04]);
        assert_eq!(rig.result(1), vec![ST3_RDY | ST3_T0 | ST3_TS | ST3_HD]);
        rig.seek(0, 0, 2);
        rig.command(&[CMD_SENSE_DRIVE_STATUS, 0]);
        assert_eq!(rig.result(1), vec![ST3_RDY | ST3_TS]);
        // A write-protected single-sided 160K disk in drive 1.
        let disk = DiskImage::from_bytes(vec![0; 163_840], "b.img")
            .unwrap()
            .into_read_only()
            .unwrap();
        rig.fdc.insert(1, disk).unwrap();
        rig.command(&[CMD_SENSE_DRIVE_STATUS, 1]);
        assert_eq!(rig.result(1), vec![ST3_WP | ST3_RDY | ST3_T0 | 1]);
        // Drive 3 is not connected.
        rig.command(&[CMD_SENSE_DRIVE_STATUS, 3]);
        assert_eq!(rig.result(1), vec![ST3_RDY | 3]);
    }

    #[test]
    fn read_one_sector() {
        let mut rig = Rig::new();
        rig.seek(0, 0, 5);
        rig.dma.program(Vec::new(), 512);
        let r = rig.read(false, 5, 1, 7, 18);
        assert_eq!(r, vec![ST0_HD, 0, 0, 5, 1, 8, 2]);
        assert_eq!(rig.dma.mem, sector(lba(5, 1, 7)));
    }

    #[test]
    fn read_several_sectors_across_heads_with_mt() {
        let mut rig = Rig::new();
        rig.seek(0, 0, 2);
        rig.dma.program(Vec::new(), 4 * 512);
        let r = rig.read(true, 2, 0, 17, 18);
        // Terminal count after (2,1,2): the next sector is (2,1,3).
        assert_eq!(r, vec![ST0_HD, 0, 0, 2, 1, 3, 2]);
        let want: Vec<u8> = [lba(2, 0, 17), lba(2, 0, 18), lba(2, 1, 1), lba(2, 1, 2)]
            .into_iter()
            .flat_map(sector)
            .collect();
        assert_eq!(rig.dma.mem, want);
    }

    #[test]
    fn result_chrn_at_the_end_of_a_track() {
        let mut rig = Rig::new();
        rig.seek(0, 0, 3);
        // TC on the EOT sector, MT = 0: next cylinder, sector 1.
        rig.dma.program(Vec::new(), 2 * 512);
        assert_eq!(rig.read(false, 3, 0, 17, 18), vec![0, 0, 0, 4, 0, 1, 2]);
        // TC on EOT of head 0 with MT: head 1 of the same cylinder.
        rig.dma.program(Vec::new(), 512);
        assert_eq!(rig.read(true, 3, 0, 18, 18), vec![0, 0, 0, 3, 1, 1, 2]);
        // TC on EOT of head 1 with MT: next cylinder, head 0.
        rig.dma.program(Vec::new(), 512);
        assert_eq!(rig.read(true, 3, 1, 18, 18), vec![ST0_HD, 0, 0, 4, 0, 1, 2]);
        // No TC by EOT: abnormal termination with end of cylinder.
        rig.dma.program(Vec::new(), 100 * 512);
        assert_eq!(
            rig.read(false, 3, 1, 16, 18),
            vec![ST0_ABNORMAL | ST0_HD, ST1_EN, 0, 4, 1, 1, 2]
        );
        assert_eq!(rig.dma.addr, 3 * 512);
        // EOT short of the track end stops there too.
        rig.dma.program(Vec::new(), 100 * 512);
        assert_eq!(
            rig.read(false, 3, 0, 1, 2),
            vec![ST0_ABNORMAL, ST1_EN, 0, 4, 0, 1, 2]
        );
    }

    #[test]
    fn terminal_count_mid_sector_ends_normally() {
        let mut rig = Rig::new();
        rig.dma.program(Vec::new(), 700);
        assert_eq!(rig.read(false, 0, 0, 1, 18), vec![0, 0, 0, 0, 0, 3, 2]);
        assert_eq!(rig.dma.mem[..512], sector(0)[..]);
        assert_eq!(rig.dma.mem[512..], sector(1)[..188]);
    }

    #[test]
    fn dma_that_moves_nothing_is_an_overrun() {
        let mut rig = Rig::new();
        rig.dma.program(Vec::new(), 0);
        assert_eq!(
            rig.read(false, 0, 0, 1, 18),
            vec![ST0_ABNORMAL, ST1_OR, 0, 0, 0, 1, 2]
        );
        // With the DMA gate closed nothing moves either (and IRQ 6 is off).
        rig.out(FDC_DOR, DOR_NRESET | DOR_MOTOR0);
        rig.dma.program(Vec::new(), 512);
        rig.command(&[0x46, 0, 0, 0, 1, 2, 18, 0x1B, 0xFF]);
        rig.run();
        assert!(!rig.irq6());
        assert_eq!(rig.result(7)[..2], [ST0_ABNORMAL, ST1_OR]);
        assert_eq!(rig.dma.addr, 0);
    }

    #[test]
    fn sector_not_found_and_wrong_cylinder() {
        let mut rig = Rig::new();
        rig.dma.program(Vec::new(), 512);
        assert_eq!(
            rig.read(false, 0, 0, 19, 19),
            vec![ST0_ABNORMAL, ST1_ND, 0, 0, 0, 19, 2]
        );
        // The head is on cylinder 0; the command asks for cylinder 4.
        assert_eq!(
            rig.read(false, 4, 0, 1, 18),
            vec![ST0_ABNORMAL, ST1_ND, ST2_WC, 4, 0, 1, 2]
        );
        // N = 3 (1024-byte sectors) is not on this disk.
        assert_eq!(
            rig.data_command(&[0x46, 0, 0, 0, 1, 3, 18, 0x1B, 0xFF]),
            vec![ST0_ABNORMAL, ST1_ND, 0, 0, 0, 1, 3]
        );
        assert_eq!(rig.dma.addr, 0);
    }

    #[test]
    fn implied_seek_moves_the_head_first() {
        let mut rig = Rig::new();
        rig.command(&[CMD_CONFIGURE, 0, CONFIG_EIS, 0]);
        rig.dma.program(Vec::new(), 512);
        assert_eq!(rig.read(false, 9, 0, 4, 18), vec![ST0_SE, 0, 0, 9, 0, 5, 2]);
        assert_eq!(rig.dma.mem, sector(lba(9, 0, 4)));
    }

    #[test]
    fn data_rate_and_fm_must_match_the_medium() {
        let mut rig = Rig::new();
        rig.out(FDC_CCR, DRATE_250K);
        rig.dma.program(Vec::new(), 512);
        assert_eq!(rig.read(false, 0, 0, 1, 18)[..3], [ST0_ABNORMAL, ST1_MA, 0]);
        rig.command(&[CMD_READ_ID | CMD_MFM, 0]);
        rig.run();
        assert_eq!(rig.result(7)[..2], [ST0_ABNORMAL, ST1_MA]);
        rig.out(FDC_DSR, DRATE_500K);
        // FM (MFM bit clear) finds no address marks on an MFM disk.
        assert_eq!(
            rig.data_command(&[CMD_READ_DATA, 0, 0, 0, 1, 2, 18, 0x1B, 0xFF])[..2],
            [ST0_ABNORMAL, ST1_MA]
        );
        assert_eq!(rig.read(false, 0, 0, 1, 18)[..2], [0, 0]);
    }

    #[test]
    fn write_then_read_back() {
        let mut rig = Rig::new();
        rig.seek(0, 0, 10);
        let data: Vec<u8> = (0..1024).map(|i| (i * 3) as u8).collect();
        rig.dma.program(data.clone(), 1024);
        let r = rig.data_command(&[
            CMD_MT | CMD_MFM | CMD_WRITE_DATA,
            4,
            10,
            1,
            18,
            2,
            18,
            0x1B,
            0xFF,
        ]);
        // Written (10,1,18) and then, MT on head 1, the cylinder ends.
        assert_eq!(r, vec![ST0_ABNORMAL | ST0_HD, ST1_EN, 0, 11, 0, 1, 2]);
        assert_eq!(rig.dma.addr, 512, "one sector to EOT");
        rig.dma.program(Vec::new(), 512);
        rig.read(false, 10, 1, 18, 18);
        assert_eq!(rig.dma.mem, data[..512]);
        // A write ending in terminal count mid-sector pads it with zeros.
        rig.dma.program(vec![0xAB; 100], 100);
        let r = rig.data_command(&[CMD_MFM | CMD_WRITE_DATA, 0, 10, 0, 3, 2, 18, 0x1B, 0xFF]);
        assert_eq!(r, vec![0, 0, 0, 10, 0, 4, 2]);
        rig.dma.program(Vec::new(), 512);
        rig.read(false, 10, 0, 3, 18);
        assert!(rig.dma.mem[..100].iter().all(|&b| b == 0xAB));
        assert!(rig.dma.mem[100..].iter().all(|&b| b == 0));
        // Neighbours untouched.
        rig.dma.program(Vec::new(), 512);
        rig.read(false, 10, 0, 4, 18);
        assert_eq!(rig.dma.mem, sector(lba(10, 0, 4)));
    }

    #[test]
    fn write_protected_disks_refuse_writes_and_formats() {
        let mut rig = Rig::new();
        let disk = DiskImage::from_bytes(image(SIZE_144), "ro.img")
            .unwrap()
            .into_read_only()
            .unwrap();
        rig.fdc.insert(0, disk).unwrap();
        rig.dma.program(vec![0; 512], 512);
        let r = rig.data_command(&[CMD_MFM | CMD_WRITE_DATA, 0, 0, 0, 1, 2, 18, 0x1B, 0xFF]);
        assert_eq!(r, vec![ST0_ABNORMAL, ST1_NW, 0, 0, 0, 1, 2]);
        assert_eq!(rig.dma.addr, 0);
        let r = rig.data_command(&[CMD_MFM | CMD_FORMAT_TRACK, 0, 2, 18, 0x54, 0xF6]);
        assert_eq!(r[..2], [ST0_ABNORMAL, ST1_NW]);
        rig.command(&[CMD_SENSE_DRIVE_STATUS, 0]);
        assert_ne!(rig.result(1)[0] & ST3_WP, 0);
        assert_ne!(rig.inp(FDC_SRA) & SRA_WP, 0);
    }

    #[test]
    fn no_disk_is_not_ready() {
        let mut rig = Rig::new();
        let disk = rig.fdc.eject(0).unwrap().unwrap();
        assert_eq!(disk.name(), "a.img");
        assert!(rig.fdc.eject(0).unwrap().is_none());
        rig.dma.program(Vec::new(), 512);
        assert_eq!(
            rig.read(false, 0, 0, 1, 18),
            vec![ST0_ABNORMAL | ST0_NR, 0, 0, 0, 0, 1, 2]
        );
        rig.command(&[CMD_READ_ID | CMD_MFM, 4]);
        rig.run();
        assert_eq!(rig.result(7)[0], ST0_ABNORMAL | ST0_NR | ST0_HD);
        // The drive stays: it keeps its type and still recalibrates.
        assert_eq!(rig.fdc.drive_type(0), 4);
        rig.command(&[CMD_RECALIBRATE, 0]);
        rig.run();
        assert_eq!(rig.sense(), vec![ST0_SE, 0]);
    }

    #[test]
    fn read_id_follows_the_rotation() {
        let mut rig = Rig::new();
        rig.seek(0, 0, 6);
        // One turn is 200000 cycles, one sector 11111.1; the ID is read when
        // the command completes.
        rig.now = Cycles(2 * 200_000 + 5 * 11_112 - rig.fdc.delay().0);
        rig.command(&[CMD_READ_ID | CMD_MFM, 4]);
        assert!(!rig.irq6());
        rig.run();
        assert!(rig.irq6());
        assert_eq!(rig.result(7), vec![ST0_HD, 0, 0, 6, 1, 6, 2]);
    }

    #[test]
    fn format_fills_the_track_with_the_filler_byte() {
        let mut rig = Rig::new();
        rig.seek(0, 0, 1);
        let ids: Vec<u8> = (1..=18u8).flat_map(|r| [1, 1, r, 2]).collect();
        rig.dma.program(ids, 18 * 4);
        let r = rig.data_command(&[CMD_MFM | CMD_FORMAT_TRACK, 4, 2, 18, 0x54, 0xF6]);
        assert_eq!(r[..3], [ST0_HD, 0, 0]);
        rig.dma.program(Vec::new(), 18 * 512);
        let r = rig.read(false, 1, 1, 1, 18);
        assert_eq!(r, vec![ST0_HD, 0, 0, 2, 1, 1, 2]);
        assert!(rig.dma.mem.iter().all(|&b| b == 0xF6));
        // The other side of the cylinder is untouched.
        rig.dma.program(Vec::new(), 512);
        rig.read(false, 1, 0, 18, 18);
        assert_eq!(rig.dma.mem, sector(lba(1, 0, 18)));
    }

    #[test]
    fn read_track_and_verify() {
        let mut rig = Rig::new();
        rig.dma.program(Vec::new(), 3 * 512);
        let r = rig.data_command(&[CMD_MFM | CMD_READ_TRACK, 0, 0, 0, 1, 2, 3, 0x1B, 0xFF]);
        assert_eq!(r, vec![0, 0, 0, 1, 0, 1, 2]);
        let want: Vec<u8> = (0..3).flat_map(sector).collect();
        assert_eq!(rig.dma.mem, want);
        // VERIFY moves no data; with EC it checks DTL sectors.
        rig.dma.program(Vec::new(), 512);
        let r = rig.data_command(&[CMD_MFM | CMD_VERIFY, 0x80, 0, 0, 2, 2, 18, 0x1B, 4]);
        assert_eq!(r, vec![0, 0, 0, 0, 0, 6, 2]);
        let r = rig.data_command(&[CMD_MFM | CMD_VERIFY, 0, 0, 0, 2, 2, 18, 0x1B, 0xFF]);
        assert_eq!(r, vec![0, 0, 0, 1, 0, 1, 2]);
        assert_eq!(rig.dma.addr, 0);
    }

    #[test]
    fn disk_change_line() {
        let mut rig = Rig::new();
        assert_eq!(rig.inp(FDC_DIR), DIR_DSKCHG, "set by the insertion");
        rig.out(FDC_DOR, DOR_NRESET | DOR_DMA_GATE);
        assert_eq!(rig.inp(FDC_DIR), 0, "drive not selected with its motor off");
        rig.out(FDC_DOR, DOR_NRESET | DOR_DMA_GATE | DOR_MOTOR0);
        // A seek that does not move the head does not step: still set.
        rig.seek(0, 0, 0);
        assert_eq!(rig.inp(FDC_DIR), DIR_DSKCHG);
        rig.seek(0, 0, 1);
        assert_eq!(rig.inp(FDC_DIR), 0);
        rig.fdc.eject(0).unwrap();
        assert_eq!(rig.inp(FDC_DIR), DIR_DSKCHG);
        // Without a disk, stepping does not clear it.
        rig.seek(0, 0, 2);
        assert_eq!(rig.inp(FDC_DIR), DIR_DSKCHG);
        rig.fdc
            .insert(
                0,
                DiskImage::from_bytes(image(737_280), "720k.img").unwrap(),
            )
            .unwrap();
        rig.command(&[CMD_RECALIBRATE, 0]);
        rig.run();
        rig.sense();
        assert_eq!(rig.inp(FDC_DIR), 0);
        assert_eq!(rig.fdc.drive_type(0), 4, "the drive keeps its type");
    }

    #[test]
    fn insert_checks_the_size_and_drive() {
        let mut fdc = Fdc::new(CPS);
        let err = fdc
            .insert(0, DiskImage::from_bytes(vec![0; 4096], "odd.img").unwrap())
            .unwrap_err();
        assert!(matches!(err, DiskError::FloppySize { size: 4096, .. }));
        assert!(err.to_string().contains("odd.img"));
        let err = fdc
            .insert(2, DiskImage::from_bytes(vec![0; 368_640], "c.img").unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("no drive 2"), "{err}");
        for (size, t) in [(368_640, 1), (1_228_800, 2), (737_280, 3), (2_949_120, 5)] {
            let mut fdc = Fdc::new(CPS);
            fdc.insert(1, DiskImage::from_bytes(vec![0; size], "x").unwrap())
                .unwrap();
            assert_eq!((fdc.drive_type(0), fdc.drive_type(1)), (0, t));
        }
        fdc.flush().unwrap();
    }

    #[test]
    fn power_on_reset_marks_disks_changed() {
        let mut rig = Rig::new();
        rig.seek(0, 0, 1);
        rig.fdc.reset(ResetKind::PowerOn);
        assert_eq!(rig.inp(FDC_MSR), 0);
        rig.out(FDC_DOR, DOR_NRESET | DOR_DMA_GATE | DOR_MOTOR0);
        assert_eq!(rig.inp(FDC_DIR), DIR_DSKCHG);
        assert_eq!(rig.fdc.drive_type(0), 4);
    }

    #[test]
    fn fifo_misuse_is_ignored() {
        let mut rig = Rig::new();
        assert_eq!(rig.inp(FDC_FIFO), 0);
        rig.command(&[CMD_VERSION]);
        rig.out(FDC_FIFO, CMD_VERSION);
        assert_eq!(rig.result(1), vec![0x90]);
        rig.dma.program(Vec::new(), 512);
        rig.command(&[0x46, 0, 0, 0, 1, 2, 18, 0x1B, 0xFF]);
        rig.out(FDC_FIFO, 0x55);
        rig.run();
        assert_eq!(rig.result(7)[0], 0);
    }

    #[test]
    fn snapshot_round_trip_and_inspect() {
        let mut rig = Rig::new();
        rig.seek(0, 1, 12);
        let text = serde_json::to_string(&rig.fdc.save()).unwrap();
        let mut copy = Fdc::new(CPS);
        copy.restore(serde_json::from_str(&text).unwrap());
        assert_eq!(copy.save(), rig.fdc.save());
        let mut out = Vec::new();
        rig.fdc.inspect(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("82077AA") && text.contains("cylinder 12"),
            "{text}"
        );
        assert!(text.contains("a.img (80/2/18)"), "{text}");
    }
}
