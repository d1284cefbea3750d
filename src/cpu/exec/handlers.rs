//! The handler table: how a decoded instruction finds the code that runs it.
//!
//! The decoder gives every instruction a handler id ([`select`], kept in `Insn::handler`), and
//! [`Cpu::execute`](crate::cpu::Cpu) calls entry `id` of a table of functions. The common
//! instruction forms have handlers of their own, compiled once per ALU operation, operand size
//! and register-or-memory operand — the split Bochs makes with handlers such as `ADD_EwGw`, made
//! here by instantiating one const-generic function per combination instead of writing copies.
//! What a generic handler would decide on every execution (which operation, how wide, where the
//! operand lives) is decided once, at decode time, and the handler's code is straight-line.
//!
//! Every other instruction runs through the opcode switch (`Cpu::dispatch`), which needs
//! nothing but the decoded instruction. An opcode is handled in exactly one of the two places:
//! [`select`] is total for the opcodes it specialises (a unit test checks every ModRM byte),
//! and the switch has no arms for them.
//!
//! Checks that depend only on the instruction's bytes and the CPU model are made here as well,
//! so they cost nothing at run time: an invalid LOCK prefix (386+), LEA with a register operand,
//! `C6`/`C7` with a nonzero `reg` field (286+) select the #UD handler.
//!
//! Ids are a family's base plus an offset: `kind * 3 + size index` for the ALU and shift
//! families (kind = the ModRM `reg` encoding of the operation; size index 0, 1, 2 for 8, 16,
//! 32 bits), the condition code for Jcc, the size index elsewhere.

use super::arith::TEST;
use crate::cpu::decode::table::{Form, OPS};
use crate::cpu::decode::{NO_REG, P_LOCK};
use crate::cpu::{Bus, Cpu, CpuModel, Fault, Insn, EA_ANY, EA_BASE_DISP};

/// An instruction handler. EIP already points past the instruction.
pub(crate) type Handler<B> = fn(&mut Cpu, &mut B, &Insn) -> Result<(), Fault>;

