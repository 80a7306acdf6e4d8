//! Open reads record by record only the tail segment: its cost grows with the
//! tail, not with the log.
use crate::common;
use common::*;
use xwal::*;

#[test]
fn scanned_bytes_bounded_by_one_segment() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let wal = open(&cfg);
        let data = vec![3u8; 2000];
        while wal.segments().len() < 12 {
            wal.append(&data).unwrap();
        }
        let last = wal.last_index();
        wal.close().unwrap();
        drop(wal);
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, last);
        assert!(rep.segments >= 12);
        assert!(
            rep.scanned_bytes <= cfg.segment_size,
            "scanned {} bytes",
            rep.scanned_bytes
        );
        assert_eq!(
            rep.tail_segment,
            Some(wal.segments().last().unwrap().segment)
        );
    }
}
