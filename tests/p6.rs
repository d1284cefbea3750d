//! The Pentium and Pentium II additions, run as real-mode programs on a whole machine: CPUID per
//! model, #UD of each new instruction on the models before it, CMPXCHG8B, CMOVcc, the TSC,
//! RDMSR/WRMSR, RDPMC, SYSENTER/SYSEXIT.
//!
//! Programs are assembled with iced-x86; the new instructions are written as bytes so the
//! encodings under test are visible. Each program installs #UD and #GP handlers in the IVT and
//! ends by writing to the exit port: [`DONE`] when it ran to its end, `0x80 | vector` when an
//! exception reached a handler that stops the run.

use glassbox::cpu::{msr, CpuModel};
use glassbox::machine::{MachineConfig, Pc, RunLimits, Stop};
use glassbox_devices::debugport::DebugSink;
use iced_x86::code_asm::*;

/// Exit value of a program that ran to its end.
const DONE: u32 = 0x55;
/// Exit value after #UD.
const UD: u32 = 0x86;
/// Exit value after #GP.
const GP: u32 = 0x8D;

/// Where the exception handlers live.
const UD_HANDLER: u16 = 0x0500;
const GP_HANDLER: u16 = 0x0520;
/// Scratch data.
const DATA: u32 = 0x0800;
/// Counter of #GP faults the skipping handler stepped over.
const GP_COUNT: u32 = 0x04F0;
/// Results table.
const RESULTS: u32 = 0x2000;

/// What the #GP handler does.
#[derive(Clone, Copy, PartialEq)]
enum OnGp {
    /// Stop the run with exit value [`GP`].
    Exit,
    /// Count the fault in [`GP_COUNT`] and go on after the 2-byte faulting instruction
    /// (RDMSR, WRMSR, RDPMC, RDTSC).
    Skip,
}

fn asm(bits: u32, ip: u64, f: impl FnOnce(&mut CodeAssembler) -> Result<(), IcedError>) -> Vec<u8> {
    let mut a = CodeAssembler::new(bits).expect("assembler");
    f(&mut a).expect("assemble");
    a.assemble(ip).expect("encode")
}

/// A handler that exits with `value`.
fn exit_handler(at: u16, value: u32) -> Vec<u8> {
    asm(16, at as u64, |a| {
        a.mov(al, value as i32)?;
        a.out(0xF4, al)?;
        a.hlt()
    })
}

