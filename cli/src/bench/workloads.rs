//! The xwal workloads of `xwal bench`. Each opens its own WAL in a fresh
//! directory under the run's temp dir, measures, closes, and removes it
//! (except logs kept for the replay workload).

use super::Settings;
use super::report::{OpenRow, Row};
use super::stats::{self, Histogram};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use xwal::{Config, IoEngine, ReplayOptions, SyncPolicy, Wal};

/// A sync policy with the label it is reported under.
#[derive(Debug, Clone)]
pub struct Policy {
    pub label: String,
    pub sync: SyncPolicy,
}

impl Policy {
    pub fn parse(s: &str, interval_ms: u64) -> Result<Policy, String> {
        let s = s.trim();
        let sync = match s {
            "always" => SyncPolicy::Always,
            "dsync" => SyncPolicy::Dsync,
            "never" => SyncPolicy::Never,
            "interval" => SyncPolicy::Interval(Duration::from_millis(interval_ms.max(1))),
            _ => {
                return Err(format!(
                    "--policies {s}: use always, dsync, interval or never"
                ));
            }
        };
        let label = match sync {
            SyncPolicy::Interval(d) => format!("interval {}ms", d.as_millis()),
            _ => s.to_string(),
        };
        Ok(Policy { label, sync })
    }

    /// True if an append is on the disk before its ack (always, dsync): the
    /// only policies the recommendation may name for durable workloads.
    pub fn is_durable(&self) -> bool {
        is_durable_kind(self.kind())
    }

    /// always, dsync, interval or never.
    pub fn kind(&self) -> &'static str {
        match self.sync {
            SyncPolicy::Always => "always",
            SyncPolicy::Dsync => "dsync",
            SyncPolicy::Interval(_) => "interval",
            SyncPolicy::Never => "never",
            _ => "other",
        }
    }
}

/// [`Policy::is_durable`] by the policy's kind (as rows carry it).
pub fn is_durable_kind(kind: &str) -> bool {
    matches!(kind, "always" | "dsync")
}

/// The engine as the config file and `--engine` spell it.
pub fn engine_name(e: IoEngine) -> &'static str {
    match e {
        IoEngine::Uring => "uring",
        IoEngine::Sync => "sync",
        IoEngine::Auto => "auto",
        _ => "other",
    }
}

/// A group-commit setting: overrides of the config's batch limits and delay.
#[derive(Debug, Clone)]
pub struct GcSetting {
    pub label: String,
    pub entries: Option<usize>,
    pub bytes: Option<usize>,
    pub delay: Option<Duration>,
    /// `Config::commits_in_flight`.
    pub inflight: Option<usize>,
}

fn parse_size(v: &str) -> Option<usize> {
    let v = v.to_ascii_lowercase();
    let (num, mul) = if let Some(n) = v.strip_suffix("k") {
        (n, 1 << 10)
    } else if let Some(n) = v.strip_suffix("m") {
        (n, 1 << 20)
    } else {
        (v.as_str(), 1)
    };
    num.parse::<usize>().ok().map(|n| n * mul)
}

fn parse_duration(v: &str) -> Option<Duration> {
    if let Some(n) = v.strip_suffix("us") {
        n.parse().ok().map(Duration::from_micros)
    } else if let Some(n) = v.strip_suffix("ms") {
        n.parse().ok().map(Duration::from_millis)
    } else {
        None
    }
}

impl GcSetting {
    pub fn parse(s: &str) -> Result<GcSetting, String> {
        let s = s.trim();
        let mut g = GcSetting {
            label: s.to_string(),
            entries: None,
            bytes: None,
            delay: None,
            inflight: None,
        };
        if s == "default" {
            return Ok(g);
        }
        let bad = || {
            format!(
                "--group-commit {s}: use default, or entries=N, bytes=N[k|m], delay=N[us|ms], inflight=N joined by +"
            )
        };
        for part in s.split('+') {
            let (k, v) = part.split_once('=').ok_or_else(bad)?;
            match k {
                "entries" => g.entries = Some(v.parse().map_err(|_| bad())?),
                "bytes" => g.bytes = Some(parse_size(v).ok_or_else(bad)?),
                "delay" => g.delay = Some(parse_duration(v).ok_or_else(bad)?),
                "inflight" => g.inflight = Some(v.parse().map_err(|_| bad())?),
                _ => return Err(bad()),
            }
        }
        Ok(g)
    }

