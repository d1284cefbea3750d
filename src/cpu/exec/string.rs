//! String instructions (MOVS CMPS STOS LODS SCAS INS OUTS) with REP/REPE/REPNE.
//!
//! A REP instruction runs iterations until its count or condition ends it, an interrupt becomes
//! deliverable, or the run slice's cycle budget is used up. When it stops early, EIP stays on the
//! instruction (`rep_pending`), so the next step resumes it — exactly how the hardware makes
//! long string operations interruptible.

use crate::cpu::decode::{seg, P_REP, P_REPNE};
use crate::cpu::flags::Lazy;
use crate::cpu::{reg, Bus, Cpu, CpuModel, Fault, Insn};

impl Cpu {
    /// Executes a string instruction, REP-prefixed or not.
    pub(crate) fn exec_string<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let op = i.op as u8;
        let size = if op & 1 == 0 { 1 } else { i.osize() };
        let asize = if i.a32() { 4 } else { 2 };
        if matches!(op, 0x6C..=0x6F) {
            self.check_io(bus, self.r16(reg::DX), size)?;
            self.attention = true;
        }
        if i.pfx & (P_REP | P_REPNE) == 0 {
            self.rep_pending = false;
            return self.string_once(bus, op, i.seg(), size, asize);
        }
        let compares = matches!(op, 0xA6 | 0xA7 | 0xAE | 0xAF);
        let until_zf = i.pfx & P_REP != 0; // REPE stops when ZF = 0; REPNE when ZF = 1
        let per = super::super::decode::table::OPS[i.op as usize].cycles[self.model.timing_index()]
            as u64;
        loop {
            if self.reg(reg::CX, asize) == 0 {
                self.rep_pending = false;
                return Ok(());
            }
            if let Err(f) = self.string_once(bus, op, i.seg(), size, asize) {
                // A 286 INS/OUTS that faults on its operand has already counted the iteration.
                if self.model == CpuModel::I286 && matches!(op, 0x6C..=0x6F) {
                    let c = self.reg(reg::CX, asize).wrapping_sub(1);
                    self.set_reg(reg::CX, asize, c);
                }
                return Err(f);
            }
            let c = self.reg(reg::CX, asize).wrapping_sub(1);
            self.set_reg(reg::CX, asize, c);
            self.cycles += per;
            if c == 0 || (compares && self.flags.zf() != until_zf) {
                self.rep_pending = false;
                return Ok(());
            }
            if self.now() >= self.slice_end || (self.flags.if_() && bus.interrupt_pending()) {
                // Resume later at this instruction. The 8086 resumes at the last prefix only,
                // forgetting earlier ones (a documented erratum).
                self.rep_pending = true;
                self.eip = if self.model == CpuModel::I8086 {
                    self.start_eip.wrapping_add(i.npfx as u32 - 1) & 0xFFFF
                } else {
                    self.start_eip
                };
                return Ok(());
            }
        }
    }

    /// One iteration: moves data and advances SI/DI by the operand size in the DF direction.
    #[inline(always)]
    fn string_once<B: Bus>(
        &mut self,
        bus: &mut B,
        op: u8,
        src: u8,
        size: u8,
        asize: u8,
    ) -> Result<(), Fault> {
        let si = self.reg(reg::SI, asize);
        let di = self.reg(reg::DI, asize);
        let step = if self.flags.df() {
            (size as u32).wrapping_neg()
        } else {
            size as u32
        };
        match op {
            0xA4 | 0xA5 => {
                let v = self.read_mem(bus, src, si, size)?;
                self.write_mem(bus, seg::ES, di, size, v)?;
                self.set_reg(reg::SI, asize, si.wrapping_add(step));
                self.set_reg(reg::DI, asize, di.wrapping_add(step));
            }
            0xA6 | 0xA7 => {
                let a = self.read_mem(bus, src, si, size)?;
                let b = self.read_mem(bus, seg::ES, di, size)?;
                let r = a.wrapping_sub(b);
                self.flags.set_lazy(Lazy::Sub, size, a, b, r);
                self.set_reg(reg::SI, asize, si.wrapping_add(step));
                self.set_reg(reg::DI, asize, di.wrapping_add(step));
            }
            0xAA | 0xAB => {
                let v = self.reg(reg::AX, size);
                self.write_mem(bus, seg::ES, di, size, v)?;
                self.set_reg(reg::DI, asize, di.wrapping_add(step));
            }
            0xAC | 0xAD => {
                let v = self.read_mem(bus, src, si, size)?;
                self.set_reg(reg::AX, size, v);
                self.set_reg(reg::SI, asize, si.wrapping_add(step));
            }
            0xAE | 0xAF => {
                let a = self.reg(reg::AX, size);
                let b = self.read_mem(bus, seg::ES, di, size)?;
                let r = a.wrapping_sub(b);
                self.flags.set_lazy(Lazy::Sub, size, a, b, r);
                self.set_reg(reg::DI, asize, di.wrapping_add(step));
            }
            0x6C | 0x6D => {
                // The destination is checked before the port is read. The 286 has already
                // stepped DI when the check faults.
                if let Err(f) = self.probe_write(bus, seg::ES, di, size) {
                    if self.model == CpuModel::I286 {
                        self.set_reg(reg::DI, asize, di.wrapping_add(step));
                    }
                    return Err(f);
                }
                let v = bus.io_read(self.r16(reg::DX), size, self.now());
                self.write_mem(bus, seg::ES, di, size, v)?;
                self.set_reg(reg::DI, asize, di.wrapping_add(step));
            }
            _ => {
                let v = match self.read_mem(bus, src, si, size) {
                    Ok(v) => v,
                    Err(f) => {
                        if self.model == CpuModel::I286 {
                            self.set_reg(reg::SI, asize, si.wrapping_add(step));
                        }
                        return Err(f);
                    }
                };
                bus.io_write(self.r16(reg::DX), size, v, self.now());
                self.set_reg(reg::SI, asize, si.wrapping_add(step));
            }
        }
        Ok(())
    }
}
