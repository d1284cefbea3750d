//! VGA: sequencer, CRTC, graphics and attribute controllers, DAC, video memory.
//!
//! An IBM VGA register-compatible adapter: 256 KiB of video memory as four
//! 64 KiB planes, the sequencer (map mask, chain 4, odd/even, character map
//! select, clocking), the graphics controller (the CPU's read and write data
//! paths), the CRT controller (timing, addressing, cursor), the attribute
//! controller (palette, text attributes) and the 256-entry DAC.
//!
//! | port           | register                                                  |
//! |----------------|-----------------------------------------------------------|
//! | 0x3B4/0x3B5    | CRTC address/data, monochrome addressing (misc bit 0 = 0) |
//! | 0x3BA          | input status 1 (read) / feature control (write), mono     |
//! | 0x3C0          | attribute address/data write (flip-flop); read: address   |
//! | 0x3C1          | attribute data read                                       |
//! | 0x3C2          | misc output (write) / input status 0 (read)               |
//! | 0x3C3          | VGA enable                                                |
//! | 0x3C4/0x3C5    | sequencer address/data                                    |
//! | 0x3C6          | DAC pixel mask                                            |
//! | 0x3C7          | DAC read address (write) / DAC state (read)               |
//! | 0x3C8          | DAC write address                                         |
//! | 0x3C9          | DAC data                                                  |
//! | 0x3CA          | feature control read                                      |
//! | 0x3CC          | misc output read                                          |
//! | 0x3CE/0x3CF    | graphics controller address/data                          |
//! | 0x3D4/0x3D5    | CRTC address/data, colour addressing (misc bit 0 = 1)     |
//! | 0x3DA          | input status 1 (read) / feature control (write), colour   |
//!
//! The CRTC and input status ports of the addressing not selected by misc
//! output bit 0 read as 0xFF and ignore writes. All ports are byte-wide.
//! Video memory is reached through [`Vga::mem_read`] and [`Vga::mem_write`]
//! for physical addresses 0xA0000–0xBFFFF (the data paths are described in
//! the `memory` submodule). The adapter answers memory cycles only while
//! misc output bit 1 (RAM enable) and 0x3C3 bit 0 (VGA enable) are set.
//!
//! Register behaviour follows IBM's VGA technical reference (PS/2 hardware
//! interface technical reference, "Video Subsystem"), with bit names as
//! there.
//!
//! ## Time
//!
//! Nothing is clocked. The beam position is computed from `cx.now` when input
//! status 1 is read: the dot clock (misc output bits 3–2, halved by sequencer
//! clocking bit 3), the horizontal total and display end of the CRTC (in
//! character clocks of 8 or 9 dots), the vertical total, display end and
//! retrace start/end give the display-enable and vertical-retrace bits. Mode
//! 03h comes out at 70 Hz and mode 12h at 60 Hz as on the real card. While
//! the CRTC holds implausible values (before the BIOS programs it, or with
//! its timing disabled in CR17 bit 7) a standard 70 Hz, 400-line frame is
//! assumed, so a guest waiting for retrace never hangs. The vertical retrace
//! interrupt latch is kept (input status 0 bit 7, cleared through CR11
//! bit 4) but drives no IRQ line, as on cards whose IRQ2 jumper is open; no
//! scheduler event is needed.
//!
//! ## Display
//!
//! [`Vga::render`] draws the frame from the registers alone (no BIOS mode
//! number): text with 8- or 9-dot characters, line graphics, blink or bright
//! backgrounds, cursor, underline, character map select; CGA-compatible 2-bit
//! interleaved pixels; planar 1-, 2- and 16-colour modes; chained and
//! unchained 256-colour modes; CRTC byte, word and double-word addressing,
//! count by 2/4, the CGA/Hercules row-scan address substitution, double
//! scanning, scan-line repetition, start address, byte and pixel panning and
//! the line compare split. The image is the logical one: pixels doubled by a
//! halved dot clock, by 8-bit pixel pairs, by double scanning or by repeated
//! scan lines of a graphics mode appear once. The screen is blanked (black)
//! while the sequencer's screen-off bit is set or the attribute palette
//! address source is 0, as on the real card.
//!
//! In 256-colour mode each pixel's two 4-bit halves go through the low four
//! bits of the attribute palette (which the BIOS loads with 0–15).
//!
//! ## Not emulated
//!
//! The odd/even page bit (misc output bit 5) and GC06 chain odd/even as a
//! separate control (host odd/even follows sequencer memory mode bit 2 for
//! writes and GC05 bit 4 for reads), the monitor sense comparator (input
//! status 0 reports a colour monitor), the light pen, horizontal retrace
//! timing details beyond display enable, the overscan border, and sequencer
//! resets (memory keeps its contents through them, as it does on
//! most cards).

