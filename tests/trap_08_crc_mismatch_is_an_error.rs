//! Trap 8 (Go xwal): CRC mismatches are skipped silently, and the file is
//! deleted anyway. Here a damaged record stops the replay with an error naming
//! segment and offset, in every direction and range that covers it, and nothing
//! is deleted.
use crate::common;
use crate::ondisk;
use common::*;
use xwal::*;

const N: u64 = 1500;

struct Damage {
    segment: u64,
    offset: u64,
    lsn: u64,
    seg_first: u64,
    seg_last: u64,
}

/// Fills the WAL and flips one payload byte of a record in the middle of the
/// second segment (sealed).
fn setup(d: &std::path::Path, engine: IoEngine) -> (Wal, Damage) {
    let wal = open(&small(d, engine));
    append_n_checked(&wal, 1..=N, 500);
    let segs = ondisk::written_segments(d);
    assert!(segs.len() >= 4);
    let (s, _) = &segs[1];
    let (_, recs, _) = ondisk::records(&s.path);
    let victim = recs[recs.len() / 2];
    ondisk::flip_byte(&s.path, victim.offset + 100);
    let damage = Damage {
        segment: s.segment,
        offset: victim.offset,
        lsn: victim.lsn,
        seg_first: recs[0].lsn,
        seg_last: recs.last().unwrap().lsn,
    };
    (wal, damage)
}

fn run(wal: &Wal, opts: ReplayOptions) -> (Vec<u64>, Result<ReplaySummary>) {
    let r = wal.replay(opts).unwrap();
    let got: Vec<Entry> = r.receiver().iter().collect();
    (lsns(&got), r.finish())
}

fn assert_corruption(res: &Result<ReplaySummary>, dmg: &Damage, what: &str) {
    match res {
        Err(Error::Corruption {
            segment,
            offset,
            reason,
        }) => {
            assert_eq!(*segment, dmg.segment, "{what}: {reason}");
            assert_eq!(*offset, dmg.offset, "{what}: {reason}");
        }
        other => panic!("{what}: expected Error::Corruption, got {other:?}"),
    }
}

#[test]
fn forward_replay_stops_at_the_damaged_record() {
    for engine in ENGINES {
        let d = tempdir();
        let (wal, dmg) = setup(d.path(), engine);
        let (got, res) = run(&wal, ReplayOptions::all());
        assert_corruption(&res, &dmg, "forward");
        assert_eq!(
            got,
            (1..dmg.lsn).collect::<Vec<_>>(),
            "entries after the damaged one were delivered"
        );
        // The error message names both.
        let msg = res.unwrap_err().to_string();
        assert!(
            msg.contains(&dmg.segment.to_string()) && msg.contains(&dmg.offset.to_string()),
            "{msg}"
        );
    }
}

#[test]
fn backward_replay_reports_the_damage_and_skips_nothing() {
    for engine in ENGINES {
        let d = tempdir();
        let (wal, dmg) = setup(d.path(), engine);
        let (got, res) = run(&wal, ReplayOptions::all().backward());
        assert_corruption(&res, &dmg, "backward");
        // Nothing at or below the damaged record may come out, and what came out
        // is a gapless run down from the last LSN.
        assert!(got.iter().all(|l| *l > dmg.lsn), "{:?}", got.last());
        let expect: Vec<u64> = (got.last().copied().unwrap_or(N + 1)..=N).rev().collect();
        assert_eq!(got, expect);
    }
}

