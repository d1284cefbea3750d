//! Disk images: raw sector files, read-only images and throw-away overlays.
//!
//! A [`DiskImage`] is a raw image: the bytes of the medium, sector after
//! sector, with no header (what `dd` reads off a disk, or `qemu-img create -f
//! raw` makes). Its length must be a non-zero multiple of 512 bytes.
//!
//! Three ways to open one ([`DiskMode`]):
//!
//! - **ReadWrite**: guest writes reach the file. They are buffered in memory by
//!   512-byte sector and written out by [`DiskImage::flush`], when the buffer
//!   grows past [`WRITE_BUFFER_SECTORS`], and when the image is dropped.
//! - **ReadOnly**: guest writes fail with [`std::io::ErrorKind::PermissionDenied`];
//!   controllers report them as write-protected media.
//! - **Snapshot**: the file is opened read-only and guest writes go to an
//!   in-memory overlay of changed 512-byte sectors, which reads see and which is
//!   thrown away with the image: the file never changes.
//!
//! Images built in memory ([`DiskImage::from_bytes`]) are writable and keep
//! their changes in memory.
//!
//! Geometry helpers: [`FloppyGeometry`] maps the standard PC diskette image
//! sizes (160K to 2.88M) to cylinders, heads and sectors and to the CMOS drive
//! type (register 0x10); [`HardDiskGeometry`] gives the classic BIOS-visible
//! CHS translation of a hard disk (16 heads, 63 sectors per track).

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Bytes per sector of every image (floppy and hard disk).
pub const SECTOR_SIZE: usize = 512;

/// Dirty sectors a read-write image keeps in memory before writing them out
/// on its own (2 MiB).
pub const WRITE_BUFFER_SECTORS: usize = 4096;

/// How an image file is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DiskMode {
    /// Guest writes reach the file (buffered; see [`DiskImage::flush`]).
    ReadWrite,
    /// Guest writes fail as write-protected.
    ReadOnly,
    /// The file is opened read-only; guest writes go to a throw-away overlay.
    Snapshot,
}

/// What went wrong with a disk image. Every variant names the image.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    /// The file could not be opened.
    #[error("{name}: cannot open disk image: {source}")]
    Open {
        /// The image's path as given.
        name: String,
        /// The system's reason.
        source: io::Error,
    },
    /// The image's size is not a whole number of sectors.
    #[error("{name}: disk image size {size} bytes is not a multiple of 512")]
    NotSectorMultiple {
        /// The image's name.
        name: String,
        /// Its size in bytes.
        size: u64,
    },
    /// The image has no bytes at all.
    #[error("{name}: disk image is empty")]
    Empty {
        /// The image's name.
        name: String,
    },
    /// Reading or writing the file failed.
    #[error("{name}: disk image I/O error: {source}")]
    Io {
        /// The image's name.
        name: String,
        /// The system's reason.
        source: io::Error,
    },
    /// The image's size is none of the diskette sizes a floppy drive takes.
    #[error(
        "{name}: {size} bytes is not a floppy image size; accepted: 160K (163840), \
         180K (184320), 320K (327680), 360K (368640), 720K (737280), 1.2M (1228800), \
         1.44M (1474560), 2.88M (2949120)"
    )]
    FloppySize {
        /// The image's name.
        name: String,
        /// Its size in bytes.
        size: u64,
    },
    /// A drive number the controller does not have.
    #[error("{name}: no drive {drive} (the controller has drives 0 to {max})")]
    NoSuchDrive {
        /// The image that was to go into the drive.
        name: String,
        /// The drive asked for.
        drive: usize,
        /// The highest drive number there is.
        max: usize,
    },
}

/// Where the sectors live.
enum Backing {
    File(File),
    Memory(Vec<u8>),
}

