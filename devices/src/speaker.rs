//! The PC speaker: the 8254's channel 2 OUT, ANDed with port 0x61 bit 1, drives it.
//!
//! The speaker does not run in virtual time on its own. The platform tells it about every
//! access that can change the wave (channel 2, the control port, port 0x61) with
//! [`Speaker::note`], which keeps a copy of the timer as it was after the access. The sound
//! front end later asks for samples up to "now" ([`Speaker::render`]); each stretch of time
//! is computed from the timer copy that was current then, so the wave is exact whatever the
//! order of rendering and guest accesses.
//!
//! Samples are the speaker line's level averaged over each sample period (8 points), with a
//! one-pole DC blocker, so a silent speaker is 0.0 and a square wave swings around zero.

use crate::i8254::Pit8254;
use crate::time::Cycles;
use std::collections::VecDeque;

/// Points averaged per output sample.
const OVERSAMPLE: u64 = 8;

/// Timer states kept at most: a speaker nobody renders (no sound device, no recording)
/// must not grow without bound while the guest reprograms the timer.
const MAX_CHANGES: usize = 1 << 14;

/// Output amplitude of a full-on speaker line.
const AMPLITUDE: f32 = 0.3;

/// The speaker and the record of what drove it.
#[derive(Clone, Debug)]
pub struct Speaker {
    /// Timer states, each valid from its time until the next one's.
    changes: VecDeque<(Cycles, Pit8254)>,
    /// Samples were produced up to this cycle.
    rendered_to: Cycles,
    /// Index of the next sample (sample k lies at cycle k * cycles_per_second / rate).
    next_sample: u128,
    /// The rate `next_sample` counts in.
    rate: u32,
    cycles_per_second: u64,
    /// DC blocker state (previous input and output).
    dc_in: f32,
    dc_out: f32,
}

impl Speaker {
    /// A silent speaker on a machine whose CPU runs at `cycles_per_second`.
    pub fn new(cycles_per_second: u64) -> Speaker {
        Speaker {
            changes: VecDeque::new(),
            rendered_to: Cycles::ZERO,
            next_sample: 0,
            rate: 0,
            cycles_per_second: cycles_per_second.max(1),
            dc_in: 0.0,
            dc_out: 0.0,
        }
    }

    /// The timer was accessed at `now` in a way that may change the wave.
    pub fn note(&mut self, pit: &Pit8254, now: Cycles) {
        // A copy made now answers for every time from now until the next access.
        while self.changes.back().is_some_and(|(t, _)| *t >= now) {
            self.changes.pop_back();
        }
        if self.changes.len() >= MAX_CHANGES {
            self.changes.pop_front();
        }
        self.changes.push_back((now, pit.clone()));
    }

    /// Whether the speaker line is high at `t`.
    fn level(&self, t: Cycles) -> bool {
        let idx = self.changes.partition_point(|(at, _)| *at <= t);
        match idx.checked_sub(1).and_then(|i| self.changes.get(i)) {
            Some((_, pit)) => pit.speaker_enabled() && pit.output(2, t),
            None => false,
        }
    }

