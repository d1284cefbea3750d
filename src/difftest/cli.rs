//! `glassbox difftest`: random sequences on the interpreter and a reference, compared.
//!
//! The output is one reproducer per mismatch (the first [`SHOWN`] in full, unless
//! `--verbose`), and as its last line exactly `N sequences, M mismatches`. Progress goes to
//! standard error every 100 000 sequences.

use std::io::Write;
use std::time::Instant;

use anyhow::{anyhow, bail, Result};

use crate::cpu::CpuModel;

use super::{report, Backend, Harness, InterpBackend, Mode, Verdict};

/// Mismatches described in full without `--verbose`; later ones get one line.
pub const SHOWN: u64 = 20;
/// Sequences between two progress lines.
const PROGRESS_EVERY: u64 = 100_000;

/// What the interpreter is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Reference {
    /// A real CPU through KVM.
    Kvm,
    /// The interpreter without its decode cache (runs on any host).
    InterpNocache,
}

/// Options of `glassbox difftest`.
#[derive(clap::Args, Clone, Debug)]
pub struct DifftestArgs {
    /// Processor mode of the sequences.
    #[arg(long, value_enum, default_value = "real16")]
    pub mode: Mode,
    /// Number of sequences.
    #[arg(long, default_value_t = 10_000)]
    pub count: u64,
    /// Seed of the run; sequence I of seed S is the same on every host.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Index of the first sequence (to rerun one reported sequence: `--first I --count 1`).
    #[arg(long, default_value_t = 0)]
    pub first: u64,
    /// CPU model the sequences are drawn for and the interpreter runs as (386 or 486 against
    /// KVM; any model against interp-nocache).
    #[arg(long, default_value = "486")]
    pub cpu: CpuModel,
    /// The back end the interpreter (with its decode cache) is compared with.
    #[arg(long, value_enum, default_value = "kvm")]
    pub reference: Reference,
    /// Longest sequence, in instructions (before the final HLT).
    #[arg(long, default_value_t = 8)]
    pub max_len: usize,
    /// Describe every mismatch in full, and how the agreeing sequences ended.
    #[arg(long)]
    pub verbose: bool,
}

impl Default for DifftestArgs {
    fn default() -> Self {
        DifftestArgs {
            mode: Mode::Real16,
            count: 10_000,
            seed: 1,
            first: 0,
            cpu: CpuModel::I486,
            reference: Reference::Kvm,
            max_len: 8,
            verbose: false,
        }
    }
}

/// Runs `glassbox difftest`, printing to standard output; returns the number of mismatches.
/// `make_kvm` builds the KVM back end with that many bytes of RAM; it is called only for
/// `--reference kvm`.
pub fn run(
    args: &DifftestArgs,
    make_kvm: impl FnOnce(usize) -> Result<Box<dyn Backend>, String>,
) -> Result<u64> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    run_to(args, make_kvm, &mut out)
}

