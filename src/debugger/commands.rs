//! The command language: Bochs's debugger commands, parsed and run against the machine.
//!
//! [`Debugger::command`] runs one line and says what the front end should do next. The same
//! lines come from the prompt, from `source FILE`, from standard input in scripts and from
//! GDB's `monitor`.

use super::expr::{Expr, Reg};
use super::inspect::{self, Examine};
use super::{Debugger, Owner, PointKind, Resume, Rw, Space, StopReason};
use crate::accel::Backend;
use crate::cpu::decode::seg;
use crate::machine::Pc;
use std::io::Write;

/// What the front end does after a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Prompt for the next command.
    Prompt,
    /// The machine ran and stopped for this reason (already reported).
    Ran(StopReason),
    /// Leave the debugger (`q`).
    Quit,
}

/// One command of the help table: names, arguments, what it does.
struct Help {
    names: &'static [&'static str],
    args: &'static str,
    text: &'static str,
}

const HELP: &[Help] = &[
    Help { names: &["s", "step", "stepi"], args: "[N]", text: "execute N instructions (default 1); a hardware interrupt entry counts as one" },
    Help { names: &["p", "n", "next"], args: "", text: "step over: run a CALL, INT, LOOP or REP instruction to the next instruction" },
    Help { names: &["c", "cont", "continue"], args: "", text: "continue until a breakpoint, watchpoint or stop (Ctrl-C breaks in)" },
    Help { names: &["q", "quit", "exit"], args: "", text: "leave the debugger and end the run" },
    Help { names: &["vb", "vbreak"], args: "SEG:OFF [if COND]", text: "breakpoint at a CS selector and offset" },
    Help { names: &["lb", "lbreak"], args: "ADDR [if COND]", text: "breakpoint at a linear address" },
    Help { names: &["pb", "pbreak", "b", "break"], args: "ADDR [if COND]", text: "breakpoint at a physical address" },
    Help { names: &["blist", "info break"], args: "", text: "list breakpoints, watchpoints and event breakpoints" },
    Help { names: &["bpe"], args: "N", text: "enable point N" },
    Help { names: &["bpd"], args: "N", text: "disable point N" },
    Help { names: &["d", "del", "delete"], args: "N|all", text: "delete point N (or every point)" },
    Help { names: &["watch"], args: "r|w|rw [lin|phys] ADDR [LEN] [if COND]", text: "stop after an instruction reads/writes memory at ADDR (linear by default; LEN bytes, default 1)" },
    Help { names: &["unwatch"], args: "N|all", text: "delete watchpoint N (or every watchpoint)" },
    Help { names: &["iob", "iobreak"], args: "PORT[-LAST] [r|w|rw] [if COND]", text: "stop after an IN/OUT touches the port(s)" },
    Help { names: &["intb", "intbreak"], args: "VECTOR [AH] [if COND]", text: "stop when an interrupt or exception with VECTOR (and AH) is delivered, at its handler" },
    Help { names: &["modeb", "modebreak"], args: "", text: "stop after a CPU mode switch (real, protected, virtual-8086)" },
    Help { names: &["sb"], args: "N", text: "stop after N more instructions" },
    Help { names: &["sba"], args: "N", text: "stop when the instruction counter reaches N" },
    Help { names: &["accel"], args: "[kvm|interp]", text: "show or change the back end: the machine moves with its whole CPU state (continue runs on KVM; stepping always interprets)" },
    Help { names: &["magic"], args: "on|off", text: "stop after `xchg bx, bx` (Bochs's magic breakpoint)" },
    Help { names: &["r", "regs", "reg", "registers", "info registers"], args: "", text: "general registers, EIP and EFLAGS decoded" },
    Help { names: &["sreg"], args: "", text: "segment registers with their hidden descriptor caches; LDTR, TR, GDTR, IDTR" },
    Help { names: &["creg"], args: "", text: "control registers decoded" },
    Help { names: &["dreg"], args: "", text: "debug registers decoded" },
    Help { names: &["x"], args: "/NUF ADDR", text: "examine memory at a linear address: N units of b|h|w|g bytes in format x|d|u|o|t|c|s|i" },
    Help { names: &["xp"], args: "/NUF ADDR", text: "examine memory at a physical address" },
    Help { names: &["u", "disasm"], args: "[ADDR] [N]", text: "disassemble N instructions (default 10) at a linear address (default CS:EIP) in the current mode" },
    Help { names: &["info ivt"], args: "[FIRST [LAST]]", text: "real-mode interrupt vector table" },
    Help { names: &["info gdt"], args: "", text: "global descriptor table" },
    Help { names: &["info idt"], args: "", text: "interrupt descriptor table (the IVT in real mode)" },
    Help { names: &["info ldt"], args: "", text: "local descriptor table" },
    Help { names: &["info tss"], args: "", text: "the current task state segment" },
    Help { names: &["info tab"], args: "", text: "page tables: linear to physical mappings" },
    Help { names: &["info device"], args: "[NAME]", text: "a device's state (no NAME: the device names)" },
    Help { names: &["info fpu"], args: "", text: "the x87 stack (ST0-ST7 with physical registers, tags, values), CW/SW decoded, tag word, last pointers" },
    Help { names: &["stack"], args: "[N]", text: "N stack entries from SS:SP (default 16)" },
    Help { names: &["set"], args: "REG = EXPR", text: "set a register or flag (set ax = 0x1234, set cs = 0x7c0, set zf = 1)" },
    Help { names: &["setpmem"], args: "ADDR LEN VALUE", text: "write VALUE as LEN (1, 2, 4) bytes at a physical address" },
    Help { names: &["print", "?"], args: "EXPR", text: "evaluate an expression: numbers, registers, SEG:OFF, [addr], byte[..], word[..], C operators" },
    Help { names: &["type"], args: "\"KEYS\"", text: "queue key presses for the guest's keyboard (\\n is Enter; <esc>, <f1>, <ctrl+c>)" },
    Help { names: &["trace"], args: "on|off", text: "print every executed instruction with its register changes" },
    Help { names: &["show"], args: "int|mode|io|all|off", text: "print interrupts, mode switches or port I/O as they happen (toggles)" },
    Help { names: &["source"], args: "FILE", text: "run debugger commands from a file" },
    Help { names: &["help", "h"], args: "[COMMAND]", text: "this list, or one command" },
];

