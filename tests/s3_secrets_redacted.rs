//! S3 archive tier: secrets (access key ID, secret key, session token) never
//! appear in `Debug` output of the settings, in error messages, in the archive
//! status, or in any log event or span field (xwal's, object_store's, reqwest's)
//! recorded while archiving, replaying and failing against a real server.
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::{replay_all, small};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata};
use xwal::archive::{LocalRetention, S3Credentials, Secret};
use xwal::{IoEngine, ReplayOptions, Wal};

static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records every event and span field, at every level, from every crate.
struct Capture;

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut s = format!("span {}", attrs.metadata().name());
        attrs.record(&mut Fields(&mut s));
        LOG.lock().unwrap().push(s);
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut s = String::from("record");
        values.record(&mut Fields(&mut s));
        LOG.lock().unwrap().push(s);
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let m = event.metadata();
        let mut s = format!("{} {}", m.level(), m.target());
        event.record(&mut Fields(&mut s));
        LOG.lock().unwrap().push(s);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

const WRONG_SECRET: &str = "WrongSecretKeyValue/0123456789+abcdefXYZ";
const TOKEN: &str = "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue0123";

fn check(text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "a secret leaked into: {text}");
    }
}

#[test]
fn secrets_never_appear_in_debug_errors_or_logs() {
    // Debug of the settings, without any server.
    let creds = S3Credentials::Static {
        access_key_id: Secret::new("AKIADEBUGONLY0000000"),
        secret_access_key: Secret::new(WRONG_SECRET),
        session_token: Some(Secret::new(TOKEN)),
    };
    let cfg =
        xwal::Config::new("/tmp/x").s3(xwal::archive::S3Config::new("bucket-x").credentials(creds));
    let debug = format!("{cfg:?} {cfg:#?}");
    check(&debug, &["AKIADEBUGONLY0000000", WRONG_SECRET, TOKEN]);
    assert!(debug.contains("<redacted>"));

    let Some(env) = s3_support::env() else { return };
    tracing::subscriber::set_global_default(Capture).unwrap();
    let secrets = [
        env.access_key.as_str(),
        env.secret_key.as_str(),
        WRONG_SECRET,
        TOKEN,
    ];

    // A working archive: uploads, manifest, retention, replay from S3.
    let good = env
        .config("secrets")
        .retention(LocalRetention::KeepNewest(0));
    let dir = common::tempdir();
    let (wal, _) = Wal::open(small(dir.path(), IoEngine::Uring).s3(good.clone())).unwrap();
    common::append_n(&wal, 1..=400, 1000);
    wal.create_checkpoint().unwrap();
    let st = wal.wait_archived(Duration::from_secs(60)).unwrap();
    check(&format!("{st:?}"), &secrets);
    s3_support::wait_until(30, "retention", || {
        wal.archive_status().unwrap().local_deleted > 0
    });
    assert_eq!(replay_all(&wal, ReplayOptions::all()).len(), 400);
    wal.close().unwrap();

    // Failing: a wrong secret with a session token, from a writer and a reader.
    let bad = good.clone().credentials(S3Credentials::Static {
        access_key_id: Secret::new(&env.access_key),
        secret_access_key: Secret::new(WRONG_SECRET),
        session_token: Some(Secret::new(TOKEN)),
    });
    let e = Wal::open_archive(bad.clone()).unwrap_err();
    check(&format!("{e} {e:?}"), &secrets);
    let e = xwal::archive::restore(&bad, &common::tempdir().path().join("r")).unwrap_err();
    check(&format!("{e} {e:?}"), &secrets);
    let w_dir = common::tempdir();
    let (w, _) = Wal::open(small(w_dir.path(), IoEngine::Uring).s3(bad)).unwrap();
    common::append_n(&w, 1..=400, 1000);
    w.create_checkpoint().unwrap();
    s3_support::wait_until(30, "an archive error", || {
        w.archive_status().unwrap().errors >= 2
    });
    let st = w.archive_status().unwrap();
    check(
        &format!("{st:?} {}", st.last_error.as_ref().unwrap()),
        &secrets,
    );
    let e = w.wait_archived(Duration::from_millis(100)).unwrap_err();
    check(&format!("{e} {e:?} {w:?}"), &secrets);
    w.close().unwrap();

    let log = LOG.lock().unwrap();
    let targets: std::collections::BTreeSet<&str> = log
        .iter()
        .filter_map(|l| l.split(' ').nth(1))
        .filter(|t| !t.is_empty())
        .collect();
    eprintln!("{} log lines checked, from {targets:?}", log.len());
    assert!(
        log.iter().any(|l| l.contains("archiving failed")),
        "the failures were logged: {} lines",
        log.len()
    );
    for line in log.iter() {
        check(line, &secrets);
    }
}
