//! The CPU's view of video memory: address decoding through the memory map
//! select, chain 4 and odd/even, the four latches, read modes 0 and 1, and
//! write modes 0–3 with set/reset, rotate, logical function and bit mask.
//!
//! Addressing follows the IBM VGA: in chain 4 the host address bits 1–0
//! select the plane and the plane is addressed with those two bits cleared
//! (so mode 13h uses every fourth byte of each plane, as the CRTC's
//! double-word addressing expects); in odd/even mode bit 0 selects the even
//! or odd plane and the plane is addressed with bit 0 cleared (the CRTC's
//! word addressing reads those even addresses).

use super::regs::*;
use super::Vga;

/// How a host access reaches the planes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Route {
    /// Address within each plane.
    pub addr: usize,
    /// Planes this access may touch (before the map mask for writes).
    pub planes: u8,
}

/// A byte with every bit equal to bit 0 of `bit`.
fn expand(bit: u8) -> u8 {
    if bit & 1 != 0 {
        0xFF
    } else {
        0x00
    }
}

/// The graphics controller's ALU: `data` combined with the latch.
fn logical(func: u8, data: u8, latch: u8) -> u8 {
    match func {
        FUNC_AND => data & latch,
        FUNC_OR => data | latch,
        FUNC_XOR => data ^ latch,
        _ => data,
    }
}

impl Vga {
    /// The offset of `addr` within the window selected by GC06 bits 3–2, or
    /// `None` when the adapter does not answer at `addr` (outside the window,
    /// RAM disabled in the misc output, or the adapter disabled in 0x3C3).
    pub(super) fn window_offset(&self, addr: u32) -> Option<usize> {
        if self.misc & MISC_RAM_ENABLE == 0 || self.vga_enable & VGA_ENABLE == 0 {
            return None;
        }
        let (base, size) = match (self.gc[GC_MISC] & GMISC_MAP_MASK) >> GMISC_MAP_SHIFT {
            0 => (0xA_0000, 0x2_0000),
            1 => (0xA_0000, 0x1_0000),
            2 => (0xB_0000, 0x8000),
            _ => (0xB_8000, 0x8000),
        };
        let off = addr.checked_sub(base).filter(|&o| o < size)?;
        Some(off as usize)
    }

    fn chain4(&self) -> bool {
        self.seq[SEQ_MEMORY_MODE] & MEM_CHAIN4 != 0
    }

    /// Routing of a host write at window offset `off`.
    pub(super) fn write_route(&self, off: usize) -> Route {
        if self.chain4() {
            Route {
                addr: off & 0xFFFC,
                planes: 1 << (off & 3),
            }
        } else if self.seq[SEQ_MEMORY_MODE] & MEM_ODD_EVEN_DISABLE == 0 {
            Route {
                addr: off & 0xFFFE,
                planes: if off & 1 != 0 { 0b1010 } else { 0b0101 },
            }
        } else {
            Route {
                addr: off & 0xFFFF,
                planes: 0x0F,
            }
        }
    }

    /// Routing of a host read at window offset `off`: the plane address and
    /// the plane read mode 0 returns.
    pub(super) fn read_route(&self, off: usize) -> (usize, usize) {
        let map = usize::from(self.gc[GC_READ_MAP] & 3);
        if self.chain4() {
            (off & 0xFFFC, off & 3)
        } else if self.gc[GC_MODE] & MODE_HOST_ODD_EVEN != 0 {
            (off & 0xFFFE, (map & 2) | (off & 1))
        } else {
            (off & 0xFFFF, map)
        }
    }

    /// A CPU read of physical address `addr` (0xA0000..=0xBFFFF). Loads the
    /// four latches; returns 0xFF where the adapter does not answer.
    pub fn mem_read(&mut self, addr: u32) -> u8 {
        let Some(off) = self.window_offset(addr) else {
            return 0xFF;
        };
        let (a, plane) = self.read_route(off);
        for p in 0..PLANES {
            self.latch[p] = self.planes[p * PLANE_SIZE + a];
        }
        if self.gc[GC_MODE] & MODE_READ_COMPARE != 0 {
            self.color_compare()
        } else {
            self.latch[plane]
        }
    }

    /// Read mode 1: a bit is set where every plane not excluded by the colour
    /// don't care register matches the colour compare register.
    fn color_compare(&self) -> u8 {
        let care = self.gc[GC_COLOR_DONT_CARE];
        let color = self.gc[GC_COLOR_COMPARE];
        (0..PLANES)
            .filter(|&p| care >> p & 1 != 0)
            .fold(0xFF, |acc, p| acc & !(self.latch[p] ^ expand(color >> p)))
    }

    /// A CPU write of `value` to physical address `addr`; dropped where the
    /// adapter does not answer.
    pub fn mem_write(&mut self, addr: u32, value: u8) {
        let Some(off) = self.window_offset(addr) else {
            return;
        };
        let route = self.write_route(off);
        let enabled = route.planes & self.seq[SEQ_MAP_MASK];
        let rotate = u32::from(self.gc[GC_DATA_ROTATE] & ROTATE_COUNT_MASK);
        let func = (self.gc[GC_DATA_ROTATE] & ROTATE_FUNC_MASK) >> ROTATE_FUNC_SHIFT;
        let set_reset = self.gc[GC_SET_RESET];
        let enable_sr = self.gc[GC_ENABLE_SET_RESET];
        let mut mask = self.gc[GC_BIT_MASK];
        let rotated = value.rotate_right(rotate);
        let mode = self.gc[GC_MODE] & MODE_WRITE_MASK;
        if mode == 3 {
            mask &= rotated;
        }
        for p in 0..PLANES {
            if enabled >> p & 1 == 0 {
                continue;
            }
            let latch = self.latch[p];
            let out = match mode {
                0 => {
                    let data = if enable_sr >> p & 1 != 0 {
                        expand(set_reset >> p)
                    } else {
                        rotated
                    };
                    let data = logical(func, data, latch);
                    (data & mask) | (latch & !mask)
                }
                1 => latch,
                2 => {
                    let data = logical(func, expand(value >> p), latch);
                    (data & mask) | (latch & !mask)
                }
                _ => {
                    let data = logical(func, expand(set_reset >> p), latch);
                    (data & mask) | (latch & !mask)
                }
            };
            self.planes[p * PLANE_SIZE + route.addr] = out;
        }
    }

    /// Plane `plane`'s byte at `addr` (masked to the plane size), for the
    /// display side and the debugger.
    pub fn plane_byte(&self, plane: usize, addr: usize) -> u8 {
        self.planes[(plane & 3) * PLANE_SIZE + (addr & (PLANE_SIZE - 1))]
    }
}
