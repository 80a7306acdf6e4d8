//! `xwal verify` on a good WAL: exit 0 and a summary of what was checked.
mod common;
use std::process::Command;
use xwal::{Config, IoEngine, Wal};

#[test]
fn a_good_wal_verifies_with_exit_0() {
    let d = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (wal, _) = Wal::open(
        Config::new(d.path())
            .segment_size(256 << 10)
            .max_entry_size(64 << 10)
            .io_engine(IoEngine::Sync),
    )
    .unwrap();
    for chunk in 0..10u32 {
        wal.append_batch((0..60u32).map(|i| vec![(chunk + i) as u8; 900]))
            .unwrap();
    }
    wal.inc_last_index().unwrap(); // a skip record is valid too
    wal.append(b"last").unwrap();
    assert!(wal.segments().len() >= 3);
    wal.close().unwrap();
    let out = Command::new(common::XWAL)
        .arg("verify")
        .arg(d.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ok: "), "{stdout}");
    assert!(stdout.contains("LSN 1..602"), "{stdout}");
    assert!(stdout.contains("601 entries"), "{stdout}");
    assert!(!stdout.contains("CORRUPT"), "{stdout}");
}
