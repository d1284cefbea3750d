//! Port numbers, register indices and bit fields of the VGA, named as in
//! IBM's VGA technical reference (register and field names as in the
//! "Video Subsystem" chapter of the PS/2 hardware interface reference).

// ---- Ports -----------------------------------------------------------------

/// Attribute controller: address and data writes (with the flip-flop); reads
/// give the address register.
pub const PORT_AC_WRITE: u16 = 0x3C0;
/// Attribute controller data read.
pub const PORT_AC_READ: u16 = 0x3C1;
/// Miscellaneous output (write) / input status 0 (read).
pub const PORT_MISC_WRITE: u16 = 0x3C2;
/// VGA enable (bit 0 lets the adapter answer memory cycles).
pub const PORT_VGA_ENABLE: u16 = 0x3C3;
/// Sequencer address.
pub const PORT_SEQ_INDEX: u16 = 0x3C4;
/// Sequencer data.
pub const PORT_SEQ_DATA: u16 = 0x3C5;
/// DAC pixel (PEL) mask.
pub const PORT_PEL_MASK: u16 = 0x3C6;
/// DAC read address (write) / DAC state (read).
pub const PORT_DAC_READ_INDEX: u16 = 0x3C7;
/// DAC write address (read back: the current DAC address).
pub const PORT_DAC_WRITE_INDEX: u16 = 0x3C8;
/// DAC data: three 6-bit components per entry.
pub const PORT_DAC_DATA: u16 = 0x3C9;
/// Feature control read.
pub const PORT_FEATURE_READ: u16 = 0x3CA;
/// Miscellaneous output read.
pub const PORT_MISC_READ: u16 = 0x3CC;
/// Graphics controller address.
pub const PORT_GC_INDEX: u16 = 0x3CE;
/// Graphics controller data.
pub const PORT_GC_DATA: u16 = 0x3CF;
/// CRTC address, monochrome addressing.
pub const PORT_CRTC_INDEX_MONO: u16 = 0x3B4;
/// CRTC data, monochrome addressing.
pub const PORT_CRTC_DATA_MONO: u16 = 0x3B5;
/// Input status 1 (read) / feature control (write), monochrome addressing.
pub const PORT_STATUS1_MONO: u16 = 0x3BA;
/// CRTC address, colour addressing.
pub const PORT_CRTC_INDEX_COLOR: u16 = 0x3D4;
/// CRTC data, colour addressing.
pub const PORT_CRTC_DATA_COLOR: u16 = 0x3D5;
/// Input status 1 (read) / feature control (write), colour addressing.
pub const PORT_STATUS1_COLOR: u16 = 0x3DA;

// ---- Miscellaneous output, input status, VGA enable ------------------------

/// Misc output bit 0 (I/OAS): CRTC and status 1 at 0x3Dx (else 0x3Bx).
pub const MISC_IO_COLOR: u8 = 0x01;
/// Misc output bit 1 (ERAM): the adapter answers CPU memory cycles.
pub const MISC_RAM_ENABLE: u8 = 0x02;
/// Misc output bits 3–2 (CS): dot clock select (0: 25.175 MHz, 1: 28.322 MHz).
pub const MISC_CLOCK_MASK: u8 = 0x0C;
/// Shift of the clock select field.
pub const MISC_CLOCK_SHIFT: u8 = 2;
/// Misc output bit 5: page bit for odd/even (not emulated, see the module doc).
pub const MISC_PAGE_BIT: u8 = 0x20;

/// Input status 0 bit 4: switch sense (monitor sense comparator).
pub const STATUS0_SWITCH_SENSE: u8 = 0x10;
/// Input status 0 bit 7 (CRT interrupt): a vertical retrace interrupt is pending.
pub const STATUS0_CRT_INTERRUPT: u8 = 0x80;
/// Input status 1 bit 0 (DD): display disabled (blanking, not in the active area).
pub const STATUS1_DISPLAY_DISABLED: u8 = 0x01;
/// Input status 1 bit 3 (VR): vertical retrace in progress.
pub const STATUS1_VRETRACE: u8 = 0x08;
/// Input status 1 bits 5–4: diagnostic feedback of two colour outputs.
pub const STATUS1_DIAGNOSTIC_MASK: u8 = 0x30;

/// VGA enable bit 0: the adapter answers memory cycles.
pub const VGA_ENABLE: u8 = 0x01;

/// The two standard dot clocks in Hz, selected by misc output bits 3–2.
pub const DOT_CLOCKS_HZ: [u64; 2] = [25_175_000, 28_322_000];

// ---- Sequencer -------------------------------------------------------------

