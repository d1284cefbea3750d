//! Front ends: what the user sees and types — the screen (terminal text, dumps), scripted
//! input (`--type`, `--script`), and the loop that runs the machine between them.
//!
//! The machine runs in slices of virtual time ([`Pc::run_until`]); between slices the loop
//! feeds scripted keys to the keyboard controller (one key event when the keyboard has
//! delivered the previous one), checks `wait` conditions against the screen and the serial
//! output, and redraws the terminal. With a screen the user watches, virtual time is paced to
//! the wall clock; headless runs go as fast as the host allows. Slices never change what the
//! guest does: the same inputs at the same virtual times give the same run.

pub mod audio;
pub mod screen;
pub mod script;
pub mod terminal;
pub mod window;

use crate::machine::config::DisplayKind;
use crate::machine::{Pc, RunLimits, Stop};
use anyhow::{bail, Context, Result};
use glassbox_devices::i8042::{key_from_name, keys_for_char, Key};
use script::{Command, Typed};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a run is presented and driven.
pub struct Options {
    /// Which screen front end runs.
    pub display: DisplayKind,
    /// Scripted commands, in order (`--type` becomes one `type`).
    pub script: Vec<Command>,
    /// Write the final screen here (`.txt` or `.png`).
    pub screen_dump: Option<PathBuf>,
    /// Instruction limit of the whole run.
    pub limits: RunLimits,
    /// Record the PC speaker to this WAV file.
    pub speaker_wav: Option<PathBuf>,
}

/// Key events for typed text: Shift around shifted characters, modifiers around combos.
pub fn key_events(typed: &[Typed]) -> Result<Vec<(Key, bool)>, String> {
    let mut v = Vec::new();
    for t in typed {
        match t {
            Typed::Char(c) => {
                let (key, shift) = keys_for_char(*c)
                    .ok_or_else(|| format!("{c:?} cannot be typed on a US keyboard"))?;
                let shift_key = Key::LeftShift;
                if shift {
                    v.push((shift_key, true));
                }
                v.push((key, true));
                v.push((key, false));
                if shift {
                    v.push((shift_key, false));
                }
            }
            Typed::Combo(names) => {
                let keys: Vec<Key> = names
                    .iter()
                    .map(|n| key_from_name(n).ok_or_else(|| format!("<{n}> is not a key name")))
                    .collect::<Result<_, _>>()?;
                for &k in &keys {
                    v.push((k, true));
                }
                for &k in keys.iter().rev() {
                    v.push((k, false));
                }
            }
        }
    }
    Ok(v)
}

/// Writes the screen to `path`: `.txt` for a text mode, `.png` for any mode.
pub fn dump_screen(pc: &Pc, path: &Path) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("txt") => {
            let Some(t) = pc.text_screen() else {
                bail!(
                    "{}: the screen is in a graphics mode; dump it as .png",
                    path.display()
                );
            };
            screen::write_text(path, &t.lines())
                .with_context(|| format!("cannot write {}", path.display()))
        }
        Some("png") => {
            let mut frame = Vec::new();
            let (w, h) = pc.render(&mut frame);
            screen::write_png(path, w, h, &frame)
                .with_context(|| format!("cannot write {}", path.display()))
        }
        _ => bail!(
            "{}: a screen dump is a .txt (text modes) or .png file",
            path.display()
        ),
    }
}

/// Where the script is.
struct Runner {
    commands: VecDeque<Command>,
    /// Key events still to deliver.
    keys: VecDeque<(Key, bool)>,
    /// When the current `wait` or `sleep` began (cycle).
    since: Option<u64>,
}

