//! The text of a reproducer: what ran, from where, and how the two back ends ended.

use std::fmt::Write;

use crate::cpu::decode::seg;
use crate::cpu::{fault, Cpu};
use iced_x86::{Decoder, DecoderOptions, Formatter, NasmFormatter};

use super::gen::Sequence;
use super::{Backend, Diff, Field, Harness};

/// Register names by number.
const REGS: [&str; 8] = ["EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"];
/// Segment registers in the order shown, with their `seg` numbers.
const SEGS: [(&str, u8); 6] = [
    ("CS", seg::CS),
    ("DS", seg::DS),
    ("ES", seg::ES),
    ("SS", seg::SS),
    ("FS", seg::FS),
    ("GS", seg::GS),
];
/// Memory differences listed one by one before the rest are counted.
const SHOWN_BYTES: usize = 16;

/// Describes a mismatch of case `index`. The harness holds the end states of `seq`, the
/// shrunk sequence (of `original` instructions before shrinking).
pub(super) fn describe(
    h: &Harness,
    index: u64,
    seq: &Sequence,
    original: usize,
    d: &Diff,
    a: &dyn Backend,
    b: &dyn Backend,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "MISMATCH seed {} sequence {index}: {} vs {} ({}, CPU {}; {} of {} instructions kept)",
        h.seed,
        a.name(),
        b.name(),
        h.sandbox.mode.name(),
        h.start.model,
        seq.insns.len(),
        original,
    );
    let code = seq.code();
    let hex: Vec<String> = code.iter().map(|b| format!("{b:02x}")).collect();
    let _ = writeln!(s, "  bytes: {}", hex.join(" "));
    disassembly(&mut s, h, &code);
    let undefined = seq.undefined_flags();
    if undefined != 0 {
        let _ = writeln!(
            s,
            "  undefined flags, not compared: {} ({undefined:#06x})",
            flag_names(undefined)
        );
    }
    let _ = writeln!(s, "  start:");
    state(&mut s, &h.start, &[]);
    match &d.stopped {
        Some((ea, eb)) => {
            for (name, err, cpu) in [(a.name(), ea, &h.cpu_a), (b.name(), eb, &h.cpu_b)] {
                match err {
                    Some(e) => {
                        let _ = writeln!(s, "  {name}: stopped without HLT: {e}");
                    }
                    None => {
                        let _ = writeln!(s, "  {name} end ({}):", where_ended(h, cpu));
                        state(&mut s, cpu, &[]);
                    }
                }
            }
        }
        None => {
            for (name, cpu) in [(a.name(), &h.cpu_a), (b.name(), &h.cpu_b)] {
                let _ = writeln!(s, "  {name} end ({}):", where_ended(h, cpu));
                state(&mut s, cpu, &d.fields);
            }
            if d.eflags != 0 {
                let _ = writeln!(s, "  EFLAGS differ in: {}", flag_names(d.eflags));
            }
            memory(&mut s, h, d, a.name(), b.name());
        }
    }
    s
}

fn disassembly(s: &mut String, h: &Harness, code: &[u8]) {
    let cs = h.start.segs[seg::CS as usize].selector;
    let ip = h.start.eip as u64;
    let mut dec = Decoder::with_ip(h.sandbox.bitness, code, ip, DecoderOptions::NONE);
    let mut fmt = NasmFormatter::new();
    let mut text = String::new();
    let _ = writeln!(s, "  code ({}-bit):", h.sandbox.bitness);
    while dec.can_decode() {
        let i = dec.decode();
        text.clear();
        fmt.format(&i, &mut text);
        let at = (i.ip() - ip) as usize;
        let hex: String = code[at..at + i.len()]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let _ = writeln!(s, "    {cs:04x}:{:04x}  {hex:<30}  {text}", i.ip());
    }
}

