//! `LOCK` unlinked (or replaced) while a writer holds it does not let a second
//! writer in: the directory itself is locked.
use crate::common;
use common::*;
use xwal::*;

#[test]
fn unlinking_lock_does_not_admit_a_second_writer() {
    let d = tempdir();
    let cfg = small(d.path(), IoEngine::Uring);
    let wal = open(&cfg);
    assert_eq!(wal.append(b"one").unwrap(), 1);
    let lock = d.path().join(xwal::format::LOCK_FILE);
    std::fs::remove_file(&lock).unwrap();
    assert!(matches!(Wal::open(cfg.clone()), Err(Error::Locked { .. })));
    // Replaced by a new file: still locked.
    std::fs::write(&lock, b"").unwrap();
    assert!(matches!(Wal::open(cfg.clone()), Err(Error::Locked { .. })));
    assert_eq!(wal.append(b"two").unwrap(), 2);
    wal.close().unwrap();
    let (wal, rep) = Wal::open(cfg).unwrap();
    assert_eq!(rep.last_lsn, 2);
    assert_eq!(wal.append(b"three").unwrap(), 3);
}
