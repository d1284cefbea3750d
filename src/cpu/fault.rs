//! CPU exceptions as values.
//!
//! Instruction handlers return `Result<(), Fault>` and use `?`; nothing unwinds. A fault is
//! delivered by the step loop after the handler returns, so a handler must check before it
//! changes architectural state (as the hardware does).
//!
//! A `Fault` is one non-zero 32-bit word, so a handler's `Result<(), Fault>` is that word with
//! `Ok` as zero: every instruction returns one, the common `Ok` costs a cleared register, and the
//! caller's test is a single compare with zero.

use std::fmt;
use std::num::NonZeroU32;

/// Exception vectors.
pub mod vector {
    /// Divide error.
    pub const DE: u8 = 0;
    /// Debug (single step, breakpoints).
    pub const DB: u8 = 1;
    /// Breakpoint (INT3).
    pub const BP: u8 = 3;
    /// Overflow (INTO).
    pub const OF: u8 = 4;
    /// BOUND range exceeded.
    pub const BR: u8 = 5;
    /// Invalid opcode.
    pub const UD: u8 = 6;
    /// Device (coprocessor) not available.
    pub const NM: u8 = 7;
    /// Double fault.
    pub const DF: u8 = 8;
    /// Invalid TSS.
    pub const TS: u8 = 10;
    /// Segment not present.
    pub const NP: u8 = 11;
    /// Stack-segment fault.
    pub const SS: u8 = 12;
    /// General protection.
    pub const GP: u8 = 13;
    /// Page fault.
    pub const PF: u8 = 14;
    /// x87 floating-point error.
    pub const MF: u8 = 16;
    /// Alignment check.
    pub const AC: u8 = 17;
}

/// An exception raised by an instruction: its vector and, for the exceptions that push one,
/// the error code.
///
/// Packed as `error << 16 | HAS_ERROR | PRESENT | vector`: the `PRESENT` bit keeps the word
/// non-zero even for #DE (vector 0) without an error code.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fault(NonZeroU32);

/// Always set, so that no fault is zero (the niche `Result<(), Fault>` uses for `Ok`).
const PRESENT: u32 = 1 << 8;
/// Set when the fault has an error code (bits 16–31).
const HAS_ERROR: u32 = 1 << 9;

impl Fault {
    /// An exception without error code.
    pub const fn new(vector: u8) -> Fault {
        Fault::pack(vector as u32 | PRESENT)
    }
    /// The same exception with an error code. The codes of the exceptions that push one
    /// (selector-based for #TS/#NP/#SS/#GP, flag bits for #PF, zero for #DF and #AC) fit in
    /// 16 bits; the CPU pushes them zero-extended.
    pub const fn with_error(self, code: u16) -> Fault {
        Fault::pack(self.vector() as u32 | PRESENT | HAS_ERROR | (code as u32) << 16)
    }
    const fn pack(raw: u32) -> Fault {
        match NonZeroU32::new(raw) {
            Some(v) => Fault(v),
            // Every caller sets PRESENT.
            None => Fault(NonZeroU32::MIN),
        }
    }
    /// The packed word, never zero and always with bit 8 set.
    #[inline(always)]
    pub(crate) const fn word(self) -> u32 {
        self.0.get()
    }
    /// The fault whose packed word is `w`, or `None` for a word that is no fault's (bit 8
    /// clear): so a word can carry either a fault or a small code of the caller's own.
    #[inline(always)]
    pub(crate) const fn from_word(w: u32) -> Option<Fault> {
        if w & PRESENT != 0 {
            Some(Fault::pack(w))
        } else {
            None
        }
    }
    /// Interrupt vector.
    #[inline(always)]
    pub const fn vector(self) -> u8 {
        self.0.get() as u8
    }
    /// Error code pushed in protected mode (none in real mode), if this exception has one.
    #[inline(always)]
    pub const fn error(self) -> Option<u16> {
        if self.0.get() & HAS_ERROR != 0 {
            Some((self.0.get() >> 16) as u16)
        } else {
            None
        }
    }
    /// #GP(code).
    pub const fn gp(code: u16) -> Fault {
        Fault::new(vector::GP).with_error(code)
    }
    /// #SS(code).
    pub const fn ss(code: u16) -> Fault {
        Fault::new(vector::SS).with_error(code)
    }
    /// #TS(code).
    pub const fn ts(code: u16) -> Fault {
        Fault::new(vector::TS).with_error(code)
    }
    /// #NP(code).
    pub const fn np(code: u16) -> Fault {
        Fault::new(vector::NP).with_error(code)
    }
    /// #UD.
    pub const UD: Fault = Fault::new(vector::UD);
    /// Not an exception: a memory access on a [`FastOnly`](crate::cpu::bus::FastOnly) bus
    /// needed its slow path, did nothing, and the instruction is to run again on the real bus.
    /// (Vector 0xFF; no exception the CPU raises has it.)
    pub(crate) const RETRY: Fault = Fault::new(0xFF);
    /// #DE.
    pub const DE: Fault = Fault::new(vector::DE);

    /// Whether this is a contributory exception for the double-fault rules.
    pub fn contributory(&self) -> bool {
        matches!(self.vector(), 0 | 10 | 11 | 12 | 13)
    }
}

impl fmt::Debug for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fault")
            .field("vector", &self.vector())
            .field("error", &self.error())
            .finish()
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 20] = [
            "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP",
            "#SS", "#GP", "#PF", "(15)", "#MF", "#AC", "#MC", "#XM",
        ];
        match NAMES.get(self.vector() as usize) {
            Some(n) => write!(f, "{n}")?,
            None => write!(f, "vector {}", self.vector())?,
        }
        if let Some(e) = self.error() {
            write!(f, "({e:#x})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_fit_in_a_register() {
        assert_eq!(std::mem::size_of::<Result<(), Fault>>(), 4);
    }

    #[test]
    fn vector_and_error_code_round_trip() {
        for v in [0u8, 1, 6, 8, 13, 14, 17, 255] {
            let f = Fault::new(v);
            assert_eq!((f.vector(), f.error()), (v, None));
            for code in [0u16, 1, 0x18, 0x7FFF, 0xFFFF] {
                let f = f.with_error(code);
                assert_eq!((f.vector(), f.error()), (v, Some(code)));
            }
        }
        assert_eq!(Fault::gp(0x10).error(), Some(0x10));
        assert_eq!(Fault::DE.vector(), 0);
        assert_eq!(format!("{}", Fault::gp(0x18)), "#GP(0x18)");
    }
}
