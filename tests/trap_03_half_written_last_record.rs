//! Trap 3 (Go xwal): a half-written last record makes `Open` fail forever.
//! Here open cuts the torn record, reports the cut, keeps every complete entry,
//! and the LSN sequence continues; the next open is clean.
use crate::common;
use crate::ondisk;
use common::*;
use xwal::format::{FLAG_GROUP_END, encode_entry_record, encoded_record_len, entry_body_len};
use xwal::*;

const N: u64 = 120;

/// Appends N entries (spanning at least one segment boundary), closes, and
/// returns (tail segment path, tail number, salt, end of the records).
fn setup(cfg: &Config) -> (std::path::PathBuf, u64, u32, u64) {
    let wal = open(cfg);
    append_n_checked(&wal, 1..=N, 3000);
    assert!(wal.segments().len() >= 2, "{:?}", wal.segments());
    wal.close().unwrap();
    drop(wal);
    let (seg, h) = ondisk::tail_segment(&cfg.dir);
    let (_, recs, end) = ondisk::records(&seg.path);
    assert_eq!(recs.last().map(|r| r.lsn), Some(N), "tail records {recs:?}");
    (seg.path, seg.segment, h.salt, end)
}

fn record(lsn: u64, durable: u64, flags: u8, salt: u32, data: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; encoded_record_len(entry_body_len(lsn, data.len()))];
    let n = encode_entry_record(&mut out, lsn, durable, flags, salt, data);
    out.truncate(n);
    out
}

/// Reopens after the damage: must succeed, report the cut, keep 1..=N and continue.
fn reopen_and_check(
    cfg: &Config,
    segment: u64,
    end: u64,
    first_bad: u64,
    written: u64,
    dropped: u64,
) {
    let (wal, rep) =
        Wal::open(cfg.clone()).unwrap_or_else(|e| panic!("open after a torn tail failed: {e}"));
    assert_eq!(rep.last_lsn, N, "{rep:?}");
    assert_eq!(rep.tail_segment, Some(xwal::SegmentId(segment)), "{rep:?}");
    let t = rep
        .truncation
        .clone()
        .unwrap_or_else(|| panic!("no truncation reported: {rep:?}"));
    assert_eq!(t.segment, segment, "{t:?}");
    assert_eq!(t.offset, end, "{t:?}");
    assert_eq!(t.first_bad_offset, first_bad, "{t:?}");
    assert_eq!(t.dropped_records, dropped, "{t:?}");
    assert!(
        t.zeroed_bytes > 0 && t.zeroed_bytes <= written,
        "{t:?}, wrote {written} bytes"
    );
    assert_eq!(wal.last_index(), N);
    assert_eq!(wal.append(&payload(N + 1, 3000)).unwrap(), N + 1);
    let got = replay_all(&wal, ReplayOptions::all());
    assert_eq!(lsns(&got), (1..=N + 1).collect::<Vec<_>>());
    for e in &got {
        assert_eq!(e.data, payload(e.lsn.0, 3000), "LSN {}", e.lsn);
    }
    drop(wal);
    // Opening again is clean, and the entry appended after the cut is kept.
    let (wal, rep) = Wal::open(cfg.clone()).unwrap();
    assert_eq!(rep.truncation, None, "{rep:?}");
    assert_eq!(rep.last_lsn, N + 1);
    assert_eq!(wal.append(&payload(N + 2, 3000)).unwrap(), N + 2);
}

#[test]
fn half_written_last_record_is_cut() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let (path, seg, salt, end) = setup(&cfg);
        // The record the writer would have written next, torn in its middle.
        let rec = record(N + 1, N, FLAG_GROUP_END, salt, &payload(N + 1, 3000));
        let half = &rec[..rec.len() / 2];
        ondisk::write_at(&path, end, half);
        reopen_and_check(&cfg, seg, end, end, half.len() as u64, 0);
    }
}

#[test]
fn partial_record_header_is_cut() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let (path, seg, salt, end) = setup(&cfg);
        let rec = record(N + 1, N, FLAG_GROUP_END, salt, &payload(N + 1, 3000));
        ondisk::write_at(&path, end, &rec[..20]);
        reopen_and_check(&cfg, seg, end, end, 20, 0);
    }
}

#[test]
fn incomplete_batch_at_the_tail_is_dropped_whole() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let (path, seg, salt, end) = setup(&cfg);
        // A batch of three: the first two records complete and valid, the third
        // (carrying the group-end flag) never written.
        let mut bytes = record(N + 1, N, 0, salt, &payload(N + 1, 3000));
        bytes.extend(record(N + 2, N, 0, salt, &payload(N + 2, 3000)));
        ondisk::write_at(&path, end, &bytes);
        // The first undecodable byte is after the two valid records.
        reopen_and_check(
            &cfg,
            seg,
            end,
            end + bytes.len() as u64,
            bytes.len() as u64,
            2,
        );
    }
}
