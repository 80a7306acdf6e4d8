//! Stored damaged WAL directories (tests/fixtures/), opened as they are on disk.
//! `XWAL_REGEN_FIXTURES=1 cargo test --test fixtures` rebuilds them.
use crate::common;
use std::path::{Path, PathBuf};
use xwal::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn cfg(dir: &Path) -> Config {
    Config::new(dir)
        .segment_size(64 << 10)
        .max_entry_size(4096)
        .io_engine(IoEngine::Sync)
}

/// Copies a fixture into a temp dir (opening repairs files in place).
fn copy(name: &str) -> tempfile::TempDir {
    let d = common::tempdir();
    for e in std::fs::read_dir(fixture(name)).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, d.path().join(p.file_name().unwrap())).unwrap();
    }
    d
}

fn seg(dir: &Path, n: u64) -> PathBuf {
    dir.join(xwal::format::segment_file_name(n, false))
}

/// Two segments: LSNs 1..=k in segment 0, the rest in segment 1 (the tail).
fn build(dir: &Path) -> u64 {
    let (wal, _) = Wal::open(cfg(dir)).unwrap();
    common::append_n(&wal, 1..=300, 300);
    let last = wal.last_index();
    wal.close().unwrap();
    drop(wal);
    // The prepared-ahead, all-zero segment is not part of the fixture.
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let keep = name.starts_with("wal-") && std::fs::read(&p).unwrap()[..8] == *b"XWALSEG\0";
        if !keep {
            std::fs::remove_file(&p).unwrap();
        }
    }
    last.0
}

fn regen() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let _ = std::fs::remove_dir_all(&root);
    for name in [
        "torn-tail",
        "bitflip-mid-tail",
        "zeroed-block-mid-tail",
        "bad-header-sealed",
    ] {
        let d = root.join(name);
        std::fs::create_dir_all(&d).unwrap();
        build(&d);
        let tail = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .max()
            .unwrap();
        let mut bytes = std::fs::read(&tail).unwrap();
        let end = bytes.iter().rposition(|&b| b != 0).unwrap() + 1;
        match name {
            // Half of a record that was never synced: garbage after the last record.
            "torn-tail" => {
                let at = end.div_ceil(8) * 8 + 64;
                bytes[at..at + 200].fill(0xab)
            }
            "bitflip-mid-tail" => bytes[4096 + 1000] ^= 0x10,
            "zeroed-block-mid-tail" => bytes[8192..12288].fill(0),
            "bad-header-sealed" => {
                let mut first = std::fs::read(seg(&d, 0)).unwrap();
                first[20] ^= 1;
                std::fs::write(seg(&d, 0), first).unwrap();
            }
            _ => unreachable!(),
        }
        std::fs::write(&tail, bytes).unwrap();
    }
}

#[test]
fn torn_tail_is_cut_and_reported() {
    if std::env::var_os("XWAL_REGEN_FIXTURES").is_some() {
        regen();
    }
    let d = copy("torn-tail");
    let (wal, rep) = Wal::open(cfg(d.path())).unwrap();
    let t = rep.truncation.clone().expect("truncation reported");
    assert!(t.zeroed_bytes > 0, "{t:?}");
    assert_eq!(rep.last_lsn, 300);
    let r = wal.replay(ReplayOptions::all()).unwrap();
    let got: Vec<Entry> = r.receiver().iter().collect();
    r.finish().unwrap();
    assert_eq!(got.len(), 300);
    assert!(got.iter().all(|e| e.data == common::payload(e.lsn.0, 300)));
    assert_eq!(wal.append(b"next").unwrap(), 301);
}

#[test]
fn bitflip_below_durable_point_is_corruption() {
    let d = copy("bitflip-mid-tail");
    match Wal::open(cfg(d.path())) {
        Err(Error::Corruption { offset, .. }) => assert!(
            offset <= 4096 + 1000 && 4096 + 1000 - offset < 400,
            "{offset}"
        ),
        other => panic!("expected corruption, got {:?}", other.map(|(_, r)| r)),
    }
}

#[test]
fn zeroed_block_below_durable_point_is_corruption() {
    let d = copy("zeroed-block-mid-tail");
    match Wal::open(cfg(d.path())) {
        Err(Error::Corruption { offset, .. }) => {
            assert!((8192 - 400..12288).contains(&offset), "{offset}")
        }
        other => panic!("expected corruption, got {:?}", other.map(|(_, r)| r)),
    }
}

#[test]
fn bad_header_before_valid_segments_is_corruption() {
    let d = copy("bad-header-sealed");
    match Wal::open(cfg(d.path())) {
        Err(Error::Corruption {
            segment: xwal::SegmentId(0),
            offset: 0,
            reason,
        }) => assert!(reason.contains("header"), "{reason}"),
        other => panic!(
            "expected corruption of segment 0's header, got {:?}",
            other.map(|(_, r)| r)
        ),
    }
}
