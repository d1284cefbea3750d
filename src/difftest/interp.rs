//! The interpreter as a differential-test back end, over a flat-RAM bus.
//!
//! Two configurations are useful: with the decode cache (pre-decoded instructions and traces,
//! the fast path every machine runs) and without (every instruction decoded afresh, the
//! reference path). Comparing them checks the fast path on every host, KVM or not.
//!
//! The bus is the sandbox memory from address 0; addresses past its end read all ones and
//! ignore writes (an open bus), and so do I/O ports. It keeps code epochs the way guest memory
//! does (see [`crate::mem`]): RAM that holds cached instructions is marked in 128-byte chunks,
//! a write to a marked chunk starts a new epoch of its page, and every run starts a new epoch
//! of all pages — the new sequence is a bulk change of memory.

use crate::cpu::{Bus, Cpu, CpuModel, Exit};

use super::{copy_state, Backend};

/// Instructions after which a run is abandoned (a sequence is a few instructions and a `HLT`;
/// only code that rewrote itself into a loop gets near this).
pub const INSN_LIMIT: u64 = 100_000;
/// Clock cycles after which a run is abandoned (REP string instructions count once in the
/// instruction limit but up to 64 Ki iterations here).
pub const CYCLE_LIMIT: u64 = 50_000_000;
/// Cycles per call of [`Cpu::run`]; the limits are checked between calls.
const SLICE: u64 = 1_000_000;

/// Granularity of self-modifying-code tracking (bytes, as a shift).
const CHUNK_SHIFT: u32 = 7;
/// Page of the code epochs (bytes, as a shift), the page the CPU's traces stay within.
const PAGE_SHIFT: u32 = 12;

/// The interpreter back end.
pub struct InterpBackend {
    name: String,
    decode_cache: bool,
    /// The CPU that runs (kept between runs, with its decode caches; the caller's `Cpu` only
    /// carries the architectural state in and out).
    engine: Cpu,
    code: CodeMarks,
}

impl InterpBackend {
    /// An interpreter of `model`, with or without the decode cache, reported as `name`.
    pub fn new(name: &str, model: CpuModel, decode_cache: bool) -> InterpBackend {
        InterpBackend {
            name: name.to_string(),
            decode_cache,
            engine: Cpu::new(model),
            code: CodeMarks::default(),
        }
    }
}

impl Backend for InterpBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&mut self, ram: &mut [u8], cpu: &mut Cpu) -> Result<(), String> {
        if self.engine.model != cpu.model {
            self.engine = Cpu::new(cpu.model);
        }
        let e = &mut self.engine;
        copy_state(e, cpu);
        e.decode_cache = self.decode_cache;
        self.code.new_run(ram.len());
        let mut bus = FlatBus {
            ram,
            code: &mut self.code,
        };
        let (insns0, cycles0) = (e.instructions, e.cycles);
        loop {
            match e.run(&mut bus, e.cycles + SLICE) {
                Exit::Halted => break,
                Exit::Budget | Exit::Attention => {}
                Exit::TripleFault => return Err("triple fault (shutdown)".into()),
                Exit::Unsupported(what) => {
                    return Err(format!("stopped on something not emulated: {what}"))
                }
            }
            if e.instructions - insns0 > INSN_LIMIT || e.cycles - cycles0 > CYCLE_LIMIT {
                return Err(format!(
                    "no HLT within {INSN_LIMIT} instructions or {CYCLE_LIMIT} cycles"
                ));
            }
        }
        copy_state(cpu, e);
        cpu.halted = true;
        Ok(())
    }
}

/// Which RAM holds cached code, and the code epochs (see the module docs).
#[derive(Default)]
struct CodeMarks {
    /// Bumped once per run: every instruction cached by an earlier run is stale.
    base: u32,
    /// Per page, bumped when a write hits cached code in it. A page's epoch is `base` plus its
    /// count; both only grow, so an epoch never comes back.
    page: Vec<u32>,
    /// One bit per chunk: instructions decoded from it may be cached.
    chunks: Vec<u64>,
    /// Bumped with `base` and with every page's count (see `Bus::code_stamp`).
    stamp: u32,
}

