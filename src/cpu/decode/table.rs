//! The opcode table: one row per opcode, read by the decoder (operand form), the disassembler
//! (names), the interpreter (per-model cycle costs) and the threaded path (trace-end flag).
//!
//! Rows 0x000–0x0FF are the one-byte opcodes, 0x100–0x1FF the `0F xx` opcodes. Group opcodes
//! (80–83, C0/C1, D0–D3, F6/F7, FE/FF, 0F 00/01/BA/C7) name their members in [`GROUPS`].
//!
//! Cycle costs are the documented clock counts (Intel 8086/80286/80386/80486 manuals) for the
//! register form; `mem` is added for a memory operand. On the 8086 the effective-address time is
//! added separately from the ModRM form (see `ea_cycles_8086`).

use crate::cpu::model::CpuModel;

/// How the bytes after the opcode are laid out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Form {
    /// Nothing follows.
    None,
    /// ModRM (+SIB, displacement).
    M,
    /// ModRM then an 8-bit immediate.
    MI8,
    /// ModRM then a 16/32-bit immediate (operand size).
    MIv,
    /// Group 3 (F6/F7): ModRM, then an immediate only for TEST (reg 0/1), sized by opcode bit 0.
    Grp3,
    /// 8-bit immediate.
    I8,
    /// 16-bit immediate.
    I16,
    /// 16/32-bit immediate (operand size).
    Iv,
    /// 8-bit relative displacement.
    J8,
    /// 16/32-bit relative displacement.
    Jv,
    /// Far pointer: offset (16/32) then selector.
    Ap,
    /// Memory offset (address size) without ModRM.
    O,
    /// ENTER: imm16 then imm8.
    I16I8,
    /// Prefix byte (handled by the decoder loop).
    Prefix,
    /// The `0F` escape.
    Escape,
    /// No such opcode on any model: #UD.
    Invalid,
}

/// Row flag: ends a pre-decoded trace (control transfer, I/O, flag or mode changes).
pub const END: u8 = 1;
/// Row flag: a string instruction (REP prefixes apply).
pub const STRING: u8 = 2;
/// Row flag: the operation size comes from opcode bit 0 (0 = byte).
pub const BYTE_BIT: u8 = 4;

/// One opcode table row.
#[derive(Clone, Copy, Debug)]
pub struct OpInfo {
    /// Mnemonic (for groups, the group's name; see [`GROUPS`]).
    pub name: &'static str,
    /// Operand layout.
    pub form: Form,
    /// The first model that has this opcode.
    pub since: CpuModel,
    /// Row flags (`END`, `STRING`, `BYTE_BIT`).
    pub flags: u8,
    /// Clock cost (register form) for 8086, 286, 386, 486.
    pub cycles: [u8; 4],
    /// Extra clocks for a memory operand, same order.
    pub mem: [u8; 4],
}

const fn r(
    name: &'static str,
    form: Form,
    since: CpuModel,
    flags: u8,
    cycles: [u8; 4],
    mem: [u8; 4],
) -> OpInfo {
    OpInfo {
        name,
        form,
        since,
        flags,
        cycles,
        mem,
    }
}

use CpuModel::{Pentium as CP5, PentiumII as CP6};
use CpuModel::{I186 as C186, I286 as C286, I386 as C386, I486 as C486, I8086 as C86};
use Form::*;

const INVALID: OpInfo = r("(bad)", Invalid, C86, END, [2, 2, 2, 2], [0; 4]);

/// ALU rows 00–05 style: `base` is the first opcode of the block of six.
const fn alu_row(name: &'static str, low: usize) -> OpInfo {
    match low {
        0 | 1 => r(name, M, C86, BYTE_BIT, [3, 2, 2, 1], [13, 5, 5, 2]),
        2 | 3 => r(name, M, C86, BYTE_BIT, [3, 2, 2, 1], [6, 5, 4, 1]),
        4 => r(name, I8, C86, 0, [4, 3, 2, 1], [0; 4]),
        _ => r(name, Iv, C86, 0, [4, 3, 2, 1], [0; 4]),
    }
}

