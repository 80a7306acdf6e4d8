//! Floors for many blocking writers: what N threads that each sleep until
//! their own ack can reach on this machine without xwal's code in the way.
//!
//! One committer thread serves N waiter threads. Each waiter takes the next
//! number (which also publishes it to the committer), then sleeps on one
//! shared durable counter (`Mutex<u64>` + `Condvar`) until it reaches its
//! number. Per batch the committer makes everything published so far durable
//! and wakes every waiter with one `notify_all`.
//!
//! - broadcast floor: the batch is one real 4 KiB pwrite O_DIRECT + fdatasync;
//! - wake floor: no disk, the committer only advances the counter, so the
//!   figure is the cost of putting threads to sleep and waking them here.
//!
//! A WAL whose blocking writers sleep per append is bounded by these, whatever
//! its own code; the targets of workload b are ratios to the broadcast floor.

use super::baseline::{LoopResult, PwriteLoop, RawStrategy};
use super::stats::Histogram;
use super::workloads;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Which floor: with the disk (broadcast) or without (wake).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloorKind {
    Broadcast,
    Wake,
}

impl FloorKind {
    pub fn label(self) -> &'static str {
        match self {
            FloorKind::Broadcast => "broadcast floor",
            FloorKind::Wake => "wake floor",
        }
    }
}

/// A floor run: appends (waiter wake-ups) and the committer's batches.
pub struct FloorResult {
    pub appends: LoopResult,
    pub batches: u64,
}

/// The durable counter's value after a committer failure: wakes every waiter.
const FAILED: u64 = u64::MAX;

struct Shared {
    /// Numbers taken (and so published) by the waiters.
    requested: AtomicU64,
    durable: Mutex<u64>,
    woken: Condvar,
    /// Waiters take no new number once set.
    stop: AtomicBool,
    /// Every waiter has left: the committer may stop.
    done: AtomicBool,
}

/// Nothing holds these locks across a panic that matters here: a poisoned
/// counter is still a counter.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn publish(sh: &Shared, value: u64) {
    *lock(&sh.durable) = value;
    sh.woken.notify_all();
}

/// Serves batches until `done`: everything requested so far is one batch.
fn committer(sh: &Shared, mut disk: Option<PwriteLoop>) -> Result<u64, String> {
    let (mut durable, mut batches) = (0u64, 0u64);
    loop {
        let target = sh.requested.load(Ordering::Acquire);
        if target == durable {
            if sh.done.load(Ordering::Acquire) {
                return Ok(batches);
            }
            // Each waiter unparks the committer after taking a number, and
            // `run` does after setting `done`; park may also return early,
            // hence the loop. The timeout is only a safety net.
            std::thread::park_timeout(Duration::from_millis(1));
            continue;
        }
        if let Some(Err(e)) = disk.as_mut().map(PwriteLoop::commit) {
            publish(sh, FAILED);
            return Err(e);
        }
        publish(sh, target);
        durable = target;
        batches += 1;
    }
}

/// One waiter: take a number, wake the committer, sleep until durable.
fn waiter(sh: &Shared, committer: &Thread, gate: &Gate) -> Result<(u64, Histogram), String> {
    let mut h = Histogram::new();
    let mut n = 0u64;
    gate.wait();
    while !sh.stop.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        let mine = sh.requested.fetch_add(1, Ordering::AcqRel) + 1;
        committer.unpark();
        let mut d = lock(&sh.durable);
        while *d < mine {
            d = sh.woken.wait(d).unwrap_or_else(PoisonError::into_inner);
        }
        if *d == FAILED {
            return Err("the floor's committer failed".into());
        }
        drop(d);
        h.record(t0.elapsed().as_nanos() as u64);
        n += 1;
    }
    Ok((n, h))
}

/// Runs a floor with `threads` waiters for `duration`; the broadcast floor
/// writes a zero-filled file in `dir`.
pub fn run(
    kind: FloorKind,
    dir: &Path,
    threads: usize,
    duration: Duration,
) -> Result<FloorResult, String> {
    let disk = match kind {
        FloorKind::Broadcast => Some(PwriteLoop::new(
            dir,
            "floor.dat",
            4096,
            64 << 20,
            RawStrategy::DirectFdatasync,
        )?),
        FloorKind::Wake => None,
    };
    let sh = Arc::new(Shared {
        requested: AtomicU64::new(0),
        durable: Mutex::new(0),
        woken: Condvar::new(),
        stop: AtomicBool::new(false),
        done: AtomicBool::new(false),
    });
    let c = {
        let sh = sh.clone();
        std::thread::Builder::new()
            .name("floor-committer".into())
            .spawn(move || committer(&sh, disk))
            .map_err(|e| format!("spawning the committer: {e}"))?
    };
    let out = run_waiters(&sh, c.thread(), threads, duration);
    // The committer serves until every waiter has left (above), then stops.
    sh.done.store(true, Ordering::Release);
    c.thread().unpark();
    // The committer's own error first: the waiters only saw that it failed.
    let batches = c
        .join()
        .map_err(|_| "the floor's committer panicked".to_string())??;
    Ok(FloorResult {
        appends: out?,
        batches,
    })
}

/// Holds the waiters until every one is spawned, so they start together; a
/// failed spawn opens it too (the others then see `stop` and leave).
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut g = lock(&self.open);
        while !*g {
            g = self.opened.wait(g).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn open(&self) {
        *lock(&self.open) = true;
        self.opened.notify_all();
    }
}

/// Spawns the waiters, lets them run for `duration`, and joins them all.
fn run_waiters(
    sh: &Arc<Shared>,
    committer: &Thread,
    threads: usize,
    duration: Duration,
) -> Result<LoopResult, String> {
    let gate = Arc::new(Gate::default());
    let mut handles = Vec::with_capacity(threads);
    let mut err = None;
    for i in 0..threads {
        let (shared, c, g) = (sh.clone(), committer.clone(), gate.clone());
        match std::thread::Builder::new()
            .name(format!("floor-waiter-{i}"))
            .spawn(move || waiter(&shared, &c, &g))
        {
            Ok(h) => handles.push(h),
            Err(e) => {
                sh.stop.store(true, Ordering::Relaxed);
                err = Some(format!("spawning a waiter: {e}"));
                break;
            }
        }
    }
    gate.open();
    let start = Instant::now();
    if err.is_none() {
        std::thread::sleep(duration);
    }
    sh.stop.store(true, Ordering::Relaxed);
    let joined = handles
        .into_iter()
        .map(|h| workloads::join(h, "a floor waiter"));
    let m = workloads::gather(joined, start)?;
    if let Some(e) = err {
        return Err(e);
    }
    Ok(LoopResult {
        ops: m.entries,
        elapsed: m.elapsed,
        latency: m.latency,
    })
}
