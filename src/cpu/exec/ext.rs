//! The `0F xx` opcodes of the 286, 386 and 486 (real-mode behaviour).

use super::arith::{mask, sext};
use crate::cpu::decode::seg;
use crate::cpu::flags;
use crate::cpu::{reg, Bus, Cpu, CpuModel, Fault, Insn};

const CR0_PE: u32 = 1;
const CR0_TS: u32 = 1 << 3;

impl Cpu {
    /// Dispatches a `0F xx` opcode (row `0x100 | xx`).
    pub(crate) fn exec_0f<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let op = (i.op & 0xFF) as u8;
        match op {
            // SLDT STR LLDT LTR VERR VERW, LAR, LSL: protected mode only.
            0x00 => self.grp6(bus, i),
            0x02 | 0x03 => self.lar_lsl(bus, i),
            0x01 => self.grp7(bus, i),
            0x06 => {
                self.require_cpl0()?;
                self.cr[0] &= !CR0_TS;
                Ok(())
            }
            0x08 | 0x09 => self.invalidate_caches(),
            0x20 | 0x22 => self.mov_cr(bus, i),
            0x21 | 0x23 => self.mov_dr(i),
            0x24 | 0x26 => {
                // Test registers: reads give 0, writes are ignored.
                if op == 0x24 {
                    self.regs[i.rm() as usize] = 0;
                }
                Ok(())
            }
            0x30 => self.wrmsr(),
            0x31 => self.rdtsc(),
            0x32 => self.rdmsr(),
            0x33 => self.rdpmc(),
            0x34 => self.sysenter(),
            0x35 => self.sysexit(),
            0xA0 | 0xA8 => {
                let s = if op == 0xA0 { seg::FS } else { seg::GS };
                let v = self.segs[s as usize].selector as u32;
                self.push(bus, i.osize(), v)
            }
            0xA1 | 0xA9 => {
                let s = if op == 0xA1 { seg::FS } else { seg::GS };
                let v = self.peek(bus, 0, i.osize())?;
                self.load_seg(bus, s, v as u16)?;
                let sp = self.sp().wrapping_add(i.osize() as u32);
                self.set_sp(sp);
                Ok(())
            }
            0xAE => self.fxsave_group(bus, i),
            0x60..=0x7F | 0xD0..=0xFF => self.mmx(bus, i),
            0xA2 => self.cpuid(),
            0xA3 | 0xAB | 0xB3 | 0xBB => {
                let kind = match op {
                    0xA3 => 0,
                    0xAB => 1,
                    0xB3 => 2,
                    _ => 3,
                };
                let size = i.osize();
                let bit = self.reg(i.reg(), size);
                self.bit_op(bus, i, kind, bit, true)
            }
            0xBA => {
                if i.reg() < 4 {
                    return Err(Fault::UD);
                }
                self.bit_op(bus, i, i.reg() - 4, i.imm & 0xFF, false)
            }
            0xA4 | 0xA5 | 0xAC | 0xAD => {
                let count = if op & 1 == 0 {
                    i.imm
                } else {
                    self.r8(reg::CX) as u32
                } & 31;
                let size = i.osize();
                let src = self.reg(i.reg(), size);
                let off = if i.is_reg() { 0 } else { self.ea(i) };
                let dst = self.read_for_write(bus, i, off, size)?;
                if count == 0 {
                    return Ok(());
                }
                let r = self.double_shift(size, dst, src, count, op < 0xAC);
                if i.is_reg() {
                    self.set_reg(i.rm(), size, r);
                    Ok(())
                } else {
                    self.write_mem(bus, i.seg(), off, size, r)
                }
            }
            0xB0 | 0xB1 => {
                let size = if op & 1 == 0 { 1 } else { i.osize() };
                let off = if i.is_reg() { 0 } else { self.ea(i) };
                let dst = self.read_for_write(bus, i, off, size)?;
                let acc = self.reg(reg::AX, size);
                self.alu(7, size, acc, dst);
                let (new_dst, equal) = if acc == dst {
                    (self.reg(i.reg(), size), true)
                } else {
                    (dst, false)
                };
                if i.is_reg() {
                    self.set_reg(i.rm(), size, new_dst);
                } else {
                    self.write_mem(bus, i.seg(), off, size, new_dst)?;
                }
                if !equal {
                    self.set_reg(reg::AX, size, dst);
                }
                Ok(())
            }
            0xB2 => self.load_far_pointer(bus, i, seg::SS),
            0xB4 => self.load_far_pointer(bus, i, seg::FS),
            0xB5 => self.load_far_pointer(bus, i, seg::GS),
            0xBC | 0xBD => {
                let size = i.osize();
                let v = self.read_rm(bus, i, size)?;
                if v == 0 {
                    self.flags.assign(flags::ZF, true);
                } else {
                    let idx = if op == 0xBC {
                        v.trailing_zeros()
                    } else {
                        31 - v.leading_zeros()
                    };
                    self.cycles += idx as u64 / 4;
                    self.set_reg(i.reg(), size, idx);
                    self.flags.assign(flags::ZF, false);
                }
                Ok(())
            }
            0xC0 | 0xC1 => {
                let size = if op & 1 == 0 { 1 } else { i.osize() };
                let src = self.reg(i.reg(), size);
                let off = if i.is_reg() { 0 } else { self.ea(i) };
                let dst = self.read_for_write(bus, i, off, size)?;
                let sum = self.alu(0, size, dst, src);
                if i.is_reg() {
                    self.set_reg(i.reg(), size, dst);
                    self.set_reg(i.rm(), size, sum);
                    Ok(())
                } else {
                    self.write_mem(bus, i.seg(), off, size, sum)?;
                    self.set_reg(i.reg(), size, dst);
                    Ok(())
                }
            }
            0xC7 => self.cmpxchg8b(bus, i),
            0xC8..=0xCF => {
                let r = (op & 7) as usize;
                self.regs[r] = if i.o32() {
                    self.regs[r].swap_bytes()
                } else {
                    self.regs[r] & 0xFFFF_0000
                };
                Ok(())
            }
            _ => Err(Fault::UD),
        }
    }

    /// The r/m destination of a read-modify-write (`off` is its offset when in memory): a
    /// memory operand is read and its write checked at once, so a write that would fault does
    /// so before the instruction changes any flag.
    fn read_for_write<B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
        off: u32,
        size: u8,
    ) -> Result<u32, Fault> {
        if i.is_reg() {
            return Ok(self.reg(i.rm(), size));
        }
        let v = self.read_mem(bus, i.seg(), off, size)?;
        self.probe_write(bus, i.seg(), off, size)?;
        Ok(v)
    }

    /// BT/BTS/BTR/BTC (`kind` 0–3). A register bit offset may address memory beyond the
    /// operand (signed, in operand-size units); an immediate offset is taken modulo the size.
    fn bit_op<B: Bus>(
        &mut self,
        bus: &mut B,
        i: &Insn,
        kind: u8,
        bit: u32,
        from_reg: bool,
    ) -> Result<(), Fault> {
        let size = i.osize();
        let bits = size as u32 * 8;
        let (off, sel) = if i.is_reg() || !from_reg {
            (if i.is_reg() { 0 } else { self.ea(i) }, bit % bits)
        } else {
            let signed = sext(bit, size) as i64;
            let unit = signed.div_euclid(bits as i64);
            let off = self.ea(i).wrapping_add((unit * size as i64) as u32) & self.ea_mask(i);
            (off, signed.rem_euclid(bits as i64) as u32)
        };
        let v = if i.is_reg() {
            self.reg(i.rm(), size)
        } else {
            self.read_mem(bus, i.seg(), off, size)?
        };
        let cf = (v >> sel) & 1 != 0;
        let nv = match kind {
            1 => v | 1 << sel,
            2 => v & !(1 << sel),
            3 => v ^ 1 << sel,
            _ => v,
        };
        if kind != 0 {
            if i.is_reg() {
                self.set_reg(i.rm(), size, nv);
            } else {
                // CF changes only once the write is done: a write that faults (a read-only
                // segment or page) leaves the flags as they were.
                self.write_mem(bus, i.seg(), off, size, nv)?;
            }
        }
        self.flags.assign(flags::CF, cf);
        Ok(())
    }

    /// SHLD (`left`) / SHRD: shifts `dst` filling from `src`; `count` is 1–31.
    fn double_shift(&mut self, size: u8, dst: u32, src: u32, count: u32, left: bool) -> u32 {
        let bits = size as u32 * 8;
        let m = mask(size) as u64;
        let (r, cf) = if left {
            let wide = ((dst as u64 & m) << bits) | (src as u64 & m);
            let wide = if size == 2 { wide << 32 | wide } else { wide };
            let total = if size == 2 { 64 } else { 2 * bits };
            let r = (wide << count) >> (total - bits);
            let cf = (wide >> (total - count)) & 1 != 0;
            (r & m, cf)
        } else {
            let wide = ((src as u64 & m) << bits) | (dst as u64 & m);
            let wide = if size == 2 {
                (dst as u64 & m) << 32 | wide
            } else {
                wide
            };
            let r = wide >> count;
            let cf = (wide >> (count - 1)) & 1 != 0;
            (r & m, cf)
        };
        let of = ((r ^ dst as u64) >> (bits - 1)) & 1 != 0;
        self.flags.set_szp(size, r as u32, cf, false, of);
        r as u32
    }

    /// Group 7: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG.
    fn grp7<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let r = i.reg();
        if i.is_reg() && r != 4 && r != 6 {
            return Err(Fault::UD);
        }
        match r {
            0 | 1 => {
                let t = if r == 0 { self.gdtr } else { self.idtr };
                let off = self.ea(i);
                self.write_mem(bus, i.seg(), off, 2, t.limit as u32)?;
                // The 286 stores 0xFF in the unused high byte; the 386 with a 16-bit operand 0.
                let base = match (self.model, i.o32()) {
                    (CpuModel::I286, _) => t.base | 0xFF00_0000,
                    (_, false) => t.base & 0x00FF_FFFF,
                    _ => t.base,
                };
                self.write_mem(bus, i.seg(), off.wrapping_add(2) & self.ea_mask(i), 4, base)
            }
            2 | 3 => {
                self.require_cpl0()?;
                let off = self.ea(i);
                let limit = self.read_mem(bus, i.seg(), off, 2)? as u16;
                let base = self.read_mem(bus, i.seg(), off.wrapping_add(2) & self.ea_mask(i), 4)?;
                let base = if i.o32() { base } else { base & 0x00FF_FFFF };
                let t = crate::cpu::TableReg { base, limit };
                if r == 2 {
                    self.gdtr = t;
                } else {
                    self.idtr = t;
                }
                Ok(())
            }
            4 => {
                let size = if i.is_reg() { i.osize() } else { 2 };
                let v = self.cr[0];
                self.write_rm(bus, i, size, v)
            }
            6 => {
                self.require_cpl0()?;
                let v = self.read_rm(bus, i, 2)?;
                // LMSW can set PE but never clear it, and touches only the low four bits.
                let new = (self.cr[0] & !0xE) | (v & 0xF) | (self.cr[0] & CR0_PE);
                self.set_cr0_checked(bus, new)
            }
            7 if self.model >= CpuModel::I486 => self.invlpg(i),
            _ => Err(Fault::UD),
        }
    }

    /// MOV to/from CR0, CR2, CR3, CR4 (0F 20 / 0F 22). The ModRM always names a register.
    fn mov_cr<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        let n = i.reg() as usize;
        let has_cr4 = crate::cpu::cpuid::cr4_writable(self.model) != 0;
        if !(matches!(n, 0 | 2 | 3) || n == 4 && has_cr4) {
            return Err(Fault::UD);
        }
        self.require_cpl0()?;
        if i.op == 0x120 {
            self.regs[i.rm() as usize] = self.cr[n];
            Ok(())
        } else {
            let v = self.regs[i.rm() as usize];
            self.write_cr(bus, n, v)
        }
    }
}
