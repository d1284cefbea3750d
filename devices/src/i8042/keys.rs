//! The keys of the 101/102-key PC keyboard, their scan code set 2 codes, the
//! 8042's set 2 → set 1 translation table, and the host-side name and
//! character look-ups.
//!
//! Set 2 is what every PS/2 (MF II) keyboard sends by default: a key's make
//! code is one byte, or `E0` and one byte for the keys the 84-key AT keyboard
//! did not have; its break code puts `F0` before the last byte. Print Screen
//! and Pause are the exceptions, with the longer sequences of
//! [`Key::PrintScreen`] and [`Key::Pause`].

use serde::{Deserialize, Serialize};

/// Set 2 prefix of the keys added by the enhanced keyboard.
pub const SET2_EXTENDED: u8 = 0xE0;
/// Set 2 prefix of a break (release) code.
pub const SET2_BREAK: u8 = 0xF0;
/// Prefix of the Pause key's sequence (sets 1 and 2).
pub const SET2_PAUSE_PREFIX: u8 = 0xE1;
/// Set 1 flag of a break code: make code | 0x80.
pub const SET1_BREAK: u8 = 0x80;

/// Set 2 code of Print Screen pressed with Alt (SysRq).
pub const SET2_SYSRQ: u8 = 0x84;
/// Set 2 code (after `E0`) of Pause pressed with Ctrl (Break).
pub const SET2_CTRL_BREAK: u8 = 0x7E;
/// Set 2 code (after `E0`) of Print Screen's own key position.
pub const SET2_PRINT_SCREEN: u8 = 0x7C;
/// Set 2 code (after `E0`) of the "fake shift" Print Screen sends first.
pub const SET2_FAKE_SHIFT: u8 = 0x12;
/// Set 2 Pause make sequence (Pause has no break code).
pub const SET2_PAUSE: [u8; 8] = [
    SET2_PAUSE_PREFIX,
    0x14,
    0x77,
    SET2_PAUSE_PREFIX,
    SET2_BREAK,
    0x14,
    SET2_BREAK,
    0x77,
];

/// A key of the US 101-key keyboard, plus the extra key of the 102-key
/// (ISO) layout. Names follow the US legends.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[allow(missing_docs)] // The variant names are the key legends.
pub enum Key {
    Esc,
    F1,
    F2,
    F3,
    F4,
    F5,
    F6,
    F7,
    F8,
    F9,
    F10,
    F11,
    F12,
    /// `` ` `` / `~`
    Backquote,
    Digit1,
    Digit2,
    Digit3,
    Digit4,
    Digit5,
    Digit6,
    Digit7,
    Digit8,
    Digit9,
    Digit0,
    /// `-` / `_`
    Minus,
    /// `=` / `+`
    Equal,
    Backspace,
    Tab,
    Q,
    W,
    E,
    R,
    T,
    Y,
    U,
    I,
    O,
    P,
    /// `[` / `{`
    LeftBracket,
    /// `]` / `}`
    RightBracket,
    /// `\` / `|` (above Enter on the US layout)
    Backslash,
    CapsLock,
    A,
    S,
    D,
    F,
    G,
    H,
    J,
    K,
    L,
    /// `;` / `:`
    Semicolon,
    /// `'` / `"`
    Quote,
    Enter,
    LeftShift,
    /// The 102nd key, between left Shift and Z on ISO keyboards.
    NonUsBackslash,
    Z,
    X,
    C,
    V,
    B,
    N,
    M,
    /// `,` / `<`
    Comma,
    /// `.` / `>`
    Period,
    /// `/` / `?`
    Slash,
    RightShift,
    LeftCtrl,
    /// Left Windows / GUI key.
    LeftGui,
    LeftAlt,
    Space,
    RightAlt,
    /// Right Windows / GUI key.
    RightGui,
    /// The application (context menu) key.
    Menu,
    RightCtrl,
    /// Print Screen / SysRq.
    PrintScreen,
    ScrollLock,
    /// Pause / Break.
    Pause,
    Insert,
    Home,
    PageUp,
    Delete,
    End,
    PageDown,
    Up,
    Left,
    Down,
    Right,
    NumLock,
    KpSlash,
    KpStar,
    KpMinus,
    KpPlus,
    KpEnter,
    KpPeriod,
    Kp0,
    Kp1,
    Kp2,
    Kp3,
    Kp4,
    Kp5,
    Kp6,
    Kp7,
    Kp8,
    Kp9,
}

