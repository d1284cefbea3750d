//! The 8042 keyboard controller of the PC/AT and PS/2, with a PS/2 (MF II)
//! keyboard on its first port and a PS/2 mouse on its second (auxiliary)
//! port.
//!
//! The 8042 is a small microcontroller running IBM's keyboard firmware. It
//! talks to the two devices over their serial clock/data lines and to the
//! CPU through a one-byte input buffer, a one-byte output buffer and a status
//! register. Spare pins of its output port carry the A20 gate and the CPU
//! reset line, which is why A20 and "reboot" go through here.
//!
//! | port | read                         | write                          |
//! |------|------------------------------|--------------------------------|
//! | 0x60 | output buffer (data)         | data: to the keyboard, or the argument of a controller command |
//! | 0x64 | status register              | controller command             |
//!
//! Port 0x61 is not part of the 8042 (it belongs to [`crate::i8254`]).
//!
//! IRQ1 is "output buffer full with a keyboard byte", IRQ12 "output buffer
//! full with a mouse byte", each gated by its enable bit in the command byte.
//! Both are levels that fall when the CPU reads port 0x60.
//!
//! Follows IBM's *Personal System/2 Hardware Interface Technical Reference*
//! (keyboard/auxiliary device controller and keyboard chapters), the
//! OSDev wiki pages "8042 PS/2 Controller", "PS/2 Keyboard" and "PS/2 Mouse",
//! and Microsoft's IntelliMouse protocol notes for the wheel.
//!
//! ## Emulated
//!
//! - Controller: the status register (OBF, SYS, A2, keylock, AUXB; IBF is
//!   always clear because a write is acted upon at once), the 32 bytes of
//!   controller RAM with the command byte at 0 (commands 0x20–0x3F read,
//!   0x60–0x7F write), self-test 0xAA (0x55, sets SYS), interface tests
//!   0xA9/0xAB (0x00: no fault), 0xA7/0xA8 and 0xAD/0xAE (mouse and keyboard
//!   clock disable/enable), 0xA4 password check (0xF1: none installed), 0xA5
//!   password load (swallowed), 0xC0 input port, 0xD0/0xD1 output port (bit 1
//!   A20 → [`crate::Signals::a20`], bit 0 clear → [`crate::Signals::reset`]), 0xD2/0xD3
//!   write the output buffer as if from keyboard/mouse, 0xD4 send to the
//!   mouse, 0xDD/0xDF A20 off/on, 0xE0 test inputs, 0xF0–0xFF output port
//!   pulses (bit 0 clear pulses reset), the set 2 → set 1 translation (XLAT).
//! - Keyboard: reset (ACK, then the BAT result 0xAA after [`BAT_TIME_US`]),
//!   identify (ACK 0xAB 0x83), echo, scan code sets 1 and 2 (get/set), LEDs,
//!   typematic byte, enable/disable scanning, defaults, resend, the set 3 key
//!   type commands (acknowledged, no effect in sets 1 and 2), unknown
//!   commands answered 0xFE. Every key of the 101/102-key keyboard
//!   ([`Key`]), Print Screen with its Alt (SysRq) and Shift/Ctrl forms and
//!   Pause with its Ctrl (Break) form.
//! - Mouse: reset (ACK 0xAA 0x00), defaults, data reporting on/off, stream
//!   and remote modes with read data, wrap (echo) mode, sample rate,
//!   resolution, 1:1 and 2:1 scaling (stream mode), status request, get ID,
//!   resend, the IntelliMouse knocks (rates 200, 100, 80 → ID 3 with a wheel
//!   byte; then 200, 200, 80 → ID 4 with buttons 4 and 5), 3- and 4-byte
//!   packets with sign and overflow bits.
//!
//! ## Time
//!
//! A device byte takes about a millisecond on the PS/2 wire (11 bits at
//! 10–16.7 kHz). Each keyboard or mouse byte therefore reaches the output
//! buffer [`BYTE_TIME_US`] after the buffer became free (or after the byte
//! was produced, if the buffer was already free), through one
//! [`EventKind::Kbc`] event; the CPU's read of port 0x60 frees the buffer and
//! starts the next byte, so every byte is its own interrupt. A reply of the
//! controller itself (command byte, test results, …) is placed in the buffer
//! at once, ahead of device bytes. Bytes of a device whose clock is disabled
//! (command byte bits 4/5, commands 0xAD/0xA7) wait in the device until it is
//! enabled again, as a real keyboard buffers keystrokes while inhibited.
//!
//! ## Not emulated, and choices
//!
//! - Typematic repeat is left to the host: a repeated `key_event(k, true)`
//!   sends the make code again. The typematic byte is only stored.
//! - Scan code set 3 is not offered: `F0 03` is answered 0xFE (resend), as
//!   keyboards without set 3 do, and the keyboard stays in its set.
//! - The "fake shift" codes a real keyboard wraps around the gray navigation
//!   keys when Num Lock or Shift is on are not generated.
//! - The keyboard buffers [`KBD_BUFFER_MAX`] bytes (a real one 16) before it
//!   reports an overrun; the mouse drops packets beyond [`AUX_BUFFER_MAX`]
//!   bytes. The mouse sends a packet per host event (no sample-rate pacing)
//!   and reports host deltas as counts whatever the resolution.
//! - Commands sent to a device whose clock is disabled are received; their
//!   replies wait until the clock is enabled again.
//! - The power-on command byte is [`POWER_ON_COMMAND_BYTE`] (translation on,
//!   interrupts off, SYS clear) and A20 is on, so firmware that never touches
//!   the controller still sees set 1 codes. No BAT byte is sent at power-on.
//! - A [`ResetKind::Hard`] reset is the CPU reset line the 8042 itself
//!   drives: the controller (command byte, SYS flag, A20) and the devices
//!   keep their state, so firmware can tell a warm boot by the SYS flag;
//!   only bytes in flight are dropped, since the platform cancels the event
//!   and lowers the IRQ lines. [`ResetKind::PowerOn`] restores everything.
//! - Status bits 6 and 7 (timeout, parity error) never set: both devices are
//!   always present and the wire never fails.

mod keys;

pub use keys::{key_from_name, keys_for_char, Key, ALL_KEYS};
use keys::{
    xlat_set2_to_set1, Set2, SET1_BREAK, SET2_BREAK, SET2_CTRL_BREAK, SET2_EXTENDED,
    SET2_FAKE_SHIFT, SET2_PAUSE, SET2_PRINT_SCREEN, SET2_SYSRQ,
};

use crate::bus::{Device, IoCx, ResetKind};
use crate::once::Once;
use crate::time::{Cycles, EventKind};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::io::Write;

/// Data port: the output buffer (read) and the input buffer for data (write).
pub const KBC_DATA: u16 = 0x60;
/// Status register (read) and command port (write).
pub const KBC_STATUS: u16 = 0x64;
/// The command port (same address as [`KBC_STATUS`]).
pub const KBC_COMMAND: u16 = 0x64;

/// Interrupt of "output buffer full with a keyboard byte".
pub const KBD_IRQ: u8 = 1;
/// Interrupt of "output buffer full with a mouse byte".
pub const AUX_IRQ: u8 = 12;

/// Time a device byte takes on the wire, in microseconds.
pub const BYTE_TIME_US: u64 = 1_000;
/// Time a device's basic assurance test takes after a reset command, in
/// microseconds. Real keyboards take 300–500 ms; this is shorter so firmware
/// that times its wait by counting loop iterations does not give up, and
/// still long enough that a driver has to wait for it.
pub const BAT_TIME_US: u64 = 5_000;

// ---- Status register (port 0x64 read) ----

/// Status bit 0: the output buffer holds a byte for the CPU.
pub const STATUS_OBF: u8 = 0x01;
/// Status bit 1: the input buffer holds a byte not yet taken (always 0 here).
pub const STATUS_IBF: u8 = 0x02;
/// Status bit 2: system flag (0 after power-on; 1 after a self-test or as
/// written to command byte bit 2).
pub const STATUS_SYS: u8 = 0x04;
/// Status bit 3 (A2): the last write went to the command port.
pub const STATUS_A2: u8 = 0x08;
/// Status bit 4: keyboard not inhibited by the keylock (1 = unlocked).
pub const STATUS_UNLOCKED: u8 = 0x10;
/// Status bit 5 (AUXB): the byte in the output buffer came from the mouse.
pub const STATUS_AUX_OBF: u8 = 0x20;
/// Status bit 6: timeout talking to a device.
pub const STATUS_TIMEOUT: u8 = 0x40;
/// Status bit 7: parity error on a byte from a device.
pub const STATUS_PARITY: u8 = 0x80;

// ---- Command byte (controller RAM byte 0) ----

/// Command byte bit 0: raise IRQ1 when a keyboard byte is in the output buffer.
pub const CB_KBD_INT: u8 = 0x01;
/// Command byte bit 1: raise IRQ12 when a mouse byte is in the output buffer.
pub const CB_AUX_INT: u8 = 0x02;
/// Command byte bit 2: system flag, copied to [`STATUS_SYS`].
pub const CB_SYS: u8 = 0x04;
/// Command byte bit 3: ignore the keylock (AT); no effect here.
pub const CB_IGNORE_LOCK: u8 = 0x08;
/// Command byte bit 4: keyboard clock disabled (keyboard inhibited).
pub const CB_KBD_DISABLE: u8 = 0x10;
/// Command byte bit 5: mouse clock disabled.
pub const CB_AUX_DISABLE: u8 = 0x20;
/// Command byte bit 6: translate keyboard bytes from set 2 to set 1.
pub const CB_XLAT: u8 = 0x40;
/// The command byte at power-on: translation on, interrupts off, SYS clear.
pub const POWER_ON_COMMAND_BYTE: u8 = CB_XLAT;

// ---- Controller commands (port 0x64 write) ----

/// 0x20–0x3F: read controller RAM byte `cmd & 0x1F` (0x20: the command byte).
pub const CMD_READ_RAM: u8 = 0x20;
/// 0x60–0x7F: write controller RAM byte `cmd & 0x1F` with the next data byte.
pub const CMD_WRITE_RAM: u8 = 0x60;
/// The low bits of a RAM command that select the byte.
pub const CMD_RAM_INDEX_MASK: u8 = 0x1F;
/// Password installed? Answers [`PASSWORD_NONE`].
pub const CMD_PASSWORD_CHECK: u8 = 0xA4;
/// Load a password: data bytes up to a zero byte (swallowed).
pub const CMD_PASSWORD_LOAD: u8 = 0xA5;
/// Enable the password (no effect: none installed).
pub const CMD_PASSWORD_ENABLE: u8 = 0xA6;
/// Disable the mouse: sets [`CB_AUX_DISABLE`].
pub const CMD_AUX_DISABLE: u8 = 0xA7;
/// Enable the mouse: clears [`CB_AUX_DISABLE`].
pub const CMD_AUX_ENABLE: u8 = 0xA8;
/// Mouse interface test: answers [`INTERFACE_OK`].
pub const CMD_AUX_TEST: u8 = 0xA9;
/// Controller self-test: answers [`SELF_TEST_OK`] and sets the SYS flag.
pub const CMD_SELF_TEST: u8 = 0xAA;
/// Keyboard interface test: answers [`INTERFACE_OK`].
pub const CMD_KBD_TEST: u8 = 0xAB;
/// Disable the keyboard: sets [`CB_KBD_DISABLE`].
pub const CMD_KBD_DISABLE: u8 = 0xAD;
/// Enable the keyboard: clears [`CB_KBD_DISABLE`].
pub const CMD_KBD_ENABLE: u8 = 0xAE;
/// Read the input port.
pub const CMD_READ_INPUT: u8 = 0xC0;
/// Read the output port.
pub const CMD_READ_OUTPUT: u8 = 0xD0;
/// Write the output port with the next data byte.
pub const CMD_WRITE_OUTPUT: u8 = 0xD1;
/// Put the next data byte in the output buffer as if from the keyboard.
pub const CMD_WRITE_KBD_OBUF: u8 = 0xD2;
/// Put the next data byte in the output buffer as if from the mouse.
pub const CMD_WRITE_AUX_OBUF: u8 = 0xD3;
/// Send the next data byte to the mouse.
pub const CMD_WRITE_AUX: u8 = 0xD4;
/// Disable A20 (output port bit 1 clear).
pub const CMD_A20_OFF: u8 = 0xDD;
/// Enable A20 (output port bit 1 set).
pub const CMD_A20_ON: u8 = 0xDF;
/// Read the test inputs (T0 keyboard clock, T1 keyboard data).
pub const CMD_READ_TEST: u8 = 0xE0;
/// 0xF0–0xFF: pulse the output port bits 0–3 whose command bit is clear.
pub const CMD_PULSE: u8 = 0xF0;

/// Self-test passed.
pub const SELF_TEST_OK: u8 = 0x55;
/// Interface test: no fault.
pub const INTERFACE_OK: u8 = 0x00;
/// Password check: no password installed.
pub const PASSWORD_NONE: u8 = 0xF1;

// ---- Output port (0xD0/0xD1) ----

/// Output port bit 0: CPU reset line, active low.
pub const OUT_RESET: u8 = 0x01;
/// Output port bit 1: A20 gate.
pub const OUT_A20: u8 = 0x02;
/// Output port bit 2: mouse clock line.
pub const OUT_AUX_CLOCK: u8 = 0x04;
/// Output port bit 3: mouse data line.
pub const OUT_AUX_DATA: u8 = 0x08;
/// Output port bit 4: IRQ1 (output buffer full with a keyboard byte).
pub const OUT_KBD_IRQ: u8 = 0x10;
/// Output port bit 5: IRQ12 (output buffer full with a mouse byte).
pub const OUT_AUX_IRQ: u8 = 0x20;
/// Output port bit 6: keyboard clock line.
pub const OUT_KBD_CLOCK: u8 = 0x40;
/// Output port bit 7: keyboard data line.
pub const OUT_KBD_DATA: u8 = 0x80;

// ---- Input port (0xC0) and test inputs (0xE0) ----

