//! Looking at the machine: registers, descriptor tables, memory dumps, disassembly and the
//! one-line descriptions of events that `show`, `trace on` and stop messages print.
//!
//! Nothing here changes the machine: memory is read straight from RAM and ROM (MMIO windows
//! are not touched, as reading a device register can change the device).

use super::{translate, Mode, StepRecord};
use crate::cpu::decode::seg;
use crate::cpu::{CpuEvent, IntSource, Segment};
use crate::machine::{Access, AccessKind, Pc};
use iced_x86::{Decoder, DecoderOptions, Formatter, NasmFormatter};
use std::fmt::Write as _;
use std::io::{self, Write};

/// Bytes at a linear address, stopping at the first one that cannot be read.
pub fn code_bytes(pc: &Pc, linear: u32, n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n);
    for k in 0..n as u32 {
        let Some(p) = translate(pc, linear.wrapping_add(k)) else {
            break;
        };
        match pc.board.mem.read8(p) {
            Ok(b) => v.push(b),
            Err(_) => break,
        }
    }
    v
}

/// A little-endian value of `size` bytes at a physical address (RAM and ROM only).
pub fn read_phys(pc: &Pc, phys: u32, size: u8) -> Option<u64> {
    let mut v = 0u64;
    for k in 0..size as u32 {
        v |= (pc.board.mem.read8(phys.wrapping_add(k)).ok()? as u64) << (8 * k);
    }
    Some(v)
}

/// A little-endian value of `size` bytes at a linear address.
pub fn read_linear(pc: &Pc, linear: u32, size: u8) -> Option<u64> {
    let mut v = 0u64;
    for k in 0..size as u32 {
        let p = translate(pc, linear.wrapping_add(k))?;
        v |= (pc.board.mem.read8(p).ok()? as u64) << (8 * k);
    }
    Some(v)
}

/// The 8-byte descriptor selected by `sel` (GDT or LDT by its TI bit), if inside the table.
pub fn read_descriptor(pc: &Pc, sel: u16) -> Option<u64> {
    let cpu = &pc.cpu;
    let (base, limit) = if sel & 4 != 0 {
        (cpu.ldtr.base, cpu.ldtr.limit)
    } else {
        (cpu.gdtr.base, cpu.gdtr.limit as u32)
    };
    let off = (sel & !7) as u32;
    if off + 7 > limit {
        return None;
    }
    read_linear(pc, base.wrapping_add(off), 8)
}

/// The linear base a selector gives in the current mode: `sel * 16` in real and
/// virtual-8086 mode, the descriptor's base in protected mode.
pub fn segment_base(pc: &Pc, sel: u16) -> Option<u32> {
    match Mode::of(pc) {
        Mode::Real | Mode::V86 => Some((sel as u32) << 4),
        _ => {
            if sel & !3 == 0 {
                return None;
            }
            let d = read_descriptor(pc, sel)?;
            Some(desc_base(d))
        }
    }
}

fn desc_base(d: u64) -> u32 {
    (((d >> 16) & 0xFF_FFFF) | ((d >> 32) & 0xFF00_0000)) as u32
}

fn desc_limit(d: u64) -> u32 {
    let raw = ((d & 0xFFFF) | ((d >> 32) & 0xF_0000)) as u32;
    if d & (1 << 55) != 0 {
        (raw << 12) | 0xFFF
    } else {
        raw
    }
}

