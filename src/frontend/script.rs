//! Scripted input: `--type "KEYS"` and `--script FILE`, the way a tester drives a DOS program
//! unattended.
//!
//! Keys are text with Rust-style escapes (`\n` is Enter, `\t` Tab, `\\`, `\"`) and named keys
//! in angle brackets: `<esc>`, `<f1>`, `<up>`, `<ctrl+c>`, `<ctrl+alt+del>`, `<lt>` for a
//! literal `<`. A script has one command per line (`#` starts a comment):
//!
//! ```text
//! wait "A:\>"          # until the text is on the screen or in the serial output
//! wait "Done" 30000    # ... with a timeout in virtual milliseconds (default 60000)
//! type "dir\n"
//! sleep 500            # virtual milliseconds
//! dump screen.txt      # the screen now (.txt or .png)
//! quit
//! ```

use std::fmt;
use std::path::PathBuf;

/// One thing to type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Typed {
    /// A character (typed with Shift when the US layout needs it).
    Char(char),
    /// A named key with modifiers held: `["ctrl", "alt", "del"]` (the key is last).
    Combo(Vec<String>),
}

/// One script command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Wait until the text is on the screen or in the serial output.
    Wait {
        /// The text.
        text: String,
        /// Give up (an error) after this many virtual milliseconds.
        timeout_ms: u64,
    },
    /// Type keys.
    Type(Vec<Typed>),
    /// Let virtual time pass.
    Sleep(u64),
    /// Write the screen to a file.
    Dump(PathBuf),
    /// End the run.
    Quit,
}

/// A script line that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptError {
    /// Line number (1-based; 0 for `--type`).
    pub line: usize,
    /// What is wrong.
    pub msg: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.msg)
        } else {
            write!(f, "line {}: {}", self.line, self.msg)
        }
    }
}

impl std::error::Error for ScriptError {}

/// The default `wait` timeout in virtual milliseconds.
pub const DEFAULT_WAIT_MS: u64 = 60_000;

/// Parses a quoted string with Rust-style escapes at the start of `s`; returns it and the rest.
fn quoted(s: &str) -> Result<(String, &str), String> {
    let s = s.trim_start();
    let Some(body) = s.strip_prefix('"') else {
        return Err("expected a quoted string".into());
    };
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &body[i + 1..])),
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, '0')) => out.push('\0'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, '"')) => out.push('"'),
                Some((_, '\'')) => out.push('\''),
                Some((_, 'x')) => {
                    let h: String = chars.by_ref().take(2).map(|(_, c)| c).collect();
                    let v = u8::from_str_radix(&h, 16)
                        .map_err(|_| format!("`\\x{h}` is not a hex escape"))?;
                    out.push(v as char);
                }
                Some((_, 'u')) => {
                    let rest: String = chars
                        .by_ref()
                        .map(|(_, c)| c)
                        .take_while(|&c| c != '}')
                        .collect();
                    let hex = rest.trim_start_matches('{');
                    let c = u32::from_str_radix(hex, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| format!("`\\u{{{hex}}}` is not a character"))?;
                    out.push(c);
                }
                Some((_, other)) => return Err(format!("unknown escape `\\{other}`")),
                None => break,
            },
            c => out.push(c),
        }
    }
    Err("the string has no closing quote".into())
}

/// Splits typed text into characters and `<named>` keys.
pub fn parse_keys(text: &str) -> Result<Vec<Typed>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let end = rest.find('>').ok_or_else(|| {
                format!("`{rest}`: a named key needs a closing `>` (`<lt>` types `<`)")
            })?;
            let name = rest[1..end].trim().to_ascii_lowercase();
            if name.is_empty() {
                return Err("`<>` names no key".into());
            }
            if name == "lt" {
                out.push(Typed::Char('<'));
            } else if name == "gt" {
                out.push(Typed::Char('>'));
            } else {
                out.push(Typed::Combo(name.split('+').map(str::to_string).collect()));
            }
            rest = &rest[end + 1..];
        } else {
            out.push(Typed::Char(c));
            rest = &rest[c.len_utf8()..];
        }
    }
    Ok(out)
}

