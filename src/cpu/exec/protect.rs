//! Protected mode: descriptors, segment loads with their checks, far transfers through code
//! segments, call gates and tasks, interrupt and exception delivery through the IDT, task
//! switching, virtual-8086 mode, and the I/O permission check.
//!
//! Every check follows the Intel SDM's pseudocode (Vol. 2: CALL, JMP, RET, IRET, INT n, MOV,
//! POP, LDS…, LAR, LSL, VERR; Vol. 3 ch. 5–7 and 20), in the order it gives, so that the
//! exception raised and its error code are those of the hardware. A check that fails leaves
//! the architectural state as it was before the instruction (stack writes to the new stack
//! apart, which the hardware makes too).

use crate::cpu::decode::seg;
use crate::cpu::fault::vector;
use crate::cpu::flags;
use crate::cpu::mmu::{cr0, cr4};
use crate::cpu::{reg, Bus, Cpu, CpuModel, Fault, IntSource, Segment};

/// A segment or gate descriptor (the two dwords as stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Desc {
    lo: u32,
    hi: u32,
}

impl Desc {
    fn base(&self) -> u32 {
        (self.lo >> 16) | (self.hi & 0xFF) << 16 | (self.hi & 0xFF00_0000)
    }
    fn limit(&self) -> u32 {
        let l = (self.lo & 0xFFFF) | (self.hi & 0xF_0000);
        if self.hi & 0x80_0000 != 0 {
            l << 12 | 0xFFF
        } else {
            l
        }
    }
    /// Bytes 5–6 as the segment cache keeps them: access byte in bits 0–7, AVL/L/D/G in 12–15.
    fn attrs(&self) -> u16 {
        ((self.hi >> 8) & 0xF0FF) as u16
    }
    fn present(&self) -> bool {
        self.hi & 0x8000 != 0
    }
    fn dpl(&self) -> u8 {
        ((self.hi >> 13) & 3) as u8
    }
    fn system(&self) -> bool {
        self.hi & 0x1000 == 0
    }
    fn typ(&self) -> u8 {
        ((self.hi >> 8) & 0xF) as u8
    }
    fn code(&self) -> bool {
        !self.system() && self.typ() & 8 != 0
    }
    fn data(&self) -> bool {
        !self.system() && self.typ() & 8 == 0
    }
    fn conforming(&self) -> bool {
        self.code() && self.typ() & 4 != 0
    }
    fn readable(&self) -> bool {
        self.data() || self.typ() & 2 != 0
    }
    fn writable_data(&self) -> bool {
        self.data() && self.typ() & 2 != 0
    }
    fn gate_selector(&self) -> u16 {
        (self.lo >> 16) as u16
    }
    fn gate_offset(&self) -> u32 {
        if self.typ() & 8 != 0 {
            (self.lo & 0xFFFF) | (self.hi & 0xFFFF_0000)
        } else {
            self.lo & 0xFFFF
        }
    }
    fn gate_params(&self) -> u32 {
        self.hi & 0x1F
    }
    fn cache(&self, selector: u16) -> Segment {
        Segment {
            selector,
            base: self.base(),
            limit: self.limit(),
            attrs: self.attrs(),
        }
    }
}

/// System descriptor types.
mod sys {
    pub const TSS16: u8 = 1;
    pub const LDT: u8 = 2;
    pub const TSS16_BUSY: u8 = 3;
    pub const CALL16: u8 = 4;
    pub const TASK: u8 = 5;
    pub const INT16: u8 = 6;
    pub const TRAP16: u8 = 7;
    pub const TSS32: u8 = 9;
    pub const TSS32_BUSY: u8 = 11;
    pub const CALL32: u8 = 12;
    pub const INT32: u8 = 14;
    pub const TRAP32: u8 = 15;
}

/// How a task switch was started.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum TaskVia {
    Jmp,
    Call,
    Int,
    Iret,
}

/// The attributes of a segment register in virtual-8086 mode: present, DPL 3, read/write data,
/// accessed.
const V86_ATTRS: u16 = 0x00F3;

/// Selector bits that name the descriptor (index and table indicator).
#[inline]
fn sel_code(sel: u16) -> u16 {
    sel & 0xFFFC
}

impl Cpu {
    // ----- descriptors ------------------------------------------------------------------

    /// Reads the descriptor a selector names, raising `#GP(selector)` (plus `ext`) when it lies
    /// outside its table.
    pub(crate) fn read_desc<B: Bus>(
        &mut self,
        bus: &mut B,
        sel: u16,
        ext: u16,
    ) -> Result<Desc, Fault> {
        let (base, limit) = if sel & 4 != 0 {
            if self.ldtr.attrs & 0x80 == 0 || sel_code(self.ldtr.selector) == 0 {
                return Err(Fault::gp(sel_code(sel) | ext));
            }
            (self.ldtr.base, self.ldtr.limit)
        } else {
            (self.gdtr.base, self.gdtr.limit as u32)
        };
        let off = (sel & 0xFFF8) as u32;
        if off + 7 > limit {
            return Err(Fault::gp(sel_code(sel) | ext));
        }
        let lo = self.sys_read(bus, base.wrapping_add(off), 4)?;
        let hi = self.sys_read(bus, base.wrapping_add(off + 4), 4)?;
        Ok(Desc { lo, hi })
    }

    /// Reads a descriptor for a load whose failures have their own exception (#TS in a task
    /// switch or for a TSS stack): a selector outside its table raises `bad(selector | ext)`
    /// instead of #GP; other faults (#PF on the table) stay as they are.
    fn read_desc_as<B: Bus>(
        &mut self,
        bus: &mut B,
        sel: u16,
        ext: u16,
        bad: impl Fn(u16) -> Fault,
    ) -> Result<Desc, Fault> {
        self.read_desc(bus, sel, ext).map_err(|f| {
            if f.vector() == vector::GP {
                bad(sel_code(sel) | ext)
            } else {
                f
            }
        })
    }

    /// Linear address of the descriptor a selector names (already checked by `read_desc`).
    fn desc_addr(&self, sel: u16) -> u32 {
        let base = if sel & 4 != 0 {
            self.ldtr.base
        } else {
            self.gdtr.base
        };
        base.wrapping_add((sel & 0xFFF8) as u32)
    }

    /// Sets the accessed bit of a segment descriptor in memory (as every segment load does).
    fn mark_accessed<B: Bus>(&mut self, bus: &mut B, sel: u16, d: &mut Desc) -> Result<(), Fault> {
        if !d.system() && d.hi & 0x100 == 0 {
            d.hi |= 0x100;
            let a = self.desc_addr(sel).wrapping_add(5);
            self.sys_write(bus, a, 1, d.hi >> 8)?;
        }
        Ok(())
    }

    /// Sets or clears the busy bit of a TSS descriptor in the GDT.
    fn set_busy<B: Bus>(&mut self, bus: &mut B, sel: u16, busy: bool) -> Result<(), Fault> {
        let a = self.gdtr.base.wrapping_add((sel & 0xFFF8) as u32 + 5);
        let v = self.sys_read(bus, a, 1)?;
        let v = if busy { v | 2 } else { v & !2 };
        self.sys_write(bus, a, 1, v)
    }

    // ----- segment registers --------------------------------------------------------------

    /// Loads a data or stack segment register (MOV, POP, LDS…) by the rules of the mode.
    pub(crate) fn load_seg<B: Bus>(&mut self, bus: &mut B, s: u8, sel: u16) -> Result<(), Fault> {
        if !self.protected() {
            self.load_seg_real(s, sel);
            return Ok(());
        }
        if self.v86() {
            self.load_seg_v86(s, sel);
            return Ok(());
        }
        self.load_seg_pm(bus, s, sel, None)
    }

    /// A segment load in virtual-8086 mode: base = selector × 16, 64 KiB, DPL 3 data.
    pub(crate) fn load_seg_v86(&mut self, s: u8, sel: u16) {
        self.segs[s as usize] = Segment {
            selector: sel,
            base: (sel as u32) << 4,
            limit: 0xFFFF,
            attrs: V86_ATTRS,
        };
        self.update_seg_acc(s);
    }