mod memory;
pub mod regs;
mod render;
mod text;

pub use text::{cp437_table, cp437_to_char, TextScreen};

use crate::bus::{Device, IoCx, ResetKind};
use crate::once::Once;
use crate::time::{Cycles, EventKind};
use regs::*;
use serde::{Deserialize, Serialize};
use std::io::Write;

/// What unanswered ports read as.
const FLOATING_BUS: u8 = 0xFF;

/// Warn-once site: a register index beyond the implemented set.
const WARN_INDEX: u32 = 0;

/// The attribute palette loaded at power-on: the CGA colours of 16-colour
/// text, so even a half-programmed card shows readable text.
const DEFAULT_PALETTE: [u8; AC_PALETTE_COUNT] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F,
];

/// The DAC at power-on: entry `i` holds the EGA colour `i & 0x3F` (bits 2–0
/// primary red/green/blue at 2/3 intensity, bits 5–3 secondary at 1/3), so
/// the default attribute palette gives the sixteen familiar colours.
fn default_dac() -> Vec<[u8; 3]> {
    (0..DAC_ENTRIES)
        .map(|i| {
            let v = i as u8 & 0x3F;
            let comp = |primary: u8, secondary: u8| {
                (if v & primary != 0 { 0x2A } else { 0 })
                    + (if v & secondary != 0 { 0x15 } else { 0 })
            };
            [comp(0x04, 0x20), comp(0x02, 0x10), comp(0x01, 0x08)]
        })
        .collect()
}

/// The frame timing derived from the CRTC, in dot clocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameTiming {
    /// Dot clock in Hz after the sequencer's divide-by-two.
    pub dot_hz: u64,
    /// Dots per scan line (horizontal total).
    pub line_dots: u64,
    /// Displayed dots per scan line.
    pub display_dots: u64,
    /// Scan lines per frame (vertical total).
    pub lines: u64,
    /// Displayed scan lines.
    pub display_lines: u64,
    /// First line of vertical retrace.
    pub retrace_start: u64,
    /// Lines of vertical retrace.
    pub retrace_lines: u64,
}

impl FrameTiming {
    /// The standard 400-line, 70 Hz frame (mode 03h), used while the CRTC
    /// holds no plausible timing.
    pub const DEFAULT: FrameTiming = FrameTiming {
        dot_hz: 28_322_000,
        line_dots: 900,
        display_dots: 720,
        lines: 449,
        display_lines: 400,
        retrace_start: 412,
        retrace_lines: 2,
    };

    /// Dots per frame.
    pub fn frame_dots(&self) -> u64 {
        self.line_dots * self.lines
    }

    /// Frames per second.
    pub fn refresh_hz(&self) -> f64 {
        self.dot_hz as f64 / self.frame_dots() as f64
    }
}

/// An IBM VGA-compatible display adapter.
#[derive(Clone, Serialize, Deserialize)]
pub struct Vga {
    /// Miscellaneous output register.
    misc: u8,
    /// VGA enable register (0x3C3).
    vga_enable: u8,
    /// Feature control register.
    feature: u8,
    seq_index: u8,
    seq: [u8; SEQ_COUNT],
    gc_index: u8,
    gc: [u8; GC_COUNT],
    crtc_index: u8,
    crtc: [u8; CRTC_COUNT],
    /// Attribute address register (index and PAS).
    ac_index: u8,
    /// The attribute flip-flop: the next 0x3C0 write is data.
    ac_data_next: bool,
    ac: [u8; AC_COUNT],
    pel_mask: u8,
    /// 256 entries of three 6-bit components.
    dac: Vec<[u8; 3]>,
    /// The DAC's address register (shared by reads and writes).
    dac_addr: u8,
    /// Component (0–2) of the current read or write cycle.
    dac_phase: u8,
    /// Components collected by a write cycle, or the entry a read cycle returns.
    dac_buf: [u8; 3],
    /// 0x3C7 was written last (read cycles).
    dac_reading: bool,
    /// The four latches, loaded by every CPU read.
    latch: [u8; PLANES],
    /// Four planes of 64 KiB, plane `p` at `p * PLANE_SIZE`.
    planes: Vec<u8>,
    cycles_per_second: u64,
    /// The vertical interrupt latch was released (CR11 bit 4 set) at this
    /// time; `None` while it is held clear.
    int_armed_at: Option<Cycles>,
    /// Latest time seen, for `inspect`.
    last_now: Cycles,
    #[serde(skip)]
    once: Once,
}

