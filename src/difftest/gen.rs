//! Random but valid instruction sequences, drawn from the interpreter's own opcode table.
//!
//! A candidate instruction is a random table row that exists on the model, with random
//! prefixes (operand and address size, segment overrides, REP/REPNE mostly on string
//! instructions, rarely LOCK) and random ModRM, SIB, displacement and immediate bytes. It is
//! kept only when iced-x86 decodes it in the same mode to the same length as our decoder, needs
//! no CPUID feature beyond the model (8086 to 486: no FPU, CMOV, MMX, ...), and belongs to no
//! refused class (see [`refusal`]): nothing that leaves the sandbox or depends on the host.
//!
//! Relative branches (Jcc, JMP, CALL, LOOP, JCXZ) only go forward, to the start of a later
//! instruction of the same sequence or to its final `HLT`: each one names its target by index,
//! and [`Sequence::code`] fills in the displacement once the layout is known.
//!
//! Undefined flags must not leak into compared state, so the sequence is checked as a data
//! flow: an instruction that reads a flag some earlier instruction may have left undefined
//! (a Jcc after MUL, PUSHF after a shift, ADC after BT, ...) is dropped.

use crate::cpu::decode::{self, table};
use crate::cpu::{flags, CpuModel};
use iced_x86::{
    CpuidFeature, Decoder, DecoderOptions, FlowControl, Instruction, Mnemonic, OpKind, Register,
    RflagsBits,
};

use super::rng::Rng;
use super::sandbox::{Mode, HLT};
use super::templates;

/// Longest instruction (bytes).
const MAX_INSN: usize = 15;

/// How an instruction uses the arithmetic flags, in EFLAGS bit positions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlagUse {
    /// Flags read.
    pub reads: u32,
    /// Flags the manuals leave undefined after it.
    pub undefined: u32,
    /// Flags it always gives a defined value (a count of zero, which changes no flag, rules
    /// shifts by CL and REP CMPS/SCAS out).
    pub defines: u32,
}

/// A forward relative branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Branch {
    /// Index of the target instruction; the sequence's length means the final `HLT`.
    pub target: usize,
    /// Bytes of the displacement (the last bytes of the instruction): 1, 2 or 4.
    pub disp_size: u8,
}

/// One instruction of a sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenInsn {
    /// The encoding (a branch's displacement is filled in by [`Sequence::code`]).
    pub bytes: Vec<u8>,
    /// Set for relative branches.
    pub branch: Option<Branch>,
    /// Use of the flags.
    pub flags: FlagUse,
    /// A privileged instruction (CPL 0 only): the sequence then starts at CPL 3, where it
    /// raises #GP instead of changing the machine.
    pub privileged: bool,
}

/// A sequence of instructions; its code ends with a `HLT`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sequence {
    /// The instructions, in layout order.
    pub insns: Vec<GenInsn>,
}

impl Sequence {
    /// Offsets of every instruction from the start of the code, then that of the final `HLT`.
    pub fn offsets(&self) -> Vec<u32> {
        let mut at = 0u32;
        let mut v = Vec::with_capacity(self.insns.len() + 1);
        for i in &self.insns {
            v.push(at);
            at += i.bytes.len() as u32;
        }
        v.push(at);
        v
    }

    /// The displacement of branch `k` to its target, once laid out.
    fn displacement(&self, offsets: &[u32], k: usize) -> Option<i64> {
        let b = self.insns[k].branch?;
        Some(offsets[b.target] as i64 - offsets[k + 1] as i64)
    }

    /// Whether every displacement fits its field.
    pub fn fits(&self) -> bool {
        let offsets = self.offsets();
        (0..self.insns.len()).all(|k| {
            match (self.insns[k].branch, self.displacement(&offsets, k)) {
                (Some(b), Some(d)) => fits(d, b.disp_size),
                _ => true,
            }
        })
    }

    /// Moves the target of each short branch that cannot reach it to the farthest
    /// instruction it can reach (the next one always can).
    pub fn fit_branches(&mut self) {
        let offsets = self.offsets();
        for k in 0..self.insns.len() {
            if let Some(b) = self.insns[k].branch {
                let mut t = b.target;
                while t > k + 1 && !fits(offsets[t] as i64 - offsets[k + 1] as i64, b.disp_size) {
                    t -= 1;
                }
                self.insns[k].branch = Some(Branch { target: t, ..b });
            }
        }
    }

