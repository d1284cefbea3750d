//! Model-specific registers (RDMSR/WRMSR) of the Pentium and the Pentium II.
//!
//! Each model has its own set; an index outside it is #GP(0), and so is a write that sets a
//! reserved bit or a value a register does not take. Sources: Intel SDM Vol. 3, "Model-Specific
//! Registers" (the tables "MSRs in Pentium Processors" and "MSRs in the P6 Family Processors"),
//! "Machine-Check Architecture", "Memory Cache Control" (MTRRs and the PAT) and "Time-Stamp
//! Counter".
//!
//! What is modelled:
//! - **TSC** (10h): the guest's time-stamp counter is the CPU's cycle counter plus an offset, so
//!   it runs with virtual time and costs nothing per instruction. A write changes the offset;
//!   as on every processor before the Pentium 4 model 3, a write sets the low 32 bits and clears
//!   the high 32. RESET sets the counter to zero.
//! - **Pentium**: the machine-check address and type (0h, 1h: no machine check ever happens, so
//!   both read zero), CESR and the two 40-bit event counters CTR0/CTR1 (11h–13h), stored but not
//!   counting. The Pentium's test registers (2h–0Eh) are not modelled and are #GP.
//! - **Pentium II**: the P5 machine-check pair, TSC, PLATFORM_ID (17h), APIC_BASE (1Bh),
//!   EBL_CR_POWERON (2Ah), BIOS_UPDT_TRIG (79h), BIOS_SIGN_ID (8Bh), the event counters and
//!   selectors (C1h, C2h, 186h, 187h; stored, not counting), MTRRcap (FEh), SYSENTER_CS/ESP/EIP
//!   (174h–176h), MCG_CAP/STATUS/CTL (179h–17Bh) and five machine-check banks (400h–413h), the
//!   variable and fixed MTRRs (200h–20Fh, 250h, 258h, 259h, 268h–26Fh), the PAT (277h) and
//!   MTRRdefType (2FFh).
//!
//! Linux 6.1 on a family-6 model-5 CPU reads these without a fault handler: PLATFORM_ID and
//! BIOS_SIGN_ID (microcode loader and `early_init_intel`), MTRRcap, MTRRdefType and every MTRR
//! (`mtrr_bp_init`), MCG_CAP and each bank's CTL and STATUS (machine-check init and polling),
//! SYSENTER_CS/ESP/EIP (`enable_sep_cpu`); it probes the event counters with the `_safe`
//! accessors. BBL_CR_CTL3 (11Eh) is not read by Linux and is not modelled.
//!
//! Memory types are stored but have no effect: the emulator has no caches. A write to an MTRR
//! invalidates the TLBs on real hardware; [`Msrs::write`] reports no such side effect yet.

use super::fault::Fault;
use super::model::CpuModel;
use serde::{Deserialize, Serialize};