/// A #GP handler that counts the fault and returns past a 2-byte instruction.
fn skip_handler(at: u16) -> Vec<u8> {
    asm(16, at as u64, |a| {
        a.push(bp)?;
        a.mov(bp, sp)?;
        a.add(word_ptr(bp + 2), 2)?;
        a.inc(word_ptr(GP_COUNT))?;
        a.pop(bp)?;
        a.iret()
    })
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

/// Runs `body` at 0000:7C00 on `cpu` after the standard prologue (segments 0, stack at 7000h,
/// #UD and #GP vectors installed), then exits with [`DONE`].
fn run_with(
    cpu: CpuModel,
    on_gp: OnGp,
    body: impl FnOnce(&mut CodeAssembler) -> Result<(), IcedError>,
) -> (Pc, Stop) {
    run_prepared(cpu, on_gp, |_| {}, body)
}

/// [`run_with`], with `prepare` applied to the machine before it starts.
fn run_prepared(
    cpu: CpuModel,
    on_gp: OnGp,
    prepare: impl FnOnce(&mut Pc),
    body: impl FnOnce(&mut CodeAssembler) -> Result<(), IcedError>,
) -> (Pc, Stop) {
    let code = asm(16, 0x7C00, |a| {
        a.xor(ax, ax)?;
        a.mov(ds, ax)?;
        a.mov(es, ax)?;
        a.mov(ss, ax)?;
        a.mov(sp, 0x7000)?;
        a.mov(word_ptr(6 * 4), UD_HANDLER as i32)?;
        a.mov(word_ptr(6 * 4 + 2), 0)?;
        a.mov(word_ptr(13 * 4), GP_HANDLER as i32)?;
        a.mov(word_ptr(13 * 4 + 2), 0)?;
        body(a)?;
        a.mov(al, DONE as i32)?;
        a.out(0xF4, al)?;
        a.hlt()
    });
    let mut pc = machine(cpu);
    pc.load_image(0x7C00, &code).expect("load");
    pc.load_image(UD_HANDLER as u32, &exit_handler(UD_HANDLER, UD))
        .expect("load");
    let gp = match on_gp {
        OnGp::Exit => exit_handler(GP_HANDLER, GP),
        OnGp::Skip => skip_handler(GP_HANDLER),
    };
    pc.load_image(GP_HANDLER as u32, &gp).expect("load");
    pc.set_entry(0, 0x7C00);
    prepare(&mut pc);
    let stop = pc.run(RunLimits {
        max_instructions: Some(1_000_000),
    });
    (pc, stop)
}

fn run(
    cpu: CpuModel,
    body: impl FnOnce(&mut CodeAssembler) -> Result<(), IcedError>,
) -> (Pc, Stop) {
    run_with(cpu, OnGp::Exit, body)
}

fn ram32(pc: &Pc, addr: u32) -> u32 {
    let r = pc.board.mem.ram();
    let a = addr as usize;
    u32::from_le_bytes([r[a], r[a + 1], r[a + 2], r[a + 3]])
}

fn ram16(pc: &Pc, addr: u32) -> u16 {
    let r = pc.board.mem.ram();
    u16::from_le_bytes([r[addr as usize], r[addr as usize + 1]])
}

fn ram64(pc: &Pc, addr: u32) -> u64 {
    ram32(pc, addr) as u64 | (ram32(pc, addr + 4) as u64) << 32
}

/// Stores EAX, EBX, ECX, EDX at `at`.
fn store_abcd(a: &mut CodeAssembler, at: u32) -> Result<(), IcedError> {
    a.mov(dword_ptr(at), eax)?;
    a.mov(dword_ptr(at + 4), ebx)?;
    a.mov(dword_ptr(at + 8), ecx)?;
    a.mov(dword_ptr(at + 12), edx)
}

const CPUID: [u8; 2] = [0x0F, 0xA2];
const RDTSC: [u8; 2] = [0x0F, 0x31];
const RDMSR: [u8; 2] = [0x0F, 0x32];
const WRMSR: [u8; 2] = [0x0F, 0x30];
const RDPMC: [u8; 2] = [0x0F, 0x33];

// ----- CPUID -------------------------------------------------------------------------------

/// CPUID leaves 0, 1, 2 and 8000_0000h as the guest sees them.
fn cpuid_leaves(cpu: CpuModel) -> Vec<[u32; 4]> {
    let leaves = [0u32, 1, 2, 0x8000_0000];
    let (pc, stop) = run(cpu, |a| {
        for (k, leaf) in leaves.iter().enumerate() {
            a.mov(eax, *leaf)?;
            a.db(&CPUID)?;
            store_abcd(a, RESULTS + 16 * k as u32)?;
        }
        Ok(())
    });
    assert_eq!(stop, Stop::Exit(DONE), "{cpu}");
    (0..leaves.len() as u32)
        .map(|k| {
            let at = RESULTS + 16 * k;
            [
                ram32(&pc, at),
                ram32(&pc, at + 4),
                ram32(&pc, at + 8),
                ram32(&pc, at + 12),
            ]
        })
        .collect()
}

const GENU: u32 = u32::from_le_bytes(*b"Genu");
const INEI: u32 = u32::from_le_bytes(*b"ineI");
const NTEL: u32 = u32::from_le_bytes(*b"ntel");

#[test]
fn cpuid_486() {
    let r = cpuid_leaves(CpuModel::I486);
    assert_eq!(r[0], [1, GENU, NTEL, INEI]);
    // Family 4 model 8, FPU only.
    assert_eq!(r[1], [0x0480, 0, 0, 0x1]);
    // Above the highest leaf: leaf 1 again.
    assert_eq!(r[2], r[1]);
    assert_eq!(r[3], r[1]);
}

#[test]
fn cpuid_pentium() {
    let r = cpuid_leaves(CpuModel::Pentium);
    assert_eq!(r[0], [1, GENU, NTEL, INEI]);
    // Family 5 model 2 stepping 5; FPU VME DE PSE TSC MSR MCE CX8.
    assert_eq!(r[1], [0x0525, 0, 0, 0x1BF]);
    assert_eq!(r[3], r[1]);
}

#[test]
fn cpuid_pentium_ii() {
    let r = cpuid_leaves(CpuModel::PentiumII);
    assert_eq!(r[0], [2, GENU, NTEL, INEI]);
    // Family 6 model 5 stepping 2; the Deschutes feature set without APIC (bit 9).
    assert_eq!(r[1], [0x0652, 0, 0, 0x0183_F9FF]);
    assert_eq!(r[2], [0x0302_0101, 0, 0, 0x0C04_0843]);
    // No extended leaves: 8000_0000h answers as leaf 2, so EAX is not 8000_00xxh.
    assert_eq!(r[3], r[2]);
}

#[test]
fn eflags_id_toggles_from_the_486_on() {
    for cpu in [CpuModel::I386, CpuModel::I486, CpuModel::PentiumII] {
        let (pc, stop) = run(cpu, |a| {
            a.pushfd()?;
            a.pop(eax)?;
            a.mov(ebx, eax)?;
            a.xor(eax, 0x0020_0000)?;
            a.push(eax)?;
            a.popfd()?;
            a.pushfd()?;
            a.pop(eax)?;
            a.xor(eax, ebx)?;
            a.mov(dword_ptr(RESULTS), eax)
        });
        assert_eq!(stop, Stop::Exit(DONE));
        let toggled = ram32(&pc, RESULTS) & 0x0020_0000 != 0;
        assert_eq!(toggled, cpu >= CpuModel::I486, "{cpu}");
    }
}

// ----- #UD on older models -----------------------------------------------------------------

#[test]
fn new_instructions_are_undefined_before_their_model() {
    // (bytes, first model, what the instruction does in real mode on that model)
    let cases: [(&str, &[u8], CpuModel, u32); 10] = [
        ("rdtsc", &RDTSC, CpuModel::Pentium, DONE),
        ("rdmsr tsc", &RDMSR, CpuModel::Pentium, DONE),
        ("wrmsr tsc", &WRMSR, CpuModel::Pentium, DONE),
        (
            "cmpxchg8b [0800h]",
            &[0x0F, 0xC7, 0x0E, 0x00, 0x08],
            CpuModel::Pentium,
            DONE,
        ),
        ("rdpmc 0", &RDPMC, CpuModel::PentiumII, DONE),
        (
            "cmovz ax, bx",
            &[0x0F, 0x44, 0xC3],
            CpuModel::PentiumII,
            DONE,
        ),
        (
            "cmovnz ax, [0800h]",
            &[0x0F, 0x45, 0x06, 0x00, 0x08],
            CpuModel::PentiumII,
            DONE,
        ),
        // Real mode: both are #GP where they exist.
        ("sysenter", &[0x0F, 0x34], CpuModel::PentiumII, GP),
        ("sysexit", &[0x0F, 0x35], CpuModel::PentiumII, GP),
        // UD2 is undefined everywhere.
        ("ud2", &[0x0F, 0x0B], CpuModel::I286, UD),
    ];
    for (name, bytes, since, there) in cases {
        for cpu in [
            CpuModel::I286,
            CpuModel::I386,
            CpuModel::I486,
            CpuModel::Pentium,
            CpuModel::PentiumII,
        ] {
            let (_, stop) = run(cpu, |a| {
                // 16-bit set-up, valid on the 286: ECX = 10h (TSC) for the MSR instructions,
                // 0 for RDPMC; EDX:EAX = 0.
                a.xor(ax, ax)?;
                a.xor(dx, dx)?;
                a.mov(cx, if name.starts_with("rdpmc") { 0 } else { 0x10 })?;
                a.db(bytes)
            });
            let want = if cpu >= since { there } else { UD };
            assert_eq!(stop, Stop::Exit(want), "{name} on {cpu}");
        }
    }
}

// ----- CMPXCHG8B ---------------------------------------------------------------------------

/// Runs CMPXCHG8B on the quadword `mem` with EDX:EAX = `cmp`, ECX:EBX = `new` and FLAGS =
/// `flags`; returns (EDX:EAX, memory, FLAGS after).
fn cmpxchg8b(
    cpu: CpuModel,
    prefix: &[u8],
    mem: u64,
    cmp: u64,
    new: u64,
    flags: u16,
) -> (u64, u64, u16) {
    let prefix = prefix.to_vec();
    let (pc, stop) = run(cpu, |a| {
        a.mov(dword_ptr(DATA), mem as u32)?;
        a.mov(dword_ptr(DATA + 4), (mem >> 32) as u32)?;
        a.mov(eax, cmp as u32)?;
        a.mov(edx, (cmp >> 32) as u32)?;
        a.mov(ebx, new as u32)?;
        a.mov(ecx, (new >> 32) as u32)?;
        a.mov(si, flags as i32)?;
        a.push(si)?;
        a.popf()?;
        a.db(&prefix)?;
        a.db(&[0x0F, 0xC7, 0x0E, DATA as u8, (DATA >> 8) as u8])?;
        a.pushf()?;
        a.pop(word_ptr(RESULTS + 8))?;
        a.mov(dword_ptr(RESULTS), eax)?;
        a.mov(dword_ptr(RESULTS + 4), edx)
    });
    assert_eq!(stop, Stop::Exit(DONE), "{cpu}");
    (
        ram64(&pc, RESULTS),
        ram64(&pc, DATA),
        ram16(&pc, RESULTS + 8),
    )
}

const ZF: u16 = 0x40;
/// CF PF AF SF OF.
const OTHER_ARITH: u16 = 0x01 | 0x04 | 0x10 | 0x80 | 0x800;

#[test]
fn cmpxchg8b_equal_stores_ecx_ebx_and_sets_only_zf() {
    for cpu in [CpuModel::Pentium, CpuModel::PentiumII] {
        for (prefix, others) in [(&[][..], OTHER_ARITH), (&[0xF0][..], 0)] {
            let mem = 0x0123_4567_89AB_CDEF;
            let new = 0xFEDC_BA98_7654_3210;
            let (edx_eax, after, fl) = cmpxchg8b(cpu, prefix, mem, mem, new, 0x0002 | others);
            assert_eq!(after, new, "{cpu}");
            assert_eq!(edx_eax, mem, "{cpu}");
            assert_eq!(fl & ZF, ZF, "{cpu}");
            assert_eq!(fl & OTHER_ARITH, others, "{cpu}: only ZF changes");
        }
    }
}

#[test]
fn cmpxchg8b_unequal_loads_edx_eax_and_clears_only_zf() {
    for cpu in [CpuModel::Pentium, CpuModel::PentiumII] {
        for others in [0, OTHER_ARITH] {
            let mem = 0x1111_2222_3333_4444;
            // Differs in the high half only: the whole quadword is compared.
            let cmp = 0x1111_2223_3333_4444;
            let (edx_eax, after, fl) = cmpxchg8b(
                cpu,
                &[],
                mem,
                cmp,
                0x5555_6666_7777_8888,
                0x0002 | ZF | others,
            );
            assert_eq!(after, mem, "{cpu}: memory unchanged");
            assert_eq!(edx_eax, mem, "{cpu}: EDX:EAX loaded");
            assert_eq!(fl & ZF, 0, "{cpu}");
            assert_eq!(fl & OTHER_ARITH, others, "{cpu}: only ZF changes");
        }
    }
}

#[test]
fn cmpxchg8b_register_form_and_other_group_members_are_undefined() {
    for bytes in [
        &[0x0F, 0xC7, 0xC8][..],             // cmpxchg8b eax: register operand
        &[0x0F, 0xC7, 0x06, 0x00, 0x08][..], // 0F C7 /0
        &[0xF0, 0x0F, 0xC7, 0xC8][..],       // lock with a register operand
    ] {
        let (_, stop) = run(CpuModel::PentiumII, |a| a.db(bytes));
        assert_eq!(stop, Stop::Exit(UD), "{bytes:02x?}");
    }
    // A quadword past the segment limit is #GP before anything is written.
    let (pc, stop) = run(CpuModel::Pentium, |a| {
        a.mov(dword_ptr(0xFFF8), 0x1234_5678)?;
        a.db(&[0x0F, 0xC7, 0x0E, 0xFC, 0xFF])
    });
    assert_eq!(stop, Stop::Exit(GP));
    assert_eq!(ram32(&pc, 0xFFF8), 0x1234_5678);
}

// ----- CMOVcc ------------------------------------------------------------------------------

/// The sixteen conditions, computed from a FLAGS image without the CPU's help.
fn condition(cc: u8, f: u16) -> bool {
    let (cf, pf, zf) = (f & 0x01 != 0, f & 0x04 != 0, f & 0x40 != 0);
    let (sf, of) = (f & 0x80 != 0, f & 0x800 != 0);
    let base = match cc >> 1 {
        0 => of,
        1 => cf,
        2 => zf,
        3 => cf || zf,
        4 => sf,
        5 => pf,
        6 => sf != of,
        _ => zf || sf != of,
    };
    base != (cc & 1 != 0)
}

/// FLAGS images covering every condition both ways.
const FLAG_IMAGES: [u16; 10] = [
    0x0002, 0x0003, 0x0006, 0x0042, 0x0043, 0x0082, 0x0802, 0x0882, 0x0842, 0x08C7,
];

const CMOV_SRC_REG: u32 = 0x2222_3333;
const CMOV_SRC_MEM: u32 = 0x4444_5555;
const CMOV_DEST: u32 = 0xAAAA_1111;

#[test]
fn cmov_all_conditions_register_and_memory() {
    // For every image and condition: cmovcc eax, ebx; cmovcc eax, [DATA]; cmovcc ax, bx.
    let forms: [&[u8]; 3] = [
        &[0x66, 0x0F, 0x40, 0xC3],
        &[0x66, 0x0F, 0x40, 0x06, 0x00, 0x08],
        &[0x0F, 0x40, 0xC3],
    ];
    let (pc, stop) = run(CpuModel::PentiumII, |a| {
        a.mov(dword_ptr(DATA), CMOV_SRC_MEM)?;
        a.mov(ebx, CMOV_SRC_REG)?;
        let mut slot = RESULTS;
        for img in FLAG_IMAGES {
            for cc in 0..16u8 {
                for form in forms {
                    let mut bytes = form.to_vec();
                    let op = if bytes[0] == 0x66 { 2 } else { 1 };
                    bytes[op] |= cc;
                    a.mov(eax, CMOV_DEST)?;
                    a.mov(cx, img as i32)?;
                    a.push(cx)?;
                    a.popf()?;
                    a.db(&bytes)?;
                    a.mov(dword_ptr(slot), eax)?;
                    slot += 4;
                }
            }
        }
        Ok(())
    });
    assert_eq!(stop, Stop::Exit(DONE));
    let mut slot = RESULTS;
    let mut seen = [[false; 2]; 16];
    for img in FLAG_IMAGES {
        for cc in 0..16u8 {
            let taken = condition(cc, img);
            seen[cc as usize][taken as usize] = true;
            let want = [
                if taken { CMOV_SRC_REG } else { CMOV_DEST },
                if taken { CMOV_SRC_MEM } else { CMOV_DEST },
                // A 16-bit move keeps the upper half either way.
                if taken {
                    0xAAAA_0000 | (CMOV_SRC_REG & 0xFFFF)
                } else {
                    CMOV_DEST
                },
            ];
            for (form, w) in want.iter().enumerate() {
                assert_eq!(
                    ram32(&pc, slot),
                    *w,
                    "cc {cc:x} flags {img:#06x} form {form}"
                );
                slot += 4;
            }
        }
    }
    assert!(
        seen.iter().all(|s| s[0] && s[1]),
        "every condition seen true and false"
    );
}

#[test]
fn cmov_reads_its_memory_operand_even_when_the_condition_is_false() {
    for cc in 0..16u8 {
        let img = *FLAG_IMAGES
            .iter()
            .find(|&&f| !condition(cc, f))
            .expect("an image where the condition is false");
        for (off, want) in [(0xFFFCu16, DONE), (0xFFFF, GP)] {
            let (pc, stop) = run(CpuModel::PentiumII, |a| {
                a.mov(eax, CMOV_DEST)?;
                a.mov(cx, img as i32)?;
                a.push(cx)?;
                a.popf()?;
                // cmovcc eax, dword [off]: at FFFFh the dword crosses the 64 KiB limit.
                a.db(&[0x66, 0x0F, 0x40 | cc, 0x06, off as u8, (off >> 8) as u8])?;
                a.mov(dword_ptr(RESULTS), eax)
            });
            assert_eq!(stop, Stop::Exit(want), "cc {cc:x} at {off:#x}");
            if want == DONE {
                assert_eq!(ram32(&pc, RESULTS), CMOV_DEST, "cc {cc:x}: nothing moved");
            }
        }
    }
}

// ----- TSC ---------------------------------------------------------------------------------

#[test]
fn rdtsc_is_monotonic_and_follows_the_cycle_counter() {
    for cpu in [CpuModel::Pentium, CpuModel::PentiumII] {
        let (pc, stop) = run(cpu, |a| {
            for k in 0..8u32 {
                a.db(&RDTSC)?;
                a.mov(dword_ptr(RESULTS + 8 * k), eax)?;
                a.mov(dword_ptr(RESULTS + 8 * k + 4), edx)?;
                for _ in 0..k {
                    a.imul_3(ecx, ecx, 3)?;
                }
            }
            Ok(())
        });
        assert_eq!(stop, Stop::Exit(DONE));
        let t: Vec<u64> = (0..8).map(|k| ram64(&pc, RESULTS + 8 * k)).collect();
        assert!(t.windows(2).all(|w| w[0] < w[1]), "{cpu}: {t:?}");
        // Longer gaps between readings give larger differences.
        let gaps: Vec<u64> = t.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.windows(2).all(|g| g[0] < g[1]), "{cpu}: {gaps:?}");
        // The TSC counts the CPU's cycles from reset: the last reading is a few instructions
        // before the end of the run.
        let end = pc.cpu.cycles;
        assert_eq!(pc.cpu.msr.tsc(end), end);
        assert!(t[7] < end && end - t[7] < 200, "{cpu}: {} vs {end}", t[7]);
    }
}