const fn one_byte(op: usize) -> OpInfo {
    const ALU: [&str; 8] = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"];
    const JCC: [&str; 16] = [
        "jo", "jno", "jb", "jae", "je", "jne", "jbe", "ja", "js", "jns", "jp", "jnp", "jl", "jge",
        "jle", "jg",
    ];
    if op < 0x40 && (op & 7) < 6 {
        let mut row = alu_row(ALU[op >> 3], op & 7);
        if op >> 3 == 7 {
            // CMP writes nothing back.
            if op & 7 < 2 {
                row.mem = [6, 5, 5, 2];
            }
        }
        return row;
    }
    match op {
        0x06 | 0x0E | 0x16 | 0x1E => r("push", None, C86, 0, [10, 3, 2, 3], [0; 4]),
        0x07 | 0x17 | 0x1F => r("pop", None, C86, END, [8, 5, 7, 3], [0; 4]),
        0x0F => r("(0f)", Escape, C286, END, [8, 0, 0, 0], [0; 4]),
        0x26 | 0x2E | 0x36 | 0x3E => r("(seg)", Prefix, C86, 0, [2, 0, 0, 1], [0; 4]),
        0x27 => r("daa", None, C86, 0, [4, 3, 4, 2], [0; 4]),
        0x2F => r("das", None, C86, 0, [4, 3, 4, 2], [0; 4]),
        0x37 => r("aaa", None, C86, 0, [8, 3, 4, 3], [0; 4]),
        0x3F => r("aas", None, C86, 0, [8, 3, 4, 3], [0; 4]),
        0x40..=0x47 => r("inc", None, C86, 0, [3, 2, 2, 1], [0; 4]),
        0x48..=0x4F => r("dec", None, C86, 0, [3, 2, 2, 1], [0; 4]),
        0x50..=0x57 => r("push", None, C86, 0, [11, 3, 2, 1], [0; 4]),
        0x58..=0x5F => r("pop", None, C86, 0, [8, 5, 4, 1], [0; 4]),
        0x60 => r("pusha", None, C186, 0, [36, 17, 18, 11], [0; 4]),
        0x61 => r("popa", None, C186, 0, [51, 19, 24, 9], [0; 4]),
        0x62 => r("bound", M, C186, 0, [35, 13, 10, 7], [0; 4]),
        0x63 => r("arpl", M, C286, 0, [10, 10, 20, 9], [0; 4]),
        0x64 | 0x65 => r("(seg)", Prefix, C386, 0, [0; 4], [0; 4]),
        0x66 | 0x67 => r("(size)", Prefix, C386, 0, [0; 4], [0; 4]),
        0x68 => r("push", Iv, C186, 0, [10, 3, 2, 1], [0; 4]),
        0x69 => r("imul", MIv, C186, 0, [25, 21, 22, 13], [4, 3, 3, 0]),
        0x6A => r("push", I8, C186, 0, [10, 3, 2, 1], [0; 4]),
        0x6B => r("imul", MI8, C186, 0, [25, 21, 22, 13], [4, 3, 3, 0]),
        0x6C => r("insb", None, C186, END | STRING, [14, 5, 15, 17], [0; 4]),
        0x6D => r("insw", None, C186, END | STRING, [14, 5, 15, 17], [0; 4]),
        0x6E => r("outsb", None, C186, END | STRING, [14, 5, 14, 17], [0; 4]),
        0x6F => r("outsw", None, C186, END | STRING, [14, 5, 14, 17], [0; 4]),
        0x70..=0x7F => r(JCC[op & 15], J8, C86, END, [4, 3, 3, 1], [0; 4]),
        0x80 | 0x82 => r("(grp1)", MI8, C86, BYTE_BIT, [4, 3, 2, 1], [13, 4, 5, 2]),
        0x81 => r("(grp1)", MIv, C86, BYTE_BIT, [4, 3, 2, 1], [13, 4, 5, 2]),
        0x83 => r("(grp1)", MI8, C86, 0, [4, 3, 2, 1], [13, 4, 5, 2]),
        0x84 | 0x85 => r("test", M, C86, BYTE_BIT, [3, 2, 2, 1], [6, 4, 3, 1]),
        0x86 | 0x87 => r("xchg", M, C86, BYTE_BIT, [4, 3, 3, 3], [13, 2, 2, 2]),
        0x88 | 0x89 => r("mov", M, C86, BYTE_BIT, [2, 2, 2, 1], [7, 1, 0, 0]),
        0x8A | 0x8B => r("mov", M, C86, BYTE_BIT, [2, 2, 2, 1], [6, 3, 2, 0]),
        0x8C => r("mov", M, C86, 0, [2, 2, 2, 3], [7, 1, 0, 0]),
        0x8D => r("lea", M, C86, 0, [2, 3, 2, 1], [0; 4]),
        0x8E => r("mov", M, C86, END, [2, 2, 2, 3], [6, 3, 3, 6]),
        0x8F => r("pop", M, C86, 0, [8, 5, 4, 1], [9, 0, 1, 5]),
        0x90 => r("nop", None, C86, 0, [3, 3, 3, 1], [0; 4]),
        0x91..=0x97 => r("xchg", None, C86, 0, [3, 3, 3, 3], [0; 4]),
        0x98 => r("cbw", None, C86, 0, [2, 2, 3, 3], [0; 4]),
        0x99 => r("cwd", None, C86, 0, [5, 2, 2, 3], [0; 4]),
        0x9A => r("call", Ap, C86, END, [28, 13, 17, 18], [0; 4]),
        0x9B => r("wait", None, C86, 0, [4, 3, 6, 1], [0; 4]),
        0x9C => r("pushf", None, C86, 0, [10, 3, 4, 4], [0; 4]),
        0x9D => r("popf", None, C86, END, [8, 5, 5, 9], [0; 4]),
        0x9E => r("sahf", None, C86, 0, [4, 2, 3, 2], [0; 4]),
        0x9F => r("lahf", None, C86, 0, [4, 2, 2, 3], [0; 4]),
        0xA0 | 0xA1 => r("mov", O, C86, BYTE_BIT, [10, 5, 4, 1], [0; 4]),
        0xA2 | 0xA3 => r("mov", O, C86, BYTE_BIT, [10, 3, 2, 1], [0; 4]),
        0xA4 | 0xA5 => r("movs", None, C86, STRING | BYTE_BIT, [18, 5, 7, 7], [0; 4]),
        0xA6 | 0xA7 => r("cmps", None, C86, STRING | BYTE_BIT, [22, 8, 10, 8], [0; 4]),
        0xA8 => r("test", I8, C86, 0, [4, 3, 2, 1], [0; 4]),
        0xA9 => r("test", Iv, C86, 0, [4, 3, 2, 1], [0; 4]),
        0xAA | 0xAB => r("stos", None, C86, STRING | BYTE_BIT, [11, 3, 4, 5], [0; 4]),
        0xAC | 0xAD => r("lods", None, C86, STRING | BYTE_BIT, [12, 5, 5, 5], [0; 4]),
        0xAE | 0xAF => r("scas", None, C86, STRING | BYTE_BIT, [15, 7, 7, 6], [0; 4]),
        0xB0..=0xB7 => r("mov", I8, C86, 0, [4, 2, 2, 1], [0; 4]),
        0xB8..=0xBF => r("mov", Iv, C86, 0, [4, 2, 2, 1], [0; 4]),
        0xC0 => r("(grp2)", MI8, C186, BYTE_BIT, [5, 5, 3, 2], [15, 3, 4, 2]),
        0xC1 => r("(grp2)", MI8, C186, BYTE_BIT, [5, 5, 3, 2], [15, 3, 4, 2]),
        0xC2 => r("ret", I16, C86, END, [24, 11, 10, 5], [0; 4]),
        0xC3 => r("ret", None, C86, END, [20, 11, 10, 5], [0; 4]),
        0xC4 => r("les", M, C86, 0, [16, 7, 7, 6], [0; 4]),
        0xC5 => r("lds", M, C86, 0, [16, 7, 7, 6], [0; 4]),
        0xC6 => r("mov", MI8, C86, BYTE_BIT, [4, 2, 2, 1], [10, 1, 0, 0]),
        0xC7 => r("mov", MIv, C86, BYTE_BIT, [4, 2, 2, 1], [10, 1, 0, 0]),
        0xC8 => r("enter", I16I8, C186, 0, [15, 11, 10, 14], [0; 4]),
        0xC9 => r("leave", None, C186, 0, [8, 5, 4, 5], [0; 4]),
        0xCA => r("retf", I16, C86, END, [33, 15, 18, 15], [0; 4]),
        0xCB => r("retf", None, C86, END, [34, 15, 18, 13], [0; 4]),
        0xCC => r("int3", None, C86, END, [52, 23, 33, 26], [0; 4]),
        0xCD => r("int", I8, C86, END, [51, 23, 37, 30], [0; 4]),
        0xCE => r("into", None, C86, END, [4, 3, 3, 3], [0; 4]),
        0xCF => r("iret", None, C86, END, [32, 17, 22, 15], [0; 4]),
        0xD0 | 0xD1 => r("(grp2)", M, C86, BYTE_BIT, [2, 2, 3, 3], [13, 5, 4, 1]),
        0xD2 | 0xD3 => r("(grp2)", M, C86, BYTE_BIT, [8, 5, 3, 3], [20, 3, 4, 1]),
        0xD4 => r("aam", I8, C86, 0, [83, 16, 17, 15], [0; 4]),
        0xD5 => r("aad", I8, C86, 0, [60, 14, 19, 14], [0; 4]),
        0xD6 => r("salc", None, C86, 0, [3, 2, 2, 2], [0; 4]),
        0xD7 => r("xlat", None, C86, 0, [11, 5, 5, 4], [0; 4]),
        0xD8..=0xDF => r("esc", M, C86, 0, [2, 2, 2, 2], [6, 0, 0, 0]),
        0xE0 => r("loopne", J8, C86, END, [19, 8, 11, 9], [0; 4]),
        0xE1 => r("loope", J8, C86, END, [18, 8, 11, 9], [0; 4]),
        0xE2 => r("loop", J8, C86, END, [17, 8, 11, 7], [0; 4]),
        0xE3 => r("jcxz", J8, C86, END, [18, 8, 9, 8], [0; 4]),
        0xE4 | 0xE5 => r("in", I8, C86, END | BYTE_BIT, [10, 5, 12, 14], [0; 4]),
        0xE6 | 0xE7 => r("out", I8, C86, END | BYTE_BIT, [10, 3, 10, 16], [0; 4]),
        0xE8 => r("call", Jv, C86, END, [19, 7, 7, 3], [0; 4]),
        0xE9 => r("jmp", Jv, C86, END, [15, 7, 7, 3], [0; 4]),
        0xEA => r("jmp", Ap, C86, END, [15, 11, 12, 17], [0; 4]),
        0xEB => r("jmp", J8, C86, END, [15, 7, 7, 3], [0; 4]),
        0xEC | 0xED => r("in", None, C86, END | BYTE_BIT, [8, 5, 13, 14], [0; 4]),
        0xEE | 0xEF => r("out", None, C86, END | BYTE_BIT, [8, 3, 11, 16], [0; 4]),
        0xF0 | 0xF2 | 0xF3 => r("(prefix)", Prefix, C86, 0, [2, 0, 0, 1], [0; 4]),
        0xF1 => r("int1", None, C386, END, [0, 0, 33, 26], [0; 4]),
        0xF4 => r("hlt", None, C86, END, [2, 2, 5, 4], [0; 4]),
        0xF5 => r("cmc", None, C86, 0, [2, 2, 2, 2], [0; 4]),
        0xF6 | 0xF7 => r("(grp3)", Grp3, C86, BYTE_BIT, [3, 2, 2, 1], [8, 4, 4, 1]),
        0xF8 => r("clc", None, C86, 0, [2, 2, 2, 2], [0; 4]),
        0xF9 => r("stc", None, C86, 0, [2, 2, 2, 2], [0; 4]),
        0xFA => r("cli", None, C86, 0, [2, 3, 3, 5], [0; 4]),
        0xFB => r("sti", None, C86, END, [2, 2, 3, 5], [0; 4]),
        0xFC => r("cld", None, C86, 0, [2, 2, 2, 2], [0; 4]),
        0xFD => r("std", None, C86, 0, [2, 2, 2, 2], [0; 4]),
        0xFE => r(
            "(grp4)",
            M,
            C86,
            BYTE_BIT | END,
            [3, 2, 2, 1],
            [12, 5, 4, 2],
        ),
        0xFF => r(
            "(grp5)",
            M,
            C86,
            BYTE_BIT | END,
            [3, 2, 2, 1],
            [12, 5, 4, 2],
        ),
        _ => INVALID,
    }
}

