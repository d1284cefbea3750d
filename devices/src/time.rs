//! Virtual time and the event scheduler.
//!
//! Time in Glassbox is virtual and counted in CPU cycles ([`Cycles`]). It only
//! moves forward, and only because the CPU ran instructions (or, under KVM,
//! because host time was scaled to cycles). Devices never do per-cycle work:
//! each computes its state from "now" when it is looked at, and asks the
//! [`Scheduler`] for a callback at the next moment something visible happens.
//!
//! The scheduler has exactly one slot per [`EventKind`]; scheduling a kind
//! again replaces its deadline. The earliest deadline is cached, so the CPU's
//! question "how long may I run?" (`next_deadline() - now`) is O(1). With a
//! dozen slots a linear scan on every change is cheaper than any heap.

use serde::{Deserialize, Serialize};
use std::ops::{Add, AddAssign, Sub};

/// A point in (or a span of) virtual time, in CPU cycles.
///
/// Arithmetic saturates: `Cycles::MAX` plus anything stays `MAX` ("never"),
/// and a deadline already in the past minus `now` is zero, so a run budget
/// computed as `next_deadline - now` can never wrap around.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize,
)]
pub struct Cycles(pub u64);

impl Cycles {
    /// Time zero: the moment the machine was powered on.
    pub const ZERO: Cycles = Cycles(0);
    /// "Never": the deadline of an empty scheduler.
    pub const MAX: Cycles = Cycles(u64::MAX);
}

impl Add for Cycles {
    type Output = Cycles;
    fn add(self, rhs: Cycles) -> Cycles {
        Cycles(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Cycles {
    fn add_assign(&mut self, rhs: Cycles) {
        *self = *self + rhs;
    }
}

impl Sub for Cycles {
    type Output = Cycles;
    fn sub(self, rhs: Cycles) -> Cycles {
        Cycles(self.0.saturating_sub(rhs.0))
    }
}

/// The owner of a scheduler slot. Each kind has exactly one pending deadline
/// at most; devices that need several timers keep the earliest one here and
/// the rest in their own state.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub enum EventKind {
    /// 8254 timer: the next edge of channel 0's OUT (IRQ0).
    Pit,
    /// 8259 interrupt controllers (reserved; the model needs no timed events).
    Pic,
    /// MC146818 real-time clock: periodic/alarm/update interrupts.
    Rtc,
    /// 8042 keyboard controller: the next byte delivery.
    Kbc,
    /// Floppy disk controller: command completion.
    Fdc,
    /// ATA/IDE controller: command completion.
    Ata,
    /// 16550 UART: transmit/receive pacing.
    Uart,
    /// VGA: vertical and horizontal retrace.
    Vga,
    /// Free slot for the machine or an add-on device.
    Custom0,
    /// Free slot for the machine or an add-on device.
    Custom1,
    /// Free slot for the machine or an add-on device.
    Custom2,
    /// Free slot for the machine or an add-on device.
    Custom3,
}

impl EventKind {
    /// Number of event kinds (and scheduler slots).
    pub const COUNT: usize = 12;

    /// Every kind, in slot order (which is also the tie-break order).
    pub const ALL: [EventKind; EventKind::COUNT] = [
        EventKind::Pit,
        EventKind::Pic,
        EventKind::Rtc,
        EventKind::Kbc,
        EventKind::Fdc,
        EventKind::Ata,
        EventKind::Uart,
        EventKind::Vga,
        EventKind::Custom0,
        EventKind::Custom1,
        EventKind::Custom2,
        EventKind::Custom3,
    ];

    /// The kind's slot number, `0..COUNT`.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the slot is one of the free `Custom*` slots (owned by the
    /// machine or an add-on, not by a device of the platform).
    pub fn is_custom(self) -> bool {
        matches!(
            self,
            EventKind::Custom0 | EventKind::Custom1 | EventKind::Custom2 | EventKind::Custom3
        )
    }
}

/// One deadline slot per [`EventKind`], with the earliest deadline cached.
///
/// Events with equal deadlines pop in [`EventKind::ALL`] order, so a run is
/// the same bit for bit every time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheduler {
    slots: [Option<Cycles>; EventKind::COUNT],
    /// Earliest deadline over all slots, `Cycles::MAX` when none is pending.
    next: Cycles,
}

impl Default for Scheduler {
    fn default() -> Self {
        Self::new()
    }
}

impl Scheduler {
    /// An empty scheduler: nothing pending, `next_deadline()` is `Cycles::MAX`.
    pub fn new() -> Self {
        Scheduler {
            slots: [None; EventKind::COUNT],
            next: Cycles::MAX,
        }
    }

    /// Sets (or replaces) the deadline of `kind`'s slot.
    pub fn schedule(&mut self, kind: EventKind, at: Cycles) {
        // The replaced deadline may have been the cached minimum: rescan.
        self.slots[kind.index()] = Some(at);
        self.recompute();
    }

    /// Empties `kind`'s slot; nothing happens if it was empty.
    pub fn cancel(&mut self, kind: EventKind) {
        if self.slots[kind.index()].take().is_some() {
            self.recompute();
        }
    }

    /// The earliest pending deadline, or `Cycles::MAX` when nothing is pending.
    pub fn next_deadline(&self) -> Cycles {
        self.next
    }