    fn apply(&self, mut c: Config) -> Config {
        if let Some(n) = self.entries {
            c = c.max_batch_entries(n);
        }
        if let Some(n) = self.bytes {
            c = c.max_batch_bytes(n);
        }
        if let Some(d) = self.delay {
            c = c.commit_delay(d);
        }
        if let Some(n) = self.inflight {
            c = c.commits_in_flight(n);
        }
        c
    }
}

/// Where the workloads run.
pub struct Ctx {
    root: PathBuf,
    engine: IoEngine,
    zero_fill: bool,
    segment_size: u64,
    counter: AtomicU64,
}

impl Ctx {
    pub fn new(root: PathBuf, s: &Settings) -> Ctx {
        Ctx {
            root,
            engine: s.engine(),
            zero_fill: s.zero_fill,
            segment_size: s.segment_size,
            counter: AtomicU64::new(0),
        }
    }

    /// A new, empty directory under the run's temp dir.
    pub fn fresh_dir(&self, tag: &str) -> Result<PathBuf, String> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let p = self.root.join(format!("{n:03}-{tag}"));
        std::fs::create_dir(&p).map_err(|e| format!("creating {}: {e}", p.display()))?;
        Ok(p)
    }

    /// The config every workload starts from.
    pub fn config(&self, dir: &Path, policy: &Policy, gc: &GcSetting) -> Config {
        let mut c = Config::new(dir)
            .io_engine(self.engine)
            .zero_fill(self.zero_fill)
            .sync(policy.sync)
            .segment_size(self.segment_size);
        // Smaller segments (--segment-mib, --quick) cannot hold the default
        // 64 MiB maximum entry; lower it to a quarter segment only then.
        if c.validate().is_err() {
            c = c.max_entry_size(self.segment_size / 4);
        }
        gc.apply(c)
    }
}

pub(super) fn open(cfg: Config) -> Result<Arc<Wal>, String> {
    let dir = cfg.dir.clone();
    Wal::open(cfg)
        .map(|(w, _)| Arc::new(w))
        .map_err(|e| format!("opening {}: {e}", dir.display()))
}

pub(super) fn close(wal: Arc<Wal>) -> Result<(), String> {
    let wal = Arc::try_unwrap(wal).map_err(|_| "WAL still shared at close".to_string())?;
    wal.close().map_err(|e| format!("close: {e}"))
}

/// A log left on disk for the replay workload.
#[derive(Debug)]
pub struct KeptLog {
    pub dir: PathBuf,
    pub entries: u64,
    pub entry_size: usize,
    pub policy: Policy,
}

/// Logs written by c and d under one policy, replayed by e.
#[derive(Debug, Default)]
pub struct Kept {
    pub small: Option<KeptLog>,
    pub large: Option<KeptLog>,
}

impl Kept {
    pub fn remove(self) {
        for l in [self.small, self.large].into_iter().flatten() {
            let _ = std::fs::remove_dir_all(&l.dir);
        }
    }
}

/// What a timed run measured.
pub struct Measured {
    pub entries: u64,
    pub elapsed: Duration,
    pub latency: Histogram,
}

/// Adds up what each worker of a timed run counted (entries, latency), from
/// `start` until the last worker's result was taken; the run fails if any
/// worker did.
pub(super) fn gather(
    results: impl IntoIterator<Item = Result<(u64, Histogram), String>>,
    start: Instant,
) -> Result<Measured, String> {
    let mut m = Measured {
        entries: 0,
        elapsed: Duration::ZERO,
        latency: Histogram::new(),
    };
    let mut err = None;
    for r in results {
        match r {
            Ok((n, hist)) => {
                m.entries += n;
                m.latency.merge(&hist);
            }
            Err(e) => err = Some(e),
        }
    }
    m.elapsed = start.elapsed();
    err.map_or(Ok(m), Err)
}

