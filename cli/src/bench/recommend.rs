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

use super::Settings;
use super::report::{Meta, Row, thousands};
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
}

type Better = fn(&Row, &Row) -> Ordering;

fn by_p99(a: &Row, b: &Row) -> Ordering {
    b.p99_us.total_cmp(&a.p99_us)
}

fn by_throughput(a: &Row, b: &Row) -> Ordering {
    a.entries_per_s.total_cmp(&b.entries_per_s)
}

/// The best row of `rows` by `better` (greatest), split into the best durable
/// one and the best non-durable one if that beats it.
fn best<'a>(rows: &[&'a Row], better: Better) -> Option<(&'a Row, Option<&'a Row>)> {
    let top = |durable: bool| {
        rows.iter()
            .copied()
            .filter(|r| is_durable_kind(&r.policy_kind) == durable)
            .max_by(|a, b| better(a, b))
    };
    let d = top(true)?;
    let other = top(false).filter(|o| better(o, d) == Ordering::Greater);
    Some((d, other))
}

pub fn recommend(s: &Settings, rows: &[Row], meta: &Meta) -> Vec<Pick> {
    let ran = |w: &str| -> Vec<&Row> {
        rows.iter()
            .filter(|r| r.workload == w && r.entries_per_s > 0.0)
            .collect()
    };
    let mut out = Vec::new();
    let one = ran("a");
    if let Some((r, other)) = best(&one, by_p99) {
        let goal = "lowest p99 at one writer (workload a)";
        out.push(pick(s, meta, "a_p99", goal, r, other, String::new()));
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
    if let Some((r, other)) = best(&at_n, by_throughput) {
        let caveat = if n == 64 {
            String::new()
        } else {
            format!("64 writers did not run (see --threads, --gc-threads): best at {n}")
        };
        let goal = "highest throughput at 64 writers (workload b)";
        out.push(pick(s, meta, "b_64", goal, r, other, caveat));
    }
    out
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
    if n > 0 && n % (1 << 20) == 0 {
        format!("\"{}MiB\"", n >> 20)
    } else if n > 0 && n % (1 << 10) == 0 {
        format!("\"{}KiB\"", n >> 10)
    } else {
        n.to_string()
    }
}

/// A duration as the config file writes it, exactly.
fn duration_value(d: Duration) -> String {
    if d.as_nanos() % 1000 == 0 {
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

pub fn print(picks: &[Pick]) {
    println!();
    println!(
        "recommendation for this disk (durable before ack only: always, dsync; `xwal --config FILE`):"
    );
    if picks.is_empty() {
        println!("  none: workloads a and b did not run under always or dsync");
    }
    for p in picks {
        println!("  {}: {}", p.goal, summary(&p.row));
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
            json!({
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
            })
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
