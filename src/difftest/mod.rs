//! # Differential testing: the same random code on two back ends
//!
//! `glassbox difftest` runs random but valid x86 instruction sequences on two back ends from
//! the same start state and compares where they end. The back end under test is the
//! interpreter with its decode cache (the fast path every machine runs); the reference is a
//! real CPU through KVM, or — on any host — the interpreter without the decode cache.
//!
//! - [`sandbox`]: the memory layout and random start state of each [`Mode`].
//! - [`gen`]: sequences drawn from the interpreter's opcode table, checked with iced-x86.
//! - [`interp`]: the interpreter as a [`Backend`]. The KVM back end implements the same trait.
//! - [`Harness`]: runs a sequence on both back ends, compares the end states and shrinks a
//!   mismatch to a minimal reproducer; [`cli`] is the command.
//!
//! What is compared: the general registers, EIP, the six segment selectors, EFLAGS and every
//! byte of the sandbox memory. Nothing is masked but the flags the manuals leave undefined
//! after an instruction of the sequence (see [`gen::Sequence::undefined_flags`]): in EFLAGS,
//! and in the FLAGS image of the frame an interrupt or exception pushed when the sequence ended
//! in a handler (the two bytes at SS:SP+4 of the end state), which holds the flags of the
//! moment it was taken. The generator keeps undefined flags from flowing anywhere else. (A
//! sequence that rewrote its own code ran other instructions: their undefined flags are
//! masked too.)
//!
//! Not compared, and counted apart: sequences the reference could not execute at all
//! ([`UNRUNNABLE`]), sequences neither back end brought to `HLT`, and — against a CPU of
//! another generation — sequences that rewrote their own code and then differ, since a 486's
//! prefetch queue and a newer CPU legitimately run such code differently. A reference with
//! known deviations from the manuals (KVM's software emulator) is steered clear of with an
//! [`Avoid`] profile, announced in the output.

pub mod cli;
pub mod gen;
pub mod interp;
#[cfg(all(feature = "kvm", target_os = "linux", target_arch = "x86_64"))]
pub mod kvm;
mod report;
pub mod rng;
pub mod sandbox;
pub mod templates;

pub use interp::InterpBackend;
pub use sandbox::Mode;

use crate::cpu::decode::seg;
use crate::cpu::{Cpu, CpuModel, Segment};
use gen::{Generator, Sequence};
use rng::Rng;
use sandbox::Sandbox;

/// Starts the error of a reference that could not execute a sequence at all (a
/// software-backed KVM lacks some instructions): such a sequence is not compared.
pub const UNRUNNABLE: &str = "the reference could not execute it";

/// Known deviations of a reference from the manuals, which the sequences then steer clear of
/// (so that what is left is compared, and nothing is masked).
#[derive(Clone, Copy, Debug)]
pub struct Avoid {
    /// What the reference is and what it gets wrong.
    pub why: &'static str,
    /// Start real mode with the upper half of ESP clear.
    pub esp_high: bool,
    /// Instructions left out.
    pub refuse: fn(&iced_x86::Instruction) -> bool,
    /// The reference raises #UD for instructions it cannot emulate: a run that ends in its
    /// #UD handler where the interpreter's does not is not compared.
    pub raises_ud: bool,
}

/// KVM without hardware virtualization (a nested, software-backed KVM) runs real mode in its
/// instruction emulator, which deviates from the manuals here: it clears the upper half of ESP
/// when it delivers an interrupt or exception (so ESP starts below 64 KiB and instructions
/// that write ESP whole are left out); `INT n` with n of 80h or more never reaches its
/// handler (the vector is sign-extended); an `INT`/`INT3`/`INTO` with an operand-size
/// prefix pushes a 32-bit frame (prefixed interrupt instructions are all left out); a REP
/// CMPS/SCAS that faults after completed iterations leaves EFLAGS as they were before the
/// instruction instead of from the last iteration (real mode always pushes FLAGS, CS and IP as words); AAM and
/// AAD set SF/ZF/PF from AX instead of AL; and it cannot hand over a pending single-step trap
/// (POPF setting TF).
pub const SOFTWARE_KVM: Avoid = Avoid {
    why: "KVM's software instruction emulator (no vmx/svm), which clears ESP[31:16] on \
          interrupt delivery, hangs on INT 80h-FFh, pushes 32-bit frames for INT with a 66h \
          prefix, gets AAM/AAD flags and those of a faulting REP CMPS/SCAS wrong and cannot \
          hand over a pending single-step trap",
    esp_high: true,
    refuse: software_kvm_refuses,
    raises_ud: false,
};

