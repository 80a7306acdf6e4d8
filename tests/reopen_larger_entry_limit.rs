//! Reopening with a larger max_entry_size must not put larger records into a
//! segment whose header promises a smaller limit (they would read as corrupt).
use crate::common;
use common::*;
use xwal::*;

#[test]
fn larger_limit_after_reopen_starts_a_new_segment() {
    for engine in ENGINES {
        let d = tempdir();
        let small_cfg = Config::new(d.path())
            .segment_size(256 << 10)
            .max_entry_size(4096)
            .io_engine(engine);
        let wal = open(&small_cfg);
        assert_eq!(wal.append(b"small").unwrap(), 1);
        wal.close().unwrap();
        drop(wal);
        let big_cfg = small_cfg.clone().max_entry_size(64 << 10);
        let wal = open(&big_cfg);
        assert_eq!(wal.append(&vec![9u8; 10_000]).unwrap(), 2);
        let got = replay_all(&wal, ReplayOptions::all());
        assert_eq!(lsns(&got), vec![1, 2]);
        assert_eq!(got[1].data.len(), 10_000);
        wal.close().unwrap();
        drop(wal);
        let (wal, rep) = Wal::open(big_cfg).unwrap();
        assert_eq!(rep.last_lsn, 2, "{rep:?}");
        assert_eq!(replay_all(&wal, ReplayOptions::all()).len(), 2);
    }
}
