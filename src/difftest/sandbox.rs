//! The sandbox: the machine a generated sequence runs in — what lies where in its physical
//! memory and the random state it starts from — one layout per [`Mode`].
//!
//! Real mode ([`Mode::Real16`]), 256 KiB of RAM:
//!
//! | physical          | what                                                              |
//! |-------------------|-------------------------------------------------------------------|
//! | 0x00000–0x003FF   | IVT: vector *n* points at `0040:n`                                |
//! | 0x00400–0x004FF   | 256 handler stubs, each one `HLT`, at `0040:00`–`0040:FF`         |
//! | 0x00500–0x00FFF   | random bytes (nothing reaches them)                               |
//! | 0x01000–0x01FFF   | code page, `CS = 0100`: the sequence at offset 0, then `HLT`s     |
//! | 0x02000–0x10FFF   | random bytes: the rest of what `CS:` overrides reach              |
//! | 0x11000–0x1FFFF   | random bytes (reached through FS and GS)                          |
//! | 0x20000–0x2FFFF   | data, `DS = ES = 2000`, random bytes                              |
//! | 0x30000–0x3FFFF   | stack, `SS = 3000`, random bytes, SP even and well inside         |
//!
//! FS and GS hold random paragraphs from 0100 to 3000, so every segment reaches at most
//! 0x3FFFF and none reaches the IVT or the handlers. Real-mode offsets are checked against the
//! 64 KiB limit on a 286 and later (an access past it raises #GP, or #SS through SS): a 32-bit
//! address above 0xFFFF faults instead of leaving the sandbox. The end CS:IP names the vector
//! that ended a sequence (`0040:n+1` after the handler of vector *n*), and the frame it pushed
//! (IP, CS, FLAGS) lies on the compared stack.
//!
//! Protected mode ([`Mode::Prot32`]), 256 KiB of RAM, no paging (physical = linear):
//!
//! | physical          | what                                                              |
//! |-------------------|-------------------------------------------------------------------|
//! | 0x00000–0x007FF   | IDT: 256 gates, vector *n* to the `HLT` stub at 0xB00 + *n*        |
//! | 0x00800–0x008FF   | GDT: 32 descriptors (table in [`prot32`])                         |
//! | 0x00900–0x0093F   | LDT: 8 descriptors                                                |
//! | 0x00A00–0x00AE7   | TSS (32-bit, busy in TR): SS0:ESP0 = 0010:0003F000, then an I/O   |
//! |                   | permission bitmap of random bytes for ports 0–3FFh (others #GP)   |
//! | 0x00B00–0x00BFF   | 256 handler stubs, each one `HLT`                                 |
//! | 0x00C00–0x00C1F   | far-transfer targets: `RETF` at C00, `RETF 8` at C01, `o16 RETF 2`|
//! |                   | at C04, `HLT` from C08 on                                         |
//! | 0x01000–0x01FFF   | code page: the sequence at EIP = 0x1000, then `HLT`s              |
//! | 0x02000–0x3FFFF   | random bytes: data of the small segments at 0x10000, the ring-3   |
//! |                   | stack (ESP 0x28000–0x2C000), a 16-bit expand-down stack at        |
//! |                   | 0x2F001–0x2FFFF, the ring-0 stacks (ESP0 0x3F000; a ring-0 start   |
//! |                   | ESP of 0x3C000–0x3E000)                                           |
//!
//! The GDT holds flat 32-bit code and data segments for rings 0 and 3 (4 GiB less a page:
//! see [`prot32`]) and a varied set of
//! others for sequences to load: execute-only, conforming and 16-bit code, read-only,
//! small-limit, byte-sized, page-granular and expand-down data, wrong DPLs, not-present
//! segments, the TSS, the LDT, call gates (ring 3 to ring 0 with two parameters, to a
//! `HLT` stub, a DPL-0 gate, a 16-bit gate, a same-ring gate) and an interrupt gate where no
//! gate belongs. Exceptions 0–31 go through DPL-0 interrupt gates (INT3 and INTO's: DPL-3
//! trap gates); vectors 32–255 cycle through eight kinds: 32-bit interrupt and trap gates of
//! DPL 3, a DPL-0 gate, a 16-bit gate, a gate to ring-3 code, a not-present gate, a gate to
//! conforming code and a descriptor that is no gate.
//!
//! A sequence starts at CPL 3 (CS 001B, or the execute-only 002B, or the LDT's code 000F; SS
//! 0023, sometimes the 16-bit expand-down 0043) or at CPL 0 (CS 0008, SS 0010), with DS, ES,
//! FS and GS drawn from the data selectors (mostly flat), a random IOPL, CR0 with PE, MP and
//! NE (TS one time in eight) and, half the time, a random x87 state. A sequence that holds a
//! privileged instruction always starts at CPL 3, so that the instruction faults. Ending at a
//! `HLT` at CPL 3 raises #GP: such a run ends in the #GP handler, its frame on the ring-0 stack.
//! The end CS:EIP names the vector whose stub the CPU stopped in; the frame (with the error
//! code, if any) lies on a compared stack.

