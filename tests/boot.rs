//! Direct kernel boot through the command line: the multiboot test kernels in
//! `test-roms/multiboot/` (ELF32 and a.out kludge) started by our BIOS's INT 19h, checking
//! what they were handed over, and the errors `--kernel` gives for what it cannot boot.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("glassbox-boot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn glassbox(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(args)
        .output()
        .expect("run glassbox")
}

/// The module the test kernel checks: 5000 bytes, byte i = (i * 7 + 3) & 0xFF, in a folder
/// of its own (`tag`) so that tests running at once never share a file.
fn module_file(tag: &str) -> PathBuf {
    let path = scratch(tag);
    std::fs::create_dir_all(&path).unwrap();
    let path = path.join("mbmod.bin");
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(&path, data).unwrap();
    path
}

/// Boots a test kernel; returns the exit status and the debug console text.
fn mbtest(kernel: &str, memory: &str, append: &str, extra: &[&str]) -> (Option<i32>, String) {
    let tag = format!("{kernel}-{memory}-{}", append.len() + 100 * extra.len());
    let kernel = root().join("test-roms/multiboot").join(kernel);
    let module = module_file(&tag);
    let log = scratch(&format!("{tag}.txt"));
    let debugcon = format!("file:{}", log.display());
    let mut args = vec![
        "run",
        "--kernel",
        kernel.to_str().unwrap(),
        "--initrd",
        module.to_str().unwrap(),
        "--append",
        append,
        "--memory",
        memory,
        "--display",
        "none",
        "--serial",
        "none",
        "--debugcon",
        &debugcon,
    ];
    // KVM counts no instructions.
    if !extra.contains(&"kvm") {
        args.extend_from_slice(&["--max-instructions", "100000000"]);
    }
    args.extend_from_slice(extra);
    let out = glassbox(&args);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

/// The `mem_upper=N` the kernel reports.
fn mem_upper(log: &str) -> Option<u64> {
    let line = log.lines().find(|l| l.starts_with("note: mem_lower="))?;
    line.split("mem_upper=").nth(1)?.trim().parse().ok()
}

#[test]
fn multiboot_elf_and_aout_kernels_get_what_the_spec_promises() {
    for kernel in ["mbtest.elf", "mbtest-aout.bin"] {
        for (memory, mib) in [("16M", 16), ("48M", 48)] {
            let (status, log) = mbtest(kernel, memory, "mbtest cmdline-ok", &[]);
            assert_eq!(status, Some(1), "{kernel} {memory}:\n{log}");
            assert!(
                log.contains("booting the kernel given to the machine"),
                "{log}"
            );
            assert!(log.contains("ALL PASS"), "{log}");
            assert!(!log.contains("FAIL"), "{log}");
            assert!(log.contains("note: mem_lower=639 "), "{log}");
            assert_eq!(mem_upper(&log), Some((mib - 1) * 1024), "{log}");
        }
    }
}

#[test]
fn a_wrong_command_line_fails_the_kernels_check() {
    let (status, log) = mbtest("mbtest.elf", "16M", "something else", &[]);
    assert!(log.contains("FAIL command line"), "{log}");
    assert!(log.contains("FAILED 1"), "{log}");
    assert_eq!(status, Some(3), "exit value 1: (1 << 1) | 1");
}

#[test]
fn multiboot_boots_on_the_oldest_cpu_it_can_and_with_disks_attached() {
    let floppy = scratch("blank.img");
    std::fs::write(&floppy, vec![0u8; 1_474_560]).unwrap();
    let (status, log) = mbtest(
        "mbtest-aout.bin",
        "16M",
        "mbtest cmdline-ok",
        &["--cpu", "386", "--fda", floppy.to_str().unwrap()],
    );
    assert_eq!(status, Some(1), "{log}");
    assert!(log.contains("ALL PASS"), "{log}");
}

fn error_of(args: &[&str]) -> String {
    let out = glassbox(args);
    assert_eq!(out.status.code(), Some(8), "a set-up error");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn kernel_errors_name_the_file_and_the_problem() {
    let elf = root().join("test-roms/multiboot/mbtest.elf");
    let elf = elf.to_str().unwrap();
    let e = error_of(&["run", "--kernel", "/nonexistent/vmlinuz"]);
    assert!(e.contains("/nonexistent/vmlinuz"), "{e}");
    let rom = root().join("test-roms/alu.bin");
    let e = error_of(&["run", "--kernel", elf, "--bios", rom.to_str().unwrap()]);
    assert!(e.contains("built-in BIOS") && e.contains("alu.bin"), "{e}");
    let e = error_of(&["run", "--kernel", elf, "--cpu", "286"]);
    assert!(e.contains("386"), "{e}");
    let e = error_of(&["run", "--initrd", elf]);
    assert!(e.contains("--kernel"), "{e}");
    let e = error_of(&["run", "--kernel", elf, "--memory", "1M"]);
    assert!(e.contains("outside RAM") && e.contains("mbtest.elf"), "{e}");
    // not a kernel at all
    let e = error_of(&["run", "--kernel", rom.to_str().unwrap()]);
    assert!(e.contains("not a Linux bzImage"), "{e}");
    // a Linux header of protocol 2.01
    let mut old = vec![0u8; 0x4000];
    old[0x1F1] = 4;
    old[0x1FE..0x200].copy_from_slice(&[0x55, 0xAA]);
    old[0x202..0x206].copy_from_slice(b"HdrS");
    old[0x206..0x208].copy_from_slice(&0x0201u16.to_le_bytes());
    let path = scratch("old-bzimage");
    std::fs::write(&path, old).unwrap();
    let e = error_of(&["run", "--kernel", path.to_str().unwrap()]);
    assert!(e.contains("2.01") && e.contains("2.02"), "{e}");
}

#[test]
fn multiboot_on_kvm_enters_the_same_state() {
    if let Err(why) = glassbox::accel::kvm_usable() {
        eprintln!("SKIPPED: KVM cannot be used here: {why}");
        return;
    }
    let (status, log) = mbtest(
        "mbtest.elf",
        "16M",
        "mbtest cmdline-ok",
        &["--accel", "kvm"],
    );
    assert_eq!(status, Some(1), "{log}");
    assert!(log.contains("ALL PASS"), "{log}");
    assert_eq!(mem_upper(&log), Some(15 * 1024), "{log}");
}
