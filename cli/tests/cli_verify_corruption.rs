//! `xwal verify` on damaged WALs: a flipped byte inside a sealed segment is
//! reported with segment, offset and LSN range, every bad segment is reported
//! (one does not hide the next), and the exit code is non-zero. A corruption
//! that makes the open itself fail (in the tail segment) is reported too.
use crate::common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

fn verify(dir: &Path) -> Output {
    xwal(&["verify", dir.to_str().unwrap()])
}

fn seg(dir: &Path, n: u64) -> PathBuf {
    dir.join(xwal::format::segment_file_name(n, false))
}

/// Record offsets of a segment, walking the format (records from 4096, each
/// 32 header bytes + body length, padded to 8; salt at header byte 28).
fn record_offsets(bytes: &[u8]) -> Vec<usize> {
    let salt = &bytes[4096 + 28..4096 + 32];
    let mut v = Vec::new();
    let mut o = 4096;
    while o + 32 <= bytes.len() && &bytes[o + 28..o + 32] == salt {
        v.push(o);
        let len = u32::from_le_bytes(bytes[o + 4..o + 8].try_into().unwrap()) as usize;
        o += (32 + len).div_ceil(8) * 8;
    }
    v
}

/// Flips a byte inside the body of the middle record; returns that record's offset.
fn flip_middle(path: &Path) -> usize {
    let mut bytes = std::fs::read(path).unwrap();
    let recs = record_offsets(&bytes);
    assert!(recs.len() > 10, "{}", recs.len());
    let at = recs[recs.len() / 2];
    bytes[at + 32 + 20] ^= 0x40;
    std::fs::write(path, &bytes).unwrap();
    at
}

#[test]
fn bad_bytes_in_two_sealed_segments_are_both_reported() {
    let d = tempdir();
    let wal = open(&cli_config(d.path()));
    for chunk in 0..12u32 {
        wal.append_batch((0..60u32).map(|i| vec![(chunk * 7 + i) as u8; 1000]))
            .unwrap();
    }
    let segs = wal.segments();
    assert!(segs.len() >= 3, "{segs:?}");
    let (s0_last, s1_first, s1_last) = (
        segs[1].first_lsn - 1,
        segs[1].first_lsn,
        segs[2].first_lsn - 1,
    );
    wal.close().unwrap();
    assert_eq!(verify(d.path()).status.code(), Some(0));

    let off0 = flip_middle(&seg(d.path(), 0));
    let off1 = flip_middle(&seg(d.path(), 1));
    let out = verify(d.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stdout}");
    let line0 = stdout
        .lines()
        .find(|l| l.contains("CORRUPT segment 0 "))
        .unwrap_or_else(|| panic!("segment 0 not reported:\n{stdout}"));
    assert!(line0.contains(&format!("offset {off0}:")), "{line0}");
    assert!(line0.contains(&format!("LSNs 1..{s0_last}")), "{line0}");
    let line1 = stdout
        .lines()
        .find(|l| l.contains("CORRUPT segment 1 "))
        .unwrap_or_else(|| panic!("segment 1 not reported:\n{stdout}"));
    assert!(line1.contains(&format!("offset {off1}:")), "{line1}");
    assert!(
        line1.contains(&format!("LSNs {s1_first}..{s1_last}")),
        "{line1}"
    );
    assert!(!stdout.contains("CORRUPT segment 2"), "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("xwal: verify: 2 corrupt"), "{stderr}");
}

#[test]
fn corruption_that_stops_the_open_is_a_finding() {
    // A stored fixture: a flipped bit in the tail segment, below records that
    // prove it had been synced. `open` refuses it with Error::Corruption.
    let d = tempdir();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/bitflip-mid-tail");
    for e in std::fs::read_dir(&fixture).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, d.path().join(p.file_name().unwrap())).unwrap();
    }
    let out = verify(d.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("CORRUPT segment 1 "))
        .unwrap_or_else(|| panic!("no finding:\n{stdout}\n{stderr}"));
    assert!(line.contains(" offset "), "{line}");
    assert!(line.contains("starts at LSN"), "{line}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