    /// The code: the instructions, with their branch displacements, and the final `HLT`.
    pub fn code(&self) -> Vec<u8> {
        let offsets = self.offsets();
        let mut code = Vec::with_capacity(offsets[self.insns.len()] as usize + 1);
        for (k, i) in self.insns.iter().enumerate() {
            code.extend_from_slice(&i.bytes);
            if let (Some(b), Some(d)) = (i.branch, self.displacement(&offsets, k)) {
                assert!(fits(d, b.disp_size), "branch {k} cannot reach its target");
                let n = b.disp_size as usize;
                let at = code.len() - n;
                code[at..].copy_from_slice(&(d as u32).to_le_bytes()[..n]);
            }
        }
        code.push(HLT);
        code
    }

    /// Every flag some instruction of the sequence may leave undefined.
    ///
    /// The comparison ignores exactly these bits of EFLAGS (and of a FLAGS image pushed by an
    /// interrupt or exception). The union over the whole sequence, rather than only over the
    /// instructions that ran and were not followed by one that defined the flag again, masks
    /// a little more than needed, never a flag no instruction leaves undefined.
    pub fn undefined_flags(&self) -> u32 {
        self.insns.iter().fold(0, |m, i| m | i.flags.undefined)
    }

    /// The first instruction that may read a flag left undefined on some path to it.
    ///
    /// Paths follow branches (forward only) and fall through everywhere, which may add paths
    /// that never run (after a JMP or INT) — so this errs on the side of refusing.
    pub fn reads_undefined(&self) -> Option<usize> {
        let n = self.insns.len();
        let mut incoming = vec![0u32; n + 1];
        for (k, i) in self.insns.iter().enumerate() {
            let before = incoming[k];
            if i.flags.reads & before != 0 {
                return Some(k);
            }
            let after = (before & !i.flags.defines) | i.flags.undefined;
            incoming[k + 1] |= after;
            if let Some(b) = i.branch {
                incoming[b.target] |= after;
            }
        }
        None
    }

    /// Whether some instruction is privileged (see [`GenInsn::privileged`]).
    pub fn privileged(&self) -> bool {
        self.insns.iter().any(|i| i.privileged)
    }

    /// Whether the sequence can run as generated: displacements fit, no flag read is undefined.
    pub fn is_valid(&self) -> bool {
        self.fits() && self.reads_undefined().is_none()
    }

    /// The sequence without instruction `k`; branches to it go to the instruction after it.
    pub fn without(&self, k: usize) -> Sequence {
        let mut insns = self.insns.clone();
        insns.remove(k);
        for i in &mut insns {
            if let Some(b) = &mut i.branch {
                if b.target > k {
                    b.target -= 1;
                }
            }
        }
        Sequence { insns }
    }
}

fn fits(d: i64, size: u8) -> bool {
    match size {
        1 => (0..=0x7F).contains(&d),
        2 => (0..=0x7FFF).contains(&d),
        _ => d >= 0,
    }
}

/// The instruction generator of one model and decoding mode.
#[derive(Clone, Debug)]
pub struct Generator {
    model: CpuModel,
    bitness: u32,
    /// Protected mode: system instructions and the x87, in part from templates
    /// ([`Generator::template`]).
    protected: bool,
    max_len: usize,
    /// Opcode table rows that exist on the model.
    rows: Vec<u16>,
    /// Instructions left out on top of [`refusal`]'s (for a reference known to get them
    /// wrong).
    pub refuse: Option<fn(&Instruction) -> bool>,
}

impl Generator {
    /// A generator of sequences of 1 to `max_len` instructions for `model`, decoded with the
    /// default operand size of `bitness` (16 or 32).
    pub fn new(model: CpuModel, bitness: u32, max_len: usize) -> Generator {
        let rows = (0..table::OPS.len() as u16)
            .filter(|&op| {
                let row = &table::OPS[op as usize];
                let escape_ok = op < 0x100 || model >= CpuModel::I286;
                escape_ok
                    && row.since <= model
                    && !matches!(
                        row.form,
                        table::Form::Invalid | table::Form::Prefix | table::Form::Escape
                    )
            })
            .collect();
        Generator {
            model,
            bitness,
            protected: bitness == 32,
            max_len: max_len.max(1),
            rows,
            refuse: None,
        }
    }

    /// The generator of the sandbox of `mode`.
    pub fn for_mode(model: CpuModel, mode: Mode, max_len: usize) -> Generator {
        let bitness = match mode {
            Mode::Real16 => 16,
            Mode::Prot32 => 32,
        };
        Generator::new(model, bitness, max_len)
    }

