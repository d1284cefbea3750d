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

#[cfg(test)]
mod tests {
    use super::DEMO_ROM;

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
}
