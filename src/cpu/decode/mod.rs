//! Instruction decoding: bytes in, a compact pre-decoded [`Insn`] out.
//!
//! The decoder is a pure function of the bytes, the CPU model and the code segment's default
//! operand size, so the interpreter, the disassembler, the benchmarks and (later) the threaded
//! path share it. Operand layout comes from the opcode table ([`table::OPS`]); handlers never
//! look at instruction bytes again.

pub mod disasm;
pub mod table;

use crate::cpu::model::CpuModel;
use table::{Form, OPS};

/// "No register" in an effective address; `regs[NO_REG as usize]` is always 0.
pub const NO_REG: RegNo = RegNo::None;

/// Segment register numbers (the ModRM `reg` encoding).
pub mod seg {
    /// ES
    pub const ES: u8 = 0;
    /// CS
    pub const CS: u8 = 1;
    /// SS
    pub const SS: u8 = 2;
    /// DS
    pub const DS: u8 = 3;
    /// FS
    pub const FS: u8 = 4;
    /// GS
    pub const GS: u8 = 5;
}

/// Prefix bit: the operand size is 32 bits.
pub const P_O32: u8 = 1;
/// Prefix bit: the address size is 32 bits.
pub const P_A32: u8 = 2;
/// Prefix bit: LOCK.
pub const P_LOCK: u8 = 4;
/// Prefix bit: REP/REPE (F3).
pub const P_REP: u8 = 8;
/// Prefix bit: REPNE (F2).
pub const P_REPNE: u8 = 16;
/// Prefix bit: a segment override is present.
pub const P_SEG: u8 = 32;

/// A register number: a ModRM field (0–7), or an effective address's base or index register,
/// which may be none (8, whose `regs` entry is always 0). Being an enum, it tells the compiler
/// its range: the handlers index the register file with it directly, with no mask and no
/// bounds check, and a ModRM field needs no extracting from the ModRM byte at run time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum RegNo {
    /// 0: (E)AX, AL, ES, …
    #[default]
    R0,
    /// 1: (E)CX, CL, CS, …
    R1,
    /// 2: (E)DX, DL, SS, …
    R2,
    /// 3: (E)BX, BL, DS, …
    R3,
    /// 4: (E)SP, AH, FS, …
    R4,
    /// 5: (E)BP, CH, GS, …
    R5,
    /// 6: (E)SI, DH, …
    R6,
    /// 7: (E)DI, BH, …
    R7,
    /// No register: an effective address without a base or an index ([`NO_REG`]). A ModRM
    /// field is never this.
    None,
}

impl RegNo {
    /// The register number in the low three bits of `bits`.
    #[inline(always)]
    pub fn of(bits: u8) -> RegNo {
        const ALL: [RegNo; 8] = [
            RegNo::R0,
            RegNo::R1,
            RegNo::R2,
            RegNo::R3,
            RegNo::R4,
            RegNo::R5,
            RegNo::R6,
            RegNo::R7,
        ];
        ALL[(bits & 7) as usize]
    }
}

/// The segment register of a memory operand, as a type for the same reason as [`RegNo`]: the
/// fast path indexes its segment table with it directly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum SegNo {
    /// ES
    Es,
    /// CS
    Cs,
    /// SS
    Ss,
    /// DS
    #[default]
    Ds,
    /// FS
    Fs,
    /// GS
    Gs,
}

impl SegNo {
    /// Segment register `n` (a `seg::*` number, 0–5; the ModRM encodings 6 and 7, which no
    /// memory operand names, give DS).
    #[inline(always)]
    pub fn of(n: u8) -> SegNo {
        const ALL: [SegNo; 8] = [
            SegNo::Es,
            SegNo::Cs,
            SegNo::Ss,
            SegNo::Ds,
            SegNo::Fs,
            SegNo::Gs,
            SegNo::Ds,
            SegNo::Ds,
        ];
        ALL[n as usize & 7]
    }
}