    /// Loads a null selector into a data segment register: the register becomes unusable.
    fn load_null(&mut self, s: u8, sel: u16) {
        self.segs[s as usize] = Segment {
            selector: sel,
            base: 0,
            limit: 0,
            attrs: 0,
        };
        self.update_seg_acc(s);
    }

    /// A protected-mode load of SS, DS, ES, FS or GS. `task`: the load is part of a task switch,
    /// whose failures are #TS(selector) (not-present still #NP / #SS) and which checks against
    /// the new task's CPL.
    fn load_seg_pm<B: Bus>(
        &mut self,
        bus: &mut B,
        s: u8,
        sel: u16,
        task: Option<()>,
    ) -> Result<(), Fault> {
        let bad = |code: u16| {
            if task.is_some() {
                Fault::ts(code)
            } else {
                Fault::gp(code)
            }
        };
        let rpl = (sel & 3) as u8;
        let cpl = self.cpl;
        if s == seg::SS {
            if sel_code(sel) == 0 {
                return Err(bad(0));
            }
            let mut d = self.read_desc_as(bus, sel, 0, bad)?;
            if rpl != cpl || !d.writable_data() || d.dpl() != cpl {
                return Err(bad(sel_code(sel)));
            }
            if !d.present() {
                return Err(Fault::ss(sel_code(sel)));
            }
            self.mark_accessed(bus, sel, &mut d)?;
            self.segs[s as usize] = d.cache(sel);
            self.update_seg_acc(s);
            return Ok(());
        }
        if sel_code(sel) == 0 {
            self.load_null(s, sel);
            return Ok(());
        }
        let mut d = self.read_desc_as(bus, sel, 0, bad)?;
        if d.system() || !d.readable() {
            return Err(bad(sel_code(sel)));
        }
        if (d.data() || !d.conforming()) && (rpl > d.dpl() || cpl > d.dpl()) {
            return Err(bad(sel_code(sel)));
        }
        if !d.present() {
            return Err(Fault::np(sel_code(sel)));
        }
        self.mark_accessed(bus, sel, &mut d)?;
        self.segs[s as usize] = d.cache(sel);
        self.update_seg_acc(s);
        Ok(())
    }

    /// Loads CS from a checked code descriptor and makes `cpl` the current privilege level.
    fn load_cs(&mut self, d: &Desc, sel: u16, cpl: u8) {
        self.segs[seg::CS as usize] = d.cache((sel & 0xFFFC) | cpl as u16);
        self.set_cpl(cpl);
        self.update_seg_acc(seg::CS);
    }

    /// Changes the CPL and what depends on it.
    pub(crate) fn set_cpl(&mut self, cpl: u8) {
        if self.cpl != cpl {
            self.put_cpl(cpl);
            self.refresh_seg_acc();
        }
    }

    /// After a return to an outer level: data segment registers the new CPL may not use are
    /// loaded with null.
    fn null_inaccessible_segments(&mut self) {
        for s in [seg::ES, seg::DS, seg::FS, seg::GS] {
            let a = self.segs[s as usize].attrs;
            let dpl = ((a >> 5) & 3) as u8;
            let code = a & 0x08 != 0;
            let conforming = code && a & 0x04 != 0;
            if (!code || !conforming) && dpl < self.cpl {
                self.load_null(s, 0);
            }
        }
    }

    // ----- far JMP / CALL ---------------------------------------------------------------------

    /// Far JMP to `sel:off` in any mode.
    pub(crate) fn far_jmp<B: Bus>(
        &mut self,
        bus: &mut B,
        sel: u16,
        off: u32,
        o32: bool,
    ) -> Result<(), Fault> {
        if !self.protected() || self.v86() {
            return self.jump_far_real(sel, off, o32);
        }
        if sel_code(sel) == 0 {
            return Err(Fault::gp(0));
        }
        let mut d = self.read_desc(bus, sel, 0)?;
        let rpl = (sel & 3) as u8;
        let cpl = self.cpl;
        if !d.system() {
            self.check_code_target(&d, sel, rpl)?;
            let off = if o32 { off } else { off & 0xFFFF };
            if off > d.limit() {
                return Err(Fault::gp(0));
            }
            self.mark_accessed(bus, sel, &mut d)?;
            self.load_cs(&d, sel, cpl);
            self.eip = off;
            return Ok(());
        }
        match d.typ() {
            sys::CALL16 | sys::CALL32 => {
                let (tsel, mut td) = self.call_gate_target(bus, &d, sel, rpl, true)?;
                let off = d.gate_offset();
                if off > td.limit() {
                    return Err(Fault::gp(0));
                }
                self.mark_accessed(bus, tsel, &mut td)?;
                self.load_cs(&td, tsel, cpl);
                self.eip = off;
                Ok(())
            }
            sys::TASK | sys::TSS16 | sys::TSS32 => {
                self.check_gate_access(&d, sel, rpl)?;
                let (tss_sel, tss) = self.task_target(bus, sel, &d, 0)?;
                self.task_switch(bus, tss_sel, tss, TaskVia::Jmp, 0)
            }
            _ => Err(Fault::gp(sel_code(sel))),
        }
    }

    /// A gate or TSS named by a far JMP/CALL: its DPL must admit both the CPL and the
    /// selector's RPL (#GP), and it must be present (#NP).
    fn check_gate_access(&self, d: &Desc, sel: u16, rpl: u8) -> Result<(), Fault> {
        if d.dpl() < self.cpl || d.dpl() < rpl {
            return Err(Fault::gp(sel_code(sel)));
        }
        if !d.present() {
            return Err(Fault::np(sel_code(sel)));
        }
        Ok(())
    }

    /// The code segment a call gate leads to, checked: a JMP through it may not change the
    /// privilege level (a non-conforming target must have DPL = CPL), a CALL may go inward
    /// (DPL ≤ CPL).
    fn call_gate_target<B: Bus>(
        &mut self,
        bus: &mut B,
        gate: &Desc,
        sel: u16,
        rpl: u8,
        jmp: bool,
    ) -> Result<(u16, Desc), Fault> {
        self.check_gate_access(gate, sel, rpl)?;
        let cpl = self.cpl;
        let tsel = gate.gate_selector();
        if sel_code(tsel) == 0 {
            return Err(Fault::gp(0));
        }
        let td = self.read_desc(bus, tsel, 0)?;
        if !td.code() || td.dpl() > cpl || (jmp && !td.conforming() && td.dpl() != cpl) {
            return Err(Fault::gp(sel_code(tsel)));
        }
        if !td.present() {
            return Err(Fault::np(sel_code(tsel)));
        }
        Ok((tsel, td))
    }

    /// The privilege rules for a direct JMP/CALL to a code segment.
    fn check_code_target(&self, d: &Desc, sel: u16, rpl: u8) -> Result<(), Fault> {
        let cpl = self.cpl;
        if !d.code() {
            return Err(Fault::gp(sel_code(sel)));
        }
        if d.conforming() {
            if d.dpl() > cpl {
                return Err(Fault::gp(sel_code(sel)));
            }
        } else if rpl > cpl || d.dpl() != cpl {
            return Err(Fault::gp(sel_code(sel)));
        }
        if !d.present() {
            return Err(Fault::np(sel_code(sel)));
        }
        Ok(())
    }

    /// For a task gate, the TSS it names; for a TSS descriptor, itself. Checks that the TSS is
    /// available (busy: #GP), in the GDT and present.
    fn task_target<B: Bus>(
        &mut self,
        bus: &mut B,
        sel: u16,
        d: &Desc,
        ext: u16,
    ) -> Result<(u16, Desc), Fault> {
        let (tsel, t) = if d.typ() == sys::TASK {
            let tsel = d.gate_selector();
            if tsel & 4 != 0 {
                return Err(Fault::gp(sel_code(tsel) | ext));
            }
            (tsel, self.read_desc(bus, tsel, ext)?)
        } else {
            (sel, *d)
        };
        if !t.system() || !matches!(t.typ(), sys::TSS16 | sys::TSS32) {
            return Err(Fault::gp(sel_code(tsel) | ext));
        }
        if !t.present() {
            return Err(Fault::np(sel_code(tsel) | ext));
        }
        Ok((tsel, t))
    }

