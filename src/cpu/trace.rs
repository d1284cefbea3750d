//! Traces: runs of pre-decoded instructions executed back to back.
//!
//! The interpreter's hot loop does not look every instruction up on its own. From the physical
//! address of CS:EIP it finds (or builds) a *trace* — up to [`TRACE_MAX`] consecutive decoded
//! instructions on one page, ended by the first instruction whose table row says it ends a
//! trace (jumps, calls, returns, interrupts, I/O, flag and segment changes). A conditional
//! branch (Jcc, LOOP, JCXZ) does not end it: the trace follows the fall-through path and is left
//! when the branch is taken. The trace's instructions then run with the same handlers as single
//! steps; only the per-instruction bookkeeping shrinks. Anything unusual — a fault, a pending
//! REP, an I/O access, a write to cached code, the end of the cycle budget — ends the trace
//! early, and the next lookup starts exactly where execution stopped, so behaviour is that of
//! single-stepping.
//!
//! Validity: a trace is tagged with its physical address, the decode mode and the memory's
//! code epoch, which changes whenever cached code bytes are written (self-modifying code) or
//! the mapping changes (A20, loaders).
//!
//! Per-instruction bookkeeping is what remains of the interpreter's overhead, so each slot
//! says what must be looked at after its instruction, decided when the trace is built:
//! - `CHECK_CODE`: the instruction may store to memory (see `handlers::may_write_memory`), so
//!   the bus's code stamp is read again; when it moved, some cached code was written, and if
//!   it was this trace's page (possibly the very next instructions), the trace stops and the
//!   next lookup decodes afresh.
//! - `CHECK_STOP`: the instruction may need the run loop (string instructions with a pending
//!   REP; I/O, `STI`, `POP SS` and the rest of the trace-ending rows, which set `attention` or
//!   `shadow`). No other instruction sets those, so the others skip the test.
//! - `CHECK_BRANCH`: a conditional branch; if EIP is not the fall-through address, it was
//!   taken and execution continues with the trace at the target — without a lookup when the
//!   target is in the page the trace started in (this trace's own start, for a loop that fits
//!   in one trace, or another trace of the page the cache holds), the page's code is still the
//!   trace's and the target trace's worst case fits in the budget.
//! - `NEEDS_EIP` (looked at before the instruction): the handler reads EIP. Most handlers do
//!   not (`handlers::reads_eip`), so EIP is advanced only before those that do, and made exact
//!   from the slot's offset in the trace whenever execution leaves the trace or faults.
//! - `NEEDS_CYCLES` (before and after): the handler reads the cycle counter
//!   (`handlers::reads_cycles`). The table costs of a trace's instructions are not added one
//!   by one: each slot knows the sum up to and including itself (`spent`), and `cycles` stays
//!   at the trace's start plus whatever handlers added (taken jumps, shifts); the sum is added
//!   only around the handlers that read the counter and when execution leaves the trace. So
//!   the plain instruction pays nothing for its time, and the counter any handler, device or
//!   fault sees is the same as when every instruction adds its own cost.
//!
//! Slots are *chained* where they can be: each keeps, besides its handler, the address of the
//! handler's chained form (`chained::<B, ID, STORE>`, the handler inlined), which runs the
//! instruction and then tail-calls the next slot's chained form. That covers the plain slots,
//! the slots whose only check is for stores (the chained form tests the code stamp itself and
//! stops the chain when the store wrote the trace's page) and Jcc (the chained form tests the
//! condition: not taken, it goes on; taken, it makes the jump, with EIP from the slot's
//! offset, and goes on with the trace the cache holds at the target when the trace loop would
//! go there without a lookup, or else returns to the trace loop, which decides). Memory
//! instructions run on a `FastOnly` bus, so that their chained forms make no call on the fast
//! path; an access that needs the slow path makes the instruction run again out of line, with
//! the real bus. Any other slot, and the end slot after the last instruction, has `stop`
//! there, which returns to the trace loop. So a run of chained instructions — a hot loop of
//! one page, many times round — costs the loop one call, and each handler ends in an indirect
//! jump of its own, which the host predicts far better than the loop's one shared call. The
//! depth is bounded by the trace's length and the [`HOPS`] a chain may make, so builds that
//! make real calls of the tail calls stay safe.
//!
//! Faults return from the handler as `Err` and end the trace. The cycle budget is checked after
//! every instruction, so a trace never runs past a device deadline — except that a trace whose
//! worst-case cost (table costs plus [`MAX_EXTRA`] per instruction) fits in what is left of the
//! budget runs without the test, since it could not fire; only its string instructions, whose
//! time is unbounded, still test it.

use super::bus::FastOnly;
use super::decode::{self, table};
use super::exec::handlers::{self, handler, may_write_memory, reads_cycles, reads_eip, Handler};
use super::{seg, Bus, Cpu, Fault, Insn};
use crate::mem::PageArray;

/// Longest trace, in instructions: enough for the inner loop of the kernel's big-number
/// multiply (45 instructions), which then runs as one trace branching to its own start.
pub const TRACE_MAX: usize = 64;
/// Most clocks any handler adds to its table cost, REP string instructions apart (an 8086
/// shift by CL = 255 adds 4 × 255; taken jumps, ENTER, BSF/BSR, INTO add less). String
/// instructions, whose time has no bound, test the budget after themselves in every trace.
const MAX_EXTRA: u32 = 1024;
/// Number of trace slots (direct mapped by physical start address). A Linux boot has enough
/// hot code that 2048 slots evicted a trace every 2,400 instructions; with 4096 it rebuilt
/// 1.57 M evicted traces, with 8192 0.94 M (of 1.6 M builds in all).
const SLOTS: usize = 8192;

/// The offset bits of an address within its 4 KiB page.
const PAGE_MASK: u32 = 0xFFF;

/// The cache slot of the trace starting at physical address `phys`.
#[inline(always)]
fn index(phys: u32) -> usize {
    (phys as usize ^ (phys as usize >> 11)) & (SLOTS - 1)
}

/// Check after the instruction whether the run loop must look at something.
const CHECK_STOP: u8 = 1;
/// Check after the instruction whether cached code was written.
const CHECK_CODE: u8 = 2;
/// Check after the instruction whether it jumped.
const CHECK_BRANCH: u8 = 4;
/// Make EIP and the instruction's start exact before running it.
const NEEDS_EIP: u8 = 8;
/// Make the cycle counter exact before running it (and take the costs out again after).
const NEEDS_CYCLES: u8 = 16;
/// The slot after a trace's last instruction: no instruction, it only ends a run of chained
/// slots.
const END_SLOT: u8 = 32;

/// One instruction of a trace. The instruction comes first, so the address of the slot is the
/// handler's `&Insn` argument.
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Slot {
    insn: Insn,
    /// The address of the instruction's handler (`handlers::handler`) for the bus type the
    /// cache is bound to (see [`TraceCache::bind`]): one load instead of a table lookup.
    run: usize,
    /// What the slot before this one continues with, for the same bus type: the chained form
    /// of the handler (`chained`), which runs the instruction and continues with the next
    /// slot's `chain`, for a plain slot, a slot whose only check is for stores, and a Jcc; for
    /// any other slot, `stop`, which returns to the trace loop.
    chain: usize,
    /// Clock costs from the opcode table of the trace's instructions up to and including this
    /// one.
    spent: u16,
    /// `CHECK_*` bits.
    check: u8,
    /// Instructions of the trace up to and including this one (so the loop needs no counter).
    count: u8,
    /// Offset of the next instruction from the start of the trace.
    end: u16,
    /// Whether `chain` is a chained form (not `stop`): the trace loop enters the chain here.
    linked: bool,
}

