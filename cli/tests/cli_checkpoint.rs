//! `xwal checkpoint DIR`: seals the active segment as a checkpoint, prints its
//! number, keeps the WAL's segment size, and LSNs continue afterwards.
use crate::common;
use common::*;

#[test]
fn prints_the_checkpoint_number_and_marks_the_segment() {
    let d = tempdir();
    let cfg = cli_config(d.path());
    let wal = open(&cfg);
    wal.append_batch((0..30u32).map(|i| vec![i as u8; 50]))
        .unwrap();
    assert_eq!(wal.create_checkpoint().unwrap(), 0);
    wal.append_batch((0..30u32).map(|i| vec![i as u8; 50]))
        .unwrap();
    wal.close().unwrap();
    drop(wal);

    let stdout = xwal_ok(&["checkpoint", d.path().to_str().unwrap()]);
    assert_eq!(stdout, "1\n");
    assert!(
        d.path()
            .join(xwal::format::segment_file_name(1, true))
            .exists()
    );

    let wal = open(&cfg);
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