/// KVM without hardware virtualization runs unpaged protected mode in its instruction
/// emulator too. There it raises #UD for the instructions it does not emulate (measured with
/// `--mode prot32 --verbose`: the x87 beyond FNINIT/FNSTCW/FNSTSW, LAR, LSL, VERR, VERW,
/// ARPL, ...), so a run it ends in #UD where the interpreter does not is not compared; it
/// shares the real-mode deviations that do not depend on the mode (AAM/AAD flags, a
/// faulting REP CMPS/SCAS, a pending single-step trap, INT 80h–FFh); its FNSTSW m16 and
/// FNSTCW store the wrong words; INT n with n below 20h does nothing; SGDT and SIDT hang
/// or store other bytes; and it shuts down instead of delivering an exception whose frame lies
/// outside RAM (seed 1 sequence 188: `LEA ESP` far away, then a #GP at CPL 0), so ESP is
/// written only by stack operations.
pub const SOFTWARE_KVM_PROT32: Avoid = Avoid {
    why: "KVM's software instruction emulator (no vmx/svm), which raises #UD for the \
          instructions it does not emulate, hangs on INT 80h-FFh, gets AAM/AAD flags, those of \
          a faulting REP CMPS/SCAS, FNSTSW m16, FNSTCW, SGDT and SIDT wrong, skips INT 0-1Fh, cannot \
          hand over a pending single-step trap and shuts down on an exception frame outside \
          RAM",
    esp_high: false,
    refuse: software_kvm_refuses_prot32,
    raises_ud: true,
};

fn software_kvm_refuses_prot32(i: &iced_x86::Instruction) -> bool {
    use iced_x86::{Mnemonic, OpKind};
    // FNSTSW m16 stores zeros in the high byte (TOP and the condition codes), not the guest's
    // status word: seed 1 sequences 199 and 259 of `--mode prot32` (FNSTSW AX is right).
    // FNSTCW stores 037Fh, not the guest's control word: seed 1 sequence 2186, seed 3
    // sequences 1050 and 1616.
    let x87_store = i.mnemonic() == Mnemonic::Fnstcw
        || i.mnemonic() == Mnemonic::Fnstsw && i.op0_kind() == OpKind::Memory;
    // INT n to an exception vector (below 20h) continues at the next instruction, with no
    // frame and no #GP for a DPL-0 gate at CPL 3: seed 1 sequence 2763 (INT 1Ah at CPL 0),
    // seed 2 sequences 2022, 2364 and 2650.
    let exception_vector = i.mnemonic() == Mnemonic::Int && i.immediate8() < 0x20;
    // SGDT/SIDT: runs that end in #GP in the interpreter never reach a HLT (seed 1 sequence
    // 9483: `sgdt [eax]` at CPL 3 outside RAM), or differ in the stored bytes (3379, 6105,
    // 7060, 9919).
    let store_table = matches!(i.mnemonic(), Mnemonic::Sgdt | Mnemonic::Sidt);
    let high_vector = i.mnemonic() == Mnemonic::Int && i.immediate8() >= 0x80;
    let repeated_compare = repeated_compare(i);
    high_vector
        || repeated_compare
        || x87_store
        || exception_vector
        || store_table
        || writes_esp(i)
        || matches!(
            i.mnemonic(),
            Mnemonic::Aam | Mnemonic::Aad | Mnemonic::Popf | Mnemonic::Popfd
        )
}

/// Whether `i` is a REP/REPNE CMPS or SCAS (the software KVM keeps the start flags when one
/// faults after some iterations).
fn repeated_compare(i: &iced_x86::Instruction) -> bool {
    use iced_x86::Mnemonic;
    (i.has_rep_prefix() || i.has_repne_prefix())
        && matches!(
            i.mnemonic(),
            Mnemonic::Cmpsb
                | Mnemonic::Cmpsw
                | Mnemonic::Cmpsd
                | Mnemonic::Scasb
                | Mnemonic::Scasw
                | Mnemonic::Scasd
        )
}