/// Handler ids (see the module docs for the layout).
pub(crate) mod id {
    /// The opcode switch.
    pub const GENERIC: u16 = 0;
    /// Raises #UD.
    pub const UD: u16 = 1;
    /// Ids per ALU family: nine kinds (the eight operations and TEST) × three sizes.
    pub const ALU: u16 = 27;
    /// Ids per shift family: eight kinds × three sizes.
    pub const SHIFT: u16 = 24;
    /// `op r/m, reg` (00, 01, 08, …, 84, 85), register r/m.
    pub const ALU_EG_R: u16 = 2;
    /// `op r/m, reg`, memory r/m.
    pub const ALU_EG_M: u16 = ALU_EG_R + ALU;
    /// `op reg, r/m` (02, 03, 0A, …), register r/m.
    pub const ALU_GE_R: u16 = ALU_EG_M + ALU;
    /// `op reg, r/m`, memory r/m.
    pub const ALU_GE_M: u16 = ALU_GE_R + ALU;
    /// `op AL/eAX, imm` (04, 05, 0C, …, A8, A9).
    pub const ALU_AI: u16 = ALU_GE_M + ALU;
    /// `op r/m, imm` (80–83), register r/m.
    pub const ALU_EI_R: u16 = ALU_AI + ALU;
    /// `op r/m, imm`, memory r/m.
    pub const ALU_EI_M: u16 = ALU_EI_R + ALU;
    /// Shift group (C0, C1, D0–D3), register r/m.
    pub const SHIFT_R: u16 = ALU_EI_M + ALU;
    /// Shift group, memory r/m.
    pub const SHIFT_M: u16 = SHIFT_R + SHIFT;
    /// Shift group with an immediate count (C0, C1), register r/m.
    pub const SHIFT_RI: u16 = SHIFT_M + SHIFT;
    /// INC r (40–47) by size index; DEC r (48–4F) at `+ 3`.
    pub const INCDEC_O: u16 = SHIFT_RI + SHIFT;
    /// PUSH r (50–57).
    pub const PUSH_O: u16 = INCDEC_O + 6;
    /// PUSH SP on the 8086/186 (pushes the decremented value).
    pub const PUSH_SP_8086: u16 = PUSH_O + 3;
    /// POP r (58–5F).
    pub const POP_O: u16 = PUSH_SP_8086 + 1;
    /// MOV r/m, reg (88, 89), register r/m.
    pub const MOV_EG_R: u16 = POP_O + 3;
    /// MOV r/m, reg, memory r/m.
    pub const MOV_EG_M: u16 = MOV_EG_R + 3;
    /// MOV reg, r/m (8A, 8B), register r/m.
    pub const MOV_GE_R: u16 = MOV_EG_M + 3;
    /// MOV reg, r/m, memory r/m.
    pub const MOV_GE_M: u16 = MOV_GE_R + 3;
    /// MOV r/m, reg with a `[base + disp]` operand and 32-bit addressing (see
    /// [`Cpu::ea_form`](crate::cpu::Cpu)): the commonest memory operand, given handlers whose
    /// address is one addition.
    pub const MOV_EG_BD: u16 = MOV_GE_M + 3;
    /// MOV reg, r/m with a 32-bit `[base + disp]` operand.
    pub const MOV_GE_BD: u16 = MOV_EG_BD + 3;
    /// MOV r, imm (B0–BF).
    pub const MOV_OI: u16 = MOV_GE_BD + 3;
    /// MOV r/m, imm (C6, C7), register r/m.
    pub const MOV_EI_R: u16 = MOV_OI + 3;
    /// MOV r/m, imm, memory r/m.
    pub const MOV_EI_M: u16 = MOV_EI_R + 3;
    /// LEA (8D).
    pub const LEA: u16 = MOV_EI_M + 3;
    /// IMUL reg, r/m, imm (69, 6B), register r/m.
    pub const IMUL_GEI_R: u16 = LEA + 3;
    /// IMUL reg, r/m, imm, memory r/m.
    pub const IMUL_GEI_M: u16 = IMUL_GEI_R + 3;
    /// IMUL reg, r/m (0F AF), register r/m.
    pub const IMUL_GE_R: u16 = IMUL_GEI_M + 3;
    /// IMUL reg, r/m, memory r/m.
    pub const IMUL_GE_M: u16 = IMUL_GE_R + 3;
    /// MOVZX/MOVSX (0F B6, B7, BE, BF), register r/m, at `signed * 4 + word source * 2 +
    /// 32-bit destination`.
    pub const MOVX_R: u16 = IMUL_GE_M + 3;
    /// MOVZX/MOVSX, memory r/m.
    pub const MOVX_M: u16 = MOVX_R + 8;
    /// CMOVcc (0F 40–4F), register r/m, by condition code.
    pub const CMOV_R: u16 = MOVX_M + 8;
    /// CMOVcc, memory r/m.
    pub const CMOV_M: u16 = CMOV_R + 16;
    /// SETcc (0F 90–9F), register r/m, by condition code.
    pub const SETCC_R: u16 = CMOV_M + 16;
    /// SETcc, memory r/m.
    pub const SETCC_M: u16 = SETCC_R + 16;
    /// Jcc rel8 (70–7F) by condition code.
    pub const JCC_SHORT: u16 = SETCC_M + 16;
    /// Jcc rel16/32 (0F 80–8F) by condition code.
    pub const JCC_NEAR: u16 = JCC_SHORT + 16;
    /// CALL rel (E8).
    pub const CALL_REL: u16 = JCC_NEAR + 16;
    /// JMP rel (E9, EB).
    pub const JMP_REL: u16 = CALL_REL + 1;
    /// RET, RET imm16 (C2, C3).
    pub const RET_NEAR: u16 = JMP_REL + 1;
    /// LOOPNE, LOOPE, LOOP, JCXZ (E0–E3) by opcode − E0.
    pub const LOOP: u16 = RET_NEAR + 1;
    /// String instructions (MOVS … SCAS, INS, OUTS).
    pub const STRING: u16 = LOOP + 4;
    /// INC r/m (FE, FF /0), register r/m, by size index; DEC r/m (/1) at `+ 3`.
    pub const INCDEC_E_R: u16 = STRING + 1;
    /// INC/DEC r/m, memory r/m.
    pub const INCDEC_E_M: u16 = INCDEC_E_R + 6;
    /// The rest of group 3 (F6, F7): NOT NEG MUL IMUL DIV IDIV.
    pub const GRP3: u16 = INCDEC_E_M + 6;
    /// The rest of groups 4 and 5 (FE, FF): CALL, JMP, PUSH r/m and far forms.
    pub const GRP5: u16 = GRP3 + 1;
    /// The `0F` opcodes without handlers of their own.
    pub const EXT: u16 = GRP5 + 1;
    /// Number of ids.
    pub const COUNT: u16 = EXT + 1;
}

