//! S3 archive tier: with `archive.state` removed (or lost with a disk), a
//! replay of a directory whose local history starts after LSN 1 reads the
//! archived segments before it from the manifest, instead of returning less.
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::{lsns, replay_all, small};
use std::time::Duration;
use xwal::archive::LocalRetention;
use xwal::{IoEngine, ReplayOptions, Wal};

#[test]
fn replay_reads_the_archive_when_archive_state_is_gone() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env
        .config("lost-state")
        .retention(LocalRetention::KeepNewest(1));
    let dir = common::tempdir();
    let cfg = small(dir.path(), IoEngine::Uring).s3(s3);
    let (wal, _) = Wal::open(cfg.clone()).unwrap();
    common::append_n(&wal, 1..=1200, 1000);
    wal.create_checkpoint().unwrap();
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    s3_support::wait_until(30, "retention to delete the oldest segment", || {
        !s3_support::local_segments(dir.path()).contains(&0)
    });
    wal.close().unwrap();
    std::fs::remove_file(dir.path().join(xwal::archive::STATE_FILE)).unwrap();
    let (wal, _) = Wal::open(cfg).unwrap();
    let got = replay_all(&wal, ReplayOptions::all());
    assert_eq!(lsns(&got), (1..=1200).collect::<Vec<_>>());
}