/// MSR addresses.
pub mod index {
    /// Pentium machine-check address (architectural, read as zero).
    pub const P5_MC_ADDR: u32 = 0x00;
    /// Pentium machine-check type (architectural, read as zero).
    pub const P5_MC_TYPE: u32 = 0x01;
    /// Time-stamp counter.
    pub const TSC: u32 = 0x10;
    /// Pentium: control and event select for the two counters.
    pub const P5_CESR: u32 = 0x11;
    /// Pentium: event counter 0.
    pub const P5_CTR0: u32 = 0x12;
    /// Pentium: event counter 1.
    pub const P5_CTR1: u32 = 0x13;
    /// P6: platform id (bits 52:50), read only.
    pub const PLATFORM_ID: u32 = 0x17;
    /// P6: local APIC base address and enable.
    pub const APIC_BASE: u32 = 0x1B;
    /// P6: hard power-on configuration.
    pub const EBL_CR_POWERON: u32 = 0x2A;
    /// P6: microcode update trigger (write only).
    pub const BIOS_UPDT_TRIG: u32 = 0x79;
    /// P6: microcode update signature (revision in bits 63:32).
    pub const BIOS_SIGN_ID: u32 = 0x8B;
    /// P6: performance counter 0.
    pub const PERFCTR0: u32 = 0xC1;
    /// P6: performance counter 1.
    pub const PERFCTR1: u32 = 0xC2;
    /// P6: MTRR capabilities, read only.
    pub const MTRRCAP: u32 = 0xFE;
    /// P6: SYSENTER/SYSEXIT code selector.
    pub const SYSENTER_CS: u32 = 0x174;
    /// P6: SYSENTER stack pointer.
    pub const SYSENTER_ESP: u32 = 0x175;
    /// P6: SYSENTER entry point.
    pub const SYSENTER_EIP: u32 = 0x176;
    /// P6: machine-check capabilities, read only.
    pub const MCG_CAP: u32 = 0x179;
    /// P6: machine-check status (RIPV, EIPV, MCIP).
    pub const MCG_STATUS: u32 = 0x17A;
    /// P6: machine-check global enable.
    pub const MCG_CTL: u32 = 0x17B;
    /// P6: event select 0.
    pub const EVNTSEL0: u32 = 0x186;
    /// P6: event select 1.
    pub const EVNTSEL1: u32 = 0x187;
    /// P6: first variable-range MTRR (base/mask pairs up to 20Fh).
    pub const MTRR_PHYS_BASE0: u32 = 0x200;
    /// P6: fixed-range MTRR for 00000h–7FFFFh.
    pub const MTRR_FIX_64K_00000: u32 = 0x250;
    /// P6: fixed-range MTRR for 80000h–9FFFFh.
    pub const MTRR_FIX_16K_80000: u32 = 0x258;
    /// P6: fixed-range MTRR for A0000h–BFFFFh.
    pub const MTRR_FIX_16K_A0000: u32 = 0x259;
    /// P6: first fixed-range MTRR of 4 KiB ranges (C0000h; eight of them up to 26Fh).
    pub const MTRR_FIX_4K_C0000: u32 = 0x268;
    /// P6: page attribute table.
    pub const PAT: u32 = 0x277;
    /// P6: default memory type and MTRR enables.
    pub const MTRR_DEF_TYPE: u32 = 0x2FF;
    /// P6: first machine-check bank register (MC0_CTL); four per bank.
    pub const MC0_CTL: u32 = 0x400;
}

/// Machine-check banks of the P6 family (SDM: "the P6 family processors provide five banks").
pub const MCA_BANKS: usize = 5;
/// Variable-range MTRR pairs (MTRRcap.VCNT).
pub const MTRR_VARIABLE: usize = 8;
/// Fixed-range MTRRs: 250h, 258h, 259h and 268h–26Fh.
const MTRR_FIXED: usize = 11;

