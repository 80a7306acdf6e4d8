//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the corpus
//! regression test (`tests/fuzz_corpus.rs`), so a crash found once stays fixed.
//! Each must never panic, whatever the bytes.

use crate::format::{
    BLOCK_SIZE, Evidence, EvidenceScan, HeaderDecode, RECORD_ALIGN, RecordDecode, SegmentHeader,
    decode_record,
};
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

/// The evidence scan recovery runs, on the bytes after a header block:
/// `flags (1) | salt (4) | max body (2) | LSN (2) | chunk sizes (4) | bytes`.
/// Flag bit 0 picks `EvidenceScan::past_bad_record` (the tail scan), else
/// `EvidenceScan::without_header`. The bytes are fed whole, then in chunks
/// whose sizes cycle through the four given (0: an empty chunk): both must
/// give the same answer, and a proof must be a valid record that claims the
/// proven LSN durable.
pub fn evidence_scan(data: &[u8]) {
    const PREFIX_LEN: usize = 13;
    if data.len() < PREFIX_LEN {
        return;
    }
    let salt = le32(&data[1..5]);
    let max_body = u32::from(u16::from_le_bytes([data[5], data[6]]));
    let lsn = u64::from(u16::from_le_bytes([data[7], data[8]]));
    let mut chunk_sizes = [data[9], data[10], data[11], data[12]].map(usize::from);
    chunk_sizes[3] = chunk_sizes[3].max(1); // feeding must end
    let bytes = &data[PREFIX_LEN..];
    let start = BLOCK_SIZE as u64;
    let past_bad = data[0] & 1 == 1;
    let new_scan = || {
        if past_bad {
            EvidenceScan::past_bad_record(start - RECORD_ALIGN as u64, salt, lsn, max_body)
        } else {
            EvidenceScan::without_header(start, max_body)
        }
    };
    let whole = new_scan().push(start, bytes);
    let mut chunked = new_scan();
    let mut pos = 0;
    for &n in chunk_sizes.iter().cycle() {
        let end = (pos + n).min(bytes.len());
        if chunked
            .push(chunked.next_offset(), &bytes[pos..end])
            .is_some()
            || end == bytes.len()
        {
            break;
        }
        pos = end;
    }
    assert_eq!(
        chunked.evidence(),
        whole,
        "the answer depends on the chunking"
    );
    if let Some(e) = whole {
        check_evidence(bytes, start, e, past_bad.then_some((salt, lsn)), max_body);
    }
}

/// A found proof is what it claims: a valid record at an aligned position
/// whose durable LSN reaches the proven LSN, and (without a header) a valid
/// record of the same salt holding that LSN before it.
fn check_evidence(bytes: &[u8], start: u64, e: Evidence, given: Option<(u32, u64)>, max: u32) {
    let at = |offset: u64| {
        assert!(offset >= start && (offset - start).is_multiple_of(RECORD_ALIGN as u64));
        &bytes[(offset - start) as usize..]
    };
    let proof = at(e.proof_offset);
    let salt = given.map_or_else(|| le32(&proof[28..32]), |(salt, _)| salt);
    let RecordDecode::Record(p) = decode_record(proof, salt, max) else {
        panic!("the proof at {} is no valid record", e.proof_offset)
    };
    assert!(p.header.durable_lsn >= e.lsn);
    match given {
        Some((_, lsn)) => assert_eq!((e.lsn, e.lsn_offset), (lsn, start - RECORD_ALIGN as u64)),
        None => {
            assert!(e.lsn_offset < e.proof_offset);
            let RecordDecode::Record(r) = decode_record(at(e.lsn_offset), salt, max) else {
                panic!("the proven record at {} is no valid record", e.lsn_offset)
            };
            assert_eq!(r.header.lsn, e.lsn);
        }
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
    let Some(dir) = ScratchDir::new() else { return };
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
            inflight_bytes: 16 << 10,
            lsn_gap_before: false,
        }
        .encode(&mut file);
        let n = body.len().min(file.len() - BLOCK_SIZE);
        file[BLOCK_SIZE..BLOCK_SIZE + n].copy_from_slice(&body[..n]);
    } else {
        let n = body.len().min(file.len());
        file[..n].copy_from_slice(&body[..n]);
    }
    let name = crate::format::segment_file_name(0, data[0] & 2 == 2);
    if crate::io::fs::write_small(&dir.path().join(name), &file).is_err() {
        return;
    }
    let cfg = Config::new(dir.path())
        .segment_size(capacity)
        .max_entry_size(4096)
        .io_engine(IoEngine::Sync)
        .zero_fill(false);
    let Ok((wal, _)) = Wal::open(cfg) else { return };
    let last = wal.last_index().0;
    let ranges = [
        ReplayRange::All,
        ReplayRange::Segments {
            start: crate::SegmentId(0),
            end: crate::SegmentId(1),
        },
        ReplayRange::Lsns {
            from: crate::Lsn(1),
            to: crate::Lsn(last.max(1)),
        },
        ReplayRange::FromCheckpoint(crate::CheckpointId(0)),
        ReplayRange::ToCheckpoint(crate::CheckpointId(0)),
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

/// A directory under the system's temp dir, removed on drop (the library has
/// no `tempfile` dependency; the fuzz targets run one case at a time).
struct ScratchDir(std::path::PathBuf);

impl ScratchDir {
    fn new() -> Option<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("xwal-fuzz-{}-{n}", std::process::id()));
        crate::io::fs::create_dir_all(&path).ok()?;
        Some(ScratchDir(path))
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = crate::io::fs::remove_dir_all(&self.0);
    }
}
