//! Tests of the VGA against the register descriptions of the IBM VGA
//! technical reference and the standard BIOS mode tables.

use super::regs::*;
use super::*;

/// Register values of a standard mode, as published in the IBM BIOS mode
/// tables: misc output, sequencer 0–4, CRTC 0–0x18, GC 0–8, attribute 0–0x14.
struct ModeRegs {
    misc: u8,
    seq: [u8; SEQ_COUNT],
    crtc: [u8; CRTC_COUNT],
    gc: [u8; GC_COUNT],
    ac: [u8; AC_COUNT],
}

const MODE_03H: ModeRegs = ModeRegs {
    misc: 0x67,
    seq: [0x03, 0x00, 0x03, 0x00, 0x02],
    crtc: [
        0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00, 0x00, 0x00,
        0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF,
    ],
    gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x00, 0xFF],
    ac: [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E,
        0x3F, 0x0C, 0x00, 0x0F, 0x08, 0x00,
    ],
};

const MODE_04H: ModeRegs = ModeRegs {
    misc: 0x63,
    seq: [0x03, 0x09, 0x03, 0x00, 0x02],
    crtc: [
        0x2D, 0x27, 0x28, 0x90, 0x2B, 0x80, 0xBF, 0x1F, 0x00, 0xC1, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x9C, 0x8E, 0x8F, 0x14, 0x00, 0x96, 0xB9, 0xA2, 0xFF,
    ],
    gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x0F, 0x00, 0xFF],
    ac: [
        0x00, 0x13, 0x15, 0x17, 0x02, 0x04, 0x06, 0x07, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
        0x17, 0x01, 0x00, 0x03, 0x00, 0x00,
    ],
};

const MODE_12H: ModeRegs = ModeRegs {
    misc: 0xE3,
    seq: [0x03, 0x01, 0x0F, 0x00, 0x06],
    crtc: [
        0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0x0B, 0x3E, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0xEA, 0x8C, 0xDF, 0x28, 0x00, 0xE7, 0x04, 0xE3, 0xFF,
    ],
    gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0F, 0xFF],
    ac: [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E,
        0x3F, 0x01, 0x00, 0x0F, 0x00, 0x00,
    ],
};

const MODE_13H: ModeRegs = ModeRegs {
    misc: 0x63,
    seq: [0x03, 0x01, 0x0F, 0x00, 0x0E],
    crtc: [
        0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F, 0x00, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x40, 0x96, 0xB9, 0xA3, 0xFF,
    ],
    gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0F, 0xFF],
    ac: [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E,
        0x0F, 0x41, 0x00, 0x0F, 0x00, 0x00,
    ],
};

const CPS: u64 = 100_000_000;

fn at(c: u64) -> Cycles {
    Cycles(c)
}

fn out(v: &mut Vga, port: u16, value: u8) {
    v.write_port(port, value, Cycles::ZERO);
}

fn inp(v: &mut Vga, port: u16) -> u8 {
    v.read_port(port, Cycles::ZERO)
}

fn set_seq(v: &mut Vga, i: u8, value: u8) {
    out(v, PORT_SEQ_INDEX, i);
    out(v, PORT_SEQ_DATA, value);
}

fn set_gc(v: &mut Vga, i: u8, value: u8) {
    out(v, PORT_GC_INDEX, i);
    out(v, PORT_GC_DATA, value);
}

fn set_crtc(v: &mut Vga, i: u8, value: u8) {
    out(v, PORT_CRTC_INDEX_COLOR, i);
    out(v, PORT_CRTC_DATA_COLOR, value);
}

fn set_ac(v: &mut Vga, i: u8, value: u8) {
    inp(v, PORT_STATUS1_COLOR);
    out(v, PORT_AC_WRITE, i);
    out(v, PORT_AC_WRITE, value);
    out(v, PORT_AC_WRITE, AC_PAS);
}

/// Programs `m` through the ports, as a BIOS mode set does.
fn program(v: &mut Vga, m: &ModeRegs) {
    out(v, PORT_VGA_ENABLE, 1);
    out(v, PORT_MISC_WRITE, m.misc);
    for (i, &r) in m.seq.iter().enumerate() {
        set_seq(v, i as u8, r);
    }
    set_crtc(
        v,
        CR_VRETRACE_END as u8,
        m.crtc[CR_VRETRACE_END] & !VRE_PROTECT,
    );
    for (i, &r) in m.crtc.iter().enumerate() {
        set_crtc(v, i as u8, r);
    }
    for (i, &r) in m.gc.iter().enumerate() {
        set_gc(v, i as u8, r);
    }
    inp(v, PORT_STATUS1_COLOR);
    for (i, &r) in m.ac.iter().enumerate() {
        out(v, PORT_AC_WRITE, i as u8);
        out(v, PORT_AC_WRITE, r);
    }
    out(v, PORT_AC_WRITE, AC_PAS);
}

fn vga_with(m: &ModeRegs) -> Vga {
    let mut v = Vga::new(CPS);
    program(&mut v, m);
    v
}

/// A planar 64 KiB window at A0000 with all planes writable.
fn planar() -> Vga {
    vga_with(&MODE_12H)
}

fn planes_at(v: &Vga, addr: usize) -> [u8; 4] {
    [0, 1, 2, 3].map(|p| v.plane_byte(p, addr))
}

/// Loads the latches with `latches` at plane address `addr` (through a
/// write-mode-0 write per plane, then a read).
fn preset(v: &mut Vga, addr: u32, latches: [u8; 4]) {
    set_gc(v, GC_MODE as u8, 0x00);
    set_gc(v, GC_ENABLE_SET_RESET as u8, 0);
    set_gc(v, GC_DATA_ROTATE as u8, 0);
    set_gc(v, GC_BIT_MASK as u8, 0xFF);
    for (p, &l) in latches.iter().enumerate() {
        set_seq(v, SEQ_MAP_MASK as u8, 1 << p);
        v.mem_write(0xA_0000 + addr, l);
    }
    set_seq(v, SEQ_MAP_MASK as u8, 0x0F);
    v.mem_read(0xA_0000 + addr);
}

#[test]
fn power_on_registers_are_zero_and_memory_off() {
    let mut v = Vga::new(CPS);
    assert_eq!(inp(&mut v, PORT_MISC_READ), 0);
    // The motherboard adapter is enabled from power-on; the misc output register's RAM
    // enable bit is what keeps memory off until the BIOS programs a mode.
    assert_eq!(inp(&mut v, PORT_VGA_ENABLE), 1);
    for i in 0..SEQ_COUNT {
        assert_eq!(v.seq_reg(i), 0);
    }
    for i in 0..CRTC_COUNT {
        assert_eq!(v.crtc_reg(i), 0);
    }
    assert_eq!(v.ac_reg(6), 0x14, "palette is the CGA text palette");
    assert_eq!(v.dac_entry(0x14), [0x2A, 0x15, 0x00], "brown");
    assert_eq!(v.dac_entry(0x3F), [0x3F, 0x3F, 0x3F]);
    // RAM disabled: reads float, writes vanish.
    v.mem_write(0xB_8000, 0x41);
    assert_eq!(v.mem_read(0xB_8000), 0xFF);
    assert_eq!(v.plane_byte(0, 0), 0);
    assert!(!v.is_graphics());
}