/// Whether `i` writes ESP other than as a stack operation.
fn writes_esp(i: &iced_x86::Instruction) -> bool {
    use iced_x86::{InstructionInfoFactory, OpAccess, Register};
    InstructionInfoFactory::new()
        .info(i)
        .used_registers()
        .iter()
        .any(|u| {
            u.register() == Register::ESP
                && !matches!(u.access(), OpAccess::Read | OpAccess::CondRead)
        })
}

fn software_kvm_refuses(i: &iced_x86::Instruction) -> bool {
    use iced_x86::{FlowControl, Mnemonic};
    // INT n is two bytes and INT3, INTO, INT1 one: anything longer carries a prefix (iced-x86
    // keeps no prefix list; a segment override is left out along with 66h, which is harmless).
    let bare = if i.mnemonic() == Mnemonic::Int { 2 } else { 1 };
    let interrupt = i.flow_control() == FlowControl::Interrupt;
    let prefixed_interrupt = interrupt && i.len() > bare;
    let high_vector = i.mnemonic() == Mnemonic::Int && i.immediate8() >= 0x80;
    let writes_esp = writes_esp(i);
    // A REP CMPS/SCAS that faults after some iterations keeps the start flags there.
    let repeated_compare = repeated_compare(i);
    prefixed_interrupt
        || high_vector
        || writes_esp
        || repeated_compare
        || matches!(
            i.mnemonic(),
            Mnemonic::Aam | Mnemonic::Aad | Mnemonic::Popf | Mnemonic::Popfd
        )
}

/// Why a sequence that rewrote its own code is not compared with a CPU of another generation.
const REWRITTEN: &str = "the code rewrote itself: a 486 (whose prefetch queue keeps the old \
                         bytes) and a newer CPU may run it differently, and what ran is not \
                         what the generator checked";

/// A way to run x86 code: the interpreter, or a real CPU (KVM).
pub trait Backend {
    /// The name shown in reports.
    fn name(&self) -> &str;

    /// Runs from the state in `cpu` until the CPU executes `HLT`.
    ///
    /// `ram` is the whole sandbox physical memory, from address 0 (anything above it is an
    /// open bus: reads all ones, writes are ignored; I/O ports read all ones). `cpu` holds the
    /// architectural start state: general registers, EIP, EFLAGS, the segment registers with
    /// their hidden parts, CR0 (and the table registers of the mode). Every sequence ends in
    /// `HLT`, and so does every interrupt and exception handler. On return `cpu` holds the
    /// end state and `ram` the end memory. A run that goes on too long (about 100 000
    /// instructions) stops with an error instead of hanging.
    fn run(&mut self, ram: &mut [u8], cpu: &mut Cpu) -> Result<(), String>;
}

/// Copies the architectural state (registers, flags, segments with their hidden parts,
/// control, debug and table registers, the x87 state) from `src` to `dst`, and leaves `dst` otherwise as
/// after a reset: not halted, no REP in progress, no interrupt shadow. Both are of one model.
pub fn copy_state(dst: &mut Cpu, src: &Cpu) {
    dst.reset();
    dst.regs[..8].copy_from_slice(&src.regs[..8]);
    dst.eip = src.eip;
    dst.flags = src.flags;
    dst.segs = src.segs;
    dst.cr = src.cr;
    dst.dr = src.dr;
    dst.gdtr = src.gdtr;
    dst.idtr = src.idtr;
    dst.ldtr = src.ldtr;
    dst.tr = src.tr;
    dst.fpu = src.fpu.clone();
    // The CPL and the fast-path segment checks follow the copied state.
    dst.state_loaded();
}

/// Whether two descriptor caches are the same: base, limit and the attributes both back ends
/// keep (type, S, DPL, P, D/B, G; not AVL, which KVM reports and the interpreter may not).
fn same_cache(x: &Segment, y: &Segment) -> bool {
    const ATTRS: u16 = 0xC0FF;
    x.base == y.base && x.limit == y.limit && (x.attrs ^ y.attrs) & ATTRS == 0
}

