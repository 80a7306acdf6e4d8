//! `xwal checkpoint` on a WAL another opener holds: one line `xwal: ...locked...`
//! on stderr, a non-zero exit, and nothing changed.
use crate::common;
use common::*;

#[test]
fn a_locked_wal_gives_one_line_and_a_non_zero_exit() {
    let d = tempdir();
    let wal = open(&cli_config(d.path()));
    wal.append(b"held").unwrap();
    let code = xwal_one_line_err(&["checkpoint", d.path().to_str().unwrap()], "locked");
    assert_eq!(code, 1);
    assert!(wal.checkpoints().is_empty());
    assert_eq!(wal.append(b"still mine").unwrap(), 2);
    wal.close().unwrap();
}
