//! The real CPU as the reference: the sandbox runs under KVM.
//!
//! The sandbox RAM is copied into a KVM machine's memory, the start state loaded, and the
//! guest runs to its HLT. Port accesses and addresses outside RAM are an open bus, as in the
//! interpreter's sandbox. Where KVM itself cannot run an instruction (a software-backed KVM
//! emulates real mode and lacks a few), the run fails with [`UNRUNNABLE`] first in its
//! message, and the tester counts the sequence as not comparable rather than as a mismatch.

use super::{Backend, UNRUNNABLE};
use crate::accel::kvm::{KvmCpu, OpenBus, RunExit};
use crate::cpu::Cpu;
use crate::mem::Memory;
use std::time::{Duration, Instant};

/// The sandbox under KVM.
pub struct KvmBackend {
    cpu: KvmCpu,
    mem: Memory,
}

impl KvmBackend {
    /// A KVM machine with `ram_size` bytes of RAM (a multiple of 4 KiB, at least 64 KiB).
    pub fn new(ram_size: usize) -> Result<KvmBackend, String> {
        crate::accel::kvm_usable()?;
        let mem = Memory::new(ram_size as u64).map_err(|e| e.to_string())?;
        let mut cpu = KvmCpu::new().map_err(|e| e.to_string())?;
        cpu.map_memory(&mem).map_err(|e| e.to_string())?;
        Ok(KvmBackend { cpu, mem })
    }
}

impl Backend for KvmBackend {
    fn name(&self) -> &str {
        "kvm"
    }

    fn run(&mut self, ram: &mut [u8], cpu: &mut Cpu) -> Result<(), String> {
        let mine = self.mem.ram_mut();
        if mine.len() != ram.len() {
            return Err(format!(
                "the sandbox has {} bytes of RAM, the KVM machine {}",
                ram.len(),
                mine.len()
            ));
        }
        mine.copy_from_slice(ram);
        self.cpu.set_state(cpu).map_err(|e| e.to_string())?;
        // Sequences are a few dozen instructions (a REP at most 64 Ki iterations): two seconds
        // mean it never halts, even on a loaded host.
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match self.cpu.run(&mut OpenBus, Some(deadline)) {
                Ok(RunExit::Halt) => break,
                // Code that loops on port or open-bus accesses exits on every one of them:
                // the deadline is checked after every exit.
                Ok(
                    RunExit::Io { .. }
                    | RunExit::Mmio
                    | RunExit::InterruptWindow
                    | RunExit::Interrupted,
                ) if Instant::now() < deadline => {}
                Ok(
                    RunExit::Io { .. }
                    | RunExit::Mmio
                    | RunExit::InterruptWindow
                    | RunExit::Interrupted,
                ) => return Err("no HLT within 2 s".into()),
                Ok(RunExit::Shutdown) => return Err("triple fault".into()),
                Ok(RunExit::Debug { pc }) => return Err(format!("debug exit at {pc:#x}")),
                Ok(RunExit::Unemulated) => {
                    return Err(format!(
                        "{UNRUNNABLE} (KVM's emulator lacks an instruction)"
                    ))
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        self.cpu.get_state(cpu).map_err(|e| e.to_string())?;
        ram.copy_from_slice(self.mem.ram());
        Ok(())
    }
}
