//! `xwal bench`: durable-append throughput and latency for each I/O engine,
//! sync policy and group-commit setting, as absolute figures and as ratios to
//! raw baselines measured in the same run on the same directory, closing with
//! the configuration that did best on this disk (as a config file).
//!
//! Workloads (`--workloads`, default all): see [`WORKLOADS_HELP`].
//!
//! Baselines: the raw limit, the fastest of four QD1 4 KiB strategies (a, b,
//! r: no single strategy is fastest on every disk, so the best is the
//! disk's limit); the broadcast and wake floors of N blocking writers (b, g);
//! an io_uring write + linked fdatasync with `--raw-entries-per-commit` entries
//! packed per write (c); sequential O_DIRECT write and read of the same volume,
//! several in flight (d, e).
//!
//! `--cpu-hog [N]` runs every job twice in a row, idle and then beside N
//! threads spinning in user space ([`hog`]), each set of results related to
//! its own baselines (measured under the same load).

use super::baseline::{self, RawStrategy};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use xwal::IoEngine;

mod floors;
mod hog;
mod plot;
mod recommend;
mod report;
pub(crate) mod stats;
mod tail;
mod tasks;
mod workloads;

use floors::FloorKind;
use report::{Baselines, OpenRow, Row};
use workloads::{Ctx, GcSetting, Kept, Policy, engine_name};

/// The workload letters, shown by `xwal bench --help`.
const WORKLOADS_HELP: &str = "Workloads (--workloads, default all):
  a  one writer, each append waits for its ack: latency percentiles
  b  N writers (--threads), each blocking until its ack: entries/s, MB/s, percentiles
  g  b-async: --tasks tasks on a 2-worker tokio runtime, each awaiting `wal.submit(..)?.await`
  c  pipelined producers keeping --windows tickets from Wal::submit outstanding
  d  64 KiB entries, pipelined: MB/s
  e  replay, forward and backward, of what c and d wrote: entries/s and MB/s
  f  open (recovery) time of a small and a large log
  r  rollover stall: p99.9 with small segments against steady-state p99
  t  live tail: durable -> delivered latency at --tail-rate appends/s, in-process and
     from a follower process (`xwal replay DIR --follow`), durable policies only

Baselines, all in the same run and directory:
  raw limit       the fastest of four QD1 4 KiB overwrite loops of a zero-filled file
                  (io_uring O_DIRECT write + linked fdatasync, pwrite O_DIRECT + fdatasync,
                  pwrite O_DIRECT|O_DSYNC, buffered pwrite + fdatasync); a, b, r relate to it
  broadcast floor N blocking threads woken by one committer per 4 KiB pwrite O_DIRECT +
                  fdatasync through one shared counter (notify_all): b's targets relate to it
  wake floor      the same without the disk: the cost of waking threads on this machine

The run ends with a recommendation: the engine, durable sync policy and group-commit
setting with the lowest p99 at one writer (a) and the highest throughput at 64 writers (b),
as config-file snippets (`xwal --config FILE`, `Config::from_file`).";