    /// Appends samples at `sample_rate` Hz for the time up to `until` (from where the last
    /// call stopped). Returns how many were appended.
    pub fn render(&mut self, until: Cycles, sample_rate: u32, out: &mut Vec<f32>) -> usize {
        let rate = u128::from(sample_rate.max(1));
        let cps = u128::from(self.cycles_per_second);
        if self.rate != sample_rate {
            // First call (or a new rate): go on from where the last samples ended.
            self.rate = sample_rate;
            self.next_sample = (u128::from(self.rendered_to.0) * rate).div_ceil(cps);
        }
        // Sample k of the machine's life is at cycle k * cps / rate; those before `until`.
        let first = self.next_sample;
        let end = (u128::from(until.0) * rate).div_ceil(cps).max(first);
        self.next_sample = end;
        let mut n = 0;
        for k in first..end {
            let start = k * cps / rate;
            let step = (cps / rate / u128::from(OVERSAMPLE)).max(1);
            let mut high = 0u32;
            for j in 0..OVERSAMPLE {
                let t = u64::try_from(start + u128::from(j) * step).unwrap_or(u64::MAX);
                high += u32::from(self.level(Cycles(t)));
            }
            let x = AMPLITUDE * high as f32 / OVERSAMPLE as f32;
            // y[n] = x[n] - x[n-1] + R * y[n-1]
            let y = x - self.dc_in + 0.995 * self.dc_out;
            self.dc_in = x;
            self.dc_out = y;
            out.push(y);
            n += 1;
        }
        if until > self.rendered_to {
            self.rendered_to = until;
        }
        // Keep only the state in force at the render point and later.
        while self.changes.len() > 1 && self.changes[1].0 <= self.rendered_to {
            self.changes.pop_front();
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::{Device, IoCx, NoDma, Signals};
    use crate::i8254::{PIT_CHANNEL2, PIT_CONTROL, PORT_B};
    use crate::irq::IrqLines;
    use crate::time::Scheduler;

    const CPS: u64 = 10_000_000;

    fn out(pit: &mut Pit8254, port: u16, v: u8, now: u64) {
        let (mut sched, mut irq, mut sig, mut dma) =
            (Scheduler::new(), IrqLines::new(), Signals::default(), NoDma);
        let mut cx = IoCx {
            now: Cycles(now),
            sched: &mut sched,
            irq: &mut irq,
            signals: &mut sig,
            dma: &mut dma,
        };
        pit.io_write(port, 1, u32::from(v), &mut cx);
    }

    /// Rising zero crossings per second of the rendered wave.
    fn frequency(samples: &[f32], rate: u32) -> f64 {
        let crossings = samples
            .windows(2)
            .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
            .count();
        crossings as f64 * f64::from(rate) / samples.len() as f64
    }

    #[test]
    fn a_known_divisor_gives_its_tone() {
        let mut pit = Pit8254::new(CPS);
        let mut spk = Speaker::new(CPS);
        // Channel 2, lobyte/hibyte, mode 3; divisor 1193 → 1000.15 Hz; gate and speaker on.
        out(&mut pit, PIT_CONTROL, 0xB6, 0);
        out(&mut pit, PIT_CHANNEL2, (1193 & 0xFF) as u8, 0);
        out(&mut pit, PIT_CHANNEL2, (1193 >> 8) as u8, 0);
        out(&mut pit, PORT_B, 0x03, 100);
        spk.note(&pit, Cycles(100));
        let mut s = Vec::new();
        // Rendered in uneven pieces: the result does not depend on the slicing.
        for until in [1_234_567u64, 3_000_000, 5_000_000] {
            spk.render(Cycles(until), 44_100, &mut s);
        }
        assert_eq!(s.len(), 22_050);
        let f = frequency(&s[2_000..], 44_100);
        assert!((f - 1000.15).abs() < 5.0, "{f} Hz");
        // Speaker off: the wave stops and the output settles at zero.
        out(&mut pit, PORT_B, 0x01, 5_000_000);
        spk.note(&pit, Cycles(5_000_000));
        let mut quiet = Vec::new();
        spk.render(Cycles(10_000_000), 44_100, &mut quiet);
        assert!(quiet[quiet.len() - 100..].iter().all(|x| x.abs() < 0.01));
    }

    #[test]
    fn an_unrendered_speaker_stays_small() {
        let pit = Pit8254::new(CPS);
        let mut spk = Speaker::new(CPS);
        for t in 0..(MAX_CHANGES as u64 + 100) {
            spk.note(&pit, Cycles(t));
        }
        assert_eq!(spk.changes.len(), MAX_CHANGES);
    }

    #[test]
    fn silent_until_enabled() {
        let pit = Pit8254::new(CPS);
        let mut spk = Speaker::new(CPS);
        spk.note(&pit, Cycles(0));
        let mut s = Vec::new();
        assert_eq!(spk.render(Cycles(CPS / 10), 8_000, &mut s), 800);
        assert!(s.iter().all(|&x| x == 0.0));
    }
}
