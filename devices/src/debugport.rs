//! The guest-visible debug devices: ways for a guest (our BIOS, test ROMs, a
//! kernel under test) to talk to the person running the emulator.
//!
//! | port   | device            | convention followed                     |
//! |--------|-------------------|-----------------------------------------|
//! | 0xE9   | [`DebugCon`]      | Bochs "port E9 hack" / QEMU `debugcon`  |
//! | 0xF4   | [`ExitPort`]      | QEMU `isa-debug-exit`                   |
//! | 0x80   | [`PostCode`]      | POST diagnostic card                    |
//! | 0x8900 | [`BochsShutdown`] | Bochs shutdown port                     |
//!
//! None of them raises an IRQ. They are not chips with datasheets; each
//! follows the emulator convention named above, so software written for Bochs
//! or QEMU works unchanged.

use crate::bus::{Device, IoCx, ResetKind};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};

/// The debug console port.
pub const DEBUGCON_PORT: u16 = 0xE9;
/// What a read of the debug console returns: the port number, so a guest can
/// detect the console (Bochs convention).
pub const DEBUGCON_READBACK: u8 = 0xE9;
/// The exit port.
pub const EXIT_PORT: u16 = 0xF4;
/// The POST code port.
pub const POST_PORT: u16 = 0x80;
/// The Bochs shutdown port.
pub const SHUTDOWN_PORT: u16 = 0x8900;
/// The byte sequence that, written to the shutdown port, powers off.
pub const SHUTDOWN_MAGIC: &[u8] = b"Shutdown";
/// How many POST codes [`PostCode`] keeps.
pub const POST_HISTORY: usize = 16;

/// Where the debug console's bytes go.
#[derive(Debug, Default)]
pub enum DebugSink {
    /// Dropped (still readable as a console, so the guest keeps working).
    #[default]
    None,
    /// The host's standard output, line-buffered.
    Stdout,
    /// A file.
    File(BufWriter<File>),
    /// Kept in memory; read back with [`DebugCon::output`] (tests).
    Buffer,
}

/// Bytes kept before a stdout sink without a newline is flushed anyway.
const STDOUT_LINE_LIMIT: usize = 4096;

/// Bochs/QEMU debug console on port 0xE9: every byte written is output.
#[derive(Debug)]
pub struct DebugCon {
    sink: DebugSink,
    /// Everything written, when the sink is [`DebugSink::Buffer`].
    captured: Vec<u8>,
    /// Pending partial line for the stdout sink.
    line: Vec<u8>,
    /// A write error was already reported.
    failed: bool,
    /// The most recent bytes, whatever the sink (scripts wait for text in them).
    tail: Vec<u8>,
}

/// Bytes [`DebugCon::tail`] keeps (at least half of it after trimming).
const TAIL_LIMIT: usize = 8192;

impl DebugCon {
    /// A console writing to `sink`.
    pub fn new(sink: DebugSink) -> Self {
        DebugCon {
            sink,
            captured: Vec::new(),
            line: Vec::new(),
            failed: false,
            tail: Vec::new(),
        }
    }

    /// The most recent output (the last 4–8 KiB), whatever the sink.
    pub fn tail(&self) -> &[u8] {
        &self.tail
    }

    /// Everything the guest wrote so far, with a [`DebugSink::Buffer`] sink
    /// (empty with any other sink).
    pub fn output(&self) -> &[u8] {
        &self.captured
    }

    /// Pushes buffered bytes to the sink.
    pub fn flush(&mut self) {
        let result = match &mut self.sink {
            DebugSink::Stdout => {
                let mut out = std::io::stdout().lock();
                let r = out.write_all(&self.line).and_then(|_| out.flush());
                self.line.clear();
                r
            }
            DebugSink::File(f) => f.flush(),
            DebugSink::None | DebugSink::Buffer => Ok(()),
        };
        self.report(result);
    }

