//! The display side: how the CRTC scans the planes out, how the attribute
//! controller and DAC turn plane bits into colours, and the text screen as
//! characters.

use super::regs::*;
use super::{TextScreen, Vga};

/// Upper bound on scan lines drawn (the CRTC's 10-bit counters allow 1024,
/// twice that with the line clock divided by two).
const MAX_LINES: usize = 2048;

/// How the CRTC scans memory out, derived from the registers.
#[derive(Clone, Copy, Debug)]
struct Scan {
    /// Character clocks per displayed line.
    chars: usize,
    /// Dots per character clock.
    dots: usize,
    /// Alphanumeric mode.
    text: bool,
    /// 8-bit pixels (256-colour modes).
    eight_bit: bool,
    /// Logical pixels per line.
    width: usize,
    /// Logical lines.
    height: usize,
    /// Physical scan lines displayed.
    phys_lines: usize,
    /// Physical scan lines per logical line.
    repeat: usize,
    /// The vertical counter counts every second line.
    line_div2: bool,
    /// Double scanning.
    double_scan: bool,
    /// Maximum scan line.
    max_scan: u8,
    /// Memory address counter advance per character row.
    row_step: u16,
    /// Start address.
    start: u16,
    /// Line compare (split screen) value of the vertical counter.
    line_compare: usize,
    /// Character clocks per address counter step (1, 2 or 4).
    divisor: usize,
}

/// A 6-bit DAC component scaled to 8 bits.
fn scale6(c: u8) -> u32 {
    let c = u32::from(c & DAC_COMPONENT_MASK);
    (c << 2) | (c >> 4)
}

impl Vga {
    fn scan(&self) -> Scan {
        let text = !self.is_graphics();
        let chars = usize::from(self.crtc[CR_HDISP_END]) + 1;
        let dots = if text && self.seq[SEQ_CLOCKING] & CLOCK_8DOT == 0 {
            9
        } else {
            8
        };
        let eight_bit = !text && self.ac[AR_MODE] & AMODE_8BIT != 0;
        let width = if eight_bit { chars * 4 } else { chars * dots };
        let cr9 = self.crtc[CR_MAX_SCAN];
        let max_scan = cr9 & MAX_SCAN_MASK;
        let double_scan = cr9 & MAX_SCAN_DOUBLE != 0;
        let cr17 = self.crtc[CR_MODE];
        let line_div2 = cr17 & MODE_CTRL_LINE_DIV2 != 0;
        let phys_lines =
            (self.display_lines() as usize * if line_div2 { 2 } else { 1 }).min(MAX_LINES);
        // In graphics modes the scan lines of one character row fetch the
        // same memory unless row scan bits replace address bits 13/14.
        let substitutes =
            cr17 & (MODE_CTRL_MAP13 | MODE_CTRL_MAP14) != (MODE_CTRL_MAP13 | MODE_CTRL_MAP14);
        let rows_repeat = if text || substitutes {
            1
        } else {
            usize::from(max_scan) + 1
        };
        let repeat = rows_repeat * if double_scan { 2 } else { 1 };
        let ovf = self.crtc[CR_OVERFLOW];
        let line_compare = usize::from(self.crtc[CR_LINE_COMPARE])
            | if ovf & OVF_LINE_COMPARE8 != 0 {
                0x100
            } else {
                0
            }
            | if cr9 & MAX_SCAN_LINE_COMPARE9 != 0 {
                0x200
            } else {
                0
            };
        let divisor = if self.crtc[CR_UNDERLINE] & UNDERLINE_COUNT4 != 0 {
            4
        } else if cr17 & MODE_CTRL_COUNT2 != 0 {
            2
        } else {
            1
        };
        Scan {
            chars,
            dots,
            text,
            eight_bit,
            width,
            height: phys_lines.div_ceil(repeat),
            phys_lines,
            repeat,
            line_div2,
            double_scan,
            max_scan,
            row_step: u16::from(self.crtc[CR_OFFSET]) * 2,
            start: u16::from_be_bytes([self.crtc[CR_START_HIGH], self.crtc[CR_START_LOW]]),
            line_compare,
            divisor,
        }
    }

