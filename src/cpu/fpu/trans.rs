//! The transcendental instructions (FSIN, FCOS, FSINCOS, FPTAN, FPATAN, F2XM1, FYL2X,
//! FYL2XP1), computed with 128-bit significands and rounded once to the 64-bit register
//! precision.
//!
//! [`Wide`] is a small software float with a 128-bit significand and a 32-bit exponent; its
//! operations truncate to about 126 correct bits, far more than the 64 the result keeps, so
//! results are correctly rounded except in rare near-halfway cases. Range reduction of the
//! trigonometric functions multiplies the argument by a 256-bit 2/π (exact integer
//! arithmetic), so even arguments near 2^63 reduce accurately — more accurately than the
//! hardware, whose reduction uses a 66-bit π (SDM Vol. 1, 8.3.8). The series are the plain
//! Taylor/Maclaurin ones, after reducing the argument so that they converge fast.

use super::f80::{self, Class, Env, Format, DE, IE, ZE};
use super::F80;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// A working value: (−1)^neg × sig × 2^(exp − 127), `sig` normalized (bit 127 set) or zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wide {
    /// Negative.
    pub neg: bool,
    /// Exponent of significand bit 127.
    pub exp: i32,
    /// Significand.
    pub sig: u128,
}

const M64: u128 = u64::MAX as u128;

/// 2/π × 2^256, most significant limb first.
const TWO_OVER_PI: [u64; 4] = [
    0xa2f9836e4e441529,
    0xfc2757d1f534ddc0,
    0xdb6295993c439041,
    0xfe5163abdebbc561,
];

impl Wide {
    /// Zero.
    pub const ZERO: Wide = Wide {
        neg: false,
        exp: 0,
        sig: 0,
    };

    /// A normalized value.
    pub fn new(neg: bool, exp: i32, sig: u128) -> Wide {
        if sig == 0 {
            return Wide::ZERO;
        }
        let lz = sig.leading_zeros();
        Wide {
            neg,
            exp: exp - lz as i32,
            sig: sig << lz,
        }
    }

    /// A 128-bit constant (exponent, significand) such as [`f80::PI`].
    pub fn from_const(c: (i32, u128)) -> Wide {
        Wide::new(false, c.0, c.1)
    }

    /// A small integer.
    pub fn from_u64(v: u64) -> Wide {
        Wide::new(false, 127, v as u128)
    }

    /// A finite register value (exact).
    pub fn from_f80(a: F80) -> Wide {
        if a.sig == 0 {
            return Wide::ZERO;
        }
        let e = a.exp().max(1) as i32 - f80::BIAS;
        Wide::new(a.sign(), e + 64, a.sig as u128)
    }

    /// Whether this is zero.
    pub fn is_zero(self) -> bool {
        self.sig == 0
    }

    /// self × 2^n.
    pub fn scale(self, n: i32) -> Wide {
        if self.sig == 0 {
            self
        } else {
            Wide {
                exp: self.exp + n,
                ..self
            }
        }
    }

    /// The unbiased exponent of the leading bit (value in [2^e, 2^(e+1))).
    pub fn ilog2(self) -> i32 {
        self.exp
    }

    /// self ÷ n for a small positive integer n.
    pub fn div_small(self, n: u64) -> Wide {
        if self.sig == 0 {
            return self;
        }
        let n = n as u128;
        let q1 = self.sig / n;
        let r = self.sig % n;
        let lz = q1.leading_zeros();
        let q = (q1 << lz) | ((r << lz) / n);
        Wide::new(self.neg, self.exp - lz as i32, q)
    }

    /// √self (self ≥ 0): a 64-bit integer square root as the seed, then two Newton steps.
    pub fn sqrt(self) -> Wide {
        if self.sig == 0 {
            return self;
        }
        let (sig, e) = if (self.exp - 127) % 2 != 0 {
            (self.sig >> 1, self.exp + 1)
        } else {
            (self.sig, self.exp)
        };
        let seed = f80::isqrt(sig);
        let mut s = Wide::new(false, 127, seed).scale((e - 127) / 2);
        for _ in 0..2 {
            s = s.add(self.div(s)).scale(-1);
        }
        s
    }

