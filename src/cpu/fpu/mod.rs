//! The x87 floating-point unit: its register stack, control, status and tag words, and the
//! last-instruction pointers. The arithmetic is in [`f80`] (80-bit soft float) and [`trans`]
//! (transcendental functions, computed with 128-bit significands); the instructions that use
//! them are `exec::fpu` (and `exec::mmx` for MMX, whose registers alias the significands).
//!
//! Which chips have one: the 386 model is a 386 with a 387 coprocessor, the 486 model has the
//! on-chip FPU of the 486DX, the Pentium and Pentium II theirs. The 8086–286 models have no
//! coprocessor (their ESC opcodes only touch the memory operand).
//!
//! State after hardware RESET differs from the state after FNINIT (Intel SDM Vol. 3, table
//! 9-1, "IA-32 processor states following power-up, reset, or INIT", and the 486 manual's
//! reset table): RESET leaves the control word 0x0040 (every exception unmasked, 24-bit
//! precision, round to nearest), the status word 0, the tag word 0x5555 (every register
//! tagged zero) and every register +0.0; FNINIT sets the control word 0x037F (every exception
//! masked, 64-bit precision), clears the status word, tags every register empty and clears
//! the pointers, leaving the register contents alone. A BIOS runs FNINIT before using the
//! FPU.

pub mod f80;
#[cfg(test)]
mod soft_tests;
pub mod trans;

pub use f80::F80;
use serde::{Deserialize, Serialize};

/// Control word after FNINIT.
pub const CW_INIT: u16 = 0x037F;
/// Control word after hardware RESET.
pub const CW_RESET: u16 = 0x0040;

/// Status word: exception flags IE…PE (bits 0–5).
pub const SW_EXCEPTIONS: u16 = 0x3F;
/// Status word: stack fault.
pub const SW_SF: u16 = 0x40;
/// Status word: error summary (an unmasked exception is pending).
pub const SW_ES: u16 = 0x80;
/// Status word: condition code C0.
pub const SW_C0: u16 = 0x100;
/// Status word: condition code C1.
pub const SW_C1: u16 = 0x200;
/// Status word: condition code C2.
pub const SW_C2: u16 = 0x400;
/// Status word: the TOP field (bits 11–13).
pub const SW_TOP: u16 = 0x3800;
/// Status word: condition code C3.
pub const SW_C3: u16 = 0x4000;
/// Status word: busy (mirrors ES on the 387 and later).
pub const SW_B: u16 = 0x8000;

/// Tag: valid.
pub const TAG_VALID: u16 = 0;
/// Tag: zero.
pub const TAG_ZERO: u16 = 1;
/// Tag: special (NaN, ∞, denormal, unsupported).
pub const TAG_SPECIAL: u16 = 2;
/// Tag: empty.
pub const TAG_EMPTY: u16 = 3;

/// The x87 state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fpu {
    /// The physical registers R0–R7 (ST(i) is R((TOP + i) mod 8)).
    pub regs: [F80; 8],
    /// The stack top.
    pub top: u8,
    /// Control word.
    pub cw: u16,
    /// Status word with the TOP field zero (see [`Fpu::status_word`]).
    pub sw: u16,
    /// Tag word, two bits per physical register, kept current with every register write.
    pub tw: u16,
    /// Offset of the last non-control instruction (its first prefix), or its linear address
    /// when restored from a real-mode image.
    pub fip: u32,
    /// Code selector of the last non-control instruction.
    pub fcs: u16,
    /// Opcode of the last non-control instruction: low three bits of the first byte, then the
    /// ModRM byte (11 bits).
    pub fop: u16,
    /// Offset of the last memory operand.
    pub fdp: u32,
    /// Selector of the last memory operand.
    pub fds: u16,
    /// FERR# is asserted (an unmasked exception is pending and CR0.NE is clear).
    pub ferr: bool,
}

impl Default for Fpu {
    fn default() -> Fpu {
        Fpu::new()
    }
}

/// The tag of a register value.
pub fn tag_of(v: F80) -> u16 {
    use f80::Class;
    match v.class() {
        Class::Zero => TAG_ZERO,
        Class::Normal => TAG_VALID,
        _ => TAG_SPECIAL,
    }
}

impl Fpu {
    /// The FPU after hardware RESET.
    pub fn new() -> Fpu {
        Fpu {
            regs: [F80::ZERO; 8],
            top: 0,
            cw: CW_RESET,
            sw: 0,
            tw: 0x5555,
            fip: 0,
            fcs: 0,
            fop: 0,
            fdp: 0,
            fds: 0,
            ferr: false,
        }
    }

    /// Hardware RESET (see the module documentation).
    pub fn reset(&mut self) {
        *self = Fpu::new();
    }

    /// FNINIT: control word 0x037F, status 0, all registers empty, pointers 0.
    pub fn init(&mut self) {
        self.cw = CW_INIT;
        self.sw = 0;
        self.top = 0;
        self.tw = 0xFFFF;
        self.fip = 0;
        self.fcs = 0;
        self.fop = 0;
        self.fdp = 0;
        self.fds = 0;
    }