/// Joins a worker thread, a panic counting as its error.
pub(super) fn join<T>(
    h: std::thread::JoinHandle<Result<T, String>>,
    who: &str,
) -> Result<T, String> {
    h.join().map_err(|_| format!("{who} panicked"))?
}

/// `threads` writers, each appending `entry_size` bytes and waiting for the ack, for `dur`.
pub fn run_waiting(
    wal: &Arc<Wal>,
    threads: usize,
    entry_size: usize,
    dur: Duration,
) -> Result<Measured, String> {
    let barrier = Arc::new(Barrier::new(threads + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (wal, barrier, stop) = (wal.clone(), barrier.clone(), stop.clone());
            std::thread::Builder::new()
                .name(format!("bench-writer-{i}"))
                .spawn(move || -> Result<(u64, Histogram), String> {
                    let data = vec![0x5au8; entry_size];
                    let mut h = Histogram::new();
                    let mut n = 0u64;
                    barrier.wait();
                    while !stop.load(Ordering::Relaxed) {
                        let t0 = Instant::now();
                        wal.append(&data).map_err(|e| format!("append: {e}"))?;
                        h.record(t0.elapsed().as_nanos() as u64);
                        n += 1;
                    }
                    Ok((n, h))
                })
                .map_err(|e| format!("spawning a writer: {e}"))
        })
        .collect::<Result<_, _>>()?;
    barrier.wait();
    let start = Instant::now();
    std::thread::sleep(dur);
    stop.store(true, Ordering::Relaxed);
    gather(handles.into_iter().map(|h| join(h, "writer thread")), start)
}

/// `producers` threads, each keeping up to `window` tickets from `Wal::submit`
/// outstanding (waiting on the oldest when full), until `dur` has passed or
/// `budget` entries in total were submitted. Latency is submit to ack as the
/// producer sees it.
pub fn run_pipelined(
    wal: &Arc<Wal>,
    producers: usize,
    window: usize,
    entry_size: usize,
    dur: Duration,
    budget: Option<u64>,
) -> Result<Measured, String> {
    let barrier = Arc::new(Barrier::new(producers + 1));
    let handles: Vec<_> = (0..producers)
        .map(|i| {
            let (wal, barrier) = (wal.clone(), barrier.clone());
            let share =
                budget.map(|b| b / producers as u64 + u64::from((i as u64) < b % producers as u64));
            std::thread::Builder::new()
                .name(format!("bench-producer-{i}"))
                .spawn(move || -> Result<(u64, Histogram), String> {
                    let template = vec![0x5au8; entry_size];
                    let mut h = Histogram::new();
                    let mut q = VecDeque::with_capacity(window);
                    let (mut sent, mut acked) = (0u64, 0u64);
                    barrier.wait();
                    let deadline = Instant::now() + dur;
                    loop {
                        if share.is_some_and(|b| sent >= b) || Instant::now() >= deadline {
                            break;
                        }
                        if q.len() >= window {
                            let (t, s): (xwal::CommitTicket, Instant) =
                                q.pop_front().ok_or("empty window")?;
                            t.wait().map_err(|e| format!("ticket: {e}"))?;
                            h.record(s.elapsed().as_nanos() as u64);
                            acked += 1;
                        }
                        let s = Instant::now();
                        let t = wal
                            .submit(template.clone())
                            .map_err(|e| format!("submit: {e}"))?;
                        q.push_back((t, s));
                        sent += 1;
                    }
                    for (t, s) in q {
                        t.wait().map_err(|e| format!("ticket: {e}"))?;
                        h.record(s.elapsed().as_nanos() as u64);
                        acked += 1;
                    }
                    Ok((acked, h))
                })
                .map_err(|e| format!("spawning a producer: {e}"))
        })
        .collect::<Result<_, _>>()?;
    barrier.wait();
    let start = Instant::now();
    gather(
        handles.into_iter().map(|h| join(h, "producer thread")),
        start,
    )
}