    /// Far CALL to `sel:off` in any mode; `ret` is the return offset.
    pub(crate) fn far_call<B: Bus>(
        &mut self,
        bus: &mut B,
        sel: u16,
        off: u32,
        o32: bool,
    ) -> Result<(), Fault> {
        let size = if o32 { 4 } else { 2 };
        let cs = self.segs[seg::CS as usize].selector as u32;
        let ret = self.eip;
        if !self.protected() || self.v86() {
            self.push(bus, size, cs)?;
            self.push(bus, size, ret)?;
            return self.jump_far_real(sel, off, o32);
        }
        if sel_code(sel) == 0 {
            return Err(Fault::gp(0));
        }
        let mut d = self.read_desc(bus, sel, 0)?;
        let rpl = (sel & 3) as u8;
        let cpl = self.cpl;
        if !d.system() {
            self.check_code_target(&d, sel, rpl)?;
            let off = if o32 { off } else { off & 0xFFFF };
            self.push_pair(bus, size, cs, ret)?;
            if off > d.limit() {
                return Err(Fault::gp(0));
            }
            self.mark_accessed(bus, sel, &mut d)?;
            self.commit_pushes(2 * size as u32);
            self.load_cs(&d, sel, cpl);
            self.eip = off;
            return Ok(());
        }
        match d.typ() {
            sys::CALL16 | sys::CALL32 => {
                let (tsel, mut td) = self.call_gate_target(bus, &d, sel, rpl, false)?;
                let gsize: u8 = if d.typ() == sys::CALL32 { 4 } else { 2 };
                let target = d.gate_offset();
                if !td.conforming() && td.dpl() < cpl {
                    self.call_gate_inner(bus, &d, tsel, &mut td, gsize, cs, ret)?;
                } else {
                    self.push_pair(bus, gsize, cs, ret)?;
                    if target > td.limit() {
                        return Err(Fault::gp(0));
                    }
                    self.mark_accessed(bus, tsel, &mut td)?;
                    self.commit_pushes(2 * gsize as u32);
                    self.load_cs(&td, tsel, cpl);
                }
                self.eip = target;
                Ok(())
            }
            sys::TASK | sys::TSS16 | sys::TSS32 => {
                self.check_gate_access(&d, sel, rpl)?;
                let (tss_sel, tss) = self.task_target(bus, sel, &d, 0)?;
                self.task_switch(bus, tss_sel, tss, TaskVia::Call, 0)
            }
            _ => Err(Fault::gp(sel_code(sel))),
        }
    }

    /// Writes CS and the return offset below the stack top without moving the stack pointer
    /// (a far CALL commits SP only once nothing can fault).
    fn push_pair<B: Bus>(&mut self, bus: &mut B, size: u8, cs: u32, ret: u32) -> Result<(), Fault> {
        let sp = self.sp();
        let mask = if self.stack32() { u32::MAX } else { 0xFFFF };
        let a = sp.wrapping_sub(size as u32) & mask;
        let b = sp.wrapping_sub(2 * size as u32) & mask;
        self.write_mem(bus, seg::SS, a, size, cs)?;
        self.write_mem(bus, seg::SS, b, size, ret)
    }

    /// Moves the stack pointer down over `bytes` already written by `push_pair`.
    fn commit_pushes(&mut self, bytes: u32) {
        let sp = self.sp().wrapping_sub(bytes);
        self.set_sp(sp);
    }

    /// The new stack for privilege level `dpl` from the current TSS, with its checks (#TS).
    fn tss_stack<B: Bus>(
        &mut self,
        bus: &mut B,
        dpl: u8,
        ext: u16,
    ) -> Result<(u16, u32, Desc), Fault> {
        let tss32 = self.tr.attrs & 8 != 0;
        let (sp_off, ss_off, width) = if tss32 {
            (4 + 8 * dpl as u32, 8 + 8 * dpl as u32, 4)
        } else {
            (2 + 4 * dpl as u32, 4 + 4 * dpl as u32, 2)
        };
        if ss_off + 1 > self.tr.limit || sp_off + width - 1 > self.tr.limit {
            return Err(Fault::ts(sel_code(self.tr.selector) | ext));
        }
        let esp = self.sys_read(bus, self.tr.base.wrapping_add(sp_off), width as u8)?;
        let ss = self.sys_read(bus, self.tr.base.wrapping_add(ss_off), 2)? as u16;
        if sel_code(ss) == 0 {
            return Err(Fault::ts(ext));
        }
        let d = self.read_desc_as(bus, ss, ext, Fault::ts)?;
        if (ss & 3) as u8 != dpl || d.dpl() != dpl || !d.writable_data() {
            return Err(Fault::ts(sel_code(ss) | ext));
        }
        if !d.present() {
            return Err(Fault::ss(sel_code(ss) | ext));
        }
        Ok((ss, esp, d))
    }

    /// Switches to the stack of privilege level `dpl` and pushes `values` (first value pushed
    /// first) with `size` each. On a fault the old stack, CPL and registers are restored.
    fn push_on_inner_stack<B: Bus>(
        &mut self,
        bus: &mut B,
        dpl: u8,
        (ss, esp, mut ssd): (u16, u32, Desc),
        size: u8,
        values: &[u32],
    ) -> Result<(), Fault> {
        let old_ss = self.segs[seg::SS as usize];
        let old_esp = self.regs[reg::SP as usize];
        let old_cpl = self.cpl;
        self.segs[seg::SS as usize] = ssd.cache(ss);
        self.regs[reg::SP as usize] = esp;
        self.set_cpl(dpl);
        self.update_seg_acc(seg::SS);
        let mut r = Ok(());
        for &v in values {
            r = self.push(bus, size, v);
            if r.is_err() {
                break;
            }
        }
        if r.is_ok() {
            r = self.mark_accessed(bus, ss, &mut ssd);
        }
        if let Err(f) = r {
            self.segs[seg::SS as usize] = old_ss;
            self.regs[reg::SP as usize] = old_esp;
            self.set_cpl(old_cpl);
            self.update_seg_acc(seg::SS);
            // A limit fault on the new stack names its selector.
            return Err(if f == Fault::ss(0) {
                Fault::ss(sel_code(ss))
            } else {
                f
            });
        }
        Ok(())
    }

    /// A call through a gate to a more privileged level: new stack from the TSS, the caller's
    /// SS:ESP and the gate's parameters copied, then CS:EIP.
    #[allow(clippy::too_many_arguments)]
    fn call_gate_inner<B: Bus>(
        &mut self,
        bus: &mut B,
        gate: &Desc,
        tsel: u16,
        td: &mut Desc,
        gsize: u8,
        cs: u32,
        ret: u32,
    ) -> Result<(), Fault> {
        let dpl = td.dpl();
        let (ss, esp, ssd) = self.tss_stack(bus, dpl, 0)?;
        let old_ss = self.segs[seg::SS as usize].selector as u32;
        let old_esp = self.regs[reg::SP as usize];
        // Parameters from the caller's stack, read before the switch.
        let n = gate.gate_params();
        let mut values = vec![
            old_ss,
            if gsize == 4 {
                old_esp
            } else {
                old_esp & 0xFFFF
            },
        ];
        let sp = self.sp();
        let mask = if self.stack32() { u32::MAX } else { 0xFFFF };
        for k in (0..n).rev() {
            let off = sp.wrapping_add(k * gsize as u32) & mask;
            values.push(self.read_mem(bus, seg::SS, off, gsize)?);
        }
        values.push(cs);
        values.push(ret);
        if gate.gate_offset() > td.limit() {
            return Err(Fault::gp(0));
        }
        self.push_on_inner_stack(bus, dpl, (ss, esp, ssd), gsize, &values)?;
        self.mark_accessed(bus, tsel, td)?;
        self.load_cs(td, tsel, dpl);
        Ok(())
    }

