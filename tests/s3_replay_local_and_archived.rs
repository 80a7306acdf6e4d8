//! S3 archive tier: with local retention, old segments exist only in S3, and
//! every replay mode (forward, backward, segment range, LSN range, from and to a
//! checkpoint) returns exactly what it returned when all segments were local,
//! across a restart and from `Wal::open_archive` on another machine.
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::{payload, replay_all, small};
use std::time::Duration;
use xwal::archive::LocalRetention;
use xwal::{Entry, IoEngine, ReplayOptions, ReplayRange, Wal};

fn modes(cps: &[u64], segs: &[u64]) -> Vec<ReplayOptions> {
    let mut v = Vec::new();
    let ranges = [
        ReplayRange::All,
        ReplayRange::Segments {
            start: xwal::SegmentId(0),
            end: xwal::SegmentId(segs[2]),
        },
        ReplayRange::Segments {
            start: xwal::SegmentId(segs[1]),
            end: xwal::SegmentId(segs[segs.len() - 2]),
        },
        ReplayRange::Lsns {
            from: xwal::Lsn(5),
            to: xwal::Lsn(900),
        },
        ReplayRange::Lsns {
            from: xwal::Lsn(700),
            to: xwal::Lsn(720),
        },
        ReplayRange::FromCheckpoint(xwal::CheckpointId(cps[0])),
        ReplayRange::ToCheckpoint(xwal::CheckpointId(cps[0])),
        ReplayRange::FromCheckpoint(xwal::CheckpointId(cps[1])),
        ReplayRange::ToCheckpoint(xwal::CheckpointId(cps[1])),
    ];
    for r in ranges {
        v.push(ReplayOptions::all().range(r));
        v.push(ReplayOptions::all().range(r).backward());
    }
    v
}

fn run_all(wal: &Wal, modes: &[ReplayOptions]) -> Vec<Vec<Entry>> {
    modes.iter().map(|m| replay_all(wal, *m)).collect()
}

#[test]
fn every_replay_mode_covers_local_and_archived_segments() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env.config("replay-local-archived");
    let dir = common::tempdir();
    let cfg = small(dir.path(), IoEngine::Uring);

    // Phase 1: everything local (and archived), the reference answers.
    let (wal, _) = Wal::open(cfg.clone().s3(s3.clone())).unwrap();
    let mut cps = Vec::new();
    for i in 0..1000u64 {
        wal.append(&payload(i, 700 + (i as usize % 900))).unwrap();
        if i == 150 || i == 600 {
            cps.push(wal.create_checkpoint().unwrap());
        }
    }
    wal.inc_last_index().unwrap(); // a skip record on the way
    wal.append(b"tail").unwrap();
    wal.create_checkpoint().unwrap();
    wal.append(b"in the active segment").unwrap();
    let segs: Vec<u64> = wal.segments().iter().map(|s| s.segment.0).collect();
    assert!(segs.len() >= 6, "{segs:?}");
    let cp_numbers: Vec<u64> = cps.iter().map(|c| c.0).collect();
    let modes = modes(&cp_numbers, &segs);
    let reference = run_all(&wal, &modes);
    assert_eq!(reference[0].len(), 1002);
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    wal.close().unwrap();
    assert!(
        s3_support::local_segments(dir.path()).starts_with(&segs),
        "KeepAll keeps all"
    );

    // Phase 2: keep one sealed segment locally; the rest is deleted once archived.
    let s3 = s3.retention(LocalRetention::KeepNewest(1));
    let (wal, _) = Wal::open(cfg.clone().s3(s3.clone())).unwrap();
    let last_two = segs[segs.len() - 2..].to_vec();
    s3_support::wait_until(30, "retention to delete archived segments", || {
        // (a prepared, still empty next segment may be there too)
        s3_support::local_segments(dir.path()).starts_with(&last_two)
            && wal.archive_status().unwrap().local_deleted == segs.len() as u64 - 2
    });
    assert_eq!(
        wal.segments().iter().map(|s| s.segment).collect::<Vec<_>>(),
        segs,
        "segments() still lists the archived ones"
    );
    assert_eq!(wal.checkpoints().len(), 3);
    assert_eq!(run_all(&wal, &modes), reference);
    // The log goes on: a new entry lands after the archived history.
    let lsn = wal.append(b"more").unwrap();
    let all = replay_all(&wal, ReplayOptions::all());
    assert_eq!(all.len(), 1003);
    assert_eq!(all.last().map(|e| e.lsn), Some(lsn));
    wal.close().unwrap();

    // Phase 3: a restart reads the manifest when a replay needs it.
    let (wal, _) = Wal::open(cfg.clone().s3(s3.clone())).unwrap();
    let again = run_all(&wal, &modes);
    for (i, (a, r)) in again.iter().zip(&reference).enumerate() {
        let m = modes[i];
        if matches!(m.range, ReplayRange::All | ReplayRange::FromCheckpoint(_)) {
            // These reach the active segment, which now holds one more entry.
            let extra = a.iter().filter(|e| e.data == b"more").count();
            assert_eq!(extra, 1, "{m:?}");
            assert_eq!(a.len(), r.len() + 1, "{m:?}");
        } else {
            assert_eq!(a, r, "{m:?}");
        }
    }
    wal.close().unwrap();

    // Another machine: the archive alone (sealed segments only).
    let remote = Wal::open_archive(s3).unwrap();
    let from_s3 = replay_all(&remote, ReplayOptions::all());
    assert_eq!(&from_s3[..], &reference[0][..1001]);
    let back = replay_all(
        &remote,
        ReplayOptions::all()
            .range(ReplayRange::ToCheckpoint(cps[1]))
            .backward(),
    );
    assert_eq!(back, reference[modes.len() - 1]);
}