const EXPR_HELP: &str = "expressions: 0x1f hex, 31 decimal (digits with a-f are hex), SEG:OFF (both halves hex) \
is a linear address; registers eax..edi, ax..dx, al..bh, cs..gs, eip, eflags, cr0..cr4, dr0..dr7, flags cf..of; \
memory [ADDR] (dword), byte[..], word[..], dword[..]; + - * / % & | ^ ~ << >> == != < <= > >= && || !";

/// Splits `... if COND` into the part before and the condition.
fn split_cond(rest: &str) -> Result<(&str, Option<Expr>), String> {
    match rest.find(" if ") {
        Some(i) => {
            let c = Expr::parse(&rest[i + 4..]).map_err(|e| format!("condition: {e}"))?;
            Ok((rest[..i].trim(), Some(c)))
        }
        None => Ok((rest.trim(), None)),
    }
}

/// Evaluates an expression in the machine.
fn value(pc: &Pc, s: &str) -> Result<u64, String> {
    let e = Expr::parse(s).map_err(|e| e.to_string())?;
    e.eval(&super::expr::PcContext(pc))
        .map_err(|e| e.to_string())
}

fn value32(pc: &Pc, s: &str) -> Result<u32, String> {
    let v = value(pc, s)?;
    u32::try_from(v).map_err(|_| format!("{v:#x} does not fit 32 bits"))
}

/// A plain decimal count.
fn count(s: &str) -> Result<u64, String> {
    let t = s.trim();
    match t.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => t.parse(),
    }
    .map_err(|_| format!("`{t}` is not a count"))
}

impl Debugger {
    /// Runs one command line. Execution commands run the machine and report the stop.
    pub fn command(&mut self, pc: &mut Pc, line: &str, out: &mut dyn Write) -> Outcome {
        self.command_at(pc, line, out, true, 0)
    }

    /// Runs one command line that must not run the machine (GDB's `monitor`: gdb owns
    /// execution there).
    pub fn command_no_run(&mut self, pc: &mut Pc, line: &str, out: &mut dyn Write) -> Outcome {
        self.command_at(pc, line, out, false, 0)
    }

    fn command_at(
        &mut self,
        pc: &mut Pc,
        line: &str,
        out: &mut dyn Write,
        can_run: bool,
        depth: u8,
    ) -> Outcome {
        match self.dispatch(pc, line.trim(), out, can_run, depth) {
            Ok(o) => o,
            Err(msg) => {
                let _ = writeln!(out, "error: {msg}");
                Outcome::Prompt
            }
        }
    }

