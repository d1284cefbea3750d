//! Firmware images built into Glassbox.
//!
//! Each image is assembled from NASM source kept beside it and committed as a
//! binary, so building Glassbox needs nothing beyond the Rust toolchain.
//! `test-roms/build.sh` reassembles them and `test-roms/build.sh --check`
//! (run by CI) fails when a committed image no longer matches its source.
#![deny(missing_docs)]

/// The built-in demo ROM, assembled from `bios/demo/demo.asm`.
///
/// A 64 KiB image for physical addresses `0xF0000..=0xFFFFF` (the CPU starts
/// it at the reset vector `F000:FFF0`). It runs on every CPU model (8086
/// instructions only): it prints a banner, an ASCII-art Mandelbrot set and a
/// note on running your own image to the debug console (port `0xE9`), then
/// writes "Shutdown" to the Bochs shutdown port (`0x8900`), ending the run
/// with status 0 (the exit device, port `0xF4`, follows for emulators
/// without that port).
pub const DEMO_ROM: &[u8] = include_bytes!("../demo/demo.rom");

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
    use super::{BIOS_ROM, DEMO_ROM};

    #[test]
    fn demo_rom_is_a_64k_image_with_a_reset_jump() {
        assert_eq!(DEMO_ROM.len(), 0x10000);
        // F000:FFF0 holds `jmp far F000:xxxx` into the image.
        assert_eq!(DEMO_ROM[0xFFF0], 0xEA, "far JMP opcode at the reset vector");
        assert_eq!(
            &DEMO_ROM[0xFFF3..0xFFF5],
            &[0x00, 0xF0],
            "jump target segment F000"
        );
        let target = u16::from_le_bytes([DEMO_ROM[0xFFF1], DEMO_ROM[0xFFF2]]);
        assert!(target < 0xFFF0, "the jump lands inside the image");
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