/// Whether two x87 states are the same where both back ends can report them: the control
/// and status words, which registers are empty, and the contents of the others.
fn same_x87(x: &crate::cpu::fpu::Fpu, y: &crate::cpu::fpu::Fpu) -> bool {
    x.cw == y.cw
        && x.status_word() == y.status_word()
        && x.abridged_tag() == y.abridged_tag()
        && (0..8u8).all(|i| x.is_empty(i) || x.st(i).to_bytes() == y.st(i).to_bytes())
}

/// A part of the end state where two back ends differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// General register (0 = EAX … 7 = EDI).
    Reg(u8),
    /// EIP.
    Eip,
    /// Segment selector (`decode::seg` numbering: ES, CS, SS, DS, FS, GS).
    Seg(u8),
    /// EFLAGS (defined bits only).
    Eflags,
    /// The hidden part (base, limit, attributes) of a segment register that holds a usable
    /// selector (protected mode).
    SegCache(u8),
    /// LDTR (selector and hidden part).
    Ldtr,
    /// TR (selector and hidden part).
    Tr,
    /// The x87 state: control, status and abridged tag words, and the non-empty registers.
    Fpu,
}

/// How two end states differ.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// Set when one back end stopped with an error and the other reached `HLT`.
    pub stopped: Option<(Option<String>, Option<String>)>,
    /// Differing registers.
    pub fields: Vec<Field>,
    /// EFLAGS bits that differ (undefined ones left out).
    pub eflags: u32,
    /// Physical addresses of differing memory bytes.
    pub memory: Vec<u32>,
}

impl Diff {
    fn is_empty(&self) -> bool {
        self.stopped.is_none() && self.fields.is_empty() && self.memory.is_empty()
    }
}

/// The result of running one sequence on both back ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Same end state.
    Same,
    /// Neither reached `HLT` (both errors are given); nothing to compare.
    BothStopped(String, String),
    /// Not comparable: the reference could not execute the sequence (its error starts with
    /// [`UNRUNNABLE`]), or the code rewrote itself and the reference is a CPU of another
    /// generation ([`Harness::compare_rewritten_code`]).
    NotComparable(String),
    /// The end states differ.
    Differ(Diff),
}

/// How the sequences that both back ends ran alike ended.
#[derive(Clone, Debug)]
pub struct EndStats {
    /// At the final `HLT` (or another `HLT` outside the handlers).
    pub at_hlt: u64,
    /// In the handler of each vector.
    pub vectors: [u64; 256],
}

impl Default for EndStats {
    fn default() -> Self {
        EndStats {
            at_hlt: 0,
            vectors: [0; 256],
        }
    }
}

/// Makes the stream of the sandbox data differ from those of the sequences.
const NOISE_SALT: u64 = 0x6E6F_6973_6500_0000;

/// Builds the cases of a run and checks them on two back ends.
pub struct Harness {
    sandbox: Sandbox,
    gen: Generator,
    seed: u64,
    /// Random bytes the sandbox data is taken from (drawn once per seed).
    noise: Vec<u8>,
    /// Start state of the current case.
    start: Cpu,
    ram_start: Vec<u8>,
    /// End states of the last check.
    cpu_a: Cpu,
    cpu_b: Cpu,
    ram_a: Vec<u8>,
    ram_b: Vec<u8>,
    /// See [`Harness::compare_rewritten_code`].
    rewritten_code_not_comparable: bool,
    /// See [`Avoid::raises_ud`].
    reference_raises_ud: bool,
    /// How the agreeing sequences ended.
    pub ends: EndStats,
}

