//! Workload t: latency from durable to delivered of a live tail, at a paced
//! 10,000 appends/s (`--tail-rate`), in-process (`Wal::tail`) and from
//! another process (`xwal replay DIR --follow` on the same directory).
//!
//! "Durable" is the moment the append's ticket resolved on the thread waiting
//! for it: the writer wakes that thread and the tail's at the same point, so
//! the figure is how much later the tail has the entry (negative gaps, a tail
//! faster than the acker, count as 0). The follower has no writer in its
//! process: it delivers an entry once a later commit proves it durable, so
//! its figure includes the wait for the next commit (1/rate on average).

use super::stats::Histogram;
use super::workloads::{Ctx, GcSetting, Measured, Policy, close, open};
use crate::bench::report::Row;
use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use xwal::Wal;

/// Acknowledgement times, by LSN, as offsets from the run's start (ns).
type Times = Arc<Mutex<Vec<u64>>>;

fn at(start: Instant, times: &Times, lsn: u64) {
    let ns = start.elapsed().as_nanos() as u64;
    let mut t = times.lock().unwrap_or_else(|e| e.into_inner());
    let i = lsn as usize;
    if t.len() <= i {
        t.resize(i + 1, 0);
    }
    t[i] = ns;
}

/// Waits for a future by parking the thread: the thread that records
/// acknowledgements sleeps until its ticket's waker runs, and leaves the core
/// to the tail it measures.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// Appends at `rate`/s for `secs`, recording each ack's time by LSN.
fn paced_appends(
    wal: &Arc<Wal>,
    rate: u64,
    secs: f64,
    start: Instant,
    acks: &Times,
) -> Result<u64, String> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<xwal::CommitTicket>(65_536);
    let waiter = {
        let acks = acks.clone();
        std::thread::Builder::new()
            .name("bench-acker".into())
            .spawn(move || -> Result<(), String> {
                for t in rx {
                    let lsn = t.lsn().0;
                    block_on(t).map_err(|e| format!("append: {e}"))?;
                    at(start, &acks, lsn);
                }
                Ok(())
            })
            .map_err(|e| e.to_string())?
    };
    let n = (rate as f64 * secs) as u64;
    let data = [0x5au8; 128];
    for i in 0..n {
        // Sleeping, not spinning: on 2 cores a spinning pacer takes the
        // core the writer or the tail needs. The due times are absolute, so
        // the rate holds whatever the sleep overshoots.
        let due = start + Duration::from_nanos(i * 1_000_000_000 / rate.max(1));
        let now = Instant::now();
        if now < due {
            std::thread::sleep(due - now);
        }
        let t = wal.submit(&data[..]).map_err(|e| format!("append: {e}"))?;
        tx.send(t).map_err(|_| "ack waiter ended".to_string())?;
    }
    drop(tx);
    waiter
        .join()
        .map_err(|_| "ack waiter panicked".to_string())??;
    Ok(n)
}

fn latency(acks: &Times, delivered: &[(u64, u64)]) -> Histogram {
    let acks = acks.lock().unwrap_or_else(|e| e.into_inner());
    let mut h = Histogram::new();
    for &(lsn, ns) in delivered {
        if let Some(&a) = acks.get(lsn as usize).filter(|a| **a > 0) {
            h.record(ns.saturating_sub(a));
        }
    }
    h
}

/// In-process: a tail thread beside the paced appender.
fn in_process(ctx: &Ctx, policy: &Policy, rate: u64, secs: f64) -> Result<(Measured, u64), String> {
    let dir = ctx.fresh_dir("t-tail")?;
    let wal = open(ctx.config(&dir, policy, &GcSetting::parse("default")?))?;
    let mut tail = wal.tail(xwal::Lsn(1)).map_err(|e| format!("tail: {e}"))?;
    let start = Instant::now();
    let acks: Times = Arc::default();
    let reader = std::thread::Builder::new()
        .name("bench-tail".into())
        .spawn(move || {
            let mut got = Vec::new();
            while let Ok(b) = tail.next_batch() {
                let ns = start.elapsed().as_nanos() as u64;
                got.extend(b.iter().map(|(lsn, _)| (lsn.0, ns)));
            }
            got
        })
        .map_err(|e| e.to_string())?;
    let n = paced_appends(&wal, rate, secs, start, &acks)?;
    let elapsed = start.elapsed();
    close(wal)?;
    let got = reader.join().map_err(|_| "tail thread panicked")?;
    let _ = std::fs::remove_dir_all(&dir);
    if got.len() as u64 != n {
        return Err(format!("the tail delivered {} of {n} entries", got.len()));
    }
    let m = Measured {
        entries: n,
        elapsed,
        latency: latency(&acks, &got),
    };
    Ok((m, n))
}

/// Cross-process: `xwal replay DIR --follow` beside the paced appender.
fn cross_process(
    ctx: &Ctx,
    policy: &Policy,
    rate: u64,
    secs: f64,
) -> Result<(Measured, u64), String> {
    let dir = ctx.fresh_dir("t-follow")?;
    let wal = open(ctx.config(&dir, policy, &GcSetting::parse("default")?))?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = std::process::Command::new(exe)
        .args(["replay", &dir.to_string_lossy(), "--follow"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting the follower: {e}"))?;
    let out = child.stdout.take().ok_or("no follower stdout")?;
    // Two entries before the clock starts: the second proves the first, and
    // the follower printing it says it is up (process start and open are
    // not what is measured).
    wal.append(b"ready").map_err(|e| e.to_string())?;
    wal.append(b"ready").map_err(|e| e.to_string())?;
    let mut lines = std::io::BufReader::new(out).lines();
    lines
        .next()
        .ok_or("the follower printed nothing")?
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        for line in lines {
            let Ok(line) = line else { break };
            let ns = start.elapsed().as_nanos() as u64;
            let lsn = line
                .strip_prefix("{\"lsn\":")
                .and_then(|r| r.split(',').next())
                .and_then(|v| v.parse::<u64>().ok());
            if let Some(lsn) = lsn {
                got.push((lsn, ns));
            }
        }
        got
    });
    let acks: Times = Arc::default();
    let n = paced_appends(&wal, rate, secs, start, &acks)?;
    let elapsed = start.elapsed();
    // The last commit is proven durable by the next one: one more, then stop.
    wal.append(b"proof").map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let _ = child.wait();
    close(wal)?;
    let got = reader.join().map_err(|_| "follower reader panicked")?;
    let _ = std::fs::remove_dir_all(&dir);
    if (got.len() as u64) < n + 1 {
        return Err(format!(
            "the follower delivered {} of {n} entries",
            got.len()
        ));
    }
    let m = Measured {
        entries: n,
        elapsed,
        latency: latency(&acks, &got),
    };
    Ok((m, n))
}

/// Workload t: both rows.
pub fn tail_latency(
    ctx: &Ctx,
    seconds: f64,
    rate: u64,
    policy: &Policy,
) -> Result<Vec<Row>, String> {
    let secs = seconds.max(1.0);
    let mut rows = Vec::new();
    for (name, run) in [
        (
            "t: tail in-process, durable -> delivered",
            in_process as fn(_, _, _, _) -> _,
        ),
        ("t: follower process, durable -> delivered", cross_process),
    ] {
        let (m, n) = run(ctx, policy, rate, secs)?;
        let note = format!("{n} appends paced at {rate}/s");
        rows.push(Row::measured(
            't', name, policy, "default", 1, 128, &m, true, &note,
        ));
    }
    Ok(rows)
}
