//! Our own pass/fail test ROMs (`test-roms/*.bin`, sources beside them), run
//! through the `glassbox` binary under every CPU model each one supports.
//!
//! A ROM reports on the debug console (port 0xE9) one `PASS <group>` line per
//! check group or a `FAIL <group>: ...` line per failed check, then `ALL PASS`
//! or `FAILED <n>`, and ends the run through the exit device (port 0xF4), so
//! a passing run exits with status 1 (`(0 << 1) | 1`). Every ROM also prints
//! `cpu class: <model>` as detected with the classic FLAGS tests, which must
//! name the model we asked for: that is what makes the per-class checks of
//! `interrupts`, `segwrap` and `a20` meaningful.
//!
//! The built-in demo disk (`bios/demo/demo.asm`, booted by our BIOS) is run here too; it
//! ends with a clean shutdown through the Bochs port 0x8900 (status 0).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A run that has not ended after this long has hung (the instruction limit
/// bounds the work; this bounds wall-clock time, e.g. a HLT nobody wakes).
const TIMEOUT: Duration = Duration::from_secs(600);

/// What a finished run printed and how it ended.
struct Run {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `glassbox run --bios <rom> --cpu <model> --debugcon stdio ...`.
fn run_glassbox(rom: &str, model: &str) -> Run {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .current_dir(root)
        .args(["run", "--bios", rom, "--cpu", model])
        .args(["--debugcon", "stdio", "--max-instructions", "200000000"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the glassbox binary");
    // Drain both pipes on their own threads so a chatty run cannot block.
    let mut out = child.stdout.take().expect("stdout is piped");
    let mut err = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for glassbox") {
            break status.code();
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

/// Runs one test ROM under one model and asserts that every check passed.
fn check_rom(name: &str, model: &str) {
    let rom = format!("test-roms/{name}.bin");
    let run = run_glassbox(&rom, model);
    let class_line = format!("cpu class: {model}");
    let passed = run.status == Some(1)
        && run.stdout.contains("ALL PASS")
        && !run.stdout.contains("FAIL")
        && run.stdout.lines().any(|l| l.trim() == class_line);
    assert!(
        passed,
        "{rom} on --cpu {model}: exit status {:?} (want 1), want `ALL PASS`, no `FAIL` \
         and `{class_line}`\n--- stdout ---\n{}\n--- stderr ---\n{}",
        run.status, run.stdout, run.stderr
    );
}

/// One `#[test]` per ROM and model, so a failure names both.
macro_rules! rom_tests {
    ($($test:ident: $rom:literal on $model:literal;)*) => {
        $(
            #[test]
            fn $test() {
                check_rom($rom, $model);
            }
        )*
    };
}

rom_tests! {
    alu_8086: "alu" on "8086";
    alu_186: "alu" on "186";
    alu_286: "alu" on "286";
    alu_386: "alu" on "386";
    alu_486: "alu" on "486";
    string_8086: "string" on "8086";
    string_186: "string" on "186";
    string_286: "string" on "286";
    string_386: "string" on "386";
    string_486: "string" on "486";
    interrupts_8086: "interrupts" on "8086";
    interrupts_186: "interrupts" on "186";
    interrupts_286: "interrupts" on "286";
    interrupts_386: "interrupts" on "386";
    interrupts_486: "interrupts" on "486";
    segwrap_8086: "segwrap" on "8086";
    segwrap_186: "segwrap" on "186";
    segwrap_286: "segwrap" on "286";
    segwrap_386: "segwrap" on "386";
    segwrap_486: "segwrap" on "486";
    a20_8086: "a20" on "8086";
    a20_186: "a20" on "186";
    a20_286: "a20" on "286";
    a20_386: "a20" on "386";
    a20_486: "a20" on "486";
    addr32_386: "addr32" on "386";
    addr32_486: "addr32" on "486";
    pmode_386: "pmode" on "386";
    pmode_486: "pmode" on "486";
    pmode_pentium: "pmode" on "pentium";
    pmode_pentium2: "pmode" on "pentium2";
    v86_386: "v86" on "386";
    v86_486: "v86" on "486";
    v86_pentium: "v86" on "pentium";
    v86_pentium2: "v86" on "pentium2";
    paging_386: "paging" on "386";
    paging_486: "paging" on "486";
    paging_pentium: "paging" on "pentium";
    paging_pentium2: "paging" on "pentium2";
    debugreg_386: "debugreg" on "386";
    debugreg_486: "debugreg" on "486";
    debugreg_pentium: "debugreg" on "pentium";
    debugreg_pentium2: "debugreg" on "pentium2";
    x87_486: "x87" on "486";
    x87_pentium: "x87" on "pentium";
    x87_pentium2: "x87" on "pentium2";
    triple_286: "triple" on "286";
    triple_386: "triple" on "386";
    triple_486: "triple" on "486";
    triple_pentium: "triple" on "pentium";
    triple_pentium2: "triple" on "pentium2";
}

/// The built-in demo disk (what `glassbox` with no arguments boots): banner, picture and
/// prompt, then with nobody typing it says goodbye after a minute of virtual time (status 0).
fn check_demo(model: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["run", "--cpu", model, "--display", "none"])
        .output()
        .expect("run glassbox");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ok = out.status.code() == Some(0)
        && stdout.contains("booting from floppy")
        && stdout.contains("=== Glassbox demo ===")
        && stdout.contains("Mandelbrot set: 320x200, 256 colours")
        && stdout.contains("demo> ")
        && stdout.contains("No key for a minute: goodbye.");
    assert!(
        ok,
        "the demo on --cpu {model}: exit status {:?} (want 0)\n--- stdout ---\n{stdout}\n\
         --- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn demo_8086() {
    check_demo("8086");
}

#[test]
fn demo_486() {
    check_demo("486");
}

/// A newcomer's session with the demo: the picture in mode 13h, then the prompt.
#[test]
fn demo_picture_and_prompt() {
    let dir = std::env::temp_dir().join(format!("glassbox-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("mandel.png");
    let script = dir.join("demo.script");
    std::fs::write(
        &script,
        format!(
            "wait \"Space: next\"\ndump {}\ntype \" \"\nwait \"demo> \"\ntype \"mem\\n\"\n\
             wait \"Conventional memory\"\ntype \"exit\\n\"\nwait \"Goodbye\"\n",
            png.display()
        ),
    )
    .unwrap();
    let screen = dir.join("end.txt");
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["run", "--display", "none", "--debugcon", "none", "--script"])
        .arg(&script)
        .arg("--screen-dump")
        .arg(&screen)
        .output()
        .expect("run glassbox");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&screen).unwrap();
    assert!(text.contains("Conventional memory: 639 KiB"), "{text}");
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (320, 200), "mode 13h");
    let colours: std::collections::HashSet<&[u8]> = buf.chunks(3).collect();
    assert!(
        colours.len() > 40,
        "a 256-colour picture: {} colours",
        colours.len()
    );
    std::fs::remove_dir_all(&dir).ok();
}