impl Vga {
    /// An adapter at power-on whose CPU runs at `cycles_per_second` (values
    /// below 1 are taken as 1). Registers are zero, as before the BIOS runs;
    /// the DAC and the attribute palette hold the standard 16 colours.
    pub fn new(cycles_per_second: u64) -> Self {
        let mut ac = [0; AC_COUNT];
        ac[..AC_PALETTE_COUNT].copy_from_slice(&DEFAULT_PALETTE);
        Vga {
            misc: 0,
            vga_enable: VGA_ENABLE, // a motherboard VGA answers from power-on, as PCs and other emulators have it
            feature: 0,
            seq_index: 0,
            seq: [0; SEQ_COUNT],
            gc_index: 0,
            gc: [0; GC_COUNT],
            crtc_index: 0,
            crtc: [0; CRTC_COUNT],
            ac_index: 0,
            ac_data_next: false,
            ac,
            pel_mask: 0xFF,
            dac: default_dac(),
            dac_addr: 0,
            dac_phase: 0,
            dac_buf: [0; 3],
            dac_reading: false,
            latch: [0; PLANES],
            planes: vec![0; PLANES * PLANE_SIZE],
            cycles_per_second: cycles_per_second.max(1),
            int_armed_at: None,
            last_now: Cycles::ZERO,
            once: Once::default(),
        }
    }

    /// Puts every register in its power-on state; video memory is cleared
    /// only on [`ResetKind::PowerOn`] (a reset leaves DRAM contents alone).
    pub fn reset_state(&mut self, kind: ResetKind) {
        let planes = std::mem::take(&mut self.planes);
        let now = self.last_now;
        *self = Vga::new(self.cycles_per_second);
        self.last_now = now;
        if kind == ResetKind::Hard && planes.len() == PLANES * PLANE_SIZE {
            self.planes = planes;
        }
    }

    /// Whether the CRTC and input status 1 answer at 0x3Dx (else 0x3Bx).
    fn color_io(&self) -> bool {
        self.misc & MISC_IO_COLOR != 0
    }

    /// Whether the adapter is in a graphics (all-points-addressable) mode.
    pub fn is_graphics(&self) -> bool {
        self.gc[GC_MISC] & GMISC_GRAPHICS != 0
    }

    /// A sequencer register (0–4; others read 0).
    pub fn seq_reg(&self, index: usize) -> u8 {
        self.seq.get(index).copied().unwrap_or(0)
    }

    /// A CRTC register (0x00–0x18; others read 0).
    pub fn crtc_reg(&self, index: usize) -> u8 {
        self.crtc.get(index).copied().unwrap_or(0)
    }

    /// A graphics controller register (0–8; others read 0).
    pub fn gc_reg(&self, index: usize) -> u8 {
        self.gc.get(index).copied().unwrap_or(0)
    }

    /// An attribute controller register (0x00–0x14; others read 0).
    pub fn ac_reg(&self, index: usize) -> u8 {
        self.ac.get(index).copied().unwrap_or(0)
    }

    /// DAC entry `index` as three 6-bit components.
    pub fn dac_entry(&self, index: u8) -> [u8; 3] {
        self.dac[usize::from(index)]
    }

    /// The misc output register.
    pub fn misc_output(&self) -> u8 {
        self.misc
    }

    // ---- timing ------------------------------------------------------------

    /// A CRTC vertical value with its overflow bits 8 (`bit8`) and 9 (`bit9`).
    fn vertical(&self, low: usize, bit8: u8, bit9: u8) -> u64 {
        let ovf = self.crtc[CR_OVERFLOW];
        u64::from(self.crtc[low])
            | if ovf & bit8 != 0 { 0x100 } else { 0 }
            | if ovf & bit9 != 0 { 0x200 } else { 0 }
    }

    /// Scan lines displayed (vertical display end + 1).
    pub(crate) fn display_lines(&self) -> u64 {
        self.vertical(CR_VDISP_END, OVF_VDISP8, OVF_VDISP9) + 1
    }

    /// Dots per character clock.
    fn char_dots(&self) -> u64 {
        if self.seq[SEQ_CLOCKING] & CLOCK_8DOT != 0 {
            8
        } else {
            9
        }
    }