const fn two_byte(op: usize) -> OpInfo {
    const SETCC: [&str; 16] = [
        "seto", "setno", "setb", "setae", "sete", "setne", "setbe", "seta", "sets", "setns",
        "setp", "setnp", "setl", "setge", "setle", "setg",
    ];
    const JCC: [&str; 16] = [
        "jo", "jno", "jb", "jae", "je", "jne", "jbe", "ja", "js", "jns", "jp", "jnp", "jl", "jge",
        "jle", "jg",
    ];
    const CMOV: [&str; 16] = [
        "cmovo", "cmovno", "cmovb", "cmovae", "cmove", "cmovne", "cmovbe", "cmova", "cmovs",
        "cmovns", "cmovp", "cmovnp", "cmovl", "cmovge", "cmovle", "cmovg",
    ];
    match op {
        0x00 => r("(grp6)", M, C286, END, [0, 17, 20, 20], [0; 4]),
        0x01 => r("(grp7)", M, C286, END, [0, 11, 11, 11], [0; 4]),
        0x02 => r("lar", M, C286, 0, [0, 14, 15, 11], [0; 4]),
        0x03 => r("lsl", M, C286, 0, [0, 14, 20, 10], [0; 4]),
        0x06 => r("clts", None, C286, END, [0, 2, 5, 7], [0; 4]),
        0x08 => r("invd", None, C486, END, [0, 0, 0, 4], [0; 4]),
        0x09 => r("wbinvd", None, C486, END, [0, 0, 0, 5], [0; 4]),
        0x0B => r("ud2", None, C286, END, [0, 2, 2, 2], [0; 4]),
        0x20 => r("mov", M, C386, 0, [0, 0, 6, 4], [0; 4]),
        0x21 => r("mov", M, C386, 0, [0, 0, 22, 10], [0; 4]),
        0x22 => r("mov", M, C386, END, [0, 0, 10, 16], [0; 4]),
        0x23 => r("mov", M, C386, END, [0, 0, 22, 11], [0; 4]),
        0x24 | 0x26 => r("mov", M, C386, END, [0, 0, 12, 4], [0; 4]),
        // Pentium and Pentium II additions. Their clocks (in the 486 column, which those models
        // use) are the Pentium's where its manual gives a count, else a P6 estimate.
        0x30 => r("wrmsr", None, CP5, END, [0, 0, 0, 30], [0; 4]),
        0x31 => r("rdtsc", None, CP5, 0, [0, 0, 0, 20], [0; 4]),
        0x32 => r("rdmsr", None, CP5, 0, [0, 0, 0, 20], [0; 4]),
        0x33 => r("rdpmc", None, CP6, 0, [0, 0, 0, 20], [0; 4]),
        0x34 => r("sysenter", None, CP6, END, [0, 0, 0, 20], [0; 4]),
        0x35 => r("sysexit", None, CP6, END, [0, 0, 0, 20], [0; 4]),
        0x40..=0x4F => r(CMOV[op & 15], M, CP6, 0, [0, 0, 0, 2], [0, 0, 0, 1]),
        0x80..=0x8F => r(JCC[op & 15], Jv, C386, END, [0, 0, 7, 3], [0; 4]),
        0x90..=0x9F => r(SETCC[op & 15], M, C386, 0, [0, 0, 4, 4], [0, 0, 1, 0]),
        0xA0 | 0xA8 => r("push", None, C386, 0, [0, 0, 2, 3], [0; 4]),
        0xA1 | 0xA9 => r("pop", None, C386, 0, [0, 0, 7, 3], [0; 4]),
        0xA2 => r("cpuid", None, C486, 0, [0, 0, 0, 14], [0; 4]),
        0xA3 => r("bt", M, C386, 0, [0, 0, 3, 3], [0, 0, 9, 5]),
        0xAB => r("bts", M, C386, 0, [0, 0, 6, 6], [0, 0, 7, 7]),
        0xB3 => r("btr", M, C386, 0, [0, 0, 6, 6], [0, 0, 7, 7]),
        0xBB => r("btc", M, C386, 0, [0, 0, 6, 6], [0, 0, 7, 7]),
        0xA4 | 0xAC => r(
            if op == 0xA4 { "shld" } else { "shrd" },
            MI8,
            C386,
            0,
            [0, 0, 3, 2],
            [0, 0, 4, 1],
        ),
        0xA5 | 0xAD => r(
            if op == 0xA5 { "shld" } else { "shrd" },
            M,
            C386,
            0,
            [0, 0, 3, 3],
            [0, 0, 4, 1],
        ),
        0xAE => r("(grp15)", M, CpuModel::PentiumII, 0, [0, 0, 0, 40], [0; 4]),
        0xAF => r("imul", M, C386, 0, [0, 0, 22, 13], [0, 0, 3, 0]),
        0xB0 | 0xB1 => r("cmpxchg", M, C486, BYTE_BIT, [0, 0, 0, 6], [0, 0, 0, 2]),
        0xB2 => r("lss", M, C386, END, [0, 0, 7, 6], [0; 4]),
        0xB4 => r("lfs", M, C386, 0, [0, 0, 7, 6], [0; 4]),
        0xB5 => r("lgs", M, C386, 0, [0, 0, 7, 6], [0; 4]),
        0xB6 | 0xB7 => r("movzx", M, C386, 0, [0, 0, 3, 3], [0; 4]),
        0xBA => r("(grp8)", MI8, C386, 0, [0, 0, 3, 3], [0, 0, 3, 3]),
        0xBC => r("bsf", M, C386, 0, [0, 0, 10, 6], [0, 0, 1, 1]),
        0xBD => r("bsr", M, C386, 0, [0, 0, 10, 6], [0, 0, 1, 1]),
        0xBE | 0xBF => r("movsx", M, C386, 0, [0, 0, 3, 3], [0; 4]),
        0xC0 | 0xC1 => r("xadd", M, C486, BYTE_BIT, [0, 0, 0, 3], [0, 0, 0, 1]),
        0xC7 => r("(grp9)", M, CP5, 0, [0, 0, 0, 10], [0; 4]),
        0xC8..=0xCF => r("bswap", None, C486, 0, [0, 0, 0, 1], [0; 4]),
        0x71 => r("(grp12)", MI8, CpuModel::PentiumII, 0, [0, 0, 0, 1], [0; 4]),
        0x72 => r("(grp13)", MI8, CpuModel::PentiumII, 0, [0, 0, 0, 1], [0; 4]),
        0x73 => r("(grp14)", MI8, CpuModel::PentiumII, 0, [0, 0, 0, 1], [0; 4]),
        0x77 => r("emms", None, CpuModel::PentiumII, 0, [0, 0, 0, 1], [0; 4]),
        0x60..=0x7F | 0xD0..=0xFF if !mmx_name(op).is_empty() => r(
            mmx_name(op),
            M,
            CpuModel::PentiumII,
            0,
            [0, 0, 0, 1],
            [0, 0, 0, 1],
        ),
        _ => INVALID,
    }
}

