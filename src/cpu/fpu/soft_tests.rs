//! Tests of the soft float against independent oracles: the host's IEEE double and single
//! arithmetic (a single correct rounding, so it must agree with precision control 53/24),
//! error-free transformations (TwoSum, FMA residuals) for the directed rounding modes,
//! integer arithmetic, and documented constants.

use super::f80::{self, Class, Cmp, Env, DE, F80, IE, OE, PE, UE, ZE};
use std::ops::Neg;

/// Control word: all masked, precision `pc` (0 = 24, 2 = 53, 3 = 64), rounding `rc`.
fn cw(pc: u16, rc: u16) -> u16 {
    0x7F | pc << 8 | rc << 10
}

fn d(x: f64) -> F80 {
    let mut e = Env::new(cw(3, 0));
    f80::from_ieee(&mut e, x.to_bits(), false)
}

fn s(x: f32) -> F80 {
    let mut e = Env::new(cw(3, 0));
    f80::from_ieee(&mut e, x.to_bits() as u64, true)
}

/// Converts a value that is exactly a double (asserts it is).
fn to_d(x: F80) -> f64 {
    let mut e = Env::new(cw(3, 0));
    let v = f64::from_bits(f80::to_ieee(&mut e, x, false));
    assert_eq!(e.flags & PE, 0, "{x:?} is not a double");
    v
}

fn to_s(x: F80) -> f32 {
    let mut e = Env::new(cw(3, 0));
    let v = f32::from_bits(f80::to_ieee(&mut e, x, true) as u32);
    assert_eq!(e.flags & PE, 0, "{x:?} is not a single");
    v
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// A double with a random significand and an exponent in ±40.
    fn f64(&mut self) -> f64 {
        let r = self.next();
        let e = (r >> 52) % 81;
        let bits = (r & 0x800F_FFFF_FFFF_FFFF) | (1023 + e - 40) << 52;
        f64::from_bits(bits)
    }
    fn f32(&mut self) -> f32 {
        let r = self.next() as u32;
        let e = (r >> 23) % 41;
        f32::from_bits((r & 0x807F_FFFF) | (127 + e - 20) << 23)
    }
}

/// The correctly rounded double in mode `rc` of a + err (err the exact residual, |err| below
/// half an ulp of `a`, `a` the nearest rounding).
fn directed(a: f64, err: f64, rc: u16) -> f64 {
    match rc {
        0 => a,
        1 if err < 0.0 => a.next_down(),
        2 if err > 0.0 => a.next_up(),
        3 if (a > 0.0 && err < 0.0) || (a < 0.0 && err > 0.0) => {
            if a > 0.0 {
                a.next_down()
            } else {
                a.next_up()
            }
        }
        _ => a,
    }
}

#[test]
fn double_precision_agrees_with_the_host_in_every_rounding_mode() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for n in 0..20_000 {
        let (a, b) = (rng.f64(), rng.f64());
        let rc = (n % 4) as u16;
        let mut env = Env::new(cw(2, rc));
        // a + b with TwoSum's exact error.
        let sum = a + b;
        let bb = sum - a;
        let err = (a - (sum - bb)) + (b - bb);
        let got = to_d(f80::add(&mut env, d(a), d(b), false));
        assert_eq!(got, directed(sum, err, rc), "{a:e} + {b:e} rc {rc}");
        // a × b, error from FMA.
        let p = a * b;
        let err = a.mul_add(b, -p);
        let got = to_d(f80::mul(&mut env, d(a), d(b)));
        assert_eq!(got, directed(p, err, rc), "{a:e} * {b:e} rc {rc}");
        // a ÷ b: sign of the residual a − q·b, over b.
        let q = a / b;
        let r = (-q).mul_add(b, a);
        let err = if b > 0.0 { r } else { -r };
        let got = to_d(f80::div(&mut env, d(a), d(b)));
        assert_eq!(got, directed(q, err, rc), "{a:e} / {b:e} rc {rc}");
        // √|a|.
        let x = a.abs();
        let sq = x.sqrt();
        let err = (-sq).mul_add(sq, x);
        let got = to_d(f80::sqrt(&mut env, d(x)));
        assert_eq!(got, directed(sq, err, rc), "sqrt {x:e} rc {rc}");
    }
}

