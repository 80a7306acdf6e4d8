//! Config files (TOML): every knob of `Config`, both duration forms, size
//! units, defaults for missing keys, and messages that say what to change for
//! unknown keys, Go xwal names, bad units, wrong types and invalid values.
#![cfg(feature = "config-file")]
use std::time::Duration;
use xwal::{BackendType, Config, IoEngine, SyncPolicy};

fn err(text: &str) -> String {
    Config::from_toml_str(text).unwrap_err().to_string()
}

#[test]
fn every_knob() {
    let c = Config::from_toml_str(
        r#"
        dir = "/var/lib/app/wal"
        segment_size = "256MiB"
        max_entry_size = "1MiB"
        max_batch_bytes = 1048576
        max_batch_entries = 1000
        commit_delay = "250us"
        queue_depth = 128
        sync = "interval"
        sync_interval = 20
        io_engine = "auto"
        zero_fill = false
        max_dir_bytes = "20GiB"
        replay_channel_capacity = 64
        replay_chunk_size = "256KiB"
        replay_read_ahead = 8
        backend = "aws_s3"
        "#,
    )
    .unwrap();
    assert_eq!(c.dir, std::path::PathBuf::from("/var/lib/app/wal"));
    assert_eq!(c.segment_size, 256 << 20);
    assert_eq!(c.max_entry_size, 1 << 20);
    assert_eq!(c.max_batch_bytes, 1 << 20);
    assert_eq!(c.max_batch_entries, 1000);
    assert_eq!(c.commit_delay, Duration::from_micros(250));
    assert_eq!(c.queue_depth, 128);
    assert_eq!(c.sync, SyncPolicy::Interval(Duration::from_millis(20)));
    assert_eq!(c.io_engine, IoEngine::Auto);
    assert!(!c.zero_fill);
    assert_eq!(c.max_dir_bytes, Some(20 << 30));
    assert_eq!(c.replay_channel_capacity, 64);
    assert_eq!(c.replay_chunk_size, 256 << 10);
    assert_eq!(c.replay_read_ahead, 8);
    assert_eq!(c.backend, BackendType::AwsS3);
}

#[test]
fn missing_keys_keep_the_defaults() {
    let c = Config::from_toml_str("").unwrap();
    let d = Config::new("");
    assert_eq!(c.dir, d.dir);
    assert_eq!(c.segment_size, d.segment_size);
    assert_eq!(c.sync, SyncPolicy::Always);
    assert_eq!(c.max_dir_bytes, None);
    let c = Config::from_toml_str("sync = \"dsync\"\nmax_dir_bytes = \"none\"").unwrap();
    assert_eq!(c.sync, SyncPolicy::Dsync);
    assert_eq!(c.max_dir_bytes, None);
    assert_eq!(
        Config::from_toml_str("sync = \"never\"").unwrap().sync,
        SyncPolicy::Never
    );
    assert_eq!(
        Config::from_toml_str("commit_delay = 5")
            .unwrap()
            .commit_delay,
        Duration::from_millis(5)
    );
    assert_eq!(
        Config::from_toml_str("sync = \"interval\"\nsync_interval = \"1.5s\"")
            .unwrap()
            .sync,
        SyncPolicy::Interval(Duration::from_millis(1500))
    );
}