/// One trace. The header comes first and the trace starts a cache line, so that the lookup's
/// tag test and the first instructions share a line (a lookup touches only the header and the
/// slots that run, never the unused rest).
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub(crate) struct Trace {
    /// Physical start address, decode mode in bit 32; bit 33 marks an empty slot.
    tag: u64,
    epoch: u32,
    /// Instructions in the trace.
    n: u8,
    /// Bytes covered by the trace.
    bytes: u16,
    /// Clocks the trace can take at most, string instructions apart.
    worst: u32,
    /// The instructions, then the end slot (`END_SLOT`) at index `n`.
    slots: [Slot; TRACE_MAX + 1],
}

/// The trace cache: about 25 MiB, of which a lookup touches only the header and the slots
/// that run. Traces are entered all over it, one host page each, so it lies on the host's
/// huge pages where it can (one host TLB entry for 2 MiB of traces, not one per trace).
#[derive(Clone)]
pub(crate) struct TraceCache {
    traces: PageArray<Trace, SLOTS>,
    /// The `Bus::TRACE_ID` of the bus type whose handlers the slots hold (0: none yet).
    bus: u8,
}

impl TraceCache {
    pub(crate) fn new() -> TraceCache {
        let empty = Trace {
            tag: 1 << 33,
            epoch: 0,
            n: 0,
            bytes: 0,
            worst: 0,
            slots: [Slot::default(); TRACE_MAX + 1],
        };
        TraceCache {
            traces: PageArray::filled(empty),
            bus: 0,
        }
    }

    /// Makes the cache hold handlers for bus type `B`: traces built for another type are
    /// dropped (a machine run after a debugger's observed one, say).
    #[inline]
    pub(crate) fn bind<B: Bus>(&mut self) {
        if self.bus != B::TRACE_ID {
            for t in self.traces.iter_mut() {
                t.tag = 1 << 33;
            }
            self.bus = B::TRACE_ID;
        }
    }
}

impl std::fmt::Debug for TraceCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TraceCache({SLOTS} slots)")
    }
}

impl Cpu {
    /// Runs traces from CS:EIP one after another until something needs the run loop: the
    /// cycle budget is used up, an instruction asks to stop (I/O, `STI`, a pending REP, …), a
    /// fault is delivered, or no trace can be used at CS:EIP (then one plain step is taken).
    ///
    /// Going from one trace to the next needs no other check: everything else the run loop
    /// looks at (HLT, the interrupt shadow, TF, the interrupt line) changes only through
    /// instructions that stop here, or at the end of the budget.
    #[inline(always)]
    pub(crate) fn run_traces<B: Bus>(&mut self, bus: &mut B, tc: &mut TraceCache, until: u64) {
        debug_assert_eq!(self.slice_end, until);
        loop {
            let cs = &self.segs[seg::CS as usize];
            let d32 = cs.attrs & 0x4000 != 0;
            let limit = cs.limit;
            let ip_mask = if d32 { u32::MAX } else { 0xFFFF };
            let lin = cs.base.wrapping_add(self.eip);
            let phys = if !self.paging {
                lin & self.addr_mask
            } else {
                match self
                    .tlb
                    .lookup(lin, super::mmu::ACC_READ << self.user_shift())
                {
                    Some(p) => p,
                    None => {
                        self.step_plain(bus);
                        return;
                    }
                }
            };
            // A trace lies in one page (decoding stops at the page's end): its page's epoch.
            let Some(epoch) = bus.code_epoch(phys) else {
                self.step_plain(bus);
                return;
            };
            let tag = phys as u64 | (d32 as u64) << 32;
            let slot = index(phys);
            let t = &mut tc.traces[slot];
            if (t.tag != tag || t.epoch != epoch)
                && !self.build_trace(bus, t, phys, tag, d32, epoch)
            {
                self.step_plain(bus);
                return;
            }
            if self.eip as u64 + t.bytes as u64 > limit as u64 + 1 {
                self.step_plain(bus);
                return;
            }
            // After the lookup: building the trace may have turned a RAM page into a code page.
            self.check_direct(bus);
            let t = &tc.traces[slot];
            let go_on = if self.cycles + (t.worst as u64) < until {
                self.run_slots::<false, B>(bus, tc, t, ip_mask)
            } else {
                self.run_slots::<true, B>(bus, tc, t, ip_mask)
            };
            if !go_on {
                return;
            }
        }
    }

