//! Guest debug registers on a whole machine, in real mode: breakpoints armed while the
//! interpreter runs cached traces still fire, a breakpoint written from outside (debugger, state
//! load) takes effect after `state_loaded`, and the trace path and the plain decode path count
//! the same instructions. The protected-mode rules are checked by `test-roms/debugreg.asm`.
//!
//! The #DB handler (IVT vector 1) counts its entries, records CX and disarms DR7, so the loop
//! body below runs to its end either way.

use glassbox::cpu::CpuModel;
use glassbox::machine::{MachineConfig, Pc, RunLimits, Stop};
use glassbox_devices::debugport::DebugSink;
use iced_x86::code_asm::*;

/// Exit value of a program that ran to its end.
const DONE: u32 = 0x55;
const ENTRY: u64 = 0x7C00;
const DB_HANDLER: u16 = 0x0500;
/// #DB entries.
const DB_COUNT: u32 = 0x04F0;
/// CX when the last #DB was taken.
const DB_CX: u32 = 0x04F2;
/// Data the loop writes (a data breakpoint's target).
const DATA: u32 = 0x0800;

fn asm(ip: u64, f: impl FnOnce(&mut CodeAssembler) -> Result<(), IcedError>) -> Vec<u8> {
    let mut a = CodeAssembler::new(16).expect("assembler");
    f(&mut a).expect("assemble");
    a.assemble(ip).expect("encode")
}

fn db_handler() -> Vec<u8> {
    asm(DB_HANDLER as u64, |a| {
        a.inc(word_ptr(DB_COUNT))?;
        a.mov(word_ptr(DB_CX), cx)?;
        a.xor(eax, eax)?;
        a.mov(dr7, eax)?;
        a.iret()
    })
}

/// A loop of 200 rounds over a body at `body`'s label; in round `arm_at` (CX) the program
/// writes DR0 and DR7 (`dr7`) itself unless `arm_at` is 0. `watch_data`: DR0 is [`DATA`]
/// rather than the body's address.
fn program(arm_at: i32, dr7_value: u32, watch_data: bool) -> Vec<u8> {
    asm(ENTRY, |a| {
        let mut top = a.create_label();
        let mut skip = a.create_label();
        a.xor(ax, ax)?;
        a.mov(ds, ax)?;
        a.mov(ss, ax)?;
        a.mov(sp, 0x7000)?;
        a.mov(word_ptr(4), DB_HANDLER as i32)?;
        a.mov(word_ptr(6), 0)?;
        a.xor(ebx, ebx)?;
        a.mov(cx, 200)?;
        a.set_label(&mut top)?;
        a.inc(bx)?; // the body: DR0 points here
        a.mov(word_ptr(DATA), bx)?;
        a.cmp(cx, arm_at)?;
        a.jne(skip)?;
        let target = if watch_data { DATA } else { 0 };
        a.mov(eax, target)?;
        a.mov(dr0, eax)?;
        a.mov(eax, dr7_value)?;
        a.mov(dr7, eax)?;
        a.set_label(&mut skip)?;
        a.loop_(top)?;
        a.mov(al, DONE as i32)?;
        a.out(0xF4, al)?;
        a.hlt()
    })
}

/// Linear address of the loop body of `code` (`inc bx` / `mov [DATA], bx`).
fn body_linear(code: &[u8]) -> u32 {
    let [lo, hi] = (DATA as u16).to_le_bytes();
    let pat = [0x43, 0x89, 0x1E, lo, hi];
    let at = code
        .windows(pat.len())
        .position(|w| w == pat)
        .expect("the loop body");
    ENTRY as u32 + at as u32
}

struct Outcome {
    stop: Stop,
    bx: u32,
    db_count: u16,
    db_cx: u16,
    dr6: u32,
    instructions: u64,
}

