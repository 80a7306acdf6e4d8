//! Rows, ratios to baselines, the printed tables, the targets of issues 3
//! and 12, and JSON; with `--cpu-hog`, the loaded rows, the idle/loaded
//! comparison and the busy_ targets.

use super::baseline::{BandwidthResult, LoopResult};
use super::floors::{FloorKind, FloorResult};
use super::recommend::Pick;
use super::stats;
use super::workloads::{Measured, Policy};
use super::{Results, Settings};
use serde_json::json;
use std::path::Path;

/// One measured line. `ratio_to_baseline` compares `ratio_unit` (entries/s
/// or MB/s) with the row named in `baseline`.
#[derive(Debug, Clone)]
pub struct Row {
    /// "baseline", "floor", or the workload letter.
    pub workload: String,
    pub name: String,
    /// The I/O engine of an xwal row ("uring", "sync"); "-" for baselines.
    pub engine: String,
    pub policy: String,
    pub policy_kind: String,
    pub group_commit: String,
    pub threads: usize,
    pub entry_size: usize,
    pub entries: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub entries_per_s: f64,
    pub mb_per_s: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    pub baseline: String,
    pub ratio_to_baseline: f64,
    pub ratio_unit: &'static str,
    pub p50_ratio: Option<f64>,
    pub p99_ratio: Option<f64>,
    /// b and g: entries/s over the broadcast floor at the same count.
    pub floor_ratio: Option<f64>,
    /// This raw QD1 row is the raw limit (the fastest of them).
    pub limit: bool,
    pub peak_rss_mib: f64,
    /// Peak RSS minus RSS when the run started.
    pub rss_growth_mib: f64,
    pub note: String,
}

impl Row {
    pub fn baseline_loop(
        name: &str,
        r: &LoopResult,
        entries_per_op: usize,
        entry_size: usize,
        rss: f64,
    ) -> Row {
        let secs = r.elapsed.as_secs_f64();
        let entries = r.ops * entries_per_op as u64;
        let bytes = entries * entry_size as u64;
        Row {
            workload: "baseline".into(),
            name: name.into(),
            engine: "-".into(),
            policy: "-".into(),
            policy_kind: "-".into(),
            group_commit: "-".into(),
            threads: 1,
            entry_size,
            entries,
            bytes,
            seconds: secs,
            entries_per_s: entries as f64 / secs,
            mb_per_s: bytes as f64 / secs / 1e6,
            p50_us: r.latency.quantile_us(0.5),
            p99_us: r.latency.quantile_us(0.99),
            p999_us: r.latency.quantile_us(0.999),
            max_us: r.latency.quantile_us(1.0),
            baseline: name.into(),
            ratio_to_baseline: 1.0,
            ratio_unit: "entries/s",
            p50_ratio: Some(1.0),
            p99_ratio: Some(1.0),
            floor_ratio: None,
            limit: false,
            peak_rss_mib: rss,
            rss_growth_mib: 0.0,
            note: if entries_per_op > 1 {
                format!("{:.0} commits/s; latency per commit", r.ops as f64 / secs)
            } else {
                String::new()
            },
        }
    }

    pub fn baseline_bw(name: &str, r: &BandwidthResult, io: usize, rss: f64) -> Row {
        let secs = r.elapsed.as_secs_f64();
        let entries = r.bytes / io as u64;
        Row {
            workload: "baseline".into(),
            name: name.into(),
            engine: "-".into(),
            policy: "-".into(),
            policy_kind: "-".into(),
            group_commit: "-".into(),
            threads: 1,
            entry_size: io,
            entries,
            bytes: r.bytes,
            seconds: secs,
            entries_per_s: entries as f64 / secs,
            mb_per_s: r.mb_per_s(),
            p50_us: 0.0,
            p99_us: 0.0,
            p999_us: 0.0,
            max_us: 0.0,
            baseline: name.into(),
            ratio_to_baseline: 1.0,
            ratio_unit: "MB/s",
            p50_ratio: None,
            p99_ratio: None,
            floor_ratio: None,
            limit: false,
            peak_rss_mib: rss,
            rss_growth_mib: 0.0,
            note: format!("{} MiB", r.bytes >> 20),
        }
    }

    /// A floor of `threads` blocking writers: appends/s, latency per append.
    pub fn floor(kind: FloorKind, threads: usize, r: &FloorResult, rss: f64) -> Row {
        let mut row = Row::baseline_loop(kind.label(), &r.appends, 1, 0, rss);
        let secs = r.appends.elapsed.as_secs_f64().max(1e-9);
        row.workload = "floor".into();
        row.threads = threads;
        // A floor is a reference of its own: no ratio to another baseline.
        row.baseline = String::new();
        (row.p50_ratio, row.p99_ratio) = (None, None);
        row.note = format!(
            "{} batches/s, {:.1} appends per batch{}",
            thousands(r.batches as f64 / secs),
            r.appends.ops as f64 / r.batches.max(1) as f64,
            match kind {
                FloorKind::Broadcast => "; 4 KiB pwrite O_DIRECT + fdatasync per batch",
                FloorKind::Wake => "; no disk",
            }
        );
        row
    }

