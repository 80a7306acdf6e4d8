//! S3 archive tier: `purge_through` and `consume` on an aws_s3 WAL release
//! segments: replay stops showing them at once, but a segment that is not yet
//! archived keeps its local file until its upload is confirmed (S3 down here: a
//! closed port). Once the archive catches up, the released files go, the local
//! replay still leaves them out, and the archive keeps the whole history.
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::{lsns, replay_all, small};
use std::time::Duration;
use xwal::{IoEngine, ReplayOptions, Wal};

#[test]
fn released_segments_are_deleted_only_once_archived() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env.config("release");
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = s3
        .clone()
        .endpoint(format!("http://{}", l.local_addr().unwrap()));
    drop(l);
    let dir = common::tempdir();
    let cfg = small(dir.path(), IoEngine::Uring);

    let (wal, _) = Wal::open(cfg.clone().s3(down)).unwrap();
    common::append_n(&wal, 1..=1000, 1000);
    let segs: Vec<u64> = wal.segments().iter().map(|s| s.segment.0).collect();
    assert!(segs.len() >= 5, "{segs:?}");
    // Release the first two segments, then consume the rest of what is sealed.
    let released = wal.purge_through(xwal::SegmentId(segs[1])).unwrap();
    assert_eq!(released, segs[..2].to_vec());
    let first_left = replay_all(&wal, ReplayOptions::all())[0].lsn;
    assert!(first_left > 1);
    let r = wal.replay(ReplayOptions::all().consume(true)).unwrap();
    let consumed_entries: Vec<_> = r.receiver().iter().collect();
    let summary = r.finish().unwrap();
    assert_eq!(consumed_entries[0].lsn, first_left);
    assert!(!summary.consumed.is_empty());
    // Nothing visible any more, nothing deleted: S3 has none of it.
    assert!(replay_all(&wal, ReplayOptions::all()).is_empty());
    let local = s3_support::local_segments(dir.path());
    for s in &segs {
        assert!(
            local.contains(s),
            "segment {s} deleted before it was archived"
        );
    }
    let after = wal.append(b"after release").unwrap();
    wal.close().unwrap();

    // S3 reachable: everything is archived, then the released files go.
    let (wal, _) = Wal::open(cfg.clone().s3(s3.clone())).unwrap();
    wal.create_checkpoint().unwrap();
    let st = wal.wait_archived(Duration::from_secs(60)).unwrap();
    assert!(st.last_error.is_none(), "{st:?}");
    s3_support::wait_until(30, "the released files to go", || {
        let local = s3_support::local_segments(dir.path());
        segs[..segs.len() - 1].iter().all(|s| !local.contains(s))
    });
    assert_eq!(lsns(&replay_all(&wal, ReplayOptions::all())), vec![after]);
    wal.close().unwrap();

    // The archive keeps the whole history.
    let remote = Wal::open_archive(s3).unwrap();
    let all = replay_all(&remote, ReplayOptions::all());
    assert_eq!(lsns(&all), (1..=after.0).collect::<Vec<_>>());
}