#[test]
fn wrmsr_to_the_tsc_moves_rdtsc_and_rdmsr() {
    for cpu in [CpuModel::Pentium, CpuModel::PentiumII] {
        let (pc, stop) = run(cpu, |a| {
            a.mov(ecx, msr::index::TSC)?;
            a.mov(eax, 0x4000_0000u32)?;
            a.mov(edx, 0x77)?; // the high half is not written: it is cleared
            a.db(&WRMSR)?;
            a.db(&RDTSC)?;
            a.mov(dword_ptr(RESULTS), eax)?;
            a.mov(dword_ptr(RESULTS + 4), edx)?;
            a.db(&RDMSR)?;
            a.mov(dword_ptr(RESULTS + 8), eax)?;
            a.mov(dword_ptr(RESULTS + 12), edx)
        });
        assert_eq!(stop, Stop::Exit(DONE));
        let by_rdtsc = ram64(&pc, RESULTS);
        let by_rdmsr = ram64(&pc, RESULTS + 8);
        assert!(
            (0x4000_0000..0x4000_0000 + 100).contains(&by_rdtsc),
            "{cpu}: {by_rdtsc:#x}"
        );
        assert!(by_rdtsc < by_rdmsr && by_rdmsr < by_rdtsc + 100, "{cpu}");
        // The machine's own cycle counter is untouched; only the guest's view moved.
        let end = pc.cpu.cycles;
        let tsc = pc.cpu.msr.tsc(end);
        assert!(tsc > by_rdmsr && tsc - by_rdmsr < 100, "{cpu}");
        assert!(end < 0x4000_0000);
    }
}

