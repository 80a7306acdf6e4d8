//! Trap 11 (Go xwal): size-based eviction silently deletes segments nobody has
//! replayed. Here a size limit refuses appends with `Error::DirectoryFull`;
//! nothing is ever deleted behind the user's back, and appends resume once the
//! user purges.
use crate::common;
use crate::ondisk;
use common::*;
use xwal::*;

const SEG: u64 = 256 << 10;
const LIMIT: u64 = 4 * SEG;

fn cfg(d: &std::path::Path, engine: IoEngine) -> Config {
    small(d, engine).max_dir_bytes(Some(LIMIT))
}

/// Appends until refused; returns the last LSN that was accepted.
fn fill_until_full(wal: &Wal, from: u64) -> u64 {
    let mut i = from;
    loop {
        match wal.append(&payload(i, 1000)) {
            Ok(lsn) => {
                assert_eq!(lsn, i);
                i += 1;
                assert!(
                    i < from + 5000,
                    "no DirectoryFull after 5000 appends of 1 KB with a 1 MiB limit"
                );
            }
            Err(Error::DirectoryFull { limit, .. }) => {
                assert_eq!(limit, LIMIT);
                return i - 1;
            }
            Err(e) => panic!("expected DirectoryFull, got {e}"),
        }
    }
}

#[test]
fn full_directory_refuses_appends_and_deletes_nothing() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = cfg(d.path(), engine);
        let wal = open(&cfg);
        append_n_checked(&wal, 1..=50, 1000);
        let cp = wal.create_checkpoint().unwrap();
        let last = fill_until_full(&wal, 51);
        assert!(last > 200, "{last}");
        let segs_at_full: Vec<u64> = wal.segments().iter().map(|s| s.segment.0).collect();

        // Refusal is sticky and consumes no LSN; other refused operations say the same.
        // (An entry the size of the refused one; a tiny one may still fit the active segment.)
        for _ in 0..3 {
            assert!(matches!(
                wal.append(&payload(last + 1, 1000)),
                Err(Error::DirectoryFull { .. })
            ));
        }
        let batch = vec![payload(last + 1, 1000), payload(last + 2, 1000)];
        assert!(matches!(
            wal.append_batch(batch),
            Err(Error::DirectoryFull { .. })
        ));
        assert_eq!(wal.last_index(), last);

        // Every entry, including the earliest, is still there: nothing was evicted.
        let got = replay_all(&wal, ReplayOptions::all());
        assert_eq!(lsns(&got), (1..=last).collect::<Vec<_>>());
        for e in &got {
            assert_eq!(e.data, payload(e.lsn.0, 1000));
        }
        let on_disk: Vec<u64> = ondisk::written_segments(d.path())
            .iter()
            .map(|(s, _)| s.segment)
            .collect();
        assert_eq!(on_disk, segs_at_full);
        assert_eq!(on_disk[0], 0);

        // The user decides: purge through the checkpoint, then appends work again.
        assert_eq!(
            wal.purge_through(cp).unwrap(),
            (0..=cp.0).collect::<Vec<_>>()
        );
        assert_eq!(wal.append(&payload(last + 1, 1000)).unwrap(), last + 1);
        let got = replay_all(&wal, ReplayOptions::all());
        assert_eq!(lsns(&got), (51..=last + 1).collect::<Vec<_>>());
    }
}

#[test]
fn full_directory_survives_restart_without_eviction() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = cfg(d.path(), engine);
        let last = {
            let wal = open(&cfg);
            fill_until_full(&wal, 1)
        };
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, last, "{rep:?}");
        assert!(rep.removed_files.is_empty(), "{rep:?}");
        assert!(matches!(
            wal.append(&payload(last + 1, 1000)),
            Err(Error::DirectoryFull { .. })
        ));
        assert_eq!(
            lsns(&replay_all(&wal, ReplayOptions::all())),
            (1..=last).collect::<Vec<_>>()
        );
    }
}

#[test]
fn directory_never_grows_beyond_the_limit() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = cfg(d.path(), engine);
        let wal = open(&cfg);
        let last = fill_until_full(&wal, 1);
        let _ = wal.append(&payload(last + 1, 1000));
        // The limit is on the directory: every file xwal keeps there counts,
        // segments prepared ahead of need included.
        let total: u64 = ondisk::file_names(d.path())
            .iter()
            .map(|n| std::fs::metadata(d.path().join(n)).unwrap().len())
            .sum();
        assert!(
            total <= LIMIT,
            "directory holds {total} bytes, limit {LIMIT}: {:?}",
            ondisk::file_names(d.path())
        );
    }
}