    /// Rounds to a register value at 64-bit precision.
    pub fn to_f80(self, env: &mut Env) -> F80 {
        if self.sig == 0 {
            return F80::new(self.neg, 0, 0);
        }
        f80::round(env, self.neg, self.exp, self.sig, Format::ext(64)).to_f80()
    }
}

impl Neg for Wide {
    type Output = Wide;

    /// −self.
    fn neg(self) -> Wide {
        Wide {
            neg: !self.neg && self.sig != 0,
            ..self
        }
    }
}

impl Mul for Wide {
    type Output = Wide;

    /// self × o.
    fn mul(self, o: Wide) -> Wide {
        if self.sig == 0 || o.sig == 0 {
            return Wide::ZERO;
        }
        let (hi, lo) = mul_128(self.sig, o.sig);
        Wide::new(
            self.neg != o.neg,
            self.exp + o.exp + 1,
            hi | (lo != 0) as u128,
        )
    }
}

impl Add for Wide {
    type Output = Wide;

    /// self + o.
    fn add(self, o: Wide) -> Wide {
        if self.sig == 0 {
            return o;
        }
        if o.sig == 0 {
            return self;
        }
        let (a, b) = if self.exp >= o.exp {
            (self, o)
        } else {
            (o, self)
        };
        let d = (a.exp - b.exp) as u32;
        let x = a.sig >> 1;
        let y = if d >= 126 { 0 } else { (b.sig >> 1) >> d };
        if a.neg == b.neg {
            Wide::new(a.neg, a.exp + 1, x + y)
        } else if x >= y {
            Wide::new(a.neg, a.exp + 1, x - y)
        } else {
            Wide::new(b.neg, a.exp + 1, y - x)
        }
    }
}

impl Sub for Wide {
    type Output = Wide;

    /// self − o.
    fn sub(self, o: Wide) -> Wide {
        self.add(o.neg())
    }
}

impl Div for Wide {
    type Output = Wide;

    /// self ÷ o (`o` ≠ 0).
    fn div(self, o: Wide) -> Wide {
        if self.sig == 0 || o.sig == 0 {
            return Wide::ZERO;
        }
        let d = o.sig;
        let mut rem = self.sig;
        let mut carry = false;
        let mut e = self.exp - o.exp;
        if rem < d {
            carry = rem >> 127 != 0;
            rem <<= 1;
            e -= 1;
        }
        let mut q = 0u128;
        for _ in 0..128 {
            q <<= 1;
            if carry || rem >= d {
                rem = rem.wrapping_sub(d);
                q |= 1;
            }
            carry = rem >> 127 != 0;
            rem <<= 1;
        }
        Wide::new(self.neg != o.neg, e, q | (rem != 0) as u128)
    }
}

/// The full 256-bit product of two 128-bit values: (high, low).
fn mul_128(a: u128, b: u128) -> (u128, u128) {
    let (a1, a0) = (a >> 64, a & M64);
    let (b1, b0) = (b >> 64, b & M64);
    let lo = a0 * b0;
    let m1 = a1 * b0;
    let m2 = a0 * b1;
    let mid = (lo >> 64) + (m1 & M64) + (m2 & M64);
    let hi = a1 * b1 + (m1 >> 64) + (m2 >> 64) + (mid >> 64);
    (hi, (mid << 64) | (lo & M64))
}

fn pi() -> Wide {
    Wide::from_const(f80::PI)
}

/// Σ of a series: `first`, then each term is the previous one times `step(k)`, until the
/// terms drop below 2^-135 relative to `first`.
fn series(first: Wide, mut step: impl FnMut(u64, Wide) -> Wide) -> Wide {
    let mut sum = first;
    let mut term = first;
    let mut k = 1;
    while term.sig != 0 && term.exp > first.exp - 135 && k < 400 {
        term = step(k, term);
        sum = sum.add(term);
        k += 1;
    }
    sum
}

