//! `xwal checkpoint DIR`: opens the WAL for writing (taking its lock), makes
//! everything durable, seals the current segment as a checkpoint, prints the
//! checkpoint's number on stdout and closes.

use super::common::{self, CliResult};
use clap::Args;
use std::path::{Path, PathBuf};
use xwal::Wal;

#[derive(Args, Debug)]
pub struct CheckpointArgs {
    /// The WAL directory; it must exist (default: `dir` of the --config file).
    dir: Option<PathBuf>,
}

pub fn run(a: CheckpointArgs, config_file: Option<&Path>) -> CliResult {
    let dir = common::wal_dir(a.dir.as_deref(), config_file)?;
    common::require_dir(&dir)?;
    let cfg = common::load_config(&dir, config_file)?;
    let (wal, report) = Wal::open(cfg).map_err(|e| e.to_string())?;
    if let Some(t) = &report.truncation {
        eprintln!(
            "recovered: cut a torn tail in segment {} at offset {} ({})",
            t.segment, t.offset, t.reason
        );
    }
    let cp = wal.create_checkpoint().map_err(|e| e.to_string())?;
    wal.close().map_err(|e| e.to_string())?;
    println!("{cp}");
    Ok(())
}
