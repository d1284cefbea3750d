//! Data movement with handlers of their own (see `handlers`): MOV in its common forms, LEA,
//! PUSH r and POP r. The rarer data instructions are in the opcode switch (`mod.rs`).

use crate::cpu::exec::arith::mask;
use crate::cpu::{reg, Bus, Cpu, Fault, Insn};

impl Cpu {
    /// MOV r/m, reg (88, 89) with a register r/m.
    #[inline(always)]
    pub(crate) fn mov_eg_r<const S: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        self.set_reg(i.rm(), S, self.reg(i.reg(), S));
        Ok(())
    }

    /// MOV r/m, reg with a memory r/m (addressed as `EA` says, see [`Cpu::ea_form`]).
    #[inline(always)]
    pub(crate) fn mov_eg_m<const EA: u8, const S: u8, B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let off = self.ea_form::<EA>(i);
        self.write_mem(bus, i.seg(), off, S, self.reg(i.reg(), S))
    }

    /// MOV reg, r/m (8A, 8B) with a register r/m.
    #[inline(always)]
    pub(crate) fn mov_ge_r<const S: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        self.set_reg(i.reg(), S, self.reg(i.rm(), S));
        Ok(())
    }

    /// MOV reg, r/m with a memory r/m (addressed as `EA` says, see [`Cpu::ea_form`]).
    #[inline(always)]
    pub(crate) fn mov_ge_m<const EA: u8, const S: u8, B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let off = self.ea_form::<EA>(i);
        self.read_mem_then(bus, i.seg(), off, S, |cpu, v| cpu.set_reg(i.reg(), S, v))
    }

    /// MOV r, imm (B0–BF): the register is in the opcode.
    #[inline(always)]
    pub(crate) fn mov_oi<const S: u8, B: Bus>(&mut self, _: &mut B, i: &Insn) -> Result<(), Fault> {
        self.set_reg((i.op & 7) as u8, S, i.imm);
        Ok(())
    }

    /// MOV r/m, imm (C6, C7) with a register r/m.
    #[inline(always)]
    pub(crate) fn mov_ei_r<const S: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        self.set_reg(i.rm(), S, i.imm);
        Ok(())
    }

    /// MOV r/m, imm with a memory r/m.
    #[inline(always)]
    pub(crate) fn mov_ei_m<const S: u8, B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let off = self.ea(i);
        self.write_mem(bus, i.seg(), off, S, i.imm & mask(S))
    }

    /// LEA reg, m (8D); the register form was turned into #UD by the decoder.
    #[inline(always)]
    pub(crate) fn lea<const S: u8, B: Bus>(&mut self, _: &mut B, i: &Insn) -> Result<(), Fault> {
        self.set_reg(i.reg(), S, self.ea(i));
        Ok(())
    }

    /// PUSH r (50–57).
    #[inline(always)]
    pub(crate) fn push_o<const S: u8, B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let v = self.reg((i.op & 7) as u8, S);
        self.push(bus, S, v)
    }

    /// PUSH SP on the 8086/186, which push the already decremented SP.
    pub(crate) fn push_sp_8086<B: Bus>(&mut self, bus: &mut B, _: &Insn) -> Result<(), Fault> {
        let v = self.r16(reg::SP).wrapping_sub(2);
        self.push(bus, 2, v as u32)
    }

    /// POP r (58–5F).
    #[inline(always)]
    pub(crate) fn pop_o<const S: u8, B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let v = self.pop(bus, S)?;
        self.set_reg((i.op & 7) as u8, S, v);
        Ok(())
    }
}

/// MOVZX/MOVSX (0F B6, B7, BE, BF), CMOVcc (0F 40–4F) and SETcc (0F 90–9F): the `0F` data
/// moves that compiled code runs most, each with handlers of its own (see `exec::handlers`).
impl Cpu {
    /// MOVZX/MOVSX with a register source: `SRC` bytes (1, 2) widened, zero- or
    /// sign-extended, into a `D`-byte register (2, 4).
    #[inline(always)]
    pub(crate) fn movx_r<const SIGNED: bool, const SRC: u8, const D: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let v = self.reg(i.rm(), SRC);
        self.set_reg(i.reg(), D, widen::<SIGNED, SRC>(v));
        Ok(())
    }

    /// MOVZX/MOVSX with a memory source.
    #[inline(always)]
    pub(crate) fn movx_m<const SIGNED: bool, const SRC: u8, const D: u8, B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let off = self.ea(i);
        self.read_mem_then(bus, i.seg(), off, SRC, |cpu, v| {
            cpu.set_reg(i.reg(), D, widen::<SIGNED, SRC>(v))
        })
    }

    /// CMOVcc reg, reg.
    #[inline(always)]
    pub(crate) fn cmov_r<const CC: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        if self.flags.cond(CC) {
            let size = i.osize();
            self.set_reg(i.reg(), size, self.reg(i.rm(), size));
        }
        Ok(())
    }

    /// CMOVcc reg, mem. The source is read whatever the condition, so a bad memory operand
    /// faults even when nothing is moved; a false condition leaves the destination as it was
    /// (its upper half included: zero-extension of a 32-bit destination happens only in
    /// 64-bit mode).
    #[inline(always)]
    pub(crate) fn cmov_m<const CC: u8, B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let size = i.osize();
        let off = self.ea(i);
        self.read_mem_then(bus, i.seg(), off, size, |cpu, v| {
            if cpu.flags.cond(CC) {
                cpu.set_reg(i.reg(), size, v);
            }
        })
    }

    /// SETcc r8.
    #[inline(always)]
    pub(crate) fn setcc_r<const CC: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let v = self.flags.cond(CC) as u8;
        self.set_r8(i.rm(), v);
        Ok(())
    }

    /// SETcc m8.
    #[inline(always)]
    pub(crate) fn setcc_m<const CC: u8, B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let v = self.flags.cond(CC) as u32;
        let off = self.ea(i);
        self.write_mem(bus, i.seg(), off, 1, v)
    }
}

/// `v`, `SRC` bytes wide, zero- or sign-extended to 32 bits.
#[inline(always)]
fn widen<const SIGNED: bool, const SRC: u8>(v: u32) -> u32 {
    match (SIGNED, SRC) {
        (false, _) => v,
        (true, 1) => v as u8 as i8 as i32 as u32,
        (true, _) => v as u16 as i16 as i32 as u32,
    }
}
