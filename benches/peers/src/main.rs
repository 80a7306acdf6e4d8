//! xwal-peers: workloads (a), (b), (c) and (e) of issue 3 on xwal and on the
//! Rust WAL crates that build here, side by side, at the same durability
//! (every append durable before it is acknowledged), on the same directory,
//! in the same run. Prints each system's figures and the ratios xwal/peer.
//!
//! Run with `scripts/bench-peers.sh --seconds N` or
//! `cargo run --release -p xwal-peers -- --help`.
//!
//! How each peer is driven (its own documented API, its defaults except where
//! durability needs a setting):
//! - okaywal 0.3.1: `WriteAheadLog` from `Configuration::default_for(dir)`;
//!   an append is `begin_entry`, `write_chunk`, `commit` (commit fsyncs,
//!   batched across threads). (c): one entry of N chunks per commit. (e):
//!   recovery (`LogManager::recover` reading every chunk) of a log written
//!   with checkpointing pushed past its size, so that it still holds it all.
//! - raft-engine 0.4.2 (default features off): `Engine::open(Config { dir, ..default })`;
//!   an append is `LogBatch::put` + `Engine::write(batch, sync = true)`
//!   (fdatasync, write group leader batches threads). (c): N puts per batch.
//!   (e): `Engine::open` (recovery reads the log) plus a scan of the region,
//!   forward and reverse.
//! - nodedb-wal 0.4.0 (`io-uring`): (a), (b) through `GroupCommitter::submit`
//!   over a `Mutex<WalWriter>` (O_DIRECT, pwrite, fsync; its multi-writer
//!   API); (a) and (c) also through its io_uring `UringWriter` (`append` N
//!   records, `submit_and_sync`). (e): `WalReader::records()`, forward only.
//! - walrus-rust 0.2.0: `Walrus::with_consistency_and_schedule_for_key(..,
//!   StrictlyAtOnce, FsyncSchedule::SyncEach)` (files opened O_SYNC), one
//!   topic; `append_for_topic`; (c): `batch_append_for_topic` (io_uring);
//!   (e): `batch_read_for_topic` until empty, forward only.
//! - xwal: `SyncPolicy::Always`, default config; (c): one producer keeping
//!   `--window` tickets from `Wal::submit` outstanding (the xwal figure the
//!   targets use), and `append_batch` of N entries; (e): `replay` forward and
//!   backward.

#[path = "../../../cli/src/bench/stats.rs"]
mod stats;
// `--cpu-hog`: the same busy threads as `xwal bench --cpu-hog`.
#[path = "../../../cli/src/bench/hog.rs"]
mod hog;

use clap::Parser;
use stats::Histogram;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

type Res<T> = Result<T, String>;

/// Entries written, then each replay: (label, entries, payload bytes, time).
type Replayed = (u64, Vec<(String, u64, u64, Duration)>);

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

#[derive(Parser, Debug)]
#[command(
    name = "xwal-peers",
    about = "xwal against peer WAL crates: workloads a, b, c, e"
)]
struct Args {
    /// Directory to run in (a temp dir under it is used and removed). Default: the current directory.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seconds per timed run.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Writer thread counts for workload b.
    #[arg(long, default_value = "1,4,16,64", value_delimiter = ',')]
    threads: Vec<usize>,
    /// Entry size in bytes.
    #[arg(long, default_value_t = 128)]
    entry_size: usize,
    /// Entries per durable commit in workload c (and in writing the replay logs).
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// xwal's workload c: tickets outstanding.
    #[arg(long, default_value_t = 4096)]
    window: usize,
    /// Entries written and then replayed in workload e (writing stops after 10x --seconds, at least 5 s).
    #[arg(long, default_value_t = 1_000_000)]
    replay_entries: u64,
    /// Systems to run: xwal, okaywal, raft-engine, nodedb-wal, walrus.
    #[arg(
        long,
        default_value = "xwal,okaywal,raft-engine,nodedb-wal,walrus",
        value_delimiter = ','
    )]
    systems: Vec<String>,
    /// Workloads: a, b, c, e.
    #[arg(long, default_value = "a,b,c,e", value_delimiter = ',')]
    workloads: Vec<String>,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Run every system's every workload twice in a row: idle, then beside N
    /// threads spinning in user space at the same nice level (`(while :; do :;
    /// done) &` N times). Without N: one per CPU. Prints both sets' tables,
    /// an idle/loaded comparison and the busy_ peer targets.
    #[arg(long, value_name = "N", num_args = 0..=1)]
    cpu_hog: Option<Option<usize>>,
}

/// An append that returns once durable. `tid` and `seq` make keys unique where a peer needs keys.
trait Appender: Send + Sync {
    fn append(&self, tid: usize, seq: u64, data: &[u8]) -> Res<()>;
}

#[derive(Clone, Debug)]
struct Row {
    system: String,
    workload: String,
    threads: usize,
    entries: u64,
    seconds: f64,
    entries_per_s: f64,
    mb_per_s: f64,
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
    max_us: f64,
    note: String,
}

impl Row {
    #[allow(clippy::too_many_arguments)]
    fn new(
        system: &str,
        workload: &str,
        threads: usize,
        entries: u64,
        bytes: u64,
        elapsed: Duration,
        h: Option<&Histogram>,
        note: &str,
    ) -> Row {
        let s = elapsed.as_secs_f64().max(1e-9);
        let q = |p| h.map(|h| h.quantile_us(p)).unwrap_or(0.0);
        Row {
            system: system.into(),
            workload: workload.into(),
            threads,
            entries,
            seconds: s,
            entries_per_s: entries as f64 / s,
            mb_per_s: bytes as f64 / s / 1e6,
            p50_us: q(0.5),
            p99_us: q(0.99),
            p999_us: q(0.999),
            max_us: q(1.0),
            note: note.into(),
        }
    }
}

