//! MMX (Pentium II): eight 64-bit registers MM0–MM7 that alias the significands of the x87
//! registers R0–R7 (SDM Vol. 1, chapter 9), and the packed integer instructions of `0F 60–7F`
//! and `0F D0–FF`.
//!
//! Every MMX instruction but EMMS sets TOP to 0 and tags every x87 register valid; a write
//! to an MMX register also sets the sign and exponent bits of that x87 register to ones.
//! EMMS tags every register empty. CR0.EM makes the instructions #UD, CR0.TS #NM, and a
//! pending unmasked x87 exception is reported (#MF) first, as for a waiting x87 instruction.

use crate::cpu::fault::vector;
use crate::cpu::{Bus, Cpu, Fault, Insn};

const CR0_EM: u32 = 1 << 2;
const CR0_TS: u32 = 1 << 3;

/// Applies `f` to each `bits`-wide lane of `a` and `b`.
fn lanes(a: u64, b: u64, bits: u32, f: impl Fn(u64, u64) -> u64) -> u64 {
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    (0..64 / bits).fold(0, |r, k| {
        let sh = k * bits;
        r | (f((a >> sh) & mask, (b >> sh) & mask) & mask) << sh
    })
}

/// A lane as a signed value.
fn sx(v: u64, bits: u32) -> i64 {
    ((v << (64 - bits)) as i64) >> (64 - bits)
}

/// Signed saturation to `bits`.
fn sat_s(v: i64, bits: u32) -> u64 {
    let (lo, hi) = (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1);
    v.clamp(lo, hi) as u64
}

/// Unsigned saturation to `bits`.
fn sat_u(v: i64, bits: u32) -> u64 {
    v.clamp(0, (1i64 << bits) - 1) as u64
}

/// Packs the `from`-bit lanes of `a` (low half of the result) and `b` (high half) into
/// `from / 2`-bit lanes with `sat`.
fn pack(a: u64, b: u64, from: u32, sat: impl Fn(i64, u32) -> u64) -> u64 {
    let to = from / 2;
    let n = 64 / from;
    let mut r = 0u64;
    for (k, v) in [a, b].iter().enumerate() {
        for j in 0..n {
            let x = sx((v >> (j * from)) & ((1u64 << from) - 1), from);
            r |= (sat(x, to) & ((1u64 << to) - 1)) << ((k as u32 * n + j) * to);
        }
    }
    r
}

/// Interleaves the lanes of the low (`high` false) or high halves of `a` and `b`.
fn unpack(a: u64, b: u64, bits: u32, high: bool) -> u64 {
    let n = 32 / bits;
    let base = if high { 32 } else { 0 };
    let mask = (1u64 << bits) - 1;
    let mut r = 0u64;
    for j in 0..n {
        let x = (a >> (base + j * bits)) & mask;
        let y = (b >> (base + j * bits)) & mask;
        r |= x << (2 * j * bits) | y << ((2 * j + 1) * bits);
    }
    r
}

/// Shifts each lane by `count` (`kind`: 0 logical right, 1 arithmetic right, 2 left).
fn shift(a: u64, count: u64, bits: u32, kind: u8) -> u64 {
    lanes(a, 0, bits, |x, _| {
        if count >= bits as u64 {
            match kind {
                1 => (sx(x, bits) >> (bits - 1)) as u64,
                _ => 0,
            }
        } else {
            let c = count as u32;
            match kind {
                0 => x >> c,
                1 => (sx(x, bits) >> c) as u64,
                _ => x << c,
            }
        }
    })
}

impl Cpu {
    /// Reads the 64-bit (or `size`-byte) source operand: an MMX register or memory.
    fn mmx_src<B: Bus>(&mut self, bus: &mut B, i: &Insn, size: u8) -> Result<u64, Fault> {
        if i.is_reg() {
            return Ok(self.fpu.mm(i.rm()));
        }
        let off = self.ea(i);
        let lo = self.read_mem(bus, i.seg(), off, 4.min(size))? as u64;
        if size <= 4 {
            return Ok(lo);
        }
        let hi = self.read_mem(bus, i.seg(), off.wrapping_add(4), 4)? as u64;
        Ok(lo | hi << 32)
    }

