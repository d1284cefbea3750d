//! The PC's devices seen through guest programs: what the guest programs into the chips is
//! what the screen, the disks and the speaker show.

use glassbox::cpu::CpuModel;
use glassbox::machine::{MachineConfig, Pc, RunLimits, Stop};
use glassbox_devices::debugport::DebugSink;
use std::path::Path;

fn rom_machine(rom: &str, model: CpuModel) -> Pc {
    let image = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(rom)).unwrap();
    let mut pc = Pc::new(MachineConfig {
        cpu: model,
        memory: 1 << 20,
        clock_hz: None,
        debugcon: DebugSink::Buffer,
        ..Default::default()
    })
    .unwrap();
    pc.load_bios(&image).unwrap();
    pc
}

/// The DAC colour of entry `i` as `vga13.asm` programs it, scaled to 8 bits the usual way.
fn vga13_colour(i: u32) -> u32 {
    let six = [i >> 2, (i * 7) & 0x3F, 0x3F - (i >> 2)];
    let eight: Vec<u32> = six.iter().map(|&c| (c << 2) | (c >> 4)).collect();
    (eight[0] << 16) | (eight[1] << 8) | eight[2]
}

#[test]
fn mode_13h_test_pattern_on_every_model() {
    for model in [CpuModel::I8086, CpuModel::I286, CpuModel::I486] {
        let mut pc = rom_machine("test-roms/vga13.bin", model);
        let stop = pc.run(RunLimits {
            max_instructions: Some(20_000_000),
        });
        let log = String::from_utf8_lossy(pc.debug_output()).into_owned();
        assert_eq!(stop, Stop::Exit(0), "{model:?}: {log}");
        assert!(log.contains("ALL PASS"), "{log}");
        let mut frame = Vec::new();
        let (w, h) = pc.render(&mut frame);
        assert_eq!(
            (w, h),
            (320, 200),
            "mode 13h is 320x200 (before any doubling)"
        );
        let expected: Vec<u32> = (0..200u32)
            .flat_map(|y| (0..320u32).map(move |x| vga13_colour((x ^ y) & 0xFF)))
            .collect();
        let first_bad = frame.iter().zip(&expected).position(|(a, b)| a != b);
        assert_eq!(
            first_bad.map(|i| (i % 320, i / 320, frame[i], expected[i])),
            None,
            "(x, y, got, want)"
        );
    }
}
