//! Trap 9 (Go xwal): a range starting at 0 fails once the first segment number
//! is above 0. Here `start = 0` means "the first segment present", however the
//! earlier segments went away (purge, consuming replay), before and after a
//! restart.
use crate::common;
use common::*;
use crossbeam_channel::unbounded;
use xwal::*;

const N: u64 = 3000;

/// (first, last) LSN of each segment present.
fn bounds(wal: &Wal) -> Vec<(u64, u64, u64)> {
    let segs = wal.segments();
    let last = wal.last_index();
    segs.iter()
        .enumerate()
        .map(|(i, s)| {
            (
                s.segment.0,
                s.first_lsn.0,
                segs.get(i + 1).map(|n| n.first_lsn - 1).unwrap_or(last).0,
            )
        })
        .collect()
}

fn check_ranges(wal: &Wal) {
    let b = bounds(wal);
    let first = b[0];
    assert!(
        first.0 > 0,
        "test needs the first present segment above 0: {b:?}"
    );
    // start = 0, end beyond everything: all that is present.
    let all = replay_all(
        wal,
        ReplayOptions::all().range(ReplayRange::Segments {
            start: xwal::SegmentId(0),
            end: xwal::SegmentId(u64::MAX),
        }),
    );
    assert_eq!(lsns(&all), (first.1..=N).collect::<Vec<_>>());
    // start = 0, end = the first present segment: that segment only.
    let one = replay_all(
        wal,
        ReplayOptions::all().range(ReplayRange::Segments {
            start: xwal::SegmentId(0),
            end: xwal::SegmentId(first.0),
        }),
    );
    assert_eq!(lsns(&one), (first.1..=first.2).collect::<Vec<_>>());
    // Backwards too.
    let one_b = replay_all(
        wal,
        ReplayOptions::all()
            .range(ReplayRange::Segments {
                start: xwal::SegmentId(0),
                end: xwal::SegmentId(first.0) + 1,
            })
            .backward(),
    );
    assert_eq!(lsns(&one_b), (first.1..=b[1].2).rev().collect::<Vec<_>>());
    // Go-style call through the backend trait.
    let (tx, rx) = unbounded();
    WalBackend::replay_from_range(wal, &tx, false, SegmentId(0), SegmentId(first.0 + 1)).unwrap();
    drop(tx);
    assert_eq!(
        rx.iter().map(|e| e.lsn).collect::<Vec<_>>(),
        (first.1..=b[1].2).collect::<Vec<_>>()
    );
    // An explicit start below the first present segment is a clear NotFound.
    let res = wal
        .replay(ReplayOptions::all().range(ReplayRange::Segments {
            start: xwal::SegmentId(first.0) - 1,
            end: xwal::SegmentId(first.0),
        }))
        .and_then(|r| r.finish());
    assert!(
        matches!(res, Err(Error::NotFound { what: "segment", number }) if number == first.0 - 1),
        "{res:?}"
    );
}

#[test]
fn range_from_zero_after_purge() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        {
            let wal = open(&cfg);
            append_n_checked(&wal, 1..=N, 300);
            let segs = wal.segments();
            assert!(segs.len() >= 4, "{segs:?}");
            let purged = wal.purge_through(segs[1].segment).unwrap();
            assert_eq!(purged, vec![segs[0].segment, segs[1].segment]);
            check_ranges(&wal);
        }
        let wal = open(&cfg);
        check_ranges(&wal);
    }
}

#[test]
fn range_from_zero_after_consuming_replay() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        {
            let wal = open(&cfg);
            append_n_checked(&wal, 1..=N, 300);
            let segs = wal.segments();
            // Consume the first two segments (Go's at-most-once replay).
            let r = wal
                .replay(
                    ReplayOptions::all()
                        .range(ReplayRange::Segments {
                            start: xwal::SegmentId(0),
                            end: segs[1].segment,
                        })
                        .consume(true),
                )
                .unwrap();
            let got: Vec<Entry> = r.receiver().iter().collect();
            let summary = r.finish().unwrap();
            assert_eq!(summary.consumed, vec![segs[0].segment, segs[1].segment]);
            assert_eq!(lsns(&got), (1..segs[2].first_lsn.0).collect::<Vec<_>>());
            check_ranges(&wal);
        }
        let wal = open(&cfg);
        check_ranges(&wal);
    }
}