    fn put(&mut self, byte: u8) {
        if self.tail.len() >= TAIL_LIMIT {
            self.tail.drain(..TAIL_LIMIT / 2);
        }
        self.tail.push(byte);
        let result = match &mut self.sink {
            DebugSink::None => Ok(()),
            DebugSink::Buffer => {
                self.captured.push(byte);
                Ok(())
            }
            DebugSink::File(f) => f.write_all(&[byte]),
            DebugSink::Stdout => {
                self.line.push(byte);
                if byte == b'\n' || self.line.len() >= STDOUT_LINE_LIMIT {
                    self.flush();
                }
                Ok(())
            }
        };
        self.report(result);
    }

    fn report(&mut self, result: std::io::Result<()>) {
        if let Err(e) = result {
            if !self.failed {
                log::warn!("debug console output failed: {e}; further errors not reported");
                self.failed = true;
            }
        }
    }
}

impl Drop for DebugCon {
    fn drop(&mut self) {
        self.flush();
    }
}

impl Device for DebugCon {
    fn name(&self) -> &'static str {
        "debugcon"
    }

    fn io_read(&mut self, _port: u16, _size: u8, _cx: &mut IoCx) -> u32 {
        u32::from(DEBUGCON_READBACK)
    }

    fn io_write(&mut self, _port: u16, _size: u8, value: u32, _cx: &mut IoCx) {
        self.put(value as u8);
    }

    fn inspect(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let sink = match self.sink {
            DebugSink::None => "none",
            DebugSink::Stdout => "stdout",
            DebugSink::File(_) => "file",
            DebugSink::Buffer => "buffer",
        };
        writeln!(
            out,
            "debugcon: port {DEBUGCON_PORT:#x}, sink {sink}, {} bytes captured",
            self.captured.len()
        )
    }
}

/// QEMU-style `isa-debug-exit` on port 0xF4.
///
/// A write of any value `v` (1, 2 or 4 bytes, taken whole) asks the machine
/// to stop; the machine exits the process with status `(v << 1) | 1`, so a
/// guest can never report a plain 0 ("success") by accident: by convention a
/// test ROM writes e.g. 0x10 and the harness expects 0x21. Reads return all
/// ones, as QEMU's device does.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ExitPort {
    last: Option<u32>,
}

impl ExitPort {
    /// A fresh exit port.
    pub fn new() -> Self {
        Self::default()
    }

    /// The last value written, if any.
    pub fn last(&self) -> Option<u32> {
        self.last
    }
}

impl Device for ExitPort {
    fn name(&self) -> &'static str {
        "exit"
    }

    fn io_read(&mut self, _port: u16, size: u8, _cx: &mut IoCx) -> u32 {
        all_ones(size)
    }

    fn io_write(&mut self, _port: u16, size: u8, value: u32, cx: &mut IoCx) {
        let value = value & all_ones(size);
        log::info!("guest requested exit with value {value:#x}");
        self.last = Some(value);
        cx.signals.exit = Some(value);
    }

    fn reset(&mut self, kind: ResetKind) {
        if kind == ResetKind::PowerOn {
            self.last = None;
        }
    }

    fn inspect(&self, out: &mut dyn Write) -> std::io::Result<()> {
        match self.last {
            Some(v) => writeln!(out, "exit: port {EXIT_PORT:#x}, last value {v:#x}"),
            None => writeln!(out, "exit: port {EXIT_PORT:#x}, never written"),
        }
    }
}

/// All ones for an access of `size` bytes.
pub(crate) fn all_ones(size: u8) -> u32 {
    match size {
        1 => 0xFF,
        2 => 0xFFFF,
        _ => 0xFFFF_FFFF,
    }
}

/// The POST code port 0x80: firmware writes a byte at each boot stage, as a
/// POST card would display it. Keeps the last code and a short history.
///
/// On the AT, 0x80 is a spare DMA page register, so a read returns the last
/// byte written (0xFF before any write).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PostCode {
    history: VecDeque<u8>,
}

