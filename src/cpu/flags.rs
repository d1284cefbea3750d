//! EFLAGS with lazily evaluated arithmetic flags.
//!
//! Most instructions set the six arithmetic flags (CF, PF, AF, ZF, SF, OF) and most of those
//! results are overwritten before anything reads them. So an arithmetic instruction only records
//! *what* it did — the operation, its operands, its result and operand size — and each flag is
//! derived from that record when somebody asks (a `Jcc`, `PUSHF`, the debugger).
//!
//! The non-arithmetic bits (TF, IF, DF, IOPL, NT, …) always live in `bits`. The arithmetic bits
//! in `bits` are only meaningful while `op == Lazy::None`.
//!
//! The record is kept cheap to write, because nearly every instruction writes it and few read
//! it: operands and result are stored already truncated to the operand size (so the carry of an
//! add is just `res < a`, with no masking when it is read), a logic operation stores only its
//! result, and ADC/SBB are recorded as their own kinds instead of being evaluated eagerly (a
//! carry-in of 0 makes them plain ADD/SUB).

use super::exec::sext;
use serde::{Deserialize, Serialize};

/// Carry flag.
pub const CF: u32 = 1 << 0;
/// Reserved bit 1, always reads as 1.
pub const RESERVED1: u32 = 1 << 1;
/// Parity flag (even parity of the low result byte).
pub const PF: u32 = 1 << 2;
/// Auxiliary (BCD half-) carry flag.
pub const AF: u32 = 1 << 4;
/// Zero flag.
pub const ZF: u32 = 1 << 6;
/// Sign flag.
pub const SF: u32 = 1 << 7;
/// Trap flag (single step).
pub const TF: u32 = 1 << 8;
/// Interrupt enable flag.
pub const IF: u32 = 1 << 9;
/// Direction flag.
pub const DF: u32 = 1 << 10;
/// Overflow flag.
pub const OF: u32 = 1 << 11;
/// I/O privilege level (two bits).
pub const IOPL: u32 = 3 << 12;
/// Nested task.
pub const NT: u32 = 1 << 14;
/// Resume flag (386+).
pub const RF: u32 = 1 << 16;
/// Virtual-8086 mode (386+).
pub const VM: u32 = 1 << 17;
/// Alignment check (486+).
pub const AC: u32 = 1 << 18;
/// CPUID-detection bit (late 486+).
pub const ID: u32 = 1 << 21;
/// Virtual interrupt flag (VME/PVI).
pub const VIF: u32 = 1 << 19;
/// Virtual interrupt pending (VME/PVI).
pub const VIP: u32 = 1 << 20;

/// The six arithmetic flags.
pub const ARITH: u32 = CF | PF | AF | ZF | SF | OF;

/// The operation whose flags are pending.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub enum Lazy {
    /// Flags are materialised in `bits`.
    #[default]
    None,
    /// `res = a + b` (ADD, ADC with no carry in).
    Add,
    /// `res = a + b + 1` (ADC with the carry set).
    Adc,
    /// `res = a - b` (SUB, CMP, NEG, SBB with no borrow in).
    Sub,
    /// `res = a - b - 1` (SBB with the carry set).
    Sbb,
    /// INC: like Add with b = 1, CF unchanged (taken from `bits`).
    Inc,
    /// DEC: like Sub with b = 1, CF unchanged (taken from `bits`).
    Dec,
    /// AND/OR/XOR/TEST: CF = OF = AF = 0.
    Logic,
    /// CF, AF and OF are in `bits`; ZF, SF and PF come from `res` (rotates, one-operand
    /// multiplies).
    Szp,
    /// `res` is the signed product `a × b` truncated (two- and three-operand IMUL): CF = OF =
    /// the product does not fit in `res`, AF = 0.
    Imul,
    /// SHL/SAL of `a` by `b` (1 or more): CF is the last bit shifted out, OF is CF ≠ the
    /// result's sign, AF = 0.
    Shl,
    /// SHR of `a` by `b` (1 or more): CF is the last bit shifted out, OF is `a`'s sign for a
    /// count of 1 and 0 otherwise, AF = 0.
    Shr,
    /// SAR of `a` by `b` (1 or more): CF is the last bit shifted out (the sign once the count
    /// reaches the size), OF = AF = 0.
    Sar,
}