/// Parses `--type` text (escapes already applied by the shell are kept; `\n` in it is Enter).
pub fn parse_type_arg(text: &str) -> Result<Vec<Typed>, ScriptError> {
    let unescaped = quoted(&format!("\"{}\"", text.replace('"', "\\\"")))
        .map(|(s, _)| s)
        .map_err(|msg| ScriptError { line: 0, msg })?;
    parse_keys(&unescaped).map_err(|msg| ScriptError { line: 0, msg })
}

/// Parses a whole script.
pub fn parse_script(text: &str) -> Result<Vec<Command>, ScriptError> {
    let mut cmds = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let err = |msg: String| ScriptError { line, msg };
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (word, rest) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
        let cmd = match word {
            "wait" => {
                let (text, after) = quoted(rest).map_err(err)?;
                let after = strip_comment(after);
                let timeout_ms = if after.is_empty() {
                    DEFAULT_WAIT_MS
                } else {
                    after
                        .parse()
                        .map_err(|_| err(format!("`{after}` is not a timeout in milliseconds")))?
                };
                if text.is_empty() {
                    return Err(err("wait needs some text".into()));
                }
                Command::Wait { text, timeout_ms }
            }
            "type" => {
                let (text, after) = quoted(rest).map_err(err)?;
                if !strip_comment(after).is_empty() {
                    return Err(err("type takes one quoted string".into()));
                }
                Command::Type(parse_keys(&text).map_err(err)?)
            }
            "sleep" => {
                let r = strip_comment(rest);
                Command::Sleep(
                    r.parse()
                        .map_err(|_| err(format!("`{r}` is not a time in milliseconds")))?,
                )
            }
            "dump" => {
                let r = strip_comment(rest);
                let path = if r.starts_with('"') {
                    quoted(r).map_err(err)?.0
                } else {
                    r.to_string()
                };
                if path.is_empty() {
                    return Err(err("dump needs a file name".into()));
                }
                Command::Dump(PathBuf::from(path))
            }
            "quit" => Command::Quit,
            other => {
                return Err(err(format!(
                    "unknown command `{other}` (wait, type, sleep, dump, quit)"
                )))
            }
        };
        cmds.push(cmd);
    }
    Ok(cmds)
}

fn strip_comment(s: &str) -> &str {
    s.split('#').next().unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_escapes() {
        assert_eq!(
            parse_keys("ab<Enter><ctrl+c><lt>").unwrap(),
            vec![
                Typed::Char('a'),
                Typed::Char('b'),
                Typed::Combo(vec!["enter".into()]),
                Typed::Combo(vec!["ctrl".into(), "c".into()]),
                Typed::Char('<'),
            ]
        );
        assert!(parse_keys("<oops").is_err());
        assert_eq!(
            parse_type_arg(r"dir\n").unwrap(),
            vec![
                Typed::Char('d'),
                Typed::Char('i'),
                Typed::Char('r'),
                Typed::Char('\n')
            ]
        );
    }

    #[test]
    fn a_script() {
        let s = parse_script(
            "# boot and list\nwait \"A:\\\\>\"\ntype \"dir\\n\"   # list\nwait \"bytes free\" 5000\nsleep 250\ndump \"out screen.txt\"\ndump shot.png\nquit\n",
        )
        .unwrap();
        assert_eq!(
            s,
            vec![
                Command::Wait {
                    text: "A:\\>".into(),
                    timeout_ms: DEFAULT_WAIT_MS
                },
                Command::Type(vec![
                    Typed::Char('d'),
                    Typed::Char('i'),
                    Typed::Char('r'),
                    Typed::Char('\n')
                ]),
                Command::Wait {
                    text: "bytes free".into(),
                    timeout_ms: 5000
                },
                Command::Sleep(250),
                Command::Dump("out screen.txt".into()),
                Command::Dump("shot.png".into()),
                Command::Quit,
            ]
        );
    }

    #[test]
    fn script_errors_name_the_line() {
        let e = parse_script("wait \"x\"\nfly away\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.msg.contains("fly"));
        assert_eq!(parse_script("type \"abc").unwrap_err().line, 1);
        assert!(parse_script("sleep soon").unwrap_err().msg.contains("soon"));
        assert!(parse_script("wait \"\\q\"")
            .unwrap_err()
            .msg
            .contains("\\q"));
    }
}