/// The MMX instruction at `0F op` (Pentium II), or "" where the row is not MMX.
const fn mmx_name(op: usize) -> &'static str {
    match op {
        0x60 => "punpcklbw",
        0x61 => "punpcklwd",
        0x62 => "punpckldq",
        0x63 => "packsswb",
        0x64 => "pcmpgtb",
        0x65 => "pcmpgtw",
        0x66 => "pcmpgtd",
        0x67 => "packuswb",
        0x68 => "punpckhbw",
        0x69 => "punpckhwd",
        0x6A => "punpckhdq",
        0x6B => "packssdw",
        0x6E | 0x7E => "movd",
        0x6F | 0x7F => "movq",
        0x74 => "pcmpeqb",
        0x75 => "pcmpeqw",
        0x76 => "pcmpeqd",
        0xD1 => "psrlw",
        0xD2 => "psrld",
        0xD3 => "psrlq",
        0xD5 => "pmullw",
        0xD8 => "psubusb",
        0xD9 => "psubusw",
        0xDB => "pand",
        0xDC => "paddusb",
        0xDD => "paddusw",
        0xDF => "pandn",
        0xE1 => "psraw",
        0xE2 => "psrad",
        0xE5 => "pmulhw",
        0xE8 => "psubsb",
        0xE9 => "psubsw",
        0xEB => "por",
        0xEC => "paddsb",
        0xED => "paddsw",
        0xEF => "pxor",
        0xF1 => "psllw",
        0xF2 => "pslld",
        0xF3 => "psllq",
        0xF5 => "pmaddwd",
        0xF8 => "psubb",
        0xF9 => "psubw",
        0xFA => "psubd",
        0xFC => "paddb",
        0xFD => "paddw",
        0xFE => "paddd",
        _ => "",
    }
}

