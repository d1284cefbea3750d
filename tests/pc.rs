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

fn root_file(path: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// Runs `glassbox run` with `args` and returns (status, debug console output).
fn run_with(args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(args)
        .args([
            "--display",
            "none",
            "--debugcon",
            "stdio",
            "--serial",
            "none",
        ])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn our_bios_serves_int13h_on_a_hard_disk() {
    // test-roms/boot/int13hd.asm as the MBR of a 16 MiB disk: AH=41h, 08h, 42h, 02h,
    // 43h with read-back, 48h.
    let mut disk = vec![0u8; 16 << 20];
    disk[..512].copy_from_slice(&root_file("test-roms/boot/int13hd.img"));
    disk[512..516].copy_from_slice(b"LBA1");
    disk[1024..1028].copy_from_slice(b"LBA2");
    let dir = std::env::temp_dir().join(format!("glassbox-hd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let img = dir.join("hd.img");
    std::fs::write(&img, &disk).unwrap();
    for cpu in ["8086", "486"] {
        let (_, log) = run_with(&[
            "run",
            "--cpu",
            cpu,
            "--hda",
            img.to_str().unwrap(),
            "--boot",
            "c",
            "--snapshot",
            "--max-instructions",
            "4000000",
        ]);
        assert!(log.contains("HD DONE"), "{cpu}: {log}");
        assert!(!log.contains("FAIL"), "{cpu}: {log}");
        assert_eq!(log.matches("\nok ").count(), 6, "{cpu}: {log}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn our_bios_services_and_extended_keys() {
    // test-roms/boot/services.asm from a floppy: INT 10h/11h/12h/13h/15h/1Ah checks, then
    // Up, F12, keypad Enter and Shift+A read through INT 16h as their extended key words.
    let mut floppy = root_file("test-roms/boot/services.img");
    floppy.resize(1_474_560, 0);
    let dir = std::env::temp_dir().join(format!("glassbox-svc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let img = dir.join("svc.img");
    std::fs::write(&img, &floppy).unwrap();
    let script = dir.join("keys.script");
    std::fs::write(
        &script,
        "wait \"keys?\"\ntype \"<up><f12><kpenter>A\"\nwait \"SVC DONE\"\nquit\n",
    )
    .unwrap();
    let (status, log) = run_with(&[
        "run",
        "--fda",
        img.to_str().unwrap(),
        "--snapshot",
        "--script",
        script.to_str().unwrap(),
    ]);
    assert_eq!(status, Some(0), "{log}");
    assert!(log.contains("SVC DONE"), "{log}");
    assert!(!log.contains("FAIL"), "{log}");
    std::fs::remove_dir_all(&dir).ok();
}
