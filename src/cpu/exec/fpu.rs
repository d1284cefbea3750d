//! The x87 instructions (ESC opcodes D8–DF), WAIT, and FXSAVE/FXRSTOR.
//!
//! Decoding follows the SDM's opcode map for the x87 (Vol. 2, appendix A.4): a memory ModRM
//! selects the operation by opcode and `reg`; a register ModRM selects it by opcode and the
//! whole ModRM byte. The undocumented aliases of the 387 and later are decoded as the
//! instructions they repeat (FCOM2 DC D0+i, FCOMP3 DC D8+i, FCOMP5 DE D0+i, FXCH4 DD C8+i,
//! FXCH7 DF C8+i, FSTP1 D9 D8+i, FSTP8/FSTP9 DF D0+i/D8+i, FFREEP DF C0+i). Reserved
//! encodings raise #UD.
//!
//! Exceptions (SDM Vol. 1, 8.4–8.7): every operation computes with an [`Env`] and merges its
//! flags into the status word. An unmasked invalid-operation, denormal or zero-divide
//! exception leaves the destination and the stack alone; an unmasked overflow or underflow
//! still writes a register destination with the wrapped exponent (a memory destination is
//! left alone). An unmasked exception sets ES and B. The next *waiting* instruction (every
//! one but FNINIT, FNCLEX, FNSTENV, FNSAVE, FNSTCW, FNSTSW, and WAIT itself is waiting) then
//! raises #MF when CR0.NE is set (486 and later). With CR0.NE clear the FPU asserts FERR# as
//! soon as ES is set, which the PC routes to IRQ 13 ([`Bus::fpu_error`]); the waiting
//! instruction then goes ahead as if IGNNE# were asserted (the freeze of the real chip until
//! the interrupt arrives is not modelled). FERR# drops when ES clears (FNINIT, FNCLEX, or
//! loading an environment without unmasked exceptions).
//!
//! Memory operands of 8, 10 and more bytes are read whole before the register stack
//! changes, and for stores the first and last byte are probed before anything is written, so
//! a fault leaves memory and the stack as they were.
//!
//! Cycle costs: the opcode table has one row for all of D8–DF, so each instruction is charged
//! its own clock count here on top of it ([`x87_clocks`]): the Intel486 manual's counts (the
//! low end of a range, the common case), used for every model with an FPU — the 386 + 387
//! model is charged the 486's counts too, faster than a real 387.

use crate::cpu::decode::seg;
use crate::cpu::decode::table::OPS;
use crate::cpu::fault::vector;
use crate::cpu::fpu::f80::{self, Cmp, Env, IE, SF};
use crate::cpu::fpu::trans::{self, Wide};
use crate::cpu::fpu::{self, F80, SW_C2, SW_ES};
use crate::cpu::{reg, Bus, Cpu, CpuModel, Fault, Insn};
use std::ops::Neg;

const CR0_MP: u32 = 1 << 1;
const CR0_EM: u32 = 1 << 2;
const CR0_TS: u32 = 1 << 3;
const CR0_NE: u32 = 1 << 5;

/// The x87 error vector (#MF).
const MF: u8 = 16;

/// Clocks of an x87 instruction on the 486 (Intel486 manual, instruction timings; the low
/// end of each range). `op` is the low three bits of the ESC opcode.
fn x87_clocks(op: u8, modrm: u8) -> u64 {
    let r = (modrm >> 3) & 7;
    if modrm < 0xC0 {
        return match (op, r) {
            // Arithmetic with m32real / m64real, m32int / m16int.
            (0 | 4, 0 | 4 | 5) => 8,
            (0 | 4, 1) => 11,
            (0 | 4, 2 | 3) => 4,
            (0 | 4, _) => 73,
            (2 | 6, 0 | 4 | 5) => 19,
            (2 | 6, 1) => 22,
            (2 | 6, 2 | 3) => 15,
            (2 | 6, _) => 73,
            (1 | 5, 0) => 3,
            (1 | 5, 2 | 3) => 7,
            (1, 4) => 44,
            (1, 5) => 4,
            (1, 6) => 56,
            (5, 4) => 131,
            (5, 6) => 143,
            (1 | 5, _) => 3,
            (3, 5) | (3, 7) => 6,
            (3 | 7, 0 | 5) => 13,
            (3 | 7, 2 | 3 | 7) => 29,
            (7, 4) => 70,
            (7, 6) => 172,
            _ => 3,
        };
    }
    match (op, r) {
        (0 | 4 | 6, 0 | 4 | 5) => 8,
        (0 | 4 | 6, 1) => 16,
        (0 | 4 | 6, 2 | 3) => 4,
        (0 | 4 | 6, _) => 73,
        (1, 0) => 4,
        (1, 1) | (5, 1) | (7, 1) => 4,
        (1, 5) => match modrm & 7 {
            0 | 6 => 4,
            _ => 8,
        },
        (1, 4) => [6, 3, 2, 2, 4, 8, 2, 2][(modrm & 7) as usize],
        (1, 6) | (1, 7) => match modrm {
            0xF0 => 140,
            0xF1 => 196,
            0xF2 => 200,
            0xF3 => 218,
            0xF4 => 16,
            0xF5 => 72,
            0xF8 => 70,
            0xF9 => 171,
            0xFA => 83,
            0xFB => 292,
            0xFC => 21,
            0xFD => 30,
            0xFE | 0xFF => 257,
            _ => 3,
        },
        (3, 4) => match modrm {
            0xE2 => 7,
            0xE3 => 17,
            _ => 3,
        },
        (7, 4) => 3,
        _ => 4,
    }
}

