//! Replays every fuzz corpus file (seeds and any crash found since) through the
//! fuzz entry points, so a crash found once stays fixed without cargo-fuzz.
//! `XWAL_REGEN_SEEDS=1 cargo test --test fuzz_corpus` rewrites the seeds from a real WAL.
#![cfg(feature = "internals")]
use std::path::{Path, PathBuf};
use xwal::format::{FLAG_GROUP_END, encode_entry_record, encoded_record_len, entry_body_len};

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn write_seeds() {
    let d = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let cfg = xwal::Config::new(d.path())
        .segment_size(64 << 10)
        .max_entry_size(4096);
    let (wal, _) = xwal::Wal::open(cfg).unwrap();
    for i in 0..40u64 {
        wal.append(&vec![i as u8; (i * 37 % 300) as usize]).unwrap();
    }
    wal.append_batch(vec![b"g1".to_vec(), b"g2".to_vec()])
        .unwrap();
    wal.close().unwrap();
    drop(wal);
    let seg = std::fs::read(d.path().join(xwal::format::segment_file_name(0, false))).unwrap();
    let salt = &seg[32..36];
    let body: Vec<u8> = seg[4096..4096 + 8192].to_vec();
    for t in [
        "record_decoder",
        "segment_header",
        "recovery",
        "evidence_scan",
    ] {
        std::fs::create_dir_all(corpus(t)).unwrap();
    }
    let mut rec = salt.to_vec();
    rec.extend_from_slice(&4096u32.to_le_bytes());
    rec.extend_from_slice(&body);
    std::fs::write(corpus("record_decoder").join("seed-real-segment"), &rec).unwrap();
    let mut one = vec![0u8; 8 + encoded_record_len(entry_body_len(1, 9))];
    one[0..4].copy_from_slice(&7u32.to_le_bytes());
    one[4..8].copy_from_slice(&100u32.to_le_bytes());
    encode_entry_record(&mut one[8..], 1, 0, FLAG_GROUP_END, 7, b"test data");
    std::fs::write(corpus("record_decoder").join("seed-one-record"), &one).unwrap();
    std::fs::write(corpus("segment_header").join("seed-valid"), &seg[..64]).unwrap();
    let mut rv = vec![1u8];
    rv.extend_from_slice(salt);
    rv.extend_from_slice(&body);
    std::fs::write(corpus("recovery").join("seed-valid-header"), &rv).unwrap();
    let mut torn = rv.clone();
    torn.truncate(5 + 700);
    std::fs::write(corpus("recovery").join("seed-torn"), &torn).unwrap();
    let mut raw = vec![0u8];
    raw.extend_from_slice(&[0; 4]);
    raw.extend_from_slice(&seg[..8192]);
    std::fs::write(corpus("recovery").join("seed-raw-file"), &raw).unwrap();
    // flags | salt | max body (u16) | LSN (u16) | chunk sizes | bytes: the
    // first record taken as bad (LSN 1, proven by the next), then the same
    // records as a segment without its header.
    let mut ev = vec![1u8];
    ev.extend_from_slice(salt);
    ev.extend_from_slice(&4096u16.to_le_bytes());
    ev.extend_from_slice(&1u16.to_le_bytes());
    ev.extend_from_slice(&[7, 200, 0, 33]);
    let mut headerless = ev.clone();
    ev.extend_from_slice(&body[8..]);
    std::fs::write(corpus("evidence_scan").join("seed-tail-proof"), &ev).unwrap();
    headerless[0] = 0;
    headerless.extend_from_slice(&body);
    std::fs::write(
        corpus("evidence_scan").join("seed-without-header"),
        &headerless,
    )
    .unwrap();
}

fn run(target: &str, f: fn(&[u8])) {
    if std::env::var_os("XWAL_REGEN_SEEDS").is_some() {
        write_seeds();
    }
    let dir = corpus(target);
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_file() {
            f(&std::fs::read(&p).unwrap());
            n += 1;
        }
    }
    assert!(n > 0, "empty corpus {}", dir.display());
}

#[test]
fn record_decoder_corpus() {
    run("record_decoder", xwal::internals::fuzzing::record_decoder);
}

#[test]
fn segment_header_corpus() {
    run("segment_header", xwal::internals::fuzzing::segment_header);
}

#[test]
fn anchor_index_corpus() {
    run("anchor_index", xwal::internals::fuzzing::anchor_index);
}

#[test]
fn evidence_scan_corpus() {
    run("evidence_scan", xwal::internals::fuzzing::evidence_scan);
}

#[test]
fn recovery_corpus() {
    run("recovery", xwal::internals::fuzzing::recovery);
}
