//! Trap 2 (Go xwal): LSNs restart at 1 after a restart that follows a
//! checkpoint or a replay. Here LSNs are persisted: every restart continues the
//! sequence, whatever happened before it.
use crate::common;
use common::*;
use xwal::*;

fn reopen(cfg: &Config, expect_last: u64) -> Wal {
    let (wal, rep) = Wal::open(cfg.clone()).unwrap();
    assert_eq!(rep.last_lsn, expect_last, "{rep:?}");
    assert_eq!(wal.last_index(), expect_last);
    wal
}

#[test]
fn restart_after_checkpoint_continues() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let mut next = 1;
        // Several restarts, each right after a checkpoint (the active segment is then empty).
        for round in 0..4u64 {
            let wal = if round == 0 {
                open(&cfg)
            } else {
                reopen(&cfg, next - 1)
            };
            append_n_checked(&wal, next..=next + 49, 100);
            next += 50;
            wal.create_checkpoint().unwrap();
            if round == 2 {
                // Two checkpoints in a row: the second seals an empty segment.
                wal.create_checkpoint().unwrap();
            }
            wal.close().unwrap();
        }
        let wal = reopen(&cfg, 200);
        assert_eq!(wal.append(&payload(201, 100)).unwrap(), 201);
        let got = replay_all(&wal, ReplayOptions::all());
        assert_eq!(lsns(&got), (1..=201).collect::<Vec<_>>());
        for e in &got {
            assert_eq!(e.data, payload(e.lsn.0, 100));
        }
    }
}

#[test]
fn restart_after_replay_continues() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        {
            let wal = open(&cfg);
            append_n_checked(&wal, 1..=300, 100);
            assert_eq!(
                lsns(&replay_all(&wal, ReplayOptions::all())),
                (1..=300).collect::<Vec<_>>()
            );
            assert_eq!(replay_all(&wal, ReplayOptions::all().backward()).len(), 300);
            wal.close().unwrap();
        }
        let wal = reopen(&cfg, 300);
        assert_eq!(
            lsns(&replay_all(&wal, ReplayOptions::all())),
            (1..=300).collect::<Vec<_>>()
        );
        drop(wal); // drop without close: same as close
        let wal = reopen(&cfg, 300);
        assert_eq!(wal.append(&payload(301, 100)).unwrap(), 301);
    }
}

#[test]
fn restart_after_consuming_replay_continues() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        {
            let wal = open(&cfg);
            append_n_checked(&wal, 1..=3000, 100);
            assert!(wal.segments().len() >= 2, "{:?}", wal.segments());
            let r = wal.replay(ReplayOptions::all().consume(true)).unwrap();
            let got: Vec<Entry> = r.receiver().iter().collect();
            let summary = r.finish().unwrap();
            assert_eq!(lsns(&got), (1..=3000).collect::<Vec<_>>());
            assert!(!summary.consumed.is_empty(), "{summary:?}");
            // Everything was consumed: nothing is left to replay.
            assert!(replay_all(&wal, ReplayOptions::all()).is_empty());
            assert_eq!(wal.last_index(), 3000);
            wal.close().unwrap();
        }
        let wal = reopen(&cfg, 3000);
        assert!(replay_all(&wal, ReplayOptions::all()).is_empty());
        assert_eq!(wal.append(&payload(3001, 100)).unwrap(), 3001);
        assert_eq!(lsns(&replay_all(&wal, ReplayOptions::all())), vec![3001]);
        drop(wal);
        let wal = reopen(&cfg, 3001);
        assert_eq!(wal.append(&payload(3002, 100)).unwrap(), 3002);
    }
}

#[test]
fn restart_after_purge_of_all_sealed_segments_continues() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        {
            let wal = open(&cfg);
            append_n_checked(&wal, 1..=2000, 100);
            let cp = wal.create_checkpoint().unwrap();
            let purged = wal.purge_through(cp).unwrap();
            assert_eq!(purged, (0..=cp.0).collect::<Vec<_>>());
        }
        let wal = reopen(&cfg, 2000);
        assert_eq!(wal.append(&payload(2001, 100)).unwrap(), 2001);
        assert_eq!(lsns(&replay_all(&wal, ReplayOptions::all())), vec![2001]);
    }
}
