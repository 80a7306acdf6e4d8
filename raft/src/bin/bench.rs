//! `xwal-raft-bench [--seconds S] [--clients 1,64] [--cpu-hog [N]]`: client
//! writes per second and commit latency through a three-node cluster on
//! 127.0.0.1, with the xwal log store and, in the same run, the in-memory log
//! store (what the network and consensus cost without a disk). Each client
//! writes one key at a time and waits for the leader's answer (committed and
//! applied).
//!
//! `--cpu-hog N` (without N: one per CPU) runs every row twice in a row: idle
//! (hog 0), then beside N threads of this process spinning in user space at
//! the same nice level (a CPU-bound neighbour of the three node processes).

// The same busy threads as `xwal bench --cpu-hog`.
#[path = "../../../cli/src/bench/hog.rs"]
mod hog;

use std::time::{Duration, Instant};
use xwal_openraft::cluster::Conn;
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

fn quantile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

/// Runs `clients` writers for `secs` against a fresh cluster; (writes/s, p50 us, p99 us).
async fn run(mem: bool, clients: usize, secs: f64) -> Result<(f64, f64, f64), String> {
    let node = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("xwal-raft-node");
    let root = std::env::temp_dir().join(format!(
        "xwal-raft-bench-{}-{mem}-{clients}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&root);
    let mut cl = LocalCluster::new(node, root.clone(), mem);
    for id in 1..=3 {
        cl.start(id, id == 1);
    }
    let leader = cl.leader(None).await?;
    let cl = std::sync::Arc::new(cl);
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let cl = cl.clone();
            tokio::spawn(async move {
                let mut conn = Conn::new(leader, &cl.addrs[&leader]);
                let mut lat = Vec::new();
                let mut i = 0u64;
                while Instant::now() < until {
                    let t0 = Instant::now();
                    cl.write(
                        &mut conn,
                        leader,
                        &format!("c{c}-{i}"),
                        "value of 32 bytes, more or less.",
                    )
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
    let elapsed = start.elapsed().as_secs_f64();
    drop(cl);
    let _ = std::fs::remove_dir_all(&root);
    all.sort_unstable();
    Ok((
        all.len() as f64 / elapsed,
        quantile(&all, 0.5),
        quantile(&all, 0.99),
    ))
}

fn main() -> Result<(), String> {
    let secs: f64 = arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let clients: Vec<usize> = arg("--clients")
        .unwrap_or_else(|| "1,64".into())
        .split(',')
        .filter_map(|c| c.parse().ok())
        .collect();
    let hog_threads = cpu_hog()?;
    // Each row idle (hog 0), then with --cpu-hog beside N busy threads.
    let hogs: Vec<usize> = std::iter::once(0).chain(hog_threads).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    println!("three nodes on 127.0.0.1, {secs} s per run, each client waits for each write");
    if let Some(n) = hog_threads {
        println!(
            "each row idle (hog 0), then {} (hog {n}: user-space spin loops in this process)",
            beside(n)
        );
    }
    println!(
        "{:<22} {:>8} {:>12} {:>10} {:>10} {:>5}",
        "log store", "clients", "writes/s", "p50 us", "p99 us", "hog"
    );
    let mut rows = Vec::new();
    for &c in &clients {
        for &h in &hogs {
            for mem in [false, true] {
                // The hog runs from right before the row to right after it.
                let hog = (h > 0).then(|| hog::Hog::start(h));
                let out = rt.block_on(run(mem, c, secs));
                if let Some(hog) = hog {
                    hog.stop();
                }
                let (w, p50, p99) = out?;
                let name = if mem { "in-memory (baseline)" } else { "xwal" };
                println!("{name:<22} {c:>8} {w:>12.0} {p50:>10.0} {p99:>10.0} {h:>5}");
                rows.push((c, h, mem, w));
            }
        }
    }
    for &c in &clients {
        for &h in &hogs {
            let w = |mem: bool| {
                rows.iter()
                    .find(|r| r.0 == c && r.1 == h && r.2 == mem)
                    .map_or(0.0, |r| r.3)
            };
            let beside = if h > 0 {
                format!(", {}", beside(h))
            } else {
                String::new()
            };
            println!(
                "{c} clients{beside}: xwal / in-memory = {:.2}x",
                w(false) / w(true).max(1e-9)
            );
        }
    }
    Ok(())
}