    /// The display memory address the CRTC fetches for address counter `ma`
    /// on row scan `row_scan`: double-word, word or byte addressing, then
    /// the CGA (bit 13) and Hercules (bit 14) row scan substitutions.
    fn scan_address(&self, ma: u16, row_scan: u8) -> usize {
        let cr17 = self.crtc[CR_MODE];
        let ma = u32::from(ma);
        let mut a = if self.crtc[CR_UNDERLINE] & UNDERLINE_DWORD != 0 {
            (ma << 2) | ((ma >> 14) & 3)
        } else if cr17 & MODE_CTRL_BYTE == 0 {
            let wrap_bit = if cr17 & MODE_CTRL_ADDR_WRAP != 0 {
                15
            } else {
                13
            };
            (ma << 1) | ((ma >> wrap_bit) & 1)
        } else {
            ma
        };
        if cr17 & MODE_CTRL_MAP13 == 0 {
            a = (a & !0x2000) | (u32::from(row_scan & 1) << 13);
        }
        if cr17 & MODE_CTRL_MAP14 == 0 {
            a = (a & !0x4000) | (u32::from((row_scan >> 1) & 1) << 14);
        }
        (a & 0xFFFF) as usize
    }

    /// A 4-bit attribute value through the colour plane enable, the palette
    /// and the colour select to a DAC index.
    fn attribute_color(&self, value: u8) -> u8 {
        let v = value & self.ac[AR_PLANE_ENABLE] & PLANE_ENABLE_MASK;
        let pal = self.ac[usize::from(v)];
        let csel = self.ac[AR_COLOR_SELECT];
        let low = if self.ac[AR_MODE] & AMODE_P54S != 0 {
            (pal & 0x0F) | ((csel & CSEL_54_MASK) << 4)
        } else {
            pal & 0x3F
        };
        low | ((csel & CSEL_76_MASK) << 4)
    }

    /// A 256-colour pixel: both halves through the palette's low four bits.
    fn pixel_256(&self, byte: u8) -> u8 {
        let enable = self.ac[AR_PLANE_ENABLE] & PLANE_ENABLE_MASK;
        let half = |v: u8| self.ac[usize::from(v & enable)] & 0x0F;
        (half(byte >> 4) << 4) | half(byte & 0x0F)
    }

    /// Offset of the font selected by attribute bit 3 within plane 2.
    fn font_base(&self, attr: u8) -> usize {
        let sel = self.seq[SEQ_CHAR_MAP];
        let map = if attr & 0x08 != 0 {
            ((sel >> 2) & 3) | ((sel >> 3) & 4)
        } else {
            (sel & 3) | ((sel >> 2) & 4)
        };
        usize::from(map & 3) * 0x4000 + usize::from(map >> 2) * 0x2000
    }

    /// The pixel panning in logical pixels.
    fn panning(&self, s: &Scan) -> usize {
        let v = usize::from(self.ac[AR_PANNING] & 0x0F);
        if s.eight_bit {
            (v >> 1) & 3
        } else if s.dots == 9 {
            if v >= 8 {
                0
            } else {
                v + 1
            }
        } else {
            v & 7
        }
    }

    fn blanked(&self) -> bool {
        self.seq[SEQ_CLOCKING] & CLOCK_SCREEN_OFF != 0 || self.ac_index & AC_PAS == 0
    }

    /// One scan line of DAC indices (one per logical pixel, with a spare
    /// character clock for panning) for address counter `ma_row` and row
    /// scan `row_scan`.
    fn scan_line(&self, s: &Scan, ma_row: u16, row_scan: u8, blink_on: bool, out: &mut Vec<u8>) {
        out.clear();
        let ma_of = |c: usize| ma_row.wrapping_add((c / s.divisor) as u16);
        if s.text {
            self.text_line(s, row_scan, blink_on, &ma_of, out);
            return;
        }
        let mode = self.gc[GC_MODE];
        for c in 0..=s.chars {
            let a = self.scan_address(ma_of(c), row_scan);
            let p = [0, 1, 2, 3].map(|plane| self.plane_byte(plane, a));
            if s.eight_bit {
                out.extend(p.iter().map(|&b| self.pixel_256(b)));
            } else if mode & MODE_SHIFT_INTERLEAVE != 0 {
                for i in 0..8 {
                    let (lo, hi) = if i < 4 { (p[0], p[2]) } else { (p[1], p[3]) };
                    let shift = 6 - 2 * (i % 4);
                    let v = ((lo >> shift) & 3) | (((hi >> shift) & 3) << 2);
                    out.push(self.attribute_color(v));
                }
            } else {
                for i in 0..8 {
                    let bit = 7 - i;
                    let v = (0..4).fold(0, |v, plane| v | (((p[plane] >> bit) & 1) << plane));
                    out.push(self.attribute_color(v));
                }
            }
        }
    }

