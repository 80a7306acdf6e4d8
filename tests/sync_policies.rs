//! Each sync policy appends, replays and survives reopen; each publishes the
//! durable watermark as documented.
use crate::common;
use common::*;
use std::time::{Duration, Instant};
use xwal::*;

#[test]
fn every_policy_round_trips() {
    let policies = [
        SyncPolicy::Always,
        SyncPolicy::Dsync,
        SyncPolicy::Interval(Duration::from_millis(5)),
        SyncPolicy::Never,
    ];
    for engine in ENGINES {
        for policy in policies {
            let d = tempdir();
            let cfg = small(d.path(), engine).sync(policy);
            let wal = open(&cfg);
            append_n_checked(&wal, 1..=500, 100);
            if policy.acks_are_durable() {
                assert_eq!(wal.durable_index(), 500, "{policy:?}");
            }
            assert_eq!(wal.flush().unwrap(), 500, "{policy:?}");
            assert_eq!(wal.durable_index(), 500);
            wal.close().unwrap();
            drop(wal);
            let wal = open(&cfg);
            assert_eq!(wal.last_index(), 500);
            let got = replay_all(&wal, ReplayOptions::all());
            assert_eq!(lsns(&got), (1..=500).collect::<Vec<_>>(), "{policy:?}");
        }
    }
}

#[test]
fn interval_policy_syncs_without_flush() {
    for engine in ENGINES {
        let d = tempdir();
        let wal =
            open(&small(d.path(), engine).sync(SyncPolicy::Interval(Duration::from_millis(20))));
        wal.append(b"a").unwrap();
        let start = Instant::now();
        while wal.durable_index() < 1 {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "interval sync never ran"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// A producer that finds the writer asleep commits on its own thread (the
/// leader path). The writer went to sleep owing no sync, so without being
/// re-armed it would sleep past the interval forever.
#[test]
fn interval_sync_runs_after_an_append_led_by_a_producer() {
    for engine in ENGINES {
        let d = tempdir();
        let wal =
            open(&small(d.path(), engine).sync(SyncPolicy::Interval(Duration::from_millis(20))));
        for n in 1..=5u64 {
            // Long enough for the interval sync to run and the writer to sleep.
            std::thread::sleep(Duration::from_millis(60));
            assert_eq!(wal.append(b"a").unwrap(), n);
            let start = Instant::now();
            while wal.durable_index() < n {
                assert!(
                    start.elapsed() < Duration::from_secs(2),
                    "{engine:?}: append {n} never synced"
                );
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

#[test]
fn never_policy_acks_before_sync() {
    for engine in ENGINES {
        let d = tempdir();
        let wal = open(&small(d.path(), engine).sync(SyncPolicy::Never));
        wal.append(b"a").unwrap();
        wal.append(b"b").unwrap();
        assert_eq!(wal.last_index(), 2);
        assert_eq!(
            wal.durable_index(),
            0,
            "Never must not claim durability before a sync"
        );
        assert_eq!(wal.flush().unwrap(), 2);
    }
}

#[test]
fn commit_delay_still_acks_everything() {
    let d = tempdir();
    let wal = std::sync::Arc::new(open(
        &small(d.path(), IoEngine::Uring).commit_delay(Duration::from_micros(300)),
    ));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let w = wal.clone();
            std::thread::spawn(move || {
                (0..100)
                    .map(|_| w.append(b"x").unwrap().0)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<u64> = hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
    all.sort();
    assert_eq!(all, (1..=400).collect::<Vec<_>>());
}