    /// The status word with TOP.
    pub fn status_word(&self) -> u16 {
        (self.sw & !SW_TOP) | (self.top as u16) << 11
    }

    /// Loads the status word (TOP included).
    pub fn set_status_word(&mut self, v: u16) {
        self.top = ((v >> 11) & 7) as u8;
        self.sw = v & !SW_TOP;
    }

    /// Physical register number of ST(i).
    pub fn phys(&self, i: u8) -> usize {
        ((self.top + i) & 7) as usize
    }

    /// Whether ST(i) is empty.
    pub fn is_empty(&self, i: u8) -> bool {
        self.tag(self.phys(i)) == TAG_EMPTY
    }

    /// The tag of physical register `r`.
    pub fn tag(&self, r: usize) -> u16 {
        (self.tw >> (2 * r)) & 3
    }

    fn set_tag(&mut self, r: usize, t: u16) {
        self.tw = (self.tw & !(3 << (2 * r))) | t << (2 * r);
    }

    /// ST(i).
    pub fn st(&self, i: u8) -> F80 {
        self.regs[self.phys(i)]
    }

    /// Writes ST(i) (its tag follows the value).
    pub fn set_st(&mut self, i: u8, v: F80) {
        let r = self.phys(i);
        self.regs[r] = v;
        self.set_tag(r, tag_of(v));
    }

    /// Tags ST(i) empty (FFREE).
    pub fn free(&mut self, i: u8) {
        let r = self.phys(i);
        self.set_tag(r, TAG_EMPTY);
    }

    /// Decrements TOP and writes the new ST(0) (the caller checked for overflow).
    pub fn push(&mut self, v: F80) {
        self.top = (self.top + 7) & 7;
        self.set_st(0, v);
    }

    /// Tags ST(0) empty and increments TOP.
    pub fn pop(&mut self) {
        self.free(0);
        self.top = (self.top + 1) & 7;
    }

    /// The tag word as FSTENV/FSAVE store it: empty registers 11, the others classified from
    /// their contents.
    pub fn tag_word(&self) -> u16 {
        (0..8).fold(0, |tw, r| {
            let t = if self.tag(r) == TAG_EMPTY {
                TAG_EMPTY
            } else {
                tag_of(self.regs[r])
            };
            tw | t << (2 * r)
        })
    }

    /// Loads a tag word (FLDENV/FRSTOR): only empty versus non-empty is taken from it.
    pub fn set_tag_word(&mut self, tw: u16) {
        for r in 0..8 {
            let t = if (tw >> (2 * r)) & 3 == TAG_EMPTY {
                TAG_EMPTY
            } else {
                tag_of(self.regs[r])
            };
            self.set_tag(r, t);
        }
    }

    /// The abridged tag of FXSAVE: one bit per physical register, 1 = not empty.
    pub fn abridged_tag(&self) -> u8 {
        (0..8).fold(0, |t, r| t | ((self.tag(r) != TAG_EMPTY) as u8) << r)
    }

    /// Loads an abridged tag (FXRSTOR).
    pub fn set_abridged_tag(&mut self, t: u8) {
        let tw = (0..8).fold(0u16, |tw, r| {
            tw | if t >> r & 1 != 0 { 0 } else { TAG_EMPTY } << (2 * r)
        });
        self.set_tag_word(tw);
    }

    /// Unmasked exceptions are pending (ES should be set).
    pub fn unmasked_pending(&self) -> bool {
        self.sw & !self.cw & SW_EXCEPTIONS != 0
    }

    /// Recomputes ES and B from the exception flags and masks.
    pub fn update_es(&mut self) {
        if self.unmasked_pending() {
            self.sw |= SW_ES | SW_B;
        } else {
            self.sw &= !(SW_ES | SW_B);
        }
    }

    /// Sets the condition codes C3 C2 C1 C0.
    pub fn set_cc(&mut self, c3: bool, c2: bool, c1: bool, c0: bool) {
        self.sw &= !(SW_C0 | SW_C1 | SW_C2 | SW_C3);
        self.sw |= (c0 as u16) << 8 | (c1 as u16) << 9 | (c2 as u16) << 10 | (c3 as u16) << 14;
    }

    /// Sets C1 alone.
    pub fn set_c1(&mut self, c1: bool) {
        self.sw = (self.sw & !SW_C1) | (c1 as u16) << 9;
    }

    /// MMX register `n` (the significand of physical register `n`).
    pub fn mm(&self, n: u8) -> u64 {
        self.regs[(n & 7) as usize].sig
    }

    /// Writes MMX register `n`: the significand takes the value, the sign and exponent become
    /// all ones (SDM Vol. 1, 9.5.1).
    pub fn set_mm(&mut self, n: u8, v: u64) {
        self.regs[(n & 7) as usize] = F80 { sig: v, se: 0xFFFF };
    }

