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

/// The ALU kind of TEST: an AND that stores no result (kinds 0–7 are the ModRM `reg`
/// encodings ADD OR ADC SBB AND SUB XOR CMP).
pub(crate) const TEST: u8 = 8;

/// Whether ALU kind `k` stores its result (CMP and TEST only set flags).
#[inline(always)]
const fn stores(k: u8) -> bool {
    k != 7 && k != TEST
}

impl Cpu {
    /// One of ADD OR ADC SBB AND SUB XOR CMP (`kind` = ModRM reg encoding) or TEST; `a` and `b`
    /// are `size`-byte values. Returns the result, truncated to `size`.
    #[inline(always)]
    pub(crate) fn alu(&mut self, kind: u8, size: u8, a: u32, b: u32) -> u32 {
        let m = mask(size);
        match kind {
            0 => {
                let r = a.wrapping_add(b) & m;
                self.flags.set_lazy(Lazy::Add, size, a, b, r);
                r
            }
            1 => {
                let r = a | b;
                self.flags.set_logic(size, r);
                r
            }
            2 => {
                let c = self.flags.cf();
                let r = a.wrapping_add(b).wrapping_add(c as u32) & m;
                self.flags
                    .set_lazy(if c { Lazy::Adc } else { Lazy::Add }, size, a, b, r);
                r
            }
            3 => {
                let c = self.flags.cf();
                let r = a.wrapping_sub(b).wrapping_sub(c as u32) & m;
                self.flags
                    .set_lazy(if c { Lazy::Sbb } else { Lazy::Sub }, size, a, b, r);
                r
            }
            4 | TEST => {
                let r = a & b;
                self.flags.set_logic(size, r);
                r
            }
            6 => {
                let r = a ^ b;
                self.flags.set_logic(size, r);
                r
            }
            _ => {
                // SUB and CMP
                let r = a.wrapping_sub(b) & m;
                self.flags.set_lazy(Lazy::Sub, size, a, b, r);
                r
            }
        }
    }

