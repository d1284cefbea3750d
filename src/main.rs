//! The `glassbox` command line.
//!
//! Exit status of `glassbox run`: the guest's exit-port value `v` gives `(v << 1) | 1` (always
//! odd); 0 after a Bochs-port shutdown or a final HLT; 4 when `--max-instructions` stopped the
//! run; 6 when the guest used an unemulated feature; 2 for a bad command line; 1 is reserved
//! for the guest (exit port value 0), so set-up errors use 8.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use glassbox::cpu::CpuModel;
use glassbox::debugger::trace::{TraceFilter, Tracer};
use glassbox::debugger::{cli, gdb, Debugger, StopReason};
use glassbox::machine::{MachineConfig, Pc, RunLimits, Stop};
use glassbox_devices::debugport::DebugSink;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "glassbox", version, about = "A see-through PC emulator")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a machine (with no image: the built-in demo ROM).
    Run(RunArgs),
    /// Test harnesses.
    #[command(subcommand)]
    Suite(SuiteCommand),
}

#[derive(clap::Args, Default)]
struct RunArgs {
    /// Firmware image mapped at the top of the first MiB and below 4 GiB (reset at F000:FFF0).
    #[arg(long, value_name = "FILE")]
    bios: Option<PathBuf>,
    /// Raw image to copy into RAM: FILE@ADDR (ADDR hex like 0x7c00, or SEG:OFF in hex).
    #[arg(long, value_name = "FILE@ADDR")]
    load: Vec<String>,
    /// Start at SEG:OFF (hex) in real mode instead of the reset vector.
    #[arg(long, value_name = "SEG:OFF")]
    entry: Option<String>,
    /// RAM size: bytes, or with K/M/G suffix (e.g. 640K, 16M).
    #[arg(long, default_value = "16M")]
    memory: String,
    /// CPU model: 8086, 186, 286, 386, 486.
    #[arg(long, default_value = "486")]
    cpu: CpuModel,
    /// Where port 0xE9 output goes: stdio, file:PATH or none.
    #[arg(long, default_value = "stdio", value_name = "stdio|file:PATH|none")]
    debugcon: String,
    /// Stop after this many instructions.
    #[arg(long, value_name = "N")]
    max_instructions: Option<u64>,
    /// Print instructions, cycles, wall time and guest MIPS on exit (to stderr).
    #[arg(long)]
    stats: bool,
    /// Decode cache and instruction traces: `off` decodes every instruction afresh (the
    /// reference path; same results, slower).
    #[arg(long, default_value = "on", value_name = "on|off")]
    decode_cache: OnOff,
    /// Start in the command-line debugger, stopped before the first instruction (`help` lists
    /// the commands; commands are also read from standard input when it is not a terminal).
    #[arg(long)]
    debug: bool,
    /// Serve the GDB remote protocol on [ADDR:]PORT (address 127.0.0.1 by default).
    #[arg(long, value_name = "[ADDR:]PORT")]
    gdb: Option<String>,
    /// With --gdb: stay stopped before the first instruction until gdb connects.
    #[arg(long, requires = "gdb")]
    wait_gdb: bool,
    /// Write the explained trace to FILE: one JSON object per line for each instruction,
    /// memory access, port access, interrupt, segment load and mode switch.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Which trace lines to keep: KINDS[@START-END], kinds from insn, mem, io, int, seg,
    /// mode, reset (comma-separated, or all); START-END a hex range of CS:EIP linear addresses.
    #[arg(long, value_name = "KINDS[@START-END]", requires = "trace")]
    trace_filter: Option<String>,
}

/// A switch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
enum OnOff {
    /// Enabled.
    #[default]
    On,
    /// Disabled.
    Off,
}

#[derive(Subcommand)]
enum SuiteCommand {
    /// Run SingleStepTests MOO vectors (a suite folder or its data folder).
    Singlestep {
        /// Suite folder, e.g. ../shared/suites/singlesteptests-8086
        dir: PathBuf,
        /// CPU model to test.
        #[arg(long, default_value = "8086")]
        cpu: CpuModel,
        /// Only opcode files whose name starts with this, e.g. `F6` or `F6.6`.
        #[arg(long)]
        filter: Option<String>,
        /// Describe up to this many failures per file.
        #[arg(long, default_value_t = 0)]
        show_failures: usize,
        /// Worker threads (default: available cores).
        #[arg(long)]
        threads: Option<usize>,
    },
}

