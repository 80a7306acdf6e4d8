//! S3 archive tier: when S3 refuses connections (a closed port on 127.0.0.1)
//! the backlog grows past `max_backlog` and the configured behaviour applies:
//! `KeepLocalAndWarn` keeps every segment and never slows an append;
//! `SlowAppends` delays each append by up to `max_wait` while it is full. Both
//! report the backlog (`pending`, `backlog_full`) and the error. Needs no
//! S3 server, so it runs whenever the `s3` feature is on.
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::{payload, small};
use std::time::{Duration, Instant};
use xwal::archive::{BacklogFull, LocalRetention, S3Config, S3Credentials};
use xwal::{ArchiveErrorKind, Error, IoEngine, Wal};

/// An endpoint where nothing listens.
fn refused_endpoint() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

fn config(when_full: BacklogFull) -> S3Config {
    S3Config::new("xwal-test")
        .endpoint(refused_endpoint())
        .path_style(true)
        .credentials(S3Credentials::static_keys("AKIAEXAMPLE", "secret"))
        .timeouts(Duration::from_millis(200), Duration::from_millis(500))
        .max_backoff(Duration::from_millis(200))
        .poll_interval(Duration::from_millis(20))
        .retention(LocalRetention::KeepNewest(0))
        .backlog(2, when_full)
}

/// Appends until at least `segments` segments are sealed; returns the slowest append.
fn fill(wal: &Wal, segments: usize, from: &mut u64) -> Duration {
    let mut worst = Duration::ZERO;
    while wal.segments().len() <= segments {
        *from += 1;
        let t = Instant::now();
        wal.append(&payload(*from, 2000)).unwrap();
        worst = worst.max(t.elapsed());
    }
    worst
}

#[test]
fn keep_local_and_warn_never_slows_appends() {
    let dir = common::tempdir();
    let (wal, _) =
        Wal::open(small(dir.path(), IoEngine::Uring).s3(config(BacklogFull::KeepLocalAndWarn)))
            .unwrap();
    let mut n = 0;
    let worst = fill(&wal, 6, &mut n);
    s3_support::wait_until(10, "the backlog to be reported full", || {
        let st = wal.archive_status().unwrap();
        st.backlog_full && st.pending >= 5
    });
    let worst = worst.max(fill(&wal, 8, &mut n));
    // (an append waiting for S3 would wait for ever here: nothing ever gets archived)
    assert!(worst < Duration::from_secs(2), "slowest append {worst:?}");
    let st = wal.archive_status().unwrap();
    assert!(
        matches!(
            st.last_error,
            Some(Error::Archive {
                kind: ArchiveErrorKind::Unreachable,
                ..
            })
        ),
        "{st:?}"
    );
    // Nothing was archived, so nothing was deleted.
    let sealed = wal.segments().len() - 1;
    assert!(s3_support::local_segments(dir.path()).len() > sealed);
    assert_eq!(st.local_deleted, 0);
    wal.close().unwrap();
}

#[test]
fn slow_appends_delays_appends_while_the_backlog_is_full() {
    let dir = common::tempdir();
    let max_wait = Duration::from_millis(150);
    let (wal, _) = Wal::open(
        small(dir.path(), IoEngine::Uring).s3(config(BacklogFull::SlowAppends { max_wait })),
    )
    .unwrap();
    let mut n = 0;
    fill(&wal, 4, &mut n);
    s3_support::wait_until(10, "the backlog to be reported full", || {
        wal.archive_status().unwrap().backlog_full
    });
    let t = Instant::now();
    for _ in 0..3 {
        n += 1;
        wal.append(&payload(n, 100)).unwrap();
    }
    let took = t.elapsed();
    assert!(took >= max_wait * 3, "3 appends took {took:?}");
    assert!(took < Duration::from_secs(3), "3 appends took {took:?}");
    wal.close().unwrap();
}
