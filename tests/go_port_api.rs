//! What a Go xwal user porting code reaches for: Go-shaped calls without the
//! fully qualified form, a bad range refused at once, segment getters, a
//! rotation that is not a checkpoint, and 1 MB segments with one setting.
use crate::common;
use common::*;
use xwal::go::GoWal;
use xwal::*;

#[test]
fn go_shaped_calls_compile_as_in_go() {
    let d = tempdir();
    let (wal, _) = GoWal::open(small(d.path(), IoEngine::Uring)).unwrap();
    assert_eq!(
        wal.write(vec![b"a".to_vec(), b"b".to_vec()]).unwrap(),
        xwal::Lsn(1)..=xwal::Lsn(2)
    );
    let cp = wal.create_checkpoint().unwrap();
    wal.write(vec![b"c".to_vec()]).unwrap();
    let (tx, rx) = crossbeam_channel::unbounded();
    wal.replay(&tx, false).unwrap();
    wal.replay_from_checkpoint(&tx, cp, true).unwrap();
    wal.replay_to_checkpoint(&tx, cp, false).unwrap();
    wal.replay_from_range(&tx, false, xwal::SegmentId(0), cp.segment())
        .unwrap();
    let got: Vec<u64> = rx.try_iter().map(|e| e.lsn.0).collect();
    assert_eq!(got, [1, 2, 3, 3, 2, 1, 1, 2, 1, 2]);
    assert_eq!(wal.last_index(), 3);
    assert_eq!(wal.backend_type(), BackendType::LocalFilesystem);
    wal.close().unwrap();
}

#[test]
fn a_bad_range_fails_at_once() {
    let d = tempdir();
    let wal = open(&small(d.path(), IoEngine::Uring));
    wal.append(b"a").unwrap();
    for range in [
        ReplayRange::FromCheckpoint(xwal::CheckpointId(7)),
        ReplayRange::Segments {
            start: xwal::SegmentId(9),
            end: xwal::SegmentId(9),
        },
    ] {
        let r = wal.replay(ReplayOptions::all().range(range));
        assert!(
            matches!(r, Err(Error::NotFound { .. })),
            "{range:?}: {:?}",
            r.map(|_| ())
        );
    }
}

#[test]
fn segment_getters_and_rotation() {
    let d = tempdir();
    let wal = open(&small(d.path(), IoEngine::Uring));
    assert_eq!(
        (wal.first_segment(), wal.active_segment()),
        (Some(xwal::SegmentId(0)), Some(xwal::SegmentId(0)))
    );
    assert_eq!(wal.rotate().unwrap(), None);
    wal.append(b"a").unwrap();
    assert_eq!(wal.rotate().unwrap(), Some(xwal::SegmentId(0)));
    assert_eq!(wal.active_segment(), Some(xwal::SegmentId(1)));
    assert_eq!(wal.last_segment(), Some(xwal::SegmentId(1)));
    assert!(wal.checkpoints().is_empty());
    assert_eq!(wal.append(b"b").unwrap(), 2);
    assert_eq!(lsns(&replay_all(&wal, ReplayOptions::all())), [1, 2]);
}

#[test]
fn one_megabyte_segments_need_one_setting() {
    let d = tempdir();
    let cfg = Config::new(d.path()).segment_size(1 << 20);
    let wal = open(&cfg);
    assert!(cfg.entry_limit() >= 1000 << 10, "{}", cfg.entry_limit());
    assert_eq!(wal.append(&vec![7u8; 1000 << 10]).unwrap(), 1);
    // Set, the entry limit is what the user says, before or after the size.
    let c = Config::new(d.path())
        .segment_size(1 << 20)
        .max_entry_size(4096);
    assert_eq!(c.entry_limit(), 4096);
    let c = Config::new(d.path())
        .max_entry_size(4096)
        .segment_size(1 << 20);
    assert_eq!(c.entry_limit(), 4096);
    // From a config file too.
    #[cfg(feature = "config-file")]
    {
        let f = Config::from_toml_str("segment_size = \"1MiB\"").unwrap();
        assert!(f.entry_limit() < 1 << 20);
    }
}