impl Harness {
    /// A harness for `mode` on `model`, sequences of up to `max_len` instructions, seeded.
    pub fn new(mode: Mode, model: CpuModel, max_len: usize, seed: u64) -> Result<Harness, String> {
        let sandbox = mode.sandbox()?;
        let longest = max_len * 15 + 1;
        if max_len == 0 || longest > sandbox.code_room {
            return Err(format!(
                "sequences of {max_len} instructions do not fit the {} bytes of the code page",
                sandbox.code_room
            ));
        }
        let ram = vec![0; sandbox.ram_size];
        let mut noise = vec![0; 2 * sandbox.ram_size];
        Rng::new(seed ^ NOISE_SALT).fill(&mut noise);
        Ok(Harness {
            noise,
            gen: Generator::for_mode(model, mode, max_len),
            seed,
            start: Cpu::new(model),
            cpu_a: Cpu::new(model),
            cpu_b: Cpu::new(model),
            ram_start: ram.clone(),
            ram_a: ram.clone(),
            ram_b: ram,
            sandbox,
            ends: EndStats::default(),
            rewritten_code_not_comparable: false,
            reference_raises_ud: false,
        })
    }

    /// Makes case `index` of the seed current: its start state, and the sequence returned.
    pub fn case(&mut self, index: u64) -> Sequence {
        let mut rng = Rng::for_sequence(self.seed, index);
        let seq = self.gen.sequence(&mut rng);
        self.sandbox.user_only = seq.privileged();
        self.sandbox
            .start_state(&mut rng, &self.noise, &mut self.ram_start, &mut self.start);
        seq
    }

    /// Against a CPU of another generation (KVM), a sequence that rewrote its own code and
    /// then differs is not compared (see [`Verdict::NotComparable`]); between two
    /// interpreters it is a mismatch like any other.
    pub fn compare_rewritten_code(&mut self, on: bool) {
        self.rewritten_code_not_comparable = !on;
    }

    /// Steers the sequences and start states clear of a reference's known deviations.
    pub fn avoid(&mut self, a: &Avoid) {
        self.sandbox.esp_high = !a.esp_high;
        self.gen.refuse = Some(a.refuse);
        self.reference_raises_ud = a.raises_ud;
    }

    /// When the reference stopped in its #UD handler and the interpreter did not (or did, at
    /// another instruction), and the reference raises #UD for what it cannot emulate: why the run is not compared, naming
    /// the instruction (at the return address of the #UD frame; code segments have base 0).
    fn reference_lacks(&self) -> Option<String> {
        let ud = Some(crate::cpu::fault::vector::UD);
        if !self.reference_raises_ud || self.sandbox.handler_vector(&self.cpu_b) != ud {
            return None;
        }
        // The return address of the #UD frame.
        let ret = |cpu: &Cpu, ram: &[u8]| {
            let ss = &cpu.segs[seg::SS as usize];
            let at = ss.base.wrapping_add(cpu.regs[4]) as usize;
            Some(u32::from_le_bytes(ram.get(at..at + 4)?.try_into().ok()?) as usize)
        };
        let eip = ret(&self.cpu_b, &self.ram_b)?;
        // Both raised it at the same instruction: a #UD of the code, compared.
        if self.sandbox.handler_vector(&self.cpu_a) == ud
            && ret(&self.cpu_a, &self.ram_a) == Some(eip)
        {
            return None;
        }
        let bytes = self.ram_b.get(eip..(eip + 15).min(self.ram_b.len()))?;
        let i = iced_x86::Decoder::new(self.sandbox.bitness, bytes, iced_x86::DecoderOptions::NONE)
            .decode();
        Some(format!(
            "{UNRUNNABLE} (KVM's emulator raised #UD for {:?})",
            i.mnemonic()
        ))
    }

    /// Bytes of sandbox RAM (what a back end must provide).
    pub fn ram_size(&self) -> usize {
        self.sandbox.ram_size
    }

