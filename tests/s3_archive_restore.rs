//! S3 archive tier: everything sealed is archived; `restore` rebuilds the WAL in
//! a fresh directory (every object verified), the restored WAL replays the same
//! entries and checkpoints, and it can continue writing and archiving on the
//! same prefix. Against a real S3 server (moto, started by scripts/test.sh).
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::{payload, replay_all, small};
use std::time::Duration;
use xwal::{IoEngine, ReplayOptions, ReplayRange, Wal, archive};

#[test]
fn archive_then_restore_into_a_fresh_directory() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env.config("archive-restore");
    let dir = common::tempdir();
    let (wal, _) = Wal::open(small(dir.path(), IoEngine::Uring).s3(s3.clone())).unwrap();
    assert_eq!(wal.backend_type().as_str(), "aws_s3");
    let mut cps = Vec::new();
    for i in 0..700u64 {
        wal.append(&payload(i, 1000)).unwrap();
        if i == 250 || i == 500 {
            cps.push(wal.create_checkpoint().unwrap());
        }
    }
    cps.push(wal.create_checkpoint().unwrap()); // seals the tail: everything gets archived
    let st = wal.wait_archived(Duration::from_secs(60)).unwrap();
    let sealed = wal.segments().len() as u64 - 1;
    assert_eq!(st.uploaded_segments, sealed, "{st:?}");
    assert_eq!(st.pending, 0);
    assert!(st.last_error.is_none(), "{st:?}");
    let original = replay_all(&wal, ReplayOptions::all());
    assert_eq!(original.len(), 700);
    let from_cp = ReplayOptions::all().range(ReplayRange::FromCheckpoint(cps[1]));
    let original_from_cp = replay_all(&wal, from_cp);
    wal.close().unwrap();

    // Another machine: an empty directory.
    let other = common::tempdir();
    let target = other.path().join("restored");
    let report = archive::restore(&s3, &target).unwrap();
    assert_eq!(report.restored.len() as u64, sealed, "{report:?}");
    assert_eq!((report.first_lsn.0, report.last_lsn.0), (1, 700));
    let (ro, _) = Wal::open_read_only(small(&target, IoEngine::Uring)).unwrap();
    assert_eq!(replay_all(&ro, ReplayOptions::all()), original);
    assert_eq!(ro.checkpoints(), cps);
    assert_eq!(replay_all(&ro, from_cp), original_from_cp);
    drop(ro);

    // Run again (as after an interrupted restore): everything is already there, verified.
    let again = archive::restore(&s3, &target).unwrap();
    assert!(again.restored.is_empty());
    assert_eq!(again.already_present.len() as u64, sealed);

    // The restored WAL continues the log and the archive on the same prefix.
    let (w2, report) = Wal::open(small(&target, IoEngine::Sync).s3(s3.clone())).unwrap();
    assert!(report.truncation.is_none(), "{report:?}");
    assert_eq!(w2.last_index(), 700);
    assert_eq!(w2.append(b"after restore").unwrap(), 701);
    w2.create_checkpoint().unwrap();
    let st = w2.wait_archived(Duration::from_secs(60)).unwrap();
    assert_eq!(st.uploaded_segments, sealed + 1, "{st:?}");
    w2.close().unwrap();

    // And a third machine sees all of it, read-only, straight from S3.
    let remote = Wal::open_archive(s3).unwrap();
    assert_eq!(remote.last_index(), 701);
    let all = replay_all(&remote, ReplayOptions::all());
    assert_eq!(&all[..700], &original[..]);
    assert_eq!(all[700].data, b"after restore");
}
