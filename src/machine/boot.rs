//! Direct kernel boot (`--kernel`, `--initrd`, `--append`): a Linux bzImage through the
//! Linux/x86 boot protocol 2.02+, or a multiboot (v1, spec 0.6.96) kernel in ELF32 or with the
//! a.out kludge.
//!
//! ## When the kernel starts: the firmware interface
//!
//! The kernel runs after our BIOS's POST, as if a boot loader had loaded it, so the Linux setup
//! code can call the BIOS (INT 10h, 13h, 15h E820h, 16h) and nothing the POST does (clearing the
//! BDA and EBDA, building tables) can overwrite the images. The BIOS's INT 19h asks the machine
//! through one I/O port, [`FW_PORT`], claimed by the machine itself:
//!
//! | access | meaning |
//! | --- | --- |
//! | `in ax, dx` (DX = `FW_PORT`) | [`FW_SIGNATURE`] when a kernel waits, 0 otherwise |
//! | `out dx, eax` (DX = `FW_PORT`) | "load it and enter it now"; EAX = physical address of the BIOS's memory map: a count byte followed by that many 20-byte E820 entries |
//!
//! After that `OUT` the machine copies the images into RAM and, between two instructions
//! (the CPU comes back to the run loop after every port access), sets the CPU to the
//! kernel's entry state; the BIOS's instruction after the `OUT` never runs. Only our BIOS
//! knows this port: `--kernel` with another firmware (`--bios FILE`) is refused.
//!
//! ## Linux (Documentation/x86/boot.rst)
//!
//! The setup header at 0x1F1 must carry `HdrS`, protocol 2.02 or later and `LOADED_HIGH` (a
//! bzImage). Memory use, as the protocol's example layout for 2.02+ kernels, at a base of
//! [`LINUX_SETUP_ADDR`] (low enough to keep clear of the EBDA below 640 KiB):
//!
//! | from the base | contents |
//! | --- | --- |
//! | 0x0000–0x7FFF | the real-mode setup (`setup_sects` + 1 sectors, 4 when 0) |
//! | 0x8000–0xDFFF | its heap (`heap_end_ptr` = 0xDE00) and stack (SP = 0xE000) |
//! | 0xE000–0xFFFF | the command line (`cmd_line_ptr`), at most `cmdline_size` bytes |
//!
//! The protected-mode part goes to 1 MiB; the initrd (several `--initrd` files are
//! concatenated, each padded to 4 bytes, as the kernel accepts several cpio archives) as high
//! as `initrd_addr_max` and the top of RAM allow, page aligned, and above the kernel's
//! decompression area (`pref_address` + `init_size`, protocol 2.10+). The header gets
//! `type_of_loader` = 0xFF, `CAN_USE_HEAP`, `vid_mode` = 0xFFFF (normal). Entry: real mode at
//! `base/16 + 0x20 : 0`, DS = ES = FS = GS = SS = `base/16`, interrupts off.
//!
//! ## Multiboot v1
//!
//! The header (magic 0x1BADB002, flags, checksum) is searched in the first 8 KiB on 4-byte
//! boundaries. Flags 0 (page-align modules: always done) and 1 (memory information: always
//! given) are honoured; flag 2 (video mode) is accepted only when it asks for text mode
//! (type 1) with no size or 80x25 — the machine stays in 80x25 text mode and no
//! video information is passed; any other flag among bits 0–15 is refused. With flag 16 the
//! header's address fields are used (a.out kludge), otherwise the file must be an ELF32 i386
//! executable whose `PT_LOAD` segments are loaded at their physical addresses (BSS zeroed).
//! Everything must load between 1 MiB and the top of RAM. Modules (each `--initrd` file, its
//! string the file name as given) follow the kernel, page aligned.
//!
//! The information structure, memory map, module list, strings and a GDT live in low memory
//! from [`MB_AREA`]. Info flags: memory (`mem_lower`/`mem_upper` from the BIOS's map), boot
//! device (the first drive of the CMOS boot order that is present, partitions 0xFF), command
//! line (the `--append` text as given), modules, memory map (the BIOS's E820 map), boot
//! loader name ("Glassbox"). Entry: 32-bit protected mode, paging off, IF = 0, CS = 0x08
//! (flat 4 GiB execute/read), DS = ES = FS = GS = SS = 0x10 (flat read/write) from the GDT
//! at [`MB_AREA`], EAX = 0x2BADB002, EBX = the information's address, ESP = 0x7C00 (the
//! spec leaves ESP undefined: the kernel sets its own stack).

use super::{Pc, Stop};
use crate::cpu::decode::seg;
use crate::cpu::{flags, reg, Segment, TableReg};
use glassbox_devices::mc146818 as cmos;
use std::path::{Path, PathBuf};

const CR0_PE: u32 = 1;
const CR0_PG: u32 = 1 << 31;

/// The I/O port of the firmware interface (see the module docs).
pub const FW_PORT: u16 = 0x0A10;
/// What a read of [`FW_PORT`] returns when a kernel waits ("GB").
pub const FW_SIGNATURE: u16 = 0x4247;

/// Where the Linux real-mode setup code goes (the segment base).
pub const LINUX_SETUP_ADDR: u32 = 0x1_0000;
/// Offset of the heap end / initial stack pointer from the setup base.
const LINUX_HEAP_END: u32 = 0xE000;
/// Offset of the command line from the setup base.
const LINUX_CMDLINE_OFF: u32 = 0xE000;
/// Room for the command line and its NUL, up to the end of the 64 KiB segment.
const LINUX_CMDLINE_ROOM: u32 = 0x1_0000 - LINUX_CMDLINE_OFF;
/// The largest real-mode setup the layout has room for.
const LINUX_SETUP_MAX: usize = 0x8000;
/// Where a bzImage's protected-mode part is loaded.
pub const LINUX_KERNEL_ADDR: u32 = 0x10_0000;

/// Low memory used for the multiboot information, strings and the GDT.
pub const MB_AREA: u32 = 0x1_0000;
/// The end of that area (exclusive).
const MB_AREA_END: u32 = 0x9_0000;
const MB_INFO: u32 = MB_AREA + 0x40;
const MB_MMAP: u32 = MB_AREA + 0x100;
/// Room for memory map entries (24 bytes each).
const MB_MMAP_MAX: u32 = 32;
const MB_MODS: u32 = MB_MMAP + 24 * MB_MMAP_MAX;
/// The value in EAX at a multiboot entry.
pub const MULTIBOOT_EAX: u32 = 0x2BAD_B002;
const MULTIBOOT_MAGIC: u32 = 0x1BAD_B002;
const MB_SEARCH: usize = 8192;
const MB_LOADER_NAME: &str = "Glassbox";
const MB_STACK: u32 = 0x7C00;

/// Header fields (offsets in the file / the loaded setup).
mod hdr {
    pub const SETUP_SECTS: usize = 0x1F1;
    pub const VID_MODE: usize = 0x1FA;
    pub const BOOT_FLAG: usize = 0x1FE;
    pub const HEADER: usize = 0x202;
    pub const VERSION: usize = 0x206;
    pub const TYPE_OF_LOADER: usize = 0x210;
    pub const LOADFLAGS: usize = 0x211;
    pub const RAMDISK_IMAGE: usize = 0x218;
    pub const RAMDISK_SIZE: usize = 0x21C;
    pub const HEAP_END_PTR: usize = 0x224;
    pub const CMD_LINE_PTR: usize = 0x228;
    pub const INITRD_ADDR_MAX: usize = 0x22C;
    pub const CMDLINE_SIZE: usize = 0x238;
    pub const PREF_ADDRESS: usize = 0x258;
    pub const INIT_SIZE: usize = 0x260;
    /// `HdrS`.
    pub const MAGIC: u32 = 0x5372_6448;
    pub const LOADED_HIGH: u8 = 0x01;
    pub const CAN_USE_HEAP: u8 = 0x80;
}