    /// Runs `seq` from the current start state on `a` and `b` and compares the end states.
    pub fn check(&mut self, seq: &Sequence, a: &mut dyn Backend, b: &mut dyn Backend) -> Verdict {
        self.ram_a.copy_from_slice(&self.ram_start);
        self.sandbox.place_code(&mut self.ram_a, &seq.code());
        self.ram_b.copy_from_slice(&self.ram_a);
        copy_state(&mut self.cpu_a, &self.start);
        copy_state(&mut self.cpu_b, &self.start);
        let ra = a.run(&mut self.ram_a, &mut self.cpu_a);
        let rb = b.run(&mut self.ram_b, &mut self.cpu_b);
        if let Err(y) = &rb {
            if y.starts_with(UNRUNNABLE) {
                return Verdict::NotComparable(y.clone());
            }
        }
        // Code the sequence rewrote ran instructions other than those laid out: their
        // undefined flags count too.
        // (A rewritten final HLT runs on into the HLTs after it: look 15 bytes on.)
        let code = seq.code();
        let at = self.sandbox.code_base as usize;
        let now = &self.ram_a[at..at + (code.len() + 15).min(self.sandbox.code_room)];
        let rewritten = now[..code.len()] != code[..];
        match (ra, rb) {
            (Err(x), Err(y)) => Verdict::BothStopped(x, y),
            (Ok(()), Ok(())) => {
                let mut undefined = seq.undefined_flags();
                if rewritten {
                    undefined |= gen::undefined_in(now, self.sandbox.bitness);
                }
                let d = self.compare(undefined);
                if !d.is_empty() && rewritten && self.rewritten_code_not_comparable {
                    return Verdict::NotComparable(REWRITTEN.into());
                }
                if !d.is_empty() {
                    if let Some(why) = self.reference_lacks() {
                        return Verdict::NotComparable(why);
                    }
                }
                if d.is_empty() {
                    match self.sandbox.handler_vector(&self.cpu_a) {
                        Some(v) => self.ends.vectors[v as usize] += 1,
                        None => self.ends.at_hlt += 1,
                    }
                    Verdict::Same
                } else {
                    Verdict::Differ(d)
                }
            }
            _ if rewritten && self.rewritten_code_not_comparable => {
                Verdict::NotComparable(REWRITTEN.into())
            }
            (Err(x), Ok(())) => match self.reference_lacks() {
                Some(why) => Verdict::NotComparable(why),
                None => Verdict::Differ(Diff {
                    stopped: Some((Some(x), None)),
                    ..Diff::default()
                }),
            },
            (x, y) => Verdict::Differ(Diff {
                stopped: Some((x.err(), y.err())),
                ..Diff::default()
            }),
        }
    }

    /// Compares the end states of the last check, ignoring the `undefined` EFLAGS bits.
    fn compare(&self, undefined: u32) -> Diff {
        let (a, b) = (&self.cpu_a, &self.cpu_b);
        let mut d = Diff::default();
        for r in 0..8u8 {
            if a.regs[r as usize] != b.regs[r as usize] {
                d.fields.push(Field::Reg(r));
            }
        }
        if a.eip != b.eip {
            d.fields.push(Field::Eip);
        }
        for s in 0..6u8 {
            if a.segs[s as usize].selector != b.segs[s as usize].selector {
                d.fields.push(Field::Seg(s));
            }
        }
        if self.sandbox.mode == Mode::Prot32 {
            for s in 0..6u8 {
                let (x, y) = (&a.segs[s as usize], &b.segs[s as usize]);
                // A null selector in a data segment register holds nothing usable (KVM
                // reports such a register as unusable, with no meaningful cache).
                let usable = x.selector & !3 != 0 || s == seg::CS || s == seg::SS;
                if usable && x.selector == y.selector && !same_cache(x, y) {
                    d.fields.push(Field::SegCache(s));
                }
            }
            if a.ldtr.selector != b.ldtr.selector
                || (a.ldtr.selector & !3 != 0 && !same_cache(&a.ldtr, &b.ldtr))
            {
                d.fields.push(Field::Ldtr);
            }
            if a.tr.selector != b.tr.selector || !same_cache(&a.tr, &b.tr) {
                d.fields.push(Field::Tr);
            }
            if !same_x87(&a.fpu, &b.fpu) {
                d.fields.push(Field::Fpu);
            }
        }
        d.eflags = (a.eflags() ^ b.eflags()) & !undefined;
        if d.eflags != 0 {
            d.fields.push(Field::Eflags);
        }
        if self.ram_a != self.ram_b {
            // The FLAGS image of an interrupt frame: its undefined bits are ignored too.
            let masks: Vec<(u32, u8)> = [a, b]
                .iter()
                .flat_map(|c| self.sandbox.frame_flags(c))
                .flat_map(|[lo, hi]| [(lo, undefined as u8), (hi, (undefined >> 8) as u8)])
                .collect();
            for (addr, (x, y)) in self.ram_a.iter().zip(&self.ram_b).enumerate() {
                let mut diff = x ^ y;
                if diff == 0 {
                    continue;
                }
                for &(m, bits) in &masks {
                    if m as usize == addr {
                        diff &= !bits;
                    }
                }
                if diff != 0 {
                    d.memory.push(addr as u32);
                }
            }
        }
        d
    }

