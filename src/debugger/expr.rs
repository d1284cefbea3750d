//! Debugger expressions: numbers, registers, `SEG:OFF`, memory `[addr]` and C operators.
//!
//! ```text
//! 0x7c00  31  7c00      numbers: 0x.. hex, 0b.. binary, otherwise decimal; digits with a-f are hex
//! 0000:7C00             SEG:OFF, the linear address; both halves are read as hex
//! eax ax al ah cs eip   registers (a leading `$` is allowed, as in gdb)
//! zf cf ...             single flags (0 or 1)
//! [addr] byte[addr] word[addr] dword[addr]
//!                       memory at a linear address ([..] is a dword)
//! + - * / % & | ^ ~ << >> == != < <= > >= && || !  ( )
//! ```
//!
//! Expressions are parsed once (breakpoint conditions) and evaluated against a [`Context`].

use crate::cpu::decode::seg;
use crate::machine::Pc;
use std::fmt;

/// A parse or evaluation error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError(pub String);

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExprError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ExprError> {
    Err(ExprError(msg.into()))
}

/// A register (or flag) an expression can read and `set` can write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg {
    /// EAX..EDI by encoding number.
    Gpr32(u8),
    /// AX..DI.
    Gpr16(u8),
    /// AL, CL, DL, BL, AH, CH, DH, BH.
    Gpr8(u8),
    /// ES, CS, SS, DS, FS, GS (the selector).
    Seg(u8),
    /// EIP.
    Eip,
    /// IP (low 16 bits of EIP).
    Ip,
    /// EFLAGS.
    Eflags,
    /// One EFLAGS bit.
    Flag(u8),
    /// CR0..CR4.
    Cr(u8),
    /// DR0..DR7.
    Dr(u8),
}

const GPR32: [&str; 8] = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
const GPR16: [&str; 8] = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
const GPR8: [&str; 8] = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"];
const SEGS: [&str; 6] = ["es", "cs", "ss", "ds", "fs", "gs"];
const FLAGS: [(&str, u8); 10] = [
    ("cf", 0),
    ("pf", 2),
    ("af", 4),
    ("zf", 6),
    ("sf", 7),
    ("tf", 8),
    ("if", 9),
    ("df", 10),
    ("of", 11),
    ("ac", 18),
];

impl Reg {
    /// The register called `name` (any case, optional `$`).
    pub fn parse(name: &str) -> Option<Reg> {
        let n = name.trim_start_matches('$').to_ascii_lowercase();
        let n = n.as_str();
        let find = |t: &[&str]| t.iter().position(|x| *x == n).map(|i| i as u8);
        if let Some(i) = find(&GPR32) {
            return Some(Reg::Gpr32(i));
        }
        if let Some(i) = find(&GPR16) {
            return Some(Reg::Gpr16(i));
        }
        if let Some(i) = find(&GPR8) {
            return Some(Reg::Gpr8(i));
        }
        if let Some(i) = find(&SEGS) {
            return Some(Reg::Seg(i));
        }
        if let Some(&(_, bit)) = FLAGS.iter().find(|(f, _)| *f == n) {
            return Some(Reg::Flag(bit));
        }
        Some(match n {
            "eip" | "pc" => Reg::Eip,
            "ip" => Reg::Ip,
            "eflags" | "flags" => Reg::Eflags,
            _ => {
                let (prefix, num) = n.split_at(n.len().min(2));
                let k: u8 = num.parse().ok()?;
                match prefix {
                    "cr" if k <= 4 => Reg::Cr(k),
                    "dr" if k <= 7 => Reg::Dr(k),
                    _ => return None,
                }
            }
        })
    }

    /// The register's value in `pc`.
    pub fn read(self, pc: &Pc) -> u32 {
        let c = &pc.cpu;
        match self {
            Reg::Gpr32(i) => c.regs[i as usize],
            Reg::Gpr16(i) => c.r16(i) as u32,
            Reg::Gpr8(i) => c.r8(i) as u32,
            Reg::Seg(i) => c.segs[i as usize].selector as u32,
            Reg::Eip => c.eip,
            Reg::Ip => c.eip & 0xFFFF,
            Reg::Eflags => c.eflags(),
            Reg::Flag(b) => (c.eflags() >> b) & 1,
            Reg::Cr(i) => c.cr[i as usize],
            Reg::Dr(i) => c.dr[i as usize],
        }
    }

