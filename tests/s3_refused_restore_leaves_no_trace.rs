//! S3 archive tier: a restore into a directory that holds another WAL (or
//! another archive's state) is refused, and the directory is left exactly as
//! it was: the same names, sizes and bytes, no `LOCK`, no marker, no leftover
//! removed. The other WAL still opens.
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::{payload, small};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use xwal::{IoEngine, Wal, archive};

/// Every file of `dir`: name -> bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// An archive with a few segments in it.
fn archive_some(s3: &archive::S3Config) {
    let dir = common::tempdir();
    let (wal, _) = Wal::open(small(dir.path(), IoEngine::Sync).s3(s3.clone())).unwrap();
    common::append_n(&wal, 1..=400, 1000);
    wal.create_checkpoint().unwrap();
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    wal.close().unwrap();
}

#[test]
fn a_restore_into_another_wal_changes_nothing() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env.config("refused-restore");
    archive_some(&s3);

    // Another WAL, closed, with no LOCK file left (as a copy or backup
    // would have it), and a leftover preparation.
    let other = common::tempdir();
    let cfg = small(other.path(), IoEngine::Sync);
    let (wal, _) = Wal::open(cfg.clone()).unwrap();
    for i in 1..=50 {
        wal.append(&payload(i, 500)).unwrap();
    }
    wal.close().unwrap();
    std::fs::remove_file(other.path().join(xwal::format::LOCK_FILE)).unwrap();
    let leftover = format!("{}.preparing", xwal::format::segment_file_name(7, false));
    std::fs::write(other.path().join(&leftover), vec![0u8; 4096]).unwrap();
    let before = snapshot(other.path());

    let e = archive::restore(&s3, other.path()).unwrap_err();
    assert!(e.to_string().contains("not part of the archive"), "{e}");
    assert!(
        snapshot(other.path()) == before,
        "the refused restore changed the directory"
    );

    std::fs::remove_file(other.path().join(&leftover)).unwrap();
    let (wal, _) = Wal::open(cfg).unwrap();
    assert_eq!(wal.last_index(), 50);
}

#[test]
fn a_restore_beside_another_archives_state_changes_nothing() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env.config("refused-restore-state");
    archive_some(&s3);
    let elsewhere = env.config("refused-restore-elsewhere");
    archive_some(&elsewhere);
    // A directory restored from the other archive, its segments removed.
    let d = common::tempdir();
    let target = d.path().join("wal");
    archive::restore(&elsewhere, &target).unwrap();
    for f in std::fs::read_dir(&target).unwrap() {
        let p = f.unwrap().path();
        if p.extension().is_some_and(|x| x == "seg") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let before = snapshot(&target);
    assert!(archive::restore(&s3, &target).is_err());
    assert!(
        snapshot(&target) == before,
        "the refused restore changed the directory"
    );
}