/// Whether handler `id` may read EIP or the start of the instruction (`start_eip`): jumps,
/// calls, string instructions and everything in the opcode switch. The ALU, shift, MOV, LEA,
/// IMUL, MOVZX/MOVSX, CMOVcc, SETcc, INC/DEC and PUSH/POP r handlers do not (only the fault path looks at EIP, and a trace
/// sets it before delivering a fault), so a trace need not keep EIP exact for them.
pub(crate) fn reads_eip(handler: u16) -> bool {
    use id::*;
    let exempt = (ALU_EG_R..JCC_SHORT).contains(&handler) || (INCDEC_E_R..GRP3).contains(&handler);
    !exempt
}

/// Whether handler `id` may read the cycle counter ([`Cpu::now`]): port I/O, RDTSC and the
/// MSRs, string instructions (their REP loop tests the budget), and, to be safe, everything in
/// the opcode switch and the groups without handlers of their own. The others only add to
/// the counter (taken jumps, shifts, multiplies), so a trace may add their table costs later.
pub(crate) fn reads_cycles(handler: u16) -> bool {
    use id::*;
    let exempt = (ALU_EG_R..STRING).contains(&handler) || (INCDEC_E_R..GRP3).contains(&handler);
    !exempt
}

/// Table length: a power of two, so masking the id replaces a bounds check.
pub(crate) const SLOTS: usize = 512;
const _: () = assert!(id::COUNT as usize <= SLOTS);

/// Size index of an operand size in bytes (1, 2, 4 → 0, 1, 2).
#[inline(always)]
fn size_index(size: u8) -> u16 {
    (size >> 1) as u16
}