impl CodeMarks {
    fn new_run(&mut self, ram_len: usize) {
        let pages = ram_len.div_ceil(1 << PAGE_SHIFT);
        let chunk_words = (ram_len >> CHUNK_SHIFT).div_ceil(64);
        if self.page.len() != pages || self.chunks.len() != chunk_words {
            self.page = vec![0; pages];
            self.chunks = vec![0; chunk_words];
        }
        self.base = self.base.wrapping_add(1);
        self.stamp = self.stamp.wrapping_add(1);
        self.chunks.fill(0);
    }

    #[inline]
    fn epoch(&self, addr: u32) -> Option<u32> {
        let p = self.page.get((addr >> PAGE_SHIFT) as usize)?;
        Some(self.base.wrapping_add(*p))
    }

    fn mark(&mut self, addr: u32, len: u32) {
        let last = addr.wrapping_add(len.max(1) - 1);
        for c in (addr >> CHUNK_SHIFT)..=(last >> CHUNK_SHIFT) {
            if let Some(w) = self.chunks.get_mut(c as usize >> 6) {
                *w |= 1 << (c & 63);
            }
        }
    }

    /// A write of `len` bytes at `addr` (inside RAM): a new epoch of the page when it hits
    /// cached code.
    #[inline]
    fn written(&mut self, addr: u32, len: u32) {
        for c in [addr >> CHUNK_SHIFT, (addr + len - 1) >> CHUNK_SHIFT] {
            let (w, bit) = (c as usize >> 6, 1u64 << (c & 63));
            if self.chunks[w] & bit != 0 {
                self.chunks[w] &= !bit;
                let p = &mut self.page[(addr >> PAGE_SHIFT) as usize];
                *p = p.wrapping_add(1);
                self.stamp = self.stamp.wrapping_add(1);
            }
        }
    }
}

/// The sandbox memory as the CPU's bus.
struct FlatBus<'a> {
    ram: &'a mut [u8],
    code: &'a mut CodeMarks,
}

impl FlatBus<'_> {
    /// The `N` bytes at `addr` when they all lie in RAM.
    #[inline(always)]
    fn slot<const N: usize>(&mut self, addr: u32) -> Option<&mut [u8; N]> {
        let a = addr as usize;
        self.ram.get_mut(a..a.checked_add(N)?)?.try_into().ok()
    }
}