use crate::cpu::decode::seg;
use crate::cpu::{flags, Cpu, CpuModel, Segment, TableReg};

use super::rng::Rng;

/// The `HLT` opcode: every sequence ends in one and every handler is one.
pub const HLT: u8 = 0xF4;

/// Which processor mode sequences run in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Real mode, 16-bit code (with 66/67 prefixes on a 386 or later).
    Real16,
    /// Protected mode, 32-bit code, a GDT, LDT, IDT and TSS, no paging.
    Prot32,
}

impl Mode {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Real16 => "real16",
            Mode::Prot32 => "prot32",
        }
    }

    /// The sandbox of this mode.
    pub fn sandbox(self) -> Result<Sandbox, String> {
        match self {
            Mode::Real16 => Ok(Sandbox {
                mode: self,
                ram_size: real16::RAM_SIZE,
                code_base: real16::CODE_BASE,
                code_room: real16::CODE_PAGE,
                bitness: 16,
                esp_high: true,
                user_only: false,
            }),
            Mode::Prot32 => Ok(Sandbox {
                mode: self,
                ram_size: prot32::RAM_SIZE,
                code_base: prot32::CODE_BASE,
                code_room: prot32::CODE_PAGE,
                bitness: 32,
                esp_high: true,
                user_only: false,
            }),
        }
    }
}

/// The layout of one mode and the builders of its start state.
#[derive(Clone, Debug)]
pub struct Sandbox {
    /// The mode.
    pub mode: Mode,
    /// Bytes of physical memory, from address 0.
    pub ram_size: usize,
    /// Physical address of the first instruction.
    pub code_base: u32,
    /// Bytes the code may occupy, final `HLT` included.
    pub code_room: usize,
    /// The code's default operand and address size (decoding mode).
    pub bitness: u32,
    /// Real mode: the upper half of ESP may start non-zero (a 16-bit stack must leave it).
    pub esp_high: bool,
    /// Protected mode: start at CPL 3 (the sequence holds a privileged instruction).
    pub user_only: bool,
}

impl Sandbox {
    /// Fills `ram` (of [`Sandbox::ram_size`] bytes) and `cpu` with a random start state: the
    /// tables, handlers and data of the layout, and random registers and flags. The code page
    /// holds only `HLT`s until [`Sandbox::place_code`].
    ///
    /// The data is a window of `noise` (random bytes, longer than `ram`) at a random offset:
    /// copying is much cheaper than drawing 256 KiB of random numbers for every sequence.
    pub fn start_state(&self, rng: &mut Rng, noise: &[u8], ram: &mut [u8], cpu: &mut Cpu) {
        assert_eq!(ram.len(), self.ram_size, "sandbox memory of the wrong size");
        assert!(
            noise.len() >= ram.len(),
            "not enough noise to fill the sandbox"
        );
        let at = rng.below((noise.len() - ram.len() + 1) as u64) as usize;
        ram.copy_from_slice(&noise[at..at + ram.len()]);
        match self.mode {
            Mode::Real16 => real16::start_state(rng, ram, cpu, self.esp_high),
            Mode::Prot32 => prot32::start_state(rng, ram, cpu, self.user_only),
        }
    }

    /// Writes the laid-out code (its final `HLT` included) at the start of the code page.
    pub fn place_code(&self, ram: &mut [u8], code: &[u8]) {
        assert!(code.len() <= self.code_room, "code larger than its page");
        let at = self.code_base as usize;
        ram[at..at + code.len()].copy_from_slice(code);
    }

    /// The vector whose handler the CPU stopped in, if it stopped in one.
    pub fn handler_vector(&self, cpu: &Cpu) -> Option<u8> {
        match self.mode {
            Mode::Real16 => real16::handler_vector(cpu),
            Mode::Prot32 => prot32::handler_vector(cpu),
        }
    }

    /// Physical addresses of the two low bytes of (E)FLAGS in the frame the last interrupt or
    /// exception pushed, when the CPU stopped in a handler. In protected mode a vector that
    /// may or may not have pushed an error code (an exception has one, `INT n` of the same
    /// number none) gives both places.
    pub fn frame_flags(&self, cpu: &Cpu) -> Vec<[u32; 2]> {
        let Some(v) = self.handler_vector(cpu) else {
            return Vec::new();
        };
        match self.mode {
            Mode::Real16 => vec![real16::frame_flags(cpu)],
            Mode::Prot32 => prot32::frame_flags(cpu, v),
        }
    }
}