/// Picks the handler for a decoded instruction (called by the decoder).
pub(crate) fn select(i: &Insn, model: CpuModel) -> u16 {
    use id::*;
    if i.pfx & P_LOCK != 0 && model >= CpuModel::I386 && !lockable(i) {
        return UD;
    }
    let op = i.op;
    // Size index: `v` of the operand size, `w` where opcode bit 0 chooses byte or full size.
    let v = size_index(i.osize());
    let w = if op & 1 == 0 { 0 } else { v };
    let mem = !i.is_reg();
    let pick = |reg_base: u16, mem_base: u16| if mem { mem_base } else { reg_base };
    // A memory operand `[base + disp]` with 32-bit addressing (no index register).
    let base_disp = mem && i.a32() && i.index == NO_REG;
    match op {
        0x00..=0x3F if op & 7 < 6 => {
            let kind = op >> 3;
            let base = match op & 7 {
                0 | 1 => pick(ALU_EG_R, ALU_EG_M),
                2 | 3 => pick(ALU_GE_R, ALU_GE_M),
                _ => ALU_AI,
            };
            base + kind * 3 + w
        }
        0x40..=0x4F => INCDEC_O + (op >> 3 & 1) * 3 + v,
        0x54 if model < CpuModel::I286 => PUSH_SP_8086,
        0x50..=0x57 => PUSH_O + v,
        0x58..=0x5F => POP_O + v,
        0x69 | 0x6B => pick(IMUL_GEI_R, IMUL_GEI_M) + v,
        0x70..=0x7F => JCC_SHORT + (op & 15),
        // 82 is an alias of 80; 83 has a full-size operand and a byte immediate.
        0x80 | 0x82 => pick(ALU_EI_R, ALU_EI_M) + i.reg() as u16 * 3,
        0x81 | 0x83 => pick(ALU_EI_R, ALU_EI_M) + i.reg() as u16 * 3 + v,
        0x84 | 0x85 => pick(ALU_EG_R, ALU_EG_M) + TEST as u16 * 3 + w,
        0x88 | 0x89 if base_disp => MOV_EG_BD + w,
        0x8A | 0x8B if base_disp => MOV_GE_BD + w,
        0x88 | 0x89 => pick(MOV_EG_R, MOV_EG_M) + w,
        0x8A | 0x8B => pick(MOV_GE_R, MOV_GE_M) + w,
        0x8D if mem => LEA + v,
        0x8D => UD,
        0xA8 | 0xA9 => ALU_AI + TEST as u16 * 3 + w,
        0xA4..=0xA7 | 0xAA..=0xAF | 0x6C..=0x6F => STRING,
        0xB0..=0xB7 => MOV_OI,
        0xB8..=0xBF => MOV_OI + v,
        0xC0 | 0xC1 if !mem => SHIFT_RI + i.reg() as u16 * 3 + w,
        0xC0 | 0xC1 | 0xD0..=0xD3 => pick(SHIFT_R, SHIFT_M) + i.reg() as u16 * 3 + w,
        0xC2 | 0xC3 => RET_NEAR,
        0xC6 | 0xC7 if i.reg() != 0 && model >= CpuModel::I286 => UD,
        0xC6 | 0xC7 => pick(MOV_EI_R, MOV_EI_M) + w,
        0xE0..=0xE3 => LOOP + (op & 3),
        0xE8 => CALL_REL,
        0xE9 | 0xEB => JMP_REL,
        0xF6 | 0xF7 if i.reg() < 2 => pick(ALU_EI_R, ALU_EI_M) + TEST as u16 * 3 + w,
        0xF6 | 0xF7 => GRP3,
        0xFE | 0xFF if i.reg() < 2 => pick(INCDEC_E_R, INCDEC_E_M) + i.reg() as u16 * 3 + w,
        0xFE if model != CpuModel::I8086 => UD,
        0xFE | 0xFF => GRP5,
        0x180..=0x18F => JCC_NEAR + (op & 15),
        0x140..=0x14F => pick(CMOV_R, CMOV_M) + (op & 15),
        0x190..=0x19F => pick(SETCC_R, SETCC_M) + (op & 15),
        0x1AF => pick(IMUL_GE_R, IMUL_GE_M) + v,
        0x1B6 | 0x1B7 | 0x1BE | 0x1BF => {
            let form = (op >= 0x1BE) as u16 * 4 + (op & 1) * 2 + (v == 2) as u16;
            pick(MOVX_R, MOVX_M) + form
        }
        0x100..=0x1FF => EXT,
        _ => GENERIC,
    }
}

/// LOCK is allowed only on read-modify-write instructions with a memory destination.
fn lockable(i: &Insn) -> bool {
    if i.is_reg() || !i.has_modrm() {
        return false;
    }
    match i.op {
        0x00..=0x3F => i.op & 7 < 2 && i.op >> 3 != 7,
        0x80..=0x83 => i.reg() != 7,
        0x86 | 0x87 => true,
        0xF6 | 0xF7 => i.reg() == 2 || i.reg() == 3,
        0xFE | 0xFF => i.reg() < 2,
        0x1AB | 0x1B3 | 0x1BB | 0x1B0 | 0x1B1 | 0x1C0 | 0x1C1 => true,
        0x1BA => i.reg() >= 5,
        0x1C7 => i.reg() == 1, // CMPXCHG8B
        _ => false,
    }
}