/// A raw disk image (see the module documentation).
pub struct DiskImage {
    name: String,
    len: u64,
    mode: DiskMode,
    backing: Backing,
    /// Sectors written but not in the backing: the write buffer of a
    /// read-write file, the overlay of a snapshot.
    changed: BTreeMap<u64, Box<[u8; SECTOR_SIZE]>>,
}

impl fmt::Debug for DiskImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiskImage")
            .field("name", &self.name)
            .field("len", &self.len)
            .field("mode", &self.mode)
            .field(
                "backing",
                &match self.backing {
                    Backing::File(_) => "file",
                    Backing::Memory(_) => "memory",
                },
            )
            .field("changed_sectors", &self.changed.len())
            .finish()
    }
}

fn check_size(name: &str, size: u64) -> Result<(), DiskError> {
    if size == 0 {
        return Err(DiskError::Empty {
            name: name.to_owned(),
        });
    }
    if !size.is_multiple_of(SECTOR_SIZE as u64) {
        return Err(DiskError::NotSectorMultiple {
            name: name.to_owned(),
            size,
        });
    }
    Ok(())
}

impl DiskImage {
    /// Opens the raw image at `path` in `mode`.
    pub fn open(path: &Path, mode: DiskMode) -> Result<DiskImage, DiskError> {
        let name = path.display().to_string();
        let file = OpenOptions::new()
            .read(true)
            .write(mode == DiskMode::ReadWrite)
            .open(path)
            .map_err(|source| DiskError::Open {
                name: name.clone(),
                source,
            })?;
        let len = file
            .metadata()
            .map_err(|source| DiskError::Io {
                name: name.clone(),
                source,
            })?
            .len();
        check_size(&name, len)?;
        Ok(DiskImage {
            name,
            len,
            mode,
            backing: Backing::File(file),
            changed: BTreeMap::new(),
        })
    }

    /// An image held in memory, writable, named `name` in messages.
    pub fn from_bytes(data: Vec<u8>, name: &str) -> Result<DiskImage, DiskError> {
        check_size(name, data.len() as u64)?;
        Ok(DiskImage {
            name: name.to_owned(),
            len: data.len() as u64,
            mode: DiskMode::ReadWrite,
            backing: Backing::Memory(data),
            changed: BTreeMap::new(),
        })
    }

    /// The same image, refusing writes from now on (writes already buffered
    /// are written out first).
    pub fn into_read_only(mut self) -> Result<DiskImage, DiskError> {
        self.flush()?;
        self.mode = DiskMode::ReadOnly;
        Ok(self)
    }

    /// The image's name (its path as given, or the name of a memory image).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The mode the image was opened in.
    pub fn mode(&self) -> DiskMode {
        self.mode
    }

    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Always false: empty images are refused when opened.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Size in 512-byte sectors.
    pub fn sectors(&self) -> u64 {
        self.len / SECTOR_SIZE as u64
    }

    /// Whether guest writes are accepted (read-write and snapshot images).
    pub fn is_writable(&self) -> bool {
        self.mode != DiskMode::ReadOnly
    }

    /// Sectors changed and not yet in the backing (the write buffer, or the
    /// snapshot overlay).
    pub fn changed_sectors(&self) -> usize {
        self.changed.len()
    }

