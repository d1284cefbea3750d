//! Shared helpers for the Glassbox benchmarks.
//!
//! - [`LOOP16`] and [`LOOP32`]: the guest workload images of `benches/workloads/` with their
//!   documented instruction counts and checksums, and [`machine`] to build the PC that runs
//!   them the way `glassbox run --cpu 386 --debugcon none` does.
//! - [`REAL_MODE_16`], [`REAL_MODE_32`] and [`instruction_stream`]: the instruction mix of the
//!   decoder benchmark. Every sample carries its encoding written out by hand (checked against
//!   `ndisasm`), so the tests below check the decoder's lengths against an independent source.

use glassbox::cpu::CpuModel;
use glassbox::machine::{MachineConfig, Pc};
use glassbox_devices::debugport::DebugSink;

/// A guest workload: a 64 KiB ROM image that starts at the reset vector.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// Short name (`loop16`, `loop32`).
    pub name: &'static str,
    /// The ROM image (`benches/workloads/NAME.bin`).
    pub image: &'static [u8],
    /// Instructions up to and including the `OUT` of the final `n` of `Shutdown` to port
    /// 0x8900, where Glassbox stops (see the `.asm` header and `benches/README.md`).
    pub instructions: u64,
    /// The line the workload writes to port 0xE9 at the end.
    pub checksum_line: &'static str,
}

/// The 16-bit integer loop (8086 instructions only).
pub const LOOP16: Workload = Workload {
    name: "loop16",
    image: include_bytes!("workloads/loop16.bin"),
    instructions: 305 * 4_000_000 + 1214,
    checksum_line: "loop16 checksum=1b2a300b",
};

/// The 32-bit compute loop in real mode (386).
pub const LOOP32: Workload = Workload {
    name: "loop32",
    image: include_bytes!("workloads/loop32.bin"),
    instructions: 299 * 4_000_000 + 2713,
    checksum_line: "loop32 checksum=1cb6e257",
};

/// Both workloads.
pub const WORKLOADS: [Workload; 2] = [LOOP16, LOOP32];

/// A powered-on 386 PC with 16 MiB of RAM, port 0xE9 output dropped, and `image` mapped as its
/// BIOS: the machine of `glassbox run --bios IMAGE --cpu 386 --debugcon none`.
pub fn machine(image: &[u8]) -> Pc {
    let mut pc = Pc::new(MachineConfig {
        cpu: CpuModel::I386,
        memory: 16 << 20,
        clock_hz: None,
        debugcon: DebugSink::None,
        ..Default::default()
    })
    .expect("16 MiB machine");
    pc.load_bios(image).expect("workload image maps as a BIOS");
    pc
}

/// One instruction of the decoder benchmark's mix.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// NASM syntax (`bits 16`), for the reader and for failure messages.
    pub asm: &'static str,
    /// The encoding.
    pub bytes: &'static [u8],
    /// Relative frequency in the stream.
    pub weight: u32,
}

const fn s(asm: &'static str, bytes: &'static [u8], weight: u32) -> Sample {
    Sample { asm, bytes, weight }
}

