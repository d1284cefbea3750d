//! The KVM back end: one virtual CPU whose memory is the machine's own RAM buffer.
//!
//! There is no in-kernel interrupt controller or timer: every port and MMIO access exits to
//! user space and reaches the machine's bus through [`ExitHandler`]; interrupts come from our
//! PIC and are injected with `KVM_INTERRUPT` when the guest can take them (an
//! interrupt-window exit tells when). A per-thread POSIX timer kicks the CPU out of `KVM_RUN`
//! when the next device deadline comes, so a guest spinning in registers still lets time move.
//!
//! [`KvmCpu::set_state`] and [`KvmCpu::get_state`] convert the interpreter's [`Cpu`] to and
//! from KVM's register sets: general and segment registers with their hidden parts, control
//! and debug registers, descriptor tables, the interrupt shadow. What the interpreter does not
//! model yet (x87/SSE registers, EFER and the other MSRs) is kept as KVM left it and written
//! back unchanged, so a run can move back and forth without losing any of it.

use crate::cpu::{Cpu, Flags, Segment, TableReg};
use crate::mem::{HostRange, Memory};
use kvm_bindings::{
    kvm_debugregs, kvm_fpu, kvm_guest_debug, kvm_msr_entry, kvm_regs, kvm_segment, kvm_sregs,
    kvm_userspace_memory_region, kvm_vcpu_events, Msrs, KVM_GUESTDBG_ENABLE,
    KVM_GUESTDBG_USE_HW_BP, KVM_MAX_CPUID_ENTRIES, KVM_MEM_READONLY, KVM_X86_SHADOW_INT_MOV_SS,
};
use kvm_ioctls::{Cap, Kvm, VcpuExit, VcpuFd, VmFd};
use std::cell::Cell;
use std::sync::Once;
use std::time::Instant;

/// Errors from KVM.
#[derive(Debug, thiserror::Error)]
pub enum KvmError {
    /// `/dev/kvm` or one of its calls failed.
    #[error("KVM: {what}: {err}")]
    Sys {
        /// What was being done.
        what: &'static str,
        /// The system error.
        err: kvm_ioctls::Error,
    },
    /// The guest did something the back end cannot continue from.
    #[error("KVM: {0}")]
    Guest(String),
}

fn sys(what: &'static str) -> impl FnOnce(kvm_ioctls::Error) -> KvmError {
    move |err| KvmError::Sys { what, err }
}

/// Where the guest's port and MMIO accesses go (the machine's bus).
pub trait ExitHandler {
    /// An `IN` of `size` bytes.
    fn io_read(&mut self, port: u16, size: u8) -> u32;
    /// An `OUT` of `size` bytes.
    fn io_write(&mut self, port: u16, size: u8, value: u32);
    /// A read of guest-physical memory that no RAM slot backs.
    fn mem_read(&mut self, addr: u64, data: &mut [u8]);
    /// A write of guest-physical memory that no RAM slot backs (or that is ROM).
    fn mem_write(&mut self, addr: u64, data: &[u8]);
}

/// A handler with nothing behind it: ports and memory read all ones, writes vanish (probes
/// and sandboxes).
pub struct OpenBus;

impl ExitHandler for OpenBus {
    fn io_read(&mut self, _port: u16, size: u8) -> u32 {
        crate::cpu::bus::open_bus(size)
    }
    fn io_write(&mut self, _port: u16, _size: u8, _value: u32) {}
    fn mem_read(&mut self, _addr: u64, data: &mut [u8]) {
        data.fill(0xFF);
    }
    fn mem_write(&mut self, _addr: u64, _data: &[u8]) {}
}

/// Why [`KvmCpu::run`] returned (accesses are already served by then).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunExit {
    /// A port access, served through the handler.
    Io {
        /// The port.
        port: u16,
        /// `OUT` (or `OUTS`) rather than `IN`.
        write: bool,
    },
    /// An MMIO access, served through the handler.
    Mmio,
    /// The guest executed HLT (EIP is past it).
    Halt,
    /// The guest can take an interrupt now (after [`KvmCpu::request_interrupt_window`]).
    InterruptWindow,
    /// The kick timer or a signal ended the run.
    Interrupted,
    /// A triple fault: the machine must reset.
    Shutdown,
    /// KVM met an instruction it cannot execute (a software-backed KVM emulates some modes
    /// instruction by instruction, and its emulator lacks a few). The state is at that
    /// instruction, unchanged: the interpreter can execute it.
    Unemulated,
    /// A guest-debug exit: a hardware breakpoint at this linear address, or a single step.
    Debug {
        /// Linear address of the instruction about to execute.
        pc: u64,
    },
}

