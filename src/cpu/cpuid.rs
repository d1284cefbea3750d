//! CPUID answers per CPU model, and the CR4 bits each model implements.
//!
//! Every value below names its source. The signatures (family, model, stepping) are the ones
//! [`CpuModel::reset_signature`] leaves in EDX after reset; the feature bits are the EDX bits of
//! CPUID leaf 1 as defined in the Intel SDM, Vol. 2A, "CPUID — Feature Information", limited to
//! what the chip had (Intel AP-485, "Intel Processor Identification and the CPUID
//! Instruction", lists the flags of each processor).
//!
//! Leaves above the highest basic leaf — the extended leaves `8000_0000h` and up included —
//! answer with the data of the highest basic leaf, as the SDM says for every Intel processor
//! ("If a value entered for CPUID.EAX is higher than the maximum input value for basic or
//! extended function for that processor then the data for the highest basic information leaf
//! is returned"). None of the modelled chips has extended leaves (they came with the
//! Pentium 4): software that checks `CPUID(8000_0000h).EAX >= 8000_0000h`, as Linux does,
//! sees that they are absent.

use super::model::CpuModel;

/// The four registers CPUID returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CpuidResult {
    /// EAX.
    pub eax: u32,
    /// EBX.
    pub ebx: u32,
    /// ECX.
    pub ecx: u32,
    /// EDX.
    pub edx: u32,
}

/// CPUID.1:EDX feature bits (Intel SDM Vol. 2A, table "Feature Information Returned in the EDX
/// Register").
pub mod feature {
    /// x87 FPU on chip.
    pub const FPU: u32 = 1 << 0;
    /// Virtual-8086 mode enhancements (CR4.VME, CR4.PVI).
    pub const VME: u32 = 1 << 1;
    /// Debugging extensions (CR4.DE, I/O breakpoints).
    pub const DE: u32 = 1 << 2;
    /// Page size extension (4 MiB pages, CR4.PSE).
    pub const PSE: u32 = 1 << 3;
    /// Time-stamp counter and RDTSC (CR4.TSD).
    pub const TSC: u32 = 1 << 4;
    /// RDMSR and WRMSR.
    pub const MSR: u32 = 1 << 5;
    /// Physical address extension (CR4.PAE).
    pub const PAE: u32 = 1 << 6;
    /// Machine-check exception (CR4.MCE).
    pub const MCE: u32 = 1 << 7;
    /// CMPXCHG8B.
    pub const CX8: u32 = 1 << 8;
    /// On-chip local APIC (enabled).
    pub const APIC: u32 = 1 << 9;
    /// SYSENTER and SYSEXIT.
    pub const SEP: u32 = 1 << 11;
    /// Memory type range registers.
    pub const MTRR: u32 = 1 << 12;
    /// Global pages (CR4.PGE).
    pub const PGE: u32 = 1 << 13;
    /// Machine-check architecture (MCG_CAP and the error-reporting banks).
    pub const MCA: u32 = 1 << 14;
    /// CMOVcc (and FCMOVcc/FCOMI with the FPU).
    pub const CMOV: u32 = 1 << 15;
    /// Page attribute table.
    pub const PAT: u32 = 1 << 16;
    /// 36-bit page size extension.
    pub const PSE36: u32 = 1 << 17;
    /// MMX instructions.
    pub const MMX: u32 = 1 << 23;
    /// FXSAVE and FXRSTOR (CR4.OSFXSR).
    pub const FXSR: u32 = 1 << 24;
}