#[test]
fn write_mode_0_set_reset_rotate_function_and_bit_mask() {
    let mut v = planar();
    preset(&mut v, 0x10, [0xF0, 0x0F, 0xAA, 0x55]);
    // Planes 0 and 2 from set/reset (0b0001: plane 0 ones, plane 2 zeros),
    // planes 1 and 3 from the host byte rotated right by 4.
    set_gc(&mut v, GC_SET_RESET as u8, 0x01);
    set_gc(&mut v, GC_ENABLE_SET_RESET as u8, 0x05);
    set_gc(&mut v, GC_DATA_ROTATE as u8, 0x04);
    set_gc(&mut v, GC_BIT_MASK as u8, 0x3C);
    v.mem_write(0xA_0010, 0x12); // rotated: 0x21
    let m = 0x3C;
    assert_eq!(
        planes_at(&v, 0x10),
        [
            m | (0xF0 & !m),
            (0x21 & m) | (0x0F & !m),
            (0xAA & !m),
            (0x21 & m) | (0x55 & !m),
        ]
    );
    // Logical functions combine with the latches before the bit mask.
    for (func, f) in [
        (FUNC_AND, (|d: u8, l: u8| d & l) as fn(u8, u8) -> u8),
        (FUNC_OR, |d, l| d | l),
        (FUNC_XOR, |d, l| d ^ l),
    ] {
        preset(&mut v, 0x20, [0xF0, 0x0F, 0xAA, 0x55]);
        set_gc(&mut v, GC_DATA_ROTATE as u8, func << ROTATE_FUNC_SHIFT);
        set_gc(&mut v, GC_BIT_MASK as u8, 0xF0);
        v.mem_write(0xA_0020, 0x3C);
        let expect = [0xF0u8, 0x0F, 0xAA, 0x55].map(|l| (f(0x3C, l) & 0xF0) | (l & 0x0F));
        assert_eq!(planes_at(&v, 0x20), expect, "function {func}");
    }
    // The map mask protects planes entirely.
    preset(&mut v, 0x30, [1, 2, 3, 4]);
    set_seq(&mut v, SEQ_MAP_MASK as u8, 0x02);
    v.mem_write(0xA_0030, 0x99);
    assert_eq!(planes_at(&v, 0x30), [1, 0x99, 3, 4]);
}

#[test]
fn write_mode_1_copies_the_latches() {
    let mut v = planar();
    preset(&mut v, 0x100, [0x11, 0x22, 0x33, 0x44]);
    set_gc(&mut v, GC_MODE as u8, 0x01);
    set_gc(&mut v, GC_BIT_MASK as u8, 0x00); // ignored in write mode 1
    set_gc(&mut v, GC_DATA_ROTATE as u8, FUNC_XOR << ROTATE_FUNC_SHIFT); // ignored
    v.mem_write(0xA_0200, 0x77);
    assert_eq!(planes_at(&v, 0x200), [0x11, 0x22, 0x33, 0x44]);
    // Only the map-masked planes are written.
    set_seq(&mut v, SEQ_MAP_MASK as u8, 0x09);
    preset(&mut v, 0x300, [0xAA; 4]);
    set_seq(&mut v, SEQ_MAP_MASK as u8, 0x09);
    set_gc(&mut v, GC_MODE as u8, 0x01);
    v.mem_read(0xA_0100);
    v.mem_write(0xA_0300, 0);
    assert_eq!(planes_at(&v, 0x300), [0x11, 0xAA, 0xAA, 0x44]);
}

#[test]
fn write_mode_2_expands_host_bits_to_planes() {
    let mut v = planar();
    preset(&mut v, 0x40, [0x00, 0xFF, 0x0F, 0xF0]);
    set_gc(&mut v, GC_MODE as u8, 0x02);
    set_gc(&mut v, GC_BIT_MASK as u8, 0x81);
    // Colour 0b0101: planes 0 and 2 get ones, 1 and 3 zeros, under the mask.
    set_gc(&mut v, GC_DATA_ROTATE as u8, 0x07); // rotation does not apply
    set_gc(&mut v, GC_ENABLE_SET_RESET as u8, 0x0F); // nor does set/reset
    v.mem_write(0xA_0040, 0xF5);
    assert_eq!(planes_at(&v, 0x40), [0x81, 0x7E, 0x8F, 0x70]);
}

#[test]
fn write_mode_3_uses_rotated_data_as_mask_and_set_reset_as_colour() {
    let mut v = planar();
    preset(&mut v, 0x50, [0x00, 0x00, 0xFF, 0xFF]);
    set_gc(&mut v, GC_MODE as u8, 0x03);
    set_gc(&mut v, GC_SET_RESET as u8, 0x03);
    set_gc(&mut v, GC_ENABLE_SET_RESET as u8, 0x00); // ignored in mode 3
    set_gc(&mut v, GC_DATA_ROTATE as u8, 0x01);
    set_gc(&mut v, GC_BIT_MASK as u8, 0xF0);
    // 0x1F rotated right by 1 = 0x8F; effective mask 0x8F & 0xF0 = 0x80.
    v.mem_write(0xA_0050, 0x1F);
    assert_eq!(planes_at(&v, 0x50), [0x80, 0x80, 0x7F, 0x7F]);
}

#[test]
fn read_mode_0_selects_a_plane_and_every_read_loads_all_latches() {
    let mut v = planar();
    preset(&mut v, 0x60, [0xA0, 0xA1, 0xA2, 0xA3]);
    for p in 0..4 {
        set_gc(&mut v, GC_READ_MAP as u8, p);
        assert_eq!(v.mem_read(0xA_0060), 0xA0 + p);
    }
    assert_eq!(v.latch, [0xA0, 0xA1, 0xA2, 0xA3]);
}

#[test]
fn read_mode_1_compares_colours_with_dont_care() {
    let mut v = planar();
    // Pixels (MSB first): colours 0..7 in plane bits.
    let mut planes = [0u8; 4];
    for x in 0..8u8 {
        for (p, plane) in planes.iter_mut().enumerate() {
            if (x >> p) & 1 != 0 {
                *plane |= 0x80 >> x;
            }
        }
    }
    preset(&mut v, 0x70, planes);
    set_gc(&mut v, GC_MODE as u8, MODE_READ_COMPARE);
    set_gc(&mut v, GC_COLOR_COMPARE as u8, 0x05);
    set_gc(&mut v, GC_COLOR_DONT_CARE as u8, 0x0F);
    assert_eq!(v.mem_read(0xA_0070), 0x80 >> 5);
    // Ignore plane 2: colours 1 and 5 match.
    set_gc(&mut v, GC_COLOR_DONT_CARE as u8, 0x0B);
    assert_eq!(v.mem_read(0xA_0070), (0x80 >> 1) | (0x80 >> 5));
    // Nothing cared about: everything matches.
    set_gc(&mut v, GC_COLOR_DONT_CARE as u8, 0x00);
    assert_eq!(v.mem_read(0xA_0070), 0xFF);
}