    /// Runs the instructions of trace `t`, testing the cycle budget after each one if `BUDGET`.
    /// Returns whether execution goes on with the next trace.
    ///
    /// Without `BUDGET`, a run of linked slots is one call: each slot's chained form jumps
    /// straight to the next one's, and the run comes back here at the first slot with
    /// something to check, the end of the trace, a taken Jcc, a store to the trace's code or a
    /// fault. With `BUDGET`, every slot runs from here and the budget is tested after each.
    #[inline(always)]
    fn run_slots<'t, const BUDGET: bool, B: Bus>(
        &mut self,
        bus: &mut B,
        tc: &'t TraceCache,
        mut t: &'t Trace,
        ip_mask: u32,
    ) -> bool {
        // EIP of the first instruction; the others are at offsets from it.
        let mut base = self.eip;
        // While the bus's code stamp stays, no cached code was written.
        let mut stamp = bus.code_stamp();
        // `cycles` is the trace's start plus what handlers added; `s.spent` is the rest.
        'again: loop {
            // After slot `s`'s taken branch: on with the trace at its target, or out.
            macro_rules! on_after_jump {
                ($s:expr) => {
                    match self.after_jump(bus, tc, t, base, $s, &mut stamp) {
                        Some(next) => {
                            t = next;
                            base = self.eip;
                            continue 'again;
                        }
                        None => return self.cycles < self.slice_end,
                    }
                };
            }
            if BUDGET {
                for s in &t.slots[..t.n as usize] {
                    if s.check == 0 {
                        // The plain instruction: nothing to make exact before, nothing to look
                        // at after.
                        #[cfg(debug_assertions)]
                        {
                            self.cycles_behind = true;
                        }
                        let result = self.run_slot(bus, s);
                        #[cfg(debug_assertions)]
                        {
                            self.cycles_behind = false;
                        }
                        if let Err(f) = result {
                            self.fault_in_trace(bus, base, s, ip_mask, f);
                            return false;
                        }
                    } else {
                        match self.run_checked::<BUDGET, B>(bus, t, base, s, ip_mask, &mut stamp) {
                            Flow::Next => {}
                            Flow::Jumped => on_after_jump!(s),
                            Flow::Leave(go_on) => return go_on,
                        }
                    }
                    debug_assert!(
                        !(self.attention | self.shadow | self.rep_pending),
                        "{:?} needs CHECK_STOP",
                        s.insn
                    );
                    // The budget (`slice_end` is `until`; the field is read instead of keeping
                    // one more value live across the handler call).
                    if self.cycles + s.spent as u64 >= self.slice_end {
                        self.leave_after(base, s, ip_mask);
                        self.instructions += s.count as u64;
                        self.cycles += s.spent as u64;
                        return false;
                    }
                }
            } else {
                let mut p = t.slots.as_ptr();
                loop {
                    // SAFETY: `p` points into `t.slots`, at most at the end slot (index `n`):
                    // it starts at the first slot, steps only past slots that are not the end
                    // slot, and a chain stops at the end slot at the latest.
                    let mut s = unsafe { &*p };
                    if s.linked {
                        #[cfg(debug_assertions)]
                        {
                            self.cycles_behind = true;
                        }
                        let mut cx = ChainCx {
                            base,
                            ip_mask,
                            stamp,
                            page: t.tag as u32,
                            epoch: t.epoch,
                            trace: t,
                            traces: &*tc.traces,
                            hops: HOPS,
                        };
                        // SAFETY: the slot is linked, so its `chain` is a chained form for bus
                        // type `B` (see `set_chain`), which wants a pointer into `t.slots`.
                        let end = unsafe { chain_of::<B>(s)(self, bus, p, &mut cx) };
                        #[cfg(debug_assertions)]
                        {
                            self.cycles_behind = false;
                        }
                        if cx.base != base {
                            // The chain went on with another trace of the page at a taken
                            // branch (see `jump_on`), and stopped in that one.
                            base = cx.base;
                            // SAFETY: `cx.trace` is `t` or a trace of `tc` that `jump_on`
                            // went on with.
                            t = unsafe { &*cx.trace };
                        }
                        p = end.at;
                        // SAFETY: a chain stops at a slot of the same array.
                        s = unsafe { &*p };
                        if end.why != 0 {
                            if let Some(f) = Fault::from_word(end.why) {
                                self.fault_in_trace(bus, base, s, ip_mask, f);
                                return false;
                            }
                            if end.why == JUMPED {
                                on_after_jump!(s);
                            }
                            // The store wrote this trace's code: look the next one up afresh.
                            self.leave_after(base, s, ip_mask);
                            self.instructions += s.count as u64;
                            self.cycles += s.spent as u64;
                            return self.cycles < self.slice_end;
                        }
                    }
                    if s.check & END_SLOT != 0 {
                        break;
                    }
                    // A slot with checks, or a Jcc whose chained form found it taken.
                    match self.run_checked::<BUDGET, B>(bus, t, base, s, ip_mask, &mut stamp) {
                        Flow::Next => {}
                        Flow::Jumped => on_after_jump!(s),
                        Flow::Leave(go_on) => return go_on,
                    }
                    // SAFETY: `s` is not the end slot, so the next slot is in the array.
                    p = unsafe { p.add(1) };
                }
            }
            if let Some(last) = t.slots[..t.n as usize].last() {
                // A linked Jcc that gets here was not taken, and its chained form skipped the
                // handler, which would have made EIP exact.
                if last.linked {
                    self.eip = base.wrapping_add(last.end as u32) & ip_mask;
                } else {
                    self.leave_after(base, last, ip_mask);
                }
                self.cycles += last.spent as u64;
            }
            debug_assert!(
                BUDGET || self.cycles < self.slice_end,
                "a trace overran its worst case"
            );
            self.instructions += t.n as u64;
            return true;
        }
    }

    /// Runs the instruction of slot `s`, which has something to check (`s.check != 0`), with
    /// what must be exact before it and the checks after it.
    #[inline(always)]
    fn run_checked<const BUDGET: bool, B: Bus>(
        &mut self,
        bus: &mut B,
        t: &Trace,
        base: u32,
        s: &Slot,
        ip_mask: u32,
        stamp: &mut u32,
    ) -> Flow {
        if s.check & (NEEDS_EIP | NEEDS_CYCLES) != 0 {
            if s.check & NEEDS_EIP != 0 {
                self.set_eip(base, s, ip_mask);
            }
            if s.check & NEEDS_CYCLES != 0 {
                self.cycles += s.spent as u64;
            }
        }
        #[cfg(debug_assertions)]
        {
            self.cycles_behind = s.check & NEEDS_CYCLES == 0;
        }
        let result = self.run_slot(bus, s);
        #[cfg(debug_assertions)]
        {
            self.cycles_behind = false;
        }
        if let Err(f) = result {
            self.fault_in_trace(bus, base, s, ip_mask, f);
            return Flow::Leave(false);
        }
        if s.check & !NEEDS_EIP != 0 {
            if s.check & NEEDS_CYCLES != 0 {
                self.cycles -= s.spent as u64;
            }
            if s.check & CHECK_STOP != 0 {
                if self.attention | self.shadow | self.rep_pending {
                    self.cycles += s.spent as u64;
                    self.instructions += s.count as u64 - self.rep_pending as u64;
                    return Flow::Leave(false);
                }
                if !BUDGET && self.cycles + s.spent as u64 >= self.slice_end {
                    // A string instruction that finished past the budget.
                    self.cycles += s.spent as u64;
                    self.instructions += s.count as u64;
                    return Flow::Leave(false);
                }
            }
            let jumped = s.check & CHECK_BRANCH != 0
                && self.eip != base.wrapping_add(s.end as u32) & ip_mask;
            // A write to cached code (possibly this trace's) also looks the trace up again.
            if jumped
                || s.check & CHECK_CODE != 0
                    && bus.code_stamp() != *stamp
                    && bus.code_epoch(t.tag as u32) != Some(t.epoch)
            {
                if jumped {
                    return Flow::Jumped;
                }
                self.leave_after(base, s, ip_mask);
                self.instructions += s.count as u64;
                self.cycles += s.spent as u64;
                return Flow::Leave(self.cycles < self.slice_end);
            }
        }
        Flow::Next
    }

    /// Counts the trace up to the taken conditional branch of slot `s` (EIP is its target) and
    /// finds the trace to go on with without a lookup, if there is one.
    ///
    /// A branch within the page the trace started in needs no lookup when nothing a lookup
    /// checks can have changed. CS, paging and A20 change only through instructions that end a
    /// trace, which no pass since the last lookup reached, so the target is in the same
    /// physical page as this trace, and its code is still this trace's epoch if no cached code
    /// was written since (or this page's epoch is still the trace's). The trace at the target
    /// is then the one the cache holds for it, if any: back to this trace's own start (a loop
    /// that fits in it), or another trace of the same page (the two sides of an `if`, the
    /// arms of a loop that spans two traces), when it fits in CS's limit. Either way its worst
    /// case must fit in the budget, as a lookup would require of a trace run unchecked.
    #[inline(always)]
    fn after_jump<'t, B: Bus>(
        &mut self,
        bus: &mut B,
        tc: &'t TraceCache,
        t: &'t Trace,
        base: u32,
        s: &Slot,
        stamp: &mut u32,
    ) -> Option<&'t Trace> {
        self.instructions += s.count as u64;
        self.cycles += s.spent as u64;
        let now = bus.code_stamp();
        if now != *stamp {
            if bus.code_epoch(t.tag as u32) != Some(t.epoch) {
                return None;
            }
            *stamp = now;
        }
        let next = trace_in_page(&tc.traces, t, base, self.eip, &self.segs[seg::CS as usize])?;
        (self.cycles + (next.worst as u64) < self.slice_end).then_some(next)
    }

    /// Makes EIP (past the instruction) and `start_eip` exact for slot `s` of a trace that
    /// began at `base`.
    #[inline(always)]
    fn set_eip(&mut self, base: u32, s: &Slot, ip_mask: u32) {
        let next = base.wrapping_add(s.end as u32);
        self.start_eip = next.wrapping_sub(s.insn.len as u32) & ip_mask;
        self.eip = next & ip_mask;
    }

    /// Runs the handler of slot `s`.
    #[inline(always)]
    fn run_slot<B: Bus>(&mut self, bus: &mut B, s: &Slot) -> Result<(), Fault> {
        // SAFETY: `s.run` is the address of a `Handler<B>`: `build_trace::<B>` stored it, and
        // `TraceCache::bind` dropped every trace built for another bus type.
        let run = unsafe { std::mem::transmute::<usize, Handler<B>>(s.run) };
        run(self, bus, &s.insn)
    }

    /// Delivers fault `f` of the instruction in slot `s` of a trace that began at `base`, with
    /// EIP, the cycle counter and the instruction count made exact first.
    #[cold]
    #[inline(never)]
    fn fault_in_trace<B: Bus>(&mut self, bus: &mut B, base: u32, s: &Slot, ip_mask: u32, f: Fault) {
        if s.check & NEEDS_EIP == 0 {
            self.set_eip(base, s, ip_mask);
        }
        if s.check & NEEDS_CYCLES == 0 {
            self.cycles += s.spent as u64;
        }
        self.instructions += s.count as u64 - 1;
        self.deliver_fault(bus, f);
    }

    /// Leaves the trace after slot `s`: unless its handler kept EIP itself (and may have jumped),
    /// EIP becomes the address of the next instruction.
    #[inline(always)]
    fn leave_after(&mut self, base: u32, s: &Slot, ip_mask: u32) {
        if s.check & NEEDS_EIP == 0 {
            self.eip = base.wrapping_add(s.end as u32) & ip_mask;
        }
    }

    /// Sets slot `s`'s `chain` for bus type `B` (see `Slot::chain`).
    fn set_chain<B: Bus>(s: &mut Slot) {
        let id = s.insn.handler as usize & (handlers::SLOTS - 1);
        let jcc = jcc_condition(s.insn.handler).is_some();
        let chain = match s.check {
            0 => Some(Chains::<B>::PLAIN[id]),
            CHECK_CODE => Some(Chains::<B>::STORING[id]),
            c if jcc && c == CHECK_BRANCH | NEEDS_EIP => Some(Chains::<B>::PLAIN[id]),
            _ => None,
        };
        s.linked = chain.is_some();
        let chain = chain.unwrap_or(stop::<B>);
        s.chain = chain as usize;
    }

    /// Decodes a trace at `phys` into `t`; false when not even the first instruction decodes
    /// from plain memory (the caller then single-steps, which raises any fault).
    #[cold]
    fn build_trace<B: Bus>(
        &mut self,
        bus: &mut B,
        t: &mut Trace,
        phys: u32,
        tag: u64,
        d32: bool,
        epoch: u32,
    ) -> bool {
        let limit = self.segs[seg::CS as usize].limit;
        let room = (limit.wrapping_sub(self.eip) as usize).saturating_add(1);
        let window = bus.code_window(phys);
        let window = &window[..window.len().min(room)];
        let mut pos = 0usize;
        let mut n = 0usize;
        let mut spent = 0u64;
        let mut worst = 0u64;
        while n < TRACE_MAX {
            let s = &mut t.slots[n];
            let Ok(()) = decode::decode_into(&window[pos..], self.model, d32, &mut s.insn) else {
                break;
            };
            s.run = handler::<B>(s.insn.handler) as usize;
            let cost = self.cost(&s.insn);
            let Ok(sum) = u16::try_from(spent + cost) else {
                // Costs beyond what a slot counts (only very slow instructions add up so far).
                break;
            };
            spent = sum as u64;
            worst += cost + MAX_EXTRA as u64;
            s.spent = sum;
            let branch = is_conditional_branch(&s.insn);
            let ends = !branch && ends_trace(&s.insn);
            s.check = 0;
            if may_stop(&s.insn) {
                s.check |= CHECK_STOP;
            }
            if may_write_memory(&s.insn) {
                s.check |= CHECK_CODE;
            }
            if branch {
                s.check |= CHECK_BRANCH;
            }
            if reads_eip(s.insn.handler) {
                s.check |= NEEDS_EIP;
            }
            if reads_cycles(s.insn.handler) {
                s.check |= NEEDS_CYCLES;
            }
            Self::set_chain::<B>(s);
            pos += s.insn.len as usize;
            n += 1;
            s.count = n as u8;
            s.end = pos as u16;
            if ends {
                break;
            }
        }
        if n == 0 {
            t.tag = 1 << 33;
            return false;
        }
        let end = &mut t.slots[n];
        end.check = END_SLOT;
        Self::set_chain::<B>(end);
        bus.mark_code(phys, pos as u32);
        // At most 65,535 + TRACE_MAX × MAX_EXTRA.
        t.worst = worst as u32;
        t.tag = tag;
        t.epoch = epoch;
        t.n = n as u8;
        t.bytes = pos as u16;
        true
    }
}