/// A random register value, biased towards the values where instructions change behaviour:
/// half are 16-bit (usable as real-mode addresses), some are small or sit on a boundary.
fn register_value(rng: &mut Rng) -> u32 {
    const EDGES: [u32; 12] = [
        0,
        1,
        0x7F,
        0x80,
        0xFF,
        0x7FFF,
        0x8000,
        0xFFFF,
        0x1_0000,
        0x7FFF_FFFF,
        0x8000_0000,
        0xFFFF_FFFF,
    ];
    match rng.below(8) {
        0..=3 => rng.next_u32() & 0xFFFF,
        4 | 5 => rng.next_u32(),
        6 => rng.below(32) as u32,
        _ => rng.pick(&EDGES),
    }
}

/// Random arithmetic flags (CF, PF, AF, ZF, SF, OF), DF one time in four; IF and TF clear.
fn start_flags(rng: &mut Rng, model: CpuModel) -> u32 {
    let fixed = if model < CpuModel::I286 {
        0xF002
    } else {
        0x0002
    };
    let arith = rng.next_u32() & flags::ARITH;
    let df = if rng.chance(1, 4) { flags::DF } else { 0 };
    fixed | arith | df
}

mod real16 {
    use super::*;

    pub const RAM_SIZE: usize = 0x4_0000;
    /// Segment of the handler stubs; vector *n*'s stub is at offset *n*.
    pub const HANDLER_SEG: u16 = 0x0040;
    pub const CODE_SEG: u16 = 0x0100;
    pub const CODE_BASE: u32 = (CODE_SEG as u32) << 4;
    pub const CODE_PAGE: usize = 0x1000;
    pub const DATA_SEG: u16 = 0x2000;
    pub const STACK_SEG: u16 = 0x3000;
    /// FS and GS: any paragraph in this range keeps the segment inside the sandbox.
    pub const EXTRA_SEGS: (u64, u64) = (0x0100, 0x3000);

    pub fn start_state(rng: &mut Rng, ram: &mut [u8], cpu: &mut Cpu, esp_high: bool) {
        let handlers = (HANDLER_SEG as usize) << 4;
        for v in 0..256usize {
            ram[v * 4..v * 4 + 2].copy_from_slice(&(v as u16).to_le_bytes());
            ram[v * 4 + 2..v * 4 + 4].copy_from_slice(&HANDLER_SEG.to_le_bytes());
            ram[handlers + v] = HLT;
        }
        let code = CODE_BASE as usize;
        ram[code..code + CODE_PAGE].fill(HLT);

        cpu.reset();
        cpu.load_seg_real(seg::CS, CODE_SEG);
        cpu.load_seg_real(seg::DS, DATA_SEG);
        cpu.load_seg_real(seg::ES, DATA_SEG);
        cpu.load_seg_real(seg::SS, STACK_SEG);
        if cpu.model.has_32bit() {
            let (lo, hi) = EXTRA_SEGS;
            cpu.load_seg_real(seg::FS, rng.range(lo, hi) as u16);
            cpu.load_seg_real(seg::GS, rng.range(lo, hi) as u16);
        }
        cpu.eip = 0;
        for r in 0..8 {
            cpu.regs[r] = register_value(rng);
        }
        // SP: even, with at least 8 KiB of stack both ways; the upper half of ESP is mostly 0.
        let sp = 0x2000 + 2 * rng.below(0x6000) as u32;
        let high = if rng.chance(1, 4) && esp_high {
            rng.next_u32() & 0xFFFF_0000
        } else {
            0
        };
        cpu.regs[crate::cpu::reg::SP as usize] = high | sp;
        if !cpu.model.has_32bit() {
            for r in cpu.regs.iter_mut().take(8) {
                *r &= 0xFFFF;
            }
        }
        cpu.flags.set(start_flags(rng, cpu.model));
    }

    pub fn handler_vector(cpu: &Cpu) -> Option<u8> {
        let cs = cpu.segs[seg::CS as usize].selector;
        (cs == HANDLER_SEG && (1..=256).contains(&cpu.eip)).then(|| (cpu.eip - 1) as u8)
    }

    pub fn frame_flags(cpu: &Cpu) -> [u32; 2] {
        let ss = cpu.segs[seg::SS as usize].base;
        let sp = cpu.regs[crate::cpu::reg::SP as usize];
        [4, 5].map(|k| ss.wrapping_add(sp.wrapping_add(k) & 0xFFFF))
    }
}

/// The protected-mode layout: addresses, selectors and the descriptor tables.
pub mod prot32 {
    use super::*;