#[test]
fn ranges_covering_the_damage_fail_and_others_succeed() {
    for engine in ENGINES {
        let d = tempdir();
        let (wal, dmg) = setup(d.path(), engine);
        let (_, res) = run(
            &wal,
            ReplayOptions::all().range(ReplayRange::Lsns {
                from: xwal::Lsn(dmg.lsn),
                to: xwal::Lsn(dmg.lsn),
            }),
        );
        assert_corruption(&res, &dmg, "LSN range of the damaged entry");
        let (_, res) = run(
            &wal,
            ReplayOptions::all().range(ReplayRange::Segments {
                start: xwal::SegmentId(dmg.segment),
                end: xwal::SegmentId(dmg.segment),
            }),
        );
        assert_corruption(&res, &dmg, "segment range");
        // Ranges that do not touch the damaged segment are fine.
        let (got, res) = run(
            &wal,
            ReplayOptions::all().range(ReplayRange::Lsns {
                from: xwal::Lsn(dmg.seg_last) + 1,
                to: xwal::Lsn(N),
            }),
        );
        res.unwrap();
        assert_eq!(got, (dmg.seg_last + 1..=N).collect::<Vec<_>>());
        let (got, res) = run(
            &wal,
            ReplayOptions::all().range(ReplayRange::Lsns {
                from: xwal::Lsn(1),
                to: xwal::Lsn(dmg.seg_first) - 1,
            }),
        );
        res.unwrap();
        assert_eq!(got, (1..dmg.seg_first).collect::<Vec<_>>());
    }
}

#[test]
fn consuming_replay_with_damage_deletes_nothing() {
    for engine in ENGINES {
        let d = tempdir();
        let (wal, dmg) = setup(d.path(), engine);
        let files_before = ondisk::file_names(d.path());
        let (_, res) = run(&wal, ReplayOptions::all().consume(true));
        assert_corruption(&res, &dmg, "consume");
        let files_after = ondisk::file_names(d.path());
        for f in &files_before {
            assert!(files_after.contains(f), "{f} was deleted: {files_after:?}");
        }
        // Go-style replay into a caller's channel: same.
        let (tx, rx) = crossbeam_channel::unbounded();
        let res = wal.replay_into(&tx, ReplayOptions::all().consume(true));
        assert_corruption(&res, &dmg, "replay_into consume");
        drop(tx);
        assert_eq!(
            rx.iter().map(|e| e.lsn).collect::<Vec<_>>(),
            (1..dmg.lsn).collect::<Vec<_>>()
        );
        let files_after = ondisk::file_names(d.path());
        for f in &files_before {
            assert!(files_after.contains(f), "{f} was deleted: {files_after:?}");
        }
    }
}

#[test]
fn damaged_header_of_a_sealed_segment_fails_open() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        {
            let wal = open(&cfg);
            append_n(&wal, 1..=N, 500);
        }
        let segs = ondisk::written_segments(d.path());
        ondisk::flip_byte(&segs[1].0.path, 20); // inside the segment number field
        for _ in 0..2 {
            match Wal::open(cfg.clone()) {
                Err(Error::Corruption {
                    segment, offset, ..
                }) => {
                    assert_eq!(segment, segs[1].0.segment);
                    assert_eq!(offset, 0);
                }
                Err(e) => panic!("expected corruption, got {e}"),
                Ok(_) => panic!("open succeeded with a damaged sealed segment header"),
            }
        }
        assert!(segs.iter().all(|(s, _)| s.path.exists()));
    }
}

/// The entry iterator carries the damage as an `Err` item (once, then the
/// end): collecting it, or `?` in a loop, cannot take a damaged log for a
/// shorter one, even if `finish()` is never called.
#[test]
fn the_entry_iterator_yields_the_damage_as_an_error() {
    for engine in ENGINES {
        let d = tempdir();
        let (wal, dmg) = setup(d.path(), engine);
        let collected = wal
            .replay(ReplayOptions::all())
            .unwrap()
            .map(|e| e.map(|e| e.lsn.0))
            .collect::<Result<Vec<u64>>>();
        assert!(
            matches!(&collected, Err(Error::Corruption { segment, .. }) if *segment == dmg.segment),
            "{engine:?}: {collected:?}"
        );
        let items: Vec<Result<Entry>> = wal.replay(ReplayOptions::all()).unwrap().collect();
        let (last, intact) = items.split_last().unwrap();
        assert!(matches!(last, Err(Error::Corruption { .. })), "{engine:?}");
        assert!(
            intact.iter().all(|e| e.is_ok()),
            "{engine:?}: one Err, at the end"
        );
        assert_eq!(intact.len() as u64, dmg.lsn - 1, "{engine:?}");
    }
}
