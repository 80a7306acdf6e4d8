//! `xwal checkpoint` with an `[s3]` table (feature `s3`): the command returns
//! only once every sealed segment, the new checkpoint included, is in S3, so a
//! `xwal restore` right after it gets everything. An unreachable S3 makes it
//! exit 1 after `--archive-wait`, saying the checkpoint was made.
#![cfg(feature = "s3")]

use crate::common;
use common::s3_support;

use common::{replay_all, small};
use xwal::{IoEngine, ReplayOptions, Wal};

fn config_toml(env: &s3_support::S3Env, prefix: &str, endpoint: &str) -> String {
    format!(
        "[s3]\nbucket = \"{}\"\nprefix = \"{prefix}\"\nregion = \"{}\"\nendpoint = \"{endpoint}\"\npath_style = true\nconnect_timeout = \"1s\"\nrequest_timeout = \"3s\"\n",
        env.bucket, env.region
    )
}

#[test]
fn checkpoint_waits_for_the_archive() {
    let Some(env) = s3_support::env() else { return };
    let prefix = s3_support::unique_prefix("cli-checkpoint");
    let dir = common::tempdir();
    // Written without S3: the archive starts with the command.
    let (wal, _) = Wal::open(small(dir.path(), IoEngine::Uring)).unwrap();
    common::append_n(&wal, 1..=300, 2000);
    let original = replay_all(&wal, ReplayOptions::all());
    wal.close().unwrap();

    let cfg_file = dir.path().join("xwal.toml");
    std::fs::write(&cfg_file, config_toml(&env, &prefix, &env.endpoint)).unwrap();
    let dir_s = dir.path().to_str().unwrap();
    let cfg_s = cfg_file.to_str().unwrap();
    let out = common::xwal_s3(&env, &["--config", cfg_s, "checkpoint", dir_s]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("archived: "), "{stderr}");

    let restored = common::tempdir();
    let target = restored.path().join("r");
    let out = common::xwal_s3(
        &env,
        &[
            "restore",
            target.to_str().unwrap(),
            "--bucket",
            env.bucket.as_str(),
            "--prefix",
            prefix.as_str(),
            "--endpoint",
            env.endpoint.as_str(),
            "--region",
            env.region.as_str(),
            "--path-style",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "300");
    let (ro, _) = Wal::open_read_only(small(&target, IoEngine::Sync)).unwrap();
    assert_eq!(replay_all(&ro, ReplayOptions::all()), original);

    // Nothing listens on this port: the checkpoint is made, the archive is not.
    let dead = "http://127.0.0.1:9";
    std::fs::write(&cfg_file, config_toml(&env, &prefix, dead)).unwrap();
    let out = common::xwal_s3(
        &env,
        &[
            "--config",
            cfg_s,
            "checkpoint",
            dir_s,
            "--archive-wait",
            "3",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("made, but archiving failed"), "{stderr}");
}
