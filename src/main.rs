//! The `glassbox` command line.
//!
//! Exit status of `glassbox run`: the guest's exit-port value `v` gives `(v << 1) | 1` (always
//! odd); 0 after a Bochs-port shutdown or a final HLT; 4 when `--max-instructions` stopped the
//! run; 6 when the guest used an unemulated feature; 2 for a bad command line; 1 is reserved
//! for the guest (exit port value 0), so set-up errors use 8.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use glassbox::accel::{AccelChoice, Backend};
use glassbox::cpu::CpuModel;
use glassbox::debugger::trace::{TraceFilter, Tracer};
use glassbox::debugger::{cli, gdb, Debugger, StopReason};
use glassbox::frontend::{self, script};
use glassbox::machine::boot::{self, BootFiles, DirectBoot, KernelKind};
use glassbox::machine::config::{BootDevice, BootOrder, ClockMode, ConfigFile, DisplayKind};
use glassbox::machine::{Boot, Drives, MachineConfig, Pc, RunLimits, Stop};
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
    /// Run a machine (with no disk or image: the built-in demo disk on our BIOS).
    Run(Box<RunArgs>),
    /// Test harnesses.
    #[command(subcommand)]
    Suite(SuiteCommand),
    /// Random instruction sequences on the interpreter and on a reference (the host CPU
    /// through KVM), compared; the last line is `N sequences, M mismatches`.
    Difftest(glassbox::difftest::cli::DifftestArgs),
}

#[derive(clap::Args, Default)]
struct RunArgs {
    /// A machine configuration (RON, see configs/); flags override its settings.
    #[arg(value_name = "CONFIG.ron")]
    config: Option<PathBuf>,
    /// Firmware: `builtin` (our BIOS, the default) or an image file mapped at the top of the
    /// first MiB and below 4 GiB (reset at F000:FFF0).
    #[arg(long, value_name = "builtin|FILE")]
    bios: Option<String>,
    /// Floppy image for drive A: (raw, 160 KB to 2.88 MB).
    #[arg(long, value_name = "FILE")]
    fda: Option<PathBuf>,
    /// Floppy image for drive B:.
    #[arg(long, value_name = "FILE")]
    fdb: Option<PathBuf>,
    /// Hard disk image (raw) for the primary master.
    #[arg(long, value_name = "FILE")]
    hda: Option<PathBuf>,
    /// Hard disk image for the primary slave.
    #[arg(long, value_name = "FILE")]
    hdb: Option<PathBuf>,
    /// Boot order: a (floppy), c (hard disk), ac or ca. Default: a, then c.
    #[arg(long, value_name = "a|c|ac|ca")]
    boot: Option<BootOrder>,
    /// Leave disk images unchanged: guest writes go to a throw-away overlay.
    #[arg(long)]
    snapshot: bool,
    /// Boot this kernel instead of a disk: a Linux bzImage (boot protocol 2.02 or later) or a
    /// multiboot v1 kernel (ELF32, or flat with the a.out kludge). It starts after the BIOS's
    /// POST, from its INT 19h, so it needs the built-in BIOS (another --bios firmware cannot
    /// hand over to it and is refused). Without --cpu the CPU is a Pentium II; without
    /// --memory a Linux kernel gets 128 MiB (a multiboot kernel the usual 16 MiB).
    #[arg(long, value_name = "FILE")]
    kernel: Option<PathBuf>,
    /// With --kernel: the initrd (Linux; A,B are concatenated into one) or the modules
    /// (multiboot; one per file, named by the file name as given).
    #[arg(long, value_name = "FILE[,FILE...]")]
    initrd: Option<String>,
    /// With --kernel: the kernel command line.
    #[arg(long, value_name = "TEXT")]
    append: Option<String>,
    /// Screen: `window`, `text` (the text screen in this terminal) or `none`. Default: a
    /// window when there is a desktop, the terminal when there is one, else none.
    #[arg(long, value_name = "window|text|none")]
    display: Option<DisplayKind>,
    /// Write the final screen to FILE: `.txt` (text modes) or `.png`.
    #[arg(long, value_name = "FILE")]
    screen_dump: Option<PathBuf>,
    /// Type these keys once the machine runs (`\n` is Enter; named keys as <f1>, <ctrl+c>).
    #[arg(long, value_name = "KEYS")]
    r#type: Option<String>,
    /// Drive the machine from a script: wait "TEXT", type "KEYS", sleep MS, dump FILE, quit.
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    /// Where COM1 goes: stdio, file:PATH or none.
    #[arg(long, value_name = "stdio|file:PATH|none")]
    serial: Option<String>,
    /// Record the PC speaker to a WAV file (44.1 kHz, mono).
    #[arg(long, value_name = "FILE")]
    speaker_wav: Option<PathBuf>,
    /// The real-time clock: `virtual` (starts at 2000-01-01, every run the same) or `host`.
    #[arg(long, value_name = "virtual|host")]
    clock: Option<ClockMode>,
    /// Raw image to copy into RAM: FILE@ADDR (ADDR hex like 0x7c00, or SEG:OFF in hex).
    #[arg(long, value_name = "FILE@ADDR")]
    load: Vec<String>,
    /// Start at SEG:OFF (hex) in real mode instead of the reset vector.
    #[arg(long, value_name = "SEG:OFF")]
    entry: Option<String>,
    /// RAM size: bytes, or with K/M/G suffix (e.g. 640K, 16M). Default 16M (128M for a Linux
    /// --kernel).
    #[arg(long)]
    memory: Option<String>,
    /// CPU model: 8086, 186, 286, 386, 486, pentium, pentium2. Default 486 (pentium2 with
    /// --kernel).
    #[arg(long)]
    cpu: Option<CpuModel>,
    /// Where port 0xE9 output goes: stdio, file:PATH or none. Default stdio.
    #[arg(long, value_name = "stdio|file:PATH|none")]
    debugcon: Option<String>,
    /// CPU back end: `interp` (the interpreter, the default: every run the same), `kvm` (the
    /// host CPU through /dev/kvm, with the same devices), or `auto` (KVM where the host CPU has
    /// hardware virtualization and /dev/kvm works, else the interpreter).
    #[arg(long, value_name = "interp|kvm|auto")]
    accel: Option<glassbox::accel::AccelChoice>,
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

/// The screen when none is asked for: a window on a desktop, the terminal when output goes
/// to one, nothing for scripts and pipes.
fn default_display() -> DisplayKind {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        DisplayKind::None
    } else if std::env::var_os("DISPLAY").is_some() {
        DisplayKind::Window
    } else {
        DisplayKind::Text
    }
}

