//! The tools' memory is bounded whatever the files claim or weigh: a crafted
//! header with a `u32::MAX` entry limit and a record length of 0xFFFFFFF0 gets
//! a one-line error from `inspect`, `verify` and `dump` under a 256 MiB
//! address-space limit (it used to reach 4.1 GB and abort), and `import-go`
//! streams a Go file of 512 MiB under the same limit (it used to read it whole).
use crate::common;
use common::ondisk;
use common::*;
use std::process::{Command, Output};
use xwal::format::SegmentHeader;

const LIMIT_BYTES: u64 = 256 << 20;

fn xwal_limited(args: &[&str]) -> Output {
    Command::new("prlimit")
        .arg(format!("--as={LIMIT_BYTES}"))
        .arg("--")
        .arg(common::XWAL)
        .args(args)
        .env("MALLOC_ARENA_MAX", "2")
        .output()
        .expect("prlimit runs (util-linux)")
}

#[test]
fn a_crafted_entry_limit_is_refused_in_bounded_memory() {
    let d = tempdir();
    let cfg = small(d.path(), xwal::IoEngine::Uring);
    let wal = open(&cfg);
    wal.append(b"one").unwrap();
    wal.close().unwrap();
    let (seg, h) = ondisk::tail_segment(d.path());
    let crafted = SegmentHeader {
        max_entry_size: u32::MAX,
        ..h
    };
    let mut block = vec![0u8; 4096];
    crafted.encode(&mut block);
    ondisk::write_at(&seg.path, 0, &block);
    // A record header claiming a body of 0xFFFFFFF0 bytes, with the right salt.
    let mut rec = [0u8; 32];
    rec[4..8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    rec[8..16].copy_from_slice(&1u64.to_le_bytes());
    rec[24] = 1;
    rec[28..32].copy_from_slice(&h.salt.to_le_bytes());
    ondisk::write_at(&seg.path, 4096, &rec);
    let dir = d.path().to_str().unwrap();
    for cmd in [vec!["inspect", dir], vec!["verify", dir], vec!["dump", dir]] {
        let out = xwal_limited(&cmd);
        let err = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "{cmd:?}: {out:?}");
        assert!(err.contains("refused"), "{cmd:?}: {err}");
        assert!(!err.contains("memory allocation"), "{cmd:?}: {err}");
    }
}

fn go_record(lsn: u64, data: &[u8]) -> Vec<u8> {
    xwal::import_go::encode_record(&xwal::format::WalEntry {
        lsn,
        data: data.to_vec(),
        crc: xwal::import_go::go_crc(lsn, data),
    })
}

/// `xwal import-go --drop-torn-tail GO DIR/xwal` under the limit.
fn import_dropping_torn_tail(
    go: &std::path::Path,
    dir: &std::path::Path,
) -> (Output, std::path::PathBuf) {
    let dst = dir.join("xwal");
    let out = xwal_limited(&[
        "import-go",
        "--drop-torn-tail",
        go.to_str().unwrap(),
        dst.to_str().unwrap(),
    ]);
    (out, dst)
}

#[test]
fn import_go_streams_a_file_larger_than_its_memory() {
    let d = tempdir();
    let go = d.path().join("go");
    std::fs::create_dir(&go).unwrap();
    let path = go.join("wal_0");
    std::fs::write(&path, go_record(1, b"the only entry")).unwrap();
    // A zero-filled tail of 512 MiB (sparse: costs no disk), what Go's
    // preallocation leaves after a crash.
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(512 << 20).unwrap();
    let (out, _) = import_dropping_torn_tail(&go, d.path());
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("imported 1 entries"),
        "{out:?}"
    );
}

#[test]
fn random_bytes_are_not_a_torn_tail() {
    let d = tempdir();
    let go = d.path().join("go");
    std::fs::create_dir(&go).unwrap();
    // Random bytes whose first "length prefix" (1000) runs past the end: the
    // shape of a cut write, but not one valid record before it.
    let mut bytes = vec![0xE8, 0x07];
    bytes.extend(ondisk::garbage(500, 9));
    std::fs::write(go.join("wal_0"), bytes).unwrap();
    let (out, dst) = import_dropping_torn_tail(&go, d.path());
    assert!(!out.status.success(), "{out:?}");
    assert!(!dst.join("LOCK").exists(), "nothing may be written");
}