/// A KVM virtual machine with one CPU.
pub struct KvmCpu {
    _kvm: Kvm,
    vm: VmFd,
    vcpu: VcpuFd,
    /// Slots in use (numbered from 0).
    slots: u32,
    /// The memory layout the slots were made for.
    layout: Option<(u64, usize)>,
    /// ROM can be mapped read-only (else it is served through exits, one access at a time).
    readonly_mem: bool,
    /// State the interpreter does not model, kept as KVM left it.
    fpu: Option<kvm_fpu>,
    msrs: Vec<kvm_msr_entry>,
    sregs: kvm_sregs,
    timer: Option<KickTimer>,
}

/// MSRs kept across a move to the interpreter and back.
const KEPT_MSRS: &[u32] = &[
    0x174,       // IA32_SYSENTER_CS
    0x175,       // IA32_SYSENTER_ESP
    0x176,       // IA32_SYSENTER_EIP
    0x277,       // IA32_PAT
    0x2FF,       // IA32_MTRR_DEF_TYPE
    0xC000_0081, // STAR
    0xC000_0082, // LSTAR
    0xC000_0083, // CSTAR
    0xC000_0084, // SFMASK
    0xC000_0102, // KERNEL_GS_BASE
];

/// Guest-physical pages KVM needs for itself on hosts without unrestricted guests (real
/// mode through vm86): a TSS (three pages) and an identity page table. They sit in a hole of
/// the PC's address space, below the top 16 MiB where the firmware is repeated.
const KVM_TSS_ADDR: usize = 0xFEFF_D000;
const KVM_IDENTITY_MAP_ADDR: u64 = 0xFEFF_C000;

impl KvmCpu {
    /// Opens `/dev/kvm` and makes a machine with one CPU and no memory yet. The CPU answers
    /// CPUID as the host does (see [`KvmCpu::set_model`] for a modelled chip).
    pub fn new() -> Result<KvmCpu, KvmError> {
        let kvm = Kvm::new().map_err(sys("opening /dev/kvm"))?;
        let vm = kvm.create_vm().map_err(sys("creating a VM"))?;
        // Best effort: only hosts without unrestricted guests use these pages.
        let _ = vm.set_identity_map_address(KVM_IDENTITY_MAP_ADDR);
        let _ = vm.set_tss_address(KVM_TSS_ADDR);
        let vcpu = vm.create_vcpu(0).map_err(sys("creating a vCPU"))?;
        if let Ok(cpuid) = kvm.get_supported_cpuid(KVM_MAX_CPUID_ENTRIES) {
            vcpu.set_cpuid2(&cpuid).map_err(sys("setting CPUID"))?;
        }
        let sregs = vcpu.get_sregs().map_err(sys("reading special registers"))?;
        let readonly_mem = vm.check_extension(Cap::ReadonlyMem);
        Ok(KvmCpu {
            _kvm: kvm,
            vm,
            vcpu,
            slots: 0,
            layout: None,
            readonly_mem,
            fpu: None,
            msrs: Vec::new(),
            sregs,
            timer: None,
        })
    }

    /// Maps `mem`'s RAM and ROM buffers as memory slots, again whenever its layout changed
    /// (A20, MMIO windows, a new ROM) since the last call.
    ///
    /// The slots point into `mem`'s buffers: `mem` must stay alive and this must be called
    /// again before every [`KvmCpu::run`] (cheap when nothing changed), so no slot ever
    /// refers to a buffer that `mem` has replaced.
    pub fn map_memory(&mut self, mem: &Memory) -> Result<(), KvmError> {
        let key = (mem.layout_generation(), mem.ram().as_ptr() as usize);
        if self.layout == Some(key) {
            return Ok(());
        }
        for slot in 0..self.slots {
            let region = kvm_userspace_memory_region {
                slot,
                ..Default::default()
            };
            // SAFETY: a zero-sized region deletes the slot; no host memory is referenced.
            unsafe { self.vm.set_user_memory_region(region) }
                .map_err(sys("removing a memory slot"))?;
        }
        self.slots = 0;
        for HostRange {
            guest,
            len,
            host,
            read_only,
        } in mem.host_ranges()
        {
            if read_only && !self.readonly_mem {
                continue;
            }
            let region = kvm_userspace_memory_region {
                slot: self.slots,
                flags: if read_only { KVM_MEM_READONLY } else { 0 },
                guest_phys_addr: guest as u64,
                memory_size: len as u64,
                userspace_addr: host as u64,
            };
            // SAFETY: `host..host+len` lies inside one of `mem`'s page-aligned buffers
            // (`Memory::host_ranges`), which outlive the mapping as the doc comment requires;
            // read-only ranges are mapped read-only, so the guest writes only RAM.
            unsafe { self.vm.set_user_memory_region(region) }
                .map_err(sys("adding a memory slot"))?;
            self.slots += 1;
        }
        self.layout = Some(key);
        Ok(())
    }