/// Parses an output destination (`--debugcon`, `--serial`).
fn parse_sink(flag: &str, s: &str) -> Result<DebugSink> {
    Ok(match s {
        "stdio" => DebugSink::Stdout,
        "none" => DebugSink::None,
        _ => match s.strip_prefix("file:") {
            Some(path) if !path.is_empty() => {
                let f = std::fs::File::create(path)
                    .with_context(|| format!("{flag}: cannot create `{path}`"))?;
                DebugSink::File(std::io::BufWriter::new(f))
            }
            _ => bail!("{flag}: `{s}` is not one of stdio, file:PATH, none"),
        },
    })
}

/// The files of `--kernel`/`--initrd`/`--append` (flags over the configuration file).
fn boot_files(args: &RunArgs, file: &ConfigFile) -> Result<Option<BootFiles>> {
    let kernel = args.kernel.clone().or(file.kernel.clone());
    let initrd: Option<Vec<PathBuf>> = match &args.initrd {
        Some(list) => Some(list.split(',').map(PathBuf::from).collect()),
        None => file.initrd.clone(),
    };
    let append = args.append.clone().or(file.append.clone());
    let Some(kernel) = kernel else {
        if initrd.is_some() || append.is_some() {
            bail!("--initrd and --append need --kernel");
        }
        return Ok(None);
    };
    let files = BootFiles::read(
        &kernel,
        &initrd.unwrap_or_default(),
        append.as_deref().unwrap_or(""),
    )?;
    Ok(Some(files))
}

