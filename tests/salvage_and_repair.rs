//! A directory `Wal::open` refuses (a record damaged in place, a segment
//! file cut short, an untrustworthy header, a missing segment) still opens
//! read-only and gives every intact record up to the damage, which it
//! reports; `Wal::repair` keeps that prefix, moves what it cuts aside (never
//! deleting it), reserves the LSNs that could have been handed out, and the
//! log continues above them: replay (both ways), tails and followers cross
//! the reserved gap.

use crate::common;
use crate::ondisk;

use common::{payload, tempdir};
use std::path::Path;
use std::time::Duration;
use xwal::{Config, Error, Lsn, ReplayOptions, SegmentId, Wal};

fn config(dir: &Path) -> Config {
    Config::new(dir)
        .segment_size(64 << 10)
        .max_entry_size(8 << 10)
}

/// `n` entries of 1000 bytes, one append each (about 60 per segment).
fn log_of(dir: &Path, n: u64) {
    let (wal, _) = Wal::open(config(dir)).unwrap();
    for i in 1..=n {
        assert_eq!(wal.append(&payload(i, 1000)).unwrap(), i);
    }
    wal.close().unwrap();
}

/// Flips one bit in the middle of the body of the record with LSN `lsn`.
fn damage_record(dir: &Path, lsn: u64) -> (u64, u64) {
    for (seg, _) in ondisk::written_segments(dir) {
        let (_, recs, _) = ondisk::records(&seg.path);
        if let Some(r) = recs.iter().find(|r| r.lsn == lsn) {
            let at = r.offset + 40 + 500;
            let mut b = ondisk::read_at(&seg.path, at, 1);
            b[0] ^= 0x10;
            ondisk::write_at(&seg.path, at, &b);
            return (seg.segment, r.offset);
        }
    }
    panic!("no record with LSN {lsn}");
}

/// Every entry of a replay, and how it ended.
fn replay(
    wal: &dyn xwal::ReadableWal,
    opts: ReplayOptions,
) -> (Vec<u64>, xwal::Result<xwal::ReplaySummary>) {
    let mut r = wal.replay(opts).unwrap();
    let lsns: Vec<u64> = r
        .by_ref()
        .map_while(Result::ok)
        .map(|e| {
            assert_eq!(e.data, payload(e.lsn.0, 1000), "LSN {} changed", e.lsn);
            e.lsn.0
        })
        .collect();
    (lsns, r.finish())
}

/// Repairs, then checks the log: `kept` intact, every LSN above the reserve
/// for new appends, replay forward and backward, across the gap.
fn repair_and_continue(dir: &Path, kept: u64) -> xwal::RepairReport {
    let report = Wal::repair(config(dir)).unwrap();
    assert!(report.damage.is_some(), "{report:?}");
    assert_eq!(report.kept_through, kept, "{report:?}");
    let aside = report.aside.clone().expect("what was cut is kept");
    assert!(
        !report.moved.is_empty()
            && report
                .moved
                .iter()
                .all(|p| p.starts_with(&aside) && p.exists())
    );
    let (wal, open) = Wal::open(config(dir)).unwrap();
    assert!(
        open.damage.is_none() && open.truncation.is_none(),
        "{open:?}"
    );
    assert_eq!(wal.last_index(), report.reserved_through);
    let next = report.reserved_through + 1;
    for i in 0..3 {
        assert_eq!(wal.append(&payload(next.0 + i, 1000)).unwrap(), next + i);
    }
    let want: Vec<u64> = (1..=kept).chain(next.0..next.0 + 3).collect();
    let (fwd, end) = replay(&wal, ReplayOptions::all());
    end.unwrap();
    assert_eq!(fwd, want);
    let (bwd, end) = replay(&wal, ReplayOptions::all().backward());
    end.unwrap();
    assert_eq!(bwd, want.iter().rev().copied().collect::<Vec<_>>());
    // A second repair finds nothing and changes nothing.
    wal.close().unwrap();
    let again = Wal::repair(config(dir)).unwrap();
    assert!(again.damage.is_none() && again.aside.is_none(), "{again:?}");
    report
}