/// `threads` writers each appending and waiting, for `dur`.
fn run_waiting(
    a: Arc<dyn Appender>,
    threads: usize,
    size: usize,
    dur: Duration,
) -> Res<(u64, Duration, Histogram)> {
    let barrier = Arc::new(Barrier::new(threads + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let hs: Vec<_> = (0..threads)
        .map(|tid| {
            let (a, b, stop) = (a.clone(), barrier.clone(), stop.clone());
            std::thread::spawn(move || -> Res<(u64, Histogram)> {
                let data = vec![0x5au8; size];
                let mut h = Histogram::new();
                let mut n = 0u64;
                b.wait();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    a.append(tid, n, &data)?;
                    h.record(t.elapsed().as_nanos() as u64);
                    n += 1;
                }
                Ok((n, h))
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    std::thread::sleep(dur);
    stop.store(true, Ordering::Relaxed);
    let (mut n, mut h, mut e) = (0, Histogram::new(), None);
    for j in hs {
        match j.join() {
            Ok(Ok((c, hh))) => {
                n += c;
                h.merge(&hh);
            }
            Ok(Err(x)) => e = Some(x),
            Err(_) => e = Some("writer panicked".into()),
        }
    }
    let el = start.elapsed();
    e.map_or(Ok((n, el, h)), Err)
}

/// Calls `commit` (which makes `batch` entries durable) repeatedly for `dur`.
fn run_batches(
    dur: Duration,
    batch: usize,
    mut commit: impl FnMut(u64) -> Res<()>,
) -> Res<(u64, Duration, Histogram)> {
    let mut h = Histogram::new();
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < dur {
        let t = Instant::now();
        commit(calls)?;
        h.record(t.elapsed().as_nanos() as u64);
        calls += 1;
    }
    Ok((calls * batch as u64, start.elapsed(), h))
}

// ---------------------------------------------------------------- xwal

struct XwalA(xwal::Wal);
impl Appender for XwalA {
    fn append(&self, _: usize, _: u64, d: &[u8]) -> Res<()> {
        self.0.append(d).map(|_| ()).map_err(err)
    }
}

fn xwal_open(dir: &Path) -> Res<xwal::Wal> {
    xwal::Wal::open(xwal::Config::new(dir).sync(xwal::SyncPolicy::Always))
        .map(|(w, _)| w)
        .map_err(err)
}

fn xwal_pipelined(
    dir: &Path,
    window: usize,
    size: usize,
    dur: Duration,
) -> Res<(u64, Duration, Histogram)> {
    let wal = xwal_open(dir)?;
    let template = vec![0x5au8; size];
    let mut q: VecDeque<(xwal::CommitTicket, Instant)> = VecDeque::with_capacity(window);
    let mut h = Histogram::new();
    let mut n = 0u64;
    let start = Instant::now();
    while start.elapsed() < dur {
        if q.len() >= window {
            let (t, s) = q.pop_front().ok_or("empty")?;
            t.wait().map_err(err)?;
            h.record(s.elapsed().as_nanos() as u64);
            n += 1;
        }
        // A borrowed slice: xwal copies it once, into its write buffer.
        q.push_back((wal.submit(&template[..]).map_err(err)?, Instant::now()));
    }
    for (t, s) in q {
        t.wait().map_err(err)?;
        h.record(s.elapsed().as_nanos() as u64);
        n += 1;
    }
    let el = start.elapsed();
    wal.close().map_err(err)?;
    Ok((n, el, h))
}

fn xwal_batches(
    dir: &Path,
    batch: usize,
    size: usize,
    dur: Duration,
) -> Res<(u64, Duration, Histogram)> {
    let wal = xwal_open(dir)?;
    let data = vec![0x5au8; size];
    let r = run_batches(dur, batch, |_| {
        wal.append_batch((0..batch).map(|_| &data[..]))
            .map(|_| ())
            .map_err(err)
    });
    wal.close().map_err(err)?;
    r
}

fn xwal_replay(dir: &Path, n: u64, batch: usize, size: usize, until: Instant) -> Res<Replayed> {
    let written;
    {
        let wal = xwal_open(dir)?;
        let data = vec![0x5au8; size];
        let mut left = n;
        while left > 0 && Instant::now() < until {
            let k = left.min(batch as u64) as usize;
            wal.append_batch((0..k).map(|_| &data[..])).map_err(err)?;
            left -= k as u64;
        }
        wal.close().map_err(err)?;
        written = n - left;
    }
    let mut out = Vec::new();
    for (bwd, channel) in [(false, false), (true, false), (false, true), (true, true)] {
        let (wal, _) = xwal::Wal::open_read_only(xwal::Config::new(dir)).map_err(err)?;
        let opts = if bwd {
            xwal::ReplayOptions::all().backward()
        } else {
            xwal::ReplayOptions::all()
        };
        let start = Instant::now();
        let mut r = wal.replay(opts).map_err(err)?;
        let (mut c, mut b) = (0u64, 0u64);
        if channel {
            for e in r.receiver().iter() {
                c += 1;
                b += e.data.len() as u64;
            }
        } else {
            while let Some(batch) = r.next_batch().map_err(err)? {
                for (_, data) in batch.iter() {
                    c += 1;
                    b += data.len() as u64;
                }
            }
        }
        r.finish().map_err(err)?;
        let label = format!(
            "e {} {}",
            if bwd { "bwd" } else { "fwd" },
            if channel { "channel" } else { "batch" }
        );
        out.push((label, c, b, start.elapsed()));
    }
    Ok((written, out))
}

// ---------------------------------------------------------------- okaywal

#[derive(Debug)]
struct OkayCount {
    entries: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
}

impl okaywal::LogManager for OkayCount {
    fn recover(&mut self, entry: &mut okaywal::Entry<'_>) -> std::io::Result<()> {
        if let Some(chunks) = entry.read_all_chunks()? {
            self.entries
                .fetch_add(chunks.len() as u64, Ordering::Relaxed);
            let b: usize = chunks.iter().map(|c| c.len()).sum();
            self.bytes.fetch_add(b as u64, Ordering::Relaxed);
        }
        Ok(())
    }
    fn checkpoint_to(
        &mut self,
        _last: okaywal::EntryId,
        _entries: &mut okaywal::SegmentReader,
        _wal: &okaywal::WriteAheadLog,
    ) -> std::io::Result<()> {
        Ok(())
    }
}

fn okay_counter() -> OkayCount {
    OkayCount {
        entries: Arc::new(AtomicU64::new(0)),
        bytes: Arc::new(AtomicU64::new(0)),
    }
}

struct OkayA(okaywal::WriteAheadLog);
impl Appender for OkayA {
    fn append(&self, _: usize, _: u64, d: &[u8]) -> Res<()> {
        let mut w = self.0.begin_entry().map_err(err)?;
        w.write_chunk(d).map_err(err)?;
        w.commit().map(|_| ()).map_err(err)
    }
}

fn okay_open(dir: &Path) -> Res<okaywal::WriteAheadLog> {
    okaywal::Configuration::default_for(dir)
        .open(okay_counter())
        .map_err(err)
}

fn okay_batches(
    dir: &Path,
    batch: usize,
    size: usize,
    dur: Duration,
) -> Res<(u64, Duration, Histogram)> {
    let log = okay_open(dir)?;
    let data = vec![0x5au8; size];
    let r = run_batches(dur, batch, |_| {
        let mut w = log.begin_entry().map_err(err)?;
        for _ in 0..batch {
            w.write_chunk(&data).map_err(err)?;
        }
        w.commit().map(|_| ()).map_err(err)
    });
    log.shutdown().map_err(err)?;
    r
}

fn okay_replay(dir: &Path, n: u64, batch: usize, size: usize, until: Instant) -> Res<Replayed> {
    let written;
    // Keep everything in the log: no checkpoint before it holds all of it.
    let volume = n * (size as u64 + 16) + (1 << 20);
    let cfg = || {
        okaywal::Configuration::default_for(dir)
            .preallocate_bytes(volume.min(u32::MAX as u64) as u32)
            .checkpoint_after_bytes(u64::MAX / 2)
    };
    {
        let log = cfg().open(okay_counter()).map_err(err)?;
        let data = vec![0x5au8; size];
        let mut left = n;
        while left > 0 && Instant::now() < until {
            let k = left.min(batch as u64);
            let mut w = log.begin_entry().map_err(err)?;
            for _ in 0..k {
                w.write_chunk(&data).map_err(err)?;
            }
            w.commit().map_err(err)?;
            left -= k;
        }
        log.shutdown().map_err(err)?;
        written = n - left;
    }
    let c = okay_counter();
    let (e, b) = (c.entries.clone(), c.bytes.clone());
    let start = Instant::now();
    let log = cfg().open(c).map_err(err)?;
    let el = start.elapsed();
    log.shutdown().map_err(err)?;
    Ok((
        written,
        vec![(
            "e fwd".into(),
            e.load(Ordering::Relaxed),
            b.load(Ordering::Relaxed),
            el,
        )],
    ))
}

// ---------------------------------------------------------------- raft-engine

struct RaftA(raft_engine::Engine);
fn raft_key(tid: usize, seq: u64) -> Vec<u8> {
    let mut k = (tid as u64).to_be_bytes().to_vec();
    k.extend_from_slice(&seq.to_be_bytes());
    k
}
impl Appender for RaftA {
    fn append(&self, tid: usize, seq: u64, d: &[u8]) -> Res<()> {
        let mut b = raft_engine::LogBatch::default();
        b.put(1, raft_key(tid, seq), d.to_vec()).map_err(err)?;
        self.0.write(&mut b, true).map(|_| ()).map_err(err)
    }
}

fn raft_open(dir: &Path) -> Res<raft_engine::Engine> {
    raft_engine::Engine::open(raft_engine::Config {
        dir: dir.to_string_lossy().into_owned(),
        ..Default::default()
    })
    .map_err(err)
}

fn raft_batches(
    dir: &Path,
    batch: usize,
    size: usize,
    dur: Duration,
) -> Res<(u64, Duration, Histogram)> {
    let e = raft_open(dir)?;
    let data = vec![0x5au8; size];
    run_batches(dur, batch, |call| {
        let mut b = raft_engine::LogBatch::default();
        for i in 0..batch as u64 {
            b.put(1, raft_key(0, call * batch as u64 + i), data.clone())
                .map_err(err)?;
        }
        e.write(&mut b, true).map(|_| ()).map_err(err)
    })
}

fn raft_replay(dir: &Path, n: u64, batch: usize, size: usize, until: Instant) -> Res<Replayed> {
    let written;
    {
        let e = raft_open(dir)?;
        let data = vec![0x5au8; size];
        let mut seq = 0u64;
        while seq < n && Instant::now() < until {
            let mut b = raft_engine::LogBatch::default();
            for _ in 0..(n - seq).min(batch as u64) {
                b.put(1, raft_key(0, seq), data.clone()).map_err(err)?;
                seq += 1;
            }
            e.write(&mut b, true).map_err(err)?;
        }
        written = seq;
    }
    let mut out = Vec::new();
    for rev in [false, true] {
        let start = Instant::now();
        let e = raft_open(dir)?;
        let (mut c, mut b) = (0u64, 0u64);
        e.scan_raw_messages(1, None, None, rev, |_, v| {
            c += 1;
            b += v.len() as u64;
            true
        })
        .map_err(err)?;
        out.push((
            if rev { "e bwd" } else { "e fwd" }.to_string(),
            c,
            b,
            start.elapsed(),
        ));
    }
    Ok((written, out))
}

// ---------------------------------------------------------------- nodedb-wal

struct NodeGc {
    writer: Mutex<nodedb_wal::WalWriter>,
    gc: nodedb_wal::GroupCommitter,
}
impl Appender for NodeGc {
    fn append(&self, _: usize, _: u64, d: &[u8]) -> Res<()> {
        let r = self
            .gc
            .submit(
                &self.writer,
                nodedb_wal::group_commit::PendingWrite {
                    record_type: nodedb_wal::RecordType::Put as u32,
                    tenant_id: 1,
                    vshard_id: 0,
                    database_id: 0,
                    payload: d.to_vec(),
                },
            )
            .map_err(err)?;
        if !r.durable {
            return Err("nodedb-wal: not durable".into());
        }
        Ok(())
    }
}

fn node_gc_open(dir: &Path) -> Res<NodeGc> {
    Ok(NodeGc {
        writer: Mutex::new(
            nodedb_wal::WalWriter::open(
                &dir.join("wal.log"),
                nodedb_wal::writer::WalWriterConfig::default(),
            )
            .map_err(err)?,
        ),
        gc: nodedb_wal::GroupCommitter::new(),
    })
}

fn node_uring_open(dir: &Path) -> Res<nodedb_wal::uring_writer::UringWriter> {
    nodedb_wal::uring_writer::UringWriter::open(
        &dir.join("wal.log"),
        nodedb_wal::uring_writer::UringWriterConfig::default(),
    )
    .map_err(err)
}

fn node_uring_batches(
    dir: &Path,
    batch: usize,
    size: usize,
    dur: Duration,
) -> Res<(u64, Duration, Histogram)> {
    let mut w = node_uring_open(dir)?;
    let data = vec![0x5au8; size];
    run_batches(dur, batch, |_| {
        for _ in 0..batch {
            w.append(nodedb_wal::RecordType::Put as u32, 1, 0, 0, &data)
                .map_err(err)?;
        }
        w.submit_and_sync().map_err(err)
    })
}

fn node_write_log(
    path: &Path,
    direct: bool,
    n: u64,
    batch: usize,
    size: usize,
    until: Instant,
) -> Res<u64> {
    let mut w = nodedb_wal::uring_writer::UringWriter::open(
        path,
        nodedb_wal::uring_writer::UringWriterConfig {
            use_direct_io: direct,
            ..Default::default()
        },
    )
    .map_err(err)?;
    let data = vec![0x5au8; size];
    let mut left = n;
    while left > 0 && Instant::now() < until {
        let k = left.min(batch as u64);
        for _ in 0..k {
            w.append(nodedb_wal::RecordType::Put as u32, 1, 0, 0, &data)
                .map_err(err)?;
        }
        w.submit_and_sync().map_err(err)?;
        left -= k;
    }
    Ok(n - left)
}

fn node_read_log(path: &Path) -> Res<(u64, u64, Duration)> {
    let start = Instant::now();
    let r = nodedb_wal::reader::WalReader::open(path).map_err(err)?;
    let (mut c, mut b) = (0u64, 0u64);
    for rec in r.records() {
        let rec = rec.map_err(err)?;
        c += 1;
        b += rec.payload.len() as u64;
    }
    Ok((c, b, start.elapsed()))
}

/// Replays with `WalReader`. Its O_DIRECT writers (UringWriter and WalWriter)
/// pad every flush to 4 KiB and `WalReader` stops at the first padding, so a
/// log written with O_DIRECT in several commits replays only its first
/// commit. That is checked and reported; the replay speed is then measured on
/// a log written by the same writer without O_DIRECT, which it reads whole.
fn node_replay(dir: &Path, n: u64, batch: usize, size: usize, until: Instant) -> Res<Replayed> {
    let direct = dir.join("direct.log");
    let n = node_write_log(&direct, true, n, batch, size, until)?;
    let (c_direct, _, _) = node_read_log(&direct)?;
    let _ = std::fs::remove_file(&direct);
    let mut label = "e fwd".to_string();
    if c_direct != n {
        eprintln!(
            "note: nodedb-wal: WalReader replayed {c_direct} of {n} entries of a log its O_DIRECT UringWriter wrote (it stops at the 4 KiB padding of the first flush); timing a log written without O_DIRECT instead"
        );
        label = format!("e fwd!{c_direct}");
        let buffered = dir.join("buffered.log");
        let far = Instant::now() + Duration::from_secs(3600);
        let written = node_write_log(&buffered, false, n, batch, size, far)?;
        let (c, b, el) = node_read_log(&buffered)?;
        return Ok((written, vec![(label, c, b, el)]));
    }
    let again = dir.join("again.log");
    let far = Instant::now() + Duration::from_secs(3600);
    let written = node_write_log(&again, true, n, batch, size, far)?;
    let (c, b, el) = node_read_log(&again)?;
    Ok((written, vec![(label, c, b, el)]))
}

// ---------------------------------------------------------------- walrus

const TOPIC: &str = "bench";

struct WalrusA(walrus_rust::Walrus);
impl Appender for WalrusA {
    fn append(&self, _: usize, _: u64, d: &[u8]) -> Res<()> {
        self.0.append_for_topic(TOPIC, d).map_err(err)
    }
}

fn walrus_open(key: &str) -> Res<walrus_rust::Walrus> {
    walrus_rust::Walrus::with_consistency_and_schedule_for_key(
        key,
        walrus_rust::ReadConsistency::StrictlyAtOnce,
        walrus_rust::FsyncSchedule::SyncEach,
    )
    .map_err(err)
}

fn walrus_batches(
    key: &str,
    batch: usize,
    size: usize,
    dur: Duration,
) -> Res<(u64, Duration, Histogram)> {
    let w = walrus_open(key)?;
    let data = vec![0x5au8; size];
    let refs: Vec<&[u8]> = (0..batch).map(|_| data.as_slice()).collect();
    run_batches(dur, batch, |_| {
        w.batch_append_for_topic(TOPIC, &refs).map_err(err)
    })
}

fn walrus_replay(key: &str, n: u64, batch: usize, size: usize, until: Instant) -> Res<Replayed> {
    let written;
    {
        let w = walrus_open(key)?;
        let data = vec![0x5au8; size];
        let mut left = n;
        while left > 0 && Instant::now() < until {
            let k = left.min(batch as u64) as usize;
            let refs: Vec<&[u8]> = (0..k).map(|_| data.as_slice()).collect();
            w.batch_append_for_topic(TOPIC, &refs).map_err(err)?;
            left -= k as u64;
        }
        written = n - left;
    }
    let start = Instant::now();
    let w = walrus_open(key)?;
    let (mut c, mut b) = (0u64, 0u64);
    loop {
        let v = w.batch_read_for_topic(TOPIC, 4 << 20, true).map_err(err)?;
        if v.is_empty() {
            break;
        }
        c += v.len() as u64;
        b += v.iter().map(|e| e.data.len() as u64).sum::<u64>();
    }
    Ok((written, vec![("e fwd".into(), c, b, start.elapsed())]))
}

// ---------------------------------------------------------------- driver

struct Ctx {
    root: PathBuf,
    n: AtomicU64,
    args: Args,
}

impl Ctx {
    fn dir(&self, tag: &str) -> Res<PathBuf> {
        let n = self.n.fetch_add(1, Ordering::Relaxed);
        let p = self.root.join(format!("{n:03}-{tag}"));
        std::fs::create_dir_all(&p).map_err(err)?;
        Ok(p)
    }
    fn walrus_key(&self, tag: &str) -> String {
        format!("{}-{tag}", self.n.fetch_add(1, Ordering::Relaxed))
    }
    fn dur(&self) -> Duration {
        Duration::from_secs_f64(self.args.seconds)
    }
}

fn open_appender(ctx: &Ctx, system: &str, tag: &str) -> Res<(Arc<dyn Appender>, Option<PathBuf>)> {
    Ok(match system {
        "xwal" => {
            let d = ctx.dir(tag)?;
            (Arc::new(XwalA(xwal_open(&d)?)), Some(d))
        }
        "okaywal" => {
            let d = ctx.dir(tag)?;
            (Arc::new(OkayA(okay_open(&d)?)), Some(d))
        }
        "raft-engine" => {
            let d = ctx.dir(tag)?;
            (Arc::new(RaftA(raft_open(&d)?)), Some(d))
        }
        "nodedb-wal" => {
            let d = ctx.dir(tag)?;
            (Arc::new(node_gc_open(&d)?), Some(d))
        }
        "walrus" => (Arc::new(WalrusA(walrus_open(&ctx.walrus_key(tag))?)), None),
        other => return Err(format!("unknown system {other}")),
    })
}

fn waiting_row(ctx: &Ctx, system: &str, label: &str, threads: usize) -> Res<Row> {
    let (a, dir) = open_appender(ctx, system, &format!("{system}-{threads}"))?;
    let (n, el, h) = run_waiting(a.clone(), threads, ctx.args.entry_size, ctx.dur())?;
    drop(a);
    if let Some(d) = dir {
        let _ = std::fs::remove_dir_all(d);
    }
    let wl = if threads == 1 && label == "a" {
        "a"
    } else {
        "b"
    };
    Ok(Row::new(
        system,
        wl,
        threads,
        n,
        n * ctx.args.entry_size as u64,
        el,
        Some(&h),
        "",
    ))
}

fn batch_rows(ctx: &Ctx, system: &str) -> Res<Vec<Row>> {
    let (b, size, dur) = (ctx.args.batch, ctx.args.entry_size, ctx.dur());
    let note = format!("{b} entries per durable commit; latency per commit");
    let mk = |sys: &str, (n, el, h): (u64, Duration, Histogram), note: &str| {
        Row::new(sys, "c", 1, n, n * size as u64, el, Some(&h), note)
    };
    let mut rows = Vec::new();
    match system {
        "xwal" => {
            let d = ctx.dir("xwal-c")?;
            rows.push(mk(
                "xwal",
                xwal_pipelined(&d, ctx.args.window, size, dur)?,
                &format!(
                    "Wal::submit, window {}; latency submit to ack",
                    ctx.args.window
                ),
            ));
            let _ = std::fs::remove_dir_all(&d);
            let d = ctx.dir("xwal-c-batch")?;
            rows.push(mk(
                "xwal append_batch",
                xwal_batches(&d, b, size, dur)?,
                &note,
            ));
            let _ = std::fs::remove_dir_all(&d);
        }
        "okaywal" => {
            let d = ctx.dir("okaywal-c")?;
            rows.push(mk(
                "okaywal",
                okay_batches(&d, b, size, dur)?,
                &format!("{note}; one entry of {b} chunks"),
            ));
            let _ = std::fs::remove_dir_all(&d);
        }
        "raft-engine" => {
            let d = ctx.dir("raft-c")?;
            rows.push(mk("raft-engine", raft_batches(&d, b, size, dur)?, &note));
            let _ = std::fs::remove_dir_all(&d);
        }
        "nodedb-wal" => {
            let d = ctx.dir("nodedb-c")?;
            rows.push(mk(
                "nodedb-wal uring",
                node_uring_batches(&d, b, size, dur)?,
                &note,
            ));
            let _ = std::fs::remove_dir_all(&d);
        }
        "walrus" => {
            let k = ctx.walrus_key("walrus-c");
            rows.push(mk("walrus", walrus_batches(&k, b, size, dur)?, &note));
        }
        _ => {}
    }
    Ok(rows)
}

fn replay_rows(ctx: &Ctx, system: &str) -> Res<Vec<Row>> {
    let (n, b, size) = (ctx.args.replay_entries, ctx.args.batch, ctx.args.entry_size);
    // Writing the log stops early for a slow writer (walrus: about 6k entries/s).
    let until = Instant::now() + Duration::from_secs_f64((ctx.args.seconds * 10.0).max(5.0));
    let (out, dir) = match system {
        "xwal" => {
            let d = ctx.dir("xwal-e")?;
            (xwal_replay(&d, n, b, size, until), Some(d))
        }
        "okaywal" => {
            let d = ctx.dir("okaywal-e")?;
            (okay_replay(&d, n, b, size, until), Some(d))
        }
        "raft-engine" => {
            let d = ctx.dir("raft-e")?;
            (raft_replay(&d, n, b, size, until), Some(d))
        }
        "nodedb-wal" => {
            let d = ctx.dir("nodedb-e")?;
            (node_replay(&d, n, b, size, until), Some(d))
        }
        "walrus" => (
            walrus_replay(&ctx.walrus_key("walrus-e"), n, b, size, until),
            None,
        ),
        _ => (Ok((0, vec![])), None),
    };
    if let Some(d) = dir {
        let _ = std::fs::remove_dir_all(d);
    }
    let notes = |w: &str| match system {
        "okaywal" => "recovery: LogManager::recover reads every chunk",
        "raft-engine" => "Engine::open (recovery) + scan_raw_messages",
        "nodedb-wal" => "WalReader::records (no backward replay)",
        "walrus" => "batch_read_for_topic until empty (no backward replay)",
        _ if w.contains("channel") => "Replay::receiver(): owned Entry over a channel",
        _ => "Replay::next_batch: entries borrowed from the read buffers",
    };
    let (n, out) = out?;
    let mut rows = Vec::new();
    for (w, c, bytes, el) in out {
        if c != n {
            return Err(format!("{system} replayed {c} of {n} entries"));
        }
        // "e fwd!K": the peer's normal log replayed only K entries (see node_replay).
        let (w, note) = match w.split_once('!') {
            Some((w, k)) => (
                w.to_string(),
                format!(
                    "WalReader; a log written with O_DIRECT replays only {k} of {n} entries (stops at the first 4 KiB padding), so timed on a log written without O_DIRECT"
                ),
            ),
            None => (w.clone(), notes(&w).to_string()),
        };
        let note = if n < ctx.args.replay_entries {
            format!("{note}; log of {n} entries (writing stopped at the time cap)")
        } else {
            note
        };
        rows.push(Row::new(system, &w, 1, c, bytes, el, None, &note));
    }
    Ok(rows)
}

fn thousands(v: f64) -> String {
    let s = (v.round() as u64).to_string();
    let mut o = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            o.push(',');
        }
        o.push(ch);
    }
    o
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("xwal-peers: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Res<()> {
    let hog_threads = match args.cpu_hog {
        None => None,
        Some(None) => Some(hog::default_threads()),
        Some(Some(0)) => return Err("--cpu-hog needs at least 1 thread".into()),
        Some(Some(n)) => Some(n),
    };
    let base = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let tmp = tempfile::Builder::new()
        .prefix("xwal-peers-")
        .tempdir_in(&base)
        .map_err(|e| format!("temp dir in {}: {e}", base.display()))?;
    // walrus reads these from the environment; set before any thread starts.
    std::env::set_var("WALRUS_DATA_DIR", tmp.path().join("walrus"));
    std::env::set_var("WALRUS_QUIET", "1");
    let load_before = stats::loadavg();
    let started = Instant::now();
    eprintln!(
        "xwal-peers in {}, {} s per run, {} B entries, load average {load_before}",
        tmp.path().display(),
        args.seconds,
        args.entry_size
    );
    if let Some(n) = hog_threads {
        eprintln!("every run twice: idle, then {} (--cpu-hog)", beside(n));
    }
    let systems = args.systems.clone();
    let wl = |w: &str| args.workloads.iter().any(|x| x == w);
    let (do_a, do_b, do_c, do_e) = (wl("a"), wl("b"), wl("c"), wl("e"));
    let threads = args.threads.clone();
    let ctx = Ctx {
        root: tmp.path().to_path_buf(),
        n: AtomicU64::new(0),
        args,
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut loaded: Vec<Row> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    // Each step runs idle, then (--cpu-hog) again right away beside the busy
    // threads, which run from right before it to right after it.
    let mut step = |what: String, f: &mut dyn FnMut() -> Res<Vec<Row>>| {
        for hog_n in std::iter::once(None).chain(hog_threads.map(Some)) {
            let what = match hog_n {
                Some(n) => format!("{what} ({})", beside(n)),
                None => what.clone(),
            };
            eprintln!("[{:>5.1} s] {what}", started.elapsed().as_secs_f64());
            let hog = hog_n.map(hog::Hog::start);
            stats::reset_peak_rss();
            let out = f();
            if let Some(h) = hog {
                h.stop();
            }
            match out {
                Ok(r) if hog_n.is_some() => loaded.extend(r),
                Ok(r) => rows.extend(r),
                Err(e) => {
                    eprintln!("error: {what}: {e}");
                    errors.push(format!("{what}: {e}"));
                }
            }
        }
    };
    for sys in &systems {
        if do_a {
            step(format!("{sys}: a (1 writer)"), &mut || {
                let mut v = vec![waiting_row(&ctx, sys, "a", 1)?];
                if sys == "nodedb-wal" {
                    // Its io_uring writer, one record per submit_and_sync.
                    let d = ctx.dir("nodedb-a-uring")?;
                    let r = node_uring_batches(&d, 1, ctx.args.entry_size, ctx.dur())?;
                    let _ = std::fs::remove_dir_all(&d);
                    v.push(Row::new(
                        "nodedb-wal uring",
                        "a",
                        1,
                        r.0,
                        r.0 * ctx.args.entry_size as u64,
                        r.1,
                        Some(&r.2),
                        "UringWriter: append + submit_and_sync",
                    ));
                }
                Ok(v)
            });
        }
        if do_b {
            for &t in &threads {
                step(format!("{sys}: b ({t} writers)"), &mut || {
                    Ok(vec![waiting_row(&ctx, sys, "b", t)?])
                });
            }
        }
        if do_c {
            step(format!("{sys}: c (batched)"), &mut || batch_rows(&ctx, sys));
        }
        if do_e {
            step(format!("{sys}: e (replay)"), &mut || replay_rows(&ctx, sys));
        }
    }
    let load_after = stats::loadavg();

    println!(
        "xwal-peers: {} B entries, {} s per run, every append durable before ack; load average before {load_before}, after {load_after}; total {:.0} s",
        ctx.args.entry_size,
        ctx.args.seconds,
        started.elapsed().as_secs_f64()
    );
    if let Some(n) = hog_threads {
        println!(
            "--cpu-hog {n}: every run ran idle (first tables), then again right away {}",
            beside(n)
        );
    }
    let (ratios, targets) = print_set(&rows);
    let busy = hog_threads.map(|n| {
        println!();
        println!(
            "{} (each run right after its idle run above, the threads spinning in user space at the same nice level):",
            beside(n)
        );
        let set = print_set(&loaded);
        print_comparison(n, &rows, &loaded);
        (set, busy_targets(n, &rows, &loaded))
    });
    for e in &errors {
        println!("error: {e}");
    }

    if let Some(path) = &ctx.args.json {
        let mut v = serde_json::json!({
            "errors": errors,
            "load_before": load_before, "load_after": load_after,
            "seconds": ctx.args.seconds, "entry_size": ctx.args.entry_size,
        });
        match (&busy, hog_threads) {
            (Some(((lr, lt), bt)), Some(n)) => {
                v["cpu_hog"] = n.into();
                v["idle"] = serde_json::json!({"rows": rows_json(&rows), "ratios": ratios, "targets": targets});
                v["loaded"] =
                    serde_json::json!({"rows": rows_json(&loaded), "ratios": lr, "targets": lt});
                v["busy_targets"] = bt.clone().into();
            }
            _ => {
                v["rows"] = rows_json(&rows).into();
                v["ratios"] = ratios.into();
                v["targets"] = targets.into();
            }
        }
        std::fs::write(path, serde_json::to_string_pretty(&v).map_err(err)? + "\n")
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    drop(ctx);
    // walrus keeps background threads and open files; removal still works on Linux.
    let _ = tmp.close();
    if !errors.is_empty() {
        return Err(format!("{} run(s) failed (listed above)", errors.len()));
    }
    Ok(())
}

fn rows_json(rows: &[Row]) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|r| {
            serde_json::json!({
                "system": r.system, "workload": r.workload, "threads": r.threads,
                "entries": r.entries, "seconds": r.seconds,
                "entries_per_s": r.entries_per_s, "mb_per_s": r.mb_per_s,
                "p50_us": r.p50_us, "p99_us": r.p99_us, "p999_us": r.p999_us, "max_us": r.max_us,
                "note": r.note,
            })
        })
        .collect()
}

/// "beside 1 busy thread", "beside 2 busy threads".
fn beside(n: usize) -> String {
    format!("beside {n} busy thread{}", if n == 1 { "" } else { "s" })
}

/// Orders rows for the tables: a, b, c, e fwd, the rest; then threads.
fn sorted_rows(rows: &[Row]) -> Vec<Row> {
    let order = |w: &str| match w {
        "a" => 0,
        "b" => 1,
        "c" => 2,
        "e fwd" => 3,
        _ => 4,
    };
    let mut sorted = rows.to_vec();
    sorted.sort_by_key(|r| (order(&r.workload), r.threads));
    sorted
}

/// The rows table, the ratios xwal / peer and the targets of issue 3 of one
/// set of rows (idle, or beside the busy threads); returns the ratios and
/// targets as JSON.
fn print_set(rows: &[Row]) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    println!();
    println!(
        "{:<20} {:<6} {:>4} {:>12} {:>8} {:>9} {:>9} {:>9} {:>9}  note",
        "system", "wl", "thr", "entries/s", "MB/s", "p50 us", "p99 us", "p999 us", "max us"
    );
    let sorted = sorted_rows(rows);
    let mut last = String::new();
    for r in &sorted {
        let key = format!("{}{}", r.workload, r.threads);
        if key != last {
            println!();
            last = key;
        }
        println!(
            "{:<20} {:<6} {:>4} {:>12} {:>8.1} {:>9} {:>9} {:>9} {:>9}  {}",
            r.system,
            r.workload,
            r.threads,
            thousands(r.entries_per_s),
            r.mb_per_s,
            us0(r.p50_us),
            us0(r.p99_us),
            us0(r.p999_us),
            us0(r.max_us),
            r.note
        );
    }

    // Ratios xwal / peer for each (workload, threads).
    println!();
    println!("ratios xwal / peer (entries/s; for a also p50 and p99 latency peer / xwal, so > 1 means xwal is better):");
    let mut keys: Vec<(String, usize)> = sorted
        .iter()
        .map(|r| (r.workload.clone(), r.threads))
        .collect();
    keys.dedup();
    let mut ratios = Vec::new();
    for (w, t) in &keys {
        let Some(x) = sorted
            .iter()
            .find(|r| r.system == "xwal" && &r.workload == w && r.threads == *t)
        else {
            continue;
        };
        for p in sorted
            .iter()
            .filter(|r| !r.system.starts_with("xwal") && &r.workload == w && r.threads == *t)
        {
            let ratio = x.entries_per_s / p.entries_per_s;
            let lat = if w == "a" && p.p50_us > 0.0 {
                format!(
                    "   p50 {:.2}x, p99 {:.2}x",
                    p.p50_us / x.p50_us,
                    p.p99_us / x.p99_us
                )
            } else {
                String::new()
            };
            println!(
                "  {w:<6} {t:>3} thr  xwal / {:<18} {ratio:>8.2}x{lat}",
                p.system
            );
            ratios.push(serde_json::json!({
                "workload": w, "threads": t, "peer": p.system, "ratio": ratio,
            }));
        }
    }

    // The peer targets of issue 3.
    println!();
    println!("targets (xwal against its peers):");
    let mut targets = Vec::new();
    let x64 = xwal_row(&sorted, "b", 64);
    match (x64, best_peer(&sorted, "b", 64)) {
        (Some(x), Some(p)) => {
            let ok = x.entries_per_s >= 3.0 * p.entries_per_s;
            println!(
                "  {:<5} (b) 64 writers: xwal {} entries/s >= 3x best peer ({} {} -> {})",
                if ok { "PASS" } else { "MISS" },
                thousands(x.entries_per_s),
                p.system,
                thousands(p.entries_per_s),
                thousands(3.0 * p.entries_per_s)
            );
            targets.push(serde_json::json!({"id": "b_peers", "pass": ok, "xwal": x.entries_per_s, "best_peer": p.system, "peer": p.entries_per_s}));
        }
        _ => println!("  not run (b) 64 writers vs best peer"),
    }
    let xc = sorted
        .iter()
        .find(|r| r.system == "xwal" && r.workload == "c");
    let nc = sorted
        .iter()
        .find(|r| r.system == "nodedb-wal uring" && r.workload == "c");
    match (xc, nc) {
        (Some(x), Some(n)) => {
            let ok = x.entries_per_s >= 1.3 * n.entries_per_s;
            println!(
                "  {:<5} (c) xwal submit pipeline {} entries/s >= 1.3x nodedb-wal io_uring writer ({} -> {})",
                if ok { "PASS" } else { "MISS" },
                thousands(x.entries_per_s),
                thousands(n.entries_per_s),
                thousands(1.3 * n.entries_per_s)
            );
            targets.push(serde_json::json!({"id": "c_nodedb", "pass": ok, "xwal": x.entries_per_s, "nodedb": n.entries_per_s}));
        }
        _ => println!("  not run (c) vs nodedb-wal"),
    }
    (ratios, targets)
}

/// A latency column: whole microseconds, "-" when not measured.
fn us0(v: f64) -> String {
    if v == 0.0 {
        "-".to_string()
    } else {
        format!("{v:.0}")
    }
}

fn xwal_row<'a>(rows: &'a [Row], w: &str, threads: usize) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.system == "xwal" && r.workload == w && r.threads == threads)
}

