//! Size limits are enforced at append time: an oversized entry or batch is
//! refused with `Error::EntryTooLarge` and nothing is written; an entry of
//! exactly max_entry_size round-trips; an empty batch is `InvalidBatch`.
use crate::common;
use common::*;
use xwal::*;

const MAX: usize = 64 << 10; // small(): max_entry_size 64 KiB, segment 256 KiB

#[test]
fn oversized_entry_is_refused_and_nothing_is_written() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        {
            let wal = open(&cfg);
            assert_eq!(wal.append(&payload(1, 10)).unwrap(), 1);
            match wal.append(&vec![7u8; MAX + 1]) {
                Err(Error::EntryTooLarge { size, limit }) => {
                    assert_eq!(size, MAX as u64 + 1);
                    assert_eq!(limit, MAX as u64);
                }
                other => panic!("expected EntryTooLarge, got {other:?}"),
            }
            assert!(matches!(
                wal.submit(vec![7u8; MAX + 1]),
                Err(Error::EntryTooLarge { .. })
            ));
            // One oversized entry refuses the whole batch.
            let batch = vec![payload(2, 10), vec![7u8; MAX + 1], payload(3, 10)];
            assert!(matches!(
                wal.append_batch(batch),
                Err(Error::EntryTooLarge { .. })
            ));
            assert!(matches!(
                wal.append(&vec![0u8; 10 * MAX]),
                Err(Error::EntryTooLarge { .. })
            ));
            assert_eq!(wal.last_index(), 1);
            // The next append gets the next LSN: no LSN was consumed by the refusals.
            assert_eq!(wal.append(&payload(2, 10)).unwrap(), 2);
            assert_eq!(lsns(&replay_all(&wal, ReplayOptions::all())), vec![1, 2]);
        }
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 2, "{rep:?}");
        let got = replay_all(&wal, ReplayOptions::all());
        assert_eq!(lsns(&got), vec![1, 2]);
        assert_eq!(got[1].data, payload(2, 10));
    }
}

#[test]
fn entry_of_exactly_max_entry_size_round_trips() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        {
            let wal = open(&cfg);
            // Several, so that some land at the end of a segment and force rollovers.
            append_n_checked(&wal, 1..=9, MAX);
            assert_eq!(
                wal.append_batch(vec![payload(10, MAX), payload(11, MAX)])
                    .unwrap(),
                Lsn(10)..=Lsn(11)
            );
            let got = replay_all(&wal, ReplayOptions::all());
            assert_eq!(lsns(&got), (1..=11).collect::<Vec<_>>());
        }
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 11, "{rep:?}");
        let got = replay_all(&wal, ReplayOptions::all().backward());
        assert_eq!(lsns(&got), (1..=11).rev().collect::<Vec<_>>());
        for e in &got {
            assert!(e.data == payload(e.lsn.0, MAX), "LSN {}", e.lsn);
        }
    }
}

#[test]
fn batch_larger_than_a_segment_is_refused() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let wal = open(&cfg);
        // Each entry is within max_entry_size, but together they cannot be one atomic group in one segment.
        let batch: Vec<Vec<u8>> = (0..5u64).map(|i| payload(i, MAX)).collect();
        assert!(matches!(
            wal.append_batch(batch),
            Err(Error::EntryTooLarge { .. })
        ));
        assert_eq!(wal.last_index(), 0);
        assert_eq!(wal.append(b"x").unwrap(), 1);
        assert_eq!(lsns(&replay_all(&wal, ReplayOptions::all())), vec![1]);
    }
}

#[test]
fn empty_batch_is_invalid() {
    for engine in ENGINES {
        let d = tempdir();
        let wal = open(&small(d.path(), engine));
        assert!(matches!(
            wal.append_batch(Vec::<Vec<u8>>::new()),
            Err(Error::InvalidBatch { count: 0, .. })
        ));
        assert!(matches!(
            WalBackend::write(&wal, vec![]),
            Err(Error::InvalidBatch { count: 0, .. })
        ));
        assert_eq!(wal.last_index(), 0);
        // An empty entry (not an empty batch) is fine.
        assert_eq!(wal.append(b"").unwrap(), 1);
        assert_eq!(wal.append_batch(vec![Vec::new()]).unwrap(), Lsn(2)..=Lsn(2));
        let got = replay_all(&wal, ReplayOptions::all());
        assert_eq!(lsns(&got), vec![1, 2]);
        assert!(got.iter().all(|e| e.data.is_empty()));
    }
}