/// CR4 bits (Intel SDM Vol. 3A, "Control Registers").
pub mod cr4 {
    /// Virtual-8086 mode extensions.
    pub const VME: u32 = 1 << 0;
    /// Protected-mode virtual interrupts.
    pub const PVI: u32 = 1 << 1;
    /// Time stamp disable: RDTSC only at CPL 0.
    pub const TSD: u32 = 1 << 2;
    /// Debugging extensions.
    pub const DE: u32 = 1 << 3;
    /// Page size extensions.
    pub const PSE: u32 = 1 << 4;
    /// Physical address extension.
    pub const PAE: u32 = 1 << 5;
    /// Machine-check enable.
    pub const MCE: u32 = 1 << 6;
    /// Page global enable.
    pub const PGE: u32 = 1 << 7;
    /// Performance-monitoring counter enable: RDPMC at any CPL.
    pub const PCE: u32 = 1 << 8;
    /// The OS supports FXSAVE/FXRSTOR.
    pub const OSFXSR: u32 = 1 << 9;
    /// The OS supports unmasked SIMD floating-point exceptions (SSE; no modelled chip).
    pub const OSXMMEXCPT: u32 = 1 << 10;
}

/// "GenuineIntel" in EBX, EDX, ECX order.
const VENDOR: [u32; 3] = [
    u32::from_le_bytes(*b"Genu"),
    u32::from_le_bytes(*b"ineI"),
    u32::from_le_bytes(*b"ntel"),
];

/// CPUID.1:EDX of the Intel486 DX4 (family 4, model 8): the on-chip FPU. (Some 486 steppings
/// also reported VME; the model here has no CR4, so it reports none.)
const FEATURES_486: u32 = feature::FPU;

/// CPUID.1:EDX of the Pentium P54C (family 5, model 2), after AP-485: FPU VME DE PSE TSC MSR MCE
/// CX8. The real P54C also sets APIC when its on-chip APIC is enabled by its pins; there is no
/// local APIC here, so the bit is clear.
const FEATURES_PENTIUM: u32 = feature::FPU
    | feature::VME
    | feature::DE
    | feature::PSE
    | feature::TSC
    | feature::MSR
    | feature::MCE
    | feature::CX8;

/// CPUID.1:EDX of the Pentium II "Deschutes" (family 6, model 5): the real chip reports
/// `0183_FBFF`, i.e. this set plus APIC (bit 9). The APIC bit stays clear while no local APIC is
/// emulated, which is what a Pentium II whose APIC the firmware disabled reports.
const FEATURES_PENTIUM_II: u32 = feature::FPU
    | feature::VME
    | feature::DE
    | feature::PSE
    | feature::TSC
    | feature::MSR
    | feature::PAE
    | feature::MCE
    | feature::CX8
    | feature::SEP
    | feature::MTRR
    | feature::PGE
    | feature::MCA
    | feature::CMOV
    | feature::PAT
    | feature::PSE36
    | feature::MMX
    | feature::FXSR;

/// CPUID.2 of a Pentium II with a 512 KiB L2 cache: AL = 01h (execute leaf 2 once), then one
/// byte descriptor each (SDM Vol. 2A, "Encoding of CPUID Leaf 2 Descriptors", and the P6 family
/// table of the Pentium II developer's manual):
/// - EAX `03 02 01 | 01`: 03h data TLB 4 KiB pages 4-way 64 entries, 02h instruction TLB 4 MiB
///   pages 2 entries, 01h instruction TLB 4 KiB pages 4-way 32 entries;
/// - EDX `0C 04 08 43`: 0Ch L1 data cache 16 KiB 4-way 32-byte lines, 04h data TLB 4 MiB pages
///   4-way 8 entries, 08h L1 instruction cache 16 KiB 4-way 32-byte lines, 43h L2 512 KiB
///   4-way 32-byte lines;
/// - EBX and ECX: null descriptors.
const LEAF2_PENTIUM_II: CpuidResult = CpuidResult {
    eax: 0x0302_0101,
    ebx: 0,
    ecx: 0,
    edx: 0x0C04_0843,
};

/// The highest basic leaf of a model (CPUID.0:EAX), or `None` when the model has no CPUID
/// (before the 486; the 486 has it on the later steppings modelled here).
pub fn max_basic_leaf(model: CpuModel) -> Option<u32> {
    match model {
        CpuModel::I8086 | CpuModel::I186 | CpuModel::I286 | CpuModel::I386 => None,
        // AP-485: the 486 and Pentium report 1; P6 family processors report 2.
        CpuModel::I486 | CpuModel::Pentium => Some(1),
        CpuModel::PentiumII => Some(2),
    }
}