/// What a descriptor (or a descriptor cache's attribute bits, `attrs` as in bytes 5–6) is.
pub fn describe_attrs(attrs: u16) -> String {
    let ty = attrs & 0xF;
    let s = attrs & 0x10 != 0;
    let dpl = (attrs >> 5) & 3;
    let present = attrs & 0x80 != 0;
    let mut out = String::new();
    if s {
        if ty & 8 != 0 {
            out.push_str("code");
            out.push_str(if ty & 2 != 0 {
                ", readable"
            } else {
                ", execute-only"
            });
            if ty & 4 != 0 {
                out.push_str(", conforming");
            }
        } else {
            out.push_str("data");
            out.push_str(if ty & 2 != 0 {
                ", writable"
            } else {
                ", read-only"
            });
            if ty & 4 != 0 {
                out.push_str(", expand-down");
            }
        }
        if ty & 1 != 0 {
            out.push_str(", accessed");
        }
        out.push_str(if attrs & 0x4000 != 0 {
            ", 32-bit"
        } else {
            ", 16-bit"
        });
    } else {
        out.push_str(match ty {
            0x1 => "16-bit TSS (available)",
            0x2 => "LDT",
            0x3 => "16-bit TSS (busy)",
            0x4 => "16-bit call gate",
            0x5 => "task gate",
            0x6 => "16-bit interrupt gate",
            0x7 => "16-bit trap gate",
            0x9 => "32-bit TSS (available)",
            0xB => "32-bit TSS (busy)",
            0xC => "32-bit call gate",
            0xE => "32-bit interrupt gate",
            0xF => "32-bit trap gate",
            _ => "reserved system type",
        });
    }
    let _ = write!(out, ", DPL {dpl}");
    out.push_str(if present {
        ", present"
    } else {
        ", not present"
    });
    if attrs & 0x8000 != 0 {
        out.push_str(", 4 KiB granularity");
    }
    out
}

/// One descriptor-table entry as text.
fn describe_descriptor(d: u64) -> String {
    let attrs = ((d >> 40) & 0xF0FF) as u16;
    let s = attrs & 0x10 != 0;
    let ty = attrs & 0xF;
    if !s && matches!(ty, 0x4 | 0x6 | 0x7 | 0xC | 0xE | 0xF | 0x5) {
        let sel = (d >> 16) as u16;
        let off = ((d & 0xFFFF) | ((d >> 32) & 0xFFFF_0000)) as u32;
        let target = if ty == 5 {
            format!("TSS selector {sel:#06x}")
        } else {
            format!("{sel:04x}:{off:08x}")
        };
        return format!("{} -> {target}", describe_attrs(attrs));
    }
    if d & (1 << 47) == 0 && d == 0 {
        return "null".into();
    }
    format!(
        "base {:#010x} limit {:#010x}: {}",
        desc_base(d),
        desc_limit(d),
        describe_attrs(attrs)
    )
}

/// Disassembles up to `n` instructions at `cs:eip` (linear `linear`) in the given mode.
/// Each line: address, bytes, instruction.
/// `at` is the CS:EIP of the first instruction, when the address has one (the instructions
/// are labelled `cs:offset`, else by linear address only).
pub fn disassemble(
    pc: &Pc,
    at: Option<(u16, u32)>,
    linear: u32,
    code32: bool,
    n: usize,
) -> Vec<String> {
    disassemble_bytes(&code_bytes(pc, linear, n * 15), at, linear, code32, n)
}

/// Disassembles up to `n` instructions from `bytes`, which start at address `addr` (and at
/// CS:EIP `at`, when known).
pub fn disassemble_bytes(
    bytes: &[u8],
    at: Option<(u16, u32)>,
    addr: u32,
    code32: bool,
    n: usize,
) -> Vec<String> {
    let linear = addr;
    let (cs, eip) = at.unwrap_or((0, linear));
    let bitness = if code32 { 32 } else { 16 };
    let mut dec = Decoder::with_ip(bitness, bytes, eip as u64, DecoderOptions::NONE);
    let mut fmt = NasmFormatter::new();
    fmt.options_mut().set_hex_prefix("0x");
    fmt.options_mut().set_hex_suffix("");
    fmt.options_mut().set_uppercase_hex(false);
    fmt.options_mut().set_space_after_operand_separator(true);
    fmt.options_mut().set_branch_leading_zeros(false);
    let mut lines = Vec::new();
    let mut pos = 0usize;
    while lines.len() < n && dec.can_decode() {
        let insn = dec.decode();
        let len = insn.len();
        let off = eip.wrapping_add(pos as u32);
        let off = if code32 { off } else { off & 0xFFFF };
        let mut text = String::new();
        if insn.is_invalid() {
            text.push_str("(bad)");
        } else {
            fmt.format(&insn, &mut text);
        }
        let hex: String = bytes[pos..pos + len]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let lin = linear.wrapping_add(pos as u32);
        let label = match at {
            Some(_) => format!("{cs:04x}:{off:0w$x}", w = if code32 { 8 } else { 4 }),
            None => String::new(),
        };
        lines.push(format!("{lin:#010x} {label:<9}  {hex:<16} {text}"));
        pos += len;
    }
    if lines.is_empty() {
        lines.push(format!("{linear:#010x}: memory not readable"));
    }
    lines
}