/// Workloads a and b: `threads` writers each waiting for durability, on `engine`.
pub fn waiting(
    ctx: &Ctx,
    s: &Settings,
    engine: IoEngine,
    policy: &Policy,
    gc: &GcSetting,
    threads: usize,
    letter: char,
) -> Result<Row, String> {
    let dir = ctx.fresh_dir(&format!("{letter}-{threads}"))?;
    let wal = open(ctx.config(&dir, policy, gc).io_engine(engine))?;
    let m = run_waiting(&wal, threads, s.entry_size, s.duration())?;
    close(wal)?;
    let _ = std::fs::remove_dir_all(&dir);
    let name = if letter == 'a' {
        "a: append, 1 writer".to_string()
    } else {
        "b: append, waiting writers".to_string()
    };
    Ok(Row::measured(
        letter,
        &name,
        policy,
        &gc.label,
        threads,
        s.entry_size,
        &m,
        true,
        "",
    ))
}

/// Workload c: pipelined producers with a window of tickets. Optionally keeps
/// the log for replay.
pub fn pipelined(
    ctx: &Ctx,
    s: &Settings,
    policy: &Policy,
    gc: &GcSetting,
    window: usize,
    keep: bool,
) -> Result<(Row, Option<KeptLog>), String> {
    let dir = ctx.fresh_dir(&format!("c-{window}"))?;
    let wal = open(ctx.config(&dir, policy, gc))?;
    let m = run_pipelined(&wal, s.producers, window, s.entry_size, s.duration(), None)?;
    close(wal)?;
    let row = Row::measured(
        'c',
        &format!("c: submit, window {window}"),
        policy,
        &gc.label,
        s.producers,
        s.entry_size,
        &m,
        true,
        "latency: submit to ack seen by the producer",
    );
    let kept = if keep {
        Some(KeptLog {
            dir,
            entries: m.entries,
            entry_size: s.entry_size,
            policy: policy.clone(),
        })
    } else {
        let _ = std::fs::remove_dir_all(&dir);
        None
    };
    Ok((row, kept))
}

/// Workload d: large entries, pipelined, until `--volume-mib` is written (or
/// four times `--seconds`, at least 1 s, has passed).
pub fn large(
    ctx: &Ctx,
    s: &Settings,
    policy: &Policy,
    keep: bool,
) -> Result<(Row, Option<KeptLog>), String> {
    let dir = ctx.fresh_dir("d")?;
    // The first group-commit setting runs the full matrix, d included.
    let gc = s
        .gcs
        .first()
        .cloned()
        .unwrap_or(GcSetting::parse("default")?);
    let wal = open(ctx.config(&dir, policy, &gc))?;
    let budget = s.volume / s.large_entry_size as u64;
    let cap = Duration::from_secs_f64((s.seconds * 4.0).max(1.0));
    let m = run_pipelined(
        &wal,
        1,
        s.large_window,
        s.large_entry_size,
        cap,
        Some(budget),
    )?;
    close(wal)?;
    let note = if m.entries < budget {
        format!(
            "time cap {:.1} s reached before {} MiB",
            cap.as_secs_f64(),
            s.volume >> 20
        )
    } else {
        String::new()
    };
    let row = Row::measured(
        'd',
        &format!(
            "d: submit {} KiB, window {}",
            s.large_entry_size >> 10,
            s.large_window
        ),
        policy,
        &gc.label,
        1,
        s.large_entry_size,
        &m,
        true,
        &note,
    );
    let kept = if keep {
        Some(KeptLog {
            dir,
            entries: m.entries,
            entry_size: s.large_entry_size,
            policy: policy.clone(),
        })
    } else {
        let _ = std::fs::remove_dir_all(&dir);
        None
    };
    Ok((row, kept))
}

