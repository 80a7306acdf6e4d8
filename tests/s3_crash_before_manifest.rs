//! S3 archive tier: a crash between the upload of segments and the manifest
//! write that would list them. The objects are in S3 but not listed, so nothing
//! is deleted locally; after a restart the archiver's create-only PUT finds
//! each object already there, reads it back, checks it is byte for byte the
//! local segment, lists it, and goes on. Objects are not uploaded twice.
#![cfg(all(feature = "s3", feature = "test-seams"))]

use crate::common;
use crate::s3_support;

use common::{payload, replay_all, small};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use std::time::Duration;
use xwal::archive::LocalRetention;
use xwal::{IoEngine, ReplayOptions, Wal};

#[test]
fn crash_between_upload_and_manifest_recovers_on_restart() {
    let Some(env) = s3_support::env() else { return };
    let dir = common::tempdir();
    let cfg = small(dir.path(), IoEngine::Uring);
    // Segments sealed before the archive starts, so that they are uploaded in one go.
    {
        let (wal, _) = Wal::open(cfg.clone()).unwrap();
        common::append_n(&wal, 1..=800, 1000);
        wal.create_checkpoint().unwrap();
        wal.close().unwrap();
    }
    let s3 = env
        .config("crash-before-manifest")
        .retention(LocalRetention::KeepNewest(0));
    let store = env.store();
    let prefix = s3.prefix.clone();

    // The "crash": the archiver uploads, then stops before the manifest.
    let seams = xwal::seams::Seams {
        crash_before_manifest: true,
        ..Default::default()
    };
    let (wal, _) = Wal::open_with(cfg.clone().s3(s3.clone()), seams).unwrap();
    let sealed: Vec<u64> = {
        let s = wal.segments();
        s[..s.len() - 1].iter().map(|m| m.segment.0).collect()
    };
    assert!(sealed.len() >= 3, "{sealed:?}");
    s3_support::wait_until(30, "the segment objects", || {
        s3_support::list(&store, &prefix).len() == sealed.len()
    });
    std::thread::sleep(Duration::from_millis(200));
    let st = wal.archive_status().unwrap();
    assert_eq!(st.uploaded_segments, 0, "nothing is listed: {st:?}");
    assert!(s3_support::get(&store, &s3_support::manifest_key(&s3)).is_none());
    // Uploaded but unlisted: still on local disk, whatever the retention says.
    assert!(s3_support::local_segments(dir.path()).starts_with(&sealed));
    wal.close().unwrap();
    let modified = |n: u64| {
        s3_support::block_on(store.head(&Path::from(s3_support::segment_key(&s3, n))))
            .unwrap()
            .last_modified
    };
    let first_upload: Vec<_> = sealed.iter().map(|n| modified(*n)).collect();

    // Restart: already-uploaded objects are verified and listed, not uploaded again.
    std::thread::sleep(Duration::from_millis(1100)); // a re-upload would change last_modified
    let (wal, _) = Wal::open(cfg.clone().s3(s3.clone())).unwrap();
    let st = wal.wait_archived(Duration::from_secs(60)).unwrap();
    assert_eq!(st.uploaded_segments, sealed.len() as u64, "{st:?}");
    assert!(st.last_error.is_none(), "{st:?}");
    let again: Vec<_> = sealed.iter().map(|n| modified(*n)).collect();
    assert_eq!(again, first_upload, "objects were uploaded a second time");
    s3_support::wait_until(30, "retention once listed", || {
        s3_support::local_segments(dir.path())[0] > *sealed.last().unwrap()
    });
    let all = replay_all(&wal, ReplayOptions::all());
    assert_eq!(all.len(), 800);
    assert!(all.iter().all(|e| e.data == payload(e.lsn.0, 1000)));
    wal.close().unwrap();
}
