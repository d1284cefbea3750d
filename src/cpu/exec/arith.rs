//! Arithmetic and logic: the eight ALU operations, INC/DEC/NEG/NOT, multiply and divide,
//! BCD adjusts, shifts and rotates.

use crate::cpu::flags::{self, Lazy};
use crate::cpu::{reg, Bus, Cpu, CpuModel, Fault, Insn};

#[inline(always)]
pub(crate) fn mask(size: u8) -> u32 {
    u32::MAX >> (32 - size as u32 * 8)
}

#[inline(always)]
pub(crate) fn sign(size: u8) -> u32 {
    1 << (size as u32 * 8 - 1)
}

/// Sign-extends a `size`-byte value to 32 bits.
#[inline(always)]
pub(crate) fn sext(v: u32, size: u8) -> i32 {
    match size {
        1 => v as i8 as i32,
        2 => v as i16 as i32,
        _ => v as i32,
    }
}

impl Cpu {
    /// One of ADD OR ADC SBB AND SUB XOR CMP (`kind` = ModRM reg encoding); returns the result.
    #[inline(always)]
    pub(crate) fn alu(&mut self, kind: u8, size: u8, a: u32, b: u32) -> u32 {
        let m = mask(size);
        match kind {
            0 => {
                let r = a.wrapping_add(b);
                self.flags.set_lazy(Lazy::Add, size, a, b, r);
                r & m
            }
            1 => {
                let r = a | b;
                self.flags.set_lazy(Lazy::Logic, size, a, b, r);
                r
            }
            2 => {
                let c = self.flags.cf() as u32;
                let wide = a as u64 + b as u64 + c as u64;
                let r = wide as u32 & m;
                let of = (a ^ r) & (b ^ r) & sign(size) != 0;
                self.flags.set_szp(size, r, wide > m as u64, (a ^ b ^ r) & 0x10 != 0, of);
                r
            }
            3 => {
                let c = self.flags.cf() as u32;
                let r = a.wrapping_sub(b).wrapping_sub(c) & m;
                let cf = (a as u64) < b as u64 + c as u64;
                let of = (a ^ b) & (a ^ r) & sign(size) != 0;
                self.flags.set_szp(size, r, cf, (a ^ b ^ r) & 0x10 != 0, of);
                r
            }
            4 => {
                let r = a & b;
                self.flags.set_lazy(Lazy::Logic, size, a, b, r);
                r
            }
            6 => {
                let r = a ^ b;
                self.flags.set_lazy(Lazy::Logic, size, a, b, r);
                r
            }
            _ => {
                // SUB and CMP
                let r = a.wrapping_sub(b);
                self.flags.set_lazy(Lazy::Sub, size, a, b, r);
                r & m
            }
        }
    }