    /// Loads the CPU state: registers, segments with their hidden parts, control, debug and
    /// table registers, the interrupt shadow; plus the state kept from [`KvmCpu::get_state`].
    pub fn set_state(&mut self, cpu: &Cpu) -> Result<(), KvmError> {
        let r = &cpu.regs;
        let regs = kvm_regs {
            rax: r[0] as u64,
            rcx: r[1] as u64,
            rdx: r[2] as u64,
            rbx: r[3] as u64,
            rsp: r[4] as u64,
            rbp: r[5] as u64,
            rsi: r[6] as u64,
            rdi: r[7] as u64,
            rip: cpu.eip as u64,
            rflags: (cpu.flags.get() | 2) as u64,
            ..Default::default()
        };
        self.vcpu
            .set_regs(&regs)
            .map_err(sys("setting registers"))?;

        let protected = cpu.protected();
        let mut s = self.sregs;
        let seg = |i: usize| to_kvm_segment(&cpu.segs[i], protected, i == 1 || i == 2);
        s.es = seg(0);
        s.cs = seg(1);
        s.ss = seg(2);
        s.ds = seg(3);
        s.fs = seg(4);
        s.gs = seg(5);
        s.ldt = to_kvm_system_segment(&cpu.ldtr, 2);
        s.tr = to_kvm_system_segment(&cpu.tr, 11);
        s.gdt.base = cpu.gdtr.base as u64;
        s.gdt.limit = cpu.gdtr.limit;
        s.idt.base = cpu.idtr.base as u64;
        s.idt.limit = cpu.idtr.limit;
        s.cr0 = cpu.cr[0] as u64;
        s.cr2 = cpu.cr[2] as u64;
        s.cr3 = cpu.cr[3] as u64;
        s.cr4 = cpu.cr[4] as u64;
        s.interrupt_bitmap = [0; 4];
        self.vcpu
            .set_sregs(&s)
            .map_err(sys("setting special registers"))?;
        self.sregs = s;

        let debug = kvm_debugregs {
            db: [0, 1, 2, 3].map(|i| cpu.dr[i] as u64),
            dr6: (cpu.dr[6] | 0xFFFF_0FF0) as u64,
            dr7: (cpu.dr[7] | 0x400) as u64,
            ..Default::default()
        };
        self.vcpu
            .set_debug_regs(&debug)
            .map_err(sys("setting debug registers"))?;

        let mut events = kvm_vcpu_events {
            flags: kvm_bindings::KVM_VCPUEVENT_VALID_SHADOW,
            ..Default::default()
        };
        events.interrupt.shadow = if cpu.interrupt_shadow() {
            KVM_X86_SHADOW_INT_MOV_SS as u8
        } else {
            0
        };
        self.vcpu
            .set_vcpu_events(&events)
            .map_err(sys("setting pending events"))?;

        // The x87 state is the interpreter's; XMM and MXCSR are kept as KVM left them.
        let mut fpu = match self.fpu {
            Some(f) => f,
            None => self.vcpu.get_fpu().map_err(sys("reading FPU state"))?,
        };
        fpu_to_kvm(&cpu.fpu, &mut fpu);
        self.vcpu.set_fpu(&fpu).map_err(sys("setting FPU state"))?;
        if !self.msrs.is_empty() {
            let msrs = Msrs::from_entries(&self.msrs)
                .map_err(|e| KvmError::Guest(format!("MSR list: {e:?}")))?;
            self.vcpu.set_msrs(&msrs).map_err(sys("setting MSRs"))?;
        }
        Ok(())
    }

    /// Makes CPUID answer as the interpreter's `model` does, so that a guest sees the same chip
    /// under both back ends (leaves 0 up to the model's highest; Intel CPUs answer any higher
    /// leaf, extended ones included, with the highest basic leaf, and KVM does the same).
    pub fn set_model(&mut self, model: crate::cpu::CpuModel) -> Result<(), KvmError> {
        use crate::cpu::cpuid;
        let max = cpuid::max_basic_leaf(model).unwrap_or(0);
        let entries: Vec<kvm_bindings::kvm_cpuid_entry2> = (0..=max)
            .map(|leaf| {
                let r = cpuid::cpuid(model, leaf);
                kvm_bindings::kvm_cpuid_entry2 {
                    function: leaf,
                    eax: r.eax,
                    ebx: r.ebx,
                    ecx: r.ecx,
                    edx: r.edx,
                    ..Default::default()
                }
            })
            .collect();
        let table = kvm_bindings::CpuId::from_entries(&entries)
            .map_err(|_| KvmError::Guest("too many CPUID leaves for KVM".into()))?;
        self.vcpu
            .set_cpuid2(&table)
            .map_err(sys("setting the model's CPUID"))
    }