/// One decoded instruction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Insn {
    /// Opcode table row (one-byte opcode, or `0x100 | b` for `0F b`), after model aliasing.
    pub op: u16,
    /// Length in bytes, prefixes included.
    pub len: u8,
    /// The ModRM byte (0 when the form has none).
    pub modrm: u8,
    /// `P_*` prefix bits (operand/address size already resolved against the default).
    pub pfx: u8,
    /// Segment of the memory operand: the override, else the addressing form's default (see
    /// [`Insn::seg`]).
    pub sreg: SegNo,
    /// Effective-address base register (`NO_REG` for none).
    pub base: RegNo,
    /// Effective-address index register (`NO_REG` for none).
    pub index: RegNo,
    /// Index scale as a shift count (0–3).
    pub scale: u8,
    /// Number of prefix bytes (the 8086 resumes an interrupted string op at the last one).
    pub npfx: u8,
    /// Displacement (sign-extended to 32 bits).
    pub disp: u32,
    /// First immediate (sign- or zero-extended per form; relative targets sign-extended).
    pub imm: u32,
    /// Second immediate: selector of a far pointer, or ENTER's nesting level.
    pub imm2: u16,
    /// ModRM `reg` field, split out when decoded (see [`RegNo`]).
    pub reg_no: RegNo,
    /// ModRM `rm` field, split out when decoded.
    pub rm_no: RegNo,
    /// Handler id, chosen from the fields above and the CPU model (see `exec::handlers`).
    pub handler: u16,
}

impl Insn {
    /// ModRM `mod` field.
    #[inline(always)]
    pub fn md(&self) -> u8 {
        self.modrm >> 6
    }
    /// Segment of the memory operand (a `seg::*` number).
    #[inline(always)]
    pub fn seg(&self) -> u8 {
        self.sreg as u8
    }
    /// ModRM `reg` field.
    #[inline(always)]
    pub fn reg(&self) -> u8 {
        self.reg_no as u8
    }
    /// ModRM `rm` field.
    #[inline(always)]
    pub fn rm(&self) -> u8 {
        self.rm_no as u8
    }
    /// The operand is a register (mod = 3).
    #[inline(always)]
    pub fn is_reg(&self) -> bool {
        self.modrm >= 0xC0
    }
    /// 32-bit operand size.
    #[inline(always)]
    pub fn o32(&self) -> bool {
        self.pfx & P_O32 != 0
    }
    /// 32-bit address size.
    #[inline(always)]
    pub fn a32(&self) -> bool {
        self.pfx & P_A32 != 0
    }
    /// Operand size in bytes for a word/dword operation (2 or 4).
    #[inline(always)]
    pub fn osize(&self) -> u8 {
        if self.o32() {
            4
        } else {
            2
        }
    }
    /// Whether the form has a ModRM byte.
    pub fn has_modrm(&self) -> bool {
        matches!(
            OPS[self.op as usize].form,
            Form::M | Form::MI8 | Form::MIv | Form::Grp3
        )
    }
}

/// Why bytes did not decode.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DecodeError {
    /// More bytes are needed than were given.
    Incomplete,
    /// Invalid opcode on this model (#UD).
    Invalid,
    /// Longer than the model's instruction length limit (#GP on 286+).
    TooLong,
}

/// The longest instruction the model accepts (the 8086 has no limit; prefixes may repeat).
pub fn max_len(model: CpuModel) -> usize {
    match model {
        CpuModel::I8086 | CpuModel::I186 => usize::MAX,
        CpuModel::I286 => 10,
        _ => 15,
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    #[inline(always)]
    fn u8(&mut self) -> Result<u8, DecodeError> {
        let v = *self.b.get(self.pos).ok_or(DecodeError::Incomplete)?;
        self.pos += 1;
        Ok(v)
    }
    #[inline(always)]
    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(self.u8()? as u16 | (self.u8()? as u16) << 8)
    }
    #[inline(always)]
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(self.u16()? as u32 | (self.u16()? as u32) << 16)
    }
    #[inline(always)]
    fn imm(&mut self, o32: bool) -> Result<u32, DecodeError> {
        if o32 {
            self.u32()
        } else {
            Ok(self.u16()? as u32)
        }
    }
}

/// 16-bit addressing: (base, index, default segment) by `rm`.
const EA16: [(RegNo, RegNo, SegNo); 8] = [
    (RegNo::R3, RegNo::R6, SegNo::Ds), // bx+si
    (RegNo::R3, RegNo::R7, SegNo::Ds), // bx+di
    (RegNo::R5, RegNo::R6, SegNo::Ss), // bp+si
    (RegNo::R5, RegNo::R7, SegNo::Ss), // bp+di
    (RegNo::R6, NO_REG, SegNo::Ds),
    (RegNo::R7, NO_REG, SegNo::Ds),
    (RegNo::R5, NO_REG, SegNo::Ss), // bp (mod 0: disp16)
    (RegNo::R3, NO_REG, SegNo::Ds),
];

