//! Whole-machine behaviour: the run loop, the device bus, interrupts, time, reset and A20,
//! driven by small real-mode programs assembled with iced-x86.

use glassbox::cpu::CpuModel;
use glassbox::machine::{MachineConfig, Pc, RunLimits, Stop};
use glassbox_devices::debugport::DebugSink;
use iced_x86::code_asm::*;

/// Assembles 16-bit code for address `ip` (offset within its segment).
fn asm16(ip: u64, f: impl FnOnce(&mut CodeAssembler) -> Result<(), IcedError>) -> Vec<u8> {
    let mut a = CodeAssembler::new(16).expect("16-bit assembler");
    f(&mut a).expect("assemble");
    a.assemble(ip).expect("encode")
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

/// Loads `code` at 0000:7C00 and runs it.
fn run_at_7c00(cpu: CpuModel, code: &[u8]) -> (Pc, Stop) {
    let mut pc = machine(cpu);
    pc.load_image(0x7C00, code).expect("load");
    pc.set_entry(0, 0x7C00);
    let stop = pc.run(RunLimits {
        max_instructions: Some(10_000_000),
    });
    (pc, stop)
}

#[test]
fn exit_port_ends_the_run_with_the_value() {
    let code = asm16(0x7C00, |a| {
        a.mov(al, 0x2A)?;
        a.out(0xF4, al)?;
        a.hlt()
    });
    for cpu in CpuModel::ALL {
        let (_, stop) = run_at_7c00(cpu, &code);
        assert_eq!(stop, Stop::Exit(0x2A), "{cpu}");
    }
}

#[test]
fn debug_console_captures_output() {
    let code = asm16(0x7C00, |a| {
        for b in b"hi\n" {
            a.mov(al, *b as u32)?;
            a.out(0xE9, al)?;
        }
        a.mov(al, 0)?;
        a.out(0xF4, al)
    });
    let (pc, stop) = run_at_7c00(CpuModel::I8086, &code);
    assert_eq!(stop, Stop::Exit(0));
    assert_eq!(pc.debug_output(), b"hi\n");
}

#[test]
fn pit_interrupts_wake_hlt_at_the_programmed_rate() {
    // IRQ0 handler at 0000:7E00 counts ticks in [0x600].
    let handler = asm16(0x7E00, |a| {
        a.inc(word_ptr(0x600))?;
        a.mov(al, 0x20)?;
        a.out(0x20, al)?; // non-specific EOI
        a.iret()
    });
    let main = asm16(0x7C00, |a| {
        let mut wait = a.create_label();
        a.xor(ax, ax)?;
        a.mov(ds, ax)?;
        a.mov(ss, ax)?;
        a.mov(sp, 0x7000)?;
        a.mov(word_ptr(8 * 4), 0x7E00)?;
        a.mov(word_ptr(8 * 4 + 2), 0)?;
        // 8259: edge triggered, cascade, vector base 8, 8086 mode; unmask IRQ0 only.
        for (port, v) in [
            (0x20, 0x11),
            (0x21, 0x08),
            (0x21, 0x04),
            (0x21, 0x01),
            (0x21, 0xFE),
        ] {
            a.mov(al, v)?;
            a.out(port, al)?;
        }
        // 8254 channel 0, mode 2, 1193 counts = 1 ms.
        a.mov(al, 0x34)?;
        a.out(0x43, al)?;
        a.mov(ax, 1193)?;
        a.out(0x40, al)?;
        a.mov(al, ah)?;
        a.out(0x40, al)?;
        a.sti()?;
        a.set_label(&mut wait)?;
        a.hlt()?;
        a.cmp(word_ptr(0x600), 6)?;
        a.jb(wait)?;
        a.mov(al, 0)?;
        a.out(0xF4, al)
    });
    let mut pc = machine(CpuModel::I486);
    pc.load_image(0x7C00, &main).unwrap();
    pc.load_image(0x7E00, &handler).unwrap();
    pc.set_entry(0, 0x7C00);
    let stop = pc.run(RunLimits {
        max_instructions: Some(1_000_000),
    });
    assert_eq!(stop, Stop::Exit(0));
    // Setting mode 2 raises OUT0 (a rising edge: the first tick, at once); then one tick per
    // 1 ms period, so the sixth lands 5 ms of virtual time after the PIT was programmed.
    let ms = pc.stats().cycles as f64 * 1000.0 / pc.clock_hz() as f64;
    assert!(
        (4.95..5.2).contains(&ms),
        "six ticks took {ms:.3} ms of virtual time"
    );
    // HLT skips idle time instead of executing it.
    assert!(
        pc.stats().instructions < 200,
        "{} instructions",
        pc.stats().instructions
    );
}

#[test]
fn triple_fault_resets_the_machine() {
    // A 4 KiB ROM at 0xFF000: count resets in RAM (which survives a reset), then fault with an
    // empty IDT: #GP cannot be delivered, nor #DF, so the CPU shuts down and the board resets it.
    let code = asm16(0xF000, |a| {
        let mut done = a.create_label();
        a.xor(ax, ax)?;
        a.mov(ds, ax)?;
        a.mov(ss, ax)?;
        a.mov(sp, 0x7000)?;
        a.inc(byte_ptr(0x500))?;
        a.cmp(byte_ptr(0x500), 3)?;
        a.jae(done)?;
        a.lidt(ptr(0xF0F0).cs())?; // the empty IDT descriptor at ROM offset 0xF0
        a.int3()?;
        a.set_label(&mut done)?;
        a.mov(al, byte_ptr(0x500))?;
        a.out(0xF4, al)
    });
    let mut rom = vec![0xF4u8; 0x1000];
    assert!(code.len() < 0xF0);
    rom[..code.len()].copy_from_slice(&code);
    rom[0xF0..0xF6].fill(0);
    rom[0xFF0..0xFF5].copy_from_slice(&[0xEA, 0x00, 0xF0, 0x00, 0xF0]); // jmp F000:F000
    for cpu in [CpuModel::I286, CpuModel::I386, CpuModel::I486] {
        let mut pc = machine(cpu);
        pc.load_bios(&rom).unwrap();
        let stop = pc.run(RunLimits {
            max_instructions: Some(100_000),
        });
        assert_eq!(stop, Stop::Exit(3), "{cpu}");
        assert_eq!(pc.stats().resets, 2, "{cpu}");
    }
}

#[test]
fn a20_gate_through_port_92() {
    let code = asm16(0x7C00, |a| {
        a.mov(ax, 0xFFFF)?;
        a.mov(es, ax)?;
        a.xor(ax, ax)?;
        a.mov(ds, ax)?;
        a.mov(byte_ptr(0x0000), 0x11)?;
        // A20 on (power-on state): FFFF:0010 is 0x100000, a different byte.
        a.mov(byte_ptr(0x0010).es(), 0x22)?;
        a.mov(bl, byte_ptr(0x0000))?; // 0x11
        a.in_(al, 0x92)?;
        a.and(al, 0xFD)?;
        a.out(0x92, al)?; // A20 off
        a.mov(bh, byte_ptr(0x0010).es())?; // wraps to 0x000000: 0x11
        a.mov(byte_ptr(0x0010).es(), 0x33)?; // writes 0x000000
        a.or(al, 2)?;
        a.out(0x92, al)?; // A20 on again
        a.mov(cl, byte_ptr(0x0000))?; // 0x33
        a.mov(ch, byte_ptr(0x0010).es())?; // 0x22 again
        a.mov(al, 0)?;
        a.out(0xF4, al)
    });
    let (pc, stop) = run_at_7c00(CpuModel::I386, &code);
    assert_eq!(stop, Stop::Exit(0));
    assert_eq!(
        pc.cpu.r16(3),
        0x1111,
        "BX: read before and through the wrap"
    );
    assert_eq!(
        pc.cpu.r16(1),
        0x2233,
        "CX: the write went to 0x000000; 0x100000 kept 0x22"
    );
}

#[test]
fn unclaimed_ports_read_all_ones_and_the_8086_wraps_at_one_megabyte() {
    let code = asm16(0x7C00, |a| {
        a.mov(dx, 0x3FF0)?;
        a.in_(al, dx)?;
        a.mov(bl, al)?;
        a.mov(ax, 0xFFFF)?;
        a.mov(es, ax)?;
        a.xor(ax, ax)?;
        a.mov(ds, ax)?;
        a.mov(byte_ptr(0x0010).es(), 0x5A)?;
        a.mov(bh, byte_ptr(0x0000))?;
        a.mov(al, 0)?;
        a.out(0xF4, al)
    });
    let (pc, stop) = run_at_7c00(CpuModel::I8086, &code);
    assert_eq!(stop, Stop::Exit(0));
    assert_eq!(pc.cpu.r16(3), 0x5AFF);
}

#[test]
fn invalid_opcode_raises_ud_through_the_ivt_on_the_286() {
    let code = asm16(0x7C00, |a| {
        a.xor(ax, ax)?;
        a.mov(ds, ax)?;
        a.mov(ss, ax)?;
        a.mov(sp, 0x7000)?;
        a.mov(word_ptr(6 * 4), 0x7D00)?;
        a.mov(word_ptr(6 * 4 + 2), 0)?;
        a.db(&[0x0F, 0xFF])?; // no such opcode
        a.mov(al, 1)?;
        a.out(0xF4, al)
    });
    let fault_at = 0x7C00 + code.windows(2).position(|w| w == [0x0F, 0xFF]).unwrap() as u16;
    let ud_handler = asm16(0x7D00, |a| {
        a.pop(bx)?; // faulting IP
        a.mov(al, 0)?;
        a.out(0xF4, al)
    });
    let mut pc = machine(CpuModel::I286);
    pc.load_image(0x7C00, &code).unwrap();
    pc.load_image(0x7D00, &ud_handler).unwrap();
    pc.set_entry(0, 0x7C00);
    assert_eq!(
        pc.run(RunLimits {
            max_instructions: Some(1000)
        }),
        Stop::Exit(0)
    );
    assert_eq!(
        pc.cpu.r16(3),
        fault_at,
        "the 286 pushes the address of the faulting opcode"
    );
}

#[test]
fn instruction_limit_stops_an_endless_loop() {
    let code = asm16(0x7C00, |a| {
        let mut top = a.create_label();
        a.set_label(&mut top)?;
        a.inc(ax)?;
        a.jmp(top)
    });
    let mut pc = machine(CpuModel::I386);
    pc.load_image(0x7C00, &code).unwrap();
    pc.set_entry(0, 0x7C00);
    assert_eq!(
        pc.run(RunLimits {
            max_instructions: Some(1001)
        }),
        Stop::InstructionLimit
    );
    assert_eq!(pc.stats().instructions, 1001);
    assert_eq!(pc.cpu.r16(0), 501);
}

#[test]
fn hlt_with_interrupts_off_stops_the_machine() {
    let code = asm16(0x7C00, |a| {
        a.cli()?;
        a.hlt()
    });
    let (_, stop) = run_at_7c00(CpuModel::I386, &code);
    assert_eq!(stop, Stop::Halted);
}

/// An MMIO window that remembers writes and answers reads with `offset ^ 0xA5`.
struct Probe(std::rc::Rc<std::cell::RefCell<Vec<(u32, u8, u32)>>>);

impl glassbox::machine::MmioHandler for Probe {
    fn read(&mut self, offset: u32, size: u8) -> u32 {
        let v = (offset ^ 0xA5) & (u32::MAX >> (32 - 8 * size as u32));
        self.0.borrow_mut().push((offset, size, v));
        v
    }
    fn write(&mut self, offset: u32, size: u8, value: u32) {
        self.0
            .borrow_mut()
            .push((offset | 0x8000_0000, size, value));
    }
}

#[test]
fn mmio_windows_receive_guest_accesses() {
    let code = asm16(0x7C00, |a| {
        a.mov(ax, 0xD000)?;
        a.mov(es, ax)?;
        a.mov(word_ptr(0x0010).es(), 0x1234)?; // write 2 bytes at 0xD0010
        a.mov(bl, byte_ptr(0x0003).es())?; // read 1 byte at 0xD0003
        a.mov(al, 0)?;
        a.out(0xF4, al)
    });
    let log = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let mut pc = machine(CpuModel::I386);
    pc.add_mmio(0xD0000, 0x1000, Box::new(Probe(log.clone())))
        .unwrap();
    pc.load_image(0x7C00, &code).unwrap();
    pc.set_entry(0, 0x7C00);
    assert_eq!(
        pc.run(RunLimits {
            max_instructions: Some(100)
        }),
        Stop::Exit(0)
    );
    assert_eq!(
        *log.borrow(),
        vec![(0x8000_0010, 2, 0x1234), (0x3, 1, 0xA6)]
    );
    assert_eq!(pc.cpu.r8(3), 0xA6);
}

/// Random bytes as code, on every model: whatever the guest does, the emulator must neither
/// panic nor hang (faults go through the IVT, triple faults reset the machine).
#[test]
fn random_code_never_crashes_the_emulator() {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let programs = if cfg!(debug_assertions) { 24 } else { 100 };
    for round in 0..programs {
        for cpu in CpuModel::ALL {
            let mut pc = machine(cpu);
            let code: Vec<u8> = (0..0x10000).map(|_| next() as u8).collect();
            pc.load_image(0x10000, &code).unwrap();
            // Every vector points at random code too, so faults keep running random bytes.
            let ivt: Vec<u8> = (0..0x400).map(|_| next() as u8).collect();
            pc.load_image(0, &ivt).unwrap();
            pc.set_entry(0x1000, (next() & 0xFFFF) as u16);
            pc.cpu.decode_cache = round % 2 == 0;
            let stop = pc.run(RunLimits {
                max_instructions: Some(20_000),
            });
            assert!(
                matches!(
                    stop,
                    Stop::InstructionLimit
                        | Stop::Halted
                        | Stop::Exit(_)
                        | Stop::Shutdown
                        | Stop::Unsupported(_)
                ),
                "{cpu}: {stop:?}"
            );
        }
    }
}

#[path = "support/fatdisk.rs"]
mod fatdisk;

#[test]
fn fat16_disk_images_are_readable() {
    use std::io::Read;
    let img = fatdisk::fat16_disk(16, &[("HELLO.TXT", b"Hello, disk!\r\n")]);
    assert_eq!(img.len(), 16 << 20);
    assert_eq!(&img[510..512], &[0x55, 0xAA]);
    assert_eq!(img[0x1BE], 0x80, "active partition");
    assert_eq!(img[0x1BE + 4], 0x04, "FAT16 under 32 MiB");
    let mut copy = img.clone();
    let part = &mut copy[63 * 512..];
    let volume =
        fatfs::FileSystem::new(std::io::Cursor::new(part), fatfs::FsOptions::new()).unwrap();
    assert_eq!(volume.fat_type(), fatfs::FatType::Fat16);
    let mut s = String::new();
    volume
        .root_dir()
        .open_file("HELLO.TXT")
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(s, "Hello, disk!\r\n");
}

/// Code written to a page that was plain data (which the CPU then writes straight into host
/// memory) runs as written, and a later write to it, once it holds cached code, is seen too:
/// the page must stop taking direct writes as soon as its code is cached.
#[test]
fn code_written_into_a_data_page_runs_as_written_each_time() {
    let code = asm16(0x7C00, |a| {
        // Build `mov al, 1 / ret` at 0000:9000, one byte store at a time.
        for (k, b) in [0xB0u32, 0x01, 0xC3].into_iter().enumerate() {
            a.mov(byte_ptr(0x9000 + k as u32), b)?;
        }
        a.call(0x9000u64)?;
        a.mov(bl, al)?;
        // Patch the immediate: the cached `mov al, 1` is stale now.
        a.mov(byte_ptr(0x9001), 2u32)?;
        a.call(0x9000u64)?;
        a.mov(bh, al)?;
        a.mov(al, bl)?;
        a.add(al, bh)?;
        a.out(0xF4, al)?;
        a.hlt()
    });
    for cpu in CpuModel::ALL {
        let (_, stop) = run_at_7c00(cpu, &code);
        assert_eq!(
            stop,
            Stop::Exit(3),
            "{cpu}: 1 from the first call, 2 from the second"
        );
    }
}