#[test]
fn rdtsc_ignores_cr4_tsd_in_real_mode() {
    // CPL is 0 in real mode, so TSD never applies there.
    let (pc, stop) = run_prepared(
        CpuModel::Pentium,
        OnGp::Exit,
        |pc| pc.cpu.cr[4] = glassbox::cpu::cpuid::cr4::TSD,
        |a| {
            a.db(&RDTSC)?;
            a.mov(dword_ptr(RESULTS), eax)
        },
    );
    assert_eq!(stop, Stop::Exit(DONE));
    assert_ne!(ram32(&pc, RESULTS), 0);
}

// ----- RDMSR / WRMSR -----------------------------------------------------------------------

/// One MSR access in a test program.
#[derive(Clone, Copy)]
enum Access {
    /// WRMSR `value` to the MSR, then RDMSR it back.
    Write(u32, u64),
    /// RDMSR only.
    Read(u32),
}

/// The outcome of an [`Access`]: whether WRMSR and RDMSR faulted, and what RDMSR returned
/// (0 after a fault).
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    write_gp: bool,
    read_gp: bool,
    value: u64,
}

fn msr_accesses(cpu: CpuModel, ops: &[Access]) -> Vec<Outcome> {
    let (pc, stop) = run_with(cpu, OnGp::Skip, |a| {
        for (k, op) in ops.iter().enumerate() {
            let at = RESULTS + 16 * k as u32;
            let (idx, value) = match *op {
                Access::Write(i, v) => (i, Some(v)),
                Access::Read(i) => (i, None),
            };
            a.mov(ecx, idx)?;
            if let Some(v) = value {
                a.mov(eax, v as u32)?;
                a.mov(edx, (v >> 32) as u32)?;
                a.mov(word_ptr(GP_COUNT), 0)?;
                a.db(&WRMSR)?;
                a.mov(bx, word_ptr(GP_COUNT))?;
                a.mov(word_ptr(at), bx)?;
            }
            a.mov(word_ptr(GP_COUNT), 0)?;
            a.xor(eax, eax)?;
            a.xor(edx, edx)?;
            a.db(&RDMSR)?;
            a.mov(bx, word_ptr(GP_COUNT))?;
            a.mov(word_ptr(at + 2), bx)?;
            a.mov(dword_ptr(at + 4), eax)?;
            a.mov(dword_ptr(at + 8), edx)?;
        }
        Ok(())
    });
    assert_eq!(stop, Stop::Exit(DONE), "{cpu}");
    (0..ops.len() as u32)
        .map(|k| {
            let at = RESULTS + 16 * k;
            Outcome {
                write_gp: ram16(&pc, at) != 0,
                read_gp: ram16(&pc, at + 2) != 0,
                value: ram64(&pc, at + 4),
            }
        })
        .collect()
}