/// Decodes one instruction from `bytes`.
///
/// `default32` is the code segment's D bit (false in real mode).
pub fn decode(bytes: &[u8], model: CpuModel, default32: bool) -> Result<Insn, DecodeError> {
    let mut insn = Insn::default();
    decode_into(bytes, model, default32, &mut insn)?;
    Ok(insn)
}

/// Decodes one instruction from `bytes` into `insn` (every field is overwritten).
///
/// Writing in place lets the interpreter keep one `Insn` and read its fields directly, instead
/// of copying a freshly returned struct on every instruction.
#[inline(always)]
pub fn decode_into(
    bytes: &[u8],
    model: CpuModel,
    default32: bool,
    insn: &mut Insn,
) -> Result<(), DecodeError> {
    let mut rd = Reader { b: bytes, pos: 0 };
    // DS unless an override or the addressing form says otherwise (`P_SEG` marks an override).
    *insn = Insn {
        base: NO_REG,
        index: NO_REG,
        ..Default::default()
    };
    let mut o32 = default32;
    let mut a32 = default32;
    let limit = max_len(model);
    let is86 = model == CpuModel::I8086;
    let mut op;
    loop {
        op = rd.u8()? as u16;
        match op {
            0x26 | 0x2E | 0x36 | 0x3E => {
                insn.sreg = SegNo::of(((op >> 3) & 3) as u8);
                insn.pfx |= P_SEG;
            }
            0x64 | 0x65 if model.has_32bit() => {
                insn.sreg = SegNo::of((op - 0x60) as u8);
                insn.pfx |= P_SEG;
            }
            0x66 if model.has_32bit() => o32 = !default32,
            0x67 if model.has_32bit() => a32 = !default32,
            0xF0 => insn.pfx |= P_LOCK,
            0xF1 if is86 => insn.pfx |= P_LOCK,
            0xF2 => insn.pfx = (insn.pfx & !P_REP) | P_REPNE,
            0xF3 => insn.pfx = (insn.pfx & !P_REPNE) | P_REP,
            _ => break,
        }
        insn.npfx = insn.npfx.saturating_add(1);
        if rd.pos >= limit {
            return Err(DecodeError::TooLong);
        }
    }
    if o32 {
        insn.pfx |= P_O32;
    }
    if a32 {
        insn.pfx |= P_A32;
    }
    if is86 {
        // Undocumented 8086 aliases: the decoder of the 8086 ignores opcode bit 4 here.
        op = match op {
            0x60..=0x6F => op + 0x10,
            0xC0 | 0xC1 | 0xC8 | 0xC9 => op + 2,
            _ => op,
        };
    }
    if op == 0x0F && !is86 {
        op = 0x100 | rd.u8()? as u16;
    }
    let row = &OPS[op as usize];
    if row.since > model && !(is86 && op == 0x0F) {
        return Err(DecodeError::Invalid);
    }
    insn.op = op;
    match row.form {
        Form::None | Form::Escape | Form::Prefix => {}
        Form::M | Form::MI8 | Form::MIv | Form::Grp3 => {
            modrm(&mut rd, insn, a32)?;
            match row.form {
                Form::MI8 => insn.imm = rd.u8()? as u32,
                Form::MIv => insn.imm = rd.imm(o32)?,
                Form::Grp3 if insn.reg() < 2 => {
                    insn.imm = if op & 1 == 0 {
                        rd.u8()? as u32
                    } else {
                        rd.imm(o32)?
                    };
                }
                _ => {}
            }
        }
        Form::I8 => insn.imm = rd.u8()? as u32,
        Form::I16 => insn.imm = rd.u16()? as u32,
        Form::Iv => insn.imm = rd.imm(o32)?,
        Form::J8 => insn.imm = rd.u8()? as i8 as i32 as u32,
        Form::Jv => {
            insn.imm = if o32 {
                rd.u32()?
            } else {
                rd.u16()? as i16 as i32 as u32
            };
        }
        Form::Ap => {
            insn.imm = rd.imm(o32)?;
            insn.imm2 = rd.u16()?;
        }
        Form::O => {
            insn.disp = rd.imm(a32)?;
        }
        Form::I16I8 => {
            insn.imm = rd.u16()? as u32;
            insn.imm2 = rd.u8()? as u16;
        }
        Form::Invalid => return Err(DecodeError::Invalid),
    }
    if rd.pos > limit {
        return Err(DecodeError::TooLong);
    }
    insn.len = rd.pos as u8;
    insn.handler = crate::cpu::exec::handlers::select(insn, model);
    Ok(())
}