    /// `op r/m, reg` with a register r/m (00, 01, 08, …, 39; 84/85 as TEST).
    #[inline(always)]
    pub(crate) fn alu_eg_r<const K: u8, const S: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let r = self.alu(K, S, self.reg(i.rm(), S), self.reg(i.reg(), S));
        if stores(K) {
            self.set_reg(i.rm(), S, r);
        }
        Ok(())
    }

    /// `op r/m, reg` with a memory r/m.
    #[inline(always)]
    pub(crate) fn alu_eg_m<const K: u8, const S: u8, B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let off = self.ea(i);
        let b = self.reg(i.reg(), S);
        if stores(K) {
            self.modify_mem(bus, i.seg(), off, S, |cpu, a| cpu.alu(K, S, a, b))
        } else {
            let a = self.read_mem(bus, i.seg(), off, S)?;
            self.alu(K, S, a, b);
            Ok(())
        }
    }

    /// `op reg, r/m` with a register r/m (02, 03, 0A, …, 3B).
    #[inline(always)]
    pub(crate) fn alu_ge_r<const K: u8, const S: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let r = self.alu(K, S, self.reg(i.reg(), S), self.reg(i.rm(), S));
        if stores(K) {
            self.set_reg(i.reg(), S, r);
        }
        Ok(())
    }

    /// `op reg, r/m` with a memory r/m.
    #[inline(always)]
    pub(crate) fn alu_ge_m<const K: u8, const S: u8, B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let off = self.ea(i);
        self.read_mem_then(bus, i.seg(), off, S, |cpu, b| {
            let r = cpu.alu(K, S, cpu.reg(i.reg(), S), b);
            if stores(K) {
                cpu.set_reg(i.reg(), S, r);
            }
        })
    }

    /// `op AL/AX/EAX, imm` (04, 05, 0C, …, 3D; A8/A9 as TEST).
    #[inline(always)]
    pub(crate) fn alu_ai<const K: u8, const S: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let r = self.alu(K, S, self.reg(reg::AX, S), i.imm & mask(S));
        if stores(K) {
            self.set_reg(reg::AX, S, r);
        }
        Ok(())
    }

    /// The immediate of group 1: 83 sign-extends a byte, 80/81 (and F6/F7 TEST) have one of
    /// the operand size.
    #[inline(always)]
    fn grp1_imm<const S: u8>(i: &Insn) -> u32 {
        if S > 1 && i.op == 0x83 {
            sext(i.imm, 1) as u32 & mask(S)
        } else {
            i.imm & mask(S)
        }
    }

    /// Group 1 (80–83) with a register r/m.
    #[inline(always)]
    pub(crate) fn alu_ei_r<const K: u8, const S: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let r = self.alu(K, S, self.reg(i.rm(), S), Self::grp1_imm::<S>(i));
        if stores(K) {
            self.set_reg(i.rm(), S, r);
        }
        Ok(())
    }

    /// Group 1 with a memory r/m.
    #[inline(always)]
    pub(crate) fn alu_ei_m<const K: u8, const S: u8, B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let off = self.ea(i);
        let b = Self::grp1_imm::<S>(i);
        if stores(K) {
            self.modify_mem(bus, i.seg(), off, S, |cpu, a| cpu.alu(K, S, a, b))
        } else {
            let a = self.read_mem(bus, i.seg(), off, S)?;
            self.alu(K, S, a, b);
            Ok(())
        }
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

    /// INC r / DEC r (40–4F): the register is in the opcode.
    #[inline(always)]
    pub(crate) fn incdec_o<const DEC: bool, const S: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let r = (i.op & 7) as u8;
        let v = self.incdec(S, self.reg(r, S), DEC);
        self.set_reg(r, S, v);
        Ok(())
    }

    /// INC r/m / DEC r/m (FE, FF /0 /1) with a register r/m.
    #[inline(always)]
    pub(crate) fn incdec_e_r<const DEC: bool, const S: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let v = self.incdec(S, self.reg(i.rm(), S), DEC);
        self.set_reg(i.rm(), S, v);
        Ok(())
    }

    /// INC r/m / DEC r/m with a memory r/m.
    #[inline(always)]
    pub(crate) fn incdec_e_m<const DEC: bool, const S: u8, B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let off = self.ea(i);
        self.modify_mem(bus, i.seg(), off, S, |cpu, v| cpu.incdec(S, v, DEC))
    }

    /// IMUL reg, r/m, imm (69; 6B sign-extends a byte) with a register r/m.
    #[inline(always)]
    pub(crate) fn imul_gei_r<const S: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        self.imul_gei(i, self.reg(i.rm(), S), S);
        Ok(())
    }

    /// IMUL reg, r/m, imm with a memory r/m.
    #[inline(always)]
    pub(crate) fn imul_gei_m<const S: u8, B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let off = self.ea(i);
        let a = self.read_mem(bus, i.seg(), off, S)?;
        self.imul_gei(i, a, S);
        Ok(())
    }

    /// IMUL reg, r/m (0F AF) with a register r/m.
    #[inline(always)]
    pub(crate) fn imul_ge_r<const S: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let r = self.imul3(S, self.reg(i.reg(), S), self.reg(i.rm(), S));
        self.set_reg(i.reg(), S, r);
        Ok(())
    }

    /// IMUL reg, r/m (0F AF) with a memory r/m.
    #[inline(always)]
    pub(crate) fn imul_ge_m<const S: u8, B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let off = self.ea(i);
        self.read_mem_then(bus, i.seg(), off, S, |cpu, b| {
            let r = cpu.imul3(S, cpu.reg(i.reg(), S), b);
            cpu.set_reg(i.reg(), S, r);
        })
    }

    #[inline(always)]
    fn imul_gei(&mut self, i: &Insn, a: u32, size: u8) {
        let b = if i.op == 0x6B {
            sext(i.imm, 1) as u32
        } else {
            i.imm
        };
        let r = self.imul3(size, a, b);
        self.set_reg(i.reg(), size, r);
    }

    /// NOT (`neg == false`) or NEG of a value; returns the result.
    #[inline(always)]
    fn not_neg(&mut self, size: u8, a: u32, neg: bool) -> u32 {
        if neg {
            let r = 0u32.wrapping_sub(a) & mask(size);
            self.flags.set_lazy(Lazy::Sub, size, 0, a, r);
            r
        } else {
            !a & mask(size)
        }
    }

    /// Group 3 (F6/F7) without TEST, which has its own handler: NOT NEG MUL IMUL DIV IDIV.
    pub(crate) fn exec_grp3<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let size = if i.op & 1 == 0 { 1 } else { i.osize() };
        match i.reg() {
            0 | 1 => unreachable!("TEST r/m, imm has its own handler (handlers::select)"),
            2 | 3 => {
                let neg = i.reg() == 3;
                if i.is_reg() {
                    let r = self.not_neg(size, self.reg(i.rm(), size), neg);
                    self.set_reg(i.rm(), size, r);
                } else {
                    let off = self.ea(i);
                    self.modify_mem(bus, i.seg(), off, size, |cpu, a| cpu.not_neg(size, a, neg))?;
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
        self.model == CpuModel::I8086
            && i.pfx & (crate::cpu::decode::P_REP | crate::cpu::decode::P_REPNE) != 0
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
        let zf = if self.model == CpuModel::I8086 {
            lo == 0 && hi == 0
        } else {
            lo == 0
        };
        let r = if self.model == CpuModel::I8086 {
            hi
        } else {
            lo
        };
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
            1 => (
                self.r16(reg::AX) as u32 & 0xFF,
                self.r16(reg::AX) as u32 >> 8,
            ),
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
    #[inline(always)]
    pub(crate) fn imul3(&mut self, size: u8, a: u32, b: u32) -> u32 {
        let lo = a.wrapping_mul(b) & mask(size);
        // CF and OF (whether the product fits) are computed when read.
        self.flags.set_lazy(Lazy::Imul, size, a, b, lo);
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
        let limit = if self.model == CpuModel::I8086 && af {
            0x9F
        } else {
            0x99
        };
        let high = al > limit || cf;
        if high {
            v = if sub { v.wrapping_sub(0x60) } else { v + 0x60 };
        }
        let new_cf = high || borrow;
        let r = v & 0xFF;
        self.set_r8(reg::AX, r as u8);
        let of = if sub {
            (al ^ r) & al & 0x80 != 0
        } else {
            (al ^ r) & r & 0x80 != 0
        };
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
                new_al = if sub {
                    al.wrapping_sub(6)
                } else {
                    al.wrapping_add(6)
                };
                let new_ah = if sub {
                    ah.wrapping_sub(1)
                } else {
                    ah.wrapping_add(1)
                };
                self.set_r8(reg::AX + 4, new_ah);
            } else {
                let ax = self.r16(reg::AX);
                let ax = if sub {
                    ax.wrapping_sub(6).wrapping_sub(0x100)
                } else {
                    ax.wrapping_add(0x106)
                };
                new_al = ax as u8;
                self.set_r8(reg::AX + 4, (ax >> 8) as u8);
            }
        }
        self.set_r8(reg::AX, new_al & 0x0F);
        // OF/SF/ZF/PF are undefined: model them from the adjusted AL before masking.
        let r = if self.model == CpuModel::I8086 {
            new_al
        } else {
            new_al & 0x0F
        };
        let of = if sub {
            false
        } else {
            (al ^ new_al) & new_al & 0x80 != 0
        };
        self.flags
            .set_szp(1, r as u32, adjust, adjust, of && adjust);
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
                    self.flags
                        .set_arith(false, flags::parity(al), false, al == 0, false, false)
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
    #[inline(always)]
    pub(crate) fn shift(&mut self, kind: u8, size: u8, a: u32, count: u32) -> u32 {
        let count = if self.model == CpuModel::I8086 {
            count & 0xFF
        } else {
            count & 0x1F
        };
        if count == 0 {
            return a;
        }
        let bits = size as u32 * 8;
        let m = mask(size) as u64;
        let msb = |v: u64| (v >> (bits - 1)) & 1 != 0;
        let a64 = a as u64 & m;
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
                let mut cf = self.flags.cf();
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
                let of = if kind == 2 {
                    msb(v) != cf
                } else {
                    msb(v) != ((v >> (bits - 2)) & 1 != 0)
                };
                (v, cf, of)
            }
            6 if self.model == CpuModel::I8086 => {
                // SETMO: the 8086's undocumented "set to minus one".
                let r = m;
                self.flags.set_szp(size, r as u32, false, false, false);
                return r as u32;
            }
            // The shifts leave their flags to be computed when read (see `Lazy::Shl`).
            4 | 6 => {
                // SHL/SAL
                let r = if count >= 64 { 0 } else { (a64 << count) & m };
                self.flags.set_lazy(Lazy::Shl, size, a, count, r as u32);
                return r as u32;
            }
            5 => {
                // SHR
                let r = if count >= 64 { 0 } else { a64 >> count };
                self.flags.set_lazy(Lazy::Shr, size, a, count, r as u32);
                return r as u32;
            }
            _ => {
                // SAR
                let r = (sext(a, size) as i64 >> count.min(bits)) as u64 & m;
                self.flags.set_lazy(Lazy::Sar, size, a, count, r as u32);
                return r as u32;
            }
        };
        // Rotates change only CF and OF.
        self.flags.set_cf_of(cf, of);
        r as u32
    }

    /// The count of a shift-group opcode: an immediate (C0, C1), one (D0, D1) or CL (D2, D3).
    #[inline(always)]
    fn shift_count(&self, i: &Insn) -> u32 {
        match i.op {
            0xC0 | 0xC1 => i.imm & 0xFF,
            0xD0 | 0xD1 => 1,
            _ => self.r8(reg::CX) as u32,
        }
    }

    /// Extra clocks of a shift by `count`.
    #[inline(always)]
    fn shift_cycles(&mut self, count: u32) {
        if self.model == CpuModel::I8086 {
            self.cycles += 4 * count as u64;
        } else {
            self.cycles += count as u64 & 0x1F;
        }
    }

    /// Shift group (C0, C1, D0–D3) with a register r/m.
    #[inline(always)]
    pub(crate) fn shift_e_r<const K: u8, const S: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let count = self.shift_count(i);
        let r = self.shift(K, S, self.reg(i.rm(), S), count);
        self.set_reg(i.rm(), S, r);
        self.shift_cycles(count);
        Ok(())
    }

    /// Shift group with a register r/m and an immediate count (C0, C1: 80186 and later, which
    /// use the count's low five bits; the 8086 decodes these opcodes as RET).
    #[inline(always)]
    pub(crate) fn shift_e_r_imm<const K: u8, const S: u8, B: Bus>(
        &mut self,
        _: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let count = i.imm & 0x1F;
        if count == 0 {
            return Ok(());
        }
        let r = self.shift(K, S, self.reg(i.rm(), S), count);
        self.set_reg(i.rm(), S, r);
        self.cycles += count as u64;
        Ok(())
    }

    /// Shift group with a memory r/m.
    #[inline(always)]
    pub(crate) fn shift_e_m<const K: u8, const S: u8, B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<(), Fault> {
        let count = self.shift_count(i);
        let off = self.ea(i);
        self.modify_mem(bus, i.seg(), off, S, |cpu, a| cpu.shift(K, S, a, count))?;
        self.shift_cycles(count);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::cpu::flags::{parity, ARITH, CF, OF, PF, SF, ZF};
    use crate::cpu::{Cpu, CpuModel};
    use crate::difftest::rng::Rng;

    /// Two- and three-operand IMUL: the truncated product, CF = OF = whether it fits, AF = 0,
    /// the rest from the result.
    #[test]
    fn imul_flags_say_whether_the_product_fits() {
        let mut cpu = Cpu::new(CpuModel::I386);
        let mut rng = Rng::new(1);
        for n in 0..20_000u32 {
            let seed = rng.next_u64();
            let size = [2u8, 4][n as usize % 2];
            let bits = size as u32 * 8;
            let m = u32::MAX >> (32 - bits);
            // Small factors as often as large ones, so that both outcomes occur.
            let shrink = (seed >> 60) as u32 % bits;
            let (a, b) = (
                (seed as u32 & m) >> shrink,
                ((seed >> 32) as u32 & m) >> shrink,
            );
            let wide = |v: u32| ((v << (32 - bits)) as i32 >> (32 - bits)) as i64;
            let p = wide(a) * wide(b);
            let lo = p as u32 & m;
            let fits = wide(lo) == p;
            cpu.flags.set(0x2);
            let r = cpu.imul3(size, a, b);
            let flag = |on: bool, f: u32| if on { f } else { 0 };
            let want = flag(!fits, CF | OF)
                | flag(lo == 0, ZF)
                | flag(lo >> (bits - 1) != 0, SF)
                | flag(parity(lo), PF);
            assert_eq!(
                (r, cpu.flags.get() & ARITH),
                (lo, want),
                "{a:#x} * {b:#x}, size {size}"
            );
        }
    }

    /// SHL, SHR and SAR (results and lazy flags) against shifting one bit at a time, as the SDM
    /// describes them; OF for counts above 1, which it leaves undefined, as this interpreter
    /// gives it (SHL compares CF with the sign, SHR and SAR clear it). The 8086 shifts by all
    /// of CL, later models by its low five bits.
    #[test]
    fn shifts_match_bit_by_bit_shifting() {
        let mut cpus = [Cpu::new(CpuModel::I8086), Cpu::new(CpuModel::I386)];
        let mut rng = Rng::new(2);
        for n in 0..60_000u32 {
            let seed = rng.next_u64();
            let model = [CpuModel::I8086, CpuModel::I386][n as usize % 2];
            let size = [1u8, 2, 4][(n / 2) as usize % 3];
            let kind = [4u8, 5, 7][(n / 6) as usize % 3];
            let count = 1 + (seed >> 40) as u32 % 255;
            let bits = size as u32 * 8;
            let m = u32::MAX >> (32 - bits);
            let s = 1u32 << (bits - 1);
            let a = seed as u32 & m;
            let times = if model == CpuModel::I8086 {
                count
            } else {
                count & 0x1F
            };
            let cpu = &mut cpus[n as usize % 2];
            cpu.flags.set(0x2 | CF | OF);
            let before = cpu.flags.get();
            let r = cpu.shift(kind, size, a, count);
            if times == 0 {
                assert_eq!(
                    (r, cpu.flags.get()),
                    (a, before),
                    "a zero count changes nothing"
                );
                continue;
            }
            let (mut v, mut cf) = (a, false);
            for _ in 0..times {
                if kind == 4 {
                    cf = v & s != 0;
                    v = (v << 1) & m;
                } else {
                    cf = v & 1 != 0;
                    v = if kind == 5 {
                        v >> 1
                    } else {
                        (v >> 1) | (v & s)
                    };
                }
            }
            let of = match kind {
                4 => (v & s != 0) != cf,
                5 => times == 1 && a & s != 0,
                _ => false,
            };
            let flag = |on: bool, f: u32| if on { f } else { 0 };
            let want = flag(cf, CF)
                | flag(of, OF)
                | flag(v == 0, ZF)
                | flag(v & s != 0, SF)
                | flag(parity(v), PF);
            let what = format!("{model:?} kind {kind} size {size}: {a:#x} by {count}");
            assert_eq!((r, cpu.flags.get() & ARITH), (v, want), "{what}");
            // Setting CF and OF by hand (as CLC or a rotate does) keeps the others.
            cpu.flags.set_cf_of(!cf, of);
            assert_eq!(cpu.flags.get() & ARITH, want ^ CF, "{what}");
        }
    }
}