/// An operand of a two-operand arithmetic instruction: a stack register or a loaded value
/// (with the exceptions its conversion raised).
#[derive(Clone, Copy)]
enum Src {
    St(u8),
    Val(F80),
}

impl Cpu {
    /// Whether unmasked x87 errors are reported as #MF (CR0.NE, 486 and later).
    fn numeric_error_native(&self) -> bool {
        self.model >= CpuModel::I486 && self.cr[0] & CR0_NE != 0
    }

    /// #MF for a pending unmasked exception, at a waiting instruction.
    fn fpu_pending(&self) -> Result<(), Fault> {
        if self.fpu.sw & SW_ES != 0 && self.numeric_error_native() {
            return Err(Fault::new(MF));
        }
        Ok(())
    }

    /// Recomputes ES/B and drives FERR# to match (CR0.NE clear).
    fn fpu_sync<B: Bus>(&mut self, bus: &mut B) {
        self.fpu.update_es();
        let want = self.fpu.sw & SW_ES != 0 && !self.numeric_error_native();
        if want != self.fpu.ferr {
            self.fpu.ferr = want;
            bus.fpu_error(want);
            // Let the run loop see the interrupt request before the next instruction.
            self.attention = true;
        }
    }

    /// WAIT/FWAIT: #NM when CR0.MP and CR0.TS are both set, then a pending unmasked
    /// exception is reported.
    pub(crate) fn fwait<B: Bus>(&mut self, bus: &mut B, _i: &Insn) -> Result<(), Fault> {
        if self.cr[0] & (CR0_MP | CR0_TS) == (CR0_MP | CR0_TS) {
            return Err(Fault::new(vector::NM));
        }
        self.fpu_pending()?;
        self.fpu_sync(bus);
        Ok(())
    }

