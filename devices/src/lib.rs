//! # glassbox-devices: the chips of the Glassbox PC
//!
//! This crate holds the device models of the emulated PC. It knows nothing of
//! the CPU: the machine (in the root crate) hands it port accesses and the
//! current virtual time, and asks it which interrupt to take next.
//!
//! ## How the pieces fit
//!
//! - [`time`]: virtual time ([`Cycles`], counted in CPU cycles) and the
//!   [`Scheduler`], one deadline slot per [`EventKind`]. Devices never tick per
//!   cycle: they compute their state lazily from "now" and ask the scheduler for
//!   a callback at their next visible edge (for example the next IRQ0 edge of the
//!   timer).
//! - [`irq`]: the sixteen ISA interrupt request lines ([`IrqLines`]). Devices
//!   drive levels; rising edges are remembered until the interrupt controller
//!   has seen them, so no edge is lost even when two edges fall between two
//!   looks.
//! - [`bus`]: the port map (a 64K table from port to a closed [`DevId`] enum),
//!   the [`Device`] trait and the [`IoCx`] context every access carries.
//! - The chips: [`i8259`] (interrupt controllers), [`i8254`] (timer),
//!   [`sysctl`] (port 0x92), [`debugport`] (the guest-visible debug devices).
//! - [`platform`]: the set of devices of one PC, with static dispatch from a
//!   port to the concrete device field and the ISA-style splitting of word and
//!   dword accesses into byte accesses.
//!
//! ## Rules every device follows
//!
//! - No guest action can make a device panic; odd guest behaviour is logged
//!   (once per site) and ignored or handled as the chip would.
//! - Unclaimed ports read as all ones and are logged once per port.
//! - Every register and bit has a named, documented constant beside the chip.
//! - Each chip module opens with what it does, its ports and IRQ, what is and is
//!   not emulated, and the datasheet it follows.
#![deny(missing_docs)]

pub mod ata;
pub mod bus;
pub mod debugport;
pub mod disk;
pub mod fdc;
pub mod i8042;
pub mod i8237;
pub mod i8254;
pub mod i8259;
pub mod irq;
pub mod mc146818;
pub mod platform;
pub mod speaker;
pub mod sysctl;
pub mod time;
pub mod uart16550;
pub mod vga;

mod once;

pub use bus::{
    DevId, Device, DmaChannelIo, DmaTransfer, GuestMemory, IoCx, NoDma, NoMemory, PortMap,
    PortOverlap, ResetKind, Signals,
};
pub use debugport::{BochsShutdown, DebugCon, DebugSink, ExitPort, PostCode};
pub use i8254::Pit8254;
pub use i8259::Pic8259;
pub use irq::IrqLines;
pub use platform::{Platform, PlatformConfig};
pub use sysctl::SysCtlA;
pub use time::{Cycles, EventKind, Scheduler};