/// Input port bit 0: keyboard data line.
pub const IN_KBD_DATA: u8 = 0x01;
/// Input port bit 1: mouse data line.
pub const IN_AUX_DATA: u8 = 0x02;
/// Input port bit 4: 512 KB of base memory on the board (AT).
pub const IN_RAM_512K: u8 = 0x10;
/// Input port bit 5: manufacturing jumper not installed.
pub const IN_NO_JUMPER: u8 = 0x20;
/// Input port bit 6: primary display is monochrome (clear: colour).
pub const IN_MONO: u8 = 0x40;
/// Input port bit 7: keyboard not inhibited by the keylock.
pub const IN_UNLOCKED: u8 = 0x80;
/// The input port as this board wires it: unlocked, colour display, no
/// jumper, 512 KB, both data lines idle high.
pub const INPUT_PORT: u8 = IN_UNLOCKED | IN_NO_JUMPER | IN_RAM_512K | IN_AUX_DATA | IN_KBD_DATA;
/// Test input T0: keyboard clock line.
pub const TEST_KBD_CLOCK: u8 = 0x01;
/// Test input T1: keyboard data line.
pub const TEST_KBD_DATA: u8 = 0x02;

// ---- Keyboard commands and replies ----

/// Set the LEDs; a data byte of [`LED_SCROLL`] | [`LED_NUM`] | [`LED_CAPS`] follows.
pub const KBD_SET_LEDS: u8 = 0xED;
/// Echo: the keyboard answers [`KBD_ECHO`] (no ACK).
pub const KBD_ECHO: u8 = 0xEE;
/// Get (data 0) or set (data 1–3) the scan code set.
pub const KBD_SCANCODE_SET: u8 = 0xF0;
/// Identify: ACK, then [`KBD_ID`].
pub const KBD_IDENTIFY: u8 = 0xF2;
/// Set typematic rate and delay; a data byte follows.
pub const KBD_TYPEMATIC: u8 = 0xF3;
/// Enable scanning (clears the keyboard's buffer).
pub const KBD_ENABLE: u8 = 0xF4;
/// Disable scanning and restore defaults.
pub const KBD_DISABLE: u8 = 0xF5;
/// Restore defaults, keep scanning.
pub const KBD_DEFAULTS: u8 = 0xF6;
/// Set 3: all keys typematic (acknowledged only).
pub const KBD_ALL_TYPEMATIC: u8 = 0xF7;
/// Set 3: all keys make/release/typematic (acknowledged only); the last of
/// the four "all keys" commands 0xF7–0xFA.
pub const KBD_ALL_TYPE_LAST: u8 = 0xFA;
/// Set 3: key typematic (a list of keys follows; acknowledged only).
pub const KBD_KEY_TYPEMATIC: u8 = 0xFB;
/// Set 3: key make only; the last of the per-key commands 0xFB–0xFD.
pub const KBD_KEY_TYPE_LAST: u8 = 0xFD;
/// Resend the last byte.
pub const KBD_RESEND: u8 = 0xFE;
/// Reset and run the basic assurance test.
pub const KBD_RESET: u8 = 0xFF;
/// The lowest byte a device takes as a command rather than as data.
pub const KBD_FIRST_COMMAND: u8 = 0xED;

/// Acknowledge.
pub const ACK: u8 = 0xFA;
/// Resend request (also "unknown command").
pub const RESEND: u8 = 0xFE;
/// Basic assurance test passed.
pub const BAT_OK: u8 = 0xAA;
/// A keyboard's identification bytes (MF II keyboard).
pub const KBD_ID: [u8; 2] = [0xAB, 0x83];
/// Set 2 keyboard buffer overrun.
pub const KBD_OVERRUN_SET2: u8 = 0x00;
/// Set 1 keyboard buffer overrun.
pub const KBD_OVERRUN_SET1: u8 = 0xFF;

/// LED data bit 0: Scroll Lock.
pub const LED_SCROLL: u8 = 0x01;
/// LED data bit 1: Num Lock.
pub const LED_NUM: u8 = 0x02;
/// LED data bit 2: Caps Lock.
pub const LED_CAPS: u8 = 0x04;
/// The LED bits.
pub const LED_MASK: u8 = 0x07;
/// Default typematic byte: 10.9 characters/s after 500 ms.
pub const TYPEMATIC_DEFAULT: u8 = 0x2B;
/// Default scan code set.
pub const SCANCODE_SET_DEFAULT: u8 = 2;

// ---- Mouse commands and replies ----

/// Set 1:1 scaling.
pub const AUX_SCALING_1_1: u8 = 0xE6;
/// Set 2:1 scaling.
pub const AUX_SCALING_2_1: u8 = 0xE7;
/// Set resolution; a data byte 0–3 (1, 2, 4, 8 counts/mm) follows.
pub const AUX_SET_RESOLUTION: u8 = 0xE8;
/// Status request: ACK and three bytes (flags, resolution, sample rate).
pub const AUX_STATUS: u8 = 0xE9;
/// Stream mode.
pub const AUX_SET_STREAM: u8 = 0xEA;
/// Read data: ACK and one packet (the remote mode poll).
pub const AUX_READ_DATA: u8 = 0xEB;
/// Leave wrap mode.
pub const AUX_RESET_WRAP: u8 = 0xEC;
/// Enter wrap (echo) mode.
pub const AUX_SET_WRAP: u8 = 0xEE;
/// Remote mode.
pub const AUX_SET_REMOTE: u8 = 0xF0;
/// Get device ID: ACK and the ID.
pub const AUX_GET_ID: u8 = 0xF2;
/// Set sample rate; a data byte follows.
pub const AUX_SET_RATE: u8 = 0xF3;
/// Enable data reporting.
pub const AUX_ENABLE: u8 = 0xF4;
/// Disable data reporting.
pub const AUX_DISABLE: u8 = 0xF5;
/// Restore defaults.
pub const AUX_DEFAULTS: u8 = 0xF6;
/// Resend the last packet or reply.
pub const AUX_RESEND: u8 = 0xFE;
/// Reset: ACK, BAT result, ID.
pub const AUX_RESET: u8 = 0xFF;

/// Mouse ID of a plain PS/2 mouse.
pub const AUX_ID_PS2: u8 = 0x00;
/// Mouse ID of an IntelliMouse (wheel).
pub const AUX_ID_WHEEL: u8 = 0x03;
/// Mouse ID of an IntelliMouse Explorer (wheel, buttons 4 and 5).
pub const AUX_ID_FIVE_BUTTONS: u8 = 0x04;
/// The sample rates a PS/2 mouse accepts.
pub const AUX_RATES: [u8; 7] = [10, 20, 40, 60, 80, 100, 200];
/// Default sample rate (per second).
pub const AUX_RATE_DEFAULT: u8 = 100;
/// Default resolution code (4 counts/mm).
pub const AUX_RESOLUTION_DEFAULT: u8 = 2;
/// The highest resolution code (8 counts/mm).
pub const AUX_RESOLUTION_MAX: u8 = 3;
/// Sample rates that switch a PS/2 mouse to [`AUX_ID_WHEEL`].
pub const KNOCK_WHEEL: [u8; 3] = [200, 100, 80];
/// Sample rates that switch a wheel mouse to [`AUX_ID_FIVE_BUTTONS`].
pub const KNOCK_FIVE_BUTTONS: [u8; 3] = [200, 200, 80];

/// Packet byte 0 bit 0: left button.
pub const PKT_LEFT: u8 = 0x01;
/// Packet byte 0 bit 1: right button.
pub const PKT_RIGHT: u8 = 0x02;
/// Packet byte 0 bit 2: middle button.
pub const PKT_MIDDLE: u8 = 0x04;
/// Packet byte 0 bit 3: always 1 (lets a driver find packet boundaries).
pub const PKT_ALWAYS_ONE: u8 = 0x08;
/// Packet byte 0 bit 4: X is negative (9th bit of X).
pub const PKT_X_SIGN: u8 = 0x10;
/// Packet byte 0 bit 5: Y is negative (9th bit of Y).
pub const PKT_Y_SIGN: u8 = 0x20;
/// Packet byte 0 bit 6: X overflowed.
pub const PKT_X_OVERFLOW: u8 = 0x40;
/// Packet byte 0 bit 7: Y overflowed.
pub const PKT_Y_OVERFLOW: u8 = 0x80;
/// ID 4 packet byte 3 bit 4: button 4.
pub const PKT4_BUTTON4: u8 = 0x10;
/// ID 4 packet byte 3 bit 5: button 5.
pub const PKT4_BUTTON5: u8 = 0x20;
/// Host button bits of [`Kbc8042::mouse_event`]: left, right, middle (as in
/// the packet), then button 4 (bit 3) and button 5 (bit 4).
pub const BUTTONS_MASK: u8 = 0x1F;

/// Status request byte 0 bit 0: right button.
pub const AUX_ST_RIGHT: u8 = 0x01;
/// Status request byte 0 bit 1: middle button.
pub const AUX_ST_MIDDLE: u8 = 0x02;
/// Status request byte 0 bit 2: left button.
pub const AUX_ST_LEFT: u8 = 0x04;
/// Status request byte 0 bit 4: 2:1 scaling.
pub const AUX_ST_SCALING: u8 = 0x10;
/// Status request byte 0 bit 5: data reporting enabled.
pub const AUX_ST_ENABLED: u8 = 0x20;
/// Status request byte 0 bit 6: remote mode.
pub const AUX_ST_REMOTE: u8 = 0x40;

/// Bytes the keyboard holds before it reports an overrun.
pub const KBD_BUFFER_MAX: usize = 256;
/// Bytes the mouse holds before it drops packets.
pub const AUX_BUFFER_MAX: usize = 256;

/// What a read of a port the controller does not decode returns.
const FLOATING_BUS: u8 = 0xFF;

/// Warn-once sites.
const WARN_UNKNOWN_CMD: u32 = 0;
const WARN_KBD_OVERRUN: u32 = 1;
const WARN_AUX_DROP: u32 = 2;
const WARN_RESET_LINE: u32 = 3;
const WARN_UNKNOWN_KBD_CMD: u32 = 4;
const WARN_UNKNOWN_AUX_CMD: u32 = 5;
const WARN_BAD_PORT: u32 = 6;

/// A byte a device has ready for the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Queued {
    byte: u8,
    /// Extra time before this byte may start (the BAT after a reset).
    extra: u64,
    /// A reply to a command (kept when scanning clears the key buffer).
    reply: bool,
}

/// A device's transmit queue.
type WireQueue = VecDeque<Queued>;

fn push_reply(q: &mut WireQueue, bytes: &[u8]) {
    q.extend(bytes.iter().map(|&byte| Queued {
        byte,
        extra: 0,
        reply: true,
    }));
}

/// The 8042's set 2 → set 1 translator: swallows `F0` and sets bit 7 of the
/// byte after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Translator {
    after_break: bool,
}

impl Translator {
    fn feed(&mut self, byte: u8) -> Option<u8> {
        if byte == SET2_BREAK {
            self.after_break = true;
            return None;
        }
        let out = xlat_set2_to_set1(byte);
        Some(if std::mem::take(&mut self.after_break) {
            out | SET1_BREAK
        } else {
            out
        })
    }
}

/// What the keyboard expects its next byte to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum KbdExpect {
    Command,
    Leds,
    Typematic,
    ScanSet,
    /// Set 3 key list of 0xFB–0xFD: key codes until the next command.
    KeyList,
}

/// Shift/Ctrl/Alt held (any side), as the keyboard tracks them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Modifiers {
    shift: u8,
    ctrl: u8,
    alt: u8,
}

impl Modifiers {
    fn update(&mut self, key: Key, pressed: bool) {
        let (field, bit) = match key {
            Key::LeftShift => (&mut self.shift, 1),
            Key::RightShift => (&mut self.shift, 2),
            Key::LeftCtrl => (&mut self.ctrl, 1),
            Key::RightCtrl => (&mut self.ctrl, 2),
            Key::LeftAlt => (&mut self.alt, 1),
            Key::RightAlt => (&mut self.alt, 2),
            _ => return,
        };
        if pressed {
            *field |= bit;
        } else {
            *field &= !bit;
        }
    }
}

/// The PS/2 keyboard.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Keyboard {
    queue: WireQueue,
    scanning: bool,
    set: u8,
    leds: u8,
    typematic: u8,
    expect: KbdExpect,
    /// The last byte put on the wire (for resend).
    last_sent: u8,
    mods: Modifiers,
}

impl Keyboard {
    fn new() -> Self {
        Keyboard {
            queue: VecDeque::new(),
            scanning: true,
            set: SCANCODE_SET_DEFAULT,
            leds: 0,
            typematic: TYPEMATIC_DEFAULT,
            expect: KbdExpect::Command,
            last_sent: BAT_OK,
            mods: Modifiers::default(),
        }
    }

    fn reply(&mut self, bytes: &[u8]) {
        push_reply(&mut self.queue, bytes);
    }

    fn clear_scan_codes(&mut self) {
        self.queue.retain(|q| q.reply);
    }

    /// A byte from the controller. Returns false for an unknown command.
    fn receive(&mut self, byte: u8, bat_delay: u64) -> bool {
        let is_command = byte >= KBD_FIRST_COMMAND;
        match std::mem::replace(&mut self.expect, KbdExpect::Command) {
            KbdExpect::Leds if !is_command => {
                self.leds = byte & LED_MASK;
                self.reply(&[ACK]);
                return true;
            }
            KbdExpect::Typematic if byte & 0x80 == 0 => {
                self.typematic = byte;
                self.reply(&[ACK]);
                return true;
            }
            KbdExpect::ScanSet if !is_command => {
                match byte {
                    0 => self.reply(&[ACK, self.set]),
                    1 | 2 => {
                        self.set = byte;
                        self.reply(&[ACK]);
                    }
                    // Set 3 (not offered) and nonsense: ask for the byte again.
                    _ => self.reply(&[RESEND]),
                }
                return true;
            }
            KbdExpect::KeyList if !is_command => {
                self.expect = KbdExpect::KeyList;
                self.reply(&[ACK]);
                return true;
            }
            _ => {}
        }
        self.command(byte, bat_delay)
    }