/// Writes a log of `entries` entries of `entry_size` bytes with pipelined
/// submits under `policy`, and closes it.
fn fill(
    ctx: &Ctx,
    tag: &str,
    policy: &Policy,
    entries: u64,
    entry_size: usize,
    window: usize,
) -> Result<KeptLog, String> {
    let dir = ctx.fresh_dir(tag)?;
    let gc = GcSetting::parse("default")?;
    let wal = open(ctx.config(&dir, policy, &gc))?;
    let m = run_pipelined(
        &wal,
        1,
        window,
        entry_size,
        Duration::from_secs(3600),
        Some(entries),
    )?;
    close(wal)?;
    Ok(KeptLog {
        dir,
        entries: m.entries,
        entry_size,
        policy: policy.clone(),
    })
}

/// Workload e: replays, forward then backward, the small-entry log of c and
/// the large-entry log of d (written here if those did not run).
pub fn replay(ctx: &Ctx, s: &Settings, policy: &Policy, kept: &Kept) -> Result<Vec<Row>, String> {
    let mut own = Vec::new();
    let small = match &kept.small {
        Some(l) => l,
        None => {
            own.push(fill(
                ctx,
                "e-small",
                policy,
                s.replay_entries,
                s.entry_size,
                4096,
            )?);
            own.last().ok_or("no log")?
        }
    };
    let result = (|| {
        let mut rows = replay_log(ctx, s, small)?;
        let large_own;
        let large = match &kept.large {
            Some(l) => l,
            None => {
                large_own = fill(
                    ctx,
                    "e-large",
                    policy,
                    s.volume / s.large_entry_size as u64,
                    s.large_entry_size,
                    s.large_window,
                )?;
                &large_own
            }
        };
        let r = replay_log(ctx, s, large);
        if kept.large.is_none() {
            let _ = std::fs::remove_dir_all(&large.dir);
        }
        rows.extend(r?);
        Ok(rows)
    })();
    for l in own {
        let _ = std::fs::remove_dir_all(&l.dir);
    }
    result
}

fn size_label(n: usize) -> String {
    if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} B")
    }
}

/// How a replay hands out its entries.
#[derive(Clone, Copy)]
enum ReplayForm {
    /// `Replay::next_batch`, payloads borrowed from the read buffers.
    Batch,
    /// The `Replay` iterator of owned `Entry`s, pulled in this thread.
    Entries,
    /// `Replay::receiver()`: owned `Entry`s from the feeder thread's channel.
    Channel,
}

impl ReplayForm {
    fn label(self) -> &'static str {
        match self {
            ReplayForm::Batch => "batch",
            ReplayForm::Entries => "entries",
            ReplayForm::Channel => "channel",
        }
    }
}

/// Replays everything once in `form`; returns the entries and payload bytes.
fn replay_once(
    wal: &xwal::ReadOnlyWal,
    opts: ReplayOptions,
    form: ReplayForm,
) -> Result<(u64, u64), String> {
    let err = |e: xwal::Error| format!("replay: {e}");
    let mut r = wal.replay(opts).map_err(err)?;
    let (mut n, mut bytes) = (0u64, 0u64);
    match form {
        ReplayForm::Batch => {
            while let Some(b) = r.next_batch().map_err(err)? {
                for (_, data) in b.iter() {
                    n += 1;
                    bytes += data.len() as u64;
                }
            }
        }
        ReplayForm::Entries => {
            for e in r.by_ref() {
                let e = e.map_err(err)?;
                n += 1;
                bytes += e.data.len() as u64;
            }
        }
        ReplayForm::Channel => {
            for e in r.receiver().iter() {
                n += 1;
                bytes += e.data.len() as u64;
            }
        }
    }
    let summary = r.finish().map_err(err)?;
    if summary.entries != n {
        return Err(format!(
            "replay counted {} entries, delivered {n}",
            summary.entries
        ));
    }
    Ok((n, bytes))
}