impl PostCode {
    /// A fresh POST port with no codes.
    pub fn new() -> Self {
        Self::default()
    }

    /// The last code written, if any.
    pub fn last(&self) -> Option<u8> {
        self.history.back().copied()
    }

    /// Up to [`POST_HISTORY`] codes, oldest first.
    pub fn history(&self) -> impl Iterator<Item = u8> + '_ {
        self.history.iter().copied()
    }
}

impl Device for PostCode {
    fn name(&self) -> &'static str {
        "post"
    }

    fn io_read(&mut self, _port: u16, _size: u8, _cx: &mut IoCx) -> u32 {
        u32::from(self.last().unwrap_or(0xFF))
    }

    fn io_write(&mut self, _port: u16, _size: u8, value: u32, _cx: &mut IoCx) {
        let code = value as u8;
        log::debug!("POST code {code:#04x}");
        if self.history.len() == POST_HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(code);
    }

    fn reset(&mut self, kind: ResetKind) {
        // A POST card keeps showing its digits across a reset; only power
        // clears them.
        if kind == ResetKind::PowerOn {
            self.history.clear();
        }
    }

    fn inspect(&self, out: &mut dyn Write) -> std::io::Result<()> {
        write!(out, "post: port {POST_PORT:#x}, codes (oldest first):")?;
        for code in &self.history {
            write!(out, " {code:02x}")?;
        }
        writeln!(out)
    }
}

/// The Bochs shutdown port 0x8900: writing the bytes of "Shutdown" one after
/// the other asks the machine to power off. Any other byte restarts the match
/// (a stray 'S' counts as a new start).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BochsShutdown {
    /// How many bytes of [`SHUTDOWN_MAGIC`] have been matched.
    matched: usize,
}

impl BochsShutdown {
    /// A fresh shutdown port.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many bytes of "Shutdown" have been matched so far.
    pub fn matched(&self) -> usize {
        self.matched
    }
}