#[test]
fn the_last_acknowledged_record_damaged_in_place() {
    let d = tempdir();
    log_of(d.path(), 40);
    let (segment, offset) = damage_record(d.path(), 40);
    assert!(matches!(
        Wal::open(config(d.path())),
        Err(Error::Corruption { .. })
    ));

    let (view, report) = Wal::open_read_only(config(d.path())).unwrap();
    let damage = report.damage.expect("the damage is reported");
    assert_eq!(
        (damage.segment, damage.offset, damage.last_intact_lsn),
        (SegmentId(segment), offset, Lsn(39))
    );
    let (lsns, end) = replay(&view, ReplayOptions::all());
    assert_eq!(lsns, (1..=39).collect::<Vec<_>>());
    assert!(matches!(end, Err(Error::Corruption { offset: o, .. }) if o == offset));
    // A range that ends before the damage does not reach it.
    let (lsns, end) = replay(
        &view,
        ReplayOptions::all().range(xwal::ReplayRange::Lsns {
            from: xwal::Lsn(5),
            to: xwal::Lsn(9),
        }),
    );
    assert_eq!((lsns.len(), end.is_ok()), (5, true));
    drop(view);

    let r = repair_and_continue(d.path(), 39);
    assert_eq!(
        (r.cut_segment, r.cut_offset),
        (Some(SegmentId(segment)), offset)
    );
    // The damaged record is not valid any more: nothing found after the cut.
    assert_eq!(r.found_after_cut, 0);
    // The segment as it was, damage included, is in the aside directory.
    let copy = r
        .aside
        .unwrap()
        .join(xwal::format::segment_file_name(segment, false));
    assert_eq!(ondisk::records(&copy).1.len(), 39);
}

/// Damage in a sealed segment: only a full read finds it. Every later
/// segment leaves the log, and its entries are counted.
#[test]
fn a_record_damaged_in_a_sealed_segment() {
    let d = tempdir();
    log_of(d.path(), 300);
    let segs = ondisk::written_segments(d.path());
    assert!(segs.len() >= 4);
    let second = &segs[1];
    let lsn = second.1.first_lsn + 10;
    damage_record(d.path(), lsn);
    let r = repair_and_continue(d.path(), lsn - 1);
    assert_eq!(r.cut_segment, Some(SegmentId(second.0.segment)));
    // Every intact record after the damage, to LSN 300, was found and left the log.
    assert_eq!(r.found_lsns, Some((Lsn(lsn + 1), Lsn(300))));
    assert_eq!(r.found_after_cut, 300 - lsn);
    assert!(r.reserved_through >= 300);
    for later in &segs[2..] {
        let name = later.0.path.file_name().unwrap();
        assert!(r.aside.as_ref().unwrap().join(name).exists());
    }
}

#[test]
fn a_tail_file_cut_short_inside_its_data() {
    let d = tempdir();
    log_of(d.path(), 20);
    let (tail, _) = ondisk::tail_segment(d.path());
    let (_, recs, _) = ondisk::records(&tail.path);
    let at = recs[14].offset + 300; // inside the record of LSN 15
    std::fs::OpenOptions::new()
        .write(true)
        .open(&tail.path)
        .unwrap()
        .set_len(at)
        .unwrap();
    assert!(Wal::open(config(d.path())).is_err());
    let (_, report) = Wal::open_read_only(config(d.path())).unwrap();
    assert_eq!(report.damage.expect("reported").last_intact_lsn, 14);
    let r = repair_and_continue(d.path(), 14);
    // The file may have held a record per 32 bytes of its capacity.
    assert!(r.reserved_through >= 1 + (64 << 10) / 32 - 128, "{r:?}");
}