fn replay_log(ctx: &Ctx, s: &Settings, log: &KeptLog) -> Result<Vec<Row>, String> {
    let gc = GcSetting::parse("default")?;
    let cfg = ctx.config(&log.dir, &log.policy, &gc);
    let mut rows = Vec::new();
    let forms = [ReplayForm::Batch, ReplayForm::Entries, ReplayForm::Channel];
    for (backward, form) in [false, true]
        .into_iter()
        .flat_map(|b| forms.map(|f| (b, f)))
    {
        stats::reset_peak_rss();
        let (wal, _) = Wal::open_read_only(cfg.clone()).map_err(|e| format!("open: {e}"))?;
        let opts = if backward {
            ReplayOptions::all().backward()
        } else {
            ReplayOptions::all()
        };
        // The baseline, just before: the same segment files read raw, so a
        // disk whose speed drifts over minutes moves both figures alike.
        let raw_mb_s = raw_read_of(&log.dir, s)?;
        let start = Instant::now();
        let (n, bytes) = replay_once(&wal, opts, form)?;
        let elapsed = start.elapsed();
        drop(wal);
        if n != log.entries {
            return Err(format!(
                "replay returned {n} entries, {} written",
                log.entries
            ));
        }
        let m = Measured {
            entries: n,
            elapsed,
            latency: Histogram::new(),
        };
        let mut row = Row::measured(
            'e',
            &format!(
                "e: replay {} {}, {}",
                if backward { "bwd" } else { "fwd" },
                form.label(),
                size_label(log.entry_size)
            ),
            &log.policy,
            "default",
            1,
            log.entry_size,
            &m,
            false,
            &format!("{} entries, {:.0} MiB", n, bytes as f64 / (1 << 20) as f64),
        );
        row.bytes = bytes;
        row.mb_per_s = bytes as f64 / elapsed.as_secs_f64() / 1e6;
        // On-disk bytes (headers, protobuf, padding) against the raw read.
        let record =
            xwal::format::encoded_record_len(xwal::format::entry_body_len(1 << 20, log.entry_size));
        row.baseline = format!("raw read of its segments, just before ({raw_mb_s:.0} MB/s)");
        row.ratio_unit = "MB/s on disk";
        row.ratio_to_baseline = row.entries_per_s * record as f64 / 1e6 / raw_mb_s;
        rows.push(row);
    }
    Ok(rows)
}

/// MB/s of a raw sequential O_DIRECT read (--raw-io-kib x --raw-qd) of the
/// segment files of `dir`.
fn raw_read_of(dir: &Path, s: &Settings) -> Result<f64, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    files.sort();
    let (mut bytes, mut secs) = (0u64, 0f64);
    for f in files {
        let r = crate::baseline::uring_sequential_read(&f, s.raw_io, s.raw_qd)?;
        bytes += r.bytes;
        secs += r.elapsed.as_secs_f64();
    }
    Ok(bytes as f64 / secs.max(1e-9) / 1e6)
}

/// Rollover check: the same writers with normal segments and with small ones.
pub fn rollover(ctx: &Ctx, s: &Settings, policy: &Policy) -> Result<Vec<Row>, String> {
    let gc = GcSetting::parse("default")?;
    let max_entry = (s.rollover_segment / 4)
        .min(64 << 10)
        .max(s.entry_size as u64);
    let mut rows = Vec::new();
    for (tag, seg) in [
        ("steady", ctx.segment_size),
        ("rollover", s.rollover_segment),
    ] {
        stats::reset_peak_rss();
        let dir = ctx.fresh_dir(&format!("r-{tag}"))?;
        let cfg = ctx
            .config(&dir, policy, &gc)
            .segment_size(seg)
            .max_entry_size(max_entry);
        let wal = open(cfg)?;
        let m = run_waiting(&wal, s.rollover_threads, s.entry_size, s.duration())?;
        let segments = wal.segments().len();
        close(wal)?;
        let _ = std::fs::remove_dir_all(&dir);
        rows.push(Row::measured(
            'r',
            &format!("r: {tag}, {} segments", size_label(seg as usize)),
            policy,
            "default",
            s.rollover_threads,
            s.entry_size,
            &m,
            true,
            &format!("{} rollovers", segments.saturating_sub(1)),
        ));
    }
    Ok(rows)
}

/// The entry limit of the tail-segment logs of workload f: what bounds the
/// evidence window recovery reads past the data (with the default 64 MiB the
/// window covers a whole 128 MiB segment).
pub const TAIL_MAX_ENTRY: u64 = 1 << 20;

