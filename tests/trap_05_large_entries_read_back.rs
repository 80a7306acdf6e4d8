//! Trap 5 (Go xwal): records larger than 4 MiB can be written but never read
//! back. Here any entry up to max_entry_size round-trips: through replay in
//! both directions, through recovery of the tail, and in an atomic batch.
use crate::common;
use common::*;
use xwal::*;

const BIG: usize = 5 << 20;

fn cfg(dir: &std::path::Path, engine: IoEngine) -> Config {
    Config::new(dir)
        .segment_size(16 << 20)
        .max_entry_size(8 << 20)
        .io_engine(engine)
}

fn expected() -> Vec<(u64, usize)> {
    // (lsn, payload length); 1..=3 single appends, 4..=6 one batch, 7 the last (big) record.
    vec![
        (1, 10),
        (2, BIG),
        (3, 10),
        (4, 100),
        (5, BIG),
        (6, 100),
        (7, BIG + 12345),
    ]
}

fn check(wal: &Wal) {
    let exp = expected();
    let fwd = replay_all(wal, ReplayOptions::all());
    assert_eq!(lsns(&fwd), exp.iter().map(|e| e.0).collect::<Vec<_>>());
    for (e, (lsn, len)) in fwd.iter().zip(&exp) {
        assert_eq!(e.data.len(), *len, "LSN {lsn}");
        assert!(
            e.data == payload(*lsn, *len),
            "payload of LSN {lsn} differs"
        );
    }
    let back = replay_all(wal, ReplayOptions::all().backward());
    assert_eq!(
        lsns(&back),
        exp.iter().rev().map(|e| e.0).collect::<Vec<_>>()
    );
    for e in &back {
        let len = exp.iter().find(|x| x.0 == e.lsn).unwrap().1;
        assert!(
            e.data == payload(e.lsn.0, len),
            "payload of LSN {} differs (backward)",
            e.lsn
        );
    }
    // An LSN range that starts and ends on big entries.
    let r = replay_all(
        wal,
        ReplayOptions::all().range(ReplayRange::Lsns {
            from: xwal::Lsn(2),
            to: xwal::Lsn(5),
        }),
    );
    assert_eq!(lsns(&r), vec![2, 3, 4, 5]);
}

#[test]
fn entries_over_4_mib_round_trip() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = cfg(d.path(), engine);
        {
            let wal = open(&cfg);
            assert_eq!(wal.append(&payload(1, 10)).unwrap(), 1);
            assert_eq!(wal.append(&payload(2, BIG)).unwrap(), 2);
            assert_eq!(wal.append(&payload(3, 10)).unwrap(), 3);
            let r = wal
                .append_batch(vec![payload(4, 100), payload(5, BIG), payload(6, 100)])
                .unwrap();
            assert_eq!(r, Lsn(4)..=Lsn(6));
            assert_eq!(wal.append(&payload(7, BIG + 12345)).unwrap(), 7);
            check(&wal);
            wal.close().unwrap();
        }
        // The last record of the tail is a big one: recovery must read it whole.
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 7, "{rep:?}");
        assert_eq!(rep.truncation, None, "{rep:?}");
        check(&wal);
        assert_eq!(wal.append(b"after").unwrap(), 8);
    }
}

#[test]
fn entry_of_exactly_max_entry_size_round_trips() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = cfg(d.path(), engine);
        let max = 8 << 20;
        {
            let wal = open(&cfg);
            assert_eq!(wal.append(&payload(1, max)).unwrap(), 1);
            assert!(matches!(
                wal.append(&payload(2, max + 1)),
                Err(Error::EntryTooLarge { .. })
            ));
        }
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 1, "{rep:?}");
        let got = replay_all(&wal, ReplayOptions::all());
        assert_eq!(lsns(&got), vec![1]);
        assert!(got[0].data == payload(1, max));
    }
}