    // ----- far RET / IRET -----------------------------------------------------------------

    /// RETF / RETF imm16 in any mode.
    pub(crate) fn far_ret<B: Bus>(
        &mut self,
        bus: &mut B,
        o32: bool,
        imm: u32,
    ) -> Result<(), Fault> {
        let size: u8 = if o32 { 4 } else { 2 };
        let t = self.peek(bus, 0, size)?;
        let sel = self.peek(bus, size as u32, 2)? as u16;
        if !self.protected() || self.v86() {
            self.jump_far_real(sel, t, o32)?;
            let sp = self.sp().wrapping_add(2 * size as u32 + imm);
            self.set_sp(sp);
            return Ok(());
        }
        let t = if o32 { t } else { t & 0xFFFF };
        let rpl = (sel & 3) as u8;
        let (mut d, outer) = self.return_target(bus, sel)?;
        if !outer {
            if t > d.limit() {
                return Err(Fault::gp(0));
            }
            self.mark_accessed(bus, sel, &mut d)?;
            self.load_cs(&d, sel, rpl);
            self.eip = t;
            let sp = self.sp().wrapping_add(2 * size as u32 + imm);
            self.set_sp(sp);
            return Ok(());
        }
        let at = 2 * size as u32 + imm;
        let new_esp = self.peek(bus, at, size)?;
        let new_ss = self.peek(bus, at + size as u32, 2)? as u16;
        let ssd = self.return_stack(bus, new_ss, rpl)?;
        if t > d.limit() {
            return Err(Fault::gp(0));
        }
        self.mark_accessed(bus, sel, &mut d)?;
        self.load_cs(&d, sel, rpl);
        self.eip = t;
        self.segs[seg::SS as usize] = ssd.cache(new_ss);
        self.update_seg_acc(seg::SS);
        let esp = if o32 { new_esp } else { new_esp & 0xFFFF };
        self.set_outer_sp(esp.wrapping_add(imm));
        self.null_inaccessible_segments();
        Ok(())
    }

    /// Sets the stack pointer after a return to an outer level: all of ESP for a 32-bit
    /// stack, SP for a 16-bit one.
    fn set_outer_sp(&mut self, v: u32) {
        if self.stack32() {
            self.regs[reg::SP as usize] = v;
        } else {
            self.set_r16(reg::SP, v as u16);
        }
    }

    /// Checks the code segment a RETF or IRET returns to. Returns it and whether the return
    /// goes to an outer privilege level.
    fn return_target<B: Bus>(&mut self, bus: &mut B, sel: u16) -> Result<(Desc, bool), Fault> {
        if sel_code(sel) == 0 {
            return Err(Fault::gp(0));
        }
        let d = self.read_desc(bus, sel, 0)?;
        let rpl = (sel & 3) as u8;
        if rpl < self.cpl || !d.code() {
            return Err(Fault::gp(sel_code(sel)));
        }
        if d.conforming() {
            if d.dpl() > rpl {
                return Err(Fault::gp(sel_code(sel)));
            }
        } else if d.dpl() != rpl {
            return Err(Fault::gp(sel_code(sel)));
        }
        if !d.present() {
            return Err(Fault::np(sel_code(sel)));
        }
        Ok((d, rpl > self.cpl))
    }

    /// Checks the stack segment of a return to privilege level `rpl`.
    fn return_stack<B: Bus>(&mut self, bus: &mut B, ss: u16, rpl: u8) -> Result<Desc, Fault> {
        if sel_code(ss) == 0 {
            return Err(Fault::gp(0));
        }
        let mut d = self.read_desc(bus, ss, 0)?;
        if (ss & 3) as u8 != rpl || !d.writable_data() || d.dpl() != rpl {
            return Err(Fault::gp(sel_code(ss)));
        }
        if !d.present() {
            return Err(Fault::ss(sel_code(ss)));
        }
        self.mark_accessed(bus, ss, &mut d)?;
        Ok(d)
    }

    /// IRET / IRETD in protected mode (called for PE = 1, VM = 0 and VM = 1 alike).
    pub(crate) fn iret_pm<B: Bus>(&mut self, bus: &mut B, o32: bool) -> Result<(), Fault> {
        if self.v86() {
            return self.iret_v86(bus, o32);
        }
        if self.flags.bits & flags::NT != 0 {
            let link = self.sys_read(bus, self.tr.base, 2)? as u16;
            if link & 4 != 0 {
                return Err(Fault::ts(sel_code(link)));
            }
            let d = self.read_desc_as(bus, link, 0, Fault::ts)?;
            if !d.system() || !matches!(d.typ(), sys::TSS16_BUSY | sys::TSS32_BUSY) {
                return Err(Fault::ts(sel_code(link)));
            }
            if !d.present() {
                return Err(Fault::np(sel_code(link)));
            }
            return self.task_switch(bus, link, d, TaskVia::Iret, 0);
        }
        let size: u8 = if o32 { 4 } else { 2 };
        let t = self.peek(bus, 0, size)?;
        let sel = self.peek(bus, size as u32, 2)? as u16;
        let fl = self.peek(bus, 2 * size as u32, size)?;
        if o32 && fl & flags::VM != 0 && self.cpl == 0 {
            return self.iret_to_v86(bus, t, sel, fl);
        }
        let t = if o32 { t } else { t & 0xFFFF };
        let rpl = (sel & 3) as u8;
        let old_cpl = self.cpl;
        let (mut d, outer) = self.return_target(bus, sel)?;
        if !outer {
            if t > d.limit() {
                return Err(Fault::gp(0));
            }
            self.mark_accessed(bus, sel, &mut d)?;
            self.load_cs(&d, sel, rpl);
            self.eip = t;
            let sp = self.sp().wrapping_add(3 * size as u32);
            self.set_sp(sp);
            self.write_flags_pm(fl, size, old_cpl, true);
            return Ok(());
        }
        let new_esp = self.peek(bus, 3 * size as u32, size)?;
        let new_ss = self.peek(bus, 4 * size as u32, 2)? as u16;
        let ssd = self.return_stack(bus, new_ss, rpl)?;
        if t > d.limit() {
            return Err(Fault::gp(0));
        }
        self.mark_accessed(bus, sel, &mut d)?;
        self.load_cs(&d, sel, rpl);
        self.eip = t;
        self.segs[seg::SS as usize] = ssd.cache(new_ss);
        self.update_seg_acc(seg::SS);
        let esp = if o32 { new_esp } else { new_esp & 0xFFFF };
        self.set_outer_sp(esp);
        self.write_flags_pm(fl, size, old_cpl, true);
        self.null_inaccessible_segments();
        Ok(())
    }

    /// IRETD from CPL 0 to virtual-8086 mode: the frame also holds ESP, SS, ES, DS, FS, GS.
    fn iret_to_v86<B: Bus>(&mut self, bus: &mut B, t: u32, cs: u16, fl: u32) -> Result<(), Fault> {
        let mut v = [0u32; 6];
        for (k, x) in v.iter_mut().enumerate() {
            *x = self.peek(bus, 12 + 4 * k as u32, 4)?;
        }
        let [esp, ss, es, ds, fs, gs] = v;
        self.flags.set(fl & 0x003F_7FD5 | flags::RESERVED1);
        self.set_cpl(3);
        self.load_seg_v86(seg::CS, cs);
        self.load_seg_v86(seg::SS, ss as u16);
        self.load_seg_v86(seg::ES, es as u16);
        self.load_seg_v86(seg::DS, ds as u16);
        self.load_seg_v86(seg::FS, fs as u16);
        self.load_seg_v86(seg::GS, gs as u16);
        self.regs[reg::SP as usize] = esp;
        self.eip = t & 0xFFFF;
        self.refresh_seg_acc();
        Ok(())
    }

