//! Trap 6 (Go xwal): a replay that fails midway has already deleted what it
//! read, and every retry then fails. Here a consuming replay deletes nothing
//! unless the whole replay succeeded and every entry was received; a retry sees
//! everything again.
use crate::common;
use crate::ondisk;
use common::*;
use xwal::*;

const N: u64 = 1500;

fn fill(wal: &Wal) {
    append_n_checked(wal, 1..=N, 500);
    assert!(wal.segments().len() >= 4, "{:?}", wal.segments());
}

fn seg_numbers(dir: &std::path::Path) -> Vec<u64> {
    ondisk::written_segments(dir)
        .iter()
        .map(|(s, _)| s.segment)
        .collect()
}

#[test]
fn consumer_that_stops_midway_deletes_nothing() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine).replay_channel_capacity(8);
        let wal = open(&cfg);
        fill(&wal);
        let before = seg_numbers(d.path());

        // The consumer takes 10 entries and gives up.
        let r = wal.replay(ReplayOptions::all().consume(true)).unwrap();
        let first: Vec<Entry> = r.receiver().iter().take(10).collect();
        assert_eq!(lsns(&first), (1..=10).collect::<Vec<_>>());
        assert!(matches!(r.finish(), Err(Error::ReceiverDropped)));
        let after = seg_numbers(d.path());
        for s in &before {
            assert!(
                after.contains(s),
                "segment {s} was deleted by a failed replay: {after:?}"
            );
        }

        // Dropping an unfinished consuming replay deletes nothing either.
        let mut r = wal.replay(ReplayOptions::all().consume(true)).unwrap();
        assert_eq!(r.next().map(|e| e.unwrap().lsn.0), Some(1));
        drop(r);
        let after = seg_numbers(d.path());
        for s in &before {
            assert!(
                after.contains(s),
                "segment {s} was deleted by a dropped replay: {after:?}"
            );
        }

        // The retry sees everything.
        let got = replay_all(&wal, ReplayOptions::all());
        assert_eq!(lsns(&got), (1..=N).collect::<Vec<_>>());
        // A consuming retry that reads everything succeeds and only then deletes.
        let r = wal.replay(ReplayOptions::all().consume(true)).unwrap();
        let got: Vec<Entry> = r.receiver().iter().collect();
        assert_eq!(lsns(&got), (1..=N).collect::<Vec<_>>());
        let summary = r.finish().unwrap();
        for s in &before {
            assert!(summary.consumed.contains(&SegmentId(*s)), "{summary:?}");
            assert!(!seg_numbers(d.path()).contains(s));
        }
        assert!(replay_all(&wal, ReplayOptions::all()).is_empty());
        assert_eq!(wal.append(b"next").unwrap(), N + 1);
    }
}

#[test]
fn go_style_consumer_that_stops_midway_deletes_nothing() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let wal = open(&cfg);
        fill(&wal);
        let before = seg_numbers(d.path());
        let (tx, rx) = crossbeam_channel::bounded::<Entry>(4);
        let consumer =
            std::thread::spawn(move || rx.iter().take(20).map(|e| e.lsn).collect::<Vec<_>>());
        let res = wal.replay_into(&tx, ReplayOptions::all().consume(true));
        assert!(matches!(res, Err(Error::ReceiverDropped)), "{res:?}");
        assert_eq!(consumer.join().unwrap(), (1..=20).collect::<Vec<_>>());
        let after = seg_numbers(d.path());
        for s in &before {
            assert!(
                after.contains(s),
                "segment {s} was deleted by a failed replay: {after:?}"
            );
        }
        assert_eq!(
            lsns(&replay_all(&wal, ReplayOptions::all())),
            (1..=N).collect::<Vec<_>>()
        );
    }
}

#[test]
fn replay_failing_on_corruption_deletes_nothing_and_fails_the_same_way_again() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let wal = open(&cfg);
        fill(&wal);
        // Damage a record in the third segment (sealed, not the tail).
        let segs = ondisk::written_segments(d.path());
        let (bad_seg, bad_hdr) = (&segs[2].0, segs[2].1);
        let (_, recs, _) = ondisk::records(&bad_seg.path);
        let victim = recs[recs.len() / 2];
        ondisk::flip_byte(&bad_seg.path, victim.offset + 40);
        let before = seg_numbers(d.path());
        let bytes_before: Vec<Vec<u8>> = segs
            .iter()
            .map(|(s, _)| std::fs::read(&s.path).unwrap())
            .collect();

        for attempt in 0..2 {
            let r = wal.replay(ReplayOptions::all().consume(true)).unwrap();
            let got: Vec<Entry> = r.receiver().iter().collect();
            let res = r.finish();
            match res {
                Err(Error::Corruption {
                    segment, offset, ..
                }) => {
                    assert_eq!(segment, bad_seg.segment, "attempt {attempt}");
                    assert_eq!(offset, victim.offset, "attempt {attempt}");
                }
                other => panic!("attempt {attempt}: expected corruption, got {other:?}"),
            }
            // Only entries before the damaged one were delivered, none skipped over it.
            assert_eq!(
                lsns(&got),
                (1..victim.lsn).collect::<Vec<_>>(),
                "attempt {attempt}"
            );
            assert!(victim.lsn > bad_hdr.first_lsn);
            let after = seg_numbers(d.path());
            for s in &before {
                assert!(
                    after.contains(s),
                    "attempt {attempt}: segment {s} deleted: {after:?}"
                );
            }
        }
        // Segments before the damage still replay in full.
        let ok = replay_all(
            &wal,
            ReplayOptions::all().range(ReplayRange::Segments {
                start: xwal::SegmentId(0),
                end: xwal::SegmentId(bad_seg.segment) - 1,
            }),
        );
        assert_eq!(lsns(&ok), (1..bad_hdr.first_lsn).collect::<Vec<_>>());
        // Nothing was rewritten or deleted on disk. (The consume sealed the
        // active segment, which gave back the zero space past its data.)
        for ((s, _), b) in segs.iter().zip(&bytes_before) {
            let now = std::fs::read(&s.path).unwrap();
            assert!(
                now.len() <= b.len() && now[..] == b[..now.len()],
                "segment {} changed",
                s.segment
            );
            assert!(
                b[now.len()..].iter().all(|&x| x == 0),
                "segment {} lost data",
                s.segment
            );
        }
    }
}
