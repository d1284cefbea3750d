//! Builds FAT16 hard-disk images for boot tests: an MBR with one active FAT16 partition
//! (type 04h, from LBA 63 like DOS's FDISK) holding the given files. Deterministic: no
//! timestamps come from the host clock.

use std::io::{Cursor, Write};

/// Heads and sectors per track of the images (the classic BIOS translation).
pub const HEADS: u32 = 16;
/// Sectors per track.
pub const SECTORS: u32 = 63;

/// A `megabytes` MiB disk whose only partition holds `files` (8.3 names) in its root.
pub fn fat16_disk(megabytes: u32, files: &[(&str, &[u8])]) -> Vec<u8> {
    let total_sectors = megabytes * 2048;
    let cylinders = total_sectors / (HEADS * SECTORS);
    // The partition ends at the last whole cylinder, as DOS tools place it.
    let disk_sectors = cylinders * HEADS * SECTORS;
    let first = SECTORS;
    let count = disk_sectors - first;
    let mut img = vec![0u8; total_sectors as usize * 512];
    {
        let mut cur = Cursor::new(&mut img[..]);
        let mut mbr = mbrman::MBR::new_from(&mut cur, 512, [0x47, 0x42, 0x4F, 0x58])
            .expect("a fresh partition table");
        mbr.cylinders = cylinders as u16;
        mbr.heads = HEADS as u8;
        mbr.sectors = SECTORS as u8;
        mbr[1] = mbrman::MBRPartitionEntry {
            boot: mbrman::BOOT_ACTIVE,
            first_chs: mbrman::CHS::new(0, 1, 1),
            sys: 0x04,
            last_chs: mbrman::CHS::new((cylinders - 1) as u16, (HEADS - 1) as u8, SECTORS as u8),
            starting_lba: first,
            sectors: count,
        };
        mbr.write_into(&mut cur).expect("write the MBR");
    }
    {
        let part = &mut img[first as usize * 512..(first + count) as usize * 512];
        fatfs::format_volume(
            Cursor::new(&mut part[..]),
            fatfs::FormatVolumeOptions::new()
                .fat_type(fatfs::FatType::Fat16)
                .media(0xF8)
                .sectors_per_track(SECTORS as u16)
                .heads(HEADS as u16)
                .drive_num(0x80)
                .volume_label(*b"GLASSBOX   "),
        )
        .expect("format FAT16");
        // The boot sector's hidden-sector count is where the partition starts, as FORMAT
        // writes it; DOS kernels use it with the CHS geometry above.
        part[0x1C..0x20].copy_from_slice(&first.to_le_bytes());
        let fs = fatfs::FileSystem::new(Cursor::new(&mut part[..]), fatfs::FsOptions::new())
            .expect("open the new file system");
        let root = fs.root_dir();
        for (name, data) in files {
            let mut f = root.create_file(name).expect("create a file");
            f.write_all(data).expect("write a file");
        }
    }
    img
}
