//! The window (`--display window`, minifb): the VGA picture scaled to a 4:3 screen, host keys
//! turned into PC key presses, and the mouse as a PS/2 mouse while a button is held.

use crate::machine::Pc;
use glassbox_devices::i8042::Key;
use minifb::{Key as HostKey, KeyRepeat, MouseButton, MouseMode, Window, WindowOptions};

/// Width of the window's picture; the height is three quarters of it (a 4:3 monitor).
const WIDTH: usize = 960;
/// Height of the window's picture.
const HEIGHT: usize = WIDTH * 3 / 4;

/// A window showing one machine.
pub struct Screen {
    window: Window,
    frame: Vec<u32>,
    scaled: Vec<u32>,
    mouse: Option<(f32, f32)>,
}

impl Screen {
    /// Opens the window.
    pub fn open(title: &str) -> anyhow::Result<Screen> {
        let window = Window::new(title, WIDTH, HEIGHT, WindowOptions::default())
            .map_err(|e| anyhow::anyhow!("--display window: cannot open a window ({e})"))?;
        Ok(Screen {
            window,
            frame: Vec::new(),
            scaled: vec![0; WIDTH * HEIGHT],
            mouse: None,
        })
    }

    /// Whether the user closed the window.
    pub fn closed(&self) -> bool {
        !self.window.is_open()
    }

    /// Draws the machine's picture and passes the host's keys and mouse to it.
    pub fn update(&mut self, pc: &mut Pc) -> anyhow::Result<()> {
        let (w, h) = pc.render(&mut self.frame);
        scale(&self.frame, w, h, &mut self.scaled);
        self.window
            .update_with_buffer(&self.scaled, WIDTH, HEIGHT)
            .map_err(|e| anyhow::anyhow!("window: {e}"))?;
        for k in self.window.get_keys_pressed(KeyRepeat::Yes) {
            if let Some(key) = pc_key(k) {
                pc.key_event(key, true);
            }
        }
        for k in self.window.get_keys_released() {
            if let Some(key) = pc_key(k) {
                pc.key_event(key, false);
            }
        }
        let buttons = [MouseButton::Left, MouseButton::Right, MouseButton::Middle]
            .iter()
            .enumerate()
            .fold(0u8, |b, (i, &m)| {
                b | (u8::from(self.window.get_mouse_down(m)) << i)
            });
        if let Some(pos) = self.window.get_mouse_pos(MouseMode::Discard) {
            if let Some(last) = self.mouse {
                let dx = (pos.0 - last.0) as i32;
                let dy = (pos.1 - last.1) as i32;
                if dx != 0 || dy != 0 || buttons != 0 {
                    pc.mouse_event(dx, dy, buttons);
                }
            }
            self.mouse = Some(pos);
        }
        Ok(())
    }
}

/// Nearest-neighbour scaling of a `w`×`h` picture to the window.
fn scale(src: &[u32], w: usize, h: usize, dst: &mut [u32]) {
    if w == 0 || h == 0 || src.len() < w * h {
        dst.fill(0);
        return;
    }
    for y in 0..HEIGHT {
        let sy = y * h / HEIGHT;
        let row = &src[sy * w..sy * w + w];
        for x in 0..WIDTH {
            dst[y * WIDTH + x] = row[x * w / WIDTH];
        }
    }
}