#[derive(Args, Debug, Clone)]
#[command(after_help = WORKLOADS_HELP)]
pub struct BenchArgs {
    /// Directory to run in (a temp dir under it is used and removed). Default: the current directory.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Workloads to run, comma separated: a,b,g,c,d,e,f,r (listed below). Default: all.
    #[arg(long, value_delimiter = ',')]
    workloads: Option<Vec<String>>,
    /// Sync policies: always, dsync, interval, never. Default: all four.
    #[arg(long, value_delimiter = ',')]
    policies: Option<Vec<String>>,
    /// Period of the `interval` policy, in milliseconds.
    #[arg(long, default_value_t = 10)]
    interval_ms: u64,
    /// Group-commit settings: `default`, or `+`-joined `entries=N`, `bytes=N[k|m]`,
    /// `delay=N[us|ms]`, `inflight=N` (commits in flight, 1 = serial). The first
    /// one runs the full matrix; the others run workloads b (at --gc-threads)
    /// and c under --gc-policies.
    /// Default: default,inflight=2,entries=16,bytes=64k,delay=100us.
    #[arg(long, value_delimiter = ',')]
    group_commit: Option<Vec<String>>,
    /// Policies the extra group-commit settings run under. Default: always.
    #[arg(long, value_delimiter = ',')]
    gc_policies: Option<Vec<String>>,
    /// Writer threads for the extra group-commit settings (workload b). Default: 64.
    #[arg(long, value_delimiter = ',')]
    gc_threads: Option<Vec<usize>>,
    /// Seconds per timed run. Default: 2 (0.25 with --quick).
    #[arg(long)]
    seconds: Option<f64>,
    /// Writer thread counts for workload b, comma separated. Default: 1,4,16,64.
    /// The broadcast and wake floors run at these counts, --gc-threads and 64.
    #[arg(long, value_delimiter = ',')]
    threads: Option<Vec<usize>>,
    /// Workload g (b-async): task counts, comma separated. Default: 64.
    #[arg(long, value_delimiter = ',')]
    tasks: Option<Vec<usize>>,
    /// Entry size in bytes for workloads a, b, c, r and the small-entry replay.
    #[arg(long, default_value_t = 128)]
    entry_size: usize,
    /// Workload c: tickets each producer keeps outstanding. Default: 256,4096.
    #[arg(long, value_delimiter = ',')]
    windows: Option<Vec<usize>>,
    /// Workload c: producer threads.
    #[arg(long, default_value_t = 1)]
    producers: usize,
    /// Entries per write in the raw baseline for workload c.
    #[arg(long, default_value_t = 1000)]
    raw_entries_per_commit: usize,
    /// Workload d: entry size in bytes.
    #[arg(long, default_value_t = 64 << 10)]
    large_entry_size: usize,
    /// Workload d: entries outstanding.
    #[arg(long, default_value_t = 256)]
    large_window: usize,
    /// Volume written by workload d and by the raw sequential baselines, in MiB. Default: 1024 (16 with --quick).
    #[arg(long)]
    volume_mib: Option<u64>,
    /// Raw sequential baselines: I/O size in KiB and I/Os in flight.
    #[arg(long, default_value_t = 1024)]
    raw_io_kib: usize,
    #[arg(long, default_value_t = 16)]
    raw_qd: usize,
    /// Workload e when c did not run (and always with --quick): entries of --entry-size to write and replay. Default: 2,000,000 (20,000 with --quick).
    #[arg(long)]
    replay_entries: Option<u64>,
    /// Workload f: sizes of the small and large logs in MiB. Default: 100 and 10240 (4 and 64 with --quick).
    #[arg(long)]
    small_log_mib: Option<u64>,
    #[arg(long)]
    large_log_mib: Option<u64>,
    /// Workload f: entry size of the logs.
    #[arg(long, default_value_t = 4096)]
    recovery_entry_size: usize,
    /// Workload f: KiB held by the fresh 128 MiB tail segment whose open time
    /// is compared with a full one's.
    #[arg(long, default_value_t = 1024)]
    tail_kib: u64,
    /// Workload t: appends per second while the tails run.
    #[arg(long, default_value_t = 10_000)]
    tail_rate: u64,
    /// Workload f: opens per log and policy (the median is reported). Default: 3 (1 with --quick).
    #[arg(long)]
    open_repeats: Option<usize>,
    /// Workload r: segment size in KiB for the rollover run, and writer threads.
    #[arg(long, default_value_t = 1024)]
    rollover_segment_kib: u64,
    #[arg(long)]
    rollover_threads: Option<usize>,
    /// Segment size in MiB for every other run. Default: 128 (8 with --quick).
    #[arg(long)]
    segment_mib: Option<u64>,
    /// I/O engines, comma separated: uring, sync. The first runs every
    /// workload; the others run a and b (at --gc-threads) under the durable
    /// policies (always, dsync), for the recommendation. Default: uring,sync.
    #[arg(long, value_delimiter = ',')]
    engine: Option<Vec<String>>,
    /// Zero-fill new segments ahead of need (`Config::zero_fill`): on or off.
    #[arg(long, default_value = "on")]
    zero_fill: String,
    /// Short run (about 20 s) for smoke tests: small volumes, 0.25 s runs, threads 1,4,64, 8 MiB segments.
    #[arg(long)]
    quick: bool,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also draw throughput against p99 latency as an SVG chart to this file.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Run every job (raw baselines and floors included) twice in a row: idle,
    /// then beside N threads spinning in user space at the bench's nice level
    /// (a CPU-bound neighbour: `(while :; do :; done) &` N times). Without N:
    /// one per CPU. The loaded ratios are to the baselines measured under load;
    /// the report adds the loaded rows, an idle/loaded comparison and busy_ targets.
    #[arg(long, value_name = "N", num_args = 0..=1)]
    cpu_hog: Option<Option<usize>>,
}

