//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod child;

use xwal::{Config, Entry, IoEngine, ReplayOptions, Wal};

/// Both engines: every behaviour is checked on io_uring and on pwrite/fdatasync.
pub const ENGINES: [IoEngine; 2] = [IoEngine::Uring, IoEngine::Sync];

/// A temp dir on the real filesystem (not tmpfs), so O_DIRECT alignment is enforced.
pub fn tempdir() -> tempfile::TempDir {
    let base =
        std::env::var("XWAL_TEST_DIR").unwrap_or_else(|_| env!("CARGO_TARGET_TMPDIR").to_string());
    std::fs::create_dir_all(&base).unwrap();
    tempfile::tempdir_in(base).unwrap()
}

/// Small segments so tests roll over often.
pub fn small(dir: &std::path::Path, engine: IoEngine) -> Config {
    Config::new(dir)
        .segment_size(256 << 10)
        .max_entry_size(64 << 10)
        .io_engine(engine)
}

pub fn open(cfg: &Config) -> Wal {
    Wal::open(cfg.clone()).unwrap().0
}

pub fn replay_all(wal: &dyn xwal::ReadableWal, opts: ReplayOptions) -> Vec<Entry> {
    let r = wal.replay(opts).unwrap();
    let v: Vec<Entry> = r.receiver().iter().collect();
    r.finish().unwrap();
    v
}

pub fn lsns(v: &[Entry]) -> Vec<u64> {
    v.iter().map(|e| e.lsn.0).collect()
}

/// Appends `payload(i, len)` for each `i` of `lsns`, each durable before the next.
pub fn append_n(wal: &Wal, lsns: std::ops::RangeInclusive<u64>, len: usize) {
    for i in lsns {
        wal.append(&payload(i, len)).unwrap();
    }
}

/// [`append_n`], asserting that each append returns `i` as its LSN.
pub fn append_n_checked(wal: &Wal, lsns: std::ops::RangeInclusive<u64>, len: usize) {
    for i in lsns {
        assert_eq!(wal.append(&payload(i, len)).unwrap(), i);
    }
}

pub fn payload(lsn: u64, len: usize) -> Vec<u8> {
    (0..len).map(|i| (lsn as usize * 31 + i) as u8).collect()
}

/// A xorshift stream seeded by `seed`: the keep-or-lose choices of a
/// simulated power cut (`SimDisk::crash_image`), different for every seed.
pub fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// The test harness's name, for `--exact`, of test `name` in the module whose
/// `module_path!()` is `module`: the path without the crate's name. Tests that
/// run their own binary as a child name the child test with it.
pub fn test_name(module: &str, name: &str) -> String {
    match module.split_once("::") {
        Some((_crate, path)) => format!("{path}::{name}"),
        None => name.to_string(),
    }
}

/// The LSNs of a batch as plain numbers, to iterate (`Lsn` is not a `Step`).
pub fn raw_range(r: std::ops::RangeInclusive<xwal::Lsn>) -> std::ops::RangeInclusive<u64> {
    r.start().0..=r.end().0
}