#[test]
fn chain4_addresses_mode_13h_bytes_across_planes() {
    let mut v = vga_with(&MODE_13H);
    for i in 0..8u32 {
        v.mem_write(0xA_0000 + 320 + i, 0x10 + i as u8);
    }
    // Byte n lands in plane n & 3 at plane address n & !3.
    assert_eq!(planes_at(&v, 320), [0x10, 0x11, 0x12, 0x13]);
    assert_eq!(planes_at(&v, 324), [0x14, 0x15, 0x16, 0x17]);
    assert_eq!(v.plane_byte(0, 321), 0);
    for i in 0..8u32 {
        assert_eq!(v.mem_read(0xA_0000 + 320 + i), 0x10 + i as u8);
    }
    // The map mask still gates chained writes.
    set_seq(&mut v, SEQ_MAP_MASK as u8, 0x0E);
    v.mem_write(0xA_0000 + 320, 0x99);
    assert_eq!(v.mem_read(0xA_0000 + 320), 0x10);
    // The window is 64 KiB at A0000.
    v.mem_write(0xB_0000, 1);
    assert_eq!(v.mem_read(0xB_0000), 0xFF);
}

#[test]
fn odd_even_text_addressing_through_b8000() {
    let mut v = vga_with(&MODE_03H);
    v.mem_write(0xB_8000, b'A');
    v.mem_write(0xB_8001, 0x1E);
    v.mem_write(0xB_8002, b'B');
    v.mem_write(0xB_8003, 0x07);
    // Even bytes in plane 0, odd in plane 1, both at the even address.
    assert_eq!(planes_at(&v, 0), [b'A', 0x1E, 0, 0]);
    assert_eq!(planes_at(&v, 2), [b'B', 0x07, 0, 0]);
    assert_eq!(v.plane_byte(0, 1), 0);
    assert_eq!(v.mem_read(0xB_8000), b'A');
    assert_eq!(v.mem_read(0xB_8001), 0x1E);
    assert_eq!(v.mem_read(0xB_8003), 0x07);
    // Plane 2 (font) and 3 are untouched by the map mask 0x03.
    v.mem_write(0xB_8004, 1);
    assert_eq!(planes_at(&v, 4), [1, 0, 0, 0]);
    // Read map select 2 with odd/even reads planes 2/3.
    set_gc(&mut v, GC_READ_MAP as u8, 2);
    assert_eq!(v.mem_read(0xB_8000), 0);
}

#[test]
fn font_loading_reaches_plane_2_linearly() {
    let mut v = vga_with(&MODE_03H);
    // The BIOS font load sequence: map mask 4, odd/even off, A0000 64K.
    set_seq(&mut v, SEQ_MAP_MASK as u8, 0x04);
    set_seq(&mut v, SEQ_MEMORY_MODE as u8, 0x06);
    set_gc(&mut v, GC_READ_MAP as u8, 0x02);
    set_gc(&mut v, GC_MODE as u8, 0x00);
    set_gc(&mut v, GC_MISC as u8, 0x04);
    v.mem_write(0xA_0000 + 0x41 * 32 + 3, 0x18);
    assert_eq!(v.plane_byte(2, 0x41 * 32 + 3), 0x18);
    assert_eq!(v.mem_read(0xA_0000 + 0x41 * 32 + 3), 0x18);
    assert_eq!(v.plane_byte(0, 0x41 * 32 + 3), 0);
}

#[test]
fn memory_map_select_windows() {
    let mut v = planar();
    set_seq(&mut v, SEQ_MEMORY_MODE as u8, 0x06);
    let cases: [(u8, u32, u32); 4] = [
        (0, 0xA_0000, 0xB_FFFF),
        (1, 0xA_0000, 0xA_FFFF),
        (2, 0xB_0000, 0xB_7FFF),
        (3, 0xB_8000, 0xB_FFFF),
    ];
    for (map, first, last) in cases {
        set_gc(&mut v, GC_MISC as u8, 0x01 | (map << GMISC_MAP_SHIFT));
        set_gc(&mut v, GC_READ_MAP as u8, 0);
        set_seq(&mut v, SEQ_MAP_MASK as u8, 0x01);
        for addr in [
            0xA_0000u32,
            0xA_FFFF,
            0xB_0000,
            0xB_7FFF,
            0xB_8000,
            0xB_FFFF,
        ] {
            let inside = (first..=last).contains(&addr);
            let off = (addr.wrapping_sub(first) & 0xFFFF) as usize;
            // Clear the byte through the window if possible, then write.
            v.mem_write(addr, 0x5A);
            if inside {
                assert_eq!(v.mem_read(addr), 0x5A, "map {map} addr {addr:#x}");
                assert_eq!(v.plane_byte(0, off), 0x5A);
                v.mem_write(addr, 0);
            } else {
                assert_eq!(v.mem_read(addr), 0xFF, "map {map} addr {addr:#x}");
            }
        }
        assert!(
            (0..PLANE_SIZE).all(|a| v.plane_byte(0, a) == 0),
            "map {map}: stray write"
        );
    }
    // The 128K window wraps each plane at 64 KiB.
    set_gc(&mut v, GC_MISC as u8, 0x01);
    v.mem_write(0xB_0005, 0x77);
    assert_eq!(v.plane_byte(0, 5), 0x77);
    // RAM enable and VGA enable gate the whole window.
    out(&mut v, PORT_MISC_WRITE, MODE_12H.misc & !MISC_RAM_ENABLE);
    assert_eq!(v.mem_read(0xB_0005), 0xFF);
    out(&mut v, PORT_MISC_WRITE, MODE_12H.misc);
    out(&mut v, PORT_VGA_ENABLE, 0);
    assert_eq!(v.mem_read(0xB_0005), 0xFF);
    v.mem_write(0xB_0005, 0);
    out(&mut v, PORT_VGA_ENABLE, 1);
    assert_eq!(v.mem_read(0xB_0005), 0x77);
}