    /// A random sequence.
    pub fn sequence(&self, rng: &mut Rng) -> Sequence {
        let n = rng.range(1, self.max_len as u64) as usize;
        let mut insns = Vec::with_capacity(n);
        while insns.len() < n {
            if self.protected && rng.chance(2, 5) {
                let t = self.template(rng);
                insns.extend(t.into_iter().take(n - insns.len()));
                continue;
            }
            let k = insns.len();
            let mut i = self.instruction(rng);
            if let Some(b) = &mut i.branch {
                b.target = rng.range(k as u64 + 1, n as u64) as usize;
            }
            insns.push(i);
        }
        let mut seq = Sequence { insns };
        seq.fit_branches();
        // Dropping only shortens branches, so they keep fitting; the first instruction reads
        // no undefined flag, so at least one stays.
        while let Some(k) = seq.reads_undefined() {
            seq = seq.without(k);
        }
        seq
    }

    /// One random valid instruction.
    pub fn instruction(&self, rng: &mut Rng) -> GenInsn {
        loop {
            if let Ok(i) = self.candidate(rng) {
                return i;
            }
        }
    }

    /// A random candidate, or why it was refused.
    pub fn candidate(&self, rng: &mut Rng) -> Result<GenInsn, String> {
        let op = rng.pick(&self.rows);
        let row = &table::OPS[op as usize];
        let mut bytes = self.prefixes(rng, row.flags & table::STRING != 0);
        if op >= 0x100 {
            bytes.push(0x0F);
        }
        bytes.push(op as u8);
        for _ in 0..MAX_INSN {
            bytes.push(rng.byte());
        }
        let insn = decode::decode(&bytes, self.model, self.bitness == 32)
            .map_err(|e| format!("our decoder: {e:?}"))?;
        bytes.truncate(insn.len as usize);
        let mut i = examine(&bytes, self.model, self.bitness)?;
        self.check_refuse(&bytes)?;
        if let Some(b) = i.branch {
            // The displacement is chosen at layout.
            let n = i.bytes.len();
            i.bytes[n - b.disp_size as usize..].fill(0);
        }
        Ok(i)
    }

    /// Whether the reference's [`Generator::refuse`] leaves `bytes` out.
    fn check_refuse(&self, bytes: &[u8]) -> Result<(), String> {
        if let Some(refuse) = self.refuse {
            let d = Decoder::new(self.bitness, bytes, DecoderOptions::NONE).decode();
            if refuse(&d) {
                return Err(format!("{:?} avoided for this reference", d.mnemonic()));
            }
        }
        Ok(())
    }

    /// A short run of instructions that gives protected mode's system instructions
    /// meaningful operands (see [`templates`]); redrawn until no instruction is refused.
    pub fn template(&self, rng: &mut Rng) -> Vec<GenInsn> {
        loop {
            let t = templates::draw(rng, self.model);
            if t.iter().all(|i| self.check_refuse(&i.bytes).is_ok()) {
                return t;
            }
        }
    }

    /// Random prefix bytes in random order.
    fn prefixes(&self, rng: &mut Rng, string: bool) -> Vec<u8> {
        let has32 = self.model.has_32bit();
        let mut p = Vec::new();
        if has32 && rng.chance(1, 4) {
            p.push(0x66);
        }
        if has32 && rng.chance(1, 6) {
            p.push(0x67);
        }
        if rng.chance(1, 5) {
            let segs: &[u8] = if has32 {
                &[0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65]
            } else {
                &[0x26, 0x2E, 0x36, 0x3E]
            };
            p.push(rng.pick(segs));
        }
        if rng.chance(if string { 25 } else { 1 }, 50) {
            p.push(rng.pick(&[0xF2, 0xF3]));
        }
        if rng.chance(1, 30) {
            p.push(0xF0);
        }
        rng.shuffle(&mut p);
        p
    }
}

