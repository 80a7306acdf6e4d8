//! Codec micro-benchmarks: record encode/decode per entry size, and CRC32C.
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use xwal::format::{
    FLAG_GROUP_END, RecordDecode, decode_record, encode_entry_record, encoded_record_len,
    entry_body_len,
};

const SALT: u32 = 0x5eed_5a17;

fn codec(c: &mut Criterion) {
    let mut g = c.benchmark_group("record");
    for size in [64usize, 1024, 64 << 10] {
        let data = vec![0x5au8; size];
        let mut out = vec![0u8; encoded_record_len(entry_body_len(u64::MAX, size))];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("encode", size), &size, |b, _| {
            b.iter(|| {
                encode_entry_record(
                    black_box(&mut out),
                    12345,
                    12344,
                    FLAG_GROUP_END,
                    SALT,
                    black_box(&data),
                )
            })
        });
        let n = encode_entry_record(&mut out, 12345, 12344, FLAG_GROUP_END, SALT, &data);
        g.bench_with_input(BenchmarkId::new("decode", size), &size, |b, _| {
            b.iter(
                || match decode_record(black_box(&out[..n]), SALT, 1 << 20) {
                    RecordDecode::Record(r) => r.data().map(|d| d.len()).unwrap_or(0),
                    _ => 0,
                },
            )
        });
    }
    g.finish();
    let mut g = c.benchmark_group("crc32c");
    for size in [64usize, 4096, 1 << 20] {
        let data = vec![1u8; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, _| {
            b.iter(|| crc32c::crc32c(black_box(&data)))
        });
    }
    g.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
