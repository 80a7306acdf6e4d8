//! `xwal dump`: text, hex and JSON lines; LSN ranges, segment ranges (both
//! spellings), checkpoint ranges, backwards; --max-bytes.
use crate::common;
use common::*;
use std::path::Path;

fn dump(dir: &Path, args: &[&str]) -> String {
    xwal_ok(&[&["dump", dir.to_str().unwrap()][..], args].concat())
}

fn lsns_of_json(s: &str) -> Vec<u64> {
    s.lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["lsn"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

fn data(lsn: u64) -> Vec<u8> {
    format!("entry-{lsn}").into_bytes()
}

/// Segment 0: LSN 1..=10 (checkpoint); segment 1: 11..=20 (checkpoint); segment 2: 21..=25.
fn build(dir: &Path) {
    write_wal(dir, 25, &[10, 20], data).close().unwrap();
}

#[test]
fn formats_and_ranges() {
    let d = tempdir();
    build(d.path());
    let dir = d.path();

    let text = dump(dir, &[]);
    assert_eq!(text.lines().count(), 25);
    assert_eq!(text.lines().next().unwrap(), "lsn=1 len=7 data=\"entry-1\"");

    let json = dump(dir, &["--format", "json"]);
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["lsn"], 1);
    assert_eq!(first["len"], 7);
    assert_eq!(first["data_hex"], "656e7472792d31");
    assert_eq!(lsns_of_json(&json), (1..=25).collect::<Vec<_>>());

    let hex = dump(
        dir,
        &["--format", "hex", "--from-lsn", "3", "--to-lsn", "3"],
    );
    assert_eq!(
        hex,
        "lsn=3 len=7\n  00000000  65 6e 74 72 79 2d 33                              |entry-3|\n"
    );

    let lsn_range = dump(
        dir,
        &["--format", "json", "--from-lsn", "8", "--to-lsn", "12"],
    );
    assert_eq!(lsns_of_json(&lsn_range), vec![8, 9, 10, 11, 12]);

    let back = dump(
        dir,
        &[
            "--format",
            "json",
            "--from-lsn",
            "8",
            "--to-lsn",
            "12",
            "--backwards",
        ],
    );
    assert_eq!(lsns_of_json(&back), vec![12, 11, 10, 9, 8]);

    let seg1 = dump(dir, &["--format", "json", "--segments", "1..1"]);
    assert_eq!(lsns_of_json(&seg1), (11..=20).collect::<Vec<_>>());
    let seg12 = dump(
        dir,
        &[
            "--format",
            "json",
            "--start-segment",
            "1",
            "--end-segment",
            "2",
        ],
    );
    assert_eq!(lsns_of_json(&seg12), (11..=25).collect::<Vec<_>>());
    let seg_open = dump(dir, &["--format", "json", "--segments", "2.."]);
    assert_eq!(lsns_of_json(&seg_open), (21..=25).collect::<Vec<_>>());

    let from_cp = dump(dir, &["--format", "json", "--from-checkpoint", "1"]);
    assert_eq!(lsns_of_json(&from_cp), (11..=25).collect::<Vec<_>>());
    let to_cp = dump(
        dir,
        &["--format", "json", "--to-checkpoint", "0", "--backwards"],
    );
    assert_eq!(lsns_of_json(&to_cp), (1..=10).rev().collect::<Vec<_>>());

    let short = dump(
        dir,
        &["--from-lsn", "1", "--to-lsn", "1", "--max-bytes", "3"],
    );
    assert_eq!(short, "lsn=1 len=7 data=\"ent\"...\n");
}
