//! Reader for the MOO test-vector format of the SingleStepTests suites.
//!
//! A file is gzip-compressed; inside, a sequence of chunks `[tag:4][len:u32 LE][payload]`.
//! Unknown chunks are skipped by length, so newer files stay readable.

use std::io::Read;
use std::path::Path;

/// Register order of the `REGS` chunk's bit mask.
pub const REG_NAMES: [&str; 14] = [
    "ax", "bx", "cx", "dx", "cs", "ss", "ds", "es", "sp", "bp", "si", "di", "ip", "flags",
];

/// A machine state (initial or final) of one test.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// Registers present, in `REG_NAMES` order.
    pub regs: [Option<u16>; 14],
    /// (address, value) pairs.
    pub ram: Vec<(u32, u8)>,
}

/// One test vector.
#[derive(Clone, Debug, Default)]
pub struct Test {
    /// Index in its file.
    pub index: u32,
    /// Disassembly given by the suite.
    pub name: String,
    /// Instruction bytes.
    pub bytes: Vec<u8>,
    /// Initial state.
    pub init: State,
    /// Final state (changed registers only).
    pub fina: State,
    /// Exception: (vector, physical address of the pushed FLAGS).
    pub exception: Option<(u8, u32)>,
    /// SHA-1 of the test, when present.
    pub hash: Option<[u8; 20]>,
}

/// Errors reading a MOO file.
#[derive(Debug, thiserror::Error)]
pub enum MooError {
    /// The file could not be read or decompressed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The contents are not a valid MOO stream.
    #[error("{path}: malformed MOO data at byte {offset}: {what}")]
    Format {
        /// The file.
        path: String,
        /// Byte offset in the decompressed stream.
        offset: usize,
        /// What was wrong.
        what: &'static str,
    },
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|s| u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn chunk(&mut self) -> Option<(&'a [u8], Cursor<'a>)> {
        let tag = self.take(4)?;
        let len = self.u32()? as usize;
        let body = self.take(len)?;
        Some((tag, Cursor { b: body, pos: 0 }))
    }
    fn done(&self) -> bool {
        self.pos >= self.b.len()
    }
}

fn parse_state(mut c: Cursor) -> Option<State> {
    let mut st = State::default();
    while !c.done() {
        let (tag, mut body) = c.chunk()?;
        match tag {
            b"REGS" => {
                let mask = body.u16()?;
                for (k, slot) in st.regs.iter_mut().enumerate() {
                    if mask & (1 << k) != 0 {
                        *slot = Some(body.u16()?);
                    }
                }
            }
            b"RAM " => {
                let n = body.u32()? as usize;
                st.ram.reserve(n.min(1 << 16));
                for _ in 0..n {
                    st.ram.push((body.u32()?, body.u8()?));
                }
            }
            _ => {}
        }
    }
    Some(st)
}

fn parse_test(mut c: Cursor) -> Option<Test> {
    let mut t = Test {
        index: c.u32()?,
        ..Default::default()
    };
    while !c.done() {
        let (tag, mut body) = c.chunk()?;
        match tag {
            b"NAME" => {
                let n = body.u32()? as usize;
                t.name = String::from_utf8_lossy(body.take(n)?).into_owned();
            }
            b"BYTS" => {
                let n = body.u32()? as usize;
                t.bytes = body.take(n)?.to_vec();
            }
            b"INIT" => t.init = parse_state(body)?,
            b"FINA" => t.fina = parse_state(body)?,
            b"EXCP" => t.exception = Some((body.u8()?, body.u32()?)),
            b"HASH" => t.hash = body.take(20).map(|h| h.try_into().ok())?,
            _ => {}
        }
    }
    Some(t)
}

/// Reads every test of a `.MOO.gz` (or uncompressed `.MOO`) file.
pub fn read_file(path: &Path) -> Result<(String, Vec<Test>), MooError> {
    let name = path.display().to_string();
    let io = |source| MooError::Io {
        path: name.clone(),
        source,
    };
    let raw = std::fs::read(path).map_err(io)?;
    let data = if raw.starts_with(&[0x1F, 0x8B]) {
        let mut out = Vec::with_capacity(raw.len() * 8);
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(io)?;
        out
    } else {
        raw
    };
    let bad = |offset, what| MooError::Format {
        path: name.clone(),
        offset,
        what,
    };
    let mut c = Cursor { b: &data, pos: 0 };
    let (tag, mut hdr) = c.chunk().ok_or_else(|| bad(0, "truncated header"))?;
    if tag != b"MOO " {
        return Err(bad(0, "not a MOO file (missing `MOO ` header chunk)"));
    }
    hdr.u32().ok_or_else(|| bad(8, "short header"))?;
    let count = hdr.u32().ok_or_else(|| bad(12, "short header"))? as usize;
    let cpu = hdr
        .take(4)
        .map(|s| String::from_utf8_lossy(s).trim().to_string())
        .unwrap_or_default();
    let mut tests = Vec::with_capacity(count.min(1 << 16));
    while !c.done() {
        let at = c.pos;
        let (tag, body) = c.chunk().ok_or_else(|| bad(at, "truncated chunk"))?;
        if tag == b"TEST" {
            tests.push(parse_test(body).ok_or_else(|| bad(at, "malformed TEST chunk"))?);
        }
    }
    Ok((cpu, tests))
}