    /// An MMX instruction (`0F 60–7F`, `0F D0–FF`; the decoder admits them on the Pentium II
    /// only).
    pub(crate) fn mmx<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        if self.cr[0] & CR0_EM != 0 {
            return Err(Fault::UD);
        }
        if self.cr[0] & CR0_TS != 0 {
            return Err(Fault::new(vector::NM));
        }
        if self.fpu.sw & crate::cpu::fpu::SW_ES != 0 && self.cr[0] & (1 << 5) != 0 {
            return Err(Fault::new(16));
        }
        let op = (i.op & 0xFF) as u8;
        if op == 0x77 {
            self.fpu.emms();
            return Ok(());
        }
        let d = self.fpu.mm(i.reg());
        let r = match op {
            0x6E => self.read_rm(bus, i, 4)? as u64,
            0x7E => {
                self.fpu.enter_mmx();
                return self.write_rm(bus, i, 4, d as u32);
            }
            0x7F => {
                self.fpu.enter_mmx();
                if i.is_reg() {
                    self.fpu.set_mm(i.rm(), d);
                    return Ok(());
                }
                let off = self.ea(i);
                self.read_mem(bus, i.seg(), off.wrapping_add(7), 1)?;
                self.write_mem(bus, i.seg(), off, 4, d as u32)?;
                return self.write_mem(bus, i.seg(), off.wrapping_add(4), 4, (d >> 32) as u32);
            }
            0x71..=0x73 => {
                if !i.is_reg() {
                    return Err(Fault::UD);
                }
                let bits = [16, 32, 64][(op - 0x71) as usize];
                let kind = match i.reg() {
                    2 => 0,
                    4 if bits != 64 => 1,
                    6 => 2,
                    _ => return Err(Fault::UD),
                };
                let v = shift(self.fpu.mm(i.rm()), i.imm as u8 as u64, bits, kind);
                self.fpu.enter_mmx();
                self.fpu.set_mm(i.rm(), v);
                return Ok(());
            }
            _ => {
                let size = if matches!(op, 0x60..=0x62) { 4 } else { 8 };
                let s = self.mmx_src(bus, i, size)?;
                match op {
                    0x60 => unpack(d, s, 8, false),
                    0x61 => unpack(d, s, 16, false),
                    0x62 => unpack(d, s, 32, false),
                    0x63 => pack(d, s, 16, sat_s),
                    0x64 => lanes(d, s, 8, |a, b| mask_if(sx(a, 8) > sx(b, 8))),
                    0x65 => lanes(d, s, 16, |a, b| mask_if(sx(a, 16) > sx(b, 16))),
                    0x66 => lanes(d, s, 32, |a, b| mask_if(sx(a, 32) > sx(b, 32))),
                    0x67 => pack(d, s, 16, sat_u),
                    0x68 => unpack(d, s, 8, true),
                    0x69 => unpack(d, s, 16, true),
                    0x6A => unpack(d, s, 32, true),
                    0x6B => pack(d, s, 32, sat_s),
                    0x6F => s,
                    0x74 => lanes(d, s, 8, |a, b| mask_if(a == b)),
                    0x75 => lanes(d, s, 16, |a, b| mask_if(a == b)),
                    0x76 => lanes(d, s, 32, |a, b| mask_if(a == b)),
                    0xD1 => shift(d, s, 16, 0),
                    0xD2 => shift(d, s, 32, 0),
                    0xD3 => shift(d, s, 64, 0),
                    0xD5 => lanes(d, s, 16, |a, b| (sx(a, 16) * sx(b, 16)) as u64),
                    0xD8 => lanes(d, s, 8, |a, b| sat_u(a as i64 - b as i64, 8)),
                    0xD9 => lanes(d, s, 16, |a, b| sat_u(a as i64 - b as i64, 16)),
                    0xDB => d & s,
                    0xDC => lanes(d, s, 8, |a, b| sat_u(a as i64 + b as i64, 8)),
                    0xDD => lanes(d, s, 16, |a, b| sat_u(a as i64 + b as i64, 16)),
                    0xDF => !d & s,
                    0xE1 => shift(d, s, 16, 1),
                    0xE2 => shift(d, s, 32, 1),
                    0xE5 => lanes(d, s, 16, |a, b| ((sx(a, 16) * sx(b, 16)) >> 16) as u64),
                    0xE8 => lanes(d, s, 8, |a, b| sat_s(sx(a, 8) - sx(b, 8), 8)),
                    0xE9 => lanes(d, s, 16, |a, b| sat_s(sx(a, 16) - sx(b, 16), 16)),
                    0xEB => d | s,
                    0xEC => lanes(d, s, 8, |a, b| sat_s(sx(a, 8) + sx(b, 8), 8)),
                    0xED => lanes(d, s, 16, |a, b| sat_s(sx(a, 16) + sx(b, 16), 16)),
                    0xEF => d ^ s,
                    0xF1 => shift(d, s, 16, 2),
                    0xF2 => shift(d, s, 32, 2),
                    0xF3 => shift(d, s, 64, 2),
                    0xF5 => lanes(d, s, 32, |a, b| {
                        let p = |sh: u32| sx((a >> sh) & 0xFFFF, 16) * sx((b >> sh) & 0xFFFF, 16);
                        (p(0) + p(16)) as u64
                    }),
                    0xF8 => lanes(d, s, 8, u64::wrapping_sub),
                    0xF9 => lanes(d, s, 16, u64::wrapping_sub),
                    0xFA => lanes(d, s, 32, u64::wrapping_sub),
                    0xFC => lanes(d, s, 8, u64::wrapping_add),
                    0xFD => lanes(d, s, 16, u64::wrapping_add),
                    0xFE => lanes(d, s, 32, u64::wrapping_add),
                    _ => return Err(Fault::UD),
                }
            }
        };
        self.fpu.enter_mmx();
        self.fpu.set_mm(i.reg(), r);
        Ok(())
    }
}

