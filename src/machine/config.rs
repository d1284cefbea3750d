//! Machine configuration files (RON), like a small bochsrc: `glassbox run configs/dos.ron`.
//!
//! ```ron
//! (
//!     cpu: "486",
//!     memory: "16M",
//!     bios: "builtin",            // "builtin" or a firmware image file
//!     clock: "virtual",           // the RTC starts at a fixed date; "host": at the host's time
//!     fda: "../shared/guests/freedos/fd-minimal-1440k.img",
//!     boot: "a",                  // "a", "c", "ac", "ca"
//!     snapshot: true,             // guest writes go to a throw-away overlay
//!     display: "none",            // "window", "text", "none"
//!     serial: "stdio",            // COM1: "stdio", "file:PATH", "none"
//!     accel: "interp",            // "interp", "kvm", "auto"
//!     kernel: "vmlinuz",          // boot a kernel instead of a disk (as --kernel)
//!     initrd: "initrd.gz",        // one file or several separated by commas
//!     append: "console=ttyS0",    // the kernel command line
//! )
//! ```
//!
//! Every field is optional; command-line flags override the file. Paths are relative to the
//! file's folder. Unknown fields and bad values are errors naming the file, the line and
//! column, and what is accepted.

use crate::cpu::CpuModel;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The fields a configuration file may set.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// CPU model: "8086", "186", "286", "386", "486", "pentium", "pentium2".
    pub cpu: Option<CpuName>,
    /// RAM size: "640K", "16M".
    pub memory: Option<String>,
    /// Firmware: "builtin" (our BIOS) or an image file.
    pub bios: Option<String>,
    /// Where the RTC's time comes from.
    pub clock: Option<ClockMode>,
    /// Floppy drive A: image.
    pub fda: Option<PathBuf>,
    /// Floppy drive B: image.
    pub fdb: Option<PathBuf>,
    /// First hard disk image.
    pub hda: Option<PathBuf>,
    /// Second hard disk image.
    pub hdb: Option<PathBuf>,
    /// Boot order: "a", "c", "ac", "ca".
    pub boot: Option<BootOrder>,
    /// Keep disk images unchanged: guest writes go to a throw-away overlay.
    pub snapshot: Option<bool>,
    /// Screen: "window", "text", "none".
    pub display: Option<DisplayKind>,
    /// COM1: "stdio", "file:PATH", "none".
    pub serial: Option<String>,
    /// Port 0xE9 console: "stdio", "file:PATH", "none".
    pub debugcon: Option<String>,
    /// CPU back end: "interp", "kvm", "auto".
    pub accel: Option<crate::accel::AccelChoice>,
    /// A kernel to boot instead of a disk (Linux bzImage or multiboot), as `--kernel`.
    pub kernel: Option<PathBuf>,
    /// Its initrd or modules: one file, or several separated by commas, as `--initrd`.
    #[serde(default, deserialize_with = "file_list")]
    pub initrd: Option<Vec<PathBuf>>,
    /// The kernel command line, as `--append`.
    pub append: Option<String>,
}

/// A comma-separated list of files.
fn file_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<PathBuf>>, D::Error> {
    let s = String::deserialize(d)?;
    Ok(Some(s.split(',').map(PathBuf::from).collect()))
}

/// A CPU model name as written in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuName(pub CpuModel);

impl<'de> Deserialize<'de> for CpuName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<CpuModel>().map(CpuName).map_err(|_| {
            serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(&s),
                &"one of \"8086\", \"186\", \"286\", \"386\", \"486\", \"pentium\", \"pentium2\"",
            )
        })
    }
}

/// Where the real-time clock's time comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ClockMode {
    /// A fixed start date (2000-01-01 00:00:00) advanced by virtual time: every run is the
    /// same run.
    #[default]
    Virtual,
    /// The host's time at power-on, advanced by virtual time.
    Host,
}

/// Which screen front end runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DisplayKind {
    /// A window (minifb) with keyboard and mouse.
    Window,
    /// The VGA text screen drawn in the terminal.
    Text,
    /// No screen (scripts, tests).
    #[default]
    None,
}

/// Reads a `clap::ValueEnum` from a string, naming the accepted values when it is wrong.
fn choice<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: clap::ValueEnum,
{
    let s = String::deserialize(d)?;
    T::from_str(&s, true).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| {
                v.to_possible_value()
                    .map(|p| format!("\"{}\"", p.get_name()))
            })
            .collect();
        serde::de::Error::custom(format!(
            "`{s}` is not accepted here: expected {}",
            names.join(", ")
        ))
    })
}

impl<'de> Deserialize<'de> for ClockMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        choice(d)
    }
}

impl<'de> Deserialize<'de> for crate::accel::AccelChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        choice(d)
    }
}

impl<'de> Deserialize<'de> for DisplayKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        choice(d)
    }
}

/// A boot device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootDevice {
    /// Floppy drive A:.
    Floppy,
    /// The first hard disk.
    HardDisk,
}

/// The order the BIOS tries boot devices in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootOrder(pub Vec<BootDevice>);