/// A direct boot that cannot be done, naming the file or flag and the problem.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// A file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// Neither a bzImage nor a multiboot kernel.
    #[error("--kernel {file}: not a Linux bzImage (no `HdrS` setup header at 0x202) and no multiboot header in its first 8 KiB")]
    UnknownFormat {
        /// The kernel file.
        file: String,
    },
    /// A Linux kernel older than boot protocol 2.02.
    #[error("--kernel {file}: Linux boot protocol {}.{:02}: direct boot needs protocol 2.02 or later", .version >> 8, .version & 0xFF)]
    ProtocolTooOld {
        /// The kernel file.
        file: String,
        /// The protocol version (major << 8 | minor).
        version: u16,
    },
    /// A zImage (its kernel loads below 1 MiB).
    #[error("--kernel {file}: a zImage (LOADED_HIGH clear, the kernel loads below 1 MiB): only bzImage kernels are supported")]
    NotBzImage {
        /// The kernel file.
        file: String,
    },
    /// The file is shorter than its headers say.
    #[error("--kernel {file}: the file is truncated: {what}")]
    Truncated {
        /// The kernel file.
        file: String,
        /// What is missing.
        what: String,
    },
    /// The real-mode setup is too large for the layout.
    #[error("--kernel {file}: the real-mode setup is {size} bytes, more than the {LINUX_SETUP_MAX} bytes the boot layout has room for")]
    SetupTooBig {
        /// The kernel file.
        file: String,
        /// Its size.
        size: usize,
    },
    /// The kernel does not fit in RAM.
    #[error("--kernel {file}: the kernel needs memory up to {need:#x}, but the machine has {} KiB: give more --memory", .ram / 1024)]
    KernelTooBig {
        /// The kernel file.
        file: String,
        /// First byte it does not need any more.
        need: u64,
        /// RAM size in bytes.
        ram: u64,
    },
    /// The initrd (or the multiboot modules) do not fit.
    #[error("--initrd {file}: {size} bytes do not fit in RAM between the kernel (up to {kernel_end:#x}) and {limit:#x}: give more --memory")]
    InitrdDoesNotFit {
        /// The initrd file(s).
        file: String,
        /// Their size in bytes.
        size: u64,
        /// End of the kernel's memory.
        kernel_end: u64,
        /// The highest address the initrd may reach (exclusive).
        limit: u64,
    },
    /// The command line is longer than the kernel accepts.
    #[error(
        "--append: the command line is {len} bytes, longer than the {max} bytes the kernel accepts"
    )]
    CmdlineTooLong {
        /// Its length.
        len: usize,
        /// The most allowed (without the NUL).
        max: usize,
    },
    /// A multiboot header with a wrong checksum.
    #[error("--kernel {file}: the multiboot header at offset {offset:#x} has a wrong checksum (magic + flags + checksum must be 0)")]
    MultibootChecksum {
        /// The kernel file.
        file: String,
        /// Offset of the header.
        offset: usize,
    },
    /// A multiboot header asking for something not supported.
    #[error("--kernel {file}: the multiboot header asks for {what} (flags {flags:#010x}), which is not supported")]
    MultibootFlags {
        /// The kernel file.
        file: String,
        /// The header flags.
        flags: u32,
        /// What is not supported.
        what: String,
    },
    /// A multiboot kernel without the a.out kludge that is not a usable ELF32 executable, or
    /// an a.out kludge header with inconsistent addresses.
    #[error("--kernel {file}: {what}")]
    BadImage {
        /// The kernel file.
        file: String,
        /// What is wrong.
        what: String,
    },
    /// A segment outside the RAM a kernel may use.
    #[error("--kernel {file}: a segment at {start:#x}..{end:#x} is outside RAM the kernel may use (1 MiB to {ram:#x})")]
    SegmentOutsideRam {
        /// The kernel file.
        file: String,
        /// First byte.
        start: u64,
        /// First byte after it.
        end: u64,
        /// RAM size.
        ram: u64,
    },
    /// The BIOS's memory map handed over at boot time is unusable.
    #[error("the firmware's memory map at {addr:#x} is not usable: {what}")]
    BadFirmwareMap {
        /// Its address.
        addr: u32,
        /// What is wrong.
        what: String,
    },
}

/// The kind of a kernel image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelKind {
    /// A Linux bzImage (or older image with a `HdrS` header).
    Linux,
    /// A multiboot v1 kernel.
    Multiboot,
}

/// What a kernel image is, from its headers (`None`: neither).
pub fn kernel_kind(image: &[u8]) -> Option<KernelKind> {
    if le32(image, hdr::HEADER) == Some(hdr::MAGIC) && le16(image, hdr::BOOT_FLAG) == Some(0xAA55) {
        Some(KernelKind::Linux)
    } else if find_multiboot(image).is_some() {
        Some(KernelKind::Multiboot)
    } else {
        None
    }
}

/// The files of a direct boot, read.
#[derive(Clone, Debug)]
pub struct BootFiles {
    /// The kernel's name (as given) and bytes.
    pub kernel: (String, Vec<u8>),
    /// The initrd files (or multiboot modules): names as given, bytes.
    pub initrds: Vec<(String, Vec<u8>)>,
    /// The kernel command line.
    pub cmdline: String,
}

impl BootFiles {
    /// Reads the kernel and initrd files.
    pub fn read(kernel: &Path, initrds: &[PathBuf], cmdline: &str) -> Result<BootFiles, BootError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|source| BootError::Read {
                file: p.display().to_string(),
                source,
            })
        };
        let mut files = Vec::new();
        for p in initrds {
            files.push((p.display().to_string(), read(p)?));
        }
        Ok(BootFiles {
            kernel: (kernel.display().to_string(), read(kernel)?),
            initrds: files,
            cmdline: cmdline.to_string(),
        })
    }

    fn initrd_names(&self) -> String {
        let names: Vec<&str> = self.initrds.iter().map(|(n, _)| n.as_str()).collect();
        names.join(",")
    }
}

/// A region of guest memory the boot uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// First byte.
    pub addr: u32,
    /// Length in bytes.
    pub len: u32,
}

/// Where a Linux kernel's parts go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinuxLayout {
    /// Boot protocol version (major << 8 | minor).
    pub version: u16,
    /// The real-mode setup (its base is also DS/SS at entry).
    pub setup: Region,
    /// The protected-mode part.
    pub kernel: Region,
    /// Memory the kernel needs from 1 MiB on (loaded image and decompression area).
    pub kernel_end: u64,
    /// The initrd (absent without `--initrd`).
    pub initrd: Option<Region>,
    /// The command line with its NUL.
    pub cmdline: Region,
}

/// One piece of a multiboot kernel to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadSegment {
    /// Physical address.
    pub addr: u32,
    /// Offset in the file.
    pub file_offset: usize,
    /// Bytes from the file.
    pub file_len: usize,
    /// Bytes in memory (the rest is zeroed).
    pub mem_len: u32,
}

/// Where a multiboot kernel's parts go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultibootLayout {
    /// The header flags.
    pub flags: u32,
    /// The kernel's pieces.
    pub segments: Vec<LoadSegment>,
    /// The entry point.
    pub entry: u32,
    /// The modules, in `--initrd` order.
    pub modules: Vec<Region>,
    /// The address of the information structure (EBX at entry).
    pub info: u32,
}

/// How the boot is laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// A Linux bzImage.
    Linux(LinuxLayout),
    /// A multiboot kernel.
    Multiboot(MultibootLayout),
}

/// One entry of the BIOS's memory map (INT 15h E820h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct E820Entry {
    /// First byte.
    pub base: u64,
    /// Length in bytes.
    pub len: u64,
    /// 1 usable, 2 reserved, ...
    pub kind: u32,
}

/// The CPU state a kernel is entered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Real mode at `cs:0`, DS = ES = FS = GS = SS = `ds`, SP = `sp`, interrupts off.
    Real {
        /// Code segment.
        cs: u16,
        /// Every data segment and the stack segment.
        ds: u16,
        /// Stack pointer.
        sp: u16,
    },
    /// 32-bit flat protected mode (see the module docs).
    Flat32 {
        /// Entry point.
        eip: u32,
        /// EAX (the multiboot magic).
        eax: u32,
        /// EBX (the information's address).
        ebx: u32,
        /// ESP.
        esp: u32,
        /// GDT base (code 0x08, data 0x10).
        gdt: u32,
    },
}

/// A direct boot, checked and laid out; [`DirectBoot::load`] writes it into RAM.
#[derive(Clone, Debug)]
pub struct DirectBoot {
    files: BootFiles,
    layout: Layout,
    /// Multiboot strings (name, command line, module names) with their addresses.
    strings: Vec<(u32, Vec<u8>)>,
    /// The RAM size the layout was made for.
    ram: u64,
}

