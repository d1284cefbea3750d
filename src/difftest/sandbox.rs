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
//! Protected mode ([`Mode::Prot32`]: a GDT with flat 32-bit segments, an IDT of gates to `HLT`
//! stubs, no paging) will add its own layout and start state here; the interpreter does not
//! run protected mode yet.

use crate::cpu::decode::seg;
use crate::cpu::{flags, Cpu, CpuModel};

use super::rng::Rng;

/// The `HLT` opcode: every sequence ends in one and every handler is one.
pub const HLT: u8 = 0xF4;

/// Which processor mode sequences run in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Real mode, 16-bit code (with 66/67 prefixes on a 386 or later).
    Real16,
    /// Protected mode, flat 32-bit segments, no paging (not available yet).
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

    /// The sandbox of this mode, or why there is none yet.
    pub fn sandbox(self) -> Result<Sandbox, String> {
        match self {
            Mode::Real16 => Ok(Sandbox {
                mode: self,
                ram_size: real16::RAM_SIZE,
                code_base: real16::CODE_BASE,
                code_room: real16::CODE_PAGE,
                bitness: 16,
                esp_high: true,
            }),
            Mode::Prot32 => Err(
                "mode prot32 is not yet available: needs protected mode in the interpreter".into(),
            ),
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
            Mode::Prot32 => unreachable!("Mode::sandbox has no protected-mode layout yet"),
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
            Mode::Prot32 => None,
        }
    }

    /// Physical addresses of the two bytes of FLAGS in the frame the last interrupt or
    /// exception pushed, when the CPU stopped in a handler.
    pub fn frame_flags(&self, cpu: &Cpu) -> Option<[u32; 2]> {
        self.handler_vector(cpu)?;
        match self.mode {
            Mode::Real16 => Some(real16::frame_flags(cpu)),
            Mode::Prot32 => None,
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
        assert!(Mode::Prot32
            .sandbox()
            .unwrap_err()
            .contains("not yet available"));
    }
}