#[test]
fn messages_say_what_to_change() {
    let cases: &[(&str, &[&str])] = &[
        ("segmentsFileSize = 1000", &["segment_size", "1000MiB"]),
        ("bufferSize = 32", &["max_batch_bytes"]),
        ("bufferEntriesLength = 10", &["max_batch_entries"]),
        (
            "flushFrequency = \"1s\"",
            &["sync = \"interval\"", "sync_interval"],
        ),
        ("dirPath = \"/tmp\"", &["dir"]),
        ("segmentsDirSizeGB = 20", &["max_dir_bytes"]),
        ("logLevel = \"info\"", &["tracing subscriber"]),
        ("bucketName = \"b\"", &["S3"]),
        (
            "segment_sise = 1",
            &["unknown key `segment_sise`", "segment_size"],
        ),
        (
            "segment_size = \"128MB\"",
            &["segment_size", "ambiguous", "MiB"],
        ),
        (
            "segment_size = \"12 furlongs\"",
            &["unknown unit `furlongs`"],
        ),
        ("segment_size = true", &["segment_size", "a boolean"]),
        ("segment_size = -4096", &["negative"]),
        ("commit_delay = \"10\"", &["commit_delay", "no unit"]),
        ("commit_delay = \"10 fortnights\"", &["unknown unit"]),
        ("commit_delay = \"2s\"", &["commit_delay", "exceeds 1 s"]),
        (
            "sync = \"sometimes\"",
            &["always, dsync, interval or never"],
        ),
        ("sync = \"interval\"", &["sync_interval"]),
        (
            "sync = \"always\"\nsync_interval = \"1s\"",
            &["set sync = \"interval\" or remove sync_interval"],
        ),
        ("io_engine = \"epoll\"", &["uring, sync or auto"]),
        ("backend = \"gcs\"", &["local_filesystem or aws_s3"]),
        ("zero_fill = 1", &["true or false"]),
        ("queue_depth = \"8\"", &["queue_depth", "integer"]),
        ("queue_depth = 0", &["queue_depth", "between 1"]),
        ("segment_size = 5000", &["multiple of 4096"]),
        (
            "segment_size = \"1MiB\"\nmax_entry_size = \"64MiB\"",
            &["raise segment_size"],
        ),
        (
            "max_dir_bytes = \"1MiB\"",
            &["max_dir_bytes", "at least two segments"],
        ),
        ("segment_size = ", &["TOML syntax error at line 1"]),
        ("dir = \"\"", &["dir", "empty"]),
    ];
    for (text, wants) in cases {
        let e = err(text);
        assert!(e.starts_with("invalid config: "), "{text}: {e}");
        assert!(!e.contains('\n'), "{text}: message spans lines: {e}");
        for w in *wants {
            assert!(e.contains(w), "{text}: {e:?} lacks {w:?}");
        }
    }
}

#[test]
fn from_file_names_the_file() {
    let d = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let p = d.path().join("wal.toml");
    std::fs::write(&p, "queue_depth = 0\n").unwrap();
    let e = Config::from_file(&p).unwrap_err().to_string();
    assert!(e.contains("wal.toml") && e.contains("queue_depth"), "{e}");
    let e = Config::from_file(d.path().join("absent.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("absent.toml"), "{e}");
    std::fs::write(
        &p,
        "segment_size = \"512KiB\"\nmax_entry_size = \"64KiB\"\n",
    )
    .unwrap();
    let c = Config::from_file(&p).unwrap();
    assert_eq!((c.segment_size, c.max_entry_size), (512 << 10, 64 << 10));
    // Usable once dir is set.
    let mut c = c;
    c.dir = d.path().join("wal");
    let (wal, _) = xwal::Wal::open(c).unwrap();
    wal.append(b"x").unwrap();
    assert_eq!(wal.segments()[0].capacity, 512 << 10);
    wal.close().unwrap();
}

/// Without the `s3` feature an `[s3]` table is refused with what to do, never
/// ignored (a WAL the user believes archived would not be).
#[cfg(not(feature = "s3"))]
#[test]
fn s3_table_without_the_feature_is_refused() {
    let e = err("[s3]\nbucket = \"b-1\"\n");
    assert!(e.contains("--features s3"), "{e}");
}

/// Go's S3 setting names at the top level point to the `[s3]` table; keys are
/// never accepted from a file.
#[test]
fn s3_names_outside_the_table_get_a_hint() {
    assert!(err("bucketName = \"b\"").contains("[s3]"));
    assert!(err("region = \"eu-west-1\"").contains("[s3]"));
    assert!(err("secretKey = \"x\"").contains("never read from a config file"));
}
