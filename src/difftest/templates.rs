//! Templates: short runs of 32-bit instructions that give protected mode's system
//! instructions operands worth testing.
//!
//! Random bytes rarely make a selector the sandbox's tables define, and a far transfer to a
//! random place runs random memory. So in [`Mode::Prot32`](super::Mode::Prot32) part of every
//! sequence comes from here: a selector (drawn from the layout of
//! [`sandbox::prot32`], good and bad ones, with a random RPL) is placed in a register or on the
//! stack and then loaded — `MOV Sreg`, `POP Sreg`, `LDS`/`LES`/`LFS`/`LGS`/`LSS`, `LAR`,
//! `LSL`, `VERR`, `VERW`, `ARPL` — or used by a far `CALL` or `JMP` (direct, or through
//! memory), a `RETF` or an `IRETD` (to the same ring or an outer one) whose targets are the
//! sandbox's `RETF` and `HLT` stubs and its call gates; `INT n`, `INT3` and `INTO`; and x87
//! instructions with memory operands on the stack (random bytes there), after pushing an
//! ordinary number half the time.
//!
//! Instructions are checked with [`gen::system`] (both decoders agree), not refused: nothing
//! here leaves the sandbox.

use crate::cpu::CpuModel;

use super::gen::{self, GenInsn};
use super::rng::Rng;
use super::sandbox::prot32::*;

/// General registers a template may write (not ESP: the stack holds the operands).
const GPRS: [u8; 7] = [0, 1, 2, 3, 5, 6, 7];

/// A template, drawn at random.
pub fn draw(rng: &mut Rng, model: CpuModel) -> Vec<GenInsn> {
    loop {
        let bytes = match rng.below(13) {
            0 | 1 => sreg_from_register(rng),
            2 => sreg_from_stack(rng),
            3 => far_pointer_load(rng),
            4 => far_call(rng),
            5 => far_jump(rng),
            6 => far_return(rng),
            7 => iret(rng),
            8 => descriptor_query(rng),
            9 => interrupt(rng),
            _ => x87(rng),
        };
        let t: Result<Vec<GenInsn>, String> = bytes.iter().map(|b| gen::system(b, model)).collect();
        if let Ok(t) = t {
            return t;
        }
    }
}

/// A selector for a data segment register: one of the layout's, any RPL one time in three.
fn data_selector(rng: &mut Rng) -> u16 {
    let s = rng.pick(DATA_SELECTORS);
    if rng.chance(1, 3) {
        s & !3 | rng.below(4) as u16
    } else {
        s
    }
}

/// `MOV r32, imm32`.
fn mov_imm(r: u8, v: u32) -> Vec<u8> {
    let mut b = vec![0xB8 + r];
    b.extend_from_slice(&v.to_le_bytes());
    b
}

/// `PUSH imm32`.
fn push_imm(v: u32) -> Vec<u8> {
    let mut b = vec![0x68];
    b.extend_from_slice(&v.to_le_bytes());
    b
}

/// A selector in a 32-bit value: upper half 0, or random one time in four.
fn widen(rng: &mut Rng, sel: u16) -> u32 {
    let high = if rng.chance(1, 4) {
        rng.next_u32() & 0xFFFF_0000
    } else {
        0
    };
    high | sel as u32
}

/// `MOV r, sel` then `MOV Sreg, r16` (any Sreg: CS is #UD).
fn sreg_from_register(rng: &mut Rng) -> Vec<Vec<u8>> {
    let r = rng.pick(&GPRS);
    let sreg = rng.below(6) as u8;
    let sel = data_selector(rng);
    let mut mov = vec![0x8E, 0xC0 | sreg << 3 | r];
    if rng.chance(1, 4) {
        mov.insert(0, 0x66);
    }
    vec![mov_imm(r, widen(rng, sel)), mov]
}

/// `PUSH sel` then `POP Sreg` or `MOV Sreg, [esp]`.
fn sreg_from_stack(rng: &mut Rng) -> Vec<Vec<u8>> {
    let sel = data_selector(rng);
    let load = match rng.below(6) {
        0 => vec![0x07],                                                   // pop es
        1 => vec![0x17],                                                   // pop ss
        2 => vec![0x1F],                                                   // pop ds
        3 => vec![0x0F, 0xA1],                                             // pop fs
        4 => vec![0x0F, 0xA9],                                             // pop gs
        _ => vec![0x8E, (rng.pick(&[0u8, 2, 3, 4, 5])) << 3 | 0x04, 0x24], // mov sreg, [esp]
    };
    vec![push_imm(widen(rng, sel)), load]
}

/// `PUSH sel`, `PUSH offset`, then `LDS`/`LES`/`LFS`/`LGS`/`LSS r32, [esp]`.
fn far_pointer_load(rng: &mut Rng) -> Vec<Vec<u8>> {
    let sel = data_selector(rng);
    let r = rng.pick(&GPRS);
    let modrm = r << 3 | 0x04;
    let op: &[u8] = rng.pick(&[
        &[0xC5][..],
        &[0xC4],
        &[0x0F, 0xB2],
        &[0x0F, 0xB4],
        &[0x0F, 0xB5],
    ]);
    let mut load = op.to_vec();
    load.extend_from_slice(&[modrm, 0x24]);
    vec![push_imm(sel as u32), push_imm(rng.next_u32()), load]
}