/// Workload f, tail segments: a WAL whose one 128 MiB segment holds
/// `tail_bytes` (1 MiB), and one whose segment is nearly full, written and
/// opened under `always` with entries up to [`TAIL_MAX_ENTRY`]; median of
/// `--open-repeats` opens after a clean close.
pub fn tail_open_times(ctx: &Ctx, s: &Settings) -> Result<Vec<OpenRow>, String> {
    let always = Policy::parse("always", 10)?;
    let gc = GcSetting::parse("default")?;
    let segment = 128u64 << 20;
    let mut out = Vec::new();
    let full = segment - (TAIL_MAX_ENTRY + (2 << 20));
    for (label, bytes) in [("tail 1 MiB", s.tail_bytes.min(full)), ("tail full", full)] {
        let dir = ctx.fresh_dir("f-tail")?;
        let cfg = ctx
            .config(&dir, &always, &gc)
            .segment_size(segment)
            .max_entry_size(TAIL_MAX_ENTRY);
        let result = (|| {
            let entry = s.recovery_entry_size;
            let record =
                xwal::format::encoded_record_len(xwal::format::entry_body_len(1 << 30, entry));
            let entries = (bytes / record as u64).max(1);
            let wal = open(cfg.clone())?;
            run_pipelined(
                &wal,
                1,
                1024,
                entry,
                Duration::from_secs(3600),
                Some(entries),
            )?;
            close(wal)?;
            let row = OpenRow::log(label, entries, entry, &always.label);
            timed_opens(&cfg, s.open_repeats, row)
        })();
        let _ = std::fs::remove_dir_all(&dir);
        out.push(result?);
    }
    Ok(out)
}

/// Opens `cfg` `repeats` times after a clean close each; fills `row` with the
/// open times (median, min, max), the last report and the largest RSS growth.
fn timed_opens(cfg: &Config, repeats: usize, mut row: OpenRow) -> Result<OpenRow, String> {
    let mut times = Vec::new();
    let mut report = None;
    for _ in 0..repeats.max(1) {
        stats::reset_peak_rss();
        let before = stats::rss_mib();
        let t0 = Instant::now();
        let (wal, rep) = Wal::open(cfg.clone()).map_err(|e| format!("open: {e}"))?;
        let el = t0.elapsed();
        row.rss_delta_mib = row.rss_delta_mib.max(stats::peak_rss_mib() - before);
        wal.close().map_err(|e| format!("close: {e}"))?;
        times.push(el.as_secs_f64() * 1e3);
        report = Some(rep);
    }
    times.sort_by(f64::total_cmp);
    let rep = report.ok_or("no open")?;
    row.segments = rep.segments;
    row.scanned_bytes = rep.scanned_bytes;
    row.open_ms_median = times[times.len() / 2];
    row.open_ms_min = times[0];
    row.open_ms_max = times[times.len() - 1];
    Ok(row)
}

/// Workload f: open time of a small and a large log, per policy, median of
/// `--open-repeats` opens after a clean close.
pub fn open_times(ctx: &Ctx, s: &Settings) -> Result<Vec<OpenRow>, String> {
    let never = Policy::parse("never", 10)?;
    let gc = GcSetting::parse("default")?;
    let mut out = Vec::new();
    for (label, size) in [("small", s.small_log), ("large", s.large_log)] {
        let entries = (size / s.recovery_entry_size as u64).max(1);
        let log = fill(
            ctx,
            &format!("f-{label}"),
            &never,
            entries,
            s.recovery_entry_size,
            1024,
        )?;
        let result = (|| {
            for policy in &s.policies {
                let cfg = ctx.config(&log.dir, policy, &gc);
                let row = OpenRow::log(label, log.entries, s.recovery_entry_size, &policy.label);
                out.push(timed_opens(&cfg, s.open_repeats, row)?);
            }
            Ok::<(), String>(())
        })();
        let _ = std::fs::remove_dir_all(&log.dir);
        result?;
    }
    Ok(out)
}