/// EFLAGS, partly lazy.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Flags {
    /// All flag bits; the arithmetic ones only when `op == Lazy::None`, plus CF for Inc/Dec
    /// and CF, AF, OF for Szp.
    pub bits: u32,
    op: Lazy,
    /// Operand size in bytes (1, 2 or 4).
    size: u8,
    /// First operand, truncated to `size` (not kept for `Logic`).
    a: u32,
    /// Second operand, truncated to `size` (not kept for `Logic`).
    b: u32,
    /// Result, truncated to `size`.
    res: u32,
}

impl Default for Flags {
    fn default() -> Self {
        Flags {
            bits: RESERVED1,
            op: Lazy::None,
            size: 1,
            a: 0,
            b: 0,
            res: 0,
        }
    }
}

#[inline(always)]
fn sign_bit(size: u8) -> u32 {
    1u32 << (size as u32 * 8 - 1)
}

#[inline(always)]
fn mask(size: u8) -> u32 {
    u32::MAX >> (32 - size as u32 * 8)
}

/// `flag` if `on`, else 0.
#[inline(always)]
fn bit(on: bool, flag: u32) -> u32 {
    if on {
        flag
    } else {
        0
    }
}

/// Even parity of the low byte.
#[inline(always)]
pub fn parity(v: u32) -> bool {
    (v as u8).count_ones() & 1 == 0
}

impl Flags {
    /// Records an arithmetic result whose flags are computed on demand. Operands and result
    /// may carry bits above `size`; they are truncated here.
    #[inline(always)]
    pub fn set_lazy(&mut self, op: Lazy, size: u8, a: u32, b: u32, res: u32) {
        if matches!(op, Lazy::Inc | Lazy::Dec) {
            let cf = self.cf();
            self.bits = (self.bits & !CF) | cf as u32;
        }
        let m = mask(size);
        self.op = op;
        self.size = size;
        self.a = a & m;
        self.b = b & m;
        self.res = res & m;
    }

    /// Records the result of AND, OR, XOR or TEST (CF = OF = AF = 0, the rest from `res`).
    #[inline(always)]
    pub fn set_logic(&mut self, size: u8, res: u32) {
        self.op = Lazy::Logic;
        self.size = size;
        self.res = res & mask(size);
    }

    /// Carry flag.
    #[inline(always)]
    pub fn cf(&self) -> bool {
        match self.op {
            Lazy::None | Lazy::Inc | Lazy::Dec | Lazy::Szp => self.bits & CF != 0,
            Lazy::Add => self.res < self.a,
            Lazy::Adc => self.res <= self.a,
            Lazy::Sub => self.a < self.b,
            Lazy::Sbb => self.a <= self.b,
            Lazy::Logic => false,
            Lazy::Shl => {
                let bits = self.size as u32 * 8;
                self.b <= bits && (self.a >> (bits - self.b)) & 1 != 0
            }
            Lazy::Shr => self.b <= self.size as u32 * 8 && (self.a >> (self.b - 1)) & 1 != 0,
            Lazy::Sar => {
                let last = self.b.min(self.size as u32 * 8) - 1;
                (sext(self.a, self.size) >> last) & 1 != 0
            }
            Lazy::Imul => self.product_overflows(),
        }
    }

    /// Zero flag.
    #[inline(always)]
    pub fn zf(&self) -> bool {
        match self.op {
            Lazy::None => self.bits & ZF != 0,
            _ => self.res == 0,
        }
    }

    /// Sign flag.
    #[inline(always)]
    pub fn sf(&self) -> bool {
        match self.op {
            Lazy::None => self.bits & SF != 0,
            _ => self.res & sign_bit(self.size) != 0,
        }
    }

    /// Parity flag.
    #[inline(always)]
    pub fn pf(&self) -> bool {
        match self.op {
            Lazy::None => self.bits & PF != 0,
            _ => parity(self.res),
        }
    }

    /// Auxiliary carry flag.
    #[inline(always)]
    pub fn af(&self) -> bool {
        match self.op {
            Lazy::None | Lazy::Szp => self.bits & AF != 0,
            Lazy::Logic | Lazy::Shl | Lazy::Shr | Lazy::Sar | Lazy::Imul => false,
            _ => (self.a ^ self.b ^ self.res) & 0x10 != 0,
        }
    }