    /// Bytes of RAM.
    pub const RAM_SIZE: usize = 0x4_0000;
    /// The IDT (256 gates).
    pub const IDT: u32 = 0x0000;
    /// The GDT.
    pub const GDT: u32 = 0x0800;
    /// Descriptors in the GDT.
    pub const GDT_ENTRIES: u32 = 32;
    /// The LDT.
    pub const LDT: u32 = 0x0900;
    /// Descriptors in the LDT.
    pub const LDT_ENTRIES: u32 = 8;
    /// The TSS.
    pub const TSS: u32 = 0x0A00;
    /// Offset of the I/O permission bitmap in the TSS.
    pub const IO_MAP: u32 = 0x68;
    /// Ports the I/O permission bitmap covers (the rest lie past the TSS limit).
    pub const IO_PORTS: u32 = 0x400;
    /// The handler stub of vector *n* is at `STUBS + n`.
    pub const STUBS: u32 = 0x0B00;
    /// `RETF`.
    pub const RETF: u32 = 0x0C00;
    /// `RETF 8` (returns from a call gate that copied two dwords).
    pub const RETF_8: u32 = 0x0C01;
    /// `o16 RETF 2` (returns from the 16-bit call gate that copied one word).
    pub const RETF16_2: u32 = 0x0C04;
    /// `HLT`s to jump to, up to 0xC1F.
    pub const FAR_HLT: u32 = 0x0C08;
    /// The code page.
    pub const CODE_BASE: u32 = 0x1000;
    /// Bytes of the code page.
    pub const CODE_PAGE: usize = 0x1000;
    /// The ring-0 stack of privilege changes (TSS.ESP0).
    pub const ESP0: u32 = 0x3_F000;

    /// Ring-0 flat code.
    pub const CODE0: u16 = 0x08;
    /// Ring-0 flat data.
    pub const DATA0: u16 = 0x10;
    /// Ring-3 flat code.
    pub const CODE3: u16 = 0x1B;
    /// Ring-3 flat data.
    pub const DATA3: u16 = 0x23;
    /// Ring-3 flat execute-only code.
    pub const CODE3_XO: u16 = 0x2B;
    /// Read-only data, DPL 3, base 0x10000, 64 KiB.
    pub const DATA3_RO: u16 = 0x33;
    /// Writable data, DPL 3, base 0x10000, 4 KiB.
    pub const DATA3_SMALL: u16 = 0x3B;
    /// 16-bit expand-down data (a stack), DPL 3, offsets 0xF001–0xFFFF above 0x20000.
    pub const STACK3_DOWN: u16 = 0x43;
    /// Data of DPL 1.
    pub const DATA1: u16 = 0x49;
    /// Not-present data, DPL 3.
    pub const DATA3_NP: u16 = 0x53;
    /// Conforming readable code, DPL 0, flat.
    pub const CONFORMING: u16 = 0x58;
    /// 16-bit code, DPL 3, base 0, 64 KiB.
    pub const CODE3_16: u16 = 0x63;
    /// The TSS (busy).
    pub const TSS_SEL: u16 = 0x68;
    /// The LDT.
    pub const LDT_SEL: u16 = 0x70;
    /// Call gate, DPL 3, two parameters, to `CODE0:RETF_8`.
    pub const GATE_PARAMS: u16 = 0x7B;
    /// Call gate, DPL 3, to a `HLT` in ring 0.
    pub const GATE_HLT: u16 = 0x83;
    /// Call gate of DPL 0 (ring 3 may not use it), to `CODE0:RETF`.
    pub const GATE_DPL0: u16 = 0x88;
    /// 16-bit call gate, DPL 3, one parameter, to `CODE0:RETF16_2`.
    pub const GATE16: u16 = 0x93;
    /// Call gate, DPL 3, to ring-3 code (`CODE3:RETF`): no privilege change.
    pub const GATE_SAME: u16 = 0x9B;
    /// An interrupt gate in the GDT, where no gate may be used.
    pub const INT_GATE_IN_GDT: u16 = 0xA3;
    /// 16-bit data, DPL 3, base 0x30000, 64 KiB.
    pub const DATA3_16: u16 = 0xAB;
    /// A one-byte data segment, DPL 3, at 0x10000.
    pub const DATA3_BYTE: u16 = 0xBB;
    /// Not-present ring-3 code.
    pub const CODE3_NP: u16 = 0xC3;
    /// Page-granular data, DPL 3, base 0, limit 0x3FFFF.
    pub const DATA3_PAGES: u16 = 0xCB;
    /// LDT: flat ring-3 data.
    pub const LDT_DATA3: u16 = 0x07;
    /// LDT: flat ring-3 code.
    pub const LDT_CODE3: u16 = 0x0F;
    /// LDT: call gate, DPL 3, to `CODE0:RETF`.
    pub const LDT_GATE: u16 = 0x27;

