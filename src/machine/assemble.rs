//! Putting a PC together: disks in the drives and the CMOS set up the way the BIOS reads it
//! (memory sizes, drive types, equipment, boot order), as a board's setup utility would.

use super::{MachineError, Pc};
use glassbox_devices::disk::{DiskError, DiskImage, DiskMode};
use glassbox_devices::mc146818 as cmos;
use std::path::Path;

/// A boot device, as the BIOS's boot order names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boot {
    /// Floppy drive A:.
    Floppy,
    /// The first hard disk.
    HardDisk,
}

/// Drives and boot order of a PC.
#[derive(Clone, Debug, Default)]
pub struct Drives<'a> {
    /// Floppy images for A: and B:.
    pub floppy: [Option<&'a Path>; 2],
    /// Hard disk images: primary master, primary slave.
    pub hard: [Option<&'a Path>; 2],
    /// Guest writes go to a throw-away overlay; the images never change.
    pub snapshot: bool,
    /// Boot order (empty: floppy, then hard disk).
    pub boot: Vec<Boot>,
}

impl Pc {
    /// Opens the images, puts them in the drives and writes the CMOS setup.
    pub fn attach_drives(&mut self, d: &Drives) -> Result<(), MachineError> {
        let mode = if d.snapshot {
            DiskMode::Snapshot
        } else {
            DiskMode::ReadWrite
        };
        for (i, path) in d.floppy.iter().enumerate() {
            if let Some(p) = path {
                let img = DiskImage::open(p, mode)?;
                self.board.platform.fdc.insert(i, img)?;
            }
        }
        for (i, path) in d.hard.iter().enumerate() {
            if let Some(p) = path {
                let img = DiskImage::open(p, mode)?;
                self.board.platform.ata[0].attach(i as u8, img)?;
            }
        }
        self.write_cmos_setup(&d.boot);
        Ok(())
    }

    /// The CMOS bytes a BIOS reads at POST: memory sizes, floppy and hard disk types, the
    /// equipment byte and the boot order (the layout Bochs and QEMU use).
    pub fn write_cmos_setup(&mut self, boot: &[Boot]) {
        let ram = self.board.mem.ram_size() as u64;
        let p = &mut self.board.platform;
        let fd = [p.fdc.drive_type(0), p.fdc.drive_type(1)];
        let hd = [p.ata[0].has_disk(0), p.ata[0].has_disk(1)];
        let rtc = &mut p.rtc;
        let base_kb = (ram / 1024).min(640) as u16;
        rtc.set_cmos(cmos::CMOS_BASE_MEM_LO, base_kb as u8);
        rtc.set_cmos(cmos::CMOS_BASE_MEM_HI, (base_kb >> 8) as u8);
        let ext_kb = (ram.saturating_sub(1 << 20) / 1024).min(0xFFFF) as u16;
        for (lo, hi) in [
            (cmos::CMOS_EXT_MEM_LO, cmos::CMOS_EXT_MEM_HI),
            (cmos::CMOS_EXT_MEM2_LO, cmos::CMOS_EXT_MEM2_HI),
        ] {
            rtc.set_cmos(lo, ext_kb as u8);
            rtc.set_cmos(hi, (ext_kb >> 8) as u8);
        }
        let above16 = (ram.saturating_sub(16 << 20) >> 16).min(0xFFFF) as u16;
        rtc.set_cmos(cmos::CMOS_MEM_ABOVE_16M_LO, above16 as u8);
        rtc.set_cmos(cmos::CMOS_MEM_ABOVE_16M_HI, (above16 >> 8) as u8);
        rtc.set_cmos(cmos::CMOS_FLOPPY_TYPES, (fd[0] << 4) | (fd[1] & 0x0F));
        // Hard disks are found by the BIOS through ATA IDENTIFY; type 0Fh says "see the
        // extended type byte", 47 (user defined) there.
        let mut disk_types = 0;
        for (i, &present) in hd.iter().enumerate() {
            if present {
                disk_types |= 0xF0 >> (4 * i);
                rtc.set_cmos(cmos::CMOS_DISK0_EXT_TYPE + i as u8, 47);
            }
        }
        rtc.set_cmos(cmos::CMOS_DISK_TYPES, disk_types);
        let floppies = fd.iter().filter(|&&t| t != 0).count() as u8;
        let mut equipment = 0;
        if floppies > 0 {
            equipment |= cmos::EQUIP_FLOPPY | ((floppies - 1) << cmos::EQUIP_FLOPPY_COUNT_SHIFT);
        }
        rtc.set_cmos(cmos::CMOS_EQUIPMENT, equipment);
        let order: Vec<Boot> = if boot.is_empty() {
            vec![Boot::Floppy, Boot::HardDisk]
        } else {
            boot.to_vec()
        };
        let code = |b: Option<&Boot>| match b {
            Some(Boot::Floppy) => cmos::BOOT_FLOPPY,
            Some(Boot::HardDisk) => cmos::BOOT_HARD_DISK,
            None => cmos::BOOT_NONE,
        };
        rtc.set_cmos(
            cmos::CMOS_BOOT_ORDER,
            code(order.first()) | (code(order.get(1)) << 4),
        );
        rtc.set_cmos(cmos::CMOS_BOOT_ORDER_3, code(order.get(2)) << 4);
        rtc.update_checksum();
    }

    /// Puts the built-in demo disk (padded to a 1.44 MB floppy) in drive A: and boots it.
    pub fn insert_demo_disk(&mut self) -> Result<(), MachineError> {
        let mut data = glassbox_bios::DEMO_DISK.to_vec();
        data.resize(1_474_560, 0);
        let img = DiskImage::from_bytes(data, "built-in demo disk")?;
        self.board.platform.fdc.insert(0, img)?;
        self.write_cmos_setup(&[Boot::Floppy]);
        Ok(())
    }

    /// Writes what the guest wrote to disk images back to their files.
    pub fn flush_disks(&mut self) -> Result<(), DiskError> {
        let p = &mut self.board.platform;
        p.fdc.flush()?;
        for a in &mut p.ata {
            a.flush()?;
        }
        Ok(())
    }
}