#[test]
fn dac_write_and_read_cycles_auto_increment() {
    let mut v = Vga::new(CPS);
    out(&mut v, PORT_DAC_WRITE_INDEX, 0x10);
    assert_eq!(inp(&mut v, PORT_DAC_READ_INDEX), DAC_STATE_WRITE);
    for b in [0x01, 0x02, 0x03, 0x3F, 0xFF, 0x40] {
        out(&mut v, PORT_DAC_DATA, b);
    }
    assert_eq!(v.dac_entry(0x10), [0x01, 0x02, 0x03]);
    assert_eq!(
        v.dac_entry(0x11),
        [0x3F, 0x3F, 0x00],
        "components keep 6 bits"
    );
    assert_eq!(inp(&mut v, PORT_DAC_WRITE_INDEX), 0x12);
    // A partial write cycle changes nothing until its third component.
    out(&mut v, PORT_DAC_DATA, 0x2A);
    assert_eq!(v.dac_entry(0x12), default_dac()[0x12]);
    out(&mut v, PORT_DAC_WRITE_INDEX, 0xFF);
    for b in [4, 5, 6, 7, 8, 9] {
        out(&mut v, PORT_DAC_DATA, b);
    }
    assert_eq!(v.dac_entry(0xFF), [4, 5, 6]);
    assert_eq!(v.dac_entry(0x00), [7, 8, 9], "the address wraps");
    // Read cycles.
    out(&mut v, PORT_DAC_READ_INDEX, 0x10);
    assert_eq!(inp(&mut v, PORT_DAC_READ_INDEX), DAC_STATE_READ);
    let got: Vec<u8> = (0..6).map(|_| inp(&mut v, PORT_DAC_DATA)).collect();
    assert_eq!(got, [0x01, 0x02, 0x03, 0x3F, 0x3F, 0x00]);
    out(&mut v, PORT_DAC_READ_INDEX, 0xFF);
    let got: Vec<u8> = (0..6).map(|_| inp(&mut v, PORT_DAC_DATA)).collect();
    assert_eq!(got, [4, 5, 6, 7, 8, 9]);
    // A new write address restarts the component count.
    out(&mut v, PORT_DAC_WRITE_INDEX, 0x20);
    out(&mut v, PORT_DAC_DATA, 0x11);
    out(&mut v, PORT_DAC_WRITE_INDEX, 0x21);
    for b in [1, 2, 3] {
        out(&mut v, PORT_DAC_DATA, b);
    }
    assert_eq!(v.dac_entry(0x21), [1, 2, 3]);
    out(&mut v, PORT_PEL_MASK, 0x0F);
    assert_eq!(inp(&mut v, PORT_PEL_MASK), 0x0F);
}

#[test]
fn attribute_flip_flop_is_reset_by_input_status_1() {
    let mut v = vga_with(&MODE_03H);
    inp(&mut v, PORT_STATUS1_COLOR);
    out(&mut v, PORT_AC_WRITE, 0x11);
    // Abandon the sequence half-way: the next write would be data...
    inp(&mut v, PORT_STATUS1_COLOR);
    // ...but the read made it an index write again.
    out(&mut v, PORT_AC_WRITE, AC_PAS | 0x13);
    out(&mut v, PORT_AC_WRITE, 0x05);
    assert_eq!(v.ac_reg(AR_PANNING), 0x05);
    assert_eq!(v.ac_reg(AR_OVERSCAN), 0x00);
    assert_eq!(inp(&mut v, PORT_AC_WRITE), AC_PAS | 0x13);
    assert_eq!(inp(&mut v, PORT_AC_READ), 0x05);
    // Reads do not move the flip-flop.
    out(&mut v, PORT_AC_WRITE, AC_PAS | AR_OVERSCAN as u8);
    inp(&mut v, PORT_AC_READ);
    inp(&mut v, PORT_AC_WRITE);
    out(&mut v, PORT_AC_WRITE, 0x2A);
    assert_eq!(v.ac_reg(AR_OVERSCAN), 0x2A);
    // The mono status port resets it in mono addressing only.
    out(&mut v, PORT_AC_WRITE, AC_PAS | AR_OVERSCAN as u8);
    assert_eq!(inp(&mut v, PORT_STATUS1_MONO), 0xFF);
    out(&mut v, PORT_AC_WRITE, 0x01);
    assert_eq!(v.ac_reg(AR_OVERSCAN), 0x01);
}

#[test]
fn palette_is_write_protected_while_it_feeds_the_display() {
    let mut v = vga_with(&MODE_03H);
    inp(&mut v, PORT_STATUS1_COLOR);
    out(&mut v, PORT_AC_WRITE, AC_PAS | 0x01);
    out(&mut v, PORT_AC_WRITE, 0x3F);
    assert_eq!(v.ac_reg(1), 0x01);
    out(&mut v, PORT_AC_WRITE, 0x01);
    out(&mut v, PORT_AC_WRITE, 0x3F);
    assert_eq!(v.ac_reg(1), 0x3F);
    // PAS = 0 blanks the screen.
    let mut frame = Vec::new();
    v.mem_write(0xB_8001, 0x70);
    let (w, h) = v.render(&mut frame, true);
    assert_eq!((w, h), (720, 400));
    assert!(frame.iter().all(|&p| p == 0));
    out(&mut v, PORT_AC_WRITE, AC_PAS);
    v.render(&mut frame, true);
    assert_ne!(frame[0], 0);
}

#[test]
fn crtc_and_status_follow_the_io_address_select() {
    let mut v = vga_with(&MODE_03H);
    assert_eq!(inp(&mut v, PORT_CRTC_INDEX_MONO), 0xFF);
    out(&mut v, PORT_CRTC_INDEX_MONO, 0x0C);
    out(&mut v, PORT_CRTC_DATA_MONO, 0x12);
    assert_eq!(v.crtc_reg(CR_START_HIGH), 0);
    set_crtc(&mut v, CR_START_HIGH as u8, 0x12);
    assert_eq!(inp(&mut v, PORT_CRTC_DATA_COLOR), 0x12);
    out(&mut v, PORT_MISC_WRITE, 0x66);
    assert_eq!(inp(&mut v, PORT_CRTC_INDEX_COLOR), 0xFF);
    assert_eq!(inp(&mut v, PORT_CRTC_INDEX_MONO), 0x0C);
    assert_eq!(inp(&mut v, PORT_CRTC_DATA_MONO), 0x12);
    assert_eq!(inp(&mut v, PORT_MISC_READ), 0x66);
    // Feature control is written at the status port and read at 0x3CA.
    out(&mut v, PORT_STATUS1_MONO, 0x03);
    assert_eq!(inp(&mut v, PORT_FEATURE_READ), 0x03);
}

#[test]
fn crtc_protect_bit_guards_registers_0_to_7() {
    let mut v = vga_with(&MODE_03H);
    set_crtc(&mut v, CR_VRETRACE_END as u8, 0x8E);
    set_crtc(&mut v, CR_HTOTAL as u8, 0x11);
    assert_eq!(v.crtc_reg(CR_HTOTAL), 0x5F);
    set_crtc(&mut v, CR_OVERFLOW as u8, 0x00);
    assert_eq!(v.crtc_reg(CR_OVERFLOW), 0x1F & !OVF_LINE_COMPARE8);
    set_crtc(&mut v, CR_START_LOW as u8, 0x50);
    assert_eq!(v.crtc_reg(CR_START_LOW), 0x50);
    set_crtc(&mut v, CR_VRETRACE_END as u8, 0x0E);
    set_crtc(&mut v, CR_HTOTAL as u8, 0x11);
    assert_eq!(v.crtc_reg(CR_HTOTAL), 0x11);
}