/// Whether executing `i` can store to memory (conservatively: yes unless known otherwise).
///
/// A trace re-reads the memory's code epoch only after such an instruction, to notice code
/// that rewrites the instructions after it. The answer must never be a wrong "no": every
/// instruction with a memory destination, and every implicit store (pushes, calls, ENTER,
/// PUSHA, string stores) answers yes. Faults, whose delivery pushes, end a trace anyway.
pub(crate) fn may_write_memory(i: &Insn) -> bool {
    let row = &OPS[i.op as usize];
    let modrm = matches!(row.form, Form::M | Form::MI8 | Form::MIv | Form::Grp3);
    let reg_operand = modrm && i.is_reg();
    let op = i.op;
    let reads_only = match op {
        // ALU: `reg, r/m` and `acc, imm` forms, CMP and TEST; any form with a register r/m.
        0x00..=0x3F if op & 7 < 6 => op & 7 >= 2 || op >> 3 == 7 || reg_operand,
        0x80..=0x83 => i.reg() == 7 || reg_operand,
        0x84 | 0x85 | 0x8A | 0x8B | 0x8D | 0x62 | 0x69 | 0x6B | 0xC4 | 0xC5 => true,
        0x88 | 0x89 | 0x86 | 0x87 | 0x8C | 0xC0 | 0xC1 | 0xC6 | 0xC7 | 0xD0..=0xD3 => reg_operand,
        0xF6 | 0xF7 => reg_operand || !matches!(i.reg(), 2 | 3),
        0xFE => reg_operand && i.reg() < 2,
        0xFF => matches!(i.reg(), 0 | 1 | 4 | 5) && (reg_operand || i.reg() >= 4),
        // Register-only and load-only forms without ModRM.
        0x27 | 0x2F | 0x37 | 0x3F | 0x40..=0x4F | 0x58..=0x5F | 0x70..=0x7F | 0x90..=0x99 => true,
        0x9E | 0x9F | 0xA0 | 0xA1 | 0xA6 | 0xA7 | 0xA8 | 0xA9 | 0xAC..=0xAF | 0xB0..=0xBF => true,
        0xC2 | 0xC3 | 0xD4..=0xD7 | 0xE0..=0xE3 | 0xE9 | 0xEB | 0xF5 | 0xF8..=0xFD => true,
        // 0F: Jcc, BT, IMUL, MOVZX, BSF, BSR, MOVSX, BSWAP; SETcc, SHLD/SHRD, BTS/BTR/BTC and
        // XADD with a register operand.
        0x180..=0x18F | 0x1A3 | 0x1AF | 0x1B6 | 0x1B7 | 0x1BC..=0x1BF | 0x1C8..=0x1CF => true,
        0x190..=0x19F | 0x1A4 | 0x1A5 | 0x1AC | 0x1AD | 0x1AB | 0x1B3 | 0x1BB => reg_operand,
        0x1C0 | 0x1C1 => reg_operand,
        0x1BA => reg_operand || i.reg() == 4,
        _ => false,
    };
    !reads_only
}

/// The handler table for bus type `B`.
pub(crate) struct Table<B>(std::marker::PhantomData<B>);

impl<B: Bus> Table<B> {
    /// Entry `id` is the handler of id `id` (the switch for ids no family uses).
    pub(crate) const HANDLERS: [Handler<B>; SLOTS] = build::<B>();
    /// The same handlers for the ids of [`memory_form`], the others answer `Fault::RETRY`:
    /// built for a `FastOnly` bus, without the rest of the table.
    pub(crate) const MEMORY: [Handler<B>; SLOTS] = build_memory::<B>();
}

/// Whether handler `id` is one of the families with a memory operand whose handler makes one
/// memory access (a read, a write, or a read-modify-write) before it changes anything else:
/// on a `FastOnly` bus, such a handler either completes or returns `Fault::RETRY` having done
/// nothing.
pub(crate) const fn memory_form(handler: u16) -> bool {
    use id::*;
    const fn within(id: u16, base: u16, n: u16) -> bool {
        id >= base && id < base + n
    }
    let h = handler;
    within(h, ALU_EG_M, ALU)
        || within(h, ALU_GE_M, ALU)
        || within(h, ALU_EI_M, ALU)
        || within(h, SHIFT_M, SHIFT)
        || within(h, PUSH_O, 3)
        || within(h, POP_O, 3)
        || within(h, MOV_EG_M, 3)
        || within(h, MOV_GE_M, 3)
        || within(h, MOV_EG_BD, 3)
        || within(h, MOV_GE_BD, 3)
        || within(h, MOV_EI_M, 3)
        || within(h, IMUL_GEI_M, 3)
        || within(h, IMUL_GE_M + 1, 2)
        || within(h, MOVX_M, 8)
        || within(h, CMOV_M, 16)
        || within(h, SETCC_M, 16)
        || within(h, INCDEC_E_M, 6)
}