/// MTRRcap: VCNT = 8, FIX (bit 8) and WC (bit 10) supported.
pub const MTRRCAP_VALUE: u64 = 0x508;
/// PAT after reset (SDM, "PAT Initialization"): WB WT UC- UC in entries 0–3 and again in 4–7.
pub const PAT_RESET: u64 = 0x0007_0406_0007_0406;
/// MCG_CAP of the P6 family: five banks (bits 7:0) and MCG_CTL present (bit 8).
pub const MCG_CAP_P6: u64 = 0x105;
/// The microcode revision BIOS_SIGN_ID reports after CPUID: no update is ever loaded.
pub const MICROCODE_REVISION: u32 = 0;
/// APIC_BASE after reset on the Pentium II modelled here: base FEE00000h, BSP (bit 8), and the
/// global enable (bit 11) clear — the state of a chip whose firmware switched its APIC off,
/// which is why CPUID does not report one.
pub const APIC_BASE_RESET: u64 = 0xFEE0_0100;
/// EBL_CR_POWERON as the pins strap it: bus 66 MHz (bits 19:18 = 00) and a core/bus ratio of
/// 4.5 (bits 27, 25:22 = 0_0110, the P6 encoding), i.e. the 300 MHz Pentium II that is the
/// model's default clock. Every other read-only field reads zero; the writable error-checking
/// enables start clear.
pub const EBL_CR_POWERON_RESET: u64 = 0x0180_0000;
/// EBL_CR_POWERON bits a WRMSR changes (SDM P6 table: data and response error checking, AERR#
/// drive, BERR# enables, BINIT# drive, low power mode); writes to the other bits are ignored.
const EBL_CR_POWERON_WRITABLE: u64 = 0x0400_00DE;
/// Physical address bits of the Pentium II (PAE and PSE-36 give 36).
const PHYS_BITS_MASK: u64 = (1 << 36) - 1;
/// Address bits (35:12) of an MTRR base or mask.
const MTRR_ADDR: u64 = PHYS_BITS_MASK & !0xFFF;
/// MTRRphysMask valid bit.
const MTRR_MASK_VALID: u64 = 1 << 11;
/// MTRRdefType: default type (7:0), fixed-range enable (10), MTRR enable (11).
const MTRR_DEF_TYPE_BITS: u64 = 0xCFF;
/// CESR: ES0/CC0/PC0 (bits 9:0) and ES1/CC1/PC1 (bits 25:16).
const P5_CESR_BITS: u64 = 0x03FF_03FF;
/// The Pentium's and the Pentium II's event counters are 40 bits wide.
const COUNTER_MASK: u64 = (1 << 40) - 1;

/// Whether `t` is a memory type an MTRR takes: UC (0), WC (1), WT (4), WP (5), WB (6).
fn mtrr_type_ok(t: u64) -> bool {
    matches!(t, 0 | 1 | 4 | 5 | 6)
}

/// Whether every byte of a fixed-range MTRR holds a valid memory type.
fn fixed_ok(v: u64) -> bool {
    (0..8).all(|k| mtrr_type_ok((v >> (8 * k)) & 0xFF))
}

/// Whether every byte of the PAT holds a valid type: the MTRR types plus UC- (7).
fn pat_ok(v: u64) -> bool {
    (0..8).all(|k| {
        let t = (v >> (8 * k)) & 0xFF;
        mtrr_type_ok(t) || t == 7
    })
}

/// The MSR state of one CPU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Msrs {
    /// Guest TSC minus the cycle counter (wrapping).
    tsc_offset: u64,
    /// SYSENTER_CS (the low 32 bits; the high half of a write is ignored).
    pub sysenter_cs: u32,
    /// SYSENTER_ESP.
    pub sysenter_esp: u32,
    /// SYSENTER_EIP.
    pub sysenter_eip: u32,
    /// Event counters: CTR0/CTR1 on the Pentium, PerfCtr0/1 on the Pentium II (40 bits).
    counters: [u64; 2],
    /// PerfEvtSel0/1 (P6).
    evntsel: [u32; 2],
    /// CESR (Pentium).
    cesr: u32,
    /// Variable-range MTRRs: base, mask, base, mask… as addressed from 200h.
    mtrr_var: [u64; 2 * MTRR_VARIABLE],
    /// Fixed-range MTRRs in address order (250h, 258h, 259h, 268h…26Fh).
    mtrr_fixed: [u64; MTRR_FIXED],
    /// MTRRdefType.
    mtrr_def_type: u64,
    /// PAT.
    pat: u64,
    /// MCG_STATUS.
    mcg_status: u64,
    /// MCG_CTL.
    mcg_ctl: u64,
    /// MCi_CTL for banks 1–4 (bank 0's is EBL_CR_POWERON on the P6 family).
    mc_ctl: [u64; MCA_BANKS],
    /// MCi_STATUS.
    mc_status: [u64; MCA_BANKS],
    /// MCi_ADDR.
    mc_addr: [u64; MCA_BANKS],
    /// EBL_CR_POWERON.
    ebl_cr_poweron: u64,
    /// BIOS_SIGN_ID.
    bios_sign_id: u64,
    /// APIC_BASE.
    apic_base: u64,
}