#[inline(always)]
fn modrm(rd: &mut Reader, insn: &mut Insn, a32: bool) -> Result<(), DecodeError> {
    let m = rd.u8()?;
    insn.modrm = m;
    insn.reg_no = RegNo::of(m >> 3);
    insn.rm_no = RegNo::of(m);
    let md = m >> 6;
    let rm = m & 7;
    if md == 3 {
        return Ok(());
    }
    let default_seg;
    if !a32 {
        let (b, i, s) = EA16[rm as usize];
        if md == 0 && rm == 6 {
            insn.disp = rd.u16()? as u32;
            default_seg = SegNo::Ds;
        } else {
            insn.base = b;
            insn.index = i;
            default_seg = s;
            insn.disp = match md {
                1 => rd.u8()? as i8 as i32 as u32,
                2 => rd.u16()? as i16 as i32 as u32,
                _ => 0,
            };
        }
    } else {
        let mut base = RegNo::of(rm);
        if rm == 4 {
            let sib = rd.u8()?;
            insn.scale = sib >> 6;
            let idx = (sib >> 3) & 7;
            if idx != 4 {
                insn.index = RegNo::of(idx);
            }
            base = RegNo::of(sib & 7);
            if base == RegNo::R5 && md == 0 {
                insn.disp = rd.u32()?;
                base = NO_REG;
            }
        } else if rm == 5 && md == 0 {
            insn.disp = rd.u32()?;
            base = NO_REG;
        }
        insn.base = base;
        default_seg = if base == RegNo::R4 || base == RegNo::R5 {
            SegNo::Ss
        } else {
            SegNo::Ds
        };
        match md {
            1 => insn.disp = rd.u8()? as i8 as i32 as u32,
            2 => insn.disp = rd.u32()?,
            _ => {}
        }
    }
    if insn.pfx & P_SEG == 0 {
        insn.sreg = default_seg;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_modrm16_with_override() {
        // es: add [bp+si+0x12], ax
        let i = decode(&[0x26, 0x01, 0x42, 0x12], CpuModel::I8086, false).unwrap();
        assert_eq!(
            (i.op, i.len, i.seg(), i.base, i.index, i.disp),
            (0x01, 4, seg::ES, RegNo::R5, RegNo::R6, 0x12)
        );
    }

    #[test]
    fn bp_defaults_to_ss() {
        let i = decode(&[0x8B, 0x46, 0xFE], CpuModel::I286, false).unwrap();
        assert_eq!((i.seg(), i.disp), (seg::SS, 0xFFFF_FFFE));
    }

    #[test]
    fn sib_and_prefixes() {
        // mov eax, [ebx+ecx*4+0x10] with 66 67
        let i = decode(&[0x66, 0x67, 0x8B, 0x44, 0x8B, 0x10], CpuModel::I386, false).unwrap();
        assert!(i.o32() && i.a32());
        assert_eq!(
            (i.base, i.index, i.scale, i.disp, i.len),
            (RegNo::R3, RegNo::R1, 2, 0x10, 6)
        );
    }

    #[test]
    fn aliases_on_8086() {
        let i = decode(&[0x64, 0x05], CpuModel::I8086, false).unwrap();
        assert_eq!(i.op, 0x74);
        assert!(decode(&[0x64, 0x05], CpuModel::I286, false) == Err(DecodeError::Invalid));
        assert_eq!(decode(&[0xC1], CpuModel::I8086, false).unwrap().op, 0xC3);
    }

    #[test]
    fn incomplete_and_too_long() {
        assert_eq!(
            decode(&[0x81, 0x06, 0x00], CpuModel::I8086, false),
            Err(DecodeError::Incomplete)
        );
        assert_eq!(
            decode(&[0x26; 20], CpuModel::I386, false),
            Err(DecodeError::TooLong)
        );
    }
}