/// Runs handler `id`.
#[inline(always)]
pub(crate) fn run<B: Bus>(cpu: &mut Cpu, bus: &mut B, i: &Insn) -> Result<(), Fault> {
    handler::<B>(i.handler)(cpu, bus, i)
}

/// Handler `id` for bus type `B` (traces keep it with the instruction).
#[inline(always)]
pub(crate) fn handler<B: Bus>(id: u16) -> Handler<B> {
    Table::<B>::HANDLERS[id as usize & (SLOTS - 1)]
}

/// Fills `t[base + size index]` with `f::<size>` for operand sizes 1, 2, 4.
macro_rules! by_size {
    ($t:ident, $base:expr, $f:ident $(, $k:expr)?) => {
        $t[$base as usize] = Cpu::$f::<$({ $k },)? 1, B>;
        $t[$base as usize + 1] = Cpu::$f::<$({ $k },)? 2, B>;
        $t[$base as usize + 2] = Cpu::$f::<$({ $k },)? 4, B>;
    };
}

/// Fills `t[base + kind * 3 + size index]` with `f::<kind, size>` for each listed kind.
macro_rules! by_kind_and_size {
    ($t:ident, $base:expr, $f:ident, [$($k:literal),*]) => {
        $( by_size!($t, $base as usize + $k * 3, $f, $k); )*
    };
}

