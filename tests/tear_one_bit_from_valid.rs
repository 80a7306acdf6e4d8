//! A torn record whose lost sector held a single set bit is one bit away from
//! valid. Recovery must cut it as the tear it may be, not refuse the log as a
//! flipped bit (found by the crash campaign, seed 24563: sparse payloads).
use crate::common;
use crate::ondisk;
use xwal::format::{FLAG_GROUP_END, encode_entry_record, single_bit_flip};
use xwal::*;

#[test]
fn a_tear_one_bit_from_valid_is_cut_not_refused() {
    let dir = common::tempdir();
    let cfg = Config::new(dir.path())
        .segment_size(64 << 10)
        .max_entry_size(8 << 10);
    let (path, h, end) = ondisk::three_entries(&cfg);
    // LSN 4, written unsynced: its record runs past the next sector boundary,
    // and its part beyond it holds one set bit, which the tear loses.
    let boundary = (end / 512 + 1) * 512;
    let mut payload = vec![0u8; (boundary - end) as usize + 64];
    payload[..8].copy_from_slice(b"sparse!!");
    let last = payload.len() - 20;
    payload[last] = 0x10;
    let mut rec = vec![0u8; payload.len() + 128];
    let len = encode_entry_record(&mut rec, 4, 3, FLAG_GROUP_END, h.salt, &payload);
    let torn_from = (boundary - end) as usize;
    assert!(len > torn_from);
    rec[torn_from..len].fill(0);
    assert!(single_bit_flip(&rec[..len], h.max_entry_size).is_some());
    ondisk::write_at(&path, end, &rec[..len]);

    let wal = ondisk::open_cut_after_three(cfg, end, "the torn record");
    assert_eq!(wal.append(b"next").unwrap(), 4);
}