/// A segment whose header passes its checksum but names another segment,
/// in the middle of the log: the view reads the segments before it, the
/// repair moves it and every later segment aside.
#[test]
fn an_untrustworthy_header_in_the_middle() {
    let d = tempdir();
    log_of(d.path(), 300);
    let segs = ondisk::written_segments(d.path());
    let (third, h) = segs[2].clone();
    let mut forged = h;
    forged.segment += 7;
    let mut block = vec![0u8; xwal::format::BLOCK_SIZE];
    forged.encode(&mut block);
    ondisk::write_at(&third.path, 0, &block);
    assert!(matches!(
        Wal::open(config(d.path())),
        Err(Error::Corruption { .. })
    ));
    let kept = h.first_lsn - 1;
    let (view, report) = Wal::open_read_only(config(d.path())).unwrap();
    let damage = report.damage.expect("reported");
    assert_eq!(
        (damage.segment, damage.offset, damage.last_intact_lsn),
        (SegmentId(third.segment), 0, Lsn(kept))
    );
    let (lsns, end) = replay(&view, ReplayOptions::all());
    assert_eq!(lsns, (1..=kept).collect::<Vec<_>>());
    assert!(end.is_err());
    drop(view);
    let r = repair_and_continue(d.path(), kept);
    assert_eq!(r.cut_segment, None);
    assert!(r.reserved_through >= 300);
}

#[test]
fn a_segment_missing_from_the_sequence() {
    let d = tempdir();
    log_of(d.path(), 300);
    let segs = ondisk::written_segments(d.path());
    let kept = segs[2].1.first_lsn - 1;
    std::fs::remove_file(&segs[2].0.path).unwrap();
    assert!(Wal::open(config(d.path())).is_err());
    let (_, report) = Wal::open_read_only(config(d.path())).unwrap();
    assert_eq!(report.damage.expect("reported").last_intact_lsn, kept);
    let r = repair_and_continue(d.path(), kept);
    assert!(r.reserved_through >= 300, "{r:?}");
}

/// An interrupted repair: every open refuses the directory until the repair
/// is run again; a view still reads it.
#[test]
fn an_interrupted_repair_is_refused_by_open() {
    let d = tempdir();
    log_of(d.path(), 10);
    std::fs::write(d.path().join(xwal::format::REPAIR_MARKER), b"garbage").unwrap();
    assert!(matches!(
        Wal::open(config(d.path())),
        Err(Error::RepairIncomplete { .. })
    ));
    let (view, report) = Wal::open_read_only(config(d.path())).unwrap();
    assert!(report.damage.is_some());
    assert_eq!(view.last_index(), 10);
    // A marker that is not a repair's plan is refused, not guessed at.
    let e = Wal::repair(config(d.path())).unwrap_err();
    assert!(e.to_string().contains("damaged"), "{e}");
}

/// Tails in the writer's process and followers in another view cross the
/// reserved gap.
#[test]
fn tails_and_followers_cross_the_reserved_gap() {
    let d = tempdir();
    log_of(d.path(), 30);
    damage_record(d.path(), 30);
    let r = Wal::repair(config(d.path())).unwrap();
    let next = r.reserved_through + 1;
    let (wal, _) = Wal::open(config(d.path())).unwrap();
    let (view, _) = Wal::open_read_only(config(d.path())).unwrap();
    let mut follower = view.tail(xwal::Lsn(1)).unwrap();
    let mut tail = wal.tail(xwal::Lsn(1)).unwrap();
    for i in 0..5 {
        wal.append(&payload(next.0 + i, 1000)).unwrap();
    }
    wal.create_checkpoint().unwrap(); // proves the last commit to the follower
    let want: Vec<u64> = (1..=29).chain(next.0..next.0 + 5).collect();
    for t in [&mut tail, &mut follower] {
        let mut got = Vec::new();
        while got.len() < want.len() {
            let b = t
                .next_batch_timeout(Duration::from_secs(10))
                .unwrap()
                .expect("delivered in time");
            got.extend(b.iter().map(|(l, _)| l));
        }
        assert_eq!(got, want);
    }
}