/// Whether `i` is the last instruction of a trace: its table row says so, except for INC and
/// DEC in groups 4 and 5 (FE, FF), whose other members transfer control.
fn ends_trace(i: &Insn) -> bool {
    let ends = table::OPS[i.op as usize].flags & table::END != 0;
    ends && !(matches!(i.op, 0xFE | 0xFF) && i.reg() < 2)
}

/// Jcc, LOOPcc and JCXZ: the trace goes on along the fall-through path.
fn is_conditional_branch(i: &Insn) -> bool {
    matches!(i.op, 0x70..=0x7F | 0xE0..=0xE3 | 0x180..=0x18F)
}

/// Whether `i` can set `attention`, `shadow` or `rep_pending`: string instructions, the x87
/// instructions, and the trace-ending rows, except the near and far jumps, calls and returns, which only move EIP
/// (and CS).
fn may_stop(i: &Insn) -> bool {
    let plain_transfer = match i.op {
        0x70..=0x7F | 0xE0..=0xE3 | 0x180..=0x18F => true,
        0xE8 | 0xE9 | 0xEA | 0xEB | 0x9A | 0xC2 | 0xC3 | 0xCA | 0xCB => true,
        0xFF => matches!(i.reg(), 2..=5),
        _ => false,
    };
    let string = table::OPS[i.op as usize].flags & table::STRING != 0;
    // x87 instructions (and FXRSTOR) drive FERR#, which asks for the run loop's attention.
    let fpu = matches!(i.op, 0xD8..=0xDF | 0x9B | 0x1AE);
    string || fpu || ends_trace(i) && !plain_transfer
}

/// Where a run of chained slots stopped (two words, returned in registers):
/// - `why == 0`: before slot `at`, which has not run: it has something to check, or is the
///   end slot, or is a Jcc whose target is beyond CS's limit;
/// - `why == WRITTEN`: after slot `at`, a store that wrote the trace's own code;
/// - `why == JUMPED`: after slot `at`, a Jcc that was taken (EIP is its target);
/// - otherwise `why` is the word of the fault the instruction at `at` raised.
struct ChainEnd {
    at: *const Slot,
    why: u32,
}

/// `ChainEnd::why` after a store to the trace's code (no fault's word: bit 8 is clear).
const WRITTEN: u32 = 1;
/// `ChainEnd::why` after a taken Jcc at `at`, with EIP at its target (no fault's word).
const JUMPED: u32 = 2;

impl ChainEnd {
    /// Stopped before slot `at`.
    #[inline(always)]
    fn before(at: *const Slot) -> ChainEnd {
        ChainEnd { at, why: 0 }
    }
}