impl Device for BochsShutdown {
    fn name(&self) -> &'static str {
        "shutdown"
    }

    fn io_read(&mut self, _port: u16, _size: u8, _cx: &mut IoCx) -> u32 {
        0xFF
    }

    fn io_write(&mut self, _port: u16, _size: u8, value: u32, cx: &mut IoCx) {
        let byte = value as u8;
        if SHUTDOWN_MAGIC.get(self.matched) == Some(&byte) {
            self.matched += 1;
        } else {
            self.matched = usize::from(byte == SHUTDOWN_MAGIC[0]);
        }
        if self.matched == SHUTDOWN_MAGIC.len() {
            log::info!("guest requested shutdown through port {SHUTDOWN_PORT:#x}");
            cx.signals.shutdown = true;
            self.matched = 0;
        }
    }

    fn reset(&mut self, _kind: ResetKind) {
        self.matched = 0;
    }

    fn inspect(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "shutdown: port {SHUTDOWN_PORT:#x}, matched {:?}",
            String::from_utf8_lossy(&SHUTDOWN_MAGIC[..self.matched])
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::Signals;
    use crate::irq::IrqLines;
    use crate::time::{Cycles, Scheduler};

    struct Cx {
        sched: Scheduler,
        irq: IrqLines,
        signals: Signals,
        dma: crate::bus::NoDma,
    }

    impl Cx {
        fn new() -> Self {
            Cx {
                sched: Scheduler::new(),
                irq: IrqLines::new(),
                signals: Signals::default(),
                dma: crate::bus::NoDma,
            }
        }
        fn cx(&mut self) -> IoCx<'_> {
            IoCx {
                now: Cycles(0),
                sched: &mut self.sched,
                irq: &mut self.irq,
                signals: &mut self.signals,
                dma: &mut self.dma,
            }
        }
    }

    #[test]
    fn debugcon_captures_and_reads_back_e9() {
        let mut t = Cx::new();
        let mut con = DebugCon::new(DebugSink::Buffer);
        for b in b"hi\n" {
            con.io_write(DEBUGCON_PORT, 1, u32::from(*b), &mut t.cx());
        }
        assert_eq!(con.output(), b"hi\n");
        assert_eq!(con.io_read(DEBUGCON_PORT, 1, &mut t.cx()), 0xE9);
    }

    #[test]
    fn debugcon_without_buffer_captures_nothing() {
        let mut t = Cx::new();
        let mut con = DebugCon::new(DebugSink::None);
        con.io_write(DEBUGCON_PORT, 1, u32::from(b'x'), &mut t.cx());
        assert!(con.output().is_empty());
    }

    #[test]
    fn debugcon_writes_a_file() {
        let path = std::env::temp_dir().join(format!("glassbox-debugcon-{}", std::process::id()));
        {
            let file = File::create(&path).unwrap();
            let mut t = Cx::new();
            let mut con = DebugCon::new(DebugSink::File(BufWriter::new(file)));
            for b in b"ok" {
                con.io_write(DEBUGCON_PORT, 1, u32::from(*b), &mut t.cx());
            }
        } // dropped: flushed
        assert_eq!(std::fs::read(&path).unwrap(), b"ok");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn exit_port_reports_the_whole_value() {
        let mut t = Cx::new();
        let mut exit = ExitPort::new();
        exit.io_write(EXIT_PORT, 1, 0x1234_5610, &mut t.cx());
        assert_eq!(t.signals.take().exit, Some(0x10));
        exit.io_write(EXIT_PORT, 2, 0x1234_5610, &mut t.cx());
        assert_eq!(t.signals.take().exit, Some(0x5610));
        exit.io_write(EXIT_PORT, 4, 0x1234_5610, &mut t.cx());
        assert_eq!(t.signals.take().exit, Some(0x1234_5610));
        assert_eq!(exit.last(), Some(0x1234_5610));
    }

    #[test]
    fn post_code_keeps_a_short_history() {
        let mut t = Cx::new();
        let mut post = PostCode::new();
        assert_eq!(post.io_read(POST_PORT, 1, &mut t.cx()), 0xFF);
        for code in 0..20u32 {
            post.io_write(POST_PORT, 1, code, &mut t.cx());
        }
        assert_eq!(post.last(), Some(19));
        assert_eq!(post.io_read(POST_PORT, 1, &mut t.cx()), 19);
        let h: Vec<u8> = post.history().collect();
        assert_eq!(h, (4..20).collect::<Vec<u8>>());
        post.reset(ResetKind::Hard);
        assert_eq!(post.last(), Some(19));
        post.reset(ResetKind::PowerOn);
        assert_eq!(post.last(), None);
    }

    fn send(dev: &mut BochsShutdown, t: &mut Cx, bytes: &[u8]) {
        for b in bytes {
            dev.io_write(SHUTDOWN_PORT, 1, u32::from(*b), &mut t.cx());
        }
    }

    #[test]
    fn shutdown_needs_the_whole_word_in_sequence() {
        let mut t = Cx::new();
        let mut dev = BochsShutdown::new();
        send(&mut dev, &mut t, b"Shutdow");
        assert!(!t.signals.shutdown);
        send(&mut dev, &mut t, b"n");
        assert!(t.signals.take().shutdown);
    }

    #[test]
    fn shutdown_restarts_on_a_wrong_byte() {
        let mut t = Cx::new();
        let mut dev = BochsShutdown::new();
        send(&mut dev, &mut t, b"ShutXdown");
        assert!(!t.signals.shutdown);
        assert_eq!(dev.matched(), 0);
        // A stray 'S' starts a new match.
        send(&mut dev, &mut t, b"ShuSShutdown");
        assert!(t.signals.take().shutdown);
    }
}
