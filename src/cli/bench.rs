//! `xwal bench`: durable-append throughput and latency, as ratios to a raw
//! io_uring write+fdatasync loop measured in the same run on the same disk.

use super::baseline;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use xwal::{Config, IoEngine, SyncPolicy, Wal};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Directory to run in (a temp dir under it is used and removed). Default: the current directory.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seconds per workload.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Writer thread counts, comma separated.
    #[arg(long, default_value = "1,4,16,64", value_delimiter = ',')]
    threads: Vec<usize>,
    /// Entry size in bytes.
    #[arg(long, default_value_t = 128)]
    entry_size: usize,
    /// I/O engine: uring or sync.
    #[arg(long, default_value = "uring")]
    engine: String,
    /// Short run for tests: 0.3 s per workload, threads 1 and 4.
    #[arg(long)]
    quick: bool,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

struct Row {
    name: String,
    threads: usize,
    entries_per_s: f64,
    mb_per_s: f64,
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
    max_us: f64,
    ratio: f64,
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

const TMPFS_MAGIC: i64 = 0x0102_1994;

fn warn_if_tmpfs(dir: &std::path::Path) {
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return;
    };
    // SAFETY: statfs fills the struct; c is a valid C string.
    let mut s: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut s) } == 0 && s.f_type as i64 == TMPFS_MAGIC {
        eprintln!("warning: {} is on tmpfs: O_DIRECT and fdatasync mean nothing there; use --dir on a real disk", dir.display());
    }
}

pub fn run(a: BenchArgs) -> Result<(), String> {
    let (secs, threads) = if a.quick {
        (0.3, vec![1, 4])
    } else {
        (a.seconds, a.threads.clone())
    };
    let dur = Duration::from_secs_f64(secs);
    let base = a.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    warn_if_tmpfs(&base);
    let tmp = tempfile::Builder::new()
        .prefix("xwal-bench-")
        .tempdir_in(&base)
        .map_err(|e| format!("temp dir in {}: {e}", base.display()))?;
    let engine = match a.engine.as_str() {
        "uring" => IoEngine::Uring,
        "sync" => IoEngine::Sync,
        other => return Err(format!("--engine {other}: use uring or sync")),
    };

    eprintln!("baseline: raw io_uring O_DIRECT 4 KiB write + linked fdatasync, QD1, {secs:.1} s");
    let b = baseline::uring_write_fdatasync(tmp.path(), 4096, dur, 64 << 20)?;
    let mut bl = b.latencies_ns;
    bl.sort_unstable();
    let base_rate = b.ops as f64 / b.elapsed.as_secs_f64();
    let mut rows = vec![Row {
        name: "raw write+fdatasync QD1".into(),
        threads: 1,
        entries_per_s: base_rate,
        mb_per_s: base_rate * 4096.0 / 1e6,
        p50_us: pct(&bl, 0.5),
        p99_us: pct(&bl, 0.99),
        p999_us: pct(&bl, 0.999),
        max_us: pct(&bl, 1.0),
        ratio: 1.0,
    }];

    for (i, &t) in threads.iter().enumerate() {
        eprintln!(
            "xwal append, {t} threads, {} B entries, sync=always, {secs:.1} s",
            a.entry_size
        );
        let dir = tmp.path().join(format!("wal-{i}"));
        let cfg = Config::new(&dir)
            .io_engine(engine)
            .sync(SyncPolicy::Always)
            .segment_size(128 << 20);
        let (wal, _) = Wal::open(cfg).map_err(|e| e.to_string())?;
        let wal = Arc::new(wal);
        let start = Instant::now();
        let handles: Vec<_> = (0..t)
            .map(|_| {
                let wal = wal.clone();
                let size = a.entry_size;
                std::thread::spawn(move || -> Result<Vec<u64>, String> {
                    let data = vec![7u8; size];
                    let mut lat = Vec::with_capacity(1 << 16);
                    while start.elapsed() < dur {
                        let t0 = Instant::now();
                        wal.append(&data).map_err(|e| e.to_string())?;
                        lat.push(t0.elapsed().as_nanos() as u64);
                    }
                    Ok(lat)
                })
            })
            .collect();
        let mut lat = Vec::new();
        for h in handles {
            lat.extend(h.join().map_err(|_| "bench thread panicked")??);
        }
        let elapsed = start.elapsed().as_secs_f64();
        wal.close().map_err(|e| e.to_string())?;
        lat.sort_unstable();
        let rate = lat.len() as f64 / elapsed;
        rows.push(Row {
            name: "xwal append (always)".into(),
            threads: t,
            entries_per_s: rate,
            mb_per_s: rate * a.entry_size as f64 / 1e6,
            p50_us: pct(&lat, 0.5),
            p99_us: pct(&lat, 0.99),
            p999_us: pct(&lat, 0.999),
            max_us: pct(&lat, 1.0),
            ratio: rate / base_rate,
        });
        let _ = std::fs::remove_dir_all(&dir);
    }

    println!(
        "{:<26} {:>7} {:>12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>12}",
        "workload",
        "threads",
        "entries/s",
        "MB/s",
        "p50 us",
        "p99 us",
        "p999 us",
        "max us",
        "x baseline"
    );
    for r in &rows {
        println!(
            "{:<26} {:>7} {:>12.0} {:>9.2} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>11.2}x",
            r.name,
            r.threads,
            r.entries_per_s,
            r.mb_per_s,
            r.p50_us,
            r.p99_us,
            r.p999_us,
            r.max_us,
            r.ratio
        );
    }
    if let Some(path) = a.json {
        let mut s = String::from("{\n  \"rows\": [\n");
        for (i, r) in rows.iter().enumerate() {
            s += &format!(
                "    {{\"workload\": \"{}\", \"threads\": {}, \"entries_per_s\": {:.1}, \"mb_per_s\": {:.3}, \"p50_us\": {:.2}, \"p99_us\": {:.2}, \"p999_us\": {:.2}, \"max_us\": {:.2}, \"ratio_to_baseline\": {:.4}}}{}\n",
                r.name, r.threads, r.entries_per_s, r.mb_per_s, r.p50_us, r.p99_us, r.p999_us, r.max_us, r.ratio,
                if i + 1 < rows.len() { "," } else { "" }
            );
        }
        s += &format!(
            "  ],\n  \"entry_size\": {},\n  \"seconds\": {}\n}}\n",
            a.entry_size, secs
        );
        std::fs::write(&path, s).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(())
}
