//! S3 archive tier: a bucket that does not exist gives
//! `ArchiveErrorKind::NoSuchBucket`, naming the bucket and saying to create it
//! or fix the setting, from `open_archive`, `restore` and a writer's status
//! (whose appends go on, nothing deleted).
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::small;
use std::time::Duration;
use xwal::archive::LocalRetention;
use xwal::{ArchiveErrorKind, Error, IoEngine, Wal};

const BUCKET: &str = "xwal-no-such-bucket";

fn assert_no_bucket(e: &Error) {
    eprintln!("{e}");
    match e {
        Error::Archive {
            kind: ArchiveErrorKind::NoSuchBucket,
            message,
        } => {
            assert!(message.contains(BUCKET), "{message}");
            assert!(message.contains("does not exist"), "{message}");
        }
        other => panic!("expected NoSuchBucket, got {other}"),
    }
}

#[test]
fn a_missing_bucket_gives_a_clear_error() {
    let Some(env) = s3_support::env() else { return };
    let mut s3 = env.config("missing-bucket");
    s3.bucket = BUCKET.into();
    assert_no_bucket(&Wal::open_archive(s3.clone()).unwrap_err());
    let target = common::tempdir();
    assert_no_bucket(&xwal::archive::restore(&s3, &target.path().join("r")).unwrap_err());

    let dir = common::tempdir();
    let cfg = small(dir.path(), IoEngine::Uring).s3(s3.retention(LocalRetention::KeepNewest(0)));
    let (wal, _) = Wal::open(cfg).unwrap();
    common::append_n(&wal, 1..=600, 1000);
    wal.create_checkpoint().unwrap();
    s3_support::wait_until(30, "the archiver to report the missing bucket", || {
        matches!(
            wal.archive_status().unwrap().last_error,
            Some(Error::Archive {
                kind: ArchiveErrorKind::NoSuchBucket,
                ..
            })
        )
    });
    assert_no_bucket(&wal.wait_archived(Duration::from_millis(200)).unwrap_err());
    let sealed = wal.segments().len() - 1;
    assert!(s3_support::local_segments(dir.path()).len() > sealed);
    wal.close().unwrap();
}
