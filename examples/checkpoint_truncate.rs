//! Checkpoint-then-truncate: append, checkpoint once the state up to there is
//! saved elsewhere, replay only what came after the checkpoint, and delete the
//! segments the checkpoint made unnecessary with `purge_through`.
//!
//! `cargo run --example checkpoint_truncate`

use xwal::{Config, ReplayOptions, ReplayRange, Wal};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir_in(".")?;
    let config = Config::new(dir.path())
        .segment_size(1 << 20)
        .max_entry_size(64 << 10);
    let (wal, _) = Wal::open(config.clone())?;

    for i in 1..=500u32 {
        wal.append(format!("set counter {i}").as_bytes())?;
    }
    // The application has saved its state as of LSN 500 (a snapshot, say).
    let cp = wal.create_checkpoint()?; // syncs, seals the segment, starts the next
    println!("checkpoint {cp} after LSN {}", wal.last_index());

    for i in 501..=600u32 {
        wal.append(format!("set counter {i}").as_bytes())?;
    }
    wal.close()?;
    drop(wal);

    // After a restart: load the snapshot, then replay from the checkpoint.
    let (wal, _) = Wal::open(config)?;
    println!("checkpoints present: {:?}", wal.checkpoints());
    let replay = wal.replay(ReplayOptions::all().range(ReplayRange::FromCheckpoint(cp)))?;
    let lsns: Vec<u64> = replay.receiver().iter().map(|e| e.lsn.0).collect();
    replay.finish()?;
    // The checkpoint segment itself is included (inclusive, like Go xwal).
    assert_eq!(lsns.first(), Some(&1));
    assert_eq!(lsns.last(), Some(&600));

    // Truncate: the checkpoint segment and everything before it can go.
    let before: Vec<u64> = wal.segments().iter().map(|s| s.segment.0).collect();
    let deleted = wal.purge_through(cp)?;
    let after: Vec<u64> = wal.segments().iter().map(|s| s.segment.0).collect();
    println!("segments {before:?} -> purged {deleted:?} -> {after:?}");
    assert_eq!(deleted, vec![cp.segment()]);

    // What is left replays on its own, and LSNs go on.
    let replay = wal.replay(ReplayOptions::all())?;
    let rest: Vec<u64> = replay.receiver().iter().map(|e| e.lsn.0).collect();
    replay.finish()?;
    assert_eq!(rest, (501..=600).collect::<Vec<_>>());
    assert_eq!(wal.append(b"set counter 601")?, 601);
    println!(
        "after the purge: LSN {}..={} remain, next append got 601",
        rest[0],
        rest[rest.len() - 1]
    );
    wal.close()?;
    Ok(())
}
