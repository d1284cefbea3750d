//! "Warn once per site" bookkeeping, kept per device instance.
//!
//! A guest that pokes an unsupported feature in a loop must not flood the log,
//! so each device remembers which of its oddities it has already reported. The
//! flags live in the device (not in a global) so two machines in one process,
//! or two tests running in parallel, report independently.

/// A set of up to 32 "already reported" flags; each site names its own bit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Once(u32);

impl Once {
    /// Returns `true` the first time `site` is seen, `false` afterwards.
    pub(crate) fn first(&mut self, site: u32) -> bool {
        let bit = 1u32 << (site & 31);
        let new = self.0 & bit == 0;
        self.0 |= bit;
        new
    }
}

#[cfg(test)]
mod tests {
    use super::Once;

    #[test]
    fn reports_each_site_once() {
        let mut once = Once::default();
        assert!(once.first(3));
        assert!(!once.first(3));
        assert!(once.first(4));
    }
}
