//! Batch building: encoding N records back to back into a 4096-aligned buffer
//! and zero-padding to the block boundary, as the writer does for one group
//! commit, through the public `xwal::format` API. No I/O.
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use xwal::format::{
    BLOCK_SIZE, FLAG_GROUP_END, align_up, encode_entry_record, encoded_record_len, entry_body_len,
};
use xwal::internals::io::AlignedBuf;

const SALT: u32 = 0x5eed_5a17;

/// Encodes `n` entries after a header block, like a batch starting a fresh
/// segment; returns the bytes to write (block-aligned).
fn build(buf: &mut AlignedBuf, first_lsn: u64, data: &[u8], n: usize) -> usize {
    let out = buf.as_mut_slice();
    let mut pos = BLOCK_SIZE;
    for i in 0..n {
        let lsn = first_lsn + i as u64;
        let flags = if i + 1 == n { FLAG_GROUP_END } else { 0 };
        pos += encode_entry_record(&mut out[pos..], lsn, first_lsn - 1, flags, SALT, data);
    }
    let end = align_up(pos as u64, BLOCK_SIZE as u64) as usize;
    out[pos..end].fill(0);
    end
}

fn batch(c: &mut Criterion) {
    for (size, counts) in [
        (128usize, &[1usize, 16, 256, 1000, 4096][..]),
        (4096, &[1, 16, 256][..]),
        (64 << 10, &[1, 16, 64][..]),
    ] {
        let mut g = c.benchmark_group(format!("batch_build/{size}B"));
        let data = vec![0x5au8; size];
        for &n in counts {
            let rec = encoded_record_len(entry_body_len(u64::MAX, size));
            let mut buf = AlignedBuf::new(BLOCK_SIZE + n * rec + BLOCK_SIZE);
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::new("entries", n), &n, |b, &n| {
                let mut lsn = 1_000_000u64;
                b.iter(|| {
                    lsn += n as u64;
                    black_box(build(&mut buf, lsn, black_box(&data), n))
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, batch);
criterion_main!(benches);
