//! Screen output without a window: dumps to files (`--screen-dump`, the script's `dump`) and
//! the VGA text screen drawn in a terminal (`--display text`).

use std::io::{self, Write};
use std::path::Path;

/// Writes 0x00RRGGBB pixels as an RGB PNG.
pub fn write_png(path: &Path, width: usize, height: usize, pixels: &[u32]) -> io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut enc = png::Encoder::new(io::BufWriter::new(file), width as u32, height as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(io::Error::other)?;
    let mut data = Vec::with_capacity(width * height * 3);
    for &p in pixels.iter().take(width * height) {
        data.extend_from_slice(&[(p >> 16) as u8, (p >> 8) as u8, p as u8]);
    }
    w.write_image_data(&data).map_err(io::Error::other)?;
    w.finish().map_err(io::Error::other)
}

/// Writes text lines, one per screen row.
pub fn write_text(path: &Path, lines: &[String]) -> io::Result<()> {
    let mut s = String::new();
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    std::fs::write(path, s)
}

/// Draws the text screen in a terminal with ANSI escapes, redrawing only when it changed.
#[derive(Default)]
pub struct TerminalScreen {
    last: Vec<String>,
    last_cursor: Option<(usize, usize)>,
    started: bool,
}

impl TerminalScreen {
    /// A terminal screen that has drawn nothing yet.
    pub fn new() -> TerminalScreen {
        TerminalScreen::default()
    }

    /// Redraws the rows that changed and places the cursor.
    pub fn draw(
        &mut self,
        out: &mut dyn Write,
        lines: &[String],
        cursor: Option<(usize, usize)>,
    ) -> io::Result<()> {
        if self.started && lines == self.last.as_slice() && cursor == self.last_cursor {
            return Ok(());
        }
        if !self.started {
            // Clear once; then only changed rows are rewritten.
            write!(out, "\x1b[2J")?;
            self.started = true;
            self.last.clear();
        }
        for (row, line) in lines.iter().enumerate() {
            if self.last.get(row) != Some(line) {
                write!(out, "\x1b[{};1H{line}\x1b[K", row + 1)?;
            }
        }
        match cursor {
            Some((r, c)) => write!(out, "\x1b[{};{}H\x1b[?25h", r + 1, c + 1)?,
            None => write!(out, "\x1b[?25l")?,
        }
        out.flush()?;
        self.last = lines.to_vec();
        self.last_cursor = cursor;
        Ok(())
    }

    /// Leaves the terminal usable: cursor shown, below the screen.
    pub fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.started {
            writeln!(out, "\x1b[?25h\x1b[{};1H", self.last.len() + 1)?;
            out.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip() {
        let dir = std::env::temp_dir().join(format!("glassbox-png-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.png");
        write_png(&p, 2, 1, &[0x00FF_0000, 0x0000_00FF]).unwrap();
        let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&p).unwrap()));
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (2, 1));
        assert_eq!(&buf[..6], &[255, 0, 0, 0, 0, 255]);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn terminal_redraws_only_changes() {
        let mut t = TerminalScreen::new();
        let mut out = Vec::new();
        t.draw(&mut out, &["A:\\>".into(), "".into()], Some((0, 3)))
            .unwrap();
        assert!(String::from_utf8_lossy(&out).contains("A:\\>"));
        out.clear();
        t.draw(&mut out, &["A:\\>".into(), "".into()], Some((0, 3)))
            .unwrap();
        assert!(out.is_empty(), "nothing changed, nothing drawn");
        t.draw(&mut out, &["A:\\>".into(), "dir".into()], Some((1, 3)))
            .unwrap();
        let s = String::from_utf8_lossy(&out);
        assert!(s.contains("\x1b[2;1Hdir") && !s.contains("A:"), "{s:?}");
    }
}