    /// Runs the machine and prints why it stopped and where.
    pub fn run_and_report(&mut self, pc: &mut Pc, how: Resume, out: &mut dyn Write) -> Outcome {
        let r = self.resume(pc, how, out);
        report_stop(pc, &r, out);
        Outcome::Ran(r)
    }

    fn dispatch(
        &mut self,
        pc: &mut Pc,
        line: &str,
        out: &mut dyn Write,
        can_run: bool,
        depth: u8,
    ) -> Result<Outcome, String> {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            return Ok(Outcome::Prompt);
        }
        let (cmd, rest) = match line.split_once(char::is_whitespace) {
            Some((c, r)) => (c, r.trim()),
            None => (line, ""),
        };
        let cmd = cmd.to_ascii_lowercase();
        let io = |r: std::io::Result<()>| r.map_err(|e| format!("output: {e}"));
        let needs_run = matches!(
            cmd.as_str(),
            "s" | "step" | "stepi" | "p" | "n" | "next" | "c" | "cont" | "continue"
        );
        if needs_run && !can_run {
            return Err(format!(
                "`{cmd}` runs the machine; use gdb's own stepi/next/continue here"
            ));
        }
        match cmd.as_str() {
            "s" | "step" | "stepi" => {
                let n = if rest.is_empty() { 1 } else { count(rest)? };
                Ok(self.run_and_report(pc, Resume::Step(n), out))
            }
            "p" | "n" | "next" => Ok(self.run_and_report(pc, Resume::StepOver, out)),
            "c" | "cont" | "continue" => Ok(self.run_and_report(pc, Resume::Continue, out)),
            "q" | "quit" | "exit" => Ok(Outcome::Quit),
            "vb" | "vbreak" => {
                let (addr, cond) = split_cond(rest)?;
                let (s, o) = addr
                    .split_once(':')
                    .ok_or("vb takes SEG:OFF, e.g. vb 0000:7c00")?;
                let s = value(pc, &hexish(s))?;
                let o = value32(pc, &hexish(o))?;
                let cs = u16::try_from(s).map_err(|_| format!("{s:#x} is not a selector"))?;
                let id = self.add_point(PointKind::Virtual { cs, eip: o }, cond, Owner::User);
                io(writeln!(out, "breakpoint {id} at {cs:04x}:{o:04x}"))?;
                Ok(Outcome::Prompt)
            }
            "lb" | "lbreak" | "pb" | "pbreak" | "b" | "break" => {
                let (addr, cond) = split_cond(rest)?;
                if addr.is_empty() {
                    return Err(format!("{cmd} takes an address"));
                }
                let a = value32(pc, addr)?;
                let (kind, what) = if cmd.starts_with('l') {
                    (PointKind::Linear(a), "linear")
                } else {
                    (PointKind::Physical(a), "physical")
                };
                let id = self.add_point(kind, cond, Owner::User);
                io(writeln!(out, "breakpoint {id} at {what} {a:#x}"))?;
                Ok(Outcome::Prompt)
            }
            "blist" => {
                io(self.list_points(out))?;
                Ok(Outcome::Prompt)
            }
            "bpe" | "bpd" => {
                let id = count(rest)? as u32;
                if !self.enable_point(id, cmd == "bpe") {
                    return Err(format!("no point {id}"));
                }
                Ok(Outcome::Prompt)
            }
            "d" | "del" | "delete" | "unwatch" => {
                if rest == "all" {
                    let watch_only = cmd == "unwatch";
                    self.points.retain(|p| {
                        p.owner != Owner::User
                            || watch_only && !matches!(p.kind, PointKind::Watch { .. })
                    });
                    return Ok(Outcome::Prompt);
                }
                let id = count(rest)? as u32;
                if !self.delete_point(id) {
                    return Err(format!("no point {id}"));
                }
                Ok(Outcome::Prompt)
            }
            "watch" => {
                let (spec, cond) = split_cond(rest)?;
                let mut words = spec.split_whitespace();
                let on = words
                    .next()
                    .and_then(Rw::parse)
                    .ok_or("watch takes r|w|rw first, e.g. watch w 0x500 2")?;
                let mut space = Space::Linear;
                let mut next = words.next();
                match next {
                    Some("lin" | "linear") => next = words.next(),
                    Some("phys" | "physical") => {
                        space = Space::Physical;
                        next = words.next();
                    }
                    _ => {}
                }
                let addr = value32(pc, next.ok_or("watch needs an address")?)?;
                let len = match words.next() {
                    Some(l) => count(l)? as u32,
                    None => 1,
                };
                if len == 0 {
                    return Err("a watchpoint covers at least one byte".into());
                }
                if words.next().is_some() {
                    return Err("watch takes r|w|rw [lin|phys] ADDR [LEN] [if COND]".into());
                }
                let kind = PointKind::Watch {
                    space,
                    addr,
                    len,
                    on,
                };
                let id = self.add_point(kind.clone(), cond, Owner::User);
                io(writeln!(out, "watchpoint {id}: {kind}"))?;
                Ok(Outcome::Prompt)
            }
            "iob" | "iobreak" => {
                let (spec, cond) = split_cond(rest)?;
                let mut words = spec.split_whitespace();
                let ports = words.next().ok_or("iob takes PORT[-LAST]")?;
                let (a, b) = match ports.split_once('-') {
                    Some((a, b)) => (value(pc, a)?, value(pc, b)?),
                    None => {
                        let a = value(pc, ports)?;
                        (a, a)
                    }
                };
                if a > 0xFFFF || b > 0xFFFF || b < a {
                    return Err(format!("`{ports}` is not a port range"));
                }
                let on = match words.next() {
                    Some(w) => Rw::parse(w).ok_or("iob: the access is r, w or rw")?,
                    None => Rw::Both,
                };
                let kind = PointKind::Io {
                    first: a as u16,
                    last: b as u16,
                    on,
                };
                let id = self.add_point(kind.clone(), cond, Owner::User);
                io(writeln!(out, "point {id}: {kind}"))?;
                Ok(Outcome::Prompt)
            }
            "intb" | "intbreak" => {
                let (spec, cond) = split_cond(rest)?;
                let mut words = spec.split_whitespace();
                let v = value(pc, &hexish(words.next().ok_or("intb takes a vector")?))?;
                let vector = u8::try_from(v).map_err(|_| format!("{v:#x} is not a vector"))?;
                let ah = match words.next() {
                    Some(w) => {
                        let w = w.trim_start_matches("ah=");
                        let a = value(pc, &hexish(w))?;
                        Some(u8::try_from(a).map_err(|_| format!("{a:#x} does not fit AH"))?)
                    }
                    None => None,
                };
                let kind = PointKind::Int { vector, ah };
                let id = self.add_point(kind.clone(), cond, Owner::User);
                io(writeln!(out, "point {id}: {kind}"))?;
                Ok(Outcome::Prompt)
            }
            "modeb" | "modebreak" => {
                let id = self.add_point(PointKind::ModeSwitch, None, Owner::User);
                io(writeln!(out, "point {id}: stop after a CPU mode switch"))?;
                Ok(Outcome::Prompt)
            }
            "sb" | "sba" => {
                let n = count(rest)?;
                let at = if cmd == "sb" {
                    pc.cpu.instructions.saturating_add(n)
                } else {
                    n
                };
                let id = self.add_point(PointKind::ICount(at), None, Owner::User);
                io(writeln!(out, "point {id}: stop at instruction {at}"))?;
                Ok(Outcome::Prompt)
            }
            "accel" => {
                let to = match rest.trim() {
                    "" => None,
                    "kvm" => Some(Backend::Kvm),
                    "interp" => Some(Backend::Interp),
                    other => {
                        return Err(format!(
                            "accel: `{other}` is not a back end (kvm or interp)"
                        ))
                    }
                };
                if let Some(to) = to {
                    pc.set_backend(to)
                        .map_err(|why| format!("accel: KVM cannot be used here: {why}"))?;
                }
                io(writeln!(out, "back end: {}", pc.backend()))?;
                Ok(Outcome::Prompt)
            }
            "magic" => {
                self.magic = on_off(rest, self.magic)?;
                io(writeln!(
                    out,
                    "magic breakpoint (xchg bx, bx) {}",
                    if self.magic { "on" } else { "off" }
                ))?;
                Ok(Outcome::Prompt)
            }
            "r" | "regs" | "reg" | "registers" => {
                io(inspect::print_regs(pc, out))?;
                Ok(Outcome::Prompt)
            }
            "sreg" => {
                io(inspect::print_sregs(pc, out))?;
                Ok(Outcome::Prompt)
            }
            "creg" => {
                io(inspect::print_cregs(pc, out))?;
                Ok(Outcome::Prompt)
            }
            "dreg" => {
                io(inspect::print_dregs(pc, out))?;
                Ok(Outcome::Prompt)
            }
            "x" | "xp" => {
                let (spec, addr) = if rest.starts_with('/') {
                    match rest.split_once(char::is_whitespace) {
                        Some((s, a)) => (s, a.trim()),
                        None => (rest, ""),
                    }
                } else {
                    ("", rest)
                };
                let e = Examine::parse(spec)?;
                if addr.is_empty() {
                    return Err(format!("{cmd} needs an address"));
                }
                let a = value32(pc, addr)?;
                io(inspect::examine(pc, out, e, a, cmd == "x"))?;
                Ok(Outcome::Prompt)
            }
            "u" | "disasm" => {
                let words: Vec<&str> = rest.split_whitespace().collect();
                let (addr, n) = match words.as_slice() {
                    [] => (None, 10),
                    [a] => (Some(*a), 10),
                    [a, n] => (Some(*a), count(n)? as usize),
                    _ => return Err("u takes [ADDR] [N]".into()),
                };
                let cs = pc.cpu.segs[seg::CS as usize];
                let code32 = super::Mode::of(pc).code32();
                let (lin, at) = match addr {
                    None => (pc.cpu.pc_linear(), Some((cs.selector, pc.cpu.eip))),
                    Some(a) => match a.split_once(':') {
                        Some((s, o)) => {
                            let sel = value(pc, &hexish(s))?;
                            let sel = u16::try_from(sel)
                                .map_err(|_| format!("{sel:#x} is not a selector"))?;
                            let off = value32(pc, &hexish(o))?;
                            (value32(pc, a)?, Some((sel, off)))
                        }
                        None => {
                            let lin = value32(pc, a)?;
                            let off = lin.wrapping_sub(cs.base);
                            (lin, (off <= cs.limit).then_some((cs.selector, off)))
                        }
                    },
                };
                for l in inspect::disassemble(pc, at, lin, code32, n.clamp(1, 1000)) {
                    io(writeln!(out, "{l}"))?;
                }
                Ok(Outcome::Prompt)
            }
            "info" => self.info(pc, rest, out),
            "stack" => {
                let n = if rest.is_empty() {
                    16
                } else {
                    count(rest)? as usize
                };
                io(inspect::print_stack(pc, out, n.clamp(1, 4096)))?;
                Ok(Outcome::Prompt)
            }
            "set" => {
                let (name, v) = rest
                    .split_once('=')
                    .ok_or("set takes REG = EXPR, e.g. set ax = 0x1234")?;
                let name = name.trim();
                let reg = Reg::parse(name).ok_or_else(|| format!("`{name}` is not a register"))?;
                let v = value32(pc, v)?;
                reg.write(pc, v).map_err(|e| e.to_string())?;
                Ok(Outcome::Prompt)
            }
            "setpmem" => {
                let words: Vec<&str> = rest.split_whitespace().collect();
                let [a, l, v] = words.as_slice() else {
                    return Err("setpmem takes ADDR LEN VALUE".into());
                };
                let addr = value32(pc, a)?;
                let len = count(l)?;
                if !matches!(len, 1 | 2 | 4) {
                    return Err("setpmem: LEN is 1, 2 or 4".into());
                }
                let v = value(pc, v)?;
                for k in 0..len as u32 {
                    let b = (v >> (8 * k)) as u8;
                    if pc
                        .board
                        .mem
                        .write(addr.wrapping_add(k), 1, b as u32)
                        .is_err()
                    {
                        return Err(format!("{:#x} is not RAM", addr.wrapping_add(k)));
                    }
                }
                Ok(Outcome::Prompt)
            }
            "print" | "?" | "p/x" => {
                let v = value(pc, rest)?;
                io(writeln!(out, "{v:#x} ({v})"))?;
                Ok(Outcome::Prompt)
            }
            "type" => {
                let text = rest.trim();
                let text = text
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .ok_or("type takes a quoted string: type \"dir\\n\"")?;
                let typed =
                    crate::frontend::script::parse_type_arg(text).map_err(|e| e.to_string())?;
                let events = crate::frontend::key_events(&typed)?;
                for (key, pressed) in &events {
                    pc.key_event(*key, *pressed);
                }
                io(writeln!(out, "{} key events queued", events.len()))?;
                Ok(Outcome::Prompt)
            }
            "trace" => {
                self.trace = on_off(rest, self.trace)?;
                io(writeln!(
                    out,
                    "instruction trace {}",
                    if self.trace { "on" } else { "off" }
                ))?;
                Ok(Outcome::Prompt)
            }
            "show" => {
                let mut words = rest.split_whitespace();
                let what = words.next().unwrap_or("");
                let flag = match what {
                    "int" => &mut self.show_int,
                    "mode" => &mut self.show_mode,
                    "io" => &mut self.show_io,
                    "all" | "off" => {
                        let on = what == "all";
                        self.show_int = on;
                        self.show_mode = on;
                        self.show_io = on;
                        io(writeln!(
                            out,
                            "show int, mode, io: {}",
                            if on { "on" } else { "off" }
                        ))?;
                        return Ok(Outcome::Prompt);
                    }
                    "" => {
                        io(writeln!(
                            out,
                            "show int: {}, mode: {}, io: {}",
                            self.show_int, self.show_mode, self.show_io
                        ))?;
                        return Ok(Outcome::Prompt);
                    }
                    other => {
                        return Err(format!(
                            "show takes int, mode, io, all or off, not `{other}`"
                        ))
                    }
                };
                *flag = match words.next() {
                    Some(s) => on_off(s, *flag)?,
                    None => !*flag,
                };
                let on = *flag;
                io(writeln!(
                    out,
                    "show {what}: {}",
                    if on { "on" } else { "off" }
                ))?;
                Ok(Outcome::Prompt)
            }
            "source" => {
                if depth >= 8 {
                    return Err("source files nest too deep".into());
                }
                let text = std::fs::read_to_string(rest)
                    .map_err(|e| format!("source: cannot read `{rest}`: {e}"))?;
                for l in text.lines() {
                    let l = l.trim();
                    if l.is_empty() || l.starts_with('#') {
                        continue;
                    }
                    io(writeln!(out, "> {l}"))?;
                    match self.command_at(pc, l, out, can_run, depth + 1) {
                        Outcome::Quit => return Ok(Outcome::Quit),
                        Outcome::Ran(r) if r.is_final() => return Ok(Outcome::Ran(r)),
                        _ => {}
                    }
                }
                Ok(Outcome::Prompt)
            }
            "help" | "h" => {
                io(print_help(out, rest))?;
                Ok(Outcome::Prompt)
            }
            other => Err(format!("unknown command `{other}`; `help` lists them")),
        }
    }

    fn info(&mut self, pc: &mut Pc, rest: &str, out: &mut dyn Write) -> Result<Outcome, String> {
        let mut words = rest.split_whitespace();
        let what = words.next().unwrap_or("");
        let io = |r: std::io::Result<()>| r.map_err(|e| format!("output: {e}"));
        match what {
            "break" | "breakpoints" | "watch" => io(self.list_points(out))?,
            "registers" | "regs" | "r" | "cpu" => io(inspect::print_regs(pc, out))?,
            "ivt" => {
                let first = match words.next() {
                    Some(w) => value(pc, &hexish(w))?,
                    None => 0,
                };
                let last = match words.next() {
                    Some(w) => value(pc, &hexish(w))?,
                    None if rest.split_whitespace().count() == 2 => first,
                    None => 0xFF,
                };
                if first > 0xFF || last > 0xFF || last < first {
                    return Err("info ivt takes vectors 0..ff".into());
                }
                io(inspect::info_ivt(pc, out, first as u8, last as u8))?;
            }
            "gdt" => io(inspect::info_gdt(pc, out))?,
            "idt" => io(inspect::info_idt(pc, out))?,
            "ldt" => io(inspect::info_ldt(pc, out))?,
            "tss" => io(inspect::info_tss(pc, out))?,
            "tab" => io(inspect::info_tab(pc, out))?,
            "device" | "dev" => io(inspect::info_device(pc, out, words.next()))?,
            "fpu" => io(pc.cpu.fpu.describe(out))?,
            _ => {
                return Err(
                    "info takes break, registers, ivt, gdt, idt, ldt, tss, tab, device or fpu"
                        .into(),
                )
            }
        }
        Ok(Outcome::Prompt)
    }

    fn list_points(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.points.is_empty() && !self.magic {
            return writeln!(out, "no breakpoints or watchpoints");
        }
        writeln!(out, "Num  Enb  Hits  What")?;
        for p in &self.points {
            let who = match p.owner {
                Owner::User => "",
                Owner::Gdb => "  (gdb)",
                Owner::Temporary => "  (temporary)",
            };
            let cond = p
                .cond
                .as_ref()
                .map_or(String::new(), |_| "  (conditional)".into());
            writeln!(
                out,
                "{:<4} {:<4} {:<5} {}{cond}{who}",
                p.id,
                if p.enabled { "y" } else { "n" },
                p.hits,
                p.kind
            )?;
        }
        if self.magic {
            writeln!(out, "magic breakpoint (xchg bx, bx) is on")?;
        }
        Ok(())
    }
}