    /// Sets the register in `pc`. A segment register in real or virtual-8086 mode gets the
    /// base `selector * 16`; in protected mode only the selector changes (the descriptor cache
    /// is kept, as the user asked for a register, not a segment load).
    pub fn write(self, pc: &mut Pc, v: u32) -> Result<(), ExprError> {
        let c = &mut pc.cpu;
        match self {
            Reg::Gpr32(i) => c.regs[i as usize] = v,
            Reg::Gpr16(i) => c.set_r16(i, v as u16),
            Reg::Gpr8(i) => c.set_r8(i, v as u8),
            Reg::Seg(i) => {
                if v > 0xFFFF {
                    return err(format!("{v:#x} does not fit a 16-bit selector"));
                }
                if !c.protected() || c.eflags() & (1 << 17) != 0 {
                    c.load_seg_real(i, v as u16);
                } else {
                    c.segs[i as usize].selector = v as u16;
                }
            }
            Reg::Eip => c.eip = v,
            Reg::Ip => c.eip = (c.eip & 0xFFFF_0000) | (v & 0xFFFF),
            Reg::Eflags => c.flags.set((v & !0x8028) | 2),
            Reg::Flag(b) => {
                if v > 1 {
                    return err("a flag is 0 or 1");
                }
                let f = (c.eflags() & !(1 << b)) | (v << b);
                c.flags.set(f);
            }
            Reg::Cr(i) => c.cr[i as usize] = v,
            Reg::Dr(i) => c.dr[i as usize] = v,
        }
        if matches!(self, Reg::Cr(_) | Reg::Eflags | Reg::Flag(_)) {
            // The mode, CPL, paging switch and TLB follow the new value.
            c.state_loaded();
        }
        if self == Reg::Seg(seg::CS) || self == Reg::Eip || self == Reg::Ip {
            // A new CS:EIP is not in the middle of a REP instruction any more.
            c.rep_pending = false;
        }
        Ok(())
    }
}

/// A parsed expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// A number (`plain` when written without a radix prefix: `SEG:OFF` re-reads it as hex).
    Num {
        /// Its value.
        value: u64,
        /// The digits, when written without a prefix.
        plain: Option<String>,
    },
    /// A register.
    Reg(Reg),
    /// `size` bytes of memory at a linear address.
    Mem(u8, Box<Expr>),
    /// `SEG:OFF` as a linear address.
    SegOff(Box<Expr>, Box<Expr>),
    /// A unary operator: `-`, `~`, `!`.
    Unary(char, Box<Expr>),
    /// A binary operator.
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

/// Binary operators, loosest binding last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `&`
    And,
    /// `^`
    Xor,
    /// `|`
    Or,
    /// `&&`
    LAnd,
    /// `||`
    LOr,
}

impl BinOp {
    fn precedence(self) -> u8 {
        use BinOp::*;
        match self {
            Mul | Div | Rem => 10,
            Add | Sub => 9,
            Shl | Shr => 8,
            Lt | Le | Gt | Ge => 7,
            Eq | Ne => 6,
            And => 5,
            Xor => 4,
            Or => 3,
            LAnd => 2,
            LOr => 1,
        }
    }
}

/// What an expression is evaluated against.
pub trait Context {
    /// A register's value.
    fn reg(&self, r: Reg) -> u64;
    /// `size` bytes at a linear address, or `None` where memory cannot be read.
    fn read(&self, linear: u32, size: u8) -> Option<u64>;
    /// The linear base of segment selector `sel` in the current mode.
    fn seg_base(&self, sel: u16) -> Option<u32>;
}

/// A machine as an expression context.
pub struct PcContext<'a>(pub &'a Pc);