/// 16-bit real-mode code as compilers and BIOSes write it: 8086 instructions only, weighted
/// towards register/memory `MOV` and ALU forms, with the usual jumps, stack and string
/// operations.
pub const REAL_MODE_16: &[Sample] = &[
    // MOV immediate and register/memory forms.
    s("mov ax, 0x1234", &[0xB8, 0x34, 0x12], 4),
    s("mov bx, 0x0600", &[0xBB, 0x00, 0x06], 3),
    s("mov cl, 5", &[0xB1, 0x05], 3),
    s("mov ax, [bp+6]", &[0x8B, 0x46, 0x06], 6),
    s("mov [bp-2], ax", &[0x89, 0x46, 0xFE], 4),
    s("mov [bx+di], al", &[0x88, 0x01], 3),
    s("mov dx, [bx+si+0x1234]", &[0x8B, 0x90, 0x34, 0x12], 2),
    s("mov si, [0x0400]", &[0x8B, 0x36, 0x00, 0x04], 3),
    s("mov al, [0x0400]", &[0xA0, 0x00, 0x04], 2),
    s("mov [0x0402], ax", &[0xA3, 0x02, 0x04], 2),
    s(
        "mov word [bp-4], 0x55aa",
        &[0xC7, 0x46, 0xFC, 0xAA, 0x55],
        2,
    ),
    s("mov byte [si], 0", &[0xC6, 0x04, 0x00], 1),
    s("mov ax, bx", &[0x89, 0xD8], 5),
    s("mov ds, ax", &[0x8E, 0xD8], 1),
    s("mov ax, es", &[0x8C, 0xC0], 1),
    s("es mov ax, [di]", &[0x26, 0x8B, 0x05], 2),
    s("cs mov bx, [0x1000]", &[0x2E, 0x8B, 0x1E, 0x00, 0x10], 1),
    s("lea si, [bx+si+8]", &[0x8D, 0x70, 0x08], 2),
    s("les di, [bp+4]", &[0xC4, 0x7E, 0x04], 1),
    // ALU.
    s("add ax, bx", &[0x01, 0xD8], 4),
    s("add ax, [bx+si]", &[0x03, 0x00], 3),
    s("add word [0x0500], 1", &[0x83, 0x06, 0x00, 0x05, 0x01], 2),
    s("add al, 0x30", &[0x04, 0x30], 2),
    s("sub cx, dx", &[0x29, 0xD1], 2),
    s("sub word [bp+8], 0x100", &[0x81, 0x6E, 0x08, 0x00, 0x01], 1),
    s("sbb word [0x0502], 0", &[0x83, 0x1E, 0x02, 0x05, 0x00], 1),
    s("adc dx, 0", &[0x83, 0xD2, 0x00], 1),
    s("xor si, si", &[0x31, 0xF6], 3),
    s("xor al, [bx+di+0x10]", &[0x32, 0x41, 0x10], 1),
    s("and ax, 0x0ff0", &[0x25, 0xF0, 0x0F], 2),
    s("or al, al", &[0x08, 0xC0], 2),
    s("cmp ax, 0x80", &[0x3D, 0x80, 0x00], 3),
    s("cmp byte [bx+di], 0x7f", &[0x80, 0x39, 0x7F], 2),
    s("cmp si, [bp+10]", &[0x3B, 0x76, 0x0A], 2),
    s("test al, 1", &[0xA8, 0x01], 2),
    s("test byte [bx], 0x80", &[0xF6, 0x07, 0x80], 1),
    s("inc si", &[0x46], 4),
    s("dec cx", &[0x49], 3),
    s("inc word [bp-6]", &[0xFF, 0x46, 0xFA], 1),
    s("neg ax", &[0xF7, 0xD8], 1),
    s("not dx", &[0xF7, 0xD2], 1),
    s("mul bx", &[0xF7, 0xE3], 1),
    s("div cx", &[0xF7, 0xF1], 1),
    s("cbw", &[0x98], 1),
    s("cwd", &[0x99], 1),
    s("xchg ax, dx", &[0x92], 1),
    // Shifts and rotates.
    s("rol ax, 1", &[0xD1, 0xC0], 2),
    s("shl bx, cl", &[0xD3, 0xE3], 2),
    s("shr byte [si], 1", &[0xD0, 0x2C], 1),
    s("rcr dx, 1", &[0xD1, 0xDA], 1),
    // Stack.
    s("push ax", &[0x50], 4),
    s("push bp", &[0x55], 2),
    s("pop bp", &[0x5D], 2),
    s("pop ax", &[0x58], 4),
    s("push ds", &[0x1E], 1),
    s("pop es", &[0x07], 1),
    s("push word [bp+4]", &[0xFF, 0x76, 0x04], 1),
    s("pushf", &[0x9C], 1),
    s("popf", &[0x9D], 1),
    // Control flow.
    s("jb short +5", &[0x72, 0x05], 3),
    s("jnz short -10", &[0x75, 0xF6], 4),
    s("jz short +0x20", &[0x74, 0x20], 3),
    s("jmp short +2", &[0xEB, 0x02], 2),
    s("jmp near +0x100", &[0xE9, 0x00, 0x01], 1),
    s("loop short -20", &[0xE2, 0xEC], 2),
    s("call near +0x10", &[0xE8, 0x10, 0x00], 2),
    s("call word [bx+2]", &[0xFF, 0x57, 0x02], 1),
    s("ret", &[0xC3], 2),
    s("ret 4", &[0xC2, 0x04, 0x00], 1),
    s("retf", &[0xCB], 1),
    s("int 0x10", &[0xCD, 0x10], 1),
    s("iret", &[0xCF], 1),
    s("jmp far 0xf000:0xe05b", &[0xEA, 0x5B, 0xE0, 0x00, 0xF0], 1),
    s("call far 0x1234:0x0010", &[0x9A, 0x10, 0x00, 0x34, 0x12], 1),
    // Strings, flags and I/O.
    s("rep movsw", &[0xF3, 0xA5], 1),
    s("rep stosb", &[0xF3, 0xAA], 1),
    s("repe cmpsb", &[0xF3, 0xA6], 1),
    s("cs lodsb", &[0x2E, 0xAC], 1),
    s("lodsw", &[0xAD], 1),
    s("stosw", &[0xAB], 1),
    s("cld", &[0xFC], 1),
    s("cli", &[0xFA], 1),
    s("sti", &[0xFB], 1),
    s("out 0xe9, al", &[0xE6, 0xE9], 1),
    s("in al, dx", &[0xEC], 1),
];