/// Every setting resolved (quick defaults applied).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub workloads: Vec<char>,
    pub policies: Vec<Policy>,
    pub gcs: Vec<GcSetting>,
    pub gc_policies: Vec<String>,
    pub gc_threads: Vec<usize>,
    pub seconds: f64,
    pub threads: Vec<usize>,
    pub tasks: Vec<usize>,
    pub entry_size: usize,
    pub windows: Vec<usize>,
    pub producers: usize,
    pub raw_entries_per_commit: usize,
    pub large_entry_size: usize,
    pub large_window: usize,
    pub volume: u64,
    pub raw_io: usize,
    pub raw_qd: usize,
    pub replay_entries: u64,
    pub small_log: u64,
    pub large_log: u64,
    pub recovery_entry_size: usize,
    pub tail_bytes: u64,
    pub tail_rate: u64,
    pub open_repeats: usize,
    pub rollover_segment: u64,
    pub rollover_threads: usize,
    pub segment_size: u64,
    /// The first runs every workload, the others a and b (see `--engine`).
    pub engines: Vec<IoEngine>,
    pub zero_fill: bool,
    pub quick: bool,
    /// `--cpu-hog`: busy threads beside the second run of each job; None = idle only.
    pub cpu_hog: Option<usize>,
}

/// Every workload letter, in the order of `--help`.
const ALL_WORKLOADS: &str = "abgcdefrt";

fn parse_workloads(v: &Option<Vec<String>>) -> Result<Vec<char>, String> {
    let Some(v) = v else {
        return Ok(ALL_WORKLOADS.chars().collect());
    };
    let mut w = Vec::new();
    for s in v {
        let s = s.trim();
        match s {
            "all" => w.extend(ALL_WORKLOADS.chars()),
            // "b-async" is workload g's other name.
            "b-async" => w.push('g'),
            _ if s.len() == 1 && ALL_WORKLOADS.contains(s) => w.extend(s.chars()),
            _ => return Err(format!("--workloads {s}: use a,b,g,c,d,e,f,r,t")),
        }
    }
    Ok(w)
}

fn parse_engines(v: &Option<Vec<String>>) -> Result<Vec<IoEngine>, String> {
    let names = v
        .clone()
        .unwrap_or_else(|| vec!["uring".into(), "sync".into()]);
    let mut out: Vec<IoEngine> = Vec::new();
    for n in &names {
        let e = match n.trim() {
            "uring" => IoEngine::Uring,
            "sync" => IoEngine::Sync,
            other => return Err(format!("--engine {other}: use uring or sync")),
        };
        if !out.contains(&e) {
            out.push(e);
        }
    }
    if out.is_empty() {
        return Err("--engine needs at least one value".into());
    }
    Ok(out)
}