/// One instruction as text (for the trace file): `mov ax, 0x1234`.
pub fn disasm_one(bytes: &[u8], eip: u32, code32: bool) -> String {
    let mut dec = Decoder::with_ip(
        if code32 { 32 } else { 16 },
        bytes,
        eip as u64,
        DecoderOptions::NONE,
    );
    if !dec.can_decode() {
        return "(not readable)".into();
    }
    let insn = dec.decode();
    if insn.is_invalid() {
        return "(bad)".into();
    }
    let mut fmt = NasmFormatter::new();
    fmt.options_mut().set_hex_prefix("0x");
    fmt.options_mut().set_hex_suffix("");
    fmt.options_mut().set_uppercase_hex(false);
    fmt.options_mut().set_space_after_operand_separator(true);
    fmt.options_mut().set_branch_leading_zeros(false);
    let mut s = String::new();
    fmt.format(&insn, &mut s);
    s
}

/// The next instruction, as printed at every stop.
pub fn next_line(pc: &Pc) -> String {
    let cs = pc.cpu.segs[seg::CS as usize].selector;
    let code32 = Mode::of(pc).code32();
    let mut s = disassemble(pc, Some((cs, pc.cpu.eip)), pc.cpu.pc_linear(), code32, 1).remove(0);
    if pc.cpu.rep_pending {
        s.push_str("    (REP in progress)");
    }
    if pc.cpu.halted {
        s.push_str("    (halted)");
    }
    s
}

/// EFLAGS decoded the Bochs way: set flags in capitals.
pub fn decode_eflags(f: u32) -> String {
    const BITS: [(u32, &str); 14] = [
        (21, "id"),
        (20, "vip"),
        (19, "vif"),
        (18, "ac"),
        (17, "vm"),
        (16, "rf"),
        (14, "nt"),
        (11, "of"),
        (10, "df"),
        (9, "if"),
        (8, "tf"),
        (7, "sf"),
        (6, "zf"),
        (4, "af"),
    ];
    let mut s = String::new();
    for (bit, name) in BITS {
        if bit == 11 {
            let _ = write!(s, "IOPL={} ", (f >> 12) & 3);
        }
        if f & (1 << bit) != 0 {
            s.push_str(&name.to_ascii_uppercase());
        } else {
            s.push_str(name);
        }
        s.push(' ');
    }
    s.push_str(if f & 4 != 0 { "PF " } else { "pf " });
    s.push_str(if f & 1 != 0 { "CF" } else { "cf" });
    s
}

/// `r`: general registers, EIP and EFLAGS.
pub fn print_regs(pc: &Pc, out: &mut dyn Write) -> io::Result<()> {
    let c = &pc.cpu;
    const N: [&str; 8] = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
    for pair in [[0, 3], [1, 2], [6, 7], [5, 4]] {
        for &i in &pair {
            write!(out, "{}: {:#010x} {:<12}", N[i], c.regs[i], c.regs[i])?;
        }
        writeln!(out)?;
    }
    writeln!(out, "eip: {:#010x}", c.eip)?;
    let f = c.eflags();
    writeln!(out, "eflags {f:#010x}: {}", decode_eflags(f))?;
    writeln!(
        out,
        "mode: {}   instructions: {}   cycles: {}",
        Mode::of(pc).name(),
        c.instructions,
        c.cycles
    )
}

fn seg_line(name: &str, s: &Segment) -> String {
    format!(
        "{name}: {:#06x}  base {:#010x}  limit {:#010x}  attrs {:#06x} ({})",
        s.selector,
        s.base,
        s.limit,
        s.attrs,
        describe_attrs(s.attrs)
    )
}

/// `sreg`: selectors with their hidden descriptor caches, and the table registers.
pub fn print_sregs(pc: &Pc, out: &mut dyn Write) -> io::Result<()> {
    let c = &pc.cpu;
    for (i, name) in ["es", "cs", "ss", "ds", "fs", "gs"].iter().enumerate() {
        writeln!(out, "{}", seg_line(name, &c.segs[i]))?;
    }
    writeln!(out, "{}", seg_line("ldtr", &c.ldtr))?;
    writeln!(out, "{}", seg_line("tr", &c.tr))?;
    writeln!(
        out,
        "gdtr: base {:#010x} limit {:#06x}",
        c.gdtr.base, c.gdtr.limit
    )?;
    writeln!(
        out,
        "idtr: base {:#010x} limit {:#06x}",
        c.idtr.base, c.idtr.limit
    )
}