fn ok(value: u64) -> Outcome {
    Outcome {
        write_gp: false,
        read_gp: false,
        value,
    }
}

/// A write refused with #GP; the register keeps `value`.
fn refused(value: u64) -> Outcome {
    Outcome {
        write_gp: true,
        read_gp: false,
        value,
    }
}

/// No such register: both accesses are #GP.
fn absent() -> Outcome {
    Outcome {
        write_gp: true,
        read_gp: true,
        value: 0,
    }
}

#[test]
fn pentium_ii_msrs_round_trip_and_refuse_bad_writes() {
    use msr::index::*;
    let cases = [
        (Access::Write(SYSENTER_CS, 0x0000_0010), ok(0x10)),
        (
            Access::Write(SYSENTER_ESP, 0x5555_0000_8000_1000),
            ok(0x8000_1000),
        ),
        (Access::Write(SYSENTER_EIP, 0xC010_2030), ok(0xC010_2030)),
        (Access::Write(MTRR_PHYS_BASE0, 0x0000_0006), ok(0x6)),
        (
            Access::Write(MTRR_PHYS_BASE0 + 1, 0xF_F000_0800),
            ok(0xF_F000_0800),
        ),
        (
            Access::Write(MTRR_PHYS_BASE0 + 14, 0x8000_0001),
            ok(0x8000_0001),
        ),
        (
            Access::Write(MTRR_PHYS_BASE0 + 14, 0x8000_0003),
            refused(0x8000_0001),
        ),
        (
            Access::Write(MTRR_PHYS_BASE0 + 15, 0x1_0000_0000_0800),
            refused(0),
        ),
        (
            Access::Write(MTRR_FIX_64K_00000, 0x0606_0606_0606_0606),
            ok(0x0606_0606_0606_0606),
        ),
        (
            Access::Write(MTRR_FIX_4K_C0000 + 7, 0x0505_0505_0505_0505),
            ok(0x0505_0505_0505_0505),
        ),
        (
            Access::Write(MTRR_FIX_16K_A0000, 0x0202_0202_0202_0202),
            refused(0),
        ),
        (Access::Write(MTRR_DEF_TYPE, 0xC06), ok(0xC06)),
        (Access::Write(MTRR_DEF_TYPE, 0x1C06), refused(0xC06)),
        (Access::Write(MTRRCAP, 0), refused(0x508)),
        (Access::Read(PAT), ok(0x0007_0406_0007_0406)),
        (
            Access::Write(PAT, 0x0007_0406_0007_0401),
            ok(0x0007_0406_0007_0401),
        ),
        (
            Access::Write(PAT, 0x0007_0406_0007_0402),
            refused(0x0007_0406_0007_0401),
        ),
        (Access::Read(MCG_CAP), ok(0x105)),
        (Access::Write(MCG_CTL, u64::MAX), ok(u64::MAX)),
        (Access::Write(MCG_STATUS, 0x8), refused(0)),
        (Access::Write(MC0_CTL + 4, u64::MAX), ok(u64::MAX)),
        (Access::Write(MC0_CTL + 5, 1), refused(0)),
        (Access::Write(MC0_CTL + 3, 0), absent()),
        (Access::Write(EVNTSEL0, 0x0043_0079), ok(0x0043_0079)),
        (Access::Write(EVNTSEL1, 0x1_0000_0000), refused(0)),
        (Access::Write(PERFCTR0, 0x0000_0009_0000_FFFF), ok(0xFFFF)),
        (Access::Write(BIOS_SIGN_ID, 0), ok(0)),
        (Access::Read(PLATFORM_ID), ok(0)),
        (Access::Read(APIC_BASE), ok(0xFEE0_0100)),
        (Access::Write(APIC_BASE, 0xFEE0_0900), refused(0xFEE0_0100)),
        (Access::Read(EBL_CR_POWERON), ok(0x0180_0000)),
        // Unknown registers: MISC_ENABLE came with the Pentium 4, CESR is the Pentium's.
        (Access::Write(0x1A0, 0), absent()),
        (Access::Write(P5_CESR, 0), absent()),
        (Access::Write(0x1234_5678, 0), absent()),
    ];
    let ops: Vec<Access> = cases.iter().map(|c| c.0).collect();
    let got = msr_accesses(CpuModel::PentiumII, &ops);
    for (k, ((op, want), got)) in cases.iter().zip(got).enumerate() {
        let idx = match op {
            Access::Write(i, _) | Access::Read(i) => *i,
        };
        assert_eq!(&got, want, "case {k}: MSR {idx:#x}");
    }
}