fn run(code: &[u8], decode_cache: bool, prepare: impl FnOnce(&mut Pc)) -> Outcome {
    let mut pc = Pc::new(MachineConfig {
        cpu: CpuModel::I486,
        memory: 1 << 20,
        clock_hz: None,
        debugcon: DebugSink::Buffer,
        ..Default::default()
    })
    .expect("machine");
    pc.cpu.decode_cache = decode_cache;
    pc.load_image(ENTRY as u32, code).expect("load");
    pc.load_image(DB_HANDLER as u32, &db_handler())
        .expect("load");
    pc.set_entry(0, ENTRY as u16);
    prepare(&mut pc);
    let stop = pc.run(RunLimits {
        max_instructions: Some(1_000_000),
    });
    let ram = pc.board.mem.ram();
    let word = |a: u32| u16::from_le_bytes([ram[a as usize], ram[a as usize + 1]]);
    Outcome {
        stop,
        bx: pc.cpu.regs[3] & 0xFFFF,
        db_count: word(DB_COUNT),
        db_cx: word(DB_CX),
        dr6: pc.cpu.dr[6],
        instructions: pc.stats().instructions,
    }
}

#[test]
fn instruction_breakpoint_armed_while_traces_run_fires() {
    let code = program(100, 0x401, false);
    let code = patch_dr0(&code, body_linear(&code));
    let cached = run(&code, true, |_| {});
    let plain = run(&code, false, |_| {});
    for o in [&cached, &plain] {
        assert_eq!(o.stop, Stop::Exit(DONE));
        assert_eq!(o.bx, 200, "the body ran every round");
        assert_eq!(o.db_count, 1, "one #DB: the handler disarms");
        assert_eq!(o.db_cx, 99, "the first round after arming");
        assert_eq!(o.dr6 & 0xF, 1, "DR6.B0");
    }
    assert_eq!(cached.instructions, plain.instructions);
}

#[test]
fn data_breakpoint_armed_while_traces_run_fires() {
    // R/W0 = 01 (write), LEN0 = 01 (word), L0.
    let code = program(150, 0x0005_0401, true);
    let cached = run(&code, true, |_| {});
    let plain = run(&code, false, |_| {});
    for o in [&cached, &plain] {
        assert_eq!(o.stop, Stop::Exit(DONE));
        assert_eq!(o.bx, 200);
        assert_eq!(o.db_count, 1);
        assert_eq!(o.db_cx, 149, "the write of the next round, a trap after it");
        assert_eq!(o.dr6 & 0xF, 1);
    }
    assert_eq!(cached.instructions, plain.instructions);
}

#[test]
fn breakpoint_written_from_outside_takes_effect_after_state_loaded() {
    let code = program(0, 0, false);
    let body = body_linear(&code);
    let o = run(&code, true, |pc| {
        pc.cpu.dr[0] = body;
        pc.cpu.dr[7] = 0x402; // G0
        pc.cpu.state_loaded();
    });
    assert_eq!(o.stop, Stop::Exit(DONE));
    assert_eq!(o.bx, 200);
    assert_eq!(o.db_count, 1);
    assert_eq!(o.db_cx, 200, "the first round");
}

#[test]
fn no_breakpoint_no_debug_exception() {
    let code = program(0, 0, false);
    let o = run(&code, true, |_| {});
    assert_eq!(o.stop, Stop::Exit(DONE));
    assert_eq!(o.bx, 200);
    assert_eq!(o.db_count, 0);
}

/// Replaces the `mov eax, 0` that loads DR0 with `mov eax, addr`.
fn patch_dr0(code: &[u8], addr: u32) -> Vec<u8> {
    // 66 B8 00 00 00 00 0F 23 C0: mov eax, 0 / mov dr0, eax
    let pat = [0x66, 0xB8, 0, 0, 0, 0, 0x0F, 0x23, 0xC0];
    let at = code
        .windows(pat.len())
        .position(|w| w == pat)
        .expect("mov eax, 0 / mov dr0, eax");
    let mut out = code.to_vec();
    out[at + 2..at + 6].copy_from_slice(&addr.to_le_bytes());
    out
}
