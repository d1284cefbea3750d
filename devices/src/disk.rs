//! Disk images: raw files, read-only and throw-away overlays.
