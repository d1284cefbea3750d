//! The KVM back end runs the same machine as the interpreter: the same test ROMs, boot
//! sectors and FreeDOS, with the same BIOS and devices, must show the same debug-port output
//! and the same screen. And a running machine moves between the back ends.
//!
//! Where `/dev/kvm` does not work every test here says it was skipped and passes. On hosts
//! whose KVM is nested and software-backed (no `vmx`/`svm` CPU flag), KVM runs real-mode code
//! through its own instruction emulator. Instructions it cannot emulate at all (DAA, an
//! undefined opcode that must raise #UD) are handed to our interpreter, one at a time; but some
//! it emulates wrongly (SF/ZF/PF after AAM and AAD, the trap flag, the interrupt shadows of
//! MOV SS and STI), so the ROMs that check those (`alu`, `interrupts`) run only where the host
//! has hardware virtualization (`string` too: see the test).

use glassbox::accel::{self, Backend};
use glassbox::cpu::CpuModel;
use glassbox::debugger::{Debugger, Owner, PointKind, Resume, Rw, StopReason};
use glassbox::machine::{Boot, Drives, MachineConfig, Pc, RunLimits, Stop};
use glassbox_devices::debugport::DebugSink;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Whether KVM works here; prints why not (the test is then skipped).
fn kvm(test: &str) -> bool {
    match accel::kvm_usable() {
        Ok(()) => true,
        Err(why) => {
            eprintln!("SKIPPED {test}: KVM is not usable here: {why}");
            false
        }
    }
}

/// Whether the host has hardware virtualization (so KVM runs real mode natively).
fn hardware_virtualization() -> bool {
    accel::host_has_hw_virtualization().is_ok()
}

/// `glassbox run ARGS --accel ACCEL`: exit status and standard output.
fn run(args: &[&str], accel: &str) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .current_dir(root())
        .args(["run", "--display", "none", "--accel", accel])
        .args(args)
        .output()
        .expect("run glassbox");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `args` on both back ends; their exit status and standard output must be the same.
///
/// One line may differ: under KVM the guest has the host's x87, while the interpreter has no
/// x87 yet (ESC instructions do nothing), so our BIOS's POST line `fpu: present` (FNINIT and
/// FNSTSW answering) shows under KVM only. That line is left out of the comparison.
fn same_on_both(args: &[&str]) -> String {
    let (s_int, out_int, err_int) = run(args, "interp");
    let (s_kvm, out_kvm, err_kvm) = run(args, "kvm");
    let without_fpu = |s: &str| {
        s.lines()
            .filter(|l| *l != "fpu: present")
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    };
    let (out_int, out_kvm) = (without_fpu(&out_int), without_fpu(&out_kvm));
    assert_eq!(
        (s_kvm, &out_kvm),
        (s_int, &out_int),
        "{args:?}: KVM differs from the interpreter\n--- interpreter stderr ---\n{err_int}\n\
         --- KVM stderr ---\n{err_kvm}"
    );
    assert!(err_kvm.contains("running on KVM"), "{err_kvm}");
    out_kvm
}

#[test]
fn test_roms_print_the_same_under_kvm() {
    if !kvm("test_roms_print_the_same_under_kvm") {
        return;
    }
    let mut roms = vec!["segwrap", "a20", "addr32"];
    if hardware_virtualization() {
        roms.extend(["alu", "interrupts", "string"]);
    } else {
        // `string` needs a timer interrupt inside a REP instruction: the software emulator
        // runs REP in batches of 1024 and takes interrupts only between them, so whether one
        // lands mid-instruction in 60 tries depends on host timing.
        eprintln!(
            "alu, interrupts and string skipped: this KVM emulates real mode in software (no vmx/svm)"
        );
    }
    for rom in roms {
        let bios = format!("test-roms/{rom}.bin");
        let out = same_on_both(&["--bios", &bios, "--cpu", "486", "--debugcon", "stdio"]);
        assert!(
            out.contains("ALL PASS") && !out.contains("FAIL"),
            "{rom}: {out}"
        );
    }
}

