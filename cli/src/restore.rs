//! `xwal restore DIR --bucket B [--prefix P]`: rebuilds a WAL directory from
//! the S3 archive (cargo feature `s3`). Every object is checked against the
//! manifest (size, CRC32C, header) before it gets a segment name; then, unless
//! `--no-verify-records`, every record is read back through a replay.
//! Credentials come from the AWS environment or `--profile`, never from the
//! command line (where `ps` would show them).

use super::common::{self, CliResult};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;
use xwal::archive::{S3Config, S3Credentials};
use xwal::{ReplayOptions, Wal};

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The directory to rebuild; created if missing. It must hold no other WAL.
    dir: PathBuf,
    /// The bucket of the archive.
    #[arg(long)]
    bucket: String,
    /// The key prefix of the archive inside the bucket.
    #[arg(long, default_value = "")]
    prefix: String,
    /// The bucket's region.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Endpoint of an S3-compatible server, e.g. http://127.0.0.1:9000 (default: AWS).
    #[arg(long)]
    endpoint: Option<String>,
    /// Path-style requests (endpoint/bucket/key), as most S3-compatible servers need.
    #[arg(long)]
    path_style: bool,
    /// Take the keys from this profile of ~/.aws/credentials (default: the AWS
    /// environment variables AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...).
    #[arg(long)]
    profile: Option<String>,
    /// Request timeout in seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Skip the replay of every record after the restore (objects are still
    /// checked against the manifest).
    #[arg(long)]
    no_verify_records: bool,
}

pub fn run(a: RestoreArgs) -> CliResult {
    let mut s3 = S3Config::new(a.bucket)
        .prefix(a.prefix)
        .region(a.region)
        .path_style(a.path_style)
        .timeouts(
            Duration::from_secs(10),
            Duration::from_secs(a.timeout.max(1)),
        );
    if let Some(e) = a.endpoint {
        s3 = s3.endpoint(e);
    }
    if let Some(p) = a.profile {
        s3 = s3.credentials(S3Credentials::Profile(p));
    }
    let report = xwal::archive::restore(&s3, &a.dir).map_err(|e| e.to_string())?;
    eprintln!(
        "restored {} segment(s), {:.1} MiB, from {} into {} (LSNs {}..={}){}",
        report.restored.len(),
        report.bytes as f64 / (1 << 20) as f64,
        report.location,
        a.dir.display(),
        report.first_lsn,
        report.last_lsn,
        if report.already_present.is_empty() {
            String::new()
        } else {
            format!(
                "; {} segment(s) were already there and identical",
                report.already_present.len()
            )
        }
    );
    if !report.unreachable.is_empty() {
        eprintln!(
            "warning: {} older archived segment(s) are cut off by a gap and were not restored: {:?}",
            report.unreachable.len(),
            report.unreachable
        );
    }
    if !a.no_verify_records {
        let cfg = common::load_config(&a.dir, None)?;
        let (wal, _) = Wal::open_read_only(cfg).map_err(|e| e.to_string())?;
        let replay = wal
            .replay(ReplayOptions::all())
            .map_err(|e| e.to_string())?;
        let mut last = 0;
        for e in replay.receiver().iter() {
            last = e.lsn.0;
        }
        let summary = replay
            .finish()
            .map_err(|e| format!("the restored WAL does not replay: {e}"))?;
        if wal.last_index() != report.last_lsn {
            return Err(format!(
                "the restored WAL ends at LSN {}, the archive at {}",
                wal.last_index(),
                report.last_lsn
            ));
        }
        eprintln!(
            "verified: {} entries replayed, last entry LSN {last}",
            summary.entries
        );
    }
    println!("{}", report.last_lsn);
    Ok(())
}