/// Runs the machine under the front end until it stops, the script quits, or the
/// instruction limit is reached.
pub fn run(pc: &mut Pc, opts: Options) -> Result<Stop> {
    let hz = pc.clock_hz();
    // Ctrl-C ends the run cleanly (disk images are written back), not in the middle.
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    }
    let mut runner = Runner {
        commands: opts.script.into_iter().collect(),
        keys: VecDeque::new(),
        since: None,
    };
    let paced = opts.display != DisplayKind::None;
    let mut term = screen::TerminalScreen::new();
    let mut keyboard = (opts.display == DisplayKind::Text).then(terminal::TerminalInput::new);
    let mut win = match opts.display {
        DisplayKind::Window => Some(window::Screen::open("Glassbox")?),
        _ => None,
    };
    let started = Instant::now();
    let start_cycles = pc.cpu.cycles;
    let mut last_draw: Option<Instant> = None;
    // A screen someone watches also gets sound (with the `audio` feature).
    let mut sound = audio::Audio::new(opts.speaker_wav.as_deref(), paced)?;
    let stop = loop {
        // Finer slices while keys are being typed, so they arrive at a steady pace.
        let slice = if runner.keys.is_empty() {
            hz / 100
        } else {
            hz / 1000
        };
        let end = pc.cpu.cycles.saturating_add(slice.max(1));
        let stop = pc.run_until(end, opts.limits);
        sound.pump(pc)?;
        match stop {
            Stop::Slice => {}
            other => break other,
        }
        if interrupted.load(Ordering::Relaxed) {
            eprintln!("glassbox: interrupted; stopping the machine");
            break Stop::Shutdown;
        }
        if !runner.keys.is_empty() && pc.keyboard_idle() {
            if let Some((key, pressed)) = runner.keys.pop_front() {
                pc.key_event(key, pressed);
            }
        }
        if runner.keys.is_empty() && step_script(pc, &mut runner)? {
            break Stop::Shutdown;
        }
        if last_draw.is_none_or(|t| t.elapsed() >= Duration::from_millis(16)) {
            last_draw = Some(Instant::now());
            if opts.display == DisplayKind::Text {
                draw_text(pc, &mut term)?;
            }
            if let Some(k) = keyboard.as_mut() {
                if !k.poll(pc) {
                    break Stop::Shutdown;
                }
            }
            if let Some(w) = win.as_mut() {
                w.update(pc)?;
                if w.closed() {
                    break Stop::Shutdown;
                }
            }
        }
        if paced {
            let virtual_elapsed = (pc.cpu.cycles - start_cycles) as f64 / hz as f64;
            let ahead = virtual_elapsed - started.elapsed().as_secs_f64();
            if ahead > 0.001 {
                std::thread::sleep(Duration::from_secs_f64(ahead));
            }
        }
    };
    drop(keyboard);
    if opts.display == DisplayKind::Text {
        draw_text(pc, &mut term)?;
        term.finish(&mut std::io::stdout())?;
    }
    sound.finish()?;
    if let Some(path) = &opts.screen_dump {
        dump_screen(pc, path).context("--screen-dump")?;
    }
    Ok(stop)
}

fn draw_text(pc: &Pc, term: &mut screen::TerminalScreen) -> Result<()> {
    let mut out = std::io::stdout();
    match pc.text_screen() {
        Some(t) => term.draw(&mut out, &t.lines(), t.cursor)?,
        None => term.draw(
            &mut out,
            &["(graphics mode: use --display window or --screen-dump FILE.png)".to_string()],
            None,
        )?,
    }
    Ok(())
}

/// Advances the script; returns whether it asked to quit.
fn step_script(pc: &mut Pc, r: &mut Runner) -> Result<bool> {
    let hz = pc.clock_hz();
    while let Some(cmd) = r.commands.front() {
        let now = pc.cpu.cycles;
        match cmd {
            Command::Wait { text, timeout_ms } => {
                let since = *r.since.get_or_insert(now);
                let on_screen = pc.text_screen().is_some_and(|t| t.contains(text));
                if on_screen || pc.serial_output_contains(text) {
                    r.since = None;
                } else if (now - since) as u128 * 1000 >= *timeout_ms as u128 * hz as u128 {
                    let screen = pc
                        .text_screen()
                        .map(|t| t.lines().join("\n"))
                        .unwrap_or_else(|| "(graphics mode)".into());
                    bail!(
                        "script: waited {timeout_ms} ms (virtual) for {text:?}; the screen shows:\n{screen}"
                    );
                } else {
                    return Ok(false);
                }
            }
            Command::Type(typed) => {
                let events = key_events(typed).map_err(|e| anyhow::anyhow!("script: {e}"))?;
                r.keys.extend(events);
                r.commands.pop_front();
                return Ok(false);
            }
            Command::Sleep(ms) => {
                let since = *r.since.get_or_insert(now);
                if ((now - since) as u128) * 1000 < *ms as u128 * hz as u128 {
                    return Ok(false);
                }
                r.since = None;
            }
            Command::Dump(path) => dump_screen(pc, path).context("script dump")?,
            Command::Quit => return Ok(true),
        }
        r.commands.pop_front();
    }
    Ok(false)
}
