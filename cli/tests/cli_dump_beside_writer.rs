//! `xwal dump` on a WAL that a writer holds open (this test process has the
//! lock): dump reads read-only without the lock, sees what was written, and
//! the writer goes on undisturbed.
mod common;
use std::process::Command;
use xwal::{Config, IoEngine, Wal};

#[test]
fn dump_works_while_another_process_writes() {
    let d = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (wal, _) = Wal::open(
        Config::new(d.path())
            .segment_size(256 << 10)
            .max_entry_size(64 << 10)
            .io_engine(IoEngine::Sync),
    )
    .unwrap();
    for i in 1..=40u64 {
        wal.append(format!("held-{i}").as_bytes()).unwrap();
    }
    wal.create_checkpoint().unwrap();
    for i in 41..=50u64 {
        wal.append(format!("held-{i}").as_bytes()).unwrap();
    }
    // The lock is held: a second read-write opener is refused...
    assert!(matches!(
        Wal::open(
            Config::new(d.path())
                .segment_size(256 << 10)
                .max_entry_size(64 << 10)
        ),
        Err(xwal::Error::Locked { .. })
    ));
    // ...but dump reads beside the writer.
    let out = Command::new(common::XWAL)
        .args(["dump", "--format", "json"])
        .arg(d.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 50);
    for (i, v) in lines.iter().enumerate() {
        let lsn = i as u64 + 1;
        assert_eq!(v["lsn"], lsn);
        let hex: String = format!("held-{lsn}")
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(v["data_hex"], hex);
    }
    // The writer still holds the lock and keeps appending.
    assert_eq!(wal.append(b"after dump").unwrap(), 51);
    wal.close().unwrap();
}