/// How a key is coded in scan code set 2.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Set2 {
    /// One byte; break is `F0 code`.
    Plain(u8),
    /// `E0 code`; break is `E0 F0 code`.
    Extended(u8),
    /// Print Screen's modifier-dependent sequences.
    PrintScreen,
    /// Pause's make-only sequence.
    Pause,
}

/// Every key, in keyboard order (for iteration and tests).
pub const ALL_KEYS: [Key; 105] = {
    use Key::*;
    [
        Esc,
        F1,
        F2,
        F3,
        F4,
        F5,
        F6,
        F7,
        F8,
        F9,
        F10,
        F11,
        F12,
        Backquote,
        Digit1,
        Digit2,
        Digit3,
        Digit4,
        Digit5,
        Digit6,
        Digit7,
        Digit8,
        Digit9,
        Digit0,
        Minus,
        Equal,
        Backspace,
        Tab,
        Q,
        W,
        E,
        R,
        T,
        Y,
        U,
        I,
        O,
        P,
        LeftBracket,
        RightBracket,
        Backslash,
        CapsLock,
        A,
        S,
        D,
        F,
        G,
        H,
        J,
        K,
        L,
        Semicolon,
        Quote,
        Enter,
        LeftShift,
        NonUsBackslash,
        Z,
        X,
        C,
        V,
        B,
        N,
        M,
        Comma,
        Period,
        Slash,
        RightShift,
        LeftCtrl,
        LeftGui,
        LeftAlt,
        Space,
        RightAlt,
        RightGui,
        Menu,
        RightCtrl,
        PrintScreen,
        ScrollLock,
        Pause,
        Insert,
        Home,
        PageUp,
        Delete,
        End,
        PageDown,
        Up,
        Left,
        Down,
        Right,
        NumLock,
        KpSlash,
        KpStar,
        KpMinus,
        KpPlus,
        KpEnter,
        KpPeriod,
        Kp0,
        Kp1,
        Kp2,
        Kp3,
        Kp4,
        Kp5,
        Kp6,
        Kp7,
        Kp8,
        Kp9,
    ]
};