/// What a chain needs of the trace it runs in: where it starts (to make a taken Jcc's target),
/// what to watch for (a write to the trace's code page: the bus's code stamp moved and the
/// page's epoch is no longer the trace's), and how to go on at a taken branch's target with
/// another trace of the page (see `jump_on`), which then becomes the chain's trace.
struct ChainCx {
    /// EIP of the trace's first instruction.
    base: u32,
    ip_mask: u32,
    /// The bus's code stamp when the chain was entered.
    stamp: u32,
    /// The physical start address of the trace (of the first, when the chain went on with
    /// others), in the page all its traces lie in.
    page: u32,
    /// The epoch of that page.
    epoch: u32,
    /// The trace.
    trace: *const Trace,
    /// The cache's traces.
    traces: *const [Trace; SLOTS],
    /// How many more taken branches the chain may follow before it returns to the trace loop.
    hops: u32,
}

/// Taken branches a run of chained slots follows into the next trace before it returns to
/// the trace loop. The chained forms call each other in tail position, which the compiler
/// makes jumps in optimised builds but not in debug builds; the bound keeps the native stack
/// bounded either way (a chain is at most `HOPS + 1` traces deep).
const HOPS: u32 = if cfg!(debug_assertions) { 3 } else { 64 };

/// How a trace loop goes on after a slot with checks.
enum Flow {
    /// With the next slot.
    Next,
    /// Out of the trace by a taken conditional branch (EIP is its target): see
    /// [`Cpu::after_jump`].
    Jumped,
    /// Out of the trace; whether the caller goes on with another trace.
    Leave(bool),
}

/// A slot's chained handler: runs slot `s` and the chained slots after it (see `Slot::chain`).
/// `s` points into a trace's `slots`, and may be stepped through that array.
type Chain<B> = unsafe fn(&mut Cpu, &mut B, *const Slot, &mut ChainCx) -> ChainEnd;

/// The chain entry of slot `s`.
///
/// # Safety
/// The slot must have been built for bus type `B` (which `TraceCache::bind` ensures).
#[inline(always)]
unsafe fn chain_of<B: Bus>(s: &Slot) -> Chain<B> {
    // SAFETY: `set_chain::<B>` stored the address of a `Chain<B>`.
    unsafe { std::mem::transmute::<usize, Chain<B>>(s.chain) }
}

/// Whether handler `id` is a Jcc, and then its condition code.
const fn jcc_condition(id: u16) -> Option<u8> {
    if id >= handlers::id::JCC_SHORT && id < handlers::id::JCC_SHORT + 16 {
        Some((id - handlers::id::JCC_SHORT) as u8)
    } else if id >= handlers::id::JCC_NEAR && id < handlers::id::JCC_NEAR + 16 {
        Some((id - handlers::id::JCC_NEAR) as u8)
    } else {
        None
    }
}

/// The chained form of handler `ID`: runs the instruction and, unless it faulted, jumps to the
/// next slot's chain entry (a tail call: the run of chained slots is one call from the trace
/// loop, and each handler has its own indirect jump to predict). With `STORE`, the instruction
/// may store, and the chain stops after it if it wrote the trace's page.
///
/// A Jcc's chained form does the handler's work itself: not taken, it goes on with the next
/// slot; taken, it sets EIP to the target (made from the slot's offset: inside a trace, EIP
/// is not kept exact) and goes on with the trace there (`jump_on`), or stops the chain
/// (`JUMPED`). A target beyond CS's limit stops the chain before the slot instead, and the
/// trace loop runs the handler, which raises #GP.
///
/// An instruction with a memory operand (`handlers::memory_form`) runs on a `FastOnly` bus:
/// compiled that way, its fast path makes no call, so this function needs no stack frame;
/// when the access needs its slow path, the instruction runs again, unchanged, out of line
/// (`chained_slow`).
///
/// # Safety
/// `s` points into a trace's `slots` at a slot built for bus type `B` that is not the end slot,
/// so another slot (at the latest the end slot) follows it.
unsafe fn chained<B: Bus, const ID: u16, const STORE: bool>(
    cpu: &mut Cpu,
    bus: &mut B,
    s: *const Slot,
    cx: &mut ChainCx,
) -> ChainEnd {
    // SAFETY: `s` points at a slot (the caller's promise).
    let insn = unsafe { &(*s).insn };
    if let Some(cc) = const { jcc_condition(ID) } {
        if cpu.flags.cond(cc) {
            // What the handler does, with EIP made from the slot's offset.
            // SAFETY: `s` points at a slot (the caller's promise).
            let next = cx.base.wrapping_add(unsafe { (*s).end } as u32) & cx.ip_mask;
            let target = next.wrapping_add(insn.imm);
            let target = if insn.o32() { target } else { target & 0xFFFF };
            if !cpu.wraps && target > cpu.segs[seg::CS as usize].limit {
                // #GP: the trace loop runs the handler, which raises it with EIP exact.
                return ChainEnd::before(s);
            }
            if const { ID < handlers::id::JCC_NEAR } {
                // Jcc rel8 (the table's cost for rel16/32 covers the taken jump).
                cpu.cycles += cpu.taken_penalty();
            }
            cpu.eip = target;
            // SAFETY: the caller's promise, passed on.
            return unsafe { jump_on::<B>(cpu, bus, s, cx) };
        }
    } else if const { handlers::memory_form(ID) } {
        let run: Handler<FastOnly<B>> =
            const { handlers::Table::<FastOnly<B>>::MEMORY[ID as usize] };
        if let Err(fault) = run(cpu, FastOnly::wrap(bus), insn) {
            if fault == Fault::RETRY {
                // SAFETY: the caller's promise, passed on.
                return unsafe { chained_slow::<B, ID, STORE>(cpu, bus, s, cx) };
            }
            return ChainEnd {
                at: s,
                why: fault.word(),
            };
        }
    } else {
        let run: Handler<B> = const { handlers::Table::<B>::HANDLERS[ID as usize] };
        if let Err(fault) = run(cpu, bus, insn) {
            return ChainEnd {
                at: s,
                why: fault.word(),
            };
        }
    }
    // SAFETY: the caller's promise, passed on.
    unsafe { chain_on::<B, STORE>(cpu, bus, s, cx, ID) }
}

/// A memory instruction of a chain whose access needs the slow path: runs it with the real
/// bus, then goes on like `chained`.
///
/// # Safety
/// As for `chained`.
#[cold]
#[inline(never)]
unsafe fn chained_slow<B: Bus, const ID: u16, const STORE: bool>(
    cpu: &mut Cpu,
    bus: &mut B,
    s: *const Slot,
    cx: &mut ChainCx,
) -> ChainEnd {
    let run: Handler<B> = const { handlers::Table::<B>::HANDLERS[ID as usize] };
    // SAFETY: `s` points at a slot (the caller's promise).
    if let Err(fault) = run(cpu, bus, unsafe { &(*s).insn }) {
        return ChainEnd {
            at: s,
            why: fault.word(),
        };
    }
    // SAFETY: the caller's promise, passed on.
    unsafe { chain_on::<B, STORE>(cpu, bus, s, cx, ID) }
}

/// After the instruction of slot `s` (handler `id`) ran: stops if it was a store to the
/// trace's code, else continues with the next slot's chain entry.
///
/// # Safety
/// As for `chained`.
#[inline(always)]
unsafe fn chain_on<B: Bus, const STORE: bool>(
    cpu: &mut Cpu,
    bus: &mut B,
    s: *const Slot,
    cx: &mut ChainCx,
    id: u16,
) -> ChainEnd {
    debug_assert!(
        !(cpu.attention | cpu.shadow | cpu.rep_pending),
        "handler {id} needs CHECK_STOP"
    );
    if STORE && bus.code_stamp() != cx.stamp && bus.code_epoch(cx.page) != Some(cx.epoch) {
        return ChainEnd {
            at: s,
            why: WRITTEN,
        };
    }
    // SAFETY: the slot is followed by another slot of the same array, built for `B`.
    unsafe {
        let next = s.add(1);
        chain_of::<B>(&*next)(cpu, bus, next, cx)
    }
}

