//! S3 archive tier: the archive never overwrites or deletes on a mismatch. A
//! second WAL pointed at a prefix that already holds another WAL's archive, or
//! an object at a segment's key that is not that segment, is reported as
//! `ArchiveErrorKind::Conflict`; nothing is uploaded over it and no local
//! segment is deleted.
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::small;
use std::time::Duration;
use xwal::archive::LocalRetention;
use xwal::{ArchiveErrorKind, Error, IoEngine, Wal};

fn write(wal: &Wal, n: u64) {
    common::append_n(wal, 1..=n, 1000);
    wal.create_checkpoint().unwrap();
}

fn conflict(wal: &Wal) -> bool {
    matches!(
        wal.archive_status().unwrap().last_error,
        Some(Error::Archive {
            kind: ArchiveErrorKind::Conflict,
            ..
        })
    )
}

#[test]
fn a_second_wal_on_the_same_prefix_is_refused() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env.config("conflict-two-wals");
    let a_dir = common::tempdir();
    let (a, _) = Wal::open(small(a_dir.path(), IoEngine::Uring).s3(s3.clone())).unwrap();
    write(&a, 500);
    a.wait_archived(Duration::from_secs(60)).unwrap();
    a.close().unwrap();
    let manifest = s3_support::get(&env.store(), &s3_support::manifest_key(&s3)).unwrap();

    let b_dir = common::tempdir();
    let s3b = s3.clone().retention(LocalRetention::KeepNewest(0));
    let (b, _) = Wal::open(small(b_dir.path(), IoEngine::Uring).s3(s3b)).unwrap();
    write(&b, 500);
    s3_support::wait_until(30, "a conflict", || conflict(&b));
    let e = b.wait_archived(Duration::from_millis(300)).unwrap_err();
    assert!(e.to_string().contains("another WAL"), "{e}");
    let sealed = b.segments().len() - 1;
    assert!(s3_support::local_segments(b_dir.path()).len() > sealed);
    assert_eq!(
        s3_support::get(&env.store(), &s3_support::manifest_key(&s3)).unwrap(),
        manifest
    );
    b.close().unwrap();
}

#[test]
fn a_foreign_object_at_a_segment_key_is_not_overwritten() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env
        .config("conflict-foreign-object")
        .retention(LocalRetention::KeepNewest(0));
    let store = env.store();
    // Something else already sits where segment 0 would go.
    let key = s3_support::segment_key(&s3, 0);
    s3_support::put(&store, &key, b"not a segment".to_vec());
    let dir = common::tempdir();
    let (wal, _) = Wal::open(small(dir.path(), IoEngine::Uring).s3(s3.clone())).unwrap();
    write(&wal, 500);
    s3_support::wait_until(30, "a conflict", || conflict(&wal));
    assert_eq!(wal.archive_status().unwrap().uploaded_segments, 0);
    assert_eq!(s3_support::get(&store, &key).unwrap(), b"not a segment");
    assert!(s3_support::local_segments(dir.path()).contains(&0));
    wal.close().unwrap();
}
