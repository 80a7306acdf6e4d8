//! `xwal restore` (feature `s3`): rebuilds a directory from the archive, checks
//! every object and replays every record, prints the last LSN; credentials come
//! from the AWS environment. A missing bucket is one clear line and exit 1.
#![cfg(feature = "s3")]

use crate::common;
use common::s3_support;

use common::{replay_all, small};
use std::time::Duration;
use xwal::{IoEngine, ReplayOptions, Wal};

#[test]
fn xwal_restore_rebuilds_and_verifies() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env.config("cli-restore");
    let dir = common::tempdir();
    let (wal, _) = Wal::open(small(dir.path(), IoEngine::Uring).s3(s3.clone())).unwrap();
    common::append_n(&wal, 1..=500, 900);
    wal.create_checkpoint().unwrap();
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    let original = replay_all(&wal, ReplayOptions::all());
    wal.close().unwrap();

    let out_dir = common::tempdir();
    let target = out_dir.path().join("restored");
    let target_s = target.to_str().unwrap();
    let common_args = [
        "--prefix",
        s3.prefix.as_str(),
        "--endpoint",
        env.endpoint.as_str(),
        "--region",
        env.region.as_str(),
        "--path-style",
    ];
    let mut args = vec!["restore", target_s, "--bucket", env.bucket.as_str()];
    args.extend(common_args);
    let out = common::xwal_s3(&env, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "500");
    assert!(stderr.contains("verified: 500 entries"), "{stderr}");
    assert!(!stderr.contains(&env.secret_key));
    let (ro, _) = Wal::open_read_only(small(&target, IoEngine::Sync)).unwrap();
    assert_eq!(replay_all(&ro, ReplayOptions::all()), original);

    let mut args = vec!["restore", target_s, "--bucket", "xwal-no-such-bucket"];
    args.extend(common_args);
    let out = common::xwal_s3(&env, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("xwal: S3 archive: "), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
}
