//! System instructions of the 486, the Pentium and the Pentium II: CPUID, RDTSC, RDMSR/WRMSR,
//! RDPMC, CMPXCHG8B, CMOVcc, SYSENTER/SYSEXIT, INVD/WBINVD.
//!
//! Behaviour follows the Intel SDM Vol. 2 instruction pages; the opcode table's `since` column
//! makes each one #UD on the models before the one that introduced it, so the handlers here
//! check only privilege and operands. The MSRs themselves are in [`crate::cpu::msr`], the CPUID
//! answers in [`crate::cpu::cpuid`].

use crate::cpu::cpuid::{self, cr4};
use crate::cpu::decode::seg;
use crate::cpu::flags;
use crate::cpu::{reg, Bus, Cpu, CpuModel, Fault, Insn, Segment};

/// Hidden attributes (descriptor bytes 5–6, limit bits excluded) of the flat segments SYSENTER
/// and SYSEXIT load: G = 1, D/B = 1, present, S = 1, and the type — execute/read accessed
/// code (Bh) or read/write accessed data (3h) — at DPL 0 or 3.
const FLAT_CODE_DPL0: u16 = 0xC09B;
const FLAT_DATA_DPL0: u16 = 0xC093;
const FLAT_CODE_DPL3: u16 = 0xC0FB;
const FLAT_DATA_DPL3: u16 = 0xC0F3;

/// A flat 4 GiB segment (base 0, limit FFFFFh in 4 KiB units) with the given selector.
fn flat(selector: u16, attrs: u16) -> Segment {
    Segment {
        selector,
        base: 0,
        limit: 0xFFFF_FFFF,
        attrs,
    }
}

impl Cpu {
    /// EDX:EAX := `v`.
    fn set_edx_eax(&mut self, v: u64) {
        self.regs[reg::AX as usize] = v as u32;
        self.regs[reg::DX as usize] = (v >> 32) as u32;
    }

    /// EDX:EAX as one value.
    fn edx_eax(&self) -> u64 {
        (self.regs[reg::DX as usize] as u64) << 32 | self.regs[reg::AX as usize] as u64
    }

    /// CPUID (0F A2): the model's answer for leaf EAX (see [`cpuid::cpuid`]). On the P6 family,
    /// leaf 1 also loads the microcode revision into BIOS_SIGN_ID.
    pub(super) fn cpuid(&mut self) -> Result<(), Fault> {
        let leaf = self.regs[reg::AX as usize];
        let r = cpuid::cpuid(self.model, leaf);
        if leaf == 1 && self.model >= CpuModel::PentiumII {
            self.msr.latch_microcode_revision();
        }
        self.regs[reg::AX as usize] = r.eax;
        self.regs[reg::BX as usize] = r.ebx;
        self.regs[reg::CX as usize] = r.ecx;
        self.regs[reg::DX as usize] = r.edx;
        Ok(())
    }

    /// RDTSC (0F 31): EDX:EAX := TSC. #GP(0) when CR4.TSD is set outside CPL 0.
    pub(super) fn rdtsc(&mut self) -> Result<(), Fault> {
        if self.cr[4] & cr4::TSD != 0 && self.cpl() > 0 {
            return Err(Fault::gp(0));
        }
        let t = self.msr.tsc(self.now());
        self.set_edx_eax(t);
        Ok(())
    }

    /// RDMSR (0F 32): EDX:EAX := MSR[ECX]. CPL 0 (or real mode) only.
    pub(super) fn rdmsr(&mut self) -> Result<(), Fault> {
        if self.cpl() != 0 {
            return Err(Fault::gp(0));
        }
        let idx = self.regs[reg::CX as usize];
        let v = self.msr.read(self.model, idx, self.now())?;
        self.set_edx_eax(v);
        Ok(())
    }

    /// WRMSR (0F 30): MSR[ECX] := EDX:EAX. CPL 0 (or real mode) only.
    pub(super) fn wrmsr(&mut self) -> Result<(), Fault> {
        if self.cpl() != 0 {
            return Err(Fault::gp(0));
        }
        let idx = self.regs[reg::CX as usize];
        let v = self.edx_eax();
        self.msr.write(self.model, idx, v, self.now())
    }