impl Bus for FlatBus<'_> {
    const TRACE_ID: u8 = 3;
    #[inline]
    fn read8(&mut self, addr: u32) -> u8 {
        self.ram.get(addr as usize).copied().unwrap_or(0xFF)
    }
    #[inline]
    fn write8(&mut self, addr: u32, value: u8) {
        if let Some(b) = self.ram.get_mut(addr as usize) {
            *b = value;
            self.code.written(addr, 1);
        }
    }
    #[inline]
    fn read16(&mut self, addr: u32) -> u16 {
        match self.slot::<2>(addr) {
            Some(s) => u16::from_le_bytes(*s),
            None => self.read8(addr) as u16 | (self.read8(addr.wrapping_add(1)) as u16) << 8,
        }
    }
    #[inline]
    fn read32(&mut self, addr: u32) -> u32 {
        match self.slot::<4>(addr) {
            Some(s) => u32::from_le_bytes(*s),
            None => self.read16(addr) as u32 | (self.read16(addr.wrapping_add(2)) as u32) << 16,
        }
    }
    #[inline]
    fn write16(&mut self, addr: u32, value: u16) {
        match self.slot::<2>(addr) {
            Some(s) => {
                *s = value.to_le_bytes();
                self.code.written(addr, 2);
            }
            None => {
                self.write8(addr, value as u8);
                self.write8(addr.wrapping_add(1), (value >> 8) as u8);
            }
        }
    }
    #[inline]
    fn write32(&mut self, addr: u32, value: u32) {
        match self.slot::<4>(addr) {
            Some(s) => {
                *s = value.to_le_bytes();
                self.code.written(addr, 4);
            }
            None => {
                self.write16(addr, value as u16);
                self.write16(addr.wrapping_add(2), (value >> 16) as u16);
            }
        }
    }
    #[inline]
    fn code_window(&mut self, addr: u32) -> &[u8] {
        let a = addr as usize;
        if a >= self.ram.len() {
            return &[];
        }
        let end = ((a >> PAGE_SHIFT) + 1) << PAGE_SHIFT;
        &self.ram[a..end.min(self.ram.len())]
    }
    #[inline]
    fn code_epoch(&self, addr: u32) -> Option<u32> {
        self.code.epoch(addr)
    }
    fn mark_code(&mut self, addr: u32, len: u32) {
        self.code.mark(addr, len);
    }
    fn code_stamp(&self) -> u32 {
        self.code.stamp
    }
    fn io_read(&mut self, _port: u16, size: u8, _now: u64) -> u32 {
        crate::cpu::bus::open_bus(size)
    }
    fn io_write(&mut self, _port: u16, _size: u8, _value: u32, _now: u64) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::decode::seg;

    /// A program that rewrites an instruction it has already run must run the new bytes, with
    /// and without the decode cache, and a new run must not reuse the old run's code.
    #[test]
    fn self_modifying_code_is_seen() {
        let code = [
            0x48, // 0: dec ax (rewritten to inc ax)
            0x2E, 0xC6, 0x06, 0x00, 0x00, 0x40, // 1: mov byte [cs:0], 0x40
            0x4B, // 7: dec bx
            0x75, 0xF6, // 8: jnz 0
            0xF4, // 10: hlt
        ];
        let start = |ram: &mut Vec<u8>| {
            let mut cpu = Cpu::new(CpuModel::I486);
            cpu.load_seg_real(seg::CS, 0x0100);
            cpu.eip = 0;
            cpu.regs[0] = 5;
            cpu.regs[3] = 2;
            ram.fill(0);
            ram[0x1000..0x1000 + code.len()].copy_from_slice(&code);
            cpu
        };
        for cache in [true, false] {
            let mut b = InterpBackend::new("t", CpuModel::I486, cache);
            let mut ram = vec![0u8; 0x4_0000];
            let mut cpu = start(&mut ram);
            b.run(&mut ram, &mut cpu).unwrap();
            assert_eq!(cpu.regs[0] & 0xFFFF, 5, "cache {cache}: dec, then inc");
            // Now the same place holds inc cx, rewritten to itself: AX stays.
            let mut cpu = start(&mut ram);
            ram[0x1000] = 0x41;
            ram[0x1006] = 0x41;
            b.run(&mut ram, &mut cpu).unwrap();
            assert_eq!(cpu.regs[0] & 0xFFFF, 5, "cache {cache}, second run");
            assert_eq!(cpu.regs[1] & 0xFFFF, 2, "cache {cache}, second run");
        }
    }

    #[test]
    fn open_bus_and_runaway_code() {
        let mut ram = vec![0u8; 0x1000];
        let mut b = InterpBackend::new("t", CpuModel::I486, true);
        {
            let mut bus = FlatBus {
                ram: &mut ram,
                code: &mut b.code,
            };
            bus.code.new_run(0x1000);
            assert_eq!(bus.read32(0xFFE), 0xFFFF_0000);
            bus.write16(0x2000, 0x1234);
            assert_eq!(bus.read16(0x2000), 0xFFFF);
        }
        // jmp $ forever: the limit stops it.
        ram[0..2].copy_from_slice(&[0xEB, 0xFE]);
        let mut cpu = Cpu::new(CpuModel::I486);
        cpu.load_seg_real(seg::CS, 0);
        cpu.eip = 0;
        assert!(b.run(&mut ram, &mut cpu).unwrap_err().contains("no HLT"));
    }
}