/// Number of sequencer registers.
pub const SEQ_COUNT: usize = 5;
/// Sequencer 0: reset.
pub const SEQ_RESET: usize = 0;
/// Sequencer 1: clocking mode.
pub const SEQ_CLOCKING: usize = 1;
/// Sequencer 2: map mask (planes written by the CPU).
pub const SEQ_MAP_MASK: usize = 2;
/// Sequencer 3: character map select.
pub const SEQ_CHAR_MAP: usize = 3;
/// Sequencer 4: memory mode.
pub const SEQ_MEMORY_MODE: usize = 4;

/// Clocking mode bit 0 (D89): 8-dot character clocks (else 9 dots).
pub const CLOCK_8DOT: u8 = 0x01;
/// Clocking mode bit 3 (DC): dot clock divided by two (320/360-wide modes).
pub const CLOCK_HALF_DOT: u8 = 0x08;
/// Clocking mode bit 5 (SO): screen off.
pub const CLOCK_SCREEN_OFF: u8 = 0x20;

/// Memory mode bit 1 (EM): more than 64 KiB installed.
pub const MEM_EXTENDED: u8 = 0x02;
/// Memory mode bit 2 (O/E): 1 disables odd/even addressing of host writes.
pub const MEM_ODD_EVEN_DISABLE: u8 = 0x04;
/// Memory mode bit 3 (C4): chain 4 (host address bits 1–0 select the plane).
pub const MEM_CHAIN4: u8 = 0x08;

// ---- Graphics controller ---------------------------------------------------

/// Number of graphics controller registers.
pub const GC_COUNT: usize = 9;
/// GC 0: set/reset.
pub const GC_SET_RESET: usize = 0;
/// GC 1: enable set/reset.
pub const GC_ENABLE_SET_RESET: usize = 1;
/// GC 2: color compare.
pub const GC_COLOR_COMPARE: usize = 2;
/// GC 3: data rotate (count and logical function).
pub const GC_DATA_ROTATE: usize = 3;
/// GC 4: read map select.
pub const GC_READ_MAP: usize = 4;
/// GC 5: graphics mode.
pub const GC_MODE: usize = 5;
/// GC 6: miscellaneous.
pub const GC_MISC: usize = 6;
/// GC 7: color don't care.
pub const GC_COLOR_DONT_CARE: usize = 7;
/// GC 8: bit mask.
pub const GC_BIT_MASK: usize = 8;

/// Data rotate bits 2–0: rotate count.
pub const ROTATE_COUNT_MASK: u8 = 0x07;
/// Data rotate bits 4–3: logical function.
pub const ROTATE_FUNC_MASK: u8 = 0x18;
/// Shift of the logical function field.
pub const ROTATE_FUNC_SHIFT: u8 = 3;
/// Logical function 0: replace.
pub const FUNC_REPLACE: u8 = 0;
/// Logical function 1: AND with the latch.
pub const FUNC_AND: u8 = 1;
/// Logical function 2: OR with the latch.
pub const FUNC_OR: u8 = 2;
/// Logical function 3: XOR with the latch.
pub const FUNC_XOR: u8 = 3;

/// Graphics mode bits 1–0: write mode.
pub const MODE_WRITE_MASK: u8 = 0x03;
/// Graphics mode bit 3: read mode 1 (color compare).
pub const MODE_READ_COMPARE: u8 = 0x08;
/// Graphics mode bit 4: host odd/even addressing.
pub const MODE_HOST_ODD_EVEN: u8 = 0x10;
/// Graphics mode bit 5: shift register interleave (CGA 2-bit pixels).
pub const MODE_SHIFT_INTERLEAVE: u8 = 0x20;
/// Graphics mode bit 6: 256-colour shift mode.
pub const MODE_SHIFT_256: u8 = 0x40;

/// Miscellaneous bit 0: graphics mode (character generator off).
pub const GMISC_GRAPHICS: u8 = 0x01;
/// Miscellaneous bit 1: chain odd/even.
pub const GMISC_CHAIN_ODD_EVEN: u8 = 0x02;
/// Miscellaneous bits 3–2: memory map select.
pub const GMISC_MAP_MASK: u8 = 0x0C;
/// Shift of the memory map field.
pub const GMISC_MAP_SHIFT: u8 = 2;

// ---- CRT controller --------------------------------------------------------