/// Checks `bytes` as one instruction for `model` in `bitness`-bit code: iced-x86 must decode
/// all of it (and our decoder the same length), its CPUID features must exist on the model, and
/// it must not be refused (see [`refusal`]). Returns the instruction with its flag use; a
/// branch's target is 0 until the caller sets it.
pub fn examine(bytes: &[u8], model: CpuModel, bitness: u32) -> Result<GenInsn, String> {
    let ours =
        decode::decode(bytes, model, bitness == 32).map_err(|e| format!("our decoder: {e:?}"))?;
    let mut d = Decoder::new(bitness, bytes, DecoderOptions::NONE);
    let i = d.decode();
    if i.is_invalid() {
        return Err("invalid for iced-x86".into());
    }
    if i.len() != bytes.len() || ours.len as usize != bytes.len() {
        return Err(format!(
            "length: iced-x86 {}, ours {}, given {}",
            i.len(),
            ours.len,
            bytes.len()
        ));
    }
    let protected = bitness == 32;
    if let Some(f) = i
        .cpuid_features()
        .iter()
        .find(|&&f| !feature_on(f, model, protected))
    {
        return Err(format!("needs {f:?}"));
    }
    if let Some(why) = refusal(&i, protected) {
        return Err(why.into());
    }
    let branch = match table::OPS[ours.op as usize].form {
        table::Form::J8 => Some(1),
        table::Form::Jv => Some(if ours.o32() { 4 } else { 2 }),
        _ => None,
    }
    .map(|disp_size| Branch {
        target: 0,
        disp_size,
    });
    Ok(GenInsn {
        bytes: bytes.to_vec(),
        branch,
        flags: flag_use(&i),
        privileged: privileged(&i),
    })
}

/// `bytes` as one 32-bit instruction of a template: checked like [`examine`] (iced-x86 and
/// our decoder agree on its length, its features exist), but not refused — a template gives
/// far transfers and segment loads the operands that keep them inside the sandbox.
pub fn system(bytes: &[u8], model: CpuModel) -> Result<GenInsn, String> {
    let ours = decode::decode(bytes, model, true).map_err(|e| format!("our decoder: {e:?}"))?;
    let i = Decoder::new(32, bytes, DecoderOptions::NONE).decode();
    if i.is_invalid() || i.len() != bytes.len() || ours.len as usize != bytes.len() {
        return Err(format!(
            "template {bytes:02x?} does not decode as one instruction"
        ));
    }
    if let Some(f) = i
        .cpuid_features()
        .iter()
        .find(|&&f| !feature_on(f, model, true))
    {
        return Err(format!("needs {f:?}"));
    }
    Ok(GenInsn {
        bytes: bytes.to_vec(),
        branch: None,
        flags: flag_use(&i),
        privileged: privileged(&i),
    })
}

/// Whether `i` may run at CPL 0 only (the I/O instructions, CLI and STI depend on IOPL and
/// are left to it).
pub fn privileged(i: &Instruction) -> bool {
    use Mnemonic::*;
    let control_reg = (0..i.op_count()).any(|k| {
        i.op_kind(k) == OpKind::Register && (i.op_register(k).is_cr() || i.op_register(k).is_dr())
    });
    control_reg
        || matches!(
            i.mnemonic(),
            Lgdt | Lidt | Lldt | Ltr | Lmsw | Clts | Hlt | Invd | Wbinvd | Invlpg | Rdmsr | Wrmsr
        )
}

/// Whether a CPUID feature exists on `model`. The x87 (that of a 486DX: the 387's
/// instruction set) is used in protected mode only.
fn feature_on(f: CpuidFeature, model: CpuModel, protected: bool) -> bool {
    let since = match f {
        CpuidFeature::FPU | CpuidFeature::FPU387 if protected => CpuModel::I486,
        CpuidFeature::INTEL8086 | CpuidFeature::INTEL8086_ONLY => CpuModel::I8086,
        CpuidFeature::INTEL186 => CpuModel::I186,
        CpuidFeature::INTEL286 => CpuModel::I286,
        CpuidFeature::INTEL386 => CpuModel::I386,
        CpuidFeature::INTEL486 => CpuModel::I486,
        _ => return false,
    };
    since <= model
}

