//! Invalid configurations are refused with `Error::Config` whose message names
//! the field; `Wal::open` refuses them before touching the disk; a path that is
//! a regular file is refused clearly.
use crate::common;
use common::*;
use std::time::Duration;
use xwal::*;

fn cases() -> Vec<(&'static str, &'static str, Config)> {
    let base = || Config::new("/nonexistent/xwal-config-test");
    let mut chunk = base();
    chunk.replay_chunk_size = 1000;
    let mut ahead = base();
    ahead.replay_read_ahead = 0;
    vec![
        (
            "segment too small for max entry",
            "segment_size",
            base().segment_size(1 << 20).max_entry_size(64 << 20),
        ),
        (
            "segment too small for max entry (names both)",
            "max_entry_size",
            base().segment_size(1 << 20).max_entry_size(64 << 20),
        ),
        (
            "segment not a block multiple",
            "segment_size",
            base().segment_size(5000),
        ),
        ("segment zero", "segment_size", base().segment_size(0)),
        ("max entry zero", "max_entry_size", base().max_entry_size(0)),
        (
            "max entry above 1 GiB",
            "max_entry_size",
            base().max_entry_size(2 << 30),
        ),
        ("zero queue depth", "queue_depth", base().queue_depth(0)),
        (
            "zero batch entries",
            "max_batch_entries",
            base().max_batch_entries(0),
        ),
        (
            "tiny batch bytes",
            "max_batch_bytes",
            base().max_batch_bytes(100),
        ),
        (
            "long commit delay",
            "commit_delay",
            base().commit_delay(Duration::from_secs(5)),
        ),
        (
            "zero sync interval",
            "Interval",
            base().sync(SyncPolicy::Interval(Duration::ZERO)),
        ),
        (
            "dir limit below two segments",
            "max_dir_bytes",
            base().max_dir_bytes(Some(128 << 20)),
        ),
        (
            "zero replay channel",
            "replay_channel_capacity",
            base().replay_channel_capacity(0),
        ),
        ("unaligned replay chunk", "replay_chunk_size", chunk),
        ("zero read-ahead", "replay_read_ahead", ahead),
        ("empty dir", "dir", Config::new("")),
    ]
}

#[test]
fn each_invalid_field_is_named() {
    for (what, field, cfg) in cases() {
        match cfg.validate() {
            Err(Error::Config(msg)) => assert!(
                msg.contains(field),
                "{what}: message does not name {field}: {msg}"
            ),
            other => panic!("{what}: expected Error::Config, got {other:?}"),
        }
    }
}

#[test]
fn open_refuses_invalid_config_before_touching_the_disk() {
    for engine in ENGINES {
        for (what, field, cfg) in cases() {
            if cfg.dir.as_os_str().is_empty() {
                assert!(
                    matches!(Wal::open(cfg.io_engine(engine)), Err(Error::Config(_))),
                    "{what}"
                );
                continue;
            }
            let d = tempdir();
            let dir = d.path().join("wal");
            let mut cfg = cfg.clone().io_engine(engine);
            cfg.dir = dir.clone();
            match Wal::open(cfg) {
                Err(Error::Config(msg)) => assert!(msg.contains(field), "{what}: {msg}"),
                Err(e) => panic!("{what}: expected Error::Config, got {e}"),
                Ok(_) => panic!("{what}: open accepted an invalid config"),
            }
            assert!(
                !dir.exists(),
                "{what}: open created the directory before validating"
            );
        }
    }
}

#[test]
fn suggested_segment_size_is_valid() {
    // The message for a too-small segment says how large it must be; that size works.
    let cfg = Config::new("/x")
        .segment_size(1 << 20)
        .max_entry_size(4 << 20);
    let msg = match cfg.validate() {
        Err(Error::Config(m)) => m,
        other => panic!("{other:?}"),
    };
    let n: u64 = msg
        .split("at least ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no size suggested: {msg}"));
    Config::new("/x")
        .segment_size(n)
        .max_entry_size(4 << 20)
        .validate()
        .unwrap();
    assert!(
        Config::new("/x")
            .segment_size(n - 4096)
            .max_entry_size(4 << 20)
            .validate()
            .is_err()
    );
}

#[test]
fn valid_edges_are_accepted() {
    let d = tempdir();
    small(d.path(), IoEngine::Sync).validate().unwrap();
    Config::new("/x")
        .segment_size(64 << 10)
        .max_entry_size(1)
        .validate()
        .unwrap();
    Config::new("/x")
        .queue_depth(1)
        .max_batch_entries(1)
        .replay_channel_capacity(1)
        .validate()
        .unwrap();
    Config::new("/x")
        .max_dir_bytes(Some(2 * (128 << 20)))
        .validate()
        .unwrap();
    Config::new("/x")
        .sync(SyncPolicy::Interval(Duration::from_millis(5)))
        .validate()
        .unwrap();
    // A WAL with queue depth 1 and single-entry batches works.
    let wal = open(
        &small(d.path(), IoEngine::Sync)
            .queue_depth(1)
            .max_batch_entries(1)
            .replay_channel_capacity(1),
    );
    append_n_checked(&wal, 1..=20, 10);
    assert_eq!(
        lsns(&replay_all(&wal, ReplayOptions::all())),
        (1..=20).collect::<Vec<_>>()
    );
}

#[test]
fn path_that_is_a_regular_file_is_refused() {
    for engine in ENGINES {
        let d = tempdir();
        let file = d.path().join("not-a-dir");
        std::fs::write(&file, b"precious").unwrap();
        let e = Wal::open(small(&file, engine)).expect_err("open on a regular file succeeded");
        let msg = e.to_string();
        assert!(
            msg.contains(&file.display().to_string()),
            "message does not name the path: {msg}"
        );
        assert!(msg.contains("not a directory"), "{msg}");
        // Below a regular file.
        let below = file.join("wal");
        let e = Wal::open(small(&below, engine)).expect_err("open below a regular file succeeded");
        assert!(e.to_string().contains("not-a-dir"), "{e}");
        assert_eq!(std::fs::read(&file).unwrap(), b"precious");
    }
}
