//! Damage to the header of the tail segment is corruption when its records
//! prove they had been synced; a torn first write of a new segment (never
//! acknowledged) is set aside instead.
use crate::common;
use common::*;
use xwal::*;

fn fill(cfg: &Config) -> (u64, u64) {
    let wal = open(cfg);
    while wal.segments().len() < 3 {
        wal.append(&payload(wal.last_index().0 + 1, 900)).unwrap();
    }
    // Several batches into the tail, so later records vouch for earlier ones.
    for _ in 0..10 {
        wal.append(&payload(wal.last_index().0 + 1, 900)).unwrap();
    }
    let tail = wal.segments().last().unwrap().segment;
    let last = wal.last_index();
    wal.close().unwrap();
    (tail.0, last.0)
}

#[test]
fn flipped_header_of_a_synced_tail_is_corruption() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let (tail, _) = fill(&cfg);
        let p = d.path().join(xwal::format::segment_file_name(tail, false));
        let mut b = std::fs::read(&p).unwrap();
        b[30] ^= 0x01;
        std::fs::write(&p, &b).unwrap();
        match Wal::open(cfg.clone()) {
            Err(Error::Corruption {
                segment,
                offset: 0,
                reason,
            }) => {
                assert_eq!(segment, tail);
                assert!(reason.contains("header"), "{reason}");
            }
            other => panic!("expected corruption, got {:?}", other.map(|(_, r)| r)),
        }
        assert!(p.exists(), "the damaged segment must not be set aside");
    }
}

#[test]
fn torn_first_write_of_a_new_segment_is_set_aside() {
    let d = tempdir();
    let cfg = small(d.path(), IoEngine::Uring);
    let (tail, last) = fill(&cfg);
    // Keep only the header block and the first record's bytes of the tail, then tear the header:
    // nothing in it proves a sync, as after a power cut during its first write.
    let p = d.path().join(xwal::format::segment_file_name(tail, false));
    let mut b = std::fs::read(&p).unwrap();
    let first = xwal::format::SegmentHeader::decode(&b);
    let xwal::format::HeaderDecode::Valid(h) = first else {
        panic!()
    };
    let rec_len = match xwal::format::decode_record(&b[4096..], h.salt, h.max_entry_size) {
        xwal::format::RecordDecode::Record(r) => r.len,
        other => panic!("{other:?}"),
    };
    b[4096 + rec_len..].fill(0);
    b[30] ^= 0x01;
    std::fs::write(&p, &b).unwrap();
    let (wal, rep) = Wal::open(cfg.clone()).unwrap();
    let aside = d.path().join(format!(
        "{}.discarded",
        xwal::format::segment_file_name(tail, false)
    ));
    assert!(rep.removed_files.contains(&aside), "{rep:?}");
    assert!(aside.exists(), "set aside, not deleted");
    assert_eq!(rep.last_lsn, h.first_lsn - 1);
    assert!(rep.last_lsn < last);
    let got = replay_all(&wal, ReplayOptions::all());
    assert_eq!(lsns(&got), (1..=rep.last_lsn.0).collect::<Vec<_>>());
}