    /// The frame timing the CRTC is programmed for, or
    /// [`FrameTiming::DEFAULT`] while that is implausible.
    pub fn frame_timing(&self) -> FrameTiming {
        let clock = usize::from((self.misc & MISC_CLOCK_MASK) >> MISC_CLOCK_SHIFT);
        let mut dot_hz = DOT_CLOCKS_HZ[clock.min(1)];
        if self.seq[SEQ_CLOCKING] & CLOCK_HALF_DOT != 0 {
            dot_hz /= 2;
        }
        let dots = self.char_dots();
        let htotal = u64::from(self.crtc[CR_HTOTAL]) + 5;
        let hdisp = u64::from(self.crtc[CR_HDISP_END]) + 1;
        let lines = self.vertical(CR_VTOTAL, OVF_VTOTAL8, OVF_VTOTAL9) + 2;
        let display_lines = self.display_lines();
        let retrace_start = self.vertical(CR_VRETRACE_START, OVF_VRETRACE8, OVF_VRETRACE9);
        let end = u64::from(self.crtc[CR_VRETRACE_END] & VRE_END_MASK);
        let retrace_lines = match end.wrapping_sub(retrace_start) & 0xF {
            0 => 16,
            n => n,
        };
        let plausible = self.crtc[CR_MODE] & MODE_CTRL_ENABLE != 0
            && htotal >= 16
            && hdisp < htotal
            && lines >= 100
            && display_lines < lines
            && retrace_start < lines;
        if !plausible {
            return FrameTiming::DEFAULT;
        }
        FrameTiming {
            dot_hz,
            line_dots: htotal * dots,
            display_dots: hdisp * dots,
            lines,
            display_lines,
            retrace_start,
            retrace_lines,
        }
    }

    /// The dot count since power-on at `now`.
    fn dots_at(&self, now: Cycles, t: &FrameTiming) -> u128 {
        u128::from(now.0) * u128::from(t.dot_hz) / u128::from(self.cycles_per_second)
    }

    /// The first cycle at which dot `dot` has been reached.
    fn cycle_of_dot(&self, dot: u128, t: &FrameTiming) -> Cycles {
        let c = (dot * u128::from(self.cycles_per_second)).div_ceil(u128::from(t.dot_hz));
        Cycles(u64::try_from(c).unwrap_or(u64::MAX))
    }

    /// The beam at `now`: (scan line, dot within the line).
    pub fn beam(&self, now: Cycles) -> (u64, u64) {
        let t = self.frame_timing();
        let pos = (self.dots_at(now, &t) % u128::from(t.frame_dots())) as u64;
        (pos / t.line_dots, pos % t.line_dots)
    }

    /// Whether vertical retrace is in progress at `now`.
    pub fn in_vertical_retrace(&self, now: Cycles) -> bool {
        let t = self.frame_timing();
        let (line, _) = self.beam(now);
        let rel = (line + t.lines - t.retrace_start) % t.lines;
        rel < t.retrace_lines
    }

    /// The first cycle after `after` at which a vertical retrace begins.
    pub fn next_retrace_start(&self, after: Cycles) -> Cycles {
        let t = self.frame_timing();
        let frame = u128::from(t.frame_dots());
        let start = u128::from(t.retrace_start * t.line_dots);
        let dot = self.dots_at(after, &t);
        let base = dot / frame * frame + start;
        let next = if base > dot { base } else { base + frame };
        self.cycle_of_dot(next, &t)
    }

    /// Input status 1 at `now`.
    pub fn input_status1(&self, now: Cycles) -> u8 {
        let t = self.frame_timing();
        let (line, dot) = self.beam(now);
        let mut v = 0;
        if line >= t.display_lines || dot >= t.display_dots {
            v |= STATUS1_DISPLAY_DISABLED;
        }
        if self.in_vertical_retrace(now) {
            v |= STATUS1_VRETRACE;
        }
        v
    }

    /// Input status 0 at `now`.
    pub fn input_status0(&self, now: Cycles) -> u8 {
        let mut v = STATUS0_SWITCH_SENSE;
        if let Some(armed) = self.int_armed_at {
            if self.next_retrace_start(armed) <= now {
                v |= STATUS0_CRT_INTERRUPT;
            }
        }
        v
    }

    // ---- register access ---------------------------------------------------

    fn warn_index(&mut self, what: &str, index: u8) {
        if self.once.first(WARN_INDEX) {
            log::warn!("vga: {what} index {index:#04x} is not a VGA register; ignored");
        }
    }

