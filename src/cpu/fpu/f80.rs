//! The x87 double extended-precision format in software: 80-bit values, rounding, and the
//! basic arithmetic of the FPU.
//!
//! A value is kept exactly as the hardware stores it: a sign, a 15-bit biased exponent and a
//! 64-bit significand with an explicit integer bit (J, bit 63). All arithmetic is done on the
//! integer significands with `u128` intermediates and rounded once, to the precision the
//! control word asks for (24, 53 or 64 bits) with the full extended exponent range — so
//! there is no double rounding when precision control is below 64 bits, as on the hardware.
//!
//! Encodings (Intel SDM Vol. 1, 8.2.2 and table 8-3):
//! - exponent 0, J = 0: zero or denormal; exponent 0, J = 1: *pseudo-denormal* — the 387
//!   and later accept it as an operand (value as with exponent 1) and never produce it;
//! - exponent 1–0x7FFE, J = 1: normal; J = 0: *unnormal*;
//! - exponent 0x7FFF, J = 1: infinity (fraction 0), QNaN (bit 62 set), SNaN;
//!   J = 0: *pseudo-infinity* / *pseudo-NaN*.
//!
//! Unnormals, pseudo-infinities and pseudo-NaNs are unsupported formats on the 387 and later:
//! any arithmetic on them is an invalid operation (IE).
//!
//! Every operation takes an [`Env`]: the control word in force and the exceptions raised so
//! far. An operation returns the value the hardware produces for the masked response; when
//! an exception is unmasked the caller decides (from [`Env::flags`]) whether to store it.
//! Overflow and underflow with the exception unmasked return the result with its exponent
//! wrapped by ±24576 (±192 / ±1536 for single and double), as the hardware delivers it to a
//! register.

use serde::{Deserialize, Serialize};
use std::ops::Neg;

/// Exception flag: invalid operation.
pub const IE: u8 = 0x01;
/// Exception flag: denormal operand.
pub const DE: u8 = 0x02;
/// Exception flag: zero divide.
pub const ZE: u8 = 0x04;
/// Exception flag: overflow.
pub const OE: u8 = 0x08;
/// Exception flag: underflow.
pub const UE: u8 = 0x10;
/// Exception flag: precision (inexact result).
pub const PE: u8 = 0x20;
/// Status flag: stack fault (with IE).
pub const SF: u8 = 0x40;

/// Bias of the extended exponent.
pub const BIAS: i32 = 16383;
/// Smallest exponent of a normal extended value (unbiased).
pub const EMIN: i32 = -16382;
/// Largest exponent of a finite extended value (unbiased).
pub const EMAX: i32 = 16383;

/// An x87 register value: 64-bit significand and sign + 15-bit exponent.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash, Serialize, Deserialize)]
pub struct F80 {
    /// Significand, integer bit at bit 63.
    pub sig: u64,
    /// Sign (bit 15) and biased exponent (bits 0–14).
    pub se: u16,
}

/// What an 80-bit value is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Class {
    /// ±0.
    Zero,
    /// A denormal (exponent 0, J = 0, fraction ≠ 0).
    Denormal,
    /// Exponent 0 with J = 1 (accepted as an operand, with DE).
    PseudoDenormal,
    /// A normal number.
    Normal,
    /// ±∞.
    Infinity,
    /// A quiet NaN.
    QNaN,
    /// A signaling NaN.
    SNaN,
    /// Unnormal, pseudo-infinity or pseudo-NaN: invalid as an operand.
    Unsupported,
}

/// The rounding-control field.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Rounding {
    /// Round to nearest, ties to even (RC = 00).
    Nearest,
    /// Round down, toward −∞ (RC = 01).
    Down,
    /// Round up, toward +∞ (RC = 10).
    Up,
    /// Round toward zero, truncate (RC = 11).
    Zero,
}

impl F80 {
    /// +0.
    pub const ZERO: F80 = F80 { sig: 0, se: 0 };
    /// +1.
    pub const ONE: F80 = F80 {
        sig: 1 << 63,
        se: BIAS as u16,
    };
    /// +∞.
    pub const INFINITY: F80 = F80 {
        sig: 1 << 63,
        se: 0x7FFF,
    };
    /// The QNaN floating-point indefinite (the masked response to an invalid operation).
    pub const INDEFINITE: F80 = F80 {
        sig: 0xC000_0000_0000_0000,
        se: 0xFFFF,
    };

    /// A value from its fields.
    pub const fn new(sign: bool, exp: u16, sig: u64) -> F80 {
        F80 {
            sig,
            se: (sign as u16) << 15 | (exp & 0x7FFF),
        }
    }

    /// The value of its 10 bytes in memory order (significand first, little-endian).
    pub fn from_bytes(b: [u8; 10]) -> F80 {
        let mut s = [0u8; 8];
        s.copy_from_slice(&b[..8]);
        F80 {
            sig: u64::from_le_bytes(s),
            se: u16::from_le_bytes([b[8], b[9]]),
        }
    }

