//! S3 archive tier: wrong credentials (a wrong secret, or an access key the
//! server does not know) give `ArchiveErrorKind::AccessDenied` with a message
//! that says to check the credentials, from `open_archive` and `restore` at
//! once, and from `archive_status` / `wait_archived` of a writer, whose appends
//! go on and whose unarchived segments stay on disk. The secret never shows.
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::small;
use std::time::Duration;
use xwal::archive::{LocalRetention, S3Credentials};
use xwal::{ArchiveErrorKind, Error, IoEngine, Wal};

const WRONG_SECRET: &str = "wrong-secret-0123456789abcdef";

fn assert_access_denied(e: &Error) {
    eprintln!("{e}");
    match e {
        Error::Archive {
            kind: ArchiveErrorKind::AccessDenied,
            message,
        } => {
            assert!(message.contains("access denied"), "{message}");
            assert!(message.contains("credentials"), "{message}");
        }
        other => panic!("expected AccessDenied, got {other}"),
    }
    let text = format!("{e} {e:?}");
    assert!(!text.contains(WRONG_SECRET), "{text}");
}

#[test]
fn wrong_credentials_give_a_clear_error() {
    let Some(env) = s3_support::env() else { return };
    // A real archive first, with the right keys.
    let good = env.config("wrong-credentials");
    let dir = common::tempdir();
    let (wal, _) = Wal::open(small(dir.path(), IoEngine::Uring).s3(good.clone())).unwrap();
    common::append_n(&wal, 1..=300, 1000);
    wal.create_checkpoint().unwrap();
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    wal.close().unwrap();

    let wrong_secret = good
        .clone()
        .credentials(S3Credentials::static_keys(&env.access_key, WRONG_SECRET));
    let unknown_key = good.clone().credentials(S3Credentials::static_keys(
        "AKIAUNKNOWNKEY000000",
        WRONG_SECRET,
    ));
    for bad in [&wrong_secret, &unknown_key] {
        assert_access_denied(&Wal::open_archive(bad.clone()).unwrap_err());
        let target = common::tempdir();
        assert_access_denied(&xwal::archive::restore(bad, &target.path().join("r")).unwrap_err());
    }

    // A writer with a wrong secret: appends work, the status says why nothing is archived.
    let w_dir = common::tempdir();
    let cfg = small(w_dir.path(), IoEngine::Uring)
        .s3(wrong_secret.retention(LocalRetention::KeepNewest(0)));
    let (w, _) = Wal::open(cfg).unwrap();
    common::append_n(&w, 1..=600, 1000);
    w.create_checkpoint().unwrap();
    s3_support::wait_until(30, "the archiver to report access denied", || {
        matches!(
            w.archive_status().unwrap().last_error,
            Some(Error::Archive {
                kind: ArchiveErrorKind::AccessDenied,
                ..
            })
        )
    });
    assert_access_denied(&w.wait_archived(Duration::from_millis(200)).unwrap_err());
    let st = w.archive_status().unwrap();
    assert_access_denied(st.last_error.as_ref().unwrap());
    assert!(!format!("{st:?}").contains(WRONG_SECRET));
    let sealed = w.segments().len() - 1;
    assert!(s3_support::local_segments(w_dir.path()).len() > sealed);
    w.close().unwrap();
}
