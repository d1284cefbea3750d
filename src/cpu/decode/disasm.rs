//! A small Intel-syntax disassembler driven by the opcode table (names) and the decoder
//! (operands). The debugger uses iced-x86 for full listings; this one names what the
//! interpreter itself decoded, for traces and suite reports.

use super::table::{mnemonic, Form, OPS};
use super::{Insn, NO_REG, P_REP, P_REPNE};
use std::fmt::Write;

const R8: [&str; 8] = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"];
const R16: [&str; 8] = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
const R32: [&str; 8] = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
const SEGS: [&str; 6] = ["es", "cs", "ss", "ds", "fs", "gs"];

fn reg_name(r: u8, size: u8) -> &'static str {
    match size {
        1 => R8[r as usize & 7],
        2 => R16[r as usize & 7],
        _ => R32[r as usize & 7],
    }
}

/// The memory operand as `seg:[base+index*scale+disp]`.
fn mem(i: &Insn) -> String {
    let regs = if i.a32() { &R32 } else { &R16 };
    let mut s = format!("{}:[", SEGS[i.seg() as usize % 6]);
    let mut any = false;
    if i.base != NO_REG {
        s.push_str(regs[i.base as usize]);
        any = true;
    }
    if i.index != NO_REG {
        if any {
            s.push('+');
        }
        s.push_str(regs[i.index as usize]);
        if i.scale > 0 {
            let _ = write!(s, "*{}", 1 << i.scale);
        }
        any = true;
    }
    let d = if i.a32() { i.disp } else { i.disp & 0xFFFF };
    if !any {
        let _ = write!(s, "{d:#x}");
    } else if d != 0 {
        let neg = if i.a32() {
            d as i32
        } else {
            d as u16 as i16 as i32
        };
        if neg < 0 {
            let _ = write!(s, "-{:#x}", neg.unsigned_abs());
        } else {
            let _ = write!(s, "+{d:#x}");
        }
    }
    s.push(']');
    s
}

/// Formats `i` (decoded at offset `ip`) as Intel-syntax text.
pub fn format(i: &Insn, ip: u32) -> String {
    let row = &OPS[i.op as usize];
    let name = mnemonic(i.op, i.modrm);
    let size = if row.flags & super::table::BYTE_BIT != 0 && i.op & 1 == 0 {
        1
    } else {
        i.osize()
    };
    let mut out = String::new();
    if i.pfx & P_REP != 0 {
        out.push_str("rep ");
    } else if i.pfx & P_REPNE != 0 {
        out.push_str("repne ");
    }
    out.push_str(if i.op == 0x0F { "pop cs" } else { name });
    let rm = || {
        if i.is_reg() {
            reg_name(i.rm(), size).to_string()
        } else {
            mem(i)
        }
    };
    let ops: Vec<String> = match row.form {
        Form::M | Form::MI8 | Form::MIv | Form::Grp3 => {
            let mut v = vec![rm()];
            match i.op {
                0x00..=0x3F | 0x84..=0x8B => v.push(reg_name(i.reg(), size).into()),
                0x8C | 0x8E => v.push(SEGS[i.reg() as usize % 6].into()),
                _ => {}
            }
            if matches!(
                i.op,
                0x02 | 0x03
                    | 0x0A
                    | 0x0B
                    | 0x12
                    | 0x13
                    | 0x1A
                    | 0x1B
                    | 0x22
                    | 0x23
                    | 0x2A
                    | 0x2B
                    | 0x32
                    | 0x33
                    | 0x3A
                    | 0x3B
                    | 0x8A
                    | 0x8B
                    | 0x8E
            ) {
                v.swap(0, 1);
            }
            if matches!(
                i.op,
                0x8D | 0x62
                    | 0xC4
                    | 0xC5
                    | 0x69
                    | 0x6B
                    | 0x1AF
                    | 0x1B2
                    | 0x1B4
                    | 0x1B5
                    | 0x1B6
                    | 0x1B7
                    | 0x1BC
                    | 0x1BD
                    | 0x1BE
                    | 0x1BF
                    | 0x140..=0x14F
            ) {
                v.insert(0, reg_name(i.reg(), i.osize()).into());
            }
            if row.form != Form::M && !(row.form == Form::Grp3 && i.reg() >= 2) {
                v.push(format!("{:#x}", i.imm));
            }
            v
        }
        Form::I8 | Form::I16 | Form::Iv => vec![format!("{:#x}", i.imm)],
        Form::J8 | Form::Jv => {
            let t = ip.wrapping_add(i.len as u32).wrapping_add(i.imm);
            vec![format!("{:#x}", if i.o32() { t } else { t & 0xFFFF })]
        }
        Form::Ap => vec![format!("{:#06x}:{:#x}", i.imm2, i.imm)],
        Form::O => vec![mem(&Insn {
            base: NO_REG,
            index: NO_REG,
            ..*i
        })],
        Form::I16I8 => vec![format!("{:#x}", i.imm), format!("{:#x}", i.imm2)],
        _ => vec![],
    };
    if !ops.is_empty() {
        out.push(' ');
        out.push_str(&ops.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::decode::decode;
    use crate::cpu::CpuModel;

    #[test]
    fn formats_common_forms() {
        let d = |b: &[u8]| format(&decode(b, CpuModel::I386, false).unwrap(), 0x100);
        assert_eq!(d(&[0x01, 0xD8]), "add ax, bx");
        assert_eq!(d(&[0x8B, 0x46, 0x04]), "mov ax, ss:[bp+0x4]");
        assert_eq!(d(&[0xEB, 0xFE]), "jmp 0x100");
        assert_eq!(d(&[0xF3, 0xA4]), "rep movs");
        let p6 = |b: &[u8]| format(&decode(b, CpuModel::PentiumII, false).unwrap(), 0x100);
        assert_eq!(p6(&[0x0F, 0x44, 0xC3]), "cmove ax, bx");
        assert_eq!(p6(&[0x66, 0x0F, 0x4F, 0x07]), "cmovg eax, ds:[bx]");
        assert_eq!(p6(&[0x0F, 0xC7, 0x0F]), "cmpxchg8b ds:[bx]");
        assert_eq!(p6(&[0x0F, 0x31]), "rdtsc");
        assert_eq!(p6(&[0x0F, 0x34]), "sysenter");
    }
}