impl DirectBoot {
    /// Checks the images against a machine with `ram` bytes of RAM and lays them out.
    pub fn new(files: BootFiles, ram: u64) -> Result<DirectBoot, BootError> {
        let ram = ram.min(0xFFFF_F000);
        let name = files.kernel.0.clone();
        match kernel_kind(&files.kernel.1) {
            Some(KernelKind::Linux) => {
                let layout = linux_layout(&files, ram)?;
                Ok(DirectBoot {
                    files,
                    layout: Layout::Linux(layout),
                    strings: Vec::new(),
                    ram,
                })
            }
            Some(KernelKind::Multiboot) => {
                let (layout, strings) = multiboot_layout(&files, ram)?;
                Ok(DirectBoot {
                    files,
                    layout: Layout::Multiboot(layout),
                    strings,
                    ram,
                })
            }
            None => {
                // A multiboot magic with a bad checksum is worth naming.
                if let Some(offset) = find_magic(&files.kernel.1) {
                    return Err(BootError::MultibootChecksum { file: name, offset });
                }
                Err(BootError::UnknownFormat { file: name })
            }
        }
    }

    /// Where everything goes.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The kind of kernel.
    pub fn kind(&self) -> KernelKind {
        match self.layout {
            Layout::Linux(_) => KernelKind::Linux,
            Layout::Multiboot(_) => KernelKind::Multiboot,
        }
    }

    /// Writes the images (and for multiboot the information built from the BIOS's memory
    /// map `map` and the boot drive) into `ram`, and returns the entry state.
    pub fn load(
        &self,
        ram: &mut [u8],
        map: &[E820Entry],
        boot_drive: Option<u8>,
    ) -> Result<Entry, BootError> {
        if (ram.len() as u64) < self.ram {
            return Err(BootError::KernelTooBig {
                file: self.files.kernel.0.clone(),
                need: self.ram,
                ram: ram.len() as u64,
            });
        }
        match &self.layout {
            Layout::Linux(l) => Ok(self.load_linux(l, ram)),
            Layout::Multiboot(m) => self.load_multiboot(m, ram, map, boot_drive),
        }
    }

    fn load_linux(&self, l: &LinuxLayout, ram: &mut [u8]) -> Entry {
        let image = &self.files.kernel.1;
        let setup_len = l.setup.len as usize;
        put(ram, l.setup.addr, &image[..setup_len]);
        put(ram, l.kernel.addr, &image[setup_len..]);
        let base = l.setup.addr as usize;
        if let Some(r) = l.initrd {
            let mut at = r.addr;
            for (_, data) in &self.files.initrds {
                put(ram, at, data);
                at += (data.len() as u32).next_multiple_of(4);
            }
            put32(ram, base + hdr::RAMDISK_IMAGE, r.addr);
            put32(ram, base + hdr::RAMDISK_SIZE, r.len);
        }
        let mut cmdline = self.files.cmdline.as_bytes().to_vec();
        cmdline.push(0);
        put(ram, l.cmdline.addr, &cmdline);
        ram[base + hdr::TYPE_OF_LOADER] = 0xFF;
        ram[base + hdr::LOADFLAGS] |= hdr::CAN_USE_HEAP;
        put16(
            ram,
            base + hdr::HEAP_END_PTR,
            (LINUX_HEAP_END - 0x200) as u16,
        );
        put16(ram, base + hdr::VID_MODE, 0xFFFF);
        put32(ram, base + hdr::CMD_LINE_PTR, l.cmdline.addr);
        let seg = (l.setup.addr >> 4) as u16;
        Entry::Real {
            cs: seg + 0x20,
            ds: seg,
            sp: LINUX_HEAP_END as u16,
        }
    }

    fn load_multiboot(
        &self,
        m: &MultibootLayout,
        ram: &mut [u8],
        map: &[E820Entry],
        boot_drive: Option<u8>,
    ) -> Result<Entry, BootError> {
        let image = &self.files.kernel.1;
        for s in &m.segments {
            let at = s.addr as usize;
            ram[at..at + s.mem_len as usize].fill(0);
            put(
                ram,
                s.addr,
                &image[s.file_offset..s.file_offset + s.file_len],
            );
        }
        for (r, (_, data)) in m.modules.iter().zip(&self.files.initrds) {
            put(ram, r.addr, data);
        }
        for (addr, s) in &self.strings {
            put(ram, *addr, s);
        }
        // The GDT: null, flat code (0x08), flat data (0x10).
        let gdt: [u64; 3] = [0, 0x00CF_9B00_0000_FFFF, 0x00CF_9300_0000_FFFF];
        for (i, d) in gdt.iter().enumerate() {
            put(ram, MB_AREA + 8 * i as u32, &d.to_le_bytes());
        }
        let map: Vec<&E820Entry> = map.iter().take(MB_MMAP_MAX as usize).collect();
        for (i, e) in map.iter().enumerate() {
            let at = (MB_MMAP + 24 * i as u32) as usize;
            put32(ram, at, 20);
            put(ram, at as u32 + 4, &e.base.to_le_bytes());
            put(ram, at as u32 + 12, &e.len.to_le_bytes());
            put32(ram, at + 20, e.kind);
        }
        for (i, r) in m.modules.iter().enumerate() {
            let at = (MB_MODS + 16 * i as u32) as usize;
            put32(ram, at, r.addr);
            put32(ram, at + 4, r.addr + r.len);
            put32(ram, at + 8, self.strings[2 + i].0);
            put32(ram, at + 12, 0);
        }
        let (lower, upper) = memory_sizes(map.iter().copied());
        let info = m.info as usize;
        ram[info..info + 88].fill(0);
        let mut flags = 1 | 1 << 2 | 1 << 3 | 1 << 6 | 1 << 9;
        put32(ram, info + 4, lower);
        put32(ram, info + 8, upper);
        if let Some(d) = boot_drive {
            flags |= 1 << 1;
            put32(ram, info + 12, (d as u32) << 24 | 0x00FF_FFFF);
        }
        put32(ram, info + 16, self.strings[1].0);
        put32(ram, info + 20, m.modules.len() as u32);
        put32(ram, info + 24, MB_MODS);
        put32(ram, info + 44, 24 * map.len() as u32);
        put32(ram, info + 48, MB_MMAP);
        put32(ram, info + 64, self.strings[0].0);
        put32(ram, info, flags);
        Ok(Entry::Flat32 {
            eip: m.entry,
            eax: MULTIBOOT_EAX,
            ebx: m.info,
            esp: MB_STACK,
            gdt: MB_AREA,
        })
    }
}

/// `mem_lower` and `mem_upper` (KiB) from a memory map: usable memory from 0, and usable
/// memory from 1 MiB up to the first hole.
fn memory_sizes<'a>(map: impl Iterator<Item = &'a E820Entry> + Clone) -> (u32, u32) {
    let usable: Vec<&E820Entry> = map.filter(|e| e.kind == 1).collect();
    let lower = usable
        .iter()
        .find(|e| e.base == 0)
        .map_or(0, |e| (e.len.min(0xA_0000) / 1024) as u32);
    let mut end = 0x10_0000u64;
    while let Some(e) = usable
        .iter()
        .find(|e| e.base <= end && e.base.saturating_add(e.len) > end)
    {
        end = e.base.saturating_add(e.len);
    }
    (
        lower,
        ((end - 0x10_0000) / 1024).min(u32::MAX as u64) as u32,
    )
}