/// CPUID.1:EDX of a model (0 for models without CPUID).
pub fn features(model: CpuModel) -> u32 {
    match model {
        CpuModel::I486 => FEATURES_486,
        CpuModel::Pentium => FEATURES_PENTIUM,
        CpuModel::PentiumII => FEATURES_PENTIUM_II,
        _ => 0,
    }
}

/// What CPUID returns on `model` for input `leaf` (EAX). Models without CPUID return zeros
/// (the instruction is #UD there and never asks).
pub fn cpuid(model: CpuModel, leaf: u32) -> CpuidResult {
    let Some(max) = max_basic_leaf(model) else {
        return CpuidResult::default();
    };
    // Out-of-range inputs, basic or extended, answer as the highest basic leaf.
    let leaf = if leaf > max { max } else { leaf };
    match leaf {
        0 => CpuidResult {
            eax: max,
            ebx: VENDOR[0],
            ecx: VENDOR[2],
            edx: VENDOR[1],
        },
        // EBX and ECX of leaf 1 are reserved (zero) on these chips: the brand index, CLFLUSH
        // size and APIC id came with the Pentium III and Pentium 4.
        1 => CpuidResult {
            eax: model.reset_signature(),
            ebx: 0,
            ecx: 0,
            edx: features(model),
        },
        _ => LEAF2_PENTIUM_II,
    }
}

/// The CR4 bits a `MOV CR4` may set on `model`; any other bit set is #GP(0). Zero means the
/// model has no CR4 at all, and `MOV` to or from CR4 is #UD.
///
/// The Pentium has VME, PVI, TSD, DE, PSE and MCE (Pentium Processor Family Developer's Manual,
/// Vol. 3, "Control Registers"); the Pentium II adds PAE, PGE, PCE and OSFXSR. OSXMMEXCPT
/// belongs to SSE, which no modelled chip has.
pub fn cr4_writable(model: CpuModel) -> u32 {
    match model {
        CpuModel::Pentium => cr4::VME | cr4::PVI | cr4::TSD | cr4::DE | cr4::PSE | cr4::MCE,
        CpuModel::PentiumII => {
            cr4_writable(CpuModel::Pentium) | cr4::PAE | cr4::PGE | cr4::PCE | cr4::OSFXSR
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_string_reads_genuine_intel() {
        let r = cpuid(CpuModel::PentiumII, 0);
        let mut s = Vec::new();
        for w in [r.ebx, r.edx, r.ecx] {
            s.extend_from_slice(&w.to_le_bytes());
        }
        assert_eq!(&s, b"GenuineIntel");
        assert_eq!(r.eax, 2);
    }

    #[test]
    fn pentium_ii_features_are_deschutes_without_apic() {
        assert_eq!(features(CpuModel::PentiumII) | feature::APIC, 0x0183_FBFF);
        assert_eq!(features(CpuModel::PentiumII) & feature::APIC, 0);
        assert_eq!(cpuid(CpuModel::PentiumII, 1).eax, 0x0652);
    }

    #[test]
    fn out_of_range_leaves_answer_as_the_highest_basic_leaf() {
        assert_eq!(
            cpuid(CpuModel::PentiumII, 0x8000_0000),
            cpuid(CpuModel::PentiumII, 2)
        );
        assert_eq!(cpuid(CpuModel::Pentium, 2), cpuid(CpuModel::Pentium, 1));
        assert_eq!(cpuid(CpuModel::I386, 0), CpuidResult::default());
    }

    #[test]
    fn cr4_bits_grow_with_the_model() {
        assert_eq!(cr4_writable(CpuModel::I486), 0);
        assert_eq!(cr4_writable(CpuModel::Pentium), 0x5F);
        assert_eq!(cr4_writable(CpuModel::PentiumII), 0x3FF);
    }
}
