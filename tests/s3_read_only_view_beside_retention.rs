//! S3 archive tier: a read-only view beside a live writer whose retention
//! deletes local segments under it reads those segments from the archive:
//! the view's replay is whole, never "segment not found".
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::{lsns, payload, replay_all, small};
use std::time::Duration;
use xwal::archive::LocalRetention;
use xwal::{IoEngine, ReplayOptions, Wal};

#[test]
fn a_view_reads_from_s3_what_retention_deleted_under_it() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env
        .config("view-retention")
        .retention(LocalRetention::KeepNewest(2));
    let dir = common::tempdir();
    let cfg = small(dir.path(), IoEngine::Uring).s3(s3);
    let (wal, _) = Wal::open(cfg.clone()).unwrap();
    common::append_n(&wal, 1..=600, 1000);
    let (view, _) = Wal::open_read_only(cfg.clone()).unwrap();
    let seen = view.last_index();
    let first_local = view.segments()[0].segment;
    common::append_n(&wal, 601..=1500, 1000);
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    s3_support::wait_until(30, "retention to delete the view's first segment", || {
        !s3_support::local_segments(dir.path()).contains(&first_local.0)
    });
    for _ in 0..3 {
        let got = replay_all(&view, ReplayOptions::all());
        assert_eq!(lsns(&got), (1..=seen.0).collect::<Vec<_>>());
        assert!(got.iter().all(|e| e.data == payload(e.lsn.0, 1000)));
    }
    wal.close().unwrap();
}

/// The view read the manifest (for the segments only S3 holds) while the
/// writer's active segment was not archived yet; that segment, listed
/// locally when the view opened, is archived and deleted afterwards. The
/// view finds it in a newer manifest than the one it read.
#[test]
fn a_view_reads_a_segment_archived_after_it_read_the_manifest() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env
        .config("view-stale-manifest")
        .retention(LocalRetention::KeepNewest(2));
    let dir = common::tempdir();
    let cfg = small(dir.path(), IoEngine::Sync).s3(s3);
    let (wal, _) = Wal::open(cfg.clone()).unwrap();
    common::append_n(&wal, 1..=1500, 1000);
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    let first = wal.segments()[0].segment;
    s3_support::wait_until(30, "retention to delete the first segment", || {
        !s3_support::local_segments(dir.path()).contains(&first.0)
    });
    let (view, _) = Wal::open_read_only(cfg.clone()).unwrap();
    let seen = view.last_index();
    let active = view.segments().last().unwrap().segment;
    // Reads the manifest now: it cannot list the active segment.
    let got = replay_all(&view, ReplayOptions::all());
    assert_eq!(lsns(&got), (1..=seen.0).collect::<Vec<_>>());
    common::append_n(&wal, 1501..=3000, 1000);
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    s3_support::wait_until(30, "retention to delete the view's last segment", || {
        !s3_support::local_segments(dir.path()).contains(&active.0)
    });
    let got = replay_all(&view, ReplayOptions::all());
    assert_eq!(lsns(&got), (1..=seen.0).collect::<Vec<_>>());
    assert!(got.iter().all(|e| e.data == payload(e.lsn.0, 1000)));
    wal.close().unwrap();
}
