//! Linux on our BIOS: Debian 12's i686 kernel and a busybox initramfs (built once into
//! `target/guests/linux-i386` by `tests/support/linux-guest.sh`, from
//! `../shared/guests/linux/make-initramfs.sh`), booted with `--kernel/--initrd/--append` on
//! the machine of `configs/linux.ron`, watched on COM1.
//!
//! The boot takes a minute or two of wall time in a release build (`cargo test --release`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MARKER: &str = "EMU-LINUX-INITRAMFS-OK";
const APPEND: &str = "console=ttyS0 noapic nolapic acpi=off panic=-1";
/// The Pentium II's clock (virtual cycles per second).
const CLOCK_HZ: f64 = 300e6;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the guest (once) and returns its folder.
fn guest() -> PathBuf {
    let out = Command::new("sh")
        .arg(root().join("tests/support/linux-guest.sh"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run tests/support/linux-guest.sh");
    assert!(out.status.success(), "tests/support/linux-guest.sh failed");
    let dir = String::from_utf8_lossy(&out.stdout);
    let dir = PathBuf::from(dir.lines().last().expect("the guest folder").trim());
    assert!(dir.join("manifest.txt").is_file(), "{}", dir.display());
    dir
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("glassbox-linux-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// How a run ended.
struct Run {
    /// Exit status (`None`: killed).
    status: Option<i32>,
    /// What the run printed on stderr (`--stats`, the reason it stopped).
    stderr: String,
    /// COM1.
    serial: String,
    /// Wall time until the marker, when it came.
    marker_after: Option<Duration>,
}

/// Boots the guest with `extra` flags; stops waiting at the marker (then gives the guest a
/// minute to power off) or after `timeout`.
fn boot(name: &str, extra: &[&str], timeout: Duration) -> Run {
    let g = guest();
    let serial = scratch(&format!("{name}-com1.txt"));
    let screen = scratch(&format!("{name}-screen.txt"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .arg("run")
        .arg(root().join("configs/linux.ron"))
        .arg("--kernel")
        .arg(g.join("vmlinuz"))
        .arg("--initrd")
        .arg(g.join("initrd.gz"))
        .args(["--append", APPEND, "--display", "none", "--stats"])
        .arg(format!("--serial=file:{}", serial.display()))
        .arg("--screen-dump")
        .arg(&screen)
        .args(extra)
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
    let mut marker_after = None;
    let status = loop {
        // The serial file first: a guest that prints the marker and halts at once ends the
        // run between two looks.
        let text = std::fs::read_to_string(&serial).unwrap_or_default();
        if marker_after.is_none() && text.contains(MARKER) {
            marker_after = Some(start.elapsed());
        }
        if let Some(st) = child.try_wait().expect("wait") {
            if marker_after.is_none()
                && std::fs::read_to_string(&serial)
                    .unwrap_or_default()
                    .contains(MARKER)
            {
                marker_after = Some(start.elapsed());
            }
            break st.code();
        }
        let limit = marker_after.map_or(timeout, |t| t + Duration::from_secs(60));
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let stderr = reader.join().unwrap_or_default();
    let serial = std::fs::read_to_string(&serial).unwrap_or_default();
    let screen = std::fs::read_to_string(&screen).unwrap_or_default();
    eprintln!(
        "--- COM1 ---\n{serial}\n--- screen ---\n{}\n--- stderr ---\n{stderr}",
        screen.trim_end()
    );
    Run {
        status,
        stderr,
        serial,
        marker_after,
    }
}

/// A number after `key: ` in the `--stats` lines.
fn stat(stderr: &str, key: &str) -> Option<f64> {
    let line = stderr.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim_start_matches(':')
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The whole boot in the interpreter: real-mode setup on our BIOS, the decompressor, the
/// kernel in protected mode with paging, the busybox userland; `/init` prints `uname` and
/// `/proc/cpuinfo` facts, then the marker, then halts the machine.
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "billions of guest instructions: run in release"
)]
fn linux_boots_to_the_initramfs_marker() {
    let run = boot("marker", &[], Duration::from_secs(600));
    let wall = run
        .marker_after
        .expect("the marker on COM1 within 10 minutes");
    let line = |prefix: &str| {
        run.serial
            .lines()
            .find(|l| l.starts_with(prefix))
            .map(str::to_owned)
    };
    let kernel = line("init: kernel ").expect("the uname line");
    assert!(kernel.ends_with(" on i686"), "{kernel}");
    let cpu = line("init: cpu").expect("the /proc/cpuinfo model line");
    assert!(cpu.contains("Pentium II"), "{cpu}");
    let flags = line("init: flags").expect("the /proc/cpuinfo flags line");
    for f in [" fpu", " cx8", " cmov"] {
        assert!(flags.contains(f), "{flags}");
    }
    let cycles = stat(&run.stderr, "cycles");
    let mips = stat(&run.stderr, "guest MIPS");
    eprintln!(
        "marker after {:.1} s wall; run: status {:?}, virtual time {}, guest MIPS {}",
        wall.as_secs_f64(),
        run.status,
        cycles.map_or("unknown (killed)".into(), |c| format!(
            "{:.2} s",
            c / CLOCK_HZ
        )),
        mips.map_or("unknown (killed)".into(), |m| format!("{m:.1}")),
    );
}
