//! A purge under a tail: a tail that still needs the removed segments ends
//! with `TailBehindRemoval` naming what is gone (nothing is skipped); a tail
//! past them goes on.

use crate::common;

use common::{payload, small, tempdir};
use std::time::Duration;
use xwal::{Error, IoEngine, Wal};

#[test]
fn a_tail_that_needs_purged_segments_ends_with_a_clear_error() {
    let d = tempdir();
    let (wal, _) = Wal::open(small(d.path(), IoEngine::Uring)).unwrap();
    let mut i = 0;
    while wal.segments().len() < 5 {
        i += 1;
        wal.append(&payload(i, 3000)).unwrap();
    }
    let mut behind = wal.tail(xwal::Lsn(1)).unwrap();
    let mut caught_up = wal.tail(xwal::Lsn(1)).unwrap();
    let mut seen = 0;
    while seen < i {
        seen = caught_up.next_batch().unwrap().lsns().unwrap().1.0;
    }
    let segs = wal.segments();
    let purged = wal.purge_through(segs[1].segment).unwrap();
    assert_eq!(purged.len(), 2);
    let first_present = segs[2].first_lsn;
    match behind.next_batch() {
        Err(Error::TailBehindRemoval {
            needed,
            first_present: f,
        }) => {
            assert_eq!((needed.0, f), (1, first_present));
            let msg = Error::TailBehindRemoval {
                needed,
                first_present: f,
            }
            .to_string();
            assert!(msg.contains("removed"), "{msg}");
        }
        other => panic!(
            "expected TailBehindRemoval, got {:?}",
            other.map(|b| b.lsns())
        ),
    }
    // It stays ended.
    assert!(behind.next_batch_timeout(Duration::from_millis(1)).is_err());
    // The caught-up tail needs nothing that was removed.
    wal.append(b"after the purge").unwrap();
    let b = caught_up.next_batch().unwrap();
    assert_eq!(
        b.iter().next().map(|e| e.1.to_vec()),
        Some(b"after the purge".to_vec())
    );
}

/// A tail reading from the segments (behind the writer's copies) when a
/// purge takes the rest of what it needs ends the same way.
#[test]
fn a_purge_during_catch_up_ends_the_tail_without_skipping() {
    let d = tempdir();
    let (wal, _) = Wal::open(small(d.path(), IoEngine::Sync)).unwrap();
    let mut i = 0;
    while wal.segments().len() < 6 {
        i += 1;
        wal.append(&payload(i, 3000)).unwrap();
    }
    let mut tail = wal.tail(xwal::Lsn(1)).unwrap();
    let first = tail.next_batch().unwrap();
    let (_, last) = first.lsns().unwrap();
    assert!(last < i, "one batch is not everything");
    let segs = wal.segments();
    wal.purge_through(segs[segs.len() - 2].segment).unwrap();
    let mut next = last + 1;
    loop {
        match tail.next_batch_timeout(Duration::from_millis(50)) {
            Ok(Some(b)) => {
                for (lsn, _) in b.iter() {
                    assert_eq!(lsn, next, "nothing skipped");
                    next += 1;
                }
            }
            Ok(None) => break,
            Err(Error::TailBehindRemoval { needed, .. }) => {
                assert_eq!(needed, next);
                return;
            }
            Err(e) => panic!("{e}"),
        }
    }
    // Segments opened before the purge may still be read in full: then every
    // entry arrived, in order.
    assert_eq!(next, i + 1);
}