    /// IRET in virtual-8086 mode: with IOPL 3 a real-mode-style return that cannot change
    /// IOPL; with IOPL < 3 #GP(0), or with CR4.VME (16-bit) a return that sets VIF.
    fn iret_v86<B: Bus>(&mut self, bus: &mut B, o32: bool) -> Result<(), Fault> {
        let iopl = self.flags.iopl();
        let vme = self.cr[4] & cr4::VME != 0;
        if iopl < 3 && (o32 || !vme) {
            return Err(Fault::gp(0));
        }
        let size: u8 = if o32 { 4 } else { 2 };
        let t = self.peek(bus, 0, size)?;
        let cs = self.peek(bus, size as u32, 2)? as u16;
        let fl = self.peek(bus, 2 * size as u32, size)?;
        if t & !0xFFFF != 0 || t > self.segs[seg::CS as usize].limit {
            return Err(Fault::gp(0));
        }
        if iopl < 3 {
            // VME: IF goes to VIF; TF set, or IF set with VIP pending, is #GP(0).
            let old = self.flags.get();
            if fl & flags::TF != 0 || (fl & flags::IF != 0 && old & flags::VIP != 0) {
                return Err(Fault::gp(0));
            }
            let keep = flags::IF | flags::IOPL | 0xFFFF_0000;
            let mut new = (old & keep) | (fl & 0xFFFF & !keep);
            new = (new & !flags::VIF) | if fl & flags::IF != 0 { flags::VIF } else { 0 };
            self.load_seg_v86(seg::CS, cs);
            self.eip = t;
            let sp = self.sp().wrapping_add(3 * size as u32);
            self.set_sp(sp);
            self.flags.set(new & !0x8028 | flags::RESERVED1);
            return Ok(());
        }
        self.load_seg_v86(seg::CS, cs);
        self.eip = t;
        let sp = self.sp().wrapping_add(3 * size as u32);
        self.set_sp(sp);
        self.write_flags_pm(fl, size, 3, false);
        Ok(())
    }

    /// EFLAGS from IRET or POPF in protected or virtual-8086 mode. `old_cpl`: the privilege
    /// level the instruction ran at (IOPL changes only at 0, IF only at CPL ≤ IOPL); `iret`:
    /// IRETD at CPL 0 also loads RF, VIF and VIP, and POPF clears RF.
    pub(crate) fn write_flags_pm(&mut self, v: u32, size: u8, old_cpl: u8, iret: bool) {
        let old = self.flags.get();
        let mut writable = flags::ARITH | flags::TF | flags::DF | flags::NT;
        if self.model >= CpuModel::I486 {
            writable |= flags::AC | flags::ID;
        }
        if old_cpl == 0 {
            writable |= flags::IOPL;
        }
        if old_cpl <= self.flags_iopl(old) {
            writable |= flags::IF;
        }
        if iret {
            writable |= flags::RF;
            if old_cpl == 0 && size == 4 {
                writable |= flags::VIF | flags::VIP;
            }
        }
        if size == 2 {
            writable &= 0xFFFF;
        }
        let mut new = (old & !writable) | (v & writable);
        if !iret {
            new &= !flags::RF;
        }
        self.flags.set((new & !0x8028) | flags::RESERVED1);
        self.refresh_seg_acc();
    }

    fn flags_iopl(&self, f: u32) -> u8 {
        ((f >> 12) & 3) as u8
    }

    // ----- interrupts -----------------------------------------------------------------------

    /// Enters the handler of `vector` through the IDT. `source` decides the privilege check
    /// (software interrupts need gate DPL ≥ CPL) and the EXT bit of error codes raised on the
    /// way; `error` is pushed for exceptions that have one.
    pub(crate) fn pm_interrupt<B: Bus>(
        &mut self,
        bus: &mut B,
        vector: u8,
        source: IntSource,
        error: Option<u16>,
        ret: u32,
    ) -> Result<(), Fault> {
        let ext: u16 = (source != IntSource::Software) as u16;
        let idt_err = vector as u16 * 8 + 2 + ext;
        if vector as u32 * 8 + 7 > self.idtr.limit as u32 {
            return Err(Fault::gp(idt_err));
        }
        let at = self.idtr.base.wrapping_add(vector as u32 * 8);
        let gate = Desc {
            lo: self.sys_read(bus, at, 4)?,
            hi: self.sys_read(bus, at.wrapping_add(4), 4)?,
        };
        let typ = gate.typ();
        if !gate.system()
            || !matches!(
                typ,
                sys::TASK | sys::INT16 | sys::TRAP16 | sys::INT32 | sys::TRAP32
            )
        {
            return Err(Fault::gp(idt_err));
        }
        if source == IntSource::Software && gate.dpl() < self.cpl {
            return Err(Fault::gp(idt_err));
        }
        if !gate.present() {
            return Err(Fault::np(idt_err));
        }
        if typ == sys::TASK {
            let (tsel, tss) = self.task_target(bus, 0, &gate, ext)?;
            self.eip = ret;
            // A #DB for the new TSS's T bit comes back once the error code is pushed.
            let r = self.task_switch(bus, tsel, tss, TaskVia::Int, ext);
            if matches!(r, Err(f) if f.vector() != vector::DB) {
                return r;
            }
            if let Some(e) = error {
                let size = if tss.typ() == sys::TSS32 { 4 } else { 2 };
                self.push(bus, size, e as u32)?;
            }
            return r;
        }
        let tsel = gate.gate_selector();
        if sel_code(tsel) == 0 {
            return Err(Fault::gp(ext));
        }
        let mut td = self.read_desc(bus, tsel, ext)?;
        if !td.code() || td.dpl() > self.cpl {
            return Err(Fault::gp(sel_code(tsel) | ext));
        }
        if !td.present() {
            return Err(Fault::np(sel_code(tsel) | ext));
        }
        let gsize: u8 = if typ & 8 != 0 { 4 } else { 2 };
        let target = gate.gate_offset();
        let old_flags = self.flags.get();
        let cs = self.segs[seg::CS as usize].selector as u32;
        let v86 = self.v86();
        if !td.conforming() && td.dpl() < self.cpl {
            if v86 && td.dpl() != 0 {
                return Err(Fault::gp(sel_code(tsel) | ext));
            }
            let dpl = td.dpl();
            let (ss, esp, ssd) = self.tss_stack(bus, dpl, ext)?;
            let mut values = Vec::with_capacity(10);
            if v86 {
                for s in [seg::GS, seg::FS, seg::DS, seg::ES] {
                    values.push(self.segs[s as usize].selector as u32);
                }
            }
            values.push(self.segs[seg::SS as usize].selector as u32);
            values.push(self.regs[reg::SP as usize]);
            values.push(old_flags);
            values.push(cs);
            values.push(ret);
            if let Some(e) = error {
                values.push(e as u32);
            }
            if target > td.limit() {
                return Err(Fault::gp(ext));
            }
            self.push_on_inner_stack(bus, dpl, (ss, esp, ssd), gsize, &values)?;
            if v86 {
                for s in [seg::GS, seg::FS, seg::DS, seg::ES] {
                    self.load_null(s, 0);
                }
            }
            self.mark_accessed(bus, tsel, &mut td)?;
            self.load_cs(&td, tsel, dpl);
        } else if td.conforming() || td.dpl() == self.cpl {
            if v86 {
                return Err(Fault::gp(sel_code(tsel) | ext));
            }
            let sp0 = self.regs[reg::SP as usize];
            let mut r = self.push(bus, gsize, old_flags);
            if r.is_ok() {
                r = self.push(bus, gsize, cs);
            }
            if r.is_ok() {
                r = self.push(bus, gsize, ret);
            }
            if let (true, Some(e)) = (r.is_ok(), error) {
                r = self.push(bus, gsize, e as u32);
            }
            if r.is_ok() && target > td.limit() {
                r = Err(Fault::gp(ext));
            }
            if let Err(f) = r {
                self.regs[reg::SP as usize] = sp0;
                return Err(f);
            }
            self.mark_accessed(bus, tsel, &mut td)?;
            let cpl = self.cpl;
            self.load_cs(&td, tsel, cpl);
        } else {
            return Err(Fault::gp(sel_code(tsel) | ext));
        }
        self.eip = target;
        let mut clear = flags::TF | flags::NT | flags::RF | flags::VM;
        if typ & 1 == 0 {
            clear |= flags::IF;
        }
        self.flags.set(self.flags.get() & !clear);
        self.refresh_seg_acc();
        Ok(())
    }