    fn text_line(
        &self,
        s: &Scan,
        row_scan: u8,
        blink_on: bool,
        ma_of: &dyn Fn(usize) -> u16,
        out: &mut Vec<u8>,
    ) {
        let amode = self.ac[AR_MODE];
        let blink = amode & AMODE_BLINK != 0;
        let line_gfx = amode & AMODE_LINE_GRAPHICS != 0;
        let cstart = self.crtc[CR_CURSOR_START];
        let cend = self.crtc[CR_CURSOR_END] & CURSOR_LINE_MASK;
        let cursor_rows = cstart & CURSOR_DISABLE == 0
            && (cstart & CURSOR_LINE_MASK) <= cend
            && (cstart & CURSOR_LINE_MASK..=cend).contains(&row_scan);
        let loc = u16::from_be_bytes([self.crtc[CR_CURSOR_HIGH], self.crtc[CR_CURSOR_LOW]]);
        let skew = usize::from((self.crtc[CR_CURSOR_END] & CURSOR_SKEW_MASK) >> CURSOR_SKEW_SHIFT);
        let cursor_col = if cursor_rows && blink_on {
            (0..=s.chars).find(|&c| ma_of(c) == loc).map(|c| c + skew)
        } else {
            None
        };
        let underline = row_scan == self.crtc[CR_UNDERLINE] & UNDERLINE_MASK;
        for c in 0..=s.chars {
            let a = self.scan_address(ma_of(c), row_scan);
            let ch = self.plane_byte(0, a);
            let attr = self.plane_byte(1, a);
            let glyph = self.plane_byte(
                2,
                self.font_base(attr) + usize::from(ch) * GLYPH_SLOT + usize::from(row_scan),
            );
            let mut fg = attr & 0x0F;
            let mut bg = attr >> 4;
            if blink {
                bg &= 0x07;
                if attr & 0x80 != 0 && !blink_on {
                    fg = bg;
                }
            }
            let solid = cursor_col == Some(c) || (underline && attr & 0x77 == 0x01);
            let (fg, bg) = (self.attribute_color(fg), self.attribute_color(bg));
            for bit in 0..8 {
                let on = solid || glyph & (0x80 >> bit) != 0;
                out.push(if on { fg } else { bg });
            }
            if s.dots == 9 {
                let on = solid || (line_gfx && (0xC0..=0xDF).contains(&ch) && glyph & 1 != 0);
                out.push(if on { fg } else { bg });
            }
        }
    }

    /// Draws the displayed picture into `frame` as 0x00RRGGBB pixels, row by
    /// row, and returns its (width, height). The size comes from the CRTC
    /// (see the module doc for which doublings are undone). `blink_on`
    /// selects the visible phase of blinking characters and the cursor.
    pub fn render(&self, frame: &mut Vec<u32>, blink_on: bool) -> (usize, usize) {
        let s = self.scan();
        frame.clear();
        frame.resize(s.width * s.height, 0);
        if self.blanked() {
            return (s.width, s.height);
        }
        let lut: Vec<u32> = (0..=255u8)
            .map(|i| {
                let [r, g, b] = self.dac[usize::from(i & self.pel_mask)];
                (scale6(r) << 16) | (scale6(g) << 8) | scale6(b)
            })
            .collect();
        let pan = self.panning(&s);
        let pan_split = self.ac[AR_MODE] & AMODE_PAN_SPLIT != 0;
        let byte_pan = u16::from((self.crtc[CR_PRESET_ROW] & BYTE_PAN_MASK) >> BYTE_PAN_SHIFT);
        let mut ma_row = s.start;
        let mut row_scan = self.crtc[CR_PRESET_ROW] & PRESET_ROW_MASK;
        let mut second = false;
        let mut split = false;
        let mut line = Vec::with_capacity((s.chars + 1) * 9);
        for y in 0..s.phys_lines {
            if y % s.repeat == 0 {
                let ly = y / s.repeat;
                let shift = if split && pan_split { 0 } else { pan };
                let ma = if split {
                    ma_row
                } else {
                    ma_row.wrapping_add(byte_pan)
                };
                self.scan_line(&s, ma, row_scan, blink_on, &mut line);
                let dst = &mut frame[ly * s.width..(ly + 1) * s.width];
                for (x, px) in dst.iter_mut().enumerate() {
                    *px = line.get(x + shift).map_or(0, |&i| lut[usize::from(i)]);
                }
            }
            let counter_steps = !s.line_div2 || y % 2 == 1;
            if !counter_steps {
                continue;
            }
            let vline = if s.line_div2 { y / 2 } else { y };
            if vline == s.line_compare {
                ma_row = 0;
                row_scan = 0;
                second = false;
                split = true;
                continue;
            }
            if s.double_scan {
                second = !second;
                if second {
                    continue;
                }
            }
            if row_scan >= s.max_scan {
                row_scan = 0;
                ma_row = ma_row.wrapping_add(s.row_step);
            } else {
                row_scan += 1;
            }
        }
        (s.width, s.height)
    }