#[test]
fn single_precision_agrees_with_the_host() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for _ in 0..20_000 {
        let (a, b) = (rng.f32(), rng.f32());
        let mut env = Env::new(cw(0, 0));
        assert_eq!(to_s(f80::add(&mut env, s(a), s(b), false)), a + b);
        assert_eq!(to_s(f80::add(&mut env, s(a), s(b), true)), a - b);
        assert_eq!(to_s(f80::mul(&mut env, s(a), s(b))), a * b);
        assert_eq!(to_s(f80::div(&mut env, s(a), s(b))), a / b);
        assert_eq!(to_s(f80::sqrt(&mut env, s(a.abs()))), a.abs().sqrt());
    }
}

#[test]
fn no_double_rounding_under_precision_control() {
    // 1 + (2^-53 + 2^-78): rounded to 64 bits first it would become 1 + 2^-53, a tie that
    // then rounds to 1.0; a single rounding to 53 bits gives 1 + 2^-52.
    let b = 2f64.powi(-53) + 2f64.powi(-78);
    let mut env = Env::new(cw(2, 0));
    let r = f80::add(&mut env, d(1.0), d(b), false);
    assert_eq!(to_d(r), 1.0 + 2f64.powi(-52));
    assert!(env.c1 && env.flags & PE != 0, "rounded up, inexact");
    // At 64 bits the same sum is 1 + 2^-53 (the 2^-78 part is below half an ulp).
    let mut env = Env::new(cw(3, 0));
    let r = f80::add(&mut env, d(1.0), d(b), false);
    assert_eq!(r, F80::new(false, 16383, 1 << 63 | 1 << 10));
    assert!(!env.c1);
}

#[test]
fn ties_in_every_rounding_mode_at_64_bits() {
    let one = F80::ONE;
    let half_ulp = F80::new(false, 16383 - 64, 1 << 63); // 2^-64
    let odd = F80::new(false, 16383, 1 << 63 | 1); // 1 + 2^-63
    for (rc, pos, neg, odd_up) in [
        (0, 1 << 63, 1u64 << 63, 1 << 63 | 2),
        (1, 1 << 63, 1 << 63 | 1, 1 << 63 | 1),
        (2, 1 << 63 | 1, 1 << 63, 1 << 63 | 2),
        (3, 1 << 63, 1 << 63, 1 << 63 | 1),
    ] {
        let mut env = Env::new(cw(3, rc));
        assert_eq!(f80::add(&mut env, one, half_ulp, false).sig, pos, "rc {rc}");
        assert_eq!(env.c1, pos & 1 == 1, "C1 follows the round-up, rc {rc}");
        let mut env = Env::new(cw(3, rc));
        let r = f80::add(&mut env, one.neg(), half_ulp.neg(), false);
        assert!(r.sign());
        assert_eq!(r.sig, neg, "negative, rc {rc}");
        let mut env = Env::new(cw(3, rc));
        assert_eq!(
            f80::add(&mut env, odd, half_ulp, false).sig,
            odd_up,
            "odd, rc {rc}"
        );
    }
}