    /// INT n (CD) in virtual-8086 mode: IOPL 3 goes through the IDT; with CR4.VME the TSS's
    /// redirection bitmap may send it through the real-mode IVT inside V86; else #GP(0).
    pub(crate) fn v86_int<B: Bus>(&mut self, bus: &mut B, vector: u8) -> Result<(), Fault> {
        let ret = self.eip;
        if self.cr[4] & cr4::VME != 0 {
            let iomap = self.sys_read_tss(bus, 0x66, 2)?;
            let bit_at = iomap.wrapping_sub(32) + vector as u32 / 8;
            let byte = self.sys_read_tss(bus, bit_at, 1)?;
            if byte & (1 << (vector & 7)) == 0 {
                return self.v86_redirect(bus, vector, ret);
            }
        }
        if self.flags.iopl() < 3 {
            return Err(Fault::gp(0));
        }
        self.note_interrupt(vector, IntSource::Software, None, ret);
        self.pm_interrupt(bus, vector, IntSource::Software, None, ret)
    }

    /// A byte of the TSS at `off`, checked against the TR limit (#GP(0)).
    fn sys_read_tss<B: Bus>(&mut self, bus: &mut B, off: u32, size: u8) -> Result<u32, Fault> {
        if self.tr.attrs & 0xF != sys::TSS32_BUSY as u16
            || off
                .checked_add(size as u32 - 1)
                .is_none_or(|l| l > self.tr.limit)
        {
            return Err(Fault::gp(0));
        }
        self.sys_read(bus, self.tr.base.wrapping_add(off), size)
    }

    /// A VME-redirected software interrupt: the real-mode IVT handler runs in V86 mode; the
    /// pushed FLAGS have IOPL 3 and, with IOPL < 3, VIF in place of IF.
    fn v86_redirect<B: Bus>(&mut self, bus: &mut B, vector: u8, ret: u32) -> Result<(), Fault> {
        let iopl = self.flags.iopl();
        let mut fl = self.flags.get() & 0xFFFF;
        if iopl < 3 {
            fl = (fl & !flags::IF) | flags::IOPL;
            if self.flags.get() & flags::VIF != 0 {
                fl |= flags::IF;
            }
        }
        let ent = vector as u32 * 4;
        let ip = self.lin_read(bus, ent, 2, true)?;
        let cs = self.lin_read(bus, ent + 2, 2, true)? as u16;
        let sp0 = self.regs[reg::SP as usize];
        let cs_old = self.segs[seg::CS as usize].selector as u32;
        let mut r = self.push(bus, 2, fl);
        if r.is_ok() {
            r = self.push(bus, 2, cs_old);
        }
        if r.is_ok() {
            r = self.push(bus, 2, ret);
        }
        if let Err(f) = r {
            self.regs[reg::SP as usize] = sp0;
            return Err(f);
        }
        self.note_interrupt(vector, IntSource::Software, None, ret);
        let clear = if iopl < 3 {
            flags::VIF | flags::TF | flags::RF
        } else {
            flags::IF | flags::TF | flags::RF
        };
        self.flags.set(self.flags.get() & !clear);
        self.load_seg_v86(seg::CS, cs);
        self.eip = ip;
        Ok(())
    }

    // ----- tasks ---------------------------------------------------------------------------

    /// Switches to the task whose TSS is `sel` (descriptor `d`, already checked present),
    /// saving the current state in the current TSS. `self.eip` is the address the old task
    /// resumes at.
    pub(crate) fn task_switch<B: Bus>(
        &mut self,
        bus: &mut B,
        sel: u16,
        d: Desc,
        via: TaskVia,
        ext: u16,
    ) -> Result<(), Fault> {
        let new32 = d.typ() & 8 != 0;
        let busy = d.typ() & 2 != 0;
        let min_limit = if new32 { 0x67 } else { 0x2B };
        if d.limit() < min_limit {
            return Err(Fault::ts(sel_code(sel) | ext));
        }
        if via == TaskVia::Iret {
            if !busy {
                return Err(Fault::ts(sel_code(sel) | ext));
            }
        } else if busy {
            return Err(Fault::gp(sel_code(sel) | ext));
        }
        let nb = d.base();
        // Read the whole new state first: a page fault here leaves the old task intact.
        let mut st = [0u32; 26];
        let fields = if new32 { 26 } else { 22 };
        for (k, v) in st.iter_mut().enumerate().take(fields) {
            *v = if new32 {
                self.sys_read(bus, nb.wrapping_add(4 * k as u32), 4)?
            } else {
                self.sys_read(bus, nb.wrapping_add(2 * k as u32), 2)?
            };
        }
        // Save the old task.
        let ob = self.tr.base;
        let old32 = self.tr.attrs & 8 != 0;
        let mut fl = self.flags.get();
        if via == TaskVia::Iret {
            fl &= !flags::NT;
        }
        if old32 {
            self.sys_write(bus, ob.wrapping_add(0x20), 4, self.eip)?;
            self.sys_write(bus, ob.wrapping_add(0x24), 4, fl)?;
            for r in 0..8 {
                self.sys_write(bus, ob.wrapping_add(0x28 + 4 * r), 4, self.regs[r as usize])?;
            }
            for s in 0..6 {
                let v = self.segs[s as usize].selector as u32;
                self.sys_write(bus, ob.wrapping_add(0x48 + 4 * s), 2, v)?;
            }
        } else {
            self.sys_write(bus, ob.wrapping_add(0x0E), 2, self.eip)?;
            self.sys_write(bus, ob.wrapping_add(0x10), 2, fl)?;
            for r in 0..8 {
                self.sys_write(bus, ob.wrapping_add(0x12 + 2 * r), 2, self.regs[r as usize])?;
            }
            for s in 0..4 {
                let v = self.segs[s as usize].selector as u32;
                self.sys_write(bus, ob.wrapping_add(0x22 + 2 * s), 2, v)?;
            }
        }
        if matches!(via, TaskVia::Jmp | TaskVia::Iret) {
            let old = self.tr.selector;
            self.set_busy(bus, old, false)?;
        }
        if matches!(via, TaskVia::Call | TaskVia::Int) {
            let link = self.tr.selector as u32;
            self.sys_write(bus, nb, 2, link)?;
        }
        if via != TaskVia::Iret {
            self.set_busy(bus, sel, true)?;
        }
        // The new task: from here on faults are the new task's.
        self.task_committed = true;
        self.debug_task_switched();
        let t_bit = new32 && st[25] & 1 != 0;
        let mut tr = d.cache(sel);
        tr.attrs |= 2; // busy
        self.tr = tr;
        self.cr[0] |= cr0::TS;
        let (eip, eflags, regs, sels, ldt) = if new32 {
            let mut sels = [0u16; 6];
            for (s, v) in sels.iter_mut().enumerate() {
                *v = st[18 + s] as u16;
            }
            (
                st[8],
                st[9],
                [
                    st[10], st[11], st[12], st[13], st[14], st[15], st[16], st[17],
                ],
                sels,
                st[24] as u16,
            )
        } else {
            let mut regs = [0u32; 8];
            for (r, v) in regs.iter_mut().enumerate() {
                *v = (self.regs[r] & 0xFFFF_0000) | st[9 + r];
            }
            let sels = [
                st[17] as u16,
                st[18] as u16,
                st[19] as u16,
                st[20] as u16,
                0,
                0,
            ];
            (
                st[7],
                st[8] | (self.flags.get() & 0xFFFF_0000 & !flags::VM),
                regs,
                sels,
                st[21] as u16,
            )
        };
        if new32 && self.paging {
            let cr3 = st[7];
            if self.cr[4] & cr4::PAE != 0 {
                self.load_pdptes(bus, cr3)?;
            }
            self.cr[3] = cr3;
            let keep = self.cr[4] & cr4::PGE != 0;
            self.tlb.flush(keep);
        }
        self.eip = eip;
        let mut fl = eflags;
        if matches!(via, TaskVia::Call | TaskVia::Int) {
            fl |= flags::NT;
        }
        self.flags.set((fl & 0x003F_7FD5) | flags::RESERVED1);
        self.regs[..8].copy_from_slice(&regs);
        for (s, &v) in sels.iter().enumerate() {
            self.segs[s].selector = v;
        }
        // LDTR, then the segment registers, with #TS for what is wrong.
        self.ldtr = Segment {
            selector: ldt,
            base: 0,
            limit: 0,
            attrs: 0,
        };
        if sel_code(ldt) != 0 {
            if ldt & 4 != 0 {
                return Err(Fault::ts(sel_code(ldt) | ext));
            }
            let ld = self.read_desc_as(bus, ldt, ext, Fault::ts)?;
            if !ld.system() || ld.typ() != sys::LDT {
                return Err(Fault::ts(sel_code(ldt) | ext));
            }
            if !ld.present() {
                return Err(Fault::ts(sel_code(ldt) | ext));
            }
            self.ldtr = ld.cache(ldt);
        }
        if fl & flags::VM != 0 {
            self.put_cpl(3);
            for s in 0..6 {
                self.load_seg_v86(s, sels[s as usize]);
            }
            self.refresh_seg_acc();
            self.task_committed = false;
            return self.task_trap(t_bit);
        }
        let cs = sels[seg::CS as usize];
        let cpl = (cs & 3) as u8;
        self.put_cpl(cpl);
        if sel_code(cs) == 0 {
            return Err(Fault::ts(ext));
        }
        let mut cd = self.read_desc_as(bus, cs, ext, Fault::ts)?;
        if !cd.code()
            || (cd.conforming() && cd.dpl() > cpl)
            || (!cd.conforming() && cd.dpl() != cpl)
        {
            return Err(Fault::ts(sel_code(cs) | ext));
        }
        if !cd.present() {
            return Err(Fault::np(sel_code(cs) | ext));
        }
        self.mark_accessed(bus, cs, &mut cd)?;
        self.segs[seg::CS as usize] = cd.cache(cs);
        self.refresh_seg_acc();
        let order = [seg::SS, seg::ES, seg::DS, seg::FS, seg::GS];
        for s in order {
            if s >= seg::FS && !new32 {
                self.load_null(s, 0);
                continue;
            }
            self.load_seg_pm(bus, s, sels[s as usize], Some(()))
                .map_err(|f| match f.error() {
                    Some(e) if ext != 0 => f.with_error(e | ext),
                    _ => f,
                })?;
        }
        if self.eip > self.segs[seg::CS as usize].limit {
            return Err(Fault::gp(0));
        }
        self.task_committed = false;
        self.task_trap(t_bit)
    }