fn mask_if(c: bool) -> u64 {
    if c {
        u64::MAX
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_helpers() {
        // PACKSSWB: 0x7FFF → 0x7F, 0x8000 → 0x80, 0x0012 → 0x12, 0xFF00 (−256) → 0x80.
        let a = 0xFF00_0012_8000_7FFF;
        assert_eq!(pack(a, 0, 16, sat_s), 0x0000_0000_8012_807F);
        // PACKUSWB clamps negatives to 0 and large to 0xFF.
        assert_eq!(pack(a, 0, 16, sat_u), 0x0000_0000_0012_00FF);
        assert_eq!(
            unpack(0x0706_0504_0302_0100, 0x1716_1514_1312_1110, 8, false),
            0x1303_1202_1101_1000
        );
        assert_eq!(
            unpack(0x0706_0504_0302_0100, 0x1716_1514_1312_1110, 16, true),
            0x1716_0706_1514_0504
        );
        assert_eq!(
            shift(0x8000_0001_8000_0001, 4, 32, 1),
            0xF800_0000_F800_0000
        );
        assert_eq!(
            shift(0x8000_0001_8000_0001, 40, 32, 1),
            0xFFFF_FFFF_FFFF_FFFF
        );
        assert_eq!(shift(0xFFFF, 16, 16, 2), 0);
        assert_eq!(
            lanes(0x7FFF, 0x0001, 16, |a, b| sat_s(sx(a, 16) + sx(b, 16), 16)),
            0x7FFF
        );
    }
}