impl Key {
    /// The key's set 2 coding (IBM PS/2 keyboard technical reference, scan
    /// code set 2 table).
    pub fn set2(self) -> Set2 {
        use Key::*;
        use Set2::{Extended as Xt, Plain as Pn};
        match self {
            Esc => Pn(0x76),
            F1 => Pn(0x05),
            F2 => Pn(0x06),
            F3 => Pn(0x04),
            F4 => Pn(0x0C),
            F5 => Pn(0x03),
            F6 => Pn(0x0B),
            F7 => Pn(0x83),
            F8 => Pn(0x0A),
            F9 => Pn(0x01),
            F10 => Pn(0x09),
            F11 => Pn(0x78),
            F12 => Pn(0x07),
            Backquote => Pn(0x0E),
            Digit1 => Pn(0x16),
            Digit2 => Pn(0x1E),
            Digit3 => Pn(0x26),
            Digit4 => Pn(0x25),
            Digit5 => Pn(0x2E),
            Digit6 => Pn(0x36),
            Digit7 => Pn(0x3D),
            Digit8 => Pn(0x3E),
            Digit9 => Pn(0x46),
            Digit0 => Pn(0x45),
            Minus => Pn(0x4E),
            Equal => Pn(0x55),
            Backspace => Pn(0x66),
            Tab => Pn(0x0D),
            Q => Pn(0x15),
            W => Pn(0x1D),
            E => Pn(0x24),
            R => Pn(0x2D),
            T => Pn(0x2C),
            Y => Pn(0x35),
            U => Pn(0x3C),
            I => Pn(0x43),
            O => Pn(0x44),
            P => Pn(0x4D),
            LeftBracket => Pn(0x54),
            RightBracket => Pn(0x5B),
            Backslash => Pn(0x5D),
            CapsLock => Pn(0x58),
            A => Pn(0x1C),
            S => Pn(0x1B),
            D => Pn(0x23),
            F => Pn(0x2B),
            G => Pn(0x34),
            H => Pn(0x33),
            J => Pn(0x3B),
            K => Pn(0x42),
            L => Pn(0x4B),
            Semicolon => Pn(0x4C),
            Quote => Pn(0x52),
            Enter => Pn(0x5A),
            LeftShift => Pn(0x12),
            NonUsBackslash => Pn(0x61),
            Z => Pn(0x1A),
            X => Pn(0x22),
            C => Pn(0x21),
            V => Pn(0x2A),
            B => Pn(0x32),
            N => Pn(0x31),
            M => Pn(0x3A),
            Comma => Pn(0x41),
            Period => Pn(0x49),
            Slash => Pn(0x4A),
            RightShift => Pn(0x59),
            LeftCtrl => Pn(0x14),
            LeftGui => Xt(0x1F),
            LeftAlt => Pn(0x11),
            Space => Pn(0x29),
            RightAlt => Xt(0x11),
            RightGui => Xt(0x27),
            Menu => Xt(0x2F),
            RightCtrl => Xt(0x14),
            PrintScreen => Set2::PrintScreen,
            ScrollLock => Pn(0x7E),
            Pause => Set2::Pause,
            Insert => Xt(0x70),
            Home => Xt(0x6C),
            PageUp => Xt(0x7D),
            Delete => Xt(0x71),
            End => Xt(0x69),
            PageDown => Xt(0x7A),
            Up => Xt(0x75),
            Left => Xt(0x6B),
            Down => Xt(0x72),
            Right => Xt(0x74),
            NumLock => Pn(0x77),
            KpSlash => Xt(0x4A),
            KpStar => Pn(0x7C),
            KpMinus => Pn(0x7B),
            KpPlus => Pn(0x79),
            KpEnter => Xt(0x5A),
            KpPeriod => Pn(0x71),
            Kp0 => Pn(0x70),
            Kp1 => Pn(0x69),
            Kp2 => Pn(0x72),
            Kp3 => Pn(0x7A),
            Kp4 => Pn(0x6B),
            Kp5 => Pn(0x73),
            Kp6 => Pn(0x74),
            Kp7 => Pn(0x6C),
            Kp8 => Pn(0x75),
            Kp9 => Pn(0x7D),
        }
    }

    /// The key's canonical lower-case name (what [`key_from_name`] accepts
    /// first; see there for the aliases).
    pub fn name(self) -> &'static str {
        use Key::*;
        match self {
            Esc => "esc",
            F1 => "f1",
            F2 => "f2",
            F3 => "f3",
            F4 => "f4",
            F5 => "f5",
            F6 => "f6",
            F7 => "f7",
            F8 => "f8",
            F9 => "f9",
            F10 => "f10",
            F11 => "f11",
            F12 => "f12",
            Backquote => "`",
            Digit1 => "1",
            Digit2 => "2",
            Digit3 => "3",
            Digit4 => "4",
            Digit5 => "5",
            Digit6 => "6",
            Digit7 => "7",
            Digit8 => "8",
            Digit9 => "9",
            Digit0 => "0",
            Minus => "-",
            Equal => "=",
            Backspace => "backspace",
            Tab => "tab",
            Q => "q",
            W => "w",
            E => "e",
            R => "r",
            T => "t",
            Y => "y",
            U => "u",
            I => "i",
            O => "o",
            P => "p",
            LeftBracket => "[",
            RightBracket => "]",
            Backslash => "\\",
            CapsLock => "capslock",
            A => "a",
            S => "s",
            D => "d",
            F => "f",
            G => "g",
            H => "h",
            J => "j",
            K => "k",
            L => "l",
            Semicolon => ";",
            Quote => "'",
            Enter => "enter",
            LeftShift => "lshift",
            NonUsBackslash => "102nd",
            Z => "z",
            X => "x",
            C => "c",
            V => "v",
            B => "b",
            N => "n",
            M => "m",
            Comma => ",",
            Period => ".",
            Slash => "/",
            RightShift => "rshift",
            LeftCtrl => "lctrl",
            LeftGui => "lgui",
            LeftAlt => "lalt",
            Space => "space",
            RightAlt => "ralt",
            RightGui => "rgui",
            Menu => "menu",
            RightCtrl => "rctrl",
            PrintScreen => "printscreen",
            ScrollLock => "scrolllock",
            Pause => "pause",
            Insert => "ins",
            Home => "home",
            PageUp => "pgup",
            Delete => "del",
            End => "end",
            PageDown => "pgdn",
            Up => "up",
            Left => "left",
            Down => "down",
            Right => "right",
            NumLock => "numlock",
            KpSlash => "kp/",
            KpStar => "kp*",
            KpMinus => "kp-",
            KpPlus => "kp+",
            KpEnter => "kpenter",
            KpPeriod => "kp.",
            Kp0 => "kp0",
            Kp1 => "kp1",
            Kp2 => "kp2",
            Kp3 => "kp3",
            Kp4 => "kp4",
            Kp5 => "kp5",
            Kp6 => "kp6",
            Kp7 => "kp7",
            Kp8 => "kp8",
            Kp9 => "kp9",
        }
    }

    /// Whether the key is a Shift, Ctrl or Alt key (the keyboard tracks
    /// these for Print Screen and Pause).
    pub fn is_modifier(self) -> bool {
        use Key::*;
        matches!(
            self,
            LeftShift | RightShift | LeftCtrl | RightCtrl | LeftAlt | RightAlt
        )
    }
}