    // ----- I/O permission --------------------------------------------------------------------

    /// Whether the current privilege level may access `size` ports from `port`: always in real
    /// mode and at CPL ≤ IOPL; otherwise (and always in V86 mode) the TSS's I/O permission
    /// bitmap decides.
    #[inline]
    pub(crate) fn check_io<B: Bus>(
        &mut self,
        bus: &mut B,
        port: u16,
        size: u8,
    ) -> Result<(), Fault> {
        if self.dbg.armed {
            self.watch_io(port, size);
        }
        if !self.protected() || (!self.v86() && self.cpl <= self.flags.iopl()) {
            return Ok(());
        }
        self.check_io_bitmap(bus, port, size)
    }

    #[cold]
    fn check_io_bitmap<B: Bus>(&mut self, bus: &mut B, port: u16, size: u8) -> Result<(), Fault> {
        let t = self.tr.attrs & 0xF;
        if !(t == sys::TSS32 as u16 || t == sys::TSS32_BUSY as u16) || self.tr.limit < 0x67 {
            return Err(Fault::gp(0));
        }
        let base = self.sys_read(bus, self.tr.base.wrapping_add(0x66), 2)?;
        let at = base + port as u32 / 8;
        if at + 1 > self.tr.limit {
            return Err(Fault::gp(0));
        }
        let bits = self.sys_read(bus, self.tr.base.wrapping_add(at), 2)?;
        let mask = ((1u32 << size) - 1) << (port & 7);
        if bits & mask != 0 {
            return Err(Fault::gp(0));
        }
        Ok(())
    }

    // ----- system instructions ------------------------------------------------------------------

    /// Faults unless the CPL is 0 (privileged instructions: #GP(0), also in V86 mode).
    #[inline]
    pub(crate) fn require_cpl0(&self) -> Result<(), Fault> {
        if self.cpl != 0 {
            Err(Fault::gp(0))
        } else {
            Ok(())
        }
    }

    /// Group 6 (0F 00): SLDT STR LLDT LTR VERR VERW — protected mode only (#UD in real and V86
    /// mode).
    pub(crate) fn grp6<B: Bus>(&mut self, bus: &mut B, i: &crate::cpu::Insn) -> Result<(), Fault> {
        if !self.protected() || self.v86() {
            return Err(Fault::UD);
        }
        match i.reg() {
            0 | 1 => {
                let v = if i.reg() == 0 {
                    self.ldtr.selector
                } else {
                    self.tr.selector
                } as u32;
                let size = if i.is_reg() { i.osize() } else { 2 };
                self.write_rm(bus, i, size, v)
            }
            2 => {
                self.require_cpl0()?;
                let sel = self.read_rm(bus, i, 2)? as u16;
                self.lldt(bus, sel)
            }
            3 => {
                self.require_cpl0()?;
                let sel = self.read_rm(bus, i, 2)? as u16;
                self.ltr(bus, sel)
            }
            4 | 5 => {
                let sel = self.read_rm(bus, i, 2)? as u16;
                let ok = self.verify(bus, sel, i.reg() == 5)?;
                self.flags.set_zf(ok);
                Ok(())
            }
            _ => Err(Fault::UD),
        }
    }

    fn lldt<B: Bus>(&mut self, bus: &mut B, sel: u16) -> Result<(), Fault> {
        if sel_code(sel) == 0 {
            self.ldtr = Segment {
                selector: sel,
                base: 0,
                limit: 0,
                attrs: 0,
            };
            return Ok(());
        }
        if sel & 4 != 0 {
            return Err(Fault::gp(sel_code(sel)));
        }
        let d = self.read_desc(bus, sel, 0)?;
        if !d.system() || d.typ() != sys::LDT {
            return Err(Fault::gp(sel_code(sel)));
        }
        if !d.present() {
            return Err(Fault::np(sel_code(sel)));
        }
        self.ldtr = d.cache(sel);
        Ok(())
    }

    fn ltr<B: Bus>(&mut self, bus: &mut B, sel: u16) -> Result<(), Fault> {
        if sel_code(sel) == 0 || sel & 4 != 0 {
            return Err(Fault::gp(sel_code(sel)));
        }
        let d = self.read_desc(bus, sel, 0)?;
        if !d.system() || !matches!(d.typ(), sys::TSS16 | sys::TSS32) {
            return Err(Fault::gp(sel_code(sel)));
        }
        if !d.present() {
            return Err(Fault::np(sel_code(sel)));
        }
        self.set_busy(bus, sel, true)?;
        let mut c = d.cache(sel);
        c.attrs |= 2;
        self.tr = c;
        Ok(())
    }