    /// Selectors a sequence loads into data segment registers: good and bad ones.
    pub const DATA_SELECTORS: &[u16] = &[
        0x00,
        DATA0,
        DATA3,
        DATA3_RO,
        DATA3_SMALL,
        STACK3_DOWN,
        DATA1,
        DATA3_NP,
        DATA3_16,
        DATA3_BYTE,
        DATA3_PAGES,
        LDT_DATA3,
        0x17,
        0x1F,
        CODE3,
        CODE3_XO,
        CONFORMING,
        TSS_SEL,
        LDT_SEL,
        GATE_PARAMS,
        0xD3,
        0x103,
        0x3B,
        0x0B,
    ];

    /// Far transfer targets (selector, offset) of a far CALL: what returns, and what does not.
    pub const CALL_TARGETS: &[(u16, u32)] = &[
        (CODE0, RETF),
        (CODE3, RETF),
        (CONFORMING, RETF),
        (LDT_CODE3, RETF),
        (CODE3_XO, RETF),
        (CODE3_16, RETF),
        (GATE_PARAMS, 0),
        (GATE_HLT, 0),
        (GATE_DPL0, 0),
        (GATE16, 0),
        (GATE_SAME, 0),
        (LDT_GATE, 0),
        (CODE3_NP, RETF),
        (TSS_SEL, 0),
        (INT_GATE_IN_GDT, 0),
        (DATA3, RETF),
        (0x00, RETF),
        (0x103, RETF),
        (CODE3, 0x12_3456),
    ];

    /// Far transfer targets of a far JMP, RETF or IRET: they end the sequence at a `HLT`.
    pub const JUMP_TARGETS: &[(u16, u32)] = &[
        (CODE0, FAR_HLT),
        (CODE3, FAR_HLT + 1),
        (CONFORMING, FAR_HLT + 2),
        (LDT_CODE3, FAR_HLT + 3),
        (CODE3_XO, FAR_HLT + 4),
        (CODE3_16, FAR_HLT + 5),
        (GATE_HLT, 0),
        (GATE_SAME, 0),
        (GATE_DPL0, 0),
        (CODE3_NP, FAR_HLT),
        (TSS_SEL, 0),
        (DATA3, FAR_HLT),
        (0x00, FAR_HLT),
        (CODE3 & !3, FAR_HLT + 6),
        (CODE3, 0x12_3456),
    ];

    /// Access byte bits: present, and the types of code and data (S set).
    const P: u8 = 0x80;
    const CODE_XR: u8 = 0x1A;
    const CODE_X: u8 = 0x18;
    const CODE_CONF_XR: u8 = 0x1E;
    const DATA_RW: u8 = 0x12;
    const DATA_RO: u8 = 0x10;
    const DATA_DOWN_RW: u8 = 0x16;
    /// Accessed (set in the descriptors the start state has loaded).
    const A: u8 = 0x01;
    /// Flags nibble: G and D/B.
    const G: u8 = 0x8;
    const DB: u8 = 0x4;

    /// The limit of the "flat" segments, in pages: 4 GiB less one page. An access that
    /// wraps at 4 GiB in a segment of limit FFFFFFFFh may or may not fault, and may differ
    /// from one execution to the next (SDM Vol. 3, 5.3): below that limit it always faults.
    const FLAT: u32 = 0xF_FFFE;

    fn dpl(d: u8) -> u8 {
        d << 5
    }

    /// A code or data segment descriptor (`limit` in its 20-bit form).
    fn segment(base: u32, limit: u32, access: u8, flags: u8) -> u64 {
        (limit as u64 & 0xFFFF)
            | (base as u64 & 0xFF_FFFF) << 16
            | (access as u64) << 40
            | (limit as u64 >> 16 & 0xF) << 48
            | (flags as u64 & 0xF) << 52
            | (base as u64 >> 24) << 56
    }

    /// A gate descriptor: `kind` is the type (4 call16, 0xC call32, 6/7 interrupt/trap 16,
    /// 0xE/0xF interrupt/trap 32).
    fn gate(sel: u16, offset: u32, kind: u8, dpl_: u8, present: bool, params: u8) -> u64 {
        let access = (present as u8) << 7 | dpl(dpl_) | kind;
        (offset as u64 & 0xFFFF)
            | (sel as u64) << 16
            | (params as u64 & 0x1F) << 32
            | (access as u64) << 40
            | (offset as u64 >> 16) << 48
    }

    /// The descriptor cache a segment register holds once `desc` is loaded.
    fn cache(sel: u16, desc: u64) -> Segment {
        let raw = (desc & 0xFFFF) as u32 | ((desc >> 48) as u32 & 0xF) << 16;
        let base = (desc >> 16 & 0xFF_FFFF) as u32 | ((desc >> 56) as u32) << 24;
        let attrs = (desc >> 40) as u16 & 0xF0FF;
        let limit = if attrs & 0x8000 != 0 {
            raw << 12 | 0xFFF
        } else {
            raw
        };
        Segment {
            selector: sel,
            base,
            limit,
            attrs,
        }
    }

