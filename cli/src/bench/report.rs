//! Rows, ratios to baselines, the printed tables, the targets of issue 3, and JSON.

use super::baseline::{BandwidthResult, LoopResult};
use super::stats;
use super::workloads::{Measured, Policy};
use super::{Results, Settings};
use serde_json::json;
use std::path::Path;

/// One measured line. `ratio_to_baseline` compares `ratio_unit` (entries/s
/// or MB/s) with the row named in `baseline`.
#[derive(Debug, Clone)]
pub struct Row {
    /// "baseline", or the workload letter.
    pub workload: String,
    pub name: String,
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
            peak_rss_mib: rss,
            rss_growth_mib: 0.0,
            note: format!("{} MiB", r.bytes >> 20),
        }
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
            peak_rss_mib: stats::peak_rss_mib(),
            rss_growth_mib: 0.0,
            note: note.into(),
        }
    }

    fn is(&self, w: &str, kind: &str, gc: &str) -> bool {
        self.workload == w && self.policy_kind == kind && self.group_commit == gc
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
    pub qd1: Option<LoopRef>,
    pub packed: Option<LoopRef>,
    pub seq_write_mb_s: Option<f64>,
    pub seq_read_mb_s: Option<f64>,
    pub seq_write_name: String,
    pub seq_read_name: String,
}

