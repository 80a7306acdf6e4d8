//! A follower (a tail on a read-only view) beside a writer that rolls over,
//! checkpoints, purges and consumes: on a log nobody damaged it never
//! reports corruption, and a segment it still needed that was removed ends
//! it with `TailBehindRemoval` instead of a wait that never ends.

use crate::common;

use common::{payload, tempdir};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use xwal::{Config, Error, ReplayOptions, Tail, Wal};

fn config(dir: &std::path::Path) -> Config {
    Config::new(dir)
        .segment_size(64 << 10)
        .max_entry_size(8 << 10)
}

/// Collects what the tail delivers until it has `upto` or fails; panics
/// after `patience` without progress.
fn follow_until(
    tail: &mut Tail,
    upto: u64,
    patience: Duration,
) -> (Vec<(u64, Vec<u8>)>, Option<Error>) {
    let mut got = Vec::new();
    let mut last_progress = Instant::now();
    while got.last().is_none_or(|(l, _)| *l < upto) {
        match tail.next_batch_timeout(Duration::from_millis(50)) {
            Ok(Some(b)) => {
                got.extend(b.iter().map(|(l, d)| (l.0, d.to_vec())));
                last_progress = Instant::now();
            }
            Ok(None) => assert!(
                last_progress.elapsed() < patience,
                "the follower made no progress for {patience:?} at {:?}",
                got.last().map(|e| e.0)
            ),
            Err(e) => return (got, Some(e)),
        }
    }
    (got, None)
}

