//! The command-line debugger and the explained trace, driven the way a user drives them:
//! scripted commands on standard input against a boot sector (`test-roms/boot/hello.img`,
//! started by `test-roms/bootstrap.bin`), and the library's engine against our test ROMs to
//! show that attaching the debugger never changes what the guest does.

use glassbox::cpu::CpuModel;
use glassbox::debugger::{Debugger, Owner, PointKind, Resume, StopReason};
use glassbox::machine::{MachineConfig, Pc, RunLimits, Stop};
use glassbox_devices::debugport::DebugSink;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `glassbox run --debug` on the boot sector with `script` on standard input.
fn debug_session(script: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .current_dir(root())
        .args(["run", "--bios", "test-roms/bootstrap.bin"])
        .args([
            "--load",
            "test-roms/boot/hello.img@0x7c00",
            "--debugcon",
            "stdio",
        ])
        .args(["--debug", "--max-instructions", "1000000"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start glassbox");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(script.as_bytes())
        .expect("write the script");
    let out = child.wait_with_output().expect("wait for glassbox");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The output between the echo of command `n` and the next prompt.
fn answer(out: &str, n: usize) -> &str {
    let start = out
        .find(&format!("<glassbox:{n}> "))
        .unwrap_or_else(|| panic!("no prompt {n} in:\n{out}"));
    let body = &out[start..];
    let body = &body[body.find('\n').map_or(body.len(), |i| i + 1)..];
    match body.find(&format!("<glassbox:{}> ", n + 1)) {
        Some(end) => &body[..end],
        None => body,
    }
}

#[test]
fn break_in_a_boot_sector_step_and_look_around() {
    let script = "\
vb 0000:7c00
c
r
s 6
? ax
? sp
u
watch w 0x500 2
c
x /2hx 0:0x500
info ivt 61
s
p
blist
intb 61 0e
c
stack 3
? word[0x504]
q
";
    let (status, out, err) = debug_session(script, &[]);
    assert_eq!(status, Some(0), "{out}\n{err}");
    // Stopped before the first instruction, at the reset vector.
    assert!(
        out.contains("f000:fff0  ea00ff00f0       jmp 0xf000:0xff00"),
        "{out}"
    );
    // 1: the breakpoint; 2: it fires at the boot sector's first instruction.
    assert!(answer(&out, 1).contains("breakpoint 1 at 0000:7c00"));
    let a = answer(&out, 2);
    assert!(a.contains("stopped: (1) breakpoint at 0000:7c00"), "{a}");
    assert!(
        a.contains("0x00007c00 0000:7c00  fa               cli"),
        "{a}"
    );
    // 3: registers as the bootstrap left them, EFLAGS decoded.
    let a = answer(&out, 3);
    assert!(a.contains("esp: 0x00007c00"), "{a}");
    assert!(a.contains("edx: 0x00000480"), "{a}");
    assert!(a.contains("eip: 0x00007c00"), "{a}");
    assert!(a.contains("IOPL=0 of df if tf sf ZF af PF cf"), "{a}");
    assert!(a.contains("mode: real"), "{a}");
    // 4-6: six steps run up to the IVT store; AX is 0, SP set.
    assert!(
        answer(&out, 4).contains("0000:7c0c  c7068401"),
        "{}",
        answer(&out, 4)
    );
    assert!(answer(&out, 5).starts_with("0x0 (0)"));
    assert!(answer(&out, 6).starts_with("0x7c00 (31744)"));
    // 7: disassembly at CS:EIP in 16-bit code.
    let a = answer(&out, 7);
    assert!(a.contains("mov word [0x184], 0x7c54"), "{a}");
    assert!(a.contains("mov ax, 0x1234"), "{a}");
    // 8-9: the watchpoint fires after the store, naming the access and the instruction.
    assert!(answer(&out, 8).contains("watchpoint 2: watch   w lin 0x00000500 len 2"));
    let a = answer(&out, 9);
    assert!(
        a.contains(
            "(2) watchpoint: write of 2 bytes at physical 0x500 (value 0x1234) by 0000:7c1b"
        ),
        "{a}"
    );
    assert!(
        a.contains("0000:7c1e  be597c           mov si, 0x7c59"),
        "{a}"
    );
    // 10: memory holds the value.
    assert!(answer(&out, 10).contains("0x00000500: 0x1234 0x0000"));
    // 11: the vector the boot sector installed.
    assert!(answer(&out, 11).contains("INT# 0x61 > 0000:7c54 (0x00007c54)"));
    // 12-13: one step to the CALL, then `p` steps over the whole call (and its output).
    assert!(
        answer(&out, 12).contains("call 0x7c4a"),
        "{}",
        answer(&out, 12)
    );
    let a = answer(&out, 13);
    assert!(a.contains("Hello from the boot sector"), "{a}");
    assert!(a.contains("0000:7c24  b40e             mov ah, 0xe"), "{a}");
    // 14: the list.
    let a = answer(&out, 14);
    assert!(a.contains("1    y    1     vbreak  0000:7c00"), "{a}");
    assert!(
        a.contains("2    y    1     watch   w lin 0x00000500 len 2"),
        "{a}"
    );
    // 15-16: an interrupt breakpoint with AH stops at the handler.
    let a = answer(&out, 16);
    assert!(
        a.contains("interrupt breakpoint: INT 0x61 (AH=0x0e) via IVT[0x61] at 0x00184 -> 0000:7c54, return to 0000:7c28"),
        "{a}"
    );
    assert!(
        a.contains("0000:7c54  ff060405         inc word [0x504]"),
        "{a}"
    );
    // 17: the stack holds the return address, CS and FLAGS.
    let a = answer(&out, 17);
    assert!(a.contains("[0x7c28]"), "{a}");
    assert!(a.contains("[0x0000]"), "{a}");
    // 18: the counter is not incremented yet.
    assert!(answer(&out, 18).starts_with("0x0 (0)"));
}

#[test]
fn watch_io_magic_trace_and_changes() {
    let dir = std::env::temp_dir().join(format!("glassbox-dbg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("cmds.txt");
    std::fs::write(&src, "# a comment\nset ax = 0x55aa\n? ax + 1\n").unwrap();
    let script = format!(
        "\
lb 0x7c00
c
source {}
iob 0xe9 w
c
magic on
d 2
c
trace on
s 3
trace off
setpmem 0x510 2 0xbeef
xp /1hx 0x510
set zf = 1
r
bogus
help watch
info device pic
show io
lb 0x7c4f if al == 0x6f
c
q
",
        src.display()
    );
    let (status, out, err) = debug_session(&script, &[]);
    assert_eq!(status, Some(0), "{out}\n{err}");
    // source echoes and runs each command.
    let a = answer(&out, 3);
    assert!(a.contains("> set ax = 0x55aa"), "{a}");
    assert!(a.contains("0x55ab (21931)"), "{a}");
    // An I/O breakpoint names the port, the device and the value.
    let a = answer(&out, 5);
    assert!(
        a.contains("I/O breakpoint: out 0x00e9 (debugcon) <- 0x48"),
        "{a}"
    );
    // The magic breakpoint stops after `xchg bx, bx`.
    let a = answer(&out, 8);
    assert!(a.contains("stopped: magic breakpoint (xchg bx, bx)"), "{a}");
    assert!(a.contains("mov word [0x502], 0xbeef"), "{a}");
    // The instruction trace shows register changes and memory writes.
    let a = answer(&out, 10);
    assert!(a.contains("[0x502]<-0xbeef"), "{a}");
    assert!(a.contains("0000:7c3b mov si, 0x7c75"), "{a}");
    assert!(a.contains("esp=0x7c00->0x7bfe [0x7bfe]<-0x7c41"), "{a}");
    // setpmem and xp.
    assert!(answer(&out, 13).contains("0x00000510: 0xbeef"));
    // set zf shows in r.
    assert!(answer(&out, 15).contains(" ZF "), "{}", answer(&out, 15));
    // Errors are messages, not crashes.
    assert!(answer(&out, 16).contains("error: unknown command `bogus`"));
    assert!(answer(&out, 17).contains("watch r|w|rw [lin|phys] ADDR [LEN]"));
    assert!(answer(&out, 18).contains("8259"), "{}", answer(&out, 18));
    // show io prints every port access while running; the conditional breakpoint at the
    // OUT fires only for the second character ('o'), after the first ('B') went out.
    let a = answer(&out, 21);
    assert!(a.contains("out 0x00e9 (debugcon) <- 0x42"), "{a}");
    assert!(a.contains("breakpoint at linear 0x7c4f"), "{a}");
    assert!(!a.contains("<- 0x6f"), "{a}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_run_ends_with_the_guest() {
    // `c` to the end: the boot sector halts with interrupts off; the prompt stays usable.
    let script = "\
show int
c
r
info gdt
setpmem 0x1000 4 0x2007
setpmem 0x2000 4 0x7003
setpmem 0x2004 4 0x8003
setpmem 0x2008 4 0x20007
setpmem 0x8004 4 0x12345678
set cr3 = 0x1000
set cr0 = 0x80000011
info tab
x /1wx 0x1004
creg
info ldt
q
";
    let (status, out, _) = debug_session(script, &[]);
    assert_eq!(status, Some(0));
    assert!(out.contains("Boot sector done"));
    let a = answer(&out, 2);
    assert!(
        a.contains("stopped: the CPU halted with nothing left to wake it"),
        "{a}"
    );
    // show int printed the INT 61h on the way.
    assert!(a.contains("INT 0x61 (AH=0x0e) via IVT[0x61]"), "{a}");
    assert!(
        answer(&out, 3).contains("eip: 0x00007c48"),
        "{}",
        answer(&out, 3)
    );
    // The GDT the boot sector loaded, decoded.
    let a = answer(&out, 4);
    assert!(
        a.contains("GDT (base 0x00007c88, limit 0x17): 3 entries"),
        "{a}"
    );
    assert!(
        a.contains("GDT[0x00] (selector 0x0000) = 0x0000000000000000: null"),
        "{a}"
    );
    assert!(
        a.contains("GDT[0x01] (selector 0x0008) = 0x00cf9a000000ffff: base 0x00000000 limit 0xffffffff: code, readable, 32-bit, DPL 0, present, 4 KiB granularity"),
        "{a}"
    );
    assert!(a.contains("GDT[0x02] (selector 0x0010) = 0x00cf92000000ffff: base 0x00000000 limit 0xffffffff: data, writable, 32-bit"), "{a}");
    // Page tables written by hand, walked by `info tab` and by `x` on linear addresses.
    let a = answer(&out, 12);
    assert!(a.contains("page directory at 0x00001000"), "{a}");
    assert!(
        a.contains("0x00000000-0x00001fff -> 0x00007000-0x00008fff WS---"),
        "{a}"
    );
    assert!(
        a.contains("0x00002000-0x00002fff -> 0x00020000-0x00020fff WU---"),
        "{a}"
    );
    assert!(
        answer(&out, 13).contains("0x00001004: 0x12345678"),
        "{}",
        answer(&out, 13)
    );
    assert!(answer(&out, 14).contains("cr0: 0x80000011: PG cd nw am wp ne ET ts em mp PE"));
    assert!(answer(&out, 15).contains("no LDT is loaded"));
    // End of input ends the session like `q`.
    let (status, _, _) = debug_session("s\n", &[]);
    assert_eq!(status, Some(0));
}

#[test]
fn ctrl_c_breaks_into_a_running_machine() {
    // A guest that spins forever: `c` runs until SIGINT, then the prompt answers.
    let dir = std::env::temp_dir().join(format!("glassbox-spin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let img = dir.join("spin.bin");
    std::fs::write(&img, [0xEB, 0xFE]).unwrap(); // jmp $
    let mut child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["run", "--load"])
        .arg(format!("{}@0x7c00", img.display()))
        .args(["--entry", "0000:7C00", "--debug"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start glassbox");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"c\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    stdin.write_all(b"r\nq\n").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(answer(&text, 1).contains("stopped: interrupted"), "{text}");
    assert!(answer(&text, 1).contains("0000:7c00  ebfe             jmp short 0x7c00"));
    assert!(answer(&text, 2).contains("eip: 0x00007c00"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn explained_trace_of_a_boot_sector() {
    let dir = std::env::temp_dir().join(format!("glassbox-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("boot.jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .current_dir(root())
        .args(["run", "--bios", "test-roms/bootstrap.bin"])
        .args([
            "--load",
            "test-roms/boot/hello.img@0x7c00",
            "--debugcon",
            "none",
        ])
        .arg("--trace")
        .arg(&file)
        .output()
        .expect("run glassbox");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let kind = |k: &'static str| lines.iter().filter(move |l| l["kind"] == k);
    // The first instruction is the reset vector's far jump, in real mode.
    let first = kind("insn").next().unwrap();
    assert_eq!(first["mode"], "real");
    assert_eq!(first["cs"], "0xf000");
    assert_eq!(first["ip"], "0xfff0");
    assert_eq!(first["linear"], "0xfffffff0");
    assert_eq!(first["bytes"], "ea00ff00f0");
    assert_eq!(first["asm"], "jmp 0xf000:0xff00");
    // The far jump reloads CS: a segment load with its hidden base.
    let cs_load = kind("seg").next().unwrap();
    assert_eq!(cs_load["reg"], "cs");
    assert_eq!(cs_load["base"], "0xf0000");
    // MOV AX, 1234h at 7C18 shows the register change.
    let mov = kind("insn").find(|l| l["linear"] == "0x7c18").unwrap();
    assert_eq!(mov["asm"], "mov ax, 0x1234");
    assert_eq!(mov["changes"]["eax"], serde_json::json!(["0x0", "0x1234"]));
    // ... and the store after it is a memory write.
    let n = mov["n"].as_u64().unwrap() + 1;
    let store = kind("mem").find(|l| l["n"] == n).unwrap();
    assert_eq!(store["op"], "write");
    assert_eq!(store["phys"], "0x500");
    assert_eq!(store["value"], "0x1234");
    // INT 61h: delivered through the IVT, with its handler and return address.
    let int = kind("int").next().unwrap();
    assert_eq!(int["vector"], "0x61");
    assert_eq!(int["source"], "software");
    assert_eq!(int["via"], "ivt");
    assert_eq!(int["entry"], "0x184");
    assert_eq!(int["handler"], "0000:7c54");
    assert_eq!(int["return"], "0000:7c28");
    assert_eq!(int["ah"], "0xe");
    // Port output names the device.
    let io = kind("io").next().unwrap();
    assert_eq!(io["op"], "out");
    assert_eq!(io["port"], "0xe9");
    assert_eq!(io["device"], "debugcon");
    assert_eq!(io["value"], "0x48");

    // A filter keeps only the listed kinds inside the address range.
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .current_dir(root())
        .args(["run", "--bios", "test-roms/bootstrap.bin"])
        .args([
            "--load",
            "test-roms/boot/hello.img@0x7c00",
            "--debugcon",
            "none",
        ])
        .arg("--trace")
        .arg(&file)
        .args(["--trace-filter", "insn,int@0x7c00-0x7c2f"])
        .output()
        .expect("run glassbox");
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(&file).unwrap();
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v["kind"] == "insn" || v["kind"] == "int", "{l}");
        if v["kind"] == "insn" {
            let lin =
                u32::from_str_radix(v["linear"].as_str().unwrap().trim_start_matches("0x"), 16)
                    .unwrap();
            assert!((0x7c00..=0x7c2f).contains(&lin), "{l}");
        }
    }
    assert!(text.lines().count() > 10);

    // A bad filter is an error naming it.
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["run", "--trace"])
        .arg(&file)
        .args(["--trace-filter", "insn,bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`bogus` is not a trace kind"));
    std::fs::remove_dir_all(&dir).ok();
}

/// Runs `rom` plainly and under the debugger (with a breakpoint that never fires, so every
/// instruction goes through the stepping engine) and compares the two machines.
fn same_run_with_debugger(rom: &str, model: CpuModel) {
    let image = std::fs::read(root().join(rom)).unwrap();
    let build = || {
        let mut pc = Pc::new(MachineConfig {
            cpu: model,
            memory: 16 << 20,
            clock_hz: None,
            debugcon: DebugSink::Buffer,
            ..Default::default()
        })
        .unwrap();
        pc.load_bios(&image).unwrap();
        pc
    };
    let mut plain = build();
    let stop = plain.run(RunLimits {
        max_instructions: Some(50_000_000),
    });
    let mut debugged = build();
    let mut dbg = Debugger::new();
    dbg.max_instructions = Some(50_000_000);
    dbg.add_point(PointKind::Linear(0xDEAD_BEEF), None, Owner::User);
    let mut sink = Vec::new();
    let reason = dbg.resume(&mut debugged, Resume::Continue, &mut sink);
    assert_eq!(reason, StopReason::Machine(stop), "{rom} on {model:?}");
    assert!(
        matches!(stop, Stop::Exit(0)),
        "{rom} on {model:?} failed: {stop:?}"
    );
    assert_eq!(
        plain.cpu.instructions, debugged.cpu.instructions,
        "{rom} {model:?}"
    );
    assert_eq!(plain.cpu.cycles, debugged.cpu.cycles, "{rom} {model:?}");
    assert_eq!(plain.cpu.regs, debugged.cpu.regs, "{rom} {model:?}");
    assert_eq!(plain.cpu.eip, debugged.cpu.eip);
    assert_eq!(
        plain.debug_output(),
        debugged.debug_output(),
        "{rom} {model:?}"
    );
}

#[test]
fn attaching_the_debugger_changes_nothing() {
    for model in [CpuModel::I8086, CpuModel::I286, CpuModel::I486] {
        for rom in [
            "test-roms/interrupts.bin",
            "test-roms/segwrap.bin",
            "test-roms/a20.bin",
        ] {
            same_run_with_debugger(rom, model);
        }
    }
}

#[test]
#[cfg_attr(debug_assertions, ignore = "1.4 million single steps: run in release")]
fn attaching_the_debugger_changes_nothing_with_rep_and_irqs() {
    // REP string instructions interrupted by the PIT's IRQ0 at exact cycles.
    for model in [CpuModel::I8086, CpuModel::I486] {
        same_run_with_debugger("test-roms/string.bin", model);
    }
}

/// A machine with `code` at 0000:7C00, started there.
fn machine_with(code: &[u8]) -> Pc {
    let mut pc = Pc::new(MachineConfig {
        cpu: CpuModel::I486,
        memory: 1 << 20,
        clock_hz: None,
        debugcon: DebugSink::Buffer,
        ..Default::default()
    })
    .unwrap();
    pc.load_image(0x7C00, code).unwrap();
    pc.set_entry(0, 0x7C00);
    pc
}

#[test]
fn mode_switch_breakpoint() {
    // mov eax, cr0; or al, 1; mov cr0, eax; jmp $
    let mut pc = machine_with(&[0x0F, 0x20, 0xC0, 0x0C, 0x01, 0x0F, 0x22, 0xC0, 0xEB, 0xFE]);
    let mut dbg = Debugger::new();
    dbg.add_point(PointKind::ModeSwitch, None, Owner::User);
    let mut sink = Vec::new();
    match dbg.resume(&mut pc, Resume::Continue, &mut sink) {
        StopReason::Point { what, .. } => assert_eq!(what, "mode switch: real -> prot16"),
        other => panic!("{other:?}"),
    }
    assert_eq!(pc.cpu.eip, 0x7C08);
    // The machine goes on in 16-bit protected mode with the real-mode segment caches: the
    // JMP $ runs, step after step.
    let before = pc.cpu.instructions;
    for _ in 0..2 {
        let r = dbg.resume(&mut pc, Resume::Step(1), &mut sink);
        assert!(matches!(r, StopReason::Stepped), "{r:?}");
        assert_eq!(pc.cpu.eip, 0x7C08);
    }
    assert_eq!(pc.cpu.instructions, before + 2);
    assert!(pc.cpu.protected());
}

#[test]
fn instruction_count_and_conditions() {
    // inc ax; jmp short -3 (a loop counting in AX)
    let mut pc = machine_with(&[0x40, 0xEB, 0xFD]);
    let mut dbg = Debugger::new();
    let mut sink = Vec::new();
    dbg.add_point(PointKind::ICount(101), None, Owner::User);
    let r = dbg.resume(&mut pc, Resume::Continue, &mut sink);
    assert!(matches!(r, StopReason::Point { .. }), "{r:?}");
    assert_eq!(pc.cpu.instructions, 101);
    // The count point fires once; a conditional breakpoint fires when AX reaches 0x80.
    let cond = glassbox::debugger::expr::Expr::parse("ax == 0x80").unwrap();
    dbg.add_point(PointKind::Linear(0x7C00), Some(cond), Owner::User);
    let r = dbg.resume(&mut pc, Resume::Continue, &mut sink);
    assert!(matches!(r, StopReason::Point { .. }), "{r:?}");
    assert_eq!(pc.cpu.regs[0], 0x80);
    assert_eq!(pc.cpu.eip, 0x7C00);
    // `p` over an ordinary instruction is a single step.
    let r = dbg.resume(&mut pc, Resume::StepOver, &mut sink);
    assert_eq!(r, StopReason::Stepped);
    assert_eq!(pc.cpu.eip, 0x7C01);
}