/// Vectors, AH values and segments are written in hex by habit (`intb 10 0e`, `vb 7c0:0`).
fn hexish(s: &str) -> String {
    let t = s.trim();
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_hexdigit()) {
        format!("0x{t}")
    } else {
        t.to_string()
    }
}

fn on_off(s: &str, current: bool) -> Result<bool, String> {
    match s.trim() {
        "on" | "1" | "true" => Ok(true),
        "off" | "0" | "false" => Ok(false),
        "" => Ok(!current),
        other => Err(format!("expected on or off, not `{other}`")),
    }
}

/// Prints the stop reason and the next instruction.
pub fn report_stop(pc: &Pc, r: &StopReason, out: &mut dyn Write) {
    if *r != StopReason::Stepped {
        let _ = writeln!(out, "stopped: {r}");
    }
    if !r.is_final() {
        let _ = writeln!(
            out,
            "next at instruction {}: {}",
            pc.cpu.instructions,
            inspect::next_line(pc)
        );
    }
}

fn print_help(out: &mut dyn Write, topic: &str) -> std::io::Result<()> {
    let topic = topic.trim();
    if !topic.is_empty() {
        let found: Vec<&Help> = HELP
            .iter()
            .filter(|h| {
                h.names
                    .iter()
                    .any(|n| *n == topic || n.strip_prefix("info ") == Some(topic))
            })
            .collect();
        if found.is_empty() {
            return writeln!(out, "no command `{topic}`; `help` lists them");
        }
        for h in found {
            writeln!(out, "{} {}\n    {}", h.names.join(" | "), h.args, h.text)?;
        }
        if matches!(topic, "print" | "?" | "set" | "vb" | "lb" | "pb" | "x") {
            writeln!(out, "{EXPR_HELP}")?;
        }
        return Ok(());
    }
    for h in HELP {
        let usage = format!("{} {}", h.names[0], h.args);
        writeln!(out, "  {usage:<44} {}", h.text)?;
    }
    writeln!(out, "\n{EXPR_HELP}")?;
    writeln!(
        out,
        "Breakpoint conditions: `... if EXPR` (e.g. `lb 0x7c10 if ax == 0x55aa`)."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dispatched_command_has_help() {
        // The help table names each command the dispatcher knows.
        for c in [
            "s", "p", "c", "q", "vb", "lb", "pb", "blist", "bpe", "bpd", "d", "watch", "unwatch",
            "iob", "intb", "modeb", "sb", "sba", "magic", "accel", "r", "sreg", "creg", "dreg",
            "x", "xp", "u", "stack", "set", "setpmem", "print", "type", "trace", "show", "source",
            "help",
        ] {
            assert!(HELP.iter().any(|h| h.names.contains(&c)), "{c} has no help");
        }
    }

    #[test]
    fn examine_specs() {
        let e = Examine::parse("/4bx").unwrap();
        assert_eq!((e.count, e.unit, e.format), (4, 1, 'x'));
        let e = Examine::parse("/2i").unwrap();
        assert_eq!((e.count, e.format), (2, 'i'));
        assert!(Examine::parse("/3q").is_err());
    }

    #[test]
    fn conditions_split() {
        let (a, c) = split_cond("0x7c00 if ax == 1").unwrap();
        assert_eq!(a, "0x7c00");
        assert!(c.is_some());
        assert!(split_cond("0x7c00 if ax ==").is_err());
    }
}