#[test]
fn denormal_results_and_underflow() {
    // The smallest normal times 0.5 is an exact denormal: no UE when masked.
    let min = F80::new(false, 1, 1 << 63);
    let mut env = Env::new(cw(3, 0));
    let r = f80::mul(&mut env, min, d(0.5));
    assert_eq!(r, F80::new(false, 0, 1 << 62));
    assert_eq!(env.flags & (UE | PE), 0);
    // (2 − 2^-63) × 2^-16382 × 0.5 is tiny, and inexact once denormalized: rounds (a tie,
    // odd) up to the smallest normal; masked UE and PE, C1 set.
    let big = F80::new(false, 1, u64::MAX);
    let mut env = Env::new(cw(3, 0));
    let r = f80::mul(&mut env, big, d(0.5));
    assert_eq!(r, min);
    assert_eq!(env.flags & (UE | PE), UE | PE);
    assert!(env.c1);
    // Unmasked underflow: the exact result with its exponent raised by 24576.
    let mut env = Env::new(cw(3, 0) & !(UE as u16));
    let r = f80::mul(&mut env, big, d(0.5));
    assert_eq!(r, F80::new(false, 24576, u64::MAX));
    assert_eq!(env.flags & (UE | PE), UE);
    // Storing a tiny value as a double gives a double denormal.
    let mut env = Env::new(cw(3, 0));
    let tiny = d(f64::MIN_POSITIVE);
    let r = f80::mul(&mut env, tiny, d(0.25));
    let bits = f80::to_ieee(&mut env, r, false);
    assert_eq!(f64::from_bits(bits), f64::MIN_POSITIVE / 4.0);
    assert_eq!(env.flags & UE, 0, "exact");
}

#[test]
fn overflow_by_rounding_mode() {
    let max = F80::new(false, 0x7FFE, u64::MAX);
    let max53 = F80::new(false, 0x7FFE, 0xFFFF_FFFF_FFFF_F800);
    for (rc, pos, neg) in [
        (0, F80::INFINITY, F80::INFINITY.neg()),
        (1, max, F80::INFINITY.neg()),
        (2, F80::INFINITY, max.neg()),
        (3, max, max.neg()),
    ] {
        let mut env = Env::new(cw(3, rc));
        assert_eq!(f80::mul(&mut env, max, d(2.0)), pos, "rc {rc}");
        assert_eq!(env.flags & (OE | PE), OE | PE);
        assert_eq!(env.c1, pos == F80::INFINITY);
        let mut env = Env::new(cw(3, rc));
        assert_eq!(f80::mul(&mut env, max, d(-2.0)), neg, "rc {rc}");
    }
    let mut env = Env::new(cw(2, 3));
    assert_eq!(f80::mul(&mut env, max, d(2.0)), max53, "largest at 53 bits");
    // Unmasked: exponent lowered by 24576.
    let mut env = Env::new(cw(3, 0) & !(OE as u16));
    let r = f80::mul(&mut env, max, d(2.0));
    assert_eq!(r, F80::new(false, 0x7FFF - 24576, u64::MAX));
    assert_eq!(env.flags & (OE | PE), OE);
}

#[test]
fn invalid_operations_and_zero_divide() {
    let mut env = Env::new(cw(3, 0));
    assert_eq!(f80::div(&mut env, F80::ZERO, F80::ZERO), F80::INDEFINITE);
    assert_eq!(env.flags, IE);
    let mut env = Env::new(cw(3, 0));
    let r = f80::add(&mut env, F80::INFINITY, F80::INFINITY, true);
    assert_eq!((r, env.flags), (F80::INDEFINITE, IE));
    let mut env = Env::new(cw(3, 0));
    assert_eq!(f80::sqrt(&mut env, d(-1.0)), F80::INDEFINITE);
    assert_eq!(env.flags, IE);
    let mut env = Env::new(cw(3, 0));
    assert_eq!(f80::sqrt(&mut env, d(-0.0)), d(-0.0), "√−0 = −0");
    let mut env = Env::new(cw(3, 0));
    assert_eq!(f80::div(&mut env, d(-3.0), F80::ZERO), F80::INFINITY.neg());
    assert_eq!(env.flags, ZE);
    // Unmasked ZE blocks the store.
    let mut env = Env::new(cw(3, 0) & !(ZE as u16));
    f80::div(&mut env, d(1.0), F80::ZERO);
    assert!(env.blocked());
    // Unsupported encodings are invalid operands.
    let unnormal = F80::new(false, 0x4000, 0x4000_0000_0000_0000);
    let mut env = Env::new(cw(3, 0));
    assert_eq!(
        f80::add(&mut env, unnormal, F80::ONE, false),
        F80::INDEFINITE
    );
    assert_eq!(env.flags, IE);
    // An SNaN operand is quieted, with IE; a QNaN passes silently.
    let snan = F80::new(false, 0x7FFF, 0xA000_0000_0000_0000);
    let mut env = Env::new(cw(3, 0));
    assert_eq!(f80::mul(&mut env, snan, F80::ONE), snan.quiet());
    assert_eq!(env.flags, IE);
    let mut env = Env::new(cw(3, 0));
    assert_eq!(f80::mul(&mut env, F80::ONE, snan.quiet()), snan.quiet());
    assert_eq!(env.flags, 0);
    // x − x is +0, except −0 when rounding down.
    let mut env = Env::new(cw(3, 1));
    assert_eq!(f80::add(&mut env, d(5.0), d(5.0), true), d(-0.0));
    let mut env = Env::new(cw(3, 0));
    assert_eq!(f80::add(&mut env, d(5.0), d(5.0), true), d(0.0));
}

