//! A request that reaches the queue just after the writer's last drain at
//! close is still answered (`Closed`), never left waiting: the queue would
//! otherwise keep its ack alive, unanswered, as long as the `Wal` exists.
//! Many rounds of producers racing `close`; a watchdog fails the test if any
//! call has not returned within 20 s.
use crate::common;
use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use xwal::*;

#[test]
fn every_call_racing_close_returns() {
    let rounds: u64 = std::env::var("XWAL_CLOSE_RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let progress = Arc::new(AtomicU64::new(0));
    let watched = progress.clone();
    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(1);
    let watchdog = std::thread::spawn(move || {
        let mut last = (0, Instant::now());
        loop {
            if done_rx.recv_timeout(Duration::from_millis(200)).is_ok() {
                return;
            }
            let now = watched.load(Ordering::Relaxed);
            if now != last.0 {
                last = (now, Instant::now());
            } else if last.1.elapsed() > Duration::from_secs(20) {
                eprintln!("no progress for 20 s at step {now}: a call racing close never returned");
                std::process::exit(101);
            }
        }
    });
    let d = tempdir();
    for round in 0..rounds {
        let engine = ENGINES[(round % 2) as usize];
        let wal = Arc::new(open(&small(d.path(), engine)));
        let hs: Vec<_> = (0..3u64)
            .map(|t| {
                let (w, p) = (wal.clone(), progress.clone());
                std::thread::spawn(move || {
                    for i in 0u64.. {
                        let r = match (t + i) % 3 {
                            0 => w.create_checkpoint().map(|_| ()),
                            1 => w.flush().map(|_| ()),
                            _ => w.append(b"x").map(|_| ()),
                        };
                        p.fetch_add(1, Ordering::Relaxed);
                        match r {
                            Ok(()) => {}
                            Err(Error::Closed) => return,
                            Err(e) => panic!("unexpected error {e}"),
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_micros(200 + 37 * (round % 50)));
        wal.close().unwrap();
        progress.fetch_add(1, Ordering::Relaxed);
        for h in hs {
            h.join().unwrap();
        }
        drop(wal);
        // Next round on the same directory: keep it small.
        for e in std::fs::read_dir(d.path()).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().is_some_and(|n| n != "LOCK") {
                std::fs::remove_file(p).unwrap();
            }
        }
    }
    let _ = done_tx.send(());
    watchdog.join().unwrap();
}