    fn crtc_write(&mut self, value: u8, now: Cycles) {
        let i = usize::from(self.crtc_index);
        if i >= CRTC_COUNT {
            self.warn_index("CRTC", self.crtc_index);
            return;
        }
        if self.crtc[CR_VRETRACE_END] & VRE_PROTECT != 0 && i <= CR_OVERFLOW {
            if i == CR_OVERFLOW {
                let keep = self.crtc[i] & !OVF_LINE_COMPARE8;
                self.crtc[i] = keep | (value & OVF_LINE_COMPARE8);
            }
            return;
        }
        if i == CR_VRETRACE_END {
            let release = value & VRE_CLEAR_INT_N != 0;
            if !release {
                self.int_armed_at = None;
            } else if self.int_armed_at.is_none() {
                self.int_armed_at = Some(now);
            }
        }
        self.crtc[i] = value;
    }

    fn ac_write(&mut self, value: u8) {
        if !self.ac_data_next {
            self.ac_index = value & (AC_INDEX_MASK | AC_PAS);
            self.ac_data_next = true;
            return;
        }
        self.ac_data_next = false;
        let i = usize::from(self.ac_index & AC_INDEX_MASK);
        if i >= AC_COUNT {
            self.warn_index("attribute", self.ac_index);
            return;
        }
        // While the palette feeds the display the host cannot load it.
        if i < AC_PALETTE_COUNT && self.ac_index & AC_PAS != 0 {
            return;
        }
        self.ac[i] = value;
    }

    fn dac_data_write(&mut self, value: u8) {
        self.dac_buf[usize::from(self.dac_phase)] = value & DAC_COMPONENT_MASK;
        self.dac_phase += 1;
        if self.dac_phase == 3 {
            self.dac[usize::from(self.dac_addr)] = self.dac_buf;
            self.dac_addr = self.dac_addr.wrapping_add(1);
            self.dac_phase = 0;
        }
    }

    fn dac_data_read(&mut self) -> u8 {
        let v = self.dac_buf[usize::from(self.dac_phase)];
        self.dac_phase += 1;
        if self.dac_phase == 3 {
            self.dac_buf = self.dac[usize::from(self.dac_addr)];
            self.dac_addr = self.dac_addr.wrapping_add(1);
            self.dac_phase = 0;
        }
        v
    }

    /// A byte read of `port` at `now`.
    pub fn read_port(&mut self, port: u16, now: Cycles) -> u8 {
        self.last_now = self.last_now.max(now);
        let color = self.color_io();
        match port {
            PORT_AC_WRITE => self.ac_index,
            PORT_AC_READ => self.ac_reg(usize::from(self.ac_index & AC_INDEX_MASK)),
            PORT_MISC_WRITE => self.input_status0(now),
            PORT_VGA_ENABLE => self.vga_enable,
            PORT_SEQ_INDEX => self.seq_index,
            PORT_SEQ_DATA => self.seq_reg(usize::from(self.seq_index)),
            PORT_PEL_MASK => self.pel_mask,
            PORT_DAC_READ_INDEX => {
                if self.dac_reading {
                    DAC_STATE_READ
                } else {
                    DAC_STATE_WRITE
                }
            }
            PORT_DAC_WRITE_INDEX => self.dac_addr,
            PORT_DAC_DATA => self.dac_data_read(),
            PORT_FEATURE_READ => self.feature,
            PORT_MISC_READ => self.misc,
            PORT_GC_INDEX => self.gc_index,
            PORT_GC_DATA => self.gc_reg(usize::from(self.gc_index)),
            PORT_CRTC_INDEX_MONO | PORT_CRTC_INDEX_COLOR
                if color == (port == PORT_CRTC_INDEX_COLOR) =>
            {
                self.crtc_index
            }
            PORT_CRTC_DATA_MONO | PORT_CRTC_DATA_COLOR
                if color == (port == PORT_CRTC_DATA_COLOR) =>
            {
                self.crtc_reg(usize::from(self.crtc_index))
            }
            PORT_STATUS1_MONO | PORT_STATUS1_COLOR if color == (port == PORT_STATUS1_COLOR) => {
                self.ac_data_next = false;
                self.input_status1(now)
            }
            _ => FLOATING_BUS,
        }
    }