/// Aliases accepted by [`key_from_name`] besides each key's canonical name.
const ALIASES: &[(&str, Key)] = &[
    ("escape", Key::Esc),
    ("return", Key::Enter),
    ("bksp", Key::Backspace),
    ("spacebar", Key::Space),
    ("ctrl", Key::LeftCtrl),
    ("control", Key::LeftCtrl),
    ("alt", Key::LeftAlt),
    ("shift", Key::LeftShift),
    ("altgr", Key::RightAlt),
    ("gui", Key::LeftGui),
    ("win", Key::LeftGui),
    ("lwin", Key::LeftGui),
    ("rwin", Key::RightGui),
    ("super", Key::LeftGui),
    ("meta", Key::LeftGui),
    ("apps", Key::Menu),
    ("caps", Key::CapsLock),
    ("num", Key::NumLock),
    ("scroll", Key::ScrollLock),
    ("prtsc", Key::PrintScreen),
    ("print", Key::PrintScreen),
    ("sysrq", Key::PrintScreen),
    ("break", Key::Pause),
    ("insert", Key::Insert),
    ("delete", Key::Delete),
    ("pageup", Key::PageUp),
    ("pagedown", Key::PageDown),
    ("pgdown", Key::PageDown),
    ("backquote", Key::Backquote),
    ("grave", Key::Backquote),
    ("minus", Key::Minus),
    ("equal", Key::Equal),
    ("lbracket", Key::LeftBracket),
    ("rbracket", Key::RightBracket),
    ("backslash", Key::Backslash),
    ("semicolon", Key::Semicolon),
    ("quote", Key::Quote),
    ("apostrophe", Key::Quote),
    ("comma", Key::Comma),
    ("period", Key::Period),
    ("dot", Key::Period),
    ("slash", Key::Slash),
    ("kpslash", Key::KpSlash),
    ("kpdivide", Key::KpSlash),
    ("kpstar", Key::KpStar),
    ("kpmultiply", Key::KpStar),
    ("kpminus", Key::KpMinus),
    ("kpplus", Key::KpPlus),
    ("kpperiod", Key::KpPeriod),
    ("kpdot", Key::KpPeriod),
    ("kpdel", Key::KpPeriod),
];

/// The key called `name`: a canonical name ([`Key::name`]: "enter", "esc",
/// "f1".."f12", "lctrl", "pgup", "kp7", letters and digits by themselves, …)
/// or an alias ("ctrl", "alt" and "shift" are the left-hand keys, "escape",
/// "insert", "delete", "pageup", "sysrq", "win", …). ASCII case is ignored.
pub fn key_from_name(name: &str) -> Option<Key> {
    let lower = name.trim().to_ascii_lowercase();
    ALL_KEYS
        .iter()
        .copied()
        .find(|k| k.name() == lower)
        .or_else(|| {
            ALIASES
                .iter()
                .find(|(alias, _)| *alias == lower)
                .map(|&(_, k)| k)
        })
}

