//! Damage below the durable point is corruption, never a torn tail: in the tail
//! segment, open refuses (naming segment and offset) and changes nothing; in a
//! sealed segment, open succeeds (only the tail is scanned) and replay reports it.
use crate::common;
use crate::ondisk;
use common::*;
use xwal::*;

#[test]
fn early_record_of_the_tail_segment_fails_open() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        {
            let wal = open(&cfg);
            append_n_checked(&wal, 1..=400, 1000);
        }
        let (seg, _) = ondisk::tail_segment(d.path());
        assert!(seg.segment >= 1);
        let (_, recs, _) = ondisk::records(&seg.path);
        assert!(recs.len() > 20, "tail holds {} records", recs.len());
        let victim = recs[4];
        // Later records claim the victim durable: it cannot be a torn write.
        assert!(recs[10].durable_lsn >= victim.lsn, "{:?}", recs[10]);
        let flip = victim.offset + 200;
        ondisk::flip_byte(&seg.path, flip);
        let bytes_before = std::fs::read(&seg.path).unwrap();

        for attempt in 0..2 {
            match Wal::open(cfg.clone()) {
                Err(Error::Corruption {
                    segment,
                    offset,
                    reason,
                }) => {
                    assert_eq!(segment, seg.segment, "attempt {attempt}: {reason}");
                    assert!(
                        offset <= flip && flip < offset + victim.len as u64,
                        "attempt {attempt}: offset {offset} is not the damaged record at {} (flipped byte {flip}): {reason}",
                        victim.offset
                    );
                }
                Err(e) => panic!("attempt {attempt}: expected corruption, got {e}"),
                Ok((_, rep)) => {
                    panic!("attempt {attempt}: open succeeded over mid-log corruption: {rep:?}")
                }
            }
            // Nothing was cut or zeroed.
            assert!(
                std::fs::read(&seg.path).unwrap() == bytes_before,
                "attempt {attempt}: the tail segment was modified"
            );
        }
        // Repairing the byte makes the WAL whole again.
        ondisk::flip_byte(&seg.path, flip);
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 400, "{rep:?}");
        assert_eq!(rep.truncation, None);
        assert_eq!(
            lsns(&replay_all(&wal, ReplayOptions::all())),
            (1..=400).collect::<Vec<_>>()
        );
    }
}

#[test]
fn damaged_record_header_in_the_tail_fails_open() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        {
            let wal = open(&cfg);
            append_n_checked(&wal, 1..=100, 100);
        }
        let (seg, _) = ondisk::tail_segment(d.path());
        let (_, recs, _) = ondisk::records(&seg.path);
        let victim = recs[30];
        ondisk::flip_byte(&seg.path, victim.offset + 5); // the length field
        match Wal::open(cfg.clone()) {
            Err(Error::Corruption {
                segment, offset, ..
            }) => {
                assert_eq!(segment, seg.segment);
                assert_eq!(offset, victim.offset);
            }
            Err(e) => panic!("expected corruption, got {e}"),
            Ok((_, rep)) => panic!("open succeeded over a damaged length field: {rep:?}"),
        }
    }
}

#[test]
fn damage_in_a_sealed_segment_surfaces_at_replay() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        {
            let wal = open(&cfg);
            append_n_checked(&wal, 1..=800, 1000);
        }
        let segs = ondisk::written_segments(d.path());
        assert!(segs.len() >= 3);
        let (sealed, _) = &segs[0];
        let (_, recs, _) = ondisk::records(&sealed.path);
        let victim = recs[7];
        ondisk::flip_byte(&sealed.path, victim.offset + 300);

        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 800, "{rep:?}");
        assert_eq!(rep.truncation, None);
        for opts in [ReplayOptions::all(), ReplayOptions::all().backward()] {
            let r = wal.replay(opts).unwrap();
            let got: Vec<u64> = r.receiver().iter().map(|e| e.lsn.0).collect();
            match r.finish() {
                Err(Error::Corruption {
                    segment, offset, ..
                }) => {
                    assert_eq!(segment, sealed.segment, "{opts:?}");
                    assert_eq!(offset, victim.offset, "{opts:?}");
                }
                other => panic!("{opts:?}: expected corruption, got {other:?}"),
            }
            assert!(
                !got.contains(&victim.lsn),
                "{opts:?}: the damaged entry was delivered"
            );
            if opts.direction == Direction::Forward {
                assert_eq!(got, (1..victim.lsn).collect::<Vec<_>>());
            }
        }
        // The tail is fine: appends continue.
        assert_eq!(wal.append(&payload(801, 1000)).unwrap(), 801);
    }
}