impl Default for Msrs {
    fn default() -> Msrs {
        Msrs {
            tsc_offset: 0,
            sysenter_cs: 0,
            sysenter_esp: 0,
            sysenter_eip: 0,
            counters: [0; 2],
            evntsel: [0; 2],
            cesr: 0,
            mtrr_var: [0; 2 * MTRR_VARIABLE],
            mtrr_fixed: [0; MTRR_FIXED],
            mtrr_def_type: 0,
            pat: PAT_RESET,
            mcg_status: 0,
            mcg_ctl: 0,
            mc_ctl: [0; MCA_BANKS],
            mc_status: [0; MCA_BANKS],
            mc_addr: [0; MCA_BANKS],
            ebl_cr_poweron: EBL_CR_POWERON_RESET,
            bios_sign_id: 0,
            apic_base: APIC_BASE_RESET,
        }
    }
}

/// Index into the fixed-range MTRRs.
fn fixed_slot(idx: u32) -> Option<usize> {
    match idx {
        index::MTRR_FIX_64K_00000 => Some(0),
        index::MTRR_FIX_16K_80000 => Some(1),
        index::MTRR_FIX_16K_A0000 => Some(2),
        0x268..=0x26F => Some(3 + (idx - index::MTRR_FIX_4K_C0000) as usize),
        _ => None,
    }
}

impl Msrs {
    /// The RESET state at cycle `cycles`: every register at its power-on value and the TSC at 0.
    pub fn reset(&mut self, cycles: u64) {
        *self = Msrs {
            tsc_offset: 0u64.wrapping_sub(cycles),
            ..Msrs::default()
        };
    }

    /// The guest's time-stamp counter at cycle `cycles`.
    #[inline]
    pub fn tsc(&self, cycles: u64) -> u64 {
        cycles.wrapping_add(self.tsc_offset)
    }

    /// Sets the time-stamp counter to `value` at cycle `cycles` (only the offset changes).
    pub fn set_tsc(&mut self, cycles: u64, value: u64) {
        self.tsc_offset = value.wrapping_sub(cycles);
    }

    /// Event counter `n` (0 or 1) as RDPMC reads it.
    pub fn counter(&self, n: usize) -> u64 {
        self.counters[n & 1]
    }

    /// CPUID leaf 1 on the P6 family loads the microcode revision into BIOS_SIGN_ID[63:32]
    /// (SDM, "Microcode Update Signature": write 0, execute CPUID, read the MSR).
    pub fn latch_microcode_revision(&mut self) {
        self.bios_sign_id = (MICROCODE_REVISION as u64) << 32;
    }

    /// RDMSR: the value of MSR `idx` on `model` at cycle `cycles`, or #GP(0) when the model has
    /// no such register (or it is write only).
    pub fn read(&self, model: CpuModel, idx: u32, cycles: u64) -> Result<u64, Fault> {
        match model {
            CpuModel::Pentium => self.read_p5(idx, cycles),
            CpuModel::PentiumII => self.read_p6(idx, cycles),
            _ => Err(Fault::gp(0)),
        }
    }

    /// WRMSR: writes `v` to MSR `idx` on `model` at cycle `cycles`. #GP(0) for a register the
    /// model lacks, a read-only one, a reserved bit set or a value the register rejects.
    pub fn write(&mut self, model: CpuModel, idx: u32, v: u64, cycles: u64) -> Result<(), Fault> {
        match model {
            CpuModel::Pentium => self.write_p5(idx, v, cycles),
            CpuModel::PentiumII => self.write_p6(idx, v, cycles),
            _ => Err(Fault::gp(0)),
        }
    }

    fn read_p5(&self, idx: u32, cycles: u64) -> Result<u64, Fault> {
        Ok(match idx {
            index::P5_MC_ADDR | index::P5_MC_TYPE => 0,
            index::TSC => self.tsc(cycles),
            index::P5_CESR => self.cesr as u64,
            index::P5_CTR0 | index::P5_CTR1 => self.counters[(idx - index::P5_CTR0) as usize],
            _ => return Err(Fault::gp(0)),
        })
    }

