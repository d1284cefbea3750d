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
        (&["run", "--accel", "fast"], "--accel"),
        (
            &["run", "--accel", "kvm", "--max-instructions", "10"],
            "--max-instructions",
        ),
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

#[test]
fn bad_disks_and_configs_are_clear_errors() {
    // A floppy image of a size no drive takes.
    let odd = scratch("odd.img", &[0u8; 1000]);
    let o = glassbox(&["run", "--fda", odd.to_str().unwrap(), "--display", "none"]);
    assert_eq!(o.status.code(), Some(8));
    let e = stderr(&o);
    assert!(e.contains("odd.img"), "{e}");
    // A disk that does not exist.
    let o = glassbox(&["run", "--hda", "/nonexistent/c.img"]);
    assert_eq!(o.status.code(), Some(8));
    assert!(stderr(&o).contains("/nonexistent/c.img"), "{}", stderr(&o));
    // A config with an unknown field names file, line, column and the fields it takes.
    let cfg = scratch("bad.ron", b"(\n  cpu: \"486\",\n  floppy: \"a.img\",\n)\n");
    let o = glassbox(&["run", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(8));
    let e = stderr(&o);
    assert!(e.contains("bad.ron:3:3"), "{e}");
    assert!(e.contains("fda"), "{e}");
    // A bad value names the choices.
    let cfg = scratch("bad2.ron", b"(display: \"vga\")\n");
    let e = stderr(&glassbox(&["run", cfg.to_str().unwrap()]));
    assert!(e.contains("bad2.ron:1") && e.contains("\"window\""), "{e}");
    let cfg = scratch("bad3.ron", b"(accel: \"fast\")\n");
    let e = stderr(&glassbox(&["run", cfg.to_str().unwrap()]));
    assert!(e.contains("bad3.ron:1") && e.contains("\"kvm\""), "{e}");
    // Unknown key names and screen dump formats.
    let o = glassbox(&["run", "--type", "<nokey>"]);
    assert_eq!(o.status.code(), Some(8));
    assert!(stderr(&o).contains("<nokey>"), "{}", stderr(&o));
    let script = scratch("bad.script", b"wait \"x\"\nfly\n");
    let o = glassbox(&["run", "--script", script.to_str().unwrap()]);
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
    let o = glassbox(&["run", "--boot", "x"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn shipped_configs_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "ron") {
            glassbox::machine::config::ConfigFile::load(&p)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            n += 1;
        }
    }
    assert!(n >= 3);
}