#[test]
fn pentium_msrs_are_its_own_smaller_set() {
    use msr::index::*;
    let cases = [
        (Access::Write(P5_CESR, 0x00C0_0016), ok(0x00C0_0016)),
        (Access::Write(P5_CESR, 0x0000_1000), refused(0x00C0_0016)),
        (Access::Write(P5_CTR0, 0xFF_1234_5678), ok(0xFF_1234_5678)),
        (Access::Write(P5_CTR1, 0x100_0000_0000), refused(0)),
        (Access::Read(P5_MC_TYPE), ok(0)),
        (Access::Write(SYSENTER_CS, 0x10), absent()),
        (Access::Write(MTRRCAP, 0), absent()),
        (Access::Write(MTRR_DEF_TYPE, 0), absent()),
        (Access::Write(APIC_BASE, 0xFEE0_0100), absent()),
    ];
    let ops: Vec<Access> = cases.iter().map(|c| c.0).collect();
    let got = msr_accesses(CpuModel::Pentium, &ops);
    for (k, ((_, want), got)) in cases.iter().zip(got).enumerate() {
        assert_eq!(&got, want, "case {k}");
    }
}

#[test]
fn rdpmc_reads_the_counters_and_refuses_others() {
    let (pc, stop) = run_with(CpuModel::PentiumII, OnGp::Skip, |a| {
        a.mov(ecx, msr::index::PERFCTR1)?;
        a.mov(eax, 0x8000_0001u32)?;
        a.xor(edx, edx)?;
        a.db(&WRMSR)?;
        a.mov(ecx, 1)?;
        a.db(&RDPMC)?;
        a.mov(dword_ptr(RESULTS), eax)?;
        a.mov(dword_ptr(RESULTS + 4), edx)?;
        a.mov(word_ptr(GP_COUNT), 0)?;
        a.mov(ecx, 2)?;
        a.db(&RDPMC)?;
        a.mov(ax, word_ptr(GP_COUNT))?;
        a.mov(word_ptr(RESULTS + 8), ax)
    });
    assert_eq!(stop, Stop::Exit(DONE));
    // The low 32 bits written, sign-extended to the counter's 40.
    assert_eq!(ram64(&pc, RESULTS), 0xFF_8000_0001);
    assert_eq!(ram16(&pc, RESULTS + 8), 1, "RDPMC with ECX = 2 is #GP");
}