/// Rollovers every few appends, from several threads, with checkpoints:
/// every segment the follower finishes had its successor written while it
/// read. What it delivers is the log, byte for byte, in order.
#[test]
fn a_follower_beside_fast_rollovers_delivers_the_log() {
    let d = tempdir();
    let (wal, _) = Wal::open(config(d.path())).unwrap();
    let wal = Arc::new(wal);
    let (view, _) = Wal::open_read_only(config(d.path())).unwrap();
    let mut tail = view.tail(xwal::Lsn(1)).unwrap();
    // The follower runs beside the writers from the start.
    let target = Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX));
    let follower = {
        let target = target.clone();
        std::thread::spawn(move || {
            let mut got: Vec<(u64, Vec<u8>)> = Vec::new();
            let started = Instant::now();
            while got
                .last()
                .is_none_or(|(l, _)| *l < target.load(Ordering::Acquire))
            {
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "follower stalled"
                );
                match tail.next_batch_timeout(Duration::from_millis(20)) {
                    Ok(Some(b)) => got.extend(b.iter().map(|(l, d)| (l.0, d.to_vec()))),
                    Ok(None) => {}
                    Err(e) => return Err((got.len(), e)),
                }
            }
            Ok(got)
        })
    };
    let writers: Vec<_> = (0..4u64)
        .map(|t| {
            let wal = wal.clone();
            std::thread::spawn(move || {
                for i in 0..600u64 {
                    wal.append(&payload(t * 1000 + i, 1500 + (i % 7) as usize * 100))
                        .unwrap();
                    if t == 0 && i % 50 == 49 {
                        wal.create_checkpoint().unwrap();
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    // The newest commit is proven by the next segment's header.
    wal.create_checkpoint().unwrap();
    target.store(wal.last_index().0, Ordering::Release);
    assert!(
        wal.segments().len() > 30,
        "rolled over {} times",
        wal.segments().len()
    );
    let got = match follower.join().unwrap() {
        Ok(got) => got,
        Err((n, e)) => panic!("a healthy log, after {n} entries: {e}"),
    };
    let log: Vec<(u64, Vec<u8>)> = wal
        .replay(ReplayOptions::all())
        .unwrap()
        .map(|e| e.map(|e| (e.lsn.0, e.data)))
        .collect::<xwal::Result<_>>()
        .unwrap();
    assert_eq!(got.len(), log.len());
    assert!(
        got == log,
        "the follower delivered something else than the log"
    );
}

/// Appends until the WAL has `segments` segments; the last LSN.
fn fill(wal: &Wal, segments: usize) -> u64 {
    let mut i = wal.last_index();
    while wal.segments().len() < segments {
        i += 1;
        wal.append(&payload(i.0, 3000)).unwrap();
    }
    i.0
}

/// Positions a follower inside the first segment (it has delivered a few
/// entries of it), then runs `remove`, which removes the segments after it.
/// The follower delivers what is left of the segment it holds open, then
/// ends with `TailBehindRemoval` naming the first LSN it still needed.
fn follower_behind_a_removal(remove: impl FnOnce(&Wal)) {
    let d = tempdir();
    let (wal, _) = Wal::open(config(d.path())).unwrap();
    fill(&wal, 8);
    let (view, _) = Wal::open_read_only(config(d.path())).unwrap();
    let mut tail = view.tail(xwal::Lsn(1)).unwrap();
    let first = tail.next_batch().unwrap();
    let second_segment = wal.segments()[1];
    assert!(first.lsns().unwrap().1 < second_segment.first_lsn);
    remove(&wal);
    assert!(wal.segments()[0].segment > second_segment.segment);
    let first_present = wal.segments()[0].first_lsn;
    let (got, err) = follow_until(&mut tail, u64::MAX, Duration::from_secs(10));
    match err {
        Some(Error::TailBehindRemoval {
            needed,
            first_present: f,
        }) => assert_eq!((needed, f), (second_segment.first_lsn, first_present)),
        other => panic!("expected TailBehindRemoval, got {other:?}"),
    }
    let delivered_to = got
        .last()
        .map_or(first.lsns().unwrap().1, |e| xwal::Lsn(e.0));
    assert_eq!(delivered_to, second_segment.first_lsn - 1);
    // It stays ended.
    assert!(tail.next_batch_timeout(Duration::from_millis(1)).is_err());
}

#[test]
fn a_follower_whose_next_segment_was_purged_ends_with_a_clear_error() {
    follower_behind_a_removal(|wal| {
        let through = wal.segments()[5].segment;
        wal.purge_through(through).unwrap();
    });
}

#[test]
fn a_follower_whose_next_segment_was_consumed_ends_with_a_clear_error() {
    follower_behind_a_removal(|wal| {
        let mut r = wal.replay(ReplayOptions::all().consume(true)).unwrap();
        assert!(r.by_ref().count() > 0);
        assert!(!r.finish().unwrap().consumed.is_empty());
    });
}

/// Once the writer is gone, nothing later proves its last commit: the
/// follower sees that no writer holds the lock and delivers the rest (after a
/// close, and after a SIGKILL, whose unsynced writes the view syncs itself).
#[test]
fn a_follower_reaches_the_end_of_a_log_whose_writer_closed() {
    let d = tempdir();
    let (wal, _) = Wal::open(config(d.path())).unwrap();
    let (view, _) = Wal::open_read_only(config(d.path())).unwrap();
    let mut tail = view.tail(xwal::Lsn(1)).unwrap();
    for i in 1..=10 {
        wal.append(&payload(i, 100)).unwrap();
    }
    wal.close().unwrap();
    let (got, err) = follow_until(&mut tail, 10, Duration::from_secs(10));
    assert!(err.is_none(), "{err:?}");
    let lsns: Vec<u64> = got.iter().map(|e| e.0).collect();
    assert_eq!(lsns, (1..=10).collect::<Vec<_>>());
    // A writer that opens again goes on; the follower with it.
    let (wal, _) = Wal::open(config(d.path())).unwrap();
    wal.append(&payload(11, 100)).unwrap();
    drop(wal);
    let (got, err) = follow_until(&mut tail, 11, Duration::from_secs(10));
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got.iter().map(|e| e.0).collect::<Vec<_>>(), [11]);
}

/// Closing the view ends its followers, even one blocked in a wait without
/// a deadline, and every later call on the view gets `Closed`.
#[test]
fn closing_a_view_ends_its_followers() {
    let d = tempdir();
    let (wal, _) = Wal::open(config(d.path())).unwrap();
    wal.append(b"a").unwrap();
    let (view, _) = Wal::open_read_only(config(d.path())).unwrap();
    let mut tail = view.tail(xwal::Lsn(5)).unwrap();
    let blocked = std::thread::spawn(move || tail.next_batch().map(|b| b.len()));
    std::thread::sleep(Duration::from_millis(100));
    let t0 = Instant::now();
    view.close().unwrap();
    let r = blocked.join().unwrap();
    assert!(matches!(r, Err(Error::Closed)), "{r:?}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(matches!(view.tail(xwal::Lsn(1)), Err(Error::Closed)));
    assert!(matches!(
        view.replay(ReplayOptions::all()),
        Err(Error::Closed)
    ));
    wal.close().unwrap();
}