/// Parses a size like `16M`, `640K`, `1G`, `65536`.
fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim().to_ascii_uppercase();
    let t = t.trim_end_matches("IB").trim_end_matches('B');
    let (num, mul) = match t.chars().last() {
        Some('K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('G') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .with_context(|| format!("--memory: `{s}` is not a size (try 640K, 16M)"))?;
    n.checked_mul(mul)
        .with_context(|| format!("--memory: `{s}` is too large"))
}

/// Parses a hex number with or without `0x`.
fn parse_hex(s: &str) -> Option<u32> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let t = t
        .strip_suffix('h')
        .or_else(|| t.strip_suffix('H'))
        .unwrap_or(t);
    u32::from_str_radix(t, 16).ok()
}

/// Parses `SEG:OFF` (hex).
fn parse_seg_off(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.split_once(':')?;
    let seg = parse_hex(a)?;
    let off = parse_hex(b)?;
    Some((u16::try_from(seg).ok()?, u16::try_from(off).ok()?))
}

/// Parses a load address: hex physical address or `SEG:OFF`.
fn parse_addr(s: &str) -> Option<u32> {
    if s.contains(':') {
        let (seg, off) = parse_seg_off(s)?;
        Some(((seg as u32) << 4) + off as u32)
    } else {
        parse_hex(s)
    }
}

fn parse_debugcon(s: &str) -> Result<DebugSink> {
    Ok(match s {
        "stdio" => DebugSink::Stdout,
        "none" => DebugSink::None,
        _ => match s.strip_prefix("file:") {
            Some(path) if !path.is_empty() => {
                let f = std::fs::File::create(path)
                    .with_context(|| format!("--debugcon: cannot create `{path}`"))?;
                DebugSink::File(std::io::BufWriter::new(f))
            }
            _ => bail!("--debugcon: `{s}` is not one of stdio, file:PATH, none"),
        },
    })
}