impl std::str::FromStr for BootOrder {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut v = Vec::new();
        for c in s.chars() {
            let d = match c.to_ascii_lowercase() {
                'a' => BootDevice::Floppy,
                'c' => BootDevice::HardDisk,
                _ => return Err(format!("`{s}` is not a boot order: use a, c, ac or ca")),
            };
            if v.contains(&d) || v.len() == 3 {
                return Err(format!("`{s}` names a device twice"));
            }
            v.push(d);
        }
        if v.is_empty() {
            return Err("the boot order is empty: use a, c, ac or ca".into());
        }
        Ok(BootOrder(v))
    }
}

impl<'de> Deserialize<'de> for BootOrder {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|_| {
            serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(&s),
                &"\"a\", \"c\", \"ac\" or \"ca\"",
            )
        })
    }
}

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid configuration.
    #[error("{path}:{line}:{col}: {msg}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Line (1-based).
        line: usize,
        /// Column (1-based).
        col: usize,
        /// What is wrong and what is accepted.
        msg: String,
    },
}

impl ConfigFile {
    /// Reads and checks a configuration file; relative paths in it become relative to its
    /// folder.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut cfg = ConfigFile::parse(&text).map_err(|(line, col, msg)| ConfigError::Parse {
            path: path.to_path_buf(),
            line,
            col,
            msg,
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let initrds = cfg.initrd.iter_mut().flatten();
        for p in [
            &mut cfg.fda,
            &mut cfg.fdb,
            &mut cfg.hda,
            &mut cfg.hdb,
            &mut cfg.kernel,
        ]
        .into_iter()
        .flatten()
        .chain(initrds)
        {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        if let Some(b) = &mut cfg.bios {
            if b != "builtin" && Path::new(b).is_relative() {
                *b = dir.join(&*b).display().to_string();
            }
        }
        Ok(cfg)
    }

    /// Parses configuration text. Errors give line, column and message.
    pub fn parse(text: &str) -> Result<ConfigFile, (usize, usize, String)> {
        // Fields are written plainly (`cpu: "486"`), not as `Some("486")`.
        ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
            .from_str::<ConfigFile>(text)
            .map_err(|e| (e.span.start.line, e.span.start.col, e.code.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file() {
        let c = ConfigFile::parse(
            r#"(
                cpu: "386",
                memory: "4M",
                bios: "builtin",
                clock: "host",
                fda: "a.img",
                hda: "c.img",
                boot: "ca",
                snapshot: true,
                display: "text",
                serial: "file:com1.txt",
                accel: "auto",
            )"#,
        )
        .unwrap();
        assert_eq!(c.cpu, Some(CpuName(CpuModel::I386)));
        assert_eq!(c.memory.as_deref(), Some("4M"));
        assert_eq!(c.clock, Some(ClockMode::Host));
        assert_eq!(
            c.boot,
            Some(BootOrder(vec![BootDevice::HardDisk, BootDevice::Floppy]))
        );
        assert_eq!(c.display, Some(DisplayKind::Text));
        assert_eq!(c.snapshot, Some(true));
        assert_eq!(c.accel, Some(crate::accel::AccelChoice::Auto));
    }

    #[test]
    fn errors_name_line_column_and_choices() {
        let (line, col, msg) =
            ConfigFile::parse("(\n  cpu: \"486\",\n  floppy: \"a.img\",\n)").unwrap_err();
        assert_eq!((line, col), (3, 3));
        assert!(msg.contains("floppy") && msg.contains("fda"), "{msg}");
        let (line, _, msg) = ConfigFile::parse("(\n  display: \"vga\",\n)").unwrap_err();
        assert_eq!(line, 2);
        assert!(msg.contains("window") && msg.contains("none"), "{msg}");
        let (_, _, msg) = ConfigFile::parse("(cpu: \"z80\")").unwrap_err();
        assert!(msg.contains("8086"), "{msg}");
        let (_, _, msg) = ConfigFile::parse("(boot: \"x\")").unwrap_err();
        assert!(msg.contains("\"ac\""), "{msg}");
        assert!(ConfigFile::parse("(snapshot: 3)").is_err());
    }

    #[test]
    fn kernel_initrd_append_with_paths_relative_to_the_file() {
        let dir = std::env::temp_dir().join(format!("glassbox-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("linux.ron");
        std::fs::write(
            &path,
            r#"(kernel: "k/vmlinuz", initrd: "a.gz,/abs/b.gz", append: "console=ttyS0")"#,
        )
        .unwrap();
        let c = ConfigFile::load(&path).unwrap();
        assert_eq!(c.kernel, Some(dir.join("k/vmlinuz")));
        assert_eq!(
            c.initrd,
            Some(vec![dir.join("a.gz"), PathBuf::from("/abs/b.gz")])
        );
        assert_eq!(c.append.as_deref(), Some("console=ttyS0"));
        assert_eq!(ConfigFile::parse("()").unwrap().initrd, None);
        assert!(ConfigFile::parse("(initrd: 3)").is_err());
    }

    #[test]
    fn boot_orders() {
        assert!("aa".parse::<BootOrder>().is_err());
        assert!("".parse::<BootOrder>().is_err());
        assert_eq!(
            "A".parse::<BootOrder>().unwrap().0,
            vec![BootDevice::Floppy]
        );
    }
}