    /// Overflow flag.
    #[inline(always)]
    pub fn of(&self) -> bool {
        let s = sign_bit(self.size);
        match self.op {
            Lazy::None | Lazy::Szp => self.bits & OF != 0,
            Lazy::Add | Lazy::Adc | Lazy::Inc => (self.a ^ self.res) & (self.b ^ self.res) & s != 0,
            Lazy::Sub | Lazy::Sbb | Lazy::Dec => (self.a ^ self.b) & (self.a ^ self.res) & s != 0,
            Lazy::Logic | Lazy::Sar => false,
            Lazy::Shl => (self.res & s != 0) != self.cf(),
            Lazy::Shr => self.b == 1 && self.a & s != 0,
            Lazy::Imul => self.product_overflows(),
        }
    }

    /// For `Imul`: whether the signed product of `a` and `b` does not fit in `res`.
    #[inline(always)]
    fn product_overflows(&self) -> bool {
        let p = sext(self.a, self.size) as i64 * sext(self.b, self.size) as i64;
        p != sext(self.res, self.size) as i64
    }

    /// Interrupts enabled.
    #[inline(always)]
    pub fn if_(&self) -> bool {
        self.bits & IF != 0
    }

    /// Direction flag set (strings go down).
    #[inline(always)]
    pub fn df(&self) -> bool {
        self.bits & DF != 0
    }

    /// Trap flag set.
    #[inline(always)]
    pub fn tf(&self) -> bool {
        self.bits & TF != 0
    }

    /// The I/O privilege level (EFLAGS bits 12–13).
    #[inline(always)]
    pub fn iopl(&self) -> u8 {
        ((self.bits >> 12) & 3) as u8
    }

    /// Sets or clears ZF (LAR, LSL, VERR, VERW, ARPL, CMPXCHG8B).
    #[inline]
    pub fn set_zf(&mut self, on: bool) {
        self.assign(ZF, on);
    }

    /// The whole register, arithmetic flags materialised.
    pub fn get(&self) -> u32 {
        if self.op == Lazy::None {
            return self.bits;
        }
        (self.bits & !ARITH) | self.szp_bits() | self.cao_bits()
    }

    /// ZF, SF and PF of a lazy record, as EFLAGS bits.
    #[inline(always)]
    fn szp_bits(&self) -> u32 {
        let r = self.res;
        bit(r == 0, ZF) | bit(r & sign_bit(self.size) != 0, SF) | bit(parity(r), PF)
    }

    /// CF, AF and OF, as EFLAGS bits.
    #[inline(always)]
    fn cao_bits(&self) -> u32 {
        bit(self.cf(), CF) | bit(self.af(), AF) | bit(self.of(), OF)
    }

    /// Replaces the whole register (no model-specific filtering; see `Cpu::write_flags`).
    #[inline]
    pub fn set(&mut self, v: u32) {
        self.bits = v;
        self.op = Lazy::None;
    }

    /// Moves CF, AF and OF into `bits`, leaving ZF, SF and PF lazy (`Szp`), so that one of the
    /// former can be changed without evaluating the others.
    #[inline]
    fn settle_cao(&mut self) {
        if !matches!(self.op, Lazy::None | Lazy::Szp) {
            self.bits = (self.bits & !(CF | AF | OF)) | self.cao_bits();
            self.op = Lazy::Szp;
        }
    }

    /// Sets or clears individual bits (arithmetic ones included) leaving the rest.
    #[inline]
    pub fn assign(&mut self, bit: u32, on: bool) {
        if bit & (ZF | SF | PF) != 0 && self.op != Lazy::None {
            let v = self.get();
            self.set(v);
        } else if bit & (CF | AF | OF) != 0 {
            self.settle_cao();
        }
        if on {
            self.bits |= bit;
        } else {
            self.bits &= !bit;
        }
    }

    /// Sets CF and OF, keeping the other flags (rotates). Only AF has to be settled into
    /// `bits` first; ZF, SF and PF stay lazy.
    #[inline]
    pub fn set_cf_of(&mut self, cf: bool, of: bool) {
        if !matches!(self.op, Lazy::None | Lazy::Szp) {
            let af = self.af();
            self.bits = (self.bits & !AF) | bit(af, AF);
            self.op = Lazy::Szp;
        }
        self.bits = (self.bits & !(CF | OF)) | bit(cf, CF) | bit(of, OF);
    }

