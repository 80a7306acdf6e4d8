use crate::common;
use common::*;
use xwal::*;

#[test]
fn append_replay_reopen() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        {
            let wal = open(&cfg);
            for i in 1..=3000u64 {
                assert_eq!(wal.append(&payload(i, (i % 300) as usize)).unwrap(), i);
            }
            let got = replay_all(&wal, ReplayOptions::all());
            assert_eq!(lsns(&got), (1..=3000).collect::<Vec<_>>());
            for e in &got {
                assert_eq!(e.data, payload(e.lsn.0, (e.lsn.0 % 300) as usize));
            }
            let back = replay_all(&wal, ReplayOptions::all().backward());
            assert_eq!(lsns(&back), (1..=3000).rev().collect::<Vec<_>>());
            assert!(wal.segments().len() > 2, "{:?}", wal.segments());
            wal.close().unwrap();
        }
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 3000, "{rep:?}");
        assert_eq!(wal.append(b"x").unwrap(), 3001);
        let got = replay_all(&wal, ReplayOptions::all());
        assert_eq!(got.len(), 3001);
    }
}