/// Why an instruction may not appear in a sequence, if it may not.
///
/// Refused: anything that leaves the sandbox or talks to the host (port I/O, `HLT` — only the
/// final one —, far and indirect jumps and calls, returns, writes to segment registers, system
/// instructions, `WAIT`), and the few encodings whose result the manuals leave
/// implementation-dependent, which a real CPU would answer differently from a 486: `BSWAP` of
/// a 16-bit register, `MOV r32, Sreg` (upper half), `PUSH Sreg` with a 32-bit operand (a 2- or
/// 4-byte store), 16-bit `SHLD`/`SHRD` by a count above 16 (by CL the count is unknown, so all
/// of them).
///
/// In protected mode (`protected`) the sandbox has its descriptor tables, and much of that is
/// allowed: segment register loads, port I/O (an open bus on both back ends), `WAIT`, `SMSW`
/// and the privileged instructions (see [`privileged`]: they raise #GP). Still refused: what
/// reads the host (`CPUID`, `RDTSC`), the test registers (a 486 has them, later CPUs do not),
/// CR4 (the other way round)
/// and far or indirect transfers with random operands (the templates give them real ones).
pub fn refusal(i: &Instruction, protected: bool) -> Option<&'static str> {
    use iced_x86::Code;
    use Mnemonic::*;
    if protected {
        return refusal_protected(i);
    }
    match i.mnemonic() {
        In | Out | Insb | Insw | Insd | Outsb | Outsw | Outsd => return Some("port I/O"),
        Hlt => return Some("HLT"),
        Lds | Les | Lss | Lfs | Lgs => return Some("segment register load"),
        Lgdt | Lidt | Sgdt | Sidt | Lmsw | Smsw | Clts | Loadall | Invd | Wbinvd | Invlpg
        | Cpuid | Rdtsc | Rdmsr | Wrmsr => return Some("system instruction"),
        Wait => return Some("WAIT"),
        _ => {}
    }
    let mut regs = (0..i.op_count())
        .filter(|&k| i.op_kind(k) == OpKind::Register)
        .map(|k| i.op_register(k));
    if regs.any(|r| r.is_cr() || r.is_dr() || r.is_tr()) {
        return Some("system instruction");
    }
    let writes_sreg = i.op_count() > 0
        && i.op0_kind() == OpKind::Register
        && i.op0_register().is_segment_register();
    if writes_sreg && matches!(i.mnemonic(), Mov | Pop) {
        return Some("segment register write");
    }
    match i.flow_control() {
        FlowControl::Next | FlowControl::Interrupt | FlowControl::Exception => {}
        FlowControl::ConditionalBranch => {}
        FlowControl::UnconditionalBranch if i.is_jmp_short_or_near() => {}
        FlowControl::Call if i.is_call_near() => {}
        FlowControl::Return => return Some("return"),
        FlowControl::IndirectBranch | FlowControl::IndirectCall => {
            return Some("indirect or far branch")
        }
        _ => return Some("far or unknown control transfer"),
    }
    match i.code() {
        Code::Bswap_r16 => return Some("BSWAP r16 is undefined"),
        Code::Mov_r32m16_Sreg if i.op0_kind() == OpKind::Register => {
            return Some("MOV r32, Sreg leaves the upper half implementation-dependent")
        }
        Code::Pushd_ES
        | Code::Pushd_CS
        | Code::Pushd_SS
        | Code::Pushd_DS
        | Code::Pushd_FS
        | Code::Pushd_GS => {
            return Some("PUSH Sreg with a 32-bit operand is implementation-dependent")
        }
        Code::Shld_rm16_r16_CL | Code::Shrd_rm16_r16_CL => {
            return Some("16-bit SHLD/SHRD by CL may shift by more than 16 (undefined)")
        }
        Code::Shld_rm16_r16_imm8 | Code::Shrd_rm16_r16_imm8 if i.immediate8() & 31 > 16 => {
            return Some("16-bit SHLD/SHRD by more than 16 is undefined")
        }
        _ => {}
    }
    None
}

/// [`refusal`] in protected mode.
fn refusal_protected(i: &Instruction) -> Option<&'static str> {
    use iced_x86::Code;
    use Mnemonic::*;
    match i.mnemonic() {
        Cpuid | Rdtsc | Rdpmc | Loadall | Rsm | Ud0 | Ud1 | Ud2 => {
            return Some("answers from the host")
        }
        Feni | Fdisi | Fsetpm | Frstpm => return Some("8087/287 control"),
        _ => {}
    }
    let tr =
        (0..i.op_count()).any(|k| i.op_kind(k) == OpKind::Register && i.op_register(k).is_tr());
    if tr {
        return Some("test registers (486 only)");
    }
    let cr4 = (0..i.op_count())
        .any(|k| i.op_kind(k) == OpKind::Register && i.op_register(k) == Register::CR4);
    if cr4 {
        return Some("CR4 (absent on a 486: #UD, where a newer CPU raises #GP at CPL 3)");
    }
    match i.flow_control() {
        FlowControl::Next | FlowControl::Interrupt | FlowControl::Exception => {}
        FlowControl::ConditionalBranch => {}
        FlowControl::UnconditionalBranch if i.is_jmp_short_or_near() => {}
        FlowControl::Call if i.is_call_near() => {}
        _ => return Some("far, indirect or return transfer with a random target"),
    }
    match i.code() {
        Code::Bswap_r16 => Some("BSWAP r16 is undefined"),
        Code::Mov_r32m16_Sreg if i.op0_kind() == OpKind::Register => {
            Some("MOV r32, Sreg leaves the upper half implementation-dependent")
        }
        Code::Pushd_ES
        | Code::Pushd_CS
        | Code::Pushd_SS
        | Code::Pushd_DS
        | Code::Pushd_FS
        | Code::Pushd_GS => Some("PUSH Sreg with a 32-bit operand is implementation-dependent"),
        Code::Shld_rm16_r16_CL | Code::Shrd_rm16_r16_CL => {
            Some("16-bit SHLD/SHRD by CL may shift by more than 16 (undefined)")
        }
        Code::Shld_rm16_r16_imm8 | Code::Shrd_rm16_r16_imm8 if i.immediate8() & 31 > 16 => {
            Some("16-bit SHLD/SHRD by more than 16 is undefined")
        }
        _ => None,
    }
}

