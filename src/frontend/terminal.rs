//! Keyboard input for `--display text`: the terminal in raw mode, each key the terminal
//! reports turned into a PC key press and release (terminals report keys, not the moments
//! they go down and up). Ctrl-] leaves the emulator, like telnet's escape.

use crate::machine::Pc;
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use glassbox_devices::i8042::{keys_for_char, Key};
use std::time::Duration;

/// The terminal in raw mode while this lives.
pub struct TerminalInput {
    raw: bool,
}

impl TerminalInput {
    /// Switches the terminal to raw mode when standard input is a terminal.
    pub fn new() -> TerminalInput {
        use std::io::IsTerminal;
        let raw = std::io::stdin().is_terminal() && crossterm::terminal::enable_raw_mode().is_ok();
        TerminalInput { raw }
    }

    /// Passes waiting keys to the guest. Returns `false` when the user asked to leave.
    pub fn poll(&mut self, pc: &mut Pc) -> bool {
        if !self.raw {
            return true;
        }
        while event::poll(Duration::ZERO).unwrap_or(false) {
            let Ok(Event::Key(k)) = event::read() else {
                continue;
            };
            if k.kind == KeyEventKind::Release {
                continue;
            }
            if k.code == KeyCode::Char(']') && k.modifiers.contains(KeyModifiers::CONTROL) {
                return false;
            }
            for (key, pressed) in key_strokes(&k) {
                pc.key_event(key, pressed);
            }
        }
        true
    }
}

impl Default for TerminalInput {
    fn default() -> Self {
        TerminalInput::new()
    }
}

impl Drop for TerminalInput {
    fn drop(&mut self) {
        if self.raw {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}

/// The PC key events for one key the terminal reported.
fn key_strokes(k: &KeyEvent) -> Vec<(Key, bool)> {
    let (key, shift) = match k.code {
        KeyCode::Char(c) => match keys_for_char(c.to_ascii_lowercase()) {
            Some((key, _)) if k.modifiers.contains(KeyModifiers::CONTROL) => (key, false),
            _ => match keys_for_char(c) {
                Some(x) => x,
                None => return Vec::new(),
            },
        },
        KeyCode::Enter => (Key::Enter, false),
        KeyCode::Backspace => (Key::Backspace, false),
        KeyCode::Tab => (Key::Tab, false),
        KeyCode::BackTab => (Key::Tab, true),
        KeyCode::Esc => (Key::Esc, false),
        KeyCode::Up => (Key::Up, false),
        KeyCode::Down => (Key::Down, false),
        KeyCode::Left => (Key::Left, false),
        KeyCode::Right => (Key::Right, false),
        KeyCode::Home => (Key::Home, false),
        KeyCode::End => (Key::End, false),
        KeyCode::PageUp => (Key::PageUp, false),
        KeyCode::PageDown => (Key::PageDown, false),
        KeyCode::Insert => (Key::Insert, false),
        KeyCode::Delete => (Key::Delete, false),
        KeyCode::F(n) => match n {
            1 => (Key::F1, false),
            2 => (Key::F2, false),
            3 => (Key::F3, false),
            4 => (Key::F4, false),
            5 => (Key::F5, false),
            6 => (Key::F6, false),
            7 => (Key::F7, false),
            8 => (Key::F8, false),
            9 => (Key::F9, false),
            10 => (Key::F10, false),
            11 => (Key::F11, false),
            12 => (Key::F12, false),
            _ => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    let mut mods = Vec::new();
    if shift || k.modifiers.contains(KeyModifiers::SHIFT) && !matches!(k.code, KeyCode::Char(_)) {
        mods.push(Key::LeftShift);
    }
    if k.modifiers.contains(KeyModifiers::CONTROL) {
        mods.push(Key::LeftCtrl);
    }
    if k.modifiers.contains(KeyModifiers::ALT) {
        mods.push(Key::LeftAlt);
    }
    let mut v: Vec<(Key, bool)> = mods.iter().map(|&m| (m, true)).collect();
    v.push((key, true));
    v.push((key, false));
    v.extend(mods.iter().rev().map(|&m| (m, false)));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn characters_shift_and_ctrl() {
        assert_eq!(
            key_strokes(&ev(KeyCode::Char('a'), KeyModifiers::NONE)),
            vec![(Key::A, true), (Key::A, false)]
        );
        assert_eq!(
            key_strokes(&ev(KeyCode::Char('A'), KeyModifiers::SHIFT)),
            vec![
                (Key::LeftShift, true),
                (Key::A, true),
                (Key::A, false),
                (Key::LeftShift, false)
            ]
        );
        assert_eq!(
            key_strokes(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            vec![
                (Key::LeftCtrl, true),
                (Key::C, true),
                (Key::C, false),
                (Key::LeftCtrl, false)
            ]
        );
        assert_eq!(
            key_strokes(&ev(KeyCode::F(10), KeyModifiers::NONE)),
            vec![(Key::F10, true), (Key::F10, false)]
        );
    }
}
