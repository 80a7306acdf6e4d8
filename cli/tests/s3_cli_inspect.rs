//! `xwal inspect` with an `[s3]` table in the config file (feature `s3`): the
//! manifest is read from a real S3 server, each segment says where it is
//! (local, local+s3, s3 only), and the archive line or JSON object gives the
//! uploaded count and the backlog. An unreachable S3 is one clear line and exit 1,
//! after the local state has been printed.
#![cfg(feature = "s3")]

use crate::common;
use common::s3_support;

use common::{payload, small};
use std::time::Duration;
use xwal::archive::LocalRetention;
use xwal::{IoEngine, Wal};

fn config_toml(env: &s3_support::S3Env, prefix: &str, endpoint: &str) -> String {
    format!(
        "segment_size = \"256KiB\"\nmax_entry_size = \"64KiB\"\n\n[s3]\nbucket = \"{}\"\nprefix = \"{prefix}\"\nregion = \"{}\"\nendpoint = \"{endpoint}\"\npath_style = true\nconnect_timeout = \"1s\"\nrequest_timeout = \"3s\"\n",
        env.bucket, env.region
    )
}

#[test]
fn inspect_shows_the_archive_state() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env
        .config("cli-inspect")
        .retention(LocalRetention::KeepNewest(1));
    let dir = common::tempdir();
    let (wal, _) = Wal::open(small(dir.path(), IoEngine::Uring).s3(s3.clone())).unwrap();
    let mut lsn = 0;
    while wal.segments().len() < 5 {
        lsn += 1;
        wal.append(&payload(lsn, 3000)).unwrap();
    }
    wal.create_checkpoint().unwrap();
    let status = wal.wait_archived(Duration::from_secs(60)).unwrap();
    // Retention deletes the older archived segments locally (off the commit path).
    s3_support::wait_until(20, "retention to delete archived segments", || {
        wal.archive_status().unwrap().local_deleted >= 2
    });
    wal.close().unwrap();
    assert!(status.uploaded_segments >= 5, "{status:?}");

    let cfg_file = dir.path().join("xwal.toml");
    std::fs::write(&cfg_file, config_toml(&env, &s3.prefix, &env.endpoint)).unwrap();
    let base = [
        "--config".as_ref(),
        cfg_file.as_os_str(),
        "inspect".as_ref(),
        dir.path().as_os_str(),
    ];

    let out = common::xwal_s3(&env, &base);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let archive_line = stdout
        .lines()
        .find(|l| l.starts_with("archive:"))
        .unwrap_or_else(|| panic!("no archive line in:\n{stdout}"));
    assert!(archive_line.contains(&s3.prefix), "{archive_line}");
    assert!(
        archive_line.contains(&format!("{} segment(s)", status.uploaded_segments)),
        "{archive_line}"
    );
    assert!(
        archive_line.contains("0 sealed segment(s) waiting"),
        "{archive_line}"
    );
    let wheres: Vec<&str> = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    assert!(wheres.contains(&"s3"), "{stdout}");
    assert!(wheres.contains(&"local+s3"), "{stdout}");
    assert!(!stdout.contains(&env.secret_key));

    let mut json_args = base.to_vec();
    json_args.push("--json".as_ref());
    let out = common::xwal_s3(&env, &json_args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["archive"]["uploaded_segments"], status.uploaded_segments);
    assert_eq!(v["archive"]["pending"], 0);
    assert_eq!(v["backend"], "aws_s3");
    let segs = v["segments"].as_array().unwrap();
    let remote_only = segs.iter().filter(|s| s["location"] == "s3").count();
    assert!(remote_only >= 2, "{v}");
    assert!(segs.iter().all(|s| s["location"] != "gone"), "{v}");

    // S3 unreachable: the local state is printed, then one line and exit 1.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://127.0.0.1:{}", l.local_addr().unwrap().port());
    drop(l);
    std::fs::write(&cfg_file, config_toml(&env, &s3.prefix, &dead)).unwrap();
    let out = common::xwal_s3(&env, &base);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("S3 archive could not be read"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("archive:      unreadable"));
}
