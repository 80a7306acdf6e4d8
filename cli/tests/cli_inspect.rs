//! `xwal inspect DIR` and `--json`: segments with number, first and last LSN,
//! checkpoint flag and file size; checkpoints; last LSN; recovery state.
use crate::common;
use common::*;
use std::path::Path;

/// Segment 0: LSN 1..=100, checkpoint (shrunk to its data). Segment 1: LSN 101..=150, active.
fn build(dir: &Path) {
    let wal = open(&cli_config(dir));
    wal.append_batch((1..=100u32).map(|i| vec![i as u8; 100]))
        .unwrap();
    assert_eq!(wal.create_checkpoint().unwrap(), 0);
    wal.append_batch((101..=150u32).map(|i| vec![i as u8; 100]))
        .unwrap();
    wal.close().unwrap();
}

#[test]
fn table_lists_segments_lsns_checkpoints_and_sizes() {
    let d = tempdir();
    build(d.path());
    let stdout = xwal_ok(&["inspect", d.path().to_str().unwrap()]);
    let row = |seg: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(seg))
            .unwrap_or_else(|| panic!("no row for segment {seg}:\n{stdout}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // The checkpoint is shrunk to its data (4096 + 100 records of 136 bytes, block-aligned).
    assert_eq!(row("0")[..5], ["0", "1", "100", "yes", "20480"]);
    assert_eq!(row("1")[..5], ["1", "101", "150", "no", "262144"]);
    assert!(stdout.contains("last LSN:     150"), "{stdout}");
    assert!(stdout.contains("checkpoints:  0\n"), "{stdout}");
    assert!(stdout.contains("torn tail:    none"), "{stdout}");
}

#[test]
fn json_has_the_same_facts() {
    let d = tempdir();
    build(d.path());
    let stdout = xwal_ok(&["inspect", "--json", d.path().to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["last_lsn"], 150);
    assert_eq!(v["checkpoints"], serde_json::json!([0]));
    let segs = v["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 2);
    assert_eq!(segs[0]["segment"], 0);
    assert_eq!(segs[0]["first_lsn"], 1);
    assert_eq!(segs[0]["last_lsn"], 100);
    assert_eq!(segs[0]["checkpoint"], true);
    assert_eq!(segs[0]["file_size"], 20480);
    assert_eq!(segs[1]["first_lsn"], 101);
    assert_eq!(segs[1]["last_lsn"], 150);
    assert_eq!(segs[1]["checkpoint"], false);
    assert_eq!(v["recovery"]["tail_segment"], 1);
    assert_eq!(v["recovery"]["last_lsn"], 150);
    assert!(v["recovery"]["torn_tail"].is_null());
}

#[test]
fn a_torn_tail_is_shown_and_left_alone() {
    let d = tempdir();
    build(d.path());
    // Garbage after the last record of the tail segment, as a torn write leaves.
    let seg = d.path().join(xwal::format::segment_file_name(1, false));
    let mut bytes = std::fs::read(&seg).unwrap();
    let end = bytes.iter().rposition(|&b| b != 0).unwrap();
    let at = (end + 8) / 8 * 8 + 64;
    bytes[at..at + 100].fill(0x77);
    std::fs::write(&seg, &bytes).unwrap();
    let stdout = xwal_ok(&["inspect", "--json", d.path().to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["recovery"]["torn_tail"]["segment"], 1, "{v}");
    assert_eq!(v["last_lsn"], 150);
    assert_eq!(
        std::fs::read(&seg).unwrap(),
        bytes,
        "inspect modified the segment"
    );
}
