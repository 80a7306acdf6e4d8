//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the corpus
//! regression test (`tests/fuzz_corpus.rs`), so a crash found once stays fixed.
//! Each must never panic, whatever the bytes.

use crate::format::{decode_record, HeaderDecode, RecordDecode, SegmentHeader, BLOCK_SIZE};
use crate::{Config, Direction, IoEngine, ReplayOptions, ReplayRange, Wal};

fn le32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    let n = b.len().min(4);
    a[..n].copy_from_slice(&b[..n]);
    u32::from_le_bytes(a)
}

/// Record decoder: `salt (4) | max body (4) | bytes`; decodes records back to back.
pub fn record_decoder(data: &[u8]) {
    if data.len() < 8 {
        return;
    }
    let salt = le32(&data[0..4]);
    let max = le32(&data[4..8]) % (1 << 24);
    let mut buf = &data[8..];
    while let RecordDecode::Record(r) = decode_record(buf, salt, max) {
        let _ = r.data();
        assert!(r.len >= crate::format::RECORD_HEADER_LEN && r.len <= buf.len());
        buf = &buf[r.len..];
    }
}

/// Segment header decoder; a valid header must re-encode to the same bytes.
pub fn segment_header(data: &[u8]) {
    if let HeaderDecode::Valid(h) = SegmentHeader::decode(data) {
        let mut out = [0u8; 64];
        h.encode(&mut out);
        assert_eq!(&out[..], &data[..64]);
    }
}

/// Anchor index decoder: `segment (8) | salt (4) | capacity blocks (2) | index bytes`.
/// A decoded list must satisfy every promise of `decode_anchor_index` and
/// re-encode to the same bytes.
pub fn anchor_index(data: &[u8]) {
    if data.len() < 14 {
        return;
    }
    let segment = u64::from(le32(&data[0..4])) | (u64::from(le32(&data[4..8])) << 32);
    let salt = le32(&data[8..12]);
    let capacity = (u64::from(u16::from_le_bytes([data[12], data[13]])) + 1) * BLOCK_SIZE as u64;
    let bytes = &data[14..];
    if let Some(a) = crate::format::decode_anchor_index(bytes, segment, salt, capacity) {
        assert!(a.len() <= crate::format::max_anchors(capacity));
        for w in a.windows(2) {
            assert!(w[0].0 < w[1].0 && w[0].1 < w[1].1);
        }
        assert!(a.iter().all(|x| x.0 >= BLOCK_SIZE as u64 && x.0 < capacity));
        assert_eq!(crate::format::encode_anchor_index(segment, salt, &a), bytes);
    }
}

/// Recovery of a directory built from the bytes, then replay in every mode.
/// `flags (1) | salt (4) | segment body`: with flag bit 0 a valid header is
/// written first, so the fuzzer reaches the record scan.
pub fn recovery(data: &[u8]) {
    if data.len() < 5 {
        return;
    }
    let Ok(dir) = tempfile::tempdir() else { return };
    let capacity = 64u64 << 10;
    let mut file = vec![0u8; capacity as usize];
    let body = &data[5..];
    let salt = le32(&data[1..5]) | 1;
    if data[0] & 1 == 1 {
        SegmentHeader {
            segment: 0,
            first_lsn: 1,
            salt,
            max_entry_size: 4096,
            capacity,
        }
        .encode(&mut file);
        let n = body.len().min(file.len() - BLOCK_SIZE);
        file[BLOCK_SIZE..BLOCK_SIZE + n].copy_from_slice(&body[..n]);
    } else {
        let n = body.len().min(file.len());
        file[..n].copy_from_slice(&body[..n]);
    }
    let name = crate::dir::segment_file_name(0, data[0] & 2 == 2);
    if std::fs::write(dir.path().join(name), &file).is_err() {
        return;
    }
    let cfg = Config::new(dir.path())
        .segment_size(capacity)
        .max_entry_size(4096)
        .io_engine(IoEngine::Sync)
        .zero_fill(false);
    let Ok((wal, _)) = Wal::open(cfg) else { return };
    let last = wal.last_index();
    let ranges = [
        ReplayRange::All,
        ReplayRange::Segments { start: 0, end: 1 },
        ReplayRange::Lsns {
            from: 1,
            to: last.max(1),
        },
        ReplayRange::FromCheckpoint(0),
        ReplayRange::ToCheckpoint(0),
    ];
    for range in ranges {
        for direction in [Direction::Forward, Direction::Backward] {
            if let Ok(r) = wal.replay(ReplayOptions {
                direction,
                range,
                consume: false,
            }) {
                let n = r.receiver().iter().count() as u64;
                let _ = r.finish();
                assert!(n <= last);
            }
        }
    }
    let _ = wal.close();
}