    /// Its 10 bytes in memory order.
    pub fn to_bytes(self) -> [u8; 10] {
        let mut b = [0u8; 10];
        b[..8].copy_from_slice(&self.sig.to_le_bytes());
        b[8..].copy_from_slice(&self.se.to_le_bytes());
        b
    }

    /// The sign bit.
    pub fn sign(self) -> bool {
        self.se & 0x8000 != 0
    }

    /// The biased exponent field.
    pub fn exp(self) -> u16 {
        self.se & 0x7FFF
    }

    /// The same value with the sign cleared (FABS).
    pub fn abs(self) -> F80 {
        F80 {
            sig: self.sig,
            se: self.se & 0x7FFF,
        }
    }

    /// Which kind of value this is.
    pub fn class(self) -> Class {
        let j = self.sig >> 63 != 0;
        let frac = self.sig << 1;
        match self.exp() {
            0 if self.sig == 0 => Class::Zero,
            0 if j => Class::PseudoDenormal,
            0 => Class::Denormal,
            0x7FFF if !j => Class::Unsupported,
            0x7FFF if frac == 0 => Class::Infinity,
            0x7FFF if frac >> 63 != 0 => Class::QNaN,
            0x7FFF => Class::SNaN,
            _ if !j => Class::Unsupported,
            _ => Class::Normal,
        }
    }

    /// Whether this is a NaN (quiet or signaling).
    pub fn is_nan(self) -> bool {
        matches!(self.class(), Class::QNaN | Class::SNaN)
    }

    /// The quiet version of a NaN (bit 62 set).
    pub fn quiet(self) -> F80 {
        F80 {
            sig: self.sig | 1 << 62,
            se: self.se,
        }
    }

    /// An approximation as a host double, for display only (never used in arithmetic).
    pub fn to_f64_lossy(self) -> f64 {
        let s = if self.sign() { -1.0 } else { 1.0 };
        match self.class() {
            Class::Zero => s * 0.0,
            Class::Infinity => s * f64::INFINITY,
            Class::QNaN | Class::SNaN | Class::Unsupported => f64::NAN,
            _ => {
                let e = self.exp().max(1) as i32 - BIAS - 63;
                let half = 2f64.powi(e / 2);
                s * (self.sig as f64) * half * 2f64.powi(e - e / 2)
            }
        }
    }
}

impl Neg for F80 {
    type Output = F80;

    /// The same value with the sign flipped (FCHS).
    fn neg(self) -> F80 {
        F80 {
            sig: self.sig,
            se: self.se ^ 0x8000,
        }
    }
}

/// The control word in force and the exceptions an operation raised.
#[derive(Clone, Copy, Debug)]
pub struct Env {
    /// The control word (masks, precision control, rounding control).
    pub cw: u16,
    /// Exceptions raised (`IE`…`PE`).
    pub flags: u8,
    /// The last rounding was upward in magnitude (becomes C1).
    pub c1: bool,
}

impl Env {
    /// An environment for control word `cw` with nothing raised.
    pub fn new(cw: u16) -> Env {
        Env {
            cw,
            flags: 0,
            c1: false,
        }
    }

    /// The rounding mode.
    pub fn rounding(&self) -> Rounding {
        match (self.cw >> 10) & 3 {
            0 => Rounding::Nearest,
            1 => Rounding::Down,
            2 => Rounding::Up,
            _ => Rounding::Zero,
        }
    }

    /// Significand bits of arithmetic results (precision control; the reserved 01 acts as 53).
    pub fn precision(&self) -> u32 {
        match (self.cw >> 8) & 3 {
            0 => 24,
            3 => 64,
            _ => 53,
        }
    }

    /// Whether exception `e` is masked.
    pub fn masked(&self, e: u8) -> bool {
        self.cw as u8 & e == e
    }

    /// Raises `e`; true when it is unmasked.
    pub fn raise(&mut self, e: u8) -> bool {
        self.flags |= e;
        !self.masked(e)
    }

    /// Whether an unmasked invalid, denormal or zero-divide exception was raised: then the
    /// instruction leaves its destination alone.
    pub fn blocked(&self) -> bool {
        self.flags & !(self.cw as u8) & (IE | DE | ZE) != 0
    }
}

/// A destination format for rounding.
#[derive(Clone, Copy, Debug)]
pub struct Format {
    /// Significand bits.
    pub prec: u32,
    /// Smallest normal exponent.
    pub emin: i32,
    /// Largest finite exponent.
    pub emax: i32,
    /// Exponent wrap of the unmasked overflow and underflow responses.
    pub adjust: i32,
}

impl Format {
    /// The register format at precision `prec`.
    pub const fn ext(prec: u32) -> Format {
        Format {
            prec,
            emin: EMIN,
            emax: EMAX,
            adjust: 24576,
        }
    }
    /// IEEE single.
    pub const SINGLE: Format = Format {
        prec: 24,
        emin: -126,
        emax: 127,
        adjust: 192,
    };
    /// IEEE double.
    pub const DOUBLE: Format = Format {
        prec: 53,
        emin: -1022,
        emax: 1023,
        adjust: 1536,
    };
}

