//! `--cpu-hog N`: N threads that keep the CPUs busy beside a benchmark run.
//!
//! It models a WAL embedded beside a database whose own threads keep every
//! core busy: the shell's `(while :; do :; done) &` started N times. Each
//! thread spins in user space on a counter at the bench's own nice level: no
//! system call, no `spin_loop` hint, no `sched_yield`, no CPU pinning, so the
//! scheduler shares the cores between it and the bench's threads (and the
//! kernel's io-wq workers) as it would with any CPU-bound neighbour.
//!
//! Shared by `xwal bench` (cli/src/bench), the peers benchmark
//! (`benches/peers` includes this file with `#[path]`) and
//! `xwal-raft-bench` (likewise).

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;

/// The default N of `--cpu-hog` without a value: one busy thread per CPU
/// this process may run on.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// N spinning threads, running from [`Hog::start`] until [`Hog::stop`] (or
/// drop), which joins them.
pub struct Hog {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<u64>>,
}

impl Hog {
    /// Starts `n` spinning threads and returns once every one of them runs.
    pub fn start(n: usize) -> Hog {
        let stop = Arc::new(AtomicBool::new(false));
        let ready = Arc::new(Barrier::new(n + 1));
        let threads = (0..n)
            .map(|i| {
                let (stop, ready) = (stop.clone(), ready.clone());
                std::thread::Builder::new()
                    .name(format!("cpu-hog-{i}"))
                    .spawn(move || {
                        ready.wait();
                        let mut counter = 0u64;
                        while !stop.load(Ordering::Relaxed) {
                            counter = black_box(counter.wrapping_add(1));
                        }
                        counter
                    })
                    .expect("spawning a --cpu-hog thread")
            })
            .collect();
        ready.wait();
        Hog { stop, threads }
    }

    /// Stops and joins the threads; returns the loop iterations they ran.
    pub fn stop(mut self) -> u64 {
        self.halt()
    }

    fn halt(&mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.threads
            .drain(..)
            .map(|t| t.join().unwrap_or(0))
            .fold(0u64, u64::wrapping_add)
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        self.halt();
    }
}