    /// Reads the CPU state into `cpu` (keeping what the interpreter does not model here).
    /// Returns the vector of an external interrupt that was injected but not yet delivered:
    /// the caller must deliver it (the PIC has already acknowledged it).
    pub fn get_state(&mut self, cpu: &mut Cpu) -> Result<Option<u8>, KvmError> {
        let regs = self.vcpu.get_regs().map_err(sys("reading registers"))?;
        cpu.regs[0] = regs.rax as u32;
        cpu.regs[1] = regs.rcx as u32;
        cpu.regs[2] = regs.rdx as u32;
        cpu.regs[3] = regs.rbx as u32;
        cpu.regs[4] = regs.rsp as u32;
        cpu.regs[5] = regs.rbp as u32;
        cpu.regs[6] = regs.rsi as u32;
        cpu.regs[7] = regs.rdi as u32;
        cpu.eip = regs.rip as u32;
        cpu.flags = Flags::default();
        cpu.flags.set(regs.rflags as u32);

        let s = self
            .vcpu
            .get_sregs()
            .map_err(sys("reading special registers"))?;
        for (i, k) in [s.es, s.cs, s.ss, s.ds, s.fs, s.gs].iter().enumerate() {
            cpu.segs[i] = from_kvm_segment(k);
        }
        cpu.ldtr = from_kvm_segment(&s.ldt);
        cpu.tr = from_kvm_segment(&s.tr);
        cpu.gdtr = TableReg {
            base: s.gdt.base as u32,
            limit: s.gdt.limit,
        };
        cpu.idtr = TableReg {
            base: s.idt.base as u32,
            limit: s.idt.limit,
        };
        cpu.cr[0] = s.cr0 as u32;
        cpu.cr[2] = s.cr2 as u32;
        cpu.cr[3] = s.cr3 as u32;
        cpu.cr[4] = s.cr4 as u32;
        self.sregs = s;

        let d = self
            .vcpu
            .get_debug_regs()
            .map_err(sys("reading debug registers"))?;
        for i in 0..4 {
            cpu.dr[i] = d.db[i] as u32;
        }
        cpu.dr[6] = d.dr6 as u32;
        cpu.dr[7] = d.dr7 as u32;

        let events = self
            .vcpu
            .get_vcpu_events()
            .map_err(sys("reading pending events"))?;
        cpu.set_interrupt_shadow(events.interrupt.shadow != 0);
        cpu.halted = false;
        cpu.rep_pending = false;
        // The CPL, paging switch and TLB follow the state KVM left.
        cpu.state_loaded();

        let fpu = self.vcpu.get_fpu().map_err(sys("reading FPU state"))?;
        fpu_from_kvm(&fpu, &mut cpu.fpu);
        self.fpu = Some(fpu);
        let entries: Vec<kvm_msr_entry> = KEPT_MSRS
            .iter()
            .map(|&index| kvm_msr_entry {
                index,
                ..Default::default()
            })
            .collect();
        let mut msrs = Msrs::from_entries(&entries)
            .map_err(|e| KvmError::Guest(format!("MSR list: {e:?}")))?;
        let n = self.vcpu.get_msrs(&mut msrs).map_err(sys("reading MSRs"))?;
        self.msrs = msrs.as_slice()[..n].to_vec();

        if events.exception.injected != 0 || events.exception.pending != 0 {
            return Err(KvmError::Guest(format!(
                "exception {} is half delivered; the state cannot move now",
                events.exception.nr
            )));
        }
        Ok(
            (events.interrupt.injected != 0 && events.interrupt.soft == 0)
                .then_some(events.interrupt.nr),
        )
    }

    /// Whether the guest can take an external interrupt now (IF set, no shadow), as of the
    /// last exit.
    pub fn can_inject(&mut self) -> bool {
        let run = self.vcpu.get_kvm_run();
        run.ready_for_interrupt_injection != 0 && run.if_flag != 0
    }

    /// The guest's interrupt flag as of the last exit.
    pub fn interrupt_flag(&mut self) -> bool {
        self.vcpu.get_kvm_run().if_flag != 0
    }

    /// Queues external interrupt `vector` for delivery on the next entry.
    pub fn inject(&mut self, vector: u8) -> Result<(), KvmError> {
        let irq = kvm_bindings::kvm_interrupt { irq: vector as u32 };
        // SAFETY: KVM_INTERRUPT reads one `kvm_interrupt` from the pointer, which is valid
        // for the duration of the call; the descriptor is this VM's vCPU.
        let ret =
            unsafe { vmm_sys_util::ioctl::ioctl_with_ref(&self.vcpu, kvm_interrupt_ioctl(), &irq) };
        if ret < 0 {
            return Err(KvmError::Sys {
                what: "injecting an interrupt",
                err: kvm_ioctls::Error::last(),
            });
        }
        Ok(())
    }

