//! S3 archive tier: archive throughput next to the raw PUT throughput of the
//! same server in the same run. Sealed segments are written first (no S3), then
//! the WAL is reopened with the archive tier and timed until everything is
//! listed in the manifest (read, record check, CRC32C, MD5, SHA-256, create-only
//! PUT, manifest writes). The baseline PUTs objects of the same sizes with the
//! same client library and no extra checksum. Prints both figures and writes
//! them to target/s3-throughput.txt. Size: XWAL_S3_THROUGHPUT_MB (default 24).
//! `scripts/s3-throughput.sh` runs it in release mode with a larger size.
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use std::time::{Duration, Instant};
use xwal::{Config, IoEngine, SyncPolicy, Wal};

#[test]
fn archive_throughput_next_to_raw_put() {
    let Some(env) = s3_support::env() else { return };
    let total_mb: u64 = std::env::var("XWAL_S3_THROUGHPUT_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let segment_size: u64 = 8 << 20;
    let dir = common::tempdir();
    let cfg = Config::new(dir.path())
        .segment_size(segment_size)
        .max_entry_size(1 << 20)
        .sync(SyncPolicy::Never)
        .io_engine(IoEngine::Uring);
    {
        let (wal, _) = Wal::open(cfg.clone()).unwrap();
        let entry = vec![0x5au8; 64 << 10];
        let entries = (total_mb << 20) / entry.len() as u64;
        let mut tickets = Vec::new();
        for i in 0..entries {
            let mut e = entry.clone();
            e[..8].copy_from_slice(&i.to_le_bytes());
            tickets.push(wal.submit(e).unwrap());
        }
        for t in tickets {
            t.wait().unwrap();
        }
        wal.create_checkpoint().unwrap();
        wal.close().unwrap();
    }

    // Archive: reopen with the tier and time until everything is listed.
    let s3 = env.config("throughput");
    let t = Instant::now();
    let (wal, _) = Wal::open(cfg.s3(s3)).unwrap();
    let st = wal.wait_archived(Duration::from_secs(600)).unwrap();
    let archive_secs = t.elapsed().as_secs_f64();
    wal.close().unwrap();
    let archive_bytes = st.uploaded_bytes;
    let objects = st.uploaded_segments;
    assert!(archive_bytes >= total_mb << 20, "{st:?}");

    // Raw PUTs of the same sizes on the same server.
    let store = env.store();
    let prefix = s3_support::unique_prefix("throughput-raw");
    let per_object = archive_bytes / objects;
    let body = vec![0xa5u8; per_object as usize];
    let t = Instant::now();
    s3_support::block_on(async {
        for i in 0..objects {
            let p = Path::from(format!("{prefix}/raw-{i:04}"));
            store.put(&p, PutPayload::from(body.clone())).await.unwrap();
        }
    });
    let raw_secs = t.elapsed().as_secs_f64();
    let raw_bytes = per_object * objects;

    let mb = |b: u64, s: f64| b as f64 / (1 << 20) as f64 / s;
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let report = format!(
        "S3 throughput ({build} build, {} objects of ~{:.1} MiB, server {}):\n  archive: {:.1} MiB/s ({:.1} MiB in {:.2} s)\n  raw PUT: {:.1} MiB/s ({:.1} MiB in {:.2} s)\n  ratio archive/raw: {:.2}\n",
        objects,
        per_object as f64 / (1 << 20) as f64,
        env.endpoint,
        mb(archive_bytes, archive_secs),
        archive_bytes as f64 / (1 << 20) as f64,
        archive_secs,
        mb(raw_bytes, raw_secs),
        raw_bytes as f64 / (1 << 20) as f64,
        raw_secs,
        mb(archive_bytes, archive_secs) / mb(raw_bytes, raw_secs),
    );
    eprintln!("{report}");
    let _ = std::fs::write(
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/s3-throughput.txt"),
        &report,
    );
}