    /// A byte write of `value` to `port` at `now`.
    pub fn write_port(&mut self, port: u16, value: u8, now: Cycles) {
        self.last_now = self.last_now.max(now);
        let color = self.color_io();
        match port {
            PORT_AC_WRITE => self.ac_write(value),
            PORT_MISC_WRITE => self.misc = value,
            PORT_VGA_ENABLE => self.vga_enable = value & VGA_ENABLE,
            PORT_SEQ_INDEX => self.seq_index = value,
            PORT_SEQ_DATA => match self.seq.get_mut(usize::from(self.seq_index)) {
                Some(r) => *r = value,
                None => self.warn_index("sequencer", self.seq_index),
            },
            PORT_PEL_MASK => self.pel_mask = value,
            PORT_DAC_READ_INDEX => {
                self.dac_reading = true;
                self.dac_phase = 0;
                self.dac_buf = self.dac[usize::from(value)];
                self.dac_addr = value.wrapping_add(1);
            }
            PORT_DAC_WRITE_INDEX => {
                self.dac_reading = false;
                self.dac_phase = 0;
                self.dac_addr = value;
            }
            PORT_DAC_DATA => self.dac_data_write(value),
            PORT_GC_INDEX => self.gc_index = value,
            PORT_GC_DATA => match self.gc.get_mut(usize::from(self.gc_index)) {
                Some(r) => *r = value,
                None => self.warn_index("graphics", self.gc_index),
            },
            PORT_CRTC_INDEX_MONO | PORT_CRTC_INDEX_COLOR
                if color == (port == PORT_CRTC_INDEX_COLOR) =>
            {
                self.crtc_index = value
            }
            PORT_CRTC_DATA_MONO | PORT_CRTC_DATA_COLOR
                if color == (port == PORT_CRTC_DATA_COLOR) =>
            {
                self.crtc_write(value, now)
            }
            PORT_STATUS1_MONO | PORT_STATUS1_COLOR if color == (port == PORT_STATUS1_COLOR) => {
                self.feature = value
            }
            _ => {}
        }
    }
}

impl Device for Vga {
    fn name(&self) -> &'static str {
        "vga"
    }

    fn io_read(&mut self, port: u16, _size: u8, cx: &mut IoCx) -> u32 {
        u32::from(self.read_port(port, cx.now))
    }

    fn io_write(&mut self, port: u16, _size: u8, value: u32, cx: &mut IoCx) {
        self.write_port(port, value as u8, cx.now);
    }

    fn reset(&mut self, kind: ResetKind) {
        self.reset_state(kind);
    }

    fn on_event(&mut self, event: EventKind, _cx: &mut IoCx) {
        log::debug!("vga: event {event:?} ignored (the adapter schedules none)");
    }

    fn inspect(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let t = self.frame_timing();
        writeln!(out, "vga: {}", self.mode_summary())?;
        writeln!(
            out,
            "  misc {:#04x} ({} addressing, RAM {}), enable {:#04x}, feature {:#04x}",
            self.misc,
            if self.color_io() {
                "colour 0x3Dx"
            } else {
                "mono 0x3Bx"
            },
            if self.misc & MISC_RAM_ENABLE != 0 {
                "on"
            } else {
                "off"
            },
            self.vga_enable,
            self.feature
        )?;
        let hex = |r: &[u8]| {
            r.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        writeln!(out, "  seq  [{:#04x}] {}", self.seq_index, hex(&self.seq))?;
        writeln!(out, "  gc   [{:#04x}] {}", self.gc_index, hex(&self.gc))?;
        writeln!(out, "  crtc [{:#04x}] {}", self.crtc_index, hex(&self.crtc))?;
        writeln!(
            out,
            "  attr [{:#04x}, next {}] {}",
            self.ac_index,
            if self.ac_data_next { "data" } else { "index" },
            hex(&self.ac)
        )?;
        writeln!(
            out,
            "  dac: {} mode, address {:#04x}, component {}, pel mask {:#04x}",
            if self.dac_reading { "read" } else { "write" },
            self.dac_addr,
            self.dac_phase,
            self.pel_mask
        )?;
        writeln!(out, "  latches {}", hex(&self.latch))?;
        let (line, dot) = self.beam(self.last_now);
        write!(
            out,
            "  timing: {}x{} dots of {} ({:.2} Hz); beam at line {line} dot {dot} (cycle {}){}",
            t.line_dots,
            t.lines,
            t.dot_hz,
            t.refresh_hz(),
            self.last_now.0,
            if self.in_vertical_retrace(self.last_now) {
                ", in vertical retrace"
            } else {
                ""
            }
        )?;
        writeln!(out)
    }
}

#[cfg(test)]
mod tests;