    /// Sets the arithmetic flags from explicit values, e.g. after a BCD adjust.
    #[inline]
    pub fn set_arith(&mut self, cf: bool, pf: bool, af: bool, zf: bool, sf: bool, of: bool) {
        let mut v = self.bits & !ARITH;
        v |= (cf as u32) | (pf as u32) << 2 | (af as u32) << 4;
        v |= (zf as u32) << 6 | (sf as u32) << 7 | (of as u32) << 11;
        self.bits = v;
        self.op = Lazy::None;
    }

    /// Sets CF, AF and OF, with ZF, SF and PF to follow from `res` when asked (shifts, IMUL).
    #[inline]
    pub fn set_szp(&mut self, size: u8, res: u32, cf: bool, af: bool, of: bool) {
        self.bits = (self.bits & !(CF | AF | OF)) | bit(cf, CF) | bit(af, AF) | bit(of, OF);
        self.op = Lazy::Szp;
        self.size = size;
        self.res = res & mask(size);
    }

    /// Evaluates condition code `cc` (the low nibble of a Jcc/SETcc/CMOVcc opcode).
    #[inline(always)]
    pub fn cond(&self, cc: u8) -> bool {
        let r = match cc >> 1 {
            0 => self.of(),
            1 => self.cf(),
            2 => self.zf(),
            3 => self.cf() || self.zf(),
            4 => self.sf(),
            5 => self.pf(),
            6 => self.sf() != self.of(),
            _ => self.zf() || (self.sf() != self.of()),
        };
        r != (cc & 1 != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_flags() {
        let mut f = Flags::default();
        f.set_lazy(Lazy::Add, 1, 0x7F, 0x01, 0x80);
        assert!(f.of() && f.sf() && !f.zf() && !f.cf() && f.af());
        f.set_lazy(Lazy::Add, 1, 0xFF, 0x01, 0x100);
        assert!(f.cf() && f.zf() && !f.of());
    }

    #[test]
    fn sub_flags() {
        let mut f = Flags::default();
        f.set_lazy(Lazy::Sub, 2, 0x0000, 0x0001, 0xFFFF);
        assert!(f.cf() && f.sf() && !f.of() && f.af());
        f.set_lazy(Lazy::Sub, 2, 0x8000, 0x0001, 0x7FFF);
        assert!(f.of() && !f.cf());
    }

    #[test]
    fn inc_keeps_carry() {
        let mut f = Flags::default();
        f.assign(CF, true);
        f.set_lazy(Lazy::Inc, 1, 0xFF, 1, 0x100);
        assert!(f.cf() && f.zf());
        assert_eq!(f.get() & (CF | ZF), CF | ZF);
    }

    #[test]
    fn carry_in_kinds() {
        let mut f = Flags::default();
        // ADC 0xFF + 0x00 + 1 = 0x100: carry out, zero result.
        f.set_lazy(Lazy::Adc, 1, 0xFF, 0x00, 0x100);
        assert!(f.cf() && f.zf() && f.af());
        // SBB 5 - 5 - 1: borrow.
        f.set_lazy(Lazy::Sbb, 2, 5, 5, 5u32.wrapping_sub(6));
        assert!(f.cf() && f.sf() && !f.zf());
    }

    #[test]
    fn partial_updates_keep_the_rest() {
        let mut f = Flags::default();
        f.set_lazy(Lazy::Add, 1, 0x7F, 0x01, 0x80); // OF SF AF, no CF
        let before = f.get();
        f.set_cf_of(true, false);
        assert_eq!(f.get(), (before | CF) & !OF);
        f.set_szp(2, 0, false, false, true);
        assert_eq!(f.get() & ARITH, ZF | PF | OF);
        f.assign(CF, true);
        assert_eq!(f.get() & ARITH, ZF | PF | OF | CF);
        f.assign(ZF, false);
        assert_eq!(f.get() & ARITH, PF | OF | CF);
    }

    #[test]
    fn conditions() {
        let mut f = Flags::default();
        f.set_lazy(Lazy::Sub, 2, 3, 5, 3u32.wrapping_sub(5));
        assert!(f.cond(0xC)); // JL
        assert!(f.cond(0x2)); // JB
        assert!(!f.cond(0x4)); // JE
        assert!(f.cond(0xE)); // JLE
    }
}