/// 32-bit code in real mode on a 386: operand-size (0x66) and address-size (0x67) prefixes,
/// SIB bytes, 32-bit displacements and immediates, FS/GS overrides and the 0F extensions.
pub const REAL_MODE_32: &[Sample] = &[
    s(
        "mov eax, 0x12345678",
        &[0x66, 0xB8, 0x78, 0x56, 0x34, 0x12],
        3,
    ),
    s("mov eax, ebx", &[0x66, 0x89, 0xD8], 3),
    s("add eax, ebx", &[0x66, 0x01, 0xD8], 3),
    s("xor edx, edx", &[0x66, 0x31, 0xD2], 2),
    s("mov edx, [ebx+edx*4]", &[0x66, 0x67, 0x8B, 0x14, 0x93], 3),
    s("mov [ebx+edx*4], eax", &[0x66, 0x67, 0x89, 0x04, 0x93], 2),
    s("mov eax, [esi+0x10]", &[0x66, 0x67, 0x8B, 0x46, 0x10], 2),
    s("mov ebx, [esp+4]", &[0x66, 0x67, 0x8B, 0x5C, 0x24, 0x04], 1),
    s("xor eax, [ebp+8]", &[0x66, 0x67, 0x33, 0x45, 0x08], 1),
    s(
        "lea eax, [eax+eax*2+4]",
        &[0x66, 0x67, 0x8D, 0x44, 0x40, 0x04],
        1,
    ),
    s(
        "mov eax, [fs:edi+ecx*8+0x1000]",
        &[0x64, 0x66, 0x67, 0x8B, 0x84, 0xCF, 0x00, 0x10, 0x00, 0x00],
        1,
    ),
    s(
        "mov [0x00001000], eax (a32)",
        &[0x66, 0x67, 0xA3, 0x00, 0x10, 0x00, 0x00],
        1,
    ),
    s("mov ax, [gs:ebx]", &[0x65, 0x67, 0x8B, 0x03], 1),
    s("cmp dword [esi], 0", &[0x66, 0x67, 0x83, 0x3E, 0x00], 1),
    s("add [0x0500], eax", &[0x66, 0x01, 0x06, 0x00, 0x05], 2),
    s(
        "adc dword [0x0504], 0",
        &[0x66, 0x83, 0x16, 0x04, 0x05, 0x00],
        2,
    ),
    s("test eax, 0x100", &[0x66, 0xA9, 0x00, 0x01, 0x00, 0x00], 1),
    s(
        "imul eax, eax, 0x41c64e6d",
        &[0x66, 0x69, 0xC0, 0x6D, 0x4E, 0xC6, 0x41],
        2,
    ),
    s("imul edx", &[0x66, 0xF7, 0xEA], 1),
    s("not eax", &[0x66, 0xF7, 0xD0], 1),
    s("dec ecx", &[0x66, 0x49], 2),
    s("rol eax, 7", &[0x66, 0xC1, 0xC0, 0x07], 2),
    s("shr edx, 16", &[0x66, 0xC1, 0xEA, 0x10], 1),
    s("sar eax, 1", &[0x66, 0xD1, 0xF8], 1),
    s("shld eax, edx, 5", &[0x66, 0x0F, 0xA4, 0xD0, 0x05], 1),
    s("bt eax, 3", &[0x66, 0x0F, 0xBA, 0xE0, 0x03], 1),
    s("movzx eax, byte [bx+si]", &[0x66, 0x0F, 0xB6, 0x00], 1),
    s("movzx ecx, al", &[0x66, 0x0F, 0xB6, 0xC8], 1),
    s("setz al", &[0x0F, 0x94, 0xC0], 1),
    s("jz near +0x20", &[0x0F, 0x84, 0x20, 0x00], 1),
    s("push eax", &[0x66, 0x50], 2),
    s("pop edx", &[0x66, 0x5A], 2),
    s(
        "push dword 0x12345678",
        &[0x66, 0x68, 0x78, 0x56, 0x34, 0x12],
        1,
    ),
    s("push fs", &[0x0F, 0xA0], 1),
    s("rep movsd", &[0xF3, 0x66, 0xA5], 1),
    s("rep stosd (a32)", &[0xF3, 0x66, 0x67, 0xAB], 1),
    s("mov cr0, eax", &[0x0F, 0x22, 0xC0], 1),
];

