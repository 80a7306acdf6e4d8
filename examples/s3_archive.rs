//! S3 archive: a local WAL whose sealed segments a background thread uploads
//! to S3 (never on the commit path). Local retention then keeps only the
//! newest segments on disk; replay still returns every entry, fetching the
//! older segments back from S3. Finally another "machine" opens the archive
//! alone, read-only, and replays it.
//!
//! Needs the `s3` feature and an S3-compatible server. With a local one:
//!
//! ```sh
//! env=$(mktemp); scripts/s3-server.sh start "$env"; set -a; . "$env"; set +a
//! cargo run --features s3 --example s3_archive
//! scripts/s3-server.sh stop "$env"
//! ```
//!
//! It reads `XWAL_S3_ENDPOINT` (omit it for AWS itself), `XWAL_S3_BUCKET`
//! and `XWAL_S3_REGION`; the keys come from the usual AWS environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, or a profile), never from code.

use std::time::Duration;
use xwal::archive::{LocalRetention, S3Config};
use xwal::{Config, ReplayOptions, Wal};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Ok(bucket) = std::env::var("XWAL_S3_BUCKET") else {
        eprintln!(
            "set XWAL_S3_BUCKET (and XWAL_S3_ENDPOINT for a non-AWS server); see the top of this file"
        );
        std::process::exit(2);
    };
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let mut s3 = S3Config::new(bucket)
        .prefix(format!("examples/s3-archive-{}", run.as_nanos()))
        .region(std::env::var("XWAL_S3_REGION").unwrap_or_else(|_| "us-east-1".into()))
        // Keep the newest sealed segment locally; older ones live only in S3
        // once the manifest confirms their upload.
        .retention(LocalRetention::KeepNewest(1));
    if let Ok(endpoint) = std::env::var("XWAL_S3_ENDPOINT") {
        s3 = s3.endpoint(endpoint).path_style(true);
    }

    let dir = tempfile::tempdir_in(".")?;
    let config = Config::new(dir.path())
        .segment_size(1 << 20)
        .max_entry_size(64 << 10)
        .s3(s3.clone()); // also sets the backend type to aws_s3
    let (wal, _) = Wal::open(config)?;
    println!("backend: {}", wal.backend_type());

    // About 4 MiB of entries: several segments get sealed and uploaded.
    let entry = vec![b'x'; 4000];
    for _ in 0..1000 {
        wal.append(&entry)?;
    }
    wal.create_checkpoint()?; // seals the active segment too
    let status = wal.wait_archived(Duration::from_secs(60))?;
    println!(
        "archived {} segments ({} KiB) at {}",
        status.uploaded_segments,
        status.uploaded_bytes >> 10,
        status.location
    );

    // Retention runs in the background after the upload is confirmed.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let to_delete = status.uploaded_segments - 1; // all but the newest sealed one
    while wal.archive_status().map_or(0, |s| s.local_deleted) < to_delete {
        if std::time::Instant::now() > deadline {
            return Err("retention did not delete the archived segments in 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let local_files = std::fs::read_dir(dir.path())?
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".seg"))
        })
        .count();
    println!(
        "{} segments listed, {local_files} segment files on local disk (newest sealed, active, next)",
        wal.segments().len()
    );

    // Replay covers local and archived segments alike.
    let replay = wal.replay(ReplayOptions::all())?;
    let count = replay.receiver().iter().count();
    replay.finish()?;
    assert_eq!(count, 1000);
    println!("replayed {count} entries (older segments fetched from S3)");
    wal.close()?;

    // Anywhere else: the archive alone, read-only, no local directory.
    let remote = Wal::open_archive(s3)?;
    let replay = remote.replay(ReplayOptions::all())?;
    let lsns: Vec<u64> = replay.receiver().iter().map(|e| e.lsn.0).collect();
    replay.finish()?;
    assert_eq!(lsns, (1..=1000).collect::<Vec<_>>());
    println!("the archive alone replays LSN 1..={}", lsns[lsns.len() - 1]);
    Ok(())
}
