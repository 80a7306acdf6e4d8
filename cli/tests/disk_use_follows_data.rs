//! Disk use follows the data, not the number of checkpoints: a sealed segment
//! gives back the space past its last record (in the background, off the
//! commit path), recovery takes a sealed segment whole or shrunk, and
//! `max_dir_bytes` counts the space really used.
use crate::common;
use common::ondisk;
use common::*;
use std::os::unix::fs::MetadataExt;
use xwal::*;

/// Blocks allocated to the files of `dir` (not their sizes), in bytes: the
/// segment files, and the rest (anchor indexes, the lock file).
fn allocated(dir: &std::path::Path) -> (u64, u64) {
    let (mut segs, mut rest) = (0, 0);
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let bytes = e.metadata().unwrap().blocks() * 512;
        if e.file_name().to_string_lossy().ends_with(".seg") {
            segs += bytes;
        } else {
            rest += bytes;
        }
    }
    (segs, rest)
}

#[test]
fn thirty_checkpoints_cost_their_data_not_thirty_segments() {
    let d = tempdir();
    // The default config: 128 MiB segments.
    let cfg = Config::new(d.path());
    let capacity = cfg.segment_size;
    let wal = open(&cfg);
    let mut written = 0u64;
    for i in 1..=30 {
        let data = payload(i, 100);
        written += 4096 + 4096; // a header block and the block its record sits in
        wal.append(&data).unwrap();
        wal.create_checkpoint().unwrap();
    }
    wal.close().unwrap();
    let (used, rest) = allocated(d.path());
    assert!(rest <= 31 * 4096, "{rest} bytes in anchor indexes and LOCK");
    // ext4 charges the extent-tree blocks of a large, partly zero-filled file
    // to its st_blocks (a few KiB): FS_METADATA allows for them.
    const FS_METADATA: u64 = 1 << 20;
    assert!(
        used <= written + 2 * capacity + FS_METADATA,
        "{used} bytes allocated for {written} bytes of segments (limit: + two segments of {capacity})"
    );
    let (wal, rep) = Wal::open(cfg).unwrap();
    assert_eq!(rep.last_lsn, 30);
    assert_eq!(wal.checkpoints().len(), 30);
    let got = replay_all(&wal, ReplayOptions::all());
    assert_eq!(lsns(&got), (1..=30).collect::<Vec<_>>());
}

#[test]
fn max_dir_bytes_counts_what_is_used() {
    let d = tempdir();
    let seg: u64 = 256 << 10;
    // Room for the active segment, the one prepared ahead and a little more.
    let cfg = small(d.path(), IoEngine::Uring).max_dir_bytes(Some(3 * seg));
    let wal = open(&cfg);
    for i in 1..=40 {
        wal.append(&payload(i, 100)).unwrap();
        wal.create_checkpoint()
            .unwrap_or_else(|e| panic!("checkpoint {i} on a nearly empty log: {e}"));
    }
}

#[test]
fn a_sealed_segment_is_taken_whole_or_shrunk() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let wal = open(&cfg);
        for i in 1..=3 {
            wal.append(&payload(i, 5000)).unwrap();
            wal.create_checkpoint().unwrap();
        }
        wal.append(&payload(4, 5000)).unwrap();
        wal.close().unwrap();
        let segs = ondisk::segment_files(d.path());
        let sealed: Vec<_> = segs.iter().filter(|s| s.checkpoint).collect();
        assert_eq!(sealed.len(), 3);
        for s in &sealed {
            let len = std::fs::metadata(&s.path).unwrap().len();
            assert_eq!(len, 4096 + 8192, "{s:?} is {len} bytes");
        }
        // A power cut before the shrink reached the disk leaves it whole.
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&sealed[1].path)
            .unwrap();
        f.set_len(cfg.segment_size).unwrap();
        drop(f);
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 4);
        for dir in [Direction::Forward, Direction::Backward] {
            let mut want: Vec<u64> = (1..=4).collect();
            if dir == Direction::Backward {
                want.reverse();
            }
            let got = replay_all(&wal, ReplayOptions::all().direction(dir));
            assert_eq!(lsns(&got), want);
            assert!(got.iter().all(|e| e.data == payload(e.lsn.0, 5000)));
        }
        xwal_ok(&["verify", d.path().to_str().unwrap()]);
    }
}
