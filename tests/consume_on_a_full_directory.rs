//! Consuming is how a Go xwal user frees space, so a consume replay works on a
//! WAL that has reached `max_dir_bytes`: it delivers every entry, frees the
//! replayed segments, and appends work again.
use crate::common;
use common::*;
use xwal::*;

#[test]
fn consume_frees_a_full_directory() {
    for engine in ENGINES {
        let d = tempdir();
        let seg: u64 = 256 << 10;
        let cfg = small(d.path(), engine).max_dir_bytes(Some(3 * seg));
        let wal = open(&cfg);
        let mut n = 0;
        loop {
            match wal.append(&payload(n + 1, 8000)) {
                Ok(l) => n = l.0,
                Err(Error::DirectoryFull { .. }) => break,
                Err(e) => panic!("{e}"),
            }
            assert!(n < 10_000);
        }
        assert!(n > 50, "{n}");
        let r = wal.replay(ReplayOptions::all().consume(true)).unwrap();
        let got: Vec<_> = r.receiver().iter().collect();
        let summary = r.finish().unwrap();
        assert_eq!(lsns(&got), (1..=n).collect::<Vec<_>>());
        assert!(!summary.consumed.is_empty(), "{summary:?}");
        assert_eq!(wal.append(&payload(n + 1, 8000)).unwrap(), n + 1);
        drop(wal);
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, n + 1);
        assert_eq!(lsns(&replay_all(&wal, ReplayOptions::all())), [n + 1]);
    }
}