#[test]
fn cpuid_leaf_1_latches_the_microcode_revision() {
    let (pc, stop) = run(CpuModel::PentiumII, |a| {
        a.mov(ecx, msr::index::BIOS_SIGN_ID)?;
        a.mov(eax, 0x1234)?;
        a.mov(edx, 0x5678)?;
        a.db(&WRMSR)?;
        a.mov(eax, 1)?;
        a.db(&CPUID)?;
        a.mov(ecx, msr::index::BIOS_SIGN_ID)?;
        a.db(&RDMSR)?;
        a.mov(dword_ptr(RESULTS), eax)?;
        a.mov(dword_ptr(RESULTS + 4), edx)
    });
    assert_eq!(stop, Stop::Exit(DONE));
    assert_eq!(ram64(&pc, RESULTS), (msr::MICROCODE_REVISION as u64) << 32);
}

#[test]
fn cache_instructions_run_in_real_mode() {
    for cpu in [CpuModel::I486, CpuModel::PentiumII] {
        let (_, stop) = run(cpu, |a| a.db(&[0x0F, 0x08, 0x0F, 0x09]));
        assert_eq!(stop, Stop::Exit(DONE), "{cpu}");
    }
}

// ----- SYSENTER / SYSEXIT ------------------------------------------------------------------

#[test]
fn sysenter_and_sysexit_are_gp_in_real_mode_even_with_a_selector() {
    for op in [0x34u8, 0x35] {
        let (pc, stop) = run(CpuModel::PentiumII, |a| {
            a.mov(ecx, msr::index::SYSENTER_CS)?;
            a.mov(eax, 0x10)?;
            a.xor(edx, edx)?;
            a.db(&WRMSR)?;
            a.db(&[0x0F, op])
        });
        assert_eq!(stop, Stop::Exit(GP), "0F {op:02X}");
        assert_eq!(pc.cpu.msr.sysenter_cs, 0x10);
        // Nothing was loaded: CS is still the real-mode one.
        assert_eq!(pc.cpu.segs[1].selector, 0);
    }
}

