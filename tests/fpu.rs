//! The x87 FPU and MMX on the whole machine: small real-mode programs assembled with
//! iced-x86, results checked in memory.

use glassbox::cpu::CpuModel;
use glassbox::machine::{MachineConfig, Pc, RunLimits, Stop};
use glassbox_devices::debugport::DebugSink;
use iced_x86::code_asm::*;
use iced_x86::BlockEncoderOptions;

type Asm = CodeAssembler;

/// Assembles 16-bit code at `ip`; `labels` get their addresses back.
fn asm16(
    ip: u64,
    f: impl FnOnce(&mut Asm, &mut Vec<CodeLabel>) -> Result<(), IcedError>,
) -> (Vec<u8>, Vec<u64>) {
    let mut a = CodeAssembler::new(16).expect("16-bit assembler");
    let mut labels = Vec::new();
    f(&mut a, &mut labels).expect("assemble");
    let r = a
        .assemble_options(ip, BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS)
        .expect("encode");
    let ips = labels
        .iter()
        .map(|l| r.label_ip(l).expect("label"))
        .collect();
    (r.inner.code_buffer, ips)
}

/// Segment registers zero, stack at 0x7000.
fn prologue(a: &mut Asm) -> Result<(), IcedError> {
    a.xor(ax, ax)?;
    a.mov(ds, ax)?;
    a.mov(es, ax)?;
    a.mov(ss, ax)?;
    a.mov(sp, 0x7000)
}

fn exit(a: &mut Asm) -> Result<(), IcedError> {
    a.mov(al, 0)?;
    a.out(0xF4, al)
}

fn machine(cpu: CpuModel) -> Pc {
    Pc::new(MachineConfig {
        cpu,
        memory: 16 << 20,
        clock_hz: None,
        debugcon: DebugSink::Buffer,
        ..Default::default()
    })
    .expect("machine")
}

/// Runs `main` at 0000:7C00 with `data` blocks loaded at their addresses.
fn run(cpu: CpuModel, main: &[u8], data: &[(u32, Vec<u8>)]) -> Pc {
    let mut pc = machine(cpu);
    pc.load_image(0x7C00, main).expect("load");
    for (at, bytes) in data {
        pc.load_image(*at, bytes).expect("load data");
    }
    pc.set_entry(0, 0x7C00);
    let stop = pc.run(RunLimits {
        max_instructions: Some(1_000_000),
    });
    assert_eq!(stop, Stop::Exit(0));
    pc
}

fn mem(pc: &Pc, at: usize, len: usize) -> Vec<u8> {
    pc.board.mem.ram()[at..at + len].to_vec()
}

fn u16_at(pc: &Pc, at: usize) -> u16 {
    u16::from_le_bytes(mem(pc, at, 2).try_into().unwrap())
}

fn u32_at(pc: &Pc, at: usize) -> u32 {
    u32::from_le_bytes(mem(pc, at, 4).try_into().unwrap())
}

fn f64_at(pc: &Pc, at: usize) -> f64 {
    f64::from_le_bytes(mem(pc, at, 8).try_into().unwrap())
}

/// An interrupt vector pointing at 0000:`off`.
fn vector(n: u32, off: u16) -> (u32, Vec<u8>) {
    (n * 4, [off.to_le_bytes(), [0, 0]].concat())
}

const PI_BYTES: [u8; 10] = [0x35, 0xC2, 0x68, 0x21, 0xA2, 0xDA, 0x0F, 0xC9, 0x00, 0x40];
const ONE_BYTES: [u8; 10] = [0, 0, 0, 0, 0, 0, 0, 0x80, 0xFF, 0x3F];

