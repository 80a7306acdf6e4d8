//! The closing recommendation of `xwal bench`: for the disk it ran on, the
//! engine, sync policy and group-commit setting that gave the lowest p99 at
//! one writer (workload a) and the highest throughput at 64 writers (workload
//! b), each as a config-file snippet that `Config::from_file` and
//! `xwal --config FILE` read (keys and value syntax of `src/config_file.rs`).
//!
//! Only policies that are durable before the ack (always, dsync) are picked:
//! `interval` and `never` ack before the disk has the entry, so they answer a
//! different question. The best of those is shown beside each pick for
//! comparison, and never as a config.
//!
//! With `--cpu-hog` (a busy machine), each setting is judged by the worse of
//! its idle ratio and its ratio beside the busy threads (a: p99 over the raw
//! limit's p99; b: entries/s over the raw limit's), each ratio to the raw
//! limit measured under the same load; the setting that is best when busy
//! alone is named too when it is another one.

use super::Settings;
use super::report::{Meta, Row, beside, thousands};
use super::workloads::{GcSetting, is_durable_kind};
use serde_json::json;
use std::cmp::Ordering;
use std::fmt::Write;
use std::time::Duration;

/// One recommendation.
pub struct Pick {
    pub id: &'static str,
    pub goal: &'static str,
    pub row: Row,
    /// What the pick rests on when the run was not the one asked for
    /// (fewer than 64 writers ran).
    pub caveat: String,
    /// The best row under a policy that is not durable before ack, if it did better.
    pub not_durable: Option<Row>,
    /// The config-file snippet.
    pub toml: String,
    /// With `--cpu-hog`: the same setting's row beside the busy threads.
    pub loaded: Option<Row>,
    /// With `--cpu-hog`: the loaded row of the setting that is best when busy
    /// (by its loaded ratio alone), when that is not this pick.
    pub best_when_busy: Option<Row>,
}

/// How a goal judges a row: a figure where greater is better, and the same
/// figure as a ratio to the row's own baselines (for comparing idle and loaded runs).
#[derive(Clone, Copy)]
struct Goal {
    /// Idle only: the absolute figure (every row shares one raw limit).
    figure: fn(&Row) -> f64,
    /// With loaded rows: the ratio to the baseline of the row's own set.
    ratio: fn(&Row) -> f64,
}

/// Workload a: the lowest p99.
const LOW_P99: Goal = Goal {
    figure: |r| -r.p99_us,
    ratio: |r| -r.p99_ratio.unwrap_or(f64::INFINITY),
};

/// Workload b: the highest throughput.
const HIGH_EPS: Goal = Goal {
    figure: |r| r.entries_per_s,
    ratio: |r| r.ratio_to_baseline,
};

/// The same setting's run in the other set (workload, name, engine, policy,
/// group commit, threads).
fn partner<'a>(r: &Row, other: &'a [Row]) -> Option<&'a Row> {
    other.iter().find(|o| o.same_run_as(r))
}

/// The score of idle row `r`: idle only, its figure; with loaded rows, the
/// worse of its idle and loaded ratios (no loaded run: the worst score).
fn score(g: Goal, r: &Row, loaded: Option<&[Row]>) -> f64 {
    match loaded {
        None => (g.figure)(r),
        Some(l) => partner(r, l).map_or(f64::NEG_INFINITY, |x| (g.ratio)(r).min((g.ratio)(x))),
    }
}

/// The best row of `rows` by `score` (greatest), split into the best durable
/// one and the best non-durable one if that beats it.
fn best<'a>(rows: &[&'a Row], score: &dyn Fn(&Row) -> f64) -> Option<(&'a Row, Option<&'a Row>)> {
    let top = |durable: bool| {
        rows.iter()
            .copied()
            .filter(|r| is_durable_kind(&r.policy_kind) == durable)
            .max_by(|a, b| score(a).total_cmp(&score(b)))
    };
    let d = top(true)?;
    let other = top(false).filter(|o| score(o).total_cmp(&score(d)) == Ordering::Greater);
    Some((d, other))
}

/// With loaded rows: the partner of `pick`, and the loaded row of the durable
/// setting best by its loaded ratio alone if that is another setting.
fn busy_side(
    g: Goal,
    rows: &[&Row],
    pick: &Row,
    loaded: Option<&[Row]>,
) -> (Option<Row>, Option<Row>) {
    let Some(l) = loaded else {
        return (None, None);
    };
    let partners: Vec<&Row> = rows.iter().filter_map(|r| partner(r, l)).collect();
    let busy = best(&partners, &|r: &Row| (g.ratio)(r)).map(|(d, _)| d);
    let other = busy.filter(|b| !b.same_run_as(pick)).cloned();
    (partner(pick, l).cloned(), other)
}