/// Samples input status 1 over `frames` frames in steps of `step` cycles:
/// (cycle of each retrace start, cycle of each retrace end).
fn retrace_edges(v: &mut Vga, step: u64, until: u64) -> (Vec<u64>, Vec<u64>) {
    let (mut starts, mut ends) = (Vec::new(), Vec::new());
    let mut prev = v.read_port(PORT_STATUS1_COLOR, at(0)) & STATUS1_VRETRACE != 0;
    let mut c = step;
    while c < until {
        let now = v.read_port(PORT_STATUS1_COLOR, at(c)) & STATUS1_VRETRACE != 0;
        if now && !prev {
            starts.push(c);
        }
        if prev && !now {
            ends.push(c);
        }
        prev = now;
        c += step;
    }
    (starts, ends)
}

#[test]
fn retrace_bits_follow_the_programmed_70hz_frame() {
    let mut v = vga_with(&MODE_03H);
    let t = v.frame_timing();
    assert_eq!((t.line_dots, t.lines, t.display_lines), (900, 449, 400));
    assert!((t.refresh_hz() - 70.08).abs() < 0.05, "{}", t.refresh_hz());
    // Step 1 µs (100 cycles) over 3 frames.
    let (starts, ends) = retrace_edges(&mut v, 100, 3 * CPS / 70);
    assert_eq!(starts.len(), 3);
    assert_eq!(ends.len(), 3);
    let frame = CPS as f64 / t.refresh_hz();
    for w in starts.windows(2) {
        assert!(((w[1] - w[0]) as f64 - frame).abs() <= 100.0);
    }
    // Two lines of retrace (412–413): 2 * 31.78 µs.
    let len = ends[0] - starts[0];
    assert!((6300..=6500).contains(&len), "{len}");
    // Retrace starts 412 lines into the frame.
    let line = 900.0 * CPS as f64 / 28_322_000.0;
    assert!(((starts[0] as f64) - 412.0 * line).abs() <= 100.0);
    // Display disabled during horizontal blanking within the active area...
    let s = |v: &mut Vga, c: f64| v.read_port(PORT_STATUS1_COLOR, at(c as u64));
    assert_eq!(s(&mut v, line * 10.5) & STATUS1_DISPLAY_DISABLED, 0);
    assert_ne!(
        s(&mut v, line * 10.0 + line * 0.9) & STATUS1_DISPLAY_DISABLED,
        0
    );
    // ...and during the whole vertical blanking.
    assert_ne!(s(&mut v, line * 420.5) & STATUS1_DISPLAY_DISABLED, 0);
    assert_eq!(s(&mut v, line * 420.5) & STATUS1_VRETRACE, 0);
    assert_ne!(s(&mut v, line * 412.5) & STATUS1_VRETRACE, 0);
}

#[test]
fn retrace_of_a_480_line_mode_is_60hz() {
    let v = vga_with(&MODE_12H);
    let t = v.frame_timing();
    assert_eq!((t.line_dots, t.lines, t.display_lines), (800, 525, 480));
    assert!((t.refresh_hz() - 59.94).abs() < 0.05, "{}", t.refresh_hz());
    assert_eq!((t.retrace_start, t.retrace_lines), (490, 2));
    let start = v.next_retrace_start(Cycles::ZERO);
    assert!(v.in_vertical_retrace(start));
    assert!(!v.in_vertical_retrace(Cycles(start.0 - 1)));
    let next = v.next_retrace_start(start);
    assert!(((next.0 - start.0) as f64 - CPS as f64 / t.refresh_hz()).abs() < 2.0);
}

#[test]
fn unprogrammed_crtc_still_shows_a_70hz_retrace() {
    let mut v = Vga::new(CPS);
    assert_eq!(v.frame_timing(), FrameTiming::DEFAULT);
    // At power-on the mono status port answers (misc bit 0 clear).
    let (starts, ends) = {
        let mut starts = 0;
        let mut prev = false;
        let mut ends = 0;
        for c in (0..CPS / 20).step_by(200) {
            let r = v.read_port(PORT_STATUS1_MONO, at(c)) & STATUS1_VRETRACE != 0;
            starts += usize::from(r && !prev);
            ends += usize::from(prev && !r);
            prev = r;
        }
        (starts, ends)
    };
    assert_eq!((starts, ends), (3, 3));
}

#[test]
fn vertical_interrupt_latch_sets_at_retrace_and_clears_through_cr11() {
    let mut v = vga_with(&MODE_03H);
    // CR11 bit 4 clear: held clear.
    let later = v.next_retrace_start(Cycles::ZERO).0 + 10;
    assert_eq!(
        v.read_port(PORT_MISC_WRITE, at(later)) & STATUS0_CRT_INTERRUPT,
        0
    );
    v.write_port(PORT_CRTC_INDEX_COLOR, CR_VRETRACE_END as u8, at(later));
    v.write_port(PORT_CRTC_DATA_COLOR, 0x1E, at(later));
    assert_eq!(
        v.read_port(PORT_MISC_WRITE, at(later + 1)) & STATUS0_CRT_INTERRUPT,
        0
    );
    let next = v.next_retrace_start(at(later));
    assert_eq!(v.read_port(PORT_MISC_WRITE, Cycles(next.0 - 1)) & 0x80, 0);
    assert_ne!(
        v.read_port(PORT_MISC_WRITE, next) & STATUS0_CRT_INTERRUPT,
        0
    );
    v.write_port(PORT_CRTC_DATA_COLOR, 0x0E, next);
    assert_eq!(
        v.read_port(PORT_MISC_WRITE, next) & STATUS0_CRT_INTERRUPT,
        0
    );
    assert_ne!(v.read_port(PORT_MISC_WRITE, next) & STATUS0_SWITCH_SENSE, 0);
}

/// Mode 03h with an 8x16 font whose glyph 0x01 is a frame and glyph 0xC4 a
/// bar through the bottom row (the line graphics test).
fn text_mode_with_font() -> Vga {
    let mut v = vga_with(&MODE_03H);
    let glyph1: [u8; 16] = [
        0xFF, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81,
        0xFF,
    ];
    for (row, &bits) in glyph1.iter().enumerate() {
        v.planes[2 * PLANE_SIZE + GLYPH_SLOT + row] = bits;
    }
    v.planes[2 * PLANE_SIZE + 0xC4 * GLYPH_SLOT + 15] = 0xFF;
    v.planes[2 * PLANE_SIZE + 0x04 * GLYPH_SLOT + 15] = 0xFF;
    v
}

fn rgb(v: &Vga, dac_index: u8) -> u32 {
    let [r, g, b] = v.dac_entry(dac_index);
    (scale(r) << 16) | (scale(g) << 8) | scale(b)
}

fn scale(c: u8) -> u32 {
    (u32::from(c) << 2) | (u32::from(c) >> 4)
}