    /// VERR/VERW: whether the segment is readable/writable at the current CPL and the
    /// selector's RPL (no fault for a bad selector).
    fn verify<B: Bus>(&mut self, bus: &mut B, sel: u16, write: bool) -> Result<bool, Fault> {
        if sel_code(sel) == 0 {
            return Ok(false);
        }
        let d = match self.read_desc(bus, sel, 0) {
            Ok(d) => d,
            Err(f) if f.vector() == vector::GP => return Ok(false),
            Err(f) => return Err(f),
        };
        if d.system() {
            return Ok(false);
        }
        let rpl = (sel & 3) as u8;
        if !d.conforming() && (d.dpl() < self.cpl || d.dpl() < rpl) {
            return Ok(false);
        }
        Ok(if write {
            d.writable_data()
        } else {
            d.readable()
        })
    }

    /// LAR (0F 02) and LSL (0F 03).
    pub(crate) fn lar_lsl<B: Bus>(
        &mut self,
        bus: &mut B,
        i: &crate::cpu::Insn,
    ) -> Result<(), Fault> {
        if !self.protected() || self.v86() {
            return Err(Fault::UD);
        }
        let sel = self.read_rm(bus, i, 2)? as u16;
        let lsl = i.op == 0x103;
        let d = if sel_code(sel) == 0 {
            None
        } else {
            match self.read_desc(bus, sel, 0) {
                Ok(d) => Some(d),
                Err(f) if f.vector() == vector::GP => None,
                Err(f) => return Err(f),
            }
        };
        let ok = d.filter(|d| {
            let type_ok = if !d.system() {
                true
            } else {
                let t = d.typ();
                match (lsl, self.model >= CpuModel::I386) {
                    (true, _) => matches!(t, 1 | 2 | 3 | 9 | 11),
                    (false, true) => matches!(t, 1 | 2 | 3 | 4 | 5 | 9 | 11 | 12),
                    (false, false) => matches!(t, 1..=5),
                }
            };
            let rpl = (sel & 3) as u8;
            let priv_ok = d.conforming() || (d.dpl() >= self.cpl && d.dpl() >= rpl);
            type_ok && priv_ok
        });
        match ok {
            Some(d) => {
                let v = if lsl {
                    d.limit()
                } else if i.o32() {
                    d.hi & 0x00FF_FF00
                } else {
                    d.hi & 0xFF00
                };
                let size = i.osize();
                self.set_reg(i.reg(), size, v);
                self.flags.set_zf(true);
            }
            None => self.flags.set_zf(false),
        }
        Ok(())
    }

    /// ARPL (63): raises the RPL of the destination selector to the source's (protected mode
    /// only).
    pub(crate) fn arpl<B: Bus>(&mut self, bus: &mut B, i: &crate::cpu::Insn) -> Result<(), Fault> {
        if !self.protected() || self.v86() {
            return Err(Fault::UD);
        }
        let dst = self.read_rm(bus, i, 2)? as u16;
        let src = self.r16(i.reg());
        if dst & 3 < src & 3 {
            self.write_rm(bus, i, 2, ((dst & !3) | (src & 3)) as u32)?;
            self.flags.set_zf(true);
        } else {
            self.flags.set_zf(false);
        }
        Ok(())
    }

    /// CLI/STI outside real mode: allowed at CPL ≤ IOPL; otherwise with VME (V86) or PVI
    /// (CPL 3) they change VIF; else #GP(0). Returns the value to give IF, or `None` when VIF
    /// was changed instead.
    pub(crate) fn cli_sti_pm(&mut self, set: bool) -> Result<bool, Fault> {
        let iopl = self.flags.iopl();
        let virt = if self.v86() {
            iopl < 3 && self.cr[4] & cr4::VME != 0
        } else {
            self.cpl > iopl && self.cpl == 3 && self.cr[4] & cr4::PVI != 0
        };
        if self.cpl <= iopl && !(self.v86() && iopl < 3) {
            return Ok(true);
        }
        if !virt {
            return Err(Fault::gp(0));
        }
        let f = self.flags.get();
        if set && f & flags::VIP != 0 {
            return Err(Fault::gp(0));
        }
        let f = if set { f | flags::VIF } else { f & !flags::VIF };
        self.flags.set(f);
        Ok(false)
    }

    /// MOV to CR0/CR2/CR3/CR4 with the mode, paging and TLB consequences.
    pub(crate) fn write_cr<B: Bus>(&mut self, bus: &mut B, n: usize, v: u32) -> Result<(), Fault> {
        match n {
            0 => self.set_cr0_checked(bus, v),
            2 => {
                self.cr[2] = v;
                Ok(())
            }
            3 => {
                if self.paging && self.cr[4] & cr4::PAE != 0 {
                    self.load_pdptes(bus, v)?;
                }
                self.cr[3] = v;
                let keep = self.cr[4] & cr4::PGE != 0;
                self.tlb.flush(keep);
                Ok(())
            }
            4 => {
                let writable = crate::cpu::cpuid::cr4_writable(self.model);
                if v & !writable != 0 {
                    return Err(Fault::gp(0));
                }
                let old = self.cr[4];
                if self.paging && v & cr4::PAE != 0 && old & cr4::PAE == 0 {
                    self.load_pdptes(bus, self.cr[3])?;
                }
                if self.paging && v & cr4::PAE == 0 && old & cr4::PAE != 0 {
                    // Leaving PAE while paging is on is not allowed in 32-bit mode.
                    return Err(Fault::gp(0));
                }
                self.cr[4] = v;
                if (old ^ v) & cr4::DE != 0 {
                    self.breakpoints_changed();
                }
                if (old ^ v) & (cr4::PSE | cr4::PGE | cr4::PAE) != 0 {
                    self.tlb.flush(false);
                }
                Ok(())
            }
            _ => Err(Fault::UD),
        }
    }

    /// Writes CR0 (MOV CR0, LMSW, CLTS go through here): PG without PE and NW without CD are
    /// #GP(0); mode and paging changes refresh what depends on them.
    pub(crate) fn set_cr0_checked<B: Bus>(&mut self, bus: &mut B, v: u32) -> Result<(), Fault> {
        let v = if self.model >= CpuModel::I386 {
            v | cr0::ET
        } else {
            v | 0xFFF0
        };
        let v = if self.model >= CpuModel::I486 {
            v & 0xE005_003F
        } else if self.model == CpuModel::I386 {
            v & 0x8000_001F
        } else {
            v
        };
        if self.model >= CpuModel::I386 && v & cr0::PG != 0 && v & cr0::PE == 0 {
            return Err(Fault::gp(0));
        }
        if self.model >= CpuModel::I486 && v & cr0::NW != 0 && v & cr0::CD == 0 {
            return Err(Fault::gp(0));
        }
        let old = self.cr[0];
        if v & cr0::PG != 0 && old & cr0::PG == 0 && self.cr[4] & cr4::PAE != 0 {
            self.load_pdptes(bus, self.cr[3])?;
        }
        self.cr[0] = v;
        if (old ^ v) & cr0::PE != 0 {
            if v & cr0::PE == 0 {
                self.put_cpl(0);
            }
            self.refresh_seg_acc();
        }
        if (old ^ v) & (cr0::PG | cr0::WP | cr0::PE) != 0 {
            self.paging_changed();
        }
        if (old ^ v) & cr0::AM != 0 {
            self.refresh_seg_acc();
        }
        Ok(())
    }

    /// INVLPG: drops the TLB entry of the page holding the memory operand's linear address.
    pub(crate) fn invlpg(&mut self, i: &crate::cpu::Insn) -> Result<(), Fault> {
        self.require_cpl0()?;
        let lin = self.segs[i.seg() as usize].base.wrapping_add(self.ea(i));
        self.tlb.flush_page(lin);
        Ok(())
    }

    /// Makes the fast-path permissions follow a change of EFLAGS.AC or CPL (alignment checks).
    pub(crate) fn flags_changed(&mut self) {
        if self.cr[0] & cr0::AM != 0 {
            self.refresh_seg_acc();
        }
    }
}