/// sin r and cos r for |r| ≤ π/4.
fn sin_cos_kernel(r: Wide) -> (Wide, Wide) {
    let r2 = r.mul(r);
    // sin: r − r³/3! + …; cos: 1 − r²/2! + …
    let s = series(r, |k, t| t.mul(r2).div_small((2 * k) * (2 * k + 1)).neg());
    let c = series(Wide::from_u64(1), |k, t| {
        t.mul(r2).div_small((2 * k - 1) * (2 * k)).neg()
    });
    (s, c)
}

/// Reduces |x| < 2^63 modulo π/2: (quadrant mod 4, remainder in [−π/4, π/4]).
fn reduce(x: F80) -> (u8, Wide) {
    let w = Wide::from_f80(x);
    let quarter = pi().scale(-2);
    if w.sig == 0 || w.exp < quarter.exp || (w.exp == quarter.exp && w.sig <= quarter.sig) {
        return (0, w);
    }
    // x = X × 2^(ex − 63); X × T (T = 2/π × 2^256) has its binary point at bit 319 − ex.
    let ex = x.exp() as i32 - f80::BIAS;
    let xs = x.sig as u128;
    let mut p = [0u64; 5]; // little-endian limbs of X × T
    let mut carry: u128 = 0;
    for (i, &t) in TWO_OVER_PI.iter().rev().enumerate() {
        let v = xs * t as u128 + carry;
        p[i] = v as u64;
        carry = v >> 64;
    }
    p[4] = carry as u64;
    let bit = |n: i32| -> u128 {
        if !(0..320).contains(&n) {
            return 0;
        }
        ((p[(n / 64) as usize] >> (n % 64)) & 1) as u128
    };
    let point = 319 - ex;
    let mut k: u64 = 0;
    for n in (point..320).rev() {
        k = k << 1 | bit(n) as u64;
    }
    let mut frac: u128 = 0;
    for n in (point - 128..point).rev() {
        frac = frac << 1 | bit(n);
    }
    let half = pi().scale(-1);
    let (k, r) = if frac >> 127 != 0 {
        let f = Wide::new(true, -1, frac.wrapping_neg());
        (k + 1, f.mul(half))
    } else {
        (k, Wide::new(false, -1, frac).mul(half))
    };
    let r = if x.sign() { r.neg() } else { r };
    let q = if x.sign() {
        (4 - (k & 3) as u8) & 3
    } else {
        (k & 3) as u8
    };
    (q, r)
}

/// sin x and cos x of a finite |x| < 2^63.
pub fn sin_cos(x: F80) -> (Wide, Wide) {
    let (q, r) = reduce(x);
    let (s, c) = sin_cos_kernel(r);
    match q {
        0 => (s, c),
        1 => (c, s.neg()),
        2 => (s.neg(), c.neg()),
        _ => (c.neg(), s),
    }
}

/// atan t for 0 ≤ t ≤ 1: four argument halvings (atan t = 2 atan(t / (1 + √(1 + t²)))),
/// then the series t − t³/3 + t⁵/5 − …
fn atan_kernel(t: Wide) -> Wide {
    let one = Wide::from_u64(1);
    let mut t = t;
    for _ in 0..4 {
        t = t.div(one.add(one.add(t.mul(t)).sqrt()));
    }
    let t2 = t.mul(t);
    let mut sum = t;
    let mut pow = t;
    let mut k = 1u64;
    while pow.sig != 0 && pow.exp > t.exp - 135 && k < 400 {
        pow = pow.mul(t2).neg();
        sum = sum.add(pow.div_small(2 * k + 1));
        k += 1;
    }
    sum.scale(4)
}

/// atan2(y, x) for finite non-zero y and x: the angle of (x, y), in (−π, π].
pub fn atan2(y: Wide, x: Wide) -> Wide {
    let (ay, ax) = (Wide { neg: false, ..y }, Wide { neg: false, ..x });
    let ge = ay.exp > ax.exp || (ay.exp == ax.exp && ay.sig >= ax.sig);
    let a = if ge {
        pi().scale(-1).sub(atan_kernel(ax.div(ay)))
    } else {
        atan_kernel(ay.div(ax))
    };
    let a = if x.neg { pi().sub(a) } else { a };
    if y.neg {
        a.neg()
    } else {
        a
    }
}

