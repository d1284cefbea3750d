//! Traces: runs of pre-decoded instructions executed back to back.
//!
//! The interpreter's hot loop does not look every instruction up on its own. From the physical
//! address of CS:EIP it finds (or builds) a *trace* — up to [`TRACE_MAX`] consecutive decoded
//! instructions on one page, ended by the first instruction whose table row says it ends a
//! trace (jumps, calls, returns, interrupts, I/O, flag and segment changes). The trace's
//! instructions then run with the same handlers as single steps; only the per-instruction
//! bookkeeping shrinks. Anything unusual — a fault, a pending REP, an I/O access, a write to
//! cached code, the end of the cycle budget — ends the trace early, and the next lookup starts
//! exactly where execution stopped, so behaviour is that of single-stepping.
//!
//! Validity: a trace is tagged with its physical address, the decode mode and the memory's
//! code epoch, which changes whenever cached code bytes are written (self-modifying code) or
//! the mapping changes (A20, loaders).

use super::decode::{self, table};
use super::{seg, Bus, Cpu, Insn};

/// Longest trace, in instructions.
pub const TRACE_MAX: usize = 16;
/// Number of trace slots (direct mapped by physical start address).
const SLOTS: usize = 2048;

/// One trace.
#[derive(Clone, Copy)]
pub(crate) struct Trace {
    /// Physical start address, decode mode in bit 32; bit 33 marks an empty slot.
    tag: u64,
    epoch: u32,
    /// Instructions in the trace.
    n: u8,
    /// Bytes covered by the trace.
    bytes: u16,
    cost: [u16; TRACE_MAX],
    insns: [Insn; TRACE_MAX],
}

/// The trace cache (boxed: about 1 MiB).
#[derive(Clone)]
pub(crate) struct TraceCache(Box<[Trace; SLOTS]>);

impl TraceCache {
    pub(crate) fn new() -> TraceCache {
        let empty = Trace { tag: 1 << 33, epoch: 0, n: 0, bytes: 0, cost: [0; TRACE_MAX], insns: [Insn::default(); TRACE_MAX] };
        let v: Box<[Trace]> = vec![empty; SLOTS].into_boxed_slice();
        match v.try_into() {
            Ok(a) => TraceCache(a),
            Err(_) => unreachable!("the vector has SLOTS traces"),
        }
    }
}

impl std::fmt::Debug for TraceCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TraceCache({SLOTS} slots)")
    }
}

impl Cpu {
    /// Runs one trace from CS:EIP (or one plain step when no trace can be used). Returns early
    /// on anything the run loop must look at.
    #[inline(always)]
    pub(crate) fn run_trace<B: Bus>(&mut self, bus: &mut B, tc: &mut TraceCache, until: u64) {
        let Some(epoch) = bus.code_epoch() else {
            self.step_plain(bus);
            return;
        };
        let cs = &self.segs[seg::CS as usize];
        let d32 = cs.attrs & 0x4000 != 0;
        let limit = cs.limit;
        let ip_mask = if d32 { u32::MAX } else { 0xFFFF };
        let phys = cs.base.wrapping_add(self.eip) & self.addr_mask;
        let tag = phys as u64 | (d32 as u64) << 32;
        let slot = (phys as usize ^ (phys as usize >> 11)) & (SLOTS - 1);
        let t = &mut tc.0[slot];
        if (t.tag != tag || t.epoch != epoch) && !self.build_trace(bus, t, phys, tag, d32, epoch) {
            self.step_plain(bus);
            return;
        }
        if self.eip as u64 + t.bytes as u64 > limit as u64 + 1 {
            self.step_plain(bus);
            return;
        }
        let t = &tc.0[slot];
        for k in 0..t.n as usize {
            let insn = &t.insns[k];
            self.start_eip = self.eip;
            self.eip = self.eip.wrapping_add(insn.len as u32) & ip_mask;
            self.cycles += t.cost[k] as u64;
            if let Err(f) = self.execute(bus, insn) {
                self.deliver_fault(bus, f);
                return;
            }
            if self.attention | self.shadow | self.rep_pending {
                self.instructions += !self.rep_pending as u64;
                return;
            }
            self.instructions += 1;
            if self.cycles >= until || bus.code_epoch() != Some(epoch) {
                return;
            }
        }
    }

    /// Decodes a trace at `phys` into `t`; false when not even the first instruction decodes
    /// from plain memory (the caller then single-steps, which raises any fault).
    #[cold]
    fn build_trace<B: Bus>(&mut self, bus: &mut B, t: &mut Trace, phys: u32, tag: u64, d32: bool, epoch: u32) -> bool {
        let limit = self.segs[seg::CS as usize].limit;
        let room = (limit.wrapping_sub(self.eip) as usize).saturating_add(1);
        let window = bus.code_window(phys);
        let window = &window[..window.len().min(room)];
        let mut pos = 0usize;
        let mut n = 0usize;
        while n < TRACE_MAX {
            let Ok(()) = decode::decode_into(&window[pos..], self.model, d32, &mut t.insns[n]) else { break };
            let insn = &t.insns[n];
            t.cost[n] = self.cost(insn) as u16;
            pos += insn.len as usize;
            n += 1;
            if table::OPS[insn.op as usize].flags & table::END != 0 {
                break;
            }
        }
        if n == 0 {
            t.tag = 1 << 33;
            return false;
        }
        bus.mark_code(phys, pos as u32);
        t.tag = tag;
        t.epoch = epoch;
        t.n = n as u8;
        t.bytes = pos as u16;
        true
    }
}