    /// Drops instructions one at a time, keeping the start state, while the back ends still
    /// differ; returns the shortest sequence found.
    pub fn shrink(&mut self, seq: &Sequence, a: &mut dyn Backend, b: &mut dyn Backend) -> Sequence {
        let mut best = seq.clone();
        loop {
            let before = best.insns.len();
            let mut k = 0;
            while k < best.insns.len() {
                let cand = best.without(k);
                if cand.is_valid() && matches!(self.check(&cand, a, b), Verdict::Differ(_)) {
                    best = cand;
                } else {
                    k += 1;
                }
            }
            if best.insns.len() == before {
                return best;
            }
        }
    }

    /// Shrinks a mismatch of case `index` (current) and describes the reproducer: seed and
    /// index, bytes, disassembly, start state and both end states with the differences marked.
    pub fn reproducer(
        &mut self,
        index: u64,
        seq: &Sequence,
        first: &Diff,
        a: &mut dyn Backend,
        b: &mut dyn Backend,
    ) -> String {
        // The end states of the run that found it, before shrinking runs anything else.
        let original = report::describe(self, index, seq, seq.insns.len(), first, a, b);
        // The checks made here are not sequences of the run: keep them out of the counts.
        let ends = self.ends.clone();
        let small = self.shrink(seq, a, b);
        let text = match self.check(&small, a, b) {
            Verdict::Differ(d) => report::describe(self, index, &small, seq.insns.len(), &d, a, b),
            // A back end that does not repeat itself: the run as it was found.
            other => format!(
                "{original}  (run again it gave {other:?}: a back end does not repeat itself)\n"
            ),
        };
        self.ends = ends;
        text
    }
}

#[cfg(test)]
mod tests {
    use iced_x86::{Decoder, DecoderOptions};

    #[test]
    fn the_software_kvm_profile_leaves_out_its_known_deviations() {
        let refused = |bytes: &[u8]| {
            let i = Decoder::new(16, bytes, DecoderOptions::NONE).decode();
            software_kvm_refuses(&i)
        };
        for bad in [
            &[0xCD, 0x80][..],   // int 0x80
            &[0x66, 0xCD, 0x21], // o32 int 0x21
            &[0x66, 0x5C],       // pop esp
            &[0x66, 0xF7, 0xD4], // not esp
            &[0xD4, 0x0A],       // aam
            &[0x9D],             // popf
            &[0xF2, 0xAF],       // repne scasw
        ] {
            assert!(refused(bad), "{bad:02x?} should be left out");
        }
        for good in [
            &[0xCD, 0x21][..],   // int 0x21
            &[0xCC],             // int3
            &[0x05, 0x01, 0x00], // add ax, 1
            &[0x66, 0x54],       // push esp
            &[0xAF],             // scasw
            &[0x27],             // daa
        ] {
            assert!(!refused(good), "{good:02x?} should stay");
        }
    }

    use super::*;
    use crate::cpu::flags;

    /// A back end that runs the interpreter and then flips some EFLAGS bits (in the register
    /// and, when it stopped in a handler, in the pushed FLAGS image).
    struct Flipper {
        inner: InterpBackend,
        bits: u32,
    }

    impl Backend for Flipper {
        fn name(&self) -> &str {
            "flipper"
        }
        fn run(&mut self, ram: &mut [u8], cpu: &mut Cpu) -> Result<(), String> {
            self.inner.run(ram, cpu)?;
            let f = cpu.eflags() ^ self.bits;
            cpu.flags.set(f);
            for [lo, hi] in Mode::Real16.sandbox().unwrap().frame_flags(cpu) {
                ram[lo as usize] ^= self.bits as u8;
                ram[hi as usize] ^= (self.bits >> 8) as u8;
            }
            Ok(())
        }
    }