/// `creg`: control registers decoded.
pub fn print_cregs(pc: &Pc, out: &mut dyn Write) -> io::Result<()> {
    let c = &pc.cpu;
    let bits = |v: u32, names: &[(u32, &str)]| -> String {
        names
            .iter()
            .map(|&(b, n)| {
                if v & (1 << b) != 0 {
                    n.to_ascii_uppercase()
                } else {
                    n.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    writeln!(
        out,
        "cr0: {:#010x}: {}",
        c.cr[0],
        bits(
            c.cr[0],
            &[
                (31, "pg"),
                (30, "cd"),
                (29, "nw"),
                (18, "am"),
                (16, "wp"),
                (5, "ne"),
                (4, "et"),
                (3, "ts"),
                (2, "em"),
                (1, "mp"),
                (0, "pe")
            ]
        )
    )?;
    writeln!(out, "cr2: {:#010x} (page fault linear address)", c.cr[2])?;
    writeln!(
        out,
        "cr3: {:#010x} (page directory base {:#010x}{}{})",
        c.cr[3],
        c.cr[3] & !0xFFF,
        if c.cr[3] & 8 != 0 { ", PWT" } else { "" },
        if c.cr[3] & 16 != 0 { ", PCD" } else { "" }
    )?;
    writeln!(
        out,
        "cr4: {:#010x}: {}",
        c.cr[4],
        bits(
            c.cr[4],
            &[
                (9, "osfxsr"),
                (8, "pce"),
                (7, "pge"),
                (5, "pae"),
                (4, "pse"),
                (3, "de"),
                (2, "tsd"),
                (1, "pvi"),
                (0, "vme")
            ]
        )
    )
}

/// `dreg`: debug registers, DR7 decoded per breakpoint.
pub fn print_dregs(pc: &Pc, out: &mut dyn Write) -> io::Result<()> {
    let d = &pc.cpu.dr;
    for i in 0..4 {
        let en = (d[7] >> (2 * i)) & 3;
        let rw = (d[7] >> (16 + 4 * i)) & 3;
        let len = (d[7] >> (18 + 4 * i)) & 3;
        writeln!(
            out,
            "dr{i}: {:#010x}  {}{} {} len {}",
            d[i],
            if en & 1 != 0 { "L" } else { "-" },
            if en & 2 != 0 { "G" } else { "-" },
            ["execute", "write", "i/o", "read/write"][rw as usize],
            [1, 2, 8, 4][len as usize]
        )?;
    }
    writeln!(out, "dr6: {:#010x}", d[6])?;
    writeln!(out, "dr7: {:#010x}", d[7])
}

/// Unit and format of `x /nuf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Examine {
    /// How many units.
    pub count: usize,
    /// Bytes per unit: 1 (b), 2 (h), 4 (w), 8 (g).
    pub unit: u8,
    /// x (hex), d (signed), u (unsigned), o (octal), t (binary), c (char), s (string), i (instructions).
    pub format: char,
}

impl Examine {
    /// Parses `/nuf` (each part optional, any order of u and f after n).
    pub fn parse(spec: &str) -> Result<Examine, String> {
        let mut e = Examine {
            count: 1,
            unit: 4,
            format: 'x',
        };
        let s = spec.trim_start_matches('/');
        let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
        if !digits.is_empty() {
            e.count = digits
                .parse()
                .map_err(|_| format!("`{digits}` is not a count"))?;
        }
        for c in s[digits.len()..].chars() {
            match c {
                'b' => e.unit = 1,
                'h' => e.unit = 2,
                'w' => e.unit = 4,
                'g' => e.unit = 8,
                'x' | 'd' | 'u' | 'o' | 't' | 'c' | 's' | 'i' => e.format = c,
                _ => {
                    return Err(format!(
                        "`{c}` is not a unit (b h w g) or format (x d u o t c s i)"
                    ))
                }
            }
        }
        if e.format == 'c' || e.format == 's' {
            e.unit = 1;
        }
        Ok(e)
    }
}

/// `x` and `xp`: memory at a linear (`linear`) or physical address.
pub fn examine(
    pc: &Pc,
    out: &mut dyn Write,
    e: Examine,
    addr: u32,
    linear: bool,
) -> io::Result<()> {
    if e.format == 'i' {
        // Decoded as the current mode would.
        let code32 = Mode::of(pc).code32();
        let n = e.count.clamp(1, 1000);
        let bytes = if linear {
            code_bytes(pc, addr, n * 15)
        } else {
            (0..n as u32 * 15)
                .map_while(|k| pc.board.mem.read8(addr.wrapping_add(k)).ok())
                .collect()
        };
        for l in disassemble_bytes(&bytes, None, addr, code32, n) {
            writeln!(out, "{l}")?;
        }
        return Ok(());
    }
    let read = |a: u32, size: u8| {
        if linear {
            read_linear(pc, a, size)
        } else {
            read_phys(pc, a, size)
        }
    };
    if e.format == 's' {
        // N strings, each up to its NUL (or 4096 bytes).
        let mut a = addr;
        for _ in 0..e.count.clamp(1, 256) {
            let start = a;
            let mut s = String::new();
            loop {
                let b = read(a, 1);
                a = a.wrapping_add(1);
                match b {
                    Some(0) | None => break,
                    Some(b) => s.push(printable(b as u8)),
                }
                if s.len() >= 4096 {
                    break;
                }
            }
            writeln!(out, "{start:#010x}: \"{s}\"")?;
        }
        return Ok(());
    }
    let per_line = (16 / e.unit as usize).max(1);
    for i in 0..e.count {
        let a = addr.wrapping_add((i * e.unit as usize) as u32);
        if i % per_line == 0 {
            if i > 0 {
                writeln!(out)?;
            }
            write!(out, "{a:#010x}:")?;
        }
        let Some(v) = read(a, e.unit) else {
            writeln!(out, " <not readable>")?;
            return Ok(());
        };
        let bits = 8 * e.unit as u32;
        let signed = ((v << (64 - bits)) as i64) >> (64 - bits);
        match e.format {
            'd' => write!(out, " {signed}")?,
            'u' => write!(out, " {v}")?,
            'o' => write!(out, " 0{v:o}")?,
            't' => write!(out, " {v:0w$b}", w = bits as usize)?,
            'c' => write!(out, " '{}'", printable(v as u8))?,
            _ => write!(out, " 0x{v:0w$x}", w = 2 * e.unit as usize)?,
        }
    }
    writeln!(out)
}

fn printable(b: u8) -> char {
    if (0x20..0x7F).contains(&b) {
        b as char
    } else {
        '.'
    }
}

/// `info ivt [first [last]]`.
pub fn info_ivt(pc: &Pc, out: &mut dyn Write, first: u8, last: u8) -> io::Result<()> {
    let base = pc.cpu.idtr.base;
    if pc.cpu.protected() {
        writeln!(out, "(protected mode: the IDT is in use, see `info idt`)")?;
    }
    for v in first..=last {
        let ent = base.wrapping_add(v as u32 * 4);
        match read_linear(pc, ent, 4) {
            Some(x) => writeln!(
                out,
                "INT# {v:#04x} > {:04x}:{:04x} ({:#010x})",
                (x >> 16) as u16,
                x as u16,
                ((x >> 16) as u32 * 16) + (x & 0xFFFF) as u32
            )?,
            None => writeln!(out, "INT# {v:#04x} > <not readable>")?,
        }
    }
    Ok(())
}

/// Entries of a descriptor table at `base` with `limit`.
fn dump_table(
    pc: &Pc,
    out: &mut dyn Write,
    name: &str,
    base: u32,
    limit: u32,
    max: usize,
) -> io::Result<()> {
    let n = ((limit as usize + 1) / 8).min(max);
    writeln!(
        out,
        "{name} (base {base:#010x}, limit {limit:#x}): {} entries{}",
        (limit as usize + 1) / 8,
        if n < (limit as usize + 1) / 8 {
            format!(", showing {n}")
        } else {
            String::new()
        }
    )?;
    for i in 0..n {
        match read_linear(pc, base.wrapping_add(i as u32 * 8), 8) {
            Some(d) => writeln!(
                out,
                "{name}[{i:#04x}] (selector {:#06x}) = {d:#018x}: {}",
                i * 8,
                describe_descriptor(d)
            )?,
            None => writeln!(out, "{name}[{i:#04x}] <not readable>")?,
        }
    }
    Ok(())
}

/// `info gdt`.
pub fn info_gdt(pc: &Pc, out: &mut dyn Write) -> io::Result<()> {
    let g = pc.cpu.gdtr;
    dump_table(pc, out, "GDT", g.base, g.limit as u32, 64)
}

/// `info idt`: the IVT in real mode, gates in protected mode.
pub fn info_idt(pc: &Pc, out: &mut dyn Write) -> io::Result<()> {
    let i = pc.cpu.idtr;
    if !pc.cpu.protected() {
        writeln!(
            out,
            "real mode: IDTR (base {:#010x}, limit {:#x}) points at the interrupt vector table",
            i.base, i.limit
        )?;
        let last = ((i.limit as u32 + 1) / 4).clamp(1, 256) - 1;
        return info_ivt(pc, out, 0, last.min(0x1F) as u8);
    }
    dump_table(pc, out, "IDT", i.base, i.limit as u32, 256)
}

/// `info ldt`.
pub fn info_ldt(pc: &Pc, out: &mut dyn Write) -> io::Result<()> {
    let l = pc.cpu.ldtr;
    if l.selector & !3 == 0 {
        return writeln!(
            out,
            "LDTR selector {:#06x} is null: no LDT is loaded",
            l.selector
        );
    }
    dump_table(pc, out, "LDT", l.base, l.limit, 64)
}

/// `info tss`: the current task's TSS fields.
pub fn info_tss(pc: &Pc, out: &mut dyn Write) -> io::Result<()> {
    let t = pc.cpu.tr;
    writeln!(out, "{}", seg_line("tr", &t))?;
    if t.selector & !3 == 0 {
        return writeln!(
            out,
            "TR selector is null: no task is loaded (LTR not executed)"
        );
    }
    let r = |off: u32, size: u8| read_linear(pc, t.base.wrapping_add(off), size).unwrap_or(0);
    if t.attrs & 0xF == 0x9 || t.attrs & 0xF == 0xB {
        writeln!(out, "32-bit TSS: link {:#06x}", r(0, 2))?;
        for (i, n) in ["esp0", "esp1", "esp2"].iter().enumerate() {
            let o = 4 + 8 * i as u32;
            writeln!(out, "  {n}: {:#010x}  ss{i}: {:#06x}", r(o, 4), r(o + 4, 2))?;
        }
        writeln!(
            out,
            "  cr3: {:#010x}  eip: {:#010x}  eflags: {:#010x}",
            r(28, 4),
            r(32, 4),
            r(36, 4)
        )?;
        for (i, n) in ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"]
            .iter()
            .enumerate()
        {
            write!(out, "  {n}: {:#010x}", r(40 + 4 * i as u32, 4))?;
            if i % 4 == 3 {
                writeln!(out)?;
            }
        }
        for (i, n) in ["es", "cs", "ss", "ds", "fs", "gs", "ldt"]
            .iter()
            .enumerate()
        {
            write!(out, "  {n}: {:#06x}", r(72 + 4 * i as u32, 2))?;
        }
        writeln!(out)?;
        writeln!(
            out,
            "  T: {}  I/O map base: {:#06x}",
            r(100, 2) & 1,
            r(102, 2)
        )
    } else {
        writeln!(out, "16-bit TSS: link {:#06x}", r(0, 2))?;
        for (i, n) in ["sp0", "sp1", "sp2"].iter().enumerate() {
            let o = 2 + 4 * i as u32;
            writeln!(out, "  {n}: {:#06x}  ss{i}: {:#06x}", r(o, 2), r(o + 2, 2))?;
        }
        writeln!(out, "  ip: {:#06x}  flags: {:#06x}", r(14, 2), r(16, 2))?;
        for (i, n) in [
            "ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "es", "cs", "ss", "ds", "ldt",
        ]
        .iter()
        .enumerate()
        {
            write!(out, "  {n}: {:#06x}", r(18 + 2 * i as u32, 2))?;
        }
        writeln!(out)
    }
}

/// `info tab`: the page tables' present mappings, merged into runs.
pub fn info_tab(pc: &Pc, out: &mut dyn Write) -> io::Result<()> {
    let c = &pc.cpu;
    if c.cr[0] & 0x8000_0000 == 0 {
        return writeln!(
            out,
            "paging is off (CR0.PG = 0): linear addresses are physical{}",
            if pc.board.mem.a20() {
                ""
            } else {
                " (with A20 masked)"
            }
        );
    }
    let dir = c.cr[3] & !0xFFF;
    writeln!(out, "page directory at {dir:#010x}")?;
    // Runs of linear pages mapped to consecutive physical pages with the same flags.
    let mut run: Option<(u32, u32, u32, u32)> = None; // (lin start, phys start, pages, flags)
    let mut lines = 0;
    let mut flush =
        |run: &mut Option<(u32, u32, u32, u32)>, out: &mut dyn Write| -> io::Result<()> {
            if let Some((l, p, n, f)) = run.take() {
                lines += 1;
                writeln!(
                    out,
                    "{l:#010x}-{:#010x} -> {p:#010x}-{:#010x} {}{}{}{}{}",
                    l.wrapping_add(n * 4096 - 1),
                    p.wrapping_add(n * 4096 - 1),
                    if f & 2 != 0 { "W" } else { "R" },
                    if f & 4 != 0 { "U" } else { "S" },
                    if f & 0x20 != 0 { "A" } else { "-" },
                    if f & 0x40 != 0 { "D" } else { "-" },
                    if f & 0x100 != 0 { "G" } else { "-" },
                )?;
            }
            Ok(())
        };
    for di in 0..1024u32 {
        let Some(pde) = read_phys(pc, dir + di * 4, 4) else {
            continue;
        };
        let pde = pde as u32;
        if pde & 1 == 0 {
            flush(&mut run, out)?;
            continue;
        }
        let big = pde & 0x80 != 0 && c.cr[4] & 0x10 != 0;
        for ti in 0..1024u32 {
            let lin = (di << 22) | (ti << 12);
            let (phys, flags) = if big {
                ((pde & 0xFFC0_0000) | (ti << 12), pde & 0x167)
            } else {
                match read_phys(pc, (pde & !0xFFF) + ti * 4, 4) {
                    Some(pte) if pte & 1 != 0 => {
                        let pte = pte as u32;
                        (pte & !0xFFF, (pte & 0x167) & (pde | 0x160))
                    }
                    _ => {
                        flush(&mut run, out)?;
                        continue;
                    }
                }
            };
            match &mut run {
                Some((l, p, n, f))
                    if *f == flags
                        && l.wrapping_add(*n * 4096) == lin
                        && p.wrapping_add(*n * 4096) == phys =>
                {
                    *n += 1
                }
                _ => {
                    flush(&mut run, out)?;
                    run = Some((lin, phys, 1, flags));
                }
            }
        }
    }
    flush(&mut run, out)
}

/// `stack [n]`: words (or dwords for a 32-bit stack) from SS:SP up.
pub fn print_stack(pc: &Pc, out: &mut dyn Write, n: usize) -> io::Result<()> {
    let c = &pc.cpu;
    let ss = &c.segs[seg::SS as usize];
    let big = ss.attrs & 0x4000 != 0;
    let size: u8 = if big || Mode::of(pc).code32() { 4 } else { 2 };
    let sp = if big { c.regs[4] } else { c.regs[4] & 0xFFFF };
    writeln!(
        out,
        "stack at {:04x}:{sp:0w$x}:",
        ss.selector,
        w = if big { 8 } else { 4 }
    )?;
    for i in 0..n as u32 {
        let off = sp.wrapping_add(i * size as u32);
        let off = if big { off } else { off & 0xFFFF };
        let lin = ss.base.wrapping_add(off);
        match read_linear(pc, lin, size) {
            Some(v) => writeln!(
                out,
                " | {:04x}:{off:0w$x} ({lin:#010x}) [{v:#0vw$x}]",
                ss.selector,
                w = if big { 8 } else { 4 },
                vw = 2 + 2 * size as usize
            )?,
            None => writeln!(out, " | {lin:#010x} <not readable>")?,
        }
    }
    Ok(())
}

/// A port access as text: `out 0x0020 (pic) <- 0x20`.
pub fn describe_io(pc: &Pc, a: &Access) -> String {
    let dev = pc.port_owner(a.addr as u16).name();
    let w = 2 * a.size as usize;
    match a.kind {
        AccessKind::In => format!(
            "in  {:#06x} ({dev}) -> {:#0w$x}",
            a.addr,
            a.value,
            w = w + 2
        ),
        _ => format!(
            "out {:#06x} ({dev}) <- {:#0w$x}",
            a.addr,
            a.value,
            w = w + 2
        ),
    }
}

/// How an interrupt was delivered, as text: source, vector, gate, handler, return address.
pub fn describe_event(pc: &Pc, rec: &StepRecord, e: &CpuEvent) -> String {
    match *e {
        CpuEvent::TripleFault => "triple fault: the CPU shuts down and the machine resets".into(),
        CpuEvent::Interrupt {
            vector,
            source,
            error,
            ret_cs,
            ret_eip,
        } => {
            let what = match source {
                IntSource::Hardware => format!("hardware interrupt {vector:#04x}"),
                IntSource::Software => format!(
                    "INT {vector:#04x} (AH={:#04x})",
                    (rec.before.regs[0] >> 8) as u8
                ),
                IntSource::Exception => format!("exception {}", exception_name(vector)),
            };
            let err = error.map_or(String::new(), |e| format!(", error code {e:#06x}"));
            let via = if rec.mode == Mode::Real {
                format!(
                    "via IVT[{vector:#04x}] at {:#07x}",
                    pc.cpu.idtr.base.wrapping_add(vector as u32 * 4)
                )
            } else {
                format!("via IDT[{vector:#04x}]")
            };
            let cs = pc.cpu.segs[seg::CS as usize].selector;
            format!(
                "{what}{err} {via} -> {cs:04x}:{:04x}, return to {ret_cs:04x}:{ret_eip:04x}",
                pc.cpu.eip
            )
        }
    }
}

/// `#GP (13)` and friends.
pub fn exception_name(v: u8) -> String {
    let n = match v {
        0 => "#DE",
        1 => "#DB",
        2 => "NMI",
        3 => "#BP",
        4 => "#OF",
        5 => "#BR",
        6 => "#UD",
        7 => "#NM",
        8 => "#DF",
        10 => "#TS",
        11 => "#NP",
        12 => "#SS",
        13 => "#GP",
        14 => "#PF",
        16 => "#MF",
        17 => "#AC",
        18 => "#MC",
        _ => return format!("{v:#04x}"),
    };
    format!("{n} ({v})")
}

/// One line of `trace on`: address, bytes, instruction and register changes.
pub fn print_trace_line(pc: &Pc, rec: &StepRecord, out: &mut dyn Write) {
    let code32 = rec.mode.code32();
    let text = disasm_one(&rec.bytes, rec.eip, code32);
    let mut line = format!(
        "{:04x}:{:0w$x} {:<28}",
        rec.cs,
        rec.eip,
        text,
        w = if code32 { 8 } else { 4 }
    );
    for (name, old, new) in rec.before.changes(&rec.after) {
        let _ = write!(line, " {name}={old:#x}->{new:#x}");
    }
    for a in &rec.accesses {
        match a.kind {
            AccessKind::Write => {
                let _ = write!(line, " [{:#x}]<-{:#x}", a.addr, a.value);
            }
            AccessKind::In | AccessKind::Out => {
                let _ = write!(line, " {}", describe_io(pc, a));
            }
            AccessKind::Read => {}
        }
    }
    let _ = writeln!(out, "{line}");
}

/// `info device NAME`, or the list of names.
pub fn info_device(pc: &Pc, out: &mut dyn Write, name: Option<&str>) -> io::Result<()> {
    let names = pc.board.platform.device_names();
    match name {
        None => writeln!(out, "devices: {}", names.join(", ")),
        Some(n) => match pc.board.platform.device(n) {
            Some(d) => d.inspect(out),
            None => writeln!(out, "no device `{n}`; devices: {}", names.join(", ")),
        },
    }
}