/// A rounded result before it is encoded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Rounded {
    /// ±0.
    Zero(bool),
    /// ±∞.
    Inf(bool),
    /// sign, exponent of significand bit 63, significand (J clear only for denormals, whose
    /// exponent is then the format's `emin`).
    Finite(bool, i32, u64),
}

impl Rounded {
    /// As an 80-bit register value.
    pub fn to_f80(self) -> F80 {
        match self {
            Rounded::Zero(s) => F80::new(s, 0, 0),
            Rounded::Inf(s) => F80::INFINITY.with_sign(s),
            Rounded::Finite(s, e, m) => {
                let field = if m >> 63 == 0 { 0 } else { (e + BIAS) as u16 };
                F80::new(s, field, m)
            }
        }
    }

    /// As IEEE single or double bits (`fmt` must be the format it was rounded to).
    fn to_ieee(self, fmt: Format, ebits: u32) -> u64 {
        let fbits = fmt.prec - 1;
        let sign_at = fbits + ebits;
        let emask = (1u64 << ebits) - 1;
        match self {
            Rounded::Zero(s) => (s as u64) << sign_at,
            Rounded::Inf(s) => (s as u64) << sign_at | emask << fbits,
            Rounded::Finite(s, e, m) => {
                let frac = (m >> (63 - fbits)) & ((1u64 << fbits) - 1);
                let field = if m >> 63 == 0 {
                    0
                } else {
                    (e - fmt.emin + 1) as u64
                };
                (s as u64) << sign_at | field << fbits | frac
            }
        }
    }
}

impl F80 {
    /// The same magnitude with sign `s`.
    pub fn with_sign(self, s: bool) -> F80 {
        F80::new(s, self.exp(), self.sig)
    }
}

/// A finite non-zero operand, unpacked: value = sig × 2^(exp − 63), J set.
#[derive(Clone, Copy, Debug)]
struct Unp {
    sign: bool,
    exp: i32,
    sig: u64,
}

/// Unpacks a finite non-zero value (normal, denormal or pseudo-denormal), normalizing it.
fn unpack(a: F80) -> Unp {
    let e = a.exp().max(1) as i32 - BIAS;
    let lz = a.sig.leading_zeros();
    Unp {
        sign: a.sign(),
        exp: e - lz as i32,
        sig: a.sig << lz,
    }
}

/// Shifts right, OR-ing every bit shifted out into bit 0 (sticky).
fn shr_sticky(x: u128, n: u32) -> u128 {
    if n == 0 {
        x
    } else if n >= 128 {
        (x != 0) as u128
    } else {
        x >> n | ((x & ((1u128 << n) - 1)) != 0) as u128
    }
}

/// Drops the low `drop` bits (1–127) of `x` with rounding: (kept, inexact, incremented).
fn round_bits(x: u128, drop: u32, sign: bool, rc: Rounding) -> (u128, bool, bool) {
    let kept = x >> drop;
    let rem = x & ((1u128 << drop) - 1);
    let half = 1u128 << (drop - 1);
    let inc = rem != 0
        && match rc {
            Rounding::Nearest => rem > half || (rem == half && kept & 1 == 1),
            Rounding::Down => sign,
            Rounding::Up => !sign,
            Rounding::Zero => false,
        };
    (kept + inc as u128, rem != 0, inc)
}

/// Rounds sign × sig × 2^(exp − 127) (`sig` ≠ 0, any normalization) to `fmt`, raising OE,
/// UE and PE and setting C1 as the hardware does. Tininess is detected after rounding.
pub fn round(env: &mut Env, sign: bool, exp: i32, sig: u128, fmt: Format) -> Rounded {
    let lz = sig.leading_zeros();
    let sig = sig << lz;
    let exp = exp - lz as i32;
    let rc = env.rounding();
    let drop = 128 - fmt.prec;
    if exp < fmt.emin {
        let (k, _, _) = round_bits(sig, drop, sign, rc);
        let carried = k >> fmt.prec != 0;
        let tiny = !(carried && exp + 1 >= fmt.emin);
        if tiny {
            if env.raise(UE) {
                return round_normal(env, sign, exp + fmt.adjust, sig, fmt);
            }
            let s = shr_sticky(sig, (fmt.emin - exp) as u32);
            let (k, inexact, up) = round_bits(s, drop, sign, rc);
            env.c1 = up;
            if inexact {
                env.raise(PE);
            } else {
                // A masked underflow is only signalled when the result is also inexact.
                env.flags &= !UE;
            }
            if k == 0 {
                return Rounded::Zero(sign);
            }
            return Rounded::Finite(sign, fmt.emin, (k << (64 - fmt.prec)) as u64);
        }
    }
    round_normal(env, sign, exp, sig, fmt)
}