/// Registers, flags and selectors; the `marked` fields get a `*`.
fn state(s: &mut String, c: &Cpu, marked: &[Field]) {
    let mark = |f: Field| if marked.contains(&f) { '*' } else { ' ' };
    let regs: Vec<String> = (0..8u8)
        .map(|r| {
            format!(
                "{}={:08x}{}",
                REGS[r as usize],
                c.regs[r as usize],
                mark(Field::Reg(r))
            )
        })
        .collect();
    let _ = writeln!(s, "    {}", regs[..4].join(" "));
    let _ = writeln!(s, "    {}", regs[4..].join(" "));
    let segs: Vec<String> = SEGS
        .iter()
        .map(|&(n, k)| {
            format!(
                "{n}={:04x}{}",
                c.segs[k as usize].selector,
                mark(Field::Seg(k))
            )
        })
        .collect();
    let _ = writeln!(
        s,
        "    EIP={:08x}{} EFLAGS={:08x}{} [{}] {}",
        c.eip,
        mark(Field::Eip),
        c.eflags(),
        mark(Field::Eflags),
        flag_letters(c.eflags()),
        segs.join(" ")
    );
}

fn memory(s: &mut String, h: &Harness, d: &Diff, a: &str, b: &str) {
    if d.memory.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "  memory: {} bytes differ (physical address: {a} / {b})",
        d.memory.len()
    );
    for &addr in d.memory.iter().take(SHOWN_BYTES) {
        let _ = writeln!(
            s,
            "    {addr:#07x}: {:02x} / {:02x}",
            h.ram_a[addr as usize], h.ram_b[addr as usize]
        );
    }
    if d.memory.len() > SHOWN_BYTES {
        let _ = writeln!(s, "    ... and {} more", d.memory.len() - SHOWN_BYTES);
    }
}

/// Where a back end stopped, in words.
fn where_ended(h: &Harness, c: &Cpu) -> String {
    match h.sandbox.handler_vector(c) {
        Some(v) => format!("in the handler of {}", vector_name(v)),
        None => format!(
            "HLT at {:04x}:{:04x}",
            c.segs[seg::CS as usize].selector,
            c.eip.wrapping_sub(1)
        ),
    }
}

/// The name of an interrupt vector: `#GP (13)`, or `vector 0x21`.
pub(super) fn vector_name(v: u8) -> String {
    use fault::vector::*;
    let name = match v {
        DE => "#DE",
        DB => "#DB",
        BP => "#BP",
        OF => "#OF",
        BR => "#BR",
        UD => "#UD",
        NM => "#NM",
        DF => "#DF",
        SS => "#SS",
        GP => "#GP",
        _ => return format!("vector {v:#04x}"),
    };
    format!("{name} ({v})")
}

/// `O D I T S Z A P C`, upper case when set.
fn flag_letters(f: u32) -> String {
    const BITS: [(u32, char); 9] = [
        (11, 'o'),
        (10, 'd'),
        (9, 'i'),
        (8, 't'),
        (7, 's'),
        (6, 'z'),
        (4, 'a'),
        (2, 'p'),
        (0, 'c'),
    ];
    BITS.iter()
        .map(|&(bit, c)| {
            if f >> bit & 1 != 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

/// Names of the set flag bits, e.g. `CF ZF`.
fn flag_names(f: u32) -> String {
    const NAMES: [&str; 22] = [
        "CF", "bit1", "PF", "bit3", "AF", "bit5", "ZF", "SF", "TF", "IF", "DF", "OF", "IOPL0",
        "IOPL1", "NT", "bit15", "RF", "VM", "AC", "VIF", "VIP", "ID",
    ];
    let names: Vec<String> = (0..32)
        .filter(|b| f >> b & 1 != 0)
        .map(|b| NAMES.get(b).map_or(format!("bit{b}"), |n| n.to_string()))
        .collect();
    names.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(flag_letters(0x0893), "OditSzApC");
        assert_eq!(flag_names(0x0801), "CF OF");
        assert_eq!(vector_name(13), "#GP (13)");
        assert_eq!(vector_name(0x21), "vector 0x21");
    }
}
