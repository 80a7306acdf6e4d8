//! `xwal checkpoint DIR`: opens the WAL for writing (taking its lock), makes
//! everything durable, seals the current segment as a checkpoint, prints the
//! checkpoint's number on stdout and closes. With an `[s3]` table in
//! `--config` (binary built with `--features s3`) it first waits until every
//! sealed segment, the new checkpoint included, is archived, so the archive is
//! current when the command returns (the archiver otherwise runs in the
//! background of a long-lived writer).

use super::common::{self, CliResult};
use clap::Args;
use std::path::{Path, PathBuf};
use xwal::Wal;

#[derive(Args, Debug)]
pub struct CheckpointArgs {
    /// The WAL directory; it must exist (default: `dir` of the --config file).
    dir: Option<PathBuf>,
    /// With an `[s3]` table: seconds to wait for the sealed segments to reach
    /// S3 before closing; exit 1 if they have not by then.
    #[arg(long, default_value_t = 300)]
    archive_wait: u64,
}

pub fn run(a: CheckpointArgs, config_file: Option<&Path>) -> CliResult {
    let dir = common::wal_dir(a.dir.as_deref(), config_file)?;
    common::require_dir(&dir)?;
    let cfg = common::load_config(&dir, config_file)?;
    #[cfg(feature = "s3")]
    let archived = cfg.s3.is_some();
    let (wal, report) = Wal::open(cfg).map_err(|e| e.to_string())?;
    if let Some(t) = &report.truncation {
        eprintln!(
            "recovered: cut a torn tail in segment {} at offset {} ({})",
            t.segment, t.offset, t.reason
        );
    }
    let cp = wal.create_checkpoint().map_err(|e| e.to_string())?;
    #[cfg(feature = "s3")]
    if archived {
        let wait = std::time::Duration::from_secs(a.archive_wait);
        let st = wal
            .wait_archived(wait)
            .map_err(|e| format!("checkpoint {cp} made, but archiving failed: {e}"))?;
        eprintln!(
            "archived: {} segment(s), {} in {} (newest {})",
            st.uploaded_segments,
            common::human_bytes(st.uploaded_bytes),
            st.location,
            st.last_archived.map_or("none".into(), |n| n.to_string())
        );
    }
    #[cfg(not(feature = "s3"))]
    let _ = a.archive_wait;
    wal.close().map_err(|e| e.to_string())?;
    println!("{cp}");
    Ok(())
}