    /// Asks for an [`RunExit::InterruptWindow`] exit as soon as the guest can take an
    /// interrupt (or stops asking).
    pub fn request_interrupt_window(&mut self, on: bool) {
        self.vcpu.get_kvm_run().request_interrupt_window = on as u8;
    }

    /// Hardware breakpoints on up to four linear addresses (empty: guest debugging off).
    /// `Err` when the host does not support guest debugging.
    pub fn set_breakpoints(&mut self, addrs: &[u32]) -> Result<(), KvmError> {
        let mut dbg = kvm_guest_debug::default();
        if !addrs.is_empty() {
            dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
            let mut dr7 = 0u64;
            for (i, &a) in addrs.iter().take(4).enumerate() {
                dbg.arch.debugreg[i] = a as u64;
                dr7 |= 2 << (2 * i); // global enable, execute, one byte
            }
            dbg.arch.debugreg[7] = dr7 | 0x400;
        }
        self.vcpu
            .set_guest_debug(&dbg)
            .map_err(sys("setting guest debugging"))
    }

    /// Runs the guest until an exit that needs the caller, serving port and MMIO accesses
    /// through `h` first. Ends early (with [`RunExit::Interrupted`]) when `deadline` passes.
    pub fn run(
        &mut self,
        h: &mut dyn ExitHandler,
        deadline: Option<Instant>,
    ) -> Result<RunExit, KvmError> {
        let run_ptr = self.vcpu.get_kvm_run() as *mut kvm_bindings::kvm_run;
        if let Some(at) = deadline {
            let timer = match &mut self.timer {
                Some(t) if t.owner_is_current() => t,
                slot => slot.insert(KickTimer::new()?),
            };
            timer.arm(at);
        }
        KICK_TARGET.with(|t| t.set(run_ptr));
        let result = self.vcpu.run();
        KICK_TARGET.with(|t| t.set(std::ptr::null_mut()));
        if let Some(t) = &mut self.timer {
            t.disarm();
        }
        let exit = match result {
            Ok(exit) => exit,
            Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {
                self.vcpu.set_kvm_immediate_exit(0);
                return Ok(RunExit::Interrupted);
            }
            Err(e) => {
                return Err(KvmError::Sys {
                    what: "running",
                    err: e,
                })
            }
        };
        let out = match exit {
            VcpuExit::IoIn(..) | VcpuExit::IoOut(..) => None,
            VcpuExit::MmioRead(addr, data) => {
                h.mem_read(addr, data);
                Some(RunExit::Mmio)
            }
            VcpuExit::MmioWrite(addr, data) => {
                h.mem_write(addr, data);
                Some(RunExit::Mmio)
            }
            VcpuExit::Hlt => Some(RunExit::Halt),
            VcpuExit::IrqWindowOpen => Some(RunExit::InterruptWindow),
            VcpuExit::Intr => Some(RunExit::Interrupted),
            VcpuExit::Shutdown => Some(RunExit::Shutdown),
            VcpuExit::Debug(arch) => Some(RunExit::Debug { pc: arch.pc }),
            VcpuExit::FailEntry(reason, _) => {
                return Err(KvmError::Guest(format!(
                    "the host refused to enter the guest (hardware reason {reason:#x})"
                )))
            }
            VcpuExit::InternalError => Some(RunExit::Unemulated),
            other => {
                return Err(KvmError::Guest(format!("unexpected exit {other:?}")));
            }
        };
        self.vcpu.set_kvm_immediate_exit(0);
        if let Some(out) = out {
            return Ok(out);
        }
        // Port I/O: served here from the run structure (string instructions bring several
        // items at once).
        let run = self.vcpu.get_kvm_run();
        // SAFETY: exit_reason is KVM_EXIT_IO, so the `io` member of the union is the live one.
        let io = unsafe { run.__bindgen_anon_1.io };
        let size = io.size as usize;
        let write = io.direction == kvm_bindings::KVM_EXIT_IO_OUT as u8;
        let base = run as *mut kvm_bindings::kvm_run as *mut u8;
        for i in 0..io.count as usize {
            // SAFETY: the kernel puts `count` items of `size` bytes at `data_offset` inside
            // the mapped run structure (the same bytes kvm-ioctls hands out as a slice).
            let item = unsafe {
                std::slice::from_raw_parts_mut(base.add(io.data_offset as usize + i * size), size)
            };
            if write {
                let mut v = [0u8; 4];
                v[..size].copy_from_slice(item);
                h.io_write(io.port, size as u8, u32::from_le_bytes(v));
            } else {
                let v = h.io_read(io.port, size as u8).to_le_bytes();
                item.copy_from_slice(&v[..size]);
            }
        }
        Ok(RunExit::Io {
            port: io.port,
            write,
        })
    }