    fn write_p5(&mut self, idx: u32, v: u64, cycles: u64) -> Result<(), Fault> {
        match idx {
            // Machine-check information is produced by the hardware; writes change nothing.
            index::P5_MC_ADDR | index::P5_MC_TYPE => {}
            index::TSC => self.set_tsc(cycles, v & 0xFFFF_FFFF),
            index::P5_CESR if v & !P5_CESR_BITS == 0 => self.cesr = v as u32,
            index::P5_CTR0 | index::P5_CTR1 if v & !COUNTER_MASK == 0 => {
                self.counters[(idx - index::P5_CTR0) as usize] = v;
            }
            _ => return Err(Fault::gp(0)),
        }
        Ok(())
    }

    fn read_p6(&self, idx: u32, cycles: u64) -> Result<u64, Fault> {
        Ok(match idx {
            index::P5_MC_ADDR | index::P5_MC_TYPE => 0,
            index::TSC => self.tsc(cycles),
            // Platform id 0 (bits 52:50); the microcode loader only forms a mask from it.
            index::PLATFORM_ID => 0,
            index::APIC_BASE => self.apic_base,
            index::EBL_CR_POWERON => self.ebl_cr_poweron,
            index::BIOS_SIGN_ID => self.bios_sign_id,
            index::PERFCTR0 | index::PERFCTR1 => self.counters[(idx - index::PERFCTR0) as usize],
            index::MTRRCAP => MTRRCAP_VALUE,
            index::SYSENTER_CS => self.sysenter_cs as u64,
            index::SYSENTER_ESP => self.sysenter_esp as u64,
            index::SYSENTER_EIP => self.sysenter_eip as u64,
            index::MCG_CAP => MCG_CAP_P6,
            index::MCG_STATUS => self.mcg_status,
            index::MCG_CTL => self.mcg_ctl,
            index::EVNTSEL0 | index::EVNTSEL1 => {
                self.evntsel[(idx - index::EVNTSEL0) as usize] as u64
            }
            0x200..=0x20F => self.mtrr_var[(idx - index::MTRR_PHYS_BASE0) as usize],
            index::PAT => self.pat,
            index::MTRR_DEF_TYPE => self.mtrr_def_type,
            0x400..=0x413 => return self.read_mc_bank(idx),
            _ => match fixed_slot(idx) {
                Some(k) => self.mtrr_fixed[k],
                None => return Err(Fault::gp(0)),
            },
        })
    }

    fn write_p6(&mut self, idx: u32, v: u64, cycles: u64) -> Result<(), Fault> {
        let gp = Err(Fault::gp(0));
        match idx {
            index::P5_MC_ADDR | index::P5_MC_TYPE => {}
            index::TSC => self.set_tsc(cycles, v & 0xFFFF_FFFF),
            index::APIC_BASE => {
                // Base (35:12) is writable, BSP (8) is read only. There is no local APIC to
                // enable, so setting the enable bit (11) is refused like a reserved bit.
                if v & !(MTRR_ADDR | 1 << 8) != 0 {
                    return gp;
                }
                self.apic_base = (v & MTRR_ADDR) | (self.apic_base & 1 << 8);
            }
            index::EBL_CR_POWERON => self.write_ebl_cr_poweron(v),
            // A microcode update is never accepted; the revision stays the same.
            index::BIOS_UPDT_TRIG => {}
            index::BIOS_SIGN_ID => self.bios_sign_id = v,
            // Only the low 32 bits are written, sign-extended to the counter's 40 bits (SDM,
            // "Performance Monitoring (P6 Family Processor)").
            index::PERFCTR0 | index::PERFCTR1 => {
                let low = v as u32 as i32 as i64 as u64;
                self.counters[(idx - index::PERFCTR0) as usize] = low & COUNTER_MASK;
            }
            // The SYSENTER MSRs are 32 bits wide on these processors: EDX is ignored.
            index::SYSENTER_CS => self.sysenter_cs = v as u32,
            index::SYSENTER_ESP => self.sysenter_esp = v as u32,
            index::SYSENTER_EIP => self.sysenter_eip = v as u32,
            index::MCG_STATUS if v & !7 == 0 => self.mcg_status = v,
            index::MCG_CTL => self.mcg_ctl = v,
            index::EVNTSEL0 | index::EVNTSEL1 if v >> 32 == 0 => {
                self.evntsel[(idx - index::EVNTSEL0) as usize] = v as u32;
            }
            0x200..=0x20F => {
                let k = (idx - index::MTRR_PHYS_BASE0) as usize;
                let ok = if k & 1 == 0 {
                    v & !(MTRR_ADDR | 0xFF) == 0 && mtrr_type_ok(v & 0xFF)
                } else {
                    v & !(MTRR_ADDR | MTRR_MASK_VALID) == 0
                };
                if !ok {
                    return gp;
                }
                self.mtrr_var[k] = v;
            }
            index::PAT if pat_ok(v) => self.pat = v,
            index::MTRR_DEF_TYPE if v & !MTRR_DEF_TYPE_BITS == 0 && mtrr_type_ok(v & 0xFF) => {
                self.mtrr_def_type = v;
            }
            0x400..=0x413 => return self.write_mc_bank(idx, v),
            _ => match fixed_slot(idx) {
                Some(k) if fixed_ok(v) => self.mtrr_fixed[k] = v,
                _ => return gp,
            },
        }
        Ok(())
    }

