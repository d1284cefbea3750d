//! ATA/IDE controller channel with hard disks.
