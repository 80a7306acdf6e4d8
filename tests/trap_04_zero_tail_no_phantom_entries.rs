//! Trap 4 (Go xwal): a zero-filled tail decodes as phantom entries with LSN 0
//! that pass the CRC. Here zero bytes are never a record: preallocated zero
//! space, a zeroed-out last write, a zero segment file all end the log cleanly.
use crate::common;
use crate::ondisk;
use common::*;
use xwal::*;

fn assert_exact(wal: &Wal, last: u64, len: usize) {
    let got = replay_all(wal, ReplayOptions::all());
    assert!(got.iter().all(|e| e.lsn != 0), "phantom LSN 0 entry");
    assert_eq!(lsns(&got), (1..=last).collect::<Vec<_>>());
    for e in &got {
        assert_eq!(e.data, payload(e.lsn.0, len), "LSN {}", e.lsn);
    }
    let back = replay_all(wal, ReplayOptions::all().backward());
    assert_eq!(lsns(&back), (1..=last).rev().collect::<Vec<_>>());
}

#[test]
fn preallocated_zero_space_is_not_entries() {
    for engine in ENGINES {
        for zero_fill in [true, false] {
            let d = tempdir();
            let cfg = small(d.path(), engine).zero_fill(zero_fill);
            {
                let wal = open(&cfg);
                append_n_checked(&wal, 1..=10, 50);
                assert_exact(&wal, 10, 50);
            }
            let (wal, rep) = Wal::open(cfg.clone()).unwrap();
            assert_eq!(rep.last_lsn, 10, "{rep:?}");
            assert_eq!(
                rep.truncation, None,
                "a clean zero tail is not a truncation: {rep:?}"
            );
            assert_exact(&wal, 10, 50);
            assert_eq!(wal.append(&payload(11, 50)).unwrap(), 11);
            assert_exact(&wal, 11, 50);
        }
    }
}

#[test]
fn zeroed_last_record_is_gone_not_phantom() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        {
            let wal = open(&cfg);
            append_n_checked(&wal, 1..=200, 1000);
        }
        // The last write never reached the disk: its bytes read back as zeros.
        let (seg, _) = ondisk::tail_segment(d.path());
        let (_, recs, _) = ondisk::records(&seg.path);
        let last = *recs.last().unwrap();
        assert_eq!(last.lsn, 200);
        ondisk::write_at(&seg.path, last.offset, &vec![0u8; last.len]);

        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 199, "{rep:?}");
        assert_eq!(wal.last_index(), 199);
        assert_exact(&wal, 199, 1000);
        assert_eq!(wal.append(&payload(200, 1000)).unwrap(), 200);
        assert_exact(&wal, 200, 1000);
    }
}

#[test]
fn tail_segment_with_zeroed_records_holds_nothing() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        {
            let wal = open(&cfg);
            append_n_checked(&wal, 1..=400, 1000);
        }
        let (seg, h) = ondisk::tail_segment(d.path());
        assert!(
            seg.segment > 0 && h.first_lsn > 1,
            "need at least two segments"
        );
        let (_, _, end) = ondisk::records(&seg.path);
        // Every record of the tail segment reads back as zeros.
        ondisk::write_at(&seg.path, 4096, &vec![0u8; (end - 4096) as usize]);
        let keep = h.first_lsn - 1;
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, keep, "{rep:?}");
        assert_exact(&wal, keep, 1000);
        assert_eq!(wal.append(&payload(keep + 1, 1000)).unwrap(), keep + 1);
        assert_exact(&wal, keep + 1, 1000);
    }
}

#[test]
fn zero_segment_file_after_the_tail_is_not_entries() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        {
            let wal = open(&cfg);
            append_n_checked(&wal, 1..=30, 100);
        }
        // A full-size, all-zero file named like the next segment (a preparation
        // that never got a header). The engine may have left one already.
        let (tail, _) = ondisk::tail_segment(d.path());
        let next = xwal::format::segment_path(d.path(), tail.segment + 1, false);
        if !next.exists() {
            let f = std::fs::File::create(&next).unwrap();
            f.set_len(cfg.segment_size).unwrap();
            f.sync_all().unwrap();
        }
        assert!(ondisk::header(&next).is_none());
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 30, "{rep:?}");
        assert_exact(&wal, 30, 100);
        // Fill the tail so the zero segment gets used.
        append_n_checked(&wal, 31..=2000, 100);
        assert!(
            wal.segments().iter().any(|s| s.segment == tail.segment + 1),
            "{:?}",
            wal.segments()
        );
        assert_exact(&wal, 2000, 100);
    }
}