    /// The GDT, by index.
    fn gdt() -> [u64; GDT_ENTRIES as usize] {
        let mut g = [0u64; GDT_ENTRIES as usize];
        let flat = FLAT;
        let i = |sel: u16| (sel >> 3) as usize;
        g[i(CODE0)] = segment(0, flat, P | CODE_XR | A, G | DB);
        g[i(DATA0)] = segment(0, flat, P | DATA_RW | A, G | DB);
        g[i(CODE3)] = segment(0, flat, P | dpl(3) | CODE_XR | A, G | DB);
        g[i(DATA3)] = segment(0, flat, P | dpl(3) | DATA_RW | A, G | DB);
        g[i(CODE3_XO)] = segment(0, flat, P | dpl(3) | CODE_X | A, G | DB);
        g[i(DATA3_RO)] = segment(0x1_0000, 0xFFFF, P | dpl(3) | DATA_RO | A, DB);
        g[i(DATA3_SMALL)] = segment(0x1_0000, 0xFFF, P | dpl(3) | DATA_RW | A, DB);
        g[i(STACK3_DOWN)] = segment(0x2_0000, 0xF000, P | dpl(3) | DATA_DOWN_RW | A, 0);
        g[i(DATA1)] = segment(0, flat, P | dpl(1) | DATA_RW, G | DB);
        g[i(DATA3_NP)] = segment(0, flat, dpl(3) | DATA_RW, G | DB);
        g[i(CONFORMING)] = segment(0, flat, P | CODE_CONF_XR, G | DB);
        g[i(CODE3_16)] = segment(0, 0xFFFF, P | dpl(3) | CODE_XR, 0);
        g[i(TSS_SEL)] = segment(TSS, IO_MAP + IO_PORTS / 8 - 1, P | 0x0B, 0);
        g[i(LDT_SEL)] = segment(LDT, LDT_ENTRIES * 8 - 1, P | 0x02, 0);
        g[i(GATE_PARAMS)] = gate(CODE0, RETF_8, 0xC, 3, true, 2);
        g[i(GATE_HLT)] = gate(CODE0, FAR_HLT + 7, 0xC, 3, true, 0);
        g[i(GATE_DPL0)] = gate(CODE0, RETF, 0xC, 0, true, 0);
        g[i(GATE16)] = gate(CODE0, RETF16_2, 0x4, 3, true, 1);
        g[i(GATE_SAME)] = gate(CODE3, RETF, 0xC, 3, true, 0);
        g[i(INT_GATE_IN_GDT)] = gate(CODE0, STUBS, 0xE, 3, true, 0);
        g[i(DATA3_16)] = segment(0x3_0000, 0xFFFF, P | dpl(3) | DATA_RW, 0);
        g[i(DATA3_BYTE)] = segment(0x1_0000, 0, P | dpl(3) | DATA_RW, DB);
        g[i(CODE3_NP)] = segment(0, flat, dpl(3) | CODE_XR, G | DB);
        g[i(DATA3_PAGES)] = segment(0, 0x3F, P | dpl(3) | DATA_RW, G | DB);
        g
    }

    /// The LDT, by index.
    fn ldt() -> [u64; LDT_ENTRIES as usize] {
        let mut l = [0u64; LDT_ENTRIES as usize];
        let flat = FLAT;
        l[0] = segment(0, flat, P | dpl(3) | DATA_RW | A, G | DB);
        l[1] = segment(0, flat, P | dpl(3) | CODE_XR | A, G | DB);
        l[2] = segment(0, flat, P | DATA_RW, G | DB);
        l[3] = segment(0, flat, dpl(3) | DATA_RW, G | DB);
        l[4] = gate(CODE0, RETF, 0xC, 3, true, 0);
        l
    }

    /// The IDT gate of vector `v` (see the module docs).
    fn idt_gate(v: u8) -> u64 {
        let stub = STUBS + v as u32;
        if v < 32 {
            return match v {
                3 | 4 => gate(CODE0, stub, 0xF, 3, true, 0),
                _ => gate(CODE0, stub, 0xE, 0, true, 0),
            };
        }
        match v % 8 {
            0 => gate(CODE0, stub, 0xE, 3, true, 0),
            1 => gate(CODE0, stub, 0xF, 3, true, 0),
            2 => gate(CODE0, stub, 0xE, 0, true, 0),
            3 => gate(CODE0, stub, 0x6, 3, true, 0),
            4 => gate(CODE3, stub, 0xF, 3, true, 0),
            5 => gate(CODE0, stub, 0xE, 3, false, 0),
            6 => gate(CONFORMING, stub, 0xE, 3, true, 0),
            _ => segment(0, 0xFFFF, P | dpl(3) | DATA_RW, 0),
        }
    }