/// A target of `targets` with, one time in four, another RPL.
fn target(rng: &mut Rng, targets: &[(u16, u32)]) -> (u16, u32) {
    let (s, o) = rng.pick(targets);
    if rng.chance(1, 4) {
        (s & !3 | rng.below(4) as u16, o)
    } else {
        (s, o)
    }
}

/// `ptr16:32` operand bytes.
fn ptr(sel: u16, off: u32) -> Vec<u8> {
    let mut b = off.to_le_bytes().to_vec();
    b.extend_from_slice(&sel.to_le_bytes());
    b
}

/// A far CALL, direct or through `[esp]`, to a `RETF` stub (back to the sequence) or a gate.
fn far_call(rng: &mut Rng) -> Vec<Vec<u8>> {
    let (sel, off) = target(rng, CALL_TARGETS);
    if rng.chance(1, 2) {
        let mut call = vec![0x9A];
        call.extend(ptr(sel, off));
        vec![call]
    } else {
        vec![push_imm(sel as u32), push_imm(off), vec![0xFF, 0x1C, 0x24]]
    }
}

/// A far JMP, direct or through `[esp]`, to a `HLT`.
fn far_jump(rng: &mut Rng) -> Vec<Vec<u8>> {
    let (sel, off) = target(rng, JUMP_TARGETS);
    if rng.chance(1, 2) {
        let mut jmp = vec![0xEA];
        jmp.extend(ptr(sel, off));
        vec![jmp]
    } else {
        vec![push_imm(sel as u32), push_imm(off), vec![0xFF, 0x2C, 0x24]]
    }
}

/// The stack pointer and selector an outer-ring return loads.
fn outer_stack(rng: &mut Rng) -> Vec<Vec<u8>> {
    let ss = if rng.chance(3, 4) {
        DATA3
    } else {
        data_selector(rng)
    };
    let esp = 0x2_A000 + 4 * rng.below(0x400) as u32;
    vec![push_imm(ss as u32), push_imm(esp)]
}

/// `RETF` or `RETF n` to a `HLT`, in the same ring or (with SS:ESP pushed first) an outer one.
fn far_return(rng: &mut Rng) -> Vec<Vec<u8>> {
    let (sel, off) = target(rng, JUMP_TARGETS);
    let mut t = if rng.chance(1, 2) {
        outer_stack(rng)
    } else {
        Vec::new()
    };
    t.push(push_imm(sel as u32));
    t.push(push_imm(off));
    t.push(if rng.chance(1, 3) {
        vec![0xCA, 4 * rng.below(3) as u8, 0]
    } else {
        vec![0xCB]
    });
    t
}

/// `IRETD` to a `HLT`, same ring or outer, with random arithmetic flags, IOPL, IF and DF.
fn iret(rng: &mut Rng) -> Vec<Vec<u8>> {
    let (sel, off) = target(rng, JUMP_TARGETS);
    let mut t = if rng.chance(1, 2) {
        outer_stack(rng)
    } else {
        Vec::new()
    };
    let eflags = 2 | rng.next_u32() & (crate::cpu::flags::ARITH | 0x3600);
    t.push(push_imm(eflags));
    t.push(push_imm(sel as u32));
    t.push(push_imm(off));
    t.push(vec![0xCF]);
    t
}

/// `MOV r, sel` then `LAR`, `LSL`, `VERR`, `VERW` or `ARPL` on it.
fn descriptor_query(rng: &mut Rng) -> Vec<Vec<u8>> {
    let r = rng.pick(&GPRS);
    let d = rng.pick(&GPRS);
    let sel = if rng.chance(1, 2) {
        data_selector(rng)
    } else {
        target(rng, CALL_TARGETS).0
    };
    let query = match rng.below(5) {
        0 => vec![0x0F, 0x02, 0xC0 | d << 3 | r], // lar d, r
        1 => vec![0x0F, 0x03, 0xC0 | d << 3 | r], // lsl d, r
        2 => vec![0x0F, 0x00, 0xE0 | r],          // verr r
        3 => vec![0x0F, 0x00, 0xE8 | r],          // verw r
        _ => vec![0x63, 0xC0 | d << 3 | r],       // arpl r, d
    };
    vec![mov_imm(r, widen(rng, sel)), query]
}

/// `INT n`, `INT3` or `INTO`.
fn interrupt(rng: &mut Rng) -> Vec<Vec<u8>> {
    vec![match rng.below(4) {
        0 => vec![0xCC],
        1 => vec![0xCE],
        _ => vec![0xCD, rng.byte()],
    }]
}

/// An x87 instruction on `[esp+d]`, after pushing a small number half the time.
fn x87(rng: &mut Rng) -> Vec<Vec<u8>> {
    let op = 0xD8 + rng.below(8) as u8;
    let reg = rng.below(8) as u8;
    let disp = 4 * rng.below(16) as u8;
    let insn = vec![op, 0x44 | reg << 3, 0x24, disp];
    if rng.chance(1, 2) {
        // ±m × 2^e as a single: exact in every format the load may read it as.
        let m = rng.below(1 << 12) as u32;
        let e = 127 + rng.below(24) as u32 - 12;
        let v = (rng.below(2) as u32) << 31 | e << 23 | m << 11;
        vec![push_imm(v), insn]
    } else {
        vec![insn]
    }
}