impl Context for PcContext<'_> {
    fn reg(&self, r: Reg) -> u64 {
        r.read(self.0) as u64
    }
    fn read(&self, linear: u32, size: u8) -> Option<u64> {
        super::inspect::read_linear(self.0, linear, size)
    }
    fn seg_base(&self, sel: u16) -> Option<u32> {
        super::inspect::segment_base(self.0, sel)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Num(u64, Option<String>),
    Ident(String),
    Op(&'static str),
}

const OPS: [&str; 24] = [
    "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "+", "-", "*", "/", "%", "&", "|", "^", "~",
    "!", "<", ">", "(", ")", "[", "]",
];

fn lex(s: &str) -> Result<Vec<Tok>, ExprError> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == ':' {
            out.push(Tok::Op(":"));
            i += 1;
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < b.len()
                && ((b[i] as char).is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$')
            {
                i += 1;
            }
            let word = &s[start..i];
            if c.is_ascii_digit() {
                out.push(number(word)?);
            } else {
                out.push(Tok::Ident(word.to_string()));
            }
            continue;
        }
        match OPS.iter().find(|op| s[i..].starts_with(**op)) {
            Some(op) => {
                out.push(Tok::Op(op));
                i += op.len();
            }
            None => return err(format!("unexpected `{c}` in expression")),
        }
    }
    Ok(out)
}

fn number(w: &str) -> Result<Tok, ExprError> {
    let lower = w.to_ascii_lowercase();
    let bad = || ExprError(format!("`{w}` is not a number"));
    if let Some(h) = lower.strip_prefix("0x") {
        return Ok(Tok::Num(
            u64::from_str_radix(h, 16).map_err(|_| bad())?,
            None,
        ));
    }
    if let Some(b) = lower.strip_prefix("0b") {
        return Ok(Tok::Num(
            u64::from_str_radix(b, 2).map_err(|_| bad())?,
            None,
        ));
    }
    if lower.bytes().all(|c| c.is_ascii_digit()) {
        let v = lower.parse().map_err(|_| bad())?;
        return Ok(Tok::Num(v, Some(lower)));
    }
    // Digits with a-f in them can only be hex (7c00, 0fff0).
    let v = u64::from_str_radix(&lower, 16).map_err(|_| bad())?;
    Ok(Tok::Num(v, None))
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, op: &str) -> Result<(), ExprError> {
        match self.next() {
            Some(Tok::Op(o)) if o == op => Ok(()),
            _ => err(format!("expected `{op}`")),
        }
    }

    fn binop(&self) -> Option<BinOp> {
        use BinOp::*;
        Some(match self.peek()? {
            Tok::Op(o) => match *o {
                "*" => Mul,
                "/" => Div,
                "%" => Rem,
                "+" => Add,
                "-" => Sub,
                "<<" => Shl,
                ">>" => Shr,
                "<" => Lt,
                "<=" => Le,
                ">" => Gt,
                ">=" => Ge,
                "==" => Eq,
                "!=" => Ne,
                "&" => And,
                "^" => Xor,
                "|" => Or,
                "&&" => LAnd,
                "||" => LOr,
                _ => return None,
            },
            _ => return None,
        })
    }

    /// `seg:off` binds loosest of all.
    fn full(&mut self) -> Result<Expr, ExprError> {
        let left = self.binary(0)?;
        if self.peek() == Some(&Tok::Op(":")) {
            self.pos += 1;
            let right = self.binary(0)?;
            return Ok(Expr::SegOff(
                Box::new(as_hex(left)),
                Box::new(as_hex(right)),
            ));
        }
        Ok(left)
    }

    fn binary(&mut self, min: u8) -> Result<Expr, ExprError> {
        let mut left = self.unary()?;
        while let Some(op) = self.binop() {
            let p = op.precedence();
            if p <= min {
                break;
            }
            self.pos += 1;
            let right = self.binary(p)?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        match self.next() {
            Some(Tok::Op(o @ ("-" | "~" | "!"))) => {
                let c = o.chars().next().unwrap_or('-');
                Ok(Expr::Unary(c, Box::new(self.unary()?)))
            }
            Some(Tok::Op("+")) => self.unary(),
            Some(Tok::Op("(")) => {
                let e = self.full()?;
                self.expect(")")?;
                Ok(e)
            }
            Some(Tok::Op("[")) => self.memory(4),
            Some(Tok::Num(value, plain)) => Ok(Expr::Num { value, plain }),
            Some(Tok::Ident(name)) => {
                let size = match name.to_ascii_lowercase().as_str() {
                    "byte" | "b" => Some(1),
                    "word" | "w" => Some(2),
                    "dword" | "d" => Some(4),
                    _ => None,
                };
                if let (Some(size), Some(Tok::Op("["))) = (size, self.peek()) {
                    self.pos += 1;
                    return self.memory(size);
                }
                match Reg::parse(&name) {
                    Some(r) => Ok(Expr::Reg(r)),
                    // Hex digits starting with a letter (fff0): registers win (write 0xcf
                    // for the number, cf is the carry flag).
                    None => match u64::from_str_radix(&name, 16) {
                        Ok(value) => Ok(Expr::Num { value, plain: None }),
                        Err(_) => err(format!("`{name}` is not a register or number")),
                    },
                }
            }
            Some(Tok::Op(o)) => err(format!("unexpected `{o}`")),
            None => err("expression ends too early"),
        }
    }

    fn memory(&mut self, size: u8) -> Result<Expr, ExprError> {
        let e = self.full()?;
        self.expect("]")?;
        Ok(Expr::Mem(size, Box::new(e)))
    }
}