impl Settings {
    fn from_args(a: &BenchArgs) -> Result<Settings, String> {
        let q = a.quick;
        let workloads = parse_workloads(&a.workloads)?;
        let policy_names = a.policies.clone().unwrap_or_else(|| {
            ["always", "dsync", "interval", "never"]
                .map(String::from)
                .to_vec()
        });
        let policies = policy_names
            .iter()
            .map(|s| Policy::parse(s, a.interval_ms))
            .collect::<Result<Vec<_>, _>>()?;
        let gc_names = a.group_commit.clone().unwrap_or_else(|| {
            let v: &[&str] = if q {
                &["default", "entries=16"]
            } else {
                &[
                    "default",
                    "inflight=2",
                    "entries=16",
                    "bytes=64k",
                    "delay=100us",
                ]
            };
            v.iter().map(|s| s.to_string()).collect()
        });
        let gcs = gc_names
            .iter()
            .map(|s| GcSetting::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        if gcs.is_empty() || policies.is_empty() {
            return Err("--policies and --group-commit need at least one value".into());
        }
        let gc_policies = a
            .gc_policies
            .clone()
            .unwrap_or_else(|| vec!["always".into()]);
        for p in &gc_policies {
            Policy::parse(p, a.interval_ms)?;
        }
        let engines = parse_engines(&a.engine)?;
        let zero_fill = match a.zero_fill.as_str() {
            "on" => true,
            "off" => false,
            other => return Err(format!("--zero-fill {other}: use on or off")),
        };
        let threads = a.threads.clone().unwrap_or_else(|| {
            if q {
                vec![1, 4, 64]
            } else {
                vec![1, 4, 16, 64]
            }
        });
        let cpu_hog = match a.cpu_hog {
            None => None,
            Some(None) => Some(hog::default_threads()),
            Some(Some(0)) => return Err("--cpu-hog needs at least 1 thread".into()),
            Some(Some(n)) => Some(n),
        };
        let s = Settings {
            workloads,
            policies,
            gcs,
            gc_policies,
            gc_threads: a.gc_threads.clone().unwrap_or_else(|| vec![64]),
            seconds: a.seconds.unwrap_or(if q { 0.25 } else { 2.0 }),
            threads,
            tasks: a.tasks.clone().unwrap_or_else(|| vec![64]),
            entry_size: a.entry_size,
            windows: a
                .windows
                .clone()
                .unwrap_or_else(|| if q { vec![1024] } else { vec![256, 4096] }),
            producers: a.producers.max(1),
            raw_entries_per_commit: a.raw_entries_per_commit.max(1),
            large_entry_size: a.large_entry_size,
            large_window: a.large_window.max(1),
            volume: a.volume_mib.unwrap_or(if q { 16 } else { 1024 }) << 20,
            raw_io: a.raw_io_kib.max(4) << 10,
            raw_qd: a.raw_qd.max(1),
            replay_entries: a
                .replay_entries
                .unwrap_or(if q { 20_000 } else { 2_000_000 }),
            small_log: a.small_log_mib.unwrap_or(if q { 4 } else { 100 }) << 20,
            large_log: a.large_log_mib.unwrap_or(if q { 64 } else { 10 << 10 }) << 20,
            recovery_entry_size: a.recovery_entry_size.max(1),
            tail_bytes: a.tail_kib.max(4) << 10,
            tail_rate: a.tail_rate.max(1),
            open_repeats: a.open_repeats.unwrap_or(if q { 1 } else { 3 }).max(1),
            rollover_segment: a.rollover_segment_kib << 10,
            rollover_threads: a.rollover_threads.unwrap_or(if q { 4 } else { 16 }),
            segment_size: a.segment_mib.unwrap_or(if q { 8 } else { 128 }) << 20,
            engines,
            zero_fill,
            quick: q,
            cpu_hog,
        };
        if s.seconds <= 0.0 || !s.seconds.is_finite() {
            return Err("--seconds must be positive".into());
        }
        if [&s.threads, &s.windows, &s.gc_threads, &s.tasks]
            .iter()
            .any(|v| v.contains(&0))
        {
            return Err("thread and task counts and windows must be at least 1".into());
        }
        if !s.raw_io.is_multiple_of(4096) {
            return Err("--raw-io-kib must be a multiple of 4".into());
        }
        Ok(s)
    }

    pub fn has(&self, w: char) -> bool {
        self.workloads.contains(&w)
    }

    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.seconds)
    }

    /// The engine that runs every workload.
    pub fn engine(&self) -> IoEngine {
        self.engines[0]
    }

    /// Writer counts of the floors: b's, --gc-threads' and always 64 (the
    /// target of 64 blocking writers is a ratio to the floor at 64).
    pub fn floor_threads(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .threads
            .iter()
            .chain(&self.gc_threads)
            .copied()
            .collect();
        v.push(64);
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Bytes of one raw write at the workload-c batch size, rounded up to 4 KiB.
    pub fn packed_write_size(&self) -> usize {
        (self.raw_entries_per_commit * self.entry_size).div_ceil(4096) * 4096
    }
}

/// One unit of work, in execution order. Indices: engine (into
/// `Settings::engines`), policy, group-commit setting, then a count.
#[derive(Debug, Clone)]
enum Job {
    Raw(RawStrategy),
    Floor(FloorKind, usize),
    BasePacked,
    BaseSeq,
    A(usize, usize, usize),
    B(usize, usize, usize, usize),
    G(usize, usize, usize),
    C(usize, usize, usize),
    D(usize),
    E(usize),
    R(usize),
    T(usize),
    F,
}

fn plan_baselines(s: &Settings) -> Vec<Job> {
    let mut jobs: Vec<Job> = RawStrategy::ALL.into_iter().map(Job::Raw).collect();
    if s.has('b') || s.has('g') {
        for t in s.floor_threads() {
            jobs.push(Job::Floor(FloorKind::Broadcast, t));
            jobs.push(Job::Floor(FloorKind::Wake, t));
        }
    }
    if s.has('c') {
        jobs.push(Job::BasePacked);
    }
    if s.has('d') || s.has('e') {
        jobs.push(Job::BaseSeq);
    }
    jobs
}

/// The full matrix of policy `pi` with the first group-commit setting.
fn plan_matrix(s: &Settings, pi: usize, jobs: &mut Vec<Job>) {
    if s.has('a') {
        jobs.push(Job::A(0, pi, 0));
    }
    if s.has('b') {
        jobs.extend(s.threads.iter().map(|&t| Job::B(0, pi, 0, t)));
    }
    if s.has('g') {
        jobs.extend(s.tasks.iter().map(|&n| Job::G(pi, 0, n)));
    }
    if s.has('c') {
        jobs.extend(s.windows.iter().map(|&w| Job::C(pi, 0, w)));
    }
    for (w, j) in [('d', Job::D(pi)), ('e', Job::E(pi)), ('r', Job::R(pi))] {
        if s.has(w) {
            jobs.push(j);
        }
    }
    if s.has('t') && s.policies[pi].is_durable() {
        jobs.push(Job::T(pi));
    }
}