/// EFLAGS bits of iced-x86's `RflagsBits`.
fn eflags_of(r: u32) -> u32 {
    const MAP: [(u32, u32); 9] = [
        (RflagsBits::OF, flags::OF),
        (RflagsBits::SF, flags::SF),
        (RflagsBits::ZF, flags::ZF),
        (RflagsBits::AF, flags::AF),
        (RflagsBits::CF, flags::CF),
        (RflagsBits::PF, flags::PF),
        (RflagsBits::DF, flags::DF),
        (RflagsBits::IF, flags::IF),
        (RflagsBits::AC, flags::AC),
    ];
    MAP.iter()
        .filter(|(r_bit, _)| r & r_bit != 0)
        .fold(0, |m, (_, e)| m | e)
}

fn flag_use(i: &Instruction) -> FlagUse {
    use Mnemonic::*;
    let undefined = eflags_of(i.rflags_undefined()) | shift_count_undefined(i);
    let mut defines =
        eflags_of(i.rflags_written() | i.rflags_cleared() | i.rflags_set()) & !undefined;
    let by_cl = (0..i.op_count())
        .any(|k| i.op_kind(k) == OpKind::Register && i.op_register(k) == Register::CL);
    let shift = matches!(
        i.mnemonic(),
        Rol | Ror | Rcl | Rcr | Shl | Sal | Shr | Sar | Shld | Shrd
    );
    let repeated_compare = (i.has_rep_prefix() || i.has_repne_prefix())
        && matches!(i.mnemonic(), Cmpsb | Cmpsw | Cmpsd | Scasb | Scasw | Scasd);
    if shift && by_cl || repeated_compare {
        defines = 0;
    }
    FlagUse {
        reads: eflags_of(i.rflags_read()),
        undefined,
        defines,
    }
}

/// Flags left undefined by any instruction decoded in a row from `code` (`bitness`-bit): for
/// code a sequence rewrote while it ran, whose instructions are not the ones laid out.
pub fn undefined_in(code: &[u8], bitness: u32) -> u32 {
    let mut d = Decoder::new(bitness, code, DecoderOptions::NONE);
    let mut m = 0;
    while d.can_decode() {
        let i = d.decode();
        m |= eflags_of(i.rflags_undefined()) | shift_count_undefined(&i);
    }
    m
}

