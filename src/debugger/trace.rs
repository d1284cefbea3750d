//! The explained trace (`--trace FILE`): one JSON object per line for everything the CPU does,
//! written so a learner can follow a boot from the reset vector onwards.
//!
//! Kinds of line (the `kind` field), each with `n`, the number of instructions retired before
//! the step that produced it:
//!
//! | kind   | fields                                                                          |
//! |--------|---------------------------------------------------------------------------------|
//! | `insn` | `mode`, `cs`, `ip`, `linear`, `bytes`, `asm`, `cycle` (at its start), `changes` {reg: [old, new]}, `rep` |
//! | `mem`  | `op` (read/write), `phys`, `size`, `value`                                      |
//! | `io`   | `op` (in/out), `port`, `size`, `value`, `device`                                |
//! | `int`  | `vector`, `source` (hardware/software/exception), `name`, `error`, `ah`, `via` (ivt/idt), `entry`, `handler`, `return`, `privilege_change`, `stack_switch` |
//! | `seg`  | `reg`, `selector`, `base`, `limit`, `attrs`, `what`, `how`                       |
//! | `mode` | `from`, `to`, `cr0`                                                              |
//! | `reset`| `why`                                                                            |
//!
//! Addresses and values are hex strings (`"0x7c00"`). `--trace-filter KINDS[@START-END]` keeps
//! only the listed kinds (comma-separated; `all` for every kind) of the steps whose CS:EIP
//! linear address is in `START..=END`. Page walks (`page`) join the list with paging.

use super::inspect::{self, describe_attrs, disasm_one, exception_name};
use super::{Mode, StepRecord};
use crate::cpu::{CpuEvent, IntSource};
use crate::machine::{AccessKind, Pc, Stepped};
use serde_json::{json, Map, Value};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Kinds of trace line, as bits of [`TraceFilter::kinds`].
pub const KINDS: [&str; 8] = ["insn", "mem", "io", "int", "seg", "mode", "reset", "page"];

/// Which lines to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceFilter {
    /// One bit per entry of [`KINDS`].
    pub kinds: u32,
    /// Only steps whose CS:EIP linear address is in this inclusive range.
    pub range: Option<(u32, u32)>,
}

impl Default for TraceFilter {
    fn default() -> Self {
        TraceFilter {
            kinds: u32::MAX,
            range: None,
        }
    }
}

impl TraceFilter {
    /// Parses `KINDS[@START-END]`, e.g. `insn,int@0x7c00-0x7dff` or `all@0x7c00-0x7dff`.
    pub fn parse(s: &str) -> Result<TraceFilter, String> {
        let (kinds, range) = match s.split_once('@') {
            Some((k, r)) => (k, Some(r)),
            None => (s, None),
        };
        let mut f = TraceFilter {
            kinds: 0,
            range: None,
        };
        for k in kinds.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            if k == "all" {
                f.kinds = u32::MAX;
                continue;
            }
            match KINDS.iter().position(|x| *x == k) {
                Some(i) => f.kinds |= 1 << i,
                None => {
                    return Err(format!(
                        "`{k}` is not a trace kind (one of {}, or all)",
                        KINDS.join(", ")
                    ))
                }
            }
        }
        if kinds.trim().is_empty() {
            f.kinds = u32::MAX;
        }
        if let Some(r) = range {
            let (a, b) = r
                .split_once('-')
                .ok_or_else(|| format!("`{r}` is not an address range START-END"))?;
            let num = |t: &str| {
                let t = t.trim();
                let h = t.strip_prefix("0x").unwrap_or(t);
                u32::from_str_radix(h, 16).map_err(|_| format!("`{t}` is not a hex address"))
            };
            let (a, b) = (num(a)?, num(b)?);
            if b < a {
                return Err(format!("range `{r}` ends before it starts"));
            }
            f.range = Some((a, b));
        }
        Ok(f)
    }

    fn wants(&self, kind: &str) -> bool {
        KINDS
            .iter()
            .position(|k| *k == kind)
            .is_some_and(|i| self.kinds & (1 << i) != 0)
    }
}

/// Writes the explained trace.
pub struct Tracer {
    out: BufWriter<File>,
    path: PathBuf,
    filter: TraceFilter,
    error: Option<io::Error>,
    lines: u64,
}

fn hex(v: impl Into<u64>) -> Value {
    Value::String(format!("{:#x}", v.into()))
}