#[test]
fn text_screen_of_an_80x25_mode() {
    let mut v = text_mode_with_font();
    for (i, &b) in b"Hello, VGA".iter().enumerate() {
        v.mem_write(0xB_8000 + 2 * (80 * 3 + 5 + i as u32), b);
        v.mem_write(0xB_8000 + 2 * (80 * 3 + 5 + i as u32) + 1, 0x1F);
    }
    v.mem_write(0xB_8000 + 2 * (80 * 24 + 79), 0xC9);
    set_crtc(&mut v, CR_CURSOR_HIGH as u8, 0x01);
    set_crtc(&mut v, CR_CURSOR_LOW as u8, 0x2C); // 300 = row 3, col 60
    let s = v.text_screen().expect("text mode");
    assert_eq!((s.cols, s.rows), (80, 25));
    assert_eq!(s.cells.len(), 2000);
    assert_eq!(s.cell(3, 5), Some((b'H', 0x1F)));
    assert_eq!(s.cursor, Some((3, 60)));
    let lines = s.lines();
    assert_eq!(lines.len(), 25);
    assert_eq!(lines[3], "     Hello, VGA");
    assert_eq!(lines[0], "");
    assert_eq!(lines[24].chars().count(), 80);
    assert!(lines[24].ends_with('╔'));
    assert!(s.contains("Hello, VGA"));
    assert!(!s.contains("Hello, EGA"));
    assert_eq!(v.mode_summary(), "text 80x25, 9x16 cells");
    // The start address scrolls the screen (word addressing: 80 per row).
    set_crtc(&mut v, CR_START_LOW as u8, 80);
    let s = v.text_screen().unwrap();
    assert_eq!(s.lines()[2], "     Hello, VGA");
    assert_eq!(s.cursor, Some((2, 60)));
    // Cursor disable bit and an inverted start/end hide the cursor.
    set_crtc(&mut v, CR_CURSOR_START as u8, 0x2D);
    assert_eq!(v.text_screen().unwrap().cursor, None);
    set_crtc(&mut v, CR_CURSOR_START as u8, 0x0F);
    assert_eq!(v.text_screen().unwrap().cursor, None);
    // Graphics modes have no text screen.
    assert!(vga_with(&MODE_13H).text_screen().is_none());
}

#[test]
fn text_screen_of_a_40_column_8x8_mode() {
    let mut v = vga_with(&MODE_03H);
    // Mode 01h-like: 40 columns of 9 dots at half clock, 8-line cells
    // double scanned to 400 lines.
    set_seq(&mut v, SEQ_CLOCKING as u8, 0x08);
    set_crtc(&mut v, CR_VRETRACE_END as u8, 0x0E);
    set_crtc(&mut v, CR_HDISP_END as u8, 0x27);
    set_crtc(&mut v, CR_OFFSET as u8, 0x14);
    set_crtc(&mut v, CR_MAX_SCAN as u8, 0xC7);
    v.mem_write(0xB_8000 + 2 * 41, b'x');
    let s = v.text_screen().unwrap();
    assert_eq!((s.cols, s.rows), (40, 25));
    assert_eq!(s.lines()[1], " x");
    assert_eq!(v.mode_summary(), "text 40x25, 9x16 cells");
    let mut frame = Vec::new();
    assert_eq!(v.render(&mut frame, true), (360, 200));
}

#[test]
fn render_text_with_a_one_glyph_font() {
    let mut v = text_mode_with_font();
    // Cell (0,0): glyph 1, bright white on blue. Cell (0,1): line graphics
    // 0xC4 grey on black; cell (0,2): 0x04 (no ninth-column extension).
    v.mem_write(0xB_8000, 0x01);
    v.mem_write(0xB_8001, 0x1F);
    v.mem_write(0xB_8002, 0xC4);
    v.mem_write(0xB_8003, 0x07);
    v.mem_write(0xB_8004, 0x04);
    v.mem_write(0xB_8005, 0x07);
    // Cell (1,0): blinking red on green.
    v.mem_write(0xB_8000 + 160, 0x01);
    v.mem_write(0xB_8000 + 161, 0xA4);
    set_crtc(&mut v, CR_CURSOR_LOW as u8, 79); // cursor at row 0, col 79
    v.mem_write(0xB_8000 + 2 * 79 + 1, 0x07); // drawn in the cell's foreground
    let mut frame = Vec::new();
    let (w, h) = v.render(&mut frame, true);
    assert_eq!((w, h), (720, 400));
    assert_eq!(frame.len(), w * h);
    let px = |x: usize, y: usize| frame[y * w + x];
    let white = rgb(&v, 0x3F);
    let blue = rgb(&v, 0x01);
    let grey = rgb(&v, 0x07);
    let black = rgb(&v, 0x00);
    // The frame glyph: top row solid over 8 dots, ninth dot background.
    assert!((0..8).all(|x| px(x, 0) == white));
    assert_eq!(px(8, 0), blue);
    assert_eq!(px(0, 5), white);
    assert_eq!(px(3, 5), blue);
    assert_eq!(px(7, 5), white);
    assert_eq!(px(8, 5), blue);
    // Line graphics extend 0xC4's bottom row into the ninth column...
    assert!((9..18).all(|x| px(x, 15) == grey));
    assert_eq!(px(9, 14), black);
    // ...but not 0x04's.
    assert!((18..26).all(|x| px(x, 15) == grey));
    assert_eq!(px(26, 15), black);
    // Blink enabled: background loses bit 3 (0xA → green 2), the
    // foreground shows in the on phase only.
    let red = rgb(&v, 0x04);
    let green = rgb(&v, 0x02);
    assert_eq!(px(0, 16), red);
    assert_eq!(px(3, 21), green);
    let mut off = Vec::new();
    v.render(&mut off, false);
    assert_eq!(off[16 * w], green);
    // Cursor lines 13–14 of column 79 in the on phase.
    let cx = 79 * 9;
    assert!((cx..cx + 9).all(|x| px(x, 13) == grey && px(x, 14) == grey));
    assert_eq!(px(cx, 12), black);
    assert_eq!(off[13 * w + cx], black);
    // Intensity instead of blink: bright background, steady foreground.
    set_ac(&mut v, AR_MODE as u8, 0x04);
    v.render(&mut off, false);
    assert_eq!(off[16 * w], red);
    assert_eq!(off[21 * w + 3], rgb(&v, 0x3A));
    // 8-dot characters: 640 wide, no ninth column.
    set_seq(&mut v, SEQ_CLOCKING as u8, 0x01);
    let (w8, _) = v.render(&mut frame, true);
    assert_eq!(w8, 640);
    assert_eq!(frame[15 * 640 + 8], grey, "cell 1 starts at dot 8");
    assert_eq!(frame[15 * 640 + 7], rgb(&v, 0x3F));
    // The PEL mask reaches the DAC: with mask 0 everything is DAC entry 0.
    out(&mut v, PORT_PEL_MASK, 0);
    v.render(&mut frame, true);
    assert!(frame.iter().all(|&p| p == black));
}