/// The trace to go on with at `eip`, the target of a taken branch in trace `t` (which started
/// at `base`), without a lookup, if the cache holds one there and the target lies in the
/// page `t` started in: `t` itself for a branch to its own start, or another trace of the
/// page, of its epoch, that fits in CS's limit (see `Cpu::after_jump` for why that suffices,
/// when the page's code is still `t`'s).
#[inline(always)]
fn trace_in_page<'t>(
    traces: &'t [Trace; SLOTS],
    t: &'t Trace,
    base: u32,
    eip: u32,
    cs: &super::Segment,
) -> Option<&'t Trace> {
    if eip == base {
        return Some(t);
    }
    let lin = cs.base.wrapping_add(eip);
    if (lin ^ cs.base.wrapping_add(base)) & !PAGE_MASK != 0 {
        return None;
    }
    let tag = t.tag & !(PAGE_MASK as u64) | (lin & PAGE_MASK) as u64;
    let next = &traces[index(tag as u32)];
    (next.tag == tag
        && next.epoch == t.epoch
        && eip as u64 + next.bytes as u64 <= cs.limit as u64 + 1)
        .then_some(next)
}

/// After the taken Jcc of slot `s` (EIP is its target): goes on with the trace the cache holds
/// at the target, without returning to the trace loop, when `Cpu::after_jump` would: the
/// target lies in the page the trace started in, no cached code was written since the chain
/// was entered, the trace there is of this page's epoch, fits in CS's limit, and its worst case
/// fits in the budget. Otherwise the chain stops (`JUMPED`) and the trace loop decides.
///
/// The trace so far is counted (instructions, table costs), as `after_jump` does, and the next
/// trace becomes the chain's (`cx`), so the trace loop finds it when the chain stops there.
///
/// Out of line, so that the Jcc's chained form, not taken, stays without a stack frame.
///
/// # Safety
/// As for `chained`; the traces `cx` points at were built for bus type `B`.
#[inline(never)]
unsafe fn jump_on<B: Bus>(
    cpu: &mut Cpu,
    bus: &mut B,
    s: *const Slot,
    cx: &mut ChainCx,
) -> ChainEnd {
    if cx.hops == 0 || bus.code_stamp() != cx.stamp {
        return ChainEnd { at: s, why: JUMPED };
    }
    // SAFETY: `cx.trace` points at the trace the chain is in, `cx.traces` at the cache.
    let (t, traces) = unsafe { (&*cx.trace, &*cx.traces) };
    let Some(next) = trace_in_page(traces, t, cx.base, cpu.eip, &cpu.segs[seg::CS as usize]) else {
        return ChainEnd { at: s, why: JUMPED };
    };
    // SAFETY: `s` points at a slot (the caller's promise).
    let slot = unsafe { &*s };
    let cycles = cpu.cycles + slot.spent as u64;
    if cycles + next.worst as u64 >= cpu.slice_end {
        return ChainEnd { at: s, why: JUMPED };
    }
    cpu.instructions += slot.count as u64;
    cpu.cycles = cycles;
    cx.base = cpu.eip;
    cx.trace = next;
    cx.hops -= 1;
    let first = next.slots.as_ptr();
    // SAFETY: a trace holds at least its end slot, built for `B` like every slot of the cache.
    unsafe { chain_of::<B>(&*first)(cpu, bus, first, cx) }
}

/// The chain entry of a slot the trace loop runs itself (and of the end slot).
///
/// # Safety
/// None needed; the type is that of every chain entry.
unsafe fn stop<B: Bus>(_: &mut Cpu, _: &mut B, s: *const Slot, _: &mut ChainCx) -> ChainEnd {
    ChainEnd::before(s)
}

/// The chained forms of every handler id, for bus type `B`: for plain slots and Jcc (`PLAIN`),
/// and for slots whose only check is for stores (`STORING`).
struct Chains<B>(std::marker::PhantomData<B>);

impl<B: Bus> Chains<B> {
    const PLAIN: [Chain<B>; handlers::SLOTS] = chain_table::<B, false>();
    const STORING: [Chain<B>; handlers::SLOTS] = chain_table::<B, true>();
}

const fn chain_table<B: Bus, const STORE: bool>() -> [Chain<B>; handlers::SLOTS] {
    let mut t: [Chain<B>; handlers::SLOTS] = [stop::<B>; handlers::SLOTS];
    // Entries `16 * hi + lo` for the listed `hi`: `chained::<B, id, STORE>` for every id in use.
    macro_rules! rows {
        ($($hi:literal)*) => {
            $( rows!(@ $hi, [0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15]); )*
        };
        (@ $hi:literal, [$($lo:literal)*]) => {
            $( t[$hi * 16 + $lo] = chained::<B, { $hi * 16 + $lo }, STORE>; )*
        };
    }
    rows!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29);
    t
}

const _: () = assert!(handlers::id::COUNT as usize <= 30 * 16);

#[cfg(test)]
mod tests {
    use crate::cpu::CpuModel;
    use crate::machine::{MachineConfig, Pc, RunLimits, Stop};

    /// A loop that rewrites the immediate of an instruction a few bytes ahead of the store,
    /// inside the same trace and past a conditional branch that is not taken:
    ///
    /// ```text
    /// 1000  xor bx, bx
    /// 1002  mov cx, 3
    /// 1005  mov [0x100F], cl     ; again: patch the MOV below
    /// 1009  cmp cx, 0
    /// 100C  je 0x1019            ; never taken: the trace continues past it
    /// 100E  mov al, 0xEE         ; patch: becomes mov al, cl
    /// 1010  add bl, al
    /// 1012  loop 0x1005
    /// 1014  mov al, bl
    /// 1016  out 0xF4, al         ; exit device: 3 + 2 + 1 = 6
    /// 1018  hlt
    /// 1019  hlt
    /// ```
    const PATCH_AHEAD: [u8; 26] = [
        0x31, 0xDB, 0xB9, 0x03, 0x00, 0x88, 0x0E, 0x0F, 0x10, 0x83, 0xF9, 0x00, 0x74, 0x0B, 0xB0,
        0xEE, 0x00, 0xC3, 0xE2, 0xF1, 0x88, 0xD8, 0xE6, 0xF4, 0xF4, 0xF4,
    ];

    /// An instruction limit far beyond the test programs, so that the budget (which the limit
    /// sets) leaves room for whole traces and they run chained, not instruction by instruction.
    const BIG: u64 = 100_000_000;

    fn run(code: &[u8], decode_cache: bool) -> (Stop, u64) {
        run_for(code, decode_cache, 1000)
    }

    fn run_for(code: &[u8], decode_cache: bool, max: u64) -> (Stop, u64) {
        let (stop, instructions, _) = run_timed(code, decode_cache, max);
        (stop, instructions)
    }

    /// Like `run_for`, with the cycles the run took.
    fn run_timed(code: &[u8], decode_cache: bool, max: u64) -> (Stop, u64, u64) {
        let cfg = MachineConfig {
            cpu: CpuModel::I386,
            memory: 1 << 20,
            ..Default::default()
        };
        let mut pc = Pc::new(cfg).unwrap();
        pc.cpu.decode_cache = decode_cache;
        pc.load_image(0x1000, code).unwrap();
        pc.set_entry(0, 0x1000);
        let stop = pc.run(RunLimits {
            max_instructions: Some(max),
        });
        (stop, pc.stats().instructions, pc.stats().cycles)
    }

