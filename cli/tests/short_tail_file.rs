//! A tail segment file shorter than its header's capacity (a copy, restore or
//! backup cut short; a crash cannot do this to a preallocated file): every
//! complete record in it is kept and read, the short file is reported by the
//! recovery report, `verify` and `inspect`, and no LSN that may have been
//! handed out is handed out again. A file that ends cleanly after its last
//! record (a restored or shrunk sealed segment) opens and the WAL continues.
use crate::common;
use common::ondisk;
use common::*;
use xwal::*;

/// 10 records of 1000-byte payloads (1040 bytes each on disk) in one segment.
fn ten_records(engine: IoEngine) -> (tempfile::TempDir, Config, std::path::PathBuf) {
    let d = tempdir();
    let cfg = small(d.path(), engine);
    let wal = open(&cfg);
    append_n_checked(&wal, 1..=10, 1000);
    wal.close().unwrap();
    let (seg, _) = ondisk::tail_segment(d.path());
    let (_, recs, _) = ondisk::records(&seg.path);
    assert_eq!(recs.len(), 10);
    assert!(recs.iter().all(|r| r.len == 1040));
    (d, cfg, seg.path)
}

fn cut(path: &std::path::Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

#[test]
fn cut_inside_a_record_keeps_the_complete_ones_and_refuses_to_continue() {
    for engine in ENGINES {
        let (d, cfg, path) = ten_records(engine);
        // Inside record 10, at an offset that is not a multiple of 4096.
        let at = 4096 + 9 * 1040 + 500;
        assert_ne!(at % 4096, 0);
        cut(&path, at);
        let (view, rep) = Wal::open_read_only(cfg.clone()).unwrap();
        let short = rep.short_file.clone().expect("short file reported");
        assert_eq!((short.file_len, short.clean), (at, false), "{short:?}");
        assert_eq!(short.data_end, 4096 + 9 * 1040);
        assert_eq!(rep.last_lsn, 9);
        assert_eq!(rep.damage.as_ref().map(|d| d.last_intact_lsn.0), Some(9));
        // Every complete record, then the cut as an error.
        let mut r = view.replay(ReplayOptions::all()).unwrap();
        let got: Vec<Entry> = r.by_ref().map_while(Result::ok).collect();
        assert!(matches!(r.finish(), Err(Error::Corruption { .. })));
        assert_eq!(lsns(&got), (1..=9).collect::<Vec<_>>());
        assert_eq!(got[8].data, payload(9, 1000));
        drop(view);
        // LSN 10 was handed out (its header is in the file), later ones may have been.
        match Wal::open(cfg.clone()) {
            Err(Error::Corruption { reason, .. }) => {
                assert!(reason.contains("shorter"), "{reason}")
            }
            other => panic!("{:?}", other.map(|(_, r)| r)),
        }
        let dir = d.path().to_str().unwrap();
        let v = xwal(&["verify", dir]);
        assert!(!v.status.success());
        assert!(
            String::from_utf8_lossy(&v.stdout).contains("SHORT segment"),
            "{v:?}"
        );
        let i = xwal(&["inspect", dir]);
        assert!(
            String::from_utf8_lossy(&i.stdout).contains("short file:"),
            "{i:?}"
        );
    }
}

#[test]
fn cut_inside_the_header_block_is_reported() {
    let (d, cfg, path) = ten_records(IoEngine::Uring);
    cut(&path, 2000);
    let (_, rep) = Wal::open_read_only(cfg.clone()).unwrap();
    let short = rep.short_file.expect("short file reported");
    assert!(!short.clean);
    assert!(matches!(
        Wal::open(cfg.clone()),
        Err(Error::Corruption { .. })
    ));
    let v = xwal(&["verify", d.path().to_str().unwrap()]);
    assert!(!v.status.success(), "{v:?}");
    // Too short for a header at all: nothing can be known about its LSNs.
    cut(&path, 40);
    assert!(matches!(
        Wal::open(cfg.clone()),
        Err(Error::Corruption { .. })
    ));
    let (view, rep) = Wal::open_read_only(cfg).unwrap();
    assert!(rep.damage.is_some(), "{rep:?}");
    assert_eq!(view.last_index(), 0);
}

#[test]
fn a_file_ending_cleanly_after_its_last_record_continues() {
    for engine in ENGINES {
        let (_d, cfg, path) = ten_records(engine);
        // The block holding the end of record 10 is whole; zeros follow the record.
        let end: u64 = 4096 + 10 * 1040;
        let len = end.div_ceil(4096) * 4096;
        cut(&path, len);
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        let short = rep.short_file.expect("reported");
        assert!(short.clean, "{short:?}");
        assert_eq!(rep.last_lsn, 10);
        // Never appended to again: the next entry starts a new segment.
        assert_eq!(wal.append(b"eleven").unwrap(), 11);
        assert_eq!(wal.segments().len(), 2);
        assert_eq!(
            lsns(&replay_all(&wal, ReplayOptions::all())),
            (1..=11).collect::<Vec<_>>()
        );
    }
}
