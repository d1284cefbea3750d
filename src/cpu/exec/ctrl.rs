//! Control transfer: conditional and relative jumps, calls, returns, IRET, LOOP/JCXZ, and port
//! I/O.

use crate::cpu::{flags, reg, Bus, Cpu, Fault, Insn};

impl Cpu {
    /// Jcc rel8 (70–7F; the 8086 also decodes 60–6F here). `CC` is the condition code.
    pub(crate) fn jcc_short<const CC: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        if self.flags.cond(CC) {
            self.cycles += self.taken_penalty();
            self.jump(self.eip.wrapping_add(i.imm), i.o32())?;
        }
        Ok(())
    }

    /// Jcc rel16/32 (0F 80–8F); the table's cost already covers a taken jump.
    pub(crate) fn jcc_near<const CC: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        if self.flags.cond(CC) {
            self.jump(self.eip.wrapping_add(i.imm), i.o32())?;
        }
        Ok(())
    }

    /// CALL rel16/32 (E8).
    pub(crate) fn call_rel<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let ret = self.eip;
        self.push(bus, i.osize(), ret)?;
        self.jump(ret.wrapping_add(i.imm), i.o32())
    }

    /// JMP rel8/16/32 (E9, EB).
    pub(crate) fn jmp_rel<B: Bus>(&mut self, _: &mut B, i: &Insn) -> Result<(), Fault> {
        self.jump(self.eip.wrapping_add(i.imm), i.o32())
    }

    /// RET / RET imm16.
    pub(crate) fn ret_near<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let size = i.osize();
        let t = self.peek(bus, 0, size)?;
        let t = if i.o32() { t } else { t & 0xFFFF };
        self.jump(t, i.o32())?;
        let release = size as u32 + if i.op == 0xC2 { i.imm } else { 0 };
        let sp = self.sp().wrapping_add(release);
        self.set_sp(sp);
        Ok(())
    }

    /// RETF / RETF imm16.
    pub(crate) fn ret_far<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let imm = if i.op == 0xCA { i.imm } else { 0 };
        self.far_ret(bus, i.o32(), imm)
    }

    /// IRET / IRETD.
    pub(crate) fn iret<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        if self.protected() {
            self.iret_pm(bus, i.o32())?;
            self.attention = true;
            return Ok(());
        }
        let size = i.osize();
        let t = self.peek(bus, 0, size)?;
        let cs = self.peek(bus, size as u32, 2)?;
        let fl = self.peek(bus, 2 * size as u32, size)?;
        self.jump_far_real(cs as u16, t, i.o32())?;
        let sp = self.sp().wrapping_add(3 * size as u32);
        self.set_sp(sp);
        self.write_flags(fl, size);
        self.attention = true;
        Ok(())
    }

    /// LOOPNE, LOOPE, LOOP, JCXZ (E0–E3, `K` = opcode − E0); the counter is CX or ECX by
    /// address size.
    pub(crate) fn loop_jcxz<const K: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let mask = if i.a32() { u32::MAX } else { 0xFFFF };
        let cx = self.regs[reg::CX as usize];
        let taken = if K == 3 {
            cx & mask == 0
        } else {
            let c = cx.wrapping_sub(1) & mask;
            self.regs[reg::CX as usize] = (cx & !mask) | c;
            match K {
                0 => c != 0 && !self.flags.zf(),
                1 => c != 0 && self.flags.zf(),
                _ => c != 0,
            }
        };
        if taken {
            self.cycles += self.taken_penalty();
            self.jump(self.eip.wrapping_add(i.imm), i.o32())?;
        }
        Ok(())
    }

    /// IN/OUT with an immediate port or DX.
    pub(crate) fn exec_io<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let size = if i.op & 1 == 0 { 1 } else { i.osize() };
        let port = if i.op < 0xE8 {
            i.imm as u16
        } else {
            self.r16(reg::DX)
        };
        self.check_io(bus, port, size)?;
        if i.op & 2 == 0 {
            let v = bus.io_read(port, size, self.now());
            self.set_reg(reg::AX, size, v);
        } else {
            let v = self.reg(reg::AX, size);
            bus.io_write(port, size, v, self.now());
        }
        self.attention = true;
        Ok(())
    }

    /// PUSHF/PUSHFD. In virtual-8086 mode with IOPL < 3: #GP(0), or with CR4.VME (16-bit) an
    /// image with VIF in place of IF and IOPL 3.
    pub(crate) fn pushf<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let size = i.osize();
        // PUSHFD clears VM and RF in the image.
        let mut v = self.flags.get() & !(flags::VM | flags::RF);
        if self.v86() && self.flags.iopl() < 3 {
            if i.o32() || self.cr[4] & crate::cpu::mmu::cr4::VME == 0 {
                return Err(Fault::gp(0));
            }
            v = (v & !flags::IF) | flags::IOPL;
            if self.flags.get() & flags::VIF != 0 {
                v |= flags::IF;
            }
        }
        self.push(bus, size, v)
    }

    /// POPF/POPFD by the rules of the mode (IOPL and IF protected outside CPL 0 / IOPL; in
    /// virtual-8086 mode IOPL-sensitive, or VIF with CR4.VME).
    pub(crate) fn popf<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let size = i.osize();
        if !self.protected() {
            let v = self.pop(bus, size)?;
            self.write_flags(v, size);
            self.flags_changed();
            self.attention = true;
            return Ok(());
        }
        if self.v86() && self.flags.iopl() < 3 {
            if i.o32() || self.cr[4] & crate::cpu::mmu::cr4::VME == 0 {
                return Err(Fault::gp(0));
            }
            let v = self.peek(bus, 0, 2)?;
            let old = self.flags.get();
            if v & flags::TF != 0 || (v & flags::IF != 0 && old & flags::VIP != 0) {
                return Err(Fault::gp(0));
            }
            self.pop(bus, 2)?;
            let keep = flags::IF | flags::IOPL | 0xFFFF_0000;
            let mut new = (old & keep) | (v & !keep);
            new = (new & !flags::VIF) | if v & flags::IF != 0 { flags::VIF } else { 0 };
            self.flags.set((new & !0x8028) | flags::RESERVED1);
            self.attention = true;
            return Ok(());
        }
        let v = self.pop(bus, size)?;
        let cpl = self.cpl;
        let fl = if self.v86() {
            v & !flags::IOPL | self.flags.get() & flags::IOPL
        } else {
            v
        };
        self.write_flags_pm(fl, size, cpl, false);
        self.attention = true;
        Ok(())
    }
}