    fn command(&mut self, byte: u8, bat_delay: u64) -> bool {
        match byte {
            KBD_SET_LEDS => {
                self.reply(&[ACK]);
                self.expect = KbdExpect::Leds;
            }
            KBD_ECHO => self.reply(&[KBD_ECHO]),
            KBD_SCANCODE_SET => {
                self.reply(&[ACK]);
                self.expect = KbdExpect::ScanSet;
            }
            KBD_IDENTIFY => self.reply(&[ACK, KBD_ID[0], KBD_ID[1]]),
            KBD_TYPEMATIC => {
                self.reply(&[ACK]);
                self.expect = KbdExpect::Typematic;
            }
            KBD_ENABLE => {
                self.clear_scan_codes();
                self.scanning = true;
                self.reply(&[ACK]);
            }
            KBD_DISABLE => {
                self.clear_scan_codes();
                self.typematic = TYPEMATIC_DEFAULT;
                self.scanning = false;
                self.reply(&[ACK]);
            }
            KBD_DEFAULTS => {
                self.clear_scan_codes();
                self.typematic = TYPEMATIC_DEFAULT;
                self.reply(&[ACK]);
            }
            KBD_ALL_TYPEMATIC..=KBD_ALL_TYPE_LAST => self.reply(&[ACK]),
            KBD_KEY_TYPEMATIC..=KBD_KEY_TYPE_LAST => {
                self.reply(&[ACK]);
                self.expect = KbdExpect::KeyList;
            }
            KBD_RESEND => {
                let last = self.last_sent;
                self.reply(&[last]);
            }
            KBD_RESET => {
                // Replies already queued count as sent; keys are forgotten.
                let mut queue = std::mem::take(&mut self.queue);
                queue.retain(|q| q.reply);
                let mods = self.mods;
                *self = Keyboard::new();
                self.queue = queue;
                self.mods = mods;
                self.reply(&[ACK]);
                self.queue.push_back(Queued {
                    byte: BAT_OK,
                    extra: bat_delay,
                    reply: true,
                });
            }
            _ => {
                self.reply(&[RESEND]);
                return false;
            }
        }
        true
    }

    /// The bytes for `key` going down or up, in the current set (1 or 2).
    fn scan_codes(&self, key: Key, pressed: bool) -> Vec<u8> {
        let set2 = set2_sequence(key, pressed, self.mods);
        if self.set == 1 {
            let mut t = Translator::default();
            set2.into_iter().filter_map(|b| t.feed(b)).collect()
        } else {
            set2
        }
    }
}

/// Set 2 bytes for `key` going down (`pressed`) or up, given the modifiers
/// held (which change Print Screen and Pause).
fn set2_sequence(key: Key, pressed: bool, mods: Modifiers) -> Vec<u8> {
    let (e0, brk) = (SET2_EXTENDED, SET2_BREAK);
    match key.set2() {
        Set2::Plain(c) if pressed => vec![c],
        Set2::Plain(c) => vec![brk, c],
        Set2::Extended(c) if pressed => vec![e0, c],
        Set2::Extended(c) => vec![e0, brk, c],
        Set2::PrintScreen => match (mods.alt != 0, mods.shift | mods.ctrl != 0, pressed) {
            (true, _, true) => vec![SET2_SYSRQ],
            (true, _, false) => vec![brk, SET2_SYSRQ],
            (false, true, true) => vec![e0, SET2_PRINT_SCREEN],
            (false, true, false) => vec![e0, brk, SET2_PRINT_SCREEN],
            (false, false, true) => vec![e0, SET2_FAKE_SHIFT, e0, SET2_PRINT_SCREEN],
            (false, false, false) => {
                vec![e0, brk, SET2_PRINT_SCREEN, e0, brk, SET2_FAKE_SHIFT]
            }
        },
        // Pause sends everything on the press and nothing on the release.
        Set2::Pause if !pressed => Vec::new(),
        Set2::Pause if mods.ctrl != 0 => vec![e0, SET2_CTRL_BREAK, e0, brk, SET2_CTRL_BREAK],
        Set2::Pause => SET2_PAUSE.to_vec(),
    }
}

/// What the mouse expects its next byte to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum AuxExpect {
    Command,
    Rate,
    Resolution,
}

/// Scaling 2:1 (PS/2 mouse: applied to each stream mode report).
fn scale_2_1(n: i32) -> i32 {
    let m = n.unsigned_abs();
    let scaled = match m {
        0..=1 => m,
        2 => 1,
        3 => 3,
        4 => 6,
        5 => 9,
        _ => m.saturating_mul(2),
    };
    let scaled = i32::try_from(scaled).unwrap_or(i32::MAX);
    if n < 0 {
        -scaled
    } else {
        scaled
    }
}

/// A 9-bit two's complement packet axis: the low byte, the sign (9th) bit
/// and whether the movement overflowed the range −256..=255.
fn packet_axis(v: i32) -> (u8, bool, bool) {
    let overflow = !(-256..=255).contains(&v);
    let c = v.clamp(-256, 255);
    (c as u8, c < 0, overflow)
}

/// The PS/2 mouse.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Mouse {
    queue: WireQueue,
    reporting: bool,
    remote: bool,
    wrap: bool,
    rate: u8,
    resolution: u8,
    scaling_2_1: bool,
    id: u8,
    /// The last three sample rates set, oldest first (for the knocks).
    rates: [u8; 3],
    expect: AuxExpect,
    buttons: u8,
    /// Movement since the last packet (remote mode), PS/2 axes (Y up).
    acc: (i32, i32, i32),
    /// The last packet or reply (for resend).
    last: Vec<u8>,
}

impl Mouse {
    fn new() -> Self {
        Mouse {
            queue: VecDeque::new(),
            reporting: false,
            remote: false,
            wrap: false,
            rate: AUX_RATE_DEFAULT,
            resolution: AUX_RESOLUTION_DEFAULT,
            scaling_2_1: false,
            id: AUX_ID_PS2,
            rates: [0; 3],
            expect: AuxExpect::Command,
            buttons: 0,
            acc: (0, 0, 0),
            last: vec![ACK],
        }
    }

    fn reply(&mut self, bytes: &[u8]) {
        push_reply(&mut self.queue, bytes);
        self.last = bytes.to_vec();
    }

    fn set_defaults(&mut self) {
        self.reporting = false;
        self.remote = false;
        self.rate = AUX_RATE_DEFAULT;
        self.resolution = AUX_RESOLUTION_DEFAULT;
        self.scaling_2_1 = false;
        self.acc = (0, 0, 0);
    }

    /// A byte from the controller. Returns false for an unknown command.
    fn receive(&mut self, byte: u8, bat_delay: u64) -> bool {
        if self.wrap && byte != AUX_RESET && byte != AUX_RESET_WRAP {
            push_reply(&mut self.queue, &[byte]);
            return true;
        }
        match std::mem::replace(&mut self.expect, AuxExpect::Command) {
            AuxExpect::Rate => {
                if AUX_RATES.contains(&byte) {
                    self.rate = byte;
                    self.rates = [self.rates[1], self.rates[2], byte];
                    if self.id == AUX_ID_PS2 && self.rates == KNOCK_WHEEL {
                        self.id = AUX_ID_WHEEL;
                    } else if self.id == AUX_ID_WHEEL && self.rates == KNOCK_FIVE_BUTTONS {
                        self.id = AUX_ID_FIVE_BUTTONS;
                    }
                    self.reply(&[ACK]);
                } else {
                    self.reply(&[RESEND]);
                }
                return true;
            }
            AuxExpect::Resolution => {
                if byte <= AUX_RESOLUTION_MAX {
                    self.resolution = byte;
                    self.reply(&[ACK]);
                } else {
                    self.reply(&[RESEND]);
                }
                return true;
            }
            AuxExpect::Command => {}
        }
        match byte {
            AUX_SCALING_1_1 | AUX_SCALING_2_1 => {
                self.scaling_2_1 = byte == AUX_SCALING_2_1;
                self.reply(&[ACK]);
            }
            AUX_SET_RESOLUTION => {
                self.reply(&[ACK]);
                self.expect = AuxExpect::Resolution;
            }
            AUX_STATUS => {
                let b = self.buttons;
                let mut flags = 0;
                for (host, status) in [
                    (PKT_LEFT, AUX_ST_LEFT),
                    (PKT_MIDDLE, AUX_ST_MIDDLE),
                    (PKT_RIGHT, AUX_ST_RIGHT),
                ] {
                    if b & host != 0 {
                        flags |= status;
                    }
                }
                if self.scaling_2_1 {
                    flags |= AUX_ST_SCALING;
                }
                if self.reporting {
                    flags |= AUX_ST_ENABLED;
                }
                if self.remote {
                    flags |= AUX_ST_REMOTE;
                }
                self.reply(&[ACK, flags, self.resolution, self.rate]);
            }
            AUX_SET_STREAM | AUX_SET_REMOTE => {
                self.remote = byte == AUX_SET_REMOTE;
                self.acc = (0, 0, 0);
                self.reply(&[ACK]);
            }
            AUX_READ_DATA => {
                let (dx, dy, dz) = std::mem::take(&mut self.acc);
                let mut bytes = vec![ACK];
                bytes.extend(self.packet(dx, dy, dz));
                self.reply(&bytes);
            }
            AUX_RESET_WRAP => {
                self.wrap = false;
                self.acc = (0, 0, 0);
                self.reply(&[ACK]);
            }
            AUX_SET_WRAP => {
                self.wrap = true;
                self.acc = (0, 0, 0);
                self.reply(&[ACK]);
            }
            AUX_GET_ID => {
                let id = self.id;
                self.reply(&[ACK, id]);
            }
            AUX_SET_RATE => {
                self.reply(&[ACK]);
                self.expect = AuxExpect::Rate;
            }
            AUX_ENABLE | AUX_DISABLE => {
                self.reporting = byte == AUX_ENABLE;
                self.acc = (0, 0, 0);
                self.reply(&[ACK]);
            }
            AUX_DEFAULTS => {
                self.set_defaults();
                self.reply(&[ACK]);
            }
            AUX_RESEND => {
                let last = self.last.clone();
                push_reply(&mut self.queue, &last);
            }
            AUX_RESET => {
                // Replies already queued count as sent; packets are forgotten.
                let mut queue = std::mem::take(&mut self.queue);
                queue.retain(|q| q.reply);
                let buttons = self.buttons;
                *self = Mouse::new();
                self.queue = queue;
                self.buttons = buttons;
                self.reply(&[ACK]);
                self.queue.push_back(Queued {
                    byte: BAT_OK,
                    extra: bat_delay,
                    reply: true,
                });
                push_reply(&mut self.queue, &[AUX_ID_PS2]);
            }
            _ => {
                self.reply(&[RESEND]);
                return false;
            }
        }
        true
    }

    /// A movement packet (PS/2 axes: Y up) in the current ID's format.
    fn packet(&self, dx: i32, dy: i32, dz: i32) -> Vec<u8> {
        let (x, x_neg, x_ovf) = packet_axis(dx);
        let (y, y_neg, y_ovf) = packet_axis(dy);
        let mut b0 = (self.buttons & (PKT_LEFT | PKT_RIGHT | PKT_MIDDLE)) | PKT_ALWAYS_ONE;
        for (set, bit) in [
            (x_neg, PKT_X_SIGN),
            (y_neg, PKT_Y_SIGN),
            (x_ovf, PKT_X_OVERFLOW),
            (y_ovf, PKT_Y_OVERFLOW),
        ] {
            if set {
                b0 |= bit;
            }
        }
        let z = dz.clamp(-8, 7) as u8;
        match self.id {
            AUX_ID_WHEEL => vec![b0, x, y, z],
            AUX_ID_FIVE_BUTTONS => {
                let mut b3 = z & 0x0F;
                if self.buttons & 0x08 != 0 {
                    b3 |= PKT4_BUTTON4;
                }
                if self.buttons & 0x10 != 0 {
                    b3 |= PKT4_BUTTON5;
                }
                vec![b0, x, y, b3]
            }
            _ => vec![b0, x, y],
        }
    }

    /// Host movement (Y up) and buttons. Returns false if a packet was
    /// dropped for want of room.
    fn movement(&mut self, dx: i32, dy: i32, dz: i32, buttons: u8) -> bool {
        let buttons = buttons & BUTTONS_MASK;
        let changed = buttons != self.buttons || dx != 0 || dy != 0 || dz != 0;
        self.buttons = buttons;
        if self.wrap || !changed {
            return true;
        }
        if self.remote {
            self.acc.0 = self.acc.0.saturating_add(dx);
            self.acc.1 = self.acc.1.saturating_add(dy);
            self.acc.2 = self.acc.2.saturating_add(dz);
            return true;
        }
        if !self.reporting {
            return true;
        }
        let (dx, dy) = if self.scaling_2_1 {
            (scale_2_1(dx), scale_2_1(dy))
        } else {
            (dx, dy)
        };
        let packet = self.packet(dx, dy, dz);
        if self.queue.len() + packet.len() > AUX_BUFFER_MAX {
            return false;
        }
        self.queue.extend(packet.iter().map(|&byte| Queued {
            byte,
            extra: 0,
            reply: false,
        }));
        self.last = packet;
        true
    }
}

/// A device byte on its way to the output buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Flight {
    aux: bool,
    at: Cycles,
}

/// Where the byte in the output buffer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Origin {
    /// The controller itself (a command's reply, or 0xD2/0xD3).
    Controller,
    /// The keyboard.
    Keyboard,
    /// The mouse.
    Mouse,
}

/// The 8042 keyboard controller with its keyboard and mouse.
///
/// Wiring: ports [`KBC_DATA`] and [`KBC_STATUS`], byte-wide (wider accesses
/// are split by the platform); IRQ lines [`KBD_IRQ`] and [`AUX_IRQ`]; the
/// scheduler slot [`EventKind::Kbc`], handed to [`Device::on_event`]. Host
/// input arrives through [`Kbc8042::key_event`] and
/// [`Kbc8042::mouse_event`]; the guest's A20 and reset requests leave
/// through [`crate::Signals`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Kbc8042 {
    cycles_per_second: u64,
    /// Controller RAM; byte 0 is the command byte.
    ram: [u8; 32],
    /// Output port bit 1.
    a20: bool,
    obuf: u8,
    obf: bool,
    /// The output buffer's byte is for IRQ12 (AUXB).
    obuf_aux: bool,
    obuf_origin: Origin,
    /// Status bit 3: the last write went to port 0x64.
    a2: bool,
    /// A controller command waiting for its data byte.
    pending: Option<u8>,
    /// Controller replies waiting for the output buffer (byte, for IRQ12).
    replies: VecDeque<(u8, bool)>,
    flight: Option<Flight>,
    xlat: Translator,
    kbd: Keyboard,
    mouse: Mouse,
    /// The latest time the controller was told about (for `inspect`).
    last_now: Cycles,
    #[serde(skip)]
    once: Once,
}