#[test]
fn loads_arithmetic_and_stores() {
    let (code, _) = asm16(0x7C00, |a, _| {
        prologue(a)?;
        a.fninit()?;
        a.fld(dword_ptr(0x600))?; // 1.5
        a.fadd(qword_ptr(0x608))?; // + 2.25 = 3.75
        a.fimul(word_ptr(0x610))?; // × −7 = −26.25
        a.fst(qword_ptr(0x620))?;
        a.fistp(dword_ptr(0x628))?; // −26 (nearest), PE
        a.fldpi()?;
        a.fstp(tword_ptr(0x630))?;
        a.fild(word_ptr(0x610))?;
        a.fbstp(tword_ptr(0x640))?;
        a.fld1()?;
        a.fchs()?;
        a.fsqrt()?; // invalid: the indefinite
        a.fstp(qword_ptr(0x650))?;
        a.fnstsw(word_ptr(0x660))?;
        exit(a)
    });
    let data = [
        1.5f32.to_le_bytes().to_vec(),
        vec![0; 4],
        2.25f64.to_le_bytes().to_vec(),
        (-7i16).to_le_bytes().to_vec(),
    ]
    .concat();
    let pc = run(CpuModel::I486, &code, &[(0x600, data)]);
    assert_eq!(f64_at(&pc, 0x620), -26.25);
    assert_eq!(u32_at(&pc, 0x628) as i32, -26);
    assert_eq!(mem(&pc, 0x630, 10), PI_BYTES);
    assert_eq!(mem(&pc, 0x640, 10), [7, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]);
    assert_eq!(mem(&pc, 0x650, 8), 0xFFF8_0000_0000_0000u64.to_le_bytes());
    let sw = u16_at(&pc, 0x660);
    assert_eq!(
        sw & 0x3F,
        0x21,
        "IE from the square root, PE from the store: {sw:#x}"
    );
    assert_eq!(sw & 0x3800, 0, "TOP back to 0");
}

#[test]
fn compares_branch_through_ah_and_eflags() {
    let (code, _) = asm16(0x7C00, |a, _| {
        let mut below = a.create_label();
        let mut done = a.create_label();
        prologue(a)?;
        a.fninit()?;
        a.fld(qword_ptr(0x600))?; // 1.0
        a.fcomp(qword_ptr(0x608))?; // against 2.0
        a.fnstsw(ax)?;
        a.sahf()?;
        a.jb(below)?;
        a.jmp(done)?;
        a.set_label(&mut below)?;
        a.mov(byte_ptr(0x620), 1)?;
        a.set_label(&mut done)?;
        a.fld(qword_ptr(0x608))?;
        a.fld(qword_ptr(0x600))?;
        a.fcomip(st0, st1)?; // 1.0 < 2.0: CF
        a.setb(byte_ptr(0x621))?;
        a.fld(qword_ptr(0x600))?;
        a.fldz()?;
        a.fcomi(st0, st1)?; // 0 < 1: CF, so FCMOVB takes ST(1)
        a.fcmovb(st0, st1)?;
        a.fstp(qword_ptr(0x628))?;
        exit(a)
    });
    let data = [1f64.to_le_bytes(), 2f64.to_le_bytes()].concat();
    let pc = run(CpuModel::PentiumII, &code, &[(0x600, data)]);
    assert_eq!(mem(&pc, 0x620, 2), [1, 1]);
    assert_eq!(f64_at(&pc, 0x628), 1.0);
}

#[test]
fn fcomi_is_invalid_before_the_pentium_ii() {
    // A #UD handler that records the vector and skips the 2-byte instruction.
    let (handler, _) = asm16(0x7E00, |a, _| {
        a.inc(byte_ptr(0x500))?;
        a.mov(bp, sp)?;
        a.add(word_ptr(bp), 2)?;
        a.iret()
    });
    let (code, _) = asm16(0x7C00, |a, _| {
        prologue(a)?;
        a.fninit()?;
        a.fldz()?;
        a.fld1()?;
        a.fcomi(st0, st1)?;
        exit(a)
    });
    let mut pc = machine(CpuModel::Pentium);
    pc.load_image(0x7C00, &code).unwrap();
    pc.load_image(0x7E00, &handler).unwrap();
    let (at, v) = vector(6, 0x7E00);
    pc.load_image(at, &v).unwrap();
    pc.set_entry(0, 0x7C00);
    assert_eq!(
        pc.run(RunLimits {
            max_instructions: Some(10_000)
        }),
        Stop::Exit(0)
    );
    assert_eq!(mem(&pc, 0x500, 1), [1]);
}