    /// A loop that is one whole trace (it runs again without a lookup) and patches the first
    /// instruction of its own trace each time round:
    ///
    /// ```text
    /// 1000  mov cx, 5
    /// 1003  xor bx, bx
    /// 1005  add bl, 1            ; again: the immediate is patched to CL
    /// 1008  mov [0x1007], cl
    /// 100C  loop 0x1005
    /// 100E  mov al, bl
    /// 1010  out 0xF4, al         ; exit device: 1 + 5 + 4 + 3 + 2 = 15
    /// 1012  hlt
    /// ```
    const PATCH_OWN_LOOP: [u8; 19] = [
        0xB9, 0x05, 0x00, 0x31, 0xDB, 0x80, 0xC3, 0x01, 0x88, 0x0E, 0x07, 0x10, 0xE2, 0xF7, 0x88,
        0xD8, 0xE6, 0xF4, 0xF4,
    ];

    /// A loop of one trace that runs 300,000 times round (`add eax, ecx; dec ecx; jnz`), far
    /// past many cycle budgets, then exits with the low byte of the sum:
    ///
    /// ```text
    /// 1000  mov ecx, 300000
    /// 1006  xor eax, eax
    /// 1009  add eax, ecx         ; again
    /// 100C  dec ecx
    /// 100E  jnz 0x1009
    /// 1010  out 0xF4, al
    /// 1012  hlt
    /// ```
    const LONG_LOOP: [u8; 19] = [
        0x66, 0xB9, 0xE0, 0x93, 0x04, 0x00, 0x66, 0x31, 0xC0, 0x66, 0x01, 0xC8, 0x66, 0x49, 0x75,
        0xF9, 0xE6, 0xF4, 0xF4,
    ];

    #[test]
    fn a_loop_of_one_trace_sees_its_own_patches() {
        // 2 + 5 iterations of 3 + the 2 up to and including the OUT.
        assert_eq!(run(&PATCH_OWN_LOOP, true), (Stop::Exit(15), 19));
        assert_eq!(run_for(&PATCH_OWN_LOOP, true, BIG), (Stop::Exit(15), 19));
        assert_eq!(run(&PATCH_OWN_LOOP, false), (Stop::Exit(15), 19));
    }

    #[test]
    fn a_loop_of_one_trace_counts_and_stops_exactly() {
        // The sum 1 + 2 + … + 300000 = 45000150000; its low byte is 0xF0.
        let n = 2 + 3 * 300_000 + 1;
        assert_eq!(run_for(&LONG_LOOP, true, 2_000_000), (Stop::Exit(0xF0), n));
        assert_eq!(run_for(&LONG_LOOP, false, 2_000_000), (Stop::Exit(0xF0), n));
        // The chained JNZ, taken 299,999 times, costs what the handler charges.
        let (_, _, cycles) = run_timed(&LONG_LOOP, false, BIG);
        assert_eq!(
            run_timed(&LONG_LOOP, true, BIG),
            (Stop::Exit(0xF0), n, cycles)
        );
        // An instruction limit inside the loop stops at that very instruction.
        for max in [1_000, 123_457, 600_001] {
            let (stop, count) = run_for(&LONG_LOOP, true, max);
            assert_eq!(count, max, "{stop:?}");
            assert_eq!(run_for(&LONG_LOOP, false, max), (stop, count));
        }
    }

    #[test]
    fn traces_built_for_one_bus_type_are_dropped_for_another() {
        use super::TraceCache;
        use crate::machine::Board;
        use crate::suite::TestBus;
        let mut tc = TraceCache::new();
        tc.bind::<Board>();
        tc.traces[5].tag = 0x1234;
        tc.bind::<Board>();
        assert_eq!(
            tc.traces[5].tag, 0x1234,
            "the same bus type keeps its traces"
        );
        tc.bind::<TestBus>();
        assert!(
            tc.traces.iter().all(|t| t.tag == 1 << 33),
            "another bus type finds none"
        );
    }

    #[test]
    fn a_trace_that_ends_on_a_jcc_not_taken_goes_on_after_it() {
        // `xor ax, ax`, 62 × `inc ax`, then `jz` as the 64th instruction (TRACE_MAX): the
        // chain skips the Jcc's handler, and EIP must still move past it.
        let mut code = vec![0x31, 0xC0];
        code.extend([0x40; 62]);
        code.extend([0x74, 0x03]); // jz +3 (to the second OUT): not taken
        code.extend([0xE6, 0xF4, 0xF4]); // out 0xF4, al; hlt
        code.extend([0xB0, 0xEE, 0xE6, 0xF4, 0xF4]); // mov al, 0xEE; out 0xF4, al; hlt
        assert_eq!(run_for(&code, true, BIG), (Stop::Exit(62), 65));
        assert_eq!(run_for(&code, false, BIG), (Stop::Exit(62), 65));
    }

    /// A load that faults in the middle of a chain (a word at offset 0xFFFF: #GP in real mode),
    /// whose handler reports the low byte of the IP it finds on the stack:
    ///
    /// ```text
    /// 1000  xor ax, ax
    /// 1002  mov ds, ax
    /// 1004  mov word [0x34], 0x1100  ; vector 13 -> 0000:1100
    /// 100A  mov word [0x36], 0
    /// 1010  inc ax
    /// 1011  inc ax
    /// 1012  mov bx, [0xFFFF]         ; #GP
    /// 1016  hlt
    /// 1100  pop ax                   ; the faulting instruction's IP
    /// 1101  out 0xF4, al
    /// 1103  hlt
    /// ```
    #[test]
    fn a_fault_inside_a_chain_reports_its_own_instruction() {
        let mut code = vec![
            0x31, 0xC0, 0x8E, 0xD8, 0xC7, 0x06, 0x34, 0x00, 0x00, 0x11, 0xC7, 0x06, 0x36, 0x00,
            0x00, 0x00, 0x40, 0x40, 0x8B, 0x1E, 0xFF, 0xFF, 0xF4,
        ];
        code.resize(0x100, 0x90);
        code.extend([0x58, 0xE6, 0xF4, 0xF4]);
        assert_eq!(run_for(&code, true, BIG), (Stop::Exit(0x12), 8));
        assert_eq!(run_for(&code, false, BIG), (Stop::Exit(0x12), 8));
    }

    /// Memory instructions whose first access misses the TLB (the chain's fast-only attempt
    /// gives up and the instruction runs again with the slow path): each must take effect once.
    ///
    /// ```text
    /// 1000  mov ax, 5
    /// 1003  add [0x2000], ax     ; read-modify-write: 0 + 5
    /// 1007  push ax              ; the stack's page: first touch
    /// 1008  mov al, [0x2000]
    /// 100C  pop bx
    /// 100D  add al, bl           ; 5 + 5
    /// 100F  out 0xF4, al
    /// 1011  hlt
    /// ```
    #[test]
    fn chained_memory_instructions_that_need_the_slow_path_run_once() {
        let code = [
            0xB8, 0x05, 0x00, 0x01, 0x06, 0x00, 0x20, 0x50, 0x8A, 0x06, 0x00, 0x20, 0x5B, 0x00,
            0xD8, 0xE6, 0xF4, 0xF4,
        ];
        assert_eq!(run_for(&code, true, BIG), (Stop::Exit(10), 7));
        assert_eq!(run_for(&code, false, BIG), (Stop::Exit(10), 7));
    }

