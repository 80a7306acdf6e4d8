//! Helpers for tests that look at (and damage) segment files directly.
//! Reads through the format module (feature `internals`) only, so the tests
//! read the files the way the documented format says, not the way the engine
//! happens to; `three_entries` and `open_cut_after_three` set a log up and
//! reopen it through a `Wal`.
#![allow(dead_code)]

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use xwal::format::{BLOCK_SIZE, HeaderDecode, RecordDecode, SegmentHeader, decode_record};
use xwal::format::{FileKind, classify};

/// A segment file found in a WAL directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegFile {
    pub segment: u64,
    pub checkpoint: bool,
    pub path: PathBuf,
}

/// Every `wal-*.seg` / `wal-*.checkpoint.seg` file, in number order.
pub fn segment_files(dir: &Path) -> Vec<SegFile> {
    let mut v = Vec::new();
    for ent in std::fs::read_dir(dir).unwrap() {
        let ent = ent.unwrap();
        let name = ent.file_name().to_string_lossy().to_string();
        if let FileKind::Segment {
            segment,
            checkpoint,
        } = classify(&name)
        {
            v.push(SegFile {
                segment,
                checkpoint,
                path: ent.path(),
            });
        }
    }
    v.sort_by_key(|s| s.segment);
    v
}

/// Every file name in the directory, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    v.sort();
    v
}

/// The decoded header of a segment file, if it has a valid one.
pub fn header(path: &Path) -> Option<SegmentHeader> {
    let b = read_at(path, 0, BLOCK_SIZE);
    match SegmentHeader::decode(&b) {
        HeaderDecode::Valid(h) => Some(h),
        _ => None,
    }
}

/// Segments with a valid header (prepared, all-zero segments are skipped).
pub fn written_segments(dir: &Path) -> Vec<(SegFile, SegmentHeader)> {
    segment_files(dir)
        .into_iter()
        .filter_map(|s| header(&s.path).map(|h| (s, h)))
        .collect()
}

/// The tail segment: the highest-numbered segment with a valid header. (The
/// highest-numbered file may be a prepared, all-zero segment.)
pub fn tail_segment(dir: &Path) -> (SegFile, SegmentHeader) {
    written_segments(dir).pop().expect("no written segment")
}

/// One record found by scanning a segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rec {
    pub offset: u64,
    pub len: usize,
    pub lsn: u64,
    pub durable_lsn: u64,
}

/// Decodes the records of a segment from offset 4096 until the first thing that
/// is not a valid record. Returns the header, the records and the end offset.
pub fn records(path: &Path) -> (SegmentHeader, Vec<Rec>, u64) {
    let h = header(path).expect("segment has no valid header");
    let buf = std::fs::read(path).unwrap();
    let mut pos = BLOCK_SIZE;
    let mut v = Vec::new();
    while pos < buf.len() {
        match decode_record(&buf[pos..], h.salt, h.max_entry_size) {
            RecordDecode::Record(r) => {
                v.push(Rec {
                    offset: pos as u64,
                    len: r.len,
                    lsn: r.header.lsn,
                    durable_lsn: r.header.durable_lsn,
                });
                pos += r.len;
            }
            _ => break,
        }
    }
    (h, v, pos as u64)
}

pub fn read_at(path: &Path, off: u64, len: usize) -> Vec<u8> {
    let f = std::fs::File::open(path).unwrap();
    let mut b = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let n = f.read_at(&mut b[done..], off + done as u64).unwrap();
        if n == 0 {
            break;
        }
        done += n;
    }
    b.truncate(done);
    b
}

pub fn write_at(path: &Path, off: u64, bytes: &[u8]) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(bytes, off).unwrap();
    f.sync_all().unwrap();
}

/// XORs one byte with 0xff.
pub fn flip_byte(path: &Path, off: u64) {
    let mut b = read_at(path, off, 1);
    b[0] ^= 0xff;
    write_at(path, off, &b);
}

/// Deterministic non-zero pseudo-random bytes (xorshift), never containing a zero byte.
pub fn garbage(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x as u8) | 1
        })
        .collect()
}

/// Mode bits (permissions) of a path, without following a symlink.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// Writes LSNs 1..=3 (100 bytes each) with a `Wal` on `cfg` and closes it;
/// returns the tail segment's path, its header and where its records end,
/// for a test that then lays bytes of its own after them.
pub fn three_entries(cfg: &xwal::Config) -> (PathBuf, SegmentHeader, u64) {
    let (wal, _) = xwal::Wal::open(cfg.clone()).unwrap();
    for i in 1..=3u8 {
        wal.append(&[i; 100]).unwrap();
    }
    wal.close().unwrap();
    let (seg, _) = tail_segment(&cfg.dir);
    let (h, recs, end) = records(&seg.path);
    assert_eq!(recs.last().map(|r| r.lsn), Some(3));
    (seg.path, h, end)
}

/// Opens `cfg` and checks that recovery cut the log at `end`, after LSN 3.
pub fn open_cut_after_three(cfg: xwal::Config, end: u64, what: &str) -> xwal::Wal {
    let (wal, report) = xwal::Wal::open(cfg).unwrap();
    let cut = report
        .truncation
        .unwrap_or_else(|| panic!("{what} is not cut"));
    assert_eq!(cut.first_bad_offset, end);
    assert_eq!(report.last_lsn, 3);
    wal
}