/// Number of CRTC registers.
pub const CRTC_COUNT: usize = 0x19;
/// CR00: horizontal total (character clocks − 5).
pub const CR_HTOTAL: usize = 0x00;
/// CR01: horizontal display enable end (character clocks − 1).
pub const CR_HDISP_END: usize = 0x01;
/// CR02: start horizontal blanking.
pub const CR_HBLANK_START: usize = 0x02;
/// CR03: end horizontal blanking.
pub const CR_HBLANK_END: usize = 0x03;
/// CR04: start horizontal retrace.
pub const CR_HRETRACE_START: usize = 0x04;
/// CR05: end horizontal retrace.
pub const CR_HRETRACE_END: usize = 0x05;
/// CR06: vertical total, low 8 bits (lines − 2).
pub const CR_VTOTAL: usize = 0x06;
/// CR07: overflow (bit 8/9 of the vertical values).
pub const CR_OVERFLOW: usize = 0x07;
/// CR08: preset row scan and byte panning.
pub const CR_PRESET_ROW: usize = 0x08;
/// CR09: maximum scan line, double scanning, bit 9 of two vertical values.
pub const CR_MAX_SCAN: usize = 0x09;
/// CR0A: cursor start.
pub const CR_CURSOR_START: usize = 0x0A;
/// CR0B: cursor end.
pub const CR_CURSOR_END: usize = 0x0B;
/// CR0C: start address high.
pub const CR_START_HIGH: usize = 0x0C;
/// CR0D: start address low.
pub const CR_START_LOW: usize = 0x0D;
/// CR0E: cursor location high.
pub const CR_CURSOR_HIGH: usize = 0x0E;
/// CR0F: cursor location low.
pub const CR_CURSOR_LOW: usize = 0x0F;
/// CR10: vertical retrace start, low 8 bits.
pub const CR_VRETRACE_START: usize = 0x10;
/// CR11: vertical retrace end, interrupt control, CR0–7 protect.
pub const CR_VRETRACE_END: usize = 0x11;
/// CR12: vertical display enable end, low 8 bits (lines − 1).
pub const CR_VDISP_END: usize = 0x12;
/// CR13: offset (logical line width).
pub const CR_OFFSET: usize = 0x13;
/// CR14: underline location, count by 4, double-word mode.
pub const CR_UNDERLINE: usize = 0x14;
/// CR15: start vertical blanking.
pub const CR_VBLANK_START: usize = 0x15;
/// CR16: end vertical blanking.
pub const CR_VBLANK_END: usize = 0x16;
/// CR17: CRTC mode control.
pub const CR_MODE: usize = 0x17;
/// CR18: line compare, low 8 bits.
pub const CR_LINE_COMPARE: usize = 0x18;

/// CR07 bit 0: vertical total bit 8.
pub const OVF_VTOTAL8: u8 = 0x01;
/// CR07 bit 1: vertical display end bit 8.
pub const OVF_VDISP8: u8 = 0x02;
/// CR07 bit 2: vertical retrace start bit 8.
pub const OVF_VRETRACE8: u8 = 0x04;
/// CR07 bit 4: line compare bit 8.
pub const OVF_LINE_COMPARE8: u8 = 0x10;
/// CR07 bit 5: vertical total bit 9.
pub const OVF_VTOTAL9: u8 = 0x20;
/// CR07 bit 6: vertical display end bit 9.
pub const OVF_VDISP9: u8 = 0x40;
/// CR07 bit 7: vertical retrace start bit 9.
pub const OVF_VRETRACE9: u8 = 0x80;

/// CR08 bits 4–0: preset row scan.
pub const PRESET_ROW_MASK: u8 = 0x1F;
/// CR08 bits 6–5: byte panning.
pub const BYTE_PAN_MASK: u8 = 0x60;
/// Shift of the byte panning field.
pub const BYTE_PAN_SHIFT: u8 = 5;

/// CR09 bits 4–0: maximum scan line (character height − 1).
pub const MAX_SCAN_MASK: u8 = 0x1F;
/// CR09 bit 6: line compare bit 9.
pub const MAX_SCAN_LINE_COMPARE9: u8 = 0x40;
/// CR09 bit 7 (SD): double scanning (every scan line shown twice).
pub const MAX_SCAN_DOUBLE: u8 = 0x80;

/// CR0A/CR0B bits 4–0: cursor start/end scan line.
pub const CURSOR_LINE_MASK: u8 = 0x1F;
/// CR0A bit 5: cursor off.
pub const CURSOR_DISABLE: u8 = 0x20;
/// CR0B bits 6–5: cursor skew (character clocks).
pub const CURSOR_SKEW_MASK: u8 = 0x60;
/// Shift of the cursor skew field.
pub const CURSOR_SKEW_SHIFT: u8 = 5;

/// CR11 bits 3–0: vertical retrace end (low 4 bits of the line counter).
pub const VRE_END_MASK: u8 = 0x0F;
/// CR11 bit 4: 0 clears (and holds clear) the vertical interrupt.
pub const VRE_CLEAR_INT_N: u8 = 0x10;
/// CR11 bit 5: disable the vertical interrupt.
pub const VRE_DISABLE_INT: u8 = 0x20;
/// CR11 bit 7: write-protect CR00–CR07 (except the line compare bit of CR07).
pub const VRE_PROTECT: u8 = 0x80;

