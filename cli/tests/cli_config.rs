//! `--config FILE` on the command line: its values apply to the WAL a
//! subcommand opens (before or after the subcommand name), its `dir` stands in
//! for a missing DIR, and a bad file is a one-line error naming the key.
use crate::common;
use common::*;
use std::ffi::OsStr;
use xwal::Wal;

#[test]
fn config_file_values_reach_the_wal() {
    let d = tempdir();
    let wal_dir = d.path().join("wal");
    std::fs::create_dir(&wal_dir).unwrap();
    let cfg = d.path().join("xwal.toml");
    std::fs::write(
        &cfg,
        format!(
            "dir = {:?}\nsegment_size = \"192KiB\"\nmax_entry_size = \"16KiB\"\nio_engine = \"sync\"\n",
            wal_dir.to_str().unwrap()
        ),
    )
    .unwrap();
    // A new WAL: checkpoint creates it with the file's segment size; no DIR given.
    let stdout = xwal_ok::<&OsStr>(&["checkpoint".as_ref(), "--config".as_ref(), cfg.as_os_str()]);
    assert_eq!(stdout, "0\n");
    let (wal, _) = Wal::open(xwal::Config::from_file(&cfg).unwrap()).unwrap();
    assert_eq!(wal.checkpoints(), vec![0]);
    assert!(wal.segments().iter().all(|s| s.capacity == 192 << 10));
    assert!(wal.segments().iter().all(|s| s.max_entry_size == 16 << 10));
    wal.append(b"x").unwrap();
    wal.close().unwrap();
    drop(wal);

    // The global flag before the subcommand, DIR given explicitly.
    let stdout = xwal_ok::<&OsStr>(&[
        "--config".as_ref(),
        cfg.as_os_str(),
        "inspect".as_ref(),
        "--json".as_ref(),
        wal_dir.as_os_str(),
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["last_lsn"], 1);

    // A value the WAL refuses: one line that says what to change.
    std::fs::write(
        &cfg,
        "max_entry_size = \"1MiB\"\nsegment_size = \"256KiB\"\n",
    )
    .unwrap();
    let (code, stderr) = xwal_err::<&OsStr>(&[
        "inspect".as_ref(),
        "--config".as_ref(),
        cfg.as_os_str(),
        wal_dir.as_os_str(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("xwal.toml"), "{stderr}");
    assert!(stderr.contains("raise segment_size"), "{stderr}");
}