/// e^y − 1: halve y until it is small, sum the series, and double back with
/// expm1(2z) = expm1(z) × (expm1(z) + 2).
pub fn expm1(y: Wide) -> Wide {
    if y.sig == 0 {
        return y;
    }
    let k = (y.exp + 8).clamp(0, 40);
    let z = y.scale(-k);
    let mut e = series(z, |k, t| t.mul(z).div_small(k + 1));
    let two = Wide::from_u64(2);
    for _ in 0..k {
        e = e.mul(e.add(two));
    }
    e
}

/// ln m for m > 0 near 1: 2 atanh(s) with s = (m − 1)/(m + 1).
fn ln_near_one(num: Wide, den: Wide) -> Wide {
    let s = num.div(den);
    let s2 = s.mul(s);
    let mut sum = s;
    let mut pow = s;
    let mut k = 1u64;
    while pow.sig != 0 && pow.exp > s.exp - 135 && k < 400 {
        pow = pow.mul(s2);
        sum = sum.add(pow.div_small(2 * k + 1));
        k += 1;
    }
    sum.scale(1)
}

/// log2 x for a finite x > 0.
pub fn log2(x: F80) -> Wide {
    let w = Wide::from_f80(x);
    // x = m × 2^e with m in [√½, √2).
    let mut e = w.exp;
    let mut m = Wide { exp: 0, ..w };
    let sqrt2 = Wide::new(false, 0, 0xb504f333f9de6484597d89b3754abe9f);
    if m.sig > sqrt2.sig {
        m = m.scale(-1);
        e += 1;
    }
    let one = Wide::from_u64(1);
    let ln = ln_near_one(m.sub(one), m.add(one));
    let frac = ln.mul(Wide::from_const(f80::L2E));
    let ip = if e < 0 {
        Wide::from_u64(e.unsigned_abs() as u64).neg()
    } else {
        Wide::from_u64(e as u64)
    };
    ip.add(frac)
}

/// log2(1 + x) for a finite x > −1, accurate for small x.
pub fn log2_1p(x: F80) -> Wide {
    let w = Wide::from_f80(x);
    let two = Wide::from_u64(2);
    let ln = ln_near_one(w, two.add(w));
    ln.mul(Wide::from_const(f80::L2E))
}

/// Whether a finite value is in the trigonometric instructions' range |x| < 2^63.
pub fn in_trig_range(x: F80) -> bool {
    (x.exp() as i32) < f80::BIAS + 63
}