/// SYSEXIT to ring 3 and SYSENTER back, in flat 32-bit protected mode: the selectors come from
/// SYSENTER_CS (+16/+24 with RPL 3 for SYSEXIT, +0/+8 for SYSENTER), the stacks and entry
/// points from ECX/EDX and the SYSENTER MSRs, and the hidden parts are the flat descriptors
/// the SDM prescribes, whatever the GDT holds.
#[test]
fn sysexit_and_sysenter_switch_rings_in_protected_mode() {
    const GDT: u32 = 0x0900;
    const GDTR: u32 = 0x0950;
    const KERNEL: u32 = 0x8000;
    const USER: u32 = 0x8100;
    const ENTRY: u32 = 0x8200;
    const SEEN: u32 = 0x0A00;
    // Null, ring-0 code and data, ring-3 code and data: flat 4 GiB, 32-bit.
    let gdt: [u64; 5] = [
        0,
        0x00CF_9A00_0000_FFFF,
        0x00CF_9200_0000_FFFF,
        0x00CF_FA00_0000_FFFF,
        0x00CF_F200_0000_FFFF,
    ];
    let real = asm(16, 0x7C00, |a| {
        a.cli()?;
        a.xor(ax, ax)?;
        a.mov(ds, ax)?;
        a.mov(ss, ax)?;
        a.mov(sp, 0x7000)?;
        a.lgdt(ptr(GDTR))?;
        a.mov(eax, cr0)?;
        a.or(eax, 1)?;
        a.mov(cr0, eax)?;
        // jmp dword 0008h:KERNEL
        a.db(&[0x66, 0xEA])?;
        a.db(&KERNEL.to_le_bytes())?;
        a.db(&[0x08, 0x00])
    });
    let kernel = asm(32, KERNEL as u64, |a| {
        a.mov(ax, 0x10)?;
        a.mov(ds, ax)?;
        a.mov(es, ax)?;
        a.mov(ss, ax)?;
        a.mov(esp, 0x7000)?;
        for (idx, v) in [
            (msr::index::SYSENTER_CS, 0x08u32),
            (msr::index::SYSENTER_ESP, 0x6000),
            (msr::index::SYSENTER_EIP, ENTRY),
        ] {
            a.mov(ecx, idx)?;
            a.mov(eax, v)?;
            a.xor(edx, edx)?;
            a.db(&WRMSR)?;
        }
        a.mov(ecx, 0x5000)?;
        a.mov(edx, USER)?;
        a.db(&[0x0F, 0x35]) // sysexit
    });
    let user = asm(32, USER as u64, |a| {
        a.mov(ax, cs)?;
        a.mov(word_ptr(SEEN), ax)?;
        a.mov(ax, ss)?;
        a.mov(word_ptr(SEEN + 2), ax)?;
        a.mov(dword_ptr(SEEN + 4), esp)?;
        a.db(&[0x0F, 0x34]) // sysenter
    });
    let entry = asm(32, ENTRY as u64, |a| {
        a.mov(al, DONE as i32)?;
        a.out(0xF4, al)?;
        a.hlt()
    });
    let mut pc = machine(CpuModel::PentiumII);
    let gdt_bytes: Vec<u8> = gdt.iter().flat_map(|d| d.to_le_bytes()).collect();
    pc.load_image(GDT, &gdt_bytes).unwrap();
    let mut gdtr = vec![(gdt_bytes.len() - 1) as u8, 0];
    gdtr.extend_from_slice(&GDT.to_le_bytes());
    pc.load_image(GDTR, &gdtr).unwrap();
    pc.load_image(0x7C00, &real).unwrap();
    pc.load_image(KERNEL, &kernel).unwrap();
    pc.load_image(USER, &user).unwrap();
    pc.load_image(ENTRY, &entry).unwrap();
    pc.set_entry(0, 0x7C00);
    let stop = pc.run(RunLimits {
        max_instructions: Some(10_000),
    });
    assert_eq!(stop, Stop::Exit(DONE));
    // In ring 3: CS = SYSENTER_CS + 16 | 3, SS = SYSENTER_CS + 24 | 3, ESP from ECX.
    assert_eq!(ram16(&pc, SEEN), 0x1B);
    assert_eq!(ram16(&pc, SEEN + 2), 0x23);
    assert_eq!(ram32(&pc, SEEN + 4), 0x5000);
    // Back in ring 0 through SYSENTER.
    let code = pc.cpu.segs[1];
    let stack = pc.cpu.segs[2];
    assert_eq!(
        (code.selector, code.base, code.limit, code.attrs),
        (0x08, 0, 0xFFFF_FFFF, 0xC09B)
    );
    assert_eq!(
        (stack.selector, stack.base, stack.limit, stack.attrs),
        (0x10, 0, 0xFFFF_FFFF, 0xC093)
    );
    assert_eq!(pc.cpu.regs[4], 0x6000);
    assert_eq!(pc.cpu.cpl(), 0);
    assert_eq!(pc.cpu.eflags() & (1 << 9 | 1 << 17), 0, "IF and VM clear");
}
