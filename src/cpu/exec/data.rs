//! Data movement with handlers of their own (see `handlers`): MOV in its common forms, LEA,
//! PUSH r and POP r. The rarer data instructions are in the opcode switch (`mod.rs`).

use crate::cpu::exec::arith::mask;
use crate::cpu::{reg, Bus, Cpu, Fault, Insn};

impl Cpu {
    /// MOV r/m, reg (88, 89) with a register r/m.
    pub(crate) fn mov_eg_r<const S: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        self.set_reg(i.rm(), S, self.reg(i.reg(), S));
        Ok(())
    }

    /// MOV r/m, reg with a memory r/m.
    pub(crate) fn mov_eg_m<const S: u8, B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let off = self.ea(i);
        self.write_mem(bus, i.seg, off, S, self.reg(i.reg(), S))
    }

    /// MOV reg, r/m (8A, 8B) with a register r/m.
    pub(crate) fn mov_ge_r<const S: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        self.set_reg(i.reg(), S, self.reg(i.rm(), S));
        Ok(())
    }

    /// MOV reg, r/m with a memory r/m.
    pub(crate) fn mov_ge_m<const S: u8, B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let off = self.ea(i);
        let v = self.read_mem(bus, i.seg, off, S)?;
        self.set_reg(i.reg(), S, v);
        Ok(())
    }

    /// MOV r, imm (B0–BF): the register is in the opcode.
    pub(crate) fn mov_oi<const S: u8, B: Bus>(&mut self, _: &mut B, i: &Insn) -> Result<(), Fault> {
        self.set_reg((i.op & 7) as u8, S, i.imm);
        Ok(())
    }

    /// MOV r/m, imm (C6, C7) with a register r/m.
    pub(crate) fn mov_ei_r<const S: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        self.set_reg(i.rm(), S, i.imm);
        Ok(())
    }

    /// MOV r/m, imm with a memory r/m.
    pub(crate) fn mov_ei_m<const S: u8, B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let off = self.ea(i);
        self.write_mem(bus, i.seg, off, S, i.imm & mask(S))
    }

    /// LEA reg, m (8D); the register form was turned into #UD by the decoder.
    pub(crate) fn lea<const S: u8, B: Bus>(&mut self, _: &mut B, i: &Insn) -> Result<(), Fault> {
        self.set_reg(i.reg(), S, self.ea(i));
        Ok(())
    }

    /// PUSH r (50–57).
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