    /// Whether vector `v`'s gate is a 16-bit one.
    fn gate16(v: u8) -> bool {
        v >= 32 && v % 8 == 3
    }

    fn put(ram: &mut [u8], at: u32, v: &[u8]) {
        ram[at as usize..at as usize + v.len()].copy_from_slice(v);
    }

    /// The descriptor of `sel` as the start state wrote it.
    fn descriptor(sel: u16) -> u64 {
        let i = (sel >> 3) as usize;
        if sel & 4 != 0 {
            ldt()[i]
        } else {
            gdt()[i]
        }
    }

    /// Writes the tables and stubs, and draws the registers.
    pub fn start_state(rng: &mut Rng, ram: &mut [u8], cpu: &mut Cpu, user_only: bool) {
        for v in 0..=255u8 {
            put(ram, IDT + v as u32 * 8, &idt_gate(v).to_le_bytes());
        }
        for (k, d) in gdt().iter().enumerate() {
            put(ram, GDT + k as u32 * 8, &d.to_le_bytes());
        }
        for (k, d) in ldt().iter().enumerate() {
            put(ram, LDT + k as u32 * 8, &d.to_le_bytes());
        }
        // The TSS: link, ESP0, SS0, ESP1, SS1, ESP2, SS2 (the rest random), the trap bit
        // clear and the I/O map base; the bitmap itself stays random.
        put(ram, TSS, &0u32.to_le_bytes());
        put(ram, TSS + 4, &ESP0.to_le_bytes());
        put(ram, TSS + 8, &(DATA0 as u32).to_le_bytes());
        put(ram, TSS + 0x64, &(IO_MAP << 16).to_le_bytes());
        ram[(STUBS as usize)..(STUBS as usize + 256)].fill(HLT);
        ram[RETF as usize..0xC20].fill(HLT);
        put(ram, RETF, &[0xCB]);
        put(ram, RETF_8, &[0xCA, 0x08, 0x00]);
        put(ram, RETF16_2, &[0x66, 0xCA, 0x02, 0x00]);
        let code = CODE_BASE as usize;
        ram[code..code + CODE_PAGE].fill(HLT);

        cpu.reset();
        cpu.cr[0] |= 1 | 2 | 0x20; // PE, MP, NE
        if rng.chance(1, 8) {
            cpu.cr[0] |= 8; // TS: the first x87 instruction raises #NM
        }
        cpu.gdtr = TableReg {
            base: GDT,
            limit: (GDT_ENTRIES * 8 - 1) as u16,
        };
        cpu.idtr = TableReg {
            base: IDT,
            limit: 0x7FF,
        };
        cpu.ldtr = cache(LDT_SEL, gdt()[(LDT_SEL >> 3) as usize]);
        cpu.tr = cache(TSS_SEL, gdt()[(TSS_SEL >> 3) as usize]);

        let user = user_only || rng.chance(1, 2);
        let (cs, ss, esp) = if user {
            let cs = match rng.below(8) {
                0 => CODE3_XO,
                1 => LDT_CODE3,
                _ => CODE3,
            };
            if rng.chance(1, 8) {
                (cs, STACK3_DOWN, 0xF400 + 2 * rng.below(0x500) as u32)
            } else {
                (cs, DATA3, 0x2_8000 + 4 * rng.below(0x1000) as u32)
            }
        } else {
            (CODE0, DATA0, 0x3_C000 + 4 * rng.below(0x800) as u32)
        };
        cpu.segs[seg::CS as usize] = cache(cs, descriptor(cs));
        cpu.segs[seg::SS as usize] = cache(ss, descriptor(ss));
        // Data segments: mostly the flat one; any of them may be loaded at CPL 0 or 3.
        const START_DATA: [u16; 7] = [
            DATA3,
            DATA3_RO,
            DATA3_SMALL,
            DATA3_16,
            DATA3_PAGES,
            LDT_DATA3,
            0,
        ];
        for s in [seg::DS, seg::ES, seg::FS, seg::GS] {
            let sel = if rng.chance(1, 2) {
                DATA3
            } else {
                rng.pick(&START_DATA)
            };
            cpu.segs[s as usize] = if sel == 0 {
                Segment::default()
            } else {
                cache(sel, descriptor(sel))
            };
        }
        cpu.eip = CODE_BASE;
        for r in 0..8 {
            cpu.regs[r] = register_value(rng);
        }
        cpu.regs[crate::cpu::reg::SP as usize] = esp;
        // A REP count of a few, mostly: flat segments reach past RAM, where every access of a
        // string instruction is an exit to the host under KVM.
        if rng.chance(3, 4) {
            cpu.regs[crate::cpu::reg::CX as usize] = rng.below(64) as u32;
        }
        let iopl = (rng.below(4) as u32) << 12;
        cpu.flags.set(start_flags(rng, cpu.model) | iopl);
        if rng.chance(1, 2) {
            x87_state(rng, cpu);
        }
        cpu.state_loaded();
    }

