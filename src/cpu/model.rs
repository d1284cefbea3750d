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
    /// Intel 80486: BSWAP, XADD, CMPXCHG, INVLPG, CPUID, the AC flag.
    #[default]
    I486,
}

impl CpuModel {
    /// Every model, oldest first.
    pub const ALL: [CpuModel; 5] = [
        CpuModel::I8086,
        CpuModel::I186,
        CpuModel::I286,
        CpuModel::I386,
        CpuModel::I486,
    ];

    /// Index into per-model cycle tables: 8086, 286 (also used for the 186), 386, 486.
    #[inline(always)]
    pub fn timing_index(self) -> usize {
        match self {
            CpuModel::I8086 => 0,
            CpuModel::I186 | CpuModel::I286 => 1,
            CpuModel::I386 => 2,
            CpuModel::I486 => 3,
        }
    }

    /// Mask applied to linear addresses by the width of the address bus.
    pub fn address_mask(self) -> u32 {
        match self {
            CpuModel::I8086 | CpuModel::I186 => 0x000F_FFFF,
            CpuModel::I286 => 0x00FF_FFFF,
            CpuModel::I386 | CpuModel::I486 => 0xFFFF_FFFF,
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
#[error("unknown CPU model `{0}` (expected one of: 8086, 186, 286, 386, 486)")]
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
        assert!("z80".parse::<CpuModel>().is_err());
    }
}
