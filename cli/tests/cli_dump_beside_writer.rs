//! `xwal dump` on a WAL that a writer holds open (this test process has the
//! lock): dump reads read-only without the lock, sees what was written, and
//! the writer goes on undisturbed.
use crate::common;
use common::*;
use xwal::{Config, Wal};

#[test]
fn dump_works_while_another_process_writes() {
    let d = tempdir();
    let wal = write_wal(d.path(), 50, &[40], |i| format!("held-{i}").into_bytes());
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
    let lines: Vec<serde_json::Value> =
        xwal_ok(&["dump", "--format", "json", d.path().to_str().unwrap()])
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