impl Kbc8042 {
    /// A controller, keyboard and mouse in their power-on state, on a machine
    /// whose CPU runs `cycles_per_second` (values below 1 are taken as 1).
    pub fn new(cycles_per_second: u64) -> Self {
        let mut ram = [0; 32];
        ram[0] = POWER_ON_COMMAND_BYTE;
        Kbc8042 {
            cycles_per_second: cycles_per_second.max(1),
            ram,
            a20: true,
            obuf: 0,
            obf: false,
            obuf_aux: false,
            obuf_origin: Origin::Controller,
            a2: false,
            pending: None,
            replies: VecDeque::new(),
            flight: None,
            xlat: Translator::default(),
            kbd: Keyboard::new(),
            mouse: Mouse::new(),
            last_now: Cycles::ZERO,
            once: Once::default(),
        }
    }

    /// The key called `name` (see [`key_from_name`]).
    pub fn key_from_name(name: &str) -> Option<Key> {
        key_from_name(name)
    }

    /// The US-layout key typing `c` and whether Shift is needed (see
    /// [`keys_for_char`]).
    pub fn keys_for_char(c: char) -> Option<(Key, bool)> {
        keys_for_char(c)
    }

    /// The host pressed (`pressed`) or released `key`. Nothing is sent while
    /// the keyboard is not scanning (after 0xF5); bytes wait in the keyboard
    /// while its clock is disabled.
    pub fn key_event(&mut self, key: Key, pressed: bool, cx: &mut IoCx) {
        self.touch(cx);
        self.kbd.mods.update(key, pressed);
        if !self.kbd.scanning {
            return;
        }
        let codes = self.kbd.scan_codes(key, pressed);
        if self.kbd.queue.len() + codes.len() > KBD_BUFFER_MAX {
            if self.once.first(WARN_KBD_OVERRUN) {
                log::warn!("i8042: keyboard buffer overrun, keystrokes dropped");
            }
            let overrun = if self.kbd.set == 1 {
                KBD_OVERRUN_SET1
            } else {
                KBD_OVERRUN_SET2
            };
            if self.kbd.queue.back().map(|q| q.byte) != Some(overrun) {
                self.kbd.queue.push_back(Queued {
                    byte: overrun,
                    extra: 0,
                    reply: false,
                });
            }
        } else {
            self.kbd.queue.extend(codes.into_iter().map(|byte| Queued {
                byte,
                extra: 0,
                reply: false,
            }));
        }
        self.pump(cx);
    }

    /// The host moved the mouse by `dx` (right positive) and `dy` (down the
    /// screen positive, the host's convention; the packet carries it negated,
    /// as PS/2 counts up as positive) with `buttons` held (bit 0 left, 1
    /// right, 2 middle, 3 button 4, 4 button 5). A packet is sent only in
    /// stream mode with reporting enabled; in remote mode the movement adds up
    /// until the guest asks for it (0xEB). Movement beyond −256..=255 per
    /// event sets the overflow bit, as on the device.
    pub fn mouse_event(&mut self, dx: i32, dy: i32, buttons: u8, cx: &mut IoCx) {
        self.mouse_wheel_event(dx, dy, 0, buttons, cx);
    }

    /// [`Kbc8042::mouse_event`] with wheel movement `dz` (clicks; positive
    /// towards the user, i.e. scrolling down, as the IntelliMouse reports it).
    /// The wheel is reported only after the guest switched the mouse to ID 3
    /// or 4.
    pub fn mouse_wheel_event(&mut self, dx: i32, dy: i32, dz: i32, buttons: u8, cx: &mut IoCx) {
        self.touch(cx);
        if !self.mouse.movement(dx, dy.saturating_neg(), dz, buttons)
            && self.once.first(WARN_AUX_DROP)
        {
            log::warn!("i8042: mouse buffer full, packets dropped");
        }
        self.pump(cx);
    }

    /// Whether no keyboard byte is waiting: nothing in the keyboard, nothing
    /// on the wire and no keyboard byte unread in the output buffer. Scripted
    /// typing waits for this before the next key.
    pub fn input_idle(&self) -> bool {
        self.kbd.queue.is_empty()
            && !matches!(self.flight, Some(Flight { aux: false, .. }))
            && !(self.obf && self.obuf_origin == Origin::Keyboard)
    }

    /// The A20 gate as the output port drives it.
    pub fn a20(&self) -> bool {
        self.a20
    }

    /// The command byte (controller RAM byte 0).
    pub fn command_byte(&self) -> u8 {
        self.ram[0]
    }

    /// The keyboard LEDs as last set by the guest ([`LED_SCROLL`],
    /// [`LED_NUM`], [`LED_CAPS`]).
    pub fn leds(&self) -> u8 {
        self.kbd.leds
    }

    /// The status register as port 0x64 reads it.
    pub fn status(&self) -> u8 {
        let mut s = STATUS_UNLOCKED;
        if self.obf {
            s |= STATUS_OBF;
            if self.obuf_aux {
                s |= STATUS_AUX_OBF;
            }
        }
        if self.ram[0] & CB_SYS != 0 {
            s |= STATUS_SYS;
        }
        if self.a2 {
            s |= STATUS_A2;
        }
        s
    }

    /// The output port as command 0xD0 reads it.
    pub fn output_port(&self) -> u8 {
        let cb = self.ram[0];
        let mut p = OUT_RESET | OUT_AUX_DATA | OUT_KBD_DATA;
        if self.a20 {
            p |= OUT_A20;
        }
        if cb & CB_AUX_DISABLE == 0 {
            p |= OUT_AUX_CLOCK;
        }
        if cb & CB_KBD_DISABLE == 0 {
            p |= OUT_KBD_CLOCK;
        }
        if self.kbd_irq() {
            p |= OUT_KBD_IRQ;
        }
        if self.aux_irq() {
            p |= OUT_AUX_IRQ;
        }
        p
    }

    fn byte_delay(&self) -> u64 {
        self.us_to_cycles(BYTE_TIME_US)
    }

    fn us_to_cycles(&self, us: u64) -> u64 {
        let c = u128::from(self.cycles_per_second) * u128::from(us) / 1_000_000;
        u64::try_from(c).unwrap_or(u64::MAX).max(1)
    }

    fn touch(&mut self, cx: &IoCx) {
        self.last_now = self.last_now.max(cx.now);
    }

    fn kbd_irq(&self) -> bool {
        self.obf && !self.obuf_aux && self.ram[0] & CB_KBD_INT != 0
    }

    fn aux_irq(&self) -> bool {
        self.obf && self.obuf_aux && self.ram[0] & CB_AUX_INT != 0
    }

    fn update_irq(&self, cx: &mut IoCx) {
        cx.irq.set(KBD_IRQ, self.kbd_irq());
        cx.irq.set(AUX_IRQ, self.aux_irq());
    }

    /// Whether the keyboard (`aux` false) or mouse may send.
    fn clock_enabled(&self, aux: bool) -> bool {
        let bit = if aux { CB_AUX_DISABLE } else { CB_KBD_DISABLE };
        self.ram[0] & bit == 0
    }

    fn queue(&self, aux: bool) -> &WireQueue {
        if aux {
            &self.mouse.queue
        } else {
            &self.kbd.queue
        }
    }

    fn load(&mut self, byte: u8, aux: bool, origin: Origin, cx: &mut IoCx) {
        self.obuf = byte;
        self.obf = true;
        self.obuf_aux = aux;
        self.obuf_origin = origin;
        self.update_irq(cx);
    }

    /// A controller reply: into the output buffer now if it is free.
    fn reply(&mut self, byte: u8, aux: bool, cx: &mut IoCx) {
        self.replies.push_back((byte, aux));
        self.pump(cx);
    }

    /// Fills the free output buffer: controller replies at once, device bytes
    /// one wire time after they start.
    fn pump(&mut self, cx: &mut IoCx) {
        if self.obf {
            return;
        }
        if let Some((byte, aux)) = self.replies.pop_front() {
            self.load(byte, aux, Origin::Controller, cx);
            return;
        }
        loop {
            if let Some(f) = self.flight {
                if self.clock_enabled(f.aux) && !self.queue(f.aux).is_empty() {
                    if cx.now < f.at {
                        cx.sched.schedule(EventKind::Kbc, f.at);
                        return;
                    }
                    self.flight = None;
                    if self.deliver(f.aux, cx) {
                        return;
                    }
                    continue;
                }
                self.flight = None;
            }
            let aux = if self.clock_enabled(false) && !self.kbd.queue.is_empty() {
                false
            } else if self.clock_enabled(true) && !self.mouse.queue.is_empty() {
                true
            } else {
                cx.sched.cancel(EventKind::Kbc);
                return;
            };
            let extra = self.queue(aux).front().map_or(0, |q| q.extra);
            let at = cx.now + Cycles(self.byte_delay()) + Cycles(extra);
            self.flight = Some(Flight { aux, at });
        }
    }

    /// The head byte of a device arrives. Returns whether the output buffer
    /// was filled (a translated `F0` fills nothing).
    fn deliver(&mut self, aux: bool, cx: &mut IoCx) -> bool {
        if aux {
            let Some(q) = self.mouse.queue.pop_front() else {
                return false;
            };
            self.load(q.byte, true, Origin::Mouse, cx);
            return true;
        }
        let Some(q) = self.kbd.queue.pop_front() else {
            return false;
        };
        self.kbd.last_sent = q.byte;
        let byte = if self.ram[0] & CB_XLAT != 0 {
            match self.xlat.feed(q.byte) {
                Some(b) => b,
                None => return false,
            }
        } else {
            q.byte
        };
        self.load(byte, false, Origin::Keyboard, cx);
        true
    }

    fn read_data(&mut self, cx: &mut IoCx) -> u8 {
        let byte = self.obuf;
        if self.obf {
            self.obf = false;
            self.update_irq(cx);
            self.pump(cx);
        }
        byte
    }

    fn set_a20(&mut self, on: bool, cx: &mut IoCx) {
        self.a20 = on;
        cx.signals.a20 = Some(on);
    }

    fn pulse_reset(&mut self, cx: &mut IoCx) {
        log::debug!("i8042: CPU reset through the output port");
        cx.signals.reset = true;
    }

    fn set_command_byte(&mut self, value: u8, cx: &mut IoCx) {
        self.ram[0] = value;
        self.update_irq(cx);
        self.pump(cx);
    }

    fn command(&mut self, cmd: u8, cx: &mut IoCx) {
        self.pending = None;
        match cmd {
            CMD_READ_RAM..=0x3F => {
                let b = self.ram[usize::from(cmd & CMD_RAM_INDEX_MASK)];
                self.reply(b, false, cx);
            }
            CMD_WRITE_RAM..=0x7F
            | CMD_PASSWORD_LOAD
            | CMD_WRITE_OUTPUT
            | CMD_WRITE_KBD_OBUF
            | CMD_WRITE_AUX_OBUF
            | CMD_WRITE_AUX => self.pending = Some(cmd),
            CMD_PASSWORD_CHECK => self.reply(PASSWORD_NONE, false, cx),
            CMD_PASSWORD_ENABLE => {}
            CMD_AUX_DISABLE => self.set_command_byte(self.ram[0] | CB_AUX_DISABLE, cx),
            CMD_AUX_ENABLE => self.set_command_byte(self.ram[0] & !CB_AUX_DISABLE, cx),
            CMD_AUX_TEST | CMD_KBD_TEST => self.reply(INTERFACE_OK, false, cx),
            CMD_SELF_TEST => {
                self.ram[0] |= CB_SYS;
                self.reply(SELF_TEST_OK, false, cx);
            }
            CMD_KBD_DISABLE => self.set_command_byte(self.ram[0] | CB_KBD_DISABLE, cx),
            CMD_KBD_ENABLE => self.set_command_byte(self.ram[0] & !CB_KBD_DISABLE, cx),
            CMD_READ_INPUT => self.reply(INPUT_PORT, false, cx),
            CMD_READ_OUTPUT => {
                let p = self.output_port();
                self.reply(p, false, cx);
            }
            CMD_A20_OFF | CMD_A20_ON => self.set_a20(cmd == CMD_A20_ON, cx),
            CMD_READ_TEST => {
                let mut t = TEST_KBD_DATA;
                if self.clock_enabled(false) {
                    t |= TEST_KBD_CLOCK;
                }
                self.reply(t, false, cx);
            }
            CMD_PULSE..=0xFF => {
                // A clear bit pulses that output line low for about 6 µs; only
                // the reset line (bit 0) has a lasting effect.
                if cmd & OUT_RESET == 0 {
                    self.pulse_reset(cx);
                }
            }
            _ => {
                if self.once.first(WARN_UNKNOWN_CMD) {
                    log::warn!("i8042: unknown controller command {cmd:#04x} ignored");
                }
            }
        }
    }

