//! `xwal repair DIR`: continues a WAL that `open` refuses (a record damaged
//! in place, a segment file cut short, an untrustworthy header, a missing
//! segment). Takes the lock; keeps every intact entry before the first
//! damage, moves what it cuts into `DIR/repair-<time>/` (never deleting it),
//! and reserves the LSNs that could have been handed out past the cut, so the
//! log continues above them. Prints exactly what left the log.

use super::common::{self, CliResult};
use clap::Args;
use std::path::{Path, PathBuf};
use xwal::Wal;

#[derive(Args, Debug)]
pub struct RepairArgs {
    /// The WAL directory; it must exist (default: `dir` of the --config file).
    dir: Option<PathBuf>,
}

pub fn run(a: RepairArgs, config_file: Option<&Path>) -> CliResult {
    let dir = common::wal_dir(a.dir.as_deref(), config_file)?;
    common::require_dir(&dir)?;
    let cfg = common::load_config(&dir, config_file)?;
    let r = Wal::repair(cfg).map_err(|e| e.to_string())?;
    let Some(d) = &r.damage else {
        if let Some(aside) = &r.aside {
            println!(
                "completed an interrupted repair: the log keeps LSN 1..={}, continues at LSN {}; what was cut is in {}",
                r.kept_through,
                r.reserved_through + 1,
                aside.display()
            );
        } else {
            println!(
                "nothing to repair: {} opens as it is; nothing was changed",
                dir.display()
            );
        }
        return Ok(());
    };
    println!(
        "damage: segment {} offset {}: {}",
        d.segment, d.offset, d.reason
    );
    match r.cut_segment {
        Some(s) => println!(
            "kept: LSN 1..={} (segment {s} now ends at offset {})",
            r.kept_through, r.cut_offset
        ),
        None => println!(
            "kept: LSN 1..={} (every segment before {})",
            r.kept_through, d.segment
        ),
    }
    let found = match r.found_lsns {
        Some((lo, hi)) => format!(
            "{} valid record(s) were found there, LSN {lo}..={hi}",
            r.found_after_cut
        ),
        None => "no valid record was found there".to_string(),
    };
    println!(
        "lost from the log: LSN {}..={} (reserved: never handed out again); {found}",
        r.kept_through + 1,
        r.reserved_through
    );
    if let Some(aside) = &r.aside {
        println!("moved aside, byte for byte, into {}:", aside.display());
        for p in &r.moved {
            println!(
                "  {}",
                p.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            );
        }
    }
    println!("the log continues at LSN {}", r.reserved_through + 1);
    Ok(())
}
