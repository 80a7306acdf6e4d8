//! A segment's header is durable before any record of it is written, and a
//! whole record of another incarnation of the file is stale bytes, not damage.
//!
//! Found by the crash campaign (seed 8811): the first batch of a fresh segment
//! carried its header in the same write; a power cut kept the records and lost
//! the header; recovery took the zero header for a zero preparation and reused
//! the file, stale records in it; after the next cut the stale record of LSN
//! N (another salt, its CRC intact) sat where LSN N was expected and recovery
//! refused the log as damaged.
#![cfg(feature = "test-seams")]

use crate::common;
use crate::ondisk;
use xwal::format::{BLOCK_SIZE, FLAG_GROUP_END, encode_entry_record};
use xwal::seams::{Seams, SimDisk};
use xwal::*;

fn config(dir: &std::path::Path) -> Config {
    Config::new(dir)
        .segment_size(64 << 10)
        .max_entry_size(8 << 10)
        .sync(SyncPolicy::Never)
}

/// Appends into a second segment with nothing synced there, then cuts the
/// power with every unsynced sector going back to what the disk held.
#[test]
fn a_rollover_makes_the_new_header_durable_before_its_records() {
    let dir = common::tempdir();
    let sim = SimDisk::new();
    let seams = Seams {
        sim_disk: Some(sim.clone()),
        ..Seams::default()
    };
    let (wal, _) = Wal::open_with(config(dir.path()), seams).unwrap();
    while wal.segments().len() < 2 {
        wal.append(&[7u8; 1000]).unwrap();
    }
    for _ in 0..3 {
        wal.append(&[8u8; 1000]).unwrap();
    }
    let second = wal.segments()[1].segment;
    sim.cut_now();
    drop(wal);
    let stats = sim.crash_image(dir.path(), &mut || 0).unwrap();
    assert!(
        stats.reverted > 0,
        "the cut found nothing unsynced: {stats:?}"
    );
    let path = ondisk::segment_files(dir.path())
        .into_iter()
        .find(|s| s.segment == second)
        .expect("the second segment's file")
        .path;
    assert!(
        ondisk::header(&path).is_some(),
        "segment {second}'s records were written before its header was synced: the cut lost the header"
    );
    let (wal, report) = Wal::open(config(dir.path())).unwrap();
    assert!(report.last_lsn >= 1);
    wal.append(b"after").unwrap();
}

/// Where LSN `n` is expected, a whole record of LSN `n` with another salt:
/// recovery cuts the log there and zeroes it, as for any foreign bytes.
#[test]
fn a_stale_record_with_the_expected_lsn_ends_the_log() {
    let dir = common::tempdir();
    let cfg = config(dir.path()).sync(SyncPolicy::Always);
    let (path, h, end) = ondisk::three_entries(&cfg);
    let mut stale = vec![0u8; 256];
    let len = encode_entry_record(&mut stale, 4, 3, FLAG_GROUP_END, h.salt ^ 0x5a5a, &[9; 100]);
    assert_ne!(stale[len - 1], 0, "a zero last byte would look torn");
    ondisk::write_at(&path, end, &stale[..len]);

    let wal = ondisk::open_cut_after_three(cfg, end, "the stale record");
    let rest = ondisk::read_at(&path, end, len);
    assert!(
        rest.iter().all(|&b| b == 0),
        "the stale record was not zeroed"
    );
    assert_eq!(wal.append(b"next").unwrap(), 4);
    assert!(end >= BLOCK_SIZE as u64);
}
