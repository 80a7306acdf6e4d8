//! Append entries, reopen, and replay them: the basic embedding.
//!
//! `cargo run --example append_replay` (runs in a temp dir under the current
//! directory and removes it).

use xwal::{Config, ReplayOptions, ReplayRange, SyncPolicy, Wal};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir_in(".")?;
    let config = Config::new(dir.path())
        .segment_size(1 << 20)
        .max_entry_size(64 << 10)
        .sync(SyncPolicy::Always);

    let (wal, report) = Wal::open(config.clone())?;
    assert_eq!(report.last_lsn, 0, "a new WAL");
    for i in 0..100u32 {
        // Durable when `append` returns.
        let lsn = wal.append(format!("put key{i} value{i}").as_bytes())?;
        assert_eq!(lsn, u64::from(i) + 1);
    }
    // An atomic group: after a crash all three or none are present.
    let group = wal.append_batch(["debit a 10", "credit b 10", "commit"])?;
    println!("appended LSN 1..={}", group.end());
    wal.close()?;
    drop(wal);

    // Reopen: recovery scans the tail, LSNs continue where they stopped.
    let (wal, report) = Wal::open(config)?;
    println!(
        "reopened: last LSN {}, torn tail cut: {}",
        report.last_lsn,
        report.truncation.is_some()
    );
    assert_eq!(wal.last_index(), 103);

    // Replay everything, oldest first.
    let replay = wal.replay(ReplayOptions::all())?;
    let mut n = 0;
    for entry in replay.receiver().iter() {
        n += 1;
        if entry.lsn <= 2 || entry.lsn > 101 {
            println!("{:>4} {}", entry.lsn, String::from_utf8_lossy(&entry.data));
        }
    }
    let summary = replay.finish()?; // corruption, if any, is reported here
    assert_eq!(n, 103);
    assert_eq!(summary.entries, 103);

    // Replay an LSN range, newest first.
    let replay = wal.replay(
        ReplayOptions::all()
            .range(ReplayRange::Lsns {
                from: xwal::Lsn(50),
                to: xwal::Lsn(52),
            })
            .backward(),
    )?;
    let lsns: Vec<u64> = replay.receiver().iter().map(|e| e.lsn.0).collect();
    replay.finish()?;
    assert_eq!(lsns, vec![52, 51, 50]);
    println!("LSNs 50..=52 backwards: {lsns:?}");

    wal.close()?;
    Ok(())
}