    fn check_range(&self, offset: u64, len: usize) -> io::Result<()> {
        match offset.checked_add(len as u64) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{}: access of {len} bytes at offset {offset} is past the end ({} bytes)",
                    self.name, self.len
                ),
            )),
        }
    }

    /// Reads `buf.len()` bytes at `offset` from the backing, ignoring changes.
    fn read_backing(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        match &mut self.backing {
            Backing::File(f) => {
                f.seek(SeekFrom::Start(offset))?;
                f.read_exact(buf)
            }
            Backing::Memory(m) => {
                let start = offset as usize;
                buf.copy_from_slice(&m[start..start + buf.len()]);
                Ok(())
            }
        }
    }

    /// Reads `buf.len()` bytes at byte `offset`, seeing every write made so
    /// far. Fails if the range runs past the end of the image.
    pub fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.check_range(offset, buf.len())?;
        if self.changed.is_empty() {
            return self.read_backing(offset, buf);
        }
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset + done as u64;
            let sector = pos / SECTOR_SIZE as u64;
            let within = (pos % SECTOR_SIZE as u64) as usize;
            let n = (SECTOR_SIZE - within).min(buf.len() - done);
            let part = &mut buf[done..done + n];
            match self.changed.get(&sector) {
                Some(data) => part.copy_from_slice(&data[within..within + n]),
                None => self.read_backing(pos, part)?,
            }
            done += n;
        }
        Ok(())
    }

    /// Writes `data` at byte `offset`. Fails on a read-only image
    /// ([`io::ErrorKind::PermissionDenied`]) and past the end of the image.
    pub fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        if !self.is_writable() {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{}: disk image is write-protected", self.name),
            ));
        }
        self.check_range(offset, data.len())?;
        if let Backing::Memory(m) = &mut self.backing {
            let start = offset as usize;
            m[start..start + data.len()].copy_from_slice(data);
            return Ok(());
        }
        let mut done = 0usize;
        while done < data.len() {
            let pos = offset + done as u64;
            let sector = pos / SECTOR_SIZE as u64;
            let within = (pos % SECTOR_SIZE as u64) as usize;
            let n = (SECTOR_SIZE - within).min(data.len() - done);
            if !self.changed.contains_key(&sector) {
                let mut fresh = Box::new([0u8; SECTOR_SIZE]);
                if n < SECTOR_SIZE {
                    self.read_backing(sector * SECTOR_SIZE as u64, &mut fresh[..])?;
                }
                self.changed.insert(sector, fresh);
            }
            if let Some(buf) = self.changed.get_mut(&sector) {
                buf[within..within + n].copy_from_slice(&data[done..done + n]);
            }
            done += n;
        }
        if self.mode == DiskMode::ReadWrite && self.changed.len() > WRITE_BUFFER_SECTORS {
            self.write_out()?;
        }
        Ok(())
    }

    /// Writes the buffered sectors of a read-write file to it.
    fn write_out(&mut self) -> io::Result<()> {
        if self.mode != DiskMode::ReadWrite {
            return Ok(());
        }
        let Backing::File(f) = &mut self.backing else {
            return Ok(());
        };
        for (&sector, data) in &self.changed {
            f.seek(SeekFrom::Start(sector * SECTOR_SIZE as u64))?;
            f.write_all(&data[..])?;
        }
        f.flush()?;
        self.changed.clear();
        Ok(())
    }

    /// Writes buffered guest writes of a read-write image to its file and
    /// asks the system to store them. Nothing to do for the other modes (a
    /// snapshot's overlay stays in memory).
    pub fn flush(&mut self) -> Result<(), DiskError> {
        let result = self.write_out().and_then(|()| match &self.backing {
            Backing::File(f) if self.mode == DiskMode::ReadWrite => f.sync_data(),
            _ => Ok(()),
        });
        result.map_err(|source| DiskError::Io {
            name: self.name.clone(),
            source,
        })
    }
}

impl Drop for DiskImage {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            log::error!("{e}");
        }
    }
}

/// The layout of a standard PC diskette image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FloppyGeometry {
    /// Cylinders (tracks per side): 40 or 80.
    pub cylinders: u8,
    /// Heads (sides): 1 or 2.
    pub heads: u8,
    /// Sectors per track: 8 to 36.
    pub sectors: u8,
}

impl FloppyGeometry {
    /// Every geometry [`FloppyGeometry::for_size`] knows, smallest first.
    pub const ALL: [FloppyGeometry; 8] = [
        FloppyGeometry::new(40, 1, 8),
        FloppyGeometry::new(40, 1, 9),
        FloppyGeometry::new(40, 2, 8),
        FloppyGeometry::new(40, 2, 9),
        FloppyGeometry::new(80, 2, 9),
        FloppyGeometry::new(80, 2, 15),
        FloppyGeometry::new(80, 2, 18),
        FloppyGeometry::new(80, 2, 36),
    ];

