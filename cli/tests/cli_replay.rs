//! `xwal replay`: JSON lines {"lsn":N,"data_hex":"..."} for every entry, in
//! order or backwards, with ranges; `--consume` deletes the replayed sealed
//! segments afterwards (Go's at-most-once replay), never the active one.
mod common;
use std::path::Path;
use std::process::Command;
use xwal::{Config, IoEngine, Wal};

fn replay(dir: &Path, args: &[&str]) -> Vec<(u64, Vec<u8>)> {
    let out = Command::new(common::XWAL)
        .arg("replay")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
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
    let d = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let cfg = Config::new(d.path())
        .segment_size(256 << 10)
        .max_entry_size(64 << 10)
        .io_engine(IoEngine::Sync);
    let (wal, _) = Wal::open(cfg.clone()).unwrap();
    for lsn in 1..=30u64 {
        assert_eq!(wal.append(&payload(lsn)).unwrap(), lsn);
        if lsn == 20 {
            wal.create_checkpoint().unwrap();
        }
    }
    wal.close().unwrap();
    drop(wal);

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
    assert!(!d
        .path()
        .join(xwal::format::segment_file_name(0, true))
        .exists());
    let (wal, _) = Wal::open(cfg).unwrap();
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
