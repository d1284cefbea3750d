//! The command-line front end: a prompt with line editing and history (rustyline) when
//! standard input is a terminal, plain lines otherwise (scripts, tests), and Ctrl-C to break
//! into a running machine.

use super::{commands, inspect, Debugger, Outcome, StopReason};
use crate::machine::Pc;
use std::io::{self, BufRead, IsTerminal, Write};
use std::sync::atomic::Ordering;

/// Installs the Ctrl-C handler that stops a running machine (once per process).
pub fn install_ctrl_c(dbg: &Debugger) {
    let flag = dbg.interrupt.clone();
    // A second call (a second debugger in one process) keeps the first handler.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
}

/// Runs the prompt until `q` or the end of input. Returns the last reason the machine
/// stopped for (the caller turns a guest exit into the process status).
pub fn run(pc: &mut Pc, dbg: &mut Debugger) -> io::Result<Option<StopReason>> {
    install_ctrl_c(dbg);
    let stdout = io::stdout();
    {
        let mut out = stdout.lock();
        writeln!(
            out,
            "Glassbox debugger. `help` lists the commands; the machine is stopped before its first instruction."
        )?;
        writeln!(
            out,
            "next at instruction {}: {}",
            pc.cpu.instructions,
            inspect::next_line(pc)
        )?;
    }
    let mut last = None;
    let mut n = 1u64;
    if io::stdin().is_terminal() {
        let mut ed = rustyline::DefaultEditor::new().map_err(io::Error::other)?;
        let history =
            std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".glassbox_history"));
        if let Some(h) = &history {
            let _ = ed.load_history(h);
        }
        let mut previous = String::new();
        loop {
            let line = match ed.readline(&format!("<glassbox:{n}> ")) {
                Ok(l) => l,
                Err(rustyline::error::ReadlineError::Interrupted) => continue,
                Err(rustyline::error::ReadlineError::Eof) => break,
                Err(e) => return Err(io::Error::other(e)),
            };
            // An empty line repeats the last command, as in Bochs (handy for `s`).
            let line = if line.trim().is_empty() {
                previous.clone()
            } else {
                line
            };
            if line.trim().is_empty() {
                continue;
            }
            let _ = ed.add_history_entry(line.as_str());
            previous = line.clone();
            n += 1;
            let mut out = stdout.lock();
            match dbg.command(pc, &line, &mut out) {
                Outcome::Quit => break,
                Outcome::Ran(r) => last = Some(r),
                Outcome::Prompt => {}
            }
            out.flush()?;
        }
        if let Some(h) = &history {
            let _ = ed.save_history(h);
        }
    } else {
        for line in io::stdin().lock().lines() {
            let line = line?;
            let mut out = stdout.lock();
            // Echo the command so the output reads as a transcript.
            writeln!(out, "<glassbox:{n}> {}", line.trim_end())?;
            n += 1;
            match dbg.command(pc, &line, &mut out) {
                Outcome::Quit => break,
                Outcome::Ran(r) => last = Some(r),
                Outcome::Prompt => {}
            }
            out.flush()?;
        }
    }
    pc.flush();
    Ok(last)
}

/// Runs the machine under the debugger with no prompt (`--trace` alone): until it stops on
/// its own or Ctrl-C. Returns why it stopped.
pub fn run_unattended(pc: &mut Pc, dbg: &mut Debugger) -> StopReason {
    install_ctrl_c(dbg);
    let mut sink = io::stdout();
    let r = dbg.resume(pc, super::Resume::Continue, &mut sink);
    if !r.is_final() {
        commands::report_stop(pc, &r, &mut io::stderr());
    }
    pc.flush();
    r
}
