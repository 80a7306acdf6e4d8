//! `--config FILE` on the command line: its values apply to the WAL a
//! subcommand opens (before or after the subcommand name), its `dir` stands in
//! for a missing DIR, and a bad file is a one-line error naming the key.
mod common;
use std::process::Command;
use xwal::Wal;

fn run(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(common::XWAL)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn config_file_values_reach_the_wal() {
    let d = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
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
    let out = run(&["checkpoint".as_ref(), "--config".as_ref(), cfg.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0\n");
    let (wal, _) = Wal::open(xwal::Config::from_file(&cfg).unwrap()).unwrap();
    assert_eq!(wal.checkpoints(), vec![0]);
    assert!(wal.segments().iter().all(|s| s.capacity == 192 << 10));
    assert!(wal.segments().iter().all(|s| s.max_entry_size == 16 << 10));
    wal.append(b"x").unwrap();
    wal.close().unwrap();
    drop(wal);

    // The global flag before the subcommand, DIR given explicitly.
    let out = run(&[
        "--config".as_ref(),
        cfg.as_os_str(),
        "inspect".as_ref(),
        "--json".as_ref(),
        wal_dir.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["last_lsn"], 1);

    // A value the WAL refuses: one line that says what to change.
    std::fs::write(
        &cfg,
        "max_entry_size = \"1MiB\"\nsegment_size = \"256KiB\"\n",
    )
    .unwrap();
    let out = run(&[
        "inspect".as_ref(),
        "--config".as_ref(),
        cfg.as_os_str(),
        wal_dir.as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("xwal.toml"), "{stderr}");
    assert!(stderr.contains("raise segment_size"), "{stderr}");
}