    fn write_ebl_cr_poweron(&mut self, v: u64) {
        self.ebl_cr_poweron =
            (self.ebl_cr_poweron & !EBL_CR_POWERON_WRITABLE) | (v & EBL_CR_POWERON_WRITABLE);
    }

    /// A machine-check bank register (400h + 4 × bank + 0 CTL, 1 STATUS, 2 ADDR, 3 MISC).
    ///
    /// On the P6 family MC0_CTL is an alias of EBL_CR_POWERON; no bank implements MCi_MISC, and
    /// the bank at 40Ch (the SDM's "MC4") has no ADDR register.
    fn read_mc_bank(&self, idx: u32) -> Result<u64, Fault> {
        let bank = ((idx - index::MC0_CTL) / 4) as usize;
        match (idx - index::MC0_CTL) % 4 {
            0 if bank == 0 => Ok(self.ebl_cr_poweron),
            0 => Ok(self.mc_ctl[bank]),
            1 => Ok(self.mc_status[bank]),
            2 if bank != 3 => Ok(self.mc_addr[bank]),
            _ => Err(Fault::gp(0)),
        }
    }

    fn write_mc_bank(&mut self, idx: u32, v: u64) -> Result<(), Fault> {
        let bank = ((idx - index::MC0_CTL) / 4) as usize;
        match (idx - index::MC0_CTL) % 4 {
            0 if bank == 0 => self.write_ebl_cr_poweron(v),
            // "P6 family processors only allow the writing of all 1s or all 0s to MCi_CTL."
            0 if v == 0 || v == u64::MAX => self.mc_ctl[bank] = v,
            // STATUS and ADDR are cleared by writing zeros; writing ones is #GP.
            1 if v == 0 => self.mc_status[bank] = 0,
            2 if v == 0 && bank != 3 => self.mc_addr[bank] = 0,
            _ => return Err(Fault::gp(0)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P6: CpuModel = CpuModel::PentiumII;

    #[test]
    fn tsc_follows_cycles_and_writes_move_the_offset() {
        let mut m = Msrs::default();
        m.reset(1000);
        assert_eq!(m.read(P6, index::TSC, 1000), Ok(0));
        assert_eq!(m.read(P6, index::TSC, 1500), Ok(500));
        // Only the low half is written; the high half is cleared.
        m.write(P6, index::TSC, 0x1234_0000_0010, 2000).unwrap();
        assert_eq!(m.tsc(2000), 0x10);
        assert_eq!(m.tsc(2100), 0x10 + 100);
    }

    #[test]
    fn mtrr_writes_check_types_and_reserved_bits() {
        let mut m = Msrs::default();
        assert_eq!(m.write(P6, 0x200, 0x8000_0006, 0), Ok(()));
        assert_eq!(m.read(P6, 0x200, 0), Ok(0x8000_0006));
        assert!(m.write(P6, 0x200, 0x8000_0002, 0).is_err()); // type 2 is reserved
        assert!(m.write(P6, 0x201, 0xF_F800_0800 | 1, 0).is_err()); // bit 0 reserved
        assert_eq!(m.write(P6, 0x201, 0xF_F800_0800, 0), Ok(()));
        assert!(m.write(P6, 0x201, 1 << 36, 0).is_err()); // beyond 36 address bits
        assert_eq!(m.write(P6, 0x250, 0x0606_0606_0606_0606, 0), Ok(()));
        assert!(m.write(P6, 0x26F, 0x0606_0606_0606_0607, 0).is_err());
        assert!(m.write(P6, 0x2FF, 0x1000, 0).is_err());
        assert_eq!(m.write(P6, 0x2FF, 0xC06, 0), Ok(()));
        assert!(m.write(P6, index::MTRRCAP, 0, 0).is_err());
        assert_eq!(m.read(P6, index::MTRRCAP, 0), Ok(0x508));
    }

    #[test]
    fn pat_takes_uc_minus_but_not_reserved_types() {
        let mut m = Msrs::default();
        assert_eq!(m.read(P6, index::PAT, 0), Ok(PAT_RESET));
        assert_eq!(m.write(P6, index::PAT, 0x0007_0106_0007_0406, 0), Ok(()));
        assert!(m.write(P6, index::PAT, 0x0007_0406_0007_0403, 0).is_err());
    }

    #[test]
    fn machine_check_banks() {
        let mut m = Msrs::default();
        assert_eq!(m.read(P6, index::MCG_CAP, 0), Ok(0x105));
        assert_eq!(m.write(P6, 0x404, u64::MAX, 0), Ok(()));
        assert_eq!(m.read(P6, 0x404, 0), Ok(u64::MAX));
        assert!(m.write(P6, 0x404, 0x1234, 0).is_err());
        assert_eq!(m.write(P6, 0x405, 0, 0), Ok(()));
        assert!(m.write(P6, 0x405, 1, 0).is_err());
        assert!(m.read(P6, 0x403, 0).is_err()); // no MCi_MISC
        assert!(m.read(P6, 0x40E, 0).is_err()); // the bank at 40Ch has no ADDR
        assert_eq!(m.read(P6, 0x400, 0), m.read(P6, index::EBL_CR_POWERON, 0));
    }

    #[test]
    fn pentium_has_its_own_small_set() {
        let mut m = Msrs::default();
        let p5 = CpuModel::Pentium;
        assert!(m.read(p5, index::MTRRCAP, 0).is_err());
        assert!(m.read(p5, index::SYSENTER_CS, 0).is_err());
        assert!(m.read(p5, index::APIC_BASE, 0).is_err());
        assert_eq!(m.write(p5, index::P5_CTR1, 0xFF_FFFF_FFFF, 0), Ok(()));
        assert_eq!(m.read(p5, index::P5_CTR1, 0), Ok(0xFF_FFFF_FFFF));
        assert!(m.write(p5, index::P5_CTR1, 1 << 40, 0).is_err());
        assert!(m.write(p5, index::P5_CESR, 1 << 12, 0).is_err());
        assert!(m.read(P6, index::P5_CESR, 0).is_err());
    }

    #[test]
    fn perf_counters_sign_extend_the_low_half() {
        let mut m = Msrs::default();
        m.write(P6, index::PERFCTR1, 0xFFFF_FFFF_8000_0000, 0)
            .unwrap();
        assert_eq!(m.counter(1), 0xFF_8000_0000);
        m.write(P6, index::PERFCTR0, 0xFFFF, 0).unwrap();
        assert_eq!(m.read(P6, index::PERFCTR0, 0), Ok(0xFFFF));
    }
}