    fn backends(bits: u32) -> (InterpBackend, Flipper) {
        (
            InterpBackend::new("interp", CpuModel::I486, true),
            Flipper {
                inner: InterpBackend::new("interp-nocache", CpuModel::I486, false),
                bits,
            },
        )
    }

    fn seq_of(codes: &[&[u8]]) -> Sequence {
        Sequence {
            insns: codes
                .iter()
                .map(|b| gen::examine(b, CpuModel::I486, 16).unwrap())
                .collect(),
        }
    }

    #[test]
    fn the_two_interpreter_paths_agree() {
        let mut h = Harness::new(Mode::Real16, CpuModel::I486, 8, 11).unwrap();
        let mut a = InterpBackend::new("interp", CpuModel::I486, true);
        let mut b = InterpBackend::new("interp-nocache", CpuModel::I486, false);
        for i in 0..150 {
            let seq = h.case(i);
            if let Verdict::Differ(d) = h.check(&seq, &mut a, &mut b) {
                panic!("{}", h.reproducer(i, &seq, &d, &mut a, &mut b));
            }
        }
        let handled: u64 = h.ends.vectors.iter().sum();
        assert!(h.ends.at_hlt > 10 && handled > 10, "{:?}", h.ends.at_hlt);
    }

    #[test]
    fn a_broken_carry_flag_is_found_and_shrunk() {
        let mut h = Harness::new(Mode::Real16, CpuModel::I486, 8, 4).unwrap();
        let (mut a, mut b) = backends(flags::CF);
        let mut found = 0;
        for i in 0..40 {
            let seq = h.case(i);
            if let Verdict::Differ(d) = h.check(&seq, &mut a, &mut b) {
                found += 1;
                assert!(d.fields.contains(&Field::Eflags) || !d.memory.is_empty());
                let small = h.shrink(&seq, &mut a, &mut b);
                assert!(small.insns.len() <= 1, "{:?}", small);
                if found == 1 {
                    h.check(&seq, &mut a, &mut b);
                    let text = h.reproducer(i, &seq, &d, &mut a, &mut b);
                    assert!(text.contains("EFLAGS"), "{text}");
                    assert!(text.contains(&format!("sequence {i}")), "{text}");
                }
            }
        }
        // CF is left undefined by few instructions; most sequences must report it.
        assert!(found > 30, "only {found} of 40 mismatches found");
    }

    #[test]
    fn undefined_flags_are_not_reported() {
        let mut h = Harness::new(Mode::Real16, CpuModel::I486, 8, 4).unwrap();
        let undefined = flags::SF | flags::ZF | flags::AF | flags::PF;
        let (mut a, mut b) = backends(undefined);
        for i in 0..20 {
            h.case(i);
            // mul bx: SF, ZF, AF, PF undefined.
            let mul = seq_of(&[&[0xF7, 0xE3]]);
            assert_eq!(h.check(&mul, &mut a, &mut b), Verdict::Same);
            // mul bx, then int 3: the pushed FLAGS image holds them too.
            let trap = seq_of(&[&[0xF7, 0xE3], &[0xCC]]);
            assert_eq!(h.check(&trap, &mut a, &mut b), Verdict::Same);
            assert_eq!(h.sandbox.handler_vector(&h.cpu_a), Some(3));
            // add ax, bx defines them all.
            let add = seq_of(&[&[0x01, 0xD8]]);
            assert!(matches!(
                h.check(&add, &mut a, &mut b),
                Verdict::Differ(d) if d.eflags == undefined
            ));
        }
        // A defined flag in the frame: CF after MUL is defined, so flipping it is reported,
        // in EFLAGS and in the FLAGS image on the stack.
        let (mut a, mut b) = backends(flags::CF);
        h.case(0);
        let trap = seq_of(&[&[0xF7, 0xE3], &[0xCC]]);
        match h.check(&trap, &mut a, &mut b) {
            Verdict::Differ(d) => {
                assert_eq!(d.eflags, flags::CF);
                assert_eq!(d.memory.len(), 1, "{d:?}");
            }
            v => panic!("{v:?}"),
        }
    }
}