    /// An ESC instruction (D8–DF) on a CPU with an FPU.
    pub(crate) fn esc<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        if self.cr[0] & (CR0_EM | CR0_TS) != 0 {
            return Err(Fault::new(vector::NM));
        }
        let op = (i.op & 7) as u8;
        let m = i.modrm;
        let mem = !i.is_reg();
        let r = i.reg();
        let nowait = match (op, mem) {
            (1, true) | (5, true) => r >= 6,
            (3, false) => matches!(m, 0xE0..=0xE4),
            (7, false) => m == 0xE0,
            _ => false,
        };
        if !nowait {
            self.fpu_pending()?;
        }
        let control = nowait || (mem && matches!((op, r), (1, 4) | (1, 5) | (5, 4)));
        if !control {
            self.fpu.fip = self.start_eip;
            self.fpu.fcs = self.segs[seg::CS as usize].selector;
            self.fpu.fop = (op as u16) << 8 | m as u16;
            if mem {
                self.fpu.fdp = self.ea(i);
                self.fpu.fds = self.segs[i.seg() as usize].selector;
            }
        }
        let res = if mem {
            self.esc_mem(bus, i, op)
        } else {
            self.esc_reg(i, op)
        };
        let charged = OPS[i.op as usize].cycles[self.model.timing_index()] as u64;
        self.cycles += x87_clocks(op, m).saturating_sub(charged);
        self.fpu_sync(bus);
        res
    }

    // ----- memory helpers ------------------------------------------------------------------

    /// Reads `buf.len()` bytes of the memory operand (in 4-, 2- and 1-byte pieces).
    fn fpu_read(
        &mut self,
        bus: &mut impl Bus,
        s: u8,
        off: u32,
        buf: &mut [u8],
    ) -> Result<(), Fault> {
        let mut k = 0;
        while k < buf.len() {
            let n = match buf.len() - k {
                1 => 1,
                2 | 3 => 2,
                _ => 4,
            };
            let v = self.read_mem(bus, s, off.wrapping_add(k as u32), n as u8)?;
            buf[k..k + n].copy_from_slice(&v.to_le_bytes()[..n]);
            k += n;
        }
        Ok(())
    }

    /// Writes `data` at `s:off`; longer than 4 bytes, the first and last byte are probed first
    /// so that a fault leaves memory unchanged.
    fn fpu_write(&mut self, bus: &mut impl Bus, s: u8, off: u32, data: &[u8]) -> Result<(), Fault> {
        if data.len() > 4 {
            self.read_mem(bus, s, off, 1)?;
            self.read_mem(bus, s, off.wrapping_add(data.len() as u32 - 1), 1)?;
        }
        let mut k = 0;
        while k < data.len() {
            let n = match data.len() - k {
                1 => 1,
                2 | 3 => 2,
                _ => 4,
            };
            let mut b = [0u8; 4];
            b[..n].copy_from_slice(&data[k..k + n]);
            self.write_mem(
                bus,
                s,
                off.wrapping_add(k as u32),
                n as u8,
                u32::from_le_bytes(b),
            )?;
            k += n;
        }
        Ok(())
    }

    fn fpu_read_n<const N: usize>(
        &mut self,
        bus: &mut impl Bus,
        i: &Insn,
    ) -> Result<[u8; N], Fault> {
        let mut b = [0u8; N];
        let off = self.ea(i);
        self.fpu_read(bus, i.seg(), off, &mut b)?;
        Ok(b)
    }

    // ----- stack faults and results ---------------------------------------------------------

    /// Stack underflow (IE + SF, C1 = 0); true when masked (the caller then writes the
    /// indefinite).
    fn fpu_underflow(&mut self) -> bool {
        self.fpu.sw |= (IE | SF) as u16;
        self.fpu.set_c1(false);
        self.fpu.cw & IE as u16 != 0
    }

    /// Stack overflow (IE + SF, C1 = 1); true when masked.
    fn fpu_overflow(&mut self) -> bool {
        self.fpu.sw |= (IE | SF) as u16;
        self.fpu.set_c1(true);
        self.fpu.cw & IE as u16 != 0
    }

    /// Merges an operation's exceptions; true when the result may be written.
    fn fpu_commit(&mut self, env: &Env) -> bool {
        self.fpu.sw |= env.flags as u16 & 0x7F;
        !env.blocked()
    }

    fn env(&self) -> Env {
        Env::new(self.fpu.cw)
    }

    /// Pushes a value (FLD and friends), with the stack-overflow response.
    fn fpu_push(&mut self, v: F80) {
        if !self.fpu.is_empty(7) {
            if self.fpu_overflow() {
                self.fpu.push(F80::INDEFINITE);
            }
            return;
        }
        self.fpu.push(v);
    }

    /// Loads a value computed with `env` (FLD m32/m64, FILD, FBLD, FLD m80).
    fn fpu_load(&mut self, v: F80, env: Env) {
        if !self.fpu.is_empty(7) {
            if self.fpu_overflow() {
                self.fpu.push(F80::INDEFINITE);
            }
            return;
        }
        if self.fpu_commit(&env) {
            self.fpu.set_c1(false);
            self.fpu.push(v);
        }
    }

    /// ST(dst) ← ST(dst) op src (r: 0 add, 1 mul, 4 sub, 5 subr, 6 div, 7 divr); `pop` pops.
    fn fpu_arith(&mut self, r: u8, dst: u8, src: Src, mut env: Env, pop: bool) {
        let y = match src {
            Src::St(k) if self.fpu.is_empty(k) => None,
            Src::St(k) => Some(self.fpu.st(k)),
            Src::Val(v) => Some(v),
        };
        let (x, y) = match (self.fpu.is_empty(dst), y) {
            (false, Some(y)) => (self.fpu.st(dst), y),
            _ => {
                if self.fpu_underflow() {
                    self.fpu.set_st(dst, F80::INDEFINITE);
                    if pop {
                        self.fpu.pop();
                    }
                }
                return;
            }
        };
        if env.blocked() {
            self.fpu_commit(&env);
            return;
        }
        let v = match r {
            0 => f80::add(&mut env, x, y, false),
            1 => f80::mul(&mut env, x, y),
            4 => f80::add(&mut env, x, y, true),
            5 => f80::add(&mut env, y, x, true),
            6 => f80::div(&mut env, x, y),
            _ => f80::div(&mut env, y, x),
        };
        if self.fpu_commit(&env) {
            self.fpu.set_st(dst, v);
            self.fpu.set_c1(env.c1);
            if pop {
                self.fpu.pop();
            }
        }
    }

    /// FCOM/FUCOM/FTST family: compares ST(0) with `src`, sets C3 C2 C0 (or ZF PF CF when
    /// `eflags`), then pops `pops` times.
    fn fpu_compare(&mut self, src: Src, mut env: Env, quiet: bool, eflags: bool, pops: u8) {
        let y = match src {
            Src::St(k) if self.fpu.is_empty(k) => None,
            Src::St(k) => Some(self.fpu.st(k)),
            Src::Val(v) => Some(v),
        };
        let c = match (self.fpu.is_empty(0), y) {
            (false, Some(y)) => {
                let x = self.fpu.st(0);
                let c = if env.blocked() {
                    Cmp::Unordered
                } else {
                    f80::compare(&mut env, x, y, quiet)
                };
                if !self.fpu_commit(&env) {
                    return;
                }
                c
            }
            _ => {
                if !self.fpu_underflow() {
                    return;
                }
                Cmp::Unordered
            }
        };
        let (c3, c2, c0) = match c {
            Cmp::Greater => (false, false, false),
            Cmp::Less => (false, false, true),
            Cmp::Equal => (true, false, false),
            Cmp::Unordered => (true, true, true),
        };
        if eflags {
            self.flags.set_arith(c0, c2, false, c3, false, false);
            self.fpu.set_c1(false);
        } else {
            self.fpu.set_cc(c3, c2, false, c0);
        }
        for _ in 0..pops {
            self.fpu.pop();
        }
    }

    /// A one-operand instruction on ST(0): ST(0) ← f(ST(0)).
    fn fpu_unary(&mut self, f: impl FnOnce(&mut Env, F80) -> F80) {
        if self.fpu.is_empty(0) {
            if self.fpu_underflow() {
                self.fpu.set_st(0, F80::INDEFINITE);
            }
            return;
        }
        let mut env = self.env();
        let v = f(&mut env, self.fpu.st(0));
        if self.fpu_commit(&env) {
            self.fpu.set_st(0, v);
            self.fpu.set_c1(env.c1);
        }
    }

    /// Stores ST(0) to memory as `bytes` computed by `f` (None: masked invalid, store
    /// `indefinite`), popping when asked. Unmasked IE, OE or UE store nothing and do not pop.
    fn fpu_store<B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
        pop: bool,
        indefinite: &[u8],
        f: impl FnOnce(&mut Env, F80) -> Option<Vec<u8>>,
    ) -> Result<(), Fault> {
        let off = self.ea(i);
        let mut env = self.env();
        let data = if self.fpu.is_empty(0) {
            env.flags |= IE | SF;
            None
        } else {
            f(&mut env, self.fpu.st(0))
        };
        let data = data.unwrap_or_else(|| indefinite.to_vec());
        let unmasked = env.flags & !(self.fpu.cw as u8) & (f80::IE | f80::OE | f80::UE | f80::DE);
        if unmasked == 0 {
            self.fpu_write(bus, i.seg(), off, &data)?;
        }
        self.fpu.sw |= env.flags as u16 & 0x7F;
        self.fpu.set_c1(env.c1);
        if unmasked == 0 && pop {
            self.fpu.pop();
        }
        Ok(())
    }

    // ----- memory forms ---------------------------------------------------------------------

    fn esc_mem<B: Bus>(&mut self, bus: &mut B, i: &Insn, op: u8) -> Result<(), Fault> {
        let r = i.reg();
        match (op, r) {
            (0 | 2 | 4 | 6, _) => {
                // Arithmetic with m32real, m32int, m64real, m16int.
                let mut env = self.env();
                let v = match op {
                    0 => {
                        let b = self.fpu_read_n::<4>(bus, i)?;
                        f80::from_ieee(&mut env, u32::from_le_bytes(b) as u64, true)
                    }
                    2 => f80::from_int(i32::from_le_bytes(self.fpu_read_n::<4>(bus, i)?) as i64),
                    4 => f80::from_ieee(
                        &mut env,
                        u64::from_le_bytes(self.fpu_read_n::<8>(bus, i)?),
                        false,
                    ),
                    _ => f80::from_int(i16::from_le_bytes(self.fpu_read_n::<2>(bus, i)?) as i64),
                };
                match r {
                    2 | 3 => self.fpu_compare(Src::Val(v), env, false, false, r - 2),
                    _ => self.fpu_arith(r, 0, Src::Val(v), env, false),
                }
                Ok(())
            }
            (1, 0) | (5, 0) => {
                let mut env = self.env();
                let v = if op == 1 {
                    let b = self.fpu_read_n::<4>(bus, i)?;
                    f80::from_ieee(&mut env, u32::from_le_bytes(b) as u64, true)
                } else {
                    f80::from_ieee(
                        &mut env,
                        u64::from_le_bytes(self.fpu_read_n::<8>(bus, i)?),
                        false,
                    )
                };
                self.fpu_load(v, env);
                Ok(())
            }
            (1, 2) | (1, 3) => {
                self.fpu_store(bus, i, r == 3, &0xFFC0_0000u32.to_le_bytes(), |e, v| {
                    Some((f80::to_ieee(e, v, true) as u32).to_le_bytes().to_vec())
                })
            }
            (5, 2) | (5, 3) => self.fpu_store(
                bus,
                i,
                r == 3,
                &0xFFF8_0000_0000_0000u64.to_le_bytes(),
                |e, v| Some(f80::to_ieee(e, v, false).to_le_bytes().to_vec()),
            ),
            (1, 4) => self.fldenv(bus, i).map(|_| ()),
            (1, 5) => {
                let v = self.fpu_read_n::<2>(bus, i)?;
                self.fpu.cw = u16::from_le_bytes(v) | 0x40;
                Ok(())
            }
            (1, 6) => {
                let off = self.ea(i);
                let img = self.env_image(i.o32());
                self.fpu_write(bus, i.seg(), off, &img)?;
                self.fpu.cw |= 0x3F;
                Ok(())
            }
            (1, 7) => {
                let off = self.ea(i);
                self.write_mem(bus, i.seg(), off, 2, self.fpu.cw as u32)
            }
            (3, 0) | (7, 0) | (7, 5) => {
                let v = match (op, r) {
                    (3, _) => i32::from_le_bytes(self.fpu_read_n::<4>(bus, i)?) as i64,
                    (7, 0) => i16::from_le_bytes(self.fpu_read_n::<2>(bus, i)?) as i64,
                    _ => i64::from_le_bytes(self.fpu_read_n::<8>(bus, i)?),
                };
                let env = self.env();
                self.fpu_load(f80::from_int(v), env);
                Ok(())
            }
            (3, 2) | (3, 3) => {
                self.fpu_store(bus, i, r == 3, &0x8000_0000u32.to_le_bytes(), |e, v| {
                    f80::to_int(e, v, 32).map(|n| (n as i32).to_le_bytes().to_vec())
                })
            }
            (7, 2) | (7, 3) => self.fpu_store(bus, i, r == 3, &0x8000u16.to_le_bytes(), |e, v| {
                f80::to_int(e, v, 16).map(|n| (n as i16).to_le_bytes().to_vec())
            }),
            (7, 7) => self.fpu_store(
                bus,
                i,
                true,
                &0x8000_0000_0000_0000u64.to_le_bytes(),
                |e, v| f80::to_int(e, v, 64).map(|n| n.to_le_bytes().to_vec()),
            ),
            (3, 5) => {
                let v = F80::from_bytes(self.fpu_read_n::<10>(bus, i)?);
                let env = self.env();
                self.fpu_load(v, env);
                Ok(())
            }
            (3, 7) => self.fpu_store(bus, i, true, &F80::INDEFINITE.to_bytes(), |_, v| {
                Some(v.to_bytes().to_vec())
            }),
            (7, 4) => {
                let v = f80::from_bcd(self.fpu_read_n::<10>(bus, i)?);
                let env = self.env();
                self.fpu_load(v, env);
                Ok(())
            }
            (7, 6) => self.fpu_store(bus, i, true, &f80::BCD_INDEFINITE, |e, v| {
                f80::to_bcd(e, v).map(|b| b.to_vec())
            }),
            (5, 4) => {
                // FRSTOR: the environment, then the eight registers in stack order.
                let off = self.ea(i);
                let n = if i.o32() { 28 } else { 14 };
                let mut regs = [0u8; 80];
                self.fpu_read(bus, i.seg(), off.wrapping_add(n), &mut regs)?;
                self.fldenv(bus, i)?;
                let values: Vec<F80> = regs
                    .chunks(10)
                    .map(|c| F80::from_bytes(c.try_into().unwrap_or([0; 10])))
                    .collect();
                let tw = self.fpu.tw;
                for (k, v) in values.into_iter().enumerate() {
                    let p = self.fpu.phys(k as u8);
                    self.fpu.regs[p] = v;
                }
                self.fpu.set_tag_word(tw);
                Ok(())
            }
            (5, 6) => {
                let off = self.ea(i);
                let mut img = self.env_image(i.o32());
                for k in 0..8 {
                    img.extend_from_slice(&self.fpu.st(k).to_bytes());
                }
                self.fpu_write(bus, i.seg(), off, &img)?;
                self.fpu.init();
                Ok(())
            }
            (5, 7) => {
                let off = self.ea(i);
                let v = self.fpu.status_word();
                self.write_mem(bus, i.seg(), off, 2, v as u32)
            }
            _ => Err(Fault::UD),
        }
    }

    /// The FSTENV/FSAVE environment image (14 or 28 bytes) in the current mode's layout
    /// (SDM Vol. 1, figures 8-9 to 8-12; virtual-8086 mode uses the real-mode layout).
    /// Reserved upper halves of the 32-bit layout are written as ones.
    fn env_image(&self, o32: bool) -> Vec<u8> {
        let f = &self.fpu;
        let pm = self.protected() && !self.v86();
        let ip = ((f.fcs as u32) << 4).wrapping_add(f.fip);
        let dp = ((f.fds as u32) << 4).wrapping_add(f.fdp);
        let (cw, sw, tw) = (f.cw as u32, f.status_word() as u32, f.tag_word() as u32);
        let fop = f.fop as u32 & 0x7FF;
        let mut out = Vec::with_capacity(28);
        if o32 {
            let hi = 0xFFFF_0000;
            let words = if pm {
                [
                    cw | hi,
                    sw | hi,
                    tw | hi,
                    f.fip,
                    f.fcs as u32 | fop << 16,
                    f.fdp,
                    f.fds as u32 | hi,
                ]
            } else {
                [
                    cw | hi,
                    sw | hi,
                    tw | hi,
                    ip & 0xFFFF | hi,
                    (ip >> 16) << 12 | fop,
                    dp & 0xFFFF | hi,
                    (dp >> 16) << 12,
                ]
            };
            for w in words {
                out.extend_from_slice(&w.to_le_bytes());
            }
        } else {
            let words = if pm {
                [
                    cw,
                    sw,
                    tw,
                    f.fip & 0xFFFF,
                    f.fcs as u32,
                    f.fdp & 0xFFFF,
                    f.fds as u32,
                ]
            } else {
                [
                    cw,
                    sw,
                    tw,
                    ip & 0xFFFF,
                    ((ip >> 16) & 0xF) << 12 | fop,
                    dp & 0xFFFF,
                    ((dp >> 16) & 0xF) << 12,
                ]
            };
            for w in words {
                out.extend_from_slice(&(w as u16).to_le_bytes());
            }
        }
        out
    }

    /// FLDENV (and the first part of FRSTOR).
    fn fldenv<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let off = self.ea(i);
        let o32 = i.o32();
        let mut raw = [0u8; 28];
        let n = if o32 { 28 } else { 14 };
        self.fpu_read(bus, i.seg(), off, &mut raw[..n])?;
        let w: Vec<u32> = if o32 {
            raw.chunks(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        } else {
            raw[..14]
                .chunks(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]) as u32)
                .collect()
        };
        let pm = self.protected() && !self.v86();
        let f = &mut self.fpu;
        f.cw = w[0] as u16 | 0x40;
        f.set_status_word(w[1] as u16);
        f.set_tag_word(w[2] as u16);
        if pm {
            f.fip = if o32 { w[3] } else { w[3] & 0xFFFF };
            f.fcs = w[4] as u16;
            f.fop = if o32 {
                (w[4] >> 16) as u16 & 0x7FF
            } else {
                f.fop
            };
            f.fdp = if o32 { w[5] } else { w[5] & 0xFFFF };
            f.fds = w[6] as u16;
        } else {
            let hi_shift = 12;
            let hi_mask = if o32 { 0xFFFF } else { 0xF };
            f.fcs = 0;
            f.fip = (w[3] & 0xFFFF) | ((w[4] >> hi_shift) & hi_mask) << 16;
            f.fop = (w[4] & 0x7FF) as u16;
            f.fds = 0;
            f.fdp = (w[5] & 0xFFFF) | ((w[6] >> hi_shift) & hi_mask) << 16;
        }
        Ok(())
    }

    // ----- register forms -------------------------------------------------------------------

    fn esc_reg(&mut self, i: &Insn, op: u8) -> Result<(), Fault> {
        let m = i.modrm;
        let st = m & 7;
        let r = i.reg();
        let p6 = self.model >= CpuModel::PentiumII;
        match (op, r) {
            (0, 2) | (0, 3) => self.fpu_compare(Src::St(st), self.env(), false, false, r - 2),
            (0, _) => self.fpu_arith(r, 0, Src::St(st), self.env(), false),
            (4, 2) | (4, 3) | (6, 2) => {
                let pops = if op == 6 || r == 3 { 1 } else { 0 };
                self.fpu_compare(Src::St(st), self.env(), false, false, pops)
            }
            (6, 3) if st == 1 => self.fpu_compare(Src::St(1), self.env(), false, false, 2),
            (6, 3) => return Err(Fault::UD),
            (4, _) | (6, _) => {
                // DC/DE: the destination is ST(i) and the SUB/SUBR, DIV/DIVR members swap.
                let r = if r >= 4 { r ^ 1 } else { r };
                self.fpu_arith(r, st, Src::St(0), self.env(), op == 6)
            }
            (1, 0) => {
                if self.fpu.is_empty(st) {
                    if self.fpu_underflow() {
                        self.fpu_push(F80::INDEFINITE);
                    }
                } else {
                    let v = self.fpu.st(st);
                    self.fpu.set_c1(false);
                    self.fpu_push(v);
                }
            }
            (1, 1) | (5, 1) | (7, 1) => self.fxch(st),
            (1, 2) if st == 0 => {} // FNOP
            (1, 3) | (5, 2) | (5, 3) | (7, 2) | (7, 3) => {
                let pop = !(op == 5 && r == 2);
                if self.fpu.is_empty(0) {
                    if self.fpu_underflow() {
                        self.fpu.set_st(st, F80::INDEFINITE);
                        if pop {
                            self.fpu.pop();
                        }
                    }
                } else {
                    let v = self.fpu.st(0);
                    self.fpu.set_st(st, v);
                    self.fpu.set_c1(false);
                    if pop {
                        self.fpu.pop();
                    }
                }
            }
            (1, 4) => return self.d9_e0(st),
            (1, 5) => return self.fpu_const(st),
            (1, 6) | (1, 7) => return self.d9_f0(m),
            (2, 5) if m == 0xE9 => self.fpu_compare(Src::St(1), self.env(), true, false, 2),
            (2, 0..=3) | (3, 0..=3) => {
                if !p6 {
                    return Err(Fault::UD);
                }
                let cc = [2u8, 4, 6, 0xA][r as usize] | (op == 3) as u8;
                let take = self.flags.cond(cc);
                if self.fpu.is_empty(0) || self.fpu.is_empty(st) {
                    if self.fpu_underflow() {
                        self.fpu.set_st(0, F80::INDEFINITE);
                    }
                } else if take {
                    let v = self.fpu.st(st);
                    self.fpu.set_st(0, v);
                }
            }
            (2, _) => return Err(Fault::UD),
            (3, 4) => match m {
                0xE0 | 0xE1 | 0xE4 => {} // FENI, FDISI, FSETPM: no effect on the 387 and later
                0xE2 => {
                    self.fpu.sw &= !(fpu::SW_EXCEPTIONS | fpu::SW_SF | SW_ES | fpu::SW_B);
                }
                0xE3 => self.fpu.init(),
                _ => return Err(Fault::UD),
            },
            (3, 5) | (3, 6) | (7, 5) | (7, 6) => {
                if !p6 {
                    return Err(Fault::UD);
                }
                let pop = op == 7;
                self.fpu_compare(Src::St(st), self.env(), r == 5, true, pop as u8);
            }
            (5, 0) => self.fpu.free(st),
            (5, 4) | (5, 5) => self.fpu_compare(Src::St(st), self.env(), true, false, r - 4),
            (7, 0) => {
                self.fpu.free(st);
                self.fpu.pop();
            }
            (7, 4) if m == 0xE0 => {
                let v = self.fpu.status_word();
                self.set_r16(reg::AX, v);
            }
            _ => return Err(Fault::UD),
        }
        Ok(())
    }

    fn fxch(&mut self, st: u8) {
        let (e0, ei) = (self.fpu.is_empty(0), self.fpu.is_empty(st));
        if e0 || ei {
            if !self.fpu_underflow() {
                return;
            }
        } else {
            self.fpu.set_c1(false);
        }
        let a = if e0 { F80::INDEFINITE } else { self.fpu.st(0) };
        let b = if ei { F80::INDEFINITE } else { self.fpu.st(st) };
        self.fpu.set_st(0, b);
        self.fpu.set_st(st, a);
    }

    /// D9 E0–E7: FCHS FABS FTST FXAM.
    fn d9_e0(&mut self, st: u8) -> Result<(), Fault> {
        match st {
            0 | 1 => {
                if self.fpu.is_empty(0) {
                    if self.fpu_underflow() {
                        self.fpu.set_st(0, F80::INDEFINITE);
                    }
                } else {
                    let v = self.fpu.st(0);
                    self.fpu.set_st(0, if st == 0 { v.neg() } else { v.abs() });
                    self.fpu.set_c1(false);
                }
            }
            4 => self.fpu_compare(Src::Val(F80::ZERO), self.env(), false, false, 0),
            5 => {
                let v = self.fpu.st(0);
                let c = if self.fpu.is_empty(0) {
                    0b101
                } else {
                    f80::examine(v)
                };
                self.fpu
                    .set_cc(c & 4 != 0, c & 2 != 0, v.sign(), c & 1 != 0);
            }
            _ => return Err(Fault::UD),
        }
        Ok(())
    }

    /// D9 E8–EE: the constants, rounded per RC.
    fn fpu_const(&mut self, st: u8) -> Result<(), Fault> {
        let rc = self.env().rounding();
        let v = match st {
            0 => F80::ONE,
            1 => f80::constant(rc, f80::L2T.0, f80::L2T.1),
            2 => f80::constant(rc, f80::L2E.0, f80::L2E.1),
            3 => f80::constant(rc, f80::PI.0, f80::PI.1),
            4 => f80::constant(rc, f80::LG2.0, f80::LG2.1),
            5 => f80::constant(rc, f80::LN2.0, f80::LN2.1),
            6 => F80::ZERO,
            _ => return Err(Fault::UD),
        };
        self.fpu.set_c1(false);
        self.fpu_push(v);
        Ok(())
    }

    /// D9 F0–FF: the transcendental and other one- and two-operand instructions.
    fn d9_f0(&mut self, m: u8) -> Result<(), Fault> {
        match m {
            0xF0 => self.fpu_unary(trans::f2xm1),
            0xF1 | 0xF3 | 0xF9 => self.fpu_two(m),
            0xF2 | 0xFB | 0xFE | 0xFF => self.fpu_trig(m),
            0xF4 => self.fxtract(),
            0xF5 | 0xF8 => self.fprem(m == 0xF5),
            0xF6 => {
                self.fpu.top = (self.fpu.top + 7) & 7;
                self.fpu.set_c1(false);
            }
            0xF7 => {
                self.fpu.top = (self.fpu.top + 1) & 7;
                self.fpu.set_c1(false);
            }
            0xFA => self.fpu_unary(f80::sqrt),
            0xFC => self.fpu_unary(f80::round_to_int),
            0xFD => self.fpu_two(m),
            _ => return Err(Fault::UD),
        }
        Ok(())
    }

    /// FYL2X, FPATAN, FYL2XP1 (ST(1) ← f(ST(0), ST(1)), pop) and FSCALE (ST(0) ← f).
    fn fpu_two(&mut self, m: u8) {
        let scale = m == 0xFD;
        let dst = if scale { 0 } else { 1 };
        if self.fpu.is_empty(0) || self.fpu.is_empty(1) {
            if self.fpu_underflow() {
                self.fpu.set_st(dst, F80::INDEFINITE);
                if !scale {
                    self.fpu.pop();
                }
            }
            return;
        }
        let (x, y) = (self.fpu.st(0), self.fpu.st(1));
        let mut env = self.env();
        let v = match m {
            0xF1 => trans::fyl2x(&mut env, x, y),
            0xF3 => trans::fpatan(&mut env, x, y),
            0xF9 => trans::fyl2xp1(&mut env, x, y),
            _ => f80::scale(&mut env, x, y),
        };
        if self.fpu_commit(&env) {
            self.fpu.set_st(dst, v);
            self.fpu.set_c1(env.c1);
            if !scale {
                self.fpu.pop();
            }
        }
    }

    /// FSIN, FCOS, FSINCOS, FPTAN: C2 = 1 and nothing else changes for |x| ≥ 2^63.
    fn fpu_trig(&mut self, m: u8) {
        let pushes = matches!(m, 0xF2 | 0xFB);
        if self.fpu.is_empty(0) {
            if self.fpu_underflow() {
                self.fpu.set_st(0, F80::INDEFINITE);
                if pushes {
                    self.fpu_push(F80::INDEFINITE);
                }
            }
            return;
        }
        if pushes && !self.fpu.is_empty(7) {
            if self.fpu_overflow() {
                self.fpu.set_st(0, F80::INDEFINITE);
                self.fpu.push(F80::INDEFINITE);
            }
            return;
        }
        let x = self.fpu.st(0);
        let mut env = self.env();
        if let Err(v) = trans::trig_operand(&mut env, x) {
            if self.fpu_commit(&env) {
                self.fpu.set_st(0, v);
                if pushes {
                    self.fpu.push(v);
                }
                self.fpu.sw &= !SW_C2;
            }
            return;
        }
        if x.class() != f80::Class::Zero && !trans::in_trig_range(x) {
            self.fpu.sw |= SW_C2;
            self.fpu.sw |= env.flags as u16;
            return;
        }
        let (a, b) = if x.class() == f80::Class::Zero {
            // sin ±0 = tan ±0 = ±0 (the sign kept), cos 0 = 1.
            match m {
                0xFE => (x, None),
                0xFF => (F80::ONE, None),
                _ => (x, Some(F80::ONE)),
            }
        } else {
            let (s, c) = trans::sin_cos(x);
            let (a, b) = match m {
                0xFE => (s, None),
                0xFF => (c, None),
                0xFB => (s, Some(c)),
                _ => (s / c, Some(Wide::from_u64(1))),
            };
            (a.to_f80(&mut env), b.map(|b| b.to_f80(&mut env)))
        };
        if self.fpu_commit(&env) {
            self.fpu.set_st(0, a);
            if let Some(b) = b {
                self.fpu.push(b);
            }
            self.fpu.set_c1(env.c1);
            self.fpu.sw &= !SW_C2;
        }
    }

    /// FXTRACT: ST(0) ← exponent, then push the significand.
    fn fxtract(&mut self) {
        if self.fpu.is_empty(0) {
            if self.fpu_underflow() {
                self.fpu.set_st(0, F80::INDEFINITE);
                self.fpu_push(F80::INDEFINITE);
            }
            return;
        }
        if !self.fpu.is_empty(7) {
            if self.fpu_overflow() {
                self.fpu.set_st(0, F80::INDEFINITE);
                self.fpu.push(F80::INDEFINITE);
            }
            return;
        }
        let mut env = self.env();
        let (e, s) = f80::extract(&mut env, self.fpu.st(0));
        if self.fpu_commit(&env) {
            self.fpu.set_st(0, e);
            self.fpu.push(s);
            self.fpu.set_c1(false);
        }
    }

    /// FPREM (`ieee` false) and FPREM1: C2 = incomplete, C0 C3 C1 = Q2 Q1 Q0.
    fn fprem(&mut self, ieee: bool) {
        if self.fpu.is_empty(0) || self.fpu.is_empty(1) {
            if self.fpu_underflow() {
                self.fpu.set_st(0, F80::INDEFINITE);
            }
            return;
        }
        let mut env = self.env();
        let r = f80::remainder(&mut env, self.fpu.st(0), self.fpu.st(1), ieee);
        if self.fpu_commit(&env) {
            self.fpu.set_st(0, r.value);
            let q = r.q;
            self.fpu
                .set_cc(q & 2 != 0, !r.complete, q & 1 != 0, q & 4 != 0);
        }
    }

    // ----- FXSAVE / FXRSTOR -----------------------------------------------------------------

    /// 0F AE /0 FXSAVE and /1 FXRSTOR (Pentium II): the 512-byte image, 16-byte aligned.
    /// The x87 part (bytes 0–159) is written; the SSE fields this model lacks (MXCSR, XMM) are
    /// written as zero and the rest of the image is left alone.
    pub(crate) fn fxsave_group<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        if i.is_reg() || i.reg() > 1 {
            return Err(Fault::UD);
        }
        if self.cr[0] & CR0_EM != 0 {
            return Err(Fault::UD);
        }
        if self.cr[0] & CR0_TS != 0 {
            return Err(Fault::new(vector::NM));
        }
        let off = self.ea(i);
        if off & 15 != 0 {
            return Err(Fault::gp(0));
        }
        if i.reg() == 0 {
            let f = &self.fpu;
            let mut img = vec![0u8; 160];
            img[0..2].copy_from_slice(&f.cw.to_le_bytes());
            img[2..4].copy_from_slice(&f.status_word().to_le_bytes());
            img[4] = f.abridged_tag();
            img[6..8].copy_from_slice(&(f.fop & 0x7FF).to_le_bytes());
            img[8..12].copy_from_slice(&f.fip.to_le_bytes());
            img[12..14].copy_from_slice(&f.fcs.to_le_bytes());
            img[16..20].copy_from_slice(&f.fdp.to_le_bytes());
            img[20..22].copy_from_slice(&f.fds.to_le_bytes());
            for k in 0..8u8 {
                let at = 32 + 16 * k as usize;
                img[at..at + 10].copy_from_slice(&f.st(k).to_bytes());
            }
            self.fpu_write(bus, i.seg(), off, &img)
        } else {
            let mut img = [0u8; 160];
            self.fpu_read(bus, i.seg(), off, &mut img)?;
            let w = |a: usize| u16::from_le_bytes([img[a], img[a + 1]]);
            let d = |a: usize| u32::from_le_bytes([img[a], img[a + 1], img[a + 2], img[a + 3]]);
            let f = &mut self.fpu;
            f.cw = w(0) | 0x40;
            f.set_status_word(w(2));
            f.fop = w(6) & 0x7FF;
            f.fip = d(8);
            f.fcs = w(12);
            f.fdp = d(16);
            f.fds = w(20);
            for k in 0..8u8 {
                let at = 32 + 16 * k as usize;
                let mut b = [0u8; 10];
                b.copy_from_slice(&img[at..at + 10]);
                let p = f.phys(k);
                f.regs[p] = F80::from_bytes(b);
            }
            f.set_abridged_tag(img[4]);
            self.fpu_sync(bus);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::cpu::{Cpu, CpuModel};

    fn words(b: &[u8], size: usize) -> Vec<u32> {
        b.chunks(size)
            .map(|c| c.iter().rev().fold(0u32, |v, &x| v << 8 | x as u32))
            .collect()
    }

    #[test]
    fn environment_layouts_in_protected_mode() {
        let mut cpu = Cpu::new(CpuModel::I486);
        cpu.fpu.init();
        cpu.fpu.fip = 0x0012_3456;
        cpu.fpu.fcs = 0x0008;
        cpu.fpu.fop = 0x1E8;
        cpu.fpu.fdp = 0x0009_8765;
        cpu.fpu.fds = 0x0010;
        cpu.cr[0] |= 1;
        // 16-bit: CW SW TW IP CS DP DS.
        let w = words(&cpu.env_image(false), 2);
        assert_eq!(w, [0x037F, 0, 0xFFFF, 0x3456, 0x0008, 0x8765, 0x0010]);
        // 32-bit: the opcode shares the CS dword.
        let d = words(&cpu.env_image(true), 4);
        assert_eq!(
            d[3..7],
            [0x0012_3456, 0x01E8_0008, 0x0009_8765, 0xFFFF_0010]
        );
        // Real mode: 20-bit linear pointers, split around the opcode.
        cpu.cr[0] &= !1;
        let w = words(&cpu.env_image(false), 2);
        let ip = (0x0008 << 4) + 0x0012_3456u32;
        let dp = (0x0010 << 4) + 0x0009_8765u32;
        assert_eq!(
            w[3..7],
            [
                ip & 0xFFFF,
                ((ip >> 16) & 0xF) << 12 | 0x1E8,
                dp & 0xFFFF,
                ((dp >> 16) & 0xF) << 12
            ]
        );
    }
}