    /// The deadline pending in `kind`'s slot, if any.
    pub fn deadline(&self, kind: EventKind) -> Option<Cycles> {
        self.slots[kind.index()]
    }

    /// Removes and returns the earliest event whose deadline is `<= now`
    /// (ties in slot order), or `None` when nothing is due yet.
    pub fn pop_due(&mut self, now: Cycles) -> Option<EventKind> {
        self.pop_due_matching(now, |_| true)
    }

    /// Like [`Scheduler::pop_due`], but only considers kinds for which `owned`
    /// is true; others stay pending for whoever owns them.
    pub fn pop_due_matching(
        &mut self,
        now: Cycles,
        owned: impl Fn(EventKind) -> bool,
    ) -> Option<EventKind> {
        if self.next > now {
            return None;
        }
        let kind = EventKind::ALL
            .into_iter()
            .filter(|&k| owned(k))
            .filter_map(|k| self.slots[k.index()].map(|at| (at, k)))
            .filter(|&(at, _)| at <= now)
            .min()?
            .1;
        self.slots[kind.index()] = None;
        self.recompute();
        Some(kind)
    }

    fn recompute(&mut self) {
        self.next = self
            .slots
            .iter()
            .flatten()
            .copied()
            .min()
            .unwrap_or(Cycles::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_arithmetic_saturates() {
        assert_eq!(Cycles(5) + Cycles(7), Cycles(12));
        assert_eq!(Cycles::MAX + Cycles(1), Cycles::MAX);
        assert_eq!(Cycles(3) - Cycles(10), Cycles::ZERO);
        let mut c = Cycles(1);
        c += Cycles(2);
        assert_eq!(c, Cycles(3));
    }

    #[test]
    fn event_kind_indices_match_all() {
        for (i, k) in EventKind::ALL.into_iter().enumerate() {
            assert_eq!(k.index(), i);
        }
    }

    #[test]
    fn empty_scheduler_has_no_deadline() {
        let mut s = Scheduler::new();
        assert_eq!(s.next_deadline(), Cycles::MAX);
        assert_eq!(s.pop_due(Cycles::MAX), None);
    }

    #[test]
    fn pops_in_deadline_order() {
        let mut s = Scheduler::new();
        s.schedule(EventKind::Rtc, Cycles(300));
        s.schedule(EventKind::Pit, Cycles(100));
        s.schedule(EventKind::Vga, Cycles(200));
        assert_eq!(s.next_deadline(), Cycles(100));
        assert_eq!(s.pop_due(Cycles(99)), None);
        assert_eq!(s.pop_due(Cycles(1000)), Some(EventKind::Pit));
        assert_eq!(s.next_deadline(), Cycles(200));
        assert_eq!(s.pop_due(Cycles(1000)), Some(EventKind::Vga));
        assert_eq!(s.pop_due(Cycles(1000)), Some(EventKind::Rtc));
        assert_eq!(s.pop_due(Cycles(1000)), None);
        assert_eq!(s.next_deadline(), Cycles::MAX);
    }

    #[test]
    fn equal_deadlines_pop_in_slot_order() {
        let mut s = Scheduler::new();
        s.schedule(EventKind::Custom3, Cycles(50));
        s.schedule(EventKind::Pit, Cycles(50));
        s.schedule(EventKind::Rtc, Cycles(50));
        assert_eq!(s.pop_due(Cycles(50)), Some(EventKind::Pit));
        assert_eq!(s.pop_due(Cycles(50)), Some(EventKind::Rtc));
        assert_eq!(s.pop_due(Cycles(50)), Some(EventKind::Custom3));
    }

    #[test]
    fn pop_due_matching_leaves_other_owners_alone() {
        let mut s = Scheduler::new();
        s.schedule(EventKind::Custom0, Cycles(5));
        s.schedule(EventKind::Pit, Cycles(8));
        s.schedule(EventKind::Rtc, Cycles(50));
        let devices = |k: EventKind| !k.is_custom();
        assert_eq!(
            s.pop_due_matching(Cycles(10), devices),
            Some(EventKind::Pit)
        );
        assert_eq!(s.pop_due_matching(Cycles(10), devices), None);
        assert_eq!(s.next_deadline(), Cycles(5));
        assert_eq!(s.pop_due(Cycles(10)), Some(EventKind::Custom0));
    }

    #[test]
    fn rescheduling_replaces_the_slot() {
        let mut s = Scheduler::new();
        s.schedule(EventKind::Pit, Cycles(10));
        s.schedule(EventKind::Rtc, Cycles(40));
        s.schedule(EventKind::Pit, Cycles(90));
        assert_eq!(s.deadline(EventKind::Pit), Some(Cycles(90)));
        assert_eq!(s.next_deadline(), Cycles(40));
        s.schedule(EventKind::Pit, Cycles(5));
        assert_eq!(s.next_deadline(), Cycles(5));
    }

    #[test]
    fn cancel_updates_the_cached_deadline() {
        let mut s = Scheduler::new();
        s.schedule(EventKind::Pit, Cycles(10));
        s.schedule(EventKind::Rtc, Cycles(20));
        s.cancel(EventKind::Pit);
        assert_eq!(s.deadline(EventKind::Pit), None);
        assert_eq!(s.next_deadline(), Cycles(20));
        s.cancel(EventKind::Pit);
        s.cancel(EventKind::Rtc);
        assert_eq!(s.next_deadline(), Cycles::MAX);
    }
}