    /// ALU opcodes 00–3D: `r/m,reg`, `reg,r/m` and `acc,imm` forms.
    #[inline(always)]
    pub(crate) fn exec_alu<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let op = i.op as u8;
        let kind = op >> 3;
        let size = if op & 1 == 0 { 1 } else { i.osize() };
        match op & 7 {
            0 | 1 => {
                let b = self.reg(i.reg(), size);
                if i.is_reg() {
                    let a = self.reg(i.rm(), size);
                    let r = self.alu(kind, size, a, b);
                    if kind != 7 {
                        self.set_reg(i.rm(), size, r);
                    }
                } else {
                    let off = self.ea(i);
                    let a = self.read_mem(bus, i.seg, off, size)?;
                    let r = self.alu(kind, size, a, b);
                    if kind != 7 {
                        self.write_mem(bus, i.seg, off, size, r)?;
                    }
                }
            }
            2 | 3 => {
                let b = self.read_rm(bus, i, size)?;
                let a = self.reg(i.reg(), size);
                let r = self.alu(kind, size, a, b);
                if kind != 7 {
                    self.set_reg(i.reg(), size, r);
                }
            }
            _ => {
                let a = self.reg(reg::AX, size);
                let r = self.alu(kind, size, a, i.imm & mask(size));
                if kind != 7 {
                    self.set_reg(reg::AX, size, r);
                }
            }
        }
        Ok(())
    }

    /// Group 1 (80–83): ALU op with an immediate.
    #[inline(always)]
    pub(crate) fn exec_grp1<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let size = if i.op & 1 == 0 { 1 } else { i.osize() };
        let b = if i.op == 0x83 { sext(i.imm, 1) as u32 & mask(size) } else { i.imm & mask(size) };
        let kind = i.reg();
        if i.is_reg() {
            let a = self.reg(i.rm(), size);
            let r = self.alu(kind, size, a, b);
            if kind != 7 {
                self.set_reg(i.rm(), size, r);
            }
        } else {
            let off = self.ea(i);
            let a = self.read_mem(bus, i.seg, off, size)?;
            let r = self.alu(kind, size, a, b);
            if kind != 7 {
                self.write_mem(bus, i.seg, off, size, r)?;
            }
        }
        Ok(())
    }

    /// INC (`dec == false`) or DEC of a value; returns the result.
    #[inline(always)]
    pub(crate) fn incdec(&mut self, size: u8, a: u32, dec: bool) -> u32 {
        if dec {
            let r = a.wrapping_sub(1) & mask(size);
            self.flags.set_lazy(Lazy::Dec, size, a, 1, r);
            r
        } else {
            let r = a.wrapping_add(1) & mask(size);
            self.flags.set_lazy(Lazy::Inc, size, a, 1, r);
            r
        }
    }

    /// Group 3 (F6/F7): TEST NOT NEG MUL IMUL DIV IDIV.
    pub(crate) fn exec_grp3<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let size = if i.op & 1 == 0 { 1 } else { i.osize() };
        let m = mask(size);
        match i.reg() {
            0 | 1 => {
                let a = self.read_rm(bus, i, size)?;
                self.alu(4, size, a, i.imm & m);
            }
            2 | 3 => {
                let off = if i.is_reg() { 0 } else { self.ea(i) };
                let a = if i.is_reg() {
                    self.reg(i.rm(), size)
                } else {
                    self.read_mem(bus, i.seg, off, size)?
                };
                let r = if i.reg() == 2 {
                    !a & m
                } else {
                    let r = 0u32.wrapping_sub(a);
                    self.flags.set_lazy(Lazy::Sub, size, 0, a, r);
                    r & m
                };
                if i.is_reg() {
                    self.set_reg(i.rm(), size, r);
                } else {
                    self.write_mem(bus, i.seg, off, size, r)?;
                }
            }
            4 | 5 => {
                let b = self.read_rm(bus, i, size)?;
                self.multiply(i, size, b, i.reg() == 5);
            }
            _ => {
                let b = self.read_rm(bus, i, size)?;
                self.divide(i, size, b, i.reg() == 7)?;
            }
        }
        Ok(())
    }

    /// Negates a result the way the 8086 microcode does when a REP prefix precedes IMUL/IDIV.
    #[inline]
    fn rep_negates(&self, i: &Insn) -> bool {
        self.model == CpuModel::I8086 && i.pfx & (crate::cpu::decode::P_REP | crate::cpu::decode::P_REPNE) != 0
    }

    /// MUL/IMUL with the accumulator: AX = AL*src, DX:AX = AX*src, EDX:EAX = EAX*src.
    fn multiply(&mut self, i: &Insn, size: u8, b: u32, signed: bool) {
        let a = self.reg(reg::AX, size);
        let bits = size as u32 * 8;
        let (lo, hi, overflow) = if signed {
            let mut p = sext(a, size) as i64 * sext(b, size) as i64;
            if self.rep_negates(i) {
                p = -p;
            }
            let lo = p as u64 as u32 & mask(size);
            let hi = (p >> bits) as u64 as u32 & mask(size);
            (lo, hi, p != sext(lo, size) as i64)
        } else {
            let p = a as u64 * b as u64;
            let lo = p as u32 & mask(size);
            let hi = (p >> bits) as u32 & mask(size);
            (lo, hi, hi != 0)
        };
        match size {
            1 => self.set_r16(reg::AX, (hi << 8 | lo) as u16),
            _ => {
                self.set_reg(reg::AX, size, lo);
                self.set_reg(reg::DX, size, hi);
            }
        }
        // SF/ZF/PF are undefined; the 8086 leaves them from its final internal add, later
        // chips from the low half of the product. Either way: derive them from the low half.
        let zf = if self.model == CpuModel::I8086 { lo == 0 && hi == 0 } else { lo == 0 };
        let r = if self.model == CpuModel::I8086 { hi } else { lo };
        self.flags.set_arith(
            overflow,
            flags::parity(r),
            false,
            zf,
            r & sign(size) != 0,
            overflow,
        );
    }

    /// DIV/IDIV with the accumulator; #DE on a zero divisor or a quotient that does not fit.
    fn divide(&mut self, i: &Insn, size: u8, b: u32, signed: bool) -> Result<(), Fault> {
        if b == 0 {
            return Err(Fault::DE);
        }
        let bits = size as u32 * 8;
        let (lo, hi) = match size {
            1 => (self.r16(reg::AX) as u32 & 0xFF, self.r16(reg::AX) as u32 >> 8),
            _ => (self.reg(reg::AX, size), self.reg(reg::DX, size)),
        };
        let dividend = (hi as u64) << bits | lo as u64;
        let (q, r) = if signed {
            let n = ((dividend << (64 - 2 * bits)) as i64) >> (64 - 2 * bits);
            let d = sext(b, size) as i64;
            let mut q = n / d;
            let r = n % d;
            // The 8086 rejects the most negative quotient; the 286 and later accept it.
            let min = if self.model == CpuModel::I8086 || self.model == CpuModel::I186 {
                -(1i64 << (bits - 1)) + 1
            } else {
                -(1i64 << (bits - 1))
            };
            if q > (1i64 << (bits - 1)) - 1 || q < min {
                return Err(Fault::DE);
            }
            if self.rep_negates(i) {
                q = -q;
            }
            (q as u64 as u32 & mask(size), r as u64 as u32 & mask(size))
        } else {
            let q = dividend / b as u64;
            if q > mask(size) as u64 {
                return Err(Fault::DE);
            }
            (q as u32, (dividend % b as u64) as u32)
        };
        match size {
            1 => self.set_r16(reg::AX, (r << 8 | q) as u16),
            _ => {
                self.set_reg(reg::AX, size, q);
                self.set_reg(reg::DX, size, r);
            }
        }
        Ok(())
    }

    /// Two- and three-operand IMUL (69, 6B, 0F AF): `reg = src * imm` / `reg = reg * src`.
    pub(crate) fn imul3(&mut self, size: u8, a: u32, b: u32) -> u32 {
        let p = sext(a, size) as i64 * sext(b, size) as i64;
        let lo = p as u64 as u32 & mask(size);
        let of = p != sext(lo, size) as i64;
        self.flags.set_szp(size, lo, of, false, of);
        lo
    }

    /// DAA / DAS.
    pub(crate) fn decimal_adjust(&mut self, sub: bool) {
        let al = self.r8(reg::AX) as u32;
        let cf = self.flags.cf();
        let af = self.flags.af();
        let mut v = al;
        let mut borrow = false;
        let mut new_af = false;
        if al & 0xF > 9 || af {
            v = if sub { v.wrapping_sub(6) } else { v + 6 };
            // The 8086 does not carry the low-nibble borrow into CF.
            borrow = sub && al < 6 && self.model != CpuModel::I8086;
            new_af = true;
        }
        // The 8086 compares against 0x9F when AF was set (its adjust uses the pre-adjust value).
        let limit = if self.model == CpuModel::I8086 && af { 0x9F } else { 0x99 };
        let high = al > limit || cf;
        if high {
            v = if sub { v.wrapping_sub(0x60) } else { v + 0x60 };
        }
        let new_cf = high || borrow;
        let r = v & 0xFF;
        self.set_r8(reg::AX, r as u8);
        let of = if sub { (al ^ r) & al & 0x80 != 0 } else { (al ^ r) & r & 0x80 != 0 };
        self.flags.set_szp(1, r, new_cf, new_af, of);
    }

    /// AAA / AAS.
    pub(crate) fn ascii_adjust(&mut self, sub: bool) {
        let al = self.r8(reg::AX);
        let ah = self.r8(reg::AX + 4);
        let adjust = al & 0xF > 9 || self.flags.af();
        let mut new_al = al;
        if adjust {
            if self.model == CpuModel::I8086 {
                new_al = if sub { al.wrapping_sub(6) } else { al.wrapping_add(6) };
                let new_ah = if sub { ah.wrapping_sub(1) } else { ah.wrapping_add(1) };
                self.set_r8(reg::AX + 4, new_ah);
            } else {
                let ax = self.r16(reg::AX);
                let ax = if sub { ax.wrapping_sub(6).wrapping_sub(0x100) } else { ax.wrapping_add(0x106) };
                new_al = ax as u8;
                self.set_r8(reg::AX + 4, (ax >> 8) as u8);
            }
        }
        self.set_r8(reg::AX, new_al & 0x0F);
        // OF/SF/ZF/PF are undefined: model them from the adjusted AL before masking.
        let r = if self.model == CpuModel::I8086 { new_al } else { new_al & 0x0F };
        let of = if sub { false } else { (al ^ new_al) & new_al & 0x80 != 0 };
        self.flags.set_szp(1, r as u32, adjust, adjust, of && adjust);
    }

    /// AAM imm8.
    pub(crate) fn aam(&mut self, base: u8) -> Result<(), Fault> {
        if base == 0 {
            // The 8086 microcode has already set the flags for a zero result when it traps.
            // The 286 leaves parity and zero of AL with SF clear.
            let al = self.r8(reg::AX) as u32;
            match self.model {
                CpuModel::I8086 => self.flags.set_szp(1, 0, false, false, false),
                CpuModel::I186 | CpuModel::I286 => {
                    self.flags.set_arith(false, flags::parity(al), false, al == 0, false, false)
                }
                _ => {}
            }
            return Err(Fault::DE);
        }
        let al = self.r8(reg::AX);
        let r = al % base;
        self.set_r16(reg::AX, ((al / base) as u16) << 8 | r as u16);
        self.flags.set_szp(1, r as u32, false, false, false);
        Ok(())
    }

    /// AAD imm8.
    pub(crate) fn aad(&mut self, base: u8) {
        let al = self.r8(reg::AX) as u32;
        let ah = self.r8(reg::AX + 4) as u32;
        let prod = (ah * base as u32) & 0xFF;
        let r = al.wrapping_add(prod);
        // Flags as the final 8-bit add of the microcode.
        self.flags.set_lazy(Lazy::Add, 1, al, prod, r);
        self.set_r16(reg::AX, (r & 0xFF) as u16);
    }

    /// Shift/rotate group (C0/C1/D0–D3): `kind` is the ModRM reg field. Returns the result;
    /// a zero count changes nothing (flags included).
    pub(crate) fn shift(&mut self, kind: u8, size: u8, a: u32, count: u32) -> u32 {
        let count = if self.model == CpuModel::I8086 { count & 0xFF } else { count & 0x1F };
        if count == 0 {
            return a;
        }
        let bits = size as u32 * 8;
        let m = mask(size) as u64;
        let msb = |v: u64| (v >> (bits - 1)) & 1 != 0;
        let a64 = a as u64 & m;
        let cf_in = self.flags.cf();
        let (r, cf, of): (u64, bool, bool) = match kind {
            0 => {
                // ROL
                let c = count % bits;
                let r = ((a64 << c) | (a64 >> ((bits - c) % bits))) & m;
                let cf = r & 1 != 0;
                (r, cf, msb(r) != cf)
            }
            1 => {
                // ROR
                let c = count % bits;
                let r = ((a64 >> c) | (a64 << ((bits - c) % bits))) & m;
                (r, msb(r), msb(r) != ((r >> (bits - 2)) & 1 != 0))
            }
            2 | 3 => {
                // RCL / RCR through carry: a (bits+1)-bit rotation.
                let c = count % (bits + 1);
                let mut v = a64;
                let mut cf = cf_in;
                for _ in 0..c {
                    if kind == 2 {
                        let out = msb(v);
                        v = ((v << 1) | cf as u64) & m;
                        cf = out;
                    } else {
                        let out = v & 1 != 0;
                        v = (v >> 1) | (cf as u64) << (bits - 1);
                        cf = out;
                    }
                }
                let of = if kind == 2 { msb(v) != cf } else { msb(v) != ((v >> (bits - 2)) & 1 != 0) };
                (v, cf, of)
            }
            6 if self.model == CpuModel::I8086 => {
                // SETMO: the 8086's undocumented "set to minus one".
                let r = m;
                self.flags.set_szp(size, r as u32, false, false, false);
                return r as u32;
            }
            4 | 6 => {
                // SHL/SAL
                let r = if count >= 64 { 0 } else { (a64 << count) & m };
                let cf = count <= bits && (a64 >> (bits - count)) & 1 != 0;
                let of = msb(r) != cf;
                self.flags.set_szp(size, r as u32, cf, false, of);
                return r as u32;
            }
            5 => {
                // SHR
                let r = if count >= 64 { 0 } else { a64 >> count };
                let cf = count <= bits && (a64 >> (count - 1)) & 1 != 0;
                let of = count == 1 && msb(a64);
                self.flags.set_szp(size, r as u32, cf, false, of);
                return r as u32;
            }
            _ => {
                // SAR
                let s = sext(a, size) as i64;
                let c = count.min(bits);
                let r = (s >> c) as u64 & m;
                let cf = (s >> (c - 1)) & 1 != 0;
                self.flags.set_szp(size, r as u32, cf, false, false);
                return r as u32;
            }
        };
        // Rotates change only CF and OF.
        self.flags.assign(flags::CF, cf);
        self.flags.assign(flags::OF, of);
        r as u32
    }

    /// Shift group opcodes C0, C1, D0–D3.
    pub(crate) fn exec_shift<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let size = if i.op & 1 == 0 { 1 } else { i.osize() };
        let count = match i.op {
            0xC0 | 0xC1 => i.imm & 0xFF,
            0xD0 | 0xD1 => 1,
            _ => self.r8(reg::CX) as u32,
        };
        if i.is_reg() {
            let a = self.reg(i.rm(), size);
            let r = self.shift(i.reg(), size, a, count);
            self.set_reg(i.rm(), size, r);
        } else {
            let off = self.ea(i);
            let a = self.read_mem(bus, i.seg, off, size)?;
            let r = self.shift(i.reg(), size, a, count);
            self.write_mem(bus, i.seg, off, size, r)?;
        }
        if self.model == CpuModel::I8086 {
            self.cycles += 4 * count as u64;
        } else {
            self.cycles += count as u64 & 0x1F;
        }
        Ok(())
    }
}