/// A plain decimal-looking literal in `SEG:OFF` is hex (0000:1000 means 0x1000).
fn as_hex(e: Expr) -> Expr {
    match e {
        Expr::Num {
            plain: Some(digits),
            value,
        } => Expr::Num {
            value: u64::from_str_radix(&digits, 16).unwrap_or(value),
            plain: None,
        },
        other => other,
    }
}

impl Expr {
    /// Parses a whole expression.
    pub fn parse(s: &str) -> Result<Expr, ExprError> {
        let toks = lex(s)?;
        if toks.is_empty() {
            return err("empty expression");
        }
        let mut p = Parser { toks, pos: 0 };
        let e = p.full()?;
        if p.pos < p.toks.len() {
            return err(format!("unexpected text after the expression in `{s}`"));
        }
        Ok(e)
    }

    /// The value (wrapping 64-bit arithmetic; comparisons give 0 or 1).
    pub fn eval(&self, cx: &dyn Context) -> Result<u64, ExprError> {
        Ok(match self {
            Expr::Num { value, .. } => *value,
            Expr::Reg(r) => cx.reg(*r),
            Expr::Mem(size, a) => {
                let addr = a.eval(cx)? as u32;
                match cx.read(addr, *size) {
                    Some(v) => v,
                    None => return err(format!("memory at {addr:#x} cannot be read")),
                }
            }
            Expr::SegOff(s, o) => {
                let sel = s.eval(cx)?;
                let off = o.eval(cx)?;
                if sel > 0xFFFF {
                    return err(format!("segment {sel:#x} does not fit 16 bits"));
                }
                let Some(base) = cx.seg_base(sel as u16) else {
                    return err(format!("selector {sel:#x} is not a usable descriptor"));
                };
                (base as u64).wrapping_add(off) & 0xFFFF_FFFF
            }
            Expr::Unary(op, e) => {
                let v = e.eval(cx)?;
                match op {
                    '-' => v.wrapping_neg(),
                    '~' => !v,
                    _ => (v == 0) as u64,
                }
            }
            Expr::Binary(op, a, b) => {
                let x = a.eval(cx)?;
                if *op == BinOp::LAnd && x == 0 {
                    return Ok(0);
                }
                if *op == BinOp::LOr && x != 0 {
                    return Ok(1);
                }
                let y = b.eval(cx)?;
                use BinOp::*;
                match op {
                    Mul => x.wrapping_mul(y),
                    Div | Rem if y == 0 => return err("division by zero"),
                    Div => x / y,
                    Rem => x % y,
                    Add => x.wrapping_add(y),
                    Sub => x.wrapping_sub(y),
                    Shl => x.checked_shl(y as u32).unwrap_or(0),
                    Shr => x.checked_shr(y as u32).unwrap_or(0),
                    Lt => (x < y) as u64,
                    Le => (x <= y) as u64,
                    Gt => (x > y) as u64,
                    Ge => (x >= y) as u64,
                    Eq => (x == y) as u64,
                    Ne => (x != y) as u64,
                    And => x & y,
                    Xor => x ^ y,
                    Or => x | y,
                    LAnd | LOr => (y != 0) as u64,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake;
    impl Context for Fake {
        fn reg(&self, r: Reg) -> u64 {
            match r {
                Reg::Gpr32(0) => 0x1234_5678,
                Reg::Gpr16(0) => 0x5678,
                Reg::Gpr8(4) => 0x56,
                Reg::Seg(1) => 0x07C0,
                _ => 0,
            }
        }
        fn read(&self, linear: u32, size: u8) -> Option<u64> {
            (linear < 0x1000)
                .then(|| ((linear as u64 & 0xFF) * 0x0101_0101) & ((1 << (8 * size)) - 1))
        }
        fn seg_base(&self, sel: u16) -> Option<u32> {
            Some((sel as u32) << 4)
        }
    }

    fn ev(s: &str) -> u64 {
        Expr::parse(s).unwrap().eval(&Fake).unwrap()
    }

    #[test]
    fn numbers_and_operators() {
        assert_eq!(ev("0x10 + 10"), 26);
        assert_eq!(ev("7c00"), 0x7C00);
        assert_eq!(ev("2 + 3 * 4"), 14);
        assert_eq!(ev("(2 + 3) * 4"), 20);
        assert_eq!(ev("1 << 4 | 1"), 17);
        assert_eq!(ev("-1 & 0xff"), 0xFF);
        assert_eq!(ev("3 == 3 && 2 < 1"), 0);
        assert_eq!(ev("!0"), 1);
        assert_eq!(ev("0b101"), 5);
    }

    #[test]
    fn registers_memory_and_segments() {
        assert_eq!(ev("eax"), 0x1234_5678);
        assert_eq!(ev("$ax + 1"), 0x5679);
        assert_eq!(ev("ah"), 0x56);
        assert_eq!(ev("cs:0"), 0x7C00);
        assert_eq!(ev("0000:7C00"), 0x7C00);
        assert_eq!(ev("0000:1000"), 0x1000, "SEG:OFF halves are hex");
        assert_eq!(ev("0x10:0x10"), 0x110);
        assert_eq!(ev("f000:fff0"), 0xFFFF0);
        assert_eq!(ev("cf"), 0, "flags win over hex");
        assert_eq!(ev("byte[0x12]"), 0x12);
        assert_eq!(ev("word[0x12]"), 0x1212);
        assert_eq!(ev("[0x12]"), 0x1212_1212);
        assert_eq!(ev("byte[ 0:0x34 ] + 1"), 0x35);
    }

    #[test]
    fn errors_are_clear() {
        assert!(Expr::parse("").is_err());
        assert!(Expr::parse("1 +").is_err());
        assert!(Expr::parse("foo").unwrap_err().0.contains("foo"));
        assert!(Expr::parse("(1").is_err());
        assert!(Expr::parse("1 2").is_err());
        let e = Expr::parse("[0x2000]").unwrap();
        assert!(e.eval(&Fake).unwrap_err().0.contains("0x2000"));
        assert!(Expr::parse("1/0").unwrap().eval(&Fake).is_err());
        assert!(Expr::parse("0x").is_err());
    }

    #[test]
    fn register_names() {
        assert_eq!(Reg::parse("EAX"), Some(Reg::Gpr32(0)));
        assert_eq!(Reg::parse("bh"), Some(Reg::Gpr8(7)));
        assert_eq!(Reg::parse("cr3"), Some(Reg::Cr(3)));
        assert_eq!(Reg::parse("dr7"), Some(Reg::Dr(7)));
        assert_eq!(Reg::parse("zf"), Some(Reg::Flag(6)));
        assert_eq!(Reg::parse("cr9"), None);
        assert_eq!(Reg::parse("xyz"), None);
    }
}
