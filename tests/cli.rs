//! The `glassbox` command line: exit statuses, statistics and clear errors for bad input.

use std::path::PathBuf;
use std::process::{Command, Output};

fn glassbox(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(args)
        .output()
        .expect("run glassbox")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch file unique to this test process.
fn scratch(name: &str, data: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("glassbox-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// `mov al, 0x2A; out 0xF4, al` — exit with value 42.
const EXIT_42: &[u8] = &[0xB0, 0x2A, 0xE6, 0xF4];
/// `inc ax; jmp short $-1` forever.
const SPIN: &[u8] = &[0x40, 0xEB, 0xFD];

#[test]
fn exit_port_value_becomes_the_process_status() {
    let prog = scratch("exit42.bin", EXIT_42);
    let spec = format!("{}@0x7c00", prog.display());
    let o = glassbox(&[
        "run",
        "--load",
        &spec,
        "--entry",
        "0000:7C00",
        "--cpu",
        "8086",
    ]);
    assert_eq!(o.status.code(), Some((42 << 1) | 1), "{}", stderr(&o));
}

#[test]
fn stats_and_instruction_limit() {
    let prog = scratch("spin.bin", SPIN);
    let spec = format!("{}@07C0:0000", prog.display());
    let o = glassbox(&[
        "run",
        "--load",
        &spec,
        "--entry",
        "07C0:0000",
        "--max-instructions",
        "5000",
        "--stats",
    ]);
    assert_eq!(o.status.code(), Some(4));
    let err = stderr(&o);
    assert!(err.contains("instructions: 5000"), "{err}");
    for key in ["cycles: ", "wall time: ", "guest MIPS: "] {
        assert!(err.contains(key), "missing `{key}` in {err}");
    }
}

#[test]
fn debugcon_to_a_file() {
    // mov al,'G'; out 0xE9,al; mov al,0; out 0xF4,al
    let prog = scratch(
        "hello.bin",
        &[0xB0, b'G', 0xE6, 0xE9, 0xB0, 0x00, 0xE6, 0xF4],
    );
    let out = scratch("debugcon.txt", b"");
    let spec = format!("{}@0x7c00", prog.display());
    let sink = format!("file:{}", out.display());
    let o = glassbox(&[
        "run",
        "--load",
        &spec,
        "--entry",
        "0:7c00",
        "--debugcon",
        &sink,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), b"G");
}

#[test]
fn the_built_in_demo_runs_with_no_arguments() {
    let o = glassbox(&["run", "--max-instructions", "50000000"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "a clean shutdown; stdout: {text}\nstderr: {}",
        stderr(&o)
    );
    assert!(text.contains("Glassbox"), "{text}");
}

#[test]
fn bad_flags_are_clear_errors() {
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--cpu", "z80"], "z80"),
        (&["run", "--bogus"], "--bogus"),
        (&["run", "--memory", "lots"], "--memory"),
        (&["run", "--memory", "100"], "memory size"),
        (&["run", "--debugcon", "printer"], "--debugcon"),
        (&["run", "--entry", "hello"], "--entry"),
        (&["run", "--load", "nofile"], "FILE@ADDR"),
        (
            &["run", "--bios", "/nonexistent/glassbox.rom"],
            "/nonexistent/glassbox.rom",
        ),
    ];
    for (args, needle) in cases {
        let o = glassbox(args);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert_ne!(
            o.status.code(),
            Some(1),
            "{args:?}: 1 is the guest's success status"
        );
        let err = stderr(&o);
        assert!(err.contains(needle), "{args:?}: `{needle}` not in: {err}");
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    }
}

#[test]
fn bad_images_name_the_file_and_the_problem() {
    let odd = scratch("odd.rom", &[0u8; 3000]);
    let o = glassbox(&["run", "--bios", odd.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(8), "{err}");
    assert!(
        err.contains("odd.rom") && err.contains("power of two"),
        "{err}"
    );

    let big = scratch("big.bin", &[0u8; 0x2000]);
    let spec = format!("{}@0xFFFF00", big.display());
    let o = glassbox(&["run", "--load", &spec, "--entry", "0:0", "--memory", "1M"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(8), "{err}");
    assert!(
        err.contains("big.bin") && err.contains("do not fit"),
        "{err}"
    );

    let prog = scratch("noentry.bin", EXIT_42);
    let spec = format!("{}@0x7c00", prog.display());
    let o = glassbox(&["run", "--load", &spec]);
    assert!(stderr(&o).contains("--entry"), "{}", stderr(&o));
}