/// An extra group-commit setting `gi` (or, on engine `ei` > 0, any setting):
/// a, b at --gc-threads, and on the first engine c and g too.
fn plan_gc(s: &Settings, ei: usize, pi: usize, gi: usize, jobs: &mut Vec<Job>) {
    if s.has('a') && (gi > 0 || ei > 0) {
        jobs.push(Job::A(ei, pi, gi));
    }
    if s.has('b') {
        jobs.extend(s.gc_threads.iter().map(|&t| Job::B(ei, pi, gi, t)));
    }
    if ei == 0 && s.has('c') {
        jobs.extend(s.windows.iter().map(|&w| Job::C(pi, gi, w)));
    }
    if ei == 0 && s.has('g') {
        jobs.extend(s.tasks.iter().map(|&n| Job::G(pi, gi, n)));
    }
}

fn plan(s: &Settings) -> Vec<Job> {
    let mut jobs = plan_baselines(s);
    let in_gc = |p: &Policy| s.gc_policies.iter().any(|g| g == &p.label || g == p.kind());
    for (pi, p) in s.policies.iter().enumerate() {
        plan_matrix(s, pi, &mut jobs);
        if in_gc(p) {
            for gi in 1..s.gcs.len() {
                plan_gc(s, 0, pi, gi, &mut jobs);
            }
        }
    }
    // The other engines only for what the recommendation compares: a and b
    // under the durable policies.
    for ei in 1..s.engines.len() {
        for (pi, p) in s.policies.iter().enumerate() {
            if !p.is_durable() {
                continue;
            }
            let gcs = if in_gc(p) { s.gcs.len() } else { 1 };
            for gi in 0..gcs {
                plan_gc(s, ei, pi, gi, &mut jobs);
            }
        }
    }
    if s.has('f') {
        jobs.push(Job::F);
    }
    jobs
}

fn describe(s: &Settings, j: &Job) -> String {
    let p = |i: usize| s.policies[i].label.clone();
    let g = |i: usize| s.gcs[i].label.clone();
    let e = |i: usize| engine_name(s.engines[i]);
    match j {
        Job::Raw(r) => format!("baseline: raw 4 KiB {}, QD1", r.label()),
        Job::Floor(k, t) => format!("baseline: {} at {t} blocking writers", k.label()),
        Job::BasePacked => format!(
            "baseline: raw {} KiB write ({} entries) + linked fdatasync, QD1",
            s.packed_write_size() >> 10,
            s.raw_entries_per_commit
        ),
        Job::BaseSeq => format!(
            "baseline: raw sequential write and read of {} MiB, {} KiB x QD{}",
            s.volume >> 20,
            s.raw_io >> 10,
            s.raw_qd
        ),
        Job::A(ei, pi, gi) => format!("a: one writer, {} {} {}", e(*ei), p(*pi), g(*gi)),
        Job::B(ei, pi, gi, t) => {
            format!("b: {t} waiting writers, {} {} {}", e(*ei), p(*pi), g(*gi))
        }
        Job::G(pi, gi, n) => format!("g: {n} async tasks, {} {}", p(*pi), g(*gi)),
        Job::C(pi, gi, w) => format!("c: submit window {w}, {} {}", p(*pi), g(*gi)),
        Job::D(pi) => format!("d: {} KiB entries, {}", s.large_entry_size >> 10, p(*pi)),
        Job::E(pi) => format!("e: replay forward and backward, {}", p(*pi)),
        Job::R(pi) => format!("r: rollover stall check, {}", p(*pi)),
        Job::T(pi) => format!("t: live tail at {} appends/s, {}", s.tail_rate, p(*pi)),
        Job::F => format!(
            "f: open a {} MiB and a {} MiB log",
            s.small_log >> 20,
            s.large_log >> 20
        ),
    }
}

const TMPFS_MAGIC: i64 = 0x0102_1994;

fn fs_type(dir: &Path) -> Option<(i64, &'static str)> {
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: statfs fills the struct; c is a valid C string.
    let mut s: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    let t = s.f_type as i64;
    let name = match t {
        0xEF53 => "ext4",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        TMPFS_MAGIC => "tmpfs",
        0x794C_7630 => "overlayfs",
        0x2FC1_2FC1 => "zfs",
        0xF2F5_2010 => "f2fs",
        _ => "other",
    };
    Some((t, name))
}