/// A buffer of instructions laid end to end.
#[derive(Clone, Debug)]
pub struct Stream {
    /// The code bytes.
    pub bytes: Vec<u8>,
    /// The length of each instruction, in order.
    pub lens: Vec<u8>,
}

impl Stream {
    /// Number of instructions.
    pub fn count(&self) -> usize {
        self.lens.len()
    }
}

/// `count` instructions drawn from `mix` in a fixed pseudo-random order (by weight), so that the
/// decoder meets them in no repeating pattern a branch predictor could learn, and every run
/// gets the same stream.
pub fn instruction_stream(mix: &[&[Sample]], count: usize) -> Stream {
    let samples: Vec<&Sample> = mix.iter().flat_map(|m| m.iter()).collect();
    let total: u64 = samples.iter().map(|s| s.weight as u64).sum();
    assert!(total > 0, "empty instruction mix");
    let mut bytes = Vec::new();
    let mut lens = Vec::with_capacity(count);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..count {
        // xorshift64*: good enough to scatter the picks.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let mut pick = (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) % total;
        let sample = samples
            .iter()
            .find(|s| {
                let hit = pick < s.weight as u64;
                pick = pick.saturating_sub(s.weight as u64);
                hit
            })
            .expect("pick below the total weight");
        bytes.extend_from_slice(sample.bytes);
        lens.push(sample.bytes.len() as u8);
    }
    Stream { bytes, lens }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox::cpu::decode::decode;
    use glassbox::machine::{RunLimits, Stop};

    fn check_samples(mix: &[Sample], model: CpuModel) {
        for s in mix {
            match decode(s.bytes, model, false) {
                Ok(insn) => assert_eq!(insn.len as usize, s.bytes.len(), "{} on {model:?}", s.asm),
                Err(e) => panic!("{} on {model:?}: {e:?}", s.asm),
            }
        }
    }

    #[test]
    fn samples_decode_to_their_own_length() {
        check_samples(REAL_MODE_16, CpuModel::I8086);
        check_samples(REAL_MODE_16, CpuModel::I386);
        check_samples(REAL_MODE_32, CpuModel::I386);
    }

    #[test]
    fn stream_decodes_instruction_by_instruction() {
        let stream = instruction_stream(&[REAL_MODE_16, REAL_MODE_32], 4096);
        assert_eq!(stream.count(), 4096);
        let mut pos = 0;
        for (i, &len) in stream.lens.iter().enumerate() {
            let insn = decode(&stream.bytes[pos..], CpuModel::I386, false).expect("decodes");
            assert_eq!(insn.len, len, "instruction {i} at byte {pos}");
            pos += len as usize;
        }
        assert_eq!(pos, stream.bytes.len());
        // Both halves of the mix show up.
        assert!(stream.bytes.contains(&0x66) && stream.bytes.contains(&0x67));
    }

    #[test]
    fn workloads_run_alike_with_and_without_the_decode_cache() {
        for w in WORKLOADS {
            let n = 50_000;
            let mut states = Vec::new();
            for cache in [true, false] {
                let mut pc = machine(w.image);
                pc.cpu.decode_cache = cache;
                assert_eq!(
                    pc.run(RunLimits {
                        max_instructions: Some(n)
                    }),
                    Stop::InstructionLimit,
                    "{}",
                    w.name
                );
                assert_eq!(pc.stats().instructions, n, "{}", w.name);
                states.push((pc.cpu.regs, pc.cpu.eip, pc.cpu.flags.get()));
            }
            assert_eq!(states[0], states[1], "{}: cache on vs off", w.name);
        }
    }
}