const fn build() -> [OpInfo; 512] {
    let mut t = [INVALID; 512];
    let mut i = 0;
    while i < 256 {
        t[i] = one_byte(i);
        t[256 + i] = two_byte(i);
        i += 1;
    }
    t
}

/// The opcode table (index: opcode, or 0x100 | second byte for `0F xx`).
pub static OPS: [OpInfo; 512] = build();

/// Member names of the group opcodes, by ModRM `reg`.
pub static GROUPS: [(&str, [&str; 8]); 13] = [
    (
        "(grp1)",
        ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"],
    ),
    (
        "(grp2)",
        ["rol", "ror", "rcl", "rcr", "shl", "shr", "setmo", "sar"],
    ),
    (
        "(grp3)",
        ["test", "test", "not", "neg", "mul", "imul", "div", "idiv"],
    ),
    (
        "(grp4)",
        [
            "inc", "dec", "(bad)", "(bad)", "(bad)", "(bad)", "(bad)", "(bad)",
        ],
    ),
    (
        "(grp5)",
        ["inc", "dec", "call", "callf", "jmp", "jmpf", "push", "push"],
    ),
    (
        "(grp6)",
        [
            "sldt", "str", "lldt", "ltr", "verr", "verw", "(bad)", "(bad)",
        ],
    ),
    (
        "(grp7)",
        [
            "sgdt", "sidt", "lgdt", "lidt", "smsw", "(bad)", "lmsw", "invlpg",
        ],
    ),
    (
        "(grp8)",
        [
            "(bad)", "(bad)", "(bad)", "(bad)", "bt", "bts", "btr", "btc",
        ],
    ),
    (
        "(grp9)",
        [
            "(bad)",
            "cmpxchg8b",
            "(bad)",
            "(bad)",
            "(bad)",
            "(bad)",
            "(bad)",
            "(bad)",
        ],
    ),
    (
        "(grp12)",
        [
            "(bad)", "(bad)", "psrlw", "(bad)", "psraw", "(bad)", "psllw", "(bad)",
        ],
    ),
    (
        "(grp13)",
        [
            "(bad)", "(bad)", "psrld", "(bad)", "psrad", "(bad)", "pslld", "(bad)",
        ],
    ),
    (
        "(grp14)",
        [
            "(bad)", "(bad)", "psrlq", "(bad)", "(bad)", "(bad)", "psllq", "(bad)",
        ],
    ),
    (
        "(grp15)",
        [
            "fxsave", "fxrstor", "(bad)", "(bad)", "(bad)", "(bad)", "(bad)", "(bad)",
        ],
    ),
];

