//! Trap 7 (Go xwal): replay-to-checkpoint strands later segments. Here
//! replaying (or consuming) up to a checkpoint leaves every later segment in
//! place and replayable, before and after a restart.
use crate::common;
use common::*;
use xwal::*;

fn first_lsn(wal: &Wal, seg: u64) -> u64 {
    wal.segments()
        .iter()
        .find(|s| s.segment == seg)
        .unwrap()
        .first_lsn
        .0
}

fn range(a: u64, b: u64) -> Vec<u64> {
    (a..=b).collect()
}

#[test]
fn replay_to_checkpoint_leaves_later_segments() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let wal = open(&cfg);
        append_n_checked(&wal, 1..=1000, 300);
        let cp1 = wal.create_checkpoint().unwrap();
        append_n_checked(&wal, 1001..=2000, 300);
        let cp2 = wal.create_checkpoint().unwrap();
        append_n_checked(&wal, 2001..=3000, 300);

        let to1 = replay_all(
            &wal,
            ReplayOptions::all().range(ReplayRange::ToCheckpoint(cp1)),
        );
        assert_eq!(lsns(&to1), range(1, 1000));
        for e in &to1 {
            assert_eq!(e.data, payload(e.lsn.0, 300));
        }
        let to1b = replay_all(
            &wal,
            ReplayOptions::all()
                .range(ReplayRange::ToCheckpoint(cp1))
                .backward(),
        );
        assert_eq!(
            lsns(&to1b),
            range(1, 1000).into_iter().rev().collect::<Vec<_>>()
        );
        let to2 = replay_all(
            &wal,
            ReplayOptions::all().range(ReplayRange::ToCheckpoint(cp2)),
        );
        assert_eq!(lsns(&to2), range(1, 2000));

        // Everything later is still there.
        assert_eq!(
            lsns(&replay_all(&wal, ReplayOptions::all())),
            range(1, 3000)
        );
        let from2 = replay_all(
            &wal,
            ReplayOptions::all().range(ReplayRange::FromCheckpoint(cp2)),
        );
        assert_eq!(lsns(&from2), range(first_lsn(&wal, cp2.0), 3000));
        let from1 = replay_all(
            &wal,
            ReplayOptions::all().range(ReplayRange::FromCheckpoint(cp1)),
        );
        assert_eq!(lsns(&from1), range(first_lsn(&wal, cp1.0), 3000));
        assert_eq!(wal.append(&payload(3001, 300)).unwrap(), 3001);
    }
}

#[test]
fn consuming_to_checkpoint_keeps_later_segments_across_restart() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let (cp1, cp2, first_after_cp1);
        {
            let wal = open(&cfg);
            append_n_checked(&wal, 1..=1000, 300);
            cp1 = wal.create_checkpoint().unwrap();
            append_n_checked(&wal, 1001..=2000, 300);
            cp2 = wal.create_checkpoint().unwrap();
            append_n_checked(&wal, 2001..=3000, 300);
            first_after_cp1 = first_lsn(&wal, cp1.0 + 1);
            assert_eq!(first_after_cp1, 1001);

            let r = wal
                .replay(
                    ReplayOptions::all()
                        .range(ReplayRange::ToCheckpoint(cp1))
                        .consume(true),
                )
                .unwrap();
            let got: Vec<Entry> = r.receiver().iter().collect();
            let summary = r.finish().unwrap();
            assert_eq!(lsns(&got), range(1, 1000));
            assert_eq!(summary.consumed, (0..=cp1.0).collect::<Vec<_>>());
            // Only segments up to cp1 are gone.
            assert!(
                wal.segments().iter().all(|s| s.segment > cp1.segment()),
                "{:?}",
                wal.segments()
            );
            assert_eq!(
                lsns(&replay_all(&wal, ReplayOptions::all())),
                range(1001, 3000)
            );
            assert_eq!(wal.checkpoints(), vec![cp2]);
            wal.close().unwrap();
        }
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 3000, "{rep:?}");
        assert_eq!(wal.checkpoints(), vec![cp2]);
        assert_eq!(
            lsns(&replay_all(&wal, ReplayOptions::all())),
            range(1001, 3000)
        );
        let to2 = replay_all(
            &wal,
            ReplayOptions::all().range(ReplayRange::ToCheckpoint(cp2)),
        );
        assert_eq!(lsns(&to2), range(1001, 2000));
        assert!(matches!(
            wal.replay(ReplayOptions::all().range(ReplayRange::ToCheckpoint(cp1))).and_then(|r| r.finish()),
            Err(Error::NotFound { what: "checkpoint", number }) if number == cp1
        ));
        assert_eq!(wal.append(&payload(3001, 300)).unwrap(), 3001);
        assert_eq!(
            lsns(&replay_all(&wal, ReplayOptions::all())),
            range(1001, 3001)
        );
    }
}