/// Checks a trigonometric operand: `Err(result)` for NaNs, ∞ (IE), unsupported formats;
/// raises DE for denormals.
pub fn trig_operand(env: &mut Env, x: F80) -> Result<(), F80> {
    match x.class() {
        Class::QNaN => Err(x),
        Class::SNaN => {
            env.raise(IE);
            Err(x.quiet())
        }
        Class::Infinity | Class::Unsupported => {
            env.raise(IE);
            Err(F80::INDEFINITE)
        }
        Class::Denormal | Class::PseudoDenormal => {
            if env.raise(DE) {
                Err(F80::INDEFINITE)
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

/// F2XM1: 2^x − 1.
pub fn f2xm1(env: &mut Env, x: F80) -> F80 {
    match x.class() {
        Class::QNaN => return x,
        Class::SNaN => {
            env.raise(IE);
            return x.quiet();
        }
        Class::Unsupported => {
            env.raise(IE);
            return F80::INDEFINITE;
        }
        Class::Zero => return x,
        Class::Infinity => {
            return if x.sign() {
                F80::ONE.neg()
            } else {
                F80::INFINITY
            }
        }
        Class::Denormal | Class::PseudoDenormal if env.raise(DE) => return F80::INDEFINITE,
        _ => {}
    }
    if x.exp() as i32 >= f80::BIAS + 15 {
        // Far outside the documented domain −1…+1: 2^x − 1 overflows or is −1.
        if x.sign() {
            env.raise(f80::PE);
            return F80::ONE.neg();
        }
        return f80::round(env, false, 1 << 20, 1 << 127, Format::ext(64)).to_f80();
    }
    let y = Wide::from_f80(x).mul(Wide::from_const(f80::LN2));
    expm1(y).to_f80(env)
}

/// Two-operand NaN and unsupported-format handling for FYL2X, FYL2XP1 and FPATAN.
fn nan_pair(env: &mut Env, x: F80, y: F80) -> Option<F80> {
    let mut e2 = *env;
    let r = f80::add(&mut e2, y, x, false);
    if x.is_nan()
        || y.is_nan()
        || matches!(x.class(), Class::Unsupported)
        || matches!(y.class(), Class::Unsupported)
    {
        *env = e2;
        return Some(r);
    }
    None
}

fn denormals(env: &mut Env, ops: &[F80]) -> bool {
    if ops
        .iter()
        .any(|v| matches!(v.class(), Class::Denormal | Class::PseudoDenormal))
    {
        return env.raise(DE);
    }
    false
}

/// y × (a logarithm that is −∞, finite or +∞), with the invalid products 0 × ∞.
fn times_log(env: &mut Env, y: F80, l: Option<Wide>, l_inf: Option<bool>) -> F80 {
    let yc = y.class();
    match (l, l_inf) {
        (_, Some(neg)) => {
            if yc == Class::Zero {
                env.raise(IE);
                return F80::INDEFINITE;
            }
            F80::INFINITY.with_sign(neg != y.sign())
        }
        (Some(l), None) => {
            if yc == Class::Infinity {
                if l.is_zero() {
                    env.raise(IE);
                    return F80::INDEFINITE;
                }
                return F80::INFINITY.with_sign(l.neg != y.sign());
            }
            if yc == Class::Zero || l.is_zero() {
                return F80::new(y.sign() != l.neg, 0, 0);
            }
            Wide::from_f80(y).mul(l).to_f80(env)
        }
        (None, None) => F80::INDEFINITE,
    }
}

/// FYL2X: y × log2 x.
pub fn fyl2x(env: &mut Env, x: F80, y: F80) -> F80 {
    if let Some(r) = nan_pair(env, x, y) {
        return r;
    }
    if x.sign() && x.class() != Class::Zero {
        env.raise(IE);
        return F80::INDEFINITE;
    }
    if denormals(env, &[x, y]) {
        return F80::INDEFINITE;
    }
    match x.class() {
        Class::Zero => {
            if y.class() != Class::Zero && y.class() != Class::Infinity && env.raise(ZE) {
                return F80::INDEFINITE;
            }
            times_log(env, y, None, Some(true))
        }
        Class::Infinity => times_log(env, y, None, Some(false)),
        _ => times_log(env, y, Some(log2(x)), None),
    }
}

/// FYL2XP1: y × log2(1 + x).
pub fn fyl2xp1(env: &mut Env, x: F80, y: F80) -> F80 {
    if let Some(r) = nan_pair(env, x, y) {
        return r;
    }
    if denormals(env, &[x, y]) {
        return F80::INDEFINITE;
    }
    match x.class() {
        Class::Infinity => {
            if x.sign() {
                env.raise(IE);
                return F80::INDEFINITE;
            }
            times_log(env, y, None, Some(false))
        }
        Class::Zero => times_log(env, y, Some(Wide::ZERO.neg_if(x.sign())), None),
        _ => {
            // x ≤ −1 is outside the domain: log of a non-positive number.
            let w = Wide::from_f80(x);
            if w.neg && w.exp >= 0 {
                env.raise(IE);
                return F80::INDEFINITE;
            }
            times_log(env, y, Some(log2_1p(x)), None)
        }
    }
}

impl Wide {
    fn neg_if(self, n: bool) -> Wide {
        Wide { neg: n, ..self }
    }
}

/// FPATAN: atan2(y, x) with the special cases of SDM table 3-29 (FPATAN).
pub fn fpatan(env: &mut Env, x: F80, y: F80) -> F80 {
    if let Some(r) = nan_pair(env, x, y) {
        return r;
    }
    if denormals(env, &[x, y]) {
        return F80::INDEFINITE;
    }
    let p = pi();
    let (xc, yc) = (x.class(), y.class());
    let angle = match (yc, xc) {
        (Class::Zero, _) => {
            if x.sign() {
                p
            } else {
                return y;
            }
        }
        (Class::Infinity, Class::Infinity) => {
            if x.sign() {
                p.mul(Wide::from_u64(3)).scale(-2)
            } else {
                p.scale(-2)
            }
        }
        (Class::Infinity, _) | (_, Class::Zero) => p.scale(-1),
        (_, Class::Infinity) => {
            if x.sign() {
                p
            } else {
                return F80::new(y.sign(), 0, 0);
            }
        }
        _ => return atan2(Wide::from_f80(y), Wide::from_f80(x)).to_f80(env),
    };
    angle.neg_if(y.sign()).to_f80(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(v: f64) -> Wide {
        // Test helper: exact conversion of a double.
        let mut e = Env::new(0x037F);
        let bits = v.to_bits();
        Wide::from_f80(f80::from_ieee(&mut e, bits, false))
    }

    fn to_f64(x: Wide) -> f64 {
        let mut e = Env::new(0x037F);
        let v = x.to_f80(&mut e);
        f64::from_bits(f80::to_ieee(&mut e, v, false))
    }

    #[test]
    fn wide_arithmetic() {
        assert_eq!(to_f64(w(1.5).mul(w(-2.25))), -3.375);
        assert_eq!(to_f64(w(1.0).div(w(8.0))), 0.125);
        assert_eq!(to_f64(w(10.0).sub(w(0.5))), 9.5);
        assert_eq!(to_f64(w(2.0).sqrt().mul(w(2.0).sqrt())), 2.0);
        assert_eq!(to_f64(w(1.0).div_small(3).mul(w(3.0))), 1.0);
    }

    #[test]
    fn large_arguments_reduce_accurately() {
        // Reference values from an independent arbitrary-precision evaluation (mpmath at 300
        // bits), rounded to 64 bits.
        let mut e = Env::new(0x037F);
        let x = F80::new(false, 16383 + 62, 1 << 63); // 2^62
        let (s, c) = sin_cos(x);
        assert_eq!(s.to_f80(&mut e), F80::new(true, 16382, 0xb3f2b9aaf80a3946));
        assert_eq!(c.to_f80(&mut e), F80::new(true, 16382, 0xb6158fc106383e05));
        let (s, c) = sin_cos(f80::from_int(1_000_000_000_000_000_000));
        assert_eq!(s.to_f80(&mut e), F80::new(true, 16382, 0xfe333cc682e96d39));
        assert_eq!(c.to_f80(&mut e), F80::new(false, 16379, 0xf26d039603acd38c));
    }

    #[test]
    fn f2xm1_outside_its_domain() {
        let mut e = Env::new(0x037F);
        let big = F80::new(false, 16383 + 20, 1 << 63);
        assert_eq!(f2xm1(&mut e, big), F80::INFINITY);
        assert_eq!(e.flags & f80::OE, f80::OE);
        assert_eq!(f2xm1(&mut e, big.neg()), F80::ONE.neg());
    }

    #[test]
    fn known_values() {
        let mut e = Env::new(0x037F);
        let (s, c) = sin_cos(F80::ONE);
        assert_eq!(to_f64(s), 1f64.sin());
        assert_eq!(to_f64(c), 1f64.cos());
        // log2(8) = 3 exactly.
        let eight = f80::from_int(8);
        assert_eq!(log2(eight).to_f80(&mut e), f80::from_int(3));
        // 2^1 − 1 = 1.
        assert_eq!(f2xm1(&mut e, F80::ONE), F80::ONE);
        // atan2(1, 1) = π/4: the 64-bit π rounded, with the exponent lowered by 2.
        let q = fpatan(&mut e, F80::ONE, F80::ONE);
        let pi = f80::constant(f80::Rounding::Nearest, f80::PI.0, f80::PI.1);
        assert_eq!((q.sig, q.exp() + 2), (pi.sig, pi.exp()));
    }
}
