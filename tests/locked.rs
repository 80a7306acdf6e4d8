//! One opener per directory: a second `Wal::open` gets `Error::Locked` while the
//! first is open, and succeeds once the first is closed or dropped.
//! (A second process is not tested: the binary has no open-only command yet.)
use crate::common;
use common::*;
use xwal::*;

fn assert_locked(cfg: &Config) {
    match Wal::open(cfg.clone()) {
        Err(Error::Locked { dir, lock_file }) => {
            assert_eq!(dir, cfg.dir);
            assert!(lock_file.starts_with(&cfg.dir), "{}", lock_file.display());
        }
        Err(e) => panic!("expected Error::Locked, got {e}"),
        Ok(_) => panic!("a second open of a locked directory succeeded"),
    }
}

#[test]
fn second_open_is_locked_and_harmless() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let wal = open(&cfg);
        append_n(&wal, 1..=10, 100);
        assert_locked(&cfg);
        assert_locked(&cfg.clone().io_engine(IoEngine::Sync));
        // The failed opener changed nothing for the first.
        assert_eq!(wal.append(&payload(11, 100)).unwrap(), 11);
        assert_eq!(
            lsns(&replay_all(&wal, ReplayOptions::all())),
            (1..=11).collect::<Vec<_>>()
        );
        // The message says what is wrong.
        let msg = Wal::open(cfg.clone()).unwrap_err().to_string();
        assert!(msg.contains("locked"), "{msg}");
    }
}

#[test]
fn other_spellings_of_the_same_directory_are_locked() {
    let d = tempdir();
    let cfg = small(d.path(), IoEngine::Sync);
    let _wal = open(&cfg);
    let alias = tempdir();
    let link = alias.path().join("link");
    std::os::unix::fs::symlink(d.path(), &link).unwrap();
    for dir in [d.path().join("."), link, d.path().join("x").join("..")] {
        if dir.ends_with("..") {
            std::fs::create_dir_all(d.path().join("x")).unwrap();
        }
        assert!(
            matches!(
                Wal::open(small(&dir, IoEngine::Sync)),
                Err(Error::Locked { .. })
            ),
            "{} was not locked",
            dir.display()
        );
    }
}

#[test]
fn open_succeeds_after_drop() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let wal = open(&cfg);
        wal.append(b"a").unwrap();
        assert_locked(&cfg);
        drop(wal);
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 1);
        assert_eq!(wal.append(b"b").unwrap(), 2);
    }
}

#[test]
fn close_releases_the_lock() {
    // The contract: Close stops the writer, closes the files and releases the
    // lock. The closed handle may still be alive (e.g. held in an Arc).
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let wal = open(&cfg);
        wal.append(b"a").unwrap();
        wal.close().unwrap();
        let (wal2, rep) =
            Wal::open(cfg.clone()).unwrap_or_else(|e| panic!("open after close() failed: {e}"));
        assert_eq!(rep.last_lsn, 1);
        assert_eq!(wal2.append(b"b").unwrap(), 2);
        drop(wal); // dropping the old, closed handle must not disturb the new one
        assert_eq!(wal2.append(b"c").unwrap(), 3);
        assert_eq!(
            lsns(&replay_all(&wal2, ReplayOptions::all())),
            vec![1, 2, 3]
        );
    }
}