#[test]
fn character_map_select_picks_the_font_by_attribute_bit_3() {
    let mut v = text_mode_with_font();
    // Map A (attribute bit 3 set) = map 1 at 16K, map B = map 0.
    set_seq(&mut v, SEQ_CHAR_MAP as u8, 0x04);
    v.planes[2 * PLANE_SIZE + 0x4000 + GLYPH_SLOT] = 0x0F;
    v.mem_write(0xB_8000, 0x01);
    v.mem_write(0xB_8001, 0x0F);
    v.mem_write(0xB_8002, 0x01);
    v.mem_write(0xB_8003, 0x07);
    let mut frame = Vec::new();
    v.render(&mut frame, true);
    let white = rgb(&v, 0x3F);
    assert_eq!(frame[0], rgb(&v, 0));
    assert_eq!(frame[4], white);
    assert_eq!(frame[9], rgb(&v, 0x07));
    // Map select bit 2 of map A (bit 5): map 5 lives at 24K.
    set_seq(&mut v, SEQ_CHAR_MAP as u8, 0x24);
    v.planes[2 * PLANE_SIZE + 0x6000 + GLYPH_SLOT] = 0x80;
    v.render(&mut frame, true);
    assert_eq!(frame[0], white);
    assert_eq!(frame[1], rgb(&v, 0));
}

/// FNV-1a over the pixels.
fn frame_hash(frame: &[u32]) -> u64 {
    frame.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &p| {
        p.to_le_bytes()
            .iter()
            .fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
    })
}

#[test]
fn render_mode_13h_pattern() {
    let mut v = vga_with(&MODE_13H);
    // A grey ramp in DAC 0..63 and diagonal stripes in memory.
    out(&mut v, PORT_DAC_WRITE_INDEX, 0);
    for i in 0..64u8 {
        for _ in 0..3 {
            out(&mut v, PORT_DAC_DATA, i);
        }
    }
    for y in 0..200u32 {
        for x in 0..320u32 {
            v.mem_write(0xA_0000 + y * 320 + x, ((x + y) & 63) as u8);
        }
    }
    let mut frame = Vec::new();
    assert_eq!(v.render(&mut frame, true), (320, 200));
    assert_eq!(v.mode_summary(), "graphics 320x200, 256 colors, chained");
    assert!(v.is_graphics());
    for (x, y) in [(0usize, 0usize), (1, 0), (319, 0), (5, 7), (319, 199)] {
        let c = ((x + y) & 63) as u32;
        let g = (c << 2) | (c >> 4);
        assert_eq!(frame[y * 320 + x], (g << 16) | (g << 8) | g, "({x},{y})");
    }
    assert_eq!(frame_hash(&frame), 0xf8397f9b60dfe2a5);
}

#[test]
fn render_mode_x_unchained_320x240() {
    let mut v = vga_with(&MODE_13H);
    // The classic "mode X" changes to mode 13h.
    set_seq(&mut v, SEQ_MEMORY_MODE as u8, 0x06);
    set_crtc(&mut v, CR_UNDERLINE as u8, 0x00);
    set_crtc(&mut v, CR_MODE as u8, 0xE3);
    out(&mut v, PORT_MISC_WRITE, 0xE3);
    set_crtc(&mut v, CR_VRETRACE_END as u8, 0x2C);
    for (i, r) in [
        (CR_VTOTAL, 0x0D),
        (CR_OVERFLOW, 0x3E),
        (CR_VRETRACE_START, 0xEA),
        (CR_VRETRACE_END, 0xAC),
        (CR_VDISP_END, 0xDF),
        (CR_VBLANK_START, 0xE7),
        (CR_VBLANK_END, 0x06),
    ] {
        set_crtc(&mut v, i as u8, r);
    }
    // Pixel (x, y) is in plane x & 3 at y * 80 + x / 4.
    set_seq(&mut v, SEQ_MAP_MASK as u8, 1 << (13 & 3));
    v.mem_write(0xA_0000 + 239 * 80 + 13 / 4, 0x2C);
    let mut frame = Vec::new();
    assert_eq!(v.render(&mut frame, true), (320, 240));
    assert_eq!(v.mode_summary(), "graphics 320x240, 256 colors, unchained");
    assert_eq!(frame[239 * 320 + 13], rgb(&v, 0x2C));
    assert_eq!(frame[239 * 320 + 12], rgb(&v, 0));
    assert_eq!(frame[239 * 320 + 14], rgb(&v, 0));
    // 527 lines of 800 dots at 25.175 MHz.
    assert!((v.frame_timing().refresh_hz() - 59.71).abs() < 0.05);
    // The start address pans by four pixels per step.
    set_crtc(&mut v, CR_START_LOW as u8, 1);
    v.render(&mut frame, true);
    assert_eq!(frame[239 * 320 + 9], rgb(&v, 0x2C));
}

#[test]
fn render_planar_mode_12h_pixel() {
    let mut v = vga_with(&MODE_12H);
    // Plot pixel (100, 300) in colour 12 the usual way: write mode 2 with
    // the bit mask selecting the pixel.
    let addr = 0xA_0000 + 300 * 80 + 100 / 8;
    set_gc(&mut v, GC_MODE as u8, 0x02);
    set_gc(&mut v, GC_BIT_MASK as u8, 0x80 >> (100 % 8));
    v.mem_read(addr);
    v.mem_write(addr, 12);
    let mut frame = Vec::new();
    assert_eq!(v.render(&mut frame, true), (640, 480));
    assert_eq!(v.mode_summary(), "graphics 640x480, 16 colors, planar");
    let lred = rgb(&v, 0x3C);
    assert_eq!(frame[300 * 640 + 100], lred);
    assert_eq!(frame[300 * 640 + 99], rgb(&v, 0));
    assert_eq!(frame[300 * 640 + 101], rgb(&v, 0));
    assert_eq!(frame.iter().filter(|&&p| p == lred).count(), 1);
    // Colour plane enable masks plane 3 away: colour 12 becomes 4 (red).
    set_ac(&mut v, AR_PLANE_ENABLE as u8, 0x07);
    v.render(&mut frame, true);
    assert_eq!(frame[300 * 640 + 100], rgb(&v, 0x04));
    // Colour select with P54S supplies DAC bits 5–4 and 7–6.
    set_ac(&mut v, AR_PLANE_ENABLE as u8, 0x0F);
    set_ac(&mut v, AR_MODE as u8, 0x81);
    set_ac(&mut v, AR_COLOR_SELECT as u8, 0x06);
    v.render(&mut frame, true);
    assert_eq!(frame[300 * 640 + 100], rgb(&v, 0x80 | 0x20 | 0x0C));
    // Pixel panning by 3 moves the image left.
    set_ac(&mut v, AR_MODE as u8, 0x01);
    set_ac(&mut v, AR_COLOR_SELECT as u8, 0x00);
    set_ac(&mut v, AR_PANNING as u8, 3);
    v.render(&mut frame, true);
    assert_eq!(frame[300 * 640 + 97], lred);
}

