//! S3 archive tier: a read-only view beside a live writer whose retention
//! deletes local segments under it reads those segments from the archive:
//! the view's replay is whole, never "segment not found".
#![cfg(feature = "s3")]

mod common;
mod s3_support;

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
        !s3_support::local_segments(dir.path()).contains(&first_local)
    });
    for _ in 0..3 {
        let got = replay_all(&view, ReplayOptions::all());
        assert_eq!(lsns(&got), (1..=seen).collect::<Vec<_>>());
        assert!(got.iter().all(|e| e.data == payload(e.lsn, 1000)));
    }
    wal.close().unwrap();
}
