//! A purge deletes a prefix of the log, and a power cut must leave a prefix
//! deleted: never a hole. The simulated disk may keep or lose each unlink a
//! directory sync has not covered, independently, so the engine makes each
//! segment's unlink durable before the next. Every keep/lose pattern of the
//! unlinks a cut leaves unsynced must reopen to a contiguous log; with the
//! unlinks under one sync (the negative control) some pattern leaves a hole
//! and the open refuses it.
#![cfg(feature = "test-seams")]

use crate::common;

use xwal::seams::{Chaos, Seams, SimDisk};
use xwal::{Config, IoEngine, ReplayOptions, Wal};

const SEGMENTS: u64 = 4;
/// Unlinks the cut leaves unsynced at most: two per purged segment.
const PATTERN_BITS: u32 = 4;

fn config(dir: &std::path::Path) -> Config {
    Config::new(dir)
        .segment_size(64 << 10)
        .max_entry_size(4 << 10)
        .io_engine(IoEngine::Sync)
        .zero_fill(false)
}

/// Builds a log of `SEGMENTS` segments, purges the first two with the power
/// failing at the purge's last directory sync, and lays the cut down with
/// `pattern` deciding which unsynced changes survive. Returns the reopened
/// log's LSNs, or the open's refusal.
fn purge_cut(pattern: u32, unordered: bool) -> Result<Vec<u64>, String> {
    let dir = common::tempdir();
    let sim = SimDisk::new();
    let chaos = Chaos {
        purge_unlinks_unordered: unordered,
        ..Chaos::default()
    };
    let seams = Seams {
        sim_disk: Some(sim.clone()),
        chaos,
        ..Seams::default()
    };
    let (wal, _) = Wal::open_with(config(dir.path()), seams).map_err(|e| e.to_string())?;
    for _ in 0..SEGMENTS {
        for _ in 0..8 {
            wal.append(&[7u8; 1000]).map_err(|e| e.to_string())?;
        }
        wal.rotate().map_err(|e| e.to_string())?;
    }
    // The preparer settles (its next segment is ready) before the purge.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let second = wal.segments()[1].segment;
    // Ops from now: per purged segment an anchor-index unlink and a segment
    // unlink (and, ordered, a sync); the purge's final sync fails.
    let ops = if unordered { 4 } else { 5 };
    sim.cut_after(ops);
    let _ = wal.purge_through(second);
    drop(wal);
    let mut calls = 0u32;
    let mut rng = || {
        let keep = pattern >> (calls % PATTERN_BITS) & 1;
        calls += 1;
        u64::from(keep)
    };
    sim.crash_image(dir.path(), &mut rng)
        .map_err(|e| e.to_string())?;
    let (wal, _) = Wal::open(config(dir.path())).map_err(|e| e.to_string())?;
    let lsns = wal
        .replay(ReplayOptions::all())
        .map_err(|e| e.to_string())?
        .map(|e| e.map(|e| e.lsn.0))
        .collect::<xwal::Result<_>>()
        .map_err(|e| e.to_string())?;
    Ok(lsns)
}

#[test]
fn every_cut_inside_a_purge_leaves_a_contiguous_log() {
    for pattern in 0..1 << PATTERN_BITS {
        let lsns =
            purge_cut(pattern, false).unwrap_or_else(|e| panic!("pattern {pattern:04b}: {e}"));
        let first = lsns.first().copied().unwrap_or(1);
        let want: Vec<u64> = (first..first + lsns.len() as u64).collect();
        assert_eq!(lsns, want, "pattern {pattern:04b}: a hole in the log");
        assert_eq!(lsns.last(), Some(&(8 * SEGMENTS)), "pattern {pattern:04b}");
    }
}

#[test]
fn negative_control_unlinks_under_one_sync_leave_a_hole() {
    let refused = (0..1 << PATTERN_BITS)
        .filter_map(|p| purge_cut(p, true).err())
        .collect::<Vec<_>>();
    assert!(
        refused.iter().any(|e| e.contains("missing")),
        "no pattern left a hole: {refused:?}"
    );
}