/// The normal-range half of [`round`] (`sig` normalized).
fn round_normal(env: &mut Env, sign: bool, mut exp: i32, sig: u128, fmt: Format) -> Rounded {
    let rc = env.rounding();
    let (mut k, inexact, up) = round_bits(sig, 128 - fmt.prec, sign, rc);
    if k >> fmt.prec != 0 {
        k >>= 1;
        exp += 1;
    }
    if exp > fmt.emax {
        if env.raise(OE) {
            exp -= fmt.adjust;
        } else {
            env.raise(PE);
            let to_inf = match rc {
                Rounding::Nearest => true,
                Rounding::Down => sign,
                Rounding::Up => !sign,
                Rounding::Zero => false,
            };
            env.c1 = to_inf;
            if to_inf {
                return Rounded::Inf(sign);
            }
            let max = !0u64 << (64 - fmt.prec);
            return Rounded::Finite(sign, fmt.emax, max);
        }
    }
    env.c1 = up;
    if inexact {
        env.raise(PE);
    }
    Rounded::Finite(sign, exp, (k << (64 - fmt.prec)) as u64)
}

/// Rounds an unpacked value to the register format at the control word's precision.
fn round_ext(env: &mut Env, sign: bool, exp: i32, sig: u128) -> F80 {
    let fmt = Format::ext(env.precision());
    round(env, sign, exp, sig, fmt).to_f80()
}

/// The result of an operation on NaNs or unsupported operands, if any (SDM table 4-7):
/// an SNaN is quieted (IE), of two NaNs the larger significand wins, unsupported formats give
/// the indefinite (IE).
fn propagate(env: &mut Env, a: F80, b: Option<F80>) -> Option<F80> {
    let ca = a.class();
    let cb = b.map(|b| b.class());
    if ca == Class::Unsupported || cb == Some(Class::Unsupported) {
        env.raise(IE);
        return Some(F80::INDEFINITE);
    }
    let an = matches!(ca, Class::QNaN | Class::SNaN);
    let bn = matches!(cb, Some(Class::QNaN | Class::SNaN));
    if !an && !bn {
        return None;
    }
    if ca == Class::SNaN || cb == Some(Class::SNaN) {
        env.raise(IE);
    }
    let r = match b {
        Some(b) if an && bn => {
            if (b.sig << 1) > (a.sig << 1) {
                b
            } else {
                a
            }
        }
        Some(b) if bn => b,
        _ => a,
    };
    Some(r.quiet())
}

/// Raises DE when an operand is denormal; true when that stops the operation (unmasked).
fn denormal_check(env: &mut Env, ops: &[F80]) -> bool {
    if ops
        .iter()
        .any(|x| matches!(x.class(), Class::Denormal | Class::PseudoDenormal))
    {
        return env.raise(DE);
    }
    false
}

/// Rounds a value that is already a register value to the control word's precision (the
/// result of `x + 0`).
fn reround(env: &mut Env, x: F80) -> F80 {
    match x.class() {
        Class::Zero | Class::Infinity => x,
        _ => {
            let u = unpack(x);
            round_ext(env, u.sign, u.exp, (u.sig as u128) << 64)
        }
    }
}

/// a + b (FADD); a − b with `sub` (FSUB).
pub fn add(env: &mut Env, a: F80, b: F80, sub: bool) -> F80 {
    if let Some(r) = propagate(env, a, Some(b)) {
        return r;
    }
    let b = if sub { b.neg() } else { b };
    if denormal_check(env, &[a, b]) {
        return F80::INDEFINITE;
    }
    let (ca, cb) = (a.class(), b.class());
    let down = env.rounding() == Rounding::Down;
    match (ca, cb) {
        (Class::Infinity, Class::Infinity) => {
            if a.sign() == b.sign() {
                a
            } else {
                env.raise(IE);
                F80::INDEFINITE
            }
        }
        (Class::Infinity, _) => a,
        (_, Class::Infinity) => b,
        (Class::Zero, Class::Zero) => {
            let s = if a.sign() == b.sign() { a.sign() } else { down };
            F80::new(s, 0, 0)
        }
        (Class::Zero, _) => reround(env, b),
        (_, Class::Zero) => reround(env, a),
        _ => {
            let (mut x, mut y) = (unpack(a), unpack(b));
            if x.exp < y.exp {
                std::mem::swap(&mut x, &mut y);
            }
            let diff = (x.exp - y.exp) as u32;
            let xa = (x.sig as u128) << 63;
            let ya = shr_sticky((y.sig as u128) << 63, diff);
            if x.sign == y.sign {
                round_ext(env, x.sign, x.exp + 1, xa + ya)
            } else {
                let (s, m) = if xa >= ya {
                    (x.sign, xa - ya)
                } else {
                    (y.sign, ya - xa)
                };
                if m == 0 {
                    return F80::new(down, 0, 0);
                }
                round_ext(env, s, x.exp + 1, m)
            }
        }
    }
}