/// Reads the BIOS's memory map from guest RAM: a count byte at `addr`, then the entries.
pub fn read_bios_map(ram: &[u8], addr: u32) -> Result<Vec<E820Entry>, BootError> {
    let bad = |what: &str| BootError::BadFirmwareMap {
        addr,
        what: what.to_string(),
    };
    let at = addr as usize;
    let count = *ram.get(at).ok_or_else(|| bad("outside RAM"))? as usize;
    if count == 0 || count > MB_MMAP_MAX as usize {
        return Err(bad(&format!("{count} entries")));
    }
    let bytes = ram
        .get(at + 1..at + 1 + 20 * count)
        .ok_or_else(|| bad("outside RAM"))?;
    Ok(bytes
        .chunks_exact(20)
        .map(|e| E820Entry {
            base: u64::from_le_bytes(e[0..8].try_into().unwrap_or_default()),
            len: u64::from_le_bytes(e[8..16].try_into().unwrap_or_default()),
            kind: u32::from_le_bytes(e[16..20].try_into().unwrap_or_default()),
        })
        .collect())
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Copies `data` to `addr` (the layout has checked that it fits).
fn put(ram: &mut [u8], addr: u32, data: &[u8]) {
    let at = addr as usize;
    ram[at..at + data.len()].copy_from_slice(data);
}

fn put16(ram: &mut [u8], at: usize, v: u16) {
    ram[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(ram: &mut [u8], at: usize, v: u32) {
    ram[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn linux_layout(files: &BootFiles, ram: u64) -> Result<LinuxLayout, BootError> {
    let (file, image) = (&files.kernel.0, &files.kernel.1);
    let truncated = |what: String| BootError::Truncated {
        file: file.clone(),
        what,
    };
    let version = le16(image, hdr::VERSION).ok_or_else(|| truncated("no setup header".into()))?;
    if version < 0x0202 {
        return Err(BootError::ProtocolTooOld {
            file: file.clone(),
            version,
        });
    }
    let loadflags = *image
        .get(hdr::LOADFLAGS)
        .ok_or_else(|| truncated("the setup header is cut short".into()))?;
    if loadflags & hdr::LOADED_HIGH == 0 {
        return Err(BootError::NotBzImage { file: file.clone() });
    }
    let sects = match image.get(hdr::SETUP_SECTS).copied().unwrap_or(0) {
        0 => 4,
        n => n as usize,
    };
    let setup_len = (sects + 1) * 512;
    if setup_len > LINUX_SETUP_MAX {
        return Err(BootError::SetupTooBig {
            file: file.clone(),
            size: setup_len,
        });
    }
    if image.len() <= setup_len {
        return Err(truncated(format!(
            "{} bytes, but the real-mode setup alone is {setup_len}",
            image.len()
        )));
    }
    let field32 = |at: usize| le32(image, at).unwrap_or(0) as u64;
    let kernel_len = (image.len() - setup_len) as u64;
    let mut kernel_end = LINUX_KERNEL_ADDR as u64 + kernel_len;
    if version >= 0x020A {
        let pref = le64(image, hdr::PREF_ADDRESS).unwrap_or(0);
        kernel_end = kernel_end.max(pref + field32(hdr::INIT_SIZE));
    }
    if kernel_end > ram {
        return Err(BootError::KernelTooBig {
            file: file.clone(),
            need: kernel_end,
            ram,
        });
    }
    let max_cmdline = if version >= 0x0206 {
        field32(hdr::CMDLINE_SIZE) as usize
    } else {
        255
    }
    .min(LINUX_CMDLINE_ROOM as usize - 1);
    if files.cmdline.len() > max_cmdline {
        return Err(BootError::CmdlineTooLong {
            len: files.cmdline.len(),
            max: max_cmdline,
        });
    }
    let initrd = if files.initrds.is_empty() {
        None
    } else {
        let size: u64 = files
            .initrds
            .iter()
            .map(|(_, d)| (d.len() as u64).next_multiple_of(4))
            .sum();
        let addr_max = if version >= 0x0203 {
            field32(hdr::INITRD_ADDR_MAX)
        } else {
            0x37FF_FFFF
        };
        let limit = ram.min(addr_max + 1);
        let fits = limit
            .checked_sub(size)
            .map(|a| a & !0xFFF)
            .filter(|&a| a >= kernel_end);
        let Some(addr) = fits else {
            return Err(BootError::InitrdDoesNotFit {
                file: files.initrd_names(),
                size,
                kernel_end,
                limit,
            });
        };
        Some(Region {
            addr: addr as u32,
            len: size as u32,
        })
    };
    Ok(LinuxLayout {
        version,
        setup: Region {
            addr: LINUX_SETUP_ADDR,
            len: setup_len as u32,
        },
        kernel: Region {
            addr: LINUX_KERNEL_ADDR,
            len: kernel_len as u32,
        },
        kernel_end,
        initrd,
        cmdline: Region {
            addr: LINUX_SETUP_ADDR + LINUX_CMDLINE_OFF,
            len: files.cmdline.len() as u32 + 1,
        },
    })
}

/// The offset of the first multiboot magic (on a 4-byte boundary in the first 8 KiB).
fn find_magic(image: &[u8]) -> Option<usize> {
    (0..image.len().min(MB_SEARCH))
        .step_by(4)
        .find(|&off| le32(image, off) == Some(MULTIBOOT_MAGIC))
}

/// The offset of a multiboot header with a valid checksum.
fn find_multiboot(image: &[u8]) -> Option<usize> {
    let off = find_magic(image)?;
    let flags = le32(image, off + 4)?;
    let sum = le32(image, off + 8)?;
    (MULTIBOOT_MAGIC.wrapping_add(flags).wrapping_add(sum) == 0).then_some(off)
}

/// Flags of the multiboot header.
const MB_PAGE_ALIGN: u32 = 1 << 0;
const MB_MEMORY_INFO: u32 = 1 << 1;
const MB_VIDEO_MODE: u32 = 1 << 2;
const MB_AOUT_KLUDGE: u32 = 1 << 16;

type Strings = Vec<(u32, Vec<u8>)>;

fn multiboot_layout(files: &BootFiles, ram: u64) -> Result<(MultibootLayout, Strings), BootError> {
    let (file, image) = (&files.kernel.0, &files.kernel.1);
    let off =
        find_multiboot(image).ok_or_else(|| BootError::UnknownFormat { file: file.clone() })?;
    let flags = le32(image, off + 4).unwrap_or(0);
    let refuse = |what: String| BootError::MultibootFlags {
        file: file.clone(),
        flags,
        what,
    };
    let unknown = flags & 0xFFFF & !(MB_PAGE_ALIGN | MB_MEMORY_INFO | MB_VIDEO_MODE);
    if unknown != 0 {
        return Err(refuse(format!("required features {unknown:#x}")));
    }
    let field = |k: usize| le32(image, off + 12 + 4 * k);
    let truncated = || BootError::Truncated {
        file: file.clone(),
        what: "the multiboot header is cut short".into(),
    };
    if flags & MB_VIDEO_MODE != 0 {
        let mode = [field(5), field(6), field(7)];
        let [Some(mode_type), Some(width), Some(height)] = mode else {
            return Err(truncated());
        };
        let text = mode_type == 1 && matches!((width, height), (0, 0) | (80, 25));
        if !text {
            return Err(refuse(format!(
                "a video mode (type {mode_type}, {width}x{height}); only 80x25 text is offered"
            )));
        }
    }
    let bad = |what: String| BootError::BadImage {
        file: file.clone(),
        what,
    };
    let (segments, entry) = if flags & MB_AOUT_KLUDGE != 0 {
        let f: Vec<u32> = (0..5)
            .map(field)
            .collect::<Option<_>>()
            .ok_or_else(truncated)?;
        let (header_addr, load_addr, load_end, bss_end, entry) = (f[0], f[1], f[2], f[3], f[4]);
        let skip = header_addr.wrapping_sub(load_addr) as usize;
        if header_addr < load_addr || skip > off {
            return Err(bad(format!(
                "multiboot header_addr {header_addr:#x} and load_addr {load_addr:#x} put the load before the start of the file"
            )));
        }
        let file_offset = off - skip;
        let file_len = if load_end == 0 {
            image.len() - file_offset
        } else {
            load_end.wrapping_sub(load_addr) as usize
        };
        if load_end != 0 && (load_end <= load_addr || file_offset + file_len > image.len()) {
            return Err(bad(format!(
                "multiboot load_end_addr {load_end:#x} is not after load_addr {load_addr:#x} within the file"
            )));
        }
        let end = load_addr as u64 + file_len as u64;
        let mem_end = if bss_end == 0 { end } else { bss_end as u64 };
        if mem_end < end {
            return Err(bad(format!(
                "multiboot bss_end_addr {bss_end:#x} is below the end of the loaded image {end:#x}"
            )));
        }
        if !(load_addr as u64..end).contains(&(entry as u64)) {
            return Err(bad(format!(
                "multiboot entry_addr {entry:#x} is outside the loaded image {load_addr:#x}..{end:#x}"
            )));
        }
        let seg = LoadSegment {
            addr: load_addr,
            file_offset,
            file_len,
            mem_len: (mem_end - load_addr as u64) as u32,
        };
        (vec![seg], entry)
    } else {
        elf_segments(image).map_err(bad)?
    };
    for s in &segments {
        let end = s.addr as u64 + s.mem_len as u64;
        if (s.addr as u64) < 0x10_0000 || end > ram {
            return Err(BootError::SegmentOutsideRam {
                file: file.clone(),
                start: s.addr as u64,
                end,
                ram,
            });
        }
    }
    let kernel_end = segments
        .iter()
        .map(|s| s.addr as u64 + s.mem_len as u64)
        .max()
        .unwrap_or(0x10_0000);
    let mut modules = Vec::new();
    let mut at = kernel_end.next_multiple_of(0x1000);
    for (_, data) in &files.initrds {
        modules.push(Region {
            addr: at as u32,
            len: data.len() as u32,
        });
        at = (at + data.len() as u64).next_multiple_of(0x1000);
    }
    if at > ram {
        let size = files.initrds.iter().map(|(_, d)| d.len() as u64).sum();
        return Err(BootError::InitrdDoesNotFit {
            file: files.initrd_names(),
            size,
            kernel_end,
            limit: ram,
        });
    }
    // Strings after the module list: loader name, command line, module names.
    let mut strings = Vec::new();
    let mut next = MB_MODS + 16 * files.initrds.len() as u32;
    let texts = [MB_LOADER_NAME, files.cmdline.as_str()]
        .into_iter()
        .chain(files.initrds.iter().map(|(n, _)| n.as_str()));
    for t in texts {
        let mut bytes = t.as_bytes().to_vec();
        bytes.push(0);
        let len = bytes.len() as u64;
        if next as u64 + len > MB_AREA_END as u64 {
            return Err(BootError::CmdlineTooLong {
                len: files.cmdline.len(),
                max: (MB_AREA_END - MB_MODS) as usize / 2,
            });
        }
        strings.push((next, bytes));
        next = (next as u64 + len).next_multiple_of(4) as u32;
    }
    Ok((
        MultibootLayout {
            flags,
            segments,
            entry,
            modules,
            info: MB_INFO,
        },
        strings,
    ))
}

/// The `PT_LOAD` segments and entry point of an ELF32 i386 executable.
fn elf_segments(image: &[u8]) -> Result<(Vec<LoadSegment>, u32), String> {
    if image.get(0..4) != Some(b"\x7FELF") {
        return Err(
            "not an ELF file, and its multiboot header has no load addresses (flag 16)".into(),
        );
    }
    if image.get(4..7) != Some(&[1, 1, 1]) {
        return Err("not a 32-bit little-endian ELF file (ELFCLASS32, ELFDATA2LSB)".into());
    }
    let h16 = |at| le16(image, at).ok_or("the ELF header is cut short");
    let h32 = |at| le32(image, at).ok_or("the ELF header is cut short");
    let (etype, machine) = (h16(16)?, h16(18)?);
    if etype != 2 || machine != 3 {
        return Err(format!(
            "ELF type {etype} for machine {machine}: an executable (type 2) for i386 (machine 3) is needed"
        ));
    }
    let entry = h32(24)?;
    let phoff = h32(28)? as usize;
    let phentsize = h16(42)? as usize;
    let phnum = h16(44)? as usize;
    if phentsize < 32 {
        return Err(format!(
            "ELF program header entries of {phentsize} bytes (32 needed)"
        ));
    }
    let mut segs = Vec::new();
    for k in 0..phnum {
        let at = phoff + k * phentsize;
        let p = |i: usize| le32(image, at + 4 * i).ok_or("the ELF program headers are cut short");
        if p(0)? != 1 {
            continue; // not PT_LOAD
        }
        let (offset, paddr, filesz, memsz) = (p(1)? as usize, p(3)?, p(4)? as usize, p(5)?);
        if memsz == 0 {
            continue;
        }
        if filesz > memsz as usize || offset.checked_add(filesz).is_none_or(|e| e > image.len()) {
            return Err(format!(
                "ELF segment {k} (file offset {offset:#x}, {filesz:#x} bytes in the file, {memsz:#x} in memory) does not fit the file"
            ));
        }
        segs.push(LoadSegment {
            addr: paddr,
            file_offset: offset,
            file_len: filesz,
            mem_len: memsz,
        });
    }
    if segs.is_empty() {
        return Err("the ELF file has no loadable segment".into());
    }
    Ok((segs, entry))
}

/// The machine's side of the firmware interface on [`FW_PORT`].
#[derive(Debug, Default)]
pub(super) struct FirmwarePort {
    /// A kernel waits to be booted.
    pub(super) waiting: bool,
    /// The BIOS asked for it: the address of its memory map.
    pub(super) request: Option<u32>,
}

impl FirmwarePort {
    /// A read of `size` bytes.
    pub(super) fn read(&self, size: u8) -> u32 {
        let v = if self.waiting { FW_SIGNATURE as u32 } else { 0 };
        v & crate::cpu::bus::open_bus(size)
    }

    /// A write; `true` when the machine must act on it.
    pub(super) fn write(&mut self, size: u8, value: u32) -> bool {
        if self.waiting && size == 4 {
            self.request = Some(value);
            true
        } else {
            log::warn!("firmware port {FW_PORT:#x}: write of {value:#x} ({size} bytes) ignored");
            false
        }
    }
}

impl Pc {
    /// Boots `boot` instead of a disk: our BIOS's INT 19h will hand over to it (see the
    /// module docs). `None` goes back to booting from disks.
    pub fn set_direct_boot(&mut self, boot: Option<DirectBoot>) {
        self.board.fw.waiting = boot.is_some();
        self.direct_boot = boot.map(Box::new);
    }

    /// Why the last direct boot failed, when it did (the run stopped with
    /// [`Stop::Unsupported`]).
    pub fn boot_error(&self) -> Option<&str> {
        self.boot_error.as_deref()
    }

    /// Acts on the BIOS's request: loads the images and sets the CPU to the entry state.
    pub(super) fn enter_kernel(&mut self, map_addr: u32) -> Option<Stop> {
        let boot = self.direct_boot.take()?;
        let result = self.load_and_enter(&boot, map_addr);
        self.direct_boot = Some(boot);
        match result {
            Ok(()) => None,
            Err(e) => {
                self.boot_error = Some(e.to_string());
                Some(Stop::Unsupported("a direct kernel boot that failed"))
            }
        }
    }

    fn load_and_enter(&mut self, boot: &DirectBoot, map_addr: u32) -> Result<(), BootError> {
        let drive = self.first_boot_drive();
        let ram = self.board.mem.ram_mut();
        let map = read_bios_map(ram, map_addr)?;
        let entry = boot.load(ram, &map, drive)?;
        let cpu = &mut self.cpu;
        cpu.halted = false;
        cpu.set_interrupt_shadow(false);
        match entry {
            Entry::Real { cs, ds, sp } => {
                for s in [seg::DS, seg::ES, seg::FS, seg::GS, seg::SS] {
                    cpu.load_seg_real(s, ds);
                }
                cpu.load_seg_real(seg::CS, cs);
                cpu.eip = 0;
                cpu.regs[reg::SP as usize] = sp as u32;
                cpu.flags.assign(flags::IF | flags::TF | flags::DF, false);
            }
            Entry::Flat32 {
                eip,
                eax,
                ebx,
                esp,
                gdt,
            } => {
                cpu.cr[0] = (cpu.cr[0] | CR0_PE) & !CR0_PG;
                cpu.gdtr = TableReg {
                    base: gdt,
                    limit: 3 * 8 - 1,
                };
                let flat = |selector, attrs| Segment {
                    selector,
                    base: 0,
                    limit: 0xFFFF_FFFF,
                    attrs,
                };
                for s in [seg::DS, seg::ES, seg::FS, seg::GS, seg::SS] {
                    cpu.segs[s as usize] = flat(0x10, 0xCF93);
                }
                cpu.segs[seg::CS as usize] = flat(0x08, 0xCF9B);
                cpu.eip = eip;
                cpu.regs[reg::AX as usize] = eax;
                cpu.regs[reg::BX as usize] = ebx;
                cpu.regs[reg::SP as usize] = esp;
                cpu.flags.set(flags::RESERVED1);
                // Protected mode and new segments: recompute what derives from them.
                cpu.state_loaded();
            }
        }
        Ok(())
    }

    /// The first drive of the CMOS boot order that has a disk (BIOS numbering).
    fn first_boot_drive(&self) -> Option<u8> {
        let p = &self.board.platform;
        let order = p.rtc.cmos(cmos::CMOS_BOOT_ORDER);
        let third = p.rtc.cmos(cmos::CMOS_BOOT_ORDER_3) >> 4;
        [order & 0x0F, order >> 4, third]
            .into_iter()
            .find_map(|code| match code {
                cmos::BOOT_FLOPPY if p.fdc.has_disk(0) => Some(0x00),
                cmos::BOOT_HARD_DISK if p.ata[0].has_disk(0) => Some(0x80),
                _ => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    /// A synthetic bzImage: a setup header and `kernel_len` bytes of protected-mode code.
    struct Bz {
        version: u16,
        setup_sects: u8,
        loadflags: u8,
        kernel_len: usize,
        cmdline_size: u32,
        initrd_addr_max: u32,
        pref_address: u64,
        init_size: u32,
    }

    impl Default for Bz {
        fn default() -> Bz {
            Bz {
                version: 0x020F,
                setup_sects: 39,
                loadflags: hdr::LOADED_HIGH,
                kernel_len: 0x4000,
                cmdline_size: 2047,
                initrd_addr_max: 0x7FFF_FFFF,
                pref_address: 0x100_0000,
                init_size: 0x100_C000,
            }
        }
    }

    impl Bz {
        fn image(&self) -> Vec<u8> {
            let sects = if self.setup_sects == 0 {
                4
            } else {
                self.setup_sects as usize
            };
            let setup = (sects + 1) * 512;
            let mut v: Vec<u8> = (0..setup + self.kernel_len)
                .map(|i| (i * 13 % 251) as u8)
                .collect();
            v[hdr::SETUP_SECTS] = self.setup_sects;
            v[hdr::BOOT_FLAG..hdr::BOOT_FLAG + 2].copy_from_slice(&0xAA55u16.to_le_bytes());
            v[hdr::HEADER..hdr::HEADER + 4].copy_from_slice(&hdr::MAGIC.to_le_bytes());
            v[hdr::VERSION..hdr::VERSION + 2].copy_from_slice(&self.version.to_le_bytes());
            v[hdr::LOADFLAGS] = self.loadflags;
            put32(&mut v, hdr::INITRD_ADDR_MAX, self.initrd_addr_max);
            put32(&mut v, hdr::CMDLINE_SIZE, self.cmdline_size);
            v[hdr::PREF_ADDRESS..hdr::PREF_ADDRESS + 8]
                .copy_from_slice(&self.pref_address.to_le_bytes());
            put32(&mut v, hdr::INIT_SIZE, self.init_size);
            v
        }
    }

    fn files(kernel: Vec<u8>, initrds: &[usize], cmdline: &str) -> BootFiles {
        BootFiles {
            kernel: ("k.img".into(), kernel),
            initrds: initrds
                .iter()
                .enumerate()
                .map(|(n, &len)| {
                    let data = (0..len).map(|i| (i as u8).wrapping_add(n as u8)).collect();
                    (format!("r{n}.gz"), data)
                })
                .collect(),
            cmdline: cmdline.into(),
        }
    }

    fn linux(boot: &DirectBoot) -> &LinuxLayout {
        match boot.layout() {
            Layout::Linux(l) => l,
            other => panic!("not a Linux layout: {other:?}"),
        }
    }

    /// The map our BIOS builds for `ram` bytes (1 KiB EBDA).
    fn bios_map(ram: u64) -> Vec<E820Entry> {
        let e = |base, len, kind| E820Entry { base, len, kind };
        let mut m = vec![
            e(0, 639 * 1024, 1),
            e(639 * 1024, 1024, 2),
            e(0xF_0000, 0x1_0000, 2),
            e(MIB, (ram.min(16 * MIB)) - MIB, 1),
        ];
        if ram > 16 * MIB {
            m.push(e(16 * MIB, ram - 16 * MIB, 1));
        }
        m.push(e(0xFFFF_0000, 0x1_0000, 2));
        m
    }

    #[test]
    fn the_kind_comes_from_the_headers() {
        assert_eq!(kernel_kind(&Bz::default().image()), Some(KernelKind::Linux));
        let mb = include_bytes!("../../test-roms/multiboot/mbtest.elf");
        assert_eq!(kernel_kind(mb), Some(KernelKind::Multiboot));
        assert_eq!(kernel_kind(&[0u8; 4096]), None);
        assert_eq!(kernel_kind(&[]), None);
    }

    #[test]
    fn linux_placement_for_several_memory_sizes() {
        let image = Bz::default().image();
        let setup_len = 40 * 512;
        for (ram, size) in [
            (64 * MIB, 1_000_000),
            (128 * MIB, 1_063_922),
            (256 * MIB, 5),
            (3 << 30, 40 * MIB as usize),
        ] {
            let boot =
                DirectBoot::new(files(image.clone(), &[size], "console=ttyS0"), ram).unwrap();
            let l = linux(&boot);
            assert_eq!(l.version, 0x020F);
            assert_eq!(
                l.setup,
                Region {
                    addr: 0x1_0000,
                    len: setup_len
                }
            );
            assert_eq!(
                l.kernel,
                Region {
                    addr: 0x10_0000,
                    len: 0x4000
                }
            );
            // the decompression area: pref_address + init_size
            assert_eq!(l.kernel_end, 0x100_0000 + 0x100_C000);
            let r = l.initrd.unwrap();
            let padded = (size as u64).next_multiple_of(4);
            assert_eq!(r.len as u64, padded);
            assert_eq!(r.addr % 4096, 0, "page aligned");
            assert!(r.addr as u64 >= l.kernel_end);
            // below the top of RAM and initrd_addr_max, as high as that allows
            let limit = ram.min(0x8000_0000);
            assert!(r.addr as u64 + padded <= limit, "{ram:#x}");
            assert!(limit - (r.addr as u64 + padded) < 4096, "{ram:#x}");
            assert_eq!(
                l.cmdline,
                Region {
                    addr: 0x1_E000,
                    len: 14
                }
            );
        }
    }

    #[test]
    fn linux_initrd_stays_below_initrd_addr_max() {
        let bz = Bz {
            version: 0x0203,
            initrd_addr_max: 0x37FF_FFFF,
            ..Bz::default()
        };
        let boot = DirectBoot::new(files(bz.image(), &[10_000], ""), 2 << 30).unwrap();
        let r = linux(&boot).initrd.unwrap();
        assert_eq!(r.addr, (0x3800_0000 - 10_000) & !0xFFF);
        // Before 2.03 the field is not there: 0x37FFFFFF is the rule.
        let bz = Bz {
            version: 0x0202,
            initrd_addr_max: 0x7FFF_FFFF,
            ..Bz::default()
        };
        let boot = DirectBoot::new(files(bz.image(), &[10_000], ""), 2 << 30).unwrap();
        assert_eq!(
            linux(&boot).initrd.unwrap().addr,
            (0x3800_0000 - 10_000) & !0xFFF
        );
        // Before 2.10 only the loaded image counts for the kernel's end.
        assert_eq!(linux(&boot).kernel_end, 0x10_0000 + 0x4000);
    }

    #[test]
    fn linux_load_writes_the_images_and_the_header() {
        let bz = Bz {
            setup_sects: 0,
            ..Bz::default()
        };
        let image = bz.image();
        let boot =
            DirectBoot::new(files(image.clone(), &[10, 7], "root=/dev/ram0"), 64 * MIB).unwrap();
        let mut ram = vec![0xEEu8; 64 * MIB as usize];
        let entry = boot.load(&mut ram, &[], None).unwrap();
        assert_eq!(
            entry,
            Entry::Real {
                cs: 0x1020,
                ds: 0x1000,
                sp: 0xE000
            }
        );
        let l = linux(&boot).clone();
        assert_eq!(l.setup.len, 5 * 512, "setup_sects 0 means 4");
        let base = 0x1_0000;
        let setup = &ram[base..base + 5 * 512];
        // Everything but the fields a loader writes is the file's.
        for (i, (&got, &want)) in setup.iter().zip(&image).enumerate() {
            let written = [
                hdr::TYPE_OF_LOADER..hdr::TYPE_OF_LOADER + 2,
                hdr::VID_MODE..hdr::VID_MODE + 2,
                hdr::RAMDISK_IMAGE..hdr::RAMDISK_SIZE + 4,
                hdr::HEAP_END_PTR..hdr::HEAP_END_PTR + 2,
                hdr::CMD_LINE_PTR..hdr::CMD_LINE_PTR + 4,
            ];
            if !written.iter().any(|r| r.contains(&i)) {
                assert_eq!(got, want, "setup byte {i:#x}");
            }
        }
        assert_eq!(setup[hdr::TYPE_OF_LOADER], 0xFF);
        assert_eq!(setup[hdr::LOADFLAGS], hdr::LOADED_HIGH | hdr::CAN_USE_HEAP);
        assert_eq!(le16(setup, hdr::HEAP_END_PTR), Some(0xDE00));
        assert_eq!(le16(setup, hdr::VID_MODE), Some(0xFFFF));
        assert_eq!(le32(setup, hdr::CMD_LINE_PTR), Some(0x1_E000));
        assert_eq!(&ram[0x1_E000..0x1_E00F], b"root=/dev/ram0\0");
        assert_eq!(&ram[0x10_0000..0x10_4000], &image[5 * 512..]);
        let r = l.initrd.unwrap();
        assert_eq!(le32(setup, hdr::RAMDISK_IMAGE), Some(r.addr));
        assert_eq!(le32(setup, hdr::RAMDISK_SIZE), Some(12 + 8));
        // Two initrds, each padded to 4 bytes.
        let at = r.addr as usize;
        let first: Vec<u8> = (0..10).collect();
        let second: Vec<u8> = (1..8).collect();
        assert_eq!(&ram[at..at + 10], &first[..]);
        assert_eq!(&ram[at + 12..at + 19], &second[..]);
    }

    fn err(f: BootFiles, ram: u64) -> BootError {
        match DirectBoot::new(f, ram) {
            Ok(_) => panic!("accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn linux_errors_name_the_file_and_the_problem() {
        let old = Bz {
            version: 0x0201,
            ..Bz::default()
        };
        let e = err(files(old.image(), &[], ""), 64 * MIB);
        assert!(matches!(
            e,
            BootError::ProtocolTooOld {
                version: 0x0201,
                ..
            }
        ));
        assert!(e.to_string().contains("k.img") && e.to_string().contains("2.02"));

        let zimage = Bz {
            loadflags: 0,
            ..Bz::default()
        };
        let e = err(files(zimage.image(), &[], ""), 64 * MIB);
        assert!(matches!(e, BootError::NotBzImage { .. }), "{e}");

        let mut cut = Bz::default().image();
        cut.truncate(0x1000);
        assert!(matches!(
            err(files(cut, &[], ""), 64 * MIB),
            BootError::Truncated { .. }
        ));
        let mut cut = Bz::default().image();
        cut.truncate(0x208);
        assert!(matches!(
            err(files(cut, &[], ""), 64 * MIB),
            BootError::Truncated { .. }
        ));

        let big = Bz {
            setup_sects: 64,
            ..Bz::default()
        };
        let e = err(files(big.image(), &[], ""), 64 * MIB);
        assert!(
            matches!(e, BootError::SetupTooBig { size: 33280, .. }),
            "{e}"
        );

        let e = err(files(Bz::default().image(), &[], ""), 16 * MIB);
        assert!(matches!(e, BootError::KernelTooBig { .. }), "{e}");
        assert!(e.to_string().contains("--memory"), "{e}");

        let e = err(
            files(Bz::default().image(), &[40 * MIB as usize], ""),
            64 * MIB,
        );
        assert!(matches!(e, BootError::InitrdDoesNotFit { .. }), "{e}");
        assert!(e.to_string().contains("r0.gz"), "{e}");

        let short = Bz {
            cmdline_size: 10,
            ..Bz::default()
        };
        let e = err(files(short.image(), &[], "console=ttyS0"), 64 * MIB);
        assert!(
            matches!(e, BootError::CmdlineTooLong { len: 13, max: 10 }),
            "{e}"
        );
        // Before 2.06: 255 bytes.
        let v205 = Bz {
            version: 0x0205,
            ..Bz::default()
        };
        let long = "x".repeat(256);
        let e = err(files(v205.image(), &[], &long), 64 * MIB);
        assert!(
            matches!(e, BootError::CmdlineTooLong { max: 255, .. }),
            "{e}"
        );
        assert!(DirectBoot::new(files(v205.image(), &[], &long[..255]), 64 * MIB).is_ok());

        let e = err(files(vec![0x90; 10_000], &[], ""), 64 * MIB);
        assert!(matches!(e, BootError::UnknownFormat { .. }), "{e}");
    }

    /// A flat multiboot image with the a.out kludge: header at 0x20.
    fn aout(flags: u32, addrs: [u32; 5], len: usize) -> Vec<u8> {
        let mut v = vec![0x90u8; len];
        let h = 0x20;
        put32(&mut v, h, MULTIBOOT_MAGIC);
        put32(&mut v, h + 4, flags);
        put32(
            &mut v,
            h + 8,
            0u32.wrapping_sub(MULTIBOOT_MAGIC.wrapping_add(flags)),
        );
        for (k, a) in addrs.iter().enumerate() {
            put32(&mut v, h + 12 + 4 * k, *a);
        }
        v
    }

    fn multiboot(boot: &DirectBoot) -> &MultibootLayout {
        match boot.layout() {
            Layout::Multiboot(m) => m,
            other => panic!("not multiboot: {other:?}"),
        }
    }

    #[test]
    fn multiboot_elf_loads_segments_and_builds_the_information() {
        let image = include_bytes!("../../test-roms/multiboot/mbtest.elf").to_vec();
        let mut f = files(image.clone(), &[5000, 3], "mbtest cmdline-ok");
        let boot = DirectBoot::new(f.clone(), 32 * MIB).unwrap();
        let m = multiboot(&boot).clone();
        assert_eq!(m.segments.len(), 1);
        let s = m.segments[0];
        assert_eq!(
            (s.addr, s.file_offset, s.file_len),
            (0x10_0000, 0, image.len())
        );
        assert!(s.mem_len as usize > image.len(), "a BSS");
        let mod0 = (0x10_0000 + s.mem_len).next_multiple_of(4096);
        assert_eq!(
            m.modules[0],
            Region {
                addr: mod0,
                len: 5000
            }
        );
        assert_eq!(
            m.modules[1],
            Region {
                addr: (mod0 + 5000).next_multiple_of(4096),
                len: 3
            }
        );
        let mut ram = vec![0xAAu8; 32 * MIB as usize];
        let map = bios_map(32 * MIB);
        let entry = boot.load(&mut ram, &map, Some(0x80)).unwrap();
        let Entry::Flat32 {
            eip, eax, ebx, gdt, ..
        } = entry
        else {
            panic!("{entry:?}");
        };
        assert_eq!(eip, le32(&image, 24).unwrap());
        assert_eq!(eax, 0x2BAD_B002);
        assert_eq!(&ram[0x10_0000..0x10_0000 + image.len()], &image[..]);
        let bss = 0x10_0000 + image.len();
        assert!(ram[bss..0x10_0000 + s.mem_len as usize]
            .iter()
            .all(|&b| b == 0));
        assert_eq!(le64(&ram, gdt as usize + 8), Some(0x00CF_9B00_0000_FFFF));
        assert_eq!(le64(&ram, gdt as usize + 16), Some(0x00CF_9300_0000_FFFF));
        let info = ebx as usize;
        let field = |k: usize| le32(&ram, info + k).unwrap();
        assert_eq!(
            field(0),
            0x24F,
            "mem, boot device, cmdline, mods, mmap, name"
        );
        assert_eq!((field(4), field(8)), (639, 31 * 1024));
        assert_eq!(field(12), 0x80FF_FFFF);
        let cstr = |addr: u32| {
            let at = addr as usize;
            let end = ram[at..].iter().position(|&b| b == 0).unwrap();
            String::from_utf8_lossy(&ram[at..at + end]).into_owned()
        };
        assert_eq!(cstr(field(16)), "mbtest cmdline-ok");
        assert_eq!(cstr(field(64)), "Glassbox");
        assert_eq!(field(20), 2);
        let mods = field(24) as usize;
        assert_eq!(le32(&ram, mods), Some(mod0));
        assert_eq!(le32(&ram, mods + 4), Some(mod0 + 5000));
        assert_eq!(cstr(le32(&ram, mods + 8).unwrap()), "r0.gz");
        assert_eq!(cstr(le32(&ram, mods + 24).unwrap()), "r1.gz");
        assert_eq!(&ram[mod0 as usize..mod0 as usize + 3], &[0, 1, 2]);
        // the memory map, entry by entry
        assert_eq!(field(44), 24 * map.len() as u32);
        let mut at = field(48) as usize;
        for e in &map {
            assert_eq!(le32(&ram, at), Some(20));
            assert_eq!(le64(&ram, at + 4), Some(e.base));
            assert_eq!(le64(&ram, at + 12), Some(e.len));
            assert_eq!(le32(&ram, at + 20), Some(e.kind));
            at += 24;
        }
        // no boot drive: flag 1 clear
        f.initrds.clear();
        let boot = DirectBoot::new(f, 32 * MIB).unwrap();
        boot.load(&mut ram, &map, None).unwrap();
        assert_eq!(le32(&ram, info).unwrap() & 2, 0);
        assert_eq!(le32(&ram, info + 20), Some(0));
    }

    #[test]
    fn multiboot_aout_kludge_and_text_mode_request() {
        let image = include_bytes!("../../test-roms/multiboot/mbtest-aout.bin").to_vec();
        let boot = DirectBoot::new(files(image.clone(), &[], ""), 16 * MIB).unwrap();
        let m = multiboot(&boot);
        assert_eq!(m.flags, 0x0001_0007);
        assert_eq!(m.segments[0].addr, 0x20_0000);
        assert_eq!(m.segments[0].file_len, image.len());
        // a header at 0x20 describing a load from file offset 0
        let f = aout(
            MB_AOUT_KLUDGE | MB_MEMORY_INFO,
            [0x30_0020, 0x30_0000, 0x30_0100, 0x30_2000, 0x30_0040],
            0x400,
        );
        let boot = DirectBoot::new(files(f.clone(), &[], ""), 16 * MIB).unwrap();
        let s = multiboot(&boot).segments[0];
        assert_eq!(
            s,
            LoadSegment {
                addr: 0x30_0000,
                file_offset: 0,
                file_len: 0x100,
                mem_len: 0x2000
            }
        );
        let mut ram = vec![0x55u8; 16 * MIB as usize];
        let entry = boot.load(&mut ram, &bios_map(16 * MIB), None).unwrap();
        assert!(matches!(entry, Entry::Flat32 { eip: 0x30_0040, .. }));
        assert_eq!(&ram[0x30_0000..0x30_0100], &f[..0x100]);
        assert!(ram[0x30_0100..0x30_2000].iter().all(|&b| b == 0), "BSS");
        assert_eq!(ram[0x30_2000], 0x55, "nothing beyond the BSS");
    }

    #[test]
    fn multiboot_errors() {
        let ram = 16 * MIB;
        let ok = [0x30_0020, 0x30_0000, 0, 0, 0x30_0040];
        let mut bad_sum = aout(MB_AOUT_KLUDGE, ok, 0x400);
        bad_sum[0x28] ^= 1;
        let e = err(files(bad_sum, &[], ""), ram);
        assert!(
            matches!(e, BootError::MultibootChecksum { offset: 0x20, .. }),
            "{e}"
        );

        let e = err(
            files(aout(MB_AOUT_KLUDGE | 1 << 3, ok, 0x400), &[], ""),
            ram,
        );
        assert!(matches!(e, BootError::MultibootFlags { .. }), "{e}");
        assert!(e.to_string().contains("0x8"), "{e}");

        let mut gfx = aout(MB_AOUT_KLUDGE | MB_VIDEO_MODE, ok, 0x400);
        put32(&mut gfx, 0x20 + 32, 0); // linear graphics
        put32(&mut gfx, 0x20 + 36, 1024);
        put32(&mut gfx, 0x20 + 40, 768);
        let e = err(files(gfx, &[], ""), ram);
        assert!(matches!(e, BootError::MultibootFlags { .. }), "{e}");
        assert!(e.to_string().contains("1024x768"), "{e}");

        // below 1 MiB, beyond RAM
        let low = aout(MB_AOUT_KLUDGE, [0x8020, 0x8000, 0, 0, 0x8040], 0x400);
        let e = err(files(low, &[], ""), ram);
        assert!(
            matches!(e, BootError::SegmentOutsideRam { start: 0x8000, .. }),
            "{e}"
        );
        let high = [0xFF_0020, 0xFF_0000, 0, 0x100_1000, 0xFF_0040];
        let e = err(files(aout(MB_AOUT_KLUDGE, high, 0x400), &[], ""), ram);
        assert!(matches!(e, BootError::SegmentOutsideRam { .. }), "{e}");

        // inconsistent a.out addresses
        let before = aout(
            MB_AOUT_KLUDGE,
            [0x30_0020, 0x30_0000 - 0x100, 0, 0, 0x30_0040],
            0x400,
        );
        assert!(matches!(
            err(files(before, &[], ""), ram),
            BootError::BadImage { .. }
        ));
        let entry_out = aout(
            MB_AOUT_KLUDGE,
            [0x30_0020, 0x30_0000, 0, 0, 0x40_0000],
            0x400,
        );
        assert!(matches!(
            err(files(entry_out, &[], ""), ram),
            BootError::BadImage { .. }
        ));
        let bss_low = aout(
            MB_AOUT_KLUDGE,
            [0x30_0020, 0x30_0000, 0, 0x30_0010, 0x30_0040],
            0x400,
        );
        assert!(matches!(
            err(files(bss_low, &[], ""), ram),
            BootError::BadImage { .. }
        ));

        // no a.out kludge and not ELF
        let e = err(files(aout(MB_MEMORY_INFO, ok, 0x400), &[], ""), ram);
        assert!(matches!(e, BootError::BadImage { .. }), "{e}");
        assert!(e.to_string().contains("ELF"), "{e}");
        // an ELF for another machine
        let mut elf = include_bytes!("../../test-roms/multiboot/mbtest.elf").to_vec();
        elf[18] = 62;
        let e = err(files(elf, &[], ""), ram);
        assert!(e.to_string().contains("machine 62"), "{e}");

        // modules that do not fit
        let e = err(
            files(aout(MB_AOUT_KLUDGE, ok, 0x400), &[14 * MIB as usize], ""),
            ram,
        );
        assert!(matches!(e, BootError::InitrdDoesNotFit { .. }), "{e}");
    }

    #[test]
    fn the_bios_map_is_read_and_checked() {
        let mut ram = vec![0u8; 0x10_0000];
        let map = bios_map(128 * MIB);
        let at = 0x9_FDFF;
        ram[at] = map.len() as u8;
        for (i, e) in map.iter().enumerate() {
            let p = at + 1 + 20 * i;
            ram[p..p + 8].copy_from_slice(&e.base.to_le_bytes());
            ram[p + 8..p + 16].copy_from_slice(&e.len.to_le_bytes());
            put32(&mut ram, p + 16, e.kind);
        }
        assert_eq!(read_bios_map(&ram, at as u32).unwrap(), map);
        assert_eq!(memory_sizes(map.iter()), (639, 127 * 1024));
        ram[at] = 0;
        assert!(read_bios_map(&ram, at as u32).is_err());
        assert!(read_bios_map(&ram, 0x20_0000).is_err());
        ram[0xF_FFF0] = 3;
        assert!(read_bios_map(&ram, 0xF_FFF0).is_err(), "runs past RAM");
        // a map with a hole: mem_upper stops there
        let e = |base, len| E820Entry { base, len, kind: 1 };
        let holed = [e(0, 0x9_F000), e(MIB, 2 * MIB), e(4 * MIB, MIB)];
        assert_eq!(memory_sizes(holed.iter()), (636, 2048));
    }
}
