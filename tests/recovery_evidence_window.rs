//! Recovery reads the tail segment only to the end of its data plus an
//! evidence window: the in-flight bound the writer recorded in the header
//! (commits in flight x (batch limit + largest record) + one record). Here:
//! (1) with the most in flight (4 pipelined commits, many producers, small
//! batches, groups at the limit), the first record proving each record
//! durable always ends inside that record's window; (2) after a simulated
//! power cut at that load, a bit flipped in the durable record whose proof
//! lies nearest its window's end is reported as corruption, not cut as a
//! torn tail; (3) a fresh tail segment holding little costs little to open.
#![cfg(feature = "test-seams")]
use crate::common;
use crate::ondisk;

use std::path::Path;
use std::sync::Arc;
use xwal::format::{HeaderDecode, RecordDecode, SegmentHeader, decode_record};
use xwal::seams::{Seams, SimDisk};
use xwal::*;

fn cfg(dir: &Path) -> Config {
    Config::new(dir)
        .segment_size(8 << 20)
        .max_entry_size(2 << 10)
        .max_batch_bytes(8 << 10)
        .commits_in_flight(4)
        .io_engine(IoEngine::Uring)
}

/// (offset, len, lsn, durable LSN) of a segment's records, and its header.
fn records(path: &Path) -> (SegmentHeader, Vec<(u64, u64, u64, u64)>) {
    let b = std::fs::read(path).unwrap();
    let HeaderDecode::Valid(h) = SegmentHeader::decode(&b) else {
        panic!("{} has no valid header", path.display())
    };
    let mut out = vec![];
    let mut pos = 4096;
    while let RecordDecode::Record(r) = decode_record(&b[pos..], h.salt, h.max_entry_size) {
        out.push((pos as u64, r.len as u64, r.header.lsn, r.header.durable_lsn));
        pos += r.len;
    }
    (h, out)
}

/// For each record, the end of the first later record that proves it
/// durable, as a fraction of its window; the largest, and where.
fn tightest(h: &SegmentHeader, recs: &[(u64, u64, u64, u64)]) -> Option<(f64, usize)> {
    let mut best: Option<(f64, usize)> = None;
    for (i, r) in recs.iter().enumerate() {
        let Some(p) = recs[i + 1..].iter().find(|p| p.3 >= r.2) else {
            continue;
        };
        let used = (p.0 + p.1 - r.0) as f64 / h.inflight_bytes as f64;
        assert!(
            used <= 1.0,
            "LSN {} at {}: first proof (LSN {}) ends {} bytes on, past the window of {}",
            r.2,
            r.0,
            p.2,
            p.0 + p.1 - r.0,
            h.inflight_bytes
        );
        if best.is_none_or(|b| used > b.0) {
            best = Some((used, i));
        }
    }
    best
}

/// 16 producers: pipelined tickets, single appends and groups at the size limit.
fn load(wal: &Arc<Wal>, per_thread: u64) {
    let threads: Vec<_> = (0..16u64)
        .map(|t| {
            let wal = wal.clone();
            std::thread::spawn(move || {
                let mut x = t * 7919 + 1;
                for i in 0..per_thread {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let len = (x >> 33) as usize % 2000;
                    let r = match i % 10 {
                        0 => wal
                            .append_batch((0..4).map(|_| vec![t as u8; 1900]))
                            .map(|_| ()),
                        1..=4 => wal.append(&vec![t as u8; len]).map(|_| ()),
                        _ => {
                            let tickets: Vec<_> = (0..8)
                                .filter_map(|_| wal.submit(vec![t as u8; len]).ok())
                                .collect();
                            tickets.into_iter().try_for_each(|k| k.wait().map(|_| ()))
                        }
                    };
                    if r.is_err() {
                        return; // the simulated power cut
                    }
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
}

#[test]
fn the_first_proof_of_every_record_lies_within_its_window() {
    let d = common::tempdir();
    let (wal, _) = Wal::open(cfg(d.path())).unwrap();
    let wal = Arc::new(wal);
    load(&wal, 150);
    let segments = wal.segments();
    Arc::try_unwrap(wal).ok().unwrap().close().unwrap();
    let mut worst: f64 = 0.0;
    for s in segments {
        let (h, recs) = records(&xwal::format::segment_path(
            d.path(),
            s.segment.0,
            s.checkpoint,
        ));
        assert!(
            h.inflight_bytes > 0 && h.inflight_bytes < h.capacity / 8,
            "{h:?}"
        );
        if let Some((used, _)) = tightest(&h, &recs) {
            worst = worst.max(used);
        }
    }
    // The load came near its bound: the test measures something.
    assert!(
        worst > 0.1,
        "the most any proof used of its window: {worst}"
    );
}

#[test]
fn a_flip_near_the_window_end_after_a_power_cut_is_corruption() {
    let mut checked = 0;
    for point in 0..6u64 {
        let d = common::tempdir();
        let sim = SimDisk::new();
        let seams = Seams {
            sim_disk: Some(sim.clone()),
            ..Seams::default()
        };
        let (wal, _) = Wal::open_with(cfg(d.path()), seams).unwrap();
        let wal = Arc::new(wal);
        sim.cut_after(200 + point * 150);
        load(&wal, 400);
        drop(wal);
        let mut n = point;
        sim.crash_image(d.path(), &mut || {
            n = n.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(1);
            n >> 7
        })
        .unwrap();
        // The newest segment with a valid header (a prepared next one is zero).
        let tail = (0..)
            .map(|s| xwal::format::segment_path(d.path(), s, false))
            .take_while(|p| p.exists())
            .filter(|p| {
                let b = std::fs::read(p).unwrap();
                matches!(SegmentHeader::decode(&b), HeaderDecode::Valid(_))
            })
            .last()
            .unwrap();
        let (h, recs) = records(&tail);
        let Some((_, i)) = tightest(&h, &recs) else {
            continue;
        };
        let (off, len, lsn, _) = recs[i];
        ondisk::flip_byte(&tail, off + len / 2);
        match Wal::open(cfg(d.path())) {
            Err(Error::Corruption { offset, reason, .. }) => {
                assert_eq!(offset, off, "point {point}: {reason}");
                assert!(reason.contains("durable"), "{reason}");
                checked += 1;
            }
            other => panic!(
                "point {point}: a flip in durable LSN {lsn} was {:?}",
                other.map(|r| r.1)
            ),
        }
    }
    assert!(
        checked >= 3,
        "only {checked} crash images had a proven record"
    );
}

#[test]
fn opening_a_fresh_tail_reads_its_data_and_window_not_the_segment() {
    let d = common::tempdir();
    let c = cfg(d.path()).segment_size(64 << 20).commits_in_flight(1);
    let (wal, _) = Wal::open(c.clone()).unwrap();
    for i in 0..500u32 {
        wal.append(&i.to_le_bytes().repeat(50)).unwrap();
    }
    wal.close().unwrap();
    let (_, report) = Wal::open(c.clone()).unwrap();
    let window = xwal::format::inflight_bound(1, 8 << 10, 2 << 10);
    // Data (about 100 KiB), the window, and the reads queued past it.
    assert!(
        report.scanned_bytes < (1 << 20) + window + (8 << 20),
        "scanned {} of a 64 MiB segment",
        report.scanned_bytes
    );
    assert_eq!(report.last_lsn, 500);
}