    /// Character cell size in logical pixels (width, height) of a text mode.
    fn cell_size(&self, s: &Scan) -> (usize, usize) {
        let h = (usize::from(s.max_scan) + 1) * if s.double_scan { 2 } else { 1 };
        (s.dots, h)
    }

    /// The screen's characters and attributes when in a text mode, read from
    /// planes 0 and 1 along the CRTC's addressing (start address, offset);
    /// `None` in graphics modes.
    pub fn text_screen(&self) -> Option<TextScreen> {
        let s = self.scan();
        if !s.text {
            return None;
        }
        let (_, cell_h) = self.cell_size(&s);
        let cols = s.chars;
        let rows = s.phys_lines / cell_h.max(1);
        let ma_at = |r: usize, c: usize| {
            s.start
                .wrapping_add((r as u16).wrapping_mul(s.row_step))
                .wrapping_add((c / s.divisor) as u16)
        };
        let mut cells = Vec::with_capacity(rows * cols);
        for r in 0..rows {
            for c in 0..cols {
                let a = self.scan_address(ma_at(r, c), 0);
                cells.push((self.plane_byte(0, a), self.plane_byte(1, a)));
            }
        }
        let cstart = self.crtc[CR_CURSOR_START];
        let cend = self.crtc[CR_CURSOR_END] & CURSOR_LINE_MASK;
        let visible = cstart & CURSOR_DISABLE == 0
            && (cstart & CURSOR_LINE_MASK) <= cend
            && (cstart & CURSOR_LINE_MASK) <= s.max_scan;
        let loc = u16::from_be_bytes([self.crtc[CR_CURSOR_HIGH], self.crtc[CR_CURSOR_LOW]]);
        let cursor = if visible {
            (0..rows)
                .flat_map(|r| (0..cols).map(move |c| (r, c)))
                .find(|&(r, c)| ma_at(r, c) == loc)
        } else {
            None
        };
        Some(TextScreen {
            cols,
            rows,
            cells,
            cursor,
        })
    }

    /// A one-line description of the displayed mode, derived from the
    /// registers, e.g. "text 80x25, 9x16 cells" or "graphics 320x200, 256
    /// colors, chained".
    pub fn mode_summary(&self) -> String {
        let s = self.scan();
        if s.text {
            let (w, h) = self.cell_size(&s);
            return format!(
                "text {}x{}, {w}x{h} cells",
                s.chars,
                s.phys_lines / h.max(1)
            );
        }
        let (colors, layout) = if s.eight_bit {
            let chained = self.seq[SEQ_MEMORY_MODE] & MEM_CHAIN4 != 0;
            (256, if chained { "chained" } else { "unchained" })
        } else if self.gc[GC_MODE] & MODE_SHIFT_INTERLEAVE != 0 {
            let bits = (self.ac[AR_PLANE_ENABLE] & 0x05).count_ones() * 2;
            (1u32 << bits, "CGA interleaved")
        } else {
            let bits = (self.ac[AR_PLANE_ENABLE] & PLANE_ENABLE_MASK).count_ones();
            (1u32 << bits, "planar")
        };
        format!(
            "graphics {}x{}, {colors} colors, {layout}",
            s.width, s.height
        )
    }
}
