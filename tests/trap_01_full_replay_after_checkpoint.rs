//! Trap 1 (Go xwal): a full replay fails once any checkpoint file exists.
//! Here a full replay, in both directions, returns every entry whatever the
//! number and position of checkpoints, before and after a restart.
use crate::common;
use crate::ondisk;
use common::*;
use xwal::*;

fn check(wal: &Wal, last: u64) {
    let fwd = replay_all(wal, ReplayOptions::all());
    assert_eq!(lsns(&fwd), (1..=last).collect::<Vec<_>>());
    for e in &fwd {
        assert_eq!(e.data, payload(e.lsn.0, 200), "data of LSN {}", e.lsn);
    }
    let back = replay_all(wal, ReplayOptions::all().backward());
    assert_eq!(lsns(&back), (1..=last).rev().collect::<Vec<_>>());
}

#[test]
fn full_replay_with_several_checkpoints() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let wal = open(&cfg);
        let mut cps = Vec::new();
        for i in 1..=1500u64 {
            assert_eq!(wal.append(&payload(i, 200)).unwrap(), i);
            if i % 500 == 0 {
                cps.push(wal.create_checkpoint().unwrap());
            }
        }
        // The last checkpoint was taken right after the last append: the active segment is empty.
        assert_eq!(wal.checkpoints(), cps, "{engine:?}");
        let on_disk: Vec<u64> = ondisk::segment_files(d.path())
            .iter()
            .filter(|s| s.checkpoint)
            .map(|s| s.segment)
            .collect();
        assert_eq!(on_disk, cps, "checkpoint files on disk");
        check(&wal, 1500);

        append_n_checked(&wal, 1501..=1600, 200);
        check(&wal, 1600);
        wal.close().unwrap();
        drop(wal);

        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 1600, "{rep:?}");
        assert_eq!(wal.checkpoints(), cps);
        check(&wal, 1600);
        assert_eq!(wal.append(&payload(1601, 200)).unwrap(), 1601);
        check(&wal, 1601);
    }
}

#[test]
fn full_replay_when_only_checkpoints_exist() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let wal = open(&cfg);
        // A checkpoint on an empty WAL, then one after a single entry.
        let cp0 = wal.create_checkpoint().unwrap();
        assert!(replay_all(&wal, ReplayOptions::all()).is_empty());
        assert_eq!(wal.append(&payload(1, 200)).unwrap(), 1);
        let cp1 = wal.create_checkpoint().unwrap();
        assert!(cp1 > cp0, "{cp0} {cp1}");
        check(&wal, 1);
        drop(wal);
        let wal = open(&cfg);
        check(&wal, 1);
        assert_eq!(wal.append(&payload(2, 200)).unwrap(), 2);
        check(&wal, 2);
    }
}
