//! The text screen as characters: [`TextScreen`] and the code page 437 to
//! Unicode table used to turn it into strings.

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// Code page 437 positions 0x00–0x1F as the glyphs the VGA font draws there
/// (NUL draws nothing and becomes a space).
const CP437_CONTROL: &str = " ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼";
/// Code page 437 positions 0x80–0xFF (0xFF is the no-break space).
const CP437_HIGH: &str = concat!(
    "ÇüéâäàåçêëèïîìÄÅ",
    "ÉæÆôöòûùÿÖÜ¢£¥₧ƒ",
    "áíóúñÑªº¿⌐¬½¼¡«»",
    "░▒▓│┤╡╢╖╕╣║╗╝╜╛┐",
    "└┴┬├─┼╞╟╚╔╩╦╠═╬╧",
    "╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀",
    "αßΓπΣσµτΦΘΩδ∞φε∩",
    "≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{A0}",
);

/// The full code page 437 → Unicode table.
pub fn cp437_table() -> &'static [char; 256] {
    static TABLE: OnceLock<[char; 256]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [' '; 256];
        for (slot, c) in t.iter_mut().zip(CP437_CONTROL.chars()) {
            *slot = c;
        }
        for (i, slot) in t.iter_mut().enumerate().take(0x7F).skip(0x20) {
            *slot = char::from(i as u8);
        }
        t[0x7F] = '⌂';
        for (slot, c) in t[0x80..].iter_mut().zip(CP437_HIGH.chars()) {
            *slot = c;
        }
        t
    })
}

/// One code page 437 byte as Unicode.
pub fn cp437_to_char(byte: u8) -> char {
    cp437_table()[usize::from(byte)]
}

/// The characters of a text mode screen, as the CRTC would display them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextScreen {
    /// Characters per row.
    pub cols: usize,
    /// Rows on the screen.
    pub rows: usize,
    /// `rows * cols` cells, row by row: (character code, attribute).
    pub cells: Vec<(u8, u8)>,
    /// The cursor cell (row, column) when the cursor is enabled and on screen.
    pub cursor: Option<(usize, usize)>,
}

impl TextScreen {
    /// Each row as a Unicode string (code page 437 decoded), trailing spaces
    /// removed.
    pub fn lines(&self) -> Vec<String> {
        self.cells
            .chunks(self.cols.max(1))
            .take(self.rows)
            .map(|row| {
                let s: String = row.iter().map(|&(c, _)| cp437_to_char(c)).collect();
                s.trim_end_matches(' ').to_string()
            })
            .collect()
    }

    /// Whether `text` appears within one row of the screen.
    pub fn contains(&self, text: &str) -> bool {
        self.lines().iter().any(|l| l.contains(text))
    }

    /// The cell at `row`, `col`, if on screen.
    pub fn cell(&self, row: usize, col: usize) -> Option<(u8, u8)> {
        if col >= self.cols {
            return None;
        }
        self.cells.get(row * self.cols + col).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_covers_every_byte_once_per_glyph() {
        let t = cp437_table();
        assert_eq!(CP437_CONTROL.chars().count(), 32);
        assert_eq!(CP437_HIGH.chars().count(), 128);
        assert_eq!(t[b'A' as usize], 'A');
        assert_eq!(t[0x01], '☺');
        assert_eq!(t[0x7F], '⌂');
        assert_eq!(t[0x80], 'Ç');
        assert_eq!(t[0xB3], '│');
        assert_eq!(t[0xC4], '─');
        assert_eq!(t[0xC9], '╔');
        assert_eq!(t[0xDB], '█');
        assert_eq!(t[0xE1], 'ß');
        assert_eq!(t[0xFE], '■');
        assert_eq!(t[0xFF], '\u{A0}');
        // Apart from space/NUL, no two code points share a glyph.
        let mut seen = std::collections::HashSet::new();
        for &c in &t[1..] {
            assert!(seen.insert(c), "{c:?} twice");
        }
    }

    #[test]
    fn lines_trim_and_contains() {
        let mut cells = vec![(0u8, 7u8); 8];
        for (i, b) in b"Hi".iter().enumerate() {
            cells[i] = (*b, 7);
        }
        cells[4] = (0xC9, 7);
        cells[5] = (b'x', 7);
        let s = TextScreen {
            cols: 4,
            rows: 2,
            cells,
            cursor: None,
        };
        assert_eq!(s.lines(), vec!["Hi".to_string(), "╔x".to_string()]);
        assert!(s.contains("╔x"));
        assert!(!s.contains("Hi╔"));
        assert_eq!(s.cell(1, 1), Some((b'x', 7)));
        assert_eq!(s.cell(0, 4), None);
    }
}