    /// Completes a pending port or MMIO access without running guest code, so the state read
    /// next is the state after the instruction (KVM finishes an `IN` only on re-entry).
    pub fn complete_pending(&mut self) -> Result<(), KvmError> {
        self.vcpu.set_kvm_immediate_exit(1);
        let r = self.vcpu.run().map(|_| ());
        self.vcpu.set_kvm_immediate_exit(0);
        match r {
            Err(e) if e.errno() != libc::EINTR => Err(KvmError::Sys {
                what: "completing an access",
                err: e,
            }),
            _ => Ok(()),
        }
    }
}

/// KVM_INTERRUPT: `_IOW(KVMIO, 0x86, struct kvm_interrupt)`, which kvm-ioctls lacks.
fn kvm_interrupt_ioctl() -> libc::c_ulong {
    vmm_sys_util::ioctl_iow_nr!(
        KVM_INTERRUPT,
        kvm_bindings::KVMIO,
        0x86,
        kvm_bindings::kvm_interrupt
    );
    KVM_INTERRUPT()
}

fn to_kvm_segment(s: &Segment, protected: bool, always_usable: bool) -> kvm_segment {
    let a = s.attrs;
    kvm_segment {
        base: s.base as u64,
        limit: s.limit,
        selector: s.selector,
        type_: (a & 0xF) as u8,
        s: (a >> 4 & 1) as u8,
        dpl: (a >> 5 & 3) as u8,
        present: (a >> 7 & 1) as u8,
        avl: (a >> 12 & 1) as u8,
        l: (a >> 13 & 1) as u8,
        db: (a >> 14 & 1) as u8,
        g: (a >> 15 & 1) as u8,
        // A null selector in a data segment register of protected mode holds nothing usable.
        unusable: (protected && !always_usable && s.selector & !3 == 0) as u8,
        padding: 0,
    }
}

/// LDTR and TR: a register that was never loaded (reset state, attributes 0) gets the
/// attributes the hardware's reset gives it (an LDT, a busy 32-bit TSS), so KVM accepts it.
fn to_kvm_system_segment(s: &Segment, reset_type: u8) -> kvm_segment {
    let mut k = to_kvm_segment(s, false, true);
    if s.attrs == 0 {
        k.type_ = reset_type;
        k.present = 1;
        k.s = 0;
    }
    k
}

fn from_kvm_segment(k: &kvm_segment) -> Segment {
    let attrs = (k.type_ as u16 & 0xF)
        | (k.s as u16 & 1) << 4
        | (k.dpl as u16 & 3) << 5
        | (k.present as u16 & 1) << 7
        | (k.avl as u16 & 1) << 12
        | (k.l as u16 & 1) << 13
        | (k.db as u16 & 1) << 14
        | (k.g as u16 & 1) << 15;
    Segment {
        selector: k.selector,
        base: k.base as u32,
        limit: k.limit,
        attrs,
    }
}

// ----- kicking the CPU out of KVM_RUN at a deadline ------------------------------------------

thread_local! {
    /// The run structure of the vCPU this thread is running (null when none): the signal
    /// handler sets its `immediate_exit` so a kick that lands just before `KVM_RUN` is not lost.
    static KICK_TARGET: Cell<*mut kvm_bindings::kvm_run> = const { Cell::new(std::ptr::null_mut()) };
}

extern "C" fn on_kick(_sig: libc::c_int) {
    // Only an access to a thread-local cell and a byte store: async-signal-safe.
    let target = KICK_TARGET.with(|t| t.get());
    if !target.is_null() {
        // SAFETY: the pointer is this thread's mapped run structure, set only around KVM_RUN.
        unsafe { std::ptr::addr_of_mut!((*target).immediate_exit).write_volatile(1) };
    }
}

fn kick_signal() -> libc::c_int {
    libc::SIGRTMIN() + 3
}

/// A one-shot POSIX timer that signals one thread.
struct KickTimer {
    id: libc::timer_t,
    tid: libc::pid_t,
}

