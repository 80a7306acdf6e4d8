//! Damage to an acknowledged record of the tail segment is `Corruption` with
//! its location, never cut as a torn tail: the last batch included (nothing
//! after it proves it durable), pipelined batches included (each proved only
//! an earlier one durable when it was encoded), payloads of zeros included.
//! A real tear (whole sectors of the last write missing) is still cut.
use crate::common;
use crate::ondisk;
use common::*;
use xwal::*;

/// Appends `n` entries with `per_batch` tickets in flight at a time.
fn write_log(cfg: &Config, n: u64, per_batch: u64, data: impl Fn(u64) -> Vec<u8>) {
    let wal = open(cfg);
    let mut lsn = 1;
    while lsn <= n {
        let tickets: Vec<_> = (lsn..(lsn + per_batch).min(n + 1))
            .map(|i| wal.submit(data(i)).unwrap())
            .collect();
        for t in tickets {
            assert_eq!(t.wait().unwrap(), lsn);
            lsn += 1;
        }
    }
    wal.close().unwrap();
}

/// Flips one bit of each tail record in turn (on a copy of the directory)
/// and expects `Corruption` naming that record's offset.
fn each_flip_is_corruption(cfg: &Config, seed: u64) {
    let (seg, _) = ondisk::tail_segment(&cfg.dir);
    let (_, recs, _) = ondisk::records(&seg.path);
    assert!(recs.len() >= 4, "{recs:?}");
    let original = std::fs::read(&seg.path).unwrap();
    for (i, r) in recs.iter().enumerate() {
        let bit = (seed.wrapping_mul(0x9e37_79b9) + i as u64 * 7919) % (r.len as u64 * 8 - 64);
        // Inside the header or the body (the padding is checked on its own).
        let at = r.offset + bit / 8;
        let mut b = original.clone();
        b[at as usize] ^= 1 << (bit % 8);
        std::fs::write(&seg.path, &b).unwrap();
        match Wal::open(cfg.clone()) {
            Err(Error::Corruption {
                segment, offset, ..
            }) => {
                assert_eq!(segment, seg.segment);
                assert_eq!(offset, r.offset, "LSN {} flipped at byte {at}", r.lsn);
            }
            Err(e) => panic!("LSN {}: open failed with {e}, not Corruption", r.lsn),
            Ok((_, rep)) => panic!(
                "a bit flipped in acknowledged LSN {} (byte {at}) was not refused: {rep:?}",
                r.lsn
            ),
        }
    }
    std::fs::write(&seg.path, &original).unwrap();
    let (wal, rep) = Wal::open(cfg.clone()).unwrap();
    assert_eq!(rep.truncation, None);
    assert_eq!(wal.last_index(), recs.last().unwrap().lsn);
}

#[test]
fn a_flip_in_the_last_acknowledged_record_is_corruption() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        write_log(&cfg, 12, 1, |i| payload(i, 300));
        each_flip_is_corruption(&cfg, 1);
    }
}

#[test]
fn pipelined_batches_and_zero_payloads() {
    for inflight in [1, 2, 4] {
        let d = tempdir();
        let cfg = small(d.path(), IoEngine::Uring).commits_in_flight(inflight);
        // Zero payloads: the shape of a tear (zero sectors) is everywhere, only
        // the bit-flip search tells the damage apart.
        write_log(&cfg, 40, 8, |i| vec![0u8; 100 + (i as usize * 37) % 900]);
        each_flip_is_corruption(&cfg, inflight as u64);
    }
}

#[test]
fn full_batches_queued_behind_each_other() {
    // Entries of max_batch_bytes: the writer encodes the next batch while one
    // is in flight. Its first record is patched at submission to claim the
    // previous batch durable.
    let d = tempdir();
    let cfg = small(d.path(), IoEngine::Uring).max_batch_bytes(16 << 10);
    write_log(&cfg, 10, 5, |i| payload(i, 16 << 10));
    let (seg, _) = ondisk::tail_segment(&cfg.dir);
    let (_, recs, _) = ondisk::records(&seg.path);
    // Every record but the first proves its predecessor durable.
    for w in recs.windows(2) {
        assert!(
            w[1].durable_lsn >= w[0].lsn,
            "LSN {} claims only {} durable",
            w[1].lsn,
            w[1].durable_lsn
        );
    }
    each_flip_is_corruption(&cfg, 3);
}

#[test]
fn a_torn_last_write_is_still_cut() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        write_log(&cfg, 8, 1, |i| payload(i, 3000));
        let (seg, _) = ondisk::tail_segment(&cfg.dir);
        let (_, recs, _) = ondisk::records(&seg.path);
        let last = recs.last().unwrap();
        // One whole 512-byte sector inside the last record never reached the disk.
        let sector = (last.offset / 512 + 2) * 512;
        assert!(sector + 512 < last.offset + last.len as u64);
        ondisk::write_at(&seg.path, sector, &[0u8; 512]);
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        let cut = rep.truncation.expect("cut");
        assert_eq!(cut.offset, last.offset);
        assert_eq!(wal.last_index(), last.lsn - 1);
        assert_eq!(wal.append(b"next").unwrap(), last.lsn);
    }
}
