//! `xwal repair DIR`: a directory `open` refuses (the last acknowledged
//! record damaged in place) is repaired: the intact entries stay, what was
//! cut is moved aside, the lost LSN range is printed, and the log continues
//! above it. A healthy directory is left as it is.
use crate::common;
use common::*;

#[test]
fn repair_prints_what_left_the_log_and_the_log_continues() {
    let d = tempdir();
    build_wal(d.path(), 20, 500, &[]);
    let dir = d.path().to_str().unwrap();
    // Nothing to repair: nothing changes.
    let before = ondisk::file_names(d.path());
    let out = xwal_ok(&["repair", dir]);
    assert!(out.contains("nothing to repair"), "{out}");
    assert_eq!(ondisk::file_names(d.path()), before);

    let (tail, _) = ondisk::tail_segment(d.path());
    let (_, recs, _) = ondisk::records(&tail.path);
    ondisk::flip_byte(&tail.path, recs[19].offset + 300);
    let (code, err) = xwal_err(&["verify", dir]);
    assert_eq!(code, 1, "{err}");

    let out = xwal_ok(&["repair", dir]);
    assert!(out.contains("kept: LSN 1..=19"), "{out}");
    assert!(out.contains("lost from the log: LSN 20..="), "{out}");
    assert!(out.contains("moved aside"), "{out}");
    assert!(out.contains("the log continues at LSN"), "{out}");
    xwal_ok(&["verify", dir]);
    let dump = xwal_ok(&["replay", dir]);
    assert_eq!(dump.lines().count(), 19, "{dump}");
}