fn warn_if_tmpfs(dir: &Path) -> &'static str {
    match fs_type(dir) {
        Some((TMPFS_MAGIC, name)) => {
            eprintln!(
                "warning: {} is on tmpfs: O_DIRECT and fdatasync mean nothing there; use --dir on a real disk",
                dir.display()
            );
            name
        }
        Some((_, name)) => name,
        None => "unknown",
    }
}

/// "engines uring (all workloads), sync (a, b), zero-fill on".
fn engines_text(s: &Settings) -> String {
    let mut v = vec![format!("{} (all workloads)", engine_name(s.engine()))];
    v.extend(
        s.engines[1..]
            .iter()
            .map(|e| format!("{} (a, b)", engine_name(*e))),
    );
    format!(
        "engines {}, zero-fill {}",
        v.join(", "),
        if s.zero_fill { "on" } else { "off" }
    )
}

/// Everything measured, handed to the report.
#[derive(Default)]
pub(crate) struct Results {
    pub rows: Vec<Row>,
    pub opens: Vec<OpenRow>,
    pub base: Baselines,
    pub errors: Vec<String>,
}

pub fn run(a: BenchArgs) -> Result<(), String> {
    let s = Settings::from_args(&a)?;
    let base_dir = a.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let fs = warn_if_tmpfs(&base_dir);
    let tmp = tempfile::Builder::new()
        .prefix("xwal-bench-")
        .tempdir_in(&base_dir)
        .map_err(|e| format!("temp dir in {}: {e}", base_dir.display()))?;
    let load_before = stats::loadavg();
    let started = Instant::now();
    eprintln!(
        "xwal bench in {} ({fs}), {}, {} s per run, load average {load_before}",
        tmp.path().display(),
        engines_text(&s),
        s.seconds
    );
    if let Some(n) = s.cpu_hog {
        let b = report::beside(n);
        eprintln!("every job runs twice: idle, then {b} (--cpu-hog)");
    }
    let ctx = Ctx::new(tmp.path().to_path_buf(), &s);
    let (mut res, mut loaded) = run_jobs(&ctx, &s, &plan(&s), started)?;
    res.base.mark_limit(&mut res.rows);
    if let Some(l) = &mut loaded {
        l.base.mark_limit(&mut l.rows);
    }
    let meta = report::Meta {
        dir: tmp.path().display().to_string(),
        fs: fs.to_string(),
        engine: engines_text(&s),
        load_before,
        load_after: stats::loadavg(),
        seconds_total: started.elapsed().as_secs_f64(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| k.trim().to_string())
            .unwrap_or_default(),
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
    };
    let targets = report::targets(&s, &res);
    let loaded_rows = loaded.as_ref().map(|l| l.rows.as_slice());
    let picks = recommend::recommend(&s, &res.rows, loaded_rows, &meta);
    report::print(&s, &res, &targets, &meta);
    let busy = loaded.as_ref().map(|l| {
        let busy = report::busy_targets(&s, &res, l);
        report::print_loaded(&s, &res, l, &busy);
        busy
    });
    recommend::print(&picks, s.cpu_hog);
    if let Some(path) = &a.json {
        let both = loaded.as_ref().zip(busy.as_deref());
        report::write_json(path, &s, &res, both, &targets, &picks, &meta)?;
    }
    if let Some(path) = &a.plot {
        let rows = plot_rows(&s, &res, loaded.as_ref());
        plot::draw(path, &rows).map_err(|e| format!("plot {}: {e}", path.display()))?;
        eprintln!("chart written to {}", path.display());
    }
    drop(ctx);
    tmp.close()
        .map_err(|e| format!("removing the temp dir: {e}"))?;
    let failed = res.errors.len() + loaded.as_ref().map_or(0, |l| l.errors.len());
    if failed > 0 {
        return Err(format!(
            "{failed} run(s) failed (listed above); the other results are valid"
        ));
    }
    Ok(())
}

/// The chart's rows: the idle ones, and with `--cpu-hog` the loaded xwal rows
/// as strategies of their own ("..., beside N busy").
fn plot_rows(s: &Settings, idle: &Results, loaded: Option<&Results>) -> Vec<Row> {
    let mut rows = idle.rows.clone();
    if let (Some(l), Some(n)) = (loaded, s.cpu_hog) {
        rows.extend(
            l.rows
                .iter()
                .filter(|r| r.workload != "baseline" && r.workload != "floor")
                .map(|r| {
                    let mut r = r.clone();
                    r.group_commit = format!("{}, beside {n} busy", r.group_commit);
                    r
                }),
        );
    }
    rows
}