impl Baselines {
    /// Fills in the row's baseline and ratios: a, b, r against the QD1 loop;
    /// c against the packed loop; d against raw sequential write; e against
    /// raw sequential read (MB/s).
    pub fn relate(&self, mut row: Row) -> Row {
        match row.workload.as_str() {
            "a" | "b" | "r" => {
                if let Some(b) = &self.qd1 {
                    row.baseline = b.name.clone();
                    row.ratio_to_baseline = row.entries_per_s / b.entries_per_s;
                    row.p50_ratio = Some(row.p50_us / b.p50_us);
                    row.p99_ratio = Some(row.p99_us / b.p99_us);
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
            "e" => {
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
fn ms(v: f64) -> String {
    format!("{v:.1} ms")
}
fn mib(v: f64) -> String {
    format!("{v:.1} MiB")
}

fn thousands(v: f64) -> String {
    let n = v.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The targets of issue 3, evaluated on the `always` policy with the default
/// group-commit setting (the durable default configuration).
pub fn targets(s: &Settings, r: &Results) -> Vec<Target> {
    let gc0 = s.gcs[0].label.as_str();
    let find = |w: &str, pred: &dyn Fn(&Row) -> bool| {
        r.rows
            .iter()
            .filter(|x| x.is(w, "always", gc0) && pred(x))
            .cloned()
            .collect::<Vec<_>>()
    };
    let mut out = Vec::new();
    let qd1 = r.base.qd1.as_ref();
    let a = find("a", &|_| true).into_iter().next();
    out.push(t(
        "a_p50",
        "(a) one writer, always: p50 within 1.10x of the raw QD1 loop",
        a.as_ref()
            .zip(qd1)
            .map(|(a, b)| (a.p50_us, 1.10 * b.p50_us)),
        false,
        us,
    ));
    out.push(t(
        "a_p99",
        "(a) one writer, always: p99 within 1.25x of the raw QD1 loop",
        a.as_ref()
            .zip(qd1)
            .map(|(a, b)| (a.p99_us, 1.25 * b.p99_us)),
        false,
        us,
    ));
    let b64 = find("b", &|x| x.threads == 64).into_iter().next();
    out.push(t(
        "b_64",
        "(b) 64 waiting writers, always: >= 0.8 x 64 / (raw QD1 p50 latency)",
        b64.as_ref()
            .zip(qd1)
            .map(|(b, q)| (b.entries_per_s, 0.8 * 64.0 / (q.p50_us / 1e6))),
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
    let c_best = find("c", &|_| true)
        .into_iter()
        .max_by(|x, y| x.entries_per_s.total_cmp(&y.entries_per_s));
    out.push(t(
        "c_raw",
        format!(
            "(c) submit pipeline, always (best window): >= 0.85x raw loop at {} entries/commit",
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
    let large_e = |bwd: bool| {
        find("e", &|x| {
            x.entry_size == s.large_entry_size && x.name.contains(if bwd { "bwd" } else { "fwd" })
        })
        .into_iter()
        .next()
    };
    let small_e = |bwd: bool| {
        find("e", &|x| {
            x.entry_size == s.entry_size && x.name.contains(if bwd { "bwd" } else { "fwd" })
        })
        .into_iter()
        .next()
    };
    for bwd in [false, true] {
        let dir = if bwd { "backward" } else { "forward" };
        out.push(t(
            if bwd { "e_bw_bwd" } else { "e_bw_fwd" },
            format!("(e) replay {dir}, 64 KiB entries: >= 80% of raw sequential read bandwidth"),
            large_e(bwd)
                .as_ref()
                .zip(r.base.seq_read_mb_s)
                .map(|(e, rd)| (e.mb_per_s, 0.8 * rd)),
            true,
            mbs,
        ));
        out.push(t(
            if bwd { "e_eps_bwd" } else { "e_eps_fwd" },
            format!(
                "(e) replay {dir}, {} B entries: >= 5,000,000 entries/s",
                s.entry_size
            ),
            small_e(bwd).as_ref().map(|e| (e.entries_per_s, 5e6)),
            true,
            eps,
        ));
    }
    let open = |log: &str| {
        r.opens
            .iter()
            .find(|o| o.log == log && o.policy == "always")
            .or_else(|| r.opens.iter().find(|o| o.log == log))
            .cloned()
    };
    let (small, large) = (open("small"), open("large"));
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

pub fn print(s: &Settings, r: &Results, targets: &[Target], meta: &Meta) {
    println!(
        "xwal bench: {} ({}), engine {}, kernel {}, {} CPUs, {:.1} s per run, entry size {} B",
        meta.dir, meta.fs, meta.engine, meta.kernel, meta.cpus, s.seconds, s.entry_size
    );
    println!(
        "load average (1/5/15 min) before: {}, after: {}; total {:.0} s",
        meta.load_before, meta.load_after, meta.seconds_total
    );
    println!();
    println!(
        "{:<42} {:<13} {:<12} {:>4} {:>12} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>5} {:>5} {:>6} {:>5}  note",
        "workload",
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
        "RSS MB",
        "+MB"
    );
    let mut rows: Vec<&Row> = r.rows.iter().collect();
    let rank = |w: &str| match w {
        "baseline" => 0,
        "a" => 1,
        "b" => 2,
        "c" => 3,
        "d" => 4,
        "e" => 5,
        "r" => 6,
        _ => 7,
    };
    rows.sort_by_key(|x| rank(&x.workload));
    let mut last = "";
    for x in rows {
        if x.workload != last {
            println!();
            last = &x.workload;
        }
        println!(
            "{:<42} {:<13} {:<12} {:>4} {:>12} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>5} {:>5} {:>6.0} {:>5.0}  {}",
            x.name,
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
            x.peak_rss_mib,
            x.rss_growth_mib,
            x.note
        );
    }
    println!();
    println!(
        "x base: entries/s (d, e: MB/s) over the baseline: a, b, r vs the raw QD1 loop; c vs the raw packed loop; d vs raw sequential write; e vs raw sequential read."
    );
    println!(
        "p50x, p99x: latency over the raw QD1 loop's. RSS MB: peak RSS (VmHWM) during the run; +MB: that peak minus RSS at the run's start"
    );
    println!(
        "(the process keeps earlier runs' thread stacks cached, so +MB is what the run itself added)."
    );
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
    let peak = r.rows.iter().map(|x| x.peak_rss_mib).fold(0.0, f64::max);
    println!();
    println!("peak RSS over all runs: {peak:.0} MB (VmHWM; reset before each run)");
    println!();
    println!(
        "targets (issue 3; policy always, group commit {}):",
        s.gcs[0].label
    );
    for x in targets {
        println!(
            "  {:<9} {:<92} measured {:<22} need {:<26}",
            x.status.as_str(),
            x.text,
            x.measured,
            x.required
        );
    }
    if !r.errors.is_empty() {
        println!();
        for e in &r.errors {
            println!("error: {e}");
        }
    }
}

pub fn write_json(
    path: &Path,
    s: &Settings,
    r: &Results,
    targets: &[Target],
    meta: &Meta,
) -> Result<(), String> {
    let rows: Vec<_> = r
        .rows
        .iter()
        .map(|x| {
            json!({
                "workload": x.workload,
                "name": x.name,
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
                "peak_rss_mib": x.peak_rss_mib,
                "rss_growth_mib": x.rss_growth_mib,
                "note": x.note,
            })
        })
        .collect();
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
    let tg: Vec<_> = targets
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
        .collect();
    let v = json!({
        "rows": rows,
        "open": opens,
        "targets": tg,
        "peak_rss_mib": r.rows.iter().map(|x| x.peak_rss_mib).fold(0.0, f64::max),
        "errors": r.errors,
        "settings": {
            "seconds": s.seconds,
            "entry_size": s.entry_size,
            "threads": s.threads,
            "windows": s.windows,
            "producers": s.producers,
            "policies": s.policies.iter().map(|p| p.label.clone()).collect::<Vec<_>>(),
            "group_commit": s.gcs.iter().map(|g| g.label.clone()).collect::<Vec<_>>(),
            "volume_bytes": s.volume,
            "segment_size": s.segment_size,
            "quick": s.quick,
        },
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
    let text = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("writing {}: {e}", path.display()))
}
