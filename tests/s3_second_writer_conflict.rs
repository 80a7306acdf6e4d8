//! S3 archive tier: two WALs on one bucket and prefix whose segment numbers
//! do not overlap. The manifest names its writer; the second WAL fails with
//! `Conflict` and uploads nothing, instead of both winning.
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::small;
use std::time::Duration;
use xwal::{ArchiveErrorKind, Error, IoEngine, Wal};

#[test]
fn a_second_writer_is_refused_whatever_its_numbers() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env.config("second-writer");
    let store = env.store();
    let key = s3_support::manifest_key(&s3);
    // WAL A archives segments from 0.
    let a = common::tempdir();
    let (wal, _) = Wal::open(small(a.path(), IoEngine::Uring).s3(s3.clone())).unwrap();
    common::append_n(&wal, 1..=600, 1000);
    wal.create_checkpoint().unwrap();
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    let listed = s3_support::get(&store, &key).unwrap();
    // WAL B: its early segments purged before it had an archive, so its
    // numbers start far above A's.
    let b = common::tempdir();
    let cfg_b = small(b.path(), IoEngine::Uring);
    {
        let (w, _) = Wal::open(cfg_b.clone()).unwrap();
        common::append_n(&w, 1..=4000, 1000);
        let segs = w.segments();
        w.purge_through(segs[segs.len() - 3].segment).unwrap();
        w.close().unwrap();
    }
    let (wal_b, _) = Wal::open(cfg_b.s3(s3.clone())).unwrap();
    assert!(wal_b.segments()[0].segment > 10, "{:?}", wal_b.segments());
    wal_b.create_checkpoint().unwrap();
    s3_support::wait_until(30, "the second writer to be refused", || {
        matches!(
            wal_b.archive_status().unwrap().last_error,
            Some(Error::Archive {
                kind: ArchiveErrorKind::Conflict,
                ..
            })
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        s3_support::get(&store, &key).unwrap(),
        listed,
        "B changed the manifest"
    );
    let objects = s3_support::list(&store, s3.prefix.trim_matches('/'));
    assert!(
        objects
            .iter()
            .all(|o| !o.contains(&format!("{:020}", wal_b.segments()[0].segment))),
        "B uploaded a segment: {objects:?}"
    );
    wal_b.close().unwrap();
    // A goes on as before.
    wal.append(b"more").unwrap();
    wal.create_checkpoint().unwrap();
    let st = wal.wait_archived(Duration::from_secs(60)).unwrap();
    assert!(st.last_error.is_none(), "{st:?}");
    wal.close().unwrap();
}