/// Runs `jobs` in order under a progress bar; a failed job is listed in
/// `errors` and the others go on, unless no raw QD1 baseline ran. With
/// `--cpu-hog N` each job runs twice in a row, idle and then beside N busy
/// threads, into the second `Results` (its own baselines, its own kept logs).
fn run_jobs(
    ctx: &Ctx,
    s: &Settings,
    jobs: &[Job],
    started: Instant,
) -> Result<(Results, Option<Results>), String> {
    let runs = if s.cpu_hog.is_some() { 2 } else { 1 };
    let pb = ProgressBar::with_draw_target(
        Some((jobs.len() * runs) as u64),
        ProgressDrawTarget::stderr(),
    );
    pb.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {wide_msg}")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    pb.enable_steady_tick(Duration::from_millis(250));
    let log_lines = !std::io::stderr().is_terminal();
    // [idle, loaded]: each with the logs c and d keep for e.
    let mut sets: Vec<(Results, HashMap<usize, Kept>)> =
        (0..runs).map(|_| Default::default()).collect();
    for job in jobs {
        for (li, (res, kept)) in sets.iter_mut().enumerate() {
            let hog_threads = if li == 1 { s.cpu_hog } else { None };
            // Every later ratio needs the raw limit: without one, stop here.
            if !matches!(job, Job::Raw(_)) && res.base.limit.is_none() {
                pb.finish_and_clear();
                return Err(format!(
                    "no raw QD1 baseline ran{}: {}",
                    hog_threads.map_or(String::new(), |n| format!(" {}", report::beside(n))),
                    res.errors.join("; ")
                ));
            }
            let mut what = describe(s, job);
            if let Some(n) = hog_threads {
                what.push_str(&format!(" ({})", report::beside(n)));
            }
            pb.set_message(what.clone());
            if log_lines {
                eprintln!("[{:>5.1} s] {what}", started.elapsed().as_secs_f64());
            }
            // The hog runs from right before the job to right after it.
            let hog = hog_threads.map(hog::Hog::start);
            stats::reset_peak_rss();
            let rss_start = stats::rss_mib();
            let first_row = res.rows.len();
            let out = run_job(ctx, s, job, res, kept);
            if let Some(h) = hog {
                h.stop();
            }
            for row in &mut res.rows[first_row..] {
                row.rss_growth_mib = (row.peak_rss_mib - rss_start).max(0.0);
            }
            if let Err(e) = out {
                let msg = format!("{what}: {e}");
                pb.suspend(|| eprintln!("error: {msg}"));
                res.errors.push(msg);
            }
            pb.inc(1);
        }
    }
    for (_, kept) in &mut sets {
        for (_, k) in kept.drain() {
            k.remove();
        }
    }
    pb.finish_and_clear();
    let mut sets = sets.into_iter().map(|(r, _)| r);
    let idle = sets.next().unwrap_or_default();
    Ok((idle, sets.next()))
}

/// A baseline job: raw loops and floors, measured without xwal.
fn run_baseline(ctx: &Ctx, s: &Settings, job: &Job, res: &mut Results) -> Result<(), String> {
    match *job {
        Job::Raw(strategy) => {
            let dir = ctx.fresh_dir("raw-qd1")?;
            let r = baseline::qd1_loop(&dir, strategy, 4096, s.duration(), 64 << 20);
            let _ = std::fs::remove_dir_all(&dir);
            let name = format!("raw 4K {} QD1", strategy.label());
            let row = Row::baseline_loop(&name, &r?, 1, 4096, stats::peak_rss_mib());
            res.base.add_raw(&row);
            res.rows.push(row);
        }
        Job::Floor(kind, threads) => {
            let dir = ctx.fresh_dir("floor")?;
            let r = floors::run(kind, &dir, threads, s.duration());
            let _ = std::fs::remove_dir_all(&dir);
            let row = Row::floor(kind, threads, &r?, stats::peak_rss_mib());
            res.base.add_floor(kind, &row);
            res.rows.push(row);
        }
        Job::BasePacked => {
            let dir = ctx.fresh_dir("raw-packed")?;
            let size = s.packed_write_size();
            let r = baseline::uring_write_fdatasync(
                &dir,
                "packed.dat",
                size,
                s.duration(),
                (size as u64 * 2048).clamp(64 << 20, 512 << 20),
            );
            let _ = std::fs::remove_dir_all(&dir);
            let row = Row::baseline_loop(
                &format!(
                    "raw {}K write+fdatasync ({} e/commit)",
                    size >> 10,
                    s.raw_entries_per_commit
                ),
                &r?,
                s.raw_entries_per_commit,
                s.entry_size,
                stats::peak_rss_mib(),
            );
            res.base.packed = Some(report::LoopRef::of(&row));
            res.rows.push(row);
        }
        Job::BaseSeq => run_seq_baseline(ctx, s, res)?,
        _ => return Err(format!("not a baseline: {job:?}")),
    }
    Ok(())
}

