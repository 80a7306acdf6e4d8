//! `xwal-raft-bench [--seconds S] [--clients 1,64,1024]
//! [--stores xwal,raft-engine,mem] [--cpu-hog [N]] [--in-flight N]
//! [--batch-requests N] [--batch-bytes N] [--trace OUT_DIR]`: client writes per second and
//! commit latency through a three-node cluster on 127.0.0.1, one fresh
//! cluster per row, every store in the same run, with the same nodes, network,
//! proposal batching and state machine:
//!
//! - `xwal`: the xwal log store;
//! - `raft-engine`: TiKV's raft-engine 0.4, one synced write per append (built
//!   with the feature `raft-engine`; `scripts/bench-raft.sh` does);
//! - `mem`: the in-memory store, what consensus and the network allow without
//!   a disk.
//!
//! Each client is an async task with its own connection that writes one key
//! at a time and waits for the leader's answer (committed and applied). Per
//! node it reports entries per log commit, log commits/s and CPU per client
//! write; per row the leader's requests per Raft entry. The raw `fdatasync`
//! of the nodes' disk is measured in the same run, for the one-client target.
//!
//! `--trace OUT_DIR` runs every node with `--trace` and keeps each node's
//! openraft trace as `OUT_DIR/STORE-CLIENTS-node-ID.log`.
//!
//! `--cpu-hog N` (without N: one per CPU) runs every row twice in a row: idle
//! (hog 0), then beside N threads of this process spinning in user space at
//! the same nice level (a CPU-bound neighbour of the three node processes).

// The same busy threads as `xwal bench --cpu-hog`.
#[path = "../../../cli/src/bench/hog.rs"]
mod hog;

use std::path::Path;
use std::time::{Duration, Instant};
use xwal_openraft::cluster::{Conn, NodeStats};
use xwal_openraft::local::LocalCluster;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// "beside 1 busy thread", "beside 2 busy threads".
fn beside(n: usize) -> String {
    format!("beside {n} busy thread{}", if n == 1 { "" } else { "s" })
}

/// `--cpu-hog [N]`: None when absent; N, or one per CPU when no number follows.
fn cpu_hog() -> Result<Option<usize>, String> {
    let args: Vec<String> = std::env::args().collect();
    let Some(i) = args.iter().position(|a| a == "--cpu-hog") else {
        return Ok(None);
    };
    match args.get(i + 1).filter(|v| !v.starts_with("--")) {
        None => Ok(Some(hog::default_threads())),
        Some(v) => match v.parse::<usize>() {
            Ok(0) | Err(_) => Err(format!("--cpu-hog {v}: need a number of threads >= 1")),
            Ok(n) => Ok(Some(n)),
        },
    }
}

fn quantile_us(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

/// CPU time (user + system, every thread) of process `pid` so far, in µs.
fn cpu_us(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let (utime, stime): (u64, u64) = (f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?);
    // SAFETY: sysconf reads a constant of the system; no memory is involved.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some((utime + stime) * 1_000_000 / ticks)
}

/// One node's share of a row.
#[derive(Debug, Default, Clone, Copy)]
struct NodeRow {
    stats: NodeStats,
    cpu_us: u64,
}

/// One row: a store, a client count, a hog level.
struct Row {
    store: String,
    clients: usize,
    hog: usize,
    writes_per_s: f64,
    p50_us: f64,
    p99_us: f64,
    leader: u64,
    nodes: Vec<(u64, NodeRow)>,
    writes: u64,
    secs: f64,
}

async fn snapshot(cl: &LocalCluster) -> Vec<(u64, NodeRow)> {
    let mut out = Vec::new();
    for id in cl.running() {
        let stats = cl.stats(id).await.unwrap_or_default();
        let cpu_us = cl.pid(id).and_then(cpu_us).unwrap_or(0);
        out.push((id, NodeRow { stats, cpu_us }));
    }
    out
}

fn delta(before: &[(u64, NodeRow)], after: &[(u64, NodeRow)]) -> Vec<(u64, NodeRow)> {
    after
        .iter()
        .map(|(id, a)| {
            let b = before
                .iter()
                .find(|(i, _)| i == id)
                .map(|x| x.1)
                .unwrap_or_default();
            let stats = NodeStats {
                log_commits: a.stats.log_commits - b.stats.log_commits,
                log_entries: a.stats.log_entries - b.stats.log_entries,
                requests: a.stats.requests - b.stats.requests,
                batches: a.stats.batches - b.stats.batches,
            };
            (
                *id,
                NodeRow {
                    stats,
                    cpu_us: a.cpu_us.saturating_sub(b.cpu_us),
                },
            )
        })
        .collect()
}

/// `clients` tasks writing for `secs`; their latencies in ns.
async fn drive(
    cl: &std::sync::Arc<LocalCluster>,
    leader: u64,
    clients: usize,
    secs: f64,
) -> Result<Vec<u64>, String> {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let cl = cl.clone();
            tokio::spawn(async move {
                let mut conn = Conn::new(leader, &cl.addrs[&leader]);
                let mut lat = Vec::new();
                let mut i = 0u64;
                while Instant::now() < until {
                    let t0 = Instant::now();
                    let key = format!("c{c}-{i}");
                    cl.write(&mut conn, leader, &key, "value of 32 bytes, more or less.")
                        .await?;
                    lat.push(t0.elapsed().as_nanos() as u64);
                    i += 1;
                }
                Ok::<Vec<u64>, String>(lat)
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())??);
    }
    Ok(all)
}