    /// A workload row; the ratio is filled in by [`Baselines::relate`].
    #[allow(clippy::too_many_arguments)]
    pub fn measured(
        workload: char,
        name: &str,
        policy: &Policy,
        gc: &str,
        threads: usize,
        entry_size: usize,
        m: &Measured,
        latency: bool,
        note: &str,
    ) -> Row {
        let secs = m.elapsed.as_secs_f64().max(1e-9);
        let bytes = m.entries * entry_size as u64;
        let q = |p: f64| {
            if latency {
                m.latency.quantile_us(p)
            } else {
                0.0
            }
        };
        Row {
            workload: workload.to_string(),
            name: name.into(),
            engine: String::new(),
            policy: policy.label.clone(),
            policy_kind: policy.kind().into(),
            group_commit: gc.into(),
            threads,
            entry_size,
            entries: m.entries,
            bytes,
            seconds: secs,
            entries_per_s: m.entries as f64 / secs,
            mb_per_s: bytes as f64 / secs / 1e6,
            p50_us: q(0.5),
            p99_us: q(0.99),
            p999_us: q(0.999),
            max_us: q(1.0),
            baseline: String::new(),
            ratio_to_baseline: 0.0,
            ratio_unit: "entries/s",
            p50_ratio: None,
            p99_ratio: None,
            floor_ratio: None,
            limit: false,
            peak_rss_mib: stats::peak_rss_mib(),
            rss_growth_mib: 0.0,
            note: note.into(),
        }
    }

    fn is(&self, w: &str, kind: &str, gc: &str) -> bool {
        self.workload == w && self.policy_kind == kind && self.group_commit == gc
    }

    /// The same run in another set (idle / beside busy threads): same
    /// workload, name, engine, policy, group commit and threads.
    pub fn same_run_as(&self, o: &Row) -> bool {
        self.workload == o.workload
            && self.name == o.name
            && self.engine == o.engine
            && self.policy == o.policy
            && self.group_commit == o.group_commit
            && self.threads == o.threads
    }
}