fn run_seq_baseline(ctx: &Ctx, s: &Settings, res: &mut Results) -> Result<(), String> {
    let dir = ctx.fresh_dir("raw-seq")?;
    let path = dir.join("seq.dat");
    let rw = baseline::uring_sequential_write(&path, s.volume, s.raw_io, s.raw_qd)
        .and_then(|w| baseline::uring_sequential_read(&path, s.raw_io, s.raw_qd).map(|r| (w, r)));
    let _ = std::fs::remove_dir_all(&dir);
    let (w, r) = rw?;
    let rss = stats::peak_rss_mib();
    let shape = format!("{}K QD{}", s.raw_io >> 10, s.raw_qd);
    let wr = Row::baseline_bw(&format!("raw seq write {shape}"), &w, s.raw_io, rss);
    let rr = Row::baseline_bw(&format!("raw seq read {shape}"), &r, s.raw_io, rss);
    res.base.seq_write_mb_s = Some(wr.mb_per_s);
    res.base.seq_read_mb_s = Some(rr.mb_per_s);
    res.base.seq_write_name = wr.name.clone();
    res.base.seq_read_name = rr.name.clone();
    res.rows.push(wr);
    res.rows.push(rr);
    Ok(())
}

impl Results {
    /// A workload row, run on `engine`, related to the baselines.
    fn add(&mut self, mut row: Row, engine: IoEngine) {
        row.engine = engine_name(engine).into();
        self.rows.push(self.base.relate(row));
    }
}

fn run_job(
    ctx: &Ctx,
    s: &Settings,
    job: &Job,
    res: &mut Results,
    kept: &mut HashMap<usize, Kept>,
) -> Result<(), String> {
    // Workload e replays the logs c and d wrote; --quick writes small ones instead.
    let keep_logs = s.has('e') && !s.quick;
    let (e0, pol, gcs) = (s.engine(), &s.policies, &s.gcs);
    match *job {
        Job::Raw(_) | Job::Floor(..) | Job::BasePacked | Job::BaseSeq => {
            run_baseline(ctx, s, job, res)?
        }
        Job::A(ei, pi, gi) | Job::B(ei, pi, gi, _) => {
            let (t, letter) = match *job {
                Job::B(.., t) => (t, 'b'),
                _ => (1, 'a'),
            };
            let e = s.engines[ei];
            let row = workloads::waiting(ctx, s, e, &pol[pi], &gcs[gi], t, letter)?;
            res.add(row, e);
        }
        Job::G(pi, gi, n) => res.add(tasks::async_tasks(ctx, s, &pol[pi], &gcs[gi], n)?, e0),
        Job::C(pi, gi, w) => {
            let keep = keep_logs && gi == 0 && kept.get(&pi).is_none_or(|k| k.small.is_none());
            let (row, log) = workloads::pipelined(ctx, s, &pol[pi], &gcs[gi], w, keep)?;
            if let Some(log) = log {
                kept.entry(pi).or_default().small = Some(log);
            }
            res.add(row, e0);
        }
        Job::D(pi) => {
            let (row, log) = workloads::large(ctx, s, &pol[pi], keep_logs)?;
            if let Some(log) = log {
                kept.entry(pi).or_default().large = Some(log);
            }
            res.add(row, e0);
        }
        Job::E(pi) => {
            let k = kept.remove(&pi).unwrap_or_default();
            let out = workloads::replay(ctx, s, &pol[pi], &k);
            k.remove();
            for row in out? {
                res.add(row, e0);
            }
        }
        Job::R(pi) => {
            for row in workloads::rollover(ctx, s, &pol[pi])? {
                res.add(row, e0);
            }
        }
        Job::T(pi) => {
            for row in tail::tail_latency(ctx, s.seconds, s.tail_rate, &pol[pi])? {
                res.add(row, e0);
            }
        }
        Job::F => {
            res.opens = workloads::open_times(ctx, s)?;
            res.opens.extend(workloads::tail_open_times(ctx, s)?);
        }
    }
    Ok(())
}