/// The picks for `rows` (the idle set); `loaded`, with `--cpu-hog`, the set
/// measured beside the busy threads.
pub fn recommend(s: &Settings, rows: &[Row], loaded: Option<&[Row]>, meta: &Meta) -> Vec<Pick> {
    let ran = |w: &str| -> Vec<&Row> {
        rows.iter()
            .filter(|r| r.workload == w && r.entries_per_s > 0.0)
            .collect()
    };
    let mut out = Vec::new();
    let one = ran("a");
    if let Some((r, other)) = best(&one, &|x: &Row| score(LOW_P99, x, loaded)) {
        let goal = "lowest p99 at one writer (workload a)";
        let mut p = pick(s, meta, "a_p99", goal, r, other, String::new());
        (p.loaded, p.best_when_busy) = busy_side(LOW_P99, &one, r, loaded);
        out.push(with_busy_comment(p, s.cpu_hog));
    }
    let many = ran("b");
    let durable_n = |n: usize| {
        many.iter()
            .any(|r| r.threads == n && is_durable_kind(&r.policy_kind))
    };
    // 64 writers is the question; without a durable run at 64, the most writers that ran.
    let n = if durable_n(64) {
        64
    } else {
        many.iter()
            .filter(|r| is_durable_kind(&r.policy_kind))
            .map(|r| r.threads)
            .max()
            .unwrap_or(0)
    };
    let at_n: Vec<&Row> = many.into_iter().filter(|r| r.threads == n).collect();
    if let Some((r, other)) = best(&at_n, &|x: &Row| score(HIGH_EPS, x, loaded)) {
        let caveat = if n == 64 {
            String::new()
        } else {
            format!("64 writers did not run (see --threads, --gc-threads): best at {n}")
        };
        let goal = "highest throughput at 64 writers (workload b)";
        let mut p = pick(s, meta, "b_64", goal, r, other, caveat);
        (p.loaded, p.best_when_busy) = busy_side(HIGH_EPS, &at_n, r, loaded);
        out.push(with_busy_comment(p, s.cpu_hog));
    }
    out
}

/// Adds the loaded figures of the pick to its snippet, as a comment.
fn with_busy_comment(mut p: Pick, hog: Option<usize>) -> Pick {
    if let (Some(l), Some(n)) = (&p.loaded, hog) {
        p.toml = p.toml.replacen(
            "\nio_engine",
            &format!("\n# {}: {}\nio_engine", beside(n), summary(l)),
            1,
        );
    }
    p
}

fn pick(
    s: &Settings,
    meta: &Meta,
    id: &'static str,
    goal: &'static str,
    r: &Row,
    other: Option<&Row>,
    caveat: String,
) -> Pick {
    Pick {
        id,
        goal,
        row: r.clone(),
        caveat,
        not_durable: other.cloned(),
        toml: snippet(s, meta, goal, r),
        loaded: None,
        best_when_busy: None,
    }
}

/// "engine uring, policy always, group commit default, 1 writer: ..."
fn summary(r: &Row) -> String {
    format!(
        "engine {}, policy {}, group commit {}, {} writer{}: {} appends/s, p50 {:.0} us, p99 {:.0} us, p99.9 {:.0} us",
        r.engine,
        r.policy,
        r.group_commit,
        r.threads,
        if r.threads == 1 { "" } else { "s" },
        thousands(r.entries_per_s),
        r.p50_us,
        r.p99_us,
        r.p999_us
    )
}

/// A size as the config file writes it: KiB or MiB when exact, else bytes.
fn size_value(n: usize) -> String {
    if n > 0 && n.is_multiple_of(1 << 20) {
        format!("\"{}MiB\"", n >> 20)
    } else if n > 0 && n.is_multiple_of(1 << 10) {
        format!("\"{}KiB\"", n >> 10)
    } else {
        n.to_string()
    }
}

/// A duration as the config file writes it, exactly.
fn duration_value(d: Duration) -> String {
    if d.as_nanos().is_multiple_of(1000) {
        format!("\"{}us\"", d.as_micros())
    } else {
        format!("\"{}ns\"", d.as_nanos())
    }
}

/// The config-file keys of a group-commit setting (none for `default`).
fn gc_keys(g: &GcSetting) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(n) = g.entries {
        v.push(format!("max_batch_entries = {n}"));
    }
    if let Some(n) = g.bytes {
        v.push(format!("max_batch_bytes = {}", size_value(n)));
    }
    if let Some(d) = g.delay {
        v.push(format!("commit_delay = {}", duration_value(d)));
    }
    if let Some(n) = g.inflight {
        v.push(format!("commits_in_flight = {n}"));
    }
    v
}