/// Runs `clients` writers for `secs` against a fresh cluster on `store`.
async fn run(
    store: &str,
    clients: usize,
    hog: usize,
    secs: f64,
    node_args: &[String],
) -> Result<Row, String> {
    let node = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("xwal-raft-node");
    let root = std::env::temp_dir().join(format!(
        "xwal-raft-bench-{}-{store}-{clients}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&root);
    let mut cl = LocalCluster::new(node, root.clone(), store);
    cl.node_args = node_args.to_vec();
    for id in 1..=3 {
        cl.start(id, id == 1);
    }
    let leader = cl.leader(None).await?;
    // One write first: the cluster's first entries are not the row's.
    let mut conn = Conn::new(leader, &cl.addrs[&leader]);
    cl.write(&mut conn, leader, "warm-up", "x").await?;
    let cl = std::sync::Arc::new(cl);
    let before = snapshot(&cl).await;
    let start = Instant::now();
    let mut all = drive(&cl, leader, clients, secs).await?;
    let elapsed = start.elapsed().as_secs_f64();
    let after = snapshot(&cl).await;
    drop(cl);
    if let Some(out) = arg("--trace") {
        // Each node's openraft trace, kept for reading one round.
        let _ = std::fs::create_dir_all(&out);
        for id in 1..=3 {
            let from = root.join(format!("node-{id}.trace.log"));
            let to = Path::new(&out).join(format!("{store}-{clients}-node-{id}.log"));
            let _ = std::fs::copy(from, to);
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    all.sort_unstable();
    Ok(Row {
        store: store.to_string(),
        clients,
        hog,
        writes_per_s: all.len() as f64 / elapsed,
        p50_us: quantile_us(&all, 0.5),
        p99_us: quantile_us(&all, 0.99),
        leader,
        nodes: delta(&before, &after),
        writes: all.len() as u64,
        secs: elapsed,
    })
}

/// p50 of a `pwrite` (4 KiB) + `fdatasync` loop for `secs` in a file under
/// `dir`: the raw sync the nodes' disk offers, in µs.
fn raw_fdatasync_p50_us(dir: &Path, secs: f64) -> Result<f64, String> {
    use std::os::unix::fs::FileExt;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let path = dir.join(format!("raw-fdatasync-{}", std::process::id()));
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| e.to_string())?;
    let block = vec![0x5au8; 4096];
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let mut lat = Vec::new();
    let mut off = 0u64;
    while Instant::now() < until {
        let t0 = Instant::now();
        f.write_all_at(&block, off).map_err(|e| e.to_string())?;
        f.sync_data().map_err(|e| e.to_string())?;
        lat.push(t0.elapsed().as_nanos() as u64);
        off = (off + 4096) % (64 << 20);
    }
    let _ = std::fs::remove_file(&path);
    lat.sort_unstable();
    Ok(quantile_us(&lat, 0.5))
}

fn print_row(r: &Row) {
    let leader = r.nodes.iter().find(|n| n.0 == r.leader).map(|n| n.1.stats);
    let per_batch = leader.map_or(0.0, |s| s.requests as f64 / s.batches.max(1) as f64);
    println!(
        "{:<12} {:>7} {:>5} {:>10.0} {:>9.0} {:>9.0} {:>10.1}",
        r.store, r.clients, r.hog, r.writes_per_s, r.p50_us, r.p99_us, per_batch
    );
    for (id, n) in &r.nodes {
        let role = if *id == r.leader {
            "leader"
        } else {
            "follower"
        };
        let s = n.stats;
        let per_commit = if s.log_commits == 0 {
            "-".to_string()
        } else {
            format!("{:.1}", s.log_entries as f64 / s.log_commits as f64)
        };
        println!(
            "    node {id} {role:<8}  entries/commit {per_commit:>6}  commits/s {:>7.0}  CPU/write {:>6.1} us",
            s.log_commits as f64 / r.secs,
            n.cpu_us as f64 / r.writes.max(1) as f64,
        );
    }
}

fn list<T: std::str::FromStr>(name: &str, default: &str) -> Vec<T> {
    arg(name)
        .unwrap_or_else(|| default.into())
        .split(',')
        .filter_map(|c| c.parse().ok())
        .collect()
}

/// The targets, for the rows that were run.
fn targets(rows: &[Row], hogs: &[usize], sync_us: &[(usize, f64)]) {
    let find = |store: &str, c: usize, h: usize| {
        rows.iter()
            .find(|r| r.store == store && r.clients == c && r.hog == h)
    };
    println!("\ntargets (every node fdatasyncs before it acknowledges):");
    for &h in hogs {
        let load = if h > 0 {
            format!(", {}", beside(h))
        } else {
            String::new()
        };
        for (c, vs_mem) in [(1024, 0.8), (64, 0.5)] {
            let (Some(x), m, e) = (
                find("xwal", c, h),
                find("mem", c, h),
                find("raft-engine", c, h),
            ) else {
                continue;
            };
            if let Some(m) = m {
                let ratio = x.writes_per_s / m.writes_per_s.max(1e-9);
                let ok = if ratio >= vs_mem { "pass" } else { "MISS" };
                println!("  {c} clients{load}: xwal / in-memory = {ratio:.2}x (>= {vs_mem}x) {ok}");
            }
            if let Some(e) = e {
                let ratio = x.writes_per_s / e.writes_per_s.max(1e-9);
                let ok = if ratio >= 1.5 { "pass" } else { "MISS" };
                println!("  {c} clients{load}: xwal / raft-engine = {ratio:.2}x (>= 1.5x) {ok}");
            }
        }
        if let (Some(x), Some(m), Some((_, sync))) = (
            find("xwal", 1, h),
            find("mem", 1, h),
            sync_us.iter().find(|s| s.0 == h),
        ) {
            let bound = m.p50_us + 2.0 * sync;
            let ok = if x.p50_us <= bound { "pass" } else { "MISS" };
            println!(
                "  1 client{load}: xwal p50 {:.0} us <= in-memory p50 {:.0} + 2 x fdatasync p50 {sync:.0} = {bound:.0} us {ok}",
                x.p50_us, m.p50_us
            );
        }
    }
}

fn node_args() -> Vec<String> {
    let mut out = Vec::new();
    for name in ["--in-flight", "--batch-requests", "--batch-bytes"] {
        if let Some(v) = arg(name) {
            out.push(name.to_string());
            out.push(v);
        }
    }
    if arg("--trace").is_some() {
        out.push("--trace".into());
    }
    out
}

fn main() -> Result<(), String> {
    let secs: f64 = arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let clients: Vec<usize> = list("--clients", "1,64,1024");
    let stores: Vec<String> = list("--stores", "xwal,raft-engine,mem");
    let hog_threads = cpu_hog()?;
    let hogs: Vec<usize> = std::iter::once(0).chain(hog_threads).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    println!("three nodes on 127.0.0.1, {secs} s per row, each client waits for each write");
    if let Some(n) = hog_threads {
        println!(
            "each row idle (hog 0), then {} (hog {n}: user-space spin loops in this process)",
            beside(n)
        );
    }
    let mut sync_us = Vec::new();
    for &h in &hogs {
        let hog = (h > 0).then(|| hog::Hog::start(h));
        let p50 = raw_fdatasync_p50_us(&std::env::temp_dir(), 1.0)?;
        drop(hog);
        println!(
            "raw pwrite 4 KiB + fdatasync in {} (hog {h}): p50 {p50:.0} us",
            std::env::temp_dir().display()
        );
        sync_us.push((h, p50));
    }
    println!(
        "\n{:<12} {:>7} {:>5} {:>10} {:>9} {:>9} {:>10}",
        "log store", "clients", "hog", "writes/s", "p50 us", "p99 us", "req/entry"
    );
    let mut rows = Vec::new();
    for &c in &clients {
        for &h in &hogs {
            for store in &stores {
                let hog = (h > 0).then(|| hog::Hog::start(h));
                let out = rt.block_on(run(store, c, h, secs, &node_args()));
                if let Some(hog) = hog {
                    hog.stop();
                }
                let row = out.map_err(|e| format!("{store}, {c} clients: {e}"))?;
                print_row(&row);
                rows.push(row);
            }
        }
    }
    targets(&rows, &hogs, &sync_us);
    Ok(())
}