    const fn new(cylinders: u8, heads: u8, sectors: u8) -> Self {
        FloppyGeometry {
            cylinders,
            heads,
            sectors,
        }
    }

    /// The geometry of an image of `bytes` bytes, if it is one of the
    /// standard sizes (160K, 180K, 320K, 360K, 720K, 1.2M, 1.44M, 2.88M).
    pub fn for_size(bytes: u64) -> Option<FloppyGeometry> {
        Self::ALL.into_iter().find(|g| g.bytes() == bytes)
    }

    /// Size of the medium in bytes.
    pub fn bytes(&self) -> u64 {
        u64::from(self.cylinders)
            * u64::from(self.heads)
            * u64::from(self.sectors)
            * SECTOR_SIZE as u64
    }

    /// The CMOS drive type (register 0x10 nibble) of the drive this medium
    /// belongs in: 1 = 360K, 2 = 1.2M, 3 = 720K, 4 = 1.44M, 5 = 2.88M. The
    /// 40-track media (160K to 360K) are all type 1.
    pub fn cmos_type(&self) -> u8 {
        match (self.cylinders, self.sectors) {
            (40, _) => 1,
            (_, 15) => 2,
            (_, 9) => 3,
            (_, 18) => 4,
            _ => 5,
        }
    }

    /// The data rates (kbit/s) the medium is recorded at: 250 for double
    /// density (a 40-track disk also reads at 300 in a 1.2M drive), 500 for
    /// high density, 1000 for extra density.
    pub fn data_rates_kbps(&self) -> &'static [u32] {
        match (self.cylinders, self.sectors) {
            (40, _) => &[250, 300],
            (_, 9) => &[250],
            (_, 15) | (_, 18) => &[500],
            _ => &[1000],
        }
    }

    /// Byte offset of sector `sector` (1-based) of `cylinder`/`head`, if the
    /// address is on the medium.
    pub fn offset(&self, cylinder: u8, head: u8, sector: u8) -> Option<u64> {
        if cylinder >= self.cylinders || head >= self.heads || sector == 0 || sector > self.sectors
        {
            return None;
        }
        let track = u64::from(cylinder) * u64::from(self.heads) + u64::from(head);
        Some((track * u64::from(self.sectors) + u64::from(sector) - 1) * SECTOR_SIZE as u64)
    }
}

/// The classic BIOS-visible geometry of a hard disk image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HardDiskGeometry {
    /// Cylinders: total sectors / (16 × 63), at least 1, at most 16383.
    pub cylinders: u16,
    /// Heads: 16.
    pub heads: u8,
    /// Sectors per track: 63.
    pub sectors: u8,
    /// The number of 512-byte sectors reachable by LBA (the whole image).
    pub total_sectors: u64,
}

impl HardDiskGeometry {
    /// Heads of the classic translation.
    pub const HEADS: u8 = 16;
    /// Sectors per track of the classic translation.
    pub const SECTORS: u8 = 63;
    /// Most cylinders ATA CHS addressing reports (IDENTIFY word 1).
    pub const MAX_CYLINDERS: u16 = 16383;

    /// The geometry of an image of `bytes` bytes. An image smaller than one
    /// cylinder (516096 bytes) still gets one cylinder; sectors beyond its end
    /// are then simply not found.
    pub fn for_size(bytes: u64) -> HardDiskGeometry {
        let total_sectors = bytes / SECTOR_SIZE as u64;
        let per_cylinder = u64::from(Self::HEADS) * u64::from(Self::SECTORS);
        let cylinders = (total_sectors / per_cylinder).clamp(1, u64::from(Self::MAX_CYLINDERS));
        HardDiskGeometry {
            cylinders: cylinders as u16,
            heads: Self::HEADS,
            sectors: Self::SECTORS,
            total_sectors,
        }
    }

