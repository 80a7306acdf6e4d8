//! `xwal checkpoint DIR`: seals the active segment as a checkpoint, prints its
//! number, keeps the WAL's segment size, and LSNs continue afterwards.
mod common;
use std::process::Command;
use xwal::{Config, IoEngine, Wal};

#[test]
fn prints_the_checkpoint_number_and_marks_the_segment() {
    let d = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let cfg = Config::new(d.path())
        .segment_size(256 << 10)
        .max_entry_size(64 << 10)
        .io_engine(IoEngine::Sync);
    let (wal, _) = Wal::open(cfg.clone()).unwrap();
    wal.append_batch((0..30u32).map(|i| vec![i as u8; 50]))
        .unwrap();
    assert_eq!(wal.create_checkpoint().unwrap(), 0);
    wal.append_batch((0..30u32).map(|i| vec![i as u8; 50]))
        .unwrap();
    wal.close().unwrap();
    drop(wal);

    let out = Command::new(common::XWAL)
        .arg("checkpoint")
        .arg(d.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n");
    assert!(d
        .path()
        .join(xwal::format::segment_file_name(1, true))
        .exists());

    let (wal, _) = Wal::open(cfg).unwrap();
    assert_eq!(wal.checkpoints(), vec![0, 1]);
    assert_eq!(wal.last_index(), 60);
    assert_eq!(wal.append(b"next").unwrap(), 61);
    // The segment started by the checkpoint has the WAL's size, not the default 128 MiB.
    assert!(
        wal.segments().iter().all(|s| s.capacity == 256 << 10),
        "{:?}",
        wal.segments()
    );
    wal.close().unwrap();
}