impl KickTimer {
    fn new() -> Result<KickTimer, KvmError> {
        static HANDLER: Once = Once::new();
        HANDLER.call_once(|| {
            // SAFETY: installs a handler that only touches a thread-local and the run
            // structure; SA_RESTART keeps other system calls from seeing EINTR.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_kick as *const () as usize;
                sa.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut sa.sa_mask);
                libc::sigaction(kick_signal(), &sa, std::ptr::null_mut());
            }
        });
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        // SAFETY: a zeroed sigevent is valid; the fields set below select thread delivery.
        let mut ev: libc::sigevent = unsafe { std::mem::zeroed() };
        ev.sigev_notify = libc::SIGEV_THREAD_ID;
        ev.sigev_signo = kick_signal();
        ev.sigev_notify_thread_id = tid;
        let mut id: libc::timer_t = std::ptr::null_mut();
        // SAFETY: `ev` and `id` are valid for the call.
        if unsafe { libc::timer_create(libc::CLOCK_MONOTONIC, &mut ev, &mut id) } != 0 {
            return Err(KvmError::Guest(format!(
                "cannot create a timer: {}",
                std::io::Error::last_os_error()
            )));
        }
        Ok(KickTimer { id, tid })
    }

    fn owner_is_current(&self) -> bool {
        // SAFETY: gettid has no preconditions.
        self.tid == unsafe { libc::gettid() }
    }

    fn arm(&mut self, at: Instant) {
        let d = at
            .saturating_duration_since(Instant::now())
            .max(std::time::Duration::from_micros(1));
        self.set(
            d.as_secs() as libc::time_t,
            d.subsec_nanos() as libc::c_long,
        );
    }

    fn disarm(&mut self) {
        self.set(0, 0);
    }

    fn set(&mut self, sec: libc::time_t, nsec: libc::c_long) {
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: sec,
                tv_nsec: nsec,
            },
        };
        // SAFETY: `id` is a live timer owned by `self`; `spec` is valid for the call.
        unsafe { libc::timer_settime(self.id, 0, &spec, std::ptr::null_mut()) };
    }
}

impl Drop for KickTimer {
    fn drop(&mut self) {
        // SAFETY: `id` is a live timer owned by `self`, deleted once.
        unsafe { libc::timer_delete(self.id) };
    }
}