/// The mnemonic of an opcode row, resolving group members by ModRM `reg`.
pub fn mnemonic(op: u16, modrm: u8) -> &'static str {
    let name = OPS[op as usize].name;
    for (g, members) in GROUPS.iter() {
        if *g == name {
            return members[((modrm >> 3) & 7) as usize];
        }
    }
    name
}

/// Effective-address calculation clocks on the 8086, by ModRM (memory forms only).
pub fn ea_cycles_8086(modrm: u8) -> u32 {
    let md = modrm >> 6;
    let rm = modrm & 7;
    if md == 0 && rm == 6 {
        return 6; // direct address
    }
    let base = match rm {
        0 | 3 => 7, // [bx+si], [bp+di]
        1 | 2 => 8, // [bx+di], [bp+si]
        _ => 5,     // [si], [di], [bp], [bx]
    };
    if md == 0 {
        base
    } else {
        base + 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_consistent() {
        assert_eq!(OPS[0x00].name, "add");
        assert_eq!(OPS[0x3D].name, "cmp");
        assert_eq!(OPS[0x1AF].name, "imul");
        assert_eq!(mnemonic(0xF7, 6 << 3), "div");
        assert_eq!(mnemonic(0x1BA, 5 << 3), "bts");
        // Every row that exists on some model has a cost on its first model.
        for (i, row) in OPS.iter().enumerate() {
            if !matches!(row.form, Form::Invalid | Form::Prefix | Form::Escape) {
                assert!(
                    row.cycles[row.since.timing_index()] > 0,
                    "row {i:#x} has no cost"
                );
            }
        }
    }
}