    /// A loop whose body is two traces of one page, each branching into the other, so that
    /// they follow each other without lookups; 300,000 times round, then the low byte of the
    /// result. It starts with a trace at 0x3024, which takes the cache slot of the one at
    /// 0x1020 until that is first needed:
    ///
    /// ```text
    /// 1000  jmp 0x3024
    /// 3024  mov ecx, 300000
    /// 302A  jmp 0x1006
    /// 1006  xor eax, eax
    /// 1009  add eax, ecx         ; again (a trace of its own from the second time round)
    /// 100C  test cl, 1
    /// 100F  jz 0x1020            ; even: to the other trace
    /// 1011  dec ecx
    /// 1013  jnz 0x1009           ; the trace's own start
    /// 1015  out 0xF4, al
    /// 1017  hlt
    /// 1020  sub eax, 7
    /// 1024  dec ecx
    /// 1026  jnz 0x1009           ; back to the first trace
    /// 1028  out 0xF4, al
    /// 102A  hlt
    /// ```
    fn two_trace_loop() -> Vec<u8> {
        let mut code = vec![
            0xE9, 0x21, 0x20, 0x90, 0x90, 0x90, 0x66, 0x31, 0xC0, 0x66, 0x01, 0xC8, 0xF6, 0xC1,
            0x01, 0x74, 0x0F, 0x66, 0x49, 0x75, 0xF4, 0xE6, 0xF4, 0xF4,
        ];
        code.resize(0x20, 0x90);
        code.extend([
            0x66, 0x83, 0xE8, 0x07, 0x66, 0x49, 0x75, 0xE1, 0xE6, 0xF4, 0xF4,
        ]);
        code.resize(0x2024, 0x90);
        code.extend([0x66, 0xB9, 0xE0, 0x93, 0x04, 0x00, 0xE9, 0xD9, 0xDF]);
        assert_eq!(
            super::index(0x3024),
            super::index(0x1020),
            "the two traces share a slot"
        );
        code
    }

    #[test]
    fn traces_of_one_page_that_branch_into_each_other_run_exactly() {
        let code = two_trace_loop();
        let (mut eax, mut n) = (0u32, 5u64);
        for ecx in (1..=300_000u32).rev() {
            eax = eax.wrapping_add(ecx);
            n += 5;
            if ecx & 1 == 0 {
                eax = eax.wrapping_sub(7);
                n += 1;
            }
        }
        let exit = Stop::Exit(eax & 0xFF);
        let (_, _, cycles) = run_timed(&code, false, BIG);
        assert_eq!(run_timed(&code, true, BIG), (exit, n, cycles));
        // An instruction limit anywhere in the loop stops at that very instruction.
        for max in [1_000, 123_457, 600_001, 1_000_002] {
            let (stop, count) = run_for(&code, true, max);
            assert_eq!(count, max, "{stop:?}");
            assert_eq!(run_for(&code, false, max), (stop, count));
        }
    }

    /// A loop of two traces of one page that go on with each other inside one chain, until a
    /// load in the second faults (a word at offset 0xFFFF: #GP in real mode) in the `n`th round;
    /// the handler reports the low byte of the IP it finds on the stack. Whichever trace the
    /// chain entered first, the fault is the second trace's, with the count and time exact:
    ///
    /// ```text
    /// 1000  xor ax, ax
    /// 1002  mov ds, ax
    /// 1004  mov word [0x34], 0x1100  ; vector 13 -> 0000:1100
    /// 100A  mov word [0x36], 0
    /// 1010  mov cx, n - 1
    /// 1016  mov si, 0xFFFF       ; again
    /// 1019  sub si, cx
    /// 101B  cmp si, 0
    /// 101E  jne 0x1030           ; always taken
    /// 1030  mov bx, [si]         ; #GP once CX is 0
    /// 1032  dec cx
    /// 1033  jns 0x1016
    /// 1100  pop ax               ; the faulting instruction's IP
    /// 1101  out 0xF4, al
    /// 1103  hlt
    /// ```
    #[test]
    fn a_fault_in_a_trace_a_chain_went_on_with_is_that_traces() {
        for n in [1u16, 2, 3, 4, 5, 6, 7, 40, 41, 42, 43, 100] {
            let [lo, hi] = (n - 1).to_le_bytes();
            let mut code = vec![
                0x31, 0xC0, 0x8E, 0xD8, 0xC7, 0x06, 0x34, 0x00, 0x00, 0x11, 0xC7, 0x06, 0x36, 0x00,
                0x00, 0x00, 0xB9, lo, hi, 0x90, 0x90, 0x90, 0xBE, 0xFF, 0xFF, 0x29, 0xCE, 0x83,
                0xFE, 0x00, 0x75, 0x10, 0xF4,
            ];
            code.resize(0x30, 0x90);
            code.extend([0x8B, 0x1C, 0x49, 0x79, 0xE1, 0xF4]);
            code.resize(0x100, 0x90);
            code.extend([0x58, 0xE6, 0xF4, 0xF4]);
            // 5 + 3 NOPs, 7 a round but the last, 4 of the last, then POP and OUT.
            let count = 8 + 7 * (n as u64 - 1) + 4 + 2;
            let (_, _, cycles) = run_timed(&code, false, BIG);
            assert_eq!(
                run_timed(&code, true, BIG),
                (Stop::Exit(0x30), count, cycles),
                "{n} rounds"
            );
        }
    }

    /// A loop of two traces of one page where the first patches the second before branching
    /// to it: the second must run patched every time.
    ///
    /// ```text
    /// 1000  xor bx, bx
    /// 1002  mov cx, 3
    /// 1005  mov [0x1021], cl     ; again: patch the MOV below
    /// 1009  cmp cx, 9
    /// 100C  jne 0x1020           ; always taken
    /// 100E  hlt
    /// 1020  mov al, 0xEE         ; patch: becomes mov al, cl
    /// 1022  add bl, al
    /// 1024  loop 0x1005
    /// 1026  mov al, bl
    /// 1028  out 0xF4, al         ; exit device: 3 + 2 + 1 = 6
    /// 102A  hlt
    /// ```
    #[test]
    fn a_patch_to_another_trace_of_the_page_is_seen() {
        let mut code = vec![
            0x31, 0xDB, 0xB9, 0x03, 0x00, 0x88, 0x0E, 0x21, 0x10, 0x83, 0xF9, 0x09, 0x75, 0x12,
            0xF4,
        ];
        code.resize(0x20, 0x90);
        code.extend([
            0xB0, 0xEE, 0x00, 0xC3, 0xE2, 0xDF, 0x88, 0xD8, 0xE6, 0xF4, 0xF4,
        ]);
        // 2 + 3 iterations of 6 + the 2 up to and including the OUT.
        assert_eq!(run_for(&code, true, BIG), (Stop::Exit(6), 22));
        assert_eq!(run_for(&code, false, BIG), (Stop::Exit(6), 22));
    }

    #[test]
    fn code_patched_ahead_in_the_same_trace_runs_patched() {
        // 2 + 3 iterations of 6 + the 2 up to and including the OUT.
        assert_eq!(run(&PATCH_AHEAD, true), (Stop::Exit(6), 22));
        // With room for whole traces, the patching store runs chained.
        assert_eq!(run_for(&PATCH_AHEAD, true, BIG), (Stop::Exit(6), 22));
        assert_eq!(run(&PATCH_AHEAD, false), (Stop::Exit(6), 22));
    }
}