/// 2^e mod m by repeated squaring (the oracle for huge partial remainders).
fn pow2_mod(e: u32, m: u128) -> u128 {
    let (mut r, mut b, mut e) = (1u128, 2 % m, e);
    while e > 0 {
        if e & 1 == 1 {
            r = r * b % m;
        }
        b = b * b % m;
        e >>= 1;
    }
    r
}

#[test]
fn fprem_reduces_huge_exponent_differences_in_steps() {
    for (m, ieee) in [(9u64, false), (9, true), (13, false), (1_000_003, true)] {
        let mut env = Env::new(cw(3, 0));
        let mut x = F80::new(false, (16383 + 1000) as u16, 1 << 63); // 2^1000
        let y = f80::from_int(m as i64);
        let mut partial = 0;
        let q = loop {
            let r = f80::remainder(&mut env, x, y, ieee);
            x = r.value;
            if r.complete {
                break r.q;
            }
            partial += 1;
            assert!(partial < 100);
        };
        assert!(partial >= 2, "C2 reported incomplete steps ({partial})");
        let rem = pow2_mod(1000, m as u128) as i64;
        let expect = if ieee && 2 * rem > m as i64 {
            rem - m as i64
        } else {
            rem
        };
        assert_eq!(x, f80::from_int(expect), "2^1000 rem {m} (ieee {ieee})");
        let _ = q;
    }
}

#[test]
fn fprem_and_fprem1_quotient_bits() {
    let mut env = Env::new(cw(3, 0));
    // 11 / 3: FPREM truncates (q = 3 = 011, r = 2); FPREM1 rounds (q = 4 = 100, r = −1).
    let r = f80::remainder(&mut env, d(11.0), d(3.0), false);
    assert_eq!((r.value, r.q, r.complete), (d(2.0), 3, true));
    let r = f80::remainder(&mut env, d(11.0), d(3.0), true);
    assert_eq!((r.value, r.q, r.complete), (d(-1.0), 4, true));
    // −7.5 rem 2: FPREM q = 3, r = −1.5; FPREM1 q = 4 (tie 3.75 → 4), r = 0.5.
    let r = f80::remainder(&mut env, d(-7.5), d(2.0), false);
    assert_eq!((r.value, r.q), (d(-1.5), 3));
    let r = f80::remainder(&mut env, d(-7.5), d(2.0), true);
    assert_eq!((r.value, r.q), (d(0.5), 4));
    // A tie: 5 rem 2 = 2.5 → even quotient 2, remainder +1.
    let r = f80::remainder(&mut env, d(5.0), d(2.0), true);
    assert_eq!((r.value, r.q), (d(1.0), 2));
    // 3 rem 4 under FPREM1 (exponent difference −1): 0.75 rounds to 1, remainder −1.
    let r = f80::remainder(&mut env, d(3.0), d(4.0), true);
    assert_eq!((r.value, r.q), (d(-1.0), 1));
    assert_eq!(env.flags, 0, "remainders are exact");
}

