//! `xwal verify` on a good WAL: exit 0 and a summary of what was checked.
use crate::common;
use common::*;

#[test]
fn a_good_wal_verifies_with_exit_0() {
    let d = tempdir();
    let wal = open(&cli_config(d.path()));
    for chunk in 0..10u32 {
        wal.append_batch((0..60u32).map(|i| vec![(chunk + i) as u8; 900]))
            .unwrap();
    }
    wal.inc_last_index().unwrap(); // a skip record is valid too
    wal.append(b"last").unwrap();
    assert!(wal.segments().len() >= 3);
    wal.close().unwrap();
    let stdout = xwal_ok(&["verify", d.path().to_str().unwrap()]);
    assert!(stdout.contains("ok: "), "{stdout}");
    assert!(stdout.contains("LSN 1..602"), "{stdout}");
    assert!(stdout.contains("601 entries"), "{stdout}");
    assert!(!stdout.contains("CORRUPT"), "{stdout}");
}