/// Flags the manuals leave undefined for a shift or rotate because of its count, beyond
/// iced-x86's per-form table: OF after any count but 1 (rotates and shifts alike; by CL the
/// count is unknown), and CF after SHL/SHR/SAL/SAR by at least the operand's width.
fn shift_count_undefined(i: &Instruction) -> u32 {
    use Mnemonic::*;
    let rotate = matches!(i.mnemonic(), Rol | Ror | Rcl | Rcr);
    let shift = matches!(i.mnemonic(), Shl | Sal | Shr | Sar);
    if !rotate && !shift {
        return 0;
    }
    let count = match i.op1_kind() {
        OpKind::Immediate8 => Some(i.immediate8() as u32 & 0x1F),
        OpKind::Immediate8_2nd => Some(i.immediate8_2nd() as u32 & 0x1F),
        _ if i.op_count() == 1 => Some(1),
        _ => None, // by CL
    };
    let width = i.memory_size().size().max(match i.op0_kind() {
        OpKind::Register => i.op0_register().size(),
        _ => 0,
    }) as u32
        * 8;
    match count {
        Some(1) => 0,
        Some(0) => 0,
        Some(n) if shift && n >= width => flags::OF | flags::CF,
        Some(_) => flags::OF,
        None if shift => flags::OF | flags::CF,
        None => flags::OF,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_x86::{Formatter, NasmFormatter};

    fn nasm(bytes: &[u8], ip: u64) -> (Instruction, String) {
        let mut d = Decoder::with_ip(16, bytes, ip, DecoderOptions::NONE);
        let i = d.decode();
        let mut s = String::new();
        NasmFormatter::new().format(&i, &mut s);
        (i, s)
    }

    #[test]
    fn shift_counts_other_than_one_leave_of_undefined() {
        let undefined = |bytes: &[u8]| {
            let i = Decoder::new(16, bytes, DecoderOptions::NONE).decode();
            shift_count_undefined(&i)
        };
        assert_eq!(undefined(&[0xD1, 0xD8]), 0); // rcr ax, 1
        assert_eq!(undefined(&[0xC1, 0xD8, 0x11]), flags::OF); // rcr ax, 17
        assert_eq!(undefined(&[0xC1, 0xE0, 0x10]), flags::OF | flags::CF); // shl ax, 16
        assert_eq!(undefined(&[0xC1, 0xE0, 0x20]), 0); // shl ax, 32: count 0
        assert_eq!(undefined(&[0xD3, 0xE8]), flags::OF | flags::CF); // shr ax, cl
        assert_eq!(undefined(&[0x01, 0xC0]), 0); // add ax, ax
    }

    #[test]
    fn same_seed_same_sequences() {
        let g = Generator::new(CpuModel::I486, 16, 8);
        for k in 0..50 {
            let a = g.sequence(&mut Rng::for_sequence(9, k));
            let b = g.sequence(&mut Rng::for_sequence(9, k));
            assert_eq!(a, b);
            assert_eq!(a.code(), b.code());
        }
        let a = g.sequence(&mut Rng::for_sequence(9, 0)).code();
        let b = g.sequence(&mut Rng::for_sequence(10, 0)).code();
        assert_ne!(a, b);
    }

    /// Every generated instruction decodes with iced-x86, to its own length, and is none of
    /// the refused kinds (checked here by name, independently of [`refusal`]).
    #[test]
    fn generated_instructions_are_allowed() {
        use Mnemonic::*;
        const REFUSED: &[Mnemonic] = &[
            In, Out, Insb, Insw, Insd, Outsb, Outsw, Outsd, Hlt, Lds, Les, Lss, Lfs, Lgs, Lgdt,
            Lidt, Sgdt, Sidt, Lmsw, Smsw, Clts, Invd, Wbinvd, Invlpg, Cpuid, Rdtsc, Rdmsr, Wrmsr,
            Wait, Ret, Retf, Iret, Iretd,
        ];
        for model in [CpuModel::I386, CpuModel::I486] {
            let g = Generator::new(model, 16, 8);
            let mut seen = std::collections::HashSet::new();
            for k in 0..400 {
                let seq = g.sequence(&mut Rng::for_sequence(1, k));
                assert!(!seq.insns.is_empty() && seq.is_valid());
                for gi in &seq.insns {
                    let (i, text) = nasm(&gi.bytes, 0);
                    assert!(!i.is_invalid(), "{:02x?}", gi.bytes);
                    assert_eq!(i.len(), gi.bytes.len(), "{text}");
                    assert!(!REFUSED.contains(&i.mnemonic()), "{text}");
                    assert!(
                        !(i.is_call_far()
                            || i.is_jmp_far()
                            || i.is_call_far_indirect()
                            || i.is_jmp_far_indirect()
                            || i.is_call_near_indirect()
                            || i.is_jmp_near_indirect()),
                        "{text}"
                    );
                    for k in 0..i.op_count() {
                        if i.op_kind(k) == OpKind::Register {
                            let r = i.op_register(k);
                            assert!(!(r.is_cr() || r.is_dr() || r.is_tr()), "{text}");
                            let write = k == 0 && matches!(i.mnemonic(), Mov | Pop);
                            assert!(!(write && r.is_segment_register()), "{text}");
                        }
                    }
                    for f in i.cpuid_features() {
                        assert!(feature_on(*f, model, false), "{text} needs {f:?}");
                    }
                    if model == CpuModel::I386 {
                        assert!(![Bswap, Xadd, Cmpxchg].contains(&i.mnemonic()), "{text}");
                    }
                    seen.insert(i.mnemonic());
                }
            }
            assert!(seen.len() > 100, "only {} different mnemonics", seen.len());
        }
    }

    #[test]
    fn branches_land_on_boundaries() {
        let g = Generator::new(CpuModel::I486, 16, 12);
        let mut branches = 0;
        for k in 0..600 {
            let seq = g.sequence(&mut Rng::for_sequence(3, k));
            let code = seq.code();
            let offsets = seq.offsets();
            for (n, gi) in seq.insns.iter().enumerate() {
                let Some(b) = gi.branch else { continue };
                branches += 1;
                let (i, text) = nasm(&code[offsets[n] as usize..], offsets[n] as u64);
                let target = i.near_branch_target();
                assert!(b.target > n, "{text}: backward");
                assert_eq!(target, offsets[b.target] as u64, "{text}");
                assert!(offsets.contains(&(target as u32)), "{text}: not a boundary");
            }
            assert_eq!(*code.last().unwrap(), HLT);
        }
        assert!(branches > 200, "only {branches} branches");
    }

    #[test]
    fn short_branches_are_pulled_in() {
        let jz = examine(&[0x74, 0x00], CpuModel::I486, 16).unwrap();
        let big = examine(
            &[0x66, 0x67, 0x81, 0x84, 0x88, 1, 2, 3, 4, 5, 6, 7, 8],
            CpuModel::I486,
            16,
        )
        .unwrap();
        let mut insns = vec![jz.clone()];
        insns.extend(std::iter::repeat_n(big, 12));
        insns[0].branch = Some(Branch {
            target: 12,
            disp_size: 1,
        });
        let mut seq = Sequence { insns };
        assert!(!seq.fits());
        seq.fit_branches();
        assert!(seq.fits());
        assert_eq!(seq.insns[0].branch.unwrap().target, 10);
        let seq = seq.without(3);
        assert_eq!(seq.insns[0].branch.unwrap().target, 9);
    }

    #[test]
    fn undefined_flags_are_not_read() {
        let mul = examine(&[0xF7, 0xE3], CpuModel::I486, 16).unwrap(); // mul bx
        let jz = examine(&[0x74, 0x00], CpuModel::I486, 16).unwrap();
        let jc = examine(&[0x72, 0x00], CpuModel::I486, 16).unwrap();
        let add = examine(&[0x01, 0xC0], CpuModel::I486, 16).unwrap();
        let shl_cl = examine(&[0xD3, 0xE0], CpuModel::I486, 16).unwrap();
        let seq = |v: &[&GenInsn]| Sequence {
            insns: v.iter().map(|&i| i.clone()).collect(),
        };
        assert_eq!(seq(&[&mul, &jz]).reads_undefined(), Some(1));
        assert_eq!(seq(&[&mul, &jc]).reads_undefined(), None, "CF is defined");
        assert_eq!(seq(&[&mul, &add, &jz]).reads_undefined(), None);
        assert_eq!(
            seq(&[&mul, &shl_cl, &jz]).reads_undefined(),
            Some(2),
            "a shift by CL = 0 keeps MUL's ZF"
        );
        // A branch over the ADD brings MUL's flags to the Jz.
        let mut s = seq(&[&mul, &jc, &add, &jz]);
        s.insns[1].branch = Some(Branch {
            target: 3,
            disp_size: 1,
        });
        assert_eq!(s.reads_undefined(), Some(3));
        let undefined = seq(&[&mul]).undefined_flags();
        assert_eq!(undefined, flags::SF | flags::ZF | flags::AF | flags::PF);
    }

    #[test]
    fn refusals() {
        let refused = |b: &[u8]| examine(b, CpuModel::I486, 16).is_err();
        assert!(refused(&[0xE4, 0x60])); // in al, 0x60
        assert!(refused(&[0x8E, 0xD8])); // mov ds, ax
        assert!(refused(&[0x1F])); // pop ds
        assert!(refused(&[0xC3])); // ret
        assert!(refused(&[0xFF, 0xE0])); // jmp ax
        assert!(refused(&[0xEA, 0, 0, 0, 0])); // jmp far
        assert!(refused(&[0x0F, 0x22, 0xC0])); // mov cr0, eax
        assert!(refused(&[0x0F, 0xA2])); // cpuid
        assert!(refused(&[0xD8, 0xC0])); // fadd
        assert!(refused(&[0x0F, 0xC8])); // bswap ax
        assert!(refused(&[0x66, 0x8C, 0xD8])); // mov eax, ds
        assert!(!refused(&[0x8C, 0xD8])); // mov ax, ds
        assert!(!refused(&[0xCD, 0x21])); // int 0x21
        assert!(!refused(&[0x62, 0x07])); // bound ax, [bx]
        assert!(!refused(&[0xC8, 4, 0, 1])); // enter 4, 1
        assert!(refused(&[0x0F, 0xC8]) && !refused(&[0x66, 0x0F, 0xC8]));
        assert!(examine(&[0x0F, 0xC1, 0xC0], CpuModel::I386, 16).is_err()); // xadd on a 386
    }
}
