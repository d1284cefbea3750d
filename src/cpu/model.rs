//! CPU models: which instructions exist and how the chip behaves where generations differ.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The emulated CPU generation. Ordered: a later model has everything an earlier one has.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash, Default, Serialize, Deserialize,
)]
pub enum CpuModel {
    /// Intel 8086/8088: 20-bit addresses, no #UD, undocumented aliases.
    I8086,
    /// Intel 80186/80188: adds PUSHA, BOUND, ENTER, immediate shifts, #UD.
    I186,
    /// Intel 80286: 24-bit addresses, segment limit checks, protected-mode instructions.
    I286,
    /// Intel 80386: 32-bit registers and addressing, FS/GS, the 0F extensions.
    I386,
    /// Intel 80486: BSWAP, XADD, CMPXCHG, INVLPG, CPUID, the AC flag, the on-chip x87.
    #[default]
    I486,
    /// Intel Pentium (P5): CPUID family 5, RDTSC, RDMSR/WRMSR, CMPXCHG8B, CR4, 4 MiB pages.
    Pentium,
    /// Intel Pentium II (P6 family): CMOVcc, FCMOVcc/FCOMI, SYSENTER/SYSEXIT, RDPMC, UD2,
    /// PAE, global pages, MTRRs, FXSAVE, MMX.
    PentiumII,
}

impl CpuModel {
    /// Every model, oldest first.
    pub const ALL: [CpuModel; 7] = [
        CpuModel::I8086,
        CpuModel::I186,
        CpuModel::I286,
        CpuModel::I386,
        CpuModel::I486,
        CpuModel::Pentium,
        CpuModel::PentiumII,
    ];

    /// Index into per-model cycle tables: 8086, 286 (also used for the 186), 386, 486 (also
    /// used for the Pentium and the Pentium II, whose pipelines the interpreter does not model).
    #[inline(always)]
    pub fn timing_index(self) -> usize {
        match self {
            CpuModel::I8086 => 0,
            CpuModel::I186 | CpuModel::I286 => 1,
            CpuModel::I386 => 2,
            CpuModel::I486 | CpuModel::Pentium | CpuModel::PentiumII => 3,
        }
    }

    /// Mask applied to linear addresses by the width of the address bus.
    pub fn address_mask(self) -> u32 {
        match self {
            CpuModel::I8086 | CpuModel::I186 => 0x000F_FFFF,
            CpuModel::I286 => 0x00FF_FFFF,
            _ => 0xFFFF_FFFF,
        }
    }

    /// Whether the 386 register file (32-bit registers, FS/GS, size prefixes) exists.
    #[inline(always)]
    pub fn has_32bit(self) -> bool {
        self >= CpuModel::I386
    }

    /// Nominal clock in Hz, used to convert virtual cycles to wall-clock units.
    pub fn default_clock_hz(self) -> u64 {
        match self {
            CpuModel::I8086 => 4_772_727,
            CpuModel::I186 => 8_000_000,
            CpuModel::I286 => 12_000_000,
            CpuModel::I386 => 33_000_000,
            CpuModel::I486 => 66_000_000,
            CpuModel::Pentium => 100_000_000,
            CpuModel::PentiumII => 300_000_000,
        }
    }

    /// The processor signature in EDX after reset (and CPUID leaf 1's EAX where it exists):
    /// family, model and stepping.
    pub fn reset_signature(self) -> u32 {
        match self {
            CpuModel::I386 => 0x0308,
            CpuModel::I486 => 0x0480,
            // Pentium (P54C, 75-200 MHz), Pentium II (Deschutes).
            CpuModel::Pentium => 0x0525,
            CpuModel::PentiumII => 0x0652,
            _ => 0,
        }
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            CpuModel::I8086 => "8086",
            CpuModel::I186 => "186",
            CpuModel::I286 => "286",
            CpuModel::I386 => "386",
            CpuModel::I486 => "486",
            CpuModel::Pentium => "pentium",
            CpuModel::PentiumII => "pentium2",
        }
    }
}

impl fmt::Display for CpuModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for an unknown CPU model name.
#[derive(Debug, thiserror::Error)]
#[error("unknown CPU model `{0}` (expected one of: 8086, 186, 286, 386, 486, pentium, pentium2)")]
pub struct UnknownModel(pub String);

impl FromStr for CpuModel {
    type Err = UnknownModel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(
            match s
                .trim()
                .to_ascii_lowercase()
                .trim_start_matches("i")
                .trim_start_matches("80")
            {
                "8086" | "86" | "88" | "8088" => CpuModel::I8086,
                "186" | "188" => CpuModel::I186,
                "286" => CpuModel::I286,
                "386" => CpuModel::I386,
                "486" => CpuModel::I486,
                "586" | "pentium" | "p5" => CpuModel::Pentium,
                "686" | "pentium2" | "pentiumii" | "p6" => CpuModel::PentiumII,
                _ => return Err(UnknownModel(s.to_string())),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parse_names() {
        assert_eq!("8086".parse::<CpuModel>().unwrap(), CpuModel::I8086);
        assert_eq!("80286".parse::<CpuModel>().unwrap(), CpuModel::I286);
        assert_eq!("i486".parse::<CpuModel>().unwrap(), CpuModel::I486);
        assert_eq!("pentium".parse::<CpuModel>().unwrap(), CpuModel::Pentium);
        assert_eq!("Pentium2".parse::<CpuModel>().unwrap(), CpuModel::PentiumII);
        assert!("z80".parse::<CpuModel>().is_err());
    }
}