/// The PC key for a host key.
fn pc_key(k: HostKey) -> Option<Key> {
    use HostKey as H;
    Some(match k {
        H::A => Key::A,
        H::B => Key::B,
        H::C => Key::C,
        H::D => Key::D,
        H::E => Key::E,
        H::F => Key::F,
        H::G => Key::G,
        H::H => Key::H,
        H::I => Key::I,
        H::J => Key::J,
        H::K => Key::K,
        H::L => Key::L,
        H::M => Key::M,
        H::N => Key::N,
        H::O => Key::O,
        H::P => Key::P,
        H::Q => Key::Q,
        H::R => Key::R,
        H::S => Key::S,
        H::T => Key::T,
        H::U => Key::U,
        H::V => Key::V,
        H::W => Key::W,
        H::X => Key::X,
        H::Y => Key::Y,
        H::Z => Key::Z,
        H::Key0 => Key::Digit0,
        H::Key1 => Key::Digit1,
        H::Key2 => Key::Digit2,
        H::Key3 => Key::Digit3,
        H::Key4 => Key::Digit4,
        H::Key5 => Key::Digit5,
        H::Key6 => Key::Digit6,
        H::Key7 => Key::Digit7,
        H::Key8 => Key::Digit8,
        H::Key9 => Key::Digit9,
        H::F1 => Key::F1,
        H::F2 => Key::F2,
        H::F3 => Key::F3,
        H::F4 => Key::F4,
        H::F5 => Key::F5,
        H::F6 => Key::F6,
        H::F7 => Key::F7,
        H::F8 => Key::F8,
        H::F9 => Key::F9,
        H::F10 => Key::F10,
        H::F11 => Key::F11,
        H::F12 => Key::F12,
        H::Down => Key::Down,
        H::Left => Key::Left,
        H::Right => Key::Right,
        H::Up => Key::Up,
        H::Apostrophe => Key::Quote,
        H::Backquote => Key::Backquote,
        H::Backslash => Key::Backslash,
        H::Comma => Key::Comma,
        H::Equal => Key::Equal,
        H::LeftBracket => Key::LeftBracket,
        H::Minus => Key::Minus,
        H::Period => Key::Period,
        H::RightBracket => Key::RightBracket,
        H::Semicolon => Key::Semicolon,
        H::Slash => Key::Slash,
        H::Backspace => Key::Backspace,
        H::Delete => Key::Delete,
        H::End => Key::End,
        H::Enter => Key::Enter,
        H::Escape => Key::Esc,
        H::Home => Key::Home,
        H::Insert => Key::Insert,
        H::Menu => Key::Menu,
        H::PageDown => Key::PageDown,
        H::PageUp => Key::PageUp,
        H::Pause => Key::Pause,
        H::Space => Key::Space,
        H::Tab => Key::Tab,
        H::NumLock => Key::NumLock,
        H::CapsLock => Key::CapsLock,
        H::ScrollLock => Key::ScrollLock,
        H::LeftShift => Key::LeftShift,
        H::RightShift => Key::RightShift,
        H::LeftCtrl => Key::LeftCtrl,
        H::RightCtrl => Key::RightCtrl,
        H::LeftAlt => Key::LeftAlt,
        H::RightAlt => Key::RightAlt,
        H::LeftSuper => Key::LeftGui,
        H::RightSuper => Key::RightGui,
        H::NumPad0 => Key::Kp0,
        H::NumPad1 => Key::Kp1,
        H::NumPad2 => Key::Kp2,
        H::NumPad3 => Key::Kp3,
        H::NumPad4 => Key::Kp4,
        H::NumPad5 => Key::Kp5,
        H::NumPad6 => Key::Kp6,
        H::NumPad7 => Key::Kp7,
        H::NumPad8 => Key::Kp8,
        H::NumPad9 => Key::Kp9,
        H::NumPadDot => Key::KpPeriod,
        H::NumPadSlash => Key::KpSlash,
        H::NumPadAsterisk => Key::KpStar,
        H::NumPadMinus => Key::KpMinus,
        H::NumPadPlus => Key::KpPlus,
        H::NumPadEnter => Key::KpEnter,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_keeps_corners() {
        let src = [1, 2, 3, 4]; // 2x2
        let mut dst = vec![0; WIDTH * HEIGHT];
        scale(&src, 2, 2, &mut dst);
        assert_eq!(dst[0], 1);
        assert_eq!(dst[WIDTH - 1], 2);
        assert_eq!(dst[(HEIGHT - 1) * WIDTH], 3);
        assert_eq!(dst[WIDTH * HEIGHT - 1], 4);
    }

    #[test]
    fn keys_map() {
        assert_eq!(pc_key(HostKey::Enter), Some(Key::Enter));
        assert_eq!(pc_key(HostKey::NumPad5), Some(Key::Kp5));
        assert_eq!(pc_key(HostKey::Unknown), None);
    }
}
