//! CPU exceptions as values.
//!
//! Instruction handlers return `Result<(), Fault>` and use `?`; nothing unwinds. A fault is
//! delivered by the step loop after the handler returns, so a handler must check before it
//! changes architectural state (as the hardware does).
//!
//! A `Fault` is six bytes, so a handler's `Result<(), Fault>` comes back in a register: every
//! instruction returns one, and a larger type would be returned through memory.

use std::fmt;

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

/// An exception raised by an instruction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Fault {
    /// Interrupt vector.
    pub vector: u8,
    /// Error code pushed in protected mode (none in real mode). The codes of the exceptions
    /// that push one (selector-based for #TS/#NP/#SS/#GP, flag bits for #PF, zero for #DF and
    /// #AC) fit in 16 bits; the CPU pushes them zero-extended.
    pub error: Option<u16>,
}

impl Fault {
    /// An exception without error code.
    pub const fn new(vector: u8) -> Fault {
        Fault {
            vector,
            error: None,
        }
    }
    /// The same exception with an error code.
    pub const fn with_error(self, code: u16) -> Fault {
        Fault {
            vector: self.vector,
            error: Some(code),
        }
    }
    /// #GP(code).
    pub const fn gp(code: u16) -> Fault {
        Fault {
            vector: vector::GP,
            error: Some(code),
        }
    }
    /// #SS(code).
    pub const fn ss(code: u16) -> Fault {
        Fault {
            vector: vector::SS,
            error: Some(code),
        }
    }
    /// #TS(code).
    pub const fn ts(code: u16) -> Fault {
        Fault {
            vector: vector::TS,
            error: Some(code),
        }
    }
    /// #NP(code).
    pub const fn np(code: u16) -> Fault {
        Fault {
            vector: vector::NP,
            error: Some(code),
        }
    }
    /// #UD.
    pub const UD: Fault = Fault::new(vector::UD);
    /// #DE.
    pub const DE: Fault = Fault::new(vector::DE);

    /// Whether this is a contributory exception for the double-fault rules.
    pub fn contributory(&self) -> bool {
        matches!(self.vector, 0 | 10 | 11 | 12 | 13)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 20] = [
            "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP",
            "#SS", "#GP", "#PF", "(15)", "#MF", "#AC", "#MC", "#XM",
        ];
        match NAMES.get(self.vector as usize) {
            Some(n) => write!(f, "{n}")?,
            None => write!(f, "vector {}", self.vector)?,
        }
        if let Some(e) = self.error {
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
        assert!(std::mem::size_of::<Result<(), Fault>>() <= 8);
    }
}
