//! `xwal replay`: JSON lines {"lsn":N,"data_hex":"..."} for every entry, in
//! order or backwards, with ranges; `--consume` deletes the replayed sealed
//! segments afterwards (Go's at-most-once replay), never the active one.
use crate::common;
use common::{cli_config, open, tempdir, write_wal, xwal_ok};
use std::path::Path;

fn replay(dir: &Path, args: &[&str]) -> Vec<(u64, Vec<u8>)> {
    xwal_ok(&[&["replay", dir.to_str().unwrap()][..], args].concat())
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v.as_object().unwrap().len(), 2, "{l}");
            let hex = v["data_hex"].as_str().unwrap();
            let data = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (v["lsn"].as_u64().unwrap(), data)
        })
        .collect()
}

fn payload(lsn: u64) -> Vec<u8> {
    (0..(lsn % 50) as usize)
        .map(|i| (lsn as usize * 13 + i) as u8)
        .collect()
}

#[test]
fn json_lines_ranges_and_consume() {
    let d = tempdir();
    let cfg = cli_config(d.path());
    write_wal(d.path(), 30, &[20], payload).close().unwrap();

    let all = replay(d.path(), &[]);
    assert_eq!(all, (1..=30).map(|l| (l, payload(l))).collect::<Vec<_>>());
    let back = replay(
        d.path(),
        &["--backwards", "--from-lsn", "19", "--to-lsn", "22"],
    );
    assert_eq!(
        back.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![22, 21, 20, 19]
    );

    // --consume up to the checkpoint: printed first, then segment 0 is deleted.
    let consumed = replay(d.path(), &["--consume", "--to-checkpoint", "0"]);
    assert_eq!(
        consumed.iter().map(|e| e.0).collect::<Vec<_>>(),
        (1..=20).collect::<Vec<_>>()
    );
    assert!(
        !d.path()
            .join(xwal::format::segment_file_name(0, true))
            .exists()
    );
    let wal = open(&cfg);
    assert_eq!(wal.last_index(), 30);
    assert_eq!(wal.segments().first().unwrap().first_lsn, 21);
    wal.close().unwrap();
    drop(wal);
    let rest = replay(d.path(), &[]);
    assert_eq!(
        rest.iter().map(|e| e.0).collect::<Vec<_>>(),
        (21..=30).collect::<Vec<_>>()
    );
}