/// Checks that KVM runs a guest here: a real-mode HLT must come back as a HLT exit.
pub fn probe() -> Result<(), String> {
    let mut k = KvmCpu::new().map_err(|e| e.to_string())?;
    let mut mem = Memory::new(0x10000).map_err(|e| e.to_string())?;
    mem.load(0x1000, &[0xF4]).map_err(|e| e.to_string())?;
    k.map_memory(&mem).map_err(|e| e.to_string())?;
    let mut cpu = Cpu::new(crate::cpu::CpuModel::I486);
    cpu.load_seg_real(crate::cpu::decode::seg::CS, 0);
    cpu.eip = 0x1000;
    k.set_state(&cpu).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + std::time::Duration::from_secs(2);
    match k.run(&mut OpenBus, Some(deadline)) {
        Ok(RunExit::Halt) => Ok(()),
        Ok(other) => Err(format!(
            "KVM probe guest stopped with {other:?} instead of HLT"
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Copies the interpreter's x87 state into KVM's FXSAVE-style record: registers in stack order
/// (ST0 first), the abridged tag word by physical register, the last opcode and pointers
/// (offsets only: KVM's record has no selectors).
pub fn fpu_to_kvm(f: &crate::cpu::fpu::Fpu, k: &mut kvm_fpu) {
    for (i, r) in k.fpr.iter_mut().enumerate() {
        r[..10].copy_from_slice(&f.st(i as u8).to_bytes());
        r[10..].fill(0);
    }
    k.fcw = f.cw;
    k.fsw = f.status_word();
    k.ftwx = f.abridged_tag();
    k.last_opcode = f.fop;
    k.last_ip = f.fip as u64;
    k.last_dp = f.fdp as u64;
}

/// Copies KVM's x87 state into the interpreter's (the reverse of [`fpu_to_kvm`]; the
/// selectors of the last pointers are not in KVM's record and become 0).
pub fn fpu_from_kvm(k: &kvm_fpu, f: &mut crate::cpu::fpu::Fpu) {
    f.cw = k.fcw;
    f.set_status_word(k.fsw);
    for (i, r) in k.fpr.iter().enumerate() {
        let mut b = [0u8; 10];
        b.copy_from_slice(&r[..10]);
        let p = f.phys(i as u8);
        f.regs[p] = crate::cpu::fpu::F80::from_bytes(b);
    }
    f.set_abridged_tag(k.ftwx);
    f.fop = k.last_opcode & 0x7FF;
    f.fip = k.last_ip as u32;
    f.fcs = 0;
    f.fdp = k.last_dp as u32;
    f.fds = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without a usable `/dev/kvm` these tests say so and pass.
    fn kvm_or_skip() -> bool {
        match probe() {
            Ok(()) => true,
            Err(why) => {
                eprintln!("skipped: KVM is not usable here: {why}");
                false
            }
        }
    }

    #[test]
    fn x87_state_round_trips_through_the_kvm_record() {
        use crate::cpu::fpu::{Fpu, F80};
        let mut f = Fpu::new();
        f.init();
        f.push(F80::ONE);
        f.push(F80::new(false, 0x4000, 0xC90F_DAA2_2168_C235));
        f.cw = 0x0A7F;
        f.sw |= 0x21;
        f.fop = 0x1D9;
        f.fip = 0x1234;
        f.fdp = 0x5678;
        let mut k = kvm_fpu {
            mxcsr: 0x1F80,
            ..Default::default()
        };
        k.xmm[0][0] = 0xAA;
        fpu_to_kvm(&f, &mut k);
        assert_eq!(k.fpr[0][..10], f.st(0).to_bytes(), "ST0 first");
        assert_eq!(k.fpr[1][..10], F80::ONE.to_bytes());
        assert_eq!((k.fcw, k.fsw, k.ftwx), (0x0A7F, 0x3021, 0xC0));
        assert_eq!(
            (k.last_opcode, k.last_ip, k.last_dp),
            (0x1D9, 0x1234, 0x5678)
        );
        assert_eq!(
            (k.xmm[0][0], k.mxcsr),
            (0xAA, 0x1F80),
            "SSE state untouched"
        );
        let mut g = Fpu::new();
        fpu_from_kvm(&k, &mut g);
        assert_eq!((g.st(0), g.st(1)), (f.st(0), f.st(1)));
        assert_eq!(
            (g.cw, g.status_word(), g.tag_word()),
            (f.cw, f.status_word(), f.tag_word())
        );
        assert_eq!((g.fop, g.fip, g.fdp), (f.fop, f.fip, f.fdp));
    }

    #[test]
    fn state_survives_a_round_trip_through_kvm() {
        if !kvm_or_skip() {
            return;
        }
        let mut k = KvmCpu::new().unwrap();
        let mut mem = Memory::new(0x10000).unwrap();
        mem.load(0x2000, &[0xF4]).unwrap();
        k.map_memory(&mem).unwrap();
        let mut cpu = Cpu::new(crate::cpu::CpuModel::I486);
        cpu.regs[..8].copy_from_slice(&[1, 2, 3, 4, 0x1000, 6, 7, 8]);
        cpu.load_seg_real(crate::cpu::decode::seg::CS, 0x100);
        cpu.load_seg_real(crate::cpu::decode::seg::DS, 0x1234);
        cpu.eip = 0x1000;
        cpu.idtr = TableReg {
            base: 0x400,
            limit: 0x3FF,
        };
        k.set_state(&cpu).unwrap();
        let mut back = Cpu::new(crate::cpu::CpuModel::I486);
        assert_eq!(k.get_state(&mut back).unwrap(), None);
        assert_eq!(back.regs, cpu.regs);
        assert_eq!(back.eip, cpu.eip);
        assert_eq!(back.segs, cpu.segs);
        assert_eq!(back.idtr, cpu.idtr);
        assert_eq!(back.flags.get(), cpu.flags.get());
        assert_eq!(back.cr[0], cpu.cr[0]);
        let start = Instant::now();
        assert_eq!(k.run(&mut OpenBus, None).unwrap(), RunExit::Halt);
        k.get_state(&mut back).unwrap();
        assert_eq!(back.eip, 0x1001);

        // What the interpreter does not model comes back unchanged: x87 registers and MSRs.
        let mut fpu = k.vcpu.get_fpu().unwrap();
        fpu.fcw = 0x027F;
        fpu.fpr[0][..10].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0x80, 0xFF, 0x3F]); // 1.0
        fpu.ftwx = 1;
        k.vcpu.set_fpu(&fpu).unwrap();
        let sysenter_cs = Msrs::from_entries(&[kvm_msr_entry {
            index: 0x174,
            data: 0x10,
            ..Default::default()
        }])
        .unwrap();
        k.vcpu.set_msrs(&sysenter_cs).unwrap();
        k.get_state(&mut back).unwrap();
        assert_eq!(
            back.fpu.cw, 0x027F,
            "KVM's x87 state reaches the interpreter"
        );
        assert_eq!(back.fpu.st(0), crate::cpu::fpu::F80::ONE);
        k.set_state(&Cpu::new(crate::cpu::CpuModel::I486)).unwrap();
        k.set_state(&back).unwrap();
        let again = k.vcpu.get_fpu().unwrap();
        assert_eq!(
            (again.fcw, again.fpr[0], again.ftwx),
            (0x027F, fpu.fpr[0], 1)
        );
        let mut msr = Msrs::from_entries(&[kvm_msr_entry {
            index: 0x174,
            ..Default::default()
        }])
        .unwrap();
        k.vcpu.get_msrs(&mut msr).unwrap();
        assert_eq!(msr.as_slice()[0].data, 0x10);
        eprintln!("HLT round trip took {:?}", start.elapsed());
    }
}