    /// RDPMC (0F 33, P6): EDX:EAX := performance counter ECX (0 or 1; 40 bits). Outside CPL 0
    /// it needs CR4.PCE; any other counter number is #GP(0).
    pub(super) fn rdpmc(&mut self) -> Result<(), Fault> {
        let n = self.regs[reg::CX as usize];
        if n > 1 || (self.cr[4] & cr4::PCE == 0 && self.cpl() > 0) {
            return Err(Fault::gp(0));
        }
        let v = self.msr.counter(n as usize);
        self.set_edx_eax(v);
        Ok(())
    }

    /// INVD/WBINVD (0F 08/09): there are no caches to drop or write back, so only the privilege
    /// check remains.
    pub(super) fn invalidate_caches(&mut self) -> Result<(), Fault> {
        if self.cpl() != 0 {
            return Err(Fault::gp(0));
        }
        Ok(())
    }

    /// Group 9 (0F C7): only `/1`, CMPXCHG8B m64. Compares EDX:EAX with the quadword; equal:
    /// ZF = 1 and the quadword := ECX:EBX; else ZF = 0 and EDX:EAX := the quadword, which is
    /// written back unchanged (the processor always writes, so a read-only destination faults
    /// either way). Only ZF changes. A register operand is #UD.
    pub(super) fn cmpxchg8b<B: Bus>(&mut self, bus: &mut B, i: &Insn) -> Result<(), Fault> {
        if i.is_reg() || i.reg() != 1 {
            return Err(Fault::UD);
        }
        let off = self.ea(i);
        self.probe_write(bus, i.seg(), off, 8)?;
        let hi_off = off.wrapping_add(4);
        let lo = self.read_mem(bus, i.seg(), off, 4)?;
        let hi = self.read_mem(bus, i.seg(), hi_off, 4)?;
        let old = (hi as u64) << 32 | lo as u64;
        let equal = old == self.edx_eax();
        let new = if equal {
            (self.regs[reg::CX as usize] as u64) << 32 | self.regs[reg::BX as usize] as u64
        } else {
            old
        };
        self.write_mem(bus, i.seg(), off, 4, new as u32)?;
        self.write_mem(bus, i.seg(), hi_off, 4, (new >> 32) as u32)?;
        if !equal {
            self.set_edx_eax(old);
        }
        self.flags.assign(flags::ZF, equal);
        Ok(())
    }

    /// SYSENTER (0F 34, P6): enters CPL 0 at SYSENTER_CS:SYSENTER_EIP with the stack at
    /// SYSENTER_CS+8:SYSENTER_ESP, both flat segments whose hidden parts are set without
    /// reading the GDT. Clears VM, IF and RF. #GP(0) in real mode or while SYSENTER_CS is null.
    pub(super) fn sysenter(&mut self) -> Result<(), Fault> {
        let cs = self.msr.sysenter_cs as u16;
        if !self.protected() || cs & 0xFFFC == 0 {
            return Err(Fault::gp(0));
        }
        self.flags.assign(flags::VM | flags::IF | flags::RF, false);
        self.regs[reg::SP as usize] = self.msr.sysenter_esp;
        self.eip = self.msr.sysenter_eip;
        let cs = cs & 0xFFFC;
        self.segs[seg::CS as usize] = flat(cs, FLAT_CODE_DPL0);
        self.segs[seg::SS as usize] = flat(cs.wrapping_add(8), FLAT_DATA_DPL0);
        self.set_cpl(0);
        self.refresh_seg_acc();
        Ok(())
    }

    /// SYSEXIT (0F 35, P6): returns to CPL 3 at SYSENTER_CS+16:EDX with the stack at
    /// SYSENTER_CS+24:ECX, flat segments with RPL and DPL 3. #GP(0) in real mode, at CPL > 0
    /// or while SYSENTER_CS is null.
    pub(super) fn sysexit(&mut self) -> Result<(), Fault> {
        let cs = self.msr.sysenter_cs as u16;
        if !self.protected() || cs & 0xFFFC == 0 || self.cpl() != 0 {
            return Err(Fault::gp(0));
        }
        self.regs[reg::SP as usize] = self.regs[reg::CX as usize];
        self.eip = self.regs[reg::DX as usize];
        self.segs[seg::CS as usize] = flat(cs.wrapping_add(16) | 3, FLAT_CODE_DPL3);
        self.segs[seg::SS as usize] = flat(cs.wrapping_add(24) | 3, FLAT_DATA_DPL3);
        self.set_cpl(3);
        self.refresh_seg_acc();
        Ok(())
    }
}
