//! EFLAGS with lazily evaluated arithmetic flags.
//!
//! Most instructions set the six arithmetic flags (CF, PF, AF, ZF, SF, OF) and most of those
//! results are overwritten before anything reads them. So an arithmetic instruction only records
//! *what* it did — the operation, its operands, its result and operand size — and each flag is
//! derived from that record when somebody asks (a `Jcc`, `PUSHF`, the debugger).
//!
//! The non-arithmetic bits (TF, IF, DF, IOPL, NT, …) always live in `bits`. The arithmetic bits
//! in `bits` are only meaningful while `op == Lazy::None`.

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

/// The six arithmetic flags.
pub const ARITH: u32 = CF | PF | AF | ZF | SF | OF;

/// The operation whose flags are pending.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub enum Lazy {
    /// Flags are materialised in `bits`.
    #[default]
    None,
    /// `res = a + b` (ADD, and INC with CF kept in `bits`).
    Add,
    /// `res = a - b` (SUB, CMP, NEG, and DEC with CF kept in `bits`).
    Sub,
    /// INC: like Add with b = 1, CF unchanged (taken from `bits`).
    Inc,
    /// DEC: like Sub with b = 1, CF unchanged (taken from `bits`).
    Dec,
    /// AND/OR/XOR/TEST: CF = OF = AF = 0.
    Logic,
}

/// EFLAGS, partly lazy.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Flags {
    /// All flag bits; the arithmetic ones only when `op == Lazy::None` (plus CF for Inc/Dec).
    pub bits: u32,
    op: Lazy,
    /// Operand size in bytes (1, 2 or 4).
    size: u8,
    a: u32,
    b: u32,
    res: u32,
}

impl Default for Flags {
    fn default() -> Self {
        Flags { bits: RESERVED1, op: Lazy::None, size: 1, a: 0, b: 0, res: 0 }
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

/// Even parity of the low byte.
#[inline(always)]
pub fn parity(v: u32) -> bool {
    (v as u8).count_ones() & 1 == 0
}

impl Flags {
    /// Records an arithmetic result whose flags are computed on demand.
    #[inline(always)]
    pub fn set_lazy(&mut self, op: Lazy, size: u8, a: u32, b: u32, res: u32) {
        if matches!(op, Lazy::Inc | Lazy::Dec) {
            let cf = self.cf();
            self.bits = (self.bits & !CF) | if cf { CF } else { 0 };
        }
        self.op = op;
        self.size = size;
        self.a = a;
        self.b = b;
        self.res = res;
    }

    /// Carry flag.
    #[inline(always)]
    pub fn cf(&self) -> bool {
        let m = mask(self.size);
        match self.op {
            Lazy::None | Lazy::Inc | Lazy::Dec => self.bits & CF != 0,
            Lazy::Add => (self.res & m) < (self.a & m),
            Lazy::Sub => (self.a & m) < (self.b & m),
            Lazy::Logic => false,
        }
    }

    /// Zero flag.
    #[inline(always)]
    pub fn zf(&self) -> bool {
        match self.op {
            Lazy::None => self.bits & ZF != 0,
            _ => self.res & mask(self.size) == 0,
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
            Lazy::None => self.bits & AF != 0,
            Lazy::Logic => false,
            _ => (self.a ^ self.b ^ self.res) & 0x10 != 0,
        }
    }

    /// Overflow flag.
    #[inline(always)]
    pub fn of(&self) -> bool {
        let s = sign_bit(self.size);
        match self.op {
            Lazy::None => self.bits & OF != 0,
            Lazy::Add | Lazy::Inc => (self.a ^ self.res) & (self.b ^ self.res) & s != 0,
            Lazy::Sub | Lazy::Dec => (self.a ^ self.b) & (self.a ^ self.res) & s != 0,
            Lazy::Logic => false,
        }
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

    /// The whole register, arithmetic flags materialised.
    pub fn get(&self) -> u32 {
        if self.op == Lazy::None {
            return self.bits;
        }
        let mut v = self.bits & !ARITH;
        for (on, bit) in [
            (self.cf(), CF),
            (self.pf(), PF),
            (self.af(), AF),
            (self.zf(), ZF),
            (self.sf(), SF),
            (self.of(), OF),
        ] {
            if on {
                v |= bit;
            }
        }
        v
    }

    /// Replaces the whole register (no model-specific filtering; see `Cpu::write_flags`).
    #[inline]
    pub fn set(&mut self, v: u32) {
        self.bits = v;
        self.op = Lazy::None;
    }

    /// Sets or clears individual bits (arithmetic ones included) leaving the rest.
    #[inline]
    pub fn assign(&mut self, bit: u32, on: bool) {
        if bit & ARITH != 0 && self.op != Lazy::None {
            let v = self.get();
            self.set(v);
        }
        if on {
            self.bits |= bit;
        } else {
            self.bits &= !bit;
        }
    }

    /// Sets the arithmetic flags from explicit values, e.g. after a shift or a BCD adjust.
    #[inline]
    pub fn set_arith(&mut self, cf: bool, pf: bool, af: bool, zf: bool, sf: bool, of: bool) {
        let mut v = self.bits & !ARITH;
        v |= (cf as u32) | (pf as u32) << 2 | (af as u32) << 4;
        v |= (zf as u32) << 6 | (sf as u32) << 7 | (of as u32) << 11;
        self.bits = v;
        self.op = Lazy::None;
    }

    /// Sets ZF, SF and PF from a result, the other arithmetic flags given.
    #[inline]
    pub fn set_szp(&mut self, size: u8, res: u32, cf: bool, af: bool, of: bool) {
        let r = res & mask(size);
        self.set_arith(cf, parity(r), af, r == 0, r & sign_bit(size) != 0, of);
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
    fn conditions() {
        let mut f = Flags::default();
        f.set_lazy(Lazy::Sub, 2, 3, 5, 3u32.wrapping_sub(5));
        assert!(f.cond(0xC)); // JL
        assert!(f.cond(0x2)); // JB
        assert!(!f.cond(0x4)); // JE
        assert!(f.cond(0xE)); // JLE
    }
}
