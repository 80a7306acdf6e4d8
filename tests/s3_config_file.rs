//! The `[s3]` table of a config file (feature `s3`): every key, and messages
//! that say what to change. Needs no S3 server.
#![cfg(all(feature = "s3", feature = "config-file"))]
use std::time::Duration;
use xwal::archive::{BacklogFull, LocalRetention, S3Credentials};
use xwal::{BackendType, Config};

fn err(text: &str) -> String {
    Config::from_toml_str(text).unwrap_err().to_string()
}

#[test]
fn every_s3_key() {
    let c = Config::from_toml_str(
        r#"
        dir = "/var/lib/app/wal"
        [s3]
        bucket = "orders-wal"
        prefix = "prod/orders"
        region = "eu-west-1"
        endpoint = "http://127.0.0.1:9000"
        path_style = true
        profile = "wal-writer"
        connect_timeout = "2s"
        request_timeout = "30s"
        max_backoff = "10s"
        poll_interval = "50ms"
        max_backlog = 8
        backlog_full = "slow_appends"
        slow_appends_max_wait = "20ms"
        keep_newest = 3
        fetch_dir = "/var/tmp/xwal-fetch"
        "#,
    )
    .unwrap();
    assert_eq!(c.backend, BackendType::AwsS3);
    let s3 = c.s3.expect("[s3] sets Config::s3");
    assert_eq!(s3.bucket, "orders-wal");
    assert_eq!(s3.prefix, "prod/orders");
    assert_eq!(s3.region, "eu-west-1");
    assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    assert!(s3.path_style);
    assert!(matches!(s3.credentials, S3Credentials::Profile(ref p) if p == "wal-writer"));
    assert_eq!(s3.connect_timeout, Duration::from_secs(2));
    assert_eq!(s3.request_timeout, Duration::from_secs(30));
    assert_eq!(s3.max_backoff, Duration::from_secs(10));
    assert_eq!(s3.poll_interval, Duration::from_millis(50));
    assert_eq!(s3.max_backlog, 8);
    assert_eq!(
        s3.backlog_full,
        BacklogFull::SlowAppends {
            max_wait: Duration::from_millis(20)
        }
    );
    assert_eq!(s3.retention, LocalRetention::KeepNewest(3));
    assert_eq!(
        s3.fetch_dir.as_deref(),
        Some(std::path::Path::new("/var/tmp/xwal-fetch"))
    );
}

#[test]
fn defaults_of_a_minimal_table() {
    let c = Config::from_toml_str("[s3]\nbucket = \"orders-wal\"\n").unwrap();
    let s3 = c.s3.unwrap();
    assert!(matches!(s3.credentials, S3Credentials::Environment));
    assert_eq!(s3.retention, LocalRetention::KeepAll);
    assert_eq!(s3.backlog_full, BacklogFull::KeepLocalAndWarn);
    assert_eq!(c.backend, BackendType::AwsS3);
    assert!(Config::from_toml_str("").unwrap().s3.is_none());
}

#[test]
fn messages_say_what_to_change() {
    assert!(err("[s3]\nregion = \"us-east-1\"").contains("bucket = "));
    assert!(err("[s3]\nbucket = \"B_AD\"").contains("not a valid bucket name"));
    assert!(err("[s3]\nbucket = \"ok-b\"\nnonsense = 1").contains("the keys of [s3] are"));
    assert!(
        err("[s3]\nbucket = \"ok-b\"\nsecret_access_key = \"x\"")
            .contains("never read from a config file")
    );
    assert!(err("[s3]\nbucket = \"ok-b\"\nendpoint = \"127.0.0.1:9000\"").contains("http://"));
    assert!(
        err("[s3]\nbucket = \"ok-b\"\nbacklog_full = \"slow_appends\"")
            .contains("slow_appends_max_wait")
    );
    assert!(
        err("[s3]\nbucket = \"ok-b\"\nslow_appends_max_wait = \"5ms\"").contains("backlog_full")
    );
    assert!(err("[s3]\nbucket = \"ok-b\"\nbacklog_full = \"drop\"").contains("keep_local"));
    assert!(err("[s3]\nbucket = \"ok-b\"\npath_style = \"yes\"").contains("true or false"));
    assert!(err("s3 = 1").contains("expected a table"));
    assert!(err("backend = \"local_filesystem\"\n[s3]\nbucket = \"ok-b\"").contains("remove one"));
}