impl Tracer {
    /// Creates (truncates) the trace file.
    pub fn create(path: &Path, filter: TraceFilter) -> io::Result<Tracer> {
        Ok(Tracer {
            out: BufWriter::new(File::create(path)?),
            path: path.to_path_buf(),
            filter,
            error: None,
            lines: 0,
        })
    }

    /// Lines written so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    fn emit(&mut self, kind: &str, n: u64, mut fields: Map<String, Value>) {
        if self.error.is_some() || !self.filter.wants(kind) {
            return;
        }
        let mut obj = Map::new();
        obj.insert("kind".into(), Value::String(kind.into()));
        obj.insert("n".into(), Value::from(n));
        obj.append(&mut fields);
        let r = serde_json::to_writer(&mut self.out, &Value::Object(obj))
            .map_err(io::Error::other)
            .and_then(|()| self.out.write_all(b"\n"));
        match r {
            Ok(()) => self.lines += 1,
            Err(e) => self.error = Some(e),
        }
    }

    /// Writes the lines for one step.
    pub fn record(&mut self, pc: &Pc, rec: &StepRecord) {
        if let Some((a, b)) = self.filter.range {
            if rec.linear < a || rec.linear > b {
                return;
            }
        }
        let n = rec.icount;
        // A hardware interrupt taken between instructions is the whole step.
        let interrupt_entry = matches!(
            rec.events.first(),
            Some(CpuEvent::Interrupt {
                source: IntSource::Hardware,
                ..
            })
        );
        if rec.stepped == Stepped::Ran && !interrupt_entry {
            let code32 = rec.mode.code32();
            let mut changes = Map::new();
            for (name, old, new) in rec.before.changes(&rec.after) {
                changes.insert(
                    name.into(),
                    json!([format!("{old:#x}"), format!("{new:#x}")]),
                );
            }
            let bytes: String = {
                let len = insn_len(&rec.bytes, code32);
                rec.bytes[..len]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect()
            };
            let mut f = Map::new();
            f.insert("mode".into(), Value::String(rec.mode.name().into()));
            f.insert("cs".into(), hex(rec.cs));
            f.insert("ip".into(), hex(rec.eip));
            f.insert("linear".into(), hex(rec.linear));
            f.insert("bytes".into(), Value::String(bytes));
            f.insert(
                "asm".into(),
                Value::String(disasm_one(&rec.bytes, rec.eip, code32)),
            );
            f.insert("cycle".into(), Value::from(rec.cycle));
            f.insert("changes".into(), Value::Object(changes));
            if pc.cpu.rep_pending {
                f.insert("rep".into(), Value::String("in progress".into()));
            }
            self.emit("insn", n, f);
        }
        for a in &rec.accesses {
            let mut f = Map::new();
            match a.kind {
                AccessKind::Read | AccessKind::Write => {
                    let op = if a.kind == AccessKind::Read {
                        "read"
                    } else {
                        "write"
                    };
                    f.insert("op".into(), Value::String(op.into()));
                    f.insert("phys".into(), hex(a.addr));
                    f.insert("size".into(), Value::from(a.size));
                    f.insert("value".into(), hex(a.value));
                    self.emit("mem", n, f);
                }
                AccessKind::In | AccessKind::Out => {
                    let op = if a.kind == AccessKind::In {
                        "in"
                    } else {
                        "out"
                    };
                    f.insert("op".into(), Value::String(op.into()));
                    f.insert("port".into(), hex(a.addr));
                    f.insert("size".into(), Value::from(a.size));
                    f.insert("value".into(), hex(a.value));
                    let dev = pc.port_owner(a.addr as u16).name();
                    f.insert("device".into(), Value::String(dev.into()));
                    self.emit("io", n, f);
                }
            }
        }
        for (k, e) in rec.events.iter().enumerate() {
            let last = k + 1 == rec.events.len();
            match *e {
                CpuEvent::Interrupt {
                    vector,
                    source,
                    error,
                    ret_cs,
                    ret_eip,
                } => {
                    let mut f = Map::new();
                    f.insert("vector".into(), hex(vector));
                    f.insert(
                        "source".into(),
                        serde_json::to_value(source).unwrap_or(Value::Null),
                    );
                    let name = match source {
                        IntSource::Exception => exception_name(vector),
                        IntSource::Hardware => "hardware interrupt".into(),
                        IntSource::Software => format!("INT {vector:#04x}"),
                    };
                    f.insert("name".into(), Value::String(name));
                    f.insert("error".into(), error.map_or(Value::Null, hex));
                    f.insert("ah".into(), hex((rec.before.regs[0] >> 8) as u8));
                    let real = rec.mode == Mode::Real;
                    f.insert(
                        "via".into(),
                        Value::String(if real { "ivt" } else { "idt" }.into()),
                    );
                    let entry = pc
                        .cpu
                        .idtr
                        .base
                        .wrapping_add(vector as u32 * if real { 4 } else { 8 });
                    f.insert("entry".into(), hex(entry));
                    let handler = if last {
                        format!("{:04x}:{:04x}", pc.cpu.segs[1].selector, pc.cpu.eip)
                    } else {
                        match inspect::read_linear(pc, entry, 4) {
                            Some(v) => format!("{:04x}:{:04x}", v >> 16, v & 0xFFFF),
                            None => "?".into(),
                        }
                    };
                    f.insert("handler".into(), Value::String(handler));
                    f.insert(
                        "return".into(),
                        Value::String(format!("{ret_cs:04x}:{ret_eip:04x}")),
                    );
                    // Real-mode delivery never changes privilege or stacks.
                    f.insert("privilege_change".into(), Value::Bool(false));
                    f.insert("stack_switch".into(), Value::Bool(false));
                    self.emit("int", n, f);
                }
                CpuEvent::TripleFault => {
                    let mut f = Map::new();
                    f.insert("why".into(), Value::String("triple fault".into()));
                    self.emit("reset", n, f);
                }
            }
        }
        const SEGS: [&str; 6] = ["es", "cs", "ss", "ds", "fs", "gs"];
        for (i, name) in SEGS.iter().enumerate() {
            let (b, a) = (rec.before.segs[i], rec.after.segs[i]);
            if b == a {
                continue;
            }
            let mut f = Map::new();
            f.insert("reg".into(), Value::String((*name).into()));
            f.insert("selector".into(), hex(a.selector));
            f.insert("base".into(), hex(a.base));
            f.insert("limit".into(), hex(a.limit));
            f.insert("attrs".into(), hex(a.attrs));
            f.insert("what".into(), Value::String(describe_attrs(a.attrs)));
            let how = if rec.mode == Mode::Real || rec.mode == Mode::V86 {
                "base = selector * 16; limit and attributes kept"
            } else {
                "descriptor loaded from the GDT/LDT"
            };
            f.insert("how".into(), Value::String(how.into()));
            self.emit("seg", n, f);
        }
        let mode_after = Mode::of(pc);
        if mode_after != rec.mode && rec.stepped != Stepped::Reset {
            let mut f = Map::new();
            f.insert("from".into(), Value::String(rec.mode.name().into()));
            f.insert("to".into(), Value::String(mode_after.name().into()));
            f.insert("cr0".into(), hex(pc.cpu.cr[0]));
            self.emit("mode", n, f);
        }
        if rec.stepped == Stepped::Reset && !rec.events.contains(&CpuEvent::TripleFault) {
            let mut f = Map::new();
            f.insert("why".into(), Value::String("reset".into()));
            self.emit("reset", n, f);
        }
    }

    /// Flushes the file; reports the first write error with the file's name.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(io::Error::new(
                e.kind(),
                format!("--trace {}: {e}", self.path.display()),
            ));
        }
        self.out
            .flush()
            .map_err(|e| io::Error::new(e.kind(), format!("--trace {}: {e}", self.path.display())))
    }
}

/// Length of the instruction at the start of `bytes` (all of them when it does not decode).
fn insn_len(bytes: &[u8], code32: bool) -> usize {
    let mut d = iced_x86::Decoder::new(
        if code32 { 32 } else { 16 },
        bytes,
        iced_x86::DecoderOptions::NONE,
    );
    if !d.can_decode() {
        return 0;
    }
    let i = d.decode();
    if i.is_invalid() {
        bytes.len().min(1)
    } else {
        i.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        let f = TraceFilter::parse("insn,int@0x7c00-0x7dff").unwrap();
        assert!(f.wants("insn") && f.wants("int") && !f.wants("mem"));
        assert_eq!(f.range, Some((0x7C00, 0x7DFF)));
        assert_eq!(TraceFilter::parse("all").unwrap().kinds, u32::MAX);
        assert!(TraceFilter::parse("@7c00-7dff").unwrap().wants("mem"));
        assert!(TraceFilter::parse("bogus").unwrap_err().contains("bogus"));
        assert!(TraceFilter::parse("insn@10-5").is_err());
        assert!(TraceFilter::parse("insn@10").is_err());
    }
}
