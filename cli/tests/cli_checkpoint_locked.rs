//! `xwal checkpoint` on a WAL another opener holds: one line `xwal: ...locked...`
//! on stderr, a non-zero exit, and nothing changed.
mod common;
use std::process::Command;
use xwal::{Config, IoEngine, Wal};

#[test]
fn a_locked_wal_gives_one_line_and_a_non_zero_exit() {
    let d = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (wal, _) = Wal::open(
        Config::new(d.path())
            .segment_size(256 << 10)
            .max_entry_size(64 << 10)
            .io_engine(IoEngine::Sync),
    )
    .unwrap();
    wal.append(b"held").unwrap();
    let out = Command::new(common::XWAL)
        .arg("checkpoint")
        .arg(d.path())
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("xwal: "), "{stderr}");
    assert!(stderr.contains("locked"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(wal.checkpoints().is_empty());
    assert_eq!(wal.append(b"still mine").unwrap(), 2);
    wal.close().unwrap();
}
