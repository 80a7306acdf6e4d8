//! Workload g ("b-async"): many tasks on a small tokio runtime, each awaiting
//! its own durable ack. Unlike workload b's threads, a waiting task costs no
//! thread sleep and wake: the ack wakes a task, and 2 worker threads poll all
//! of them. So this measures how far durable appends go past the wake floor
//! of blocking writers (bench/floors.rs) on the same machine.

use super::Settings;
use super::report::Row;
use super::stats::Histogram;
use super::workloads::{self, Ctx, GcSetting, Measured, Policy};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use xwal::Wal;

/// Worker threads of the runtime: as many as the 2 cores of the machine the
/// target was set on, and fixed rather than one per core so that runs on
/// other machines compare with it.
pub const WORKERS: usize = 2;

/// `tasks` tasks, each looping `wal.submit(payload)?.await` for `dur`;
/// latency is submit to ack as each task sees it.
pub fn run_async(
    wal: &Arc<Wal>,
    tasks: usize,
    entry_size: usize,
    dur: Duration,
) -> Result<Measured, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .thread_name("bench-async")
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (wal, stop) = (wal.clone(), stop.clone());
            rt.spawn(async move {
                let data = vec![0x5au8; entry_size];
                let mut h = Histogram::new();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let t0 = Instant::now();
                    let ticket = wal
                        .submit(data.clone())
                        .map_err(|e| format!("submit: {e}"))?;
                    ticket.await.map_err(|e| format!("ticket: {e}"))?;
                    h.record(t0.elapsed().as_nanos() as u64);
                    n += 1;
                }
                Ok::<_, String>((n, h))
            })
        })
        .collect();
    // The tasks run on the runtime's workers; this thread only keeps time
    // (no tokio timer needed).
    std::thread::sleep(dur);
    stop.store(true, Ordering::Relaxed);
    let results: Vec<_> = rt.block_on(async {
        let mut v = Vec::with_capacity(handles.len());
        for h in handles {
            v.push(h.await.map_err(|e| format!("task: {e}")).and_then(|r| r));
        }
        v
    });
    workloads::gather(results, start)
}

/// Workload g: `tasks` async tasks on a fresh WAL under `policy` and `gc`.
pub fn async_tasks(
    ctx: &Ctx,
    s: &Settings,
    policy: &Policy,
    gc: &GcSetting,
    tasks: usize,
) -> Result<Row, String> {
    let dir = ctx.fresh_dir(&format!("g-{tasks}"))?;
    let wal = workloads::open(ctx.config(&dir, policy, gc))?;
    let m = run_async(&wal, tasks, s.entry_size, s.duration())?;
    workloads::close(wal)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Row::measured(
        'g',
        "g: b-async, awaiting tasks",
        policy,
        &gc.label,
        tasks,
        s.entry_size,
        &m,
        true,
        &format!("{WORKERS} tokio workers; thr = tasks; latency per await"),
    ))
}