#[test]
fn integer_conversions() {
    let mut env = Env::new(cw(3, 0));
    assert_eq!(f80::to_int(&mut env, d(-32768.0), 16), Some(-32768));
    assert_eq!(f80::to_int(&mut env, d(32767.4), 16), Some(32767));
    assert_eq!(env.flags, PE);
    for (v, bits) in [
        (32768.0, 16),
        (32767.5, 16),
        (2147483648.0, 32),
        (9.3e18, 64),
    ] {
        let mut env = Env::new(cw(3, 0));
        assert_eq!(f80::to_int(&mut env, d(v), bits), None, "{v}");
        assert_eq!(env.flags & IE, IE);
    }
    let mut env = Env::new(cw(3, 0));
    let m = F80::new(true, 16383 + 63, 1 << 63); // −2^63 fits
    assert_eq!(f80::to_int(&mut env, m, 64), Some(i64::MIN));
    assert_eq!(f80::to_int(&mut env, m.neg(), 64), None);
    assert_eq!(f80::to_int(&mut env, F80::INDEFINITE, 32), None);
    // Every rounding mode on ±2.5.
    for (rc, p, n) in [(0, 2, -2), (1, 2, -3), (2, 3, -2), (3, 2, -2)] {
        let mut env = Env::new(cw(3, rc));
        assert_eq!(f80::to_int(&mut env, d(2.5), 32), Some(p));
        assert_eq!(f80::to_int(&mut env, d(-2.5), 32), Some(n));
        assert_eq!(f80::round_to_int(&mut env, d(-2.5)), d(n as f64));
    }
    assert_eq!(f80::from_int(i64::MIN), m);
    assert_eq!(to_d(f80::from_int(-12345)), -12345.0);
}

#[test]
fn bcd_round_trip_and_indefinite() {
    let mut env = Env::new(cw(3, 0));
    let v = f80::from_int(-123_456_789_012_345_678);
    let b = f80::to_bcd(&mut env, v).expect("in range");
    assert_eq!(
        b,
        [0x78, 0x56, 0x34, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12, 0x80]
    );
    assert_eq!(f80::from_bcd(b), v);
    assert_eq!(f80::to_bcd(&mut env, d(1e18)), None);
    assert_eq!(env.flags & IE, IE);
    assert_eq!(f80::from_bcd([0; 10]), F80::ZERO);
    let mut neg0 = [0u8; 10];
    neg0[9] = 0x80;
    assert_eq!(f80::from_bcd(neg0), d(-0.0));
}

#[test]
fn fxam_classes_and_special_encodings() {
    let cases = [
        (F80::ZERO, 0b100),
        (F80::ONE, 0b010),
        (F80::INFINITY.neg(), 0b011),
        (F80::INDEFINITE, 0b001),
        (F80::new(false, 0, 1), 0b110),       // denormal
        (F80::new(false, 0, 1 << 63), 0b110), // pseudo-denormal
        (F80::new(false, 0x1234, 0x4000_0000_0000_0000), 0), // unnormal
        (F80::new(false, 0x7FFF, 0), 0),      // pseudo-infinity
        (F80::new(false, 0x7FFF, 0x4000_0000_0000_0000), 0), // pseudo-NaN
    ];
    for (v, c) in cases {
        assert_eq!(f80::examine(v), c, "{v:?}");
    }
    assert_eq!(F80::new(false, 0, 1 << 63).class(), Class::PseudoDenormal);
}

#[test]
fn pseudo_denormals_are_read_as_exponent_one() {
    let pd = F80::new(false, 0, 1 << 63);
    let min = F80::new(false, 1, 1 << 63);
    let mut env = Env::new(cw(3, 0));
    assert_eq!(f80::compare(&mut env, pd, min, false), Cmp::Equal);
    assert_eq!(env.flags, DE);
    let mut env = Env::new(cw(3, 0));
    assert_eq!(f80::add(&mut env, pd, F80::ZERO, false), min, "normalized");
    // With DE unmasked the operation does not happen.
    let mut env = Env::new(cw(3, 0) & !(DE as u16));
    f80::add(&mut env, pd, F80::ONE, false);
    assert!(env.blocked());
}