    /// Sectors addressable through this CHS geometry.
    pub fn chs_sectors(&self) -> u64 {
        u64::from(self.cylinders) * u64::from(self.heads) * u64::from(self.sectors)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A file in the system's temporary directory, removed when dropped.
    pub(crate) struct TempFile(pub PathBuf);

    impl TempFile {
        pub(crate) fn with(data: &[u8]) -> TempFile {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "glassbox-disk-test-{}-{}.img",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::write(&path, data).unwrap();
            TempFile(path)
        }

        fn contents(&self) -> Vec<u8> {
            std::fs::read(&self.0).unwrap()
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn pattern(sectors: usize) -> Vec<u8> {
        (0..sectors * SECTOR_SIZE).map(|i| (i / 7) as u8).collect()
    }

    #[test]
    fn snapshot_never_changes_the_file() {
        let original = pattern(8);
        let file = TempFile::with(&original);
        {
            let mut img = DiskImage::open(&file.0, DiskMode::Snapshot).unwrap();
            assert!(img.is_writable());
            img.write_at(100, &[0xAA; 1000]).unwrap();
            let mut back = vec![0; 1200];
            img.read_at(0, &mut back).unwrap();
            // The guest sees its writes, partial sectors merged with the file.
            assert_eq!(&back[..100], &original[..100]);
            assert!(back[100..1100].iter().all(|&b| b == 0xAA));
            assert_eq!(&back[1100..], &original[1100..1200]);
            assert_eq!(img.changed_sectors(), 3);
            img.flush().unwrap();
        }
        assert_eq!(file.contents(), original);
    }

    #[test]
    fn read_write_persists_after_flush() {
        let file = TempFile::with(&pattern(4));
        let mut img = DiskImage::open(&file.0, DiskMode::ReadWrite).unwrap();
        img.write_at(512 * 2 + 10, b"glassbox").unwrap();
        // Buffered until flushed.
        assert_eq!(
            &file.contents()[512 * 2 + 10..512 * 2 + 18],
            &pattern(4)[1034..1042]
        );
        img.flush().unwrap();
        assert_eq!(&file.contents()[512 * 2 + 10..512 * 2 + 18], b"glassbox");
        assert_eq!(img.changed_sectors(), 0);
        // Drop writes out what is left.
        img.write_at(0, &[0x55; 512]).unwrap();
        drop(img);
        assert!(file.contents()[..512].iter().all(|&b| b == 0x55));
    }

    #[test]
    fn read_only_refuses_writes() {
        let file = TempFile::with(&pattern(2));
        let mut img = DiskImage::open(&file.0, DiskMode::ReadOnly).unwrap();
        assert!(!img.is_writable());
        let err = img.write_at(0, &[1, 2, 3]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("write-protected"), "{err}");
        let mut buf = [0u8; 16];
        img.read_at(512, &mut buf).unwrap();
        assert_eq!(&buf[..], &pattern(2)[512..528]);
        drop(img);
        assert_eq!(file.contents(), pattern(2));
    }

    #[test]
    fn memory_images_keep_writes_and_can_be_write_protected() {
        let mut img = DiskImage::from_bytes(vec![0; 1024], "mem").unwrap();
        img.write_at(510, &[1, 2, 3, 4]).unwrap();
        let mut buf = [0u8; 6];
        img.read_at(509, &mut buf).unwrap();
        assert_eq!(buf, [0, 1, 2, 3, 4, 0]);
        let mut img = img.into_read_only().unwrap();
        assert!(img.write_at(0, &[9]).is_err());
        assert_eq!(img.name(), "mem");
        assert_eq!(img.sectors(), 2);
    }

    #[test]
    fn accesses_past_the_end_fail() {
        let mut img = DiskImage::from_bytes(vec![0; 1024], "mem").unwrap();
        let mut buf = [0u8; 2];
        assert!(img.read_at(1023, &mut buf).is_err());
        assert!(img.read_at(u64::MAX, &mut buf).is_err());
        assert!(img.write_at(1024, &[0]).is_err());
        img.read_at(1022, &mut buf).unwrap();
    }

    #[test]
    fn bad_sizes_give_clear_errors() {
        let odd = TempFile::with(&[0; 1000]);
        let err = DiskImage::open(&odd.0, DiskMode::ReadOnly).unwrap_err();
        let text = err.to_string();
        assert!(matches!(
            err,
            DiskError::NotSectorMultiple { size: 1000, .. }
        ));
        assert!(text.contains(&odd.0.display().to_string()), "{text}");
        assert!(text.contains("not a multiple of 512"), "{text}");

        let empty = TempFile::with(&[]);
        let err = DiskImage::open(&empty.0, DiskMode::Snapshot).unwrap_err();
        assert!(err.to_string().contains("is empty"), "{err}");

        let missing = std::env::temp_dir().join("glassbox-no-such-image.img");
        let err = DiskImage::open(&missing, DiskMode::ReadOnly).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("cannot open") && text.contains("glassbox-no-such-image"));

        assert!(matches!(
            DiskImage::from_bytes(vec![0; 513], "x"),
            Err(DiskError::NotSectorMultiple { .. })
        ));
        let err = DiskError::FloppySize {
            name: "a.img".into(),
            size: 1024,
        };
        let text = err.to_string();
        assert!(text.starts_with("a.img: 1024 bytes") && text.contains("1.44M (1474560)"));
    }

    #[test]
    fn floppy_geometries_and_cmos_types() {
        let cases = [
            (163_840, (40, 1, 8), 1),
            (184_320, (40, 1, 9), 1),
            (327_680, (40, 2, 8), 1),
            (368_640, (40, 2, 9), 1),
            (737_280, (80, 2, 9), 3),
            (1_228_800, (80, 2, 15), 2),
            (1_474_560, (80, 2, 18), 4),
            (2_949_120, (80, 2, 36), 5),
        ];
        for (size, (c, h, s), cmos) in cases {
            let g = FloppyGeometry::for_size(size).unwrap();
            assert_eq!((g.cylinders, g.heads, g.sectors), (c, h, s), "{size}");
            assert_eq!(g.cmos_type(), cmos, "{size}");
            assert_eq!(g.bytes(), size);
        }
        assert_eq!(FloppyGeometry::for_size(1_474_560 + 512), None);
        assert_eq!(FloppyGeometry::for_size(0), None);
    }

    #[test]
    fn floppy_offsets_follow_cylinder_head_sector_order() {
        let g = FloppyGeometry::for_size(1_474_560).unwrap();
        assert_eq!(g.offset(0, 0, 1), Some(0));
        assert_eq!(g.offset(0, 1, 1), Some(18 * 512));
        assert_eq!(g.offset(1, 0, 3), Some((36 + 2) * 512));
        assert_eq!(g.offset(79, 1, 18), Some(1_474_560 - 512));
        assert_eq!(g.offset(80, 0, 1), None);
        assert_eq!(g.offset(0, 2, 1), None);
        assert_eq!(g.offset(0, 0, 0), None);
        assert_eq!(g.offset(0, 0, 19), None);
    }

    #[test]
    fn hard_disk_geometry_is_the_classic_translation() {
        let g = HardDiskGeometry::for_size(10 * 1024 * 1024);
        assert_eq!((g.heads, g.sectors), (16, 63));
        assert_eq!(g.total_sectors, 20480);
        assert_eq!(g.cylinders, 20); // 20480 / 1008
        assert_eq!(g.chs_sectors(), 20160);
        let big = HardDiskGeometry::for_size(64 * 1024 * 1024 * 1024);
        assert_eq!(big.cylinders, 16383);
        assert_eq!(big.total_sectors, 128 * 1024 * 1024);
        assert_eq!(HardDiskGeometry::for_size(512 * 4).cylinders, 1);
    }
}