/// [`run`], printing to `out`.
pub fn run_to(
    args: &DifftestArgs,
    make_kvm: impl FnOnce(usize) -> Result<Box<dyn Backend>, String>,
    out: &mut dyn Write,
) -> Result<u64> {
    let mut h = Harness::new(args.mode, args.cpu, args.max_len, args.seed)
        .map_err(|e| anyhow!("difftest: {e}"))?;
    let mut reference: Box<dyn Backend> = match args.reference {
        Reference::InterpNocache => Box::new(InterpBackend::new("interp-nocache", args.cpu, false)),
        Reference::Kvm => {
            if args.cpu < CpuModel::I386 {
                bail!(
                    "difftest: a {} cannot be compared with KVM (a modern CPU): use --cpu 386 \
                     or 486, or --reference interp-nocache",
                    args.cpu
                );
            }
            make_kvm(h.ram_size()).map_err(|e| {
                eprintln!("difftest: KVM is not usable: {e}");
                anyhow!(
                    "difftest: KVM is not usable ({e}); --reference interp-nocache compares \
                     the interpreter with itself on any host"
                )
            })?
        }
    };
    if args.reference == Reference::Kvm {
        h.compare_rewritten_code(false);
    }
    if args.reference == Reference::Kvm && crate::accel::host_has_hw_virtualization().is_err() {
        let a = match args.mode {
            Mode::Real16 => &super::SOFTWARE_KVM,
            Mode::Prot32 => &super::SOFTWARE_KVM_PROT32,
        };
        h.avoid(a);
        writeln!(
            out,
            "the reference is {}: those cases are left out of the sequences",
            a.why
        )?;
    }
    let mut interp = InterpBackend::new("interp", args.cpu, true);
    let b = reference.as_mut();

    let started = Instant::now();
    let (mut mismatches, mut stopped, mut unrunnable) = (0u64, 0u64, 0u64);
    let end = args.first.saturating_add(args.count);
    for index in args.first..end {
        let seq = h.case(index);
        match h.check(&seq, &mut interp, b) {
            Verdict::Same => {}
            Verdict::BothStopped(x, y) => {
                stopped += 1;
                if args.verbose {
                    writeln!(
                        out,
                        "seed {} sequence {index}: no HLT on either back end ({x} / {y})",
                        args.seed
                    )?;
                }
            }
            Verdict::NotComparable(why) => {
                unrunnable += 1;
                if args.verbose {
                    writeln!(out, "seed {} sequence {index}: {why}", args.seed)?;
                }
            }
            Verdict::Differ(d) => {
                mismatches += 1;
                if args.verbose || mismatches <= SHOWN {
                    let text = h.reproducer(index, &seq, &d, &mut interp, b);
                    writeln!(
                        out,
                        "{text}  rerun: --mode {} --cpu {} --max-len {} --seed {} --first {index} \
                         --count 1\n",
                        args.mode.name(),
                        args.cpu,
                        args.max_len,
                        args.seed
                    )?;
                } else {
                    writeln!(out, "MISMATCH seed {} sequence {index}", args.seed)?;
                }
            }
        }
        let done = index + 1 - args.first;
        if done.is_multiple_of(PROGRESS_EVERY) {
            let rate = done as f64 / started.elapsed().as_secs_f64();
            eprintln!(
                "difftest: {done} of {} sequences, {mismatches} mismatches ({rate:.0}/s)",
                args.count
            );
        }
    }
    if stopped > 0 {
        writeln!(
            out,
            "{stopped} sequences reached no HLT on either back end (not compared)"
        )?;
    }
    if unrunnable > 0 {
        writeln!(
            out,
            "{unrunnable} sequences not compared: the reference could not execute them, or \
             they rewrote their own code and the reference is a CPU of another generation"
        )?;
    }
    if args.verbose {
        let e = &h.ends;
        writeln!(out, "ended at HLT: {}", e.at_hlt)?;
        // The exceptions one by one; the vectors above them are reached by INT n only.
        for (v, &n) in e.vectors[..32].iter().enumerate().filter(|(_, &n)| n > 0) {
            writeln!(
                out,
                "ended in the handler of {}: {n}",
                report::vector_name(v as u8)
            )?;
        }
        let soft: u64 = e.vectors[32..].iter().sum();
        writeln!(out, "ended in the handlers of vectors 0x20-0xff: {soft}")?;
        writeln!(
            out,
            "{:.1} s, {:.0} sequences/s",
            started.elapsed().as_secs_f64(),
            args.count as f64 / started.elapsed().as_secs_f64()
        )?;
    }
    writeln!(out, "{} sequences, {mismatches} mismatches", args.count)?;
    Ok(mismatches)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(reference: Reference) -> DifftestArgs {
        DifftestArgs {
            count: 30,
            reference,
            ..DifftestArgs::default()
        }
    }

    #[test]
    fn self_test_ends_with_the_count_line() {
        let mut out = Vec::new();
        let n = run_to(
            &args(Reference::InterpNocache),
            |_| unreachable!("KVM is not asked for"),
            &mut out,
        )
        .unwrap();
        assert_eq!(n, 0);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().last(), Some("30 sequences, 0 mismatches"));
    }

    #[test]
    fn missing_kvm_is_explained() {
        let mut out = Vec::new();
        let e = run_to(
            &args(Reference::Kvm),
            |_| Err("/dev/kvm: no such file".into()),
            &mut out,
        )
        .unwrap_err();
        assert!(
            format!("{e}").contains("KVM is not usable (/dev/kvm"),
            "{e}"
        );
    }
}