#[test]
fn constants_round_per_rounding_control() {
    use f80::Rounding::*;
    let pi = |rc| f80::constant(rc, f80::PI.0, f80::PI.1).sig;
    assert_eq!(pi(Nearest), 0xC90F_DAA2_2168_C235);
    assert_eq!(pi(Down), 0xC90F_DAA2_2168_C234);
    assert_eq!(pi(Zero), 0xC90F_DAA2_2168_C234);
    assert_eq!(pi(Up), 0xC90F_DAA2_2168_C235);
    let l2t = |rc| f80::constant(rc, f80::L2T.0, f80::L2T.1).sig;
    assert_eq!(l2t(Nearest), 0xD49A_784B_CD1B_8AFE);
    assert_eq!(l2t(Up), 0xD49A_784B_CD1B_8AFF);
    let ln2 = f80::constant(Nearest, f80::LN2.0, f80::LN2.1);
    assert_eq!((ln2.se, ln2.sig), (0x3FFE, 0xB172_17F7_D1CF_79AC));
    // The 128-bit constants are the true values: π's matches 3.14159… as a double.
    let mut env = Env::new(cw(3, 0));
    let pi = f80::constant(Nearest, f80::PI.0, f80::PI.1);
    let as_double = f64::from_bits(f80::to_ieee(&mut env, pi, false));
    assert_eq!(as_double, std::f64::consts::PI);
}

#[test]
fn ieee_loads_and_stores() {
    let mut env = Env::new(cw(3, 0));
    // A double denormal loads exactly, with DE.
    let v = f80::from_ieee(&mut env, 1, false);
    assert_eq!(v, F80::new(false, (16383 - 1074) as u16, 1 << 63));
    assert_eq!(env.flags, DE);
    // A single SNaN loads quieted, with IE.
    let mut env = Env::new(cw(3, 0));
    let v = f80::from_ieee(&mut env, 0x7F80_0001, true);
    assert_eq!((v.class(), env.flags), (Class::QNaN, IE));
    // 1/3 stored as single rounds per RC.
    let third = {
        let mut env = Env::new(cw(3, 0));
        f80::div(&mut env, F80::ONE, d(3.0))
    };
    for (rc, bits) in [
        (0, 0x3EAA_AAAB),
        (1, 0x3EAA_AAAA),
        (2, 0x3EAA_AAAB),
        (3, 0x3EAA_AAAA),
    ] {
        let mut env = Env::new(cw(3, rc));
        assert_eq!(f80::to_ieee(&mut env, third, true), bits, "rc {rc}");
    }
    // Overflow to single: ∞ with OE.
    let mut env = Env::new(cw(3, 0));
    assert_eq!(f80::to_ieee(&mut env, d(1e300), true), 0x7F80_0000);
    assert_eq!(env.flags & OE, OE);
}

#[test]
fn scale_and_extract() {
    let mut env = Env::new(cw(3, 0));
    assert_eq!(
        f80::scale(&mut env, d(3.0), d(4.9)),
        d(48.0),
        "truncated exponent"
    );
    assert_eq!(f80::scale(&mut env, d(3.0), d(-2.0)), d(0.75));
    let (e, m) = f80::extract(&mut env, d(-48.0));
    assert_eq!((e, m), (d(5.0), d(-1.5)));
    let mut env = Env::new(cw(3, 0));
    let (e, _) = f80::extract(&mut env, F80::ZERO);
    assert_eq!((e, env.flags), (F80::INFINITY.neg(), ZE));
    let mut env = Env::new(cw(3, 0));
    assert_eq!(
        f80::scale(&mut env, F80::ZERO, F80::INFINITY),
        F80::INDEFINITE
    );
}
