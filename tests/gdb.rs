//! `glassbox run --gdb` against a real gdb: breakpoints, 16-bit disassembly, stepping,
//! watchpoints, registers, memory, `monitor`, detach, kill and the guest's exit; gdb's
//! interrupt through the remote protocol itself. Tests skip (and say so) when gdb is not
//! installed and `tests/support/install-gdb.sh` cannot install it.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// How long one gdb session or one wait for glassbox may take.
const TIMEOUT: Duration = Duration::from_secs(60);

fn has_gdb() -> bool {
    Command::new("gdb")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether gdb is available, installing it once per test process when it is not.
fn gdb_available() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        if has_gdb() {
            return true;
        }
        let script = Path::new(ROOT).join("tests/support/install-gdb.sh");
        let _ = Command::new("sh").arg(script).status();
        has_gdb()
    })
}

macro_rules! require_gdb {
    () => {
        if !gdb_available() {
            eprintln!("skipped: gdb not available");
            return;
        }
    };
}

/// A scratch directory unique to this test process.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("glassbox-gdb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A port nobody listens on (for a moment).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Waits up to [`TIMEOUT`] for `child` to end; kills it after that.
fn wait_or_kill(child: &mut Child, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A glassbox process serving gdb; killed when dropped, so no test leaves one running.
struct Glassbox {
    child: Child,
    port: u16,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Glassbox {
    /// Starts `glassbox run ARGS --gdb 127.0.0.1:PORT` and waits until it listens.
    fn start(args: &[&str]) -> Glassbox {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .current_dir(ROOT)
            .arg("run")
            .args(args)
            .args(["--gdb", &addr, "--debugcon", "none"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start glassbox");
        let (tx, lines) = mpsc::channel();
        let stderr = Arc::new(Mutex::new(String::new()));
        let all = stderr.clone();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                all.lock().unwrap().push_str(&line);
                all.lock().unwrap().push('\n');
                let _ = tx.send(line);
            }
        });
        let mut g = Glassbox {
            child,
            port,
            lines,
            stderr,
        };
        // "waiting for gdb on ADDR", or "gdb can attach on ADDR" without --wait-gdb.
        g.expect_line(&format!(" on {addr}"))
            .expect("glassbox listening for gdb");
        g
    }

    /// Waits for a line of glassbox's stderr containing `text`; `None` if the process ended.
    fn expect_line(&mut self, text: &str) -> Option<String> {
        let deadline = Instant::now() + TIMEOUT;
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if line.contains(text) {
                return Some(line);
            }
        }
        None
    }

    /// Runs gdb in batch mode: `target remote`, then `commands`. Returns stdout and stderr.
    fn gdb(&self, commands: &[&str]) -> String {
        let dir = scratch();
        let out_path = dir.join(format!("gdb-{}.out", self.port));
        let out = File::create(&out_path).unwrap();
        let err = out.try_clone().unwrap();
        let mut cmd = Command::new("gdb");
        cmd.args(["-batch", "-nx", "-ex"])
            .arg(format!("target remote 127.0.0.1:{}", self.port));
        for c in commands {
            cmd.arg("-ex").arg(c);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start gdb");
        wait_or_kill(&mut child, "gdb");
        std::fs::read_to_string(&out_path).unwrap()
    }

    /// Waits for glassbox to end; returns its status and everything it wrote to stderr.
    fn finish(mut self) -> (ExitStatus, String) {
        let status = wait_or_kill(&mut self.child, "glassbox");
        // The reader thread ends with the pipe; give it a moment to take the last lines.
        std::thread::sleep(Duration::from_millis(50));
        let err = self.stderr.lock().unwrap().clone();
        (status, err)
    }
}

impl Drop for Glassbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const HELLO: [&str; 5] = [
    "--bios",
    "test-roms/bootstrap.bin",
    "--load",
    "test-roms/boot/hello.img@0x7c00",
    "--wait-gdb",
];

/// Asserts that `text` contains each of `parts`, in this order.
fn assert_in_order(text: &str, parts: &[&str]) {
    let mut rest = text;
    for p in parts {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => panic!("expected `{p}` (in order of {parts:?}) in gdb's output:\n{text}"),
        }
    }
}

#[test]
fn gdb_debugs_a_real_mode_boot_sector() {
    require_gdb!();
    let g = Glassbox::start(&HELLO);
    let out = g.gdb(&[
        "break *0x7c00",
        "continue",
        "p/x $pc",
        "x/3i $pc",
        "stepi",
        "p/x $pc",
        "info registers",
        "p/x $cr0 & 1",
        "p/x $csbase",
        "watch *(short*)0x500",
        "continue",
        "p/x $eax",
        "delete",
        "monitor r",
        "monitor info ivt 61",
        "set {short}0x500 = 0x55aa",
        "x/1hx 0x500",
        "set $ebx = 0xbeef",
        "monitor print bx",
        "awatch *(short*)0x504",
        "continue",
        "delete",
        "detach",
    ]);
    assert_in_order(
        &out,
        &[
            "Breakpoint 1 at 0x7c00",
            "Breakpoint 1, 0x00007c00",
            "$1 = 0x7c00",
            // 16-bit decoding: `xor ax, ax` is 31 C0, not the start of a 32-bit instruction.
            "=> 0x7c00:\tcli",
            "0x7c01:\txor    %ax,%ax",
            "0x7c03:\tmov    %ax,%ds",
            "$2 = 0x7c01",
            "eip            0x7c01",
            "eflags",
            "cs             0x0",
            "$3 = 0x0",
            "$4 = 0x0",
            "Hardware watchpoint 2: *(short*)0x500",
            "Old value = 0",
            "New value = 4660",
            "$5 = 0x1234",
            "eflags",
            "mode: real",
            "0x61 > 0000:7c",
            "0x500:\t0x55aa",
            "0xbeef (48879)",
            "Hardware access (read/write) watchpoint 3: *(short*)0x504",
            "New value = 1",
            "[Inferior 1 (process 1) detached]",
        ],
    );
    assert!(!out.contains("warning: A handler for the OS ABI"), "{out}");
    // Detached, the machine runs on to its final HLT.
    let (status, err) = g.finish();
    assert_eq!(status.code(), Some(0), "{err}");
    assert_in_order(
        &err,
        &[
            "waiting for gdb on",
            "gdb connected",
            "gdb detached",
            "halted",
        ],
    );
}