/// CR14 bits 4–0: underline location.
pub const UNDERLINE_MASK: u8 = 0x1F;
/// CR14 bit 5: the address counter counts every fourth character clock.
pub const UNDERLINE_COUNT4: u8 = 0x20;
/// CR14 bit 6: double-word addressing.
pub const UNDERLINE_DWORD: u8 = 0x40;

/// CR17 bit 0 (CMS): 0 substitutes row scan bit 0 for address bit 13 (CGA banks).
pub const MODE_CTRL_MAP13: u8 = 0x01;
/// CR17 bit 1 (SRS): 0 substitutes row scan bit 1 for address bit 14.
pub const MODE_CTRL_MAP14: u8 = 0x02;
/// CR17 bit 2 (HRS): the vertical counter counts every second line.
pub const MODE_CTRL_LINE_DIV2: u8 = 0x04;
/// CR17 bit 3 (CBT): the address counter counts every second character clock.
pub const MODE_CTRL_COUNT2: u8 = 0x08;
/// CR17 bit 5 (AW): in word mode, MA15 (else MA13) becomes address bit 0.
pub const MODE_CTRL_ADDR_WRAP: u8 = 0x20;
/// CR17 bit 6 (W/B): byte addressing (else word addressing).
pub const MODE_CTRL_BYTE: u8 = 0x40;
/// CR17 bit 7 (SE): timing enabled (0 holds the CRTC in reset).
pub const MODE_CTRL_ENABLE: u8 = 0x80;

// ---- Attribute controller --------------------------------------------------

/// Number of attribute controller registers.
pub const AC_COUNT: usize = 0x15;
/// Attribute address bits 4–0: register index.
pub const AC_INDEX_MASK: u8 = 0x1F;
/// Attribute address bit 5 (PAS): the palette feeds the display (and is
/// write-protected); 0 lets the host load it and blanks the screen.
pub const AC_PAS: u8 = 0x20;
/// Number of palette registers (AR00–AR0F).
pub const AC_PALETTE_COUNT: usize = 16;
/// AR10: attribute mode control.
pub const AR_MODE: usize = 0x10;
/// AR11: overscan colour.
pub const AR_OVERSCAN: usize = 0x11;
/// AR12: colour plane enable.
pub const AR_PLANE_ENABLE: usize = 0x12;
/// AR13: horizontal pixel panning.
pub const AR_PANNING: usize = 0x13;
/// AR14: colour select.
pub const AR_COLOR_SELECT: usize = 0x14;

/// AR10 bit 0: graphics mode (else alphanumeric attributes).
pub const AMODE_GRAPHICS: u8 = 0x01;
/// AR10 bit 1: monochrome emulation.
pub const AMODE_MONO: u8 = 0x02;
/// AR10 bit 2: line graphics: the ninth dot of 0xC0–0xDF repeats the eighth.
pub const AMODE_LINE_GRAPHICS: u8 = 0x04;
/// AR10 bit 3: attribute bit 7 blinks (else it selects bright backgrounds).
pub const AMODE_BLINK: u8 = 0x08;
/// AR10 bit 5: pixel panning is reset to 0 below the line compare split.
pub const AMODE_PAN_SPLIT: u8 = 0x20;
/// AR10 bit 6: 8-bit pixels (256-colour modes).
pub const AMODE_8BIT: u8 = 0x40;
/// AR10 bit 7: colour select bits 1–0 replace palette bits 5–4.
pub const AMODE_P54S: u8 = 0x80;
/// AR12 bits 3–0: planes feeding the palette.
pub const PLANE_ENABLE_MASK: u8 = 0x0F;
/// AR14 bits 1–0: DAC index bits 5–4 when AR10 P54S is set.
pub const CSEL_54_MASK: u8 = 0x03;
/// AR14 bits 3–2: DAC index bits 7–6.
pub const CSEL_76_MASK: u8 = 0x0C;

// ---- DAC -------------------------------------------------------------------

/// Number of DAC entries.
pub const DAC_ENTRIES: usize = 256;
/// Each DAC component holds 6 bits.
pub const DAC_COMPONENT_MASK: u8 = 0x3F;
/// DAC state read: the DAC is in read mode (0x3C7 was written last).
pub const DAC_STATE_READ: u8 = 0x03;
/// DAC state read: the DAC is in write mode (0x3C8 was written last).
pub const DAC_STATE_WRITE: u8 = 0x00;

// ---- Memory ----------------------------------------------------------------

/// Bytes in one plane.
pub const PLANE_SIZE: usize = 0x1_0000;
/// Number of planes.
pub const PLANES: usize = 4;
/// Size of a character slot in plane 2.
pub const GLYPH_SLOT: usize = 32;
/// Start of the legacy video window.
pub const WINDOW_START: u32 = 0xA_0000;
/// End (inclusive) of the legacy video window.
pub const WINDOW_END: u32 = 0xB_FFFF;