/// A latency-loop baseline, for ratios.
#[derive(Debug, Clone)]
pub struct LoopRef {
    pub name: String,
    pub entries_per_s: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

impl LoopRef {
    pub fn of(row: &Row) -> LoopRef {
        LoopRef {
            name: row.name.clone(),
            entries_per_s: row.entries_per_s,
            p50_us: row.p50_us,
            p99_us: row.p99_us,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Baselines {
    /// The raw limit: the fastest raw QD1 loop by entries/s.
    pub limit: Option<LoopRef>,
    /// Every raw QD1 loop that ran, in run order.
    pub raw: Vec<LoopRef>,
    /// (kind, threads, appends/s) of each floor that ran.
    pub floors: Vec<(FloorKind, usize, f64)>,
    pub packed: Option<LoopRef>,
    pub seq_write_mb_s: Option<f64>,
    pub seq_read_mb_s: Option<f64>,
    pub seq_write_name: String,
    pub seq_read_name: String,
}

impl Baselines {
    /// A raw QD1 loop; the fastest so far becomes the raw limit.
    pub fn add_raw(&mut self, row: &Row) {
        let r = LoopRef::of(row);
        if self
            .limit
            .as_ref()
            .is_none_or(|l| r.entries_per_s > l.entries_per_s)
        {
            self.limit = Some(r.clone());
        }
        self.raw.push(r);
    }

    pub fn add_floor(&mut self, kind: FloorKind, row: &Row) {
        self.floors.push((kind, row.threads, row.entries_per_s));
    }

    /// The floor of `kind` at `threads` blocking writers, in appends/s.
    pub fn floor(&self, kind: FloorKind, threads: usize) -> Option<f64> {
        self.floors
            .iter()
            .find(|(k, t, _)| *k == kind && *t == threads)
            .map(|f| f.2)
    }

    /// Flags the raw limit's row and relates every raw QD1 row to it, once
    /// every raw loop has run.
    pub fn mark_limit(&self, rows: &mut [Row]) {
        let Some(l) = &self.limit else { return };
        let raw = |r: &Row| r.workload == "baseline" && self.raw.iter().any(|x| x.name == r.name);
        for row in rows.iter_mut().filter(|r| raw(r)) {
            row.baseline = l.name.clone();
            row.ratio_to_baseline = row.entries_per_s / l.entries_per_s;
            row.p50_ratio = Some(row.p50_us / l.p50_us);
            row.p99_ratio = Some(row.p99_us / l.p99_us);
            if row.name == l.name {
                row.limit = true;
                row.note = "<- raw limit: the fastest QD1 strategy here".into();
            }
        }
    }

    /// Fills in the row's baseline and ratios: a, b, g, r against the raw
    /// limit (b, g also against the broadcast floor at the same count); c
    /// against the packed loop; d against raw sequential write; e against
    /// raw sequential read (MB/s).
    pub fn relate(&self, mut row: Row) -> Row {
        match row.workload.as_str() {
            "a" | "b" | "g" | "r" => {
                if let Some(b) = &self.limit {
                    row.baseline = b.name.clone();
                    row.ratio_to_baseline = row.entries_per_s / b.entries_per_s;
                    row.p50_ratio = Some(row.p50_us / b.p50_us);
                    row.p99_ratio = Some(row.p99_us / b.p99_us);
                }
                if row.workload == "b" || row.workload == "g" {
                    row.floor_ratio = self
                        .floor(FloorKind::Broadcast, row.threads)
                        .map(|f| row.entries_per_s / f);
                }
            }
            "c" => {
                if let Some(b) = &self.packed {
                    row.baseline = b.name.clone();
                    row.ratio_to_baseline = row.entries_per_s / b.entries_per_s;
                }
            }
            "d" => {
                if let Some(b) = self.seq_write_mb_s {
                    row.baseline = self.seq_write_name.clone();
                    row.ratio_unit = "MB/s";
                    row.ratio_to_baseline = row.mb_per_s / b;
                }
            }
            "e" if row.baseline.is_empty() => {
                if let Some(b) = self.seq_read_mb_s {
                    row.baseline = self.seq_read_name.clone();
                    row.ratio_unit = "MB/s";
                    row.ratio_to_baseline = row.mb_per_s / b;
                }
            }
            _ => {}
        }
        row
    }
}

/// Workload f: one log opened under one policy.
#[derive(Debug, Clone)]
pub struct OpenRow {
    pub log: String,
    pub payload_bytes: u64,
    pub entries: u64,
    pub segments: usize,
    pub scanned_bytes: u64,
    pub policy: String,
    pub open_ms_median: f64,
    pub open_ms_min: f64,
    pub open_ms_max: f64,
    pub rss_delta_mib: f64,
}

impl OpenRow {
    /// The row of log `log` (`entries` of `entry_size` bytes) under `policy`, before it is timed.
    pub fn log(log: &str, entries: u64, entry_size: usize, policy: &str) -> OpenRow {
        OpenRow {
            log: log.to_string(),
            payload_bytes: entries * entry_size as u64,
            entries,
            segments: 0,
            scanned_bytes: 0,
            policy: policy.to_string(),
            open_ms_median: 0.0,
            open_ms_min: 0.0,
            open_ms_max: 0.0,
            rss_delta_mib: 0.0,
        }
    }
}

/// Facts about the run.
pub struct Meta {
    pub dir: String,
    pub fs: String,
    pub engine: String,
    pub load_before: String,
    pub load_after: String,
    pub seconds_total: f64,
    pub kernel: String,
    pub cpus: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Miss,
    NotRun,
    /// Measured by the peers benchmark, not here.
    Peers,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Miss => "MISS",
            Status::NotRun => "not run",
            Status::Peers => "see peers",
        }
    }
}

/// One target of issue 3.
pub struct Target {
    pub id: &'static str,
    pub text: String,
    pub measured: String,
    pub required: String,
    pub status: Status,
}

fn t(
    id: &'static str,
    text: impl Into<String>,
    v: Option<(f64, f64)>,
    higher_is_better: bool,
    fmt: impl Fn(f64) -> String,
) -> Target {
    let text = text.into();
    match v {
        None => Target {
            id,
            text,
            measured: "-".into(),
            required: "-".into(),
            status: Status::NotRun,
        },
        Some((measured, bound)) => {
            let ok = if higher_is_better {
                measured >= bound
            } else {
                measured <= bound
            };
            Target {
                id,
                text,
                measured: fmt(measured),
                required: format!(
                    "{} {}",
                    if higher_is_better { ">=" } else { "<=" },
                    fmt(bound)
                ),
                status: if ok && measured.is_finite() {
                    Status::Pass
                } else {
                    Status::Miss
                },
            }
        }
    }
}

fn us(v: f64) -> String {
    format!("{v:.0} us")
}
fn eps(v: f64) -> String {
    format!("{} entries/s", thousands(v))
}
fn mbs(v: f64) -> String {
    format!("{v:.0} MB/s")
}
fn ratio(v: f64) -> String {
    format!("{v:.2}x")
}
fn ms(v: f64) -> String {
    format!("{v:.1} ms")
}
fn mib(v: f64) -> String {
    format!("{v:.1} MiB")
}

pub(super) fn thousands(v: f64) -> String {
    let n = v.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The targets of issues 3 and 12, evaluated on the `always` policy with the
/// default group-commit setting (the durable default configuration) on the
/// first engine. Every bound is a ratio to a baseline of the same run, or to
/// the row's own figures, so that a slow disk or a busy machine moves the
/// bound with the result.
pub fn targets(s: &Settings, r: &Results) -> Vec<Target> {
    let find = |w: &str, pred: &dyn Fn(&Row) -> bool| judged(s, r, w, pred);
    let mut out = writer_targets(r, find("a", &|_| true).first());
    out.extend(many_targets(r, &find));
    let c_best = find("c", &|_| true)
        .into_iter()
        .max_by(|x, y| x.entries_per_s.total_cmp(&y.entries_per_s));
    out.push(t(
        "c_raw",
        format!(
            "(c) submit pipeline, always (best window): >= 0.85x raw packed loop at {} entries/commit",
            s.raw_entries_per_commit
        ),
        c_best
            .as_ref()
            .zip(r.base.packed.as_ref())
            .map(|(c, p)| (c.entries_per_s, 0.85 * p.entries_per_s)),
        true,
        eps,
    ));
    out.push(Target {
        id: "c_nodedb",
        text: "(c) >= 1.3x nodedb-wal's io_uring writer".into(),
        measured: "-".into(),
        required: "scripts/bench-peers.sh".into(),
        status: Status::Peers,
    });
    let steady = find("r", &|x| x.name.contains("steady")).into_iter().next();
    let roll = find("r", &|x| x.name.contains("rollover"))
        .into_iter()
        .next();
    out.push(t(
        "rollover",
        "rollover, always: p99.9 across rollovers <= 2x steady-state p99",
        steady
            .as_ref()
            .zip(roll.as_ref())
            .map(|(st, ro)| (ro.p999_us, 2.0 * st.p99_us)),
        false,
        us,
    ));
    let d = find("d", &|_| true).into_iter().next();
    out.push(t(
        "d_bw",
        "(d) 64 KiB entries, always: >= 85% of raw sequential write bandwidth",
        d.as_ref()
            .zip(r.base.seq_write_mb_s)
            .map(|(d, w)| (d.mb_per_s, 0.85 * w)),
        true,
        mbs,
    ));
    out.extend(replay_targets(s, &find));
    let tail = find("t", &|x| x.name.contains("in-process"))
        .into_iter()
        .next();
    out.push(t(
        "t_tail",
        format!(
            "(t) live tail in-process at {} appends/s: p99 durable -> delivered <= 200 us",
            s.tail_rate
        ),
        tail.as_ref().map(|x| (x.p99_us, 200.0)),
        false,
        us,
    ));
    out.extend(open_targets(s, r));
    out
}

/// Finds the rows of a workload that the targets judge (see [`targets`]).
type Find<'a> = dyn Fn(&str, &dyn Fn(&Row) -> bool) -> Vec<Row> + 'a;

/// The rows of workload `w` in `r` that the targets judge: policy `always`,
/// the first group-commit setting, the first engine, and `pred`.
fn judged(s: &Settings, r: &Results, w: &str, pred: &dyn Fn(&Row) -> bool) -> Vec<Row> {
    let gc0 = s.gcs[0].label.as_str();
    let engine = super::workloads::engine_name(s.engine());
    r.rows
        .iter()
        .filter(|x| x.is(w, "always", gc0) && x.engine == engine && pred(x))
        .cloned()
        .collect()
}

/// `--cpu-hog N`: the targets of a busy machine, on the same rows as
/// [`targets`]. Each loaded bound is a ratio to the raw limit or floor
/// measured beside the same N busy threads; the idle ones to the idle set's.
pub fn busy_targets(s: &Settings, idle: &Results, loaded: &Results) -> Vec<Target> {
    let n = s.cpu_hog.unwrap_or(0);
    let first = |r: &Results, w: &str, pred: &dyn Fn(&Row) -> bool| {
        judged(s, r, w, pred).into_iter().next()
    };
    let beside = beside(n);
    let (a, lim) = (first(loaded, "a", &|_| true), loaded.base.limit.as_ref());
    let b64 = first(loaded, "b", &|x| x.threads == 64);
    let floor64 = loaded.base.floor(FloorKind::Broadcast, 64);
    let (ia, ilim) = (first(idle, "a", &|_| true), idle.base.limit.as_ref());
    let ib64 = first(idle, "b", &|x| x.threads == 64);
    let ifloor64 = idle.base.floor(FloorKind::Broadcast, 64);
    let tail = |r: &Results| first(r, "t", &|x| x.name.contains("in-process"));
    let (itail, tail) = (tail(idle), tail(loaded));
    vec![
        t(
            "busy_a_eps",
            format!(
                "(a) one writer, always, {beside}: >= 0.9x the raw limit's throughput (loaded)"
            ),
            a.as_ref()
                .zip(lim)
                .map(|(a, l)| (a.entries_per_s, 0.9 * l.entries_per_s)),
            true,
            eps,
        ),
        t(
            "busy_a_p50",
            format!("(a) one writer, always, {beside}: p50 <= 1.2x the raw limit's p50 (loaded)"),
            a.as_ref().zip(lim).map(|(a, l)| (a.p50_us, 1.2 * l.p50_us)),
            false,
            us,
        ),
        t(
            "busy_a_p99",
            format!("(a) one writer, always, {beside}: p99 <= 1.5x the raw limit's p99 (loaded)"),
            a.as_ref().zip(lim).map(|(a, l)| (a.p99_us, 1.5 * l.p99_us)),
            false,
            us,
        ),
        t(
            "busy_b_64",
            format!(
                "(b) 64 blocking writers, always, {beside}: >= 1.0x the broadcast floor at 64 (loaded)"
            ),
            b64.as_ref().zip(floor64).map(|(b, f)| (b.entries_per_s, f)),
            true,
            eps,
        ),
        Target {
            id: "busy_b_peers",
            text: format!("(b) 64 writers, {beside}: >= 1.5x the best peer (loaded)"),
            measured: "-".into(),
            required: "scripts/bench-peers.sh --cpu-hog".into(),
            status: Status::Peers,
        },
        t(
            "busy_idle_a_eps",
            "(a) one writer, always, idle: >= 0.95x the raw limit's throughput",
            ia.as_ref()
                .zip(ilim)
                .map(|(a, l)| (a.entries_per_s, 0.95 * l.entries_per_s)),
            true,
            eps,
        ),
        t(
            "busy_idle_b_64",
            "(b) 64 blocking writers, always, idle: >= 1.2x the broadcast floor at 64",
            ib64.as_ref()
                .zip(ifloor64)
                .map(|(b, f)| (b.entries_per_s, 1.2 * f)),
            true,
            eps,
        ),
        Target {
            id: "busy_idle_peers",
            text: "(a, b) idle: >= 1.5x the best peer at 1 and at 64 writers".into(),
            measured: "-".into(),
            required: "scripts/bench-peers.sh --cpu-hog".into(),
            status: Status::Peers,
        },
        t(
            "busy_idle_t_tail",
            format!(
                "(t) live tail in-process at {} appends/s, idle: p99 durable -> delivered <= 200 us",
                s.tail_rate
            ),
            itail.as_ref().map(|x| (x.p99_us, 200.0)),
            false,
            us,
        ),
        t(
            "busy_t_tail",
            format!(
                "(t) live tail in-process at {} appends/s, {beside}: p99 durable -> delivered <= 1000 us",
                s.tail_rate
            ),
            tail.as_ref().map(|x| (x.p99_us, 1000.0)),
            false,
            us,
        ),
    ]
}

/// Many writers: 64 blocking threads against the broadcast floor at 64, and
/// 64 async tasks against an absolute figure.
fn many_targets(r: &Results, find: &Find) -> Vec<Target> {
    let mut out = Vec::new();
    let b64 = find("b", &|x| x.threads == 64).into_iter().next();
    let floor64 = r.base.floor(FloorKind::Broadcast, 64);
    out.push(t(
        "b_64",
        "(b) 64 blocking writers, always: >= 1.5x the broadcast floor at 64",
        b64.as_ref()
            .zip(floor64)
            .map(|(b, f)| (b.entries_per_s, 1.5 * f)),
        true,
        eps,
    ));
    out.push(Target {
        id: "b_peers",
        text: "(b) 64 writers: >= 3x the best peer".into(),
        measured: "-".into(),
        required: "scripts/bench-peers.sh".into(),
        status: Status::Peers,
    });
    let g64 = find("g", &|x| x.threads == 64).into_iter().next();
    out.push(t(
        "g_64",
        "(g) 64 async tasks (b-async), always: >= 1,000,000 durable appends/s",
        g64.as_ref().map(|g| (g.entries_per_s, 1e6)),
        true,
        eps,
    ));
    out
}

/// Workload e (issue 13): the batch form against the raw sequential read
/// (entries/s for small entries: the raw bandwidth over the bytes a record
/// takes on disk), both directions; the owned forms against the peers.
fn replay_targets(s: &Settings, find: &Find) -> Vec<Target> {
    let mut out = Vec::new();
    let row = |size: usize, bwd: bool, form: &str| {
        let dir = if bwd { "bwd" } else { "fwd" };
        find("e", &|x| {
            x.entry_size == size && x.name.contains(&format!("{dir} {form}"))
        })
        .into_iter()
        .next()
    };
    // Each row's ratio is to the raw read of its own segment files just
    // before it, in on-disk bytes (record headers, protobuf, padding).
    for bwd in [false, true] {
        let dir = if bwd { "backward" } else { "forward" };
        out.push(t(
            if bwd { "e_small_bwd" } else { "e_small_fwd" },
            format!(
                "(e) replay {dir}, batch, {} B entries: >= 0.8x the raw read of its segments (on-disk bytes/s)",
                s.entry_size
            ),
            row(s.entry_size, bwd, "batch").map(|e| (e.ratio_to_baseline, 0.8)),
            true,
            ratio,
        ));
        out.push(t(
            if bwd { "e_large_bwd" } else { "e_large_fwd" },
            format!(
                "(e) replay {dir}, batch, {} KiB entries: >= 0.9x the raw read of its segments",
                s.large_entry_size >> 10
            ),
            row(s.large_entry_size, bwd, "batch").map(|e| (e.ratio_to_baseline, 0.9)),
            true,
            ratio,
        ));
    }
    out.push(Target {
        id: "e_peers",
        text: "(e) batch >= 1.5x the best peer; Entry channel >= the best peer".into(),
        measured: "-".into(),
        required: "scripts/bench-peers.sh".into(),
        status: Status::Peers,
    });
    out
}

/// Workload f: open time and memory of the large log against the small one.
fn open_targets(s: &Settings, r: &Results) -> Vec<Target> {
    let mut out = Vec::new();
    let open = |log: &str| {
        r.opens
            .iter()
            .find(|o| o.log == log && o.policy == "always")
            .or_else(|| r.opens.iter().find(|o| o.log == log))
            .cloned()
    };
    let (small, large) = (open("small"), open("large"));
    let (tail, full) = (open("tail 1 MiB"), open("tail full"));
    out.push(t(
        "f_tail",
        format!(
            "(f) open a 128 MiB tail segment holding {} KiB (entries up to 1 MiB): <= 25 ms or <= 0.2x a full one's open, whichever is larger",
            s.tail_bytes >> 10
        ),
        tail.as_ref()
            .zip(full.as_ref())
            .map(|(t, f)| (t.open_ms_median, (0.2 * f.open_ms_median).max(25.0))),
        false,
        ms,
    ));
    out.push(t(
        "f_open",
        format!(
            "(f) open a {} MiB log in about the time of a {} MiB one (within 1.25x)",
            s.large_log >> 20,
            s.small_log >> 20
        ),
        small
            .as_ref()
            .zip(large.as_ref())
            .map(|(sm, lg)| (lg.open_ms_median, 1.25 * sm.open_ms_median)),
        false,
        ms,
    ));
    out.push(t(
        "memory",
        "memory: RSS growth while opening the large log <= small log's + 16 MiB",
        small
            .as_ref()
            .zip(large.as_ref())
            .map(|(sm, lg)| (lg.rss_delta_mib, sm.rss_delta_mib + 16.0)),
        false,
        mib,
    ));
    out
}

/// Workload a's targets: throughput and p50 against the raw limit, and its
/// own tail (p99.9 against its own p99).
fn writer_targets(r: &Results, a: Option<&Row>) -> Vec<Target> {
    let limit = r.base.limit.as_ref();
    vec![
        t(
            "a_eps",
            "(a) one writer, always: >= 0.95x the raw limit's throughput",
            a.zip(limit)
                .map(|(a, l)| (a.entries_per_s, 0.95 * l.entries_per_s)),
            true,
            eps,
        ),
        t(
            "a_p50",
            "(a) one writer, always: p50 <= 1.10x the raw limit's p50",
            a.zip(limit).map(|(a, l)| (a.p50_us, 1.10 * l.p50_us)),
            false,
            us,
        ),
        t(
            "a_p999",
            "(a) one writer, always: own p99.9 <= 2x own p99",
            a.map(|a| (a.p999_us, 2.0 * a.p99_us)),
            false,
            us,
        ),
    ]
}

fn opt_ratio(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into())
}

fn num(v: f64, prec: usize) -> String {
    if v == 0.0 {
        "-".into()
    } else if v >= 1e5 {
        thousands(v)
    } else {
        format!("{v:.prec$}")
    }
}

fn print_header() {
    println!(
        "{:<42} {:<6} {:<13} {:<12} {:>4} {:>12} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>5} {:>5} {:>6} {:>6} {:>5}  note",
        "workload",
        "engine",
        "policy",
        "group-commit",
        "thr",
        "entries/s",
        "MB/s",
        "p50 us",
        "p99 us",
        "p999 us",
        "max us",
        "x base",
        "p50x",
        "p99x",
        "xfloor",
        "RSS MB",
        "+MB"
    );
}

fn print_row(x: &Row) {
    println!(
        "{:<42} {:<6} {:<13} {:<12} {:>4} {:>12} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>5} {:>5} {:>6} {:>6.0} {:>5.0}  {}",
        x.name,
        x.engine,
        x.policy,
        x.group_commit,
        x.threads,
        thousands(x.entries_per_s),
        num(x.mb_per_s, 1),
        num(x.p50_us, 0),
        num(x.p99_us, 0),
        num(x.p999_us, 0),
        num(x.max_us, 0),
        if x.baseline.is_empty() {
            "-".to_string()
        } else {
            format!("{:.2}", x.ratio_to_baseline)
        },
        opt_ratio(x.p50_ratio),
        opt_ratio(x.p99_ratio),
        opt_ratio(x.floor_ratio),
        x.peak_rss_mib,
        x.rss_growth_mib,
        x.note
    );
}

/// The rows, grouped by workload in the order of `--help`; `legend`: the
/// lines explaining the columns.
fn print_rows(r: &Results, legend: bool) {
    print_header();
    let mut rows: Vec<&Row> = r.rows.iter().collect();
    let order = ["baseline", "floor", "a", "b", "g", "c", "d", "e", "r"];
    rows.sort_by_key(|x| {
        order
            .iter()
            .position(|w| *w == x.workload)
            .unwrap_or(order.len())
    });
    let mut last = "";
    for x in rows {
        if x.workload != last {
            println!();
            last = &x.workload;
        }
        print_row(x);
    }
    println!();
    if let Some(l) = &r.base.limit {
        println!(
            "raw limit: {} (the fastest of {} raw QD1 strategies by entries/s): {} entries/s, p50 {:.0} us, p99 {:.0} us",
            l.name,
            r.base.raw.len(),
            thousands(l.entries_per_s),
            l.p50_us,
            l.p99_us
        );
    }
    if !legend {
        return;
    }
    println!(
        "x base: entries/s (d, e: MB/s) over the baseline: a, b, g, r vs the raw limit; c vs the raw packed loop; d vs raw sequential write; e vs raw sequential read."
    );
    println!(
        "p50x, p99x: latency over the raw limit's. xfloor: b, g entries/s over the broadcast floor at the same count (thr)."
    );
    println!(
        "RSS MB: peak RSS (VmHWM) during the run; +MB: that peak minus RSS at the run's start"
    );
    println!(
        "(the process keeps earlier runs' thread stacks cached, so +MB is what the run itself added)."
    );
}

pub fn print(s: &Settings, r: &Results, targets: &[Target], meta: &Meta) {
    println!(
        "xwal bench: {} ({}), {}, kernel {}, {} CPUs, {:.1} s per run, entry size {} B",
        meta.dir, meta.fs, meta.engine, meta.kernel, meta.cpus, s.seconds, s.entry_size
    );
    println!(
        "load average (1/5/15 min) before: {}, after: {}; total {:.0} s",
        meta.load_before, meta.load_after, meta.seconds_total
    );
    println!();
    print_rows(r, true);
    print_opens(s, r);
    let peak = r.rows.iter().map(|x| x.peak_rss_mib).fold(0.0, f64::max);
    println!();
    println!("peak RSS over all runs: {peak:.0} MB (VmHWM; reset before each run)");
    println!();
    println!(
        "targets (engine {}, policy always, group commit {}):",
        super::workloads::engine_name(s.engine()),
        s.gcs[0].label
    );
    print_targets(targets);
    print_errors(r);
}

fn print_targets(targets: &[Target]) {
    for x in targets {
        println!(
            "  {:<9} {:<92} measured {:<22} need {:<26}",
            x.status.as_str(),
            x.text,
            x.measured,
            x.required
        );
    }
}

fn print_errors(r: &Results) {
    if !r.errors.is_empty() {
        println!();
        for e in &r.errors {
            println!("error: {e}");
        }
    }
}

/// Workload f's table, if it ran.
fn print_opens(s: &Settings, r: &Results) {
    if !r.opens.is_empty() {
        println!();
        println!(
            "(f) open / recovery time (clean close, median of {} opens)",
            s.open_repeats
        );
        println!(
            "{:<6} {:>10} {:>12} {:>9} {:>12} {:<13} {:>10} {:>10} {:>10} {:>14}",
            "log",
            "MiB",
            "entries",
            "segments",
            "scanned MiB",
            "policy",
            "median ms",
            "min ms",
            "max ms",
            "RSS growth MB"
        );
        for o in &r.opens {
            println!(
                "{:<6} {:>10} {:>12} {:>9} {:>12.1} {:<13} {:>10.2} {:>10.2} {:>10.2} {:>14.1}",
                o.log,
                o.payload_bytes >> 20,
                thousands(o.entries as f64),
                o.segments,
                o.scanned_bytes as f64 / (1 << 20) as f64,
                o.policy,
                o.open_ms_median,
                o.open_ms_min,
                o.open_ms_max,
                o.rss_delta_mib
            );
        }
    }
}

/// "beside 1 busy thread", "beside 2 busy threads".
pub fn beside(n: usize) -> String {
    format!("beside {n} busy thread{}", if n == 1 { "" } else { "s" })
}

/// The workloads of the idle/loaded comparison.
const COMPARED: [&str; 5] = ["a", "b", "g", "c", "t"];

/// The xwal rows (a, b, g, c, t) present in both sets, as (idle, loaded),
/// grouped by workload in the order of [`COMPARED`].
pub fn comparison<'a>(idle: &'a Results, loaded: &'a Results) -> Vec<(&'a Row, &'a Row)> {
    let mut v: Vec<(&Row, &Row)> = idle
        .rows
        .iter()
        .filter(|x| COMPARED.contains(&x.workload.as_str()))
        .filter_map(|i| {
            loaded
                .rows
                .iter()
                .find(|l| l.same_run_as(i))
                .map(|l| (i, l))
        })
        .collect();
    v.sort_by_key(|(i, _)| COMPARED.iter().position(|w| *w == i.workload));
    v
}

/// "idle / loaded" of two optional ratios.
fn pair_ratio(i: Option<f64>, l: Option<f64>) -> String {
    format!("{} / {}", opt_ratio(i), opt_ratio(l))
}

/// A row's ratio to its baseline, if it has one.
fn base_ratio(x: &Row) -> Option<f64> {
    (!x.baseline.is_empty()).then_some(x.ratio_to_baseline)
}

fn print_comparison(n: usize, pairs: &[(&Row, &Row)]) {
    println!();
    println!(
        "idle / {}, each ratio to the baselines of its own set (measured under the same load):",
        beside(n)
    );
    println!(
        "{:<42} {:<6} {:<13} {:<12} {:>4} {:>25} {:>13} {:>13} {:>13} {:>13} {:>17}",
        "workload",
        "engine",
        "policy",
        "group-commit",
        "thr",
        "entries/s",
        "x base",
        "p50x",
        "p99x",
        "xfloor",
        "p99 us"
    );
    let mut last = "";
    for (i, l) in pairs {
        if i.workload != last {
            println!();
            last = &i.workload;
        }
        println!(
            "{:<42} {:<6} {:<13} {:<12} {:>4} {:>25} {:>13} {:>13} {:>13} {:>13} {:>17}",
            i.name,
            i.engine,
            i.policy,
            i.group_commit,
            i.threads,
            format!(
                "{} / {}",
                thousands(i.entries_per_s),
                thousands(l.entries_per_s)
            ),
            pair_ratio(base_ratio(i), base_ratio(l)),
            pair_ratio(i.p50_ratio, l.p50_ratio),
            pair_ratio(i.p99_ratio, l.p99_ratio),
            pair_ratio(i.floor_ratio, l.floor_ratio),
            format!("{} / {}", num(i.p99_us, 0), num(l.p99_us, 0)),
        );
    }
    if pairs.is_empty() {
        println!("  (no xwal row of a, b, g, c, t ran in both sets)");
    }
}

/// `--cpu-hog N`: the loaded rows (after the idle report of [`print`]), the
/// idle/loaded comparison and the busy_ targets.
pub fn print_loaded(s: &Settings, idle: &Results, loaded: &Results, busy: &[Target]) {
    let n = s.cpu_hog.unwrap_or(0);
    println!();
    let b = beside(n);
    println!(
        "{b} (the raw baselines and floors measured beside them too): each job ran again right after"
    );
    println!("its idle run above, {b} spinning in user space at the same nice level");
    println!();
    print_rows(loaded, false);
    print_opens(s, loaded);
    let peak = loaded
        .rows
        .iter()
        .map(|x| x.peak_rss_mib)
        .fold(0.0, f64::max);
    println!();
    println!("peak RSS over the loaded runs: {peak:.0} MB");
    print_errors(loaded);
    print_comparison(n, &comparison(idle, loaded));
    println!();
    println!(
        "targets {b} (busy_; engine {}, policy always, group commit {}; each bound against its own set's baselines):",
        super::workloads::engine_name(s.engine()),
        s.gcs[0].label
    );
    print_targets(busy);
}

fn row_json(x: &Row) -> serde_json::Value {
    json!({
                "workload": x.workload,
                "name": x.name,
                "engine": x.engine,
                "policy": x.policy,
                "group_commit": x.group_commit,
                "threads": x.threads,
                "entry_size": x.entry_size,
                "entries": x.entries,
                "bytes": x.bytes,
                "seconds": x.seconds,
                "entries_per_s": x.entries_per_s,
                "mb_per_s": x.mb_per_s,
                "p50_us": x.p50_us,
                "p99_us": x.p99_us,
                "p999_us": x.p999_us,
                "max_us": x.max_us,
                "baseline": x.baseline,
                "ratio_to_baseline": x.ratio_to_baseline,
                "ratio_unit": x.ratio_unit,
                "p50_ratio": x.p50_ratio,
                "p99_ratio": x.p99_ratio,
                "floor_ratio": x.floor_ratio,
                "raw_limit": x.limit,
                "peak_rss_mib": x.peak_rss_mib,
                "rss_growth_mib": x.rss_growth_mib,
                "note": x.note,
    })
}

fn settings_json(s: &Settings) -> serde_json::Value {
    json!({
        "seconds": s.seconds,
        "entry_size": s.entry_size,
        "threads": s.threads,
        "tasks": s.tasks,
        "engines": s.engines.iter().map(|e| super::workloads::engine_name(*e)).collect::<Vec<_>>(),
        "windows": s.windows,
        "producers": s.producers,
        "policies": s.policies.iter().map(|p| p.label.clone()).collect::<Vec<_>>(),
        "group_commit": s.gcs.iter().map(|g| g.label.clone()).collect::<Vec<_>>(),
        "volume_bytes": s.volume,
        "segment_size": s.segment_size,
        "quick": s.quick,
    })
}

fn targets_json(targets: &[Target]) -> Vec<serde_json::Value> {
    targets
        .iter()
        .map(|x| {
            json!({
                "id": x.id,
                "target": x.text,
                "measured": x.measured,
                "required": x.required,
                "status": x.status.as_str(),
            })
        })
        .collect()
}

/// The measurements of one set: rows, opens, raw limit, floors, peak RSS, errors.
fn set_json(r: &Results) -> serde_json::Map<String, serde_json::Value> {
    let rows: Vec<_> = r.rows.iter().map(row_json).collect();
    let opens: Vec<_> = r
        .opens
        .iter()
        .map(|o| {
            json!({
                "log": o.log,
                "payload_bytes": o.payload_bytes,
                "entries": o.entries,
                "segments": o.segments,
                "scanned_bytes": o.scanned_bytes,
                "policy": o.policy,
                "open_ms_median": o.open_ms_median,
                "open_ms_min": o.open_ms_min,
                "open_ms_max": o.open_ms_max,
                "rss_delta_mib": o.rss_delta_mib,
            })
        })
        .collect();
    let floors: Vec<_> = r
        .base
        .floors
        .iter()
        .map(|(k, t, v)| json!({"floor": k.label(), "threads": t, "appends_per_s": v}))
        .collect();
    let v = json!({
        "rows": rows,
        "open": opens,
        "raw_limit": r.base.limit.as_ref().map(|l| json!({
            "name": l.name,
            "entries_per_s": l.entries_per_s,
            "p50_us": l.p50_us,
            "p99_us": l.p99_us,
        })),
        "floors": floors,
        "peak_rss_mib": r.rows.iter().map(|x| x.peak_rss_mib).fold(0.0, f64::max),
        "errors": r.errors,
    });
    match v {
        serde_json::Value::Object(m) => m,
        _ => unreachable!("json!({{..}}) is an object"),
    }
}

/// One line of the idle/loaded comparison.
fn comparison_json(i: &Row, l: &Row) -> serde_json::Value {
    let side = |x: &Row| {
        json!({
            "entries_per_s": x.entries_per_s,
            "p50_us": x.p50_us,
            "p99_us": x.p99_us,
            "ratio_to_baseline": base_ratio(x),
            "p50_ratio": x.p50_ratio,
            "p99_ratio": x.p99_ratio,
            "floor_ratio": x.floor_ratio,
        })
    };
    json!({
        "workload": i.workload,
        "name": i.name,
        "engine": i.engine,
        "policy": i.policy,
        "group_commit": i.group_commit,
        "threads": i.threads,
        "idle": side(i),
        "loaded": side(l),
    })
}

/// Writes the results: without `--cpu-hog` (`loaded` None) the idle set's
/// measurements at the top level; with it, `cpu_hog`, `idle` and `loaded`
/// (each set's measurements), `comparison` and `busy_targets`. `targets`,
/// `recommendation`, `settings` and `machine` are at the top level in both.
#[allow(clippy::too_many_arguments)]
pub fn write_json(
    path: &Path,
    s: &Settings,
    r: &Results,
    loaded: Option<(&Results, &[Target])>,
    targets: &[Target],
    picks: &[Pick],
    meta: &Meta,
) -> Result<(), String> {
    let mut top = match loaded {
        None => set_json(r),
        Some((l, busy)) => {
            let mut m = serde_json::Map::new();
            m.insert("cpu_hog".into(), s.cpu_hog.into());
            m.insert("idle".into(), set_json(r).into());
            m.insert("loaded".into(), set_json(l).into());
            let cmp: Vec<_> = comparison(r, l)
                .into_iter()
                .map(|(i, l)| comparison_json(i, l))
                .collect();
            m.insert("comparison".into(), cmp.into());
            m.insert("busy_targets".into(), targets_json(busy).into());
            m
        }
    };
    let rest = json!({
        "targets": targets_json(targets),
        "recommendation": super::recommend::to_json(picks),
        "settings": settings_json(s),
        "machine": {
            "dir": meta.dir,
            "fs": meta.fs,
            "engine": meta.engine,
            "kernel": meta.kernel,
            "cpus": meta.cpus,
            "load_before": meta.load_before,
            "load_after": meta.load_after,
            "seconds_total": meta.seconds_total,
        },
    });
    if let serde_json::Value::Object(m) = rest {
        top.extend(m);
    }
    let text =
        serde_json::to_string_pretty(&serde_json::Value::Object(top)).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("writing {}: {e}", path.display()))
}
