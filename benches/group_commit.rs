//! The group-commit path end to end: `Wal::append_batch` of 1, 16 and 256
//! entries of 128 bytes per call, each call durable (`SyncPolicy::Always`:
//! write + linked fdatasync) on a temp directory under `target/` (a real
//! disk, not tmpfs). Durable I/O is slow, so sample counts are small.
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;
use xwal::{Config, SyncPolicy, Wal};

fn temp_dir() -> tempfile::TempDir {
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let base = if target.is_dir() {
        target
    } else {
        std::path::PathBuf::from(".")
    };
    tempfile::Builder::new()
        .prefix("xwal-criterion-")
        .tempdir_in(base)
        .expect("temp dir")
}

fn group_commit(c: &mut Criterion) {
    let dir = temp_dir();
    let cfg = Config::new(dir.path().join("wal"))
        .sync(SyncPolicy::Always)
        .segment_size(64 << 20)
        .max_entry_size(1 << 20);
    let (wal, _) = Wal::open(cfg).expect("open");
    let entry = vec![0x5au8; 128];
    let mut g = c.benchmark_group("append_batch/always/128B");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for n in [1usize, 16, 256] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("entries_per_call", n), &n, |b, &n| {
            b.iter(|| {
                wal.append_batch((0..n).map(|_| entry.clone()))
                    .expect("append_batch")
            })
        });
    }
    g.finish();
    wal.close().expect("close");
}

/// The cost of a checkpoint on a nearly empty log (issue 15): one small
/// durable append, then `create_checkpoint`, with the default config (128 MiB
/// segments). The sealed segment's space is given back in the background.
fn checkpoint(c: &mut Criterion) {
    let dir = temp_dir();
    let (wal, _) = Wal::open(Config::new(dir.path().join("wal"))).expect("open");
    let mut g = c.benchmark_group("checkpoint/default_config");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    g.bench_function("append_then_checkpoint", |b| {
        b.iter(|| {
            wal.append(b"domain marker").expect("append");
            wal.create_checkpoint().expect("checkpoint")
        })
    });
    g.finish();
    wal.close().expect("close");
}

criterion_group!(benches, group_commit, checkpoint);
criterion_main!(benches);
