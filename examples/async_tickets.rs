//! Many concurrent appends from tokio tasks, each awaiting its commit ticket.
//! `Wal::submit` queues without blocking the task (unless the queue is full);
//! the ticket is a `Future` that resolves to the LSN once the entry is durable.
//! Appends from all tasks are group-committed together.
//!
//! `cargo run --example async_tickets`

use std::sync::Arc;
use xwal::{Config, ReplayOptions, Wal};

const TASKS: u64 = 64;
const PER_TASK: u64 = 50;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir_in(".")?;
    let (wal, _) = Wal::open(
        Config::new(dir.path())
            .segment_size(4 << 20)
            .max_entry_size(64 << 10),
    )?;
    let wal = Arc::new(wal);
    let started = std::time::Instant::now();

    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let wal = wal.clone();
        tasks.push(tokio::spawn(async move {
            let mut lsns = Vec::with_capacity(PER_TASK as usize);
            for i in 0..PER_TASK {
                let ticket = wal.submit(format!("task {t} entry {i}"))?;
                lsns.push(ticket.await?);
            }
            Ok::<_, xwal::Error>(lsns)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let elapsed = started.elapsed();

    // Every LSN from 1 to TASKS * PER_TASK was handed out exactly once.
    all.sort_unstable();
    assert_eq!(all, (1..=TASKS * PER_TASK).collect::<Vec<_>>());
    println!(
        "{} tasks appended {} entries in {:.1} ms ({:.0} entries/s)",
        TASKS,
        all.len(),
        elapsed.as_secs_f64() * 1000.0,
        all.len() as f64 / elapsed.as_secs_f64()
    );

    // Replay (a blocking channel: run it off the async workers).
    let wal2 = wal.clone();
    let n = tokio::task::spawn_blocking(move || -> xwal::Result<usize> {
        let replay = wal2.replay(ReplayOptions::all())?;
        let n = replay.receiver().iter().count();
        replay.finish()?;
        Ok(n)
    })
    .await??;
    assert_eq!(n as u64, TASKS * PER_TASK);
    println!("replayed {n} entries");
    wal.close()?;
    Ok(())
}
