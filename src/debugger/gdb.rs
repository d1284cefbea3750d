//! GDB remote stub.

use super::{Debugger, StopReason};
use crate::machine::Pc;

/// Serves one GDB client on `addr` (`[HOST:]PORT`, host 127.0.0.1 by default). With `wait`,
/// the machine stays stopped before its first instruction until gdb connects; otherwise it
/// runs and gdb may attach at any time. Returns the reason the machine stopped for good.
pub fn serve(
    pc: &mut Pc,
    dbg: &mut Debugger,
    addr: &str,
    wait: bool,
) -> anyhow::Result<StopReason> {
    let _ = (pc, dbg, addr, wait);
    anyhow::bail!("--gdb is not available yet")
}