fn run(args: RunArgs) -> Result<ExitCode> {
    let file = match &args.config {
        Some(p) => ConfigFile::load(p)?,
        None => ConfigFile::default(),
    };
    let boot_files = boot_files(&args, &file)?;
    let kernel_kind = boot_files.as_ref().map(|f| boot::kernel_kind(&f.kernel.1));
    let memory_text = args
        .memory
        .clone()
        .or(file.memory.clone())
        .unwrap_or_else(|| match kernel_kind {
            // The Debian 686 kernel needs 64 MiB at least.
            Some(Some(KernelKind::Linux)) => "128M".into(),
            _ => "16M".into(),
        });
    let memory = parse_size(&memory_text)?;
    let cpu = args
        .cpu
        .or(file.cpu.map(|c| c.0))
        .unwrap_or(if boot_files.is_some() {
            CpuModel::PentiumII
        } else {
            CpuModel::I486
        });
    if boot_files.is_some() && cpu < CpuModel::I386 {
        bail!("--kernel needs a 386 or later (--cpu {cpu:?} is too old for a 32-bit kernel)");
    }
    let fda = args.fda.clone().or(file.fda.clone());
    let fdb = args.fdb.clone().or(file.fdb.clone());
    let hda = args.hda.clone().or(file.hda.clone());
    let hdb = args.hdb.clone().or(file.hdb.clone());
    let boot = args.boot.clone().or(file.boot.clone());
    let snapshot = args.snapshot || file.snapshot.unwrap_or(false);
    let display = args
        .display
        .or(file.display)
        .unwrap_or_else(default_display);
    let clock = args.clock.or(file.clock).unwrap_or_default();
    let debugcon = args
        .debugcon
        .clone()
        .or(file.debugcon.clone())
        .unwrap_or_else(|| "stdio".into());
    let serial = args
        .serial
        .clone()
        .or(file.serial.clone())
        .unwrap_or_else(|| "stdio".into());
    let has_disk = fda.is_some() || fdb.is_some() || hda.is_some() || hdb.is_some();
    if boot_files.is_some() && args.entry.is_some() {
        bail!("--entry and --kernel both say where to start: choose one");
    }
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
    let bios_choice = args.bios.clone().or(file.bios.clone());
    if let (Some(_), Some(b)) = (&boot_files, &bios_choice) {
        if b != "builtin" {
            bail!(
                "--kernel needs the built-in BIOS: its INT 19h hands over to the kernel, and \
                 the firmware `{b}` cannot"
            );
        }
    }
    let (bios, bios_name) = match bios_choice.as_deref() {
        Some("builtin") => (
            Some(glassbox_bios::BIOS_ROM.to_vec()),
            "built-in BIOS".to_string(),
        ),
        Some(p) => (
            Some(std::fs::read(p).with_context(|| format!("--bios: cannot read `{p}`"))?),
            p.to_string(),
        ),
        None if loads.is_empty() || has_disk || boot_files.is_some() => (
            Some(glassbox_bios::BIOS_ROM.to_vec()),
            "built-in BIOS".to_string(),
        ),
        None => (None, String::new()),
    };
    // Nothing to run: the built-in demo disk in drive A:.
    let demo = !has_disk && loads.is_empty() && bios_choice.is_none() && boot_files.is_none();
    if bios.is_none() && entry.is_none() {
        bail!("--load without --bios needs --entry SEG:OFF to say where to start");
    }
    let mut keys = Vec::new();
    if let Some(t) = &args.r#type {
        keys.push(script::Command::Type(
            script::parse_type_arg(t).map_err(|e| anyhow::anyhow!("--type: {e}"))?,
        ));
    }
    if let Some(p) = &args.script {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("--script: cannot read `{}`", p.display()))?;
        keys.extend(
            script::parse_script(&text)
                .map_err(|e| anyhow::anyhow!("--script {}: {e}", p.display()))?,
        );
    }
    for cmd in &keys {
        if let script::Command::Type(t) = cmd {
            frontend::key_events(t).map_err(|e| anyhow::anyhow!("--type/--script: {e}"))?;
        }
    }
    let rtc_start = match clock {
        ClockMode::Virtual => glassbox::machine::DEFAULT_RTC_START,
        ClockMode::Host => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(glassbox::machine::DEFAULT_RTC_START, |d| d.as_secs()),
    };
    let mut pc = Pc::new(MachineConfig {
        cpu,
        memory,
        clock_hz: None,
        debugcon: parse_sink("--debugcon", &debugcon)?,
        serial: parse_sink("--serial", &serial)?,
        rtc_start,
    })
    .with_context(|| format!("--memory {memory_text}"))?;
    if let Some(image) = &bios {
        pc.load_bios(image)
            .with_context(|| format!("--bios `{bios_name}`"))?;
    }
    for (addr, data, file) in &loads {
        pc.load_image(*addr, data)
            .with_context(|| format!("--load `{file}`"))?;
    }
    if let Some((seg, off)) = entry {
        pc.set_entry(seg, off);
    }
    let boot_order: Vec<Boot> = boot
        .map(|b| {
            b.0.iter()
                .map(|d| match d {
                    BootDevice::Floppy => Boot::Floppy,
                    BootDevice::HardDisk => Boot::HardDisk,
                })
                .collect()
        })
        .unwrap_or_default();
    pc.attach_drives(&Drives {
        floppy: [fda.as_deref(), fdb.as_deref()],
        hard: [hda.as_deref(), hdb.as_deref()],
        snapshot,
        boot: boot_order,
    })?;
    if demo {
        pc.insert_demo_disk()?;
    }
    if let Some(files) = boot_files {
        pc.set_direct_boot(Some(DirectBoot::new(files, memory)?));
    }
    pc.cpu.decode_cache = args.decode_cache == OnOff::On;
    let accel = args.accel.or(file.accel).unwrap_or_default();
    let (backend, why_not) = match accel {
        // KVM counts no instructions.
        AccelChoice::Kvm if args.max_instructions.is_some() => {
            bail!("--max-instructions counts interpreted instructions: it needs --accel interp")
        }
        AccelChoice::Auto if args.max_instructions.is_some() => (
            Backend::Interp,
            Some("--max-instructions needs the interpreter's instruction count".to_string()),
        ),
        _ => glassbox::accel::resolve(accel)
            .map_err(|why| anyhow::anyhow!("--accel kvm: KVM cannot be used here: {why}"))?,
    };
    if backend == Backend::Kvm {
        pc.set_backend(Backend::Kvm)
            .map_err(|why| anyhow::anyhow!("--accel: KVM cannot be used here: {why}"))?;
        eprintln!("glassbox: running on KVM (devices, BIOS and disks as under the interpreter)");
    } else if let Some(why) = why_not {
        eprintln!("glassbox: running in the interpreter; KVM not used: {why}");
    }
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
        frontend::run(
            &mut pc,
            frontend::Options {
                display,
                script: keys,
                screen_dump: args.screen_dump.clone(),
                limits: RunLimits {
                    max_instructions: args.max_instructions,
                },
                speaker_wav: args.speaker_wav.clone(),
            },
        )?
    };
    if let Err(e) = pc.flush_disks() {
        bail!("writing a disk image back: {e}");
    }
    if args.stats {
        let s = pc.stats();
        eprintln!("back end: {}", pc.backend());
        if pc.backend() == Backend::Kvm {
            // KVM counts no instructions: only the interpreted ones are known.
            eprintln!("instructions (interpreted): {}", s.instructions);
            eprintln!("cycles: {} (host time)", s.cycles);
            eprintln!("wall time: {:.3} s", s.wall.as_secs_f64());
        } else {
            eprintln!("instructions: {}", s.instructions);
            eprintln!("cycles: {}", s.cycles);
            eprintln!("wall time: {:.3} s", s.wall.as_secs_f64());
            eprintln!("guest MIPS: {:.1}", s.mips());
        }
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
            match pc.boot_error().or(pc.accel_error()) {
                Some(e) => eprintln!("glassbox: {e} (at {:#x})", pc.cpu.pc_linear()),
                None => eprintln!(
                    "glassbox: the guest used {what}, which is not emulated yet (at {:#x})",
                    pc.cpu.pc_linear()
                ),
            }
            6
        }
        // Only the debugger sets KVM breakpoints and port watches.
        Stop::IoAccess(_) | Stop::Breakpoint(_) => 0,
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

/// `glassbox difftest`: status 0 without mismatches, 1 with.
fn difftest(args: &glassbox::difftest::cli::DifftestArgs) -> Result<ExitCode> {
    let mismatches = glassbox::difftest::cli::run(args, |ram| {
        #[cfg(all(feature = "kvm", target_os = "linux", target_arch = "x86_64"))]
        {
            glassbox::difftest::kvm::KvmBackend::new(ram).map(|b| Box::new(b) as _)
        }
        #[cfg(not(all(feature = "kvm", target_os = "linux", target_arch = "x86_64")))]
        {
            let _ = ram;
            Err(glassbox::accel::kvm_usable()
                .err()
                .unwrap_or_else(|| "this build has no KVM back end".into()))
        }
    })?;
    Ok(if mismatches == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Run(args)) => run(*args),
        None => run(RunArgs::default()),
        Some(Command::Suite(cmd)) => suite(cmd),
        Some(Command::Difftest(args)) => difftest(&args),
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
