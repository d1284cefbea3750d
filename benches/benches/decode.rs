//! Decoder throughput: `glassbox::cpu::decode::decode` over a fixed, pseudo-randomly ordered
//! stream of typical real-mode instructions (see `REAL_MODE_16` and `REAL_MODE_32` in the
//! crate's `lib.rs`), one instruction after the other as the interpreter meets them.
//! Throughput is in instructions decoded per second.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use glassbox::cpu::decode::decode;
use glassbox::cpu::CpuModel;
use glassbox_benches::{instruction_stream, Stream, REAL_MODE_16, REAL_MODE_32};
use std::time::Duration;

/// Instructions per benchmark iteration.
const COUNT: usize = 8192;

/// Decodes the whole stream; returns a value that depends on every decoded instruction.
fn decode_stream(stream: &Stream, model: CpuModel) -> u64 {
    let bytes = black_box(stream.bytes.as_slice());
    let mut pos = 0;
    let mut acc = 0u64;
    while pos < bytes.len() {
        let insn = match decode(&bytes[pos..], model, false) {
            Ok(insn) => insn,
            Err(e) => panic!("decode error {e:?} at byte {pos}"),
        };
        acc = acc.wrapping_add(insn.op as u64 ^ insn.imm as u64 ^ insn.disp as u64);
        pos += insn.len as usize;
    }
    acc
}

/// The lengths the decoder finds, walking the stream from its start.
fn decoded_lengths(stream: &Stream, model: CpuModel) -> Vec<u8> {
    let mut lens = Vec::new();
    let mut pos = 0;
    while pos < stream.bytes.len() {
        let len = decode(&stream.bytes[pos..], model, false)
            .expect("decodes")
            .len;
        lens.push(len);
        pos += len as usize;
    }
    lens
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    let cases = [
        // 16- and 32-bit real-mode code on a 386 (prefixes 66/67, SIB, 0F extensions).
        (
            "real_mode_mixed_386",
            instruction_stream(&[REAL_MODE_16, REAL_MODE_32], COUNT),
            CpuModel::I386,
        ),
        // 8086 code on an 8086.
        (
            "real_mode_16_8086",
            instruction_stream(&[REAL_MODE_16], COUNT),
            CpuModel::I8086,
        ),
    ];
    for (name, stream, model) in &cases {
        // The stream must decode exactly as laid out, or the element count would be wrong.
        assert_eq!(decoded_lengths(stream, *model), stream.lens, "{name}");
        group.throughput(Throughput::Elements(stream.count() as u64));
        group.bench_function(*name, |b| b.iter(|| decode_stream(stream, *model)));
    }
    group.finish();
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