/// Fills `t[base + cc]` with `f::<cc>` for the sixteen condition codes.
macro_rules! by_condition {
    ($t:ident, $base:expr, $f:ident) => {
        by_condition!(@ $t, $base, $f, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    };
    (@ $t:ident, $base:expr, $f:ident, [$($cc:literal),*]) => {
        $( $t[$base as usize + $cc] = Cpu::$f::<$cc, B>; )*
    };
}

/// Fills the eight MOVZX/MOVSX forms from `base` (see [`id::MOVX_R`]).
macro_rules! movx {
    ($t:ident, $base:expr, $f:ident) => {
        movx!(@ $t, $base, $f, [(0, false, 1, 2), (1, false, 1, 4), (2, false, 2, 2), (3, false, 2, 4),
            (4, true, 1, 2), (5, true, 1, 4), (6, true, 2, 2), (7, true, 2, 4)]);
    };
    (@ $t:ident, $base:expr, $f:ident, [$(($n:literal, $s:literal, $src:literal, $d:literal)),*]) => {
        $( $t[$base as usize + $n] = Cpu::$f::<$s, $src, $d, B>; )*
    };
}

/// The table of [`Table::MEMORY`].
const fn build_memory<B: Bus>() -> [Handler<B>; SLOTS] {
    use id::*;
    let mut t: [Handler<B>; SLOTS] = [Cpu::retry::<B>; SLOTS];
    by_kind_and_size!(t, ALU_EG_M, alu_eg_m, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    by_kind_and_size!(t, ALU_GE_M, alu_ge_m, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    by_kind_and_size!(t, ALU_EI_M, alu_ei_m, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    by_kind_and_size!(t, SHIFT_M, shift_e_m, [0, 1, 2, 3, 4, 5, 6, 7]);
    by_size!(t, PUSH_O, push_o);
    by_size!(t, POP_O, pop_o);
    by_size!(t, MOV_EG_M, mov_eg_m, EA_ANY);
    by_size!(t, MOV_GE_M, mov_ge_m, EA_ANY);
    by_size!(t, MOV_EG_BD, mov_eg_m, EA_BASE_DISP);
    by_size!(t, MOV_GE_BD, mov_ge_m, EA_BASE_DISP);
    by_size!(t, MOV_EI_M, mov_ei_m);
    by_size!(t, IMUL_GEI_M, imul_gei_m);
    t[IMUL_GE_M as usize + 1] = Cpu::imul_ge_m::<2, B>;
    t[IMUL_GE_M as usize + 2] = Cpu::imul_ge_m::<4, B>;
    movx!(t, MOVX_M, movx_m);
    by_condition!(t, CMOV_M, cmov_m);
    by_condition!(t, SETCC_M, setcc_m);
    by_size!(t, INCDEC_E_M, incdec_e_m, false);
    by_size!(t, INCDEC_E_M + 3, incdec_e_m, true);
    t
}

const fn build<B: Bus>() -> [Handler<B>; SLOTS] {
    use id::*;
    let mut t: [Handler<B>; SLOTS] = [Cpu::dispatch::<B>; SLOTS];
    t[UD as usize] = Cpu::undefined::<B>;
    by_kind_and_size!(t, ALU_EG_R, alu_eg_r, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    by_kind_and_size!(t, ALU_EG_M, alu_eg_m, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    by_kind_and_size!(t, ALU_GE_R, alu_ge_r, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    by_kind_and_size!(t, ALU_GE_M, alu_ge_m, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    by_kind_and_size!(t, ALU_AI, alu_ai, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    by_kind_and_size!(t, ALU_EI_R, alu_ei_r, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    by_kind_and_size!(t, ALU_EI_M, alu_ei_m, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    by_kind_and_size!(t, SHIFT_R, shift_e_r, [0, 1, 2, 3, 4, 5, 6, 7]);
    by_kind_and_size!(t, SHIFT_M, shift_e_m, [0, 1, 2, 3, 4, 5, 6, 7]);
    by_kind_and_size!(t, SHIFT_RI, shift_e_r_imm, [0, 1, 2, 3, 4, 5, 6, 7]);
    by_size!(t, INCDEC_O, incdec_o, false);
    by_size!(t, INCDEC_O + 3, incdec_o, true);
    by_size!(t, PUSH_O, push_o);
    t[PUSH_SP_8086 as usize] = Cpu::push_sp_8086::<B>;
    by_size!(t, POP_O, pop_o);
    by_size!(t, MOV_EG_R, mov_eg_r);
    by_size!(t, MOV_EG_M, mov_eg_m, EA_ANY);
    by_size!(t, MOV_GE_R, mov_ge_r);
    by_size!(t, MOV_GE_M, mov_ge_m, EA_ANY);
    by_size!(t, MOV_EG_BD, mov_eg_m, EA_BASE_DISP);
    by_size!(t, MOV_GE_BD, mov_ge_m, EA_BASE_DISP);
    by_size!(t, MOV_OI, mov_oi);
    by_size!(t, MOV_EI_R, mov_ei_r);
    by_size!(t, MOV_EI_M, mov_ei_m);
    by_size!(t, LEA, lea);
    by_size!(t, IMUL_GEI_R, imul_gei_r);
    by_size!(t, IMUL_GEI_M, imul_gei_m);
    t[IMUL_GE_R as usize + 1] = Cpu::imul_ge_r::<2, B>;
    t[IMUL_GE_R as usize + 2] = Cpu::imul_ge_r::<4, B>;
    t[IMUL_GE_M as usize + 1] = Cpu::imul_ge_m::<2, B>;
    t[IMUL_GE_M as usize + 2] = Cpu::imul_ge_m::<4, B>;
    movx!(t, MOVX_R, movx_r);
    movx!(t, MOVX_M, movx_m);
    by_condition!(t, CMOV_R, cmov_r);
    by_condition!(t, CMOV_M, cmov_m);
    by_condition!(t, SETCC_R, setcc_r);
    by_condition!(t, SETCC_M, setcc_m);
    by_condition!(t, JCC_SHORT, jcc_short);
    by_condition!(t, JCC_NEAR, jcc_near);
    t[CALL_REL as usize] = Cpu::call_rel::<B>;
    t[JMP_REL as usize] = Cpu::jmp_rel::<B>;
    t[RET_NEAR as usize] = Cpu::ret_near::<B>;
    t[LOOP as usize] = Cpu::loop_jcxz::<0, B>;
    t[LOOP as usize + 1] = Cpu::loop_jcxz::<1, B>;
    t[LOOP as usize + 2] = Cpu::loop_jcxz::<2, B>;
    t[LOOP as usize + 3] = Cpu::loop_jcxz::<3, B>;
    t[STRING as usize] = Cpu::exec_string::<B>;
    by_size!(t, INCDEC_E_R, incdec_e_r, false);
    by_size!(t, INCDEC_E_R + 3, incdec_e_r, true);
    by_size!(t, INCDEC_E_M, incdec_e_m, false);
    by_size!(t, INCDEC_E_M + 3, incdec_e_m, true);
    t[GRP3 as usize] = Cpu::exec_grp3::<B>;
    t[GRP5 as usize] = Cpu::exec_grp5::<B>;
    t[EXT as usize] = Cpu::exec_0f::<B>;
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::decode::decode;

    /// Opcodes with their own handlers: every ModRM byte and size must select one (never the
    /// switch, which has no arms for them).
    #[test]
    fn specialised_opcodes_never_reach_the_switch() {
        let specialised = |op: u16| {
            (op < 0x40 && op & 7 < 6)
                || matches!(op, 0x40..=0x5F | 0x69 | 0x6B | 0x70..=0x8B | 0x8D | 0xA4..=0xAF | 0x6C..=0x6F)
                || matches!(op, 0xB0..=0xBF | 0xC0..=0xC3 | 0xC6 | 0xC7 | 0xD0..=0xD3 | 0xE0..=0xE3)
                || matches!(op, 0xE8 | 0xE9 | 0xEB | 0xF6 | 0xF7 | 0xFE | 0xFF)
        };
        for model in CpuModel::ALL {
            for first in 0..=255u8 {
                for modrm in 0..=255u8 {
                    for pfx in [&[][..], &[0x66][..]] {
                        let mut bytes = pfx.to_vec();
                        bytes.extend_from_slice(&[first, modrm, 0, 0, 0, 0, 0, 0, 0, 0]);
                        let Ok(i) = decode(&bytes, model, false) else {
                            continue;
                        };
                        let special = if i.op >= 0x100 {
                            true
                        } else {
                            specialised(i.op) && !matches!(i.op, 0x86 | 0x87)
                        };
                        if !special {
                            continue;
                        }
                        assert_ne!(i.handler, id::GENERIC, "{model:?} {bytes:02x?}");
                    }
                }
            }
        }
    }

    #[test]
    fn invalid_lock_selects_ud() {
        let add_reg = decode(&[0xF0, 0x01, 0xC0], CpuModel::I386, false).unwrap();
        assert_eq!(add_reg.handler, id::UD);
        let add_mem = decode(&[0xF0, 0x01, 0x07], CpuModel::I386, false).unwrap();
        assert_ne!(add_mem.handler, id::UD);
        // The 286 ignores LOCK.
        let add_reg = decode(&[0xF0, 0x01, 0xC0], CpuModel::I286, false).unwrap();
        assert_ne!(add_reg.handler, id::UD);
    }

    #[test]
    fn stores_are_seen() {
        let w = |b: &[u8]| may_write_memory(&decode(b, CpuModel::I386, false).unwrap());
        assert!(w(&[0x01, 0x07])); // add [bx], ax
        assert!(!w(&[0x03, 0x07])); // add ax, [bx]
        assert!(!w(&[0x39, 0x07])); // cmp [bx], ax
        assert!(w(&[0x50])); // push ax
        assert!(w(&[0xE8, 0, 0])); // call
        assert!(w(&[0xAB])); // stosw
        assert!(w(&[0x89, 0x07])); // mov [bx], ax
        assert!(!w(&[0x89, 0xC0])); // mov ax, ax
        assert!(w(&[0xFF, 0xD0])); // call ax
        assert!(w(&[0xFF, 0x30])); // push [bx]
        assert!(!w(&[0xFF, 0x27])); // jmp [bx]
        assert!(w(&[0x8F, 0x07])); // pop [bx]
        assert!(w(&[0xA3, 0, 0])); // mov [0], ax
        assert!(w(&[0x0F, 0x94, 0x07])); // sete [bx]
    }
}