/// The TOML snippet for row `r`: engine, policy, zero-fill and group commit.
fn snippet(s: &Settings, meta: &Meta, goal: &str, r: &Row) -> String {
    let mut t = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(t, "# xwal bench, {goal}, on {} ({}):", meta.fs, meta.kernel);
    let _ = writeln!(t, "# {}", summary(r));
    let _ = writeln!(t, "io_engine = \"{}\"", r.engine);
    let _ = writeln!(t, "sync = \"{}\"", r.policy_kind);
    let _ = writeln!(t, "zero_fill = {}", s.zero_fill);
    let keys = s
        .gcs
        .iter()
        .find(|g| g.label == r.group_commit)
        .map(gc_keys)
        .unwrap_or_default();
    if keys.is_empty() {
        let _ = writeln!(t, "# group commit: the library's defaults");
    }
    for k in keys {
        let _ = writeln!(t, "{k}");
    }
    t
}

/// `summary` with the row's ratios to its set's raw limit.
fn summary_ratios(r: &Row) -> String {
    let x = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}x"));
    format!(
        "{}; {:.2}x the raw limit's entries/s, p99 {} the raw limit's",
        summary(r),
        r.ratio_to_baseline,
        x(r.p99_ratio)
    )
}

/// The picks; `hog`, with `--cpu-hog`, the number of busy threads.
pub fn print(picks: &[Pick], hog: Option<usize>) {
    println!();
    println!(
        "recommendation for this disk (durable before ack only: always, dsync; `xwal --config FILE`):"
    );
    if let Some(n) = hog {
        println!(
            "  (busy machine: each setting judged by the worse of its idle ratio and its ratio {},",
            beside(n)
        );
        println!(
            "   a by p99 over the raw limit's p99, b by entries/s over the raw limit's, each raw limit measured under the same load)"
        );
    }
    if picks.is_empty() {
        println!("  none: workloads a and b did not run under always or dsync");
    }
    for p in picks {
        if hog.is_some() {
            println!("  {}: {}", p.goal, summary_ratios(&p.row));
        } else {
            println!("  {}: {}", p.goal, summary(&p.row));
        }
        if let (Some(l), Some(n)) = (&p.loaded, hog) {
            println!("    {}: {}", beside(n), summary_ratios(l));
        }
        if let (Some(b), Some(n)) = (&p.best_when_busy, hog) {
            println!(
                "    best when busy ({} alone): {}",
                beside(n),
                summary_ratios(b)
            );
        }
        if !p.caveat.is_empty() {
            println!("    ({})", p.caveat);
        }
        if let Some(o) = &p.not_durable {
            println!(
                "    (not durable before ack, so not recommended: {})",
                summary(o)
            );
        }
        for line in p.toml.lines() {
            println!("      {line}");
        }
    }
}

pub fn to_json(picks: &[Pick]) -> serde_json::Value {
    let v: Vec<_> = picks
        .iter()
        .map(|p| {
            let mut v = json!({
                "id": p.id,
                "goal": p.goal,
                "engine": p.row.engine,
                "policy": p.row.policy,
                "group_commit": p.row.group_commit,
                "threads": p.row.threads,
                "entries_per_s": p.row.entries_per_s,
                "p50_us": p.row.p50_us,
                "p99_us": p.row.p99_us,
                "p999_us": p.row.p999_us,
                "caveat": p.caveat,
                "not_durable_better": p.not_durable.as_ref().map(summary),
                "toml": p.toml,
            });
            // Only with --cpu-hog; without it the JSON is as before.
            let busy = |r: &Row| {
                json!({
                    "engine": r.engine,
                    "policy": r.policy,
                    "group_commit": r.group_commit,
                    "threads": r.threads,
                    "entries_per_s": r.entries_per_s,
                    "p50_us": r.p50_us,
                    "p99_us": r.p99_us,
                    "p999_us": r.p999_us,
                    "ratio_to_baseline": r.ratio_to_baseline,
                    "p99_ratio": r.p99_ratio,
                })
            };
            if let Some(l) = &p.loaded {
                v["loaded"] = busy(l);
                v["best_when_busy"] = p.best_when_busy.as_ref().map(busy).into();
            }
            v
        })
        .collect();
    serde_json::Value::Array(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_commit_keys_parse_as_a_config_file() {
        for label in [
            "default",
            "entries=16",
            "bytes=64k",
            "bytes=1m+delay=100us",
            "inflight=2",
        ] {
            let g = GcSetting::parse(label).unwrap();
            let text = format!("sync = \"dsync\"\n{}\n", gc_keys(&g).join("\n"));
            let c = xwal::Config::from_toml_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            if let Some(n) = g.bytes {
                assert_eq!(c.max_batch_bytes, n);
            }
            if let Some(d) = g.delay {
                assert_eq!(c.commit_delay, d);
            }
        }
    }
}