/// The peer with the most entries/s on (workload, threads).
fn best_peer<'a>(rows: &'a [Row], w: &str, threads: usize) -> Option<&'a Row> {
    rows.iter()
        .filter(|r| !r.system.starts_with("xwal") && r.workload == w && r.threads == threads)
        .max_by(|a, b| a.entries_per_s.total_cmp(&b.entries_per_s))
}

/// Idle against loaded, one line per row that ran in both sets.
fn print_comparison(n: usize, idle: &[Row], loaded: &[Row]) {
    println!();
    println!("idle / {}:", beside(n));
    println!(
        "{:<20} {:<6} {:>4} {:>25} {:>9} {:>15} {:>15}",
        "system", "wl", "thr", "entries/s", "loaded/idle", "p50 us", "p99 us"
    );
    let mut last = String::new();
    for i in &sorted_rows(idle) {
        let Some(l) = loaded
            .iter()
            .find(|l| l.system == i.system && l.workload == i.workload && l.threads == i.threads)
        else {
            continue;
        };
        let key = format!("{}{}", i.workload, i.threads);
        if key != last {
            println!();
            last = key;
        }
        println!(
            "{:<20} {:<6} {:>4} {:>25} {:>10.2}x {:>15} {:>15}",
            i.system,
            i.workload,
            i.threads,
            format!(
                "{} / {}",
                thousands(i.entries_per_s),
                thousands(l.entries_per_s)
            ),
            l.entries_per_s / i.entries_per_s,
            format!("{} / {}", us0(i.p50_us), us0(l.p50_us)),
            format!("{} / {}", us0(i.p99_us), us0(l.p99_us)),
        );
    }
}