    fn data(&mut self, byte: u8, cx: &mut IoCx) {
        let Some(cmd) = self.pending.take() else {
            let bat = self.us_to_cycles(BAT_TIME_US);
            if !self.kbd.receive(byte, bat) && self.once.first(WARN_UNKNOWN_KBD_CMD) {
                log::warn!("i8042: unknown keyboard command {byte:#04x} (answered 0xFE)");
            }
            self.pump(cx);
            return;
        };
        match cmd {
            CMD_WRITE_RAM..=0x7F => {
                let i = usize::from(cmd & CMD_RAM_INDEX_MASK);
                if i == 0 {
                    self.set_command_byte(byte, cx);
                } else {
                    self.ram[i] = byte;
                }
            }
            // The password ends at a zero byte.
            CMD_PASSWORD_LOAD if byte != 0 => self.pending = Some(cmd),
            CMD_WRITE_OUTPUT => {
                self.set_a20(byte & OUT_A20 != 0, cx);
                if byte & OUT_RESET == 0 {
                    if self.once.first(WARN_RESET_LINE) {
                        log::info!("i8042: output port reset line written low (taken as a pulse)");
                    }
                    self.pulse_reset(cx);
                }
            }
            CMD_WRITE_KBD_OBUF => self.reply(byte, false, cx),
            CMD_WRITE_AUX_OBUF => self.reply(byte, true, cx),
            CMD_WRITE_AUX => {
                let bat = self.us_to_cycles(BAT_TIME_US);
                if !self.mouse.receive(byte, bat) && self.once.first(WARN_UNKNOWN_AUX_CMD) {
                    log::warn!("i8042: unknown mouse command {byte:#04x} (answered 0xFE)");
                }
                self.pump(cx);
            }
            _ => {}
        }
    }

    /// Drops every byte in flight (the platform has cancelled the event and
    /// lowered the IRQ lines).
    fn drop_in_flight(&mut self) {
        self.obf = false;
        self.pending = None;
        self.replies.clear();
        self.flight = None;
        self.xlat = Translator::default();
        self.kbd.queue.clear();
        self.mouse.queue.clear();
        self.kbd.expect = KbdExpect::Command;
        self.mouse.expect = AuxExpect::Command;
    }
}

