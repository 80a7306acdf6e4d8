//! S3 archive tier: the S3 server stops answering in the middle of a run
//! (SIGSTOP on a moto_server of this test's own). Appends keep their latency,
//! nothing unarchived is deleted, a replay that needs S3 fails loudly instead
//! of returning less, close and reopen do not wait for S3, and once the server
//! is back (SIGCONT) the archiver catches up and the whole log replays.
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::{payload, replay_all, small};
use std::time::{Duration, Instant};
use xwal::archive::LocalRetention;
use xwal::{ArchiveErrorKind, Error, IoEngine, ReplayOptions, ReplayRange, Wal};

#[test]
fn server_stopped_mid_run_loses_nothing_and_blocks_no_append() {
    if s3_support::env().is_none() {
        return; // (the venv with moto comes from scripts/test.sh)
    }
    let server = s3_support::OwnServer::start();
    let s3 = server
        .env
        .config("server-stopped")
        .retention(LocalRetention::KeepNewest(0))
        .timeouts(Duration::from_millis(500), Duration::from_secs(1));
    let dir = common::tempdir();
    let cfg = small(dir.path(), IoEngine::Uring).s3(s3.clone());
    let (wal, _) = Wal::open(cfg.clone()).unwrap();

    // Server up: archived, then deleted locally.
    let mut n = 0u64;
    while n < 300 {
        n += 1;
        wal.append(&payload(n, 1000)).unwrap();
    }
    wal.create_checkpoint().unwrap();
    let archived = wal.wait_archived(Duration::from_secs(30)).unwrap();
    assert!(archived.uploaded_segments >= 2, "{archived:?}");
    let last_archived = archived.last_archived.unwrap();
    s3_support::wait_until(10, "retention of the archived segments", || {
        s3_support::local_segments(dir.path())[0] > last_archived
    });

    // Server stopped: appends go on at local speed.
    server.pause();
    let before_outage = s3_support::local_segments(dir.path())[0];
    let mut worst = Duration::ZERO;
    while n < 1500 {
        n += 1;
        let t = Instant::now();
        wal.append(&payload(n, 1000)).unwrap();
        worst = worst.max(t.elapsed());
    }
    wal.create_checkpoint().unwrap();
    assert!(
        worst < Duration::from_secs(1),
        "an append took {worst:?} while S3 was down"
    );
    s3_support::wait_until(30, "the archiver to report the outage", || {
        let st = wal.archive_status().unwrap();
        matches!(
            st.last_error,
            Some(Error::Archive {
                kind: ArchiveErrorKind::Unreachable,
                ..
            })
        ) && st.pending >= 4
    });
    let st = wal.archive_status().unwrap();
    assert!(st.errors >= 1);
    // Nothing unarchived was deleted: every segment since the outage is local.
    let local = s3_support::local_segments(dir.path());
    let sealed: Vec<u64> = wal.segments().iter().map(|s| s.segment.0).collect();
    for s in sealed.iter().filter(|s| **s >= before_outage) {
        assert!(
            local.contains(s),
            "segment {s} was deleted before it was archived"
        );
    }
    // Local data replays; a replay that needs the archived part fails, never returns less.
    let recent = replay_all(
        &wal,
        ReplayOptions::all().range(ReplayRange::Lsns {
            from: xwal::Lsn(1400),
            to: xwal::Lsn(1500),
        }),
    );
    assert_eq!(recent.len(), 101);
    let r = wal.replay(ReplayOptions::all()).unwrap();
    let partial: Vec<_> = r.receiver().iter().collect();
    let err = r.finish().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Archive {
                kind: ArchiveErrorKind::Unreachable,
                ..
            }
        ),
        "{err}"
    );
    assert!(partial.is_empty());

    // Close and reopen during the outage: neither waits for S3.
    let t = Instant::now();
    wal.close().unwrap();
    let (wal, _) = Wal::open(cfg.clone()).unwrap();
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    while n < 1700 {
        n += 1;
        wal.append(&payload(n, 1000)).unwrap();
    }
    wal.create_checkpoint().unwrap();

    // Server back: the archiver catches up, retention follows, the whole log replays.
    server.resume();
    let st = wal.wait_archived(Duration::from_secs(60)).unwrap();
    assert!(st.last_error.is_none(), "{st:?}");
    s3_support::wait_until(30, "retention after the catch-up", || {
        s3_support::local_segments(dir.path()).len() <= 2
    });
    let all = replay_all(&wal, ReplayOptions::all());
    assert_eq!(all.len() as u64, n);
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.lsn, i as u64 + 1);
        assert_eq!(e.data, payload(e.lsn.0, 1000));
    }
    wal.close().unwrap();
}