/// The peer targets of a busy machine (`xwal bench`'s busy_ targets that
/// point here): xwal >= 1.5x the best peer at 1 writer (a) and at 64 (b)
/// idle, and at 64 beside the busy threads.
fn busy_targets(n: usize, idle: &[Row], loaded: &[Row]) -> Vec<serde_json::Value> {
    println!();
    println!(
        "targets {} (busy_; xwal against the best peer of the same set):",
        beside(n)
    );
    let mut out = Vec::new();
    let cases: [(&str, &[Row], &str, usize, String); 3] = [
        (
            "busy_idle_peers_1",
            idle,
            "a",
            1,
            "(a) 1 writer, idle".into(),
        ),
        (
            "busy_idle_peers_64",
            idle,
            "b",
            64,
            "(b) 64 writers, idle".into(),
        ),
        (
            "busy_b_peers",
            loaded,
            "b",
            64,
            format!("(b) 64 writers, {}", beside(n)),
        ),
    ];
    for (id, rows, w, t, what) in cases {
        match (xwal_row(rows, w, t), best_peer(rows, w, t)) {
            (Some(x), Some(p)) => {
                let ok = x.entries_per_s >= 1.5 * p.entries_per_s;
                println!(
                    "  {:<5} {what}: xwal {} entries/s >= 1.5x best peer ({} {} -> {})",
                    if ok { "PASS" } else { "MISS" },
                    thousands(x.entries_per_s),
                    p.system,
                    thousands(p.entries_per_s),
                    thousands(1.5 * p.entries_per_s)
                );
                out.push(serde_json::json!({"id": id, "pass": ok, "xwal": x.entries_per_s, "best_peer": p.system, "peer": p.entries_per_s}));
            }
            _ => println!("  not run {what}: xwal vs best peer"),
        }
    }
    out
}