impl Device for Kbc8042 {
    fn name(&self) -> &'static str {
        "kbc"
    }

    fn io_read(&mut self, port: u16, _size: u8, cx: &mut IoCx) -> u32 {
        self.touch(cx);
        let v = match port {
            KBC_DATA => self.read_data(cx),
            KBC_STATUS => self.status(),
            _ => {
                if self.once.first(WARN_BAD_PORT) {
                    log::warn!("i8042: read of port {port:#x}, which it does not decode");
                }
                FLOATING_BUS
            }
        };
        u32::from(v)
    }

    fn io_write(&mut self, port: u16, _size: u8, value: u32, cx: &mut IoCx) {
        self.touch(cx);
        let byte = value as u8;
        match port {
            KBC_DATA => {
                self.a2 = false;
                self.data(byte, cx);
            }
            KBC_COMMAND => {
                self.a2 = true;
                self.command(byte, cx);
            }
            _ => {
                if self.once.first(WARN_BAD_PORT) {
                    log::warn!("i8042: write to port {port:#x}, which it does not decode");
                }
            }
        }
    }

    fn reset(&mut self, kind: ResetKind) {
        match kind {
            ResetKind::PowerOn => *self = Kbc8042::new(self.cycles_per_second),
            ResetKind::Hard => self.drop_in_flight(),
        }
    }

    fn on_event(&mut self, event: EventKind, cx: &mut IoCx) {
        if event != EventKind::Kbc {
            return;
        }
        self.touch(cx);
        self.pump(cx);
    }

    fn inspect(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let cb = self.ram[0];
        let on_off = |b: bool| if b { "on" } else { "off" };
        writeln!(
            out,
            "kbc: 8042 as of cycle {}; status {:#04x}, command byte {cb:#04x} \
             (kbd int {}, aux int {}, sys {}, kbd clock {}, aux clock {}, xlat {})",
            self.last_now.0,
            self.status(),
            on_off(cb & CB_KBD_INT != 0),
            on_off(cb & CB_AUX_INT != 0),
            u8::from(cb & CB_SYS != 0),
            on_off(cb & CB_KBD_DISABLE == 0),
            on_off(cb & CB_AUX_DISABLE == 0),
            on_off(cb & CB_XLAT != 0),
        )?;
        let origin = match self.obuf_origin {
            Origin::Controller => "controller",
            Origin::Keyboard => "keyboard",
            Origin::Mouse => "mouse",
        };
        writeln!(
            out,
            "  output buffer {:#04x} {} (from {origin}), output port {:#04x} (A20 {}), \
             pending command {}, {} controller replies queued, {}",
            self.obuf,
            if self.obf { "full" } else { "empty" },
            self.output_port(),
            on_off(self.a20),
            self.pending
                .map_or_else(|| "none".to_string(), |c| format!("{c:#04x}")),
            self.replies.len(),
            match self.flight {
                Some(f) => format!(
                    "{} byte due at cycle {}",
                    if f.aux { "mouse" } else { "keyboard" },
                    f.at.0
                ),
                None => "nothing on the wire".to_string(),
            },
        )?;
        let k = &self.kbd;
        writeln!(
            out,
            "  keyboard: scanning {}, set {}, LEDs {:03b} (caps num scroll), typematic {:#04x}, \
             expects {:?}, {} bytes queued {:02x?}",
            on_off(k.scanning),
            k.set,
            k.leds,
            k.typematic,
            k.expect,
            k.queue.len(),
            k.queue.iter().take(16).map(|q| q.byte).collect::<Vec<_>>(),
        )?;
        let m = &self.mouse;
        writeln!(
            out,
            "  mouse: ID {}, reporting {}, {} mode{}, rate {}/s, resolution {}, scaling {}, \
             buttons {:05b}, expects {:?}, {} bytes queued",
            m.id,
            on_off(m.reporting),
            if m.remote { "remote" } else { "stream" },
            if m.wrap { " (wrap)" } else { "" },
            m.rate,
            m.resolution,
            if m.scaling_2_1 { "2:1" } else { "1:1" },
            m.buttons,
            m.expect,
            m.queue.len(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::{NoDma, Signals};
    use crate::irq::IrqLines;
    use crate::time::Scheduler;

    /// One cycle per microsecond keeps the timing arithmetic plain.
    const CPS: u64 = 1_000_000;
    /// [`BYTE_TIME_US`] in cycles at [`CPS`].
    const BYTE: u64 = BYTE_TIME_US;
    /// [`BAT_TIME_US`] in cycles at [`CPS`].
    const BAT: u64 = BAT_TIME_US;

    /// Command byte of a PC after POST: translation, SYS, keyboard interrupt.
    const CB_PC: u8 = CB_XLAT | CB_SYS | CB_KBD_INT;

    struct Rig {
        kbc: Kbc8042,
        sched: Scheduler,
        irq: IrqLines,
        signals: Signals,
        now: Cycles,
    }

    impl Rig {
        fn new() -> Self {
            Rig {
                kbc: Kbc8042::new(CPS),
                sched: Scheduler::new(),
                irq: IrqLines::new(),
                signals: Signals::default(),
                now: Cycles::ZERO,
            }
        }

        /// A rig whose command byte is `cb`.
        fn with_cb(cb: u8) -> Self {
            let mut r = Rig::new();
            r.cmd(CMD_WRITE_RAM);
            r.data(cb);
            r
        }

        fn with<R>(&mut self, f: impl FnOnce(&mut Kbc8042, &mut IoCx) -> R) -> R {
            let mut cx = IoCx {
                now: self.now,
                sched: &mut self.sched,
                irq: &mut self.irq,
                signals: &mut self.signals,
                dma: &mut NoDma,
            };
            f(&mut self.kbc, &mut cx)
        }

        fn write(&mut self, port: u16, v: u8) {
            self.with(|k, cx| k.io_write(port, 1, u32::from(v), cx));
        }

        fn read(&mut self, port: u16) -> u8 {
            self.with(|k, cx| k.io_read(port, 1, cx)) as u8
        }

        fn cmd(&mut self, c: u8) {
            self.write(KBC_COMMAND, c);
        }

        fn data(&mut self, d: u8) {
            self.write(KBC_DATA, d);
        }

        fn status(&mut self) -> u8 {
            self.read(KBC_STATUS)
        }

        /// Sends a byte to the mouse (0xD4 prefix).
        fn aux(&mut self, d: u8) {
            self.cmd(CMD_WRITE_AUX);
            self.data(d);
        }

        fn key(&mut self, key: Key, pressed: bool) {
            self.with(|k, cx| k.key_event(key, pressed, cx));
        }

        fn tap(&mut self, key: Key) {
            self.key(key, true);
            self.key(key, false);
        }

        fn mouse(&mut self, dx: i32, dy: i32, buttons: u8) {
            self.with(|k, cx| k.mouse_event(dx, dy, buttons, cx));
        }

        /// Runs due events up to cycle `t` and moves the clock there.
        fn run_to(&mut self, t: u64) {
            while let Some(at) = self.sched.deadline(EventKind::Kbc) {
                if at > Cycles(t) {
                    break;
                }
                self.now = self.now.max(at);
                assert_eq!(self.sched.pop_due(self.now), Some(EventKind::Kbc));
                self.with(|k, cx| k.on_event(EventKind::Kbc, cx));
            }
            self.now = self.now.max(Cycles(t));
        }

        /// The next byte the CPU would read, waiting for events as needed
        /// (`None` when nothing more is coming).
        fn next_byte(&mut self) -> Option<u8> {
            loop {
                if self.status() & STATUS_OBF != 0 {
                    return Some(self.read(KBC_DATA));
                }
                let at = self.sched.deadline(EventKind::Kbc)?;
                self.run_to(at.0);
            }
        }

        /// Every byte still to come.
        fn drain(&mut self) -> Vec<u8> {
            std::iter::from_fn(|| self.next_byte()).collect()
        }

        /// The next byte with its AUXB flag.
        fn next_with_source(&mut self) -> Option<(u8, bool)> {
            loop {
                let st = self.status();
                if st & STATUS_OBF != 0 {
                    return Some((self.read(KBC_DATA), st & STATUS_AUX_OBF != 0));
                }
                let at = self.sched.deadline(EventKind::Kbc)?;
                self.run_to(at.0);
            }
        }
    }

    // ---- Controller ----

    #[test]
    fn power_on_state() {
        let mut r = Rig::new();
        let st = r.status();
        assert_eq!(st & STATUS_SYS, 0, "SYS clear until the self-test");
        assert_eq!(st & (STATUS_OBF | STATUS_IBF | STATUS_AUX_OBF), 0);
        assert_ne!(st & STATUS_UNLOCKED, 0);
        assert!(r.kbc.a20());
        r.cmd(CMD_READ_RAM);
        assert_eq!(r.read(KBC_DATA), POWER_ON_COMMAND_BYTE);
        r.cmd(CMD_READ_OUTPUT);
        let out = r.read(KBC_DATA);
        assert_eq!(out & (OUT_RESET | OUT_A20), OUT_RESET | OUT_A20);
        assert!(r.kbc.input_idle());
        assert_eq!(r.sched.deadline(EventKind::Kbc), None);
    }

    #[test]
    fn self_test_answers_55_at_once_and_sets_sys() {
        let mut r = Rig::new();
        r.cmd(CMD_SELF_TEST);
        let st = r.status();
        assert_ne!(st & STATUS_OBF, 0, "controller replies need no wire time");
        assert_ne!(st & STATUS_SYS, 0);
        assert_ne!(st & STATUS_A2, 0, "last write was a command");
        assert_eq!(r.read(KBC_DATA), SELF_TEST_OK);
        assert_eq!(r.status() & STATUS_OBF, 0);
        // Reading again gives the stale byte without setting OBF.
        assert_eq!(r.read(KBC_DATA), SELF_TEST_OK);
        assert_eq!(r.status() & STATUS_OBF, 0);
        assert_ne!(r.kbc.command_byte() & CB_SYS, 0);
    }

    #[test]
    fn interface_tests_and_password_check() {
        let mut r = Rig::new();
        for (c, want) in [
            (CMD_KBD_TEST, INTERFACE_OK),
            (CMD_AUX_TEST, INTERFACE_OK),
            (CMD_PASSWORD_CHECK, PASSWORD_NONE),
            (CMD_READ_INPUT, INPUT_PORT),
        ] {
            r.cmd(c);
            assert_eq!(r.next_byte(), Some(want), "command {c:#x}");
        }
        // Password load swallows bytes up to a zero, then data goes to the
        // keyboard again.
        r.cmd(CMD_PASSWORD_LOAD);
        r.data(0x41);
        r.data(0x42);
        r.data(0x00);
        assert_eq!(r.drain(), Vec::<u8>::new());
        r.data(KBD_ECHO);
        assert_eq!(r.drain(), vec![KBD_ECHO]);
    }

    #[test]
    fn command_byte_and_ram_read_back() {
        let mut r = Rig::new();
        r.cmd(CMD_WRITE_RAM);
        assert_ne!(r.status() & STATUS_A2, 0);
        r.data(0x65);
        assert_eq!(r.status() & STATUS_A2, 0, "last write was data");
        assert_eq!(r.kbc.command_byte(), 0x65);
        assert_ne!(r.status() & STATUS_SYS, 0, "SYS follows command byte bit 2");
        r.cmd(CMD_READ_RAM);
        assert_eq!(r.next_byte(), Some(0x65));
        // Other RAM bytes.
        r.cmd(CMD_WRITE_RAM | 0x05);
        r.data(0x5A);
        r.cmd(CMD_READ_RAM | 0x05);
        assert_eq!(r.next_byte(), Some(0x5A));
        r.cmd(CMD_READ_RAM | 0x1F);
        assert_eq!(r.next_byte(), Some(0));
        // Clearing bit 2 clears SYS.
        r.cmd(CMD_WRITE_RAM);
        r.data(0x61);
        assert_eq!(r.status() & STATUS_SYS, 0);
    }

    #[test]
    fn enable_disable_commands_drive_command_byte_clocks_and_test_inputs() {
        let mut r = Rig::with_cb(CB_PC);
        r.cmd(CMD_KBD_DISABLE);
        r.cmd(CMD_AUX_DISABLE);
        assert_eq!(
            r.kbc.command_byte() & (CB_KBD_DISABLE | CB_AUX_DISABLE),
            CB_KBD_DISABLE | CB_AUX_DISABLE
        );
        r.cmd(CMD_READ_OUTPUT);
        let out = r.next_byte().unwrap();
        assert_eq!(out & (OUT_KBD_CLOCK | OUT_AUX_CLOCK), 0, "clocks held low");
        r.cmd(CMD_READ_TEST);
        assert_eq!(r.next_byte().unwrap() & TEST_KBD_CLOCK, 0);
        r.cmd(CMD_KBD_ENABLE);
        r.cmd(CMD_AUX_ENABLE);
        assert_eq!(r.kbc.command_byte() & (CB_KBD_DISABLE | CB_AUX_DISABLE), 0);
        r.cmd(CMD_READ_OUTPUT);
        let out = r.next_byte().unwrap();
        assert_eq!(
            out & (OUT_KBD_CLOCK | OUT_AUX_CLOCK),
            OUT_KBD_CLOCK | OUT_AUX_CLOCK
        );
        r.cmd(CMD_READ_TEST);
        assert_ne!(r.next_byte().unwrap() & TEST_KBD_CLOCK, 0);
        // The rest of the command byte was left alone.
        assert_eq!(r.kbc.command_byte(), CB_PC);
    }

    #[test]
    fn a20_through_the_output_port_and_dd_df() {
        let mut r = Rig::new();
        r.cmd(CMD_WRITE_OUTPUT);
        r.data(0xDD);
        assert_eq!(r.signals.take().a20, Some(false));
        assert!(!r.kbc.a20());
        r.cmd(CMD_READ_OUTPUT);
        assert_eq!(r.next_byte().unwrap() & OUT_A20, 0);
        r.cmd(CMD_WRITE_OUTPUT);
        r.data(0xDF);
        let s = r.signals.take();
        assert_eq!(s.a20, Some(true));
        assert!(!s.reset, "bit 0 set: no reset");
        r.cmd(CMD_READ_OUTPUT);
        assert_ne!(r.next_byte().unwrap() & OUT_A20, 0);
        r.cmd(CMD_A20_OFF);
        assert_eq!(r.signals.take().a20, Some(false));
        r.cmd(CMD_A20_ON);
        assert_eq!(r.signals.take().a20, Some(true));
        assert!(r.kbc.a20());
        // None of these put anything in the output buffer.
        assert_eq!(r.status() & STATUS_OBF, 0);
    }

    #[test]
    fn cpu_reset_through_the_output_port() {
        let mut r = Rig::new();
        r.cmd(0xFE);
        assert!(r.signals.take().reset, "0xFE pulses the reset line");
        r.cmd(0xFF);
        assert!(!r.signals.take().reset, "0xFF pulses nothing");
        r.cmd(0xFD);
        assert!(!r.signals.take().reset, "0xFD pulses A20 only");
        r.cmd(0xF0);
        assert!(r.signals.take().reset, "0xF0 pulses bits 0-3");
        r.cmd(CMD_WRITE_OUTPUT);
        r.data(0xDE);
        let s = r.signals.take();
        assert!(s.reset, "output port bit 0 written low");
        assert_eq!(s.a20, Some(true));
        // The line reads back high: the reset was a pulse.
        r.cmd(CMD_READ_OUTPUT);
        assert_ne!(r.next_byte().unwrap() & OUT_RESET, 0);
    }

    #[test]
    fn d2_and_d3_write_the_output_buffer_as_each_device() {
        let mut r = Rig::with_cb(CB_PC | CB_AUX_INT);
        r.irq.take_rising();
        r.cmd(CMD_WRITE_KBD_OBUF);
        r.data(0x42);
        assert_eq!(r.status() & (STATUS_OBF | STATUS_AUX_OBF), STATUS_OBF);
        assert!(r.irq.is_high(KBD_IRQ) && !r.irq.is_high(AUX_IRQ));
        r.cmd(CMD_READ_OUTPUT);
        // The output buffer was full: the reply waits for the read.
        assert_eq!(r.read(KBC_DATA), 0x42, "no translation of 0xD2 bytes");
        let out = r.next_byte().unwrap();
        assert_ne!(out & OUT_KBD_IRQ, 0, "the reply itself raised IRQ1");
        r.cmd(CMD_WRITE_AUX_OBUF);
        r.data(0x99);
        assert_eq!(
            r.status() & (STATUS_OBF | STATUS_AUX_OBF),
            STATUS_OBF | STATUS_AUX_OBF
        );
        assert!(r.irq.is_high(AUX_IRQ) && !r.irq.is_high(KBD_IRQ));
        assert_eq!(r.read(KBC_DATA), 0x99);
        assert!(!r.irq.is_high(AUX_IRQ));
    }

    #[test]
    fn a_new_command_cancels_one_waiting_for_data() {
        let mut r = Rig::new();
        r.cmd(CMD_WRITE_OUTPUT);
        r.cmd(CMD_READ_RAM);
        assert_eq!(r.next_byte(), Some(POWER_ON_COMMAND_BYTE));
        // The data byte now goes to the keyboard, not the output port.
        r.data(KBD_ECHO);
        assert_eq!(r.signals.take().a20, None);
        assert_eq!(r.drain(), vec![KBD_ECHO]);
    }

    #[test]
    fn unknown_commands_and_ports_are_harmless() {
        let mut r = Rig::new();
        for c in [0x00, 0x10, 0x80, 0xB0, 0xC8, 0xE5] {
            r.cmd(c);
        }
        assert_eq!(r.status() & STATUS_OBF, 0);
        assert_eq!(r.read(0x62), FLOATING_BUS);
        r.write(0x62, 0x12);
        assert!(!r.signals.any());
    }

    #[test]
    fn random_port_traffic_never_panics() {
        let mut r = Rig::with_cb(CB_PC | CB_AUX_INT);
        let mut seed: u32 = 0x1234_5678;
        for _ in 0..20_000u64 {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let v = (seed >> 24) as u8;
            match (seed >> 8) % 8 {
                0 | 1 => r.cmd(v),
                2 | 3 => r.data(v),
                4 => {
                    r.read(KBC_DATA);
                }
                5 => r.key(ALL_KEYS[usize::from(v) % ALL_KEYS.len()], v & 1 == 0),
                6 => r.mouse(i32::from(v as i8) * 3, -i32::from(v as i8), v),
                _ => r.run_to(r.now.0 + u64::from(v) * 10),
            }
            r.signals.take();
        }
        let mut text = Vec::new();
        r.kbc.inspect(&mut text).unwrap();
    }

    // ---- Delivery timing and interrupts ----

    #[test]
    fn device_bytes_take_a_wire_time_and_one_interrupt_each() {
        let mut r = Rig::with_cb(CB_PC);
        r.irq.take_rising();
        r.tap(Key::A);
        assert!(!r.kbc.input_idle());
        assert_eq!(r.sched.deadline(EventKind::Kbc), Some(Cycles(BYTE)));
        r.run_to(BYTE - 1);
        assert_eq!(r.status() & STATUS_OBF, 0);
        assert!(!r.irq.is_high(KBD_IRQ));
        r.run_to(BYTE);
        assert_ne!(r.status() & STATUS_OBF, 0);
        assert!(r.irq.is_high(KBD_IRQ));
        assert_eq!(r.irq.take_rising(), 1 << KBD_IRQ);
        // Nothing more arrives while the buffer is full.
        r.run_to(10 * BYTE);
        assert_eq!(r.sched.deadline(EventKind::Kbc), None);
        assert_eq!(r.read(KBC_DATA), 0x1E, "A make, set 1");
        assert!(!r.irq.is_high(KBD_IRQ), "the read lowers IRQ1");
        assert_eq!(r.status() & STATUS_OBF, 0);
        // The break (set 2 F0 1C) starts one wire time after the read; the
        // translator swallows the F0, so 0x9E arrives after two wire times,
        // as its own edge.
        assert_eq!(r.sched.deadline(EventKind::Kbc), Some(Cycles(11 * BYTE)));
        r.run_to(11 * BYTE);
        assert_eq!(r.status() & STATUS_OBF, 0);
        assert_eq!(r.irq.take_rising(), 0);
        r.run_to(12 * BYTE);
        assert_eq!(r.irq.take_rising(), 1 << KBD_IRQ);
        assert_eq!(r.read(KBC_DATA), 0x9E, "A break, set 1");
        assert!(!r.irq.is_high(KBD_IRQ));
        assert!(r.kbc.input_idle());
        assert_eq!(r.sched.deadline(EventKind::Kbc), None);
    }

    #[test]
    fn interrupt_enable_bits_gate_the_lines() {
        let mut r = Rig::with_cb(CB_XLAT);
        r.key(Key::Esc, true);
        r.run_to(BYTE);
        assert_ne!(r.status() & STATUS_OBF, 0);
        assert!(!r.irq.is_high(KBD_IRQ), "IRQ1 disabled in the command byte");
        // Enabling it while the buffer is full raises the line.
        r.cmd(CMD_WRITE_RAM);
        r.data(CB_XLAT | CB_KBD_INT);
        assert!(r.irq.is_high(KBD_IRQ));
        assert_eq!(r.read(KBC_DATA), 0x01);
        assert!(!r.irq.is_high(KBD_IRQ));
    }

    #[test]
    fn controller_reply_goes_ahead_of_a_byte_on_the_wire() {
        let mut r = Rig::with_cb(CB_PC);
        r.key(Key::B, true);
        r.run_to(BYTE / 2);
        r.cmd(CMD_READ_RAM);
        assert_eq!(r.read(KBC_DATA), CB_PC);
        assert_eq!(r.next_byte(), Some(0x30), "B make follows");
        assert_eq!(r.now, Cycles(BYTE));
    }

    #[test]
    fn disabled_keyboard_holds_its_bytes() {
        let mut r = Rig::with_cb(CB_PC);
        r.cmd(CMD_KBD_DISABLE);
        r.tap(Key::Z);
        r.run_to(100 * BYTE);
        assert_eq!(r.status() & STATUS_OBF, 0);
        assert_eq!(r.sched.deadline(EventKind::Kbc), None);
        assert!(!r.kbc.input_idle());
        // Controller commands still answer.
        r.cmd(CMD_READ_RAM);
        assert_eq!(r.next_byte(), Some(CB_PC | CB_KBD_DISABLE));
        r.cmd(CMD_KBD_ENABLE);
        assert_eq!(
            r.sched.deadline(EventKind::Kbc),
            Some(Cycles(100 * BYTE + BYTE))
        );
        assert_eq!(r.drain(), vec![0x2C, 0xAC]);
        // The command byte's bit 4 does the same.
        r.cmd(CMD_WRITE_RAM);
        r.data(CB_PC | CB_KBD_DISABLE);
        r.tap(Key::X);
        assert_eq!(r.drain(), Vec::<u8>::new());
        r.cmd(CMD_WRITE_RAM);
        r.data(CB_PC);
        assert_eq!(r.drain(), vec![0x2D, 0xAD]);
    }

    #[test]
    fn disabling_mid_byte_holds_it() {
        let mut r = Rig::with_cb(CB_PC);
        r.key(Key::C, true);
        r.run_to(BYTE / 2);
        r.cmd(CMD_KBD_DISABLE);
        r.run_to(5 * BYTE);
        assert_eq!(r.status() & STATUS_OBF, 0);
        r.cmd(CMD_KBD_ENABLE);
        assert_eq!(r.drain(), vec![0x2E]);
    }

    #[test]
    fn input_idle_paces_scripted_typing() {
        let mut r = Rig::with_cb(CB_PC);
        assert!(r.kbc.input_idle());
        r.key(Key::Enter, true);
        assert!(!r.kbc.input_idle(), "byte on the wire");
        r.run_to(BYTE);
        assert!(!r.kbc.input_idle(), "byte unread in the output buffer");
        r.read(KBC_DATA);
        assert!(r.kbc.input_idle());
        // Mouse traffic does not count.
        r.aux(AUX_ENABLE);
        r.mouse(1, 1, 0);
        assert!(r.kbc.input_idle());
    }

    // ---- Keyboard ----

    #[test]
    fn keyboard_reset_acks_then_sends_bat_after_a_delay() {
        let mut r = Rig::with_cb(CB_SYS | CB_KBD_INT);
        r.data(KBD_RESET);
        assert_eq!(r.sched.deadline(EventKind::Kbc), Some(Cycles(BYTE)));
        assert_eq!(r.next_byte(), Some(ACK));
        assert_eq!(r.now, Cycles(BYTE));
        assert_eq!(
            r.sched.deadline(EventKind::Kbc),
            Some(Cycles(BYTE + BYTE + BAT))
        );
        assert_eq!(r.next_byte(), Some(BAT_OK));
        assert_eq!(r.next_byte(), None);
    }

    #[test]
    fn keyboard_reset_restores_defaults() {
        let mut r = Rig::with_cb(0);
        r.data(KBD_SET_LEDS);
        r.data(LED_CAPS);
        r.data(KBD_SCANCODE_SET);
        r.data(1);
        r.data(KBD_DISABLE);
        r.tap(Key::A);
        assert_eq!(r.drain(), vec![ACK, ACK, ACK, ACK, ACK]);
        assert_eq!(r.kbc.leds(), LED_CAPS);
        r.data(KBD_RESET);
        assert_eq!(r.drain(), vec![ACK, BAT_OK]);
        assert_eq!(r.kbc.leds(), 0);
        r.tap(Key::A);
        assert_eq!(r.drain(), vec![0x1C, 0xF0, 0x1C], "scanning, set 2");
    }

    #[test]
    fn identify_with_and_without_translation() {
        let mut r = Rig::with_cb(0);
        r.data(KBD_IDENTIFY);
        assert_eq!(r.drain(), vec![ACK, 0xAB, 0x83]);
        let mut r = Rig::with_cb(CB_XLAT);
        r.data(KBD_IDENTIFY);
        assert_eq!(r.drain(), vec![ACK, 0xAB, 0x41], "0x83 translates to 0x41");
    }

    #[test]
    fn leds_echo_resend_and_unknown() {
        let mut r = Rig::with_cb(CB_PC);
        r.data(KBD_SET_LEDS);
        assert_eq!(r.drain(), vec![ACK]);
        r.data(LED_NUM | LED_CAPS);
        assert_eq!(r.drain(), vec![ACK]);
        assert_eq!(r.kbc.leds(), LED_NUM | LED_CAPS);
        // A command where the LED byte should be is run as a command.
        r.data(KBD_SET_LEDS);
        r.data(KBD_ECHO);
        assert_eq!(r.drain(), vec![ACK, KBD_ECHO]);
        assert_eq!(r.kbc.leds(), LED_NUM | LED_CAPS);
        // Resend repeats the last byte sent.
        r.data(KBD_RESEND);
        assert_eq!(r.drain(), vec![KBD_ECHO]);
        // Unknown commands get 0xFE.
        r.data(0x01);
        r.data(0xEF);
        assert_eq!(r.drain(), vec![RESEND, RESEND]);
        // Typematic takes its byte.
        r.data(KBD_TYPEMATIC);
        r.data(0x00);
        assert_eq!(r.drain(), vec![ACK, ACK]);
        // Set 3 key type commands are acknowledged, key lists too.
        r.data(KBD_ALL_TYPEMATIC);
        r.data(KBD_KEY_TYPEMATIC);
        r.data(0x1C);
        r.data(0x1B);
        r.data(KBD_ECHO);
        assert_eq!(r.drain(), vec![ACK, ACK, ACK, ACK, KBD_ECHO]);
        let mut text = Vec::new();
        r.kbc.inspect(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("LEDs 110"), "{text}");
    }

    #[test]
    fn scan_code_set_get_and_set() {
        let mut r = Rig::with_cb(0);
        r.data(KBD_SCANCODE_SET);
        r.data(0);
        assert_eq!(
            r.drain(),
            vec![ACK, ACK, 2],
            "the argument is acknowledged too"
        );
        // Through the translator the set number reads 0x41 (set 2).
        r.cmd(CMD_WRITE_RAM);
        r.data(CB_XLAT);
        r.data(KBD_SCANCODE_SET);
        r.data(0);
        assert_eq!(r.drain(), vec![ACK, ACK, 0x41]);
        // Set 3 is not offered.
        r.data(KBD_SCANCODE_SET);
        r.data(3);
        assert_eq!(r.drain(), vec![ACK, RESEND]);
        // Set 1 generated by the keyboard itself.
        r.cmd(CMD_WRITE_RAM);
        r.data(0);
        r.data(KBD_SCANCODE_SET);
        r.data(1);
        assert_eq!(r.drain(), vec![ACK, ACK]);
        r.data(KBD_SCANCODE_SET);
        r.data(0);
        assert_eq!(r.drain(), vec![ACK, ACK, 1]);
        r.tap(Key::A);
        r.tap(Key::Up);
        assert_eq!(r.drain(), vec![0x1E, 0x9E, 0xE0, 0x48, 0xE0, 0xC8]);
        r.key(Key::Pause, true);
        assert_eq!(r.drain(), vec![0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5]);
    }

    #[test]
    fn disable_and_enable_scanning() {
        let mut r = Rig::with_cb(CB_PC);
        r.data(KBD_DISABLE);
        assert_eq!(r.drain(), vec![ACK]);
        r.tap(Key::Q);
        assert_eq!(r.drain(), Vec::<u8>::new());
        assert!(r.kbc.input_idle());
        r.data(KBD_ENABLE);
        r.tap(Key::Q);
        assert_eq!(r.drain(), vec![ACK, 0x10, 0x90]);
    }

    #[test]
    fn enable_clears_queued_keys_but_not_replies() {
        let mut r = Rig::with_cb(CB_PC);
        r.cmd(CMD_KBD_DISABLE);
        r.tap(Key::W);
        r.data(KBD_ECHO);
        r.data(KBD_ENABLE);
        r.cmd(CMD_KBD_ENABLE);
        assert_eq!(r.drain(), vec![KBD_ECHO, ACK]);
    }

    #[test]
    fn set2_raw_codes_plain_extended_and_break() {
        let mut r = Rig::with_cb(0);
        r.tap(Key::A);
        r.tap(Key::Up);
        r.tap(Key::RightCtrl);
        r.tap(Key::KpEnter);
        assert_eq!(
            r.drain(),
            vec![
                0x1C, 0xF0, 0x1C, // A
                0xE0, 0x75, 0xE0, 0xF0, 0x75, // Up
                0xE0, 0x14, 0xE0, 0xF0, 0x14, // right Ctrl
                0xE0, 0x5A, 0xE0, 0xF0, 0x5A, // keypad Enter
            ]
        );
    }

    #[test]
    fn translation_plain_extended_and_break() {
        let mut r = Rig::with_cb(CB_PC);
        r.tap(Key::A);
        r.tap(Key::Up);
        r.tap(Key::Left);
        r.tap(Key::RightCtrl);
        r.tap(Key::LeftCtrl);
        r.tap(Key::F7);
        assert_eq!(
            r.drain(),
            vec![
                0x1E, 0x9E, // A
                0xE0, 0x48, 0xE0, 0xC8, // Up
                0xE0, 0x4B, 0xE0, 0xCB, // Left
                0xE0, 0x1D, 0xE0, 0x9D, // right Ctrl
                0x1D, 0x9D, // left Ctrl
                0x41, 0xC1, // F7 (set 2 0x83)
            ]
        );
    }

    /// Set 1 make codes from the IBM PC/XT/AT keyboard tables.
    #[test]
    fn translation_matches_set1_for_every_kind_of_key() {
        let set1: &[(Key, &[u8])] = &[
            (Key::Esc, &[0x01]),
            (Key::Digit1, &[0x02]),
            (Key::Digit0, &[0x0B]),
            (Key::Backspace, &[0x0E]),
            (Key::Tab, &[0x0F]),
            (Key::Q, &[0x10]),
            (Key::Enter, &[0x1C]),
            (Key::LeftCtrl, &[0x1D]),
            (Key::Backquote, &[0x29]),
            (Key::LeftShift, &[0x2A]),
            (Key::Backslash, &[0x2B]),
            (Key::Slash, &[0x35]),
            (Key::RightShift, &[0x36]),
            (Key::KpStar, &[0x37]),
            (Key::LeftAlt, &[0x38]),
            (Key::Space, &[0x39]),
            (Key::CapsLock, &[0x3A]),
            (Key::F1, &[0x3B]),
            (Key::F10, &[0x44]),
            (Key::NumLock, &[0x45]),
            (Key::ScrollLock, &[0x46]),
            (Key::Kp7, &[0x47]),
            (Key::KpMinus, &[0x4A]),
            (Key::Kp5, &[0x4C]),
            (Key::KpPlus, &[0x4E]),
            (Key::Kp3, &[0x51]),
            (Key::Kp0, &[0x52]),
            (Key::KpPeriod, &[0x53]),
            (Key::NonUsBackslash, &[0x56]),
            (Key::F11, &[0x57]),
            (Key::F12, &[0x58]),
            (Key::KpEnter, &[0xE0, 0x1C]),
            (Key::RightCtrl, &[0xE0, 0x1D]),
            (Key::KpSlash, &[0xE0, 0x35]),
            (Key::RightAlt, &[0xE0, 0x38]),
            (Key::Home, &[0xE0, 0x47]),
            (Key::PageUp, &[0xE0, 0x49]),
            (Key::End, &[0xE0, 0x4F]),
            (Key::Down, &[0xE0, 0x50]),
            (Key::PageDown, &[0xE0, 0x51]),
            (Key::Insert, &[0xE0, 0x52]),
            (Key::Delete, &[0xE0, 0x53]),
            (Key::LeftGui, &[0xE0, 0x5B]),
            (Key::RightGui, &[0xE0, 0x5C]),
            (Key::Menu, &[0xE0, 0x5D]),
        ];
        for &(key, make) in set1 {
            let mut r = Rig::with_cb(CB_XLAT);
            r.key(key, true);
            assert_eq!(r.drain(), make, "{key:?} make");
            r.key(key, false);
            let mut brk = make.to_vec();
            *brk.last_mut().unwrap() |= 0x80;
            assert_eq!(r.drain(), brk, "{key:?} break");
        }
    }

    #[test]
    fn every_key_has_distinct_codes_in_both_sets() {
        let mut seen2 = std::collections::HashSet::new();
        let mut seen1 = std::collections::HashSet::new();
        for key in ALL_KEYS {
            let mut r = Rig::with_cb(0);
            r.key(key, true);
            let make2 = r.drain();
            assert!(seen2.insert(make2.clone()), "{key:?} set 2 {make2:02x?}");
            let mut r = Rig::with_cb(CB_XLAT);
            r.key(key, true);
            let make1 = r.drain();
            assert!(!make1.is_empty());
            assert!(seen1.insert(make1.clone()), "{key:?} set 1 {make1:02x?}");
            // Make codes in set 1 never have bit 7 set, prefixes aside.
            let last = *make1.last().unwrap();
            assert!(last < 0x80 || key == Key::Pause, "{key:?} {make1:02x?}");
        }
        assert_eq!(seen2.len(), ALL_KEYS.len());
    }

    #[test]
    fn pause_sequences() {
        let mut r = Rig::with_cb(0);
        r.tap(Key::Pause);
        assert_eq!(r.drain(), SET2_PAUSE.to_vec(), "no break code");
        let mut r = Rig::with_cb(CB_XLAT);
        r.tap(Key::Pause);
        assert_eq!(r.drain(), vec![0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5]);
        // Ctrl+Pause is Break.
        r.key(Key::LeftCtrl, true);
        r.tap(Key::Pause);
        r.key(Key::LeftCtrl, false);
        assert_eq!(r.drain(), vec![0x1D, 0xE0, 0x46, 0xE0, 0xC6, 0x9D]);
    }

    #[test]
    fn print_screen_sequences() {
        let mut r = Rig::with_cb(0);
        r.tap(Key::PrintScreen);
        assert_eq!(
            r.drain(),
            vec![0xE0, 0x12, 0xE0, 0x7C, 0xE0, 0xF0, 0x7C, 0xE0, 0xF0, 0x12]
        );
        let mut r = Rig::with_cb(CB_XLAT);
        r.tap(Key::PrintScreen);
        assert_eq!(
            r.drain(),
            vec![0xE0, 0x2A, 0xE0, 0x37, 0xE0, 0xB7, 0xE0, 0xAA]
        );
        // With Shift: no fake shift.
        r.key(Key::RightShift, true);
        r.tap(Key::PrintScreen);
        r.key(Key::RightShift, false);
        assert_eq!(r.drain(), vec![0x36, 0xE0, 0x37, 0xE0, 0xB7, 0xB6]);
        // With Alt: SysRq.
        r.key(Key::LeftAlt, true);
        r.tap(Key::PrintScreen);
        r.key(Key::LeftAlt, false);
        assert_eq!(r.drain(), vec![0x38, 0x54, 0xD4, 0xB8]);
    }

    #[test]
    fn translation_can_be_switched_off() {
        let mut r = Rig::with_cb(CB_SYS | CB_KBD_INT);
        r.tap(Key::Digit5);
        assert_eq!(r.drain(), vec![0x2E, 0xF0, 0x2E]);
    }

    #[test]
    fn overrun_is_reported_once() {
        let mut r = Rig::with_cb(0);
        for _ in 0..KBD_BUFFER_MAX {
            r.tap(Key::A);
        }
        let bytes = r.drain();
        let overruns = bytes.iter().filter(|&&b| b == KBD_OVERRUN_SET2).count();
        assert_eq!(overruns, 1);
        assert_eq!(*bytes.last().unwrap(), KBD_OVERRUN_SET2);
        assert!(bytes.len() <= KBD_BUFFER_MAX + 1);
        // Set 1's overrun through the translator is 0xFF too.
        assert_eq!(xlat_set2_to_set1(KBD_OVERRUN_SET2), KBD_OVERRUN_SET1);
    }

    // ---- Mouse ----

    /// A rig with both interrupts on and mouse reporting enabled.
    fn mouse_rig() -> Rig {
        let mut r = Rig::with_cb(CB_PC | CB_AUX_INT);
        r.aux(AUX_ENABLE);
        assert_eq!(r.next_with_source(), Some((ACK, true)));
        r
    }

    #[test]
    fn mouse_ack_comes_as_aux_data_on_irq12() {
        let mut r = Rig::with_cb(CB_PC | CB_AUX_INT);
        r.irq.take_rising();
        r.aux(AUX_GET_ID);
        r.run_to(BYTE);
        let st = r.status();
        assert_eq!(
            st & (STATUS_OBF | STATUS_AUX_OBF),
            STATUS_OBF | STATUS_AUX_OBF
        );
        assert!(r.irq.is_high(AUX_IRQ));
        assert!(!r.irq.is_high(KBD_IRQ));
        assert_eq!(r.read(KBC_DATA), ACK);
        assert!(!r.irq.is_high(AUX_IRQ));
        assert_eq!(r.next_with_source(), Some((AUX_ID_PS2, true)));
        assert_eq!(r.irq.take_rising(), 1 << AUX_IRQ);
    }

    #[test]
    fn movement_packets_with_signs_and_overflow() {
        let mut r = mouse_rig();
        // Right 5, up 3 (host dy negative), left button.
        r.mouse(5, -3, 0x01);
        assert_eq!(r.drain(), vec![PKT_ALWAYS_ONE | PKT_LEFT, 5, 3]);
        // Left 10, down 20, right and middle buttons.
        r.mouse(-10, 20, 0x06);
        assert_eq!(
            r.drain(),
            vec![
                PKT_ALWAYS_ONE | PKT_RIGHT | PKT_MIDDLE | PKT_X_SIGN | PKT_Y_SIGN,
                0xF6,
                0xEC
            ]
        );
        // Limits of the 9-bit range are no overflow.
        r.mouse(255, 256, 0);
        assert_eq!(r.drain(), vec![PKT_ALWAYS_ONE | PKT_Y_SIGN, 0xFF, 0x00]);
        // Beyond it: overflow bits, values pinned.
        r.mouse(300, -300, 0);
        assert_eq!(
            r.drain(),
            vec![PKT_ALWAYS_ONE | PKT_X_OVERFLOW | PKT_Y_OVERFLOW, 0xFF, 0xFF]
        );
        r.mouse(-1000, 0, 0);
        assert_eq!(
            r.drain(),
            vec![PKT_ALWAYS_ONE | PKT_X_OVERFLOW | PKT_X_SIGN, 0x00, 0x00]
        );
        // Nothing changed: no packet.
        r.mouse(0, 0, 0);
        assert_eq!(r.drain(), Vec::<u8>::new());
        // A button change alone is reported.
        r.mouse(0, 0, 0x01);
        assert_eq!(r.drain(), vec![PKT_ALWAYS_ONE | PKT_LEFT, 0, 0]);
    }

    #[test]
    fn packet_bytes_each_take_an_interrupt() {
        let mut r = mouse_rig();
        r.irq.take_rising();
        r.mouse(1, 1, 0);
        for _ in 0..3 {
            let (_, aux) = r.next_with_source().unwrap();
            assert!(aux);
            assert_eq!(r.irq.take_rising(), 1 << AUX_IRQ);
        }
        assert_eq!(r.next_byte(), None);
    }

    #[test]
    fn no_packets_unless_reporting() {
        let mut r = Rig::with_cb(CB_PC | CB_AUX_INT);
        r.mouse(4, 4, 1);
        assert_eq!(r.drain(), Vec::<u8>::new());
        r.aux(AUX_ENABLE);
        r.aux(AUX_DISABLE);
        r.mouse(4, 4, 0);
        assert_eq!(r.drain(), vec![ACK, ACK]);
    }

    #[test]
    fn disabled_mouse_clock_holds_packets_and_keyboard_goes_first() {
        let mut r = mouse_rig();
        r.cmd(CMD_AUX_DISABLE);
        r.mouse(2, 0, 0);
        r.run_to(r.now.0 + 10 * BYTE);
        assert_eq!(r.status() & STATUS_OBF, 0);
        r.key(Key::A, true);
        r.cmd(CMD_AUX_ENABLE);
        assert_eq!(r.next_with_source(), Some((0x1E, false)));
        assert_eq!(r.next_with_source(), Some((PKT_ALWAYS_ONE, true)));
        assert_eq!(r.next_with_source(), Some((2, true)));
        assert_eq!(r.next_with_source(), Some((0, true)));
        assert_eq!(r.next_with_source(), None);
    }

    #[test]
    fn mouse_reset_sends_ack_bat_and_id() {
        let mut r = Rig::with_cb(CB_PC | CB_AUX_INT);
        r.aux(AUX_SET_RATE);
        r.aux(40);
        r.aux(AUX_RESET);
        assert_eq!(r.next_byte(), Some(ACK));
        assert_eq!(r.next_byte(), Some(ACK));
        assert_eq!(r.next_byte(), Some(ACK));
        let t = r.now.0;
        assert_eq!(r.next_byte(), Some(BAT_OK));
        assert_eq!(r.now.0, t + BYTE + BAT);
        assert_eq!(r.next_byte(), Some(AUX_ID_PS2));
        r.aux(AUX_STATUS);
        assert_eq!(
            r.drain(),
            vec![ACK, 0, AUX_RESOLUTION_DEFAULT, AUX_RATE_DEFAULT]
        );
    }

    #[test]
    fn status_request_reports_settings_and_buttons() {
        let mut r = mouse_rig();
        r.aux(AUX_SCALING_2_1);
        r.aux(AUX_SET_RESOLUTION);
        r.aux(3);
        r.aux(AUX_SET_RATE);
        r.aux(40);
        assert_eq!(r.drain(), vec![ACK; 5]);
        r.mouse(0, 0, 0x05); // left + middle
        r.drain();
        r.aux(AUX_SET_REMOTE);
        r.aux(AUX_STATUS);
        assert_eq!(
            r.drain(),
            vec![
                ACK,
                ACK,
                AUX_ST_REMOTE | AUX_ST_ENABLED | AUX_ST_SCALING | AUX_ST_LEFT | AUX_ST_MIDDLE,
                3,
                40
            ]
        );
        // Bad resolution and rate ask for a resend and change nothing.
        r.aux(AUX_SET_RESOLUTION);
        r.aux(4);
        r.aux(AUX_SET_RATE);
        r.aux(33);
        r.aux(AUX_DEFAULTS);
        r.aux(AUX_STATUS);
        assert_eq!(
            r.drain(),
            vec![
                ACK,
                RESEND,
                ACK,
                RESEND,
                ACK,
                ACK,
                AUX_ST_LEFT | AUX_ST_MIDDLE,
                AUX_RESOLUTION_DEFAULT,
                AUX_RATE_DEFAULT
            ]
        );
    }

    #[test]
    fn scaling_2_1_in_stream_mode() {
        let mut r = mouse_rig();
        r.aux(AUX_SCALING_2_1);
        r.drain();
        for (d, want) in [(1, 1u8), (2, 1), (3, 3), (4, 6), (5, 9), (10, 20)] {
            r.mouse(d, 0, 0);
            assert_eq!(r.drain(), vec![PKT_ALWAYS_ONE, want, 0], "{d}");
        }
        r.mouse(-4, 0, 0);
        assert_eq!(r.drain(), vec![PKT_ALWAYS_ONE | PKT_X_SIGN, 0xFA, 0]);
        r.aux(AUX_SCALING_1_1);
        r.mouse(4, 0, 0);
        assert_eq!(r.drain(), vec![ACK, PKT_ALWAYS_ONE, 4, 0]);
    }

    #[test]
    fn remote_mode_accumulates_until_read_data() {
        let mut r = mouse_rig();
        r.aux(AUX_SET_REMOTE);
        assert_eq!(r.drain(), vec![ACK]);
        r.mouse(3, -4, 0);
        r.mouse(7, -6, 0x02);
        assert_eq!(r.drain(), Vec::<u8>::new());
        r.aux(AUX_READ_DATA);
        assert_eq!(r.drain(), vec![ACK, PKT_ALWAYS_ONE | PKT_RIGHT, 10, 10]);
        r.aux(AUX_READ_DATA);
        assert_eq!(r.drain(), vec![ACK, PKT_ALWAYS_ONE | PKT_RIGHT, 0, 0]);
        // Resend repeats the last packet.
        r.aux(AUX_RESEND);
        assert_eq!(r.drain(), vec![ACK, PKT_ALWAYS_ONE | PKT_RIGHT, 0, 0]);
        r.aux(AUX_SET_STREAM);
        r.mouse(1, 0, 0x02);
        assert_eq!(r.drain(), vec![ACK, PKT_ALWAYS_ONE | PKT_RIGHT, 1, 0]);
    }

    #[test]
    fn wrap_mode_echoes() {
        let mut r = mouse_rig();
        r.aux(AUX_SET_WRAP);
        r.aux(0x12);
        r.aux(AUX_GET_ID);
        r.mouse(5, 5, 0);
        r.aux(AUX_RESET_WRAP);
        r.aux(AUX_GET_ID);
        assert_eq!(r.drain(), vec![ACK, 0x12, AUX_GET_ID, ACK, ACK, AUX_ID_PS2]);
    }

    #[test]
    fn intellimouse_knocks() {
        let mut r = mouse_rig();
        let knock = |r: &mut Rig, rates: [u8; 3]| {
            for rate in rates {
                r.aux(AUX_SET_RATE);
                r.aux(rate);
            }
            r.aux(AUX_GET_ID);
            let bytes = r.drain();
            assert_eq!(bytes[..6], [ACK; 6]);
            bytes[7]
        };
        // The wrong order is no knock.
        assert_eq!(knock(&mut r, [100, 200, 80]), AUX_ID_PS2);
        assert_eq!(knock(&mut r, [200, 200, 80]), AUX_ID_PS2);
        assert_eq!(knock(&mut r, KNOCK_WHEEL), AUX_ID_WHEEL);
        r.with(|k, cx| k.mouse_wheel_event(1, 0, 2, 0, cx));
        assert_eq!(r.drain(), vec![PKT_ALWAYS_ONE, 1, 0, 2]);
        r.with(|k, cx| k.mouse_wheel_event(0, 0, -20, 0, cx));
        assert_eq!(
            r.drain(),
            vec![PKT_ALWAYS_ONE, 0, 0, 0xF8],
            "wheel pinned to -8"
        );
        r.mouse(-1, 0, 0);
        assert_eq!(r.drain(), vec![PKT_ALWAYS_ONE | PKT_X_SIGN, 0xFF, 0, 0]);
        assert_eq!(knock(&mut r, KNOCK_FIVE_BUTTONS), AUX_ID_FIVE_BUTTONS);
        r.with(|k, cx| k.mouse_wheel_event(0, 0, -1, 0x18, cx));
        assert_eq!(
            r.drain(),
            vec![PKT_ALWAYS_ONE, 0, 0, 0x0F | PKT4_BUTTON4 | PKT4_BUTTON5]
        );
        // Reset goes back to a plain mouse.
        r.aux(AUX_RESET);
        r.aux(AUX_GET_ID);
        assert_eq!(r.drain(), vec![ACK, BAT_OK, AUX_ID_PS2, ACK, AUX_ID_PS2]);
    }

    #[test]
    fn unknown_mouse_command_is_answered_fe() {
        let mut r = mouse_rig();
        r.aux(0x01);
        r.aux(0xED);
        assert_eq!(r.drain(), vec![RESEND, RESEND]);
    }

    // ---- Resets, snapshots, inspect ----

    #[test]
    fn hard_reset_keeps_the_controller_and_drops_bytes_in_flight() {
        let mut r = Rig::with_cb(CB_PC);
        r.cmd(CMD_A20_OFF);
        r.data(KBD_SET_LEDS);
        r.data(LED_NUM);
        r.drain();
        r.tap(Key::A);
        r.run_to(r.now.0 + BYTE);
        assert_ne!(r.status() & STATUS_OBF, 0);
        r.kbc.reset(ResetKind::Hard);
        r.sched.cancel(EventKind::Kbc);
        assert_eq!(r.status() & STATUS_OBF, 0);
        assert_ne!(r.status() & STATUS_SYS, 0, "warm boot visible");
        assert_eq!(r.kbc.command_byte(), CB_PC);
        assert!(!r.kbc.a20());
        assert_eq!(r.kbc.leds(), LED_NUM);
        assert!(r.kbc.input_idle());
        assert_eq!(r.drain(), Vec::<u8>::new());
        r.kbc.reset(ResetKind::PowerOn);
        assert_eq!(r.status() & STATUS_SYS, 0);
        assert_eq!(r.kbc.command_byte(), POWER_ON_COMMAND_BYTE);
        assert!(r.kbc.a20());
        assert_eq!(r.kbc.leds(), 0);
    }

    #[test]
    fn snapshot_round_trip() {
        let mut r = mouse_rig();
        r.tap(Key::Home);
        r.mouse(1, 2, 0);
        r.run_to(r.now.0 + BYTE);
        let json = serde_json::to_string(&r.kbc).unwrap();
        let copy: Kbc8042 = serde_json::from_str(&json).unwrap();
        let before = r.drain();
        r.kbc = copy;
        r.sched.cancel(EventKind::Kbc);
        // The copy carries the same bytes (its pending event is re-armed by
        // the read that empties the buffer).
        let mut after = vec![r.read(KBC_DATA)];
        after.extend(r.drain());
        assert_eq!(before, after);
    }

    #[test]
    fn inspect_shows_the_state() {
        let mut r = mouse_rig();
        r.tap(Key::A);
        let mut text = Vec::new();
        r.kbc.inspect(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("command byte 0x47"), "{text}");
        assert!(text.contains("keyboard byte due"), "{text}");
        assert!(text.contains("reporting on"), "{text}");
        assert!(text.contains("set 2"), "{text}");
    }

    // ---- Host-side look-ups ----

    #[test]
    fn keys_for_char_us_layout() {
        let cases = [
            ('a', Key::A, false),
            ('Z', Key::Z, true),
            ('0', Key::Digit0, false),
            ('!', Key::Digit1, true),
            ('@', Key::Digit2, true),
            (')', Key::Digit0, true),
            ('-', Key::Minus, false),
            ('_', Key::Minus, true),
            ('+', Key::Equal, true),
            ('{', Key::LeftBracket, true),
            ('\\', Key::Backslash, false),
            ('|', Key::Backslash, true),
            (':', Key::Semicolon, true),
            ('"', Key::Quote, true),
            ('<', Key::Comma, true),
            ('?', Key::Slash, true),
            ('~', Key::Backquote, true),
            (' ', Key::Space, false),
            ('\n', Key::Enter, false),
            ('\t', Key::Tab, false),
            ('\x08', Key::Backspace, false),
            ('\x1b', Key::Esc, false),
        ];
        for (c, key, shift) in cases {
            assert_eq!(keys_for_char(c), Some((key, shift)), "{c:?}");
        }
        assert_eq!(keys_for_char('é'), None);
        assert_eq!(keys_for_char('\x01'), None);
        // Every printable ASCII character is typeable.
        for c in ' '..='~' {
            assert!(keys_for_char(c).is_some(), "{c:?}");
        }
        assert_eq!(Kbc8042::keys_for_char('Q'), Some((Key::Q, true)));
    }

    #[test]
    fn key_names() {
        for (name, key) in [
            ("enter", Key::Enter),
            ("esc", Key::Esc),
            ("escape", Key::Esc),
            ("backspace", Key::Backspace),
            ("tab", Key::Tab),
            ("space", Key::Space),
            ("f1", Key::F1),
            ("f12", Key::F12),
            ("up", Key::Up),
            ("down", Key::Down),
            ("left", Key::Left),
            ("right", Key::Right),
            ("home", Key::Home),
            ("end", Key::End),
            ("pgup", Key::PageUp),
            ("pgdn", Key::PageDown),
            ("ins", Key::Insert),
            ("del", Key::Delete),
            ("ctrl", Key::LeftCtrl),
            ("alt", Key::LeftAlt),
            ("shift", Key::LeftShift),
            ("lctrl", Key::LeftCtrl),
            ("rctrl", Key::RightCtrl),
            ("ralt", Key::RightAlt),
            ("rshift", Key::RightShift),
            ("a", Key::A),
            ("7", Key::Digit7),
            ("kp7", Key::Kp7),
            ("kpenter", Key::KpEnter),
            ("printscreen", Key::PrintScreen),
            ("pause", Key::Pause),
            ("F5", Key::F5),
        ] {
            assert_eq!(key_from_name(name), Some(key), "{name}");
        }
        assert_eq!(key_from_name("nope"), None);
        assert_eq!(key_from_name(""), None);
        // Every canonical name round-trips.
        for key in ALL_KEYS {
            assert_eq!(Kbc8042::key_from_name(key.name()), Some(key));
        }
    }
}
