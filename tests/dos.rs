//! FreeDOS on our BIOS, driven the way a tester drives DOS: boot from the floppy in
//! `../shared/guests/freedos` headless, type commands through the keyboard controller and
//! read the answers off the VGA text screen.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "support/fatdisk.rs"]
mod fatdisk;

/// The FreeDOS boot floppy, or `None` (with a loud note) where the shared guests are missing.
fn freedos_floppy() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("GLASSBOX_GUESTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/guests"));
    let img = dir.join("freedos/fd-minimal-1440k.img");
    if img.is_file() {
        Some(img)
    } else {
        eprintln!(
            "SKIPPED: {} is missing (set GLASSBOX_GUESTS to the guests folder)",
            img.display()
        );
        None
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("glassbox-dos-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn glassbox(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(args)
        .output()
        .expect("run glassbox")
}

/// Runs a script against FreeDOS with `extra` flags; returns the final text screen.
fn dos_session(name: &str, script: &str, extra: &[&str]) -> Option<String> {
    let floppy = freedos_floppy()?;
    let script_file = scratch(&format!("{name}.script"));
    std::fs::write(&script_file, script).unwrap();
    let screen = scratch(&format!("{name}.txt"));
    let mut args = vec![
        "run",
        "--fda",
        floppy.to_str().unwrap(),
        "--snapshot",
        "--display",
        "none",
        "--debugcon",
        "none",
        "--serial",
        "none",
        "--script",
        script_file.to_str().unwrap(),
        "--screen-dump",
        screen.to_str().unwrap(),
        "--max-instructions",
        "400000000",
        "--stats",
    ];
    args.extend_from_slice(extra);
    let out = glassbox(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "glassbox failed:\n{err}");
    eprintln!("{err}");
    Some(std::fs::read_to_string(&screen).expect("the screen dump"))
}

#[test]
fn freedos_boots_to_the_prompt_and_answers_ver_and_dir() {
    let script = r#"
wait "A:\\>"
sleep 1000
type "ver\n"
wait "FreeCom version"
type "dir\n"
wait "bytes free"
quit
"#;
    let Some(screen) = dos_session("ver-dir", script, &[]) else {
        return;
    };
    assert!(screen.contains("FreeCom version 0.82 pl 3"), "{screen}");
    assert!(screen.contains("KERNEL   SYS"), "{screen}");
    assert!(screen.contains("COMMAND  COM"), "{screen}");
    assert!(screen.contains("bytes free"), "{screen}");
}

#[test]
fn a_fat16_hard_disk_is_drive_c() {
    let disk = fatdisk::fat16_disk(16, &[("HELLO.TXT", b"Hello from drive C\r\n")]);
    let path = scratch("c.img");
    std::fs::write(&path, &disk).unwrap();
    let script = r#"
wait "A:\\>"
sleep 1000
type "type C:\\HELLO.TXT\n"
wait "Hello from drive C"
quit
"#;
    let Some(screen) = dos_session(
        "hello",
        script,
        &["--hda", path.to_str().unwrap(), "--boot", "a"],
    ) else {
        return;
    };
    assert!(screen.contains("Hello from drive C"), "{screen}");
    // --snapshot: the image is unchanged.
    assert_eq!(std::fs::read(&path).unwrap(), disk);
}

#[test]
fn writes_reach_the_image_without_snapshot() {
    let Some(floppy) = freedos_floppy() else {
        return;
    };
    let copy = scratch("rw.img");
    std::fs::copy(&floppy, &copy).unwrap();
    let script = scratch("rw.script");
    std::fs::write(
        &script,
        "wait \"A:\\\\>\"\nsleep 1000\ntype \"copy readme.txt new.txt\\n\"\nwait \"=> new.txt\"\nsleep 500\nquit\n",
    )
    .unwrap();
    let out = glassbox(&[
        "run",
        "--fda",
        copy.to_str().unwrap(),
        "--display",
        "none",
        "--debugcon",
        "none",
        "--serial",
        "none",
        "--script",
        script.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let image = std::fs::read(&copy).unwrap();
    let entry = image.windows(11).any(|w| w == b"NEW     TXT");
    assert!(entry, "the new file's directory entry is on the image");
}
