//! Firmware images built into Glassbox (placeholder).
/// Placeholder until the demo ROM is assembled.
pub const DEMO_ROM: &[u8] = &[];