#[test]
fn fsave_images_in_real_mode() {
    let (code, l) = asm16(0x7C00, |a, labels| {
        let mut div = a.create_label();
        prologue(a)?;
        a.fninit()?;
        a.fldcw(word_ptr(0x610))?; // 0x077F: round down
        a.fld1()?;
        a.fldpi()?;
        a.set_label(&mut div)?;
        a.fdiv(dword_ptr(0x600))?; // π/1.5, inexact
        labels.push(div);
        a.fnsave(ptr(0x700))?;
        a.fnstcw(word_ptr(0x7A0))?;
        a.frstor(ptr(0x700))?;
        a.db(&[0x66])?;
        a.fnsave(ptr(0x800))?;
        exit(a)
    });
    let data = [
        1.5f32.to_le_bytes().to_vec(),
        vec![0; 12],
        0x077Fu16.to_le_bytes().to_vec(),
    ]
    .concat();
    let pc = run(CpuModel::I486, &code, &[(0x600, data)]);
    let ip = l[0] as u32;
    // π rounded down, divided by 1.5 and rounded down: an exact integer quotient of the
    // significands (π/1.5 is in [2, 4)).
    let pi_down: u128 = 0xC90F_DAA2_2168_C234;
    let q = ((pi_down << 63) / 0xC000_0000_0000_0000u128) as u64;
    let st0_bytes = [q.to_le_bytes().to_vec(), vec![0x00, 0x40]].concat();
    // The 16-bit real-mode image: CW SW TW IP(15:0) IP(19:16)|FOP DP(15:0) DP(19:16).
    let w: Vec<u16> = mem(&pc, 0x700, 14)
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    assert_eq!(w[0], 0x077F);
    assert_eq!(w[1], 0x3020, "TOP 6, PE");
    assert_eq!(w[2], 0x0FFF, "R6 and R7 valid");
    assert_eq!(w[3], ip as u16);
    assert_eq!(
        w[4],
        ((ip >> 16) as u16) << 12 | 0x036,
        "FOP: D8 /6 with [disp16]"
    );
    assert_eq!((w[5], w[6]), (0x600, 0));
    assert_eq!(mem(&pc, 0x70E, 10), st0_bytes);
    assert_eq!(mem(&pc, 0x718, 10), ONE_BYTES);
    assert_eq!(u16_at(&pc, 0x7A0), 0x037F, "FNSAVE reinitializes");
    // The 32-bit real-mode image after FRSTOR: the same state.
    let d: Vec<u32> = mem(&pc, 0x800, 28)
        .chunks(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(
        (d[0] & 0xFFFF, d[1] & 0xFFFF, d[2] & 0xFFFF),
        (0x077F, 0x3020, 0x0FFF)
    );
    assert_eq!(d[3] & 0xFFFF, ip & 0xFFFF);
    assert_eq!(d[4], (ip >> 16) << 12 | 0x036);
    assert_eq!((d[5] & 0xFFFF, d[6]), (0x600, 0));
    assert_eq!(mem(&pc, 0x81C, 10), st0_bytes);
    assert_eq!(mem(&pc, 0x826, 10), ONE_BYTES);
}

#[test]
fn unmasked_exception_raises_mf_at_the_next_waiting_instruction() {
    let (handler, _) = asm16(0x7E00, |a, _| {
        a.inc(byte_ptr(0x500))?;
        a.mov(bp, sp)?;
        a.mov(ax, word_ptr(bp))?;
        a.mov(word_ptr(0x502), ax)?;
        a.fnclex()?;
        a.iret()
    });
    let (code, l) = asm16(0x7C00, |a, labels| {
        let mut wait = a.create_label();
        prologue(a)?;
        a.mov(eax, cr0)?;
        a.or(eax, 0x20)?; // NE
        a.mov(cr0, eax)?;
        a.fninit()?;
        a.fldcw(word_ptr(0x610))?; // ZE unmasked
        a.fld1()?;
        a.fldz()?;
        a.fdivp(st1, st0)?; // 1/0: ZE pending, nothing stored
        a.mov(byte_ptr(0x501), 1)?;
        a.set_label(&mut wait)?;
        a.wait()?;
        labels.push(wait);
        a.fnstsw(word_ptr(0x504))?;
        a.fstp(qword_ptr(0x508))?;
        exit(a)
    });
    let mut pc = machine(CpuModel::I486);
    pc.load_image(0x7C00, &code).unwrap();
    pc.load_image(0x7E00, &handler).unwrap();
    pc.load_image(0x610, &0x037Bu16.to_le_bytes()).unwrap();
    let (at, v) = vector(16, 0x7E00);
    pc.load_image(at, &v).unwrap();
    pc.set_entry(0, 0x7C00);
    assert_eq!(
        pc.run(RunLimits {
            max_instructions: Some(10_000)
        }),
        Stop::Exit(0)
    );
    assert_eq!(
        mem(&pc, 0x500, 2),
        [1, 1],
        "one #MF, after the non-FPU instruction"
    );
    assert_eq!(u16_at(&pc, 0x502) as u64, l[0], "#MF points at the FWAIT");
    let sw = u16_at(&pc, 0x504);
    assert_eq!(sw & 0x80FF, 0, "the handler cleared the exception: {sw:#x}");
    assert_eq!(
        sw & 0x3800,
        0x3000,
        "the division stored and popped nothing"
    );
    assert_eq!(f64_at(&pc, 0x508), 0.0, "ST(0) is still the zero");
}

/// 8259 pair: master base 8 with only the cascade input unmasked, slave base 0x70 with only
/// IRQ 13 unmasked.
fn init_pics(a: &mut Asm) -> Result<(), IcedError> {
    for (port, v) in [
        (0x20, 0x11),
        (0x21, 0x08),
        (0x21, 0x04),
        (0x21, 0x01),
        (0x21, 0xFB),
        (0xA0, 0x11),
        (0xA1, 0x70),
        (0xA1, 0x02),
        (0xA1, 0x01),
        (0xA1, 0xDF),
    ] {
        a.mov(al, v)?;
        a.out(port, al)?;
    }
    Ok(())
}

#[test]
fn without_cr0_ne_errors_go_to_irq13() {
    let (handler, _) = asm16(0x7E00, |a, _| {
        a.inc(byte_ptr(0x500))?;
        a.mov(al, byte_ptr(0x501))?;
        a.mov(byte_ptr(0x503), al)?; // had the next instruction run yet?
        a.out(0xF0, al)?; // clear the latch
        a.mov(al, 0x20)?;
        a.out(0xA0, al)?;
        a.out(0x20, al)?;
        a.fnclex()?;
        a.iret()
    });
    let (code, _) = asm16(0x7C00, |a, _| {
        prologue(a)?;
        init_pics(a)?;
        a.sti()?;
        a.fninit()?;
        a.fldcw(word_ptr(0x610))?;
        a.fld1()?;
        a.fldz()?;
        a.fdivp(st1, st0)?;
        a.mov(byte_ptr(0x501), 1)?;
        a.wait()?;
        // Masked at the CPU: the waiting instruction goes on (IGNNE#) and the request waits.
        a.cli()?;
        a.fdivp(st1, st0)?;
        a.wait()?;
        a.mov(byte_ptr(0x504), 1)?;
        a.sti()?;
        a.nop()?;
        exit(a)
    });
    let mut pc = machine(CpuModel::I486);
    pc.load_image(0x7C00, &code).unwrap();
    pc.load_image(0x7E00, &handler).unwrap();
    pc.load_image(0x610, &0x037Bu16.to_le_bytes()).unwrap();
    let (at, v) = vector(0x75, 0x7E00);
    pc.load_image(at, &v).unwrap();
    pc.set_entry(0, 0x7C00);
    assert_eq!(
        pc.run(RunLimits {
            max_instructions: Some(10_000)
        }),
        Stop::Exit(0)
    );
    assert_eq!(mem(&pc, 0x500, 1), [2], "two IRQ 13s");
    assert_eq!(mem(&pc, 0x503, 2), [1, 1], "the second came after STI");
    // The first was taken before the instruction after the division: the handler copied the
    // marker before it was set.
    let (code2, _) = asm16(0x7C00, |a, _| {
        prologue(a)?;
        init_pics(a)?;
        a.sti()?;
        a.fninit()?;
        a.fldcw(word_ptr(0x610))?;
        a.fld1()?;
        a.fldz()?;
        a.fdivp(st1, st0)?;
        a.mov(byte_ptr(0x501), 1)?;
        exit(a)
    });
    let mut pc = machine(CpuModel::I486);
    pc.load_image(0x7C00, &code2).unwrap();
    pc.load_image(0x7E00, &handler).unwrap();
    pc.load_image(0x610, &0x037Bu16.to_le_bytes()).unwrap();
    pc.load_image(at, &v).unwrap();
    pc.set_entry(0, 0x7C00);
    assert_eq!(
        pc.run(RunLimits {
            max_instructions: Some(10_000)
        }),
        Stop::Exit(0)
    );
    assert_eq!(mem(&pc, 0x500, 4), [1, 1, 0, 0]);
}

#[test]
fn ts_and_em_raise_nm() {
    let (handler, _) = asm16(0x7E00, |a, _| {
        a.inc(byte_ptr(0x500))?;
        a.clts()?;
        a.mov(eax, cr0)?;
        a.and(eax, !6i32)?; // EM and MP off
        a.mov(cr0, eax)?;
        a.iret()
    });
    let (code, _) = asm16(0x7C00, |a, _| {
        prologue(a)?;
        a.fninit()?;
        a.mov(eax, cr0)?;
        a.or(eax, 8)?; // TS
        a.mov(cr0, eax)?;
        a.fld1()?; // #NM, then again after CLTS: loads 1
        a.mov(eax, cr0)?;
        a.or(eax, 4)?; // EM
        a.mov(cr0, eax)?;
        a.fldz()?; // #NM
        a.mov(eax, cr0)?;
        a.or(eax, 4)?; // EM alone: WAIT is not affected
        a.mov(cr0, eax)?;
        a.wait()?;
        a.and(eax, !4i32)?;
        a.or(eax, 0xA)?; // MP + TS: WAIT faults
        a.mov(cr0, eax)?;
        a.wait()?;
        a.faddp(st1, st0)?;
        a.fstp(qword_ptr(0x600))?;
        exit(a)
    });
    let mut pc = machine(CpuModel::I486);
    pc.load_image(0x7C00, &code).unwrap();
    pc.load_image(0x7E00, &handler).unwrap();
    let (at, v) = vector(7, 0x7E00);
    pc.load_image(at, &v).unwrap();
    pc.set_entry(0, 0x7C00);
    assert_eq!(
        pc.run(RunLimits {
            max_instructions: Some(10_000)
        }),
        Stop::Exit(0)
    );
    assert_eq!(mem(&pc, 0x500, 1), [3]);
    assert_eq!(f64_at(&pc, 0x600), 1.0);
}

#[test]
fn fxsave_and_mmx_on_the_pentium_ii() {
    let (code, _) = asm16(0x7C00, |a, _| {
        prologue(a)?;
        a.fninit()?;
        a.fld1()?;
        a.fldpi()?;
        a.fxsave(ptr(0x1000))?;
        a.movq(mm0, qword_ptr(0x600))?;
        a.paddsw(mm0, qword_ptr(0x608))?;
        a.movq(qword_ptr(0x620), mm0)?;
        a.movq(mm3, qword_ptr(0x600))?;
        a.pmaddwd(mm3, qword_ptr(0x608))?;
        a.movq(qword_ptr(0x628), mm3)?;
        a.fnstenv(ptr(0x700))?;
        a.fxsave(ptr(0x1200))?;
        a.emms()?;
        a.fnstenv(ptr(0x740))?;
        exit(a)
    });
    let words = |w: [u16; 4]| w.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
    let data = [
        words([0x7FFF, 0x0001, 0x8000, 0xFFFF]),
        words([0x0001, 0x0002, 0xFFFF, 0x8000]),
    ]
    .concat();
    let pc = run(CpuModel::PentiumII, &code, &[(0x600, data)]);
    assert_eq!(u16_at(&pc, 0x1000), 0x037F);
    assert_eq!(u16_at(&pc, 0x1002), 0x3000, "TOP 6");
    assert_eq!(mem(&pc, 0x1004, 1), [0xC0], "abridged tag: R6, R7");
    assert_eq!(mem(&pc, 0x1020, 10), PI_BYTES);
    assert_eq!(mem(&pc, 0x1030, 10), ONE_BYTES);
    assert_eq!(
        mem(&pc, 0x620, 8),
        words([0x7FFF, 0x0003, 0x8000, 0x8000]),
        "PADDSW saturates"
    );
    assert_eq!(u32_at(&pc, 0x628), 0x7FFF + 2, "PMADDWD low");
    assert_eq!(u32_at(&pc, 0x62C), 0x1_0000, "PMADDWD high");
    assert_eq!(u16_at(&pc, 0x702) & 0x3800, 0, "MMX sets TOP to 0");
    assert_eq!(
        mem(&pc, 0x1204, 1),
        [0xFF],
        "and tags every register non-empty"
    );
    let tw = u16_at(&pc, 0x704);
    assert!(
        (0..8).all(|r| (tw >> (2 * r)) & 3 != 3),
        "FSTENV classifies them: {tw:#x}"
    );
    assert_eq!(
        mem(&pc, 0x1200 + 32 + 8, 2),
        [0xFF, 0xFF],
        "MM0 written: exponent all ones"
    );
    assert_eq!(u16_at(&pc, 0x744), 0xFFFF, "EMMS empties the stack");
}

#[test]
fn transcendentals_and_range() {
    let (code, _) = asm16(0x7C00, |a, _| {
        prologue(a)?;
        a.fninit()?;
        a.fld(qword_ptr(0x600))?; // 0.5
        a.fptan()?;
        a.fstp(qword_ptr(0x620))?; // 1.0
        a.fstp(qword_ptr(0x628))?; // tan 0.5
        a.fld(qword_ptr(0x608))?; // 2^70
        a.fsin()?;
        a.fnstsw(word_ptr(0x630))?;
        a.fstp(qword_ptr(0x638))?; // unchanged
        a.fld(qword_ptr(0x600))?;
        a.fld1()?;
        a.fpatan()?; // atan2(0.5, 1)
        a.fstp(qword_ptr(0x640))?;
        a.fld(qword_ptr(0x600))?;
        a.f2xm1()?;
        a.fstp(qword_ptr(0x648))?;
        a.fld1()?;
        a.fld(qword_ptr(0x610))?; // 10
        a.fyl2x()?; // log2 10
        a.fstp(qword_ptr(0x650))?;
        exit(a)
    });
    let data = [
        0.5f64.to_le_bytes(),
        2f64.powi(70).to_le_bytes(),
        10f64.to_le_bytes(),
    ]
    .concat();
    let pc = run(CpuModel::I486, &code, &[(0x600, data)]);
    let close = |got: f64, want: f64| {
        let d = (got.to_bits() as i64 - want.to_bits() as i64).abs();
        assert!(d <= 1, "{got:e} vs {want:e}");
    };
    assert_eq!(f64_at(&pc, 0x620), 1.0);
    close(f64_at(&pc, 0x628), 0.5f64.tan());
    assert_ne!(u16_at(&pc, 0x630) & 0x400, 0, "C2: out of range");
    assert_eq!(f64_at(&pc, 0x638), 2f64.powi(70));
    close(f64_at(&pc, 0x640), 0.5f64.atan());
    close(f64_at(&pc, 0x648), (0.5 * std::f64::consts::LN_2).exp_m1());
    close(f64_at(&pc, 0x650), 10f64.log2());
}

#[test]
fn the_286_still_has_no_coprocessor() {
    let (code, _) = asm16(0x7C00, |a, _| {
        prologue(a)?;
        a.mov(word_ptr(0x600), 0x1234)?;
        a.fninit()?;
        a.fld1()?;
        a.fstp(qword_ptr(0x600))?;
        exit(a)
    });
    let pc = run(CpuModel::I286, &code, &[]);
    assert_eq!(u16_at(&pc, 0x600), 0x1234, "ESC touched nothing");
}

#[test]
fn a_faulting_store_changes_nothing() {
    // #GP handler: count, skip the 4-byte FSTP.
    let (handler, _) = asm16(0x7E00, |a, _| {
        a.inc(byte_ptr(0x500))?;
        a.mov(bp, sp)?;
        a.add(word_ptr(bp), 4)?;
        a.iret()
    });
    let (code, _) = asm16(0x7C00, |a, _| {
        prologue(a)?;
        a.mov(dword_ptr(0xFFF8), 0x1122_3344)?;
        a.mov(dword_ptr(0xFFFC), 0x5566_7788)?;
        a.fninit()?;
        a.fld1()?;
        a.fstp(tword_ptr(0xFFF8))?; // bytes 0xFFF8..0x10001: past the 64 KiB limit
        a.fnstsw(word_ptr(0x502))?;
        a.fstp(qword_ptr(0x508))?;
        exit(a)
    });
    let mut pc = machine(CpuModel::I486);
    pc.load_image(0x7C00, &code).unwrap();
    pc.load_image(0x7E00, &handler).unwrap();
    let (at, v) = vector(13, 0x7E00);
    pc.load_image(at, &v).unwrap();
    pc.set_entry(0, 0x7C00);
    assert_eq!(
        pc.run(RunLimits {
            max_instructions: Some(10_000)
        }),
        Stop::Exit(0)
    );
    assert_eq!(mem(&pc, 0x500, 1), [1], "one #GP");
    assert_eq!(u32_at(&pc, 0xFFF8), 0x1122_3344, "memory unchanged");
    assert_eq!(u32_at(&pc, 0xFFFC), 0x5566_7788);
    assert_eq!(u16_at(&pc, 0x502) & 0x3800, 0x3800, "not popped: TOP 7");
    assert_eq!(f64_at(&pc, 0x508), 1.0);
}