/// a × b (FMUL).
pub fn mul(env: &mut Env, a: F80, b: F80) -> F80 {
    if let Some(r) = propagate(env, a, Some(b)) {
        return r;
    }
    if denormal_check(env, &[a, b]) {
        return F80::INDEFINITE;
    }
    let s = a.sign() ^ b.sign();
    match (a.class(), b.class()) {
        (Class::Infinity, Class::Zero) | (Class::Zero, Class::Infinity) => {
            env.raise(IE);
            F80::INDEFINITE
        }
        (Class::Infinity, _) | (_, Class::Infinity) => F80::INFINITY.with_sign(s),
        (Class::Zero, _) | (_, Class::Zero) => F80::new(s, 0, 0),
        _ => {
            let (x, y) = (unpack(a), unpack(b));
            let p = x.sig as u128 * y.sig as u128;
            round_ext(env, s, x.exp + y.exp + 1, p)
        }
    }
}

/// a ÷ b (FDIV).
pub fn div(env: &mut Env, a: F80, b: F80) -> F80 {
    if let Some(r) = propagate(env, a, Some(b)) {
        return r;
    }
    let s = a.sign() ^ b.sign();
    match (a.class(), b.class()) {
        (Class::Infinity, Class::Infinity) | (Class::Zero, Class::Zero) => {
            env.raise(IE);
            return F80::INDEFINITE;
        }
        _ => {}
    }
    if denormal_check(env, &[a, b]) {
        return F80::INDEFINITE;
    }
    match (a.class(), b.class()) {
        (Class::Infinity, _) => F80::INFINITY.with_sign(s),
        (_, Class::Infinity) | (Class::Zero, _) => F80::new(s, 0, 0),
        (_, Class::Zero) => {
            env.raise(ZE);
            F80::INFINITY.with_sign(s)
        }
        _ => {
            let (x, y) = (unpack(a), unpack(b));
            let (n, d) = ((x.sig as u128) << 64, y.sig as u128);
            let (q1, r1) = (n / d, n % d);
            let (q2, r2) = ((r1 << 64) / d, (r1 << 64) % d);
            let sticky = (r2 != 0) as u128;
            if q1 >> 64 != 0 {
                let m = q1 << 63 | q2 >> 1 | (q2 & 1) | sticky;
                round_ext(env, s, x.exp - y.exp, m)
            } else {
                round_ext(env, s, x.exp - y.exp - 1, q1 << 64 | q2 | sticky)
            }
        }
    }
}

