//! CPU back ends: the interpreter (the reference, always there) and KVM.
//!
//! Both run the same machine: the same RAM buffer, the same device models on the same bus. The
//! interpreter executes every instruction itself; under KVM the host CPU executes them and
//! every port or MMIO access leaves the guest (an *exit*) and is served by `Pc`'s bus exactly
//! as the interpreter's `IN`/`OUT` are. The [`Cpu`](crate::cpu::Cpu) structure is the one
//! description of CPU state: a machine moves between back ends at an instruction boundary by
//! converting it to and from KVM's register sets ([`kvm::KvmCpu`]).

#[cfg(all(feature = "kvm", target_os = "linux", target_arch = "x86_64"))]
pub mod kvm;

use std::fmt;

/// The back end a user asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum AccelChoice {
    /// The interpreter: every instruction stepped, the same run every time.
    #[default]
    Interp,
    /// KVM, or an error when it cannot be used.
    Kvm,
    /// KVM where the host CPU has hardware virtualization and `/dev/kvm` works; else the
    /// interpreter.
    Auto,
}

/// The back end a machine runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The interpreter.
    Interp,
    /// KVM.
    Kvm,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Interp => "interp",
            Backend::Kvm => "kvm",
        })
    }
}

/// Whether the host CPU advertises hardware virtualization (`vmx` or `svm` in
/// `/proc/cpuinfo`). Without it, `/dev/kvm` may still exist as a nested, software-backed
/// implementation that cannot run every guest (paging, for one), so `auto` does not use it.
pub fn host_has_hw_virtualization() -> Result<(), String> {
    let info = std::fs::read_to_string("/proc/cpuinfo")
        .map_err(|e| format!("cannot read /proc/cpuinfo: {e}"))?;
    let flags = info
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or_default();
    if flags.split_whitespace().any(|f| f == "vmx" || f == "svm") {
        Ok(())
    } else {
        Err("the host CPU has no hardware virtualization (no vmx or svm flag)".into())
    }
}

/// Whether KVM can run a guest here: `/dev/kvm` opens, and a one-instruction real-mode guest
/// runs to its HLT. `Err` says why not.
pub fn kvm_usable() -> Result<(), String> {
    #[cfg(all(feature = "kvm", target_os = "linux", target_arch = "x86_64"))]
    {
        kvm::probe()
    }
    #[cfg(not(all(feature = "kvm", target_os = "linux", target_arch = "x86_64")))]
    {
        Err("this build has no KVM support (Linux on x86-64 with the `kvm` feature)".into())
    }
}

/// Picks the back end for `choice`: `Ok` with the back end and, when KVM was asked for but
/// not chosen (`auto`), the reason; `Err` when `kvm` was forced and cannot run.
pub fn resolve(choice: AccelChoice) -> Result<(Backend, Option<String>), String> {
    match choice {
        AccelChoice::Interp => Ok((Backend::Interp, None)),
        AccelChoice::Kvm => kvm_usable().map(|()| (Backend::Kvm, None)),
        AccelChoice::Auto => match host_has_hw_virtualization().and_then(|()| kvm_usable()) {
            Ok(()) => Ok((Backend::Kvm, None)),
            Err(why) => Ok((Backend::Interp, Some(why))),
        },
    }
}