/// The key that types `c` on a US keyboard and whether Shift must be held.
/// `'\n'` and `'\r'` are Enter, `'\t'` Tab, `'\x08'` Backspace, `'\x1b'` Esc.
/// Characters the US layout cannot type give `None`.
pub fn keys_for_char(c: char) -> Option<(Key, bool)> {
    use Key::*;
    if c.is_ascii_lowercase() || c.is_ascii_digit() {
        return key_from_name(c.encode_utf8(&mut [0; 4])).map(|k| (k, false));
    }
    if c.is_ascii_uppercase() {
        return keys_for_char(c.to_ascii_lowercase()).map(|(k, _)| (k, true));
    }
    let plain = |k| Some((k, false));
    let shifted = |k| Some((k, true));
    match c {
        '\n' | '\r' => plain(Enter),
        '\t' => plain(Tab),
        '\x08' => plain(Backspace),
        '\x1b' => plain(Esc),
        ' ' => plain(Space),
        '`' => plain(Backquote),
        '~' => shifted(Backquote),
        '!' => shifted(Digit1),
        '@' => shifted(Digit2),
        '#' => shifted(Digit3),
        '$' => shifted(Digit4),
        '%' => shifted(Digit5),
        '^' => shifted(Digit6),
        '&' => shifted(Digit7),
        '*' => shifted(Digit8),
        '(' => shifted(Digit9),
        ')' => shifted(Digit0),
        '-' => plain(Minus),
        '_' => shifted(Minus),
        '=' => plain(Equal),
        '+' => shifted(Equal),
        '[' => plain(LeftBracket),
        '{' => shifted(LeftBracket),
        ']' => plain(RightBracket),
        '}' => shifted(RightBracket),
        '\\' => plain(Backslash),
        '|' => shifted(Backslash),
        ';' => plain(Semicolon),
        ':' => shifted(Semicolon),
        '\'' => plain(Quote),
        '"' => shifted(Quote),
        ',' => plain(Comma),
        '<' => shifted(Comma),
        '.' => plain(Period),
        '>' => shifted(Period),
        '/' => plain(Slash),
        '?' => shifted(Slash),
        _ => None,
    }
}

/// The 8042's set 2 → set 1 translation table for bytes 0x00–0x7F (the
/// controller's XLAT function, as tabulated in the IBM PS/2 hardware
/// interface technical reference). Byte 0x00 (keyboard overrun in set 2)
/// becomes 0xFF, set 1's overrun.
const XLAT_LOW: [u8; 128] = [
    0xFF, 0x43, 0x41, 0x3F, 0x3D, 0x3B, 0x3C, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3E, 0x0F, 0x29, 0x59,
    0x65, 0x38, 0x2A, 0x70, 0x1D, 0x10, 0x02, 0x5A, 0x66, 0x71, 0x2C, 0x1F, 0x1E, 0x11, 0x03, 0x5B,
    0x67, 0x2E, 0x2D, 0x20, 0x12, 0x05, 0x04, 0x5C, 0x68, 0x39, 0x2F, 0x21, 0x14, 0x13, 0x06, 0x5D,
    0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5E, 0x6A, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5F,
    0x6B, 0x33, 0x25, 0x17, 0x18, 0x0B, 0x0A, 0x60, 0x6C, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0C, 0x61,
    0x6D, 0x73, 0x28, 0x74, 0x1A, 0x0D, 0x62, 0x6E, 0x3A, 0x36, 0x1C, 0x1B, 0x75, 0x2B, 0x63, 0x76,
    0x55, 0x56, 0x77, 0x78, 0x79, 0x7A, 0x0E, 0x7B, 0x7C, 0x4F, 0x7D, 0x4B, 0x47, 0x7E, 0x7F, 0x6F,
    0x52, 0x53, 0x50, 0x4C, 0x4D, 0x48, 0x01, 0x45, 0x57, 0x4E, 0x51, 0x4A, 0x37, 0x49, 0x46, 0x54,
];

/// Translates one set 2 byte to set 1. Bytes 0x80 and up pass unchanged
/// (prefixes, keyboard replies), except F7's 0x83 and Alt+SysRq's 0x84, the
/// two set 2 key codes above 0x7F. The `F0` break prefix is not handled
/// here: the controller swallows it and sets bit 7 of the next byte.
pub fn xlat_set2_to_set1(byte: u8) -> u8 {
    match byte {
        0x00..=0x7F => XLAT_LOW[usize::from(byte)],
        0x83 => 0x41,
        0x84 => 0x54,
        _ => byte,
    }
}