/// Integer square root of a 128-bit value.
pub fn isqrt(n: u128) -> u128 {
    if n == 0 {
        return 0;
    }
    let mut rem = n;
    let mut root: u128 = 0;
    let mut bit: u128 = 1 << ((127 - n.leading_zeros()) & !1);
    while bit != 0 {
        if rem >= root + bit {
            rem -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    root
}

/// √a (FSQRT).
pub fn sqrt(env: &mut Env, a: F80) -> F80 {
    if let Some(r) = propagate(env, a, None) {
        return r;
    }
    match a.class() {
        Class::Zero => return a,
        Class::Infinity if !a.sign() => return a,
        _ if a.sign() => {
            env.raise(IE);
            return F80::INDEFINITE;
        }
        _ => {}
    }
    if denormal_check(env, &[a]) {
        return F80::INDEFINITE;
    }
    let x = unpack(a);
    // value = sig × 2^(exp − 63); take sig << k with (exp − 63 − k) even.
    let e = x.exp - 63;
    let k = if (e - 64) % 2 == 0 { 64 } else { 63 };
    let n = (x.sig as u128) << k;
    let r = isqrt(n);
    let rem = n - r * r;
    let guard = (rem > r) as u128;
    let sticky = (rem != 0) as u128;
    let m = r << 64 | guard << 63 | sticky;
    round_ext(env, false, 63 + (e - k) / 2, m)
}

/// Splits a finite value into an integer magnitude rounded per `rc`: (magnitude, inexact,
/// incremented). Magnitudes beyond 2^100 saturate.
fn round_int(x: Unp, rc: Rounding) -> (u128, bool, bool) {
    if x.exp >= 100 {
        return (u128::MAX, false, false);
    }
    if x.exp >= 63 {
        return ((x.sig as u128) << (x.exp - 63), false, false);
    }
    if x.exp < -1 {
        // |x| < 1/2
        let inc = match rc {
            Rounding::Nearest | Rounding::Zero => false,
            Rounding::Down => x.sign,
            Rounding::Up => !x.sign,
        };
        return (inc as u128, true, inc);
    }
    // Fixed point with 64 fraction bits below the integer part: value = v / 2^64.
    let v = (x.sig as u128) << (x.exp + 1);
    let (k, inexact, inc) = round_bits(v, 64, x.sign, rc);
    (k, inexact, inc)
}

/// FRNDINT: rounds to an integer per the rounding control (not precision control).
pub fn round_to_int(env: &mut Env, a: F80) -> F80 {
    if let Some(r) = propagate(env, a, None) {
        return r;
    }
    match a.class() {
        Class::Zero | Class::Infinity => return a,
        _ => {}
    }
    if denormal_check(env, &[a]) {
        return F80::INDEFINITE;
    }
    let x = unpack(a);
    if x.exp >= 63 {
        return F80::new(x.sign, (x.exp + BIAS) as u16, x.sig);
    }
    let (k, inexact, up) = round_int(x, env.rounding());
    env.c1 = up;
    if inexact {
        env.raise(PE);
    }
    from_magnitude(x.sign, k)
}

/// An exact value ±m (m < 2^64, or 2^64).
fn from_magnitude(sign: bool, m: u128) -> F80 {
    if m == 0 {
        return F80::new(sign, 0, 0);
    }
    let lz = m.leading_zeros();
    let exp = 127 - lz as i32;
    let sig = (m << lz >> 64) as u64;
    F80::new(sign, (exp + BIAS) as u16, sig)
}

/// FILD: an exact integer.
pub fn from_int(v: i64) -> F80 {
    from_magnitude(v < 0, v.unsigned_abs() as u128)
}

/// FIST: the value rounded per RC as an integer of `bits` (16, 32, 64); `None` is an invalid
/// operation (NaN, ∞, out of range) — IE is raised and the caller stores the integer
/// indefinite when it is masked.
pub fn to_int(env: &mut Env, a: F80, bits: u32) -> Option<i64> {
    match a.class() {
        Class::Zero => return Some(0),
        Class::Normal | Class::Denormal | Class::PseudoDenormal => {}
        _ => {
            env.raise(IE);
            return None;
        }
    }
    let x = unpack(a);
    let (k, inexact, up) = round_int(x, env.rounding());
    let limit = 1u128 << (bits - 1);
    if k > limit || (k == limit && !x.sign) {
        env.raise(IE);
        return None;
    }
    env.c1 = up;
    if inexact {
        env.raise(PE);
    }
    let v = k as i128;
    Some(if x.sign { -v } else { v } as i64)
}

/// FLD m32 / m64: an exact conversion from IEEE bits (`single` selects the format). An SNaN
/// is quieted (IE); a denormal raises DE.
pub fn from_ieee(env: &mut Env, bits: u64, single: bool) -> F80 {
    let (fbits, ebits, emin) = if single {
        (23, 8, -126)
    } else {
        (52, 11, -1022)
    };
    let sign = bits >> (fbits + ebits) & 1 != 0;
    let field = (bits >> fbits) & ((1 << ebits) - 1);
    let frac = bits & ((1u64 << fbits) - 1);
    if field == (1 << ebits) - 1 {
        let sig = 1 << 63 | frac << (63 - fbits);
        let v = F80::new(sign, 0x7FFF, sig);
        if frac != 0 && frac >> (fbits - 1) == 0 {
            env.raise(IE);
            return v.quiet();
        }
        return v;
    }
    if field == 0 {
        if frac == 0 {
            return F80::new(sign, 0, 0);
        }
        env.raise(DE);
        let lz = frac.leading_zeros();
        let e = emin - (lz as i32 - (63 - fbits));
        return F80::new(sign, (e + BIAS) as u16, frac << lz);
    }
    let e = field as i32 + emin - 1;
    F80::new(sign, (e + BIAS) as u16, 1 << 63 | frac << (63 - fbits))
}

/// FST m32 / m64: rounds to IEEE single or double bits (`single` selects).
pub fn to_ieee(env: &mut Env, a: F80, single: bool) -> u64 {
    let (fmt, ebits) = if single {
        (Format::SINGLE, 8)
    } else {
        (Format::DOUBLE, 11)
    };
    let fbits = fmt.prec - 1;
    let sign_at = fbits + ebits;
    let emask = (1u64 << ebits) - 1;
    let s = a.sign() as u64;
    match a.class() {
        Class::Unsupported => {
            env.raise(IE);
            1 << sign_at | emask << fbits | 1 << (fbits - 1)
        }
        Class::QNaN | Class::SNaN => {
            if a.class() == Class::SNaN {
                env.raise(IE);
            }
            let frac = (a.sig >> (63 - fbits)) & ((1u64 << fbits) - 1);
            s << sign_at | emask << fbits | frac | 1 << (fbits - 1)
        }
        Class::Infinity => s << sign_at | emask << fbits,
        Class::Zero => s << sign_at,
        _ => {
            let x = unpack(a);
            round(env, x.sign, x.exp, (x.sig as u128) << 64, fmt).to_ieee(fmt, ebits)
        }
    }
}

/// The outcome of a comparison.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cmp {
    /// a < b.
    Less,
    /// a = b.
    Equal,
    /// a > b.
    Greater,
    /// A NaN or an unsupported operand.
    Unordered,
}

/// Compares a with b. `quiet` (FUCOM): only SNaNs and unsupported formats are invalid.
pub fn compare(env: &mut Env, a: F80, b: F80, quiet: bool) -> Cmp {
    let (ca, cb) = (a.class(), b.class());
    if ca == Class::Unsupported || cb == Class::Unsupported {
        env.raise(IE);
        return Cmp::Unordered;
    }
    let nan = |c| matches!(c, Class::QNaN | Class::SNaN);
    if nan(ca) || nan(cb) {
        if !quiet || ca == Class::SNaN || cb == Class::SNaN {
            env.raise(IE);
        }
        return Cmp::Unordered;
    }
    if denormal_check(env, &[a, b]) {
        return Cmp::Unordered;
    }
    let key = |x: F80| -> (i32, u64) {
        match x.class() {
            Class::Zero => (i32::MIN, 0),
            Class::Infinity => (i32::MAX, 0),
            _ => {
                let u = unpack(x);
                (u.exp, u.sig)
            }
        }
    };
    let (za, zb) = (ca == Class::Zero, cb == Class::Zero);
    if za && zb {
        return Cmp::Equal;
    }
    let sa = a.sign() && !za;
    let sb = b.sign() && !zb;
    let ord = match (sa, sb) {
        (false, true) => std::cmp::Ordering::Greater,
        (true, false) => std::cmp::Ordering::Less,
        (false, false) => key(a).cmp(&key(b)),
        (true, true) => key(b).cmp(&key(a)),
    };
    match ord {
        std::cmp::Ordering::Less => Cmp::Less,
        std::cmp::Ordering::Equal => Cmp::Equal,
        std::cmp::Ordering::Greater => Cmp::Greater,
    }
}

/// FXAM's class code as (C3, C2, C0): unsupported 000, NaN 001, normal 010, ∞ 011, zero 100,
/// empty 101, denormal 110. (C1 is the sign.)
pub fn examine(a: F80) -> u8 {
    match a.class() {
        Class::Unsupported => 0b000,
        Class::QNaN | Class::SNaN => 0b001,
        Class::Normal => 0b010,
        Class::Infinity => 0b011,
        Class::Zero => 0b100,
        Class::Denormal | Class::PseudoDenormal => 0b110,
    }
}

/// FSCALE: a × 2^trunc(b).
pub fn scale(env: &mut Env, a: F80, b: F80) -> F80 {
    if let Some(r) = propagate(env, a, Some(b)) {
        return r;
    }
    if denormal_check(env, &[a, b]) {
        return F80::INDEFINITE;
    }
    let (ca, cb) = (a.class(), b.class());
    if cb == Class::Infinity {
        return match (ca, b.sign()) {
            (Class::Zero, false) | (Class::Infinity, true) => {
                env.raise(IE);
                F80::INDEFINITE
            }
            (Class::Zero, true) | (Class::Infinity, false) => a,
            (_, false) => F80::INFINITY.with_sign(a.sign()),
            (_, true) => F80::new(a.sign(), 0, 0),
        };
    }
    if matches!(ca, Class::Zero | Class::Infinity) {
        return a;
    }
    let n: i64 = if cb == Class::Zero {
        0
    } else {
        let y = unpack(b);
        let (k, _, _) = round_int(y, Rounding::Zero);
        let k = k.min(1 << 20) as i64;
        if y.sign {
            -k
        } else {
            k
        }
    };
    let x = unpack(a);
    let e = (x.exp as i64 + n).clamp(-100_000, 100_000) as i32;
    round(env, x.sign, e, (x.sig as u128) << 64, Format::ext(64)).to_f80()
}

/// FXTRACT: (exponent as a value, significand with exponent 0). A zero gives −∞ and ZE.
pub fn extract(env: &mut Env, a: F80) -> (F80, F80) {
    if let Some(r) = propagate(env, a, None) {
        return (r, r);
    }
    match a.class() {
        Class::Zero => {
            env.raise(ZE);
            return (F80::INFINITY.neg(), a);
        }
        Class::Infinity => return (F80::INFINITY, a),
        _ => {}
    }
    if denormal_check(env, &[a]) {
        return (F80::INDEFINITE, F80::INDEFINITE);
    }
    let x = unpack(a);
    (from_int(x.exp as i64), F80::new(x.sign, BIAS as u16, x.sig))
}

/// The outcome of FPREM/FPREM1.
#[derive(Clone, Copy, Debug)]
pub struct Remainder {
    /// The new ST(0).
    pub value: F80,
    /// The low three quotient bits (Q2 Q1 Q0), valid when `complete`.
    pub q: u8,
    /// The reduction finished (C2 = 0); otherwise it was partial (C2 = 1).
    pub complete: bool,
}

/// FPREM (`nearest` false: truncating quotient, the 8087 remainder) and FPREM1 (`nearest`:
/// IEEE remainder). An exponent difference of 64 or more reduces partially, by
/// 32 + (difference mod 32) bits, and sets C2.
pub fn remainder(env: &mut Env, a: F80, b: F80, nearest: bool) -> Remainder {
    let done = |value| Remainder {
        value,
        q: 0,
        complete: true,
    };
    if let Some(r) = propagate(env, a, Some(b)) {
        return done(r);
    }
    let (ca, cb) = (a.class(), b.class());
    if ca == Class::Infinity || cb == Class::Zero {
        env.raise(IE);
        return done(F80::INDEFINITE);
    }
    if denormal_check(env, &[a, b]) {
        return done(F80::INDEFINITE);
    }
    if ca == Class::Zero || cb == Class::Infinity {
        return done(a);
    }
    let (x, y) = (unpack(a), unpack(b));
    let d = x.exp - y.exp;
    if d >= 64 {
        let n = 32 + (d % 32) as u32;
        let num = (x.sig as u128) << n;
        let rem = num % y.sig as u128;
        let value = if rem == 0 {
            F80::new(x.sign, 0, 0)
        } else {
            round(env, x.sign, x.exp - n as i32 + 64, rem, Format::ext(64)).to_f80()
        };
        return Remainder {
            value,
            q: 0,
            complete: false,
        };
    }
    if d < -1 || (d == -1 && !nearest) {
        return done(reround_exact(env, a));
    }
    // Work on a common scale: value = m × 2^(y.exp − 64).
    let (num, den) = if d >= 0 {
        ((x.sig as u128) << d << 1, (y.sig as u128) << 1)
    } else {
        (x.sig as u128, (y.sig as u128) << 1)
    };
    let mut q = num / den;
    let mut rem = num % den;
    let mut sign = x.sign;
    if nearest && (2 * rem > den || (2 * rem == den && q & 1 == 1)) {
        q += 1;
        rem = den - rem;
        sign = !sign;
    }
    let value = if rem == 0 {
        F80::new(x.sign, 0, 0)
    } else {
        round(env, sign, y.exp - 64 + 127, rem, Format::ext(64)).to_f80()
    };
    Remainder {
        value,
        q: (q & 7) as u8,
        complete: true,
    }
}

/// A finite value passed through unchanged except that a denormal result is checked for
/// underflow (the remainder is the dividend itself).
fn reround_exact(env: &mut Env, a: F80) -> F80 {
    let x = unpack(a);
    round(env, x.sign, x.exp, (x.sig as u128) << 64, Format::ext(64)).to_f80()
}

/// FBLD: an 18-digit packed BCD integer (sign in bit 7 of byte 9). Invalid digits are
/// converted as their binary weight (the result is undefined on the hardware).
pub fn from_bcd(b: [u8; 10]) -> F80 {
    let mut v: u64 = 0;
    for i in (0..9).rev() {
        v = v * 10 + (b[i] >> 4) as u64;
        v = v * 10 + (b[i] & 15) as u64;
    }
    from_magnitude(b[9] & 0x80 != 0, v as u128)
}

/// The packed BCD indefinite that a masked invalid FBSTP stores.
pub const BCD_INDEFINITE: [u8; 10] = [0, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0xFF];

/// FBSTP: the value rounded per RC as 18 BCD digits; `None` is an invalid operation.
pub fn to_bcd(env: &mut Env, a: F80) -> Option<[u8; 10]> {
    let (sign, mut k) = match a.class() {
        Class::Zero => (a.sign(), 0u128),
        Class::Normal | Class::Denormal | Class::PseudoDenormal => {
            let x = unpack(a);
            let (k, inexact, up) = round_int(x, env.rounding());
            if k >= 1_000_000_000_000_000_000 {
                env.raise(IE);
                return None;
            }
            env.c1 = up;
            if inexact {
                env.raise(PE);
            }
            (x.sign, k)
        }
        _ => {
            env.raise(IE);
            return None;
        }
    };
    let mut b = [0u8; 10];
    for byte in b.iter_mut().take(9) {
        let lo = (k % 10) as u8;
        k /= 10;
        let hi = (k % 10) as u8;
        k /= 10;
        *byte = hi << 4 | lo;
    }
    b[9] = (sign as u8) << 7;
    Some(b)
}

/// A constant held to 128 bits, rounded per RC to 64 (FLDPI and friends; the control word's
/// precision does not apply). No exception is raised.
pub fn constant(rc: Rounding, exp: i32, sig: u128) -> F80 {
    let (k, _, _) = round_bits(sig, 64, false, rc);
    if k >> 64 != 0 {
        return F80::new(false, (exp + 1 + BIAS) as u16, 1 << 63);
    }
    F80::new(false, (exp + BIAS) as u16, k as u64)
}

/// π to 128 bits (exponent 1).
pub const PI: (i32, u128) = (1, 0xc90fdaa22168c234c4c6628b80dc1cd1);
/// log2(10) to 128 bits (exponent 1).
pub const L2T: (i32, u128) = (1, 0xd49a784bcd1b8afe492bf6ff4dafdb4c);
/// log2(e) to 128 bits (exponent 0).
pub const L2E: (i32, u128) = (0, 0xb8aa3b295c17f0bbbe87fed0691d3e88);
/// log10(2) to 128 bits (exponent −2).
pub const LG2: (i32, u128) = (-2, 0x9a209a84fbcff7988f8959ac0b7c9178);
/// ln(2) to 128 bits (exponent −1).
pub const LN2: (i32, u128) = (-1, 0xb17217f7d1cf79abc9e3b39803f2f6af);