#[test]
fn gdb_sees_the_guest_exit_and_kill_ends_the_run() {
    require_gdb!();
    // mov al, 0x2A; out 0xF4, al: exit with value 42, process status (42 << 1) | 1 = 85.
    let prog = scratch().join("exit42.bin");
    std::fs::write(&prog, [0xB0, 0x2A, 0xE6, 0xF4]).unwrap();
    let spec = format!("{}@0x7c00", prog.display());
    let args = ["--load", &spec, "--entry", "0000:7C00", "--wait-gdb"];

    let g = Glassbox::start(&args);
    let out = g.gdb(&["continue"]);
    assert!(out.contains("exited with code 0125"), "{out}");
    let (status, err) = g.finish();
    assert_eq!(status.code(), Some(85), "{err}");

    let g = Glassbox::start(&args);
    let out = g.gdb(&["stepi", "p/x $pc", "kill"]);
    assert_in_order(&out, &["$1 = 0x7c02"]);
    let (status, err) = g.finish();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("gdb killed the run"), "{err}");
}

/// A minimal remote-protocol client, for what gdb's batch mode cannot do (Ctrl-C).
struct Rsp(TcpStream);

impl Rsp {
    fn send(&mut self, body: &str) {
        let sum = body.bytes().fold(0u8, |a, b| a.wrapping_add(b));
        write!(self.0, "${body}#{sum:02x}").unwrap();
    }

    fn byte(&mut self) -> u8 {
        let mut b = [0];
        self.0.read_exact(&mut b).expect("a reply from the stub");
        b[0]
    }

    /// The next packet's body (acknowledged, run-length encoding expanded).
    fn recv(&mut self) -> String {
        while self.byte() != b'$' {}
        let mut body = Vec::new();
        loop {
            match self.byte() {
                b'#' => break,
                // `X*N`: X repeated N - 29 more times.
                b'*' => {
                    let n = self.byte() - 29;
                    let last = *body.last().unwrap();
                    body.extend(std::iter::repeat_n(last, n as usize));
                }
                b => body.push(b),
            }
        }
        self.byte();
        self.byte();
        self.0.write_all(b"+").unwrap();
        String::from_utf8(body).unwrap()
    }

    fn ask(&mut self, body: &str) -> String {
        self.send(body);
        self.recv()
    }

    /// The linear pc (`eip`, register 8) from a `g` reply.
    fn pc(&mut self) -> u32 {
        let regs = self.ask("g");
        let hex = &regs[64..72];
        let b: Vec<u8> = (0..4)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

#[test]
fn gdb_attaches_to_a_running_machine_and_interrupts_it() {
    require_gdb!();
    // inc ax; jmp short $-1: runs until stopped.
    let prog = scratch().join("spin.bin");
    std::fs::write(&prog, [0x40, 0xEB, 0xFD]).unwrap();
    let spec = format!("{}@0x7c00", prog.display());
    let mut g = Glassbox::start(&["--load", &spec, "--entry", "0000:7C00"]);
    let stream = TcpStream::connect(("127.0.0.1", g.port)).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut rsp = Rsp(stream);
    assert!(g.expect_line("gdb connected").is_some());
    let stop = rsp.ask("?");
    assert!(stop.starts_with('S') || stop.starts_with('T'), "{stop}");
    let at = rsp.pc();
    assert!((0x7C00..=0x7C01).contains(&at), "{at:#x}");
    // Continue, then gdb's interrupt byte: the stub stops the machine with SIGINT.
    rsp.send("c");
    std::thread::sleep(Duration::from_millis(100));
    rsp.0.write_all(&[0x03]).unwrap();
    let stop = rsp.recv();
    assert!(stop.starts_with("S02") || stop.starts_with("T02"), "{stop}");
    let at = rsp.pc();
    assert!((0x7C00..=0x7C01).contains(&at), "{at:#x}");
    rsp.send("k");
    let (status, err) = g.finish();
    assert_eq!(status.code(), Some(0), "{err}");
}

#[test]
fn a_bad_gdb_address_is_a_clear_error() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = busy.local_addr().unwrap().to_string();
    for bad in ["nonsense", "127.0.0.1:99999", busy.as_str()] {
        let o = Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .current_dir(ROOT)
            .args(["run", "--bios", "test-roms/bootstrap.bin", "--gdb", bad])
            .output()
            .expect("run glassbox");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(8), "{err}");
        assert!(err.contains("--gdb"), "{err}");
        assert!(err.contains(bad), "{err}");
    }
}