    /// A random x87 state: some registers loaded (random bit patterns, or small numbers),
    /// random condition codes, and a control word with random rounding and precision that
    /// masks every exception, or sometimes not all of them.
    fn x87_state(rng: &mut Rng, cpu: &mut Cpu) {
        use crate::cpu::fpu::F80;
        let f = &mut cpu.fpu;
        f.init();
        // Precision 24, 53 or 64 bits (1 is reserved), any rounding, all masked.
        let pc = rng.pick(&[0u16, 2, 3, 3]);
        f.cw = 0x0040 | 0x3F | pc << 8 | (rng.below(4) as u16) << 10;
        if rng.chance(1, 4) {
            f.cw &= !(rng.next_u32() as u16 & 0x3F);
        }
        for _ in 0..rng.below(9) {
            let v = if rng.chance(1, 2) {
                let mut b = [0u8; 10];
                rng.fill(&mut b);
                F80::from_bytes(b)
            } else {
                // ±(small integer) × 2^k: exact, ordinary numbers.
                let m = (rng.below(1 << 16) | 1) << 47;
                let exp = (16383 + rng.below(40) - 20) as u16 | (rng.byte() as u16 & 1) << 15;
                let mut b = [0u8; 10];
                b[..8].copy_from_slice(&(m | 1 << 63).to_le_bytes());
                b[8..].copy_from_slice(&exp.to_le_bytes());
                F80::from_bytes(b)
            };
            f.push(v);
        }
        f.sw |= (rng.next_u32() as u16) & 0x4700; // C3, C2, C1, C0
        if rng.chance(1, 8) {
            f.sw |= rng.next_u32() as u16 & 0x3F;
        }
        f.update_es();
    }

    /// The vector whose stub the CPU stopped in (a `HLT` of ring 0, or of another ring's
    /// handler code).
    pub fn handler_vector(cpu: &Cpu) -> Option<u8> {
        let cs = cpu.segs[seg::CS as usize].selector & !3;
        let at = cpu.eip.wrapping_sub(1).wrapping_sub(STUBS);
        let handler_cs = [CODE0, CODE3 & !3, CONFORMING].contains(&cs);
        (handler_cs && at < 256).then_some(at as u8)
    }

    /// The FLAGS image of the frame of vector `v` (both places when `v` is one of the
    /// exceptions with an error code).
    pub fn frame_flags(cpu: &Cpu, v: u8) -> Vec<[u32; 2]> {
        let ss = &cpu.segs[seg::SS as usize];
        let esp = cpu.regs[crate::cpu::reg::SP as usize];
        let wide = ss.attrs & 0x4000 != 0;
        let at = |k: u32| {
            let off = esp.wrapping_add(k);
            let off = if wide { off } else { off & 0xFFFF };
            ss.base.wrapping_add(off)
        };
        let slot = if gate16(v) { 2 } else { 4 };
        let with_code = matches!(v, 8 | 10..=14 | 17);
        let mut places = vec![2 * slot];
        if with_code {
            places.push(3 * slot);
        }
        places.into_iter().map(|k| [at(k), at(k + 1)]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real16_layout_keeps_segments_inside() {
        let sb = Mode::Real16.sandbox().unwrap();
        let mut ram = vec![0; sb.ram_size];
        let mut noise = vec![0; 2 * sb.ram_size];
        Rng::new(5).fill(&mut noise);
        let mut cpu = Cpu::new(CpuModel::I486);
        for i in 0..200 {
            sb.start_state(&mut Rng::for_sequence(5, i), &noise, &mut ram, &mut cpu);
            for s in &cpu.segs {
                assert!(s.base as usize + 0xFFFF < sb.ram_size, "{s:?}");
                assert!(s.base >= 0x1000, "{s:?} reaches the IVT");
            }
            let sp = cpu.regs[4] & 0xFFFF;
            assert!(sp.is_multiple_of(2) && (0x2000..=0xE000).contains(&sp));
            let fl = cpu.eflags();
            assert_eq!(fl & (flags::IF | flags::TF), 0);
        }
        assert_eq!(
            &ram[0x34..0x38],
            &[0x0D, 0, 0x40, 0],
            "vector 0x0D → 0040:000D"
        );
        assert_eq!(ram[0x40D], HLT);
    }
}
