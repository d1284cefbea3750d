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

/// Rising zero crossings per second.
fn tone_frequency(samples: &[i16], rate: u32) -> f64 {
    let crossings = samples.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
    crossings as f64 * f64::from(rate) / samples.len() as f64
}

#[test]
fn the_speaker_plays_the_tone_the_timer_is_programmed_for() {
    // mov al,0B6h; out 43h,al; mov ax,1193; out 42h,al; mov al,ah; out 42h,al;
    // in al,61h; or al,3; out 61h,al; jmp $
    let prog = [
        0xB0, 0xB6, 0xE6, 0x43, 0xB8, 0xA9, 0x04, 0xE6, 0x42, 0x88, 0xE0, 0xE6, 0x42, 0xE4, 0x61,
        0x0C, 0x03, 0xE6, 0x61, 0xEB, 0xFE,
    ];
    let dir = std::env::temp_dir().join(format!("glassbox-wav-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("beep.bin");
    std::fs::write(&bin, prog).unwrap();
    let wav = dir.join("beep.wav");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["run", "--load"])
        .arg(format!("{}@0x7c00", bin.display()))
        .args(["--entry", "0000:7C00", "--max-instructions", "5000000"])
        .arg("--speaker-wav")
        .arg(&wav)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reader = hound::WavReader::open(&wav).unwrap();
    let spec = reader.spec();
    assert_eq!((spec.channels, spec.sample_rate), (1, 44_100));
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    assert!(
        samples.len() > 4_410,
        "at least 0.1 s of sound: {}",
        samples.len()
    );
    // Divisor 1193 of 1.193182 MHz: 1000.15 Hz.
    let f = tone_frequency(&samples[1_000..], 44_100);
    assert!((f - 1000.15).abs() < 5.0, "{f} Hz");
    std::fs::remove_dir_all(&dir).ok();
}