fn run(args: RunArgs) -> Result<ExitCode> {
    let memory = parse_size(&args.memory)?;
    let entry =
        match &args.entry {
            Some(e) => Some(parse_seg_off(e).with_context(|| {
                format!("--entry: `{e}` is not SEG:OFF in hex (e.g. 0000:7C00)")
            })?),
            None => None,
        };
    let mut loads = Vec::new();
    for spec in &args.load {
        let (file, addr) = spec
            .rsplit_once('@')
            .with_context(|| format!("--load: `{spec}` is not FILE@ADDR (e.g. boot.bin@0x7c00)"))?;
        let addr = parse_addr(addr)
            .with_context(|| format!("--load: `{addr}` is not an address (hex, or SEG:OFF)"))?;
        let data = std::fs::read(file).with_context(|| format!("--load: cannot read `{file}`"))?;
        loads.push((addr, data, file.to_string()));
    }
    let bios = match &args.bios {
        Some(p) => Some(
            std::fs::read(p).with_context(|| format!("--bios: cannot read `{}`", p.display()))?,
        ),
        None if loads.is_empty() => Some(glassbox_bios::DEMO_ROM.to_vec()),
        None => None,
    };
    if bios.is_none() && entry.is_none() {
        bail!("--load without --bios needs --entry SEG:OFF to say where to start");
    }
    let debugcon = parse_debugcon(&args.debugcon)?;
    let mut pc = Pc::new(MachineConfig {
        cpu: args.cpu,
        memory,
        clock_hz: None,
        debugcon,
        ..Default::default()
    })
    .with_context(|| format!("--memory {}", args.memory))?;
    if let Some(image) = &bios {
        let name = args
            .bios
            .as_ref()
            .map_or("built-in demo ROM".to_string(), |p| p.display().to_string());
        pc.load_bios(image)
            .with_context(|| format!("--bios `{name}`"))?;
    }
    for (addr, data, file) in &loads {
        pc.load_image(*addr, data)
            .with_context(|| format!("--load `{file}`"))?;
    }
    if let Some((seg, off)) = entry {
        pc.set_entry(seg, off);
    }
    pc.cpu.decode_cache = args.decode_cache == OnOff::On;
    let debugging = args.debug || args.gdb.is_some() || args.trace.is_some();
    let stop = if debugging {
        if args.debug && args.gdb.is_some() {
            bail!("--debug and --gdb each drive the machine: choose one (gdb's `monitor` runs debugger commands)");
        }
        let mut dbg = Debugger::new();
        dbg.max_instructions = args.max_instructions;
        if let Some(path) = &args.trace {
            let filter = match &args.trace_filter {
                Some(f) => {
                    TraceFilter::parse(f).map_err(|e| anyhow::anyhow!("--trace-filter: {e}"))?
                }
                None => TraceFilter::default(),
            };
            let t = Tracer::create(path, filter)
                .with_context(|| format!("--trace: cannot create `{}`", path.display()))?;
            dbg.tracer = Some(t);
        }
        let reason = if args.debug {
            cli::run(&mut pc, &mut dbg).context("debugger console")?
        } else if let Some(addr) = &args.gdb {
            Some(gdb::serve(&mut pc, &mut dbg, addr, args.wait_gdb)?)
        } else {
            Some(cli::run_unattended(&mut pc, &mut dbg))
        };
        if let Some(t) = dbg.tracer.as_mut() {
            t.finish()?;
        }
        match reason {
            Some(StopReason::Machine(stop)) => stop,
            Some(StopReason::Limit) => Stop::InstructionLimit,
            // The user quit (or stopped a trace with Ctrl-C): a clean end.
            _ => Stop::Shutdown,
        }
    } else {
        pc.run(RunLimits {
            max_instructions: args.max_instructions,
        })
    };
    if args.stats {
        let s = pc.stats();
        eprintln!("instructions: {}", s.instructions);
        eprintln!("cycles: {}", s.cycles);
        eprintln!("wall time: {:.3} s", s.wall.as_secs_f64());
        eprintln!("guest MIPS: {:.1}", s.mips());
    }
    let code = match stop {
        Stop::Exit(v) => ((v << 1) | 1) as u8,
        Stop::Shutdown | Stop::Slice => 0,
        Stop::Halted => {
            eprintln!(
                "glassbox: the CPU halted with nothing left to wake it (at {:#x})",
                pc.cpu.pc_linear()
            );
            0
        }
        Stop::InstructionLimit => {
            eprintln!(
                "glassbox: stopped after {} instructions (--max-instructions)",
                pc.stats().instructions
            );
            4
        }
        Stop::Unsupported(what) => {
            eprintln!(
                "glassbox: the guest used {what}, which is not emulated yet (at {:#x})",
                pc.cpu.pc_linear()
            );
            6
        }
    };
    Ok(ExitCode::from(code))
}

fn suite(cmd: SuiteCommand) -> Result<ExitCode> {
    let SuiteCommand::Singlestep {
        dir,
        cpu,
        filter,
        show_failures,
        threads,
    } = cmd;
    let opts = glassbox::suite::SuiteOptions {
        model: cpu,
        filter,
        show_failures,
        threads: threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
    };
    let (pass, fail) = glassbox::suite::run_suite(&dir, &opts, |r| {
        let total = r.passed + r.failed;
        let pct = if total > 0 {
            100.0 * r.passed as f64 / total as f64
        } else {
            100.0
        };
        println!(
            "{:<8} {:>6}/{:<6} passed ({pct:.2} %)",
            r.name, r.passed, total
        );
        for f in &r.failures {
            println!("    {f}");
        }
    })?;
    println!("{pass} passed, {fail} failed");
    Ok(if fail > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Run(args)) => run(args),
        None => run(RunArgs {
            memory: "16M".into(),
            cpu: CpuModel::I486,
            debugcon: "stdio".into(),
            ..Default::default()
        }),
        Some(Command::Suite(cmd)) => suite(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("glassbox: {e:#}");
            ExitCode::from(8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_addresses() {
        assert_eq!(parse_size("640K").unwrap(), 640 << 10);
        assert_eq!(parse_size("16MiB").unwrap(), 16 << 20);
        assert_eq!(parse_size("65536").unwrap(), 65536);
        assert!(parse_size("lots").is_err());
        assert_eq!(parse_addr("0x7c00"), Some(0x7C00));
        assert_eq!(parse_addr("07C0:0000"), Some(0x7C00));
        assert_eq!(parse_seg_off("F000:FFF0"), Some((0xF000, 0xFFF0)));
        assert_eq!(parse_seg_off("10000:0"), None);
    }
}
