//! Instruction handlers.
//!
//! Each decoded instruction carries the id of its handler, chosen once by the decoder; `handlers`
//! explains the table and which instruction forms have handlers of their own. Everything else
//! goes through the opcode switch in this file.
//!
//! Families live in their own files: `arith` (ALU, multiply/divide, BCD, shifts), `ctrl` (jumps,
//! calls, interrupts), `data` (the common MOV forms, LEA, PUSH/POP r), `string` (MOVS…SCAS,
//! INS/OUTS with REP), `ext` (the `0F` opcodes), `system` (CPUID, the TSC and MSRs, CMPXCHG8B,
//! CMOVcc, SYSENTER/SYSEXIT: the Pentium and Pentium II additions). The rarer data movement,
//! stack and flag instructions are here with the switch.

mod arith;
mod ctrl;
mod data;
pub(crate) mod debug;
mod ext;
mod fpu;
pub(super) mod handlers;
mod mmx;
pub(crate) mod protect;
mod string;
mod system;

pub(crate) use arith::{mask, sext};

use super::decode::seg;
use super::flags;
use super::{reg, Bus, Cpu, CpuModel, Fault, Insn};

impl Cpu {
    /// Executes a decoded instruction through its handler. EIP already points past it.
    #[inline(always)]
    pub(crate) fn execute<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        handlers::run(self, bus, i)
    }

    /// The handler of instructions the decoder found invalid on this model (#UD).
    pub(crate) fn undefined<B: Bus>(&mut self, _: &mut B, _: &Insn) -> Result<(), Fault> {
        Err(Fault::UD)
    }

    /// The placeholder of `handlers::Table::MEMORY` for ids without a memory form (never
    /// run: traces use that table only for the ids of `handlers::memory_form`).
    pub(crate) fn retry<B: Bus>(&mut self, _: &mut B, _: &Insn) -> Result<(), Fault> {
        Err(Fault::RETRY)
    }

    /// The opcode switch: the handler of every instruction without one of its own (see
    /// `handlers`, which lists the opcodes that never come here).
    pub(crate) fn dispatch<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let op = i.op;
        match op {
            0x06 | 0x0E | 0x16 | 0x1E => {
                let v = self.segs[(op >> 3) as usize].selector;
                self.push(bus, i.osize(), v as u32)
            }
            0x07 | 0x17 | 0x1F => {
                let v = self.peek(bus, 0, i.osize())?;
                self.load_seg(bus, (op >> 3) as u8, v as u16)?;
                let sp = self.sp().wrapping_add(i.osize() as u32);
                self.set_sp(sp);
                if op == 0x17 {
                    self.shadow = true;
                }
                Ok(())
            }
            0x0F => {
                // POP CS (8086 only).
                let v = self.pop(bus, 2)?;
                self.load_seg_real(seg::CS, v as u16);
                Ok(())
            }
            0x27 => {
                self.decimal_adjust(false);
                Ok(())
            }
            0x2F => {
                self.decimal_adjust(true);
                Ok(())
            }
            0x37 => {
                self.ascii_adjust(false);
                Ok(())
            }
            0x3F => {
                self.ascii_adjust(true);
                Ok(())
            }
            0x60 => self.pusha(bus, i),
            0x61 => self.popa(bus, i),
            0x62 => self.bound(bus, i),
            0x63 => self.arpl(bus, i),
            0x68 => self.push(bus, i.osize(), i.imm),
            0x6A => self.push(bus, i.osize(), sext(i.imm, 1) as u32),
            0x86 | 0x87 => {
                let size = if op & 1 == 0 { 1 } else { i.osize() };
                let a = self.reg(i.reg(), size);
                if i.is_reg() {
                    let b = self.reg(i.rm(), size);
                    self.set_reg(i.rm(), size, a);
                    self.set_reg(i.reg(), size, b);
                } else {
                    let off = self.ea(i);
                    let b = self.read_mem(bus, i.seg(), off, size)?;
                    self.write_mem(bus, i.seg(), off, size, a)?;
                    self.set_reg(i.reg(), size, b);
                }
                Ok(())
            }
            0x8C => {
                let s = self.sreg_field(i)?;
                let v = self.segs[s as usize].selector as u32;
                // A register destination takes the full operand size (upper half zero on 386+).
                let size = if i.is_reg() { i.osize() } else { 2 };
                self.write_rm(bus, i, size, v)
            }
            0x8E => {
                let s = self.sreg_field(i)?;
                if s == seg::CS && self.model >= CpuModel::I186 {
                    return Err(Fault::UD);
                }
                let v = self.read_rm(bus, i, 2)?;
                self.load_seg(bus, s, v as u16)?;
                if s == seg::SS {
                    self.shadow = true;
                }
                Ok(())
            }
            0x8F => {
                if i.reg() != 0 && self.model >= CpuModel::I286 {
                    return Err(Fault::UD);
                }
                let size = i.osize();
                // The destination address uses the incremented SP (386 rule; identical on
                // earlier chips unless the operand is SP-relative).
                let sp = self.regs[reg::SP as usize];
                let v = self.pop(bus, size)?;
                match self.write_rm(bus, i, size, v) {
                    Ok(()) => Ok(()),
                    // The 286 has already committed the SP increment when the store faults.
                    Err(f) if self.model == CpuModel::I286 => Err(f),
                    Err(f) => {
                        self.regs[reg::SP as usize] = sp;
                        Err(f)
                    }
                }
            }
            0x90 => Ok(()),
            0x91..=0x97 => {
                let r = (op & 7) as u8;
                let size = i.osize();
                let a = self.reg(reg::AX, size);
                let b = self.reg(r, size);
                self.set_reg(reg::AX, size, b);
                self.set_reg(r, size, a);
                Ok(())
            }
            0x98 => {
                if i.o32() {
                    self.regs[0] = self.r16(reg::AX) as i16 as i32 as u32;
                } else {
                    self.set_r16(reg::AX, self.r8(reg::AX) as i8 as i16 as u16);
                }
                Ok(())
            }
            0x99 => {
                let size = i.osize();
                let s = self.reg(reg::AX, size) & arith::sign(size) != 0;
                self.set_reg(reg::DX, size, if s { u32::MAX } else { 0 });
                Ok(())
            }
            0x9A => self.far_call(bus, i.imm2, i.imm, i.o32()),
            0x9B if self.model >= CpuModel::I386 => self.fwait(bus, i),
            0x9B => {
                // WAIT: no coprocessor busy; #NM when the FPU context belongs to another task.
                if self.cr[0] & 0xA == 0xA {
                    return Err(Fault::new(super::fault::vector::NM));
                }
                Ok(())
            }
            0x9C => self.pushf(bus, i),
            0x9D => self.popf(bus, i),
            0x9E => {
                let ah = self.r8(reg::AX + 4) as u32;
                let v = (self.flags.get() & !0xFF) | (ah & 0xD5) | flags::RESERVED1;
                self.flags.set(v);
                Ok(())
            }
            0x9F => {
                let v = self.flags.get() as u8;
                let v = if self.model < CpuModel::I286 {
                    v
                } else {
                    (v & 0xD5) | 2
                };
                self.set_r8(reg::AX + 4, v);
                Ok(())
            }
            0xA0..=0xA3 => {
                let size = if op & 1 == 0 { 1 } else { i.osize() };
                if op < 0xA2 {
                    let v = self.read_mem(bus, i.seg(), i.disp, size)?;
                    self.set_reg(reg::AX, size, v);
                    Ok(())
                } else {
                    let v = self.reg(reg::AX, size);
                    self.write_mem(bus, i.seg(), i.disp, size, v)
                }
            }
            0xC4 | 0xC5 => {
                let s = if op == 0xC4 { seg::ES } else { seg::DS };
                self.load_far_pointer(bus, i, s)
            }
            0xC8 => self.enter(bus, i),
            0xC9 => {
                let size = i.osize();
                let bp = self.reg(reg::BP, if self.stack32() { 4 } else { 2 });
                let v = self.read_mem(bus, seg::SS, bp, size)?;
                self.set_sp(bp.wrapping_add(size as u32));
                self.set_reg(reg::BP, size, v);
                Ok(())
            }
            0xCA | 0xCB => self.ret_far(bus, i),
            0xCC => self.soft_interrupt(bus, 3, false),
            0xCD => self.soft_interrupt(bus, i.imm as u8, true),
            0xCE => {
                if self.flags.of() {
                    self.cycles += 48;
                    self.soft_interrupt(bus, 4, false)
                } else {
                    Ok(())
                }
            }
            0xCF => self.iret(bus, i),
            0xD4 => self.aam(i.imm as u8),
            0xD5 => {
                self.aad(i.imm as u8);
                Ok(())
            }
            0xD6 => {
                let v = if self.flags.cf() { 0xFF } else { 0 };
                self.set_r8(reg::AX, v);
                Ok(())
            }
            0xD7 => {
                let off = self
                    .reg(reg::BX, if i.a32() { 4 } else { 2 })
                    .wrapping_add(self.r8(reg::AX) as u32);
                let off = if i.a32() { off } else { off & 0xFFFF };
                let v = self.read_mem(bus, i.seg(), off, 1)?;
                self.set_r8(reg::AX, v as u8);
                Ok(())
            }
            0xD8..=0xDF if self.model >= CpuModel::I386 => self.esc(bus, i),
            0xD8..=0xDF => {
                // ESC without a coprocessor: the bus cycle for the operand still happens.
                if self.cr[0] & 0xC != 0 {
                    return Err(Fault::new(super::fault::vector::NM));
                }
                if !i.is_reg() && self.model == CpuModel::I8086 {
                    let off = self.ea(i);
                    self.read_mem(bus, i.seg(), off, 2)?;
                }
                Ok(())
            }
            0xE4..=0xE7 | 0xEC..=0xEF => self.exec_io(bus, i),
            0xEA => self.far_jmp(bus, i.imm2, i.imm, i.o32()),
            0xF1 => self.icebp(bus),
            0xF4 => {
                self.require_cpl0()?;
                self.halted = true;
                self.attention = true;
                Ok(())
            }
            0xF5 => {
                let c = self.flags.cf();
                self.flags.assign(flags::CF, !c);
                Ok(())
            }
            0xF8 | 0xF9 => {
                self.flags.assign(flags::CF, op == 0xF9);
                Ok(())
            }
            0xFA => {
                if self.protected() && !self.cli_sti_pm(false)? {
                    return Ok(());
                }
                self.flags.assign(flags::IF, false);
                Ok(())
            }
            0xFB => {
                if self.protected() && !self.cli_sti_pm(true)? {
                    self.attention = true;
                    return Ok(());
                }
                if !self.flags.if_() {
                    self.shadow = true;
                }
                self.flags.assign(flags::IF, true);
                self.attention = true;
                Ok(())
            }
            0xFC | 0xFD => {
                self.flags.assign(flags::DF, op == 0xFD);
                Ok(())
            }
            _ => Err(Fault::UD),
        }
    }

    /// The segment register named by ModRM `reg` for 8C/8E (the 8086 decodes only two bits).
    fn sreg_field(&self, i: &Insn) -> Result<u8, Fault> {
        let s = i.reg();
        match self.model {
            CpuModel::I8086 | CpuModel::I186 => Ok(s & 3),
            CpuModel::I286 if s > 3 => Err(Fault::UD),
            _ if s > 5 => Err(Fault::UD),
            _ => Ok(s),
        }
    }

    /// Extra clocks for a taken conditional jump.
    #[inline(always)]
    pub(crate) fn taken_penalty(&self) -> u64 {
        match self.model {
            CpuModel::I8086 => 12,
            CpuModel::I186 | CpuModel::I286 => 4,
            CpuModel::I386 => 4,
            CpuModel::I486 | CpuModel::Pentium | CpuModel::PentiumII => 2,
        }
    }

    /// Group 5 (FF) without INC/DEC, which have their own handlers: CALL CALLF JMP JMPF PUSH,
    /// and FF /7, which the 8086 treats as PUSH. The 8086 also runs FE /2–/7 here, with byte
    /// operands.
    pub(crate) fn exec_grp5<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let size = if i.op == 0xFE { 1 } else { i.osize() };
        match i.reg() {
            0 | 1 => unreachable!("INC/DEC r/m have their own handlers (handlers::select)"),
            2 => {
                let t = self.read_rm(bus, i, size)?;
                let ret = self.eip;
                self.push(bus, size, ret)?;
                self.jump(t, i.o32())
            }
            4 => {
                let t = self.read_rm(bus, i, size)?;
                self.jump(t, i.o32())
            }
            3 | 5 => {
                if i.is_reg() {
                    return self.far_indirect_register(bus, i);
                }
                let off = self.ea(i);
                let size = i.osize();
                let t = self.read_mem(bus, i.seg(), off, size)?;
                let sel = self.read_mem(
                    bus,
                    i.seg(),
                    off.wrapping_add(size as u32) & self.ea_mask(i),
                    2,
                )?;
                if i.reg() == 3 {
                    self.far_call(bus, sel as u16, t, i.o32())
                } else {
                    self.far_jmp(bus, sel as u16, t, i.o32())
                }
            }
            6 => {
                let v = self.read_rm(bus, i, size)?;
                // PUSH SP through r/m pushes the decremented SP on the 8086.
                let v = if i.is_reg() && i.rm() == reg::SP && self.model < CpuModel::I286 {
                    self.r16(reg::SP).wrapping_sub(2) as u32
                } else {
                    v
                };
                self.push(bus, size, v)
            }
            _ => {
                if self.model == CpuModel::I8086 {
                    let v = self.read_rm(bus, i, size)?;
                    let v = if i.is_reg() && i.rm() == reg::SP {
                        self.r16(reg::SP).wrapping_sub(2) as u32
                    } else {
                        v
                    };
                    self.push(bus, size, v)
                } else {
                    Err(Fault::UD)
                }
            }
        }
    }

    /// CALL FAR / JMP FAR with a register operand: invalid on 186+; on the 8086 the microcode
    /// reads the pointer from the last computed address — not modelled, treat as #UD-free NOP.
    fn far_indirect_register<B: Bus>(&mut self, _bus: &mut B, _i: &Insn) -> Result<(), Fault> {
        if self.model == CpuModel::I8086 {
            Ok(())
        } else {
            Err(Fault::UD)
        }
    }

    /// Offset mask of the instruction's address size.
    #[inline(always)]
    pub(crate) fn ea_mask(&self, i: &Insn) -> u32 {
        if i.a32() {
            u32::MAX
        } else {
            0xFFFF
        }
    }

    /// LES/LDS/LSS/LFS/LGS: loads a far pointer from memory.
    pub(crate) fn load_far_pointer<B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
        s: u8,
    ) -> Result<(), Fault> {
        if i.is_reg() {
            return Err(Fault::UD);
        }
        let size = i.osize();
        let off = self.ea(i);
        let v = self.read_mem(bus, i.seg(), off, size)?;
        let sel = self.read_mem(
            bus,
            i.seg(),
            off.wrapping_add(size as u32) & self.ea_mask(i),
            2,
        )?;
        self.load_seg(bus, s, sel as u16)?;
        self.set_reg(i.reg(), size, v);
        if s == seg::SS {
            self.shadow = true;
        }
        Ok(())
    }

    /// PUSHA/PUSHAD.
    fn pusha<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let size = i.osize();
        let sp0 = self.regs[reg::SP as usize];
        for r in 0..8u8 {
            let v = if r == reg::SP {
                sp0
            } else {
                self.regs[r as usize]
            };
            if let Err(f) = self.push(bus, size, v & mask(size)) {
                self.regs[reg::SP as usize] = sp0;
                return Err(f);
            }
        }
        Ok(())
    }

    /// POPA/POPAD (the stored SP is skipped).
    fn popa<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let size = i.osize();
        let sp0 = self.regs[reg::SP as usize];
        let mut vals = [0u32; 8];
        for r in (0..8).rev() {
            match self.pop(bus, size) {
                Ok(v) => vals[r] = v,
                Err(f) => {
                    self.regs[reg::SP as usize] = sp0;
                    return Err(f);
                }
            }
        }
        for r in 0..8u8 {
            if r != reg::SP {
                self.set_reg(r, size, vals[r as usize]);
            }
        }
        Ok(())
    }

    /// BOUND: #BR when the signed index is outside [lower, upper].
    fn bound<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        if i.is_reg() {
            return Err(Fault::UD);
        }
        let size = i.osize();
        let off = self.ea(i);
        let lo = sext(self.read_mem(bus, i.seg(), off, size)?, size);
        let hi = sext(
            self.read_mem(
                bus,
                i.seg(),
                off.wrapping_add(size as u32) & self.ea_mask(i),
                size,
            )?,
            size,
        );
        let v = sext(self.reg(i.reg(), size), size);
        if v < lo || v > hi {
            return Err(Fault::new(super::fault::vector::BR));
        }
        Ok(())
    }

    /// ENTER imm16, imm8.
    fn enter<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let size = i.osize();
        let alloc = i.imm & 0xFFFF;
        let level = i.imm2 & 0x1F;
        let s32 = self.stack32();
        let sp0 = self.regs[reg::SP as usize];
        let bp0 = self.regs[reg::BP as usize];
        let r = (|| {
            let bp = self.reg(reg::BP, size);
            self.push(bus, size, bp)?;
            let frame = self.sp();
            if level > 0 {
                let mut bpo = self.reg(reg::BP, if s32 { 4 } else { 2 });
                for _ in 1..level {
                    bpo = bpo.wrapping_sub(size as u32);
                    if !s32 {
                        bpo &= 0xFFFF;
                    }
                    let v = self.read_mem(bus, seg::SS, bpo, size)?;
                    self.push(bus, size, v)?;
                }
                self.push(bus, size, frame)?;
            }
            let sp = self.sp().wrapping_sub(alloc);
            // Touch the new stack top the way the 386 does (a limit check on the allocation).
            self.set_sp(sp);
            self.set_reg(reg::BP, size, frame);
            self.cycles += 4 * level as u64;
            Ok(())
        })();
        if r.is_err() {
            self.regs[reg::SP as usize] = sp0;
            self.regs[reg::BP as usize] = bp0;
        }
        r
    }
}