#[test]
fn render_planar_640x350_and_200_line_double_scan() {
    let mut v = vga_with(&MODE_12H);
    // Mode 10h vertical values: 350 lines.
    set_crtc(&mut v, CR_OVERFLOW as u8, 0x1F);
    set_crtc(&mut v, CR_VDISP_END as u8, 0x5D);
    let mut frame = Vec::new();
    assert_eq!(v.render(&mut frame, true), (640, 350));
    // Mode 0Eh: 400 lines, double scanned to 200.
    set_crtc(&mut v, CR_VDISP_END as u8, 0x8F);
    set_crtc(&mut v, CR_MAX_SCAN as u8, 0xC0);
    set_gc(&mut v, GC_MODE as u8, 0x00);
    v.mem_write(0xA_0000 + 199 * 80, 0x80);
    assert_eq!(v.render(&mut frame, true), (640, 200));
    assert_eq!(frame[199 * 640], rgb(&v, 0x3F));
    assert_eq!(v.mode_summary(), "graphics 640x200, 16 colors, planar");
}

#[test]
fn line_compare_splits_the_screen() {
    let mut v = vga_with(&MODE_12H);
    set_gc(&mut v, GC_MODE as u8, 0x00);
    v.mem_write(0xA_0000, 0xFF); // line 0 of memory: white run
    set_crtc(&mut v, CR_START_HIGH as u8, 0x10); // display from 0x1000
    set_crtc(&mut v, CR_VRETRACE_END as u8, 0x0C);
    set_crtc(&mut v, CR_OVERFLOW as u8, 0x3E & !OVF_LINE_COMPARE8);
    set_crtc(&mut v, CR_MAX_SCAN as u8, 0x00);
    set_crtc(&mut v, CR_LINE_COMPARE as u8, 99);
    let mut frame = Vec::new();
    v.render(&mut frame, true);
    let white = rgb(&v, 0x3F);
    assert_ne!(frame[0], white);
    assert_eq!(frame[100 * 640], white, "memory line 0 shows after line 99");
    assert_ne!(frame[99 * 640], white);
}

#[test]
fn render_cga_mode_04h_with_interleaved_banks() {
    let mut v = vga_with(&MODE_04H);
    // Line 0 at B8000, line 1 at BA000 (odd bank); 4 pixels per byte.
    v.mem_write(0xB_8000, 0b01_10_11_00);
    v.mem_write(0xB_8001, 0b11_00_00_00);
    v.mem_write(0xB_A000, 0b10_00_00_00);
    let mut frame = Vec::new();
    assert_eq!(v.render(&mut frame, true), (320, 200));
    assert_eq!(
        v.mode_summary(),
        "graphics 320x200, 4 colors, CGA interleaved"
    );
    let c = |i: u8| rgb(&v, MODE_04H.ac[usize::from(i)]);
    assert_eq!(&frame[0..5], &[c(1), c(2), c(3), c(0), c(3)]);
    assert_eq!(frame[320], c(2));
    assert_eq!(frame[640], c(0));
}

#[test]
fn render_cga_mode_06h_two_colours() {
    let mut v = vga_with(&MODE_04H);
    out(&mut v, PORT_MISC_WRITE, 0x63);
    set_seq(&mut v, SEQ_CLOCKING as u8, 0x01);
    set_seq(&mut v, SEQ_MAP_MASK as u8, 0x01);
    set_seq(&mut v, SEQ_MEMORY_MODE as u8, 0x06);
    set_crtc(&mut v, CR_VRETRACE_END as u8, 0x0E);
    for (i, r) in [
        (0, 0x5F),
        (1, 0x4F),
        (2, 0x50),
        (3, 0x82),
        (4, 0x54),
        (5, 0x80),
    ] {
        set_crtc(&mut v, i, r);
    }
    set_crtc(&mut v, CR_OFFSET as u8, 0x28);
    set_crtc(&mut v, CR_MODE as u8, 0xC2);
    set_gc(&mut v, GC_MODE as u8, 0x00);
    set_gc(&mut v, GC_MISC as u8, 0x0D);
    set_ac(&mut v, AR_PLANE_ENABLE as u8, 0x01);
    set_ac(&mut v, 1, 0x3F);
    v.mem_write(0xB_8000 + 0x2000 + 79, 0x01);
    let mut frame = Vec::new();
    assert_eq!(v.render(&mut frame, true), (640, 200));
    assert_eq!(v.mode_summary(), "graphics 640x200, 2 colors, planar");
    assert_eq!(frame[640 + 639], rgb(&v, 0x3F));
    assert_eq!(frame.iter().filter(|&&p| p != rgb(&v, 0)).count(), 1);
}

#[test]
fn screen_off_blanks_but_keeps_the_size() {
    let mut v = vga_with(&MODE_13H);
    v.mem_write(0xA_0000, 15);
    set_seq(&mut v, SEQ_CLOCKING as u8, 0x21);
    let mut frame = Vec::new();
    assert_eq!(v.render(&mut frame, true), (320, 200));
    assert!(frame.iter().all(|&p| p == 0));
}

#[test]
fn inspect_and_snapshot_round_trip() {
    let mut v = text_mode_with_font();
    v.mem_write(0xB_8000, b'Z');
    let mut text = Vec::new();
    v.inspect(&mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("text 80x25, 9x16 cells"), "{text}");
    assert!(text.contains("70.0"), "{text}");
    assert!(text.contains("crtc"), "{text}");
    let json = serde_json::to_string(&v).unwrap();
    let back: Vga = serde_json::from_str(&json).unwrap();
    assert_eq!(back.text_screen(), v.text_screen());
    let (mut a, mut b) = (Vec::new(), Vec::new());
    assert_eq!(back.render(&mut a, true), v.render(&mut b, true));
    assert_eq!(a, b);
}

#[test]
fn reset_keeps_memory_on_hard_reset_only() {
    let mut v = vga_with(&MODE_03H);
    v.mem_write(0xB_8000, b'Q');
    v.reset(ResetKind::Hard);
    assert_eq!(v.misc_output(), 0);
    assert_eq!(v.plane_byte(0, 0), b'Q');
    v.reset(ResetKind::PowerOn);
    assert_eq!(v.plane_byte(0, 0), 0);
}

#[test]
fn no_guest_input_panics() {
    // A deterministic pseudo-random storm of port and memory accesses,
    // rendering in between.
    let mut v = Vga::new(CPS);
    let mut x: u32 = 0x1234_5678;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let ports = [
        0x3B4, 0x3B5, 0x3BA, 0x3C0, 0x3C1, 0x3C2, 0x3C3, 0x3C4, 0x3C5, 0x3C6, 0x3C7, 0x3C8, 0x3C9,
        0x3CA, 0x3CC, 0x3CE, 0x3CF, 0x3D4, 0x3D5, 0x3DA,
    ];
    let mut frame = Vec::new();
    for i in 0..20_000u64 {
        let r = next();
        let port = ports[(r as usize >> 8) % ports.len()];
        if r & 1 == 0 {
            v.write_port(port, (r >> 16) as u8, Cycles(i * 1000));
        } else {
            v.read_port(port, Cycles(i * 1000));
        }
        let addr = 0xA_0000 + (next() % 0x2_0000);
        v.mem_write(addr, next() as u8);
        v.mem_read(addr);
        if i % 2000 == 0 {
            let (w, h) = v.render(&mut frame, i % 4000 == 0);
            assert_eq!(frame.len(), w * h);
            let _ = v.text_screen();
            let _ = v.mode_summary();
        }
    }
}
