//! Interpreter speed on the guest workloads of `benches/workloads/`.
//!
//! Each iteration builds a fresh 386 PC with the workload as its BIOS (not timed), then times
//! `Pc::run` over the first `STEPS` guest instructions from the reset vector: the set-up code
//! (a few hundred instructions) and then the workload's main loop. Throughput is in guest
//! instructions per second, so criterion's `elem/s` reads directly as guest MIPS × 10⁶.
//!
//! Every workload runs twice: with the decode cache and traces (the default), and with
//! `cpu.decode_cache = false`, which fetches and decodes every instruction afresh (the
//! reference path, `glassbox run --decode-cache off`).

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use glassbox::machine::{RunLimits, Stop};
use glassbox_benches::{machine, Workload, WORKLOADS};
use std::time::{Duration, Instant};

/// Guest instructions per iteration.
const STEPS: u64 = 2_000_000;

/// Runs `STEPS` instructions of `w` on a new machine; returns the time spent in `Pc::run`.
fn run_once(w: &Workload, decode_cache: bool) -> Duration {
    let mut pc = machine(w.image);
    pc.cpu.decode_cache = decode_cache;
    let start = Instant::now();
    let stop = pc.run(RunLimits {
        max_instructions: Some(STEPS),
    });
    let elapsed = start.elapsed();
    assert_eq!(stop, Stop::InstructionLimit, "{} stopped early", w.name);
    assert_eq!(pc.stats().instructions, STEPS, "{}", w.name);
    elapsed
}

fn bench_execute(c: &mut Criterion) {
    let mut group = c.benchmark_group("execute");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(STEPS));
    for w in &WORKLOADS {
        for (label, cache) in [("decode_cache_on", true), ("decode_cache_off", false)] {
            group.bench_with_input(BenchmarkId::new(w.name, label), &cache, |b, &cache| {
                b.iter_custom(|iters| (0..iters).map(|_| run_once(w, cache)).sum())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_execute);
criterion_main!(benches);
