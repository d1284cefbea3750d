//! Firmware images built into Glassbox.
//!
//! Each image is assembled from NASM source kept beside it and committed as a
//! binary, so building Glassbox needs nothing beyond the Rust toolchain.
//! `test-roms/build.sh` reassembles them and `test-roms/build.sh --check`
//! (run by CI) fails when a committed image no longer matches its source.
#![deny(missing_docs)]

/// The built-in demo disk, assembled from `bios/demo/demo.asm`.
///
/// The first sectors of a bootable diskette: a boot sector (signature
/// `55 AA` at offset 510) followed by the demo program, a whole number of
/// 512-byte sectors. The emulator pads it with zeros to a 1.44 MB floppy
/// image and inserts it as drive A:, where [`BIOS_ROM`] boots it. The boot
/// sector loads the program with INT 13h to `0000:8000`; the program shows a
/// banner in text mode, the Mandelbrot set in VGA mode 13h and a small
/// command prompt, using BIOS services only (8086 instructions, so it runs
/// on every CPU model). Everything it prints also goes to the debug console
/// (port `0xE9`). It ends the run with status 0 by writing "Shutdown" to the
/// Bochs shutdown port (`0x8900`) after `exit` or a minute without a key.
pub const DEMO_DISK: &[u8] = include_bytes!("../demo/demo.img");

/// The Glassbox PC BIOS, assembled from `bios/src/bios.asm`.
///
/// A 64 KiB system ROM for physical addresses `0xF0000..=0xFFFFF`, entered
/// at the reset vector `F000:FFF0`. It initialises the standard PC/AT
/// devices through their standard ports (8259 pair, 8254, 8042, CMOS/RTC,
/// VGA, floppy controller with 8237 DMA, ATA disks), provides the BIOS
/// services (INT 10h video, 13h disk, 16h keyboard, 1Ah time, 15h system,
/// 11h, 12h, 14h, 17h, 18h, 19h) and boots from floppy or hard disk in the
/// order stored in CMOS registers 3Dh/38h. It runs in real mode on every
/// CPU model from the 8086 up and reports its progress on the debug console
/// (port `0xE9`). `bios/README.md` lists what is implemented.
pub const BIOS_ROM: &[u8] = include_bytes!("../bios.rom");

#[cfg(test)]
mod tests {
    use super::{BIOS_ROM, DEMO_DISK};

    #[test]
    fn demo_disk_is_whole_sectors_with_a_boot_signature() {
        assert!(!DEMO_DISK.is_empty());
        assert_eq!(DEMO_DISK.len() % 512, 0, "whole 512-byte sectors");
        assert!(
            DEMO_DISK.len() <= 32 * 1024,
            "small enough to load below 64 KiB"
        );
        assert_eq!(&DEMO_DISK[510..512], &[0x55, 0xAA], "boot sector signature");
    }

    #[test]
    fn bios_rom_is_a_64k_image_with_the_pc_entry_points() {
        assert_eq!(BIOS_ROM.len(), 0x10000);
        // F000:FFF0 jumps to the power-on self test at F000:E05B, as on the
        // IBM PC/AT; the model byte at F000:FFFE says "AT".
        assert_eq!(&BIOS_ROM[0xFFF0..0xFFF5], &[0xEA, 0x5B, 0xE0, 0x00, 0xF0]);
        assert_eq!(BIOS_ROM[0xFFFE], 0xFC);
        assert!(BIOS_ROM.starts_with(b"Glassbox BIOS"));
    }
}
