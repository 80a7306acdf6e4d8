//! S3 archive tier: a power cut that loses the unsynced writes of the active
//! segment leaves an archived segment as the local tail, or (with
//! `KeepNewest(0)`) no local segment at all. Recovery takes its segment and
//! LSN floor from `archive.state` (written before each upload): the archived
//! segment is never appended to again, no LSN is handed out twice, and what
//! is archived stays equal to what is local. Simulated under `SyncPolicy::Never`
//! (the lost entries were never owed); under `Always` the same window exists
//! between the upload of N and the first sync of N+1.
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::{lsns, replay_all, small};
use std::time::Duration;
use xwal::archive::LocalRetention;
use xwal::{IoEngine, ReplayOptions, SyncPolicy, Wal};

/// The power cut: the active segment's file back to zeros, as if none of its
/// writes had reached the disk.
fn lose_active_segment(dir: &std::path::Path, active: u64) {
    let path = xwal::format::segment_path(dir, active, false);
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::write(&path, vec![0u8; len as usize]).unwrap();
}

/// Every LSN once, in order, equal on the archive and locally.
fn check_archive(s3: xwal::archive::S3Config, expect: &[u64]) {
    let remote = Wal::open_archive(s3).unwrap();
    let got = replay_all(&remote, ReplayOptions::all());
    assert_eq!(lsns(&got), expect);
}

#[test]
fn an_archived_segment_is_not_appended_to_after_its_successor_is_lost() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env.config("archived-tail");
    let dir = common::tempdir();
    let cfg = small(dir.path(), IoEngine::Uring)
        .sync(SyncPolicy::Never)
        .s3(s3.clone());
    let (wal, _) = Wal::open(cfg.clone()).unwrap();
    common::append_n(&wal, 1..=300, 1000);
    let segs = wal.segments();
    assert!(segs.len() >= 2, "{segs:?}");
    let sealed_last = segs.last().unwrap().first_lsn - 1;
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    let active = wal.active_segment().unwrap();
    wal.close().unwrap();
    lose_active_segment(dir.path(), active.0);

    let (wal, rep) = Wal::open(cfg.clone()).unwrap();
    assert_eq!(rep.last_lsn, sealed_last);
    let archived_tail = segs[segs.len() - 2].segment;
    let next = wal.append(b"after the cut").unwrap();
    assert_eq!(next, sealed_last + 1);
    assert!(
        wal.segments().last().unwrap().segment > archived_tail,
        "appended to archived segment {archived_tail}: {:?}",
        wal.segments()
    );
    wal.create_checkpoint().unwrap();
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    let local = lsns(&replay_all(&wal, ReplayOptions::all()));
    wal.close().unwrap();
    assert_eq!(local, (1..=next.0).collect::<Vec<_>>());
    check_archive(s3, &local);
}

#[test]
fn lsns_are_not_reused_when_every_sealed_segment_is_only_in_s3() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env
        .config("archived-floor")
        .retention(LocalRetention::KeepNewest(0));
    let dir = common::tempdir();
    let cfg = small(dir.path(), IoEngine::Uring)
        .sync(SyncPolicy::Never)
        .s3(s3.clone());
    let (wal, _) = Wal::open(cfg.clone()).unwrap();
    common::append_n(&wal, 1..=600, 1000);
    let sealed: Vec<u64> = {
        let s = wal.segments();
        s[..s.len() - 1].iter().map(|m| m.segment.0).collect()
    };
    let sealed_last = wal.segments().last().unwrap().first_lsn - 1;
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    s3_support::wait_until(30, "retention to delete the sealed segments", || {
        let local = s3_support::local_segments(dir.path());
        sealed.iter().all(|s| !local.contains(s))
    });
    let active = wal.active_segment().unwrap();
    wal.close().unwrap();
    lose_active_segment(dir.path(), active.0);

    // Nothing is left locally (the report says so); the archive's floor holds.
    let (wal, rep) = Wal::open(cfg.clone()).unwrap();
    assert_eq!(rep.segments, 0, "{rep:?}");
    assert_eq!(wal.last_index(), sealed_last);
    let next = wal.append(b"after the cut").unwrap();
    assert_eq!(next, sealed_last + 1, "an LSN was handed out twice");
    wal.create_checkpoint().unwrap();
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    let local = lsns(&replay_all(&wal, ReplayOptions::all()));
    wal.close().unwrap();
    assert_eq!(local, (1..=next.0).collect::<Vec<_>>());
    check_archive(s3, &local);
}
