//! A torn or garbage tail after the last record of the tail segment: open
//! succeeds, reports what it cut, zeroes it, keeps every appended entry, and
//! the LSN sequence continues.
use crate::common;
use crate::ondisk;
use common::*;
use xwal::*;

const N: u64 = 300;

struct Setup {
    _d: tempfile::TempDir,
    cfg: Config,
    path: std::path::PathBuf,
    segment: u64,
    end: u64,
}

fn setup(engine: IoEngine, n: u64, checkpoint_at_end: bool) -> Setup {
    let d = tempdir();
    let cfg = small(d.path(), engine);
    {
        let wal = open(&cfg);
        append_n_checked(&wal, 1..=n, 1000);
        if checkpoint_at_end {
            wal.create_checkpoint().unwrap();
        }
        wal.close().unwrap();
    }
    let (seg, _) = ondisk::tail_segment(d.path());
    let (_, recs, end) = ondisk::records(&seg.path);
    if checkpoint_at_end {
        assert!(recs.is_empty());
        assert_eq!(end, 4096);
    } else {
        assert_eq!(recs.last().map(|r| r.lsn), Some(n));
    }
    // Everything after the records is zero (preallocated).
    let rest = ondisk::read_at(&seg.path, end, (cfg.segment_size - end) as usize);
    assert!(rest.iter().all(|&b| b == 0));
    Setup {
        path: seg.path,
        segment: seg.segment,
        end,
        cfg,
        _d: d,
    }
}

/// Reopens and checks the report, the zeroing, the entries and the next LSN.
fn check(s: &Setup, n: u64, garbage_at: u64, garbage_len: usize) {
    let (wal, rep) =
        Wal::open(s.cfg.clone()).unwrap_or_else(|e| panic!("open after a torn tail failed: {e}"));
    assert_eq!(rep.last_lsn, n, "{rep:?}");
    assert_eq!(
        rep.tail_segment,
        Some(xwal::SegmentId(s.segment)),
        "{rep:?}"
    );
    let t = rep
        .truncation
        .clone()
        .unwrap_or_else(|| panic!("bytes were cut but no truncation reported: {rep:?}"));
    assert_eq!(t.segment, s.segment, "{t:?}");
    assert_eq!(t.offset, s.end, "{t:?}");
    assert_eq!(t.first_bad_offset, s.end, "{t:?}");
    assert_eq!(t.dropped_records, 0, "{t:?}");
    let span = garbage_at + garbage_len as u64 - s.end;
    assert!(
        t.zeroed_bytes >= garbage_len as u64 && t.zeroed_bytes <= span,
        "{t:?}: garbage {garbage_len} bytes"
    );
    // The garbage is gone from the file, so it can never line up behind new records.
    let now = ondisk::read_at(&s.path, garbage_at, garbage_len);
    assert!(
        now.iter().all(|&b| b == 0),
        "garbage left in place after the cut"
    );
    assert_eq!(wal.last_index(), n);
    assert_eq!(wal.append(&payload(n + 1, 1000)).unwrap(), n + 1);
    let got = replay_all(&wal, ReplayOptions::all());
    assert_eq!(lsns(&got), (1..=n + 1).collect::<Vec<_>>());
    for e in &got {
        assert_eq!(e.data, payload(e.lsn.0, 1000), "LSN {}", e.lsn);
    }
    drop(wal);
    let (wal, rep) = Wal::open(s.cfg.clone()).unwrap();
    assert_eq!(rep.truncation, None, "second open: {rep:?}");
    assert_eq!(rep.last_lsn, n + 1);
    assert_eq!(wal.append(&payload(n + 2, 1000)).unwrap(), n + 2);
    assert_eq!(
        lsns(&replay_all(&wal, ReplayOptions::all())),
        (1..=n + 2).collect::<Vec<_>>()
    );
}

#[test]
fn random_bytes_right_after_the_last_record() {
    for engine in ENGINES {
        let s = setup(engine, N, false);
        let g = ondisk::garbage(777, 1);
        ondisk::write_at(&s.path, s.end, &g);
        check(&s, N, s.end, g.len());
    }
}

#[test]
fn half_a_record_after_the_last_record() {
    for engine in ENGINES {
        let s = setup(engine, N, false);
        // A copy of the last record, cut in half (wrong LSN for this position and torn).
        let (_, recs, _) = ondisk::records(&s.path);
        let last = recs.last().unwrap();
        let bytes = ondisk::read_at(&s.path, last.offset, last.len / 2);
        ondisk::write_at(&s.path, s.end, &bytes);
        let nonzero_len = bytes.iter().rposition(|&b| b != 0).unwrap() + 1;
        check(&s, N, s.end, nonzero_len);
    }
}

#[test]
fn garbage_far_after_the_end_with_zeros_between() {
    for engine in ENGINES {
        let s = setup(engine, 50, false);
        let far = s.cfg.segment_size / 2 + 4096 + 24; // the middle of the file, unaligned
        assert!(far > s.end + 8192, "{far} {}", s.end);
        let g = ondisk::garbage(100, 2);
        ondisk::write_at(&s.path, far, &g);
        check(&s, 50, far, g.len());
    }
}

#[test]
fn garbage_in_a_tail_segment_without_records() {
    for engine in ENGINES {
        // A checkpoint as the last act leaves an empty tail segment (header only).
        let s = setup(engine, 100, true);
        let g = ondisk::garbage(5000, 3);
        ondisk::write_at(&s.path, 4096, &g);
        check(&s, 100, 4096, g.len());
    }
}

#[test]
fn garbage_in_the_last_block_of_the_segment() {
    for engine in ENGINES {
        let s = setup(engine, 50, false);
        let at = s.cfg.segment_size - 10;
        let g = ondisk::garbage(10, 4);
        ondisk::write_at(&s.path, at, &g);
        check(&s, 50, at, g.len());
    }
}
