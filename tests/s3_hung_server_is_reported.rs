//! S3 archive tier: a hung server (SIGSTOP) shows in `archive_status` within
//! the health bound (5 s), long before `request_timeout` (here 60 s) ends the
//! request: `last_error` says the server may be hung and the sealed segments
//! count as pending. Once it answers again, the archive catches up.
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::small;
use std::time::{Duration, Instant};
use xwal::{ArchiveErrorKind, Error, IoEngine, Wal};

#[test]
fn a_hung_server_is_reported_before_the_request_times_out() {
    if s3_support::env().is_none() {
        return;
    }
    let server = s3_support::OwnServer::start();
    let s3 = server
        .env
        .config("hung-server")
        .timeouts(Duration::from_secs(2), Duration::from_secs(60));
    let dir = common::tempdir();
    let (wal, _) = Wal::open(small(dir.path(), IoEngine::Uring).s3(s3)).unwrap();
    server.pause();
    let started = Instant::now();
    common::append_n(&wal, 1..=600, 1000);
    wal.create_checkpoint().unwrap();
    s3_support::wait_until(20, "the hung server to be reported", || {
        let st = wal.archive_status().unwrap();
        st.pending > 0
            && matches!(
                &st.last_error,
                Some(Error::Archive { kind: ArchiveErrorKind::Unreachable, message })
                    if message.contains("may be hung")
            )
    });
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    server.resume();
    let st = wal.wait_archived(Duration::from_secs(90)).unwrap();
    assert!(st.last_error.is_none(), "{st:?}");
    wal.close().unwrap();
}
