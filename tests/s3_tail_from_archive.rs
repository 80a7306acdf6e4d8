//! A live tail on an `aws_s3` WAL whose early segments exist only in S3: it
//! reads them from the archive, then the local ones, then follows new
//! entries as they become durable.
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::{payload, replay_all, small};
use std::time::Duration;
use xwal::archive::LocalRetention;
use xwal::{IoEngine, ReplayOptions, Wal};

#[test]
fn a_tail_reads_archived_segments_then_follows_the_writer() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env.config("tail-from-archive");
    let dir = common::tempdir();
    let cfg = small(dir.path(), IoEngine::Uring);
    let s3 = s3.retention(LocalRetention::KeepNewest(1));
    let (wal, _) = Wal::open(cfg.clone().s3(s3.clone())).unwrap();
    for i in 1..=600u64 {
        wal.append(&payload(i, 1500 + (i as usize % 900))).unwrap();
    }
    let segs = wal.segments();
    assert!(segs.len() >= 4, "{segs:?}");
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    s3_support::wait_until(30, "retention to delete archived segments", || {
        wal.archive_status().unwrap().local_deleted >= segs.len() as u64 - 2
    });
    assert!(
        !s3_support::local_segments(dir.path()).contains(&segs[0].segment.0),
        "the first segment is only in S3"
    );
    let reference = replay_all(&wal, ReplayOptions::all());
    let mut tail = wal.tail(xwal::Lsn(1)).unwrap();
    let mut got = Vec::new();
    while got.len() < reference.len() {
        let b = tail.next_batch().unwrap();
        got.extend(b.iter().map(|(lsn, data)| (lsn, data.to_vec())));
    }
    for i in 601..=650u64 {
        wal.append(&payload(i, 100)).unwrap();
    }
    while got.len() < 650 {
        let b = tail.next_batch().unwrap();
        got.extend(b.iter().map(|(lsn, data)| (lsn, data.to_vec())));
    }
    assert_eq!(got.len(), 650);
    for (i, (lsn, data)) in got.iter().enumerate() {
        let i = i as u64 + 1;
        let len = if i <= 600 {
            1500 + (i as usize % 900)
        } else {
            100
        };
        assert_eq!((lsn.0, data), (i, &payload(i, len)));
    }
    wal.close().unwrap();
}