#[test]
fn boot_sectors_print_the_same_under_kvm() {
    if !kvm("boot_sectors_print_the_same_under_kvm") {
        return;
    }
    let out = same_on_both(&[
        "--bios",
        "test-roms/bootstrap.bin",
        "--load",
        "test-roms/boot/hello.img@0x7c00",
        "--debugcon",
        "stdio",
    ]);
    assert!(!out.is_empty());

    let dir = std::env::temp_dir().join(format!("glassbox-kvm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The BIOS's own service checks from a floppy, keys typed through the 8042. They time
    // INT 15h AH=86h (0.5 s of 1024 Hz RTC interrupts) against the timer: a software-backed
    // KVM, emulating every real-mode instruction, cannot always keep up on a loaded host.
    if hardware_virtualization() {
        let mut floppy = std::fs::read(root().join("test-roms/boot/services.img")).unwrap();
        floppy.resize(1_474_560, 0);
        let img = dir.join("svc.img");
        std::fs::write(&img, &floppy).unwrap();
        let script = dir.join("keys.script");
        std::fs::write(
            &script,
            "wait \"keys?\"\ntype \"<up><f12><kpenter>A\"\nwait \"SVC DONE\"\nquit\n",
        )
        .unwrap();
        let out = same_on_both(&[
            "--fda",
            img.to_str().unwrap(),
            "--snapshot",
            "--debugcon",
            "stdio",
            "--script",
            script.to_str().unwrap(),
        ]);
        assert!(out.contains("SVC DONE") && !out.contains("FAIL"), "{out}");
    } else {
        eprintln!("services.img skipped: its timing checks need KVM with hardware virtualization");
    }

    // INT 13h on an ATA disk: test-roms/boot/int13hd.asm as the MBR of a 16 MiB disk.
    let mut disk = vec![0u8; 16 << 20];
    disk[..512].copy_from_slice(&std::fs::read(root().join("test-roms/boot/int13hd.img")).unwrap());
    disk[512..516].copy_from_slice(b"LBA1");
    disk[1024..1028].copy_from_slice(b"LBA2");
    let hd = dir.join("hd.img");
    std::fs::write(&hd, &disk).unwrap();
    // It halts with interrupts on at the end: the script ends the run.
    let done = dir.join("done.script");
    std::fs::write(&done, "wait \"HD DONE\"\nquit\n").unwrap();
    let out = same_on_both(&[
        "--hda",
        hd.to_str().unwrap(),
        "--boot",
        "c",
        "--snapshot",
        "--debugcon",
        "stdio",
        "--script",
        done.to_str().unwrap(),
    ]);
    assert!(out.contains("HD DONE") && !out.contains("FAIL"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

fn machine(model: CpuModel) -> Pc {
    Pc::new(MachineConfig {
        cpu: model,
        memory: 16 << 20,
        debugcon: DebugSink::Buffer,
        ..Default::default()
    })
    .unwrap()
}

/// Runs until the guest stops (or `seconds` of virtual time pass).
fn run_to_stop(pc: &mut Pc, seconds: u64) -> Stop {
    let end = pc.cpu.cycles + seconds * pc.clock_hz();
    pc.run_until(end, RunLimits::default())
}

#[test]
fn the_mode_13h_picture_is_the_same_under_kvm() {
    if !kvm("the_mode_13h_picture_is_the_same_under_kvm") {
        return;
    }
    let rom = std::fs::read(root().join("test-roms/vga13.bin")).unwrap();
    let mut frames = Vec::new();
    for backend in [Backend::Interp, Backend::Kvm] {
        let mut pc = machine(CpuModel::I486);
        pc.load_bios(&rom).unwrap();
        pc.set_backend(backend).unwrap();
        let stop = run_to_stop(&mut pc, 10);
        assert!(matches!(stop, Stop::Exit(_)), "{backend}: {stop:?}");
        let mut frame = Vec::new();
        let size = pc.render(&mut frame);
        frames.push((size, frame, pc.debug_output().to_vec()));
    }
    assert_eq!(frames[0].0, (320, 200));
    assert!(frames[0] == frames[1], "the KVM frame or output differs");
}

fn freedos_floppy() -> Option<PathBuf> {
    let dir = std::env::var_os("GLASSBOX_GUESTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/guests"));
    let img = dir.join("freedos/fd-minimal-1440k.img");
    if img.is_file() {
        Some(img)
    } else {
        eprintln!("SKIPPED: {} is missing", img.display());
        None
    }
}

fn freedos_machine(floppy: &Path) -> Pc {
    let mut pc = machine(CpuModel::I486);
    pc.load_bios(glassbox_bios::BIOS_ROM).unwrap();
    pc.attach_drives(&Drives {
        floppy: [Some(floppy), None],
        hard: [None, None],
        snapshot: true,
        boot: vec![Boot::Floppy],
    })
    .unwrap();
    pc
}

fn screen(pc: &Pc) -> String {
    pc.text_screen()
        .map(|s| s.lines().join("\n"))
        .unwrap_or_default()
}

/// Runs in slices of 10 ms until the screen shows `text` (at most `seconds` of virtual time).
fn run_until_screen(pc: &mut Pc, text: &str, seconds: u64) -> bool {
    let end = pc.cpu.cycles + seconds * pc.clock_hz();
    while pc.cpu.cycles < end {
        if screen(pc).contains(text) {
            return true;
        }
        let slice = pc.cpu.cycles + pc.clock_hz() / 100;
        match pc.run_until(slice, RunLimits::default()) {
            Stop::Slice => {}
            other => panic!("the machine stopped: {other:?} ({:?})", pc.accel_error()),
        }
    }
    screen(pc).contains(text)
}

/// Types `keys` (plain characters and `\n`) and lets the guest take them.
fn type_keys(pc: &mut Pc, keys: &str) {
    let typed = glassbox::frontend::script::parse_type_arg(keys).unwrap();
    for (key, pressed) in glassbox::frontend::key_events(&typed).unwrap() {
        while !pc.keyboard_idle() {
            let slice = pc.cpu.cycles + pc.clock_hz() / 1000;
            pc.run_until(slice, RunLimits::default());
        }
        pc.key_event(key, pressed);
    }
}

/// FreeDOS to its prompt, then `ver`: the text screen at the end.
fn freedos_ver(pc: &mut Pc) -> String {
    assert!(
        run_until_screen(pc, "A:\\>", 60),
        "no prompt:\n{}",
        screen(pc)
    );
    type_keys(pc, "ver\\n");
    assert!(
        run_until_screen(pc, "A:\\>ver", 10),
        "ver not echoed:\n{}",
        screen(pc)
    );
    // Let the command finish and the prompt come back.
    let settle = pc.cpu.cycles + pc.clock_hz();
    pc.run_until(settle, RunLimits::default());
    screen(pc)
}

#[test]
fn freedos_boots_under_kvm_with_the_interpreters_screen() {
    let Some(floppy) = freedos_floppy() else {
        return;
    };
    if !kvm("freedos_boots_under_kvm_with_the_interpreters_screen") {
        return;
    }
    let mut screens = Vec::new();
    for backend in [Backend::Interp, Backend::Kvm] {
        let mut pc = freedos_machine(&floppy);
        pc.set_backend(backend).unwrap();
        screens.push(freedos_ver(&mut pc));
        assert_eq!(pc.backend(), backend);
    }
    assert!(screens[1].contains("FreeCom version"), "{}", screens[1]);
    assert_eq!(screens[1], screens[0], "the KVM screen differs");
}

#[test]
fn a_running_machine_moves_between_kvm_and_the_interpreter() {
    let Some(floppy) = freedos_floppy() else {
        return;
    };
    if !kvm("a_running_machine_moves_between_kvm_and_the_interpreter") {
        return;
    }
    // Boot FreeDOS under KVM and stop at a port write: the cursor position going to the CRT
    // controller's index register once the kernel prints.
    let mut pc = freedos_machine(&floppy);
    pc.set_backend(Backend::Kvm).unwrap();
    assert!(run_until_screen(&mut pc, "FreeDOS kernel", 60));
    let mut dbg = Debugger::new();
    let id = dbg.add_point(
        PointKind::Io {
            first: 0x3D4,
            last: 0x3D4,
            on: Rw::Write,
        },
        None,
        Owner::User,
    );
    let mut out = Vec::new();
    let r = dbg.resume(&mut pc, Resume::Continue, &mut out);
    match &r {
        StopReason::Point {
            id: hit, access, ..
        } => {
            assert_eq!(*hit, id);
            let a = access.expect("the port access");
            assert_eq!(a.addr, 0x3D4);
        }
        other => panic!("stopped for {other:?}"),
    }
    assert_eq!(pc.backend(), Backend::Kvm);
    let stopped_at = pc.cpu.pc_linear();

    // Single-step in the interpreter: the debugger always steps there.
    let before = pc.cpu.instructions;
    for _ in 0..3 {
        assert_eq!(
            dbg.resume(&mut pc, Resume::Step(1), &mut out),
            StopReason::Stepped
        );
    }
    assert_eq!(pc.cpu.instructions, before + 3);
    assert_ne!(pc.cpu.pc_linear(), stopped_at);

    // Move to the interpreter explicitly and back, then continue under KVM to the prompt.
    pc.set_backend(Backend::Interp).unwrap();
    dbg.resume(&mut pc, Resume::Step(1), &mut out);
    pc.set_backend(Backend::Kvm).unwrap();
    dbg.delete_point(id);
    let screen = freedos_ver(&mut pc);
    assert!(screen.contains("FreeCom version"), "{screen}");
    assert_eq!(pc.backend(), Backend::Kvm);
}

#[test]
fn instructions_kvm_cannot_emulate_run_in_the_interpreter() {
    if !kvm("instructions_kvm_cannot_emulate_run_in_the_interpreter") {
        return;
    }
    // mov al, 0x19; add al, 0x28; daa; out 0xe9, al; then #UD from UD0 (0F FF) to a handler
    // at 0000:0600 that prints the pushed IP's low byte and exits.
    let code = [
        0xB0, 0x19, 0x04, 0x28, 0x27, 0xE6, 0xE9, 0x0F, 0xFF, 0x90, 0x90, 0x90, 0x90,
    ];
    let handler = [0x5B, 0x88, 0xD8, 0xE6, 0xE9, 0xB0, 0x00, 0xE6, 0xF4]; // pop bx; mov al, bl; out; exit
    let mut outputs = Vec::new();
    for backend in [Backend::Interp, Backend::Kvm] {
        let mut pc = machine(CpuModel::I486);
        pc.load_image(0x7C00, &code).unwrap();
        pc.load_image(0x600, &handler).unwrap();
        pc.load_image(6 * 4, &[0x00, 0x06, 0x00, 0x00]).unwrap(); // IVT[6] = 0000:0600
        pc.set_entry(0, 0x7C00);
        pc.cpu.regs[4] = 0x7000;
        pc.set_backend(backend).unwrap();
        let stop = run_to_stop(&mut pc, 1);
        assert_eq!(stop, Stop::Exit(0), "{backend}: {:?}", pc.accel_error());
        outputs.push(pc.debug_output().to_vec());
    }
    // DAA gives 0x47; #UD pushes the address of the UD0 (0x7c07).
    assert_eq!(outputs[0], [0x47, 0x07]);
    assert_eq!(outputs[1], outputs[0]);
}

#[test]
fn x87_state_survives_a_stay_in_the_interpreter() {
    if !kvm("x87_state_survives_a_stay_in_the_interpreter") {
        return;
    }
    if !hardware_virtualization() {
        // The software emulator has no x87 arithmetic: FLD1 would go to the interpreter.
        // (`accel::kvm`'s unit tests check the register round trip itself.)
        eprintln!("SKIPPED x87_state_survives_a_stay_in_the_interpreter: KVM without vmx/svm");
        return;
    }
    // fninit; fld1; nop x3; fstp qword [0x600]; mov al, [0x606]; out 0xe9, al; exit 0.
    // The interpreter has no x87 yet: 1.0 reaches memory only if the FPU registers KVM had
    // come back with the machine.
    let code = [
        0xDB, 0xE3, 0xD9, 0xE8, 0x90, 0x90, 0x90, 0xDD, 0x1E, 0x00, 0x06, 0xA0, 0x06, 0x06, 0xE6,
        0xE9, 0xB0, 0x00, 0xE6, 0xF4,
    ];
    let mut pc = machine(CpuModel::I486);
    pc.load_image(0x7C00, &code).unwrap();
    pc.set_entry(0, 0x7C00);
    pc.set_backend(Backend::Kvm).unwrap();
    let mut dbg = Debugger::new();
    let id = dbg.add_point(PointKind::Linear(0x7C04), None, Owner::User);
    let mut out = Vec::new();
    let r = dbg.resume(&mut pc, Resume::Continue, &mut out);
    assert!(
        matches!(r, StopReason::Point { id: hit, .. } if hit == id),
        "{r:?}"
    );
    pc.set_backend(Backend::Interp).unwrap();
    for _ in 0..3 {
        dbg.resume(&mut pc, Resume::Step(1), &mut out);
    }
    assert_eq!(pc.cpu.pc_linear(), 0x7C07);
    pc.set_backend(Backend::Kvm).unwrap();
    dbg.delete_point(id);
    assert_eq!(
        run_to_stop(&mut pc, 1),
        Stop::Exit(0),
        "{:?}",
        pc.accel_error()
    );
    // The high byte-but-one of 1.0 as a double (0x3FF0_0000_0000_0000).
    assert_eq!(pc.debug_output(), [0xF0]);
}

#[test]
fn auto_picks_the_interpreter_without_hardware_virtualization() {
    let (backend, why) = accel::resolve(accel::AccelChoice::Auto).unwrap();
    if hardware_virtualization() && accel::kvm_usable().is_ok() {
        assert_eq!(backend, Backend::Kvm);
    } else {
        assert_eq!(backend, Backend::Interp);
        let why = why.expect("a reason");
        eprintln!("auto chose the interpreter: {why}");
    }
    // The command line says which back end runs and why.
    let (status, _, err) = run(
        &["--bios", "test-roms/segwrap.bin", "--debugcon", "none"],
        "auto",
    );
    assert_eq!(status, Some(1), "{err}");
    if backend == Backend::Interp {
        assert!(err.contains("KVM not used:"), "{err}");
    } else {
        assert!(err.contains("running on KVM"), "{err}");
    }
}

/// Whether KVM can run a guest that turns paging on: the host has hardware virtualization
/// and `/dev/kvm` works. A software-backed KVM (no `vmx`/`svm` flag) shuts such guests down.
fn kvm_with_paging(test: &str) -> bool {
    if !hardware_virtualization() {
        eprintln!(
            "SKIPPED {test}: needs hardware virtualization (vmx/svm); this host's KVM is \
             software-backed and shuts paging guests down"
        );
        return false;
    }
    kvm(test)
}

/// The paging ROM (page tables, TLB flushes, #PF error codes, accessed and dirty bits, PSE
/// and PAE where the model has them) prints the same under KVM as in the interpreter.
#[test]
fn the_paging_rom_passes_under_kvm() {
    if !kvm_with_paging("the_paging_rom_passes_under_kvm") {
        return;
    }
    for cpu in ["486", "pentium2"] {
        let out = same_on_both(&[
            "--bios",
            "test-roms/paging.bin",
            "--cpu",
            cpu,
            "--debugcon",
            "stdio",
        ]);
        assert!(
            out.contains("ALL PASS") && !out.contains("FAIL"),
            "paging on {cpu}: {out}"
        );
    }
}

/// Linux (the guest of `tests/linux.rs`) boots to its initramfs marker under KVM.
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "builds and boots a Linux guest: run in release"
)]
fn linux_boots_under_kvm() {
    use std::io::Read;
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    const MARKER: &str = "EMU-LINUX-INITRAMFS-OK";
    if !kvm_with_paging("linux_boots_under_kvm") {
        return;
    }
    let out = Command::new("sh")
        .arg(root().join("tests/support/linux-guest.sh"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run tests/support/linux-guest.sh");
    assert!(out.status.success(), "tests/support/linux-guest.sh failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let guest = PathBuf::from(stdout.lines().last().expect("the guest folder").trim());
    let serial = std::env::temp_dir().join(format!(
        "glassbox-kvm-linux-{}-com1.txt",
        std::process::id()
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .arg("run")
        .arg(root().join("configs/linux.ron"))
        .arg("--kernel")
        .arg(guest.join("vmlinuz"))
        .arg("--initrd")
        .arg(guest.join("initrd.gz"))
        .args([
            "--append",
            "console=ttyS0 noapic nolapic acpi=off panic=-1",
            "--display",
            "none",
            "--accel",
            "kvm",
        ])
        .arg(format!("--serial=file:{}", serial.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run glassbox");
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let mut seen = false;
    while start.elapsed() < Duration::from_secs(300) {
        seen = std::fs::read_to_string(&serial)
            .unwrap_or_default()
            .contains(MARKER);
        if seen || child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    seen = seen
        || std::fs::read_to_string(&serial)
            .unwrap_or_default()
            .contains(MARKER);
    let _ = child.kill();
    let _ = child.wait();
    let stderr = reader.join().unwrap_or_default();
    let com1 = std::fs::read_to_string(&serial).unwrap_or_default();
    let _ = std::fs::remove_file(&serial);
    assert!(
        seen,
        "no {MARKER} on COM1 under KVM\n--- COM1 ---\n{com1}\n--- stderr ---\n{stderr}"
    );
    assert!(stderr.contains("running on KVM"), "{stderr}");
}