    /// What every MMX instruction other than EMMS does to the x87 state: TOP = 0, all tags
    /// valid.
    pub fn enter_mmx(&mut self) {
        self.top = 0;
        self.tw = 0;
    }

    /// EMMS: all tags empty.
    pub fn emms(&mut self) {
        self.tw = 0xFFFF;
    }

    /// The debugger's `info fpu`: the stack with physical register numbers, tags, raw bytes
    /// and approximate values; the control and status words decoded; the last pointers.
    pub fn describe(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        const EXC: [&str; 6] = ["IE", "DE", "ZE", "OE", "UE", "PE"];
        let names = |bits: u16| -> String {
            let v: Vec<&str> = (0..6)
                .filter(|k| bits >> k & 1 != 0)
                .map(|k| EXC[k])
                .collect();
            if v.is_empty() {
                "-".into()
            } else {
                v.join(" ")
            }
        };
        let sw = self.status_word();
        let pc = match (self.cw >> 8) & 3 {
            0 => "24",
            2 => "53",
            3 => "64",
            _ => "53 (reserved 01)",
        };
        let rc = ["nearest", "down", "up", "toward zero"][((self.cw >> 10) & 3) as usize];
        writeln!(
            out,
            "CW {:04x}: masked {}; precision {pc} bits; rounding {rc}",
            self.cw,
            names(self.cw & 0x3F)
        )?;
        writeln!(
            out,
            "SW {:04x}: TOP {}  C3 {} C2 {} C1 {} C0 {}  flags {}{}{}{}",
            sw,
            self.top,
            (sw >> 14) & 1,
            (sw >> 10) & 1,
            (sw >> 9) & 1,
            (sw >> 8) & 1,
            names(sw & 0x3F),
            if sw & SW_SF != 0 { " SF" } else { "" },
            if sw & SW_ES != 0 { " ES" } else { "" },
            if sw & SW_B != 0 { " B" } else { "" },
        )?;
        writeln!(out, "TW {:04x}", self.tag_word())?;
        for i in 0..8u8 {
            let r = self.phys(i);
            let v = self.regs[r];
            let tag =
                ["valid", "zero", "special", "empty"][self.tag_word() as usize >> (2 * r) & 3];
            write!(out, "ST{i} (R{r}) {tag:<7} {:04x} {:016x}", v.se, v.sig)?;
            if tag == "empty" {
                writeln!(out)?;
            } else {
                writeln!(out, "  {}", describe_value(v))?;
            }
        }
        writeln!(
            out,
            "last instruction {:04x}:{:08x} opcode {:03x}; operand {:04x}:{:08x}{}",
            self.fcs,
            self.fip,
            self.fop,
            self.fds,
            self.fdp,
            if self.ferr { "; FERR# asserted" } else { "" }
        )
    }
}

/// A register value in words: its class, or an approximate decimal value.
fn describe_value(v: F80) -> String {
    use f80::Class;
    match v.class() {
        Class::QNaN => "QNaN".into(),
        Class::SNaN => "SNaN".into(),
        Class::Unsupported => "unsupported encoding".into(),
        Class::Infinity if v.sign() => "-inf".into(),
        Class::Infinity => "+inf".into(),
        Class::Denormal | Class::PseudoDenormal => format!("~{:e} (denormal)", v.to_f64_lossy()),
        _ => format!("~{:e}", v.to_f64_lossy()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_and_init_states() {
        let mut f = Fpu::new();
        assert_eq!((f.cw, f.status_word(), f.tag_word()), (0x0040, 0, 0x5555));
        f.set_st(0, F80::ONE);
        f.init();
        assert_eq!((f.cw, f.status_word(), f.tag_word()), (0x037F, 0, 0xFFFF));
        assert_eq!(f.regs[0], F80::ONE, "FNINIT leaves the registers");
    }

    #[test]
    fn describe_shows_the_stack() {
        let mut f = Fpu::new();
        f.init();
        f.push(F80::ONE);
        let mut out = Vec::new();
        f.describe(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("CW 037f: masked IE DE ZE OE UE PE; precision 64 bits; rounding nearest"),
            "{text}"
        );
        assert!(
            text.contains("ST0 (R7) valid   3fff 8000000000000000  ~1e0"),
            "{text}"
        );
        assert!(text.contains("ST1 (R0) empty"), "{text}");
        assert!(text.contains("TOP 7"), "{text}");
    }

    #[test]
    fn stack_and_tags() {
        let mut f = Fpu::new();
        f.init();
        f.push(F80::ONE);
        assert_eq!(f.top, 7);
        assert_eq!(f.tag_word(), 0x3FFF, "R7 valid");
        f.push(F80::ZERO);
        assert_eq!(f.tag_word(), 0x1FFF, "R6 zero, R7 valid");
        assert_eq!(f.abridged_tag(), 0xC0);
        f.pop();
        assert_eq!((f.top, f.st(0)), (7, F80::ONE));
        f.set_abridged_tag(0x01);
        assert_eq!(f.tag_word(), 0xFFFD, "R0 holds +0 after RESET: tagged zero");
    }
}
